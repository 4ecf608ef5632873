//! `vigia import concessions` and `vigia import boundaries`: real cadastre
//! and district files in, with every bad feature reported and skipped.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::Path;

use chrono::NaiveDate;
use geo::MultiPolygon;
use serde_json::{Map, Value};

use super::crs::Crs;
use super::geometry::{multipolygon_from_geojson, Outline, BOUNDARY_LIMITS, USER_LIMITS};
use super::store::DistrictDraft;
use super::{ConcessionDraft, HolderSpec};

/// A feature that was not imported, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// Position in the file, from 0.
    pub index: usize,
    pub code: Option<String>,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub read: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub skipped: Vec<Skipped>,
    pub events_rematched: usize,
    pub crs: String,
    pub seconds: f64,
}

/// One feature as read, before any check.
struct RawFeature {
    index: usize,
    props: Map<String, Value>,
    shape: Result<MultiPolygon<f64>, String>,
}

/// Reads a GeoJSON FeatureCollection or an ESRI shapefile (by extension),
/// and the coordinate system the file declares, if any.
fn read_features(path: &Path, max_bytes: u64) -> Result<(Vec<RawFeature>, Option<Crs>), String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "shp" {
        read_shapefile(path, max_bytes)
    } else {
        read_geojson(path, max_bytes)
    }
}

fn read_geojson(path: &Path, max_bytes: u64) -> Result<(Vec<RawFeature>, Option<Crs>), String> {
    let bytes = crate::files::read(path, max_bytes)?;
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    drop(bytes);
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(format!(
            "{}: not a GeoJSON FeatureCollection",
            path.display()
        ));
    }
    let crs = match doc.pointer("/crs/properties/name").and_then(Value::as_str) {
        Some(name) => {
            Some(Crs::parse(name).map_err(|e| format!("{}: crs member: {e}", path.display()))?)
        }
        None => None,
    };
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let raw = features
        .into_iter()
        .enumerate()
        .map(|(index, f)| RawFeature {
            index,
            props: f
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| normalized(props.clone()))
                .unwrap_or_default(),
            shape: match f.get("geometry") {
                None | Some(Value::Null) => Err("no geometry (null)".into()),
                Some(g) => multipolygon_from_geojson(g),
            },
        })
        .collect();
    Ok((raw, crs))
}

fn read_shapefile(path: &Path, max_bytes: u64) -> Result<(Vec<RawFeature>, Option<Crs>), String> {
    use std::io::Cursor;
    let prj = path.with_extension("prj");
    let crs = match std::fs::read_to_string(&prj) {
        Ok(wkt) => Some(Crs::from_prj(&wkt)?),
        Err(_) => None,
    };
    // The .shp, its .dbf and its .shx (when there is one) count together
    // against the limit, each read with what the others left.
    let (dbf, shx) = (path.with_extension("dbf"), path.with_extension("shx"));
    if !dbf.exists() {
        return Err(format!(
            "{}: the shapefile has no .dbf beside it",
            path.display()
        ));
    }
    let mut left = max_bytes;
    let mut take = |p: &Path| -> Result<Vec<u8>, String> {
        let bytes = crate::files::read(p, left)
            .map_err(|e| format!("{e} (with the rest of {})", path.display()))?;
        left -= bytes.len() as u64;
        Ok(bytes)
    };
    let shp_bytes = take(path)?;
    let dbf_bytes = take(&dbf)?;
    let shx_bytes = shx.exists().then(|| take(&shx)).transpose()?;
    let shapes = match shx_bytes {
        Some(shx) => shapefile::ShapeReader::with_shx(Cursor::new(shp_bytes), Cursor::new(shx)),
        None => shapefile::ShapeReader::new(Cursor::new(shp_bytes)),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let records = shapefile::dbase::Reader::new(Cursor::new(dbf_bytes))
        .map_err(|e| format!("{}: {e}", dbf.display()))?;
    let mut reader = shapefile::Reader::new(shapes, records);
    let mut raw = Vec::new();
    for (index, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) =
            item.map_err(|e| format!("{}: feature {index}: {e}", path.display()))?;
        let props: Map<String, Value> = normalized(
            record
                .into_iter()
                .map(|(name, value)| (name, dbf_value(value)))
                .collect(),
        );
        let shape = match shape {
            shapefile::Shape::Polygon(p) => {
                MultiPolygon::<f64>::try_from(p).map_err(|e| format!("{e:?}"))
            }
            shapefile::Shape::PolygonZ(p) => {
                MultiPolygon::<f64>::try_from(p).map_err(|e| format!("{e:?}"))
            }
            shapefile::Shape::PolygonM(p) => {
                MultiPolygon::<f64>::try_from(p).map_err(|e| format!("{e:?}"))
            }
            shapefile::Shape::NullShape => Err("no geometry (null shape)".to_string()),
            other => Err(format!("a {} is not a polygon", other.shapetype())),
        };
        raw.push(RawFeature {
            index,
            props,
            shape,
        });
    }
    Ok((raw, crs))
}

