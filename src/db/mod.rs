//! One connection type over SQLite and PostgreSQL, its pool, migrations and
//! the few places where the two backends need different SQL.
//!
//! The backend is chosen from the URL scheme (`sqlite://` or `postgres://`),
//! never by trial: diesel's derived `establish` would hide the real error.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Where the data lives, parsed from `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://vigia.db".into());
            }
            if path == ":memory:" || path.starts_with("file::memory:") {
                return Err(
                    "in-memory SQLite is not supported (every pooled connection would see its own empty database); use a file path".into(),
                );
            }
            Ok(Target::Sqlite {
                path: path.to_string(),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Postgres {
                url: url.to_string(),
            })
        } else {
            let scheme = url.split("://").next().unwrap_or(url);
            Err(format!(
                "unsupported scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            ))
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Target::Sqlite { .. })
    }

    /// The URL with any password hidden, for messages and logs.
    pub fn display(&self) -> String {
        match self {
            Target::Sqlite { path } => format!("sqlite://{path}"),
            Target::Postgres { url } => redact_password(url),
        }
    }

    pub fn connect(&self) -> Result<DbConn, diesel::ConnectionError> {
        match self {
            Target::Sqlite { path } => {
                let mut conn = SqliteConnection::establish(path)?;
                // WAL lets readers run beside the one writer; FULL makes every
                // acknowledged commit survive a crash or power cut; the busy
                // timeout makes a second writer (the CLI, another pool
                // connection) wait instead of failing.
                // The busy timeout goes first: switching to WAL takes a lock
                // that other connections opening at the same time contend for.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
            Target::Postgres { url } => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Pg(conn))
            }
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// r2d2 manager that opens the backend named by the URL and applies the
/// per-connection settings.
#[derive(Debug, Clone)]
pub struct Manager {
    target: Target,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.target
            .connect()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The shared handle every module uses to reach the database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    target: Target,
}

impl Db {
    /// Connects once directly (so the real error reaches the user), then
    /// builds the pool.
    pub fn connect(target: Target, pool_size: u32) -> Result<Self, String> {
        target
            .connect()
            .map_err(|e| format!("cannot open {}: {}", target.display(), e))?;
        // Every connection is opened up front and kept: r2d2 then never
        // opens one on its background threads, where libpq racing the
        // process's exit handlers crashed short-lived commands (exit 139).
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(None)
            .idle_timeout(None)
            .max_lifetime(None)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager {
                target: target.clone(),
            })
            .map_err(|e| format!("cannot open {}: {}", target.display(), e))?;
        Ok(Db { pool, target })
    }

    /// Connections open and idle in the pool.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn get(&self) -> Result<PooledConn, AppError> {
        self.pool.get().map_err(AppError::from)
    }

    /// Runs blocking database work on actix's blocking thread pool, off the
    /// async executor. The caller's span (the request's) is entered on the
    /// blocking thread, so the store functions' spans nest under the request
    /// that called them; inside it a debug-level `db` span covers the wait
    /// for a pooled connection and the work.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let caller = tracing::Span::current();
        actix_web::web::block(move || {
            let _caller = caller.enter();
            let _db = tracing::debug_span!("db").entered();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::internal_from("blocking task failed", e))?
    }

    pub fn migrate(&self) -> Result<Vec<String>, String> {
        let mut conn = self.get().map_err(|e| e.report())?;
        migrate(&mut conn)
    }
}

