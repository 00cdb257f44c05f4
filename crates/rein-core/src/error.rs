//! The one error type of rein, and what each failure carries.
//!
//! Every failure a caller can meet is a variant of [`Error`]: the server said no ([`ApiError`]),
//! the call gave up waiting on a rate limit ([`RateLimited`]), the bytes never made it
//! ([`TransportFailure`]), the request was invalid before anything was sent
//! ([`ValidationError`]), a success body could not be read ([`DecodeError`]), or time ran out.
//! Each says what happened for the developer (`Display`, the fields) and, through
//! [`Error::user_message`], something safe to show an end user.

use std::fmt;
use std::time::Duration;

use crate::api::{Api, Endpoint};
use crate::hint::Hint;
use crate::time::Human;

/// Any failure of a rein call.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A rate limit asked for a wait longer than the policy allows, or ending past the deadline;
    /// the call failed at once instead of sleeping.
    #[error(transparent)]
    RateLimited(Box<RateLimited>),
    /// The request or its response was lost in transport.
    #[error(transparent)]
    Transport(Box<TransportFailure>),
    /// The request was refused before anything was sent.
    #[error(transparent)]
    Invalid(Box<ValidationError>),
    /// A success response whose body could not be read.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// The call's deadline passed before it could finish.
    #[error(transparent)]
    Deadline(Box<DeadlineExceeded>),
    /// A resource being waited on reached `failed` (failed resources do not recover).
    #[error(transparent)]
    ResourceFailed(Box<ResourceFailed>),
    /// A wait ran out of time before the resource was ready or failed.
    #[error(transparent)]
    WaitTimedOut(Box<WaitTimedOut>),
    /// The caller cancelled the call; nothing more was sent.
    #[error("cancelled")]
    Cancelled,
    /// The client is misconfigured (a missing key, a bad base URL).
    #[error("invalid client configuration: {}: {}; fix: {}", .0.field, .0.problem, .0.hint.fix)]
    Config(Box<ValidationError>),
    /// A multipart upload stopped before its asset was made: why, and the session to resume.
    #[error(transparent)]
    Upload(Box<UploadInterrupted>),
}

