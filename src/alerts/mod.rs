//! Watches and e-mail alerts: a researcher watches a concession, a holder,
//! an area or an administrative area, confirms by e-mail, and hears of every
//! incident that falls inside.
//!
//! The path of an alert: an incident change writes one outbox row per
//! matching watch in its own transaction (`matching`); a delivery worker
//! claims due rows with a lease, sends them through SMTP and marks them
//! (`delivery`, `mail`). Confirmation mails go through the same outbox, so
//! nothing the API acknowledged waits on SMTP being up.

pub mod areas;
pub mod delivery;
pub mod feed;
pub mod mail;
pub mod matching;
pub mod outbox;
pub mod store;
pub mod tokens;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, FieldError};
use crate::events::{EventType, Verification};
use crate::places::geometry::{Outline, USER_LIMITS};

string_enum! {
    /// `immediate`: one mail per incident, within a minute. `daily`: one
    /// digest a day at `alerts.digest_hour`.
    pub enum Frequency {
        Immediate = "immediate",
        Daily = "daily",
    }
}

/// The language of the mails (the watch's).
pub use crate::i18n::Language;

string_enum! {
    /// `unverified` takes every incident; `verified` only verified ones.
    pub enum MinVerification {
        Unverified = "unverified",
        Verified = "verified",
    }
}

string_enum! {
    /// `pending` until the e-mail's owner opens the confirmation link;
    /// `active` while it sends alerts; `unsubscribed` for good by the mail's
    /// link; `suspended` when its owner's API key was revoked (the watch's
    /// `status_reason` says why): it sends nothing, and a new key does not
    /// restart it.
    pub enum WatchStatus {
        Pending = "pending",
        Active = "active",
        Unsubscribed = "unsubscribed",
        Suspended = "suspended",
    }
}

string_enum! {
    pub enum AlertStatus {
        Pending = "pending",
        Sent = "sent",
        /// Given up after `alerts.retry_for_hours` of retries, or refused
        /// for good by the mail server.
        Failed = "failed",
        /// Not sent because the watch was unsubscribed, deleted or suspended,
        /// or the incident deleted, before its turn came (`last_error` says
        /// which).
        Cancelled = "cancelled",
    }
}

string_enum! {
    /// What kind of thing a watch looks at: the `type` of its target.
    pub enum TargetType {
        Concession = "concession",
        Holder = "holder",
        Area = "area",
        AdminArea = "admin_area",
    }
}

string_enum! {
    pub enum MailKind {
        Alert = "alert",
        Confirmation = "confirmation",
    }
}

impl MinVerification {
    pub fn admits(self, verification: Verification) -> bool {
        match self {
            MinVerification::Unverified => true,
            MinVerification::Verified => verification == Verification::Verified,
        }
    }
}

/// What a watch looks at, as a client writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetInput {
    /// One concession, by INGEMMET code or by id.
    Concession {
        #[schema(example = "010461925")]
        code: Option<String>,
        concession_id: Option<String>,
    },
    /// Every concession of a titular, including ones it acquires later.
    Holder { actor_id: String },
    /// A GeoJSON Polygon or MultiPolygon in WGS 84 longitude/latitude,
    /// not self-intersecting. At most 10,000 positions, 500 rings and 100 polygons (422 beyond).
    Area {
        #[schema(value_type = Object)]
        geometry: serde_json::Value,
    },
    /// A region (2 digits), province (4) or district (6) by ubigeo.
    AdminArea {
        #[schema(example = "0304")]
        ubigeo: String,
    },
}

/// What a watch looks at, as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    Concession {
        concession_id: Uuid,
        code: String,
    },
    Holder {
        actor_id: Uuid,
    },
    Area {
        #[schema(value_type = Object)]
        geometry: serde_json::Value,
    },
    AdminArea {
        ubigeo: String,
    },
}

impl Target {
    pub fn type_name(&self) -> &'static str {
        self.target_type().as_str()
    }

    pub fn target_type(&self) -> TargetType {
        match self {
            Target::Concession { .. } => TargetType::Concession,
            Target::Holder { .. } => TargetType::Holder,
            Target::Area { .. } => TargetType::Area,
            Target::AdminArea { .. } => TargetType::AdminArea,
        }
    }
}

