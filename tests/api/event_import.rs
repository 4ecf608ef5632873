//! Importing incidents (issue 15): Vigía's own export (CSV and XLSX) back
//! into Vigía, ACLED's export mapped to Vigía's types and actors, bad rows
//! named before anything is written, re-imports that change nothing, and
//! one mail per watch for a bulk import.

use actix_web::http::Method;
use diesel::prelude::*;
use serde_json::{json, Value};
use vigia::ops::event_import::{import_events, EventImportReport};
use vigia::ops::Who;
use vigia::places::PlaceIndex;

use crate::alerts::{app_on, confirm, create_watch, exactly, sent, watch};
use crate::cli::vigia;
use crate::helpers::{event_with, los_chancas, spawn_app, spawn_app_on, TestApp, TestDb};
use crate::mailbox::MailServer;

fn import(app: &TestApp, bytes: &[u8], skip_invalid: bool) -> Result<EventImportReport, String> {
    let mut conn = app.db.get().unwrap();
    import_events(
        &mut conn,
        &PlaceIndex::default(),
        &Who::cli(),
        bytes,
        skip_invalid,
    )
}

#[track_caller]
fn imported(app: &TestApp, bytes: &[u8]) -> EventImportReport {
    let report = import(app, bytes, false).unwrap();
    assert!(report.bad.is_empty(), "{:#?}", report.bad);
    assert!(report.written);
    report
}

/// Rows in the tables an import writes, and the audit trail's length.
fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    use vigia::schema::{actors, alerts, audit_log, event_actors, event_concessions, events};
    let mut conn = app.db.get().unwrap();
    let c = &mut conn;
    vec![
        ("events", events::table.count().get_result(c).unwrap()),
        ("actors", actors::table.count().get_result(c).unwrap()),
        (
            "event_actors",
            event_actors::table.count().get_result(c).unwrap(),
        ),
        (
            "event_concessions",
            event_concessions::table.count().get_result(c).unwrap(),
        ),
        ("alerts", alerts::table.count().get_result(c).unwrap()),
        ("audit_log", audit_log::table.count().get_result(c).unwrap()),
    ]
}

async fn export(app: &TestApp, format: &str) -> Vec<u8> {
    let res = app
        .send(
            Method::GET,
            &format!("/api/v1/events/export.{format}"),
            Some(&app.admin),
            &[],
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.bytes
}

/// The export's rows as maps, without what differs between databases (ids,
/// times, links), sorted by title.
fn rows_of(csv_bytes: &[u8]) -> Vec<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut rows: Vec<Vec<(String, String)>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .filter(|(h, _)| !["event_id_cnty", "timestamp", "url"].contains(&h.as_str()))
                .collect()
        })
        .collect();
    let title = |r: &Vec<(String, String)>| r.iter().find(|(h, _)| h == "title").unwrap().1.clone();
    rows.sort_by_key(title);
    rows
}

/// Three incidents, one with two actors (a perpetrator and an affected
/// community), one known to the month, one with a formula-like title.
async fn three_incidents(app: &TestApp) {
    let chancas = app.create_event(los_chancas()).await;
    app.create_event(event_with(json!({
        "title": "=Bloqueo en el corredor minero",
        "description": "Comuneros de Chalhuahuacho bloquean la vía; «paro indefinido».",
        "fatalities": 1, "injuries": 4,
        "sources": [{"publisher": "La República"}, {"publisher": "RPP"}],
    })))
    .await;
    app.create_event(event_with(json!({
        "title": "Marcha pacífica en Cotabambas",
        "event_type": "protest",
        "sub_event_type": "Peaceful protest",
        "occurred_on": "2021-01-01",
        "time_precision": "year",
        "location": {"lat": -13.9, "lon": -72.2, "precision": "near", "place": "Tambobamba"},
    })))
    .await;
    let actor = |name: &str, kind: &str| json!({"name": name, "kind": kind, "aliases": []});
    let id = chancas["id"].as_str().unwrap();
    for (body, role, attribution) in [
        (
            actor("Mineros informales de Tapairihua", "informal_group"),
            "perpetrator",
            "alleged",
        ),
        (
            actor("Comunidad Campesina de Tapairihua", "community"),
            "affected",
            "confirmed",
        ),
    ] {
        let res = app.post("/api/v1/actors", &app.admin, body).await;
        assert_eq!(res.status, 201, "{}", res.body);
        let link = json!({"actor_id": res.body["id"], "role": role, "attribution": attribution});
        let res = app
            .post(&format!("/api/v1/events/{id}/actors"), &app.admin, link)
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
}

#[actix_web::test]
async fn the_csv_export_imports_into_a_fresh_database_and_again_changes_nothing() {
    let a = spawn_app().await;
    three_incidents(&a).await;
    let file = export(&a, "csv").await;

    // Into the database it came from: every incident is known by its id.
    let before = counts(&a);
    let report = imported(&a, &file);
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 0, 3)
    );
    assert_eq!(counts(&a), before, "nothing written, nothing audited");

    // Into another: the same incidents, keyed by the first one's ids.
    let b = spawn_app().await;
    let report = imported(&b, &file);
    assert_eq!(report.format.as_str(), "vigia");
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (3, 0, 0)
    );
    assert_eq!(report.actors_added, 2);
    assert_eq!(rows_of(&export(&b, "csv").await), rows_of(&file));

    // The same file again changes nothing there either.
    let before = counts(&b);
    let again = imported(&b, &file);
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(counts(&b), before);
}

