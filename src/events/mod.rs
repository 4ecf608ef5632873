//! Incidents ("events"): what happened, when, where, who says so.
//!
//! Requests arrive as [`EventInput`], a loose shape in which every rule is
//! checked at once so that a 422 lists all bad fields; a valid input becomes
//! [`EventFields`], the typed form the store writes. A PATCH is a JSON Merge
//! Patch (RFC 7396) applied to the current fields and then checked by the same
//! rules as a create, so the two can never disagree.

pub mod export;
pub mod import;
pub mod public;
pub mod stats;
pub mod store;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::error::{AppError, FieldError};
use crate::rules::{
    not_blank, one_line, parse_date, past_date, rule, text_block, ubigeo_digits, web_url,
};

string_enum! {
    /// What kind of incident it was.
    pub enum EventType {
        Protest = "protest",
        Blockade = "blockade",
        Riot = "riot",
        /// Arson, sabotage, a destroyed camp or equipment.
        PropertyDestruction = "property_destruction",
        Clash = "clash",
        Attack = "attack",
        /// Entry into or occupation of a concession or site.
        Occupation = "occupation",
        /// Removal by police or the state, interdiction.
        Eviction = "eviction",
        Arrest = "arrest",
        Agreement = "agreement",
        EnvironmentalIncident = "environmental_incident",
        Other = "other",
    }
}

string_enum! {
    /// How precise `occurred_on` is: May 2022 is `2022-05-01` with `month`.
    pub enum TimePrecision {
        Day = "day",
        Month = "month",
        Year = "year",
    }
}

string_enum! {
    /// How precise the point is.
    pub enum LocationPrecision {
        Exact = "exact",
        Near = "near",
        Approximate = "approximate",
    }
}

string_enum! {
    pub enum Verification {
        Unverified = "unverified",
        Verified = "verified",
        Disputed = "disputed",
    }
}

string_enum! {
    /// Who may read an incident: `internal`, signed-in people only (the
    /// default); `published`, also anonymous visitors of the public map,
    /// generalised (see `events::public`). Set by admins only.
    pub enum Publication {
        Internal = "internal",
        Published = "published",
    }
}

string_enum! {
    /// Who filled `admin`: the client, or Vigía from loaded district boundaries.
    pub enum AdminSource {
        Client = "client",
        Boundaries = "boundaries",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    #[schema(example = -14.2190728)]
    pub lat: f64,
    #[schema(example = -73.0884214)]
    pub lon: f64,
    pub precision: LocationPrecision,
    /// A place name as the sources give it.
    #[schema(example = "Campamento Los Chancas, Tapairihua")]
    pub place: Option<String>,
}

/// Peru's administrative place (INEI ubigeo and names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Admin {
    /// 2 (region), 4 (province) or 6 (district) digits.
    #[schema(example = "030410")]
    pub ubigeo: Option<String>,
    #[schema(example = "APURIMAC")]
    pub region: Option<String>,
    #[schema(example = "AYMARAES")]
    pub province: Option<String>,
    #[schema(example = "POCOHUANCA")]
    pub district: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Source {
    #[schema(example = "Instituto de Ingenieros de Minas del Perú")]
    pub publisher: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_on: Option<NaiveDate>,
    /// A community member who spoke to a monitor, whose name must not
    /// travel: only monitors and admins read such a source; researchers
    /// and the public map get the list without it. Old rows read as false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confidential: bool,
}

/// The fields a client writes, valid.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EventFields {
    pub title: String,
    pub description: String,
    pub event_type: EventType,
    pub sub_event_type: Option<String>,
    pub occurred_on: NaiveDate,
    pub time_precision: TimePrecision,
    pub location: Location,
    pub admin: Option<Admin>,
    pub fatalities: i32,
    pub injuries: i32,
    pub sources: Vec<Source>,
    pub verification: Verification,
    /// Why it is verified or disputed, in the words of who reviewed it.
    pub verification_note: Option<String>,
}

