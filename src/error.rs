//! The one error type of Vigía and its RFC 9457 `application/problem+json` form.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One rule that one input field broke.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `location.lat` or `sources[1].url`.
    pub field: String,
    pub message: String,
    /// The rule broken, stable for programs (`required`, `length`, `range`,
    /// `url`, `date`, `future`…); `invalid` where no finer code applies.
    /// The web pages translate by it.
    #[schema(example = "length")]
    pub code: String,
    /// The rule's bounds where it has them (`min`, `max`), for the pages'
    /// translated messages; not part of the API's answer.
    #[serde(skip)]
    pub params: Vec<(String, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::coded(field, "invalid", message)
    }

    pub fn coded(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            code: code.into(),
            params: Vec::new(),
        }
    }
}

/// The cause kept under an internal error: any error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    /// A change of a versioned record sent without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Asked again too soon; the number is the seconds to wait.
    #[error("{0}")]
    TooManyRequests(String, u64),
    #[error("the request has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// A dependency (the database) is away. `detail` is shown to the
    /// client; `source`, if any, goes to the log.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        #[source]
        source: Option<BoxError>,
    },
    /// A fault of Vigía or of its data. The client sees a generic message;
    /// `context` and the whole `source` chain go to the log.
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl AppError {
    /// An internal error with no underlying cause.
    pub fn internal(context: impl Into<String>) -> Self {
        AppError::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An internal error caused by `source`, which is kept (not flattened).
    pub fn internal_from(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        AppError::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A 503 whose `detail` the client sees, caused by `source`.
    pub fn unavailable(detail: impl Into<String>, source: impl Into<BoxError>) -> Self {
        AppError::Unavailable {
            detail: detail.into(),
            source: Some(source.into()),
        }
    }

    /// The messages of the causes under this error, outermost first.
    pub fn causes(&self) -> Vec<String> {
        let mut causes = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }
        causes
    }

    /// The error and every cause under it on one line (`a: b: c`), for the
    /// command line and logs outside a request.
    pub fn report(&self) -> String {
        let mut line = self.to_string();
        for cause in self.causes() {
            // A message that already quotes its cause (`database pool: …`)
            // does not repeat it.
            if !line.ends_with(&cause) {
                line.push_str(": ");
                line.push_str(&cause);
            }
        }
        line
    }
}

/// The problem document (RFC 9457) every 4xx and 5xx answer carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "/problems/not-found")]
    pub problem_type: String,
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    #[schema(example = "no event with id 6f1c…")]
    pub detail: String,
    /// Present on 422 answers: every invalid field at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl AppError {
    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::Conflict(_) => "conflict",
            AppError::PreconditionFailed(_) => "precondition-failed",
            AppError::PreconditionRequired(_) => "precondition-required",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Validation(_) => "validation",
            AppError::TooManyRequests(..) => "too-many-requests",
            AppError::Unavailable { .. } => "unavailable",
            AppError::Internal { .. } => "internal",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            // The cause goes to the log, never to the client.
            AppError::Internal { .. } => {
                "an unexpected error occurred; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        Problem {
            problem_type: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(
            self,
            AppError::Internal { .. } | AppError::Unavailable { .. }
        ) {
            // The whole chain, once: each `source()` level in order.
            tracing::error!(error = %self, causes = ?self.causes(), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if matches!(self, AppError::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let AppError::TooManyRequests(_, seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound("not found".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::Conflict(format!("already exists: {}", info.message()))
            }
            other => AppError::internal_from("database", other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::unavailable(format!("database pool: {e}"), e)
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::internal_from("json", e)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write the row")]
    struct Outer(#[source] std::io::Error);

    fn failing() -> AppError {
        AppError::internal_from(
            "saving event 42",
            Outer(std::io::Error::other("disk on fire")),
        )
    }

    #[test]
    fn internal_errors_keep_their_cause_chain() {
        let e = failing();
        assert_eq!(e.to_string(), "saving event 42");
        assert_eq!(e.causes(), ["cannot write the row", "disk on fire"]);
        assert_eq!(
            e.report(),
            "saving event 42: cannot write the row: disk on fire"
        );
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        // The client never sees the cause.
        assert_eq!(
            e.problem().detail,
            "an unexpected error occurred; it has been logged"
        );
    }

    #[test]
    fn library_errors_are_kept_as_sources() {
        let e = AppError::from(diesel::result::Error::BrokenTransactionManager);
        assert!(matches!(e, AppError::Internal { .. }));
        assert_eq!(e.to_string(), "database");
        assert_eq!(
            e.causes(),
            [diesel::result::Error::BrokenTransactionManager.to_string()]
        );
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = AppError::from(json);
        assert_eq!(e.causes().len(), 1);
        assert!(matches!(
            AppError::from(diesel::result::Error::NotFound),
            AppError::NotFound(_)
        ));
        let e = AppError::unavailable("database pool: timed out", "timed out");
        assert_eq!(e.problem().detail, "database pool: timed out");
        assert_eq!(e.report(), "database pool: timed out");
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_response_logs_every_level_of_the_chain_once() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let response = tracing::subscriber::with_default(subscriber, || failing().error_response());
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        for level in ["saving event 42", "cannot write the row", "disk on fire"] {
            assert!(log.contains(level), "{level} missing from {log}");
        }
    }
}
