//! Watches: create, edit, delete, resend the confirmation; and what the
//! links in their mails do (confirm, unsubscribe), which need no login.

use std::collections::HashMap;

use super::Who;
use crate::alerts::feed;
use crate::alerts::mail::Links;
use crate::alerts::store::{self, Confirmed, Policy, Scope};
use crate::alerts::tokens::LinkSigner;
use crate::alerts::webhook;
use crate::alerts::{self as domain, Language, Watch, WatchInput};
use crate::audit;
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::http::IfMatch;
use crate::keys::Role;

/// Whose watches `who` may see and touch: researchers their own, admins all.
pub fn scope(who: &Who) -> Scope {
    match (&who.actor.key_id, who.is(Role::Admin)) {
        (_, true) => Scope::All,
        (Some(key), false) => Scope::Owner(key.clone()),
        // Nobody owns a watch without a key: such a caller sees none.
        (None, false) => Scope::Owner(String::new()),
    }
}

/// Creates a pending watch and queues its confirmation mail (any role).
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn create(
    conn: &mut DbConn,
    policy: &Policy,
    who: &Who,
    input: WatchInput,
) -> Result<Watch, AppError> {
    who.require(Role::Researcher)?;
    let draft = input.into_draft()?;
    db::write_tx(conn, |conn| store::create(conn, &who.actor, &draft, policy))
}

/// Changes a watch with a JSON Merge Patch; a new address confirms again.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn update(
    conn: &mut DbConn,
    policy: &Policy,
    who: &Who,
    id: &str,
    if_match: &IfMatch,
    patch: serde_json::Value,
) -> Result<Watch, AppError> {
    who.require(Role::Researcher)?;
    // Unknown fields and wrong types are refused before any database work.
    crate::http::from_value::<domain::WatchPatch>(patch.clone())?;
    // A new target (a drawn area may be large) is checked here, before the
    // write lock; the other rules on the merged result, in the transaction.
    let target = domain::check_patch_target(&patch)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::update(conn, &who.actor, id, &scope, if_match, policy, |current| {
            domain::apply_patch(current, patch, target)
        })
    })
}

/// Deletes a watch: nothing more is sent for it.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::delete(conn, &who.actor, id, &scope, if_match)
    })
}

/// Queues the confirmation mail again, with a new link.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn resend(conn: &mut DbConn, policy: &Policy, who: &Who, id: &str) -> Result<Watch, AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::resend(conn, &who.actor, id, &scope, policy)
    })
}

/// The confirmation link: activates the watch.
#[tracing::instrument(skip_all)]
pub fn confirm(conn: &mut DbConn, signer: &LinkSigner, token: &str) -> Result<Confirmed, AppError> {
    db::write_tx(conn, |conn| store::confirm(conn, signer, token))
}

/// The unsubscribe link: ends the watch; returns the language of its pages.
#[tracing::instrument(skip_all)]
pub fn unsubscribe(
    conn: &mut DbConn,
    signer: &LinkSigner,
    token: &str,
) -> Result<Language, AppError> {
    db::write_tx(conn, |conn| store::unsubscribe(conn, signer, token))
}

/// The Atom feed link of one of `who`'s watches (admins: anyone's), as it
/// is now; with `rotate`, a new link first (the old one stops working).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn feed_url(
    conn: &mut DbConn,
    who: &Who,
    links: &Links,
    id: &str,
    rotate: bool,
) -> Result<String, AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::load(conn, id, &scope)?;
        if rotate {
            let nonce = uuid::Uuid::new_v4().simple().to_string();
            feed::set_nonce(conn, id, &nonce)?;
            audit::record(
                conn,
                &who.actor,
                audit::Action::Update,
                audit::Entity::Watch,
                id,
                None::<&()>,
                Some(&serde_json::json!({"feed_link": "replaced"})),
            )?;
        }
        let watch = feed::watch(conn, id)?;
        Ok(feed_link(links, &watch))
    })
}

/// `…/api/v1/watches/{id}/feed.atom?token=…`
pub fn feed_link(links: &Links, watch: &feed::FeedWatch) -> String {
    format!(
        "{}/api/v1/watches/{}/feed.atom?token={}",
        links.base_url,
        watch.id,
        links.signer.feed_token(&watch.id, &watch.nonce)
    )
}

