//! `GET /api/v1/audit`: the trail, newest first (admin).

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::{AuditFilter, AuditRecord, Entity};
use crate::db::Db;
use crate::error::AppError;
use crate::http::QueryParams;
use crate::keys::{Caller, Role};
use crate::openapi as doc;
use crate::pagination::{self, Page};
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes.add(list_audit);
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `event` or `api_key`.
    entity: Option<String>,
    /// Id of one record of that entity.
    entity_id: Option<String>,
    /// Only changes made with this API key.
    key_id: Option<String>,
    /// Changes at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Changes at or before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
    cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The audit trail, newest first (admin).
#[utoipa::path(tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of audit records", body = Page<AuditRecord>),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden))]
#[get("/api/v1/audit")]
pub async fn list_audit(
    caller: Caller,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    // An entity that Vigía never records matches nothing.
    let entity = q.entity.as_deref().map(Entity::parse);
    let filter = AuditFilter {
        entities: entity.flatten().into_iter().collect(),
        entity_id: q.entity_id,
        key_id: q.key_id,
        key_name: None,
        action: None,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
        oldest_first: false,
        after_id: q.cursor.as_deref().map(pagination::decode).transpose()?,
        limit: pagination::limit(q.limit)?,
    };
    let limit = filter.limit;
    let rows = match entity {
        Some(None) => Vec::new(),
        _ => {
            db.run(move |conn| crate::audit::list(conn, &filter))
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r: &AuditRecord| r.id)))
}
