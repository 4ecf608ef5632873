//! Places benchmark (issue 11): importing the real cadastre (9,025
//! concessions) and a national-scale set (70,000: the real ones plus
//! shifted copies); then, at each size, `GET /api/v1/concessions/at` as
//! users get it, over HTTP against the release build of the server (in
//! this process, `startup::Application`), 1,000 points inside outlines one
//! after the other over one kept-alive connection (awc), p50/p99 from the
//! request to the body's last byte, beside `GET /healthz` (the client's own
//! floor) and the PostGIS anchor; and incident creation with and without
//! matching.
//!
//!     cargo bench --bench places
//!
//! Needs ../shared/data beside the checkout. SQLite lives in /dev/shm;
//! PostgreSQL is a throw-away database on `VIGIA_BENCH_DATABASE_URL`
//! (default postgres://postgres@127.0.0.1:5432/postgres).
//! `VIGIA_BENCH_BACKENDS=sqlite|postgres` picks one backend.
//!
//! Each size also reports where a lookup's time goes, in process: the
//! layer version read, the R-tree + exact test, the `load_many` of the
//! found rows and serialising them (the path before this change,
//! `store::at`), and the path now (the index's stored JSON, the version
//! read at most every 250 ms); the index's build time and the resident
//! memory it adds; the time to a serving `/readyz` and to the first lookup
//! (which builds the server's index).
//!
//! The anchor: PostGIS `ST_Contains` over a GiST index on the same outlines
//! (in the PostgreSQL run's throw-away database), timed as SQL from Rust
//! (diesel) over one connection: the ids only, and the rows Vigía's answer
//! carries as one JSON text each. PostGIS comes from Debian
//! (`apt-get install postgresql-15-postgis-3`); without it the bench says
//! loudly that the anchor was NOT RUN and why.
//!
//! Figures, release build, 2 cores, a quiet machine (2026-12-05, commit
//! after 23ba7b0; µs, p50 / p99 over 1,000 points; the PostGIS anchor as
//! SQL from the PostgreSQL run, same outlines and points):
//!
//! | | SQLite 9,025 | SQLite 70,000 | PostgreSQL 9,025 | PostgreSQL 70,000 |
//! |---|---|---|---|---|
//! | **HTTP GET /api/v1/concessions/at** | **128 / 313** | **101 / 209** | **167 / 412** | **113 / 224** |
//! | HTTP GET /healthz (the floor) | 95 / 226 | 78 / 164 | 96 / 197 | 93 / 145 |
//! | index answer in process | 1.5 / 3.9 | 2.7 / 7.8 | 1.9 / 5.7 | 3.9 / 12.3 |
//! | before: store::at in process | 47 / 111 | 62 / 180 | 277 / 867 | 447 / 881 |
//! | PostGIS, ids only | | | 141 / 250 | 185 / 341 |
//! | PostGIS, the same rows as JSON | | | 333 / 474 | 523 / 878 |
//!
//! Against PostGIS giving the same answer (the rows, as JSON) the whole
//! HTTP path is 2.6× (SQLite) and 2.0× (PostgreSQL) faster at 9,025
//! outlines, 5.2× and 4.6× at 70,000. Against PostGIS returning ids alone
//! the 3× cannot be had over HTTP: a third of its 141 µs is below
//! the loopback floor of an empty `/healthz` (78–96 µs); what Vigía adds
//! above that floor is 20–70 µs. Imports: SQLite 1.8 s (9,025) and 9.3 s
//! (70,000), PostgreSQL 8.4 s and 61.2 s; the index builds in 0.08–0.11 s
//! (9,025) and 0.71–0.87 s (70,000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Double;
use rand::{Rng, SeedableRng};

use common::concessions::{connect, data, import, national_file, NATIONAL};
use common::{ms, stats, BenchDb};
use vigia::db::Db;
use vigia::db::{DbConn, Target};
use vigia::events::{
    EventFields, EventType, Location, LocationPrecision, TimePrecision, Verification,
};
use vigia::ops::events;
use vigia::places::store::versions;
use vigia::places::PlaceIndex;

