//! Webhooks per watch (issue 15): each alert POSTed once, signed as
//! Standard Webhooks specify, through the outbox's leases and retries; 410
//! removes the webhook; URLs checked; the secret shown once and only to the
//! watch's owner.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::alerts::{app_on, confirm, create_watch, watch, BASE};
use crate::helpers::{event_with, spawn_app_with, TestApp, TestDb};
use crate::mailbox::MailServer;

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// An HTTP receiver on 127.0.0.1 that records every request and answers
/// the statuses it is told, in order (then 200).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let answers: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let (g, a) = (got.clone(), answers.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (g, a) = (g.clone(), a.clone());
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = stream.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let path = lines
                        .next()
                        .unwrap_or_default()
                        .split(' ')
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    let headers: HashMap<String, String> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                        .collect();
                    let length: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        let n = stream.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    let status = a.lock().unwrap().pop_front().unwrap_or(200);
                    g.lock().unwrap().push(Received {
                        path,
                        headers,
                        body,
                    });
                    let answer = format!(
                        "HTTP/1.1 {status} Status\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nthanks!"
                    );
                    let _ = stream.write_all(answer.as_bytes());
                });
            }
        });
        Receiver { port, got, answers }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Whether a request carries a Standard Webhooks signature by `secret`
/// (`whsec_…`), checked as a receiver would.
fn signed_by(request: &Received, secret: &str) -> bool {
    let id = &request.headers["webhook-id"];
    let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 300);
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    assert!((24..=64).contains(&key.len()), "{} bytes", key.len());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", request.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    request.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

/// Checks a request's signature with `secret`; returns the parsed body.
#[track_caller]
fn verified(request: &Received, secret: &str) -> Value {
    assert!(
        signed_by(request, secret),
        "{:?} is not signed by this secret",
        request.headers.get("webhook-signature")
    );
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    serde_json::from_str(&request.body).unwrap()
}

/// The app delivering when the test says, with private webhook addresses
/// allowed (the receiver is on 127.0.0.1).
async fn app_private(port: u16) -> TestApp {
    spawn_app_with(TestDb::new(), |s| {
        s.smtp.port = port;
        s.server.public_base_url = BASE.into();
        s.alerts.deliver = false;
        s.alerts.webhook_allow_private = true;
    })
    .await
}

/// An active watch on the region of Apurímac (ubigeo 03).
async fn apurimac_watch(app: &TestApp, mail: &MailServer, email: &str) -> String {
    let created = create_watch(
        app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    confirm(app, mail, email, 1).await;
    created["id"].as_str().unwrap().to_string()
}

/// An incident in Apurímac, logged now.
async fn apurimac_incident(app: &TestApp, title: &str) -> Value {
    app.create_event(event_with(json!({
        "title": title,
        "admin": {"ubigeo": "030410", "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca"}
    })))
    .await
}

async fn set_webhook(app: &TestApp, id: &str, url: &str) -> String {
    let res = app
        .request(
            actix_web::http::Method::PUT,
            &format!("/api/v1/watches/{id}/webhook"),
            Some(&app.researcher),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.body["url"], url);
    res.body["secret"].as_str().unwrap().to_string()
}

/// Moves every webhook delivery waiting for a retry into the past.
fn webhook_retries_due(app: &TestApp) {
    use diesel::prelude::*;
    use vigia::schema::webhook_deliveries as d;
    let mut conn = app.db.get().unwrap();
    let n = diesel::update(d::table.filter(d::status.eq("pending")))
        .set(d::next_attempt_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(1)))
        .execute(&mut conn)
        .unwrap();
    assert!(n > 0, "no webhook delivery waits for a retry");
}

fn delivery_rows(app: &TestApp) -> Vec<(String, String, i32)> {
    use diesel::prelude::*;
    use vigia::schema::webhook_deliveries as d;
    let mut conn = app.db.get().unwrap();
    d::table
        .select((d::alert_id, d::status, d::attempts))
        .order(d::created_at)
        .load(&mut conn)
        .unwrap()
}

