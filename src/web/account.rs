//! Signing in and out, passwords, one's own account, the language switch.

use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::{self, Errors};
use super::session::{client_of, removal_cookie, session_cookie, LANGUAGE_COOKIE};
use super::{see_other, Ctx, SignedIn, Visitor};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Label, Language, Texts};
use crate::ops::accounts::{self, SignIn};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    ctx: Ctx,
    t: &'static Texts,
    email: String,
    next: String,
    message: String,
    notice: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    sent: Option<String>,
}

async fn sign_in_page(
    visitor: Visitor,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = super::local_path(q.next.as_deref().unwrap_or("/")).to_string();
    if visitor.session.is_some() {
        return Ok(see_other(&next));
    }
    let t = visitor.ctx.t;
    let notice = if q.sent.is_some() {
        t.forgot_sent.to_string()
    } else {
        String::new()
    };
    super::ok(
        &visitor.web,
        &SignInPage {
            t,
            ctx: visitor.ctx,
            email: String::new(),
            next,
            message: String::new(),
            notice,
        },
    )
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn sign_in(
    visitor: Visitor,
    req: HttpRequest,
    db: web::Data<Db>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: SignInForm = form::parse(&body)?;
    let next = super::local_path(f.next.as_deref().unwrap_or("/")).to_string();
    let client = client_of(&req);
    let (email, password) = (f.email.clone(), f.password);
    let outcome = db
        .run(move |conn| accounts::sign_in(conn, &email, &password, &client))
        .await?;
    let t = visitor.ctx.t;
    let refused = |status: StatusCode, message: String| {
        super::html(
            &visitor.web,
            status,
            &SignInPage {
                t,
                ctx: visitor.ctx.clone(),
                email: f.email.chars().take(254).collect(),
                next: next.clone(),
                message,
                notice: String::new(),
            },
        )
    };
    match outcome {
        // The pages keep the browser's language (or the switch's); the
        // account's language is for its mails.
        SignIn::Welcome { cookie, .. } => {
            let mut res = see_other(&next);
            res.add_cookie(&session_cookie(&visitor.web, &cookie))
                .map_err(|e| AppError::internal_from("setting the session cookie", e))?;
            Ok(res)
        }
        SignIn::Refused => refused(StatusCode::UNAUTHORIZED, t.sign_in_failed.to_string()),
        SignIn::Locked { retry_after } => {
            let minutes = ((retry_after + 59) / 60).to_string();
            let mut res = refused(
                StatusCode::TOO_MANY_REQUESTS,
                fill(t.sign_in_locked, &[("minutes", &minutes)]),
            )?;
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after.max(1)),
            );
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    visitor: Visitor,
    db: web::Data<Db>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    if let Some(session) = visitor.session {
        if !crate::accounts::same_secret(&f.csrf, &session.csrf_token) {
            return Err(AppError::Forbidden(
                "this form did not come from your session".into(),
            ));
        }
        db.run(move |conn| accounts::sign_out(conn, &session))
            .await?;
    }
    let mut res = see_other("/");
    res.add_cookie(&removal_cookie(&visitor.web))
        .map_err(|e| AppError::internal_from("removing the session cookie", e))?;
    Ok(res)
}

async fn sign_out_everywhere(
    who: SignedIn,
    db: web::Data<Db>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let user = who.session.user.clone();
    db.run(move |conn| accounts::sign_out_everywhere(conn, &user))
        .await?;
    let mut res = see_other("/");
    res.add_cookie(&removal_cookie(&who.web))
        .map_err(|e| AppError::internal_from("removing the session cookie", e))?;
    Ok(res)
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    ctx: Ctx,
    t: &'static Texts,
}

async fn forgot_page(visitor: Visitor) -> Result<HttpResponse, AppError> {
    super::ok(
        &visitor.web,
        &ForgotPage {
            t: visitor.ctx.t,
            ctx: visitor.ctx,
        },
    )
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

/// Answers the same whether or not the address has an account.
async fn forgot(
    visitor: Visitor,
    db: web::Data<Db>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: ForgotForm = form::parse(&body)?;
    let links = visitor.web.links.clone();
    db.run(move |conn| accounts::forgot(conn, &f.email, &links))
        .await?;
    Ok(see_other("/sign-in?sent=1"))
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    ctx: Ctx,
    t: &'static Texts,
    token: String,
    greeting: String,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "link_invalid.html")]
struct LinkInvalidPage {
    ctx: Ctx,
    t: &'static Texts,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn set_password_page(
    visitor: Visitor,
    db: web::Data<Db>,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = q.token.clone().unwrap_or_default();
    let lookup = token.clone();
    let owner = db
        .run(move |conn| accounts::link_owner(conn, &lookup))
        .await?;
    let t = visitor.ctx.t;
    match owner {
        Some(user) => super::ok(
            &visitor.web,
            &SetPasswordPage {
                t,
                greeting: fill(t.set_password_intro, &[("name", &user.display_name)]),
                ctx: visitor.ctx,
                token,
                errors: Errors::default(),
            },
        ),
        None => super::html(
            &visitor.web,
            StatusCode::NOT_FOUND,
            &LinkInvalidPage {
                t,
                ctx: visitor.ctx,
            },
        ),
    }
}

#[derive(Deserialize)]
struct SetPasswordForm {
    token: String,
    password: String,
    password_again: String,
}

async fn set_password(
    visitor: Visitor,
    db: web::Data<Db>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: SetPasswordForm = form::parse(&body)?;
    let token = f.token.clone();
    let result = db
        .run(move |conn| {
            let owner = accounts::link_owner(conn, &f.token)?;
            let done = accounts::set_password(conn, &f.token, &f.password, &f.password_again);
            Ok::<_, AppError>((owner, done))
        })
        .await?;
    let t = visitor.ctx.t;
    match result {
        (_, Ok((_, cookie))) => {
            let mut res = see_other("/");
            res.add_cookie(&session_cookie(&visitor.web, &cookie))
                .map_err(|e| AppError::internal_from("setting the session cookie", e))?;
            Ok(res)
        }
        (Some(user), Err(AppError::Validation(errors))) => super::html(
            &visitor.web,
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetPasswordPage {
                t,
                greeting: fill(t.set_password_intro, &[("name", &user.display_name)]),
                ctx: visitor.ctx,
                token,
                errors: Errors::new(&errors, t),
            },
        ),
        (_, Err(AppError::NotFound(_))) | (None, _) => super::html(
            &visitor.web,
            StatusCode::NOT_FOUND,
            &LinkInvalidPage {
                t,
                ctx: visitor.ctx,
            },
        ),
        (_, Err(other)) => Err(other),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: Ctx,
    t: &'static Texts,
    name: String,
    email: String,
    role: &'static str,
    sessions: i64,
}

async fn account_page(who: SignedIn, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let id = who.session.user.id.to_string();
    let sessions = db
        .run(move |conn| crate::accounts::store::sessions_of(conn, &id))
        .await?;
    let user = &who.session.user;
    let t = who.ctx.t;
    super::ok(
        &who.web,
        &AccountPage {
            t,
            name: user.display_name.clone(),
            email: user.email.clone(),
            role: user.role.label(t),
            sessions,
            ctx: who.ctx.clone(),
        },
    )
}

#[derive(Deserialize)]
struct LanguageQuery {
    to: String,
    back: Option<String>,
}

fn language_cookie(lang: Language) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(LANGUAGE_COOKIE, lang.as_str())
        .path("/")
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The language switch: remembered in a cookie, then back to the page.
/// (A link, so it works without a form; it changes nothing on the server.)
async fn switch_language(q: web::Query<LanguageQuery>) -> Result<HttpResponse, AppError> {
    let lang = Language::parse(&q.to)
        .ok_or_else(|| AppError::BadRequest(format!("no language {:?} (es, en)", q.to)))?;
    let mut res = see_other(q.back.as_deref().unwrap_or("/"));
    res.add_cookie(&language_cookie(lang))
        .map_err(|e| AppError::internal_from("setting the language cookie", e))?;
    Ok(res)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(sign_in_page))
        .route("/sign-in", web::post().to(sign_in))
        .route("/sign-out", web::post().to(sign_out))
        .route("/sign-out-everywhere", web::post().to(sign_out_everywhere))
        .route("/password/forgot", web::get().to(forgot_page))
        .route("/password/forgot", web::post().to(forgot))
        .route("/password/set", web::get().to(set_password_page))
        .route("/password/set", web::post().to(set_password))
        .route("/account", web::get().to(account_page))
        .route("/language", web::get().to(switch_language));
}
