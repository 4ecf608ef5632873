//! Reading incidents from a file (issue 15): Vigía's own export (CSV or
//! XLSX, [`super::export::COLUMNS`]) or ACLED's, told apart by the header.
//!
//! Every row is checked before anything is written, by the same rules as an
//! incident logged by hand ([`EventInput::into_fields`]); a bad row is named
//! with its line, its column (the file's column name) and the reason. No
//! database work here: `ops::events::import` places, writes and alerts.
//!
//! ACLED's rows: `event_type`/`sub_event_type` map to Vigía's event types
//! (the sub-event type is kept as Vigía's `sub_event_type`), `actor1` and
//! `assoc_actor_1` are alleged perpetrators, `actor2` and `assoc_actor_2`
//! alleged targets, their kind read from `inter1`/`inter2`. Vigía's rows
//! take their actors, roles and attributions from `attribution`.

use std::collections::HashMap;
use std::io::Cursor;

use chrono::NaiveDate;

use super::{AdminInput, EventFields, EventInput, LocationInput, SourceInput};
use crate::actors::{ActorKind, Attribution, LinkRole};
use crate::csv_safe;
use crate::error::{AppError, FieldError};
use crate::rules::{cell_problem as problem, BadRow};

/// Whose columns a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Vigía's export ([`super::export::COLUMNS`]).
    Vigia,
    /// ACLED's export.
    Acled,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Vigia => "vigia",
            Format::Acled => "acled",
        }
    }
}

/// The columns every file must have.
const REQUIRED: [&str; 5] = [
    "event_id_cnty",
    "event_date",
    "event_type",
    "latitude",
    "longitude",
];

/// At most this many characters in an import id.
const MAX_SOURCE_ID: usize = 100;

/// An actor a row names and how it took part.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedActor {
    pub name: String,
    /// The kind a new actor is created with (a known name keeps its own).
    pub kind: ActorKind,
    pub role: LinkRole,
    pub attribution: Attribution,
}

/// One good row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line in the file, from 1 (the header is line 1).
    pub line: u64,
    /// `event_id_cnty`: the incident's import identity.
    pub source_id: String,
    pub fields: EventFields,
    /// The file gave a ubigeo: its place is the client's. Without one the
    /// loaded district boundaries place the incident, and the file's names
    /// are kept only where the point falls in no district.
    pub has_ubigeo: bool,
    pub actors: Vec<NamedActor>,
}

/// What a file holds.
#[derive(Debug)]
pub struct Checked {
    pub format: Format,
    pub rows: Vec<Row>,
    pub bad: Vec<BadRow>,
    /// Data rows read.
    pub read: usize,
}

/// A file's cells by line, as text.
struct Table {
    header: Vec<String>,
    rows: Vec<(u64, Result<Vec<String>, FieldError>)>,
}

/// Reads and checks a CSV or XLSX file (an XLSX file is a zip: told by its
/// first bytes). `Err` is a file that cannot be read at all, in English.
pub fn check(bytes: &[u8]) -> Result<Checked, String> {
    let table = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else {
        read_csv(bytes)?
    };
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !table.header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the header row lacks the column(s) {} (found: {})",
            missing.join(", "),
            table.header.join(",")
        ));
    }
    let format = if ["attribution", "verification", "title"]
        .iter()
        .all(|c| table.header.iter().any(|h| h == c))
    {
        Format::Vigia
    } else {
        Format::Acled
    };
    let columns: HashMap<&str, usize> = table
        .header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut checked = Checked {
        format,
        rows: Vec::new(),
        bad: Vec::new(),
        read: table.rows.len(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, cells) in table.rows {
        let parsed = cells.map_err(|e| vec![e]).and_then(|cells| {
            parse_row(
                format,
                &Cells {
                    columns: &columns,
                    cells: &cells,
                },
            )
        });
        match parsed {
            Ok(mut row) => {
                row.line = line;
                if let Some(first) = seen.get(&row.source_id) {
                    checked.bad.push(BadRow::new(
                        line,
                        vec![problem(
                            "event_id_cnty",
                            "duplicate_id",
                            format!(
                                "event_id_cnty {:?} is already on line {first}",
                                row.source_id
                            ),
                            &[("id", row.source_id.clone()), ("first", first.to_string())],
                        )],
                    ));
                } else {
                    seen.insert(row.source_id.clone(), line);
                    checked.rows.push(row);
                }
            }
            Err(problems) => checked.bad.push(BadRow::new(line, problems)),
        }
    }
    Ok(checked)
}