#[actix_web::test]
async fn each_alert_is_posted_once_signed_beside_its_mail() {
    let mail = MailServer::start();
    let receiver = Receiver::start();
    let app = app_private(mail.port).await;
    let id = apurimac_watch(&app, &mail, "hook@example.org").await;
    let secret = set_webhook(&app, &id, &receiver.url()).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    // Reading the webhook never shows the secret.
    let res = app
        .get(&format!("/api/v1/watches/{id}/webhook"), &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["url"], receiver.url());
    assert!(res.body["created_at"].is_string());
    assert!(res.body.get("secret").is_none(), "{}", res.body);
    assert!(!res.body.to_string().contains(&secret[6..]));

    let incident = apurimac_incident(&app, "Paro en Pocohuanca").await;
    let pass = app.deliver().await;
    assert_eq!(pass.sent, 1, "the mail: {pass:?}");
    assert_eq!(pass.webhooks.sent, 1, "{pass:?}");
    let got = receiver.got();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].path, "/hook");
    let body = verified(&got[0], &secret);
    assert_eq!(body["type"], "alert.created");
    assert_eq!(body["data"]["watch"]["id"], id.as_str());
    assert_eq!(body["data"]["incident"]["id"], incident["id"]);
    assert_eq!(body["data"]["incident"]["title"], "Paro en Pocohuanca");
    assert_eq!(
        body["data"]["incident"]["url"],
        format!("{BASE}/incidents/{}", incident["id"].as_str().unwrap())
    );
    assert_eq!(body["data"]["reason"]["kind"], "admin_area");
    // The message id is the alert's: retries and repeats carry it.
    assert_eq!(
        got[0].headers["webhook-id"],
        body["data"]["alert_id"].as_str().unwrap()
    );
    let alerts = app
        .get(&format!("/api/v1/alerts?watch_id={id}"), &app.admin)
        .await;
    let alert_ids: Vec<&str> = alerts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "alert")
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(alert_ids, vec![got[0].headers["webhook-id"].as_str()]);

    // Edits of the incident alert nobody again, on either channel.
    let path = format!("/api/v1/events/{}", incident["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"title": "Paro en Pocohuanca (2)"}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(app.deliver().await.handled(), 0);
    assert_eq!(receiver.got().len(), 1);

    // The last delivery's answer is on the webhook.
    let res = app
        .get(&format!("/api/v1/watches/{id}/webhook"), &app.researcher)
        .await;
    assert_eq!(res.body["last_status"], 200, "{}", res.body);
    assert!(res.body["last_at"].is_string());
}

#[actix_web::test]
async fn a_failing_receiver_is_retried_with_the_same_id_and_410_removes_the_webhook() {
    let mail = MailServer::start();
    let receiver = Receiver::start();
    let app = app_private(mail.port).await;
    let id = apurimac_watch(&app, &mail, "retry@example.org").await;
    let secret = set_webhook(&app, &id, &receiver.url()).await;

    receiver.answer(&[500]);
    apurimac_incident(&app, "Bloqueo en Chalhuanca").await;
    let pass = app.deliver().await;
    assert_eq!((pass.sent, pass.webhooks.retried), (1, 1), "{pass:?}");
    let rows = delivery_rows(&app);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("pending", 1));
    let res = app
        .get(&format!("/api/v1/watches/{id}/webhook"), &app.researcher)
        .await;
    assert_eq!(res.body["last_status"], 500, "{}", res.body);
    // Not due yet: nothing is posted.
    assert_eq!(app.deliver().await.handled(), 0);
    assert_eq!(receiver.got().len(), 1);

    webhook_retries_due(&app);
    let pass = app.deliver().await;
    // The webhook is retried; the mail, sent already, is not sent again.
    assert_eq!((pass.sent, pass.webhooks.sent), (0, 1), "{pass:?}");
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    assert_eq!(got[0].body, got[1].body, "the same payload each attempt");
    verified(&got[1], &secret);
    assert_eq!(
        mail.to("retry@example.org").len(),
        2,
        "confirmation and one alert"
    );

    // 410 Gone: the receiver unsubscribed; the webhook goes, audited.
    receiver.answer(&[410]);
    apurimac_incident(&app, "Marcha en Abancay").await;
    let pass = app.deliver().await;
    assert_eq!((pass.sent, pass.webhooks.gone), (1, 1), "{pass:?}");
    app.get(&format!("/api/v1/watches/{id}/webhook"), &app.researcher)
        .await
        .problem(404);
    let audit = app
        .get(
            &format!("/api/v1/audit?entity=watch&entity_id={id}"),
            &app.admin,
        )
        .await;
    assert!(
        audit.body.to_string().contains("410 Gone"),
        "{}",
        audit.body
    );
    apurimac_incident(&app, "Otra marcha en Abancay").await;
    let pass = app.deliver().await;
    assert_eq!((pass.sent, pass.webhooks.sent), (1, 0), "{pass:?}");
    assert_eq!(receiver.got().len(), 3);
}

