//! Backups and restores of the whole database, while the server runs.
//!
//! SQLite: `VACUUM INTO` a new file (one read transaction of SQLite's own,
//! so a consistent snapshot while writers go on; never a copy of the live
//! file), then `PRAGMA integrity_check` and a row count of every table of
//! the copy. PostgreSQL: `pg_dump --format=custom` (one snapshot), then the
//! archive is read back through `pg_restore` and every table's rows counted.
//! Either way the backup is written under a temporary name beside `PATH` and
//! renamed into place only once it has been checked.
//!
//! Vigía stores no files outside the database yet (no attachments), so the
//! database is the whole backup; [`ATTACHMENTS`] says so to the operator.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::db::{DbConn, Target};
use crate::error::AppError;

/// What a backup holds besides the database.
pub const ATTACHMENTS: &str =
    "attachments: none (Vigía stores no files outside the database yet); the database is the whole backup";

/// The first bytes of each kind of backup file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

/// Tables Vigía's own bookkeeping keeps, not data.
pub(crate) const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// What a backup or a restore wrote and found when checking it.
#[derive(Debug, Clone)]
pub struct Report {
    pub path: PathBuf,
    pub bytes: u64,
    pub seconds: f64,
    /// Every table with its row count, by name.
    pub tables: Vec<(String, i64)>,
    /// `ok`, or what SQLite's integrity check found (a PostgreSQL archive
    /// that `pg_restore` reads back whole is `ok`).
    pub integrity: String,
}

impl Report {
    pub fn rows(&self, table: &str) -> Option<i64> {
        self.tables
            .iter()
            .find(|(name, _)| name == table)
            .map(|(_, n)| *n)
    }

