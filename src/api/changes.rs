//! The change feeds: `/api/v1/{events,actors,cases}/changes` and
//! `/api/v1/concessions/feed` (`…/concessions/changes` is the registry log).
//! Registered before each collection's `{id}` route (`startup::api_routes`).

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::actors::Actor;
use crate::cases::Case;
use crate::changes::Feed;
use crate::db::Db;
use crate::error::AppError;
use crate::events::Event;
use crate::http::QueryParams;
use crate::keys::Caller;
use crate::openapi as doc;
use crate::ops::changes::{self, ChangePage};
use crate::places::Concession;
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes
        .add(event_changes)
        .add(actor_changes)
        .add(concession_changes)
        .add(case_changes);
}

/// Reads one page of a feed off the async executor.
async fn serve<T: serde::Serialize + Send + 'static>(
    db: web::Data<Db>,
    q: ChangesQuery,
    feed: Feed,
    load: changes::Loader<T>,
) -> Result<HttpResponse, AppError> {
    let page = db
        .run(move |conn| changes::page(conn, feed, q.since.as_deref(), q.limit, load))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of the page you read last; leave out to start from
    /// the first change.
    #[param(max_length = 200)]
    since: Option<String>,
    /// Changes read at most, 1–500 (default 100); several changes of one
    /// record in a page are one item.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Every creation, update, delete and restore of incidents, in commit
/// order, each with the incident as it is now (`null` once deleted). Keep a
/// mirror: apply the items, then ask again with `next_cursor`. A change
/// committed late by another process is never skipped.
#[utoipa::path(tag = "events", params(ChangesQuery),
    responses((status = 200, description = "Changes after `since`", body = ChangePage<Event>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/events/changes")]
pub async fn event_changes(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<HttpResponse, AppError> {
    serve(db, q, Feed::Event, changes::events).await
}

/// Every change of actors, in commit order, each with the actor as it is
/// now (`null` once deleted or merged away). Incidents name their actors by
/// id; a renamed actor is a change here, not in the incidents' feed.
#[utoipa::path(tag = "actors", params(ChangesQuery),
    responses((status = 200, description = "Changes after `since`", body = ChangePage<Actor>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/actors/changes")]
pub async fn actor_changes(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<HttpResponse, AppError> {
    serve(db, q, Feed::Actor, changes::actors).await
}

/// Every change of concessions (imports, registry changes, edits), in
/// commit order, each with the concession as it is now: the same feed as
/// `/api/v1/events/changes`. (`/api/v1/concessions/changes` is the
/// registry's own log, what changed with its before and after.)
#[utoipa::path(tag = "concessions", params(ChangesQuery),
    responses((status = 200, description = "Changes after `since`", body = ChangePage<Concession>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/concessions/feed")]
pub async fn concession_changes(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<HttpResponse, AppError> {
    serve(db, q, Feed::Concession, changes::concessions).await
}

/// Every change of the Defensoría's cases (their report entries and
/// companies included), in commit order, each with the case and its
/// entries as they are now.
#[utoipa::path(tag = "cases", params(ChangesQuery),
    responses((status = 200, description = "Changes after `since`", body = ChangePage<Case>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/cases/changes")]
pub async fn case_changes(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<HttpResponse, AppError> {
    serve(db, q, Feed::Case, changes::cases).await
}
