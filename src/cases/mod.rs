//! Cases of the Defensoría del Pueblo's monthly *Reporte de Conflictos
//! Sociales*, and their entries: one case in one report, with its state and
//! phase that month.
//!
//! A case is one normalised name in one district. Its `status`, `phase`,
//! `first_report` and `last_report` are derived from its entries. Values
//! typed by hand in imports (`LATENTE`, `Diálogo`, `Sí`) are read by the
//! lenient parsers here; the API takes the canonical names only.

pub mod import;
pub mod store;
pub mod suggest;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::error::{AppError, FieldError};
use crate::places::HolderRef;
use crate::rules::{not_blank, one_line, rule, text_block, ubigeo_digits};
use crate::text;

string_enum! {
    /// The Defensoría's case types.
    pub enum CaseType {
        Socioambiental = "socioambiental",
        AsuntosGobiernoLocal = "asuntos_gobierno_local",
        AsuntosGobiernoRegional = "asuntos_gobierno_regional",
        AsuntosGobiernoNacional = "asuntos_gobierno_nacional",
        DemarcacionTerritorial = "demarcacion_territorial",
        Comunal = "comunal",
        Laboral = "laboral",
        Otros = "otros",
    }
}

string_enum! {
    /// A case's state in one report.
    pub enum CaseStatus {
        Activo = "activo",
        Latente = "latente",
        Resuelto = "resuelto",
        Retirado = "retirado",
        /// "En observación".
        Observacion = "observacion",
    }
}

string_enum! {
    /// The phase of an active case in one report.
    pub enum Phase {
        FaseTemprana = "fase_temprana",
        Escalamiento = "escalamiento",
        Crisis = "crisis",
        Desescalamiento = "desescalamiento",
        Dialogo = "dialogo",
        ConflictoNoIniciado = "conflicto_no_iniciado",
    }
}

/// Folded words joined by `_`: `Fase de Escalamiento` → `fase_de_escalamiento`.
fn snake(raw: &str) -> String {
    text::fold(raw).replace(' ', "_")
}

/// A case type as people type it: `Socioambiental`, `Asuntos de gobierno
/// local`, `DEMARCACIÓN TERRITORIAL`, `Otros asuntos`.
pub fn read_case_type(raw: &str) -> Option<CaseType> {
    let key = snake(raw).replace("_de_", "_");
    match key.as_str() {
        "otros_asuntos" => Some(CaseType::Otros),
        "asuntos_gobierno_local" | "gobierno_local" => Some(CaseType::AsuntosGobiernoLocal),
        "asuntos_gobierno_regional" | "gobierno_regional" => {
            Some(CaseType::AsuntosGobiernoRegional)
        }
        "asuntos_gobierno_nacional" | "gobierno_nacional" => {
            Some(CaseType::AsuntosGobiernoNacional)
        }
        other => CaseType::parse(other),
    }
}

/// A state as people type it: `Activo`, `LATENTE`, `En observación`.
pub fn read_status(raw: &str) -> Option<CaseStatus> {
    let key = snake(raw);
    let key = key.strip_prefix("caso_").unwrap_or(&key);
    let key = key.strip_prefix("en_").unwrap_or(key);
    CaseStatus::parse(key)
}

/// A phase as people type it: `Diálogo`, `Fase temprana`, `Fase de crisis`,
/// `Conflicto no iniciado`.
pub fn read_phase(raw: &str) -> Option<Phase> {
    let key = snake(raw);
    let key = key.strip_prefix("fase_de_").unwrap_or(&key);
    Phase::parse(key)
}

/// `Sí`, `si`, `S`, `yes`, `true`, `1`, `x` are true; `No`, `n`, `false`,
/// `0` and an empty cell are false.
pub fn read_bool(raw: &str) -> Option<bool> {
    match text::fold(raw).as_str() {
        "si" | "s" | "yes" | "y" | "true" | "1" | "x" => Some(true),
        "no" | "n" | "false" | "0" | "" => Some(false),
        _ => None,
    }
}

