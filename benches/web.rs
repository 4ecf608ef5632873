//! Web benchmark: the incidents map at scale, over HTTP, on SQLite and on
//! PostgreSQL (issue 12, "Benchmark").
//!
//!     cargo bench --bench web
//!
//! VIGIA_BENCH_WEB sets the number of incidents (default 1000000: seeding
//! takes minutes per backend; 100000 for a quick look).
//! `VIGIA_BENCH_BACKENDS=sqlite` runs one backend only.
//!
//! The real district layer (`../shared/data/peru-districts.geojson`) is
//! loaded when present; incidents are then placed inside districts, more of
//! them in the mining regions, each district with its own intensity, with a
//! mix of incident types, date precisions and verification states. Without
//! the file, incidents are spread uniformly over Peru's box and the
//! districts request is left out.
//!
//! Measured, each request repeated (VIGIA_BENCH_WEB_RUNS, default 20):
//! - the first view of Peru: the box and zoom Leaflet's `fitBounds` gives
//!   for Peru in a 1000×600 map, without a filter and with one type;
//! - a zoomed view of Apurímac (zoom 9);
//! - the district outlines of the first view;
//! - the incidents page, as a signed-in person's browser loads it: the
//!   HTML of `/`, every script and stylesheet it references, and the map's
//!   clusters request (first load), then the HTML and the clusters only
//!   (cached load: the assets are immutable, content-hashed addresses).
//!
//! Times are measured by the client over loopback (request sent to last
//! byte read), so they are the server's time plus a fraction of a
//! millisecond. Bytes are the bodies as sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::incidents::{fields, Places, PERU};
use common::{env_usize, BenchDb};

use std::time::{Duration, Instant};

use vigia::accounts::NewUser;
use vigia::audit::Actor;
use vigia::db::{Db, Target};
use vigia::i18n::Language;
use vigia::keys::Role;
use vigia::ops::Who;

/// Apurímac, zoomed in.
const APURIMAC: &str = "-73.9,-14.9,-72.2,-13.2";
const APURIMAC_ZOOM: u8 = 9;

/// The box and zoom Leaflet's `fitBounds` gives for `[minLon, minLat,
/// maxLon, maxLat]` in a map of `width`×`height` pixels (zoom snapped down
/// to a whole level, centred on the box's projected centre).
fn leaflet_fit([w, s, e, n]: [f64; 4], width: f64, height: f64) -> (String, u8) {
    use std::f64::consts::PI;
    // Spherical Mercator in pixels at zoom z (256-pixel tiles).
    let scale = |z: u8| 256.0 * f64::from(1u32 << z);
    let x = |lon: f64, z: u8| (lon + 180.0) / 360.0 * scale(z);
    let y = |lat: f64, z: u8| {
        let r = lat.to_radians();
        (1.0 - (r.tan() + 1.0 / r.cos()).ln() / PI) / 2.0 * scale(z)
    };
    let lat_of = |py: f64, z: u8| {
        let n = PI * (1.0 - 2.0 * py / scale(z));
        n.sinh().atan().to_degrees()
    };
    let lon_of = |px: f64, z: u8| px / scale(z) * 360.0 - 180.0;
    let mut zoom = 18u8;
    while zoom > 2 && (x(e, zoom) - x(w, zoom) > width || y(s, zoom) - y(n, zoom) > height) {
        zoom -= 1;
    }
    let cx = (x(w, zoom) + x(e, zoom)) / 2.0;
    let cy = (y(s, zoom) + y(n, zoom)) / 2.0;
    let r6 = |v: f64| (v * 1e6).round() / 1e6;
    let bbox = [
        lon_of(cx - width / 2.0, zoom).clamp(-180.0, 180.0),
        lat_of(cy + height / 2.0, zoom).clamp(-90.0, 90.0),
        lon_of(cx + width / 2.0, zoom).clamp(-180.0, 180.0),
        lat_of(cy - height / 2.0, zoom).clamp(-90.0, 90.0),
    ]
    .map(r6);
    (
        format!("{},{},{},{}", bbox[0], bbox[1], bbox[2], bbox[3]),
        zoom,
    )
}

/// One answer: time, body bytes, and the headers the tables need.
struct Got {
    elapsed: Duration,
    bytes: usize,
    body: String,
    cache_control: String,
    content_encoding: String,
}

struct Client {
    http: awc::Client,
    address: String,
    cookie: String,
}

