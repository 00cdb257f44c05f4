//! The pure model: [`Emulator::handle`] turns a request and the time into a reply.
//!
//! All state is in memory, all randomness comes from generators seeded by [`Config::seed`], and
//! background processing is read off lazily from `now`, so the same seed and the same sequence
//! of `(request, now)` give the same replies, byte for byte. The hyper server drives it with a
//! (scaled) real clock; the simulator drives it in virtual time.
//!
//! Besides both APIs, the model answers the storage side of Jockey's multipart uploads: chunk
//! `PUT`s to presigned URLs (paths under [`PRESIGNED_PREFIX`]). [`Emulator::handle`] routes by
//! path; a server with one listener per side uses [`Emulator::handle_api`] and
//! [`Emulator::handle_presigned`], each of which answers 404 to the other side's paths.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, SERVER};
use http::{Method, Response, StatusCode};
use rein_core::{Api, Body, Moment, Now, SplitMix64};
use serde_json::json;

use crate::config::Config;
use crate::faults::{
    html_page, proxy_server, AfterFault, Drawn, FaultKind, FaultPlan, Faults, Proxy, Trickle,
};
use crate::handler::{Ctx, Outcome};
use crate::limiter::SlidingWindow;
use crate::log::{carries_api_key, LogEntry, RequestLog};
use crate::presigned::{self, ChunkDigest, ChunkUrl, PRESIGNED_PREFIX};
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
    /// How slowly to deliver the body, when it is to be trickled ([`Trickle::schedule`]: its
    /// pieces and their times). A transport that cannot pace a body may deliver it at once:
    /// the answer is the same, only sooner.
    pub trickle: Option<Trickle>,
}

impl Reply {
    fn plain(response: Response<Bytes>) -> Self {
        Reply { response, fault: None, trickle: None }
    }
}

/// A request a slow proxy answered for: the server behind it carries it out at `at`.
#[derive(Debug)]
struct Deferred {
    at: Now,
    api: Api,
    rest: String,
    parts: http::request::Parts,
    body: Body,
    /// The log entry of its arrival.
    arrival: u64,
}