/// One row's cells by column name.
struct Cells<'a> {
    columns: &'a HashMap<&'a str, usize>,
    cells: &'a [String],
}

impl Cells<'_> {
    /// The cell under `name`, trimmed, with a formula guard taken off; empty
    /// when the file has no such column.
    fn get(&self, name: &str) -> &str {
        self.columns
            .get(name)
            .and_then(|i| self.cells.get(*i))
            .map(|c| csv_safe::read_cell(c).trim())
            .unwrap_or("")
    }
}

fn header_name(cell: &str) -> String {
    cell.trim().trim_start_matches('\u{feff}').to_lowercase()
}

fn read_csv(bytes: &[u8]) -> Result<Table, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(header_name)
        .collect();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                let cells: Vec<String> = record.iter().map(str::to_string).collect();
                let row = if cells.iter().any(|c| c.contains('\0')) {
                    Err(problem(
                        "",
                        "control_character",
                        "contains the NUL character".into(),
                        &[],
                    ))
                } else if cells.len() != header.len() {
                    Err(problem(
                        "",
                        "columns",
                        format!("has {} columns, expected {}", cells.len(), header.len()),
                        &[
                            ("found", cells.len().to_string()),
                            ("expected", header.len().to_string()),
                        ],
                    ))
                } else {
                    Ok(cells)
                };
                rows.push((line, row));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                let utf8 = matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
                let why = if utf8 {
                    problem("", "utf8", "is not valid UTF-8".into(), &[])
                } else {
                    problem(
                        "",
                        "unreadable",
                        format!("cannot be read: {e}"),
                        &[("detail", e.to_string())],
                    )
                };
                rows.push((line, Err(why)));
                // A broken record may leave the reader unable to go on.
                if !utf8 {
                    break;
                }
            }
        }
    }
    Ok(Table { header, rows })
}

/// The first sheet; dates as `YYYY-MM-DD`, whole numbers without `.0`.
fn read_xlsx(bytes: &[u8]) -> Result<Table, String> {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("cannot read the workbook: {e}"))?;
    let sheet = workbook
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")?
        .map_err(|e| format!("cannot read the first sheet: {e}"))?;
    let first_line = sheet.start().map_or(1, |(row, _)| u64::from(row) + 1);
    let text = |cell: &Data| -> String {
        match cell {
            Data::Empty => String::new(),
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Int(i) => i.to_string(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            Data::Float(f) => f.to_string(),
            Data::Bool(b) => b.to_string(),
            // Excel's day 0 is 1899-12-30 (its 1900 leap year included).
            Data::DateTime(d) => NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(d.as_f64() as u64)))
                .map(|d| d.to_string())
                .unwrap_or_default(),
            Data::Error(e) => format!("#{e:?}"),
        }
    };
    let mut lines = sheet.rows();
    let header: Vec<String> = lines
        .next()
        .ok_or("the first sheet is empty")?
        .iter()
        .map(|c| header_name(&text(c)))
        .collect();
    let rows = lines
        .enumerate()
        .map(|(i, cells)| {
            (
                first_line + 1 + i as u64,
                Ok(cells.iter().map(text).collect()),
            )
        })
        .filter(|(_, cells): &(u64, Result<Vec<String>, FieldError>)| {
            cells
                .as_ref()
                .map_or(true, |c| c.iter().any(|c| !c.is_empty()))
        })
        .collect();
    Ok(Table { header, rows })
}

