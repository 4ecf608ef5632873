//! `/metrics` read by a real Prometheus text-format parser, and `/readyz`
//! turning degraded when alerts stop going out.

use diesel::prelude::*;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;

use vigia::schema::alerts;

use crate::cli::vigia;
use crate::helpers::{event_with, spawn_app_with, TestApp, TestDb};

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let res = app.get("/metrics", &app.admin).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.body.as_str().unwrap().to_string();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap()
        .samples
}

fn find<'a>(samples: &'a [Sample], metric: &str, labels: &[(&str, &str)]) -> &'a Sample {
    samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| {
            let names: Vec<String> = samples
                .iter()
                .filter(|s| s.metric == metric)
                .map(|s| format!("{:?}", s.labels))
                .collect();
            panic!("no sample {metric} {labels:?} among {names:?}")
        })
}

fn number(sample: &Sample) -> f64 {
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{} is not a number: {other:?}", sample.metric),
    }
}

fn watch_body() -> serde_json::Value {
    json!({"email": "ana@example.org", "target": {"type": "area", "geometry": {"type": "Polygon", "coordinates": [[[-74.0, -15.0], [-72.0, -15.0], [-72.0, -13.0], [-74.0, -13.0], [-74.0, -15.0]]]}}, "frequency": "immediate", "language": "es"})
}

#[actix_web::test]
async fn metrics_are_prometheus_text_for_admins() {
    let app = spawn_app_with(TestDb::new(), |s| s.alerts.deliver = false).await;
    let event = app.create_event(event_with(json!({}))).await;
    let id = event["id"].as_str().unwrap();
    for _ in 0..2 {
        let res = app
            .get(&format!("/api/v1/events/{id}"), &app.researcher)
            .await;
        assert_eq!(res.status, 200);
    }
    let res = app
        .post("/api/v1/watches", &app.researcher, watch_body())
        .await;
    assert_eq!(res.status, 201, "{}", res.body);

    // Only admins.
    assert_eq!(app.get("/metrics", &app.monitor).await.status, 403);
    assert_eq!(
        app.request(actix_web::http::Method::GET, "/metrics", None, None)
            .await
            .status,
        401
    );

    // A backup from the command line, then a failed one.
    let dir = tempfile::tempdir().unwrap();
    let out = vigia(&app.test_db)
        .arg("backup")
        .arg(dir.path().join("ok.backup"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples = scrape(&app).await;
    let route = [
        ("method", "GET"),
        ("route", "/api/v1/events/:id"),
        ("status", "200"),
    ];
    assert!(number(find(&samples, "vigia_http_requests_total", &route)) >= 2.0);
    let created = find(
        &samples,
        "vigia_http_requests_total",
        &[
            ("method", "POST"),
            ("route", "/api/v1/events"),
            ("status", "201"),
        ],
    );
    assert!(number(created) >= 1.0);
    // Paths with ids never become series of their own.
    assert!(!samples
        .iter()
        .any(|s| s.labels.get("route").is_some_and(|r| r.contains(id))));
    let latency = find(
        &samples,
        "vigia_http_request_duration_seconds",
        &[("method", "GET"), ("route", "/api/v1/events/:id")],
    );
    match &latency.value {
        Value::Histogram(buckets) => {
            let all = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
            assert!(all >= 2.0, "{buckets:?}");
        }
        other => panic!("latency is not a histogram: {other:?}"),
    }
    for state in ["in_use", "idle"] {
        find(&samples, "vigia_db_pool_connections", &[("state", state)]);
    }
    let pending = find(
        &samples,
        "vigia_outbox_mails",
        &[("kind", "confirmation"), ("status", "pending")],
    );
    assert_eq!(number(pending), 1.0);
    assert_eq!(
        number(find(
            &samples,
            "vigia_outbox_mails",
            &[("kind", "alert"), ("status", "failed")]
        )),
        0.0
    );
    find(
        &samples,
        "vigia_outbox_oldest_pending_alert_age_seconds",
        &[],
    );
    find(&samples, "vigia_deliveries_total", &[("result", "sent")]);
    find(&samples, "vigia_deliveries_total", &[("result", "failed")]);
    assert!(
        number(find(
            &samples,
            "vigia_index_rebuilds_total",
            &[("layer", "concessions")]
        )) >= 1.0
    );
    let last_success = number(find(
        &samples,
        "vigia_backup_last_success_timestamp_seconds",
        &[],
    ));
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - last_success).abs() < 120.0,
        "{last_success} vs {now}"
    );
    assert_eq!(number(find(&samples, "vigia_backup_last_failed", &[])), 0.0);

    // A failing backup shows.
    let out = vigia(&app.test_db)
        .arg("backup")
        .arg(dir.path().join("no/such/folder/x.backup"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let samples = scrape(&app).await;
    assert_eq!(number(find(&samples, "vigia_backup_last_failed", &[])), 1.0);
    assert_eq!(
        number(find(
            &samples,
            "vigia_backup_last_success_timestamp_seconds",
            &[]
        )),
        last_success
    );
}

#[actix_web::test]
async fn readyz_turns_degraded_when_mail_stays_due() {
    let app = spawn_app_with(TestDb::new(), |s| {
        s.alerts.deliver = false;
        s.alerts.ready_max_due_seconds = 60;
    })
    .await;
    let res = app
        .post("/api/v1/watches", &app.researcher, watch_body())
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    // Just due: ready.
    let res = app
        .request(actix_web::http::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    // The confirmation has waited two minutes past its time: degraded.
    let mut conn = app.db.get().unwrap();
    let long_ago = vigia::db::now() - chrono::Duration::seconds(120);
    diesel::update(alerts::table)
        .set(alerts::next_attempt_at.eq(long_ago))
        .execute(&mut *conn)
        .unwrap();
    let res = app
        .request(actix_web::http::Method::GET, "/readyz", None, None)
        .await;
    let reason = res.problem(503)["detail"].as_str().unwrap();
    assert!(reason.starts_with("degraded: "), "{reason}");
    assert!(reason.contains("ready_max_due_seconds"), "{reason}");

    // Sent: ready again.
    diesel::update(alerts::table)
        .set(alerts::status.eq("sent"))
        .execute(&mut *conn)
        .unwrap();
    let res = app
        .request(actix_web::http::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}
