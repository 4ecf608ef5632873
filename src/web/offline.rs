//! Working without a network (issue 13, "Offline"): the web app's manifest,
//! the session's form token for the outbox's scripts, and the "Mis envíos"
//! page, whose list the script fills from the browser's IndexedDB (the
//! server never sees what waits on a phone). The service worker itself is
//! served by `assets` (`/sw.js`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{assets, Ctx, SignedIn};
use crate::error::AppError;
use crate::i18n::Texts;

/// `/manifest.webmanifest`: Vigía installs as an app that opens on `/`.
async fn manifest() -> HttpResponse {
    let es = crate::i18n::Language::Es.texts();
    let en = crate::i18n::Language::En.texts();
    let body = serde_json::json!({
        "name": "Vigía",
        "short_name": "Vigía",
        "description": format!("{} / {}", es.tagline, en.tagline),
        "lang": "es",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": assets::url("icons/vigia-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": assets::url("icons/vigia-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
        ],
    });
    HttpResponse::Ok()
        .content_type("application/manifest+json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body.to_string())
}

/// `/offline/session.json`: the session's form token, which the outbox
/// sends as `X-CSRF-Token` (a page kept by the service worker may hold an
/// older one), and whose session it is (the outbox sends a person's items
/// only in their own session). Not signed in: the sign-in page (a
/// redirect), as for pages.
async fn session(who: SignedIn) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "csrf": who.ctx.csrf, "user": who.session.user.id }))
}

/// `/offline/districts.json`: every district's names and a point inside it
/// (about 150 kB), which the service worker keeps so that the form finds a
/// district by name with no network. Cached for a day: district
/// boundaries change once in years.
async fn districts(
    _who: SignedIn,
    db: web::Data<crate::db::Db>,
    index: web::Data<crate::places::PlaceIndex>,
) -> Result<HttpResponse, AppError> {
    let spots = db
        .run(move |conn| crate::places::store::district_spots(conn, &index))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .json(serde_json::json!({ "items": spots })))
}

#[derive(Template)]
#[template(path = "envios.html")]
struct SubmissionsPage {
    ctx: Ctx,
    t: &'static Texts,
    /// The rules' messages by code and the fields' names, in the page's
    /// language, for the server's errors on refused items (JSON).
    messages: String,
}

/// What a refused item's errors say, in the page's language: each rule's
/// code (the API's `errors[].code`) and each field of the form.
fn messages(t: &Texts) -> String {
    let codes: std::collections::BTreeMap<&str, String> = [
        "required",
        "blank",
        "control_character",
        "date",
        "future",
        "too_old",
        "url",
        "ubigeo",
        "number",
        "invalid",
    ]
    .into_iter()
    .map(|code| {
        let error = crate::error::FieldError::coded("", code, "");
        (code, crate::i18n::field_message(&error, t))
    })
    .collect();
    let fields: std::collections::BTreeMap<&str, &str> = [
        ("title", t.field_title),
        ("description", t.description),
        ("event_type", t.field_type),
        ("sub_event_type", t.field_sub_type),
        ("occurred_on", t.field_date),
        ("time_precision", t.field_time_precision),
        ("location", t.field_location),
        ("location.lat", t.lat),
        ("location.lon", t.lon),
        ("location.place", t.field_place),
        ("fatalities", t.field_fatalities),
        ("injuries", t.field_injuries),
        ("verification", t.field_verification),
        ("sources", t.sources),
        ("actor_id", t.actors),
    ]
    .into_iter()
    .collect();
    serde_json::json!({ "codes": codes, "fields": fields }).to_string()
}

/// `/envios`: "Mis envíos", what this device keeps and has sent.
async fn submissions(who: SignedIn) -> Result<HttpResponse, AppError> {
    let page = SubmissionsPage {
        t: who.ctx.t,
        messages: messages(who.ctx.t),
        ctx: who.ctx.clone(),
    };
    super::ok(&who.web, &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/manifest.webmanifest", web::get().to(manifest))
        .route("/offline/session.json", web::get().to(session))
        .route("/offline/districts.json", web::get().to(districts))
        .route("/envios", web::get().to(submissions));
}
