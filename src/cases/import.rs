//! `vigia import report-entries FILE.csv`, and the CSV exports.
//!
//! The import reads the whole file first and checks every row; by default one
//! bad row means nothing is written. It then writes in one transaction: all
//! rows or none. Re-importing a file changes nothing. The entries export has
//! the import's columns, so an export imports back to the same data.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Instant;

use diesel::prelude::*;
use uuid::Uuid;

use super::store::{self, identity, CaseRow, DistrictNames, EntryRow};
use super::{
    check_report, read_bool, read_case_type, read_phase, read_status, CaseFields, CaseStatus,
    CaseType, EntryFields,
};
use crate::actors::store::Names;
use crate::audit::{self, Action, Actor as Who, Entity};
use crate::csv_safe;
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::schema::{cases, report_entries};
use crate::text;

/// The columns of an entries file, in order.
pub const COLUMNS: [&str; 15] = [
    "report_number",
    "report_month",
    "case_name",
    "case_type",
    "activity",
    "region",
    "province",
    "district",
    "ubigeo",
    "companies",
    "status",
    "phase",
    "violence",
    "dialogue",
    "description",
];

/// Companies in one cell are separated by semicolons.
const COMPANY_SEPARATOR: char = ';';

use crate::rules::cell_problem as problem;
pub use crate::rules::BadRow;

/// A row imported with a place less precise than its names: the name not
/// found and the level it fell back to.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceWarning {
    /// Line in the file, from 1 (the header is line 1).
    pub line: u64,
    pub fallback: store::Fallback,
}

#[derive(Debug, Default)]
pub struct EntryImportReport {
    /// Data rows read.
    pub read: usize,
    pub bad: Vec<BadRow>,
    /// Rows written with a ubigeo coded from a wider area than they named.
    pub warnings: Vec<PlaceWarning>,
    /// False when bad rows stopped the import (nothing was written).
    pub written: bool,
    pub cases_added: usize,
    pub cases_updated: usize,
    pub entries_added: usize,
    pub entries_updated: usize,
    pub entries_unchanged: usize,
    pub actors_added: usize,
    pub seconds: f64,
}

/// One good row.
struct Row {
    line: u64,
    case: CaseFields,
    company_names: Vec<String>,
    entry: EntryFields,
}

fn too_long(column: &str, max: usize) -> FieldError {
    problem(
        column,
        "length",
        format!("{column} is longer than {max} characters"),
        &[("max", max.to_string())],
    )
}

fn optional(cell: &str, column: &str, max: usize, why: &mut Vec<FieldError>) -> Option<String> {
    let value = cell.trim();
    if value.chars().count() > max {
        why.push(too_long(column, max));
    }
    one_line(value, column, why);
    (!value.is_empty()).then(|| value.to_string())
}

/// The API's one-line rule (no control or direction characters), for a cell.
fn one_line(value: &str, column: &str, why: &mut Vec<FieldError>) {
    if let Err(e) = crate::rules::one_line(value) {
        let message = e.message.map(|m| m.to_string()).unwrap_or_default();
        why.push(problem(column, &e.code, format!("{column} {message}"), &[]));
    }
}

/// The API's text-block rule (line breaks kept, other controls refused).
fn text_block(value: &str, column: &str, why: &mut Vec<FieldError>) {
    if let Err(e) = crate::rules::text_block(value) {
        let message = e.message.map(|m| m.to_string()).unwrap_or_default();
        why.push(problem(column, &e.code, format!("{column} {message}"), &[]));
    }
}

fn unknown(column: &str, value: &str, expected: String) -> FieldError {
    problem(
        column,
        "unknown_value",
        format!("unknown {column} {value:?} (expected one of: {expected})"),
        &[("value", value.to_string()), ("expected", expected)],
    )
}