impl Client {
    async fn get(&self, path: &str, gzip: bool) -> Got {
        let started = Instant::now();
        let mut req = self
            .http
            .get(format!("{}{path}", self.address))
            .insert_header(("Cookie", format!("vigia_session={}", self.cookie)));
        if gzip {
            req = req.insert_header(("Accept-Encoding", "gzip"));
        }
        let mut res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let body = res.body().limit(256 << 20).await.unwrap();
        let elapsed = started.elapsed();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        Got {
            elapsed,
            bytes: body.len(),
            cache_control: header("cache-control"),
            content_encoding: header("content-encoding"),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// `runs` times: first, p50 and p95 of the time; the bytes; the body.
    async fn repeat(&self, path: &str, runs: usize) -> (Duration, Duration, Duration, Got) {
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let got = self.get(path, false).await;
            times.push(got.elapsed);
            last = Some(got);
        }
        let first = times[0];
        times.sort();
        let at =
            |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        (first, at(0.50), at(0.95), last.unwrap())
    }
}

/// The value of `attr="…"` in one tag.
fn attribute(tag: &str, attr: &str) -> Option<String> {
    let start = tag.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = tag[start..].find('"')?;
    Some(html_escape::decode_html_entities(&tag[start..start + end]).into_owned())
}

/// Scripts (`<script src>`) and stylesheets (`<link rel=stylesheet href>`).
fn assets(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (open, attr) in [("<script", "src"), ("<link", "href")] {
        let mut rest = html;
        while let Some(at) = rest.find(open) {
            let tag_end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
            let tag = &rest[at..tag_end];
            let wanted = open == "<script" || tag.contains("stylesheet");
            if let (true, Some(url)) = (wanted, attribute(tag, attr)) {
                found.push(url);
            }
            rest = &rest[tag_end..];
        }
    }
    found
}

fn kb(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1000.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn summary(view: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(view).unwrap();
    let n = |k: &str| json[k].as_array().map_or(0, Vec::len);
    format!(
        "{} in view: {} cells, {} markers",
        json["total"],
        n("cells"),
        n("markers")
    )
}

fn run_backend(name: &str, bench_db: BenchDb, incidents: usize, runs: usize) {
    println!("\n## {name}, {incidents} incidents");
    let settings = common::server_settings(&bench_db.url);
    let target = Target::parse(&bench_db.url).unwrap();
    let db = Db::connect(target, 8).unwrap();
    db.migrate().unwrap();
    let admin = Who {
        role: Role::Admin,
        actor: Actor::cli(),
    };
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(12);
    let drafts = common::load_districts(&db);
    let with_districts = !drafts.is_empty();
    let places = Places::new(drafts, &mut rng);
    let seeded = Instant::now();
    common::seed_events(&db, incidents, 7, |rng| fields(&places, rng));
    println!("seeded in {:.1} s", seeded.elapsed().as_secs_f64());
    {
        // What a database that has run a while has: statistics, and (on
        // PostgreSQL) a visibility map after autovacuum.
        use diesel::connection::SimpleConnection;
        let mut conn = db.get().unwrap();
        let started = Instant::now();
        match &mut *conn {
            vigia::db::DbConn::Sqlite(c) => c.batch_execute("ANALYZE").unwrap(),
            vigia::db::DbConn::Pg(c) => c.batch_execute("VACUUM ANALYZE").unwrap(),
        }
        println!(
            "ANALYZE{} in {:.1} s",
            if name == "SQLite" { "" } else { " (VACUUM)" },
            started.elapsed().as_secs_f64()
        );
    }
    let cookie = {
        let mut conn = db.get().unwrap();
        let links = vigia::ops::accounts::SiteLinks {
            base_url: "http://127.0.0.1".into(),
        };
        let input = NewUser {
            email: "monitora@example.org".into(),
            display_name: Some("Monitora".into()),
            role: Role::Monitor,
            language: Language::Es,
        };
        let (user, _) = vigia::ops::accounts::create(&mut conn, &admin, &input, &links).unwrap();
        vigia::accounts::store::start_session(&mut conn, &user.id.to_string()).unwrap()
    };
    let address = common::start_server(settings, db);
    let (peru_bbox, peru_zoom) = leaflet_fit(PERU, 1000.0, 600.0);
    let peru = format!("/api/v1/events/clusters?bbox={peru_bbox}&zoom={peru_zoom}");
    println!("first view of Peru in a 1000×600 map: bbox={peru_bbox}&zoom={peru_zoom}");

    actix_web::rt::System::new().block_on(async move {
        let client = Client {
            http: common::http_client(),
            address,
            cookie,
        };
        let mut requests = vec![
            ("Peru, first view", peru.clone()),
            ("Peru, event_type=blockade", format!("{peru}&event_type=blockade")),
            (
                "Apurímac, zoom 9",
                format!("/api/v1/events/clusters?bbox={APURIMAC}&zoom={APURIMAC_ZOOM}"),
            ),
            (
                "Apurímac, event_type=blockade",
                format!(
                    "/api/v1/events/clusters?bbox={APURIMAC}&zoom={APURIMAC_ZOOM}&event_type=blockade"
                ),
            ),
        ];
        if with_districts {
            let [w, s, e, n] = PERU;
            requests.push((
                "districts, Peru, zoom 5",
                format!("/api/v1/districts?bbox={w},{s},{e},{n}&zoom=5"),
            ));
        }
        println!("\n| request ({runs} runs) | first ms | p50 ms | p95 ms | kB | answer |");
        println!("|---|---|---|---|---|---|");
        for (label, path) in &requests {
            let (first, p50, p95, got) = client.repeat(path, runs).await;
            let answer = if path.contains("clusters") {
                summary(&got.body)
            } else {
                let json: serde_json::Value = serde_json::from_str(&got.body).unwrap();
                format!(
                    "{} districts",
                    json["features"].as_array().map_or(0, Vec::len)
                )
            };
            println!(
                "| {label} | {} | {} | {} | {} | {answer} |",
                ms(first),
                ms(p50),
                ms(p95),
                kb(got.bytes)
            );
        }

        // The incidents page as a browser loads it.
        let html = client.get("/", false).await;
        let html_gzip = client.get("/", true).await;
        let compressed = !html_gzip.content_encoding.is_empty();
        let found = assets(&html.body);
        let mut asset_bytes = 0;
        let mut asset_gzip = 0;
        let mut immutable = 0;
        for url in &found {
            let got = client.get(url, false).await;
            asset_bytes += got.bytes;
            asset_gzip += client.get(url, true).await.bytes;
            if got.cache_control.contains("immutable") && url.starts_with("/static/") {
                immutable += 1;
            }
        }
        let (_, p50_html, p95_html, _) = client.repeat("/", runs).await;
        let (_, p50_map, _, map) = client.repeat(&peru, runs).await;
        let map_gzip = client.get(&peru, true).await.bytes;
        println!(
            "\nincidents page: {} assets ({} with `Cache-Control: immutable`); HTML p50 {} ms, p95 {} ms; its clusters request p50 {} ms",
            found.len(),
            immutable,
            ms(p50_html),
            ms(p95_html),
            ms(p50_map)
        );
        println!(
            "compression: {}",
            if compressed {
                format!("gzip ({})", html_gzip.content_encoding)
            } else {
                "none (the server sends the same bytes with Accept-Encoding: gzip)".into()
            }
        );
        println!("\n| load | requests | kB | kB with Accept-Encoding: gzip |");
        println!("|---|---|---|---|");
        println!(
            "| first (HTML + {} assets + clusters) | {} | {} | {} |",
            found.len(),
            found.len() + 2,
            kb(html.bytes + asset_bytes + map.bytes),
            kb(html_gzip.bytes + asset_gzip + map_gzip)
        );
        println!(
            "| cached (HTML + clusters; {} assets from cache) | 2 | {} | {} |",
            immutable,
            kb(html.bytes + map.bytes),
            kb(html_gzip.bytes + map_gzip)
        );
        println!("\nassets: {}", found.join(" "));
    });
}

fn main() {
    let incidents = env_usize("VIGIA_BENCH_WEB", 1_000_000);
    let runs = env_usize("VIGIA_BENCH_WEB_RUNS", 20).max(1);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        run_backend("SQLite", BenchDb::sqlite(), incidents, runs);
    }
    if backends.contains("postgres") {
        match BenchDb::postgres(&common::postgres_base()) {
            Some(db) => run_backend("PostgreSQL", db, incidents, runs),
            None => println!(
                "\n## PostgreSQL: not reachable at {}",
                common::postgres_base()
            ),
        }
    }
}
