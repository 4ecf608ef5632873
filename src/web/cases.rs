//! The Defensoría's cases: the list with its filters (the API's own query)
//! and a case's page: its timeline report by report, its companies, the
//! incidents linked to it and its files (the report PDFs).

use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::incidents::{encode_pairs, filter_pairs};
use super::records::{filter, line, Line};
use super::{Ctx, SignedIn};
use crate::api::cases::CaseListQuery;
use crate::attachments::{Attachment, AttachmentPolicy, Owner};
use crate::cases::{Case, CaseStatus};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Label, Texts};
use crate::pagination::Page;

/// Cases per page of the list.
const PAGE_SIZE: i64 = 50;
/// Incidents listed on a case's page.
const CASE_INCIDENTS: i64 = 500;

struct CaseRow {
    id: String,
    name: String,
    place: String,
    status: String,
    status_key: &'static str,
    reports: String,
}

fn place_of(c: &Case) -> String {
    [&c.district, &c.province, &c.region]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn reports_of(c: &Case, t: &Texts) -> String {
    match (&c.first_report, &c.last_report) {
        (Some(first), Some(last)) => fill(
            t.case_reports,
            &[
                ("first", &format!("{} ({})", first.number, first.month)),
                ("last", &format!("{} ({})", last.number, last.month)),
            ],
        ),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<CaseRow>,
    q: String,
    region: String,
    report_number: String,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    next_href: Option<String>,
    error: String,
}

async fn list(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let (pairs, cursor) = filter_pairs(&req)?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut api_pairs = pairs.clone();
    if let Some(c) = &cursor {
        api_pairs.push(("cursor".into(), c.clone()));
    }
    api_pairs.push(("limit".into(), PAGE_SIZE.to_string()));
    let parsed = crate::http::parse_query::<CaseListQuery>(&encode_pairs(&api_pairs))
        .and_then(CaseListQuery::into_filter);
    let (rows, next_href, error, status) = match parsed {
        Ok(filter) => {
            let found = db
                .run(move |conn| crate::cases::store::list(conn, &filter))
                .await?;
            let page = Page::from_rows(found, PAGE_SIZE, |c: &Case| {
                (c.name.clone(), c.id.to_string())
            });
            let query = encode_pairs(&pairs);
            let next = page.next_cursor.map(|c| {
                let sep = if query.is_empty() { "" } else { "&" };
                format!("/cases?{query}{sep}cursor={c}")
            });
            let rows = page
                .items
                .iter()
                .map(|c| CaseRow {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    place: place_of(c),
                    status: c.status.map(|s| s.label(t)).unwrap_or("").to_string(),
                    status_key: c.status.map(|s| s.as_str()).unwrap_or(""),
                    reports: reports_of(c, t),
                })
                .collect();
            (rows, next, String::new(), StatusCode::OK)
        }
        // A filter out of bounds: the page with the reason, not a bare error.
        Err(AppError::BadRequest(why)) => (Vec::new(), None, why, StatusCode::BAD_REQUEST),
        Err(other) => return Err(other),
    };
    let page = CasesPage {
        t,
        rows,
        q: value("q"),
        region: value("region"),
        report_number: value("report_number"),
        status: value("status"),
        statuses: CaseStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label(t)))
            .collect(),
        next_href,
        error,
        ctx: who.ctx.clone(),
    };
    super::html(&who.web, status, &page)
}

struct TimelineCell {
    report: i32,
    month: String,
    status_key: &'static str,
    status: &'static str,
    phase: &'static str,
    violence: bool,
    dialogue: bool,
    description: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    ctx: Ctx,
    t: &'static Texts,
    c: Case,
    place: String,
    case_type: &'static str,
    status: &'static str,
    phase: &'static str,
    timeline: Vec<TimelineCell>,
    incidents: Vec<Line>,
    more: bool,
    attachments: Vec<Attachment>,
    can_attach: bool,
    attach_action: String,
    attach_hint: String,
    attach_error: String,
    notice: &'static str,
    /// The linked incidents' points, for the small map.
    geo: String,
    tile_url: String,
    tile_attribution: String,
}

#[derive(serde::Deserialize)]
struct Notice {
    attached: Option<String>,
    removed: Option<String>,
}

async fn show(
    who: SignedIn,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    id: web::Path<String>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "case")?;
    let t = who.ctx.t;
    let notice = if q.attached.is_some() {
        t.attach_saved
    } else if q.removed.is_some() {
        t.attach_deleted
    } else {
        ""
    };
    case_page(
        &who,
        &db,
        &policy,
        id,
        notice,
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// A case's page; after a refused upload, with the reason beside the file
/// field and the refusal's status.
pub(super) async fn case_page(
    who: &SignedIn,
    db: &Db,
    policy: &AttachmentPolicy,
    id: String,
    notice: &'static str,
    attach_error: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let acting = who.who();
    let (c, events, attachments) = db
        .run(move |conn| {
            let c = crate::cases::store::load_with_entries(conn, &id)?;
            let mut f = filter();
            f.case = Some(id.clone());
            // A case gathers tens of incidents, not thousands: all of them.
            f.limit = CASE_INCIDENTS;
            let events = crate::ops::events::list(conn, &f)?;
            let attachments =
                crate::ops::attachments::list(conn, &acting, &Owner::Case(id.clone()), false)?;
            Ok::<_, AppError>((c, events, attachments))
        })
        .await?;
    let timeline = c
        .entries
        .iter()
        .flatten()
        .map(|e| TimelineCell {
            report: e.report_number,
            month: e.report_month.clone(),
            status_key: e.status.as_str(),
            status: e.status.label(t),
            phase: e.phase.map(|p| p.label(t)).unwrap_or(""),
            violence: e.violence,
            dialogue: e.dialogue,
            description: e.description.clone(),
        })
        .collect();
    let points: Vec<[f64; 2]> = events
        .iter()
        .map(|e| [e.fields.location.lat, e.fields.location.lon])
        .collect();
    let page = CasePage {
        t,
        geo: serde_json::json!({ "points": points }).to_string(),
        tile_url: who.web.settings.tile_url.clone(),
        tile_attribution: who.web.settings.tile_attribution.clone(),
        place: place_of(&c),
        case_type: c.case_type.label(t),
        status: c.status.map(|s| s.label(t)).unwrap_or(""),
        phase: c.phase.map(|p| p.label(t)).unwrap_or(""),
        timeline,
        more: events.len() as i64 > CASE_INCIDENTS,
        incidents: events
            .iter()
            .take(CASE_INCIDENTS as usize)
            .map(|e| line(e, t, e.fields.location.place.clone().unwrap_or_default()))
            .collect(),
        attachments,
        can_attach: who.ctx.user.as_ref().is_some_and(|u| u.can_write),
        attach_action: format!("/cases/{}/attachments", c.id),
        attach_hint: fill(
            t.attach_hint,
            &[("mb", &(policy.max_bytes / (1024 * 1024)).to_string())],
        ),
        attach_error,
        notice,
        c,
        ctx: who.ctx.clone(),
    };
    super::html(&who.web, status, &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases", web::get().to(list))
        .route("/cases/{id}", web::get().to(show));
}
