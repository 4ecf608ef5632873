//! Request plumbing shared by every module: JSON bodies and query strings
//! parsed into problem+json errors, and the ETag / If-Match rules.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// A JSON request body. Malformed JSON is 400, a wrong content type 415, a
/// body over `server.max_body_bytes` 413, and a well-formed body of the wrong
/// shape (unknown field, wrong type) 422 naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json_content_type(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(AppError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ));
            }
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    AppError::PayloadTooLarge(
                        "the request body is larger than server.max_body_bytes".into(),
                    )
                } else {
                    AppError::BadRequest(format!("cannot read the request body: {e}"))
                }
            })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let malformed = |e: serde_json::Error| AppError::BadRequest(format!("malformed JSON: {e}"));
    // PostgreSQL text cannot hold U+0000; refusing it here keeps both
    // databases alike and turns what would be a 500 into a named 422. JSON
    // can only carry it escaped, so the slow search runs only when the
    // escape appears in the raw bytes.
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed)?;
        if let Some(path) = find_nul(&value, String::new()) {
            return Err(AppError::Validation(vec![FieldError::new(
                path,
                "must not contain the NUL character (U+0000)",
            )]));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end().map_err(malformed)?;
            Ok(value)
        }
        Err(err) if err.inner().classify() == serde_json::error::Category::Data => {
            Err(shape_error(err.path().to_string(), err.into_inner()))
        }
        Err(err) => Err(malformed(err.into_inner())),
    }
}

fn shape_error(path: String, error: serde_json::Error) -> AppError {
    let field = if path == "." { String::new() } else { path };
    let mut message = error.to_string();
    // serde_json appends " at line 1 column 42"; the field path says more.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    AppError::Validation(vec![FieldError::new(field, message)])
}

/// Deserialises a JSON value into `T`; a wrong shape is 422 naming the field.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(value) => Ok(value),
        Err(err) => Err(shape_error(err.path().to_string(), err.into_inner())),
    }
}

fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(join(k))
            } else {
                find_nul(v, join(k))
            }
        }),
        _ => None,
    }
}

/// A query string parsed into `T`; repeated keys fill a `Vec`, unknown keys
/// and malformed values are 400.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(QueryParams))
    }
}

/// The longest value of a query parameter a person types (`q`, names, ids).
pub const MAX_QUERY_PARAM_CHARS: usize = 200;
/// The longest cursor or mail-link token Vigía hands out, with room to spare.
const MAX_OPAQUE_PARAM_CHARS: usize = 1000;

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let bad =
        |e: &dyn std::fmt::Display| AppError::BadRequest(format!("invalid query parameter: {e}"));
    // `?to=` would otherwise read as "no filter": say it is wrong instead.
    let pairs: Vec<(String, String)> = serde_html_form::from_str(query).map_err(|e| bad(&e))?;
    if let Some((name, _)) = pairs.iter().find(|(_, value)| value.is_empty()) {
        return Err(bad(&format!("{name} has no value")));
    }
    // Text filters become LIKE patterns and search terms: an unbounded one
    // made SQLite fail ("pattern too complex") and costs every backend. No
    // filter a person types is longer; cursors and mail tokens are ours.
    for (name, value) in &pairs {
        let limit = match name.as_str() {
            "cursor" | "token" => MAX_OPAQUE_PARAM_CHARS,
            _ => MAX_QUERY_PARAM_CHARS,
        };
        if value.chars().count() > limit {
            return Err(bad(&format!("{name} is longer than {limit} characters")));
        }
    }
    serde_html_form::from_str(query).map_err(|e| bad(&e))
}

