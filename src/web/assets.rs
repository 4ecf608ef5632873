//! The files of `static/` (Leaflet and its plugins, Vigía's scripts and
//! styles), embedded in the binary: `cargo run` alone serves everything,
//! nothing comes from a CDN. Each is served at `/static/<hash>/<path>`,
//! where the hash is of its content, so it can be cached for a year and a
//! new version is a new address.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
#[exclude = "*.md"]
#[exclude = "*.sh"]
struct Static;

/// The first 12 hex digits of a file's SHA-256, if it exists.
fn version(path: &str) -> Option<String> {
    Static::get(path).map(|f| hex::encode(f.metadata.sha256_hash())[..12].to_string())
}

/// The address of `path` (relative to `static/`). A missing file is a
/// mistake in a template, caught by the tests that load every page.
pub fn url(path: &str) -> String {
    match version(path) {
        Some(v) => format!("/static/{v}/{path}"),
        None => format!("/static/missing/{path}"),
    }
}

async fn serve(path: web::Path<(String, String)>) -> HttpResponse {
    let (wanted, file) = path.into_inner();
    let Some(found) = Static::get(&file) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such file");
    };
    let hash = hex::encode(found.metadata.sha256_hash());
    let cache = if hash.starts_with(&wanted) && wanted.len() == 12 {
        "public, max-age=31536000, immutable"
    } else {
        // An old address still works, but is not kept.
        "no-cache"
    };
    HttpResponse::Ok()
        .content_type(found.metadata.mimetype())
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, format!("\"{}\"", &hash[..16])))
        .body(found.data.into_owned())
}

/// One hash of every embedded file: changes whenever any of them does.
pub fn build_version() -> String {
    let mut names: Vec<_> = Static::iter().collect();
    names.sort();
    let mut all = String::new();
    for name in names {
        if let Some(v) = version(&name) {
            all.push_str(&name);
            all.push_str(&v);
        }
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(all.as_bytes());
    hex::encode(digest)[..12].to_string()
}

/// The versioned address of every embedded file: what the service worker
/// keeps for the pages to work without a network.
pub fn all_urls() -> Vec<String> {
    let mut names: Vec<_> = Static::iter().map(|n| n.to_string()).collect();
    names.sort();
    names.iter().map(|n| url(n)).collect()
}

/// `/sw.js`: the service worker, at the root so that its scope is the whole
/// site. Its first line names the build, so a new build is a new worker
/// (the browser compares the bytes) that keeps the new files.
async fn service_worker() -> HttpResponse {
    let Some(file) = Static::get("js/sw.js") else {
        return HttpResponse::NotFound().finish();
    };
    let mut body = format!("const VIGIA_BUILD = '{}';\n", build_version()).into_bytes();
    body.extend_from_slice(&file.data);
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `/offline/assets.json`: what the service worker precaches.
async fn offline_assets() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(serde_json::json!({
            "build": build_version(),
            "assets": all_urls(),
            "pages": ["/incidents/new", "/envios"],
        }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{version}/{file:.*}", web::get().to(serve))
        .route("/sw.js", web::get().to(service_worker))
        .route("/offline/assets.json", web::get().to(offline_assets));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_versioned_address() {
        let files: Vec<_> = Static::iter().collect();
        assert!(files.iter().any(|f| f == "css/vigia.css"), "{files:?}");
        for f in files {
            let u = url(&f);
            assert!(u.starts_with("/static/") && !u.contains("missing"), "{u}");
        }
    }

    #[test]
    fn the_offline_list_has_every_asset_and_the_worker_exists() {
        let all = all_urls();
        assert!(all.iter().any(|u| u.ends_with("/js/outbox.js")), "{all:?}");
        assert!(all.iter().any(|u| u.ends_with("/icons/vigia-512.png")));
        assert!(Static::get("js/sw.js").is_some());
        assert_eq!(build_version().len(), 12);
    }
}
