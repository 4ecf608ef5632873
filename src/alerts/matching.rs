//! Which active watches an incident falls under, and the outbox rows that
//! record it. Called by the incident store inside the transaction that
//! writes the incident, so an incident and its alerts commit together or
//! not at all.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use geo::{Intersects, MultiPolygon, Point};
use uuid::Uuid;

use super::{AlertStatus, Frequency, MailKind, MinVerification, Reason, TargetType, WatchStatus};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::{EventType, Verification};
use crate::places::geometry::multipolygon_from_geojson;
use crate::places::ConcessionRef;
use crate::schema::{alerts, watches};

/// What matching needs to know of an incident.
#[derive(Debug)]
pub struct Incident<'a> {
    pub id: &'a str,
    /// Watches cover incidents logged after they were activated.
    pub created_at: NaiveDateTime,
    pub event_type: EventType,
    pub verification: Verification,
    pub lon: f64,
    pub lat: f64,
    /// The incident's district code, as given or from the boundaries.
    pub ubigeo: Option<&'a str>,
    pub region: Option<&'a str>,
    pub province: Option<&'a str>,
    pub district: Option<&'a str>,
    pub concessions: &'a [ConcessionRef],
}

type Candidate = (
    String,          // id
    String,          // email
    TargetType,      // target_type
    Option<String>,  // concession_id
    Option<String>,  // actor_id
    Option<String>,  // area
    Option<String>,  // ubigeo
    String,          // event_types
    MinVerification, // min_verification
    Frequency,       // frequency
);

#[derive(Insertable)]
#[diesel(table_name = alerts)]
pub(super) struct NewMail {
    pub id: String,
    pub kind: MailKind,
    pub watch_id: String,
    pub event_id: Option<String>,
    pub recipient: String,
    pub frequency: Frequency,
    pub reason: String,
    pub status: AlertStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl NewMail {
    pub fn new(
        kind: MailKind,
        watch_id: &str,
        event_id: Option<&str>,
        recipient: &str,
        frequency: Frequency,
        reason: &Reason,
    ) -> Result<Self, AppError> {
        let now = db::now();
        Ok(NewMail {
            id: Uuid::new_v4().to_string(),
            kind,
            watch_id: watch_id.into(),
            event_id: event_id.map(Into::into),
            recipient: recipient.into(),
            frequency,
            reason: serde_json::to_string(reason)?,
            status: AlertStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        })
    }
}

/// What a watch asks of an incident: its target and filters as stored.
/// The one statement of the matching rules: `enqueue` applies it to the
/// candidates its query found, and the preview of a watch not yet saved
/// (`ops::alerts::preview`) to the incidents of the last months.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    pub target_type: TargetType,
    pub concession_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub area: Option<&'a MultiPolygon<f64>>,
    pub ubigeo: Option<&'a str>,
    /// Empty: every type.
    pub event_types: &'a [EventType],
    pub min_verification: MinVerification,
}

/// Why `incident` falls under the watch `rule` describes, or `None` when
/// it does not.
pub fn reason(rule: &Rule, incident: &Incident) -> Option<Reason> {
    if !rule.event_types.is_empty() && !rule.event_types.contains(&incident.event_type) {
        return None;
    }
    if !rule.min_verification.admits(incident.verification) {
        return None;
    }
    match rule.target_type {
        TargetType::Concession => {
            let wanted = rule.concession_id?;
            incident
                .concessions
                .iter()
                .find(|c| c.id.to_string() == wanted)
                .map(|c| Reason::Concession {
                    code: c.code.clone(),
                    name: c.name.clone(),
                    holder: c.holder.as_ref().map(|h| h.name.clone()),
                })
        }
        TargetType::Holder => {
            let wanted = rule.actor_id?;
            incident.concessions.iter().find_map(|c| {
                let holder = c.holder.as_ref().filter(|h| h.id.to_string() == wanted)?;
                Some(Reason::Holder {
                    holder: holder.name.clone(),
                    code: c.code.clone(),
                    name: c.name.clone(),
                })
            })
        }
        TargetType::AdminArea => {
            let wanted = rule.ubigeo?;
            // A region or province code is a prefix of its districts'.
            if !incident.ubigeo.is_some_and(|u| u.starts_with(wanted)) {
                return None;
            }
            let name = match wanted.len() {
                2 => incident.region,
                4 => incident.province,
                _ => incident.district,
            };
            Some(Reason::AdminArea {
                ubigeo: wanted.to_string(),
                name: name.map(Into::into),
            })
        }
        TargetType::Area => rule
            .area
            .filter(|shape| shape.intersects(&Point::new(incident.lon, incident.lat)))
            .map(|_| Reason::Area),
    }
}

