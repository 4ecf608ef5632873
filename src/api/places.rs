//! `/api/v1/concessions`: the cadastre over HTTP, as JSON or GeoJSON; and
//! `/api/v1/districts`: district outlines for maps and the district of a point.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::events::{list_page, parse_bbox, parse_zoom, EventListQuery};
use crate::db::Db;
use crate::error::AppError;
use crate::events::store::ConcessionKey;
use crate::events::Event;
use crate::http::{etag, parse_id, IfMatch, JsonBody, QueryParams};
use crate::keys::Caller;
use crate::openapi as doc;
use crate::ops::{self, Who};
use crate::pagination::{self, Page};
use crate::places::store::{self, ConcessionFilter, RegistryChange};
use crate::places::{Concession, ConcessionInput, ConcessionPatch, District, PlaceIndex};
use crate::routing::Routes;

/// The concession routes, in matching order: `at` and `changes` before `{id}`.
pub fn configure(routes: &mut Routes) {
    routes
        .add(list_concessions)
        .add(create_concession)
        .add(concessions_at)
        .add(registry_changes)
        .add(get_concession)
        .add(patch_concession)
        .add(delete_concession)
        .add(concession_events)
        .add(districts_for_map)
        .add(district_at);
}

const GEOJSON: &str = "application/geo+json";

fn wants_geojson(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(GEOJSON))
}

fn feature(c: &Concession) -> serde_json::Value {
    serde_json::json!({
        "type": "Feature",
        "id": c.id,
        "geometry": c.geometry,
        "properties": {
            "code": c.code,
            "name": c.name,
            "holder_id": c.holder.as_ref().map(|h| h.id),
            "holder": c.holder.as_ref().map(|h| h.name.clone()),
            "hectares": c.hectares,
            "status": c.status,
            "substance": c.substance,
            "filed_on": c.filed_on,
            "geometry_valid": c.geometry_valid,
            "source_crs": c.source_crs,
            "version": c.version,
        }
    })
}

fn one(
    req: &HttpRequest,
    mut response: actix_web::HttpResponseBuilder,
    c: &Concession,
) -> HttpResponse {
    response.insert_header((header::ETAG, etag(c.version)));
    if wants_geojson(req) {
        response.content_type(GEOJSON).body(feature(c).to_string())
    } else {
        response.json(c)
    }
}

/// Add a concession (admin), with a GeoJSON outline in WGS 84 lon/lat.
#[utoipa::path(tag = "concessions", request_body = ConcessionInput,
    responses((status = 201, description = "Added; incidents inside are matched to it", body = Concession,
            headers(("Location" = String), ("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::Conflict, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/concessions")]
pub async fn create_concession(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    JsonBody(input): JsonBody<ConcessionInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let created = db
        .run(move |conn| ops::places::create_concession(conn, &index, &who, input))
        .await?;
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        format!("/api/v1/concessions/{}", created.id),
    ));
    Ok(one(&req, response, &created))
}

/// Read one concession (JSON, or a GeoJSON Feature with `Accept: application/geo+json`).
#[utoipa::path(tag = "concessions",
    params(("id" = String, Path, description = "Concession id")),
    responses((status = 200, description = "The concession", headers(("ETag" = String)),
            content((Concession = "application/json"), (serde_json::Value = "application/geo+json"))),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/concessions/{id}")]
pub async fn get_concession(
    _caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "concession")?;
    let c = db.run(move |conn| store::load(conn, &id)).await?;
    Ok(one(&req, HttpResponse::Ok(), &c))
}

/// Change a concession with a JSON Merge Patch (admin); its code stays.
#[utoipa::path(tag = "concessions",
    params(("id" = String, Path, description = "Concession id"),
        ("If-Match" = String, Header, description = "ETag of the version you edit (required; `*` overwrites whatever is current)")),
    request_body(content = ConcessionPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed concession", body = Concession, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[patch("/api/v1/concessions/{id}")]
pub async fn patch_concession(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "concession")?;
    let if_match = IfMatch::from_request(&req);
    let changed = db
        .run(move |conn| ops::places::update_concession(conn, &index, &who, &id, &if_match, patch))
        .await?;
    Ok(one(&req, HttpResponse::Ok(), &changed))
}

