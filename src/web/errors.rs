//! Errors as pages: whatever a page route answers with problem+json (the
//! one error type's form) is shown as a page in the visitor's language; a
//! 401 sends the visitor to sign in and back.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{Ctx, WebContext};
use crate::i18n::{Language, Texts};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: Ctx,
    t: &'static Texts,
    status: u16,
    message: String,
    detail: String,
}

/// Paths that are not pages: the API, its document, probes, metrics.
fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path == "/docs"
        || path.starts_with("/docs/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path.starts_with("/static/"))
}

fn is_problem(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

/// Middleware: problem answers to page routes become pages.
pub async fn as_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let page = is_page_path(req.path());
    let res = next.call(req).await?.map_into_boxed_body();
    if !page || !is_problem(&res) {
        return Ok(res);
    }
    let Some(web) = res.request().app_data::<web::Data<WebContext>>().cloned() else {
        return Ok(res);
    };
    let status = res.status();
    let (req, res) = res.into_parts();
    let lang = super::session::language(&req);
    if status == StatusCode::UNAUTHORIZED {
        // To sign in, then back here (a form post comes back to its page).
        let back = if req.method() == Method::GET {
            match req.query_string() {
                "" => req.path().to_string(),
                q => format!("{}?{q}", req.path()),
            }
        } else {
            req.headers()
                .get(header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
                .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
                .unwrap_or_else(|| "/".into())
        };
        let to = format!("/sign-in?next={}", super::encode(super::local_path(&back)));
        let res = HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish();
        return Ok(ServiceResponse::new(req, res));
    }
    // A 429's Retry-After stays on its page.
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let detail = problem["detail"].as_str().unwrap_or("").to_string();
    let session = super::session::stored_session(&req);
    let ctx = context(&req, lang, session.as_ref());
    let mut page = render(&web, ctx, status, detail);
    if let Some(value) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(ServiceResponse::new(req, page))
}

fn context(
    req: &actix_web::HttpRequest,
    lang: Language,
    session: Option<&crate::accounts::store::Session>,
) -> Ctx {
    Ctx {
        lang,
        t: lang.texts(),
        user: session.map(|s| super::CtxUser {
            name: s.user.display_name.clone(),
            is_admin: s.user.role >= crate::keys::Role::Admin,
            can_write: s.user.role >= crate::keys::Role::Monitor,
        }),
        csrf: session.map(|s| s.csrf_token.clone()).unwrap_or_default(),
        here: req.path().to_string(),
    }
}

fn render(web: &WebContext, ctx: Ctx, status: StatusCode, detail: String) -> HttpResponse {
    let t = ctx.t;
    let message = match status.as_u16() {
        404 => t.error_not_found,
        403 => t.error_forbidden,
        400 | 405 | 413 | 415 | 422 => t.error_bad_request,
        503 => t.error_unavailable,
        _ => t.error_internal,
    }
    .to_string();
    // Details of server faults are in the log, not on the page.
    let detail = if status.is_server_error() {
        String::new()
    } else {
        detail
    };
    let page = ErrorPage {
        t,
        ctx,
        status: status.as_u16(),
        message,
        detail,
    };
    super::html(web, status, &page).unwrap_or_else(|_| {
        HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(status.to_string())
    })
}

/// The page a refused cross-site write gets.
pub fn cross_site_page(web: &WebContext, lang: Language) -> HttpResponse {
    let t = lang.texts();
    let page = ErrorPage {
        ctx: Ctx {
            lang,
            t,
            user: None,
            csrf: String::new(),
            here: "/".into(),
        },
        t,
        status: 403,
        message: t.error_cross_site.to_string(),
        detail: String::new(),
    };
    super::html(web, StatusCode::FORBIDDEN, &page).unwrap_or_else(|_| {
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("403")
    })
}