/// An incident as Vigía returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: Uuid,
    /// 1 on create, +1 on every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Name of the API key that logged it; researchers read a stable
    /// pseudonym (`persona-3fa9c2d1`) instead.
    pub created_by: String,
    #[serde(flatten)]
    pub fields: EventFields,
    /// `internal` or `published` (on the public map); set through
    /// `POST /api/v1/events/{id}/publication`, never by an edit.
    pub publication: Publication,
    /// When it was last published; kept when it is withdrawn.
    pub published_at: Option<DateTime<Utc>>,
    pub admin_source: Option<AdminSource>,
    /// Who was involved, and how sure the sources are.
    pub actors: Vec<crate::actors::store::EventActor>,
    /// The mining concessions the incident's point falls in.
    pub concessions: Vec<crate::places::ConcessionRef>,
    /// The Defensoría cases the incident is linked to.
    pub cases: Vec<crate::cases::CaseRef>,
    /// Photos, videos and documents attached to it (live ones).
    pub attachments: Vec<crate::attachments::Attachment>,
    /// Only in the answer to a create or an edit, and only when there is
    /// something to check (e.g. `outside_boundaries`: the point falls in no
    /// loaded district, often a sign error in longitude). The incident is
    /// stored all the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::rules::Warning>,
}

impl Event {
    /// Leaves out the confidential sources: what a reader below monitor
    /// reads (researchers' JSON is also cleaned by `Pseudonyms::disclose`).
    pub fn without_confidential_sources(mut self) -> Self {
        self.fields.sources.retain(|s| !s.confidential);
        self
    }

    /// Whether anonymous visitors may read it (live and published).
    pub fn is_public(&self) -> bool {
        self.publication == Publication::Published
    }

    /// Adds the warnings a placement gives, for the answer to the writer.
    pub fn warn_about(&mut self, outside_boundaries: bool) {
        if outside_boundaries {
            let Location { lat, lon, .. } = self.fields.location;
            self.warnings.push(crate::rules::Warning {
                code: "outside_boundaries".into(),
                field: "location".into(),
                message: format!(
                    "the point (lat {lat}, lon {lon}) falls in no district of the loaded boundaries; \
                     check the signs (Peru lies at negative latitudes and longitudes)"
                ),
            });
        }
    }
}

/// A new incident, or the whole incident after a merge patch. Every rule is
/// checked at once; see the field descriptions for the rules.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// 1–300 characters, not blank.
    #[validate(
        required(message = "is required"),
        length(min = 1, max = 300),
        custom(function = "not_blank"),
        custom(function = "one_line")
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 300, example = "Queman campamento del proyecto Los Chancas")]
    pub title: Option<String>,
    /// Up to 20,000 characters.
    #[validate(length(max = 20000), custom(function = "text_block"))]
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    #[validate(
        required(message = "is required"),
        custom(function = "known_event_type")
    )]
    #[schema(required = true, value_type = EventType)]
    pub event_type: Option<String>,
    /// Free text, up to 100 characters (e.g. `arson`).
    #[validate(length(max = 100), custom(function = "one_line"))]
    #[schema(max_length = 100)]
    pub sub_event_type: Option<String>,
    /// The date (with `month` precision, any day of it: the first is stored).
    /// Not in the future.
    #[validate(required(message = "is required"), custom(function = "past_date"))]
    #[schema(required = true, value_type = String, format = Date, example = "2022-05-01")]
    pub occurred_on: Option<String>,
    /// Default `day`.
    #[validate(custom(function = "known_time_precision"))]
    #[schema(value_type = Option<TimePrecision>)]
    pub time_precision: Option<String>,
    #[validate(required(message = "is required"), nested)]
    #[schema(required = true)]
    pub location: Option<LocationInput>,
    #[validate(nested)]
    pub admin: Option<AdminInput>,
    /// Default 0.
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    pub fatalities: Option<i64>,
    /// Default 0.
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    pub injuries: Option<i64>,
    /// Up to 100 sources; empty for a monitor's own observation.
    #[validate(length(max = 100), nested)]
    pub sources: Option<Vec<SourceInput>>,
    /// Default `unverified`.
    #[validate(custom(function = "known_verification"))]
    #[schema(value_type = Option<Verification>)]
    pub verification: Option<String>,
    /// Why it is verified or disputed; up to 2,000 characters.
    #[validate(length(max = 2000), custom(function = "text_block"))]
    #[schema(max_length = 2000)]
    pub verification_note: Option<String>,
    /// A UUID the client made for this incident (the offline form's outbox
    /// does): with it, the incident is logged once however often it is
    /// sent, as with the `Idempotency-Key` header (the header wins when
    /// both are sent). Not kept on the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<uuid::Uuid>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    /// −90 to 90.
    #[validate(required(message = "is required"), range(min = -90.0, max = 90.0))]
    #[schema(required = true, value_type = f64, minimum = -90, maximum = 90, example = -14.2190728)]
    pub lat: Option<f64>,
    /// −180 to 180.
    #[validate(required(message = "is required"), range(min = -180.0, max = 180.0))]
    #[schema(required = true, value_type = f64, minimum = -180, maximum = 180, example = -73.0884214)]
    pub lon: Option<f64>,
    /// Default `exact`.
    #[validate(custom(function = "known_location_precision"))]
    #[schema(value_type = Option<LocationPrecision>)]
    pub precision: Option<String>,
    /// Up to 300 characters.
    #[validate(length(max = 300), custom(function = "one_line"))]
    #[schema(max_length = 300)]
    pub place: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "admin_not_empty", skip_on_field_errors = false))]
