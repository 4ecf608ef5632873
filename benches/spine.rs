//! Service-spine benchmark: event creation over HTTP against the same inserts
//! straight through the store, at concurrency 8 and 64, and the p99 of a
//! filtered list with 100,000 events, on SQLite and on PostgreSQL.
//!
//!     cargo bench --bench spine
//!
//! PostgreSQL is reached at VIGIA_BENCH_DATABASE_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created
//! and dropped). `VIGIA_BENCH_BACKENDS=sqlite` runs one backend only;
//! VIGIA_BENCH_EVENTS sets the number of creations per run (default 2000),
//! VIGIA_BENCH_SEED the size of the list data set (default 100000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ms, stats, BenchDb, Stats};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};

use vigia::audit::Actor;
use vigia::config::Settings;
use vigia::db::{Db, Target};
use vigia::events::store::EventFilter;
use vigia::events::{
    Admin, EventFields, EventType, Location, LocationPrecision, Source, TimePrecision, Verification,
};
use vigia::keys::{self, Role};
use vigia::places::PlaceIndex;
use vigia::startup::Application;

const REGIONS: [&str; 25] = [
    "Amazonas",
    "Áncash",
    "Apurímac",
    "Arequipa",
    "Ayacucho",
    "Cajamarca",
    "Callao",
    "Cusco",
    "Huancavelica",
    "Huánuco",
    "Ica",
    "Junín",
    "La Libertad",
    "Lambayeque",
    "Lima",
    "Loreto",
    "Madre de Dios",
    "Moquegua",
    "Pasco",
    "Piura",
    "Puno",
    "San Martín",
    "Tacna",
    "Tumbes",
    "Ucayali",
];

fn fields(rng: &mut impl Rng) -> EventFields {
    let region = REGIONS[rng.random_range(0..REGIONS.len())];
    let day =
        NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + chrono::Days::new(rng.random_range(0..4000));
    EventFields {
        title: format!("Bloqueo de vía por comuneros en {region}"),
        description:
            "Comuneros bloquean la vía de acceso al proyecto minero en protesta por el agua.".into(),
        event_type: EventType::Blockade,
        sub_event_type: None,
        occurred_on: day,
        time_precision: TimePrecision::Day,
        location: Location {
            lat: rng.random_range(-18.0..-3.5),
            lon: rng.random_range(-81.0..-69.0),
            precision: LocationPrecision::Near,
            place: Some("Carretera".into()),
        },
        admin: Some(Admin {
            ubigeo: Some("030410".into()),
            region: Some(region.into()),
            province: Some("Provincia".into()),
            district: Some("Distrito".into()),
        }),
        fatalities: 0,
        injuries: rng.random_range(0..3),
        sources: vec![Source {
            publisher: "Defensoría del Pueblo".into(),
            title: None,
            url: None,
            published_on: None,
            confidential: false,
        }],
        verification: Verification::Unverified,
        verification_note: None,
    }
}

fn json_body(f: &EventFields) -> String {
    serde_json::to_string(f).unwrap()
}

fn start_server(settings: Settings, db: Db) -> (String, actix_web::dev::ServerHandle) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&settings, db).unwrap();
            tx.send((format!("http://127.0.0.1:{}", app.port()), app.handle()))
                .unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    rx.recv().unwrap()
}

/// `total` creations through the store from `concurrency` threads.
fn store_inserts(db: &Db, total: usize, concurrency: usize) -> Stats {
    let index = Arc::new(PlaceIndex::default());
    let actor = vigia::ops::Who {
        role: Role::Monitor,
        actor: Actor {
            key_id: None,
            name: "bench".into(),
        },
    };
    let samples = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..concurrency {
            let (db, actor, samples, index) =
                (db.clone(), actor.clone(), samples.clone(), index.clone());
            scope.spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(worker as u64);
                let mut mine = Vec::new();
                for _ in 0..total / concurrency {
                    let f = fields(&mut rng);
                    let t = Instant::now();
                    let mut conn = db.get().unwrap();
                    vigia::ops::events::create_checked(&mut conn, &index, &actor, &[f]).unwrap();
                    mine.push(t.elapsed());
                }
                samples.lock().unwrap().extend(mine);
            });
        }
    });
    let wall = started.elapsed();
    stats(
        Arc::try_unwrap(samples).unwrap().into_inner().unwrap(),
        wall,
    )
}

