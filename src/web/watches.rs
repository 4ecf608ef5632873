//! "Mis alertas": a person's watches (admins: everyone's, as the API's
//! scope says), a form for a new one or an edit with a preview of what it
//! would have caught, resending the confirmation, and deleting with a
//! confirmation page. Everything goes through `ops::alerts`, as the JSON
//! API does; the form works without its script (a concession by code, a
//! holder by name, an area as GeoJSON text or a file, a ubigeo typed).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::{self, Errors};
use super::{see_other, Ctx, SignedIn};
use crate::alerts::mail::Links;
use crate::alerts::{Frequency, Language, MinVerification, TargetInput, WatchInput, WatchStatus};
use crate::api::alerts::WatchContext;
use crate::db::Db;
use crate::error::{AppError, FieldError};
use crate::events::EventType;
use crate::i18n::{date_text, fill, Label, Texts};
use crate::keys::Role;
use crate::ops::alerts::{self as ops, Preview, TargetWords, WatchView};
use crate::places::geometry::USER_LIMITS;

/// Watches a page lists; a person has a handful, an office tens.
const LISTED: i64 = 200;
/// An uploaded area file, at most: a drawn area within the limits of
/// `USER_LIMITS` (10,000 positions) is far smaller.
pub const MAX_AREA_FILE_BYTES: u64 = 512 * 1024;
/// What the multipart reader accepts before the form's own check, so that
/// a file somewhat too large is refused next to its field with what was
/// typed kept, and a huge one is cut off early (413).
const MAX_UPLOAD_READ: u64 = 4 * 1024 * 1024;

/// The form as posted (and as shown again).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct WatchForm {
    csrf: String,
    version: String,
    /// `preview` or `save` (the button pressed).
    action: String,
    target_type: String,
    concession_code: String,
    holder_id: String,
    holder_name: String,
    ubigeo: String,
    area: String,
    event_types: Vec<String>,
    min_verification: String,
    frequency: String,
    email: String,
    language: String,
}

impl WatchForm {
    fn blank(email: &str, lang: Language) -> Self {
        WatchForm {
            target_type: "concession".into(),
            min_verification: MinVerification::Unverified.as_str().into(),
            frequency: Frequency::Immediate.as_str().into(),
            email: email.into(),
            language: lang.as_str().into(),
            ..WatchForm::default()
        }
    }

    fn of(view: &WatchView) -> Self {
        use crate::alerts::Target;
        let w = &view.watch;
        let mut form = WatchForm {
            version: w.version.to_string(),
            target_type: w.target.type_name().into(),
            event_types: w.event_types.iter().map(|t| t.as_str().into()).collect(),
            min_verification: w.min_verification.as_str().into(),
            frequency: w.frequency.as_str().into(),
            email: w.email.clone(),
            language: w.language.as_str().into(),
            ..WatchForm::default()
        };
        match (&w.target, &view.target) {
            (Target::Concession { code, .. }, _) => form.concession_code = code.clone(),
            (Target::Holder { actor_id }, TargetWords::Holder { name }) => {
                form.holder_id = actor_id.to_string();
                form.holder_name = name.clone().unwrap_or_default();
            }
            (Target::Holder { actor_id }, _) => form.holder_id = actor_id.to_string(),
            (Target::AdminArea { ubigeo }, _) => form.ubigeo = ubigeo.clone(),
            (Target::Area { geometry }, _) => form.area = geometry.to_string(),
        }
        form
    }

    fn has_type(&self, value: &str) -> bool {
        self.event_types.iter().any(|t| t == value)
    }

