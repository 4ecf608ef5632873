//! Storage of concessions and districts, the registry change log, and the
//! matching of incidents to the places they fall in.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::geometry::Outline;
use super::index::{DistrictRef, IndexedConcession, PlaceIndex, Shapes};
use super::{Concession, ConcessionDraft, ConcessionRef, HolderRef};
use crate::audit::{self, Action, Actor as Who, Entity};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::{
    actors as actors_t, concession_changes, concessions, districts, event_concessions, events,
    registry_state,
};
use crate::text;

const ENTITY: Entity = Entity::Concession;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = concessions, treat_none_as_null = true)]
struct ConcessionRow {
    id: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    code: String,
    name: String,
    holder_id: Option<String>,
    hectares: Option<f64>,
    status: Option<String>,
    substance: Option<String>,
    filed_on: Option<NaiveDate>,
    geometry: String,
    geometry_valid: bool,
    source_crs: String,
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
    attributes: String,
    search_text: String,
    deleted_at: Option<NaiveDateTime>,
}

fn uuid(value: &str, what: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(value).map_err(|e| AppError::internal_from(format!("{what} {value:?}"), e))
}

/// Holder names of the given actor ids.
fn holder_names(conn: &mut DbConn, ids: Vec<String>) -> Result<HashMap<String, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(actors_t::table
        .filter(actors_t::id.eq_any(ids))
        .select((actors_t::id, actors_t::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// A concession row with its holder's id and name (a left join).
type RowWithHolder = (ConcessionRow, Option<(String, String)>);

fn to_concessions(rows: Vec<RowWithHolder>) -> Result<Vec<Concession>, AppError> {
    rows.into_iter()
        .map(|(r, holder)| {
            let holder = match holder {
                Some((id, name)) => Some(HolderRef {
                    id: uuid(&id, "concessions.holder_id")?,
                    name,
                }),
                None => None,
            };
            Ok(Concession {
                id: uuid(&r.id, "concessions.id")?,
                version: r.version,
                created_at: r.created_at.and_utc(),
                updated_at: r.updated_at.and_utc(),
                code: r.code,
                name: r.name,
                holder,
                hectares: r.hectares,
                status: r.status,
                substance: r.substance,
                filed_on: r.filed_on,
                geometry: serde_json::from_str(&r.geometry)?,
                geometry_valid: r.geometry_valid,
                source_crs: r.source_crs,
                attributes: serde_json::from_str(&r.attributes)?,
            })
        })
        .collect()
}

/// The layer versions; `lock` holds them (PostgreSQL `FOR SHARE`) until the
/// transaction ends, so a concurrent import waits for this writer and this
/// writer for it. On SQLite the write transaction already excludes others.
#[tracing::instrument(level = "debug", skip_all, fields(lock = lock))]
pub fn versions(conn: &mut DbConn, lock: bool) -> Result<(i64, i64), AppError> {
    let columns = (
        registry_state::concessions_version,
        registry_state::districts_version,
    );
    let found = match conn {
        DbConn::Pg(pg) if lock => registry_state::table
            .find(1)
            .select(columns)
            .for_share()
            .first(pg)
            .optional()?,
        _ => registry_state::table
            .find(1)
            .select(columns)
            .first(conn)
            .optional()?,
    };
    found.ok_or_else(|| AppError::internal("registry_state has no row"))
}

/// Marks the concession layer changed; call in the transaction that changes it.
#[tracing::instrument(level = "debug", skip_all)]
pub fn bump_concessions(conn: &mut DbConn) -> Result<(), AppError> {
    bump(conn, true)
}

fn bump(conn: &mut DbConn, concessions_layer: bool) -> Result<(), AppError> {
    let target = registry_state::table.find(1);
    if concessions_layer {
        diesel::update(target)
            .set(registry_state::concessions_version.eq(registry_state::concessions_version + 1))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set(registry_state::districts_version.eq(registry_state::districts_version + 1))
            .execute(conn)?;
    }
    Ok(())
}

/// Where a point falls: the concessions containing it and its district.
#[derive(Debug, Default)]
pub struct Placement {
    /// By code.
    pub concessions: Vec<ConcessionRef>,
    pub district: Option<DistrictRef>,
    /// District boundaries are loaded and the point is in none of them.
    pub outside_boundaries: bool,
}

/// Locates a point against the current layers. Call it inside the write
/// transaction that stores the result: it takes the version lock.
#[tracing::instrument(level = "debug", skip_all, fields(lon = lon, lat = lat))]
pub fn locate(
    conn: &mut DbConn,
    index: &PlaceIndex,
    lon: f64,
    lat: f64,
) -> Result<Placement, AppError> {
    let (concessions_version, districts_version) = versions(conn, true)?;
    let shapes = index.concessions(conn, concessions_version)?;
    let mut concessions: Vec<ConcessionRef> = shapes
        .containing(lon, lat)
        .map(|c| c.reference.clone())
        .collect();
    concessions.sort_by(|a, b| a.code.cmp(&b.code));
    let districts = index.districts(conn, districts_version)?;
    let district = districts.containing(lon, lat).next().cloned();
    Ok(Placement {
        concessions,
        outside_boundaries: district.is_none() && !districts.is_empty(),
        district,
    })
}

/// Replaces the concessions an incident is matched to.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id, concessions = ids.len()))]
pub fn set_event_concessions(
    conn: &mut DbConn,
    event_id: &str,
    ids: &[String],
) -> Result<(), AppError> {
    diesel::delete(event_concessions::table.filter(event_concessions::event_id.eq(event_id)))
        .execute(conn)?;
    add_event_concessions(conn, event_id, ids)
}

/// Matches a new incident (which has no matches yet) to concessions.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id, concessions = ids.len()))]
pub fn add_event_concessions(
    conn: &mut DbConn,
    event_id: &str,
    ids: &[String],
) -> Result<(), AppError> {
    let pairs: Vec<(&str, &str)> = ids.iter().map(|id| (event_id, id.as_str())).collect();
    insert_event_concessions(conn, &pairs)
}

/// Writes (incident id, concession id) matches, in statements of at most
/// `IDS_PER_QUERY` parameters; diesel's multi-backend connection has no
/// batch insert, each backend's own connection does.
fn insert_event_concessions(conn: &mut DbConn, pairs: &[(&str, &str)]) -> Result<(), AppError> {
    for part in pairs.chunks(IDS_PER_QUERY / 2) {
        let rows: Vec<_> = part
            .iter()
            .map(|(event_id, id)| {
                (
                    event_concessions::event_id.eq(*event_id),
                    event_concessions::concession_id.eq(*id),
                )
            })
            .collect();
        let insert = diesel::insert_into(event_concessions::table).values(rows);
        match conn {
            DbConn::Sqlite(c) => insert.execute(c)?,
            DbConn::Pg(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// A concession's id, code and name, and its holder's id and name.
type RefRow = (String, String, String, Option<(String, String)>);

pub(crate) fn to_ref(
    id: &str,
    code: String,
    name: String,
    holder: Option<(String, String)>,
) -> Result<ConcessionRef, AppError> {
    Ok(ConcessionRef {
        id: uuid(id, "concessions.id")?,
        code,
        name,
        holder: match holder {
            Some((holder_id, holder_name)) => Some(HolderRef {
                id: uuid(&holder_id, "holder_id")?,
                name: holder_name,
            }),
            None => None,
        },
    })
}

/// The concessions each of `event_ids` falls in, by code.
#[tracing::instrument(level = "debug", skip_all, fields(events = event_ids.len()))]
pub fn for_events(
    conn: &mut DbConn,
    event_ids: &[String],
) -> Result<HashMap<String, Vec<ConcessionRef>>, AppError> {
    // Two reads by key rather than one join: with statistics taken while
    // the cadastre was nearly empty (a first import), SQLite led the join
    // with `concessions` and probed the incidents' links once per
    // concession, 70,000 times per call while that import rematched
    // 1,000,000 incidents.
    let links: Vec<(String, String)> = event_concessions::table
        .filter(event_concessions::event_id.eq_any(event_ids))
        .select((
            event_concessions::event_id,
            event_concessions::concession_id,
        ))
        .load(conn)?;
    let mut ids: Vec<&str> = links.iter().map(|(_, c)| c.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut live: HashMap<String, ConcessionRef> = HashMap::with_capacity(ids.len());
    for part in ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<RefRow> = concessions::table
            .left_join(actors_t::table)
            .filter(concessions::id.eq_any(part))
            .filter(concessions::deleted_at.is_null())
            .select((
                concessions::id,
                concessions::code,
                concessions::name,
                (actors_t::id, actors_t::name).nullable(),
            ))
            .load(conn)?;
        for (id, code, name, holder) in rows {
            let concession = to_ref(&id, code, name, holder)?;
            live.insert(id, concession);
        }
    }
    let mut out: HashMap<String, Vec<ConcessionRef>> = HashMap::new();
    for (event_id, concession_id) in links {
        if let Some(concession) = live.get(&concession_id) {
            out.entry(event_id).or_default().push(concession.clone());
        }
    }
    for concessions in out.values_mut() {
        concessions.sort_by(|a, b| a.code.cmp(&b.code));
    }
    Ok(out)
}

/// The bounding box `[min lon, min lat, max lon, max lat]` of a
/// concession's outline, deleted or not; `None` when there is no such row.
pub fn bbox_of(conn: &mut DbConn, id: &str) -> Result<Option<[f64; 4]>, AppError> {
    Ok(concessions::table
        .find(id)
        .select((
            concessions::min_lon,
            concessions::min_lat,
            concessions::max_lon,
            concessions::max_lat,
        ))
        .first::<(f64, f64, f64, f64)>(conn)
        .optional()?
        .map(|(a, b, c, d)| [a, b, c, d]))
}

/// How many incident ids one `IN (...)` list carries (SQLite allows 32,766
/// parameters, PostgreSQL 65,535).
const IDS_PER_QUERY: usize = 10_000;

/// Matches live incidents again against the current concessions (after
/// the layer changed): the `within` ones (id, lon, lat: those whose point
/// lies in a single concession's old or new outline's box, found by the
/// caller through the incidents' spatial index; every other incident's
/// matches cannot have changed), or every live one (`None`, an import).
/// Call inside the transaction that bumped the version.
#[tracing::instrument(level = "info", skip_all, fields(candidates = within.as_ref().map(Vec::len)))]
pub fn rematch_events(
    conn: &mut DbConn,
    who: &audit::Actor,
    index: &PlaceIndex,
    within: Option<Vec<(String, f64, f64)>>,
) -> Result<usize, AppError> {
    let (version, _) = versions(conn, false)?;
    let shapes = index.concessions(conn, version)?;
    let mut current: HashMap<String, HashSet<String>> = HashMap::new();
    let located: Vec<(String, f64, f64)> = match within {
        None => {
            for (event_id, concession_id) in event_concessions::table
                .select((
                    event_concessions::event_id,
                    event_concessions::concession_id,
                ))
                .load::<(String, String)>(conn)?
            {
                current.entry(event_id).or_default().insert(concession_id);
            }
            events::table
                .filter(events::deleted_at.is_null())
                .select((events::id, events::lon, events::lat))
                .load(conn)?
        }
        Some(located) => {
            let ids: Vec<&String> = located.iter().map(|(id, _, _)| id).collect();
            for chunk in ids.chunks(IDS_PER_QUERY) {
                for (event_id, concession_id) in event_concessions::table
                    .filter(event_concessions::event_id.eq_any(chunk))
                    .select((
                        event_concessions::event_id,
                        event_concessions::concession_id,
                    ))
                    .load::<(String, String)>(conn)?
                {
                    current.entry(event_id).or_default().insert(concession_id);
                }
            }
            located
        }
    };
    // The incidents whose matches change, with their new ones; then
    // written a chunk at a time: one statement reads the chunk's matches
    // before, one deletes them, one inserts the new ones, one reads them
    // after. Each incident in its own statements took over 45 minutes
    // for the first 70,000-concession import into 1,000,000 incidents.
    let mut changes: Vec<(String, Vec<String>)> = Vec::new();
    for (event_id, lon, lat) in located {
        let wanted: HashSet<String> = shapes
            .containing(lon, lat)
            .map(|c| c.reference.id.to_string())
            .collect();
        if current
            .get(&event_id)
            .map_or(wanted.is_empty(), |have| *have == wanted)
        {
            continue;
        }
        let mut ids: Vec<String> = wanted.into_iter().collect();
        ids.sort();
        changes.push((event_id, ids));
    }
    for chunk in changes.chunks(REMATCH_CHUNK) {
        let event_ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
        let mut before = for_events(conn, &event_ids)?;
        diesel::delete(
            event_concessions::table.filter(event_concessions::event_id.eq_any(&event_ids)),
        )
        .execute(conn)?;
        let pairs: Vec<(&str, &str)> = chunk
            .iter()
            .flat_map(|(event_id, ids)| ids.iter().map(move |id| (event_id.as_str(), id.as_str())))
            .collect();
        insert_event_concessions(conn, &pairs)?;
        let mut after = for_events(conn, &event_ids)?;
        for event_id in &event_ids {
            // The incident's history shows which concessions it fell in
            // before and after, in the form the incident itself shows them.
            audit::record(
                conn,
                who,
                Action::Update,
                Entity::EventConcession,
                event_id,
                Some(
                    &serde_json::json!({ "concessions": before.remove(event_id).unwrap_or_default() }),
                ),
                Some(
                    &serde_json::json!({ "concessions": after.remove(event_id).unwrap_or_default() }),
                ),
            )?;
        }
    }
    Ok(changes.len())
}

/// How many changed incidents [`rematch_events`] writes at a time (their
/// ids are one `IN (...)` list).
const REMATCH_CHUNK: usize = 1_000;

/// What storing a draft did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Added,
    Updated,
    Unchanged,
}

string_enum! {
    /// A difference between two snapshots of the cadastre.
    pub enum ChangeKind {
        Added = "added",
        Removed = "removed",
        HolderChanged = "holder_changed",
        Renamed = "renamed",
        GeometryChanged = "geometry_changed",
        /// Anything else the source says of it (hectares, status,
        /// substance, filing date, attributes): an update always leaves a
        /// registry change, so an import's summary and the changes agree.
        DetailsChanged = "details_changed",
    }
}

#[derive(Insertable)]
#[diesel(table_name = concession_changes)]
struct NewChange {
    at: NaiveDateTime,
    code: String,
    change: ChangeKind,
    before_json: Option<String>,
    after_json: Option<String>,
}

fn record_change(
    conn: &mut DbConn,
    code: &str,
    change: ChangeKind,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    diesel::insert_into(concession_changes::table)
        .values(NewChange {
            at: db::now(),
            code: code.to_string(),
            change,
            before_json: before.map(|v| v.to_string()),
            after_json: after.map(|v| v.to_string()),
        })
        .execute(conn)?;
    Ok(())
}

/// Rounds to 1e-9 degrees (0.1 mm), so one file read twice stores the same text.
fn geometry_text(outline: &Outline) -> String {
    use geo::MapCoords;
    let round = |v: f64| (v * 1e9).round() / 1e9;
    let rounded = Outline {
        shape: outline.shape.map_coords(|c| geo::Coord {
            x: round(c.x),
            y: round(c.y),
        }),
        valid: outline.valid,
    };
    rounded.to_geojson().to_string()
}

/// Adds or updates the concession with the draft's code (`holder`: the
/// titular's actor id and name, resolved by the caller), recording every
/// registry change (and, with `audit_each`, an audit record: imports write
/// one for the whole file instead); a deleted concession that comes back is re-added. Call
/// inside a write transaction that also bumps the layer version.
#[tracing::instrument(level = "debug", skip_all, fields(code = %draft.code))]
pub fn upsert(
    conn: &mut DbConn,
    who: &Who,
    draft: &ConcessionDraft,
    holder: Option<(String, String)>,
    audit_each: bool,
) -> Result<(Outcome, String), AppError> {
    let (holder_id, holder_name) = holder.unzip();
    let existing = concessions::table
        .filter(concessions::code.eq(&draft.code))
        .select(ConcessionRow::as_select())
        .first::<ConcessionRow>(conn)
        .optional()?;
    let now = db::now();
    let [min_lon, min_lat, max_lon, max_lat] = draft.outline.bbox();
    let mut row = ConcessionRow {
        id: Uuid::new_v4().to_string(),
        version: 1,
        created_at: now,
        updated_at: now,
        code: draft.code.clone(),
        name: draft.name.clone(),
        holder_id,
        hectares: draft.hectares,
        status: draft.status.clone(),
        substance: draft.substance.clone(),
        filed_on: draft.filed_on,
        geometry: geometry_text(&draft.outline),
        geometry_valid: draft.outline.valid,
        source_crs: draft.source_crs.clone(),
        min_lon,
        min_lat,
        max_lon,
        max_lat,
        attributes: draft.attributes.to_string(),
        search_text: [
            Some(draft.code.as_str()),
            Some(draft.name.as_str()),
            holder_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(text::fold)
        .collect::<Vec<_>>()
        .join(" | "),
        deleted_at: None,
    };
    let summary = |r: &ConcessionRow| serde_json::json!({"code": r.code, "name": r.name, "holder_id": r.holder_id, "holder": holder_name});
    let Some(old) = existing else {
        diesel::insert_into(concessions::table)
            .values(&row)
            .execute(conn)?;
        record_change(
            conn,
            &row.code,
            ChangeKind::Added,
            None,
            Some(summary(&row)),
        )?;
        if audit_each {
            audit::record(
                conn,
                who,
                Action::Create,
                ENTITY,
                &row.id,
                None::<&()>,
                Some(&summary(&row)),
            )?;
        }
        return Ok((Outcome::Added, row.id));
    };
    row.id = old.id.clone();
    row.created_at = old.created_at;
    let same = old.deleted_at.is_none()
        && old.name == row.name
        && old.holder_id == row.holder_id
        && old.hectares == row.hectares
        && old.status == row.status
        && old.substance == row.substance
        && old.filed_on == row.filed_on
        && old.geometry == row.geometry
        && old.attributes == row.attributes;
    if same {
        return Ok((Outcome::Unchanged, old.id));
    }
    row.version = old.version + 1;
    diesel::update(concessions::table.find(&old.id))
        .set(&row)
        .execute(conn)?;
    let old_holder = match &old.holder_id {
        Some(id) => holder_names(conn, vec![id.clone()])?.remove(id),
        None => None,
    };
    let before = serde_json::json!({"code": old.code, "name": old.name, "holder_id": old.holder_id, "holder": old_holder});
    if old.deleted_at.is_some() {
        record_change(
            conn,
            &row.code,
            ChangeKind::Added,
            None,
            Some(summary(&row)),
        )?;
    } else {
        let named =
            old.holder_id != row.holder_id || old.name != row.name || old.geometry != row.geometry;
        if !named {
            let details = |r: &ConcessionRow| {
                serde_json::json!({"code": r.code, "hectares": r.hectares, "status": r.status,
                    "substance": r.substance, "filed_on": r.filed_on,
                    "attributes": serde_json::from_str::<serde_json::Value>(&r.attributes).ok()})
            };
            record_change(
                conn,
                &row.code,
                ChangeKind::DetailsChanged,
                Some(details(&old)),
                Some(details(&row)),
            )?;
        }
        if old.holder_id != row.holder_id {
            record_change(
                conn,
                &row.code,
                ChangeKind::HolderChanged,
                Some(before.clone()),
                Some(summary(&row)),
            )?;
        }
        if old.name != row.name {
            record_change(
                conn,
                &row.code,
                ChangeKind::Renamed,
                Some(before.clone()),
                Some(summary(&row)),
            )?;
        }
        if old.geometry != row.geometry {
            let outline = |g: &str| serde_json::from_str::<serde_json::Value>(g).ok();
            record_change(
                conn,
                &row.code,
                ChangeKind::GeometryChanged,
                outline(&old.geometry),
                outline(&row.geometry),
            )?;
        }
    }
    if audit_each {
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            &row.id,
            Some(&before),
            Some(&summary(&row)),
        )?;
    }
    Ok((Outcome::Updated, row.id))
}

/// Soft-deletes a concession and records it as removed from the registry.
#[tracing::instrument(level = "info", skip_all, fields(id = %id))]
pub fn remove(conn: &mut DbConn, who: &Who, id: &str) -> Result<(), AppError> {
    let old = concessions::table
        .find(id)
        .filter(concessions::deleted_at.is_null())
        .select(ConcessionRow::as_select())
        .first::<ConcessionRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no concession with id {id}")))?;
    let now = db::now();
    diesel::update(concessions::table.find(id))
        .set((
            concessions::deleted_at.eq(Some(now)),
            concessions::updated_at.eq(now),
            concessions::version.eq(old.version + 1),
        ))
        .execute(conn)?;
    let before =
        serde_json::json!({"code": old.code, "name": old.name, "holder_id": old.holder_id});
    record_change(
        conn,
        &old.code,
        ChangeKind::Removed,
        Some(before.clone()),
        None,
    )?;
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
}

/// A live concession.
#[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
pub fn load(conn: &mut DbConn, id: &str) -> Result<Concession, AppError> {
    let row = concessions::table
        .left_join(actors_t::table)
        .filter(concessions::id.eq(id))
        .filter(concessions::deleted_at.is_null())
        .select((
            ConcessionRow::as_select(),
            (actors_t::id, actors_t::name).nullable(),
        ))
        .first::<RowWithHolder>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no concession with id {id}")))?;
    to_concessions(vec![row])?
        .pop()
        .ok_or_else(|| AppError::internal("lost a row"))
}

/// Live concessions by id, in the given order.
#[tracing::instrument(level = "debug", skip_all, fields(count = ids.len()))]
pub fn load_many(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Concession>, AppError> {
    let rows = concessions::table
        .left_join(actors_t::table)
        .filter(concessions::id.eq_any(ids))
        .filter(concessions::deleted_at.is_null())
        .select((
            ConcessionRow::as_select(),
            (actors_t::id, actors_t::name).nullable(),
        ))
        .load::<RowWithHolder>(conn)?;
    let mut found = to_concessions(rows)?;
    found.sort_by_key(|c| ids.iter().position(|id| *id == c.id.to_string()));
    Ok(found)
}

#[derive(Debug, Default)]
pub struct ConcessionFilter {
    pub code: Option<String>,
    pub holder: Option<String>,
    pub words: Vec<String>,
    pub bbox: Option<[f64; 4]>,
    pub after: Option<(String, String)>,
    pub limit: i64,
    /// Outlines simplified for a map at this zoom (see `geometry::for_map`).
    pub zoom: Option<u8>,
}

/// Live concessions by code; up to `limit + 1`.
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn list(conn: &mut DbConn, f: &ConcessionFilter) -> Result<Vec<Concession>, AppError> {
    let mut query = concessions::table
        .left_join(actors_t::table)
        .select((
            ConcessionRow::as_select(),
            (actors_t::id, actors_t::name).nullable(),
        ))
        .filter(concessions::deleted_at.is_null())
        .into_boxed();
    if let Some(code) = &f.code {
        query = query.filter(concessions::code.eq(code.clone()));
    }
    if let Some(holder) = &f.holder {
        query = query.filter(concessions::holder_id.eq(holder.clone()));
    }
    for word in &f.words {
        query = query.filter(
            concessions::search_text
                .like(text::contains_pattern(word))
                .escape('\\'),
        );
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = f.bbox {
        query = query
            .filter(concessions::max_lon.ge(min_lon))
            .filter(concessions::min_lon.le(max_lon))
            .filter(concessions::max_lat.ge(min_lat))
            .filter(concessions::min_lat.le(max_lat));
    }
    if let Some((code, id)) = &f.after {
        query = query.filter(
            concessions::code.gt(code.clone()).or(concessions::code
                .eq(code.clone())
                .and(concessions::id.gt(id.clone()))),
        );
    }
    let rows = query
        .order((concessions::code.asc(), concessions::id.asc()))
        .limit(f.limit + 1)
        .load::<RowWithHolder>(conn)?;
    let mut found = to_concessions(rows)?;
    if let Some(zoom) = f.zoom {
        for c in &mut found {
            c.geometry = super::geometry::geojson_for_map(&c.geometry, zoom);
        }
    }
    Ok(found)
}

/// Every live concession containing the point.
#[tracing::instrument(level = "debug", skip_all, fields(lon = lon, lat = lat))]
pub fn at(
    conn: &mut DbConn,
    index: &PlaceIndex,
    lon: f64,
    lat: f64,
) -> Result<Vec<Concession>, AppError> {
    let (version, _) = versions(conn, false)?;
    let shapes = index.concessions(conn, version)?;
    let ids: Vec<String> = shapes
        .containing(lon, lat)
        .map(|c| c.reference.id.to_string())
        .collect();
    let mut found = load_many(conn, &ids)?;
    found.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(found)
}

/// `{"items": [...]}`: every concession of `shapes` containing the point,
/// by code, as `GET /api/v1/concessions/at` answers (the same JSON as
/// [`at`]'s concessions serialised), from the JSON the index keeps.
pub fn answer_at(shapes: &Shapes<IndexedConcession>, lon: f64, lat: f64) -> String {
    let mut found: Vec<&IndexedConcession> = shapes.containing(lon, lat).collect();
    found.sort_by(|a, b| a.reference.code.cmp(&b.reference.code));
    let mut body =
        String::with_capacity(16 + found.iter().map(|c| c.json.len() + 1).sum::<usize>());
    body.push_str("{\"items\":[");
    for (i, concession) in found.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&concession.json);
    }
    body.push_str("]}");
    body
}

/// Every live concession as the index keeps it: what an incident embeds,
/// its API JSON, and its outline. Rows whose outline does not parse are
/// left out (they match nothing), as before.
pub(crate) fn for_index(
    conn: &mut DbConn,
) -> Result<Vec<(IndexedConcession, geo::MultiPolygon<f64>)>, AppError> {
    let rows = concessions::table
        .left_join(actors_t::table)
        .filter(concessions::deleted_at.is_null())
        .select((
            ConcessionRow::as_select(),
            (actors_t::id, actors_t::name).nullable(),
        ))
        .load::<RowWithHolder>(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    // One row at a time, so that only one parsed outline is alive at once.
    for row in rows {
        let id = row.0.id.clone();
        let concession = match to_concessions(vec![row]) {
            Ok(mut one) => one.pop(),
            Err(e) => {
                tracing::warn!(id, error = %e.report(), "concession left out of the index");
                None
            }
        };
        let Some(concession) = concession else {
            continue;
        };
        let Ok(shape) = super::geometry::multipolygon_from_geojson(&concession.geometry) else {
            continue;
        };
        let json = serde_json::to_string(&concession)?.into_boxed_str();
        let reference = ConcessionRef {
            id: concession.id,
            code: concession.code,
            name: concession.name,
            holder: concession.holder,
        };
        items.push((IndexedConcession { reference, json }, shape));
    }
    Ok(items)
}

/// The most districts one map answer carries: Peru has 1,834.
pub const MAP_DISTRICTS: usize = 2_000;

/// The districts whose bounding box meets `bbox` (`[min lon, min lat, max
/// lon, max lat]`), by ubigeo, at most [`MAP_DISTRICTS`] of them, each with
/// its outline as a map draws it at `zoom` (`geometry::for_map`). Read from
/// the process's index, not the database.
#[tracing::instrument(level = "debug", skip_all, fields(zoom = zoom))]
pub fn districts_for_map(
    conn: &mut DbConn,
    index: &PlaceIndex,
    bbox: [f64; 4],
    zoom: u8,
) -> Result<Vec<(DistrictRef, serde_json::Value)>, AppError> {
    let (_, version) = versions(conn, false)?;
    let shapes = index.districts(conn, version)?;
    let mut found: Vec<_> = shapes.meeting(bbox).collect();
    found.sort_by(|a, b| a.0.ubigeo.cmp(&b.0.ubigeo));
    found.truncate(MAP_DISTRICTS);
    Ok(found
        .into_iter()
        .map(|(district, shape)| (district.clone(), super::geometry::for_map(shape, zoom)))
        .collect())
}

/// A district as the form's search finds it offline: its names and a point
/// inside it (not the centroid, which a crescent-shaped district may not
/// contain), to five decimals (about a metre).
#[derive(Debug, Serialize)]
pub struct DistrictSpot {
    pub ubigeo: String,
    pub district: String,
    pub province: String,
    pub region: String,
    pub lat: f64,
    pub lon: f64,
}

/// Every district with a point inside it, by ubigeo: what a phone keeps to
/// find a district by name with no network. Read from the process's index.
pub fn district_spots(
    conn: &mut DbConn,
    index: &PlaceIndex,
) -> Result<Vec<DistrictSpot>, AppError> {
    use geo::InteriorPoint;
    let (_, version) = versions(conn, false)?;
    let shapes = index.districts(conn, version)?;
    let round = |v: f64| (v * 100_000.0).round() / 100_000.0;
    let mut spots: Vec<DistrictSpot> = shapes
        .meeting([-180.0, -90.0, 180.0, 90.0])
        .filter_map(|(d, shape)| {
            let point = shape.interior_point()?;
            Some(DistrictSpot {
                ubigeo: d.ubigeo.clone(),
                district: d.name.clone(),
                province: d.province.clone(),
                region: d.region.clone(),
                lat: round(point.y()),
                lon: round(point.x()),
            })
        })
        .collect();
    spots.sort_by(|a, b| a.ubigeo.cmp(&b.ubigeo));
    Ok(spots)
}

/// The district containing the point, if any (on a shared edge, the first
/// the index finds).
#[tracing::instrument(level = "debug", skip_all, fields(lon = lon, lat = lat))]
pub fn district_at(
    conn: &mut DbConn,
    index: &PlaceIndex,
    lon: f64,
    lat: f64,
) -> Result<Option<DistrictRef>, AppError> {
    let (_, version) = versions(conn, false)?;
    let shapes = index.districts(conn, version)?;
    let found = shapes.containing(lon, lat).next().cloned();
    Ok(found)
}

/// A registry change, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryChange {
    pub id: i64,
    pub code: String,
    pub change: ChangeKind,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// seq, at, code, change, before, after
type ChangeRow = (
    i64,
    NaiveDateTime,
    String,
    ChangeKind,
    Option<String>,
    Option<String>,
);

fn change_of((id, at, code, change, before, after): ChangeRow) -> RegistryChange {
    RegistryChange {
        id,
        code,
        change,
        before: before.and_then(|s| serde_json::from_str(&s).ok()),
        after: after.and_then(|s| serde_json::from_str(&s).ok()),
        at: at.and_utc(),
    }
}

/// Registry changes at or after `since`, oldest first; up to `limit + 1`.
#[tracing::instrument(level = "debug", skip_all, fields(limit = limit))]
pub fn changes(
    conn: &mut DbConn,
    since: Option<NaiveDateTime>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<RegistryChange>, AppError> {
    let mut query = concession_changes::table.into_boxed();
    if let Some(since) = since {
        query = query.filter(concession_changes::at.ge(since));
    }
    if let Some(after) = after {
        query = query.filter(concession_changes::seq.gt(after));
    }
    let rows: Vec<ChangeRow> = query
        .order(concession_changes::seq.asc())
        .limit(limit + 1)
        .select((
            concession_changes::seq,
            concession_changes::at,
            concession_changes::code,
            concession_changes::change,
            concession_changes::before_json,
            concession_changes::after_json,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(change_of).collect())
}

diesel::define_sql_function! {
    /// SQL `lower` (ASCII only on SQLite as bundled).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What the admins' registry page selects.
#[derive(Debug, Default)]
pub struct ChangeFilter {
    pub kind: Option<ChangeKind>,
    /// One concession's code, exactly.
    pub code: Option<String>,
    /// Text in the holder's name before or after the change (case folded
    /// for ASCII letters on both databases).
    pub holder: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Only changes older than this one (the next page).
    pub before: Option<i64>,
    pub limit: i64,
}

/// Registry changes newest first, up to `limit + 1`, each with the id of
/// its concession when it still exists (for a link to its page).
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn change_log(
    conn: &mut DbConn,
    f: &ChangeFilter,
) -> Result<Vec<(RegistryChange, Option<String>)>, AppError> {
    let mut query = concession_changes::table.into_boxed();
    if let Some(kind) = f.kind {
        query = query.filter(concession_changes::change.eq(kind));
    }
    if let Some(code) = &f.code {
        query = query.filter(concession_changes::code.eq(code.clone()));
    }
    if let Some(holder) = &f.holder {
        // The holder's name is in the JSON snapshots, as `"holder":"…"`.
        let pattern = crate::text::contains_pattern(&holder.to_lowercase());
        query = query.filter(
            lower(concession_changes::before_json.assume_not_null())
                .like(pattern.clone())
                .escape('\\')
                .or(lower(concession_changes::after_json.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    if let Some(from) = f.from {
        query = query.filter(concession_changes::at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(concession_changes::at.le(to));
    }
    if let Some(before) = f.before {
        query = query.filter(concession_changes::seq.lt(before));
    }
    let rows: Vec<ChangeRow> = query
        .order(concession_changes::seq.desc())
        .limit(f.limit + 1)
        .select((
            concession_changes::seq,
            concession_changes::at,
            concession_changes::code,
            concession_changes::change,
            concession_changes::before_json,
            concession_changes::after_json,
        ))
        .load(conn)?;
    let codes: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    let ids: std::collections::HashMap<String, String> = concessions::table
        .filter(concessions::code.eq_any(codes))
        .filter(concessions::deleted_at.is_null())
        .select((concessions::code, concessions::id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = ids.get(&row.2).cloned();
            (change_of(row), id)
        })
        .collect())
}

/// The latest registry changes of one concession (by code), newest first.
pub fn changes_of(
    conn: &mut DbConn,
    code: &str,
    limit: i64,
) -> Result<Vec<RegistryChange>, AppError> {
    let rows: Vec<ChangeRow> = concession_changes::table
        .filter(concession_changes::code.eq(code))
        .order(concession_changes::seq.desc())
        .limit(limit)
        .select((
            concession_changes::seq,
            concession_changes::at,
            concession_changes::code,
            concession_changes::change,
            concession_changes::before_json,
            concession_changes::after_json,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(change_of).collect())
}

/// A district to store.
pub struct DistrictDraft {
    pub ubigeo: String,
    pub name: String,
    pub province: String,
    pub region: String,
    pub outline: Outline,
}

/// Replaces the district layer; `follow_layer_change` (the operation's
/// consequences: recoding incidents) runs in the same transaction and says
/// how many incidents changed.
#[tracing::instrument(level = "info", skip_all, fields(districts = drafts.len()))]
pub fn replace_districts(
    conn: &mut DbConn,
    who: &Who,
    drafts: &[DistrictDraft],
    follow_layer_change: impl FnOnce(&mut DbConn) -> Result<usize, AppError>,
) -> Result<usize, AppError> {
    db::write_tx(conn, |conn| {
        bump(conn, false)?;
        diesel::delete(districts::table).execute(conn)?;
        for d in drafts {
            diesel::insert_into(districts::table)
                .values((
                    districts::ubigeo.eq(&d.ubigeo),
                    districts::name.eq(&d.name),
                    districts::province.eq(&d.province),
                    districts::region.eq(&d.region),
                    districts::geometry.eq(d.outline.to_geojson().to_string()),
                ))
                .execute(conn)?;
        }
        let recoded = follow_layer_change(conn)?;
        audit::record(
            conn,
            who,
            Action::Update,
            Entity::Districts,
            "all",
            None::<&()>,
            Some(&serde_json::json!({"districts": drafts.len(), "events_recoded": recoded})),
        )?;
        Ok(recoded)
    })
}

/// After an actor's name or identity changed: the concession layer carries
/// holder names, so it is marked changed when the actor holds any.
#[tracing::instrument(level = "debug", skip_all, fields(actor_id = %actor_id))]
pub fn holder_changed(conn: &mut DbConn, actor_id: &str) -> Result<(), AppError> {
    let holds = concessions::table
        .filter(concessions::holder_id.eq(actor_id))
        .filter(concessions::deleted_at.is_null())
        .select(concessions::id)
        .first::<String>(conn)
        .optional()?;
    if holds.is_some() {
        bump(conn, true)?;
    }
    Ok(())
}

/// Gives `into` the concessions `from` holds (an actor merge: the same
/// titular under two records, not a change of the registry, so no registry
/// change is recorded; the merge's audit records say it). Returns how many.
pub fn move_holdings(conn: &mut DbConn, from: &str, into: &str) -> Result<usize, AppError> {
    Ok(
        diesel::update(concessions::table.filter(concessions::holder_id.eq(from)))
            .set(concessions::holder_id.eq(into))
            .execute(conn)?,
    )
}

/// The live incidents since `since` that lie in a live concession held by
/// `holder_id`, newest first, at most `limit` (an incident in two of its
/// concessions once).
#[tracing::instrument(level = "debug", skip_all, fields(holder = holder_id))]
pub fn events_in_holdings(
    conn: &mut DbConn,
    holder_id: &str,
    since: NaiveDate,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String, NaiveDate)> = event_concessions::table
        .inner_join(concessions::table)
        .inner_join(events::table)
        .filter(concessions::holder_id.eq(holder_id))
        .filter(concessions::deleted_at.is_null())
        .filter(events::deleted_at.is_null())
        .filter(events::occurred_on.ge(since))
        .order((events::occurred_on.desc(), events::id.asc()))
        .select((events::id, events::occurred_on))
        .limit(limit)
        .load(conn)?;
    let mut seen = HashSet::new();
    Ok(rows
        .into_iter()
        .filter_map(|(id, _)| seen.insert(id.clone()).then_some(id))
        .collect())
}

/// The names of a region (2 digits), province (4) or district (6) by
/// ubigeo, from the region down as far as the code goes; empty when no
/// loaded district has the code.
#[tracing::instrument(level = "debug", skip_all, fields(ubigeo = ubigeo))]
pub fn admin_names(conn: &mut DbConn, ubigeo: &str) -> Result<Vec<String>, AppError> {
    let found: Option<(String, String, String)> = districts::table
        // Only digits reach here (the target's rule): nothing to escape.
        .filter(districts::ubigeo.like(format!("{ubigeo}%")))
        .order(districts::ubigeo.asc())
        .select((districts::region, districts::province, districts::name))
        .first(conn)
        .optional()?;
    let levels = match ubigeo.len() {
        2 => 1,
        4 => 2,
        _ => 3,
    };
    Ok(found
        .map(|(region, province, district)| {
            [region, province, district]
                .into_iter()
                .take(levels)
                .collect()
        })
        .unwrap_or_default())
}

/// A region's or a province's outline: its districts dissolved.
#[derive(Debug, Clone)]
pub struct AdminOutline {
    /// The ubigeo's first 2 (region) or 4 (province) digits.
    pub code: String,
    pub name: String,
    pub shape: geo::MultiPolygon<f64>,
}

/// The regions (`digits` 2) or provinces (4) of the loaded districts
/// whose ubigeo begins with `prefix` (every one for an empty prefix), by
/// code: each the union of its districts (geo's unary union: all of Peru's
/// 1,826 districts into 25 regions took 25 ms unoptimised), simplified
/// (Douglas–Peucker) to `tolerance` degrees. Read from the process's index.
#[tracing::instrument(level = "debug", skip_all, fields(prefix = prefix, digits = digits))]
pub fn admin_outlines(
    conn: &mut DbConn,
    index: &PlaceIndex,
    prefix: &str,
    digits: usize,
    tolerance: f64,
) -> Result<Vec<AdminOutline>, AppError> {
    use geo::Simplify;
    let (_, version) = versions(conn, false)?;
    let shapes = index.districts(conn, version)?;
    let mut parts: std::collections::BTreeMap<String, (String, Vec<&geo::MultiPolygon<f64>>)> =
        std::collections::BTreeMap::new();
    for (district, shape) in shapes.meeting([-180.0, -90.0, 180.0, 90.0]) {
        let Some(code) = district.ubigeo.get(..digits) else {
            continue;
        };
        if !district.ubigeo.starts_with(prefix) {
            continue;
        }
        let name = if digits <= 2 {
            &district.region
        } else {
            &district.province
        };
        parts
            .entry(code.to_string())
            .or_insert_with(|| (name.clone(), Vec::new()))
            .1
            .push(shape);
    }
    Ok(parts
        .into_iter()
        .map(|(code, (name, shapes))| AdminOutline {
            code,
            name,
            shape: geo::unary_union(shapes).simplify(tolerance),
        })
        .collect())
}
