//! Watches: create, edit, delete, resend the confirmation; and what the
//! links in their mails do (confirm, unsubscribe), which need no login.

use super::Who;
use crate::alerts::store::{self, Confirmed, Policy, Scope};
use crate::alerts::tokens::LinkSigner;
use crate::alerts::{self as domain, Language, Watch, WatchInput};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::http::IfMatch;
use crate::keys::Role;

/// Whose watches `who` may see and touch: researchers their own, admins all.
pub fn scope(who: &Who) -> Scope {
    match (&who.actor.key_id, who.is(Role::Admin)) {
        (_, true) => Scope::All,
        (Some(key), false) => Scope::Owner(key.clone()),
        // Nobody owns a watch without a key: such a caller sees none.
        (None, false) => Scope::Owner(String::new()),
    }
}

/// Creates a pending watch and queues its confirmation mail (any role).
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create(
    conn: &mut DbConn,
    policy: &Policy,
    who: &Who,
    input: WatchInput,
) -> Result<Watch, AppError> {
    who.require(Role::Researcher)?;
    let draft = input.into_draft()?;
    db::write_tx(conn, |conn| store::create(conn, &who.actor, &draft, policy))
}

/// Changes a watch with a JSON Merge Patch; a new address confirms again.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update(
    conn: &mut DbConn,
    policy: &Policy,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Watch, AppError> {
    who.require(Role::Researcher)?;
    // Unknown fields and wrong types are refused before any database work.
    crate::http::from_value::<domain::WatchPatch>(patch.clone())?;
    // A new target (a drawn area may be large) is checked here, before the
    // write lock; the other rules on the merged result, in the transaction.
    let target = domain::check_patch_target(&patch)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::update(conn, &who.actor, id, &scope, if_match, policy, |current| {
            domain::apply_patch(current, patch, target)
        })
    })
}

/// Deletes a watch: nothing more is sent for it.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::delete(conn, &who.actor, id, &scope, if_match)
    })
}

/// Queues the confirmation mail again, with a new link.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn resend(conn: &mut DbConn, policy: &Policy, who: &Who, id: &str) -> Result<Watch, AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::resend(conn, &who.actor, id, &scope, policy)
    })
}

/// The confirmation link: activates the watch.
#[tracing::instrument(skip_all)]
pub fn confirm(conn: &mut DbConn, signer: &LinkSigner, token: &str) -> Result<Confirmed, AppError> {
    db::write_tx(conn, |conn| store::confirm(conn, signer, token))
}

/// The unsubscribe link: ends the watch; returns the language of its pages.
#[tracing::instrument(skip_all)]
pub fn unsubscribe(
    conn: &mut DbConn,
    signer: &LinkSigner,
    token: &str,
) -> Result<Language, AppError> {
    db::write_tx(conn, |conn| store::unsubscribe(conn, signer, token))
}
