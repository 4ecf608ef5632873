//! `/api/public/v1/…`: what anonymous visitors of the public map read
//! (issue 15). Published incidents only, in their public form
//! (`events::public`), through `ops::public`. With `public.enabled =
//! false` every route here answers 404; each is rate-limited per client
//! address (`public.rate_per_minute`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::PublicSettings;
use crate::db::Db;
use crate::error::AppError;
use crate::events::public::PublicEvent;
use crate::events::stats::StatsAnswer;
use crate::events::store::EventFilter;
use crate::events::EventType;
use crate::http::{parse_id, QueryParams};
use crate::openapi as doc;
use crate::ops::attachments::Part;
use crate::ops::changes::ChangePage;
use crate::ops::public::{self as op, PublicFilter};
use crate::pagination;
use crate::places::PlaceIndex;
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes
        .add(public_events)
        .add(public_changes)
        .add(public_export_csv)
        .add(public_export_geojson)
        .add(public_event)
        .add(public_stats)
        .add(public_attachment_content)
        .add(public_attachment_thumbnail);
}

/// Clients remembered at most; past it, the idle ones are forgotten (and,
/// if every one is busy, all: the limit fails open rather than grow).
const MAX_CLIENTS: usize = 10_000;

/// The public side's settings and its per-address token buckets.
pub struct PublicSide {
    pub settings: PublicSettings,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl PublicSide {
    pub fn new(settings: PublicSettings) -> Self {
        PublicSide {
            settings,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// 404 when the public side is off; 429 (with the seconds until a
    /// request is allowed again) when `client` spent its requests.
    ///
    /// The client is the connection's peer address: behind a reverse
    /// proxy that is the proxy, shared by every visitor (see the README).
    pub fn admit(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        if !self.settings.enabled {
            return Err(AppError::NotFound("the public map is not enabled".into()));
        }
        let Some(client) = client else {
            return Ok(());
        };
        let capacity = f64::from(self.settings.rate_per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < capacity
            });
            if buckets.len() >= MAX_CLIENTS {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(client).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / per_second).ceil().max(1.0) as u64;
            Err(AppError::TooManyRequests(
                format!(
                    "more than {} requests a minute from this address; try again in {wait} s",
                    self.settings.rate_per_minute
                ),
                wait,
            ))
        }
    }

    /// [`Self::admit`] for a request.
    pub fn admit_request(&self, req: &HttpRequest) -> Result<(), AppError> {
        self.admit(req.peer_addr().map(|a| a.ip()))
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicListQuery {
    /// Incidents on or after this date (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Incidents on or before this date (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// Repeat for several types.
    #[serde(default)]
    #[param(explode = true)]
    pub event_type: Vec<EventType>,
    /// Region name, case- and accent-insensitive.
    #[param(max_length = 100)]
    pub region: Option<String>,
    /// Ubigeo prefix: `03` (region), `0304` (province) or `030410` (district).
    #[param(pattern = "^[0-9]{1,6}$")]
    pub ubigeo: Option<String>,
    /// `minLon,minLat,maxLon,maxLat` over the generalised points.
    pub bbox: Option<String>,
    /// Words to find in title and description, each as a word or the start of one.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl PublicListQuery {
    /// The checked filter (`limit` is the page's).
    pub fn into_filter(self) -> Result<PublicFilter, AppError> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(AppError::BadRequest(format!(
                    "from ({from}) is after to ({to})"
                )));
            }
        }
        if let Some(prefix) = &self.ubigeo {
            if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(AppError::BadRequest("ubigeo must be 1 to 6 digits".into()));
            }
        }
        if self
            .region
            .as_deref()
            .is_some_and(|r| r.chars().count() > 100)
            || self.q.as_deref().is_some_and(|q| q.chars().count() > 200)
        {
            return Err(AppError::BadRequest(
                "region is at most 100 characters, q at most 200".into(),
            ));
        }
        Ok(PublicFilter {
            base: EventFilter {
                from: self.from,
                to: self.to,
                event_types: self.event_type,
                region: self.region,
                ubigeo_prefix: self.ubigeo,
                after: self.cursor.as_deref().map(pagination::decode).transpose()?,
                limit: pagination::limit(self.limit)?,
                ..EventFilter::default()
            },
            bbox: self
                .bbox
                .as_deref()
                .map(super::events::parse_bbox)
                .transpose()?,
            words: self
                .q
                .as_deref()
                .map(crate::text::fold)
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
        })
    }
}

/// A page of public incidents.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicEventPage {
    pub items: Vec<PublicEvent>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Published incidents, newest first, each placed at its district's