/// How much of a request [`Emulator::process`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Authentication and rate limits, then the endpoint.
    All,
    /// Authentication and rate limits only (a slow proxy's request, on arrival).
    Admit,
    /// The endpoint only (a slow proxy's request, admitted when it arrived, at its landing).
    Route,
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
    /// Requests a slow proxy answered for, still to be carried out.
    deferred: Vec<Deferred>,
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
            deferred: Vec::new(),
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
        let landings = self.deferred.iter().map(|d| d.at.moment).filter(|&at| at > now);
        self.jockey
            .next_change(now)
            .into_iter()
            .chain(self.jack.next_change(now))
            .chain(landings)
            .min()
    }

    /// Carries out every request a slow proxy answered for whose landing time is `now` or
    /// earlier, as [`Emulator::handle`] does first: read the log after it to see them.
    pub fn catch_up(&mut self, now: Now) {
        let now = self.observe(now);
        self.land(now);
    }

    /// Carries out the deferred requests due by `now`, in the order they land.
    fn land(&mut self, now: Now) {
        loop {
            let due = self
                .deferred
                .iter()
                .enumerate()
                .filter(|(_, d)| d.at.moment <= now.moment)
                .min_by_key(|(_, d)| (d.at.moment, d.arrival))
                .map(|(i, _)| i);
            let Some(i) = due else { return };
            let d = self.deferred.remove(i);
            let unread = d.parts.extensions.get::<UnreadBody>().cloned();
            let outcome = self
                .process(Stage::Route, d.api, &d.rest, &d.parts, &d.body, unread.as_ref(), d.at)
                .unwrap_or_else(|| Outcome::read(empty(StatusCode::INTERNAL_SERVER_ERROR)));
            self.log.push(LogEntry {
                seq: 0,
                api: Some(d.api),
                method: d.parts.method.clone(),
                path: d.parts.uri.path().to_owned(),
                status: outcome.response.status().as_u16(),
                at: d.at.moment,
                state_changed: outcome.changed,
                fault: Some(FaultKind::SlowProxy),
                retry_after: logged_retry_after(&outcome.response),
                landing_of: Some(d.arrival),
                carried_api_key: carries_api_key(&d.parts.headers),
            });
        }
    }

    /// Sets the Jockey limit per key per minute from now on (`None`: no limit): a scenario can
    /// create its resources first, unlimited, and then hold its clients to a limit.
    pub fn set_jockey_rpm(&mut self, rpm: Option<u32>) {
        self.config.jockey_rpm = rpm;
        self.jockey_limits.clear();
    }

    /// Replaces the fault plan from now on (a burst in progress ends; requests a slow proxy
    /// answered for still land): a test can fault its creates and then look plainly.
    pub fn set_fault_plan(&mut self, plan: FaultPlan) {
        self.config.faults = plan.clone();
        self.faults.set_plan(plan);
    }

    /// When the asset, item or document `id` finishes processing, and as what (`ready` or
    /// `failed`): the truth a simulator measures a client's detection against.
    pub fn settles(&self, id: &str) -> Option<(Moment, &'static str)> {
        self.jockey.settles(id).or_else(|| self.jack.settles(id))
    }

    /// Where presigned chunk URLs point from now on ([`Config::presigned_base`]): a server sets
    /// it to the address of the listener that serves them.
    pub fn set_presigned_base(&mut self, base: impl Into<String>) {
        self.config.presigned_base = base.into();
    }

    /// Answers one request at `now`, whichever side it is for: a chunk `PUT` to a presigned
    /// URL (a path under [`PRESIGNED_PREFIX`], whatever the host) as
    /// [`Emulator::handle_presigned`], anything else as [`Emulator::handle_api`].
    pub fn handle(&mut self, request: http::Request<Body>, now: Now) -> Reply {
        if request.uri().path().starts_with(PRESIGNED_PREFIX) {
            self.handle_presigned(request, now)
        } else {
            self.handle_api(request, now)
        }
    }

    /// Answers one request to either API (or to the emulator's own paths) at `now`; a path
    /// under [`PRESIGNED_PREFIX`] is not found here.
    ///
    /// The request's body is a [`Body`]: JSON as bytes, and forms either as bytes (scanned
    /// here) or as a [`rein_core::Multipart`] whose file parts are only read for their length,
    /// so a transport can stream a large upload and pass its length alone. A transport that
    /// discarded or could not parse a body says so with an [`UnreadBody`] extension.
    pub fn handle_api(&mut self, request: http::Request<Body>, now: Now) -> Reply {
        let now = self.observe(now);
        self.land(now);
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        if let Some(rest) = path.strip_prefix(CONTROL_PREFIX) {
            return Reply::plain(self.control(&parts.method, rest, parts.uri.query()));
        }

        let mut entry = LogEntry::arrival(&parts, &path, now.moment);
        let Some((api, rest)) = split_api(&path) else {
            let response = json_response(StatusCode::NOT_FOUND, &json!({"detail": "Not Found"}));
            entry.status = 404;
            self.log.push(entry);
            return Reply::plain(response);
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
                    trickle: None,
                };
            }
            Some(Drawn::Status { kind, html, proxy }) => {
                let status = kind.status().unwrap_or(500);
                entry.fault = Some(kind);
                Some(error_response(api, status, html, proxy))
            }
            Some(Drawn::Burst { retry_after, bare }) => {
                let mut response = rate_limited(api, retry_after);
                if bare {
                    response.headers_mut().remove(RETRY_AFTER);
                    entry.fault = Some(FaultKind::RateLimitNoRetryAfter);
                } else {
                    entry.fault = Some(FaultKind::RateLimitBurst);
                }
                Some(response)
            }
            Some(Drawn::SlowProxy { status, html, proxy, delay }) => {
                let unread = parts.extensions.get::<UnreadBody>().cloned();
                match self.process(Stage::Admit, api, rest, &parts, &body, unread.as_ref(), now) {
                    // Turned away by the server itself: that answer gets through the proxy.
                    Some(refused) => Some(refused.response),
                    None => {
                        let response = error_response(api, status, html, proxy);
                        entry.fault = Some(FaultKind::SlowProxy);
                        entry.status = response.status().as_u16();
                        let arrival = self.log.push(entry);
                        let at = Now::new(now.moment + delay, now.wall + delay);
                        let rest = rest.to_owned();
                        self.deferred.push(Deferred { at, api, rest, parts, body, arrival });
                        return Reply::plain(response);
                    }
                }
            }
            _ => None,
        };
        if let Some(response) = early {
            entry.status = response.status().as_u16();
            entry.retry_after = logged_retry_after(&response);
            self.log.push(entry);
            return Reply::plain(response);
        }

        let mut repeat_token = None;
        if let Some(Drawn::Loop { share }) = drawn {
            if let Some(uri) = earlier_page(&parts, share) {
                parts.uri = uri;
                entry.fault = Some(FaultKind::LoopingPages);
            } else {
                repeat_token = followed_token(&parts, &body);
            }
        }

        let unread = parts.extensions.get::<UnreadBody>().cloned();
        let outcome = self
            .process(Stage::All, api, rest, &parts, &body, unread.as_ref(), now)
            .unwrap_or_else(|| Outcome::read(empty(StatusCode::INTERNAL_SERVER_ERROR)));
        let mut response = outcome.response;
        if let Some(token) = repeat_token {
            if repeat_next_token(&mut response, &token) {
                entry.fault = Some(FaultKind::LoopingPages);
            }
        }
        entry.status = response.status().as_u16();
        entry.retry_after = logged_retry_after(&response);
        entry.state_changed = outcome.changed;

        let mut trickle = None;
        let fault = match drawn {
            Some(Drawn::Trickle(t)) => {
                // Nothing to pace in an empty body: answered plainly.
                if !response.body().is_empty() {
                    entry.fault = Some(FaultKind::Trickle);
                    trickle = Some(t);
                }
                None
            }
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
        Reply { response, fault, trickle }
    }

    /// Answers one request to the storage side at `now`: a chunk `PUT` to a presigned URL
    /// (`{presigned_base}/_presigned/{upload_id}/{chunk_index}?expires=..&sig=..`), answered as
    /// S3 would: 200 with the chunk's `ETag` and no body, or an XML error (403 for an expired,
    /// used or forged URL, 400 for a chunk of the wrong length, 404 for an unknown or completed
    /// session). Any other path is not found here. Chunk `PUT`s are logged (with `api: None`),
    /// never rate limited, and draw only the chunk faults ([`FaultKind::ChunkFailure`],
    /// [`FaultKind::UrlExpiry`]).
    ///
    /// The chunk's bytes are read as a [`ChunkDigest`] extension when the transport attached
    /// one (a streaming server, or a transport that read a file range), or else from a body of
    /// [`Body::Bytes`]; they are never kept, only their length and hash.
    pub fn handle_presigned(&mut self, request: http::Request<Body>, now: Now) -> Reply {
        let now = self.observe(now);
        self.land(now);
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let mut entry = LogEntry::arrival(&parts, &path, now.moment);
        let outcome = match ChunkUrl::parse(&path, parts.uri.query()) {
            None => Outcome::read(presigned::no_such_key()),
            Some(url) => {
                let fault =
                    if parts.method == Method::PUT { self.faults.draw_chunk() } else { None };
                entry.fault = fault;
                let digest = parts
                    .extensions
                    .get::<ChunkDigest>()
                    .copied()
                    .or_else(|| ChunkDigest::of_body(&body));
                jockey::put_chunk(&mut self.jockey, &parts.method, &url, digest, fault, now)
            }
        };
        entry.status = outcome.response.status().as_u16();
        entry.state_changed = outcome.changed;
        self.log.push(entry);
        Reply::plain(outcome.response)
    }

    fn observe(&mut self, now: Now) -> Now {
        let now = match self.last {
            Some(last) if now.moment < last.moment => last,
            _ => now,
        };
        self.last = Some(now);
        now
    }

    /// Carries out a request (`stage` says how much of it). `None` only for [`Stage::Admit`]
    /// when the request was admitted.
    #[allow(clippy::too_many_arguments)]
    fn process(
        &mut self,
        stage: Stage,
        api: Api,
        rest: &str,
        parts: &http::request::Parts,
        body: &Body,
        unread: Option<&UnreadBody>,
        now: Now,
    ) -> Option<Outcome> {
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
        let admit = stage != Stage::Route;
        let route = stage != Stage::Admit;
        match api {
            Api::Jockey => {
                if admit {
                    let key = match jockey::authenticate(&ctx) {
                        Ok(key) => key,
                        Err(e) => return Some(Outcome::read(e.into_response())),
                    };
                    if let Some(rpm) = self.config.jockey_rpm {
                        let window = self
                            .jockey_limits
                            .entry(key)
                            .or_insert_with(|| SlidingWindow::new(rpm, Duration::from_secs(60)));
                        if let Err(wait) = window.admit(now.moment) {
                            return Some(Outcome::read(rate_limited(api, wait)));
                        }
                    }
                }
                route.then(|| jockey::route(&mut self.jockey, &mut ctx))
            }
            Api::Jack => {
                if admit {
                    if let Some(response) = self.jack.refusal(&ctx) {
                        return Some(Outcome::read(response));
                    }
                    if self.config.jack_rpm > 0 && self.jack_limit.admit(now.moment).is_err() {
                        // jack documents a fixed answer: Retry-After: 60.
                        return Some(Outcome::read(rate_limited(api, Duration::from_secs(60))));
                    }
                }
                route.then(|| self.jack.route(&mut ctx))
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

/// An injected 5xx: a proxy's HTML page, or JSON in the API's dialect.
fn error_response(api: Api, status: u16, html: bool, proxy: Proxy) -> Response<Bytes> {
    if !html {
        return server_error(api, status);
    }
    let mut r = Response::new(Bytes::from(html_page(status, proxy)));
    *r.status_mut() = status_code(status);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r.headers_mut().insert(SERVER, HeaderValue::from_static(proxy_server(proxy)));
    r
}

/// For a `GET` of page 2 or later of a page list: the same request for an earlier page
/// (`share` of the way from the first page to the one before it).
fn earlier_page(parts: &http::request::Parts, share: f64) -> Option<http::Uri> {
    if parts.method != Method::GET {
        return None;
    }
    let query = parts.uri.query()?;
    let page: u64 = Query::parse(Some(query)).get("page")?.parse().ok().filter(|&p| p >= 2)?;
    let earlier = 1 + ((share.clamp(0.0, 1.0) * (page - 1) as f64) as u64).min(page - 2);
    // The last `page` wins (`Query::get`).
    let path_and_query = format!("{}?{query}&page={earlier}", parts.uri.path());
    let mut uri = parts.uri.clone().into_parts();
    uri.path_and_query = Some(path_and_query.parse().ok()?);
    http::Uri::from_parts(uri).ok()
}

/// The `page_token` a search follows, when it follows one.
fn followed_token(parts: &http::request::Parts, body: &Body) -> Option<String> {
    if parts.method != Method::POST || !parts.uri.path().ends_with("/search") {
        return None;
    }
    let Body::Bytes(bytes) = body else { return None };
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    value.get("page_token")?.as_str().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Makes a search page that holds hits point back to `token`, the page it was reached by;
/// whether it did.
fn repeat_next_token(response: &mut Response<Bytes>, token: &str) -> bool {
    if response.status() != StatusCode::OK {
        return false;
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(response.body()) else {
        return false;
    };
    if value.get("data").and_then(|d| d.as_array()).is_none_or(|d| d.is_empty()) {
        return false;
    }
    value["next_page_token"] = json!(token);
    *response.body_mut() = Bytes::from(value.to_string());
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    true
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
