//! Keeping Vigía running for years: the record of backups (`backup_runs`,
//! the one table this module owns). The backups themselves are
//! `ops::backup`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::backup_runs;

/// One backup, made or failed.
#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = backup_runs)]
pub struct BackupRun {
    pub id: String,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub ok: bool,
    pub path: String,
    pub bytes: i64,
    pub detail: String,
}

pub fn record_backup(conn: &mut DbConn, run: &BackupRun) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        diesel::insert_into(backup_runs::table)
            .values(run)
            .execute(conn)?;
        Ok(())
    })
}

/// The last successful backup and the last run of all, if any.
pub fn last_backups(conn: &mut DbConn) -> Result<(Option<BackupRun>, Option<BackupRun>), AppError> {
    let success = backup_runs::table
        .filter(backup_runs::ok.eq(true))
        .order(backup_runs::finished_at.desc())
        .first::<BackupRun>(conn)
        .optional()?;
    let last = backup_runs::table
        .order(backup_runs::finished_at.desc())
        .first::<BackupRun>(conn)
        .optional()?;
    Ok((success, last))
}
