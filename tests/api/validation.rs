//! Every bad input named: each gets a clear problem+json answer, never a
//! 500, and never a partial write.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{event_with, los_chancas, spawn_app, TestApp};

async fn assert_nothing_written(app: &TestApp) {
    let list = app.get("/api/v1/events", &app.admin).await;
    assert_eq!(
        list.body["items"],
        json!([]),
        "a refused request wrote something"
    );
}

#[actix_web::test]
async fn every_invalid_field_is_listed_at_once() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            json!({
                "title": "",
                "description": "x".repeat(20_001),
                "event_type": "picnic",
                "sub_event_type": "y".repeat(101),
                "occurred_on": "2022-02-30",
                "time_precision": "week",
                "location": {"lat": 91.5, "lon": -181, "precision": "somewhere"},
                "admin": {"ubigeo": "3041"},
                "fatalities": -1,
                "injuries": 100001,
                "sources": [{"publisher": "ok"}, {"publisher": " ", "url": "javascript:alert(1)", "published_on": "yesterday"}],
                "verification": "probably"
            }),
        )
        .await;
    let mut fields = res.invalid_fields();
    fields.dedup();
    assert_eq!(
        fields,
        vec![
            "description",
            "event_type",
            "fatalities",
            "injuries",
            "location.lat",
            "location.lon",
            "location.precision",
            "occurred_on",
            "sources[1].published_on",
            "sources[1].publisher",
            "sources[1].url",
            "sub_event_type",
            "time_precision",
            "title",
            "verification",
        ],
        "{}",
        res.body
    );
    for error in res.body["errors"].as_array().unwrap() {
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    assert_nothing_written(&app).await;
}

#[actix_web::test]
async fn missing_required_fields_are_named() {
    let app = spawn_app().await;
    let res = app.post("/api/v1/events", &app.monitor, json!({})).await;
    assert_eq!(
        res.invalid_fields(),
        vec!["event_type", "location", "occurred_on", "title"]
    );
    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            event_with(json!({"location": {"place": "somewhere"}})),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["location.lat", "location.lon"]);
    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            event_with(json!({"sources": [{"title": "no publisher"}]})),
        )
        .await;
    assert_eq!(res.invalid_fields(), vec!["sources[0].publisher"]);
    assert_nothing_written(&app).await;
}

#[actix_web::test]
async fn named_bad_values_are_422() {
    let app = spawn_app().await;
    let tomorrow_plus = (chrono::Utc::now().date_naive() + chrono::Days::new(3)).to_string();
    let cases = [
        ("blank title", json!({"title": "   \t "}), "title"),
        (
            "title of 301 characters",
            json!({"title": "á".repeat(301)}),
            "title",
        ),
        (
            "future date",
            json!({"occurred_on": tomorrow_plus}),
            "occurred_on",
        ),
        (
            "date before 1900",
            json!({"occurred_on": "1850-01-01"}),
            "occurred_on",
        ),
        (
            "date in another format",
            json!({"occurred_on": "01/05/2022"}),
            "occurred_on",
        ),
        (
            "ubigeo with letters",
            json!({"admin": {"ubigeo": "03041A"}}),
            "admin.ubigeo",
        ),
        ("empty admin", json!({"admin": {}}), "admin"),
        (
            "url without scheme",
            json!({"sources": [{"publisher": "x", "url": "www.example.org"}]}),
            "sources[0].url",
        ),
        (
            "url with spaces",
            json!({"sources": [{"publisher": "x", "url": "https://exa mple.org"}]}),
            "sources[0].url",
        ),
        (
            "lat as text",
            json!({"location": {"lat": "-14", "lon": -73.0}}),
            "location.lat",
        ),
        (
            "fatalities as a fraction",
            json!({"fatalities": 1.5}),
            "fatalities",
        ),
        (
            "sources not a list",
            json!({"sources": {"publisher": "x"}}),
            "sources",
        ),
        ("unknown field", json!({"severity": "high"}), "severity"),
        (
            "unknown nested field",
            json!({"location": {"lat": 1.0, "lon": 1.0, "alt": 3}}),
            "location.alt",
        ),
        (
            "server-made field",
            json!({"id": "6f1c2a4e-0000-4000-8000-000000000000"}),
            "id",
        ),
        ("NUL character", json!({"title": "a\u{0}b"}), "title"),
        (
            "NUL in a source",
            json!({"sources": [{"publisher": "a\u{0}"}]}),
            "sources[0].publisher",
        ),
        (
            "101 sources",
            json!({"sources": vec![json!({"publisher": "p"}); 101]}),
            "sources",
        ),
    ];
    for (name, overrides, field) in cases {
        let res = app
            .post("/api/v1/events", &app.monitor, event_with(overrides))
            .await;
        assert_eq!(res.status, 422, "{name}: {}", res.body);
        let fields = res.invalid_fields();
        assert!(
            fields.iter().any(|f| f == field),
            "{name}: expected {field:?} in {fields:?}"
        );
    }
    assert_nothing_written(&app).await;
}

