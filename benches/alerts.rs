//! Alerts benchmark: logging one incident inside a concession that 10,000
//! active watches look at (plus 10,000 watches elsewhere), enqueueing all its
//! alerts in the incident's transaction; then delivering those alerts to a
//! local SMTP sink, side by side with a plain lettre client sending the same
//! number of messages to the same sink in the same run.
//!
//!     pip install aiosmtpd        # the sink: python3 -m aiosmtpd … Sink
//!     cargo bench --bench alerts
//!
//! VIGIA_BENCH_WATCHES (default 10000) watches per concession,
//! VIGIA_BENCH_POOL (default 16) SMTP connections for both clients,
//! VIGIA_BENCH_INCIDENTS (default 5) incidents timed, VIGIA_BENCH_BACKENDS
//! (default sqlite,postgres), VIGIA_BENCH_DATABASE_URL for PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{env_usize, ms, postgres_base, BenchDb};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use futures_util::StreamExt;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use vigia::audit::Actor;
use vigia::config::Settings;
use vigia::db::{Db, Target};
use vigia::events::{
    EventFields, EventType, Location, LocationPrecision, TimePrecision, Verification,
};
use vigia::places::PlaceIndex;

const WATCHED: (f64, f64) = (-73.0884214, -14.2190728);
const ELSEWHERE: (f64, f64) = (-77.0, -12.0);

fn square(lon: f64, lat: f64, half: f64) -> String {
    format!(
        r#"{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]]]}}"#,
        a = lon - half,
        b = lat - half,
        c = lon + half,
        d = lat + half
    )
}

/// Two concessions and `per` active watches on each, written straight into
/// the tables (the API would take minutes to confirm 20,000 watches).
fn seed(db: &Db, per: usize) {
    let mut conn = db.get().unwrap();
    let mut sql = String::new();
    for (i, (lon, lat)) in [WATCHED, ELSEWHERE].into_iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO concessions (id, version, created_at, updated_at, code, name, geometry, geometry_valid, \
             source_crs, min_lon, min_lat, max_lon, max_lat, attributes, search_text) VALUES \
             ('00000000-0000-4000-8000-00000000000{i}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', \
             'C{i}', 'CONCESION {i}', '{}', TRUE, 'EPSG:4326', {}, {}, {}, {}, '{{}}', 'c{i}');\n",
            square(lon, lat, 0.02),
            lon - 0.02,
            lat - 0.02,
            lon + 0.02,
            lat + 0.02
        ));
    }
    sql.push_str("UPDATE registry_state SET concessions_version = concessions_version + 1;\n");
    conn.batch_execute(&sql).unwrap();
    for c in 0..2 {
        for chunk in (0..per).collect::<Vec<_>>().chunks(500) {
            let values: Vec<String> = chunk
                .iter()
                .map(|n| {
                    format!(
                        "('{}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'bench', NULL, \
                         'watcher{c}-{n}@example.org', 'concession', '00000000-0000-4000-8000-00000000000{c}', \
                         '[]', 'unverified', 'immediate', 'es', 'active', '2026-01-01 00:00:00', 'n', \
                         '2026-01-08 00:00:00', '2026-01-01 00:00:00')",
                        uuid::Uuid::new_v4()
                    )
                })
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO watches (id, version, created_at, updated_at, created_by, owner_key_id, email, \
                 target_type, concession_id, event_types, min_verification, frequency, language, status, \
                 activated_at, confirm_nonce, confirm_expires_at, confirm_sent_at) VALUES {}",
                values.join(",")
            ))
            .unwrap();
        }
    }
}

fn incident(n: usize) -> EventFields {
    EventFields {
        title: format!("Incendio en el campamento {n}"),
        description: "Mineros informales queman el campamento.".into(),
        event_type: EventType::PropertyDestruction,
        sub_event_type: None,
        occurred_on: NaiveDate::from_ymd_opt(2022, 5, 1).unwrap(),
        time_precision: TimePrecision::Month,
        location: Location {
            lat: WATCHED.1,
            lon: WATCHED.0,
            precision: LocationPrecision::Approximate,
            place: Some("Campamento".into()),
        },
        admin: None,
        fatalities: 0,
        injuries: 0,
        sources: vec![],
        verification: Verification::Verified,
        verification_note: None,
    }
}

