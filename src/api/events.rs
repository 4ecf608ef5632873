//! `/api/v1/events`: thin handlers that check the role, parse, and hand over
//! to the store.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{AuditFilter, AuditRecord};
use crate::db::Db;
use crate::error::AppError;
use crate::events::store::{self, ConcessionKey, EventFilter, MapView, Visibility};
use crate::events::{Event, EventInput, EventType, Publication, Verification};
use crate::http::{etag, parse_id, IfMatch, JsonBody, QueryParams};
use crate::idempotency;
use crate::keys::Caller;
use crate::openapi as doc;
use crate::ops::{self, Who};
use crate::pagination::{self, Page};
use crate::places::PlaceIndex;
use crate::routing::Routes;

/// The incident routes, in matching order.
pub fn configure(routes: &mut Routes) {
    routes
        .add(list_events)
        .add(event_clusters)
        .add(export_events_csv)
        .add(export_events_geojson)
        .add(export_events_xlsx)
        .add(create_event)
        .add(get_event)
        .add(patch_event)
        .add(delete_event)
        .add(restore_event)
        .add(set_publication)
        .add(event_history);
}

fn with_etag(mut response: actix_web::HttpResponseBuilder, event: &Event) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(event.version)))
        .json(event)
}

/// Log an incident (monitor, admin). With an `Idempotency-Key` or a
/// `client_id` (a UUID the client makes) it is logged once however often it
/// is sent: the same key and body again answer the first answer again
/// (`Idempotent-Replayed: true`), another body with the key is 422.
#[utoipa::path(tag = "events", request_body = EventInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A key the client makes (a UUID), 1–255 printable ASCII characters: the request is done once per key")),
    responses(
        (status = 201, description = "Logged", body = Event,
            headers(("Location" = String, description = "URL of the new incident"), ("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/events")]
pub async fn create_event(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    // A `client_id` in the body is a key as the header is (same text, same
    // key), for clients that cannot set headers.
    let key = idempotency::key_of(&req)?.or_else(|| input.client_id.map(|id| id.to_string()));
    let Some(key) = key else {
        let event = db
            .run(move |conn| ops::events::create(conn, &index, &who, input))
            .await?;
        let mut response = HttpResponse::Created();
        response.insert_header((header::LOCATION, format!("/api/v1/events/{}", event.id)));
        return Ok(with_etag(response, &event));
    };
    let fingerprint = idempotency::fingerprint("POST /api/v1/events", &input)?;
    let (answer, replayed) = db
        .run(move |conn| {
            idempotency::once(conn, &who.owner(), &key, &fingerprint, |conn| {
                let event = ops::events::create(conn, &index, &who, input)?;
                Ok(idempotency::Answer {
                    status: actix_web::http::StatusCode::CREATED,
                    body: serde_json::to_string(&event)
                        .map_err(|e| AppError::internal_from("writing an incident", e))?,
                    location: Some(format!("/api/v1/events/{}", event.id)),
                    etag: Some(etag(event.version)),
                })
            })
        })
        .await?;
    Ok(answer.into_response(replayed))
}

/// Read one incident.
#[utoipa::path(tag = "events",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The incident", body = Event, headers(("ETag" = String))),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/events/{id}")]
pub async fn get_event(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "event")?;
    let event = db
        .run(move |conn| ops::events::load(conn, &id, Visibility::Live))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &event))
}

/// Change an incident with a JSON Merge Patch (monitor, admin). Send
/// `If-Match` with the ETag you read to be sure nobody changed it meanwhile.
#[utoipa::path(tag = "events",
    params(("id" = String, Path, description = "Incident id"),
        ("If-Match" = String, Header, description = "ETag of the version you edit (required; `*` overwrites whatever is current)")),
    request_body(content = crate::events::EventPatch, content_type = "application/merge-patch+json",
        description = "Any subset of the fields; null removes an optional field"),
    responses((status = 200, description = "The changed incident", body = Event, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[patch("/api/v1/events/{id}")]
pub async fn patch_event(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "event")?;
    let if_match = IfMatch::from_request(&req);
    let event = db
        .run(move |conn| ops::events::update(conn, &index, &who, &id, &if_match, patch))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &event))
}

/// Delete an incident (monitor, admin). It leaves lists and reads; its
/// history stays and an admin can restore it.
#[utoipa::path(tag = "events",
    params(("id" = String, Path, description = "Incident id"),
        ("If-Match" = String, Header, description = "ETag of the version you delete (required; `*` deletes whatever is current)")),
    responses((status = 204, description = "Deleted"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired))]
