//! Exactly-once creates with `Idempotency-Key`: replays, another body,
//! concurrent requests in one process and in two, failures that save nothing.

use actix_web::http::Method;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{event_with, los_chancas, spawn_app, spawn_app_on, Response, TestApp, TestDb};

async fn create(app: &TestApp, token: &str, key: &str, body: &Value) -> Response {
    app.send(
        Method::POST,
        "/api/v1/events",
        Some(token),
        &[("Idempotency-Key", key)],
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

fn incidents(app: &TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    vigia::schema::events::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

#[actix_web::test]
async fn the_same_key_and_body_again_is_the_first_answer_again() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let first = create(&app, &app.monitor, &key, &los_chancas()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.header("idempotent-replayed").is_none());
    // The same body written otherwise (spacing, key order) is the same request.
    let mut reordered = serde_json::Map::new();
    let original = los_chancas();
    for (k, v) in original.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let again = create(&app, &app.monitor, &key, &Value::Object(reordered)).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(incidents(&app), 1);

    // Another body with the key: refused, naming the header.
    let other = create(
        &app,
        &app.monitor,
        &key,
        &event_with(json!({"title": "Otro"})),
    )
    .await;
    other.problem(422);
    assert_eq!(other.invalid_fields(), vec!["Idempotency-Key".to_string()]);
    assert_eq!(incidents(&app), 1);

    // Keys are the caller's own: another key holder's same key is theirs.
    let admins = create(&app, &app.admin, &key, &los_chancas()).await;
    assert_eq!(admins.status, 201);
    assert!(admins.header("idempotent-replayed").is_none());
    assert_eq!(incidents(&app), 2);

    // Not a key: 400, nothing written.
    let long = "k".repeat(256);
    create(&app, &app.monitor, &long, &los_chancas())
        .await
        .problem(400);
    assert_eq!(incidents(&app), 2);
}

#[actix_web::test]
async fn a_refused_request_keeps_nothing_and_the_key_works_again() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let bad = create(&app, &app.monitor, &key, &event_with(json!({"title": ""}))).await;
    bad.problem(422);
    let researcher = create(&app, &app.researcher, &key, &los_chancas()).await;
    researcher.problem(403);
    let good = create(&app, &app.monitor, &key, &los_chancas()).await;
    assert_eq!(good.status, 201, "{}", good.body);
    assert!(good.header("idempotent-replayed").is_none());
    assert_eq!(incidents(&app), 1);
}

#[actix_web::test]
async fn ten_at_once_in_one_process_and_in_two_are_one_incident() {
    let app_a = spawn_app().await;
    let app_b = spawn_app_on(TestDb::reuse(&app_a.test_db)).await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = los_chancas();
    let sends = (0..10).map(|i| {
        let app = if i % 2 == 0 { &app_a } else { &app_b };
        create(app, &app_a.monitor, &key, &body)
    });
    let answers = futures_util::future::join_all(sends).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.body);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.header("idempotent-replayed").is_none())
            .count(),
        1
    );
    assert_eq!(incidents(&app_a), 1);
}

#[actix_web::test]
async fn actors_are_created_once_too() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"name": "Comunidad Campesina de Tapairihua", "kind": "community"});
    let headers = [("Idempotency-Key", key.as_str())];
    let send = || {
        app.send(
            Method::POST,
            "/api/v1/actors",
            Some(&app.monitor),
            &headers,
            Some(("application/json", body.to_string().into_bytes())),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
}

#[actix_web::test]
async fn a_client_id_in_the_body_is_a_key_too() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    let body = event_with(json!({"client_id": id}));
    let first = app.post("/api/v1/events", &app.monitor, body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(
        first.body.get("client_id").is_none(),
        "not kept on the incident"
    );
    let again = app.post("/api/v1/events", &app.monitor, body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    // The same text as a header is the same key.
    let header = create(&app, &app.monitor, &id, &body).await;
    assert_eq!(header.body["id"], first.body["id"]);
    // Another incident under the same client id: refused.
    let other = event_with(json!({"client_id": id, "title": "Otro"}));
    app.post("/api/v1/events", &app.monitor, other)
        .await
        .problem(422);
    // Not a UUID: the field is refused.
    let bad = event_with(json!({"client_id": "no-es-uuid"}));
    app.post("/api/v1/events", &app.monitor, bad)
        .await
        .problem(422);
    assert_eq!(incidents(&app), 1);
}
