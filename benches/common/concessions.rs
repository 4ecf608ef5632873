//! A national-scale cadastre for the benchmarks: the real 9,025 INGEMMET
//! outlines (zone 17S) and shifted copies of them, imported as the CLI
//! imports them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use vigia::db::{self, DbConn, Target};
use vigia::ops::places::import_concessions;
use vigia::places::PlaceIndex;

/// The national cadastre's size, about (the 70,000).
pub const NATIONAL: usize = 70_000;

/// A file of the shared real data beside the checkout.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name)
}

/// Shifted copies of the real zone-17S cadastre, in UTM 17S metres, until
/// `total` concessions: a stand-in for the national cadastre's size.
pub fn national_file(total: usize, dir: &Path) -> PathBuf {
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

pub fn shift(v: &mut Value, dx: f64, dy: f64) {
    if let Some(items) = v.as_array_mut() {
        if items.len() >= 2 && items[0].is_number() {
            items[0] = serde_json::json!(items[0].as_f64().unwrap() + dx);
            items[1] = serde_json::json!(items[1].as_f64().unwrap() + dy);
        } else {
            items.iter_mut().for_each(|i| shift(i, dx, dy));
        }
    }
}

pub fn connect(url: &str) -> DbConn {
    let mut conn = Target::parse(url).unwrap().connect().unwrap();
    db::migrate(&mut conn).unwrap();
    conn
}

pub fn import(url: &str, path: &Path) -> (f64, usize) {
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
