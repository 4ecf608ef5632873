//! The `Caller` extractor: every protected handler names it, and so cannot
//! run without a live key.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use actix_web::{web, FromRequest, HttpRequest};

use super::{ApiKey, KeyCache, Role};
use crate::audit::{Actor, Pseudonyms};
use crate::db::Db;
use crate::error::AppError;

/// The key behind the current request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
}

impl Caller {
    /// 403 unless the key's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.key.role >= needed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role; key {:?} is {}",
                needed.as_str(),
                self.key.name,
                self.key.role.as_str()
            )))
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.key.role >= role
    }

    pub fn actor(&self) -> Actor {
        Actor {
            key_id: Some(self.key.id.to_string()),
            name: self.key.name.clone(),
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
    Ok(Caller { key })
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
    if req.headers().contains_key(header::AUTHORIZATION) {
        let early = match resolve(req.request().clone()).await {
            Ok(caller) => {
                if caller.key.role == Role::Researcher {
                    researcher = Some(caller.key.name.clone());
                }
                Early::Caller(caller)
            }
            Err(AppError::Unauthorized(message)) => Early::Refused(message),
            // Rendered here, not returned as `Err`: an error left to actix
            // would skip the outer middleware (the security headers).
            Err(other) => return Ok(req.error_response(other).map_into_boxed_body()),
        };
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