#[actix_web::test]
async fn mail_failing_does_not_hold_back_or_repeat_the_webhook() {
    // No SMTP server on this port: every mail fails and is retried.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mail = MailServer::start();
    let receiver = Receiver::start();
    let app = app_private(mail.port).await;
    let id = apurimac_watch(&app, &mail, "smtp@example.org").await;
    let secret = set_webhook(&app, &id, &receiver.url()).await;
    let db = app.stop().await;
    let app = spawn_app_with(db, |s| {
        s.smtp.port = closed;
        s.server.public_base_url = BASE.into();
        s.alerts.deliver = false;
        s.alerts.webhook_allow_private = true;
    })
    .await;
    apurimac_incident(&app, "Toma de local en Tambobamba").await;
    let pass = app.deliver().await;
    assert_eq!((pass.retried, pass.webhooks.sent), (1, 1), "{pass:?}");
    verified(&receiver.got()[0], &secret);
    // The mail's retry does not post again.
    {
        use diesel::prelude::*;
        use vigia::schema::alerts;
        let mut conn = app.db.get().unwrap();
        diesel::update(alerts::table.filter(alerts::status.eq("pending")))
            .set(
                alerts::next_attempt_at
                    .eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(1)),
            )
            .execute(&mut conn)
            .unwrap();
    }
    let pass = app.deliver().await;
    assert_eq!((pass.retried, pass.webhooks.sent), (1, 0), "{pass:?}");
    assert_eq!(receiver.got().len(), 1);
}

