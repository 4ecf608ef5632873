//! The coordinate systems INGEMMET and INEI publish in, and the transform to
//! WGS 84 longitude/latitude with proj4rs.

use proj4rs::proj::Proj;

/// EPSG codes Vigía reads: WGS 84 lon/lat, WGS 84 / UTM 17S–19S,
/// PSAD56 / UTM 17S–19S.
pub const SUPPORTED: [u16; 7] = [4326, 32717, 32718, 32719, 24877, 24878, 24879];

/// The datum shift PROJ chooses for PSAD56 in Peru ("PSAD56 to WGS 84 (8)").
/// crs-definitions carries the continent-wide one (-288,175,-376), which
/// lands about 20 m away here.
const PSAD56_PERU_TOWGS84: &str = "+towgs84=-279,175,-379,0,0,0,0";

#[derive(Debug)]
pub struct Crs {
    pub epsg: u16,
    proj: Proj,
    wgs84: Proj,
}

impl Crs {
    pub fn from_epsg(epsg: u16) -> Result<Self, String> {
        if !SUPPORTED.contains(&epsg) {
            return Err(format!(
                "EPSG:{epsg} is not supported; use one of {}",
                SUPPORTED.map(|c| format!("EPSG:{c}")).join(", ")
            ));
        }
        let def = crs_definitions::from_code(epsg)
            .ok_or_else(|| format!("EPSG:{epsg} has no definition"))?;
        let mut proj4 = def.proj4.to_string();
        if (24877..=24879).contains(&epsg) {
            proj4 = proj4
                .split_whitespace()
                .map(|p| {
                    if p.starts_with("+towgs84=") {
                        PSAD56_PERU_TOWGS84
                    } else {
                        p
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
        let proj = Proj::from_proj_string(&proj4).map_err(|e| format!("EPSG:{epsg}: {e}"))?;
        let wgs84 = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
            .map_err(|e| e.to_string())?;
        Ok(Crs { epsg, proj, wgs84 })
    }

    /// Reads `EPSG:32717`, `epsg:32717`, `32717`, and the OGC URNs GeoJSON
    /// files carry (`urn:ogc:def:crs:EPSG::32717`, `…:OGC:1.3:CRS84`).
    pub fn parse(name: &str) -> Result<Self, String> {
        let n = name.trim();
        if n.ends_with("CRS84") || n.ends_with("crs84") {
            return Crs::from_epsg(4326);
        }
        let code = n.rsplit(':').next().unwrap_or(n);
        let code: u16 = code
            .parse()
            .map_err(|_| format!("unknown coordinate system {name:?}"))?;
        Crs::from_epsg(code)
    }

    /// Reads an ESRI .prj (WKT), by the names ArcGIS and GDAL write.
    pub fn from_prj(wkt: &str) -> Result<Self, String> {
        let name = wkt
            .split('"')
            .nth(1)
            .ok_or_else(|| "the .prj file holds no coordinate system name".to_string())?;
        let folded: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let epsg = match folded.as_str() {
            "gcswgs1984" | "wgs84" => 4326,
            "wgs1984utmzone17s" | "wgs84utmzone17s" => 32717,
            "wgs1984utmzone18s" | "wgs84utmzone18s" => 32718,
            "wgs1984utmzone19s" | "wgs84utmzone19s" => 32719,
            "psad1956utmzone17s" | "psad56utmzone17s" => 24877,
            "psad1956utmzone18s" | "psad56utmzone18s" => 24878,
            "psad1956utmzone19s" | "psad56utmzone19s" => 24879,
            _ => {
                return Err(format!(
                    "unknown coordinate system {name:?} in the .prj file; pass --crs EPSG:N"
                ))
            }
        };
        Crs::from_epsg(epsg)
    }

    pub fn name(&self) -> String {
        format!("EPSG:{}", self.epsg)
    }

    /// One position to WGS 84 (longitude, latitude) in degrees.
    pub fn to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        if self.epsg == 4326 {
            return Ok((x, y));
        }
        let mut point = (x, y, 0.0);
        proj4rs::transform::transform(&self.proj, &self.wgs84, &mut point)
            .map_err(|e| format!("cannot transform ({x}, {y}) from EPSG:{}: {e}", self.epsg))?;
        Ok((point.0.to_degrees(), point.1.to_degrees()))
    }

    /// A whole multipolygon to WGS 84.
    pub fn shape_to_wgs84(
        &self,
        shape: &geo::MultiPolygon<f64>,
    ) -> Result<geo::MultiPolygon<f64>, String> {
        use geo::MapCoords;
        shape.try_map_coords(|c| self.to_wgs84(c.x, c.y).map(|(x, y)| geo::Coord { x, y }))
    }

    /// WGS 84 (longitude, latitude) to this system (for tests and tools).
    pub fn from_wgs84(&self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        if self.epsg == 4326 {
            return Ok((lon, lat));
        }
        let mut point = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&self.wgs84, &self.proj, &mut point)
            .map_err(|e| e.to_string())?;
        Ok((point.0, point.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference points of shared/data/README.md, computed with PROJ 9.
    const REFERENCE: [(u16, f64, f64, f64, f64); 6] = [
        (32717, -79.0, -7.0, 720945.89, 9225781.03),
        (24877, -79.0, -7.0, 721196.79, 9226153.06),
        (32718, -73.0884214, -14.2190728, 706269.68, 8427199.69),
        (24878, -73.0884214, -14.2190728, 706497.19, 8427564.55),
        (32719, -70.0, -15.5, 392741.72, 8286120.41),
        (24879, -70.0, -15.5, 392937.85, 8286488.61),
    ];

    #[test]
    fn matches_proj_on_the_reference_points() {
        for (epsg, lon, lat, easting, northing) in REFERENCE {
            let crs = Crs::from_epsg(epsg).expect("supported");
            // WGS 84 / UTM within 5 cm; PSAD56 within 2 m (same datum shift as PROJ).
            let tolerance = if epsg > 30000 { 0.05 } else { 2.0 };
            let (x, y) = crs.from_wgs84(lon, lat).expect("forward");
            assert!(
                (x - easting).abs() < tolerance && (y - northing).abs() < tolerance,
                "EPSG:{epsg} forward: {x} {y}"
            );
            let (back_lon, back_lat) = crs.to_wgs84(easting, northing).expect("inverse");
            let metres = ((back_lon - lon).powi(2) + (back_lat - lat).powi(2)).sqrt() * 111_000.0;
            assert!(
                metres < tolerance * 2.0,
                "EPSG:{epsg} inverse off by {metres} m"
            );
        }
    }

    #[test]
    fn reads_names_and_prj() {
        assert_eq!(Crs::parse("EPSG:32717").expect("ok").epsg, 32717);
        assert_eq!(
            Crs::parse("urn:ogc:def:crs:EPSG::24878").expect("ok").epsg,
            24878
        );
        assert_eq!(
            Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84")
                .expect("ok")
                .epsg,
            4326
        );
        assert!(Crs::parse("EPSG:3857").is_err());
        assert!(Crs::parse("mercator").is_err());
        let prj = r#"PROJCS["WGS_1984_UTM_Zone_17S",GEOGCS["GCS_WGS_1984"]]"#;
        assert_eq!(Crs::from_prj(prj).expect("ok").epsg, 32717);
        assert_eq!(
            Crs::from_prj(r#"PROJCS["PSAD_1956_UTM_Zone_18S"]"#)
                .expect("ok")
                .epsg,
            24878
        );
        assert!(Crs::from_prj(r#"PROJCS["Lambert"]"#).is_err());
    }
}
