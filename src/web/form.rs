//! Reading the forms pages post (`application/x-www-form-urlencoded`),
//! and showing their errors next to their fields.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use actix_web::web::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};
use crate::i18n::{field_message, Texts};

/// A form body as `T`; repeated names fill a `Vec`. Its size is bounded by
/// `server.max_body_bytes` like any body.
pub fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    serde_html_form::from_bytes(body)
        .map_err(|e| AppError::BadRequest(format!("this form could not be read: {e}")))
}

/// The messages of a refused form, by field, in the page's language.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    by_field: BTreeMap<String, Vec<String>>,
}

impl Errors {
    pub fn new(errors: &[FieldError], t: &Texts) -> Self {
        let mut by_field: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in errors {
            by_field
                .entry(e.field.clone())
                .or_default()
                .push(field_message(e, t));
        }
        Errors { by_field }
    }

    pub fn one(field: &str, message: &str) -> Self {
        let mut errors = Errors::default();
        errors
            .by_field
            .insert(field.to_string(), vec![message.to_string()]);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }

    /// The messages of one field, joined (empty when it is fine).
    pub fn of(&self, field: &str) -> String {
        self.by_field
            .get(field)
            .map(|m| m.join(" "))
            .unwrap_or_default()
    }

    pub fn has(&self, field: &str) -> bool {
        self.by_field.contains_key(field)
    }

    /// The messages of a field of a list's item (`sources[2].url`).
    pub fn of_at(&self, list: &str, index: impl Borrow<usize>, field: &str) -> String {
        self.of(&format!("{list}[{}].{field}", index.borrow()))
    }

    pub fn has_at(&self, list: &str, index: impl Borrow<usize>, field: &str) -> bool {
        self.has(&format!("{list}[{}].{field}", index.borrow()))
    }

    /// The messages of a field and everything under it (`location` also
    /// shows `location.lat`'s, for fields the form shows as one).
    pub fn under(&self, prefix: &str) -> String {
        self.by_field
            .iter()
            .filter(|(f, _)| {
                f.as_str() == prefix
                    || f.starts_with(&format!("{prefix}."))
                    || f.starts_with(&format!("{prefix}["))
            })
            .flat_map(|(_, m)| m.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}
