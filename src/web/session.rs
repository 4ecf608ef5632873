//! Who is visiting a page, in which language; form tokens; cross-site
//! writes refused.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::{Ctx, CtxUser, WebContext};
use crate::accounts::store::Session;
use crate::accounts::SESSION_COOKIE;
use crate::error::AppError;
use crate::i18n::Language;
use crate::keys::Role;
use crate::ops::Who;

/// The cookie that remembers the language switch.
pub const LANGUAGE_COOKIE: &str = "vigia_lang";

/// The language of a request: the switch's cookie, else the browser's
/// `Accept-Language`, else Spanish.
pub fn language(req: &HttpRequest) -> Language {
    if let Some(lang) = req
        .cookie(LANGUAGE_COOKIE)
        .and_then(|c| Language::parse(c.value()))
    {
        return lang;
    }
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Language::from_accept)
        .unwrap_or(Language::Es)
}

/// Anyone visiting a page: signed in or not.
pub struct Visitor {
    pub session: Option<Session>,
    pub ctx: Ctx,
    pub web: web::Data<WebContext>,
}

/// Someone signed in; a page that names it sends others to sign in.
pub struct SignedIn {
    pub session: Session,
    pub ctx: Ctx,
    pub web: web::Data<WebContext>,
}

impl SignedIn {
    pub fn who(&self) -> Who {
        Who {
            role: self.session.user.role,
            actor: self.session.user.actor(),
        }
    }

    /// 403 unless the person's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        self.who().require(needed)
    }

    /// 403 unless `sent` is this session's form token: every form a page
    /// posts carries it, and no other site can know it.
    pub fn check_csrf(&self, sent: &str) -> Result<(), AppError> {
        if crate::accounts::same_secret(sent, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "this form is out of date or did not come from Vigía; reload the page and send it again"
                    .into(),
            ))
        }
    }
}

fn context(req: &HttpRequest, session: Option<&Session>) -> Ctx {
    let lang = language(req);
    let here = match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    Ctx {
        lang,
        t: lang.texts(),
        user: session.map(|s| CtxUser {
            name: s.user.display_name.clone(),
            is_admin: s.user.role >= Role::Admin,
            can_write: s.user.role >= Role::Monitor,
        }),
        csrf: session.map(|s| s.csrf_token.clone()).unwrap_or_default(),
        here,
    }
}

impl FromRequest for Visitor {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = crate::keys::caller::session_of(&req).await?;
            let web = req
                .app_data::<web::Data<WebContext>>()
                .cloned()
                .ok_or_else(|| AppError::internal("no web context in app data"))?;
            Ok(Visitor {
                ctx: context(&req, session.as_ref()),
                session,
                web,
            })
        })
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let visitor = Visitor::from_request(req, payload);
        Box::pin(async move {
            let visitor = visitor.await?;
            match visitor.session {
                Some(session) => Ok(SignedIn {
                    session,
                    ctx: visitor.ctx,
                    web: visitor.web,
                }),
                // The error pages turn this into the way to sign in.
                None => Err(AppError::Unauthorized("sign in to see this page".into())),
            }
        })
    }
}

/// The session cookie: `HttpOnly` (no script reads it), `SameSite=Lax`
/// (other sites' forms do not carry it), `Secure` over https; it lives as
/// long as a session can (the server ends it sooner when idle).
pub fn session_cookie(web: &WebContext, value: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(web.secure_cookies)
        .max_age(CookieDuration::days(
            crate::accounts::store::ABSOLUTE.num_days(),
        ))
        .finish()
}

pub fn removal_cookie(web: &WebContext) -> Cookie<'static> {
    let mut cookie = session_cookie(web, "");
    cookie.make_removal();
    cookie
}

/// Middleware: a write (any method but GET, HEAD, OPTIONS) that a browser
/// says comes from another site is refused with 403 before anything runs,
/// when it carries a session cookie (it would act as the person) or goes
/// to a page (a sign-in form posted from elsewhere). The browser says so in
/// `Sec-Fetch-Site` or, failing that, `Origin`; requests that send neither
/// (scripts, old browsers) rely on the CSRF token alone.
pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let with_session = req.cookie(SESSION_COOKIE).is_some();
    let page = !req.path().starts_with("/api/");
    if write && (with_session || page) && cross_site(req.request()) {
        let err =
            AppError::Forbidden("a write from another site was refused; nothing changed".into());
        if page {
            let lang = language(req.request());
            let web = req.app_data::<web::Data<WebContext>>().cloned();
            if let Some(web) = web {
                let res = super::errors::cross_site_page(&web, lang);
                return Ok(req.into_response(res).map_into_boxed_body());
            }
        }
        return Ok(req.error_response(err).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Whether the browser says the request comes from another origin.
fn cross_site(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // `none`: typed in the address bar or a bookmark.
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // Same origin as the page it was sent from: scheme aside (a proxy may
    // end TLS), the host and port the request itself names, or the
    // configured public address.
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("null");
    let host = req.connection_info().host().to_string();
    let public = req
        .app_data::<web::Data<WebContext>>()
        .map(|w| w.links.base_url.clone())
        .unwrap_or_default();
    let public_host = public
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    !(origin_host.eq_ignore_ascii_case(&host) || origin_host.eq_ignore_ascii_case(public_host))
}

/// The client a failed sign-in is counted against: the peer address.
/// (`X-Forwarded-For` is not trusted: anyone can write it.)
pub fn client_of(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The request's `Session`, if the middleware or an extractor read one.
pub fn stored_session(req: &HttpRequest) -> Option<Session> {
    req.extensions().get::<Option<Session>>().cloned().flatten()
}