fn parse_row(cells: &csv::StringRecord) -> Result<Row, Vec<FieldError>> {
    if cells.len() != COLUMNS.len() {
        return Err(vec![problem(
            "",
            "columns",
            format!("has {} columns, expected {}", cells.len(), COLUMNS.len()),
            &[
                ("found", cells.len().to_string()),
                ("expected", COLUMNS.len().to_string()),
            ],
        )]);
    }
    let cell = |i: usize| csv_safe::read_cell(cells.get(i).unwrap_or(""));
    let mut why = Vec::new();
    if cells.iter().any(|c| c.contains('\0')) {
        why.push(problem(
            "",
            "control_character",
            "contains the NUL character".into(),
            &[],
        ));
    }
    let number = cell(0).trim().parse::<i64>();
    let report = match number {
        Ok(n) => match check_report(n, cell(1)) {
            Ok(r) => Some(r),
            Err(e) => {
                why.push(e);
                None
            }
        },
        Err(_) => {
            why.push(problem(
                "report_number",
                "number",
                format!("report_number {:?} is not a whole number", cell(0).trim()),
                &[],
            ));
            None
        }
    };
    let name = cell(2).trim();
    if name.is_empty() {
        why.push(problem(
            "case_name",
            "required",
            "case_name is missing".into(),
            &[],
        ));
    } else if name.chars().count() > 300 {
        why.push(too_long("case_name", 300));
    }
    one_line(name, "case_name", &mut why);
    let case_type = read_case_type(cell(3));
    if case_type.is_none() {
        why.push(unknown("case_type", cell(3).trim(), CaseType::names()));
    }
    let activity = optional(cell(4), "activity", 100, &mut why);
    let region = optional(cell(5), "region", 100, &mut why);
    let province = optional(cell(6), "province", 100, &mut why);
    let district = optional(cell(7), "district", 100, &mut why);
    let ubigeo = optional(cell(8), "ubigeo", 6, &mut why);
    if let Some(u) = &ubigeo {
        if crate::rules::ubigeo_digits(u).is_err() {
            why.push(problem(
                "ubigeo",
                "ubigeo",
                format!("ubigeo {u:?} is not 2, 4 or 6 digits"),
                &[],
            ));
        }
    }
    let company_names: Vec<String> = cell(9)
        .split(COMPANY_SEPARATOR)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    if company_names.iter().any(|c| c.chars().count() > 300) {
        why.push(problem(
            "companies",
            "length",
            "a company name is longer than 300 characters".into(),
            &[("max", "300".into())],
        ));
    }
    for company in &company_names {
        one_line(company, "companies", &mut why);
    }
    let status = read_status(cell(10));
    if status.is_none() {
        why.push(unknown("status", cell(10).trim(), CaseStatus::names()));
    }
    let phase = match cell(11).trim() {
        "" => Ok(None),
        p => read_phase(p)
            .map(Some)
            .ok_or_else(|| unknown("phase", p, super::Phase::names())),
    };
    let phase = phase.unwrap_or_else(|e| {
        why.push(e);
        None
    });
    let mut flag = |i: usize, column: &str| {
        read_bool(cell(i)).unwrap_or_else(|| {
            why.push(problem(
                column,
                "yes_no",
                format!("{column} {:?} is not sí or no", cell(i).trim()),
                &[("value", cell(i).trim().to_string())],
            ));
            false
        })
    };
    let violence = flag(12, "violence");
    let dialogue = flag(13, "dialogue");
    let description = cell(14).trim().to_string();
    if description.chars().count() > 20000 {
        why.push(too_long("description", 20000));
    }
    text_block(&description, "description", &mut why);
    match (why.is_empty(), report, case_type, status) {
        (true, Some((report_number, report_month)), Some(case_type), Some(status)) => Ok(Row {
            line: 0,
            case: CaseFields {
                name: name.to_string(),
                case_type,
                activity,
                region,
                province,
                district,
                ubigeo,
                companies: Vec::new(),
            },
            company_names,
            entry: EntryFields {
                report_number,
                report_month,
                status,
                phase,
                violence,
                dialogue,
                description,
            },
        }),
        _ => Err(why),
    }
}