pub struct AdminInput {
    /// 2, 4 or 6 digits.
    #[validate(custom(function = "ubigeo_digits"))]
    #[schema(pattern = "^([0-9]{2}|[0-9]{4}|[0-9]{6})$", example = "030410")]
    pub ubigeo: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100)]
    pub region: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100)]
    pub province: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 100)]
    pub district: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// 1–200 characters.
    #[validate(
        required(message = "is required"),
        length(min = 1, max = 200),
        custom(function = "not_blank"),
        custom(function = "one_line")
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 200)]
    pub publisher: Option<String>,
    #[validate(length(max = 500), custom(function = "one_line"))]
    #[schema(max_length = 500)]
    pub title: Option<String>,
    /// An http(s) URL, up to 2,000 characters.
    #[validate(length(max = 2000), custom(function = "web_url"))]
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[validate(custom(function = "past_date"))]
    #[schema(value_type = Option<String>, format = Date)]
    pub published_on: Option<String>,
    /// `true`: a community member who spoke to a monitor; only monitors
    /// and admins read it, never researchers or the public map. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<bool>,
}

/// The shape of a PATCH body (JSON Merge Patch): any subset of the fields,
/// `null` removing an optional one (`title`, `event_type`, `occurred_on`
/// and `location` cannot be removed). Only the shape is checked against
/// this type; the rules are checked on the merged result as [`EventInput`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct EventPatch {
    /// 1–300 characters, not blank.
    #[schema(required = false, value_type = String, min_length = 1, max_length = 300)]
    title: Option<String>,
    #[schema(max_length = 20000)]
    description: Option<String>,
    #[schema(required = false, value_type = EventType)]
    event_type: Option<EventType>,
    #[schema(max_length = 100)]
    sub_event_type: Option<String>,
    /// Not in the future.
    #[schema(required = false, value_type = String, format = Date)]
    occurred_on: Option<String>,
    time_precision: Option<TimePrecision>,
    #[schema(required = false, value_type = LocationPatch)]
    location: Option<LocationPatch>,
    admin: Option<AdminInput>,
    #[schema(minimum = 0, maximum = 100000)]
    fatalities: Option<i64>,
    #[schema(minimum = 0, maximum = 100000)]
    injuries: Option<i64>,
    /// Up to 100; replaces the whole list.
    #[schema(max_items = 100)]
    sources: Option<Vec<SourceInput>>,
    verification: Option<Verification>,
    #[schema(max_length = 2000)]
    verification_note: Option<String>,
}

