//! Storage of watches: create, read, change, delete, and the two state
//! changes mail links make (confirm, unsubscribe). Every change is audited
//! in its transaction; a change that needs a mail (a new watch, a new
//! address, a resend) writes it to the outbox in the same transaction.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use uuid::Uuid;

use super::areas;
use super::matching::{insert_ignoring_repeats, NewMail};
use super::tokens::LinkSigner;
use super::{
    AlertRecord, AlertStatus, Frequency, Language, MailKind, MinVerification, Reason, Target,
    TargetDraft, TargetType, Watch, WatchDraft, WatchStatus,
};
use crate::audit::{self, Action, Actor as Who, Entity};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::events::EventType;
use crate::http::IfMatch;
use crate::schema::{actors, alerts, concessions, districts, watches};

const ENTITY: Entity = Entity::Watch;

/// The confirmation rules, from `[alerts]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub confirm_ttl: Duration,
    /// Between two confirmations of one watch (a resend, a new address).
    pub resend_interval: Duration,
    /// Confirmation mails to one address in an hour, whoever asks.
    pub per_address_per_hour: i64,
    /// Confirmation mails for the watches of one API key in an hour.
    pub per_key_per_hour: i64,
}

/// Whose watches a caller may see: researchers their own, admins all.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Owner(String),
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = watches, treat_none_as_null = true)]
struct WatchRow {
    id: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    created_by: String,
    owner_key_id: Option<String>,
    email: String,
    target_type: TargetType,
    concession_id: Option<String>,
    actor_id: Option<String>,
    area: Option<String>,
    min_lon: Option<f64>,
    min_lat: Option<f64>,
    max_lon: Option<f64>,
    max_lat: Option<f64>,
    ubigeo: Option<String>,
    event_types: String,
    min_verification: MinVerification,
    frequency: Frequency,
    language: Language,
    status: WatchStatus,
    activated_at: Option<NaiveDateTime>,
    confirm_nonce: String,
    confirm_expires_at: NaiveDateTime,
    confirm_sent_at: NaiveDateTime,
    deleted_at: Option<NaiveDateTime>,
    status_reason: Option<String>,
}

