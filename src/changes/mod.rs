//! The change feeds: every creation, update, delete and restore of an
//! incident, actor, concession or case, in commit order, for mirrors kept by
//! researchers (`GET /api/v1/events/changes?since=…`).
//!
//! The rows of `changes` are written by database triggers (see the
//! `2026-12-06-000100_changes` migrations) on the records' tables and on the
//! tables that link to them (an incident's actors, concessions, cases and
//! files; a case's companies and report entries), so no write path can
//! forget one. This module only reads them.
//!
//! Commit order: SQLite serialises writers (across processes too) and
//! numbers rows with AUTOINCREMENT, so `seq` order is commit order.
//! PostgreSQL numbers rows when they are inserted, not when their
//! transaction commits, so each row also keeps its transaction id and the
//! feed serves only rows of transactions older than every transaction still
//! running, in (txid, seq) order: a row can never appear before a position a
//! reader has already passed. A long transaction holds the feed back while
//! it runs; it never makes a reader skip a change.

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::error::AppError;

string_enum! {
    /// Which records a feed follows.
    pub enum Feed {
        Event = "event",
        Actor = "actor",
        Concession = "concession",
        Case = "case",
    }
}

string_enum! {
    /// What happened to a record.
    pub enum FeedChange {
        Create = "create",
        Update = "update",
        Delete = "delete",
        Restore = "restore",
    }
}

/// A place in a feed: the last change a reader has seen. Sent to clients as
/// an opaque cursor (`pagination::encode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "t")]
    pub txid: i64,
    #[serde(rename = "s")]
    pub seq: i64,
}

/// One row of the log.
#[derive(Debug, Clone, QueryableByName)]
pub struct ChangeRow {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = BigInt)]
    pub txid: i64,
    #[diesel(sql_type = Text)]
    pub entity_id: String,
    #[diesel(sql_type = Text)]
    pub kind: FeedChange,
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
}

impl ChangeRow {
    pub fn position(&self) -> Position {
        Position {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

/// Up to `limit` changes of one feed after `after`, oldest first.
#[tracing::instrument(level = "debug", skip(conn))]
pub fn read(
    conn: &mut DbConn,
    feed: Feed,
    after: Position,
    limit: i64,
) -> Result<Vec<ChangeRow>, AppError> {
    let rows = match conn {
        // txid is always 0 here (`vigia copy` sets copied rows to 0 too).
        DbConn::Sqlite(_) => diesel::sql_query(
            "SELECT seq, txid, entity_id, kind, at FROM changes \
             WHERE entity = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind::<Text, _>(feed.as_str())
        .bind::<BigInt, _>(after.seq)
        .bind::<BigInt, _>(limit)
        .load::<ChangeRow>(conn)?,
        DbConn::Pg(_) => diesel::sql_query(
            "SELECT seq, txid, entity_id, kind, at FROM changes \
             WHERE entity = $1 AND (txid, seq) > ($2, $3) \
             AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY txid, seq LIMIT $4",
        )
        .bind::<Text, _>(feed.as_str())
        .bind::<BigInt, _>(after.txid)
        .bind::<BigInt, _>(after.seq)
        .bind::<BigInt, _>(limit)
        .load::<ChangeRow>(conn)?,
    };
    Ok(rows)
}
