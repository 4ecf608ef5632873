//! Attaching photos, videos and documents to incidents and cases; deleting,
//! restoring and reading them.
//!
//! A file is judged and prepared ([`prepare`]: its type from its bytes,
//! photos without location and device metadata, the thumbnail) before any
//! transaction, since that is CPU work that needs no connection; then
//! [`attach`] keeps it in one transaction with its audit record.

use super::Who;
use crate::attachments::{self, media, store, Attachment, AttachmentPolicy, Owner};
use crate::audit::{self, Action, Entity};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::events::store::Visibility;
use crate::keys::Role;

/// A file as it arrived.
#[derive(Debug)]
pub struct Upload {
    /// The name the client gave, if any.
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// Judges an upload and makes what will be kept of it: 413 beyond
/// `max_bytes`, 415 when it is not a type Vigía keeps, 422 when it claims
/// a type it does not hold or its name breaks the rules.
pub fn prepare(policy: &AttachmentPolicy, upload: Upload) -> Result<store::NewFile, AppError> {
    if upload.bytes.len() as u64 > policy.max_bytes {
        return Err(too_large(policy));
    }
    if upload.bytes.is_empty() {
        return Err(AppError::Validation(vec![crate::error::FieldError::coded(
            "file",
            "required",
            "the file is empty",
        )]));
    }
    let filename = attachments::filename(upload.filename.as_deref())
        .map_err(|e| AppError::Validation(vec![e]))?;
    let kind = media::sniff(&upload.bytes).map_err(refused)?;
    let original =
        (policy.keep_originals && kind != media::Kind::Pdf).then(|| upload.bytes.clone());
    let data = media::scrub(kind, upload.bytes).map_err(refused)?;
    let thumbnail = if kind.is_image() {
        Some(media::thumbnail(kind, &data).map_err(refused)?)
    } else {
        None
    };
    // Kept apart only when it differs from what is served.
    let original = original.filter(|o| *o != data);
    Ok(store::NewFile {
        filename,
        content_type: kind.content_type().to_string(),
        data,
        thumbnail,
        original,
    })
}

pub fn too_large(policy: &AttachmentPolicy) -> AppError {
    AppError::PayloadTooLarge(format!(
        "files may have at most {} bytes ({} MiB)",
        policy.max_bytes,
        policy.max_bytes / (1024 * 1024)
    ))
}

fn refused(r: media::Refusal) -> AppError {
    match r {
        media::Refusal::Unsupported(why) => AppError::UnsupportedMediaType(why),
        media::Refusal::Unreadable(why) => {
            AppError::Validation(vec![crate::error::FieldError::coded(
                "file",
                "unreadable",
                why,
            )])
        }
    }
}

/// The owner exists and the caller may see it.
fn check_owner(conn: &mut DbConn, who: &Who, owner: &Owner) -> Result<(), AppError> {
    match owner {
        Owner::Event(id) => {
            let visibility = if who.is(Role::Admin) {
                Visibility::Any
            } else {
                Visibility::Live
            };
            crate::events::store::load(conn, id, visibility).map(|_| ())
        }
        Owner::Case(id) => crate::cases::store::load(conn, id).map(|_| ()),
    }
}

/// Attaches a prepared file (monitor, admin) to a live incident or case.
/// The same file attached already to it gives that attachment back
/// (`false`: nothing new).
#[tracing::instrument(skip_all, fields(who = %who.actor.name))]
pub fn attach(
    conn: &mut DbConn,
    policy: &AttachmentPolicy,
    who: &Who,
    owner: &Owner,
    file: &store::NewFile,
) -> Result<(Attachment, bool), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        match owner {
            Owner::Event(id) => {
                crate::events::store::load(conn, id, Visibility::Live).map(|_| ())?
            }
            Owner::Case(id) => crate::cases::store::load(conn, id).map(|_| ())?,
        }
        let sha = store::put_blob(conn, &policy.storage, &file.data)?;
        let thumbnail = file
            .thumbnail
            .as_deref()
            .map(|t| store::put_blob(conn, &policy.storage, t))
            .transpose()?;
        let original = file
            .original
            .as_deref()
            .map(|o| store::put_blob(conn, &policy.storage, o))
            .transpose()?;
        let (row, created) = store::insert(
            conn,
            owner,
            file,
            &sha,
            thumbnail.as_deref(),
            original.as_deref(),
            &who.actor.name,
        )?;
        let attachment = row.to_api();
        if created {
            audit::record(
                conn,
                &who.actor,
                Action::Create,
                Entity::Attachment,
                &row.id,
                None::<&()>,
                Some(&attachment),
            )?;
        }
        Ok((attachment, created))
    })
}

/// Attaches several prepared files at once: all of them or, if one fails,
/// none.
pub fn attach_all(
    conn: &mut DbConn,
    policy: &AttachmentPolicy,
    who: &Who,
    owner: &Owner,
    files: &[store::NewFile],
) -> Result<Vec<Attachment>, AppError> {
    db::write_tx(conn, |conn| {
        files
            .iter()
            .map(|f| attach(conn, policy, who, owner, f).map(|(a, _)| a))
            .collect()
    })
}

/// The attachments of an incident or a case (deleted ones for admins who
/// ask).
pub fn list(
    conn: &mut DbConn,
    who: &Who,
    owner: &Owner,
    with_deleted: bool,
) -> Result<Vec<Attachment>, AppError> {
    check_owner(conn, who, owner)?;
    let rows = store::of(conn, owner, with_deleted && who.is(Role::Admin))?;
    Ok(rows.iter().map(store::Row::to_api).collect())
}

