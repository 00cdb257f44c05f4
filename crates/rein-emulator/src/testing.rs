//! Helpers for tests that run a client against the emulator: policies scaled to its clock, and
//! checks of its request log.
//!
//! A scaled clock runs emulated time `speed` times faster than real time; a client's own waits
//! (backoff, jack's documented 60 s and 30 s, poll intervals) run in real time, so tests scale
//! them by the same factor.

use std::time::Duration;

use http::Method;
use rein_core::{Api, Backoff, RetryPolicy, WaitPolicy};

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
/// for a create, how many resources it made.
pub fn effective(log: &[LogEntry], method: &Method, path_suffix: &str) -> usize {
    log.iter()
        .filter(|e| e.method == *method && e.path.ends_with(path_suffix) && e.state_changed)
        .count()
}

/// Creates whose answer the client lost (a reset or a cut body on a POST).
pub fn lost_creates(log: &[LogEntry]) -> usize {
    log.iter()
        .filter(|e| e.method == Method::POST)
        .filter(|e| {
            matches!(
                e.fault,
                Some(
                    FaultKind::ResetAfterProcessing
                        | FaultKind::TruncatedBody
                        | FaultKind::ResetBeforeProcessing
                )
            )
        })
        .count()
}

/// Checks a log against the retry policy a well-behaved client follows, panicking with the
/// offending entry: every failure is a fault the emulator injected (the workflow itself makes no
/// bad request; a 404 on a GET is allowed, for deleted resources), and after a 429 no request
/// goes to that API before its `Retry-After` is over. `slack` absorbs the rounding between the
/// emulator's clock and the client's.
pub fn assert_retries_follow_the_policy(log: &[LogEntry], slack: Duration) {
    for (i, e) in log.iter().enumerate() {
        assert!(
            e.fault.is_some() || e.status < 400 || (e.status == 404 && e.method == Method::GET),
            "a request the workflow should not have made, or a failure no fault explains: {e:?}"
        );
        if e.status == 429 {
            let wait = e.retry_after.unwrap_or_default();
            if let Some(next) = log[i + 1..].iter().find(|n| n.api == e.api) {
                let waited = next.at.saturating_since(e.at);
                assert!(
                    waited + slack >= wait,
                    "sent {waited:?} after a 429 that asked for {wait:?}: {next:?}"
                );
            }
        }
    }
}
