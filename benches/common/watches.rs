//! 100,000 active watches, 10,000 of them drawn areas, seeded by SQL (the
//! watches and scale benchmarks), and a client that logs incidents under
//! them over HTTP.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use rand::{Rng, SeedableRng};

use vigia::db::DbConn;

/// Where 10,000 watches look (inside Los Chancas' district, Apurímac).
pub const HOTSPOT: (f64, f64) = (-73.0884214, -14.2190728);
pub const HOTSPOT_UBIGEO: &str = "030410";
/// Where nobody looks (a concession and district with no watch).
pub const QUIET: (f64, f64) = (-77.0, -12.0);
pub const QUIET_UBIGEO: &str = "150101";
pub const CLUSTER: usize = 8_000;
pub const SPREAD: usize = 2_000;
pub const PER_KEY_KIND: usize = 30_000;
/// Watches of each kind on the hotspot's concession, holder and district.
pub const ON_HOTSPOT: [usize; 3] = [1_000, 500, 500];

/// An irregular closed ring of 24 points around a centre, radii in degrees
/// between `r` and `1.5 r`.
pub fn outline(rng: &mut impl Rng, lon: f64, lat: f64, r: f64) -> Vec<(f64, f64)> {
    let mut ring: Vec<(f64, f64)> = (0..24)
        .map(|i| {
            let a = i as f64 / 24.0 * std::f64::consts::TAU;
            let radius = r * rng.random_range(1.0..1.5);
            (lon + radius * a.cos(), lat + radius * a.sin())
        })
        .collect();
    ring.push(ring[0]);
    ring
}

pub fn geojson(ring: &[(f64, f64)]) -> String {
    let points: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
    format!(
        r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
        points.join(",")
    )
}

pub fn bbox(ring: &[(f64, f64)]) -> [f64; 4] {
    ring.iter().fold(
        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |[a, b, c, d], (x, y)| [a.min(*x), b.min(*y), c.max(*x), d.max(*y)],
    )
}

pub const HOT_CONCESSION: &str = "00000000-0000-4000-8000-000000000001";
pub const QUIET_CONCESSION: &str = "00000000-0000-4000-8000-000000000002";
pub const HOT_HOLDER: &str = "00000000-0000-4000-8000-00000000000a";
pub const QUIET_HOLDER: &str = "00000000-0000-4000-8000-00000000000b";

/// The two concessions (with their holders) the incidents fall in.
pub fn seed_places(conn: &mut DbConn) {
    let mut sql = String::new();
    for (id, holder, (lon, lat)) in [
        (HOT_CONCESSION, HOT_HOLDER, HOTSPOT),
        (QUIET_CONCESSION, QUIET_HOLDER, QUIET),
    ] {
        sql.push_str(&format!(
            "INSERT INTO actors (id, version, created_at, updated_at, created_by, name, kind, aliases, notes, \
             name_key, search_text) VALUES ('{holder}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'bench', \
             'Titular {holder}', 'company', '[]', '', 'titular {holder}', 'titular');\n"
        ));
        let ring = [
            (lon - 0.02, lat - 0.02),
            (lon + 0.02, lat - 0.02),
            (lon + 0.02, lat + 0.02),
            (lon - 0.02, lat + 0.02),
            (lon - 0.02, lat - 0.02),
        ];
        sql.push_str(&format!(
            "INSERT INTO concessions (id, version, created_at, updated_at, code, name, holder_id, geometry, \
             geometry_valid, source_crs, min_lon, min_lat, max_lon, max_lat, attributes, search_text) VALUES \
             ('{id}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'C{id}', 'CONCESION', '{holder}', '{}', TRUE, \
             'EPSG:4326', {}, {}, {}, {}, '{{}}', 'c');\n",
            geojson(&ring),
            lon - 0.02,
            lat - 0.02,
            lon + 0.02,
            lat + 0.02
        ));
    }
    sql.push_str("UPDATE registry_state SET concessions_version = concessions_version + 1;\n");
    conn.batch_execute(&sql).unwrap();
}

/// One watch row's values: target columns given, the rest as a confirmed
/// watch has them.
pub fn row(n: usize, target: &str, columns: [String; 8]) -> String {
    let [concession, actor, area, min_lon, min_lat, max_lon, max_lat, ubigeo] = columns;
    format!(
        "('{}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'bench', NULL, 'watcher{n}@example.org', \
         '{target}', {concession}, {actor}, {area}, {min_lon}, {min_lat}, {max_lon}, {max_lat}, {ubigeo}, '[]', \
         'unverified', 'immediate', 'es', 'active', '2026-01-01 00:00:00', 'n', '2026-01-08 00:00:00', \
         '2026-01-01 00:00:00')",
        uuid::Uuid::new_v4()
    )
}