/// Reads and checks every row; the header must name the columns.
fn read_rows(input: impl Read) -> Result<(Vec<Row>, Vec<BadRow>, usize), String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if header != COLUMNS {
        return Err(format!(
            "the header row must be: {} (found: {})",
            COLUMNS.join(","),
            header.join(",")
        ));
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut read = 0;
    let mut seen: HashMap<(String, String, i32), u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                read += 1;
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                match parse_row(&record) {
                    Ok(mut row) => {
                        row.line = line;
                        let (name_key, district_key) =
                            identity(&row.case.name, row.case.district.as_deref());
                        let key = (name_key, district_key, row.entry.report_number);
                        if let Some(first) = seen.get(&key) {
                            bad.push(BadRow::new(
                                line,
                                vec![problem(
                                    "case_name",
                                    "duplicate",
                                    format!(
                                        "case {:?} is already in report {} on line {first}",
                                        row.case.name, row.entry.report_number
                                    ),
                                    &[
                                        ("case", row.case.name.clone()),
                                        ("report", row.entry.report_number.to_string()),
                                        ("first", first.to_string()),
                                    ],
                                )],
                            ));
                        } else {
                            seen.insert(key, line);
                            good.push(row);
                        }
                    }
                    Err(problems) => bad.push(BadRow::new(line, problems)),
                }
            }
            Err(e) => {
                read += 1;
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        problem("", "utf8", "is not valid UTF-8".into(), &[])
                    }
                    _ => problem(
                        "",
                        "unreadable",
                        format!("cannot be read: {e}"),
                        &[("detail", e.to_string())],
                    ),
                };
                bad.push(BadRow::new(line, vec![why]));
                // A broken record may leave the reader unable to go on.
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
            }
        }
    }
    Ok((good, bad, read))
}

/// Adds a company that no actor names yet and returns its actor id: the
/// actors module's business, handed in by the operation.
pub type AddCompany<'a> = crate::actors::store::AddActor<'a>;

/// Two case descriptions that differ only in case, accents or spacing.
fn same_case(a: &CaseFields, b: &CaseFields) -> bool {
    let key = |v: &Option<String>| v.as_deref().map(text::fold);
    text::fold(&a.name) == text::fold(&b.name)
        && a.case_type == b.case_type
        && key(&a.activity) == key(&b.activity)
        && key(&a.region) == key(&b.region)
        && key(&a.province) == key(&b.province)
        && key(&a.district) == key(&b.district)
        && a.ubigeo == b.ubigeo
        && a.companies == b.companies
}

