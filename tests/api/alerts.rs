//! Watches and e-mail alerts, read from a real SMTP server.
//!
//! Most tests drive delivery themselves (`TestApp::deliver`, the in-app
//! worker off), so that what was sent is known when they look: "nothing
//! more arrived" is proved by a pass that sent nothing and by the outbox,
//! never by waiting. A few keep the in-app worker running, as in
//! production, and wait for what will arrive.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix_web::http::Method;
use serde_json::{json, Value};
use vigia::alerts::delivery::Pass;

use crate::helpers::{event_with, los_chancas, spawn_app_with, TestApp, TestDb};
use crate::mailbox::{Mail, MailServer};

pub(crate) const BASE: &str = "https://vigia.test";
const CHANCAS: (f64, f64) = (-73.0884214, -14.2190728);

fn square(lon: f64, lat: f64, half: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]
    ]]})
}

/// The app, sending through SMTP on `port` when the test delivers, with
/// links under `BASE`.
pub(crate) async fn app_on(db: TestDb, port: u16) -> TestApp {
    spawn_app_with(db, |s| {
        s.smtp.port = port;
        s.server.public_base_url = BASE.into();
        s.alerts.deliver = false;
    })
    .await
}

/// The same with the in-app delivery worker running, as in production.
async fn app_delivering(db: TestDb, port: u16) -> TestApp {
    spawn_app_with(db, |s| {
        s.smtp.port = port;
        s.server.public_base_url = BASE.into();
    })
    .await
}

/// A delivery pass that sent `n` outbox rows and nothing else happened.
pub(crate) fn sent(n: usize) -> Pass {
    Pass {
        sent: n,
        ..Pass::default()
    }
}

/// The Los Chancas concession, held by Southern Peru.
pub(crate) async fn chancas_concession(app: &TestApp) -> Value {
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010461925", "name": "LOS CHANCAS 1", "holder_name": "Southern Peru Copper Corporation, Sucursal del Perú",
                   "geometry": square(CHANCAS.0, CHANCAS.1, 0.02)}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

pub(crate) fn watch(email: &str, target: Value) -> Value {
    json!({"email": email, "target": target, "frequency": "immediate", "language": "es"})
}

pub(crate) async fn create_watch(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/watches", &app.researcher, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.body["status"], "pending");
    res.body
}

/// A link from a mail, as a path on the test server.
pub(crate) fn path_of(link: &str) -> String {
    link.strip_prefix(BASE)
        .unwrap_or_else(|| panic!("{link} is not under {BASE}"))
        .to_string()
}

pub(crate) async fn open(app: &TestApp, link: &str) -> crate::helpers::Response {
    app.send(Method::GET, &path_of(link), None, &[], None).await
}

