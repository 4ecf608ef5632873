//! Layered settings: built-in defaults (config/default.toml), an optional
//! file, then `VIGIA__SECTION__KEY` environment variables. Every value is
//! checked here so that a bad one stops the program with one clear line.

use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;

use crate::db::Target;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub smtp: SmtpSettings,
    pub alerts: AlertSettings,
    pub backup: BackupSettings,
    pub import: ImportSettings,
    pub web: WebSettings,
    pub attachments: AttachmentSettings,
    pub public: PublicSettings,
    /// Where the layers above the defaults came from, for the admins'
    /// settings page.
    #[serde(skip)]
    pub origin: Origin,
}

/// The layers a [`Settings`] was read from besides the built-in defaults.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub file: Option<PathBuf>,
    /// The `VIGIA__…` environment variables as they were read.
    pub env: HashMap<String, String>,
}

/// Where a setting's current value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `config/default.toml`, compiled in.
    Default,
    File(PathBuf),
    /// The environment variable's name.
    Env(String),
    /// None of the layers says this value: the program that started Vigía
    /// set it (the tests do).
    Program,
}

/// One setting as the admins' page shows it.
#[derive(Debug, Clone)]
pub struct Shown {
    /// `section.key`.
    pub key: String,
    /// The current value, masked when it is a secret.
    pub value: String,
    pub secret: bool,
    pub source: Source,
}

/// Settings whose values are never shown: a password, or a URL that may
/// hold one (only the password part is masked there).
fn is_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    ["password", "secret", "token", "signing_key"]
        .iter()
        .any(|word| last.contains(word))
}

const MASK: &str = "••••••";

/// A URL with the password of its user part (and any `password=` query
/// parameter) masked: `postgres://vigia:••••••@db/vigia`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_secret(&k.to_ascii_lowercase()) => format!("{k}={MASK}"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `{"a": {"b": 1}}` as `[("a.b", 1)]`.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

fn layer_keys(
    config: Result<Config, config::ConfigError>,
) -> Result<HashMap<String, String>, String> {
    let value: serde_json::Value = config
        .and_then(Config::try_deserialize)
        .map_err(|e| format!("settings: {e}"))?;
    let mut flat = Vec::new();
    flatten("", &value, &mut flat);
    Ok(flat.into_iter().map(|(k, v)| (k, text_of(&v))).collect())
}

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn environment(env: &HashMap<String, String>) -> Environment {
    Environment::with_prefix("VIGIA")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(Some(env.clone().into_iter().collect()))
}

/// Files attached to incidents and cases.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSettings {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Empty: the bytes are kept in the database. Else a directory where
    /// they are kept as files named by their SHA-256.
    pub dir: String,
    /// Keep each photo as uploaded too, with its location and camera data,
    /// for evidence; only admins can read it.
    pub keep_originals: bool,
}

impl AttachmentSettings {
    pub fn policy(&self) -> crate::attachments::AttachmentPolicy {
        use crate::attachments::{AttachmentPolicy, Storage};
        let dir = self.dir.trim();
        AttachmentPolicy {
            storage: if dir.is_empty() {
                Storage::Database
            } else {
                Storage::Dir(dir.into())
            },
            max_bytes: self.max_bytes,
            keep_originals: self.keep_originals,
        }
    }
}

/// The public map (issue 15): anonymous visitors read published incidents,
/// generalised (`events::public`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    /// Off by default: every public route answers 404.
    pub enabled: bool,
    /// The side, in km, of the grid an incident outside every loaded
    /// district is shown at the centre of.
    pub grid_km: f64,
    /// Requests a minute one client address may make to the public routes
    /// (a burst of as many, then refilled evenly); beyond, 429.
    pub rate_per_minute: u32,
}

/// The web pages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// The base map's tile URL template (`{z}`, `{x}`, `{y}`, optionally
    /// `{s}`); empty: no base map, only Vigía's own outlines.
    pub tile_url: String,
    /// Credit the tile provider asks for, shown on the map.
    pub tile_attribution: String,
}

impl WebSettings {
    /// The origin tiles come from, for the pages' Content-Security-Policy
    /// (`{s}` subdomains as a wildcard).
    pub fn tile_origin(&self) -> Option<String> {
        let url = self.tile_url.trim();
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next()?;
        let host = host.replace("{s}", "*");
        let ok = matches!(scheme, "http" | "https")
            && !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
        ok.then(|| format!("{scheme}://{host}"))
    }
}