/// A watch's Atom feed, read with the token of its link (no key: feed
/// readers send none). A forged or replaced link is 404, as is a deleted
/// watch.
#[tracing::instrument(skip_all, fields(id))]
pub fn read_feed(
    conn: &mut DbConn,
    links: &Links,
    id: &str,
    token: &str,
) -> Result<String, AppError> {
    let gone = || AppError::NotFound(format!("no feed for watch {id} with this link"));
    let watch = match feed::watch(conn, id) {
        Err(AppError::NotFound(_)) => return Err(gone()),
        other => other?,
    };
    if !links.signer.check_feed(id, &watch.nonce, token) {
        return Err(gone());
    }
    let target = crate::alerts::delivery::describe_watch(conn, id)?;
    let entries = feed::entries(conn, id)?;
    Ok(feed::atom(
        &watch,
        &target,
        &entries,
        links,
        &feed_link(links, &watch),
    ))
}

/// The months back a preview looks.
pub const PREVIEW_MONTHS: u32 = 12;
/// The newest matching incidents a preview lists.
pub const PREVIEW_LISTED: usize = 20;
/// The incidents of the window a preview reads at most: beyond, it says
/// "more than" (a watch that catches thousands a year is noise anyway).
pub const PREVIEW_READ: i64 = 5_000;

/// What a watch would have caught in the last [`PREVIEW_MONTHS`] months.
#[derive(Debug)]
pub struct Preview {
    /// Matching incidents among those read.
    pub count: usize,
    /// More incidents fell in the window than [`PREVIEW_READ`]: `count`
    /// is a lower bound.
    pub capped: bool,
    /// The newest matches, at most [`PREVIEW_LISTED`].
    pub latest: Vec<crate::events::Event>,
    pub since: chrono::NaiveDate,
}

/// What a watch not yet saved would have caught since `today` minus
/// [`PREVIEW_MONTHS`] months: the incidents its target's index finds,
/// judged by the same rule that queues alerts (`alerts::matching::reason`).
/// Refuses the input exactly as `create` would (422 by field), writes
/// nothing.
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn preview(
    conn: &mut DbConn,
    who: &Who,
    input: WatchInput,
    today: chrono::NaiveDate,
) -> Result<Preview, AppError> {
    use crate::alerts::matching::{self, Rule};
    use crate::alerts::{MinVerification, TargetType};
    use crate::events::store::{ConcessionKey, EventFilter};
    use crate::events::Verification;

    who.require(Role::Researcher)?;
    let draft = input.into_draft()?;
    let target = store::resolve_target(conn, &draft.target)?;
    let since = today
        .checked_sub_months(chrono::Months::new(PREVIEW_MONTHS))
        .unwrap_or(today);
    let target_type = draft.target.target_type();
    // The same indexes the incident list uses narrow the window down to
    // candidates; the rule decides.
    let filter = EventFilter {
        from: Some(since),
        event_types: draft.event_types.clone(),
        verification: match draft.min_verification {
            MinVerification::Verified => Some(Verification::Verified),
            MinVerification::Unverified => None,
        },
        concession: target.concession_id.clone().map(ConcessionKey::Id),
        ubigeo_prefix: target.ubigeo.clone(),
        bbox: target.bbox,
        limit: PREVIEW_READ,
        ..EventFilter::default()
    };
    let mut candidates = match (target_type, &target.actor_id) {
        (TargetType::Holder, Some(holder)) => {
            let ids =
                crate::places::store::events_in_holdings(conn, holder, since, PREVIEW_READ + 1)?;
            crate::events::store::load_many(conn, &ids)?
        }
        _ => crate::events::store::list(conn, &filter)?,
    };
    let capped = candidates.len() as i64 > PREVIEW_READ;
    candidates.truncate(usize::try_from(PREVIEW_READ).unwrap_or(usize::MAX));
    let ids: Vec<String> = candidates.iter().map(|e| e.id.to_string()).collect();
    let mut concessions = crate::places::store::for_events(conn, &ids)?;
    let area = target
        .area
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()?
        .map(|v| crate::places::geometry::multipolygon_from_geojson(&v))
        .transpose()
        .map_err(|e| AppError::internal(format!("a checked area did not read back: {e}")))?;
    let rule = Rule {
        target_type,
        concession_id: target.concession_id.as_deref(),
        actor_id: target.actor_id.as_deref(),
        area: area.as_ref(),
        ubigeo: target.ubigeo.as_deref(),
        event_types: &draft.event_types,
        min_verification: draft.min_verification,
    };
    let mut count = 0;
    let mut latest = Vec::new();
    for (mut event, id) in candidates.into_iter().zip(&ids) {
        event.concessions = concessions.remove(id).unwrap_or_default();
        let admin = event.fields.admin.as_ref();
        let matched = matching::reason(
            &rule,
            &matching::Incident {
                id,
                created_at: event.created_at.naive_utc(),
                event_type: event.fields.event_type,
                verification: event.fields.verification,
                lon: event.fields.location.lon,
                lat: event.fields.location.lat,
                ubigeo: admin.and_then(|a| a.ubigeo.as_deref()),
                region: admin.and_then(|a| a.region.as_deref()),
                province: admin.and_then(|a| a.province.as_deref()),
                district: admin.and_then(|a| a.district.as_deref()),
                concessions: &event.concessions,
            },
        )
        .is_some();
        if matched {
            count += 1;
            if latest.len() < PREVIEW_LISTED {
                latest.push(event);
            }
        }
    }
    latest.sort_by_key(|e| std::cmp::Reverse(e.fields.occurred_on));
    Ok(Preview {
        count,
        capped,
        latest,
        since,
    })
}