/// What a browser does with a link's page: opens it and presses its one
/// button, posting the form as browsers do.
pub(crate) async fn press_button(app: &TestApp, link: &str) -> crate::helpers::Response {
    let page = open(app, link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.body.as_str().unwrap();
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no form in {html}"))
        .replace("&amp;", "&");
    assert!(html.contains("method=\"post\""), "{html}");
    app.send(
        Method::POST,
        &action,
        None,
        &[],
        Some(("application/x-www-form-urlencoded", Vec::new())),
    )
    .await
}

/// Opens the `nth` confirmation mail sent to `email` (delivering first when
/// the test drives delivery).
pub(crate) async fn confirm(app: &TestApp, mail: &MailServer, email: &str, nth: usize) -> Mail {
    if app.drives_delivery() {
        app.deliver().await;
    }
    let got = mail.wait_for(email, nth).await;
    let confirmation = got[nth - 1].clone();
    let link = confirmation.link(&format!("{BASE}/api/v1/watches/confirm?token="));
    let res = press_button(app, &link).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    confirmation
}

/// A watched, confirmed address; returns the watch.
async fn active_watch(app: &TestApp, mail: &MailServer, body: Value) -> Value {
    let email = body["email"].as_str().unwrap().to_string();
    let before = mail.to(&email).len();
    let created = create_watch(app, body).await;
    confirm(app, mail, &email, before + 1).await;
    let id = created["id"].as_str().unwrap();
    let now = app
        .get(&format!("/api/v1/watches/{id}"), &app.researcher)
        .await;
    assert_eq!(now.body["status"], "active", "{}", now.body);
    now.body
}

async fn alerts_of(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/v1/alerts?{query}"), &app.admin)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["items"].as_array().unwrap().clone()
}

/// The outbox in the database: how many rows are in each status.
fn outbox(app: &TestApp) -> BTreeMap<String, usize> {
    use diesel::prelude::*;
    use vigia::schema::alerts;
    let mut conn = app.db.get().unwrap();
    let statuses: Vec<String> = alerts::table
        .select(alerts::status)
        .load(&mut conn)
        .unwrap();
    let mut counts = BTreeMap::new();
    for status in statuses {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

/// The outbox once no row of it is pending: every mail is sent, failed or
/// cancelled, so none will arrive after this (a row is marked only once
/// the SMTP server has answered for its mail). A test that drives delivery
/// runs one pass (which sends all that is due), and anything still pending
/// then is a failure; with the in-app worker running, this waits for it.
async fn settle(app: &TestApp) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.drives_delivery() {
            app.deliver().await;
        }
        let outbox = outbox(app);
        if !outbox.contains_key("pending") {
            return outbox;
        }
        assert!(
            !app.drives_delivery() && Instant::now() < deadline,
            "still pending: {outbox:?} {:#?}",
            alerts_of(app, "status=pending").await
        );
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The log rows for `query` once the outbox is settled (see [`settle`]).
async fn settled(app: &TestApp, query: &str) -> Vec<Value> {
    settle(app).await;
    alerts_of(app, query).await
}

/// The messages `address` has received, which must be `count`.
#[track_caller]
pub(crate) fn exactly(mail: &MailServer, address: &str, count: usize) -> Vec<Mail> {
    let got = mail.to(address);
    assert_eq!(
        got.len(),
        count,
        "{address}: {:#?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    got
}

/// Moves every mail of the outbox `minutes` into the past, as if that
/// time had gone by.
pub(crate) fn age_outbox(app: &TestApp, minutes: i64) {
    use diesel::prelude::*;
    use vigia::schema::alerts;
    let mut conn = app.db.get().unwrap();
    let rows: Vec<(String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = alerts::table
        .select((alerts::id, alerts::created_at, alerts::sent_at))
        .load(&mut conn)
        .unwrap();
    let back = chrono::Duration::minutes(minutes);
    for (id, created, sent) in rows {
        diesel::update(alerts::table.find(id))
            .set((
                alerts::created_at.eq(created - back),
                alerts::sent_at.eq(sent.map(|t| t - back)),
            ))
            .execute(&mut conn)
            .unwrap();
    }
}

/// Moves the retry time of every mail waiting for a retry into the past,
/// as if that time had come.
fn retries_due(app: &TestApp) {
    use diesel::prelude::*;
    use vigia::schema::alerts;
    let mut conn = app.db.get().unwrap();
    let rows: Vec<(String, chrono::NaiveDateTime)> = alerts::table
        .filter(alerts::status.eq("pending"))
        .filter(alerts::attempts.gt(0))
        .select((alerts::id, alerts::next_attempt_at))
        .load(&mut conn)
        .unwrap();
    assert!(!rows.is_empty(), "no mail waits for a retry");
    for (row, at) in rows {
        diesel::update(alerts::table.find(row))
            .set(alerts::next_attempt_at.eq(at - chrono::Duration::hours(1)))
            .execute(&mut conn)
            .unwrap();
    }
}

#[actix_web::test]
async fn a_concession_watch_confirms_then_alerts_with_everything_the_reader_needs() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let concession = chancas_concession(&app).await;
    let email = "investigadora@example.org";
    let created = create_watch(
        &app,
        watch(email, json!({"type": "concession", "code": "010461925"})),
    )
    .await;
    assert_eq!(created["target"]["concession_id"], concession["id"]);
    assert_eq!(created["target"]["code"], "010461925");
    assert!(created["activated_at"].is_null());

    let confirmation = confirm(&app, &mail, email, 1).await;
    assert_eq!(confirmation.subject, "[Vigía] Confirme su alerta");
    assert!(
        confirmation.text.contains("010461925"),
        "{}",
        confirmation.text
    );
    assert!(confirmation.header("List-Unsubscribe").is_none());
    // Opening it again is harmless.
    let link = confirmation.link(&format!("{BASE}/api/v1/watches/confirm?token="));
    let again = open(&app, &link).await;
    assert_eq!(again.status, 200);

    let event = app.create_event(los_chancas()).await;
    assert_eq!(app.deliver().await, sent(1));
    let got = exactly(&mail, email, 2);
    let alert = &got[1];
    assert_eq!(
        alert.subject,
        "[Vigía] Queman el campamento del proyecto Los Chancas"
    );
    for needed in [
        "destrucción de propiedad",
        "mayo de 2022",
        "Pocohuanca",
        "030410",
        "010461925",
        "LOS CHANCAS 1",
        "Southern Peru Copper Corporation",
    ] {
        assert!(
            alert.text.contains(needed),
            "{needed:?} missing:\n{}",
            alert.text
        );
        assert!(
            alert.html.contains(needed),
            "{needed:?} missing in HTML:\n{}",
            alert.html
        );
    }
    // The incident's page: opens the sign-in first for someone signed out.
    let event_link = format!("{BASE}/incidents/{}", event["id"].as_str().unwrap());
    assert!(alert.text.contains(&event_link), "{}", alert.text);
    let unsubscribe = alert.link(&format!("{BASE}/api/v1/watches/unsubscribe?token="));
    assert_eq!(
        alert.header("List-Unsubscribe"),
        Some(format!("<{unsubscribe}>"))
    );
    assert_eq!(
        alert.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        alert.message_id.ends_with("@localhost"),
        "{}",
        alert.message_id
    );

    let log = settled(&app, &format!("event_id={}", event["id"].as_str().unwrap())).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "sent");
    assert_eq!(log[0]["recipient"], email);
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["reason"]["kind"], "concession");
    assert!(log[0]["sent_at"].is_string());
}

#[actix_web::test]
async fn nothing_before_confirmation_and_only_incidents_logged_after_it() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    chancas_concession(&app).await;
    let email = "pendiente@example.org";
    let created = create_watch(
        &app,
        watch(email, json!({"type": "concession", "code": "010461925"})),
    )
    .await;
    assert_eq!(app.deliver().await, sent(1), "the confirmation");
    let early = app.create_event(los_chancas()).await;
    assert_eq!(app.deliver().await, Pass::default());
    confirm(&app, &mail, email, 1).await;
    let late = app
        .create_event(event_with(
            json!({"title": "Segundo incidente", "location": {"lat": CHANCAS.1, "lon": CHANCAS.0}}),
        ))
        .await;
    assert_eq!(app.deliver().await, sent(1));
    let got = exactly(&mail, email, 2);
    assert_eq!(got[1].subject, "[Vigía] Segundo incidente");
    let watch_id = created["id"].as_str().unwrap();
    let log = alerts_of(&app, &format!("watch_id={watch_id}&kind=alert")).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["event_id"], late["id"]);
    assert!(
        alerts_of(&app, &format!("event_id={}", early["id"].as_str().unwrap()))
            .await
            .is_empty()
    );
    // Edits of the early incident do not make it new.
    let res = app
        .patch(
            &format!("/api/v1/events/{}", early["id"].as_str().unwrap()),
            &app.monitor,
            json!({"title": "Corregido"}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(
        alerts_of(&app, &format!("event_id={}", early["id"].as_str().unwrap()))
            .await
            .is_empty()
    );
    assert_eq!(app.deliver().await, Pass::default());
    exactly(&mail, email, 2);
}

#[actix_web::test]
async fn holder_area_and_admin_area_watches_each_catch_their_incidents() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let concession = chancas_concession(&app).await;
    let holder = concession["holder"]["id"].as_str().unwrap().to_string();
    active_watch(
        &app,
        &mail,
        watch(
            "titular@example.org",
            json!({"type": "holder", "actor_id": holder}),
        ),
    )
    .await;
    let mut area = watch(
        "area@example.org",
        json!({"type": "area", "geometry": square(CHANCAS.0, CHANCAS.1, 0.1)}),
    );
    area["language"] = json!("en");
    active_watch(&app, &mail, area).await;
    active_watch(
        &app,
        &mail,
        watch(
            "aymaraes@example.org",
            json!({"type": "admin_area", "ubigeo": "0304"}),
        ),
    )
    .await;
    // Watches that must stay quiet: another area, another region, a type
    // filter the incident is not, a verification it lacks.
    active_watch(
        &app,
        &mail,
        watch(
            "lejos@example.org",
            json!({"type": "area", "geometry": square(-77.0, -12.0, 0.1)}),
        ),
    )
    .await;
    active_watch(
        &app,
        &mail,
        watch(
            "lima@example.org",
            json!({"type": "admin_area", "ubigeo": "15"}),
        ),
    )
    .await;
    let mut only_protests = watch(
        "protestas@example.org",
        json!({"type": "admin_area", "ubigeo": "03"}),
    );
    only_protests["event_types"] = json!(["protest"]);
    active_watch(&app, &mail, only_protests).await;
    let mut verified_only = watch(
        "verificado@example.org",
        json!({"type": "admin_area", "ubigeo": "030410"}),
    );
    verified_only["min_verification"] = json!("verified");
    active_watch(&app, &mail, verified_only).await;

    let mut unverified = los_chancas();
    unverified["verification"] = json!("unverified");
    app.create_event(unverified).await;
    assert_eq!(app.deliver().await, sent(3), "holder, area and admin area");

    let holder_mail = &exactly(&mail, "titular@example.org", 2)[1];
    assert!(
        holder_mail.text.contains("titular que usted vigila"),
        "{}",
        holder_mail.text
    );
    assert!(holder_mail.text.contains("010461925"));
    let area_mail = &exactly(&mail, "area@example.org", 2)[1];
    assert!(
        area_mail.text.contains("inside the area you watch"),
        "{}",
        area_mail.text
    );
    assert!(area_mail.text.contains("May 2022"), "{}", area_mail.text);
    assert!(area_mail.text.contains("property destruction"));
    let admin_mail = &exactly(&mail, "aymaraes@example.org", 2)[1];
    assert!(
        admin_mail.text.contains("Aymaraes (ubigeo 0304)"),
        "{}",
        admin_mail.text
    );
    // A protest in the region reaches the protest watch; the verified
    // watch hears of the incident once it is verified.
    app.create_event(event_with(json!({"event_type": "protest", "admin": {"ubigeo": "030101", "region": "Apurímac", "province": "Abancay", "district": "Abancay"}})))
        .await;
    assert_eq!(app.deliver().await, sent(1));
    exactly(&mail, "protestas@example.org", 2);
    let logged = settled(&app, "kind=alert").await;
    let recipients: Vec<&str> = logged
        .iter()
        .map(|a| a["recipient"].as_str().unwrap())
        .collect();
    for quiet in [
        "lejos@example.org",
        "lima@example.org",
        "verificado@example.org",
    ] {
        assert!(
            !recipients.contains(&quiet),
            "{quiet} was alerted: {recipients:?}"
        );
        exactly(&mail, quiet, 1);
    }
    assert_eq!(logged.len(), 4, "{logged:#?}");
    assert!(logged.iter().all(|a| a["status"] == "sent"), "{logged:#?}");
}

#[actix_web::test]
async fn an_incident_that_comes_to_match_alerts_once_whatever_edits_follow() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    chancas_concession(&app).await;
    let email = "una-vez@example.org";
    let w = active_watch(
        &app,
        &mail,
        watch(email, json!({"type": "concession", "code": "010461925"})),
    )
    .await;
    let verified = active_watch(
        &app,
        &mail,
        json!({"email": "verificados@example.org", "target": {"type": "concession", "code": "010461925"},
               "min_verification": "verified", "frequency": "immediate", "language": "es"}),
    )
    .await;
    let event = app
        .create_event(event_with(
            json!({"title": "Fuera", "location": {"lat": -12.0, "lon": -77.0}}),
        ))
        .await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    // Moved inside: one alert.
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"location": {"lat": CHANCAS.1, "lon": CHANCAS.0}}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.deliver().await, sent(1));
    exactly(&mail, email, 2);
    // Edited, moved out and back in: nothing more.
    for patch in [
        json!({"title": "Editado"}),
        json!({"location": {"lat": -12.0, "lon": -77.0}}),
        json!({"location": {"lat": CHANCAS.1, "lon": CHANCAS.0}}),
    ] {
        let res = app.patch(&path, &app.monitor, patch, Some("*")).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(app.deliver().await, Pass::default());
    }
    // Verified now: the verified-only watch hears of it, once.
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"verification": "verified"}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(app.deliver().await, sent(1));
    exactly(&mail, email, 2); // one confirmation, one alert
    exactly(&mail, "verificados@example.org", 2);
    let log = settled(&app, &format!("event_id={}", event["id"].as_str().unwrap())).await;
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log.iter().all(|a| a["status"] == "sent"), "{log:#?}");
    let watches: Vec<&Value> = log.iter().map(|a| &a["watch_id"]).collect();
    assert!(watches.contains(&&w["id"]) && watches.contains(&&verified["id"]));
}

