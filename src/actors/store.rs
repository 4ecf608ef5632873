//! Storage of actors and of their links to incidents; every change audited
//! in its transaction, deletes soft.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    name_key, search_text, split_acronym, Actor, ActorFields, ActorKind, Attribution, LinkRole,
};
use crate::audit::{self, Action, Actor as Who, Entity};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::http::IfMatch;
use crate::schema::{actors, event_actors, events};
use crate::text;

const ENTITY: Entity = Entity::Actor;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = actors, treat_none_as_null = true)]
struct ActorRow {
    id: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    created_by: String,
    name: String,
    kind: ActorKind,
    aliases: String,
    ruc: Option<String>,
    reinfo_code: Option<String>,
    notes: String,
    name_key: String,
    search_text: String,
    merged_into: Option<String>,
    deleted_at: Option<NaiveDateTime>,
}

impl ActorRow {
    fn new(
        id: String,
        version: i64,
        created: (NaiveDateTime, String),
        updated_at: NaiveDateTime,
        f: &ActorFields,
    ) -> Result<Self, AppError> {
        Ok(ActorRow {
            id,
            version,
            created_at: created.0,
            created_by: created.1,
            updated_at,
            name: f.name.clone(),
            kind: f.kind,
            aliases: serde_json::to_string(&f.aliases)?,
            ruc: f.ruc.clone(),
            reinfo_code: f.reinfo_code.clone(),
            notes: f.notes.clone(),
            name_key: name_key(&f.name),
            search_text: search_text(f),
            merged_into: None,
            deleted_at: None,
        })
    }

    fn into_actor(self) -> Result<Actor, AppError> {
        Ok(Actor {
            id: Uuid::parse_str(&self.id)
                .map_err(|e| AppError::internal_from(format!("actors.id {:?}", self.id), e))?,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            created_by: self.created_by,
            fields: ActorFields {
                name: self.name,
                kind: self.kind,
                aliases: serde_json::from_str(&self.aliases)?,
                ruc: self.ruc,
                reinfo_code: self.reinfo_code,
                notes: self.notes,
            },
        })
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no actor with id {id}"))
}

fn ruc_taken(conn: &mut DbConn, ruc: &Option<String>, except: &str) -> Result<(), AppError> {
    if let Some(ruc) = ruc {
        let other = actors::table
            .filter(actors::ruc.eq(ruc))
            .filter(actors::deleted_at.is_null())
            .filter(actors::id.ne(except))
            .select(actors::id)
            .first::<String>(conn)
            .optional()?;
        if let Some(other) = other {
            return Err(AppError::Conflict(format!(
                "actor {other} already has RUC {ruc}"
            )));
        }
    }
    Ok(())
}

/// Inserts a new actor; call inside a transaction (see [`create`]).
pub fn insert(conn: &mut DbConn, who: &Who, fields: &ActorFields) -> Result<Actor, AppError> {
    let now = db::now();
    let row = ActorRow::new(
        Uuid::new_v4().to_string(),
        1,
        (now, who.name.clone()),
        now,
        fields,
    )?;
    ruc_taken(conn, &fields.ruc, &row.id)?;
    diesel::insert_into(actors::table)
        .values(&row)
        .execute(conn)?;
    let actor = row.into_actor()?;
    audit::record(
        conn,
        who,
        Action::Create,
        ENTITY,
        &actor.id.to_string(),
        None::<&()>,
        Some(&actor),
    )?;
    Ok(actor)
}

#[tracing::instrument(level = "info", skip_all)]
pub fn create(conn: &mut DbConn, who: &Who, fields: &ActorFields) -> Result<Actor, AppError> {
    db::write_tx(conn, |conn| insert(conn, who, fields))
}

/// A live actor.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub fn load(conn: &mut DbConn, id: &str) -> Result<Actor, AppError> {
    actors::table
        .find(id)
        .filter(actors::deleted_at.is_null())
        .select(ActorRow::as_select())
        .first::<ActorRow>(conn)
        .optional()?
        .ok_or_else(|| not_found(id))?
        .into_actor()
}