#[actix_web::test]
async fn malformed_bodies_are_400_415_413() {
    let app = spawn_app().await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/events",
                Some(&app.monitor),
                &[],
                Some((content_type, body)),
            )
            .await
        }
    };
    post("application/json", b"{\"title\": ".to_vec())
        .await
        .problem(400);
    post("application/json", b"not json".to_vec())
        .await
        .problem(400);
    post("application/json", b"".to_vec()).await.problem(400);
    post("application/json", b"{} {}".to_vec())
        .await
        .problem(400);
    post("application/json", vec![0xff, 0xfe, b'{', b'}'])
        .await
        .problem(400);
    post("application/json", b"{\"title\": \"\\ud800\"}".to_vec())
        .await
        .problem(400);
    post("text/plain", los_chancas().to_string().into_bytes())
        .await
        .problem(415);
    post("application/x-www-form-urlencoded", b"title=x".to_vec())
        .await
        .problem(415);
    let huge = json!({"title": "x", "description": "y".repeat(2 * 1024 * 1024)});
    post("application/json", huge.to_string().into_bytes())
        .await
        .problem(413);
    let res = app
        .send(
            Method::POST,
            "/api/v1/events",
            Some(&app.monitor),
            &[],
            None,
        )
        .await;
    res.problem(415);
    assert_nothing_written(&app).await;
}

#[actix_web::test]
async fn a_number_too_large_is_rejected_not_crashed() {
    let app = spawn_app().await;
    let res = app
        .send(
            Method::POST,
            "/api/v1/events",
            Some(&app.monitor),
            &[],
            Some((
                "application/json",
                br#"{"title":"x","event_type":"other","occurred_on":"2022-01-01","location":{"lat":1e400,"lon":0},"fatalities":99999999999999999999}"#.to_vec(),
            )),
        )
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.body);
    res.problem(res.status);
    assert_nothing_written(&app).await;
}

/// Every PATCH body schema says what a merge patch may hold, checked field
/// by field against the running app: no field is required (any subset is a
/// valid patch), and a field is nullable exactly when `null`, which removes
/// it, is accepted.
#[actix_web::test]
async fn patch_schemas_say_which_fields_a_patch_may_remove() {
    let app = spawn_app().await;
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let created = |res: crate::helpers::Response| {
        assert_eq!(res.status, 201, "{}", res.body);
        res.body["id"].as_str().unwrap().to_string()
    };
    let event = app.create_event(los_chancas()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let actor = created(
        app.post(
            "/api/v1/actors",
            &app.admin,
            json!({"name": "Minera Ejemplo S.A.C.", "kind": "company", "aliases": ["Ejemplo"],
                   "ruc": "20100147514", "reinfo_code": "R-1", "notes": "Nota."}),
        )
        .await,
    );
    let case = created(
        app.post(
            "/api/v1/cases",
            &app.admin,
            json!({"name": "Caso de prueba", "case_type": "socioambiental", "activity": "minería",
                   "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca",
                   "ubigeo": "030410", "companies": [actor]}),
        )
        .await,
    );
    let entry = created(
        app.post(
            &format!("/api/v1/cases/{case}/entries"),
            &app.admin,
            json!({"report_number": 220, "report_month": "2022-06", "status": "activo",
                   "phase": "dialogo", "violence": true, "dialogue": true, "description": "Mesa."}),
        )
        .await,
    );
    let concession = created(
        app.post(
            "/api/v1/concessions",
            &app.admin,
            json!({"code": "010461925", "name": "LOS CHANCAS 1", "holder_id": actor,
                   "hectares": 100.0, "status": "titulado", "substance": "cobre", "filed_on": "2001-02-03",
                   "geometry": {"type": "Polygon", "coordinates": [[[-73.1, -14.2], [-73.0, -14.2], [-73.0, -14.1], [-73.1, -14.2]]]}}),
        )
        .await,
    );
    let watch = created(
        app.post(
            "/api/v1/watches",
            &app.admin,
            json!({"email": "vigia@example.org", "target": {"type": "admin_area", "ubigeo": "0304"},
                   "event_types": ["blockade"], "min_verification": "verified",
                   "frequency": "immediate", "language": "es"}),
        )
        .await,
    );
    let records = [
        ("/api/v1/events/{id}", event),
        ("/api/v1/actors/{id}", actor),
        ("/api/v1/cases/{id}", case),
        ("/api/v1/report-entries/{id}", entry),
        ("/api/v1/concessions/{id}", concession),
        ("/api/v1/watches/{id}", watch),
    ];
    let patched: Vec<&String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("patch").is_some())
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        patched,
        {
            let mut paths: Vec<&str> = records.iter().map(|(p, _)| *p).collect();
            paths.sort();
            paths
        },
        "a PATCH this test does not cover"
    );
    let resolve = |schema: &serde_json::Value| {
        let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        doc["components"]["schemas"][name].clone()
    };
    for (template, id) in records {
        let path = template.replace("{id}", &id);
        let body = &doc["paths"][template]["patch"]["requestBody"]["content"]
            ["application/merge-patch+json"]["schema"];
        let schema = resolve(body);
        assert!(
            schema.get("required").is_none(),
            "PATCH {template}: a patch requires nothing, the schema says {}",
            schema["required"]
        );
        assert_eq!(schema["additionalProperties"], false, "PATCH {template}");
        for (field, property) in schema["properties"].as_object().unwrap() {
            let nullable = property["type"]
                .as_array()
                .is_some_and(|types| types.contains(&json!("null")))
                || property["oneOf"]
                    .as_array()
                    .is_some_and(|one| one.contains(&json!({"type": "null"})));
            let res = app
                .patch(&path, &app.admin, json!({ field: null }), Some("*"))
                .await;
            if nullable {
                assert_eq!(
                    res.status, 200,
                    "PATCH {template} {{{field}: null}}: documented as removable; {}",
                    res.body
                );
            } else {
                assert!(
                    res.invalid_fields()
                        .iter()
                        .any(|f| f.starts_with(field.as_str())),
                    "PATCH {template} {{{field}: null}}: documented as not removable; {}",
                    res.body
                );
            }
        }
    }
}

