//! What a change in one module does to the others (`ops::consequences`):
//! an actor merge reaches incidents, concessions, watches and Defensoría
//! cases alike, each change audited.

use serde_json::{json, Value};

use crate::actors::{create_actor, spcc};
use crate::helpers::{los_chancas, spawn_app, TestApp};

fn items(res: &crate::helpers::Response) -> Vec<Value> {
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["items"].as_array().unwrap().clone()
}

async fn text(app: &TestApp, path: &str) -> String {
    let res = app.get(path, &app.researcher).await;
    assert_eq!(res.status, 200, "{path}");
    res.body.as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_merged_company_is_the_survivor_in_cases_exports_suggestions_and_watches() {
    let app = spawn_app().await;
    let keep = create_actor(&app, spcc()).await;
    let keep_id = keep["id"].as_str().unwrap();
    // The same company under a name the survivor does not know.
    let dup = create_actor(
        &app,
        json!({"name": "Cobre Andino Dup S.A.C.", "kind": "company"}),
    )
    .await;
    let dup_id = dup["id"].as_str().unwrap();

    // A case elsewhere (Arequipa) whose company is the duplicate: only the
    // company can tie it to the Los Chancas fire.
    let case = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Tía María - Valle de Tambo", "case_type": "socioambiental",
                   "region": "Arequipa", "ubigeo": "0407", "companies": [dup_id]}),
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.body);
    let case_id = case.body["id"].as_str().unwrap();
    let entry = app
        .post(
            &format!("/api/v1/cases/{case_id}/entries"),
            &app.monitor,
            json!({"report_number": 220, "report_month": "2022-06", "status": "activo"}),
        )
        .await;
    assert_eq!(entry.status, 201, "{}", entry.body);

    // A researcher watches the duplicate as a titular.
    let watch = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            json!({"email": "ana@example.org", "target": {"type": "holder", "actor_id": dup_id},
                   "frequency": "immediate", "language": "es"}),
        )
        .await;
    assert_eq!(watch.status, 201, "{}", watch.body);
    let watch_id = watch.body["id"].as_str().unwrap();

    // The fire, with the survivor as the affected company.
    let event = app.create_event(los_chancas()).await;
    let event_id = event["id"].as_str().unwrap();
    let linked = app
        .post(
            &format!("/api/v1/events/{event_id}/actors"),
            &app.monitor,
            json!({"actor_id": keep_id, "role": "affected", "attribution": "confirmed"}),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    let suggestions = format!("/api/v1/events/{event_id}/case-suggestions");
    let before = items(&app.get(&suggestions, &app.researcher).await);
    assert!(before.is_empty(), "nothing ties them yet: {before:?}");

    let merged = app
        .post(
            &format!("/api/v1/actors/{dup_id}/merge"),
            &app.admin,
            json!({"into": keep_id}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);

    // The case names the survivor only.
    let case = app
        .get(&format!("/api/v1/cases/{case_id}"), &app.researcher)
        .await;
    let companies: Vec<&str> = case.body["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(companies, vec![keep_id], "{}", case.body);

    // Both exports name it, never the retired record.
    for path in [
        "/api/v1/cases/export.csv",
        "/api/v1/report-entries/export.csv",
    ] {
        let csv = text(&app, path).await;
        assert!(
            csv.contains("Southern Perú Copper Corporation"),
            "{path}: {csv}"
        );
        assert!(!csv.contains("Cobre Andino Dup"), "{path}: {csv}");
    }

    // Suggestions now find the case through the company.
    let after = items(&app.get(&suggestions, &app.researcher).await);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["case"]["id"], case_id);
    assert!(
        after[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("company ")),
        "{after:?}"
    );

    // The watch follows the survivor, and the audit trail says so for the
    // watch and for the case.
    let watch = app
        .get(&format!("/api/v1/watches/{watch_id}"), &app.researcher)
        .await;
    assert_eq!(watch.body["target"]["actor_id"], keep_id, "{}", watch.body);
    for (entity, id) in [("watch", watch_id), ("case", case_id)] {
        let audit = items(
            &app.get(
                &format!("/api/v1/audit?entity={entity}&entity_id={id}"),
                &app.admin,
            )
            .await,
        );
        let merged_by = audit
            .iter()
            .find(|r| r["action"] == "update")
            .unwrap_or_else(|| panic!("no update record for the {entity}: {audit:?}"));
        let by = merged_by["key_name"].as_str().unwrap();
        assert!(by.starts_with("admin-"), "{merged_by}");
    }
}

/// `vigia keys revoke` is the same operation as the API's: the key's
/// watches are suspended in the revocation's transaction.
#[actix_web::test]
async fn revoking_a_key_at_the_command_line_suspends_its_watches() {
    let app = spawn_app().await;
    let watch = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            json!({"email": "ana@example.org", "target": {"type": "admin_area", "ubigeo": "03"},
                   "frequency": "immediate", "language": "es"}),
        )
        .await;
    assert_eq!(watch.status, 201, "{}", watch.body);
    let keys = items(&app.get("/api/v1/keys?limit=200", &app.admin).await);
    let key_id = keys
        .iter()
        .find(|k| k["name"].as_str().unwrap().starts_with("researcher-"))
        .and_then(|k| k["id"].as_str())
        .unwrap()
        .to_string();
    let out = crate::cli::vigia(&app.test_db)
        .args(["keys", "revoke", &key_id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = watch.body["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/watches/{id}"), &app.admin).await;
    assert_eq!(read.body["status"], "suspended", "{}", read.body);
}
