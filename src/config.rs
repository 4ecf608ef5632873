//! Layered settings: built-in defaults (config/default.toml), an optional
//! file, then `VIGIA__SECTION__KEY` environment variables. Every value is
//! checked here so that a bad one stops the program with one clear line.

use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::db::Target;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// How long a checked key is trusted without asking the database again.
    pub key_cache_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub public_base_url: String,
    pub max_body_bytes: usize,
    pub shutdown_timeout_seconds: u64,
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
}

impl Settings {
    /// Reads the layers and checks every value.
    pub fn load(file: Option<&Path>) -> Result<Settings, String> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            if !path.exists() {
                return Err(format!("--config {}: no such file", path.display()));
            }
            builder = builder.add_source(File::from(path).required(true));
        }
        builder = builder.add_source(
            Environment::with_prefix("VIGIA")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let settings: Settings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| format!("settings: {e}"))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), String> {
        self.database_target()?;
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
    fn a_missing_file_is_named() {
        let err =
            Settings::load(Some(Path::new("/nonexistent/vigia.toml"))).expect_err("must fail");
        assert!(err.contains("/nonexistent/vigia.toml"), "{err}");
    }
}