/// Writes one alert per active watch the incident now falls under. A watch
/// that already alerted for this incident gets nothing more (the unique
/// (watch, incident) index drops the row), so edits never repeat an alert.
/// Returns how many watches matched.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %incident.id))]
pub fn enqueue(conn: &mut DbConn, incident: &Incident) -> Result<usize, AppError> {
    let concession_ids: Vec<String> = incident
        .concessions
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    let holder_ids: Vec<String> = incident
        .concessions
        .iter()
        .filter_map(|c| c.holder.as_ref().map(|h| h.id.to_string()))
        .collect();
    // The region, province and district codes the incident lies in.
    let ubigeos: Vec<&str> = incident
        .ubigeo
        .map(|u| [2, 4, 6].into_iter().filter_map(|n| u.get(..n)).collect())
        .unwrap_or_default();
    let (lon, lat) = (incident.lon, incident.lat);
    let candidates: Vec<Candidate> = watches::table
        .filter(watches::status.eq(WatchStatus::Active))
        .filter(watches::deleted_at.is_null())
        .filter(watches::activated_at.le(incident.created_at))
        .filter(
            (watches::target_type
                .eq(TargetType::Concession)
                .and(watches::concession_id.eq_any(&concession_ids)))
            .or(watches::target_type
                .eq(TargetType::Holder)
                .and(watches::actor_id.eq_any(&holder_ids)))
            .or(watches::target_type
                .eq(TargetType::AdminArea)
                .and(watches::ubigeo.eq_any(&ubigeos)))
            .or(watches::target_type
                .eq(TargetType::Area)
                .and(watches::min_lon.le(lon))
                .and(watches::max_lon.ge(lon))
                .and(watches::min_lat.le(lat))
                .and(watches::max_lat.ge(lat))),
        )
        .select((
            watches::id,
            watches::email,
            watches::target_type,
            watches::concession_id,
            watches::actor_id,
            watches::area,
            watches::ubigeo,
            watches::event_types,
            watches::min_verification,
            watches::frequency,
        ))
        .load(conn)?;
    let mut rows = Vec::new();
    for (id, email, target_type, concession_id, actor_id, area, ubigeo, types, min, frequency) in
        candidates
    {
        let types: Vec<EventType> = serde_json::from_str(&types)
            .map_err(|e| AppError::internal_from(format!("watch {id}: event_types"), e))?;
        let area = area
            .as_deref()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .and_then(|value| multipolygon_from_geojson(&value).ok());
        let rule = Rule {
            target_type,
            concession_id: concession_id.as_deref(),
            actor_id: actor_id.as_deref(),
            area: area.as_ref(),
            ubigeo: ubigeo.as_deref(),
            event_types: &types,
            min_verification: min,
        };
        let Some(reason) = reason(&rule, incident) else {
            continue;
        };
        rows.push(NewMail::new(
            MailKind::Alert,
            &id,
            Some(incident.id),
            &email,
            frequency,
            &reason,
        )?);
    }
    let matched = rows.len();
    insert_ignoring_repeats(conn, &rows)?;
    // Each new alert of a watch with a webhook gets its POST queued too.
    super::webhook::enqueue(conn, incident.id)?;
    Ok(matched)
}

/// Inserts outbox rows in large statements; a row for a (watch, incident)
/// pair that already has one is dropped.
pub(super) fn insert_ignoring_repeats(conn: &mut DbConn, rows: &[NewMail]) -> Result<(), AppError> {
    // 11 values a row stays well under SQLite's 32,766 parameters.
    for chunk in rows.chunks(1000) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(alerts::table)
                .values(chunk)
                .execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(alerts::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(())
}