    /// `events 1200, audit_log 3400, …` (the bookkeeping table left out).
    pub fn summary(&self) -> String {
        self.tables
            .iter()
            .filter(|(name, _)| name != MIGRATIONS_TABLE)
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// [`backup`], with its outcome recorded in the database it backed up
/// (`backup_runs`), for admins and `/metrics` to see; a failed backup is
/// recorded too. A record that cannot be written is logged, and the
/// backup's own outcome returned.
pub fn backup_and_record(target: &Target, path: &Path) -> Result<Report, AppError> {
    let started_at = crate::db::now();
    let outcome = backup(target, path);
    let (ok, bytes, detail) = match &outcome {
        Ok(report) => (
            true,
            i64::try_from(report.bytes).unwrap_or(i64::MAX),
            format!("{:.1} s; {}", report.seconds, report.summary()),
        ),
        Err(e) => (false, 0, e.to_string()),
    };
    let run = crate::maintenance::BackupRun {
        id: uuid::Uuid::new_v4().to_string(),
        started_at,
        finished_at: crate::db::now(),
        ok,
        path: path.display().to_string(),
        bytes,
        detail,
    };
    let recorded = target
        .connect()
        .map_err(|e| AppError::Unavailable {
            detail: e.to_string(),
            source: None,
        })
        .and_then(|mut conn| crate::maintenance::record_backup(&mut conn, &run));
    if let Err(e) = recorded {
        tracing::warn!(error = %e, ok, "the backup could not be recorded in the database");
    }
    outcome
}

/// A scheduled backup: a new file `vigia-YYYYMMDDTHHMMSSZ.backup` in `dir`,
/// recorded like any other; then the scheduled backups older than
/// `keep_days` are removed from `dir` (only after a success). Returns the
/// report and how many old files were removed.
pub fn scheduled(target: &Target, dir: &Path, keep_days: u32) -> Result<(Report, usize), AppError> {
    let name = format!(
        "vigia-{}.backup",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let report = backup_and_record(target, &dir.join(name))?;
    let horizon = std::time::SystemTime::now()
        - std::time::Duration::from_secs(u64::from(keep_days) * 86_400);
    let mut removed = 0;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| AppError::internal(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        if !(file_name.starts_with("vigia-") && file_name.ends_with(".backup")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < horizon);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok((report, removed))
}

/// Backs the database up into `path`, a file that must not exist yet.
pub fn backup(target: &Target, path: &Path) -> Result<Report, AppError> {
    let started = Instant::now();
    if path.exists() {
        return Err(AppError::Conflict(format!(
            "{} already exists; a backup never overwrites a file: name a new one",
            path.display()
        )));
    }
    let partial = partial_path(path)?;
    let _ = std::fs::remove_file(&partial);
    let written = match target {
        Target::Sqlite { path: db_path } => backup_sqlite(db_path, &partial),
        Target::Postgres { url } => backup_postgres(url, &partial),
    };
    let (tables, integrity) = match written {
        Ok(found) => found,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path).map_err(|e| {
        AppError::internal(format!(
            "cannot move the checked backup to {}: {e}",
            path.display()
        ))
    })?;
    Ok(Report {
        path: path.to_path_buf(),
        bytes: file_size(path),
        seconds: started.elapsed().as_secs_f64(),
        tables,
        integrity,
    })
}

/// Restores the backup at `path` into the (empty) database `target`;
/// `force` replaces a database that holds rows. The restored database is
/// then migrated up to this binary's schema by the caller.
pub fn restore(target: &Target, path: &Path, force: bool) -> Result<Report, AppError> {
    let started = Instant::now();
    let kind = backup_kind(path)?;
    let tables = match (target, kind) {
        (Target::Sqlite { path: db_path }, Kind::Sqlite) => {
            let integrity = check_sqlite_file(path)?;
            if integrity != "ok" {
                return Err(AppError::BadRequest(format!(
                    "{} fails SQLite's integrity check ({integrity}); nothing was restored",
                    path.display()
                )));
            }
            restore_sqlite(path, Path::new(db_path), force)?
        }
        (Target::Postgres { url }, Kind::PgDump) => restore_postgres(path, url, force)?,
        (Target::Postgres { .. }, Kind::Sqlite) => {
            return Err(AppError::BadRequest(format!(
                "{} is a SQLite backup and database.url is PostgreSQL: restore it into a sqlite:// database, then move the data with `vigia copy`",
                path.display()
            )))
        }
        (Target::Sqlite { .. }, Kind::PgDump) => {
            return Err(AppError::BadRequest(format!(
                "{} is a PostgreSQL backup (pg_dump) and database.url is SQLite: restore it into a postgres:// database",
                path.display()
            )))
        }
    };
    Ok(Report {
        path: path.to_path_buf(),
        bytes: file_size(path),
        seconds: started.elapsed().as_secs_f64(),
        tables,
        integrity: "ok".into(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    PgDump,
}

fn backup_kind(path: &Path) -> Result<Kind, AppError> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path)
        .map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", path.display())))?;
    let n = file
        .read(&mut head)
        .map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", path.display())))?;
    if head[..n].starts_with(SQLITE_MAGIC) {
        Ok(Kind::Sqlite)
    } else if head[..n].starts_with(PG_DUMP_MAGIC) {
        Ok(Kind::PgDump)
    } else {
        Err(AppError::BadRequest(format!(
            "{} is not a Vigía backup (neither a SQLite database nor a pg_dump archive)",
            path.display()
        )))
    }
}

fn partial_path(path: &Path) -> Result<PathBuf, AppError> {
    let name = path
        .file_name()
        .ok_or_else(|| AppError::BadRequest(format!("{} does not name a file", path.display())))?
        .to_string_lossy();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(AppError::BadRequest(format!(
            "{} is not a folder: create it first",
            dir.display()
        )));
    }
    Ok(dir.join(format!(".{name}.partial")))
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A string as an SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// An identifier quoted for SQL (both backends).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

fn db_err(what: &str) -> impl Fn(diesel::result::Error) -> AppError + '_ {
    move |e| AppError::internal(format!("{what}: {e}"))
}

/// Every table of the database that holds data with its row count: the
/// search structures derived from `events` by triggers are left out, as
/// [`sqlite_tables`] says (PostgreSQL's one is the search lexicon).
pub fn count_rows(conn: &mut DbConn) -> Result<Vec<(String, i64)>, AppError> {
    let names = match conn {
        DbConn::Sqlite(c) => sqlite_tables(c)?,
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' \
             AND tablename <> 'search_lexicon' ORDER BY tablename",
        )
        .load::<Name>(c)
        .map_err(db_err("cannot list the tables"))?
        .into_iter()
        .map(|n| n.name)
        .collect(),
    };
    let mut counts = Vec::with_capacity(names.len());
    for name in names {
        let query = format!("SELECT COUNT(*) AS n FROM {}", ident(&name));
        let n = diesel::sql_query(query)
            .get_result::<Count>(conn)
            .map_err(db_err("cannot count rows"))?
            .n;
        counts.push((name, n));
    }
    Ok(counts)
}

/// The tables that hold data. The search structures beside `events` (the
/// FTS5 and R*Tree virtual tables and their shadow tables) are left out:
/// they are derived, kept by triggers from `events` rows wherever those are
/// written, and PostgreSQL has indexes instead.
fn sqlite_tables(conn: &mut SqliteConnection) -> Result<Vec<String>, AppError> {
    Ok(diesel::sql_query(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .load::<Name>(conn)
    .map_err(db_err("cannot list the tables"))?
    .into_iter()
    .map(|n| n.name)
    .collect())
}

fn sqlite_counts(conn: &mut SqliteConnection) -> Result<Vec<(String, i64)>, AppError> {
    let mut counts = Vec::new();
    for name in sqlite_tables(conn)? {
        let query = format!("SELECT COUNT(*) AS n FROM {}", ident(&name));
        let n = diesel::sql_query(query)
            .get_result::<Count>(conn)
            .map_err(db_err("cannot count rows"))?
            .n;
        counts.push((name, n));
    }
    Ok(counts)
}

/// Rows a database holds before anyone has used it: the migrations'
/// bookkeeping, the layer versions the migrations seed, the link-signing key
/// a first start makes.
pub(crate) const NOT_DATA: [&str; 4] =
    [MIGRATIONS_TABLE, "registry_state", "watch_state", "secrets"];

/// Which tables hold data, if any (a migrated, unused database holds none).
pub(crate) fn holds_rows(counts: &[(String, i64)]) -> Option<String> {
    let full: Vec<String> = counts
        .iter()
        .filter(|(name, n)| !NOT_DATA.contains(&name.as_str()) && *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    (!full.is_empty()).then(|| full.join(", "))
}

fn backup_sqlite(db_path: &str, partial: &Path) -> Result<(Vec<(String, i64)>, String), AppError> {
    if !Path::new(db_path).exists() {
        return Err(AppError::NotFound(format!(
            "sqlite://{db_path} does not exist: check database.url"
        )));
    }
    let mut conn = Target::Sqlite {
        path: db_path.to_string(),
    }
    .connect()
    .map_err(|e| AppError::Unavailable {
        detail: format!("cannot open sqlite://{db_path}: {e}"),
        source: None,
    })?;
    let source_tables = match &mut conn {
        DbConn::Sqlite(c) => sqlite_tables(c)?,
        DbConn::Pg(_) => unreachable_backend()?,
    };
    let target = partial.to_string_lossy();
    conn.batch_execute(&format!("VACUUM INTO {}", literal(&target)))
        .map_err(|e| AppError::internal(format!("VACUUM INTO {target} failed: {e}")))?;
    drop(conn);
    let integrity = check_sqlite_file(partial)?;
    if integrity != "ok" {
        return Err(AppError::internal(format!(
            "the backup fails SQLite's integrity check: {integrity}"
        )));
    }
    let mut copy = open_sqlite_file(partial)?;
    let counts = sqlite_counts(&mut copy)?;
    let missing: Vec<&String> = source_tables
        .iter()
        .filter(|t| !counts.iter().any(|(name, _)| name == *t))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::internal(format!(
            "the backup lacks tables of the database: {missing:?}"
        )));
    }
    Ok((counts, integrity))
}

fn unreachable_backend<T>() -> Result<T, AppError> {
    Err(AppError::internal(
        "the connection is not of the backend its URL names",
    ))
}

/// Opens a SQLite file that is not a live database (a backup) as it is:
/// no WAL switch, nothing created if it is missing.
fn open_sqlite_file(path: &Path) -> Result<SqliteConnection, AppError> {
    if !path.is_file() {
        return Err(AppError::NotFound(format!(
            "{} does not exist",
            path.display()
        )));
    }
    SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| AppError::BadRequest(format!("cannot open {}: {e}", path.display())))
}

/// `ok`, or the first problems SQLite's `PRAGMA integrity_check` reports.
fn check_sqlite_file(path: &Path) -> Result<String, AppError> {
    let mut conn = open_sqlite_file(path)?;
    let found = diesel::sql_query("PRAGMA integrity_check")
        .load::<Check>(&mut conn)
        .map_err(|e| {
            AppError::BadRequest(format!(
                "{} cannot be checked as a SQLite database: {e}",
                path.display()
            ))
        })?;
    Ok(found
        .into_iter()
        .map(|c| c.integrity_check)
        .take(5)
        .collect::<Vec<_>>()
        .join("; "))
}

fn restore_sqlite(
    backup: &Path,
    db_path: &Path,
    force: bool,
) -> Result<Vec<(String, i64)>, AppError> {
    if db_path.exists() && file_size(db_path) > 0 {
        let mut existing = open_sqlite_file(db_path)?;
        let counts = sqlite_counts(&mut existing)?;
        drop(existing);
        if let Some(rows) = holds_rows(&counts) {
            if !force {
                return Err(AppError::Conflict(format!(
                    "sqlite://{} is not empty ({rows}); restore into a new file, or pass --force to replace it (stop every server using it first)",
                    db_path.display()
                )));
            }
        }
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", db_path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::internal(format!(
                    "cannot remove {}: {e}",
                    file.display()
                )))
            }
        }
    }
    let mut source = open_sqlite_file(backup)?;
    source
        .batch_execute(&format!(
            "VACUUM INTO {}",
            literal(&db_path.to_string_lossy())
        ))
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", db_path.display())))?;
    drop(source);
    let mut restored = open_sqlite_file(db_path)?;
    sqlite_counts(&mut restored)
}

