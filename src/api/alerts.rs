//! `/api/v1/watches` and `/api/v1/alerts`, plus the two pages mail links
//! open (confirm, unsubscribe), which need no key: the signed token is the
//! credential.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::alerts::mail::Links;
use crate::alerts::store::{self, AlertFilter, Confirmed, Policy, Scope, WatchFilter};
use crate::alerts::tokens::LinkSigner;
use crate::alerts::{AlertRecord, AlertStatus, MailKind, Watch, WatchInput, WatchStatus};
use crate::db::Db;
use crate::error::AppError;
use crate::http::{etag, parse_id, IfMatch, JsonBody, QueryParams};
use crate::keys::{Caller, Role};
use crate::openapi as doc;
use crate::ops::{self, Who};
use crate::pagination::{self, Page};
use crate::routing::Routes;
use crate::web::{link_page, LinkForm, WebContext};

/// What the watch routes share: the confirmation rules and the link signer.
#[derive(Debug, Clone)]
pub struct WatchContext {
    pub policy: Policy,
    pub signer: LinkSigner,
    /// Links to Vigía's pages and feeds (the public base URL).
    pub links: Links,
    /// Posts the webhooks' test events (and knows whether private
    /// addresses are allowed).
    pub webhooks: crate::alerts::webhook::Sender,
}

/// The watch and alert routes, in matching order: `confirm` and
/// `unsubscribe` before `{id}`, which would take them for ids.
pub fn configure(routes: &mut Routes) {
    routes
        .add(list_watches)
        .add(create_watch)
        .add(confirm_page)
        .add(confirm_watch)
        .add(unsubscribe_page)
        .add(unsubscribe)
        .add(get_watch)
        .add(patch_watch)
        .add(delete_watch)
        .add(resend_confirmation)
        .add(get_feed_link)
        .add(rotate_feed_link)
        .add(watch_feed)
        .add(list_alerts);
}

fn scope(caller: &Caller) -> Scope {
    ops::alerts::scope(&Who::from(caller))
}

fn with_etag(mut response: actix_web::HttpResponseBuilder, watch: &Watch) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(watch.version)))
        .json(watch)
}

/// Watch a concession, a holder, an area or a ubigeo (any key). The watch
/// is `pending` until the button of the page the confirmation mail's link
/// opens is pressed. 409 naming the watch when you have a live one just
/// like it; 429 beyond the hourly limits of confirmation mail per address
/// (`alerts.confirmations_per_address_per_hour`) and per key
/// (`alerts.confirmations_per_key_per_hour`).
#[utoipa::path(tag = "watches", request_body = WatchInput,
    responses(
        (status = 201, description = "Created, pending confirmation", body = Watch,
            headers(("Location" = String), ("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::PayloadTooLarge, doc::UnsupportedMediaType,
        doc::Conflict, doc::Unprocessable, doc::TooManyRequests))]
#[post("/api/v1/watches")]
pub async fn create_watch(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    JsonBody(input): JsonBody<WatchInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let policy = ctx.policy;
    let watch = db
        .run(move |conn| ops::alerts::create(conn, &policy, &who, input))
        .await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/v1/watches/{}", watch.id)));
    Ok(with_etag(response, &watch))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WatchListQuery {
    status: Option<WatchStatus>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Your watches, newest first (admins: everyone's).
#[utoipa::path(tag = "watches", params(WatchListQuery),
    responses((status = 200, description = "A page of watches", body = Page<Watch>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/watches")]
pub async fn list_watches(
    caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<WatchListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = WatchFilter {
        status: q.status,
        after: q.cursor.as_deref().map(pagination::decode).transpose()?,
        limit: pagination::limit(q.limit)?,
    };
    let limit = filter.limit;
    let scope = scope(&caller);
    let rows = db
        .run(move |conn| store::list(conn, &scope, &filter))
        .await?;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, limit, |w: &Watch| {
            (w.created_at.naive_utc(), w.id.to_string())
        })),
    )
}

/// Read one of your watches.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "The watch", body = Watch, headers(("ETag" = String))),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/watches/{id}")]
pub async fn get_watch(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let scope = scope(&caller);
    let watch = db.run(move |conn| store::load(conn, &id, &scope)).await?;
    Ok(with_etag(HttpResponse::Ok(), &watch))
}

/// Change a watch with a JSON Merge Patch; a `target` replaces the whole
/// target. A new `email` must be confirmed again: its confirmation mail is
/// held to the resend interval and the hourly limits (429). 409 when the
/// change makes it just like another live watch of yours.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id"),
        ("If-Match" = String, Header, description = "ETag of the version you edit (required; `*` overwrites whatever is current)")),
    request_body(content = crate::alerts::WatchPatch, content_type = "application/merge-patch+json",
        description = "Any subset of the fields"),
    responses((status = 200, description = "The changed watch", body = Watch, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::NotFound, doc::Conflict, doc::PreconditionFailed, doc::PreconditionRequired,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable, doc::TooManyRequests))]
#[patch("/api/v1/watches/{id}")]
pub async fn patch_watch(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    req: HttpRequest,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let if_match = IfMatch::from_request(&req);
    let who = Who::from(&caller);
    let policy = ctx.policy;
    let watch = db
        .run(move |conn| ops::alerts::update(conn, &policy, &who, &id, &if_match, patch))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &watch))
}