fn dbf_value(value: shapefile::dbase::FieldValue) -> Value {
    use shapefile::dbase::FieldValue as F;
    match value {
        F::Character(Some(s)) | F::Memo(s) => Value::String(s.trim().to_string()),
        F::Numeric(Some(n)) | F::Double(n) | F::Currency(n) => serde_json::json!(n),
        F::Float(Some(n)) => serde_json::json!(n),
        F::Integer(n) => serde_json::json!(n),
        F::Logical(Some(b)) => Value::Bool(b),
        F::Date(Some(d)) => {
            Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }
        _ => Value::Null,
    }
}

/// Attributes as both formats can say them: a shapefile has no empty text
/// (an empty field reads as no value) and pads with spaces, so text is
/// trimmed and blank text is null. Otherwise the same concession read from
/// the GeoJSON and from the shapefile would differ, and each import of the
/// other would count it as updated.
fn normalized(props: Map<String, Value>) -> Map<String, Value> {
    props
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) if s.trim().is_empty() => Value::Null,
                Value::String(s) => Value::String(repair_mojibake(s.trim())),
                other => other,
            };
            (name, value)
        })
        .collect()
}

/// INGEMMET's cadastre spells some capitals with accents as `í` followed by
/// a C1 control character: `GARCí\u{8d}A` for `GARCÍA`, `BAZí\u{81}N` for
/// `BAZÁN` (41 values in the shared extract). The control character is the
/// low byte of the capital (U+00C0–U+00DF) shifted into U+0080–U+009F. Put
/// back, the names read as people write them and pass the one-line rule;
/// any other control character still refuses the row.
fn repair_mojibake(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('í', Some(&next)) if ('\u{80}'..='\u{9f}').contains(&next) => {
                chars.next();
                out.push(char::from_u32(next as u32 + 0x40).unwrap_or(next));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value short enough to print in a report line.
fn shortened(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
        None => text.to_string(),
    }
}

fn text_prop(props: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match props.get(*n)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn number_prop(props: &Map<String, Value>, names: &[&str]) -> Option<f64> {
    names
        .iter()
        .find_map(|n| match props.get(*n)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().replace(',', ".").parse().ok(),
            _ => None,
        })
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

/// Reads the dates INGEMMET files carry: JavaScript date strings
/// (`Tue Dec 30 2025 00:00:00 GMT-0500 (hora estándar de Perú)`), ISO dates,
/// and `30/12/2025`. Anything else is no date, never an error.
pub fn parse_filed_on(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t.get(..10).unwrap_or(t), "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%d/%m/%Y") {
        return Some(d);
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.len() >= 4 {
        let joined = format!("{} {} {}", words[1], words[2], words[3]);
        if let Ok(d) = NaiveDate::parse_from_str(&joined, "%b %d %Y") {
            return Some(d);
        }
    }
    None
}

fn progress(enabled: bool, done: usize, total: usize) {
    if enabled {
        eprint!("\r  {done}/{total} concessions");
        if done == total {
            eprintln!();
        }
    }
}

/// A cadastre file read and checked, ready to write
/// (`ops::places::import_concessions`).
pub struct ConcessionFile {
    /// What was read and skipped; the write fills in the rest.
    pub report: ImportReport,
    pub drafts: Vec<ConcessionDraft>,
    /// The coordinate system the file was read in (its UTM zone).
    pub crs: String,
}

/// Reads a cadastre file (GeoJSON or shapefile), transforms it to WGS 84 and
/// checks every feature; bad ones are listed in the report and left out.
pub fn read_concessions(
    path: &Path,
    crs_flag: Option<&str>,
    max_bytes: u64,
) -> Result<ConcessionFile, String> {
    let flag = crs_flag.map(Crs::parse).transpose()?;
    let (raw, declared) = read_features(path, max_bytes)?;
    let crs = match (flag, declared) {
        (Some(c), _) | (None, Some(c)) => c,
        // RFC 7946: a GeoJSON without `crs` is WGS 84, unless plainly not.
        (None, None) => {
            let projected = raw
                .iter()
                .filter_map(|f| f.shape.as_ref().ok())
                .take(20)
                .any(|s| {
                    s.iter()
                        .flat_map(|p| p.exterior().coords())
                        .any(|c| c.x.abs() > 180.0 || c.y.abs() > 90.0)
                });
            if projected {
                return Err(format!(
                    "{}: the coordinates are projected (metres) and the file names no coordinate system; pass --crs EPSG:N (INGEMMET's zones: EPSG:32717, 32718, 32719, or PSAD56 24877–24879)",
                    path.display()
                ));
            }
            Crs::from_epsg(4326)?
        }
    };
    let mut report = ImportReport {
        read: raw.len(),
        crs: crs.name(),
        ..Default::default()
    };
    let mut drafts = Vec::new();
    let mut seen = HashSet::new();
    for f in raw {
        let code = text_prop(&f.props, &["CODIGOU", "codigou", "CODIGO", "code"]);
        let skip = |reason: String| Skipped {
            index: f.index,
            code: code.as_deref().map(shortened),
            reason,
        };
        let Some(code_text) = code.clone() else {
            report.skipped.push(skip("no CODIGOU".into()));
            continue;
        };
        let shape = match f.shape.as_ref() {
            Ok(s) => s,
            Err(e) => {
                report.skipped.push(skip(e.clone()));
                continue;
            }
        };
        let outline = match crs
            .shape_to_wgs84(shape)
            .and_then(|s| Outline::new(s, &USER_LIMITS))
        {
            Ok(o) => o,
            Err(e) => {
                report.skipped.push(skip(e));
                continue;
            }
        };
        if !seen.insert(code_text.clone()) {
            report
                .skipped
                .push(skip("the code appears earlier in the file".into()));
            continue;
        }
        let draft = ConcessionDraft {
            name: text_prop(&f.props, &["CONCESION", "NOMBRE", "name"])
                .unwrap_or_else(|| code_text.clone()),
            code: code_text,
            holder: text_prop(&f.props, &["TIT_CONCES", "TITULAR", "holder"])
                .map_or(HolderSpec::None, HolderSpec::Name),
            hectares: number_prop(&f.props, &["HECTAGIS", "HAS", "HECTAREAS"]),
            status: text_prop(&f.props, &["D_ESTADO", "ESTADO"]),
            substance: text_prop(&f.props, &["SUSTANCIA", "D_SUSTANCIA"]),
            filed_on: text_prop(&f.props, &["FEC_DENU", "FECHA_DENU"])
                .as_deref()
                .and_then(parse_filed_on),
            outline,
            source_crs: crs.name(),
            attributes: Value::Object(f.props.clone()),
        };
        // The API's rules for the same fields: a file is no way around them.
        if let Err(why) = draft.check_fields() {
            report.skipped.push(skip(why));
            continue;
        }
        drafts.push(draft);
    }
    if drafts.is_empty() {
        return Err(format!(
            "{}: no usable concession in {} features",
            path.display(),
            report.read
        ));
    }
    Ok(ConcessionFile {
        report,
        crs: crs.name(),
        drafts,
    })
}

/// Shows how far a long import is, on a terminal.
pub fn show_progress(done: usize, total: usize) {
    progress(std::io::stderr().is_terminal(), done, total);
}

/// Property names of a district file.
#[derive(Debug, Clone)]
pub struct DistrictFields {
    pub ubigeo: String,
    pub name: String,
    pub province: String,
    pub region: String,
}

impl Default for DistrictFields {
    fn default() -> Self {
        DistrictFields {
            ubigeo: "IDDIST".into(),
            name: "NOMBDIST".into(),
            province: "NOMBPROV".into(),
            region: "NOMBDEP".into(),
        }
    }
}

#[derive(Debug, Default)]
pub struct BoundaryReport {
    pub read: usize,
    pub imported: usize,
    pub skipped: Vec<Skipped>,
    pub events_recoded: usize,
    pub seconds: f64,
}

/// Reads a district file and checks every feature; bad ones are listed in
/// the report and left out. `ops::places::import_boundaries` writes them.
pub fn read_boundaries(
    path: &Path,
    crs_flag: Option<&str>,
    fields: &DistrictFields,
    max_bytes: u64,
) -> Result<(BoundaryReport, Vec<DistrictDraft>), String> {
    let flag = crs_flag.map(Crs::parse).transpose()?;
    let (raw, declared) = read_features(path, max_bytes)?;
    let crs = match (flag, declared) {
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => Crs::from_epsg(4326)?,
    };
    let mut report = BoundaryReport {
        read: raw.len(),
        ..Default::default()
    };
    let mut drafts = Vec::new();
    for f in raw {
        let label = text_prop(&f.props, &[fields.name.as_str()]);
        let skip = |reason: String| Skipped {
            index: f.index,
            code: label.clone(),
            reason,
        };
        let Some(ubigeo) = text_prop(&f.props, &[fields.ubigeo.as_str()])
            .filter(|u| u.len() == 6 && u.bytes().all(|b| b.is_ascii_digit()))
        else {
            report
                .skipped
                .push(skip(format!("no 6-digit ubigeo in {}", fields.ubigeo)));
            continue;
        };
        let outline = match f
            .shape
            .and_then(|s| crs.shape_to_wgs84(&s))
            .and_then(|s| Outline::new(s, &BOUNDARY_LIMITS))
        {
            Ok(o) => o,
            Err(e) => {
                report.skipped.push(skip(e));
                continue;
            }
        };
        drafts.push(DistrictDraft {
            ubigeo,
            name: label.clone().unwrap_or_default(),
            province: text_prop(&f.props, &[fields.province.as_str()]).unwrap_or_default(),
            region: text_prop(&f.props, &[fields.region.as_str()]).unwrap_or_default(),
            outline,
        });
    }
    if drafts.is_empty() {
        return Err(format!(
            "{}: no usable district in {} features",
            path.display(),
            report.read
        ));
    }
    report.imported = drafts.len();
    Ok((report, drafts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_dates_ingemmet_writes() {
        let d = NaiveDate::from_ymd_opt(2025, 12, 30);
        assert_eq!(
            parse_filed_on("Tue Dec 30 2025 00:00:00 GMT-0500 (hora estándar de Perú)"),
            d
        );
        assert_eq!(parse_filed_on("2025-12-30"), d);
        assert_eq!(parse_filed_on("2025-12-30T00:00:00Z"), d);
        assert_eq!(parse_filed_on("30/12/2025"), d);
        assert_eq!(parse_filed_on("Invalid Date"), None);
        assert_eq!(parse_filed_on(""), None);
    }

    #[test]
    fn the_cadastres_broken_capitals_are_put_back() {
        assert_eq!(
            super::repair_mojibake("GARCí\u{8d}A BAZí\u{81}N"),
            "GARCÍA BAZÁN"
        );
        assert_eq!(super::repair_mojibake("MINERíA"), "MINERíA");
        assert_eq!(super::repair_mojibake("A\u{85}B"), "A\u{85}B");
    }
}
