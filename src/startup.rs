//! Builds the actix-web application and runs it.

use std::net::{SocketAddr, TcpListener};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{get, web, App, HttpMessage, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};
use utoipa::{OpenApi, ToSchema};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::alerts::delivery::Worker;
use crate::alerts::mail::{Links, Mailer};
use crate::alerts::tokens::LinkSigner;
use crate::api::alerts::WatchContext;
use crate::config::Settings;
use crate::db::Db;
use crate::error::{AppError, Problem, PROBLEM_JSON};
use crate::openapi as doc;
use crate::routing::{self, Routes};
use crate::{api, places};

/// A bound, not yet running server, with its delivery worker.
pub struct Application {
    address: SocketAddr,
    server: Server,
    worker: Option<Worker>,
    backups: Option<BackupSchedule>,
}

/// What the scheduled backups of `serve` need.
#[derive(Clone)]
struct BackupSchedule {
    target: crate::db::Target,
    db: Db,
    dir: std::path::PathBuf,
    hour: u32,
    utc_offset_hours: i32,
    keep: u32,
}

/// The mail side of a process: the transport and the link signer, shared by
/// the API (confirm/unsubscribe pages) and the delivery worker. Call it
/// inside a Tokio runtime: the SMTP connection pool starts a task.
pub fn delivery_worker(settings: &Settings, db: &Db) -> Result<(Worker, LinkSigner), String> {
    let mailer = Mailer::new(&settings.smtp)?;
    let signer = {
        let mut conn = db
            .get()
            .map_err(|e| format!("database.url: {}", e.report()))?;
        LinkSigner::load(&mut conn).map_err(|e| format!("database.url: {}", e.report()))?
    };
    let links = Links {
        base_url: settings.base_url().to_string(),
        signer: signer.clone(),
    };
    let hooks = crate::alerts::webhook::Sender::new(settings.alerts.webhook_allow_private)?;
    let worker = Worker::new(
        db.clone(),
        mailer,
        hooks,
        links,
        settings.alerts.clone(),
        settings.smtp.pool_size,
    );
    Ok((worker, signer))
}

