//! Helpers for tests that run a client against the emulator: policies scaled to its clock, and
//! checks of its request log.
//!
//! A scaled clock runs emulated time `speed` times faster than real time; a client's own waits
//! (backoff, jack's documented 60 s and 30 s, poll intervals) run in real time, so tests scale
//! them by the same factor.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use rein_core::{Api, Backoff, Error, ErrorKind, RetryPolicy, WaitPolicy};

use crate::faults::FaultKind;
use crate::log::LogEntry;

/// `policy` with every duration divided by `speed`, a 20 s call budget, and up to 8 attempts.
pub fn scaled_retry_policy(api: Api, speed: f64) -> RetryPolicy {
    let scaled = |d: Duration| d.div_f64(speed);
    let mut p = RetryPolicy::for_api(api);
    p.backoff = Backoff { base: scaled(p.backoff.base), cap: scaled(p.backoff.cap), ..p.backoff };
    p.rate_limited_wait = p.rate_limited_wait.map(scaled);
    p.server_error_first_wait = p.server_error_first_wait.map(scaled);
    p.max_retry_after = scaled(p.max_retry_after) * 10;
    p.timeout = Duration::from_secs(20);
    p.max_attempts = 8;
    p
}

/// `preset` polled `speed` times faster (an explicit choice to poll below its floor), with a
/// generous timeout: it only matters when something is wrong, and test machines can be slow.
pub fn scaled_wait(preset: WaitPolicy, speed: f64) -> WaitPolicy {
    preset
        .interval_below_floor(preset.poll_interval().div_f64(speed))
        .timeout(preset.wait_timeout().div_f64(speed) * 20)
}

/// How many requests to paths ending in `path_suffix` with `method` changed the emulator's state:
/// for a create, how many resources it made (a slow proxy's request counts at its landing).
pub fn effective(log: &[LogEntry], method: &Method, path_suffix: &str) -> usize {
    log.iter()
        .filter(|e| e.method == *method && e.path.ends_with(path_suffix) && e.state_changed)
        .count()
}

/// Creates whose answer the client lost (a reset or a cut body on a POST), or got from a slow
/// proxy while the server behind it had yet to carry the create out.
pub fn lost_creates(log: &[LogEntry]) -> usize {
    log.iter()
        .filter(|e| e.method == Method::POST && e.landing_of.is_none())
        .filter(|e| {
            matches!(
                e.fault,
                Some(
                    FaultKind::ResetAfterProcessing
                        | FaultKind::TruncatedBody
                        | FaultKind::ResetBeforeProcessing
                        | FaultKind::SlowProxy
                )
            )
        })
        .count()
}

/// The requests of the log, without the landings of slow proxies' requests (which no client
/// sent at that time).
pub fn requests(log: &[LogEntry]) -> impl Iterator<Item = &LogEntry> + '_ {
    log.iter().filter(|e| e.landing_of.is_none())
}

/// Checks a log against the retry policy a well-behaved client follows, panicking with the
/// offending entry: every failure is a fault the emulator injected (the workflow itself makes no
/// bad request; a 404 on a GET is allowed, for deleted resources), and after a 429 no request
/// goes to that API before its `Retry-After` is over (a 429 without one asks for no wait).
/// `slack` absorbs the rounding between the emulator's clock and the client's.
pub fn assert_retries_follow_the_policy(log: &[LogEntry], slack: Duration) {
    let requests: Vec<&LogEntry> = requests(log).collect();
    for (i, e) in requests.iter().enumerate() {
        assert!(
            e.fault.is_some() || e.status < 400 || (e.status == 404 && e.method == Method::GET),
            "a request the workflow should not have made, or a failure no fault explains: {e:?}"
        );
        if e.status == 429 {
            let wait = e.retry_after.unwrap_or_default();
            if let Some(next) = requests[i + 1..].iter().find(|n| n.api == e.api) {
                let waited = next.at.saturating_since(e.at);
                assert!(
                    waited + slack >= wait,
                    "sent {waited:?} after a 429 that asked for {wait:?}: {next:?}"
                );
            }
        }
    }
}

/// What a chaos run's operations ended as: how many, the panics, what was lost or duplicated,
/// and every error by kind. Each error is checked to be typed: an API error's kind matches its
/// status and it counts its attempts, and so does a transport failure.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Operations run.
    pub operations: usize,
    /// Operations that ended `Ok`.
    pub ok: usize,
    /// Operations that panicked, with the panic's message.
    pub panics: Vec<String>,
    /// What was lost: an operation that never ended, a resource created `Ok` and then missing,
    /// an id a fleet never reported.
    pub lost: Vec<String>,
    /// What happened twice: a resource created twice, an item a listing or fleet gave twice.
    pub duplicates: Vec<String>,
    /// Errors by kind ([`error_kind`]).
    pub errors: BTreeMap<String, usize>,
    /// Errors that say the operation may have succeeded (a create that could not be settled).
    pub may_have_succeeded: usize,
    /// Errors missing what their kind should carry.
    pub untyped: Vec<String>,
    /// The first error of each kind, as the operation that met it and the error's `Display`.
    pub examples: BTreeMap<String, String>,
}