impl Error {
    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|e| e.status).or(match self {
            Error::Decode(d) => Some(d.status),
            _ => None,
        })
    }

    /// The server's error behind this error, if there was one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::RateLimited(r) => r.response.as_deref(),
            Error::Deadline(d) => d.last_error.as_deref().and_then(Error::api_error),
            Error::WaitTimedOut(w) => w.last_error.as_deref().and_then(Error::api_error),
            Error::Upload(u) => u.cause.api_error(),
            _ => None,
        }
    }

    /// Whether the failure was a rate limit (a 429 given up on, or a wait too long to sleep).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited(_))
            || self.api_error().is_some_and(|e| e.kind == ErrorKind::RateLimited)
    }

    /// How long the server asked to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited(r) => Some(r.wait),
            Error::Upload(u) => u.cause.retry_after(),
            _ => self.api_error().and_then(|e| e.retry_after),
        }
    }

    /// Whether the operation may have taken effect even though the call failed (a create whose
    /// response was lost). Check before creating again.
    pub fn may_have_succeeded(&self) -> bool {
        match self {
            Error::Api(e) => e.may_have_succeeded,
            Error::RateLimited(r) => r.may_have_succeeded,
            Error::Transport(t) => t.may_have_succeeded,
            Error::Decode(d) => d.may_have_succeeded,
            Error::Deadline(d) => {
                d.may_have_succeeded
                    || d.last_error.as_deref().is_some_and(Error::may_have_succeeded)
            }
            Error::Upload(u) => u.cause.may_have_succeeded(),
            _ => false,
        }
    }

    /// Records that the operation may have taken effect (an earlier attempt's answer was lost),
    /// so the error the caller gets says so whatever its last attempt met.
    pub(crate) fn mark_may_have_succeeded(&mut self) {
        match self {
            Error::Api(e) => e.may_have_succeeded = true,
            Error::RateLimited(r) => r.may_have_succeeded = true,
            Error::Transport(t) => t.may_have_succeeded = true,
            Error::Decode(d) => d.may_have_succeeded = true,
            Error::Deadline(d) => d.may_have_succeeded = true,
            _ => {}
        }
    }

    /// The fix hint from the references' cause/fix tables, when one applies.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            Error::Invalid(v) | Error::Config(v) => Some(v.hint),
            Error::RateLimited(r) => r.response.as_ref().and_then(|e| e.hint),
            Error::Transport(t) if t.error.kind == TransportErrorKind::Connect => {
                Some(crate::hint::rows::UNREACHABLE)
            }
            Error::Upload(u) => Some(u.hint()),
            _ => self.api_error().and_then(|e| e.hint),
        }
    }

    /// A message safe to show end users: it never contains raw server text, ids or keys.
    pub fn user_message(&self) -> &'static str {
        match self {
            Error::Api(e) => e.user_message(),
            Error::RateLimited(_) => "The service is busy. Please try again in a minute.",
            Error::Transport(t) if t.may_have_succeeded => {
                "The connection was lost before the service confirmed the request; it may have gone through."
            }
            Error::Transport(_) => "The service could not be reached. Please try again later.",
            Error::Invalid(_) => "The request is not valid.",
            Error::Decode(_) => "The service sent a response that could not be read.",
            Error::Deadline(_) => "The request took too long. Please try again later.",
            Error::ResourceFailed(_) => "The item could not be processed.",
            Error::WaitTimedOut(_) => "Processing is taking longer than expected. Please check back later.",
            Error::Cancelled => "The request was cancelled.",
            Error::Config(_) => "The service is not configured correctly.",
            Error::Upload(u) => match &u.cause {
                Error::Cancelled => "The upload was cancelled; it can be resumed.",
                _ => "The upload stopped before it was complete; it can be resumed.",
            },
        }
    }
}

/// A multipart upload that stopped before its asset was made. Nothing uploaded is lost: the
/// session keeps the chunks reported (`chunks_done` of `chunks`) for 24 hours, and
/// `resume_upload(upload_id, path)` sends the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadInterrupted {
    /// The session: resume it with `resume_upload`.
    pub upload_id: String,
    /// The asset the upload is to make, once known.
    pub asset_id: Option<crate::jockey::AssetId>,
    /// Chunks the session has.
    pub chunks_done: u32,
    /// Chunks in all.
    pub chunks: u32,
    /// Why it stopped.
    pub cause: Error,
}

impl UploadInterrupted {
    /// The fix: the cause's own when it names one, or resuming.
    pub fn hint(&self) -> Hint {
        match &self.cause {
            // The storage refused a chunk's URL again and again: its own hint would speak of API
            // keys and permissions, which are not what is wrong.
            Error::Api(e) if matches!(e.status, 401 | 403) => crate::hint::Hint::new(
                "The storage refused a chunk's presigned URL",
                "Resume the upload: it asks for fresh URLs",
            ),
            cause => cause.hint().unwrap_or(RESUME_UPLOAD_HINT),
        }
    }
}

/// rein: an upload that stopped midway.
pub const RESUME_UPLOAD_HINT: Hint = Hint::new(
    "An upload that stopped midway",
    "Resume it with resume_upload and its upload_id within 24 hours",
);

impl fmt::Display for UploadInterrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the upload stopped after {} of {} chunks: {}; resume it with resume_upload({:?}, path) \
             within 24 h",
            self.chunks_done, self.chunks, self.cause, self.upload_id
        )
    }
}

