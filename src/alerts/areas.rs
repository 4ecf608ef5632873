//! The in-memory index of active area watches.
//!
//! Matching an incident against drawn areas by SQL meant a box query over
//! every area watch and parsing each candidate's GeoJSON inside the
//! incident's write transaction; with thousands of overlapping areas that
//! is seconds. Instead each process keeps an R-tree of the active area
//! watches' boxes with their parsed outlines and what the matching rule and
//! the outbox row need, as `places::index` does for concessions.
//!
//! The database holds the truth and a version number (`watch_state`), bumped
//! in the same transaction as every change of an area watch ([`bump`]). A
//! process compares it with the version its index was built from and
//! rebuilds when they differ. Incident writers read the version under a lock
//! ([`version`] with `lock`), so a watch confirmed, edited or deleted in
//! another process and an incident logged meanwhile cannot miss each other:
//! on PostgreSQL the watch's transaction waits for the incident's (or the
//! other way round), on SQLite write transactions exclude each other.

use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use geo::MultiPolygon;

use super::{Frequency, MinVerification, TargetType, WatchStatus};
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::EventType;
use crate::places::geometry::multipolygon_from_geojson;
use crate::places::index::Shapes;
use crate::schema::{watch_state, watches};

/// What matching needs of one active area watch, besides its outline.
#[derive(Debug, Clone)]
pub struct AreaWatch {
    pub id: String,
    pub email: String,
    pub frequency: Frequency,
    /// Empty: every type.
    pub event_types: Vec<EventType>,
    pub min_verification: MinVerification,
    pub activated_at: NaiveDateTime,
}

/// The active area watches as of one version: outlines keyed by watch, in
/// an R-tree over their boxes.
pub type AreaWatches = Shapes<AreaWatch>;

/// The process's index; one per process (it rides in [`crate::places::PlaceIndex`],
/// which every operation that logs an incident already carries).
#[derive(Default)]
pub struct AreaIndex {
    current: RwLock<Option<(i64, Arc<AreaWatches>)>>,
    /// Held by the one thread rebuilding: others asking for the same version
    /// wait and take its result instead of loading 10,000 outlines each.
    rebuilding: Mutex<()>,
}

impl AreaIndex {
    fn cached(&self, version: i64) -> Option<Arc<AreaWatches>> {
        match self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some((v, found)) if *v == version => Some(found.clone()),
            _ => None,
        }
    }

    /// The active area watches as of `version` (read with [`version`] in the
    /// caller's transaction), rebuilt from the database if the cached ones
    /// are of another version.
    pub fn at(&self, conn: &mut DbConn, version: i64) -> Result<Arc<AreaWatches>, AppError> {
        if let Some(found) = self.cached(version) {
            return Ok(found);
        }
        let _single = self.rebuilding.lock().unwrap_or_else(|p| p.into_inner());
        // Another thread may have built it while this one waited.
        if let Some(found) = self.cached(version) {
            return Ok(found);
        }
        let started = std::time::Instant::now();
        let found = Arc::new(load(conn)?);
        crate::metrics::count_index_rebuild("area_watches");
        tracing::info!(
            version,
            areas = found.len(),
            ms = started.elapsed().as_millis() as u64,
            "area watch index rebuilt"
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some((version, found.clone()));
        Ok(found)
    }
}

type Row = (
    String,                // id
    String,                // email
    Option<String>,        // area
    String,                // event_types
    MinVerification,       // min_verification
    Frequency,             // frequency
    Option<NaiveDateTime>, // activated_at
);

