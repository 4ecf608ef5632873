//! What the benchmarks share: a throw-away database per backend and
//! latency statistics.
#![allow(dead_code)]

pub mod concessions;
pub mod incidents;
pub mod watches;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Left in place at the end (`national` with VIGIA_BENCH_KEEP=1).
    keep: bool,
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
            keep: false,
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
            keep: false,
        })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
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

/// Loads `target` incidents made by `make` (seeded) in transactions of
/// 10,000 through `events::store::insert_many`: rows, derived columns and
/// indexes as the server writes them, without the matching, alerts and
/// audit records of logging each one (`seed_events`), ten times faster.
pub fn load_events(
    db: &vigia::db::Db,
    target: usize,
    seed: u64,
    mut make: impl FnMut(&mut rand::rngs::StdRng) -> vigia::events::EventFields,
) {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut conn = db.get().unwrap();
    let mut done = 0;
    while done < target {
        let batch: Vec<_> = (0..10_000.min(target - done))
            .map(|_| (make(&mut rng), None))
            .collect();
        vigia::db::write_tx(&mut conn, |c| {
            vigia::events::store::insert_many(c, "seed", &batch)
        })
        .unwrap();
        done += batch.len();
    }
}

/// The national data set `scale` and `export` share: Peru's district layer
/// (when `incidents::DISTRICTS` is present) and `n` incidents from
/// `incidents::fields`, loaded by `load_events`, then ANALYZEd.
///
/// Loading 1,000,000 incidents takes minutes per backend on two cores, so with `VIGIA_BENCH_KEEP=1` the database is left in place
/// (SQLite `/dev/shm/vigia-national-N.db`, PostgreSQL database
/// `vigia_national_N`) and a later run that finds it complete reuses it,
/// after running any newer migrations on it. Delete it when done:
/// `rm /dev/shm/vigia-national-*` and `DROP DATABASE vigia_national_N`.
pub fn national(postgres: bool, n: usize) -> Option<(BenchDb, vigia::db::Db)> {
    use diesel::RunQueryDsl;
    use vigia::db::{Db, DbConn, Target};
    let keep = std::env::var("VIGIA_BENCH_KEEP").is_ok_and(|v| v == "1");
    let bench_db = match (postgres, keep) {
        (false, false) => {
            let shm = std::path::Path::new("/dev/shm");
            if shm.is_dir() {
                BenchDb::sqlite_in(shm)
            } else {
                BenchDb::sqlite()
            }
        }
        (false, true) => BenchDb {
            url: format!("sqlite:///dev/shm/vigia-national-{n}.db"),
            pg: None,
            _dir: None,
            keep: true,
        },
        (true, false) => BenchDb::postgres(&postgres_base())?,
        (true, true) => {
            let base = postgres_base();
            let name = format!("vigia_national_{n}");
            let mut admin = PgConnection::establish(&base).ok()?;
            // Already there is fine: it is checked below.
            let _ = admin.batch_execute(&format!("CREATE DATABASE \"{name}\""));
            let (authority, _) = base.rsplit_once('/').unwrap();
            BenchDb {
                url: format!("{authority}/{name}"),
                pg: Some((base, name)),
                _dir: None,
                keep: true,
            }
        }
    };
    let db = Db::connect(Target::parse(&bench_db.url).unwrap(), 8).unwrap();
    db.migrate().unwrap();
    let have: i64 = {
        let mut conn = db.get().unwrap();
        diesel::sql_query("SELECT count(*) AS n FROM events")
            .get_result::<Count>(&mut *conn)
            .unwrap()
            .n
    };
    if have as usize >= n {
        println!("reusing {} with {have} incidents", bench_db.url);
        return Some((bench_db, db));
    }
    assert_eq!(
        have, 0,
        "{} holds {have} incidents, not {n}: delete it",
        bench_db.url
    );
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(12);
    let drafts = load_districts(&db);
    let places = incidents::Places::new(drafts, &mut rng);
    let seeded = Instant::now();
    load_events(&db, n, 7, |rng| incidents::fields(&places, rng));
    println!("seeded in {:.0} s", seeded.elapsed().as_secs_f64());
    let mut conn = db.get().unwrap();
    let started = Instant::now();
    match &mut *conn {
        DbConn::Sqlite(c) => c.batch_execute("ANALYZE").unwrap(),
        DbConn::Pg(c) => c.batch_execute("VACUUM ANALYZE").unwrap(),
    }
    println!("ANALYZE in {:.0} s", started.elapsed().as_secs_f64());
    drop(conn);
    Some((bench_db, db))
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The settings of a server a benchmark starts: this database, any free
/// port on loopback, alerts queued but not delivered.
pub fn server_settings(url: &str) -> vigia::config::Settings {
    let mut settings = vigia::config::Settings::load(None).unwrap();
    settings.database.url = url.to_string();
    settings.server.bind = "127.0.0.1:0".into();
    settings.alerts.deliver = false;
    settings
}

/// The HTTP client of a benchmark: one kept-alive connection, a timeout
/// long enough for a slow national request to be measured, not cut.
pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(600))
        .finish()
}

/// Peru's real districts (`incidents::DISTRICTS`) imported into `db` as the
/// CLI does, and their drafts for placing incidents; none when the shared
/// file is missing (said on stdout).
pub fn load_districts(db: &vigia::db::Db) -> Vec<vigia::places::store::DistrictDraft> {
    let path = std::path::Path::new(incidents::DISTRICTS);
    if !path.exists() {
        println!("districts not loaded: {} is missing", incidents::DISTRICTS);
        return Vec::new();
    }
    let admin = vigia::ops::Who {
        role: vigia::keys::Role::Admin,
        actor: vigia::audit::Actor::cli(),
    };
    let fields = vigia::places::import::DistrictFields::default();
    let (_, drafts) =
        vigia::places::import::read_boundaries(path, None, &fields, 64 << 20).unwrap();
    let mut conn = db.get().unwrap();
    let report = vigia::ops::places::import_boundaries(
        &mut conn,
        &vigia::places::PlaceIndex::default(),
        &admin,
        path,
        None,
        &fields,
        64 << 20,
    )
    .unwrap();
    println!("districts loaded: {}", report.imported);
    drafts
}

pub fn start_server(settings: vigia::config::Settings, db: vigia::db::Db) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = vigia::startup::Application::build(&settings, db).unwrap();
            tx.send(format!("http://127.0.0.1:{}", app.port())).unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    rx.recv().unwrap()
}

/// Downloads one export, counting bytes as they come (nothing is kept), and
/// the peak resident memory above the level before the request.
pub fn download(address: &str, auth: (&str, &str), path: &str) -> (Duration, u64, u64) {
    let before = rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (address, path) = (address.to_string(), path.to_string());
    let auth = (auth.0.to_string(), auth.1.to_string());
    let (elapsed, bytes) = actix_web::rt::System::new().block_on(async move {
        use futures_util::StreamExt;
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(3600))
            .finish();
        let started = Instant::now();
        let mut res = client
            .get(format!("{address}{path}"))
            .insert_header(auth)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let mut bytes = 0u64;
        while let Some(chunk) = res.next().await {
            bytes += chunk.unwrap().len() as u64;
        }
        (started.elapsed(), bytes)
    });
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (
        elapsed,
        bytes,
        peak.load(Ordering::Relaxed).saturating_sub(before),
    )
}
