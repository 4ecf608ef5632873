//! The in-memory spatial index of concessions and districts.
//!
//! Each process keeps an R-tree of outline bounding boxes and tests the few
//! candidates exactly. The database holds the truth and a version number per
//! layer (`registry_state`), bumped in the same transaction as every change
//! of the layer; a process compares it with the version its index was built
//! from and rebuilds when they differ. Writers that match incidents read the
//! version under a lock (see [`super::store::versions`]), so an import in
//! another process and an incident logged meanwhile cannot miss each other.
//!
//! A rebuild runs once per layer at a time (single flight): callers that
//! find the layer stale queue on the layer's rebuild lock and, once they
//! hold it, look again, so N waiting callers reuse the one rebuild instead
//! of loading 70,000 outlines N times.
//!
//! Point lookups (`GET /api/v1/concessions/at`) answer from the index
//! alone: each concession carries its API JSON, serialised at build time,
//! and the lookup reads the layer version at most once every
//! [`CONCESSIONS_FRESH_FOR`] (see [`PlaceIndex::fresh_concessions`]), so a
//! change committed by another process shows in lookups at most that long
//! after its commit. Writers never use that shortcut.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use geo::{Intersects, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::ConcessionRef;
use crate::db::DbConn;
use crate::error::AppError;
use crate::schema::districts;

/// Outlines with a key each, and an R-tree over their boxes.
pub struct Shapes<K> {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    items: Vec<(K, MultiPolygon<f64>)>,
}

impl<K> Shapes<K> {
    pub fn new(items: Vec<(K, MultiPolygon<f64>)>) -> Self {
        use geo::BoundingRect;
        let boxes = items
            .iter()
            .enumerate()
            .filter_map(|(i, (_, shape))| {
                let r = shape.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        Shapes {
            tree: RTree::bulk_load(boxes),
            items,
        }
    }

    /// Every key whose outline contains the point (its edge included: a point
    /// on a shared boundary belongs to both).
    pub fn containing(&self, lon: f64, lat: f64) -> impl Iterator<Item = &K> {
        let point = Point::new(lon, lat);
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .filter(move |candidate| self.items[candidate.data].1.intersects(&point))
            .map(|candidate| &self.items[candidate.data].0)
    }

    /// Every key and outline whose bounding box meets the box `[min lon,
    /// min lat, max lon, max lat]`.
    pub fn meeting(
        &self,
        [min_lon, min_lat, max_lon, max_lat]: [f64; 4],
    ) -> impl Iterator<Item = (&K, &MultiPolygon<f64>)> {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(
                [min_lon, min_lat],
                [max_lon, max_lat],
            ))
            .map(|candidate| {
                let (key, shape) = &self.items[candidate.data];
                (key, shape)
            })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A district as incidents are coded with it.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictRef {
    pub ubigeo: String,
    pub name: String,
    pub province: String,
    pub region: String,
}

/// One layer's shapes as of a version of the layer.
struct Layer<K> {
    version: i64,
    shapes: Arc<Shapes<K>>,
}

/// A layer as the process holds it: the current shapes, and the lock a
/// rebuild holds, so that one caller rebuilds and the others wait for it.
struct Cached<K> {
    current: RwLock<Option<Layer<K>>>,
    rebuilding: Mutex<()>,
}

impl<K> Default for Cached<K> {
    fn default() -> Self {
        Cached {
            current: RwLock::new(None),
            rebuilding: Mutex::new(()),
        }
    }
}

impl<K> Cached<K> {
    /// The shapes if they are of `version`.
    fn get(&self, version: i64) -> Option<Arc<Shapes<K>>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|layer| layer.version == version)
            .map(|layer| layer.shapes.clone())
    }

    /// The shapes of `version`, built by `build` unless another caller has
    /// built them meanwhile. Holding the rebuild lock while building costs
    /// no deadlock: a build only reads (no row locks on PostgreSQL, WAL
    /// readers never wait on SQLite).
    fn get_or_build(
        &self,
        version: i64,
        build: impl FnOnce() -> Result<Shapes<K>, AppError>,
    ) -> Result<Arc<Shapes<K>>, AppError> {
        if let Some(shapes) = self.get(version) {
            return Ok(shapes);
        }
        let _single_flight = self.rebuilding.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(shapes) = self.get(version) {
            return Ok(shapes);
        }
        let shapes = Arc::new(build()?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Layer {
            version,
            shapes: shapes.clone(),
        });
        Ok(shapes)
    }

    /// The shapes whatever their version.
    fn latest(&self) -> Option<(i64, Arc<Shapes<K>>)> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|layer| (layer.version, layer.shapes.clone()))
    }
}