/// Remove a concession (admin): recorded as `removed` in the registry changes.
#[utoipa::path(tag = "concessions",
    params(("id" = String, Path, description = "Concession id"),
        ("If-Match" = String, Header, description = "ETag of the version you delete (required; `*` deletes whatever is current)")),
    responses((status = 204, description = "Removed"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired))]
#[delete("/api/v1/concessions/{id}")]
pub async fn delete_concession(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "concession")?;
    let if_match = IfMatch::from_request(&req);
    db.run(move |conn| ops::places::delete_concession(conn, &index, &who, &id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConcessionListQuery {
    /// INGEMMET code, exactly.
    code: Option<String>,
    /// Holder's actor id.
    holder: Option<String>,
    /// Words of the code, name or holder (case- and accent-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// `minLon,minLat,maxLon,maxLat`: concessions whose box meets it.
    bbox: Option<String>,
    /// A map's zoom level, 0–20: outlines simplified for drawing at it
    /// (about one screen pixel of tolerance, coordinates rounded).
    #[param(minimum = 0, maximum = 20)]
    zoom: Option<i64>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// List concessions by code (JSON page, or a GeoJSON FeatureCollection with
/// `Accept: application/geo+json`; its `next_cursor` member pages the same way).
#[utoipa::path(tag = "concessions", params(ConcessionListQuery),
    responses((status = 200, description = "A page of concessions",
            content((Page<Concession> = "application/json"), (serde_json::Value = "application/geo+json"))),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/concessions")]
pub async fn list_concessions(
    _caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    QueryParams(q): QueryParams<ConcessionListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = ConcessionFilter {
        code: q.code,
        holder: q
            .holder
            .as_deref()
            .map(|h| {
                parse_id(h, "actor")
                    .map_err(|_| AppError::BadRequest(format!("holder {h:?} is not an actor id")))
            })
            .transpose()?,
        words: q
            .q
            .as_deref()
            .map(crate::text::fold)
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect(),
        bbox: q.bbox.as_deref().map(parse_bbox).transpose()?,
        after: q.cursor.as_deref().map(pagination::decode).transpose()?,
        limit: pagination::limit(q.limit)?,
        zoom: q.zoom.map(parse_zoom).transpose()?,
    };
    let limit = filter.limit;
    let rows = db.run(move |conn| store::list(conn, &filter)).await?;
    let page = Page::from_rows(rows, limit, |c: &Concession| {
        (c.code.clone(), c.id.to_string())
    });
    if wants_geojson(&req) {
        let collection = serde_json::json!({
            "type": "FeatureCollection",
            "features": page.items.iter().map(feature).collect::<Vec<_>>(),
            "next_cursor": page.next_cursor,
        });
        return Ok(HttpResponse::Ok()
            .content_type(GEOJSON)
            .body(collection.to_string()));
    }
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointQuery {
    #[param(minimum = -90, maximum = 90)]
    lat: f64,
    #[param(minimum = -180, maximum = 180)]
    lon: f64,
}

impl PointQuery {
    fn check(&self) -> Result<(), AppError> {
        if !(-90.0..=90.0).contains(&self.lat) || !(-180.0..=180.0).contains(&self.lon) {
            return Err(AppError::BadRequest(
                "lat must be within -90..90 and lon within -180..180".into(),
            ));
        }
        Ok(())
    }
}

/// The point lookup's answer. Only its schema is used: the body is
/// assembled from the JSON the index keeps (`store::answer_at`), and a test
/// holds the two to the same bytes.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ConcessionItems {
    items: Vec<Concession>,
}

/// Every concession containing a point (they overlap: two or three is common).
#[utoipa::path(tag = "concessions", params(PointQuery),
    responses((status = 200, description = "The concessions containing the point", body = ConcessionItems),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/concessions/at")]
pub async fn concessions_at(
    _caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    QueryParams(q): QueryParams<PointQuery>,
) -> Result<HttpResponse, AppError> {
    q.check()?;
    // From the index alone while its version was read recently (no pool
    // checkout, no blocking task, no query); else read the version first.
    let shapes = match index.fresh_concessions() {
        Some(shapes) => shapes,
        None => {
            db.run(move |conn| index.concessions_committed(conn))
                .await?
        }
    };
    // The JSON the index keeps per concession is `Concession`'s own
    // serialisation: the body is what `ConcessionItems` would serialise to.
    Ok(HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(store::answer_at(&shapes, q.lon, q.lat)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Changes at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// What changed in the registry (imports and edits), oldest first.
#[utoipa::path(tag = "concessions", params(ChangesQuery),
    responses((status = 200, description = "A page of registry changes", body = Page<RegistryChange>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/concessions/changes")]
pub async fn registry_changes(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = pagination::limit(q.limit)?;
    let after: Option<i64> = q.cursor.as_deref().map(pagination::decode).transpose()?;
    let since = q.since.map(|t| t.naive_utc());
    let rows = db
        .run(move |conn| store::changes(conn, since, after, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |c: &RegistryChange| c.id)))
}

/// The incidents inside a concession, newest first.
#[utoipa::path(tag = "concessions",
    params(("id" = String, Path, description = "Concession id"), EventListQuery),
    responses((status = 200, description = "A page of incidents", body = Page<Event>),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/concessions/{id}/events")]
pub async fn concession_events(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "concession")?;
    let mut filter = q.into_filter()?;
    filter.concession = Some(ConcessionKey::Id(id.clone()));
    db.run(move |conn| store::load(conn, &id).map(|_| ()))
        .await?;
    list_page(&db, filter).await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// The map's view, `minLon,minLat,maxLon,maxLat` in WGS 84 degrees.
    #[param(example = "-81.4,-18.4,-68.6,-0.03")]
    bbox: String,
    /// The map's zoom level (256-pixel tiles), 0–20: outlines are simplified
    /// to about one screen pixel at it.
    #[param(minimum = 0, maximum = 20)]
    zoom: i64,
}

/// District outlines for a map: a GeoJSON FeatureCollection of the
/// districts whose bounding box meets `bbox` (at most 2,000, by ubigeo;
/// Peru has 1,834), properties `ubigeo`, `district`, `province`, `region`,
/// outlines simplified to the zoom and rounded to 5 decimals (6 from zoom 16).
#[utoipa::path(tag = "districts", params(MapQuery),
    responses((status = 200, description = "The districts in view",
            content((serde_json::Value = "application/geo+json"))),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/districts")]
pub async fn districts_for_map(
    _caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    QueryParams(q): QueryParams<MapQuery>,
) -> Result<HttpResponse, AppError> {
    let zoom = parse_zoom(q.zoom)?;
    let bbox = parse_bbox(&q.bbox)?;
    let found = db
        .run(move |conn| store::districts_for_map(conn, &index, bbox, zoom))
        .await?;
    let features: Vec<serde_json::Value> = found
        .into_iter()
        .map(|(district, geometry)| {
            let district = District::from(district);
            serde_json::json!({
                "type": "Feature",
                "id": district.ubigeo,
                "geometry": geometry,
                "properties": district,
            })
        })
        .collect();
    let collection = serde_json::json!({"type": "FeatureCollection", "features": features});
    Ok(HttpResponse::Ok()
        .content_type(GEOJSON)
        .body(collection.to_string()))
}

/// The district containing a point (from the loaded INEI boundaries).
#[utoipa::path(tag = "districts", params(PointQuery),
    responses((status = 200, description = "The district containing the point", body = District),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/districts/at")]
pub async fn district_at(
    _caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    QueryParams(q): QueryParams<PointQuery>,
) -> Result<HttpResponse, AppError> {
    q.check()?;
    let (lat, lon) = (q.lat, q.lon);
    let found = db
        .run(move |conn| store::district_at(conn, &index, lon, lat))
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no district contains lat {lat}, lon {lon} (outside Peru's loaded boundaries, or none loaded)"
            ))
        })?;
    Ok(HttpResponse::Ok().json(District::from(found)))
}