/// Imports report entries from CSV text (see [`COLUMNS`]), in one
/// transaction; `add_company` adds the companies no actor names yet.
#[tracing::instrument(level = "info", skip_all, fields(skip_invalid = skip_invalid))]
pub fn import_from(
    conn: &mut DbConn,
    who: &Who,
    input: impl Read,
    skip_invalid: bool,
    add_company: &mut AddCompany,
) -> Result<EntryImportReport, String> {
    let started = Instant::now();
    let (rows, bad, read) = read_rows(input)?;
    let mut report = EntryImportReport {
        read,
        bad,
        ..Default::default()
    };
    if (!report.bad.is_empty() && !skip_invalid) || rows.is_empty() {
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    db::bulk_write_tx(conn, |conn| {
        write(conn, who, rows, &mut report, add_company)
    })
    .map_err(|e| e.report())?;
    report.written = true;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn write(
    conn: &mut DbConn,
    who: &Who,
    rows: Vec<Row>,
    report: &mut EntryImportReport,
    add_company: &mut AddCompany,
) -> Result<(), AppError> {
    let names = DistrictNames::load(conn)?;
    let mut companies = Names::load(conn)?;
    // Rows by case, in order of first appearance.
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: HashMap<(String, String), Vec<Row>> = HashMap::new();
    for row in rows {
        let key = identity(&row.case.name, row.case.district.as_deref());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(row);
    }
    let live: Vec<(String, String, String)> = cases::table
        .filter(cases::deleted_at.is_null())
        .select((cases::id, cases::name_key, cases::district_key))
        .load(conn)?;
    let live: HashMap<(String, String), String> =
        live.into_iter().map(|(id, n, d)| ((n, d), id)).collect();
    let now = db::now();
    let mut new_entries: Vec<EntryRow> = Vec::new();
    let mut touched: Vec<String> = Vec::new();
    for key in order {
        let group = groups.remove(&key).unwrap_or_default();
        // The latest report describes the case.
        let Some(latest) = group.iter().max_by_key(|r| r.entry.report_number) else {
            continue;
        };
        let mut ids: HashSet<String> = HashSet::new();
        for row in &group {
            for name in &row.company_names {
                ids.insert(companies.resolve(conn, add_company, name)?);
            }
        }
        // Each row whose names fall back to a wider area is reported.
        for row in &group {
            if row.case.ubigeo.is_none() {
                let c = &row.case;
                let (_, fallback) = names.resolve(
                    c.region.as_deref(),
                    c.province.as_deref(),
                    c.district.as_deref(),
                );
                if let Some(fallback) = fallback {
                    report.warnings.push(PlaceWarning {
                        line: row.line,
                        fallback,
                    });
                }
            }
        }
        let mut fields = store::with_ubigeo(latest.case.clone(), &names);
        let case_id = match live.get(&key) {
            Some(id) => {
                let before = store::load(conn, id)?;
                ids.extend(before.companies.iter().map(|c| c.id.to_string()));
                fields.companies = ids.into_iter().collect();
                fields.companies.sort();
                if fields.ubigeo.is_none() {
                    fields.ubigeo = before.ubigeo.clone();
                }
                let current = before_fields(&before);
                if !same_case(&current, &fields) {
                    store::rewrite(conn, who, &before, &fields)?;
                    report.cases_updated += 1;
                }
                id.clone()
            }
            None => {
                fields.companies = ids.into_iter().collect();
                fields.companies.sort();
                report.cases_added += 1;
                store::insert(conn, who, &fields)?.id.to_string()
            }
        };
        let existing: HashMap<i32, EntryRow> = report_entries::table
            .filter(report_entries::case_id.eq(&case_id))
            .filter(report_entries::deleted_at.is_null())
            .select(EntryRow::as_select())
            .load::<EntryRow>(conn)?
            .into_iter()
            .map(|r| (r.report_number, r))
            .collect();
        let mut changed = false;
        for row in group {
            match existing.get(&row.entry.report_number) {
                Some(old) if old.fields()? == row.entry => report.entries_unchanged += 1,
                Some(old) => {
                    let before = old.clone().into_entry()?;
                    let updated = EntryRow::new(
                        old.id.clone(),
                        case_id.clone(),
                        old.version + 1,
                        (old.created_at, old.created_by.clone()),
                        now,
                        &row.entry,
                    );
                    diesel::update(report_entries::table.find(&old.id))
                        .set(&updated)
                        .execute(conn)?;
                    audit::record(
                        conn,
                        who,
                        Action::Update,
                        Entity::ReportEntry,
                        &old.id,
                        Some(&before),
                        Some(&updated.into_entry()?),
                    )?;
                    report.entries_updated += 1;
                    changed = true;
                }
                None => {
                    new_entries.push(EntryRow::new(
                        Uuid::new_v4().to_string(),
                        case_id.clone(),
                        1,
                        (now, who.name.clone()),
                        now,
                        &row.entry,
                    ));
                    changed = true;
                }
            }
        }
        if changed {
            touched.push(case_id);
        }
    }
    report.entries_added = new_entries.len();
    for batch in new_entries.chunks(500) {
        // One statement per batch; diesel's multi-backend connection has no
        // batch insert, each backend's own connection does.
        let insert = diesel::insert_into(report_entries::table).values(batch);
        match conn {
            DbConn::Sqlite(c) => insert.execute(c)?,
            DbConn::Pg(c) => insert.execute(c)?,
        };
        for row in batch {
            audit::record(
                conn,
                who,
                Action::Create,
                Entity::ReportEntry,
                &row.id,
                None::<&()>,
                Some(&row.clone().into_entry()?),
            )?;
        }
    }
    for case_id in &touched {
        store::refresh(conn, case_id)?;
    }
    report.actors_added = companies.added;
    let summary = serde_json::json!({
        "read": report.read, "bad": report.bad.len(),
        "cases_added": report.cases_added, "cases_updated": report.cases_updated,
        "entries_added": report.entries_added, "entries_updated": report.entries_updated,
        "entries_unchanged": report.entries_unchanged, "actors_added": report.actors_added,
    });
    audit::record(
        conn,
        who,
        Action::Update,
        Entity::ReportEntries,
        "import",
        None::<&()>,
        Some(&summary),
    )?;
    Ok(())
}

fn before_fields(case: &super::Case) -> CaseFields {
    let mut companies: Vec<String> = case.companies.iter().map(|c| c.id.to_string()).collect();
    companies.sort();
    CaseFields {
        name: case.name.clone(),
        case_type: case.case_type,
        activity: case.activity.clone(),
        region: case.region.clone(),
        province: case.province.clone(),
        district: case.district.clone(),
        ubigeo: case.ubigeo.clone(),
        companies,
    }
}

fn csv_error(e: impl Into<crate::error::BoxError>) -> AppError {
    AppError::internal_from("csv", e)
}

fn yes_no(v: bool) -> &'static str {
    if v {
        "sí"
    } else {
        "no"
    }
}

/// Live cases with their companies' names, by name.
fn live_cases(conn: &mut DbConn) -> Result<Vec<(CaseRow, String)>, AppError> {
    let rows: Vec<CaseRow> = cases::table
        .filter(cases::deleted_at.is_null())
        .order((cases::name.asc(), cases::id.asc()))
        .select(CaseRow::as_select())
        .load(conn)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut companies = store::companies_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let names = companies
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join("; ");
            (r, names)
        })
        .collect())
}

