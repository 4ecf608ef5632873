//! `vigia copy`: every row of one database into another, empty one, across
//! backends (a field office's SQLite into the national PostgreSQL, or back),
//! keeping ids, history (versions, soft deletes) and the audit trail.
//!
//! Rows travel as JSON, a page at a time: the source builds the JSON
//! (SQLite `json_object`, PostgreSQL `json_build_object`), the target reads
//! it back into typed columns (SQLite `json_each`, PostgreSQL
//! `json_populate_recordset`). Timestamps leave PostgreSQL in the text form
//! diesel writes on SQLite (`%F %T%.f`), so that text comparisons on SQLite
//! (keyset cursors) see the same values. Binary columns (attachments'
//! bytes) travel as `\x`-prefixed hex, PostgreSQL's own text form of
//! `bytea`, a few rows at a time. The source is read in one read
//! transaction, the target written in one transaction: all or nothing.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::backup::{count_rows, holds_rows, MIGRATIONS_TABLE, NOT_DATA};
use crate::db::{self, DbConn, Target};
use crate::error::AppError;

/// Tables that reference others come after them.
const REFERENCING: [&str; 15] = [
    "api_keys",
    "sessions",
    "user_links",
    "event_actors",
    "concessions",
    "watches",
    "alerts",
    "webhooks",
    "webhook_deliveries",
    "case_companies",
    "report_entries",
    "event_cases",
    "case_dismissals",
    "attachments",
    "event_publications",
];

/// The change feeds' log, written by triggers (`crate::changes`).
const CHANGES: &str = "changes";

const PAGE: i64 = 500;
/// Rows per page of a table with binary columns (files of up to 25 MiB).
const BLOB_PAGE: i64 = 4;

impl Column {
    fn is_binary(&self) -> bool {
        self.kind == "BLOB" || self.kind == "bytea"
    }
}

#[derive(Debug, Clone)]
pub struct CopyReport {
    pub tables: Vec<(String, i64)>,
    pub seconds: f64,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Text)]
    t: String,
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn open(target: &Target, role: &str) -> Result<DbConn, AppError> {
    let mut conn = target.connect().map_err(|e| AppError::Unavailable {
        detail: format!("--{role}: cannot open {}: {e}", target.display()),
        source: None,
    })?;
    db::migrate(&mut conn).map_err(|e| AppError::Conflict(format!("--{role}: {e}")))?;
    Ok(conn)
}

fn columns(conn: &mut DbConn, table: &str) -> Result<Vec<Column>, AppError> {
    let query = match conn {
        DbConn::Sqlite(_) => format!(
            "SELECT name, upper(type) AS kind FROM pragma_table_info({}) ORDER BY cid",
            literal(table)
        ),
        DbConn::Pg(_) => format!(
            "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = {} ORDER BY ordinal_position",
            literal(table)
        ),
    };
    Ok(diesel::sql_query(query).load::<Column>(conn)?)
}