/// Points inside random concessions' boxes (most lookups hit 1–3 outlines),
/// the same on both backends (boxes by code, a fixed seed).
fn sample_points(conn: &mut DbConn, n: usize) -> Vec<(f64, f64)> {
    use vigia::schema::concessions::dsl::*;
    let boxes: Vec<(f64, f64, f64, f64)> = concessions
        .order(code)
        .select((min_lon, min_lat, max_lon, max_lat))
        .load(conn)
        .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| {
            let (a, b, c, d) = boxes[rng.random_range(0..boxes.len())];
            (rng.random_range(a..=c), rng.random_range(b..=d))
        })
        .collect()
}

/// `n` points each inside at least one outline (not only its box), as the
/// issue's client asked.
fn points_inside(conn: &mut DbConn, n: usize) -> Vec<(f64, f64)> {
    let index = PlaceIndex::default();
    let (version, _) = versions(conn, false).unwrap();
    let shapes = index.concessions(conn, version).unwrap();
    sample_points(conn, n * 4)
        .into_iter()
        .filter(|(lon, lat)| shapes.containing(*lon, *lat).next().is_some())
        .take(n)
        .collect()
}

fn fields(lon: f64, lat: f64) -> EventFields {
    EventFields {
        title: "Bloqueo en la concesión".into(),
        description: String::new(),
        event_type: EventType::Blockade,
        sub_event_type: None,
        occurred_on: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        time_precision: TimePrecision::Day,
        location: Location {
            lat,
            lon,
            precision: LocationPrecision::Exact,
            place: None,
        },
        admin: None,
        fatalities: 0,
        injuries: 0,
        sources: Vec::new(),
        verification: Verification::Unverified,
        verification_note: None,
    }
}

/// Mean and p99 of creating `points.len()` incidents one after the other.
fn creations(url: &str, points: &[(f64, f64)]) -> (Duration, Duration) {
    let mut conn = connect(url);
    let index = PlaceIndex::default();
    let who = vigia::ops::Who::cli();
    // Warm: the first create builds the index.
    events::create_checked(&mut conn, &index, &who, &[fields(points[0].0, points[0].1)]).unwrap();
    let mut samples = Vec::new();
    for (lon, lat) in &points[1..] {
        let t = Instant::now();
        events::create_checked(&mut conn, &index, &who, &[fields(*lon, *lat)]).unwrap();
        samples.push(t.elapsed());
    }
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    (mean, stats(samples, Duration::from_secs(1)).p99)
}

/// The PostGIS anchor's p50 and p99: ids only, and whole rows.
struct Anchor {
    ids: (Duration, Duration),
    rows: (Duration, Duration),
    hits: usize,
}

/// `ST_Contains` over a GiST index on the same outlines, in the bench's
/// throw-away database, timed as SQL on one connection: the ids only, and
/// the rows Vigía's answer carries (every column, the outline as GeoJSON
/// text, the holder's name) as one JSON text per concession.
fn postgis(url: &str, points: &[(f64, f64)]) -> Result<Anchor, String> {
    let mut pg = PgConnection::establish(url).map_err(|e| e.to_string())?;
    pg.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .map_err(|e| format!("no PostGIS ({e}); apt-get install postgresql-15-postgis-3"))?;
    pg.batch_execute(
        "DROP TABLE IF EXISTS postgis_concessions;
         CREATE TABLE postgis_concessions AS
           SELECT id, ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326) AS geom FROM concessions WHERE deleted_at IS NULL;
         CREATE INDEX postgis_concessions_geom ON postgis_concessions USING GIST (geom);
         ALTER TABLE postgis_concessions ADD PRIMARY KEY (id);",
    )
    .map_err(|e| e.to_string())?;
    // Alone: several statements in one call share a transaction, which
    // VACUUM refuses.
    pg.batch_execute("VACUUM ANALYZE postgis_concessions")
        .map_err(|e| e.to_string())?;
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[allow(dead_code)]
        hit: String,
    }
    let point = "ST_SetSRID(ST_MakePoint($1, $2), 4326)";
    let ids = format!("SELECT id AS hit FROM postgis_concessions WHERE ST_Contains(geom, {point})");
    let rows = format!(
        "SELECT json_build_object('concession', c, 'holder', a.name)::text AS hit \
         FROM postgis_concessions p JOIN concessions c ON c.id = p.id \
         LEFT JOIN actors a ON a.id = c.holder_id \
         WHERE ST_Contains(p.geom, {point}) ORDER BY c.code"
    );
    let mut measure = |query: &str| -> Result<((Duration, Duration), usize), String> {
        let mut samples = Vec::new();
        let mut hits = 0;
        for (lon, lat) in points {
            let t = Instant::now();
            let found: Vec<Hit> = diesel::sql_query(query)
                .bind::<Double, _>(*lon)
                .bind::<Double, _>(*lat)
                .load(&mut pg)
                .map_err(|e| e.to_string())?;
            samples.push(t.elapsed());
            hits += found.len();
        }
        let s = stats(samples, Duration::from_secs(1));
        Ok(((s.p50, s.p99), hits))
    };
    measure(&ids)?;
    let (ids, hits) = measure(&ids)?;
    let (rows, _) = measure(&rows)?;
    Ok(Anchor { ids, rows, hits })
}

