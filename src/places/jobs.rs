//! Imports started from the admins' page (`import_jobs`): what was sent,
//! how far it got, and the report or the error when it ended. The import
//! itself is one transaction (`ops::places`), so a job that died midway
//! (`kill -9`) left nothing of its file behind; the next start marks it
//! interrupted.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::import_jobs;

string_enum! {
    /// What a job imports.
    pub enum JobKind {
        Concessions = "concessions",
        Districts = "districts",
    }
}

string_enum! {
    pub enum JobState {
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// A feature left out, as the report lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowError {
    /// Position in the file, from 1 (as people count).
    pub row: usize,
    pub code: Option<String>,
    pub reason: String,
}

/// The same counts the command line prints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobReport {
    pub read: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub skipped: Vec<RowError>,
    /// Incidents matched (concessions) or coded (districts) again.
    pub incidents: usize,
    pub crs: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_jobs)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub file_name: String,
    /// As chosen on the form; empty: read from the file.
    pub crs: String,
    pub state: JobState,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub report_json: Option<String>,
    pub error: Option<String>,
}

impl Job {
    pub fn report(&self) -> Option<JobReport> {
        self.report_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
    }
}

#[tracing::instrument(level = "info", skip_all, fields(kind = kind.as_str()))]
pub fn create(
    conn: &mut DbConn,
    kind: JobKind,
    file_name: &str,
    crs: &str,
    created_by: &str,
) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(import_jobs::table)
        .values((
            import_jobs::id.eq(&id),
            import_jobs::kind.eq(kind),
            import_jobs::file_name.eq(file_name),
            import_jobs::crs.eq(crs),
            import_jobs::state.eq(JobState::Running),
            import_jobs::created_by.eq(created_by),
            import_jobs::created_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Records how a job ended.
#[tracing::instrument(level = "info", skip_all, fields(job = %id))]
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    result: Result<&JobReport, &str>,
) -> Result<(), AppError> {
    let (state, report, error) = match result {
        Ok(report) => (JobState::Done, Some(serde_json::to_string(report)?), None),
        Err(why) => (JobState::Failed, None, Some(why.to_string())),
    };
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::state.eq(state),
            import_jobs::finished_at.eq(Some(db::now())),
            import_jobs::report_json.eq(report),
            import_jobs::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<Job, AppError> {
    import_jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no import {id}")))
}

/// The latest jobs, newest first.
pub fn recent(conn: &mut DbConn, limit: i64) -> Result<Vec<Job>, AppError> {
    Ok(import_jobs::table
        .order((import_jobs::created_at.desc(), import_jobs::id.desc()))
        .limit(limit)
        .select(Job::as_select())
        .load(conn)?)
}

/// At start: jobs still running belonged to a process that is gone (their
/// transaction rolled back with it).
pub fn interrupt_running(conn: &mut DbConn, why: &str) -> Result<usize, AppError> {
    Ok(
        diesel::update(import_jobs::table.filter(import_jobs::state.eq(JobState::Running)))
            .set((
                import_jobs::state.eq(JobState::Failed),
                import_jobs::finished_at.eq(Some(db::now())),
                import_jobs::error.eq(Some(why)),
            ))
            .execute(conn)?,
    )
}
