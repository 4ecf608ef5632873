//! Watches at national scale (issue 11, "Watches at scale"): logging one
//! incident with 100,000 active watches, of which 10,000 are drawn areas,
//! over HTTP (`POST /api/v1/events`, the path a user takes) against the
//! release build, on SQLite and PostgreSQL.
//!
//!     cargo bench --bench watches
//!
//! `VIGIA_BENCH_RUNS` incidents timed per case (default 30),
//! `VIGIA_BENCH_BACKENDS=sqlite` (or `postgres`) runs one backend only;
//! PostgreSQL is the server of `VIGIA_BENCH_DATABASE_URL` (default
//! postgres://postgres@127.0.0.1:5432/postgres), a throw-away database on
//! it. The SQLite file lives in /dev/shm when it exists.
//!
//! Seeded by SQL (confirming 100,000 watches through the API would take
//! hours): 10,000 area watches, irregular 24-point outlines, 8,000 of them
//! overlapping around one spot (the hotspot) and 2,000 spread over Peru;
//! 90,000 watches on concessions, holders and ubigeos (30,000 each), of
//! which 1,000 on the hotspot's concession, 500 on its holder and 500 on
//! its district. So an incident at the hotspot falls under exactly 10,000
//! watches, and one at the quiet spot (a concession, holder and district
//! nobody watches, outside every area) under none. Then ANALYZE.
//!
//! Reported: p50 / p99 of the client's time for `POST /api/v1/events`
//! (request to last byte, one kept-alive connection), the alerts enqueued
//! checked; the area index's rebuild time (after a version bump, as a
//! watch change in any process causes) and its approximate memory.
//!
//! Figures, 2 shared cores with other work running (another engineer's
//! builds and benchmarks), release build, 30 runs each; see the report
//! at the end of this comment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{env_usize, BenchDb};

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use rand::{Rng, SeedableRng};

use vigia::audit::Actor;
use vigia::db::{Db, DbConn, Target};
use vigia::keys::Role;

/// Where 10,000 watches look (inside Los Chancas' district, Apurímac).
const HOTSPOT: (f64, f64) = (-73.0884214, -14.2190728);
const HOTSPOT_UBIGEO: &str = "030410";
/// Where nobody looks (a concession and district with no watch).
const QUIET: (f64, f64) = (-77.0, -12.0);
const QUIET_UBIGEO: &str = "150101";
const CLUSTER: usize = 8_000;
const SPREAD: usize = 2_000;
const PER_KEY_KIND: usize = 30_000;
/// Watches of each kind on the hotspot's concession, holder and district.
const ON_HOTSPOT: [usize; 3] = [1_000, 500, 500];

/// An irregular closed ring of 24 points around a centre, radii in degrees
/// between `r` and `1.5 r`.
fn outline(rng: &mut impl Rng, lon: f64, lat: f64, r: f64) -> Vec<(f64, f64)> {
    let mut ring: Vec<(f64, f64)> = (0..24)
        .map(|i| {
            let a = i as f64 / 24.0 * std::f64::consts::TAU;
            let radius = r * rng.random_range(1.0..1.5);
            (lon + radius * a.cos(), lat + radius * a.sin())
        })
        .collect();
    ring.push(ring[0]);
    ring
}

fn geojson(ring: &[(f64, f64)]) -> String {
    let points: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
    format!(
        r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
        points.join(",")
    )
}

fn bbox(ring: &[(f64, f64)]) -> [f64; 4] {
    ring.iter().fold(
        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |[a, b, c, d], (x, y)| [a.min(*x), b.min(*y), c.max(*x), d.max(*y)],
    )
}

const HOT_CONCESSION: &str = "00000000-0000-4000-8000-000000000001";
const QUIET_CONCESSION: &str = "00000000-0000-4000-8000-000000000002";
const HOT_HOLDER: &str = "00000000-0000-4000-8000-00000000000a";
const QUIET_HOLDER: &str = "00000000-0000-4000-8000-00000000000b";

