//! The change feeds: a mirror kept from them equals the database, with
//! writers running at the same time and a transaction that commits late.

use std::cell::Cell;
use std::collections::BTreeMap;

use actix_web::http::Method;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use vigia::db::DbConn;

use crate::actors::{create_actor, spcc};
use crate::helpers::{event_with, los_chancas, spawn_app, TestApp};

/// One page of a feed read as the researcher.
async fn feed(app: &TestApp, path: &str, since: Option<&str>) -> Value {
    let url = match since {
        Some(cursor) => format!("{path}?since={cursor}&limit=7"),
        None => format!("{path}?limit=7"),
    };
    let res = app.get(&url, &app.researcher).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

/// Reads on from `since` until `n` items have come, as one page (on
/// PostgreSQL a feed waits for every older transaction of the cluster, other
/// tests' included, so what was just written may take a moment).
async fn feed_until(app: &TestApp, path: &str, since: Option<&str>, n: usize) -> Value {
    let deadline = std::time::Instant::now() + crate::helpers::FEED_DEADLINE;
    let mut items: Vec<Value> = Vec::new();
    let mut cursor = since.map(str::to_string);
    loop {
        let page = feed(app, path, cursor.as_deref()).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        if items.len() >= n {
            return json!({"items": items, "next_cursor": cursor, "more": page["more"]});
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} changes never came: {items:?}"
        );
    }
}

/// Applies a page to a mirror; returns the next cursor and whether the
/// page held anything.
fn apply(mirror: &mut BTreeMap<String, Value>, page: &Value) -> (String, bool) {
    let items = page["items"].as_array().unwrap();
    for item in items {
        let id = item["id"].as_str().unwrap().to_string();
        if item["record"].is_null() {
            assert_eq!(item["change"], "delete", "{item}");
            mirror.remove(&id);
        } else {
            assert_eq!(item["record"]["id"], item["id"]);
            mirror.insert(id, item["record"].clone());
        }
    }
    (
        page["next_cursor"].as_str().unwrap().to_string(),
        !items.is_empty(),
    )
}

/// Every live incident as the list shows it to the researcher.
async fn live_events(app: &TestApp) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/events?limit=200&cursor={c}"),
            None => "/api/v1/events?limit=200".to_string(),
        };
        let res = app.get(&url, &app.researcher).await;
        assert_eq!(res.status, 200, "{}", res.body);
        for e in res.body["items"].as_array().unwrap() {
            all.insert(e["id"].as_str().unwrap().to_string(), e.clone());
        }
        match res.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

/// One writer: logs incidents, edits some, links an actor to some, deletes
/// some and restores a few of those.
async fn writer(app: &TestApp, n: usize, actor: &Value) {
    for i in 0..12 {
        let event = app
            .create_event(event_with(
                json!({"title": format!("Escritor {n}, incidente {i}")}),
            ))
            .await;
        let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
        let mut etag = format!("\"{}\"", event["version"]);
        if i % 3 == 0 {
            let res = app
                .patch(
                    &path,
                    &app.monitor,
                    json!({"title": format!("Escritor {n}, incidente {i} (corregido)")}),
                    Some(&etag),
                )
                .await;
            assert_eq!(res.status, 200, "{}", res.body);
            etag = res.header("etag").unwrap();
        }
        if i % 4 == 1 {
            let res = app
                .post(
                    &format!("{path}/actors"),
                    &app.monitor,
                    json!({"actor_id": actor["id"], "role": "perpetrator", "attribution": "alleged"}),
                )
                .await;
            assert_eq!(res.status, 200, "{}", res.body);
        }
        if i % 5 == 2 {
            let res = app.delete(&path, &app.monitor, Some("*")).await;
            assert_eq!(res.status, 204, "{}", res.body);
            if i % 2 == 0 {
                let res = app
                    .request(
                        Method::POST,
                        &format!("{path}/restore"),
                        Some(&app.admin),
                        None,
                    )
                    .await;
                assert_eq!(res.status, 200, "{}", res.body);
            }
        }
        let _ = etag;
    }
}

