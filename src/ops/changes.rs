//! A page of a change feed with each changed record as it is now.
//!
//! A mirror applies the items in order: a record replaces its copy, a
//! `null` record (deleted, merged away, or gone) removes it. Because each
//! item carries the record's current state, not the state at that change,
//! a mirror that has read to the end of the feed holds exactly what the
//! database holds, whatever it missed in between.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::Actor;
use crate::cases::Case;
use crate::changes::{self, ChangeRow, Feed, FeedChange, Position};
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::Event;
use crate::pagination;
use crate::places::Concession;

/// Changes read per page at most (`limit`).
pub const MAX_LIMIT: i64 = 500;
pub const DEFAULT_LIMIT: i64 = 100;

/// One changed record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeItem<T> {
    /// The record's id.
    pub id: String,
    /// What happened: `create`, `update`, `delete` or `restore`. Several
    /// changes of one record within a page are one item: `delete` if the
    /// record is gone now, else `create` if it was created in the page,
    /// `restore` if restored, otherwise `update`.
    pub change: FeedChange,
    /// When the last of those changes was written.
    pub at: DateTime<Utc>,
    /// The record as it is now (what `GET` on it answers); `null` when it
    /// is deleted: remove it from your copy.
    #[schema(schema_with = nullable_record::<T>)]
    pub record: Option<T>,
}

/// `null` or the record's own schema (utoipa would inline a generic
/// `Option<T>` without its `null`).
fn nullable_record<T: ToSchema>() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::Ref;
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .item(Ref::from_schema_name(T::name()))
            .build(),
    )
}

/// A page of a change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage<T> {
    pub items: Vec<ChangeItem<T>>,
    /// Pass as `since` for what comes next. Always present: with no new
    /// changes it is the `since` you sent, so keep polling with it.
    pub next_cursor: String,
    /// Whether more changes are already waiting (ask again at once).
    pub more: bool,
}

/// Loads the live records among some ids (a missing or deleted one is left
/// out): `events`, `actors`, `concessions`, `cases` below.
pub type Loader<T> = fn(&mut DbConn, &[String]) -> Result<HashMap<String, T>, AppError>;

/// Reads a feed after `since` (an opaque cursor; none: from the start).
pub fn page<T>(
    conn: &mut DbConn,
    feed: Feed,
    since: Option<&str>,
    limit: Option<i64>,
    load: impl FnOnce(&mut DbConn, &[String]) -> Result<HashMap<String, T>, AppError>,
) -> Result<ChangePage<T>, AppError> {
    let after: Position = since
        .map(pagination::decode)
        .transpose()?
        .unwrap_or_default();
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(AppError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {n}"
            )))
        }
    };
    let mut rows = changes::read(conn, feed, after, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = rows.last().map_or(after, ChangeRow::position);

    let collapsed = collapse(&rows);
    let ids: Vec<String> = collapsed.iter().map(|c| c.id.clone()).collect();
    let mut records = load(conn, &ids)?;
    let items = collapsed
        .into_iter()
        .map(|c| {
            let record = records.remove(&c.id);
            let change = if record.is_none() {
                FeedChange::Delete
            } else {
                c.change
            };
            ChangeItem {
                id: c.id,
                change,
                at: c.at.and_utc(),
                record,
            }
        })
        .collect();
    Ok(ChangePage {
        items,
        next_cursor: pagination::encode(&next),
        more,
    })
}

struct Collapsed {
    id: String,
    change: FeedChange,
    at: chrono::NaiveDateTime,
}

/// One entry per record, in the order of its last change in the page.
fn collapse(rows: &[ChangeRow]) -> Vec<Collapsed> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    let mut kinds: HashMap<&str, Vec<FeedChange>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        last.insert(&row.entity_id, i);
        kinds.entry(&row.entity_id).or_default().push(row.kind);
    }
    let mut order: Vec<(usize, &str)> = last.iter().map(|(id, i)| (*i, *id)).collect();
    order.sort_unstable();
    order
        .into_iter()
        .map(|(i, id)| {
            let seen = &kinds[id];
            let change = [FeedChange::Create, FeedChange::Restore]
                .into_iter()
                .find(|k| seen.contains(k))
                .unwrap_or(FeedChange::Update);
            Collapsed {
                id: id.to_string(),
                change,
                at: rows[i].at,
            }
        })
        .collect()
}

/// Live incidents by id, as the API shows them.
pub fn events(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, Event>, AppError> {
    Ok(super::events::load_many(conn, ids)?
        .into_iter()
        .map(|e| (e.id.to_string(), e))
        .collect())
}

pub fn actors(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, Actor>, AppError> {
    Ok(crate::actors::store::load_many(conn, ids)?
        .into_iter()
        .map(|a| (a.id.to_string(), a))
        .collect())
}

pub fn concessions(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<String, Concession>, AppError> {
    Ok(crate::places::store::load_many(conn, ids)?
        .into_iter()
        .map(|c| (c.id.to_string(), c))
        .collect())
}

/// Cases with their report entries, as `GET /api/v1/cases/{id}` shows them:
/// one case at a time (a case's timeline is its own query; cases change a
/// few hundred times a month, not by the thousand).
pub fn cases(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, Case>, AppError> {
    let mut found = HashMap::new();
    for id in ids {
        match crate::cases::store::load_with_entries(conn, id) {
            Ok(case) => {
                found.insert(id.clone(), case);
            }
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}
