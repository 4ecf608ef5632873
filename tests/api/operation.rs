use std::collections::BTreeSet;

use actix_web::http::Method;
use serde_json::Value;
use vigia::routing::UNDOCUMENTED;
use vigia::startup::{api_routes, doc_routes, NO_SUCH_ROUTE};

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

/// The documented operations, as `(method, path)` with the method in
/// upper case.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().unwrap();
            methods
                .iter()
                .filter(|m| item.contains_key(**m))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// The document and the router agree. Every `(method, path)` registered (by
/// `startup::api_routes`, the registration the app is built from) is
/// documented, unless it is one of `routing::UNDOCUMENTED`; and every
/// documented operation is really served: a request to it reaches a
/// handler, not the app's "no such route" 404 nor a 405, and the path's
/// other methods are 405 with exactly the documented methods in `Allow`.
#[actix_web::test]
async fn the_document_is_what_the_router_serves() {
    let app = spawn_app().await;
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let documented = documented(&doc);
    let undocumented: BTreeSet<(String, String)> = UNDOCUMENTED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let registered: Vec<(String, String)> = api_routes()
        .served()
        .into_iter()
        .chain(doc_routes(Value::Null).served())
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    assert!(documented.len() > 50, "{documented:?}");
    for route in &registered {
        assert!(
            documented.contains(route) || undocumented.contains(route),
            "{route:?} is served but neither documented nor in routing::UNDOCUMENTED"
        );
    }
    for route in documented.iter().chain(&undocumented) {
        assert!(
            registered.contains(route),
            "{route:?} is documented or listed but not registered"
        );
    }
    assert!(documented.is_disjoint(&undocumented));

    // What the running app answers, path parameters filled with an id that
    // names nothing: any answer but "no such route" or 405 is a handler's.
    let fill = |path: &str| {
        let mut out = String::new();
        let mut rest = path;
        while let Some(start) = rest.find('{') {
            let end = rest[start..].find('}').unwrap() + start;
            out.push_str(&rest[..start]);
            out.push_str("6f1c2a4e-0000-4000-8000-000000000000");
            rest = &rest[end + 1..];
        }
        out + rest
    };
    for (method, path) in documented.iter().chain(&undocumented) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let res = app
            .send(method.clone(), &fill(path), Some(&app.admin), &[], None)
            .await;
        assert!(
            res.status != 405 && !(res.status == 404 && res.body["type"] == NO_SUCH_ROUTE),
            "{method} {path} is documented but not served: {} {}",
            res.status,
            res.body
        );
    }
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let mut allowed: Vec<String> = documented
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(m, _)| m.clone())
            .collect();
        // A method the path does not serve (PUT, unless it does: a
        // webhook is set with PUT).
        let probe = ["PUT", "PATCH", "DELETE", "POST", "GET"]
            .into_iter()
            .find(|m| !allowed.iter().any(|a| a == m))
            .unwrap();
        let res = app
            .send(
                Method::from_bytes(probe.as_bytes()).unwrap(),
                &fill(path),
                Some(&app.admin),
                &[],
                None,
            )
            .await;
        res.problem(405);
        let mut allow: Vec<String> = res
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        allow.sort();
        allowed.sort();
        assert_eq!(allow, allowed, "methods served at {path}");
    }

    // The marker is what a request no route matches gets.
    let res = app.get("/api/v1/no-such-thing", &app.admin).await;
    assert_eq!(res.problem(404)["type"], NO_SUCH_ROUTE);
}

/// The document is the contract: every operation has its error answers and
/// the bearer scheme.
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
    for (method, path) in documented(&doc) {
        let method = method.to_lowercase();
        let op = &doc["paths"][&path][&method];
        let responses = op["responses"].as_object().unwrap();
        // Health checks, the pages mail links open and the feed readers'
        // signed links need no key.
        let public = [
            "/healthz",
            "/readyz",
            "/api/v1/watches/confirm",
            "/api/v1/watches/unsubscribe",
            "/api/v1/watches/{id}/feed.atom",
            // The public map (issue 15): anyone, when it is enabled.
            "/api/public/v1/events",
            "/api/public/v1/events/{id}",
            "/api/public/v1/events/export.csv",
            "/api/public/v1/events/export.geojson",
            "/api/public/v1/events/changes",
            "/api/public/v1/stats",
            "/api/public/v1/attachments/{id}/content",
            "/api/public/v1/attachments/{id}/thumbnail",
        ];
        if !public.contains(&path.as_str()) {
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
    // Every link (from a created record to the operations on it) names an
    // operation of the document.
    let operation_ids: BTreeSet<&str> = documented(&doc)
        .iter()
        .map(|(m, p)| {
            doc["paths"][p][m.to_lowercase()]["operationId"]
                .as_str()
                .unwrap()
        })
        .collect();
    let mut links = 0;
    for (method, path) in documented(&doc) {
        let responses = &doc["paths"][&path][method.to_lowercase()]["responses"];
        for response in responses.as_object().unwrap().values() {
            for link in response["links"]
                .as_object()
                .into_iter()
                .flat_map(|l| l.values())
            {
                let target = link["operationId"].as_str().unwrap();
                assert!(
                    operation_ids.contains(target),
                    "{method} {path} links to {target}"
                );
                links += 1;
            }
        }
    }
    assert!(links > 20, "{links} links");
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
