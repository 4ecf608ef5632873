//! Storage of people: `users`, `sessions`, `user_links`, `sign_in_failures`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use uuid::Uuid;

use super::{timestamp, LinkPurpose, User};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::i18n::Language;
use crate::keys::{hash_token, Role};
use crate::schema::{sessions, sign_in_failures, user_links, users};

/// Sessions end after this long without a request (monitors in the field
/// stay signed in for two weeks)…
pub const IDLE: Duration = Duration::days(14);
/// …and this long after sign-in in any case.
pub const ABSOLUTE: Duration = Duration::days(90);
/// `last_seen_at` is written at most this often: a page view is not a write.
const TOUCH_EVERY: Duration = Duration::minutes(10);

/// Failed sign-ins that lock an account or a client…
pub const MAX_FAILURES: usize = 5;
/// …within this window, for as long again.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    email: String,
    email_key: String,
    display_name: String,
    name_key: String,
    role: Role,
    password_hash: Option<String>,
    language: Language,
    created_at: NaiveDateTime,
    disabled_at: Option<NaiveDateTime>,
    version: i64,
    last_sign_in_at: Option<NaiveDateTime>,
}

impl UserRow {
    fn into_user(self) -> Result<User, AppError> {
        Ok(User {
            id: Uuid::parse_str(&self.id)
                .map_err(|e| AppError::internal_from(format!("stored user id {:?}", self.id), e))?,
            email: self.email,
            display_name: self.display_name,
            role: self.role,
            language: self.language,
            created_at: timestamp(self.created_at),
            disabled_at: self.disabled_at.map(timestamp),
            has_password: self.password_hash.is_some(),
            version: self.version,
            last_sign_in_at: self.last_sign_in_at.map(timestamp),
        })
    }
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Inserts an account (no password yet). 409 when the address or the
/// display name is taken.
pub fn insert(
    conn: &mut DbConn,
    email: (String, String),
    name: (String, String),
    role: Role,
    language: Language,
) -> Result<User, AppError> {
    let taken = users::table
        .filter(users::email_key.eq(&email.1))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(AppError::Conflict(format!(
            "an account for {} already exists",
            email.0
        )));
    }
    let taken = users::table
        .filter(users::name_key.eq(&name.1))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(AppError::Conflict(format!(
            "someone is already called {:?}; choose another display name",
            name.0
        )));
    }
    let row = UserRow {
        id: Uuid::new_v4().to_string(),
        email: email.0,
        email_key: email.1,
        display_name: name.0,
        name_key: name.1,
        role,
        password_hash: None,
        language,
        created_at: db::now(),
        disabled_at: None,
        version: 1,
        last_sign_in_at: None,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)?;
    load(conn, &row.id)
}

pub fn load(conn: &mut DbConn, id: &str) -> Result<User, AppError> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first::<UserRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no account with id {id}")))?
        .into_user()
}

/// The account of an address (any case), with its password hash.
pub fn by_email(
    conn: &mut DbConn,
    email_key: &str,
) -> Result<Option<(User, Option<String>)>, AppError> {
    users::table
        .filter(users::email_key.eq(email_key))
        .select(UserRow::as_select())
        .first::<UserRow>(conn)
        .optional()?
        .map(|row| {
            let hash = row.password_hash.clone();
            row.into_user().map(|u| (u, hash))
        })
        .transpose()
}

/// Every account, by display name.
pub fn list(conn: &mut DbConn) -> Result<Vec<User>, AppError> {
    users::table
        .select(UserRow::as_select())
        .order(users::name_key.asc())
        .limit(10_000)
        .load::<UserRow>(conn)?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}

