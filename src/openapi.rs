//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! the problem responses they share. The paths are not listed here: each
//! route's registration adds its operation (see `routing`).

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
    status = 428,
    description = "No If-Match header: send the ETag you read (or `*` to overwrite whatever is current); nothing was changed",
    content_type = "application/problem+json"
)]
pub struct PreconditionRequired(pub Problem);

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

#[derive(IntoResponses)]
#[response(
    status = 429,
    description = "Asked again too soon; `Retry-After` says when to try",
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait"))
)]
pub struct TooManyRequests(pub Problem);

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

/// Links from what a POST creates to the operations on it (the new
/// record's `id` is their `{id}`), so that a client, or a spec-driven
/// fuzzer, can follow them: `(path of the POST, operation ids)`.
const CREATED_LINKS: &[(&str, &[&str])] = &[
    (
        "/api/v1/events",
        &[
            "get_event",
            "patch_event",
            "delete_event",
            "restore_event",
            "event_history",
            "link_actor",
            "link_case",
            "case_suggestions",
        ],
    ),
    (
        "/api/v1/actors",
        &[
            "get_actor",
            "patch_actor",
            "delete_actor",
            "merge_actor",
            "actor_events",
        ],
    ),
    (
        "/api/v1/concessions",
        &[
            "get_concession",
            "patch_concession",
            "delete_concession",
            "concession_events",
        ],
    ),
    (
        "/api/v1/cases",
        &[
            "get_case",
            "patch_case",
            "delete_case",
            "restore_case",
            "create_entry",
            "case_events",
        ],
    ),
    (
        "/api/v1/cases/{id}/entries",
        &["get_entry", "patch_entry", "delete_entry"],
    ),
    (
        "/api/v1/watches",
        &[
            "get_watch",
            "patch_watch",
            "delete_watch",
            "resend_confirmation",
        ],
    ),
];

struct CreatedLinks;

impl Modify for CreatedLinks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::link::LinkBuilder;
        use utoipa::openapi::RefOr;
        for (path, operations) in CREATED_LINKS {
            let Some(item) = openapi.paths.paths.get_mut(*path) else {
                continue;
            };
            let Some(post) = item.post.as_mut() else {
                continue;
            };
            let Some(RefOr::T(created)) = post.responses.responses.get_mut("201") else {
                continue;
            };
            for operation in *operations {
                let link = LinkBuilder::new()
                    .operation_id(*operation)
                    .parameter("id", "$response.body#/id")
                    .build();
                created.links.insert(operation.to_string(), RefOr::T(link));
            }
        }
    }
}

/// The document as served at `/api/v1/openapi.json`: [`ApiDoc`] with the
/// paths `startup::api_routes` registered (collected by
/// `utoipa_actix_web::UtoipaApp`), and the links between them.
pub fn finish(mut openapi: utoipa::openapi::OpenApi) -> serde_json::Value {
    CreatedLinks.modify(&mut openapi);
    let mut doc = serde_json::to_value(openapi).unwrap_or_default();
    // utoipa 5 writes Link fields in snake_case; OpenAPI names them in camelCase.
    rename_keys(
        &mut doc,
        &[
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
        ],
    );
    doc
}

fn rename_keys(value: &mut serde_json::Value, renames: &[(&str, &str)]) {
    match value {
        serde_json::Value::Object(map) => {
            for (from, to) in renames {
                if let Some(v) = map.remove(*from) {
                    map.insert((*to).to_string(), v);
                }
            }
            map.values_mut().for_each(|v| rename_keys(v, renames));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| rename_keys(v, renames)),
        _ => {}
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
    // The body of a webhook's POST (no route answers it: receivers read it).
    components(schemas(Problem, crate::error::FieldError, crate::alerts::webhook::Payload)),
    security(("api_key" = [])),
    tags(
        (name = "events", description = "Incidents: what, when, where, who, with sources"),
        (name = "audit", description = "Who changed what"),
        (name = "actors", description = "Companies, informal groups, communities, the state; and who did what"),
        (name = "concessions", description = "INGEMMET's mining cadastre and what falls inside it"),
        (name = "districts", description = "INEI's district boundaries: outlines for maps, the district of a point"),
        (name = "watches", description = "Watches on concessions, holders and areas, and the e-mail alerts they send"),
        (name = "cases", description = "Defensoría del Pueblo cases and monthly report entries, linked to incidents"),
        (name = "attachments", description = "Photos, videos and PDFs of incidents and cases; photos without their location and camera data"),
        (name = "keys", description = "API keys and roles"),
        (name = "public", description = "The public map: published incidents, generalised, for anyone (when `public.enabled`); no key, rate-limited per address"),
        (name = "operation", description = "Health and readiness"),
    )
)]
/// Everything in the document but the paths and the schemas they use,
/// which `startup::api_routes` adds.
pub struct ApiDoc;
