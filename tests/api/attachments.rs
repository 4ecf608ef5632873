//! Attachments: photos lose their location and camera data (checked by
//! parsing the stored bytes), types are read from the bytes, sizes are
//! bounded, files are kept once, deletes are soft and audited, uploads are
//! exactly-once with a key; in the database and in a directory.

use std::io::Cursor;

use actix_web::http::Method;
use diesel::prelude::*;
use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::{Bytes, ImageEXIF};
use serde_json::{json, Value};

use crate::helpers::{los_chancas, spawn_app, spawn_app_with, TestApp, TestDb};

/// A 64 × 32 photo as a phone writes it: EXIF with GPS, the camera's make
/// and serial number and orientation 6 (turned 90°), XMP with the place
/// again, a comment naming the owner, and a "motion photo" appended after
/// the end of the image.
pub fn phone_photo() -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(64, 32, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 8) as u8, 90])
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
            tag: exif::Tag::BodySerialNumber,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Ascii(vec![b"SN-4471-RQ".to_vec()]),
        },
        exif::Field {
            tag: exif::Tag::GPSLatitudeRef,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Ascii(vec![b"S".to_vec()]),
        },
        exif::Field {
            tag: exif::Tag::GPSLatitude,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Rational(vec![rational(14), rational(5), rational(12)]),
        },
        exif::Field {
            tag: exif::Tag::GPSLongitudeRef,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Ascii(vec![b"W".to_vec()]),
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
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>14,5.2S</exif:GPSLatitude></x:xmpmeta>";
    jpeg.segments_mut().insert(
        1,
        JpegSegment::new_with_contents(markers::APP1, Bytes::from_static(xmp)),
    );
    jpeg.segments_mut().insert(
        1,
        JpegSegment::new_with_contents(markers::COM, Bytes::from_static(b"Owner: Rosa Quispe")),
    );
    let mut out = jpeg.encoder().bytes().to_vec();
    out.extend_from_slice(b"MotionPhoto_Data\0\0ftypmp42 GPS-TRAILER-14.0853S");
    out
}

