//! The `vigia` command line: serve, migrate, manage keys.
//!
//! Output meant for scripts goes to stdout (a new token, the key list);
//! everything else goes to stderr. A failure is one line and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::db::{Db, DbConn};
use crate::keys::{self, Role};
use crate::startup::Application;

#[derive(Parser)]
#[command(
    name = "vigia",
    version,
    about = "Vigía: social conflicts around mining in Peru"
)]
struct Cli {
    /// A settings file layered over the defaults (see config/default.toml).
    #[arg(long, global = true, env = "VIGIA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the HTTP API.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage people's accounts for the web pages.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Load real data files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Send due alerts and confirmations (the worker `serve` runs, on its own).
    Deliver {
        /// Send what is due now and exit (for cron); the exit code is
        /// non-zero if a mail could not be sent.
        #[arg(long)]
        once: bool,
    },
    /// Back the database up into PATH (a new file) while servers run on it,
    /// and check what was written. SQLite: a database file; PostgreSQL: a
    /// pg_dump archive (needs pg_dump and pg_restore on PATH).
    Backup { path: PathBuf },
    /// Restore a backup made by `vigia backup` into database.url, which must
    /// be empty (stop the servers first), then bring its schema up to date.
    Restore {
        path: PathBuf,
        /// Replace a database that holds data.
        #[arg(long)]
        force: bool,
    },
    /// Copy every row of one database into another, empty one, across
    /// backends (e.g. a field office's SQLite into the national PostgreSQL),
    /// keeping ids, history and the audit trail. Stop the servers first.
    Copy {
        /// sqlite://PATH or postgres://…
        #[arg(long)]
        from: String,
        /// sqlite://PATH or postgres://… (created and migrated if new; must hold no data)
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// INGEMMET concessions from GeoJSON or an ESRI shapefile (.shp + .dbf + .prj).
    Concessions {
        path: PathBuf,
        /// The file's coordinate system when it does not say (e.g. EPSG:32717).
        #[arg(long)]
        crs: Option<String>,
        /// The file is a whole zone: concessions of its coordinate system that
        /// it lacks are recorded as removed.
        #[arg(long)]
        full_snapshot: bool,
    },
    /// District boundaries with ubigeo (replaces the district layer).
    Boundaries {
        path: PathBuf,
        #[arg(long)]
        crs: Option<String>,
        #[arg(long, default_value = "IDDIST")]
        ubigeo_field: String,
        #[arg(long, default_value = "NOMBDIST")]
        name_field: String,
        #[arg(long, default_value = "NOMBPROV")]
        province_field: String,
        #[arg(long, default_value = "NOMBDEP")]
        region_field: String,
    },
    /// Defensoría report entries from CSV (columns: report_number,
    /// report_month, case_name, case_type, activity, region, province,
    /// district, ubigeo, companies, status, phase, violence, dialogue,
    /// description). One bad row and nothing is written, unless --skip-invalid.
    ReportEntries {
        path: PathBuf,
        /// Import the good rows and report the bad ones.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Incidents from CSV or XLSX: Vigía's own export or ACLED's (told by
    /// the header). A row is known by event_id_cnty: importing the same
    /// file again changes nothing; a changed row updates its incident. One
    /// bad row and nothing is written, unless --skip-invalid.
    Events {
        path: PathBuf,
        /// Import the good rows and report the bad ones.
        #[arg(long)]
        skip_invalid: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create an account; prints only a one-time link (valid 72 hours) on
    /// stdout, where the person chooses a password. That is how the first
    /// admin gets in, with no mail needed.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        /// The name shown in the pages and the history (default: the part
        /// of the address before the @).
        #[arg(long)]
        name: Option<String>,
        /// The language of the person's mails.
        #[arg(long, default_value = "es")]
        language: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; prints only its token on stdout.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        name: String,
        /// The e-mail of the person the key belongs to (their scripts):
        /// disabling the person revokes it.
        #[arg(long)]
        user: Option<String>,
    },
    /// List keys (never their tokens).
    List,
    /// Revoke a key by id; it stops working at once.
    Revoke { id: String },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, even when a driver's message spans several.
            let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("vigia: {message}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> Result<(), String> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(settings.log.format);
    let target = settings.database_target()?;
    match &cli.command {
        Command::Backup { path } => return run_backup(&target, path),
        Command::Restore { path, force } => return run_restore(&target, path, *force),
        Command::Copy { from, to } => return run_copy(from, to),
        _ => {}
    }
    // Every command brings the schema up to date first. One-shot commands
    // use this one plain connection; only the server pools.
    let mut conn = target
        .connect()
        .map_err(|e| format!("database.url: cannot open {}: {e}", target.display()))?;
    for name in crate::db::migrate(&mut conn)? {
        tracing::info!(migration = %name, "applied migration");
    }
    // A command run from another folder opens (and creates) another SQLite
    // file: once a command has done its work, it says which database that
    // was, on stderr (stdout stays for what scripts keep, such as a new
    // key's token; a failure stays one line). The server logs it instead.
    let shown = match &target {
        crate::db::Target::Sqlite { path } => std::path::absolute(path)
            .map(|p| format!("sqlite://{}", p.display()))
            .unwrap_or_else(|_| target.display()),
        _ => target.display(),
    };
    let quiet = matches!(cli.command, Command::Serve | Command::Deliver { .. });
    let done = match cli.command {
        Command::Serve => {
            drop(conn);
            let db = Db::connect(target, settings.database.pool_size)
                .map_err(|e| format!("database.url: {e}"))?;
            serve(settings, db)
        }
        Command::Migrate => Ok(()),
        Command::Deliver { once } => {
            drop(conn);
            let db = Db::connect(target, 2).map_err(|e| format!("database.url: {e}"))?;
            deliver(settings, db, once)
        }
        Command::Keys(command) => run_keys(&mut conn, command),
        Command::Users(command) => run_users(&mut conn, command, settings.base_url()),
        Command::Import(command) => run_import(&mut conn, command, settings.import.max_bytes()),
        Command::Backup { .. } | Command::Restore { .. } | Command::Copy { .. } => Ok(()),
    };
    if done.is_ok() && !quiet {
        eprintln!("vigia: database {shown}");
    }
    done
}

fn run_backup(target: &crate::db::Target, path: &std::path::Path) -> Result<(), String> {
    // A backup reads any schema: no migration first, only the check that
    // this binary understands the database.
    let mut conn = target
        .connect()
        .map_err(|e| format!("database.url: cannot open {}: {e}", target.display()))?;
    crate::db::check_schema(&mut conn)?;
    drop(conn);
    let report = crate::ops::backup::backup_and_record(target, path)
        .map_err(|e| format!("backup of {} failed: {e}", target.display()))?;
    eprintln!(
        "backed up {} to {}: {} bytes in {:.1} s; integrity {}; rows: {}",
        target.display(),
        report.path.display(),
        report.bytes,
        report.seconds,
        report.integrity,
        report.summary()
    );
    eprintln!("{}", crate::ops::backup::ATTACHMENTS);
    Ok(())
}

fn run_copy(from: &str, to: &str) -> Result<(), String> {
    let from_target = crate::db::Target::parse(from).map_err(|e| format!("--from: {e}"))?;
    let to_target = crate::db::Target::parse(to).map_err(|e| format!("--to: {e}"))?;
    let report = crate::ops::copy::copy(&from_target, &to_target).map_err(|e| {
        format!(
            "copy from {} to {} failed: {e}",
            from_target.display(),
            to_target.display()
        )
    })?;
    let rows = report
        .tables
        .iter()
        .filter(|(name, _)| !crate::ops::backup::NOT_DATA.contains(&name.as_str()))
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!(
        "copied {} to {} in {:.1} s; rows: {rows}",
        from_target.display(),
        to_target.display(),
        report.seconds
    );
    Ok(())
}

fn run_restore(
    target: &crate::db::Target,
    path: &std::path::Path,
    force: bool,
) -> Result<(), String> {
    let report = crate::ops::backup::restore(target, path, force)
        .map_err(|e| format!("restore into {} failed: {e}", target.display()))?;
    let mut conn = target
        .connect()
        .map_err(|e| format!("database.url: cannot open {}: {e}", target.display()))?;
    let applied = crate::db::migrate(&mut conn)?;
    eprintln!(
        "restored {} into {} in {:.1} s; rows: {}{}",
        report.path.display(),
        target.display(),
        report.seconds,
        report.summary(),
        if applied.is_empty() {
            String::new()
        } else {
            format!(
                "; then applied {} migration(s) of this version",
                applied.len()
            )
        }
    );
    Ok(())
}

fn serve(settings: Settings, db: Db) -> Result<(), String> {
    let target = db.target().display();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings, db)?;
        // The bound address, not the configured one: with `server.bind` on
        // port 0 this line is how a supervisor (or a test) learns the port.
        let address = app.address();
        tracing::info!(port = address.port(), database = %target, "vigia listening on {address}");
        app.run_until_stopped()
            .await
            .map_err(|e| format!("server: {e}"))?;
        tracing::info!("vigia stopped");
        Ok(())
    })
}

