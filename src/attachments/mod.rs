//! Files attached to incidents and Defensoría cases: photos, short videos,
//! PDF documents.
//!
//! - `media`: what a file is (read from its bytes), what of it is kept
//!   (photos and videos without location and device metadata), thumbnails.
//! - `store`: the `attachments` rows and the bytes, once per content
//!   (SHA-256), in the database or in `attachments.dir`.
//!
//! The use cases (attach, delete, restore, read) are `ops::attachments`.

pub mod media;
pub mod store;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;

/// Where the bytes go and how much is accepted, from `[attachments]`.
#[derive(Debug, Clone)]
pub struct AttachmentPolicy {
    pub storage: Storage,
    /// Largest file accepted, in bytes; beyond it, 413.
    pub max_bytes: u64,
    /// Keep each photo as uploaded too (with its metadata), for evidence,
    /// readable only by admins.
    pub keep_originals: bool,
}

impl Default for AttachmentPolicy {
    fn default() -> Self {
        AttachmentPolicy {
            storage: Storage::Database,
            max_bytes: 25 * 1024 * 1024,
            keep_originals: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In `attachment_blobs.data`: one thing to back up, seen by every
    /// server process.
    Database,
    /// Files named by their SHA-256 under this directory.
    Dir(PathBuf),
}

/// What a file is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Event(String),
    Case(String),
}

/// One attached file as the API lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    /// The name it was uploaded with (its last path part).
    #[schema(example = "campamento.jpg")]
    pub filename: String,
    /// Read from the bytes, not from what the client said.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Size of the file as served.
    pub bytes: i64,
    /// SHA-256 of the file as served (for photos: without their metadata).
    pub sha256: String,
    /// Where to download it.
    #[schema(example = "/api/v1/attachments/6f1c…/content")]
    pub url: String,
    /// A JPEG of at most 480 px, for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// Whether the file as uploaded is kept too (admins only read it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub original_kept: bool,
    pub created_at: DateTime<Utc>,
    /// Who attached it; researchers read a pseudonym.
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Shown on the public map with its incident (when that is published).
    /// Set by monitors and admins; default false.
    pub public: bool,
}

/// Longest file name kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

/// The name a file is kept under: its last path part (browsers on Windows
/// once sent `C:\fakepath\…`), one line, at most 200 characters; a file
/// sent without a name is `archivo`.
pub fn filename(raw: Option<&str>) -> Result<String, FieldError> {
    let name = raw
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .trim();
    if let Some(c) = name.chars().find(|c| crate::rules::is_disguising(*c)) {
        return Err(FieldError::coded(
            "file",
            "control_character",
            format!(
                "the file name must be one line without control or direction characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    if name.chars().count() > MAX_FILENAME_CHARS {
        let mut e = FieldError::coded(
            "file",
            "length",
            format!("the file name must be at most {MAX_FILENAME_CHARS} characters"),
        );
        e.params
            .push(("max".into(), MAX_FILENAME_CHARS.to_string()));
        return Err(e);
    }
    if name.is_empty() || name == "." || name == ".." {
        return Ok("archivo".into());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_last_part_and_refuse_tricks() {
        assert_eq!(
            filename(Some("C:\\fakepath\\foto.jpg")).ok().as_deref(),
            Some("foto.jpg")
        );
        assert_eq!(
            filename(Some("../../etc/passwd")).ok().as_deref(),
            Some("passwd")
        );
        assert_eq!(filename(None).ok().as_deref(), Some("archivo"));
        assert_eq!(filename(Some("..")).ok().as_deref(), Some("archivo"));
        assert!(filename(Some("foto\u{202E}gpj.exe")).is_err());
        assert!(filename(Some("a\r\nb.jpg")).is_err());
        assert!(filename(Some(&"a".repeat(201))).is_err());
    }
}
