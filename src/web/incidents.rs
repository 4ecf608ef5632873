//! Incidents: the map and list (`/`), one incident's page, the form to log
//! or edit one, deleting and restoring.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::{self, Errors};
use super::{see_other, Ctx, SignedIn, Visitor};
use crate::actors::{ActorInput, ActorKind, Attribution, LinkRole};
use crate::api::events::EventListQuery;
use crate::audit::{AuditFilter, Pseudonyms};
use crate::db::Db;
use crate::error::{AppError, FieldError};
use crate::events::store::Visibility;
use crate::events::{
    Event, EventInput, EventType, LocationInput, LocationPrecision, SourceInput, TimePrecision,
    Verification,
};
use crate::http::IfMatch;
use crate::i18n::{date_text, fill, Label, Texts};
use crate::keys::Role;
use crate::ops::actors::Link;
use crate::ops::events::{self as incidents, WholeIncident};
use crate::pagination::Page;
use crate::places::PlaceIndex;

/// Incidents per page of the list.
const PAGE_SIZE: i64 = 50;

// ---------------------------------------------------------------- the list

/// One line of the list.
struct ListRow {
    id: String,
    title: String,
    date: String,
    event_type: EventType,
    type_label: &'static str,
    place: String,
    verification: &'static str,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    ctx: Ctx,
    t: &'static Texts,
    rows: Vec<ListRow>,
    /// The filters as a query string (no cursor): the map, the pager and
    /// the downloads use exactly these.
    query: String,
    next_href: Option<String>,
    paged: bool,
    f: Filters,
    types: Vec<(&'static str, &'static str, bool)>,
    verifications: Vec<(&'static str, &'static str)>,
    actor_name: Option<String>,
    tile_url: String,
    tile_attribution: String,
    type_labels: String,
    /// The month names, for the map's popups.
    months: String,
    error: String,
}

/// The filter panel as typed.
#[derive(Default)]
struct Filters {
    from: String,
    to: String,
    region: String,
    province: String,
    district: String,
    verification: String,
    q: String,
    concession: String,
    actor: String,
}

/// A query's name-value pairs, in order.
pub(super) type Pairs = Vec<(String, String)>;

/// The query's pairs without empty values (an empty field of the filter
/// form means "no filter") and without the page's own `cursor`.
pub(super) fn filter_pairs(req: &HttpRequest) -> Result<(Pairs, Option<String>), AppError> {
    let pairs: Vec<(String, String)> = serde_html_form::from_str(req.query_string())
        .map_err(|e| AppError::BadRequest(format!("invalid query: {e}")))?;
    let mut cursor = None;
    let mut kept = Vec::new();
    for (k, v) in pairs {
        if v.trim().is_empty() {
            continue;
        }
        if k == "cursor" {
            cursor = Some(v);
        } else {
            kept.push((k, v.trim().to_string()));
        }
    }
    Ok((kept, cursor))
}

pub(super) fn encode_pairs(pairs: &[(String, String)]) -> String {
    serde_html_form::to_string(pairs).unwrap_or_default()
}

pub(super) fn place_text(e: &Event) -> String {
    let admin: Vec<&str> = match &e.fields.admin {
        Some(a) => [&a.district, &a.province, &a.region]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect(),
        None => Vec::new(),
    };
    match (&e.fields.location.place, admin.is_empty()) {
        (Some(place), false) => format!("{place} ({})", admin.join(", ")),
        (Some(place), true) => place.clone(),
        (None, false) => admin.join(", "),
        (None, true) => "—".into(),
    }
}

async fn home(
    visitor: Visitor,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    match visitor.session {
        Some(session) => {
            let who = SignedIn {
                session,
                ctx: visitor.ctx,
                web: visitor.web,
            };
            list(who, req, db).await
        }
        None => Ok(see_other("/sign-in")),
    }
}