/// A new watch, or a whole watch after a merge patch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchInput {
    #[schema(required = true, value_type = String, example = "investigadora@example.org")]
    pub email: Option<String>,
    #[schema(required = true, value_type = TargetInput)]
    pub target: Option<TargetInput>,
    /// Only these incident types; absent or empty means every type.
    pub event_types: Option<Vec<EventType>>,
    /// Default `unverified` (every incident).
    pub min_verification: Option<MinVerification>,
    #[schema(required = true, value_type = Frequency)]
    pub frequency: Option<Frequency>,
    #[schema(required = true, value_type = Language)]
    pub language: Option<Language>,
}

/// The shape of a PATCH body (JSON Merge Patch): any subset of the fields;
/// a `target` replaces the whole target; `email`, `target`, `frequency`
/// and `language` cannot be removed. Only the shape is checked against
/// this type; the rules are checked on the merged result as [`WatchInput`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WatchPatch {
    #[schema(required = false, value_type = String)]
    email: Option<String>,
    #[schema(required = false, value_type = TargetInput)]
    target: Option<TargetInput>,
    /// `null` or `[]`: every type.
    event_types: Option<Vec<EventType>>,
    /// `null`: back to `unverified`.
    min_verification: Option<MinVerification>,
    #[schema(required = false, value_type = Frequency)]
    frequency: Option<Frequency>,
    #[schema(required = false, value_type = Language)]
    language: Option<Language>,
}

/// A target checked for shape; concessions and actors are looked up in the
/// store, inside the transaction that writes the watch.
#[derive(Debug, Clone)]
pub enum TargetDraft {
    ConcessionCode(String),
    ConcessionId(String),
    Holder(String),
    Area(Outline),
    AdminArea(String),
}

impl TargetDraft {
    pub fn target_type(&self) -> TargetType {
        match self {
            TargetDraft::ConcessionCode(_) | TargetDraft::ConcessionId(_) => TargetType::Concession,
            TargetDraft::Holder(_) => TargetType::Holder,
            TargetDraft::Area(_) => TargetType::Area,
            TargetDraft::AdminArea(_) => TargetType::AdminArea,
        }
    }
}

/// A watch's fields, checked.
#[derive(Debug, Clone)]
pub struct WatchDraft {
    pub email: String,
    pub target: TargetDraft,
    pub event_types: Vec<EventType>,
    pub min_verification: MinVerification,
    pub frequency: Frequency,
    pub language: Language,
}

/// The longest address SMTP carries (RFC 5321: 64 + 1 + 255).
const MAX_EMAIL: usize = 320;

pub fn check_email(email: &str) -> Result<(), String> {
    use validator::ValidateEmail;
    if email.len() > MAX_EMAIL
        || !email.validate_email()
        || email.parse::<lettre::Address>().is_err()
    {
        return Err("must be an e-mail address like name@example.org".into());
    }
    Ok(())
}

fn check_area(geometry: &serde_json::Value) -> Result<Outline, String> {
    use geo::Area;
    let outline = Outline::from_geojson(geometry, &USER_LIMITS)?;
    // A drawn area must enclose something: a self-crossing or flat outline
    // would match nothing the user meant.
    if !outline.valid || outline.shape.unsigned_area() <= 0.0 {
        return Err("is a degenerate polygon (self-intersecting or without area)".into());
    }
    Ok(outline)
}

/// Checks a target's shape; what it names is looked up in the store.
fn check_target(target: Option<TargetInput>, errors: &mut Vec<FieldError>) -> Option<TargetDraft> {
    match target {
        None => None,
        Some(TargetInput::Concession {
            code: Some(code),
            concession_id: None,
        }) if !code.trim().is_empty() && code.len() <= 50 => {
            Some(TargetDraft::ConcessionCode(code.trim().to_string()))
        }
        Some(TargetInput::Concession {
            code: None,
            concession_id: Some(id),
        }) => Some(TargetDraft::ConcessionId(id)),
        Some(TargetInput::Concession { .. }) => {
            errors.push(FieldError::new(
                "target",
                "a concession target needs exactly one of code (1–50 characters) or concession_id",
            ));
            None
        }
        Some(TargetInput::Holder { actor_id }) => Some(TargetDraft::Holder(actor_id)),
        Some(TargetInput::Area { geometry }) => match check_area(&geometry) {
            Ok(outline) => Some(TargetDraft::Area(outline)),
            Err(message) => {
                errors.push(FieldError::new("target.geometry", message));
                None
            }
        },
        Some(TargetInput::AdminArea { ubigeo }) => {
            if matches!(ubigeo.len(), 2 | 4 | 6) && ubigeo.bytes().all(|b| b.is_ascii_digit()) {
                Some(TargetDraft::AdminArea(ubigeo))
            } else {
                errors.push(FieldError::new(
                    "target.ubigeo",
                    "must be 2 (region), 4 (province) or 6 (district) digits",
                ));
                None
            }
        }
    }
}