    /// The watch as the API reads it, or the form's own refusals (by the
    /// form's field names, already in the page's language). `holder` is the
    /// holder's id when the person typed a name without picking one.
    fn to_input(&self, holder: Option<&str>, t: &Texts) -> Result<WatchInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut refuse = |field: &str, message: &str| {
            errors.push(FieldError::coded(field, "file", message));
        };
        let one_line = |s: &str| s.trim().to_string();
        let target = match self.target_type.as_str() {
            "concession" => {
                let code = one_line(&self.concession_code);
                if code.is_empty() {
                    refuse("concession_code", t.err_required);
                } else if code.chars().any(char::is_control) {
                    refuse("concession_code", t.err_control_character);
                }
                Some(TargetInput::Concession {
                    code: Some(code),
                    concession_id: None,
                })
            }
            "holder" => {
                let id = holder
                    .map(str::to_string)
                    .unwrap_or_else(|| one_line(&self.holder_id));
                if id.is_empty() {
                    refuse("holder_name", t.watch_err_no_holder);
                }
                Some(TargetInput::Holder { actor_id: id })
            }
            "admin_area" => {
                let ubigeo = one_line(&self.ubigeo);
                if !(matches!(ubigeo.len(), 2 | 4 | 6)
                    && ubigeo.bytes().all(|b| b.is_ascii_digit()))
                {
                    refuse("ubigeo", t.err_ubigeo);
                }
                Some(TargetInput::AdminArea { ubigeo })
            }
            "area" => match area_geometry(&self.area) {
                Ok(geometry) => Some(TargetInput::Area { geometry }),
                Err(message) => {
                    refuse("area", message(t));
                    None
                }
            },
            _ => {
                refuse("target_type", t.err_required);
                None
            }
        };
        let mut event_types = Vec::new();
        for name in &self.event_types {
            match EventType::parse(name) {
                Some(kind) => event_types.push(kind),
                None => refuse("event_types", t.err_invalid),
            }
        }
        let min_verification = MinVerification::parse(&self.min_verification);
        let frequency = Frequency::parse(&self.frequency);
        if frequency.is_none() {
            refuse("frequency", t.err_required);
        }
        let language = Language::parse(&self.language);
        if language.is_none() {
            refuse("language", t.err_required);
        }
        let email = one_line(&self.email);
        if email.is_empty() {
            refuse("email", t.err_required);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WatchInput {
            email: Some(email),
            target,
            event_types: Some(event_types),
            min_verification,
            frequency,
            language,
        })
    }
}

type Message = fn(&Texts) -> &'static str;

/// The geometry of the area field: a GeoJSON geometry, or a Feature (or a
/// collection of one) holding it, as files often are.
fn area_geometry(text: &str) -> Result<serde_json::Value, Message> {
    if text.trim().is_empty() {
        return Err(|t| t.watch_err_area_missing);
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| (|t: &Texts| t.watch_err_area_not_geojson) as Message)?;
    let not_geojson: Message = |t| t.watch_err_area_not_geojson;
    match value.get("type").and_then(|v| v.as_str()) {
        Some("Feature") => value.get("geometry").cloned().ok_or(not_geojson),
        Some("FeatureCollection") => match value.get("features").and_then(|f| f.as_array()) {
            Some(features) if features.len() == 1 => {
                features[0].get("geometry").cloned().ok_or(not_geojson)
            }
            _ => Err(not_geojson),
        },
        Some(_) => Ok(value),
        None => Err(not_geojson),
    }
}

/// The operation's refusals as the form's fields and the page's words.
fn form_errors(errors: Vec<FieldError>, form: &WatchForm, t: &Texts) -> Vec<FieldError> {
    let target_field = match form.target_type.as_str() {
        "concession" => "concession_code",
        "holder" => "holder_name",
        "admin_area" => "ubigeo",
        "area" => "area",
        _ => "target_type",
    };
    errors
        .into_iter()
        .map(|e| {
            if e.code == "file" {
                return e;
            }
            let required = e.message == "is required" || e.code == "required";
            let (field, message): (&str, String) = match e.field.as_str() {
                "email" if required => ("email", t.err_required.into()),
                "email" => ("email", t.err_email.into()),
                "target.code" | "target.concession_id" => {
                    ("concession_code", t.watch_err_no_concession.into())
                }
                "target.actor_id" => ("holder_name", t.watch_err_no_holder.into()),
                "target.ubigeo" => ("ubigeo", t.watch_err_no_ubigeo.into()),
                "target.geometry" => ("area", area_message(&e.message, t)),
                "target" if required => (target_field, t.err_required.into()),
                "target" => (target_field, t.err_invalid.into()),
                "frequency" | "language" | "event_types" | "min_verification" => {
                    let field = match e.field.as_str() {
                        "frequency" => "frequency",
                        "language" => "language",
                        "event_types" => "event_types",
                        _ => "min_verification",
                    };
                    (field, crate::i18n::field_message(&e, t))
                }
                _ => ("form", crate::i18n::field_message(&e, t)),
            };
            FieldError::coded(field, "file", message)
        })
        .collect()
}

