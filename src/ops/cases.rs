//! The Defensoría's cases and their monthly report entries: writes, links
//! to incidents, the CSV import and the monthly reconciliation.

use std::io::Read;
use std::path::Path;

use super::Who;
use crate::actors::{self, ActorFields, ActorKind};
use crate::cases::import::{self, EntryImportReport};
use crate::cases::store;
use crate::cases::suggest::{self, Reconciliation, Suggestion};
use crate::cases::{self as domain, Case, CaseInput, Entry, EntryInput};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::{store::Visibility, Event};
use crate::http::IfMatch;
use crate::keys::Role;

/// Adds a case (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create(conn: &mut DbConn, who: &Who, input: CaseInput) -> Result<Case, AppError> {
    who.require(Role::Monitor)?;
    let fields = input.into_fields()?;
    db::write_tx(conn, |conn| store::create(conn, &who.actor, fields))
}

/// Changes a case with a JSON Merge Patch (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Case, AppError> {
    who.require(Role::Monitor)?;
    crate::http::from_value::<domain::CasePatch>(patch.clone())?;
    db::write_tx(conn, |conn| {
        store::update(conn, &who.actor, id, if_match, |current| {
            domain::apply_patch(current, patch)
        })
    })
}

/// Deletes a case (monitor, admin); its history stays.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| store::delete(conn, &who.actor, id, if_match))
}

/// Brings a deleted case back with its entries (admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn restore(conn: &mut DbConn, who: &Who, id: &str) -> Result<Case, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| store::restore(conn, &who.actor, id))
}

/// Adds a report entry to a case (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, case_id))]
pub fn create_entry(
    conn: &mut DbConn,
    who: &Who,
    case_id: &str,
    input: EntryInput,
) -> Result<Entry, AppError> {
    who.require(Role::Monitor)?;
    let fields = input.into_fields()?;
    db::write_tx(conn, |conn| {
        store::create_entry(conn, &who.actor, case_id, &fields)
    })
}

/// Changes a report entry with a JSON Merge Patch (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update_entry(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Entry, AppError> {
    who.require(Role::Monitor)?;
    crate::http::from_value::<domain::EntryPatch>(patch.clone())?;
    db::write_tx(conn, |conn| {
        store::update_entry(conn, &who.actor, id, if_match, |current| {
            domain::apply_entry_patch(current, patch)
        })
    })
}

/// Deletes a report entry (monitor, admin); its history stays.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete_entry(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        store::delete_entry(conn, &who.actor, id, if_match)
    })
}

/// Links an incident to a case (monitor, admin); returns the incident.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, event_id, case_id))]
pub fn link(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    case_id: &str,
    note: Option<&str>,
) -> Result<Event, AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        store::link(conn, &who.actor, event_id, case_id, note)?;
        super::events::load(conn, event_id, Visibility::Live)
    })
}

/// The cases an incident may belong to, best first; those it is linked to
/// and those dismissed for it are left out.
pub fn suggestions(
    conn: &mut DbConn,
    event_id: &str,
    limit: usize,
) -> Result<Vec<Suggestion>, AppError> {
    suggest::suggest(conn, event_id, limit)
}

/// Says an incident does not belong to a suggested case (monitor, admin):
/// the case is not suggested for it again.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, event_id, case_id))]
pub fn dismiss(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    case_id: &str,
) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    store::dismiss(conn, &who.actor, event_id, case_id)
}

/// Unlinks an incident from a case (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, event_id, case_id))]
pub fn unlink(conn: &mut DbConn, who: &Who, event_id: &str, case_id: &str) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        store::unlink(conn, &who.actor, event_id, case_id)
    })
}

/// Imports a report-entries CSV file (admin at the command line).
pub fn import_report_entries(
    conn: &mut DbConn,
    who: &Who,
    path: &Path,
    skip_invalid: bool,
    max_bytes: u64,
) -> Result<EntryImportReport, String> {
    let bytes = crate::files::read(path, max_bytes)?;
    import_entries(conn, who, bytes.as_slice(), skip_invalid)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Imports report entries from CSV text (monitor, admin): all or nothing
/// unless `skip_invalid`; companies no actor names yet become actors.
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn import_entries(
    conn: &mut DbConn,
    who: &Who,
    input: impl Read,
    skip_invalid: bool,
) -> Result<EntryImportReport, String> {
    who.require(Role::Monitor).map_err(|e| e.report())?;
    let mut add_company = |conn: &mut DbConn, name: &str, aliases: &[String]| {
        let fields = ActorFields {
            name: name.to_string(),
            kind: ActorKind::Company,
            aliases: aliases.to_vec(),
            ruc: None,
            reinfo_code: None,
            notes: String::new(),
        };
        actors::store::insert(conn, &who.actor, &fields).map(|actor| actor.id.to_string())
    };
    import::import_from(conn, &who.actor, input, skip_invalid, &mut add_company)
}

/// Checks report `number` against the incidents of its month ±1.
pub fn reconcile(conn: &mut DbConn, number: i32) -> Result<Reconciliation, AppError> {
    suggest::reconcile(conn, number, super::events::load_many)
}
