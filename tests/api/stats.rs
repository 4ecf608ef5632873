//! `GET /api/v1/stats` and `/api/v1/stats.csv`: incidents counted by each
//! key and by two at once, with the list's filters and visibility.

use serde_json::{json, Value};

use crate::helpers::{event_with, spawn_app, TestApp};

fn square(lon: f64, lat: f64, half: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
        [lon - half, lat + half], [lon - half, lat - half]
    ]]})
}

/// Where the incidents are: P1 lies in two concessions of Minera Alfa and
/// one of Minera Beta, P3 in one of Beta, P2 in none.
const P1: (f64, f64) = (-73.0, -14.0);
const P2: (f64, f64) = (-76.0, -10.0);
const P3: (f64, f64) = (-70.0, -15.0);

fn admin(ubigeo: &str, region: &str, province: &str) -> Value {
    json!({"ubigeo": ubigeo, "region": region, "province": province})
}

#[allow(clippy::too_many_arguments)]
fn incident(
    event_type: &str,
    on: &str,
    at: (f64, f64),
    place: Option<Value>,
    fatalities: i32,
    injuries: i32,
    verification: &str,
) -> Value {
    let mut body = event_with(json!({
        "title": format!("{event_type} {on}"),
        "event_type": event_type,
        "occurred_on": on,
        "location": {"lon": at.0, "lat": at.1},
        "fatalities": fatalities,
        "injuries": injuries,
        "verification": verification,
    }));
    if let Some(place) = place {
        body["admin"] = place;
    }
    body
}

