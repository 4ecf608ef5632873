//! API keys: create and revoke (admin; or the operator at the command line).

use super::consequences::{self, Change};
use super::Who;
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::keys::{self, ApiKey, CreatedKey, Role};
use crate::places::PlaceIndex;

/// Creates a key, possibly a person's; its token is in the answer only.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, name))]
pub fn create(
    conn: &mut DbConn,
    who: &Who,
    name: &str,
    role: Role,
    user_id: Option<&str>,
) -> Result<CreatedKey, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        keys::create_for(conn, &who.actor, name, role, user_id)
    })
}

/// Revokes a key: it stops working at once (in this process; others within
/// `auth.key_cache_seconds`), and what its owner set up follows
/// (`Change::KeyRevoked`: its watches are suspended), in one transaction.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn revoke(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
) -> Result<ApiKey, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        let key = keys::revoke(conn, &who.actor, id)?;
        let key_id = key.id.to_string();
        consequences::follow(
            conn,
            &who.actor,
            index,
            Change::KeyRevoked { key_id: &key_id },
        )?;
        Ok(key)
    })
}
