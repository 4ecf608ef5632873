//! Cases benchmark: importing 50,000 report entries (200 cases × 250
//! monthly reports) from CSV, importing the same file again (nothing to
//! change), exporting it, and the latency of case suggestions for an incident
//! with 5,000 cases in the database.
//!
//!     cargo bench --bench cases
//!
//! VIGIA_BENCH_BACKENDS=sqlite|postgres picks one backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::NaiveDate;

use common::{ms, stats, BenchDb};
use vigia::actors::{Attribution, LinkRole};
use vigia::audit::Actor;
use vigia::cases::import::export_entries;
use vigia::db::{self, DbConn, Target};
use vigia::events::{
    Admin, EventFields, EventType, Location, LocationPrecision, TimePrecision, Verification,
};
use vigia::ops::cases::import_entries;
use vigia::places::PlaceIndex;

const HEADER: &str = "report_number,report_month,case_name,case_type,activity,region,province,district,ubigeo,companies,status,phase,violence,dialogue,description\n";
const STATUSES: [&str; 5] = ["Activo", "LATENTE", "latente", "Resuelto", "En observación"];
const PHASES: [&str; 6] = [
    "Fase temprana",
    "Escalamiento",
    "CRISIS",
    "Desescalamiento",
    "Diálogo",
    "",
];

fn connect(url: &str) -> DbConn {
    let mut conn = Target::parse(url).unwrap().connect().unwrap();
    db::migrate(&mut conn).unwrap();
    conn
}

/// `cases` cases, each in `reports` consecutive reports ending at `last`;
/// case 0 is Los Chancas, in Pocohuanca with SPCC.
fn report_file(cases: usize, reports: i32, last: i32) -> String {
    let mut out = String::from(HEADER);
    for number in (last - reports + 1)..=last {
        let month = vigia::cases::report_month_of(number).unwrap();
        for c in 0..cases {
            let (name, ubigeo, district, company) = if c == 0 {
                (
                    "Tiaparo - Tapayrihua - SPCC (Los Chancas)".to_string(),
                    "030410".to_string(),
                    "Pocohuanca".to_string(),
                    "SPCC".to_string(),
                )
            } else {
                (
                    format!("Caso {c} - Comunidad campesina de Ñaupa {}", c % 97),
                    format!(
                        "{:02}{:02}{:02}",
                        1 + c % 25,
                        1 + c / 25 % 10,
                        1 + c / 250 % 20
                    ),
                    format!("Distrito {}", c % 500),
                    format!("Empresa Minera {} S.A.C.", c % 300),
                )
            };
            let status = STATUSES[(c + number as usize) % STATUSES.len()];
            let phase = PHASES[(c * 7 + number as usize) % PHASES.len()];
            let companies = if c % 3 == 0 {
                format!("{company}; Southern Peru Copper Corporation")
            } else {
                company
            };
            writeln!(
                out,
                "{number},{month},\"{name}\",Socioambiental,Minería,Región {},Provincia {},\"{district}\",{ubigeo},\"{companies}\",{status},{phase},{},{},\"Reporte {number}: diálogo, mesas de trabajo y protestas.\"",
                1 + c % 25,
                c % 10,
                if c % 5 == 0 { "Sí" } else { "no" },
                if c % 2 == 0 { "si" } else { "No" },
            )
            .unwrap();
        }
    }
    out
}

fn import(url: &str, csv: &str) -> (f64, usize, usize) {
    let mut conn = connect(url);
    let report = import_entries(&mut conn, &vigia::ops::Who::cli(), csv.as_bytes(), false).unwrap();
    assert!(report.bad.is_empty(), "{:?}", &report.bad[..1]);
    assert!(report.written);
    (
        report.seconds,
        report.entries_added,
        report.entries_unchanged,
    )
}

