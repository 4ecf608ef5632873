//! The public map's pages (issue 15), for anyone, no sign-in: `/publico`
//! (the map), `/publico/incidentes` (the list), `/publico/incidentes/{id}`
//! and `/publico/cifras`. They read only through `ops::public`, so they
//! show what the public API shows: published incidents, generalised. With
//! `public.enabled = false` each answers 404. They set no cookie.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{Ctx, Visitor};
use crate::api::public::{PublicListQuery, PublicSide};
use crate::db::Db;
use crate::error::AppError;
use crate::events::public::{Basis, PublicEvent};
use crate::events::stats::GroupKey;
use crate::events::EventType;
use crate::i18n::{date_text, Label, Texts};
use crate::ops::public as op;
use crate::places::PlaceIndex;

/// Incidents per page of the public list.
const PAGE_SIZE: i64 = 50;

/// One incident as a page shows it.
struct Row {
    p: PublicEvent,
    date: String,
    type_label: &'static str,
    verification: &'static str,
    place: String,
}

fn row(p: PublicEvent, t: &Texts) -> Row {
    let place = p
        .admin
        .as_ref()
        .map(|a| {
            [&a.district, &a.province, &a.region]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Row {
        date: date_text(p.occurred_on, p.time_precision, t),
        type_label: p.event_type.label(t),
        verification: p.verification.label(t),
        place,
        p,
    }
}

#[derive(Template)]
#[template(path = "public_map.html")]
struct MapPage {
    ctx: Ctx,
    t: &'static Texts,
    tile_url: String,
    tile_attribution: String,
}

async fn map(
    req: HttpRequest,
    visitor: Visitor,
    side: web::Data<PublicSide>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let page = MapPage {
        t: visitor.ctx.t,
        tile_url: visitor.web.settings.tile_url.clone(),
        tile_attribution: visitor.web.settings.tile_attribution.clone(),
        ctx: visitor.ctx,
    };
    super::ok(&visitor.web, &page)
}

/// The list's filter form as typed.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ListForm {
    from: String,
    to: String,
    event_type: String,
    region: String,
    q: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "public_list.html")]
struct ListPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<Row>,
    f: ListForm,
    types: Vec<(&'static str, &'static str)>,
    /// The filters as a query string, for the downloads and the pager.
    query: String,
    next_href: Option<String>,
    error: String,
}

fn some(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

async fn list(
    req: HttpRequest,
    visitor: Visitor,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let t = visitor.ctx.t;
    let f: ListForm = serde_html_form::from_str(req.query_string()).unwrap_or_default();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (name, value) in [
        ("from", &f.from),
        ("to", &f.to),
        ("event_type", &f.event_type),
        ("region", &f.region),
        ("q", &f.q),
    ] {
        if let Some(v) = some(value) {
            pairs.push((name, v));
        }
    }
    let query = serde_html_form::to_string(&pairs).unwrap_or_default();
    let parsed = (|| {
        let date = |s: &str| -> Result<Option<chrono::NaiveDate>, AppError> {
            some(s)
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| AppError::BadRequest(format!("{d:?} is not a date")))
                })
                .transpose()
        };
        PublicListQuery {
            from: date(&f.from)?,
            to: date(&f.to)?,
            event_type: some(&f.event_type)
                .and_then(|v| EventType::parse(&v))
                .into_iter()
                .collect(),
            region: some(&f.region),
            ubigeo: None,
            bbox: None,
            q: some(&f.q),
            cursor: some(&f.cursor),
            limit: Some(PAGE_SIZE),
        }
        .into_filter()
    })();
    let (rows, next, error) = match parsed {
        Ok(filter) => {
            let grid_km = side.settings.grid_km;
            let page = db
                .run(move |conn| op::page(conn, &index, grid_km, &filter))
                .await?;
            (
                page.items.into_iter().map(|(_, p)| row(p, t)).collect(),
                page.next,
                String::new(),
            )
        }
        Err(AppError::BadRequest(message)) => (Vec::new(), None, message),
        Err(e) => return Err(e),
    };
    let next_href = next.map(|n| {
        let cursor = crate::pagination::encode(&n);
        let sep = if query.is_empty() { "" } else { "&" };
        format!(
            "/publico/incidentes?{query}{sep}cursor={}",
            super::encode(&cursor)
        )
    });
    let types = EventType::ALL
        .iter()
        .map(|e| (e.as_str(), e.label(t)))
        .collect();
    let page = ListPage {
        t,
        rows,
        types,
        query,
        next_href,
        error,
        f,
        ctx: visitor.ctx,
    };
    super::ok(&visitor.web, &page)
}

