//! The analysts' pages: a case suggested on an incident's page linked or
//! dismissed in one click, the review queue, a report reconciled against
//! the incidents, and a report-entries CSV imported by uploading it.
//!
//! Every write goes through `ops` as the API's do; a link or a dismissal
//! comes back to the page it was made from (`back`, a local path only).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::{self, Errors};
use super::records::{line, Line};
use super::{encode, see_other, Ctx, SignedIn};
use crate::cases::import::EntryImportReport;
use crate::cases::store::Fallback;
use crate::cases::suggest::{Evidence, PlaceLevel, Suggestion};
use crate::db::Db;
use crate::error::AppError;
use crate::events::{Event, Verification};
use crate::http::IfMatch;
use crate::i18n::{date_text, fill, Label, Texts};
use crate::keys::Role;
use crate::places::PlaceIndex;

/// Incidents shown in the review queue at once: an analyst works from the
/// top, and the page shows how many wait in all.
const QUEUE_SHOWN: i64 = 50;
/// Suggestions shown on an incident's page.
pub(super) const SUGGESTIONS_SHOWN: usize = 5;
/// Suggestions computed per incident of a reconciliation.
const RECONCILE_SUGGESTIONS: usize = 5;
/// The largest entries file a page takes (a decade of reports is ~5 MB).
const MAX_ENTRIES_FILE: u64 = 20 * 1024 * 1024;
const STAGED_PURPOSE: &str = "report_entries";

// ---- suggestions on an incident's page ----

/// A suggested case as a page shows it.
pub(super) struct SuggestionView {
    pub(super) case_id: String,
    pub(super) name: String,
    pub(super) place: String,
    /// 0–100.
    pub(super) percent: i64,
    pub(super) reasons: Vec<String>,
}

/// One piece of evidence in the reader's language.
pub(super) fn evidence_text(e: &Evidence, t: &Texts) -> String {
    match e {
        Evidence::SamePlace { level, place } => {
            let template = match level {
                PlaceLevel::District => t.evidence_same_district,
                PlaceLevel::Province => t.evidence_same_province,
                PlaceLevel::Region => t.evidence_same_region,
            };
            fill(template, &[("place", place)])
        }
        Evidence::Company { name } => fill(t.evidence_company, &[("name", name)]),
        Evidence::ReportEntry {
            report_number,
            report_month,
            status,
            months_after,
        } => {
            let n = months_after.unsigned_abs().to_string();
            let when = match months_after {
                0 => t.evidence_same_month.to_string(),
                1 => t.evidence_one_month_after.to_string(),
                -1 => t.evidence_one_month_before.to_string(),
                d if *d > 0 => fill(t.evidence_months_after, &[("n", &n)]),
                _ => fill(t.evidence_months_before, &[("n", &n)]),
            };
            fill(
                t.evidence_report_entry,
                &[
                    ("status", status.label(t)),
                    ("number", &report_number.to_string()),
                    ("month", report_month),
                    ("when", &when),
                ],
            )
        }
        Evidence::Name { words } => fill(t.evidence_name, &[("words", &words.join(", "))]),
    }
}

pub(super) fn suggestion_views(found: &[Suggestion], t: &Texts) -> Vec<SuggestionView> {
    found
        .iter()
        .map(|s| SuggestionView {
            case_id: s.case.id.to_string(),
            name: s.case.name.clone(),
            place: [&s.case.district, &s.case.province, &s.case.region]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            percent: (s.score * 100.0).round() as i64,
            reasons: s.evidence.iter().map(|e| evidence_text(e, t)).collect(),
        })
        .collect()
}

#[derive(Deserialize)]
struct LinkForm {
    csrf: String,
    case_id: String,
    #[serde(default)]
    back: String,
}

