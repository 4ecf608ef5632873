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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{version}/{file:.*}", web::get().to(serve));
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
}
