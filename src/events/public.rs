//! What anonymous visitors of the public map read of an incident, and the
//! one rule that makes it from a stored incident (issue 15).
//!
//! Only a live, published incident has a public form. Its point is never
//! the stored one: it is the centroid of its district (by its six-digit
//! ubigeo, from the loaded boundaries), or, for an incident in no loaded
//! district, the centre of a cell of a grid of `public.grid_km` (rows
//! `grid_km / 111.32` degrees of latitude tall; in each row, columns as
//! many degrees of longitude as `grid_km` spans at the row's centre, so
//! cells stay about square). Its precision is always `approximate`.
//!
//! Left out, because they can name or place a person: who logged or
//! edited it (`created_by`, the audit trail), the place name as typed
//! (`location.place`, often a homestead or a camp), `verification_note`
//! (written by a reviewer, it may name sources), confidential sources,
//! actor link notes, attachments not marked public, `source_id`, the
//! Defensoría case links (internal analysis), `version` and timestamps of
//! edits. Kept: what the issue lists, including concessions and their
//! holders (public registry data) and actors with their attribution.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Admin, Event, EventType, Location, LocationPrecision, TimePrecision, Verification};
use crate::actors::{ActorKind, Attribution, LinkRole};

/// Where a public point comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The centroid of the incident's district.
    District,
    /// The centre of a `public.grid_km` grid cell.
    Grid,
}

/// A generalised point: never the stored one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PublicLocation {
    pub lat: f64,
    pub lon: f64,
    /// Always `approximate`.
    pub precision: LocationPrecision,
    pub basis: Basis,
}

/// A source that is not confidential.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicSource {
    pub publisher: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_on: Option<NaiveDate>,
}

/// A mining concession the incident's point falls in (INGEMMET's public
/// registry).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicConcession {
    pub code: String,
    pub name: String,
    pub holder: Option<String>,
}

/// An actor of the incident (organisations, communities, companies).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicActor {
    pub name: String,
    pub kind: ActorKind,
    pub role: LinkRole,
    pub attribution: Attribution,
}

/// A file marked public.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicAttachment {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub bytes: i64,
    /// `/api/public/v1/attachments/{id}/content`
    pub url: String,
    pub thumbnail_url: Option<String>,
}

/// A published incident as anonymous visitors read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicEvent {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub event_type: EventType,
    pub sub_event_type: Option<String>,
    pub occurred_on: NaiveDate,
    pub time_precision: TimePrecision,
    pub admin: Option<Admin>,
    pub location: PublicLocation,
    pub fatalities: i32,
    pub injuries: i32,
    pub sources: Vec<PublicSource>,
    pub verification: Verification,
    pub attachments: Vec<PublicAttachment>,
    pub concessions: Vec<PublicConcession>,
    pub actors: Vec<PublicActor>,
    /// When it was (last) published.
    pub published_at: Option<DateTime<Utc>>,
}

/// Degrees of latitude per km (a sphere's mean meridian degree, 111.32 km).
const KM_PER_DEGREE: f64 = 111.32;

/// The generalised point of `event`: its district's centroid when its
/// ubigeo names a loaded district, else its grid cell's centre. Rounded to
/// five decimals (a metre): the precision is the district's anyway.
pub fn generalise(
    event: &Event,
    centroid_of: impl Fn(&str) -> Option<(f64, f64)>,
    grid_km: f64,
) -> PublicLocation {
    let district = event
        .fields
        .admin
        .as_ref()
        .and_then(|a| a.ubigeo.as_deref())
        .filter(|u| u.len() == 6)
        .and_then(centroid_of);
    let (lon, lat, basis) = match district {
        Some((lon, lat)) => (lon, lat, Basis::District),
        None => {
            let (lon, lat) = grid_centre(
                event.fields.location.lon,
                event.fields.location.lat,
                grid_km,
            );
            (lon, lat, Basis::Grid)
        }
    };
    let round = |v: f64| (v * 1e5).round() / 1e5;
    PublicLocation {
        lat: round(lat),
        lon: round(lon),
        precision: LocationPrecision::Approximate,
        basis,
    }
}

