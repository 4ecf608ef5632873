//! Attachments benchmark (issue 13, "Benchmark"): how fast photos and
//! documents go up and come back down, over HTTP, on SQLite and PostgreSQL,
//! with the bytes in the database (the default) and in a directory.
//!
//!     cargo bench --bench attachments
//!
//! VIGIA_BENCH_FILES sets the files of each kind (default 24);
//! `VIGIA_BENCH_BACKENDS=sqlite` runs one backend only. SQLite's file lives
//! in the system's temporary directory (set TMPDIR=/dev/shm to keep the disk
//! out of it); PostgreSQL is the server at VIGIA_BENCH_DATABASE_URL.
//!
//! The files, all distinct (no upload is a duplicate):
//! - photos as a phone takes them: 4000 × 3000 JPEGs (12 MP, quality 90;
//!   their noise makes them about 9 MB, heavier than a phone's 3–6 MB)
//!   with EXIF holding GPS, camera and orientation, so each upload does the
//!   whole work: type sniffing, metadata removal, the thumbnail (decoding
//!   12 MP), SHA-256, storage;
//! - PDF documents of 8 MB (the Defensoría's report PDFs are 5–15 MB):
//!   sniffing, SHA-256 and storage only.
//!
//! Measured by the client over loopback, whole request to last byte: one
//! client uploading one file after another (a phone), four clients at once
//! (an office), then every file downloaded once. MB/s counts the file
//! bytes sent or received (1 MB = 10^6 bytes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{env_usize, BenchDb};

use std::io::Cursor;
use std::time::{Duration, Instant};

use img_parts::jpeg::Jpeg;
use img_parts::{Bytes, ImageEXIF};
use rand::{Rng, SeedableRng};

use vigia::audit::Actor;
use vigia::db::{Db, Target};
use vigia::events::{
    EventFields, EventType, Location, LocationPrecision, TimePrecision, Verification,
};
use vigia::keys::Role;

fn photo(seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (w, h) = (4000u32, 3000u32);
    let base = [
        rng.random_range(40..200u8),
        rng.random_range(40..200u8),
        rng.random_range(40..200u8),
    ];
    // A scene with texture (noise on gradients), so the JPEG is the size a
    // phone's photo is, not a flat colour's few kilobytes.
    let pixels = image::RgbImage::from_fn(w, h, |x, y| {
        let n = rng.random_range(0..48u8);
        image::Rgb([
            base[0].wrapping_add((x / 16) as u8).wrapping_add(n),
            base[1].wrapping_add((y / 12) as u8).wrapping_add(n / 2),
            base[2]
                .wrapping_add(((x + y) / 20) as u8)
                .wrapping_add(n / 3),
        ])
    });
    let mut plain = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&pixels)
        .unwrap();
    let rational = |n: u32| exif::Rational { num: n, denom: 1 };
    let fields = [
        exif::Field {
            tag: exif::Tag::Orientation,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Short(vec![6]),
        },
        exif::Field {
            tag: exif::Tag::Make,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Ascii(vec![b"Samsung".to_vec()]),
        },
        exif::Field {
            tag: exif::Tag::GPSLatitude,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Rational(vec![rational(14), rational(5), rational(12)]),
        },
        exif::Field {
            tag: exif::Tag::GPSLongitude,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Rational(vec![rational(73), rational(10), rational(3)]),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut exif_bytes = Cursor::new(Vec::new());
    writer.write(&mut exif_bytes, false).unwrap();
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain.into_inner())).unwrap();
    jpeg.set_exif(Some(Bytes::from(exif_bytes.into_inner())));
    jpeg.encoder().bytes().to_vec()
}

fn pdf(seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut body = vec![0u8; 8_000_000 - bytes.len() - 6];
    rng.fill(&mut body[..]);
    bytes.extend(body);
    bytes.extend(b"%%EOF\n");
    bytes
}

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("bench{}", uuid::Uuid::new_v4().simple());
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