#[actix_web::test]
async fn the_test_action_answers_what_the_receiver_said_and_queues_nothing() {
    let mail = MailServer::start();
    let receiver = Receiver::start();
    let app = app_private(mail.port).await;
    let id = apurimac_watch(&app, &mail, "test@example.org").await;
    let test = format!("/api/v1/watches/{id}/webhook/test");
    // No webhook yet: nothing to test.
    app.post(&test, &app.researcher, json!({}))
        .await
        .problem(404);
    let secret = set_webhook(&app, &id, &receiver.url()).await;

    receiver.answer(&[418]);
    let res = app.post(&test, &app.researcher, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], 418);
    assert_eq!(res.body["delivered"], false);
    assert_eq!(res.body["body"], "thanks!");
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let body = verified(&got[0], &secret);
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["watch"]["id"], id.as_str());
    assert!(
        delivery_rows(&app).is_empty(),
        "a test is not in the outbox"
    );

    // A new secret: the old one no longer verifies.
    let res = app
        .post(
            &format!("/api/v1/watches/{id}/webhook/rotate"),
            &app.researcher,
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let rotated = res.body["secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, secret);
    let res = app.post(&test, &app.researcher, json!({})).await;
    assert_eq!(
        (res.body["status"].clone(), res.body["delivered"].clone()),
        (json!(200), json!(true))
    );
    let got = receiver.got();
    verified(&got[1], &rotated);
    assert!(
        !signed_by(&got[1], &secret),
        "the old secret still verifies"
    );

    // A receiver that is not there: the error in words, no 500.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let res = app
        .request(
            actix_web::http::Method::PUT,
            &format!("/api/v1/watches/{id}/webhook"),
            Some(&app.researcher),
            Some(json!({"url": format!("http://127.0.0.1:{closed}/gone")})),
        )
        .await;
    assert_eq!(res.status, 200, "replaced: {}", res.body);
    assert_ne!(res.body["secret"].as_str().unwrap(), rotated);
    let res = app.post(&test, &app.researcher, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body["status"].is_null());
    assert!(
        res.body["error"].as_str().unwrap().len() > 5,
        "{}",
        res.body
    );

    // Removing it: 204, then 404.
    let path = format!("/api/v1/watches/{id}/webhook");
    assert_eq!(app.delete(&path, &app.researcher, None).await.status, 204);
    app.get(&path, &app.researcher).await.problem(404);
    app.delete(&path, &app.researcher, None).await.problem(404);
}

#[actix_web::test]
async fn webhook_urls_are_checked_and_webhooks_are_their_owners_only() {
    let mail = MailServer::start();
    // As in production: only https to public addresses.
    let app = app_on(TestDb::new(), mail.port).await;
    let created = create_watch(
        &app,
        watch(
            "owner@example.org",
            json!({"type": "admin_area", "ubigeo": "03"}),
        ),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/watches/{id}/webhook");
    let put = |url: Value| {
        let app = &app;
        let path = path.clone();
        async move {
            app.request(
                actix_web::http::Method::PUT,
                &path,
                Some(&app.researcher),
                Some(json!({ "url": url })),
            )
            .await
        }
    };
    for bad in [
        json!("http://example.org/hook"),
        json!("https://127.0.0.1/hook"),
        json!("https://localhost/hook"),
        json!("https://10.0.0.7/hook"),
        json!("https://169.254.169.254/latest/meta-data"),
        json!("https://[::1]/hook"),
        json!("https://[fd12::1]/hook"),
        json!("https://ana:clave@example.org/hook"),
        json!("https://example.org/ho\u{0}ok"),
        json!("https://example.org/hook\n"),
        json!(format!("https://example.org/{}", "a".repeat(2000))),
        json!("not a url"),
        json!(""),
        json!("javascript:alert(1)"),
    ] {
        let res = put(bad.clone()).await;
        assert_eq!(res.invalid_fields(), vec!["url"], "{bad}: {}", res.body);
    }
    let res = put(json!(42)).await;
    assert!(res.status == 400 || res.status == 422, "{}", res.body);
    let res = app
        .request(
            actix_web::http::Method::PUT,
            &path,
            Some(&app.researcher),
            Some(json!({"url": "https://93.184.215.14/hook", "secret": "mine"})),
        )
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.body);
    app.get(&path, &app.researcher).await.problem(404);

    // A public address is accepted; the secret is answered this once.
    let res = put(json!("https://93.184.215.14/hook")).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let secret = res.body["secret"].as_str().unwrap().to_string();
    let raw = &secret["whsec_".len()..];

    // Another key's watch is not yours: 404 on every route.
    app.get(&path, &app.monitor).await.problem(404);
    let res = app
        .request(
            actix_web::http::Method::PUT,
            &path,
            Some(&app.monitor),
            Some(json!({"url": "https://93.184.215.15/hook"})),
        )
        .await;
    res.problem(404);
    for action in ["rotate", "test"] {
        app.post(&format!("{path}/{action}"), &app.monitor, json!({}))
            .await
            .problem(404);
    }
    app.delete(&path, &app.monitor, None).await.problem(404);
    let res = app.get(&path, &app.researcher).await;
    assert_eq!(res.body["url"], "https://93.184.215.14/hook");

    // The audit trail has the change, never the secret.
    let audit = app
        .get(
            &format!("/api/v1/audit?entity=watch&entity_id={id}"),
            &app.admin,
        )
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let text = audit.body.to_string();
    assert!(text.contains("93.184.215.14"), "{text}");
    assert!(
        !text.contains(raw),
        "the secret is in the audit trail: {text}"
    );
    // Nor is it in the watch's answers.
    let res = app
        .get(&format!("/api/v1/watches/{id}"), &app.researcher)
        .await;
    assert!(!res.body.to_string().contains(raw));
}
