//! The administration pages: the hub, the audit log with its diff, the
//! delivery log with "retry now", the registry changes, the settings with
//! their sources; for admins only (others get the 403 page, strangers the
//! way to sign in), each filter and each action.

use std::collections::HashMap;

use serde_json::json;
use vigia::alerts::delivery::Pass;
use vigia::config::Settings;
use vigia::keys::Role;

use crate::alerts::{create_watch, watch, BASE};
use crate::helpers::{
    event_with, multipart, shared_data, spawn_app, spawn_app_with, TestApp, TestDb,
};
use crate::mailbox::MailServer;
use crate::pages::{signed_in, Browser, Page};

const PAGES: [&str; 6] = [
    "/admin",
    "/admin/audit",
    "/admin/deliveries",
    "/admin/registry",
    "/admin/imports",
    "/admin/settings",
];

/// The `<li class="log-entry">` items of a log page.
fn entries(page: &Page) -> Vec<String> {
    page.body
        .split("<li class=\"log-entry")
        .skip(1)
        .map(|e| e.split("</li>").next().unwrap_or("").to_string())
        .collect()
}

async fn ok(browser: &mut Browser, path: &str) -> Page {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page
}

/// The name a key of the test app (`admin`, `monitor`…) acts under.
async fn key_name(app: &TestApp, role: &str) -> String {
    let keys = app.get("/api/v1/keys", &app.admin).await;
    keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == role && k["name"].as_str().unwrap().starts_with(&format!("{role}-")))
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn only_admins_open_the_administration_pages_and_the_hub_links_them_all() {
    let app = spawn_app().await;
    let mut stranger = Browser::new(&app);
    for path in PAGES {
        let page = stranger.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        let to = page.location.unwrap();
        assert!(to.starts_with("/sign-in?next="), "{path} → {to}");
    }
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let hub = ok(&mut admin, "/admin").await;
    for link in [
        "/users",
        "/keys",
        "/admin/audit",
        "/admin/deliveries",
        "/admin/registry",
        "/admin/imports",
        "/admin/settings",
    ] {
        assert!(
            hub.body.contains(&format!("<a href=\"{link}\">")),
            "{link} missing from the hub"
        );
    }
    // One link in the nav instead of two.
    let nav = hub
        .body
        .split("<nav")
        .nth(1)
        .unwrap()
        .split("</nav>")
        .next()
        .unwrap();
    assert!(nav.contains("href=\"/admin\""), "{nav}");
    assert!(!nav.contains("href=\"/users\""), "{nav}");
    assert!(!nav.contains("href=\"/keys\""), "{nav}");
    for path in PAGES {
        ok(&mut admin, path).await;
    }
    // "Retry now" of a mail that does not exist: the page says so.
    let csrf = hub.csrf();
    let missing = admin
        .post(
            "/admin/deliveries/5a1e7c1e-0000-4000-8000-000000000000/retry",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(missing.status, 404);

    for (email, name, role) in [
        ("mon@example.org", "Mónica Flores", Role::Monitor),
        ("inv@example.org", "Iván Rojas", Role::Researcher),
    ] {
        let mut other = signed_in(&app, email, name, role).await;
        for path in PAGES {
            let page = other.get(path).await;
            assert_eq!(page.status, 403, "{role:?} {path}");
            assert!(
                page.body.contains("Su rol no permite hacer esto."),
                "{path}"
            );
            assert!(page.body.contains("<html"), "a page, not JSON");
        }
        let own = other.get("/account").await;
        let csrf = own.csrf();
        let retry = other
            .post(
                "/admin/deliveries/5a1e7c1e-0000-4000-8000-000000000000/retry",
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(retry.status, 403, "{role:?} retry");
        let origin = app.address.clone();
        let (ct, body) = multipart(
            "x.geojson",
            "application/geo+json",
            b"{}",
            &[("csrf", &csrf), ("kind", "concessions"), ("crs", "")],
        );
        let import = other
            .request_bytes(
                actix_web::http::Method::POST,
                "/admin/imports",
                &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
                Some((&ct, body)),
            )
            .await;
        assert_eq!(import.status, 403, "{role:?} import");
        assert!(retry.body.contains("Su rol no permite hacer esto."));
        // No admin link in their nav.
        assert!(!own.body.contains("href=\"/admin\""));
    }
}

#[actix_web::test]
async fn the_people_page_says_when_each_person_last_signed_in() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    crate::pages::create_user(&app, "nuevo@example.org", "Nuevo Invitado", Role::Monitor);
    let page = ok(&mut admin, "/users").await;
    assert!(page.body.contains("Último ingreso"));
    let row = |who: &str| {
        page.body
            .split("<tr")
            .find(|r| r.contains(who))
            .unwrap()
            .to_string()
    };
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(row("Ana Quispe").contains(&today), "{}", row("Ana Quispe"));
    assert!(
        row("Nuevo Invitado").contains(">nunca<"),
        "{}",
        row("Nuevo Invitado")
    );
}

#[actix_web::test]
async fn the_audit_log_shows_who_changed_what_as_a_diff_and_filters_it() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let event = app
        .create_event(event_with(json!({"title": "Bloqueo en la vía <Apurímac>"})))
        .await;
    let id = event["id"].as_str().unwrap().to_string();
    let res = app
        .patch(
            &format!("/api/v1/events/{id}"),
            &app.admin,
            json!({"title": "Bloqueo levantado"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let key = key_name(&app, "admin").await;
    let monitor = key_name(&app, "monitor").await;

    let page = ok(&mut admin, "/admin/audit?entity=event&action=update").await;
    let found = entries(&page);
    assert_eq!(found.len(), 1, "{found:#?}");
    let entry = &found[0];
    assert!(entry.contains(&key), "{entry}");
    assert!(
        entry.contains(&format!("href=\"/incidents/{id}\"")),
        "{entry}"
    );
    assert!(
        entry.contains(">Bloqueo levantado</a>"),
        "the record's name: {entry}"
    );
    // The diff: the title before and after, escaped; the version and
    // update time that every change moves are not listed.
    assert!(
        entry.contains("<del>Bloqueo en la vía &#60;Apurímac&#62;</del>"),
        "{entry}"
    );
    assert!(entry.contains("<ins>Bloqueo levantado</ins>"), "{entry}");
    assert!(entry.contains("<code>title</code>"));
    assert!(!entry.contains("<code>version</code>"), "{entry}");
    assert!(!entry.contains("{\""), "no raw JSON: {entry}");

    // Who: the monitor's key created it, the admin's changed it.
    let by_key = ok(
        &mut admin,
        &format!("/admin/audit?who={}", vigia::web::encode(&key)),
    )
    .await;
    assert_eq!(entries(&by_key).len(), 1);
    let by_monitor = ok(
        &mut admin,
        &format!(
            "/admin/audit?who={}&entity=event",
            vigia::web::encode(&monitor)
        ),
    )
    .await;
    assert_eq!(entries(&by_monitor).len(), 1);
    assert!(entries(&by_monitor)[0].contains("registró"));
    let by_person = ok(&mut admin, "/admin/audit?who=Ana+Quispe&entity=event").await;
    assert!(entries(&by_person).is_empty());
    // The record's id.
    let by_id = ok(&mut admin, &format!("/admin/audit?entity_id={id}")).await;
    assert_eq!(entries(&by_id).len(), 2);
    let create = ok(
        &mut admin,
        &format!("/admin/audit?entity_id={id}&action=create"),
    )
    .await;
    assert_eq!(entries(&create).len(), 1);
    // Dates: today has them, a past range does not.
    let today = chrono::Utc::now().date_naive();
    let today_page = ok(
        &mut admin,
        &format!("/admin/audit?entity=event&from={today}&to={today}"),
    )
    .await;
    assert_eq!(entries(&today_page).len(), 2);
    let past = ok(
        &mut admin,
        "/admin/audit?entity=event&from=2020-01-01&to=2020-12-31",
    )
    .await;
    assert!(entries(&past).is_empty());
    // A bad date: said beside its field, 400, not a 500.
    let bad = admin.get("/admin/audit?from=ayer").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"f-from-error\">"), "{}", bad.body);
    assert!(bad
        .body
        .contains("aria-invalid=\"true\" aria-describedby=\"f-from-error\""));
    let bad_kind = admin.get("/admin/audit?entity=nave").await;
    assert_eq!(bad_kind.status, 400);
    let control = admin.get("/admin/audit?entity_id=a%07b").await;
    assert_eq!(control.status, 400);
}

#[actix_web::test]
async fn the_audit_log_comes_in_pages() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    for n in 0..53 {
        app.create_event(event_with(json!({"title": format!("Incidente {n:02}")})))
            .await;
    }
    let first = ok(&mut admin, "/admin/audit?entity=event").await;
    let one = entries(&first);
    assert_eq!(one.len(), 50);
    assert!(one[0].contains("Incidente 52"), "newest first");
    let next = first
        .body
        .split("<p class=\"pager\"><a href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(next.contains("entity=event"), "{next}");
    let second = ok(&mut admin, &next).await;
    let two = entries(&second);
    assert_eq!(two.len(), 3, "{two:#?}");
    assert!(two[2].contains("Incidente 00"));
    assert!(!second.body.contains("class=\"pager\""));
}

/// The app with a mail server of the test's own; the test drives delivery,
/// and a mail that failed waits an hour for its retry (unless retried now).
async fn mail_app(port: u16) -> TestApp {
    spawn_app_with(TestDb::new(), |s| {
        s.smtp.port = port;
        s.alerts.retry_initial_seconds = 3600;
        s.server.public_base_url = BASE.into();
        s.alerts.deliver = false;
    })
    .await
}

fn retry_form(page: &Page) -> String {
    page.body
        .split("action=\"/admin/deliveries/")
        .nth(1)
        .expect("a retry button")
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn a_mail_that_failed_while_smtp_was_down_is_retried_now_and_sent_once() {
    let down = MailServer::down();
    let app = mail_app(down.port).await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let email = "vigilante@example.org";
    create_watch(
        &app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    // Waiting for a retry (the server is down).
    let pass = app.deliver().await;
    assert_eq!(pass.retried, 1, "{pass:?}");
    let page = ok(&mut admin, "/admin/deliveries?status=pending").await;
    let entry = entries(&page).remove(0);
    assert!(entry.contains(email), "{entry}");
    assert!(
        entry.contains("class=\"last-error\""),
        "the error shows: {entry}"
    );
    assert!(entry.contains("Reintentar ahora"));
    // The server comes up: still waiting its turn, nothing sent.
    let mail = down.start();
    assert_eq!(app.deliver().await, Pass::default());

    // Two admins press at once: one change, one audit record.
    let action = format!("/admin/deliveries/{}", retry_form(&page));
    let csrf = page.csrf();
    let mut other = signed_in(&app, "beto@example.org", "Beto Salas", Role::Admin).await;
    let other_csrf = other.get("/admin").await.csrf();
    let (a, b) = futures_util::future::join(
        admin.post(&action, &[("csrf", &csrf)]),
        other.post(&action, &[("csrf", &other_csrf)]),
    )
    .await;
    let mut said = vec![a.location.unwrap(), b.location.unwrap()];
    said.sort();
    assert_eq!(
        said,
        [
            "/admin/deliveries?retried=already",
            "/admin/deliveries?retried=due"
        ]
    );
    let notice = ok(&mut admin, "/admin/deliveries?retried=due").await;
    assert!(notice.body.contains("próximo turno"));
    let audit = ok(&mut admin, "/admin/audit?entity=alert").await;
    assert_eq!(entries(&audit).len(), 1, "{}", audit.body);
    assert!(entries(&audit)[0].contains("<code>next_attempt_at</code>"));

    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(mail.wait_for(email, 1).await.len(), 1);
    let sent = ok(&mut admin, "/admin/deliveries?status=sent").await;
    let entry = entries(&sent).remove(0);
    assert!(!entry.contains("Reintentar ahora"), "{entry}");
    // Pressing it again on a sent mail changes nothing and sends nothing.
    let again = admin.post(&action, &[("csrf", &csrf)]).await;
    assert_eq!(
        again.location.as_deref(),
        Some("/admin/deliveries?retried=final")
    );
    assert_eq!(app.deliver().await, Pass::default());
    assert_eq!(mail.to(email).len(), 1, "delivered once");
}

#[actix_web::test]
async fn a_mail_refused_for_good_is_retried_now_and_the_log_filters() {
    let mail = MailServer::start();
    let app = mail_app(mail.port).await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    mail.refuse_all(true);
    let w = create_watch(
        &app,
        watch(
            "rechazo@example.org",
            json!({"type": "admin_area", "ubigeo": "03"}),
        ),
    )
    .await;
    create_watch(
        &app,
        watch(
            "otra@example.org",
            json!({"type": "admin_area", "ubigeo": "04"}),
        ),
    )
    .await;
    assert_eq!(app.deliver().await.failed, 2);
    mail.refuse_all(false);

    let failed = ok(&mut admin, "/admin/deliveries?status=failed").await;
    assert_eq!(entries(&failed).len(), 2);
    let none_sent = ok(&mut admin, "/admin/deliveries?status=sent").await;
    assert!(entries(&none_sent).is_empty());
    let one = ok(&mut admin, "/admin/deliveries?recipient=rechazo%40").await;
    assert_eq!(entries(&one).len(), 1);
    let watch_id = w["id"].as_str().unwrap();
    let by_watch = ok(&mut admin, &format!("/admin/deliveries?watch={watch_id}")).await;
    assert_eq!(entries(&by_watch).len(), 1);
    assert!(entries(&by_watch)[0].contains("rechazo@example.org"));
    let today = chrono::Utc::now().date_naive();
    let dated = ok(
        &mut admin,
        &format!("/admin/deliveries?from={today}&to={today}"),
    )
    .await;
    assert_eq!(entries(&dated).len(), 2);
    let past = ok(&mut admin, "/admin/deliveries?to=2020-01-01").await;
    assert!(entries(&past).is_empty());
    let bad = admin.get("/admin/deliveries?watch=no-es-un-id").await;
    assert_eq!(bad.status, 400);
    assert!(bad
        .body
        .contains("id=\"f-watch-error\">No es un identificador"));

    let action = format!("/admin/deliveries/{}", retry_form(&one));
    let pressed = admin.post(&action, &[("csrf", &one.csrf())]).await;
    assert_eq!(
        pressed.location.as_deref(),
        Some("/admin/deliveries?retried=due")
    );
    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(mail.wait_for("rechazo@example.org", 1).await.len(), 1);
    assert!(
        mail.to("otra@example.org").is_empty(),
        "only the one retried"
    );
    // Without the form token: refused.
    let forged = admin.post(&action, &[("csrf", "nope")]).await;
    assert_eq!(forged.status, 403);
}

#[actix_web::test]
async fn registry_changes_are_listed_with_their_filters() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let square = |lon: f64, lat: f64| json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]]});
    let mut ids = Vec::new();
    for (code, name, holder, lon) in [
        ("010461925", "CHRISGIN UNO", "GINER ROY CASIO", -78.0),
        ("P0100302", "LAS BAMBAS 2", "Minera Las Bambas S.A.", -72.0),
    ] {
        let res = app
            .post(
                "/api/v1/concessions",
                &app.admin,
                json!({"code": code, "name": name, "holder_name": holder, "geometry": square(lon, -14.0)}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        ids.push(res.body["id"].as_str().unwrap().to_string());
    }
    let res = app
        .patch(
            &format!("/api/v1/concessions/{}", ids[0]),
            &app.admin,
            json!({"holder_name": "Minera Nueva S.A.C."}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .delete(
            &format!("/api/v1/concessions/{}", ids[1]),
            &app.admin,
            Some("*"),
        )
        .await;
    assert!(res.status < 300, "{}", res.body);

    let all = ok(&mut admin, "/admin/registry").await;
    assert_eq!(entries(&all).len(), 4, "{}", all.body);
    let holder = ok(&mut admin, "/admin/registry?kind=holder_changed").await;
    let entry = entries(&holder).remove(0);
    assert_eq!(entries(&holder).len(), 1);
    assert!(
        entry.contains(&format!("href=\"/concessions/{}\"", ids[0])),
        "{entry}"
    );
    assert!(entry.contains("<del>GINER ROY CASIO</del>"), "{entry}");
    assert!(entry.contains("<ins>Minera Nueva S.A.C.</ins>"), "{entry}");
    let removed = ok(&mut admin, "/admin/registry?kind=removed").await;
    let entry = entries(&removed).remove(0);
    assert!(
        entry.contains("<strong>P0100302</strong>"),
        "no page to link to: {entry}"
    );
    let by_code = ok(&mut admin, "/admin/registry?code=P0100302").await;
    assert_eq!(entries(&by_code).len(), 2, "added and removed");
    // The holder's name, in any case.
    let by_holder = ok(&mut admin, "/admin/registry?holder=minera+nueva").await;
    assert_eq!(entries(&by_holder).len(), 1);
    let today = chrono::Utc::now().date_naive();
    let dated = ok(&mut admin, &format!("/admin/registry?from={today}")).await;
    assert_eq!(entries(&dated).len(), 4);
    let past = ok(&mut admin, "/admin/registry?to=2020-01-01").await;
    assert!(entries(&past).is_empty());
    let bad = admin.get("/admin/registry?kind=robado").await;
    assert_eq!(bad.status, 400);
}

#[actix_web::test]
async fn settings_show_their_values_and_sources_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vigia.toml");
    std::fs::write(
        &file,
        "[smtp]\npassword = \"clave-del-correo\"\nusername = \"vigia\"\n[backup]\nkeep = 9\n",
    )
    .unwrap();
    let env = HashMap::from([("VIGIA__ALERTS__BATCH_SIZE".to_string(), "7".to_string())]);
    let loaded = Settings::load_with(Some(&file), env).unwrap();
    let app = spawn_app_with(TestDb::new(), move |s| {
        s.smtp.password = loaded.smtp.password.clone();
        s.smtp.username = loaded.smtp.username.clone();
        s.backup.keep = loaded.backup.keep;
        s.alerts.batch_size = loaded.alerts.batch_size;
        s.origin = loaded.origin.clone();
    })
    .await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let page = ok(&mut admin, "/admin/settings").await;
    assert!(
        !page.body.contains("clave-del-correo"),
        "the password never shows"
    );
    let setting = |key: &str| {
        page.body
            .split("<div class=\"setting\">")
            .find(|s| s.contains(&format!("<code>{key}</code>")))
            .unwrap_or_else(|| panic!("no {key}"))
            .to_string()
    };
    let file_text = format!("Archivo {}", file.display());
    assert!(
        setting("smtp.password").contains("oculto"),
        "{}",
        setting("smtp.password")
    );
    assert!(setting("smtp.password").contains(&file_text));
    assert!(setting("backup.keep").contains("<code>9</code>"));
    assert!(setting("backup.keep").contains(&file_text));
    assert!(setting("alerts.batch_size").contains("Variable de entorno VIGIA__ALERTS__BATCH_SIZE"));
    assert!(setting("log.format").contains("Valor por defecto"));
    // The tests set the database themselves: neither layer gave it.
    assert!(setting("database.url").contains("Fijado por el programa"));
    let english = admin
        .request(
            actix_web::http::Method::GET,
            "/language?to=en&back=/admin/settings",
            &[],
            None,
        )
        .await;
    assert_eq!(english.status, 303);
    let page = ok(&mut admin, "/admin/settings").await;
    assert!(page
        .body
        .contains("Environment variable VIGIA__ALERTS__BATCH_SIZE"));
}

/// Sends a file from the imports page's form.
async fn upload(
    app: &TestApp,
    browser: &mut Browser,
    kind: &str,
    crs: &str,
    name: &str,
    bytes: &[u8],
) -> Page {
    let csrf = browser.get("/admin/imports").await.csrf();
    let (ct, body) = multipart(
        name,
        "application/octet-stream",
        bytes,
        &[("csrf", &csrf), ("kind", kind), ("crs", crs)],
    );
    let origin = app.address.clone();
    browser
        .request_bytes(
            actix_web::http::Method::POST,
            "/admin/imports",
            &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
            Some((&ct, body)),
        )
        .await
}

/// Follows an import's page, as its refresh does, until the job ended.
async fn when_done(browser: &mut Browser, path: &str) -> Page {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let page = ok(browser, path).await;
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page;
        }
        assert!(std::time::Instant::now() < deadline, "{path} still running");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The number a report shows for one count (`added`, `removed`…).
fn count(page: &Page, class: &str) -> usize {
    page.body
        .split(&format!("<dd class=\"{class}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no {class} in {}", page.body))
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn feature(code: &str, name: &str, holder: &str, lon: f64, lat: f64) -> serde_json::Value {
    json!({"type": "Feature",
        "properties": {"CODIGOU": code, "CONCESION": name, "TIT_CONCES": holder},
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]]}})
}