/// Every live entry of every live case, in the import's columns.
#[tracing::instrument(level = "debug", skip_all)]
pub fn export_entries(conn: &mut DbConn) -> Result<Vec<u8>, AppError> {
    let cases = live_cases(conn)?;
    let mut entries: HashMap<String, Vec<EntryRow>> = HashMap::new();
    for row in report_entries::table
        .filter(report_entries::deleted_at.is_null())
        .order(report_entries::report_number.asc())
        .select(EntryRow::as_select())
        .load::<EntryRow>(conn)?
    {
        entries.entry(row.case_id.clone()).or_default().push(row);
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS).map_err(csv_error)?;
    for (case, companies) in cases {
        for e in entries.remove(&case.id).unwrap_or_default() {
            let number = e.report_number.to_string();
            csv_safe::write_record(
                &mut out,
                [
                    number.as_str(),
                    &e.report_month,
                    &case.name,
                    case.case_type.as_str(),
                    case.activity.as_deref().unwrap_or(""),
                    case.region.as_deref().unwrap_or(""),
                    case.province.as_deref().unwrap_or(""),
                    case.district.as_deref().unwrap_or(""),
                    case.ubigeo.as_deref().unwrap_or(""),
                    &companies,
                    e.status.as_str(),
                    e.phase.map_or("", |p| p.as_str()),
                    yes_no(e.violence),
                    yes_no(e.dialogue),
                    &e.description,
                ],
            )
            .map_err(csv_error)?;
        }
    }
    out.into_inner().map_err(csv_error)
}

/// The columns of the cases export.
pub const CASE_COLUMNS: [&str; 15] = [
    "id",
    "name",
    "case_type",
    "activity",
    "region",
    "province",
    "district",
    "ubigeo",
    "companies",
    "status",
    "phase",
    "first_report",
    "first_month",
    "last_report",
    "last_month",
];