#[actix_web::test]
async fn one_click_unsubscribe_stops_the_watch_at_once() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    chancas_concession(&app).await;
    let email = "baja@example.org";
    let w = active_watch(
        &app,
        &mail,
        watch(email, json!({"type": "concession", "code": "010461925"})),
    )
    .await;
    // A second watch shows when a later incident has been delivered.
    active_watch(
        &app,
        &mail,
        watch(
            "testigo@example.org",
            json!({"type": "concession", "code": "010461925"}),
        ),
    )
    .await;
    app.create_event(los_chancas()).await;
    assert_eq!(app.deliver().await, sent(2));
    let alert = exactly(&mail, email, 2)[1].clone();
    let header = alert.header("List-Unsubscribe").unwrap();
    let link = header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();

    // The page a browser shows has a button posting to the same link.
    let page = open(&app, &link).await;
    assert_eq!(page.status, 200);
    let html = page.body.as_str().unwrap();
    assert!(
        html.contains("method=\"post\"") && html.contains("Darme de baja"),
        "{html}"
    );

    // Tampered tokens are refused.
    let tampered = format!("{}x", path_of(&link));
    let res = app
        .send(
            Method::POST,
            &tampered,
            None,
            &[],
            Some((
                "application/x-www-form-urlencoded",
                b"List-Unsubscribe=One-Click".to_vec(),
            )),
        )
        .await;
    res.problem(400);
    let other_watch = path_of(&link).replace(
        w["id"].as_str().unwrap(),
        "6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b",
    );
    app.send(Method::POST, &other_watch, None, &[], None)
        .await
        .problem(400);

    // What a mail program sends: a POST with no login.
    let res = app
        .send(
            Method::POST,
            &path_of(&link),
            None,
            &[],
            Some((
                "application/x-www-form-urlencoded",
                b"List-Unsubscribe=One-Click".to_vec(),
            )),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let now = app
        .get(
            &format!("/api/v1/watches/{}", w["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(now.body["status"], "unsubscribed");
    // Again: still fine.
    let res = app
        .send(Method::POST, &path_of(&link), None, &[], None)
        .await;
    assert_eq!(res.status, 200);

    let after = app
        .create_event(event_with(
            json!({"title": "Después de la baja", "location": {"lat": CHANCAS.1, "lon": CHANCAS.0}}),
        ))
        .await;
    // Only the other watch is alerted: no mail is even queued for this one.
    assert_eq!(app.deliver().await, sent(1));
    exactly(&mail, "testigo@example.org", 3);
    exactly(&mail, email, 2); // nothing after unsubscribing
    let log = alerts_of(&app, &format!("event_id={}", after["id"].as_str().unwrap())).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_ne!(log[0]["watch_id"], w["id"]);
}

#[actix_web::test]
async fn confirmation_links_are_unforgeable_single_purpose_and_expire() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "enlaces@example.org";
    let created = create_watch(
        &app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.deliver().await, sent(1));
    let first = exactly(&mail, email, 1)[0].clone();
    let link = first.link(&format!("{BASE}/api/v1/watches/confirm?token="));

    for bad in [
        "/api/v1/watches/confirm?token=nonsense".to_string(),
        format!("{}x", path_of(&link)),
        path_of(&link).replace(id, "6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b"),
        // An unsubscribe-shaped token does not confirm.
        format!("/api/v1/watches/confirm?token={id}.AAAA"),
    ] {
        app.send(Method::GET, &bad, None, &[], None)
            .await
            .problem(400);
    }
    app.send(Method::GET, "/api/v1/watches/confirm", None, &[], None)
        .await
        .problem(400);

    // Resending right away is refused with the time to wait.
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/watches/{id}/resend"),
            Some(&app.researcher),
            None,
        )
        .await;
    res.problem(429);
    assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);

    // An expired link: as if it had been sent eight days ago.
    {
        use diesel::prelude::*;
        let mut conn = app.db.get().unwrap();
        let signer = vigia::alerts::tokens::LinkSigner::load(&mut conn).unwrap();
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::days(1);
        let past = chrono::DateTime::from_timestamp(past.and_utc().timestamp(), 0)
            .unwrap()
            .naive_utc();
        let nonce: String = vigia::schema::watches::table
            .find(id)
            .select(vigia::schema::watches::confirm_nonce)
            .first(&mut conn)
            .unwrap();
        diesel::update(vigia::schema::watches::table.find(id))
            .set(vigia::schema::watches::confirm_expires_at.eq(past))
            .execute(&mut conn)
            .unwrap();
        let token = signer.confirm_token(id, past.and_utc().timestamp(), &nonce);
        let res = app
            .send(
                Method::GET,
                &format!("/api/v1/watches/confirm?token={token}"),
                None,
                &[],
                None,
            )
            .await;
        assert!(res.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("expired"));
        // The old link no longer matches the watch either.
        open(&app, &link).await.problem(400);
    }
    // Allow a resend now, as if a minute had passed.
    age_outbox(&app, 2);
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/watches/{id}/resend"),
            Some(&app.researcher),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.deliver().await, sent(1));
    let second = exactly(&mail, email, 2)[1].clone();
    confirm(&app, &mail, email, 2).await;
    assert_ne!(second.link(BASE), link);
    // Once active, a resend has nothing to do.
    app.request(
        Method::POST,
        &format!("/api/v1/watches/{id}/resend"),
        Some(&app.researcher),
        None,
    )
    .await
    .problem(409);
}