/// What `vigia import` reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// The largest file an import reads, in MiB (a shapefile's .shp, .shx
    /// and .dbf together).
    pub max_file_mb: u64,
    /// The largest upload the admins' imports page accepts, in MiB.
    pub max_upload_mb: u64,
}

impl ImportSettings {
    pub fn max_bytes(&self) -> u64 {
        self.max_file_mb.saturating_mul(1024 * 1024)
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mb.saturating_mul(1024 * 1024)
    }
}

/// Backups `serve` makes by itself.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// The folder backups go to; empty: no scheduled backups.
    pub dir: String,
    /// The local hour (0–23, local as for `alerts.utc_offset_hours`).
    pub hour: u32,
    /// Days a scheduled backup is kept in `dir`.
    pub keep: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Empty: no authentication.
    pub username: String,
    pub password: String,
    pub from: String,
    /// Connections kept open to the server; also how many mails go at once.
    pub pool_size: u32,
    pub timeout_seconds: u64,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// Run the delivery worker inside `serve`.
    pub deliver: bool,
    /// How often the worker looks for due mail when idle.
    pub poll_interval_ms: u64,
    /// Mails claimed (and marked sent) together.
    pub batch_size: u32,
    /// How long a claim holds before another worker may take the mail over.
    pub lease_seconds: u64,
    /// The first retry's delay; each next one doubles, up to an hour.
    pub retry_initial_seconds: u64,
    /// After this long of failures a mail is marked `failed`.
    pub retry_for_hours: u64,
    /// The local hour (0–23) daily digests go out at.
    pub digest_hour: u32,
    /// The offset of that local time from UTC, in hours (Peru: -5).
    pub utc_offset_hours: i32,
    pub confirm_ttl_hours: u64,
    pub resend_interval_seconds: u64,
    /// Confirmation mails one address may be sent in an hour.
    pub confirmations_per_address_per_hour: u32,
    /// Confirmation mails the watches of one API key may cause in an hour.
    pub confirmations_per_key_per_hour: u32,
    /// `/readyz` answers degraded when mail has been due longer (0: never).
    pub ready_max_due_seconds: u64,
    /// Webhooks may be plain http and reach private addresses (tests,
    /// intranets).
    pub webhook_allow_private: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// How long a checked key is trusted without asking the database again.
    pub key_cache_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub public_base_url: String,
    pub max_body_bytes: usize,
    pub shutdown_timeout_seconds: u64,
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
}

impl Settings {
    /// Reads the layers and checks every value.
    pub fn load(file: Option<&Path>) -> Result<Settings, String> {
        let env = std::env::vars()
            .filter(|(k, _)| k.starts_with("VIGIA__"))
            .collect();
        Settings::load_with(file, env)
    }

