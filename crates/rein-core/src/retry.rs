//! When and how a call retries: the [`RetryPolicy`], and the [`RetryReason`] a retry gives.
//!
//! Defaults follow the references: 429 and 5xx are retried, and so are a 408 and transport
//! failures where the request surely was not sent; a request that is not idempotent is not
//! resent after a failure that may have come after the server carried it out.

use std::time::Duration;

use crate::api::Api;
use crate::backoff::Backoff;
use crate::error::TransportErrorKind;

/// When and how a call retries. Defaults follow the references; every knob is public.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The schedule for waits the server did not dictate.
    pub backoff: Backoff,
    /// The call's time budget, from its first poll; no wait ever ends after it.
    pub timeout: Duration,
    /// The longest `Retry-After` the call will sleep through; a longer one fails at once.
    pub max_retry_after: Duration,
    /// Retry 429 responses.
    pub retry_rate_limited: bool,
    /// Retry 5xx responses.
    pub retry_server_errors: bool,
    /// Retry 408 responses.
    pub retry_request_timeout: bool,
    /// Retry a non-idempotent request after a timeout or reset that happened after it was sent,
    /// and a billed one (a Jockey response) after any 5xx but a 503 that names a wait. Off by
    /// default: the first request may have succeeded, and a retry could duplicate it, or
    /// generate and charge for a second answer.
    pub retry_ambiguous: bool,
    /// The wait after a 429 without `Retry-After`; `None` uses the backoff (jack: 60 s).
    pub rate_limited_wait: Option<Duration>,
    /// The least wait before retrying after the first 500 (jack: 30 s).
    pub server_error_first_wait: Option<Duration>,
    /// No retry comes sooner than this after a failure (a poll's interval floor uses it).
    pub min_wait: Duration,
    /// Connections that failed in a row (refused, a host name that did not resolve, a failed TLS
    /// handshake, no connection in time) after which a call, or a wait's poll, gives up: the
    /// service is not there to answer, and the caller should hear so in seconds, not at the
    /// deadline. At least 1 (0 counts as 1); 3 by default.
    pub max_connect_failures: u32,
    /// Retry a 502 or 504 of a non-idempotent request. A gateway's error can come after the
    /// server behind it carried the request out; [`crate::CreateOnce`] turns this off and looks
    /// the resource up instead of sending the create again.
    pub retry_gateway_errors_on_creates: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Backoff::default(),
            timeout: Duration::from_secs(600),
            max_retry_after: Duration::from_secs(120),
            retry_rate_limited: true,
            retry_server_errors: true,
            retry_request_timeout: true,
            retry_ambiguous: false,
            rate_limited_wait: None,
            server_error_first_wait: None,
            min_wait: Duration::ZERO,
            max_connect_failures: 3,
            retry_gateway_errors_on_creates: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy for `api`: jack adds its documented waits (60 s after a 429 without
    /// `Retry-After`, 30 s before retrying a 500).
    pub fn for_api(api: Api) -> Self {
        match api {
            Api::Jockey => RetryPolicy::default(),
            Api::Jack => RetryPolicy {
                rate_limited_wait: Some(Duration::from_secs(60)),
                server_error_first_wait: Some(Duration::from_secs(30)),
                ..RetryPolicy::default()
            },
        }
    }

    /// The references' literal strategy: 3 attempts, waits of 1 s then 2 s, no jitter.
    pub fn reference() -> Self {
        RetryPolicy { max_attempts: 3, backoff: Backoff::reference(), ..RetryPolicy::default() }
    }

    /// No retries at all: one attempt.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Whether a response with this status is retried.
    pub fn retries_status(&self, status: u16) -> bool {
        match status {
            429 => self.retry_rate_limited,
            408 => self.retry_request_timeout,
            500..=599 => self.retry_server_errors,
            _ => false,
        }
    }
}

impl std::fmt::Display for RetryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryReason::Status(status) => write!(f, "{status}"),
            RetryReason::Transport(TransportErrorKind::Connect) => f.write_str("could not connect"),
            RetryReason::Transport(TransportErrorKind::Timeout) => f.write_str("timed out"),
            RetryReason::Transport(TransportErrorKind::Reset) => f.write_str("connection lost"),
            RetryReason::Transport(kind) => write!(f, "transport: {kind:?}"),
            RetryReason::UndecodableBody => f.write_str("an unreadable answer"),
        }
    }
}

/// Why a retry was scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered with this retryable status.
    Status(u16),
    /// The transport failed in a way that is safe to retry.
    Transport(TransportErrorKind),
    /// A success body of an idempotent request could not be decoded.
    UndecodableBody,
}