impl std::error::Error for UploadInterrupted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Error::Invalid(Box::new(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}

/// What an error status means, from the status alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: the request is malformed or misses a required field.
    BadRequest,
    /// 401: the API key is missing or invalid.
    Unauthorized,
    /// 403: the key lacks permission (jack: the key was revoked).
    Forbidden,
    /// 404: no such resource.
    NotFound,
    /// 408: the server timed out waiting for the request.
    RequestTimeout,
    /// 409: the request conflicts with the resource's state.
    Conflict,
    /// 410: the resource is gone (Jockey: an expired page token).
    Gone,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 415: the file format is not supported.
    UnsupportedMediaType,
    /// 422: field validation failed.
    UnprocessableEntity,
    /// 429: rate limited.
    RateLimited,
    /// Any 5xx.
    ServerError,
    /// Any other status.
    Other,
}

impl ErrorKind {
    /// The kind of an error status.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::RequestTimeout,
            409 => ErrorKind::Conflict,
            410 => ErrorKind::Gone,
            413 => ErrorKind::PayloadTooLarge,
            415 => ErrorKind::UnsupportedMediaType,
            422 => ErrorKind::UnprocessableEntity,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::Other,
        }
    }
}

/// How the body of an error response was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyShape {
    /// No body at all.
    Empty,
    /// JSON in the API's own error dialect.
    Dialect,
    /// Well-formed JSON of some other shape.
    OtherJson,
    /// JSON cut short or otherwise malformed.
    MalformedJson,
    /// An HTML page (typically a proxy's or load balancer's error page).
    Html,
    /// Plain text.
    Text,
    /// Bytes that are not UTF-8 text.
    Binary,
}

/// An error response from either API.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// Which API answered.
    pub api: Api,
    /// The HTTP status.
    pub status: u16,
    /// What the status means.
    pub kind: ErrorKind,
    /// Jockey's machine-readable `code` (e.g. `invalid_request`).
    pub code: Option<String>,
    /// Jockey's `message`.
    pub message: Option<String>,
    /// Jockey's `docs_url`.
    pub docs_url: Option<String>,
    /// jack's `detail` (a validation list is flattened to `loc: msg` lines joined by `; `).
    pub detail: Option<String>,
    /// The request id from `x-request-id` or `request-id`, for support tickets.
    pub request_id: Option<String>,
    /// How long the server asked to wait (`Retry-After` or `retry-after-ms`).
    pub retry_after: Option<Duration>,
    /// How many attempts the call made, this one included.
    pub attempts: u32,
    /// The endpoint called, when known.
    pub endpoint: Option<Endpoint>,
    /// The references' fix for this error, when one applies.
    pub hint: Option<Hint>,
    /// How the body was read.
    pub body_shape: BodyShape,
    /// The start of the body when it was not in the API's dialect (bounded: a few KiB at most).
    pub excerpt: Option<String>,
    /// The body's full length in bytes.
    pub body_len: usize,
    /// Whether the operation may have taken effect: a request that is not idempotent got a
    /// 5xx (a server error can come after the work was done), or an earlier attempt's answer
    /// was lost or was such an error.
    pub may_have_succeeded: bool,
}

impl ApiError {
    /// The server's own words, whichever field carried them.
    pub fn server_text(&self) -> Option<&str> {
        self.message.as_deref().or(self.detail.as_deref())
    }