/// Every active area watch with its outline parsed. A watch whose stored
/// area does not parse matches nothing, as before the index.
fn load(conn: &mut DbConn) -> Result<AreaWatches, AppError> {
    let rows: Vec<Row> = watches::table
        .filter(watches::status.eq(WatchStatus::Active))
        .filter(watches::deleted_at.is_null())
        .filter(watches::target_type.eq(TargetType::Area))
        .select((
            watches::id,
            watches::email,
            watches::area,
            watches::event_types,
            watches::min_verification,
            watches::frequency,
            watches::activated_at,
        ))
        .load(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    for (id, email, area, types, min_verification, frequency, activated_at) in rows {
        let (Some(area), Some(activated_at)) = (area, activated_at) else {
            continue;
        };
        let Some(shape) = serde_json::from_str::<serde_json::Value>(&area)
            .ok()
            .and_then(|value| multipolygon_from_geojson(&value).ok())
        else {
            continue;
        };
        let event_types = serde_json::from_str(&types)
            .map_err(|e| AppError::internal_from(format!("watch {id}: event_types"), e))?;
        items.push((
            AreaWatch {
                id,
                email,
                frequency,
                event_types,
                min_verification,
                activated_at,
            },
            shape,
        ));
    }
    Ok(Shapes::new(items))
}

/// The area watches' version; `lock` holds it (PostgreSQL `FOR SHARE`) until
/// the transaction ends, so a concurrent change of an area watch waits for
/// this writer and this writer for it. On SQLite the write transaction
/// already excludes others.
pub fn version(conn: &mut DbConn, lock: bool) -> Result<i64, AppError> {
    let found = match conn {
        DbConn::Pg(pg) if lock => watch_state::table
            .find(1)
            .select(watch_state::areas_version)
            .for_share()
            .first(pg)
            .optional()?,
        _ => watch_state::table
            .find(1)
            .select(watch_state::areas_version)
            .first(conn)
            .optional()?,
    };
    found.ok_or_else(|| AppError::internal("watch_state has no row"))
}

/// Marks the area watches changed; call in the transaction that changes an
/// area watch (whatever its status: bumping for a pending one costs one
/// rebuild, missing an active one costs alerts).
pub fn bump(conn: &mut DbConn) -> Result<(), AppError> {
    diesel::update(watch_state::table.find(1))
        .set(watch_state::areas_version.eq(watch_state::areas_version + 1))
        .execute(conn)?;
    Ok(())
}

/// Roughly how many bytes an index holds: the outlines' points, the keys'
/// strings and the R-tree's boxes. For the benchmark's report.
pub fn approx_bytes(index: &AreaWatches) -> usize {
    use geo::CoordsIter;
    index
        .meeting([f64::MIN, f64::MIN, f64::MAX, f64::MAX])
        .map(|(watch, shape)| {
            std::mem::size_of::<(AreaWatch, MultiPolygon<f64>)>()
                + watch.id.len()
                + watch.email.len()
                + watch.event_types.len() * std::mem::size_of::<EventType>()
                + shape.coords_count() * std::mem::size_of::<geo::Coord<f64>>()
                + shape.0.len() * std::mem::size_of::<geo::Polygon<f64>>()
                // the tree's leaf (a box and an index) and its share of nodes
                + 2 * std::mem::size_of::<[f64; 4]>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn watch(id: &str) -> AreaWatch {
        AreaWatch {
            id: id.into(),
            email: format!("{id}@example.org"),
            frequency: Frequency::Immediate,
            event_types: Vec::new(),
            min_verification: MinVerification::Unverified,
            activated_at: NaiveDateTime::default(),
        }
    }

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y),
            (x: x + side, y: y),
            (x: x + side, y: y + side),
            (x: x, y: y + side),
        ]])
    }

    #[test]
    fn overlapping_areas_are_each_found_once_and_far_ones_not_at_all() {
        let mut items: Vec<_> = (0..50)
            .map(|i| {
                (
                    watch(&format!("near{i}")),
                    square(-75.0 - i as f64 * 0.01, -10.0, 1.0),
                )
            })
            .collect();
        items.push((watch("far"), square(-70.0, -15.0, 1.0)));
        let index = AreaWatches::new(items);
        let mut found: Vec<&str> = index
            .meeting([-74.5, -9.5, -74.5, -9.5])
            .map(|(w, _)| w.id.as_str())
            .collect();
        found.sort();
        let before = found.len();
        found.dedup();
        assert_eq!(found.len(), before, "no watch twice");
        assert_eq!(found.len(), 50);
        assert!(!found.contains(&"far"));
        assert_eq!(index.meeting([-60.0, 0.0, -60.0, 0.0]).count(), 0);
        assert!(approx_bytes(&index) > 51 * 5 * 16);
    }
}
