//! `/api/v1/stats`: incidents counted by month, year, type, region,
//! province, holder or verification, with the list's filters.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

use crate::api::events::StatsQuery;
use crate::db::Db;
use crate::error::AppError;
use crate::events::stats::{Stats, StatsAnswer};
use crate::http::QueryParams;
use crate::keys::Caller;
use crate::openapi as doc;
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes.add(stats_csv).add(stats);
}

async fn count(db: &Db, q: StatsQuery) -> Result<Stats, AppError> {
    let (filter, keys) = q.into_parts()?;
    db.run(move |conn| crate::events::store::stats(conn, &filter, &keys))
        .await
}

/// Incidents counted by one key (`group_by=month`) or two
/// (`group_by=month,event_type`), with the fatalities and injuries they
/// record: every live incident the list's filters select, each group with
/// its keys then its counts, ordered by the keys (ascending, the incidents
/// without a value last). By `holder`, an incident counts once for each
/// holder of the live concessions it lies in; `total` counts it once.
#[utoipa::path(tag = "events", params(StatsQuery),
    responses((status = 200, description = "The groups and the total", body = StatsAnswer),
        doc::BadRequest, doc::Unauthorized, doc::Unprocessable))]
#[get("/api/v1/stats")]
pub async fn stats(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(count(&db, q).await?.answer()))
}

/// The same figures as CSV: a column per key (and `<key>_name` for
/// region, province and holder), then `count`, `fatalities`, `injuries`;
/// the last line, `total`, counts every incident once.
#[utoipa::path(tag = "events", params(StatsQuery),
    responses((status = 200, description = "The groups as CSV", body = String, content_type = "text/csv"),
        doc::BadRequest, doc::Unauthorized, doc::Unprocessable))]
#[get("/api/v1/stats.csv")]
pub async fn stats_csv(
    _caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    let body = count(&db, q).await?.csv()?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"vigia-figures.csv\"",
        ))
        .body(body))
}
