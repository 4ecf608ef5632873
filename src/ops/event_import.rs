//! Importing incidents from a file (`vigia import events`, the admins'
//! upload page): Vigía's own export or ACLED's (`events::import` reads and
//! checks them).
//!
//! The whole file is checked first; one bad row and nothing is written,
//! unless `skip_invalid`. Then one write transaction: every row or none.
//! A row's identity is `event_id_cnty`: an incident's own id (Vigía's
//! export into the database it came from) or the `source_id` it was
//! imported with. So:
//! - a row new to Vigía is logged exactly like an incident logged by hand
//!   (`events::create_placed`: district from the point, concession matches,
//!   alerts, audit), with its actors found by name or alias or created, and
//!   its alerts sent as one digest per watch (`alerts::store::send_as_digest`);
//! - a row Vigía has, and that says the same, changes nothing (no write, no
//!   audit record, no alert): re-importing a file changes nothing;
//! - a row Vigía has that says something else updates the incident (one
//!   audited edit, placed again, no alert), and adds the actors it names that
//!   the incident lacks (links are never removed). What the file does not
//!   carry stays: source titles and links, the verification note, and for
//!   ACLED's rows the title, verification and injuries; without a ubigeo,
//!   the place stays too.
//! - a row naming a deleted incident is left alone (counted unchanged).

use std::path::Path;
use std::time::Instant;

use super::events::{create_placed, load, rewrite_placed};
use super::Who;
use crate::actors::{self, ActorFields, Attribution, LinkRole};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::import::{self as reading, Format, Row};
use crate::events::store::{self, Visibility};
use crate::events::{AdminSource, Event};
use crate::keys::Role;
use crate::places::{self, PlaceIndex};
use crate::rules::BadRow;

/// What an import did (or, with bad rows and no `skip_invalid`, found).
#[derive(Debug)]
pub struct EventImportReport {
    pub format: Format,
    /// Data rows read.
    pub read: usize,
    pub bad: Vec<BadRow>,
    /// False when bad rows stopped the import (nothing was written).
    pub written: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub actors_added: usize,
    /// Alerts queued for the new incidents (sent as one digest per watch).
    pub alerts: usize,
    pub seconds: f64,
}

/// Imports an incidents file (admin at the command line), within
/// `max_bytes`.
pub fn import_events_file(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    path: &Path,
    skip_invalid: bool,
    max_bytes: u64,
) -> Result<EventImportReport, String> {
    let bytes = crate::files::read(path, max_bytes)?;
    import_events(conn, index, who, &bytes, skip_invalid)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks a file's rows without writing anything (the upload page's check).
pub fn check_events(who: &Who, bytes: &[u8]) -> Result<reading::Checked, String> {
    who.require(Role::Admin).map_err(|e| e.report())?;
    reading::check(bytes)
}

