//! The analysts' pages: suggested cases linked or dismissed from an
//! incident's page, the review queue, a report's entries uploaded and its
//! reconciliation worked from the page.

use actix_web::http::Method;
use serde_json::{json, Value};

use vigia::keys::Role;

use crate::helpers::{event_with, los_chancas, multipart, spawn_app, TestApp};
use crate::pages::{signed_in, Browser, Page};

fn same_origin(app: &TestApp) -> [(&'static str, String); 2] {
    [
        ("Origin", app.address.clone()),
        ("Sec-Fetch-Site", "same-origin".to_string()),
    ]
}

/// Posts a file from a page's form, as the browser would.
async fn upload(
    b: &mut Browser,
    app: &TestApp,
    path: &str,
    name: &str,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> Page {
    let (ct, body) = multipart(name, "text/csv", bytes, fields);
    let headers = same_origin(app);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.request(
        Method::POST,
        path,
        &headers,
        Some((&ct, String::from_utf8(body).unwrap())),
    )
    .await
}

async fn create_case(app: &TestApp, body: Value) -> String {
    let res = app.post("/api/v1/cases", &app.monitor, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

fn suggested_ids(app_body: &Value) -> Vec<String> {
    app_body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["case"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn a_suggested_case_is_linked_or_dismissed_in_one_click_and_a_dismissal_is_remembered() {
    let app = spawn_app().await;
    let chancas = create_case(
        &app,
        json!({"name": "Tiaparo - Tapayrihua - SPCC (Los Chancas)", "case_type": "socioambiental",
               "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca", "ubigeo": "030410"}),
    )
    .await;
    let decoy = create_case(
        &app,
        json!({"name": "Cotaruse <script>alert(1)</script>", "case_type": "socioambiental",
               "region": "Apurímac", "province": "Aymaraes", "district": "Cotaruse", "ubigeo": "030404"}),
    )
    .await;
    let event = app.create_event(los_chancas()).await;
    let eid = event["id"].as_str().unwrap().to_string();
    let api = format!("/api/v1/events/{eid}/case-suggestions");
    let both = suggested_ids(&app.get(&api, &app.researcher).await.body);
    assert_eq!(
        both,
        vec![chancas.clone(), decoy.clone()],
        "district above province"
    );

    // A researcher reads the suggestions in words, without the buttons.
    let mut researcher = signed_in(&app, "ines@example.org", "Inés", Role::Researcher).await;
    let page = researcher.get(&format!("/incidents/{eid}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Posibles casos de la Defensoría"));
    assert!(
        page.body.contains("mismo distrito (030410)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("misma provincia (0304)"));
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(!page.body.contains("/suggestions/"));
    let csrf = page.csrf();
    let refused = researcher
        .post(
            &format!("/incidents/{eid}/suggestions/{decoy}/dismiss"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("<html"), "a page, not JSON");

    // A monitor dismisses the decoy: gone from the page and from the API,
    // for good; dismissing again changes nothing.
    let mut monitor = signed_in(&app, "rosa@example.org", "Rosa", Role::Monitor).await;
    let page = monitor.get(&format!("/incidents/{eid}")).await;
    let csrf = page.csrf();
    for _ in 0..2 {
        let done = monitor
            .post(
                &format!("/incidents/{eid}/suggestions/{decoy}/dismiss"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(
            done.location.as_deref(),
            Some(format!("/incidents/{eid}?dismissed=1").as_str())
        );
    }
    let page = monitor.get(&format!("/incidents/{eid}?dismissed=1")).await;
    assert!(page.body.contains("Sugerencia descartada"));
    assert!(
        page.body.contains("descartó un caso sugerido"),
        "in the history"
    );
    assert!(!page.body.contains("Cotaruse"), "{}", page.body);
    assert_eq!(
        suggested_ids(&app.get(&api, &app.researcher).await.body),
        vec![chancas.clone()]
    );

    // Linking the right one: listed among the incident's cases, no longer
    // suggested.
    let done = monitor
        .post(
            &format!("/incidents/{eid}/cases"),
            &[("csrf", &csrf), ("case_id", &chancas)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = monitor.get(done.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Incidente vinculado al caso."));
    assert!(page.body.contains(&format!("href=\"/cases/{chancas}\"")));
    assert!(page.body.contains("Ningún caso parece corresponder"));
    assert!(suggested_ids(&app.get(&api, &app.researcher).await.body).is_empty());
    let linked = app
        .get(&format!("/api/v1/events/{eid}"), &app.researcher)
        .await;
    assert_eq!(linked.body["cases"][0]["id"], chancas.as_str());

    // Through the API too, with its roles; an unknown case is 404.
    let other = app
        .create_event(event_with(
            json!({"occurred_on": "2022-05-03", "admin": {"ubigeo": "030410"}}),
        ))
        .await;
    let oid = other["id"].as_str().unwrap();
    let path = format!("/api/v1/events/{oid}/case-suggestions/{chancas}/dismiss");
    let res = app.post(&path, &app.researcher, json!({})).await;
    assert_eq!(res.status, 403);
    let res = app.post(&path, &app.monitor, json!({})).await;
    assert_eq!(res.status, 204, "{}", res.body);
    let ghost = uuid::Uuid::new_v4();
    let res = app
        .post(
            &format!("/api/v1/events/{oid}/case-suggestions/{ghost}/dismiss"),
            &app.monitor,
            json!({}),
        )
        .await;
    assert_eq!(res.status, 404);
    let audit = app
        .get("/api/v1/audit?entity=case_dismissal", &app.admin)
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        audit.body
    );
}

#[actix_web::test]
async fn the_review_queue_takes_the_oldest_first_and_keeps_the_reason() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for title in ["Primero", "Segundo", "Tercero"] {
        let e = app.create_event(event_with(json!({"title": title}))).await;
        ids.push(e["id"].as_str().unwrap().to_string());
    }
    app.create_event(event_with(
        json!({"title": "Ya verificado", "verification": "verified"}),
    ))
    .await;

    let mut researcher = signed_in(&app, "ines@example.org", "Inés", Role::Researcher).await;
    let refused = researcher.get("/review").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("<html"));

    let mut b = signed_in(&app, "rosa@example.org", "Rosa", Role::Monitor).await;
    let page = b.get("/review").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("3 por verificar"));
    assert!(!page.body.contains("Ya verificado"));
    let first = page.body.find("Primero").unwrap();
    assert!(first < page.body.find("Segundo").unwrap());
    assert!(page.body.find("Segundo").unwrap() < page.body.find("Tercero").unwrap());
    let csrf = page.csrf();

    // A note too long: said next to that incident's note, nothing written.
    let long = "x".repeat(2001);
    let bad = b
        .post(
            &format!("/review/{}", ids[0]),
            &[
                ("csrf", &csrf),
                ("verdict", "verified"),
                ("note", &long),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains(&format!("id=\"note-{}-error\"", ids[0])));
    assert!(bad.body.contains("3 por verificar"));
    // Not a verdict the queue gives.
    let bad = b
        .post(
            &format!("/review/{}", ids[0]),
            &[("csrf", &csrf), ("verdict", "unverified"), ("version", "1")],
        )
        .await;
    assert_eq!(bad.status, 400);

    let done = b
        .post(
            &format!("/review/{}", ids[0]),
            &[
                ("csrf", &csrf),
                ("verdict", "verified"),
                ("note", "Confirmado con la comisaría de Tapairihua."),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = b.get(done.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Listo: «Primero»."), "{}", page.body);
    assert!(page.body.contains("2 por verificar"));
    let e = app
        .get(&format!("/api/v1/events/{}", ids[0]), &app.researcher)
        .await;
    assert_eq!(e.body["verification"], "verified");
    assert_eq!(
        e.body["verification_note"],
        "Confirmado con la comisaría de Tapairihua."
    );
    // The incident's page shows the reason.
    let shown = b.get(&format!("/incidents/{}", ids[0])).await;
    assert!(shown.body.contains("Confirmado con la comisaría"));

    // Someone edited the second meanwhile: the page says so, nothing lost.
    let res = app
        .patch(
            &format!("/api/v1/events/{}", ids[1]),
            &app.monitor,
            json!({"title": "Segundo (corregido)"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let stale = b
        .post(
            &format!("/review/{}", ids[1]),
            &[
                ("csrf", &csrf),
                ("verdict", "disputed"),
                ("note", "Dudoso"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale.body.contains("Alguien cambió este incidente"));
    assert!(stale.body.contains("Dudoso"), "the note typed stays");
    let e = app
        .get(&format!("/api/v1/events/{}", ids[1]), &app.researcher)
        .await;
    assert_eq!(e.body["verification"], "unverified");
}

const HEADER: &str = "report_number,report_month,case_name,case_type,activity,region,province,district,ubigeo,companies,status,phase,violence,dialogue,description\n";

#[actix_web::test]
async fn an_analyst_uploads_a_report_sees_its_bad_rows_imports_the_valid_ones_and_reconciles_the_month(
) {
    let app = spawn_app().await;
    // A company incident of May 2022, linked to no case yet.
    let spcc = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Southern Perú Copper Corporation", "kind": "company", "aliases": ["SPCC"]}),
        )
        .await;
    assert_eq!(spcc.status, 201, "{}", spcc.body);
    let event = app.create_event(los_chancas()).await;
    let eid = event["id"].as_str().unwrap().to_string();
    let res = app
        .post(
            &format!("/api/v1/events/{eid}/actors"),
            &app.monitor,
            json!({"actor_id": spcc.body["id"], "role": "target", "attribution": "confirmed"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let csv = format!(
        "{HEADER}{}{}{}{}",
        "219,2022-05,\"Tiaparo - Tapayrihua - SPCC (Los Chancas)\",Socioambiental,Minería,Apurímac,Aymaraes,Pocohuanca,030410,SPCC,Activo,Crisis,Sí,no,\"Incendio del campamento.\"\n",
        "219,2022-05,\"Cotaruse - Iscahuaca\",Socioambiental,Minería,Apurímac,Aymaraes,Cotaruse,030404,,latente,,no,no,\n",
        "219,2022-13,Las Bambas,Socioambiental,Minería,Apurímac,Cotabambas,Challhuahuacho,030506,,activo,,no,no,\n",
        "219,2022-05,Las Bambas,Socioambiental,Minería,Apurímac,Cotabambas,Challhuahuacho,030506,,activo,,quizás,no,\n",
    );

    // Researchers do not import.
    let mut researcher = signed_in(&app, "ines@example.org", "Inés", Role::Researcher).await;
    assert_eq!(researcher.get("/cases/import").await.status, 403);

    let mut b = signed_in(&app, "rosa@example.org", "Rosa", Role::Monitor).await;
    let form = b.get("/cases/import").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let checked = upload(
        &mut b,
        &app,
        "/cases/import",
        "reporte-219.csv",
        csv.as_bytes(),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(checked.status, 422, "{}", checked.body);
    assert!(checked.body.contains("No se escribió nada"));
    // Both bad rows, each with its line and column.
    assert!(
        checked
            .body
            .contains("<td>4</td><td><code>report_month</code></td>"),
        "{}",
        checked.body
    );
    assert!(checked
        .body
        .contains("<td>5</td><td><code>violence</code></td>"));
    // In the page's language, the value quoted.
    assert!(checked
        .body
        .contains("«2022-13» no es un mes como AAAA-MM."));
    assert!(checked.body.contains("«quizás» no es «sí» ni «no»."));
    let cases = app.get("/api/v1/cases", &app.researcher).await;
    assert!(
        cases.body["items"].as_array().unwrap().is_empty(),
        "nothing written"
    );
    let staged = checked.input("staged");

    // Another person cannot import what Rosa sent.
    let mut other = signed_in(&app, "ana@example.org", "Ana", Role::Monitor).await;
    let other_csrf = other.get("/cases/import").await.csrf();
    let res = other
        .post(
            "/cases/import/valid",
            &[("csrf", &other_csrf), ("staged", &staged)],
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.body);

    let done = b
        .post(
            "/cases/import/valid",
            &[("csrf", &csrf), ("staged", &staged)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Importación hecha: reporte-219.csv"),
        "{}",
        done.body
    );
    assert!(done.body.contains("casos nuevos: 2"));
    assert!(done.body.contains("entradas nuevas: 2"));
    assert!(done.body.contains("filas omitidas: 2"));
    // Once imported, the kept file is gone.
    let again = b
        .post(
            "/cases/import/valid",
            &[("csrf", &csrf), ("staged", &staged)],
        )
        .await;
    assert_eq!(again.status, 404);
    // A file with the wrong header: the reason next to the file field.
    let wrong = upload(
        &mut b,
        &app,
        "/cases/import",
        "otro.csv",
        b"a,b,c\n1,2,3\n",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("id=\"entries-file-error\""));

    // The month's reconciliation: Cotaruse has no incident, the fire has no
    // case; the fire's own case is offered on both sides.
    let cases = app.get("/api/v1/cases?q=chancas", &app.researcher).await;
    let chancas = cases.body["items"][0]["id"].as_str().unwrap().to_string();
    let page = b.get("/reconciliation?month=2022-05").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Reporte 219 (2022-05)"));
    assert!(page.body.contains("Cotaruse - Iscahuaca"));
    assert!(page.body.contains("Queman el campamento"));
    assert!(page
        .body
        .contains(&format!("name=\"case_id\" value=\"{chancas}\"")));
    let back = page.input("back");
    assert_eq!(back, "/reconciliation?month=2022-05");
    let done = b
        .post(
            &format!("/incidents/{eid}/cases"),
            &[("csrf", &csrf), ("case_id", &chancas), ("back", &back)],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some("/reconciliation?month=2022-05&linked=1")
    );
    let page = b.get("/reconciliation?month=2022-05&linked=1").await;
    assert!(page.body.contains("Incidente vinculado al caso."));
    assert!(page
        .body
        .contains("Todos los incidentes mineros de esas fechas tienen caso."));
    assert!(
        page.body.contains("Cotaruse - Iscahuaca"),
        "still without incident"
    );

    // Bad and unknown reports are said on the page.
    let bad = b.get("/reconciliation?month=2022-13").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"r-error\""));
    let none = b.get("/reconciliation?report=300").await;
    assert_eq!(none.status, 404);
    assert!(none
        .body
        .contains("No hay casos registrados en el reporte 300"));
}
