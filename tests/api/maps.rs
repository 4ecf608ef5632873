//! What the map reads: incidents in view as markers or grid cells, district
//! outlines simplified to the zoom, the district of a point, concession
//! outlines simplified the same way.

use std::collections::BTreeSet;

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::helpers::{event_with, los_chancas, shared_data, spawn_app, TestApp};
use vigia::events::store::{self, EventFilter};
use vigia::events::{EventFields, EventInput};

/// Peru's box, as the map asks for it first.
const PERU: &str = "-81.4,-18.4,-68.6,-0.03";

fn fields(body: Value) -> EventFields {
    serde_json::from_value::<EventInput>(body)
        .unwrap()
        .into_fields()
        .unwrap()
}

/// Logs incidents straight through the operation, in one transaction: far
/// faster than one request each.
fn seed(app: &TestApp, all: Vec<EventFields>) {
    let who = vigia::ops::Who {
        role: vigia::keys::Role::Monitor,
        actor: vigia::audit::Actor {
            key_id: None,
            name: "seed".into(),
        },
    };
    let mut conn = app.db.get().unwrap();
    let index = vigia::places::PlaceIndex::default();
    vigia::ops::events::create_checked(&mut conn, &index, &who, &all).unwrap();
}

/// `n` incidents scattered (deterministically) within 0.05° of a point.
fn around(lon: f64, lat: f64, n: usize, title: &str) -> Vec<EventFields> {
    (0..n)
        .map(|i| {
            let dx = ((i * 37) % 100) as f64 / 1000.0 - 0.05;
            let dy = ((i * 61) % 100) as f64 / 1000.0 - 0.05;
            fields(event_with(json!({
                "title": format!("{title} {i}"),
                "location": {"lat": lat + dy, "lon": lon + dx},
            })))
        })
        .collect()
}

