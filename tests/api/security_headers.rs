//! The headers every answer carries (issue 10): `nosniff` everywhere; on
//! HTML a Content-Security-Policy that allows what the page needs and no
//! framing, and `Referrer-Policy: same-origin`; `no-store` on whatever
//! answers a request with credentials.

use actix_web::http::Method;
use serde_json::json;

use crate::alerts::{app_on, create_watch, exactly, sent, watch, BASE};
use crate::helpers::{Response, TestApp, TestDb};
use crate::mailbox::MailServer;

#[track_caller]
fn nosniff(res: &Response) {
    assert_eq!(
        res.header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{} {:?}",
        res.status,
        res.headers
    );
}

/// An HTML answer with its policy; returns the policy.
#[track_caller]
fn strict_html(res: &Response) -> String {
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    nosniff(res);
    assert_eq!(
        res.header("referrer-policy").as_deref(),
        Some("same-origin")
    );
    let csp = res.header("content-security-policy").expect("a policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    // No inline script or style runs but what a hash names: never
    // 'unsafe-inline' or 'unsafe-eval' ('unsafe-hashes' only lets a listed
    // hash apply to a style attribute, for Swagger UI's one fixed style).
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    csp
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Response {
    app.request(Method::GET, path, token, None).await
}

#[actix_web::test]
async fn every_answer_says_nosniff_and_credentials_are_never_cached() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;
    // Anonymous answers: nosniff, and nothing forbids caching a health check.
    let health = get(&app, "/healthz", None).await;
    nosniff(&health);
    assert_eq!(health.header("cache-control"), None);
    nosniff(&get(&app, "/no/such/route", None).await);
    // With a key: nosniff and no-store, on success and on errors alike.
    for (path, token, status) in [
        ("/api/v1/events", app.researcher.as_str(), 200),
        ("/api/v1/watches", app.researcher.as_str(), 200),
        ("/api/v1/events/nonsense", app.researcher.as_str(), 404),
        ("/api/v1/alerts", app.researcher.as_str(), 403),
        ("/api/v1/events", "not-a-key", 401),
    ] {
        let res = get(&app, path, Some(token)).await;
        assert_eq!(res.status, status, "{path}: {}", res.body);
        nosniff(&res);
        assert_eq!(
            res.header("cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
    }
    let res = app
        .post("/api/v1/watches", &app.researcher, json!({"email": "x"}))
        .await;
    res.problem(422);
    nosniff(&res);
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
}

#[actix_web::test]
async fn html_pages_allow_only_what_they_need_and_no_framing() {
    let mail = MailServer::start();
    let app = app_on(TestDb::new(), mail.port).await;

    // The Swagger UI: its own files, images also as data: URLs.
    let docs = get(&app, "/docs/", None).await;
    let csp = strict_html(&docs);
    for needed in [
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(needed), "{csp}");
    }
    // Its files are served with their own types, and nosniff.
    let script = get(&app, "/docs/swagger-initializer.js", None).await;
    assert_eq!(script.status, 200);
    nosniff(&script);

    // The pages mail links open: the pages' policy (styles and scripts
    // from Vigía only, no inline code); forms post back to Vigía only.
    let email = "cabeceras@example.org";
    let w = create_watch(
        &app,
        watch(email, json!({"type": "admin_area", "ubigeo": "03"})),
    )
    .await;
    assert_eq!(app.deliver().await, sent(1));
    let link = exactly(&mail, email, 1)[0].link(&format!("{BASE}/api/v1/watches/confirm?token="));
    let unsubscribe = {
        let mut conn = app.db.get().unwrap();
        let signer = vigia::alerts::tokens::LinkSigner::load(&mut conn).unwrap();
        signer.unsubscribe_token(w["id"].as_str().unwrap())
    };
    for path in [
        link.strip_prefix(BASE).unwrap().to_string(),
        format!("/api/v1/watches/unsubscribe?token={unsubscribe}"),
    ] {
        let page = get(&app, &path, None).await;
        let csp = strict_html(&page);
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("form-action 'self'"), "{csp}");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
            "{csp}"
        );
        let html = page.body.as_str().unwrap();
        assert!(
            !html.contains("style=\"") && !html.contains("<style") && !html.contains("<script>"),
            "inline style or script: {html}"
        );
    }
}
