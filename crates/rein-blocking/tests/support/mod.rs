//! Test doubles shared by the integration tests: a scripted closure transport with a send log,
//! all on a `ManualClock` so waits take no real time; and a loopback server for the real
//! transport.

#![allow(dead_code, unreachable_pub)]

pub mod loopback;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rein_blocking::{CancelToken, ClientBuilder, Sleep, Transport};
use rein_core::{Body, ManualClock, Moment, TransportError};

pub const KEY: &str = "jack_super_secret_key_0123456789";

/// One request the transport received.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Clock time since the log was made.
    pub at: Duration,
    pub method: http::Method,
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The body, when it is held in memory (JSON; not a streamed file).
    pub body: Option<Bytes>,
}

/// Every request a scripted transport received, in order, timed on the log's clock.
#[derive(Clone, Debug)]
pub struct Log {
    clock: ManualClock,
    start: Moment,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Log {
    /// A log on a clock of its own.
    pub fn new() -> Self {
        Log::on(&ManualClock::new())
    }

    /// A log timed on `clock` (shared with the client, and with other logs).
    pub fn on(clock: &ManualClock) -> Self {
        Log { clock: clock.clone(), start: clock.now().moment, sent: Arc::default() }
    }

    pub fn clock(&self) -> ManualClock {
        self.clock.clone()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// `METHOD path` of each request, in order.
    pub fn routes(&self) -> Vec<String> {
        self.sent().iter().map(|s| format!("{} {}", s.method, s.path)).collect()
    }

    /// When each request was sent, in whole milliseconds of clock time.
    pub fn times_ms(&self) -> Vec<u128> {
        self.sent().iter().map(|s| s.at.as_millis()).collect()
    }

    pub fn record(&self, request: &http::Request<Body>) {
        self.sent.lock().unwrap().push(Sent {
            at: self.clock.now().moment.saturating_since(self.start),
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(str::to_owned),
            body: request.body().as_bytes(),
        });
    }
}

/// Clock time since the origin of a `ManualClock` (they all start there).
pub fn elapsed(clock: &ManualClock) -> Duration {
    clock.now().moment.since_origin()
}

/// Runs a client on `clock`, as both its clock and its sleeper.
pub trait VirtualTime: Sized {
    fn virtual_time(self, clock: &ManualClock) -> Self;
}

impl<C> VirtualTime for ClientBuilder<C> {
    fn virtual_time(self, clock: &ManualClock) -> Self {
        self.clock(clock.clone()).sleeper(clock.clone())
    }
}

/// A transport that logs each request and answers the `n`th (from 0) with `answer`.
pub fn scripted(
    log: &Log,
    answer: impl Fn(usize, &http::Request<Body>) -> Result<http::Response<Bytes>, TransportError>
        + Send
        + Sync
        + 'static,
) -> impl Transport + 'static {
    let log = log.clone();
    let n = AtomicUsize::new(0);
    move |request: http::Request<Body>| {
        log.record(&request);
        answer(n.fetch_add(1, Ordering::SeqCst), &request)
    }
}

type Action = Box<dyn FnOnce() + Send>;

/// A sleeper on a `ManualClock` that runs actions at set moments, as other tasks run while a
/// call sleeps in tokio's paused time: a sleep that reaches an action's moment moves the clock
/// there and runs it (on the sleeping thread, so it may make calls of its own), and ends early
/// if the action cancelled the sleeper's token, as the system sleeper wakes on a cancel.
#[derive(Clone)]
pub struct Timeline {
    clock: ManualClock,
    actions: Arc<Mutex<Vec<(Moment, Action)>>>,
}

impl Timeline {
    pub fn new(clock: &ManualClock) -> Self {
        Timeline { clock: clock.clone(), actions: Arc::default() }
    }

    /// Runs `action` when a sleep reaches `at` after the clock's origin.
    pub fn at(&self, at: Duration, action: impl FnOnce() + Send + 'static) {
        self.actions.lock().unwrap().push((Moment::from_origin(at), Box::new(action)));
    }

    /// The earliest action due by `end`, taken off the list.
    fn due(&self, end: Moment) -> Option<(Moment, Action)> {
        let mut actions = self.actions.lock().unwrap();
        let (i, _) = actions
            .iter()
            .enumerate()
            .filter(|(_, (at, _))| *at <= end)
            .min_by_key(|(_, (at, _))| *at)?;
        Some(actions.remove(i))
    }
}

impl Sleep for Timeline {
    fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>) {
        let cancelled = || cancel.is_some_and(CancelToken::is_cancelled);
        if cancelled() {
            return;
        }
        let end = self.clock.now().moment + duration;
        // The lock is not held while an action runs: it may sleep too.
        while let Some((at, action)) = self.due(end) {
            self.clock.advance_to(at);
            action();
            if cancelled() {
                return;
            }
        }
        self.clock.advance_to(end);
    }
}

/// A response with `status`, `headers` and a body.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Bytes> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::from(body.to_owned())).unwrap()
}

pub fn ok(body: &str) -> Result<http::Response<Bytes>, TransportError> {
    Ok(reply(200, &[("content-type", "application/json")], body))
}

pub fn too_many(retry_after: &str) -> Result<http::Response<Bytes>, TransportError> {
    Ok(reply(
        429,
        &[("retry-after", retry_after), ("content-type", "application/json")],
        r#"{"detail":"Rate limit exceeded. Max 60 requests per minute."}"#,
    ))
}

pub const USAGE: &str = r#"{"org_id":"org_1","period_days":30,"rate_limit_rpm":60}"#;

pub fn document(status: &str) -> String {
    format!(r#"{{"id":"doc_1","status":"{status}","chunk_count":3}}"#)
}
