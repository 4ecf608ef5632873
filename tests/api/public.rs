//! The public map (issue 15): publication, confidential sources, and the
//! walk over every public endpoint and page that fails if anything a
//! visitor must not read leaks out.

use std::collections::BTreeSet;

use actix_web::http::Method;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestDb};
use vigia::audit::Actor;
use vigia::keys::{self, Role};

/// A key of the test's own, under a name a leak would show.
fn key(app: &TestApp, name: &str, role: Role) -> String {
    let mut conn = app.db.get().unwrap();
    keys::create(&mut conn, &Actor::cli(), name, role)
        .unwrap()
        .token
}

/// One district (Pocohuanca's code, a square around part of Apurímac),
/// with the layer's version bumped so every process reads it.
fn add_district(app: &TestApp) {
    use vigia::schema::{districts, registry_state};
    let mut conn = app.db.get().unwrap();
    diesel::insert_into(districts::table)
        .values((
            districts::ubigeo.eq("030410"),
            districts::name.eq("POCOHUANCA"),
            districts::province.eq("AYMARAES"),
            districts::region.eq("APURIMAC"),
            districts::geometry.eq(r#"{"type":"Polygon","coordinates":[[[-73.2,-14.4],[-72.9,-14.4],[-72.9,-14.1],[-73.2,-14.1],[-73.2,-14.4]]]}"#),
        ))
        .execute(&mut *conn)
        .unwrap();
    diesel::update(registry_state::table)
        .set(registry_state::districts_version.eq(registry_state::districts_version + 1))
        .execute(&mut *conn)
        .unwrap();
}

/// A random point in Peru, with every decimal a float has.
fn random_point(inside_district: bool) -> (f64, f64) {
    if inside_district {
        (
            -14.38 + rand::random::<f64>() * 0.26,
            -73.18 + rand::random::<f64>() * 0.26,
        )
    } else {
        (
            -6.0 - rand::random::<f64>() * 6.0,
            -76.0 - rand::random::<f64>() * 2.0,
        )
    }
}

/// How a stored coordinate could show: as stored, and at 6, 5, 4 decimals.
fn spellings(value: f64) -> Vec<String> {
    vec![
        format!("{value}"),
        format!("{value:.6}"),
        format!("{value:.5}"),
        format!("{value:.4}"),
    ]
}

struct Seed {
    /// Published live incidents: (id, title).
    published: Vec<(String, String)>,
    /// Internal, never published: (id, title).
    internal: Vec<(String, String)>,
    /// Titles of incidents public once but not now (withdrawn, deleted):
    /// their ids may show in the change feed as deletes, nothing else.
    gone_titles: Vec<String>,
    /// Text that must never reach a visitor.
    secrets: Vec<String>,
    public_file: String,
    private_file: String,
}

async fn publish(app: &TestApp, admin: &str, id: &str, state: &str) {
    let res = app
        .post(
            &format!("/api/v1/events/{id}/publication"),
            admin,
            json!({"state": state}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["publication"], state);
}

async fn seed(app: &TestApp) -> Seed {
    add_district(app);
    let monitor_name = "monitora-Zenaida-Quispe-Huamani";
    let admin_name = "admin-Teodoro-Mamani-Ccori";
    let monitor = key(app, monitor_name, Role::Monitor);
    let admin = key(app, admin_name, Role::Admin);
    let mut secrets: Vec<String> = vec![
        monitor_name.into(),
        admin_name.into(),
        "Comunera Rosalinda Huillca".into(),
        "https://confidencial.example.org/testimonio-rosalinda".into(),
        "Nota de la revisora Eufemia".into(),
        "Caserio Secreto Uchcumarca".into(),
    ];
    let mut points = Vec::new();
    let mut create = |i: usize, inside: bool, with_admin: bool| {
        let (lat, lon) = random_point(inside);
        points.push((lat, lon));
        let mut body = json!({
            "title": format!("Incidente de prueba {i}"),
            "description": format!("Descripción del incidente {i}."),
            "event_type": "protest",
            "occurred_on": format!("2023-0{}-1{}", 1 + i % 8, i % 9),
            "location": {"lat": lat, "lon": lon, "precision": "exact", "place": "Caserio Secreto Uchcumarca"},
            "sources": [
                {"publisher": "Radio Pública de prueba", "url": "https://radio.example.org/nota"},
                {"publisher": "Comunera Rosalinda Huillca", "url": "https://confidencial.example.org/testimonio-rosalinda", "confidential": true}
            ],
            "verification": "verified",
            "verification_note": "Nota de la revisora Eufemia"
        });
        if with_admin {
            body["admin"] = json!({"ubigeo": "030410", "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca"});
        }
        body
    };
    let bodies: Vec<Value> = (0..8).map(|i| create(i, i % 2 == 0, i == 2)).collect();
    let mut ids = Vec::new();
    for body in &bodies {
        let res = app.post("/api/v1/events", &monitor, body.clone()).await;
        assert_eq!(res.status, 201, "{}", res.body);
        ids.push((
            res.body["id"].as_str().unwrap().to_string(),
            res.body["title"].as_str().unwrap().to_string(),
        ));
    }
    for (lat, lon) in &points {
        secrets.extend(spellings(*lat));
        secrets.extend(spellings(*lon));
    }
    // 0–3 published (0, 2 in the district: by the boundaries and by the
    // client's ubigeo; 1, 3 outside: on the grid); 4, 5 internal; 6
    // published then deleted; 7 published then withdrawn.
    for (id, _) in ids.iter().take(4) {
        publish(app, &admin, id, "published").await;
    }
    publish(app, &admin, &ids[6].0, "published").await;
    publish(app, &admin, &ids[7].0, "published").await;
    let res = app
        .delete(&format!("/api/v1/events/{}", ids[6].0), &monitor, Some("*"))
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    publish(app, &admin, &ids[7].0, "internal").await;
    // An edit of a published incident keeps it published.
    let res = app
        .patch(
            &format!("/api/v1/events/{}", ids[0].0),
            &monitor,
            json!({"fatalities": 1}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["publication"], "published");

    // Files: one public, one not, on a published incident.
    let photo = crate::attachments::phone_photo();
    let path = format!("/api/v1/events/{}/attachments", ids[1].0);
    let public = app
        .upload(&path, &monitor, "foto-publica.jpg", &photo, &[])
        .await;
    assert_eq!(public.status, 201, "{}", public.body);
    let public_file = public.body["id"].as_str().unwrap().to_string();
    let private = app
        .upload(
            &path,
            &monitor,
            "acta-de-Zenaida-privada.pdf",
            crate::attachments::PDF,
            &[],
        )
        .await;
    let private_file = private.body["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(private.status, 201, "{}", private.body);
    let res = app
        .post(
            &format!("/api/v1/attachments/{public_file}/public"),
            &monitor,
            json!({"public": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["public"], true);
    secrets.push(private_file.clone());
    secrets.push("acta-de-Zenaida-privada".into());

    Seed {
        published: ids[..4].to_vec(),
        internal: ids[4..6].to_vec(),
        gone_titles: vec![ids[6].1.clone(), ids[7].1.clone()],
        secrets,
        public_file,
        private_file,
    }
}

/// What a body must not contain.
fn leaks(seed: &Seed, body: &str) -> Vec<String> {
    let mut found: Vec<String> = seed
        .secrets
        .iter()
        .filter(|s| body.contains(s.as_str()))
        .cloned()
        .collect();
    for (id, title) in &seed.internal {
        for s in [id, title] {
            if body.contains(s.as_str()) {
                found.push(s.clone());
            }
        }
    }
    for title in &seed.gone_titles {
        // "Incidente de prueba 6" must not match "…prueba 60": titles are short.
        if body.contains(&format!("{title}\"")) || body.contains(&format!("{title}<")) {
            found.push(title.clone());
        }
    }
    for word in [
        "created_by",
        "verification_note",
        "source_id",
        "key_name",
        "\"near\"",
        "\"exact\"",
    ] {
        if body.contains(word) {
            found.push(word.to_string());
        }
    }
    found
}

struct Walk<'a> {
    app: &'a TestApp,
    seed: &'a Seed,
    visited: BTreeSet<String>,
    text: String,
}

impl Walk<'_> {
    /// GETs `path` anonymously, expects `status`, checks for leaks, and
    /// records the route (`route`) as visited.
    async fn get(&mut self, route: &str, path: &str, status: u16) -> (Value, String) {
        let res = self.app.request(Method::GET, path, None, None).await;
        let body = String::from_utf8_lossy(&res.bytes).to_string();
        assert_eq!(res.status, status, "GET {path}: {body}");
        // An id the request itself names may come back in a link to the
        // same page (the language switch): that is no leak.
        let mut checked = body.clone();
        for (id, _) in &self.seed.internal {
            if path.contains(id.as_str()) {
                checked = checked.replace(id.as_str(), "");
            }
        }
        let found = leaks(self.seed, &checked);
        assert!(found.is_empty(), "GET {path} leaks {found:?}:\n{body}");
        assert!(
            res.header("set-cookie").is_none(),
            "GET {path} sets a cookie"
        );
        self.visited.insert(route.to_string());
        self.text.push_str(&body);
        (res.body, body)
    }
}

const ROUTES: [&str; 12] = [
    "GET /api/public/v1/events",
    "GET /api/public/v1/events/{id}",
    "GET /api/public/v1/events/export.csv",
    "GET /api/public/v1/events/export.geojson",
    "GET /api/public/v1/events/changes",
    "GET /api/public/v1/stats",
    "GET /api/public/v1/attachments/{id}/content",
    "GET /api/public/v1/attachments/{id}/thumbnail",
    "GET /publico",
    "GET /publico/incidentes",
    "GET /publico/incidentes/{id}",
    "GET /publico/cifras",
];

/// Every public endpoint and page, walked anonymously: nothing stored that
/// a visitor must not read comes out, and what must come out does.
#[actix_web::test]
async fn the_public_walk_finds_no_stored_point_secret_name_or_internal_incident() {
    let app = spawn_app_with(TestDb::new(), |s| {
        s.public.enabled = true;
        s.public.rate_per_minute = 100_000;
    })
    .await;
    let seed = seed(&app).await;
    let mut walk = Walk {
        app: &app,
        seed: &seed,
        visited: BTreeSet::new(),
        text: String::new(),
    };

    // The list, a page of one at a time to walk the cursor.
    let mut listed = Vec::new();
    let mut path = "/api/public/v1/events?limit=1".to_string();
    loop {
        let (body, _) = walk.get("GET /api/public/v1/events", &path, 200).await;
        for item in body["items"].as_array().unwrap() {
            listed.push(item["id"].as_str().unwrap().to_string());
            let location = &item["location"];
            assert_eq!(location["precision"], "approximate", "{item}");
            assert!(
                ["district", "grid"].contains(&location["basis"].as_str().unwrap()),
                "{item}"
            );
            assert_eq!(item["sources"].as_array().unwrap().len(), 1, "{item}");
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/public/v1/events?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = seed.published.iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    listed.sort();
    assert_eq!(
        listed, expected,
        "the list holds the published incidents only"
    );
    // Filters that make sense: type, dates, ubigeo, words, a box over the
    // generalised points.
    let (body, _) = walk
        .get(
            "GET /api/public/v1/events",
            "/api/public/v1/events?ubigeo=030410",
            200,
        )
        .await;
    // 0 placed by the boundaries, 2 by its client's ubigeo: both at the
    // district's centroid.
    let in_district = body["items"].as_array().unwrap();
    assert_eq!(in_district.len(), 2, "{body}");
    for item in in_district {
        assert_eq!(item["location"]["basis"], "district");
        let (lat, lon) = (
            item["location"]["lat"].as_f64().unwrap(),
            item["location"]["lon"].as_f64().unwrap(),
        );
        assert!(
            (lat - -14.25).abs() < 1e-6 && (lon - -73.05).abs() < 1e-6,
            "the centroid: {lat}, {lon}"
        );
    }
    let (body, _) = walk
        .get(
            "GET /api/public/v1/events",
            "/api/public/v1/events?bbox=-73.06,-14.26,-73.04,-14.24",
            200,
        )
        .await;
    assert!(body["items"].as_array().unwrap().len() >= 2, "{body}");
    let (body, _) = walk
        .get(
            "GET /api/public/v1/events",
            "/api/public/v1/events?q=Uchcumarca",
            200,
        )
        .await;
    assert_eq!(body["items"], json!([]), "the place name is not searchable");
    let (body, _) = walk
        .get(
            "GET /api/public/v1/events",
            "/api/public/v1/events?q=incidente%201",
            200,
        )
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");

    for (id, title) in &seed.published {
        let (body, _) = walk
            .get(
                "GET /api/public/v1/events/{id}",
                &format!("/api/public/v1/events/{id}"),
                200,
            )
            .await;
        assert_eq!(body["title"], title.as_str());
        let (_, page) = walk
            .get(
                "GET /publico/incidentes/{id}",
                &format!("/publico/incidentes/{id}"),
                200,
            )
            .await;
        assert!(page.contains(title.as_str()), "{page}");
    }
    for (id, _) in &seed.internal {
        walk.get(
            "GET /api/public/v1/events/{id}",
            &format!("/api/public/v1/events/{id}"),
            404,
        )
        .await;
        walk.get(
            "GET /publico/incidentes/{id}",
            &format!("/publico/incidentes/{id}"),
            404,
        )
        .await;
    }

    let (_, csv) = walk
        .get(
            "GET /api/public/v1/events/export.csv",
            "/api/public/v1/events/export.csv",
            200,
        )
        .await;
    assert_eq!(csv.lines().count(), 1 + seed.published.len(), "{csv}");
    assert!(
        csv.lines().skip(1).all(|l| l.contains(",3,")),
        "geo_precision 3: {csv}"
    );
    let (geojson, _) = walk
        .get(
            "GET /api/public/v1/events/export.geojson",
            "/api/public/v1/events/export.geojson",
            200,
        )
        .await;
    assert_eq!(
        geojson["features"].as_array().unwrap().len(),
        seed.published.len()
    );
    for group_by in [
        "month",
        "year",
        "event_type",
        "region",
        "province",
        "holder",
        "verification",
    ] {
        let (body, _) = walk
            .get(
                "GET /api/public/v1/stats",
                &format!("/api/public/v1/stats?group_by={group_by}"),
                200,
            )
            .await;
        assert_eq!(body["total"]["count"], seed.published.len(), "{body}");
    }
    // The change feed: the published now with their record; the deleted
    // and the withdrawn as deletes; the never published not at all.
    let mut path = "/api/public/v1/events/changes?limit=2".to_string();
    let mut records = BTreeSet::new();
    let mut deletes = BTreeSet::new();
    let deadline = std::time::Instant::now() + crate::helpers::FEED_DEADLINE;
    loop {
        let (body, _) = walk
            .get("GET /api/public/v1/events/changes", &path, 200)
            .await;
        for item in body["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_string();
            if item["record"].is_null() {
                assert_eq!(item["change"], "delete", "{item}");
                deletes.insert(id.clone());
                records.remove(&id);
            } else {
                deletes.remove(&id);
                records.insert(id);
            }
        }
        // On PostgreSQL a feed waits for every older transaction of the
        // cluster, other tests' included: read on until the last writes
        // (the delete and the withdrawal) have come, within a deadline.
        let complete =
            records == expected.iter().cloned().collect::<BTreeSet<_>>() && deletes.len() == 2;
        if body["more"] != true && complete {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the public feed never caught up: {records:?} {deletes:?}"
        );
        path = format!(
            "/api/public/v1/events/changes?limit=2&since={}",
            body["next_cursor"].as_str().unwrap()
        );
    }
    assert_eq!(records, expected.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(
        deletes.len(),
        2,
        "the deleted and the withdrawn: {deletes:?}"
    );

    let (_, _) = walk
        .get(
            "GET /api/public/v1/attachments/{id}/content",
            &format!("/api/public/v1/attachments/{}/content", seed.public_file),
            200,
        )
        .await;
    walk.get(
        "GET /api/public/v1/attachments/{id}/thumbnail",
        &format!("/api/public/v1/attachments/{}/thumbnail", seed.public_file),
        200,
    )
    .await;
    let res = app
        .request(
            Method::GET,
            &format!("/api/public/v1/attachments/{}/content", seed.private_file),
            None,
            None,
        )
        .await;
    assert_eq!(res.status, 404);

    let (_, map) = walk.get("GET /publico", "/publico", 200).await;
    assert!(
        map.contains("/api/public/v1/events/export.geojson"),
        "{map}"
    );
    let (_, list) = walk
        .get("GET /publico/incidentes", "/publico/incidentes", 200)
        .await;
    for (_, title) in &seed.published {
        assert!(
            list.contains(title.as_str()),
            "{title} not in the list page"
        );
    }
    walk.get(
        "GET /publico/incidentes",
        "/publico/incidentes?q=incidente&event_type=protest&from=2023-01-01",
        200,
    )
    .await;
    let (_, figures) = walk
        .get("GET /publico/cifras", "/publico/cifras", 200)
        .await;
    assert!(figures.contains("<strong>4</strong>"), "{figures}");

    let visited: Vec<&str> = walk.visited.iter().map(String::as_str).collect();
    let mut routes = ROUTES.to_vec();
    routes.sort();
    assert_eq!(visited, routes, "the walk visits every public route");
    // The walk saw the published incidents and a public file: an empty
    // answer everywhere could not pass.
    for (_, title) in &seed.published {
        assert!(walk.text.contains(title.as_str()));
    }
    assert!(walk.text.contains("Radio Pública de prueba"));
}

/// Every public route is in the document, and the document lists them all.
#[actix_web::test]
async fn the_walk_covers_every_documented_public_route() {
    let app = spawn_app().await;
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/api/public/"))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let walked: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| r.contains("/api/public/"))
        .map(|r| r.to_string())
        .collect();
    assert_eq!(documented, walked);
}

/// Off by default: every public path is 404, whatever it names.
#[actix_web::test]
async fn with_the_public_map_off_every_public_path_is_404() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    for path in [
        "/api/public/v1/events".to_string(),
        format!("/api/public/v1/events/{id}"),
        "/api/public/v1/events/export.csv".into(),
        "/api/public/v1/events/export.geojson".into(),
        "/api/public/v1/events/changes".into(),
        "/api/public/v1/stats".into(),
        format!("/api/public/v1/attachments/{id}/content"),
        format!("/api/public/v1/attachments/{id}/thumbnail"),
        "/publico".into(),
        "/publico/incidentes".into(),
        format!("/publico/incidentes/{id}"),
        "/publico/cifras".into(),
    ] {
        let res = app.request(Method::GET, &path, None, None).await;
        assert_eq!(res.status, 404, "{path}");
    }
}

/// Past `public.rate_per_minute` requests, 429 with Retry-After.
#[actix_web::test]
async fn a_client_past_its_rate_gets_429() {
    let app = spawn_app_with(TestDb::new(), |s| {
        s.public.enabled = true;
        s.public.rate_per_minute = 5;
    })
    .await;
    for _ in 0..5 {
        let res = app
            .request(
                Method::GET,
                "/api/public/v1/stats?group_by=year",
                None,
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let res = app.request(Method::GET, "/publico", None, None).await;
    assert_eq!(res.status, 429);
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}

/// Publishing is the admins'; the state shows in the JSON and filters the
/// list; a confidential source is for monitors and admins only.
#[actix_web::test]
async fn admins_publish_and_only_monitors_and_admins_read_confidential_sources() {
    let app = spawn_app().await;
    let event = app
        .create_event(json!({
            "title": "Marcha con testimonio",
            "event_type": "protest",
            "occurred_on": "2023-05-01",
            "location": {"lat": -14.0, "lon": -73.0},
            "sources": [
                {"publisher": "Diario abierto"},
                {"publisher": "Testigo reservado", "confidential": true}
            ]
        }))
        .await;
    let id = event["id"].as_str().unwrap();
    assert_eq!(event["publication"], "internal");
    assert_eq!(event["sources"][1]["confidential"], true);
    let path = format!("/api/v1/events/{id}/publication");
    let res = app
        .post(&path, &app.monitor, json!({"state": "published"}))
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    let res = app
        .post(&path, &app.admin, json!({"state": "nonsense"}))
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.body);
    let res = app
        .post(&path, &app.admin, json!({"state": "published"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body["published_at"].is_string());
    let list = app
        .get("/api/v1/events?publication=published", &app.researcher)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let list = app
        .get("/api/v1/events?publication=internal", &app.researcher)
        .await;
    assert_eq!(list.body["items"], json!([]));
    // The researcher's answers lose the confidential source everywhere.
    for path in [
        format!("/api/v1/events/{id}"),
        "/api/v1/events".to_string(),
        "/api/v1/events/changes".into(),
        format!("/api/v1/events/{id}/history"),
        "/api/v1/events/export.csv".into(),
        "/api/v1/events/export.geojson".into(),
    ] {
        // On PostgreSQL the change feed waits for every older transaction of
        // the cluster, other tests' included: ask again until it has come.
        let deadline = std::time::Instant::now() + crate::helpers::FEED_DEADLINE;
        let res = loop {
            let res = app.get(&path, &app.researcher).await;
            let waiting = path.ends_with("/changes") && res.body["items"] == json!([]);
            if !waiting || std::time::Instant::now() > deadline {
                break res;
            }
        };
        assert_eq!(res.status, 200, "{path}");
        let text = String::from_utf8_lossy(&res.bytes);
        assert!(!text.contains("Testigo reservado"), "{path}: {text}");
        assert!(text.contains("Diario abierto"), "{path}: {text}");
        let res = app.get(&path, &app.monitor).await;
        let text = String::from_utf8_lossy(&res.bytes);
        assert!(
            text.contains("Testigo reservado"),
            "monitor, {path}: {text}"
        );
    }
    // The audit trail keeps who published.
    let history = app
        .get(&format!("/api/v1/events/{id}/history"), &app.admin)
        .await;
    let last = history.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["after"]["publication"], "published", "{last}");
    assert_eq!(last["before"]["publication"], "internal", "{last}");
}
