//! API keys (admins): the list with each key's last use, making one (its
//! token shown once, on the page that answers the form, never in a URL),
//! revoking one.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use super::form::{self, Errors};
use super::{see_other, Ctx, SignedIn};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Label, Texts};
use crate::keys::{ApiKey, Role};
use crate::places::PlaceIndex;

/// Keys listed; an office has tens.
const LISTED: i64 = 1000;

struct Row {
    id: String,
    name: String,
    role: &'static str,
    prefix: String,
    created: String,
    last_used: String,
    state: String,
    live: bool,
    of_person: bool,
    confirm: String,
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<Row>,
    roles: Vec<(&'static str, &'static str)>,
    notice: String,
    /// The token just made: shown this once.
    token: String,
    errors: Errors,
    name: String,
    role: String,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn rows(keys: Vec<ApiKey>, t: &Texts) -> Vec<Row> {
    keys.into_iter()
        .map(|k| Row {
            id: k.id.to_string(),
            role: k.role.label(t),
            prefix: k.token_prefix.clone(),
            created: when(k.created_at),
            last_used: k
                .last_used_at
                .map(when)
                .unwrap_or_else(|| t.key_never_used.to_string()),
            state: match k.revoked_at {
                Some(at) => fill(t.key_revoked, &[("date", &when(at))]),
                None => t.key_active.to_string(),
            },
            live: k.revoked_at.is_none(),
            of_person: k.user_id.is_some(),
            confirm: fill(t.key_revoke_confirm, &[("name", &k.name)]),
            name: k.name,
        })
        .collect()
}

async fn page(
    who: &SignedIn,
    db: &Db,
    status: StatusCode,
    notice: String,
    token: String,
    errors: Errors,
    typed: (String, String),
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let mut keys = db.run(|conn| crate::keys::list(conn, None, LISTED)).await?;
    // Live keys first, newest first.
    keys.sort_by(|a, b| {
        (a.revoked_at.is_some(), std::cmp::Reverse(a.created_at))
            .cmp(&(b.revoked_at.is_some(), std::cmp::Reverse(b.created_at)))
    });
    let t = who.ctx.t;
    super::html(
        &who.web,
        status,
        &KeysPage {
            t,
            rows: rows(keys, t),
            roles: [Role::Researcher, Role::Monitor, Role::Admin]
                .into_iter()
                .map(|r| (r.as_str(), r.label(t)))
                .collect(),
            notice,
            token,
            errors,
            name: typed.0,
            role: typed.1,
            ctx: who.ctx.clone(),
        },
    )
}

#[derive(Deserialize)]
struct Notice {
    revoked: Option<String>,
}

async fn list(
    who: SignedIn,
    db: web::Data<Db>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let notice = q
        .revoked
        .as_deref()
        .map(|name| fill(t.key_revoked_notice, &[("name", name)]))
        .unwrap_or_default();
    let typed = (String::new(), "researcher".to_string());
    page(
        &who,
        &db,
        StatusCode::OK,
        notice,
        String::new(),
        Errors::default(),
        typed,
    )
    .await
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    name: String,
    role: String,
}

async fn create(who: SignedIn, db: web::Data<Db>, body: Bytes) -> Result<HttpResponse, AppError> {
    let f: CreateForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let role = Role::parse(&f.role)
        .ok_or_else(|| AppError::BadRequest(format!("unknown role {:?}", f.role)))?;
    let acting = who.who();
    let name = f.name.trim().to_string();
    let wanted = name.clone();
    let made = db
        .run(move |conn| crate::ops::keys::create(conn, &acting, &wanted, role, None))
        .await;
    let typed = (f.name.clone(), f.role.clone());
    match made {
        Ok(created) => {
            let notice = fill(t.key_created_notice, &[("name", &created.key.name)]);
            let typed = (String::new(), "researcher".to_string());
            page(
                &who,
                &db,
                StatusCode::CREATED,
                notice,
                created.token,
                Errors::default(),
                typed,
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            let errors = Errors::new(&errors, t);
            page(
                &who,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                String::new(),
                errors,
                typed,
            )
            .await
        }
        Err(AppError::Conflict(why)) => {
            let errors = Errors::one("name", &why);
            page(
                &who,
                &db,
                StatusCode::CONFLICT,
                String::new(),
                String::new(),
                errors,
                typed,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn revoke(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    cache: web::Data<crate::keys::KeyCache>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "key")?;
    let acting = who.who();
    let key = db
        .run(move |conn| crate::ops::keys::revoke(conn, &index, &acting, &id))
        .await?;
    // It stops working here at once; other processes stop within
    // `auth.key_cache_seconds`.
    cache.forget(key.id);
    let name = serde_html_form::to_string([("revoked", key.name.as_str())]).unwrap_or_default();
    Ok(see_other(&format!("/keys?{name}")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys", web::post().to(create))
        .route("/keys/{id}/revoke", web::post().to(revoke));
}