#[actix_web::test]
async fn the_xlsx_export_imports_back() {
    let a = spawn_app().await;
    three_incidents(&a).await;
    let b = spawn_app().await;
    let report = imported(&b, &export(&a, "xlsx").await);
    assert_eq!((report.created, report.bad.len()), (3, 0));
    assert_eq!(
        rows_of(&export(&b, "csv").await),
        rows_of(&export(&a, "csv").await)
    );
    let before = counts(&b);
    let again = imported(&b, &export(&a, "xlsx").await);
    assert_eq!((again.created, again.unchanged), (0, 3));
    assert_eq!(counts(&b), before);
}

const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

fn acled_file() -> String {
    format!(
        "{ACLED_HEADER}\n\
PER9801,12 May 2022,2022,1,Political violence,Strategic developments,Looting/property destruction,Rioters (Peru),Mineros informales de Tapairihua,Rioters,Southern Peru Copper Corporation,,External/Other forces,Rioters-External/Other forces,,604,South America,Peru,Apurímac,Aymaraes,Pocohuanca,Tapairihua,-14.2190728,-73.0884214,2,La República; Correo,National,\"Comuneros y mineros informales queman el campamento del proyecto Los Chancas, en Tapairihua.\",0,,1654041600\n\
PER9802,2022-04-14,2022,2,Demonstrations,Protests,Peaceful protest,Protesters (Peru),Comunidad Campesina de Fuerabamba,Protesters,,,,Protesters only,,604,South America,Peru,Apurímac,Cotabambas,Challhuahuacho,Fuerabamba,-14.0921,-72.2431,1,Correo,Subnational,\"Comuneros de Fuerabamba se instalan en terrenos de la mina Las Bambas; exigen diálogo.\",0,,1654041600\n\
PER9803,03 March 2023,2023,1,Political violence,Riots,Violent demonstration,Rioters (Peru),,Rioters,Police Forces of Peru (2021-),,State forces,Rioters-State forces,,604,South America,Peru,Cusco,Espinar,Espinar,Espinar,-14.7931,-71.4122,3,RPP,National,Enfrentamiento en la vía de acceso; tres heridos.,2,,1678060800\n"
    )
}

