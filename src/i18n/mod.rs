//! Everything people read, in Spanish (the default) and English: one
//! catalogue for the pages and the mails.
//!
//! The catalogue is one list of `key: "español", "English";` lines. The
//! macro makes it a struct with one field per key and one value per
//! language, so a key missing in either language, or a template naming a
//! key that does not exist, does not compile. Texts with `{name}` holes are
//! filled with [`fill`]; the tests check both languages have the same holes.

mod catalogue;

pub use catalogue::{Texts, ALL, EN, ES};

use chrono::{Datelike, NaiveDate};

use crate::actors::{ActorKind, Attribution, LinkRole};
use crate::events::{EventType, LocationPrecision, TimePrecision, Verification};
use crate::keys::Role;

string_enum! {
    /// The language of a page or a mail.
    pub enum Language {
        Es = "es",
        En = "en",
    }
}

impl Language {
    pub fn texts(self) -> &'static Texts {
        match self {
            Language::Es => &ES,
            Language::En => &EN,
        }
    }

    /// The other one, for the language switch.
    pub fn other(self) -> Language {
        match self {
            Language::Es => Language::En,
            Language::En => Language::Es,
        }
    }

    /// From an `Accept-Language` header: English when the first language
    /// the browser names that Vigía has is English; Spanish otherwise.
    pub fn from_accept(header: &str) -> Language {
        let mut ranked: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        for (_, tag) in ranked {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "es" => return Language::Es,
                "en" => return Language::En,
                _ => {}
            }
        }
        Language::Es
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fills the `{name}` holes of a catalogue text.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The name of an enum value in a language.
pub trait Label: Copy {
    fn label(self, t: &Texts) -> &'static str;
}

impl Label for EventType {
    fn label(self, t: &Texts) -> &'static str {
        use EventType::*;
        match self {
            Protest => t.type_protest,
            Blockade => t.type_blockade,
            Riot => t.type_riot,
            PropertyDestruction => t.type_property_destruction,
            Clash => t.type_clash,
            Attack => t.type_attack,
            Occupation => t.type_occupation,
            Eviction => t.type_eviction,
            Arrest => t.type_arrest,
            Agreement => t.type_agreement,
            EnvironmentalIncident => t.type_environmental_incident,
            Other => t.type_other,
        }
    }
}

impl Label for Verification {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            Verification::Unverified => t.verification_unverified,
            Verification::Verified => t.verification_verified,
            Verification::Disputed => t.verification_disputed,
        }
    }
}

impl Label for TimePrecision {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            TimePrecision::Day => t.precision_day,
            TimePrecision::Month => t.precision_month,
            TimePrecision::Year => t.precision_year,
        }
    }
}

impl Label for LocationPrecision {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            LocationPrecision::Exact => t.location_exact,
            LocationPrecision::Near => t.location_near,
            LocationPrecision::Approximate => t.location_approximate,
        }
    }
}

impl Label for LinkRole {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            LinkRole::Perpetrator => t.link_perpetrator,
            LinkRole::Target => t.link_target,
            LinkRole::Affected => t.link_affected,
            LinkRole::Participant => t.link_participant,
            LinkRole::Mediator => t.link_mediator,
        }
    }
}

impl Label for Attribution {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            Attribution::Alleged => t.attribution_alleged,
            Attribution::Confirmed => t.attribution_confirmed,
            Attribution::Disputed => t.attribution_disputed,
            Attribution::Denied => t.attribution_denied,
        }
    }
}

impl Label for ActorKind {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            ActorKind::Company => t.kind_company,
            ActorKind::InformalGroup => t.kind_informal_group,
            ActorKind::Community => t.kind_community,
            ActorKind::StateAgency => t.kind_state_agency,
            ActorKind::CivilSociety => t.kind_civil_society,
            ActorKind::Other => t.kind_other,
        }
    }
}

impl Label for Role {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            Role::Admin => t.role_admin,
            Role::Monitor => t.role_monitor,
            Role::Researcher => t.role_researcher,
        }
    }
}

impl Label for crate::cases::CaseStatus {
    fn label(self, t: &Texts) -> &'static str {
        use crate::cases::CaseStatus::*;
        match self {
            Activo => t.case_status_activo,
            Latente => t.case_status_latente,
            Resuelto => t.case_status_resuelto,
            Retirado => t.case_status_retirado,
            Observacion => t.case_status_observacion,
        }
    }
}

impl Label for crate::cases::Phase {
    fn label(self, t: &Texts) -> &'static str {
        use crate::cases::Phase::*;
        match self {
            FaseTemprana => t.phase_fase_temprana,
            Escalamiento => t.phase_escalamiento,
            Crisis => t.phase_crisis,
            Desescalamiento => t.phase_desescalamiento,
            Dialogo => t.phase_dialogo,
            ConflictoNoIniciado => t.phase_conflicto_no_iniciado,
        }
    }
}

