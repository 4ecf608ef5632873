//! Polygon geometry in and out: GeoJSON parsing with the checks users are
//! owed a clear 422 for, and the bounding boxes the index and filters use.

use geo::{
    coordinate_position::CoordPos, BoundingRect, Coord, CoordinatePosition, Intersects, Line,
    LineIntersection, LineString, MultiPolygon, Polygon,
};

/// Why a geometry was refused.
pub type GeometryError = String;

/// How big a geometry may be. Checking costs time with the number of
/// points, and a request is checked before its transaction but still on a
/// worker of the blocking pool: a bound keeps every check short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Positions over all rings, closing positions included.
    pub points: usize,
    /// Rings (outer rings and holes) over all polygons.
    pub rings: usize,
    pub polygons: usize,
}

/// What a client may send: a watch's drawn area, a concession through the
/// API or from a cadastre file. The INGEMMET cadastre's largest concession
/// has 389 positions, 18 rings and 7 polygons.
pub const USER_LIMITS: Limits = Limits {
    points: 10_000,
    rings: 500,
    polygons: 100,
};

/// District boundaries, read only by `vigia import boundaries` from a file
/// an administrator chose: full-resolution INEI limits are far larger than
/// the simplified ones in the shared data (202 positions at most).
pub const BOUNDARY_LIMITS: Limits = Limits {
    points: 500_000,
    rings: 5_000,
    polygons: 2_000,
};

/// A checked polygon outline in WGS 84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    pub shape: MultiPolygon<f64>,
    /// False for self-intersecting outlines, which the real cadastre has and
    /// which are kept as they are (point-in-polygon still answers).
    pub valid: bool,
}

impl Outline {
    /// Checks a longitude/latitude multipolygon: within `limits`, at least
    /// one polygon, rings of at least 4 closed positions, finite coordinates
    /// in range; then whether it is valid (`simple_features`).
    pub fn new(shape: MultiPolygon<f64>, limits: &Limits) -> Result<Self, GeometryError> {
        check_size(&shape, limits)?;
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
        let valid = simple_features(&shape)?;
        Ok(Outline { shape, valid })
    }

