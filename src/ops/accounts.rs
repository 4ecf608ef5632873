//! People: invitations, passwords, signing in and out, roles.
//!
//! Called by the web pages and the command line (`vigia users create`).

use super::consequences::{self, Change};
use super::Who;
use crate::accounts::{self, password, store, LinkPurpose, NewUser, User};
use crate::alerts::mail;
use crate::alerts::outbox;
use crate::audit::{self, Action, Entity};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::i18n::{fill, Label};
use crate::keys::Role;
use crate::places::PlaceIndex;

/// Where links in mails and on the command line point.
#[derive(Debug, Clone)]
pub struct SiteLinks {
    pub base_url: String,
}

impl SiteLinks {
    pub fn set_password(&self, token: &str) -> String {
        format!("{}/password/set?token={token}", self.base_url)
    }
}

/// Creates an account and returns it with its invitation link (72 hours).
/// The command line prints the link; the pages mail it ([`invite`]).
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create(
    conn: &mut DbConn,
    who: &Who,
    input: &NewUser,
    links: &SiteLinks,
) -> Result<(User, String), AppError> {
    who.require(Role::Admin)?;
    let email = accounts::email_key(&input.email, "email")?;
    let name = match &input.display_name {
        Some(name) if !name.trim().is_empty() => accounts::display_name(name)?,
        // The part before the @ until the person says otherwise.
        _ => accounts::display_name(email.0.split('@').next().unwrap_or(&email.0))?,
    };
    db::write_tx(conn, |conn| {
        let user = store::insert(
            conn,
            email.clone(),
            name.clone(),
            input.role,
            input.language,
        )?;
        let token = store::issue_link(conn, &user.id.to_string(), LinkPurpose::Invitation)?;
        audit::record(
            conn,
            &who.actor,
            Action::Create,
            Entity::User,
            &user.id.to_string(),
            None::<&()>,
            Some(&user),
        )?;
        Ok((user, links.set_password(&token)))
    })
}

/// Creates an account and mails its invitation, in one transaction: the
/// mail is in the outbox exactly when the account exists.
pub fn invite(
    conn: &mut DbConn,
    who: &Who,
    input: &NewUser,
    links: &SiteLinks,
) -> Result<User, AppError> {
    db::write_tx(conn, |conn| {
        let (user, link) = create(conn, who, input, links)?;
        let t = user.language.texts();
        let body = fill(
            t.mail_invitation_body,
            &[
                ("name", &user.display_name),
                ("inviter", &who.actor.name),
                ("role", user.role.label(t)),
                ("link", &link),
            ],
        );
        outbox::enqueue(
            conn,
            &mail::account(
                user.language,
                &user.email,
                t.mail_invitation_subject,
                &body,
                &link,
                t.mail_invitation_button,
            ),
        )?;
        Ok(user)
    })
}

/// "Forgot password": mails a reset link (1 hour) when the address has a
/// live account; does the same visible nothing otherwise.
pub fn forgot(conn: &mut DbConn, email: &str, links: &SiteLinks) -> Result<(), AppError> {
    let Ok((_, key)) = accounts::email_key(email, "email") else {
        return Ok(());
    };
    db::write_tx(conn, |conn| {
        let Some((user, _)) = store::by_email(conn, &key)? else {
            return Ok(());
        };
        if user.disabled_at.is_some() {
            return Ok(());
        }
        let token = store::issue_link(conn, &user.id.to_string(), LinkPurpose::Reset)?;
        let link = links.set_password(&token);
        let t = user.language.texts();
        let body = fill(
            t.mail_reset_body,
            &[("name", &user.display_name), ("link", &link)],
        );
        outbox::enqueue(
            conn,
            &mail::account(
                user.language,
                &user.email,
                t.mail_reset_subject,
                &body,
                &link,
                t.mail_reset_button,
            ),
        )?;
        Ok(())
    })
}

/// The account a set-password link is for, if the link still works.
pub fn link_owner(conn: &mut DbConn, token: &str) -> Result<Option<User>, AppError> {
    if token.is_empty() || token.len() > 200 {
        return Ok(None);
    }
    Ok(store::link_owner(conn, token)?
        .filter(|(user, _)| user.disabled_at.is_none())
        .map(|(user, _)| user))
}