/// Issue 10, item 11: a title `Bloqueo\r\nBcc: evil@x.test` showed as forged
/// lines in the text of alert mails; U+202E turns a name around on screen.
/// One-line fields refuse control and direction characters on every
/// entity; descriptions and notes keep their line breaks.
#[actix_web::test]
async fn one_line_fields_refuse_control_and_direction_characters() {
    let app = spawn_app().await;
    let forged = [
        "Bloqueo\r\nBcc: evil@x.test",
        "Bloqueo\nsegunda línea",
        "tab\there",
        "C1 \u{0085} next line",
        "line\u{2028}separator",
        "evil\u{202E}txt.exe",
        "isolate\u{2066}x\u{2069}",
    ];
    let square = json!({"type": "Polygon", "coordinates": [[[-73.0, -14.0], [-72.9, -14.0], [-72.9, -14.1], [-73.0, -14.0]]]});
    for text in forged {
        let cases = [
            (
                "/api/v1/events",
                event_with(json!({"title": text})),
                "title",
            ),
            (
                "/api/v1/events",
                event_with(json!({"location": {"lat": -14.0, "lon": -73.0, "place": text}})),
                "location.place",
            ),
            (
                "/api/v1/events",
                event_with(json!({"admin": {"district": text}})),
                "admin.district",
            ),
            (
                "/api/v1/events",
                event_with(json!({"sources": [{"publisher": text}]})),
                "sources[0].publisher",
            ),
            (
                "/api/v1/events",
                event_with(json!({"sources": [{"publisher": "La República", "title": text}]})),
                "sources[0].title",
            ),
            (
                "/api/v1/actors",
                json!({"name": text, "kind": "company"}),
                "name",
            ),
            (
                "/api/v1/actors",
                json!({"name": "Minera", "kind": "company", "aliases": ["MSA", text]}),
                "aliases",
            ),
            (
                "/api/v1/concessions",
                json!({"code": "X1", "name": text, "geometry": square}),
                "name",
            ),
            (
                "/api/v1/concessions",
                json!({"code": "X1", "name": "N", "holder_name": text, "geometry": square}),
                "holder_name",
            ),
            (
                "/api/v1/cases",
                json!({"name": text, "case_type": "socioambiental"}),
                "name",
            ),
            (
                "/api/v1/cases",
                json!({"name": "Caso", "case_type": "socioambiental", "district": text}),
                "district",
            ),
            (
                "/api/v1/keys",
                json!({"name": text, "role": "researcher"}),
                "name",
            ),
        ];
        for (path, body, field) in cases {
            let res = app.post(path, &app.admin, body).await;
            if path == "/api/v1/keys" {
                res.problem(422);
                continue;
            }
            res.problem(422);
            assert!(
                res.invalid_fields().iter().any(|f| f == field),
                "{path} {field} {text:?}: {}",
                res.body
            );
        }
    }
    // Descriptions and notes are several lines; only the disguises go.
    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            event_with(json!({"description": "Primera línea.\r\nSegunda línea.\n\tCon sangría."})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(
        res.body["description"],
        "Primera línea.\r\nSegunda línea.\n\tCon sangría."
    );
    let res = app
        .post(
            "/api/v1/events",
            &app.monitor,
            event_with(json!({"description": "al revés \u{202E}odatse"})),
        )
        .await;
    res.problem(422);
    assert_eq!(res.invalid_fields(), ["description"]);
    let res = app
        .post(
            "/api/v1/actors",
            &app.monitor,
            json!({"name": "Minera", "kind": "company", "notes": "a\u{0007}b"}),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["notes"]);
    // Nothing refused was written.
    for list in ["/api/v1/actors", "/api/v1/concessions", "/api/v1/cases"] {
        let res = app.get(list, &app.admin).await;
        assert_eq!(res.body["items"], json!([]), "{list}");
    }
}
