//! API keys: create and revoke (admin; or the operator at the command line).

use super::Who;
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::keys::{self, ApiKey, CreatedKey, Role};

/// Creates a key; its token is in the answer only.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, name))]
pub fn create(
    conn: &mut DbConn,
    who: &Who,
    name: &str,
    role: Role,
) -> Result<CreatedKey, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| keys::create(conn, &who.actor, name, role))
}

/// Revokes a key: it stops working at once (in this process; others within
/// `auth.key_cache_seconds`).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn revoke(conn: &mut DbConn, who: &Who, id: &str) -> Result<ApiKey, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| keys::revoke(conn, &who.actor, id))
}
