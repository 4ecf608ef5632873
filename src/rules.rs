//! Input rules shared by every module, and the flattening of validator's
//! report into the `errors` list of a 422.

use chrono::{Datelike, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::error::{AppError, FieldError};

/// Something accepted but probably not what was meant (a point outside
/// every district, a district name not found): the write is done and the
/// answer says what to check. The same shape wherever Vigía warns.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Warning {
    /// Stable, for programs: `outside_boundaries`, `district_not_found`…
    #[schema(example = "outside_boundaries")]
    pub code: String,
    /// The input field concerned, as in a 422's `errors`.
    #[schema(example = "location")]
    pub field: String,
    #[schema(example = "the point falls in no district of the loaded boundaries")]
    pub message: String,
}

/// Runs the derived rules of `input`; all failures at once as a 422.
pub fn check(input: &impl Validate) -> Result<(), AppError> {
    input
        .validate()
        .map_err(|errors| AppError::Validation(field_errors(&errors)))
}

pub fn rule(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

pub fn not_blank(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(rule("blank", "must not be blank".into()));
    }
    Ok(())
}

/// Characters that make one line of text show as something else: C0 and
/// C1 controls (a title `Bloqueo\r\nBcc: …` forged lines in alert mails),
/// the Unicode line and paragraph separators, and the bidirectional
/// overrides and isolates that reorder what a reader sees (U+202E).
pub fn is_disguising(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061C}' | '\u{200E}' | '\u{200F}'
        )
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// A one-line field (a title, a name, a place): none of [`is_disguising`].
pub fn one_line(text: &str) -> Result<(), ValidationError> {
    match text.chars().find(|c| is_disguising(*c)) {
        Some(c) => Err(rule(
            "control_character",
            format!(
                "must be one line without control or direction characters (found U+{:04X})",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

/// A text block (a description, a note): line breaks and tabs are kept,
/// the rest of [`is_disguising`] is refused as in one line.
pub fn text_block(text: &str) -> Result<(), ValidationError> {
    match text
        .chars()
        .find(|c| is_disguising(*c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        Some(c) => Err(rule(
            "control_character",
            format!(
                "must not contain control or direction characters other than line breaks and tabs (found U+{:04X})",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A real calendar date, not after tomorrow (UTC; Peru is UTC−5, so a
/// monitor's "today" can be the server's tomorrow in the evening).
pub fn past_date(text: &str) -> Result<(), ValidationError> {
    let date =
        parse_date(text).ok_or_else(|| rule("date", "must be a date as YYYY-MM-DD".into()))?;
    let latest = Utc::now().date_naive().succ_opt().unwrap_or(NaiveDate::MAX);
    if date > latest {
        return Err(rule("future", "must not be in the future".into()));
    }
    if date.year() < 1900 {
        return Err(rule("too_old", "must be in 1900 or later".into()));
    }
    Ok(())
}

pub fn ubigeo_digits(text: &str) -> Result<(), ValidationError> {
    if matches!(text.len(), 2 | 4 | 6) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(rule(
            "ubigeo",
            "must be 2, 4 or 6 digits (region, province, district)".into(),
        ))
    }
}

pub fn web_url(text: &str) -> Result<(), ValidationError> {
    let lower = text.to_ascii_lowercase();
    let has_scheme = lower.starts_with("http://") || lower.starts_with("https://");
    if has_scheme
        && validator::ValidateUrl::validate_url(&text)
        && !text.chars().any(char::is_whitespace)
    {
        Ok(())
    } else {
        Err(rule("url", "must be an http:// or https:// URL".into()))
    }
}

/// Flattens validator's nested report into `field.path` / message pairs.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = match (prefix.is_empty(), field.as_ref()) {
            (_, "__all__") => prefix.to_string(),
            (true, f) => f.to_string(),
            (false, f) => format!("{prefix}.{f}"),
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                out.extend(list.iter().map(|e| {
                    let mut error = FieldError::coded(path.clone(), e.code.as_ref(), describe(e));
                    error.params = ["min", "max"]
                        .iter()
                        .filter_map(|p| Some((p.to_string(), e.params.get(*p)?.to_string())))
                        .collect();
                    error
                }));
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

fn describe(error: &ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |name: &str| error.params.get(name).map(|v| v.to_string());
    match error.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must have {min} to {max} characters (or items)"),
            (None, Some(max)) => format!("must have at most {max} characters (or items)"),
            (Some(min), None) => format!("must have at least {min} characters (or items)"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "is out of range".into(),
        },
        other => format!("is invalid ({other})"),
    }
}

/// A row of an imported file that was not imported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// Line in the file, from 1 (the header is line 1).
    pub line: u64,
    /// Every problem in English, joined by "; ".
    pub reason: String,
    /// The same problems one by one, each with its column (`field`, empty
    /// for the whole row) and a code the pages translate by.
    pub problems: Vec<FieldError>,
}

impl BadRow {
    pub fn new(line: u64, problems: Vec<FieldError>) -> Self {
        BadRow {
            line,
            reason: problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            problems,
        }
    }
}

/// A problem with a cell of an imported file (or the row, when `column` is
/// empty), its English message and the values its translations name.
pub fn cell_problem(
    column: &str,
    code: &str,
    message: String,
    params: &[(&str, String)],
) -> FieldError {
    let mut e = FieldError::coded(column, code, message);
    e.params = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    e
}