/// Live actors among `ids` (in no particular order): one query.
#[tracing::instrument(level = "debug", skip_all, fields(count = ids.len()))]
pub fn load_many(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Actor>, AppError> {
    actors::table
        .filter(actors::id.eq_any(ids))
        .filter(actors::deleted_at.is_null())
        .select(ActorRow::as_select())
        .load::<ActorRow>(conn)?
        .into_iter()
        .map(ActorRow::into_actor)
        .collect()
}

fn lock(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        actors::table
            .find(id)
            .select(actors::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn update(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    change: impl FnOnce(&Actor) -> Result<ActorFields, AppError>,
) -> Result<Actor, AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let before = load(conn, id)?;
        let fields = change(&before)?;
        if_match.check(before.version)?;
        ruc_taken(conn, &fields.ruc, id)?;
        let row = ActorRow::new(
            id.to_string(),
            before.version + 1,
            (before.created_at.naive_utc(), before.created_by.clone()),
            db::now(),
            &fields,
        )?;
        diesel::update(actors::table.find(id))
            .set(&row)
            .execute(conn)?;
        let after = row.into_actor()?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        lock(conn, id)?;
        let before = load(conn, id)?;
        if_match.check(before.version)?;
        let now = db::now();
        diesel::update(actors::table.find(id))
            .set((
                actors::deleted_at.eq(Some(now)),
                actors::updated_at.eq(now),
                actors::version.eq(before.version + 1),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            who,
            Action::Delete,
            ENTITY,
            id,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// Moves `from`'s incident links to `into`, adds its name and aliases to
/// `into`'s aliases, and retires it (soft delete, `merged_into`). What other
/// modules hold of `from` (concessions, watches, case companies) follows in
/// `ops::consequences`.
#[tracing::instrument(level = "info", skip_all, fields(from = %from, into = %into))]
pub fn merge(conn: &mut DbConn, who: &Who, from: &str, into: &str) -> Result<Actor, AppError> {
    if from == into {
        return Err(AppError::Conflict(
            "an actor cannot be merged into itself".into(),
        ));
    }
    db::write_tx(conn, |conn| {
        lock(conn, from)?;
        lock(conn, into)?;
        let source = load(conn, from)?;
        let target = load(conn, into).map_err(|_| {
            AppError::Validation(vec![crate::error::FieldError::new(
                "into",
                format!("no actor with id {into}"),
            )])
        })?;
        // Links the target already has for the same incident and role stay single.
        let existing: Vec<(String, LinkRole)> = event_actors::table
            .filter(event_actors::actor_id.eq(into))
            .select((event_actors::event_id, event_actors::role))
            .load(conn)?;
        for (event_id, role) in existing {
            diesel::delete(
                event_actors::table
                    .filter(event_actors::actor_id.eq(from))
                    .filter(event_actors::event_id.eq(event_id))
                    .filter(event_actors::role.eq(role)),
            )
            .execute(conn)?;
        }
        diesel::update(event_actors::table.filter(event_actors::actor_id.eq(from)))
            .set(event_actors::actor_id.eq(into))
            .execute(conn)?;

        let mut fields = target.fields.clone();
        for name in std::iter::once(&source.fields.name).chain(&source.fields.aliases) {
            let known = std::iter::once(&fields.name)
                .chain(&fields.aliases)
                .any(|n| text::fold(n) == text::fold(name));
            if !known {
                fields.aliases.push(name.clone());
            }
        }
        if fields.ruc.is_none() {
            fields.ruc = source.fields.ruc.clone();
        }
        let now = db::now();
        diesel::update(actors::table.find(from))
            .set((
                actors::deleted_at.eq(Some(now)),
                actors::merged_into.eq(Some(into)),
                actors::ruc.eq(None::<String>),
                actors::updated_at.eq(now),
                actors::version.eq(source.version + 1),
            ))
            .execute(conn)?;
        let row = ActorRow::new(
            into.to_string(),
            target.version + 1,
            (target.created_at.naive_utc(), target.created_by.clone()),
            now,
            &fields,
        )?;
        diesel::update(actors::table.find(into))
            .set(&row)
            .execute(conn)?;
        let after = row.into_actor()?;
        audit::record(
            conn,
            who,
            Action::Merge,
            ENTITY,
            from,
            Some(&source),
            None::<&()>,
        )?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            into,
            Some(&target),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[derive(Debug, Default)]
pub struct ActorFilter {
    pub words: Vec<String>,
    pub kind: Option<ActorKind>,
    pub after: Option<(String, String)>,
    pub limit: i64,
}

/// Live actors by name; up to `limit + 1` for the pager.
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn list(conn: &mut DbConn, f: &ActorFilter) -> Result<Vec<Actor>, AppError> {
    let mut query = actors::table
        .select(ActorRow::as_select())
        .filter(actors::deleted_at.is_null())
        .into_boxed();
    for word in &f.words {
        query = query.filter(
            actors::search_text
                .like(text::contains_pattern(word))
                .escape('\\'),
        );
    }
    if let Some(kind) = f.kind {
        query = query.filter(actors::kind.eq(kind));
    }
    if let Some((name, id)) = &f.after {
        query = query.filter(
            actors::name
                .gt(name.clone())
                .or(actors::name.eq(name.clone()).and(actors::id.gt(id.clone()))),
        );
    }
    query
        .order((actors::name.asc(), actors::id.asc()))
        .limit(f.limit + 1)
        .load::<ActorRow>(conn)?
        .into_iter()
        .map(ActorRow::into_actor)
        .collect()
}

/// Finds the live actor whose name key is `name`'s, or creates one; for
/// concession holders. `cache` spares a query per repeated holder in imports.
#[tracing::instrument(level = "debug", skip_all)]
pub fn find_or_create_holder(
    conn: &mut DbConn,
    who: &Who,
    name: &str,
    cache: &mut HashMap<String, (String, String)>,
) -> Result<(String, String), AppError> {
    let key = name_key(name);
    if let Some(found) = cache.get(&key) {
        return Ok(found.clone());
    }
    let found = actors::table
        .filter(actors::name_key.eq(&key))
        .filter(actors::deleted_at.is_null())
        .select((actors::id, actors::name))
        .order(actors::created_at.asc())
        .first::<(String, String)>(conn)
        .optional()?;
    let found = match found {
        Some(found) => found,
        None => {
            // Holders include natural persons: only a legal form makes one a company.
            let kind = if super::looks_like_company(name) {
                ActorKind::Company
            } else {
                ActorKind::Other
            };
            let fields = ActorFields {
                name: name.trim().to_string(),
                kind,
                aliases: Vec::new(),
                ruc: None,
                reinfo_code: None,
                notes: String::new(),
            };
            let actor = insert(conn, who, &fields)?;
            (actor.id.to_string(), actor.fields.name)
        }
    };
    cache.insert(key, found.clone());
    Ok(found)
}

/// An actor as an incident embeds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventActor {
    pub actor_id: Uuid,
    pub name: String,
    pub kind: ActorKind,
    pub role: LinkRole,
    pub attribution: Attribution,
    pub note: Option<String>,
}

/// event id, actor id, name, kind, role, note, attribution
type LinkedActorRow = (
    String,
    String,
    String,
    ActorKind,
    LinkRole,
    Option<String>,
    Attribution,
);

/// The actors of each of `event_ids`.
#[tracing::instrument(level = "debug", skip_all, fields(events = event_ids.len()))]
pub fn for_events(
    conn: &mut DbConn,
    event_ids: &[String],
) -> Result<HashMap<String, Vec<EventActor>>, AppError> {
    let rows: Vec<LinkedActorRow> = event_actors::table
        .inner_join(actors::table)
        .filter(event_actors::event_id.eq_any(event_ids))
        .order((event_actors::event_id, actors::name, event_actors::role))
        .select((
            event_actors::event_id,
            actors::id,
            actors::name,
            actors::kind,
            event_actors::role,
            event_actors::note,
            event_actors::attribution,
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<EventActor>> = HashMap::new();
    for (event_id, actor_id, name, kind, role, note, attribution) in rows {
        out.entry(event_id).or_default().push(EventActor {
            actor_id: Uuid::parse_str(&actor_id).map_err(|e| {
                AppError::internal_from(format!("event_actors.actor_id {actor_id:?}"), e)
            })?,
            name,
            kind,
            role,
            attribution,
            note,
        });
    }
    Ok(out)
}

#[derive(Insertable)]
#[diesel(table_name = event_actors)]
struct LinkRow<'a> {
    event_id: &'a str,
    actor_id: &'a str,
    role: LinkRole,
    attribution: Attribution,
    note: Option<&'a str>,
    created_at: NaiveDateTime,
    created_by: &'a str,
}

#[derive(Debug, Serialize)]
struct LinkRecord<'a> {
    event_id: &'a str,
    actor_id: &'a str,
    role: LinkRole,
    attribution: Attribution,
    note: Option<&'a str>,
}

fn live_event(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    events::table
        .find(id)
        .filter(events::deleted_at.is_null())
        .select(events::id)
        .first::<String>(conn)
        .optional()?
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound(format!("no event with id {id}")))
}

/// Links an actor to an incident in a role; linking it again in the same
/// role updates the attribution and note.
#[tracing::instrument(level = "info", skip_all, fields(event_id = %event_id, actor_id = %actor_id, role = role.as_str()))]
pub fn link(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    actor_id: &str,
    role: LinkRole,
    attribution: Attribution,
    note: Option<&str>,
) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        live_event(conn, event_id)?;
        load(conn, actor_id).map_err(|_| {
            AppError::Validation(vec![crate::error::FieldError::new(
                "actor_id",
                format!("no actor with id {actor_id}"),
            )])
        })?;
        let key = event_actors::table
            .filter(event_actors::event_id.eq(event_id))
            .filter(event_actors::actor_id.eq(actor_id))
            .filter(event_actors::role.eq(role));
        diesel::delete(key).execute(conn)?;
        diesel::insert_into(event_actors::table)
            .values(&LinkRow {
                event_id,
                actor_id,
                role,
                attribution,
                note,
                created_at: db::now(),
                created_by: &who.name,
            })
            .execute(conn)?;
        let record = LinkRecord {
            event_id,
            actor_id,
            role,
            attribution,
            note,
        };
        audit::record(
            conn,
            who,
            Action::Create,
            Entity::EventActor,
            event_id,
            None::<&()>,
            Some(&record),
        )?;
        Ok(())
    })
}

/// Removes an actor's links to an incident (in one role, or all).
#[tracing::instrument(level = "info", skip_all, fields(event_id = %event_id, actor_id = %actor_id))]
pub fn unlink(
    conn: &mut DbConn,
    who: &Who,
    event_id: &str,
    actor_id: &str,
    role: Option<LinkRole>,
) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        live_event(conn, event_id)?;
        let mut query = event_actors::table
            .filter(event_actors::event_id.eq(event_id))
            .filter(event_actors::actor_id.eq(actor_id))
            .into_boxed();
        if let Some(role) = role {
            query = query.filter(event_actors::role.eq(role));
        }
        let links: Vec<(LinkRole, Attribution, Option<String>)> = query
            .select((
                event_actors::role,
                event_actors::attribution,
                event_actors::note,
            ))
            .load(conn)?;
        if links.is_empty() {
            return Err(AppError::NotFound(format!(
                "actor {actor_id} is not linked to event {event_id}"
            )));
        }
        for (role, attribution, note) in &links {
            diesel::delete(
                event_actors::table
                    .filter(event_actors::event_id.eq(event_id))
                    .filter(event_actors::actor_id.eq(actor_id))
                    .filter(event_actors::role.eq(role)),
            )
            .execute(conn)?;
            let record = LinkRecord {
                event_id,
                actor_id,
                role: *role,
                attribution: *attribution,
                note: note.as_deref(),
            };
            audit::record(
                conn,
                who,
                Action::Delete,
                Entity::EventActor,
                event_id,
                Some(&record),
                None::<&()>,
            )?;
        }
        Ok(())
    })
}