/// One page of the source table as a JSON array of objects.
fn read_page(
    conn: &mut DbConn,
    table: &str,
    cols: &[Column],
    offset: i64,
    page: i64,
) -> Result<String, AppError> {
    let order = (1..=cols.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let query = match conn {
        DbConn::Sqlite(_) => {
            let pairs = cols
                .iter()
                .map(|c| {
                    let col = ident(&c.name);
                    if c.is_binary() {
                        format!("{}, '\\x' || lower(hex({col}))", literal(&c.name))
                    } else {
                        format!("{}, {col}", literal(&c.name))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT COALESCE(json_group_array(json_object({pairs})), '[]') AS t \
                 FROM (SELECT * FROM {} ORDER BY {order} LIMIT {page} OFFSET {offset})",
                ident(table)
            )
        }
        DbConn::Pg(_) => {
            let pairs = cols
                .iter()
                .map(|c| {
                    let col = ident(&c.name);
                    let value = if c.kind.starts_with("timestamp") {
                        // chrono's `%F %T%.f`: no fraction, 3 or 6 digits;
                        // the change log's time is SQLite's default
                        // instead, `%f` (always 3 digits), unless it came
                        // from PostgreSQL with microseconds.
                        let whole = if table == CHANGES {
                            "'YYYY-MM-DD HH24:MI:SS.MS'"
                        } else {
                            "'YYYY-MM-DD HH24:MI:SS'"
                        };
                        format!(
                            "CASE WHEN {col} IS NULL THEN NULL \
                             WHEN date_part('microseconds', {col})::bigint % 1000000 = 0 THEN to_char({col}, {whole}) \
                             WHEN date_part('microseconds', {col})::bigint % 1000 = 0 THEN to_char({col}, 'YYYY-MM-DD HH24:MI:SS.MS') \
                             ELSE to_char({col}, 'YYYY-MM-DD HH24:MI:SS.US') END"
                        )
                    } else if c.is_binary() {
                        format!("'\\x' || encode({col}, 'hex')")
                    } else {
                        col
                    };
                    format!("{}, {value}", literal(&c.name))
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "SELECT COALESCE(json_agg(json_build_object({pairs})), '[]')::text AS t \
                 FROM (SELECT * FROM {} ORDER BY {order} LIMIT {page} OFFSET {offset}) s",
                ident(table)
            )
        }
    };
    Ok(diesel::sql_query(query).get_result::<Json>(conn)?.t)
}

fn write_page(
    conn: &mut DbConn,
    table: &str,
    cols: &[Column],
    json: String,
) -> Result<(), AppError> {
    let names = cols
        .iter()
        .map(|c| ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let query = match conn {
        DbConn::Sqlite(_) => {
            let values = cols
                .iter()
                .map(|c| {
                    let path = literal(&format!("$.\"{}\"", c.name));
                    if c.is_binary() {
                        format!("unhex(substr(json_extract(value, {path}), 3))")
                    } else {
                        format!("json_extract(value, {path})")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {} ({names}) SELECT {values} FROM json_each(?)",
                ident(table)
            )
        }
        DbConn::Pg(_) => format!(
            "INSERT INTO {t} ({names}) OVERRIDING SYSTEM VALUE SELECT {names} FROM json_populate_recordset(NULL::{t}, $1::json)",
            t = ident(table)
        ),
    };
    diesel::sql_query(query)
        .bind::<Text, _>(json)
        .execute(conn)?;
    Ok(())
}

/// Moves PostgreSQL's sequences (the audit trail's `seq`) past the copied ids.
fn reset_sequences(conn: &mut DbConn, table: &str, cols: &[Column]) -> Result<(), AppError> {
    if let DbConn::Pg(_) = conn {
        for c in cols
            .iter()
            .filter(|c| c.kind == "bigint" || c.kind == "integer")
        {
            let query = format!(
                "SELECT setval(seq, GREATEST(COALESCE((SELECT MAX({col}) FROM {t}), 0), 1), \
                 (SELECT MAX({col}) FROM {t}) IS NOT NULL) \
                 FROM (SELECT pg_get_serial_sequence({tl}, {cl}) AS seq) s WHERE seq IS NOT NULL",
                col = ident(&c.name),
                t = ident(table),
                tl = literal(&ident(table)),
                cl = literal(&c.name),
            );
            diesel::sql_query(query).execute(conn)?;
        }
    }
    Ok(())
}

/// Copies every row of `from` into `to`, which must hold no data; both are
/// first brought to this binary's schema.
pub fn copy(from: &Target, to: &Target) -> Result<CopyReport, AppError> {
    let started = Instant::now();
    if from == to {
        return Err(AppError::BadRequest(
            "--from and --to name the same database".into(),
        ));
    }
    let mut source = open(from, "from")?;
    let mut target = open(to, "to")?;
    let existing = count_rows(&mut target)?;
    if let Some(rows) = holds_rows(&existing) {
        return Err(AppError::Conflict(format!(
            "--to {} is not empty ({rows}); copy into a new database",
            to.display()
        )));
    }
    let mut tables: Vec<String> = count_rows(&mut source)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != MIGRATIONS_TABLE)
        .collect();
    let target_tables: Vec<&String> = existing.iter().map(|(name, _)| name).collect();
    if let Some(missing) = tables.iter().find(|t| !target_tables.contains(t)) {
        return Err(AppError::Conflict(format!(
            "--to {} has no table {missing}",
            to.display()
        )));
    }
    // The change log last: copying the other tables fires its triggers in
    // the target, and those rows give way to the source's own log.
    tables.sort_by_key(|t| (t == CHANGES, REFERENCING.iter().position(|r| r == t)));

    // One snapshot of the source.
    match &mut source {
        DbConn::Sqlite(_) => source.batch_execute("BEGIN")?,
        DbConn::Pg(_) => source.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?,
    }
    let copied = db::write_tx(&mut target, |target| {
        for table in NOT_DATA.iter().filter(|t| **t != MIGRATIONS_TABLE) {
            target.batch_execute(&format!("DELETE FROM {}", ident(table)))?;
        }
        let mut copied = Vec::new();
        for table in &tables {
            let cols = columns(&mut source, table)?;
            let target_cols = columns(target, table)?;
            let size = if cols.iter().any(Column::is_binary) {
                BLOB_PAGE
            } else {
                PAGE
            };
            if table == CHANGES {
                target.batch_execute("DELETE FROM changes")?;
            }
            let mut offset = 0;
            loop {
                let page = read_page(&mut source, table, &cols, offset, size)?;
                if page == "[]" {
                    break;
                }
                write_page(target, table, &target_cols, page)?;
                offset += size;
            }
            reset_sequences(target, table, &target_cols)?;
            copied.push(table.clone());
        }
        // Transaction ids are the source's (or 0): in the target they would
        // order its own later changes wrongly (`crate::changes`). The copied
        // log keeps its order by `seq`, as the oldest history.
        target.batch_execute("UPDATE changes SET txid = 0")?;
        // Every table holds what the source holds.
        let source_counts = count_rows(&mut source)?;
        let target_counts = count_rows(target)?;
        for table in &copied {
            let find = |counts: &[(String, i64)]| {
                counts
                    .iter()
                    .find(|(name, _)| name == table)
                    .map(|(_, n)| *n)
            };
            if find(&source_counts) != find(&target_counts) {
                return Err(AppError::internal(format!(
                    "{table}: {:?} rows in the source, {:?} copied; nothing was written",
                    find(&source_counts),
                    find(&target_counts)
                )));
            }
        }
        Ok(target_counts)
    });
    let _ = source.batch_execute("ROLLBACK");
    let tables = copied?
        .into_iter()
        .filter(|(name, _)| name != MIGRATIONS_TABLE)
        .collect();
    Ok(CopyReport {
        tables,
        seconds: started.elapsed().as_secs_f64(),
    })
}