/// Every live case with its latest state.
#[tracing::instrument(level = "debug", skip_all)]
pub fn export_cases(conn: &mut DbConn) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CASE_COLUMNS).map_err(csv_error)?;
    let number = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
    let month = |n: Option<i32>| n.and_then(super::report_month_of).unwrap_or_default();
    for (case, companies) in live_cases(conn)? {
        csv_safe::write_record(
            &mut out,
            [
                case.id.as_str(),
                &case.name,
                case.case_type.as_str(),
                case.activity.as_deref().unwrap_or(""),
                case.region.as_deref().unwrap_or(""),
                case.province.as_deref().unwrap_or(""),
                case.district.as_deref().unwrap_or(""),
                case.ubigeo.as_deref().unwrap_or(""),
                &companies,
                case.status.map_or("", |s| s.as_str()),
                case.phase.map_or("", |p| p.as_str()),
                &number(case.first_report),
                &month(case.first_report),
                &number(case.last_report),
                &month(case.last_report),
            ],
        )
        .map_err(csv_error)?;
    }
    out.into_inner().map_err(csv_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "report_number,report_month,case_name,case_type,activity,region,province,district,ubigeo,companies,status,phase,violence,dialogue,description\n";

    #[test]
    fn reads_hand_typed_rows_and_names_bad_ones() {
        let text = format!(
            "{HEADER}220,2022-06,\"Tiaparo - Tapayrihua - SPCC (Los Chancas)\",Socioambiental,Minería,APURIMAC,Aymaraes,Pocohuanca,030410,SPCC,LATENTE,Diálogo,Sí,no,\"Mineros informales, comuneros\"\n\
             221,2022-13,X,Socioambiental,,,,,,,activo,,no,no,\n\
             222,2022-08,,Socioambiental,,,,,,,pendiente,,no,no,\n\
             223,2022-09,Y,Socioambiental\n"
        );
        let (good, bad, read) = read_rows(text.as_bytes()).expect("header");
        assert_eq!(read, 4);
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].entry.status, CaseStatus::Latente);
        assert_eq!(good[0].entry.phase, Some(super::super::Phase::Dialogo));
        assert!(good[0].entry.violence && !good[0].entry.dialogue);
        assert_eq!(good[0].entry.description, "Mineros informales, comuneros");
        let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(bad[0].reason.contains("2022-13"), "{:?}", bad[0]);
        assert!(bad[1].reason.contains("case_name"), "{:?}", bad[1]);
        assert!(bad[1].reason.contains("pendiente"), "{:?}", bad[1]);
        assert!(bad[2].reason.contains("columns"), "{:?}", bad[2]);
    }

    #[test]
    fn excel_bom_and_bad_bytes() {
        // Excel's "CSV UTF-8" starts with a byte-order mark; a row saved in
        // Windows-1252 ("Apur\xedmac") is bad, the others are read.
        let mut bytes = format!("\u{feff}{HEADER}").into_bytes();
        bytes.extend_from_slice(
            b"220,2022-06,Conga,Socioambiental,,Apur\xedmac,,,,,activo,,no,no,\n",
        );
        bytes.extend_from_slice(
            "220,2022-06,Tía María,Socioambiental,,Arequipa,,,,,activo,,no,no,\n".as_bytes(),
        );
        let (good, bad, read) = read_rows(bytes.as_slice()).expect("header");
        assert_eq!(read, 2);
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].case.name, "Tía María");
        assert_eq!(bad.len(), 1);
        assert_eq!(
            (bad[0].line, bad[0].reason.as_str()),
            (2, "is not valid UTF-8")
        );
        assert_eq!(bad[0].problems[0].code, "utf8");
    }

    #[test]
    fn a_wrong_header_is_refused() {
        assert!(read_rows("a,b,c\n1,2,3\n".as_bytes()).is_err());
    }
}