/// Runs a PostgreSQL client program; a missing one is named with what to do.
fn pg_tool(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null());
    cmd
}

fn tool_missing(program: &str, e: std::io::Error) -> AppError {
    if e.kind() == std::io::ErrorKind::NotFound {
        AppError::Unavailable { detail: format!(
            "{program} is not installed (or not on PATH): install the PostgreSQL client of the server's major version, e.g. `apt-get install postgresql-client-15`, then run the backup again"
        ), source: None }
    } else {
        AppError::internal(format!("cannot run {program}: {e}"))
    }
}

fn stderr_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}

fn backup_postgres(url: &str, partial: &Path) -> Result<(Vec<(String, i64)>, String), AppError> {
    let mut conn = Target::Postgres {
        url: url.to_string(),
    }
    .connect()
    .map_err(|e| AppError::Unavailable {
        detail: format!("cannot open the database: {e}"),
        source: None,
    })?;
    let source_tables: Vec<String> = count_rows(&mut conn)?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    drop(conn);
    let out = pg_tool("pg_dump")
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(partial)
        .arg("--dbname")
        .arg(url)
        .output()
        .map_err(|e| tool_missing("pg_dump", e))?;
    if !out.status.success() {
        return Err(AppError::internal(format!(
            "pg_dump failed: {}",
            stderr_line(&out.stderr)
        )));
    }
    let counts = count_archive_rows(partial)?;
    let missing: Vec<&String> = source_tables
        .iter()
        .filter(|t| !counts.iter().any(|(name, _)| name == *t))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::internal(format!(
            "the dump lacks tables of the database: {missing:?}"
        )));
    }
    Ok((counts, "ok".into()))
}

