//! The delivery worker: claims due mail from the outbox, sends it, marks it.
//!
//! A claim is a lease (`lease_owner`, `lease_until`) written in a short
//! transaction; on PostgreSQL the rows are picked with `FOR UPDATE SKIP
//! LOCKED`, so workers in several processes take disjoint rows without
//! waiting on each other. Mails are sent outside any transaction, a few at a
//! time over pooled connections, and a batch is marked `sent` as soon as its
//! last mail is answered; the next batch is claimed while one is sending.
//!
//! The one window where a mail can go twice: the worker dies (or loses the
//! database) after the SMTP server accepted a batch and before the batch is
//! marked. When the lease runs out another worker sends those mails again,
//! with the same `Message-ID`, so receiving systems can drop the repeat.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use futures_util::StreamExt;

use super::mail::{self, Draft, EventSummary, Links, Mailer};
use super::{AlertStatus, Frequency, Language, MailKind, Reason, TargetType, WatchStatus};
use crate::config::AlertSettings;
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{EventType, TimePrecision};
use crate::schema::{actors, alerts, concessions, events, watches};

/// The delay before retry number `failures` (1 = after the first failure),
/// or `None` once the retries so far have covered `retry_for`. Delays double
/// from `initial` and stop growing at an hour.
pub fn retry_delay(initial: Duration, retry_for: Duration, failures: i32) -> Option<Duration> {
    let cap = Duration::hours(1);
    let delay = |k: i32| {
        let factor = 2i64.saturating_pow(u32::try_from(k - 1).unwrap_or(0).min(40));
        let seconds = initial.num_seconds().max(1).saturating_mul(factor);
        Duration::seconds(seconds).min(cap)
    };
    let waited: Duration = (1..failures).map(delay).sum();
    (waited < retry_for).then(|| delay(failures))
}

/// The latest digest time at or before `now` (both UTC): daily alerts
/// logged before it are due.
pub fn last_digest_slot(now: NaiveDateTime, hour: u32, utc_offset_hours: i32) -> NaiveDateTime {
    let offset = Duration::hours(i64::from(utc_offset_hours));
    let local = now + offset;
    let at = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
    let mut slot = local.date().and_time(at);
    if slot > local {
        slot -= Duration::days(1);
    }
    slot - offset
}

/// One claimed outbox row with what its mail needs.
#[derive(Debug)]
struct Claimed {
    id: String,
    kind: MailKind,
    watch_id: String,
    recipient: String,
    frequency: Frequency,
    reason: Reason,
    attempts: i32,
    language: Language,
    /// False when the watch was deleted, unsubscribed, or (for an alert)
    /// is no longer active: the mail is cancelled instead.
    wanted: Result<(), &'static str>,
    confirm: Option<(i64, String, mail::WatchTarget)>,
    event: Option<EventSummary>,
}

type ClaimRow = (
    (
        String,
        MailKind,
        String,
        Option<String>,
        String,
        Frequency,
        String,
        i32,
    ),
    (
        Language,
        WatchStatus,
        Option<NaiveDateTime>,
        String,
        NaiveDateTime,
    ),
    Option<(
        String,
        String,
        NaiveDate,
        TimePrecision,
        EventType,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
    )>,
);

/// The outbox rows (id, attempts so far) one mail carried, and how it went.
type Outcome = (Vec<(String, i32)>, Result<(), mail::SendError>);

/// A composed mail waiting for a connection: its batch, its rows, the mail.
type Queued = (usize, Vec<(String, i32)>, Draft);

/// What one pass did, in outbox rows (a digest of three incidents is three
/// rows `sent`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Accepted by the SMTP server and marked `sent`.
    pub sent: usize,
    /// Not sent, left `pending` until their retry time.
    pub retried: usize,
    /// Not sent and given up on: marked `failed`.
    pub failed: usize,
    /// Not sent because the watch or the incident went away: `cancelled`.
    pub cancelled: usize,
    /// Webhook POSTs, counted apart from the mail (the same alert is one
    /// mail row and one webhook delivery).
    pub webhooks: super::webhook::Marked,
}

impl Pass {
    pub fn handled(&self) -> usize {
        self.sent
            + self.retried
            + self.failed
            + self.cancelled
            + self.webhooks.sent
            + self.webhooks.retried
            + self.webhooks.failed
            + self.webhooks.gone
    }