/// The EXIF fields of a stored JPEG, as (tag, value) text.
fn exif_fields(bytes: &[u8]) -> Vec<(String, String)> {
    match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(data) => data
            .fields()
            .map(|f| (f.tag.to_string(), f.display_value().to_string()))
            .collect(),
        Err(exif::Error::NotFound(_)) => Vec::new(),
        Err(e) => panic!("the stored photo's EXIF cannot be read: {e}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A small MP4 as a phone writes it: the place it was filmed in
/// `moov/udta/©xyz` and in a track's user data, then the media.
pub fn phone_video() -> Vec<u8> {
    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }
    let xyz = boxed(b"\xa9xyz", b"\x00\x12\x15\xc7+14.0853-073.1675/");
    let udta = boxed(b"udta", &xyz);
    let trak = boxed(
        b"trak",
        &[boxed(b"tkhd", &[0; 12]), boxed(b"udta", &xyz)].concat(),
    );
    let moov = boxed(b"moov", &[boxed(b"mvhd", &[0; 12]), udta, trak].concat());
    let mut file = boxed(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41");
    file.extend(moov);
    file.extend(boxed(b"mdat", b"frames of the video"));
    file
}

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

fn attachments_of(app: &TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    vigia::schema::attachments::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn blobs_of(app: &TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    vigia::schema::attachment_blobs::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

async fn incident(app: &TestApp) -> String {
    app.create_event(los_chancas()).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn a_phone_photo_loses_where_it_was_taken_and_keeps_its_orientation() {
    let app = spawn_app().await;
    let id = incident(&app).await;
    let photo = phone_photo();
    // The fixture does carry what must go.
    assert!(exif_fields(&photo).iter().any(|(t, _)| t == "GPSLatitude"));

    let path = format!("/api/v1/events/{id}/attachments");
    let res = app
        .upload(&path, &app.monitor, "IMG_2041.jpg", &photo, &[])
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let attachment = res.body.clone();
    assert_eq!(attachment["content_type"], "image/jpeg");
    assert_eq!(attachment["filename"], "IMG_2041.jpg");
    assert!(attachment.get("original_kept").is_none());

    let stored = app
        .get(attachment["url"].as_str().unwrap(), &app.researcher)
        .await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.header("content-type").as_deref(), Some("image/jpeg"));
    assert_eq!(
        stored.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(stored
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    assert!(stored
        .header("content-disposition")
        .unwrap()
        .starts_with("inline"));
    let bytes = stored.bytes;
    // Only the orientation is left of the EXIF; the rest of what named the
    // place, the camera or its owner is gone, the appended video too.
    let fields = exif_fields(&bytes);
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "Orientation");
    assert!(fields[0].1.contains("row 0 at right"), "{fields:?}");
    for gone in [
        &b"GPS"[..],
        b"xap/1.0",
        b"Rosa Quispe",
        b"SN-4471",
        b"Samsung",
        b"MotionPhoto",
    ] {
        assert!(
            !contains(&bytes, gone),
            "{} is still there",
            String::from_utf8_lossy(gone)
        );
    }
    // The pixels are untouched: same size, still a JPEG that decodes.
    let picture = image::load_from_memory(&bytes).unwrap();
    assert_eq!((picture.width(), picture.height()), (64, 32));
    assert_eq!(attachment["bytes"], bytes.len());
    assert_eq!(
        attachment["sha256"].as_str().unwrap(),
        vigia::attachments::store::sha256_hex(&bytes)
    );

    // The thumbnail is upright (turned as the orientation says).
    let thumb = app
        .get(attachment["thumbnail_url"].as_str().unwrap(), &app.monitor)
        .await;
    assert_eq!(thumb.status, 200);
    let small = image::load_from_memory(&thumb.bytes).unwrap();
    assert!(
        small.height() > small.width(),
        "{}x{}",
        small.width(),
        small.height()
    );

    // The incident lists it; the original was not kept, so there is none.
    let event = app
        .get(&format!("/api/v1/events/{id}"), &app.researcher)
        .await;
    assert_eq!(event.body["attachments"][0]["id"], attachment["id"]);
    let aid = attachment["id"].as_str().unwrap();
    app.get(&format!("/api/v1/attachments/{aid}/original"), &app.admin)
        .await
        .problem(404);
    // Researchers read who attached it as a pseudonym.
    let listed = app.get(&path, &app.researcher).await;
    assert!(listed.body[0]["created_by"]
        .as_str()
        .unwrap()
        .starts_with("persona-"));
}

#[actix_web::test]
async fn png_text_and_exif_chunks_go_too() {
    let app = spawn_app().await;
    let id = incident(&app).await;
    let pixels = image::RgbaImage::from_pixel(8, 8, image::Rgba([200, 10, 10, 255]));
    let mut plain = Cursor::new(Vec::new());
    pixels
        .write_to(&mut plain, image::ImageFormat::Png)
        .unwrap();
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(plain.into_inner())).unwrap();
    let text = img_parts::png::PngChunk::new(*b"tEXt", Bytes::from_static(b"Author\0Rosa Quispe"));
    let at = png.chunks().len() - 1;
    png.chunks_mut().insert(at, text);
    let res = app
        .upload(
            &format!("/api/v1/events/{id}/attachments"),
            &app.monitor,
            "mapa.png",
            &png.encoder().bytes(),
            &[],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let stored = app
        .get(res.body["url"].as_str().unwrap(), &app.monitor)
        .await;
    assert!(!contains(&stored.bytes, b"Rosa Quispe"));
    assert_eq!(image::load_from_memory(&stored.bytes).unwrap().width(), 8);
}

#[actix_web::test]
async fn a_video_loses_the_place_it_was_filmed_and_still_has_its_frames() {
    let app = spawn_app().await;
    let id = incident(&app).await;
    let video = phone_video();
    let res = app
        .upload(
            &format!("/api/v1/events/{id}/attachments"),
            &app.monitor,
            "VID.mp4",
            &video,
            &[],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.body["content_type"], "video/mp4");
    assert!(res.body.get("thumbnail_url").is_none());
    let stored = app
        .get(res.body["url"].as_str().unwrap(), &app.monitor)
        .await
        .bytes;
    assert_eq!(
        stored.len(),
        video.len(),
        "nothing moves: sample offsets stay right"
    );
    assert!(!contains(&stored, b"+14.0853"));
    assert!(!contains(&stored, b"udta"));
    assert!(contains(&stored, b"frames of the video"));
}

#[actix_web::test]
async fn the_type_is_read_from_the_bytes_and_sizes_are_bounded() {
    let app = spawn_app_with(TestDb::new(), |s| s.attachments.max_bytes = 4096).await;
    let id = incident(&app).await;
    let path = format!("/api/v1/events/{id}/attachments");

    // HTML named and sent as a photo: refused, whatever it claims.
    let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>";
    let (ct, body) = crate::helpers::multipart("foto.jpg", "image/jpeg", html, &[]);
    let res = app
        .send(
            Method::POST,
            &path,
            Some(&app.monitor),
            &[],
            Some((&ct, body)),
        )
        .await;
    res.problem(415);
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    app.upload(&path, &app.monitor, "mapa.svg", svg, &[])
        .await
        .problem(415);
    // Says it is a JPEG and is not one.
    let fake = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"not really"].concat();
    let res = app.upload(&path, &app.monitor, "x.jpg", &fake, &[]).await;
    assert_eq!(res.problem(422)["errors"][0]["field"], "file");
    // Empty, no file part, not multipart, a name with a line break.
    app.upload(&path, &app.monitor, "vacio.pdf", b"", &[])
        .await
        .problem(422);
    let (ct, body) = crate::helpers::multipart("a.pdf", "application/pdf", PDF, &[]);
    let body = String::from_utf8_lossy(&body).replace("name=\"file\"", "name=\"other\"");
    app.send(
        Method::POST,
        &path,
        Some(&app.monitor),
        &[],
        Some((&ct, body.into_bytes())),
    )
    .await
    .problem(422);
    app.send(
        Method::POST,
        &path,
        Some(&app.monitor),
        &[],
        Some(("application/pdf", PDF.to_vec())),
    )
    .await
    .problem(415);
    // A line break in the part's header breaks the body itself: 400. A
    // name that reorders what a reader sees is refused by the name rule.
    app.upload(&path, &app.monitor, "a\r\nb.pdf", PDF, &[])
        .await
        .problem(400);
    let res = app
        .upload(&path, &app.monitor, "informe\u{202E}fdp.exe", PDF, &[])
        .await;
    assert_eq!(res.problem(422)["errors"][0]["code"], "control_character");
    // Over attachments.max_bytes: 413 (told by the declared length, and
    // also when the body is streamed without one).
    let big = [PDF, &vec![b' '; 5000]].concat();
    app.upload(&path, &app.monitor, "grande.pdf", &big, &[])
        .await
        .problem(413);
    // A researcher reads but does not attach; nobody attaches to nothing.
    app.upload(&path, &app.researcher, "a.pdf", PDF, &[])
        .await
        .problem(403);
    let nowhere = format!("/api/v1/events/{}/attachments", uuid::Uuid::new_v4());
    app.upload(&nowhere, &app.monitor, "a.pdf", PDF, &[])
        .await
        .problem(404);
    assert_eq!(attachments_of(&app), 0);
    assert_eq!(blobs_of(&app), 0);
}

#[actix_web::test]
async fn a_file_is_kept_once_and_sent_again_is_the_same_attachment() {
    let app = spawn_app().await;
    let (a, b) = (incident(&app).await, incident(&app).await);
    let photo = phone_photo();
    let first = app
        .upload(
            &format!("/api/v1/events/{a}/attachments"),
            &app.monitor,
            "1.jpg",
            &photo,
            &[],
        )
        .await;
    assert_eq!(first.status, 201);
    let again = app
        .upload(
            &format!("/api/v1/events/{a}/attachments"),
            &app.admin,
            "otra.jpg",
            &photo,
            &[],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    let elsewhere = app
        .upload(
            &format!("/api/v1/events/{b}/attachments"),
            &app.monitor,
            "1.jpg",
            &photo,
            &[],
        )
        .await;
    assert_eq!(elsewhere.status, 201);
    assert_ne!(elsewhere.body["id"], first.body["id"]);
    assert_eq!(attachments_of(&app), 2);
    // The photo and its thumbnail, once each.
    assert_eq!(blobs_of(&app), 2);
}

#[actix_web::test]
async fn an_upload_with_a_key_is_done_once_even_sent_ten_times_at_once_to_two_servers() {
    let app = spawn_app().await;
    // A second server process on the same database.
    let other = crate::helpers::spawn_app_on(TestDb::reuse(&app.test_db)).await;
    let id = incident(&app).await;
    let path = format!("/api/v1/events/{id}/attachments");
    let key = uuid::Uuid::new_v4().to_string();
    let photo = phone_photo();
    let headers = [("Idempotency-Key", key.as_str())];
    let sends = (0..10).map(|i| {
        let server = if i % 2 == 0 { &app } else { &other };
        server.upload(&path, &app.monitor, "IMG.jpg", &photo, &headers)
    });
    let answers = futures_util::future::join_all(sends).await;
    let ids: Vec<&Value> = answers.iter().map(|r| &r.body["id"]).collect();
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert!(ids.iter().all(|i| *i == ids[0]));
    assert_eq!(
        answers
            .iter()
            .filter(|r| r.header("idempotent-replayed").is_none())
            .count(),
        1
    );
    assert_eq!(attachments_of(&app), 1);
    // Another file with the key: refused.
    app.upload(
        &path,
        &app.monitor,
        "IMG.jpg",
        PDF,
        &[("Idempotency-Key", key.as_str())],
    )
    .await
    .problem(422);
}

#[actix_web::test]
async fn deleting_is_soft_audited_and_an_admin_restores() {
    let app = spawn_app().await;
    let id = incident(&app).await;
    let res = app
        .upload(
            &format!("/api/v1/events/{id}/attachments"),
            &app.monitor,
            "informe.pdf",
            PDF,
            &[],
        )
        .await;
    assert_eq!(res.status, 201);
    assert!(res.header("content-disposition").is_none());
    let aid = res.body["id"].as_str().unwrap().to_string();
    let one = format!("/api/v1/attachments/{aid}");
    let content = app.get(&format!("{one}/content"), &app.researcher).await;
    assert_eq!(
        content.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(content
        .header("content-disposition")
        .unwrap()
        .contains("informe.pdf"));

    app.delete(&one, &app.researcher, None).await.problem(403);
    let res = app.delete(&one, &app.monitor, None).await;
    assert_eq!(res.status, 204, "{}", res.body);
    app.get(&format!("{one}/content"), &app.monitor)
        .await
        .problem(404);
    let event = app.get(&format!("/api/v1/events/{id}"), &app.monitor).await;
    assert_eq!(event.body["attachments"], json!([]));
    let listed = app
        .get(
            &format!("/api/v1/events/{id}/attachments?deleted=true"),
            &app.admin,
        )
        .await;
    assert!(listed.body[0]["deleted_at"].is_string());
    let trail = app
        .get(
            &format!("/api/v1/audit?entity=attachment&entity_id={aid}"),
            &app.admin,
        )
        .await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    let actions: Vec<&str> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"create") && actions.contains(&"delete"),
        "{actions:?}"
    );

    app.post(&format!("{one}/restore"), &app.monitor, json!({}))
        .await
        .problem(403);
    let back = app
        .post(&format!("{one}/restore"), &app.admin, json!({}))
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(
        app.get(&format!("{one}/content"), &app.monitor).await.bytes,
        PDF
    );

    // An attachment of a deleted incident is not there for a monitor.
    app.delete(&format!("/api/v1/events/{id}"), &app.admin, Some("\"1\""))
        .await;
    app.get(&format!("{one}/content"), &app.monitor)
        .await
        .problem(404);
    assert_eq!(
        app.get(&format!("{one}/content"), &app.admin).await.status,
        200
    );
}

#[actix_web::test]
async fn originals_kept_for_evidence_are_for_admins_only() {
    let app = spawn_app_with(TestDb::new(), |s| s.attachments.keep_originals = true).await;
    let id = incident(&app).await;
    let photo = phone_photo();
    let res = app
        .upload(
            &format!("/api/v1/events/{id}/attachments"),
            &app.monitor,
            "IMG.jpg",
            &photo,
            &[],
        )
        .await;
    assert_eq!(res.body["original_kept"], true);
    let original = format!(
        "/api/v1/attachments/{}/original",
        res.body["id"].as_str().unwrap()
    );
    app.get(&original, &app.monitor).await.problem(403);
    app.get(&original, &app.researcher).await.problem(403);
    let kept = app.get(&original, &app.admin).await;
    assert_eq!(kept.bytes, photo);
    assert!(kept
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    // What everyone else reads is still without the place.
    let served = app
        .get(res.body["url"].as_str().unwrap(), &app.monitor)
        .await;
    assert!(!contains(&served.bytes, b"GPS"));
}

#[actix_web::test]
async fn files_may_live_in_a_directory_instead() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_app_with(TestDb::new(), move |s| {
        s.attachments.dir = path.display().to_string();
    })
    .await;
    let id = incident(&app).await;
    let res = app
        .upload(
            &format!("/api/v1/events/{id}/attachments"),
            &app.monitor,
            "a.pdf",
            PDF,
            &[],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let sha = res.body["sha256"].as_str().unwrap();
    let file = dir.path().join(&sha[..2]).join(sha);
    assert_eq!(std::fs::read(&file).unwrap(), PDF);
    let mut conn = app.db.get().unwrap();
    let data: Option<Vec<u8>> = vigia::schema::attachment_blobs::table
        .find(sha)
        .select(vigia::schema::attachment_blobs::data)
        .first(&mut conn)
        .unwrap();
    assert!(data.is_none());
    drop(conn);
    assert_eq!(
        app.get(res.body["url"].as_str().unwrap(), &app.monitor)
            .await
            .bytes,
        PDF
    );
}

#[actix_web::test]
async fn a_case_keeps_the_report_pdfs() {
    let app = spawn_app().await;
    let case = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Tiaparo - Tapayrihua - SPCC (Los Chancas)", "case_type": "socioambiental",
                "activity": "minería", "region": "Apurímac", "province": "Aymaraes",
                "district": "Pocohuanca", "ubigeo": "030410"}),
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.body);
    let cid = case.body["id"].as_str().unwrap();
    let res = app
        .upload(
            &format!("/api/v1/cases/{cid}/attachments"),
            &app.monitor,
            "Reporte-219.pdf",
            PDF,
            &[],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.body["case_id"], cid);
    let listed = app
        .get(&format!("/api/v1/cases/{cid}/attachments"), &app.researcher)
        .await;
    assert_eq!(listed.body[0]["filename"], "Reporte-219.pdf");
}