async fn list(
    who: SignedIn,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let (pairs, cursor) = filter_pairs(&req)?;
    let query = encode_pairs(&pairs);
    let mut f = Filters::default();
    let mut chosen_types = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "from" => f.from = v.clone(),
            "to" => f.to = v.clone(),
            "region" => f.region = v.clone(),
            "province" => f.province = v.clone(),
            "district" => f.district = v.clone(),
            "verification" => f.verification = v.clone(),
            "q" => f.q = v.clone(),
            "concession" => f.concession = v.clone(),
            "actor" => f.actor = v.clone(),
            "event_type" => chosen_types.push(v.clone()),
            _ => {}
        }
    }
    // The list's filters are the API's, read by the same code.
    let mut api_pairs = pairs.clone();
    if let Some(c) = &cursor {
        api_pairs.push(("cursor".into(), c.clone()));
    }
    api_pairs.push(("limit".into(), PAGE_SIZE.to_string()));
    let parsed = crate::http::parse_query::<EventListQuery>(&encode_pairs(&api_pairs))
        .and_then(EventListQuery::into_filter);
    let (rows, next_href, error) = match parsed {
        Ok(filter) => {
            let limit = filter.limit;
            let actor = f.actor.clone();
            let (events, actor_name) = db
                .run(move |conn| {
                    let events = incidents::list(conn, &filter)?;
                    let name = match crate::http::parse_id(&actor, "actor") {
                        Ok(id) => crate::actors::store::load(conn, &id)
                            .ok()
                            .map(|a| a.fields.name),
                        Err(_) => None,
                    };
                    Ok::<_, AppError>((events, name))
                })
                .await?;
            let page = Page::from_rows(events, limit, |e: &Event| {
                (e.fields.occurred_on, e.id.to_string())
            });
            let next = page.next_cursor.map(|c| {
                let mut p = pairs.clone();
                p.push(("cursor".into(), c));
                format!("/?{}", encode_pairs(&p))
            });
            let rows = page
                .items
                .iter()
                .map(|e| ListRow {
                    id: e.id.to_string(),
                    title: e.fields.title.clone(),
                    date: date_text(e.fields.occurred_on, e.fields.time_precision, t),
                    event_type: e.fields.event_type,
                    type_label: e.fields.event_type.label(t),
                    place: place_text(e),
                    verification: e.fields.verification.label(t),
                })
                .collect();
            (rows, next, actor_name.map(Ok))
        }
        Err(e) => (Vec::new(), None, Some(Err(e.to_string()))),
    };
    let (actor_name, error) = match error {
        Some(Ok(name)) => (Some(name), String::new()),
        Some(Err(message)) => (None, message),
        None => (None, String::new()),
    };
    let (types, verifications) = filter_choices(t, &chosen_types);
    let type_labels = serde_json::to_string(
        &EventType::ALL
            .iter()
            .map(|ty| (ty.as_str(), ty.label(t)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
    .unwrap_or_default();
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    super::html(
        &who.web,
        status,
        &ListPage {
            t,
            rows,
            query,
            next_href,
            paged: cursor.is_some(),
            f,
            types,
            verifications,
            actor_name,
            tile_url: who.web.settings.tile_url.clone(),
            tile_attribution: who.web.settings.tile_attribution.clone(),
            type_labels,
            months: serde_json::to_string(&t.months).unwrap_or_default(),
            error,
            ctx: who.ctx.clone(),
        },
    )
}

// ---------------------------------------------------------------- one incident

struct HistoryRow {
    when: String,
    who: String,
    what: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    ctx: Ctx,
    t: &'static Texts,
    e: Event,
    date: String,
    type_label: &'static str,
    verification: &'static str,
    time_precision: &'static str,
    location_precision: &'static str,
    place: String,
    created_by: String,
    updated: String,
    deleted: bool,
    can_write: bool,
    is_admin: bool,
    actors: Vec<(String, String, &'static str, &'static str, &'static str)>,
    history: Vec<HistoryRow>,
    geo: String,
    tile_url: String,
    tile_attribution: String,
    notice: String,
    /// Why the files just sent were refused, next to the file field.
    attach_error: String,
    attach_hint: String,
    can_attach: bool,
    attach_action: String,
    /// Defensoría cases it may belong to (none linked or dismissed).
    suggestions: Vec<super::analysis::SuggestionView>,
}

#[derive(Deserialize)]
struct Notice {
    saved: Option<String>,
    attached: Option<String>,
    removed: Option<String>,
    linked: Option<String>,
    dismissed: Option<String>,
}

/// What a reader may see of who did something: researchers read
/// pseudonyms (their own name stays), as in the API.
fn disclose(name: &str, who: &SignedIn, pseudonyms: &Pseudonyms) -> String {
    if who.session.user.role == Role::Researcher && name != who.session.user.display_name {
        pseudonyms.of(name)
    } else {
        name.to_string()
    }
}

async fn show(
    who: SignedIn,
    db: web::Data<Db>,
    pseudonyms: web::Data<Pseudonyms>,
    policy: web::Data<crate::attachments::AttachmentPolicy>,
    id: web::Path<String>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "incident")?;
    let t = who.ctx.t;
    let notice = if q.saved.is_some() {
        t.saved
    } else if q.attached.is_some() {
        t.attach_saved
    } else if q.removed.is_some() {
        t.attach_deleted
    } else if q.linked.is_some() {
        t.case_linked
    } else if q.dismissed.is_some() {
        t.suggestion_dismissed
    } else {
        ""
    };
    incident_page(
        &who,
        &db,
        &pseudonyms,
        &policy,
        id,
        notice,
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// The incident's page; after a refused upload, with the reason next to
/// the file field and the refusal's status.
#[allow(clippy::too_many_arguments)]
pub(super) async fn incident_page(
    who: &SignedIn,
    db: &Db,
    pseudonyms: &Pseudonyms,
    policy: &crate::attachments::AttachmentPolicy,
    id: String,
    notice: &str,
    attach_error: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let acting = who.who();
    let visibility = if acting.is(Role::Admin) {
        Visibility::Any
    } else {
        Visibility::Live
    };
    let (event, deleted, history, outlines, suggestions) = db
        .run(move |conn| {
            let event = incidents::load(conn, &id, visibility)?;
            let deleted = crate::events::store::load(conn, &id, Visibility::Deleted).is_ok();
            let history = incidents::history(
                conn,
                &acting,
                &id,
                AuditFilter {
                    limit: 200,
                    ..AuditFilter::default()
                },
            )?;
            let ids: Vec<String> = event.concessions.iter().map(|c| c.id.to_string()).collect();
            let outlines = crate::places::store::load_many(conn, &ids)?;
            let suggestions = if deleted {
                Vec::new()
            } else {
                crate::ops::cases::suggestions(conn, &id, super::analysis::SUGGESTIONS_SHOWN)?
            };
            Ok::<_, AppError>((event, deleted, history, outlines, suggestions))
        })
        .await?;
    // Confidential sources are for monitors and admins, as in the API.
    let event = if who.who().is(Role::Monitor) {
        event
    } else {
        event.without_confidential_sources()
    };
    let t = who.ctx.t;
    let features: Vec<serde_json::Value> = outlines
        .iter()
        .map(|c| {
            serde_json::json!({
                "type": "Feature",
                "geometry": c.geometry,
                "properties": {
                    "code": c.code,
                    "name": c.name,
                    "holder": c.holder.as_ref().map(|h| h.name.clone()),
                },
            })
        })
        .collect();
    let geo = serde_json::json!({
        "point": [event.fields.location.lat, event.fields.location.lon],
        "concessions": {"type": "FeatureCollection", "features": features},
    })
    .to_string();
    let history = history
        .iter()
        .map(|r| {
            let action = match r.action {
                crate::audit::Action::Create => t.action_create,
                crate::audit::Action::Update => t.action_update,
                crate::audit::Action::Delete => t.action_delete,
                crate::audit::Action::Restore => t.action_restore,
                crate::audit::Action::Revoke => t.action_revoke,
                crate::audit::Action::Merge => t.action_merge,
            };
            let entity = match r.entity {
                crate::audit::Entity::Event => t.entity_event,
                crate::audit::Entity::EventActor => t.entity_event_actor,
                crate::audit::Entity::EventCase => t.entity_event_case,
                crate::audit::Entity::EventConcession => t.entity_event_concession,
                crate::audit::Entity::CaseDismissal => t.entity_case_dismissal,
                _ => t.entity_other,
            };
            let changed = changed_fields(r, t);
            let what = if r.entity == crate::audit::Entity::CaseDismissal {
                // Said whole: "created a dismissal" is not how people put it.
                t.entity_case_dismissal.to_string()
            } else if changed.is_empty() {
                format!("{action} {entity}")
            } else {
                format!("{action} {entity}: {}", changed.join(", "))
            };
            HistoryRow {
                when: r.at.format("%Y-%m-%d %H:%M UTC").to_string(),
                who: disclose(&r.key_name, who, pseudonyms),
                what,
            }
        })
        .collect();
    let actors = event
        .actors
        .iter()
        .map(|a| {
            (
                a.actor_id.to_string(),
                a.name.clone(),
                a.kind.label(t),
                a.role.label(t),
                a.attribution.label(t),
            )
        })
        .collect();
    let page = IncidentPage {
        t,
        date: date_text(event.fields.occurred_on, event.fields.time_precision, t),
        type_label: event.fields.event_type.label(t),
        verification: event.fields.verification.label(t),
        time_precision: event.fields.time_precision.label(t),
        location_precision: event.fields.location.precision.label(t),
        place: place_text(&event),
        created_by: disclose(&event.created_by, who, pseudonyms),
        updated: event.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        deleted,
        can_write: who.ctx.user.as_ref().is_some_and(|u| u.can_write),
        is_admin: who.ctx.user.as_ref().is_some_and(|u| u.is_admin),
        actors,
        history,
        geo,
        tile_url: who.web.settings.tile_url.clone(),
        tile_attribution: who.web.settings.tile_attribution.clone(),
        notice: notice.to_string(),
        attach_error,
        can_attach: who.ctx.user.as_ref().is_some_and(|u| u.can_write) && !deleted,
        attach_action: format!("/incidents/{}/attachments", event.id),
        attach_hint: crate::i18n::fill(
            t.attach_hint,
            &[("mb", &(policy.max_bytes / (1024 * 1024)).to_string())],
        ),
        suggestions: super::analysis::suggestion_views(&suggestions, t),
        e: event,
        ctx: who.ctx.clone(),
    };
    super::html(&who.web, status, &page)
}

/// The fields an edit of the incident changed, as people call them.
fn changed_fields(record: &crate::audit::AuditRecord, t: &Texts) -> Vec<&'static str> {
    if record.entity != crate::audit::Entity::Event || record.action != crate::audit::Action::Update
    {
        return Vec::new();
    }
    let (Some(before), Some(after)) = (&record.before, &record.after) else {
        return Vec::new();
    };
    [
        ("title", t.field_title),
        ("description", t.description),
        ("event_type", t.field_type),
        ("sub_event_type", t.field_sub_type),
        ("occurred_on", t.field_date),
        ("time_precision", t.field_time_precision),
        ("location", t.field_location),
        ("admin", t.field_district),
        ("fatalities", t.field_fatalities),
        ("injuries", t.field_injuries),
        ("sources", t.sources),
        ("verification", t.field_verification),
        ("verification_note", t.review_note),
    ]
    .into_iter()
    .filter(|(field, _)| before.get(field) != after.get(field))
    .map(|(_, label)| label)
    .collect()
}

// ---------------------------------------------------------------- the form

/// The form as posted (and as shown again after an error: what was typed
/// stays). Every value is text until the operation reads it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct IncidentForm {
    csrf: String,
    /// The version the form was filled from (editing).
    version: String,
    title: String,
    description: String,
    event_type: String,
    sub_event_type: String,
    occurred_on: String,
    time_precision: String,
    lat: String,
    lon: String,
    location_precision: String,
    place: String,
    fatalities: String,
    injuries: String,
    verification: String,
    verification_note: String,
    source_publisher: Vec<String>,
    source_title: Vec<String>,
    source_url: Vec<String>,
    source_published_on: Vec<String>,
    /// `yes` or `no` per source row (a select, not a checkbox: an unticked
    /// box sends nothing and would shift the rows after it).
    source_confidential: Vec<String>,
    actor_id: Vec<String>,
    actor_name: Vec<String>,
    actor_role: Vec<String>,
    actor_attribution: Vec<String>,
    new_actor_name: String,
    new_actor_kind: String,
    new_actor_role: String,
    new_actor_attribution: String,
}

/// One source row of the form.
#[derive(Debug, Clone, Default)]
struct SourceRow {
    publisher: String,
    title: String,
    url: String,
    published_on: String,
    confidential: bool,
}

/// One actor row of the form.
#[derive(Debug, Clone)]
struct ActorRow {
    id: String,
    name: String,
    role: String,
    attribution: String,
}

fn at(v: &[String], i: usize) -> String {
    v.get(i).map(|s| s.trim().to_string()).unwrap_or_default()
}

fn some(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl IncidentForm {
    /// Source rows with anything typed in them, in order (their index is
    /// the one the rules' `sources[i]` names).
    fn sources(&self) -> Vec<SourceRow> {
        let n = self
            .source_publisher
            .len()
            .max(self.source_url.len())
            .max(self.source_title.len())
            .max(self.source_published_on.len())
            .min(100);
        (0..n)
            .map(|i| SourceRow {
                publisher: at(&self.source_publisher, i),
                title: at(&self.source_title, i),
                url: at(&self.source_url, i),
                published_on: at(&self.source_published_on, i),
                confidential: at(&self.source_confidential, i) == "yes",
            })
            .filter(|r| {
                !(r.publisher.is_empty()
                    && r.title.is_empty()
                    && r.url.is_empty()
                    && r.published_on.is_empty())
            })
            .collect()
    }

    fn actors(&self) -> Vec<ActorRow> {
        (0..self.actor_id.len().min(100))
            .map(|i| ActorRow {
                id: at(&self.actor_id, i),
                name: at(&self.actor_name, i),
                role: at(&self.actor_role, i),
                attribution: at(&self.actor_attribution, i),
            })
            .filter(|r| !r.id.is_empty())
            .collect()
    }

    /// The operation's input; numbers that do not read are refused here,
    /// with the other rules' messages, by the caller.
    fn into_whole(self) -> Result<WholeIncident, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |text: &str, field: &str| -> Option<f64> {
            let text = text.trim().replace(',', ".");
            if text.is_empty() {
                return None;
            }
            match text.parse::<f64>() {
                Ok(n) if n.is_finite() => Some(n),
                _ => {
                    errors.push(FieldError::coded(field, "number", "must be a number"));
                    None
                }
            }
        };
        let lat = number(&self.lat, "location.lat");
        let lon = number(&self.lon, "location.lon");
        let fatalities = number(&self.fatalities, "fatalities");
        let injuries = number(&self.injuries, "injuries");
        let whole_number = |n: Option<f64>| n.map(|n| n.clamp(-1e9, 1e9).round() as i64);
        let sources: Vec<SourceInput> = self
            .sources()
            .into_iter()
            .map(|r| SourceInput {
                publisher: some(&r.publisher),
                title: some(&r.title),
                url: some(&r.url),
                published_on: some(&r.published_on),
                confidential: Some(r.confidential),
            })
            .collect();
        let actors: Vec<Link> = self
            .actors()
            .into_iter()
            .map(|r| Link {
                actor_id: r.id,
                role: LinkRole::parse(&r.role).unwrap_or(LinkRole::Participant),
                attribution: Attribution::parse(&r.attribution).unwrap_or(Attribution::Alleged),
                note: None,
            })
            .collect();
        let new_actor = some(&self.new_actor_name).map(|name| {
            (
                ActorInput {
                    name: Some(name),
                    kind: Some(some(&self.new_actor_kind).unwrap_or_else(|| "other".into())),
                    aliases: None,
                    ruc: None,
                    reinfo_code: None,
                    notes: None,
                },
                LinkRole::parse(&self.new_actor_role).unwrap_or(LinkRole::Participant),
                Attribution::parse(&self.new_actor_attribution).unwrap_or(Attribution::Alleged),
            )
        });
        let input = EventInput {
            title: some(&self.title),
            description: some(&self.description),
            event_type: some(&self.event_type),
            sub_event_type: some(&self.sub_event_type),
            occurred_on: some(&self.occurred_on),
            time_precision: some(&self.time_precision),
            location: match (lat, lon) {
                (None, None) if errors.is_empty() => None,
                _ => Some(LocationInput {
                    lat,
                    lon,
                    precision: some(&self.location_precision),
                    place: some(&self.place),
                }),
            },
            admin: None,
            fatalities: whole_number(fatalities),
            injuries: whole_number(injuries),
            sources: (!sources.is_empty()).then_some(sources),
            verification: some(&self.verification),
            verification_note: some(&self.verification_note),
            client_id: None,
        };
        if errors.is_empty() {
            Ok(WholeIncident {
                input,
                actors,
                new_actor,
            })
        } else {
            // Report the number errors with every other rule's.
            let others = match input.into_fields() {
                Err(AppError::Validation(found)) => found,
                _ => Vec::new(),
            };
            errors.extend(others.into_iter().filter(|e| {
                !matches!(
                    e.field.as_str(),
                    "location" | "location.lat" | "location.lon"
                )
            }));
            Err(errors)
        }
    }

    fn from_event(e: &Event) -> Self {
        let f = &e.fields;
        IncidentForm {
            csrf: String::new(),
            version: e.version.to_string(),
            title: f.title.clone(),
            description: f.description.clone(),
            event_type: f.event_type.as_str().into(),
            sub_event_type: f.sub_event_type.clone().unwrap_or_default(),
            occurred_on: f.occurred_on.to_string(),
            time_precision: f.time_precision.as_str().into(),
            lat: f.location.lat.to_string(),
            lon: f.location.lon.to_string(),
            location_precision: f.location.precision.as_str().into(),
            place: f.location.place.clone().unwrap_or_default(),
            fatalities: f.fatalities.to_string(),
            injuries: f.injuries.to_string(),
            verification: f.verification.as_str().into(),
            verification_note: f.verification_note.clone().unwrap_or_default(),
            source_publisher: f.sources.iter().map(|s| s.publisher.clone()).collect(),
            source_title: f
                .sources
                .iter()
                .map(|s| s.title.clone().unwrap_or_default())
                .collect(),
            source_url: f
                .sources
                .iter()
                .map(|s| s.url.clone().unwrap_or_default())
                .collect(),
            source_published_on: f
                .sources
                .iter()
                .map(|s| s.published_on.map(|d| d.to_string()).unwrap_or_default())
                .collect(),
            source_confidential: f
                .sources
                .iter()
                .map(|s| if s.confidential { "yes" } else { "no" }.to_string())
                .collect(),
            actor_id: e.actors.iter().map(|a| a.actor_id.to_string()).collect(),
            actor_name: e.actors.iter().map(|a| a.name.clone()).collect(),
            actor_role: e.actors.iter().map(|a| a.role.as_str().into()).collect(),
            actor_attribution: e
                .actors
                .iter()
                .map(|a| a.attribution.as_str().into())
                .collect(),
            ..IncidentForm::default()
        }
    }
}

/// A field that differs between what is saved and what was typed.
struct Difference {
    field: &'static str,
    theirs: String,
    yours: String,
}

#[derive(Template)]
#[template(path = "incident_form.html")]
struct FormPage {
    ctx: Ctx,
    t: &'static Texts,
    heading: String,
    action: String,
    cancel_href: String,
    v: IncidentForm,
    sources: Vec<SourceRow>,
    actors: Vec<ActorRow>,
    errors: Errors,
    types: Vec<(&'static str, &'static str)>,
    precisions: Vec<(&'static str, &'static str)>,
    location_precisions: Vec<(&'static str, &'static str)>,
    verifications: Vec<(&'static str, &'static str)>,
    link_roles: Vec<(&'static str, &'static str)>,
    attributions: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    conflict: Vec<Difference>,
    tile_url: String,
    tile_attribution: String,
    /// `attachments.max_bytes`, checked in the browser before saving.
    max_photo_bytes: u64,
}

fn options<T: Label>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    t: &Texts,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (name(*v), v.label(t))).collect()
}

