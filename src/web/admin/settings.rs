//! The settings, read-only: every value with where it comes from (the
//! defaults, the file, an environment variable), secrets masked.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::config::{Shown, Source};
use crate::error::AppError;
use crate::i18n::{fill, Texts};
use crate::keys::Role;
use crate::web::{Ctx, SignedIn};

/// The settings as described when the server started
/// ([`crate::config::Settings::describe`]): what this process runs with.
pub struct Described(pub Result<Vec<Shown>, String>);

struct Row {
    key: String,
    value: String,
    secret: bool,
    source: String,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    ctx: Ctx,
    t: &'static Texts,
    sections: Vec<(String, Vec<Row>)>,
    error: String,
}

fn source_text(source: &Source, t: &Texts) -> String {
    match source {
        Source::Default => t.admin_source_default.to_string(),
        Source::File(path) => fill(
            t.admin_source_file,
            &[("file", &path.display().to_string())],
        ),
        Source::Env(var) => fill(t.admin_source_env, &[("var", var)]),
        Source::Program => t.admin_source_program.to_string(),
    }
}

async fn page(who: SignedIn, described: web::Data<Described>) -> Result<HttpResponse, AppError> {
    who.require(Role::Admin)?;
    let t = who.ctx.t;
    let mut sections: Vec<(String, Vec<Row>)> = Vec::new();
    let error = match &described.0 {
        Ok(shown) => {
            for s in shown {
                let (section, _) = s.key.split_once('.').unwrap_or(("", &s.key));
                let row = Row {
                    key: s.key.clone(),
                    value: s.value.clone(),
                    secret: s.secret,
                    source: source_text(&s.source, t),
                };
                match sections.last_mut() {
                    Some((name, rows)) if name == section => rows.push(row),
                    _ => sections.push((section.to_string(), vec![row])),
                }
            }
            String::new()
        }
        Err(why) => why.clone(),
    };
    crate::web::ok(
        &who.web,
        &SettingsPage {
            ctx: who.ctx.clone(),
            t,
            sections,
            error,
        },
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/settings", web::get().to(page));
}
