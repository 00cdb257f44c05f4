//! Test doubles shared by the integration tests: a scripted closure transport with a send log.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rein_async::Transport;
use rein_core::{Body, TransportError};
use tokio::time::Instant;

pub const KEY: &str = "jack_super_secret_key_0123456789";

/// One request the transport received.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Paused time since the log was made.
    pub at: Duration,
    pub method: http::Method,
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The body, when it is held in memory (JSON; not a streamed file).
    pub body: Option<Bytes>,
}

/// Every request a scripted transport received, in order.
#[derive(Clone, Debug)]
pub struct Log {
    start: Instant,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Log {
    pub fn new() -> Self {
        Log { start: Instant::now(), sent: Arc::default() }
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

    /// When each request was sent, in whole milliseconds of paused time.
    pub fn times_ms(&self) -> Vec<u128> {
        self.sent().iter().map(|s| s.at.as_millis()).collect()
    }

    pub fn record(&self, request: &http::Request<Body>) {
        self.sent.lock().unwrap().push(Sent {
            at: self.start.elapsed(),
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(str::to_owned),
            body: request.body().as_bytes(),
        });
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
        let result = answer(n.fetch_add(1, Ordering::SeqCst), &request);
        std::future::ready(result)
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
