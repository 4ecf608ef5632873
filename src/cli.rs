//! The `vigia` command line: serve, migrate, manage keys.
//!
//! Output meant for scripts goes to stdout (a new token, the key list);
//! everything else goes to stderr. A failure is one line and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::audit::Actor;
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
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; prints only its token on stdout.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        name: String,
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
    // Every command brings the schema up to date first. One-shot commands
    // use this one plain connection; only the server pools.
    let mut conn = target
        .connect()
        .map_err(|e| format!("database.url: cannot open {}: {e}", target.display()))?;
    for name in crate::db::migrate(&mut conn)? {
        tracing::info!(migration = %name, "applied migration");
    }
    match cli.command {
        Command::Serve => {
            drop(conn);
            let db = Db::connect(target, settings.database.pool_size)
                .map_err(|e| format!("database.url: {e}"))?;
            serve(settings, db)
        }
        Command::Migrate => Ok(()),
        Command::Keys(command) => run_keys(&mut conn, command),
    }
}

fn serve(settings: Settings, db: Db) -> Result<(), String> {
    let target = db.target().display();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings, db)?;
        tracing::info!(port = app.port(), database = %target, "vigia serving");
        app.run_until_stopped()
            .await
            .map_err(|e| format!("server: {e}"))?;
        tracing::info!("vigia stopped");
        Ok(())
    })
}

fn run_keys(conn: &mut DbConn, command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Create { role, name } => {
            let created =
                keys::create(conn, &Actor::cli(), &name, role).map_err(|e| e.to_string())?;
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
                    .map_err(|e| e.to_string())?;
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
            let key =
                keys::revoke(conn, &Actor::cli(), &id.to_string()).map_err(|e| e.to_string())?;
            eprintln!("revoked key {:?} ({})", key.name, key.id);
        }
    }
    Ok(())
}
