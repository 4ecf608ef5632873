//! Upgrades: a database of the first release brought up to this one, and a
//! binary that refuses a database newer than itself.

use diesel::connection::SimpleConnection;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use sha2::{Digest, Sha256};

use vigia::db::{DbConn, Target};

use crate::cli::vigia;
use crate::helpers::{spawn_app_on, TestDb};

/// The first release's schema: its only migration, `..._spine`, as it
/// shipped (unchanged since), applied the way that release applied it.
fn first_release(db: &TestDb) -> DbConn {
    let mut conn = Target::parse(&db.url).unwrap().connect().unwrap();
    let backend = match conn {
        DbConn::Sqlite(_) => "sqlite",
        DbConn::Pg(_) => "postgres",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
        .join("2026-11-27-000001_spine");
    let migrations = FileBasedMigrations::from_path(dir.parent().unwrap()).unwrap();
    match &mut conn {
        DbConn::Sqlite(c) => {
            let all = diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(
                &migrations,
            )
            .unwrap();
            let spine = all
                .iter()
                .find(|m| m.name().to_string().ends_with("_spine"))
                .unwrap();
            c.applied_migrations().unwrap(); // makes the bookkeeping table
            c.run_migration(spine.as_ref()).unwrap();
        }
        DbConn::Pg(c) => {
            let all = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&migrations)
                .unwrap();
            let spine = all
                .iter()
                .find(|m| m.name().to_string().ends_with("_spine"))
                .unwrap();
            c.applied_migrations().unwrap(); // makes the bookkeeping table
            c.run_migration(spine.as_ref()).unwrap();
        }
    }
    conn
}

const TOKEN: &str = "vg_firstreleasefirstreleasefirstreleasefirstrel";
const CHANCAS: &str = "0b6f2a1e-5c1d-4c8e-9a55-1f0f0c0e7a01";
const DELETED: &str = "0b6f2a1e-5c1d-4c8e-9a55-1f0f0c0e7a02";

/// Rows as the first release wrote them: an admin key, an incident edited
/// once, one deleted, and their audit trail.
fn first_release_rows(conn: &mut DbConn) {
    let hash = hex::encode(Sha256::digest(TOKEN.as_bytes()));
    let sources = r#"[{"publisher":"Defensoría del Pueblo","title":"Reporte de Conflictos Sociales N.° 220","url":"https://www.defensoria.gob.pe/","published_on":"2022-07-01"}]"#;
    conn.batch_execute(&format!(
        "INSERT INTO api_keys (id, name, role, token_hash, token_prefix, created_at, revoked_at) VALUES
           ('5d0c1a7e-0000-4000-8000-000000000001', 'ana-lima', 'admin', '{hash}', 'vg_firs', '2026-11-27 09:00:00.123456', NULL);
         INSERT INTO events (id, version, created_at, updated_at, created_by, title, description, event_type, sub_event_type,
             occurred_on, time_precision, lat, lon, location_precision, place, ubigeo, region, province, district,
             admin_source, region_key, province_key, district_key, fatalities, injuries, sources, verification, search_text, deleted_at)
         VALUES
           ('{CHANCAS}', 2, '2026-11-27 10:00:00.000001', '2026-11-27 11:30:00.5', 'ana-lima',
            'Queman el campamento del proyecto Los Chancas', 'El campamento de Southern Peru en Tapairihua fue incendiado.',
            'property_destruction', 'arson', '2022-05-01', 'month', -14.2190728, -73.0884214, 'approximate',
            'Campamento Los Chancas, Tapairihua', '030410', 'Apurímac', 'Aymaraes', 'Pocohuanca', 'client',
            'apurimac', 'aymaraes', 'pocohuanca', 1, 3, '{sources}', 'verified',
            'queman el campamento del proyecto los chancas campamento los chancas tapairihua', NULL),
           ('{DELETED}', 2, '2026-11-27 10:05:00', '2026-11-27 10:06:00', 'ana-lima',
            'Registrado por error', '', 'blockade', NULL, '2023-03-10', 'day', -14.0, -73.0, 'exact',
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, '[]', 'unverified',
            'registrado por error', '2026-11-27 10:06:00');
         INSERT INTO audit_log (at, key_id, key_name, action, entity, entity_id, before_json, after_json) VALUES
           ('2026-11-27 10:00:00.000001', '5d0c1a7e-0000-4000-8000-000000000001', 'ana-lima', 'create', 'event', '{CHANCAS}', NULL, '{{\"title\":\"Queman el campamento del proyecto Los Chancas\"}}'),
           ('2026-11-27 11:30:00.5', '5d0c1a7e-0000-4000-8000-000000000001', 'ana-lima', 'update', 'event', '{CHANCAS}', '{{\"fatalities\":0}}', '{{\"fatalities\":1}}'),
           ('2026-11-27 10:06:00', '5d0c1a7e-0000-4000-8000-000000000001', 'ana-lima', 'delete', 'event', '{DELETED}', '{{}}', NULL);"
    ))
    .unwrap();
}

