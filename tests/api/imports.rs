//! `vigia import` reads what it should and no more: regular files within
//! `import.max_file_mb`, rows held to the API's rules, and a summary that
//! agrees with the registry changes it records.

use serde_json::{json, Value};

use crate::cli::vigia;
use crate::helpers::{shared_data, spawn_app, TestApp, TestDb};

fn run(db: &TestDb, args: &[&str], max_file_mb: Option<u64>) -> (bool, String) {
    let mut cmd = vigia(db);
    if let Some(mb) = max_file_mb {
        cmd.env("VIGIA__IMPORT__MAX_FILE_MB", mb.to_string());
    }
    let out = cmd.args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn concession_count(app: &TestApp) -> usize {
    let res = app
        .get("/api/v1/concessions?limit=200", &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["items"].as_array().unwrap().len()
}

#[actix_web::test]
async fn imports_refuse_what_is_not_a_regular_file() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.geojson");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let dir_path = dir.path().to_str().unwrap().to_string();
    let fifo = fifo.to_str().unwrap().to_string();
    for kind in ["concessions", "boundaries", "report-entries"] {
        for (path, says) in [
            ("/dev/zero", "not a regular file"),
            (dir_path.as_str(), "is a directory"),
            // Nothing writes to the FIFO: reading it would wait forever.
            (fifo.as_str(), "not a regular file"),
        ] {
            let (ok, stderr) = run(
                &app.test_db,
                &["import", kind, path, "--crs", "EPSG:4326"]
                    [..if kind == "report-entries" { 3 } else { 5 }],
                None,
            );
            assert!(!ok, "{kind} {path}: {stderr}");
            assert!(stderr.contains(says), "{kind} {path}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        }
    }
    assert_eq!(concession_count(&app).await, 0);
}

#[actix_web::test]
async fn imports_refuse_files_over_the_size_setting() {
    let Some(geojson) = shared_data("ingemmet-concessions-utm17s.geojson") else {
        return;
    };
    let Some(shp) = shared_data("ingemmet-concessions-utm17s-shp/concesiones_17s.shp") else {
        return;
    };
    let app = spawn_app().await;
    // 3.6 MB of GeoJSON against 1 MiB.
    let (ok, stderr) = run(
        &app.test_db,
        &[
            "import",
            "concessions",
            geojson.to_str().unwrap(),
            "--crs",
            "EPSG:32717",
        ],
        Some(1),
    );
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("larger than 1 MB (import.max_file_mb)"),
        "{stderr}"
    );
    // The shapefile's parts are each under 4 MiB, but not together (4.5 MB).
    let (ok, stderr) = run(
        &app.test_db,
        &["import", "concessions", shp.to_str().unwrap()],
        Some(4),
    );
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("import.max_file_mb"), "{stderr}");
    // A report-entries file too.
    let csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(csv.path(), "x".repeat(1024 * 1024 + 1)).unwrap();
    let (ok, stderr) = run(
        &app.test_db,
        &["import", "report-entries", csv.path().to_str().unwrap()],
        Some(1),
    );
    assert!(!ok && stderr.contains("import.max_file_mb"), "{stderr}");
    assert_eq!(concession_count(&app).await, 0);
    // Under the setting, the shapefile imports.
    let (ok, stderr) = run(
        &app.test_db,
        &["import", "concessions", shp.to_str().unwrap()],
        Some(5),
    );
    assert!(ok && stderr.contains("9025 added"), "{stderr}");
}

fn feature(properties: Value, lon: f64) -> Value {
    json!({"type": "Feature", "properties": properties, "geometry": {"type": "Polygon",
        "coordinates": [[[lon, -14.3], [lon + 0.01, -14.3], [lon + 0.01, -14.29], [lon, -14.29], [lon, -14.3]]]}})
}

#[actix_web::test]
async fn imported_concessions_are_held_to_the_api_rules() {
    let app = spawn_app().await;
    let long_code = "1".repeat(200_000);
    let doc = json!({"type": "FeatureCollection", "features": [
        feature(json!({"CODIGOU": "010461925", "CONCESION": "LOS CHANCAS 1", "TIT_CONCES": "SPCC"}), -73.1),
        feature(json!({"CODIGOU": long_code, "CONCESION": "LARGA"}), -73.0),
        feature(json!({"CODIGOU": "0104 61926", "CONCESION": "CON ESPACIO"}), -72.9),
        feature(json!({"CODIGOU": "010461927", "CONCESION": "N".repeat(301)}), -72.8),
        feature(json!({"CODIGOU": "010461928", "CONCESION": "TITULAR LARGO", "TIT_CONCES": "T".repeat(301)}), -72.7),
    ]});
    let file = tempfile::Builder::new()
        .suffix(".geojson")
        .tempfile()
        .unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let (ok, stderr) = run(
        &app.test_db,
        &["import", "concessions", file.path().to_str().unwrap()],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr
            .contains("5 read (EPSG:4326), 1 added, 0 updated, 0 unchanged, 0 removed, 4 skipped"),
        "{stderr}"
    );
    assert!(
        stderr.len() < 4_000,
        "a long code is not printed whole: {} bytes",
        stderr.len()
    );
    for (feature, says) in [
        ("skipped feature 1", "code"),
        (
            "skipped feature 2",
            "code may hold only letters, digits and -",
        ),
        ("skipped feature 3", "name"),
        ("skipped feature 4", "holder_name"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(feature))
            .unwrap_or_else(|| panic!("{feature}: {stderr}"));
        assert!(line.contains(says), "{line}");
    }
    assert!(stderr.contains("(200000 characters)"), "{stderr}");
    let changes = app
        .get(
            "/api/v1/concessions/changes?since=2000-01-01T00:00:00Z",
            &app.researcher,
        )
        .await;
    let codes: Vec<&str> = changes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["010461925"]);
}