/// `2022-05-12`, `12 May 2022`, `12-May-2022` or `12/05/2022` (day first).
fn read_date(text: &str) -> Option<NaiveDate> {
    [
        "%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d-%B-%Y", "%d-%b-%Y", "%d/%m/%Y",
    ]
    .iter()
    .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
}

/// ACLED's types, by sub-event type first, then by event type.
fn acled_type(event_type: &str, sub_event_type: &str) -> Option<super::EventType> {
    use super::EventType as T;
    let by_sub = match sub_event_type.trim().to_lowercase().as_str() {
        "peaceful protest" | "protest with intervention" | "excessive force against protesters" => {
            Some(T::Protest)
        }
        "violent demonstration" | "mob violence" => Some(T::Riot),
        "looting/property destruction" => Some(T::PropertyDestruction),
        "armed clash" | "government regains territory" => Some(T::Clash),
        "non-state actor overtakes territory" => Some(T::Occupation),
        "attack" | "abduction/forced disappearance" | "sexual violence" => Some(T::Attack),
        "arrests" => Some(T::Arrest),
        "agreement" => Some(T::Agreement),
        _ => None,
    };
    by_sub.or(match event_type.trim().to_lowercase().as_str() {
        "protests" => Some(T::Protest),
        "riots" => Some(T::Riot),
        "battles" => Some(T::Clash),
        "violence against civilians" | "explosions/remote violence" => Some(T::Attack),
        "strategic developments" => Some(T::Other),
        _ => None,
    })
}

/// ACLED's `inter` code (a number, or its name in newer exports).
fn acled_kind(inter: &str) -> ActorKind {
    match inter.trim().to_lowercase().as_str() {
        "1" | "state forces" => ActorKind::StateAgency,
        "2" | "3" | "4" | "5" | "6" | "rebel group" | "political militia" | "identity militia"
        | "rioters" | "protesters" => ActorKind::InformalGroup,
        "7" | "civilians" => ActorKind::Community,
        _ => ActorKind::Other,
    }
}

