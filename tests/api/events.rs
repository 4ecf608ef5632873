use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{event_with, los_chancas, spawn_app};

#[actix_web::test]
async fn logging_the_los_chancas_fire_returns_it_with_location_and_etag() {
    let app = spawn_app().await;
    let res = app
        .post("/api/v1/events", &app.monitor, los_chancas())
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    assert_eq!(res.header("location"), Some(format!("/api/v1/events/{id}")));
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(res.body["version"], 1);
    assert_eq!(
        res.body["created_by"].as_str().unwrap(),
        app_key_name(&res.body)
    );
    assert_eq!(res.body["time_precision"], "month");
    assert_eq!(res.body["admin_source"], "client");
    assert_eq!(res.body["sources"].as_array().unwrap().len(), 2);

    let read = app.get(&format!("/api/v1/events/{id}"), &app.monitor).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(read.body, res.body, "what is read is what was written");
    assert_eq!(read.body["location"]["lat"], -14.2190728);
    assert_eq!(read.body["admin"]["district"], "Pocohuanca");
}

fn app_key_name(body: &serde_json::Value) -> String {
    let name = body["created_by"].as_str().unwrap();
    assert!(
        name.starts_with("monitor-"),
        "created_by is the key's name, got {name}"
    );
    name.to_string()
}

#[actix_web::test]
async fn defaults_fill_what_the_monitor_left_out() {
    let app = spawn_app().await;
    let event = app.create_event(event_with(json!({}))).await;
    assert_eq!(event["description"], "");
    assert_eq!(event["time_precision"], "day");
    assert_eq!(event["location"]["precision"], "exact");
    assert_eq!(event["verification"], "unverified");
    assert_eq!(event["fatalities"], 0);
    assert_eq!(event["injuries"], 0);
    assert_eq!(event["sources"], json!([]));
    assert_eq!(event["admin"], serde_json::Value::Null);
    assert_eq!(event["admin_source"], serde_json::Value::Null);
}

#[actix_web::test]
async fn a_date_known_to_the_month_or_year_is_stored_on_its_first_day() {
    let app = spawn_app().await;
    let month = app
        .create_event(event_with(
            json!({"occurred_on": "2022-05-17", "time_precision": "month"}),
        ))
        .await;
    assert_eq!(month["occurred_on"], "2022-05-01");
    let year = app
        .create_event(event_with(
            json!({"occurred_on": "2021-08-09", "time_precision": "year"}),
        ))
        .await;
    assert_eq!(year["occurred_on"], "2021-01-01");
}

#[actix_web::test]
async fn hostile_text_is_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    let nasty = "Robert'); DROP TABLE events;-- \"quoted\" \\ back\\slash <script>alert(1)</script> 🔥⛏️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎 مرحبا ñandú % _ \u{200B}";
    let event = app
        .create_event(event_with(json!({
            "title": nasty,
            "description": nasty,
            "sub_event_type": "🔥 arson 'x'",
            "location": {"lat": -14.0, "lon": -73.0, "place": nasty},
            "sources": [{"publisher": nasty, "title": nasty}]
        })))
        .await;
    let read = app
        .get(
            &format!("/api/v1/events/{}", event["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(read.body["title"], nasty);
    assert_eq!(read.body["description"], nasty);
    assert_eq!(read.body["location"]["place"], nasty);
    assert_eq!(read.body["sources"][0]["publisher"], nasty);
    // The LIKE wildcards in the text are searched literally.
    let found = app.get("/api/v1/events?q=%25%20_", &app.admin).await;
    assert_eq!(found.status, 200);
    let all = app.get("/api/v1/events", &app.admin).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn patch_changes_only_what_it_names_and_bumps_the_version() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());

    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"verification": "disputed", "injuries": 3, "sub_event_type": null}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["verification"], "disputed");
    assert_eq!(res.body["injuries"], 3);
    assert_eq!(
        res.body["sub_event_type"],
        serde_json::Value::Null,
        "null removes an optional field"
    );
    assert_eq!(res.body["title"], event["title"]);
    assert_eq!(res.body["created_at"], event["created_at"]);
    assert_ne!(res.body["updated_at"], event["updated_at"]);

    // Nested objects merge: only the place changes.
    let res = app
        .patch(
            &path,
            &app.admin,
            json!({"location": {"place": "Tapairihua"}}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["location"]["place"], "Tapairihua");
    assert_eq!(res.body["location"]["lat"], -14.2190728);
    assert_eq!(res.body["version"], 3);
}