/// A concession as the index keeps it: what an incident embeds, and the
/// whole concession as `GET /api/v1/concessions/at` answers it.
pub struct IndexedConcession {
    pub reference: ConcessionRef,
    /// The concession's JSON, exactly as the API serialises a
    /// [`super::Concession`] (geometry included).
    pub json: Box<str>,
}

/// Each district's centroid (lon, lat) by ubigeo.
pub type Centroids = std::collections::HashMap<String, (f64, f64)>;

/// How long a point lookup may answer from the concession layer without
/// reading its version again: a change committed by another process shows
/// in lookups at most this long after its commit (this process's own
/// concession and holder writes show at once, see
/// [`PlaceIndex::concessions_changed`]). Reading the version costs a pool
/// checkout, a blocking task and a query: most of a lookup's time before.
pub const CONCESSIONS_FRESH_FOR: Duration = Duration::from_millis(250);

/// The process's index; share one per process (it lives in the app data).
pub struct PlaceIndex {
    /// The active area watches, owned by the alerts module. They ride here
    /// because every operation that can log an incident (and so match
    /// watches) already carries this index; its versioning is their own.
    pub area_watches: crate::alerts::areas::AreaIndex,
    concessions: Cached<IndexedConcession>,
    /// When the committed concession layer version was last read outside a
    /// transaction, and which it was: what lookups may trust without
    /// reading it again for [`CONCESSIONS_FRESH_FOR`].
    concessions_checked: Mutex<Option<(Instant, i64)>>,
    districts: Cached<DistrictRef>,
    /// The districts' centroids (where the public map shows an incident),
    /// as of a district layer version.
    centroids: RwLock<Option<(i64, Arc<Centroids>)>>,
}

impl Default for PlaceIndex {
    fn default() -> Self {
        PlaceIndex {
            area_watches: Default::default(),
            concessions: Cached::default(),
            concessions_checked: Mutex::new(None),
            districts: Cached::default(),
            centroids: RwLock::new(None),
        }
    }
}

fn parse_shape(json: &str) -> Option<MultiPolygon<f64>> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    super::geometry::multipolygon_from_geojson(&value).ok()
}

impl PlaceIndex {
    /// The concession outlines as of `version`, rebuilt from the database
    /// if the cached ones are of another version (one rebuild at a time).
    pub fn concessions(
        &self,
        conn: &mut DbConn,
        version: i64,
    ) -> Result<Arc<Shapes<IndexedConcession>>, AppError> {
        self.concessions.get_or_build(version, || {
            // The index carries what an incident embeds, so that logging
            // one costs no query for it (a holder's rename bumps the layer
            // version too), and each concession's API JSON, so that a point
            // lookup costs none either.
            let started = Instant::now();
            let shapes = Shapes::new(super::store::for_index(conn)?);
            crate::metrics::count_index_rebuild("concessions");
            tracing::info!(
                version,
                concessions = shapes.len(),
                ms = started.elapsed().as_millis() as u64,
                "concession index rebuilt"
            );
            Ok(shapes)
        })
    }