/// A watch's target in words, for the pages.
#[derive(Debug, Clone)]
pub enum TargetWords {
    Concession {
        code: String,
        name: Option<String>,
        holder: Option<String>,
    },
    Holder {
        name: Option<String>,
    },
    AdminArea {
        ubigeo: String,
        /// Region, province, district, as far as the code goes.
        names: Vec<String>,
    },
    Area {
        square_km: f64,
    },
}

/// A watch as its page shows it.
#[derive(Debug, Clone)]
pub struct WatchView {
    pub watch: Watch,
    pub target: TargetWords,
    pub last_alerted: Option<chrono::DateTime<chrono::Utc>>,
    /// What its Atom feed's link signs.
    pub feed: feed::FeedWatch,
    /// Its webhook, if it has one (never the secret).
    pub webhook: Option<webhook::WebhookInfo>,
}

/// The watches a page lists: a person's own (admins: everyone's), newest
/// first, at most `limit`.
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn list_views(conn: &mut DbConn, who: &Who, limit: i64) -> Result<Vec<WatchView>, AppError> {
    who.require(Role::Researcher)?;
    let filter = store::WatchFilter {
        limit,
        ..store::WatchFilter::default()
    };
    let mut watches = store::list(conn, &scope(who), &filter)?;
    watches.truncate(usize::try_from(limit).unwrap_or(0));
    views(conn, watches)
}

/// One watch of `who`'s (admins: anyone's) as its page shows it.
pub fn load_view(conn: &mut DbConn, who: &Who, id: &str) -> Result<WatchView, AppError> {
    who.require(Role::Researcher)?;
    let watch = store::load(conn, id, &scope(who))?;
    Ok(views(conn, vec![watch])?.remove(0))
}

fn views(conn: &mut DbConn, watches: Vec<Watch>) -> Result<Vec<WatchView>, AppError> {
    let ids: Vec<String> = watches.iter().map(|w| w.id.to_string()).collect();
    let mut last = store::last_alerted(conn, &ids)?;
    let mut feeds: HashMap<String, feed::FeedWatch> = feed::watches_by_id(conn, &ids)?
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect();
    let mut hooks = webhook::load_many(conn, &ids)?;
    watches
        .into_iter()
        .zip(ids)
        .map(|(watch, id)| {
            Ok(WatchView {
                target: describe(conn, &watch.target)?,
                last_alerted: last.remove(&id).map(|t| t.and_utc()),
                webhook: hooks.remove(&id),
                feed: feeds
                    .remove(&id)
                    .ok_or_else(|| AppError::NotFound(format!("no watch with id {id}")))?,
                watch,
            })
        })
        .collect()
}