#[actix_web::test]
async fn a_first_release_database_is_upgraded_with_its_data_intact_and_served() {
    let db = TestDb::new();
    let mut conn = first_release(&db);
    first_release_rows(&mut conn);
    drop(conn);

    // The current binary brings the schema up to date.
    let out = vigia(&db).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let app = spawn_app_on(db).await;
    // The first release's key still works, with its role.
    let res = app.get(&format!("/api/v1/events/{CHANCAS}"), TOKEN).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let event = &res.body;
    assert_eq!(
        event["title"],
        "Queman el campamento del proyecto Los Chancas"
    );
    assert_eq!(event["version"], 2);
    assert_eq!(event["fatalities"], 1);
    assert_eq!(event["injuries"], 3);
    assert_eq!(event["occurred_on"], "2022-05-01");
    assert_eq!(event["location"]["lat"], -14.2190728);
    assert_eq!(event["admin"]["ubigeo"], "030410");
    assert_eq!(event["admin"]["region"], "Apurímac");
    assert_eq!(event["sources"][0]["publisher"], "Defensoría del Pueblo");
    assert_eq!(event["created_at"], "2026-11-27T10:00:00.000001Z");
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    // Found by the folded search, listed, and the deleted one stays deleted.
    let res = app.get("/api/v1/events?q=chancas", TOKEN).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let ids: Vec<&str> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![CHANCAS]);
    let res = app.get(&format!("/api/v1/events/{DELETED}"), TOKEN).await;
    assert_eq!(res.status, 404, "{}", res.body);
    // Its history survived.
    let res = app
        .get(
            &format!("/api/v1/audit?entity=event&entity_id={CHANCAS}"),
            TOKEN,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        res.body
    );
    // And it takes new writes: an edit against the old version.
    let res = app
        .patch(
            &format!("/api/v1/events/{CHANCAS}"),
            TOKEN,
            serde_json::json!({"injuries": 4}),
            Some("\"2\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["version"], 3);
}

#[test]
fn a_binary_older_than_the_database_refuses_to_start_with_one_line() {
    let db = TestDb::new();
    let out = vigia(&db).arg("migrate").output().unwrap();
    assert!(out.status.success());
    // A later release's migration, unknown to this binary.
    let mut conn = Target::parse(&db.url).unwrap().connect().unwrap();
    conn.batch_execute(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000001')",
    )
    .unwrap();
    drop(conn);
    for command in ["migrate", "serve", "backup"] {
        let mut cmd = vigia(&db);
        cmd.env("VIGIA__SERVER__BIND", "127.0.0.1:0").arg(command);
        if command == "backup" {
            cmd.arg(std::env::temp_dir().join(format!("never-{}", uuid::Uuid::new_v4())));
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{command} ran on a newer schema");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{command}: {stderr}");
        assert!(
            stderr.contains("20991231000001") && stderr.contains(&newest_known()),
            "{command}: {stderr}"
        );
    }
}

/// The newest migration this binary embeds, as diesel writes its version
/// (`2026-12-02-000005_x` → `20261202000005`).
fn newest_known() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.split('_').next().map(|v| v.replace('-', "")))
        .max()
        .unwrap()
}
