//! `vigia backup` while the server serves and writes, `vigia restore` into a
//! fresh database, and the refusals around them.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::json;

use vigia::db::DbConn;

use crate::cli::vigia;
use crate::helpers::{event_with, los_chancas, spawn_app, spawn_app_on, TestApp, TestDb};

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    t: String,
}

pub fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    stderr
}

fn sqlite_integrity(path: &Path) -> String {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("SELECT integrity_check AS t FROM pragma_integrity_check()")
        .load::<Text1>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect::<Vec<_>>()
        .join("; ")
}

fn sqlite_path(db: &TestDb) -> Option<std::path::PathBuf> {
    db.url.strip_prefix("sqlite://").map(Into::into)
}

/// Every table's name, in order.
pub fn tables(conn: &mut DbConn) -> Vec<String> {
    let query = match conn {
        // Data tables only: the FTS5 and R*Tree tables beside `events` are
        // derived (their bytes depend on the order rows were indexed).
        DbConn::Sqlite(_) => "SELECT name AS t FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        DbConn::Pg(_) => "SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    };
    diesel::sql_query(query)
        .load::<Text1>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect()
}

/// Every row of a table, in a canonical text form (all columns, sorted).
pub fn table_rows(conn: &mut DbConn, table: &str) -> String {
    let query = match conn {
        DbConn::Pg(_) => format!(
            "SELECT COALESCE(string_agg(r::text, E'\\n' ORDER BY r::text), '') AS t FROM \"{table}\" r"
        ),
        DbConn::Sqlite(_) => {
            let columns: Vec<String> = diesel::sql_query(format!(
                "SELECT name AS t FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .load::<Text1>(conn)
            .unwrap()
            .into_iter()
            .map(|r| format!("quote(\"{}\")", r.t))
            .collect();
            format!(
                "SELECT COALESCE(group_concat(r, char(10)), '') AS t FROM (SELECT {} AS r FROM \"{table}\" ORDER BY 1)",
                columns.join(" || ',' || ")
            )
        }
    };
    diesel::sql_query(query)
        .get_result::<Text1>(conn)
        .unwrap()
        .t
}

/// Incidents (one edited, one deleted), actors, a concession and a watch:
/// rows in most tables, with history in the audit trail.
pub async fn realistic_rows(app: &TestApp) {
    let res = app
        .post(
            "/api/v1/actors",
            &app.admin,
            json!({"name": "Southern Peru Copper Corporation", "kind": "company", "ruc": "20100147514"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let res = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            json!({"email": "ana@example.org", "target": {"type": "area", "geometry": {"type": "Polygon", "coordinates": [[[-74.0, -15.0], [-72.0, -15.0], [-72.0, -13.0], [-74.0, -13.0], [-74.0, -15.0]]]}}, "frequency": "immediate", "language": "es"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let chancas = app.create_event(los_chancas()).await;
    for n in 0..20 {
        app.create_event(event_with(json!({"title": format!("Bloqueo {n}")})))
            .await;
    }
    let id = chancas["id"].as_str().unwrap();
    // A photo and its thumbnail: binary columns in the copy and the backup.
    let res = app
        .upload(
            &format!("/api/v1/events/{id}/attachments"),
            &app.monitor,
            "campamento.jpg",
            &crate::attachments::phone_photo(),
            &[],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let res = app
        .patch(
            &format!("/api/v1/events/{id}"),
            &app.monitor,
            json!({"fatalities": 1}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let gone = app
        .create_event(event_with(json!({"title": "Registrado por error"})))
        .await;
    let res = app
        .delete(
            &format!("/api/v1/events/{}", gone["id"].as_str().unwrap()),
            &app.admin,
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
}

#[actix_web::test]
async fn a_backup_taken_during_writes_restores_every_acknowledged_incident() {
    let app = Arc::new(spawn_app().await);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("vigia.backup");

    // Several clients write incidents until told to stop; each records
    // when its write was acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for client in 0..4 {
        let (app, stop, acked) = (app.clone(), stop.clone(), acked.clone());
        writers.push(actix_web::rt::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let body = event_with(json!({"title": format!("Bloqueo {client}-{n}")}));
                let res = app.post("/api/v1/events", &app.monitor, body).await;
                assert_eq!(res.status, 201, "{}", res.body);
                let id = res.body["id"].as_str().unwrap().to_string();
                acked.lock().unwrap().push((id, Instant::now()));
                n += 1;
            }
        }));
    }
    // Let the stream get going before the backup starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "the writers made no progress");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }

    let started = Instant::now();
    let mut cmd = vigia(&app.test_db);
    cmd.arg("backup").arg(&backup);
    let out = actix_web::web::block(move || cmd.output().unwrap())
        .await
        .unwrap();
    let finished = Instant::now();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "backup failed: {stderr}");
    assert!(stderr.contains("integrity ok"), "{stderr}");
    assert!(stderr.contains("attachments: none"), "{stderr}");
    // The writes go on after the backup, then stop.
    let after = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < after + 8 {
        assert!(Instant::now() < deadline + Duration::from_secs(60));
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(id, _)| id)
        .collect();
    let during = acked
        .iter()
        .filter(|(_, at)| *at >= started && *at <= finished)
        .count();
    assert!(before.len() >= 40);

    if sqlite_path(&app.test_db).is_some() {
        // The backup file itself is a sound database.
        assert_eq!(sqlite_integrity(&backup), "ok");
    }

    // Into a fresh database, served again.
    let restored = TestDb::new();
    let stderr = run(vigia(&restored).arg("restore").arg(&backup));
    assert!(stderr.contains("restored"), "{stderr}");
    if let Some(path) = sqlite_path(&restored) {
        assert_eq!(sqlite_integrity(&path), "ok");
    }
    let served = spawn_app_on(restored).await;
    for id in &before {
        let res = served
            .get(&format!("/api/v1/events/{id}"), &served.researcher)
            .await;
        assert_eq!(
            res.status,
            200,
            "incident {id} acknowledged before the backup started is missing ({} acknowledged before, {during} during the backup)",
            before.len()
        );
    }
    // Nothing acknowledged after the backup finished is in it.
    let later: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at > finished)
        .map(|(id, _)| id)
        .collect();
    assert!(!later.is_empty());
    for id in later {
        let res = served
            .get(&format!("/api/v1/events/{id}"), &served.researcher)
            .await;
        assert_eq!(
            res.status, 404,
            "{id} was written after the backup finished"
        );
    }
}

#[actix_web::test]
async fn a_restored_backup_holds_the_same_rows_and_restore_refuses_a_database_with_data() {
    let app = spawn_app().await;
    realistic_rows(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("vigia.backup");
    let stderr = run(vigia(&app.test_db).arg("backup").arg(&backup));
    assert!(stderr.contains("events 22"), "{stderr}");
    // A backup never overwrites a file.
    let out = vigia(&app.test_db)
        .arg("backup")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");

    let restored = TestDb::new();
    // A database that was only migrated counts as empty.
    run(vigia(&restored).arg("migrate"));
    run(vigia(&restored).arg("restore").arg(&backup));

    let (mut from, mut to) = (app.db.get().unwrap(), restored.open().get().unwrap());
    let names = tables(&mut from);
    assert_eq!(names, tables(&mut to));
    assert!(names.len() >= 15, "{names:?}");
    for table in &names {
        if table == "backup_runs" {
            // The source records the backup once it is made, after the copy.
            continue;
        }
        let rows = table_rows(&mut from, table);
        assert_eq!(rows, table_rows(&mut to, table), "table {table} differs");
    }
    assert!(table_rows(&mut to, "events").lines().count() == 22);
    assert_eq!(table_rows(&mut to, "backup_runs"), "");
    assert_eq!(table_rows(&mut from, "backup_runs").lines().count(), 2);
    drop((from, to));

    // The restored database holds data now: a second restore is refused
    // unless forced, and the refusal names what to do.
    let out = vigia(&restored)
        .arg("restore")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not empty") && stderr.contains("--force"),
        "{stderr}"
    );
    run(vigia(&restored).args(["restore", "--force"]).arg(&backup));

    // Not a backup at all: one clear line, nothing touched.
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "hola").unwrap();
    let fresh = TestDb::new();
    let out = vigia(&fresh).arg("restore").arg(&junk).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a Vigía backup"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_postgres_backup_without_pg_dump_says_what_to_install() {
    let db = TestDb::new();
    if !db.url.starts_with("postgres") {
        return;
    }
    run(vigia(&db).arg("migrate"));
    let dir = tempfile::tempdir().unwrap();
    let out = vigia(&db)
        .env("PATH", dir.path())
        .arg("backup")
        .arg(dir.path().join("x.dump"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("pg_dump is not installed"), "{stderr}");
    assert!(!dir.path().join("x.dump").exists());
}

#[actix_web::test]
async fn serve_backs_up_by_itself_and_removes_old_backups() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("vigia-20200101T000000Z.backup");
    std::fs::write(&old, "an old backup").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(30 * 86_400))
        .unwrap();
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "not a backup").unwrap();
    let folder = dir.path().display().to_string();
    let app = crate::helpers::spawn_app_with(TestDb::new(), move |s| {
        s.backup.dir = folder;
        s.backup.keep = 7;
    })
    .await;
    // No backup yet: one at start, then the 30-day-old one goes.
    let deadline = Instant::now() + Duration::from_secs(60);
    let made = loop {
        let made: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                name.starts_with("vigia-2") && name.ends_with(".backup") && *p != old
            })
            .collect();
        if made.len() == 1 && !old.exists() {
            break made[0].clone();
        }
        assert!(Instant::now() < deadline, "no scheduled backup: {made:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(other.exists(), "only scheduled backups are removed");
    let (success, last) = vigia::maintenance::last_backups(&mut app.db.get().unwrap()).unwrap();
    assert_eq!(success.unwrap().path, made.display().to_string());
    assert!(last.unwrap().ok);
    // What it wrote restores.
    let restored = TestDb::new();
    run(vigia(&restored).arg("restore").arg(&made));
}

#[test]
fn the_next_scheduled_backup_is_at_the_local_hour() {
    use chrono::NaiveDate;
    use vigia::startup::next_backup_at;
    let at = |d: u32, h: u32, m: u32| {
        NaiveDate::from_ymd_opt(2026, 12, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    };
    // 03:00 in Lima (UTC-5) is 08:00 UTC.
    assert_eq!(next_backup_at(at(2, 7, 59), 3, -5), at(2, 8, 0));
    assert_eq!(next_backup_at(at(2, 8, 0), 3, -5), at(3, 8, 0));
    assert_eq!(next_backup_at(at(2, 23, 0), 3, 0), at(3, 3, 0));
    assert_eq!(next_backup_at(at(2, 1, 0), 3, 0), at(2, 3, 0));
}