fn count_pending(db: &Db) -> i64 {
    use diesel::prelude::*;
    use vigia::schema::alerts;
    let mut conn = db.get().unwrap();
    alerts::table
        .filter(alerts::status.eq("pending"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

struct Sink {
    child: Child,
    port: u16,
}

impl Sink {
    fn start() -> Sink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Sink",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start; pip install aiosmtpd"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Sink { child, port }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain lettre client: `n` prebuilt messages like an alert, sent through
/// a pool of `pool` connections, `pool` at a time. Messages per second.
async fn raw_client(port: u16, n: usize, pool: u32) -> f64 {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .pool_config(PoolConfig::new().max_size(pool))
        .build();
    let from: Mailbox = "Vigía <vigia@localhost>".parse().unwrap();
    let text = "Incendio en el campamento\n\nTipo: destrucción de propiedad\nFecha: mayo de 2022\n"
        .repeat(3);
    let messages: Vec<Message> = (0..n)
        .map(|i| {
            Message::builder()
                .from(from.clone())
                .to(format!("watcher-{i}@example.org").parse().unwrap())
                .subject("[Vigía] Incendio en el campamento")
                .message_id(Some(format!("<raw.{i}@localhost>")))
                .multipart(MultiPart::alternative_plain_html(
                    text.clone(),
                    format!("<html><body><pre>{text}</pre></body></html>"),
                ))
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let sent = futures_util::stream::iter(messages)
        .map(|m| {
            let t = &transport;
            async move { t.send(m).await.is_ok() }
        })
        .buffer_unordered(pool as usize)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    assert_eq!(sent, n, "the raw client lost messages");
    n as f64 / started.elapsed().as_secs_f64()
}

fn run_backend(name: &str, bench_db: BenchDb, per: usize, incidents: usize) {
    println!("\n## {name}");
    let target = Target::parse(&bench_db.url).unwrap();
    let db = Db::connect(target, 8).unwrap();
    db.migrate().unwrap();
    seed(&db, per);
    let index = PlaceIndex::default();
    let who = vigia::ops::Who {
        role: vigia::keys::Role::Monitor,
        actor: Actor {
            key_id: None,
            name: "bench".into(),
        },
    };
    // Warm the place index (a real server has it warm), then time.
    {
        let mut conn = db.get().unwrap();
        vigia::places::store::locate(&mut conn, &index, 0.0, 0.0).unwrap();
    }
    let mut times = Vec::new();
    for n in 0..incidents {
        let mut conn = db.get().unwrap();
        let t = Instant::now();
        vigia::ops::events::create_checked(&mut conn, &index, &who, &[incident(n)]).unwrap();
        times.push(t.elapsed());
    }
    let pending = count_pending(&db);
    assert_eq!(
        pending as usize,
        per * incidents,
        "every watch alerted once per incident"
    );
    times.sort();
    println!(
        "log one incident + enqueue {per} alerts (goal < 1 s), {incidents} incidents: median {}, max {}",
        ms(times[times.len() / 2]),
        ms(*times.last().unwrap())
    );
    // Deliver the first incident's alerts; the rest are set aside.
    {
        let mut conn = db.get().unwrap();
        conn.batch_execute(
            "UPDATE alerts SET status = 'cancelled' WHERE event_id <> \
             (SELECT event_id FROM alerts ORDER BY created_at LIMIT 1)",
        )
        .unwrap();
    }
    let sink = Sink::start();
    let mut settings = Settings::load(None).unwrap();
    settings.database.url = bench_db.url.clone();
    settings.smtp.port = sink.port;
    settings.smtp.pool_size = env_usize("VIGIA_BENCH_POOL", 16) as u32;
    let pool = settings.smtp.pool_size;
    let total = count_pending(&db) as usize;
    actix_web::rt::System::new().block_on(async {
        eprintln!("raw client…");
        let raw_before = raw_client(sink.port, total, pool).await;
        eprintln!("raw client: {raw_before:.0} msg/s; Vigía…");
        let (worker, _) = vigia::startup::delivery_worker(&settings, &db).unwrap();
        let started = Instant::now();
        let pass = worker.run_once().await.unwrap();
        let vigia_rate = pass.sent as f64 / started.elapsed().as_secs_f64();
        assert_eq!(pass.sent, total, "{pass:?}");
        let raw_after = raw_client(sink.port, total, pool).await;
        let raw = (raw_before + raw_after) / 2.0;
        println!(
            "delivery of {total} alerts, pool {pool}, batch {}: Vigía {vigia_rate:.0} msg/s; raw lettre client {raw:.0} msg/s \
             (before {raw_before:.0}, after {raw_after:.0}); ratio {:.0}% (goal >= 80%)",
            settings.alerts.batch_size,
            100.0 * vigia_rate / raw
        );
    });
}

fn main() {
    let per = env_usize("VIGIA_BENCH_WATCHES", 10_000);
    let incidents = env_usize("VIGIA_BENCH_INCIDENTS", 5);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "# Vigía alerts benchmark: {per} watches on the incident's concession and {per} elsewhere; {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    if backends.contains("sqlite") {
        run_backend(
            "SQLite (file, WAL, synchronous=FULL)",
            BenchDb::sqlite(),
            per,
            incidents,
        );
    }
    if backends.contains("postgres") {
        let base = postgres_base();
        match BenchDb::postgres(&base) {
            Some(db) => run_backend("PostgreSQL", db, per, incidents),
            None => println!("\n## PostgreSQL: NOT RUN, cannot create a database at {base}"),
        }
    }
}
