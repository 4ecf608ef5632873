//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! the problem responses they share.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::Problem;

#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "Malformed JSON, query parameter or cursor",
    content_type = "application/problem+json"
)]
pub struct BadRequest(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 401,
    description = "Missing, unknown or revoked API key",
    content_type = "application/problem+json"
)]
pub struct Unauthorized(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "The key's role does not allow this",
    content_type = "application/problem+json"
)]
pub struct Forbidden(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such record (also for a malformed id)",
    content_type = "application/problem+json"
)]
pub struct NotFound(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 409,
    description = "Conflicts with the current state",
    content_type = "application/problem+json"
)]
pub struct Conflict(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 412,
    description = "If-Match names a stale version; nothing was changed",
    content_type = "application/problem+json"
)]
pub struct PreconditionFailed(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 413,
    description = "Body larger than server.max_body_bytes",
    content_type = "application/problem+json"
)]
pub struct PayloadTooLarge(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 415,
    description = "Body is not sent as JSON",
    content_type = "application/problem+json"
)]
pub struct UnsupportedMediaType(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 422,
    description = "Invalid fields, all listed in `errors`",
    content_type = "application/problem+json"
)]
pub struct Unprocessable(pub Problem);

#[derive(IntoResponses)]
#[response(
    status = 503,
    description = "The database is unreachable",
    content_type = "application/problem+json"
)]
pub struct Unavailable(pub Problem);

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description =
            Some("An API key from `vigia keys create` or POST /api/v1/keys".into());
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigía",
        description = "Records, links and watches social conflicts around mining in Peru. \
                       Every error is application/problem+json (RFC 9457). \
                       Lists answer {\"items\": [...], \"next_cursor\": ...}.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, crate::error::FieldError)),
    security(("api_key" = [])),
    paths(
        crate::startup::healthz,
        crate::startup::readyz,
        crate::events::routes::create_event,
        crate::events::routes::list_events,
        crate::events::routes::get_event,
        crate::events::routes::patch_event,
        crate::events::routes::delete_event,
        crate::events::routes::restore_event,
        crate::events::routes::event_history,
        crate::audit::routes::list_audit,
        crate::keys::routes::list_keys,
        crate::keys::routes::create_key,
        crate::keys::routes::revoke_key,
    ),
    tags(
        (name = "events", description = "Incidents: what, when, where, who, with sources"),
        (name = "audit", description = "Who changed what"),
        (name = "keys", description = "API keys and roles"),
        (name = "operation", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;