/// The two concessions (with their holders) the incidents fall in.
fn seed_places(conn: &mut DbConn) {
    let mut sql = String::new();
    for (id, holder, (lon, lat)) in [
        (HOT_CONCESSION, HOT_HOLDER, HOTSPOT),
        (QUIET_CONCESSION, QUIET_HOLDER, QUIET),
    ] {
        sql.push_str(&format!(
            "INSERT INTO actors (id, version, created_at, updated_at, created_by, name, kind, aliases, notes, \
             name_key, search_text) VALUES ('{holder}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'bench', \
             'Titular {holder}', 'company', '[]', '', 'titular {holder}', 'titular');\n"
        ));
        let ring = [
            (lon - 0.02, lat - 0.02),
            (lon + 0.02, lat - 0.02),
            (lon + 0.02, lat + 0.02),
            (lon - 0.02, lat + 0.02),
            (lon - 0.02, lat - 0.02),
        ];
        sql.push_str(&format!(
            "INSERT INTO concessions (id, version, created_at, updated_at, code, name, holder_id, geometry, \
             geometry_valid, source_crs, min_lon, min_lat, max_lon, max_lat, attributes, search_text) VALUES \
             ('{id}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'C{id}', 'CONCESION', '{holder}', '{}', TRUE, \
             'EPSG:4326', {}, {}, {}, {}, '{{}}', 'c');\n",
            geojson(&ring),
            lon - 0.02,
            lat - 0.02,
            lon + 0.02,
            lat + 0.02
        ));
    }
    sql.push_str("UPDATE registry_state SET concessions_version = concessions_version + 1;\n");
    conn.batch_execute(&sql).unwrap();
}

/// One watch row's values: target columns given, the rest as a confirmed
/// watch has them.
fn row(n: usize, target: &str, columns: [String; 8]) -> String {
    let [concession, actor, area, min_lon, min_lat, max_lon, max_lat, ubigeo] = columns;
    format!(
        "('{}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'bench', NULL, 'watcher{n}@example.org', \
         '{target}', {concession}, {actor}, {area}, {min_lon}, {min_lat}, {max_lon}, {max_lat}, {ubigeo}, '[]', \
         'unverified', 'immediate', 'es', 'active', '2026-01-01 00:00:00', 'n', '2026-01-08 00:00:00', \
         '2026-01-01 00:00:00')",
        uuid::Uuid::new_v4()
    )
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn null() -> String {
    "NULL".into()
}

/// 100,000 active watches, by SQL, in statements of 500 rows.
fn seed_watches(conn: &mut DbConn) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut rows = Vec::new();
    // Areas around the hotspot, each containing it: centres within 0.05°
    // and radii of at least 0.1°.
    for _ in 0..CLUSTER {
        let lon = HOTSPOT.0 + rng.random_range(-0.05..0.05);
        let lat = HOTSPOT.1 + rng.random_range(-0.05..0.05);
        let r = rng.random_range(0.1..1.0);
        let ring = outline(&mut rng, lon, lat, r);
        rows.push(("area", ring));
    }
    // Areas over Peru's box, away from both spots.
    while rows.len() < CLUSTER + SPREAD {
        let lon = rng.random_range(-81.0..-69.0);
        let lat = rng.random_range(-18.0..-1.0);
        let r = rng.random_range(0.02..0.5);
        let ring = outline(&mut rng, lon, lat, r);
        let [a, b, c, d] = bbox(&ring);
        let covers = |(x, y): (f64, f64)| a <= x && x <= c && b <= y && y <= d;
        if !covers(HOTSPOT) && !covers(QUIET) {
            rows.push(("area", ring));
        }
    }
    let mut values: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(n, (target, ring))| {
            let [a, b, c, d] = bbox(ring);
            row(
                n,
                target,
                [
                    null(),
                    null(),
                    quoted(&geojson(ring)),
                    a.to_string(),
                    b.to_string(),
                    c.to_string(),
                    d.to_string(),
                    null(),
                ],
            )
        })
        .collect();
    // Keyed watches: the first ON_HOTSPOT of each kind on the hotspot's
    // key, the others on keys of their own (other concessions, holders,
    // and regions, provinces and districts other than 03 and 15).
    for (kind, target) in ["concession", "holder", "admin_area"]
        .into_iter()
        .enumerate()
    {
        for i in 0..PER_KEY_KIND {
            let n = values.len();
            let hot = i < ON_HOTSPOT[kind];
            let other = uuid::Uuid::new_v4().to_string();
            let key = match (kind, hot) {
                (0, true) => HOT_CONCESSION.to_string(),
                (1, true) => HOT_HOLDER.to_string(),
                (2, true) => ["03", "0304", HOTSPOT_UBIGEO][i % 3].to_string(),
                (2, false) => {
                    let region = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 20][i % 15];
                    let code = format!("{region:02}{:02}{:02}", i % 10 + 1, i % 30 + 1);
                    code[..[2, 4, 6][i % 3]].to_string()
                }
                _ => other,
            };
            let mut columns = [
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
            ];
            columns[[0, 1, 7][kind]] = quoted(&key);
            values.push(row(n, target, columns));
        }
    }
    for chunk in values.chunks(500) {
        conn.batch_execute(&format!(
            "INSERT INTO watches (id, version, created_at, updated_at, created_by, owner_key_id, email, \
             target_type, concession_id, actor_id, area, min_lon, min_lat, max_lon, max_lat, ubigeo, \
             event_types, min_verification, frequency, language, status, activated_at, confirm_nonce, \
             confirm_expires_at, confirm_sent_at) VALUES {}",
            chunk.join(",")
        ))
        .unwrap();
    }
    conn.batch_execute("UPDATE watch_state SET areas_version = areas_version + 1")
        .unwrap();
}

