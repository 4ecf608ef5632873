//! Concessions and districts: writes through the API and the file imports.
//! Every change of a layer bumps its version and is followed (incidents
//! matched or coded again) in the same transaction.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use diesel::prelude::*;

use super::consequences::{self, Change};
use super::Who;
use crate::actors;
use crate::audit::{self, Action, Entity};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::http::IfMatch;
use crate::keys::Role;
use crate::places::import::{self, BoundaryReport, DistrictFields, ImportReport};
use crate::places::store::{self, ConcessionFilter, Outcome};
use crate::places::{self as domain, Concession, ConcessionDraft, ConcessionInput, HolderSpec};
use crate::places::{ConcessionPatch, PlaceIndex};
use crate::schema::concessions;

/// Holders already resolved in this import, by name key: (actor id, name).
type Holders = HashMap<String, (String, String)>;

/// The titular's actor (id, name): found by id, or by name among the
/// actors (created when new, as imports do).
fn resolve_holder(
    conn: &mut DbConn,
    who: &Who,
    holder: &HolderSpec,
    cache: &mut Holders,
) -> Result<Option<(String, String)>, AppError> {
    match holder {
        HolderSpec::None => Ok(None),
        HolderSpec::Name(name) if name.trim().is_empty() => Ok(None),
        HolderSpec::Name(name) => {
            actors::store::find_or_create_holder(conn, &who.actor, name, cache).map(Some)
        }
        HolderSpec::Id(id) => {
            let actor = actors::store::load(conn, id).map_err(|e| match e {
                AppError::NotFound(_) => AppError::Validation(vec![FieldError::new(
                    "holder_id",
                    format!("no actor with id {id}"),
                )]),
                other => other,
            })?;
            Ok(Some((id.clone(), actor.fields.name)))
        }
    }
}

/// Writes one concession through the API in one transaction: the change,
/// the layer's version bump, and the incidents matched again. `existing`:
/// the concession's id when it exists before the change (an edit, a
/// removal). Only incidents inside the old or the new outline's box are
/// matched again: elsewhere nothing the change did can reach them.
fn write_one(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    existing: Option<&str>,
    change: impl FnOnce(&mut DbConn) -> Result<Option<String>, AppError>,
) -> Result<Option<Concession>, AppError> {
    who.require(Role::Admin)?;
    let written = db::write_tx(conn, |conn| {
        store::bump_concessions(conn)?;
        let before = existing.map(|id| store::bbox_of(conn, id)).transpose()?;
        let id = change(conn)?;
        let after = id
            .as_deref()
            .map(|id| store::bbox_of(conn, id))
            .transpose()?;
        let boxes: Vec<[f64; 4]> = before.into_iter().chain(after).flatten().collect();
        consequences::follow(
            conn,
            &who.actor,
            index,
            Change::ConcessionsChanged {
                within: Some(&boxes),
            },
        )?;
        id.map(|id| store::load(conn, &id)).transpose()
    })?;
    // Committed: this process's lookups see it at once.
    index.concessions_changed();
    Ok(written)
}

/// Adds a concession (admin); 409 if its code exists.
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create_concession(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    input: ConcessionInput,
) -> Result<Concession, AppError> {
    who.require(Role::Admin)?;
    let draft = input.into_draft()?;
    write_one(conn, index, who, None, |conn| {
        let taken = store::list(
            conn,
            &ConcessionFilter {
                code: Some(draft.code.clone()),
                limit: 1,
                ..Default::default()
            },
        )?;
        if !taken.is_empty() {
            return Err(AppError::Conflict(format!(
                "concession {} already exists",
                draft.code
            )));
        }
        upsert_one(conn, who, &draft)
    })?
    .ok_or_else(|| AppError::internal("created nothing"))
}

/// Changes a concession with a JSON Merge Patch (admin); its code stays.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update_concession(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Concession, AppError> {
    who.require(Role::Admin)?;
    crate::http::from_value::<ConcessionPatch>(patch.clone())?;
    // A new outline is checked here, before the write lock.
    let outline = domain::check_patch_geometry(&patch)?;
    write_one(conn, index, who, Some(id), |conn| {
        let current = store::load(conn, id)?;
        let draft = domain::apply_patch(&current, patch, outline)?;
        if draft.code != current.code {
            return Err(AppError::Validation(vec![FieldError::new(
                "code",
                "a concession's code cannot change",
            )]));
        }
        if_match.check(current.version)?;
        upsert_one(conn, who, &draft)
    })?
    .ok_or_else(|| AppError::internal("changed nothing"))
}

/// Removes a concession (admin): recorded as `removed` in the registry changes.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete_concession(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    write_one(conn, index, who, Some(id), |conn| {
        let current = store::load(conn, id)?;
        if_match.check(current.version)?;
        store::remove(conn, &who.actor, id).map(|_| None)
    })?;
    Ok(())
}

fn upsert_one(
    conn: &mut DbConn,
    who: &Who,
    draft: &ConcessionDraft,
) -> Result<Option<String>, AppError> {
    let holder = resolve_holder(conn, who, &draft.holder, &mut Holders::new())?;
    store::upsert(conn, &who.actor, draft, holder, true).map(|(_, id)| Some(id))
}