fn deliver(settings: Settings, db: Db, once: bool) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        // Inside the runtime: the SMTP pool starts a task of its own.
        let (worker, _) = crate::startup::delivery_worker(&settings, &db)?;
        if once {
            let pass = worker.run_once().await.map_err(|e| e.report())?;
            eprintln!(
                "{} sent, {} to retry, {} failed, {} cancelled",
                pass.sent, pass.retried, pass.failed, pass.cancelled
            );
            if pass.retried + pass.failed > 0 {
                return Err(format!(
                    "{} mail(s) could not be sent; see GET /api/v1/alerts?status=pending",
                    pass.retried + pass.failed
                ));
            }
            return Ok(());
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = actix_web::rt::spawn(worker.run(stopped));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| format!("cannot watch for SIGTERM: {e}"))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = stop.send(true);
        let _ = running.await;
        Ok(())
    })
}

fn run_users(conn: &mut DbConn, command: UsersCommand, base_url: &str) -> Result<(), String> {
    match command {
        UsersCommand::Create {
            email,
            role,
            name,
            language,
        } => {
            let language = crate::i18n::Language::parse(&language)
                .ok_or_else(|| format!("--language {language:?}: es or en"))?;
            let input = crate::accounts::NewUser {
                email,
                display_name: name,
                role,
                language,
            };
            let links = crate::ops::accounts::SiteLinks {
                base_url: base_url.to_string(),
            };
            let (user, link) =
                crate::ops::accounts::create(conn, &crate::ops::Who::cli(), &input, &links)
                    .map_err(|e| e.report())?;
            eprintln!(
                "created {} account for {} ({:?}); open the link below within 72 hours to choose a password",
                role.as_str(),
                user.email,
                user.display_name
            );
            println!("{link}");
        }
    }
    Ok(())
}