/// Report N.° 1 was March 2004, and one comes out every month (N.° 220 is
/// June 2022).
pub fn report_month_of(number: i32) -> Option<String> {
    if number < 1 {
        return None;
    }
    let index = 2004 * 12 + 2 + (number - 1);
    Some(format!("{:04}-{:02}", index / 12, index % 12 + 1))
}

/// The report of a `YYYY-MM` month.
pub fn report_number_of(month: &str) -> Option<i32> {
    let (y, m) = parse_month(month)?;
    let number = y * 12 + (m - 1) - (2004 * 12 + 2) + 1;
    (number >= 1).then_some(number)
}

/// Year and month (1–12) of a `YYYY-MM` text.
pub fn parse_month(text: &str) -> Option<(i32, i32)> {
    let (y, m) = text.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    (1..=12).contains(&m).then_some((y, m))
}

/// Months since year 0, to count the months between two dates.
pub fn month_index(date: NaiveDate) -> i32 {
    date.year() * 12 + date.month0() as i32
}

/// The newest report that can exist: the one of next month.
fn latest_report() -> i32 {
    let today = Utc::now().date_naive();
    month_index(today) - (2004 * 12 + 2) + 2
}

/// A report number and its month, checked against each other; an error
/// names the field at fault.
pub fn check_report(number: i64, month: &str) -> Result<(i32, String), FieldError> {
    let coded = |field: &str, code: &str, message: String, params: &[(&str, String)]| {
        let mut e = FieldError::coded(field, code, message);
        e.params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        e
    };
    let latest = latest_report();
    let number = i32::try_from(number)
        .ok()
        .filter(|n| (1..=latest).contains(n))
        .ok_or_else(|| {
            coded(
                "report_number",
                "report_range",
                format!("report number {number} is not between 1 and {latest} (next month's)"),
                &[("latest", latest.to_string())],
            )
        })?;
    let expected = report_month_of(number).unwrap_or_default();
    let (y, m) = parse_month(month).ok_or_else(|| {
        coded(
            "report_month",
            "month",
            format!("report month {month:?} is not a month as YYYY-MM"),
            &[("value", month.to_string())],
        )
    })?;
    let given = format!("{y:04}-{m:02}");
    if given != expected {
        return Err(coded(
            "report_month",
            "report_month",
            format!("report {number} is the one of {expected}, not {given}"),
            &[
                ("number", number.to_string()),
                ("expected", expected.clone()),
                ("given", given.clone()),
            ],
        ));
    }
    Ok((number, given))
}

/// A report by number and month.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportRef {
    #[schema(example = 220)]
    pub number: i32,
    #[schema(example = "2022-06")]
    pub month: String,
}

impl ReportRef {
    pub fn of(number: i32) -> Self {
        ReportRef {
            number,
            month: report_month_of(number).unwrap_or_default(),
        }
    }
}

/// The fields a client writes, valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFields {
    pub name: String,
    pub case_type: CaseType,
    pub activity: Option<String>,
    pub region: Option<String>,
    pub province: Option<String>,
    pub district: Option<String>,
    pub ubigeo: Option<String>,
    /// Actor ids, sorted, once each.
    pub companies: Vec<String>,
}

/// A case across the reports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    #[schema(example = "Tiaparo - Tapayrihua - SPCC (Los Chancas)")]
    pub name: String,
    pub case_type: CaseType,
    #[schema(example = "minería")]
    pub activity: Option<String>,
    #[schema(example = "Apurímac")]
    pub region: Option<String>,
    #[schema(example = "Aymaraes")]
    pub province: Option<String>,
    #[schema(example = "Pocohuanca")]
    pub district: Option<String>,
    /// 2, 4 or 6 digits; filled from the loaded boundaries when not given.
    #[schema(example = "030410")]
    pub ubigeo: Option<String>,
    /// The companies involved, as actors.
    pub companies: Vec<HolderRef>,
    /// The state in the latest report that lists the case.
    pub status: Option<CaseStatus>,
    pub phase: Option<Phase>,
    pub first_report: Option<ReportRef>,
    pub last_report: Option<ReportRef>,
    /// The case's timeline by report number (on reading one case only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<Entry>>,
    /// Only in the answer to a create or an edit, when there is something to
    /// check: `district_not_found` / `province_not_found` when a name is not
    /// among the loaded boundaries and the ubigeo is of a wider area.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::rules::Warning>,
}

