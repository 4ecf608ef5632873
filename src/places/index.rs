//! The in-memory spatial index of concessions and districts.
//!
//! Each process keeps an R-tree of outline bounding boxes and tests the few
//! candidates exactly. The database holds the truth and a version number per
//! layer (`registry_state`), bumped in the same transaction as every change
//! of the layer; a process compares it with the version its index was built
//! from and rebuilds when they differ. Writers that match incidents read the
//! version under a lock (see [`super::store::versions`]), so an import in
//! another process and an incident logged meanwhile cannot miss each other.

use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use geo::{Intersects, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::ConcessionRef;
use crate::db::DbConn;
use crate::error::AppError;
use crate::schema::{actors, concessions, districts};

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

struct Layer<K> {
    version: i64,
    shapes: Arc<Shapes<K>>,
}

/// Each district's centroid (lon, lat) by ubigeo.
pub type Centroids = std::collections::HashMap<String, (f64, f64)>;

/// The process's index; share one per process (it lives in the app data).
pub struct PlaceIndex {
    /// The active area watches, owned by the alerts module. They ride here
    /// because every operation that can log an incident (and so match
    /// watches) already carries this index; its versioning is their own.
    pub area_watches: crate::alerts::areas::AreaIndex,
    concessions: RwLock<Option<Layer<ConcessionRef>>>,
    districts: RwLock<Option<Layer<DistrictRef>>>,
    /// The districts' centroids (where the public map shows an incident),
    /// as of a district layer version.
    centroids: RwLock<Option<(i64, Arc<Centroids>)>>,
}

impl Default for PlaceIndex {
    fn default() -> Self {
        PlaceIndex {
            area_watches: Default::default(),
            concessions: RwLock::new(None),
            districts: RwLock::new(None),
            centroids: RwLock::new(None),
        }
    }
}

fn parse_shape(json: &str) -> Option<MultiPolygon<f64>> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    super::geometry::multipolygon_from_geojson(&value).ok()
}

impl PlaceIndex {
    /// The concession outlines (by concession id) as of `version`, rebuilt
    /// from the database if the cached ones are older.
    pub fn concessions(
        &self,
        conn: &mut DbConn,
        version: i64,
    ) -> Result<Arc<Shapes<ConcessionRef>>, AppError> {
        if let Some(layer) = self
            .concessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if layer.version == version {
                return Ok(layer.shapes.clone());
            }
        }
        // The index carries what an incident embeds, so that logging one costs
        // no query for it; a holder's rename bumps the layer version too.
        let rows: Vec<super::store::RefRow> = concessions::table
            .left_join(actors::table)
            .filter(concessions::deleted_at.is_null())
            .select((
                concessions::id,
                concessions::code,
                concessions::name,
                concessions::geometry,
                (actors::id, actors::name).nullable(),
            ))
            .load(conn)?;
        let mut items = Vec::with_capacity(rows.len());
        for (id, code, name, json, holder) in rows {
            if let Some(shape) = parse_shape(&json) {
                items.push((super::store::to_ref(&id, code, name, holder)?, shape));
            }
        }
        let shapes = Arc::new(Shapes::new(items));
        crate::metrics::count_index_rebuild("concessions");
        tracing::info!(
            version,
            concessions = shapes.len(),
            "concession index rebuilt"
        );
        *self.concessions.write().unwrap_or_else(|p| p.into_inner()) = Some(Layer {
            version,
            shapes: shapes.clone(),
        });
        Ok(shapes)
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
        if let Some(layer) = self
            .districts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if layer.version == version {
                return Ok(layer.shapes.clone());
            }
        }
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
        let shapes = Arc::new(Shapes::new(items));
        crate::metrics::count_index_rebuild("districts");
        *self.districts.write().unwrap_or_else(|p| p.into_inner()) = Some(Layer {
            version,
            shapes: shapes.clone(),
        });
        Ok(shapes)
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
}
