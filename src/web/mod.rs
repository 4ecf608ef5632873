//! The web pages: the second front door, beside the JSON API.
//!
//! Pages are rendered on the server from askama templates (`templates/`,
//! checked when the crate compiles, every value HTML-escaped) in the
//! visitor's language (`i18n`), and write only through the operations in
//! `ops`, as the API does. A page works without JavaScript where it can;
//! the map, the point picker and the actor search are small scripts in
//! `static/js/` that call the JSON API with the session cookie.
//!
//! - `session`: who is visiting (the session cookie) and in which language,
//!   the CSRF token of forms, the refusal of cross-site writes.
//! - `assets`: the files of `static/`, embedded in the binary and served
//!   under a path that changes with their content (cached for a year).
//! - `errors`: any error a page route answers becomes a page in the
//!   visitor's language (a 401 becomes the way to the sign-in page).
//! - `account`, `incidents`, `records`, `people`: the pages;
//!   `attachments`: attaching files from an incident's or a case's page;
//!   `cases`: the Defensoría's cases, their list and pages; `keys`: API
//!   keys for admins (made, shown once, revoked, last use).
//! - `analysis`: the analysts' pages: suggested cases linked or dismissed
//!   from an incident's page, the review queue, a report's reconciliation,
//!   the report-entries upload.
//! - `offline`: the manifest, the outbox's session token, "Mis envíos".
//! - `watches`: "Mis alertas", a person's watches: list, form with a
//!   preview, resend, delete.
//! - `figures`: "Cifras", three charts of the incidents drawn on the
//!   server as SVG (per month by type, a choropleth, the top holders),
//!   each downloadable as SVG, PNG (a script) and CSV.
//! - `admin`: the administration pages (a hub, the audit and delivery logs,
//!   the registry changes, the settings).
//!
//! Pages are not part of the API document: they are registered here, not
//! through `routing::Routes`.

pub mod account;
pub mod admin;
pub mod analysis;
pub mod assets;
pub mod attachments;
pub mod cases;
pub mod errors;
pub mod event_import;
pub mod figures;
pub mod form;
pub mod incidents;
pub mod keys;
pub mod offline;
pub mod people;
pub mod public;
pub mod records;
pub mod session;
pub mod watches;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::config::WebSettings;
use crate::error::AppError;
use crate::i18n::{Language, Texts};
use crate::ops::accounts::SiteLinks;

pub use session::{SignedIn, Visitor};

/// What the pages need of the settings.
#[derive(Debug, Clone)]
pub struct WebContext {
    pub settings: WebSettings,
    pub links: SiteLinks,
    /// Cookies get `Secure` when Vigía is reached over https.
    pub secure_cookies: bool,
    /// The pages' Content-Security-Policy.
    pub csp: String,
    /// `attachments.max_bytes`, which the forms check before a photo waits
    /// offline for a server that would refuse it.
    pub max_upload_bytes: u64,
}

impl WebContext {
    pub fn new(settings: &WebSettings, base_url: &str, max_upload_bytes: u64) -> Self {
        // Tiles are the only thing a page loads from elsewhere.
        let tiles = settings
            .tile_origin()
            .map(|origin| format!(" {origin}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; \
             img-src 'self' data:{tiles}; connect-src 'self'; form-action 'self'; \
             worker-src 'self'; manifest-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        WebContext {
            settings: settings.clone(),
            links: SiteLinks {
                base_url: base_url.to_string(),
            },
            secure_cookies: base_url.starts_with("https://"),
            csp,
            max_upload_bytes,
        }
    }
}

/// What every page's layout needs: language, texts, who is signed in, the
/// form token, and where the language switch comes back to.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Language,
    pub t: &'static Texts,
    pub user: Option<CtxUser>,
    /// The session's CSRF token (empty when no one is signed in).
    pub csrf: String,
    /// The current path and query, for the language switch.
    pub here: String,
}

#[derive(Debug, Clone)]
pub struct CtxUser {
    pub name: String,
    pub is_admin: bool,
    pub can_write: bool,
}

impl Ctx {
    /// The versioned URL of a file of `static/`.
    pub fn asset(&self, path: &str) -> String {
        assets::url(path)
    }