#[actix_web::test]
async fn a_small_concessions_file_is_imported_with_the_command_lines_report() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let file = json!({"type": "FeatureCollection", "features": [
        feature("010461925", "CHRISGIN UNO", "GINER ROY CASIO", -78.0, -8.0),
        feature("P0100302", "LAS BAMBAS 2", "Minera Las Bambas S.A.", -72.3, -14.1),
        {"type": "Feature", "properties": {"CONCESION": "SIN CÓDIGO"}, "geometry": null},
    ]})
    .to_string();
    let sent = upload(
        &app,
        &mut admin,
        "concessions",
        "EPSG:4326",
        "catastro.geojson",
        file.as_bytes(),
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let path = sent.location.unwrap();
    let done = when_done(&mut admin, &path).await;
    assert!(done.body.contains("Terminada"), "{}", done.body);
    assert!(done.body.contains("catastro.geojson"));
    assert_eq!(count(&done, "added"), 2);
    assert_eq!(count(&done, "removed"), 0);
    // The bad row: its number (as people count) and why.
    let errors = done.body.split("row-errors").nth(1).expect("row errors");
    assert!(errors.contains("Fila 3"), "{errors}");
    // The same file again: nothing changes.
    let again = upload(
        &app,
        &mut admin,
        "concessions",
        "EPSG:4326",
        "catastro.geojson",
        file.as_bytes(),
    )
    .await;
    let done = when_done(&mut admin, &again.location.unwrap()).await;
    assert_eq!(count(&done, "unchanged"), 2);
    assert_eq!(count(&done, "added"), 0);
    // Both are listed, and their changes are in the registry log.
    let list = ok(&mut admin, "/admin/imports").await;
    assert_eq!(list.body.matches("catastro.geojson").count(), 2);
    let registry = ok(&mut admin, "/admin/registry?kind=added").await;
    assert_eq!(entries(&registry).len(), 2);
    // Audited as the command line's import is.
    let audit = ok(&mut admin, "/admin/audit?entity=concessions&who=Ana+Quispe").await;
    assert_eq!(entries(&audit).len(), 2);
}

