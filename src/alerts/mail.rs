//! The mails themselves, in Spanish and English, plain text and HTML, and
//! the SMTP transport that carries them.

use askama::Template;
use chrono::NaiveDate;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::tokens::LinkSigner;
use super::{Language, Reason};
use crate::config::{SmtpSettings, SmtpTls};
use crate::events::{EventType, TimePrecision};
use crate::i18n::{date_text, fill, Label, Texts};

/// What an alert tells of an incident.
#[derive(Debug, Clone)]
pub struct EventSummary {
    pub id: String,
    pub title: String,
    pub event_type: EventType,
    pub occurred_on: NaiveDate,
    pub time_precision: TimePrecision,
    pub place: Option<String>,
    pub district: Option<String>,
    pub province: Option<String>,
    pub region: Option<String>,
    pub ubigeo: Option<String>,
}

/// Builds the links mails carry.
#[derive(Debug, Clone)]
pub struct Links {
    pub base_url: String,
    pub signer: LinkSigner,
}

impl Links {
    pub fn confirm(&self, watch_id: &str, expires: i64, nonce: &str) -> String {
        format!(
            "{}/api/v1/watches/confirm?token={}",
            self.base_url,
            self.signer.confirm_token(watch_id, expires, nonce)
        )
    }

    pub fn unsubscribe(&self, watch_id: &str) -> String {
        format!(
            "{}/api/v1/watches/unsubscribe?token={}",
            self.base_url,
            self.signer.unsubscribe_token(watch_id)
        )
    }

    pub fn event(&self, event_id: &str) -> String {
        format!("{}/incidents/{event_id}", self.base_url)
    }
}

/// A mail ready to send, before it becomes a lettre `Message`.
#[derive(Debug, Clone)]
pub struct Draft {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets; stable across attempts.
    pub message_id: String,
    pub unsubscribe: Option<String>,
}

/// What a watch looks at, for its confirmation mail.
#[derive(Debug, Clone)]
pub enum WatchTarget {
    Concession { code: String, name: String },
    Holder { name: String },
    AdminArea { ubigeo: String },
    Area,
}

pub(crate) fn target_text(target: &WatchTarget, t: &Texts) -> String {
    match target {
        WatchTarget::Concession { code, name } => {
            fill(t.target_concession, &[("code", code), ("name", name)])
        }
        WatchTarget::Holder { name } => fill(t.target_holder, &[("name", name)]),
        WatchTarget::AdminArea { ubigeo } => fill(t.target_admin_area, &[("ubigeo", ubigeo)]),
        WatchTarget::Area => t.target_area.to_string(),
    }
}

pub(crate) fn place_text(e: &EventSummary) -> String {
    let admin: Vec<&str> = [&e.district, &e.province, &e.region]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    let mut text = match (&e.place, admin.is_empty()) {
        (Some(place), false) => format!("{place} ({})", admin.join(", ")),
        (Some(place), true) => place.clone(),
        (None, false) => admin.join(", "),
        (None, true) => "—".into(),
    };
    if let Some(ubigeo) = &e.ubigeo {
        text.push_str(&format!(" [ubigeo {ubigeo}]"));
    }
    text
}

/// Why the recipient gets this, in one sentence.
pub fn reason_text(reason: &Reason, lang: Language) -> String {
    let t = lang.texts();
    match reason {
        Reason::Concession { code, name, holder } => {
            let holder = holder
                .as_ref()
                .map(|h| fill(t.reason_concession_holder, &[("holder", h)]))
                .unwrap_or_default();
            fill(
                t.reason_concession,
                &[("code", code), ("name", name), ("holder", &holder)],
            )
        }
        Reason::Holder { holder, code, name } => fill(
            t.reason_holder,
            &[("code", code), ("name", name), ("holder", holder)],
        ),
        Reason::Area => t.reason_area.to_string(),
        Reason::AdminArea { ubigeo, name } => fill(
            t.reason_admin_area,
            &[
                ("name", name.as_deref().unwrap_or(t.the_area)),
                ("ubigeo", ubigeo),
            ],
        ),
        Reason::Confirmation => String::new(),
    }
}

/// One incident of an alert or digest, as the mail says it.
struct Item {
    title: String,
    kind: &'static str,
    when: String,
    place: String,
    why: String,
    url: String,
}

#[derive(Template)]
#[template(path = "mail/alert.txt")]
struct AlertText<'a> {
    t: &'static Texts,
    items: &'a [Item],
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "mail/alert.html")]
struct AlertHtml<'a> {
    t: &'static Texts,
    lang: Language,
    items: &'a [Item],
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "mail/confirmation.txt")]
struct ConfirmationText<'a> {
    t: &'static Texts,
    what: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/confirmation.html")]
struct ConfirmationHtml<'a> {
    t: &'static Texts,
    lang: Language,
    what: &'a str,
    url: &'a str,
}

/// A mail body from its template; a template cannot fail on these values,
/// but if it did the mail says so rather than going out empty.
fn render(template: &impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|e| format!("(this mail could not be written: {e})"))
}

