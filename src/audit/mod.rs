//! The audit trail: who changed what, when, with the JSON before and after.
//! Records are written by the store functions of each domain module inside the
//! same transaction as the change they describe, so one never exists without
//! the other.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::error::AppError;
use crate::schema::audit_log;

pub mod pseudonyms;
pub use pseudonyms::Pseudonyms;

/// Who acts: an API key, a person signed in to the pages, or an operator
/// at the command line.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The key's id, or `user:<id>` for a person; `None` at the command line.
    pub key_id: Option<String>,
    pub name: String,
}

impl Actor {
    pub fn cli() -> Self {
        Actor {
            key_id: None,
            name: "cli".into(),
        }
    }
}

string_enum! {
    /// What a change did.
    pub enum Action {
        Create = "create",
        Update = "update",
        Delete = "delete",
        Restore = "restore",
        Revoke = "revoke",
        Merge = "merge",
    }
}

string_enum! {
    /// What an audit record is about.
    pub enum Entity {
        Event = "event",
        Actor = "actor",
        /// An actor's link to an incident (entity id: the incident's).
        EventActor = "event_actor",
        Concession = "concession",
        /// A whole concession import (entity id `import`).
        Concessions = "concessions",
        /// The whole district layer (entity id `all`).
        Districts = "districts",
        Case = "case",
        ReportEntry = "report_entry",
        /// A whole report-entry import (entity id `import`).
        ReportEntries = "report_entries",
        /// An incident's link to a case (entity id: the incident's).
        EventCase = "event_case",
        /// The concessions an incident falls in, matched again after the
        /// cadastre changed (entity id: the incident's).
        EventConcession = "event_concession",
        Watch = "watch",
        ApiKey = "api_key",
        /// A person's account (invited, role changed, disabled, password set).
        User = "user",
        /// A file attached to an incident or a case.
        Attachment = "attachment",
        /// A suggested case dismissed for an incident (entity id: the
        /// incident's).
        CaseDismissal = "case_dismissal",
        /// A mail of a watch in the outbox (an admin asked to retry it now).
        Alert = "alert",
    }
}

/// One audited change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecord {
    /// Increasing number of the record.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The API key that made the change; `null` for command-line actions;
    /// left out for researchers.
    pub key_id: Option<String>,
    /// Its name; researchers read a stable pseudonym (`persona-3fa9c2d1`).
    pub key_name: String,
    pub action: Action,
    pub entity: Entity,
    pub entity_id: String,
    /// The entity as it was before the change (`null` on create).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The entity as it is after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    seq: i64,
    at: NaiveDateTime,
    key_id: Option<String>,
    key_name: String,
    action: Action,
    entity: Entity,
    entity_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
}

impl AuditRow {
    fn into_record(self) -> AuditRecord {
        let parse = |json: Option<String>| json.and_then(|s| serde_json::from_str(&s).ok());
        AuditRecord {
            id: self.seq,
            at: self.at.and_utc(),
            key_id: self.key_id,
            key_name: self.key_name,
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id,
            before: parse(self.before_json),
            after: parse(self.after_json),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditRow<'a> {
    at: NaiveDateTime,
    key_id: Option<&'a str>,
    key_name: &'a str,
    action: Action,
    entity: Entity,
    entity_id: &'a str,
    before_json: Option<String>,
    after_json: Option<String>,
}

/// Writes one audit record. Call it inside the transaction of the change.
#[tracing::instrument(level = "debug", skip_all, fields(action = action.as_str(), entity = entity.as_str(), entity_id = %entity_id))]
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConn,
    actor: &Actor,
    action: Action,
    entity: Entity,
    entity_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let row = NewAuditRow {
        at: crate::db::now(),
        key_id: actor.key_id.as_deref(),
        key_name: &actor.name,
        action,
        entity,
        entity_id,
        before_json: before.map(serde_json::to_string).transpose()?,
        after_json: after.map(serde_json::to_string).transpose()?,
    };
    diesel::insert_into(audit_log::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// What to select from the trail.
#[derive(Debug, Default)]
pub struct AuditFilter {
    /// Records of any of these entities (none: of every entity).
    pub entities: Vec<Entity>,
    pub entity_id: Option<String>,
    pub key_id: Option<String>,
    /// Records made under this name (a key's or a person's), as the
    /// admins' page picks it from [`names`].
    pub key_name: Option<String>,
    pub action: Option<Action>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Oldest first (an entity's history) instead of newest first.
    pub oldest_first: bool,
    /// Only records after this `id` in the chosen order.
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Up to `limit + 1` records, for [`crate::pagination::Page::from_rows`].
#[tracing::instrument(level = "debug", skip_all, fields(limit = filter.limit))]
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> Result<Vec<AuditRecord>, AppError> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if !filter.entities.is_empty() {
        query = query.filter(audit_log::entity.eq_any(filter.entities.clone()));
    }
    if let Some(id) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(id.clone()));
    }
    if let Some(key) = &filter.key_id {
        query = query.filter(audit_log::key_id.eq(key.clone()));
    }
    if let Some(name) = &filter.key_name {
        query = query.filter(audit_log::key_name.eq(name.clone()));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_log::action.eq(action));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.le(to));
    }
    query = match (filter.oldest_first, filter.after_id) {
        (true, Some(after)) => query.filter(audit_log::seq.gt(after)),
        (false, Some(after)) => query.filter(audit_log::seq.lt(after)),
        _ => query,
    };
    query = if filter.oldest_first {
        query.order(audit_log::seq.asc())
    } else {
        query.order(audit_log::seq.desc())
    };
    let rows = query.limit(filter.limit + 1).load::<AuditRow>(conn)?;
    Ok(rows.into_iter().map(AuditRow::into_record).collect())
}

/// The names records were made under (keys, people, `cli`), for the
/// admins' "who" filter; at most `limit`, in order.
#[tracing::instrument(level = "debug", skip_all)]
pub fn names(conn: &mut DbConn, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(audit_log::table
        .select(audit_log::key_name)
        .distinct()
        .order(audit_log::key_name.asc())
        .limit(limit)
        .load(conn)?)
}
