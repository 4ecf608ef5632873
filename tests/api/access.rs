//! Each role against each route.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{los_chancas, spawn_app};

#[actix_web::test]
async fn each_role_against_each_route() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let id = event["id"].as_str().unwrap().to_string();
    let one = format!("/api/v1/events/{id}");
    let body = Some(los_chancas());
    let patch = Some(json!({"injuries": 1}));
    let new_key =
        Some(json!({"name": format!("k-{}", uuid::Uuid::new_v4()), "role": "researcher"}));
    // (method, path, body, lowest role allowed)
    let routes: Vec<(Method, String, Option<serde_json::Value>, &str)> = vec![
        (Method::GET, "/api/v1/events".into(), None, "researcher"),
        (Method::GET, one.clone(), None, "researcher"),
        (Method::GET, format!("{one}/history"), None, "researcher"),
        (Method::POST, "/api/v1/events".into(), body, "monitor"),
        (Method::PATCH, one.clone(), patch, "monitor"),
        (Method::GET, "/api/v1/audit".into(), None, "admin"),
        (Method::GET, "/api/v1/keys".into(), None, "admin"),
        (Method::POST, "/api/v1/keys".into(), new_key, "admin"),
        (Method::GET, "/api/v1/actors".into(), None, "researcher"),
        (
            Method::POST,
            "/api/v1/actors".into(),
            Some(json!({"name": "Comunidad de Tiaparo", "kind": "community"})),
            "monitor",
        ),
        (
            Method::GET,
            "/api/v1/concessions".into(),
            None,
            "researcher",
        ),
        (
            Method::GET,
            "/api/v1/concessions/at?lat=-14.2&lon=-73.1".into(),
            None,
            "researcher",
        ),
        (
            Method::GET,
            "/api/v1/concessions/changes".into(),
            None,
            "researcher",
        ),
        (
            Method::POST,
            "/api/v1/concessions".into(),
            Some(
                json!({"code": "X", "name": "X", "geometry": {"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-72.9, -14.0], [-72.9, -14.1], [-73.0, -14.0]]]}}),
            ),
            "admin",
        ),
    ];
    let rank = |role: &str| {
        ["researcher", "monitor", "admin"]
            .iter()
            .position(|r| *r == role)
            .unwrap()
    };
    for (method, path, body, lowest) in &routes {
        let no_key = app.request(method.clone(), path, None, body.clone()).await;
        no_key.problem(401);
        assert_eq!(no_key.header("www-authenticate").as_deref(), Some("Bearer"));
        app.request(
            method.clone(),
            path,
            Some("vg_not-a-real-token"),
            body.clone(),
        )
        .await
        .problem(401);
        for (role, token) in [
            ("researcher", &app.researcher),
            ("monitor", &app.monitor),
            ("admin", &app.admin),
        ] {
            let body = body.clone().map(|mut b| {
                if path.ends_with("/keys") {
                    b["name"] = json!(format!("k-{}", uuid::Uuid::new_v4()));
                }
                if path.ends_with("/concessions") {
                    b["code"] = json!(uuid::Uuid::new_v4().simple().to_string()[..12].to_string());
                }
                b
            });
            // Changes of versioned records need If-Match (428 without).
            let headers: &[(&str, &str)] = if *method == Method::PATCH {
                &[("If-Match", "*")]
            } else {
                &[]
            };
            let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
            let res = app
                .send(method.clone(), path, Some(token), headers, body)
                .await;
            if rank(role) >= rank(lowest) {
                assert!(
                    res.status < 300,
                    "{role} {method} {path}: {} {}",
                    res.status,
                    res.body
                );
            } else {
                res.problem(403);
            }
        }
    }
    // Delete and restore last, as they change the state the others need.
    app.delete(&one, &app.researcher, Some("*"))
        .await
        .problem(403);
    assert_eq!(app.delete(&one, &app.monitor, Some("*")).await.status, 204);
    let restore = format!("{one}/restore");
    app.request(Method::POST, &restore, None, None)
        .await
        .problem(401);
    app.request(Method::POST, &restore, Some(&app.researcher), None)
        .await
        .problem(403);
    app.request(Method::POST, &restore, Some(&app.monitor), None)
        .await
        .problem(403);
    assert_eq!(
        app.request(Method::POST, &restore, Some(&app.admin), None)
            .await
            .status,
        200
    );
    app.delete(
        "/api/v1/keys/6f1c2a4e-0000-4000-8000-000000000000",
        &app.monitor,
        None,
    )
    .await
    .problem(403);
}

#[actix_web::test]
async fn anonymous_reaches_only_health_and_docs() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/api/v1/openapi.json", "/docs/"] {
        let res = app.request(Method::GET, path, None, None).await;
        assert_eq!(res.status, 200, "{path}");
    }
}