    fn add(&mut self, other: Pass) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
        self.webhooks.sent += other.webhooks.sent;
        self.webhooks.retried += other.webhooks.retried;
        self.webhooks.failed += other.webhooks.failed;
        self.webhooks.gone += other.webhooks.gone;
    }
}

/// Claims, sends and marks mail; one per process is enough.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    mailer: Mailer,
    hooks: super::webhook::Sender,
    links: Links,
    settings: AlertSettings,
    concurrency: usize,
    id: String,
}

/// How many mails of one digest the claim reads at most per watch and pass.
const DIGEST_WATCHES_PER_PASS: i64 = 20;

impl Worker {
    pub fn new(
        db: Db,
        mailer: Mailer,
        hooks: super::webhook::Sender,
        links: Links,
        settings: AlertSettings,
        concurrency: u32,
    ) -> Self {
        Worker {
            db,
            mailer,
            hooks,
            links,
            settings,
            concurrency: usize::try_from(concurrency.max(1)).unwrap_or(1),
            id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Delivers until nothing is due (for cron: `vigia deliver --once`) and
    /// says what it did. When it returns, every mail counted as sent has
    /// been accepted by the SMTP server and recorded, and at its last look
    /// nothing was due but what another worker holds a lease on.
    pub async fn run_once(&self) -> Result<Pass, AppError> {
        self.drain().await
    }

    /// Delivers until `stop` turns true; idles `alerts.poll_interval_ms`
    /// when nothing is due. Errors (the database away) are logged and
    /// retried: nothing is lost, the rows stay in the outbox.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let idle = StdDuration::from_millis(self.settings.poll_interval_ms.max(10));
        tracing::info!(worker = %self.id, "delivery worker started");
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self.drain().await {
                tracing::error!(error = %e, causes = ?e.causes(), "delivery failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!(worker = %self.id, "delivery worker stopped");
    }

    /// Sends everything due, as a pipeline: the next batch is claimed while
    /// the current one is sent, `smtp.pool_size` mails stay in flight across
    /// batch boundaries, and each batch is recorded as soon as its last mail
    /// is answered. The database never holds up the SMTP connections.
    pub async fn drain(&self) -> Result<Pass, AppError> {
        let mut total = self.drain_account_mails().await?;
        total.add(self.drain_alerts().await?);
        total.add(self.drain_webhooks().await?);
        Ok(total)
    }

    /// POSTs the due webhook deliveries, a batch at a time, as many at once
    /// as mails; each batch recorded when its last receiver answered.
    async fn drain_webhooks(&self) -> Result<Pass, AppError> {
        use super::webhook;
        let mut total = Pass::default();
        loop {
            let owner = self.id.clone();
            let settings = self.settings.clone();
            let links = self.links.clone();
            let limit = i64::from(self.settings.batch_size.max(1));
            let claimed = self
                .db
                .run(move |conn| webhook::claim(conn, &owner, &settings, &links, limit))
                .await?;
            if claimed.is_empty() {
                break;
            }
            let results: Vec<(String, String, i32, webhook::Answer)> =
                futures_util::stream::iter(claimed.into_iter().map(|c| async move {
                    let answer = self
                        .hooks
                        .post(&c.url, &c.secret, &c.alert_id, &c.body)
                        .await;
                    if !answer.delivered() {
                        tracing::warn!(alert = %c.alert_id, answer = ?answer, "webhook not delivered");
                    }
                    (c.alert_id, c.watch_id, c.attempts, answer)
                }))
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            let owner = self.id.clone();
            let settings = self.settings.clone();
            let marked = self
                .db
                .run(move |conn| webhook::mark(conn, &owner, &settings, results))
                .await?;
            total.webhooks.sent += marked.sent;
            total.webhooks.retried += marked.retried;
            total.webhooks.failed += marked.failed;
            total.webhooks.gone += marked.gone;
        }
        Ok(total)
    }

    /// Sends the due invitations and password resets (few: people, not
    /// incidents), a batch at a time, `smtp.pool_size` at once.
    async fn drain_account_mails(&self) -> Result<Pass, AppError> {
        use super::outbox::{self, Outcome};
        let mut total = Pass::default();
        loop {
            let owner = self.id.clone();
            let settings = self.settings.clone();
            let mailer = self.mailer.clone();
            let limit = i64::from(self.settings.batch_size.max(1));
            let claimed = self
                .db
                .run(move |conn| {
                    outbox::claim(conn, &owner, &settings, limit, |k| mailer.message_id(k))
                })
                .await?;
            if claimed.is_empty() {
                break;
            }
            let results: Vec<(String, i32, Outcome)> =
                futures_util::stream::iter(claimed.into_iter().map(|c| async move {
                    let outcome = match self.mailer.send(&c.draft).await {
                        Ok(()) => Outcome::Sent,
                        Err(e) => Outcome::Failed {
                            permanent: e.permanent,
                            message: e.message,
                        },
                    };
                    (c.id, c.attempts, outcome)
                }))
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            let owner = self.id.clone();
            let settings = self.settings.clone();
            let (sent, retried, failed) = self
                .db
                .run(move |conn| outbox::mark(conn, &owner, &settings, results))
                .await?;
            crate::metrics::count_deliveries(sent, retried, failed, 0);
            total.add(Pass {
                sent,
                retried,
                failed,
                cancelled: 0,
                ..Pass::default()
            });
            if retried + failed > 0 {
                // The server is refusing: the alerts' pass will find out too.
                break;
            }
        }
        Ok(total)
    }

    async fn drain_alerts(&self) -> Result<Pass, AppError> {
        use futures_util::stream::FuturesUnordered;

        struct Batch {
            waiting: usize,
            results: Vec<Outcome>,
            cancelled: Vec<(String, &'static str)>,
        }
        let mut total = Pass::default();
        let mut failure = None;
        let mut more = true;
        let mut batches: Vec<Batch> = Vec::new();
        let mut queue: VecDeque<Queued> = VecDeque::new();
        let mut claiming = FuturesUnordered::new();
        let mut sending = FuturesUnordered::new();
        let mut recording = FuturesUnordered::new();
        loop {
            if more && claiming.is_empty() && queue.len() < self.concurrency {
                claiming.push(self.claim());
            }
            while sending.len() < self.concurrency {
                let Some((batch, rows, draft)) = queue.pop_front() else {
                    break;
                };
                sending.push(async move {
                    let result = self.mailer.send(&draft).await;
                    (batch, (rows, result))
                });
            }
            if claiming.is_empty() && sending.is_empty() && recording.is_empty() {
                break;
            }
            tokio::select! {
                Some(claimed) = claiming.next(), if !claiming.is_empty() => match claimed {
                    Ok(rows) if rows.is_empty() => more = false,
                    Ok(rows) => {
                        let (mails, cancelled) = self.compose(rows);
                        let id = batches.len();
                        if mails.is_empty() {
                            recording.push(self.record(Vec::new(), cancelled));
                            batches.push(Batch { waiting: 0, results: Vec::new(), cancelled: Vec::new() });
                        } else {
                            batches.push(Batch { waiting: mails.len(), results: Vec::new(), cancelled });
                            queue.extend(mails.into_iter().map(|(rows, draft)| (id, rows, draft)));
                        }
                    }
                    Err(e) => {
                        more = false;
                        failure = Some(e);
                    }
                },
                Some((id, outcome)) = sending.next(), if !sending.is_empty() => {
                    if let Some(batch) = batches.get_mut(id) {
                        batch.results.push(outcome);
                        batch.waiting -= 1;
                        if batch.waiting == 0 {
                            let results = std::mem::take(&mut batch.results);
                            let cancelled = std::mem::take(&mut batch.cancelled);
                            recording.push(self.record(results, cancelled));
                        }
                    }
                },
                Some(recorded) = recording.next(), if !recording.is_empty() => match recorded {
                    Ok(pass) => total.add(pass),
                    Err(e) => {
                        more = false;
                        failure = Some(e);
                    }
                },
            }
        }
        crate::metrics::count_deliveries(total.sent, total.retried, total.failed, total.cancelled);
        match failure {
            // What was sent stays leased; after `alerts.lease_seconds` it
            // goes again (the documented window for a repeat).
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    async fn claim(&self) -> Result<Vec<Claimed>, AppError> {
        let owner = self.id.clone();
        let settings = self.settings.clone();
        self.db
            .run(move |conn| claim(conn, &owner, &settings))
            .await
    }

    async fn record(
        &self,
        results: Vec<Outcome>,
        cancelled: Vec<(String, &'static str)>,
    ) -> Result<Pass, AppError> {
        let owner = self.id.clone();
        let settings = self.settings.clone();
        self.db
            .run(move |conn| mark(conn, &owner, &settings, results, cancelled))
            .await
    }

    /// Turns claimed rows into mails: one per immediate row, one per watch
    /// for daily rows; rows whose watch or incident went away are cancelled.
    #[allow(clippy::type_complexity)]
    fn compose(
        &self,
        claimed: Vec<Claimed>,
    ) -> (
        Vec<(Vec<(String, i32)>, Draft)>,
        Vec<(String, &'static str)>,
    ) {
        let mut mails = Vec::new();
        let mut cancelled = Vec::new();
        let mut digests: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
        for row in claimed {
            if let Err(why) = row.wanted {
                cancelled.push((row.id, why));
                continue;
            }
            match (row.kind, row.frequency) {
                (MailKind::Confirmation, _) => {
                    let Some((expires, nonce, what)) = &row.confirm else {
                        cancelled.push((row.id, "the watch is gone"));
                        continue;
                    };
                    let url = self.links.confirm(&row.watch_id, *expires, nonce);
                    let id = self.mailer.message_id(&format!("confirm.{}", row.id));
                    let draft = mail::confirmation(row.language, &row.recipient, what, &url, id);
                    mails.push((vec![(row.id, row.attempts)], draft));
                }
                (MailKind::Alert, Frequency::Immediate) => {
                    let Some(event) = row.event.clone() else {
                        cancelled.push((row.id, "the incident was deleted"));
                        continue;
                    };
                    let id = self.mailer.message_id(&format!("alert.{}", row.id));
                    let draft = mail::alert(
                        row.language,
                        &row.recipient,
                        &row.watch_id,
                        &[(event, row.reason.clone())],
                        id,
                        &self.links,
                    );
                    mails.push((vec![(row.id, row.attempts)], draft));
                }
                (MailKind::Alert, Frequency::Daily) => {
                    if row.event.is_none() {
                        cancelled.push((row.id, "the incident was deleted"));
                        continue;
                    }
                    digests.entry(row.watch_id.clone()).or_default().push(row);
                }
            }
        }
        for (watch_id, rows) in digests {
            let Some(first) = rows.first() else { continue };
            let (language, recipient) = (first.language, first.recipient.clone());
            // The smallest alert id names the digest: the same rows retried
            // carry the same Message-ID.
            let key = rows.iter().map(|r| r.id.as_str()).min().unwrap_or_default();
            let id = self.mailer.message_id(&format!("digest.{key}"));
            let items: Vec<(EventSummary, Reason)> = rows
                .iter()
                .filter_map(|r| Some((r.event.clone()?, r.reason.clone())))
                .collect();
            let draft = mail::alert(language, &recipient, &watch_id, &items, id, &self.links);
            mails.push((
                rows.into_iter().map(|r| (r.id, r.attempts)).collect(),
                draft,
            ));
        }
        (mails, cancelled)
    }
}

/// Leases up to a batch of due rows to `owner` and reads what their mails need.
#[tracing::instrument(level = "debug", skip_all, fields(worker = %owner))]
fn claim(
    conn: &mut DbConn,
    owner: &str,
    settings: &AlertSettings,
) -> Result<Vec<Claimed>, AppError> {
    // An idle worker polls: a plain read first, so that polling takes no
    // write lock (SQLite has one) and no row locks.
    let now = db::now();
    let slot = last_digest_slot(now, settings.digest_hour, settings.utc_offset_hours);
    let due = alerts::table
        .filter(alerts::status.eq(AlertStatus::Pending))
        .filter(alerts::next_attempt_at.le(now))
        .filter(
            alerts::frequency
                .eq(Frequency::Immediate)
                .or(alerts::attempts.gt(0))
                .or(alerts::next_attempt_at.le(slot)),
        )
        .select(alerts::id)
        .first::<String>(conn)
        .optional()?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    db::write_tx(conn, |conn| {
        let now = db::now();
        let slot = last_digest_slot(now, settings.digest_hour, settings.utc_offset_hours);
        let batch = i64::from(settings.batch_size.max(1));
        let free = alerts::status.eq(AlertStatus::Pending).and(
            alerts::lease_until
                .is_null()
                .or(alerts::lease_until.lt(now)),
        );
        let immediate = alerts::table
            .filter(free)
            .filter(alerts::frequency.eq(Frequency::Immediate))
            .filter(alerts::next_attempt_at.le(now))
            .order(alerts::next_attempt_at.asc())
            .limit(batch)
            .select(alerts::id);
        let mut ids: Vec<String> = match conn {
            DbConn::Pg(pg) => immediate.for_update().skip_locked().load(pg)?,
            DbConn::Sqlite(c) => immediate.load(c)?,
        };
        // A daily row is due once a digest time has passed since it was
        // logged; a retried one when its retry time comes.
        let daily_due = alerts::frequency.eq(Frequency::Daily).and(
            alerts::attempts
                .eq(0)
                .and(alerts::next_attempt_at.le(slot))
                .or(alerts::attempts.gt(0).and(alerts::next_attempt_at.le(now))),
        );
        let mut digest_watches: Vec<String> = alerts::table
            .filter(free)
            .filter(daily_due)
            .select(alerts::watch_id)
            .distinct()
            .limit(DIGEST_WATCHES_PER_PASS)
            .load(conn)?;
        if let DbConn::Pg(pg) = conn {
            // One worker per watch builds its digest: the others skip it.
            digest_watches = watches::table
                .filter(watches::id.eq_any(&digest_watches))
                .select(watches::id)
                .for_no_key_update()
                .skip_locked()
                .load(pg)?;
        }
        if !digest_watches.is_empty() {
            let daily: Vec<String> = alerts::table
                .filter(free)
                .filter(daily_due)
                .filter(alerts::watch_id.eq_any(&digest_watches))
                .select(alerts::id)
                .load(conn)?;
            ids.extend(daily);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let lease = now + Duration::seconds(i64::try_from(settings.lease_seconds).unwrap_or(120));
        diesel::update(alerts::table.filter(alerts::id.eq_any(&ids)))
            .set((
                alerts::lease_owner.eq(Some(owner)),
                alerts::lease_until.eq(Some(lease)),
            ))
            .execute(conn)?;
        read_claimed(conn, &ids)
    })
}

fn read_claimed(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Claimed>, AppError> {
    let rows: Vec<ClaimRow> = alerts::table
        .inner_join(watches::table)
        .left_join(events::table)
        .filter(alerts::id.eq_any(ids))
        .select((
            (
                alerts::id,
                alerts::kind,
                alerts::watch_id,
                alerts::event_id,
                alerts::recipient,
                alerts::frequency,
                alerts::reason,
                alerts::attempts,
            ),
            (
                watches::language,
                watches::status,
                watches::deleted_at,
                watches::confirm_nonce,
                watches::confirm_expires_at,
            ),
            (
                events::id,
                events::title,
                events::occurred_on,
                events::time_precision,
                events::event_type,
                events::place,
                events::district,
                events::province,
                events::region,
                events::ubigeo,
                events::deleted_at,
            )
                .nullable(),
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for ((id, kind, watch_id, _, recipient, frequency, reason, attempts), watch, event) in rows {
        let (language, status, deleted_at, nonce, expires) = watch;
        let wanted = match (deleted_at.is_some(), kind, status) {
            (true, _, _) => Err("the watch was deleted"),
            (_, _, WatchStatus::Unsubscribed) => Err("unsubscribed"),
            (_, _, WatchStatus::Suspended) => Err("the watch is suspended"),
            (_, MailKind::Alert, WatchStatus::Active) => Ok(()),
            (_, MailKind::Alert, WatchStatus::Pending) => {
                Err("the watch is waiting for a new confirmation")
            }
            (_, MailKind::Confirmation, WatchStatus::Pending) => Ok(()),
            (_, MailKind::Confirmation, WatchStatus::Active) => Err("already confirmed"),
        };
        let confirm = if kind == MailKind::Confirmation && wanted.is_ok() {
            let what = describe_watch(conn, &watch_id)?;
            Some((expires.and_utc().timestamp(), nonce, what))
        } else {
            None
        };
        let event = match event {
            Some((
                eid,
                title,
                occurred_on,
                precision,
                event_type,
                place,
                district,
                province,
                region,
                ubigeo,
                None,
            )) => Some(EventSummary {
                id: eid,
                title,
                event_type,
                occurred_on,
                time_precision: precision,
                place,
                district,
                province,
                region,
                ubigeo,
            }),
            _ => None,
        };
        out.push(Claimed {
            id,
            kind,
            watch_id,
            recipient,
            frequency,
            reason: serde_json::from_str(&reason)?,
            attempts,
            language,
            wanted,
            confirm,
            event,
        });
    }
    Ok(out)
}

/// What a watch looks at, for its confirmation mail.
pub(crate) fn describe_watch(
    conn: &mut DbConn,
    watch_id: &str,
) -> Result<mail::WatchTarget, AppError> {
    let (target_type, concession_id, actor_id, ubigeo): (
        TargetType,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = watches::table
        .find(watch_id)
        .select((
            watches::target_type,
            watches::concession_id,
            watches::actor_id,
            watches::ubigeo,
        ))
        .first(conn)?;
    Ok(match target_type {
        TargetType::Concession => {
            let (code, name): (String, String) = concessions::table
                .find(concession_id.unwrap_or_default())
                .select((concessions::code, concessions::name))
                .first(conn)?;
            mail::WatchTarget::Concession { code, name }
        }
        TargetType::Holder => {
            let name: String = actors::table
                .find(actor_id.unwrap_or_default())
                .select(actors::name)
                .first(conn)?;
            mail::WatchTarget::Holder { name }
        }
        TargetType::AdminArea => mail::WatchTarget::AdminArea {
            ubigeo: ubigeo.unwrap_or_default(),
        },
        TargetType::Area => mail::WatchTarget::Area,
    })
}

/// Records what happened to each claimed row, if the claim is still ours.
#[tracing::instrument(level = "debug", skip_all, fields(worker = %owner, mails = results.len(), cancelled = cancelled.len()))]
fn mark(
    conn: &mut DbConn,
    owner: &str,
    settings: &AlertSettings,
    results: Vec<Outcome>,
    cancelled: Vec<(String, &'static str)>,
) -> Result<Pass, AppError> {
    db::write_tx(conn, |conn| {
        let now = db::now();
        let mut pass = Pass::default();
        let ours = alerts::lease_owner.eq(owner);
        let initial =
            Duration::seconds(i64::try_from(settings.retry_initial_seconds).unwrap_or(60));
        let retry_for = Duration::hours(i64::try_from(settings.retry_for_hours).unwrap_or(24));
        let mut sent = Vec::new();
        for (rows, result) in results {
            match result {
                Ok(()) => sent.extend(rows.into_iter().map(|(id, _)| id)),
                Err(e) => {
                    tracing::warn!(error = %e.message, permanent = e.permanent, mails = rows.len(), "mail not sent");
                    for (id, attempts) in rows {
                        let failures = attempts + 1;
                        let delay = if e.permanent {
                            None
                        } else {
                            retry_delay(initial, retry_for, failures)
                        };
                        let status = if delay.is_some() {
                            pass.retried += 1;
                            AlertStatus::Pending
                        } else {
                            pass.failed += 1;
                            AlertStatus::Failed
                        };
                        diesel::update(alerts::table.find(&id).filter(ours))
                            .set((
                                alerts::status.eq(status),
                                alerts::attempts.eq(failures),
                                alerts::last_error.eq(Some(&e.message)),
                                alerts::next_attempt_at.eq(now + delay.unwrap_or_default()),
                                alerts::lease_owner.eq(None::<String>),
                                alerts::lease_until.eq(None::<NaiveDateTime>),
                            ))
                            .execute(conn)?;
                    }
                }
            }
        }
        for chunk in sent.chunks(500) {
            pass.sent +=
                diesel::update(alerts::table.filter(alerts::id.eq_any(chunk)).filter(ours))
                    .set((
                        alerts::status.eq(AlertStatus::Sent),
                        alerts::sent_at.eq(Some(now)),
                        alerts::attempts.eq(alerts::attempts + 1),
                        alerts::last_error.eq(None::<String>),
                        alerts::lease_owner.eq(None::<String>),
                        alerts::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
        }
        for (id, why) in cancelled {
            pass.cancelled += diesel::update(alerts::table.find(&id).filter(ours))
                .set((
                    alerts::status.eq(AlertStatus::Cancelled),
                    alerts::last_error.eq(Some(why)),
                    alerts::lease_owner.eq(None::<String>),
                    alerts::lease_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        Ok(pass)
    })
}

/// What asking to retry a mail now did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryNow {
    /// It is due now: the worker sends it on its next pass.
    Due,
    /// It was due already (another admin asked a moment ago, or it was
    /// waiting for the worker anyway): nothing changed.
    AlreadyDue,
    /// A worker holds it (sending it right now): left alone.
    Busy,
    /// Sent or cancelled: nothing to retry.
    Final,
}

/// The row's state as the audit record keeps it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RetryState {
    pub status: AlertStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
}

/// Makes a failed or waiting mail due now, inside the caller's
/// transaction. The update repeats every condition in its `WHERE`, so of
/// two admins pressing at once (or an admin and a worker claiming it) one
/// changes the row and the other changes nothing: on PostgreSQL the second
/// update waits for the first's row lock and re-reads the row; SQLite's
/// write transactions run one at a time. The lease is cleared with the
/// change so that a worker whose lease ran out cannot mark the row later.
#[tracing::instrument(level = "info", skip_all, fields(alert = %id))]
pub fn make_due(
    conn: &mut DbConn,
    id: &str,
) -> Result<(RetryNow, Option<(RetryState, RetryState)>), AppError> {
    let now = db::now();
    let row: (
        AlertStatus,
        i32,
        NaiveDateTime,
        Option<String>,
        Option<NaiveDateTime>,
    ) = alerts::table
        .find(id)
        .select((
            alerts::status,
            alerts::attempts,
            alerts::next_attempt_at,
            alerts::last_error,
            alerts::lease_until,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no mail {id}")))?;
    let (status, attempts, next_attempt_at, last_error, lease_until) = row;
    let before = RetryState {
        status,
        attempts,
        next_attempt_at,
        last_error,
    };
    if matches!(status, AlertStatus::Sent | AlertStatus::Cancelled) {
        return Ok((RetryNow::Final, None));
    }
    if lease_until.is_some_and(|until| until > now) {
        return Ok((RetryNow::Busy, None));
    }
    if status == AlertStatus::Pending && next_attempt_at <= now {
        return Ok((RetryNow::AlreadyDue, None));
    }
    let waiting = alerts::status.eq(AlertStatus::Failed).or(alerts::status
        .eq(AlertStatus::Pending)
        .and(alerts::next_attempt_at.gt(now)));
    let free = alerts::lease_until
        .is_null()
        .or(alerts::lease_until.le(now));
    // Compare-and-set on what was read: on PostgreSQL a second admin's
    // update waits for the first one's row lock and then re-checks its
    // filter against the new row, where `next_attempt_at > now` can still
    // hold (its `now` may be older than the first one's). The row's own
    // `next_attempt_at` has changed, though, so this makes it one change.
    let unchanged = alerts::next_attempt_at
        .eq(next_attempt_at)
        .and(alerts::attempts.eq(attempts));
    let changed = diesel::update(
        alerts::table
            .find(id)
            .filter(waiting)
            .filter(free)
            .filter(unchanged),
    )
    .set((
        alerts::status.eq(AlertStatus::Pending),
        alerts::next_attempt_at.eq(now),
        alerts::lease_owner.eq(None::<String>),
        alerts::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok((RetryNow::AlreadyDue, None));
    }
    let after = RetryState {
        status: AlertStatus::Pending,
        next_attempt_at: now,
        ..before.clone()
    };
    Ok((RetryNow::Due, Some((before, after))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("time")
    }

    #[test]
    fn retries_double_up_to_an_hour_for_about_a_day() {
        let initial = Duration::seconds(60);
        let day = Duration::hours(24);
        assert_eq!(retry_delay(initial, day, 1), Some(Duration::seconds(60)));
        assert_eq!(retry_delay(initial, day, 2), Some(Duration::seconds(120)));
        assert_eq!(retry_delay(initial, day, 8), Some(Duration::hours(1)));
        let mut waited = Duration::zero();
        let mut failures = 1;
        while let Some(delay) = retry_delay(initial, day, failures) {
            waited += delay;
            failures += 1;
        }
        assert!(
            waited >= day && waited <= day + Duration::hours(1),
            "{waited}"
        );
    }

    #[test]
    fn digest_slots_follow_local_time() {
        // 07:00 in Lima is 12:00 UTC.
        assert_eq!(
            last_digest_slot(at("2026-11-27 12:30"), 7, -5),
            at("2026-11-27 12:00")
        );
        assert_eq!(
            last_digest_slot(at("2026-11-27 11:59"), 7, -5),
            at("2026-11-26 12:00")
        );
        assert_eq!(
            last_digest_slot(at("2026-11-27 12:00"), 7, -5),
            at("2026-11-27 12:00")
        );
        assert_eq!(
            last_digest_slot(at("2026-11-28 03:00"), 7, -5),
            at("2026-11-27 12:00")
        );
    }
}
