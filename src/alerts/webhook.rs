//! Webhooks (issue 15): a watch may name a URL that receives each of its
//! alerts as a JSON POST, signed as the Standard Webhooks specification
//! says (`webhook-id`, `webhook-timestamp`, `webhook-signature`), so any of
//! its reference libraries verifies them.
//!
//! Delivery goes through the alerts' outbox. Each alert row of a watch
//! with a webhook gets one `webhook_deliveries` row (keyed by the alert's
//! id, so "one per (watch, incident)" is the alerts' unique index again),
//! written in the incident's transaction by `matching::enqueue`. That row
//! carries the same lease and retry columns as the mail's, claimed and
//! marked by the same worker with the same rules (`delivery::retry_delay`,
//! `alerts.lease_seconds`, `alerts.retry_for_hours`): a sibling row rather
//! than a `channel` on the alert, so the mail's row, its digests and every
//! query over it stay as they are, and neither channel's failure touches
//! the other's state. The one window for a duplicate is the mail's: a
//! worker that dies after the receiver answered and before it recorded the
//! answer leaves the row leased, and after `alerts.lease_seconds` another
//! worker posts it again with the same `webhook-id` (the alert's id), by
//! which receivers drop the repeat.
//!
//! A webhook may only reach public addresses (unless
//! `alerts.webhook_allow_private`): the host is checked when the URL is set
//! and again at every send by the client's own resolver, which refuses a
//! name resolving to a private address and hands the addresses it checked
//! to the connection, so a name re-pointed after the check (DNS rebinding)
//! cannot slip through. Redirects are not followed; answers are read up to
//! 64 KiB within a 10-second limit.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration as StdDuration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

use super::mail::Links;
use super::{AlertStatus, MailKind, Reason, WatchStatus};
use crate::audit;
use crate::config::AlertSettings;
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::events::{EventType, TimePrecision};
use crate::schema::{alerts, events, watches, webhook_deliveries, webhooks};

/// The longest URL accepted.
pub const MAX_URL: usize = 2000;
/// Random bytes in a secret (the specification asks for 24 to 64).
pub const SECRET_BYTES: usize = 32;
/// What is read of a receiver's answer at most.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The whole exchange, connection to the answer's last byte.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(10);
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// The secret's prefix, as the specification writes it.
pub const SECRET_PREFIX: &str = "whsec_";

// ------------------------------------------------------------ the URL

/// Why a webhook URL is refused; `code` is the field error's code (the
/// pages translate by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    Length,
    Control,
    Invalid,
    Scheme,
    Credentials,
    Private,
    Unresolved,
}

impl UrlProblem {
    pub fn code(self) -> &'static str {
        match self {
            UrlProblem::Length => "length",
            UrlProblem::Control => "control_character",
            UrlProblem::Invalid => "url",
            UrlProblem::Scheme => "webhook_scheme",
            UrlProblem::Credentials => "webhook_credentials",
            UrlProblem::Private => "webhook_private",
            UrlProblem::Unresolved => "webhook_unresolved",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            UrlProblem::Length => "must be at most 2000 characters",
            UrlProblem::Control => "must not contain control characters",
            UrlProblem::Invalid => "must be an absolute URL like https://example.org/hook",
            UrlProblem::Scheme => "must be an https:// URL",
            UrlProblem::Credentials => "must not carry a user name or password",
            UrlProblem::Private => {
                "must reach a public address (not loopback, private, link-local or multicast)"
            }
            UrlProblem::Unresolved => "names a host that does not resolve",
        }
    }

    /// The 422's entry for the `url` field.
    pub fn field_error(self) -> FieldError {
        let mut error = FieldError::coded("url", self.code(), self.message());
        if self == UrlProblem::Length {
            error.params = vec![("max".into(), MAX_URL.to_string())];
        }
        error
    }
}

/// Whether `ip` is an address on the open Internet: not loopback, private
/// (RFC 1918, shared CGNAT space, IPv6 unique-local), link-local,
/// unspecified, multicast, broadcast or documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_documentation()
                || first == 0
                || (first == 100 && (64..128).contains(&second)))
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let head = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (head & 0xfe00) == 0xfc00
                || (head & 0xffc0) == 0xfe80)
        }
    }
}

