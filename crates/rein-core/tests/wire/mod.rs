//! Shared test support: raw HTTP fixtures, and a scripted driver that records a machine's trace.
#![allow(dead_code, unreachable_pub)]

use std::fmt::{Debug, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rein_core::machine::Exchange;
use rein_core::{Event, Events, Machine, Now, Step, TransportError};

/// `<workspace>/fixtures/<rel>`.
pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel)
}

/// Parses a raw HTTP/1.1 response (CRLF or LF line ends); the body is everything after the
/// blank line, verbatim.
pub fn parse_response(raw: &[u8]) -> http::Response<Bytes> {
    let split = find(raw, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| find(raw, b"\n\n").map(|i| (i, 2)))
        .expect("a blank line after the headers");
    let head = std::str::from_utf8(&raw[..split.0]).expect("utf-8 head");
    let body = Bytes::copy_from_slice(&raw[split.0 + split.1..]);
    let mut lines = head.lines();
    let status_line = lines.next().expect("a status line");
    let status: u16 =
        status_line.split_whitespace().nth(1).expect("a status").parse().expect("numeric status");
    let mut builder = http::Response::builder().status(status);
    for line in lines {
        let (name, value) = line.split_once(':').expect("name: value");
        builder = builder.header(name.trim(), value.trim());
    }
    builder.body(body).expect("a valid response")
}

/// Reads and parses a fixture.
pub fn load_response(rel: &str) -> http::Response<Bytes> {
    let path = fixture_path(rel);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_response(&raw)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A scripted reply of the fake server.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A response: status, headers, body.
    Http(u16, Vec<(&'static str, String)>, &'static str),
    /// A transport failure.
    Fail(TransportError),
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Http(status, Vec::new(), "")
    }
    pub fn json(status: u16, body: &'static str) -> Reply {
        Reply::Http(status, vec![("content-type", "application/json".into())], body)
    }
    pub fn with_header(self, name: &'static str, value: impl Into<String>) -> Reply {
        match self {
            Reply::Http(s, mut h, b) => {
                h.push((name, value.into()));
                Reply::Http(s, h, b)
            }
            other => other,
        }
    }
    pub fn into_outcome(self) -> Result<http::Response<Bytes>, TransportError> {
        match self {
            Reply::Http(status, headers, body) => {
                let mut b = http::Response::builder().status(status);
                for (k, v) in headers {
                    b = b.header(k, v);
                }
                Ok(b.body(Bytes::from_static(body.as_bytes())).expect("valid response"))
            }
            Reply::Fail(e) => Err(e),
        }
    }
}

/// A machine whose events a test can record.
pub trait Traced: Machine {
    /// The machine, with its events going to `events`.
    fn with_events(self, events: Events) -> Self;
}

impl<T> Traced for rein_core::Call<T> {
    fn with_events(self, events: Events) -> Self {
        self.events(events)
    }
}

impl<T: rein_core::Pollable> Traced for rein_core::Wait<T> {
    fn with_events(self, events: Events) -> Self {
        self.events(events)
    }
}

impl<R: rein_core::Reconcile> Traced for rein_core::CreateOnce<R> {
    fn with_events(self, events: Events) -> Self {
        self.events(events)
    }
}

/// Events, and where they were recorded.
pub fn recorder() -> (Events, Arc<Mutex<Vec<Event>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&log);
    (Events::to(Arc::new(move |e: &Event| record.lock().unwrap().push(e.clone()))), log)
}

/// Answers a machine's request, sent and answered at `now`.
pub fn answer<M: Machine>(
    exchange: Exchange<M>,
    outcome: Result<http::Response<Bytes>, TransportError>,
    now: Now,
) -> M {
    let (_, awaiting) = exchange.send(now);
    awaiting.answer(outcome, now)
}

/// Drives `machine` against `replies`, each answered `latency` after its send, on a fake clock
/// that jumps to every wake-up. Returns the trace, one line per step or event.
pub fn trace<M: Traced>(machine: M, replies: Vec<Reply>, latency: Duration) -> String
where
    M::Output: Debug,
{
    let (events, log) = recorder();
    let mut machine = machine.with_events(events);
    let mut out = String::new();
    let mut now = Now::fake(0.0);
    let mut replies = replies.into_iter();
    for _ in 0..100 {
        let step = machine.poll(now);
        drain(&log, &mut out);
        machine = match step {
            Step::Send(exchange) => {
                let req = exchange.request();
                writeln!(out, "{:?} send {} {}", now.moment, req.method(), req.uri().path()).ok();
                let (_, awaiting) = exchange.send(now);
                now = now.advanced_to(now.moment + latency);
                let reply = replies.next().expect("the script has a reply for every send");
                match &reply {
                    Reply::Http(status, headers, _) => {
                        let hs: Vec<String> = headers
                            .iter()
                            .filter(|(k, _)| *k != "content-type")
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect();
                        writeln!(out, "{:?} recv {status} {}", now.moment, hs.join(", ")).ok();
                    }
                    Reply::Fail(e) => {
                        writeln!(out, "{:?} fail {e}", now.moment).ok();
                    }
                }
                let machine = awaiting.answer(reply.into_outcome(), now);
                drain(&log, &mut out);
                machine
            }
            Step::Sleep(sleep) => {
                writeln!(out, "{:?} wait until {:?}", now.moment, sleep.until).ok();
                now = now.advanced_to(sleep.until);
                sleep.wake()
            }
            Step::Done(result) => {
                writeln!(out, "{:?} done {}", now.moment, summarize(&result)).ok();
                return out;
            }
            _ => panic!("a step the trace does not expect"),
        };
    }
    panic!("the machine did not finish within 100 steps:\n{out}");
}

fn drain(log: &Mutex<Vec<Event>>, out: &mut String) {
    for event in log.lock().unwrap().drain(..) {
        write_event(&event, out);
    }
}

fn write_event(event: &Event, out: &mut String) {
    match event {
        Event::Sending { .. } => {}
        Event::Progress { status, polls, elapsed, .. } => {
            writeln!(out, "           progress: {status} (poll {polls}, {elapsed:?} elapsed)").ok();
        }
        Event::RetryScheduled { attempt, reason, wait, server_asked, .. } => {
            writeln!(
                out,
                "           retry after attempt {attempt}: {reason:?}, wait {wait:?}{}",
                if *server_asked { " (server asked)" } else { "" }
            )
            .ok();
        }
        other => {
            writeln!(out, "           {other:?}").ok();
        }
    }
}

fn summarize<T: Debug>(result: &Result<T, rein_core::Error>) -> String {
    match result {
        Ok(v) => {
            let s = format!("{v:?}");
            format!("Ok({})", s.chars().take(60).collect::<String>())
        }
        Err(e) => format!("Err({e})"),
    }
}
