//! Imports from the page: a concessions file (GeoJSON, or a zipped
//! shapefile) or a districts file, read by the command line's own import
//! functions in the background (the 9,025 concessions of one UTM zone take
//! longer than a page should wait), with a page that follows the job and
//! shows the command line's report when it ends.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::when;
use crate::config::ImportSettings;
use crate::db::Db;
use crate::error::AppError;
use crate::i18n::{fill, Texts};
use crate::keys::Role;
use crate::ops::places::ImportJob;
use crate::places::jobs::{Job, JobKind, JobReport, JobState};
use crate::places::PlaceIndex;
use crate::web::{see_other, Ctx, SignedIn};

/// Jobs listed under the forms.
const RECENT: i64 = 20;

/// The coordinate systems offered (what `places::crs` supports): WGS 84,
/// UTM 17S–19S on WGS 84 and on PSAD56.
const SYSTEMS: [(&str, &str); 7] = [
    (
        "EPSG:4326",
        "WGS 84 (longitud/latitud · longitude/latitude)",
    ),
    ("EPSG:32717", "WGS 84 / UTM 17S (EPSG:32717)"),
    ("EPSG:32718", "WGS 84 / UTM 18S (EPSG:32718)"),
    ("EPSG:32719", "WGS 84 / UTM 19S (EPSG:32719)"),
    ("EPSG:24877", "PSAD56 / UTM 17S (EPSG:24877)"),
    ("EPSG:24878", "PSAD56 / UTM 18S (EPSG:24878)"),
    ("EPSG:24879", "PSAD56 / UTM 19S (EPSG:24879)"),
];

/// How far each running job of this process has got: features written of
/// the file's total (the import is one transaction, so its row cannot say).
#[derive(Default)]
pub struct Progress(Mutex<HashMap<String, (usize, usize)>>);

impl Progress {
    fn set(&self, id: &str, done: usize, total: usize) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(id.to_string(), (done, total));
        }
    }

    fn of(&self, id: &str) -> Option<(usize, usize)> {
        self.0.lock().ok().and_then(|m| m.get(id).copied())
    }

    fn forget(&self, id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(id);
        }
    }
}

struct JobRow {
    id: String,
    kind: &'static str,
    file_name: String,
    state: &'static str,
    state_key: &'static str,
    created: String,
    created_by: String,
}

fn kind_label(kind: JobKind, t: &Texts) -> &'static str {
    match kind {
        JobKind::Concessions => t.admin_import_concessions,
        JobKind::Districts => t.admin_import_districts,
    }
}

fn state_label(state: JobState, t: &Texts) -> &'static str {
    match state {
        JobState::Running => t.admin_import_running,
        JobState::Done => t.admin_import_done,
        JobState::Failed => t.admin_import_failed,
    }
}

fn row_of(j: Job, t: &Texts) -> JobRow {
    JobRow {
        id: j.id,
        kind: kind_label(j.kind, t),
        file_name: j.file_name,
        state: state_label(j.state, t),
        state_key: j.state.as_str(),
        created: when(j.created_at.and_utc()),
        created_by: j.created_by,
    }
}

