//! Polygon geometry in and out: GeoJSON parsing with the checks users are
//! owed a clear 422 for, and the bounding boxes the index and filters use.

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon, Validation};

/// Why a geometry was refused.
pub type GeometryError = String;

/// A checked polygon outline in WGS 84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    pub shape: MultiPolygon<f64>,
    /// False for self-intersecting outlines, which the real cadastre has and
    /// which are kept as they are (point-in-polygon still answers).
    pub valid: bool,
}

impl Outline {
    /// Checks a longitude/latitude multipolygon: at least one polygon, rings
    /// of at least 4 closed positions, finite coordinates in range.
    pub fn new(shape: MultiPolygon<f64>) -> Result<Self, GeometryError> {
        check_rings(&shape)?;
        for p in shape.iter() {
            for c in p
                .exterior()
                .coords()
                .chain(p.interiors().iter().flat_map(|r| r.coords()))
            {
                if !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y) {
                    return Err(format!(
                        "coordinate ({}, {}) is outside longitude -180..180 / latitude -90..90",
                        c.x, c.y
                    ));
                }
            }
        }
        let valid = shape.is_valid();
        Ok(Outline { shape, valid })
    }

    /// Parses a GeoJSON Polygon or MultiPolygon (longitude, latitude).
    pub fn from_geojson(value: &serde_json::Value) -> Result<Self, GeometryError> {
        Outline::new(multipolygon_from_geojson(value)?)
    }

    pub fn to_geojson(&self) -> serde_json::Value {
        let geometry = if self.shape.0.len() == 1 {
            geojson::Geometry::from(&self.shape.0[0])
        } else {
            geojson::Geometry::from(&self.shape)
        };
        serde_json::to_value(geometry).unwrap_or_default()
    }

    /// min lon, min lat, max lon, max lat
    pub fn bbox(&self) -> [f64; 4] {
        match self.shape.bounding_rect() {
            Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
            None => [0.0; 4],
        }
    }
}

/// Any Polygon or MultiPolygon, in any coordinate system, as geo types;
/// structure checked, ranges not (projected metres are not degrees).
pub fn multipolygon_from_geojson(
    value: &serde_json::Value,
) -> Result<MultiPolygon<f64>, GeometryError> {
    let geometry: geojson::Geometry = serde_json::from_value(value.clone())
        .map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
    let shape = match geometry.value {
        geojson::GeometryValue::Polygon { coordinates } => {
            MultiPolygon(vec![polygon(&coordinates)?])
        }
        geojson::GeometryValue::MultiPolygon { coordinates } => MultiPolygon(
            coordinates
                .iter()
                .map(|p| polygon(p))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        other => {
            return Err(format!(
                "must be a Polygon or MultiPolygon, not a {}",
                other.type_name()
            ))
        }
    };
    check_rings(&shape)?;
    Ok(shape)
}

fn polygon(rings: &[Vec<geojson::Position>]) -> Result<Polygon<f64>, GeometryError> {
    // Checked on the raw positions: geo closes an open exterior ring itself.
    for ring in rings {
        if ring.len() < 4 {
            return Err(format!(
                "a ring has {} positions; at least 4 are needed",
                ring.len()
            ));
        }
        if ring.first() != ring.last() {
            return Err("a ring is not closed (first and last positions differ)".into());
        }
    }
    let mut rings = rings.iter().map(|ring| {
        ring.iter()
            .map(|p| match p.as_slice() {
                [x, y, ..] => Ok(Coord { x: *x, y: *y }),
                _ => Err("a position needs two numbers".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(LineString::new)
    });
    let exterior = rings.next().ok_or("a polygon needs an outer ring")??;
    Ok(Polygon::new(exterior, rings.collect::<Result<_, _>>()?))
}

fn check_rings(shape: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    if shape.0.is_empty() {
        return Err("a MultiPolygon needs at least one polygon".into());
    }
    for (i, p) in shape.iter().enumerate() {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            let coords = &ring.0;
            if coords.iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
                return Err(format!(
                    "polygon {i} has a coordinate that is not a finite number"
                ));
            }
            if coords.len() < 4 {
                return Err(format!(
                    "polygon {i} has a ring of {} positions; at least 4 are needed",
                    coords.len()
                ));
            }
            if coords.first() != coords.last() {
                return Err(format!(
                    "polygon {i} has a ring that is not closed (first and last positions differ)"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square() -> serde_json::Value {
        json!({"type": "Polygon", "coordinates": [[[-73.1, -14.2], [-73.0, -14.2], [-73.0, -14.3], [-73.1, -14.3], [-73.1, -14.2]]]})
    }

    #[test]
    fn accepts_polygons_and_round_trips() {
        let o = Outline::from_geojson(&square()).expect("valid");
        assert!(o.valid);
        assert_eq!(o.bbox(), [-73.1, -14.3, -73.0, -14.2]);
        assert_eq!(Outline::from_geojson(&o.to_geojson()).expect("again"), o);
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            json!({"type": "Point", "coordinates": [0, 0]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}),
            json!({"type": "Polygon", "coordinates": []}),
            json!({"type": "MultiPolygon", "coordinates": []}),
            json!({"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}),
        ];
        for case in cases {
            assert!(Outline::from_geojson(&case).is_err(), "{case}");
        }
    }

    #[test]
    fn self_intersections_are_kept_and_flagged() {
        let bowtie =
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]});
        let o = Outline::from_geojson(&bowtie).expect("accepted");
        assert!(!o.valid);
    }
}
