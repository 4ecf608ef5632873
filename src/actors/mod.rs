//! Actors: the companies, informal mining groups, communities and state
//! agencies that incidents involve, and the links that say who did what.
//!
//! Names are matched as users think of them: case, accents, punctuation and
//! legal-form suffixes do not count (`SOUTHERN PERU COPPER CORPORATION
//! SUCURSAL DEL PERU` and `Southern Perú Copper Corporation` share one key),
//! and aliases (`SPCC`) are searched with the name.

pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::error::AppError;
use crate::rules::{not_blank, one_line, rule, text_block};
use crate::text;

string_enum! {
    pub enum ActorKind {
        Company = "company",
        InformalGroup = "informal_group",
        Community = "community",
        StateAgency = "state_agency",
        CivilSociety = "civil_society",
        Other = "other",
    }
}

string_enum! {
    /// What the actor was in the incident.
    pub enum LinkRole {
        Perpetrator = "perpetrator",
        Target = "target",
        Affected = "affected",
        Participant = "participant",
        Mediator = "mediator",
    }
}

string_enum! {
    /// How sure the sources are: the press says "allegedly", so does Vigía.
    pub enum Attribution {
        Alleged = "alleged",
        Confirmed = "confirmed",
        Disputed = "disputed",
        Denied = "denied",
    }
}

/// The fields a client writes, valid.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ActorFields {
    pub name: String,
    pub kind: ActorKind,
    pub aliases: Vec<String>,
    /// Peru's 11-digit tax id (RUC), check digit verified.
    pub ruc: Option<String>,
    /// Code in the REINFO formalisation registry, for informal miners.
    pub reinfo_code: Option<String>,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Actor {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(flatten)]
    pub fields: ActorFields,
}

/// A new actor, or the whole actor after a merge patch.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActorInput {
    /// 1–300 characters, not blank.
    #[validate(
        required(message = "is required"),
        length(min = 1, max = 300),
        custom(function = "not_blank"),
        custom(function = "one_line")
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 300, example = "Southern Perú Copper Corporation")]
    pub name: Option<String>,
    #[validate(required(message = "is required"), custom(function = "known_kind"))]
    #[schema(required = true, value_type = ActorKind)]
    pub kind: Option<String>,
    /// Other names, each 1–300 characters; up to 50.
    #[validate(length(max = 50), custom(function = "valid_aliases"))]
    #[schema(example = json!(["SPCC", "Southern Copper"]))]
    pub aliases: Option<Vec<String>>,
    /// 11 digits with a valid check digit.
    #[validate(custom(function = "valid_ruc"))]
    #[schema(pattern = "^(10|15|16|17|20)[0-9]{9}$", example = "20100147514")]
    pub ruc: Option<String>,
    #[validate(length(min = 1, max = 50), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 50)]
    pub reinfo_code: Option<String>,
    #[validate(length(max = 20000), custom(function = "text_block"))]
    #[schema(max_length = 20000)]
    pub notes: Option<String>,
}

fn known_kind(v: &str) -> Result<(), ValidationError> {
    ActorKind::parse(v)
        .map(|_| ())
        .ok_or_else(|| rule("unknown", format!("must be one of: {}", ActorKind::names())))
}

fn valid_aliases(aliases: &[String]) -> Result<(), ValidationError> {
    if aliases
        .iter()
        .any(|a| a.trim().is_empty() || a.chars().count() > 300)
    {
        return Err(rule(
            "alias",
            "each alias must have 1 to 300 characters, not blank".into(),
        ));
    }
    aliases.iter().try_for_each(|a| one_line(a))
}

