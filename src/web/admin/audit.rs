//! The audit log as a person reads it: who, when, and what changed as a
//! before/after list of the fields that changed, with filters and pages.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::{date_filter, next_href, text_filter, when, FilterErrors, PAGE_SIZE};
use crate::audit::{Action, AuditFilter, AuditRecord, Entity};
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::Texts;
use crate::keys::Role;
use crate::web::{Ctx, SignedIn};

/// Names offered in the "who" filter.
const NAMES: i64 = 500;
/// A value longer than this (an outline's coordinates) is cut.
const VALUE_CHARS: usize = 200;
/// Fields every change moves on (the row's version, its update time):
/// listing them would hide what changed.
const BOOKKEEPING: [&str; 3] = ["version", "updated_at", "search_text"];

pub fn entity_label(entity: Entity, t: &Texts) -> &'static str {
    match entity {
        Entity::Event => t.admin_entity_event,
        Entity::Actor => t.admin_entity_actor,
        Entity::EventActor => t.admin_entity_event_actor,
        Entity::Concession => t.admin_entity_concession,
        Entity::Concessions => t.admin_entity_concessions,
        Entity::Districts => t.admin_entity_districts,
        Entity::Case => t.admin_entity_case,
        Entity::ReportEntry => t.admin_entity_report_entry,
        Entity::ReportEntries => t.admin_entity_report_entries,
        Entity::EventCase => t.admin_entity_event_case,
        Entity::EventConcession => t.admin_entity_event_concession,
        Entity::Watch => t.admin_entity_watch,
        Entity::ApiKey => t.admin_entity_api_key,
        Entity::User => t.admin_entity_user,
        Entity::Attachment => t.admin_entity_attachment,
        Entity::Alert => t.admin_entity_alert,
        Entity::CaseDismissal => t.admin_entity_case_dismissal,
    }
}

pub fn action_label(action: Action, t: &Texts) -> &'static str {
    match action {
        Action::Create => t.action_create,
        Action::Update => t.action_update,
        Action::Delete => t.action_delete,
        Action::Restore => t.action_restore,
        Action::Revoke => t.action_revoke,
        Action::Merge => t.action_merge,
    }
}

/// The page of a record, where there is one.
fn href_of(entity: Entity, id: &str) -> Option<String> {
    let id_ok = uuid::Uuid::parse_str(id).is_ok();
    match entity {
        Entity::Event | Entity::EventActor | Entity::EventCase | Entity::EventConcession
            if id_ok =>
        {
            Some(format!("/incidents/{id}"))
        }
        Entity::Case if id_ok => Some(format!("/cases/{id}")),
        Entity::Actor if id_ok => Some(format!("/actors/{id}")),
        Entity::Concession if id_ok => Some(format!("/concessions/{id}")),
        Entity::User => Some("/users".into()),
        Entity::ApiKey => Some("/keys".into()),
        _ => None,
    }
}

/// What a person calls the record: its name, title or code.
fn name_of(before: Option<&Value>, after: Option<&Value>) -> Option<String> {
    let snapshot = after.or(before)?;
    ["name", "display_name", "title", "code", "file_name"]
        .iter()
        .find_map(|k| snapshot.get(*k).and_then(Value::as_str))
        .map(|s| cut(s, 120))
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    } else {
        text.to_string()
    }
}

/// `{"a": {"b": 1}}` as `a.b = 1`; lists stay whole.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => cut(s, VALUE_CHARS),
        Some(other) => cut(&other.to_string(), VALUE_CHARS),
    }
}

/// One field that changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Changed {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The fields whose values differ between the two snapshots, in order;
/// a created record lists what it was created with, a deleted one what it
/// had.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<Changed> {
    let mut old = Vec::new();
    let mut new = Vec::new();
    if let Some(b) = before {
        flatten("", b, &mut old);
    }
    if let Some(a) = after {
        flatten("", a, &mut new);
    }
    let old: std::collections::BTreeMap<String, Value> = old.into_iter().collect();
    let new: std::collections::BTreeMap<String, Value> = new.into_iter().collect();
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !BOOKKEEPING.contains(&f.rsplit('.').next().unwrap_or(f)))
        // A field absent on one side and null on the other did not change.
        .filter(|f| old.get(*f).unwrap_or(&Value::Null) != new.get(*f).unwrap_or(&Value::Null))
        .map(|f| Changed {
            field: f.clone(),
            before: shown(old.get(f)),
            after: shown(new.get(f)),
        })
        .collect()
}