impl Application {
    /// Binds `server.bind` (port 0: any free port, see [`Application::address`])
    /// and wires every module's routes.
    pub fn build(settings: &Settings, db: Db) -> Result<Self, String> {
        let listener = TcpListener::bind(&settings.server.bind).map_err(|e| {
            format!(
                "server.bind: cannot listen on {}: {e}",
                settings.server.bind
            )
        })?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let (worker, signer) = delivery_worker(settings, &db)?;
        let watch_context = web::Data::new(WatchContext {
            policy: settings.alerts.policy(),
            links: Links {
                base_url: settings.base_url().to_string(),
                signer: signer.clone(),
            },
            signer,
            webhooks: crate::alerts::webhook::Sender::new(settings.alerts.webhook_allow_private)?,
        });
        let backups = (!settings.backup.dir.is_empty()).then(|| BackupSchedule {
            target: db.target().clone(),
            db: db.clone(),
            dir: settings.backup.dir.clone().into(),
            hour: settings.backup.hour,
            utc_offset_hours: settings.alerts.utc_offset_hours,
            keep: settings.backup.keep,
        });
        let pseudonyms = {
            let mut conn = db
                .get()
                .map_err(|e| format!("database.url: {}", e.report()))?;
            web::Data::new(
                crate::audit::Pseudonyms::load(&mut conn)
                    .map_err(|e| format!("database.url: {}", e.report()))?,
            )
        };
        let public_base = web::Data::new(crate::http::PublicBase(settings.base_url().to_string()));
        let web_context = web::Data::new(crate::web::WebContext::new(
            &settings.web,
            settings.base_url(),
            settings.attachments.max_bytes,
        ));
        let db = web::Data::new(db);
        let index = web::Data::new(places::PlaceIndex::default());
        let key_cache = web::Data::new(crate::keys::KeyCache::new(std::time::Duration::from_secs(
            settings.auth.key_cache_seconds,
        )));
        let max_body = settings.server.max_body_bytes;
        let attachment_policy = web::Data::new(settings.attachments.policy());
        let public_side = web::Data::new(api::public::PublicSide::new(settings.public.clone()));
        let described = web::Data::new(crate::web::admin::settings::Described(settings.describe()));
        let import_limits = web::Data::new(settings.import.clone());
        let import_progress = web::Data::new(crate::web::admin::imports::Progress::default());
        crate::web::admin::imports::interrupt_stale(&db);
        let readiness = web::Data::new(Readiness {
            max_due_seconds: settings.alerts.ready_max_due_seconds,
        });
        let mut server = HttpServer::new(move || {
            // One list of routes builds the router and the document.
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(doc::ApiDoc::openapi())
                .service(api_routes())
                .split_for_parts();
            app.wrap(ErrorHandlers::new().default_handler(problem_for_plain_errors))
                // Problems answered to page routes become pages.
                .wrap(actix_web::middleware::from_fn(crate::web::errors::as_pages))
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service;
                    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
                    let fut = srv.call(req);
                    async move {
                        let mut res = fut.await?;
                        if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                            res.headers_mut()
                                .insert(header::HeaderName::from_static("x-request-id"), value);
                        }
                        Ok(res)
                    }
                })
                .wrap(actix_web::middleware::from_fn(
                    crate::keys::caller::authenticate_first,
                ))
                // Before any credential is looked at: a cross-site write is
                // refused whatever it carries.
                .wrap(actix_web::middleware::from_fn(
                    crate::web::session::refuse_cross_site,
                ))
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service;
                    let started = std::time::Instant::now();
                    let method = req.method().to_string();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        // The route template, not the path: ids make no series.
                        let route = res
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "unmatched".into());
                        crate::metrics::observe_request(
                            &method,
                            &route,
                            res.status().as_u16(),
                            started.elapsed().as_secs_f64(),
                        );
                        Ok(res)
                    }
                })
                // gzip for clients that ask: the map's outlines and
                // clusters, the scripts, the exports. Pages opt out (see
                // `web::html`).
                .wrap(actix_web::middleware::Compress::default())
                .wrap(TracingLogger::<VigiaRootSpan>::new())
                // Outermost: every answer, errors included, gets them.
                .wrap(actix_web::middleware::from_fn(
                    crate::headers::security_headers,
                ))
                .app_data(db.clone())
                .app_data(index.clone())
                .app_data(key_cache.clone())
                .app_data(pseudonyms.clone())
                .app_data(public_base.clone())
                .app_data(web_context.clone())
                .app_data(watch_context.clone())
                .app_data(readiness.clone())
                .app_data(attachment_policy.clone())
                .app_data(public_side.clone())
                .app_data(described.clone())
                .app_data(import_limits.clone())
                .app_data(import_progress.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .service(doc_routes(doc::finish(api)))
                .configure(crate::web::configure)
                .default_service(web::to(no_such_route))
        })
        .listen(listener)
        .map_err(|e| format!("server.bind: {e}"))?
        .shutdown_timeout(settings.server.shutdown_timeout_seconds);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Application {
            address,
            server: server.run(),
            worker: settings.alerts.deliver.then_some(worker),
            backups,
        })
    }

    /// The address the server is bound to (the real port when `server.bind`
    /// asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until SIGINT/SIGTERM; in-flight requests finish first (up to
    /// `server.shutdown_timeout_seconds`), then the delivery worker finishes
    /// the batch it is sending and stops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let backups = self
            .backups
            .map(|b| actix_web::rt::spawn(run_backups(b, stopped.clone())));
        let worker = self.worker.map(|w| actix_web::rt::spawn(w.run(stopped)));
        let result = self.server.await;
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Some(backups) = backups {
            let _ = backups.await;
        }
        result
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Every documented route: each module's `configure` adds its handlers
/// (see `routing`). Order matters where a literal segment and a `{param}`
/// could both match.
pub fn api_routes() -> Routes {
    let mut routes = Routes::default();
    routes.add(healthz).add(readyz).add(metrics);
    // The feeds' literal `…/changes` paths before each collection's `{id}`.
    api::changes::configure(&mut routes);
    api::events::configure(&mut routes);
    api::actors::configure(&mut routes);
    api::places::configure(&mut routes);
    api::cases::configure(&mut routes);
    api::attachments::configure(&mut routes);
    api::audit::configure(&mut routes);
    api::alerts::configure(&mut routes);
    api::webhooks::configure(&mut routes);
    api::keys::configure(&mut routes);
    api::stats::configure(&mut routes);
    api::public::configure(&mut routes);
    routes
}

/// The document and the Swagger UI showing it: served, not documented
/// (they are [`routing::UNDOCUMENTED`]).
pub fn doc_routes(document: serde_json::Value) -> Routes {
    let mut routes = Routes::default();
    routes
        .undocumented(
            Method::GET,
            routing::OPENAPI_JSON,
            web::resource(routing::OPENAPI_JSON)
                .app_data(web::Data::new(document))
                .get(openapi_json),
        )
        .undocumented(
            Method::GET,
            routing::SWAGGER_UI,
            SwaggerUi::new(routing::SWAGGER_UI)
                .config(utoipa_swagger_ui::Config::from(routing::OPENAPI_JSON)),
        )
        .undocumented(
            Method::GET,
            routing::SWAGGER_REDIRECT,
            web::redirect(routing::SWAGGER_REDIRECT, "/docs/"),
        );
    routes
}

/// What a request no route matches gets: 404 with its own problem type, so
/// that it is told apart from a handler's 404 (no such record).
pub const NO_SUCH_ROUTE: &str = "/problems/no-such-route";

async fn no_such_route() -> HttpResponse {
    let problem = Problem {
        problem_type: NO_SUCH_ROUTE.into(),
        title: "Not Found".into(),
        status: 404,
        detail: "no such route; see /docs".into(),
        errors: None,
    };
    HttpResponse::NotFound()
        .content_type(PROBLEM_JSON)
        .body(serde_json::to_string(&problem).unwrap_or_default())
}

