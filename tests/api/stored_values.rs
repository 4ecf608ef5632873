//! Enum columns are written and read by diesel as their text. A text that no
//! enum knows (a hand edit, a newer version's value) is an error naming the
//! column and the value, never a panic; the client sees only the generic 500.

use diesel::prelude::*;
use serde_json::json;
use vigia::error::AppError;

use crate::helpers::{spawn_app, TestApp};

const GENERIC: &str = "an unexpected error occurred; it has been logged";

/// Writes `value` into `column` of every row of `table`, behind Vigía's back.
fn corrupt(app: &TestApp, table: &str, column: &str, value: &str) {
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(format!("UPDATE {table} SET {column} = '{value}'"))
        .execute(&mut conn)
        .unwrap();
}

/// The error is internal and its chain names the column and the value.
#[track_caller]
fn names_column_and_value(error: AppError, column: &str, value: &str) {
    assert!(matches!(error, AppError::Internal { .. }), "{error:?}");
    let report = error.report();
    assert!(
        report.contains(&format!("'{column}'")) && report.contains(&format!("{value:?}")),
        "{report}"
    );
}

/// A GET that reads the corrupt row answers the generic 500.
async fn answers_generic_500(app: &TestApp, path: &str) {
    let res = app.get(path, &app.admin).await;
    assert_eq!(res.problem(500)["detail"], GENERIC);
}

#[actix_web::test]
async fn unknown_case_status_and_type() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Las Bambas", "case_type": "socioambiental", "district": "Challhuahuacho"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let mut conn = app.db.get().unwrap();
    // Typed values go in and come out as the same text.
    let case = vigia::cases::store::load(&mut conn, &id).unwrap();
    assert_eq!(case.case_type, vigia::cases::CaseType::Socioambiental);
    let stored: String = vigia::schema::cases::table
        .find(&id)
        .select(vigia::schema::cases::case_type)
        .first(&mut conn)
        .unwrap();
    assert_eq!(stored, "socioambiental");

    corrupt(&app, "cases", "status", "pendiente");
    names_column_and_value(
        vigia::cases::store::load(&mut conn, &id).unwrap_err(),
        "status",
        "pendiente",
    );
    answers_generic_500(&app, &format!("/api/v1/cases/{id}")).await;
    corrupt(&app, "cases", "status", "activo");
    corrupt(&app, "cases", "case_type", "minero");
    names_column_and_value(
        vigia::cases::store::load(&mut conn, &id).unwrap_err(),
        "case_type",
        "minero",
    );
}

#[actix_web::test]
async fn unknown_watch_target_type_and_alert_status() {
    use vigia::alerts::store::{self, AlertFilter, Scope};

    let app = spawn_app().await;
    let body = json!({
        "email": "ana@example.org",
        "target": {"type": "admin_area", "ubigeo": "0304"},
        "frequency": "daily",
        "language": "en",
    });
    let res = app.post("/api/v1/watches", &app.researcher, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let mut conn = app.db.get().unwrap();
    let watch = store::load(&mut conn, &id, &Scope::All).unwrap();
    assert_eq!(
        watch.target.target_type(),
        vigia::alerts::TargetType::AdminArea
    );
    assert_eq!(watch.frequency, vigia::alerts::Frequency::Daily);
    let stored: (String, String, String) = vigia::schema::watches::table
        .find(&id)
        .select((
            vigia::schema::watches::target_type,
            vigia::schema::watches::frequency,
            vigia::schema::watches::status,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        stored,
        ("admin_area".into(), "daily".into(), "pending".into())
    );

    corrupt(&app, "watches", "target_type", "river");
    names_column_and_value(
        store::load(&mut conn, &id, &Scope::All).unwrap_err(),
        "target_type",
        "river",
    );
    answers_generic_500(&app, &format!("/api/v1/watches/{id}")).await;

    // The confirmation waiting in the outbox.
    let filter = AlertFilter {
        limit: 10,
        ..AlertFilter::default()
    };
    assert_eq!(store::list_alerts(&mut conn, &filter).unwrap().len(), 1);
    corrupt(&app, "alerts", "status", "lost");
    names_column_and_value(
        store::list_alerts(&mut conn, &filter).unwrap_err(),
        "status",
        "lost",
    );
    answers_generic_500(&app, "/api/v1/alerts").await;
}

#[actix_web::test]
async fn unknown_registry_change_kind() {
    let app = spawn_app().await;
    let square = json!({"type": "Polygon", "coordinates": [[
        [-73.01, -14.01], [-72.99, -14.01], [-72.99, -13.99], [-73.01, -13.99], [-73.01, -14.01]
    ]]});
    let res = app
        .post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010461925", "name": "LOS CHANCAS", "geometry": square}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let mut conn = app.db.get().unwrap();
    let changes = vigia::places::store::changes(&mut conn, None, None, 10).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].change, vigia::places::store::ChangeKind::Added);
    let stored: String = vigia::schema::concession_changes::table
        .select(vigia::schema::concession_changes::change)
        .first(&mut conn)
        .unwrap();
    assert_eq!(stored, "added");

    corrupt(&app, "concession_changes", "change", "merged");
    names_column_and_value(
        vigia::places::store::changes(&mut conn, None, None, 10).unwrap_err(),
        "change",
        "merged",
    );
    answers_generic_500(&app, "/api/v1/concessions/changes").await;
}

