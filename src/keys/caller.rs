//! The `Caller` extractor: every protected handler names it, and so cannot
//! run without a live key or a live session.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use actix_web::{web, FromRequest, HttpRequest};

use super::{ApiKey, KeyCache, Role};
use crate::accounts::store::Session;
use crate::audit::{Actor, Pseudonyms};
use crate::db::Db;
use crate::error::AppError;

/// Who is behind the current request: an API key (`Authorization:
/// Bearer`) or a person signed in to the pages (the session cookie).
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// What the audit trail records (`key_id` is `user:<id>` for a person).
    pub actor: Actor,
}

impl Caller {
    /// 403 unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role; {:?} is {}",
                needed.as_str(),
                self.actor.name,
                self.role.as_str()
            )))
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.role >= role
    }

    pub fn actor(&self) -> Actor {
        self.actor.clone()
    }

    fn of_key(key: &ApiKey) -> Caller {
        Caller {
            role: key.role,
            actor: Actor {
                key_id: Some(key.id.to_string()),
                name: key.name.clone(),
            },
        }
    }

    fn of_session(session: &Session) -> Caller {
        Caller {
            role: session.user.role,
            actor: session.user.actor(),
        }
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Resolved by `authenticate_first` before any body or query string
        // was read: answer from that, so a bad key is 401 whatever else the
        // request gets wrong.
        if let Some(early) = req.extensions().get::<Early>() {
            let early = match early {
                Early::Caller(caller) => Ok(caller.clone()),
                Early::Refused(message) => Err(AppError::Unauthorized(message.clone())),
                Early::Forbidden(message) => Err(AppError::Forbidden(message.clone())),
            };
            return Box::pin(std::future::ready(early));
        }
        Box::pin(resolve(req.clone()))
    }
}

/// The caller of a request, looked up before its handler runs.
#[derive(Clone)]
enum Early {
    Caller(Caller),
    Refused(String),
    /// A session cookie on an unsafe request without its CSRF token.
    Forbidden(String),
}

/// The key behind `req`: 401 without a bearer token, or with one that is
/// unknown or revoked.
async fn resolve(req: HttpRequest) -> Result<Caller, AppError> {
    let token = bearer_token(&req);
    let db = req.app_data::<web::Data<Db>>().cloned();
    let cache = req.app_data::<web::Data<KeyCache>>().cloned();
    let hash = super::hash_token(&token?);
    let db = db.ok_or_else(|| AppError::internal("no database in app data"))?;
    let cached = cache.as_ref().and_then(|c| c.get(&hash));
    let key = match cached {
        Some(key) => key,
        None => {
            let lookup = hash.clone();
            let key = db
                .run(move |conn| super::authenticate(conn, &lookup))
                .await?
                .ok_or_else(|| AppError::Unauthorized("unknown or revoked API key".into()))?;
            if let Some(cache) = &cache {
                cache.put(hash, key.clone());
            }
            key
        }
    };
    tracing::Span::current().record("key", key.name.as_str());
    Ok(Caller::of_key(&key))
}

/// The header the pages' scripts send their session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The live session of the request's cookie, if any (read once per
/// request and kept in its extensions for the pages).
pub async fn session_of(req: &HttpRequest) -> Result<Option<Session>, AppError> {
    if let Some(found) = req.extensions().get::<Option<Session>>() {
        return Ok(found.clone());
    }
    let Some(cookie) = req.cookie(crate::accounts::SESSION_COOKIE) else {
        return Ok(None);
    };
    let db = req
        .app_data::<web::Data<Db>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no database in app data"))?;
    let value = cookie.value().to_string();
    let session = db
        .run(move |conn| crate::accounts::store::session(conn, &value))
        .await?;
    req.extensions_mut().insert(session.clone());
    Ok(session)
}

/// The caller of an API request made with a session cookie. Reads are
/// allowed as they are; writes must carry the session's CSRF token in
/// `X-CSRF-Token` (the pages' scripts send it), so that no other site can
/// make a person's browser write through the API.
async fn resolve_session(req: &HttpRequest) -> Early {
    let session = match session_of(req).await {
        Ok(Some(session)) => session,
        Ok(None) => return Early::Refused("your session has ended; sign in again".into()),
        Err(e) => return Early::Refused(e.to_string()),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !crate::accounts::same_secret(sent, &session.csrf_token) {
            return Early::Forbidden(
                "a write with a session cookie must carry the session's X-CSRF-Token".into(),
            );
        }
    }
    tracing::Span::current().record("key", session.user.display_name.as_str());
    Early::Caller(Caller::of_session(&session))
}

/// Middleware: a request that carries credentials has them checked before
/// its handler's extractors read the body or the query string, so a bad key
/// is always 401 first (never a 422 that tells a stranger about the body).
/// Requests without credentials pass untouched: anonymous routes (the links
/// in mails, the document) need none, and protected ones refuse at once.
///
/// It also applies the pseudonym rule to what researchers read (see
/// `audit::pseudonyms`): every JSON answer to a researcher has key names
/// replaced by pseudonyms and key ids left out, whatever route made it, so
/// a new route cannot forget it.
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut researcher = None;
    let early = if req.headers().contains_key(header::AUTHORIZATION) {
        Some(match resolve(req.request().clone()).await {
            Ok(caller) => Early::Caller(caller),
            Err(AppError::Unauthorized(message)) => Early::Refused(message),
            // Rendered here, not returned as `Err`: an error left to actix
            // would skip the outer middleware (the security headers).
            Err(other) => return Ok(req.error_response(other).map_into_boxed_body()),
        })
    } else if req.cookie(crate::accounts::SESSION_COOKIE).is_some()
        // The browser sends the cookie with every file a page loads; files
        // need no one, so a page view is one session lookup, not thirteen.
        && !req.path().starts_with("/static/")
    {
        Some(resolve_session(req.request()).await)
    } else {
        None
    };
    if let Some(early) = early {
        if let Early::Caller(caller) = &early {
            if caller.role == Role::Researcher {
                researcher = Some(caller.actor.name.clone());
            }
        }
        req.extensions_mut().insert(early);
    }
    let pseudonyms = req.app_data::<web::Data<Pseudonyms>>().cloned();
    let res = next.call(req).await?.map_into_boxed_body();
    match (researcher, pseudonyms) {
        (Some(own), Some(pseudonyms)) if is_json(&res) => {
            disclose_to_researcher(res, &pseudonyms, &own).await
        }
        _ => Ok(res),
    }
}

fn is_json(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

async fn disclose_to_researcher(
    res: ServiceResponse<BoxBody>,
    pseudonyms: &Pseudonyms,
    own: &str,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| AppError::internal(format!("reading an answer to rewrite it: {e}")))?;
    let bytes = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) => {
            pseudonyms.disclose(&mut value, own);
            serde_json::to_vec(&value)
                .map_err(|e| AppError::internal_from("writing a disclosed answer", e))?
                .into()
        }
        Err(_) => bytes,
    };
    let res = head.set_body(BoxBody::new(bytes));
    Ok(ServiceResponse::new(req, res))
}

fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let missing =
        || AppError::Unauthorized("send an API key as Authorization: Bearer <token>".into());
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_string())
}
