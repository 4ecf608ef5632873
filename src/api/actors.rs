//! `/api/v1/actors` and the incident–actor links.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::actors::store::{self, ActorFilter};
use crate::actors::{Actor, ActorInput, ActorKind, Attribution, LinkRole};
use crate::api::events::{list_page, EventListQuery};
use crate::db::Db;
use crate::error::AppError;
use crate::events::Event;
use crate::http::{etag, parse_id, IfMatch, JsonBody, QueryParams};
use crate::idempotency;
use crate::keys::{Caller, Role};
use crate::openapi as doc;
use crate::ops::{self, Who};
use crate::pagination::{self, Page};
use crate::places::PlaceIndex;
use crate::routing::Routes;

/// The actor routes, in matching order.
pub fn configure(routes: &mut Routes) {
    routes
        .add(list_actors)
        .add(create_actor)
        .add(get_actor)
        .add(patch_actor)
        .add(delete_actor)
        .add(merge_actor)
        .add(actor_events)
        .add(link_actor)
        .add(unlink_actor);
}

fn with_etag(mut response: actix_web::HttpResponseBuilder, actor: &Actor) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(actor.version)))
        .json(actor)
}

/// Add an actor (monitor, admin). With an `Idempotency-Key`, added once
/// however often it is sent (as for incidents).
#[utoipa::path(tag = "actors", request_body = ActorInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A key the client makes (a UUID), 1–255 printable ASCII characters: the request is done once per key")),
    responses((status = 201, description = "Added", body = Actor, headers(("Location" = String), ("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::Conflict, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/actors")]
pub async fn create_actor(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    JsonBody(input): JsonBody<ActorInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let Some(key) = idempotency::key_of(&req)? else {
        let actor = db
            .run(move |conn| ops::actors::create(conn, &who, input))
            .await?;
        let mut response = HttpResponse::Created();
        response.insert_header((header::LOCATION, format!("/api/v1/actors/{}", actor.id)));
        return Ok(with_etag(response, &actor));
    };
    let fingerprint = idempotency::fingerprint("POST /api/v1/actors", &input)?;
    let (answer, replayed) = db
        .run(move |conn| {
            idempotency::once(conn, &who.owner(), &key, &fingerprint, |conn| {
                let actor = ops::actors::create(conn, &who, input)?;
                Ok(idempotency::Answer {
                    status: actix_web::http::StatusCode::CREATED,
                    body: serde_json::to_string(&actor)
                        .map_err(|e| AppError::internal_from("writing an actor", e))?,
                    location: Some(format!("/api/v1/actors/{}", actor.id)),
                    etag: Some(etag(actor.version)),
                })
            })
        })
        .await?;
    Ok(answer.into_response(replayed))
}

/// Read one actor.
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "Actor id")),
    responses((status = 200, description = "The actor", body = Actor, headers(("ETag" = String))),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/actors/{id}")]
pub async fn get_actor(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "actor")?;
    let actor = db.run(move |conn| store::load(conn, &id)).await?;
    Ok(with_etag(HttpResponse::Ok(), &actor))
}

/// Change an actor with a JSON Merge Patch (monitor, admin).
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "Actor id"),
        ("If-Match" = String, Header, description = "ETag of the version you edit (required; `*` overwrites whatever is current)")),
    request_body(content = crate::actors::ActorPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed actor", body = Actor, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PreconditionFailed, doc::PreconditionRequired,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[patch("/api/v1/actors/{id}")]
pub async fn patch_actor(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    req: HttpRequest,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "actor")?;
    let if_match = IfMatch::from_request(&req);
    let actor = db
        .run(move |conn| ops::actors::update(conn, &index, &who, &id, &if_match, patch))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &actor))
}

/// Delete an actor (monitor, admin); its history stays.
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "Actor id"),
        ("If-Match" = String, Header, description = "ETag of the version you delete (required; `*` deletes whatever is current)")),
    responses((status = 204, description = "Deleted"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired))]
