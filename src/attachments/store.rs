//! The `attachments` rows and their bytes.
//!
//! Bytes are kept once per content: `attachment_blobs` is keyed by the
//! SHA-256 of what it holds, so the same photo attached to ten incidents (or
//! sent ten times) is stored once. With `attachments.dir` the bytes go to a
//! file named by that hash instead (written and synced before the row that
//! names it is committed; a crash in between leaves at most an unnamed file,
//! never a row without its bytes).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Attachment, Owner, Storage};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::schema::{attachment_blobs, attachments};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct Row {
    pub id: String,
    pub event_id: Option<String>,
    pub case_id: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: String,
    pub thumbnail_sha256: Option<String>,
    pub original_sha256: Option<String>,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub deleted_at: Option<NaiveDateTime>,
    pub public: bool,
}

impl Row {
    pub fn to_api(&self) -> Attachment {
        let uuid = |s: &Option<String>| s.as_deref().and_then(|s| Uuid::parse_str(s).ok());
        Attachment {
            id: Uuid::parse_str(&self.id).unwrap_or_default(),
            event_id: uuid(&self.event_id),
            case_id: uuid(&self.case_id),
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            bytes: self.bytes,
            sha256: self.sha256.clone(),
            url: format!("/api/v1/attachments/{}/content", self.id),
            thumbnail_url: self
                .thumbnail_sha256
                .as_ref()
                .map(|_| format!("/api/v1/attachments/{}/thumbnail", self.id)),
            original_kept: self.original_sha256.is_some(),
            created_at: self.created_at.and_utc(),
            created_by: self.created_by.clone(),
            deleted_at: self.deleted_at.map(|d| d.and_utc()),
            public: self.public,
        }
    }

    pub fn owner(&self) -> Option<Owner> {
        match (&self.event_id, &self.case_id) {
            (Some(e), _) => Some(Owner::Event(e.clone())),
            (_, Some(c)) => Some(Owner::Case(c.clone())),
            _ => None,
        }
    }
}

/// A file ready to be kept: scrubbed, hashed, with its thumbnail.
pub struct NewFile {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub thumbnail: Option<Vec<u8>>,
    pub original: Option<Vec<u8>>,
}

fn blob_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join(&sha[..2]).join(sha)
}

