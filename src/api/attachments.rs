//! `/api/v1/…/attachments`: photos, videos and documents of incidents and
//! cases. Uploads are `multipart/form-data` with one part named `file`;
//! with an `Idempotency-Key` an upload is done once however often it is
//! sent (the offline outbox sends each photo with its own key).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::attachments::{store, Attachment, AttachmentPolicy, Owner};
use crate::db::Db;
use crate::error::{AppError, FieldError};
use crate::http::{parse_id, read_multipart, QueryParams};
use crate::idempotency;
use crate::keys::Caller;
use crate::openapi as doc;
use crate::ops::attachments::{self as op, Part, Upload};
use crate::ops::Who;
use crate::routing::Routes;

pub fn configure(routes: &mut Routes) {
    routes
        .add(attach_to_event)
        .add(event_attachments)
        .add(attach_to_case)
        .add(case_attachments)
        .add(get_attachment)
        .add(delete_attachment)
        .add(restore_attachment)
        .add(set_attachment_public)
        .add(attachment_content)
        .add(attachment_thumbnail)
        .add(attachment_original);
}

/// The form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file: a photo (JPEG, PNG, WebP), a video (MP4, MOV) or a PDF.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttachmentListQuery {
    /// Deleted attachments too (admins).
    #[serde(default)]
    deleted: bool,
}

/// Reads the one file of an upload, judges it and keeps it.
async fn upload(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
    owner: Owner,
    route: &str,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let key = idempotency::key_of(&req)?;
    let too_large = {
        let policy = policy.clone();
        move || op::too_large(&policy)
    };
    let mut form = read_multipart(&req, payload, policy.max_bytes, 1, too_large).await?;
    let Some((_, filename, bytes)) = form.files.pop().filter(|(name, _, _)| name == "file") else {
        return Err(AppError::Validation(vec![FieldError::coded(
            "file",
            "required",
            "send the file in a multipart part named \"file\"",
        )]));
    };
    // What makes "the same upload again": where it goes, its name, its bytes.
    let fingerprint =
        idempotency::fingerprint(route, &(filename.as_deref(), store::sha256_hex(&bytes)))?;
    let prepared = {
        let policy = policy.clone();
        web::block(move || op::prepare(&policy, Upload { filename, bytes }))
            .await
            .map_err(|e| AppError::internal_from("preparing an attachment", e))??
    };
    let (answer, replayed) = db
        .run(move |conn| {
            let write = |conn: &mut crate::db::DbConn| {
                let (attachment, created) = op::attach(conn, &policy, &who, &owner, &prepared)?;
                Ok(idempotency::Answer {
                    status: if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    },
                    body: serde_json::to_string(&attachment)
                        .map_err(|e| AppError::internal_from("writing an attachment", e))?,
                    location: Some(format!("/api/v1/attachments/{}", attachment.id)),
                    etag: None,
                })
            };
            match key {
                Some(key) => idempotency::once(conn, &who.owner(), &key, &fingerprint, write),
                None => write(conn).map(|a| (a, false)),
            }
        })
        .await?;
    Ok(answer.into_response(replayed))
}

/// Attach a photo, video or PDF to an incident (monitor, admin). The type
/// is read from the bytes; photos lose their location and camera data
/// (orientation kept). The same file attached again gives the existing
/// attachment (200).
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Incident id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A key the client makes (a UUID): the upload is done once per key")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Attached", body = Attachment, headers(("Location" = String))),
        (status = 200, description = "This file was attached to it already", body = Attachment),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/events/{id}/attachments")]
pub async fn attach_to_event(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "event")?;
    let route = format!("POST /api/v1/events/{id}/attachments");
    upload(caller, db, policy, req, payload, Owner::Event(id), &route).await
}

/// Attach a file to a Defensoría case (monitor, admin): the report PDFs.
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Case id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A key the client makes (a UUID): the upload is done once per key")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Attached", body = Attachment, headers(("Location" = String))),
        (status = 200, description = "This file was attached to it already", body = Attachment),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::PayloadTooLarge,
        doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/cases/{id}/attachments")]
pub async fn attach_to_case(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "case")?;
    let route = format!("POST /api/v1/cases/{id}/attachments");
    upload(caller, db, policy, req, payload, Owner::Case(id), &route).await
}

async fn list(
    caller: Caller,
    db: web::Data<Db>,
    owner: Owner,
    deleted: bool,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let found = db
        .run(move |conn| op::list(conn, &who, &owner, deleted))
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// The attachments of an incident, oldest first.
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Incident id"), AttachmentListQuery),
    responses((status = 200, description = "Its attachments", body = Vec<Attachment>),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/events/{id}/attachments")]
pub async fn event_attachments(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<AttachmentListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "event")?;
    list(caller, db, Owner::Event(id), q.deleted).await
}

/// The attachments of a case, oldest first.
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Case id"), AttachmentListQuery),
    responses((status = 200, description = "Its attachments", body = Vec<Attachment>),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/cases/{id}/attachments")]
pub async fn case_attachments(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    QueryParams(q): QueryParams<AttachmentListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id, "case")?;
    list(caller, db, Owner::Case(id), q.deleted).await
}

/// One attachment's description.
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The attachment", body = Attachment),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/attachments/{id}")]
pub async fn get_attachment(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "attachment")?;
    let row = db.run(move |conn| op::load(conn, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(row.to_api()))
}

