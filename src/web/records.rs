//! The pages of a concession and of an actor.

use actix_web::web;
use actix_web::HttpResponse;
use askama::Template;

use super::{Ctx, SignedIn};
use crate::actors::Actor;
use crate::db::Db;
use crate::error::AppError;
use crate::events::store::{ConcessionKey, EventFilter};
use crate::events::Event;
use crate::i18n::{date_text, fill, Label, Texts};
use crate::ops::events as incidents;
use crate::places::store::{ConcessionFilter, RegistryChange};
use crate::places::Concession;

/// Incidents shown on a concession's or actor's page (the list has the rest).
pub(super) const SHOWN: i64 = 50;

/// An incident as these pages list it.
pub(super) struct Line {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) date: String,
    pub(super) type_label: &'static str,
    pub(super) event_type: &'static str,
    pub(super) extra: String,
}

pub(super) fn line(e: &Event, t: &Texts, extra: String) -> Line {
    Line {
        id: e.id.to_string(),
        title: e.fields.title.clone(),
        date: date_text(e.fields.occurred_on, e.fields.time_precision, t),
        type_label: e.fields.event_type.label(t),
        event_type: e.fields.event_type.as_str(),
        extra,
    }
}

pub(super) fn filter() -> EventFilter {
    EventFilter {
        from: None,
        to: None,
        event_types: Vec::new(),
        verification: None,
        publication: None,
        region: None,
        province: None,
        district: None,
        ubigeo_prefix: None,
        without_ubigeo: false,
        bbox: None,
        words: Vec::new(),
        actor: None,
        concession: None,
        case: None,
        after: None,
        limit: SHOWN,
    }
}

#[derive(Template)]
#[template(path = "concession.html")]
struct ConcessionPage {
    ctx: Ctx,
    t: &'static Texts,
    c: Concession,
    heading: String,
    incidents: Vec<Line>,
    more: bool,
    changes: Vec<(String, &'static str)>,
    geo: String,
    tile_url: String,
    tile_attribution: String,
}

async fn concession(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "concession")?;
    let (c, events, changes): (Concession, Vec<Event>, Vec<RegistryChange>) = db
        .run(move |conn| {
            let c = crate::places::store::load(conn, &id)?;
            let mut f = filter();
            f.concession = Some(ConcessionKey::Id(id.clone()));
            let events = incidents::list(conn, &f)?;
            let changes = crate::places::store::changes_of(conn, &c.code, 20)?;
            Ok::<_, AppError>((c, events, changes))
        })
        .await?;
    let t = who.ctx.t;
    let geo = serde_json::json!({
        "concessions": {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": c.geometry,
            "properties": {"code": c.code, "name": c.name,
                "holder": c.holder.as_ref().map(|h| h.name.clone())},
        }]},
        "points": events.iter().map(|e| [e.fields.location.lat, e.fields.location.lon]).collect::<Vec<_>>(),
    })
    .to_string();
    let page = ConcessionPage {
        t,
        heading: fill(t.concession_title, &[("code", &c.code)]),
        more: events.len() as i64 > SHOWN,
        incidents: events
            .iter()
            .take(SHOWN as usize)
            .map(|e| line(e, t, String::new()))
            .collect(),
        changes: changes
            .iter()
            .map(|ch| (ch.at.format("%Y-%m-%d").to_string(), ch.change.label(t)))
            .collect(),
        geo,
        tile_url: who.web.settings.tile_url.clone(),
        tile_attribution: who.web.settings.tile_attribution.clone(),
        c,
        ctx: who.ctx.clone(),
    };
    super::ok(&who.web, &page)
}

#[derive(Template)]
#[template(path = "actor.html")]
struct ActorPage {
    ctx: Ctx,
    t: &'static Texts,
    a: Actor,
    kind: &'static str,
    incidents: Vec<Line>,
    more: bool,
    held: Vec<Concession>,
}

async fn actor(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "actor")?;
    let (a, events, held) = db
        .run(move |conn| {
            let a = crate::actors::store::load(conn, &id)?;
            let mut f = filter();
            f.actor = Some(id.clone());
            let events = incidents::list(conn, &f)?;
            let held = crate::places::store::list(
                conn,
                &ConcessionFilter {
                    code: None,
                    holder: Some(id.clone()),
                    words: Vec::new(),
                    bbox: None,
                    after: None,
                    zoom: None,
                    limit: 200,
                },
            )?;
            Ok::<_, AppError>((a, events, held))
        })
        .await?;
    let t = who.ctx.t;
    let own_id = a.id;
    let page = ActorPage {
        t,
        kind: a.fields.kind.label(t),
        more: events.len() as i64 > SHOWN,
        incidents: events
            .iter()
            .take(SHOWN as usize)
            .map(|e| {
                let roles: Vec<String> = e
                    .actors
                    .iter()
                    .filter(|l| l.actor_id == own_id)
                    .map(|l| format!("{} ({})", l.role.label(t), l.attribution.label(t)))
                    .collect();
                line(e, t, roles.join(", "))
            })
            .collect(),
        held,
        a,
        ctx: who.ctx.clone(),
    };
    super::ok(&who.web, &page)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/concessions/{id}", web::get().to(concession))
        .route("/actors/{id}", web::get().to(actor));
}