/// A merge patch of the location: `lat` and `lon` cannot be removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LocationPatch {
    #[schema(required = false, value_type = f64, minimum = -90, maximum = 90)]
    lat: Option<f64>,
    #[schema(required = false, value_type = f64, minimum = -180, maximum = 180)]
    lon: Option<f64>,
    precision: Option<LocationPrecision>,
    #[schema(max_length = 300)]
    place: Option<String>,
}

fn known<T>(
    parse: fn(&str) -> Option<T>,
    names: fn() -> String,
    value: &str,
) -> Result<(), ValidationError> {
    match parse(value) {
        Some(_) => Ok(()),
        None => Err(rule("unknown", format!("must be one of: {}", names()))),
    }
}

fn known_event_type(v: &str) -> Result<(), ValidationError> {
    known(EventType::parse, EventType::names, v)
}
fn known_time_precision(v: &str) -> Result<(), ValidationError> {
    known(TimePrecision::parse, TimePrecision::names, v)
}
fn known_location_precision(v: &str) -> Result<(), ValidationError> {
    known(LocationPrecision::parse, LocationPrecision::names, v)
}
fn known_verification(v: &str) -> Result<(), ValidationError> {
    known(Verification::parse, Verification::names, v)
}

fn admin_not_empty(admin: &AdminInput) -> Result<(), ValidationError> {
    if admin.ubigeo.is_none()
        && admin.region.is_none()
        && admin.province.is_none()
        && admin.district.is_none()
    {
        return Err(rule(
            "empty",
            "give at least one of ubigeo, region, province, district, or leave admin out".into(),
        ));
    }
    Ok(())
}

impl EventInput {
    /// Checks every rule and builds the typed fields, or lists every problem.
    pub fn into_fields(self) -> Result<EventFields, AppError> {
        crate::rules::check(&self)?;
        let invalid =
            |what: &str| AppError::internal(format!("{what} passed validation but did not parse"));
        let time_precision = match self.time_precision.as_deref() {
            Some(p) => TimePrecision::parse(p).ok_or_else(|| invalid("time_precision"))?,
            None => TimePrecision::Day,
        };
        let occurred_on = self
            .occurred_on
            .as_deref()
            .and_then(parse_date)
            .ok_or_else(|| invalid("occurred_on"))?;
        let location = self.location.ok_or_else(|| invalid("location"))?;
        Ok(EventFields {
            title: self.title.ok_or_else(|| invalid("title"))?,
            description: self.description.unwrap_or_default(),
            event_type: self
                .event_type
                .as_deref()
                .and_then(EventType::parse)
                .ok_or_else(|| invalid("event_type"))?,
            sub_event_type: self.sub_event_type,
            occurred_on: truncate_date(occurred_on, time_precision),
            time_precision,
            location: Location {
                lat: location.lat.ok_or_else(|| invalid("location.lat"))?,
                lon: location.lon.ok_or_else(|| invalid("location.lon"))?,
                precision: match location.precision.as_deref() {
                    Some(p) => {
                        LocationPrecision::parse(p).ok_or_else(|| invalid("location.precision"))?
                    }
                    None => LocationPrecision::Exact,
                },
                place: location.place,
            },
            admin: self.admin.map(|a| Admin {
                ubigeo: a.ubigeo,
                region: a.region,
                province: a.province,
                district: a.district,
            }),
            fatalities: i32::try_from(self.fatalities.unwrap_or(0))
                .map_err(|_| invalid("fatalities"))?,
            injuries: i32::try_from(self.injuries.unwrap_or(0)).map_err(|_| invalid("injuries"))?,
            sources: self
                .sources
                .unwrap_or_default()
                .into_iter()
                .map(|s| {
                    Ok(Source {
                        publisher: s.publisher.ok_or_else(|| invalid("sources.publisher"))?,
                        title: s.title,
                        url: s.url,
                        published_on: s.published_on.as_deref().and_then(parse_date),
                        confidential: s.confidential.unwrap_or(false),
                    })
                })
                .collect::<Result<_, AppError>>()?,
            verification: match self.verification.as_deref() {
                Some(v) => Verification::parse(v).ok_or_else(|| invalid("verification"))?,
                None => Verification::Unverified,
            },
            verification_note: self.verification_note.filter(|n| !n.trim().is_empty()),
        })
    }
}

