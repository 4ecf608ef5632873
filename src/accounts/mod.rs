//! People: accounts for the web pages, their passwords, sessions and
//! one-time links. API keys (`keys`) stay for scripts; a person has the
//! same roles.
//!
//! Secrets a person is handed (a session cookie, a link) are 256 random
//! bits of which only the SHA-256 is stored, like API keys; passwords,
//! which people choose, are hashed with Argon2id.

pub mod password;
pub mod store;

/// The cookie that carries a session's random id.
pub const SESSION_COOKIE: &str = "vigia_session";

/// Whether a secret sent by a client is the one stored, compared through
/// their hashes so that timing tells nothing about the stored one.
pub fn same_secret(sent: &str, stored: &str) -> bool {
    !sent.is_empty() && crate::keys::hash_token(sent) == crate::keys::hash_token(stored)
}

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{AppError, FieldError};
use crate::i18n::Language;
use crate::keys::Role;

/// A person's account as the pages show it (never with the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub language: Language,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// False until the person has set a password through their link.
    pub has_password: bool,
    pub version: i64,
    /// When the person last signed in (a session started), for the
    /// admins' list; not part of what an edit changes.
    #[serde(skip)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl User {
    /// What the audit trail, `created_by` and watch ownership record: the
    /// display name (unique among people), and `user:<id>` where a key's
    /// id would go.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            key_id: Some(format!("user:{}", self.id)),
            name: self.display_name.clone(),
        }
    }
}

string_enum! {
    /// What a one-time link lets its holder do: both set the password.
    pub enum LinkPurpose {
        /// From `vigia users create` or an admin's invitation: 72 hours.
        Invitation = "invitation",
        /// "Forgot password": 1 hour.
        Reset = "reset",
    }
}

impl LinkPurpose {
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            LinkPurpose::Invitation => chrono::Duration::hours(72),
            LinkPurpose::Reset => chrono::Duration::hours(1),
        }
    }
}

/// An account to create, as typed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub language: Language,
}

/// The lower-cased, trimmed address; 422 on `field` unless it looks like
/// one address (one `@`, something on each side, a dot in the domain, no
/// spaces or control characters, at most 254 characters).
pub fn email_key(email: &str, field: &str) -> Result<(String, String), AppError> {
    let trimmed = email.trim();
    let bad = || {
        AppError::Validation(vec![FieldError::coded(
            field,
            "email",
            "must be one e-mail address like nombre@example.org",
        )])
    };
    let (local, domain) = trimmed.split_once('@').ok_or_else(bad)?;
    if trimmed.chars().count() > 254
        || local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@')
        || trimmed
            .chars()
            .any(|c| c.is_whitespace() || crate::rules::is_disguising(c))
    {
        return Err(bad());
    }
    Ok((trimmed.to_string(), trimmed.to_lowercase()))
}

/// A display name: 1–100 characters on one line. Returns it trimmed and
/// its folded key (unique among people).
pub fn display_name(name: &str) -> Result<(String, String), AppError> {
    let trimmed = name.trim();
    let n = trimmed.chars().count();
    if n == 0 || n > 100 || trimmed.chars().any(crate::rules::is_disguising) {
        return Err(AppError::Validation(vec![FieldError::coded(
            "display_name",
            "display_name",
            "must be 1 to 100 characters on one line",
        )]));
    }
    Ok((trimmed.to_string(), crate::text::fold(trimmed)))
}

pub(crate) fn timestamp(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_keyed_lower_case_and_checked() {
        let (shown, key) = email_key("  Maria.Quispe@Example.ORG ", "email").unwrap();
        assert_eq!(shown, "Maria.Quispe@Example.ORG");
        assert_eq!(key, "maria.quispe@example.org");
        for bad in [
            "",
            "maria",
            "maria@",
            "@example.org",
            "maria@example",
            "maria@@example.org",
            "maria quispe@example.org",
            "maria@example.org\r\nBcc: x@y.z",
        ] {
            assert!(email_key(bad, "email").is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn display_names_are_one_line() {
        assert!(display_name("María Quispe").is_ok());
        assert!(display_name("   ").is_err());
        assert!(display_name("María\u{202E}epsiuQ").is_err());
        assert!(display_name(&"a".repeat(101)).is_err());
    }
}