/// `total` POST /api/v1/events from `concurrency` concurrent clients.
fn http_inserts(address: &str, token: &str, total: usize, concurrency: usize) -> Stats {
    let address = address.to_string();
    let token = token.to_string();
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .connector(awc::Connector::new().limit(concurrency))
            .finish();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let (client, address, token) = (client.clone(), address.clone(), token.clone());
            tasks.push(actix_web::rt::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + worker as u64);
                let mut mine = Vec::new();
                for _ in 0..total / concurrency {
                    let body = json_body(&fields(&mut rng));
                    let t = Instant::now();
                    let mut res = client
                        .post(format!("{address}/api/v1/events"))
                        .insert_header(("Authorization", format!("Bearer {token}")))
                        .insert_header(("Content-Type", "application/json"))
                        .send_body(body)
                        .await
                        .unwrap();
                    let _ = res.body().await.unwrap();
                    assert_eq!(res.status().as_u16(), 201);
                    mine.push(t.elapsed());
                }
                mine
            }));
        }
        let mut samples = Vec::new();
        for task in tasks {
            samples.extend(task.await.unwrap());
        }
        stats(samples, started.elapsed())
    })
}

fn list_latency(address: &str, token: &str, db: &Db, rounds: usize) -> (Stats, Stats, usize) {
    let query = "region=Apur%C3%ADmac&from=2019-01-01&to=2019-12-31&limit=50";
    let filter = EventFilter {
        region: Some("Apurímac".into()),
        from: NaiveDate::from_ymd_opt(2019, 1, 1),
        to: NaiveDate::from_ymd_opt(2019, 12, 31),
        limit: 50,
        ..Default::default()
    };
    let mut conn = db.get().unwrap();
    let mut store_samples = Vec::new();
    let started = Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        found = vigia::ops::events::list(&mut conn, &filter).unwrap().len();
        store_samples.push(t.elapsed());
    }
    let store_stats = stats(store_samples, started.elapsed());
    drop(conn);
    let address = address.to_string();
    let token = token.to_string();
    let http_stats = actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::default();
        let mut samples = Vec::new();
        let started = Instant::now();
        for _ in 0..rounds {
            let t = Instant::now();
            let mut res = client
                .get(format!("{address}/api/v1/events?{query}"))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .send()
                .await
                .unwrap();
            let _ = res.body().limit(10 << 20).await.unwrap();
            assert_eq!(res.status().as_u16(), 200);
            samples.push(t.elapsed());
        }
        stats(samples, started.elapsed())
    });
    (http_stats, store_stats, found)
}

fn run_backend(name: &str, bench_db: BenchDb, total: usize, seed_size: usize) {
    println!("\n## {name}");
    let mut settings = Settings::load(None).unwrap();
    settings.database.url = bench_db.url.clone();
    settings.database.pool_size = 16;
    settings.server.bind = "127.0.0.1:0".into();
    let db = Db::connect(Target::parse(&bench_db.url).unwrap(), 16).unwrap();
    db.migrate().unwrap();
    let token = keys::create(
        &mut db.get().unwrap(),
        &Actor::cli(),
        "bench",
        Role::Monitor,
    )
    .unwrap()
    .token;
    let (address, handle) = start_server(settings, db.clone());

    println!("| concurrency | path | events/s | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for concurrency in [8, 64] {
        let store = store_inserts(&db, total, concurrency);
        let http = http_inserts(&address, &token, total, concurrency);
        println!(
            "| {concurrency} | store | {:.0} | {} | {} |",
            store.throughput,
            ms(store.p50),
            ms(store.p99)
        );
        println!(
            "| {concurrency} | HTTP | {:.0} | {} | {} |",
            http.throughput,
            ms(http.p50),
            ms(http.p99)
        );
        println!(
            "| {concurrency} | **HTTP/store** | **{:.0}%** | | |",
            100.0 * http.throughput / store.throughput
        );
    }

    let have = 4 * total;
    let started = Instant::now();
    common::seed_events(&db, seed_size.saturating_sub(have), 42, fields);
    println!(
        "\nseeded to {seed_size} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (http, store, found) = list_latency(&address, &token, &db, 1000);
    println!(
        "list region=Apurímac, 2019, limit 50 ({found} rows a page), 1000 sequential requests:"
    );
    println!("| path | p50 | p99 |");
    println!("|---|---|---|");
    println!("| store | {} | {} |", ms(store.p50), ms(store.p99));
    println!("| HTTP | {} | {} |", ms(http.p50), ms(http.p99));
    actix_web::rt::System::new().block_on(handle.stop(true));
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken from the arguments.
    let env_usize = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let total = env_usize("VIGIA_BENCH_EVENTS", 2000);
    let seed_size = env_usize("VIGIA_BENCH_SEED", 100_000);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "# Vigía spine benchmark: {total} creations per row, list over {seed_size} events; {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    if backends.contains("sqlite") {
        run_backend(
            "SQLite (file, WAL, synchronous=FULL)",
            BenchDb::sqlite(),
            total,
            seed_size,
        );
    }
    if backends.contains("postgres") {
        let base = std::env::var("VIGIA_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        match BenchDb::postgres(&base) {
            Some(db) => run_backend("PostgreSQL", db, total, seed_size),
            None => println!("\n## PostgreSQL: NOT RUN, cannot create a database at {base}"),
        }
    }
}