/// A row that may have gone (a concession removed from the registry, an
/// actor merged away): `None` rather than an error.
fn absent<T>(found: Result<T, AppError>) -> Result<Option<T>, AppError> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn describe(conn: &mut DbConn, target: &domain::Target) -> Result<TargetWords, AppError> {
    use domain::Target;
    Ok(match target {
        Target::Concession {
            concession_id,
            code,
        } => {
            let found = absent(crate::places::store::load(conn, &concession_id.to_string()))?;
            TargetWords::Concession {
                code: code.clone(),
                name: found.as_ref().map(|c| c.name.clone()),
                holder: found.and_then(|c| c.holder.map(|h| h.name)),
            }
        }
        Target::Holder { actor_id } => TargetWords::Holder {
            name: absent(crate::actors::store::load(conn, &actor_id.to_string()))?
                .map(|a| a.fields.name),
        },
        Target::AdminArea { ubigeo } => TargetWords::AdminArea {
            ubigeo: ubigeo.clone(),
            names: crate::places::store::admin_names(conn, ubigeo)?,
        },
        Target::Area { geometry } => {
            use geo::GeodesicArea;
            let square_km = crate::places::geometry::multipolygon_from_geojson(geometry)
                .map(|shape| shape.geodesic_area_unsigned() / 1_000_000.0)
                .unwrap_or(0.0);
            TargetWords::Area { square_km }
        }
    })
}

/// The holder a person typed by name, when exactly one actor answers to it
/// (the form without its script has no list to pick from): its id, or the
/// number found (0, or 2 meaning "several").
pub fn holder_by_name(conn: &mut DbConn, name: &str) -> Result<Result<String, usize>, AppError> {
    let words = crate::actors::name_key(name)
        .split_whitespace()
        .map(String::from)
        .collect::<Vec<_>>();
    if words.is_empty() {
        return Ok(Err(0));
    }
    let found = crate::actors::store::list(
        conn,
        &crate::actors::store::ActorFilter {
            words,
            limit: 1,
            ..Default::default()
        },
    )?;
    Ok(match found.as_slice() {
        [one] => Ok(one.id.to_string()),
        more => Err(more.len()),
    })
}

// ------------------------------------------------------------ webhooks

/// A webhook just set or given a new secret: the secret, shown this once.
#[derive(Debug, Clone)]
pub struct WebhookSecret {
    pub webhook: webhook::WebhookInfo,
    /// `whsec_…`: Vigía never shows it again.
    pub secret: String,
    /// True when the watch had no webhook before.
    pub created: bool,
}

/// What the audit trail keeps of a webhook: its URL and dates, never the
/// secret.
fn audited(info: &Option<webhook::WebhookInfo>) -> serde_json::Value {
    match info {
        Some(w) => {
            serde_json::json!({"url": w.url, "created_at": w.created_at, "rotated_at": w.rotated_at})
        }
        None => serde_json::Value::Null,
    }
}

/// The webhook of one of `who`'s watches (admins: anyone's); 404 when it
/// has none.
pub fn webhook(conn: &mut DbConn, who: &Who, id: &str) -> Result<webhook::WebhookInfo, AppError> {
    who.require(Role::Researcher)?;
    store::load(conn, id, &scope(who))?;
    webhook::load(conn, id)?.ok_or_else(|| AppError::NotFound(format!("watch {id} has no webhook")))
}

