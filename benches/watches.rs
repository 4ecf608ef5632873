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
//! Figures, release build, 2 cores, a quiet machine, 30 runs each (ms,
//! p50 / p99; 2026-12-05):
//!
//! | POST /api/v1/events | SQLite | PostgreSQL before | PostgreSQL now |
//! |---|---|---|---|
//! | matches no watch | 0.9 / 1.2 | 3.6 / 4.2 | 3.6 / 5.2 |
//! | matches 10,000 watches | 285.4 / 369.0 | 472.6 / 634.1 | 343.2 / 409.4 |
//! | first after an area watch changed (rebuild), 5 runs | 123.7 / 165.9 | 193.4 / 198.2 | 161.0 / 205.3 |
//!
//! Before: the alerts' foreign keys, checked per alert; the watch's check
//! took a key-share lock on each of the 10,000 watches (the statement log
//! put 115 of 280 ms in the inserts; migration `2026-12-10-000100`). What
//! is left on PostgreSQL is mostly the 10,000 rows' five index entries
//! each (about 170 ms) and their 110,000 bound values. The same case in
//! the whole data set of `cargo bench --bench scale` (1,000,000 incidents
//! beside): 372.7 / 477.2 ms on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::watches::{
    seed_places, seed_watches, Client, HOTSPOT, HOTSPOT_UBIGEO, HOT_CONCESSION, HOT_HOLDER, QUIET,
    QUIET_UBIGEO,
};
use common::{env_usize, BenchDb};

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use vigia::audit::Actor;
use vigia::db::{Db, DbConn, Target};
use vigia::keys::Role;

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