/// Checks a RUC: 11 digits, a known prefix (10 person, 15/16/17 other
/// natural-person cases, 20 company) and SUNAT's modulo-11 check digit.
pub fn valid_ruc(ruc: &str) -> Result<(), ValidationError> {
    let digits: Vec<u32> = ruc.chars().filter_map(|c| c.to_digit(10)).collect();
    if ruc.len() != 11 || digits.len() != 11 {
        return Err(rule("ruc", "must be 11 digits".into()));
    }
    if !matches!(&ruc[..2], "10" | "15" | "16" | "17" | "20") {
        return Err(rule("ruc", "must start with 10, 15, 16, 17 or 20".into()));
    }
    const WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 1,
        n => n,
    };
    if digits[10] != check {
        return Err(rule("ruc", "has a wrong check digit".into()));
    }
    Ok(())
}

impl ActorInput {
    pub fn into_fields(self) -> Result<ActorFields, AppError> {
        crate::rules::check(&self)?;
        let invalid =
            |what: &str| AppError::internal(format!("{what} passed validation but did not parse"));
        Ok(ActorFields {
            name: self.name.ok_or_else(|| invalid("name"))?,
            kind: self
                .kind
                .as_deref()
                .and_then(ActorKind::parse)
                .ok_or_else(|| invalid("kind"))?,
            aliases: self.aliases.unwrap_or_default(),
            ruc: self.ruc,
            reinfo_code: self.reinfo_code,
            notes: self.notes.unwrap_or_default(),
        })
    }
}

/// Applies a merge patch to an actor and checks the result.
pub fn apply_patch(
    current: &ActorFields,
    patch: serde_json::Value,
) -> Result<ActorFields, AppError> {
    let mut document = serde_json::to_value(current)?;
    crate::http::merge_patch(&mut document, patch);
    crate::http::from_value::<ActorInput>(document)?.into_fields()
}

/// Legal-form words that do not tell companies apart, longest first, as
/// they read after folding (`S.A.C.` is `s a c`).
const LEGAL_SUFFIXES: &[&str] = &[
    "sociedad anonima cerrada",
    "sociedad anonima abierta",
    "sociedad anonima",
    "sociedad comercial de responsabilidad limitada",
    "sucursal del peru",
    "sucursal peru",
    "sucursal",
    "s a c",
    "s a a",
    "s r l",
    "e i r l",
    "s a",
    "sac",
    "saa",
    "srl",
    "eirl",
    "sa",
    "corporation",
    "corporacion",
    "corp",
    "incorporated",
    "inc",
    "limited",
    "ltd",
    "ltda",
    "llc",
    "plc",
    "company",
    "co",
];

/// The key two names of one company share: folded, legal suffixes removed
/// from the end (repeatedly: `… corporation sucursal del peru`).
pub fn name_key(name: &str) -> String {
    let mut key = text::fold(name);
    loop {
        let before = key.len();
        for suffix in LEGAL_SUFFIXES {
            if key == *suffix {
                continue;
            }
            if let Some(rest) = key.strip_suffix(suffix) {
                if rest.ends_with(' ') {
                    key = rest.trim_end().to_string();
                    break;
                }
            }
        }
        if key.len() == before {
            return key;
        }
    }
}

/// A name and the acronym in parentheses at its end, as report tables write
/// companies: `Southern Perú Copper Corporation (SPCC)` is the name
/// `Southern Perú Copper Corporation` with the alias `SPCC`. An acronym has
/// 2–15 characters, no lower-case letter and at least two capitals; other
/// parentheses (`Minera (en liquidación)`) stay part of the name.
pub fn split_acronym(name: &str) -> (String, Option<String>) {
    let trimmed = name.trim();
    let Some(open) = trimmed.strip_suffix(')').and_then(|t| t.rfind('(')) else {
        return (trimmed.to_string(), None);
    };
    let acronym = trimmed[open + 1..trimmed.len() - 1].trim();
    let base = trimmed[..open].trim();
    let capitals = acronym.chars().filter(char::is_ascii_uppercase).count();
    let is_acronym = (2..=15).contains(&acronym.chars().count())
        && capitals >= 2
        && acronym
            .chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || matches!(c, '&' | '.' | '-'));
    if is_acronym && !base.is_empty() {
        (base.to_string(), Some(acronym.to_string()))
    } else {
        (trimmed.to_string(), None)
    }
}

