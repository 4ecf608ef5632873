//! What an uploaded file is, and what of it Vigía keeps.
//!
//! The type is read from the bytes (`infer`), never taken from the client's
//! name or header: a `.jpg` that holds HTML is refused. Photos lose their
//! location and device metadata (EXIF, XMP, comments, and the extra images
//! some phones append) but keep their orientation, so they still show the
//! right way up; the incident's own location is what Vigía publishes. The
//! container is rewritten without decoding the pixels, so a photo loses no
//! quality. Videos (MP4/QuickTime, what phone cameras record) lose their
//! user-data boxes, where phones write the place they were filmed.

use std::io::Cursor;

use img_parts::jpeg::{markers, Jpeg};
use img_parts::png::Png;
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF};

/// What kinds of file are accepted: photos, short videos and documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Mp4,
    QuickTime,
    Pdf,
}

impl Kind {
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Mp4 => "video/mp4",
            Kind::QuickTime => "video/quicktime",
            Kind::Pdf => "application/pdf",
        }
    }

    pub fn from_content_type(text: &str) -> Option<Kind> {
        [
            Kind::Jpeg,
            Kind::Png,
            Kind::Webp,
            Kind::Mp4,
            Kind::QuickTime,
            Kind::Pdf,
        ]
        .into_iter()
        .find(|k| k.content_type() == text)
    }

    pub fn is_image(self) -> bool {
        matches!(self, Kind::Jpeg | Kind::Png | Kind::Webp)
    }
}

/// Why a file is not accepted; the caller turns it into a 415 or 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a type Vigía keeps (HTML, SVG, scripts, archives…).
    Unsupported(String),
    /// Says it is a photo or video but cannot be read as one.
    Unreadable(String),
}

/// The kind of file the bytes are, if Vigía accepts it.
pub fn sniff(bytes: &[u8]) -> Result<Kind, Refusal> {
    let found = infer::get(bytes).map(|t| t.mime_type());
    match found {
        Some("image/jpeg") => Ok(Kind::Jpeg),
        Some("image/png") => Ok(Kind::Png),
        Some("image/webp") => Ok(Kind::Webp),
        Some("video/mp4") => Ok(Kind::Mp4),
        Some("video/quicktime") => Ok(Kind::QuickTime),
        Some("application/pdf") => Ok(Kind::Pdf),
        // No maintained pure-Rust crate reads HEIC (libheif is a system
        // library), so its location could not be removed. Phones' browsers
        // send JPEG when a page asks for images.
        Some("image/heif") | Some("image/heic") | Some("image/avif") => Err(Refusal::Unsupported(
            "HEIC/HEIF/AVIF photos are not accepted (their location could not be removed); send JPEG, as the phone's browser does"
                .into(),
        )),
        Some(other) => Err(Refusal::Unsupported(format!(
            "files of type {other} are not accepted; send a photo (JPEG, PNG, WebP), a video (MP4, MOV) or a PDF"
        ))),
        None => Err(Refusal::Unsupported(
            "this file is not a photo (JPEG, PNG, WebP), a video (MP4, MOV) or a PDF".into(),
        )),
    }
}

/// The file as Vigía keeps it: images and videos without location and
/// device metadata; PDFs as they are (documents, not the monitor's camera).
pub fn scrub(kind: Kind, bytes: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    match kind {
        Kind::Jpeg => scrub_jpeg(bytes),
        Kind::Png => scrub_png(bytes),
        Kind::Webp => scrub_webp(bytes),
        Kind::Mp4 | Kind::QuickTime => scrub_iso_media(bytes),
        Kind::Pdf => Ok(bytes),
    }
}

fn unreadable(what: &str) -> impl Fn(img_parts::Error) -> Refusal + '_ {
    move |e| Refusal::Unreadable(format!("this {what} cannot be read: {e}"))
}

/// The EXIF orientation (1–8) of raw EXIF data, if it has one.
fn orientation(exif: &[u8]) -> Option<u16> {
    let data = exif::Reader::new().read_raw(exif.to_vec()).ok()?;
    let field = data.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let value = field.value.get_uint(0)?;
    u16::try_from(value).ok().filter(|o| (1..=8).contains(o))
}