impl Case {
    /// The writable fields, for a merge patch.
    fn fields(&self) -> CaseFields {
        CaseFields {
            name: self.name.clone(),
            case_type: self.case_type,
            activity: self.activity.clone(),
            region: self.region.clone(),
            province: self.province.clone(),
            district: self.district.clone(),
            ubigeo: self.ubigeo.clone(),
            companies: self.companies.iter().map(|c| c.id.to_string()).collect(),
        }
    }
}

/// A case as an incident embeds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseRef {
    pub id: Uuid,
    pub name: String,
    pub status: Option<CaseStatus>,
    pub last_report: Option<ReportRef>,
    /// Why the incident belongs to the case.
    pub note: Option<String>,
}

/// A new case, or the whole case after a merge patch.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    /// 1–300 characters, not blank.
    #[validate(
        required(message = "is required"),
        length(min = 1, max = 300),
        custom(function = "not_blank"),
        custom(function = "one_line")
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 300, example = "Tiaparo - Tapayrihua - SPCC (Los Chancas)")]
    pub name: Option<String>,
    #[validate(
        required(message = "is required"),
        custom(function = "known_case_type")
    )]
    #[schema(required = true, value_type = CaseType)]
    pub case_type: Option<String>,
    /// Up to 100 characters, e.g. `minería`, `hidrocarburos`.
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100, example = "minería")]
    pub activity: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100)]
    pub region: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100)]
    pub province: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100)]
    pub district: Option<String>,
    /// 2, 4 or 6 digits.
    #[validate(custom(function = "ubigeo_digits"))]
    #[schema(pattern = "^([0-9]{2}|[0-9]{4}|[0-9]{6})$", example = "030410")]
    pub ubigeo: Option<String>,
    /// Ids of company actors; up to 50.
    #[validate(length(max = 50))]
    pub companies: Option<Vec<Uuid>>,
}

fn known_case_type(v: &str) -> Result<(), ValidationError> {
    CaseType::parse(v)
        .map(|_| ())
        .ok_or_else(|| rule("unknown", format!("must be one of: {}", CaseType::names())))
}

fn known_status(v: &str) -> Result<(), ValidationError> {
    CaseStatus::parse(v).map(|_| ()).ok_or_else(|| {
        rule(
            "unknown",
            format!("must be one of: {}", CaseStatus::names()),
        )
    })
}

fn known_phase(v: &str) -> Result<(), ValidationError> {
    Phase::parse(v)
        .map(|_| ())
        .ok_or_else(|| rule("unknown", format!("must be one of: {}", Phase::names())))
}

fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl CaseInput {
    pub fn into_fields(self) -> Result<CaseFields, AppError> {
        crate::rules::check(&self)?;
        let invalid =
            |what: &str| AppError::internal(format!("{what} passed validation but did not parse"));
        let mut companies: Vec<String> = self
            .companies
            .unwrap_or_default()
            .iter()
            .map(Uuid::to_string)
            .collect();
        companies.sort();
        companies.dedup();
        Ok(CaseFields {
            name: self.name.ok_or_else(|| invalid("name"))?.trim().to_string(),
            case_type: self
                .case_type
                .as_deref()
                .and_then(CaseType::parse)
                .ok_or_else(|| invalid("case_type"))?,
            activity: trimmed(self.activity),
            region: trimmed(self.region),
            province: trimmed(self.province),
            district: trimmed(self.district),
            ubigeo: self.ubigeo,
            companies,
        })
    }
}

/// Applies a merge patch to a case and checks the result.
pub fn apply_patch(current: &Case, patch: serde_json::Value) -> Result<CaseFields, AppError> {
    let mut document = serde_json::to_value(current.fields())?;
    crate::http::merge_patch(&mut document, patch);
    crate::http::from_value::<CaseInput>(document)?.into_fields()
}