/// One attachment the caller may see: a deleted one, or one of a deleted
/// incident, only for admins.
pub fn load(conn: &mut DbConn, who: &Who, id: &str) -> Result<store::Row, AppError> {
    let row = store::load(conn, id)?;
    if row.deleted_at.is_some() && !who.is(Role::Admin) {
        return Err(AppError::NotFound(format!("no attachment with id {id}")));
    }
    let owner = row
        .owner()
        .ok_or_else(|| AppError::internal(format!("attachment {id} has no owner")))?;
    check_owner(conn, who, &owner)
        .map_err(|_| AppError::NotFound(format!("no attachment with id {id}")))?;
    Ok(row)
}

/// Which bytes of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// What is served (photos without their metadata).
    Content,
    Thumbnail,
    /// The file as uploaded, kept for evidence: admins only.
    Original,
}

/// The bytes of an attachment and its row.
pub fn read(
    conn: &mut DbConn,
    policy: &AttachmentPolicy,
    who: &Who,
    id: &str,
    part: Part,
) -> Result<(store::Row, Vec<u8>), AppError> {
    let row = load(conn, who, id)?;
    let sha = match part {
        Part::Content => Some(row.sha256.clone()),
        Part::Thumbnail => row.thumbnail_sha256.clone(),
        Part::Original => {
            who.require(Role::Admin)?;
            row.original_sha256.clone()
        }
    };
    let sha = sha.ok_or_else(|| AppError::NotFound(format!("attachment {id} has no such file")))?;
    let bytes = store::blob(conn, &policy.storage, &sha)?;
    Ok((row, bytes))
}

/// Deletes an attachment (monitor, admin): it leaves the incident's page
/// and the API, its bytes and history stay, and an admin can restore it.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn delete(conn: &mut DbConn, who: &Who, id: &str) -> Result<(), AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        let row = load(conn, who, id)?;
        if row.deleted_at.is_some() {
            return Ok(());
        }
        store::set_deleted(conn, id, Some(db::now()))?;
        let after = store::load(conn, id)?.to_api();
        audit::record(
            conn,
            &who.actor,
            Action::Delete,
            Entity::Attachment,
            id,
            Some(&row.to_api()),
            Some(&after),
        )
    })
}

/// Marks an incident's attachment public (shown on the public map with
/// its incident, when that is published) or not (monitor, admin);
/// audited. A case's files never are: cases are not on the public map.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn set_public(
    conn: &mut DbConn,
    who: &Who,
    id: &str,
    public: bool,
) -> Result<Attachment, AppError> {
    who.require(Role::Monitor)?;
    db::write_tx(conn, |conn| {
        let row = load(conn, who, id)?;
        if row.deleted_at.is_some() {
            return Err(AppError::NotFound(format!("no attachment with id {id}")));
        }
        if !matches!(row.owner(), Some(crate::attachments::Owner::Event(_))) {
            return Err(AppError::Conflict(
                "only an incident's files can be public".into(),
            ));
        }
        if row.public == public {
            return Ok(row.to_api());
        }
        store::set_public(conn, id, public)?;
        let after = store::load(conn, id)?.to_api();
        audit::record(
            conn,
            &who.actor,
            Action::Update,
            Entity::Attachment,
            id,
            Some(&row.to_api()),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// The bytes of a public attachment for an anonymous visitor of the
/// public map: live, marked public, of a live published incident;
/// anything else is 404, as if it did not exist. Never the original.
pub fn read_public(
    conn: &mut DbConn,
    policy: &AttachmentPolicy,
    id: &str,
    part: Part,
) -> Result<(store::Row, Vec<u8>), AppError> {
    let missing = || AppError::NotFound("no public file with this id".into());
    let row = store::load(conn, id).map_err(|_| missing())?;
    let Some(event_id) = row.event_id.clone() else {
        return Err(missing());
    };
    if row.deleted_at.is_some() || !row.public || part == Part::Original {
        return Err(missing());
    }
    let event = crate::events::store::load(conn, &event_id, crate::events::store::Visibility::Live)
        .map_err(|_| missing())?;
    if !event.is_public() {
        return Err(missing());
    }
    let sha = match part {
        Part::Content => Some(row.sha256.clone()),
        Part::Thumbnail => row.thumbnail_sha256.clone(),
        Part::Original => None,
    };
    let sha = sha.ok_or_else(missing)?;
    let bytes = store::blob(conn, &policy.storage, &sha)?;
    Ok((row, bytes))
}

/// Brings a deleted attachment back (admin); 409 when the same file was
/// attached again since.
#[tracing::instrument(skip_all, fields(who = %who.actor.name, id))]
pub fn restore(conn: &mut DbConn, who: &Who, id: &str) -> Result<Attachment, AppError> {
    who.require(Role::Admin)?;
    db::write_tx(conn, |conn| {
        let row = load(conn, who, id)?;
        if row.deleted_at.is_none() {
            return Ok(row.to_api());
        }
        let owner = row
            .owner()
            .ok_or_else(|| AppError::internal(format!("attachment {id} has no owner")))?;
        if store::of(conn, &owner, false)?
            .iter()
            .any(|r| r.sha256 == row.sha256)
        {
            return Err(AppError::Conflict(
                "the same file is attached again already; delete that one first".into(),
            ));
        }
        store::set_deleted(conn, id, None)?;
        let after = store::load(conn, id)?.to_api();
        audit::record(
            conn,
            &who.actor,
            Action::Restore,
            Entity::Attachment,
            id,
            Some(&row.to_api()),
            Some(&after),
        )?;
        Ok(after)
    })
}
