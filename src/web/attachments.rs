//! Attaching files from an incident's or a case's page and removing them.
//! The page's form posts `multipart/form-data` with its token; a refused
//! file shows the same page again with the reason next to the file field.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::form;
use super::incidents::incident_page;
use super::{see_other, SignedIn};
use crate::attachments::store::NewFile;
use crate::attachments::{AttachmentPolicy, Owner};
use crate::audit::Pseudonyms;
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Texts};
use crate::ops::attachments::{self as op, Upload};

/// Files one form may send at once.
const MAX_FILES: usize = 10;

/// What the person reads about a refused file, in the page's language.
fn reason(e: &AppError, name: &str, policy: &AttachmentPolicy, t: &Texts) -> Option<String> {
    let mb = (policy.max_bytes / (1024 * 1024)).to_string();
    let text = match e {
        AppError::PayloadTooLarge(_) => t.attach_too_large,
        AppError::UnsupportedMediaType(why) if why.contains("HEIC") => t.attach_heic,
        AppError::UnsupportedMediaType(_) => t.attach_unsupported,
        AppError::Validation(errors) => match errors.first().map(|e| e.code.as_str()) {
            Some("unreadable") => t.attach_unreadable,
            Some("required") if name.is_empty() => t.attach_none_chosen,
            Some("required") => t.attach_empty,
            _ => t.attach_bad_name,
        },
        _ => return None,
    };
    Some(fill(text, &[("name", name), ("mb", &mb)]))
}

/// Judges every file sent by a page (off the async executor: photos are
/// rewritten and their thumbnails decoded) before any is kept. A refused
/// one gives its status and the reason to show beside the file field.
pub(super) async fn prepare_all(
    policy: &AttachmentPolicy,
    uploads: Vec<Upload>,
    t: &Texts,
) -> Result<Result<Vec<NewFile>, (StatusCode, String)>, AppError> {
    let judged = {
        let policy = policy.clone();
        web::block(move || {
            uploads
                .into_iter()
                .map(|u| {
                    let name = u.filename.clone().unwrap_or_default();
                    op::prepare(&policy, u).map_err(|e| (e, name))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| AppError::internal_from("preparing attachments", e))?
    };
    match judged {
        Ok(files) => Ok(Ok(files)),
        Err((e, name)) => match reason(&e, &name, policy, t) {
            Some(message) => Ok(Err((actix_web::ResponseError::status_code(&e), message))),
            None => Err(e),
        },
    }
}

async fn attach_to_incident(
    who: SignedIn,
    db: web::Data<Db>,
    pseudonyms: web::Data<Pseudonyms>,
    policy: web::Data<AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "incident")?;
    let owner = Owner::Event(id);
    attach(who, db, pseudonyms, policy, req, payload, owner).await
}

async fn attach_to_case(
    who: SignedIn,
    db: web::Data<Db>,
    pseudonyms: web::Data<Pseudonyms>,
    policy: web::Data<AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = crate::http::parse_id(&id, "case")?;
    let owner = Owner::Case(id);
    attach(who, db, pseudonyms, policy, req, payload, owner).await
}

/// The page a file was sent from.
fn page_of(owner: &Owner) -> String {
    match owner {
        Owner::Event(id) => format!("/incidents/{id}"),
        Owner::Case(id) => format!("/cases/{id}"),
    }
}

async fn attach(
    who: SignedIn,
    db: web::Data<Db>,
    pseudonyms: web::Data<Pseudonyms>,
    policy: web::Data<AttachmentPolicy>,
    req: HttpRequest,
    payload: web::Payload,
    owner: Owner,
) -> Result<HttpResponse, AppError> {
    let t = who.ctx.t;
    let refused = |message: String, status: StatusCode| {
        let (who, db, pseudonyms, policy, owner) = (&who, &db, &pseudonyms, &policy, owner.clone());
        async move {
            match owner {
                Owner::Event(id) => {
                    incident_page(who, db, pseudonyms, policy, id, "", message, status).await
                }
                Owner::Case(id) => {
                    super::cases::case_page(who, db, policy, id, "", message, status).await
                }
            }
        }
    };
    let too_large = {
        let policy = policy.clone();
        move || op::too_large(&policy)
    };
    let form =
        match crate::http::read_multipart(&req, payload, policy.max_bytes, MAX_FILES, too_large)
            .await
        {
            Ok(form) => form,
            Err(e @ AppError::PayloadTooLarge(_)) => {
                let message = reason(&e, "", &policy, t).unwrap_or_default();
                return refused(message, StatusCode::PAYLOAD_TOO_LARGE).await;
            }
            Err(e) => return Err(e),
        };
    who.check_csrf(form.field("csrf").unwrap_or(""))?;
    if form.files.is_empty() {
        return refused(
            t.attach_none_chosen.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Every file is judged before any is kept: all of them or none.
    let uploads: Vec<Upload> = form
        .files
        .into_iter()
        .map(|(_, filename, bytes)| Upload { filename, bytes })
        .collect();
    let files = match prepare_all(&policy, uploads, t).await? {
        Ok(files) => files,
        Err((status, message)) => return refused(message, status).await,
    };
    let acting = who.who();
    let back = page_of(&owner);
    let keep = policy.clone();
    db.run(move |conn| op::attach_all(conn, &keep, &acting, &owner, &files))
        .await?;
    Ok(see_other(&format!("{back}?attached=1#attachments")))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn remove(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: CsrfForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "attachment")?;
    let acting = who.who();
    let owner = db
        .run(move |conn| {
            let row = op::load(conn, &acting, &id)?;
            op::delete(conn, &acting, &id)?;
            Ok::<_, AppError>(row.owner())
        })
        .await?;
    Ok(match owner {
        Some(owner) => see_other(&format!("{}?removed=1#attachments", page_of(&owner))),
        None => see_other("/"),
    })
}

#[derive(Deserialize)]
struct PublicForm {
    csrf: String,
    public: String,
}

/// "Mostrar en el mapa público" / "Quitar…" on an incident's file.
async fn set_public(
    who: SignedIn,
    db: web::Data<Db>,
    id: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let f: PublicForm = form::parse(&body)?;
    who.check_csrf(&f.csrf)?;
    let id = crate::http::parse_id(&id, "attachment")?;
    let public = f.public == "yes";
    let acting = who.who();
    let owner = db
        .run(move |conn| {
            let row = op::set_public(conn, &acting, &id, public)?;
            Ok::<_, AppError>(row.event_id)
        })
        .await?;
    Ok(match owner {
        Some(event) => see_other(&format!("/incidents/{event}?saved=1#attachments")),
        None => see_other("/"),
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/incidents/{id}/attachments",
        web::post().to(attach_to_incident),
    )
    .route("/cases/{id}/attachments", web::post().to(attach_to_case))
    .route("/attachments/{id}/delete", web::post().to(remove))
    .route("/attachments/{id}/public", web::post().to(set_public));
}