/// Imports incidents from a CSV or XLSX file's bytes (admin): all or
/// nothing unless `skip_invalid`. `Err` is a file that cannot be read at
/// all or a failed write, in English.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, skip_invalid))]
pub fn import_events(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    bytes: &[u8],
    skip_invalid: bool,
) -> Result<EventImportReport, String> {
    let started = Instant::now();
    let checked = check_events(who, bytes)?;
    let mut report = EventImportReport {
        format: checked.format,
        read: checked.read,
        bad: checked.bad,
        written: false,
        created: 0,
        updated: 0,
        unchanged: 0,
        actors_added: 0,
        alerts: 0,
        seconds: 0.0,
    };
    if (report.bad.is_empty() || skip_invalid) && !checked.rows.is_empty() {
        db::bulk_write_tx(conn, |conn| {
            write(conn, index, who, checked.format, checked.rows, &mut report)
        })
        .map_err(|e| e.report())?;
        report.written = true;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn write(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    format: Format,
    rows: Vec<Row>,
    report: &mut EventImportReport,
) -> Result<(), AppError> {
    let keys: Vec<String> = rows.iter().map(|r| r.source_id.clone()).collect();
    let known = store::find_imported(conn, &keys)?;
    let mut names = actors::store::Names::load(conn)?;
    let mut new_ids = Vec::new();
    for row in rows {
        match known.get(&row.source_id) {
            Some((_, true)) => report.unchanged += 1,
            Some((id, false)) => {
                if update(conn, index, who, format, id, row, &mut names)? {
                    report.updated += 1;
                } else {
                    report.unchanged += 1;
                }
            }
            None => {
                new_ids.push(create(conn, index, who, row, &mut names)?);
                report.created += 1;
            }
        }
    }
    report.alerts = crate::alerts::store::send_as_digest(conn, &new_ids)?;
    report.actors_added = names.added;
    Ok(())
}

/// The actor ids a row names, with how they took part (each pair once).
fn resolve_actors(
    conn: &mut DbConn,
    who: &Who,
    row: &Row,
    names: &mut actors::store::Names,
) -> Result<Vec<(String, LinkRole, Attribution)>, AppError> {
    let mut links: Vec<(String, LinkRole, Attribution)> = Vec::new();
    for named in &row.actors {
        let kind = named.kind;
        let mut add = |conn: &mut DbConn, name: &str, aliases: &[String]| {
            let fields = ActorFields {
                name: name.to_string(),
                kind,
                aliases: aliases.to_vec(),
                ruc: None,
                reinfo_code: None,
                notes: String::new(),
            };
            actors::store::insert(conn, &who.actor, &fields).map(|actor| actor.id.to_string())
        };
        let id = names.resolve(conn, &mut add, &named.name)?;
        if !links.iter().any(|(a, r, _)| *a == id && *r == named.role) {
            links.push((id, named.role, named.attribution));
        }
    }
    Ok(links)
}

fn link_all(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    links: &[(String, LinkRole, Attribution)],
) -> Result<(), AppError> {
    for (actor_id, role, attribution) in links {
        actors::store::link(
            conn,
            &who.actor,
            event_id,
            actor_id,
            *role,
            *attribution,
            None,
        )?;
    }
    Ok(())
}

/// A row new to Vigía, logged as by hand; returns its id.
fn create(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    row: Row,
    names: &mut actors::store::Names,
) -> Result<String, AppError> {
    let mut fields = row.fields.clone();
    let placement = places::store::locate(conn, index, fields.location.lon, fields.location.lat)?;
    if !row.has_ubigeo && placement.district.is_some() {
        // The district the point falls in places it, as for a hand-logged
        // incident without a place.
        fields.admin = None;
    }
    let event = create_placed(conn, index, who, &fields, placement, Some(&row.source_id))?;
    let id = event.id.to_string();
    let links = resolve_actors(conn, who, &row, names)?;
    link_all(conn, who, &id, &links)?;
    Ok(id)
}

/// A row naming an incident Vigía has: rewritten (audited, no alert) if it
/// says something else. Returns whether anything changed.
fn update(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    format: Format,
    id: &str,
    row: Row,
    names: &mut actors::store::Names,
) -> Result<bool, AppError> {
    store::lock(conn, id)?;
    let before = load(conn, id, Visibility::Live)?;
    let fields = kept(&before, format, &row);
    let links = resolve_actors(conn, who, &row, names)?;
    let missing: Vec<(String, LinkRole, Attribution)> = links
        .into_iter()
        .filter(|(actor_id, role, attribution)| {
            !before.actors.iter().any(|a| {
                a.actor_id.to_string() == *actor_id
                    && a.role == *role
                    && a.attribution == *attribution
            })
        })
        .collect();
    let rewrite = fields != before.fields;
    if !rewrite && missing.is_empty() {
        return Ok(false);
    }
    if rewrite {
        let mut fields = fields;
        if !row.has_ubigeo && before.admin_source == Some(AdminSource::Boundaries) {
            // Still placed by the boundaries, not by the file.
            fields.admin = None;
        }
        rewrite_placed(conn, index, who, &before, &fields, false)?;
    }
    link_all(conn, who, id, &missing)?;
    Ok(true)
}

/// The row's fields with what the file does not carry taken from `before`.
fn kept(before: &Event, format: Format, row: &Row) -> crate::events::EventFields {
    let old = &before.fields;
    let mut fields = row.fields.clone();
    fields.verification_note = old.verification_note.clone();
    let publishers = |f: &crate::events::EventFields| -> Vec<String> {
        f.sources.iter().map(|s| s.publisher.clone()).collect()
    };
    if publishers(&fields) == publishers(old) {
        fields.sources = old.sources.clone();
    }
    if !row.has_ubigeo {
        fields.admin = old.admin.clone();
    }
    if format == Format::Acled {
        fields.title = old.title.clone();
        fields.verification = old.verification;
        fields.injuries = old.injuries;
    }
    fields
}
