//! Incidents as the rows of an export (issue 15): ACLED's column names
//! where the concept is the same, so scripts written for ACLED's exports
//! (the `acledR` R package, pandas notebooks) read Vigía's unchanged, then
//! Vigía's own columns.
//!
//! ACLED's two actor slots are filled from the roles: `actor1` is the first
//! alleged or confirmed perpetrator and `assoc_actor_1` the others;
//! `actor2` the first target and `assoc_actor_2` the other targets and the
//! affected. Participants and mediators are only in `attribution`.

use serde_json::{json, Map, Value};

use super::{Event, LocationPrecision, TimePrecision};
use crate::actors::LinkRole;

/// The columns, in order. Documented in the README ("Exports").
pub const COLUMNS: [&str; 32] = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "actor2",
    "assoc_actor_2",
    "iso",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "notes",
    "fatalities",
    "timestamp",
    "injuries",
    "ubigeo",
    "verification",
    "concession_codes",
    "concession_holders",
    "defensoria_cases",
    "attribution",
    "url",
    "title",
];

/// Peru's ISO 3166-1 numeric code, as ACLED writes it.
const ISO_PERU: i64 = 604;

/// One incident's cells, typed (numbers stay numbers in GeoJSON), in the
/// order of [`COLUMNS`]. `base` is the server's public address.
pub fn record(event: &Event, base: &str) -> Vec<(&'static str, Value)> {
    let f = &event.fields;
    let names = |roles: &[LinkRole]| -> Vec<String> {
        event
            .actors
            .iter()
            .filter(|a| roles.contains(&a.role))
            .map(|a| a.name.clone())
            .collect()
    };
    let perpetrators = names(&[LinkRole::Perpetrator]);
    let targets = names(&[LinkRole::Target]);
    let affected = names(&[LinkRole::Affected]);
    let first_and_rest = |list: &[String], more: &[String]| {
        let first = list.first().cloned().unwrap_or_default();
        let rest: Vec<String> = list.iter().skip(1).chain(more).cloned().collect();
        (first, rest.join("; "))
    };
    let (actor1, assoc1) = first_and_rest(&perpetrators, &[]);
    let (actor2, assoc2) = first_and_rest(&targets, &affected);
    let admin = f.admin.as_ref();
    let text = |v: Option<&String>| Value::String(v.cloned().unwrap_or_default());
    let joined = |items: Vec<String>| Value::String(items.join("; "));
    vec![
        ("event_id_cnty", json!(event.id.to_string())),
        ("event_date", json!(f.occurred_on.to_string())),
        ("year", json!(chrono::Datelike::year(&f.occurred_on))),
        (
            "time_precision",
            json!(match f.time_precision {
                TimePrecision::Day => 1,
                TimePrecision::Month => 2,
                TimePrecision::Year => 3,
            }),
        ),
        ("event_type", json!(f.event_type.as_str())),
        ("sub_event_type", text(f.sub_event_type.as_ref())),
        ("actor1", json!(actor1)),
        ("assoc_actor_1", json!(assoc1)),
        ("actor2", json!(actor2)),
        ("assoc_actor_2", json!(assoc2)),
        ("iso", json!(ISO_PERU)),
        ("country", json!("Peru")),
        ("admin1", text(admin.and_then(|a| a.region.as_ref()))),
        ("admin2", text(admin.and_then(|a| a.province.as_ref()))),
        ("admin3", text(admin.and_then(|a| a.district.as_ref()))),
        ("location", text(f.location.place.as_ref())),
        ("latitude", json!(f.location.lat)),
        ("longitude", json!(f.location.lon)),
        (
            "geo_precision",
            json!(match f.location.precision {
                LocationPrecision::Exact => 1,
                LocationPrecision::Near => 2,
                LocationPrecision::Approximate => 3,
            }),
        ),
        (
            "source",
            joined(f.sources.iter().map(|s| s.publisher.clone()).collect()),
        ),
        ("notes", json!(f.description)),
        ("fatalities", json!(f.fatalities)),
        ("timestamp", json!(event.updated_at.timestamp())),
        ("injuries", json!(f.injuries)),
        ("ubigeo", text(admin.and_then(|a| a.ubigeo.as_ref()))),
        ("verification", json!(f.verification.as_str())),
        (
            "concession_codes",
            joined(event.concessions.iter().map(|c| c.code.clone()).collect()),
        ),
        (
            "concession_holders",
            joined(
                event
                    .concessions
                    .iter()
                    .filter_map(|c| c.holder.as_ref().map(|h| h.name.clone()))
                    .collect(),
            ),
        ),
        (
            "defensoria_cases",
            joined(event.cases.iter().map(|c| c.name.clone()).collect()),
        ),
        (
            "attribution",
            joined(
                event
                    .actors
                    .iter()
                    .map(|a| {
                        format!(
                            "{} ({}, {})",
                            a.name,
                            a.role.as_str(),
                            a.attribution.as_str()
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "url",
            json!(format!(
                "{}/incidents/{}",
                base.trim_end_matches('/'),
                event.id
            )),
        ),
        ("title", json!(f.title)),
    ]
}

/// The cells as CSV text: text neutralised against spreadsheet formulas
/// ([`crate::csv_safe`]), numbers as they are (`-14.2` is a number to a
/// spreadsheet, not a formula, and R and pandas must read it as one).
pub fn csv_cells(record: &[(&'static str, Value)]) -> Vec<String> {
    record
        .iter()
        .map(|(_, v)| match v {
            Value::String(s) => crate::csv_safe::csv_cell(s).into_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// One GeoJSON feature (RFC 7946: WGS 84 longitude, latitude).
pub fn feature(event: &Event, record: Vec<(&'static str, Value)>) -> Value {
    let properties: Map<String, Value> = record
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    json!({
        "type": "Feature",
        "id": event.id.to_string(),
        "geometry": {"type": "Point", "coordinates": [event.fields.location.lon, event.fields.location.lat]},
        "properties": properties,
    })
}

/// Writes every incident `next_chunk` yields into an XLSX workbook at
/// `path`: one sheet, the header row frozen, dates as dates, numbers as
/// numbers. Rows go to disk as they are written (constant memory).
pub fn write_xlsx(
    path: &std::path::Path,
    base: &str,
    mut next_chunk: impl FnMut() -> Result<Option<Vec<Event>>, crate::error::AppError>,
) -> Result<(), crate::error::AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| {
        crate::error::AppError::internal_from("writing the XLSX export", e)
    };
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = workbook
        .add_worksheet_with_constant_memory()
        .map_err(failed)?;
    sheet.set_name("incidentes").map_err(failed)?;
    for (col, name) in COLUMNS.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, *name, &bold)
            .map_err(failed)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(failed)?;
    let mut row: u32 = 1;
    while let Some(events) = next_chunk()? {
        for event in &events {
            for (col, (name, value)) in record(event, base).into_iter().enumerate() {
                let col = col as u16;
                match (name, value) {
                    ("event_date", _) => {
                        sheet
                            .write_date_with_format(row, col, event.fields.occurred_on, &date)
                            .map_err(failed)?;
                    }
                    (_, Value::Number(n)) => {
                        sheet
                            .write_number(row, col, n.as_f64().unwrap_or_default())
                            .map_err(failed)?;
                    }
                    (_, Value::String(s)) if !s.is_empty() => {
                        // A spreadsheet never runs a cell written as a
                        // string, so no `'` is needed here.
                        sheet.write_string(row, col, s).map_err(failed)?;
                    }
                    _ => {}
                }
            }
            row += 1;
        }
    }
    workbook.save(path).map_err(failed)?;
    Ok(())
}