/// The shape of a case PATCH body (JSON Merge Patch): any subset of the
/// fields, `null` removing an optional one (`name` and `case_type` cannot
/// be removed). Only the shape is checked against this type; the rules are
/// checked on the merged result as [`CaseInput`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CasePatch {
    /// 1–300 characters, not blank.
    #[schema(required = false, value_type = String, min_length = 1, max_length = 300)]
    name: Option<String>,
    #[schema(required = false, value_type = CaseType)]
    case_type: Option<CaseType>,
    #[schema(min_length = 1, max_length = 100)]
    activity: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    region: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    province: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    district: Option<String>,
    #[schema(pattern = "^([0-9]{2}|[0-9]{4}|[0-9]{6})$")]
    ubigeo: Option<String>,
    /// Ids of company actors; up to 50. Replaces the whole list.
    #[schema(max_items = 50)]
    companies: Option<Vec<Uuid>>,
}

/// One case in one report, valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryFields {
    pub report_number: i32,
    pub report_month: String,
    pub status: CaseStatus,
    pub phase: Option<Phase>,
    pub violence: bool,
    pub dialogue: bool,
    pub description: String,
}

/// One case in one report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    pub id: Uuid,
    pub case_id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    #[schema(example = 220)]
    pub report_number: i32,
    #[schema(example = "2022-06")]
    pub report_month: String,
    pub status: CaseStatus,
    pub phase: Option<Phase>,
    /// Violent events reported that month.
    pub violence: bool,
    /// A dialogue process under way.
    pub dialogue: bool,
    pub description: String,
}

impl Entry {
    fn fields(&self) -> EntryFields {
        EntryFields {
            report_number: self.report_number,
            report_month: self.report_month.clone(),
            status: self.status,
            phase: self.phase,
            violence: self.violence,
            dialogue: self.dialogue,
            description: self.description.clone(),
        }
    }
}

/// A new report entry, or the whole entry after a merge patch.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// The report's number (N.° 220 is June 2022; one a month).
    #[validate(required(message = "is required"), range(min = 1, max = 10000))]
    #[schema(required = true, value_type = i64, minimum = 1, maximum = 10000, example = 220)]
    pub report_number: Option<i64>,
    /// `YYYY-MM`, the month of that report.
    #[validate(required(message = "is required"), custom(function = "month_text"))]
    #[schema(required = true, value_type = String, pattern = "^[0-9]{4}-[0-9]{2}$", example = "2022-06")]
    pub report_month: Option<String>,
    #[validate(required(message = "is required"), custom(function = "known_status"))]
    #[schema(required = true, value_type = CaseStatus)]
    pub status: Option<String>,
    #[validate(custom(function = "known_phase"))]
    #[schema(value_type = Option<Phase>)]
    pub phase: Option<String>,
    /// Default false.
    pub violence: Option<bool>,
    /// Default false.
    pub dialogue: Option<bool>,
    /// Up to 20,000 characters.
    #[validate(length(max = 20000), custom(function = "text_block"))]
    #[schema(max_length = 20000)]
    pub description: Option<String>,
}

fn month_text(v: &str) -> Result<(), ValidationError> {
    parse_month(v)
        .map(|_| ())
        .ok_or_else(|| rule("month", "must be a month as YYYY-MM".into()))
}