    /// The language switch: `/language?to=en&back=<here>`.
    pub fn switch_href(&self) -> String {
        format!(
            "/language?to={}&back={}",
            self.lang.other(),
            encode(&self.here)
        )
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    serde_html_form::to_string([("v", text)])
        .map(|s| s.trim_start_matches("v=").to_string())
        .unwrap_or_default()
}

/// A rendered page as a response: HTML, the pages' CSP, never cached
/// (pages show what a person may read), and never compressed: a page holds
/// the session's form token beside text the visitor typed (a filter), the
/// mix that compression leaks over TLS (BREACH).
pub fn html(
    web: &WebContext,
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<HttpResponse, AppError> {
    let body = page
        .render()
        .map_err(|e| AppError::internal_from("rendering a page", e))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, web.csp.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .body(body))
}

pub fn ok(web: &WebContext, page: &impl askama::Template) -> Result<HttpResponse, AppError> {
    html(web, actix_web::http::StatusCode::OK, page)
}

/// 303 to a local path (after a form post: the browser then GETs it).
pub fn see_other(path: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, local_path(path)))
        .finish()
}

/// `path` if it is a path of this site, else `/`: a `next=` or `back=`
/// parameter cannot send anyone elsewhere.
pub fn local_path(path: &str) -> &str {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        path
    } else {
        "/"
    }
}

#[derive(askama::Template)]
#[template(path = "link_page.html")]
struct LinkPage<'a> {
    ctx: Ctx,
    t: &'static Texts,
    heading: &'a str,
    message: &'a str,
    action: Option<String>,
    button: &'a str,
    one_click: bool,
}

/// A form a page posts from a mail's link (confirm, unsubscribe).
pub struct LinkForm<'a> {
    pub action: String,
    pub button: &'a str,
    /// RFC 8058's `List-Unsubscribe=One-Click` field.
    pub one_click: bool,
}

/// The short pages mail links open (confirm a watch, unsubscribe), in the
/// watch's language, in the same layout as every page.
pub fn link_page(
    web: &WebContext,
    lang: Language,
    heading: &str,
    message: &str,
    form: Option<LinkForm<'_>>,
) -> Result<HttpResponse, AppError> {
    let t = lang.texts();
    let (action, button, one_click) = match form {
        Some(f) => (Some(f.action), f.button, f.one_click),
        None => (None, "", false),
    };
    ok(
        web,
        &LinkPage {
            ctx: Ctx {
                lang,
                t,
                user: None,
                csrf: String::new(),
                here: "/".into(),
            },
            t,
            heading,
            message,
            action,
            button,
            one_click,
        },
    )
}

/// A file's size as people read it: bytes, kB or MB (one decimal).
pub fn size_text(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} kB", (b + 512) / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Registers every page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    account::configure(cfg);
    people::configure(cfg);
    // Before `incidents`: `/incidents/import` is not an incident id.
    event_import::configure(cfg);
    incidents::configure(cfg);
    attachments::configure(cfg);
    // Before `cases`: `/cases/import` is not a case id.
    analysis::configure(cfg);
    cases::configure(cfg);
    keys::configure(cfg);
    records::configure(cfg);
    offline::configure(cfg);
    watches::configure(cfg);
    admin::configure(cfg);
    figures::configure(cfg);
    public::configure(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(812), "812 B");
        assert_eq!(size_text(1536), "2 kB");
        assert_eq!(size_text(5 * 1024 * 1024 + 300_000), "5.3 MB");
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/incidents/1?x=2"), "/incidents/1?x=2");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x=1",
            "",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn the_page_policy_allows_no_inline_code() {
        let settings = WebSettings {
            tile_url: "https://{s}.tile.example.org/{z}/{x}/{y}.png".into(),
            tile_attribution: String::new(),
        };
        let web = WebContext::new(&settings, "https://vigia.example.org", 1024);
        assert!(web
            .csp
            .contains("img-src 'self' data: https://*.tile.example.org;"));
        assert!(!web.csp.contains("unsafe"));
        assert!(web.csp.contains("frame-ancestors 'none'"));
        // The service worker and the manifest come from Vigía only.
        assert!(web.csp.contains("worker-src 'self'"));
        assert!(web.csp.contains("manifest-src 'self'"));
        assert!(web.secure_cookies);
    }
}
