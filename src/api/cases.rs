//! `/api/v1/cases`, `/api/v1/report-entries`, the incident–case links,
//! suggestions, the reconciliation and the CSV exports.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::api::events::{list_page, EventListQuery};
use crate::cases::store::{self, CaseFilter};
use crate::cases::suggest::{Reconciliation, Suggestions};
use crate::cases::{Case, CaseInput, CasePatch, CaseStatus, Entry, EntryInput, EntryPatch};
use crate::db::Db;
use crate::error::AppError;
use crate::events::Event;
use crate::http::{etag, parse_id, IfMatch, JsonBody, QueryParams};
use crate::keys::{Caller, Role};
use crate::openapi as doc;
use crate::ops::{self, Who};
use crate::pagination::{self, Page};
use crate::routing::Routes;

/// The case and report-entry routes, in matching order: the exports go
/// before `{id}`, which would otherwise take their names.
pub fn configure(routes: &mut Routes) {
    routes
        .add(export_cases)
        .add(export_entries)
        .add(list_cases)
        .add(create_case)
        .add(get_case)
        .add(patch_case)
        .add(delete_case)
        .add(restore_case)
        .add(create_entry)
        .add(case_events)
        .add(get_entry)
        .add(patch_entry)
        .add(delete_entry)
        .add(link_case)
        .add(unlink_case)
        .add(case_suggestions)
        .add(dismiss_suggestion)
        .add(reconciliation);
}

fn case_with_etag(mut response: actix_web::HttpResponseBuilder, case: &Case) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(case.version)))
        .json(case)
}

fn entry_with_etag(mut response: actix_web::HttpResponseBuilder, entry: &Entry) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(entry.version)))
        .json(entry)
}

/// Add a case (monitor, admin).
#[utoipa::path(tag = "cases", request_body = CaseInput,
    responses((status = 201, description = "Added", body = Case, headers(("Location" = String), ("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::Conflict, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/cases")]
pub async fn create_case(
    caller: Caller,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<CaseInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let case = db
        .run(move |conn| ops::cases::create(conn, &who, input))
        .await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/v1/cases/{}", case.id)));
    Ok(case_with_etag(response, &case))
}

/// Read one case with its timeline (`entries`, by report number).
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The case", body = Case, headers(("ETag" = String))),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/cases/{id}")]
pub async fn get_case(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "case")?;
    let case = db
        .run(move |conn| store::load_with_entries(conn, &id))
        .await?;
    Ok(case_with_etag(HttpResponse::Ok(), &case))
}

/// Change a case with a JSON Merge Patch (monitor, admin).
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Case id"),
        ("If-Match" = String, Header, description = "ETag of the version you edit (required; `*` overwrites whatever is current)")),
    request_body(content = CasePatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed case", body = Case, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PreconditionFailed, doc::PreconditionRequired,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[patch("/api/v1/cases/{id}")]
pub async fn patch_case(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "case")?;
    let if_match = IfMatch::from_request(&req);
    let case = db
        .run(move |conn| ops::cases::update(conn, &who, &id, &if_match, patch))
        .await?;
    Ok(case_with_etag(HttpResponse::Ok(), &case))
}

/// Delete a case (monitor, admin); its history stays.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Case id"),
        ("If-Match" = String, Header, description = "ETag of the version you delete (required; `*` deletes whatever is current)")),
    responses((status = 204, description = "Deleted"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired))]
#[delete("/api/v1/cases/{id}")]
pub async fn delete_case(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "case")?;
    let if_match = IfMatch::from_request(&req);
    db.run(move |conn| ops::cases::delete(conn, &who, &id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Bring a deleted case back with its entries (admin).
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The restored case", body = Case, headers(("ETag" = String))),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict))]
#[post("/api/v1/cases/{id}/restore")]
pub async fn restore_case(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "case")?;
    let case = db
        .run(move |conn| ops::cases::restore(conn, &who, &id))
        .await?;
    Ok(case_with_etag(HttpResponse::Ok(), &case))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseListQuery {
    /// Words of the name (case- and accent-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// The state in the case's latest report.
    status: Option<CaseStatus>,
    /// Region name, case- and accent-insensitive (`apurimac` = `Apurímac`).
    region: Option<String>,
    /// Ubigeo prefix: `03` (region), `0304` (province) or `030410` (district).
    #[param(pattern = "^[0-9]{1,6}$")]
    ubigeo: Option<String>,
    /// Only cases listed in this report.
    #[param(minimum = 1, maximum = 10000)]
    report_number: Option<i32>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

impl CaseListQuery {
    /// The store's filter; 400 for an ubigeo or report number out of bounds.
    /// The cases page reads the same query.
    pub fn into_filter(self) -> Result<CaseFilter, AppError> {
        let q = self;
        if let Some(prefix) = &q.ubigeo {
            if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(AppError::BadRequest("ubigeo must be 1 to 6 digits".into()));
            }
        }
        if let Some(n) = q.report_number {
            if !(1..=10000).contains(&n) {
                return Err(AppError::BadRequest(
                    "report_number must be between 1 and 10000".into(),
                ));
            }
        }
        if q.q.as_deref().is_some_and(|t| t.chars().count() > 200) {
            return Err(AppError::BadRequest(
                "q must be at most 200 characters".into(),
            ));
        }
        Ok(CaseFilter {
            words: q
                .q
                .as_deref()
                .map(crate::text::fold)
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
            status: q.status,
            region: q.region.filter(|r| !r.trim().is_empty()),
            ubigeo_prefix: q.ubigeo,
            report_number: q.report_number,
            after: q.cursor.as_deref().map(pagination::decode).transpose()?,
            limit: pagination::limit(q.limit)?,
        })
    }
}

/// Find cases, by name.
#[utoipa::path(tag = "cases", params(CaseListQuery),
    responses((status = 200, description = "A page of cases, by name", body = Page<Case>),
        doc::BadRequest, doc::Unauthorized))]
