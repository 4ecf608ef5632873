//! The mails themselves, in Spanish and English, plain text and HTML, and
//! the SMTP transport that carries them.

use chrono::{Datelike, NaiveDate};
use html_escape::encode_text as esc;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::tokens::LinkSigner;
use super::{Language, Reason};
use crate::config::{SmtpSettings, SmtpTls};
use crate::events::{EventType, TimePrecision};

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

fn event_type_label(t: EventType, lang: Language) -> &'static str {
    use EventType::*;
    match (lang, t) {
        (Language::Es, Protest) => "protesta",
        (Language::Es, Blockade) => "bloqueo",
        (Language::Es, Riot) => "disturbio",
        (Language::Es, PropertyDestruction) => "destrucción de propiedad",
        (Language::Es, Clash) => "enfrentamiento",
        (Language::Es, Attack) => "ataque",
        (Language::Es, Occupation) => "ocupación",
        (Language::Es, Eviction) => "desalojo",
        (Language::Es, Arrest) => "detención",
        (Language::Es, Agreement) => "acuerdo",
        (Language::Es, EnvironmentalIncident) => "incidente ambiental",
        (Language::Es, Other) => "otro",
        (Language::En, Protest) => "protest",
        (Language::En, Blockade) => "blockade",
        (Language::En, Riot) => "riot",
        (Language::En, PropertyDestruction) => "property destruction",
        (Language::En, Clash) => "clash",
        (Language::En, Attack) => "attack",
        (Language::En, Occupation) => "occupation",
        (Language::En, Eviction) => "eviction",
        (Language::En, Arrest) => "arrest",
        (Language::En, Agreement) => "agreement",
        (Language::En, EnvironmentalIncident) => "environmental incident",
        (Language::En, Other) => "other",
    }
}

const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The date as precisely as it is known: "mayo de 2022" for a month.
pub fn date_text(date: NaiveDate, precision: TimePrecision, lang: Language) -> String {
    let month = date.month0() as usize;
    match (precision, lang) {
        (TimePrecision::Year, _) => date.year().to_string(),
        (TimePrecision::Month, Language::Es) => format!("{} de {}", MONTHS_ES[month], date.year()),
        (TimePrecision::Month, Language::En) => format!("{} {}", MONTHS_EN[month], date.year()),
        (TimePrecision::Day, Language::Es) => {
            format!("{} de {} de {}", date.day(), MONTHS_ES[month], date.year())
        }
        (TimePrecision::Day, Language::En) => {
            format!("{} {} {}", date.day(), MONTHS_EN[month], date.year())
        }
    }
}

fn place_text(e: &EventSummary) -> String {
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
    match (reason, lang) {
        (Reason::Concession { code, name, holder }, Language::Es) => format!(
            "Está dentro de la concesión {code} «{name}»{}, que usted vigila.",
            holder
                .as_ref()
                .map(|h| format!(" (titular: {h})"))
                .unwrap_or_default()
        ),
        (Reason::Concession { code, name, holder }, Language::En) => format!(
            "It lies inside concession {code} \"{name}\"{}, which you watch.",
            holder
                .as_ref()
                .map(|h| format!(" (holder: {h})"))
                .unwrap_or_default()
        ),
        (Reason::Holder { holder, code, name }, Language::Es) => format!(
            "Está dentro de la concesión {code} «{name}» de {holder}, titular que usted vigila."
        ),
        (Reason::Holder { holder, code, name }, Language::En) => {
            format!("It lies inside concession {code} \"{name}\" of {holder}, a holder you watch.")
        }
        (Reason::Area, Language::Es) => "Está dentro del área que usted vigila.".into(),
        (Reason::Area, Language::En) => "It lies inside the area you watch.".into(),
        (Reason::AdminArea { ubigeo, name }, Language::Es) => format!(
            "Ocurrió en {} (ubigeo {ubigeo}), que usted vigila.",
            name.as_deref().unwrap_or("la zona")
        ),
        (Reason::AdminArea { ubigeo, name }, Language::En) => format!(
            "It happened in {} (ubigeo {ubigeo}), which you watch.",
            name.as_deref().unwrap_or("the area")
        ),
        (Reason::Confirmation, _) => String::new(),
    }
}

struct Labels {
    what: &'static str,
    when: &'static str,
    place: &'static str,
    why: &'static str,
    more: &'static str,
    stop: &'static str,
}

