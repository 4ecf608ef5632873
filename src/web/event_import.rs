//! The admins' incidents import (issue 15): a CSV or XLSX file (Vigía's
//! own export or ACLED's) uploaded, checked whole, imported if every row is
//! good (or with "skip bad rows"); otherwise its bad rows are shown with
//! line, column and reason in the page's language, and the file is kept
//! (`staging`) so that its valid rows can be imported without sending it
//! again. The import itself is `ops::event_import`, as for the command line.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::analysis::{read_upload, Upload};
use super::{form, Ctx, SignedIn};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::Texts;
use crate::keys::Role;
use crate::ops::event_import::{import_events, EventImportReport};
use crate::places::PlaceIndex;

/// The largest file the page takes (100,000 incidents are ~40 MB of CSV).
const MAX_FILE: u64 = 64 * 1024 * 1024;
const STAGED_PURPOSE: &str = "events";

struct BadLine {
    line: u64,
    field: String,
    reason: String,
}

struct Summary {
    written: bool,
    format: &'static str,
    read: usize,
    valid: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    actors_added: usize,
    alerts: usize,
}

#[derive(Template)]
#[template(path = "event_import.html")]
struct ImportPage {
    ctx: Ctx,
    t: &'static Texts,
    error: String,
    filename: String,
    report: Option<Summary>,
    bad: Vec<BadLine>,
    /// The staged file, when its valid rows can be imported alone.
    staged: String,
    /// Where the offer to import only the valid rows posts.
    valid_action: &'static str,
    max_mb: u64,
}

fn page(
    who: &SignedIn,
    filename: String,
    result: Result<EventImportReport, String>,
    staged: String,
) -> ImportPage {
    let t = who.ctx.t;
    let mut page = ImportPage {
        ctx: who.ctx.clone(),
        t,
        error: String::new(),
        filename,
        report: None,
        bad: Vec::new(),
        staged: String::new(),
        valid_action: "/incidents/import/valid",
        max_mb: MAX_FILE / (1024 * 1024),
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
            if !r.written && !r.bad.is_empty() && valid > 0 {
                page.staged = staged;
            }
            page.report = Some(Summary {
                written: r.written,
                format: match r.format {
                    crate::events::import::Format::Vigia => "Vigía",
                    crate::events::import::Format::Acled => "ACLED",
                },
                read: r.read,
                valid,
                created: r.created,
                updated: r.updated,
                unchanged: r.unchanged,
                actors_added: r.actors_added,
                alerts: r.alerts,
            });
        }
    }
    page
}

fn status_of(result: &Result<EventImportReport, String>) -> StatusCode {
    match result {
        Ok(r) if r.written => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn import_form(who: SignedIn) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let page = page(&who, String::new(), Err(String::new()), String::new());
    super::ok(&who.web, &page)
}

async fn upload(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let (filename, data, skip_invalid) = match read_upload(&who, &req, payload, MAX_FILE).await? {
        Upload::File {
            filename,
            data,
            skip_invalid,
        } => (filename, data, skip_invalid),
        Upload::Refused(why, status) => {
            let page = page(&who, String::new(), Err(why), String::new());
            return super::html(&who.web, status, &page);
        }
    };
    let acting = who.who();
    let owner = who.session.user.id.to_string();
    let name = filename.clone();
    let (result, staged) = db
        .run(move |conn| {
            let result = import_events(conn, &index, &acting, &data, skip_invalid);
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
    let status = status_of(&result);
    super::html(&who.web, status, &page(&who, filename, result, staged))
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    staged: String,
}

async fn import_valid(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: ConfirmForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Admin)?;
    let staged = crate::http::parse_id(&f.staged, "upload")?;
    let acting = who.who();
    let owner = who.session.user.id.to_string();
    let (filename, result) = db
        .run(move |conn| {
            let file = crate::staging::load(conn, &staged, &owner, STAGED_PURPOSE)?;
            let result = import_events(conn, &index, &acting, &file.data, true);
            if matches!(&result, Ok(r) if r.written) {
                crate::staging::discard(conn, &staged)?;
            }
            Ok::<_, AppError>((file.filename, result))
        })
        .await?;
    let status = status_of(&result);
    super::html(
        &who.web,
        status,
        &page(&who, filename, result, String::new()),
    )
}

/// Before `incidents`: `/incidents/import` is not an incident id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/import", web::get().to(import_form))
        .route("/incidents/import", web::post().to(upload))
        .route("/incidents/import/valid", web::post().to(import_valid));
}
