//! "Cifras": the figures page. Three charts drawn on the server as SVG
//! (askama templates of rects, paths and text: no chart library, no
//! script needed to see them): incidents per month by type, stacked; a
//! choropleth of the regions (of a region's provinces when one is
//! chosen); the holders whose concessions see most incidents. Each chart
//! downloads as SVG (`/cifras/<chart>.svg`) and as CSV (the API's
//! `/api/v1/stats.csv` with the same filters); `static/js/figures.js`
//! adds PNG. The numbers are also a table under each chart.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::incidents::{encode_pairs, filter_pairs, Pairs};
use super::{Ctx, SignedIn};
use crate::api::events::StatsQuery;
use crate::db::Db;
use crate::error::AppError;
use crate::events::stats::{Counts, GroupKey, Stats};
use crate::events::store::EventFilter;
use crate::events::EventType;
use crate::i18n::{fill, Label, Texts};
use crate::places::store::{admin_outlines as place_outlines, AdminOutline};
use crate::places::PlaceIndex;

/// The holders shown: the ten with most incidents.
const TOP_HOLDERS: usize = 10;
/// Past this many months the first chart counts years.
const MAX_MONTH_BARS: usize = 120;

/// The colour of each incident type, as the map's and the list's dots
/// (`static/css/vigia.css`, `.type-*`).
pub fn type_colour(t: EventType) -> &'static str {
    match t {
        EventType::Protest => "#1f77b4",
        EventType::Blockade => "#ff7f0e",
        EventType::Riot => "#d62728",
        EventType::PropertyDestruction => "#8c1c13",
        EventType::Clash => "#e377c2",
        EventType::Attack => "#7b1fa2",
        EventType::Occupation => "#8c564b",
        EventType::Eviction => "#17becf",
        EventType::Arrest => "#393b79",
        EventType::Agreement => "#2ca02c",
        EventType::EnvironmentalIncident => "#bcbd22",
        EventType::Other => "#7f7f7f",
    }
}

/// The choropleth's classes, light to dark (ColorBrewer YlOrRd), and the
/// colour of a place with none.
const CLASS_COLOURS: [&str; 5] = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
const EMPTY_COLOUR: &str = "#eeeeee";

// ---------------------------------------------------------------- drawing

/// One thing drawn in a chart.
pub enum Mark {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: &'static str,
        tip: String,
    },
    /// Paths of one place, filled alike, with one tooltip.
    Area {
        paths: Vec<String>,
        fill: &'static str,
        tip: String,
    },
    Text {
        x: f64,
        y: f64,
        anchor: &'static str,
        size: u32,
        text: String,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
    },
}