#[actix_web::test]
async fn smtp_down_then_up_delivers_everything_once() {
    let smtp = MailServer::down();
    let app = app_on(TestDb::new(), smtp.port).await;
    chancas_concession(&app).await;
    let email = "paciente@example.org";
    let created = create_watch(
        &app,
        watch(email, json!({"type": "concession", "code": "010461925"})),
    )
    .await;
    // The server is down: the confirmation waits, with the error logged.
    let pass = app.deliver().await;
    assert_eq!(
        pass,
        Pass {
            retried: 1,
            ..Pass::default()
        }
    );
    let log = alerts_of(
        &app,
        &format!("watch_id={}", created["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], 1);
    assert!(log[0]["last_error"].is_string(), "{log:#?}");
    // The server comes up; the retry time comes: the confirmation goes.
    let mail = smtp.start();
    retries_due(&app);
    assert_eq!(app.deliver().await, sent(1));
    confirm(&app, &mail, email, 1).await;
    app.create_event(los_chancas()).await;
    assert_eq!(app.deliver().await, sent(1));
    let got = exactly(&mail, email, 2);
    assert_ne!(got[0].message_id, got[1].message_id);
    let log = settled(&app, "").await;
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log.iter().all(|a| a["status"] == "sent"), "{log:#?}");
}

#[actix_web::test]
async fn a_restart_between_commit_and_send_loses_nothing() {
    let mail = MailServer::start();
    let db = TestDb::new();
    // A server that commits but never sends (as if killed right after the
    // commit): its worker is off and the test does not deliver.
    let first = app_on(db, mail.port).await;
    let email = "reinicio@example.org";
    create_watch(
        &first,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    let log = alerts_of(&first, "").await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], 0, "never tried");
    assert!(mail.all().is_empty());
    let db = first.stop().await;
    // The next server, its own worker running, sends it, once.
    let second = app_delivering(db, mail.port).await;
    confirm(&second, &mail, email, 1).await;
    let log = settled(&second, "").await;
    assert_eq!(log[0]["status"], "sent");
    assert_eq!(log[0]["attempts"], 1);
    exactly(&mail, email, 1);
}

#[actix_web::test]
async fn two_servers_on_one_database_send_each_alert_once() {
    let mail = MailServer::start();
    let db = TestDb::new();
    let second_db = TestDb::reuse(&db);
    // Both run their own worker: they race for the same outbox.
    let one = app_delivering(db, mail.port).await;
    let two = app_delivering(second_db, mail.port).await;
    let email = "dos@example.org";
    active_watch(
        &one,
        &mail,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    let n = 60;
    for i in 0..n {
        let app = if i % 2 == 0 { &one } else { &two };
        let body =
            event_with(json!({"title": format!("Incidente {i}"), "admin": {"ubigeo": "030410"}}));
        let res = app.post("/api/v1/events", &app.monitor, body).await;
        assert_eq!(res.status, 201);
    }
    mail.wait_for(email, n + 1).await;
    // Every row sent: neither worker has anything left to send.
    assert_eq!(settle(&one).await, BTreeMap::from([("sent".into(), n + 1)]));
    let got = exactly(&mail, email, n + 1); // no repeats
    let mut ids: Vec<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n + 1);
    let mut titles: Vec<String> = got.iter().skip(1).map(|m| m.subject.clone()).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), n);
}