/// The process's resident memory (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Starts the release build of the server on `url` in this process; its
/// address, and how long until `/readyz` answered 200.
fn start_server(url: &str) -> (String, Duration) {
    let started = Instant::now();
    let settings = common::server_settings(url);
    let db = Db::connect(Target::parse(url).unwrap(), 8).unwrap();
    let address = common::start_server(settings, db);
    let ready = actix_web::rt::System::new().block_on(async {
        let client = awc::Client::default();
        loop {
            if let Ok(res) = client.get(format!("{address}/readyz")).send().await {
                if res.status().is_success() {
                    break started.elapsed();
                }
            }
        }
    });
    (address, ready)
}

/// p50 and p99 of GETs of `paths`, one after the other over one kept-alive
/// connection, from the request to the body's last byte; the bodies' size.
async fn over_http(
    client: &awc::Client,
    address: &str,
    token: &str,
    paths: &[String],
) -> (Duration, Duration, usize) {
    let mut samples = Vec::with_capacity(paths.len());
    let mut bytes = 0;
    for path in paths {
        let started = Instant::now();
        let mut res = client
            .get(format!("{address}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let body = res.body().limit(64 << 20).await.unwrap();
        samples.push(started.elapsed());
        assert!(res.status().is_success(), "{path}: {body:?}");
        bytes += body.len();
    }
    let s = stats(samples, Duration::from_secs(1));
    (s.p50, s.p99, bytes)
}

/// `GET /api/v1/concessions/at` as users get it, against `/healthz` (the
/// client's own floor) and the PostGIS anchor, on one database.
fn lookup_over_http(label: &str, url: &str) {
    let mut conn = connect(url);
    let points = points_inside(&mut conn, 1_000);
    let outlines: i64 = vigia::schema::concessions::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    println!(
        "\n### {label}: {outlines} outlines, {} points inside them",
        points.len()
    );

    // The index: build time and resident memory it adds.
    let rss_before = rss_bytes();
    let index = PlaceIndex::default();
    let (version, _) = versions(&mut conn, false).unwrap();
    let t = Instant::now();
    let shapes = index.concessions(&mut conn, version).unwrap();
    let built = t.elapsed();
    let grown = rss_bytes().saturating_sub(rss_before);
    println!(
        "index: built in {:.2} s, resident memory +{:.0} MB",
        built.as_secs_f64(),
        grown as f64 / 1e6
    );

    // Where the time goes, in process (no HTTP), over the same points.
    let time = |f: &mut dyn FnMut(f64, f64)| {
        let mut samples = Vec::with_capacity(points.len());
        for (lon, lat) in &points {
            let t = Instant::now();
            f(*lon, *lat);
            samples.push(t.elapsed());
        }
        stats(samples, Duration::from_secs(1))
    };
    let version_read = time(&mut |_, _| {
        versions(&mut conn, false).unwrap();
    });
    let lookup = time(&mut |lon, lat| {
        std::hint::black_box(shapes.containing(lon, lat).count());
    });
    let rows = time(&mut |lon, lat| {
        let ids: Vec<String> = shapes
            .containing(lon, lat)
            .map(|c| c.reference.id.to_string())
            .collect();
        std::hint::black_box(vigia::places::store::load_many(&mut conn, &ids).unwrap());
    });
    let mut answers = Vec::new();
    for (lon, lat) in &points {
        answers.push(vigia::places::store::at(&mut conn, &index, *lon, *lat).unwrap());
    }
    let mut answers = answers.into_iter();
    let serialise = time(&mut |_, _| {
        let items = answers.next().unwrap();
        std::hint::black_box(serde_json::to_vec(&serde_json::json!({ "items": items })).unwrap());
    });
    let whole = time(&mut |lon, lat| {
        std::hint::black_box(vigia::places::store::at(&mut conn, &index, lon, lat).unwrap());
    });
    // What the handler does now: the index's own JSON, the version read at
    // most every CONCESSIONS_FRESH_FOR.
    let from_index = |conn: &mut DbConn, lon: f64, lat: f64| {
        let shapes = index
            .fresh_concessions()
            .unwrap_or_else(|| index.concessions_committed(conn).unwrap());
        vigia::places::store::answer_at(&shapes, lon, lat)
    };
    for (lon, lat) in &points {
        let answer: serde_json::Value =
            serde_json::from_str(&from_index(&mut conn, *lon, *lat)).unwrap();
        let rows = vigia::places::store::at(&mut conn, &index, *lon, *lat).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({ "items": rows }),
            "the same answer"
        );
    }
    let fast = time(&mut |lon, lat| {
        std::hint::black_box(from_index(&mut conn, lon, lat));
    });
    drop(shapes);
    drop(index);

    let token = vigia::keys::create(
        &mut conn,
        &vigia::audit::Actor::cli(),
        "bench",
        vigia::keys::Role::Researcher,
    )
    .unwrap()
    .token;
    let (address, ready) = start_server(url);
    let at: Vec<String> = points
        .iter()
        .map(|(lon, lat)| format!("/api/v1/concessions/at?lon={lon}&lat={lat}"))
        .collect();
    let health: Vec<String> = (0..points.len()).map(|_| "/healthz".to_string()).collect();
    let (first, http_at, http_health) = actix_web::rt::System::new().block_on(async {
        let client = common::http_client();
        // The first lookup builds the server's index.
        let t = Instant::now();
        over_http(&client, &address, &token, &at[..1]).await;
        let first = t.elapsed();
        over_http(&client, &address, &token, &at[..100]).await;
        let http_at = over_http(&client, &address, &token, &at).await;
        let http_health = over_http(&client, &address, &token, &health).await;
        (first, http_at, http_health)
    });
    println!(
        "server: /readyz 200 after {:.2} s; first lookup (builds the index) {:.2} s; process resident memory {:.0} MB",
        ready.as_secs_f64(),
        first.as_secs_f64(),
        rss_bytes() as f64 / 1e6
    );
    println!("\n| step (in process unless said) | p50 | p99 |");
    println!("|---|---|---|");
    let row =
        |what: &str, s: &common::Stats| println!("| {what} | {} | {} |", us(s.p50), us(s.p99));
    row("layer version read (one query)", &version_read);
    row("index: R-tree + exact test", &lookup);
    row("load_many: the found rows with geometry", &rows);
    row("serialise the answer (before)", &serialise);
    row("before: store::at (version + index + rows)", &whole);
    row(
        "now: index answer (version read ≤ every 250 ms + R-tree + stored JSON)",
        &fast,
    );
    println!(
        "| **HTTP GET /api/v1/concessions/at** ({:.1} kB average) | **{}** | **{}** |",
        http_at.2 as f64 / points.len() as f64 / 1e3,
        us(http_at.0),
        us(http_at.1)
    );
    println!(
        "| HTTP GET /healthz (the floor) | {} | {} |",
        us(http_health.0),
        us(http_health.1)
    );
    println!(
        "| above the floor | {} | |",
        us(http_at.0.saturating_sub(http_health.0))
    );
    if url.starts_with("postgres") {
        match postgis(url, &points) {
            Ok(anchor) => {
                println!(
                    "| PostGIS ST_Contains over GiST, ids only (SQL, one connection) | {} | {} |",
                    us(anchor.ids.0),
                    us(anchor.ids.1)
                );
                println!("| PostGIS ST_Contains over GiST, whole rows as JSON (SQL, one connection) | {} | {} |", us(anchor.rows.0), us(anchor.rows.1));
                println!(
                    "\nPostGIS found {} hits for {} points",
                    anchor.hits,
                    points.len()
                );
            }
            Err(e) => println!("\n**PostGIS anchor NOT RUN: {e}**"),
        }
    } else {
        println!("\n(the PostGIS anchor is measured in the PostgreSQL section, same outlines and points)");
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn run_backend(name: &str, make: &dyn Fn() -> BenchDb, national: &Path) {
    println!("\n## {name}");
    let real_db = make();
    let (real_secs, real_added) =
        import(&real_db.url, &data("ingemmet-concessions-utm17s.geojson"));
    let national_db = make();
    let (national_secs, national_added) = import(&national_db.url, national);
    println!("| import | concessions | seconds | per second |");
    println!("|---|---|---|---|");
    println!(
        "| real file, UTM 17S | {real_added} | {real_secs:.1} | {:.0} |",
        real_added as f64 / real_secs
    );
    println!(
        "| national scale | {national_added} | {national_secs:.1} | {:.0} |",
        national_added as f64 / national_secs
    );

    lookup_over_http(&format!("{name}, the real cadastre"), &real_db.url);
    drop(real_db);
    if national_db.url.starts_with("postgres") {
        PgConnection::establish(&national_db.url)
            .unwrap()
            .batch_execute("VACUUM ANALYZE")
            .unwrap();
    }
    lookup_over_http(&format!("{name}, national scale"), &national_db.url);
    let points = sample_points(&mut connect(&national_db.url), 1_001);

    if national_db.url.starts_with("postgres") {
        // The import just wrote 70,000 rows: let autovacuum's work not land
        // inside the measurement.
        PgConnection::establish(&national_db.url)
            .unwrap()
            .batch_execute("VACUUM ANALYZE")
            .unwrap();
    }
    let inside = points;
    let (with_mean, with_p99) = creations(&national_db.url, &inside);
    let empty_db = make();
    let (without_mean, without_p99) = creations(&empty_db.url, &inside);
    println!("\nincident creation, 1,000 one after another:");
    println!("| layer | mean | p99 |");
    println!("|---|---|---|");
    println!(
        "| no concessions | {} | {} |",
        ms(without_mean),
        ms(without_p99)
    );
    println!(
        "| {national_added} concessions, matched | {} | {} |",
        ms(with_mean),
        ms(with_p99)
    );
    println!(
        "| **ratio** | **{:.2}×** | |",
        with_mean.as_secs_f64() / without_mean.as_secs_f64()
    );
}

fn main() {
    if !data("ingemmet-concessions-utm17s.geojson").exists() {
        println!("NOT RUN: ../shared/data is not beside the checkout");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let national = national_file(NATIONAL, dir.path());
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "# Vigía places benchmark; {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    if backends.contains("sqlite") {
        // In memory (/dev/shm) when there is one, so the disk does not set the pace.
        let shm = Path::new("/dev/shm");
        let sqlite = || {
            if shm.is_dir() {
                BenchDb::sqlite_in(shm)
            } else {
                BenchDb::sqlite()
            }
        };
        run_backend("SQLite", &sqlite, &national);
    }
    if backends.contains("postgres") {
        let base = common::postgres_base();
        if BenchDb::postgres(&base).is_none() {
            println!("\n## PostgreSQL: NOT RUN, cannot create a database at {base}");
            return;
        }
        run_backend(
            "PostgreSQL",
            &|| BenchDb::postgres(&base).unwrap(),
            &national,
        );
    }
}