/// Reads a pg_dump archive's data back through `pg_restore` (as SQL, to
/// stdout) and counts the rows of each table's `COPY` block: the archive is
/// readable to its end and holds what it says.
fn count_archive_rows(archive: &Path) -> Result<Vec<(String, i64)>, AppError> {
    let mut child = pg_tool("pg_restore")
        .args(["--data-only", "--file=-"])
        .arg(archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool_missing("pg_restore", e))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| AppError::internal("pg_restore gave no output"))?;
    let mut counts: Vec<(String, i64)> = Vec::new();
    let mut current: Option<(String, i64)> = None;
    for line in BufReader::new(stdout).split(b'\n') {
        let line = line.map_err(|e| AppError::internal(format!("reading pg_restore: {e}")))?;
        match &mut current {
            Some((_, n)) if line.as_slice() != b"\\." => *n += 1,
            Some(_) => counts.extend(current.take()),
            None => {
                if let Some(rest) = line.strip_prefix(b"COPY ") {
                    let rest = String::from_utf8_lossy(rest);
                    let table = rest.split([' ', '(']).next().unwrap_or_default();
                    let table = table.rsplit('.').next().unwrap_or(table).trim_matches('"');
                    current = Some((table.to_string(), 0));
                }
            }
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| AppError::internal(format!("pg_restore: {e}")))?;
    if !out.status.success() || current.is_some() {
        return Err(AppError::internal(format!(
            "the dump cannot be read back whole: {}",
            stderr_line(&out.stderr)
        )));
    }
    counts.sort();
    Ok(counts)
}

fn restore_postgres(
    archive: &Path,
    url: &str,
    force: bool,
) -> Result<Vec<(String, i64)>, AppError> {
    let target = Target::Postgres {
        url: url.to_string(),
    };
    let mut conn = target.connect().map_err(|e| AppError::Unavailable {
        detail: format!("cannot open {}: {e}", target.display()),
        source: None,
    })?;
    let existing = count_rows(&mut conn)?;
    if let Some(rows) = holds_rows(&existing) {
        if !force {
            return Err(AppError::Conflict(format!(
                "{} is not empty ({rows}); restore into a new database, or pass --force to replace it (stop every server using it first)",
                target.display()
            )));
        }
    }
    // Empty tables (a database already migrated) or --force: the archive's
    // tables replace them, dropped and created in pg_restore's one
    // transaction, so a failed restore leaves the database as it was.
    drop(conn);
    let out = pg_tool("pg_restore")
        .args([
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--clean",
            "--if-exists",
            "--dbname",
        ])
        .arg(url)
        .arg(archive)
        .output()
        .map_err(|e| tool_missing("pg_restore", e))?;
    if !out.status.success() {
        return Err(AppError::internal(format!(
            "pg_restore failed (nothing was restored): {}",
            stderr_line(&out.stderr)
        )));
    }
    let mut conn = target.connect().map_err(|e| AppError::Unavailable {
        detail: format!("cannot open {}: {e}", target.display()),
        source: None,
    })?;
    count_rows(&mut conn)
}