/// A refused area in the page's words: which rule of `alerts::check_area`
/// it broke.
fn area_message(why: &str, t: &Texts) -> String {
    if why.contains("degenerate") {
        t.watch_err_area_degenerate.into()
    } else if why.contains("at most") {
        fill(
            t.watch_err_area_too_big,
            &[
                ("points", &USER_LIMITS.points.to_string()),
                ("rings", &USER_LIMITS.rings.to_string()),
                ("polygons", &USER_LIMITS.polygons.to_string()),
            ],
        )
    } else {
        t.watch_err_area_invalid.into()
    }
}

// ------------------------------------------------------------ the list

struct Row {
    id: String,
    status: &'static str,
    pending: bool,
    active: bool,
    target: String,
    target_detail: String,
    filters: String,
    frequency: &'static str,
    language: &'static str,
    email: String,
    last_alert: String,
    owner: String,
    feed_url: String,
    /// The webhook's URL (empty: none) and its last delivery in words.
    hook_url: String,
    hook_last: String,
    /// What the last webhook form of this row left to show: the secret
    /// (once), the receiver's answer to a test, a refused URL with what was
    /// typed.
    hook_open: bool,
    hook_secret: String,
    hook_test: String,
    hook_test_ok: bool,
    hook_error: String,
    hook_typed: String,
}

/// What a webhook form's answer shows in its watch's row.
#[derive(Debug, Default)]
struct HookFlash {
    watch_id: String,
    secret: String,
    test: String,
    test_ok: bool,
    error: String,
    typed: String,
}

#[derive(Template)]
#[template(path = "watches.html")]
struct ListPage {
    ctx: Ctx,
    t: &'static Texts,
    heading: &'static str,
    rows: Vec<Row>,
    notice: String,
    problem: String,
    show_owner: bool,
}

fn status_label(status: WatchStatus, t: &Texts) -> &'static str {
    match status {
        WatchStatus::Pending => t.watch_status_pending,
        WatchStatus::Active => t.watch_status_active,
        WatchStatus::Unsubscribed => t.watch_status_unsubscribed,
        WatchStatus::Suspended => t.watch_status_suspended,
    }
}

fn frequency_label(f: Frequency, t: &Texts) -> &'static str {
    match f {
        Frequency::Immediate => t.watch_frequency_immediate,
        Frequency::Daily => t.watch_frequency_daily,
    }
}

fn language_label(l: Language, t: &Texts) -> &'static str {
    match l {
        Language::Es => t.watch_language_es,
        Language::En => t.watch_language_en,
    }
}