/// The target of a merge patch, checked before the edit's transaction so
/// that a drawn area is never checked under the write lock: `None` when the
/// patch keeps the target or removes it (which the merged watch reports).
pub fn check_patch_target(patch: &serde_json::Value) -> Result<Option<TargetDraft>, AppError> {
    match patch.get("target") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(target) => {
            let target =
                crate::http::from_value::<TargetInput>(target.clone()).map_err(|e| match e {
                    AppError::Validation(errors) => AppError::Validation(
                        errors
                            .into_iter()
                            .map(|mut e| {
                                e.field = format!("target.{}", e.field)
                                    .trim_end_matches('.')
                                    .to_string();
                                e
                            })
                            .collect(),
                    ),
                    other => other,
                })?;
            let mut errors = Vec::new();
            match check_target(Some(target), &mut errors) {
                Some(draft) if errors.is_empty() => Ok(Some(draft)),
                _ => Err(AppError::Validation(errors)),
            }
        }
    }
}

impl WatchInput {
    /// Checks every field and reports all problems at once.
    pub fn into_draft(self) -> Result<WatchDraft, AppError> {
        self.into_draft_with(None)
    }

    /// As `into_draft`, with the target already checked when `checked` is
    /// given (`self.target` is then ignored): an edit checks a new area
    /// before its transaction, and keeps an unchanged one as it is.
    fn into_draft_with(self, checked: Option<TargetDraft>) -> Result<WatchDraft, AppError> {
        let mut errors = Vec::new();
        let mut required = |field: &str| {
            errors.push(FieldError::new(field, "is required"));
        };
        if self.email.is_none() {
            required("email");
        }
        if self.target.is_none() && checked.is_none() {
            required("target");
        }
        if self.frequency.is_none() {
            required("frequency");
        }
        if self.language.is_none() {
            required("language");
        }
        let email = self.email.map(|e| e.trim().to_string());
        if let Some(email) = &email {
            if let Err(message) = check_email(email) {
                errors.push(FieldError::new("email", message));
            }
        }
        let target = match checked {
            Some(target) => Some(target),
            None => check_target(self.target, &mut errors),
        };
        let mut event_types = self.event_types.unwrap_or_default();
        event_types.sort_by_key(|t| t.as_str());
        event_types.dedup();
        match (email, target, self.frequency, self.language) {
            (Some(email), Some(target), Some(frequency), Some(language)) if errors.is_empty() => {
                Ok(WatchDraft {
                    email,
                    target,
                    event_types,
                    min_verification: self.min_verification.unwrap_or(MinVerification::Unverified),
                    frequency,
                    language,
                })
            }
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// A watch as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Watch {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub email: String,
    pub target: Target,
    pub event_types: Vec<EventType>,
    pub min_verification: MinVerification,
    pub frequency: Frequency,
    pub language: Language,
    pub status: WatchStatus,
    /// Why the watch is `suspended` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// When the confirmation link was opened; alerts cover incidents logged
    /// from then on.
    pub activated_at: Option<DateTime<Utc>>,
}

impl Watch {
    /// The stored target as a checked one, without checking it again.
    fn as_draft_target(&self) -> Option<TargetDraft> {
        Some(match &self.target {
            Target::Concession { concession_id, .. } => {
                TargetDraft::ConcessionId(concession_id.to_string())
            }
            Target::Holder { actor_id } => TargetDraft::Holder(actor_id.to_string()),
            Target::Area { geometry } => {
                let shape = crate::places::geometry::multipolygon_from_geojson(geometry).ok()?;
                TargetDraft::Area(Outline { shape, valid: true })
            }
            Target::AdminArea { ubigeo } => TargetDraft::AdminArea(ubigeo.clone()),
        })
    }

    /// The watch as a client would write it, for merge patches.
    fn as_input(&self) -> serde_json::Value {
        let target = match &self.target {
            Target::Concession { concession_id, .. } => {
                serde_json::json!({"type": TargetType::Concession, "concession_id": concession_id})
            }
            Target::Holder { actor_id } => {
                serde_json::json!({"type": TargetType::Holder, "actor_id": actor_id})
            }
            Target::Area { geometry } => {
                serde_json::json!({"type": TargetType::Area, "geometry": geometry})
            }
            Target::AdminArea { ubigeo } => {
                serde_json::json!({"type": TargetType::AdminArea, "ubigeo": ubigeo})
            }
        };
        serde_json::json!({
            "email": self.email,
            "target": target,
            "event_types": self.event_types,
            "min_verification": self.min_verification,
            "frequency": self.frequency,
            "language": self.language,
        })
    }
}

/// Applies a merge patch to a watch. A `target` in the patch replaces the
/// whole target: merging a concession into an area would make no sense.
/// `checked` is the patch's target as `check_patch_target` gave it.
pub fn apply_patch(
    current: &Watch,
    patch: serde_json::Value,
    checked: Option<TargetDraft>,
) -> Result<WatchDraft, AppError> {
    let mut document = current.as_input();
    let mut patch = patch;
    let mut target = match checked {
        Some(target) => Some(target),
        // Unchanged: taken as it is stored, checked when it was written.
        None => current.as_draft_target(),
    };
    if let (Some(doc), Some(new_target)) = (
        document.as_object_mut(),
        patch.as_object_mut().and_then(|p| p.remove("target")),
    ) {
        doc.remove("target");
        if new_target.is_null() {
            target = None;
        }
    }
    crate::http::merge_patch(&mut document, patch);
    crate::http::from_value::<WatchInput>(document)?.into_draft_with(target)
}

/// Why a recipient gets an alert, kept with the alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The incident is inside the watched concession.
    Concession {
        code: String,
        name: String,
        holder: Option<String>,
    },
    /// The incident is inside a concession of the watched titular.
    Holder {
        holder: String,
        code: String,
        name: String,
    },
    /// The incident is inside the drawn area.
    Area,
    /// The incident is in the watched region, province or district.
    AdminArea {
        ubigeo: String,
        name: Option<String>,
    },
    /// A confirmation mail, not an alert.
    Confirmation,
}

/// One row of the delivery log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertRecord {
    pub id: Uuid,
    pub kind: MailKind,
    pub watch_id: Uuid,
    pub event_id: Option<Uuid>,
    pub recipient: String,
    pub frequency: Frequency,
    pub reason: Reason,
    pub status: AlertStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl crate::config::AlertSettings {
    pub fn policy(&self) -> store::Policy {
        let seconds =
            |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        store::Policy {
            confirm_ttl: seconds(self.confirm_ttl_hours.saturating_mul(3600)),
            resend_interval: seconds(self.resend_interval_seconds),
            per_address_per_hour: i64::from(self.confirmations_per_address_per_hour),
            per_key_per_hour: i64::from(self.confirmations_per_key_per_hour),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("ana@example.org").is_ok());
        assert!(check_email("ana.quispe+vigia@uni.edu.pe").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana example@x.org",
            "a@b@c",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_email(&format!("{}@example.org", "a".repeat(400))).is_err());
    }

    #[test]
    fn degenerate_areas_are_refused() {
        let flat =
            serde_json::json!({"type": "Polygon", "coordinates": [[[0,0],[1,1],[2,2],[0,0]]]});
        assert!(check_area(&flat).is_err());
        let bowtie = serde_json::json!({"type": "Polygon", "coordinates": [[[0,0],[2,2],[2,0],[0,2],[0,0]]]});
        assert!(check_area(&bowtie).is_err());
        let square = serde_json::json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]});
        assert!(check_area(&square).is_ok());
    }
}
