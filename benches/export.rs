//! Export benchmark (issue 15): every incident as CSV, GeoJSON and XLSX
//! over HTTP (the whole path a researcher's download takes), with the bytes
//! sent and the server's resident memory, on SQLite and on PostgreSQL.
//!
//!     cargo bench --bench export
//!
//! VIGIA_BENCH_EXPORT sets the number of incidents (default 1000000, the
//! issue's scale). They are the national data set the `scale` bench uses
//! (`common::national`: Peru's districts, 25 years, Spanish texts), so
//! `VIGIA_BENCH_KEEP=1` seeds it once for both benches.
//! `VIGIA_BENCH_BACKENDS=sqlite` runs one backend only. The server runs in
//! this process, so "memory" is this process's resident set: its growth
//! during an export is what the export costs (sampled every 20 ms).
//!
//! Figures, 1,000,000 incidents, release build, 2 cores (the data set kept
//! from one seeding: 513 s on PostgreSQL, 1,205 s on SQLite in /dev/shm):
//!
//! | format | SQLite s | PostgreSQL s | MB sent | RSS growth MB (SQLite / PG) |
//! |---|---|---|---|---|
//! | CSV | 42.4 | 78.9 | 443.2 | 41.3 / 43.6 |
//! | GeoJSON | 64.0 | 62.0 | 1,037.6 | 4.6 / 2.6 |
//! | XLSX | 84.8 | 76.6 | 170 | 1.2 / 1.4 |
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{download, env_usize, start_server};

use vigia::audit::Actor;
use vigia::keys::{self, Role};

fn run_backend(name: &str, postgres: bool, incidents: usize) {
    println!("\n## {name}, {incidents} incidents");
    let Some((bench_db, db)) = common::national(postgres, incidents) else {
        println!("not reachable at {}", common::postgres_base());
        return;
    };
    let settings = common::server_settings(&bench_db.url);
    let token = {
        let mut conn = db.get().unwrap();
        // A kept data set has earlier runs' keys: names are unique.
        let name = format!("bench-{}", uuid::Uuid::new_v4());
        keys::create(&mut conn, &Actor::cli(), &name, Role::Researcher)
            .unwrap()
            .token
    };
    let address = start_server(settings, db);
    println!("| export | seconds | incidents/s | MB sent | server memory growth (MB) |");
    println!("|---|---|---|---|---|");
    for format in ["csv", "geojson", "xlsx"] {
        let (elapsed, bytes, growth) = download(
            &address,
            ("Authorization", &format!("Bearer {token}")),
            &format!("/api/v1/events/export.{format}"),
        );
        let secs = elapsed.as_secs_f64();
        println!(
            "| {format} | {secs:.1} | {:.0} | {:.1} | {:.1} |",
            incidents as f64 / secs,
            bytes as f64 / 1e6,
            growth as f64 / 1e6
        );
    }
}

fn main() {
    let incidents = env_usize("VIGIA_BENCH_EXPORT", 1_000_000);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        run_backend("SQLite", false, incidents);
    }
    if backends.contains("postgres") {
        run_backend("PostgreSQL", true, incidents);
    }
}