#[derive(Template)]
#[template(path = "admin_imports.html")]
struct ImportsPage {
    ctx: Ctx,
    t: &'static Texts,
    systems: Vec<(&'static str, &'static str)>,
    /// Each form: its kind, heading and help.
    forms: Vec<(&'static str, &'static str, &'static str)>,
    jobs: Vec<JobRow>,
    /// The form that was refused (`concessions` or `districts`) and why.
    refused: &'static str,
    error: String,
    /// "Up to N MB."
    max_text: String,
}

async fn imports_page(
    who: &SignedIn,
    db: &Db,
    limits: &ImportSettings,
    status: StatusCode,
    refused: &'static str,
    error: String,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let jobs = db
        .run(|conn| crate::places::jobs::recent(conn, RECENT))
        .await?;
    let page = ImportsPage {
        ctx: who.ctx.clone(),
        t,
        systems: SYSTEMS.to_vec(),
        forms: vec![
            (
                "concessions",
                t.admin_import_concessions,
                t.admin_import_concessions_help,
            ),
            (
                "districts",
                t.admin_import_districts,
                t.admin_import_districts_help,
            ),
        ],
        jobs: jobs.into_iter().map(|j| row_of(j, t)).collect(),
        refused,
        error,
        max_text: fill(
            t.admin_import_max,
            &[("mb", &limits.max_upload_mb.to_string())],
        ),
    };
    crate::web::html(&who.web, status, &page)
}

async fn list(
    who: SignedIn,
    db: web::Data<Db>,
    limits: web::Data<ImportSettings>,
) -> Result<HttpResponse, AppError> {
    imports_page(&who, &db, &limits, StatusCode::OK, "", String::new()).await
}

/// Why a file cannot be imported, said to the person.
struct Refusal(StatusCode, String);

/// Puts the upload where the import functions read files: a GeoJSON as it
/// came, a zip's shapefile parts (`.shp`, `.shx`, `.dbf`, `.prj`, `.cpg`)
/// under one name. Nothing in the zip chooses a path: only the endings of
/// its names are read, and its unpacked size is bounded like the upload.
fn unpack(bytes: &[u8], name: &str, dir: &Path, max: u64, t: &Texts) -> Result<PathBuf, Refusal> {
    let bad = |text: &str| Refusal(StatusCode::UNPROCESSABLE_ENTITY, text.to_string());
    let lower = name.to_ascii_lowercase();
    let is_zip = bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".zip");
    if !is_zip {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(bad(t.admin_import_not_geojson));
        }
        let path = dir.join("upload.geojson");
        std::fs::write(&path, bytes).map_err(|_| bad(t.admin_import_unreadable))?;
        return Ok(path);
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|_| bad(t.admin_import_bad_zip))?;
    let mut found = HashMap::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|_| bad(t.admin_import_bad_zip))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry
            .name()
            .map_err(|_| bad(t.admin_import_bad_zip))?
            .to_ascii_lowercase();
        // macOS archives carry `__MACOSX/._name.shp` shadows.
        if entry_name.contains("__macosx/") {
            continue;
        }
        let Some(ext) = ["shp", "shx", "dbf", "prj", "cpg"]
            .into_iter()
            .find(|ext| entry_name.ends_with(&format!(".{ext}")))
        else {
            continue;
        };
        if found.contains_key(ext) {
            return Err(bad(t.admin_import_zip_two));
        }
        let mut out = Vec::new();
        (&mut entry)
            .take(max.saturating_sub(total).saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|_| bad(t.admin_import_bad_zip))?;
        total += out.len() as u64;
        if total > max {
            let mb = (max / (1024 * 1024)).to_string();
            return Err(Refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                fill(t.admin_import_too_large, &[("mb", &mb)]),
            ));
        }
        let path = dir.join(format!("upload.{ext}"));
        std::fs::write(&path, out).map_err(|_| bad(t.admin_import_unreadable))?;
        found.insert(ext, path);
    }
    match (found.get("shp"), found.get("shx"), found.get("dbf")) {
        (Some(shp), Some(_), Some(_)) => Ok(shp.clone()),
        _ => Err(bad(t.admin_import_zip_missing)),
    }
}

