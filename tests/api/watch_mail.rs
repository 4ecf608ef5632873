//! Confirmation mail against a hostile or careless user (issue 10): one
//! watch and one mail for a request repeated at once, hourly limits per
//! address and per key that hold under concurrency, the resend interval on
//! address changes, confirmation by the page's button only (not by opening
//! the link), one spelling per token, and a mail the server refused that
//! holds nothing back.

use actix_web::http::Method;
use futures_util::future::join_all;
use serde_json::{json, Value};
use vigia::alerts::delivery::Pass;

use crate::alerts::{
    age_outbox, app_on, confirm, create_watch, exactly, open, press_button, sent, watch, BASE,
};
use crate::helpers::{spawn_app_with, Response, TestApp, TestDb};
use crate::mailbox::MailServer;

/// The app with the test's own hourly limits, delivery driven by the test.
async fn app_limited(port: u16, per_address: u32, per_key: u32) -> TestApp {
    spawn_app_with(TestDb::new(), |s| {
        s.smtp.port = port;
        s.server.public_base_url = BASE.into();
        s.alerts.deliver = false;
        s.alerts.confirmations_per_address_per_hour = per_address;
        s.alerts.confirmations_per_key_per_hour = per_key;
    })
    .await
}

fn ubigeo_watch(email: &str, ubigeo: &str) -> Value {
    watch(email, json!({"type": "admin_area", "ubigeo": ubigeo}))
}

/// Posts every body at once, as the researcher.
async fn post_all(app: &TestApp, bodies: Vec<Value>) -> Vec<Response> {
    join_all(
        bodies
            .into_iter()
            .map(|b| app.post("/api/v1/watches", &app.researcher, b)),
    )
    .await
}

fn statuses(answers: &[Response]) -> Vec<u16> {
    answers.iter().map(|r| r.status).collect()
}

/// A 429 with the seconds to wait, at most `most`.
#[track_caller]
fn wait_of(res: &Response, most: u64) -> u64 {
    res.problem(429);
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=most).contains(&wait), "Retry-After {wait}");
    wait
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/watches/{id}"), &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

#[actix_web::test]
async fn thirty_identical_watches_at_once_are_one_watch_and_one_mail() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "inundada@example.org";
    let body = ubigeo_watch(email, "03");
    let answers = post_all(&app, vec![body.clone(); 30]).await;
    let created: Vec<&Response> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "{:?}", statuses(&answers));
    let id = created[0].body["id"].as_str().unwrap().to_string();
    for refused in answers.iter().filter(|r| r.status != 201) {
        let detail = refused.problem(409)["detail"].as_str().unwrap();
        assert!(detail.contains(&id), "{detail}");
    }
    assert_eq!(app.deliver().await, sent(1));
    exactly(&mail, email, 1);

    // Confirmed, it is still the one: the same again is refused, naming it,
    // whatever the case of the address.
    confirm(&app, &mail, email, 1).await;
    for again in [body.clone(), ubigeo_watch("Inundada@Example.ORG", "03")] {
        let res = app.post("/api/v1/watches", &app.researcher, again).await;
        assert!(res.problem(409)["detail"].as_str().unwrap().contains(&id));
    }
    // A watch that differs (a daily digest) is a watch of its own.
    let mut daily = body;
    daily["frequency"] = json!("daily");
    create_watch(&app, daily).await;
    assert_eq!(app.deliver().await, sent(1));
    exactly(&mail, email, 2);
}

#[actix_web::test]
async fn confirmation_mail_to_one_address_is_limited_per_hour_even_at_once() {
    let mail = MailServer::start();
    let app = app_limited(mail.port, 3, 1000).await;
    let email = "buzon@example.org";
    let bodies = (1..=10)
        .map(|i| ubigeo_watch(email, &format!("{i:02}")))
        .collect();
    let answers = post_all(&app, bodies).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 3, "{:?}", statuses(&answers));
    for refused in answers.iter().filter(|r| r.status != 201) {
        wait_of(refused, 3600);
        assert!(refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("this address"));
    }
    assert_eq!(app.deliver().await, sent(3));
    exactly(&mail, email, 3);
    // Other addresses are not held back by it.
    create_watch(&app, ubigeo_watch("otra@example.org", "01")).await;
    // An hour later the address may be mailed again.
    let res = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            ubigeo_watch(email, "11"),
        )
        .await;
    wait_of(&res, 3600);
    age_outbox(&app, 61);
    create_watch(&app, ubigeo_watch(email, "11")).await;
    assert_eq!(app.deliver().await, sent(2));
    exactly(&mail, email, 4);
}

#[actix_web::test]
async fn the_watches_of_one_key_are_limited_per_hour_even_at_once() {
    let mail = MailServer::start();
    let app = app_limited(mail.port, 1000, 4).await;
    let bodies = (1..=7)
        .map(|i| ubigeo_watch(&format!("persona{i}@example.org"), "03"))
        .collect();
    let answers = post_all(&app, bodies).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 4, "{:?}", statuses(&answers));
    for refused in answers.iter().filter(|r| r.status != 201) {
        wait_of(refused, 3600);
        assert!(refused.body["detail"].as_str().unwrap().contains("key"));
    }
    // Another key has a count of its own.
    let res = app
        .post(
            "/api/v1/watches",
            &app.admin,
            ubigeo_watch("persona9@example.org", "03"),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(app.deliver().await, sent(5));
    assert_eq!(mail.all().len(), 5);
}