/// The URL's shape: length, characters, scheme, no credentials, a host, and
/// an address host that is public. No DNS.
pub fn check_shape(url: &str, allow_private: bool) -> Result<reqwest::Url, UrlProblem> {
    if url.chars().count() > MAX_URL {
        return Err(UrlProblem::Length);
    }
    if url.chars().any(char::is_control) {
        return Err(UrlProblem::Control);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| UrlProblem::Invalid)?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(UrlProblem::Scheme),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    let ip = match parsed.host() {
        None => return Err(UrlProblem::Invalid),
        Some(url::Host::Domain("")) => return Err(UrlProblem::Invalid),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
    };
    if let Some(ip) = ip {
        if !allow_private && !is_public(ip) {
            return Err(UrlProblem::Private);
        }
    }
    Ok(parsed)
}

/// The URL's shape and, for a name, its addresses now (a blocking lookup:
/// call it off the async executor, before the write transaction).
pub fn check(url: &str, allow_private: bool) -> Result<reqwest::Url, UrlProblem> {
    let parsed = check_shape(url, allow_private)?;
    if allow_private {
        return Ok(parsed);
    }
    if let Some(url::Host::Domain(name)) = parsed.host() {
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = (name, port)
            .to_socket_addrs()
            .map_err(|_| UrlProblem::Unresolved)?
            .collect();
        if addrs.is_empty() {
            return Err(UrlProblem::Unresolved);
        }
        if addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(UrlProblem::Private);
        }
    }
    Ok(parsed)
}

/// The client's resolver: looks the name up once, refuses it when any
/// address is not public, and gives the connection exactly the addresses
/// it checked.
struct Guard {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if !allow_private {
                if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                    return Err(format!(
                        "{host} resolves to {}, which is not a public address",
                        bad.ip()
                    )
                    .into());
                }
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

// ------------------------------------------------------------ signing

/// A webhook's signing secret: random bytes, shown once as `whsec_` +
/// base64. Never printed by `Debug`.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    fn from_stored(text: &str) -> Result<Self, AppError> {
        STANDARD
            .decode(text)
            .map(Secret)
            .map_err(|e| AppError::internal_from("a stored webhook secret", e))
    }

    fn stored(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// As the receiver configures it: `whsec_` + base64 of the bytes.
    pub fn shown(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

// ------------------------------------------------------------ the payload

/// What a webhook receives: `type` is `alert.created` for an alert and
/// `webhook.test` for the page's and the API's test.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payload {
    #[serde(rename = "type")]
    #[schema(example = "alert.created")]
    pub kind: &'static str,
    /// When the alert was queued (the test: when it was sent); the same on
    /// every retry.
    pub timestamp: DateTime<Utc>,
    pub data: PayloadData,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayloadData {
    pub watch: PayloadWatch,
    /// The alert's id, which is also the `webhook-id` header (absent in a test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<PayloadIncident>,
    /// Why the watch caught the incident, as in the mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayloadWatch {
    pub id: String,
    /// `concession`, `holder`, `area` or `admin_area`.
    pub target_type: String,
}

/// The incident as the mail and the feed show it (no key names, no actors).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayloadIncident {
    pub id: String,
    pub title: String,
    pub event_type: EventType,
    pub occurred_on: NaiveDate,
    pub time_precision: TimePrecision,
    pub place: Option<String>,
    pub district: Option<String>,
    pub province: Option<String>,
    pub region: Option<String>,
    pub ubigeo: Option<String>,
    /// The incident's page on Vigía.
    pub url: String,
}

/// The test event's body.
pub fn test_payload(watch_id: &str, target_type: &str) -> String {
    let payload = Payload {
        kind: "webhook.test",
        timestamp: Utc::now(),
        data: PayloadData {
            watch: PayloadWatch {
                id: watch_id.to_string(),
                target_type: target_type.to_string(),
            },
            alert_id: None,
            incident: None,
            reason: None,
        },
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

// ------------------------------------------------------------ sending

/// What the receiver did with a POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It answered with this status (the start of its body, for people).
    Status { code: u16, excerpt: String },
    /// No answer: the error in words (refused address, timeout, TLS…).
    Error(String),
}

impl Answer {
    pub fn delivered(&self) -> bool {
        matches!(self, Answer::Status { code, .. } if (200..300).contains(code))
    }
}

/// Posts signed payloads. One per process: its connection pool is shared.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

impl Sender {
    pub fn new(allow_private: bool) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("Vigia-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(std::sync::Arc::new(Guard { allow_private }))
            .build()
            .map_err(|e| format!("the webhook client: {e}"))?;
        Ok(Sender {
            client,
            allow_private,
        })
    }

    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// POSTs `body` signed for message `id`, now; reads at most
    /// [`MAX_ANSWER_BYTES`] of the answer, all within [`TIMEOUT`].
    pub async fn post(&self, url: &str, secret: &Secret, id: &str, body: &str) -> Answer {
        let url = match check_shape(url, self.allow_private) {
            Ok(url) => url,
            Err(problem) => return Answer::Error(format!("the URL {}", problem.message())),
        };
        let timestamp = Utc::now().timestamp();
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", secret.sign(id, timestamp, body))
            .body(body.to_string());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Answer::Error(words(&e)),
        };
        let code = response.status().as_u16();
        let mut read: Vec<u8> = Vec::new();
        while read.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_ANSWER_BYTES - read.len();
                    read.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                // The status is the answer; a body cut short changes nothing.
                Ok(None) | Err(_) => break,
            }
        }
        let excerpt: String = String::from_utf8_lossy(&read)
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        Answer::Status { code, excerpt }
    }
}