async fn upload(
    who: SignedIn,
    db: web::Data<Db>,
    index: web::Data<PlaceIndex>,
    limits: web::Data<ImportSettings>,
    progress: web::Data<Progress>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let max = limits.max_upload_bytes();
    let too_large = || AppError::PayloadTooLarge("the file is too large".into());
    let form = match crate::http::read_multipart(&req, payload, max, 1, too_large).await {
        Ok(form) => form,
        Err(AppError::PayloadTooLarge(_)) => {
            let why = fill(
                t.admin_import_too_large,
                &[("mb", &limits.max_upload_mb.to_string())],
            );
            return imports_page(&who, &db, &limits, StatusCode::PAYLOAD_TOO_LARGE, "", why).await;
        }
        Err(e) => return Err(e),
    };
    who.check_csrf(form.field("csrf").unwrap_or(""))?;
    let (kind, refused) = match form.field("kind") {
        Some("concessions") => (JobKind::Concessions, "concessions"),
        Some("districts") => (JobKind::Districts, "districts"),
        other => return Err(AppError::BadRequest(format!("no import of {other:?}"))),
    };
    let crs = match form.field("crs").unwrap_or("") {
        "" => None,
        c if SYSTEMS.iter().any(|(v, _)| *v == c) => Some(c.to_string()),
        _ => {
            let why = t.admin_bad_choice.to_string();
            return imports_page(&who, &db, &limits, StatusCode::BAD_REQUEST, refused, why).await;
        }
    };
    let Some((_, name, bytes)) = form.files.into_iter().next() else {
        let why = t.admin_import_choose.to_string();
        return imports_page(
            &who,
            &db,
            &limits,
            StatusCode::UNPROCESSABLE_ENTITY,
            refused,
            why,
        )
        .await;
    };
    let name: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    // Unpacked off the async executor; kept until the job is done.
    let unpacked = {
        let name = name.clone();
        web::block(move || {
            let dir = tempfile::tempdir()
                .map_err(|e| AppError::internal_from("a folder for an import", e))?;
            let path = unpack(&bytes, &name, dir.path(), max, t);
            Ok::<_, AppError>((dir, path))
        })
        .await
        .map_err(|e| AppError::internal_from("unpacking an import", e))??
    };
    let (dir, path) = match unpacked {
        (dir, Ok(path)) => (dir, path),
        (_, Err(Refusal(status, why))) => {
            return imports_page(&who, &db, &limits, status, refused, why).await;
        }
    };
    let acting = who.who();
    let id = {
        let (acting, name, crs) = (acting.clone(), name.clone(), crs.clone());
        db.run(move |conn| {
            crate::ops::places::start_import_job(conn, &acting, kind, &name, crs.as_deref())
        })
        .await?
    };
    let job = ImportJob {
        id: id.clone(),
        kind,
        path,
        crs,
        max_bytes: limits.max_bytes(),
    };
    let (db, index, progress) = (db.clone(), index.clone(), progress.clone());
    // A thread of its own: an import holds its connection (and, on SQLite,
    // the write lock) for seconds, which the blocking pool's few threads
    // are not for.
    std::thread::spawn(move || {
        let _kept = dir;
        let report = |done: usize, total: usize| progress.set(&job.id, done, total);
        let ran = db.get().and_then(|mut conn| {
            crate::ops::places::run_import_job(&mut conn, &index, &acting, &job, &report)
        });
        if let Err(e) = ran {
            tracing::error!(job = %job.id, error = %e.report(), "import job failed");
            if let Ok(mut conn) = db.get() {
                let _ = crate::places::jobs::finish(&mut conn, &job.id, Err(&e.report()));
            }
        }
        progress.forget(&job.id);
    });
    Ok(see_other(&format!("/admin/imports/{id}")))
}

#[derive(Template)]
#[template(path = "admin_import.html")]
struct JobPage {
    ctx: Ctx,
    t: &'static Texts,
    job: JobRow,
    running: bool,
    progress: String,
    report: Option<JobReport>,
    error: String,
    crs: String,
    finished: String,
}

async fn show(
    who: SignedIn,
    db: web::Data<Db>,
    progress: web::Data<Progress>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let id = crate::http::parse_id(&id, "import")?;
    let job = db
        .run(move |conn| crate::places::jobs::load(conn, &id))
        .await?;
    let running = job.state == JobState::Running;
    let progress = match progress.of(&job.id) {
        Some((done, total)) if running => fill(
            t.admin_import_progress,
            &[("done", &done.to_string()), ("total", &total.to_string())],
        ),
        _ => String::new(),
    };
    let page = JobPage {
        ctx: who.ctx.clone(),
        t,
        running,
        progress,
        report: job.report(),
        error: job.error.clone().unwrap_or_default(),
        crs: if job.crs.is_empty() {
            t.admin_import_crs_file.to_string()
        } else {
            job.crs.clone()
        },
        finished: job
            .finished_at
            .map(|at| when(at.and_utc()))
            .unwrap_or_default(),
        job: row_of(job, t),
    };
    crate::web::ok(&who.web, &page)
}

/// At start: the jobs a stopped process left running ended with it.
pub fn interrupt_stale(db: &Db) {
    let done = db.get().and_then(|mut conn| {
        crate::places::jobs::interrupt_running(
            &mut conn,
            "interrupted: the server stopped during the import; nothing of it was kept",
        )
    });
    match done {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "imports interrupted by a stop"),
        Err(e) => tracing::error!(error = %e.report(), "marking interrupted imports"),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/imports", web::get().to(list))
        .route("/admin/imports", web::post().to(upload))
        .route("/admin/imports/{id}", web::get().to(show));
}