#[get("/api/v1/cases")]
pub async fn list_cases(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<CaseListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = q.into_filter()?;
    let limit = filter.limit;
    let rows = db.run(move |conn| store::list(conn, &filter)).await?;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, limit, |c: &Case| {
            (c.name.clone(), c.id.to_string())
        })),
    )
}

/// Add a case's entry in one report (monitor, admin).
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = EntryInput,
    responses((status = 201, description = "Added", body = Entry, headers(("Location" = String), ("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/cases/{id}/entries")]
pub async fn create_entry(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    JsonBody(input): JsonBody<EntryInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "case")?;
    let entry = db
        .run(move |conn| ops::cases::create_entry(conn, &who, &id, input))
        .await?;
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        format!("/api/v1/report-entries/{}", entry.id),
    ));
    Ok(entry_with_etag(response, &entry))
}

/// Read one report entry.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "The entry", body = Entry, headers(("ETag" = String))),
        doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/report-entries/{id}")]
pub async fn get_entry(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "report entry")?;
    let entry = db.run(move |conn| store::load_entry(conn, &id)).await?;
    Ok(entry_with_etag(HttpResponse::Ok(), &entry))
}

/// Change a report entry with a JSON Merge Patch (monitor, admin).
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Entry id"),
        ("If-Match" = String, Header, description = "ETag of the version you edit (required; `*` overwrites whatever is current)")),
    request_body(content = EntryPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "The changed entry", body = Entry, headers(("ETag" = String))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict, doc::PreconditionFailed, doc::PreconditionRequired,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[patch("/api/v1/report-entries/{id}")]
pub async fn patch_entry(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "report entry")?;
    let if_match = IfMatch::from_request(&req);
    let entry = db
        .run(move |conn| ops::cases::update_entry(conn, &who, &id, &if_match, patch))
        .await?;
    Ok(entry_with_etag(HttpResponse::Ok(), &entry))
}

/// Delete a report entry (monitor, admin); its history stays.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Entry id"),
        ("If-Match" = String, Header, description = "ETag of the version you delete (required; `*` deletes whatever is current)")),
    responses((status = 204, description = "Deleted"),
        doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PreconditionFailed, doc::PreconditionRequired))]