/// Sets a password through a link and signs the person in: returns the
/// account and the new session's cookie. Every other session of the
/// account ends (whoever had the old password is out).
pub fn set_password(
    conn: &mut DbConn,
    token: &str,
    new_password: &str,
    again: &str,
) -> Result<(User, String), AppError> {
    let user = link_owner(conn, token)?
        .ok_or_else(|| AppError::NotFound("this link has expired or was already used".into()))?;
    let local = user.email.split('@').next().unwrap_or("").to_string();
    password::check(new_password, &[&user.display_name, &local, &user.email])?;
    if new_password != again {
        return Err(AppError::Validation(vec![FieldError::coded(
            "password_again",
            "password_mismatch",
            "the two passwords differ",
        )]));
    }
    // Hashing is slow on purpose: done before the write lock is taken.
    let hash = password::hash(new_password)?;
    db::write_tx(conn, |conn| {
        if !store::use_link(conn, token)? {
            return Err(AppError::NotFound(
                "this link has expired or was already used".into(),
            ));
        }
        let id = user.id.to_string();
        store::set_password(conn, &id, &hash)?;
        store::end_sessions_of(conn, &id)?;
        let after = store::load(conn, &id)?;
        audit::record(
            conn,
            &after.actor(),
            Action::Update,
            Entity::User,
            &id,
            Some(&user),
            Some(&after),
        )?;
        let cookie = store::start_session(conn, &id)?;
        Ok((after, cookie))
    })
}

/// How a sign-in went.
#[derive(Debug)]
pub enum SignIn {
    /// The cookie of the new session.
    Welcome { user: User, cookie: String },
    /// Wrong address or password (the same answer for both).
    Refused,
    /// Too many failures for the account or the client: seconds to wait.
    Locked { retry_after: i64 },
}

/// Checks an address and password. Five failures for one account or one
/// client within 15 minutes lock it for the next 15 minutes; while locked,
/// the password is not even checked.
pub fn sign_in(
    conn: &mut DbConn,
    email: &str,
    given: &str,
    client: &str,
) -> Result<SignIn, AppError> {
    let key = accounts::email_key(email, "email")
        .map(|(_, key)| key)
        .unwrap_or_else(|_| email.trim().to_lowercase());
    let account_subject = format!("account:{}", key.chars().take(254).collect::<String>());
    let client_subject = format!("client:{client}");
    let now = db::now();
    let mut locked = None;
    for subject in [&account_subject, &client_subject] {
        if let Some(until) = store::locked_until(conn, subject)? {
            locked = locked.max(Some(until));
        }
    }
    if let Some(until) = locked {
        return Ok(SignIn::Locked {
            retry_after: (until - now).num_seconds().max(1),
        });
    }
    let found = store::by_email(conn, &key)?;
    let ok = match &found {
        Some((user, Some(hash))) if user.disabled_at.is_none() && given.len() <= 1000 => {
            password::verify(given, hash)
        }
        _ => {
            password::verify_nothing(given);
            false
        }
    };
    db::write_tx(conn, |conn| match (&found, ok) {
        (Some((user, _)), true) => {
            store::clear_failures(conn, &account_subject)?;
            let cookie = store::start_session(conn, &user.id.to_string())?;
            Ok(SignIn::Welcome {
                user: user.clone(),
                cookie,
            })
        }
        _ => {
            store::record_failure(conn, &account_subject)?;
            store::record_failure(conn, &client_subject)?;
            Ok(SignIn::Refused)
        }
    })
}

pub fn sign_out(conn: &mut DbConn, session: &store::Session) -> Result<(), AppError> {
    db::write_tx(conn, |conn| store::end_session(conn, &session.id_hash))
}

/// Ends every session of the signed-in person, this one included.
pub fn sign_out_everywhere(conn: &mut DbConn, user: &User) -> Result<usize, AppError> {
    db::write_tx(conn, |conn| {
        store::end_sessions_of(conn, &user.id.to_string())
    })
}

/// An admin's change to an account: its role and whether it is disabled.
/// Disabling ends the person's sessions at once and suspends their watches
/// (as a revoked key's) and revokes the keys that belong to them; an admin cannot disable or demote themselves (so
/// that some admin always remains).
pub fn update(
    conn: &mut DbConn,
    index: &PlaceIndex,
    who: &Who,
    user_id: &str,
    role: Role,
    disabled: bool,
) -> Result<User, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        let before = store::load(conn, user_id)?;
        let own = who.actor.key_id.as_deref() == Some(&format!("user:{}", before.id));
        if own && (disabled || role != Role::Admin) {
            return Err(AppError::Conflict(
                "you cannot disable or demote your own account; another admin can".into(),
            ));
        }
        store::set_role_and_disabled(conn, user_id, role, disabled)?;
        let after = store::load(conn, user_id)?;
        if disabled {
            store::end_sessions_of(conn, user_id)?;
            if before.disabled_at.is_none() {
                // The person's watches stop as a revoked key's do, and so
                // do the keys of their scripts.
                let owner = format!("user:{user_id}");
                consequences::follow(
                    conn,
                    &who.actor,
                    index,
                    Change::KeyRevoked { key_id: &owner },
                )?;
                for key_id in crate::keys::live_keys_of(conn, user_id)? {
                    crate::keys::revoke(conn, &who.actor, &key_id)?;
                    consequences::follow(
                        conn,
                        &who.actor,
                        index,
                        Change::KeyRevoked { key_id: &key_id },
                    )?;
                }
            }
        }
        audit::record(
            conn,
            &who.actor,
            Action::Update,
            Entity::User,
            user_id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}