#[actix_web::test]
async fn a_daily_watch_gets_one_digest_listing_each_incident_once() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    chancas_concession(&app).await;
    let email = "diario@example.org";
    let mut daily = watch(email, json!({"type": "concession", "code": "010461925"}));
    daily["frequency"] = json!("daily");
    daily["language"] = json!("en");
    let w = active_watch(&app, &mail, daily).await;
    let witness = "inmediato@example.org";
    active_watch(
        &app,
        &mail,
        watch(witness, json!({"type": "concession", "code": "010461925"})),
    )
    .await;
    for title in ["Primero", "Segundo", "Tercero"] {
        app.create_event(event_with(
            json!({"title": title, "location": {"lat": CHANCAS.1, "lon": CHANCAS.0}}),
        ))
        .await;
    }
    // The immediate watch has had all three: the daily one waits for its hour.
    assert_eq!(app.deliver().await, sent(3));
    exactly(&mail, witness, 4);
    exactly(&mail, email, 1); // only the confirmation so far
    let pending = alerts_of(
        &app,
        &format!(
            "watch_id={}&kind=alert&status=pending",
            w["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(pending.len(), 3);

    // A day passes: the three were logged before the last digest time.
    {
        use diesel::prelude::*;
        use vigia::schema::alerts::dsl::*;
        let mut conn = app.db.get().unwrap();
        let rows: Vec<(String, chrono::NaiveDateTime)> = alerts
            .filter(frequency.eq("daily"))
            .select((id, next_attempt_at))
            .load(&mut conn)
            .unwrap();
        for (row, at) in rows {
            diesel::update(alerts.find(row))
                .set(next_attempt_at.eq(at - chrono::Duration::days(2)))
                .execute(&mut conn)
                .unwrap();
        }
    }
    // One mail carries the three rows.
    assert_eq!(app.deliver().await, sent(3));
    let digest = exactly(&mail, email, 2)[1].clone();
    assert_eq!(digest.subject, "[Vigía] 3 new incidents");
    for title in ["Primero", "Segundo", "Tercero"] {
        assert_eq!(digest.text.matches(title).count(), 1, "{}", digest.text);
    }
    assert!(digest.header("List-Unsubscribe").is_some());
    assert_eq!(app.deliver().await, Pass::default());
    exactly(&mail, email, 2); // one digest
    settled(&app, "").await;
    let sent = alerts_of(
        &app,
        &format!(
            "watch_id={}&kind=alert&status=sent",
            w["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(sent.len(), 3);
}

#[actix_web::test]
async fn bad_watches_are_422_naming_the_field() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    chancas_concession(&app).await;
    let cases = [
        (
            json!({"email": "no-es-correo", "target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "immediate", "language": "es"}),
            "email",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "concession", "code": "NOEXISTE"}, "frequency": "immediate", "language": "es"}),
            "target.code",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "concession", "concession_id": "6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b"}, "frequency": "immediate", "language": "es"}),
            "target.concession_id",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "concession"}, "frequency": "immediate", "language": "es"}),
            "target",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "holder", "actor_id": "6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b"}, "frequency": "immediate", "language": "es"}),
            "target.actor_id",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "area", "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,1],[2,2],[0,0]]]}}, "frequency": "immediate", "language": "es"}),
            "target.geometry",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "area", "geometry": {"type": "Point", "coordinates": [0,0]}}, "frequency": "immediate", "language": "es"}),
            "target.geometry",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "031"}, "frequency": "immediate", "language": "es"}),
            "target.ubigeo",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "AB"}, "frequency": "immediate", "language": "es"}),
            "target.ubigeo",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "planet"}, "frequency": "immediate", "language": "es"}),
            "target",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "hourly", "language": "es"}),
            "frequency",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "daily", "language": "qu"}),
            "language",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "daily", "language": "es", "event_types": ["picnic"]}),
            "event_types",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "daily", "language": "es", "min_verification": "disputed"}),
            "min_verification",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "03"}, "language": "es"}),
            "frequency",
        ),
        (
            json!({"target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "daily", "language": "es"}),
            "email",
        ),
        (
            json!({"email": "a@b.org", "target": {"type": "admin_area", "ubigeo": "03"}, "frequency": "daily", "language": "es", "status": "active"}),
            "status",
        ),
    ];
    for (body, field) in cases {
        let res = app
            .post("/api/v1/watches", &app.researcher, body.clone())
            .await;
        let fields = res.invalid_fields();
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{body}: expected {field}, got {fields:?}"
        );
    }
    let log = alerts_of(&app, "").await;
    assert!(log.is_empty(), "a refused watch queued mail: {log:#?}");
}

#[actix_web::test]
async fn watches_are_private_to_their_key_and_a_new_address_confirms_again() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let mine = create_watch(
        &app,
        watch(
            "mia@example.org",
            json!({"type": "admin_area", "ubigeo": "03"}),
        ),
    )
    .await;
    let id = mine["id"].as_str().unwrap();
    // The monitor key is another user: it cannot see or touch the watch.
    let path = format!("/api/v1/watches/{id}");
    app.get(&path, &app.monitor).await.problem(404);
    app.patch(&path, &app.monitor, json!({"language": "en"}), Some("*"))
        .await
        .problem(404);
    app.delete(&path, &app.monitor, Some("*"))
        .await
        .problem(404);
    let theirs = app.get("/api/v1/watches", &app.monitor).await;
    assert_eq!(theirs.body["items"], json!([]));
    assert!(!theirs.body.to_string().contains("mia@example.org"));
    app.get("/api/v1/alerts", &app.researcher)
        .await
        .problem(403);
    let all = app.get("/api/v1/watches", &app.admin).await;
    assert_eq!(all.body["items"][0]["id"], mine["id"]);

    confirm(&app, &mail, "mia@example.org", 1).await;
    // A patch of the wrong shape is refused before anything is read.
    for (patch, field) in [
        (json!({"colour": "red"}), "colour"),
        (json!({"frequency": "weekly"}), "frequency"),
        (json!({"target": null}), "target"),
        (json!({"email": "no-es-correo"}), "email"),
    ] {
        let fields = app
            .patch(&path, &app.researcher, patch.clone(), Some("*"))
            .await
            .invalid_fields();
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{patch}: {fields:?}"
        );
    }
    // A new address is a new confirmation: as if the resend interval had
    // passed since the last one.
    age_outbox(&app, 2);
    let current = app.get(&path, &app.researcher).await;
    let tag = current.header("etag").unwrap();
    let res = app
        .patch(&path, &app.researcher, json!({"email": "nueva@example.org", "target": {"type": "admin_area", "ubigeo": "0304"}}), Some(&tag))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], "pending");
    assert_eq!(
        res.body["target"],
        json!({"type": "admin_area", "ubigeo": "0304"})
    );
    app.patch(
        &path,
        &app.researcher,
        json!({"language": "en"}),
        Some(&tag),
    )
    .await
    .problem(412);
    confirm(&app, &mail, "nueva@example.org", 1).await;
    let res = app.get(&path, &app.researcher).await;
    assert_eq!(res.body["status"], "active");
    let res = app.delete(&path, &app.researcher, Some("*")).await;
    assert_eq!(res.status, 204);
    app.get(&path, &app.researcher).await.problem(404);
}

