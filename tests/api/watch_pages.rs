//! "Mis alertas": the watch pages through HTTP as a browser uses them
//! (forms, cookies, redirects not followed), on the same operations as
//! the JSON API.

use serde_json::{json, Value};

use vigia::keys::Role;

use crate::alerts::{app_on, chancas_concession, BASE};
use crate::helpers::{event_with, spawn_app, spawn_app_with, TestApp, TestDb};
use crate::mailbox::MailServer;
use crate::pages::{signed_in, Browser, Page};

const CHANCAS: (f64, f64) = (-73.0884214, -14.2190728);

fn square(lon: f64, lat: f64, half: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]
    ]]})
}

/// The form's fields for a new watch, with `extra` replacing or adding.
fn fields<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("csrf", csrf),
        ("action", "save"),
        ("email", "rosa@example.org"),
        ("frequency", "immediate"),
        ("language", "es"),
        ("min_verification", "unverified"),
    ];
    for (k, v) in extra {
        all.retain(|(name, _)| name != k);
        all.push((k, v));
    }
    all
}

/// Posts the new-watch form from the form's own page.
async fn post_new(browser: &mut Browser, extra: &[(&str, &str)]) -> Page {
    let form = browser.get("/watches/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    browser.post("/watches/new", &fields(&csrf, extra)).await
}

/// The ids of the watches a list page links to, in order.
fn watch_ids(page: &Page) -> Vec<String> {
    page.body
        .split("href=\"/watches/")
        .skip(1)
        .filter_map(|rest| rest.split_once("/delete\""))
        .map(|(id, _)| id.to_string())
        .collect()
}

/// The text of the element with this id (up to its first tag's end).
fn field_error(page: &Page, id: &str) -> String {
    let at = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{}", page.body));
    let start = at + page.body[at..].find('>').unwrap() + 1;
    let end = start + page.body[start..].find('<').unwrap();
    page.body[start..end].to_string()
}

async fn watch_count(app: &TestApp) -> i64 {
    let res = app.get("/api/v1/watches?limit=200", &app.admin).await;
    assert_eq!(res.status, 200);
    res.body["items"].as_array().unwrap().len() as i64
}

#[actix_web::test]
async fn each_person_sees_their_own_alerts_and_admins_everyones() {
    let app = spawn_app().await;
    chancas_concession(&app).await;
    let mut rosa = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Researcher).await;
    let mut ben = signed_in(&app, "ben@example.org", "Ben Mamani", Role::Monitor).await;
    let mut ana = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;

    // Signed out, the page is the way to sign in.
    let mut stranger = Browser::new(&app);
    let out = stranger.get("/watches").await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(out.location.unwrap().starts_with("/sign-in"));

    // The menu leads every role to its alerts.
    let home = rosa.get("/watches").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<a href=\"/watches\">Mis alertas</a>"));
    assert!(home.body.contains("Todavía no tiene alertas."));

    let made = post_new(
        &mut rosa,
        &[
            ("target_type", "concession"),
            ("concession_code", "010461925"),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location.as_deref(), Some("/watches?done=created"));
    let made = post_new(
        &mut ben,
        &[
            ("target_type", "admin_area"),
            ("ubigeo", "0304"),
            ("email", "ben@example.org"),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    // A script's watch (an API key) is its key's, not a person's.
    let res = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            json!({"email": "script@example.org", "target": {"type": "admin_area", "ubigeo": "03"},
                   "frequency": "daily", "language": "en"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);

    let mine = rosa.get("/watches?done=created").await;
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("Alerta guardada. Le enviamos un correo"));
    assert_eq!(watch_ids(&mine).len(), 1, "{}", mine.body);
    assert!(mine.body.contains("Concesión 010461925 «LOS CHANCAS 1»"));
    assert!(mine
        .body
        .contains("titular: Southern Peru Copper Corporation, Sucursal del Perú"));
    assert!(mine.body.contains("pendiente: falta confirmar el correo"));
    assert!(mine.body.contains("un correo por incidente · español"));
    assert!(mine.body.contains("ninguna todavía"));
    assert!(!mine.body.contains("ben@example.org"));
    assert!(!mine.body.contains(BASE_OWNER_COLUMN));

    let bens = ben.get("/watches").await;
    assert_eq!(watch_ids(&bens).len(), 1);
    assert!(bens.body.contains("(ubigeo 0304)"));
    assert!(!bens.body.contains("rosa@example.org"));

    // Admins see everyone's, with who made each, as the API's scope says.
    let all = ana.get("/watches").await;
    assert_eq!(all.status, 200);
    assert!(all.body.contains("Alertas (de todas las personas)"));
    assert_eq!(watch_ids(&all).len(), 3, "{}", all.body);
    assert!(all.body.contains(BASE_OWNER_COLUMN));
    assert!(all.body.contains("Rosa Huamán") && all.body.contains("Ben Mamani"));

    // Someone else's watch is as absent as a missing one, for every action.
    let bens_id = watch_ids(&bens).remove(0);
    for path in [
        format!("/watches/{bens_id}/edit"),
        format!("/watches/{bens_id}/delete"),
    ] {
        let page = rosa.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(page.body.contains("No encontramos lo que busca."));
    }
    let csrf = mine.csrf();
    let gone = rosa
        .post(
            &format!("/watches/{bens_id}/delete"),
            &[("csrf", &csrf), ("version", "1")],
        )
        .await;
    assert_eq!(gone.status, 404);
    let resend = rosa
        .post(&format!("/watches/{bens_id}/resend"), &[("csrf", &csrf)])
        .await;
    assert_eq!(resend.status, 404);
    assert_eq!(watch_count(&app).await, 3);

    // In English, everything in English.
    rosa.get("/language?to=en&back=/watches").await;
    let english = rosa.get("/watches").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("<h1>My alerts</h1>"));
    assert!(english
        .body
        .contains("Concession 010461925 &#34;LOS CHANCAS 1&#34;"));
    assert!(english
        .body
        .contains("pending: the e-mail is not confirmed yet"));
}

/// The heading of the column only admins see.
const BASE_OWNER_COLUMN: &str = "<th scope=\"col\">Creada por</th>";

#[actix_web::test]
async fn every_target_through_the_form() {
    let app = spawn_app().await;
    let concession = chancas_concession(&app).await;
    let holder_id = concession["holder"]["id"].as_str().unwrap().to_string();
    let mut rosa = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Researcher).await;

    // A concession by its code (what the type-ahead fills in).
    let page = post_new(
        &mut rosa,
        &[
            ("target_type", "concession"),
            ("concession_code", "010461925"),
            ("event_types", "protest"),
            ("frequency", "daily"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // A holder picked from the list (its id)…
    let page = post_new(
        &mut rosa,
        &[
            ("target_type", "holder"),
            ("holder_id", &holder_id),
            (
                "holder_name",
                "Southern Peru Copper Corporation, Sucursal del Perú",
            ),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // …or typed without the script: one actor answers to the name.
    let page = post_new(
        &mut rosa,
        &[
            ("target_type", "holder"),
            ("holder_name", "southern peru"),
            ("email", "otra@example.org"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // An administrative area by ubigeo.
    let page = post_new(
        &mut rosa,
        &[("target_type", "admin_area"), ("ubigeo", "030410")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // An area drawn (the map writes GeoJSON into the field).
    let drawn = square(CHANCAS.0, CHANCAS.1, 0.05).to_string();
    let page = post_new(&mut rosa, &[("target_type", "area"), ("area", &drawn)]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    // An area from a file (a FeatureCollection of one, as files are).
    let form = rosa.get("/watches/new").await;
    let csrf = form.csrf();
    let file = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": square(-72.5, -13.5, 0.1)}]})
    .to_string();
    let page = post_multipart(&mut rosa, &app, &csrf, &[("target_type", "area")], &file).await;
    assert_eq!(page.status, 303, "{}", page.body);

    let list = rosa.get("/watches").await;
    assert_eq!(watch_ids(&list).len(), 6, "{}", list.body);
    assert!(list.body.contains("Concesión 010461925 «LOS CHANCAS 1»"));
    assert!(list.body.contains("protesta"));
    assert!(list.body.contains("un resumen diario"));
    assert!(list
        .body
        .contains("Concesiones del titular Southern Peru Copper Corporation, Sucursal del Perú"));
    assert!(list.body.contains("(ubigeo 030410)"));
    assert!(list.body.contains("Área dibujada de"));
    assert!(list.body.contains("km²"));

    // What the API holds is what the forms said.
    let res = app.get("/api/v1/watches?limit=200", &app.admin).await;
    let items = res.body["items"].as_array().unwrap();
    let types: Vec<&str> = items
        .iter()
        .map(|w| w["target"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "area",
            "area",
            "admin_area",
            "holder",
            "holder",
            "concession"
        ]
    );
    assert!(same_shape(
        &items[1]["target"]["geometry"],
        &square(CHANCAS.0, CHANCAS.1, 0.05)
    ));
    assert!(same_shape(
        &items[0]["target"]["geometry"],
        &square(-72.5, -13.5, 0.1)
    ));
    assert_eq!(items[5]["event_types"], json!(["protest"]));
    assert_eq!(items[5]["frequency"], "daily");
    assert!(items.iter().all(|w| w["status"] == "pending"));
}

/// The same polygon, to a nanodegree (stored coordinates are rounded).
fn same_shape(a: &Value, b: &Value) -> bool {
    let ring = |v: &Value| -> Vec<f64> {
        v["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect()
    };
    let (a, b) = (ring(a), ring(b));
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-9)
}

/// Posts the watch form as `multipart/form-data` (as the page does) with
/// an area file in its `area_file` field.
async fn post_multipart(
    browser: &mut Browser,
    app: &TestApp,
    csrf: &str,
    extra: &[(&str, &str)],
    file: &str,
) -> Page {
    let boundary = format!("vigia-test-{}", uuid::Uuid::new_v4().simple());
    let mut body = String::new();
    for (name, value) in fields(csrf, extra) {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"area_file\"; filename=\"area.geojson\"\r\nContent-Type: application/geo+json\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let origin = app.address.clone();
    browser
        .request(
            actix_web::http::Method::POST,
            "/watches/new",
            &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
            Some((&content_type, body)),
        )
        .await
}

#[actix_web::test]
async fn a_bad_value_is_shown_next_to_its_field_and_nothing_is_saved() {
    let app = spawn_app().await;
    chancas_concession(&app).await;
    let mut rosa = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Researcher).await;

    let unknown = post_new(
        &mut rosa,
        &[
            ("target_type", "concession"),
            ("concession_code", "999999999"),
        ],
    )
    .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(
        field_error(&unknown, "concession_code-error"),
        "No hay ninguna concesión con ese código. Escriba el código exacto o elija una de la lista."
    );
    // What was typed is kept.
    assert_eq!(unknown.input("concession_code"), "999999999");

    let bowtie = json!({"type": "Polygon", "coordinates": [[[-73.1,-14.3],[-73.0,-14.2],[-73.0,-14.3],[-73.1,-14.2],[-73.1,-14.3]]]}).to_string();
    let degenerate = post_new(&mut rosa, &[("target_type", "area"), ("area", &bowtie)]).await;
    assert_eq!(degenerate.status, 422);
    assert!(field_error(&degenerate, "area-error").starts_with("El área se cruza a sí misma"));
    assert!(
        degenerate.body.contains("&#34;Polygon&#34;")
            || degenerate.body.contains("&quot;Polygon&quot;")
    );

    let not_json = post_new(&mut rosa, &[("target_type", "area"), ("area", "{oops")]).await;
    assert_eq!(not_json.status, 422);
    assert!(field_error(&not_json, "area-error").starts_with("No es GeoJSON"));

    let nothing_drawn = post_new(&mut rosa, &[("target_type", "area")]).await;
    assert_eq!(nothing_drawn.status, 422);
    assert!(field_error(&nothing_drawn, "area-error").starts_with("Dibuje el área"));

    let form = rosa.get("/watches/new").await;
    let csrf = form.csrf();
    // A file over the size limit: refused next to the field, the rest kept.
    let big = format!(
        "{{\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,0],[1,1],[0,0]]], \"pad\": \"{}\"}}",
        "x".repeat(600 * 1024)
    );
    let too_large = post_multipart(
        &mut rosa,
        &app,
        &csrf,
        &[("target_type", "area"), ("email", "kept@example.org")],
        &big,
    )
    .await;
    assert_eq!(too_large.status, 422, "{}", too_large.body);
    assert_eq!(
        field_error(&too_large, "area-error"),
        "El archivo pesa más de 512 kB."
    );
    assert_eq!(too_large.input("email"), "kept@example.org");
    // Within the size, beyond the positions an area may have.
    let ring: Vec<Value> = (0..10_001)
        .map(|i| {
            let a = f64::from(i) / 10_001.0 * std::f64::consts::TAU;
            json!([-73.0 + 0.1 * a.cos(), -14.0 + 0.1 * a.sin()])
        })
        .chain(std::iter::once(json!([-72.9, -14.0])))
        .collect();
    let detailed = json!({"type": "Polygon", "coordinates": [ring]}).to_string();
    assert!(detailed.len() < 512 * 1024);
    let too_detailed = post_multipart(
        &mut rosa,
        &app,
        &csrf,
        &[("target_type", "area")],
        &detailed,
    )
    .await;
    assert_eq!(too_detailed.status, 422, "{}", too_detailed.body);
    assert_eq!(
        field_error(&too_detailed, "area-error"),
        "El área es demasiado detallada: se aceptan hasta 10000 puntos, 500 anillos y 100 polígonos."
    );

    let bad_mail = post_new(
        &mut rosa,
        &[
            ("target_type", "admin_area"),
            ("ubigeo", "03"),
            ("email", "rosa@"),
        ],
    )
    .await;
    assert_eq!(bad_mail.status, 422);
    assert_eq!(
        field_error(&bad_mail, "email-error"),
        "Debe ser un correo como nombre@ejemplo.org."
    );
    let bad_ubigeo = post_new(
        &mut rosa,
        &[("target_type", "admin_area"), ("ubigeo", "3x")],
    )
    .await;
    assert_eq!(bad_ubigeo.status, 422);
    assert_eq!(
        field_error(&bad_ubigeo, "ubigeo-error"),
        "Debe tener 2, 4 o 6 dígitos."
    );
    let nobody = post_new(
        &mut rosa,
        &[
            ("target_type", "holder"),
            ("holder_name", "Minera Inexistente"),
        ],
    )
    .await;
    assert_eq!(nobody.status, 422);
    assert!(field_error(&nobody, "holder_name-error").starts_with("No encontramos ese titular"));
    // Hostile text comes back as text.
    let hostile = post_new(
        &mut rosa,
        &[
            ("target_type", "concession"),
            ("concession_code", "<script>x</script>"),
        ],
    )
    .await;
    assert_eq!(hostile.status, 422);
    assert!(!hostile.body.contains("<script>x"));

    // The same watch twice: the second is refused, the first kept.
    let first = post_new(
        &mut rosa,
        &[("target_type", "admin_area"), ("ubigeo", "03")],
    )
    .await;
    assert_eq!(first.status, 303);
    let again = post_new(
        &mut rosa,
        &[("target_type", "admin_area"), ("ubigeo", "03")],
    )
    .await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("Ya tiene una alerta igual"));
    assert_eq!(watch_count(&app).await, 1);

    // A form from elsewhere (no token) changes nothing.
    let forged = rosa
        .post(
            "/watches/new",
            &fields(
                "not-the-token",
                &[("target_type", "admin_area"), ("ubigeo", "04")],
            ),
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(watch_count(&app).await, 1);
}

#[actix_web::test]
async fn edit_resend_delete_and_the_confirmation_pages() {
    let mail = MailServer::start();
    let app = spawn_app_with(TestDb::new(), |s| {
        s.smtp.port = mail.port;
        s.server.public_base_url = BASE.into();
        s.alerts.deliver = false;
        s.alerts.resend_interval_seconds = 0;
    })
    .await;
    chancas_concession(&app).await;
    let mut rosa = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Researcher).await;
    let made = post_new(
        &mut rosa,
        &[("target_type", "admin_area"), ("ubigeo", "0304")],
    )
    .await;
    assert_eq!(made.status, 303);
    let list = rosa.get("/watches").await;
    let id = watch_ids(&list).remove(0);
    let csrf = list.csrf();

    // Resend: a new mail, a notice.
    let resent = rosa
        .post(&format!("/watches/{id}/resend"), &[("csrf", &csrf)])
        .await;
    assert_eq!(resent.status, 303, "{}", resent.body);
    assert_eq!(resent.location.as_deref(), Some("/watches?done=resent"));
    let notice = rosa.get("/watches?done=resent").await;
    assert!(notice
        .body
        .contains("Le enviamos otra vez el correo de confirmación"));
    // The first mail had not gone yet: only the newer link is sent.
    app.deliver().await;
    let got = mail.wait_for("rosa@example.org", 1).await;
    assert_eq!(got.len(), 1);

    // The link opens a page in Vigía's look and the watch's language.
    let link = got[0].link(&format!("{BASE}/api/v1/watches/confirm?token="));
    let path = link.strip_prefix(BASE).unwrap();
    let page = rosa.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<html lang=\"es\">"));
    assert!(page
        .body
        .contains("<title>Confirmar alerta · Vigía</title>"));
    assert!(page.body.contains("css/vigia.css"));
    let confirmed = rosa.post(path, &[]).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("Su alerta está activa"));

    // Active now: nothing to resend; the list says so in words.
    let list = rosa.get("/watches").await;
    assert!(list.body.contains(">activa<"), "{}", list.body);
    assert!(!list.body.contains(&format!("/watches/{id}/resend")));
    let again = rosa
        .post(&format!("/watches/{id}/resend"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 409);
    assert!(again
        .body
        .contains("Esta alerta ya no espera confirmación."));

    // Edit: the form shows the watch; a new frequency keeps it active.
    let edit = rosa.get(&format!("/watches/{id}/edit")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert_eq!(edit.input("ubigeo"), "0304");
    let version = edit.input("version");
    let res = app.get(&format!("/api/v1/watches/{id}"), &app.admin).await;
    assert_eq!(version, res.body["version"].to_string());
    let changed = rosa
        .post(
            &format!("/watches/{id}/edit"),
            &fields(
                &csrf,
                &[
                    ("target_type", "admin_area"),
                    ("ubigeo", "0304"),
                    ("frequency", "daily"),
                    ("version", &version),
                ],
            ),
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(changed.location.as_deref(), Some("/watches?done=updated"));
    let list = rosa.get("/watches").await;
    assert!(list.body.contains("un resumen diario"));
    assert!(list.body.contains(">activa<"));
    // An edit from an old page is refused, nothing overwritten.
    let stale = rosa
        .post(
            &format!("/watches/{id}/edit"),
            &fields(
                &csrf,
                &[
                    ("target_type", "admin_area"),
                    ("ubigeo", "03"),
                    ("version", &version),
                ],
            ),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert!(stale.body.contains("Alguien cambió esta alerta"));
    let current = app.get(&format!("/api/v1/watches/{id}"), &app.admin).await;
    let version = current.body["version"].to_string();
    assert_eq!(current.body["frequency"], "daily");
    // A bad value in an edit: next to its field, nothing changed.
    let bad = rosa
        .post(
            &format!("/watches/{id}/edit"),
            &fields(
                &csrf,
                &[
                    ("target_type", "admin_area"),
                    ("ubigeo", "03"),
                    ("email", "x"),
                    ("version", &version),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"email-error\""));
    let res = app.get(&format!("/api/v1/watches/{id}"), &app.admin).await;
    assert_eq!(res.body["target"]["ubigeo"], "0304");
    assert_eq!(res.body["version"].to_string(), version);

    // Delete: a page asks first (no script needed), then it is gone.
    let ask = rosa.get(&format!("/watches/{id}/delete")).await;
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("¿Eliminar esta alerta?"));
    assert_eq!(ask.input("version"), version);
    let deleted = rosa
        .post(
            &format!("/watches/{id}/delete"),
            &[("csrf", &csrf), ("version", &version)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location.as_deref(), Some("/watches?done=deleted"));
    let list = rosa.get("/watches?done=deleted").await;
    assert!(list.body.contains("Alerta eliminada"));
    assert!(watch_ids(&list).is_empty());
    assert_eq!(watch_count(&app).await, 0);
}

#[actix_web::test]
async fn resending_too_soon_says_when_to_try_again() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let mut rosa = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Researcher).await;
    let made = post_new(
        &mut rosa,
        &[("target_type", "admin_area"), ("ubigeo", "0304")],
    )
    .await;
    assert_eq!(made.status, 303);
    let list = rosa.get("/watches").await;
    let id = watch_ids(&list).remove(0);
    let csrf = list.csrf();
    let soon = rosa
        .post(&format!("/watches/{id}/resend"), &[("csrf", &csrf)])
        .await;
    assert_eq!(soon.status, 429, "{}", soon.body);
    assert!(soon
        .body
        .contains("Se enviaron demasiados correos de confirmación hace poco."));
}

/// Today minus `days`, as the API writes dates.
fn days_ago(days: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[actix_web::test]
async fn the_preview_counts_what_the_watch_would_have_caught_in_twelve_months() {
    let app = spawn_app().await;
    chancas_concession(&app).await;
    let inside = |title: &str, days: i64, kind: &str| {
        event_with(json!({
            "title": title, "event_type": kind, "occurred_on": days_ago(days),
            "location": {"lat": CHANCAS.1, "lon": CHANCAS.0},
            "admin": {"ubigeo": "030410", "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca"}
        }))
    };
    app.create_event(inside("Bloqueo reciente en Los Chancas", 20, "blockade"))
        .await;
    app.create_event(inside("Protesta en Los Chancas", 200, "protest"))
        .await;
    app.create_event(inside("Bloqueo antiguo en Los Chancas", 400, "blockade"))
        .await;
    app.create_event(event_with(json!({
        "title": "Bloqueo lejos, en Cusco", "occurred_on": days_ago(10),
        "location": {"lat": -13.5, "lon": -72.0},
        "admin": {"ubigeo": "080101", "region": "Cusco", "province": "Cusco", "district": "Cusco"}
    })))
    .await;
    let mut rosa = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Researcher).await;

    let drawn = square(CHANCAS.0, CHANCAS.1, 0.05).to_string();
    let cases: [(&[(&str, &str)], usize); 6] = [
        (
            &[
                ("target_type", "concession"),
                ("concession_code", "010461925"),
            ],
            2,
        ),
        (
            &[("target_type", "holder"), ("holder_name", "southern peru")],
            2,
        ),
        (&[("target_type", "admin_area"), ("ubigeo", "0304")], 2),
        (&[("target_type", "area"), ("area", &drawn)], 2),
        (
            &[
                ("target_type", "admin_area"),
                ("ubigeo", "03"),
                ("event_types", "protest"),
            ],
            1,
        ),
        (&[("target_type", "admin_area"), ("ubigeo", "08")], 1),
    ];
    for (extra, expected) in cases {
        let mut extra = extra.to_vec();
        extra.push(("action", "preview"));
        let page = post_new(&mut rosa, &extra).await;
        assert_eq!(page.status, 200, "{extra:?}: {}", page.body);
        let summary = if expected == 1 {
            "habría captado 1 incidente.".to_string()
        } else {
            format!("habría captado {expected} incidentes.")
        };
        assert!(page.body.contains(&summary), "{extra:?}: {}", page.body);
        // The older one is out of the window, whatever the target.
        assert!(!page.body.contains("Bloqueo antiguo"), "{extra:?}");
        // The form is shown again with what was typed, ready to save.
        assert!(page.body.contains("id=\"save-button\""));
    }
    let page = post_new(
        &mut rosa,
        &[
            ("target_type", "concession"),
            ("concession_code", "010461925"),
            ("action", "preview"),
        ],
    )
    .await;
    let recent = page.body.find("Bloqueo reciente en Los Chancas").unwrap();
    let older = page.body.find("Protesta en Los Chancas").unwrap();
    assert!(recent < older, "newest first");
    assert!(page.body.contains("href=\"/incidents/"));
    assert!(!page.body.contains("Cusco"));
    // A preview saves nothing.
    assert_eq!(watch_count(&app).await, 0);
    // A preview is judged like a save.
    let bad = post_new(
        &mut rosa,
        &[
            ("target_type", "concession"),
            ("concession_code", "nope"),
            ("action", "preview"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"concession_code-error\""));
}