fn uuid(value: &str, column: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(value)
        .map_err(|e| AppError::internal_from(format!("watches.{column} {value:?}"), e))
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl WatchRow {
    /// Writes the checked fields into the row, resolving the target against
    /// the live concessions, actors and districts.
    fn set_fields(&mut self, conn: &mut DbConn, draft: &WatchDraft) -> Result<(), AppError> {
        self.email = draft.email.clone();
        self.event_types = serde_json::to_string(&draft.event_types)?;
        self.min_verification = draft.min_verification;
        self.frequency = draft.frequency;
        self.language = draft.language;
        self.target_type = draft.target.target_type();
        let resolved = resolve_target(conn, &draft.target)?;
        self.concession_id = resolved.concession_id;
        self.actor_id = resolved.actor_id;
        self.area = resolved.area;
        self.ubigeo = resolved.ubigeo;
        (self.min_lon, self.min_lat, self.max_lon, self.max_lat) = match resolved.bbox {
            Some([a, b, c, d]) => (Some(a), Some(b), Some(c), Some(d)),
            None => (None, None, None, None),
        };
        Ok(())
    }

    fn into_watch(self, codes: &HashMap<String, String>) -> Result<Watch, AppError> {
        let target = match self.target_type {
            TargetType::Concession => {
                let id = self.concession_id.as_deref().unwrap_or_default();
                Target::Concession {
                    concession_id: uuid(id, "concession_id")?,
                    code: codes.get(id).cloned().unwrap_or_default(),
                }
            }
            TargetType::Holder => Target::Holder {
                actor_id: uuid(self.actor_id.as_deref().unwrap_or_default(), "actor_id")?,
            },
            TargetType::Area => Target::Area {
                geometry: serde_json::from_str(self.area.as_deref().unwrap_or("null"))?,
            },
            TargetType::AdminArea => Target::AdminArea {
                ubigeo: self.ubigeo.clone().unwrap_or_default(),
            },
        };
        let event_types: Vec<EventType> = serde_json::from_str(&self.event_types)
            .map_err(|e| AppError::internal_from("watches.event_types", e))?;
        Ok(Watch {
            id: uuid(&self.id, "id")?,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            created_by: self.created_by.clone(),
            email: self.email.clone(),
            target,
            event_types,
            min_verification: self.min_verification,
            frequency: self.frequency,
            language: self.language,
            status: self.status,
            status_reason: self.status_reason.clone(),
            activated_at: self.activated_at.map(|t| t.and_utc()),
        })
    }
}

/// A target with what it names looked up: the columns a watch stores.
#[derive(Debug, Clone, Default)]
pub struct ResolvedTarget {
    pub concession_id: Option<String>,
    pub actor_id: Option<String>,
    /// The drawn area as GeoJSON text.
    pub area: Option<String>,
    /// min lon, min lat, max lon, max lat of the area.
    pub bbox: Option<[f64; 4]>,
    pub ubigeo: Option<String>,
}

/// Resolves a checked target against the live concessions, actors and
/// districts: what it names must exist (422 on the target's field).
pub fn resolve_target(conn: &mut DbConn, target: &TargetDraft) -> Result<ResolvedTarget, AppError> {
    let mut out = ResolvedTarget::default();
    let unknown =
        |field: &str, message: String| AppError::Validation(vec![FieldError::new(field, message)]);
    // What the target names must exist: its absence is the client's
    // error (422), a database failure is not.
    let missing = |e: AppError, field: &str, message: String| match e {
        AppError::NotFound(_) => unknown(field, message),
        other => other,
    };
    match target {
        TargetDraft::ConcessionCode(code) => {
            let id = concessions::table
                .filter(concessions::code.eq(code))
                .filter(concessions::deleted_at.is_null())
                .select(concessions::id)
                .first::<String>(conn)
                .optional()?
                .ok_or_else(|| {
                    unknown("target.code", format!("no concession with code {code:?}"))
                })?;
            out.concession_id = Some(id);
        }
        TargetDraft::ConcessionId(id) => {
            live_row_exists(conn, Named::Concession, id).map_err(|e| {
                missing(
                    e,
                    "target.concession_id",
                    format!("no concession with id {id:?}"),
                )
            })?;
            out.concession_id = Some(id.clone());
        }
        TargetDraft::Holder(id) => {
            live_row_exists(conn, Named::Holder, id)
                .map_err(|e| missing(e, "target.actor_id", format!("no actor with id {id:?}")))?;
            out.actor_id = Some(id.clone());
        }
        TargetDraft::Area(outline) => {
            let [min_lon, min_lat, max_lon, max_lat] = outline.bbox();
            out.area = Some(outline.to_geojson().to_string());
            out.bbox = Some([min_lon, min_lat, max_lon, max_lat]);
        }
        TargetDraft::AdminArea(ubigeo) => {
            // With boundaries loaded, a code that names no district is a
            // typo the user wants to hear about now, not a silent watch.
            let loaded: i64 = districts::table.count().get_result(conn)?;
            if loaded > 0 {
                let known: i64 = districts::table
                    .filter(districts::ubigeo.like(format!("{ubigeo}%")))
                    .count()
                    .get_result(conn)?;
                if known == 0 {
                    return Err(unknown(
                        "target.ubigeo",
                        format!("no region, province or district has ubigeo {ubigeo}"),
                    ));
                }
            }
            out.ubigeo = Some(ubigeo.clone());
        }
    }
    Ok(out)
}

/// The concession codes of the concession watches among `rows`.
fn codes_for(conn: &mut DbConn, rows: &[WatchRow]) -> Result<HashMap<String, String>, AppError> {
    let ids: Vec<&String> = rows
        .iter()
        .filter_map(|r| r.concession_id.as_ref())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(concessions::table
        .filter(concessions::id.eq_any(ids))
        .select((concessions::id, concessions::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

fn to_watch(conn: &mut DbConn, row: WatchRow) -> Result<Watch, AppError> {
    let codes = codes_for(conn, std::slice::from_ref(&row))?;
    row.into_watch(&codes)
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no watch with id {id}"))
}

fn load_row(conn: &mut DbConn, id: &str, scope: &Scope) -> Result<WatchRow, AppError> {
    let mut query = watches::table
        .find(id)
        .filter(watches::deleted_at.is_null())
        .select(WatchRow::as_select())
        .into_boxed();
    if let Scope::Owner(key) = scope {
        // Someone else's watch is as absent as a missing one.
        query = query.filter(watches::owner_key_id.eq(key.clone()));
    }
    query
        .first::<WatchRow>(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// Serialises concurrent writers of one watch on PostgreSQL; SQLite's write
/// transactions are exclusive already. `FOR NO KEY UPDATE`, not `FOR
/// UPDATE`: it conflicts only with another writer of the watch, never with
/// an incident's transaction, which holds the area watches' version (see
/// [`areas::version`]) that [`areas::bump`] waits for. (Alerts once took a
/// key share of their watch through a foreign key, which a full update
/// lock here would have deadlocked with; the key is gone, the lock stays
/// the narrowest one that serialises writers.)
fn lock(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        watches::table
            .find(id)
            .select(watches::id)
            .for_no_key_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub fn load(conn: &mut DbConn, id: &str, scope: &Scope) -> Result<Watch, AppError> {
    let row = load_row(conn, id, scope)?;
    to_watch(conn, row)
}

/// Queues the confirmation mail for the watch's current link, replacing any
/// unsent one (its link no longer works). Call [`may_mail`] first.
fn queue_confirmation(conn: &mut DbConn, row: &WatchRow) -> Result<(), AppError> {
    cancel_pending(
        conn,
        &row.id,
        Some(MailKind::Confirmation),
        "a newer link was sent",
    )?;
    let mail = NewMail::new(
        MailKind::Confirmation,
        &row.id,
        None,
        &row.email,
        Frequency::Immediate,
        &Reason::Confirmation,
    )?;
    insert_ignoring_repeats(conn, std::slice::from_ref(&mail))
}

/// Serialises, on PostgreSQL, the writers that may mail one address or
/// for one key, so that the limits are checked against every mail queued
/// before: 30 requests at once send what the limit allows, not 30. The
/// locks are transaction advisory locks, taken key first, then address.
/// SQLite's write transactions are exclusive already.
fn lock_mail_quota(conn: &mut DbConn, key: Option<&str>, email: &str) -> Result<(), AppError> {
    use sha2::{Digest, Sha256};
    let DbConn::Pg(pg) = conn else {
        return Ok(());
    };
    let names = [
        key.map(|k| format!("vigia watch key\n{k}")),
        Some(format!("vigia watch address\n{}", email.to_lowercase())),
    ];
    for name in names.into_iter().flatten() {
        let digest = Sha256::digest(name.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(i64::from_be_bytes(first))
            .execute(pg)?;
    }
    Ok(())
}

fn too_many(detail: String, wait: Duration) -> AppError {
    let seconds = wait.num_seconds().max(1);
    AppError::TooManyRequests(
        format!("{detail}; try again in {seconds} s"),
        u64::try_from(seconds).unwrap_or(1),
    )
}

/// Whether a confirmation mail may go to `email` now. Every confirmation
/// counts but those the mail server refused for good (`failed`), which
/// reached nobody; a cancelled one counts (it may have been in flight when
/// it was cancelled, and counting it keeps a create-and-delete loop from
/// mailing for free). For the watch
/// `watch` (a resend or a new address; `None` for a new watch) no sooner
/// than `resend_interval` after its last one, and within the hourly limits
/// of the address and of the owner's key. 429 with the seconds to wait
/// otherwise. Takes the locks that make the answer hold until commit.
fn may_mail(
    conn: &mut DbConn,
    owner: Option<&str>,
    email: &str,
    watch: Option<&str>,
    policy: &Policy,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    lock_mail_quota(conn, owner, email)?;
    if let Some(watch) = watch {
        // When the watch's last confirmation went (or was queued, if it has
        // not gone yet); one the server refused for good is not "sent".
        let last = alerts::table
            .filter(alerts::watch_id.eq(watch))
            .filter(alerts::kind.eq(MailKind::Confirmation))
            .filter(alerts::status.ne(AlertStatus::Failed))
            .select((alerts::created_at, alerts::sent_at))
            .load::<(NaiveDateTime, Option<NaiveDateTime>)>(conn)?
            .into_iter()
            .map(|(queued, sent)| sent.unwrap_or(queued))
            .max();
        if let Some(last) = last {
            let next_allowed = last + policy.resend_interval;
            if now < next_allowed {
                return Err(too_many(
                    format!(
                        "a confirmation for this watch was sent less than {} s ago",
                        policy.resend_interval.num_seconds()
                    ),
                    next_allowed - now,
                ));
            }
        }
    }
    let hour = Duration::hours(1);
    let recent: Vec<(String, NaiveDateTime, Option<String>)> = alerts::table
        .inner_join(watches::table)
        .filter(alerts::kind.eq(MailKind::Confirmation))
        .filter(alerts::status.ne(AlertStatus::Failed))
        .filter(alerts::created_at.gt(now - hour))
        .select((alerts::recipient, alerts::created_at, watches::owner_key_id))
        .order(alerts::created_at.desc())
        .load(conn)?;
    // With `limit` mails in the window, the next may go when the
    // `limit`-th newest leaves it.
    let wait = |times: Vec<NaiveDateTime>, limit: i64| {
        let nth = usize::try_from(limit.max(1) - 1).unwrap_or(0);
        times.get(nth).map(|t| *t + hour - now)
    };
    let to_address = recent
        .iter()
        .filter(|(to, _, _)| to.eq_ignore_ascii_case(email))
        .map(|(_, at, _)| *at)
        .collect();
    if let Some(wait) = wait(to_address, policy.per_address_per_hour) {
        return Err(too_many(
            format!(
                "this address has been sent {} confirmation mails in the last hour, the most allowed",
                policy.per_address_per_hour
            ),
            wait,
        ));
    }
    if let Some(owner) = owner {
        let for_key = recent
            .iter()
            .filter(|(_, _, key)| key.as_deref() == Some(owner))
            .map(|(_, at, _)| *at)
            .collect();
        if let Some(wait) = wait(for_key, policy.per_key_per_hour) {
            return Err(too_many(
                format!(
                    "the watches of your key have caused {} confirmation mails in the last hour, the most allowed",
                    policy.per_key_per_hour
                ),
                wait,
            ));
        }
    }
    Ok(())
}

/// 409 when the owner has a live (pending or active) watch just like
/// `row` (same address, target, filters, frequency and language): a second
/// one would only send every mail twice. Names the watch it repeats.
fn refuse_identical(conn: &mut DbConn, row: &WatchRow) -> Result<(), AppError> {
    // Watches are made through the API, by a key; one without an owner
    // repeats nothing anybody could see.
    let Some(owner) = &row.owner_key_id else {
        return Ok(());
    };
    let candidates: Vec<WatchRow> = watches::table
        .filter(watches::owner_key_id.eq(owner))
        .filter(watches::deleted_at.is_null())
        .filter(watches::status.eq_any([WatchStatus::Pending, WatchStatus::Active]))
        .filter(watches::target_type.eq(row.target_type))
        .filter(watches::id.ne(&row.id))
        .select(WatchRow::as_select())
        .load(conn)?;
    let same = |other: &WatchRow| {
        other.email.eq_ignore_ascii_case(&row.email)
            && other.concession_id == row.concession_id
            && other.actor_id == row.actor_id
            && other.area == row.area
            && other.ubigeo == row.ubigeo
            && other.event_types == row.event_types
            && other.min_verification == row.min_verification
            && other.frequency == row.frequency
            && other.language == row.language
    };
    match candidates.iter().find(|other| same(other)) {
        Some(other) => Err(AppError::Conflict(format!(
            "an identical watch already exists: {} ({}); confirm it, or ask for its confirmation again with POST /api/v1/watches/{}/resend",
            other.id,
            other.status.as_str(),
            other.id
        ))),
        None => Ok(()),
    }
}

/// Cancels the watch's unsent mails (of one kind, or all).
fn cancel_pending(
    conn: &mut DbConn,
    watch_id: &str,
    kind: Option<MailKind>,
    why: &str,
) -> Result<(), AppError> {
    let mut target = diesel::update(alerts::table)
        .filter(alerts::watch_id.eq(watch_id))
        .filter(alerts::status.eq(AlertStatus::Pending))
        .into_boxed();
    if let Some(kind) = kind {
        target = target.filter(alerts::kind.eq(kind));
    }
    target
        .set((
            alerts::status.eq(AlertStatus::Cancelled),
            alerts::last_error.eq(Some(why)),
            alerts::lease_owner.eq(None::<String>),
            alerts::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

fn start_confirmation(row: &mut WatchRow, now: NaiveDateTime, policy: &Policy) {
    row.status = WatchStatus::Pending;
    row.activated_at = None;
    row.confirm_nonce = new_nonce();
    row.confirm_expires_at = now + policy.confirm_ttl;
    row.confirm_sent_at = now;
}

/// Stores a new, pending watch and queues its confirmation mail.
#[tracing::instrument(level = "info", skip_all)]
pub fn create(
    conn: &mut DbConn,
    who: &Who,
    draft: &WatchDraft,
    policy: &Policy,
) -> Result<Watch, AppError> {
    db::write_tx(conn, |conn| {
        let now = db::now();
        let mut row = WatchRow {
            id: Uuid::new_v4().to_string(),
            version: 1,
            created_at: now,
            updated_at: now,
            created_by: who.name.clone(),
            owner_key_id: who.key_id.clone(),
            email: String::new(),
            target_type: draft.target.target_type(),
            concession_id: None,
            actor_id: None,
            area: None,
            min_lon: None,
            min_lat: None,
            max_lon: None,
            max_lat: None,
            ubigeo: None,
            event_types: String::new(),
            min_verification: draft.min_verification,
            frequency: draft.frequency,
            language: draft.language,
            status: WatchStatus::Pending,
            activated_at: None,
            confirm_nonce: String::new(),
            confirm_expires_at: now,
            confirm_sent_at: now,
            deleted_at: None,
            status_reason: None,
        };
        row.set_fields(conn, draft)?;
        lock_mail_quota(conn, who.key_id.as_deref(), &row.email)?;
        refuse_identical(conn, &row)?;
        may_mail(conn, who.key_id.as_deref(), &row.email, None, policy, now)?;
        start_confirmation(&mut row, now, policy);
        diesel::insert_into(watches::table)
            .values(&row)
            .execute(conn)?;
        queue_confirmation(conn, &row)?;
        let watch = to_watch(conn, row)?;
        audit::record(
            conn,
            who,
            Action::Create,
            ENTITY,
            &watch.id.to_string(),
            None::<&()>,
            Some(&watch),
        )?;
        Ok(watch)
    })
}

/// Changes a watch. A new address must be confirmed again: the watch goes
/// back to `pending`, its unsent alerts are cancelled, and a confirmation
/// goes to the new address.
#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn update(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    scope: &Scope,
    if_match: &IfMatch,
    policy: &Policy,
    change: impl FnOnce(&Watch) -> Result<WatchDraft, AppError>,
) -> Result<Watch, AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let mut row = load_row(conn, id, scope)?;
        let before = to_watch(conn, row.clone())?;
        let draft = change(&before)?;
        if_match.check(before.version)?;
        if row.status == WatchStatus::Suspended {
            return Err(suspended(&row));
        }
        let now = db::now();
        let was_area = row.target_type == TargetType::Area;
        row.set_fields(conn, &draft)?;
        if was_area || row.target_type == TargetType::Area {
            areas::bump(conn)?;
        }
        row.version += 1;
        row.updated_at = now;
        let owner = row.owner_key_id.clone();
        lock_mail_quota(conn, owner.as_deref(), &row.email)?;
        refuse_identical(conn, &row)?;
        let new_address = !row.email.eq_ignore_ascii_case(&before.email);
        if new_address {
            // A new address is a new confirmation mail: the resend interval
            // and the hourly limits hold for it as for a resend.
            may_mail(conn, owner.as_deref(), &row.email, Some(id), policy, now)?;
            start_confirmation(&mut row, now, policy);
            cancel_pending(
                conn,
                id,
                Some(MailKind::Alert),
                "the watch's address changed",
            )?;
        }
        diesel::update(watches::table.find(id))
            .set(&row)
            .execute(conn)?;
        if new_address {
            queue_confirmation(conn, &row)?;
        }
        let after = to_watch(conn, row)?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Deletes a watch (soft): it sends nothing more, unsent mails included.
#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn delete(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    scope: &Scope,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let row = load_row(conn, id, scope)?;
        let before = to_watch(conn, row.clone())?;
        if_match.check(before.version)?;
        if row.target_type == TargetType::Area {
            areas::bump(conn)?;
        }
        let now = db::now();
        diesel::update(watches::table.find(id))
            .set((
                watches::deleted_at.eq(Some(now)),
                watches::updated_at.eq(now),
                watches::version.eq(row.version + 1),
            ))
            .execute(conn)?;
        cancel_pending(conn, id, None, "the watch was deleted")?;
        audit::record(
            conn,
            who,
            Action::Delete,
            ENTITY,
            id,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// Sends a pending watch's confirmation again, with a new link (the old one
/// stops working). At most once per `alerts.resend_interval_seconds` after
/// the last confirmation that did not fail, and within the hourly limits:
/// 429 with the seconds to wait otherwise.
#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn resend(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    scope: &Scope,
    policy: &Policy,
) -> Result<Watch, AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let mut row = load_row(conn, id, scope)?;
        let status = row.status;
        if status != WatchStatus::Pending {
            return Err(AppError::Conflict(format!(
                "watch {id} is {}: only a pending watch needs its confirmation again",
                status.as_str()
            )));
        }
        let now = db::now();
        let owner = row.owner_key_id.clone();
        may_mail(conn, owner.as_deref(), &row.email, Some(id), policy, now)?;
        let before = to_watch(conn, row.clone())?;
        start_confirmation(&mut row, now, policy);
        row.version += 1;
        row.updated_at = now;
        diesel::update(watches::table.find(id))
            .set(&row)
            .execute(conn)?;
        queue_confirmation(conn, &row)?;
        let after = to_watch(conn, row)?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// What opening a confirmation link did.
#[derive(Debug)]
pub enum Confirmed {
    Now(Watch),
    Already(Watch),
}

fn bad_link(detail: &str) -> AppError {
    AppError::BadRequest(detail.to_string())
}

/// The watch a confirmation token names, if the token is genuine and
/// current, and the watch can be confirmed (or already is); an expired link
/// of a pending watch is refused. Changes nothing.
fn confirmation_row(
    conn: &mut DbConn,
    signer: &LinkSigner,
    token: &str,
) -> Result<WatchRow, AppError> {
    let invalid = "this confirmation link is not valid; use the latest link you received";
    let (id, expires, sig) = LinkSigner::parse_confirm(token).ok_or_else(|| bad_link(invalid))?;
    let row = load_row(conn, &id, &Scope::All).map_err(|_| bad_link(invalid))?;
    if !signer.check_confirm(&id, expires, &row.confirm_nonce, &sig)
        || row.confirm_expires_at.and_utc().timestamp() != expires
    {
        return Err(bad_link(invalid));
    }
    match row.status {
        WatchStatus::Active => return Ok(row),
        WatchStatus::Unsubscribed => {
            return Err(AppError::Conflict(
                "this watch was unsubscribed; create a new one to receive alerts again".into(),
            ))
        }
        WatchStatus::Suspended => return Err(suspended(&row)),
        WatchStatus::Pending => {}
    }
    if db::now() > row.confirm_expires_at {
        return Err(bad_link(
            "this confirmation link has expired; ask for a new one (POST /api/v1/watches/{id}/resend)",
        ));
    }
    Ok(row)
}

/// What the page a confirmation link opens needs: the watch's language and
/// whether it is active already. Checks the link as [`confirm`] would, and
/// changes nothing: opening a link (as mail scanners do) confirms nothing.
#[tracing::instrument(level = "debug", skip_all)]
pub fn for_confirm(
    conn: &mut DbConn,
    signer: &LinkSigner,
    token: &str,
) -> Result<(Language, bool), AppError> {
    let row = confirmation_row(conn, signer, token)?;
    Ok((row.language, row.status == WatchStatus::Active))
}

/// Activates the watch a confirmation token names, if the token is genuine,
/// current and not expired (the POST of the page the link opens).
#[tracing::instrument(level = "info", skip_all)]
pub fn confirm(conn: &mut DbConn, signer: &LinkSigner, token: &str) -> Result<Confirmed, AppError> {
    db::write_tx(conn, |conn| {
        if let Some((id, _, _)) = LinkSigner::parse_confirm(token) {
            lock(conn, &id)?;
        }
        let mut row = confirmation_row(conn, signer, token)?;
        if row.status == WatchStatus::Active {
            return Ok(Confirmed::Already(to_watch(conn, row)?));
        }
        let now = db::now();
        let id = row.id.clone();
        let before = to_watch(conn, row.clone())?;
        if row.target_type == TargetType::Area {
            areas::bump(conn)?;
        }
        row.status = WatchStatus::Active;
        row.activated_at = Some(now);
        row.version += 1;
        row.updated_at = now;
        diesel::update(watches::table.find(&id))
            .set(&row)
            .execute(conn)?;
        let after = to_watch(conn, row)?;
        let link = Who {
            key_id: None,
            name: "confirmation link".into(),
        };
        audit::record(
            conn,
            &link,
            Action::Update,
            ENTITY,
            &id,
            Some(&before),
            Some(&after),
        )?;
        Ok(Confirmed::Now(after))
    })
}

/// The watch an unsubscribe token names, for the page that asks "sure?".
#[tracing::instrument(level = "debug", skip_all)]
pub fn for_unsubscribe(
    conn: &mut DbConn,
    signer: &LinkSigner,
    token: &str,
) -> Result<(String, Language), AppError> {
    let id = signer
        .check_unsubscribe(token)
        .ok_or_else(|| bad_link("this unsubscribe link is not valid"))?;
    let language: Language = watches::table
        .find(&id)
        .select(watches::language)
        .first(conn)
        .optional()?
        .ok_or_else(|| bad_link("this unsubscribe link is not valid"))?;
    Ok((id, language))
}

/// Stops the watch an unsubscribe token names, at once and for good; unsent
/// mails are cancelled. Repeating it changes nothing.
#[tracing::instrument(level = "info", skip_all)]
pub fn unsubscribe(
    conn: &mut DbConn,
    signer: &LinkSigner,
    token: &str,
) -> Result<Language, AppError> {
    let (id, language) = for_unsubscribe(conn, signer, token)?;
    db::write_tx(conn, |conn| {
        lock(conn, &id)?;
        let Some(mut row) = watches::table
            .find(&id)
            .select(WatchRow::as_select())
            .first::<WatchRow>(conn)
            .optional()?
        else {
            return Err(bad_link("this unsubscribe link is not valid"));
        };
        if row.status == WatchStatus::Unsubscribed {
            return Ok(language);
        }
        let before = to_watch(conn, row.clone())?;
        if row.target_type == TargetType::Area {
            areas::bump(conn)?;
        }
        row.status = WatchStatus::Unsubscribed;
        row.version += 1;
        row.updated_at = db::now();
        diesel::update(watches::table.find(&id))
            .set(&row)
            .execute(conn)?;
        cancel_pending(conn, &id, None, "unsubscribed")?;
        let after = to_watch(conn, row)?;
        let link = Who {
            key_id: None,
            name: "unsubscribe link".into(),
        };
        audit::record(
            conn,
            &link,
            Action::Update,
            ENTITY,
            &id,
            Some(&before),
            Some(&after),
        )?;
        Ok(language)
    })
}

fn suspended(row: &WatchRow) -> AppError {
    AppError::Conflict(format!(
        "this watch is suspended ({}); it cannot be changed or confirmed: create a new watch",
        row.status_reason.as_deref().unwrap_or("no reason recorded")
    ))
}

/// Suspends every live `pending` or `active` watch owned by the API key
/// `key_id` (its key was revoked): the watch keeps `reason`, sends nothing
/// more, and its unsent mails are cancelled with `reason` in their
/// `last_error`; each change audited. A suspended watch stays so: a new key
/// does not restart it. Call in the revocation's transaction. Returns how
/// many watches were suspended.
#[tracing::instrument(level = "info", skip_all, fields(key_id = %key_id))]
pub fn suspend_owned(
    conn: &mut DbConn,
    who: &Who,
    key_id: &str,
    reason: &str,
) -> Result<usize, AppError> {
    let ids: Vec<String> = watches::table
        .filter(watches::owner_key_id.eq(key_id))
        .filter(watches::deleted_at.is_null())
        .filter(watches::status.eq_any([WatchStatus::Pending, WatchStatus::Active]))
        .select(watches::id)
        .load(conn)?;
    rewrite_each(conn, who, &ids, |conn, row| {
        row.status = WatchStatus::Suspended;
        row.status_reason = Some(reason.to_string());
        cancel_pending(conn, &row.id, None, reason)
    })
}

/// Points holder watches of `from` at `into`, when `from` is merged into it,
/// so they do not fall silent; each change audited. Call in the merge's
/// transaction. Returns how many watches moved.
#[tracing::instrument(level = "info", skip_all, fields(from = %from, into = %into))]
pub fn holder_merged(
    conn: &mut DbConn,
    who: &Who,
    from: &str,
    into: &str,
) -> Result<usize, AppError> {
    let ids: Vec<String> = watches::table
        .filter(watches::actor_id.eq(from))
        .filter(watches::deleted_at.is_null())
        .select(watches::id)
        .load(conn)?;
    rewrite_each(conn, who, &ids, |_, row| {
        row.actor_id = Some(into.to_string());
        Ok(())
    })
}

/// Rewrites each watch of `ids` with `change` under its row lock: version
/// +1, audited with the watch before and after. Returns how many.
fn rewrite_each(
    conn: &mut DbConn,
    who: &Who,
    ids: &[String],
    mut change: impl FnMut(&mut DbConn, &mut WatchRow) -> Result<(), AppError>,
) -> Result<usize, AppError> {
    for id in ids {
        lock(conn, id)?;
        let mut row = load_row(conn, id, &Scope::All)?;
        let before = to_watch(conn, row.clone())?;
        let was_area = row.target_type == TargetType::Area;
        change(conn, &mut row)?;
        if was_area || row.target_type == TargetType::Area {
            areas::bump(conn)?;
        }
        row.version += 1;
        row.updated_at = db::now();
        diesel::update(watches::table.find(id))
            .set(&row)
            .execute(conn)?;
        let after = to_watch(conn, row)?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            id,
            Some(&before),
            Some(&after),
        )?;
    }
    Ok(ids.len())
}

#[derive(Debug, Clone, Default)]
pub struct WatchFilter {
    pub status: Option<WatchStatus>,
    /// (created_at, id) of the last watch served.
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// Live watches in scope, newest first; up to `limit + 1`.
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn list(conn: &mut DbConn, scope: &Scope, f: &WatchFilter) -> Result<Vec<Watch>, AppError> {
    let mut query = watches::table
        .filter(watches::deleted_at.is_null())
        .select(WatchRow::as_select())
        .into_boxed();
    if let Scope::Owner(key) = scope {
        query = query.filter(watches::owner_key_id.eq(key.clone()));
    }
    if let Some(status) = f.status {
        query = query.filter(watches::status.eq(status));
    }
    if let Some((at, id)) = &f.after {
        query = query.filter(
            watches::created_at
                .lt(*at)
                .or(watches::created_at.eq(*at).and(watches::id.lt(id.clone()))),
        );
    }
    let rows: Vec<WatchRow> = query
        .order((watches::created_at.desc(), watches::id.desc()))
        .limit(f.limit + 1)
        .load(conn)?;
    let codes = codes_for(conn, &rows)?;
    rows.into_iter().map(|r| r.into_watch(&codes)).collect()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alerts)]
struct AlertRow {
    id: String,
    kind: MailKind,
    watch_id: String,
    event_id: Option<String>,
    recipient: String,
    frequency: Frequency,
    reason: String,
    status: AlertStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    sent_at: Option<NaiveDateTime>,
}

impl AlertRow {
    fn into_record(self) -> Result<AlertRecord, AppError> {
        let bad = |column: &str, value: &str, e: uuid::Error| {
            AppError::internal_from(format!("alerts.{column} {value:?}"), e)
        };
        Ok(AlertRecord {
            id: Uuid::parse_str(&self.id).map_err(|e| bad("id", &self.id, e))?,
            kind: self.kind,
            watch_id: Uuid::parse_str(&self.watch_id)
                .map_err(|e| bad("watch_id", &self.watch_id, e))?,
            event_id: self
                .event_id
                .as_deref()
                .map(|id| Uuid::parse_str(id).map_err(|e| bad("event_id", id, e)))
                .transpose()?,
            recipient: self.recipient,
            frequency: self.frequency,
            reason: serde_json::from_str(&self.reason)?,
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.and_utc(),
            last_error: self.last_error,
            created_at: self.created_at.and_utc(),
            sent_at: self.sent_at.map(|t| t.and_utc()),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub watch_id: Option<String>,
    pub event_id: Option<String>,
    pub status: Option<AlertStatus>,
    pub kind: Option<MailKind>,
    /// Mail to addresses containing this text (the admins' page).
    pub recipient: Option<String>,
    /// Queued at or after / at or before.
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// The delivery log, newest first; up to `limit + 1` rows.
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn list_alerts(conn: &mut DbConn, f: &AlertFilter) -> Result<Vec<AlertRecord>, AppError> {
    let mut query = alerts::table.select(AlertRow::as_select()).into_boxed();
    if let Some(watch) = &f.watch_id {
        query = query.filter(alerts::watch_id.eq(watch.clone()));
    }
    if let Some(event) = &f.event_id {
        query = query.filter(alerts::event_id.eq(event.clone()));
    }
    if let Some(status) = f.status {
        query = query.filter(alerts::status.eq(status));
    }
    if let Some(kind) = f.kind {
        query = query.filter(alerts::kind.eq(kind));
    }
    if let Some(recipient) = &f.recipient {
        query = query.filter(
            alerts::recipient
                .like(crate::text::contains_pattern(recipient))
                .escape('\\'),
        );
    }
    if let Some(from) = f.from {
        query = query.filter(alerts::created_at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(alerts::created_at.le(to));
    }
    if let Some((at, id)) = &f.after {
        query = query.filter(
            alerts::created_at
                .lt(*at)
                .or(alerts::created_at.eq(*at).and(alerts::id.lt(id.clone()))),
        );
    }
    query
        .order((alerts::created_at.desc(), alerts::id.desc()))
        .limit(f.limit + 1)
        .load::<AlertRow>(conn)?
        .into_iter()
        .map(AlertRow::into_record)
        .collect()
}

/// What a watch names by id: a concession or a holder (an actor).
#[derive(Clone, Copy)]
enum Named {
    Concession,
    Holder,
}

/// NotFound unless the concession or actor `id` is live. A plain read of the
/// other module's table: watches check what they name, they change nothing there.
fn live_row_exists(conn: &mut DbConn, target: Named, id: &str) -> Result<(), AppError> {
    let found = match target {
        Named::Concession => concessions::table
            .find(id)
            .filter(concessions::deleted_at.is_null())
            .select(concessions::id)
            .first::<String>(conn)
            .optional()?,
        Named::Holder => actors::table
            .find(id)
            .filter(actors::deleted_at.is_null())
            .select(actors::id)
            .first::<String>(conn)
            .optional()?,
    };
    found
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound(format!("no such row {id}")))
}

/// The outbox as monitoring sees it.
#[derive(Debug, Clone, Default)]
pub struct OutboxStats {
    /// Rows by (kind, status).
    pub counts: Vec<(String, String, i64)>,
    /// When the oldest alert still pending was queued.
    pub oldest_pending_alert: Option<NaiveDateTime>,
    /// The earliest due time of mail still pending and due by `now`.
    pub oldest_due: Option<NaiveDateTime>,
}

pub fn outbox_stats(conn: &mut DbConn, now: NaiveDateTime) -> Result<OutboxStats, AppError> {
    let counts = alerts::table
        .group_by((alerts::kind, alerts::status))
        .select((alerts::kind, alerts::status, diesel::dsl::count_star()))
        .load::<(String, String, i64)>(conn)?;
    let oldest_pending_alert = alerts::table
        .filter(alerts::status.eq("pending"))
        .filter(alerts::kind.eq("alert"))
        .select(diesel::dsl::min(alerts::created_at))
        .first::<Option<NaiveDateTime>>(conn)?;
    let oldest_due = oldest_due(conn, now)?;
    Ok(OutboxStats {
        counts,
        oldest_pending_alert,
        oldest_due,
    })
}

/// The earliest due time of pending mail due by `now` (alerts and
/// confirmations; digests wait for their hour and are not due before it).
pub fn oldest_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(alerts::table
        .filter(alerts::status.eq("pending"))
        .filter(alerts::next_attempt_at.le(now))
        .select(diesel::dsl::min(alerts::next_attempt_at))
        .first::<Option<NaiveDateTime>>(conn)?)
}

/// When each of `watch_ids` last sent an alert (watches that never did are
/// absent).
#[tracing::instrument(level = "debug", skip_all, fields(watches = watch_ids.len()))]
pub fn last_alerted(
    conn: &mut DbConn,
    watch_ids: &[String],
) -> Result<HashMap<String, NaiveDateTime>, AppError> {
    if watch_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<NaiveDateTime>)> = alerts::table
        .filter(alerts::watch_id.eq_any(watch_ids))
        .filter(alerts::kind.eq(MailKind::Alert))
        .filter(alerts::status.eq(AlertStatus::Sent))
        .group_by(alerts::watch_id)
        .select((alerts::watch_id, diesel::dsl::max(alerts::sent_at)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect())
}

/// Makes the unsent alerts of `event_ids` (incidents a file brought in) one
/// digest per watch, sent at the worker's next pass whatever the watch's
/// frequency: an import of thousands of incidents is one mail per watch.
/// Returns how many alerts it touched.
pub fn send_as_digest(conn: &mut DbConn, event_ids: &[String]) -> Result<usize, AppError> {
    // A daily alert is due once a digest time has passed since its
    // `next_attempt_at`; a day ago, one has.
    let due = db::now() - Duration::days(1);
    let mut touched = 0;
    for chunk in event_ids.chunks(1000) {
        touched += diesel::update(
            alerts::table
                .filter(alerts::kind.eq(MailKind::Alert))
                .filter(alerts::status.eq(AlertStatus::Pending))
                .filter(alerts::attempts.eq(0))
                .filter(alerts::event_id.eq_any(chunk)),
        )
        .set((
            alerts::frequency.eq(Frequency::Daily),
            alerts::next_attempt_at.eq(due),
        ))
        .execute(conn)?;
    }
    Ok(touched)
}