/// A client error with its causes, in one line of at most 500 characters.
fn words(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if error.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().filter(|c| !c.is_control()).take(500).collect()
}

// ------------------------------------------------------------ storage

/// A watch's webhook as its owner reads it: never the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookInfo {
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// When the secret was last made (set or rotated).
    pub rotated_at: DateTime<Utc>,
    /// The HTTP status of the last delivery, if it got an answer.
    pub last_status: Option<i32>,
    /// Why the last delivery failed, if it did.
    pub last_error: Option<String>,
    pub last_at: Option<DateTime<Utc>>,
}

type InfoRow = (
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<i32>,
    Option<String>,
    Option<NaiveDateTime>,
);

fn info_of(row: InfoRow) -> (String, WebhookInfo) {
    let (watch_id, url, created_at, rotated_at, last_status, last_error, last_at) = row;
    (
        watch_id,
        WebhookInfo {
            url,
            created_at: created_at.and_utc(),
            rotated_at: rotated_at.and_utc(),
            last_status,
            last_error,
            last_at: last_at.map(|t| t.and_utc()),
        },
    )
}

/// The webhooks of the watches among `ids`, in one query.
pub fn load_many(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<String, WebhookInfo>, AppError> {
    let rows: Vec<InfoRow> = webhooks::table
        .filter(webhooks::watch_id.eq_any(ids))
        .select((
            webhooks::watch_id,
            webhooks::url,
            webhooks::created_at,
            webhooks::rotated_at,
            webhooks::last_status,
            webhooks::last_error,
            webhooks::last_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(info_of).collect())
}

pub fn load(conn: &mut DbConn, watch_id: &str) -> Result<Option<WebhookInfo>, AppError> {
    Ok(load_many(conn, &[watch_id.to_string()])?.remove(watch_id))
}

/// Where to post for a watch and what to sign with.
pub fn target(conn: &mut DbConn, watch_id: &str) -> Result<Option<(String, Secret)>, AppError> {
    let row: Option<(String, String)> = webhooks::table
        .find(watch_id)
        .select((webhooks::url, webhooks::secret))
        .first(conn)
        .optional()?;
    row.map(|(url, secret)| Ok((url, Secret::from_stored(&secret)?)))
        .transpose()
}

/// Sets (or replaces) a watch's webhook with a new secret; true when it is
/// new. Call inside the operation's transaction.
pub fn set(
    conn: &mut DbConn,
    watch_id: &str,
    url: &str,
    secret: &Secret,
) -> Result<bool, AppError> {
    let now = db::now();
    let replaced = diesel::update(webhooks::table.find(watch_id))
        .set((
            webhooks::url.eq(url),
            webhooks::secret.eq(secret.stored()),
            webhooks::rotated_at.eq(now),
            webhooks::last_status.eq(None::<i32>),
            webhooks::last_error.eq(None::<String>),
            webhooks::last_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if replaced > 0 {
        return Ok(false);
    }
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::watch_id.eq(watch_id),
            webhooks::url.eq(url),
            webhooks::secret.eq(secret.stored()),
            webhooks::created_at.eq(now),
            webhooks::rotated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// A new secret for an existing webhook; false when there is none.
pub fn rotate(conn: &mut DbConn, watch_id: &str, secret: &Secret) -> Result<bool, AppError> {
    Ok(diesel::update(webhooks::table.find(watch_id))
        .set((
            webhooks::secret.eq(secret.stored()),
            webhooks::rotated_at.eq(db::now()),
        ))
        .execute(conn)?
        > 0)
}

/// Removes a watch's webhook and cancels what it had still to receive;
/// false when there was none.
pub fn remove(conn: &mut DbConn, watch_id: &str, why: &str) -> Result<bool, AppError> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::watch_id.eq(watch_id))
            .filter(webhook_deliveries::status.eq(AlertStatus::Pending)),
    )
    .set((
        webhook_deliveries::status.eq(AlertStatus::Cancelled),
        webhook_deliveries::last_error.eq(Some(why)),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(diesel::delete(webhooks::table.find(watch_id)).execute(conn)? > 0)
}

/// Queues one delivery per alert of `event_id` whose watch has a webhook
/// that existed when the alert was written (inside the incident's
/// transaction, after the alerts). An alert already queued is not queued
/// again (the key is the alert's id), so edits never repeat a POST.
pub fn enqueue(conn: &mut DbConn, event_id: &str) -> Result<usize, AppError> {
    let rows: Vec<(String, String)> = alerts::table
        .inner_join(webhooks::table.on(webhooks::watch_id.eq(alerts::watch_id)))
        .filter(alerts::event_id.eq(event_id))
        .filter(alerts::kind.eq(MailKind::Alert))
        .filter(alerts::created_at.ge(webhooks::created_at))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            webhook_deliveries::table.filter(webhook_deliveries::alert_id.eq(alerts::id)),
        )))
        .select((alerts::id, alerts::watch_id))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let now = db::now();
    let values: Vec<_> = rows
        .iter()
        .map(|(alert, watch)| {
            (
                webhook_deliveries::alert_id.eq(alert),
                webhook_deliveries::watch_id.eq(watch),
                webhook_deliveries::status.eq(AlertStatus::Pending),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(now),
                webhook_deliveries::created_at.eq(now),
            )
        })
        .collect();
    for chunk in values.chunks(500) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(webhook_deliveries::table)
                .values(chunk)
                .execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(webhook_deliveries::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(rows.len())
}

/// One claimed delivery, ready to post.
#[derive(Debug)]
pub struct Claimed {
    pub alert_id: String,
    pub watch_id: String,
    pub attempts: i32,
    pub url: String,
    pub secret: Secret,
    pub body: String,
}

type ClaimRow = (
    (String, String, i32),
    (NaiveDateTime, String),
    (WatchStatus, Option<NaiveDateTime>, String),
    Option<(
        String,
        String,
        EventType,
        NaiveDate,
        TimePrecision,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
    )>,
);

/// Leases up to `limit` due deliveries to `owner` and composes their
/// bodies; rows whose webhook, watch or incident went away are cancelled in
/// the same transaction.
#[tracing::instrument(level = "debug", skip_all, fields(worker = %owner))]
pub fn claim(
    conn: &mut DbConn,
    owner: &str,
    settings: &AlertSettings,
    links: &Links,
    limit: i64,
) -> Result<Vec<Claimed>, AppError> {
    // A plain read first: an idle worker takes no write lock.
    let now = db::now();
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(AlertStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(now)),
        )
        .select(webhook_deliveries::alert_id)
        .first::<String>(conn)
        .optional()?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    db::write_tx(conn, |conn| {
        let now = db::now();
        let query = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(AlertStatus::Pending))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.lt(now)),
            )
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_deliveries::alert_id);
        let ids: Vec<String> = match conn {
            DbConn::Pg(c) => query.for_update().skip_locked().load(c)?,
            DbConn::Sqlite(c) => query.load(c)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let until = now + Duration::seconds(i64::try_from(settings.lease_seconds).unwrap_or(120));
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::alert_id.eq_any(&ids)))
            .set((
                webhook_deliveries::lease_owner.eq(Some(owner)),
                webhook_deliveries::lease_until.eq(Some(until)),
            ))
            .execute(conn)?;
        let rows: Vec<ClaimRow> = webhook_deliveries::table
            .inner_join(alerts::table.left_join(events::table))
            .inner_join(watches::table)
            .filter(webhook_deliveries::alert_id.eq_any(&ids))
            .select((
                (
                    webhook_deliveries::alert_id,
                    webhook_deliveries::watch_id,
                    webhook_deliveries::attempts,
                ),
                (alerts::created_at, alerts::reason),
                (watches::status, watches::deleted_at, watches::target_type),
                (
                    events::id,
                    events::title,
                    events::event_type,
                    events::occurred_on,
                    events::time_precision,
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
        let watch_ids: Vec<String> = rows.iter().map(|r| r.0 .1.clone()).collect();
        let stored: Vec<(String, String, String)> = webhooks::table
            .filter(webhooks::watch_id.eq_any(&watch_ids))
            .select((webhooks::watch_id, webhooks::url, webhooks::secret))
            .load(conn)?;
        let targets: HashMap<String, (String, String)> = stored
            .into_iter()
            .map(|(w, url, secret)| (w, (url, secret)))
            .collect();
        let mut claimed = Vec::new();
        for ((alert_id, watch_id, attempts), (alerted_at, reason), watch, event) in rows {
            let (status, deleted_at, target_type) = watch;
            let why = match (&event, deleted_at, status, targets.get(&watch_id)) {
                (_, _, _, None) => Some("the webhook was removed"),
                (_, Some(_), _, _) => Some("the watch was deleted"),
                (_, _, WatchStatus::Unsubscribed, _) => Some("unsubscribed"),
                (_, _, WatchStatus::Suspended, _) => Some("the watch is suspended"),
                (_, _, WatchStatus::Pending, _) => {
                    Some("the watch is waiting for a new confirmation")
                }
                (None, _, _, _) | (Some((.., Some(_))), _, _, _) => {
                    Some("the incident was deleted")
                }
                _ => None,
            };
            if let Some(why) = why {
                diesel::update(webhook_deliveries::table.find(&alert_id))
                    .set((
                        webhook_deliveries::status.eq(AlertStatus::Cancelled),
                        webhook_deliveries::last_error.eq(Some(why)),
                        webhook_deliveries::lease_owner.eq(None::<String>),
                        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                continue;
            }
            let (Some(e), Some((url, secret))) = (event, targets.get(&watch_id)) else {
                continue;
            };
            let reason: Reason = serde_json::from_str(&reason)?;
            let payload = Payload {
                kind: "alert.created",
                timestamp: alerted_at.and_utc(),
                data: PayloadData {
                    watch: PayloadWatch {
                        id: watch_id.clone(),
                        target_type: target_type.clone(),
                    },
                    alert_id: Some(alert_id.clone()),
                    incident: Some(PayloadIncident {
                        url: links.event(&e.0),
                        id: e.0,
                        title: e.1,
                        event_type: e.2,
                        occurred_on: e.3,
                        time_precision: e.4,
                        place: e.5,
                        district: e.6,
                        province: e.7,
                        region: e.8,
                        ubigeo: e.9,
                    }),
                    reason: Some(reason),
                },
            };
            claimed.push(Claimed {
                body: serde_json::to_string(&payload)?,
                alert_id,
                watch_id,
                attempts,
                url: url.clone(),
                secret: Secret::from_stored(secret)?,
            });
        }
        Ok(claimed)
    })
}

/// What a pass of webhook deliveries did, in deliveries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Marked {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Cancelled because the receiver answered 410 Gone (its webhook is
    /// removed).
    pub gone: usize,
}

/// Records what each receiver answered, for the rows `owner` still leases:
/// 2xx sent; 410 Gone removes the webhook (audited) and cancels what it had
/// still to receive; anything else is retried as mail is, then failed.
#[tracing::instrument(level = "debug", skip_all, fields(worker = %owner, deliveries = results.len()))]
pub fn mark(
    conn: &mut DbConn,
    owner: &str,
    settings: &AlertSettings,
    results: Vec<(String, String, i32, Answer)>,
) -> Result<Marked, AppError> {
    db::write_tx(conn, |conn| {
        let now = db::now();
        let initial =
            Duration::seconds(i64::try_from(settings.retry_initial_seconds).unwrap_or(60));
        let retry_for = Duration::hours(i64::try_from(settings.retry_for_hours).unwrap_or(24));
        let mut marked = Marked::default();
        for (alert_id, watch_id, attempts, answer) in results {
            let mine = webhook_deliveries::table
                .find(&alert_id)
                .filter(webhook_deliveries::lease_owner.eq(owner));
            let (status, error) = match &answer {
                Answer::Status { code, .. } => (Some(i32::from(*code)), None),
                Answer::Error(e) => (None, Some(e.clone())),
            };
            let changed = if answer.delivered() {
                let n = diesel::update(mine)
                    .set((
                        webhook_deliveries::status.eq(AlertStatus::Sent),
                        webhook_deliveries::sent_at.eq(Some(now)),
                        webhook_deliveries::attempts.eq(attempts + 1),
                        webhook_deliveries::last_error.eq(None::<String>),
                        webhook_deliveries::lease_owner.eq(None::<String>),
                        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                marked.sent += n;
                n
            } else if status == Some(410) {
                let n = diesel::update(mine)
                    .set((
                        webhook_deliveries::status.eq(AlertStatus::Cancelled),
                        webhook_deliveries::attempts.eq(attempts + 1),
                        webhook_deliveries::last_error
                            .eq(Some("410 Gone: the receiver unsubscribed")),
                        webhook_deliveries::lease_owner.eq(None::<String>),
                        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                if n > 0 {
                    let before = load(conn, &watch_id)?;
                    if remove(conn, &watch_id, "the receiver answered 410 Gone")? {
                        audit::record(
                            conn,
                            &audit::Actor {
                                key_id: None,
                                name: "delivery".into(),
                            },
                            audit::Action::Update,
                            audit::Entity::Watch,
                            &watch_id,
                            Some(&serde_json::json!({"webhook": before})),
                            Some(
                                &serde_json::json!({"webhook": null, "why": "the receiver answered 410 Gone"}),
                            ),
                        )?;
                    }
                    marked.gone += 1;
                }
                // The webhook is gone: nothing to record on it.
                continue;
            } else {
                let failures = attempts + 1;
                let message = match &answer {
                    Answer::Status { code, .. } => format!("HTTP {code}"),
                    Answer::Error(e) => e.clone(),
                };
                let delay = super::delivery::retry_delay(initial, retry_for, failures);
                let status = if delay.is_some() {
                    AlertStatus::Pending
                } else {
                    AlertStatus::Failed
                };
                let n = diesel::update(mine)
                    .set((
                        webhook_deliveries::status.eq(status),
                        webhook_deliveries::attempts.eq(failures),
                        webhook_deliveries::last_error.eq(Some(message)),
                        webhook_deliveries::next_attempt_at.eq(now + delay.unwrap_or_default()),
                        webhook_deliveries::lease_owner.eq(None::<String>),
                        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                if delay.is_some() {
                    marked.retried += n;
                } else {
                    marked.failed += n;
                }
                n
            };
            if changed > 0 {
                diesel::update(webhooks::table.find(&watch_id))
                    .set((
                        webhooks::last_status.eq(status),
                        webhooks::last_error.eq(error),
                        webhooks::last_at.eq(Some(now)),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(marked)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_odd_urls_are_refused() {
        for (url, problem) in [
            ("http://example.org/hook", UrlProblem::Scheme),
            ("ftp://example.org/hook", UrlProblem::Scheme),
            ("https://user:pw@example.org/", UrlProblem::Credentials),
            ("https://127.0.0.1/hook", UrlProblem::Private),
            ("https://10.1.2.3/hook", UrlProblem::Private),
            ("https://192.168.0.1/", UrlProblem::Private),
            ("https://169.254.169.254/latest", UrlProblem::Private),
            ("https://[::1]/", UrlProblem::Private),
            ("https://[fd00::1]/", UrlProblem::Private),
            ("https://[fe80::1]/", UrlProblem::Private),
            ("https://[::ffff:127.0.0.1]/", UrlProblem::Private),
            ("https://0.0.0.0/", UrlProblem::Private),
            ("https://224.0.0.1/", UrlProblem::Private),
            ("https://100.64.0.1/", UrlProblem::Private),
            ("https://exa\nmple.org/\u{7}", UrlProblem::Control),
            ("not a url", UrlProblem::Invalid),
        ] {
            assert_eq!(check_shape(url, false).err(), Some(problem), "{url}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL));
        assert_eq!(check_shape(&long, false).err(), Some(UrlProblem::Length));
        assert!(check_shape("https://8.8.8.8/hook", false).is_ok());
        assert!(check_shape("https://example.org/hook?x=1", false).is_ok());
        assert!(check_shape("http://127.0.0.1:8080/hook", true).is_ok());
    }

    #[test]
    fn signatures_follow_the_specification() {
        // The example of the Standard Webhooks specification.
        let secret = Secret(
            STANDARD
                .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .expect("base64"),
        );
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret.shown().starts_with("whsec_"));
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }
}
