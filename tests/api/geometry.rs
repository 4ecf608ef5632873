//! User geometry has bounds: a drawn area or a concession outline beyond
//! them is refused with 422 before any transaction, quickly, while the
//! server keeps answering.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// A square outline of `4 * side` positions, about 800 KB for 10,000 a
/// side: under the 1 MiB body limit, four times the 10,000 positions
/// allowed. Its collinear positions make it valid, so only the count can
/// refuse it (before the limits, `geo`'s pairwise check took seconds on it).
fn big_square(side: usize) -> Value {
    let step = 0.0001;
    let (x0, y0) = (-74.0, -15.0);
    let len = side as f64 * step;
    let mut ring = Vec::with_capacity(4 * side + 1);
    for i in 0..side {
        ring.push([x0 + i as f64 * step, y0]);
    }
    for i in 0..side {
        ring.push([x0 + len, y0 + i as f64 * step]);
    }
    for i in 0..side {
        ring.push([x0 + len - i as f64 * step, y0 + len]);
    }
    for i in 0..side {
        ring.push([x0, y0 + len - i as f64 * step]);
    }
    ring.push([x0, y0]);
    // Four decimals keep the body small; the positions stay distinct.
    let ring: Vec<Value> = ring
        .into_iter()
        .map(|[x, y]| json!([(x * 1e4).round() / 1e4, (y * 1e4).round() / 1e4]))
        .collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}

fn small_square() -> Value {
    json!({"type": "Polygon", "coordinates": [[[-73.1, -14.3], [-73.0, -14.3], [-73.0, -14.2], [-73.1, -14.2], [-73.1, -14.3]]]})
}

fn area_watch(geometry: Value) -> Value {
    json!({"email": "zona@example.org", "target": {"type": "area", "geometry": geometry},
           "frequency": "immediate", "language": "es"})
}

/// Asks `/healthz` until `done` is set, asserting that every answer comes
/// within a second.
async fn healthz_stays_quick(app: &TestApp, done: &std::sync::atomic::AtomicBool) -> usize {
    let mut answers = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) || answers == 0 {
        let started = Instant::now();
        let res = app
            .request(actix_web::http::Method::GET, "/healthz", None, None)
            .await;
        let took = started.elapsed();
        assert_eq!(res.status, 200, "{}", res.body);
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
        answers += 1;
    }
    answers
}

#[actix_web::test]
async fn oversized_areas_are_refused_while_the_server_keeps_answering() {
    let app = spawn_app().await;
    let body = area_watch(big_square(10_000));
    assert!(body.to_string().len() < 1024 * 1024, "under the body limit");
    let done = std::sync::atomic::AtomicBool::new(false);
    let refused = async {
        let (a, b) = tokio::join!(
            app.post("/api/v1/watches", &app.researcher, body.clone()),
            app.post("/api/v1/watches", &app.researcher, body.clone()),
        );
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (a, b)
    };
    let ((a, b), answers) = tokio::join!(refused, healthz_stays_quick(&app, &done));
    assert!(answers > 0);
    for res in [a, b] {
        assert_eq!(res.invalid_fields(), ["target.geometry"], "{}", res.body);
        let message = res.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("40001 positions; at most 10000"),
            "{message}"
        );
    }
    let watches = app.get("/api/v1/watches", &app.researcher).await;
    assert_eq!(watches.body["items"], json!([]), "nothing written");

    // The same through an edit: refused, the watch as it was.
    let res = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            area_watch(small_square()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let path = format!("/api/v1/watches/{}", res.body["id"].as_str().unwrap());
    let etag = res.header("etag").unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let patched = async {
        let res = app
            .patch(
                &path,
                &app.researcher,
                json!({"target": {"type": "area", "geometry": big_square(10_000)}}),
                Some(&etag),
            )
            .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        res
    };
    let (res, _) = tokio::join!(patched, healthz_stays_quick(&app, &done));
    assert_eq!(res.invalid_fields(), ["target.geometry"], "{}", res.body);
    let after = app.get(&path, &app.researcher).await;
    assert_eq!(after.body["version"], 1);
    assert_eq!(after.body["target"]["geometry"], small_square());
}

#[actix_web::test]
async fn areas_within_the_limits_are_accepted_and_edited() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/watches",
            &app.researcher,
            area_watch(big_square(2_000)),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let path = format!("/api/v1/watches/{}", res.body["id"].as_str().unwrap());
    // An edit that keeps the area keeps it as it was.
    let res = app
        .patch(
            &path,
            &app.researcher,
            json!({"frequency": "daily"}),
            res.header("etag").as_deref(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["target"]["geometry"], big_square(2_000));
    // A self-crossing area is still refused, through an edit too.
    let bowtie = json!({"type": "Polygon", "coordinates": [[[-73.1, -14.3], [-73.0, -14.2], [-73.0, -14.3], [-73.1, -14.2], [-73.1, -14.3]]]});
    let res = app
        .patch(
            &path,
            &app.researcher,
            json!({"target": {"type": "area", "geometry": bowtie}}),
            res.header("etag").as_deref(),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["target.geometry"], "{}", res.body);
}

#[actix_web::test]
async fn oversized_concession_outlines_are_refused() {
    let app = spawn_app().await;
    let body = |geometry: Value| json!({"code": "010461925", "name": "LOS CHANCAS 1", "geometry": geometry});
    let res = app
        .post("/api/v1/concessions", &app.admin, body(big_square(10_000)))
        .await;
    assert_eq!(res.invalid_fields(), ["geometry"], "{}", res.body);
    let res = app
        .post("/api/v1/concessions", &app.admin, body(small_square()))
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let path = format!("/api/v1/concessions/{}", res.body["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &app.admin,
            json!({"geometry": big_square(10_000)}),
            res.header("etag").as_deref(),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["geometry"], "{}", res.body);
    let after = app.get(&path, &app.admin).await;
    assert_eq!(after.body["version"], 1);
    // An edit of another field keeps the outline and its validity.
    let res = app
        .patch(
            &path,
            &app.admin,
            json!({"name": "LOS CHANCAS UNO"}),
            after.header("etag").as_deref(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["geometry"], small_square());
    assert_eq!(res.body["geometry_valid"], true);
}