#[delete("/api/v1/events/{id}")]
pub async fn delete_event(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "event")?;
    let if_match = IfMatch::from_request(&req);
    db.run(move |conn| ops::events::delete(conn, &index, &who, &id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Bring a deleted incident back (admin).
#[utoipa::path(tag = "events",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The restored incident", body = Event, headers(("ETag" = String))),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict))]
#[post("/api/v1/events/{id}/restore")]
pub async fn restore_event(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "event")?;
    let event = db
        .run(move |conn| ops::events::restore(conn, &index, &who, &id))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &event))
}

/// The publication state to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicationInput {
    /// `published`: on the public map (generalised, see the README, "The
    /// public map"); `internal`: signed-in readers only.
    pub state: Publication,
}

/// Publish an incident on the public map, or withdraw it (admin). Setting
/// the state it already has changes nothing.
#[utoipa::path(tag = "events",
    params(("id" = String, Path, description = "Incident id")),
    request_body = PublicationInput,
    responses((status = 200, description = "The incident", body = Event, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/events/{id}/publication")]
pub async fn set_publication(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    JsonBody(input): JsonBody<PublicationInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "event")?;
    let event = db
        .run(move |conn| ops::events::set_publication(conn, &who, &id, input.state))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &event))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The revisions of one incident, oldest first: each audit record holds the
/// incident before and after the change. A deleted incident's history is
/// readable by admins only.
#[utoipa::path(tag = "events",
    params(("id" = String, Path, description = "Incident id"), HistoryQuery),
    responses((status = 200, description = "A page of revisions", body = Page<AuditRecord>),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/events/{id}/history")]
pub async fn event_history(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "event")?;
    let who = Who::from(&caller);
    let filter = AuditFilter {
        after_id: q.cursor.as_deref().map(pagination::decode).transpose()?,
        limit: pagination::limit(q.limit)?,
        ..Default::default()
    };
    let limit = filter.limit;
    let rows = db
        .run(move |conn| ops::events::history(conn, &who, &id, filter))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r: &AuditRecord| r.id)))
}

/// Declares a query-string struct with the incident list's filters
/// (`concession` to `q`) and the fields given after them, with
/// `take_filters`, which checks those filters. The list, the exports, a
/// concession's incidents and the map's clusters are all declared through
/// it, so a filter is spelled, documented and read the same way in each.
/// (A flattened struct would not do: serde's `flatten` loses
/// `deny_unknown_fields` and a repeated `event_type`.)
macro_rules! with_event_filters {
    ($(#[$attr:meta])* pub struct $name:ident { $($(#[$field_attr:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$attr])*
        #[derive(Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Only incidents inside this concession: its INGEMMET code (`010203404`) or its id.
            concession: Option<String>,
            /// Only incidents linked to this actor (its id), in any role.
            #[param(value_type = Option<String>, format = Uuid)]
            actor: Option<String>,
            /// Incidents on or after this date (YYYY-MM-DD).
            #[param(value_type = Option<String>, format = Date)]
            from: Option<NaiveDate>,
            /// Incidents on or before this date (YYYY-MM-DD).
            #[param(value_type = Option<String>, format = Date)]
            to: Option<NaiveDate>,
            /// Repeat for several types.
            #[serde(default)]
            #[param(explode = true)]
            event_type: Vec<EventType>,
            verification: Option<Verification>,
            /// `internal` or `published` (on the public map).
            publication: Option<Publication>,
            /// Region name, case- and accent-insensitive (`apurimac` = `Apurímac`).
            region: Option<String>,
            province: Option<String>,
            district: Option<String>,
            /// Ubigeo prefix: `03` (region), `0304` (province) or `030410` (district);
            /// `none`: incidents in no district (outside the loaded boundaries).
            #[param(pattern = "^([0-9]{1,6}|none)$")]
            ubigeo: Option<String>,
            /// Words to find in title, description and place, every one of them, each as a
            /// word or the start of one (`apurim` finds Apurímac); case- and accent-insensitive.
            #[param(max_length = 200)]
            q: Option<String>,
            $($(#[$field_attr])* $field: $ty,)*
        }

        impl $name {
            /// The filters above, checked and taken out; the box and the
            /// pager are the caller's.
            fn take_filters(&mut self) -> Result<EventFilter, AppError> {
                FilterFields {
                    concession: self.concession.take(),
                    actor: self.actor.take(),
                    from: self.from,
                    to: self.to,
                    event_type: std::mem::take(&mut self.event_type),
                    verification: self.verification,
                    publication: self.publication,
                    region: self.region.take(),
                    province: self.province.take(),
                    district: self.district.take(),
                    ubigeo: self.ubigeo.take(),
                    q: self.q.take(),
                }
                .check()
            }
        }
    };
}

/// The list filters as they came in the query string.
struct FilterFields {
    concession: Option<String>,
    actor: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    event_type: Vec<EventType>,
    verification: Option<Verification>,
    publication: Option<Publication>,
    region: Option<String>,
    province: Option<String>,
    district: Option<String>,
    ubigeo: Option<String>,
    q: Option<String>,
}

impl FilterFields {
    fn check(mut self) -> Result<EventFilter, AppError> {
        // People know a concession by its INGEMMET code; scripts by its id.
        let concession = self
            .concession
            .as_deref()
            .map(|c| match parse_id(c, "concession") {
                Ok(id) => ConcessionKey::Id(id),
                Err(_) => ConcessionKey::Code(c.trim().to_string()),
            });
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(AppError::BadRequest(format!(
                    "from ({from}) is after to ({to})"
                )));
            }
        }
        // `none`: incidents placed in no district (outside the boundaries,
        // or before any were loaded) and given no ubigeo.
        let without_ubigeo = self.ubigeo.as_deref() == Some("none");
        if without_ubigeo {
            self.ubigeo = None;
        }
        if let Some(prefix) = &self.ubigeo {
            if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(AppError::BadRequest("ubigeo must be 1 to 6 digits".into()));
            }
        }
        Ok(EventFilter {
            from: self.from,
            to: self.to,
            event_types: self.event_type,
            verification: self.verification,
            publication: self.publication,
            region: self.region,
            province: self.province,
            district: self.district,
            ubigeo_prefix: self.ubigeo,
            without_ubigeo,
            bbox: None,
            words: self
                .q
                .as_deref()
                .map(crate::text::fold)
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
            actor: self
                .actor
                .as_deref()
                .map(|a| {
                    parse_id(a, "actor").map_err(|_| {
                        AppError::BadRequest(format!("actor {a:?} is not an actor id"))
                    })
                })
                .transpose()?,
            concession,
            case: None,
            after: None,
            limit: 0,
        })
    }
}