#[actix_web::test]
async fn malformed_authorization_headers_are_401() {
    let app = spawn_app().await;
    for value in [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "bearer",
    ] {
        let res = app
            .send(
                Method::GET,
                "/api/v1/events",
                None,
                &[("Authorization", value)],
                None,
            )
            .await;
        res.problem(401);
    }
    // The scheme is case-insensitive (RFC 9110).
    let res = app
        .send(
            Method::GET,
            "/api/v1/events",
            None,
            &[("Authorization", &format!("bearer {}", app.researcher))],
            None,
        )
        .await;
    assert_eq!(res.status, 200);
}

#[actix_web::test]
async fn keys_over_http_show_the_token_once_and_revoke_at_once() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "maria-apurimac", "role": "monitor"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let token = res.body["token"].as_str().unwrap().to_string();
    let key_id = res.body["id"].as_str().unwrap().to_string();
    assert!(token.len() >= 40, "at least 128 bits of randomness");
    assert_eq!(res.body["role"], "monitor");

    // The token works, and acts under the key's name.
    let event = app.post("/api/v1/events", &token, los_chancas()).await;
    assert_eq!(event.body["created_by"], "maria-apurimac");

    // Listing never shows tokens or hashes.
    let list = app.get("/api/v1/keys", &app.admin).await;
    let text = list.body.to_string();
    assert!(!text.contains(&token));
    assert!(!text.contains("hash"));
    assert!(list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "maria-apurimac"));

    // A second live key with the same name conflicts; bad input is 422.
    app.post(
        "/api/v1/keys",
        &app.admin,
        json!({"name": "maria-apurimac", "role": "researcher"}),
    )
    .await
    .problem(409);
    let res = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "x", "role": "superuser"}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["role"]);
    let res = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "  ", "role": "monitor"}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["name"]);

    // Revocation takes effect on the next request.
    let revoked = app
        .delete(&format!("/api/v1/keys/{key_id}"), &app.admin, None)
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    app.get("/api/v1/events", &token).await.problem(401);
    app.delete("/api/v1/keys/not-a-uuid", &app.admin, None)
        .await
        .problem(404);
    app.delete(
        "/api/v1/keys/6f1c2a4e-0000-4000-8000-000000000000",
        &app.admin,
        None,
    )
    .await
    .problem(404);

    // After revocation the name is free again.
    let again = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "maria-apurimac", "role": "monitor"}),
        )
        .await;
    assert_eq!(again.status, 201);
}

/// A bogus or revoked key is 401 before anything about the body or the
/// query string is said: a stranger learns nothing of what a request needs.
#[actix_web::test]
async fn a_bad_key_is_401_before_the_body_or_query_is_judged() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "soon-revoked", "role": "monitor"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let revoked = created.body["token"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    // Used once, so the key is in this process's cache when it is revoked.
    assert_eq!(app.get("/api/v1/events", &revoked).await.status, 200);
    let res = app
        .delete(&format!("/api/v1/keys/{id}"), &app.admin, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let bogus = "vigia_0000000000000000000000000000000000000000000";
    for token in [bogus, revoked.as_str()] {
        // A body missing every required field, and one that is not JSON.
        let res = app.post("/api/v1/events", token, json!({})).await;
        assert_eq!(res.status, 401, "{}", res.body);
        let res = app
            .send(
                Method::POST,
                "/api/v1/events",
                Some(token),
                &[],
                Some(("application/json", b"{not json".to_vec())),
            )
            .await;
        assert_eq!(res.status, 401, "{}", res.body);
        // A query string the list refuses.
        let res = app.get("/api/v1/events?limit=zero&nope=1", token).await;
        assert_eq!(res.status, 401, "{}", res.body);
        assert_eq!(res.body["type"], "/problems/unauthorized");
    }
    // With a good key the same requests are judged on their content.
    assert_eq!(
        app.post("/api/v1/events", &app.monitor, json!({}))
            .await
            .status,
        422
    );
}

/// Issue 10, item 9: a PATCH or DELETE without `If-Match` would overwrite
/// whatever someone else saved meanwhile; every versioned record refuses it
/// with 428 and stays as it was.
#[actix_web::test]
async fn changes_without_if_match_are_428_and_change_nothing() {
    let app = spawn_app().await;
    let created = |res: crate::helpers::Response| {
        assert_eq!(res.status, 201, "{}", res.body);
        res.header("location").unwrap()
    };
    let event = created(
        app.post("/api/v1/events", &app.monitor, los_chancas())
            .await,
    );
    let actor = created(
        app.post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Comunidad de Tiaparo", "kind": "community"}),
        )
        .await,
    );
    let concession = created(
        app.post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010203404", "name": "LOS CHANCAS", "geometry": {"type": "Polygon",
                "coordinates": [[[-73.0, -14.0], [-72.9, -14.0], [-72.9, -14.1], [-73.0, -14.0]]]}}),
        )
        .await,
    );
    let case = created(
        app.post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Tiaparo - SPCC", "case_type": "socioambiental", "activity": "minería",
                "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca", "ubigeo": "030410"}),
        )
        .await,
    );
    let entry = created(
        app.post(
            &format!("{case}/entries"),
            &app.monitor,
            json!({"report_number": 220, "report_month": "2022-06", "status": "activo"}),
        )
        .await,
    );
    let watch = created(
        app.post(
            "/api/v1/watches",
            &app.monitor,
            json!({"email": "w@example.org", "target": {"type": "admin_area", "ubigeo": "03"},
                "frequency": "immediate", "language": "es"}),
        )
        .await,
    );
    let (admin, monitor) = (&app.admin, &app.monitor);
    let patches = [
        (&event, monitor, json!({"injuries": 9})),
        (&actor, admin, json!({"name": "Otro nombre"})),
        (&concession, admin, json!({"name": "OTRO"})),
        (&entry, admin, json!({"status": "latente"})),
        (&case, admin, json!({"activity": "otra"})),
        (&watch, monitor, json!({"language": "en"})),
    ];
    for (path, token, patch) in patches {
        let before = app.get(path, token).await;
        assert_eq!(before.status, 200, "{path}: {}", before.body);
        let res = app.patch(path, token, patch, None).await;
        let problem = res.problem(428);
        assert_eq!(problem["type"], "/problems/precondition-required", "{path}");
        app.delete(path, token, None).await.problem(428);
        assert_eq!(app.get(path, token).await.body, before.body, "{path}");
        // The ETag just read lets the change through.
        let etag = before.header("etag").unwrap();
        let res = app.delete(path, token, Some(&etag)).await;
        assert_eq!(res.status, 204, "{path}: {}", res.body);
    }
}

