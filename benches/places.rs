//! Places benchmark: importing the real cadastre (9,025 concessions) and a
//! national-scale set (70,000, shifted copies of the real ones), point →
//! containing concessions against PostGIS `ST_Contains` over a GiST index on
//! the same polygons, and incident creation with and without matching.
//!
//!     cargo bench --bench places
//!
//! Needs ../shared/data beside the checkout. PostGIS comes from Debian
//! (`apt-get install postgresql-15-postgis-3`); without it that column says
//! NOT RUN. VIGIA_BENCH_BACKENDS=sqlite|postgres picks one backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Double;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use common::{ms, stats, BenchDb};
use vigia::db::{self, DbConn, Target};
use vigia::events::{
    EventFields, EventType, Location, LocationPrecision, TimePrecision, Verification,
};
use vigia::ops::events;
use vigia::ops::places::import_concessions;
use vigia::places::store::versions;
use vigia::places::PlaceIndex;

const NATIONAL: usize = 70_000;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name)
}

/// Shifted copies of the real zone-17S cadastre, in UTM 17S metres, until
/// `total` concessions: a stand-in for the national cadastre's size.
fn national_file(total: usize, dir: &Path) -> PathBuf {
    let real: Value = serde_json::from_str(
        &std::fs::read_to_string(data("ingemmet-concessions-utm17s.geojson")).unwrap(),
    )
    .unwrap();
    let features = real["features"].as_array().unwrap();
    let mut out = Vec::with_capacity(total);
    'copies: for copy in 0.. {
        let (dx, dy) = (
            (copy % 3) as f64 * 250_000.0,
            -((copy / 3) as f64) * 600_000.0,
        );
        for f in features {
            if out.len() == total {
                break 'copies;
            }
            let mut f = f.clone();
            shift(&mut f["geometry"]["coordinates"], dx, dy);
            let code = f["properties"]["CODIGOU"]
                .as_str()
                .unwrap_or("x")
                .to_string();
            f["properties"]["CODIGOU"] = Value::String(format!("{code}-{copy}"));
            out.push(f);
        }
    }
    let path = dir.join("national.geojson");
    std::fs::write(
        &path,
        serde_json::json!({"type": "FeatureCollection", "features": out}).to_string(),
    )
    .unwrap();
    path
}

fn shift(v: &mut Value, dx: f64, dy: f64) {
    if let Some(items) = v.as_array_mut() {
        if items.len() >= 2 && items[0].is_number() {
            items[0] = serde_json::json!(items[0].as_f64().unwrap() + dx);
            items[1] = serde_json::json!(items[1].as_f64().unwrap() + dy);
        } else {
            items.iter_mut().for_each(|i| shift(i, dx, dy));
        }
    }
}

fn connect(url: &str) -> DbConn {
    let mut conn = Target::parse(url).unwrap().connect().unwrap();
    db::migrate(&mut conn).unwrap();
    conn
}

fn import(url: &str, path: &Path) -> (f64, usize) {
    let mut conn = connect(url);
    let report = import_concessions(
        &mut conn,
        &PlaceIndex::default(),
        &vigia::ops::Who::cli(),
        path,
        Some("EPSG:32717"),
        false,
        u64::MAX,
        &|_, _| {},
    )
    .unwrap();
    assert!(report.skipped.is_empty());
    (report.seconds, report.added)
}

/// Points inside random concessions (most lookups hit 1–3 outlines).
fn sample_points(conn: &mut DbConn, n: usize) -> Vec<(f64, f64)> {
    use vigia::schema::concessions::dsl::*;
    let boxes: Vec<(f64, f64, f64, f64)> = concessions
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

fn postgis(url: &str, points: &[(f64, f64)]) -> Result<(Duration, Duration, usize), String> {
    let mut pg = PgConnection::establish(url).map_err(|e| e.to_string())?;
    pg.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .map_err(|e| format!("no PostGIS ({e}); apt-get install postgresql-15-postgis-3"))?;
    pg.batch_execute(
        "DROP TABLE IF EXISTS postgis_concessions;
         CREATE TABLE postgis_concessions AS
           SELECT id, ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326) AS geom FROM concessions WHERE deleted_at IS NULL;
         CREATE INDEX postgis_concessions_geom ON postgis_concessions USING GIST (geom);
         ANALYZE postgis_concessions;",
    )
    .map_err(|e| e.to_string())?;
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[allow(dead_code)]
        id: String,
    }
    let query = "SELECT id FROM postgis_concessions WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))";
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
    Ok((s.p50, s.p99, hits))
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

    let mut conn = connect(&national_db.url);
    let points = sample_points(&mut conn, 10_000);
    let index = PlaceIndex::default();
    let (version, _) = versions(&mut conn, false).unwrap();
    let t = Instant::now();
    let shapes = index.concessions(&mut conn, version).unwrap();
    println!(
        "\nindex of {} outlines built in {:.2} s",
        shapes.len(),
        t.elapsed().as_secs_f64()
    );

    let mut lookups = Vec::new();
    let mut hits = 0;
    for (lon, lat) in &points {
        let t = Instant::now();
        hits += shapes.containing(*lon, *lat).count();
        lookups.push(t.elapsed());
    }
    let lookup = stats(lookups, Duration::from_secs(1));
    let mut full = Vec::new();
    for (lon, lat) in points.iter().take(2_000) {
        let t = Instant::now();
        vigia::places::store::at(&mut conn, &index, *lon, *lat).unwrap();
        full.push(t.elapsed());
    }
    let full = stats(full, Duration::from_secs(1));
    println!(
        "\npoint → containing concessions, {} points, {} hits, {national_added} outlines:",
        points.len(),
        hits
    );
    println!("| lookup | p50 | p99 |");
    println!("|---|---|---|");
    println!(
        "| Vigía index (R-tree + exact test) | {} | {} |",
        us(lookup.p50),
        us(lookup.p99)
    );
    println!(
        "| Vigía GET /concessions/at path (version check + rows), 2,000 points | {} | {} |",
        us(full.p50),
        us(full.p99)
    );
    if national_db.url.starts_with("postgres") {
        match postgis(&national_db.url, &points) {
            Ok((p50, p99, pg_hits)) => {
                println!(
                    "| PostGIS ST_Contains, GiST index | {} | {} |",
                    us(p50),
                    us(p99)
                );
                println!("\nPostGIS found {pg_hits} hits; Vigía's index is {:.0}× faster at p50 and {:.0}× at p99",
                    p50.as_secs_f64() / lookup.p50.as_secs_f64(), p99.as_secs_f64() / lookup.p99.as_secs_f64());
            }
            Err(e) => println!("| PostGIS | NOT RUN: {e} | |"),
        }
    }

    if national_db.url.starts_with("postgres") {
        // The import just wrote 70,000 rows: let autovacuum's work not land
        // inside the measurement.
        PgConnection::establish(&national_db.url)
            .unwrap()
            .batch_execute("VACUUM ANALYZE")
            .unwrap();
    }
    let inside: Vec<(f64, f64)> = points.iter().take(1_001).copied().collect();
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
        run_backend("SQLite", &BenchDb::sqlite, &national);
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
