//! Export benchmark: every incident as CSV, GeoJSON and XLSX over HTTP
//! (the whole path a researcher's download takes), with the bytes sent and
//! the server's resident memory, on SQLite and on PostgreSQL.
//!
//!     cargo bench --bench export
//!
//! VIGIA_BENCH_EXPORT sets the number of incidents (default 100000; the
//! issue's scale is 1000000, which takes several minutes to seed per
//! backend). `VIGIA_BENCH_BACKENDS=sqlite` runs one backend only. The server
//! runs in this process, so "memory" is this process's resident set: its
//! growth during an export is what the export costs (sampled every 20 ms).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{env_usize, BenchDb};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::Rng;

use vigia::audit::Actor;
use vigia::config::Settings;
use vigia::db::{Db, Target};
use vigia::events::{
    Admin, EventFields, EventType, Location, LocationPrecision, Source, TimePrecision, Verification,
};
use vigia::keys::{self, Role};
use vigia::startup::Application;

fn fields(rng: &mut impl Rng) -> EventFields {
    let day =
        NaiveDate::from_ymd_opt(2005, 1, 1).unwrap() + chrono::Days::new(rng.random_range(0..7000));
    EventFields {
        title: "Bloqueo de vía por comuneros frente al campamento minero".into(),
        description: "Comuneros bloquean la vía de acceso al proyecto minero en protesta por el agua; la policía interviene.".into(),
        event_type: EventType::Blockade,
        sub_event_type: Some("road_block".into()),
        occurred_on: day,
        time_precision: TimePrecision::Day,
        location: Location {
            lat: rng.random_range(-18.0..-3.5),
            lon: rng.random_range(-81.0..-69.0),
            precision: LocationPrecision::Near,
            place: Some("Carretera Interoceánica".into()),
        },
        admin: Some(Admin {
            ubigeo: Some("030410".into()),
            region: Some("Apurímac".into()),
            province: Some("Aymaraes".into()),
            district: Some("Pocohuanca".into()),
        }),
        fatalities: 0,
        injuries: rng.random_range(0..3),
        sources: vec![Source {
            publisher: "Defensoría del Pueblo".into(),
            title: Some("Reporte de Conflictos Sociales".into()),
            url: None,
            published_on: None,
            confidential: false,
        }],
        verification: Verification::Unverified,
        verification_note: None,
    }
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn start_server(settings: Settings, db: Db) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&settings, db).unwrap();
            tx.send(format!("http://127.0.0.1:{}", app.port())).unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    rx.recv().unwrap()
}

/// Downloads one export, counting bytes as they come (nothing is kept), and
/// the peak resident memory above the level before the request.
fn download(address: &str, token: &str, path: &str) -> (Duration, u64, u64) {
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
    let (address, token, path) = (address.to_string(), token.to_string(), path.to_string());
    let (elapsed, bytes) = actix_web::rt::System::new().block_on(async move {
        use futures_util::StreamExt;
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(3600))
            .finish();
        let started = Instant::now();
        let mut res = client
            .get(format!("{address}{path}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
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

fn run_backend(name: &str, bench_db: BenchDb, incidents: usize) {
    println!("\n## {name}, {incidents} incidents");
    let mut settings = Settings::load(None).unwrap();
    settings.database.url = bench_db.url.clone();
    settings.server.bind = "127.0.0.1:0".into();
    settings.alerts.deliver = false;
    let target = Target::parse(&bench_db.url).unwrap();
    let db = Db::connect(target, 8).unwrap();
    db.migrate().unwrap();
    let seeded = Instant::now();
    common::seed_events(&db, incidents, 7, fields);
    println!("seeded in {:.1} s", seeded.elapsed().as_secs_f64());
    let token = {
        let mut conn = db.get().unwrap();
        keys::create(&mut conn, &Actor::cli(), "bench", Role::Researcher)
            .unwrap()
            .token
    };
    let address = start_server(settings, db);
    println!("| export | seconds | incidents/s | MB sent | server memory growth (MB) |");
    println!("|---|---|---|---|---|");
    for format in ["csv", "geojson", "xlsx"] {
        let (elapsed, bytes, growth) =
            download(&address, &token, &format!("/api/v1/events/export.{format}"));
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
    let incidents = env_usize("VIGIA_BENCH_EXPORT", 100_000);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        run_backend("SQLite", BenchDb::sqlite(), incidents);
    }
    if backends.contains("postgres") {
        match BenchDb::postgres(&common::postgres_base()) {
            Some(db) => run_backend("PostgreSQL", db, incidents),
            None => println!(
                "\n## PostgreSQL: not reachable at {}",
                common::postgres_base()
            ),
        }
    }
}