/// Delete a watch: nothing more is sent for it.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id"),
        ("If-Match" = String, Header, description = "ETag of the version you delete (required; `*` deletes whatever is current)")),
    responses((status = 204, description = "Deleted"),
        doc::Unauthorized, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired))]
#[delete("/api/v1/watches/{id}")]
pub async fn delete_watch(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let if_match = IfMatch::from_request(&req);
    let who = Who::from(&caller);
    db.run(move |conn| ops::alerts::delete(conn, &who, &id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Where a watch's Atom feed is.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedLink {
    /// The feed's address, with its signature: whoever has it reads the
    /// watch's alerts, so share it as you would the mails.
    pub feed_url: String,
}

/// The link of one of your watches' Atom feed.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "The feed's link", body = FeedLink),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/watches/{id}/feed")]
pub async fn get_feed_link(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    feed_link(caller, db, ctx, id, false).await
}

/// A new link for one of your watches' Atom feed: the old link stops
/// working (a feed link that was shared too widely).
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "The feed's new link", body = FeedLink),
        doc::Unauthorized, doc::NotFound))]
#[post("/api/v1/watches/{id}/feed")]
pub async fn rotate_feed_link(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    feed_link(caller, db, ctx, id, true).await
}

async fn feed_link(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    rotate: bool,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    let links = ctx.links.clone();
    let feed_url = db
        .run(move |conn| ops::alerts::feed_url(conn, &who, &links, &id, rotate))
        .await?;
    Ok(HttpResponse::Ok().json(FeedLink { feed_url }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The signature in the feed's link.
    #[param(min_length = 1, max_length = 100)]
    token: String,
}

/// A watch's alerts as an Atom 1.0 feed, newest first (50 at most), for
/// feed readers: the link's signature stands for a key. A forged or
/// replaced link, or a deleted watch, is 404.
#[utoipa::path(tag = "watches", security(()),
    params(("id" = String, Path, description = "Watch id"), FeedQuery),
    responses((status = 200, description = "The feed", content_type = "application/atom+xml", body = String),
        doc::BadRequest, doc::NotFound))]
#[get("/api/v1/watches/{id}/feed.atom")]
pub async fn watch_feed(
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<FeedQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let links = ctx.links.clone();
    let xml = db
        .run(move |conn| ops::alerts::read_feed(conn, &links, &id, &q.token))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(xml))
}

/// Send the confirmation mail again, with a new link (the old one stops
/// working). Only for pending watches; at most once per
/// `alerts.resend_interval_seconds` after the last confirmation that was
/// not refused for good, and within the hourly limits.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "Queued; the watch", body = Watch),
        doc::Unauthorized, doc::NotFound, doc::Conflict, doc::TooManyRequests))]
#[post("/api/v1/watches/{id}/resend")]
pub async fn resend_confirmation(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    let policy = ctx.policy;
    let watch = db
        .run(move |conn| ops::alerts::resend(conn, &policy, &who, &id))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &watch))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The token from the mail's link.
    token: String,
}

/// The confirmation link opened in a browser: a page with one button,
/// whose POST confirms. Opening the link changes nothing, so mail scanners
/// that fetch every link do not confirm watches nobody asked for. A forged,
/// superseded or expired link is 400.
#[utoipa::path(tag = "watches", security(()),
    params(TokenQuery),
    responses((status = 200, description = "A page with a confirmation button", content_type = "text/html", body = String),
        doc::BadRequest, doc::Conflict))]
#[get("/api/v1/watches/confirm")]
pub async fn confirm_page(
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    pages: web::Data<WebContext>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let signer = ctx.signer.clone();
    let token = q.token.clone();
    let (language, active) = db
        .run(move |conn| store::for_confirm(conn, &signer, &token))
        .await?;
    let t = language.texts();
    if active {
        return link_page(&pages, language, t.confirm_title, t.confirm_already, None);
    }
    let form = LinkForm {
        action: format!("/api/v1/watches/confirm?token={}", q.token),
        button: t.confirm_button,
        one_click: false,
    };
    link_page(
        &pages,
        language,
        t.confirm_title,
        t.confirm_question,
        Some(form),
    )
}