with_event_filters! {
    pub struct EventListQuery {
        /// `minLon,minLat,maxLon,maxLat` in WGS 84 degrees.
        #[param(example = "-73.5,-14.5,-72.5,-14.0")]
        bbox: Option<String>,
        /// `next_cursor` of the previous page.
        cursor: Option<String>,
        /// Page size, 1–200 (default 50).
        #[param(minimum = 1, maximum = 200)]
        limit: Option<i64>,
        /// `true`: the answer also says how many incidents match
        /// (`total`, counted up to 10,000, estimated above).
        count: Option<bool>,
    }
}

/// A page of incidents; with `count=true`, how many match in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// With `count=true`: the live incidents matching the filters, on every
    /// page. Counted when at most 10,000; above, estimated (see
    /// `total_is_estimate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// With `count=true`: whether `total` is an estimate (over 10,000
    /// matches, extrapolated from the dates of the first 10,001).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_is_estimate: Option<bool>,
}

impl EventListQuery {
    pub fn into_filter(mut self) -> Result<EventFilter, AppError> {
        Ok(EventFilter {
            bbox: self.bbox.as_deref().map(parse_bbox).transpose()?,
            after: self.cursor.as_deref().map(pagination::decode).transpose()?,
            limit: pagination::limit(self.limit)?,
            ..self.take_filters()?
        })
    }
}

pub fn parse_bbox(text: &str) -> Result<[f64; 4], AppError> {
    let bad = |why: &str| {
        AppError::BadRequest(format!(
            "bbox {text:?}: {why}; expected minLon,minLat,maxLon,maxLat"
        ))
    };
    let numbers: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("not four numbers"))?;
    let [min_lon, min_lat, max_lon, max_lat] = numbers[..] else {
        return Err(bad("not four numbers"));
    };
    if numbers.iter().any(|n| !n.is_finite()) {
        return Err(bad("numbers must be finite"));
    }
    if !(-180.0..=180.0).contains(&min_lon) || !(-180.0..=180.0).contains(&max_lon) {
        return Err(bad("longitudes must be within -180..180"));
    }
    if !(-90.0..=90.0).contains(&min_lat) || !(-90.0..=90.0).contains(&max_lat) {
        return Err(bad("latitudes must be within -90..90"));
    }
    if min_lon > max_lon || min_lat > max_lat {
        return Err(bad("minimum greater than maximum"));
    }
    Ok([min_lon, min_lat, max_lon, max_lat])
}