impl Label for crate::cases::CaseType {
    fn label(self, t: &Texts) -> &'static str {
        use crate::cases::CaseType::*;
        match self {
            Socioambiental => t.case_type_socioambiental,
            AsuntosGobiernoLocal => t.case_type_gobierno_local,
            AsuntosGobiernoRegional => t.case_type_gobierno_regional,
            AsuntosGobiernoNacional => t.case_type_gobierno_nacional,
            DemarcacionTerritorial => t.case_type_demarcacion,
            Comunal => t.case_type_comunal,
            Laboral => t.case_type_laboral,
            Otros => t.case_type_otros,
        }
    }
}

impl Label for crate::places::store::ChangeKind {
    fn label(self, t: &Texts) -> &'static str {
        use crate::places::store::ChangeKind::*;
        match self {
            Added => t.change_added,
            Removed => t.change_removed,
            HolderChanged => t.change_holder_changed,
            Renamed => t.change_renamed,
            GeometryChanged => t.change_geometry_changed,
            DetailsChanged => t.change_details_changed,
        }
    }
}

/// The date as precisely as it is known: "mayo de 2022" for a month,
/// "1 de mayo de 2022" for a day, "2022" for a year.
pub fn date_text(date: NaiveDate, precision: TimePrecision, t: &Texts) -> String {
    let month = t.months.get(date.month0() as usize).copied().unwrap_or("");
    let (day, year) = (date.day().to_string(), date.year().to_string());
    let pattern = match precision {
        TimePrecision::Year => return year,
        TimePrecision::Month => t.date_month,
        TimePrecision::Day => t.date_day,
    };
    fill(pattern, &[("day", &day), ("month", month), ("year", &year)])
}

/// A field's rule, said in the page's language (validator's codes and
/// Vigía's own); an unknown code falls back to the English message.
pub fn field_message(error: &crate::error::FieldError, t: &Texts) -> String {
    let param = |name: &str| {
        error
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let text = match error.code.as_str() {
        "required" => t.err_required,
        "blank" => t.err_blank,
        "length" => match (param("min"), param("max")) {
            (Some(_), Some(_)) => t.err_length_between,
            (None, Some(_)) => t.err_length_max,
            (Some(_), None) => t.err_length_min,
            _ => t.err_invalid,
        },
        "range" => t.err_range,
        "control_character" => t.err_control_character,
        "date" => t.err_date,
        "future" => t.err_future,
        "too_old" => t.err_too_old,
        "url" => t.err_url,
        "ubigeo" => t.err_ubigeo,
        "email" => t.err_email,
        "display_name" => t.err_display_name,
        "common_password" => t.err_common_password,
        "password_mismatch" => t.err_password_mismatch,
        "number" => t.err_number,
        "columns" => t.err_columns,
        "report_range" => t.err_report_range,
        "month" => t.err_month,
        "report_month" => t.err_report_month,
        "unknown_value" => t.err_unknown_value,
        "yes_no" => t.err_yes_no,
        "duplicate" => t.err_duplicate,
        "duplicate_id" => t.err_duplicate_id,
        "attribution" => t.err_attribution,
        "unknown" => t.err_unknown,
        "date_any" => t.err_date_any,
        "utf8" => t.err_utf8,
        "unreadable" => t.err_unreadable,
        // A refused file: its reason is said in the page's language
        // already (`web::attachments::reason`).
        "file" => return error.message.clone(),
        _ => return format!("{} ({})", t.err_invalid, error.message),
    };
    let mut values: Vec<(&str, &str)> = error
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    values.extend([
        ("min", param("min").unwrap_or("")),
        ("max", param("max").unwrap_or("")),
    ]);
    fill(text, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holes(text: &str) -> Vec<String> {
        let mut found: Vec<String> = text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn every_text_exists_in_both_languages_with_the_same_holes() {
        assert!(ALL.len() > 100);
        for (key, es, en) in ALL {
            assert!(!es.trim().is_empty(), "{key}: empty in Spanish");
            assert!(!en.trim().is_empty(), "{key}: empty in English");
            assert_eq!(holes(es), holes(en), "{key}: different holes");
        }
        assert_eq!(ES.months.len(), 12);
        assert_eq!(EN.months.len(), 12);
    }

    #[test]
    fn dates_keep_their_precision() {
        let d = NaiveDate::from_ymd_opt(2022, 5, 1).unwrap();
        assert_eq!(date_text(d, TimePrecision::Month, &ES), "mayo de 2022");
        assert_eq!(date_text(d, TimePrecision::Month, &EN), "May 2022");
        assert_eq!(date_text(d, TimePrecision::Day, &ES), "1 de mayo de 2022");
        assert_eq!(date_text(d, TimePrecision::Day, &EN), "1 May 2022");
        assert_eq!(date_text(d, TimePrecision::Year, &EN), "2022");
    }

    #[test]
    fn browsers_choose_english_only_when_they_prefer_it() {
        assert_eq!(Language::from_accept("en-GB,en;q=0.9"), Language::En);
        assert_eq!(
            Language::from_accept("es-PE,es;q=0.9,en;q=0.8"),
            Language::Es
        );
        assert_eq!(Language::from_accept("fr-FR,en;q=0.5"), Language::En);
        assert_eq!(Language::from_accept("de"), Language::Es);
        assert_eq!(Language::from_accept("es;q=0.1,en;q=0.9"), Language::En);
        assert_eq!(Language::from_accept(""), Language::Es);
    }
}
