//! People (admins): the accounts, invitations, roles, disabling.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use super::form::{self, Errors};
use super::{see_other, Ctx, SignedIn};
use crate::accounts::{NewUser, User};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Label, Language, Texts};
use crate::keys::Role;
use crate::ops::accounts;
use crate::places::PlaceIndex;

/// One account as the list shows it.
struct Row {
    id: String,
    name: String,
    email: String,
    role: Role,
    status: &'static str,
    disabled: bool,
    own: bool,
    last_sign_in: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<Row>,
    roles: Vec<(&'static str, &'static str)>,
    notice: String,
    errors: Errors,
    email: String,
    display_name: String,
    role: String,
    language: String,
}

#[derive(Deserialize)]
struct Notice {
    invited: Option<String>,
    saved: Option<String>,
}

fn rows(users: Vec<User>, who: &SignedIn, t: &Texts) -> Vec<Row> {
    users
        .into_iter()
        .map(|u| Row {
            own: u.id == who.session.user.id,
            id: u.id.to_string(),
            status: match (u.disabled_at.is_some(), u.has_password) {
                (true, _) => t.user_disabled,
                (false, true) => t.user_active,
                (false, false) => t.user_pending,
            },
            disabled: u.disabled_at.is_some(),
            last_sign_in: u
                .last_sign_in_at
                .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| t.user_never_signed_in.to_string()),
            name: u.display_name,
            email: u.email,
            role: u.role,
        })
        .collect()
}

fn roles(t: &Texts) -> Vec<(&'static str, &'static str)> {
    [Role::Researcher, Role::Monitor, Role::Admin]
        .into_iter()
        .map(|r| (r.as_str(), r.label(t)))
        .collect()
}

async fn page(
    who: &SignedIn,
    db: &Db,
    status: StatusCode,
    notice: String,
    errors: Errors,
    typed: (String, String, String, String),
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let users = db.run(crate::accounts::store::list).await?;
    let t = who.ctx.t;
    super::html(
        &who.web,
        status,
        &UsersPage {
            t,
            rows: rows(users, who, t),
            roles: roles(t),
            notice,
            errors,
            email: typed.0,
            display_name: typed.1,
            role: typed.2,
            language: typed.3,
            ctx: who.ctx.clone(),
        },
    )
}

async fn list(
    who: SignedIn,
    db: web::Data<Db>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let notice = match (&q.invited, &q.saved) {
        (Some(email), _) => fill(t.invited, &[("email", email)]),
        (None, Some(name)) => fill(t.user_saved, &[("name", name)]),
        _ => String::new(),
    };
    let lang = who.ctx.lang.as_str().to_string();
    page(
        &who,
        &db,
        StatusCode::OK,
        notice,
        Errors::default(),
        (String::new(), String::new(), "monitor".into(), lang),
    )
    .await
}

#[derive(Deserialize)]
struct InviteForm {
    csrf: String,
    email: String,
    display_name: String,
    role: String,
    language: String,
}

async fn invite(who: SignedIn, db: web::Data<Db>, body: Bytes) -> Result<HttpResponse, AppError> {
    let f: InviteForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let input = NewUser {
        email: f.email.clone(),
        display_name: Some(f.display_name.clone()),
        role: Role::parse(&f.role).unwrap_or(Role::Researcher),
        language: Language::parse(&f.language).unwrap_or(Language::Es),
    };
    let (acting, links) = (who.who(), who.web.links.clone());
    let result = db
        .run(move |conn| accounts::invite(conn, &acting, &input, &links))
        .await;
    let typed = (f.email, f.display_name, f.role, f.language);
    match result {
        Ok(user) => Ok(see_other(&format!(
            "/users?invited={}",
            super::encode(&user.email)
        ))),
        Err(AppError::Validation(errors)) => {
            let errors = Errors::new(&errors, t);
            page(
                &who,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                errors,
                typed,
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            let field = if message.contains("display name") {
                "display_name"
            } else {
                "email"
            };
            let errors = Errors::one(field, t.err_taken);
            page(
                &who,
                &db,
                StatusCode::CONFLICT,
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
struct UpdateForm {
    csrf: String,
    role: String,
    /// Present (`1`) to disable, absent to enable.
    disabled: Option<String>,
}

async fn update(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    cache: web::Data<crate::keys::KeyCache>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: UpdateForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let role = Role::parse(&f.role)
        .ok_or_else(|| AppError::BadRequest(format!("no role {:?}", f.role)))?;
    let acting = who.who();
    let id = crate::http::parse_id(&id, "account")?;
    let lookup = id.clone();
    let live_keys = db
        .run(move |conn| crate::keys::live_keys_of(conn, &lookup))
        .await?;
    let user = db
        .run(move |conn| accounts::update(conn, &index, &acting, &id, role, f.disabled.is_some()))
        .await?;
    if user.disabled_at.is_some() {
        // Revoked with the person: not trusted from this process's cache
        // either (other processes stop within `auth.key_cache_seconds`).
        for key in live_keys {
            if let Ok(id) = uuid::Uuid::parse_str(&key) {
                cache.forget(id);
            }
        }
    }
    Ok(see_other(&format!(
        "/users?saved={}",
        super::encode(&user.display_name)
    )))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(invite))
        .route("/users/{id}", web::post().to(update));
}