/// GeoJSON, then the same concessions as a shapefile, then the GeoJSON again:
/// nothing changed, and the summaries and the registry changes say so (44
/// of them have no holder, an empty text in one format and no value in the
/// other).
#[actix_web::test]
async fn the_same_concessions_in_either_format_are_unchanged() {
    let Some(geojson) = shared_data("ingemmet-concessions-utm17s.geojson") else {
        return;
    };
    let Some(shp) = shared_data("ingemmet-concessions-utm17s-shp/concesiones_17s.shp") else {
        return;
    };
    let app = spawn_app().await;
    let geojson_args = [
        "import",
        "concessions",
        geojson.to_str().unwrap(),
        "--crs",
        "EPSG:32717",
    ];
    let shp_args = ["import", "concessions", shp.to_str().unwrap()];
    let (ok, stderr) = run(&app.test_db, &geojson_args, None);
    assert!(ok && stderr.contains("9025 added"), "{stderr}");
    for args in [&shp_args[..], &geojson_args[..], &shp_args[..]] {
        let (ok, stderr) = run(&app.test_db, args, None);
        assert!(ok, "{stderr}");
        assert!(
            stderr.contains("9025 read (EPSG:32717), 0 added, 0 updated, 9025 unchanged"),
            "{stderr}"
        );
    }
    // Only the first import's additions are registry changes.
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/concessions/changes?limit=200&cursor={c}"),
            None => "/api/v1/concessions/changes?limit=200".to_string(),
        };
        let page = app.get(&path, &app.researcher).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for change in page.body["items"].as_array().unwrap() {
            assert_eq!(change["change"], "added", "{change}");
            seen += 1;
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, 9025);
}

/// An update that touches neither holder, name nor outline is still a
/// registry change: every "updated" in a summary has one.
#[actix_web::test]
async fn an_update_of_other_details_is_a_registry_change() {
    let app = spawn_app().await;
    let file = tempfile::Builder::new()
        .suffix(".geojson")
        .tempfile()
        .unwrap();
    let import = |hectares: f64| {
        let doc = json!({"type": "FeatureCollection", "features": [
            feature(json!({"CODIGOU": "010461925", "CONCESION": "LOS CHANCAS 1", "HECTAGIS": hectares}), -73.1),
        ]});
        std::fs::write(file.path(), doc.to_string()).unwrap();
        run(
            &app.test_db,
            &["import", "concessions", file.path().to_str().unwrap()],
            None,
        )
    };
    let (ok, stderr) = import(100.0);
    assert!(ok && stderr.contains("1 added"), "{stderr}");
    let (ok, stderr) = import(120.5);
    assert!(
        ok && stderr.contains("0 added, 1 updated, 0 unchanged"),
        "{stderr}"
    );
    let changes = app
        .get("/api/v1/concessions/changes", &app.researcher)
        .await;
    let kinds: Vec<&str> = changes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["added", "details_changed"], "{}", changes.body);
    assert_eq!(changes.body["items"][1]["after"]["hectares"], 120.5);
}