    /// A message safe to show end users: chosen by kind, never the server's raw text
    /// (jack asks that its messages never reach end users).
    pub fn user_message(&self) -> &'static str {
        match self.kind {
            ErrorKind::BadRequest | ErrorKind::UnprocessableEntity => {
                "The request could not be processed. Please check the input and try again."
            }
            ErrorKind::Unauthorized | ErrorKind::Forbidden => {
                "The service could not authorise this request."
            }
            ErrorKind::NotFound | ErrorKind::Gone => "The requested item could not be found.",
            ErrorKind::Conflict => "The item is in use and cannot be changed right now.",
            ErrorKind::PayloadTooLarge => "The file is too large.",
            ErrorKind::UnsupportedMediaType => "This file format is not supported.",
            ErrorKind::RateLimited => "The service is busy. Please try again in a minute.",
            ErrorKind::RequestTimeout | ErrorKind::ServerError => {
                "The service is temporarily unavailable. Please try again later."
            }
            ErrorKind::Other => "Something went wrong. Please try again later.",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} returned {}", self.api, self.status)?;
        if let Some(endpoint) = self.endpoint {
            write!(f, " for {endpoint}")?;
        }
        match (&self.code, self.server_text()) {
            (Some(code), Some(text)) => write!(f, ": {code}: {text}")?,
            (Some(code), None) => write!(f, ": {code}")?,
            (None, Some(text)) => write!(f, ": {text}")?,
            (None, None) => match &self.excerpt {
                Some(ex) => write!(f, ": {:?} body: {:?}", self.body_shape, ex)?,
                None => write!(f, " with an empty body")?,
            },
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; fix: {}", hint.fix)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if self.may_have_succeeded {
            write!(f, "; the operation may have succeeded: check before repeating it")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Why a rate-limited call failed instead of waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitRefused {
    /// The wait is longer than the policy's cap on a single wait.
    ExceedsCap {
        /// The cap.
        cap: Duration,
    },
    /// The wait would end after the call's deadline.
    PastDeadline,
    /// The client's shared limiter is paused for longer than the call may wait.
    LimiterPaused,
}

/// A rate limit the call chose not to sleep through.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RateLimited {
    /// Which API limited the call.
    pub api: Api,
    /// The endpoint called, when known.
    pub endpoint: Option<Endpoint>,
    /// How long the call would have had to wait.
    pub wait: Duration,
    /// Why it did not.
    pub refused: WaitRefused,
    /// Attempts made.
    pub attempts: u32,
    /// The 429 (or other) response that asked for the wait, when there was one.
    pub response: Option<Box<ApiError>>,
    /// Whether an earlier attempt may have taken effect (its answer was lost, or was a 5xx).
    pub may_have_succeeded: bool,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rate limit: asked to wait {}", self.api, Human(self.wait))?;
        if let Some(endpoint) = self.endpoint {
            write!(f, " before {endpoint}")?;
        }
        match self.refused {
            WaitRefused::ExceedsCap { cap } => write!(f, ", more than the {} cap", Human(cap)),
            WaitRefused::PastDeadline => write!(f, ", past the call's deadline"),
            WaitRefused::LimiterPaused => write!(f, ", longer than the call may wait"),
        }?;
        if self.may_have_succeeded {
            write!(f, "; an earlier attempt may have succeeded: check before repeating it")?;
        }
        Ok(())
    }
}

impl std::error::Error for RateLimited {}

/// What went wrong in transport, as an adapter reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (DNS, refused, TLS handshake).
    Connect,
    /// No response in time.
    Timeout,
    /// The connection broke.
    Reset,
    /// The response body was larger than the configured cap.
    BodyTooLarge,
    /// A local file to upload could not be read, or changed size.
    File,
    /// The call was cancelled by the caller.
    Cancelled,
    /// Anything else.
    Other,
}

/// A transport's report of a failed exchange: what failed and whether the request may have
/// reached the server. The core decides from this whether a retry is safe.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}{}: {message}", if *.sent { " after the request was sent" } else { "" })]
pub struct TransportError {
    /// What failed.
    pub kind: TransportErrorKind,
    /// Whether any of the request may have reached the server. `false` only when it surely did not.
    pub sent: bool,
    /// The underlying error, for humans.
    pub message: String,
}

impl TransportError {
    /// A failure before any byte of the request was sent (connect, DNS, TLS).
    pub fn not_sent(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError { kind, sent: false, message: message.into() }
    }

    /// A failure after the request may have reached the server.
    pub fn after_send(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError { kind, sent: true, message: message.into() }
    }
}