/// One alert (one item) or a daily digest (several).
pub fn alert(
    lang: Language,
    to: &str,
    watch_id: &str,
    items: &[(EventSummary, Reason)],
    message_id: String,
    links: &Links,
) -> Draft {
    let t = lang.texts();
    let subject = match items {
        [(one, _)] => format!("[Vigía] {}", one.title),
        many => fill(t.mail_digest_subject, &[("n", &many.len().to_string())]),
    };
    let unsubscribe = links.unsubscribe(watch_id);
    let items: Vec<Item> = items
        .iter()
        .map(|(event, reason)| Item {
            title: event.title.clone(),
            kind: event.event_type.label(t),
            when: date_text(event.occurred_on, event.time_precision, t),
            place: place_text(event),
            why: reason_text(reason, lang),
            url: links.event(&event.id),
        })
        .collect();
    Draft {
        to: to.into(),
        subject,
        text: render(&AlertText {
            t,
            items: &items,
            unsubscribe: &unsubscribe,
        }),
        html: render(&AlertHtml {
            t,
            lang,
            items: &items,
            unsubscribe: &unsubscribe,
        }),
        message_id,
        unsubscribe: Some(unsubscribe),
    }
}

/// The double opt-in mail.
pub fn confirmation(
    lang: Language,
    to: &str,
    target: &WatchTarget,
    confirm_url: &str,
    message_id: String,
) -> Draft {
    let t = lang.texts();
    let what = target_text(target, t);
    Draft {
        to: to.into(),
        subject: t.confirm_subject.into(),
        text: render(&ConfirmationText {
            t,
            what: &what,
            url: confirm_url,
        }),
        html: render(&ConfirmationHtml {
            t,
            lang,
            what: &what,
            url: confirm_url,
        }),
        message_id,
        unsubscribe: None,
    }
}

#[derive(Template)]
#[template(path = "mail/account.txt")]
struct AccountText<'a> {
    t: &'static Texts,
    body: &'a str,
}

#[derive(Template)]
#[template(path = "mail/account.html")]
struct AccountHtml<'a> {
    t: &'static Texts,
    lang: Language,
    /// Each paragraph, and whether it is the link.
    paragraphs: Vec<(bool, &'a str)>,
    link: &'a str,
    button: &'a str,
}

/// An invitation or a password reset: paragraphs of text, one of them the
/// link (shown in HTML as a button-like link with the address under it).
pub fn account(
    lang: Language,
    to: &str,
    subject: &str,
    body: &str,
    link: &str,
    button: &str,
) -> super::outbox::AccountMail {
    let t = lang.texts();
    super::outbox::AccountMail {
        to: to.to_string(),
        subject: subject.to_string(),
        text: render(&AccountText { t, body }),
        html: render(&AccountHtml {
            t,
            lang,
            paragraphs: body
                .split("\n\n")
                .map(str::trim)
                .map(|p| (p == link, p))
                .collect(),
            link,
            button,
        }),
    }
}

/// A mail that could not be sent.
#[derive(Debug)]
pub struct SendError {
    /// The server refused for good (5xx): retrying cannot help.
    pub permanent: bool,
    pub message: String,
}

/// The SMTP side: a pooled lettre transport and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of Message-IDs: the sender's.
    id_domain: String,
}

impl Mailer {
    pub fn new(smtp: &SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| format!("smtp.from: {:?} is not an address: {e}", smtp.from))?;
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(|e| format!("smtp.host: {e}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| format!("smtp.host: {e}"))?,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(std::time::Duration::from_secs(smtp.timeout_seconds)))
            .pool_config(PoolConfig::new().max_size(smtp.pool_size));
        if !smtp.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                smtp.username.clone(),
                smtp.password.clone(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            id_domain: from.email.domain().to_string(),
            from,
        })
    }

    /// The Message-ID for a mail key (an alert id, a digest's key).
    pub fn message_id(&self, key: &str) -> String {
        format!("{key}@{}", self.id_domain)
    }

    fn build(&self, draft: &Draft) -> Result<Message, SendError> {
        let refuse = |message: String| SendError {
            permanent: true,
            message,
        };
        let to: Mailbox = draft
            .to
            .parse()
            .map_err(|e| refuse(format!("recipient {:?}: {e}", draft.to)))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(draft.subject.clone())
            .message_id(Some(format!("<{}>", draft.message_id)))
            .date_now();
        if let Some(url) = &draft.unsubscribe {
            // RFC 8058: mail programs offer a one-click button that POSTs here.
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                draft.text.clone(),
                draft.html.clone(),
            ))
            .map_err(|e| refuse(format!("cannot build the message: {e}")))
    }

    pub async fn send(&self, draft: &Draft) -> Result<(), SendError> {
        let message = self.build(draft)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_filled_in_both_languages() {
        let reason = Reason::Concession {
            code: "010461925".into(),
            name: "LOS CHANCAS 1".into(),
            holder: Some("Southern Peru Copper Corporation".into()),
        };
        assert_eq!(
            reason_text(&reason, Language::Es),
            "Está dentro de la concesión 010461925 «LOS CHANCAS 1» (titular: Southern Peru Copper Corporation), que usted vigila."
        );
        assert!(reason_text(&reason, Language::En).contains("(holder: Southern"));
        let mail = account(
            Language::Es,
            "a@example.org",
            "Asunto",
            "Hola <b>Ana</b>:\n\nhttps://x.example/password/set?token=a&b\n\nFin",
            "https://x.example/password/set?token=a&b",
            "Elegir",
        );
        assert!(mail.html.contains("&#60;b&#62;Ana") || mail.html.contains("&lt;b&gt;Ana"));
        assert!(mail.text.contains("Hola <b>Ana</b>"), "text is not escaped");
    }
}
