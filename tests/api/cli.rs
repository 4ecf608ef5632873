//! The real binary: key management for scripts, fail-fast settings, serve
//! and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::helpers::{spawn_app_on, TestDb};

pub fn vigia(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigia"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VIGIA__DATABASE__URL", &db.url)
        .env("RUST_LOG", "warn");
    cmd
}

/// A `vigia serve` child process. It binds `127.0.0.1:0` itself, so no port
/// is chosen before it runs; the test learns the port from the line
/// `vigia listening on ADDRESS` it logs once bound.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub port: u16,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

/// Starts `vigia serve` from `cmd` (see [`vigia`]) and waits until it says
/// where it listens. Its stderr is read to the end (so the child never
/// blocks on a full pipe) and kept: see [`Served::log`].
pub fn serve(mut cmd: Command) -> Served {
    let mut child = cmd
        .env("VIGIA__SERVER__BIND", "127.0.0.1:0")
        // The start and stop lines; warnings from the rest.
        .env("RUST_LOG", "warn,vigia::cli=info")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (found, address) = mpsc::channel::<SocketAddr>();
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once("vigia listening on ") {
                    // The address ends the message (colours may follow).
                    let word = rest
                        .split(|c: char| c.is_whitespace() || c == '\u{1b}')
                        .next()
                        .unwrap_or_default();
                    if let Ok(address) = word.parse() {
                        let _ = found.send(address);
                    }
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let Ok(address) = address.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        let _ = child.wait();
        let _ = reader.join();
        panic!(
            "vigia serve did not say where it listens:\n{}",
            log.lock().unwrap()
        );
    };
    Served {
        child,
        base: format!("http://{address}"),
        port: address.port(),
        log,
        reader: Some(reader),
    }
}

impl Served {
    /// Sends `signal` (`KILL`, `TERM`…) and waits for the process to end.
    pub fn signal(&mut self, signal: &str) -> ExitStatus {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
        self.child.wait().unwrap()
    }

    /// Everything it logged, once it has ended.
    pub fn log(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[actix_web::test]
async fn keys_create_prints_only_the_token_and_the_server_accepts_it() {
    let db = TestDb::new();
    let out = vigia(&db)
        .args(["keys", "create", "--role", "admin", "--name", "ana-lima"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must be the token alone: {stdout:?}");
    let token = lines[0].to_string();
    assert!(token.starts_with("vg_") && token.len() >= 40);
    // Which database it used is said on stderr's last line (issue 10, item 20): a
    // command run from another folder opens another SQLite file.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().last().unwrap_or_default();
    assert!(first.starts_with("vigia: database "), "{stderr}");
    if db.url.starts_with("sqlite") {
        assert!(
            first.starts_with("vigia: database sqlite:///"),
            "an absolute path: {first}"
        );
    }

    let list = vigia(&db).args(["keys", "list"]).output().unwrap();
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains("ana-lima") && listed.contains("admin"));
    assert!(
        !listed.contains(&token),
        "keys list must never show a token"
    );
    let id = listed.split('\t').next().unwrap().to_string();

    let app = spawn_app_on(db).await;
    let res = app.get("/api/v1/keys", &token).await;
    assert_eq!(res.status, 200, "{}", res.body);

    let revoke = vigia(&app.test_db)
        .args(["keys", "revoke", &id])
        .output()
        .unwrap();
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    // Revoked from another process: refused within auth.key_cache_seconds (1 s).
    let revoked_at = Instant::now();
    loop {
        let res = app.get("/api/v1/keys", &token).await;
        if res.status == 401 {
            res.problem(401);
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(3),
            "key still accepted after revocation"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn bad_settings_fail_fast_with_one_line() {
    let db = TestDb::new();
    let cases: [(&str, &str, &str); 10] = [
        ("VIGIA__DATABASE__POOL_SIZE", "many", "database.pool_size"),
        ("VIGIA__DATABASE__POOL_SIZE", "0", "database.pool_size"),
        (
            "VIGIA__DATABASE__URL",
            "mysql://root@localhost/vigia",
            "database.url",
        ),
        (
            "VIGIA__DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/vigia",
            "database.url",
        ),
        ("VIGIA__SERVER__BIND", "localhost", "server.bind"),
        (
            "VIGIA__SERVER__PUBLIC_BASE_URL",
            "vigia.example",
            "server.public_base_url",
        ),
        ("VIGIA__SMTP__TLS", "ssl", "tls"),
        ("VIGIA__SMTP__FROM", "not an address", "smtp.from"),
        ("VIGIA__SMTP__POOL_SIZE", "0", "smtp.pool_size"),
        ("VIGIA__ALERTS__DIGEST_HOUR", "24", "alerts.digest_hour"),
    ];
    for (name, value, mentions) in cases {
        let started = Instant::now();
        let out = vigia(&db).env(name, value).arg("migrate").output().unwrap();
        assert!(!out.status.success(), "{name}={value} was accepted");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "{name}={value}: expected one line, got {stderr:?}"
        );
        assert!(
            lines[0].contains(mentions),
            "{name}={value}: {stderr:?} does not name {mentions}"
        );
        assert!(!stderr.contains("panicked"));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}={value}: not fast"
        );
    }
    let out = vigia(&db)
        .args(["--config", "/nonexistent/vigia.toml", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vigia.toml"));
}

#[test]
fn migrate_is_idempotent() {
    let db = TestDb::new();
    for _ in 0..2 {
        let out = vigia(&db).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let db = TestDb::new();
    let mut server = serve(vigia(&db));
    // Wait for an HTTP answer, not just the bound port: the listener is
    // bound before the signal handlers are installed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthz_answers(server.port) {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = server.signal("TERM");
    assert!(status.success(), "exit {status:?}");
    let log = server.log();
    assert!(log.contains("vigia stopped"), "{log}");
}

fn healthz_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}
