//! What the benchmarks share: a throw-away database per backend and
//! latency statistics.
#![allow(dead_code)]

pub mod incidents;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

pub struct Stats {
    pub throughput: f64,
    pub p50: Duration,
    pub p99: Duration,
}

pub fn stats(mut samples: Vec<Duration>, wall: Duration) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Stats {
        throughput: samples.len() as f64 / wall.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// One database for one backend run, dropped at the end.
pub struct BenchDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    pub fn sqlite() -> Self {
        Self::sqlite_dir(tempfile::tempdir().unwrap())
    }

    /// A SQLite file in a temporary directory under `parent` (/dev/shm:
    /// memory, so the disk does not set the pace).
    pub fn sqlite_in(parent: &std::path::Path) -> Self {
        Self::sqlite_dir(tempfile::tempdir_in(parent).unwrap())
    }

    fn sqlite_dir(dir: tempfile::TempDir) -> Self {
        BenchDb {
            url: format!("sqlite://{}", dir.path().join("bench.db").display()),
            pg: None,
            _dir: Some(dir),
        }
    }

    pub fn postgres(base: &str) -> Option<Self> {
        let mut admin = PgConnection::establish(base).ok()?;
        let name = format!("vigia_bench_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .ok()?;
        let (authority, _) = base.rsplit_once('/').unwrap();
        Some(BenchDb {
            url: format!("{authority}/{name}"),
            pg: Some((base.to_string(), name)),
            _dir: None,
        })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}

/// The PostgreSQL server the benchmarks use.
pub fn postgres_base() -> String {
    std::env::var("VIGIA_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Logs `target` incidents made by `make` (seeded, so every run logs the
/// same ones) through the operation, in transactions of 1,000.
pub fn seed_events(
    db: &vigia::db::Db,
    target: usize,
    seed: u64,
    mut make: impl FnMut(&mut rand::rngs::StdRng) -> vigia::events::EventFields,
) {
    use rand::SeedableRng;
    let index = vigia::places::PlaceIndex::default();
    let who = vigia::ops::Who {
        role: vigia::keys::Role::Monitor,
        actor: vigia::audit::Actor {
            key_id: None,
            name: "seed".into(),
        },
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut conn = db.get().unwrap();
    let mut done = 0;
    while done < target {
        let batch: Vec<_> = (0..1000.min(target - done))
            .map(|_| make(&mut rng))
            .collect();
        vigia::ops::events::create_checked(&mut conn, &index, &who, &batch).unwrap();
        done += batch.len();
    }
}