#[delete("/api/v1/actors/{id}")]
pub async fn delete_actor(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "actor")?;
    let if_match = IfMatch::from_request(&req);
    db.run(move |conn| ops::actors::delete(conn, &who, &id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInto {
    /// The actor that remains.
    into: Uuid,
}

/// Merge this actor into another (admin): its incident links, concessions,
/// name and aliases move over; it is retired, its history kept.
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "The actor that goes away")),
    request_body = MergeInto,
    responses((status = 200, description = "The actor that remains", body = Actor, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/actors/{id}/merge")]
pub async fn merge_actor(
    caller: Caller,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<MergeInto>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "actor")?;
    let into = body.into.to_string();
    let actor = db
        .run(move |conn| ops::actors::merge(conn, &index, &who, &id, &into))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &actor))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActorListQuery {
    /// Words of a name or alias; case, accents, punctuation and legal forms
    /// (`S.A.C.`, `Corporation`) do not matter.
    #[param(max_length = 200)]
    q: Option<String>,
    kind: Option<ActorKind>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Find actors by name or alias.
#[utoipa::path(tag = "actors", params(ActorListQuery),
    responses((status = 200, description = "A page of actors, by name", body = Page<Actor>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/actors")]
pub async fn list_actors(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ActorListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = ActorFilter {
        words: q
            .q
            .as_deref()
            .map(crate::actors::name_key)
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect(),
        kind: q.kind,
        after: q.cursor.as_deref().map(pagination::decode).transpose()?,
        limit: pagination::limit(q.limit)?,
    };
    let limit = filter.limit;
    let rows = db.run(move |conn| store::list(conn, &filter)).await?;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, limit, |a: &Actor| {
            (a.fields.name.clone(), a.id.to_string())
        })),
    )
}

/// The incidents an actor is linked to, newest first.
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "Actor id"), EventListQuery),
    responses((status = 200, description = "A page of incidents", body = Page<Event>),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/actors/{id}/events")]
pub async fn actor_events(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "actor")?;
    let mut filter = q.into_filter()?;
    filter.actor = Some(id.clone());
    let check = id.clone();
    db.run(move |conn| store::load(conn, &check).map(|_| ()))
        .await?;
    list_page(&db, filter).await
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    actor_id: Uuid,
    role: LinkRole,
    attribution: Attribution,
    /// Up to 2,000 characters.
    #[validate(length(max = 2000), custom(function = "crate::rules::text_block"))]
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// Link an actor to an incident (monitor, admin).
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "Incident id")),
    request_body = LinkInput,
    responses((status = 200, description = "The incident with its actors", body = Event),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/events/{id}/actors")]
pub async fn link_actor(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<LinkInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    who.require(Role::Monitor)?;
    crate::rules::check(&body)?;
    let id = parse_id(&id, "event")?;
    let link = ops::actors::Link {
        actor_id: body.actor_id.to_string(),
        role: body.role,
        attribution: body.attribution,
        note: body.note,
    };
    let event = db
        .run(move |conn| ops::actors::link(conn, &who, &id, link))
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnlinkQuery {
    /// Only this role (default: every role of the actor in the incident).
    role: Option<LinkRole>,
}

/// Unlink an actor from an incident (monitor, admin).
#[utoipa::path(tag = "actors",
    params(("id" = String, Path, description = "Incident id"), ("actor_id" = String, Path, description = "Actor id"), UnlinkQuery),
    responses((status = 204, description = "Unlinked"), doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound))]
#[delete("/api/v1/events/{id}/actors/{actor_id}")]
pub async fn unlink_actor(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    QueryParams(q): QueryParams<UnlinkQuery>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let (event_id, actor_id) = path.into_inner();
    let event_id = parse_id(&event_id, "event")?;
    let actor_id = parse_id(&actor_id, "actor")?;
    db.run(move |conn| ops::actors::unlink(conn, &who, &event_id, &actor_id, q.role))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
