//! Incidents: log, edit, delete, restore; and reading them as a reader sees
//! them (with their actors, concessions and Defensoría cases).

use super::consequences::{self, Change};
use super::Who;
use crate::audit::{self, Action, AuditFilter, AuditRecord, Entity};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::store::{self, EventFilter, Visibility};
use crate::events::{self as domain, Event, EventFields, EventInput};
use crate::http::IfMatch;
use crate::keys::Role;
use crate::places::{self, PlaceIndex};
use crate::{actors, cases};

/// Logs an incident (monitor, admin): placed against the layers, its alerts
/// queued, audited, in one transaction.
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    input: EventInput,
) -> Result<Event, AppError> {
    who.require(Role::Monitor)?;
    let fields = input.into_fields()?;
    create_checked(conn, index, who, std::slice::from_ref(&fields))?
        .pop()
        .ok_or_else(|| AppError::internal("insert returned nothing"))
}

/// Logs several incidents already checked, in one transaction: all or none
/// (benchmarks and loaders).
pub fn create_checked(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    all: &[EventFields],
) -> Result<Vec<Event>, AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        let mut created = Vec::with_capacity(all.len());
        for fields in all {
            let placement =
                places::store::locate(conn, index, fields.location.lon, fields.location.lat)?;
            created.push(create_placed(conn, index, who, fields, placement, None)?);
        }
        Ok(created)
    })
}

/// Writes one new incident placed at `placement`: its row (with the id it
/// has in an imported file, if any), its matches and alerts, its audit
/// record. Call inside a write transaction.
pub(super) fn create_placed(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    fields: &EventFields,
    placement: places::store::Placement,
    source_id: Option<&str>,
) -> Result<Event, AppError> {
    let event = store::insert_from(
        conn,
        &who.actor.name,
        fields,
        placement.district.as_ref(),
        source_id,
    )?;
    consequences::follow(
        conn,
        &who.actor,
        index,
        Change::EventPlaced {
            event: &event,
            placement: &placement,
            alert: true,
        },
    )?;
    // A new incident has no actors or cases yet; its concessions are
    // the placement's.
    let mut event = event;
    let outside = placement.outside_boundaries;
    event.concessions = placement.concessions;
    audit::record(
        conn,
        &who.actor,
        Action::Create,
        Entity::Event,
        &event.id.to_string(),
        None::<&()>,
        Some(&event),
    )?;
    event.warn_about(outside);
    Ok(event)
}

/// Changes an incident with a JSON Merge Patch (monitor, admin). Invalid
/// content is 422 whatever the version (fix the body first), then a stale
/// `If-Match` is 412.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Event, AppError> {
    who.require(Role::Monitor)?;
    // Unknown fields and wrong types are refused before any database work;
    // the rules are checked on the merged result, in the transaction.
    crate::http::from_value::<domain::EventPatch>(patch.clone())?;
    db::write_tx(conn, |conn| {
        store::lock(conn, id)?;
        let before = load(conn, id, Visibility::Live)?;
        let fields = domain::apply_patch(&before, patch)?;
        if_match.check(before.version)?;
        rewrite_placed(conn, index, who, &before, &fields, true)
    })
}

/// Rewrites `before` (read under `store::lock`) with `fields`: placed
/// again, its matches (and, if `alert`, its alerts) followed, audited. Call
/// inside a write transaction.
pub(super) fn rewrite_placed(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    before: &Event,
    fields: &EventFields,
    alert: bool,
) -> Result<Event, AppError> {
    let placement = places::store::locate(conn, index, fields.location.lon, fields.location.lat)?;
    let event = store::rewrite(conn, before, fields, placement.district.as_ref())?;
    consequences::follow(
        conn,
        &who.actor,
        index,
        Change::EventPlaced {
            event: &event,
            placement: &placement,
            alert,
        },
    )?;
    let mut after = embedded(conn, event)?;
    audit::record(
        conn,
        &who.actor,
        Action::Update,
        Entity::Event,
        &before.id.to_string(),
        Some(before),
        Some(&after),
    )?;
    after.warn_about(placement.outside_boundaries);
    Ok(after)
}