    /// The concession layer for a point lookup, if its version was read
    /// less than [`CONCESSIONS_FRESH_FOR`] ago and the index holds that
    /// version: no database, no blocking task. `None`: call
    /// [`Self::concessions_committed`] on a connection.
    pub fn fresh_concessions(&self) -> Option<Arc<Shapes<IndexedConcession>>> {
        let (read_at, version) = (*self
            .concessions_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner()))?;
        if read_at.elapsed() >= CONCESSIONS_FRESH_FOR {
            return None;
        }
        // A writer's transaction may have put a layer of its own,
        // uncommitted version in the index meanwhile: not for lookups.
        self.concessions
            .latest()
            .and_then(|(built, shapes)| (built == version).then_some(shapes))
    }

    /// The concession layer as of the committed version, which lookups may
    /// then trust for [`CONCESSIONS_FRESH_FOR`]. Call outside a
    /// transaction (inside one, the version read may be its own,
    /// uncommitted).
    pub fn concessions_committed(
        &self,
        conn: &mut DbConn,
    ) -> Result<Arc<Shapes<IndexedConcession>>, AppError> {
        let read_at = Instant::now();
        let (version, _) = super::store::versions(conn, false)?;
        let shapes = self.concessions(conn, version)?;
        let mut checked = self
            .concessions_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Two lookups may get here out of order: keep the later read.
        if checked.is_none_or(|(at, _)| at <= read_at) {
            *checked = Some((read_at, version));
        }
        Ok(shapes)
    }

    /// After this process committed a change of the concession layer (or of
    /// a holder's name): the next lookup reads the version again, so the
    /// writer and its users see the change at once.
    pub fn concessions_changed(&self) {
        *self
            .concessions_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The centroid of every district as of `version`, computed once per
    /// version of the layer (districts rarely change).
    pub fn district_centroids(
        &self,
        conn: &mut DbConn,
        version: i64,
    ) -> Result<Arc<Centroids>, AppError> {
        use geo::Centroid;
        if let Some((v, found)) = self
            .centroids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if *v == version {
                return Ok(found.clone());
            }
        }
        let shapes = self.districts(conn, version)?;
        let found: Centroids = shapes
            .items
            .iter()
            .filter_map(|(d, shape)| {
                let c = shape.centroid()?;
                Some((d.ubigeo.clone(), (c.x(), c.y())))
            })
            .collect();
        let found = Arc::new(found);
        *self.centroids.write().unwrap_or_else(|p| p.into_inner()) = Some((version, found.clone()));
        Ok(found)
    }

    /// The district outlines as of `version`.
    pub fn districts(
        &self,
        conn: &mut DbConn,
        version: i64,
    ) -> Result<Arc<Shapes<DistrictRef>>, AppError> {
        self.districts.get_or_build(version, || {
            let rows: Vec<(String, String, String, String, String)> = districts::table
                .select((
                    districts::ubigeo,
                    districts::name,
                    districts::province,
                    districts::region,
                    districts::geometry,
                ))
                .load(conn)?;
            let items = rows
                .into_iter()
                .filter_map(|(ubigeo, name, province, region, json)| {
                    Some((
                        DistrictRef {
                            ubigeo,
                            name,
                            province,
                            region,
                        },
                        parse_shape(&json)?,
                    ))
                })
                .collect();
            crate::metrics::count_index_rebuild("districts");
            Ok(Shapes::new(items))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, MultiPolygon};

    #[test]
    fn finds_every_overlapping_outline() {
        let a = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 2.0), (x: 0.0, y: 2.0)],
        ]);
        let b = MultiPolygon(vec![
            polygon![(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)],
        ]);
        // A triangle whose box covers (1.9, 0.1) but whose outline does not.
        let c = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 2.0, y: 2.0), (x: 0.0, y: 2.0)],
        ]);
        let shapes = Shapes::new(vec![("a", a), ("b", b), ("c", c)]);
        let mut both: Vec<_> = shapes.containing(1.5, 1.5).copied().collect();
        both.sort();
        assert_eq!(both, ["a", "b", "c"]);
        assert_eq!(
            shapes.containing(1.9, 0.1).copied().collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(shapes.containing(2.0, 1.5).count(), 2, "an edge counts");
        assert_eq!(shapes.containing(5.0, 5.0).count(), 0);
    }

    /// Callers that find the layer stale together wait for one rebuild and
    /// reuse it.
    #[test]
    fn one_rebuild_for_many_waiting_callers() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const CALLERS: usize = 8;
        let cached: Cached<&str> = Cached::default();
        let entered = AtomicUsize::new(0);
        let builds = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..CALLERS {
                scope.spawn(|| {
                    entered.fetch_add(1, Ordering::SeqCst);
                    let shapes = cached
                        .get_or_build(7, || {
                            builds.fetch_add(1, Ordering::SeqCst);
                            // Build only once every caller has asked: without
                            // the single flight each would be building too.
                            let deadline = Instant::now() + Duration::from_secs(10);
                            while entered.load(Ordering::SeqCst) < CALLERS
                                && Instant::now() < deadline
                            {
                                std::thread::yield_now();
                            }
                            Ok(Shapes::new(vec![("a", MultiPolygon(vec![]))]))
                        })
                        .unwrap();
                    assert_eq!(shapes.len(), 1);
                });
            }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        // Another version is built again, once.
        cached
            .get_or_build(8, || {
                builds.fetch_add(1, Ordering::SeqCst);
                Ok(Shapes::new(Vec::new()))
            })
            .unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }
}
