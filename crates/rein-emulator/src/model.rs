//! The pure model: [`Emulator::handle`] turns a request and the time into a reply.
//!
//! All state is in memory, all randomness comes from generators seeded by [`Config::seed`], and
//! background processing is read off lazily from `now`, so the same seed and the same sequence
//! of `(request, now)` give the same replies, byte for byte. The hyper server drives it with a
//! (scaled) real clock; the simulator drives it in virtual time.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, SERVER};
use http::{Method, Response, StatusCode};
use rein_core::{Api, Body, Moment, Now, SplitMix64};
use serde_json::json;

use crate::config::Config;
use crate::faults::{html_page, proxy_server, AfterFault, Drawn, FaultKind, Faults};
use crate::handler::{Ctx, Outcome};
use crate::limiter::SlidingWindow;
use crate::log::{LogEntry, RequestLog};
use crate::query::Query;
use crate::wire::{empty, json as json_response};
use crate::{jack, jockey};

pub use crate::handler::UnreadBody;

/// Paths under this prefix are the emulator's own (`GET /_emulator/log`); they are never
/// faulted, limited or logged, and need no key.
pub const CONTROL_PREFIX: &str = "/_emulator/";

/// What the model answers: the response, and a fault for the transport to act out.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The response. Under [`WireFault::ResetBeforeProcessing`] nothing was processed and this is
    /// an empty placeholder that must not be delivered.
    pub response: Response<Bytes>,
    /// What the transport must do instead of (or besides) delivering the response plainly.
    pub fault: Option<WireFault>,
}

/// A fault acted out on the wire by whoever delivers the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFault {
    /// Reset the connection without answering; the request was not carried out.
    ResetBeforeProcessing,
    /// Reset the connection without answering; the request *was* carried out.
    ResetAfterProcessing,
    /// Send the headers (with the full `Content-Length`) and only the first `keep` bytes of the
    /// body, then close the connection.
    Truncate {
        /// How many body bytes to send.
        keep: usize,
    },
    /// Deliver the response after this much emulated time.
    Delay(Duration),
}

/// The emulator: both APIs' state, the request log, the limiters and the fault plan.
#[derive(Debug)]
pub struct Emulator {
    config: Config,
    rng: SplitMix64,
    faults: Faults,
    log: RequestLog,
    last: Option<Now>,
    jockey: jockey::State,
    jack: jack::State,
    jockey_limits: HashMap<String, SlidingWindow>,
    jack_limit: SlidingWindow,
}