impl EntryInput {
    pub fn into_fields(self) -> Result<EntryFields, AppError> {
        // The number and the month are checked against each other once each
        // is valid alone; every problem is reported at once.
        let mut errors = match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => crate::rules::field_errors(&e),
        };
        let report = match (self.report_number, self.report_month.as_deref()) {
            (Some(n), Some(m)) => Some(check_report(n, m)),
            _ => None,
        };
        if let Some(Err(problem)) = &report {
            if !errors.iter().any(|e| e.field == problem.field) {
                errors.push(problem.clone());
                errors.sort_by(|a, b| a.field.cmp(&b.field));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let invalid =
            |what: &str| AppError::internal(format!("{what} passed validation but did not parse"));
        let (report_number, report_month) = report
            .and_then(Result::ok)
            .ok_or_else(|| invalid("report_number"))?;
        Ok(EntryFields {
            report_number,
            report_month,
            status: self
                .status
                .as_deref()
                .and_then(CaseStatus::parse)
                .ok_or_else(|| invalid("status"))?,
            phase: match self.phase.as_deref() {
                Some(p) => Some(Phase::parse(p).ok_or_else(|| invalid("phase"))?),
                None => None,
            },
            violence: self.violence.unwrap_or(false),
            dialogue: self.dialogue.unwrap_or(false),
            description: self.description.unwrap_or_default(),
        })
    }
}

/// Applies a merge patch to an entry and checks the result.
pub fn apply_entry_patch(
    current: &Entry,
    patch: serde_json::Value,
) -> Result<EntryFields, AppError> {
    let mut document = serde_json::to_value(current.fields())?;
    crate::http::merge_patch(&mut document, patch);
    crate::http::from_value::<EntryInput>(document)?.into_fields()
}

/// The shape of an entry PATCH body (JSON Merge Patch): any subset of the
/// fields, `null` removing an optional one (`report_number`,
/// `report_month` and `status` cannot be removed). Only the shape is
/// checked against this type; the rules are checked on the merged result
/// as [`EntryInput`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct EntryPatch {
    #[schema(required = false, value_type = i64, minimum = 1, maximum = 10000)]
    report_number: Option<i64>,
    /// `YYYY-MM`, the month of that report.
    #[schema(required = false, value_type = String, pattern = "^[0-9]{4}-[0-9]{2}$")]
    report_month: Option<String>,
    #[schema(required = false, value_type = CaseStatus)]
    status: Option<CaseStatus>,
    phase: Option<Phase>,
    violence: Option<bool>,
    dialogue: Option<bool>,
    #[schema(max_length = 20000)]
    description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_typed_values() {
        for s in ["Latente", "LATENTE", "latente", " latente "] {
            assert_eq!(read_status(s), Some(CaseStatus::Latente), "{s}");
        }
        assert_eq!(read_status("En observación"), Some(CaseStatus::Observacion));
        assert_eq!(read_status("observacion"), Some(CaseStatus::Observacion));
        assert_eq!(read_status("pendiente"), None);
        assert_eq!(read_phase("Diálogo"), Some(Phase::Dialogo));
        assert_eq!(read_phase("dialogo"), Some(Phase::Dialogo));
        assert_eq!(read_phase("Fase temprana"), Some(Phase::FaseTemprana));
        assert_eq!(read_phase("Fase de crisis"), Some(Phase::Crisis));
        assert_eq!(
            read_phase("Conflicto no iniciado"),
            Some(Phase::ConflictoNoIniciado)
        );
        assert_eq!(read_bool("Sí"), Some(true));
        assert_eq!(read_bool("si"), Some(true));
        assert_eq!(read_bool("No"), Some(false));
        assert_eq!(read_bool("quizás"), None);
        assert_eq!(
            read_case_type("Asuntos de gobierno local"),
            Some(CaseType::AsuntosGobiernoLocal)
        );
        assert_eq!(
            read_case_type("DEMARCACIÓN TERRITORIAL"),
            Some(CaseType::DemarcacionTerritorial)
        );
        assert_eq!(
            read_case_type("Socioambiental"),
            Some(CaseType::Socioambiental)
        );
    }

    #[test]
    fn report_numbers_and_months() {
        assert_eq!(report_month_of(220).as_deref(), Some("2022-06"));
        assert_eq!(report_month_of(1).as_deref(), Some("2004-03"));
        assert_eq!(report_number_of("2022-06"), Some(220));
        assert_eq!(report_number_of("2023-01"), Some(227));
        assert_eq!(report_number_of("2004-02"), None);
        assert!(check_report(220, "2022-06").is_ok());
        assert!(check_report(220, "2022-07").is_err());
        assert!(check_report(220, "2022-13").is_err());
        assert!(check_report(0, "2004-02").is_err());
        assert!(check_report(100_000, "2022-06").is_err());
    }
}
