//! Which active watches an incident falls under, and the outbox rows that
//! record it. Called by the incident store inside the transaction that
//! writes the incident, so an incident and its alerts commit together or
//! not at all.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use geo::{Intersects, MultiPolygon, Point};
use uuid::Uuid;

use super::areas::{self, AreaIndex};
use super::{AlertStatus, Frequency, MailKind, MinVerification, Reason, TargetType, WatchStatus};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::{EventType, Verification};
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
/// candidates its queries and the area index found, and the preview of a watch not yet saved
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
///
/// Concession, holder and district watches are found by key, one indexed
/// query per kind (an OR of the kinds made the planners scan every watch);
/// area watches by the process's [`AreaIndex`], as of the version read
/// under lock in this transaction.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %incident.id))]
pub fn enqueue(
    conn: &mut DbConn,
    areas: &AreaIndex,
    incident: &Incident,
) -> Result<usize, AppError> {
    let mut rows = Vec::new();
    for (id, email, target_type, concession_id, actor_id, ubigeo, types, min, frequency) in
        keyed_candidates(conn, incident)?
    {
        let types: Vec<EventType> = serde_json::from_str(&types)
            .map_err(|e| AppError::internal_from(format!("watch {id}: event_types"), e))?;
        let rule = Rule {
            target_type,
            concession_id: concession_id.as_deref(),
            actor_id: actor_id.as_deref(),
            area: None,
            ubigeo: ubigeo.as_deref(),
            event_types: &types,
            min_verification: min,
        };
        if let Some(reason) = reason(&rule, incident) {
            rows.push(NewMail::new(
                MailKind::Alert,
                &id,
                Some(incident.id),
                &email,
                frequency,
                &reason,
            )?);
        }
    }
    let version = areas::version(conn, true)?;
    let index = areas.at(conn, version)?;
    let (lon, lat) = (incident.lon, incident.lat);
    for (watch, shape) in index.meeting([lon, lat, lon, lat]) {
        if watch.activated_at > incident.created_at {
            continue;
        }
        let rule = Rule {
            target_type: TargetType::Area,
            concession_id: None,
            actor_id: None,
            area: Some(shape),
            ubigeo: None,
            event_types: &watch.event_types,
            min_verification: watch.min_verification,
        };
        if let Some(reason) = reason(&rule, incident) {
            rows.push(NewMail::new(
                MailKind::Alert,
                &watch.id,
                Some(incident.id),
                &watch.email,
                watch.frequency,
                &reason,
            )?);
        }
    }
    let matched = rows.len();
    insert_ignoring_repeats(conn, &rows)?;
    // Each new alert of a watch with a webhook gets its POST queued too.
    super::webhook::enqueue(conn, incident.id)?;
    Ok(matched)
}

/// The active concession, holder and district watches whose key the
/// incident carries (their filters are checked by [`reason`]).
fn keyed_candidates(conn: &mut DbConn, incident: &Incident) -> Result<Vec<Candidate>, AppError> {
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
    let ubigeos: Vec<String> = incident
        .ubigeo
        .map(|u| {
            [2, 4, 6]
                .into_iter()
                .filter_map(|n| u.get(..n).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let columns = (
        watches::id,
        watches::email,
        watches::target_type,
        watches::concession_id,
        watches::actor_id,
        watches::ubigeo,
        watches::event_types,
        watches::min_verification,
        watches::frequency,
    );
    // Each query repeats its partial index's own conditions as literals in
    // the SQL text: a planner can use `watches_active_<key>` only if it can
    // prove them, and it cannot for bound parameters (PostgreSQL switches a
    // cached statement to a generic plan after five runs; that plan then
    // scanned all 100,000 watches).
    let kind = |target: TargetType| {
        let conditions = format!(
            "status = '{}' AND deleted_at IS NULL AND target_type = '{}'",
            WatchStatus::Active.as_str(),
            target.as_str()
        );
        watches::table
            .filter(sql::<Bool>(&conditions))
            .filter(watches::activated_at.le(incident.created_at))
    };
    let mut found: Vec<Candidate> = Vec::new();
    if !concession_ids.is_empty() {
        found.extend(
            kind(TargetType::Concession)
                .filter(watches::concession_id.eq_any(&concession_ids))
                .select(columns)
                .load::<Candidate>(conn)?,
        );
    }
    if !holder_ids.is_empty() {
        found.extend(
            kind(TargetType::Holder)
                .filter(watches::actor_id.eq_any(&holder_ids))
                .select(columns)
                .load::<Candidate>(conn)?,
        );
    }
    if !ubigeos.is_empty() {
        found.extend(
            kind(TargetType::AdminArea)
                .filter(watches::ubigeo.eq_any(&ubigeos))
                .select(columns)
                .load::<Candidate>(conn)?,
        );
    }
    Ok(found)
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
