//! Concessions, districts and the matching of incidents to them.

use serde_json::{json, Value};

use crate::actors::{create_actor, spcc};
use crate::helpers::{event_with, los_chancas, spawn_app, spawn_app_on, TestApp, TestDb};

const CHANCAS: (f64, f64) = (-73.0884214, -14.2190728);

/// A square outline of `half` degrees around a point.
fn square(lon: f64, lat: f64, half: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]
    ]]})
}

async fn add_concession(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/concessions", &app.admin, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

fn codes(event: &Value) -> Vec<String> {
    event["concessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn incidents_are_matched_to_every_concession_they_fall_in() {
    let app = spawn_app().await;
    // An incident logged before the concessions exist is matched when they arrive.
    let early = app.create_event(los_chancas()).await;
    assert_eq!(codes(&early), Vec::<String>::new());

    let company = create_actor(&app, spcc()).await;
    let chancas = add_concession(
        &app,
        json!({
            "code": "010000424L",
            "name": "LOS CHANCAS",
            "holder_name": "SOUTHERN PERU COPPER CORPORATION SUCURSAL DEL PERU",
            "hectares": 1000.0,
            "filed_on": "1995-06-01",
            "geometry": square(CHANCAS.0, CHANCAS.1, 0.05)
        }),
    )
    .await;
    assert_eq!(
        chancas["holder"]["id"], company["id"],
        "the holder is matched to the existing actor by name"
    );
    assert_eq!(chancas["geometry_valid"], true);
    assert_eq!(chancas["source_crs"], "EPSG:4326");
    let overlapping = add_concession(
        &app,
        json!({
            "code": "P0100302", "name": "TIAPARO 2", "holder_name": "Juan Pérez Quispe",
            "geometry": square(CHANCAS.0 + 0.03, CHANCAS.1, 0.05)
        }),
    )
    .await;
    assert_eq!(overlapping["holder"]["name"], "Juan Pérez Quispe");
    add_concession(
        &app,
        json!({"code": "0302958BX01", "name": "LEJOS", "geometry": square(-77.0, -9.0, 0.01)}),
    )
    .await;

    let early = app
        .get(
            &format!("/api/v1/events/{}", early["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(codes(&early.body), ["010000424L", "P0100302"]);
    assert_eq!(
        early.body["concessions"][0]["holder"]["name"],
        "Southern Perú Copper Corporation"
    );

    let inside = app
        .create_event(event_with(
            json!({"location": {"lat": CHANCAS.1, "lon": CHANCAS.0 - 0.04}}),
        ))
        .await;
    assert_eq!(codes(&inside), ["010000424L"]);
    let outside = app
        .create_event(event_with(
            json!({"location": {"lat": -12.0, "lon": -77.0}}),
        ))
        .await;
    assert_eq!(codes(&outside), Vec::<String>::new());

    // Point lookup: both overlapping concessions.
    let at = app
        .get(
            &format!("/api/v1/concessions/at?lat={}&lon={}", CHANCAS.1, CHANCAS.0),
            &app.researcher,
        )
        .await;
    let found: Vec<&str> = at.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["010000424L", "P0100302"]);

    // Filters and the concession's incidents.
    let id = chancas["id"].as_str().unwrap();
    let list = app
        .get(&format!("/api/v1/events?concession={id}"), &app.researcher)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let list = app
        .get(&format!("/api/v1/concessions/{id}/events"), &app.researcher)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);

    // Moving an incident out unmatches it.
    let moved = app
        .patch(
            &format!("/api/v1/events/{}", inside["id"].as_str().unwrap()),
            &app.monitor,
            json!({"location": {"lon": -70.0}}),
            Some("*"),
        )
        .await;
    assert_eq!(codes(&moved.body), Vec::<String>::new());

    // Removing a concession unmatches its incidents and is a registry change.
    assert_eq!(
        app.delete(&format!("/api/v1/concessions/{id}"), &app.admin, Some("*"))
            .await
            .status,
        204
    );
    let early = app
        .get(
            &format!("/api/v1/events/{}", early.body["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(codes(&early.body), ["P0100302"]);
    let changes = app
        .get(
            "/api/v1/concessions/changes?since=2000-01-01T00:00:00Z",
            &app.researcher,
        )
        .await;
    let kinds: Vec<&str> = changes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["added", "added", "added", "removed"]);
}

#[actix_web::test]
async fn concession_edits_are_registry_changes() {
    let app = spawn_app().await;
    let c = add_concession(&app, json!({"code": "010461925", "name": "MINERA CHRISGIN UNO", "holder_name": "GINER ROY CASIO", "geometry": square(-78.0, -8.0, 0.01)})).await;
    let path = format!("/api/v1/concessions/{}", c["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &app.admin,
            json!({"name": "CHRISGIN 1", "holder_name": "Minera Nueva S.A.C."}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["holder"]["name"], "Minera Nueva S.A.C.");
    app.patch(&path, &app.admin, json!({"name": "X"}), Some("\"1\""))
        .await
        .problem(412);
    app.patch(&path, &app.admin, json!({"code": "999"}), Some("*"))
        .await
        .problem(422);
    let res = app
        .patch(
            &path,
            &app.admin,
            json!({"geometry": square(-78.0, -8.0, 0.02)}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let changes = app
        .get("/api/v1/concessions/changes", &app.researcher)
        .await;
    let kinds: Vec<&str> = changes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["added", "holder_changed", "renamed", "geometry_changed"]
    );
    assert_eq!(
        changes.body["items"][1]["before"]["holder"],
        "GINER ROY CASIO"
    );
}

#[actix_web::test]
async fn bad_concessions_are_422_or_409() {
    let app = spawn_app().await;
    let bad_geometries = [
        json!({"type": "Point", "coordinates": [-73.0, -14.0]}),
        json!({"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-72.9, -14.0], [-73.0, -14.0]]]}),
        json!({"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-72.9, -14.0], [-72.9, -14.1], [-73.0, -14.1]]]}),
        json!({"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-272.9, -14.0], [-72.9, -14.1], [-73.0, -14.0]]]}),
        json!({"type": "Polygon", "coordinates": [[[-73.0, -94.0], [-72.9, -14.0], [-72.9, -14.1], [-73.0, -94.0]]]}),
        json!({"type": "MultiPolygon", "coordinates": []}),
        json!("POLYGON((0 0, 1 0, 1 1, 0 0))"),
    ];
    for geometry in bad_geometries {
        let res = app
            .post(
                "/api/v1/concessions",
                &app.admin,
                json!({"code": "X1", "name": "X", "geometry": geometry}),
            )
            .await;
        assert_eq!(res.invalid_fields(), vec!["geometry"], "{geometry}");
    }
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "a b", "name": "", "hectares": -1}),
        )
        .await;
    let mut fields = res.invalid_fields();
    fields.dedup();
    assert_eq!(fields, vec!["code", "geometry", "hectares", "name"]);
    let res = app
        .post("/api/v1/concessions", &app.admin, json!({"code": "X1", "name": "X", "holder_id": "6f1c2a4e-0000-4000-8000-000000000000", "geometry": square(-73.0, -14.0, 0.01)}))
        .await;
    assert_eq!(res.invalid_fields(), vec!["holder_id"]);
    let res = app
        .post("/api/v1/concessions", &app.admin, json!({"code": "X1", "name": "X", "holder_id": "6f1c2a4e-0000-4000-8000-000000000000", "holder_name": "Y", "geometry": square(-73.0, -14.0, 0.01)}))
        .await;
    assert_eq!(res.invalid_fields(), vec!["holder_id"]);
    // Self-intersecting outlines occur in the cadastre: kept, and flagged.
    let bowtie = json!({"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-72.9, -14.1], [-72.9, -14.0], [-73.0, -14.1], [-73.0, -14.0]]]});
    let kept = add_concession(&app, json!({"code": "X1", "name": "X", "geometry": bowtie})).await;
    assert_eq!(kept["geometry_valid"], false);
    app.post(
        "/api/v1/concessions",
        &app.admin,
        json!({"code": "X1", "name": "X", "geometry": square(-73.0, -14.0, 0.01)}),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/concessions",
        &app.monitor,
        json!({"code": "X2", "name": "X", "geometry": square(-73.0, -14.0, 0.01)}),
    )
    .await
    .problem(403);
    for query in ["lat=95&lon=0", "lat=x&lon=0", "lon=0", "lat=1&lon=1&z=2"] {
        app.get(&format!("/api/v1/concessions/at?{query}"), &app.researcher)
            .await
            .problem(400);
    }
    app.get("/api/v1/concessions/not-an-id", &app.researcher)
        .await
        .problem(404);
    // Not an id, so an INGEMMET code no concession has: no incident.
    let res = app
        .get("/api/v1/events?concession=nope", &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["items"], serde_json::json!([]));
}

#[actix_web::test]
async fn geojson_for_qgis() {
    let app = spawn_app().await;
    add_concession(
        &app,
        json!({"code": "010461925", "name": "CHRISGIN", "geometry": square(-78.0, -8.0, 0.01)}),
    )
    .await;
    let res = app
        .send(
            actix_web::http::Method::GET,
            "/api/v1/concessions",
            Some(&app.researcher),
            &[("Accept", "application/geo+json")],
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/geo+json")
    );
    assert_eq!(res.body["type"], "FeatureCollection");
    assert_eq!(res.body["features"][0]["type"], "Feature");
    assert_eq!(res.body["features"][0]["geometry"]["type"], "Polygon");
    assert_eq!(res.body["features"][0]["properties"]["code"], "010461925");
    let id = res.body["features"][0]["id"].as_str().unwrap().to_string();
    let one = app
        .send(
            actix_web::http::Method::GET,
            &format!("/api/v1/concessions/{id}"),
            Some(&app.researcher),
            &[("Accept", "application/geo+json")],
            None,
        )
        .await;
    assert_eq!(one.body["type"], "Feature");
    let plain = app
        .get(&format!("/api/v1/concessions/{id}"), &app.researcher)
        .await;
    assert_eq!(plain.body["code"], "010461925");
    let bbox = app
        .get(
            "/api/v1/concessions?bbox=-78.1,-8.1,-77.9,-7.9&q=chrisgin",
            &app.researcher,
        )
        .await;
    assert_eq!(bbox.body["items"].as_array().unwrap().len(), 1);
    let none = app
        .get("/api/v1/concessions?bbox=-70,-10,-69,-9", &app.researcher)
        .await;
    assert_eq!(none.body["items"], json!([]));
}

/// Two server processes on one database: each has its own index; a
/// concession added through one is used by the other at once.
#[actix_web::test]
async fn a_second_server_sees_the_first_ones_concessions() {
    let app_a = spawn_app().await;
    let db = TestDb::reuse(&app_a.test_db);
    let app_b = spawn_app_on(db).await;
    // B builds its index now, while the layer is empty.
    let before = app_b
        .create_event(event_with(json!({"location": {"lat": -8.0, "lon": -78.0}})))
        .await;
    assert_eq!(codes(&before), Vec::<String>::new());
    add_concession(
        &app_a,
        json!({"code": "010461925", "name": "CHRISGIN", "geometry": square(-78.0, -8.0, 0.01)}),
    )
    .await;
    let after = app_b
        .create_event(event_with(json!({"location": {"lat": -8.0, "lon": -78.0}})))
        .await;
    assert_eq!(codes(&after), ["010461925"]);
    let before = app_b
        .get(
            &format!("/api/v1/events/{}", before["id"].as_str().unwrap()),
            &app_b.researcher,
        )
        .await;
    assert_eq!(codes(&before.body), ["010461925"]);
}

fn run_cli(db: &TestDb, args: &[&str]) -> (bool, String) {
    let out = crate::cli::vigia(db).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[actix_web::test]
async fn districts_code_the_incidents_their_clients_did_not_place() {
    let Some(districts) = crate::helpers::shared_data("peru-districts.geojson") else {
        return;
    };
    let app = spawn_app().await;
    let mut unplaced = los_chancas();
    unplaced.as_object_mut().unwrap().remove("admin");
    let before = app.create_event(unplaced.clone()).await;
    assert_eq!(before["admin"], Value::Null);
    let placed = app.create_event(los_chancas()).await;

    // Another process loads the boundaries; the 8 null geometries are named and skipped.
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "boundaries", districts.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    for name in [
        "AMANTANI",
        "EL PARCO",
        "LA PUNTA",
        "SANTA ANITA",
        "GOYLLARISQUIZGA",
        "ACOPAMPA",
        "TRITA",
        "BELLAVISTA",
    ] {
        assert!(stderr.contains(name), "{name} not reported: {stderr}");
    }
    assert!(stderr.contains("1826 districts loaded"), "{stderr}");

    let pocohuanca = json!({"ubigeo": "030410", "region": "APURIMAC", "province": "AYMARAES", "district": "POCOHUANCA"});
    let recoded = app
        .get(
            &format!("/api/v1/events/{}", before["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(recoded.body["admin"], pocohuanca);
    assert_eq!(recoded.body["admin_source"], "boundaries");
    let kept = app
        .get(
            &format!("/api/v1/events/{}", placed["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(
        kept.body["admin"], placed["admin"],
        "a place the client gave is kept"
    );
    assert_eq!(kept.body["admin_source"], "client");

    // New incidents are coded at once, and the code follows the point.
    let fresh = app.create_event(unplaced).await;
    assert_eq!(fresh["admin"], pocohuanca);
    assert_eq!(fresh["admin_source"], "boundaries");
    let path = format!("/api/v1/events/{}", fresh["id"].as_str().unwrap());
    let moved = app
        .patch(
            &path,
            &app.monitor,
            json!({"location": {"lat": -12.0464, "lon": -77.0428}}),
            Some("*"),
        )
        .await;
    assert_eq!(moved.body["admin"]["region"], "LIMA", "{}", moved.body);
    assert_eq!(moved.body["admin_source"], "boundaries");
    let listed = app
        .get("/api/v1/events?ubigeo=030410", &app.researcher)
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn the_real_cadastre_imports_in_another_process_and_matches() {
    let Some(geojson) = crate::helpers::shared_data("ingemmet-concessions-utm17s.geojson") else {
        return;
    };
    let Some(shp) =
        crate::helpers::shared_data("ingemmet-concessions-utm17s-shp/concesiones_17s.shp")
    else {
        return;
    };
    let app = spawn_app().await;
    // Inside MINERA CHRISGIN UNO (010461925), given in UTM 17S by the file.
    let utm = vigia::places::crs::Crs::from_epsg(32717).unwrap();
    let (lon, lat) = utm.to_wgs84(816_000.0, 8_967_500.0).unwrap();
    let early = app
        .create_event(event_with(json!({"location": {"lat": lat, "lon": lon}})))
        .await;
    assert_eq!(codes(&early), Vec::<String>::new());

    // Projected coordinates and no CRS: a clear error, nothing written.
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "concessions", geojson.to_str().unwrap()],
    );
    assert!(!ok && stderr.contains("--crs"), "{stderr}");
    let none = app
        .get("/api/v1/concessions?limit=1", &app.researcher)
        .await;
    assert_eq!(none.body["items"], json!([]));
    let (ok, stderr) = run_cli(
        &app.test_db,
        &[
            "import",
            "concessions",
            geojson.to_str().unwrap(),
            "--crs",
            "EPSG:9999",
        ],
    );
    assert!(!ok && stderr.contains("not supported"), "{stderr}");

    let (ok, stderr) = run_cli(
        &app.test_db,
        &[
            "import",
            "concessions",
            geojson.to_str().unwrap(),
            "--crs",
            "EPSG:32717",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("9025 read (EPSG:32717), 9025 added, 0 updated, 0 unchanged"),
        "{stderr}"
    );
    assert!(stderr.contains("1 incidents matched again"), "{stderr}");

    // The incident logged before the import was matched by the importing process.
    let early = app
        .get(
            &format!("/api/v1/events/{}", early["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert!(
        codes(&early.body).contains(&"010461925".to_string()),
        "{}",
        early.body
    );
    // The server sees the new layer for new incidents.
    let fresh = app
        .create_event(event_with(json!({"location": {"lat": lat, "lon": lon}})))
        .await;
    assert!(codes(&fresh).contains(&"010461925".to_string()));
    let at = app
        .get(
            &format!("/api/v1/concessions/at?lat={lat}&lon={lon}"),
            &app.researcher,
        )
        .await;
    let chrisgin = at.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "010461925")
        .unwrap()
        .clone();
    assert_eq!(chrisgin["name"], "MINERA CHRISGIN UNO");
    assert_eq!(
        chrisgin["holder"]["name"],
        "GINER ROY CASIO CONSOLACION Y OTROS"
    );
    assert_eq!(chrisgin["filed_on"], "2025-12-30");
    assert_eq!(chrisgin["source_crs"], "EPSG:32717");
    assert_eq!(
        chrisgin["attributes"]["TIT_CONCES"],
        "GINER ROY CASIO CONSOLACION Y OTROS"
    );
    let invalid = at.body["items"].as_array().unwrap().len();
    assert!(invalid >= 1);

    // The same file again changes nothing.
    let (ok, stderr) = run_cli(
        &app.test_db,
        &[
            "import",
            "concessions",
            geojson.to_str().unwrap(),
            "--crs",
            "EPSG:32717",
        ],
    );
    assert!(
        ok && stderr.contains("0 added, 0 updated, 9025 unchanged"),
        "{stderr}"
    );
    let changes = app
        .get("/api/v1/concessions/changes?limit=200", &app.researcher)
        .await;
    assert!(changes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["change"] == "added"));

    // The shapefile, CRS from its .prj: the same concessions, none added.
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "concessions", shp.to_str().unwrap()],
    );
    assert!(
        ok && stderr.contains("9025 read (EPSG:32717), 0 added"),
        "{stderr}"
    );
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "concessions", shp.to_str().unwrap()],
    );
    assert!(
        ok && stderr.contains("0 added, 0 updated, 9025 unchanged"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn a_renamed_holder_shows_in_new_matches() {
    let app = spawn_app().await;
    let company = create_actor(&app, spcc()).await;
    add_concession(&app, json!({"code": "010000424L", "name": "LOS CHANCAS", "holder_id": company["id"], "geometry": square(CHANCAS.0, CHANCAS.1, 0.05)})).await;
    let first = app.create_event(los_chancas()).await;
    assert_eq!(
        first["concessions"][0]["holder"]["name"],
        "Southern Perú Copper Corporation"
    );
    let path = format!("/api/v1/actors/{}", company["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"name": "Southern Copper Corporation"}),
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let second = app.create_event(los_chancas()).await;
    assert_eq!(
        second["concessions"][0]["holder"]["name"],
        "Southern Copper Corporation"
    );
    let first = app
        .get(
            &format!("/api/v1/events/{}", first["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(
        first.body["concessions"][0]["holder"]["name"],
        "Southern Copper Corporation"
    );
}

#[actix_web::test]
async fn a_restored_incident_is_matched_to_todays_concessions() {
    let app = spawn_app().await;
    let event = app.create_event(los_chancas()).await;
    let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &app.monitor, Some("*")).await.status, 204);
    add_concession(&app, json!({"code": "010000424L", "name": "LOS CHANCAS", "geometry": square(CHANCAS.0, CHANCAS.1, 0.05)})).await;
    let restored = app
        .request(
            actix_web::http::Method::POST,
            &format!("{path}/restore"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(codes(&restored.body), ["010000424L"]);
}

fn feature(code: Option<&str>, geometry: Value) -> Value {
    let mut props = json!({"CONCESION": "PRUEBA", "TIT_CONCES": "MINERA PRUEBA S.A.C.", "FEC_DENU": "Tue Dec 30 2025 00:00:00 GMT-0500 (hora estándar de Perú)", "HECTAGIS": "100,5", "EXTRA": 7});
    if let Some(code) = code {
        props["CODIGOU"] = json!(code);
    }
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

fn write_collection(dir: &std::path::Path, name: &str, features: Vec<Value>) -> String {
    let path = dir.join(name);
    let doc = json!({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": features});
    std::fs::write(&path, doc.to_string()).unwrap();
    path.display().to_string()
}

#[actix_web::test]
async fn imports_report_bad_features_and_full_snapshots_remove() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let open_ring = json!({"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-72.9, -14.0], [-72.9, -14.1], [-73.0, -14.1]]]});
    let file = write_collection(
        dir.path(),
        "zone.geojson",
        vec![
            feature(Some("A1"), square(-73.0, -14.0, 0.01)),
            feature(Some("B2"), square(-73.1, -14.0, 0.01)),
            feature(Some("C3"), Value::Null),
            feature(Some("D4"), open_ring),
            feature(None, square(-73.2, -14.0, 0.01)),
            feature(Some("A1"), square(-73.0, -14.0, 0.01)),
        ],
    );
    let (ok, stderr) = run_cli(&app.test_db, &["import", "concessions", &file]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("6 read (EPSG:4326), 2 added"), "{stderr}");
    assert!(stderr.contains("4 skipped"), "{stderr}");
    for reason in [
        "feature 2 (C3): no geometry",
        "feature 3 (D4): a ring is not closed",
        "feature 4 (no code): no CODIGOU",
        "feature 5 (A1): the code appears earlier",
    ] {
        assert!(stderr.contains(reason), "{reason:?} not in {stderr}");
    }
    let a1 = app
        .get("/api/v1/concessions?code=A1", &app.researcher)
        .await;
    let a1 = &a1.body["items"][0];
    assert_eq!(a1["hectares"], 100.5);
    assert_eq!(a1["filed_on"], "2025-12-30");
    assert_eq!(a1["attributes"]["EXTRA"], 7, "unknown attributes are kept");
    assert_eq!(a1["holder"]["name"], "MINERA PRUEBA S.A.C.");

    // A newer full snapshot of the zone without B2: B2 is removed.
    let newer = write_collection(
        dir.path(),
        "zone-newer.geojson",
        vec![feature(Some("A1"), square(-73.0, -14.0, 0.01))],
    );
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "concessions", &newer, "--full-snapshot"],
    );
    assert!(
        ok && stderr.contains("0 added, 0 updated, 1 unchanged, 1 removed"),
        "{stderr}"
    );
    let b2 = app
        .get("/api/v1/concessions?code=B2", &app.researcher)
        .await;
    assert_eq!(b2.body["items"], json!([]));
    let changes = app
        .get("/api/v1/concessions/changes", &app.researcher)
        .await;
    let last = changes.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["code"].as_str(), last["change"].as_str()),
        (Some("B2"), Some("removed"))
    );

    // The older snapshot again: B2 comes back as the same concession, re-added.
    let (ok, stderr) = run_cli(&app.test_db, &["import", "concessions", &file]);
    assert!(
        ok && stderr.contains("0 added, 1 updated, 1 unchanged"),
        "{stderr}"
    );
    let back = app
        .get("/api/v1/concessions?code=B2", &app.researcher)
        .await;
    assert_eq!(back.body["items"][0]["code"], "B2");
    let changes = app
        .get("/api/v1/concessions/changes", &app.researcher)
        .await;
    let last = changes.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["code"].as_str(), last["change"].as_str()),
        (Some("B2"), Some("added"))
    );

    // Nothing usable: a non-zero exit, nothing written.
    let empty = write_collection(
        dir.path(),
        "bad.geojson",
        vec![feature(Some("Z9"), Value::Null)],
    );
    let (ok, stderr) = run_cli(&app.test_db, &["import", "concessions", &empty]);
    assert!(!ok && stderr.contains("no usable concession"), "{stderr}");
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "concessions", "/nonexistent.geojson"],
    );
    assert!(!ok && stderr.lines().count() == 1, "{stderr}");
}

/// Issue 10, item 19: people know a concession by its INGEMMET code, not
/// by Vigía's id; the incident list takes either.
#[actix_web::test]
async fn the_concession_filter_takes_the_ingemmet_code_or_the_id() {
    let app = spawn_app().await;
    let chancas = add_concession(
        &app,
        json!({"code": "010000424L", "name": "LOS CHANCAS", "geometry": square(CHANCAS.0, CHANCAS.1, 0.05)}),
    )
    .await;
    add_concession(
        &app,
        json!({"code": "010000999", "name": "LEJOS", "geometry": square(-78.0, -8.0, 0.05)}),
    )
    .await;
    let event = app.create_event(los_chancas()).await;
    let ids = |res: crate::helpers::Response| -> Vec<String> {
        assert_eq!(res.status, 200, "{}", res.body);
        res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let want = vec![event["id"].as_str().unwrap().to_string()];
    for key in ["010000424L", chancas["id"].as_str().unwrap()] {
        let res = app
            .get(&format!("/api/v1/events?concession={key}"), &app.researcher)
            .await;
        assert_eq!(ids(res), want, "concession={key}");
    }
    let res = app
        .get("/api/v1/events?concession=010000999", &app.researcher)
        .await;
    assert!(ids(res).is_empty());
}

/// Issue 10, item 15: a point 9,000 km from Peru (`lon +73.08`, a sign
/// error) was accepted with `admin: null` and no word. With boundaries
/// loaded it is still stored, with a warning; `ubigeo=none` finds it.
#[actix_web::test]
async fn a_point_outside_every_district_is_stored_with_a_warning() {
    let app = spawn_app().await;
    let (lon, lat) = CHANCAS;
    // Before any boundaries are loaded nothing is "outside": no warning.
    let early = app
        .create_event(event_with(json!({"location": {"lat": lat, "lon": -lon}})))
        .await;
    assert!(early.get("warnings").is_none(), "{early}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pocohuanca.geojson");
    let district = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"IDDIST": "030410", "NOMBDIST": "POCOHUANCA", "NOMBPROV": "AYMARAES", "NOMBDEP": "APURIMAC"},
        "geometry": square(lon, lat, 0.1)}]});
    std::fs::write(&file, district.to_string()).unwrap();
    let (ok, stderr) = run_cli(
        &app.test_db,
        &["import", "boundaries", file.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");

    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            event_with(json!({"location": {"lat": lat, "lon": -lon}})),
        )
        .await;
    assert_eq!(res.status, 201, "stored all the same: {}", res.body);
    let stray = res.body.clone();
    assert_eq!(stray["admin"], Value::Null);
    assert_eq!(
        stray["warnings"][0]["code"], "outside_boundaries",
        "{stray}"
    );
    assert_eq!(stray["warnings"][0]["field"], "location");
    let inside = app
        .create_event(event_with(json!({"location": {"lat": lat, "lon": lon}})))
        .await;
    assert!(inside.get("warnings").is_none(), "{inside}");
    assert_eq!(inside["admin"]["ubigeo"], "030410");
    // The warning is for the writer: the incident read back carries none.
    let path = format!("/api/v1/events/{}", stray["id"].as_str().unwrap());
    assert!(app
        .get(&path, &app.researcher)
        .await
        .body
        .get("warnings")
        .is_none());
    // Moving it into the district takes the warning away; back out, it returns.
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"location": {"lon": lon}}),
            Some("*"),
        )
        .await;
    assert!(res.body.get("warnings").is_none(), "{}", res.body);
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"location": {"lon": -lon}}),
            Some("*"),
        )
        .await;
    assert_eq!(res.body["warnings"][0]["code"], "outside_boundaries");

    let res = app.get("/api/v1/events?ubigeo=none", &app.researcher).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let mut found: Vec<&str> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    found.sort();
    let mut want = vec![early["id"].as_str().unwrap(), stray["id"].as_str().unwrap()];
    want.sort();
    assert_eq!(found, want);
}

/// The concession audit records of an incident's history: (before, after)
/// codes of each rematch.
async fn rematch_records(app: &TestApp, event: &Value) -> Vec<(Vec<String>, Vec<String>)> {
    let history = app
        .get(
            &format!("/api/v1/events/{}/history", event["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let side = |v: &Value| -> Vec<String> {
        v["concessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_string())
            .collect()
    };
    history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entity"] == "event_concession")
        .map(|r| (side(&r["before"]), side(&r["after"])))
        .collect()
}

async fn codes_of(app: &TestApp, event: &Value) -> Vec<String> {
    let res = app
        .get(
            &format!("/api/v1/events/{}", event["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    codes(&res.body)
}

/// A single concession's create, edit of its outline and removal match
/// again the incidents inside its old or new outline's box, with an audit
/// record each, and no other incident: one whose match was taken away
/// behind Vigía's back, far from the concession, is not looked at.
#[actix_web::test]
async fn a_concession_write_rematches_only_incidents_in_its_boxes() {
    let app = spawn_app().await;
    add_concession(
        &app,
        json!({"code": "FAR", "name": "LEJOS", "geometry": square(-70.0, -15.0, 0.05)}),
    )
    .await;
    let at = |lon: f64, lat: f64| event_with(json!({"location": {"lat": lat, "lon": lon}}));
    let in_old = app.create_event(at(-75.03, -9.97)).await;
    let in_new = app.create_event(at(-74.0, -10.0)).await;
    // In the old outline's box, outside the (triangular) outline itself.
    let in_old_box_only = app.create_event(at(-74.96, -10.04)).await;
    let kept = app.create_event(at(-70.0, -15.0)).await;
    let untouched = app.create_event(at(-70.01, -15.0)).await;
    assert_eq!(codes(&kept), ["FAR"]);
    assert_eq!(codes(&untouched), ["FAR"]);
    {
        use diesel::prelude::*;
        use vigia::schema::event_concessions;
        let mut conn = app.db.get().unwrap();
        diesel::delete(
            event_concessions::table
                .filter(event_concessions::event_id.eq(untouched["id"].as_str().unwrap())),
        )
        .execute(&mut *conn)
        .unwrap();
    }

    // A triangle: its box holds `in_old_box_only`, its outline does not.
    let created = add_concession(
        &app,
        json!({"code": "K", "name": "KALLPA", "geometry": {"type": "Polygon", "coordinates": [[
            [-75.05, -10.05], [-74.95, -9.95], [-75.05, -9.95], [-75.05, -10.05]
        ]]}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(codes_of(&app, &in_old).await, ["K"]);
    assert_eq!(codes_of(&app, &in_old_box_only).await, Vec::<String>::new());
    assert_eq!(
        rematch_records(&app, &in_old).await,
        [(vec![], vec!["K".to_string()])]
    );

    let moved = app
        .patch(
            &format!("/api/v1/concessions/{id}"),
            &app.admin,
            json!({"geometry": square(-74.0, -10.0, 0.05)}),
            Some("*"),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(codes_of(&app, &in_old).await, Vec::<String>::new());
    assert_eq!(codes_of(&app, &in_new).await, ["K"]);
    assert_eq!(
        rematch_records(&app, &in_old).await,
        [
            (vec![], vec!["K".to_string()]),
            (vec!["K".to_string()], vec![])
        ]
    );
    assert_eq!(
        rematch_records(&app, &in_new).await,
        [(vec![], vec!["K".to_string()])]
    );

    assert_eq!(
        app.delete(&format!("/api/v1/concessions/{id}"), &app.admin, Some("*"))
            .await
            .status,
        204
    );
    assert_eq!(codes_of(&app, &in_new).await, Vec::<String>::new());
    assert_eq!(rematch_records(&app, &in_new).await.len(), 2);

    // Far away, nothing was looked at: the kept match stays, and the one
    // taken away stays away (a pass over every incident would restore it).
    assert_eq!(codes_of(&app, &kept).await, ["FAR"]);
    assert_eq!(codes_of(&app, &untouched).await, Vec::<String>::new());
    assert!(rematch_records(&app, &kept).await.is_empty());
    assert!(rematch_records(&app, &untouched).await.is_empty());
}

/// The concessions at (-78, -8), as the point lookup answers.
async fn lookup(app: &TestApp) -> Vec<Value> {
    let res = app
        .get("/api/v1/concessions/at?lat=-8.0&lon=-78.0", &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["items"].as_array().unwrap().clone()
}

/// The point lookup answers from the index: the same JSON as the
/// concession's own page, and a change committed through another server
/// process (its own index) shows in this one's lookups soon after.
#[actix_web::test]
async fn point_lookups_see_another_process_changes_soon() {
    let app_a = spawn_app().await;
    let app_b = spawn_app_on(TestDb::reuse(&app_a.test_db)).await;
    assert!(lookup(&app_b).await.is_empty());
    let added = add_concession(
        &app_a,
        json!({"code": "010461925", "name": "CHRISGIN", "holder_name": "Giner Roy",
               "hectares": 12.5, "geometry": square(-78.0, -8.0, 0.01)}),
    )
    .await;
    // The writer's own process sees its change at once.
    assert_eq!(lookup(&app_a).await, std::slice::from_ref(&added));
    let deadline = std::time::Instant::now()
        + vigia::places::index::CONCESSIONS_FRESH_FOR
        + std::time::Duration::from_secs(10);
    let seen = loop {
        let items = lookup(&app_b).await;
        if !items.is_empty() || std::time::Instant::now() > deadline {
            break items;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let own = app_b
        .get(
            &format!("/api/v1/concessions/{}", added["id"].as_str().unwrap()),
            &app_b.researcher,
        )
        .await;
    assert_eq!(seen, [own.body]);

    // An edit of the name, not the outline, shows too.
    let renamed = app_a
        .patch(
            &format!("/api/v1/concessions/{}", added["id"].as_str().unwrap()),
            &app_a.admin,
            json!({"name": "CHRISGIN UNO"}),
            Some("*"),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(lookup(&app_a).await, std::slice::from_ref(&renamed.body));
    let seen = loop {
        let items = lookup(&app_b).await;
        if items.first().is_some_and(|c| c["name"] == "CHRISGIN UNO")
            || std::time::Instant::now() > deadline + std::time::Duration::from_secs(10)
        {
            break items;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(seen, [renamed.body]);
}