#[actix_web::test]
async fn a_bad_file_is_said_on_the_page_and_imports_nothing() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    // Not a GeoJSON nor a zip: refused at once, beside the file field.
    let text = upload(&app, &mut admin, "concessions", "", "notas.txt", b"hola").await;
    assert_eq!(text.status, 422);
    assert!(
        text.body.contains("id=\"file-concessions-error\""),
        "{}",
        text.body
    );
    assert!(text.body.contains("No es un GeoJSON"));
    // A zip without the shapefile's .dbf.
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut zipped);
        w.start_file("a.shp", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, b"x").unwrap();
        w.finish().unwrap();
    }
    let partial = upload(&app, &mut admin, "districts", "", "a.zip", zipped.get_ref()).await;
    assert_eq!(partial.status, 422);
    assert!(partial.body.contains("id=\"file-districts-error\""));
    // Projected coordinates and no coordinate system: the job says why.
    let file = json!({"type": "FeatureCollection", "features": [
        feature("010461925", "CHRISGIN UNO", "GINER", 817000.0, 8968000.0)]})
    .to_string();
    let sent = upload(
        &app,
        &mut admin,
        "concessions",
        "",
        "utm.geojson",
        file.as_bytes(),
    )
    .await;
    assert_eq!(sent.status, 303);
    let done = when_done(&mut admin, &sent.location.unwrap()).await;
    assert!(done.body.contains("No se importó nada:"), "{}", done.body);
    assert!(
        done.body.contains("EPSG:32717"),
        "the way out is named: {}",
        done.body
    );
    assert!(
        !done.body.contains("/tmp/"),
        "no server path: {}",
        done.body
    );
    let registry = ok(&mut admin, "/admin/registry").await;
    assert!(entries(&registry).is_empty());
}