#[actix_web::test]
async fn vigia_deliver_once_sends_what_is_due_for_cron() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "cron@example.org";
    create_watch(
        &app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    let deliver = |port: u16| {
        crate::cli::vigia(&app.test_db)
            .env("VIGIA__SMTP__PORT", port.to_string())
            .env("VIGIA__SERVER__PUBLIC_BASE_URL", BASE)
            .args(["deliver", "--once"])
            .output()
            .unwrap()
    };
    // SMTP down: the command says so and the mail stays queued.
    let out = deliver(MailServer::down().port);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("could not be sent"), "{stderr}");
    let log = alerts_of(&app, "").await;
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], 1);
    // Once the retry is due, with SMTP up, it goes.
    retries_due(&app);
    let out = deliver(mail.port);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 sent"), "{stderr}");
    exactly(&mail, email, 1);
    confirm(&app, &mail, email, 1).await;
}

/// The real binary killed with `kill -9` after it acknowledged a watch and
/// before it could send the confirmation: the next server sends it, once.
#[actix_web::test]
async fn kill_9_between_commit_and_send_loses_no_mail() {
    let db = TestDb::new();
    let token = {
        let out = crate::cli::vigia(&db)
            .args(["keys", "create", "--role", "researcher", "--name", "kill9"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    // The mail server is down (its port refuses connections) until the
    // first server is gone.
    let smtp = MailServer::down();
    let smtp_port = smtp.port;
    let start = || {
        let mut cmd = crate::cli::vigia(&db);
        cmd.env("VIGIA__SMTP__PORT", smtp_port.to_string())
            .env("VIGIA__SERVER__PUBLIC_BASE_URL", BASE)
            .env("VIGIA__ALERTS__POLL_INTERVAL_MS", "50")
            .env("VIGIA__ALERTS__RETRY_INITIAL_SECONDS", "1")
            // The kill may land while the first server holds the mail's
            // lease (claimed, SMTP refused, not yet recorded): a short lease
            // lets the second server take it over within the test's wait.
            .env("VIGIA__SMTP__TIMEOUT_SECONDS", "1")
            .env("VIGIA__ALERTS__LEASE_SECONDS", "10");
        crate::cli::serve(cmd)
    };
    let mut first = start();
    let email = "kill9@example.org";
    let mut res = awc::Client::default()
        .post(format!("{}/api/v1/watches", first.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&watch(email, json!({"type": "admin_area", "ubigeo": "03"})))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "{:?}", res.body().await);
    first.signal("KILL");

    let mail = smtp.start();
    let second = start();
    let got = mail.wait_for(email, 1).await;
    assert_eq!(got[0].subject, "[Vigía] Confirme su alerta");
    // Recorded as sent: no server has it left to send.
    let pool = db.open();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        use diesel::prelude::*;
        use vigia::schema::alerts;
        let mut conn = pool.get().unwrap();
        let rows: Vec<(String, i32)> = alerts::table
            .select((alerts::status, alerts::attempts))
            .load(&mut conn)
            .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        if rows[0].0 == "sent" {
            break;
        }
        assert!(Instant::now() < deadline, "not recorded: {rows:?}");
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    exactly(&mail, email, 1);
    drop(second);
}

#[actix_web::test]
async fn a_holder_watch_covers_concessions_acquired_later_and_follows_a_merge() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let res = app
        .post(
            "/api/v1/actors",
            &app.admin,
            json!({"name": "Minera Informal Los Andes", "kind": "informal_group"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let duplicate = res.body["id"].as_str().unwrap().to_string();
    let email = "titular@example.org";
    let w = active_watch(
        &app,
        &mail,
        watch(email, json!({"type": "holder", "actor_id": duplicate})),
    )
    .await;
    // The watched actor turns out to be Southern under another name.
    let southern = chancas_concession(&app).await["holder"]["id"].clone();
    let res = app
        .post(
            &format!("/api/v1/actors/{duplicate}/merge"),
            &app.admin,
            json!({"into": southern}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let now = app
        .get(
            &format!("/api/v1/watches/{}", w["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(now.body["target"]["actor_id"], southern);
    app.create_event(los_chancas()).await;
    assert_eq!(app.deliver().await, sent(1));
    assert!(exactly(&mail, email, 2)[1].text.contains("010461925"));
    // A concession Southern acquires later is covered too.
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010999999", "name": "NUEVA ADQUISICION", "holder_id": southern,
                   "geometry": square(-72.0, -14.0, 0.02)}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    app.create_event(event_with(
        json!({"title": "En la nueva concesión", "location": {"lat": -14.0, "lon": -72.0}}),
    ))
    .await;
    assert_eq!(app.deliver().await, sent(1));
    let got = exactly(&mail, email, 3);
    assert!(got[2].text.contains("NUEVA ADQUISICION"), "{}", got[2].text);
}

/// Mail whose watch or incident went away before its turn is not sent: it
/// is recorded as cancelled, with why.
#[actix_web::test]
async fn mail_for_a_deleted_incident_or_watch_is_cancelled_not_sent() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let deliver = || {
        let out = crate::cli::vigia(&app.test_db)
            .env("VIGIA__SMTP__PORT", mail.port.to_string())
            .env("VIGIA__SERVER__PUBLIC_BASE_URL", BASE)
            .args(["deliver", "--once"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let email = "se-fue@example.org";
    let kept = create_watch(
        &app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    let dropped = create_watch(
        &app,
        watch(
            "borrada@example.org",
            json!({"type": "admin_area", "ubigeo": "03"}),
        ),
    )
    .await;
    // The second watch is deleted before its confirmation goes.
    let path = format!("/api/v1/watches/{}", dropped["id"].as_str().unwrap());
    assert_eq!(
        app.delete(&path, &app.researcher, Some("*")).await.status,
        204
    );
    deliver();
    confirm(&app, &mail, email, 1).await;
    assert!(mail.to("borrada@example.org").is_empty());

    let event = app
        .create_event(event_with(json!({"admin": {"ubigeo": "030410"}})))
        .await;
    let event_path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    assert_eq!(
        app.delete(&event_path, &app.monitor, Some("*"))
            .await
            .status,
        204
    );
    deliver();
    assert_eq!(mail.to(email).len(), 1, "only the confirmation");

    let log = alerts_of(&app, &format!("event_id={}", event["id"].as_str().unwrap())).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "cancelled");
    assert_eq!(log[0]["last_error"], "the incident was deleted");
    assert_eq!(log[0]["watch_id"], kept["id"]);
    let log = alerts_of(
        &app,
        &format!("watch_id={}", dropped["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(log[0]["status"], "cancelled");
    assert_eq!(log[0]["last_error"], "the watch was deleted");

    // The log's filters are checked.
    for bad in [
        "watch_id=42",
        "event_id=x",
        "status=lost",
        "kind=postcard",
        "limit=0",
    ] {
        app.get(&format!("/api/v1/alerts?{bad}"), &app.admin)
            .await
            .problem(400);
    }
}

#[actix_web::test]
async fn revoking_a_key_suspends_its_watches_and_cancels_their_mail() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let res = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "investigadora-que-se-va", "role": "researcher"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let token = res.body["token"].as_str().unwrap().to_string();
    let key_id = res.body["id"].as_str().unwrap().to_string();

    // One confirmed watch, one still waiting for its confirmation.
    let email = "se-va@example.org";
    let target = json!({"type": "admin_area", "ubigeo": "03"});
    let active = app
        .post("/api/v1/watches", &token, watch(email, target.clone()))
        .await;
    assert_eq!(active.status, 201, "{}", active.body);
    confirm(&app, &mail, email, 1).await;
    let waiting = app
        .post(
            "/api/v1/watches",
            &token,
            watch("todavia@example.org", target.clone()),
        )
        .await;
    assert_eq!(waiting.status, 201, "{}", waiting.body);
    // An incident queues an alert for the active watch, not yet sent.
    let event = app
        .create_event(event_with(json!({"admin": {"ubigeo": "030410"}})))
        .await;
    assert_eq!(outbox(&app).get("pending"), Some(&2), "{:?}", outbox(&app));

    let revoked = app
        .delete(&format!("/api/v1/keys/{key_id}"), &app.admin, None)
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);

    // Nothing more is sent: the pass sends nothing, the outbox says why.
    assert_eq!(app.deliver().await, sent(0));
    exactly(&mail, email, 1);
    exactly(&mail, "todavia@example.org", 0);
    let reason = "the API key that owns this watch was revoked";
    for w in [&active.body, &waiting.body] {
        let id = w["id"].as_str().unwrap();
        let got = app.get(&format!("/api/v1/watches/{id}"), &app.admin).await;
        assert_eq!(got.body["status"], "suspended", "{}", got.body);
        assert_eq!(got.body["status_reason"], reason);
        let log = alerts_of(&app, &format!("watch_id={id}&status=cancelled")).await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0]["last_error"], reason);
        // Each suspension is in the audit trail, under the revoking admin.
        let trail = app
            .get(
                &format!("/api/v1/audit?entity=watch&entity_id={id}"),
                &app.admin,
            )
            .await;
        assert!(
            trail.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["after"]["status"] == "suspended"),
            "{}",
            trail.body
        );
    }
    assert_eq!(
        alerts_of(&app, &format!("event_id={}", event["id"].as_str().unwrap())).await[0]["status"],
        "cancelled"
    );

    // Matching skips suspended watches: a new incident queues nothing.
    app.create_event(event_with(json!({"admin": {"ubigeo": "030411"}})))
        .await;
    assert!(!outbox(&app).contains_key("pending"), "{:?}", outbox(&app));

    // A new key for the same person does not restart them, nor does a new
    // address.
    app.post(
        "/api/v1/keys",
        &app.admin,
        json!({"name": "investigadora-que-vuelve", "role": "researcher"}),
    )
    .await;
    let id = active.body["id"].as_str().unwrap();
    let got = app.get(&format!("/api/v1/watches/{id}"), &app.admin).await;
    assert_eq!(got.body["status"], "suspended");
    let res = app
        .patch(
            &format!("/api/v1/watches/{id}"),
            &app.admin,
            json!({"email": "otra@example.org"}),
            Some("*"),
        )
        .await;
    res.problem(409);
    assert_eq!(app.deliver().await, sent(0));
}

/// A watch's Atom feed: its alerts, read back by an Atom parser, behind a
/// link that only its owner is shown and can replace.
#[actix_web::test]
async fn a_watch_has_an_atom_feed_behind_a_replaceable_link() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let watched = active_watch(
        &app,
        &mail,
        watch(
            "feed@example.org",
            json!({"type": "area", "geometry": square(CHANCAS.0, CHANCAS.1, 0.1)}),
        ),
    )
    .await;
    let id = watched["id"].as_str().unwrap();
    let fire = app
        .create_event(event_with(json!({
            "title": "Incendio en el campamento <Los Chancas> & \"mineros\"",
            "location": {"lat": CHANCAS.1, "lon": CHANCAS.0, "precision": "exact"}
        })))
        .await;
    let march = app
        .create_event(event_with(json!({
            "title": "Marcha en Tapayrihua",
            "location": {"lat": CHANCAS.1 + 0.01, "lon": CHANCAS.0, "precision": "near"}
        })))
        .await;
    app.create_event(event_with(json!({"title": "Lejos, en Arequipa"})))
        .await;

    let res = app
        .get(&format!("/api/v1/watches/{id}/feed"), &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let link = res.body["feed_url"].as_str().unwrap().to_string();
    assert!(link.starts_with(&format!("{BASE}/api/v1/watches/{id}/feed.atom?token=")));
    // Another key's watch is not yours to see.
    app.get(&format!("/api/v1/watches/{id}/feed"), &app.monitor)
        .await
        .problem(404);

    let read = |res: crate::helpers::Response| {
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(
            res.header("content-type").as_deref(),
            Some("application/atom+xml; charset=utf-8")
        );
        atom_syndication::Feed::read_from(&res.bytes[..]).expect("valid Atom")
    };
    let feed = read(open(&app, &link).await);
    assert_eq!(feed.id, format!("urn:uuid:{id}"));
    assert!(
        feed.title.value.starts_with("Vigía: "),
        "{}",
        feed.title.value
    );
    assert_eq!(feed.lang.as_deref(), Some("es"));
    let titles: std::collections::BTreeSet<String> =
        feed.entries.iter().map(|e| e.title.value.clone()).collect();
    assert_eq!(
        titles,
        [
            fire["title"].as_str().unwrap(),
            march["title"].as_str().unwrap()
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        "the two incidents in the area, the title's markup read back as text"
    );
    let fire_entry = feed
        .entries
        .iter()
        .find(|e| e.title.value.starts_with("Incendio"))
        .unwrap();
    assert_eq!(
        fire_entry.links[0].href,
        format!("{BASE}/incidents/{}", fire["id"].as_str().unwrap())
    );
    assert!(fire_entry.id.starts_with("urn:uuid:"));
    assert!(fire_entry.summary.as_ref().unwrap().value.contains("2023"));
    assert!(feed.links.iter().any(|l| l.rel == "self" && l.href == link));

    // A deleted incident leaves the feed.
    let res = app
        .delete(
            &format!("/api/v1/events/{}", march["id"].as_str().unwrap()),
            &app.monitor,
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(read(open(&app, &link).await).entries.len(), 1);

    // A forged or missing signature is not a feed.
    let path = path_of(&link);
    let forged = format!("{}x", &path[..path.len() - 1]);
    let res = app.send(Method::GET, &forged, None, &[], None).await;
    res.problem(404);
    for bad in ["feed.atom?token=", "feed.atom"] {
        let path = format!("/api/v1/watches/{id}/{bad}");
        let res = app.send(Method::GET, &path, None, &[], None).await;
        res.problem(400);
    }

    // A new link: the old one stops working.
    let res = app
        .post(
            &format!("/api/v1/watches/{id}/feed"),
            &app.researcher,
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let new_link = res.body["feed_url"].as_str().unwrap().to_string();
    assert_ne!(new_link, link);
    open(&app, &link).await.problem(404);
    assert_eq!(read(open(&app, &new_link).await).entries.len(), 1);

    // A deleted watch has no feed.
    let res = app
        .delete(&format!("/api/v1/watches/{id}"), &app.researcher, Some("*"))
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    open(&app, &new_link).await.problem(404);
}

/// The watches that alerted for `event` (one row each), sorted.
async fn alerted_watches(app: &TestApp, event: &Value) -> Vec<String> {
    let log = alerts_of(app, &format!("event_id={}", event["id"].as_str().unwrap())).await;
    let mut ids: Vec<String> = log
        .iter()
        .map(|a| a["watch_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn incident_at(app: &TestApp, lon: f64, lat: f64) -> Value {
    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            event_with(json!({"location": {"lon": lon, "lat": lat}})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

/// Area watches are matched from each process's in-memory index: a watch
/// confirmed, moved or deleted through one server must be seen by the
/// other's index, already built, the next time it logs an incident.
#[actix_web::test]
async fn area_watch_changes_made_through_another_server_are_honoured_at_once() {
    let mail = MailServer::start();
    let db = TestDb::new();
    let second_db = TestDb::reuse(&db);
    let one = app_on(db, mail.port).await;
    let two = app_on(second_db, mail.port).await;
    let (far_lon, far_lat) = (-77.0, -12.0);
    // One builds its index now, while there is no area watch.
    assert!(
        alerted_watches(&one, &incident_at(&one, CHANCAS.0, CHANCAS.1).await)
            .await
            .is_empty()
    );

    let w = active_watch(
        &two,
        &mail,
        watch(
            "zona@example.org",
            json!({"type": "area", "geometry": square(CHANCAS.0, CHANCAS.1, 0.1)}),
        ),
    )
    .await;
    let id = w["id"].as_str().unwrap().to_string();
    let inside = incident_at(&one, CHANCAS.0, CHANCAS.1).await;
    assert_eq!(
        alerted_watches(&one, &inside).await,
        std::slice::from_ref(&id)
    );

    // Moved elsewhere through two: one alerts at the new place only.
    let path = format!("/api/v1/watches/{id}");
    let res = two
        .patch(
            &path,
            &two.researcher,
            json!({"target": {"type": "area", "geometry": square(far_lon, far_lat, 0.1)}}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], "active");
    let old_place = incident_at(&one, CHANCAS.0, CHANCAS.1).await;
    assert!(alerted_watches(&one, &old_place).await.is_empty());
    let new_place = incident_at(&one, far_lon, far_lat).await;
    assert_eq!(
        alerted_watches(&one, &new_place).await,
        std::slice::from_ref(&id)
    );

    // Deleted through two: one alerts no more.
    assert_eq!(
        two.delete(&path, &two.researcher, Some("*")).await.status,
        204
    );
    let after = incident_at(&one, far_lon, far_lat).await;
    assert!(alerted_watches(&one, &after).await.is_empty());
}

#[actix_web::test]
async fn an_unsubscribed_area_watch_alerts_no_more() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "baja-zona@example.org";
    let w = active_watch(
        &app,
        &mail,
        watch(
            email,
            json!({"type": "area", "geometry": square(CHANCAS.0, CHANCAS.1, 0.1)}),
        ),
    )
    .await;
    let first = incident_at(&app, CHANCAS.0, CHANCAS.1).await;
    assert_eq!(
        alerted_watches(&app, &first).await,
        [w["id"].as_str().unwrap()]
    );
    assert_eq!(app.deliver().await, sent(1));
    let alert = exactly(&mail, email, 2)[1].clone();
    let header = alert.header("List-Unsubscribe").unwrap();
    let link = header.trim_start_matches('<').trim_end_matches('>');
    let res = app
        .send(Method::POST, &path_of(link), None, &[], None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let second = incident_at(&app, CHANCAS.0, CHANCAS.1).await;
    assert!(alerted_watches(&app, &second).await.is_empty());
}

#[actix_web::test]
async fn overlapping_area_watches_each_alert_once() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let mut expected = Vec::new();
    // Nested and shifted squares, all covering Los Chancas.
    for (i, (dlon, half)) in [(0.0, 0.05), (0.0, 0.1), (0.04, 0.08)]
        .into_iter()
        .enumerate()
    {
        let w = active_watch(
            &app,
            &mail,
            watch(
                &format!("solapa{i}@example.org"),
                json!({"type": "area", "geometry": square(CHANCAS.0 + dlon, CHANCAS.1, half)}),
            ),
        )
        .await;
        expected.push(w["id"].as_str().unwrap().to_string());
    }
    // Overlapping too, but its filters refuse the incident.
    let mut filtered = watch(
        "filtro@example.org",
        json!({"type": "area", "geometry": square(CHANCAS.0, CHANCAS.1, 0.2)}),
    );
    filtered["min_verification"] = json!("verified");
    active_watch(&app, &mail, filtered).await;
    expected.sort();

    let event = incident_at(&app, CHANCAS.0, CHANCAS.1).await;
    assert_eq!(alerted_watches(&app, &event).await, expected);
    // An edit of the incident does not alert again.
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"title": "Corregido"}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(alerted_watches(&app, &event).await, expected);
}
