//! Places: INGEMMET mining concessions, INEI districts, and the spatial
//! matching that ties every incident to the concessions and district it
//! falls in.

pub mod crs;
pub mod geometry;
pub mod import;
pub mod index;
pub mod jobs;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::{AppError, FieldError};
use crate::rules::{not_blank, one_line, parse_date};
use geometry::{Outline, USER_LIMITS};
pub use index::{DistrictRef, PlaceIndex};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HolderRef {
    pub id: Uuid,
    pub name: String,
}

/// A mining concession (derecho minero) of the national cadastre.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Concession {
    pub id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// INGEMMET's code (CODIGOU), e.g. `010461925`, `010000424L`, `P0100302`.
    pub code: String,
    pub name: String,
    /// The titular, as an actor.
    pub holder: Option<HolderRef>,
    pub hectares: Option<f64>,
    pub status: Option<String>,
    pub substance: Option<String>,
    pub filed_on: Option<NaiveDate>,
    /// GeoJSON Polygon or MultiPolygon, WGS 84 longitude/latitude.
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    /// False for self-intersecting outlines, kept as the cadastre has them.
    pub geometry_valid: bool,
    /// The coordinate system the outline came in, e.g. `EPSG:32717`.
    pub source_crs: String,
    /// Every attribute of the source record, as it came.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
}

/// A district of INEI's boundaries, as the map and the point picker name it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct District {
    #[schema(example = "030410")]
    pub ubigeo: String,
    #[schema(example = "POCOHUANCA")]
    pub district: String,
    #[schema(example = "AYMARAES")]
    pub province: String,
    #[schema(example = "APURIMAC")]
    pub region: String,
}

impl From<DistrictRef> for District {
    fn from(d: DistrictRef) -> Self {
        District {
            ubigeo: d.ubigeo,
            district: d.name,
            province: d.province,
            region: d.region,
        }
    }
}

/// A concession as an incident embeds it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConcessionRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub holder: Option<HolderRef>,
}

/// Who holds a concession, as a writer names it.
#[derive(Debug, Clone)]
pub enum HolderSpec {
    None,
    Id(String),
    Name(String),
}

/// A concession ready to store.
#[derive(Debug, Clone)]
pub struct ConcessionDraft {
    pub code: String,
    pub name: String,
    pub holder: HolderSpec,
    pub hectares: Option<f64>,
    pub status: Option<String>,
    pub substance: Option<String>,
    pub filed_on: Option<NaiveDate>,
    pub outline: Outline,
    pub source_crs: String,
    pub attributes: serde_json::Value,
}

impl ConcessionDraft {
    /// The rules `ConcessionInput` has for these fields, for a concession
    /// read from a file; `Err` says what is wrong, field by field.
    pub fn check_fields(&self) -> Result<(), String> {
        let input = ConcessionInput {
            code: Some(self.code.clone()),
            name: Some(self.name.clone()),
            holder_id: None,
            holder_name: match &self.holder {
                HolderSpec::Name(name) => Some(name.clone()),
                HolderSpec::None | HolderSpec::Id(_) => None,
            },
            hectares: self.hectares,
            status: self.status.clone(),
            substance: self.substance.clone(),
            filed_on: None,
            // Checked as an outline already; here only present.
            geometry: Some(serde_json::Value::Null),
        };
        match crate::rules::check(&input) {
            Ok(()) => Ok(()),
            Err(AppError::Validation(errors)) => Err(errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")),
            Err(other) => Err(other.to_string()),
        }
    }
}

/// A concession written through the API (lon/lat GeoJSON).
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcessionInput {
    /// 1–30 characters: letters, digits, `-`.
    #[validate(
        required(message = "is required"),
        length(min = 1, max = 30),
        custom(function = "code_chars")
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 30, pattern = "^[A-Za-z0-9-]+$", example = "010461925")]
    pub code: Option<String>,
    #[validate(
        required(message = "is required"),
        length(min = 1, max = 300),
        custom(function = "not_blank"),
        custom(function = "one_line")
    )]
    #[schema(required = true, value_type = String, min_length = 1, max_length = 300)]
    pub name: Option<String>,
    /// An existing actor; or give `holder_name`.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub holder_id: Option<String>,
    /// Matched to an actor by name (case, accents and legal forms aside) or created.
    #[validate(length(min = 1, max = 300), custom(function = "one_line"))]
    #[schema(min_length = 1, max_length = 300)]
    pub holder_name: Option<String>,
    #[validate(range(min = 0.0, max = 1000000.0))]
    #[schema(minimum = 0, maximum = 1000000)]
    pub hectares: Option<f64>,
    #[validate(length(max = 100), custom(function = "one_line"))]
    #[schema(max_length = 100)]
    pub status: Option<String>,
    #[validate(length(max = 100), custom(function = "one_line"))]
    #[schema(max_length = 100)]
    pub substance: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub filed_on: Option<String>,
    /// GeoJSON Polygon or MultiPolygon in WGS 84 longitude/latitude.
    /// At most 10,000 positions, 500 rings and 100 polygons (422 beyond).
    #[validate(required(message = "is required"))]
    #[schema(required = true, value_type = Object)]
    pub geometry: Option<serde_json::Value>,
}

fn code_chars(code: &str) -> Result<(), validator::ValidationError> {
    if code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(())
    } else {
        Err(crate::rules::rule(
            "code",
            "may hold only letters, digits and -".into(),
        ))
    }
}

impl ConcessionInput {
    pub fn into_draft(self) -> Result<ConcessionDraft, AppError> {
        self.into_draft_with(None)
    }