/// Live actors' ids by name key and alias, for the names in an imported
/// file (a case's companies, an incident's actors).
pub struct Names {
    by_key: HashMap<String, String>,
    /// Actors added by [`Names::resolve`].
    pub added: usize,
}

impl Names {
    pub fn load(conn: &mut DbConn) -> Result<Self, AppError> {
        let rows: Vec<(String, String, String)> = actors::table
            .filter(actors::deleted_at.is_null())
            .order(actors::created_at.asc())
            .select((actors::id, actors::name, actors::aliases))
            .load(conn)?;
        let mut by_key = HashMap::new();
        // Names first: a name wins over another actor's alias.
        for (id, name, _) in &rows {
            by_key.entry(name_key(name)).or_insert_with(|| id.clone());
        }
        for (id, _, aliases) in &rows {
            let aliases: Vec<String> = serde_json::from_str(aliases)?;
            for alias in aliases {
                by_key.entry(name_key(&alias)).or_insert_with(|| id.clone());
            }
        }
        Ok(Names { by_key, added: 0 })
    }

    /// The actor id of `name` (by name or alias), or the id
    /// `add` gives a new one. `Name (ACR)` is the name `Name` with the
    /// alias `ACR`: either naming a live actor is that actor, and a new
    /// actor is made only when neither does.
    pub fn resolve(
        &mut self,
        conn: &mut DbConn,
        add: &mut AddActor,
        name: &str,
    ) -> Result<String, AppError> {
        let (base, acronym) = split_acronym(name);
        let keys: Vec<String> = std::iter::once(name_key(&base))
            .chain(acronym.as_deref().map(name_key))
            .chain(std::iter::once(name_key(name)))
            .collect();
        if let Some(id) = keys.iter().find_map(|k| self.by_key.get(k)) {
            return Ok(id.clone());
        }
        let aliases: Vec<String> = acronym.into_iter().collect();
        let id = add(conn, &base, &aliases)?;
        self.added += 1;
        for key in keys {
            self.by_key.entry(key).or_insert_with(|| id.clone());
        }
        Ok(id)
    }
}

/// Adds an actor that no live actor names yet (its name and aliases) and
/// returns its id: handed in by the operation that imports.
pub type AddActor<'a> = dyn FnMut(&mut DbConn, &str, &[String]) -> Result<String, AppError> + 'a;