    /// Parses a GeoJSON Polygon or MultiPolygon (longitude, latitude). The
    /// size is counted on the JSON first, before anything is built from it.
    pub fn from_geojson(value: &serde_json::Value, limits: &Limits) -> Result<Self, GeometryError> {
        check_json_size(value, limits)?;
        Outline::new(multipolygon_from_geojson(value)?, limits)
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

/// Degrees of longitude one screen pixel spans at a web-map zoom (256-pixel
/// tiles): 360 / (256 · 2^zoom). Zooms past 20 count as 20.
pub fn pixel_degrees(zoom: u8) -> f64 {
    360.0 / (256.0 * f64::from(1u32 << zoom.min(20)))
}

/// An outline as a map draws it at `zoom`, in GeoJSON (a Polygon, or a
/// MultiPolygon when it has several): simplified with a tolerance of about
/// one screen pixel (Visvalingam–Whyatt, topology-preserving: no ring comes
/// to cross itself or falls below four positions), then rounded to 5
/// decimals (about 1 m; 6 from zoom 16, where a pixel is under 2.5 m).
/// A district of 200 positions drawn over all of Peru keeps a handful.
pub fn for_map(shape: &MultiPolygon<f64>, zoom: u8) -> serde_json::Value {
    use geo::SimplifyVwPreserve;
    let pixel = pixel_degrees(zoom);
    // Visvalingam–Whyatt's tolerance is an area: a triangle of about a
    // pixel by a pixel.
    let simplified = shape.simplify_vw_preserve(pixel * pixel);
    let scale = if zoom < 16 { 1e5 } else { 1e6 };
    let round = |v: f64| (v * scale).round() / scale;
    let ring = |line: &LineString<f64>| -> Option<Vec<[f64; 2]>> {
        let mut positions: Vec<[f64; 2]> = Vec::with_capacity(line.0.len());
        for c in line.coords() {
            let position = [round(c.x), round(c.y)];
            if positions.last() != Some(&position) {
                positions.push(position);
            }
        }
        // Rounding can merge the positions of a ring smaller than a few
        // metres: such a ring is no longer drawable and is left out.
        (positions.len() >= 4 && positions.first() == positions.last()).then_some(positions)
    };
    let polygons: Vec<Vec<Vec<[f64; 2]>>> = simplified
        .iter()
        .filter_map(|p| {
            let mut rings = vec![ring(p.exterior())?];
            rings.extend(p.interiors().iter().filter_map(ring));
            Some(rings)
        })
        .collect();
    match <[_; 1]>::try_from(polygons) {
        Ok([polygon]) => serde_json::json!({"type": "Polygon", "coordinates": polygon}),
        Err(polygons) => serde_json::json!({"type": "MultiPolygon", "coordinates": polygons}),
    }
}

/// A stored GeoJSON outline as [`for_map`] draws it at `zoom`; one that
/// does not read as a polygon is given back as it is.
pub fn geojson_for_map(value: &serde_json::Value, zoom: u8) -> serde_json::Value {
    match multipolygon_from_geojson(value) {
        Ok(shape) => for_map(&shape, zoom),
        Err(_) => value.clone(),
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

/// Counts polygons, rings and positions of a GeoJSON Polygon or
/// MultiPolygon as it came, without copying it; other shapes are left to
/// the parser to name.
fn check_json_size(value: &serde_json::Value, limits: &Limits) -> Result<(), GeometryError> {
    use serde_json::Value;
    let coordinates = value.get("coordinates").and_then(Value::as_array);
    let polygons: Vec<&Vec<Value>> = match (value.get("type").and_then(Value::as_str), coordinates)
    {
        (Some("Polygon"), Some(rings)) => vec![rings],
        (Some("MultiPolygon"), Some(polygons)) => {
            polygons.iter().filter_map(Value::as_array).collect()
        }
        _ => return Ok(()),
    };
    let rings = polygons.iter().map(|p| p.len()).sum();
    let points = polygons
        .iter()
        .flat_map(|p| p.iter())
        .filter_map(Value::as_array)
        .map(Vec::len)
        .sum();
    within(polygons.len(), rings, points, limits)
}

fn check_size(shape: &MultiPolygon<f64>, limits: &Limits) -> Result<(), GeometryError> {
    let rings = shape.iter().map(|p| 1 + p.interiors().len()).sum();
    let points = shape
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| r.0.len())
        .sum();
    within(shape.0.len(), rings, points, limits)
}

fn within(
    polygons: usize,
    rings: usize,
    points: usize,
    limits: &Limits,
) -> Result<(), GeometryError> {
    let over = |n: usize, max: usize, what: &str| {
        Err(format!("has {n} {what}; at most {max} are accepted"))
    };
    if points > limits.points {
        return over(points, limits.points, "positions");
    }
    if rings > limits.rings {
        return over(rings, limits.rings, "rings");
    }
    if polygons > limits.polygons {
        return over(polygons, limits.polygons, "polygons");
    }
    Ok(())
}

/// One edge of a ring: which ring, its place in the ring.
#[derive(Debug, Clone, Copy)]
struct Edge {
    line: Line<f64>,
    ring: usize,
    index: usize,
    ring_edges: usize,
}

/// Pairs of edges with overlapping boxes looked at, per edge, before the
/// check gives up. A real outline has two or three (its neighbours); an
/// outline built so that every edge's box overlaps every other's (long
/// parallel teeth) has as many as it has edges, which would make the check
/// quadratic again.
const PAIRS_PER_EDGE: usize = 100;

/// Whether the shape is valid in the OGC sense that matters here: no ring
/// crosses or touches itself, rings meet other rings at most at points,
/// holes lie inside their outer ring and not in each other, polygons do not
/// overlap. `geo`'s `Validation` compares every edge with every other
/// (quadratic: 60,000 positions took 25 s). Here an R-tree of the edges'
/// boxes gives the pairs that may meet (n·log n), `geo`'s
/// `line_intersection` says how they meet, and one position of each ring
/// is placed against the others (linear per ring pair; rings are bounded).
/// `geo`'s sweep (`Intersections`) was not enough: it pairs every edges
/// whose x ranges overlap, and the vertical edges of a plain square drawn
/// with many positions all share one x. Rings that meet at a single point
/// are taken as touching, not crossing.
/// Err when the edges' boxes overlap so much that the check would turn
/// quadratic.
fn simple_features(shape: &MultiPolygon<f64>) -> Result<bool, GeometryError> {
    use rstar::primitives::{GeomWithData, Rectangle};
    use rstar::{RTree, AABB};
    // Repeated consecutive positions are allowed and carry no edge.
    let rings: Vec<Vec<Coord<f64>>> = shape
        .iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .map(|r| {
            let mut coords = r.0.clone();
            coords.dedup();
            coords
        })
        .collect();
    if rings.iter().any(|c| c.len() < 4) {
        return Ok(false);
    }
    let edges: Vec<Edge> = rings
        .iter()
        .enumerate()
        .flat_map(|(ring, coords)| {
            let ring_edges = coords.len() - 1;
            coords.windows(2).enumerate().map(move |(index, w)| Edge {
                line: Line::new(w[0], w[1]),
                ring,
                index,
                ring_edges,
            })
        })
        .collect();
    let corners = |l: &Line<f64>| {
        (
            [l.start.x.min(l.end.x), l.start.y.min(l.end.y)],
            [l.start.x.max(l.end.x), l.start.y.max(l.end.y)],
        )
    };
    let tree = RTree::bulk_load(
        edges
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let (lo, hi) = corners(&e.line);
                GeomWithData::new(Rectangle::from_corners(lo, hi), i)
            })
            .collect(),
    );
    let budget = PAIRS_PER_EDGE.saturating_mul(edges.len());
    let mut pairs = 0usize;
    for (i, a) in edges.iter().enumerate() {
        let (lo, hi) = corners(&a.line);
        for candidate in tree.locate_in_envelope_intersecting(&AABB::from_corners(lo, hi)) {
            let j = candidate.data;
            if j <= i {
                continue;
            }
            pairs += 1;
            if pairs > budget {
                return Err(format!(
                    "has edges so entangled that checking them would take too long \
                     (more than {PAIRS_PER_EDGE} edges near each edge on average)"
                ));
            }
            let b = &edges[j];
            let Some(meet) = geo::line_intersection::line_intersection(a.line, b.line) else {
                continue;
            };
            let bad = if a.ring == b.ring {
                let gap = a.index.abs_diff(b.index);
                let adjacent = gap == 1 || gap == a.ring_edges - 1;
                // Neighbours share their vertex and nothing more; a spike
                // (folding back) is collinear.
                !adjacent || matches!(meet, LineIntersection::Collinear { .. })
            } else {
                matches!(meet, LineIntersection::Collinear { .. }) || meet.is_proper()
            };
            if bad {
                return Ok(false);
            }
        }
    }
    // No edges cross, so a ring is inside another exactly when any of its
    // positions off the other's boundary is.
    let inside = |inner: &[Coord<f64>], outer: &Polygon<f64>| -> bool {
        inner
            .iter()
            .map(|c| outer.coordinate_position(c))
            .find(|pos| *pos != CoordPos::OnBoundary)
            == Some(CoordPos::Inside)
    };
    let ring_polygon =
        |coords: &[Coord<f64>]| Polygon::new(LineString::new(coords.to_vec()), vec![]);
    let mut first = 0;
    for poly in shape.iter() {
        let holes = &rings[first + 1..first + 1 + poly.interiors().len()];
        let exterior = ring_polygon(&rings[first]);
        for (i, hole) in holes.iter().enumerate() {
            if !inside(hole, &exterior) {
                return Ok(false);
            }
            for other in &holes[i + 1..] {
                if boxes_meet(hole, other)
                    && (inside(hole, &ring_polygon(other)) || inside(other, &ring_polygon(hole)))
                {
                    return Ok(false);
                }
            }
        }
        first += 1 + poly.interiors().len();
    }
    for (i, a) in shape.iter().enumerate() {
        for b in shape.iter().skip(i + 1) {
            let (Some(ra), Some(rb)) = (a.bounding_rect(), b.bounding_rect()) else {
                continue;
            };
            if ra.intersects(&rb) && (inside(&a.exterior().0, b) || inside(&b.exterior().0, a)) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn boxes_meet(a: &[Coord<f64>], b: &[Coord<f64>]) -> bool {
    let rect = |c: &[Coord<f64>]| {
        c.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |[x0, y0, x1, y1], p| [x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y)],
        )
    };
    let ([ax0, ay0, ax1, ay1], [bx0, by0, bx1, by1]) = (rect(a), rect(b));
    ax0 <= bx1 && bx0 <= ax1 && ay0 <= by1 && by0 <= ay1
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
        let o = Outline::from_geojson(&square(), &USER_LIMITS).expect("valid");
        assert!(o.valid);
        assert_eq!(o.bbox(), [-73.1, -14.3, -73.0, -14.2]);
        assert_eq!(
            Outline::from_geojson(&o.to_geojson(), &USER_LIMITS).expect("again"),
            o
        );
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
            assert!(
                Outline::from_geojson(&case, &USER_LIMITS).is_err(),
                "{case}"
            );
        }
    }