    /// As `into_draft`, with the outline already checked when `checked` is
    /// given (`self.geometry` is then ignored).
    fn into_draft_with(self, checked: Option<Outline>) -> Result<ConcessionDraft, AppError> {
        let mut errors = match crate::rules::check(&self) {
            Ok(()) => Vec::new(),
            Err(AppError::Validation(errors)) => errors,
            Err(other) => return Err(other),
        };
        let outline = match (checked, &self.geometry) {
            (Some(outline), _) => Some(outline),
            (None, Some(g)) => Outline::from_geojson(g, &USER_LIMITS)
                .map_err(|e| errors.push(FieldError::new("geometry", e)))
                .ok(),
            (None, None) => None,
        };
        let filed_on = match self.filed_on.as_deref() {
            Some(d) => parse_date(d)
                .ok_or_else(|| {
                    errors.push(FieldError::new("filed_on", "must be a date as YYYY-MM-DD"))
                })
                .ok(),
            None => None,
        };
        let holder = match (self.holder_id, self.holder_name) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "holder_id",
                    "give holder_id or holder_name, not both",
                ));
                HolderSpec::None
            }
            (Some(id), None) => match Uuid::parse_str(&id) {
                Ok(id) => HolderSpec::Id(id.to_string()),
                Err(_) => {
                    errors.push(FieldError::new("holder_id", "must be an actor id"));
                    HolderSpec::None
                }
            },
            (None, Some(name)) => HolderSpec::Name(name),
            (None, None) => HolderSpec::None,
        };
        let (Some(code), Some(name), Some(outline), true) =
            (self.code, self.name, outline, errors.is_empty())
        else {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(AppError::Validation(errors));
        };
        Ok(ConcessionDraft {
            code,
            name,
            holder,
            hectares: self.hectares,
            status: self.status,
            substance: self.substance,
            filed_on,
            outline,
            source_crs: "EPSG:4326".into(),
            attributes: serde_json::json!({}),
        })
    }
}

/// The shape of a concession PATCH body (JSON Merge Patch): any subset of
/// the fields, `null` removing an optional one (`code`, `name` and
/// `geometry` cannot be removed). Only the shape is checked against this
/// type; the rules are checked on the merged result as [`ConcessionInput`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ConcessionPatch {
    /// The code cannot change: only the current one is accepted.
    #[schema(required = false, value_type = String, min_length = 1, max_length = 30, pattern = "^[A-Za-z0-9-]+$")]
    code: Option<String>,
    #[schema(required = false, value_type = String, min_length = 1, max_length = 300)]
    name: Option<String>,
    #[schema(format = Uuid)]
    holder_id: Option<String>,
    #[schema(min_length = 1, max_length = 300)]
    holder_name: Option<String>,
    #[schema(minimum = 0, maximum = 1000000)]
    hectares: Option<f64>,
    #[schema(max_length = 100)]
    status: Option<String>,
    #[schema(max_length = 100)]
    substance: Option<String>,
    #[schema(format = Date)]
    filed_on: Option<String>,
    /// GeoJSON Polygon or MultiPolygon in WGS 84 longitude/latitude.
    /// At most 10,000 positions, 500 rings and 100 polygons (422 beyond).
    #[schema(required = false, value_type = Object)]
    geometry: Option<serde_json::Value>,
}

impl Concession {
    /// The fields a PATCH starts from, as `ConcessionInput` reads them.
    pub fn as_input(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "name": self.name,
            "holder_id": self.holder.as_ref().map(|h| h.id.to_string()),
            "hectares": self.hectares,
            "status": self.status,
            "substance": self.substance,
            "filed_on": self.filed_on.map(|d| d.to_string()),
            "geometry": self.geometry,
        })
    }
}

/// A patch's new outline, checked before the edit's transaction so that it
/// is never checked under the write lock; `None` when the patch keeps it.
pub fn check_patch_geometry(patch: &serde_json::Value) -> Result<Option<Outline>, AppError> {
    match patch.get("geometry") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(g) => Outline::from_geojson(g, &USER_LIMITS)
            .map(Some)
            .map_err(|e| AppError::Validation(vec![FieldError::new("geometry", e)])),
    }
}

/// Applies a merge patch to a concession and checks the result; `checked`
/// is the patch's outline as `check_patch_geometry` gave it.
pub fn apply_patch(
    current: &Concession,
    patch: serde_json::Value,
    checked: Option<Outline>,
) -> Result<ConcessionDraft, AppError> {
    let mut document = current.as_input();
    let new_outline = patch.get("geometry").is_some_and(|v| !v.is_null());
    let outline = match checked {
        Some(outline) => Some(outline),
        // Removed: the merged concession lacks it, and says so.
        None if patch.get("geometry").is_some_and(|v| v.is_null()) => None,
        // Unchanged: taken as stored, with the validity found when written.
        None => geometry::multipolygon_from_geojson(&current.geometry)
            .ok()
            .map(|shape| Outline {
                shape,
                valid: current.geometry_valid,
            }),
    };
    // Naming a holder by name replaces the one by id.
    if patch.get("holder_name").is_some_and(|v| !v.is_null()) {
        if let Some(map) = document.as_object_mut() {
            map.remove("holder_id");
        }
    }
    crate::http::merge_patch(&mut document, patch);
    if let Some(map) = document.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    let mut draft =
        crate::http::from_value::<ConcessionInput>(document)?.into_draft_with(outline)?;
    if !new_outline {
        draft.source_crs = current.source_crs.clone();
    }
    draft.attributes = current.attributes.clone();
    Ok(draft)
}
