//! The public map's reads (issue 15): published incidents only, each in
//! its public form (`events::public`), never anything else. Every public
//! route and page reads through here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::changes::{Feed, FeedChange};
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::public::{self as rule, PublicEvent};
use crate::events::stats::{GroupKey, Stats};
use crate::events::store::{self, EventFilter, Visibility};
use crate::events::{Event, Publication};
use crate::places::index::Centroids;
use crate::places::{self, PlaceIndex};

/// Incidents read from the database per step while a page is filled.
const STEP: i64 = 200;
/// Incidents read at most for one page: past it, the page ends early
/// with a cursor to go on from (a filter on the generalised point or the
/// public text that few incidents pass cannot make one request read all).
const MAX_SCAN: usize = 5_000;

/// The district centroids for the current district layer.
pub fn centroids(conn: &mut DbConn, index: &PlaceIndex) -> Result<Arc<Centroids>, AppError> {
    let (_, districts) = places::store::versions(conn, false)?;
    index.district_centroids(conn, districts)
}

/// What a public list asks for beyond the database's own filters: a box
/// over the generalised points and words of the public text.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    /// Dates, types, places, cursor and limit (its `bbox` and `words` are
    /// not read: see below).
    pub base: EventFilter,
    /// `[min lon, min lat, max lon, max lat]` over the generalised points
    /// (a box over the stored points would let a visitor find them by
    /// narrowing it).
    pub bbox: Option<[f64; 4]>,
    /// Folded words that must each begin a word of the title or the
    /// description (not the place name, which the public never reads).
    pub words: Vec<String>,
}

/// A page of public incidents: each with the stored incident it comes
/// from (for the export writers), and where the next page starts.
pub struct PublicPage {
    pub items: Vec<(Event, PublicEvent)>,
    pub next: Option<(NaiveDate, String)>,
}

fn passes(p: &PublicEvent, f: &PublicFilter) -> bool {
    if let Some([min_lon, min_lat, max_lon, max_lat]) = f.bbox {
        let (lon, lat) = (p.location.lon, p.location.lat);
        if !(min_lon..=max_lon).contains(&lon) || !(min_lat..=max_lat).contains(&lat) {
            return false;
        }
    }
    if f.words.is_empty() {
        return true;
    }
    let text = crate::text::fold(&format!("{} {}", p.title, p.description));
    let words: Vec<&str> = text.split_whitespace().collect();
    f.words
        .iter()
        .all(|w| words.iter().any(|t| t.starts_with(w.as_str())))
}

/// One page (`f.base.limit` at most) of published live incidents, newest
/// first, in their public form.
pub fn page(
    conn: &mut DbConn,
    index: &PlaceIndex,
    grid_km: f64,
    f: &PublicFilter,
) -> Result<PublicPage, AppError> {
    let centroids = centroids(conn, index)?;
    let limit = usize::try_from(f.base.limit.max(1)).unwrap_or(1);
    let mut db_filter = EventFilter {
        publication: Some(Publication::Published),
        bbox: None,
        limit: STEP,
        ..f.base.clone()
    };
    // The database narrows by the words over title, description and place
    // (a superset); `passes` keeps what the public text has.
    db_filter.words = f.words.clone();
    let mut items = Vec::new();
    let mut scanned = 0usize;
    loop {
        let mut rows = super::events::list(conn, &db_filter)?;
        let more = rows.len() as i64 > STEP;
        rows.truncate(STEP as usize);
        let last_key = rows
            .last()
            .map(|e| (e.fields.occurred_on, e.id.to_string()));
        for event in rows {
            scanned += 1;
            let Some(public) = rule::public_event(&event, |u| centroids.get(u).copied(), grid_km)
            else {
                continue;
            };
            if !passes(&public, f) {
                continue;
            }
            if items.len() == limit {
                // One more exists: the page is full and the next starts
                // after its last item.
                let next = items
                    .last()
                    .map(|(e, _): &(Event, PublicEvent)| (e.fields.occurred_on, e.id.to_string()));
                return Ok(PublicPage { items, next });
            }
            items.push((event, public));
        }
        match (more, last_key) {
            (true, Some(last)) if scanned < MAX_SCAN => db_filter.after = Some(last),
            (true, Some(last)) => {
                return Ok(PublicPage {
                    items,
                    next: Some(last),
                })
            }
            _ => return Ok(PublicPage { items, next: None }),
        }
    }
}

/// One published live incident in its public form; 404 for any other id
/// (internal, deleted, unknown alike).
pub fn load(
    conn: &mut DbConn,
    index: &PlaceIndex,
    grid_km: f64,
    id: &str,
) -> Result<(Event, PublicEvent), AppError> {
    // The id is not echoed: the answer is the same for any id not public.
    let missing = || AppError::NotFound("no published incident with this id".into());
    let event = match super::events::load(conn, id, Visibility::Live) {
        Ok(event) => event,
        Err(AppError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e),
    };
    let centroids = centroids(conn, index)?;
    let public =
        rule::public_event(&event, |u| centroids.get(u).copied(), grid_km).ok_or_else(missing)?;
    Ok((event, public))
}

/// The figures over published live incidents only.
pub fn stats(conn: &mut DbConn, f: &EventFilter, keys: &[GroupKey]) -> Result<Stats, AppError> {
    let f = EventFilter {
        publication: Some(Publication::Published),
        // Neither a box nor words: both would read stored points and
        // place names.
        bbox: None,
        words: Vec::new(),
        ..f.clone()
    };
    store::stats(conn, &f, keys)
}

/// A page of the public change feed: the incidents' change log, each item
/// with the incident's public form now, or `null` and `delete` when it is
/// not public now (withdrawn or deleted). Changes of incidents that were
/// never published are left out, so the feed names no internal incident.
pub fn changes(
    conn: &mut DbConn,
    index: &PlaceIndex,
    grid_km: f64,
    since: Option<&str>,
    limit: Option<i64>,
) -> Result<super::changes::ChangePage<PublicEvent>, AppError> {
    let centroids = centroids(conn, index)?;
    let mut page = super::changes::page(conn, Feed::Event, since, limit, |conn, ids| {
        let found = super::events::load_many(conn, ids)?;
        Ok(found
            .iter()
            .filter_map(|e| rule::public_event(e, |u| centroids.get(u).copied(), grid_km))
            .map(|p| (p.id.to_string(), p))
            .collect::<HashMap<_, _>>())
    })?;
    let gone: Vec<String> = page
        .items
        .iter()
        .filter(|i| i.record.is_none())
        .map(|i| i.id.clone())
        .collect();
    let once_public: HashSet<String> = store::ever_published(conn, &gone)?;
    page.items
        .retain(|i| i.record.is_some() || once_public.contains(&i.id));
    for item in &mut page.items {
        if item.record.is_none() {
            item.change = FeedChange::Delete;
        }
    }
    Ok(page)
}
