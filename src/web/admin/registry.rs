//! The registry changes of the concessions (added, removed, holder
//! changed, outline changed…), newest first, with filters and pages.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::audit::{diff, Changed};
use super::{date_filter, next_href, text_filter, when, FilterErrors, PAGE_SIZE};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{Label, Texts};
use crate::keys::Role;
use crate::places::store::{ChangeFilter, ChangeKind, RegistryChange};
use crate::web::{Ctx, SignedIn};

struct Row {
    when: String,
    code: String,
    name: String,
    href: Option<String>,
    kind: &'static str,
    kind_key: &'static str,
    changes: Vec<Changed>,
}

fn row_of((c, id): (RegistryChange, Option<String>), t: &Texts) -> Row {
    let name = [c.after.as_ref(), c.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|v| v.get("name").and_then(|n| n.as_str()))
        .unwrap_or("")
        .to_string();
    let mut changes = diff(c.before.as_ref(), c.after.as_ref());
    // The code names the row already; ids mean nothing to a person.
    changes.retain(|ch| ch.field != "code" && !ch.field.ends_with("_id"));
    Row {
        when: when(c.at),
        href: id.map(|id| format!("/concessions/{id}")),
        kind: c.change.label(t),
        kind_key: c.change.as_str(),
        code: c.code,
        name,
        changes,
    }
}

#[derive(Template)]
#[template(path = "admin_registry.html")]
struct RegistryPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<Row>,
    kinds: Vec<(&'static str, &'static str)>,
    q: Query,
    errors: FilterErrors,
    next_href: Option<String>,
}

#[derive(Deserialize, Default)]
struct Query {
    kind: Option<String>,
    code: Option<String>,
    holder: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

impl Query {
    fn get<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn page(
    who: SignedIn,
    db: web::Data<Db>,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let q = q.into_inner();
    let mut errors = FilterErrors::default();
    let kind = match q.get(&q.kind) {
        "" => None,
        v => ChangeKind::parse(v).or_else(|| {
            errors.push(("kind", t.admin_bad_choice.to_string()));
            None
        }),
    };
    let code = text_filter(&q.code, 100, "code", t, &mut errors);
    let holder = text_filter(&q.holder, 200, "holder", t, &mut errors);
    let from = date_filter(&q.from, false, "from", t, &mut errors);
    let to = date_filter(&q.to, true, "to", t, &mut errors);
    let before = match q.get(&q.cursor) {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest(format!("cursor {v:?}")))?,
        ),
    };
    let filter = ChangeFilter {
        kind,
        code,
        holder,
        from,
        to,
        before,
        limit: PAGE_SIZE,
    };
    let mut found = if errors.is_empty() {
        db.run(move |conn| crate::places::store::change_log(conn, &filter))
            .await?
    } else {
        Vec::new()
    };
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let next_href = more
        .then(|| found.last().map(|(c, _)| c.id.to_string()))
        .flatten()
        .map(|cursor| {
            next_href(
                "/admin/registry",
                &[
                    ("kind", q.get(&q.kind)),
                    ("code", q.get(&q.code)),
                    ("holder", q.get(&q.holder)),
                    ("from", q.get(&q.from)),
                    ("to", q.get(&q.to)),
                ],
                &cursor,
            )
        });
    let page = RegistryPage {
        ctx: who.ctx.clone(),
        t,
        rows: found.into_iter().map(|r| row_of(r, t)).collect(),
        kinds: ChangeKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(t)))
            .collect(),
        q,
        errors,
        next_href,
    };
    crate::web::html(&who.web, page.errors.status(), &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/registry", web::get().to(page));
}