const ENTRIES_HEADER: &str = "report_number,report_month,case_name,case_type,activity,region,province,district,ubigeo,companies,status,phase,violence,dialogue,description\n";

fn add_district(app: &TestApp, ubigeo: &str, name: &str, province: &str, region: &str) {
    use diesel::prelude::*;
    use vigia::schema::districts;
    let mut conn = app.db.get().unwrap();
    diesel::insert_into(districts::table)
        .values((
            districts::ubigeo.eq(ubigeo),
            districts::name.eq(name),
            districts::province.eq(province),
            districts::region.eq(region),
            districts::geometry.eq(r#"{"type":"Polygon","coordinates":[[[-73.1,-14.3],[-73.0,-14.3],[-73.0,-14.2],[-73.1,-14.3]]]}"#),
        ))
        .execute(&mut *conn)
        .unwrap();
}

/// `Name (ACR)` in a report's companies is the actor named Name or aliased
/// ACR; only a company no live actor names is new, with its acronym as an
/// alias.
#[actix_web::test]
async fn report_companies_with_an_acronym_match_the_existing_actor() {
    let app = spawn_app().await;
    let res = app
        .post("/api/v1/actors", &app.monitor, crate::actors::spcc())
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let spcc = res.body["id"].as_str().unwrap().to_string();
    let csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        csv.path(),
        format!(
            "{ENTRIES_HEADER}{}{}",
            "220,2022-06,Tiaparo - Tapayrihua,Socioambiental,Minería,Apurímac,Aymaraes,Pocohuanca,030410,Southern Perú Copper Corporation (SPCC),Activo,,no,no,Incendio.\n",
            "220,2022-06,Cotaruse,Socioambiental,Minería,Apurímac,Aymaraes,Cotaruse,030404,Minera Nueva del Sur (MNS);SPCC (SOUTHERN),latente,,no,no,Reclamo.\n",
        ),
    )
    .unwrap();
    let (ok, stderr) = run(
        &app.test_db,
        &["import", "report-entries", csv.path().to_str().unwrap()],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("1 companies added as actors"), "{stderr}");
    let southern = app.get("/api/v1/actors?q=southern", &app.researcher).await;
    let ids: Vec<&str> = southern.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [spcc.as_str()], "{}", southern.body);
    let new = app.get("/api/v1/actors?q=nueva", &app.researcher).await;
    assert_eq!(new.body["items"][0]["name"], "Minera Nueva del Sur");
    assert_eq!(new.body["items"][0]["aliases"], json!(["MNS"]));
    let cases = app.get("/api/v1/cases", &app.researcher).await;
    for case in cases.body["items"].as_array().unwrap() {
        let companies: Vec<&str> = case["companies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(companies.contains(&spcc.as_str()), "{case}");
    }
}

/// A district name the boundaries do not know, with no ubigeo, is coded to
/// its province, and the import says so for that row.
#[actix_web::test]
async fn a_district_name_not_found_is_reported_with_its_fallback() {
    let app = spawn_app().await;
    add_district(&app, "030410", "POCOHUANCA", "AYMARAES", "APURIMAC");
    let csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        csv.path(),
        format!(
            "{ENTRIES_HEADER}{}{}{}",
            "220,2022-06,Los Chancas,Socioambiental,Minería,Apurímac,Aymaraes,Pocohuanca,,SPCC,Activo,,no,no,Bien escrito.\n",
            "220,2022-06,Tiaparo,Socioambiental,Minería,Apurímac,Aymaraes,Pocohuansa,,SPCC,Activo,,no,no,Con una errata.\n",
            "220,2022-06,Otro,Socioambiental,Minería,Apurímac,Aimaraes,Tapairihua,,SPCC,Activo,,no,no,Provincia mal escrita.\n",
        ),
    )
    .unwrap();
    let (ok, stderr) = run(
        &app.test_db,
        &["import", "report-entries", csv.path().to_str().unwrap()],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(r#"line 3: warning: district "Pocohuansa" is not among the districts loaded; coded to the province 0304"#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"line 4: warning: district "Tapairihua" is not among the districts loaded; coded to the region 03"#),
        "{stderr}"
    );
    assert!(!stderr.contains("line 2:"), "{stderr}");
    assert!(stderr.contains("2 with a place warning"), "{stderr}");
    let cases = app.get("/api/v1/cases?q=tiaparo", &app.researcher).await;
    assert_eq!(cases.body["items"][0]["ubigeo"], "0304", "{}", cases.body);
}