#[derive(Template)]
#[template(path = "public_incident.html")]
struct IncidentPage {
    ctx: Ctx,
    t: &'static Texts,
    r: Row,
    basis: String,
    geo: String,
    tile_url: String,
    tile_attribution: String,
    actors: Vec<(String, &'static str, &'static str, &'static str)>,
}

async fn show(
    req: HttpRequest,
    visitor: Visitor,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let t = visitor.ctx.t;
    let id = crate::http::parse_id(&id, "incident")?;
    let grid_km = side.settings.grid_km;
    let (_, public) = db
        .run(move |conn| op::load(conn, &index, grid_km, &id))
        .await?;
    let basis = match public.location.basis {
        Basis::District => t.public_location_basis_district.to_string(),
        Basis::Grid => crate::i18n::fill(
            t.public_location_basis_grid,
            &[("km", &format!("{grid_km}"))],
        ),
    };
    let geo = serde_json::json!({
        "point": [public.location.lat, public.location.lon],
    })
    .to_string();
    let actors = public
        .actors
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                a.kind.label(t),
                a.role.label(t),
                a.attribution.label(t),
            )
        })
        .collect();
    let page = IncidentPage {
        t,
        r: row(public, t),
        basis,
        geo,
        tile_url: visitor.web.settings.tile_url.clone(),
        tile_attribution: visitor.web.settings.tile_attribution.clone(),
        actors,
        ctx: visitor.ctx,
    };
    super::ok(&visitor.web, &page)
}

#[derive(Template)]
#[template(path = "public_figures.html")]
struct FiguresPage {
    ctx: Ctx,
    t: &'static Texts,
    total: i64,
    fatalities: i64,
    injuries: i64,
    /// (heading, rows of (label, count))
    tables: Vec<(&'static str, Vec<(String, i64)>)>,
}

async fn figures(
    req: HttpRequest,
    visitor: Visitor,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let t = visitor.ctx.t;
    let (by_year, by_type, by_region) = db
        .run(move |conn| {
            let f = crate::events::store::EventFilter::default();
            Ok::<_, AppError>((
                op::stats(conn, &f, &[GroupKey::Year])?,
                op::stats(conn, &f, &[GroupKey::EventType])?,
                op::stats(conn, &f, &[GroupKey::Region])?,
            ))
        })
        .await?;
    let rows = |stats: &crate::events::stats::Stats, label: &dyn Fn(&str) -> String| {
        stats
            .groups
            .iter()
            .map(|g| {
                let (_, value, name) = &g.values[0];
                let text = match (name, value) {
                    (Some(n), _) => n.clone(),
                    (None, Some(v)) => label(v),
                    (None, None) => "—".to_string(),
                };
                (text, g.counts.count)
            })
            .collect::<Vec<_>>()
    };
    let plain = |v: &str| v.to_string();
    let type_name = |v: &str| {
        EventType::parse(v)
            .map(|e| e.label(t).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    let page = FiguresPage {
        t,
        total: by_year.total.count,
        fatalities: by_year.total.fatalities,
        injuries: by_year.total.injuries,
        tables: vec![
            (t.figures_axis_year, rows(&by_year, &plain)),
            (t.filter_types, rows(&by_type, &type_name)),
            (t.filter_region, rows(&by_region, &plain)),
        ],
        ctx: visitor.ctx,
    };
    super::ok(&visitor.web, &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/publico", web::get().to(map))
        .route("/publico/incidentes", web::get().to(list))
        .route("/publico/incidentes/{id}", web::get().to(show))
        .route("/publico/cifras", web::get().to(figures));
}
