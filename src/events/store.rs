//! Storage of incidents. Every change writes its audit record in the same
//! transaction; deletes are soft (`deleted_at`), so nothing leaves the
//! database through the API.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::stats::{Counts, GroupKey, GroupRow, Stats};
use super::{
    Admin, AdminSource, Event, EventFields, EventType, Location, LocationPrecision, Publication,
    TimePrecision, Verification,
};
use crate::audit::{self, Action, Actor, Entity};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::places::DistrictRef;
use crate::schema::{event_actors, event_concessions, events};
use crate::text;

const ENTITY: Entity = Entity::Event;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = events, treat_none_as_null = true)]
struct EventRow {
    id: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    created_by: String,
    title: String,
    description: String,
    event_type: EventType,
    sub_event_type: Option<String>,
    occurred_on: NaiveDate,
    time_precision: TimePrecision,
    lat: f64,
    lon: f64,
    location_precision: LocationPrecision,
    place: Option<String>,
    ubigeo: Option<String>,
    region: Option<String>,
    province: Option<String>,
    district: Option<String>,
    admin_source: Option<AdminSource>,
    region_key: Option<String>,
    province_key: Option<String>,
    district_key: Option<String>,
    fatalities: i32,
    injuries: i32,
    sources: String,
    verification: Verification,
    verification_note: Option<String>,
    search_text: String,
    deleted_at: Option<NaiveDateTime>,
    publication: Publication,
}

struct Meta {
    id: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    created_by: String,
    /// Kept through every rewrite: only `set_publication` changes it.
    publication: Publication,
}

impl EventRow {
    /// The row for `f`; when the client gave no place, `district` (from the
    /// loaded boundaries) fills it.
    fn new(meta: Meta, f: &EventFields, district: Option<&DistrictRef>) -> Result<Self, AppError> {
        let from_boundaries = f.admin.is_none() && district.is_some();
        let derived = district.filter(|_| from_boundaries).map(|d| Admin {
            ubigeo: Some(d.ubigeo.clone()),
            region: Some(d.region.clone()),
            province: Some(d.province.clone()),
            district: Some(d.name.clone()),
        });
        let admin = f.admin.as_ref().or(derived.as_ref());
        let source = match (f.admin.is_some(), from_boundaries) {
            (true, _) => Some(AdminSource::Client),
            (false, true) => Some(AdminSource::Boundaries),
            _ => None,
        };
        let admin_text = |pick: fn(&Admin) -> &Option<String>| admin.and_then(|a| pick(a).clone());
        let key = |value: &Option<String>| value.as_deref().map(text::fold);
        let region = admin_text(|a| &a.region);
        let province = admin_text(|a| &a.province);
        let district = admin_text(|a| &a.district);
        let searchable = [
            Some(f.title.as_str()),
            Some(f.description.as_str()),
            f.location.place.as_deref(),
        ];
        Ok(EventRow {
            id: meta.id,
            version: meta.version,
            created_at: meta.created_at,
            updated_at: meta.updated_at,
            created_by: meta.created_by,
            title: f.title.clone(),
            description: f.description.clone(),
            event_type: f.event_type,
            sub_event_type: f.sub_event_type.clone(),
            occurred_on: f.occurred_on,
            time_precision: f.time_precision,
            lat: f.location.lat,
            lon: f.location.lon,
            location_precision: f.location.precision,
            place: f.location.place.clone(),
            ubigeo: admin_text(|a| &a.ubigeo),
            region_key: key(&region),
            province_key: key(&province),
            district_key: key(&district),
            region,
            province,
            district,
            admin_source: source,
            fatalities: f.fatalities,
            injuries: f.injuries,
            sources: serde_json::to_string(&f.sources)?,
            verification: f.verification,
            verification_note: f.verification_note.clone(),
            search_text: searchable
                .into_iter()
                .flatten()
                .map(text::fold)
                .collect::<Vec<_>>()
                .join(" "),
            deleted_at: None,
            publication: meta.publication,
        })
    }

    fn into_event(self) -> Result<Event, AppError> {
        let has_admin = self.ubigeo.is_some()
            || self.region.is_some()
            || self.province.is_some()
            || self.district.is_some();
        Ok(Event {
            id: Uuid::parse_str(&self.id)
                .map_err(|e| AppError::internal_from(format!("events.id {:?}", self.id), e))?,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            created_by: self.created_by,
            publication: self.publication,
            // In `event_publications`: `ops::events` embeds it.
            published_at: None,
            admin_source: self.admin_source,
            fields: EventFields {
                title: self.title,
                description: self.description,
                event_type: self.event_type,
                sub_event_type: self.sub_event_type,
                occurred_on: self.occurred_on,
                time_precision: self.time_precision,
                location: Location {
                    lat: self.lat,
                    lon: self.lon,
                    precision: self.location_precision,
                    place: self.place,
                },
                admin: has_admin.then_some(Admin {
                    ubigeo: self.ubigeo,
                    region: self.region,
                    province: self.province,
                    district: self.district,
                }),
                fatalities: self.fatalities,
                injuries: self.injuries,
                sources: serde_json::from_str(&self.sources)?,
                verification: self.verification,
                verification_note: self.verification_note,
            },
            actors: Vec::new(),
            concessions: Vec::new(),
            cases: Vec::new(),
            attachments: Vec::new(),
            warnings: Vec::new(),
        })
    }
}

/// Inserts a new incident (version 1). `district` (from the loaded
/// boundaries) codes it when its client gave no place. The operation that
/// calls this follows with the incident's consequences and its audit record.
pub fn insert(
    conn: &mut DbConn,
    created_by: &str,
    fields: &EventFields,
    district: Option<&DistrictRef>,
) -> Result<Event, AppError> {
    insert_from(conn, created_by, fields, district, None)
}

/// [`insert`], with the id the incident has in the file it is imported
/// from (its import identity, unique: see [`find_imported`]).
pub fn insert_from(
    conn: &mut DbConn,
    created_by: &str,
    fields: &EventFields,
    district: Option<&DistrictRef>,
    source_id: Option<&str>,
) -> Result<Event, AppError> {
    let now = db::now();
    let meta = Meta {
        id: Uuid::new_v4().to_string(),
        version: 1,
        created_at: now,
        updated_at: now,
        created_by: created_by.to_string(),
        publication: Publication::Internal,
    };
    let row = EventRow::new(meta, fields, district)?;
    diesel::insert_into(events::table)
        .values((&row, events::source_id.eq(source_id)))
        .execute(conn)?;
    row.into_event()
}