/// `1`, `2`, `3` (ACLED's numbers, which Vigía's export writes too) or the
/// names.
fn precision<'a>(cell: &'a str, names: [&'a str; 3]) -> Option<&'a str> {
    match cell {
        "" => None,
        "1" => Some(names[0]),
        "2" => Some(names[1]),
        "3" => Some(names[2]),
        other => Some(other),
    }
}

fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// Vigía's `attribution` cell: `Name (role, attribution); …`.
fn read_attribution(cell: &str) -> Result<Vec<NamedActor>, FieldError> {
    split_list(cell)
        .map(|item| {
            let parsed = item.strip_suffix(')').and_then(|rest| {
                let open = rest.rfind(" (")?;
                let (role, attribution) = rest[open + 2..].split_once(',')?;
                Some(NamedActor {
                    name: rest[..open].trim().to_string(),
                    kind: ActorKind::Other,
                    role: LinkRole::parse(role.trim())?,
                    attribution: Attribution::parse(attribution.trim())?,
                })
            });
            parsed.ok_or_else(|| {
                problem(
                    "attribution",
                    "attribution",
                    format!("attribution {item:?} is not \"name (role, attribution)\""),
                    &[("value", item.to_string())],
                )
            })
        })
        .collect()
}

/// The input's field paths as the file's column names.
fn column_of(field: &str) -> &str {
    match field {
        "description" => "notes",
        "occurred_on" => "event_date",
        "location.lat" => "latitude",
        "location.lon" => "longitude",
        "location.place" => "location",
        "location.precision" => "geo_precision",
        "admin" | "admin.ubigeo" => "ubigeo",
        "admin.region" => "admin1",
        "admin.province" => "admin2",
        "admin.district" => "admin3",
        f if f.starts_with("sources") => "source",
        f => f,
    }
}

fn parse_row(format: Format, c: &Cells) -> Result<Row, Vec<FieldError>> {
    let mut why = Vec::new();
    let source_id = c.get("event_id_cnty").to_string();
    if source_id.is_empty() {
        why.push(problem(
            "event_id_cnty",
            "required",
            "event_id_cnty is missing".into(),
            &[],
        ));
    } else if source_id.chars().count() > MAX_SOURCE_ID {
        why.push(problem(
            "event_id_cnty",
            "length",
            format!("event_id_cnty is longer than {MAX_SOURCE_ID} characters"),
            &[("max", MAX_SOURCE_ID.to_string())],
        ));
    }
    let sub_event_type = c.get("sub_event_type");
    let event_type = match format {
        Format::Vigia => c.get("event_type").to_string(),
        Format::Acled => {
            match acled_type(c.get("event_type"), sub_event_type) {
                Some(t) => t.as_str().to_string(),
                None => {
                    let value = c.get("event_type");
                    why.push(problem(
                    "event_type",
                    "unknown_value",
                    format!("unknown ACLED event_type {value:?} / sub_event_type {sub_event_type:?}"),
                    &[
                        ("value", format!("{value} / {sub_event_type}")),
                        ("expected", "ACLED's event and sub-event types".into()),
                    ],
                ));
                    String::new()
                }
            }
        }
    };
    let date = c.get("event_date");
    let occurred_on = match read_date(date) {
        Some(d) => d.to_string(),
        None => {
            why.push(problem(
                "event_date",
                "date_any",
                format!("event_date {date:?} is not a date (2022-05-12 or 12 May 2022)"),
                &[],
            ));
            String::new()
        }
    };
    let mut number = |column: &str| -> Option<f64> {
        let text = c.get(column);
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ if text.is_empty() && !["latitude", "longitude"].contains(&column) => None,
            _ => {
                why.push(problem(
                    column,
                    "number",
                    format!("{column} {text:?} is not a number"),
                    &[],
                ));
                None
            }
        }
    };
    let lat = number("latitude");
    let lon = number("longitude");
    let whole = |n: Option<f64>| n.map(|n| n.round() as i64);
    let fatalities = whole(number("fatalities"));
    let injuries = whole(number("injuries"));
    let optional = |column: &str| Some(c.get(column).to_string()).filter(|v| !v.is_empty());
    let admin = AdminInput {
        ubigeo: optional("ubigeo"),
        region: optional("admin1"),
        province: optional("admin2"),
        district: optional("admin3"),
    };
    let has_admin = admin.ubigeo.is_some()
        || admin.region.is_some()
        || admin.province.is_some()
        || admin.district.is_some();
    let has_ubigeo = admin.ubigeo.is_some();
    let title = match format {
        Format::Vigia => c.get("title").to_string(),
        Format::Acled => {
            let place = [c.get("location"), c.get("admin3"), c.get("admin1")]
                .into_iter()
                .find(|p| !p.is_empty());
            let what = if sub_event_type.is_empty() {
                c.get("event_type")
            } else {
                sub_event_type
            };
            let title = match place {
                Some(place) => format!("{what} — {place}"),
                None => what.to_string(),
            };
            title.chars().take(300).collect()
        }
    };
    let input = EventInput {
        title: Some(title),
        description: Some(c.get("notes").to_string()),
        event_type: Some(event_type),
        sub_event_type: optional("sub_event_type"),
        occurred_on: Some(occurred_on),
        time_precision: precision(c.get("time_precision"), ["day", "month", "year"])
            .map(String::from),
        location: Some(LocationInput {
            lat,
            lon,
            precision: precision(c.get("geo_precision"), ["exact", "near", "approximate"])
                .map(String::from),
            place: optional("location"),
        }),
        admin: has_admin.then_some(admin),
        fatalities,
        injuries,
        sources: Some(
            split_list(c.get("source"))
                .map(|publisher| SourceInput {
                    publisher: Some(publisher.to_string()),
                    title: None,
                    url: None,
                    published_on: None,
                    confidential: None,
                })
                .collect(),
        ),
        verification: match format {
            Format::Vigia => optional("verification"),
            Format::Acled => None,
        },
        verification_note: None,
        client_id: None,
    };
    let actors = match format {
        Format::Vigia => read_attribution(c.get("attribution")).unwrap_or_else(|e| {
            why.push(e);
            Vec::new()
        }),
        Format::Acled => acled_actors(c),
    };
    for actor in &actors {
        if actor.name.chars().count() > 300 {
            why.push(problem(
                "actor1",
                "length",
                format!(
                    "actor {:?}… is longer than 300 characters",
                    actor.name.chars().take(40).collect::<String>()
                ),
                &[("max", "300".into())],
            ));
        }
        if crate::rules::one_line(&actor.name).is_err() {
            why.push(problem(
                "actor1",
                "control_character",
                "an actor's name has control characters".into(),
                &[],
            ));
        }
    }
    let fields = match input.into_fields() {
        Ok(fields) => Some(fields),
        Err(AppError::Validation(errors)) => {
            let already: Vec<String> = why.iter().map(|e| e.field.clone()).collect();
            why.extend(
                errors
                    .into_iter()
                    .map(|mut e| {
                        let column = column_of(&e.field).to_string();
                        e.message = format!("{column}: {}", e.message);
                        e.field = column;
                        e
                    })
                    .filter(|e| !already.contains(&e.field)),
            );
            None
        }
        Err(other) => {
            why.push(problem("", "invalid", other.to_string(), &[]));
            None
        }
    };
    match fields {
        Some(fields) if why.is_empty() => Ok(Row {
            line: 0,
            source_id,
            fields,
            has_ubigeo,
            actors,
        }),
        _ => Err(why),
    }
}