#[actix_web::test]
async fn a_mirror_read_while_two_writers_work_equals_the_database() {
    let app = spawn_app().await;
    let actor = create_actor(
        &app,
        json!({"name": "Mineros informales de Tiaparo", "kind": "informal_group"}),
    )
    .await;
    // Incidents from before the reader starts come through the feed too.
    app.create_event(los_chancas()).await;

    let done = Cell::new(0);
    let mut mirror = BTreeMap::new();
    let mut cursor: Option<String> = None;
    let write = |n| {
        let (app, actor, done) = (&app, &actor, &done);
        async move {
            writer(app, n, actor).await;
            done.set(done.get() + 1);
        }
    };
    let read = async {
        // While the writers work: read whatever is there, as a mirror would.
        while done.get() < 2 {
            let page = feed(&app, "/api/v1/events/changes", cursor.as_deref()).await;
            cursor = Some(apply(&mut mirror, &page).0);
            actix_web::rt::task::yield_now().await;
        }
    };
    futures_util::future::join3(write(1), write(2), read).await;

    // Every write has been answered, so committed: reading on to the end
    // of the feed must give exactly the database's incidents.
    let expected = live_events(&app).await;
    assert!(expected.len() > 20, "{}", expected.len());
    let deadline = std::time::Instant::now() + crate::helpers::FEED_DEADLINE;
    loop {
        let page = feed(&app, "/api/v1/events/changes", cursor.as_deref()).await;
        let (next, any) = apply(&mut mirror, &page);
        cursor = Some(next);
        if !any && page["more"] == false && mirror == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror never caught up: {} records, {} expected",
            mirror.len(),
            expected.len()
        );
    }
    // Deleted ones are gone from the mirror, restored ones are back.
    assert!(mirror.values().all(|e| e["deleted_at"].is_null()));
    assert!(mirror
        .values()
        .any(|e| e["title"].as_str().unwrap().ends_with("(corregido)")));
}

#[actix_web::test]
async fn a_change_committed_late_is_never_skipped() {
    let app = spawn_app().await;
    let first = app.create_event(los_chancas()).await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let mut mirror = BTreeMap::new();
    let page = feed_until(&app, "/api/v1/events/changes", None, 1).await;
    let (start, _) = apply(&mut mirror, &page);
    assert_eq!(mirror.len(), 1);

    // Another process edits the incident in a transaction that stays open.
    let mut held: vigia::db::PooledConn = app.db.get().unwrap();
    let begin = match &*held {
        DbConn::Sqlite(_) => "BEGIN IMMEDIATE",
        DbConn::Pg(_) => "BEGIN",
    };
    held.batch_execute(begin).unwrap();
    held.batch_execute(&format!(
        "UPDATE events SET title = 'Editado en otra transacción', version = version + 1 WHERE id = '{first_id}'"
    ))
    .unwrap();

    let is_pg = matches!(&*held, DbConn::Pg(_));
    let second_id = if is_pg {
        // PostgreSQL: a later transaction commits first. Its change has a
        // larger number than the open one's; serving it now would move the
        // reader past the open one for good.
        let second = app
            .create_event(event_with(json!({"title": "Confirmado antes"})))
            .await;
        let page = feed(&app, "/api/v1/events/changes", Some(&start)).await;
        assert_eq!(page["items"], json!([]), "served past an open transaction");
        assert_eq!(page["next_cursor"], start.as_str());
        Some(second["id"].as_str().unwrap().to_string())
    } else {
        // SQLite: the open transaction holds the write lock, so nothing
        // commits after it starts; the reader does not see it yet.
        let page = feed(&app, "/api/v1/events/changes", Some(&start)).await;
        assert_eq!(page["items"], json!([]));
        None
    };
    held.batch_execute("COMMIT").unwrap();

    let page = feed_until(
        &app,
        "/api/v1/events/changes",
        Some(&start),
        1 + usize::from(is_pg),
    )
    .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let mut want = vec![first_id.as_str()];
    want.extend(second_id.as_deref());
    assert_eq!(ids, want, "in commit order, the late one first: {page}");
    apply(&mut mirror, &page);
    assert_eq!(
        mirror[&first_id]["title"], "Editado en otra transacción",
        "{page}"
    );
}