fn ids(items: &Value, key: &str) -> BTreeSet<String> {
    items[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn clusters_are_markers_up_to_two_thousand_then_grid_cells() {
    let app = spawn_app().await;
    // Two far-apart groups, each well inside one cell of the zoom-5 grid
    // (2.8125°): Los Chancas and Lima.
    seed(&app, around(-73.0, -14.2, 1000, "Apurímac"));
    seed(&app, around(-77.0, -12.0, 1000, "Lima"));
    let path = format!("/api/v1/events/clusters?bbox={PERU}&zoom=5");

    let few = app.get(&path, &app.researcher).await;
    assert_eq!(few.status, 200, "{}", few.body);
    assert_eq!(few.body["total"], 2000);
    assert_eq!(few.body["markers"].as_array().unwrap().len(), 2000);
    assert_eq!(few.body["cells"], json!([]));
    let marker = &few.body["markers"][0];
    for key in [
        "id",
        "title",
        "event_type",
        "occurred_on",
        "date_precision",
        "lat",
        "lon",
    ] {
        assert!(!marker[key].is_null(), "{key} missing: {marker}");
    }
    assert_eq!(marker["event_type"], "blockade");
    assert_eq!(marker["date_precision"], "day");

    seed(&app, around(-73.0, -14.2, 1, "Apurímac extra"));
    let many = app.get(&path, &app.researcher).await;
    assert_eq!(many.status, 200, "{}", many.body);
    assert_eq!(many.body["total"], 2001);
    assert_eq!(many.body["markers"], json!([]));
    let cells = many.body["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{cells:?}");
    // Largest first; the mean position and the extent of each group.
    assert_eq!(cells[0]["count"], 1001);
    assert_eq!(cells[1]["count"], 1000);
    for (cell, (lon, lat)) in cells.iter().zip([(-73.0, -14.2), (-77.0, -12.0)]) {
        let (mean_lon, mean_lat) = (cell["lon"].as_f64().unwrap(), cell["lat"].as_f64().unwrap());
        assert!((mean_lon - lon).abs() < 0.01, "{cell}");
        assert!((mean_lat - lat).abs() < 0.01, "{cell}");
        let bbox: Vec<f64> = cell["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(bbox.len(), 4);
        assert!(bbox[0] >= lon - 0.05 && bbox[2] <= lon + 0.05, "{cell}");
        assert!(bbox[1] >= lat - 0.05 && bbox[3] <= lat + 0.05, "{cell}");
        assert!(bbox[0] <= mean_lon && mean_lon <= bbox[2], "{cell}");
    }

    // Zoomed in on Apurímac: only what is in view counts, as markers again.
    let zoomed = app
        .get(
            "/api/v1/events/clusters?bbox=-73.2,-14.4,-72.8,-14.0&zoom=11",
            &app.researcher,
        )
        .await;
    assert_eq!(zoomed.body["total"], 1001, "{}", zoomed.body);
    assert_eq!(zoomed.body["markers"].as_array().unwrap().len(), 1001);
}

#[actix_web::test]
async fn the_grid_is_in_the_database_on_both_backends_and_skips_deleted_incidents() {
    let app = spawn_app().await;
    // Eight incidents in three cells of the zoom-3 grid (11.25°: edges at
    // -78.75 and -67.5 in longitude, -11.25 in latitude).
    let points = [
        (-79.0, -12.0),
        (-79.5, -12.5),
        (-78.0, -12.0),
        (-78.5, -12.5),
        (-70.0, -10.2),
        (-70.0, -10.0),
        (-70.5, -10.5),
        (-69.0, -10.0),
    ];
    let all: Vec<EventFields> = points
        .iter()
        .enumerate()
        .map(|(i, (lon, lat))| {
            fields(event_with(
                json!({"title": format!("punto {i}"), "location": {"lat": lat, "lon": lon}}),
            ))
        })
        .collect();
    seed(&app, all);
    let mut conn = app.db.get().unwrap();
    let filter = EventFilter {
        bbox: Some([-81.4, -18.4, -68.6, -0.03]),
        ..Default::default()
    };
    let view = store::map_view(&mut conn, &filter, 3, 3).unwrap();
    assert_eq!(view.total, 8);
    assert!(view.markers.is_empty());
    let mut counts: Vec<(i64, f64, f64)> =
        view.cells.iter().map(|c| (c.count, c.lon, c.lat)).collect();
    counts.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)));
    assert_eq!(
        counts
            .iter()
            .map(|(count, _, _)| *count)
            .collect::<Vec<_>>(),
        [2, 2, 4],
        "{counts:?}"
    );
    assert!((counts[0].1 - -79.25).abs() < 1e-9, "{counts:?}");
    assert!((counts[2].1 - (-70.0 - 70.0 - 70.5 - 69.0) / 4.0).abs() < 1e-9);
    assert!((counts[2].2 - (-10.2 - 10.0 - 10.5 - 10.0) / 4.0).abs() < 1e-9);

    // At most `max_markers`: markers.
    let view = store::map_view(&mut conn, &filter, 3, 8).unwrap();
    assert_eq!((view.total, view.markers.len()), (8, 8));
    assert!(view.cells.is_empty());

    // A deleted incident counts nowhere.
    let any = app.get("/api/v1/events?q=punto%207", &app.researcher).await;
    let gone = any.body["items"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .delete(&format!("/api/v1/events/{gone}"), &app.monitor, Some("*"))
        .await;
    assert_eq!(res.status, 204);
    let view = store::map_view(&mut conn, &filter, 3, 3).unwrap();
    assert_eq!(view.total, 7);
    assert_eq!(view.cells.iter().map(|c| c.count).sum::<i64>(), 7);
    let view = store::map_view(&mut conn, &filter, 3, 100).unwrap();
    assert!(view.markers.iter().all(|m| m.id.to_string() != gone));

    // The whole world at the closest zoom is counted on a coarser grid, not
    // in billions of cells.
    let world = EventFilter {
        bbox: Some([-180.0, -90.0, 180.0, 90.0]),
        ..Default::default()
    };
    let view = store::map_view(&mut conn, &world, 20, 1).unwrap();
    assert_eq!(view.total, 7);
    assert!(!view.cells.is_empty() && view.cells.len() <= 7);
}

#[actix_web::test]
async fn clusters_apply_exactly_the_lists_filters() {
    let app = spawn_app().await;
    let fire = app.create_event(los_chancas()).await;
    let blockade = app
        .create_event(event_with(json!({
            "title": "Bloqueo del corredor minero en Chalhuahuacho",
            "location": {"lat": -14.12, "lon": -72.25},
            "admin": {"ubigeo": "030606", "region": "Apurímac", "province": "Cotabambas", "district": "Challhuahuacho"},
        })))
        .await;
    let protest = app
        .create_event(event_with(json!({
            "title": "Marcha en Abancay",
            "event_type": "protest",
            "occurred_on": "2021-11-02",
            "location": {"lat": -13.63, "lon": -72.88},
        })))
        .await;
    let far = app
        .create_event(event_with(json!({
            "title": "Bloqueo en Cajamarca",
            "location": {"lat": -7.16, "lon": -78.5},
            "verification": "verified",
        })))
        .await;
    let id = |e: &Value| e["id"].as_str().unwrap().to_string();

    for (filters, expected) in [
        ("", vec![&fire, &blockade, &protest, &far]),
        ("event_type=blockade", vec![&blockade, &far]),
        (
            "event_type=protest&event_type=property_destruction",
            vec![&fire, &protest],
        ),
        ("q=CHANCAS", vec![&fire]),
        ("q=bloqueo%20chalhuahuacho", vec![&blockade]),
        ("region=apurimac", vec![&fire, &blockade]),
        ("ubigeo=0306", vec![&blockade]),
        ("from=2022-01-01", vec![&fire, &blockade, &far]),
        ("verification=verified", vec![&fire, &far]),
    ] {
        let sep = if filters.is_empty() { "" } else { "&" };
        let clusters = app
            .get(
                &format!("/api/v1/events/clusters?bbox={PERU}&zoom=6{sep}{filters}"),
                &app.researcher,
            )
            .await;
        assert_eq!(clusters.status, 200, "{filters}: {}", clusters.body);
        let want: BTreeSet<String> = expected.iter().map(|e| id(e)).collect();
        assert_eq!(ids(&clusters.body, "markers"), want, "{filters}");
        assert_eq!(clusters.body["total"], want.len(), "{filters}");
        // The list with the same filters and box agrees.
        let list = app
            .get(
                &format!("/api/v1/events?bbox={PERU}&limit=200{sep}{filters}"),
                &app.researcher,
            )
            .await;
        assert_eq!(ids(&list.body, "items"), want, "{filters}");
    }

    // The box is a filter too.
    let apurimac = app
        .get(
            "/api/v1/events/clusters?bbox=-74,-15,-72,-13&zoom=7",
            &app.researcher,
        )
        .await;
    assert_eq!(apurimac.body["total"], 3);

    // Deleted: gone from the map; restored: back.
    let res = app
        .delete(
            &format!("/api/v1/events/{}", id(&fire)),
            &app.monitor,
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 204);
    let after = app
        .get(
            &format!("/api/v1/events/clusters?bbox={PERU}&zoom=6&q=chancas"),
            &app.researcher,
        )
        .await;
    assert_eq!(after.body["total"], 0);
    assert_eq!(after.body["markers"], json!([]));
}

#[actix_web::test]
async fn clusters_refuse_a_bad_box_or_zoom_with_a_problem() {
    let app = spawn_app().await;
    for query in [
        "zoom=5",
        "bbox=-81,-18,-68,0",
        "bbox=a,b,c,d&zoom=5",
        "bbox=-81,-18,-68&zoom=5",
        "bbox=-68,-18,-81,0&zoom=5",
        "bbox=-81,-95,-68,0&zoom=5",
        "bbox=-81,-18,-68,0&zoom=21",
        "bbox=-81,-18,-68,0&zoom=-1",
        "bbox=-81,-18,-68,0&zoom=1.5",
        "bbox=-81,-18,-68,0&zoom=",
        "bbox=-81,-18,-68,0&zoom=5&limit=10",
        "bbox=-81,-18,-68,0&zoom=5&cursor=abc",
        "bbox=-81,-18,-68,0&zoom=5&event_type=volcano",
        "bbox=-81,-18,-68,0&zoom=5&from=2024-01-01&to=2023-01-01",
        "bbox=-81,-18,-68,0&zoom=5&ubigeo=03x",
    ] {
        let res = app
            .get(&format!("/api/v1/events/clusters?{query}"), &app.researcher)
            .await;
        res.problem(400);
    }
    let res = app
        .request(
            Method::GET,
            &format!("/api/v1/events/clusters?bbox={PERU}&zoom=5"),
            None,
            None,
        )
        .await;
    res.problem(401);
}

/// Loads the real district boundaries through the command line.
pub fn load_districts(app: &TestApp) -> bool {
    let Some(file) = shared_data("peru-districts.geojson") else {
        return false;
    };
    let out = crate::cli::vigia(&app.test_db)
        .args(["import", "boundaries", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

fn geojson(res: &crate::helpers::Response) -> Value {
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/geo+json")
    );
    match &res.body {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

/// Every ring of a Polygon or MultiPolygon: closed, four positions at least.
fn rings(geometry: &Value) -> Vec<Vec<[f64; 2]>> {
    let polygons = match geometry["type"].as_str().unwrap() {
        "Polygon" => vec![geometry["coordinates"].clone()],
        "MultiPolygon" => geometry["coordinates"].as_array().unwrap().clone(),
        other => panic!("not a polygon: {other}"),
    };
    polygons
        .iter()
        .flat_map(|p| p.as_array().unwrap().clone())
        .map(|ring| {
            let ring: Vec<[f64; 2]> = serde_json::from_value(ring).unwrap();
            assert!(ring.len() >= 4, "a ring of {} positions", ring.len());
            assert_eq!(ring.first(), ring.last(), "an open ring");
            ring
        })
        .collect()
}

fn decimals(v: f64) -> usize {
    let text = v.to_string();
    text.split_once('.').map_or(0, |(_, d)| d.len())
}

#[actix_web::test]
async fn district_outlines_are_simplified_to_the_zoom_and_read_by_gdal() {
    let app = spawn_app().await;
    // No boundaries loaded: an empty collection.
    let empty = app
        .get(
            &format!("/api/v1/districts?bbox={PERU}&zoom=5"),
            &app.researcher,
        )
        .await;
    assert_eq!(geojson(&empty)["features"], json!([]));
    if !load_districts(&app) {
        return;
    }

    let peru = geojson(
        &app.get(
            &format!("/api/v1/districts?bbox={PERU}&zoom=5"),
            &app.researcher,
        )
        .await,
    );
    assert_eq!(peru["type"], "FeatureCollection");
    let features = peru["features"].as_array().unwrap();
    assert_eq!(features.len(), 1826, "every district with an outline");
    let positions = |features: &[Value]| -> usize {
        features
            .iter()
            .map(|f| rings(&f["geometry"]).iter().map(Vec::len).sum::<usize>())
            .sum()
    };
    let coarse = positions(features);
    for f in features {
        for ring in rings(&f["geometry"]) {
            assert!(ring.iter().flatten().all(|v| decimals(*v) <= 5), "{f}");
        }
    }
    let pocohuanca = features
        .iter()
        .find(|f| f["properties"]["ubigeo"] == "030410")
        .expect("Pocohuanca");
    assert_eq!(
        pocohuanca["properties"],
        json!({"ubigeo": "030410", "district": "POCOHUANCA", "province": "AYMARAES", "region": "APURIMAC"})
    );

    // Closer in: more detail, fewer districts.
    let detailed = geojson(
        &app.get(
            &format!("/api/v1/districts?bbox={PERU}&zoom=14"),
            &app.researcher,
        )
        .await,
    );
    let fine = positions(detailed["features"].as_array().unwrap());
    // The shared file is already simplified (about 15 positions a district),
    // and a ring keeps four at least: seen, 14,671 against 27,859.
    assert!(
        coarse * 3 < fine * 2,
        "zoom 5 keeps {coarse} positions, zoom 14 {fine}"
    );
    let aymaraes = geojson(
        &app.get(
            "/api/v1/districts?bbox=-73.1,-14.25,-73.07,-14.2&zoom=12",
            &app.researcher,
        )
        .await,
    );
    let found: Vec<&str> = aymaraes["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["ubigeo"].as_str().unwrap())
        .collect();
    assert!(found.contains(&"030410"), "{found:?}");
    assert!(found.len() < 20, "{found:?}");

    // GDAL reads it with the four properties, and finds every simplified
    // outline valid (the source has 8 invalid ones; simplification that
    // preserves topology cannot make more).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("districts.geojson");
    std::fs::write(&file, peru.to_string()).unwrap();
    if let Some(out) = crate::exports::ogrinfo(&file) {
        assert!(out.contains("Feature Count: 1826"), "{out}");
        for field in [
            "ubigeo: String",
            "district: String",
            "province: String",
            "region: String",
        ] {
            assert!(out.contains(field), "{field}: {out}");
        }
        let sql = "SELECT COUNT(*) AS features, SUM(ST_IsValid(geometry)) AS valid, \
                   SUM(GeometryType(geometry) IN ('POLYGON', 'MULTIPOLYGON')) AS polygons FROM districts";
        let out = crate::exports::ogrinfo_with(&file, &["-ro", "-dialect", "SQLite", "-sql", sql])
            .unwrap();
        for count in [
            "features (Integer) = 1826",
            "valid (Integer) = 1826",
            "polygons (Integer) = 1826",
        ] {
            assert!(out.contains(count), "{count}: {out}");
        }
    }

    for query in [
        "bbox=-81,-18,-68,0",
        "zoom=5",
        "bbox=-81,-18,-68,0&zoom=99",
        "bbox=x&zoom=5",
    ] {
        app.get(&format!("/api/v1/districts?{query}"), &app.researcher)
            .await
            .problem(400);
    }
}

#[actix_web::test]
async fn the_district_at_a_point_or_a_not_found_problem() {
    let app = spawn_app().await;
    let chancas = "/api/v1/districts/at?lat=-14.2190728&lon=-73.0884214";
    // Before any boundaries: no district anywhere.
    app.get(chancas, &app.researcher).await.problem(404);
    if !load_districts(&app) {
        return;
    }
    let inside = app.get(chancas, &app.researcher).await;
    assert_eq!(inside.status, 200, "{}", inside.body);
    assert_eq!(
        inside.body,
        json!({"ubigeo": "030410", "district": "POCOHUANCA", "province": "AYMARAES", "region": "APURIMAC"})
    );
    // In the Pacific.
    let outside = app
        .get("/api/v1/districts/at?lat=-12.0&lon=-80.0", &app.researcher)
        .await;
    let problem = outside.problem(404);
    assert!(
        problem["detail"].as_str().unwrap().contains("no district"),
        "{problem}"
    );
    for query in [
        "lat=-91&lon=-73",
        "lat=-14&lon=181",
        "lat=x&lon=-73",
        "lat=-14",
    ] {
        app.get(&format!("/api/v1/districts/at?{query}"), &app.researcher)
            .await
            .problem(400);
    }
}

#[actix_web::test]
async fn concession_outlines_can_be_simplified_to_a_zoom() {
    let app = spawn_app().await;
    // A round concession of 400 positions, about 1 km across.
    let ring: Vec<[f64; 2]> = (0..=400)
        .map(|i| {
            let a = std::f64::consts::TAU * f64::from(i % 400) / 400.0;
            [-73.09 + 0.005 * a.cos(), -14.22 + 0.005 * a.sin()]
        })
        .collect();
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010000001", "name": "REDONDA", "geometry": {"type": "Polygon", "coordinates": [ring]}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let positions = |zoom: &str| {
        let app = &app;
        let zoom = zoom.to_string();
        async move {
            let res = app
                .send(
                    Method::GET,
                    &format!("/api/v1/concessions?bbox=-74,-15,-72,-13&limit=200{zoom}"),
                    Some(&app.researcher),
                    &[("Accept", "application/geo+json")],
                    None,
                )
                .await;
            let collection = geojson(&res);
            let features = collection["features"].as_array().unwrap();
            assert_eq!(features.len(), 1);
            assert_eq!(features[0]["properties"]["code"], "010000001");
            rings(&features[0]["geometry"])[0].len()
        }
    };
    assert_eq!(positions("").await, 401, "as stored");
    let close = positions("&zoom=18").await;
    let legible = positions("&zoom=11").await;
    let far = positions("&zoom=5").await;
    assert!(
        far < legible && legible < close && close <= 401,
        "{far} {legible} {close}"
    );
    assert!(far >= 4);
    app.get("/api/v1/concessions?zoom=21", &app.researcher)
        .await
        .problem(400);
}