#[derive(diesel::QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(diesel::QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// The planners' choice for the three keyed queries of
/// `alerts::matching::enqueue`, as it writes them: the partial indexes'
/// conditions as literals, the keys bound.
fn print_plans(conn: &mut DbConn) {
    use diesel::RunQueryDsl;
    for (column, target, key) in [
        ("concession_id", "concession", HOT_CONCESSION),
        ("actor_id", "holder", HOT_HOLDER),
        ("ubigeo", "admin_area", "03"),
    ] {
        let query = format!(
            "SELECT id FROM watches WHERE status = 'active' AND deleted_at IS NULL \
             AND target_type = '{target}' AND activated_at <= '2026-12-01 00:00:00' \
             AND {column} IN ('{key}')"
        );
        let plan: Vec<String> = match conn {
            DbConn::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
                .load::<SqlitePlan>(c)
                .unwrap()
                .into_iter()
                .map(|p| p.detail)
                .collect(),
            DbConn::Pg(c) => diesel::sql_query(format!("EXPLAIN {query}"))
                .load::<PgPlan>(c)
                .unwrap()
                .into_iter()
                .map(|p| p.line.trim().to_string())
                .collect(),
        };
        println!("plan, {target} watches: {}", plan.join(" / "));
    }
}

fn alerts_of(db: &Db, event_id: &str) -> i64 {
    use diesel::prelude::*;
    use vigia::schema::alerts;
    let mut conn = db.get().unwrap();
    alerts::table
        .filter(alerts::event_id.eq(event_id))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

struct Client {
    http: awc::Client,
    address: String,
    token: String,
}

impl Client {
    /// Logs one incident at `(lon, lat)`; the client's time and its id.
    async fn log(&self, n: usize, (lon, lat): (f64, f64), ubigeo: &str) -> (Duration, String) {
        let body = serde_json::json!({
            "title": format!("Bloqueo de la vía {n}"),
            "event_type": "blockade",
            "occurred_on": "2026-03-10",
            "location": {"lat": lat, "lon": lon},
            "admin": {"ubigeo": ubigeo},
            "verification": "verified",
        });
        let started = Instant::now();
        let mut res = self
            .http
            .post(format!("{}/api/v1/events", self.address))
            .insert_header(("Authorization", format!("Bearer {}", self.token)))
            .send_json(&body)
            .await
            .unwrap();
        let body = res.body().await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(res.status().as_u16(), 201, "{body:?}");
        let created: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (elapsed, created["id"].as_str().unwrap().to_string())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn run_backend(name: &str, bench_db: BenchDb, runs: usize) {
    println!("\n## {name}");
    let settings = common::server_settings(&bench_db.url);
    let target = Target::parse(&bench_db.url).unwrap();
    let db = Db::connect(target, 8).unwrap();
    db.migrate().unwrap();
    let token = {
        let mut conn = db.get().unwrap();
        let started = Instant::now();
        seed_places(&mut conn);
        seed_watches(&mut conn);
        match &mut *conn {
            DbConn::Sqlite(c) => c.batch_execute("ANALYZE").unwrap(),
            DbConn::Pg(c) => c.batch_execute("VACUUM ANALYZE").unwrap(),
        }
        println!(
            "seeded 100,000 watches and analyzed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        print_plans(&mut conn);
        vigia::keys::create(&mut conn, &Actor::cli(), "bench", Role::Monitor)
            .unwrap()
            .token
    };

    // The index alone: a fresh one built from the database, as a process
    // does after any area watch changed.
    {
        let index = vigia::alerts::areas::AreaIndex::default();
        let mut conn = db.get().unwrap();
        let mut times = Vec::new();
        let mut bytes = 0;
        let mut areas = 0;
        for version in 0..5 {
            let started = Instant::now();
            let built = index.at(&mut conn, -1 - version).unwrap();
            times.push(started.elapsed());
            bytes = vigia::alerts::areas::approx_bytes(&built);
            areas = built.len();
        }
        times.sort();
        println!(
            "area index of {areas} watches: rebuild median {} ms, max {} ms (5 builds); about {:.1} MB",
            ms(times[2]),
            ms(times[4]),
            bytes as f64 / 1e6
        );
    }

    let address = common::start_server(settings, db.clone());
    actix_web::rt::System::new().block_on(async move {
        let client = Client {
            http: common::http_client(),
            address,
            token,
        };
        // The first incident builds the server's indexes (a server that
        // has run a while has them).
        let (first, _) = client.log(0, QUIET, QUIET_UBIGEO).await;
        println!("first incident (builds the indexes): {} ms", ms(first));

        println!("\n| POST /api/v1/events ({runs} runs) | p50 ms | p99 ms | alerts each |");
        println!("|---|---|---|---|");
        for (label, spot, ubigeo, expected) in [
            ("matches no watch", QUIET, QUIET_UBIGEO, 0),
            ("matches 10,000 watches", HOTSPOT, HOTSPOT_UBIGEO, 10_000),
        ] {
            let mut times = Vec::with_capacity(runs);
            for n in 0..runs {
                let (t, id) = client.log(n, spot, ubigeo).await;
                assert_eq!(alerts_of(&db, &id), expected, "{label}");
                times.push(t);
            }
            let s = common::stats(times, Duration::from_secs(1));
            println!("| {label} | {} | {} | {expected} |", ms(s.p50), ms(s.p99));
        }

        // Right after an area watch changed (any process): the first
        // incident rebuilds the index inside its transaction.
        let mut times = Vec::new();
        for n in 0..5 {
            db.get()
                .unwrap()
                .batch_execute("UPDATE watch_state SET areas_version = areas_version + 1")
                .unwrap();
            let (t, _) = client.log(n, QUIET, QUIET_UBIGEO).await;
            times.push(t);
        }
        times.sort();
        println!(
            "| matches none, first after an area watch changed (rebuild included), 5 runs | {} | {} (max) | 0 |",
            ms(times[2]),
            ms(times[4])
        );
    });
}

fn sqlite_in_memory_fs() -> BenchDb {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        BenchDb::sqlite_in(shm)
    } else {
        BenchDb::sqlite()
    }
}

fn main() {
    let runs = env_usize("VIGIA_BENCH_RUNS", 30);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "# Vigía watches at scale: 100,000 active watches (10,000 areas); {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    if backends.contains("sqlite") {
        run_backend("SQLite (/dev/shm)", sqlite_in_memory_fs(), runs);
    }
    if backends.contains("postgres") {
        let base = common::postgres_base();
        match BenchDb::postgres(&base) {
            Some(db) => run_backend("PostgreSQL", db, runs),
            None => println!("\n## PostgreSQL: NOT RUN, cannot create a database at {base}"),
        }
    }
}