/// Whether a holder's name reads as a legal entity rather than a person.
pub fn looks_like_company(name: &str) -> bool {
    let folded = text::fold(name);
    name_key(name) != folded
        || [
            "minera",
            "mining",
            "empresa",
            "compania",
            "cooperativa",
            "consorcio",
            "corporacion",
        ]
        .iter()
        .any(|w| folded.split(' ').any(|t| t == *w))
}

/// What `q` searches: name and aliases, folded, with and without suffixes.
fn search_text(fields: &ActorFields) -> String {
    let mut parts = vec![text::fold(&fields.name), name_key(&fields.name)];
    for alias in &fields.aliases {
        parts.push(text::fold(alias));
    }
    parts.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::split_acronym;

    #[test]
    fn trailing_acronyms_are_aliases() {
        assert_eq!(
            split_acronym("Southern Perú Copper Corporation (SPCC)"),
            (
                "Southern Perú Copper Corporation".into(),
                Some("SPCC".into())
            )
        );
        assert_eq!(
            split_acronym(" Minera Las Bambas S.A. (MMG) "),
            ("Minera Las Bambas S.A.".into(), Some("MMG".into()))
        );
        for kept in [
            "Minera (en liquidación)",
            "Compañía (A)",
            "(SPCC)",
            "Antamina",
        ] {
            assert_eq!(split_acronym(kept), (kept.to_string(), None), "{kept}");
        }
    }

    use super::*;

    #[test]
    fn one_company_many_spellings() {
        let key = name_key("Southern Perú Copper Corporation");
        assert_eq!(key, "southern peru copper");
        assert_eq!(
            name_key("SOUTHERN PERU COPPER CORPORATION SUCURSAL DEL PERU"),
            key
        );
        assert_eq!(name_key("Southern Peru Copper Corp."), key);
        assert_eq!(name_key("Minera Las Bambas S.A."), "minera las bambas");
        assert_eq!(name_key("MINERA LAS BAMBAS S.A.C."), "minera las bambas");
        assert_eq!(name_key("SA"), "sa");
    }

    #[test]
    fn ruc_check_digit() {
        // Southern Peru Copper Corporation, Sucursal del Perú (public RUC).
        assert!(valid_ruc("20100147514").is_ok());
        assert!(valid_ruc("20100147515").is_err());
        assert!(valid_ruc("2010014751").is_err());
        assert!(valid_ruc("30100147514").is_err());
        assert!(valid_ruc("2010014751a").is_err());
    }

    #[test]
    fn companies_and_people() {
        assert!(looks_like_company("COMPAÑIA MINERA ARES S.A.C."));
        assert!(looks_like_company("Southern Peru Copper Corporation"));
        assert!(!looks_like_company("GINER ROY CASIO CONSOLACION Y OTROS"));
    }
}

/// The shape of an actor PATCH body (JSON Merge Patch): any subset of the
/// fields, `null` removing an optional one (`name` and `kind` cannot be
/// removed). Only the shape is checked against this type; the rules are
/// checked on the merged result as [`ActorInput`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ActorPatch {
    /// 1–300 characters, not blank.
    #[schema(required = false, value_type = String, min_length = 1, max_length = 300)]
    name: Option<String>,
    #[schema(required = false, value_type = ActorKind)]
    kind: Option<ActorKind>,
    /// Other names, each 1–300 characters; up to 50. Replaces the whole list.
    #[schema(max_items = 50)]
    aliases: Option<Vec<String>>,
    /// 11 digits with a valid check digit.
    #[schema(pattern = "^(10|15|16|17|20)[0-9]{9}$")]
    ruc: Option<String>,
    #[schema(min_length = 1, max_length = 50)]
    reinfo_code: Option<String>,
    #[schema(max_length = 20000)]
    notes: Option<String>,
}