/// ACLED's convention: an event known only to the month is stored on the
/// first of that month, one known to the year on 1 January.
fn truncate_date(date: NaiveDate, precision: TimePrecision) -> NaiveDate {
    let (year, month, day) = match precision {
        TimePrecision::Day => (date.year(), date.month(), date.day()),
        TimePrecision::Month => (date.year(), date.month(), 1),
        TimePrecision::Year => (date.year(), 1, 1),
    };
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(date)
}

/// Applies a JSON Merge Patch (RFC 7396) to `current` and checks the result
/// with the create rules.
pub fn apply_patch(current: &Event, patch: serde_json::Value) -> Result<EventFields, AppError> {
    if !patch.is_object() {
        return Err(AppError::Validation(vec![FieldError::new(
            "",
            "a PATCH body must be a JSON object",
        )]));
    }
    let mut document = serde_json::to_value(&current.fields)?;
    // A place filled in from boundaries is not the client's: it follows the
    // point, unless the patch sets one.
    if current.admin_source == Some(AdminSource::Boundaries) {
        if let Some(map) = document.as_object_mut() {
            map.remove("admin");
        }
    }
    crate::http::merge_patch(&mut document, patch);
    crate::http::from_value::<EventInput>(document)?.into_fields()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> EventInput {
        serde_json::from_value(json).expect("shape")
    }

    #[test]
    fn reports_every_bad_field_at_once() {
        let bad = input(serde_json::json!({
            "title": "  ",
            "event_type": "picnic",
            "occurred_on": "2022-02-30",
            "location": {"lat": 95.0, "lon": -73.0, "precision": "roughly"},
            "admin": {"ubigeo": "0304100"},
            "fatalities": -1,
            "sources": [{"publisher": "", "url": "ftp://x"}]
        }));
        let Err(AppError::Validation(errors)) = bad.into_fields() else {
            panic!("expected validation errors");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for expected in [
            "admin.ubigeo",
            "event_type",
            "fatalities",
            "location.lat",
            "location.precision",
            "occurred_on",
            "sources[0].publisher",
            "sources[0].url",
            "title",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn month_precision_keeps_the_first_of_the_month() {
        let fields = input(serde_json::json!({
            "title": "Queman campamento",
            "event_type": "property_destruction",
            "occurred_on": "2022-05-17",
            "time_precision": "month",
            "location": {"lat": -14.2, "lon": -73.1}
        }))
        .into_fields()
        .expect("valid");
        assert_eq!(
            fields.occurred_on,
            NaiveDate::from_ymd_opt(2022, 5, 1).expect("date")
        );
        assert_eq!(fields.location.precision, LocationPrecision::Exact);
        assert_eq!(fields.verification, Verification::Unverified);
    }

    #[test]
    fn json_names_are_the_stored_names() {
        for t in EventType::ALL {
            assert_eq!(
                serde_json::to_value(t).expect("json"),
                serde_json::json!(t.as_str())
            );
        }
        for p in TimePrecision::ALL {
            assert_eq!(
                serde_json::to_value(p).expect("json"),
                serde_json::json!(p.as_str())
            );
        }
        for p in LocationPrecision::ALL {
            assert_eq!(
                serde_json::to_value(p).expect("json"),
                serde_json::json!(p.as_str())
            );
        }
        for v in Verification::ALL {
            assert_eq!(
                serde_json::to_value(v).expect("json"),
                serde_json::json!(v.as_str())
            );
        }
        for s in AdminSource::ALL {
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
    }
}