fn acled_actors(c: &Cells) -> Vec<NamedActor> {
    let mut actors = Vec::new();
    for (first, assoc, inter, role) in [
        ("actor1", "assoc_actor_1", "inter1", LinkRole::Perpetrator),
        ("actor2", "assoc_actor_2", "inter2", LinkRole::Target),
    ] {
        let kind = acled_kind(c.get(inter));
        let names = std::iter::once(c.get(first))
            .filter(|n| !n.is_empty())
            .map(|n| (n, kind))
            .chain(split_list(c.get(assoc)).map(|n| (n, ActorKind::Other)));
        for (name, kind) in names {
            let actor = NamedActor {
                name: name.to_string(),
                kind,
                role,
                attribution: Attribution::Alleged,
            };
            if !actors
                .iter()
                .any(|a: &NamedActor| a.name == actor.name && a.role == actor.role)
            {
                actors.push(actor);
            }
        }
    }
    actors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acled_types_map_to_vigias() {
        use super::super::EventType as T;
        let cases = [
            ("Protests", "Peaceful protest", T::Protest),
            (
                "Strategic developments",
                "Looting/property destruction",
                T::PropertyDestruction,
            ),
            ("Riots", "Violent demonstration", T::Riot),
            ("Battles", "Armed clash", T::Clash),
            ("Strategic developments", "Arrests", T::Arrest),
            ("Strategic developments", "Other", T::Other),
        ];
        for (t, s, want) in cases {
            assert_eq!(acled_type(t, s), Some(want), "{t} / {s}");
        }
        assert_eq!(acled_type("Picnics", "Lunch"), None);
    }

    #[test]
    fn dates_in_either_form() {
        let may12 = NaiveDate::from_ymd_opt(2022, 5, 12);
        assert_eq!(read_date("2022-05-12"), may12);
        assert_eq!(read_date("12 May 2022"), may12);
        assert_eq!(read_date("12-May-2022"), may12);
        assert_eq!(read_date("May 2022"), None);
    }

    #[test]
    fn attribution_cells_read_back() {
        let actors =
            read_attribution("Minera Las Bambas (Perpetrator) S.A. (target, alleged); Comunidad de Fuerabamba (perpetrator, confirmed)")
                .expect("valid");
        assert_eq!(actors.len(), 2);
        assert_eq!(actors[0].name, "Minera Las Bambas (Perpetrator) S.A.");
        assert_eq!(
            (actors[0].role, actors[0].attribution),
            (LinkRole::Target, Attribution::Alleged)
        );
        assert_eq!(actors[1].role, LinkRole::Perpetrator);
        assert!(read_attribution("Nadie").is_err());
    }
}