/// A chart: an SVG with a title and a description for screen readers.
#[derive(Template)]
#[template(path = "figure.svg", escape = "html")]
pub struct Chart {
    /// Unique in the page: ids of the title and description hang on it.
    pub id: &'static str,
    pub width: f64,
    pub height: f64,
    pub title: String,
    pub desc: String,
    pub marks: Vec<Mark>,
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn text(x: f64, y: f64, anchor: &'static str, size: u32, text: impl Into<String>) -> Mark {
    Mark::Text {
        x: round(x),
        y: round(y),
        anchor,
        size,
        text: text.into(),
    }
}

/// A step of 1, 2 or 5 × 10ⁿ giving about five ticks up to `max`.
fn tick_step(max: i64) -> i64 {
    let rough = (max as f64 / 5.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    step.max(1.0) as i64
}

/// Legend swatches in rows across `width`, from `top`; returns the marks
/// and the height they take.
fn legend(entries: &[(&'static str, String)], left: f64, top: f64, width: f64) -> (Vec<Mark>, f64) {
    let mut marks = Vec::new();
    let (mut x, mut y) = (left, top);
    for (fill, label) in entries {
        let w = 22.0 + 7.0 * label.chars().count() as f64;
        if x + w > width && x > left {
            x = left;
            y += 20.0;
        }
        marks.push(Mark::Rect {
            x: round(x),
            y: round(y),
            w: 12.0,
            h: 12.0,
            fill,
            tip: label.clone(),
        });
        marks.push(text(x + 16.0, y + 11.0, "start", 12, label.clone()));
        x += w + 12.0;
    }
    (marks, y - top + 20.0)
}

// ---------------------------------------------------------------- the charts

/// Incidents per period and type, for the first chart and its table.
pub struct PeriodRow {
    pub period: String,
    pub by_type: Vec<i64>,
    pub total: i64,
}

pub struct Periods {
    /// `true`: years (the months were too many for bars).
    pub yearly: bool,
    /// The types with incidents, in the catalogue's order.
    pub types: Vec<EventType>,
    pub rows: Vec<PeriodRow>,
}

/// Every month (or year) from the first to the last with incidents, gaps
/// included as zero.
fn periods(stats: &Stats) -> Periods {
    let mut counts: BTreeMap<String, HashMap<EventType, i64>> = BTreeMap::new();
    for g in &stats.groups {
        let (Some(Some(month)), Some(Some(ty))) = (
            g.value(GroupKey::Month),
            g.value(GroupKey::EventType)
                .map(|t| t.as_deref().and_then(EventType::parse)),
        ) else {
            continue;
        };
        *counts
            .entry(month.clone())
            .or_default()
            .entry(ty)
            .or_default() += g.counts.count;
    }
    let months = |first: &str, last: &str| -> Vec<String> {
        let parse = |m: &str| -> Option<(i32, u32)> {
            Some((m.get(..4)?.parse().ok()?, m.get(5..7)?.parse().ok()?))
        };
        let (Some(mut at), Some(end)) = (parse(first), parse(last)) else {
            return Vec::new();
        };
        let mut all = Vec::new();
        while at <= end {
            all.push(format!("{:04}-{:02}", at.0, at.1));
            at = if at.1 == 12 {
                (at.0 + 1, 1)
            } else {
                (at.0, at.1 + 1)
            };
        }
        all
    };
    let mut all = match (counts.keys().next(), counts.keys().last()) {
        (Some(first), Some(last)) => months(first, last),
        _ => Vec::new(),
    };
    let yearly = all.len() > MAX_MONTH_BARS;
    if yearly {
        let mut years: BTreeMap<String, HashMap<EventType, i64>> = BTreeMap::new();
        for (month, by_type) in std::mem::take(&mut counts) {
            let year = years.entry(month[..4].to_string()).or_default();
            for (ty, n) in by_type {
                *year.entry(ty).or_default() += n;
            }
        }
        all = years.keys().cloned().collect();
        if let (Some(first), Some(last)) = (all.first(), all.last()) {
            let (first, last): (i32, i32) = (first.parse().unwrap_or(0), last.parse().unwrap_or(0));
            all = (first..=last).map(|y| format!("{y:04}")).collect();
        }
        counts = years;
    }
    let types: Vec<EventType> = EventType::ALL
        .iter()
        .copied()
        .filter(|ty| counts.values().any(|m| m.contains_key(ty)))
        .collect();
    let rows = all
        .into_iter()
        .map(|period| {
            let by_type: Vec<i64> = types
                .iter()
                .map(|ty| {
                    counts
                        .get(&period)
                        .and_then(|m| m.get(ty))
                        .copied()
                        .unwrap_or(0)
                })
                .collect();
            PeriodRow {
                total: by_type.iter().sum(),
                period,
                by_type,
            }
        })
        .collect();
    Periods {
        yearly,
        types,
        rows,
    }
}

fn periods_chart(p: &Periods, t: &Texts) -> Chart {
    let (width, left, right, top) = (820.0, 56.0, 12.0, 16.0);
    let plot_h = 260.0;
    let mut marks = Vec::new();
    let max = p.rows.iter().map(|r| r.total).max().unwrap_or(0).max(1);
    let step = tick_step(max);
    let top_value = ((max + step - 1) / step) * step;
    let scale = plot_h / top_value as f64;
    let bottom = top + plot_h;
    let mut value = 0;
    while value <= top_value {
        let y = bottom - value as f64 * scale;
        marks.push(Mark::Line {
            x1: left,
            y1: round(y),
            x2: width - right,
            y2: round(y),
        });
        marks.push(text(left - 6.0, y + 4.0, "end", 11, value.to_string()));
        value += step;
    }
    let n = p.rows.len().max(1) as f64;
    let slot = (width - left - right) / n;
    let bar = (slot * 0.8).clamp(1.0, 48.0);
    let every = ((60.0 / slot).ceil() as usize).max(1);
    for (i, row) in p.rows.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar) / 2.0;
        let mut base = bottom;
        for (ty, count) in p.types.iter().zip(&row.by_type) {
            if *count == 0 {
                continue;
            }
            let h = *count as f64 * scale;
            base -= h;
            marks.push(Mark::Rect {
                x: round(x),
                y: round(base),
                w: round(bar),
                h: round(h),
                fill: type_colour(*ty),
                tip: format!("{} · {}: {count}", row.period, ty.label(t)),
            });
        }
        if i % every == 0 {
            marks.push(text(
                x + bar / 2.0,
                bottom + 16.0,
                "middle",
                11,
                row.period.clone(),
            ));
        }
    }
    marks.push(text(
        left,
        bottom + 34.0,
        "start",
        12,
        if p.yearly {
            t.figures_axis_year
        } else {
            t.figures_axis_month
        },
    ));
    let entries: Vec<(&'static str, String)> = p
        .types
        .iter()
        .map(|ty| (type_colour(*ty), ty.label(t).to_string()))
        .collect();
    let (legend_marks, legend_h) = legend(&entries, left, bottom + 46.0, width - right);
    marks.extend(legend_marks);
    let total: i64 = p.rows.iter().map(|r| r.total).sum();
    let desc = match (p.rows.first(), p.rows.last()) {
        (Some(first), Some(last)) => fill(
            t.figures_months_desc,
            &[
                ("total", &total.to_string()),
                ("first", &first.period),
                ("last", &last.period),
            ],
        ),
        _ => t.figures_nothing.to_string(),
    };
    Chart {
        id: "months",
        width,
        height: round(bottom + 46.0 + legend_h + 4.0),
        title: if p.yearly {
            t.figures_years_title.to_string()
        } else {
            t.figures_months_title.to_string()
        },
        desc,
        marks,
    }
}

/// One place of the choropleth and its table.
pub struct PlaceRow {
    pub code: String,
    pub name: String,
    pub counts: Counts,
}

pub struct Places {
    /// `Some(region code)`: the provinces of that region.
    pub region: Option<String>,
    pub rows: Vec<PlaceRow>,
    /// Incidents without a place at this level (no ubigeo).
    pub unplaced: i64,
}

fn places_of(stats: &Stats, key: GroupKey, region: Option<String>) -> Places {
    let mut rows = Vec::new();
    let mut unplaced = 0;
    for g in &stats.groups {
        match g.value(key) {
            Some(Some(code)) => rows.push(PlaceRow {
                code: code.clone(),
                name: g.name(key).unwrap_or(code).to_string(),
                counts: g.counts,
            }),
            _ => unplaced += g.counts.count,
        }
    }
    Places {
        region,
        rows,
        unplaced,
    }
}

/// Upper bounds of the five classes: equal fifths of the largest count,
/// rounded up, so that the largest is always the darkest (with small
/// counts some classes are empty and left out of the legend).
fn class_bounds(max: i64) -> [i64; 5] {
    [1, 2, 3, 4, 5].map(|i| ((max.max(1) * i + 4) / 5).max(1))
}

fn map_chart(places: &Places, outlines: &[AdminOutline], t: &Texts) -> Chart {
    use geo::BoundingRect;
    let (width, map_h) = (520.0, 640.0);
    let counts: HashMap<&str, (i64, &str)> = places
        .rows
        .iter()
        .map(|r| (r.code.as_str(), (r.counts.count, r.name.as_str())))
        .collect();
    let max = places
        .rows
        .iter()
        .map(|r| r.counts.count)
        .max()
        .unwrap_or(0);
    let bounds = class_bounds(max);
    let colour = |n: i64| {
        if n <= 0 {
            EMPTY_COLOUR
        } else {
            bounds
                .iter()
                .position(|b| n <= *b)
                .map_or(CLASS_COLOURS[4], |i| CLASS_COLOURS[i])
        }
    };
    let mut marks = Vec::new();
    let mut extent: Option<geo::Rect<f64>> = None;
    for outline in outlines {
        if let Some(r) = outline.shape.bounding_rect() {
            extent = Some(match extent {
                Some(e) => geo::Rect::new(
                    geo::coord! {x: e.min().x.min(r.min().x), y: e.min().y.min(r.min().y)},
                    geo::coord! {x: e.max().x.max(r.max().x), y: e.max().y.max(r.max().y)},
                ),
                None => r,
            });
        }
    }
    let mut height = 60.0;
    if let Some(extent) = extent {
        // Equirectangular, a degree of longitude shortened by the cosine of
        // the middle latitude: near enough for Peru's 18°.
        let mid = (extent.min().y + extent.max().y) / 2.0;
        let shrink = mid.to_radians().cos();
        let (w_deg, h_deg) = (
            (extent.max().x - extent.min().x) * shrink,
            extent.max().y - extent.min().y,
        );
        let scale = ((width - 20.0) / w_deg.max(1e-6)).min(map_h / h_deg.max(1e-6));
        let (x0, y0) = (extent.min().x, extent.max().y);
        let project = |c: &geo::Coord<f64>| {
            (
                round(10.0 + (c.x - x0) * shrink * scale),
                round(10.0 + (y0 - c.y) * scale),
            )
        };
        height = round(20.0 + h_deg * scale);
        for outline in outlines {
            let mut d = String::new();
            for polygon in &outline.shape {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    for (i, c) in ring.coords().enumerate() {
                        let (x, y) = project(c);
                        d.push_str(&format!("{}{x} {y}", if i == 0 { "M" } else { "L" }));
                    }
                    d.push('Z');
                }
            }
            let (n, name) = counts
                .get(outline.code.as_str())
                .copied()
                .unwrap_or((0, outline.name.as_str()));
            marks.push(Mark::Area {
                paths: vec![d],
                fill: colour(n),
                tip: format!("{name}: {n}"),
            });
        }
    } else {
        marks.push(text(10.0, 30.0, "start", 13, t.figures_no_boundaries));
    }
    let mut entries: Vec<(&'static str, String)> = vec![(EMPTY_COLOUR, "0".to_string())];
    let mut low = 1;
    for (i, bound) in bounds.iter().enumerate() {
        if low > max {
            break;
        }
        if *bound < low {
            continue;
        }
        let range = if low == *bound {
            low.to_string()
        } else {
            format!("{low}–{bound}")
        };
        entries.push((CLASS_COLOURS[i], range));
        low = bound + 1;
    }
    let (legend_marks, legend_h) = legend(&entries, 10.0, height + 4.0, width - 10.0);
    marks.extend(legend_marks);
    let level = if places.region.is_some() {
        t.figures_map_provinces
    } else {
        t.figures_map_regions
    };
    let top = places.rows.iter().max_by_key(|r| r.counts.count);
    let desc = match top {
        Some(top) => fill(
            t.figures_map_desc,
            &[
                ("level", level),
                ("places", &places.rows.len().to_string()),
                ("top", &top.name),
                ("count", &top.counts.count.to_string()),
            ],
        ),
        None => t.figures_nothing.to_string(),
    };
    Chart {
        id: "regions",
        width,
        height: round(height + 8.0 + legend_h),
        title: if places.region.is_some() {
            t.figures_map_title_provinces.to_string()
        } else {
            t.figures_map_title_regions.to_string()
        },
        desc,
        marks,
    }
}

pub struct HolderRow {
    pub id: String,
    pub name: String,
    pub counts: Counts,
}

fn holders_of(stats: &Stats) -> Vec<HolderRow> {
    let mut rows: Vec<HolderRow> = stats
        .groups
        .iter()
        .filter_map(|g| {
            let id = g.value(GroupKey::Holder)?.clone()?;
            Some(HolderRow {
                name: g.name(GroupKey::Holder).unwrap_or(&id).to_string(),
                id,
                counts: g.counts,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b.counts
            .count
            .cmp(&a.counts.count)
            .then_with(|| a.name.cmp(&b.name))
    });
    rows.truncate(TOP_HOLDERS);
    rows
}

fn holders_chart(rows: &[HolderRow], t: &Texts) -> Chart {
    let (width, label_w, row_h, top) = (820.0, 340.0, 30.0, 8.0);
    let max = rows
        .iter()
        .map(|r| r.counts.count)
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = width - label_w - 60.0;
    let mut marks = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let name: String = if row.name.chars().count() > 36 {
            format!("{}…", row.name.chars().take(35).collect::<String>())
        } else {
            row.name.clone()
        };
        marks.push(text(label_w - 8.0, y + 19.0, "end", 12, name));
        let w = (row.counts.count as f64 / max as f64 * plot_w).max(1.0);
        marks.push(Mark::Rect {
            x: label_w,
            y: round(y + 5.0),
            w: round(w),
            h: 20.0,
            fill: "#0b5cad",
            tip: format!("{}: {}", row.name, row.counts.count),
        });
        marks.push(text(
            label_w + w + 6.0,
            y + 19.0,
            "start",
            12,
            row.counts.count.to_string(),
        ));
    }
    if rows.is_empty() {
        marks.push(text(10.0, 30.0, "start", 13, t.figures_no_holders));
    }
    let desc = match rows.first() {
        Some(first) => fill(
            t.figures_holders_desc,
            &[
                ("n", &rows.len().to_string()),
                ("top", &first.name),
                ("count", &first.counts.count.to_string()),
            ],
        ),
        None => t.figures_no_holders.to_string(),
    };
    Chart {
        id: "holders",
        width,
        height: round(top * 2.0 + row_h * rows.len().max(1) as f64 + 12.0),
        title: t.figures_holders_heading.to_string(),
        desc,
        marks,
    }
}

// ---------------------------------------------------------------- the page

/// The filter form as typed.
#[derive(Default)]
struct Form {
    from: String,
    to: String,
    ubigeo: String,
    verification: String,
}

#[derive(Template)]
#[template(path = "figures.html")]
struct FiguresPage {
    ctx: Ctx,
    t: &'static Texts,
    f: Form,
    types: Vec<(&'static str, &'static str, bool)>,
    verifications: Vec<(&'static str, &'static str)>,
    regions: Vec<(String, String)>,
    /// The filters as a query string.
    query: String,
    error: String,
    figures: Option<Figures>,
}

/// The three charts and their numbers.
struct Figures {
    periods: Periods,
    type_labels: Vec<&'static str>,
    months_svg: String,
    places: Places,
    map_svg: String,
    holders: Vec<HolderRow>,
    holders_svg: String,
    total: Counts,
    /// `group_by` of each chart's CSV.
    months_keys: &'static str,
    places_keys: &'static str,
}

/// The region a filter names by ubigeo (its first two digits).
fn chosen_region(filter: &EventFilter) -> Option<String> {
    filter
        .ubigeo_prefix
        .as_deref()
        .and_then(|p| p.get(..2))
        .map(String::from)
}

/// Which chart a download is.
#[derive(Clone, Copy)]
enum Which {
    Months,
    Regions,
    Holders,
}

/// What the page's charts are drawn from, counted with one filter.
struct Counted {
    months: Stats,
    places: Stats,
    holders: Stats,
    outlines: Vec<AdminOutline>,
    regions: Vec<(String, String)>,
}

/// Simplification of outlines drawn over all Peru (about a pixel of the
/// map), and over one region.
const COUNTRY_TOLERANCE: f64 = 0.03;
const REGION_TOLERANCE: f64 = 0.005;

fn count(
    conn: &mut crate::db::DbConn,
    index: &PlaceIndex,
    filter: &EventFilter,
    which: Option<Which>,
) -> Result<Counted, AppError> {
    use crate::events::store::stats;
    let wants =
        |w: Which| which.is_none_or(|x| std::mem::discriminant(&x) == std::mem::discriminant(&w));
    let empty = |keys: &[GroupKey]| Stats {
        group_by: keys.to_vec(),
        groups: Vec::new(),
        total: Counts::default(),
    };
    let region = chosen_region(filter);
    let place_key = if region.is_some() {
        GroupKey::Province
    } else {
        GroupKey::Region
    };
    let months = if wants(Which::Months) {
        stats(conn, filter, &[GroupKey::Month, GroupKey::EventType])?
    } else {
        empty(&[])
    };
    let places = if wants(Which::Regions) {
        stats(conn, filter, &[place_key])?
    } else {
        empty(&[])
    };
    let holders = if wants(Which::Holders) {
        stats(conn, filter, &[GroupKey::Holder])?
    } else {
        empty(&[])
    };
    let outlines = if wants(Which::Regions) {
        match &region {
            Some(r) => place_outlines(conn, index, r, 4, REGION_TOLERANCE)?,
            None => place_outlines(conn, index, "", 2, COUNTRY_TOLERANCE)?,
        }
    } else {
        Vec::new()
    };
    // The form's region list: every loaded region, by code.
    let regions = match (&region, which) {
        (_, Some(_)) => Vec::new(),
        (None, None) => outlines
            .iter()
            .map(|o| (o.code.clone(), o.name.clone()))
            .collect(),
        (Some(_), None) => place_outlines(conn, index, "", 2, 1.0)?
            .into_iter()
            .map(|o| (o.code, o.name))
            .collect(),
    };
    Ok(Counted {
        months,
        places,
        holders,
        outlines,
        regions,
    })
}

/// The page's filters read as the API reads them; the pairs kept for links.
fn read_filters(req: &HttpRequest) -> Result<(Pairs, Result<EventFilter, AppError>), AppError> {
    let (pairs, _) = filter_pairs(req)?;
    let mut api_pairs = pairs.clone();
    api_pairs.push(("group_by".into(), "month".into()));
    let parsed = crate::http::parse_query::<StatsQuery>(&encode_pairs(&api_pairs))
        .and_then(StatsQuery::into_parts)
        .map(|(filter, _)| filter);
    Ok((pairs, parsed))
}

async fn page(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let (pairs, parsed) = read_filters(&req)?;
    let mut f = Form::default();
    let mut chosen_types = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "from" => f.from = v.clone(),
            "to" => f.to = v.clone(),
            "ubigeo" => f.ubigeo = v.clone(),
            "verification" => f.verification = v.clone(),
            "event_type" => chosen_types.push(v.clone()),
            _ => {}
        }
    }
    let (figures, regions, error) = match parsed {
        Ok(filter) => {
            let region = chosen_region(&filter);
            let counted = db
                .run(move |conn| count(conn, &index, &filter, None))
                .await?;
            let periods = periods(&counted.months);
            let places = places_of(
                &counted.places,
                if region.is_some() {
                    GroupKey::Province
                } else {
                    GroupKey::Region
                },
                region,
            );
            let holders = holders_of(&counted.holders);
            let figures = Figures {
                months_svg: render(&periods_chart(&periods, t))?,
                map_svg: render(&map_chart(&places, &counted.outlines, t))?,
                holders_svg: render(&holders_chart(&holders, t))?,
                type_labels: periods.types.iter().map(|ty| ty.label(t)).collect(),
                months_keys: "month,event_type",
                places_keys: if places.region.is_some() {
                    "province"
                } else {
                    "region"
                },
                total: counted.months.total,
                periods,
                places,
                holders,
            };
            (Some(figures), counted.regions, String::new())
        }
        Err(e) => (None, Vec::new(), e.to_string()),
    };
    let (types, verifications) = super::incidents::filter_choices(t, &chosen_types);
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    super::html(
        &who.web,
        status,
        &FiguresPage {
            ctx: who.ctx.clone(),
            t,
            f,
            types,
            verifications,
            regions,
            query: encode_pairs(&pairs),
            error,
            figures,
        },
    )
}

fn render(chart: &Chart) -> Result<String, AppError> {
    chart
        .render()
        .map_err(|e| AppError::internal_from("drawing a chart", e))
}

/// One chart as an SVG file, with the page's filters.
async fn download(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    which: Which,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let (_, parsed) = read_filters(&req)?;
    let filter = parsed?;
    let region = chosen_region(&filter);
    let counted = db
        .run(move |conn| count(conn, &index, &filter, Some(which)))
        .await?;
    let (chart, name) = match which {
        Which::Months => (periods_chart(&periods(&counted.months), t), "months"),
        Which::Regions => {
            let key = if region.is_some() {
                GroupKey::Province
            } else {
                GroupKey::Region
            };
            let places = places_of(&counted.places, key, region);
            (map_chart(&places, &counted.outlines, t), "regions")
        }
        Which::Holders => (holders_chart(&holders_of(&counted.holders), t), "holders"),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        render(&chart)?
    );
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"vigia-{name}.svg\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

async fn months_svg(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
) -> Result<HttpResponse, AppError> {
    download(who, req, db, index, Which::Months).await
}

async fn regions_svg(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
) -> Result<HttpResponse, AppError> {
    download(who, req, db, index, Which::Regions).await
}

async fn holders_svg(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
) -> Result<HttpResponse, AppError> {
    download(who, req, db, index, Which::Holders).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cifras", web::get().to(page))
        .route("/cifras/months.svg", web::get().to(months_svg))
        .route("/cifras/regions.svg", web::get().to(regions_svg))
        .route("/cifras/holders.svg", web::get().to(holders_svg));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(40), 10);
        assert_eq!(tick_step(1234), 500);
        assert_eq!(class_bounds(10), [2, 4, 6, 8, 10]);
        assert_eq!(class_bounds(3), [1, 2, 2, 3, 3]);
        assert_eq!(class_bounds(0), [1, 1, 1, 1, 1]);
    }
}