/// centroid (or a grid cell's centre), without confidential sources or who
/// logged them. No key needed; rate-limited per address.
#[utoipa::path(tag = "public", security(()), params(PublicListQuery),
    responses((status = 200, description = "A page of published incidents", body = PublicEventPage),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/events")]
pub async fn public_events(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    QueryParams(q): QueryParams<PublicListQuery>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let filter = q.into_filter()?;
    let grid_km = side.settings.grid_km;
    let page = db
        .run(move |conn| op::page(conn, &index, grid_km, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(PublicEventPage {
        items: page.items.into_iter().map(|(_, p)| p).collect(),
        next_cursor: page.next.as_ref().map(pagination::encode),
    }))
}

/// One published incident; any other id (internal, deleted, unknown) is 404.
#[utoipa::path(tag = "public", security(()),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The incident", body = PublicEvent),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/events/{id}")]
pub async fn public_event(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let id = parse_id(&id, "event")?;
    let grid_km = side.settings.grid_km;
    let (_, public) = db
        .run(move |conn| op::load(conn, &index, grid_km, &id))
        .await?;
    Ok(HttpResponse::Ok().json(public))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicChangesQuery {
    /// The `next_cursor` of the page you read last; leave out to start.
    #[param(max_length = 200)]
    since: Option<String>,
    /// Changes read at most, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Changes of published incidents, in commit order, each with the
/// incident's public form now; `delete` with `null` when it is no longer
/// public (withdrawn or deleted): remove it from your copy. Apply a record
/// as an upsert: an incident published after it was logged comes as an
/// `update` you have not seen a `create` for. Incidents never published do
/// not appear.
#[utoipa::path(tag = "public", security(()), params(PublicChangesQuery),
    responses((status = 200, description = "Changes after `since`", body = ChangePage<PublicEvent>),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/events/changes")]
pub async fn public_changes(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    QueryParams(q): QueryParams<PublicChangesQuery>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let grid_km = side.settings.grid_km;
    let page = db
        .run(move |conn| op::changes(conn, &index, grid_km, q.since.as_deref(), q.limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicStatsQuery {
    #[param(value_type = Option<String>, format = Date)]
    from: Option<NaiveDate>,
    #[param(value_type = Option<String>, format = Date)]
    to: Option<NaiveDate>,
    #[serde(default)]
    #[param(explode = true)]
    event_type: Vec<EventType>,
    #[param(max_length = 100)]
    region: Option<String>,
    #[param(pattern = "^[0-9]{1,6}$")]
    ubigeo: Option<String>,
    /// One key, or two separated by a comma: `month`, `year`,
    /// `event_type`, `region`, `province`, `holder`, `verification`.
    group_by: Option<String>,
}

/// Published incidents counted by one or two keys, as `/api/v1/stats`
/// counts all of them.
#[utoipa::path(tag = "public", security(()), params(PublicStatsQuery),
    responses((status = 200, description = "The groups and the total", body = StatsAnswer),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests, doc::Unprocessable))]
#[get("/api/public/v1/stats")]
pub async fn public_stats(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<PublicStatsQuery>,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let keys = crate::events::stats::parse_group_by(q.group_by.as_deref())?;
    let filter = PublicListQuery {
        from: q.from,
        to: q.to,
        event_type: q.event_type,
        region: q.region,
        ubigeo: q.ubigeo,
        bbox: None,
        q: None,
        cursor: None,
        limit: None,
    }
    .into_filter()?
    .base;
    let stats = db.run(move |conn| op::stats(conn, &filter, &keys)).await?;
    Ok(HttpResponse::Ok().json(stats.answer()))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    GeoJson,
}

/// Published incidents a chunk at a time, for the exports.
const EXPORT_CHUNK: i64 = 500;

/// Every published incident the filters select as CSV, ACLED's columns
/// first (as `/api/v1/events/export.csv`), with the generalised point
/// (`geo_precision` 3) and no place name, confidential source, note or case.
#[utoipa::path(tag = "public", security(()), params(PublicListQuery),
    responses((status = 200, description = "Published incidents as CSV", body = String, content_type = "text/csv"),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/events/export.csv")]
pub async fn public_export_csv(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    base: web::Data<crate::http::PublicBase>,
    QueryParams(q): QueryParams<PublicListQuery>,
) -> Result<HttpResponse, AppError> {
    export(req, side, db, index, base, q, Format::Csv).await
}

/// The same as a GeoJSON FeatureCollection (RFC 7946), at the generalised
/// points.
#[utoipa::path(tag = "public", security(()), params(PublicListQuery),
    responses((status = 200, description = "Published incidents as GeoJSON", body = Object, content_type = "application/geo+json"),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/events/export.geojson")]
pub async fn public_export_geojson(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    base: web::Data<crate::http::PublicBase>,
    QueryParams(q): QueryParams<PublicListQuery>,
) -> Result<HttpResponse, AppError> {
    export(req, side, db, index, base, q, Format::GeoJson).await
}

/// The public export: whole (no pages), written as it is read, chunk by
/// chunk, so memory stays bounded by a chunk.
async fn export(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    base: web::Data<crate::http::PublicBase>,
    q: PublicListQuery,
    format: Format,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    if q.cursor.is_some() || q.limit.is_some() {
        return Err(AppError::BadRequest(
            "an export has every incident the filters select: cursor and limit are for pages"
                .into(),
        ));
    }
    let mut filter = q.into_filter()?;
    filter.base.limit = EXPORT_CHUNK;
    let grid_km = side.settings.grid_km;
    let base = base.0.clone();
    let db = db.into_inner();
    let index = index.into_inner();
    let (extension, content_type) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8"),
        Format::GeoJson => ("geojson", "application/geo+json"),
    };
    // The first chunk before answering: a failure is a problem answer.
    let first = {
        let (index, filter) = (index.clone(), filter.clone());
        db.run(move |conn| op::page(conn, &index, grid_km, &filter))
            .await?
    };
    struct State {
        db: std::sync::Arc<Db>,
        index: std::sync::Arc<PlaceIndex>,
        filter: PublicFilter,
        pending: Option<op::PublicPage>,
        first: bool,
        done: bool,
    }
    let state = State {
        db,
        index,
        filter,
        pending: Some(first),
        first: true,
        done: false,
    };
    let body = futures_util::stream::unfold(state, move |mut state| {
        let base = base.clone();
        async move {
            if state.done {
                return None;
            }
            let page = match state.pending.take() {
                Some(page) => page,
                None => {
                    let (index, filter) = (state.index.clone(), state.filter.clone());
                    match state
                        .db
                        .run(move |conn| op::page(conn, &index, grid_km, &filter))
                        .await
                    {
                        Ok(page) => page,
                        Err(e) => {
                            tracing::error!(error = %e.report(), "public export stopped");
                            state.done = true;
                            return Some((Err(actix_web::Error::from(e)), state));
                        }
                    }
                }
            };
            let last = page.next.is_none();
            let bytes = render(&page, &base, format, state.first, last);
            state.first = false;
            match page.next {
                Some(next) => state.filter.base.after = Some(next),
                None => state.done = true,
            }
            Some((bytes.map_err(actix_web::Error::from), state))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"vigia-public-incidents.{extension}\""),
        ))
        .streaming(body))
}

/// The export's cells of a public incident: the signed-in export's writer
/// over its public view, the link to the public page.
fn public_record(
    event: &crate::events::Event,
    public: &PublicEvent,
    base: &str,
) -> Vec<(&'static str, serde_json::Value)> {
    use crate::events::export;
    let view = crate::events::public::export_view(event, public);
    let mut record = export::record(&view, base);
    for (name, value) in &mut record {
        if *name == "url" {
            *value = serde_json::json!(format!(
                "{}/publico/incidentes/{}",
                base.trim_end_matches('/'),
                public.id
            ));
        }
    }
    record
}

fn render(
    page: &op::PublicPage,
    base: &str,
    format: Format,
    first: bool,
    last: bool,
) -> Result<web::Bytes, AppError> {
    use crate::events::export;
    let failed = |e: &dyn std::fmt::Display| AppError::internal(format!("writing the export: {e}"));
    let mut out = Vec::new();
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            if first {
                writer
                    .write_record(export::COLUMNS)
                    .map_err(|e| failed(&e))?;
            }
            for (event, public) in &page.items {
                let cells = export::csv_cells(&public_record(event, public, base));
                writer.write_record(&cells).map_err(|e| failed(&e))?;
            }
            writer.flush().map_err(|e| failed(&e))?;
        }
        Format::GeoJson => {
            if first {
                out.extend_from_slice(br#"{"type":"FeatureCollection","features":["#);
            }
            for (i, (event, public)) in page.items.iter().enumerate() {
                if !(first && i == 0) {
                    out.push(b',');
                }
                let view = crate::events::public::export_view(event, public);
                let feature = export::feature(&view, public_record(event, public, base));
                serde_json::to_writer(&mut out, &feature).map_err(|e| failed(&e))?;
            }
            if last {
                out.extend_from_slice(b"]}\n");
            }
        }
    }
    Ok(out.into())
}

async fn serve_file(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    policy: web::Data<crate::attachments::AttachmentPolicy>,
    id: &str,
    part: Part,
) -> Result<HttpResponse, AppError> {
    side.admit_request(&req)?;
    let id = parse_id(id, "attachment")?;
    let (row, bytes) = db
        .run(move |conn| crate::ops::attachments::read_public(conn, &policy, &id, part))
        .await?;
    Ok(super::attachments::file_answer(&row, bytes, part))
}

/// A file marked public of a published incident (photos without their
/// location and camera data); any other id is 404.
#[utoipa::path(tag = "public", security(()),
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("video/mp4"), ("video/quicktime"), ("application/pdf"))),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/attachments/{id}/content")]
pub async fn public_attachment_content(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    policy: web::Data<crate::attachments::AttachmentPolicy>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve_file(req, side, db, policy, &id, Part::Content).await
}

/// The thumbnail of a public photo.
#[utoipa::path(tag = "public", security(()),
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The thumbnail", content_type = "image/jpeg"),
        doc::BadRequest, doc::NotFound, doc::TooManyRequests))]
#[get("/api/public/v1/attachments/{id}/thumbnail")]
pub async fn public_attachment_thumbnail(
    req: HttpRequest,
    side: web::Data<PublicSide>,
    db: web::Data<Db>,
    policy: web::Data<crate::attachments::AttachmentPolicy>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve_file(req, side, db, policy, &id, Part::Thumbnail).await
}