/// An analyst's verdict on an incident (monitor, admin): its verification
/// and the note saying why, as an edit (audited, its alerts followed: a
/// watch of verified incidents only hears of it now).
pub fn review(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    verdict: domain::Verification,
    note: &str,
) -> Result<Event, AppError> {
    let note = note.trim();
    let patch = serde_json::json!({
        "verification": verdict.as_str(),
        "verification_note": (!note.is_empty()).then_some(note),
    });
    update(conn, index, who, id, if_match, patch)
}

/// The incidents waiting for a verdict, the longest waiting first, and how
/// many wait in all (monitor, admin).
pub fn review_queue(
    conn: &mut DbConn,
    who: &Who,
    limit: i64,
) -> Result<(Vec<Event>, i64), AppError> {
    who.require(Role::Monitor)?;
    let (ids, total) = store::review_queue(conn, limit)?;
    Ok((load_many(conn, &ids)?, total))
}

/// Deletes an incident (monitor, admin): soft, its history stays.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        store::lock(conn, id)?;
        let before = load(conn, id, Visibility::Live)?;
        if_match.check(before.version)?;
        store::mark_deleted(conn, &before)?;
        consequences::follow(
            conn,
            &who.actor,
            index,
            Change::EventDeleted { event_id: id },
        )?;
        audit::record(
            conn,
            &who.actor,
            Action::Delete,
            Entity::Event,
            id,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// Brings a deleted incident back (admin; 409 if it is not deleted), placed
/// against today's layers: they may have changed while it was deleted.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn restore(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
) -> Result<Event, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        store::lock(conn, id)?;
        let event = store::mark_restored(conn, id)?;
        let location = &event.fields.location;
        let placement = places::store::locate(conn, index, location.lon, location.lat)?;
        consequences::follow(
            conn,
            &who.actor,
            index,
            Change::EventPlaced {
                event: &event,
                placement: &placement,
                alert: true,
            },
        )?;
        let after = embedded(conn, event)?;
        audit::record(
            conn,
            &who.actor,
            Action::Restore,
            Entity::Event,
            id,
            None::<&()>,
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Publishes an incident on the public map or withdraws it (admin only).
///
/// Admins only, with no `editor` power: publishing is the one act that
/// puts a monitor's work in front of anyone, so it stays with the few who
/// already answer for keys and restores; a separate power can come when an
/// office asks for one, as a role between monitor and admin. Only a live
/// incident can change (a deleted one is 404, and never public: every
/// public read asks for live ones). Audited as an update of the incident;
/// nothing else follows from it (no placement, no alert changes).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn set_publication(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    state: domain::Publication,
) -> Result<Event, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        store::lock(conn, id)?;
        let before = load(conn, id, Visibility::Live)?;
        if before.publication == state {
            return Ok(before);
        }
        let event = store::set_publication(conn, &before, state)?;
        let after = embedded(conn, event)?;
        audit::record(
            conn,
            &who.actor,
            Action::Update,
            Entity::Event,
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// One incident as a reader sees it; deleted ones only when asked for.
pub fn load(conn: &mut DbConn, id: &str, visibility: Visibility) -> Result<Event, AppError> {
    let event = store::load(conn, id, visibility)?;
    embedded(conn, event)
}

/// Live incidents by id, in the order of `ids`, with what they embed.
pub fn load_many(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Event>, AppError> {
    let mut found = store::load_many(conn, ids)?;
    embed(conn, &mut found)?;
    Ok(found)
}

/// A page of the list (up to `limit + 1` incidents, for the pager).
pub fn list(conn: &mut DbConn, filter: &EventFilter) -> Result<Vec<Event>, AppError> {
    let mut page = store::list(conn, filter)?;
    embed(conn, &mut page)?;
    Ok(page)
}

/// The revisions of one incident, oldest first. A deleted incident's
/// history is readable by admins only.
pub fn history(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    mut filter: AuditFilter,
) -> Result<Vec<AuditRecord>, AppError> {
    let visibility = if who.is(Role::Admin) {
        Visibility::Any
    } else {
        Visibility::Live
    };
    store::load(conn, id, visibility)?;
    // Everything that changed what a reader sees of the incident: its own
    // revisions, its actor and case links, and its concessions matched again
    // after the cadastre changed.
    filter.entities = vec![
        Entity::Event,
        Entity::EventActor,
        Entity::EventCase,
        Entity::EventConcession,
        Entity::CaseDismissal,
    ];
    filter.entity_id = Some(id.to_string());
    filter.oldest_first = true;
    audit::list(conn, &filter)
}

pub(super) fn embedded(conn: &mut DbConn, mut event: Event) -> Result<Event, AppError> {
    embed(conn, std::slice::from_mut(&mut event))?;
    Ok(event)
}

/// Fills in the actors, concessions and cases of each incident: one query
/// per kind, whatever their number.
fn embed(conn: &mut DbConn, events: &mut [Event]) -> Result<(), AppError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    let mut actors = actors::store::for_events(conn, &ids)?;
    let mut concessions = places::store::for_events(conn, &ids)?;
    let mut cases = cases::store::for_events(conn, &ids)?;
    let mut attachments = crate::attachments::store::for_events(conn, &ids)?;
    let mut published = store::published_at(conn, &ids)?;
    for (event, id) in events.iter_mut().zip(&ids) {
        event.published_at = published.remove(id).map(|t| t.and_utc());
        event.actors = actors.remove(id).unwrap_or_default();
        event.concessions = concessions.remove(id).unwrap_or_default();
        event.cases = cases.remove(id).unwrap_or_default();
        event.attachments = attachments.remove(id).unwrap_or_default();
    }
    Ok(())
}

/// An incident as the form sends it: every field, the actors it names, and
/// possibly one actor created on the spot.
#[derive(Debug)]
pub struct WholeIncident {
    pub input: EventInput,
    pub actors: Vec<super::actors::Link>,
    /// A new actor (its input) and how it takes part.
    pub new_actor: Option<(
        crate::actors::ActorInput,
        crate::actors::LinkRole,
        crate::actors::Attribution,
    )>,
}

/// Every rule of the incident and of the new actor at once (the new
/// actor's fields as `new_actor.name`…).
fn check_whole(
    input: EventInput,
    new_actor: Option<crate::actors::ActorInput>,
) -> Result<(EventFields, Option<crate::actors::ActorFields>), AppError> {
    let mut errors = Vec::new();
    let fields = match input.into_fields() {
        Ok(fields) => Some(fields),
        Err(AppError::Validation(found)) => {
            errors.extend(found);
            None
        }
        Err(other) => return Err(other),
    };
    let actor = match new_actor.map(crate::actors::ActorInput::into_fields) {
        None => None,
        Some(Ok(fields)) => Some(fields),
        Some(Err(AppError::Validation(found))) => {
            errors.extend(found.into_iter().map(|mut e| {
                e.field = format!("new_actor.{}", e.field);
                e
            }));
            None
        }
        Some(Err(other)) => return Err(other),
    };
    match (fields, errors.is_empty()) {
        (Some(fields), true) => Ok((fields, actor)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Splits the new actor's input from how it takes part.
type NewActorLink = Option<(crate::actors::LinkRole, crate::actors::Attribution)>;

fn split_new_actor(whole: &mut WholeIncident) -> (Option<crate::actors::ActorInput>, NewActorLink) {
    match whole.new_actor.take() {
        Some((input, role, attribution)) => (Some(input), Some((role, attribution))),
        None => (None, None),
    }
}

/// Logs an incident with its actors from the form, in one transaction:
/// the incident, a new actor if one was typed, and every link, or nothing.
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create_whole(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    mut whole: WholeIncident,
) -> Result<Event, AppError> {
    who.require(Role::Monitor)?;
    let input = std::mem::replace(&mut whole.input, empty_input());
    let (new_input, new_link) = split_new_actor(&mut whole);
    let (fields, new_actor) = check_whole(input, new_input)?;
    let new_actor = new_actor.zip(new_link);
    db::write_tx(conn, |conn| {
        let created = create_checked(conn, index, who, std::slice::from_ref(&fields))?;
        let event = created
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal("an incident was created but not returned"))?;
        let id = event.id.to_string();
        link_all(conn, who, &id, &whole.actors, new_actor.as_ref())?;
        let mut after = load(conn, &id, Visibility::Live)?;
        after.warnings = event.warnings;
        Ok(after)
    })
}

/// An incident from the form with the photos taken with it: the incident,
/// its actors and every file, or (if any is refused) nothing.
pub fn create_with_files(
    conn: &mut DbConn,
    index: &PlaceIndex,
    policy: &crate::attachments::AttachmentPolicy,
    who: &Who,
    whole: WholeIncident,
    files: &[crate::attachments::store::NewFile],
) -> Result<Event, AppError> {
    db::write_tx(conn, |conn| {
        let mut event = create_whole(conn, index, who, whole)?;
        let owner = crate::attachments::Owner::Event(event.id.to_string());
        event.attachments = super::attachments::attach_all(conn, policy, who, &owner, files)?;
        Ok(event)
    })
}

/// Rewrites an incident from the form (if it is still at the version the
/// form was filled from: else 412 and nothing changes) and makes its actor
/// links what the form says, in one transaction. The incident's district
/// fields given by a client (`admin`) are kept as they are: the form does
/// not show them.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update_whole(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    mut whole: WholeIncident,
) -> Result<Event, AppError> {
    who.require(Role::Monitor)?;
    let input = std::mem::replace(&mut whole.input, empty_input());
    let mut patch = serde_json::to_value(&input)
        .map_err(|e| AppError::internal_from("writing the form as a patch", e))?;
    if let Some(map) = patch.as_object_mut() {
        map.remove("admin");
    }
    let (new_input, new_link) = split_new_actor(&mut whole);
    let (_, new_actor) = check_whole(input, new_input)?;
    let new_actor = new_actor.zip(new_link);
    db::write_tx(conn, |conn| {
        let event = update(conn, index, who, id, if_match, patch)?;
        let wanted: Vec<(String, actors::LinkRole)> = whole
            .actors
            .iter()
            .map(|l| (l.actor_id.clone(), l.role))
            .collect();
        for linked in &event.actors {
            let key = (linked.actor_id.to_string(), linked.role);
            if !wanted.contains(&key) {
                actors::store::unlink(conn, &who.actor, id, &key.0, Some(key.1))?;
            }
        }
        let unchanged = |l: &super::actors::Link| {
            event.actors.iter().any(|a| {
                a.actor_id.to_string() == l.actor_id
                    && a.role == l.role
                    && a.attribution == l.attribution
            })
        };
        whole.actors.retain(|l| !unchanged(l));
        link_all(conn, who, id, &whole.actors, new_actor.as_ref())?;
        let mut after = load(conn, id, Visibility::Live)?;
        after.warnings = event.warnings;
        Ok(after)
    })
}

fn link_all(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    links: &[super::actors::Link],
    new_actor: Option<&(
        actors::ActorFields,
        (crate::actors::LinkRole, crate::actors::Attribution),
    )>,
) -> Result<(), AppError> {
    for link in links {
        actors::store::link(
            conn,
            &who.actor,
            event_id,
            &link.actor_id,
            link.role,
            link.attribution,
            link.note.as_deref(),
        )?;
    }
    if let Some((fields, (role, attribution))) = new_actor {
        let actor = actors::store::insert(conn, &who.actor, fields)?;
        actors::store::link(
            conn,
            &who.actor,
            event_id,
            &actor.id.to_string(),
            *role,
            *attribution,
            None,
        )?;
    }
    Ok(())
}

fn empty_input() -> EventInput {
    EventInput {
        title: None,
        description: None,
        event_type: None,
        sub_event_type: None,
        occurred_on: None,
        time_precision: None,
        location: None,
        admin: None,
        fatalities: None,
        injuries: None,
        sources: None,
        verification: None,
        verification_note: None,
        client_id: None,
    }
}