pub fn count(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn set_password(conn: &mut DbConn, user_id: &str, hash: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(Some(hash)),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_role_and_disabled(
    conn: &mut DbConn,
    user_id: &str,
    role: Role,
    disabled: bool,
) -> Result<(), AppError> {
    let before = load(conn, user_id)?;
    let disabled_at = match (disabled, before.disabled_at) {
        (false, _) => None,
        (true, Some(at)) => Some(at.naive_utc()),
        (true, None) => Some(db::now()),
    };
    diesel::update(users::table.find(user_id))
        .set((
            users::role.eq(role),
            users::disabled_at.eq(disabled_at),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

// ---- one-time links ----

/// A new link for `user_id`; earlier unused links of the same purpose stop
/// working (only the last mail sent is good).
pub fn issue_link(
    conn: &mut DbConn,
    user_id: &str,
    purpose: LinkPurpose,
) -> Result<String, AppError> {
    let now = db::now();
    diesel::delete(
        user_links::table
            .filter(user_links::user_id.eq(user_id))
            .filter(user_links::purpose.eq(purpose.as_str()))
            .filter(user_links::used_at.is_null()),
    )
    .execute(conn)?;
    let token = random_token();
    diesel::insert_into(user_links::table)
        .values((
            user_links::token_hash.eq(hash_token(&token)),
            user_links::user_id.eq(user_id),
            user_links::purpose.eq(purpose.as_str()),
            user_links::created_at.eq(now),
            user_links::expires_at.eq(now + purpose.lifetime()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The account a live, unused link belongs to, and what the link is for.
pub fn link_owner(conn: &mut DbConn, token: &str) -> Result<Option<(User, LinkPurpose)>, AppError> {
    let found = user_links::table
        .filter(user_links::token_hash.eq(hash_token(token)))
        .filter(user_links::used_at.is_null())
        .filter(user_links::expires_at.gt(db::now()))
        .select((user_links::user_id, user_links::purpose))
        .first::<(String, String)>(conn)
        .optional()?;
    let Some((user_id, purpose)) = found else {
        return Ok(None);
    };
    let user = load(conn, &user_id)?;
    let purpose = LinkPurpose::parse(&purpose)
        .ok_or_else(|| AppError::internal(format!("stored link purpose {purpose:?}")))?;
    Ok(Some((user, purpose)))
}

/// Marks a link used; false when it was used meanwhile (two tabs).
pub fn use_link(conn: &mut DbConn, token: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        user_links::table
            .filter(user_links::token_hash.eq(hash_token(token)))
            .filter(user_links::used_at.is_null()),
    )
    .set(user_links::used_at.eq(Some(db::now())))
    .execute(conn)?;
    Ok(n == 1)
}

// ---- sessions ----

/// A signed-in browser: its account and the token its unsafe requests
/// must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user: User,
    pub csrf_token: String,
}

/// Starts a session; returns the cookie's value (shown to nobody else).
pub fn start_session(conn: &mut DbConn, user_id: &str) -> Result<String, AppError> {
    let cookie = random_token();
    let now = db::now();
    // Ended sessions (idle or too old) go as new ones start: the table
    // holds live sessions and a few days' worth of dead ones at most.
    diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .lt(now - IDLE)
                .or(sessions::created_at.lt(now - ABSOLUTE)),
        ),
    )
    .execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(hash_token(&cookie)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(random_token()),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    // Not the user's version: signing in changes nothing an edit could
    // conflict with.
    diesel::update(users::table.find(user_id))
        .set(users::last_sign_in_at.eq(now))
        .execute(conn)?;
    Ok(cookie)
}

/// The live session of a cookie: not idle past [`IDLE`], not older than
/// [`ABSOLUTE`], its account not disabled. Notes the visit now and then.
pub fn session(conn: &mut DbConn, cookie: &str) -> Result<Option<Session>, AppError> {
    let id_hash = hash_token(cookie);
    let now = db::now();
    let found = sessions::table
        .inner_join(users::table)
        .filter(sessions::id_hash.eq(&id_hash))
        .filter(sessions::last_seen_at.gt(now - IDLE))
        .filter(sessions::created_at.gt(now - ABSOLUTE))
        .filter(users::disabled_at.is_null())
        .select((
            sessions::csrf_token,
            sessions::last_seen_at,
            UserRow::as_select(),
        ))
        .first::<(String, NaiveDateTime, UserRow)>(conn)
        .optional()?;
    let Some((csrf_token, last_seen, row)) = found else {
        return Ok(None);
    };
    if now - last_seen > TOUCH_EVERY {
        diesel::update(sessions::table.find(&id_hash))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(Session {
        id_hash,
        user: row.into_user()?,
        csrf_token,
    }))
}

pub fn end_session(conn: &mut DbConn, id_hash: &str) -> Result<(), AppError> {
    diesel::delete(sessions::table.find(id_hash)).execute(conn)?;
    Ok(())
}

/// Ends every session of an account (sign out everywhere, disabled,
/// password changed).
pub fn end_sessions_of(conn: &mut DbConn, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

pub fn sessions_of(conn: &mut DbConn, user_id: &str) -> Result<i64, AppError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

// ---- throttling ----

/// When `subject` may try again, if it is locked: after [`MAX_FAILURES`]
/// failures within [`FAILURE_WINDOW`], until the oldest of them is that
/// old (failures are not counted while locked, so the lock ends).
pub fn locked_until(conn: &mut DbConn, subject: &str) -> Result<Option<NaiveDateTime>, AppError> {
    let now = db::now();
    let recent: Vec<NaiveDateTime> = sign_in_failures::table
        .filter(sign_in_failures::subject.eq(subject))
        .filter(sign_in_failures::at.gt(now - FAILURE_WINDOW))
        .select(sign_in_failures::at)
        .order(sign_in_failures::at.desc())
        .limit(MAX_FAILURES as i64)
        .load(conn)?;
    Ok(recent
        .get(MAX_FAILURES - 1)
        .map(|oldest| *oldest + FAILURE_WINDOW))
}

pub fn record_failure(conn: &mut DbConn, subject: &str) -> Result<(), AppError> {
    let now = db::now();
    diesel::insert_into(sign_in_failures::table)
        .values((
            sign_in_failures::id.eq(Uuid::new_v4().to_string()),
            sign_in_failures::subject.eq(subject),
            sign_in_failures::at.eq(now),
        ))
        .execute(conn)?;
    // Old failures mean nothing; they go as new ones come.
    diesel::delete(
        sign_in_failures::table.filter(sign_in_failures::at.lt(now - Duration::days(1))),
    )
    .execute(conn)?;
    Ok(())
}

pub fn clear_failures(conn: &mut DbConn, subject: &str) -> Result<(), AppError> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::subject.eq(subject)))
        .execute(conn)?;
    Ok(())
}
