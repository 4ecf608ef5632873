//! Import benchmark (issue 15): 100,000 incidents from an ACLED-format CSV,
//! through the command line's code path (`ops::event_import::import_events_file`):
//! the first import (every incident placed, matched, audited, with its
//! actors), then the same file again (nothing changes).
//!
//!     cargo bench --bench import
//!
//! VIGIA_BENCH_IMPORT=N changes the number of rows (default 100,000);
//! VIGIA_BENCH_BACKENDS=sqlite|postgres picks one backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;

use common::BenchDb;
use vigia::db::{self, DbConn, Target};
use vigia::ops::event_import::import_events_file;
use vigia::ops::Who;
use vigia::places::PlaceIndex;

const HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n";
const TYPES: [(&str, &str); 5] = [
    ("Protests", "Peaceful protest"),
    ("Riots", "Violent demonstration"),
    ("Strategic developments", "Looting/property destruction"),
    ("Battles", "Armed clash"),
    ("Strategic developments", "Arrests"),
];

/// `n` rows over 200 actors, spread over southern Peru.
fn acled_file(n: usize) -> String {
    let mut out = String::with_capacity(n * 400);
    out.push_str(HEADER);
    for i in 0..n {
        let (event_type, sub) = TYPES[i % TYPES.len()];
        let day = 1 + i % 28;
        let month = 1 + i / 28 % 12;
        let year = 2015 + i / 336 % 10;
        let lat = -13.0 - (i % 1000) as f64 * 0.003;
        let lon = -74.0 + (i / 1000 % 100) as f64 * 0.03;
        writeln!(
            out,
            "PER{i},{year}-{month:02}-{day:02},{year},1,Demonstrations,{event_type},{sub},\
             Comunidad Campesina {a},Rondas de {b},Protesters,Minera {c} S.A.C.,,External/Other forces,,,\
             604,South America,Peru,Apurímac,Cotabambas,Challhuahuacho,Fuerabamba {i},{lat},{lon},1,\
             La República; Correo,National,\"Comuneros de la comunidad {a} protestan frente a la mina; exigen diálogo.\",{f},,1654041600",
            a = i % 120,
            b = i % 40,
            c = i % 40,
            f = i % 3,
        )
        .unwrap();
    }
    out
}

fn connect(url: &str) -> DbConn {
    let mut conn = Target::parse(url).unwrap().connect().unwrap();
    db::migrate(&mut conn).unwrap();
    conn
}

fn run_backend(label: &str, bench: BenchDb, path: &std::path::Path, n: usize) {
    let mut conn = connect(&bench.url);
    let index = PlaceIndex::default();
    let who = Who::cli();
    let first = import_events_file(&mut conn, &index, &who, path, false, u64::MAX).unwrap();
    assert_eq!((first.created, first.bad.len()), (n, 0));
    let again = import_events_file(&mut conn, &index, &who, path, false, u64::MAX).unwrap();
    assert_eq!((again.created, again.unchanged), (0, n));
    println!("\n## {label}\n");
    println!("| import of {n} incidents from CSV | seconds | rows/s |");
    println!("|---|---|---|");
    println!(
        "| first import ({} actors added) | {:.1} s | {:.0} |",
        first.actors_added,
        first.seconds,
        n as f64 / first.seconds
    );
    println!(
        "| same file again (nothing changes) | {:.1} s | {:.0} |",
        again.seconds,
        n as f64 / again.seconds
    );
}

fn main() {
    let n = common::env_usize("VIGIA_BENCH_IMPORT", 100_000);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acled.csv");
    let file = acled_file(n);
    std::fs::write(&path, &file).unwrap();
    println!(
        "# Vigía import benchmark; {} cores; {n} rows, {} MB of CSV",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        file.len() / (1024 * 1024)
    );
    if backends.contains("sqlite") {
        run_backend("SQLite", BenchDb::sqlite(), &path, n);
    }
    if backends.contains("postgres") {
        let base = common::postgres_base();
        match BenchDb::postgres(&base) {
            Some(db) => run_backend("PostgreSQL", db, &path, n),
            None => println!("\n## PostgreSQL: NOT RUN, cannot create a database at {base}"),
        }
    }
}