/// Issue 10, items 11 and 12: imported report entries are held to the API's
/// one-line rule (a case name with a forged line, a company with U+202E),
/// reported by line and skipped, while descriptions keep their line breaks.
#[actix_web::test]
async fn report_entries_with_control_characters_are_reported_and_skipped() {
    let app = spawn_app().await;
    let csv = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        csv.path(),
        format!(
            "{ENTRIES_HEADER}{}{}{}",
            "220,2022-06,\"Los Chancas\r\nBcc: evil@x.test\",Socioambiental,Minería,Apurímac,,,,SPCC,Activo,,no,no,x\n",
            "220,2022-06,Tiaparo,Socioambiental,Minería,Apurímac,,,,\"SP\u{202E}CC\",Activo,,no,no,x\n",
            "220,2022-06,Bueno,Socioambiental,Minería,Apurímac,,,,SPCC,Activo,,no,no,\"Dos\nlíneas\"\n",
        ),
    )
    .unwrap();
    let (ok, stderr) = run(
        &app.test_db,
        &[
            "import",
            "report-entries",
            "--skip-invalid",
            csv.path().to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("case_name must be one line"),
        "{stderr}"
    );
    assert!(stderr.contains("companies must be one line"), "{stderr}");
    let cases = app.get("/api/v1/cases", &app.researcher).await;
    let names: Vec<&str> = cases.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bueno"], "{}", cases.body);
}

/// Issue 10, item 14, through the API: a case whose district name is not
/// among the loaded boundaries is coded to the province, and the answer says
/// so in `warnings`.
#[actix_web::test]
async fn a_case_with_a_district_not_found_is_answered_with_a_warning() {
    let app = spawn_app().await;
    add_district(&app, "030410", "POCOHUANCA", "AYMARAES", "APURIMAC");
    let case = |name: &str, district: &str| {
        serde_json::json!({"name": name, "case_type": "socioambiental", "region": "Apurímac",
            "province": "Aymaraes", "district": district})
    };
    let res = app
        .post("/api/v1/cases", &app.monitor, case("Tiaparo", "Pocohuansa"))
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.body["ubigeo"], "0304");
    assert_eq!(
        res.body["warnings"][0]["code"], "district_not_found",
        "{}",
        res.body
    );
    assert_eq!(res.body["warnings"][0]["field"], "district");
    assert!(res.body["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Pocohuansa"));
    let res = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            case("Los Chancas", "Pocohuanca"),
        )
        .await;
    assert_eq!(res.body["ubigeo"], "030410");
    assert!(res.body.get("warnings").is_none(), "{}", res.body);
}

/// A file import's transaction has PostgreSQL plan every statement for the
/// rows it meets (a plan kept from a nearly empty `concessions` scanned the
/// whole table once per imported row), and only that transaction: the
/// pooled connection goes back to the server's setting afterwards.
#[actix_web::test]
async fn imports_plan_each_statement_only_inside_their_transaction() {
    use diesel::prelude::*;
    use vigia::db::DbConn;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        mode: String,
    }
    fn mode(conn: &mut DbConn) -> Option<String> {
        match conn {
            DbConn::Pg(c) => Some(
                diesel::sql_query("SELECT current_setting('plan_cache_mode') AS mode")
                    .get_result::<Setting>(c)
                    .unwrap()
                    .mode,
            ),
            DbConn::Sqlite(_) => None,
        }
    }
    let app = spawn_app().await;
    let mut conn = app.db.get().unwrap();
    let postgres = matches!(&*conn, DbConn::Pg(_));
    let inside = vigia::db::bulk_write_tx(&mut conn, |conn| Ok(mode(conn))).unwrap();
    let after = mode(&mut conn);
    if postgres {
        assert_eq!(inside.as_deref(), Some("force_custom_plan"));
        assert_eq!(after.as_deref(), Some("auto"));
    } else {
        assert_eq!((inside, after), (None, None));
    }
}
