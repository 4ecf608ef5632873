use serde_json::{json, Value};

use crate::helpers::{los_chancas, spawn_app, TestApp};

pub fn spcc() -> Value {
    json!({
        "name": "Southern Perú Copper Corporation",
        "kind": "company",
        "aliases": ["SPCC", "Southern Copper"],
        "ruc": "20100147514",
        "notes": "Titular del proyecto Los Chancas."
    })
}

pub async fn create_actor(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/actors", &app.monitor, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

async fn names(app: &TestApp, q: &str) -> Vec<String> {
    let res = app
        .get(&format!("/api/v1/actors?q={q}"), &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn one_company_under_all_its_names() {
    let app = spawn_app().await;
    let created = create_actor(&app, spcc()).await;
    assert_eq!(created["version"], 1);
    create_actor(
        &app,
        json!({"name": "Minera Las Bambas S.A.", "kind": "company"}),
    )
    .await;
    create_actor(
        &app,
        json!({"name": "Mineros informales de Tiaparo", "kind": "informal_group"}),
    )
    .await;
    for q in [
        "spcc",
        "SPCC",
        "southern%20copper",
        "SOUTHERN%20PERU%20COPPER%20CORPORATION%20SUCURSAL%20DEL%20PERU",
        "Southern%20Per%C3%BA%20Copper%20Corporation",
        "southern%20peru%20copper%20corp.",
    ] {
        assert_eq!(
            names(&app, q).await,
            ["Southern Perú Copper Corporation"],
            "q={q}"
        );
    }
    assert_eq!(
        names(&app, "bambas%20s.a.c.").await,
        ["Minera Las Bambas S.A."]
    );
    let all = app.get("/api/v1/actors", &app.researcher).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
    let informal = app
        .get("/api/v1/actors?kind=informal_group", &app.researcher)
        .await;
    assert_eq!(informal.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn bad_actors_are_refused_with_every_reason() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": " ", "kind": "mining_company", "ruc": "20100147515", "aliases": ["ok", ""], "reinfo_code": ""}),
        )
        .await;
    assert_eq!(
        res.invalid_fields(),
        vec!["aliases", "kind", "name", "reinfo_code", "ruc"]
    );
    for ruc in ["2010014751", "30100147514", "2010014751x"] {
        let res = app
            .post(
                "/api/v1/actors",
                &app.monitor,
                json!({"name": "X", "kind": "company", "ruc": ruc}),
            )
            .await;
        assert_eq!(res.invalid_fields(), vec!["ruc"], "{ruc}");
    }
    create_actor(&app, spcc()).await;
    app.post(
        "/api/v1/actors",
        &app.monitor,
        json!({"name": "Otra", "kind": "company", "ruc": "20100147514"}),
    )
    .await
    .problem(409);
    app.post("/api/v1/actors", &app.researcher, spcc())
        .await
        .problem(403);
}

#[actix_web::test]
async fn actors_patch_delete_and_history_like_events() {
    let app = spawn_app().await;
    let actor = create_actor(&app, spcc()).await;
    let path = format!("/api/v1/actors/{}", actor["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"aliases": ["SPCC"]}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["aliases"], json!(["SPCC"]));
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    app.patch(&path, &app.monitor, json!({"notes": "x"}), Some("\"1\""))
        .await
        .problem(412);
    app.patch(&path, &app.monitor, json!({"kind": "villain"}), Some("*"))
        .await
        .problem(422);
    assert_eq!(
        app.delete(&path, &app.monitor, Some("\"2\"")).await.status,
        204
    );
    app.get(&path, &app.admin).await.problem(404);
    let audit = app
        .get(
            &format!(
                "/api/v1/audit?entity=actor&entity_id={}",
                actor["id"].as_str().unwrap()
            ),
            &app.admin,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"]);
}

#[actix_web::test]
async fn incidents_name_their_actors_with_role_and_attribution() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let event_id = event["id"].as_str().unwrap();
    assert_eq!(event["actors"], json!([]));
    let company = create_actor(&app, spcc()).await;
    let miners = create_actor(
        &app,
        json!({"name": "Mineros informales de Tiaparo", "kind": "informal_group"}),
    )
    .await;
    let links = format!("/api/v1/events/{event_id}/actors");

    let res = app
        .post(
            &links,
            &app.monitor,
            json!({"actor_id": company["id"], "role": "affected", "attribution": "confirmed"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .post(&links, &app.monitor, json!({"actor_id": miners["id"], "role": "perpetrator", "attribution": "alleged", "note": "según la prensa"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let read = app
        .get(&format!("/api/v1/events/{event_id}"), &app.researcher)
        .await;
    let actors = read.body["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 2);
    let perpetrator = actors.iter().find(|a| a["role"] == "perpetrator").unwrap();
    assert_eq!(perpetrator["attribution"], "alleged");
    assert_eq!(perpetrator["kind"], "informal_group");
    assert_eq!(perpetrator["name"], "Mineros informales de Tiaparo");

    // Bad links.
    let res = app
        .post(
            &links,
            &app.monitor,
            json!({"actor_id": company["id"], "role": "villain", "attribution": "alleged"}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["role"]);
    let res = app
        .post(&links, &app.monitor, json!({"actor_id": "6f1c2a4e-0000-4000-8000-000000000000", "role": "target", "attribution": "alleged"}))
        .await;
    assert_eq!(res.invalid_fields(), vec!["actor_id"]);
    app.post(
        "/api/v1/events/6f1c2a4e-0000-4000-8000-000000000000/actors",
        &app.monitor,
        json!({"actor_id": company["id"], "role": "target", "attribution": "alleged"}),
    )
    .await
    .problem(404);
    app.post(
        &links,
        &app.researcher,
        json!({"actor_id": company["id"], "role": "target", "attribution": "alleged"}),
    )
    .await
    .problem(403);

    // The actor's incidents.
    let list = app
        .get(
            &format!("/api/v1/actors/{}/events", miners["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], event["id"]);

    // Unlink.
    let unlink = format!("{links}/{}", miners["id"].as_str().unwrap());
    assert_eq!(app.delete(&unlink, &app.monitor, None).await.status, 204);
    app.delete(&unlink, &app.monitor, None).await.problem(404);
    let read = app
        .get(&format!("/api/v1/events/{event_id}"), &app.researcher)
        .await;
    assert_eq!(read.body["actors"].as_array().unwrap().len(), 1);
    let list = app
        .get(
            &format!("/api/v1/actors/{}/events", miners["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_web::test]
async fn merging_moves_links_and_names_and_keeps_history() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let event_id = event["id"].as_str().unwrap();
    let keep = create_actor(&app, spcc()).await;
    let dup = create_actor(&app, json!({"name": "SOUTHERN PERU COPPER CORP SUCURSAL DEL PERU", "kind": "company", "aliases": ["Southern Peru"]})).await;
    app.post(
        &format!("/api/v1/events/{event_id}/actors"),
        &app.monitor,
        json!({"actor_id": dup["id"], "role": "affected", "attribution": "alleged"}),
    )
    .await;
    let merge = format!("/api/v1/actors/{}/merge", dup["id"].as_str().unwrap());
    app.post(&merge, &app.monitor, json!({"into": keep["id"]}))
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/actors/{}/merge", keep["id"].as_str().unwrap()),
        &app.admin,
        json!({"into": keep["id"]}),
    )
    .await
    .problem(409);
    let res = app
        .post(&merge, &app.admin, json!({"into": keep["id"]}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let aliases = res.body["aliases"].as_array().unwrap();
    assert!(aliases.contains(&json!("SOUTHERN PERU COPPER CORP SUCURSAL DEL PERU")));
    assert!(aliases.contains(&json!("Southern Peru")));

    app.get(
        &format!("/api/v1/actors/{}", dup["id"].as_str().unwrap()),
        &app.admin,
    )
    .await
    .problem(404);
    let read = app
        .get(&format!("/api/v1/events/{event_id}"), &app.admin)
        .await;
    assert_eq!(read.body["actors"][0]["actor_id"], keep["id"]);
    let history = app
        .get(
            &format!(
                "/api/v1/audit?entity=actor&entity_id={}",
                dup["id"].as_str().unwrap()
            ),
            &app.admin,
        )
        .await;
    assert_eq!(history.body["items"][0]["action"], "merge");
}