/// Sets or replaces a watch's webhook URL, with a new secret either way.
/// The URL is checked (and its host resolved) before the transaction.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn set_webhook(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    url: &str,
    allow_private: bool,
) -> Result<WebhookSecret, AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    // The owner check first, so that nobody learns what a URL resolves to
    // through someone else's watch.
    store::load(conn, id, &scope)?;
    let url = webhook::check(url.trim(), allow_private)
        .map_err(|problem| AppError::Validation(vec![problem.field_error()]))?;
    let secret = webhook::Secret::generate();
    db::write_tx(conn, |conn| {
        store::load(conn, id, &scope)?;
        let before = webhook::load(conn, id)?;
        let created = webhook::set(conn, id, url.as_str(), &secret)?;
        let after = webhook::load(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            audit::Action::Update,
            audit::Entity::Watch,
            id,
            Some(&serde_json::json!({"webhook": audited(&before)})),
            Some(&serde_json::json!({"webhook": audited(&after), "webhook_secret": "new"})),
        )?;
        Ok(WebhookSecret {
            webhook: after
                .ok_or_else(|| AppError::internal(format!("watch {id}: the webhook just set")))?,
            secret: secret.shown(),
            created,
        })
    })
}

/// A new secret for a watch's webhook (the old one stops verifying).
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn rotate_webhook(conn: &mut DbConn, who: &Who, id: &str) -> Result<WebhookSecret, AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    let secret = webhook::Secret::generate();
    db::write_tx(conn, |conn| {
        store::load(conn, id, &scope)?;
        if !webhook::rotate(conn, id, &secret)? {
            return Err(AppError::NotFound(format!("watch {id} has no webhook")));
        }
        audit::record(
            conn,
            &who.actor,
            audit::Action::Update,
            audit::Entity::Watch,
            id,
            None::<&()>,
            Some(&serde_json::json!({"webhook_secret": "replaced"})),
        )?;
        Ok(WebhookSecret {
            webhook: webhook::load(conn, id)?.ok_or_else(|| {
                AppError::internal(format!("watch {id}: the webhook just rotated"))
            })?,
            secret: secret.shown(),
            created: false,
        })
    })
}

/// Removes a watch's webhook; what it had still to receive is cancelled.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn remove_webhook(conn: &mut DbConn, who: &Who, id: &str) -> Result<(), AppError> {
    who.require(Role::Researcher)?;
    let scope = scope(who);
    db::write_tx(conn, |conn| {
        store::load(conn, id, &scope)?;
        let before = webhook::load(conn, id)?;
        if !webhook::remove(conn, id, "the webhook was removed")? {
            return Err(AppError::NotFound(format!("watch {id} has no webhook")));
        }
        audit::record(
            conn,
            &who.actor,
            audit::Action::Update,
            audit::Entity::Watch,
            id,
            Some(&serde_json::json!({"webhook": audited(&before)})),
            Some(&serde_json::json!({"webhook": null})),
        )
    })
}

/// What a receiver answered the test event.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookTest {
    /// True when it answered 2xx.
    pub delivered: bool,
    /// Its HTTP status, when it answered.
    pub status: Option<u16>,
    /// The start of its answer's body (at most 200 characters).
    pub body: Option<String>,
    /// Why there was no answer (refused address, timeout…).
    pub error: Option<String>,
}

/// POSTs a signed `webhook.test` event to the watch's webhook now and says
/// what the receiver answered (within `webhook::TIMEOUT`). Writes nothing:
/// the outbox and the webhook's last status are for alerts.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub async fn test_webhook(
    db: &crate::db::Db,
    sender: &webhook::Sender,
    who: Who,
    id: String,
) -> Result<WebhookTest, AppError> {
    who.require(Role::Researcher)?;
    let watch_id = id.clone();
    let (url, secret, target_type) = db
        .run(move |conn| {
            let watch = store::load(conn, &id, &scope(&who))?;
            let (url, secret) = webhook::target(conn, &id)?
                .ok_or_else(|| AppError::NotFound(format!("watch {id} has no webhook")))?;
            Ok((url, secret, watch.target.type_name()))
        })
        .await?;
    let body = webhook::test_payload(&watch_id, target_type);
    let message_id = format!("test_{}", uuid::Uuid::new_v4().simple());
    Ok(match sender.post(&url, &secret, &message_id, &body).await {
        webhook::Answer::Status { code, excerpt } => WebhookTest {
            delivered: (200..300).contains(&code),
            status: Some(code),
            body: Some(excerpt),
            error: None,
        },
        webhook::Answer::Error(error) => WebhookTest {
            delivered: false,
            status: None,
            body: None,
            error: Some(error),
        },
    })
}
