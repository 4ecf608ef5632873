//! `/api/v1/watches/{id}/webhook`: a watch's webhook (issue 15). Setting
//! it or rotating its secret answers the `whsec_…` secret once; reading it
//! never does. Only the watch's owner (and admins) see it: others get 404,
//! as for the watch itself.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::alerts::webhook::WebhookInfo;
use crate::api::alerts::WatchContext;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{parse_id, JsonBody};
use crate::keys::Caller;
use crate::openapi as doc;
use crate::ops::alerts::{WebhookSecret, WebhookTest};
use crate::ops::{self, Who};
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes
        .add(get_webhook)
        .add(put_webhook)
        .add(delete_webhook)
        .add(rotate_webhook)
        .add(test_webhook);
}

/// Where a watch's alerts are POSTed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An `https://` URL of at most 2,000 characters, without user name or
    /// password, whose host resolves to public addresses only (plain
    /// `http://` and private addresses only with
    /// `alerts.webhook_allow_private`).
    #[schema(example = "https://example.org/vigia-hook", max_length = 2000)]
    pub url: String,
}

/// A webhook with its signing secret, answered once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookInfo,
    /// `whsec_` + base64 of 32 random bytes: give it to the receiver's
    /// Standard Webhooks library. Vigía shows it only now.
    pub secret: String,
}

fn with_secret(set: WebhookSecret) -> WebhookWithSecret {
    WebhookWithSecret {
        webhook: set.webhook,
        secret: set.secret,
    }
}

/// A watch's webhook: its URL, dates and the last delivery's answer; never
/// the secret.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "The webhook", body = WebhookInfo),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/watches/{id}/webhook")]
pub async fn get_webhook(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    let info = db
        .run(move |conn| ops::alerts::webhook(conn, &who, &id))
        .await?;
    Ok(HttpResponse::Ok().json(info))
}

/// Set or replace a watch's webhook. Each alert of the watch is then
/// POSTed to it as JSON (once per incident; retried like mail), signed as
/// Standard Webhooks specify (`webhook-id` = the alert's id,
/// `webhook-timestamp`, `webhook-signature`). Answers a new secret, shown
/// this once (a replaced URL gets a new secret too). Alerts written before
/// the webhook existed are not sent to it. The body POSTed is the
/// `Payload` schema.
#[utoipa::path(tag = "watches", request_body = WebhookInput,
    params(("id" = String, Path, description = "Watch id")),
    responses(
        (status = 201, description = "Set; the secret, shown once", body = WebhookWithSecret),
        (status = 200, description = "Replaced; the new secret, shown once", body = WebhookWithSecret),
        doc::BadRequest, doc::Unauthorized, doc::NotFound, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[put("/api/v1/watches/{id}/webhook")]
pub async fn put_webhook(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    JsonBody(input): JsonBody<WebhookInput>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    let allow_private = ctx.webhooks.allow_private();
    let set = db
        .run(move |conn| ops::alerts::set_webhook(conn, &who, &id, &input.url, allow_private))
        .await?;
    let mut response = if set.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(with_secret(set)))
}

/// Remove a watch's webhook; deliveries still waiting are cancelled.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 204, description = "Removed"),
        doc::Unauthorized, doc::NotFound))]
#[delete("/api/v1/watches/{id}/webhook")]
pub async fn delete_webhook(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    db.run(move |conn| ops::alerts::remove_webhook(conn, &who, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret for a watch's webhook, shown once; the old one stops
/// verifying at once.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "The new secret, shown once", body = WebhookWithSecret),
        doc::Unauthorized, doc::NotFound))]
#[post("/api/v1/watches/{id}/webhook/rotate")]
pub async fn rotate_webhook(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    let set = db
        .run(move |conn| ops::alerts::rotate_webhook(conn, &who, &id))
        .await?;
    Ok(HttpResponse::Ok().json(with_secret(set)))
}

/// POST a signed `webhook.test` event to the watch's webhook now, and say
/// what the receiver answered (its status, or why there was no answer,
/// within 10 s). Nothing is queued or recorded.
#[utoipa::path(tag = "watches",
    params(("id" = String, Path, description = "Watch id")),
    responses((status = 200, description = "What the receiver answered", body = WebhookTest),
        doc::Unauthorized, doc::NotFound))]
#[post("/api/v1/watches/{id}/webhook/test")]
pub async fn test_webhook(
    caller: Caller,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "watch")?;
    let who = Who::from(&caller);
    let answer = ops::alerts::test_webhook(db.get_ref(), &ctx.webhooks, who, id).await?;
    Ok(HttpResponse::Ok().json(answer))
}
