//! What a change in one module means for the others, decided in one place.
//!
//! An operation reports what it changed as a [`Change`] and calls
//! [`follow`] inside its transaction. `follow` asks every [`Module`], in a
//! fixed order, what it does about that change; each module's answer is an
//! exhaustive `match` over `Change`. So a new kind of change does not compile
//! until every module has said what it does about it (often: nothing, with
//! the reason), and a new module does not compile until it has a reaction
//! function here.
//!
//! A module reacts by writing its own tables through its own store.

use crate::audit;
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::{Admin, Event};
use crate::places::store::Placement;
use crate::places::{self, PlaceIndex};
use crate::{alerts, cases, events};

/// A change that other modules may have to follow.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// An incident was logged, edited or restored, and placed against the
    /// current layers (its concessions and district).
    EventPlaced {
        event: &'a Event,
        placement: &'a Placement,
        /// Alerts follow: false for an import's update of an incident
        /// Vigía already had (only incidents new to Vigía alert).
        alert: bool,
    },
    /// An incident was (soft) deleted.
    EventDeleted { event_id: &'a str },
    /// An actor's name changed.
    ActorRenamed { actor_id: &'a str },
    /// `from` was merged into `into` and retired.
    ActorsMerged { from: &'a str, into: &'a str },
    /// Concessions were added, changed or removed (an import batch or a
    /// write through the API); the layer version has been bumped. `within`:
    /// the boxes (`[min lon, min lat, max lon, max lat]`) of every outline
    /// changed, old and new, when the writer knows them (one concession);
    /// `None`: any incident may be concerned (an import).
    ConcessionsChanged { within: Option<&'a [[f64; 4]]> },
    /// The district layer was replaced; its version has been bumped.
    DistrictsReplaced,
    /// An API key was revoked: what its owner set up must stop.
    KeyRevoked { key_id: &'a str },
}

/// The domain modules, in the order they follow a change: places first
/// (matching), alerts last (they read what the others wrote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Places,
    Events,
    Actors,
    Cases,
    Alerts,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::Places,
        Module::Events,
        Module::Actors,
        Module::Cases,
        Module::Alerts,
    ];
}

/// What following a change did, for reports and summaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    /// Incidents whose concession matches changed.
    pub rematched: usize,
    /// Incidents whose district coding changed.
    pub recoded: usize,
    /// Watches an incident newly fell under.
    pub alerted: usize,
    /// Watches, case companies or concessions moved by a merge.
    pub moved: usize,
    /// Watches suspended because their owner's key was revoked.
    pub suspended: usize,
}

/// Lets every module follow `change`, inside the caller's transaction.
pub fn follow(
    conn: &mut DbConn,
    who: &audit::Actor,
    index: &PlaceIndex,
    change: Change,
) -> Result<Effects, AppError> {
    let mut effects = Effects::default();
    for module in Module::ALL {
        match module {
            Module::Places => places_follow(conn, who, index, change, &mut effects)?,
            Module::Events => events_follow(conn, who, index, change, &mut effects)?,
            Module::Actors => actors_follow(change),
            Module::Cases => cases_follow(conn, who, change, &mut effects)?,
            Module::Alerts => alerts_follow(conn, who, index, change, &mut effects)?,
        }
    }
    tracing::debug!(?change, ?effects, "followed");
    Ok(effects)
}

/// Concessions and districts: the incident ↔ concession matches, and the
/// layer version that tells every process to rebuild its index.
fn places_follow(
    conn: &mut DbConn,
    who: &audit::Actor,
    index: &PlaceIndex,
    change: Change,
    effects: &mut Effects,
) -> Result<(), AppError> {
    match change {
        Change::EventPlaced {
            event, placement, ..
        } => {
            let ids: Vec<String> = placement
                .concessions
                .iter()
                .map(|c| c.id.to_string())
                .collect();
            places::store::set_event_concessions(conn, &event.id.to_string(), &ids)?;
        }
        // Matches stay for the record; a restore places the incident again.
        Change::EventDeleted { .. } => {}
        // The layer carries holder names: holders' renames are layer changes.
        Change::ActorRenamed { actor_id } => places::store::holder_changed(conn, actor_id)?,
        Change::ActorsMerged { from, into } => {
            places::store::holder_changed(conn, from)?;
            effects.moved += places::store::move_holdings(conn, from, into)?;
        }
        Change::ConcessionsChanged { within } => {
            // The incidents a single concession's change may concern, from
            // the incidents' own spatial index (events owns it).
            let candidates = match within {
                Some(boxes) => Some(events::store::live_points_in_boxes(conn, boxes)?),
                None => None,
            };
            effects.rematched += places::store::rematch_events(conn, who, index, candidates)?
        }
        Change::DistrictsReplaced => {}
        // Keys own no place data.
        Change::KeyRevoked { .. } => {}
    }
    Ok(())
}