/// Applies a JSON Merge Patch (RFC 7396): objects merge key by key, `null`
/// removes a key, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(entries) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(map) = target {
                for (key, value) in entries {
                    if value.is_null() {
                        map.remove(&key);
                    } else {
                        merge_patch(map.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// The address people reach this server at (`server.public_base_url`),
/// for links in what Vigía writes (exports, mails).
#[derive(Debug, Clone)]
pub struct PublicBase(pub String);

/// The strong ETag of a versioned entity.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// What an `If-Match` header asks for.
#[derive(Debug, PartialEq)]
pub enum IfMatch {
    Absent,
    Any,
    Versions(Vec<i64>),
}

impl IfMatch {
    pub fn from_request(req: &HttpRequest) -> Self {
        let values: Vec<&str> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            return IfMatch::Absent;
        }
        let mut versions = Vec::new();
        for tag in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            if tag == "*" {
                return IfMatch::Any;
            }
            // Weak tags never match (RFC 9110 strong comparison). A bare
            // number is accepted because people type it by hand with curl.
            if let Ok(n) = tag.trim_matches('"').parse::<i64>() {
                if !tag.starts_with("W/") {
                    versions.push(n);
                }
            }
        }
        IfMatch::Versions(versions)
    }

    /// Fails with 428 without the header (a change made blind would
    /// silently overwrite someone else's) and with 412 when it names a
    /// version other than `current`. `*` is the deliberate "whatever is there".
    pub fn check(&self, current: i64) -> Result<(), AppError> {
        match self {
            IfMatch::Absent => Err(AppError::PreconditionRequired(
                "send If-Match with the ETag you read, or If-Match: * to change whatever is current"
                    .into(),
            )),
            IfMatch::Any => Ok(()),
            IfMatch::Versions(v) if v.contains(&current) => Ok(()),
            IfMatch::Versions(_) => Err(AppError::PreconditionFailed(format!(
                "If-Match does not match the current version {}; fetch it again and retry",
                etag(current)
            ))),
        }
    }
}

/// A path id as stored (lower-case hyphenated UUID). A malformed id names no
/// record, so it is 404 like any other unknown id.
pub fn parse_id(raw: &str, what: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound(format!("no {what} with id {raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn merge_patch_replaces_removes_and_nests() {
        let mut doc = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(
            &mut doc,
            serde_json::json!({"a": null, "b": {"c": 5}, "e": [1]}),
        );
        assert_eq!(doc, serde_json::json!({"b": {"c": 5, "d": 3}, "e": [1]}));
    }

    #[test]
    fn if_match_forms() {
        let r = TestRequest::default()
            .insert_header(("If-Match", "\"3\""))
            .to_http_request();
        assert_eq!(IfMatch::from_request(&r), IfMatch::Versions(vec![3]));
        assert!(IfMatch::from_request(&r).check(3).is_ok());
        assert!(IfMatch::from_request(&r).check(4).is_err());
        let r = TestRequest::default()
            .insert_header(("If-Match", "W/\"3\""))
            .to_http_request();
        assert!(IfMatch::from_request(&r).check(3).is_err());
        let r = TestRequest::default()
            .insert_header(("If-Match", "*"))
            .to_http_request();
        assert_eq!(IfMatch::from_request(&r), IfMatch::Any);
        let r = TestRequest::default().to_http_request();
        assert_eq!(IfMatch::from_request(&r), IfMatch::Absent);
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        a: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        b: i32,
    }

    #[test]
    fn json_errors_are_classified() {
        assert!(matches!(
            parse_json::<Sample>(b"{"),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Sample>(b"{\"a\":{\"b\":1}} x"),
            Err(AppError::BadRequest(_))
        ));
        match parse_json::<Sample>(b"{\"a\":{\"b\":\"x\"}}") {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "a.b"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(matches!(
            parse_json::<Sample>(b"{\"a\":{\"b\":1},\"c\":2}"),
            Err(AppError::Validation(_))
        ));
    }
}

/// A `multipart/form-data` body as read: its files and its short text
/// fields, in the order sent.
#[derive(Debug, Default)]
pub struct FormData {
    /// (field name, the file name the client gave, bytes).
    pub files: Vec<(String, Option<String>, Vec<u8>)>,
    pub fields: Vec<(String, String)>,
}

impl FormData {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Most text fields a multipart body may carry, and their size each.
const MAX_FORM_FIELDS: usize = 32;
const MAX_FORM_FIELD_BYTES: usize = 64 * 1024;

/// Reads a `multipart/form-data` body with at most `max_files` files of at
/// most `max_file_bytes` each: 415 for another content type, 413 as soon as
/// a file (or the declared length) is too large, 400 for a malformed body.
/// A file part with neither name nor bytes (a form's empty file input) is
/// skipped.
pub async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    max_file_bytes: u64,
    max_files: usize,
    too_large: impl Fn() -> AppError,
) -> Result<FormData, AppError> {
    use futures_util::StreamExt;

    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(AppError::UnsupportedMediaType(
            "send the file as multipart/form-data, in a part named \"file\"".into(),
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let allowance = max_file_bytes
        .saturating_mul(max_files as u64)
        .saturating_add(1024 * 1024);
    if declared.is_some_and(|n| n > allowance) {
        return Err(too_large());
    }
    let malformed = |e: actix_multipart::MultipartError| {
        AppError::BadRequest(format!("the upload could not be read: {e}"))
    };
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut form = FormData::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or("").to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let is_file = filename.is_some();
        let limit = if is_file {
            usize::try_from(max_file_bytes).unwrap_or(usize::MAX)
        } else {
            MAX_FORM_FIELD_BYTES
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if bytes.len() + chunk.len() > limit {
                return Err(if is_file {
                    too_large()
                } else {
                    AppError::PayloadTooLarge(format!(
                        "the form field {name:?} is larger than {MAX_FORM_FIELD_BYTES} bytes"
                    ))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            if bytes.is_empty() && filename.as_deref().unwrap_or("").is_empty() {
                continue;
            }
            if form.files.len() == max_files {
                return Err(AppError::BadRequest(format!(
                    "send at most {max_files} file(s) at once"
                )));
            }
            form.files.push((name, filename, bytes));
        } else {
            if form.fields.len() == MAX_FORM_FIELDS {
                return Err(AppError::BadRequest("the form has too many fields".into()));
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                AppError::BadRequest(format!("the form field {name:?} is not UTF-8 text"))
            })?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}
