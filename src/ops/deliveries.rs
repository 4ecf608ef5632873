//! The delivery log's one write: an admin asks for a mail to be tried
//! again now (it failed for good, or waits for its next retry).

use super::Who;
use crate::alerts::delivery::{self, RetryNow};
use crate::audit::{self, Action, Entity};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::keys::Role;

/// Makes the mail `id` due now, audited when it changed anything; see
/// [`delivery::make_due`] for why two presses at once are one change.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn retry_now(conn: &mut DbConn, who: &Who, id: &str) -> Result<RetryNow, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        let (outcome, change) = delivery::make_due(conn, id)?;
        if let Some((before, after)) = change {
            audit::record(
                conn,
                &who.actor,
                Action::Update,
                Entity::Alert,
                id,
                Some(&before),
                Some(&after),
            )?;
        }
        Ok(outcome)
    })
}