/// Incidents: their district coding, when it came from the boundaries.
fn events_follow(
    conn: &mut DbConn,
    who: &audit::Actor,
    index: &PlaceIndex,
    change: Change,
    effects: &mut Effects,
) -> Result<(), AppError> {
    match change {
        Change::DistrictsReplaced => {
            let (_, version) = places::store::versions(conn, false)?;
            let districts = index.districts(conn, version)?;
            effects.recoded += events::store::recode_admin(conn, who, |lon, lat| {
                districts.containing(lon, lat).next().cloned()
            })?;
        }
        // The incident's own change already wrote its row.
        Change::EventPlaced { .. } | Change::EventDeleted { .. } => {}
        // Incidents embed actors and concessions by id, read when shown.
        Change::ActorRenamed { .. } | Change::ActorsMerged { .. } => {}
        // Concession matches belong to places (above).
        Change::ConcessionsChanged { .. } => {}
        // Incidents belong to the project, not to the key that logged them:
        // they stay, and the audit trail keeps who wrote them.
        Change::KeyRevoked { .. } => {}
    }
    Ok(())
}

/// Actors: nothing follows from other modules' changes today. A merge moves
/// its own incident links as part of the merge itself (`actors::store::merge`).
fn actors_follow(change: Change) {
    match change {
        Change::EventPlaced { .. }
        | Change::EventDeleted { .. }
        | Change::ActorRenamed { .. }
        | Change::ActorsMerged { .. }
        | Change::ConcessionsChanged { .. }
        | Change::DistrictsReplaced
        // Actors are shared records, not the key's.
        | Change::KeyRevoked { .. } => {}
    }
}

/// Defensoría cases: their companies are actors.
fn cases_follow(
    conn: &mut DbConn,
    who: &audit::Actor,
    change: Change,
    effects: &mut Effects,
) -> Result<(), AppError> {
    match change {
        Change::ActorsMerged { from, into } => {
            effects.moved += cases::store::companies_merged(conn, who, from, into)?;
        }
        // Case ↔ incident links stay when an incident is deleted: the case's
        // page shows only live incidents, and a restore brings them back.
        Change::EventPlaced { .. } | Change::EventDeleted { .. } => {}
        // Companies are shown by id, with the actor's current name.
        Change::ActorRenamed { .. } => {}
        Change::ConcessionsChanged { .. } | Change::DistrictsReplaced => {}
        // Cases are shared records, not the key's.
        Change::KeyRevoked { .. } => {}
    }
    Ok(())
}

/// Watches: the outbox of alerts, and the holders they follow.
fn alerts_follow(
    conn: &mut DbConn,
    who: &audit::Actor,
    index: &PlaceIndex,
    change: Change,
    effects: &mut Effects,
) -> Result<(), AppError> {
    match change {
        Change::EventPlaced {
            event,
            placement,
            alert,
        } => {
            if alert {
                effects.alerted += enqueue_alerts(conn, index, event, placement)?;
            }
        }
        // Unsent mail for a deleted incident is cancelled when its turn comes.
        Change::EventDeleted { .. } => {}
        Change::ActorRenamed { .. } => {}
        Change::ActorsMerged { from, into } => {
            effects.moved += alerts::store::holder_merged(conn, who, from, into)?;
        }
        // A registry or boundary change re-matches old incidents; mailing
        // everyone about them would be noise. Only incident writes alert.
        Change::ConcessionsChanged { .. } | Change::DistrictsReplaced => {}
        // A watch belongs to its owner's key: revoking the key suspends its
        // pending and active watches and cancels their unsent mail (each
        // watch audited). A later key does not restart them.
        Change::KeyRevoked { key_id } => {
            effects.suspended += alerts::store::suspend_owned(
                conn,
                who,
                key_id,
                "the API key that owns this watch was revoked",
            )?;
        }
    }
    Ok(())
}

/// Writes the alerts of every active watch the incident now falls under.
fn enqueue_alerts(
    conn: &mut DbConn,
    index: &PlaceIndex,
    event: &Event,
    placement: &Placement,
) -> Result<usize, AppError> {
    let district = placement.district.as_ref();
    let admin = event.fields.admin.as_ref();
    let pick = |f: fn(&Admin) -> &Option<String>| admin.and_then(|a| f(a).as_deref());
    let id = event.id.to_string();
    alerts::matching::enqueue(
        conn,
        &index.area_watches,
        &alerts::matching::Incident {
            id: &id,
            created_at: event.created_at.naive_utc(),
            event_type: event.fields.event_type,
            verification: event.fields.verification,
            lon: event.fields.location.lon,
            lat: event.fields.location.lat,
            ubigeo: pick(|a| &a.ubigeo).or(district.map(|d| d.ubigeo.as_str())),
            region: pick(|a| &a.region).or(district.map(|d| d.region.as_str())),
            province: pick(|a| &a.province).or(district.map(|d| d.province.as_str())),
            district: pick(|a| &a.district).or(district.map(|d| d.name.as_str())),
            concessions: &placement.concessions,
        },
    )
}
