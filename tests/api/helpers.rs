//! Spawns the real application on a fresh database, zero2prod-style.

use actix_web::dev::ServerHandle;
use actix_web::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::{json, Value};
use tempfile::TempDir;

use vigia::alerts::delivery::{Pass, Worker};
use vigia::audit::Actor;
use vigia::config::Settings;
use vigia::db::{Db, Target};
use vigia::keys::{self, Role};
use vigia::startup::Application;

/// How long a test reads a change feed on until what it wrote has come.
/// On PostgreSQL a feed holds back every change newer than the cluster's
/// oldest running transaction, whichever database it belongs to: a long
/// one in another test (the real cadastre's import takes over a minute on
/// 2 busy cores) holds every feed back until it ends.
pub const FEED_DEADLINE: std::time::Duration = std::time::Duration::from_secs(240);

/// A database of one test: a temp SQLite file, or a PostgreSQL database
/// created for the test and dropped with it.
pub struct TestDb {
    pub url: String,
    pg_drop: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub fn new() -> TestDb {
        match std::env::var("VIGIA_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                assert!(
                    base.starts_with("postgres://") || base.starts_with("postgresql://"),
                    "VIGIA_TEST_DATABASE_URL must be a postgres:// URL (SQLite is the default)"
                );
                let name = format!("vigia_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&base)
                    .unwrap_or_else(|e| panic!("cannot reach VIGIA_TEST_DATABASE_URL {base}: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .unwrap();
                TestDb {
                    url: with_database(&base, &name),
                    pg_drop: Some((base, name)),
                    _dir: None,
                }
            }
            _ => TestDb::sqlite(),
        }
    }

    /// A temp SQLite file, whichever database the suite runs on.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vigia.db").display());
        TestDb {
            url,
            pg_drop: None,
            _dir: Some(dir),
        }
    }

    /// A second handle on the same database (a second server process), which
    /// leaves dropping it to the first.
    pub fn reuse(other: &TestDb) -> TestDb {
        TestDb {
            url: other.url.clone(),
            pg_drop: None,
            _dir: None,
        }
    }

    pub fn open(&self) -> Db {
        let db = Db::connect(Target::parse(&self.url).unwrap(), 4).unwrap();
        db.migrate().unwrap();
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg_drop {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        }
    }
}

/// `postgres://u@h:5432/postgres?x=y` with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub admin: String,
    pub monitor: String,
    pub researcher: String,
    handle: ServerHandle,
    pub test_db: TestDb,
    /// The test's own delivery worker, for apps whose in-app worker is off.
    worker: Option<Worker>,
}

pub struct Response {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
    /// The body as sent (for files that are neither JSON nor text).
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts a problem+json answer with this status; returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "not problem+json: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].is_string() && self.body["title"].is_string());
        assert!(self.body["detail"].is_string());
        &self.body
    }

    /// The field paths of a 422.
    #[track_caller]
    pub fn invalid_fields(&self) -> Vec<String> {
        let body = self.problem(422);
        body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(TestDb::new()).await
}

/// Starts the app on an existing database (a restart keeps its data).
pub async fn spawn_app_on(test_db: TestDb) -> TestApp {
    spawn_app_with(test_db, |_| {}).await
}

/// Starts the app with settings of the test's own (the SMTP port, say).
/// The delivery worker polls often and retries after a second, so that
/// tests wait little. With `alerts.deliver = false` the app sends nothing
/// by itself: the test drives delivery with [`TestApp::deliver`].
pub async fn spawn_app_with(test_db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::load(None).unwrap();
    settings.database.url = test_db.url.clone();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 1;
    settings.server.shutdown_timeout_seconds = 5;
    settings.alerts.poll_interval_ms = 50;
    settings.alerts.retry_initial_seconds = 1;
    configure(&mut settings);
    let db = test_db.open();
    let app = Application::build(&settings, db.clone()).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let worker = (!settings.alerts.deliver)
        .then(|| vigia::startup::delivery_worker(&settings, &db).unwrap().0);
    let key = |role: Role| {
        let name = format!("{}-{}", role.as_str(), uuid::Uuid::new_v4().simple());
        let mut conn = db.get().unwrap();
        keys::create(&mut conn, &Actor::cli(), &name, role)
            .unwrap()
            .token
    };
    TestApp {
        address,
        admin: key(Role::Admin),
        monitor: key(Role::Monitor),
        researcher: key(Role::Researcher),
        db,
        handle,
        test_db,
        worker,
    }
}

impl TestApp {
    /// Stops the server (in-flight requests finish) and gives the database back.
    pub async fn stop(self) -> TestDb {
        self.handle.stop(true).await;
        self.test_db
    }

    /// Whether the test drives delivery (the in-app worker is off).
    pub fn drives_delivery(&self) -> bool {
        self.worker.is_some()
    }

