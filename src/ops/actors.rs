//! Actors: add, edit, delete, merge; and their links to incidents.

use super::consequences::{self, Change};
use super::Who;
use crate::actors::store;
use crate::actors::{self as domain, Actor, ActorInput, Attribution, LinkRole};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::{store::Visibility, Event};
use crate::http::IfMatch;
use crate::keys::Role;
use crate::places::PlaceIndex;

/// Adds an actor (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create(conn: &mut DbConn, who: &Who, input: ActorInput) -> Result<Actor, AppError> {
    who.require(Role::Monitor)?;
    let fields = input.into_fields()?;
    db::write_tx(conn, |conn| store::insert(conn, &who.actor, &fields))
}

/// Changes an actor with a JSON Merge Patch (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Actor, AppError> {
    who.require(Role::Monitor)?;
    crate::http::from_value::<domain::ActorPatch>(patch.clone())?;
    let updated = db::write_tx(conn, |conn| {
        let mut renamed = false;
        let after = store::update(conn, &who.actor, id, if_match, |current| {
            let fields = domain::apply_patch(&current.fields, patch)?;
            renamed = fields.name != current.fields.name;
            Ok(fields)
        })?;
        if renamed {
            consequences::follow(
                conn,
                &who.actor,
                index,
                Change::ActorRenamed { actor_id: id },
            )?;
        }
        Ok(after)
    })?;
    // The concession index carries holders' names: lookups read the layer
    // version again (cheap when nothing changed).
    index.concessions_changed();
    Ok(updated)
}

/// Deletes an actor (monitor, admin); its history stays.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| store::delete(conn, &who.actor, id, if_match))
}

/// Merges `from` into `into` (admin): incident links, concessions, watches
/// and case companies move over; `from` is retired, its history kept.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, from, into))]
pub fn merge(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    from: &str,
    into: &str,
) -> Result<Actor, AppError> {
    who.require(Role::Admin)?;
    let survivor = db::write_tx(conn, |conn| {
        let survivor = store::merge(conn, &who.actor, from, into)?;
        consequences::follow(conn, &who.actor, index, Change::ActorsMerged { from, into })?;
        Ok(survivor)
    })?;
    // Concessions may have changed holder: see `update`.
    index.concessions_changed();
    Ok(survivor)
}

/// What a link says: the actor, its role in the incident, how sure the
/// sources are, and a note.
#[derive(Debug, Clone)]
pub struct Link {
    pub actor_id: String,
    pub role: LinkRole,
    pub attribution: Attribution,
    pub note: Option<String>,
}

/// Links an actor to an incident (monitor, admin); returns the incident.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, event_id))]
pub fn link(conn: &mut DbConn, who: &Who, event_id: &str, link: Link) -> Result<Event, AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        store::link(
            conn,
            &who.actor,
            event_id,
            &link.actor_id,
            link.role,
            link.attribution,
            link.note.as_deref(),
        )?;
        super::events::load(conn, event_id, Visibility::Live)
    })
}

/// Removes an actor's links to an incident, in one role or all (monitor, admin).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, event_id, actor_id))]
pub fn unlink(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    actor_id: &str,
    role: Option<LinkRole>,
) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        store::unlink(conn, &who.actor, event_id, actor_id, role)
    })
}