    /// Reads the defaults, `file` and the `VIGIA__…` variables of `env`.
    pub fn load_with(
        file: Option<&Path>,
        env: HashMap<String, String>,
    ) -> Result<Settings, String> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            if !path.exists() {
                return Err(format!("--config {}: no such file", path.display()));
            }
            builder = builder.add_source(File::from(path).required(true));
        }
        builder = builder.add_source(environment(&env));
        let mut settings: Settings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| format!("settings: {e}"))?;
        settings.check()?;
        settings.origin = Origin {
            file: file.map(Path::to_path_buf),
            env,
        };
        Ok(settings)
    }

    /// Every setting with its current value and where that value comes
    /// from. The `config` crate keeps no record of which layer gave a
    /// value, so each layer is read on its own again and the highest one
    /// that names a key is its source (environment over file over
    /// defaults), provided it gives the value in use.
    pub fn describe(&self) -> Result<Vec<Shown>, String> {
        let defaults = layer_keys(
            Config::builder()
                .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
                .build(),
        )?;
        let file = match &self.origin.file {
            Some(path) => layer_keys(
                Config::builder()
                    .add_source(File::from(path.as_path()).required(true))
                    .build(),
            )?,
            None => HashMap::new(),
        };
        let env = layer_keys(
            Config::builder()
                .add_source(environment(&self.origin.env))
                .build(),
        )?;
        let current = serde_json::to_value(self).map_err(|e| format!("settings: {e}"))?;
        let mut flat = Vec::new();
        flatten("", &current, &mut flat);
        let mut shown: Vec<Shown> = flat
            .into_iter()
            .map(|(key, value)| {
                let value = text_of(&value);
                let var = || {
                    let wanted = format!("VIGIA__{}", key.replace('.', "__"));
                    self.origin
                        .env
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(&wanted))
                        .cloned()
                        .unwrap_or(wanted)
                };
                // A layer counts if it gives the value in use (numbers
                // read from the environment come back as text).
                let gives = |layer: &HashMap<String, String>| layer.get(&key) == Some(&value);
                let source = if gives(&env) {
                    Source::Env(var())
                } else if gives(&file) {
                    Source::File(self.origin.file.clone().unwrap_or_default())
                } else if gives(&defaults) {
                    Source::Default
                } else {
                    Source::Program
                };
                let secret = is_secret(&key);
                let value = if secret {
                    if value.is_empty() {
                        String::new()
                    } else {
                        MASK.to_string()
                    }
                } else if key.ends_with("url") {
                    mask_url(&value)
                } else {
                    value
                };
                Shown {
                    key,
                    value,
                    secret,
                    source,
                }
            })
            .collect();
        shown.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(shown)
    }

    fn check(&self) -> Result<(), String> {
        self.database_target()?;
        if !(self.public.grid_km.is_finite() && (1.0..=200.0).contains(&self.public.grid_km)) {
            return Err(format!(
                "public.grid_km: must be between 1 and 200 (km), got {}",
                self.public.grid_km
            ));
        }
        if self.public.rate_per_minute == 0 {
            return Err("public.rate_per_minute: must be at least 1".into());
        }
        if self.backup.hour > 23 {
            return Err(format!(
                "backup.hour: must be between 0 and 23, got {}",
                self.backup.hour
            ));
        }
        if !self.backup.dir.is_empty() && self.backup.keep == 0 {
            return Err("backup.keep: must be at least 1 (days) when backup.dir is set".into());
        }
        if !(1..=256).contains(&self.database.pool_size) {
            return Err(format!(
                "database.pool_size: must be between 1 and 256, got {}",
                self.database.pool_size
            ));
        }
        if self
            .server
            .bind
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .is_none()
        {
            return Err(format!(
                "server.bind: {:?} is not HOST:PORT (e.g. 127.0.0.1:8080)",
                self.server.bind
            ));
        }
        let base = &self.server.public_base_url;
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.len() < "http://x".len()
        {
            return Err(format!(
                "server.public_base_url: {base:?} must be an http:// or https:// URL"
            ));
        }
        if self.auth.key_cache_seconds > 300 {
            return Err(format!(
                "auth.key_cache_seconds: {} is too long for revocation to mean anything (at most 300)",
                self.auth.key_cache_seconds
            ));
        }
        check_mail(&self.smtp, &self.alerts)?;
        if self.import.max_file_mb == 0 {
            return Err("import.max_file_mb: must be at least 1".into());
        }
        if !(1..=4096).contains(&self.import.max_upload_mb) {
            return Err(format!(
                "import.max_upload_mb: must be between 1 and 4096, got {}",
                self.import.max_upload_mb
            ));
        }
        if !self.web.tile_url.trim().is_empty() && self.web.tile_origin().is_none() {
            return Err(format!(
                "web.tile_url: {:?} is not an http(s) URL template like https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png (empty: no base map)",
                self.web.tile_url
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(format!(
                "server.max_body_bytes: {} is too small (at least 1024)",
                self.server.max_body_bytes
            ));
        }
        Ok(())
    }

    pub fn database_target(&self) -> Result<Target, String> {
        Target::parse(&self.database.url).map_err(|e| format!("database.url: {e}"))
    }

    /// `public_base_url` without a trailing slash, ready for `format!("{base}/api/…")`.
    pub fn base_url(&self) -> &str {
        self.server.public_base_url.trim_end_matches('/')
    }
}

/// Checks `[smtp]` and `[alerts]`, so a bad value stops the program at once.
fn check_mail(smtp: &SmtpSettings, alerts: &AlertSettings) -> Result<(), String> {
    if smtp.from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(format!(
            "smtp.from: {:?} is not an address like \"Vigía <vigia@example.org>\"",
            smtp.from
        ));
    }
    if smtp.host.trim().is_empty() || smtp.port == 0 {
        return Err("smtp.host and smtp.port must name a mail server".into());
    }
    let ranges: [(&str, u64, u64, u64); 8] = [
        ("smtp.pool_size", u64::from(smtp.pool_size), 1, 64),
        ("alerts.batch_size", u64::from(alerts.batch_size), 1, 1000),
        (
            "alerts.poll_interval_ms",
            alerts.poll_interval_ms,
            10,
            60_000,
        ),
        ("alerts.lease_seconds", alerts.lease_seconds, 10, 3600),
        (
            "alerts.retry_initial_seconds",
            alerts.retry_initial_seconds,
            1,
            3600,
        ),
        ("alerts.digest_hour", u64::from(alerts.digest_hour), 0, 23),
        (
            "alerts.confirmations_per_address_per_hour",
            u64::from(alerts.confirmations_per_address_per_hour),
            1,
            1000,
        ),
        (
            "alerts.confirmations_per_key_per_hour",
            u64::from(alerts.confirmations_per_key_per_hour),
            1,
            100_000,
        ),
    ];
    for (name, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            return Err(format!(
                "{name}: must be between {min} and {max}, got {value}"
            ));
        }
    }
    if !(-12..=14).contains(&alerts.utc_offset_hours) {
        return Err(format!(
            "alerts.utc_offset_hours: must be between -12 and 14, got {}",
            alerts.utc_offset_hours
        ));
    }
    // A claim must outlive the sends of its batch, or a second worker would
    // take over mail still being sent and send it again.
    if alerts.lease_seconds < 2 * smtp.timeout_seconds {
        return Err(format!(
            "alerts.lease_seconds ({}) must be at least twice smtp.timeout_seconds ({})",
            alerts.lease_seconds, smtp.timeout_seconds
        ));
    }
    if alerts.confirm_ttl_hours == 0 || alerts.retry_for_hours == 0 {
        return Err(
            "alerts.confirm_ttl_hours and alerts.retry_for_hours must be at least 1".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_check() {
        let settings = Settings::load(None).expect("defaults are valid");
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.database.url, "sqlite://vigia.db");
    }

    #[test]
    fn each_value_names_the_layer_it_comes_from_and_secrets_are_masked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vigia.toml");
        std::fs::write(
            &path,
            "[smtp]\npassword = \"hunter2\"\npool_size = 3\n[alerts]\nbatch_size = 9\n",
        )
        .expect("write");
        let env = HashMap::from([
            ("VIGIA__ALERTS__BATCH_SIZE".to_string(), "7".to_string()),
            (
                "VIGIA__DATABASE__URL".to_string(),
                "postgres://vigia:s3cret@db.example/vigia".to_string(),
            ),
        ]);
        let mut settings = Settings::load_with(Some(&path), env).expect("loads");
        settings.server.workers = 3;
        let shown = settings.describe().expect("describes");
        let of = |key: &str| shown.iter().find(|s| s.key == key).expect(key).clone();
        assert_eq!(of("smtp.pool_size").source, Source::File(path.clone()));
        assert_eq!(of("smtp.pool_size").value, "3");
        // The environment wins over the file, as it does when loading.
        assert_eq!(
            of("alerts.batch_size").source,
            Source::Env("VIGIA__ALERTS__BATCH_SIZE".into())
        );
        assert_eq!(of("alerts.batch_size").value, "7");
        assert_eq!(of("log.format").source, Source::Default);
        assert_eq!(of("log.format").value, "text");
        assert_eq!(of("server.workers").source, Source::Program);
        let password = of("smtp.password");
        assert!(password.secret);
        assert_eq!(password.source, Source::File(path.clone()));
        assert!(!password.value.contains("hunter2"), "{}", password.value);
        let url = of("database.url");
        assert_eq!(url.value, "postgres://vigia:••••••@db.example/vigia");
        assert_eq!(url.source, Source::Env("VIGIA__DATABASE__URL".into()));
        assert!(shown.iter().all(|s| !s.value.contains("s3cret")));
    }

    #[test]
    fn urls_keep_everything_but_their_passwords() {
        assert_eq!(mask_url("sqlite://vigia.db"), "sqlite://vigia.db");
        assert_eq!(
            mask_url("postgres://postgres@127.0.0.1:5432/x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            mask_url("postgres://h/db?user=a&password=b"),
            "postgres://h/db?user=a&password=••••••"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let err =
            Settings::load(Some(Path::new("/nonexistent/vigia.toml"))).expect_err("must fail");
        assert!(err.contains("/nonexistent/vigia.toml"), "{err}");
    }
}