fn los_chancas(conn: &mut DbConn) -> String {
    let fields = EventFields {
        title: "Queman el campamento del proyecto Los Chancas".into(),
        description: String::new(),
        event_type: EventType::PropertyDestruction,
        sub_event_type: Some("arson".into()),
        occurred_on: NaiveDate::from_ymd_opt(2022, 5, 1).unwrap(),
        time_precision: TimePrecision::Month,
        location: Location {
            lat: -14.2190728,
            lon: -73.0884214,
            precision: LocationPrecision::Approximate,
            place: Some("Campamento Los Chancas, Tapairihua".into()),
        },
        admin: Some(Admin {
            ubigeo: Some("030410".into()),
            region: Some("Apurímac".into()),
            province: Some("Aymaraes".into()),
            district: Some("Pocohuanca".into()),
        }),
        fatalities: 0,
        injuries: 0,
        sources: Vec::new(),
        verification: Verification::Verified,
        verification_note: None,
    };
    let who = Actor::cli();
    let event = vigia::ops::events::create_checked(
        conn,
        &PlaceIndex::default(),
        &vigia::ops::Who::cli(),
        &[fields],
    )
    .unwrap()
    .remove(0);
    let id = event.id.to_string();
    let (spcc, _) = vigia::actors::store::find_or_create_holder(
        conn,
        &who,
        "Southern Peru Copper Corporation",
        &mut HashMap::new(),
    )
    .unwrap();
    vigia::actors::store::link(
        conn,
        &who,
        &id,
        &spcc,
        LinkRole::Affected,
        Attribution::Confirmed,
        None,
    )
    .unwrap();
    id
}

fn run_backend(label: &str, make: &dyn Fn() -> BenchDb) {
    println!("\n## {label}");
    let big = report_file(200, 250, 250);
    let db = make();
    let (first, added, _) = import(&db.url, &big);
    let (again, _, unchanged) = import(&db.url, &big);
    let mut conn = connect(&db.url);
    let t = Instant::now();
    let exported = export_entries(&mut conn).unwrap();
    let export = t.elapsed();
    println!("\nimport of {added} entries (200 cases × 250 reports, one transaction):");
    println!("| step | time | entries/s |");
    println!("|---|---|---|");
    println!(
        "| first import | {first:.2} s | {:.0} |",
        added as f64 / first
    );
    println!(
        "| same file again ({unchanged} unchanged) | {again:.2} s | {:.0} |",
        unchanged as f64 / again
    );
    println!(
        "| export.csv ({} KiB) | {} | |",
        exported.len() / 1024,
        ms(export)
    );
    drop(conn);

    // 5,000 cases, each in the four reports around the incident.
    let many = make();
    let (seconds, added, _) = import(&many.url, &report_file(5_000, 4, 221));
    let mut conn = connect(&many.url);
    let event = los_chancas(&mut conn);
    let rounds = common::env_usize("VIGIA_BENCH_ROUNDS", 300);
    let mut samples = Vec::with_capacity(rounds);
    let started = Instant::now();
    let mut best = String::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let found = vigia::cases::suggest::suggest(&mut conn, &event, 10).unwrap();
        samples.push(t.elapsed());
        best = found[0].case.name.clone();
    }
    assert_eq!(best, "Tiaparo - Tapayrihua - SPCC (Los Chancas)");
    let s = stats(samples, started.elapsed());
    println!(
        "\ncase suggestions for the Los Chancas fire, 5,000 cases ({added} entries imported in {seconds:.1} s), {rounds} calls:"
    );
    println!("| p50 | p99 | calls/s |");
    println!("|---|---|---|");
    println!("| {} | {} | {:.0} |", ms(s.p50), ms(s.p99), s.throughput);
}

fn main() {
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "# Vigía cases benchmark; {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    if backends.contains("sqlite") {
        run_backend("SQLite", &BenchDb::sqlite);
    }
    if backends.contains("postgres") {
        let base = common::postgres_base();
        if BenchDb::postgres(&base).is_none() {
            println!("\n## PostgreSQL: NOT RUN, cannot create a database at {base}");
            return;
        }
        run_backend("PostgreSQL", &|| BenchDb::postgres(&base).unwrap());
    }
}