#[actix_web::test]
async fn bad_patches_change_nothing() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());

    // A required field removed.
    let res = app
        .patch(&path, &app.monitor, json!({"title": null}), Some("*"))
        .await;
    assert_eq!(res.invalid_fields(), vec!["title"]);
    // Server-made fields cannot be written.
    let res = app
        .patch(&path, &app.monitor, json!({"version": 7}), Some("*"))
        .await;
    res.problem(422);
    let res = app
        .patch(&path, &app.monitor, json!({"id": "x"}), Some("*"))
        .await;
    res.problem(422);
    // An unknown field, a wrong type, a rule broken.
    let res = app
        .patch(&path, &app.monitor, json!({"colour": "red"}), Some("*"))
        .await;
    res.problem(422);
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"location": {"lat": "south"}}),
            Some("*"),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["location.lat"]);
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"location": {"lat": -95}, "fatalities": -2}),
            Some("*"),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["fatalities", "location.lat"]);
    // Not an object.
    let res = app
        .patch(&path, &app.monitor, json!([1, 2]), Some("*"))
        .await;
    res.problem(422);
    // A stale ETag.
    let res = app
        .patch(&path, &app.monitor, json!({"injuries": 9}), Some("\"7\""))
        .await;
    res.problem(412);

    let read = app.get(&path, &app.monitor).await;
    assert_eq!(read.body, event, "nothing was written");
    let history = app.get(&format!("{path}/history"), &app.monitor).await;
    assert_eq!(
        history.body["items"].as_array().unwrap().len(),
        1,
        "no audit record for a refused change"
    );
}

#[actix_web::test]
async fn two_patches_with_the_same_etag_one_wins_one_gets_412() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    let (a, b) = futures_join(
        app.patch(&path, &app.monitor, json!({"injuries": 1}), Some("\"1\"")),
        app.patch(&path, &app.admin, json!({"injuries": 2}), Some("\"1\"")),
    )
    .await;
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.body, b.body);
    let winner = if a.status == 200 { &a } else { &b };
    let read = app.get(&path, &app.monitor).await;
    assert_eq!(read.body["version"], 2);
    assert_eq!(read.body["injuries"], winner.body["injuries"]);
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}

#[actix_web::test]
async fn delete_is_soft_and_an_admin_can_restore() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let id = event["id"].as_str().unwrap();
    let path = format!("/api/v1/events/{id}");

    app.delete(&path, &app.monitor, Some("\"5\""))
        .await
        .problem(412);
    let res = app.delete(&path, &app.monitor, Some("\"1\"")).await;
    assert_eq!(res.status, 204, "{}", res.body);

    app.get(&path, &app.admin).await.problem(404);
    app.delete(&path, &app.monitor, Some("*"))
        .await
        .problem(404);
    app.patch(&path, &app.monitor, json!({"injuries": 1}), Some("*"))
        .await
        .problem(404);
    let list = app.get("/api/v1/events", &app.admin).await;
    assert_eq!(list.body["items"], json!([]));

    // The history stays, for admins only.
    app.get(&format!("{path}/history"), &app.monitor)
        .await
        .problem(404);
    let history = app.get(&format!("{path}/history"), &app.admin).await;
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "delete"]);

    // The row is still in the database.
    let count: i64 = {
        use diesel::prelude::*;
        use vigia::schema::events;
        let mut conn = app.db.get().unwrap();
        events::table
            .filter(events::id.eq(id))
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    assert_eq!(count, 1);

    app.request(
        Method::POST,
        &format!("{path}/restore"),
        Some(&app.monitor),
        None,
    )
    .await
    .problem(403);
    let restored = app
        .request(
            Method::POST,
            &format!("{path}/restore"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["version"], 3);
    assert_eq!(restored.header("etag").as_deref(), Some("\"3\""));
    assert_eq!(restored.body["title"], event["title"]);
    assert_eq!(app.get(&path, &app.researcher).await.status, 200);
    app.request(
        Method::POST,
        &format!("{path}/restore"),
        Some(&app.admin),
        None,
    )
    .await
    .problem(409);
}

#[actix_web::test]
async fn history_lists_revisions_oldest_first_with_before_and_after() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    app.patch(
        &path,
        &app.monitor,
        json!({"verification": "disputed"}),
        Some("*"),
    )
    .await;
    app.patch(&path, &app.admin, json!({"injuries": 4}), Some("*"))
        .await;

    let history = app
        .get(&format!("{path}/history?limit=2"), &app.researcher)
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let first = history.body["items"].as_array().unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["action"], "create");
    assert_eq!(first[0]["before"], serde_json::Value::Null);
    assert_eq!(first[0]["after"]["version"], 1);
    assert_eq!(first[1]["action"], "update");
    assert_eq!(first[1]["before"]["verification"], "verified");
    assert_eq!(first[1]["after"]["verification"], "disputed");
    let cursor = history.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("{path}/history?limit=2&cursor={cursor}"),
            &app.researcher,
        )
        .await;
    let rest = rest.body["items"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["after"]["injuries"], 4);
    // A researcher reads who as a pseudonym (issue 10, item 6).
    assert!(rest[0]["key_name"]
        .as_str()
        .unwrap()
        .starts_with("persona-"));
}