/// Five live incidents and a deleted one; see each test for the sums.
async fn seed(app: &TestApp) {
    for (code, holder, lon) in [
        ("A1", "Minera Alfa S.A.C.", P1.0),
        ("A2", "Minera Alfa S.A.C.", P1.0 + 0.01),
        ("B1", "Minera Beta S.A.", P1.0 - 0.01),
        ("B2", "Minera Beta S.A.", P3.0),
    ] {
        let lat = if code == "B2" { P3.1 } else { P1.1 };
        let res = app
            .post(
                "/api/v1/concessions",
                &app.admin,
                json!({"code": code, "name": code, "holder_name": holder, "geometry": square(lon, lat, 0.05)}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
    }
    let apurimac = |ubigeo: &str| admin(ubigeo, "Apurímac", "Aymaraes");
    for body in [
        incident(
            "protest",
            "2024-03-05",
            P1,
            Some(apurimac("030410")),
            1,
            2,
            "verified",
        ),
        incident(
            "protest",
            "2024-03-20",
            P2,
            Some(admin("150101", "Lima", "Lima")),
            0,
            3,
            "unverified",
        ),
        incident(
            "blockade",
            "2024-03-25",
            P3,
            Some(apurimac("030401")),
            2,
            0,
            "verified",
        ),
        incident("blockade", "2024-04-02", P1, None, 0, 1, "disputed"),
        incident(
            "riot",
            "2023-12-31",
            P2,
            Some(apurimac("0304")),
            1,
            1,
            "unverified",
        ),
    ] {
        app.create_event(body).await;
    }
    let gone = app
        .create_event(incident(
            "protest",
            "2024-03-10",
            P1,
            Some(apurimac("030410")),
            10,
            10,
            "verified",
        ))
        .await;
    let res = app
        .delete(
            &format!("/api/v1/events/{}", gone["id"].as_str().unwrap()),
            &app.monitor,
            Some("*"),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
}

async fn stats(app: &TestApp, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/stats?{query}"), &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{query}: {}", res.body);
    res.body
}

/// The groups as (key values…, count, fatalities, injuries), key values as
/// text (`-` for null).
fn rows(body: &Value) -> Vec<String> {
    let keys: Vec<String> = body["group_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut cells: Vec<String> = keys
                .iter()
                .map(|k| match &g[k] {
                    Value::Null => "-".to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            for n in ["count", "fatalities", "injuries"] {
                cells.push(g[n].to_string());
            }
            cells.join(" ")
        })
        .collect()
}

#[actix_web::test]
async fn incidents_are_counted_by_each_key_and_by_two() {
    let app = spawn_app().await;
    seed(&app).await;

    let by_month = stats(&app, "group_by=month").await;
    assert_eq!(by_month["group_by"], json!(["month"]));
    assert_eq!(
        rows(&by_month),
        ["2023-12 1 1 1", "2024-03 3 3 5", "2024-04 1 0 1"]
    );
    // The deleted incident (10 fatalities) is nowhere.
    assert_eq!(
        by_month["total"],
        json!({"count": 5, "fatalities": 4, "injuries": 7})
    );
    assert_eq!(
        rows(&stats(&app, "group_by=year").await),
        ["2023 1 1 1", "2024 4 3 6"]
    );
    assert_eq!(
        rows(&stats(&app, "group_by=event_type").await),
        ["blockade 2 2 1", "protest 2 1 5", "riot 1 1 1"]
    );
    assert_eq!(
        rows(&stats(&app, "group_by=verification").await),
        ["disputed 1 0 1", "unverified 2 1 4", "verified 2 3 2"]
    );

    // By the ubigeo's first digits; no districts are loaded, so the names
    // are the incidents' own. The incident without a ubigeo comes last.
    let by_region = stats(&app, "group_by=region").await;
    assert_eq!(rows(&by_region), ["03 3 4 3", "15 1 0 3", "- 1 0 1"]);
    assert_eq!(by_region["groups"][0]["region_name"], "Apurímac");
    assert_eq!(by_region["groups"][1]["region_name"], "Lima");
    assert_eq!(by_region["groups"][2]["region_name"], Value::Null);
    assert!(by_region["groups"][0].get("month").is_none());
    let by_province = stats(&app, "group_by=province").await;
    assert_eq!(rows(&by_province), ["0304 3 4 3", "1501 1 0 3", "- 1 0 1"]);
    assert_eq!(by_province["groups"][0]["province_name"], "Aymaraes");

    // P1's incidents count once for Alfa (two of its concessions) and
    // once for Beta; the total counts each incident once.
    let by_holder = stats(&app, "group_by=holder").await;
    let holder = |name: &str| {
        by_holder["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["holder_name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing: {by_holder}"))
    };
    let counts = |g: Value| {
        (
            g["count"].clone(),
            g["fatalities"].clone(),
            g["injuries"].clone(),
        )
    };
    assert_eq!(
        counts(holder("Minera Alfa S.A.C.")),
        (json!(2), json!(1), json!(3))
    );
    assert_eq!(
        counts(holder("Minera Beta S.A.")),
        (json!(3), json!(3), json!(3))
    );
    let last = by_holder["groups"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["holder"], Value::Null, "{by_holder}");
    assert_eq!(counts(last), (json!(2), json!(1), json!(4)));
    assert_eq!(by_holder["groups"].as_array().unwrap().len(), 3);
    assert_eq!(by_holder["total"]["count"], 5);

    let table = stats(&app, "group_by=month,event_type").await;
    assert_eq!(table["group_by"], json!(["month", "event_type"]));
    assert_eq!(
        rows(&table),
        [
            "2023-12 riot 1 1 1",
            "2024-03 blockade 1 2 0",
            "2024-03 protest 2 1 5",
            "2024-04 blockade 1 0 1"
        ]
    );
    let table = stats(&app, "group_by=region,verification").await;
    assert_eq!(
        rows(&table),
        [
            "03 unverified 1 1 1",
            "03 verified 2 3 2",
            "15 unverified 1 0 3",
            "- disputed 1 0 1"
        ]
    );
}

#[actix_web::test]
async fn the_lists_filters_apply() {
    let app = spawn_app().await;
    seed(&app).await;
    assert_eq!(
        rows(&stats(&app, "group_by=region&event_type=protest").await),
        ["03 1 1 2", "15 1 0 3"]
    );
    assert_eq!(
        rows(&stats(&app, "group_by=year&from=2024-01-01").await),
        ["2024 4 3 6"]
    );
    let apurimac = stats(&app, "group_by=event_type&ubigeo=03").await;
    assert_eq!(
        rows(&apurimac),
        ["blockade 1 2 0", "protest 1 1 2", "riot 1 1 1"]
    );
    assert_eq!(apurimac["total"]["count"], 3);
    assert_eq!(
        rows(&stats(&app, "group_by=month&verification=verified&region=apurimac").await),
        ["2024-03 2 3 2"]
    );
    assert_eq!(
        rows(&stats(&app, "group_by=holder&concession=B2").await)
            .iter()
            .map(|r| r.split(' ').skip(1).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        ["1 2 0"]
    );
    let none = stats(&app, "group_by=month&q=zzzznotthere").await;
    assert_eq!(none["groups"], json!([]));
    assert_eq!(
        none["total"],
        json!({"count": 0, "fatalities": 0, "injuries": 0})
    );
}

#[actix_web::test]
async fn a_bad_group_by_is_refused_naming_it_and_strangers_are_not_served() {
    let app = spawn_app().await;
    for query in [
        "",
        "group_by=week",
        "group_by=month,year,region",
        "group_by=month,month",
    ] {
        for path in ["/api/v1/stats", "/api/v1/stats.csv"] {
            let res = app.get(&format!("{path}?{query}"), &app.researcher).await;
            assert_eq!(res.invalid_fields(), ["group_by"], "{path}?{query}");
        }
    }
    let res = app
        .get(
            "/api/v1/stats?group_by=month&from=2024-02-01&to=2024-01-01",
            &app.researcher,
        )
        .await;
    res.problem(400);
    let res = app
        .get("/api/v1/stats?group_by=month&limit=5", &app.researcher)
        .await;
    res.problem(400);
    let res = app
        .request(
            actix_web::http::Method::GET,
            "/api/v1/stats?group_by=month",
            None,
            None,
        )
        .await;
    res.problem(401);
}

#[actix_web::test]
async fn the_csv_has_the_same_numbers() {
    let app = spawn_app().await;
    seed(&app).await;
    let res = app
        .get(
            "/api/v1/stats.csv?group_by=region,event_type",
            &app.researcher,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert!(res
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    let mut reader = csv::Reader::from_reader(res.bytes.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "region",
            "region_name",
            "event_type",
            "count",
            "fatalities",
            "injuries"
        ]
    );
    let lines: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let expected = [
        "03,Apurímac,blockade,1,2,0",
        "03,Apurímac,protest,1,1,2",
        "03,Apurímac,riot,1,1,1",
        "15,Lima,protest,1,0,3",
        ",,blockade,1,0,1",
        "total,,,5,4,7",
    ];
    assert_eq!(
        lines.iter().map(|l| l.join(",")).collect::<Vec<_>>(),
        expected
    );
}

/// A holder's name a spreadsheet would run is written as text.
#[actix_web::test]
async fn csv_cells_are_spreadsheet_safe() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "F1", "name": "F1", "holder_name": "=HYPERLINK(\"http://x\")", "geometry": square(P1.0, P1.1, 0.05)}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    app.create_event(incident(
        "protest",
        "2024-03-05",
        P1,
        None,
        0,
        0,
        "verified",
    ))
    .await;
    let res = app
        .get("/api/v1/stats.csv?group_by=holder", &app.researcher)
        .await;
    let text = String::from_utf8(res.bytes.clone()).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
}