/// The target in words: the line and, for a concession, its holder.
fn target_text(target: &TargetWords, lang: Language, t: &Texts) -> (String, String) {
    let unknown = t.watch_unknown_name;
    match target {
        TargetWords::Concession { code, name, holder } => (
            fill(
                t.watch_target_concession,
                &[("code", code), ("name", name.as_deref().unwrap_or(unknown))],
            ),
            holder
                .as_deref()
                .map(|h| fill(t.watch_target_concession_holder, &[("holder", h)]))
                .unwrap_or_default(),
        ),
        TargetWords::Holder { name } => (
            fill(
                t.watch_target_holder,
                &[("name", name.as_deref().unwrap_or(unknown))],
            ),
            String::new(),
        ),
        TargetWords::AdminArea { ubigeo, names } => {
            let names = if names.is_empty() {
                unknown.to_string()
            } else {
                names.join(" / ")
            };
            (
                fill(
                    t.watch_target_admin,
                    &[("names", &names), ("ubigeo", ubigeo)],
                ),
                String::new(),
            )
        }
        TargetWords::Area { square_km } => {
            let size = if *square_km >= 10.0 {
                format!("{square_km:.0}")
            } else {
                format!("{square_km:.2}")
            };
            let size = match lang {
                Language::Es => size.replace('.', ","),
                Language::En => size,
            };
            (fill(t.watch_target_area, &[("size", &size)]), String::new())
        }
    }
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn row(view: WatchView, lang: Language, t: &Texts, links: &Links) -> Row {
    let w = &view.watch;
    let feed_url = ops::feed_link(links, &view.feed);
    let (target, target_detail) = target_text(&view.target, lang, t);
    let mut filters: Vec<String> = if w.event_types.is_empty() {
        vec![t.watch_all_types.to_string()]
    } else {
        vec![w
            .event_types
            .iter()
            .map(|e| e.label(t))
            .collect::<Vec<_>>()
            .join(", ")]
    };
    if w.min_verification == MinVerification::Verified {
        filters.push(t.watch_only_verified.to_string());
    }
    Row {
        id: w.id.to_string(),
        status: status_label(w.status, t),
        pending: w.status == WatchStatus::Pending,
        active: matches!(w.status, WatchStatus::Pending | WatchStatus::Active),
        target,
        target_detail,
        filters: filters.join("; "),
        frequency: frequency_label(w.frequency, t),
        language: language_label(w.language, t),
        email: w.email.clone(),
        last_alert: view
            .last_alerted
            .map(when)
            .unwrap_or_else(|| t.watch_never_alerted.to_string()),
        owner: w.created_by.clone(),
        feed_url,
        hook_url: view
            .webhook
            .as_ref()
            .map(|h| h.url.clone())
            .unwrap_or_default(),
        hook_last: view
            .webhook
            .as_ref()
            .map(|h| hook_last(h, t))
            .unwrap_or_default(),
        hook_open: false,
        hook_secret: String::new(),
        hook_test: String::new(),
        hook_test_ok: false,
        hook_error: String::new(),
        hook_typed: view
            .webhook
            .as_ref()
            .map(|h| h.url.clone())
            .unwrap_or_default(),
    }
}

fn hook_last(hook: &crate::alerts::webhook::WebhookInfo, t: &Texts) -> String {
    let Some(at) = hook.last_at else {
        return t.watch_webhook_never.to_string();
    };
    match (hook.last_status, &hook.last_error) {
        (Some(status), _) => fill(
            t.watch_webhook_last_status,
            &[("when", &when(at)), ("status", &status.to_string())],
        ),
        (None, error) => fill(
            t.watch_webhook_last_error,
            &[
                ("when", &when(at)),
                ("error", error.as_deref().unwrap_or_default()),
            ],
        ),
    }
}

async fn list_page(
    who: &SignedIn,
    db: &Db,
    links: &Links,
    status: StatusCode,
    notice: String,
    problem: String,
) -> Result<HttpResponse, AppError> {
    list_page_with(who, db, links, status, notice, problem, None).await
}

/// The list with one row showing what its webhook form answered.
async fn list_page_with(
    who: &SignedIn,
    db: &Db,
    links: &Links,
    status: StatusCode,
    notice: String,
    problem: String,
    flash: Option<HookFlash>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Researcher)?;
    let acting = who.who();
    let views = db
        .run(move |conn| ops::list_views(conn, &acting, LISTED))
        .await?;
    let t = who.ctx.t;
    let lang = who.ctx.lang;
    let all = who.who().is(Role::Admin);
    super::html(
        &who.web,
        status,
        &ListPage {
            ctx: who.ctx.clone(),
            t,
            heading: if all {
                t.watches_title_all
            } else {
                t.watches_title
            },
            rows: views
                .into_iter()
                .map(|v| {
                    let mut row = row(v, lang, t, links);
                    if let Some(flash) = flash.as_ref().filter(|f| f.watch_id == row.id) {
                        row.hook_open = true;
                        row.hook_secret = flash.secret.clone();
                        row.hook_test = flash.test.clone();
                        row.hook_test_ok = flash.test_ok;
                        if !flash.error.is_empty() {
                            row.hook_error = flash.error.clone();
                            row.hook_typed = flash.typed.clone();
                        }
                    }
                    row
                })
                .collect(),
            notice,
            problem,
            show_owner: all,
        },
    )
}

#[derive(Deserialize)]
struct Notice {
    done: Option<String>,
}

async fn list(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let notice = match q.done.as_deref() {
        Some("created") => t.watch_created_notice,
        Some("updated") => t.watch_updated_notice,
        Some("reconfirm") => t.watch_updated_confirm_notice,
        Some("deleted") => t.watch_deleted_notice,
        Some("resent") => t.watch_resent_notice,
        Some("feed") => t.watch_feed_rotated_notice,
        Some("webhook_removed") => t.watch_webhook_removed_notice,
        _ => "",
    };
    list_page(
        &who,
        &db,
        &ctx.links,
        StatusCode::OK,
        notice.into(),
        String::new(),
    )
    .await
}