    /// Sends everything due now and records it, as the in-app worker would
    /// in one round, and returns what it did (counted in outbox rows: a
    /// digest of three incidents is three rows sent). When it returns, every
    /// mail it sent has been accepted by the SMTP server. Only for apps
    /// started with `alerts.deliver = false`, so that nothing else sends.
    pub async fn deliver(&self) -> Pass {
        let worker = self
            .worker
            .as_ref()
            .expect("the app runs its own delivery worker: start it with alerts.deliver = false");
        worker.run_once().await.unwrap()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.send(
            method,
            path,
            token,
            &[],
            body.map(|b| ("application/json", b.to_string().into_bytes())),
        )
        .await
    }

    /// The general form: extra headers and a raw body with its content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Response {
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish();
        let mut req = client.request(method, format!("{}{}", self.address, path));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut res = match body {
            Some((content_type, bytes)) => {
                req.insert_header(("Content-Type", content_type))
                    .send_body(bytes)
                    .await
            }
            None => req.send().await,
        }
        .expect("request failed");
        let bytes = res.body().limit(64 * 1024 * 1024).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Response {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(
        &self,
        path: &str,
        token: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Response {
        let headers: Vec<(&str, &str)> =
            if_match.map(|m| vec![("If-Match", m)]).unwrap_or_default();
        self.send(
            Method::PATCH,
            path,
            Some(token),
            &headers,
            Some((
                "application/merge-patch+json",
                body.to_string().into_bytes(),
            )),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: &str, if_match: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> =
            if_match.map(|m| vec![("If-Match", m)]).unwrap_or_default();
        self.send(Method::DELETE, path, Some(token), &headers, None)
            .await
    }

    /// Logs an incident as the monitor; panics unless it is created.
    pub async fn create_event(&self, body: Value) -> Value {
        let res = self.post("/api/v1/events", &self.monitor, body).await;
        assert_eq!(res.status, 201, "{}", res.body);
        res.body
    }
}

/// The Los Chancas camp fire of May 2022 (see shared/data/README.md).
pub fn los_chancas() -> Value {
    json!({
        "title": "Queman el campamento del proyecto Los Chancas",
        "description": "El campamento de Southern Peru en Tapairihua fue incendiado, presuntamente por mineros informales que ya extraían cobre en la zona.",
        "event_type": "property_destruction",
        "sub_event_type": "arson",
        "occurred_on": "2022-05-01",
        "time_precision": "month",
        "location": {"lat": -14.2190728, "lon": -73.0884214, "precision": "approximate", "place": "Campamento Los Chancas, Tapairihua"},
        "admin": {"ubigeo": "030410", "region": "Apurímac", "province": "Aymaraes", "district": "Pocohuanca"},
        "sources": [
            {"publisher": "Instituto de Ingenieros de Minas del Perú", "title": "Queman campamento de Los Chancas", "published_on": "2022-05-20"},
            {"publisher": "Defensoría del Pueblo", "title": "Reporte de Conflictos Sociales N.° 220", "url": "https://www.defensoria.gob.pe/", "published_on": "2022-07-01"}
        ],
        "verification": "verified"
    })
}

/// A small valid incident with overrides merged in.
pub fn event_with(overrides: Value) -> Value {
    let mut base = json!({
        "title": "Bloqueo de la vía",
        "event_type": "blockade",
        "occurred_on": "2023-03-10",
        "location": {"lat": -14.0, "lon": -73.0}
    });
    if let (Some(map), Some(extra)) = (base.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    base
}

/// A file of the shared real data (`../shared/data/` beside the checkout).
/// Missing in CI (`CI` set, and not to `false` or `0`), the test fails;
/// elsewhere it is skipped, and says so on the terminal.
pub fn shared_data(name: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    // A clone elsewhere (CI's) finds it at the workplace's fixed place.
    let fixed = std::path::Path::new("/work/shared/data").join(name);
    if fixed.exists() {
        return Some(fixed);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    assert!(
        !ci,
        "{} is missing, and CI is set: the tests on real data cannot run",
        path.display()
    );
    // Straight to stderr: the test harness keeps `eprintln!` of a passing
    // test to itself, and a skip nobody sees is the silent skip this is for.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {}: {} is missing (the shared real data lives in ../shared/data beside the checkout; with CI set this fails) ***\n",
        std::thread::current().name().unwrap_or("a test"),
        path.display()
    );
    None
}

/// A `multipart/form-data` body with one file part named `file` (and any
/// text parts): the content type to send and the bytes.
pub fn multipart(
    filename: &str,
    content_type: &str,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> (String, Vec<u8>) {
    let boundary = format!("vigia-test-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// Uploads one file to `path` (`/api/v1/events/{id}/attachments`).
    pub async fn upload(
        &self,
        path: &str,
        token: &str,
        filename: &str,
        bytes: &[u8],
        headers: &[(&str, &str)],
    ) -> Response {
        let (content_type, body) = multipart(filename, "application/octet-stream", bytes, &[]);
        self.send(
            Method::POST,
            path,
            Some(token),
            headers,
            Some((&content_type, body)),
        )
        .await
    }
}