/// List incidents, newest first, with filters.
#[utoipa::path(tag = "events", params(EventListQuery),
    responses((status = 200, description = "A page of incidents", body = EventPage),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/events")]
pub async fn list_events(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    let count = q.count.unwrap_or(false);
    let filter = q.into_filter()?;
    if !count {
        return list_page(&db, filter).await;
    }
    let limit = filter.limit;
    let (rows, total) = db
        .run(move |conn| {
            let rows = ops::events::list(conn, &filter)?;
            Ok::<_, AppError>((rows, store::total(conn, &filter)?))
        })
        .await?;
    let page = Page::from_rows(rows, limit, |e: &Event| {
        (e.fields.occurred_on, e.id.to_string())
    });
    Ok(HttpResponse::Ok().json(EventPage {
        items: page.items,
        next_cursor: page.next_cursor,
        total: Some(total.count),
        total_is_estimate: Some(total.estimate),
    }))
}

/// One page of incidents for a checked filter, in the list shape.
pub async fn list_page(db: &Db, filter: EventFilter) -> Result<HttpResponse, AppError> {
    let limit = filter.limit;
    let rows = db.run(move |conn| ops::events::list(conn, &filter)).await?;
    let page = Page::from_rows(rows, limit, |e: &Event| {
        (e.fields.occurred_on, e.id.to_string())
    });
    Ok(HttpResponse::Ok().json(page))
}

with_event_filters! {
    pub struct ClustersQuery {
        /// The map's view, `minLon,minLat,maxLon,maxLat` in WGS 84 degrees.
        #[param(example = "-81.4,-18.4,-68.6,-0.03")]
        bbox: String,
        /// The map's zoom level (256-pixel tiles), 0–20: cells are 64
        /// pixels, 90 / 2^zoom degrees.
        #[param(minimum = 0, maximum = 20)]
        zoom: i64,
    }
}

/// Reads a map's zoom level (`zoom`, 0–20).
pub fn parse_zoom(zoom: i64) -> Result<u8, AppError> {
    u8::try_from(zoom)
        .ok()
        .filter(|z| *z <= 20)
        .ok_or_else(|| AppError::BadRequest(format!("zoom {zoom} is not within 0..20")))
}

/// The incidents in a map's view with the list's filters: every one (id,
/// title, type, date, point) when there are at most 2,000, otherwise their
/// counts per cell of a grid of about 64 screen pixels at the zoom, each
/// with the mean position and the extent of its incidents.
#[utoipa::path(tag = "events", params(ClustersQuery),
    responses((status = 200, description = "Markers or grid cells", body = MapView),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/events/clusters")]
pub async fn event_clusters(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(mut q): QueryParams<ClustersQuery>,
) -> Result<HttpResponse, AppError> {
    let zoom = parse_zoom(q.zoom)?;
    let filter = EventFilter {
        bbox: Some(parse_bbox(&q.bbox)?),
        ..q.take_filters()?
    };
    let view = db
        .run(move |conn| store::map_view(conn, &filter, zoom, store::MAP_MARKERS))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Rows read from the database per step of an export: memory stays bounded
/// by this, whatever the number of incidents.
const EXPORT_CHUNK: i64 = 500;

#[derive(Clone, Copy)]
enum ExportFormat {
    Csv,
    GeoJson,
}

/// Every incident the list's filters select, as CSV with ACLED's column
/// names first (see the README, "Exports"). Streamed: the whole selection,
/// not a page; `cursor` and `limit` do not apply.
#[utoipa::path(tag = "events", params(EventListQuery),
    responses((status = 200, description = "Incidents as CSV", body = String, content_type = "text/csv"),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/events/export.csv")]
pub async fn export_events_csv(
    caller: Caller,
    db: web::Data<Db>,
    base: web::Data<crate::http::PublicBase>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    export(db, base, q, ExportFormat::Csv, redacts(&caller)).await
}

/// Every incident the list's filters select, as a GeoJSON FeatureCollection
/// (RFC 7946, WGS 84) that QGIS and GDAL open; properties as in the CSV.
#[utoipa::path(tag = "events", params(EventListQuery),
    responses((status = 200, description = "Incidents as GeoJSON", body = Object, content_type = "application/geo+json"),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/events/export.geojson")]
pub async fn export_events_geojson(
    caller: Caller,
    db: web::Data<Db>,
    base: web::Data<crate::http::PublicBase>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    export(db, base, q, ExportFormat::GeoJson, redacts(&caller)).await
}

/// Every incident the list's filters select, as an Excel workbook (one
/// sheet, header row frozen, dates as dates) that Excel and LibreOffice open.
#[utoipa::path(tag = "events", params(EventListQuery),
    responses((status = 200, description = "Incidents as XLSX", body = Vec<u8>,
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/events/export.xlsx")]
pub async fn export_events_xlsx(
    caller: Caller,
    db: web::Data<Db>,
    base: web::Data<crate::http::PublicBase>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    refuse_paging(&q)?;
    let name = export_name(q.from, q.to, "xlsx");
    let mut filter = q.into_filter()?;
    filter.limit = EXPORT_CHUNK;
    let base = base.0.clone();
    let redact = redacts(&caller);
    // The workbook is written to a temporary file (a zip cannot be sent
    // before it is finished), then sent from it in pieces.
    let file = db
        .run(move |conn| {
            let file = tempfile::NamedTempFile::new()
                .map_err(|e| AppError::internal_from("a temporary file for the export", e))?;
            let mut next = Some(filter);
            crate::events::export::write_xlsx(file.path(), &base, || {
                let Some(filter) = next.take() else {
                    return Ok(None);
                };
                let (rows, following) = chunk(conn, filter, redact)?;
                next = following;
                Ok(Some(rows))
            })?;
            Ok(file)
        })
        .await?;
    // Read back in pieces on the blocking pool, never on the executor; the
    // temporary file goes with the last piece.
    let body = futures_util::stream::unfold(Some(file), |file| async move {
        let file = file?;
        let piece = web::block(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            let n = std::io::Read::read(&mut file.as_file(), &mut buffer)?;
            buffer.truncate(n);
            Ok::<_, std::io::Error>((buffer, file))
        })
        .await;
        match piece {
            Ok(Ok((buffer, _))) if buffer.is_empty() => None,
            Ok(Ok((buffer, file))) => Some((Ok(web::Bytes::from(buffer)), Some(file))),
            Ok(Err(e)) => Some((
                Err(AppError::internal_from("reading the export back", e).into()),
                None,
            )),
            Err(e) => Some((Err(actix_web::Error::from(e)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(body))
}

fn refuse_paging(q: &EventListQuery) -> Result<(), AppError> {
    if q.cursor.is_some() || q.limit.is_some() {
        return Err(AppError::BadRequest(
            "an export has every incident the filters select: cursor and limit are for pages"
                .into(),
        ));
    }
    Ok(())
}

/// Whether `caller` reads incidents without their confidential sources
/// (below monitor: researchers).
fn redacts(caller: &Caller) -> bool {
    !caller.is(crate::keys::Role::Monitor)
}

async fn export(
    db: web::Data<Db>,
    base: web::Data<crate::http::PublicBase>,
    q: EventListQuery,
    format: ExportFormat,
    redact: bool,
) -> Result<HttpResponse, AppError> {
    refuse_paging(&q)?;
    let (from, to) = (q.from, q.to);
    let mut filter = q.into_filter()?;
    filter.limit = EXPORT_CHUNK;
    let base = base.0.clone();
    let db = db.into_inner();
    // The first chunk is read before answering, so an unreachable database
    // is a problem answer, not a cut-off file.
    let first = read_chunk(&db, filter.clone(), redact).await?;
    let (extension, content_type) = match format {
        ExportFormat::Csv => ("csv", "text/csv; charset=utf-8"),
        ExportFormat::GeoJson => ("geojson", "application/geo+json"),
    };
    let name = export_name(from, to, extension);
    let state = ExportState {
        db,
        filter,
        base,
        format,
        pending: Some(first),
        redact,
        started: false,
        finished: false,
    };
    let body = futures_util::stream::unfold(state, |mut state| async move {
        let chunk = state.next_bytes().await?;
        Some((chunk, state))
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(body))
}

/// `vigia-incidents[_FROM][_TO].EXT`: the file says which dates it holds.
fn export_name(from: Option<NaiveDate>, to: Option<NaiveDate>, extension: &str) -> String {
    let mut name = String::from("vigia-incidents");
    if let Some(from) = from {
        name.push_str(&format!("_from-{from}"));
    }
    if let Some(to) = to {
        name.push_str(&format!("_to-{to}"));
    }
    format!("{name}.{extension}")
}

/// A chunk of incidents and, when more follow, the filter for the next.
type Chunk = (Vec<Event>, Option<EventFilter>);

async fn read_chunk(db: &Db, filter: EventFilter, redact: bool) -> Result<Chunk, AppError> {
    db.run(move |conn| chunk(conn, filter, redact)).await
}

fn chunk(
    conn: &mut crate::db::DbConn,
    filter: EventFilter,
    redact: bool,
) -> Result<Chunk, AppError> {
    let mut rows = ops::events::list(conn, &filter)?;
    if redact {
        rows = rows
            .into_iter()
            .map(Event::without_confidential_sources)
            .collect();
    }
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(filter.limit as usize);
    let next = match (more, rows.last()) {
        (true, Some(last)) => Some(EventFilter {
            after: Some((last.fields.occurred_on, last.id.to_string())),
            ..filter
        }),
        _ => None,
    };
    Ok((rows, next))
}

struct ExportState {
    db: std::sync::Arc<Db>,
    filter: EventFilter,
    base: String,
    format: ExportFormat,
    pending: Option<Chunk>,
    redact: bool,
    started: bool,
    finished: bool,
}

impl ExportState {
    /// The next piece of the file; `None` once it is complete.
    async fn next_bytes(&mut self) -> Option<Result<actix_web::web::Bytes, actix_web::Error>> {
        if self.finished {
            return None;
        }
        let (rows, next) = match self.pending.take() {
            Some(chunk) => chunk,
            None => match read_chunk(&self.db, self.filter.clone(), self.redact).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    // Headers are gone: all that is left is to cut the file
                    // short, which the client sees as an incomplete body.
                    tracing::error!(error = %e.report(), "export stopped");
                    self.finished = true;
                    return Some(Err(e.into()));
                }
            },
        };
        let first = !self.started;
        self.started = true;
        let last = next.is_none();
        if let Some(next) = next {
            self.filter = next;
        } else {
            self.finished = true;
        }
        Some(self.render(&rows, first, last).map_err(Into::into))
    }

    fn render(
        &self,
        rows: &[Event],
        first: bool,
        last: bool,
    ) -> Result<actix_web::web::Bytes, AppError> {
        use crate::events::export;
        let mut out = Vec::new();
        match self.format {
            ExportFormat::Csv => {
                let mut writer = csv::Writer::from_writer(&mut out);
                let failed = |e: csv::Error| AppError::internal_from("writing the export", e);
                if first {
                    writer.write_record(export::COLUMNS).map_err(failed)?;
                }
                for event in rows {
                    let cells = export::csv_cells(&export::record(event, &self.base));
                    writer.write_record(&cells).map_err(failed)?;
                }
                writer
                    .flush()
                    .map_err(|e| AppError::internal_from("writing the export", e))?;
            }
            ExportFormat::GeoJson => {
                if first {
                    out.extend_from_slice(br#"{"type":"FeatureCollection","features":["#);
                }
                for (i, event) in rows.iter().enumerate() {
                    if !(first && i == 0) {
                        out.push(b',');
                    }
                    let feature = export::feature(event, export::record(event, &self.base));
                    serde_json::to_writer(&mut out, &feature)
                        .map_err(|e| AppError::internal_from("writing the export", e))?;
                }
                if last {
                    out.extend_from_slice(b"]}\n");
                }
            }
        }
        Ok(out.into())
    }
}

with_event_filters! {
    /// The list's filters and what to count by (`GET /api/v1/stats`).
    pub struct StatsQuery {
        /// `minLon,minLat,maxLon,maxLat` in WGS 84 degrees.
        #[param(example = "-73.5,-14.5,-72.5,-14.0")]
        bbox: Option<String>,
        /// One key, or two separated by a comma for a table: `month`, `year`,
        /// `event_type`, `region`, `province`, `holder`, `verification`.
        #[param(example = "month,event_type")]
        group_by: Option<String>,
    }
}

impl StatsQuery {
    /// The checked filters and keys (a bad `group_by` is a 422 naming it).
    pub fn into_parts(
        mut self,
    ) -> Result<(EventFilter, Vec<crate::events::stats::GroupKey>), AppError> {
        let keys = crate::events::stats::parse_group_by(self.group_by.as_deref())?;
        let filter = EventFilter {
            bbox: self.bbox.as_deref().map(parse_bbox).transpose()?,
            ..self.take_filters()?
        };
        Ok((filter, keys))
    }
}