/// Refuses a database whose schema is newer than this binary's: a migration
/// applied there that this binary does not know means tables it does not
/// understand. One line: the version found and the newest one known.
pub fn check_schema(conn: &mut DbConn) -> Result<(), String> {
    use diesel::migration::MigrationSource;
    fn versions<DB: diesel::backend::Backend>(
        found: diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<DB>>>>,
    ) -> Result<Vec<String>, String> {
        Ok(found
            .map_err(|e| format!("cannot read the embedded migrations: {e}"))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    }
    let (applied, known) = match conn {
        DbConn::Sqlite(c) => (
            c.applied_migrations(),
            versions(MigrationSource::<diesel::sqlite::Sqlite>::migrations(
                &SQLITE_MIGRATIONS,
            ))?,
        ),
        DbConn::Pg(c) => (
            c.applied_migrations(),
            versions(MigrationSource::<diesel::pg::Pg>::migrations(
                &POSTGRES_MIGRATIONS,
            ))?,
        ),
    };
    let applied = applied.map_err(|e| format!("cannot read the schema version: {e}"))?;
    let unknown: Vec<String> = applied
        .iter()
        .map(|v| v.to_string())
        .filter(|v| !known.contains(v))
        .collect();
    if let Some(found) = unknown.iter().max() {
        let newest = known.iter().max().map(String::as_str).unwrap_or("none");
        return Err(format!(
            "the database schema is at version {found}, newer than this vigia {} knows (up to {newest}): run the vigia release that upgraded it, or restore a backup made before the upgrade",
            env!("CARGO_PKG_VERSION")
        ));
    }
    Ok(())
}

/// Applies the pending migrations of the connection's backend, each in its
/// own transaction (diesel's default; no migration opts out), after
/// [`check_schema`]; returns their names.
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, String> {
    check_schema(conn)?;
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| format!("migration failed: {e}"))?;
    Ok(applied.iter().map(|m| m.to_string()).collect())
}

static SQLITE_WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`write_tx`] for a file import, which writes thousands of rows of a
/// table and looks each one up in it within one transaction. PostgreSQL
/// plans a statement run several times once, for the table as its
/// statistics last saw it: a nearly empty `concessions` got a sequential
/// scan for the lookup by code, run again for every row of the import as
/// the table grew (70,000 concessions: 20 minutes and more). Here every
/// statement is planned for the rows it meets (`plan_cache_mode`, for this
/// transaction only); SQLite has no such cache of plans.
pub fn bulk_write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    write_tx(conn, |conn| {
        if let DbConn::Pg(c) = conn {
            c.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")?;
        }
        f(conn)
    })
}

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so the
/// write lock is taken up front and a concurrent writer waits on the busy
/// timeout instead of failing half-way; on PostgreSQL a plain `BEGIN`.
///
/// Operations (`crate::ops`) open the transaction; a store function that
/// also calls `write_tx` (so it can be used on its own, e.g. by the command
/// line) joins the open one instead of nesting: one operation, one commit.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    if in_transaction(conn) {
        return f(conn);
    }
    // SQLite has one writer at a time. Writers of this process queue here,
    // in order, instead of polling in SQLite's busy handler (which sleeps
    // for growing intervals and showed as 100 ms tails under load); the busy
    // timeout still covers writers in other processes.
    let _queue = matches!(conn, DbConn::Sqlite(_)).then(|| {
        SQLITE_WRITERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    });
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Whether a transaction is open on this connection.
pub fn in_transaction(conn: &mut DbConn) -> bool {
    let status = match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c),
        DbConn::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c),
    };
    matches!(status.transaction_depth(), Ok(Some(_)))
}

/// The current UTC time at the microsecond precision both databases keep, so
/// a value reads back exactly as it was written.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// The random 32-byte secret stored under `name` in `secrets`, made on first
/// use. Every process on one database reads the same one: two racing to make
/// it both end up with the one stored first.
pub fn secret(conn: &mut DbConn, name: &str) -> Result<Vec<u8>, AppError> {
    use crate::schema::secrets;
    use diesel::prelude::*;
    use rand::RngCore;
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    let row = (
        secrets::name.eq(name),
        secrets::value.eq(hex::encode(fresh)),
    );
    match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(secrets::table)
            .values(row)
            .execute(c)?,
        DbConn::Pg(c) => diesel::insert_into(secrets::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    let stored: String = secrets::table
        .find(name)
        .select(secrets::value)
        .first(conn)?;
    hex::decode(stored)
        .map_err(|e| AppError::internal_from(format!("secrets.{name} is not hex"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("sqlite://vigia.db"),
            Ok(Target::Sqlite {
                path: "vigia.db".into()
            })
        );
        assert_eq!(
            Target::parse("sqlite:///var/lib/vigia.db"),
            Ok(Target::Sqlite {
                path: "/var/lib/vigia.db".into()
            })
        );
        assert!(Target::parse("postgres://u@h/db").is_ok());
        assert!(Target::parse("mysql://u@h/db").is_err());
        assert!(Target::parse("sqlite://").is_err());
        assert!(Target::parse("sqlite://:memory:").is_err());
    }

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact_password("postgres://vigia:s3cret@db:5432/vigia"),
            "postgres://vigia:***@db:5432/vigia"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