#[delete("/api/v1/report-entries/{id}")]
pub async fn delete_entry(
    caller: Caller,
    db: web::Data<Db>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "report entry")?;
    let if_match = IfMatch::from_request(&req);
    db.run(move |conn| ops::cases::delete_entry(conn, &who, &id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The incidents linked to a case, newest first.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Case id"), EventListQuery),
    responses((status = 200, description = "A page of incidents", body = Page<Event>),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/cases/{id}/events")]
pub async fn case_events(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "case")?;
    let mut filter = q.into_filter()?;
    filter.case = Some(id.clone());
    db.run(move |conn| store::load(conn, &id).map(|_| ()))
        .await?;
    list_page(&db, filter).await
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseLinkInput {
    case_id: Uuid,
    /// Why the incident belongs to the case; up to 2,000 characters.
    #[validate(length(max = 2000), custom(function = "crate::rules::text_block"))]
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// Link an incident to a case (monitor, admin); linking again replaces the note.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Incident id")),
    request_body = CaseLinkInput,
    responses((status = 200, description = "The incident with its cases", body = Event),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/events/{id}/cases")]
pub async fn link_case(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<CaseLinkInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    who.require(Role::Monitor)?;
    crate::rules::check(&body)?;
    let id = parse_id(&id, "event")?;
    let case_id = body.case_id.to_string();
    let event = db
        .run(move |conn| ops::cases::link(conn, &who, &id, &case_id, body.note.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Unlink an incident from a case (monitor, admin).
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Incident id"), ("case_id" = String, Path, description = "Case id")),
    responses((status = 204, description = "Unlinked"), doc::Unauthorized, doc::Forbidden, doc::NotFound))]
#[delete("/api/v1/events/{id}/cases/{case_id}")]
pub async fn unlink_case(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let (event_id, case_id) = path.into_inner();
    let event_id = parse_id(&event_id, "event")?;
    let case_id = parse_id(&case_id, "case")?;
    db.run(move |conn| ops::cases::unlink(conn, &who, &event_id, &case_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// How many, 1–50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<i64>,
}

/// The cases an incident may belong to, best first, each with its score and
/// reasons: same place, a company among the incident's actors, an entry of
/// the case within three months, words of the case's name. Cases the
/// incident is linked to, or that were dismissed for it, are left out.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Incident id"), SuggestionQuery),
    responses((status = 200, description = "Ranked cases", body = Suggestions),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/events/{id}/case-suggestions")]
pub async fn case_suggestions(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<SuggestionQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "event")?;
    let limit = match q.limit {
        None => 10,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(n) => {
            return Err(AppError::BadRequest(format!(
                "limit must be between 1 and 50, got {n}"
            )))
        }
    };
    let items = db
        .run(move |conn| ops::cases::suggestions(conn, &id, limit))
        .await?;
    Ok(HttpResponse::Ok().json(Suggestions { items }))
}

/// Say an incident does not belong to a suggested case (monitor, admin): the
/// case is not suggested for that incident again. Dismissing twice is the
/// same as once.
#[utoipa::path(tag = "cases",
    params(("id" = String, Path, description = "Incident id"), ("case_id" = String, Path, description = "Case id")),
    responses((status = 204, description = "Dismissed"), doc::Unauthorized, doc::Forbidden, doc::NotFound))]
#[post("/api/v1/events/{id}/case-suggestions/{case_id}/dismiss")]
pub async fn dismiss_suggestion(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let (event_id, case_id) = path.into_inner();
    let event_id = parse_id(&event_id, "event")?;
    let case_id = parse_id(&case_id, "case")?;
    db.run(move |conn| ops::cases::dismiss(conn, &who, &event_id, &case_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationQuery {
    /// The report (give this or `month`).
    #[param(minimum = 1, maximum = 10000)]
    report_number: Option<i32>,
    /// The report's month as YYYY-MM (give this or `report_number`).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$", example = "2022-06")]
    month: Option<String>,
}

/// A report against the incidents: its cases with no linked incident in the
/// month ±1, and the incidents of the month ±1 in a concession or with a
/// company actor that are linked to no case.
#[utoipa::path(tag = "cases", params(ReconciliationQuery),
    responses((status = 200, description = "The reconciliation", body = Reconciliation),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/reconciliation")]
pub async fn reconciliation(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ReconciliationQuery>,
) -> Result<HttpResponse, AppError> {
    let from_month = q
        .month
        .as_deref()
        .map(|m| {
            crate::cases::report_number_of(m).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "month {m:?} is not a report month as YYYY-MM (the first report is 2004-03)"
                ))
            })
        })
        .transpose()?;
    let number = match (q.report_number, from_month) {
        (Some(n), Some(m)) if n != m => {
            return Err(AppError::BadRequest(format!(
                "report {n} is not the report of that month ({m})"
            )))
        }
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => return Err(AppError::BadRequest("give report_number or month".into())),
    };
    if !(1..=10000).contains(&number) {
        return Err(AppError::BadRequest(
            "report_number must be between 1 and 10000".into(),
        ));
    }
    let result = db
        .run(move |conn| ops::cases::reconcile(conn, number))
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

fn csv_response(body: Vec<u8>, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// Every live case with its latest state, as CSV.
#[utoipa::path(tag = "cases",
    responses((status = 200, description = "Cases as CSV", body = String, content_type = "text/csv"),
        doc::Unauthorized))]
#[get("/api/v1/cases/export.csv")]
pub async fn export_cases(_caller: Caller, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let body = db.run(crate::cases::import::export_cases).await?;
    Ok(csv_response(body, "cases.csv"))
}

/// Every live report entry, in the columns of `vigia import report-entries`
/// (an export imports back to the same data).
#[utoipa::path(tag = "cases",
    responses((status = 200, description = "Entries as CSV", body = String, content_type = "text/csv"),
        doc::Unauthorized))]
#[get("/api/v1/report-entries/export.csv")]
pub async fn export_entries(_caller: Caller, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let body = db.run(crate::cases::import::export_entries).await?;
    Ok(csv_response(body, "report-entries.csv"))
}