pub fn quoted(s: &str) -> String {
    format!("'{s}'")
}

pub fn null() -> String {
    "NULL".into()
}

/// 100,000 active watches, by SQL, in statements of 500 rows.
pub fn seed_watches(conn: &mut DbConn) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut rows = Vec::new();
    // Areas around the hotspot, each containing it: centres within 0.05°
    // and radii of at least 0.1°.
    for _ in 0..CLUSTER {
        let lon = HOTSPOT.0 + rng.random_range(-0.05..0.05);
        let lat = HOTSPOT.1 + rng.random_range(-0.05..0.05);
        let r = rng.random_range(0.1..1.0);
        let ring = outline(&mut rng, lon, lat, r);
        rows.push(("area", ring));
    }
    // Areas over Peru's box, away from both spots.
    while rows.len() < CLUSTER + SPREAD {
        let lon = rng.random_range(-81.0..-69.0);
        let lat = rng.random_range(-18.0..-1.0);
        let r = rng.random_range(0.02..0.5);
        let ring = outline(&mut rng, lon, lat, r);
        let [a, b, c, d] = bbox(&ring);
        let covers = |(x, y): (f64, f64)| a <= x && x <= c && b <= y && y <= d;
        if !covers(HOTSPOT) && !covers(QUIET) {
            rows.push(("area", ring));
        }
    }
    let mut values: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(n, (target, ring))| {
            let [a, b, c, d] = bbox(ring);
            row(
                n,
                target,
                [
                    null(),
                    null(),
                    quoted(&geojson(ring)),
                    a.to_string(),
                    b.to_string(),
                    c.to_string(),
                    d.to_string(),
                    null(),
                ],
            )
        })
        .collect();
    // Keyed watches: the first ON_HOTSPOT of each kind on the hotspot's
    // key, the others on keys of their own (other concessions, holders,
    // and regions, provinces and districts other than 03 and 15).
    for (kind, target) in ["concession", "holder", "admin_area"]
        .into_iter()
        .enumerate()
    {
        for i in 0..PER_KEY_KIND {
            let n = values.len();
            let hot = i < ON_HOTSPOT[kind];
            let other = uuid::Uuid::new_v4().to_string();
            let key = match (kind, hot) {
                (0, true) => HOT_CONCESSION.to_string(),
                (1, true) => HOT_HOLDER.to_string(),
                (2, true) => ["03", "0304", HOTSPOT_UBIGEO][i % 3].to_string(),
                (2, false) => {
                    let region = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 20][i % 15];
                    let code = format!("{region:02}{:02}{:02}", i % 10 + 1, i % 30 + 1);
                    code[..[2, 4, 6][i % 3]].to_string()
                }
                _ => other,
            };
            let mut columns = [
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
                null(),
            ];
            columns[[0, 1, 7][kind]] = quoted(&key);
            values.push(row(n, target, columns));
        }
    }
    for chunk in values.chunks(500) {
        conn.batch_execute(&format!(
            "INSERT INTO watches (id, version, created_at, updated_at, created_by, owner_key_id, email, \
             target_type, concession_id, actor_id, area, min_lon, min_lat, max_lon, max_lat, ubigeo, \
             event_types, min_verification, frequency, language, status, activated_at, confirm_nonce, \
             confirm_expires_at, confirm_sent_at) VALUES {}",
            chunk.join(",")
        ))
        .unwrap();
    }
    conn.batch_execute("UPDATE watch_state SET areas_version = areas_version + 1")
        .unwrap();
}

/// Logs incidents over HTTP with an API key (one kept-alive connection).
pub struct Client {
    pub http: awc::Client,
    pub address: String,
    pub token: String,
}

impl Client {
    /// Logs one incident at `(lon, lat)`; the client's time and its id.
    pub async fn log(&self, n: usize, (lon, lat): (f64, f64), ubigeo: &str) -> (Duration, String) {
        let body = serde_json::json!({
            "title": format!("Bloqueo de la vía {n}"),
            "event_type": "blockade",
            "occurred_on": "2026-03-10",
            "location": {"lat": lat, "lon": lon},
            "admin": {"ubigeo": ubigeo},
            "verification": "verified",
        });
        let started = Instant::now();
        let mut res = self
            .http
            .post(format!("{}/api/v1/events", self.address))
            .insert_header(("Authorization", format!("Bearer {}", self.token)))
            .send_json(&body)
            .await
            .unwrap();
        let body = res.body().await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(res.status().as_u16(), 201, "{body:?}");
        let created: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (elapsed, created["id"].as_str().unwrap().to_string())
    }
}