/// A call that failed in transport.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportFailure {
    /// The endpoint called, when known.
    pub endpoint: Option<Endpoint>,
    /// The last transport error.
    pub error: TransportError,
    /// Attempts made.
    pub attempts: u32,
    /// Whether the operation may have taken effect: a non-idempotent request was sent and its
    /// response lost. Look before creating again.
    pub may_have_succeeded: bool,
}

impl TransportFailure {
    /// A transport failure of `endpoint` after `attempts` attempts.
    pub fn new(
        endpoint: Option<Endpoint>,
        error: TransportError,
        attempts: u32,
        may_have_succeeded: bool,
    ) -> Self {
        TransportFailure { endpoint, error, attempts, may_have_succeeded }
    }
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transport failure")?;
        if let Some(endpoint) = self.endpoint {
            write!(f, " on {endpoint}")?;
        }
        write!(f, ": {}", self.error)?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        if self.may_have_succeeded {
            write!(f, "; the operation may have succeeded: check before repeating it")?;
        }
        if self.error.kind == TransportErrorKind::Connect {
            write!(f, "; fix: {}", crate::hint::rows::UNREACHABLE.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportFailure {}

/// A request refused before it was sent, with every problem the checks found.
///
/// `field`, `problem` and `hint` are the first problem; [`others`](ValidationError::others)
/// holds the rest, in the order found, so one round of fixes can clear them all.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationError {
    /// The offending field, as the API names it (`name`, `documents[3].metadata.lang`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// The fix (a row of the references' tables as [`Hint::pre_flight`] shows it, or rein's).
    pub hint: Hint,
    /// Every problem found after the first.
    pub others: Vec<Problem>,
}

/// One problem of a request refused before it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The offending field, as the API names it.
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// The fix.
    pub hint: Hint,
}

impl Problem {
    /// A problem of `field`. A status row's hint is kept without its HTTP status
    /// ([`Hint::pre_flight`]): nothing was sent, so no status applies.
    pub fn new(field: impl Into<String>, problem: impl Into<String>, hint: Hint) -> Self {
        Problem { field: field.into(), problem: problem.into(), hint: hint.pre_flight() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.problem, self.hint.fix)
    }
}

impl ValidationError {
    /// A validation failure of `field`, with one problem. A status row's hint is kept without
    /// its HTTP status ([`Hint::pre_flight`]): nothing was sent, so no status applies.
    pub fn new(field: impl Into<String>, problem: impl Into<String>, hint: Hint) -> Self {
        ValidationError::from(Problem::new(field, problem, hint))
    }

    /// `Ok` when `problems` is empty; otherwise one error carrying them all, in order.
    pub fn check(problems: Vec<Problem>) -> Result<(), ValidationError> {
        let mut problems = problems.into_iter();
        match problems.next() {
            None => Ok(()),
            Some(first) => {
                Err(ValidationError { others: problems.collect(), ..ValidationError::from(first) })
            }
        }
    }

    /// How many problems were found (at least one).
    pub fn count(&self) -> usize {
        1 + self.others.len()
    }