struct Run {
    label: String,
    files: usize,
    bytes: usize,
    one_client: Duration,
    four_clients: Duration,
    p50_upload: Duration,
    download: Duration,
    stored: usize,
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

async fn upload(
    http: &awc::Client,
    address: &str,
    token: &str,
    event: &str,
    name: &str,
    bytes: &[u8],
) -> (Duration, String) {
    let (ct, body) = multipart(name, bytes);
    let started = Instant::now();
    let mut res = http
        .post(format!("{address}/api/v1/events/{event}/attachments"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", ct))
        .send_body(body)
        .await
        .unwrap();
    let answer: serde_json::Value = res.json().limit(1 << 20).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(res.status().as_u16(), 201, "{answer}");
    (elapsed, answer["url"].as_str().unwrap().to_string())
}

async fn measure(
    http: &awc::Client,
    address: &str,
    token: &str,
    events: &[String],
    label: &str,
    files: &[Vec<u8>],
    ext: &str,
) -> Run {
    let bytes: usize = files.iter().map(Vec::len).sum();
    // One client: the first half, one after another.
    let half = files.len() / 2;
    let mut times = Vec::new();
    let mut urls = Vec::new();
    let started = Instant::now();
    for (i, file) in files[..half].iter().enumerate() {
        let (t, url) = upload(
            http,
            address,
            token,
            &events[i % events.len()],
            &format!("f{i}.{ext}"),
            file,
        )
        .await;
        times.push(t);
        urls.push(url);
    }
    let one_client = started.elapsed();
    let one_bytes: usize = files[..half].iter().map(Vec::len).sum();
    // Four clients: the second half, four at a time.
    let started = Instant::now();
    for chunk in files[half..].chunks(4).enumerate() {
        let (c, group) = chunk;
        let sends = group.iter().enumerate().map(|(j, file)| {
            let i = half + c * 4 + j;
            let event = events[i % events.len()].clone();
            async move { upload(http, address, token, &event, &format!("f{i}.{ext}"), file).await }
        });
        for (t, url) in futures_util::future::join_all(sends).await {
            times.push(t);
            urls.push(url);
        }
    }
    let four_clients = started.elapsed();
    let four_bytes = bytes - one_bytes;
    // Every file down once.
    let started = Instant::now();
    let mut stored = 0;
    for url in &urls {
        let mut res = http
            .get(format!("{address}{url}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        stored += res.body().limit(64 << 20).await.unwrap().len();
    }
    let download = started.elapsed();
    times.sort();
    // Scale the halves to the whole for the table (each half's own rate).
    Run {
        label: label.to_string(),
        files: files.len(),
        bytes,
        one_client: Duration::from_secs_f64(
            one_client.as_secs_f64() * bytes as f64 / one_bytes as f64,
        ),
        four_clients: Duration::from_secs_f64(
            four_clients.as_secs_f64() * bytes as f64 / four_bytes as f64,
        ),
        p50_upload: times[times.len() / 2],
        download,
        stored,
    }
}

fn run_backend(
    name: &str,
    bench_db: BenchDb,
    dir: Option<&std::path::Path>,
    photos: &[Vec<u8>],
    pdfs: &[Vec<u8>],
) {
    let mut settings = common::server_settings(&bench_db.url);
    if let Some(dir) = dir {
        settings.attachments.dir = dir.display().to_string();
    }
    let target = Target::parse(&bench_db.url).unwrap();
    let db = Db::connect(target, 8).unwrap();
    db.migrate().unwrap();
    let token = {
        let mut conn = db.get().unwrap();
        vigia::keys::create(&mut conn, &Actor::cli(), "bench", Role::Monitor)
            .unwrap()
            .token
    };
    common::seed_events(&db, 8, 3, |rng| EventFields {
        title: "Quema del campamento de Los Chancas".into(),
        description: String::new(),
        event_type: EventType::PropertyDestruction,
        sub_event_type: None,
        occurred_on: chrono::NaiveDate::from_ymd_opt(2022, 5, 12).unwrap(),
        time_precision: TimePrecision::Day,
        location: Location {
            lat: -14.219 + rng.random_range(-0.01..0.01),
            lon: -73.088,
            precision: LocationPrecision::Exact,
            place: None,
        },
        admin: None,
        fatalities: 0,
        injuries: 0,
        sources: Vec::new(),
        verification: Verification::Unverified,
        verification_note: None,
    });
    let events: Vec<String> = {
        use diesel::prelude::*;
        let mut conn = db.get().unwrap();
        vigia::schema::events::table
            .select(vigia::schema::events::id)
            .load(&mut conn)
            .unwrap()
    };
    let address = common::start_server(settings, db.clone());
    let where_ = if dir.is_some() {
        "directory"
    } else {
        "database"
    };
    let runs = actix_web::rt::System::new().block_on(async move {
        let http = common::http_client();
        vec![
            measure(&http, &address, &token, &events, "photos", photos, "jpg").await,
            measure(&http, &address, &token, &events, "PDFs", pdfs, "pdf").await,
        ]
    });
    for r in runs {
        println!(
            "| {name} | {where_} | {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} |",
            r.label,
            r.files,
            r.bytes as f64 / 1e6,
            mbps(r.bytes, r.one_client),
            mbps(r.bytes, r.four_clients),
            r.p50_upload.as_secs_f64() * 1000.0,
            mbps(r.stored, r.download),
            r.stored as f64 / 1e6,
        );
    }
}

fn main() {
    let n = env_usize("VIGIA_BENCH_FILES", 24).max(8);
    let backends =
        std::env::var("VIGIA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let started = Instant::now();
    let photos: Vec<Vec<u8>> = (0..n as u64).map(photo).collect();
    let pdfs: Vec<Vec<u8>> = (0..n as u64).map(|i| pdf(1000 + i)).collect();
    let mb = |files: &[Vec<u8>]| files.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    println!(
        "files made in {:.1} s: {n} photos ({:.1} MB, {:.2}–{:.2} MB each), {n} PDFs ({:.1} MB)",
        started.elapsed().as_secs_f64(),
        mb(&photos),
        photos.iter().map(Vec::len).min().unwrap() as f64 / 1e6,
        photos.iter().map(Vec::len).max().unwrap() as f64 / 1e6,
        mb(&pdfs)
    );
    println!("\n| backend | bytes in | kind | files | MB | up MB/s, 1 client | up MB/s, 4 clients | p50 upload ms | down MB/s | MB served |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    if backends.contains("sqlite") {
        run_backend("SQLite", BenchDb::sqlite(), None, &photos, &pdfs);
        let dir = tempfile::tempdir().unwrap();
        run_backend(
            "SQLite",
            BenchDb::sqlite(),
            Some(dir.path()),
            &photos,
            &pdfs,
        );
    }
    if backends.contains("postgres") {
        match BenchDb::postgres(&common::postgres_base()) {
            Some(db) => run_backend("PostgreSQL", db, None, &photos, &pdfs),
            None => println!("PostgreSQL: no server at {}", common::postgres_base()),
        }
    }
}