fn too_many(seconds: u64, t: &Texts) -> String {
    fill(
        t.watch_too_many,
        &[("minutes", &seconds.div_ceil(60).max(1).to_string())],
    )
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn resend(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Researcher)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let policy = ctx.policy;
    let t = who.ctx.t;
    match db
        .run(move |conn| crate::ops::alerts::resend(conn, &policy, &acting, &id))
        .await
    {
        Ok(_) => Ok(see_other("/watches?done=resent")),
        Err(AppError::TooManyRequests(_, seconds)) => {
            let problem = too_many(seconds, t);
            list_page(
                &who,
                &db,
                &ctx.links,
                StatusCode::TOO_MANY_REQUESTS,
                String::new(),
                problem,
            )
            .await
        }
        Err(AppError::Conflict(_)) => {
            let problem = t.watch_not_pending.to_string();
            list_page(
                &who,
                &db,
                &ctx.links,
                StatusCode::CONFLICT,
                String::new(),
                problem,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

/// A new link for a watch's Atom feed; the old one stops working.
async fn rotate_feed(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let links = ctx.links.clone();
    let target = format!("/watches?done=feed#watch-{id}");
    db.run(move |conn| ops::feed_url(conn, &acting, &links, &id, true))
        .await?;
    Ok(see_other(&target))
}

// ------------------------------------------------------------ webhooks

#[derive(Deserialize)]
struct WebhookForm {
    csrf: String,
    #[serde(default)]
    url: String,
}

/// A refused webhook URL in the page's language.
fn hook_error_text(error: &FieldError, t: &Texts) -> String {
    match error.code.as_str() {
        "webhook_scheme" => t.err_webhook_scheme.to_string(),
        "webhook_credentials" => t.err_webhook_credentials.to_string(),
        "webhook_private" => t.err_webhook_private.to_string(),
        "webhook_unresolved" => t.err_webhook_unresolved.to_string(),
        _ => crate::i18n::field_message(error, t),
    }
}

/// Sets or replaces a watch's webhook; the page shows the new secret once
/// (it is never in a URL, so no redirect), or the refusal next to the field.
async fn set_webhook(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: WebhookForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let allow_private = ctx.webhooks.allow_private();
    let (watch_id, url) = (id.clone(), f.url.clone());
    let t = who.ctx.t;
    let (status, flash) = match db
        .run(move |conn| ops::set_webhook(conn, &acting, &watch_id, &url, allow_private))
        .await
    {
        Ok(set) => (
            StatusCode::OK,
            HookFlash {
                watch_id: id,
                secret: set.secret,
                ..HookFlash::default()
            },
        ),
        Err(AppError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            HookFlash {
                watch_id: id,
                error: errors
                    .iter()
                    .map(|e| hook_error_text(e, t))
                    .collect::<Vec<_>>()
                    .join(" "),
                typed: f.url.chars().take(2100).collect(),
                ..HookFlash::default()
            },
        ),
        Err(other) => return Err(other),
    };
    list_page_with(
        &who,
        &db,
        &ctx.links,
        status,
        String::new(),
        String::new(),
        Some(flash),
    )
    .await
}

/// A new secret for a watch's webhook, shown once.
async fn rotate_webhook(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let watch_id = id.clone();
    let set = db
        .run(move |conn| ops::rotate_webhook(conn, &acting, &watch_id))
        .await?;
    let flash = HookFlash {
        watch_id: id,
        secret: set.secret,
        ..HookFlash::default()
    };
    list_page_with(
        &who,
        &db,
        &ctx.links,
        StatusCode::OK,
        String::new(),
        String::new(),
        Some(flash),
    )
    .await
}

/// Sends the test event now and shows what the receiver answered.
async fn test_webhook(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let answer = ops::test_webhook(db.get_ref(), &ctx.webhooks, who.who(), id.clone()).await?;
    let t = who.ctx.t;
    let test = match (answer.status, &answer.error) {
        (Some(status), _) if answer.delivered => {
            fill(t.watch_webhook_test_ok, &[("status", &status.to_string())])
        }
        (Some(status), _) => fill(
            t.watch_webhook_test_refused,
            &[("status", &status.to_string())],
        ),
        (None, error) => fill(
            t.watch_webhook_test_error,
            &[("error", error.as_deref().unwrap_or_default())],
        ),
    };
    let flash = HookFlash {
        watch_id: id,
        test,
        test_ok: answer.delivered,
        ..HookFlash::default()
    };
    list_page_with(
        &who,
        &db,
        &ctx.links,
        StatusCode::OK,
        String::new(),
        String::new(),
        Some(flash),
    )
    .await
}

/// Removes a watch's webhook.
async fn remove_webhook(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let target = format!("/watches?done=webhook_removed#watch-{id}");
    db.run(move |conn| ops::remove_webhook(conn, &acting, &id))
        .await?;
    Ok(see_other(&target))
}

// ------------------------------------------------------------ deleting

#[derive(Template)]
#[template(path = "watch_delete.html")]
struct DeletePage {
    ctx: Ctx,
    t: &'static Texts,
    row: Row,
    version: i64,
}

async fn delete_page(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Researcher)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let view = db
        .run(move |conn| ops::load_view(conn, &acting, &id))
        .await?;
    let t = who.ctx.t;
    let version = view.watch.version;
    super::ok(
        &who.web,
        &DeletePage {
            ctx: who.ctx.clone(),
            t,
            row: row(view, who.ctx.lang, t, &ctx.links),
            version,
        },
    )
}

#[derive(Deserialize)]
struct DeleteForm {
    csrf: String,
    version: String,
}

async fn delete(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: DeleteForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    who.require(Role::Researcher)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let if_match = if_match(&f.version)?;
    let acting = who.who();
    match db
        .run(move |conn| crate::ops::alerts::delete(conn, &acting, &id, &if_match))
        .await
    {
        Ok(()) => Ok(see_other("/watches?done=deleted")),
        Err(AppError::PreconditionFailed(_)) => {
            let problem = who.ctx.t.watch_err_changed.to_string();
            list_page(
                &who,
                &db,
                &ctx.links,
                StatusCode::CONFLICT,
                String::new(),
                problem,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

fn if_match(version: &str) -> Result<crate::http::IfMatch, AppError> {
    version
        .trim()
        .parse::<i64>()
        .map(|v| crate::http::IfMatch::Versions(vec![v]))
        .map_err(|_| {
            AppError::BadRequest(format!("the form's version {version:?} is not a number"))
        })
}

// ------------------------------------------------------------ the form

struct PreviewItem {
    href: String,
    title: String,
    date: String,
}

struct PreviewView {
    summary: String,
    items: Vec<PreviewItem>,
}

#[derive(Template)]
#[template(path = "watch_form.html")]
struct FormPage {
    ctx: Ctx,
    t: &'static Texts,
    heading: &'static str,
    action: String,
    v: WatchForm,
    errors: Errors,
    types: Vec<(&'static str, &'static str)>,
    preview: Option<PreviewView>,
    tile_url: String,
    tile_attribution: String,
    area_file_hint: String,
    max_area_file_bytes: u64,
}

fn preview_view(p: Preview, t: &Texts) -> PreviewView {
    let summary = if p.capped {
        fill(t.watch_preview_capped, &[("n", &p.count.to_string())])
    } else if p.count == 1 {
        t.watch_preview_count_one.to_string()
    } else {
        fill(t.watch_preview_count, &[("n", &p.count.to_string())])
    };
    PreviewView {
        summary,
        items: p
            .latest
            .into_iter()
            .map(|e| PreviewItem {
                href: format!("/incidents/{}", e.id),
                date: date_text(e.fields.occurred_on, e.fields.time_precision, t),
                title: e.fields.title,
            })
            .collect(),
    }
}

fn form_page(
    who: &SignedIn,
    status: StatusCode,
    action: String,
    v: WatchForm,
    errors: Errors,
    preview: Option<PreviewView>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let heading = if action == "/watches/new" {
        t.watch_new
    } else {
        t.watch_edit_title
    };
    super::html(
        &who.web,
        status,
        &FormPage {
            ctx: who.ctx.clone(),
            t,
            heading,
            action,
            v,
            errors,
            types: EventType::ALL
                .iter()
                .map(|e| (e.as_str(), e.label(t)))
                .collect(),
            preview,
            tile_url: who.web.settings.tile_url.clone(),
            tile_attribution: who.web.settings.tile_attribution.clone(),
            area_file_hint: fill(
                t.watch_area_file_hint,
                &[("max", &(MAX_AREA_FILE_BYTES / 1024).to_string())],
            ),
            max_area_file_bytes: MAX_AREA_FILE_BYTES,
        },
    )
}

async fn new_form(who: SignedIn) -> Result<HttpResponse, AppError> {
    who.require(Role::Researcher)?;
    let v = WatchForm::blank(&who.session.user.email, who.ctx.lang);
    form_page(
        &who,
        StatusCode::OK,
        "/watches/new".into(),
        v,
        Errors::default(),
        None,
    )
}

async fn edit_form(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Researcher)?;
    let id = crate::http::parse_id(&id, "watch")?;
    let acting = who.who();
    let wanted = id.clone();
    let view = db
        .run(move |conn| ops::load_view(conn, &acting, &wanted))
        .await?;
    form_page(
        &who,
        StatusCode::OK,
        format!("/watches/{id}/edit"),
        WatchForm::of(&view),
        Errors::default(),
        None,
    )
}

/// What a posted form did.
enum Outcome {
    Previewed(Preview),
    Created,
    Updated { reconfirm: bool },
}

/// The form posted, to create (`editing` none) or change a watch, or to
/// preview it (the "Vista previa" button): read, checked, one operation.
async fn submit(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    editing: Option<String>,
    v: WatchForm,
    file: Option<Vec<u8>>,
) -> Result<HttpResponse, AppError> {
    who.check_csrf(&v.csrf)?;
    who.require(Role::Researcher)?;
    let t = who.ctx.t;
    let action = match &editing {
        Some(id) => format!("/watches/{id}/edit"),
        None => "/watches/new".into(),
    };
    let refused = |v: WatchForm, errors: Vec<FieldError>, status: StatusCode| {
        let errors = Errors::new(&form_errors(errors, &v, t), t);
        form_page(&who, status, action.clone(), v, errors, None)
    };
    let mut v = v;
    // An uploaded file replaces what was drawn or pasted.
    if let Some(bytes) = file.filter(|b| !b.is_empty()) {
        if bytes.len() as u64 > MAX_AREA_FILE_BYTES {
            let message = fill(
                t.watch_err_area_file_too_large,
                &[("max", &(MAX_AREA_FILE_BYTES / 1024).to_string())],
            );
            return refused(
                v,
                vec![FieldError::coded("area", "file", message)],
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        match String::from_utf8(bytes) {
            Ok(text) => {
                v.target_type = "area".into();
                v.area = text;
            }
            Err(_) => {
                return refused(
                    v,
                    vec![FieldError::coded(
                        "area",
                        "file",
                        t.watch_err_area_not_geojson,
                    )],
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            }
        }
    }
    let if_match = match &editing {
        Some(_) => Some(if_match(&v.version)?),
        None => None,
    };
    let previewing = v.action == "preview";
    let acting = who.who();
    let policy = ctx.policy;
    let form = v.clone();
    let today = chrono::Utc::now().date_naive();
    let result = db
        .run(
            move |conn| -> Result<Result<Outcome, Vec<FieldError>>, AppError> {
                // Without the script a holder is typed, not picked.
                let holder = if form.target_type == "holder" && form.holder_id.trim().is_empty() {
                    match ops::holder_by_name(conn, &form.holder_name)? {
                        Ok(id) => Some(id),
                        Err(found) => {
                            let message = if found > 1 {
                                t.watch_err_many_holders
                            } else {
                                t.watch_err_no_holder
                            };
                            return Ok(Err(vec![FieldError::coded(
                                "holder_name",
                                "file",
                                message,
                            )]));
                        }
                    }
                } else {
                    None
                };
                let input = match form.to_input(holder.as_deref(), t) {
                    Ok(input) => input,
                    Err(errors) => return Ok(Err(errors)),
                };
                let outcome = match (&editing, previewing) {
                    (_, true) => ops::preview(conn, &acting, input, today).map(Outcome::Previewed),
                    (None, false) => {
                        ops::create(conn, &policy, &acting, input).map(|_| Outcome::Created)
                    }
                    (Some(id), false) => {
                        let patch = input_document(&input);
                        let if_match = if_match.unwrap_or(crate::http::IfMatch::Absent);
                        ops::update(conn, &policy, &acting, id, &if_match, patch).map(|after| {
                            Outcome::Updated {
                                reconfirm: after.status == WatchStatus::Pending,
                            }
                        })
                    }
                };
                match outcome {
                    Ok(outcome) => Ok(Ok(outcome)),
                    Err(AppError::Validation(errors)) => Ok(Err(errors)),
                    Err(other) => Err(other),
                }
            },
        )
        .await;
    match result {
        Ok(Ok(Outcome::Previewed(preview))) => {
            let preview = preview_view(preview, t);
            form_page(
                &who,
                StatusCode::OK,
                action.clone(),
                v,
                Errors::default(),
                Some(preview),
            )
        }
        Ok(Ok(Outcome::Created)) => Ok(see_other("/watches?done=created")),
        Ok(Ok(Outcome::Updated { reconfirm })) => Ok(see_other(if reconfirm {
            "/watches?done=reconfirm"
        } else {
            "/watches?done=updated"
        })),
        Ok(Err(errors)) => refused(v, errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::Conflict(_)) => {
            let field = FieldError::coded("form", "file", t.watch_err_identical);
            refused(v, vec![field], StatusCode::CONFLICT)
        }
        Err(AppError::PreconditionFailed(_)) => {
            let field = FieldError::coded("form", "file", t.watch_err_changed);
            refused(v, vec![field], StatusCode::PRECONDITION_FAILED)
        }
        Err(AppError::TooManyRequests(_, seconds)) => {
            let field = FieldError::coded("email", "file", too_many(seconds, t));
            refused(v, vec![field], StatusCode::TOO_MANY_REQUESTS)
        }
        Err(other) => Err(other),
    }
}

/// A checked input as the whole-watch merge patch an edit sends.
fn input_document(input: &WatchInput) -> serde_json::Value {
    serde_json::json!({
        "email": input.email,
        "target": input.target,
        "event_types": input.event_types,
        "min_verification": input.min_verification,
        "frequency": input.frequency,
        "language": input.language,
    })
}

async fn create_plain(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let v: WatchForm = form::parse(&body)?;
    submit(who, db, ctx, None, v, None).await
}

async fn edit_plain(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "watch")?;
    let v: WatchForm = form::parse(&body)?;
    submit(who, db, ctx, Some(id), v, None).await
}

/// The form with its file field (`multipart/form-data`).
async fn read_with_file(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(WatchForm, Option<Vec<u8>>), AppError> {
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "an area file may have at most {} kB",
            MAX_AREA_FILE_BYTES / 1024
        ))
    };
    let sent = crate::http::read_multipart(req, payload, MAX_UPLOAD_READ, 1, too_large).await?;
    let fields = serde_html_form::to_string(&sent.fields)
        .map_err(|e| AppError::BadRequest(format!("this form could not be read: {e}")))?;
    let v: WatchForm = form::parse(&Bytes::from(fields))?;
    let file = sent
        .files
        .into_iter()
        .find(|(name, _, _)| name == "area_file")
        .map(|(_, _, bytes)| bytes.to_vec());
    Ok((v, file))
}

async fn create_multipart(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (v, file) = read_with_file(&req, payload).await?;
    submit(who, db, ctx, None, v, file).await
}

async fn edit_multipart(
    who: SignedIn,
    db: web::Data<Db>,
    ctx: web::Data<WatchContext>,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "watch")?;
    let (v, file) = read_with_file(&req, payload).await?;
    submit(who, db, ctx, Some(id), v, file).await
}

fn multipart() -> impl actix_web::guard::Guard {
    actix_web::guard::fn_guard(|ctx| {
        ctx.head()
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"multipart/form-data"))
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/watches", web::get().to(list))
        .route("/watches/new", web::get().to(new_form))
        .route(
            "/watches/new",
            web::post().guard(multipart()).to(create_multipart),
        )
        .route("/watches/new", web::post().to(create_plain))
        .route("/watches/{id}/edit", web::get().to(edit_form))
        .route(
            "/watches/{id}/edit",
            web::post().guard(multipart()).to(edit_multipart),
        )
        .route("/watches/{id}/edit", web::post().to(edit_plain))
        .route("/watches/{id}/delete", web::get().to(delete_page))
        .route("/watches/{id}/delete", web::post().to(delete))
        .route("/watches/{id}/resend", web::post().to(resend))
        .route("/watches/{id}/feed", web::post().to(rotate_feed))
        .route("/watches/{id}/webhook", web::post().to(set_webhook))
        .route(
            "/watches/{id}/webhook/rotate",
            web::post().to(rotate_webhook),
        )
        .route("/watches/{id}/webhook/test", web::post().to(test_webhook))
        .route(
            "/watches/{id}/webhook/delete",
            web::post().to(remove_webhook),
        );
}