fn labels(lang: Language) -> Labels {
    match lang {
        Language::Es => Labels {
            what: "Tipo",
            when: "Fecha",
            place: "Lugar",
            why: "Por qué lo recibe",
            more: "Ver el incidente",
            stop: "Para dejar de recibir estas alertas, abra",
        },
        Language::En => Labels {
            what: "Type",
            when: "Date",
            place: "Place",
            why: "Why you get this",
            more: "See the incident",
            stop: "To stop these alerts, open",
        },
    }
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
    let l = labels(lang);
    let subject = match (items, lang) {
        ([(one, _)], _) => format!("[Vigía] {}", one.title),
        (many, Language::Es) => format!("[Vigía] {} incidentes nuevos", many.len()),
        (many, Language::En) => format!("[Vigía] {} new incidents", many.len()),
    };
    let unsubscribe = links.unsubscribe(watch_id);
    let mut text = String::new();
    let mut html = String::from("<!doctype html><html><body style=\"font-family:sans-serif\">");
    for (event, reason) in items {
        let kind = event_type_label(event.event_type, lang);
        let when = date_text(event.occurred_on, event.time_precision, lang);
        let place = place_text(event);
        let why = reason_text(reason, lang);
        let url = links.event(&event.id);
        text.push_str(&format!(
            "{}\n\n{}: {kind}\n{}: {when}\n{}: {place}\n{}: {why}\n{}: {url}\n\n",
            event.title, l.what, l.when, l.place, l.why, l.more
        ));
        html.push_str(&format!(
            "<h2>{}</h2><p><b>{}:</b> {}<br><b>{}:</b> {}<br><b>{}:</b> {}<br><b>{}:</b> {}</p>\
             <p><a href=\"{}\">{}</a></p><hr>",
            esc(&event.title),
            l.what,
            esc(kind),
            l.when,
            esc(&when),
            l.place,
            esc(&place),
            l.why,
            esc(&why),
            esc(&url),
            l.more
        ));
    }
    text.push_str(&format!("-- \n{} {unsubscribe}\n", l.stop));
    html.push_str(&format!(
        "<p style=\"font-size:small\">{} <a href=\"{}\">{}</a></p></body></html>",
        l.stop,
        esc(&unsubscribe),
        esc(&unsubscribe)
    ));
    Draft {
        to: to.into(),
        subject,
        text,
        html,
        message_id,
        unsubscribe: Some(unsubscribe),
    }
}

/// The double opt-in mail.
pub fn confirmation(
    lang: Language,
    to: &str,
    what: &str,
    confirm_url: &str,
    message_id: String,
) -> Draft {
    let (subject, intro, action, ignore) = match lang {
        Language::Es => (
            "[Vigía] Confirme su alerta",
            "Alguien (esperamos que usted) pidió alertas de Vigía a esta dirección para:",
            "Para activarlas, abra este enlace y pulse «Confirmar»:",
            "Si no fue usted, ignore este mensaje: no recibirá nada más.",
        ),
        Language::En => (
            "[Vigía] Confirm your alert",
            "Someone (we hope you) asked for Vigía alerts at this address for:",
            "To turn them on, open this link and press Confirm:",
            "If it was not you, ignore this message: you will get nothing more.",
        ),
    };
    let text = format!("{intro}\n\n  {what}\n\n{action}\n{confirm_url}\n\n{ignore}\n");
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{intro}</p>\
         <p><b>{}</b></p><p>{action}<br><a href=\"{}\">{}</a></p><p>{ignore}</p></body></html>",
        esc(what),
        esc(confirm_url),
        esc(confirm_url)
    );
    Draft {
        to: to.into(),
        subject: subject.into(),
        text,
        html,
        message_id,
        unsubscribe: None,
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
    fn dates_keep_their_precision() {
        let d = NaiveDate::from_ymd_opt(2022, 5, 1).expect("date");
        assert_eq!(
            date_text(d, TimePrecision::Month, Language::Es),
            "mayo de 2022"
        );
        assert_eq!(date_text(d, TimePrecision::Month, Language::En), "May 2022");
        assert_eq!(
            date_text(d, TimePrecision::Day, Language::Es),
            "1 de mayo de 2022"
        );
        assert_eq!(date_text(d, TimePrecision::Year, Language::En), "2022");
    }
}