/// The centre (lon, lat) of the `grid_km` cell holding (lon, lat).
pub fn grid_centre(lon: f64, lat: f64, grid_km: f64) -> (f64, f64) {
    let grid_km = if grid_km.is_finite() && grid_km > 0.0 {
        grid_km
    } else {
        10.0
    };
    let dlat = grid_km / KM_PER_DEGREE;
    let row = ((lat.clamp(-90.0, 90.0) + 90.0) / dlat).floor();
    let centre_lat = (-90.0 + (row + 0.5) * dlat).clamp(-90.0, 90.0);
    // Narrower columns away from the equator; near the poles at most 360°.
    let cos = centre_lat
        .to_radians()
        .cos()
        .max(grid_km / (KM_PER_DEGREE * 360.0));
    let dlon = (grid_km / (KM_PER_DEGREE * cos)).min(360.0);
    let col = ((lon.clamp(-180.0, 180.0) + 180.0) / dlon).floor();
    let centre_lon = (-180.0 + (col + 0.5) * dlon).clamp(-180.0, 180.0);
    (centre_lon, centre_lat)
}

/// The public form of `event`, or `None` when it is not published. The
/// caller reads live incidents only (a deleted one is never public).
pub fn public_event(
    event: &Event,
    centroid_of: impl Fn(&str) -> Option<(f64, f64)>,
    grid_km: f64,
) -> Option<PublicEvent> {
    if !event.is_public() {
        return None;
    }
    let f = &event.fields;
    Some(PublicEvent {
        id: event.id,
        title: f.title.clone(),
        description: f.description.clone(),
        event_type: f.event_type,
        sub_event_type: f.sub_event_type.clone(),
        occurred_on: f.occurred_on,
        time_precision: f.time_precision,
        admin: f.admin.clone(),
        location: generalise(event, centroid_of, grid_km),
        fatalities: f.fatalities,
        injuries: f.injuries,
        sources: f
            .sources
            .iter()
            .filter(|s| !s.confidential)
            .map(|s| PublicSource {
                publisher: s.publisher.clone(),
                title: s.title.clone(),
                url: s.url.clone(),
                published_on: s.published_on,
            })
            .collect(),
        verification: f.verification,
        attachments: event
            .attachments
            .iter()
            .filter(|a| a.public && a.deleted_at.is_none())
            .map(|a| PublicAttachment {
                id: a.id,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                bytes: a.bytes,
                url: format!("/api/public/v1/attachments/{}/content", a.id),
                thumbnail_url: a
                    .thumbnail_url
                    .as_ref()
                    .map(|_| format!("/api/public/v1/attachments/{}/thumbnail", a.id)),
            })
            .collect(),
        concessions: event
            .concessions
            .iter()
            .map(|c| PublicConcession {
                code: c.code.clone(),
                name: c.name.clone(),
                holder: c.holder.as_ref().map(|h| h.name.clone()),
            })
            .collect(),
        actors: event
            .actors
            .iter()
            .map(|a| PublicActor {
                name: a.name.clone(),
                kind: a.kind,
                role: a.role,
                attribution: a.attribution,
            })
            .collect(),
        published_at: event.published_at,
    })
}

/// The incident as the export writers read it for the public: the public
/// form's content only (generalised point, `approximate`, no place name,
/// no confidential source, no names of who logged it, no note, no case,
/// only public files), so that the ACLED columns come out of the same
/// writer as the signed-in exports.
pub fn export_view(event: &Event, public: &PublicEvent) -> Event {
    let mut view = event.clone();
    view.created_by = String::new();
    view.fields.location = Location {
        lat: public.location.lat,
        lon: public.location.lon,
        precision: LocationPrecision::Approximate,
        place: None,
    };
    view.fields.sources.retain(|s| !s.confidential);
    view.fields.verification_note = None;
    view.cases.clear();
    view.attachments.retain(|a| a.public);
    for actor in &mut view.actors {
        actor.note = None;
    }
    view.warnings.clear();
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_centres_are_in_their_cell_and_shared_by_neighbours() {
        let (lon, lat) = grid_centre(-73.0884214, -14.2190728, 10.0);
        assert!((lat - -14.2190728).abs() <= 10.0 / KM_PER_DEGREE / 2.0 + 1e-9);
        assert!((lon - -73.0884214).abs() < 0.1);
        assert_ne!((lon, lat), (-73.0884214, -14.2190728));
        // A point a few metres away falls in the same cell (or a neighbour).
        let (lon2, lat2) = grid_centre(-73.0884, -14.2190, 10.0);
        assert_eq!((lon, lat), (lon2, lat2));
        // Extremes stay within range.
        let (lon, lat) = grid_centre(180.0, 90.0, 10.0);
        assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
    }
}