/// Writes many new incidents in large statements, each row (and so every
/// derived column, and through the triggers every text and box index) as
/// `insert_from` writes it, for the benchmarks' loader. It does nothing
/// else: no concession matches, alerts or audit records, which is why it is
/// not an operation; a data set loaded this way is not something anyone
/// logged.
pub fn insert_many(
    conn: &mut DbConn,
    created_by: &str,
    all: &[(EventFields, Option<DistrictRef>)],
) -> Result<usize, AppError> {
    let now = db::now();
    let rows = all
        .iter()
        .map(|(fields, district)| {
            let meta = Meta {
                id: Uuid::new_v4().to_string(),
                version: 1,
                created_at: now,
                updated_at: now,
                created_by: created_by.to_string(),
                publication: Publication::Internal,
            };
            EventRow::new(meta, fields, district.as_ref())
        })
        .collect::<Result<Vec<_>, _>>()?;
    // About 30 values a row: 500 rows stay under SQLite's 32,766 parameters.
    for chunk in rows.chunks(500) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(events::table)
                .values(chunk)
                .execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(events::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(rows.len())
}

/// The incidents a file's ids name, by those ids: an id is an incident's
/// own id or the `source_id` it was imported with. Each found incident
/// comes with whether it is deleted.
pub fn find_imported(
    conn: &mut DbConn,
    keys: &[String],
) -> Result<std::collections::HashMap<String, (String, bool)>, AppError> {
    let mut found = std::collections::HashMap::new();
    for chunk in keys.chunks(1000) {
        let rows: Vec<(String, Option<String>, Option<NaiveDateTime>)> = events::table
            .filter(events::id.eq_any(chunk).or(events::source_id.eq_any(chunk)))
            .select((events::id, events::source_id, events::deleted_at))
            .load(conn)?;
        for (id, source_id, deleted_at) in rows {
            let value = (id.clone(), deleted_at.is_some());
            if let Some(source_id) = source_id {
                found.entry(source_id).or_insert_with(|| value.clone());
            }
            // An incident's own id wins over another's source id.
            found.insert(id, value);
        }
    }
    Ok(found)
}

#[derive(Clone, Copy, PartialEq)]
pub enum Visibility {
    Live,
    Deleted,
    Any,
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no event with id {id}"))
}

fn load_row(conn: &mut DbConn, id: &str, visibility: Visibility) -> Result<EventRow, AppError> {
    let mut query = events::table
        .find(id)
        .select(EventRow::as_select())
        .into_boxed();
    query = match visibility {
        Visibility::Live => query.filter(events::deleted_at.is_null()),
        Visibility::Deleted => query.filter(events::deleted_at.is_not_null()),
        Visibility::Any => query,
    };
    query
        .first::<EventRow>(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// Reads one incident, without what other modules add to it
/// (`ops::events::load` embeds those); deleted ones only when asked for.
pub fn load(conn: &mut DbConn, id: &str, visibility: Visibility) -> Result<Event, AppError> {
    load_row(conn, id, visibility)?.into_event()
}

/// The review queue: live unverified incidents, the longest waiting first
/// (by when they were logged), and how many wait in all.
pub fn review_queue(conn: &mut DbConn, limit: i64) -> Result<(Vec<String>, i64), AppError> {
    let waiting = || {
        events::table
            .filter(events::verification.eq(Verification::Unverified))
            .filter(events::deleted_at.is_null())
    };
    let total = waiting().count().get_result(conn)?;
    let ids = waiting()
        .order((events::created_at.asc(), events::id.asc()))
        .limit(limit)
        .select(events::id)
        .load(conn)?;
    Ok((ids, total))
}

/// Live incidents by id, in the order of `ids`, in one query (without what
/// other modules add to them).
pub fn load_many(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Event>, AppError> {
    let mut by_id: std::collections::HashMap<String, EventRow> = events::table
        .filter(events::id.eq_any(ids))
        .filter(events::deleted_at.is_null())
        .select(EventRow::as_select())
        .load::<EventRow>(conn)?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    let found = ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(EventRow::into_event)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(found)
}

/// Serialises concurrent writers of one row. SQLite needs nothing: its write
/// transactions are already exclusive (`BEGIN IMMEDIATE`).
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        events::table
            .find(id)
            .select(events::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

/// Replaces the fields of `before` (read under `lock`) with `fields`:
/// version +1. `district` codes it when its client gave no place.
pub fn rewrite(
    conn: &mut DbConn,
    before: &Event,
    fields: &EventFields,
    district: Option<&DistrictRef>,
) -> Result<Event, AppError> {
    let id = before.id.to_string();
    let row = EventRow::new(
        Meta {
            id: id.clone(),
            version: before.version + 1,
            created_at: before.created_at.naive_utc(),
            updated_at: db::now(),
            created_by: before.created_by.clone(),
            publication: before.publication,
        },
        fields,
        district,
    )?;
    diesel::update(events::table.find(&id))
        .set(&row)
        .execute(conn)?;
    row.into_event()
}

/// Codes again, with `district_at` (the current district layer), every live
/// incident whose place did not come from its client. Call inside the
/// transaction that replaced the layer. Returns how many changed.
pub fn recode_admin(
    conn: &mut DbConn,
    who: &Actor,
    district_at: impl Fn(f64, f64) -> Option<DistrictRef>,
) -> Result<usize, AppError> {
    let rows: Vec<EventRow> = events::table
        .filter(events::deleted_at.is_null())
        .filter(
            events::admin_source
                .is_null()
                .or(events::admin_source.eq(AdminSource::Boundaries)),
        )
        .select(EventRow::as_select())
        .load(conn)?;
    let mut changed = 0;
    for row in rows {
        let district = district_at(row.lon, row.lat);
        if district.as_ref().map(|d| &d.ubigeo) == row.ubigeo.as_ref() {
            continue;
        }
        let before = row.clone().into_event()?;
        let mut fields = before.fields.clone();
        fields.admin = None;
        let meta = Meta {
            id: row.id.clone(),
            version: row.version + 1,
            created_at: row.created_at,
            updated_at: db::now(),
            created_by: row.created_by.clone(),
            publication: row.publication,
        };
        let new_row = EventRow::new(meta, &fields, district.as_ref())?;
        diesel::update(events::table.find(&row.id))
            .set(&new_row)
            .execute(conn)?;
        let after = new_row.into_event()?;
        audit::record(
            conn,
            who,
            Action::Update,
            ENTITY,
            &row.id,
            Some(&before),
            Some(&after),
        )?;
        changed += 1;
    }
    Ok(changed)
}

/// Soft-deletes `before` (read under `lock`): it leaves reads and lists, its
/// row and history stay.
pub fn mark_deleted(conn: &mut DbConn, before: &Event) -> Result<(), AppError> {
    let now = db::now();
    diesel::update(events::table.find(before.id.to_string()))
        .set((
            events::deleted_at.eq(Some(now)),
            events::updated_at.eq(now),
            events::version.eq(before.version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets `before`'s (read under `lock`) publication: version +1, and
/// `published_at` now when it becomes published (kept when withdrawn).
pub fn set_publication(
    conn: &mut DbConn,
    before: &Event,
    state: Publication,
) -> Result<Event, AppError> {
    use crate::schema::event_publications;
    let now = db::now();
    let id = before.id.to_string();
    diesel::update(events::table.find(&id))
        .set((
            events::publication.eq(state),
            events::updated_at.eq(now),
            events::version.eq(before.version + 1),
        ))
        .execute(conn)?;
    if state == Publication::Published {
        // Delete then insert: an upsert both backends write alike.
        diesel::delete(event_publications::table.find(&id)).execute(conn)?;
        diesel::insert_into(event_publications::table)
            .values((
                event_publications::event_id.eq(&id),
                event_publications::published_at.eq(now),
            ))
            .execute(conn)?;
    }
    load(conn, &id, Visibility::Live)
}

/// When each of these incidents was (last) published, by id (only those
/// published once).
pub fn published_at(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<std::collections::HashMap<String, NaiveDateTime>, AppError> {
    use crate::schema::event_publications;
    let mut found = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, NaiveDateTime)> = event_publications::table
            .filter(event_publications::event_id.eq_any(chunk))
            .select((
                event_publications::event_id,
                event_publications::published_at,
            ))
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Which of `ids` were ever published (withdrawn or deleted since, or
/// not): their `event_publications` row stays when they are withdrawn.
pub fn ever_published(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, AppError> {
    Ok(published_at(conn, ids)?.into_keys().collect())
}

/// Brings a deleted incident back (409 if it is not deleted); returns it.
pub fn mark_restored(conn: &mut DbConn, id: &str) -> Result<Event, AppError> {
    let row = load_row(conn, id, Visibility::Any)?;
    if row.deleted_at.is_some() {
        diesel::update(events::table.find(id))
            .set((
                events::deleted_at.eq(None::<NaiveDateTime>),
                events::updated_at.eq(db::now()),
                events::version.eq(row.version + 1),
            ))
            .execute(conn)?;
    } else {
        return Err(AppError::Conflict(format!("event {id} is not deleted")));
    }
    load(conn, id, Visibility::Live)
}

/// The list filters, already checked.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub event_types: Vec<EventType>,
    pub verification: Option<Verification>,
    /// Only incidents in this publication state (the public routes always
    /// set `published`).
    pub publication: Option<Publication>,
    pub region: Option<String>,
    pub province: Option<String>,
    pub district: Option<String>,
    pub ubigeo_prefix: Option<String>,
    /// Only incidents with no ubigeo: placed in no district and given none.
    pub without_ubigeo: bool,
    /// min lon, min lat, max lon, max lat
    pub bbox: Option<[f64; 4]>,
    /// Folded words that must all occur in title, description or place.
    pub words: Vec<String>,
    /// Only incidents linked to this actor.
    pub actor: Option<String>,
    /// Only incidents inside this concession.
    pub concession: Option<ConcessionKey>,
    /// Only incidents linked to this case.
    pub case: Option<String>,
    /// Sort key of the last item already served.
    pub after: Option<(NaiveDate, String)>,
    pub limit: i64,
}

/// How a list names a concession: by id, or by INGEMMET code as people do.
#[derive(Debug, Clone)]
pub enum ConcessionKey {
    Id(String),
    Code(String),
}

/// One condition of a list filter, on `events`; every condition is written
/// nullable so that filters on nullable columns and on others box alike.
type Predicate = Box<dyn BoxableExpression<events::table, Backend, SqlType = Nullable<Bool>>>;
type Backend = <DbConn as diesel::Connection>::Backend;

/// The SQL a backend's own search structures need: SQLite has an FTS5 table
/// and an R*Tree beside `events` (migration `list_indexes`), PostgreSQL a
/// GIN index on the text and a GiST index on the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Pg,
}

impl Dialect {
    fn of(conn: &DbConn) -> Self {
        match conn {
            DbConn::Sqlite(_) => Dialect::Sqlite,
            DbConn::Pg(_) => Dialect::Pg,
        }
    }
}

/// How rows matching the words or the box are reached. `Index`: through the
/// text or spatial index, then sorted (right when they are few). `Order`:
/// along the date order, testing each row, so that the first page is found
/// after a few rows (right when they are many: sorting 500,000 hits found
/// through the index took 0.55 s at 1,000,000 incidents, walking the order
/// index under 1 ms). `Plain`: the exact conditions only, the planner
/// choosing (the map, which reads every row of its view anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Index,
    Order,
    Plain,
}

/// How one query reaches the rows of a filter's words and box.
#[derive(Debug, Clone)]
struct Plan {
    dialect: Dialect,
    words: Words,
    bbox: Access,
}

/// How the rows of a filter's words are reached.
#[derive(Debug, Clone)]
enum Words {
    /// The filter has no words.
    None,
    /// Fewer than `FEW_HITS` incidents have them: the text index's probe
    /// found these (SQLite rowids or PostgreSQL ids), and the query reads
    /// them by key. Evaluating the text index once more in the query cost
    /// as much as the probe: three common words in no row together, 70 ms
    /// a time through GIN's prefix matches at 1,000,000 incidents.
    Found(Hits),
    /// Many have them: tested row by row along the date order.
    Walk,
    /// Counting only ([`total`]): the text index's query (FTS5's or a
    /// `tsquery`), evaluated in the query itself, which then reads the
    /// hits in no order. `leads`: on SQLite the query starts from the text
    /// index's hits; otherwise from the other conditions' index, testing
    /// each row against the hits (PostgreSQL's planner chooses itself).
    Matched { query: String, leads: bool },
}

#[derive(Debug, Clone)]
enum Hits {
    Rowids(Vec<i64>),
    Ids(Vec<String>),
}

impl Hits {
    fn len(&self) -> usize {
        match self {
            Hits::Rowids(rowids) => rowids.len(),
            Hits::Ids(ids) => ids.len(),
        }
    }
}

impl Plan {
    /// Whether the text index found no incident with the words: then no
    /// query needs to run (the list's would read nothing, but SQLite's
    /// plan for an always-false condition still names a scan).
    fn finds_nothing(&self) -> bool {
        matches!(&self.words, Words::Found(hits) if hits.len() == 0)
    }
}

/// Below this many index hits a search is read through its index and
/// sorted; at or above it, along the date order. At the crossover either
/// way reads a few thousand rows.
const FEW_HITS: i64 = 5_000;

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A typed word as the text index is asked for it: the exact words of the
/// index that it begins, or the prefix itself when it begins more than
/// `MAX_EXPANSION` of them (a word of one or two letters) or none (the
/// index, whose tokenizer has the last word, then finds none quickly).
/// `Nowhere`: a word of ASCII letters and digits that begins no word of
/// PostgreSQL's lexicon, which holds every word ever indexed: no incident
/// has it, and the search ends without asking the index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Exact(Vec<String>),
    Prefix(String),
    Nowhere(String),
}

/// Whether PostgreSQL's parser reads `typed` as one word, as it is: ASCII
/// letters and digits (what `text::fold` leaves of them), shorter than the
/// longest word it indexes (2,047 bytes; longer ones it leaves out).
/// Other letters depend on the server's locale, so only the index can say
/// whether such a word is found.
fn one_indexed_word(typed: &str) -> bool {
    typed.len() < 2048 && typed.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The most exact words one typed word stands for. Each is one posting
/// list to read; beyond this many, one prefix match costs less.
const MAX_EXPANSION: usize = 64;

/// Each typed word as the words of PostgreSQL's text index it begins
/// (`apurim`: `apurimac`), from the lexicon a trigger keeps
/// (`search_lexicon`). GIN combines exact words while reading them,
/// skipping what cannot match, but reads a prefix's every posting list
/// first: three common words in no incident together took 70 ms at
/// 1,000,000 incidents as prefixes, 9 ms as their words. SQLite keeps
/// prefixes: FTS5 had no cheap list of its words (fts5vocab reads each
/// word's entries to count them), and with them the same three words took
/// 69 ms, against 36 as prefixes read twice.
fn expand_words(conn: &mut DbConn, words: &[String]) -> Result<Vec<Term>, AppError> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Word {
        #[diesel(sql_type = BigInt)]
        typed: i64,
        #[diesel(sql_type = Text)]
        word: String,
    }
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // One round trip for every typed word: the words of the lexicon from
    // each typed word on, in order, one more than an expansion holds.
    let each = (0..words.len())
        .map(|i| {
            format!(
                "(SELECT {i}::bigint AS typed, word FROM (SELECT DISTINCT word \
                 FROM search_lexicon WHERE word >= ${} COLLATE \"C\" ORDER BY word \
                 LIMIT {}) w{i})",
                i + 1,
                MAX_EXPANSION + 1
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut query = diesel::sql_query(each).into_boxed::<Backend>();
    for typed in words {
        query = query.bind::<Text, _>(typed.clone());
    }
    let mut found: Vec<Vec<String>> = vec![Vec::new(); words.len()];
    for Word { typed, word } in query.load::<Word>(conn)? {
        let typed = typed as usize;
        if word.starts_with(words[typed].as_str()) {
            found[typed].push(word);
        }
    }
    Ok(words
        .iter()
        .zip(found)
        .map(|(typed, found)| match found.len() {
            0 if one_indexed_word(typed) => Term::Nowhere(typed.clone()),
            1..=MAX_EXPANSION => Term::Exact(found),
            _ => Term::Prefix(typed.clone()),
        })
        .collect())
}

/// How one text index writes a query of terms: a quoted word (quoting what
/// the syntax would read, so that nothing typed is an operator), a prefix
/// mark after it, and the words for "or" and "and".
struct TextSyntax {
    quote: fn(&str) -> String,
    prefix: &'static str,
    or: &'static str,
    and: &'static str,
}

impl TextSyntax {
    /// All terms required; an exact term any of its words.
    fn query(&self, terms: &[Term]) -> String {
        terms
            .iter()
            .map(|term| match term {
                Term::Exact(words) => {
                    let words: Vec<String> = words.iter().map(|w| (self.quote)(w)).collect();
                    format!("({})", words.join(self.or))
                }
                Term::Prefix(prefix) | Term::Nowhere(prefix) => {
                    format!("{}{}", (self.quote)(prefix), self.prefix)
                }
            })
            .collect::<Vec<_>>()
            .join(self.and)
    }
}

/// FTS5's: quotes, `*`, `NEAR`, `AND`, parentheses typed by a user are
/// plain text inside a quoted string.
const FTS5: TextSyntax = TextSyntax {
    quote: |w| format!("\"{}\"", w.replace('"', "\"\"")),
    prefix: "*",
    or: " OR ",
    and: " AND ",
};

/// PostgreSQL's `tsquery`: a quoted lexeme, quotes and backslashes escaped.
const TSQUERY: TextSyntax = TextSyntax {
    quote: |w| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''")),
    prefix: ":*",
    or: " | ",
    and: " & ",
};

/// PostgreSQL's text match, open for the `tsquery`'s text: the expression
/// of the GIN index `events_search`.
const PG_MATCH: &str = "to_tsvector('simple', search_text) @@ to_tsquery('simple', ";

/// The text index's hits (SQLite's FTS5 rowids); the SQL ends open for the
/// query.
const FTS_HITS: &str = "SELECT rowid FROM events_fts WHERE events_fts MATCH ";

/// The text index's query for the typed words, all required, each matching
/// the words it begins: FTS5 prefixes (SQLite), the exact words the lexicon
/// holds for each (PostgreSQL; see [`expand_words`]).
fn text_query(conn: &mut DbConn, words: &[String]) -> Result<String, AppError> {
    Ok(match Dialect::of(conn) {
        Dialect::Sqlite => FTS5.query(&words.iter().cloned().map(Term::Prefix).collect::<Vec<_>>()),
        Dialect::Pg => TSQUERY.query(&expand_words(conn, words)?),
    })
}

/// The box's candidates from the R*Tree (SQLite); the SQL ends open for the
/// four bounds `min_lon <= ? AND max_lon >= ? AND min_lat <= ? AND max_lat >= ?`.
const RTREE_CANDIDATES: &str = "SELECT id FROM events_rtree WHERE min_lon <= ";

/// The incidents whose point may lie in the box `[min lon, min lat, max
/// lon, max lat]`, through the spatial index: the R*Tree's candidates
/// (SQLite; 32-bit bounds rounded outwards, so a superset) or the GiST
/// index on `point(lon, lat)` (PostgreSQL). Callers cut to the box with
/// `lon`/`lat` comparisons.
fn in_box_index(dialect: Dialect, [min_lon, min_lat, max_lon, max_lat]: [f64; 4]) -> Predicate {
    use diesel::dsl::sql;
    use diesel::sql_types::Double;
    match dialect {
        Dialect::Sqlite => Box::new(
            sql::<Nullable<Bool>>(&format!("events.rowid IN ({RTREE_CANDIDATES}"))
                .bind::<Double, _>(max_lon)
                .sql(" AND max_lon >= ")
                .bind::<Double, _>(min_lon)
                .sql(" AND min_lat <= ")
                .bind::<Double, _>(max_lat)
                .sql(" AND max_lat >= ")
                .bind::<Double, _>(min_lat)
                .sql(")"),
        ),
        Dialect::Pg => Box::new(
            sql::<Nullable<Bool>>("point(events.lon, events.lat) <@ box(point(")
                .bind::<Double, _>(min_lon)
                .sql(", ")
                .bind::<Double, _>(min_lat)
                .sql("), point(")
                .bind::<Double, _>(max_lon)
                .sql(", ")
                .bind::<Double, _>(max_lat)
                .sql("))"),
        ),
    }
}

/// [`live_points_in_box`] over several boxes, each incident once.
pub fn live_points_in_boxes(
    conn: &mut DbConn,
    boxes: &[[f64; 4]],
) -> Result<Vec<(String, f64, f64)>, AppError> {
    let mut seen = std::collections::HashSet::new();
    let mut located = Vec::new();
    for bbox in boxes {
        for found in live_points_in_box(conn, *bbox)? {
            if seen.insert(found.0.clone()) {
                located.push(found);
            }
        }
    }
    Ok(located)
}

/// The live incidents (id, lon, lat) whose point lies in the box `[min
/// lon, min lat, max lon, max lat]` (its edge included), through the
/// R*Tree (SQLite) or the GiST index `events_point` (PostgreSQL):
/// what a concession's change may concern.
#[tracing::instrument(level = "debug", skip_all)]
pub fn live_points_in_box(
    conn: &mut DbConn,
    [min_lon, min_lat, max_lon, max_lat]: [f64; 4],
) -> Result<Vec<(String, f64, f64)>, AppError> {
    let inside = in_box_index(Dialect::of(conn), [min_lon, min_lat, max_lon, max_lat]);
    Ok(events::table
        .filter(events::deleted_at.is_null())
        .filter(inside)
        .filter(events::lon.between(min_lon, max_lon))
        .filter(events::lat.between(min_lat, max_lat))
        .select((events::id, events::lon, events::lat))
        .load(conn)?)
}

/// How a query reaches the rows of the filter's words and box: by how many
/// incidents (deleted ones too) each finds in its index, counted up to
/// `FEW_HITS`.
fn plan(conn: &mut DbConn, f: &EventFilter) -> Result<Plan, AppError> {
    Ok(Plan {
        dialect: Dialect::of(conn),
        words: words_access(conn, f)?,
        bbox: bbox_access(conn, f)?,
    })
}

fn few(hits: i64) -> Access {
    if hits < FEW_HITS {
        Access::Index
    } else {
        Access::Order
    }
}

/// The probe of the text index: up to `FEW_HITS` incidents with the
/// words (deleted ones too on SQLite, whose FTS table holds every row).
fn words_access(conn: &mut DbConn, f: &EventFilter) -> Result<Words, AppError> {
    use diesel::sql_types::Text;
    if f.words.is_empty() {
        return Ok(Words::None);
    }
    let hits = match Dialect::of(conn) {
        Dialect::Sqlite => {
            let probe = |conn: &mut DbConn, query: String| -> Result<Vec<i64>, AppError> {
                Ok(diesel::sql_query(format!(
                    "SELECT rowid AS n FROM ({FTS_HITS}? LIMIT {FEW_HITS})"
                ))
                .bind::<Text, _>(query)
                .load::<Counted>(conn)?
                .into_iter()
                .map(|hit| hit.n)
                .collect())
            };
            // FTS5 merges the entries of every word a prefix begins before
            // reading any (a word in nearly every incident: 40 ms at
            // 1,000,000), but reads an exact word's entries as it goes.
            // The typed words as exact words find some of the prefixes'
            // hits: when those alone are many, the prefixes' are too.
            let exact: Vec<Term> = f
                .words
                .iter()
                .map(|w| Term::Exact(vec![w.clone()]))
                .collect();
            if probe(conn, FTS5.query(&exact))?.len() as i64 >= FEW_HITS {
                return Ok(Words::Walk);
            }
            let query = text_query(conn, &f.words)?;
            Hits::Rowids(probe(conn, query)?)
        }
        // Reading a common word's hits through GIN builds its whole
        // bitmap (0.5 s for a word in every row at 1,000,000 incidents),
        // and PostgreSQL's estimate of a prefix query is a guess: a sample
        // says first whether walking the date order finds a page soon.
        // The lexicon first: a word no incident has ends the search in one
        // round trip (three before: 0.7 ms at 1,000,000 incidents, against
        // GIN's own 0.2 ms for the same word).
        Dialect::Pg => {
            let terms = expand_words(conn, &f.words)?;
            if terms.iter().any(|term| matches!(term, Term::Nowhere(_))) {
                return Ok(Words::Found(Hits::Ids(Vec::new())));
            }
            if pg_sample_is_many(conn, || walked_words(&f.words))? {
                return Ok(Words::Walk);
            }
            let query = TSQUERY.query(&terms);
            Hits::Ids(
                diesel::sql_query(format!(
                    "SELECT id FROM events WHERE deleted_at IS NULL AND {PG_MATCH}$1) \
                     LIMIT {FEW_HITS}"
                ))
                .bind::<Text, _>(query)
                .load::<FoundId>(conn)?
                .into_iter()
                .map(|hit| hit.id)
                .collect(),
            )
        }
    };
    Ok(match few(hits.len() as i64) {
        Access::Index => Words::Found(hits),
        _ => Words::Walk,
    })
}

#[derive(QueryableByName)]
struct FoundId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// How many of the newest live incidents [`pg_sample_is_many`] reads at
/// most, and [`sample_share`] always.
const SAMPLE: i64 = 2_000;

/// How many of the newest live incidents [`pg_sample_is_many`] reads first.
const FIRST_SAMPLE: i64 = 200;

/// Whether at least 2 % of the newest `SAMPLE` live incidents meet
/// `condition`: then walking the date order finds a page of 50 within a
/// few thousand rows (a few ms), and counting the hits in the text or
/// spatial index first would cost more than the page (a whole-Peru box
/// counted through GiST: 120 ms; a word in every row through GIN: 0.5 s).
///
/// The newest `FIRST_SAMPLE` decide alone when they are clear: 2 % of them
/// or more (many), or none (few: a share of 2 % leaves all 200 without a
/// hit once in 57). Reading 2,000 rows cost 3–4 ms at 1,000,000 incidents,
/// ten times GIN's answer for three words found together nowhere (the
/// issue's anchor, 0.2–0.4 ms); 200 cost 0.4–0.6 ms. A wrong "few" costs
/// one probe that stops at `FEW_HITS`, then the walk.
fn pg_sample_is_many(
    conn: &mut DbConn,
    condition: impl Fn() -> Predicate,
) -> Result<bool, AppError> {
    let hits_in = |conn: &mut DbConn, rows: i64| -> Result<i64, AppError> {
        let newest: Vec<Option<bool>> = events::table
            .filter(events::deleted_at.is_null())
            .order((events::occurred_on.desc(), events::id.asc()))
            .limit(rows)
            .select(condition())
            .load(conn)?;
        Ok(newest.into_iter().filter(|hit| *hit == Some(true)).count() as i64)
    };
    let first = hits_in(conn, FIRST_SAMPLE)?;
    if first == 0 || first * 50 >= FIRST_SAMPLE {
        return Ok(first > 0);
    }
    Ok(hits_in(conn, SAMPLE)? * 50 >= SAMPLE)
}

/// The words as tested row by row, along the date order: each word begins
/// a word of the folded text (words there are single spaces apart).
///
/// Each word's test is inside a `CASE` so that PostgreSQL does not
/// estimate it: it guessed a few rows for `LIKE '% derrame%' AND LIKE '%
/// relaves%'` (true of 8 %), and so gathered and sorted every hit (4.3 s at
/// 1,000,000 incidents) rather than walk the date order for the first 50
/// (15 ms). An opaque condition is taken to hold for half the rows, which
/// makes walking the order the cheaper plan, as it is when the hits are
/// many. SQLite walks the order either way.
fn walked_words(words: &[String]) -> Predicate {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let each = words.iter().map(|word| -> Predicate {
        Box::new(
            sql::<Nullable<Bool>>("CASE WHEN (' ' || events.search_text) LIKE ")
                .bind::<Text, _>(text::word_start_pattern(word))
                .sql(" ESCAPE '\\' THEN TRUE ELSE FALSE END"),
        )
    });
    each.reduce(|all, one| Box::new(all.and(one)))
        .unwrap_or_else(|| Box::new(sql::<Nullable<Bool>>("TRUE")))
}

/// The box as tested row by row, along the date order; in a `CASE` for the
/// reason [`walked_words`] gives (PostgreSQL guessed a whole-Peru box at 25
/// rows). The `+` keeps SQLite from reading the box through the position
/// index and sorting it.
fn walked_box([min_lon, min_lat, max_lon, max_lat]: [f64; 4]) -> Predicate {
    use diesel::dsl::sql;
    use diesel::sql_types::Double;
    Box::new(
        sql::<Nullable<Bool>>("CASE WHEN +events.lon BETWEEN ")
            .bind::<Double, _>(min_lon)
            .sql(" AND ")
            .bind::<Double, _>(max_lon)
            .sql(" AND +events.lat BETWEEN ")
            .bind::<Double, _>(min_lat)
            .sql(" AND ")
            .bind::<Double, _>(max_lat)
            .sql(" THEN TRUE ELSE FALSE END"),
    )
}

fn bbox_access(conn: &mut DbConn, f: &EventFilter) -> Result<Access, AppError> {
    use diesel::sql_types::Double;
    let Some([min_lon, min_lat, max_lon, max_lat]) = f.bbox else {
        return Ok(Access::Plain);
    };
    if Dialect::of(conn) == Dialect::Pg
        && pg_sample_is_many(conn, || walked_box([min_lon, min_lat, max_lon, max_lat]))?
    {
        return Ok(Access::Order);
    }
    // PostgreSQL estimates `<@ box` at a fixed fraction: without this count
    // it would read a whole country's box through GiST and sort it.
    let probe = match Dialect::of(conn) {
        Dialect::Sqlite => format!(
            "SELECT count(*) AS n FROM ({RTREE_CANDIDATES}? AND max_lon >= ? \
             AND min_lat <= ? AND max_lat >= ? LIMIT {FEW_HITS})"
        ),
        Dialect::Pg => format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE deleted_at IS NULL \
             AND point(lon, lat) <@ box(point($2, $4), point($1, $3)) LIMIT {FEW_HITS}) s"
        ),
    };
    Ok(few(diesel::sql_query(probe)
        .bind::<Double, _>(max_lon)
        .bind::<Double, _>(min_lon)
        .bind::<Double, _>(max_lat)
        .bind::<Double, _>(min_lat)
        .get_result::<Counted>(conn)?
        .n))
}

/// The conditions of a filter (all but the pager's `after` and `limit`), as
/// one list: the list, the exports and the map's clusters apply the same
/// ones, so a filter means the same everywhere. Deleted incidents are never
/// among the results: the first condition says so. `plan` says how the
/// words and the box are reached; they select the same rows either way.
fn conditions(f: &EventFilter, plan: &Plan) -> Vec<Predicate> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let mut found: Vec<Predicate> = vec![Box::new(events::deleted_at.is_null().nullable())];
    if let Some(from) = f.from {
        found.push(Box::new(events::occurred_on.ge(from).nullable()));
    }
    if let Some(to) = f.to {
        found.push(Box::new(events::occurred_on.le(to).nullable()));
    }
    if !f.event_types.is_empty() {
        found.push(Box::new(
            events::event_type.eq_any(f.event_types.clone()).nullable(),
        ));
    }
    if let Some(v) = f.verification {
        found.push(Box::new(events::verification.eq(v).nullable()));
    }
    if let Some(p) = f.publication {
        found.push(Box::new(events::publication.eq(p).nullable()));
    }
    if let Some(region) = &f.region {
        found.push(Box::new(events::region_key.eq(text::fold(region))));
    }
    if let Some(province) = &f.province {
        found.push(Box::new(events::province_key.eq(text::fold(province))));
    }
    if let Some(district) = &f.district {
        found.push(Box::new(events::district_key.eq(text::fold(district))));
    }
    if f.without_ubigeo {
        found.push(Box::new(events::ubigeo.is_null().nullable()));
    }
    if let Some(prefix) = &f.ubigeo_prefix {
        // Checked to be digits by the caller, as every stored ubigeo is, so
        // each form below means "begins with `prefix`". One form per
        // length, the one an index ending in the list's order serves: with
        // a range beside it, PostgreSQL read the whole region's range and
        // sorted it (ubigeo=03: 177 ms at 1,000,000 incidents).
        match prefix.len() {
            // A region's and a province's: equality on the expressions
            // indexed for them (events_live_ubigeo_region, _province).
            2 | 4 => found.push(Box::new(
                sql::<Nullable<Text>>(&format!("substr(events.ubigeo, 1, {})", prefix.len()))
                    .eq(prefix.clone()),
            )),
            // A district's: equality on the column.
            6 => found.push(Box::new(events::ubigeo.eq(prefix.clone()))),
            // Other lengths: a range the ubigeo index reads (no LIKE
            // wildcard can slip in: digits only).
            _ => {
                let last = format!(
                    "{prefix}{}",
                    "9".repeat(6usize.saturating_sub(prefix.len()))
                );
                found.push(Box::new(
                    events::ubigeo
                        .ge(prefix.clone())
                        .and(events::ubigeo.le(last)),
                ));
                found.push(Box::new(events::ubigeo.like(format!("{prefix}%"))));
            }
        }
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = f.bbox {
        if plan.bbox == Access::Order {
            found.push(walked_box([min_lon, min_lat, max_lon, max_lat]));
        } else {
            found.push(Box::new(events::lon.between(min_lon, max_lon).nullable()));
            found.push(Box::new(events::lat.between(min_lat, max_lat).nullable()));
        }
        if plan.bbox == Access::Index {
            found.push(in_box_index(
                plan.dialect,
                [min_lon, min_lat, max_lon, max_lat],
            ));
        }
    }
    match &plan.words {
        Words::None => {}
        Words::Found(hits) => {
            // Read by key: PostgreSQL plans around the ids it is given (a
            // join with the text index would trust its own guess of the
            // hits instead, see `words_access`). The words are tested
            // again on those rows: one may have been edited since the probe.
            found.push(match hits {
                Hits::Rowids(rowids) => Box::new(
                    sql::<diesel::sql_types::BigInt>("events.rowid")
                        .eq_any(rowids.clone())
                        .nullable(),
                ),
                Hits::Ids(ids) => Box::new(events::id.eq_any(ids.clone()).nullable()),
            });
            found.push(walked_words(&f.words));
        }
        Words::Walk => found.push(walked_words(&f.words)),
        Words::Matched { query, leads } => {
            // `+` keeps SQLite from reading the rows by the hits' rowids.
            let rowid = if *leads {
                "events.rowid"
            } else {
                "+events.rowid"
            };
            found.push(match plan.dialect {
                Dialect::Sqlite => Box::new(
                    sql::<Nullable<Bool>>(&format!("{rowid} IN ({FTS_HITS}"))
                        .bind::<Text, _>(query.clone())
                        .sql(")"),
                ),
                Dialect::Pg => Box::new(
                    sql::<Nullable<Bool>>(PG_MATCH)
                        .bind::<Text, _>(query.clone())
                        .sql(")"),
                ),
            });
            found.push(walked_words(&f.words));
        }
    }
    if let Some(actor) = &f.actor {
        let linked = event_actors::table
            .filter(event_actors::actor_id.eq(actor.clone()))
            .select(event_actors::event_id);
        found.push(Box::new(events::id.eq_any(linked).nullable()));
    }
    match &f.concession {
        Some(ConcessionKey::Id(id)) => {
            let inside = event_concessions::table
                .filter(event_concessions::concession_id.eq(id.clone()))
                .select(event_concessions::event_id);
            found.push(Box::new(events::id.eq_any(inside).nullable()));
        }
        Some(ConcessionKey::Code(code)) => {
            use crate::schema::concessions;
            let named = concessions::table
                .filter(concessions::code.eq(code.clone()))
                .filter(concessions::deleted_at.is_null())
                .select(concessions::id);
            let inside = event_concessions::table
                .filter(event_concessions::concession_id.eq_any(named))
                .select(event_concessions::event_id);
            found.push(Box::new(events::id.eq_any(inside).nullable()));
        }
        None => {}
    }
    if let Some(case) = &f.case {
        let linked = crate::schema::event_cases::table
            .filter(crate::schema::event_cases::case_id.eq(case.clone()))
            .select(crate::schema::event_cases::event_id);
        found.push(Box::new(events::id.eq_any(linked).nullable()));
    }
    found
}

/// The list's query for `f` under `plan`: its rows in list order, from the
/// cursor on, `limit + 1` of them.
fn list_query<'a>(
    f: &EventFilter,
    plan: &Plan,
) -> events::BoxedQuery<'a, Backend, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EventRow, Backend>>>
{
    let mut query = events::table.select(EventRow::as_select()).into_boxed();
    for condition in conditions(f, plan) {
        query = query.filter(condition);
    }
    if let Some((date, id)) = &f.after {
        // `occurred_on <= date` is implied by the OR but stated alone: it is
        // what the planners use as the index scan's start. Without it both
        // read the date-order index from its top and filter up to the
        // cursor (356 ms for a page deep in 1,000,000 incidents on
        // PostgreSQL, 0.45 ms with it): every export chunk is such a page.
        query = query.filter(events::occurred_on.le(*date)).filter(
            events::occurred_on
                .lt(*date)
                .or(events::occurred_on.eq(*date).and(events::id.gt(id.clone()))),
        );
    }
    query
        .order((events::occurred_on.desc(), events::id.asc()))
        .limit(f.limit + 1)
}

/// Live incidents, newest first (`occurred_on` desc, then id); up to
/// `limit + 1` of them for the pager.
#[tracing::instrument(level = "debug", skip_all, fields(limit = f.limit))]
pub fn list(conn: &mut DbConn, f: &EventFilter) -> Result<Vec<Event>, AppError> {
    let plan = plan(conn, f)?;
    if plan.finds_nothing() {
        return Ok(Vec::new());
    }
    let page = list_query(f, &plan)
        .load::<EventRow>(conn)?
        .into_iter()
        .map(EventRow::into_event)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page)
}

/// How the database would run the list's query for `f`: SQLite's `EXPLAIN
/// QUERY PLAN` details, or PostgreSQL's `EXPLAIN` lines (the caller sets
/// planner options in its transaction). Tests use it to hold every filter
/// to an index.
pub fn explain_list(conn: &mut DbConn, f: &EventFilter) -> Result<Vec<String>, AppError> {
    let plan = plan(conn, f)?;
    if plan.finds_nothing() {
        return Ok(vec!["no query: no incident has the words".into()]);
    }
    let query = list_query(f, &plan);
    match plan.dialect {
        Dialect::Sqlite => Ok(Explain {
            prefix: "EXPLAIN QUERY PLAN ",
            query,
        }
        .load::<SqlitePlanLine>(conn)?
        .into_iter()
        .map(|l| l.detail)
        .collect()),
        Dialect::Pg => Ok(Explain {
            prefix: "EXPLAIN ",
            query,
        }
        .load::<PgPlanLine>(conn)?
        .into_iter()
        .map(|l| l.line)
        .collect()),
    }
}

/// A query with `EXPLAIN …` before it, its binds kept.
struct Explain<Q> {
    prefix: &'static str,
    query: Q,
}

impl<Q: diesel::query_builder::QueryFragment<Backend>> diesel::query_builder::QueryFragment<Backend>
    for Explain<Q>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Backend>,
    ) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q> diesel::query_builder::QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> diesel::query_builder::Query for Explain<Q> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Q> RunQueryDsl<DbConn> for Explain<Q> {}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// How many live incidents match a list filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    /// `count` is extrapolated, not counted (over `EXACT_TOTAL` matches).
    pub estimate: bool,
}

/// Totals up to this many are counted; above, estimated.
pub const EXACT_TOTAL: i64 = 10_000;

/// The live incidents matching `f` (its cursor and limit aside): counted
/// when there are at most `EXACT_TOTAL`, otherwise estimated (see
/// [`estimate`]). The count reads at most `EXACT_TOTAL + 1` matches, along
/// the list's own plan, or for words or a box found often but not in most
/// incidents through the text index, or for the box the position index, in
/// no order: walking the date order for
/// 10,001 of those reads `EXACT_TOTAL / share` rows, each tested (words in
/// 8 % of incidents: 125,000 rows, 0.4–0.5 s at 1,000,000 on either
/// database), while the index hands over its hits in no order (41–48 ms
/// for the same words). Where the share is a third or more, the
/// walk is the cheaper way (and GIN the dearer: a word in every row builds
/// a bitmap of 1,000,000 entries).
#[tracing::instrument(level = "debug", skip_all)]
pub fn total(conn: &mut DbConn, f: &EventFilter) -> Result<Total, AppError> {
    let f = EventFilter {
        after: None,
        limit: EXACT_TOTAL,
        ..f.clone()
    };
    let plan = plan(conn, &f)?;
    if plan.finds_nothing() {
        return Ok(Total {
            count: 0,
            estimate: false,
        });
    }
    // Words or a box walked along the date order, matching under a third
    // of the sample: counted through their index instead.
    let mut sampled = None;
    let mut counting = plan.clone();
    if matches!(plan.words, Words::Walk) || plan.bbox == Access::Order {
        let share = sample_share(conn, &f, &plan)?;
        if share.hits * 3 < share.read {
            counting = through_indexes(conn, &f, &plan, share)?;
        }
        sampled = Some(share);
    }
    let mut query = events::table
        .select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
        .into_boxed();
    for condition in conditions(&f, &counting) {
        query = query.filter(condition);
    }
    let through_index =
        matches!(counting.words, Words::Matched { .. }) || counting.bbox != plan.bbox;
    if !through_index {
        query = query.order((events::occurred_on.desc(), events::id.asc()));
    }
    let counted = query.limit(EXACT_TOTAL + 1).load::<i32>(conn)?.len() as i64;
    if counted <= EXACT_TOTAL {
        return Ok(Total {
            count: counted,
            estimate: false,
        });
    }
    let share = match sampled {
        Some(share) => share,
        None => sample_share(conn, &f, &plan)?,
    };
    estimate(conn, &f, share, counted)
}

/// `plan` with its walked words and box read through the text and spatial
/// indexes instead, for counting in no order.
fn through_indexes(
    conn: &mut DbConn,
    f: &EventFilter,
    plan: &Plan,
    share: Share,
) -> Result<Plan, AppError> {
    let mut counting = plan.clone();
    // The box as plain ranges on `lon` and `lat`: the position index
    // (`events_live_position`, lon and lat) holds all a count of the box
    // needs, where the spatial index hands over ids to read each row by
    // (2° box at 1,000,000, counting to 10,001: 2 ms against 37 on
    // PostgreSQL's GiST and 75 on SQLite's R*Tree).
    if plan.bbox == Access::Order {
        counting.bbox = Access::Plain;
    }
    if matches!(plan.words, Words::Walk) {
        let query = text_query(conn, &f.words)?;
        // The other conditions find fewer rows than the words when the
        // words' share exceeds theirs (as if independent): words in 8 % of
        // incidents and one region of 25 (SQLite at 1,000,000: 174 ms led
        // by the 80,000 hits, 60 by the region's 56,000 rows).
        let others_fewer = share.hits * share.read < share.word_hits * share.word_hits;
        counting.words = Words::Matched {
            query,
            leads: !others_fewer,
        };
    }
    Ok(counting)
}

/// What the newest `SAMPLE` live incidents in a filter's dates say of it.
#[derive(Debug, Clone, Copy)]
struct Share {
    /// How many were read.
    read: i64,
    /// How many match the whole filter.
    hits: i64,
    /// How many have the words.
    word_hits: i64,
}

/// Reads the newest `SAMPLE` live incidents in the filter's dates, testing
/// each against the whole filter and against its words.
fn sample_share(conn: &mut DbConn, f: &EventFilter, plan: &Plan) -> Result<Share, AppError> {
    let all = conditions(f, plan)
        .into_iter()
        .reduce(|all, one| Box::new(all.and(one)))
        .unwrap_or_else(|| Box::new(diesel::dsl::sql::<Nullable<Bool>>("TRUE")));
    let mut newest = events::table
        .filter(events::deleted_at.is_null())
        .select((all, walked_words(&f.words)))
        .order((events::occurred_on.desc(), events::id.asc()))
        .limit(SAMPLE)
        .into_boxed();
    if let Some(from) = f.from {
        newest = newest.filter(events::occurred_on.ge(from));
    }
    if let Some(to) = f.to {
        newest = newest.filter(events::occurred_on.le(to));
    }
    let sample: Vec<(Option<bool>, Option<bool>)> = newest.load(conn)?;
    let count = |test: fn(&(Option<bool>, Option<bool>)) -> bool| {
        sample.iter().filter(|row| test(row)).count() as i64
    };
    Ok(Share {
        read: sample.len() as i64,
        hits: count(|(all, _)| *all == Some(true)),
        word_hits: count(|(_, words)| *words == Some(true)),
    })
}

/// A total over `EXACT_TOTAL` (`counted` were found before stopping): the
/// sample's share of matches times the live incidents in the filter's
/// dates. Extrapolating the matches' own dates instead misjudged data with
/// a gap in time (a few incidents logged today above a data set whose
/// newest was years old made 1,000,000 incidents look like 250,000).
fn estimate(
    conn: &mut DbConn,
    f: &EventFilter,
    sample: Share,
    counted: i64,
) -> Result<Total, AppError> {
    let live = live_in_dates(conn, f)?;
    let share = sample.hits as f64 / sample.read.max(1) as f64;
    Ok(Total {
        count: ((share * live as f64).round() as i64).max(counted),
        estimate: true,
    })
}

/// The live incidents in the filter's dates. Without dates, PostgreSQL's
/// statistics of the date-order index (kept by autovacuum) say it for
/// free, and on SQLite the highest rowid less the deleted incidents (no
/// code removes an incident's row, so rowids run from 1 without gaps;
/// were one removed, the estimate would only be that much high). With
/// dates, they are counted along the date-order index (about 20–40 ms at
/// 1,000,000).
fn live_in_dates(conn: &mut DbConn, f: &EventFilter) -> Result<i64, AppError> {
    if f.from.is_none() && f.to.is_none() {
        match Dialect::of(conn) {
            Dialect::Pg => {
                let known: Counted = diesel::sql_query(
                    "SELECT COALESCE(max(reltuples), -1)::bigint AS n FROM pg_class \
                     WHERE relname = 'events_live_order'",
                )
                .get_result(conn)?;
                // Never analysed (-1), or analysed when nearly empty: count.
                if known.n > EXACT_TOTAL {
                    return Ok(known.n);
                }
            }
            // The deleted ones through their own index (`events_deleted`).
            Dialect::Sqlite => {
                let known: Counted = diesel::sql_query(
                    "SELECT (SELECT COALESCE(max(rowid), 0) FROM events) - \
                     (SELECT count(*) FROM events WHERE deleted_at IS NOT NULL) AS n",
                )
                .get_result(conn)?;
                return Ok(known.n);
            }
        }
    }
    let mut live = events::table
        .filter(events::deleted_at.is_null())
        .into_boxed();
    if let Some(from) = f.from {
        live = live.filter(events::occurred_on.ge(from));
    }
    if let Some(to) = f.to {
        live = live.filter(events::occurred_on.le(to));
    }
    Ok(live.count().get_result(conn)?)
}

/// At most this many incidents in view are sent one by one to a map; past
/// it, counts per grid cell (a browser draws a few thousand markers
/// smoothly, not a million).
pub const MAP_MARKERS: i64 = 2_000;

/// The most grid cells a map view spans: a 64-pixel cell on a 6,400-pixel
/// square screen. A wider box (any box is allowed at any zoom) is counted
/// on a coarser grid, which bounds the answer.
const MAX_GRID_CELLS: u64 = 10_000;

/// Live incidents in view, for a map: each one when they are few, else
/// counts per grid cell.
#[derive(Debug, Serialize, ToSchema)]
pub struct MapView {
    /// Live incidents in the box that match the filters.
    pub total: i64,
    /// Every one of them when `total` is at most 2,000; otherwise empty.
    pub markers: Vec<Marker>,
    /// When `total` is over 2,000: the non-empty cells of a grid of about 64
    /// screen pixels at the zoom (90 / 2^zoom degrees, anchored at -180, -90;
    /// coarser when the box spans over 10,000 cells); otherwise empty.
    pub cells: Vec<Cell>,
}

/// One incident on a map.
#[derive(Debug, Serialize, ToSchema)]
pub struct Marker {
    pub id: Uuid,
    pub title: String,
    pub event_type: EventType,
    pub occurred_on: NaiveDate,
    /// How precise `occurred_on` is (`time_precision` of the incident).
    pub date_precision: TimePrecision,
    pub lat: f64,
    pub lon: f64,
}

/// The incidents of one grid cell.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cell {
    /// Mean latitude of its incidents.
    pub lat: f64,
    /// Mean longitude of its incidents.
    pub lon: f64,
    pub count: i64,
    /// `[minLon, minLat, maxLon, maxLat]` of its incidents (within the cell):
    /// where to zoom to see them.
    #[schema(value_type = Vec<f64>, min_items = 4, max_items = 4)]
    pub bbox: [f64; 4],
}

/// The side of a grid cell at `zoom` (0–20), in degrees: 64 pixels of a
/// 256-pixel-tile web map, 64 · 360 / (256 · 2^zoom) = 90 / 2^zoom.
pub fn cell_degrees(zoom: u8) -> f64 {
    90.0 / f64::from(1u32 << zoom.min(20))
}

/// How many cells of the grid at `zoom` the box spans.
fn grid_cells([min_lon, min_lat, max_lon, max_lat]: [f64; 4], zoom: u8) -> u64 {
    let side = cell_degrees(zoom);
    let span = |min: f64, max: f64, origin: f64| {
        ((max + origin) / side).floor() as u64 - ((min + origin) / side).floor() as u64 + 1
    };
    span(min_lon, max_lon, 180.0).saturating_mul(span(min_lat, max_lat, 90.0))
}

/// One grid cell: count, mean lat, mean lon, min lon, min lat, max lon, max lat.
type CellRow = (
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

/// Incidents matching `f` (its `bbox` is the view; none means the world):
/// each of them (up to `max_markers`, newest first) when there are at most
/// `max_markers`, else counts per cell of the grid at `zoom` (see
/// [`MapView`]). Counting and grouping happen in the database, so the cost
/// in memory is the number of cells, not of incidents.
#[tracing::instrument(level = "debug", skip_all, fields(zoom = zoom, max_markers = max_markers))]
pub fn map_view(
    conn: &mut DbConn,
    f: &EventFilter,
    zoom: u8,
    max_markers: i64,
) -> Result<MapView, AppError> {
    use diesel::dsl::{avg, count_star, max, min, sql};
    use diesel::sql_types::BigInt;

    let view = f.bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
    // The map reads every incident of its view: its box is left to the
    // planner (the covering position index), the words as the list reads them.
    let plan = Plan {
        dialect: Dialect::of(conn),
        words: words_access(conn, f)?,
        bbox: Access::Plain,
    };
    let mut zoom = zoom.min(20);
    while zoom > 0 && grid_cells(view, zoom) > MAX_GRID_CELLS {
        zoom -= 1;
    }
    // floor((coordinate - origin) / side) with side = 90 / 2^zoom, written
    // so that the two backends agree: the shifted coordinate is never
    // negative, where SQLite's CAST truncates as floor does (SQLite as
    // bundled has no floor()); PostgreSQL's CAST rounds, so it gets floor.
    // The text is built from a zoom of 0–20 only, and the same text is the
    // GROUP BY key on both.
    let scale = 1u32 << zoom;
    let cell_of = |column: &str, origin: &str| match conn {
        DbConn::Sqlite(_) => {
            format!("CAST(({column} + {origin}) * {scale}.0 / 90.0 AS INTEGER)")
        }
        DbConn::Pg(_) => {
            format!("CAST(floor(({column} + {origin}) * {scale}.0 / 90.0) AS BIGINT)")
        }
    };
    let key = (
        sql::<BigInt>(&cell_of("events.lon", "180.0")),
        sql::<BigInt>(&cell_of("events.lat", "90.0")),
    );
    let mut grouped = events::table
        .group_by(key)
        .select((
            count_star(),
            avg(events::lat),
            avg(events::lon),
            min(events::lon),
            min(events::lat),
            max(events::lon),
            max(events::lat),
        ))
        .into_boxed();
    for condition in conditions(f, &plan) {
        grouped = grouped.filter(condition);
    }
    let rows: Vec<CellRow> = grouped.load(conn)?;
    let total: i64 = rows.iter().map(|row| row.0).sum();
    if total <= max_markers {
        let mut query = events::table
            .select((
                events::id,
                events::title,
                events::event_type,
                events::occurred_on,
                events::time_precision,
                events::lat,
                events::lon,
            ))
            .into_boxed();
        for condition in conditions(f, &plan) {
            query = query.filter(condition);
        }
        let markers = query
            .order((events::occurred_on.desc(), events::id.asc()))
            .limit(max_markers)
            .load::<(
                String,
                String,
                EventType,
                NaiveDate,
                TimePrecision,
                f64,
                f64,
            )>(conn)?
            .into_iter()
            .map(
                |(id, title, event_type, occurred_on, date_precision, lat, lon)| {
                    Ok(Marker {
                        id: Uuid::parse_str(&id)
                            .map_err(|e| AppError::internal_from(format!("events.id {id:?}"), e))?,
                        title,
                        event_type,
                        occurred_on,
                        date_precision,
                        lat,
                        lon,
                    })
                },
            )
            .collect::<Result<Vec<_>, AppError>>()?;
        return Ok(MapView {
            total,
            markers,
            cells: Vec::new(),
        });
    }
    // A group has at least one incident, so none of its aggregates is NULL.
    let present = |v: Option<f64>| v.ok_or_else(|| AppError::internal("an empty map cell"));
    let mut cells = rows
        .into_iter()
        .map(|(count, lat, lon, min_lon, min_lat, max_lon, max_lat)| {
            Ok(Cell {
                lat: present(lat)?,
                lon: present(lon)?,
                count,
                bbox: [
                    present(min_lon)?,
                    present(min_lat)?,
                    present(max_lon)?,
                    present(max_lat)?,
                ],
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    cells.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.lat.total_cmp(&b.lat))
            .then(a.lon.total_cmp(&b.lon))
    });
    Ok(MapView {
        total,
        markers: Vec::new(),
        cells,
    })
}

/// A query written around a boxed one, its binds kept: `before`, the
/// query, `after`.
struct Around<Q> {
    before: String,
    query: Q,
    after: String,
}

impl<Q: diesel::query_builder::QueryFragment<Backend>> diesel::query_builder::QueryFragment<Backend>
    for Around<Q>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Backend>,
    ) -> QueryResult<()> {
        out.push_sql(&self.before);
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&self.after);
        Ok(())
    }
}

impl<Q> diesel::query_builder::QueryId for Around<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> diesel::query_builder::Query for Around<Q> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Q> RunQueryDsl<DbConn> for Around<Q> {}

/// One group as counted: two keys and their names (NULL when unused).
#[derive(QueryableByName)]
struct GroupCounted {
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    k1: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    k2: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    n1: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    n2: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    fatalities: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    injuries: i64,
}

/// A text column with no value.
const NONE: &str = "CAST(NULL AS TEXT)";

/// The SQL of a key over the filtered incidents `e` (and `h`, `a`: the
/// holder join): what it is grouped by, its value as text (a function of
/// the former, computed once per group), and its name where it has one.
fn key_sql(key: GroupKey, dialect: Dialect) -> (&'static str, &'static str, &'static str) {
    match (key, dialect) {
        // SQLite keeps a date as `YYYY-MM-DD` text.
        (GroupKey::Month, Dialect::Sqlite) => (
            "substr(e.occurred_on, 1, 7)",
            "substr(e.occurred_on, 1, 7)",
            NONE,
        ),
        // date_trunc per row, to_char per group: to_char per row made the
        // count of 1,000,000 incidents half as fast again.
        (GroupKey::Month, Dialect::Pg) => (
            "date_trunc('month', e.occurred_on)",
            "to_char(date_trunc('month', e.occurred_on), 'YYYY-MM')",
            NONE,
        ),
        (GroupKey::Year, Dialect::Sqlite) => (
            "substr(e.occurred_on, 1, 4)",
            "substr(e.occurred_on, 1, 4)",
            NONE,
        ),
        (GroupKey::Year, Dialect::Pg) => (
            "date_trunc('year', e.occurred_on)",
            "to_char(date_trunc('year', e.occurred_on), 'YYYY')",
            NONE,
        ),
        (GroupKey::EventType, _) => ("e.event_type", "e.event_type", NONE),
        (GroupKey::Verification, _) => ("e.verification", "e.verification", NONE),
        // A ubigeo is 2, 4 or 6 digits: a region's code has two, a
        // province's four.
        (GroupKey::Region, _) => (
            "substr(e.ubigeo, 1, 2)",
            "substr(e.ubigeo, 1, 2)",
            "max(e.region)",
        ),
        (GroupKey::Province, _) => (
            "CASE WHEN length(e.ubigeo) >= 4 THEN substr(e.ubigeo, 1, 4) END",
            "CASE WHEN length(e.ubigeo) >= 4 THEN substr(e.ubigeo, 1, 4) END",
            "max(e.province)",
        ),
        (GroupKey::Holder, _) => ("h.holder_id", "h.holder_id", "max(a.name)"),
    }
}

/// The live incidents matching `f` (cursor and limit aside) counted by
/// `keys` (one or two), with their fatalities and injuries, and all of them
/// once. Grouped in the database; region and province names come from the
/// loaded districts, else from the incidents. More than
/// [`stats::MAX_GROUPS`] groups is a 422 naming `group_by`.
#[tracing::instrument(level = "debug", skip_all, fields(keys = ?keys))]
pub fn stats(conn: &mut DbConn, f: &EventFilter, keys: &[GroupKey]) -> Result<Stats, AppError> {
    use super::stats::MAX_GROUPS;
    let plan = Plan {
        dialect: Dialect::of(conn),
        words: words_access(conn, f)?,
        bbox: Access::Plain,
    };
    let filtered = || {
        let mut query = events::table
            .select((
                events::id,
                events::occurred_on,
                events::event_type,
                events::verification,
                events::ubigeo,
                events::region,
                events::province,
                events::fatalities,
                events::injuries,
            ))
            .into_boxed();
        for condition in conditions(f, &plan) {
            query = query.filter(condition);
        }
        query
    };
    let sums = "count(*) AS n, CAST(COALESCE(sum(e.fatalities), 0) AS BIGINT) AS fatalities, \
                CAST(COALESCE(sum(e.injuries), 0) AS BIGINT) AS injuries";
    let total = Around {
        before: format!(
            "SELECT {NONE} AS k1, {NONE} AS k2, {NONE} AS n1, {NONE} AS n2, {sums} FROM ("
        ),
        query: filtered(),
        after: ") e".into(),
    }
    .get_result::<GroupCounted>(conn)?;

    let sql: Vec<_> = keys.iter().map(|k| key_sql(*k, plan.dialect)).collect();
    let column = |i: usize| {
        sql.get(i)
            .map_or((NONE, NONE), |(_, value, name)| (*value, *name))
    };
    let (k1, n1) = column(0);
    let (k2, n2) = column(1);
    let holders = if keys.contains(&GroupKey::Holder) {
        // Each (incident, holder) once, however many of the holder's
        // concessions the incident lies in.
        " LEFT JOIN (SELECT DISTINCT ec.event_id AS event_id, c.holder_id AS holder_id \
         FROM event_concessions ec JOIN concessions c ON c.id = ec.concession_id \
         WHERE c.deleted_at IS NULL AND c.holder_id IS NOT NULL) h ON h.event_id = e.id \
         LEFT JOIN actors a ON a.id = h.holder_id"
    } else {
        ""
    };
    let group_by: Vec<&str> = sql.iter().map(|(group, _, _)| *group).collect();
    let rows = Around {
        before: format!("SELECT {k1} AS k1, {k2} AS k2, {n1} AS n1, {n2} AS n2, {sums} FROM ("),
        query: filtered(),
        after: format!(
            ") e{holders} GROUP BY {} LIMIT {}",
            group_by.join(", "),
            MAX_GROUPS + 1
        ),
    }
    .load::<GroupCounted>(conn)?;
    if rows.len() > MAX_GROUPS {
        return Err(AppError::Validation(vec![crate::error::FieldError::coded(
            "group_by",
            "too_many",
            format!("more than {MAX_GROUPS} groups: narrow the filters or group by less"),
        )]));
    }
    let names = place_names(conn, keys)?;
    let mut groups: Vec<GroupRow> = rows
        .into_iter()
        .map(|row| {
            let values = keys
                .iter()
                .zip([(row.k1, row.n1), (row.k2, row.n2)])
                .map(|(key, (value, own_name))| {
                    let name = value
                        .as_ref()
                        .and_then(|v| names.get(&(*key, v.clone())).cloned())
                        .or(own_name);
                    (*key, value, name)
                })
                .collect();
            GroupRow {
                values,
                counts: Counts {
                    count: row.n,
                    fatalities: row.fatalities,
                    injuries: row.injuries,
                },
            }
        })
        .collect();
    // In key order, each ascending, "none" last: the same on both backends
    // (they order NULL differently).
    groups.sort_by(|a, b| {
        a.values
            .iter()
            .zip(&b.values)
            .map(|(x, y)| match (&x.1, &y.1) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(Stats {
        group_by: keys.to_vec(),
        groups,
        total: Counts {
            count: total.n,
            fatalities: total.fatalities,
            injuries: total.injuries,
        },
    })
}

/// The names of regions and provinces by code, from the loaded districts,
/// for the keys that have them.
fn place_names(
    conn: &mut DbConn,
    keys: &[GroupKey],
) -> Result<std::collections::HashMap<(GroupKey, String), String>, AppError> {
    use crate::schema::districts;
    let mut names = std::collections::HashMap::new();
    if !keys
        .iter()
        .any(|k| matches!(k, GroupKey::Region | GroupKey::Province))
    {
        return Ok(names);
    }
    // 1,874 short rows at most: cheaper read whole than grouped.
    let rows: Vec<(String, String, String)> = districts::table
        .select((districts::ubigeo, districts::region, districts::province))
        .order(districts::ubigeo.asc())
        .load(conn)?;
    for (ubigeo, region, province) in rows {
        if let Some(code) = ubigeo.get(..2) {
            names
                .entry((GroupKey::Region, code.to_string()))
                .or_insert(region);
        }
        if let Some(code) = ubigeo.get(..4) {
            names
                .entry((GroupKey::Province, code.to_string()))
                .or_insert(province);
        }
    }
    Ok(names)
}