    #[test]
    fn self_intersections_are_kept_and_flagged() {
        let bowtie =
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]});
        let o = Outline::from_geojson(&bowtie, &USER_LIMITS).expect("accepted");
        assert!(!o.valid);
    }

    /// A circle of `n` positions: valid, and as many edges as positions.
    fn circle(n: usize) -> serde_json::Value {
        let ring: Vec<[f64; 2]> = (0..=n)
            .map(|i| {
                let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                [-73.0 + 0.1 * a.cos(), -14.0 + 0.1 * a.sin()]
            })
            .collect();
        json!({"type": "Polygon", "coordinates": [ring]})
    }

    #[test]
    fn sizes_beyond_the_limits_are_named() {
        let limits = Limits {
            points: 100,
            rings: 2,
            polygons: 1,
        };
        let err = Outline::from_geojson(&circle(200), &limits).unwrap_err();
        assert!(err.contains("201 positions; at most 100"), "{err}");
        let square = square();
        let ring = square["coordinates"][0].clone();
        let holes = json!({"type": "Polygon", "coordinates": [ring, ring, ring]});
        let err = Outline::from_geojson(&holes, &limits).unwrap_err();
        assert!(err.contains("3 rings; at most 2"), "{err}");
        let two = json!({"type": "MultiPolygon", "coordinates": [[ring], [ring]]});
        let err = Outline::from_geojson(&two, &limits).unwrap_err();
        assert!(err.contains("2 polygons; at most 1"), "{err}");
        // Outline::new counts too (shapefiles come without JSON).
        let shape = multipolygon_from_geojson(&circle(200)).expect("parsed");
        assert!(Outline::new(shape, &limits).is_err());
    }

    #[test]
    fn many_positions_are_checked_without_comparing_every_pair() {
        // 9,999 positions: the whole-pairs check took seconds on this.
        let o = Outline::from_geojson(&circle(9_998), &USER_LIMITS).expect("accepted");
        assert!(o.valid);
    }

    #[test]
    fn long_straight_runs_and_combs_are_cheap() {
        // Many positions on each side of a square, and horizontal teeth:
        // each edge's box meets only its neighbours'.
        let side: Vec<[f64; 2]> = (0..2_000).map(|i| [0.0, i as f64 * 0.001]).collect();
        let mut ring = side.clone();
        ring.extend(side.iter().map(|[_, y]| [*y, 2.0]));
        ring.extend(side.iter().map(|[_, y]| [2.0, 2.0 - y]));
        ring.extend(side.iter().map(|[_, y]| [2.0 - y, 0.0]));
        ring.push([0.0, 0.0]);
        let square = json!({"type": "Polygon", "coordinates": [ring]});
        assert!(
            Outline::from_geojson(&square, &USER_LIMITS)
                .expect("checked")
                .valid
        );
        let mut ring = vec![[0.0, 0.0]];
        for i in 0..2_000 {
            let y = i as f64 * 0.001;
            ring.extend([
                [1.0, y],
                [1.0, y + 0.0005],
                [0.01, y + 0.0005],
                [0.01, y + 0.001],
            ]);
        }
        ring.extend([[0.0, 2.0], [0.0, 0.0]]);
        let comb = json!({"type": "Polygon", "coordinates": [ring]});
        assert!(
            Outline::from_geojson(&comb, &USER_LIMITS)
                .expect("checked")
                .valid
        );
    }

    #[test]
    fn teeth_whose_boxes_all_overlap_are_refused() {
        // Long parallel diagonal teeth: every edge's box overlaps every
        // other's, so no index narrows the pairs down.
        let h = 0.0001;
        let mut ring = vec![[-1.0, 0.0]];
        for i in 0..2_000 {
            let y = i as f64 * 2.0 * h;
            ring.extend([[0.0, y], [1.0, 1.0 + y], [1.0, 1.0 + y + h], [0.0, y + h]]);
        }
        ring.extend([[-1.0, 4_000.0 * h], [-1.0, 0.0]]);
        let teeth = json!({"type": "Polygon", "coordinates": [ring]});
        let err = Outline::from_geojson(&teeth, &USER_LIMITS).unwrap_err();
        assert!(err.contains("entangled"), "{err}");
    }

    #[test]
    fn validity_agrees_with_geo_on_small_cases() {
        use geo::Validation;
        let cases = [
            // a hole inside, touching nothing
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[2,2],[3,2],[3,3],[2,3],[2,2]]]}),
            // a hole outside its outer ring
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[20,2],[23,2],[23,3],[20,3],[20,2]]]}),
            // a hole crossing its outer ring
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[8,2],[12,2],[12,3],[8,3],[8,2]]]}),
            // a hole touching the outer ring at one point
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[0,5],[3,4],[3,6],[0,5]]]}),
            // a hole in a hole
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[1,1],[9,1],[9,9],[1,9],[1,1]], [[2,2],[3,2],[3,3],[2,3],[2,2]]]}),
            // overlapping polygons
            json!({"type": "MultiPolygon", "coordinates": [[[[0,0],[10,0],[10,10],[0,10],[0,0]]], [[[2,2],[3,2],[3,3],[2,3],[2,2]]]]}),
            // polygons sharing an edge
            json!({"type": "MultiPolygon", "coordinates": [[[[0,0],[1,0],[1,1],[0,1],[0,0]]], [[[1,0],[2,0],[2,1],[1,1],[1,0]]]]}),
            // separate polygons, one in the other's hole
            json!({"type": "MultiPolygon", "coordinates": [[[[0,0],[10,0],[10,10],[0,10],[0,0]], [[1,1],[9,1],[9,9],[1,9],[1,1]]], [[[2,2],[3,2],[3,3],[2,3],[2,2]]]]}),
            // a spike
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[10,20],[10,10],[0,10],[0,0]]]}),
            // a repeated position
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,0],[10,10],[0,10],[0,0]]]}),
            // a ring touching itself at a vertex
            json!({"type": "Polygon", "coordinates": [[[0,0],[10,0],[5,5],[10,10],[0,10],[5,5],[0,0]]]}),
        ];
        for case in cases {
            let shape = multipolygon_from_geojson(&case).expect("parsed");
            let ours = simple_features(&shape).expect("checked");
            assert_eq!(ours, shape.is_valid(), "{case}");
        }
    }

    /// The whole INGEMMET layer: the sweep says what `geo`'s pairwise check
    /// says, feature by feature (7 are self-intersecting).
    #[test]
    fn validity_agrees_with_geo_on_the_cadastre() {
        use geo::Validation;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/ingemmet-concessions-utm17s.geojson");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("SKIPPED: {} is absent", path.display());
            return;
        };
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut invalid = 0;
        for f in doc["features"].as_array().expect("features") {
            let shape = multipolygon_from_geojson(&f["geometry"]).expect("parsed");
            let ours = simple_features(&shape).expect("checked");
            assert_eq!(ours, shape.is_valid(), "{}", f["properties"]["CODIGOU"]);
            invalid += usize::from(!ours);
        }
        assert_eq!(invalid, 7);
        // The districts too, where they have a geometry.
        let path = path.with_file_name("peru-districts.geojson");
        let text = std::fs::read_to_string(&path).expect("districts beside the cadastre");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        for f in doc["features"].as_array().expect("features") {
            if let Ok(shape) = multipolygon_from_geojson(&f["geometry"]) {
                let ours = simple_features(&shape).expect("checked");
                assert_eq!(ours, shape.is_valid(), "{}", f["properties"]["IDDIST"]);
            }
        }
    }
}