/// Imports a cadastre file (admin): upserts by code, records registry
/// changes, and matches the incidents again, all in one transaction, so an
/// import stopped midway (an error, a `kill -9`) leaves nothing of the file
/// behind. `full_snapshot` marks as removed the live concessions of the same
/// coordinate system (the same UTM zone) that the file no longer has.
/// `progress` hears how many of how many features are written.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, path = %path.display()))]
#[allow(clippy::too_many_arguments)] // the command line's flags, one each
pub fn import_concessions(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    path: &Path,
    crs_flag: Option<&str>,
    full_snapshot: bool,
    max_bytes: u64,
    progress: &dyn Fn(usize, usize),
) -> Result<ImportReport, String> {
    who.require(Role::Admin).map_err(|e| e.report())?;
    let started = Instant::now();
    let import::ConcessionFile {
        mut report,
        drafts,
        crs,
    } = import::read_concessions(path, crs_flag, max_bytes)?;
    let mut holders = Holders::new();
    let total = drafts.len();
    let codes: std::collections::HashSet<&str> = drafts.iter().map(|d| d.code.as_str()).collect();
    report.events_rematched = db::bulk_write_tx(conn, |conn| {
        store::bump_concessions(conn)?;
        let mut done = 0;
        for batch in drafts.chunks(500) {
            for d in batch {
                let holder = resolve_holder(conn, who, &d.holder, &mut holders)?;
                match store::upsert(conn, &who.actor, d, holder, false)?.0 {
                    Outcome::Added => report.added += 1,
                    Outcome::Updated => report.updated += 1,
                    Outcome::Unchanged => report.unchanged += 1,
                }
            }
            done += batch.len();
            progress(done, total);
        }
        if full_snapshot {
            let live: Vec<(String, String)> = concessions::table
                .filter(concessions::deleted_at.is_null())
                .filter(concessions::source_crs.eq(&crs))
                .select((concessions::id, concessions::code))
                .load(conn)?;
            for (id, code) in live {
                if !codes.contains(code.as_str()) {
                    store::remove(conn, &who.actor, &id)?;
                    report.removed += 1;
                }
            }
        }
        // Many outlines change: every live incident is matched again (one
        // pass over them all costs less than a query per outline's box).
        let effects = consequences::follow(
            conn,
            &who.actor,
            index,
            Change::ConcessionsChanged { within: None },
        )?;
        let summary = serde_json::json!({
            "file": path.display().to_string(), "crs": crs, "read": report.read,
            "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
            "removed": report.removed, "skipped": report.skipped.len(),
        });
        audit::record(
            conn,
            &who.actor,
            Action::Update,
            Entity::Concessions,
            "import",
            None::<&()>,
            Some(&summary),
        )?;
        Ok(effects.rematched)
    })
    .map_err(|e| e.report())?;
    index.concessions_changed();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Loads district outlines (admin), replacing the layer, and codes again the
/// incidents whose place their client did not give, in one transaction.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, path = %path.display()))]
pub fn import_boundaries(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    path: &Path,
    crs_flag: Option<&str>,
    fields: &DistrictFields,
    max_bytes: u64,
) -> Result<BoundaryReport, String> {
    who.require(Role::Admin).map_err(|e| e.report())?;
    let started = Instant::now();
    let (mut report, drafts) = import::read_boundaries(path, crs_flag, fields, max_bytes)?;
    report.events_recoded = db::write_tx(conn, |conn| {
        store::replace_districts(conn, &who.actor, &drafts, |conn| {
            consequences::follow(conn, &who.actor, index, Change::DistrictsReplaced)
                .map(|effects| effects.recoded)
        })
    })
    .map_err(|e| e.report())?;
    index.concessions_changed();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What an admin sent to import from the page: the file (a GeoJSON, or a
/// shapefile's `.shp` beside its `.shx`, `.dbf` and `.prj`) and the
/// coordinate system chosen (none: the file's own).
pub struct ImportJob {
    pub id: String,
    pub kind: domain::jobs::JobKind,
    pub path: std::path::PathBuf,
    pub crs: Option<String>,
    pub max_bytes: u64,
}

/// Starts recording an import (admin): the row the page shows while it runs.
pub fn start_import_job(
    conn: &mut DbConn,
    who: &Who,
    kind: domain::jobs::JobKind,
    file_name: &str,
    crs: Option<&str>,
) -> Result<String, AppError> {
    who.require(Role::Admin)?;
    domain::jobs::create(conn, kind, file_name, crs.unwrap_or(""), &who.actor.name)
}

/// Runs an import the page started, with the command line's own import
/// functions, and records its report or its error on the job's row. A
/// file that cannot be read is the job's error, not a failure of Vigía.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, job = %job.id))]
pub fn run_import_job(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    job: &ImportJob,
    progress: &dyn Fn(usize, usize),
) -> Result<(), AppError> {
    use domain::jobs::{JobKind, JobReport, RowError};
    let row = |s: &import::Skipped| RowError {
        row: s.index + 1,
        code: s.code.clone(),
        reason: s.reason.clone(),
    };
    let result = match job.kind {
        JobKind::Concessions => import_concessions(
            conn,
            index,
            who,
            &job.path,
            job.crs.as_deref(),
            false,
            job.max_bytes,
            progress,
        )
        .map(|r| JobReport {
            read: r.read,
            added: r.added,
            updated: r.updated,
            unchanged: r.unchanged,
            removed: r.removed,
            skipped: r.skipped.iter().map(row).collect(),
            incidents: r.events_rematched,
            crs: r.crs,
            seconds: r.seconds,
        }),
        JobKind::Districts => import_boundaries(
            conn,
            index,
            who,
            &job.path,
            job.crs.as_deref(),
            &DistrictFields::default(),
            job.max_bytes,
        )
        .map(|r| JobReport {
            read: r.read,
            added: r.imported,
            skipped: r.skipped.iter().map(row).collect(),
            incidents: r.events_recoded,
            seconds: r.seconds,
            ..JobReport::default()
        }),
    };
    // The file's name is the page's, not the temporary path it was read at.
    let result = result.map_err(|e| {
        let path = job.path.display().to_string();
        e.replace(&format!("{path}: "), "").replace(&path, "")
    });
    domain::jobs::finish(conn, &job.id, result.as_ref().map_err(String::as_str))
}
