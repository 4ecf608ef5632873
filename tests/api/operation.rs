use actix_web::http::Method;
use serde_json::Value;

use crate::helpers::{los_chancas, spawn_app, spawn_app_on};

#[actix_web::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let admin = app.admin.clone();
    let test_db = app.stop().await;

    let app = spawn_app_on(test_db).await;
    let read = app
        .get(
            &format!("/api/v1/events/{}", event["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body, event);
}

#[actix_web::test]
async fn health_readiness_and_request_ids() {
    let app = spawn_app().await;
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.body["status"], "ok");
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.body["status"], "ready");
    let a = ready.header("x-request-id").expect("request id");
    let b = health.header("x-request-id").expect("request id");
    assert_ne!(a, b);
}

#[actix_web::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = spawn_app().await;
    app.get("/api/v1/nothing-here", &app.admin)
        .await
        .problem(404);
    app.request(
        Method::PUT,
        "/api/v1/events",
        Some(&app.admin),
        Some(los_chancas()),
    )
    .await
    .problem(405);
}

/// The document is the contract: every route the app serves is in it, with
/// its error answers and the bearer scheme.
#[actix_web::test]
async fn openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(res.status, 200);
    let doc = res.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let expected = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/v1/events", "get"),
        ("/api/v1/events", "post"),
        ("/api/v1/events/{id}", "get"),
        ("/api/v1/events/{id}", "patch"),
        ("/api/v1/events/{id}", "delete"),
        ("/api/v1/events/{id}/restore", "post"),
        ("/api/v1/events/{id}/history", "get"),
        ("/api/v1/audit", "get"),
        ("/api/v1/keys", "get"),
        ("/api/v1/keys", "post"),
        ("/api/v1/keys/{id}", "delete"),
        ("/api/v1/actors", "get"),
        ("/api/v1/actors", "post"),
        ("/api/v1/actors/{id}", "get"),
        ("/api/v1/actors/{id}", "patch"),
        ("/api/v1/actors/{id}", "delete"),
        ("/api/v1/actors/{id}/merge", "post"),
        ("/api/v1/actors/{id}/events", "get"),
        ("/api/v1/events/{id}/actors", "post"),
        ("/api/v1/events/{id}/actors/{actor_id}", "delete"),
        ("/api/v1/concessions", "get"),
        ("/api/v1/concessions", "post"),
        ("/api/v1/concessions/at", "get"),
        ("/api/v1/concessions/changes", "get"),
        ("/api/v1/concessions/{id}", "get"),
        ("/api/v1/concessions/{id}", "patch"),
        ("/api/v1/concessions/{id}", "delete"),
        ("/api/v1/concessions/{id}/events", "get"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let mut served = 0;
    for (path, operations) in paths {
        served += operations
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
            .count();
        let _ = path;
    }
    assert_eq!(
        served,
        expected.len(),
        "the document has operations the test does not know"
    );
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        let responses = op["responses"].as_object().unwrap();
        if !path.starts_with("/healthz") && !path.starts_with("/readyz") {
            let problem = &responses["401"]["content"]["application/problem+json"];
            assert!(
                problem.is_object(),
                "{method} {path} does not document 401 as problem+json"
            );
        }
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path} has no success answer"
        );
    }
    let list = &doc["paths"]["/api/v1/events"]["get"]["parameters"];
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "from",
        "to",
        "event_type",
        "verification",
        "region",
        "province",
        "district",
        "ubigeo",
        "bbox",
        "q",
        "cursor",
        "limit",
    ] {
        assert!(names.contains(&name), "list parameter {name} undocumented");
    }
    let event = &doc["components"]["schemas"]["EventInput"];
    let required: Vec<&str> = event["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in ["title", "event_type", "occurred_on", "location"] {
        assert!(
            required.contains(&name),
            "{name} should be required in EventInput"
        );
    }
    assert!(matches!(
        doc["components"]["schemas"]["Problem"],
        Value::Object(_)
    ));
}
