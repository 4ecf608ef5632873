//! The administration pages (admins only): a hub linking them all, the
//! audit log, the delivery log with "retry now", the registry changes of
//! the concessions, imports of concessions and districts, and the settings
//! with where each comes from.
//! Every page answers the 403 page to any other role, and sends someone not
//! signed in to the sign-in page (`SignedIn`).

pub mod audit;
pub mod deliveries;
pub mod imports;
pub mod registry;
pub mod settings;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::{Ctx, SignedIn};
use crate::error::AppError;
use crate::i18n::Texts;
use crate::keys::Role;

/// Rows per page of every log.
pub const PAGE_SIZE: i64 = 50;

/// One admin page as the hub lists it.
struct Entry {
    href: &'static str,
    title: &'static str,
    what: &'static str,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct HubPage {
    ctx: Ctx,
    t: &'static Texts,
    entries: Vec<Entry>,
}

async fn hub(who: SignedIn) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let entries = vec![
        Entry {
            href: "/users",
            title: t.users_title,
            what: t.admin_users_what,
        },
        Entry {
            href: "/keys",
            title: t.keys_title,
            what: t.admin_keys_what,
        },
        Entry {
            href: "/admin/audit",
            title: t.admin_audit_title,
            what: t.admin_audit_what,
        },
        Entry {
            href: "/admin/deliveries",
            title: t.admin_deliveries_title,
            what: t.admin_deliveries_what,
        },
        Entry {
            href: "/admin/registry",
            title: t.admin_registry_title,
            what: t.admin_registry_what,
        },
        Entry {
            href: "/admin/imports",
            title: t.admin_imports_title,
            what: t.admin_imports_what,
        },
        Entry {
            href: "/admin/settings",
            title: t.admin_settings_title,
            what: t.admin_settings_what,
        },
    ];
    super::ok(
        &who.web,
        &HubPage {
            ctx: who.ctx.clone(),
            t,
            entries,
        },
    )
}

/// A filter's value: trimmed, empty as none, refused with control
/// characters or past `max` characters (the page says which field).
pub fn text_filter(
    value: &Option<String>,
    max: usize,
    field: &'static str,
    t: &Texts,
    errors: &mut FilterErrors,
) -> Option<String> {
    let v = value.as_deref().unwrap_or("").trim();
    if v.is_empty() {
        return None;
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        errors.push((field, t.admin_bad_text.to_string()));
        return None;
    }
    Some(v.to_string())
}

/// A date filter (`YYYY-MM-DD`, what `<input type=date>` sends): the start
/// of the day, or with `end` its last microsecond.
pub fn date_filter(
    value: &Option<String>,
    end: bool,
    field: &'static str,
    t: &Texts,
    errors: &mut FilterErrors,
) -> Option<NaiveDateTime> {
    let v = value.as_deref().unwrap_or("").trim();
    if v.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(day) => Some(if end {
            day.and_time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or_default())
        } else {
            day.and_time(NaiveTime::MIN)
        }),
        Err(_) => {
            errors.push((field, t.err_date.to_string()));
            None
        }
    }
}

/// The filters a page refused, each with its reason.
#[derive(Debug, Default)]
pub struct FilterErrors(Vec<(&'static str, String)>);

impl FilterErrors {
    pub fn push(&mut self, error: (&'static str, String)) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field` (empty when it is fine).
    pub fn of(&self, field: &str) -> String {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// The page with the reasons beside the fields is a 400.
    pub fn status(&self) -> StatusCode {
        if self.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        }
    }
}

/// A time as the logs show it.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The link to the next page: the filters as given, and the cursor.
pub fn next_href(path: &str, pairs: &[(&str, &str)], cursor: &str) -> String {
    let mut kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .copied()
        .collect();
    kept.push(("cursor", cursor));
    format!(
        "{path}?{}",
        serde_html_form::to_string(&kept).unwrap_or_default()
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(hub));
    audit::configure(cfg);
    deliveries::configure(cfg);
    imports::configure(cfg);
    registry::configure(cfg);
    settings::configure(cfg);
}
