//! Each watch's alerts as an Atom 1.0 feed, for feed readers and
//! newsrooms' tools: the link carries a signature (`tokens::feed_token`)
//! instead of a key, since feed readers send no headers; a new link
//! (`set_nonce`) ends the old one.

use atom_syndication::{Entry, Feed, FixedDateTime, Link, Person, Text};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::mail::{self, EventSummary, Links, WatchTarget};
use super::{AlertStatus, Language, MailKind, Reason};
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::{EventType, TimePrecision};
use crate::i18n::{date_text, Label};
use crate::schema::{alerts, events, watches};

/// Entries a feed shows: the newest alerts.
pub const ENTRIES: i64 = 50;

/// What the feed's link is checked against, and what it is titled by.
#[derive(Debug, Clone)]
pub struct FeedWatch {
    pub id: String,
    pub nonce: String,
    pub language: Language,
    pub created_at: DateTime<Utc>,
}

/// One alert of the watch with its incident.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub alert_id: String,
    pub alerted_at: DateTime<Utc>,
    pub reason: Reason,
    pub event: EventSummary,
}

/// A live (not deleted) watch's feed settings.
pub fn watch(conn: &mut DbConn, id: &str) -> Result<FeedWatch, AppError> {
    watches_by_id(conn, &[id.to_string()])?
        .pop()
        .ok_or_else(|| AppError::NotFound(format!("no watch with id {id}")))
}

/// The feed settings of the live watches among `ids`, in one query.
pub fn watches_by_id(conn: &mut DbConn, ids: &[String]) -> Result<Vec<FeedWatch>, AppError> {
    let rows: Vec<(String, String, Language, NaiveDateTime)> = watches::table
        .filter(watches::id.eq_any(ids))
        .filter(watches::deleted_at.is_null())
        .select((
            watches::id,
            watches::feed_nonce,
            watches::language,
            watches::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, nonce, language, created_at)| FeedWatch {
            id,
            nonce,
            language,
            created_at: created_at.and_utc(),
        })
        .collect())
}

/// Replaces the nonce the feed link signs (call inside the operation's
/// transaction, after checking who may).
pub fn set_nonce(conn: &mut DbConn, id: &str, nonce: &str) -> Result<(), AppError> {
    diesel::update(watches::table.find(id))
        .set(watches::feed_nonce.eq(nonce))
        .execute(conn)?;
    Ok(())
}

type EventColumns = (
    String,
    String,
    EventType,
    chrono::NaiveDate,
    TimePrecision,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The watch's newest alerts (not cancelled) whose incidents are live.
pub fn entries(conn: &mut DbConn, watch_id: &str) -> Result<Vec<FeedEntry>, AppError> {
    let rows: Vec<(String, NaiveDateTime, String, EventColumns)> = alerts::table
        .inner_join(events::table)
        .filter(alerts::watch_id.eq(watch_id))
        .filter(alerts::kind.eq(MailKind::Alert))
        .filter(alerts::status.ne(AlertStatus::Cancelled))
        .filter(events::deleted_at.is_null())
        .order((alerts::created_at.desc(), alerts::id.desc()))
        .limit(ENTRIES)
        .select((
            alerts::id,
            alerts::created_at,
            alerts::reason,
            (
                events::id,
                events::title,
                events::event_type,
                events::occurred_on,
                events::time_precision,
                events::place,
                events::district,
                events::province,
                events::region,
                events::ubigeo,
            ),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(alert_id, at, reason, e)| {
            let (
                id,
                title,
                event_type,
                occurred_on,
                time_precision,
                place,
                district,
                province,
                region,
                ubigeo,
            ) = e;
            Ok(FeedEntry {
                alert_id,
                alerted_at: at.and_utc(),
                reason: serde_json::from_str(&reason)?,
                event: EventSummary {
                    id,
                    title,
                    event_type,
                    occurred_on,
                    time_precision,
                    place,
                    district,
                    province,
                    region,
                    ubigeo,
                },
            })
        })
        .collect()
}

/// "bloqueo · …" as a reader's summary line begins: "Bloqueo · …".
fn capitalised(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

fn fixed(at: DateTime<Utc>) -> FixedDateTime {
    at.fixed_offset()
}

/// The feed's XML. `self_url` is the link it was read from.
pub fn atom(
    watch: &FeedWatch,
    target: &WatchTarget,
    entries: &[FeedEntry],
    links: &Links,
    self_url: &str,
) -> String {
    let lang = watch.language;
    let t = lang.texts();
    let what = mail::target_text(target, t);
    let updated = entries
        .iter()
        .map(|e| e.alerted_at)
        .max()
        .unwrap_or(watch.created_at);
    let entries: Vec<Entry> = entries
        .iter()
        .map(|e| {
            let summary = capitalised(format!(
                "{} · {} · {}. {}",
                e.event.event_type.label(t),
                date_text(e.event.occurred_on, e.event.time_precision, t),
                mail::place_text(&e.event),
                mail::reason_text(&e.reason, lang)
            ));
            Entry {
                // Alert ids are UUIDs: one entry per (watch, incident).
                id: format!("urn:uuid:{}", e.alert_id),
                title: Text::plain(e.event.title.clone()),
                updated: fixed(e.alerted_at),
                published: Some(fixed(e.alerted_at)),
                links: vec![Link {
                    href: links.event(&e.event.id),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Link::default()
                }],
                summary: Some(Text::plain(summary)),
                ..Entry::default()
            }
        })
        .collect();
    let feed = Feed {
        id: format!("urn:uuid:{}", watch.id),
        title: Text::plain(format!("Vigía: {what}")),
        subtitle: Some(Text::plain(t.feed_subtitle.to_string())),
        updated: fixed(updated),
        authors: vec![Person {
            name: "Vigía".into(),
            ..Person::default()
        }],
        links: vec![
            Link {
                href: self_url.to_string(),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Link::default()
            },
            Link {
                href: format!("{}/watches", links.base_url),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Link::default()
            },
        ],
        lang: Some(lang.as_str().to_string()),
        entries,
        ..Feed::default()
    };
    feed.to_string()
}