#[actix_web::test]
async fn acled_rows_become_incidents_of_vigias_types_with_their_actors() {
    let app = spawn_app().await;
    // A known actor under one of its aliases: matched, not created again.
    let res = app
        .post(
            "/api/v1/actors",
            &app.admin,
            json!({"name": "Southern Peru Copper Corporation, Sucursal del Perú", "kind": "company",
                   "aliases": ["Southern Peru Copper Corporation"]}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let southern = res.body["id"].as_str().unwrap().to_string();

    let report = imported(&app, acled_file().as_bytes());
    assert_eq!(report.format.as_str(), "acled");
    assert_eq!(report.created, 3);
    // Rioters, Mineros informales, Protesters, Fuerabamba, Police.
    assert_eq!(report.actors_added, 5);

    let list = app.get("/api/v1/events?limit=10", &app.admin).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    let by_sub = |sub: &str| -> &Value {
        items
            .iter()
            .find(|e| e["sub_event_type"] == sub)
            .unwrap_or_else(|| panic!("no {sub} in {items:#?}"))
    };
    let looting = by_sub("Looting/property destruction");
    assert_eq!(looting["event_type"], "property_destruction");
    assert_eq!(looting["occurred_on"], "2022-05-12");
    assert_eq!(looting["time_precision"], "day");
    assert_eq!(looting["location"]["precision"], "near");
    assert_eq!(looting["location"]["place"], "Tapairihua");
    assert_eq!(looting["admin"]["district"], "Pocohuanca");
    assert_eq!(
        looting["description"],
        "Comuneros y mineros informales queman el campamento del proyecto Los Chancas, en Tapairihua."
    );
    assert_eq!(
        looting["sources"],
        json!([{"publisher": "La República", "title": null, "url": null, "published_on": null},
               {"publisher": "Correo", "title": null, "url": null, "published_on": null}])
    );
    let roles: Vec<(String, String, String)> = looting["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["role"].as_str().unwrap().to_string(),
                a["attribution"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(roles.contains(&(
        "Rioters (Peru)".into(),
        "perpetrator".into(),
        "alleged".into()
    )));
    assert!(roles.contains(&(
        "Mineros informales de Tapairihua".into(),
        "perpetrator".into(),
        "alleged".into()
    )));
    let target = looting["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "target")
        .unwrap();
    assert_eq!(
        target["actor_id"],
        southern.as_str(),
        "matched by its alias"
    );

    let protest = by_sub("Peaceful protest");
    assert_eq!(protest["event_type"], "protest");
    assert_eq!(protest["occurred_on"], "2022-04-01", "month precision");
    assert_eq!(protest["time_precision"], "month");
    assert_eq!(protest["location"]["precision"], "exact");
    let riot = by_sub("Violent demonstration");
    assert_eq!(riot["event_type"], "riot");
    assert_eq!(riot["fatalities"], 2);
    assert_eq!(riot["location"]["precision"], "approximate");
    let police = riot["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "target")
        .unwrap();
    assert_eq!(police["kind"], "state_agency");

    // The same file again: nothing.
    let before = counts(&app);
    let again = imported(&app, acled_file().as_bytes());
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(counts(&app), before);

    // ACLED corrected one row: its incident is updated, once, audited.
    let corrected = acled_file().replace(
        "Enfrentamiento en la vía de acceso; tres heridos.,2,",
        "Enfrentamiento en la vía de acceso; tres heridos.,3,",
    );
    let audits = |app: &TestApp| {
        counts(app)
            .into_iter()
            .find(|(t, _)| *t == "audit_log")
            .unwrap()
            .1
    };
    let audited = audits(&app);
    let report = imported(&app, corrected.as_bytes());
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 2)
    );
    assert_eq!(audits(&app), audited + 1);
    let riot = app
        .get(
            &format!("/api/v1/events/{}", riot["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(riot.body["fatalities"], 3);
    assert_eq!(riot.body["version"], 2);
}

#[actix_web::test]
async fn every_bad_row_is_named_and_nothing_is_written_unless_skipped() {
    let app = spawn_app().await;
    let file = format!(
        "{}{}",
        acled_file(),
        "PER9804,31 June 2022,2022,1,,Protests,Peaceful protest,Protesters (Peru),,,,,,,,604,,Peru,Cusco,,,,-14.1,-72.1,1,RPP,,,0,,\n\
PER9805,2022-06-02,2022,1,,Picnics,Lunch,,,,,,,,,604,,Peru,Cusco,,,,norte,-72.1,1,RPP,,,0,,\n\
PER9801,2022-06-03,2022,1,,Protests,Peaceful protest,,,,,,,,,604,,Peru,Cusco,,,,-14.1,-72.1,1,RPP,,,0,,\n\
PER9806,2022-06-04\n"
    );
    let before = counts(&app);
    let report = import(&app, file.as_bytes(), false).unwrap();
    assert!(!report.written);
    assert_eq!(report.read, 7);
    assert_eq!(counts(&app), before, "nothing written");
    let named: Vec<(u64, Vec<(String, String)>)> = report
        .bad
        .iter()
        .map(|b| {
            (
                b.line,
                b.problems
                    .iter()
                    .map(|p| (p.field.clone(), p.code.clone()))
                    .collect(),
            )
        })
        .collect();
    let pair = |f: &str, c: &str| (f.to_string(), c.to_string());
    assert_eq!(
        named,
        vec![
            (5, vec![pair("event_date", "date_any")]),
            (
                6,
                vec![
                    pair("event_type", "unknown_value"),
                    pair("latitude", "number")
                ]
            ),
            (7, vec![pair("event_id_cnty", "duplicate_id")]),
            (8, vec![pair("", "columns")]),
        ],
        "{:#?}",
        report.bad
    );
    assert!(
        report.bad[0].reason.contains("31 June 2022"),
        "{}",
        report.bad[0].reason
    );
    assert!(
        report.bad[2].reason.contains("line 2"),
        "{}",
        report.bad[2].reason
    );

    let report = import(&app, file.as_bytes(), true).unwrap();
    assert!(report.written);
    assert_eq!((report.created, report.bad.len()), (3, 4));
    let list = app.get("/api/v1/events?limit=10", &app.admin).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn a_file_without_the_needed_columns_is_refused_whole() {
    let app = spawn_app().await;
    let err = import(&app, b"fecha,lugar\n2022-05-01,Tapairihua\n", false).unwrap_err();
    assert!(err.contains("event_id_cnty"), "{err}");
    let err = import(&app, b"PK\x03\x04not really a workbook", false).unwrap_err();
    assert!(err.contains("workbook"), "{err}");
}

/// A Vigía file of `n` incidents in Apurímac (ubigeo 030410).
fn many_in_apurimac(n: usize) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(vigia::events::export::COLUMNS).unwrap();
    for i in 0..n {
        let cells: Vec<String> = vigia::events::export::COLUMNS
            .iter()
            .map(|c| match *c {
                "event_id_cnty" => format!("APU{i:05}"),
                "event_date" => "2024-02-10".into(),
                "time_precision" => "1".into(),
                "event_type" => "blockade".into(),
                "latitude" => format!("{}", -14.2 - i as f64 * 0.0001),
                "longitude" => "-73.08".into(),
                "geo_precision" => "1".into(),
                "ubigeo" => "030410".into(),
                "admin1" => "Apurímac".into(),
                "verification" => "unverified".into(),
                "title" => format!("Bloqueo n.° {i} en Pocohuanca"),
                "fatalities" | "injuries" => "0".into(),
                _ => String::new(),
            })
            .collect();
        out.write_record(&cells).unwrap();
    }
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

#[actix_web::test]
async fn a_thousand_imported_incidents_are_one_mail_per_watch() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    let email = "apurimac@example.org";
    create_watch(
        &app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    confirm(&app, &mail, email, 1).await;
    let other = "otra@example.org";
    create_watch(
        &app,
        watch(other, json!({"type": "admin_area", "ubigeo": "0304"})),
    )
    .await;
    confirm(&app, &mail, other, 1).await;

    let file = many_in_apurimac(1000);
    let report = imported(&app, file.as_bytes());
    assert_eq!(report.created, 1000);
    assert_eq!(report.alerts, 2000);
    assert_eq!(app.deliver().await, sent(2000));
    let digest = exactly(&mail, email, 2).pop().unwrap();
    assert!(digest.text.contains("Bloqueo n.° 999"), "{}", digest.text);
    exactly(&mail, other, 2);

    // Again: nothing new, nothing to send.
    let again = imported(&app, file.as_bytes());
    assert_eq!((again.created, again.unchanged, again.alerts), (0, 1000, 0));
    assert_eq!(app.deliver().await, sent(0));
    // A changed row updates its incident without mail.
    let changed = file.replace("Bloqueo n.° 7 en", "Bloqueo n.° 7 (corregido) en");
    let report = imported(&app, changed.as_bytes());
    assert_eq!((report.updated, report.alerts), (1, 0));
    assert_eq!(app.deliver().await, sent(0));
    exactly(&mail, email, 2);
}

#[actix_web::test]
async fn the_command_line_imports_and_says_what_it_did() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("acled.csv");
    std::fs::write(&good, acled_file()).unwrap();
    let run = |path: &std::path::Path, extra: &[&str]| {
        let out = vigia(&db)
            .args(["import", "events"])
            .arg(path)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, said) = run(&good, &[]);
    assert!(ok, "{said}");
    assert!(
        said.contains(
            "3 rows read (acled format), 0 skipped; incidents 3 created, 0 updated, 0 unchanged"
        ),
        "{said}"
    );
    let (ok, said) = run(&good, &[]);
    assert!(ok, "{said}");
    assert!(
        said.contains("incidents 0 created, 0 updated, 3 unchanged"),
        "{said}"
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{ACLED_HEADER}\nPER1,2022-13-01,2022,1,,Protests,Peaceful protest,,,,,,,,,604,,Peru,,,,,-14,-72,1,,,,0,,\nPER2,2022-01-01,2022,1,,Protests,Peaceful protest,,,,,,,,,604,,Peru,,,,,-14,-72,1,,,,0,,\n"),
    )
    .unwrap();
    let (ok, said) = run(&bad, &[]);
    assert!(!ok);
    assert!(said.contains("line 2: event_date \"2022-13-01\""), "{said}");
    assert!(said.contains("nothing was imported"), "{said}");
    let (ok, said) = run(&bad, &["--skip-invalid"]);
    assert!(ok, "{said}");
    assert!(said.contains("1 skipped; incidents 1 created"), "{said}");

    let app = spawn_app_on(db).await;
    let list = app.get("/api/v1/events?limit=10", &app.admin).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 4);
}