struct Row {
    when: String,
    who: String,
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    name: String,
    href: Option<String>,
    changes: Vec<Changed>,
}

fn row_of(r: AuditRecord, t: &Texts) -> Row {
    let name = name_of(r.before.as_ref(), r.after.as_ref()).unwrap_or_default();
    Row {
        when: when(r.at),
        who: r.key_name.clone(),
        action: action_label(r.action, t),
        entity: entity_label(r.entity, t),
        href: href_of(r.entity, &r.entity_id),
        changes: diff(r.before.as_ref(), r.after.as_ref()),
        entity_id: r.entity_id,
        name,
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<Row>,
    names: Vec<String>,
    entities: Vec<(&'static str, &'static str)>,
    actions: Vec<(&'static str, &'static str)>,
    q: Query,
    errors: FilterErrors,
    next_href: Option<String>,
}

#[derive(Deserialize, Default)]
struct Query {
    who: Option<String>,
    entity: Option<String>,
    action: Option<String>,
    entity_id: Option<String>,
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
    let key_name = text_filter(&q.who, 200, "who", t, &mut errors);
    let entity_id = text_filter(&q.entity_id, 200, "entity_id", t, &mut errors);
    let entity = match q.get(&q.entity) {
        "" => None,
        v => Entity::parse(v).or_else(|| {
            errors.push(("entity", t.admin_bad_choice.to_string()));
            None
        }),
    };
    let action = match q.get(&q.action) {
        "" => None,
        v => Action::parse(v).or_else(|| {
            errors.push(("action", t.admin_bad_choice.to_string()));
            None
        }),
    };
    let from = date_filter(&q.from, false, "from", t, &mut errors);
    let to = date_filter(&q.to, true, "to", t, &mut errors);
    let after_id = match q.get(&q.cursor) {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest(format!("cursor {v:?}")))?,
        ),
    };
    let filter = AuditFilter {
        entities: entity.into_iter().collect(),
        entity_id,
        key_name,
        action,
        from,
        to,
        after_id,
        limit: PAGE_SIZE,
        ..AuditFilter::default()
    };
    let refused = !errors.is_empty();
    let (mut records, names) = db
        .run(move |conn| {
            let names = crate::audit::names(conn, NAMES)?;
            let records = if refused {
                Vec::new()
            } else {
                crate::audit::list(conn, &filter)?
            };
            Ok::<_, AppError>((records, names))
        })
        .await?;
    let more = records.len() as i64 > PAGE_SIZE;
    records.truncate(PAGE_SIZE as usize);
    let next_href = more
        .then(|| records.last().map(|r| r.id.to_string()))
        .flatten()
        .map(|cursor| {
            next_href(
                "/admin/audit",
                &[
                    ("who", q.get(&q.who)),
                    ("entity", q.get(&q.entity)),
                    ("action", q.get(&q.action)),
                    ("entity_id", q.get(&q.entity_id)),
                    ("from", q.get(&q.from)),
                    ("to", q.get(&q.to)),
                ],
                &cursor,
            )
        });
    let rows = records.into_iter().map(|r| row_of(r, t)).collect();
    let mut entities: Vec<(&'static str, &'static str)> = Entity::ALL
        .iter()
        .map(|e| (e.as_str(), entity_label(*e, t)))
        .collect();
    entities.sort_by(|a, b| a.1.cmp(b.1));
    let page = AuditPage {
        ctx: who.ctx.clone(),
        t,
        rows,
        names,
        entities,
        actions: Action::ALL
            .iter()
            .map(|a| (a.as_str(), action_label(*a, t)))
            .collect(),
        q,
        next_href,
        errors,
    };
    crate::web::html(&who.web, page.errors.status(), &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(page));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_lists_only_the_fields_that_changed() {
        let before = json!({"title": "Bloqueo", "version": 1, "location": {"lat": -13.1, "lon": -72.0}, "actors": [1]});
        let after = json!({"title": "Bloqueo de vía", "version": 2, "location": {"lat": -13.1, "lon": -72.5}, "actors": [1]});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            vec![
                Changed {
                    field: "location.lon".into(),
                    before: "-72.0".into(),
                    after: "-72.5".into()
                },
                Changed {
                    field: "title".into(),
                    before: "Bloqueo".into(),
                    after: "Bloqueo de vía".into()
                },
            ]
        );
        // Created: every field it was created with, nothing before.
        let created = diff(None, Some(&json!({"name": "Ana", "role": null})));
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].after, "Ana");
        assert_eq!(
            name_of(None, Some(&after)).as_deref(),
            Some("Bloqueo de vía")
        );
    }
}