/// Where a link or a dismissal comes back to: the page it was made from,
/// else the incident's page.
fn back_to(back: &str, event_id: &str, notice: &str) -> HttpResponse {
    let path = if back.is_empty() {
        format!("/incidents/{event_id}")
    } else {
        super::local_path(back).to_string()
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    see_other(&format!("{path}{sep}{notice}=1"))
}

async fn link(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: LinkForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let event_id = crate::http::parse_id(&id, "incident")?;
    let case_id = crate::http::parse_id(&f.case_id, "case")?;
    let acting = who.who();
    let target = event_id.clone();
    db.run(move |conn| crate::ops::cases::link(conn, &acting, &target, &case_id, None))
        .await?;
    Ok(back_to(&f.back, &event_id, "linked"))
}

#[derive(Deserialize)]
struct DismissForm {
    csrf: String,
    #[serde(default)]
    back: String,
}

async fn dismiss(
    who: SignedIn,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: DismissForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let (event_id, case_id) = path.into_inner();
    let event_id = crate::http::parse_id(&event_id, "incident")?;
    let case_id = crate::http::parse_id(&case_id, "case")?;
    let acting = who.who();
    let target = event_id.clone();
    db.run(move |conn| crate::ops::cases::dismiss(conn, &acting, &target, &case_id))
        .await?;
    Ok(back_to(&f.back, &event_id, "dismissed"))
}

// ---- the review queue ----

struct QueueItem {
    id: String,
    version: i64,
    title: String,
    date: String,
    type_label: &'static str,
    place: String,
    logged: String,
    sources: usize,
    description: String,
    note: String,
    error: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    ctx: Ctx,
    t: &'static Texts,
    items: Vec<QueueItem>,
    waiting: String,
    notice: String,
    error: String,
}

#[derive(Deserialize)]
struct ReviewNotice {
    done: Option<String>,
}

fn queue_item(e: &Event, t: &Texts) -> QueueItem {
    let description: String = e.fields.description.chars().take(400).collect();
    let description = if description.len() < e.fields.description.len() {
        format!("{description}…")
    } else {
        description
    };
    QueueItem {
        id: e.id.to_string(),
        version: e.version,
        title: e.fields.title.clone(),
        date: date_text(e.fields.occurred_on, e.fields.time_precision, t),
        type_label: e.fields.event_type.label(t),
        place: super::incidents::place_text(e),
        logged: fill(
            t.review_logged,
            &[
                ("who", &e.created_by),
                (
                    "when",
                    &e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                ),
            ],
        ),
        sources: e.fields.sources.len(),
        description,
        note: String::new(),
        error: String::new(),
    }
}

/// The queue; after a refused verdict, with its reason beside that
/// incident's note.
async fn queue_page(
    who: &SignedIn,
    db: &Db,
    notice: String,
    refused: Option<(String, String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Monitor)?;
    let t = who.ctx.t;
    let acting = who.who();
    let (events, total) = db
        .run(move |conn| crate::ops::events::review_queue(conn, &acting, QUEUE_SHOWN))
        .await?;
    let mut items: Vec<QueueItem> = events.iter().map(|e| queue_item(e, t)).collect();
    let mut error = String::new();
    if let Some((id, note, why)) = refused {
        match items.iter_mut().find(|i| i.id == id) {
            Some(item) => {
                item.note = note;
                item.error = why;
            }
            None => error = why,
        }
    }
    let page = ReviewPage {
        t,
        waiting: fill(t.review_waiting, &[("n", &total.to_string())]),
        items,
        notice,
        error,
        ctx: who.ctx.clone(),
    };
    super::html(&who.web, status, &page)
}

async fn review(
    who: SignedIn,
    db: web::Data<Db>,
    q: web::Query<ReviewNotice>,
) -> Result<HttpResponse, AppError> {
    let notice = q
        .done
        .as_deref()
        .map(|title| fill(who.ctx.t.review_done, &[("title", title)]))
        .unwrap_or_default();
    queue_page(&who, &db, notice, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct VerdictForm {
    csrf: String,
    verdict: String,
    #[serde(default)]
    note: String,
    version: i64,
}

async fn verdict(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: VerdictForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Monitor)?;
    let id = crate::http::parse_id(&id, "incident")?;
    let t = who.ctx.t;
    let verdict = match Verification::parse(&f.verdict) {
        Some(v @ (Verification::Verified | Verification::Disputed)) => v,
        _ => {
            return Err(AppError::BadRequest(format!(
                "verdict must be verified or disputed, got {:?}",
                f.verdict
            )))
        }
    };
    let acting = who.who();
    let (target, note) = (id.clone(), f.note.clone());
    let done = db
        .run(move |conn| {
            crate::ops::events::review(
                conn,
                &index,
                &acting,
                &target,
                &IfMatch::Versions(vec![f.version]),
                verdict,
                &note,
            )
        })
        .await;
    match done {
        Ok(event) => Ok(see_other(&format!(
            "/review?done={}",
            encode(&event.fields.title)
        ))),
        Err(AppError::Validation(errors)) => {
            let why = Errors::new(&errors, t).of("verification_note");
            let why = if why.is_empty() {
                Errors::new(&errors, t).under("")
            } else {
                why
            };
            queue_page(
                &who,
                &db,
                String::new(),
                Some((id, f.note, why)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::PreconditionFailed(_)) => {
            queue_page(
                &who,
                &db,
                String::new(),
                Some((id, f.note, t.review_changed.to_string())),
                StatusCode::PRECONDITION_FAILED,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

// ---- reconciliation ----

struct CaseLine {
    id: String,
    name: String,
    place: String,
    status: &'static str,
    /// Incidents of the other list that suggest this case: one click links.
    candidates: Vec<(String, String)>,
}

struct IncidentLine {
    line: Line,
    /// Suggested cases: (case id, name, percent).
    suggestions: Vec<(String, String, i64)>,
}

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconciliationPage {
    ctx: Ctx,
    t: &'static Texts,
    report: String,
    month: String,
    error: String,
    heading: String,
    shown: bool,
    cases: Vec<CaseLine>,
    incidents: Vec<IncidentLine>,
    back: String,
    can_write: bool,
    notice: &'static str,
}

#[derive(Deserialize)]
struct ReconciliationQuery {
    #[serde(default)]
    report: String,
    #[serde(default)]
    month: String,
    linked: Option<String>,
}

async fn reconciliation(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    q: web::Query<ReconciliationQuery>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let report = q.report.trim().to_string();
    let month = q.month.trim().to_string();
    let number: Result<Option<i32>, String> = match (report.as_str(), month.as_str()) {
        ("", "") => Ok(None),
        (r, "") => r
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=10000).contains(n))
            .map(Some)
            .ok_or_else(|| t.reconcile_bad_report.to_string()),
        (_, m) => crate::cases::report_number_of(m)
            .map(Some)
            .ok_or_else(|| t.reconcile_bad_month.to_string()),
    };
    let mut page = ReconciliationPage {
        t,
        report: report.clone(),
        month: month.clone(),
        error: String::new(),
        heading: String::new(),
        shown: false,
        cases: Vec::new(),
        incidents: Vec::new(),
        back: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        can_write: who.ctx.user.as_ref().is_some_and(|u| u.can_write),
        notice: if q.linked.is_some() {
            t.case_linked
        } else {
            ""
        },
        ctx: who.ctx.clone(),
    };
    // `linked=1` is the notice of the last click, not part of where to
    // come back to.
    page.back = page
        .back
        .replace("&linked=1", "")
        .replace("?linked=1&", "?");
    let number = match number {
        Ok(Some(n)) => n,
        Ok(None) => return super::ok(&who.web, &page),
        Err(why) => {
            page.error = why;
            return super::html(&who.web, StatusCode::BAD_REQUEST, &page);
        }
    };
    let found = db
        .run(move |conn| {
            let r = crate::ops::cases::reconcile(conn, number)?;
            let mut suggested = Vec::new();
            for e in r.events_without_case.iter() {
                let s =
                    crate::ops::cases::suggestions(conn, &e.id.to_string(), RECONCILE_SUGGESTIONS)?;
                suggested.push(s);
            }
            Ok::<_, AppError>((r, suggested))
        })
        .await;
    let (r, suggested) = match found {
        Ok(found) => found,
        Err(AppError::NotFound(_)) => {
            page.error = fill(t.reconcile_no_report, &[("number", &number.to_string())]);
            return super::html(&who.web, StatusCode::NOT_FOUND, &page);
        }
        Err(other) => return Err(other),
    };
    page.shown = true;
    page.heading = fill(
        t.reconcile_heading,
        &[
            ("number", &r.report_number.to_string()),
            ("month", &r.report_month),
        ],
    );
    page.report = r.report_number.to_string();
    page.month = r.report_month.clone();
    let listed: std::collections::HashSet<String> = r
        .cases_without_events
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    page.cases = r
        .cases_without_events
        .iter()
        .map(|c| {
            let id = c.id.to_string();
            let candidates = r
                .events_without_case
                .iter()
                .zip(&suggested)
                .filter(|(_, s)| s.iter().any(|s| s.case.id == c.id))
                .map(|(e, _)| (e.id.to_string(), e.fields.title.clone()))
                .collect();
            CaseLine {
                id,
                name: c.name.clone(),
                place: [&c.district, &c.province, &c.region]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                status: c.status.map(|s| s.label(t)).unwrap_or(""),
                candidates,
            }
        })
        .collect();
    page.incidents = r
        .events_without_case
        .iter()
        .zip(suggested)
        .map(|(e, s)| {
            // The report's own cases first: they are what is being checked.
            let mut s: Vec<(String, String, i64, bool)> = s
                .into_iter()
                .map(|s| {
                    let id = s.case.id.to_string();
                    let in_report = listed.contains(&id);
                    (id, s.case.name, (s.score * 100.0).round() as i64, in_report)
                })
                .collect();
            s.sort_by_key(|x| !x.3);
            IncidentLine {
                line: line(e, t, super::incidents::place_text(e)),
                suggestions: s.into_iter().map(|(a, b, c, _)| (a, b, c)).collect(),
            }
        })
        .collect();
    super::ok(&who.web, &page)
}

// ---- importing report entries ----

struct BadLine {
    line: u64,
    field: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "entries_import.html")]
struct ImportPage {
    ctx: Ctx,
    t: &'static Texts,
    error: String,
    filename: String,
    /// The check or the import just done.
    report: Option<ImportSummary>,
    bad: Vec<BadLine>,
    /// The staged file, when its valid rows can be imported alone.
    staged: String,
    /// Where the offer to import only the valid rows posts.
    valid_action: &'static str,
    max_mb: u64,
}

struct ImportSummary {
    written: bool,
    read: usize,
    valid: usize,
    cases_added: usize,
    cases_updated: usize,
    entries_added: usize,
    entries_updated: usize,
    entries_unchanged: usize,
    actors_added: usize,
    warnings: Vec<String>,
}

/// A place coded from a wider area than the row named, in words.
fn fallback_text(line: u64, f: &Fallback, t: &Texts) -> String {
    let level = if f.level == "district" {
        t.level_district
    } else {
        t.level_province
    };
    let to = match f.coded_to {
        "province" => t.level_province,
        _ => t.level_region,
    };
    let line = line.to_string();
    match &f.ubigeo {
        Some(code) => fill(
            t.import_fallback_coded,
            &[
                ("line", &line),
                ("level", level),
                ("name", &f.name),
                ("to", to),
                ("code", code),
            ],
        ),
        None => fill(
            t.import_fallback_none,
            &[("line", &line), ("level", level), ("name", &f.name)],
        ),
    }
}

fn import_page(
    who: &SignedIn,
    filename: String,
    result: Result<EntryImportReport, String>,
    staged: String,
) -> ImportPage {
    let t = who.ctx.t;
    let mut page = ImportPage {
        t,
        error: String::new(),
        filename,
        report: None,
        bad: Vec::new(),
        staged: String::new(),
        valid_action: "/cases/import/valid",
        max_mb: MAX_ENTRIES_FILE / (1024 * 1024),
        ctx: who.ctx.clone(),
    };
    match result {
        Err(why) => page.error = why,
        Ok(r) => {
            page.bad = r
                .bad
                .iter()
                .flat_map(|b| {
                    b.problems.iter().map(move |p| BadLine {
                        line: b.line,
                        field: p.field.clone(),
                        reason: crate::i18n::field_message(p, t),
                    })
                })
                .collect();
            let valid = r.read.saturating_sub(r.bad.len());
            // The valid rows can go in alone when nothing was written
            // because of the bad ones.
            if !r.written && !r.bad.is_empty() && valid > 0 {
                page.staged = staged;
            }
            page.report = Some(ImportSummary {
                written: r.written,
                read: r.read,
                valid,
                cases_added: r.cases_added,
                cases_updated: r.cases_updated,
                entries_added: r.entries_added,
                entries_updated: r.entries_updated,
                entries_unchanged: r.entries_unchanged,
                actors_added: r.actors_added,
                warnings: r
                    .warnings
                    .iter()
                    .map(|w| fallback_text(w.line, &w.fallback, t))
                    .collect(),
            });
        }
    }
    page
}

async fn import_form(who: SignedIn) -> Result<HttpResponse, AppError> {
    who.require(Role::Monitor)?;
    let page = import_page(&who, String::new(), Err(String::new()), String::new());
    super::ok(&who.web, &page)
}

/// A file sent to an import page.
pub(super) enum Upload {
    File {
        filename: String,
        data: Vec<u8>,
        /// "Import only the valid rows if some have errors" was ticked.
        skip_invalid: bool,
    },
    /// Why it is refused, in the page's language, and the status to answer.
    Refused(String, StatusCode),
}

/// Reads an import page's form (its `file`, `skip_invalid` and form token)
/// within `max` bytes.
pub(super) async fn read_upload(
    who: &SignedIn,
    req: &HttpRequest,
    payload: web::Payload,
    max: u64,
) -> Result<Upload, AppError> {
    let t = who.ctx.t;
    let mb = (max / (1024 * 1024)).to_string();
    let too_large = || AppError::PayloadTooLarge(format!("the file is larger than {mb} MB"));
    let form = match crate::http::read_multipart(req, payload, max, 1, too_large).await {
        Ok(form) => form,
        Err(AppError::PayloadTooLarge(_)) => {
            let why = fill(t.import_too_large, &[("mb", &mb)]);
            return Ok(Upload::Refused(why, StatusCode::PAYLOAD_TOO_LARGE));
        }
        Err(other) => return Err(other),
    };
    who.check_csrf(form.field("csrf").unwrap_or(""))?;
    let skip_invalid = form.field("skip_invalid").is_some();
    let Some((_, filename, data)) = form.files.into_iter().find(|(name, _, _)| name == "file")
    else {
        return Ok(Upload::Refused(
            t.import_choose_file.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    match crate::attachments::filename(filename.as_deref()) {
        Ok(filename) => Ok(Upload::File {
            filename,
            data,
            skip_invalid,
        }),
        Err(e) => Ok(Upload::Refused(
            crate::i18n::field_message(&e, t),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    }
}

async fn import_upload(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Monitor)?;
    let (filename, data, skip_invalid) =
        match read_upload(&who, &req, payload, MAX_ENTRIES_FILE).await? {
            Upload::File {
                filename,
                data,
                skip_invalid,
            } => (filename, data, skip_invalid),
            Upload::Refused(why, status) => {
                let page = import_page(&who, String::new(), Err(why), String::new());
                return super::html(&who.web, status, &page);
            }
        };
    let acting = who.who();
    let owner = who.session.user.id.to_string();
    let name = filename.clone();
    let (result, staged) = db
        .run(move |conn| {
            let result =
                crate::ops::cases::import_entries(conn, &acting, data.as_slice(), skip_invalid);
            // Kept for "import only the valid rows" without sending it again.
            let staged = match &result {
                Ok(r) if !r.written && !r.bad.is_empty() => {
                    crate::staging::stage(conn, &owner, STAGED_PURPOSE, &name, &data)?
                }
                _ => String::new(),
            };
            Ok::<_, AppError>((result, staged))
        })
        .await?;
    let status = match &result {
        Ok(r) if r.written => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = import_page(&who, filename, result, staged);
    super::html(&who.web, status, &page)
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    staged: String,
}

async fn import_valid(
    who: SignedIn,
    db: web::Data<Db>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: ConfirmForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Monitor)?;
    let staged = crate::http::parse_id(&f.staged, "upload")?;
    let acting = who.who();
    let owner = who.session.user.id.to_string();
    let (filename, result) = db
        .run(move |conn| {
            let file = crate::staging::load(conn, &staged, &owner, STAGED_PURPOSE)?;
            let result =
                crate::ops::cases::import_entries(conn, &acting, file.data.as_slice(), true);
            if matches!(&result, Ok(r) if r.written) {
                crate::staging::discard(conn, &staged)?;
            }
            Ok::<_, AppError>((file.filename, result))
        })
        .await?;
    let status = match &result {
        Ok(r) if r.written => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = import_page(&who, filename, result, String::new());
    super::html(&who.web, status, &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/cases", web::post().to(link))
        .route(
            "/incidents/{id}/suggestions/{case_id}/dismiss",
            web::post().to(dismiss),
        )
        .route("/review", web::get().to(review))
        .route("/review/{id}", web::post().to(verdict))
        .route("/reconciliation", web::get().to(reconciliation))
        .route("/cases/import", web::get().to(import_form))
        .route("/cases/import", web::post().to(import_upload))
        .route("/cases/import/valid", web::post().to(import_valid));
}