#[actix_web::test]
async fn actors_concessions_and_cases_have_feeds_with_tombstones() {
    let app = spawn_app().await;
    let company = create_actor(&app, spcc()).await;
    let company_id = company["id"].as_str().unwrap();
    let miners = create_actor(
        &app,
        json!({"name": "Mineros de Tiaparo", "kind": "informal_group"}),
    )
    .await;
    let miners_path = format!("/api/v1/actors/{}", miners["id"].as_str().unwrap());

    let page = feed_until(&app, "/api/v1/actors/changes", None, 2).await;
    let kinds: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (company_id, "create"),
            (miners["id"].as_str().unwrap(), "create")
        ]
    );
    let after_create = page["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(page["more"], false);

    let res = app
        .patch(
            &miners_path,
            &app.monitor,
            json!({"notes": "Operan en el campamento desde 2021."}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let page = feed_until(&app, "/api/v1/actors/changes", Some(&after_create), 1).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["change"], "update");
    assert_eq!(
        page["items"][0]["record"]["notes"],
        "Operan en el campamento desde 2021."
    );
    let after_update = page["next_cursor"].as_str().unwrap().to_string();

    let res = app.delete(&miners_path, &app.admin, Some("*")).await;
    assert_eq!(res.status, 204, "{}", res.body);
    let page = feed_until(&app, "/api/v1/actors/changes", Some(&after_update), 1).await;
    assert_eq!(
        page["items"],
        json!([{"id": miners["id"], "change": "delete", "at": page["items"][0]["at"], "record": null}])
    );
    // Nothing new: the same cursor back, nothing more waiting.
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let page = feed(&app, "/api/v1/actors/changes", Some(&cursor)).await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next_cursor"], cursor.as_str());

    // A concession, written by an admin, then edited.
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010000424L", "name": "LOS CHANCAS", "holder_id": company_id,
                   "geometry": {"type": "Polygon", "coordinates": [[[-73.2, -14.3], [-73.0, -14.3], [-73.0, -14.1], [-73.2, -14.1], [-73.2, -14.3]]]}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let concession = res.body;
    let page = feed_until(&app, "/api/v1/concessions/feed", None, 1).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["change"], "create");
    assert_eq!(page["items"][0]["record"]["code"], "010000424L");
    assert_eq!(page["items"][0]["record"]["holder"]["id"], company_id);
    let since = page["next_cursor"].as_str().unwrap().to_string();
    let res = app
        .patch(
            &format!("/api/v1/concessions/{}", concession["id"].as_str().unwrap()),
            &app.admin,
            json!({"name": "LOS CHANCAS 2"}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let page = feed_until(&app, "/api/v1/concessions/feed", Some(&since), 1).await;
    assert_eq!(page["items"][0]["change"], "update", "{page}");
    assert_eq!(page["items"][0]["record"]["name"], "LOS CHANCAS 2");

    // A case: a report entry is a change of its case, shown with it.
    let res = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Tiaparo - Tapayrihua - SPCC (Los Chancas)", "case_type": "socioambiental",
                   "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca", "ubigeo": "030410",
                   "companies": [company_id]}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let case_path = res.header("location").unwrap();
    let page = feed_until(&app, "/api/v1/cases/changes", None, 1).await;
    assert_eq!(page["items"][0]["change"], "create", "{page}");
    assert_eq!(page["items"][0]["record"]["entries"], json!([]));
    let since = page["next_cursor"].as_str().unwrap().to_string();
    let res = app
        .post(
            &format!("{case_path}/entries"),
            &app.monitor,
            json!({"report_number": 221, "report_month": "2022-07", "status": "activo", "phase": "dialogo", "dialogue": true}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let page = feed_until(&app, "/api/v1/cases/changes", Some(&since), 1).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["change"], "update");
    assert_eq!(
        page["items"][0]["record"]["entries"][0]["report_number"],
        221
    );
    assert_eq!(page["items"][0]["record"]["status"], "activo");
}

#[actix_web::test]
async fn a_feed_refuses_what_it_cannot_read() {
    let app = spawn_app().await;
    for url in [
        "/api/v1/events/changes?since=not-a-cursor",
        "/api/v1/events/changes?limit=0",
        "/api/v1/events/changes?limit=501",
        "/api/v1/cases/changes?since=e30",
        "/api/v1/actors/changes?cursor=x",
    ] {
        let res = app.get(url, &app.researcher).await;
        assert_eq!(res.status, 400, "{url}: {}", res.body);
        res.problem(400);
    }
    let res = app
        .request(Method::GET, "/api/v1/concessions/feed", None, None)
        .await;
    res.problem(401);
}
