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
