//! Mail that is not about a watch: invitations and password resets.
//!
//! Written ready to send (subject and both bodies) inside the transaction
//! of the operation that asks for it, so a mail exists exactly when its
//! link does; sent by the delivery worker with the alerts' lease and retry
//! rules. Its bodies carry a one-time link, so they are blanked once the
//! mail is sent or given up.

use chrono::Duration;
use diesel::prelude::*;

use super::mail::Draft;
use super::AlertStatus;
use crate::config::AlertSettings;
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::account_mails;

/// A mail to send once: recipient, subject, bodies.
#[derive(Debug, Clone)]
pub struct AccountMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn enqueue(conn: &mut DbConn, mail: &AccountMail) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = db::now();
    diesel::insert_into(account_mails::table)
        .values((
            account_mails::id.eq(&id),
            account_mails::recipient.eq(&mail.to),
            account_mails::subject.eq(&mail.subject),
            account_mails::text_body.eq(&mail.text),
            account_mails::html_body.eq(&mail.html),
            account_mails::status.eq(AlertStatus::Pending),
            account_mails::attempts.eq(0),
            account_mails::next_attempt_at.eq(now),
            account_mails::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// One claimed mail: its id, attempts so far and what to send.
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
    pub draft: Draft,
}

/// Leases up to `limit` due mails to `owner`.
pub fn claim(
    conn: &mut DbConn,
    owner: &str,
    settings: &AlertSettings,
    limit: i64,
    message_id: impl Fn(&str) -> String,
) -> Result<Vec<Claimed>, AppError> {
    let now = db::now();
    let free = account_mails::status.eq(AlertStatus::Pending).and(
        account_mails::lease_until
            .is_null()
            .or(account_mails::lease_until.lt(now)),
    );
    // A plain read first: an idle worker takes no write lock.
    let due = account_mails::table
        .filter(free)
        .filter(account_mails::next_attempt_at.le(now))
        .select(account_mails::id)
        .first::<String>(conn)
        .optional()?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    db::write_tx(conn, |conn| {
        let now = db::now();
        let free = account_mails::status.eq(AlertStatus::Pending).and(
            account_mails::lease_until
                .is_null()
                .or(account_mails::lease_until.lt(now)),
        );
        let query = account_mails::table
            .filter(free)
            .filter(account_mails::next_attempt_at.le(now))
            .order(account_mails::next_attempt_at.asc())
            .limit(limit)
            .select((
                account_mails::id,
                account_mails::attempts,
                account_mails::recipient,
                account_mails::subject,
                account_mails::text_body,
                account_mails::html_body,
            ));
        type Row = (String, i32, String, String, String, String);
        let rows: Vec<Row> = match conn {
            DbConn::Pg(c) => query.for_update().skip_locked().load(c)?,
            DbConn::Sqlite(c) => query.load(c)?,
        };
        let until = now + Duration::seconds(i64::try_from(settings.lease_seconds).unwrap_or(120));
        let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        diesel::update(account_mails::table.filter(account_mails::id.eq_any(ids)))
            .set((
                account_mails::lease_owner.eq(Some(owner)),
                account_mails::lease_until.eq(Some(until)),
            ))
            .execute(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, attempts, to, subject, text, html)| Claimed {
                draft: Draft {
                    to,
                    subject,
                    text,
                    html,
                    message_id: message_id(&format!("account.{id}")),
                    unsubscribe: None,
                },
                id,
                attempts,
            })
            .collect())
    })
}

/// What happened to one claimed mail.
pub enum Outcome {
    Sent,
    /// Try again later, or give up when the retries are spent.
    Failed {
        permanent: bool,
        message: String,
    },
}

/// Records what happened; returns (sent, retried, failed).
pub fn mark(
    conn: &mut DbConn,
    owner: &str,
    settings: &AlertSettings,
    results: Vec<(String, i32, Outcome)>,
) -> Result<(usize, usize, usize), AppError> {
    let mut counts = (0, 0, 0);
    db::write_tx(conn, |conn| {
        let now = db::now();
        for (id, attempts, outcome) in results {
            let mine = account_mails::table
                .filter(account_mails::id.eq(&id))
                .filter(account_mails::lease_owner.eq(owner));
            match outcome {
                Outcome::Sent => {
                    diesel::update(mine)
                        .set((
                            account_mails::status.eq(AlertStatus::Sent),
                            account_mails::sent_at.eq(Some(now)),
                            account_mails::attempts.eq(attempts + 1),
                            account_mails::text_body.eq(""),
                            account_mails::html_body.eq(""),
                            account_mails::lease_owner.eq(None::<String>),
                            account_mails::lease_until.eq(None::<chrono::NaiveDateTime>),
                        ))
                        .execute(conn)?;
                    counts.0 += 1;
                }
                Outcome::Failed { permanent, message } => {
                    let failures = attempts + 1;
                    let delay = (!permanent)
                        .then(|| {
                            super::delivery::retry_delay(
                                Duration::seconds(
                                    i64::try_from(settings.retry_initial_seconds).unwrap_or(60),
                                ),
                                Duration::hours(
                                    i64::try_from(settings.retry_for_hours).unwrap_or(24),
                                ),
                                failures,
                            )
                        })
                        .flatten();
                    let message: String = message.chars().take(1000).collect();
                    match delay {
                        Some(delay) => {
                            diesel::update(mine)
                                .set((
                                    account_mails::attempts.eq(failures),
                                    account_mails::next_attempt_at.eq(now + delay),
                                    account_mails::last_error.eq(Some(message)),
                                    account_mails::lease_owner.eq(None::<String>),
                                    account_mails::lease_until.eq(None::<chrono::NaiveDateTime>),
                                ))
                                .execute(conn)?;
                            counts.1 += 1;
                        }
                        None => {
                            diesel::update(mine)
                                .set((
                                    account_mails::status.eq(AlertStatus::Failed),
                                    account_mails::attempts.eq(failures),
                                    account_mails::last_error.eq(Some(message)),
                                    account_mails::text_body.eq(""),
                                    account_mails::html_body.eq(""),
                                    account_mails::lease_owner.eq(None::<String>),
                                    account_mails::lease_until.eq(None::<chrono::NaiveDateTime>),
                                ))
                                .execute(conn)?;
                            counts.2 += 1;
                        }
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(counts)
}