/// Delete an attachment (monitor, admin): it leaves the incident; its
/// history stays and an admin can restore it.
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 204, description = "Deleted"),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound))]
#[delete("/api/v1/attachments/{id}")]
pub async fn delete_attachment(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "attachment")?;
    db.run(move |conn| op::delete(conn, &who, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Whether an attachment is shown on the public map.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicInput {
    /// `true`: shown with its incident on the public map when the incident
    /// is published.
    pub public: bool,
}

/// Show an incident's file on the public map, or stop showing it
/// (monitor, admin). A case's file cannot be public (409).
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    request_body = PublicInput,
    responses((status = 200, description = "The attachment", body = Attachment),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict,
        doc::PayloadTooLarge, doc::UnsupportedMediaType, doc::Unprocessable))]
#[post("/api/v1/attachments/{id}/public")]
pub async fn set_attachment_public(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
    crate::http::JsonBody(input): crate::http::JsonBody<PublicInput>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "attachment")?;
    let attachment = db
        .run(move |conn| op::set_public(conn, &who, &id, input.public))
        .await?;
    Ok(HttpResponse::Ok().json(attachment))
}

/// Bring a deleted attachment back (admin).
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The restored attachment", body = Attachment),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound, doc::Conflict))]
#[post("/api/v1/attachments/{id}/restore")]
pub async fn restore_attachment(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(&id, "attachment")?;
    let attachment = db.run(move |conn| op::restore(conn, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(attachment))
}

/// The bytes of an attachment, answered so that nothing in them can run
/// from Vigía's origin: the type Vigía found, `nosniff` (every answer),
/// and a policy that allows no script; only images, videos and PDFs are
/// ever kept, so they may show in the browser.
pub(crate) fn file_answer(row: &store::Row, bytes: Vec<u8>, part: Part) -> HttpResponse {
    let (content_type, inline, name) = match part {
        Part::Content => (row.content_type.as_str(), true, row.filename.clone()),
        Part::Thumbnail => (
            "image/jpeg",
            true,
            format!("miniatura-{}.jpg", row.filename),
        ),
        Part::Original => (
            row.content_type.as_str(),
            false,
            format!("original-{}", row.filename),
        ),
    };
    let mut answer = HttpResponse::Ok();
    answer.content_type(content_type);
    answer.insert_header(header::ContentDisposition {
        disposition: if inline {
            header::DispositionType::Inline
        } else {
            header::DispositionType::Attachment
        },
        parameters: vec![
            // An ASCII name for old clients, the real one (RFC 5987) for the rest.
            header::DispositionParam::Filename(
                name.chars()
                    .map(|c| {
                        if c.is_ascii_graphic() && c != '"' && c != '\\' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect(),
            ),
            header::DispositionParam::FilenameExt(header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            }),
        ],
    });
    // Chrome's PDF viewer does not run inside a sandboxed document; PDFs
    // get a policy without scripts, forms or frames of their own instead.
    let policy = if row.content_type == "application/pdf" && part != Part::Thumbnail {
        "default-src 'none'; object-src 'self'; plugin-types application/pdf; frame-ancestors 'self'"
    } else {
        "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"
    };
    answer.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    ));
    // What is served under an id never changes (a new file is a new id).
    answer.insert_header((
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    ));
    answer.insert_header((header::ETAG, format!("\"{}\"", row.sha256)));
    answer.body(bytes)
}

async fn serve(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    id: &str,
    part: Part,
) -> Result<HttpResponse, AppError> {
    let who = Who::from(&caller);
    let id = parse_id(id, "attachment")?;
    let (row, bytes) = db
        .run(move |conn| op::read(conn, &policy, &who, &id, part))
        .await?;
    Ok(file_answer(&row, bytes, part))
}

/// The file (photos without their location and camera data).
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file, with the type Vigía read from it",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("video/mp4"), ("video/quicktime"), ("application/pdf"))),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/attachments/{id}/content")]
pub async fn attachment_content(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(caller, db, policy, &id, Part::Content).await
}

/// A JPEG of at most 480 px (images only).
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The thumbnail", content_type = "image/jpeg"),
        doc::BadRequest, doc::Unauthorized, doc::NotFound))]
#[get("/api/v1/attachments/{id}/thumbnail")]
pub async fn attachment_thumbnail(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(caller, db, policy, &id, Part::Thumbnail).await
}

/// The photo as uploaded, with its metadata, when `attachments.keep_originals`
/// is on (admins; always as a download).
#[utoipa::path(tag = "attachments",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The original file, with the type Vigía read from it",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("video/mp4"), ("video/quicktime"))),
        doc::BadRequest, doc::Unauthorized, doc::Forbidden, doc::NotFound))]
#[get("/api/v1/attachments/{id}/original")]
pub async fn attachment_original(
    caller: Caller,
    db: web::Data<Db>,
    policy: web::Data<AttachmentPolicy>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(caller, db, policy, &id, Part::Original).await
}