/// EXIF data holding the orientation and nothing else; none for the
/// upright default.
fn only_orientation(exif: Option<Bytes>) -> Result<Option<Bytes>, Refusal> {
    let Some(o) = exif.as_deref().and_then(orientation).filter(|o| *o != 1) else {
        return Ok(None);
    };
    let field = exif::Field {
        tag: exif::Tag::Orientation,
        ifd_num: exif::In::PRIMARY,
        value: exif::Value::Short(vec![o]),
    };
    let mut writer = exif::experimental::Writer::new();
    writer.push_field(&field);
    let mut out = Cursor::new(Vec::new());
    writer
        .write(&mut out, false)
        .map_err(|e| Refusal::Unreadable(format!("the photo's orientation cannot be kept: {e}")))?;
    Ok(Some(Bytes::from(out.into_inner())))
}

fn scrub_jpeg(bytes: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    let mut jpeg = Jpeg::from_bytes(Bytes::from(bytes)).map_err(unreadable("JPEG photo"))?;
    let exif = only_orientation(jpeg.exif())?;
    // Kept: JFIF (APP0), the colour profile (APP2 "ICC_PROFILE") and
    // Adobe's colour transform (APP14), which decoders need. Gone: EXIF and
    // XMP (APP1: GPS, camera serial, owner), the multi-picture index (APP2
    // "MPF", pointing at extra images), maker data (APP3–13, APP15) and
    // comments.
    jpeg.segments_mut().retain(|s| match s.marker() {
        markers::APP0 | markers::APP14 => true,
        markers::APP2 => s.contents().starts_with(b"ICC_PROFILE\0"),
        m if (markers::APP1..=markers::APP15).contains(&m) => false,
        markers::COM => false,
        _ => true,
    });
    jpeg.set_exif(exif);
    // img-parts keeps everything after the first scan as it was, including
    // what phones append after the end of the image ("motion photo"
    // videos, depth maps, which carry metadata of their own). The image
    // ends at the first end-of-image marker after the headers: inside
    // entropy-coded data a 0xFF byte is always followed by 0x00 or a
    // restart/segment marker, never by 0xD9.
    let headers: usize = 2 + jpeg.segments().iter().map(|s| s.len()).sum::<usize>();
    let mut out = jpeg.encoder().bytes().to_vec();
    let end = out
        .get(headers..)
        .and_then(|rest| rest.windows(2).position(|w| w == [0xFF, markers::EOI]))
        .ok_or_else(|| {
            Refusal::Unreadable("this JPEG photo has no end (it may be cut short)".into())
        })?;
    out.truncate(headers + end + 2);
    Ok(out)
}

fn scrub_png(bytes: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    let mut png = Png::from_bytes(Bytes::from(bytes)).map_err(unreadable("PNG image"))?;
    let exif = only_orientation(png.exif())?;
    // Text chunks carry XMP and free-form metadata (author, GPS in some
    // tools); eXIf is written again with the orientation only.
    png.chunks_mut()
        .retain(|c| !matches!(&c.kind(), b"tEXt" | b"iTXt" | b"zTXt" | b"tIME" | b"eXIf"));
    png.set_exif(exif);
    Ok(png.encoder().bytes().to_vec())
}

fn scrub_webp(bytes: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    let mut webp = WebP::from_bytes(Bytes::from(bytes)).map_err(unreadable("WebP image"))?;
    let exif = only_orientation(webp.exif())?;
    webp.remove_chunks_by_id(*b"XMP ");
    webp.set_exif(exif);
    Ok(webp.encoder().bytes().to_vec())
}

/// MP4 and QuickTime: every `udta` (user data: Apple's `©xyz` place, the
/// camera's make and model) and `meta` box (Apple's and Android's location
/// keys) inside `moov` becomes a `free` box of the same size with its
/// contents zeroed. Nothing moves, so the sample offsets stay right and the
/// video plays as before.
fn scrub_iso_media(mut bytes: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    let len = bytes.len();
    let top = boxes(&bytes, 0, len)?;
    for (kind, start, header, end) in top {
        if &kind == b"moov" {
            blank_user_data(&mut bytes, start + header, end, 0)?;
        }
    }
    Ok(bytes)
}

/// Boxes that hold other boxes, where user data may sit.
const CONTAINERS: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"edts"];

fn blank_user_data(bytes: &mut [u8], from: usize, to: usize, depth: u8) -> Result<(), Refusal> {
    if depth > 8 {
        return Ok(());
    }
    for (kind, start, header, end) in boxes(bytes, from, to)? {
        if &kind == b"udta" || &kind == b"meta" {
            bytes[start + 4..start + 8].copy_from_slice(b"free");
            bytes[start + header..end].fill(0);
        } else if CONTAINERS.contains(&&kind) {
            blank_user_data(bytes, start + header, end, depth + 1)?;
        }
    }
    Ok(())
}