/// The shapefile of the shared data, zipped here as an office would send it.
fn zipped_shapefile() -> Option<Vec<u8>> {
    let dir = shared_data("ingemmet-concessions-utm17s-shp")?;
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut zipped);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
            let name = format!("concesiones_17s.{ext}");
            w.start_file(format!("catastro/{name}"), options).unwrap();
            std::io::Write::write_all(&mut w, &std::fs::read(dir.join(&name)).unwrap()).unwrap();
        }
        w.finish().unwrap();
    }
    Some(zipped.into_inner())
}

#[actix_web::test]
async fn the_real_cadastre_as_a_zipped_shapefile_and_the_real_districts_are_imported() {
    let Some(zipped) = zipped_shapefile() else {
        return;
    };
    let Some(districts) = shared_data("peru-districts.geojson") else {
        return;
    };
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let started = std::time::Instant::now();
    let sent = upload(
        &app,
        &mut admin,
        "concessions",
        "",
        "catastro-17s.zip",
        &zipped,
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let path = sent.location.unwrap();
    // The page answers at once and follows the job.
    let first = ok(&mut admin, &path).await;
    let done = when_done(&mut admin, &path).await;
    eprintln!(
        "web import of 9,025 concessions: {:.1} s from the upload to the report",
        started.elapsed().as_secs_f64()
    );
    if first.body.contains("http-equiv=\"refresh\"") {
        assert!(first.body.contains("La importación sigue en curso"));
    }
    assert!(done.body.contains("Terminada"), "{}", done.body);
    assert_eq!(count(&done, "added"), 9025);
    // The CRS came from the .prj.
    assert!(done.body.contains("EPSG:32717"), "{}", done.body);

    let bytes = std::fs::read(districts).unwrap();
    let sent = upload(
        &app,
        &mut admin,
        "districts",
        "",
        "peru-districts.geojson",
        &bytes,
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let done = when_done(&mut admin, &sent.location.unwrap()).await;
    assert!(done.body.contains("Terminada"), "{}", done.body);
    assert_eq!(count(&done, "added"), 1826);
    // The eight districts without a geometry, each with its row.
    let errors = done.body.split("row-errors").nth(1).expect("row errors");
    assert_eq!(
        errors.matches("<li class=\"log-entry\">").count(),
        8,
        "{errors}"
    );
}
