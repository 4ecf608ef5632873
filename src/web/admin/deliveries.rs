//! The delivery log: each mail of a watch with its status, attempts and
//! last error, filtered; "retry now" for mail that failed or waits.

use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::{date_filter, next_href, text_filter, when, FilterErrors, PAGE_SIZE};
use crate::alerts::delivery::RetryNow;
use crate::alerts::store::AlertFilter;
use crate::alerts::{AlertRecord, AlertStatus};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Texts};
use crate::keys::Role;
use crate::web::{form, see_other, Ctx, SignedIn};

pub fn status_label(status: AlertStatus, t: &Texts) -> &'static str {
    match status {
        AlertStatus::Pending => t.admin_mail_pending,
        AlertStatus::Sent => t.admin_mail_sent,
        AlertStatus::Failed => t.admin_mail_failed,
        AlertStatus::Cancelled => t.admin_mail_cancelled,
    }
}

struct Row {
    id: String,
    queued: String,
    recipient: String,
    kind: &'static str,
    watch_id: String,
    event_id: Option<String>,
    status: &'static str,
    status_key: &'static str,
    attempts: i32,
    next: String,
    last_error: String,
    retryable: bool,
}

fn row_of(a: AlertRecord, t: &Texts) -> Row {
    let waiting = a.status == AlertStatus::Pending && a.attempts > 0;
    Row {
        id: a.id.to_string(),
        queued: when(a.created_at),
        recipient: a.recipient,
        kind: match a.kind {
            crate::alerts::MailKind::Alert => t.admin_mail_alert,
            crate::alerts::MailKind::Confirmation => t.admin_mail_confirmation,
        },
        watch_id: a.watch_id.to_string(),
        event_id: a.event_id.map(|id| id.to_string()),
        status: status_label(a.status, t),
        status_key: a.status.as_str(),
        attempts: a.attempts,
        next: match (a.status, a.sent_at) {
            (AlertStatus::Sent, Some(at)) => fill(t.admin_mail_sent_at, &[("when", &when(at))]),
            (AlertStatus::Pending, _) => {
                fill(t.admin_mail_next_at, &[("when", &when(a.next_attempt_at))])
            }
            _ => String::new(),
        },
        last_error: a.last_error.unwrap_or_default(),
        retryable: a.status == AlertStatus::Failed || waiting,
    }
}

#[derive(Template)]
#[template(path = "admin_deliveries.html")]
struct DeliveriesPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<Row>,
    statuses: Vec<(&'static str, &'static str)>,
    q: Query,
    errors: FilterErrors,
    notice: String,
    next_href: Option<String>,
}

#[derive(Deserialize, Default)]
struct Query {
    status: Option<String>,
    watch: Option<String>,
    recipient: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    /// After "retry now": what it did (`due`, `already`, `busy`, `final`).
    retried: Option<String>,
}

impl Query {
    fn get<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn page(
    who: SignedIn,
    db: web::Data<Db>,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let q = q.into_inner();
    let mut errors = FilterErrors::default();
    let status = match q.get(&q.status) {
        "" => None,
        v => AlertStatus::parse(v).or_else(|| {
            errors.push(("status", t.admin_bad_choice.to_string()));
            None
        }),
    };
    let watch_id =
        text_filter(&q.watch, 36, "watch", t, &mut errors).and_then(
            |w| match uuid::Uuid::parse_str(&w) {
                Ok(id) => Some(id.to_string()),
                Err(_) => {
                    errors.push(("watch", t.admin_bad_id.to_string()));
                    None
                }
            },
        );
    let recipient = text_filter(&q.recipient, 254, "recipient", t, &mut errors);
    let from = date_filter(&q.from, false, "from", t, &mut errors);
    let to = date_filter(&q.to, true, "to", t, &mut errors);
    let after = match q.get(&q.cursor) {
        "" => None,
        c => Some(crate::pagination::decode::<(NaiveDateTime, String)>(c)?),
    };
    let filter = AlertFilter {
        watch_id,
        status,
        recipient,
        from,
        to,
        after,
        limit: PAGE_SIZE,
        ..AlertFilter::default()
    };
    let refused = !errors.is_empty();
    let mut found = if refused {
        Vec::new()
    } else {
        db.run(move |conn| crate::alerts::store::list_alerts(conn, &filter))
            .await?
    };
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let next_href = more
        .then(|| found.last())
        .flatten()
        .map(|a| crate::pagination::encode(&(a.created_at.naive_utc(), a.id.to_string())))
        .map(|cursor| {
            next_href(
                "/admin/deliveries",
                &[
                    ("status", q.get(&q.status)),
                    ("watch", q.get(&q.watch)),
                    ("recipient", q.get(&q.recipient)),
                    ("from", q.get(&q.from)),
                    ("to", q.get(&q.to)),
                ],
                &cursor,
            )
        });
    let notice = match q.get(&q.retried) {
        "due" => t.admin_retry_due,
        "already" => t.admin_retry_already,
        "busy" => t.admin_retry_busy,
        "final" => t.admin_retry_final,
        _ => "",
    }
    .to_string();
    let page = DeliveriesPage {
        ctx: who.ctx.clone(),
        t,
        rows: found.into_iter().map(|a| row_of(a, t)).collect(),
        statuses: AlertStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_label(*s, t)))
            .collect(),
        q,
        errors,
        notice,
        next_href,
    };
    crate::web::html(&who.web, page.errors.status(), &page)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn retry(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Admin)?;
    let id = crate::http::parse_id(&id, "mail")?;
    let acting = who.who();
    let outcome = db
        .run(move |conn| crate::ops::deliveries::retry_now(conn, &acting, &id))
        .await?;
    let said = match outcome {
        RetryNow::Due => "due",
        RetryNow::AlreadyDue => "already",
        RetryNow::Busy => "busy",
        RetryNow::Final => "final",
    };
    Ok(see_other(&format!("/admin/deliveries?retried={said}")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/deliveries", web::get().to(page))
        .route("/admin/deliveries/{id}/retry", web::post().to(retry));
}