/// The next `hour` o'clock, local time (UTC + `offset` hours), after `now` (UTC).
pub fn next_backup_at(now: chrono::NaiveDateTime, hour: u32, offset: i32) -> chrono::NaiveDateTime {
    let shift = chrono::Duration::hours(i64::from(offset));
    let local = now + shift;
    let today = local
        .date()
        .and_hms_opt(hour.min(23), 0, 0)
        .unwrap_or(local);
    let next = if today > local {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    next - shift
}

/// Scheduled backups: one at start when the last success is older than a
/// day (or there is none), then one a day at `backup.hour`. Each is logged
/// and recorded (`/metrics` shows a failure).
async fn run_backups(schedule: BackupSchedule, mut stop: tokio::sync::watch::Receiver<bool>) {
    let last_success = {
        let db = schedule.db.clone();
        web::block(move || {
            let mut conn = db.get()?;
            crate::maintenance::last_backups(&mut conn)
        })
        .await
    };
    let recent = matches!(last_success, Ok(Ok((Some(run), _)))
        if crate::db::now() - run.finished_at < chrono::Duration::hours(24));
    let mut due_now = !recent;
    loop {
        if !due_now {
            let now = crate::db::now();
            let next = next_backup_at(now, schedule.hour, schedule.utc_offset_hours);
            let wait = (next - now).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        due_now = false;
        if *stop.borrow() {
            break;
        }
        let s = schedule.clone();
        let outcome =
            web::block(move || crate::ops::backup::scheduled(&s.target, &s.dir, s.keep)).await;
        match outcome {
            Ok(Ok((report, removed))) => tracing::info!(
                path = %report.path.display(),
                bytes = report.bytes,
                seconds = report.seconds,
                removed,
                "scheduled backup made"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
            Err(e) => tracing::error!(error = %e, "scheduled backup could not run"),
        }
    }
}

/// Request spans carry the request id and, once known, the key's name.
struct VigiaRootSpan;

impl RootSpanBuilder for VigiaRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        tracing_actix_web::root_span!(request, key = tracing::field::Empty)
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Turns the errors actix answers by itself (unknown method, unreadable
/// payload…) into problem+json, so that every 4xx/5xx has one shape.
fn problem_for_plain_errors<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // A problem already, or a page that says what went wrong (a form shown
    // again with its errors): kept as it is.
    let already_said = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html")
    });
    if already_said {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res
        .response()
        .error()
        .map(|e| e.to_string())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let problem = Problem {
        problem_type: format!("/problems/http-{}", status.as_u16()),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        errors: None,
    };
    let mut builder = HttpResponse::build(status);
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    let response: HttpResponse<BoxBody> = builder
        .content_type(PROBLEM_JSON)
        .body(serde_json::to_string(&problem).unwrap_or_default());
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_body(|_, body| EitherBody::right(body)),
    ))
}

async fn openapi_json(doc: web::Data<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(doc.get_ref())
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "operation", security(()),
    responses((status = 200, description = "Alive", body = Status)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// What `/readyz` holds the process to.
pub struct Readiness {
    /// Due mail waiting longer than this makes the process degraded.
    pub max_due_seconds: u64,
}

/// Readiness: the database answers, and alerts go out. When mail has been
/// due for longer than `alerts.ready_max_due_seconds` (the delivery worker
/// stopped, SMTP down), the answer is 503 with `status: degraded` and the
/// reason (a problem+json 503 whose detail starts with `degraded:`), so
/// that a monitor pages someone when alerts stop.
#[utoipa::path(tag = "operation", security(()),
    responses((status = 200, description = "Ready", body = Status), doc::Unavailable))]
#[get("/readyz")]
pub async fn readyz(
    db: web::Data<Db>,
    readiness: web::Data<Readiness>,
) -> Result<HttpResponse, AppError> {
    let max_due = readiness.max_due_seconds;
    let oldest_due = db
        .run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| AppError::unavailable(format!("database: {e}"), e))?;
            crate::alerts::store::oldest_due(conn, crate::db::now())
        })
        .await?;
    let waited = oldest_due
        .map(|t| (crate::db::now() - t).num_seconds().max(0))
        .unwrap_or(0);
    if max_due > 0 && waited > i64::try_from(max_due).unwrap_or(i64::MAX) {
        return Err(AppError::Unavailable {
            detail: format!(
                "degraded: mail has been due for {waited} s (more than alerts.ready_max_due_seconds = {max_due}): is the delivery worker running and the SMTP server reachable?"
            ),
            source: None,
        });
    }
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}

/// The Prometheus text format (admin).
#[utoipa::path(tag = "operation",
    responses((status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain", body = String),
        doc::Unauthorized, doc::Forbidden))]
#[get("/metrics")]
pub async fn metrics(
    caller: crate::keys::Caller,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    crate::ops::Who::from(&caller).require(crate::keys::Role::Admin)?;
    let db = db.get_ref().clone();
    let body = web::block(move || crate::metrics::render(&db))
        .await
        .map_err(|e| AppError::internal_from("blocking task failed", e))??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