/// Keeps `data` once (nothing happens when the same bytes are kept
/// already); its SHA-256.
pub fn put_blob(conn: &mut DbConn, storage: &Storage, data: &[u8]) -> Result<String, AppError> {
    let sha = sha256_hex(data);
    let in_db = match storage {
        Storage::Database => Some(data),
        Storage::Dir(dir) => {
            write_file(&blob_path(dir, &sha), data)?;
            None
        }
    };
    let row = (
        attachment_blobs::sha256.eq(&sha),
        attachment_blobs::bytes.eq(data.len() as i64),
        attachment_blobs::data.eq(in_db),
        attachment_blobs::created_at.eq(db::now()),
    );
    match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(attachment_blobs::table)
            .values(row)
            .execute(c)?,
        DbConn::Pg(c) => diesel::insert_into(attachment_blobs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(sha)
}

/// Writes a content-addressed file whole or not at all: a temporary file
/// in the same directory, synced, then renamed over the name.
fn write_file(path: &Path, data: &[u8]) -> Result<(), AppError> {
    if path.exists() {
        return Ok(());
    }
    let fail = |e: std::io::Error| {
        AppError::internal_from(format!("writing the attachment {}", path.display()), e)
    };
    let dir = path
        .parent()
        .ok_or_else(|| AppError::internal("an attachment path without a directory"))?;
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    file.write_all(data).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The bytes of a blob, from the database or the directory.
pub fn blob(conn: &mut DbConn, storage: &Storage, sha: &str) -> Result<Vec<u8>, AppError> {
    let data: Option<Vec<u8>> = attachment_blobs::table
        .find(sha)
        .select(attachment_blobs::data)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::internal(format!("attachment blob {sha} is missing")))?;
    if let Some(data) = data {
        return Ok(data);
    }
    let Storage::Dir(dir) = storage else {
        return Err(AppError::internal(format!(
            "attachment blob {sha} is in a directory, but attachments.dir is not set"
        )));
    };
    let path = blob_path(dir, sha);
    std::fs::read(&path).map_err(|e| {
        AppError::internal_from(format!("reading the attachment {}", path.display()), e)
    })
}

/// Attaches a file whose blobs are kept already. With the same file
/// attached (live) to the same owner, that attachment comes back instead
/// and `false` says nothing new was made.
pub fn insert(
    conn: &mut DbConn,
    owner: &Owner,
    file: &NewFile,
    sha: &str,
    thumbnail_sha: Option<&str>,
    original_sha: Option<&str>,
    created_by: &str,
) -> Result<(Row, bool), AppError> {
    let (event_id, case_id) = match owner {
        Owner::Event(id) => (Some(id.as_str()), None),
        Owner::Case(id) => (None, Some(id.as_str())),
    };
    if let Some(existing) = live_with(conn, owner, sha)? {
        return Ok((existing, false));
    }
    let id = Uuid::new_v4().to_string();
    diesel::insert_into(attachments::table)
        .values((
            attachments::id.eq(&id),
            attachments::event_id.eq(event_id),
            attachments::case_id.eq(case_id),
            attachments::filename.eq(&file.filename),
            attachments::content_type.eq(&file.content_type),
            attachments::bytes.eq(file.data.len() as i64),
            attachments::sha256.eq(sha),
            attachments::thumbnail_sha256.eq(thumbnail_sha),
            attachments::original_sha256.eq(original_sha),
            attachments::created_at.eq(db::now()),
            attachments::created_by.eq(created_by),
        ))
        .execute(conn)?;
    Ok((load(conn, &id)?, true))
}

fn live_with(conn: &mut DbConn, owner: &Owner, sha: &str) -> Result<Option<Row>, AppError> {
    let query = attachments::table
        .select(Row::as_select())
        .filter(attachments::sha256.eq(sha))
        .filter(attachments::deleted_at.is_null())
        .into_boxed();
    let query = match owner {
        Owner::Event(id) => query.filter(attachments::event_id.eq(id)),
        Owner::Case(id) => query.filter(attachments::case_id.eq(id)),
    };
    Ok(query.first(conn).optional()?)
}

/// One attachment, deleted or not.
pub fn load(conn: &mut DbConn, id: &str) -> Result<Row, AppError> {
    attachments::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no attachment with id {id}")))
}

/// The live attachments of an owner, oldest first (deleted ones too when
/// asked).
pub fn of(conn: &mut DbConn, owner: &Owner, with_deleted: bool) -> Result<Vec<Row>, AppError> {
    let mut query = attachments::table
        .select(Row::as_select())
        .order((attachments::created_at.asc(), attachments::id.asc()))
        .into_boxed();
    query = match owner {
        Owner::Event(id) => query.filter(attachments::event_id.eq(id.clone())),
        Owner::Case(id) => query.filter(attachments::case_id.eq(id.clone())),
    };
    if !with_deleted {
        query = query.filter(attachments::deleted_at.is_null());
    }
    Ok(query.load(conn)?)
}

/// The live attachments of each of these incidents, by incident id.
pub fn for_events(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<Attachment>>, AppError> {
    let mut by_event: std::collections::HashMap<String, Vec<Attachment>> = Default::default();
    for chunk in ids.chunks(500) {
        let rows: Vec<Row> = attachments::table
            .select(Row::as_select())
            .filter(attachments::event_id.eq_any(chunk))
            .filter(attachments::deleted_at.is_null())
            .order((attachments::created_at.asc(), attachments::id.asc()))
            .load(conn)?;
        for row in rows {
            if let Some(event) = row.event_id.clone() {
                by_event.entry(event).or_default().push(row.to_api());
            }
        }
    }
    Ok(by_event)
}

/// Marks an attachment shown on the public map (with its incident, when
/// that is published) or not.
pub fn set_public(conn: &mut DbConn, id: &str, public: bool) -> Result<(), AppError> {
    diesel::update(attachments::table.find(id))
        .set(attachments::public.eq(public))
        .execute(conn)?;
    Ok(())
}

pub fn set_deleted(conn: &mut DbConn, id: &str, at: Option<NaiveDateTime>) -> Result<(), AppError> {
    diesel::update(attachments::table.find(id))
        .set(attachments::deleted_at.eq(at))
        .execute(conn)?;
    Ok(())
}
