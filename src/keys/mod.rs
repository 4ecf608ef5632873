//! API keys and roles: who may call Vigía, and as what.
//!
//! A token is 256 random bits shown once; only its SHA-256 is stored. A plain
//! hash (not a slow password hash) is right here because the token is random,
//! not chosen by a person: there is nothing to guess.

mod cache;
pub mod caller;

pub use cache::KeyCache;
pub use caller::Caller;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Action, Actor, Entity};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::schema::api_keys;

const TOKEN_PREFIX: &str = "vg_";

string_enum! {
    /// What a key may do. Each role includes the ones below it:
    /// admin ⊃ monitor ⊃ researcher.
    #[derive(PartialOrd, Ord, clap::ValueEnum)]
    pub enum Role {
        /// Reads incidents (and, later, manages its own watches).
        Researcher = "researcher",
        /// Creates and edits incidents.
        Monitor = "monitor",
        /// Everything: keys, the audit trail, restoring deleted records.
        Admin = "admin",
    }
}

/// An API key as listed (never with its token).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The first characters of the token, to tell keys apart.
    #[schema(example = "vg_Xq3f")]
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The person the key belongs to (their scripts), if any: disabling the
    /// person revokes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// When it was last used, to about ten minutes.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just created: the only time its token is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Send as `Authorization: Bearer <token>`. Shown once; store it now.
    pub token: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: String,
    name: String,
    role: Role,
    token_hash: String,
    token_prefix: String,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    user_id: Option<String>,
    last_used_at: Option<NaiveDateTime>,
}

impl KeyRow {
    fn into_key(self) -> Result<ApiKey, AppError> {
        Ok(ApiKey {
            id: Uuid::parse_str(&self.id)
                .map_err(|e| AppError::internal_from(format!("stored key id {:?}", self.id), e))?,
            name: self.name,
            role: self.role,
            token_prefix: self.token_prefix,
            created_at: self.created_at.and_utc(),
            revoked_at: self.revoked_at.map(|t| t.and_utc()),
            user_id: self
                .user_id
                .as_deref()
                .and_then(|u| Uuid::parse_str(u).ok()),
            last_used_at: self.last_used_at.map(|t| t.and_utc()),
        })
    }
}

pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks a key name: 1–100 characters, no control characters.
pub fn validate_name(name: &str) -> Result<(), AppError> {
    let n = name.chars().count();
    if name.trim().is_empty() || n > 100 || name.chars().any(crate::rules::is_disguising) {
        return Err(AppError::Validation(vec![FieldError::new(
            "name",
            "must be 1 to 100 characters, not blank, without control characters",
        )]));
    }
    Ok(())
}

/// Creates a key and audits it, in one transaction.
#[tracing::instrument(level = "info", skip_all, fields(name = %name, role = role.as_str()))]
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    name: &str,
    role: Role,
) -> Result<CreatedKey, AppError> {
    create_for(conn, actor, name, role, None)
}

/// Creates a key that belongs to a person (`user_id`), in one transaction.
pub fn create_for(
    conn: &mut DbConn,
    actor: &Actor,
    name: &str,
    role: Role,
    user_id: Option<&str>,
) -> Result<CreatedKey, AppError> {
    validate_name(name)?;
    let token = new_token();
    let row = KeyRow {
        id: Uuid::new_v4().to_string(),
        name: name.to_string(),
        role,
        token_hash: hash_token(&token),
        token_prefix: token.chars().take(TOKEN_PREFIX.len() + 4).collect(),
        created_at: db::now(),
        revoked_at: None,
        user_id: user_id.map(str::to_string),
        last_used_at: None,
    };
    db::write_tx(conn, |conn| {
        let taken = api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null())
            .count()
            .get_result::<i64>(conn)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "a live key named {name:?} already exists"
            )));
        }
        diesel::insert_into(api_keys::table)
            .values(&row)
            .execute(conn)?;
        let key = fetch(conn, &row.id)?;
        audit::record(
            conn,
            actor,
            Action::Create,
            Entity::ApiKey,
            &row.id,
            None::<&()>,
            Some(&key),
        )?;
        Ok(CreatedKey { key, token })
    })
}

fn fetch(conn: &mut DbConn, id: &str) -> Result<ApiKey, AppError> {
    api_keys::table
        .find(id)
        .select(KeyRow::as_select())
        .first::<KeyRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no API key with id {id}")))?
        .into_key()
}

/// Up to `limit + 1` keys in creation order, after the key `after_id`.
#[tracing::instrument(level = "debug", skip_all, fields(limit = limit))]
pub fn list(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ApiKey>, AppError> {
    let mut query = api_keys::table.select(KeyRow::as_select()).into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            api_keys::created_at
                .gt(at)
                .or(api_keys::created_at.eq(at).and(api_keys::id.gt(id))),
        );
    }
    query
        .order((api_keys::created_at.asc(), api_keys::id.asc()))
        .limit(limit + 1)
        .load::<KeyRow>(conn)?
        .into_iter()
        .map(KeyRow::into_key)
        .collect()
}

/// Revokes a key; revoking a revoked key changes nothing.
#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn revoke(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<ApiKey, AppError> {
    db::write_tx(conn, |conn| {
        let before = fetch(conn, id)?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        diesel::update(api_keys::table.find(id))
            .set(api_keys::revoked_at.eq(Some(db::now())))
            .execute(conn)?;
        let after = fetch(conn, id)?;
        audit::record(
            conn,
            actor,
            Action::Revoke,
            Entity::ApiKey,
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// The ids of a person's live keys.
pub fn live_keys_of(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>, AppError> {
    Ok(api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .load(conn)?)
}

/// How stale a key's `last_used_at` may get before a use writes it again.
const LAST_USE_EVERY_MINUTES: i64 = 10;

/// The live key whose token hashes to `token_hash`, if any. Its last use is
/// written when the stored one is older than ten minutes (so a script's
/// thousand requests are one write, not a thousand); a failure to write it
/// is logged, never the request's failure.
#[tracing::instrument(level = "debug", skip_all)]
pub fn authenticate(conn: &mut DbConn, token_hash: &str) -> Result<Option<ApiKey>, AppError> {
    let Some(row) = api_keys::table
        .filter(api_keys::token_hash.eq(token_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(KeyRow::as_select())
        .first::<KeyRow>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let now = crate::db::now();
    let stale = row
        .last_used_at
        .is_none_or(|at| now - at > chrono::Duration::minutes(LAST_USE_EVERY_MINUTES));
    if stale {
        let written = diesel::update(api_keys::table.find(&row.id))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn);
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not record a key's last use");
        }
    }
    row.into_key().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        // 32 bytes in unpadded base64 are 43 characters: 256 bits.
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }

    #[test]
    fn roles_nest() {
        assert!(Role::Admin > Role::Monitor && Role::Monitor > Role::Researcher);
        for role in [Role::Admin, Role::Monitor, Role::Researcher] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
