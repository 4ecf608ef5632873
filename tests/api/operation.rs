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
        ("/api/v1/watches", "get"),
        ("/api/v1/watches", "post"),
        ("/api/v1/watches/{id}", "get"),
        ("/api/v1/watches/{id}", "patch"),
        ("/api/v1/watches/{id}", "delete"),
        ("/api/v1/watches/{id}/resend", "post"),
        ("/api/v1/watches/confirm", "get"),
        ("/api/v1/watches/unsubscribe", "get"),
        ("/api/v1/watches/unsubscribe", "post"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/cases", "get"),
        ("/api/v1/cases", "post"),
        ("/api/v1/cases/{id}", "get"),
        ("/api/v1/cases/{id}", "patch"),
        ("/api/v1/cases/{id}", "delete"),
        ("/api/v1/cases/{id}/restore", "post"),
        ("/api/v1/cases/{id}/entries", "post"),
        ("/api/v1/cases/{id}/events", "get"),
        ("/api/v1/cases/export.csv", "get"),
        ("/api/v1/report-entries/{id}", "get"),
        ("/api/v1/report-entries/{id}", "patch"),
        ("/api/v1/report-entries/{id}", "delete"),
        ("/api/v1/report-entries/export.csv", "get"),
        ("/api/v1/events/{id}/cases", "post"),
        ("/api/v1/events/{id}/cases/{case_id}", "delete"),
        ("/api/v1/events/{id}/case-suggestions", "get"),
        ("/api/v1/reconciliation", "get"),
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
        // Health checks and the pages mail links open need no key.
        let public = [
            "/healthz",
            "/readyz",
            "/api/v1/watches/confirm",
            "/api/v1/watches/unsubscribe",
        ];
        if !public.contains(&path) {
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

/// Two server processes on one database: two edits of one incident with
/// the same ETag, one through each, still give one 200 and one 412.
#[actix_web::test]
async fn two_servers_one_database_no_lost_update() {
    let app_a = spawn_app().await;
    let app_b = spawn_app_on(crate::helpers::TestDb::reuse(&app_a.test_db)).await;
    let event = app_a.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    let (a, b) = tokio::join!(
        app_a.patch(
            &path,
            &app_a.monitor,
            serde_json::json!({"injuries": 1}),
            Some("\"1\"")
        ),
        app_b.patch(
            &path,
            &app_b.monitor,
            serde_json::json!({"injuries": 2}),
            Some("\"1\"")
        ),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.body, b.body);
    let read = app_b.get(&path, &app_b.researcher).await;
    assert_eq!(read.body["version"], 2);
}

/// `kill -9` of the real server: every incident it acknowledged (201) is
/// there when it comes back.
#[actix_web::test]
async fn acknowledged_incidents_survive_kill_9() {
    use std::time::{Duration, Instant};

    let db = crate::helpers::TestDb::new();
    let token = {
        let out = crate::cli::vigia(&db)
            .args(["keys", "create", "--role", "monitor", "--name", "kill9"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    // Each server takes a free port itself and says which.
    let start = |db: &crate::helpers::TestDb| crate::cli::serve(crate::cli::vigia(db));
    let client = awc::Client::default();
    let mut server = start(&db);
    let base = server.base.clone();
    // Four clients log incidents while the server is killed under them.
    let mut writers = Vec::new();
    let acked = std::rc::Rc::new(std::cell::Cell::new(0usize));
    for w in 0..4 {
        let (client, base, token, acked) =
            (client.clone(), base.clone(), token.clone(), acked.clone());
        writers.push(actix_web::rt::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let body = crate::helpers::event_with(
                    serde_json::json!({"title": format!("antes del kill {w}-{i}")}),
                );
                let sent = client
                    .post(format!("{base}/api/v1/events"))
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .send_json(&body)
                    .await;
                let Ok(mut res) = sent else { break };
                if res.status().as_u16() != 201 {
                    break;
                }
                let Ok(body) = res.json::<Value>().await else {
                    break;
                };
                acknowledged.push(body["id"].as_str().unwrap().to_string());
                acked.set(acked.get() + 1);
            }
            acknowledged
        }));
    }
    // Kill once writes are flowing (or after 20 s, which then fails below).
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.get() < 40 && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal("KILL");
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(
        !acknowledged.is_empty(),
        "nothing was acknowledged before the kill"
    );

    let server = start(&db);
    for id in &acknowledged {
        let res = client
            .get(format!("{}/api/v1/events/{id}", server.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged incident {id} lost"
        );
    }
    drop(server);
}
