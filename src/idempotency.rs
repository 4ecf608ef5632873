//! Exactly-once creates: a request with an `Idempotency-Key` header is done
//! once per caller and key, however often it is sent (a phone that lost
//! the answer sends again, maybe weeks later).
//!
//! The key is claimed, the change made and its answer saved in **one
//! transaction** (`db::write_tx` joins the operation's): either all of it
//! is committed or none of it, so a crash can never leave a key claimed
//! without its answer, nor an incident without its key. A second request
//! with the key waits for the first one's transaction (SQLite takes its
//! write lock up front; PostgreSQL waits on the primary key) and then gets
//! the same answer, marked `Idempotent-Replayed: true`; with another body
//! it gets 422. A write that failed (422, 403…) saved nothing, so the key
//! can be used again with a corrected body.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::idempotency_keys;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
const MAX_KEY_CHARS: usize = 255;

/// The `Idempotency-Key` of a request, if it sent one: 1–255 printable
/// ASCII characters (a UUID is what clients use), else 400.
pub fn key_of(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_KEY_CHARS
                && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .ok_or_else(|| {
            AppError::BadRequest(
                "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID)".into(),
            )
        })?;
    Ok(Some(text.to_string()))
}

/// An answer as given, to give again.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    pub etag: Option<String>,
}

impl Answer {
    pub fn into_response(self, replayed: bool) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.content_type("application/json");
        if let Some(location) = self.location {
            res.insert_header((header::LOCATION, location));
        }
        if let Some(etag) = self.etag {
            res.insert_header((header::ETAG, etag));
        }
        if replayed {
            res.insert_header((
                HeaderName::from_static(REPLAYED),
                HeaderValue::from_static("true"),
            ));
        }
        res.body(self.body)
    }
}

/// What the request is, for telling "the same again" from "another body
/// with the same key": the route and the body as read (parsed and written
/// back, so spacing and key order do not matter).
pub fn fingerprint(route: &str, body: &impl serde::Serialize) -> Result<String, AppError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| AppError::internal_from("fingerprinting a request", e))?;
    let mut hash = Sha256::new();
    hash.update(route.as_bytes());
    hash.update([0]);
    hash.update(&bytes);
    Ok(hex::encode(hash.finalize()))
}

/// Runs `write` once for `(owner, key)`: the first time it runs and its
/// answer is saved with the key, in one transaction; afterwards the saved
/// answer comes back (`true`: replayed) without running anything.
pub fn once(
    conn: &mut DbConn,
    owner: &str,
    key: &str,
    fingerprint: &str,
    write: impl FnOnce(&mut DbConn) -> Result<Answer, AppError>,
) -> Result<(Answer, bool), AppError> {
    db::write_tx(conn, |conn| {
        let claim = (
            idempotency_keys::owner.eq(owner),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::status.eq(0),
            idempotency_keys::body.eq(""),
            idempotency_keys::created_at.eq(db::now()),
        );
        // On PostgreSQL this waits for a transaction that holds the same
        // key uncommitted, then does nothing if it committed.
        let claimed = match conn {
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(idempotency_keys::table)
                .values(claim)
                .execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(idempotency_keys::table)
                .values(claim)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
        if claimed == 0 {
            return replay(conn, owner, key, fingerprint).map(|a| (a, true));
        }
        let answer = write(conn)?;
        diesel::update(idempotency_keys::table.find((owner, key)))
            .set((
                idempotency_keys::status.eq(i32::from(answer.status.as_u16())),
                idempotency_keys::body.eq(&answer.body),
                idempotency_keys::location.eq(&answer.location),
                idempotency_keys::etag.eq(&answer.etag),
            ))
            .execute(conn)?;
        Ok((answer, false))
    })
}

fn replay(
    conn: &mut DbConn,
    owner: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Answer, AppError> {
    type Row = (String, i32, String, Option<String>, Option<String>);
    let (stored, status, body, location, etag): Row = idempotency_keys::table
        .find((owner, key))
        .select((
            idempotency_keys::fingerprint,
            idempotency_keys::status,
            idempotency_keys::body,
            idempotency_keys::location,
            idempotency_keys::etag,
        ))
        .first(conn)?;
    if stored != fingerprint {
        return Err(AppError::Validation(vec![crate::error::FieldError::coded(
            "Idempotency-Key",
            "idempotency_conflict",
            "this key was already used for another request; send a new key for a new incident",
        )]));
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.is_success())
        // Claimed but not answered can only be seen inside the claiming
        // transaction; say "in flight" rather than guess.
        .ok_or_else(|| {
            AppError::Conflict("a request with this Idempotency-Key is still running".into())
        })?;
    Ok(Answer {
        status,
        body,
        location,
        etag,
    })
}