impl Tally {
    /// Counts an operation's end.
    pub fn record<T>(&mut self, operation: &str, result: &Result<T, Error>) {
        self.operations += 1;
        match result {
            Ok(_) => self.ok += 1,
            Err(e) => self.error(operation, e),
        }
    }

    /// Counts an error (of an operation, or of one id of a fleet) without counting an operation.
    pub fn error(&mut self, operation: &str, error: &Error) {
        let kind = error_kind(error);
        self.examples.entry(kind.clone()).or_insert_with(|| format!("{operation}: {error}"));
        *self.errors.entry(kind).or_default() += 1;
        if error.may_have_succeeded() {
            self.may_have_succeeded += 1;
        }
        if let Some(why) = untyped(error) {
            self.untyped.push(format!("{operation}: {why}: {error:?}"));
        }
    }

    /// Counts an operation that panicked.
    pub fn panic(&mut self, operation: &str, message: &str) {
        self.operations += 1;
        self.panics.push(format!("{operation}: {message}"));
    }

    /// Counts something lost.
    pub fn lost(&mut self, what: impl Into<String>) {
        self.lost.push(what.into());
    }

    /// Counts something duplicated.
    pub fn duplicate(&mut self, what: impl Into<String>) {
        self.duplicates.push(what.into());
    }

    /// Adds another tally's counts (one per worker, say).
    pub fn merge(&mut self, other: Tally) {
        self.operations += other.operations;
        self.ok += other.ok;
        self.panics.extend(other.panics);
        self.lost.extend(other.lost);
        self.duplicates.extend(other.duplicates);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.may_have_succeeded += other.may_have_succeeded;
        self.untyped.extend(other.untyped);
        for (kind, example) in other.examples {
            self.examples.entry(kind).or_insert(example);
        }
    }

    /// `chaos: N operations, P panics, L lost, D duplicates, E errors by kind {...}`.
    pub fn summary(&self, adapter: &str) -> String {
        let errors: usize = self.errors.values().sum();
        format!(
            "chaos ({adapter}): {} operations, {} panics, {} lost, {} duplicates, {errors} errors \
             ({} may have succeeded, {} untyped) by kind {:?}",
            self.operations,
            self.panics.len(),
            self.lost.len(),
            self.duplicates.len(),
            self.may_have_succeeded,
            self.untyped.len(),
            self.errors,
        )
    }

    /// Panics with the details unless nothing panicked, was lost or duplicated, and every error
    /// was typed.
    pub fn assert_clean(&self) {
        assert!(self.panics.is_empty(), "panics: {:#?}", self.panics);
        assert!(self.lost.is_empty(), "lost: {:#?}", self.lost);
        assert!(self.duplicates.is_empty(), "duplicates: {:#?}", self.duplicates);
        assert!(self.untyped.is_empty(), "untyped errors: {:#?}", self.untyped);
    }
}

/// A short name for an error's kind: `api 504 ServerError`, `transport Timeout`,
/// `decode (listing loops)`, `deadline`, `wait timed out`, ...
pub fn error_kind(error: &Error) -> String {
    match error {
        Error::Api(e) => format!("api {} {:?}", e.status, e.kind),
        Error::RateLimited(_) => "rate limited".into(),
        Error::Transport(t) => format!("transport {:?}", t.error.kind),
        Error::Invalid(_) => "invalid".into(),
        Error::Decode(d) if d.reason.contains("listing loops") => "decode (listing loops)".into(),
        Error::Decode(_) => "decode".into(),
        Error::Deadline(_) => "deadline".into(),
        Error::ResourceFailed(_) => "resource failed".into(),
        Error::WaitTimedOut(_) => "wait timed out".into(),
        Error::Cancelled => "cancelled".into(),
        Error::Config(_) => "config".into(),
        other => format!("other {other}"),
    }
}

/// What an error misses that its kind should carry, if anything.
fn untyped(error: &Error) -> Option<String> {
    let shown = error.to_string();
    if shown.trim().is_empty() {
        return Some("no message".into());
    }
    match error {
        Error::Api(e) => {
            if e.kind != ErrorKind::from_status(e.status) {
                return Some(format!("kind {:?} for status {}", e.kind, e.status));
            }
            if error.status() != Some(e.status) || e.attempts == 0 || e.endpoint.is_none() {
                return Some("no status, attempts or endpoint".into());
            }
        }
        Error::Transport(t) if t.attempts == 0 || t.endpoint.is_none() => {
            return Some("no attempts or endpoint".into());
        }
        Error::RateLimited(r) if r.attempts == 0 => return Some("no attempts".into()),
        Error::Decode(d) if !(200..300).contains(&d.status) => {
            return Some(format!("a decode error of a {} response", d.status));
        }
        _ => {}
    }
    None
}

pub mod chaos;