#[actix_web::test]
async fn audit_entities_and_actions_are_typed() {
    use vigia::audit::{Action, AuditFilter, Entity};

    let app = spawn_app().await;
    let filter = AuditFilter {
        entities: vec![Entity::ApiKey],
        limit: 10,
        ..AuditFilter::default()
    };
    let mut conn = app.db.get().unwrap();
    // The three keys the test app made.
    let records = vigia::audit::list(&mut conn, &filter).unwrap();
    assert_eq!(records.len(), 3);
    assert!(records
        .iter()
        .all(|r| r.entity == Entity::ApiKey && r.action == Action::Create));
    let res = app.get("/api/v1/audit?entity=api_key", &app.admin).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["items"][0]["entity"], "api_key");
    assert_eq!(res.body["items"][0]["action"], "create");
    // An entity Vigía never records matches nothing, as before.
    let res = app.get("/api/v1/audit?entity=dragon", &app.admin).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["items"], json!([]));

    corrupt(&app, "audit_log", "action", "teleport");
    names_column_and_value(
        vigia::audit::list(&mut conn, &filter).unwrap_err(),
        "action",
        "teleport",
    );
    answers_generic_500(&app, "/api/v1/audit").await;
}

#[actix_web::test]
async fn unknown_key_role() {
    use vigia::keys::{self, Role};

    let app = spawn_app().await;
    let mut conn = app.db.get().unwrap();
    let listed = keys::list(&mut conn, None, 10).unwrap();
    let mut roles: Vec<Role> = listed.iter().map(|k| k.role).collect();
    roles.sort();
    assert_eq!(roles, [Role::Researcher, Role::Monitor, Role::Admin]);

    corrupt(&app, "api_keys", "role", "root");
    names_column_and_value(keys::list(&mut conn, None, 10).unwrap_err(), "role", "root");
    // The key behind the request cannot be read: 500, not 401.
    answers_generic_500(&app, "/api/v1/keys").await;
}

#[actix_web::test]
async fn unknown_actor_kind_and_link_role() {
    use vigia::actors::{store, ActorKind, Attribution, LinkRole};

    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Mineros informales de Tiaparo", "kind": "informal_group"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let actor_id = res.body["id"].as_str().unwrap().to_string();
    let event = app.create_event(crate::helpers::los_chancas()).await;
    let event_id = event["id"].as_str().unwrap().to_string();
    let res = app
        .post(
            &format!("/api/v1/events/{event_id}/actors"),
            &app.monitor,
            json!({"actor_id": actor_id, "role": "perpetrator", "attribution": "alleged"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let mut conn = app.db.get().unwrap();
    let linked = store::for_events(&mut conn, std::slice::from_ref(&event_id)).unwrap();
    let link = &linked[&event_id][0];
    assert_eq!(
        (link.kind, link.role, link.attribution),
        (
            ActorKind::InformalGroup,
            LinkRole::Perpetrator,
            Attribution::Alleged
        )
    );
    // The link's audit record carries the same texts.
    let res = app
        .get("/api/v1/audit?entity=event_actor", &app.admin)
        .await;
    assert_eq!(res.body["items"][0]["after"]["role"], "perpetrator");
    assert_eq!(res.body["items"][0]["after"]["attribution"], "alleged");

    corrupt(&app, "event_actors", "role", "bystander");
    names_column_and_value(
        store::for_events(&mut conn, std::slice::from_ref(&event_id)).unwrap_err(),
        "role",
        "bystander",
    );
    answers_generic_500(&app, &format!("/api/v1/events/{event_id}")).await;
    corrupt(&app, "actors", "kind", "dragon");
    names_column_and_value(
        store::load(&mut conn, &actor_id).unwrap_err(),
        "kind",
        "dragon",
    );
    answers_generic_500(&app, &format!("/api/v1/actors/{actor_id}")).await;
}

#[actix_web::test]
async fn unknown_event_type_and_verification() {
    use vigia::events::store::{self, EventFilter, Visibility};
    use vigia::events::{EventType, Verification};

    let app = spawn_app().await;
    let event = app.create_event(crate::helpers::los_chancas()).await;
    let id = event["id"].as_str().unwrap().to_string();
    let mut conn = app.db.get().unwrap();
    let filter = |types: Vec<EventType>| EventFilter {
        event_types: types,
        verification: Some(Verification::Verified),
        limit: 10,
        ..EventFilter::default()
    };
    let stored = store::load(&mut conn, &id, Visibility::Live).unwrap();
    let own_type = stored.fields.event_type;
    assert_eq!(
        store::list(&mut conn, &filter(vec![EventType::Riot, own_type]))
            .unwrap()
            .len(),
        1
    );
    let other = EventType::ALL
        .iter()
        .copied()
        .find(|t| *t != own_type)
        .unwrap();
    assert!(store::list(&mut conn, &filter(vec![other]))
        .unwrap()
        .is_empty());
    let mut unverified = filter(Vec::new());
    unverified.verification = Some(Verification::Unverified);
    assert!(store::list(&mut conn, &unverified).unwrap().is_empty());
    let text: String = vigia::schema::events::table
        .find(&id)
        .select(vigia::schema::events::event_type)
        .first(&mut conn)
        .unwrap();
    assert_eq!(text, own_type.as_str());

    corrupt(&app, "events", "verification", "rumour");
    names_column_and_value(
        store::load(&mut conn, &id, Visibility::Live).unwrap_err(),
        "verification",
        "rumour",
    );
    answers_generic_500(&app, &format!("/api/v1/events/{id}")).await;
    corrupt(&app, "events", "verification", "verified");
    corrupt(&app, "events", "event_type", "picnic");
    names_column_and_value(
        store::load(&mut conn, &id, Visibility::Live).unwrap_err(),
        "event_type",
        "picnic",
    );
    answers_generic_500(&app, "/api/v1/events").await;
}
