//! Security headers on every response (the outermost middleware).
//!
//! - `X-Content-Type-Options: nosniff` on everything: a browser takes a
//!   response for what its `Content-Type` says, never for HTML it guessed.
//! - On HTML, a Content-Security-Policy that allows only what the page
//!   needs, `frame-ancestors 'none'` (no page may frame ours: no
//!   clickjacking of the confirm and unsubscribe buttons) and
//!   `Referrer-Policy: same-origin` (the token in a page's address is not
//!   sent to anyone else).
//!   - The web pages, the mail-link pages among them, set their own
//!     (`web::WebContext::csp`): scripts and styles from Vigía only, tiles
//!     from the configured host; anything else HTML gets [`PAGE_CSP`].
//!   - The Swagger UI under `/docs` ([`DOCS_CSP`]): its vendored files
//!     are static (no inline `<script>` or `<style>`: its settings come in
//!     `swagger-initializer.js`, a file), so scripts, styles and fonts from
//!     Vigía only; images also as `data:` URLs (the stylesheet draws its
//!     icons so); requests ("Try it out") to Vigía only. The bundle sets
//!     one fixed inline style (seen as a CSP report in Chromium), allowed
//!     by its hash alone: no other inline style runs.
//! - The web pages (`web`) set their own policy, which is kept.
//! - `Cache-Control: no-store` on every answer to a request that carries
//!   credentials (`Authorization` or the session cookie), unless the
//!   handler chose otherwise:
//!   what a key may read must not stay in a shared or browser cache.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The policy of any HTML that sets none of its own (the pages set
/// theirs, `web::WebContext::csp`): styles from Vigía, forms back to Vigía,
/// nothing else.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The policy of the Swagger UI (see the module's notes).
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-hashes' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

fn is_html(res: &ServiceResponse<impl MessageBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// Adds the headers above to whatever the app answers, errors included.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || req.cookie(crate::accounts::SESSION_COOKIE).is_some();
    let docs = req
        .path()
        .strip_prefix(crate::routing::SWAGGER_REDIRECT)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    // The inner layers render their errors as responses (an `Err` here
    // would be rendered by actix itself, past every middleware).
    let mut res = next.call(req).await?.map_into_boxed_body();
    let html = is_html(&res);
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The web pages set their own policy (`web::WebContext::csp`).
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if docs { DOCS_CSP } else { PAGE_CSP };
        if let Ok(value) = HeaderValue::from_str(csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if html {
        headers.insert(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    if credentials && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policies_allow_no_inline_code() {
        assert!(PAGE_CSP.contains("frame-ancestors 'none'"));
        assert!(!PAGE_CSP.contains("unsafe"));
        assert!(!DOCS_CSP.contains("unsafe-inline") && !DOCS_CSP.contains("unsafe-eval"));
    }
}
