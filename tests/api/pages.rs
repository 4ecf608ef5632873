//! The web pages, through HTTP as a browser would use them (cookies,
//! forms, redirects not followed so each step is checked). The browser
//! tests in `tests/browser/` drive a real Chromium on top of this.

use std::collections::BTreeMap;

use actix_web::http::Method;
use diesel::prelude::*;
use serde_json::json;

use vigia::accounts::NewUser;
use vigia::i18n::{Language, ALL};
use vigia::keys::Role;
use vigia::ops::accounts::{self, SiteLinks};
use vigia::ops::Who;

use crate::helpers::{los_chancas, spawn_app, spawn_app_on, spawn_app_with, TestApp, TestDb};
use crate::mailbox::MailServer;

/// What a browser keeps between requests: its cookies.
pub struct Browser {
    base: String,
    cookies: BTreeMap<String, String>,
    language: Option<&'static str>,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: actix_web::http::header::HeaderMap,
}

impl Page {
    /// The value of the first `<input name=NAME value=…>`.
    pub fn input(&self, name: &str) -> String {
        let at = self
            .body
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("no input {name} in:\n{}", self.body));
        let tag_start = self.body[..at].rfind('<').unwrap();
        let tag = &self.body[tag_start..at + self.body[at..].find('>').unwrap()];
        let start = tag.find("value=\"").expect("the input has a value") + "value=\"".len();
        let end = tag[start..].find('"').unwrap() + start;
        tag[start..end].to_string()
    }

    pub fn csrf(&self) -> String {
        self.input("csrf")
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.address.clone(),
            cookies: BTreeMap::new(),
            language: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn has_session(&self) -> bool {
        self.cookies.contains_key("vigia_session")
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> Page {
        let body = body.map(|(ct, b)| (ct, b.into_bytes()));
        self.request_bytes(method, path, headers, body).await
    }

    /// As [`Browser::request`], with a body that need not be text (a zip).
    pub async fn request_bytes(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Page {
        let client = awc::Client::builder()
            .disable_redirects()
            .timeout(std::time::Duration::from_secs(30))
            .finish();
        let mut req = client.request(method, format!("{}{}", self.base, path));
        if !self.cookies.is_empty() {
            req = req.insert_header(("Cookie", self.cookie_header()));
        }
        if let Some(lang) = self.language {
            req = req.insert_header(("Accept-Language", lang));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some((ct, b)) => req.insert_header(("Content-Type", ct)).send_body(b).await,
            None => req.send().await,
        }
        .expect("request failed");
        for value in res.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let bytes = res.body().limit(16 * 1024 * 1024).await.unwrap();
        Page {
            status: res.status().as_u16(),
            location: res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            headers: res.headers().clone(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.request(Method::GET, path, &[], None).await
    }

    /// A form post from one of Vigía's pages (same origin).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        self.post_from(
            path,
            fields,
            &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
        )
        .await
    }

    pub async fn post_from(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = serde_html_form::to_string(fields).unwrap();
        self.request(
            Method::POST,
            path,
            headers,
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
    }

    /// Signs in with a password already set.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.post(
            "/sign-in",
            &[("email", email), ("password", password), ("next", "/")],
        )
        .await
    }
}

/// The path and query of a link (mails carry `server.public_base_url`).
fn path_of(link: &str) -> String {
    let start = link.find("/password/").expect("a password link");
    link[start..].to_string()
}

/// Whether `text` appears between an escaped `<` and `>` (askama writes
/// `&#60;`; `&lt;` would do as well).
fn escaped(body: &str, text: &str) -> bool {
    ["&#60;", "&lt;"]
        .iter()
        .any(|lt| body.contains(&format!("{lt}{text}")))
}

pub const PASSWORD: &str = "cobre en los andes 2022";

/// Creates an account as `vigia users create` does and returns its link's path.
pub fn create_user(app: &TestApp, email: &str, name: &str, role: Role) -> String {
    let mut conn = app.db.get().unwrap();
    let (_, link) = accounts::create(
        &mut conn,
        &Who::cli(),
        &NewUser {
            email: email.into(),
            display_name: Some(name.into()),
            role,
            language: Language::Es,
        },
        &SiteLinks {
            base_url: app.address.clone(),
        },
    )
    .unwrap();
    link.strip_prefix(&app.address).unwrap().to_string()
}

/// A person with a password, signed in in a browser of their own.
pub async fn signed_in(app: &TestApp, email: &str, name: &str, role: Role) -> Browser {
    let link = create_user(app, email, name, role);
    let mut browser = Browser::new(app);
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = page.input("token");
    let done = browser
        .post(
            "/password/set",
            &[
                ("token", token.as_str()),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(browser.has_session());
    browser
}

#[actix_web::test]
async fn the_first_admin_gets_in_through_the_command_line_link() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    // Signed out, `/` is the way to sign in, in Spanish by default.
    let home = browser.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location.as_deref(), Some("/sign-in"));
    let sign_in = browser.get("/sign-in").await;
    assert_eq!(sign_in.status, 200);
    assert!(sign_in.body.contains("<html lang=\"es\">"));
    assert!(sign_in
        .body
        .contains("<title>Iniciar sesión · Vigía</title>"));
    assert!(sign_in
        .body
        .contains("<label for=\"email\">Correo electrónico</label>"));

    let link = create_user(&app, "ana@example.org", "Ana Quispe", Role::Admin);
    assert!(link.starts_with("/password/set?token="));
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Hola, Ana Quispe."));
    let token = page.input("token");

    // A weak password: the page again, the rule next to the field, in Spanish.
    let weak = browser
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", "password1234"),
                ("password_again", "password1234"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(
        weak.body
            .contains("id=\"password-error\">Es demasiado fácil de adivinar"),
        "{}",
        weak.body
    );
    let short = browser
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", "corta"),
                ("password_again", "corta"),
            ],
        )
        .await;
    assert!(
        short.body.contains("Debe tener entre 12 y 200 caracteres."),
        "{}",
        short.body
    );
    let mismatch = browser
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("password_again", "otra cosa"),
            ],
        )
        .await;
    assert!(mismatch.body.contains("Las dos contraseñas no coinciden."));
    assert!(!browser.has_session());

    let done = browser
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let cookie = done
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("vigia_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "http:// is not https: {cookie}");
    let home = browser.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Ana Quispe") || home.body.contains("Administración"));
    assert_eq!(home.headers.get("cache-control").unwrap(), "no-store");
    let csp = home
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );

    // The link worked once.
    let again = browser.get(&link).await;
    assert_eq!(again.status, 404);
    assert!(again.body.contains("Este enlace ya no sirve"));

    // Signing out ends the session on the server too.
    let csrf = home.csrf();
    let stolen = browser.cookies.clone();
    let out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!browser.has_session());
    browser.cookies = stolen;
    assert_eq!(browser.get("/").await.status, 303);
}