#[actix_web::test]
async fn a_new_address_waits_the_resend_interval_and_counts_against_the_limits() {
    let mail = MailServer::start();
    let app = app_limited(mail.port, 2, 1000).await;
    let w = create_watch(&app, ubigeo_watch("primera@example.org", "03")).await;
    let id = w["id"].as_str().unwrap();
    let path = format!("/api/v1/watches/{id}");
    let to = |email: &str| json!({ "email": email });

    // At once: a confirmation has just gone to the first address.
    let res = app
        .patch(&path, &app.researcher, to("segunda@example.org"), Some("*"))
        .await;
    wait_of(&res, 60);
    let now = status_of(&app, id).await;
    assert_eq!(now["email"], "primera@example.org");
    assert_eq!(now["version"], 1);
    // Changes that send nothing are not held back.
    let res = app
        .patch(&path, &app.researcher, json!({"language": "en"}), Some("*"))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    // A couple of minutes later it may change, once.
    age_outbox(&app, 2);
    let res = app
        .patch(&path, &app.researcher, to("segunda@example.org"), Some("*"))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .patch(&path, &app.researcher, to("tercera@example.org"), Some("*"))
        .await;
    wait_of(&res, 60);

    // An address that has had its share this hour is refused.
    age_outbox(&app, 2);
    create_watch(&app, ubigeo_watch("cuarta@example.org", "01")).await;
    create_watch(&app, ubigeo_watch("cuarta@example.org", "02")).await;
    let res = app
        .patch(&path, &app.researcher, to("cuarta@example.org"), Some("*"))
        .await;
    wait_of(&res, 3600);
    assert_eq!(status_of(&app, id).await["email"], "segunda@example.org");

    // Of the first address's confirmation, only the latest link goes out.
    app.deliver().await;
    exactly(&mail, "primera@example.org", 0);
    exactly(&mail, "segunda@example.org", 1);
    exactly(&mail, "cuarta@example.org", 2);
    exactly(&mail, "tercera@example.org", 0);
}

#[actix_web::test]
async fn opening_a_confirmation_link_confirms_nothing_until_its_button_is_pressed() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "escaneada@example.org";
    let w = create_watch(&app, ubigeo_watch(email, "03")).await;
    let id = w["id"].as_str().unwrap();
    assert_eq!(app.deliver().await, sent(1));
    let link = exactly(&mail, email, 1)[0].link(&format!("{BASE}/api/v1/watches/confirm?token="));

    // A mail scanner fetches the link, maybe twice: nothing happens.
    for _ in 0..2 {
        let page = open(&app, &link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let html = page.body.as_str().unwrap();
        assert!(
            html.contains("method=\"post\"") && html.contains("Confirmar"),
            "{html}"
        );
    }
    assert_eq!(status_of(&app, id).await["status"], "pending");

    // The button confirms.
    let res = press_button(&app, &link).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.as_str().unwrap().contains("Alerta confirmada"));
    assert_eq!(status_of(&app, id).await["status"], "active");
    // The link now says so, with no button; posting again changes nothing.
    let page = open(&app, &link).await;
    let html = page.body.as_str().unwrap();
    assert!(
        html.contains("ya está activa") && !html.contains("<form"),
        "{html}"
    );
    let token = link.split("token=").nth(1).unwrap();
    let again = app
        .send(
            Method::POST,
            &format!("/api/v1/watches/confirm?token={token}"),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(status_of(&app, id).await["version"], 2);
}

#[actix_web::test]
async fn a_confirmation_token_has_one_spelling() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "deletreo@example.org";
    let w = create_watch(&app, ubigeo_watch(email, "03")).await;
    let id = w["id"].as_str().unwrap();
    assert_eq!(app.deliver().await, sent(1));
    let link = exactly(&mail, email, 1)[0].link(&format!("{BASE}/api/v1/watches/confirm?token="));
    let token = link.split("token=").nth(1).unwrap();
    let mut parts = token.split('.');
    let (watch_id, expires, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert_eq!(watch_id, id);
    for variant in [
        format!("{id}.0{expires}.{sig}"),
        format!("{id}.00{expires}.{sig}"),
        // `+`, escaped so that the query string keeps it a plus.
        format!("{id}.%2B{expires}.{sig}"),
        format!("{}.{expires}.{sig}", id.to_uppercase()),
    ] {
        let path = format!("/api/v1/watches/confirm?token={variant}");
        for method in [Method::GET, Method::POST] {
            app.send(method, &path, None, &[], None).await.problem(400);
        }
    }
    assert_eq!(status_of(&app, id).await["status"], "pending");
    let res = press_button(&app, &link).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(status_of(&app, id).await["status"], "active");
}

#[actix_web::test]
async fn a_confirmation_the_mail_server_refused_holds_nothing_back() {
    let mail = MailServer::start();
    let app = app_limited(mail.port, 1, 1000).await;
    let email = "rechazada@example.org";
    mail.refuse_all(true);
    let w = create_watch(&app, ubigeo_watch(email, "03")).await;
    let id = w["id"].as_str().unwrap();
    assert_eq!(
        app.deliver().await,
        Pass {
            failed: 1,
            ..Pass::default()
        }
    );
    mail.refuse_all(false);
    // Nothing reached anybody: asking again is fine at once, and within
    // the address's limit of one an hour.
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
    confirm(&app, &mail, email, 1).await;
    // That one was sent: it counts.
    let res = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            ubigeo_watch(email, "04"),
        )
        .await;
    wait_of(&res, 3600);
}