/// Issue 10, item 6: who logged an incident is sensitive. Researchers see a
/// stable pseudonym in place of every key name (on the record, in its
/// history, in the before/after of each revision), and no key id; admins
/// and monitors see names. The pseudonym survives a restart.
#[actix_web::test]
async fn researchers_see_pseudonyms_never_names_or_key_ids() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let name = event["created_by"].as_str().unwrap().to_string();
    assert!(name.starts_with("monitor-"), "{name}");
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    app.patch(&path, &app.monitor, json!({"injuries": 2}), Some("*"))
        .await;
    let actor = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Comunidad de Tiaparo", "kind": "community"}),
        )
        .await;
    let actor_path = actor.header("location").unwrap();

    let seen = app.get(&path, &app.researcher).await;
    let pseudonym = seen.body["created_by"].as_str().unwrap().to_string();
    assert!(pseudonym.starts_with("persona-"), "{pseudonym}");
    let history = app.get(&format!("{path}/history"), &app.researcher).await;
    let list = app.get("/api/v1/events", &app.researcher).await;
    let actor_seen = app.get(&actor_path, &app.researcher).await;
    for res in [&seen, &history, &list, &actor_seen] {
        assert_eq!(res.status, 200, "{}", res.body);
        let text = res.body.to_string();
        assert!(!text.contains(&name), "a name leaked: {text}");
        assert!(!text.contains("key_id"), "a key id leaked: {text}");
    }
    for record in history.body["items"].as_array().unwrap() {
        assert_eq!(record["key_name"], pseudonym.as_str(), "{record}");
        assert_eq!(record["after"]["created_by"], pseudonym.as_str());
    }
    assert_eq!(list.body["items"][0]["created_by"], pseudonym.as_str());
    assert_eq!(actor_seen.body["created_by"], pseudonym.as_str());

    // Monitors and admins see who it was.
    for token in [&app.monitor, &app.admin] {
        let res = app.get(&format!("{path}/history"), token).await;
        assert_eq!(res.body["items"][0]["key_name"], name.as_str());
        assert!(res.body["items"][0]["key_id"].is_string(), "{}", res.body);
        assert_eq!(
            app.get(&path, token).await.body["created_by"],
            name.as_str()
        );
    }

    // Another process on the same database gives the same pseudonym.
    let (researcher, test_db) = (app.researcher.clone(), app.stop().await);
    let again = crate::helpers::spawn_app_on(test_db).await;
    let res = again.get(&path, &researcher).await;
    assert_eq!(res.body["created_by"], pseudonym.as_str(), "{}", res.body);
}