#[actix_web::test]
async fn the_command_line_prints_only_the_link() {
    let test_db = TestDb::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args([
            "users",
            "create",
            "--email",
            "Luz@Example.org",
            "--role",
            "monitor",
            "--name",
            "Luz Mamani",
        ])
        .env("VIGIA__DATABASE__URL", &test_db.url)
        .env(
            "VIGIA__SERVER__PUBLIC_BASE_URL",
            "https://vigia.example.org",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("https://vigia.example.org/password/set?token="),
        "{stdout}"
    );
    // The same address again, in any case: refused.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args([
            "users",
            "create",
            "--email",
            "luz@example.org",
            "--role",
            "monitor",
        ])
        .env("VIGIA__DATABASE__URL", &test_db.url)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(again.stdout.is_empty());
}

#[actix_web::test]
async fn english_by_the_browser_or_by_the_switch_and_every_text_in_both() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.language = Some("en-GB,en;q=0.9");
    let page = browser.get("/sign-in").await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("<title>Sign in · Vigía</title>"));
    // The switch is remembered over what the browser says.
    let switched = browser.get("/language?to=es&back=/sign-in").await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.location.as_deref(), Some("/sign-in"));
    let page = browser.get("/sign-in").await;
    assert!(page.body.contains("<html lang=\"es\">"));
    // The switch never sends anyone elsewhere.
    let away = browser
        .get("/language?to=en&back=https://evil.example/")
        .await;
    assert_eq!(away.location.as_deref(), Some("/"));
    // Both languages have every key (the catalogue does not compile
    // otherwise); none is left empty.
    assert!(ALL
        .iter()
        .all(|(_, es, en)| !es.is_empty() && !en.is_empty()));
}

