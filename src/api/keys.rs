//! `/api/v1/keys`: admins manage keys over HTTP as they do with `vigia keys`.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::db::Db;
use crate::error::AppError;
use crate::http::{JsonBody, QueryParams};
use crate::keys::{ApiKey, Caller, CreatedKey, Role};
use crate::openapi as doc;
use crate::ops::{self, Who};
use crate::pagination::{self, Page};
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes.add(list_keys).add(create_key).add(revoke_key);
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Who holds the key, e.g. `maria-apurimac-monitor`: 1–100 characters,
    /// not blank, no control characters.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    role: Role,
}

/// List API keys (admin).
#[utoipa::path(tag = "keys", params(KeyListQuery),
    responses((status = 200, description = "A page of keys", body = Page<ApiKey>),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden))]
#[get("/api/v1/keys")]
pub async fn list_keys(
    caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<KeyListQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let limit = pagination::limit(q.limit)?;
    let after: Option<(NaiveDateTime, String)> =
        q.cursor.as_deref().map(pagination::decode).transpose()?;
    let rows = db
        .run(move |conn| crate::keys::list(conn, after, limit))
        .await?;
    let page = Page::from_rows(rows, limit, |k: &ApiKey| {
        (k.created_at.naive_utc(), k.id.to_string())
    });
    Ok(HttpResponse::Ok().json(page))
}

/// Create an API key (admin). The token is in this answer only.
#[utoipa::path(tag = "keys", request_body = NewKey,
    responses((status = 201, description = "The key and its token", body = CreatedKey),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::Conflict,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/keys")]
pub async fn create_key(
    caller: Caller,
    db: web::Data<Db>,
    JsonBody(body): JsonBody<NewKey>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let created = db
        .run(move |conn| ops::keys::create(conn, &who, &body.name, body.role, None))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/keys/{}", created.key.id)))
        .json(created))
}

/// Revoke an API key (admin). It stops working at once, and the watches it
/// owns are suspended (their unsent mail cancelled).
#[utoipa::path(tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The revoked key", body = ApiKey),
        doc::Unauthorized, doc::Forbidden, doc::NotFound))]
#[delete("/api/v1/keys/{id}")]
pub async fn revoke_key(
    cache: web::Data<crate::keys::KeyCache>,
    index: web::Data<crate::places::PlaceIndex>,
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = crate::http::parse_id(&id, "API key")?;
    let key = db
        .run(move |conn| ops::keys::revoke(conn, &index, &who, &id))
        .await?;
    cache.forget(key.id);
    Ok(HttpResponse::Ok().json(key))
}