/// Confirms a watch: what the button of the confirmation page posts.
/// Activates the watch and says so; repeating it changes nothing. A forged,
/// superseded or expired link is 400.
#[utoipa::path(tag = "watches", security(()),
    params(TokenQuery),
    responses((status = 200, description = "Confirmed (a short page)", content_type = "text/html", body = String),
        doc::BadRequest, doc::Conflict))]
#[post("/api/v1/watches/confirm")]
pub async fn confirm_watch(
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    pages: web::Data<WebContext>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let signer = ctx.signer.clone();
    let outcome = db
        .run(move |conn| ops::alerts::confirm(conn, &signer, &q.token))
        .await?;
    let (watch, already) = match outcome {
        Confirmed::Now(w) => (w, false),
        Confirmed::Already(w) => (w, true),
    };
    let t = watch.language.texts();
    let text = if already {
        t.confirmed_before
    } else {
        t.confirmed_now
    };
    link_page(&pages, watch.language, t.confirmed_title, text, None)
}

/// The unsubscribe link opened in a browser: a page with one button.
#[utoipa::path(tag = "watches", security(()),
    params(TokenQuery),
    responses((status = 200, description = "A page with an unsubscribe button", content_type = "text/html", body = String),
        doc::BadRequest))]
#[get("/api/v1/watches/unsubscribe")]
pub async fn unsubscribe_page(
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    pages: web::Data<WebContext>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let signer = ctx.signer.clone();
    let token = q.token.clone();
    let (_, language) = db
        .run(move |conn| store::for_unsubscribe(conn, &signer, &token))
        .await?;
    let t = language.texts();
    let form = LinkForm {
        action: format!("/api/v1/watches/unsubscribe?token={}", q.token),
        button: t.unsubscribe_button,
        one_click: true,
    };
    link_page(
        &pages,
        language,
        t.unsubscribe_title,
        t.unsubscribe_question,
        Some(form),
    )
}

/// One-click unsubscribe (RFC 8058): mail programs POST here with
/// `List-Unsubscribe=One-Click`; no login, effective at once, repeatable.
#[utoipa::path(tag = "watches", security(()),
    params(TokenQuery),
    responses((status = 200, description = "Unsubscribed (a short page)", content_type = "text/html", body = String),
        doc::BadRequest))]
#[post("/api/v1/watches/unsubscribe")]
pub async fn unsubscribe(
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    pages: web::Data<WebContext>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let signer = ctx.signer.clone();
    let language = db
        .run(move |conn| ops::alerts::unsubscribe(conn, &signer, &q.token))
        .await?;
    let t = language.texts();
    link_page(&pages, language, t.unsubscribed_title, t.unsubscribed, None)
}

#[derive(Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertListQuery {
    watch_id: Option<String>,
    event_id: Option<String>,
    status: Option<AlertStatus>,
    kind: Option<MailKind>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

fn uuid_filter(value: Option<String>, name: &str) -> Result<Option<String>, AppError> {
    value
        .map(|v| {
            uuid::Uuid::parse_str(&v)
                .map(|u| u.to_string())
                .map_err(|_| AppError::BadRequest(format!("{name} must be a UUID, got {v:?}")))
        })
        .transpose()
}

/// The delivery log (admin): every alert and confirmation mail, newest first.
#[utoipa::path(tag = "watches", params(AlertListQuery),
    responses((status = 200, description = "A page of the delivery log", body = Page<AlertRecord>),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden))]
#[get("/api/v1/alerts")]
pub async fn list_alerts(
    caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<AlertListQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    let filter = AlertFilter {
        watch_id: uuid_filter(q.watch_id, "watch_id")?,
        event_id: uuid_filter(q.event_id, "event_id")?,
        status: q.status,
        kind: q.kind,
        recipient: None,
        from: None,
        to: None,
        after: q
            .cursor
            .as_deref()
            .map(pagination::decode::<(NaiveDateTime, String)>)
            .transpose()?,
        limit: pagination::limit(q.limit)?,
    };
    let limit = filter.limit;
    let rows = db
        .run(move |conn| store::list_alerts(conn, &filter))
        .await?;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, limit, |a: &AlertRecord| {
            (a.created_at.naive_utc(), a.id.to_string())
        })),
    )
}