    /// Every problem, the first included, in the order found.
    pub fn into_problems(self) -> Vec<Problem> {
        let first = Problem { field: self.field, problem: self.problem, hint: self.hint };
        std::iter::once(first).chain(self.others).collect()
    }
}

impl From<Problem> for ValidationError {
    fn from(p: Problem) -> Self {
        ValidationError { field: p.field, problem: p.problem, hint: p.hint, others: Vec::new() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.others.is_empty() {
            return write!(
                f,
                "invalid request: {}: {}; fix: {}",
                self.field, self.problem, self.hint.fix
            );
        }
        write!(
            f,
            "invalid request: {} problems: {}: {} (fix: {})",
            self.count(),
            self.field,
            self.problem,
            self.hint.fix
        )?;
        for other in &self.others {
            write!(f, "; {other}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// A success response whose body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// The endpoint called, when known.
    pub endpoint: Option<Endpoint>,
    /// The (2xx) status.
    pub status: u16,
    /// What the decoder said.
    pub reason: String,
    /// The start of the body (bounded).
    pub excerpt: String,
    /// The body's full length.
    pub body_len: usize,
    /// Whether a non-idempotent operation may have taken effect (its success body was unreadable).
    pub may_have_succeeded: bool,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not decode the {} response", self.status)?;
        if let Some(endpoint) = self.endpoint {
            write!(f, " of {endpoint}")?;
        }
        write!(f, ": {}", self.reason)?;
        if self.body_len > 0 {
            write!(f, " (body of {} bytes: {:?})", self.body_len, self.excerpt)?;
        }
        if self.may_have_succeeded {
            write!(f, "; the operation may have succeeded: check before repeating it")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// A call whose deadline passed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeadlineExceeded {
    /// The endpoint called, when known.
    pub endpoint: Option<Endpoint>,
    /// Time from the call's start to its end.
    pub elapsed: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// The failure that would have been retried, had there been time.
    pub last_error: Option<Box<Error>>,
    /// Whether an earlier attempt may have taken effect (its answer was lost, or was a 5xx).
    pub may_have_succeeded: bool,
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deadline exceeded after {}", Human(self.elapsed))?;
        if let Some(endpoint) = self.endpoint {
            write!(f, " on {endpoint}")?;
        }
        write!(f, " ({} attempts)", self.attempts)?;
        if let Some(last) = &self.last_error {
            write!(f, "; last error: {last}")?;
        } else if self.may_have_succeeded {
            write!(f, "; an earlier attempt may have succeeded: check before repeating it")?;
        }
        Ok(())
    }
}

impl std::error::Error for DeadlineExceeded {}

/// A resource that reached its terminal `failed` status.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ResourceFailed {
    /// The endpoint that reported it.
    pub endpoint: Option<Endpoint>,
    /// The status as the server spelled it.
    pub status: String,
    /// Why it failed, when the server said (Jockey `error.message`, jack `error_message`).
    pub message: Option<String>,
    /// The resource as the server sent it.
    pub resource: serde_json::Value,
}

impl ResourceFailed {
    /// The resource decoded as `R` (for instance the crate's own `Asset` or `Document`).
    pub fn resource_as<R: serde::de::DeserializeOwned>(&self) -> Option<R> {
        serde_json::from_value(self.resource.clone()).ok()
    }
}

impl fmt::Display for ResourceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resource {}", self.status)?;
        if let Some(endpoint) = self.endpoint {
            write!(f, " ({endpoint})")?;
        }
        match &self.message {
            Some(m) => write!(f, ": {m}"),
            None => write!(f, " without a reason"),
        }
    }
}

impl std::error::Error for ResourceFailed {}

/// A wait that ran out of time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WaitTimedOut {
    /// The endpoint polled.
    pub endpoint: Option<Endpoint>,
    /// How long the wait lasted.
    pub waited: Duration,
    /// The wait's timeout.
    pub timeout: Duration,
    /// Polls answered with the resource.
    pub polls: u32,
    /// The last status seen, if any poll got one.
    pub last_status: Option<String>,
    /// The failure that kept the last poll from an answer, if any.
    pub last_error: Option<Box<Error>>,
}

impl fmt::Display for WaitTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not ready after {} (timeout {}", Human(self.waited), Human(self.timeout))?;
        if let Some(endpoint) = self.endpoint {
            write!(f, ", {endpoint}")?;
        }
        write!(f, "); {} polls", self.polls)?;
        match &self.last_status {
            Some(status) => write!(f, ", last status {status:?}")?,
            None => write!(f, ", no status seen")?,
        }
        if let Some(e) = &self.last_error {
            write!(f, "; last error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitTimedOut {}