fn form_page(
    who: &SignedIn,
    heading: String,
    action: String,
    cancel_href: String,
    v: IncidentForm,
    errors: Errors,
    conflict: Vec<Difference>,
) -> FormPage {
    let t = who.ctx.t;
    FormPage {
        t,
        heading,
        action,
        cancel_href,
        sources: v.sources(),
        actors: v.actors(),
        v,
        errors,
        types: options(EventType::ALL, EventType::as_str, t),
        precisions: options(TimePrecision::ALL, TimePrecision::as_str, t),
        location_precisions: options(LocationPrecision::ALL, LocationPrecision::as_str, t),
        verifications: options(Verification::ALL, Verification::as_str, t),
        link_roles: options(LinkRole::ALL, LinkRole::as_str, t),
        attributions: options(Attribution::ALL, Attribution::as_str, t),
        kinds: options(ActorKind::ALL, ActorKind::as_str, t),
        conflict,
        tile_url: who.web.settings.tile_url.clone(),
        tile_attribution: who.web.settings.tile_attribution.clone(),
        max_photo_bytes: who.web.max_upload_bytes,
        ctx: who.ctx.clone(),
    }
}

async fn new_form(who: SignedIn) -> Result<HttpResponse, AppError> {
    who.require(Role::Monitor)?;
    let t = who.ctx.t;
    let v = IncidentForm {
        time_precision: "day".into(),
        location_precision: "exact".into(),
        verification: "unverified".into(),
        verification_note: String::new(),
        fatalities: "0".into(),
        injuries: "0".into(),
        ..IncidentForm::default()
    };
    let page = form_page(
        &who,
        t.new_incident_title.to_string(),
        "/incidents/new".into(),
        "/".into(),
        v,
        Errors::default(),
        Vec::new(),
    );
    super::ok(&who.web, &page)
}

