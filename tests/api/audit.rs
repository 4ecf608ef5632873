use serde_json::json;

use crate::helpers::{los_chancas, spawn_app};

#[actix_web::test]
async fn every_change_is_audited_with_who_and_what() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let id = event["id"].as_str().unwrap();
    let path = format!("/api/v1/events/{id}");
    app.patch(&path, &app.admin, json!({"injuries": 2}), Some("*"))
        .await;
    app.delete(&path, &app.monitor, Some("*")).await;

    let res = app
        .get(
            &format!("/api/v1/audit?entity=event&entity_id={id}"),
            &app.admin,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let items = res.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"], "newest first");
    assert!(items[0]["key_name"]
        .as_str()
        .unwrap()
        .starts_with("monitor-"));
    assert!(items[1]["key_name"].as_str().unwrap().starts_with("admin-"));
    assert!(items[0]["key_id"].is_string());
    assert_eq!(items[1]["before"]["injuries"], 0);
    assert_eq!(items[1]["after"]["injuries"], 2);
    assert_eq!(items[0]["after"], serde_json::Value::Null);

    // Filter by key and by time.
    let admin_key = items[1]["key_id"].as_str().unwrap();
    let by_key = app
        .get(
            &format!("/api/v1/audit?entity=event&key_id={admin_key}"),
            &app.admin,
        )
        .await;
    assert_eq!(by_key.body["items"].as_array().unwrap().len(), 1);
    let at = items[1]["at"].as_str().unwrap();
    let window = app
        .get(
            &format!(
                "/api/v1/audit?entity=event&from={}&to={}",
                urlencode(at),
                urlencode(at)
            ),
            &app.admin,
        )
        .await;
    assert_eq!(window.status, 200, "{}", window.body);
    assert_eq!(window.body["items"][0]["action"], "update");
    let future = app
        .get("/api/v1/audit?from=2999-01-01T00:00:00Z", &app.admin)
        .await;
    assert_eq!(future.body["items"], json!([]));

    // Key creation is audited too (the test keys were made from the CLI side).
    let keys = app.get("/api/v1/audit?entity=api_key", &app.admin).await;
    assert_eq!(keys.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(keys.body["items"][0]["key_name"], "cli");
}

#[actix_web::test]
async fn the_trail_pages_with_a_cursor_and_refuses_bad_filters() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.create_event(los_chancas()).await;
    }
    let first = app
        .get("/api/v1/audit?entity=event&limit=2", &app.admin)
        .await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/audit?entity=event&limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["next_cursor"], serde_json::Value::Null);
    assert!(second.body["items"][0]["id"].as_i64() < first.body["items"][1]["id"].as_i64());

    for query in [
        "?from=yesterday",
        "?limit=500",
        "?cursor=%%%",
        "?entity_type=event",
    ] {
        app.get(&format!("/api/v1/audit{query}"), &app.admin)
            .await
            .problem(400);
    }
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}