fn run_keys(conn: &mut DbConn, command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Create { role, name, user } => {
            let user_id = match user {
                Some(email) => {
                    let (_, key) = crate::accounts::email_key(&email, "user")
                        .map_err(|e| format!("--user: {}", e.report()))?;
                    let (found, _) = crate::accounts::store::by_email(conn, &key)
                        .map_err(|e| e.report())?
                        .ok_or_else(|| format!("--user: no account for {email}"))?;
                    Some(found.id.to_string())
                }
                None => None,
            };
            let created = crate::ops::keys::create(
                conn,
                &crate::ops::Who::cli(),
                &name,
                role,
                user_id.as_deref(),
            )
            .map_err(|e| e.report())?;
            eprintln!(
                "created {} key {:?} (id {}); the token below is shown only once",
                role.as_str(),
                created.key.name,
                created.key.id
            );
            println!("{}", created.token);
        }
        KeysCommand::List => {
            let mut after = None;
            loop {
                let mut page = keys::list(conn, after.clone(), crate::pagination::MAX_LIMIT)
                    .map_err(|e| e.report())?;
                let more = page.len() as i64 > crate::pagination::MAX_LIMIT;
                page.truncate(crate::pagination::MAX_LIMIT as usize);
                for key in &page {
                    let state = key
                        .revoked_at
                        .map(|t| format!("revoked {}", t.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_else(|| "live".into());
                    println!(
                        "{}\t{}\t{}\t{}…\t{}",
                        key.id,
                        key.role.as_str(),
                        key.name,
                        key.token_prefix,
                        state
                    );
                }
                match (more, page.last()) {
                    (true, Some(last)) => {
                        after = Some((last.created_at.naive_utc(), last.id.to_string()))
                    }
                    _ => break,
                }
            }
        }
        KeysCommand::Revoke { id } => {
            let id = uuid::Uuid::parse_str(&id).map_err(|_| format!("{id:?} is not a key id"))?;
            let key = crate::ops::keys::revoke(
                conn,
                &crate::places::PlaceIndex::default(),
                &crate::ops::Who::cli(),
                &id.to_string(),
            )
            .map_err(|e| e.report())?;
            eprintln!("revoked key {:?} ({})", key.name, key.id);
        }
    }
    Ok(())
}

fn run_import(conn: &mut DbConn, command: ImportCommand, max_bytes: u64) -> Result<(), String> {
    let index = crate::places::PlaceIndex::default();
    let who = crate::ops::Who::cli();
    match command {
        ImportCommand::Concessions {
            path,
            crs,
            full_snapshot,
        } => {
            let report = crate::ops::places::import_concessions(
                conn,
                &index,
                &who,
                &path,
                crs.as_deref(),
                full_snapshot,
                max_bytes,
                &crate::places::import::show_progress,
            )?;
            for s in &report.skipped {
                eprintln!(
                    "skipped feature {} ({}): {}",
                    s.index,
                    s.code.as_deref().unwrap_or("no code"),
                    s.reason
                );
            }
            eprintln!(
                "{}: {} read ({}), {} added, {} updated, {} unchanged, {} removed, {} skipped; {} incidents matched again; {:.1} s",
                path.display(),
                report.read,
                report.crs,
                report.added,
                report.updated,
                report.unchanged,
                report.removed,
                report.skipped.len(),
                report.events_rematched,
                report.seconds
            );
        }
        ImportCommand::Boundaries {
            path,
            crs,
            ubigeo_field,
            name_field,
            province_field,
            region_field,
        } => {
            let fields = crate::places::import::DistrictFields {
                ubigeo: ubigeo_field,
                name: name_field,
                province: province_field,
                region: region_field,
            };
            let report = crate::ops::places::import_boundaries(
                conn,
                &index,
                &who,
                &path,
                crs.as_deref(),
                &fields,
                max_bytes,
            )?;
            for s in &report.skipped {
                eprintln!(
                    "skipped district {} ({}): {}",
                    s.index,
                    s.code.as_deref().unwrap_or("no name"),
                    s.reason
                );
            }
            eprintln!(
                "{}: {} read, {} districts loaded, {} skipped; {} incidents coded again; {:.1} s",
                path.display(),
                report.read,
                report.imported,
                report.skipped.len(),
                report.events_recoded,
                report.seconds
            );
        }
        ImportCommand::ReportEntries { path, skip_invalid } => {
            let report = crate::ops::cases::import_report_entries(
                conn,
                &who,
                &path,
                skip_invalid,
                max_bytes,
            )?;
            for bad in &report.bad {
                eprintln!("line {}: {}", bad.line, bad.reason);
            }
            if report.written {
                for warning in &report.warnings {
                    eprintln!(
                        "line {}: warning: {}",
                        warning.line,
                        warning.fallback.message()
                    );
                }
            }
            if !report.written && !report.bad.is_empty() {
                return Err(format!(
                    "{}: {} of {} rows are bad; nothing was imported (fix them, or pass --skip-invalid to import the good rows)",
                    path.display(),
                    report.bad.len(),
                    report.read
                ));
            }
            eprintln!(
                "{}: {} rows read, {} skipped, {} with a place warning; cases {} added, {} updated; entries {} added, {} updated, {} unchanged; {} companies added as actors; {:.1} s",
                path.display(),
                report.read,
                report.bad.len(),
                report.warnings.len(),
                report.cases_added,
                report.cases_updated,
                report.entries_added,
                report.entries_updated,
                report.entries_unchanged,
                report.actors_added,
                report.seconds
            );
        }
        ImportCommand::Events { path, skip_invalid } => {
            let report = crate::ops::event_import::import_events_file(
                conn,
                &index,
                &who,
                &path,
                skip_invalid,
                max_bytes,
            )?;
            for bad in &report.bad {
                eprintln!("line {}: {}", bad.line, bad.reason);
            }
            if !report.written && !report.bad.is_empty() {
                return Err(format!(
                    "{}: {} of {} rows are bad; nothing was imported (fix them, or pass --skip-invalid to import the good rows)",
                    path.display(),
                    report.bad.len(),
                    report.read
                ));
            }
            eprintln!(
                "{}: {} rows read ({} format), {} skipped; incidents {} created, {} updated, {} unchanged; {} actors added; {} alerts queued; {:.1} s",
                path.display(),
                report.read,
                report.format.as_str(),
                report.bad.len(),
                report.created,
                report.updated,
                report.unchanged,
                report.actors_added,
                report.alerts,
                report.seconds
            );
        }
    }
    Ok(())
}