impl Emulator {
    /// An emulator with no resources yet.
    pub fn new(config: Config) -> Self {
        let mut rng = SplitMix64::new(config.seed);
        let jack = jack::State::new(&config, &mut rng);
        Emulator {
            faults: Faults::new(config.faults.clone(), config.seed),
            log: RequestLog::new(config.log_capacity),
            last: None,
            jockey: jockey::State::default(),
            jack,
            jockey_limits: HashMap::new(),
            jack_limit: SlidingWindow::new(config.jack_rpm, Duration::from_secs(60)),
            rng,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// The latest time the model has seen (it never goes back: an earlier `now` counts as this).
    pub fn now(&self) -> Option<Now> {
        self.last
    }

    /// The next moment after the latest `now` at which some resource changes status: where a
    /// virtual-time driver can jump to.
    pub fn next_change(&self) -> Option<Moment> {
        let now = self.last?.moment;
        self.jockey.next_change(now).into_iter().chain(self.jack.next_change(now)).min()
    }

    /// Sets the Jockey limit per key per minute from now on (`None`: no limit): a scenario can
    /// create its resources first, unlimited, and then hold its clients to a limit.
    pub fn set_jockey_rpm(&mut self, rpm: Option<u32>) {
        self.config.jockey_rpm = rpm;
        self.jockey_limits.clear();
    }

    /// When the asset, item or document `id` finishes processing, and as what (`ready` or
    /// `failed`): the truth a simulator measures a client's detection against.
    pub fn settles(&self, id: &str) -> Option<(Moment, &'static str)> {
        self.jockey.settles(id).or_else(|| self.jack.settles(id))
    }

    /// Answers one request at `now`.
    ///
    /// The request's body is a [`Body`]: JSON as bytes, and forms either as bytes (scanned
    /// here) or as a [`rein_core::Multipart`] whose file parts are only read for their length,
    /// so a transport can stream a large upload and pass its length alone. A transport that
    /// discarded or could not parse a body says so with an [`UnreadBody`] extension.
    pub fn handle(&mut self, request: http::Request<Body>, now: Now) -> Reply {
        let now = self.observe(now);
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        if let Some(rest) = path.strip_prefix(CONTROL_PREFIX) {
            return Reply {
                response: self.control(&parts.method, rest, parts.uri.query()),
                fault: None,
            };
        }

        let mut entry = LogEntry {
            seq: 0,
            api: None,
            method: parts.method.clone(),
            path: path.clone(),
            status: 0,
            at: now.moment,
            state_changed: false,
            fault: None,
            retry_after: None,
        };
        let Some((api, rest)) = split_api(&path) else {
            let response = json_response(StatusCode::NOT_FOUND, &json!({"detail": "Not Found"}));
            entry.status = 404;
            self.log.push(entry);
            return Reply { response, fault: None };
        };
        entry.api = Some(api);

        let drawn = self.faults.draw(api, now.moment);
        let early = match drawn {
            Some(Drawn::ResetBefore) => {
                entry.fault = Some(FaultKind::ResetBeforeProcessing);
                self.log.push(entry);
                return Reply {
                    response: empty(StatusCode::INTERNAL_SERVER_ERROR),
                    fault: Some(WireFault::ResetBeforeProcessing),
                };
            }
            Some(Drawn::Status { kind, html, proxy }) => {
                let status = kind.status().unwrap_or(500);
                entry.fault = Some(kind);
                Some(if html {
                    let mut r = Response::new(Bytes::from(html_page(status, proxy)));
                    *r.status_mut() = status_code(status);
                    r.headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
                    r.headers_mut().insert(SERVER, HeaderValue::from_static(proxy_server(proxy)));
                    r
                } else {
                    server_error(api, status)
                })
            }
            Some(Drawn::Burst { retry_after }) => {
                entry.fault = Some(FaultKind::RateLimitBurst);
                Some(rate_limited(api, retry_after))
            }
            _ => None,
        };
        if let Some(response) = early {
            entry.status = response.status().as_u16();
            entry.retry_after = logged_retry_after(&response);
            self.log.push(entry);
            return Reply { response, fault: None };
        }

        let unread = parts.extensions.get::<UnreadBody>();
        let outcome = self.process(api, rest, &parts, &body, unread, now);
        let mut response = outcome.response;
        entry.status = response.status().as_u16();
        entry.retry_after = logged_retry_after(&response);
        entry.state_changed = outcome.changed;

        let fault = match drawn {
            Some(Drawn::After(after)) => {
                let (kind, wire) = match after {
                    AfterFault::Reset => {
                        (FaultKind::ResetAfterProcessing, WireFault::ResetAfterProcessing)
                    }
                    AfterFault::Truncate(_) if response.body().is_empty() => (
                        // Nothing to cut: the nearest thing is a reset after processing.
                        FaultKind::ResetAfterProcessing,
                        WireFault::ResetAfterProcessing,
                    ),
                    AfterFault::Truncate(share) => (
                        FaultKind::TruncatedBody,
                        WireFault::Truncate {
                            keep: ((response.body().len() as f64 * share) as usize)
                                .min(response.body().len() - 1),
                        },
                    ),
                    AfterFault::Delay(d) => (FaultKind::SlowResponse, WireFault::Delay(d)),
                };
                entry.fault = Some(kind);
                Some(wire)
            }
            _ => None,
        };
        if matches!(fault, Some(WireFault::Truncate { .. })) {
            // The declared length is the full one; the transport sends less.
            let len = response.body().len().to_string();
            if let Ok(v) = HeaderValue::from_str(&len) {
                response.headers_mut().insert(http::header::CONTENT_LENGTH, v);
            }
        }
        self.log.push(entry);
        Reply { response, fault }
    }

    fn observe(&mut self, now: Now) -> Now {
        let now = match self.last {
            Some(last) if now.moment < last.moment => last,
            _ => now,
        };
        self.last = Some(now);
        now
    }

    fn process(
        &mut self,
        api: Api,
        rest: &str,
        parts: &http::request::Parts,
        body: &Body,
        unread: Option<&UnreadBody>,
        now: Now,
    ) -> Outcome {
        let path = if rest.len() > 1 { rest.trim_end_matches('/') } else { rest };
        let mut ctx = Ctx {
            method: &parts.method,
            path,
            query: Query::parse(parts.uri.query()),
            headers: &parts.headers,
            body,
            unread,
            now,
            rng: &mut self.rng,
            config: &self.config,
        };
        match api {
            Api::Jockey => {
                let key = match jockey::authenticate(&ctx) {
                    Ok(key) => key,
                    Err(e) => return Outcome::read(e.into_response()),
                };
                if let Some(rpm) = self.config.jockey_rpm {
                    let window = self
                        .jockey_limits
                        .entry(key)
                        .or_insert_with(|| SlidingWindow::new(rpm, Duration::from_secs(60)));
                    if let Err(wait) = window.admit(now.moment) {
                        return Outcome::read(rate_limited(api, wait));
                    }
                }
                jockey::route(&mut self.jockey, &mut ctx)
            }
            Api::Jack => {
                if let Some(response) = self.jack.refusal(&ctx) {
                    return Outcome::read(response);
                }
                if self.config.jack_rpm > 0 && self.jack_limit.admit(now.moment).is_err() {
                    // jack documents a fixed answer: Retry-After: 60.
                    return Outcome::read(rate_limited(api, Duration::from_secs(60)));
                }
                self.jack.route(&mut ctx)
            }
        }
    }

    fn control(&self, method: &Method, rest: &str, query: Option<&str>) -> Response<Bytes> {
        match (method, rest.trim_end_matches('/')) {
            (&Method::GET, "log") => {
                let after =
                    Query::parse(query).get("after").and_then(|s| s.parse().ok()).unwrap_or(0);
                json_response(StatusCode::OK, &self.log.to_json(after))
            }
            (&Method::GET, "health") => json_response(
                StatusCode::OK,
                &json!({
                    "status": "ok",
                    "now_ms": self.last.map(|n| n.moment.since_origin().as_millis() as u64),
                    "requests": self.log.total(),
                }),
            ),
            _ => json_response(
                StatusCode::NOT_FOUND,
                &json!({"detail": "unknown emulator control path"}),
            ),
        }
    }
}

/// Which API a path belongs to, and the path after its prefix.
fn split_api(path: &str) -> Option<(Api, &str)> {
    for api in [Api::Jockey, Api::Jack] {
        if let Some(rest) = path.strip_prefix(api.path_prefix()) {
            if rest.is_empty() || rest.starts_with('/') {
                return Some((api, if rest.is_empty() { "/" } else { rest }));
            }
        }
    }
    None
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A 5xx in the API's own JSON dialect.
fn server_error(api: Api, status: u16) -> Response<Bytes> {
    match api {
        Api::Jockey => {
            let code = match status {
                502 => "bad_gateway",
                503 => "service_unavailable",
                504 => "gateway_timeout",
                _ => "internal_error",
            };
            jockey::JockeyError::new(
                status_code(status),
                code,
                "The server could not complete the request; retry with backoff",
            )
            .into_response()
        }
        Api::Jack => jack::error(
            status_code(status),
            match status {
                502 => "Bad gateway",
                503 => "Service unavailable",
                504 => "Gateway timeout",
                _ => "Internal server error",
            },
        ),
    }
}

/// A 429 in the API's dialect with `Retry-After` (whole seconds, rounded up).
pub(crate) fn rate_limited(api: Api, wait: Duration) -> Response<Bytes> {
    let mut response = match api {
        Api::Jockey => jockey::JockeyError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "Too many requests; back off and retry after the time in the Retry-After header",
        )
        .into_response(),
        Api::Jack => jack::error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded"),
    };
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

/// The `Retry-After` a response carries (delta-seconds, as the model writes it), for the log.
fn logged_retry_after(response: &Response<Bytes>) -> Option<std::time::Duration> {
    let value = response.headers().get(http::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(std::time::Duration::from_secs)
}