/// A box of an ISO media file: its type, where it starts, its header's
/// length and where it ends.
type MediaBox = ([u8; 4], usize, usize, usize);

/// The boxes between `from` and `to`.
fn boxes(bytes: &[u8], from: usize, to: usize) -> Result<Vec<MediaBox>, Refusal> {
    let bad = || {
        Refusal::Unreadable("this video cannot be read: a box runs past the end of the file".into())
    };
    let mut found = Vec::new();
    let mut at = from;
    while at + 8 <= to {
        let size32 = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let kind = [bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]];
        let (size, header) = match size32 {
            // The box runs to the end of its parent.
            0 => (to - at, 8),
            1 => {
                if at + 16 > to {
                    return Err(bad());
                }
                let mut large = [0u8; 8];
                large.copy_from_slice(&bytes[at + 8..at + 16]);
                let size = usize::try_from(u64::from_be_bytes(large)).map_err(|_| bad())?;
                (size, 16)
            }
            n => (n as usize, 8),
        };
        let end = at.checked_add(size).ok_or_else(bad)?;
        if size < header || end > to {
            return Err(bad());
        }
        found.push((kind, at, header, end));
        at = end;
    }
    Ok(found)
}

/// Largest thumbnail side, in pixels.
const THUMBNAIL_SIDE: u32 = 480;

/// A JPEG thumbnail of an image, turned upright. Decoding is bounded (a
/// "decompression bomb" of 100,000 × 100,000 pixels is refused, not
/// allocated).
pub fn thumbnail(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    use image::ImageDecoder;
    let format = match kind {
        Kind::Jpeg => image::ImageFormat::Jpeg,
        Kind::Png => image::ImageFormat::Png,
        Kind::Webp => image::ImageFormat::WebP,
        _ => return Err(Refusal::Unsupported("only images have thumbnails".into())),
    };
    let bad = |e: image::ImageError| Refusal::Unreadable(format!("this image cannot be read: {e}"));
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // A 50-megapixel phone photo is 8160 × 6120 (150 MB decoded).
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(bad)?;
    let orientation = decoder.orientation().map_err(bad)?;
    let mut picture = image::DynamicImage::from_decoder(decoder).map_err(bad)?;
    picture.apply_orientation(orientation);
    let small = picture
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgb8();
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .map_err(bad)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_jpeg() -> Vec<u8> {
        let pixels = image::RgbImage::from_pixel(16, 8, image::Rgb([10, 120, 200]));
        let mut out = Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&pixels)
            .unwrap_or_default();
        out.into_inner()
    }

    #[test]
    fn a_decompression_bomb_is_refused_not_allocated() {
        let mut jpeg = small_jpeg();
        // The frame header (SOF0: FF C0, length, precision) says 60000 × 60000.
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .unwrap_or_default();
        assert!(sof > 0);
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
        assert!(matches!(
            thumbnail(Kind::Jpeg, &jpeg),
            Err(Refusal::Unreadable(_))
        ));
    }

    #[test]
    fn a_cut_photo_is_unreadable() {
        let jpeg = small_jpeg();
        let cut = jpeg[..jpeg.len() - 40].to_vec();
        assert!(matches!(
            scrub(Kind::Jpeg, cut),
            Err(Refusal::Unreadable(_))
        ));
    }

    #[test]
    fn broken_video_boxes_are_refused_without_panicking() {
        let mut file = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom".to_vec();
        // A moov that claims more bytes than the file has.
        file.extend_from_slice(b"\x00\x00\x10\x00moov\x00\x00\x00\x08udta");
        assert!(matches!(
            scrub(Kind::Mp4, file.clone()),
            Err(Refusal::Unreadable(_))
        ));
        // Every truncation and a 64-bit size of 1 byte: an answer, never a panic.
        for end in 0..file.len() {
            let _ = scrub(Kind::Mp4, file[..end].to_vec());
        }
        let mut large = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom".to_vec();
        large.extend_from_slice(b"\x00\x00\x00\x01moov\x00\x00\x00\x00\x00\x00\x00\x01");
        assert!(scrub(Kind::Mp4, large).is_err());
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(&small_jpeg()), Ok(Kind::Jpeg));
        assert_eq!(sniff(b"%PDF-1.7\n"), Ok(Kind::Pdf));
        assert!(matches!(
            sniff(b"<html><script>"),
            Err(Refusal::Unsupported(_))
        ));
        assert!(matches!(sniff(b""), Err(Refusal::Unsupported(_))));
        let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic";
        assert!(matches!(sniff(heic), Err(Refusal::Unsupported(m)) if m.contains("HEIC")));
    }
}