#[actix_web::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/events/6f1c2a4e-0000-4000-8000-000000000000",
        "/api/v1/events/not-a-uuid",
        "/api/v1/events/'%20OR%201=1",
        "/api/v1/events/not-a-uuid/history",
    ] {
        app.get(path, &app.admin).await.problem(404);
    }
    app.patch("/api/v1/events/nope", &app.admin, json!({}), Some("*"))
        .await
        .problem(404);
    app.delete("/api/v1/events/nope", &app.admin, Some("*"))
        .await
        .problem(404);
    app.request(
        Method::POST,
        "/api/v1/events/nope/restore",
        Some(&app.admin),
        None,
    )
    .await
    .problem(404);
}

/// Issue 10, item 16: the history of an incident is everything that changed
/// what a reader sees of it: its revisions, its actor and case links, and
/// the concessions it falls in when the cadastre changes under it.
#[actix_web::test]
async fn history_includes_links_and_concession_matches() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let id = event["id"].as_str().unwrap();
    let path = format!("/api/v1/events/{id}");
    let actor = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Mineros informales de Tiaparo", "kind": "informal_group"}),
        )
        .await;
    assert_eq!(actor.status, 201, "{}", actor.body);
    let res = app
        .post(
            &format!("{path}/actors"),
            &app.monitor,
            json!({"actor_id": actor.body["id"], "role": "perpetrator", "attribution": "alleged"}),
        )
        .await;
    assert!(res.status < 300, "{}", res.body);
    let case = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Tiaparo - SPCC", "case_type": "socioambiental"}),
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.body);
    let res = app
        .post(
            &format!("{path}/cases"),
            &app.monitor,
            json!({"case_id": case.body["id"]}),
        )
        .await;
    assert!(res.status < 300, "{}", res.body);
    // A concession drawn around the incident afterwards: a cadastre change.
    let (lon, lat) = (-73.0884214, -14.2190728);
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010000424L", "name": "LOS CHANCAS", "geometry": {"type": "Polygon", "coordinates": [[
                [lon - 0.05, lat - 0.05], [lon + 0.05, lat - 0.05], [lon + 0.05, lat + 0.05], [lon - 0.05, lat + 0.05], [lon - 0.05, lat - 0.05]
            ]]}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);

    let history = app.get(&format!("{path}/history"), &app.researcher).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let items = history.body["items"].as_array().unwrap();
    let entities: Vec<&str> = items
        .iter()
        .map(|r| r["entity"].as_str().unwrap())
        .collect();
    assert_eq!(
        entities,
        ["event", "event_actor", "event_case", "event_concession"],
        "{}",
        history.body
    );
    let matched = &items[3];
    assert_eq!(matched["before"]["concessions"], json!([]));
    assert_eq!(matched["after"]["concessions"][0]["code"], "010000424L");
    assert_eq!(matched["entity_id"], id);
}