#[actix_web::test]
async fn sign_in_is_throttled_after_five_failures() {
    let app = spawn_app().await;
    let mut owner = signed_in(&app, "rosa@example.org", "Rosa Huamán", Role::Monitor).await;
    let mut attacker = Browser::new(&app);
    // An unknown address answers as a wrong password does (and counts).
    let unknown = attacker
        .sign_in("nadie@example.org", "whatever it is")
        .await;
    assert_eq!(unknown.status, 401);
    assert!(unknown
        .body
        .contains("El correo o la contraseña no son correctos."));
    for _ in 0..4 {
        let page = attacker
            .sign_in("rosa@example.org", "not the password")
            .await;
        assert_eq!(page.status, 401);
        assert!(page
            .body
            .contains("El correo o la contraseña no son correctos."));
    }
    // Locked: even the right password is not checked now.
    let locked = attacker.sign_in("ROSA@example.org", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    let retry: i64 = locked
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(locked.body.contains("Demasiados intentos fallidos"));
    assert!(!attacker.has_session());
    // The client is locked too (five failures from one address), whatever
    // account it tries next.
    let other = attacker.sign_in("otra@example.org", "whatever it is").await;
    assert_eq!(other.status, 429);
    // The owner's session is untouched.
    assert_eq!(owner.get("/").await.status, 200);
}

#[actix_web::test]
async fn writes_need_the_session_token_and_the_same_origin() {
    let app = spawn_app().await;
    let mut browser = signed_in(&app, "mon@example.org", "Monitora Uno", Role::Monitor).await;
    let form = browser.get("/incidents/new").await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    let fields = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("title", "Bloqueo de la vía"),
            ("event_type", "blockade"),
            ("occurred_on", "2022-05-01"),
            ("time_precision", "day"),
            ("lat", "-14.2191"),
            ("lon", "-73.0884"),
        ]
    };
    let count = |app: &TestApp| {
        let mut conn = app.db.get().unwrap();
        vigia::schema::events::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap()
    };
    // No token, a wrong one: 403, nothing written.
    let no_token = browser.post("/incidents/new", &fields("")).await;
    assert_eq!(no_token.status, 403);
    let wrong = browser.post("/incidents/new", &fields("forged")).await;
    assert_eq!(wrong.status, 403);
    // From another site (the browser says so), even with the token.
    let leaked: &'static str = Box::leak(csrf.clone().into_boxed_str());
    let cross = browser
        .post_from(
            "/incidents/new",
            &fields(leaked),
            &[
                ("Origin", "http://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert!(
        cross.body.contains("no vino de una página de Vigía"),
        "{}",
        cross.body
    );
    let same_site = browser
        .post_from(
            "/incidents/new",
            &fields(leaked),
            &[("Origin", "http://127.0.0.1:1")],
        )
        .await;
    assert_eq!(same_site.status, 403);
    assert_eq!(count(&app), 0);

    // The API with the cookie: reads as they are, writes with X-CSRF-Token.
    let cookie = browser.cookie_header();
    let read = app
        .send(
            Method::GET,
            "/api/v1/events",
            None,
            &[("Cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let body = Some(("application/json", los_chancas().to_string().into_bytes()));
    let refused = app
        .send(
            Method::POST,
            "/api/v1/events",
            None,
            &[("Cookie", &cookie)],
            body.clone(),
        )
        .await;
    assert_eq!(refused.status, 403);
    let created = app
        .send(
            Method::POST,
            "/api/v1/events",
            None,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            body.clone(),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Recorded as the person.
    assert_eq!(created.body["created_by"], "Monitora Uno");
    let cross_api = app
        .send(
            Method::POST,
            "/api/v1/events",
            None,
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Origin", "http://evil.example"),
            ],
            body,
        )
        .await;
    assert_eq!(cross_api.status, 403);
    assert_eq!(count(&app), 1);

    // The form itself, from the page.
    let ok = browser.post("/incidents/new", &fields(leaked)).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(count(&app), 2);
}

#[actix_web::test]
async fn sessions_end_when_idle_when_disabled_and_everywhere() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "adm@example.org", "Admin Uno", Role::Admin).await;
    let mut monitor = signed_in(&app, "mon@example.org", "Monitor Dos", Role::Monitor).await;
    let mut phone = Browser::new(&app);
    assert_eq!(phone.sign_in("mon@example.org", PASSWORD).await.status, 303);
    assert_eq!(phone.get("/").await.status, 200);

    // Sign out everywhere: the phone is out too.
    let account = monitor.get("/account").await;
    assert!(
        account.body.contains("<dd>2</dd>"),
        "two sessions: {}",
        account.body
    );
    let out = monitor
        .post("/sign-out-everywhere", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(phone.get("/").await.status, 303);
    assert_eq!(monitor.get("/account").await.status, 303);

    // Idle for 15 days: the session is over.
    assert_eq!(phone.sign_in("mon@example.org", PASSWORD).await.status, 303);
    {
        let mut conn = app.db.get().unwrap();
        let old = chrono::Utc::now().naive_utc() - chrono::Duration::days(15);
        diesel::update(vigia::schema::sessions::table)
            .filter(vigia::schema::sessions::user_id.ne(""))
            .set(vigia::schema::sessions::last_seen_at.eq(old))
            .execute(&mut conn)
            .unwrap();
    }
    let expired = phone.get("/incidents").await;
    assert_eq!(expired.status, 303);
    assert_eq!(
        expired.location.as_deref(),
        Some("/sign-in?next=%2Fincidents")
    );
    assert_eq!(admin.get("/").await.status, 303, "the admin idled too");

    // Disabling ends the person's sessions at once.
    assert_eq!(admin.sign_in("adm@example.org", PASSWORD).await.status, 303);
    assert_eq!(phone.sign_in("mon@example.org", PASSWORD).await.status, 303);
    let users = admin.get("/users").await;
    assert_eq!(users.status, 200);
    let id = {
        let mut conn = app.db.get().unwrap();
        vigia::schema::users::table
            .filter(vigia::schema::users::email_key.eq("mon@example.org"))
            .select(vigia::schema::users::id)
            .first::<String>(&mut conn)
            .unwrap()
    };
    let saved = admin
        .post(
            &format!("/users/{id}"),
            &[
                ("csrf", &users.csrf()),
                ("role", "monitor"),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(phone.get("/").await.status, 303);
    assert_eq!(phone.sign_in("mon@example.org", PASSWORD).await.status, 401);
    // Not by a monitor.
    let forbidden = phone.get("/users").await;
    assert_eq!(forbidden.status, 303);
}

#[actix_web::test]
async fn invitations_and_password_resets_arrive_by_mail() {
    let mail = MailServer::start();
    let app = spawn_app_with(TestDb::new(), |s| {
        s.smtp.port = mail.port;
        s.alerts.deliver = false;
    })
    .await;
    let mut admin = signed_in(&app, "adm@example.org", "Admin Uno", Role::Admin).await;
    let users = admin.get("/users").await;
    let invited = admin
        .post(
            "/users",
            &[
                ("csrf", &users.csrf()),
                ("email", "Investigadora@Example.org"),
                ("display_name", "Investigadora Tres"),
                ("role", "researcher"),
                ("language", "en"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.body);
    // A taken address: the form again, the message next to the field.
    let taken = admin
        .post(
            "/users",
            &[
                ("csrf", &users.csrf()),
                ("email", "investigadora@example.org"),
                ("display_name", "Otra"),
                ("role", "researcher"),
                ("language", "es"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409);
    assert!(
        taken
            .body
            .contains("id=\"invite-email-error\">Ya está en uso."),
        "{}",
        taken.body
    );

    app.deliver().await;
    let mails = mail.wait_for("Investigadora@Example.org", 1).await;
    assert_eq!(mails[0].subject, "Invitation to Vigía");
    assert!(
        mails[0].text.contains("Admin Uno invited you"),
        "{}",
        mails[0].text
    );
    let path = path_of(&mails[0].link("http"));
    let mut researcher = Browser::new(&app);
    let page = researcher.get(&path).await;
    let token = page.input("token");
    researcher
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert!(researcher.has_session());
    // The invitation's bodies are gone from the outbox once sent.
    {
        let mut conn = app.db.get().unwrap();
        let bodies: Vec<String> = vigia::schema::account_mails::table
            .select(vigia::schema::account_mails::text_body)
            .load(&mut conn)
            .unwrap();
        assert!(bodies.iter().all(String::is_empty), "{bodies:?}");
    }

    // Forgot password: the same answer for an unknown address, a mail for
    // a known one, and the old password stops working.
    let mut someone = Browser::new(&app);
    let unknown = someone
        .post("/password/forgot", &[("email", "nadie@example.org")])
        .await;
    let known = someone
        .post(
            "/password/forgot",
            &[("email", "investigadora@example.org")],
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.location.clone()),
        (known.status, known.location.clone())
    );
    app.deliver().await;
    let mails = mail.wait_for("Investigadora@Example.org", 2).await;
    assert_eq!(mails[1].subject, "Your Vigía password");
    assert!(mail.to("nadie@example.org").is_empty());
    let path = path_of(&mails[1].link("http"));
    let page = someone.get(&path).await;
    let token = page.input("token");
    let new_password = "otra frase bastante larga";
    someone
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", new_password),
                ("password_again", new_password),
            ],
        )
        .await;
    assert!(someone.has_session());
    // The earlier session ended with the password change.
    assert_eq!(researcher.get("/").await.status, 303);
    let mut fresh = Browser::new(&app);
    assert_eq!(
        fresh
            .sign_in("investigadora@example.org", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        fresh
            .sign_in("investigadora@example.org", new_password)
            .await
            .status,
        303
    );
}

#[actix_web::test]
async fn the_incident_form_keeps_what_was_typed_and_says_what_is_wrong() {
    let app = spawn_app().await;
    let mut browser = signed_in(&app, "mon@example.org", "Monitora Uno", Role::Monitor).await;
    let csrf = browser.get("/incidents/new").await.csrf();
    let page = browser
        .post(
            "/incidents/new",
            &[
                ("csrf", &csrf),
                ("title", ""),
                ("description", "Texto que no se pierde"),
                ("event_type", "fire-ish"),
                ("occurred_on", "2999-01-01"),
                ("lat", "catorce"),
                ("lon", "-73.08"),
                ("source_publisher", "Radio Apurímac"),
                ("source_url", "javascript:alert(1)"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    for message in [
        "id=\"title-error\">Es obligatorio.",
        "id=\"occurred_on-error\">No puede estar en el futuro.",
        "id=\"lat-error\">Debe ser un número.",
        "Debe ser un enlace http:// o https://.",
    ] {
        assert!(
            page.body.contains(message),
            "{message} missing in:\n{}",
            page.body
        );
    }
    assert!(page.body.contains(">Texto que no se pierde</textarea>"));
    assert!(page.body.contains("value=\"Radio Apurímac\""));
    assert!(page.body.contains("value=\"catorce\""));
}

#[actix_web::test]
async fn hostile_text_is_shown_as_text_and_researchers_read_pseudonyms() {
    let app = spawn_app().await;
    let mut monitor = signed_in(&app, "mon@example.org", "María Apurímac", Role::Monitor).await;
    let csrf = monitor.get("/incidents/new").await.csrf();
    let hostile = "<img src=x onerror=alert(1)>";
    let created = monitor
        .post(
            "/incidents/new",
            &[
                ("csrf", &csrf),
                ("title", hostile),
                ("description", "\"><script>alert(2)</script>"),
                ("event_type", "property_destruction"),
                ("occurred_on", "2022-05-01"),
                ("time_precision", "month"),
                ("lat", "-14.2191"),
                ("lon", "-73.0884"),
                ("place", "Campamento Los Chancas"),
                ("source_publisher", "Rumbo Minero"),
                ("source_url", "https://www.rumbominero.com/noticia"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let path = created.location.unwrap();
    let page = monitor.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(
        escaped(&page.body, "img src=x onerror=alert(1)"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(hostile));
    assert!(!page.body.contains("<script>alert(2)"));
    assert!(page.body.contains("mayo de 2022"), "month precision");
    assert!(page.body.contains("rel=\"noopener noreferrer\""));
    assert!(page.body.contains("María Apurímac"));
    let list = monitor.get("/?q=onerror").await;
    assert!(escaped(&list.body, "img src=x onerror=alert(1)"));
    assert!(!list.body.contains(hostile));

    // A researcher reads the incident, not who logged it.
    let mut researcher = signed_in(&app, "inv@example.org", "Investigador", Role::Researcher).await;
    let page = researcher.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("María Apurímac"),
        "the monitor's name leaked"
    );
    assert!(page.body.contains("persona-"));
    // …and may not log incidents.
    assert_eq!(researcher.get("/incidents/new").await.status, 403);
    let id = path
        .trim_start_matches("/incidents/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let cookie = researcher.cookie_header();
    let api = app
        .send(
            Method::GET,
            &format!("/api/v1/events/{id}"),
            None,
            &[("Cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(api.status, 200);
    assert_ne!(api.body["created_by"], json!("María Apurímac"));
}

#[actix_web::test]
async fn a_conflicting_edit_shows_both_versions_and_overwrites_nothing() {
    let app = spawn_app().await;
    let mut ana = signed_in(&app, "ana@example.org", "Ana", Role::Monitor).await;
    let mut ben = signed_in(&app, "ben@example.org", "Ben", Role::Monitor).await;
    let created = app.create_event(los_chancas()).await;
    let id = created["id"].as_str().unwrap();
    let edit = format!("/incidents/{id}/edit");
    let ana_form = ana.get(&edit).await;
    assert_eq!(ana_form.status, 200, "{}", ana_form.body);
    let ben_form = ben.get(&edit).await;
    let post = |page: &Page, title: &'static str| {
        vec![
            ("csrf", page.csrf()),
            ("version", page.input("version")),
            ("title", title.to_string()),
            ("event_type", "property_destruction".to_string()),
            ("occurred_on", "2022-05-01".to_string()),
            ("time_precision", "month".to_string()),
            ("lat", page.input("lat")),
            ("lon", page.input("lon")),
        ]
    };
    let ana_fields = post(&ana_form, "Título de Ana");
    let ana_refs: Vec<(&str, &str)> = ana_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ana.post(&edit, &ana_refs).await.status, 303);
    let ben_fields = post(&ben_form, "Título de Ben");
    let ben_refs: Vec<(&str, &str)> = ben_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let conflict = ben.post(&edit, &ben_refs).await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert!(conflict.body.contains("Otra persona cambió este incidente"));
    assert!(
        conflict
            .body
            .contains("<td>Título de Ana</td><td>Título de Ben</td>"),
        "{}",
        conflict.body
    );
    let saved = app.get(&format!("/api/v1/events/{id}"), &app.admin).await;
    assert_eq!(saved.body["title"], "Título de Ana");
    // Choosing to save over it: the form now carries the version Ben saw.
    let version = conflict.input("version");
    assert_eq!(version, saved.body["version"].to_string());
    let mut again = ben_fields.clone();
    again[1].1 = version;
    let again_refs: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(ben.post(&edit, &again_refs).await.status, 303);
    let saved = app.get(&format!("/api/v1/events/{id}"), &app.admin).await;
    assert_eq!(saved.body["title"], "Título de Ben");
    // The history says who changed what.
    let page = ana.get(&format!("/incidents/{id}")).await;
    assert!(
        page.body
            .contains("<td>Ben</td><td>modificó el incidente: Título</td>"),
        "{}",
        page.body
    );
}

#[actix_web::test]
async fn unknown_pages_and_forbidden_ones_are_pages_in_the_visitors_language() {
    let app = spawn_app().await;
    let mut browser = signed_in(&app, "inv@example.org", "Investigador", Role::Researcher).await;
    let missing = browser.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("No encontramos lo que busca."));
    assert!(missing
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let admin_only = browser.get("/users").await;
    assert_eq!(admin_only.status, 403);
    assert!(admin_only.body.contains("Su rol no permite hacer esto."));
    let bad_id = browser.get("/incidents/not-an-id").await;
    assert_eq!(bad_id.status, 404);
    // The API keeps answering problems.
    let api = app
        .request(Method::GET, "/api/v1/nothing", None, None)
        .await;
    assert_eq!(api.status, 404);
    assert!(api
        .header("content-type")
        .unwrap()
        .starts_with("application/problem+json"));
}

#[actix_web::test]
async fn disabling_a_person_revokes_the_keys_of_their_scripts() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "adm@example.org", "Admin Uno", Role::Admin).await;
    create_user(&app, "script@example.org", "Persona Scripts", Role::Monitor);
    let (user_id, token) = {
        let mut conn = app.db.get().unwrap();
        let user_id: String = vigia::schema::users::table
            .filter(vigia::schema::users::email_key.eq("script@example.org"))
            .select(vigia::schema::users::id)
            .first(&mut conn)
            .unwrap();
        let key = vigia::ops::keys::create(
            &mut conn,
            &Who::cli(),
            "script-key",
            Role::Monitor,
            Some(&user_id),
        )
        .unwrap();
        assert_eq!(
            key.key.user_id.map(|u| u.to_string()),
            Some(user_id.clone())
        );
        (user_id, key.token)
    };
    assert_eq!(app.get("/api/v1/events", &token).await.status, 200);
    let users = admin.get("/users").await;
    let saved = admin
        .post(
            &format!("/users/{user_id}"),
            &[
                ("csrf", &users.csrf()),
                ("role", "monitor"),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let keys = app.get("/api/v1/keys", &app.admin).await;
    let key = keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "script-key")
        .unwrap()
        .clone();
    assert!(key["revoked_at"].is_string(), "{key}");
    assert_eq!(app.get("/api/v1/events", &token).await.status, 401);
    // The change is in the audit trail, with who made it.
    let audit = app.get("/api/v1/audit?entity=user", &app.admin).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert!(audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["key_name"] == "Admin Uno"));
}

#[actix_web::test]
async fn offline_the_app_its_worker_and_my_submissions() {
    let app = spawn_app().await;
    let mut stranger = Browser::new(&app);
    // The worker, at the root, never kept stale; its first line names the build.
    let sw = stranger.get("/sw.js").await;
    assert_eq!(sw.status, 200);
    assert_eq!(
        sw.headers.get("content-type").unwrap().to_str().unwrap(),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        sw.headers.get("cache-control").unwrap().to_str().unwrap(),
        "no-cache"
    );
    assert!(sw.body.starts_with("const VIGIA_BUILD = '"), "{}", sw.body);
    // The manifest: installable, with icons that exist.
    let manifest = stranger.get("/manifest.webmanifest").await;
    assert_eq!(manifest.status, 200);
    let m: serde_json::Value = serde_json::from_str(&manifest.body).unwrap();
    assert_eq!(m["name"], "Vigía");
    assert_eq!(m["start_url"], "/");
    assert_eq!(m["display"], "standalone");
    for icon in m["icons"].as_array().unwrap() {
        let png = stranger.get(icon["src"].as_str().unwrap()).await;
        assert_eq!(png.status, 200);
        assert_eq!(
            png.headers.get("content-type").unwrap().to_str().unwrap(),
            "image/png"
        );
    }
    // What the worker keeps: every file, by its versioned address.
    let list = stranger.get("/offline/assets.json").await;
    let list: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    let assets: Vec<&str> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(assets.iter().any(|a| a.ends_with("/js/outbox.js")));
    assert_eq!(list["pages"], json!(["/incidents/new", "/envios"]));
    // "Mis envíos" and the outbox's token need a session.
    assert_eq!(stranger.get("/envios").await.status, 303);
    assert_eq!(stranger.get("/offline/session.json").await.status, 303);

    let mut ana = signed_in(&app, "ana@example.org", "Ana", Role::Monitor).await;
    let page = ana.get("/envios").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Mis envíos</h1>"));
    assert!(page.body.contains("id=\"outbox-badge\""));
    assert!(page.body.contains("rel=\"manifest\""));
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("worker-src 'self'") && csp.contains("manifest-src 'self'"));
    let form = ana.get("/incidents/new").await;
    let token: serde_json::Value =
        serde_json::from_str(&ana.get("/offline/session.json").await.body).unwrap();
    assert_eq!(token["csrf"], form.csrf());
    // Whose session: the outbox sends a person's items in their session only.
    assert!(token["user"].as_str().is_some_and(|id| !id.is_empty()));
}

#[actix_web::test]
async fn signing_in_keeps_the_browsers_language() {
    let app = spawn_app().await;
    // The account's language (Spanish) is for its mails; the pages follow
    // the browser, or the switch.
    let link = create_user(&app, "eng@example.org", "English Reader", Role::Researcher);
    let mut browser = Browser::new(&app);
    browser.language = Some("en-GB,en;q=0.9");
    let token = browser.get(&link).await.input("token");
    let done = browser
        .post(
            "/password/set",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let home = browser.get("/").await;
    assert!(
        home.body.contains("<html lang=\"en\">"),
        "{}",
        &home.body[..200]
    );
    assert!(!browser.cookies.contains_key("vigia_lang"));
}

#[actix_web::test]
async fn a_session_outlives_a_restart_and_files_need_none() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "mon@example.org", "Monitora", Role::Monitor).await;
    let cookies = browser.cookies.clone();
    let test_db = app.stop().await;
    let app = spawn_app_on(test_db).await;
    let mut browser = Browser::new(&app);
    browser.cookies = cookies;
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "signed out by a restart");
    // A page's files are served to anyone, cookie or not, cached for a year.
    let css = home
        .body
        .split("href=\"/static/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let file = Browser::new(&app).get(&format!("/static/{css}")).await;
    assert_eq!(file.status, 200);
    assert!(file
        .headers
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("immutable"));
}

#[actix_web::test]
async fn a_monitor_attaches_files_from_the_incident_page_and_a_refused_one_says_why() {
    use crate::attachments::PDF;
    use crate::helpers::multipart;
    let app = spawn_app().await;
    let id = app.create_event(los_chancas()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b = signed_in(&app, "rosa@example.org", "Rosa Quispe", Role::Monitor).await;
    let path = format!("/incidents/{id}");
    let page = b.get(&path).await;
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let origin = app.address.clone();
    let same_site = [
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let send = |name: &str, bytes: &[u8], csrf: &str| {
        let (ct, body) = multipart(name, "application/octet-stream", bytes, &[("csrf", csrf)]);
        (ct, String::from_utf8(body).unwrap())
    };

    let body = send("informe.pdf", PDF, &csrf);
    let done = b
        .request(
            Method::POST,
            &format!("{path}/attachments"),
            &same_site,
            Some((&body.0, body.1)),
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let shown = b.get(done.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Archivo adjuntado."), "{}", shown.body);
    assert!(shown.body.contains("informe.pdf"));

    // HTML named as a photo: the page again, 415, the reason next to the
    // field, the name escaped.
    let body = send(
        "<b>foto</b>.jpg",
        b"<!DOCTYPE html><script>alert(1)</script>",
        &csrf,
    );
    let refused = b
        .request(
            Method::POST,
            &format!("{path}/attachments"),
            &same_site,
            Some((&body.0, body.1)),
        )
        .await;
    assert_eq!(refused.status, 415, "{}", refused.body);
    assert!(refused.body.contains("id=\"attach-error\""));
    assert!(
        refused.body.contains("&#60;b&#62;foto&#60;/b&#62;.jpg"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("<b>foto"));
    assert!(refused.body.contains("no es una foto"));

    // Without the form's token, or from another site: refused, nothing kept.
    let body = send("otro.pdf", b"%PDF-1.4\n%%EOF\n", "not-the-token");
    let forged = b
        .request(
            Method::POST,
            &format!("{path}/attachments"),
            &same_site,
            Some((&body.0, body.1)),
        )
        .await;
    assert_eq!(forged.status, 403);
    let body = send("otro.pdf", b"%PDF-1.4\n%%EOF\n", &csrf);
    let cross = b
        .request(
            Method::POST,
            &format!("{path}/attachments"),
            &[
                ("Origin", "https://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            Some((&body.0, body.1)),
        )
        .await;
    assert_eq!(cross.status, 403);
    let listed = app
        .get(&format!("/api/v1/events/{id}/attachments"), &app.admin)
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);

    // Removing it from the page.
    let aid = listed.body[0]["id"].as_str().unwrap().to_string();
    let removed = b
        .post(&format!("/attachments/{aid}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status, 303);
    let shown = b.get(removed.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Archivo quitado."));
    assert!(!shown.body.contains("informe.pdf"));

    // A researcher sees the files but no way to add or remove them.
    let mut reader = signed_in(&app, "ana@example.org", "Ana", Role::Researcher).await;
    let page = reader.get(&path).await;
    assert!(!page.body.contains("multipart/form-data"));
}

#[actix_web::test]
async fn the_district_list_for_offline_search_is_for_people_signed_in() {
    let app = spawn_app().await;
    let mut stranger = Browser::new(&app);
    let page = stranger.get("/offline/districts.json").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut b = signed_in(&app, "rosa@example.org", "Rosa", Role::Monitor).await;
    let page = b.get("/offline/districts.json").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(body["items"], json!([]));

    // With Peru's real districts: each one's point is inside it.
    assert!(
        crate::maps::load_districts(&app),
        "the shared district file is missing"
    );
    let page = b.get("/offline/districts.json").await;
    let body: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    let items = body["items"].as_array().unwrap();
    assert!(items.len() > 1800, "{}", items.len());
    let pocohuanca = items.iter().find(|d| d["ubigeo"] == "030410").unwrap();
    assert_eq!(pocohuanca["district"], "POCOHUANCA");
    for d in items.iter().step_by(37).chain([pocohuanca]) {
        let at = app
            .get(
                &format!("/api/v1/districts/at?lat={}&lon={}", d["lat"], d["lon"]),
                &app.researcher,
            )
            .await;
        assert_eq!(at.body["ubigeo"], d["ubigeo"], "{d}");
    }
}

#[actix_web::test]
async fn cases_are_listed_with_their_filters_and_a_case_shows_its_reports_incidents_and_files() {
    use crate::attachments::PDF;
    use crate::helpers::multipart;
    let app = spawn_app().await;
    let case = app
        .post(
            "/api/v1/cases",
            &app.monitor,
            json!({"name": "Tiaparo - Tapayrihua - SPCC (Los Chancas)", "case_type": "socioambiental",
                "activity": "minería", "region": "Apurímac", "province": "Aymaraes",
                "district": "Pocohuanca", "ubigeo": "030410"}),
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.body);
    let cid = case.body["id"].as_str().unwrap().to_string();
    for (n, month, status) in [(219, "2022-05", "activo"), (220, "2022-06", "latente")] {
        let res = app
            .post(
                &format!("/api/v1/cases/{cid}/entries"),
                &app.monitor,
                json!({"report_number": n, "report_month": month, "status": status,
                    "phase": "crisis", "violence": n == 219, "dialogue": false,
                    "description": "Quema del campamento <script>alert(1)</script>"}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
    }
    let event = app.create_event(los_chancas()).await;
    let eid = event["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/v1/events/{eid}/cases"),
            &app.monitor,
            json!({"case_id": cid}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);

    let mut b = signed_in(&app, "rosa@example.org", "Rosa Quispe", Role::Monitor).await;
    let list = b
        .get("/cases?q=chancas&status=latente&region=&report_number=")
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&format!("/cases/{cid}")));
    let none = b.get("/cases?q=chancas&status=resuelto").await;
    assert!(none.body.contains("Ningún caso coincide"));
    let bad = b.get("/cases?report_number=99999").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"c-error\""));

    let page = b.get(&format!("/cases/{cid}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("class=\"timeline\""));
    assert!(page.body.contains("219") && page.body.contains("latente"));
    assert!(page.body.contains(&format!("/incidents/{eid}")));
    assert!(!page.body.contains("<script>alert(1)"));
    // A report PDF attached from the page.
    let csrf = page.csrf();
    let origin = app.address.clone();
    let (ct, body) = multipart(
        "Reporte-219.pdf",
        "application/pdf",
        PDF,
        &[("csrf", &csrf)],
    );
    let done = b
        .request(
            Method::POST,
            &format!("/cases/{cid}/attachments"),
            &[
                ("Origin", origin.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            Some((&ct, String::from_utf8(body).unwrap())),
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done
        .location
        .as_deref()
        .unwrap()
        .starts_with(&format!("/cases/{cid}?attached=1")));
    let page = b.get(done.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Reporte-219.pdf"));
    // A refused file: the case page with the reason.
    let (ct, body) = multipart("x.jpg", "image/jpeg", b"<html></html>", &[("csrf", &csrf)]);
    let refused = b
        .request(
            Method::POST,
            &format!("/cases/{cid}/attachments"),
            &[
                ("Origin", origin.as_str()),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            Some((&ct, String::from_utf8(body).unwrap())),
        )
        .await;
    assert_eq!(refused.status, 415);
    assert!(refused.body.contains("id=\"attach-error\""));
    assert!(refused.body.contains("Tiaparo"));
}

#[actix_web::test]
async fn an_admin_makes_a_key_sees_it_once_sees_its_last_use_and_revokes_it() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, "ana@example.org", "Ana Quispe", Role::Admin).await;
    let page = admin.get("/keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let made = admin
        .post(
            "/keys",
            &[
                ("csrf", &csrf),
                ("name", "script de R <b>"),
                ("role", "researcher"),
            ],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let token = made.input("token");
    assert!(token.starts_with("vg_"), "{token}");
    assert!(made.body.contains("script de R &#60;b&#62;"), "escaped");
    // Shown once: the list afterwards has its first characters only.
    let again = admin.get("/keys").await;
    assert!(!again.body.contains(&token));
    assert!(again.body.contains("nunca"));

    // Used by a script: its last use shows.
    let res = app.get("/api/v1/events", &token).await;
    assert_eq!(res.status, 200);
    let listed = admin.get("/keys").await;
    let row = listed
        .body
        .split("<tr")
        .find(|r| r.contains("script de R"))
        .unwrap()
        .to_string();
    assert!(!row.contains("nunca"), "{row}");

    // The same name again: the reason beside the field.
    let twice = admin
        .post(
            "/keys",
            &[
                ("csrf", &csrf),
                ("name", "script de R <b>"),
                ("role", "researcher"),
            ],
        )
        .await;
    assert_eq!(twice.status, 409);
    assert!(twice.body.contains("key-name-error"));

    // Revoked: it stops working.
    let keys = app.get("/api/v1/keys", &app.admin).await;
    let id = keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "script de R <b>")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = admin
        .post(&format!("/keys/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    let shown = admin.get(revoked.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("fue revocada"), "{}", shown.body);
    // (The key cache trusts a key for auth.key_cache_seconds; this process
    // forgot it when it revoked it.)
    app.get("/api/v1/events", &token).await.problem(401);

    // Not for monitors.
    let mut monitor = signed_in(&app, "ben@example.org", "Ben Mamani", Role::Monitor).await;
    assert_eq!(monitor.get("/keys").await.status, 403);
}