async fn create(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let v: IncidentForm = form::parse(&body)?;
    create_from(who, db, index, None, v, Vec::new()).await
}

/// Photos sent with a new incident, at most.
const MAX_PHOTOS: usize = 10;

/// The new-incident form with its photos (`multipart/form-data`): the
/// fields are read as the plain form's, the files judged before anything
/// is kept; a refused file shows the form again with the reason beside the
/// file field.
async fn create_with_photos(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    policy: web::Data<crate::attachments::AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let too_large = {
        let policy = policy.clone();
        move || crate::ops::attachments::too_large(&policy)
    };
    let sent =
        crate::http::read_multipart(&req, payload, policy.max_bytes, MAX_PHOTOS, too_large).await?;
    let fields = serde_html_form::to_string(&sent.fields)
        .map_err(|e| AppError::BadRequest(format!("this form could not be read: {e}")))?;
    let v: IncidentForm = form::parse(&Bytes::from(fields))?;
    let uploads = sent
        .files
        .into_iter()
        .filter(|(name, _, _)| name == "photos")
        .map(|(_, filename, bytes)| crate::ops::attachments::Upload { filename, bytes })
        .collect();
    create_from(who, db, index, Some(policy), v, uploads).await
}

async fn create_from(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    policy: Option<web::Data<crate::attachments::AttachmentPolicy>>,
    v: IncidentForm,
    uploads: Vec<crate::ops::attachments::Upload>,
) -> Result<HttpResponse, AppError> {
    who.check_csrf(&v.csrf)?;
    who.require(Role::Monitor)?;
    let t = who.ctx.t;
    let refused = |v: IncidentForm, errors: Vec<FieldError>| {
        let page = form_page(
            &who,
            t.new_incident_title.to_string(),
            "/incidents/new".into(),
            "/".into(),
            v,
            Errors::new(&errors, t),
            Vec::new(),
        );
        super::html(&who.web, StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let whole = match v.clone().into_whole() {
        Ok(whole) => whole,
        Err(errors) => return refused(v, errors),
    };
    let policy = policy.map(|p| p.get_ref().clone()).unwrap_or_default();
    let files = match super::attachments::prepare_all(&policy, uploads, t).await? {
        Ok(files) => files,
        Err((_, message)) => return refused(v, vec![FieldError::coded("photos", "file", message)]),
    };
    let acting = who.who();
    let result = db
        .run(move |conn| {
            incidents::create_with_files(conn, &index, &policy, &acting, whole, &files)
        })
        .await;
    match result {
        Ok(event) => Ok(see_other(&format!("/incidents/{}?saved=1", event.id))),
        Err(AppError::Validation(errors)) => refused(v, errors),
        Err(other) => Err(other),
    }
}

async fn edit_form(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Monitor)?;
    let id = crate::http::parse_id(&id, "incident")?;
    let lookup = id.clone();
    let event = db
        .run(move |conn| incidents::load(conn, &lookup, Visibility::Live))
        .await?;
    let t = who.ctx.t;
    let page = form_page(
        &who,
        fill(t.edit_incident_title, &[("title", &event.fields.title)]),
        format!("/incidents/{id}/edit"),
        format!("/incidents/{id}"),
        IncidentForm::from_event(&event),
        Errors::default(),
        Vec::new(),
    );
    super::ok(&who.web, &page)
}

/// What differs between the saved incident and the form, field by field,
/// as people read them.
fn differences(saved: &IncidentForm, typed: &IncidentForm, t: &Texts) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut check = |field: &'static str, theirs: String, yours: String| {
        if theirs.trim() != yours.trim() {
            out.push(Difference {
                field,
                theirs,
                yours,
            });
        }
    };
    let sources = |f: &IncidentForm| {
        f.sources()
            .iter()
            .map(|s| format!("{} {}", s.publisher, s.url).trim().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let actors = |f: &IncidentForm| {
        f.actors()
            .iter()
            .map(|a| {
                let role = LinkRole::parse(&a.role).map(|r| r.label(t)).unwrap_or("");
                format!("{} ({role})", a.name)
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let label = |v: &str| {
        EventType::parse(v)
            .map(|x| x.label(t).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    check(t.field_title, saved.title.clone(), typed.title.clone());
    check(
        t.description,
        saved.description.clone(),
        typed.description.clone(),
    );
    check(
        t.field_type,
        label(&saved.event_type),
        label(&typed.event_type),
    );
    check(
        t.field_sub_type,
        saved.sub_event_type.clone(),
        typed.sub_event_type.clone(),
    );
    check(
        t.field_date,
        saved.occurred_on.clone(),
        typed.occurred_on.clone(),
    );
    check(
        t.coordinates,
        format!("{}, {}", saved.lat, saved.lon),
        format!("{}, {}", typed.lat, typed.lon),
    );
    check(t.field_place, saved.place.clone(), typed.place.clone());
    check(
        t.field_fatalities,
        saved.fatalities.clone(),
        typed.fatalities.clone(),
    );
    check(
        t.field_injuries,
        saved.injuries.clone(),
        typed.injuries.clone(),
    );
    check(
        t.field_verification,
        Verification::parse(&saved.verification)
            .map(|x| x.label(t).to_string())
            .unwrap_or_default(),
        Verification::parse(&typed.verification)
            .map(|x| x.label(t).to_string())
            .unwrap_or_default(),
    );
    check(t.sources, sources(saved), sources(typed));
    check(t.actors, actors(saved), actors(typed));
    out
}

async fn update(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let v: IncidentForm = form::parse(&body)?;
    who.check_csrf(&v.csrf)?;
    who.require(Role::Monitor)?;
    let id = crate::http::parse_id(&id, "incident")?;
    let t = who.ctx.t;
    let heading = fill(t.edit_incident_title, &[("title", &v.title)]);
    let action = format!("/incidents/{id}/edit");
    let cancel = format!("/incidents/{id}");
    let refused = |v: IncidentForm, errors: Vec<FieldError>| {
        let page = form_page(
            &who,
            heading.clone(),
            action.clone(),
            cancel.clone(),
            v,
            Errors::new(&errors, t),
            Vec::new(),
        );
        super::html(&who.web, StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let version: i64 = v
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("the form has no version to edit from".into()))?;
    let whole = match v.clone().into_whole() {
        Ok(whole) => whole,
        Err(errors) => return refused(v, errors),
    };
    let acting = who.who();
    let target = id.clone();
    let result = db
        .run(move |conn| {
            incidents::update_whole(
                conn,
                &index,
                &acting,
                &target,
                &IfMatch::Versions(vec![version]),
                whole,
            )
        })
        .await;
    match result {
        Ok(event) => Ok(see_other(&format!("/incidents/{}?saved=1", event.id))),
        Err(AppError::Validation(errors)) => refused(v, errors),
        Err(AppError::PreconditionFailed(_)) => {
            // Someone saved meanwhile: show both, keep what was typed, and
            // let the person save over it knowingly (the form now carries
            // the version they have seen).
            let lookup = id.clone();
            let saved = db
                .run(move |conn| incidents::load(conn, &lookup, Visibility::Live))
                .await?;
            let theirs = IncidentForm::from_event(&saved);
            let conflict = differences(&theirs, &v, t);
            let mut v = v;
            v.version = saved.version.to_string();
            let page = form_page(
                &who,
                heading.clone(),
                action.clone(),
                cancel.clone(),
                v,
                Errors::default(),
                conflict,
            );
            super::html(&who.web, StatusCode::CONFLICT, &page)
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    csrf: String,
    version: String,
}

async fn delete(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: DeleteForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "incident")?;
    let version: i64 = f
        .version
        .parse()
        .map_err(|_| AppError::BadRequest("the form has no version".into()))?;
    let acting = who.who();
    let target = id.clone();
    db.run(move |conn| {
        incidents::delete(
            conn,
            &index,
            &acting,
            &target,
            &IfMatch::Versions(vec![version]),
        )
    })
    .await?;
    Ok(see_other(&format!("/incidents/{id}")))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn restore(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "incident")?;
    let acting = who.who();
    let target = id.clone();
    db.run(move |conn| incidents::restore(conn, &index, &acting, &target))
        .await?;
    Ok(see_other(&format!("/incidents/{id}")))
}

#[derive(Deserialize)]
struct PublicationForm {
    csrf: String,
    state: String,
}

/// "Publicar" / "Retirar" on the incident's page (admins).
async fn publication(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: PublicationForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "incident")?;
    let state = crate::events::Publication::parse(&f.state)
        .ok_or_else(|| AppError::BadRequest("state must be internal or published".into()))?;
    let acting = who.who();
    let target = id.clone();
    db.run(move |conn| incidents::set_publication(conn, &acting, &target, state))
        .await?;
    Ok(see_other(&format!("/incidents/{id}?saved=1")))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/incidents", web::get().to(list))
        .route("/incidents/new", web::get().to(new_form))
        .route(
            "/incidents/new",
            web::post()
                .guard(actix_web::guard::fn_guard(|ctx| {
                    ctx.head()
                        .headers()
                        .get(actix_web::http::header::CONTENT_TYPE)
                        .is_some_and(|v| v.as_bytes().starts_with(b"multipart/form-data"))
                }))
                .to(create_with_photos),
        )
        .route("/incidents/new", web::post().to(create))
        .route("/incidents/{id}", web::get().to(show))
        .route("/incidents/{id}/edit", web::get().to(edit_form))
        .route("/incidents/{id}/edit", web::post().to(update))
        .route("/incidents/{id}/delete", web::post().to(delete))
        .route("/incidents/{id}/restore", web::post().to(restore))
        .route("/incidents/{id}/publication", web::post().to(publication));
}

/// A type's box in a filter form: value, label, ticked.
pub(super) type TypeBox = (&'static str, &'static str, bool);
/// An option: value, label.
pub(super) type Choice = (&'static str, &'static str);

/// The incident type boxes (value, label, ticked) and the verification
/// options of a filter form: the list's, the map's and the figures'.
pub(super) fn filter_choices(t: &Texts, chosen_types: &[String]) -> (Vec<TypeBox>, Vec<Choice>) {
    let types = EventType::ALL
        .iter()
        .map(|ty| {
            (
                ty.as_str(),
                ty.label(t),
                chosen_types.iter().any(|c| c == ty.as_str()),
            )
        })
        .collect();
    let verifications = Verification::ALL
        .iter()
        .map(|v| (v.as_str(), v.label(t)))
        .collect();
    (types, verifications)
}
