//! The fault plan: per-request probabilities of the failures real networks and proxies produce.
//!
//! Each request to either API draws once from the plan's own seeded generator (separate from
//! the one that draws ids and processing times, so turning faults on does not change which ids
//! and durations a scenario sees). At most one fault applies per request:
//!
//! | kind | what the client sees | state changed? |
//! |---|---|---|
//! | 500 / 502 / 503 / 504 | that status, with a JSON body in the API's dialect or a proxy's HTML page | no |
//! | 429 burst | this and the next few requests to the same API get 429 with `Retry-After` | no |
//! | reset before processing | the connection is reset, no response | no |
//! | reset after processing | the request is carried out, then the connection is reset | maybe |
//! | truncated body | the request is carried out; the body stops short of its `Content-Length` | maybe |
//! | slow response | the request is carried out; the response comes after a delay | maybe |
//! | slow proxy | a proxy answers 504 (or 502) at once; the request is carried out later | later |
//! | trickle | the request is carried out; the body comes slowly, in timed pieces | maybe |
//! | 429 without `Retry-After` | like a 429 burst, but its 429s name no wait | no |
//! | looping pages | a later page comes back as an earlier one, or a page token repeats | no |
//! | chunk failure | a chunk `PUT` to a presigned URL answers 500 (S3-style XML); the chunk is not stored | no |
//! | URL expiry | a chunk `PUT` answers 403 "Request has expired", as if its URL's hour had passed | the URL is spent |
//!
//! The last two apply only to chunk `PUT`s to presigned URLs (the storage side of a multipart
//! upload), and the others only to API requests: each request draws from the kinds that apply
//! to it, chunk `PUT`s from a generator of their own, so uploading chunks does not shift the
//! API's draws.
//!
//! A trickled body comes in `trickle_pieces` pieces `trickle_every` apart; an event stream comes
//! an event at a time, with a `: keepalive` comment between two events.
//!
//! A slow proxy's request is carried out at its landing time: the model keeps it until then and
//! applies it before anything that arrives later (or when [`Emulator::catch_up`] is called), so
//! a lookup right after the 504 finds nothing and one after the landing finds the resource. Its
//! landing is logged as an entry of its own ([`LogEntry::landing_of`] names the arrival).
//!
//! Looping pages only apply where a listing can loop: a `GET` asking for `page` N >= 2 is
//! answered as an earlier page (its `page_info` says which), and a search that follows a
//! `page_token` and gets a non-empty page is given that same token as its `next_page_token`.
//! Any other request drawn for it is answered plainly (and logged without a fault).
//!
//! [`Emulator::catch_up`]: crate::Emulator::catch_up
//! [`LogEntry::landing_of`]: crate::LogEntry::landing_of

use std::time::Duration;

use bytes::Bytes;
use rein_core::{Api, Moment, SplitMix64};

use crate::config::Span;
use crate::wire::{between, unit};

/// Per-request fault probabilities. The sum over the kinds that apply to a request (the API
/// kinds for an API request, [`FaultKind::applies_to_chunks`] for a chunk `PUT`) is the chance
/// that it meets a fault; a sum above 1 is treated as 1 (later kinds get what is left).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// 500 Internal Server Error.
    pub internal_error: f64,
    /// 502 Bad Gateway.
    pub bad_gateway: f64,
    /// 503 Service Unavailable.
    pub service_unavailable: f64,
    /// 504 Gateway Timeout.
    pub gateway_timeout: f64,
    /// The share of injected 5xx answered with a proxy's HTML page instead of JSON (0..=1).
    pub html_share: f64,
    /// The start of a run of consecutive 429s.
    pub rate_limit_burst: f64,
    /// How many 429s a burst holds, the first included (uniform in the range); a burst also
    /// ends once its `Retry-After` has passed since its first 429.
    pub burst_len: (u32, u32),
    /// The `Retry-After` of a Jockey burst's 429s (jack's always say 60, as jack documents).
    pub burst_retry_after: Span,
    /// The connection is reset before the request is carried out.
    pub reset_before: f64,
    /// The request is carried out, then the connection is reset before the response.
    pub reset_after: f64,
    /// The response body is cut short.
    pub truncated_body: f64,
    /// The response is delayed.
    pub slow_response: f64,
    /// How long a slow response is delayed (emulated time).
    pub slow_delay: Span,
    /// A proxy answers 504 (or 502) at once, and the server behind it carries the request out
    /// later.
    pub slow_proxy: f64,
    /// How long after a slow proxy's answer the request is carried out (emulated time).
    pub slow_proxy_delay: Span,
    /// The body is sent slowly: in pieces at an interval, an event stream with a `: keepalive`
    /// comment between its events.
    pub trickle: f64,
    /// The interval between a trickled body's pieces (emulated time).
    pub trickle_every: Span,
    /// How many pieces a trickled body (not an event stream) is sent in.
    pub trickle_pieces: u32,
    /// The start of a run of consecutive 429s that carry no `Retry-After` (its length as
    /// `burst_len`; it also ends once a `burst_retry_after` drawn for it has passed).
    pub rate_limit_no_retry_after: f64,
    /// A listing loops: a later page is answered as an earlier one, or a search page gives the
    /// token just followed as its `next_page_token`.
    pub looping_pages: f64,
    /// A chunk `PUT` to a presigned URL answers 500 with an S3-style XML body; the chunk is not
    /// stored (its status reads `failed` until it is uploaded again).
    pub chunk_failure: f64,
    /// A chunk `PUT` to a presigned URL answers 403 "Request has expired", as if its hour had
    /// passed: the URL is spent, and the chunk needs a fresh one.
    pub url_expiry: f64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan::none()
    }
}

impl FaultPlan {
    /// No faults at all.
    pub fn none() -> Self {
        FaultPlan::spread(0.0)
    }

    /// A total per-request fault probability `total` (what `--faults P` gives): an API request
    /// meets one of the thirteen API kinds with probability `total`, spread evenly over them,
    /// and a chunk `PUT` to a presigned URL meets one of the two chunk kinds (chunk failure,
    /// URL expiry) with probability `total`, spread evenly over those. Half of the injected 5xx
    /// have HTML bodies.
    pub fn spread(total: f64) -> Self {
        let total = if total.is_finite() { total.clamp(0.0, 1.0) } else { 0.0 };
        let each = total / FaultKind::API_KINDS as f64;
        let each_chunk = total / (FaultKind::ALL.len() - FaultKind::API_KINDS) as f64;
        FaultPlan {
            internal_error: each,
            bad_gateway: each,
            service_unavailable: each,
            gateway_timeout: each,
            html_share: 0.5,
            rate_limit_burst: each,
            burst_len: (2, 4),
            burst_retry_after: Span::secs(1, 5),
            reset_before: each,
            reset_after: each,
            truncated_body: each,
            slow_response: each,
            slow_delay: Span::secs(1, 10),
            slow_proxy: each,
            // Inside a client's request timeout plus a settling moment (rein's: 120 s + 5 s),
            // as a proxy's own timeout would be.
            slow_proxy_delay: Span::secs(1, 20),
            trickle: each,
            trickle_every: Span { min: Duration::from_millis(500), max: Duration::from_secs(2) },
            trickle_pieces: 8,
            rate_limit_no_retry_after: each,
            looping_pages: each,
            chunk_failure: each_chunk,
            url_expiry: each_chunk,
        }
    }

    /// Only `kind`, with probability `p` (handy in tests).
    pub fn only(kind: FaultKind, p: f64) -> Self {
        let mut plan = FaultPlan::none();
        *plan.slot(kind) = p;
        plan
    }

    /// The chance that an API request meets a fault (a burst's follow-up 429s not counted).
    pub fn total(&self) -> f64 {
        self.sum(false)
    }

    /// The chance that a chunk `PUT` to a presigned URL meets a fault.
    pub fn chunk_total(&self) -> f64 {
        self.sum(true)
    }

    fn sum(&self, chunks: bool) -> f64 {
        FaultKind::ALL
            .iter()
            .filter(|k| k.applies_to_chunks() == chunks)
            .map(|&k| self.probability(k))
            .sum::<f64>()
            .min(1.0)
    }

    /// The probability of `kind`.
    pub fn probability(&self, kind: FaultKind) -> f64 {
        let p = match kind {
            FaultKind::InternalError => self.internal_error,
            FaultKind::BadGateway => self.bad_gateway,
            FaultKind::ServiceUnavailable => self.service_unavailable,
            FaultKind::GatewayTimeout => self.gateway_timeout,
            FaultKind::RateLimitBurst => self.rate_limit_burst,
            FaultKind::ResetBeforeProcessing => self.reset_before,
            FaultKind::ResetAfterProcessing => self.reset_after,
            FaultKind::TruncatedBody => self.truncated_body,
            FaultKind::SlowResponse => self.slow_response,
            FaultKind::SlowProxy => self.slow_proxy,
            FaultKind::Trickle => self.trickle,
            FaultKind::RateLimitNoRetryAfter => self.rate_limit_no_retry_after,
            FaultKind::LoopingPages => self.looping_pages,
            FaultKind::ChunkFailure => self.chunk_failure,
            FaultKind::UrlExpiry => self.url_expiry,
        };
        if p.is_finite() {
            p.max(0.0)
        } else {
            0.0
        }
    }

    fn slot(&mut self, kind: FaultKind) -> &mut f64 {
        match kind {
            FaultKind::InternalError => &mut self.internal_error,
            FaultKind::BadGateway => &mut self.bad_gateway,
            FaultKind::ServiceUnavailable => &mut self.service_unavailable,
            FaultKind::GatewayTimeout => &mut self.gateway_timeout,
            FaultKind::RateLimitBurst => &mut self.rate_limit_burst,
            FaultKind::ResetBeforeProcessing => &mut self.reset_before,
            FaultKind::ResetAfterProcessing => &mut self.reset_after,
            FaultKind::TruncatedBody => &mut self.truncated_body,
            FaultKind::SlowResponse => &mut self.slow_response,
            FaultKind::SlowProxy => &mut self.slow_proxy,
            FaultKind::Trickle => &mut self.trickle,
            FaultKind::RateLimitNoRetryAfter => &mut self.rate_limit_no_retry_after,
            FaultKind::LoopingPages => &mut self.looping_pages,
            FaultKind::ChunkFailure => &mut self.chunk_failure,
            FaultKind::UrlExpiry => &mut self.url_expiry,
        }
    }
}

/// A kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 500.
    InternalError,
    /// 502.
    BadGateway,
    /// 503.
    ServiceUnavailable,
    /// 504.
    GatewayTimeout,
    /// A 429 (the start of a burst, or one of its follow-ups).
    RateLimitBurst,
    /// Connection reset, request not carried out.
    ResetBeforeProcessing,
    /// Request carried out, connection reset before the response.
    ResetAfterProcessing,
    /// Request carried out, body cut short.
    TruncatedBody,
    /// Request carried out, response delayed.
    SlowResponse,
    /// A proxy's 504 (or 502) at once, the request carried out later; also the entry of its
    /// landing.
    SlowProxy,
    /// Request carried out, body sent slowly.
    Trickle,
    /// A 429 without `Retry-After` (the start of such a burst, or one of its follow-ups).
    RateLimitNoRetryAfter,
    /// A listing's page answered as an earlier one, or a page token repeated.
    LoopingPages,
    /// A chunk `PUT` to a presigned URL answered 500; the chunk not stored.
    ChunkFailure,
    /// A chunk `PUT` to a presigned URL answered 403 "Request has expired"; the URL spent.
    UrlExpiry,
}

impl FaultKind {
    /// Every kind, in the order the plan draws them: the API kinds first, then the chunk kinds.
    pub const ALL: [FaultKind; 15] = [
        FaultKind::InternalError,
        FaultKind::BadGateway,
        FaultKind::ServiceUnavailable,
        FaultKind::GatewayTimeout,
        FaultKind::RateLimitBurst,
        FaultKind::ResetBeforeProcessing,
        FaultKind::ResetAfterProcessing,
        FaultKind::TruncatedBody,
        FaultKind::SlowResponse,
        FaultKind::SlowProxy,
        FaultKind::Trickle,
        FaultKind::RateLimitNoRetryAfter,
        FaultKind::LoopingPages,
        FaultKind::ChunkFailure,
        FaultKind::UrlExpiry,
    ];

    /// How many kinds apply to API requests: the first of [`FaultKind::ALL`].
    pub const API_KINDS: usize = 13;

    /// Whether the kind applies to chunk `PUT`s to presigned URLs (and to nothing else); the
    /// others apply to API requests only.
    pub const fn applies_to_chunks(self) -> bool {
        matches!(self, FaultKind::ChunkFailure | FaultKind::UrlExpiry)
    }

    /// A short snake_case name (used in the request log).
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::InternalError => "internal_error",
            FaultKind::BadGateway => "bad_gateway",
            FaultKind::ServiceUnavailable => "service_unavailable",
            FaultKind::GatewayTimeout => "gateway_timeout",
            FaultKind::RateLimitBurst => "rate_limit_burst",
            FaultKind::ResetBeforeProcessing => "reset_before_processing",
            FaultKind::ResetAfterProcessing => "reset_after_processing",
            FaultKind::TruncatedBody => "truncated_body",
            FaultKind::SlowResponse => "slow_response",
            FaultKind::SlowProxy => "slow_proxy",
            FaultKind::Trickle => "trickle",
            FaultKind::RateLimitNoRetryAfter => "rate_limit_no_retry_after",
            FaultKind::LoopingPages => "looping_pages",
            FaultKind::ChunkFailure => "chunk_failure",
            FaultKind::UrlExpiry => "url_expiry",
        }
    }

    /// The status of an injected error response, for the kinds that answer one always the same
    /// (a slow proxy answers 504 or 502).
    pub const fn status(self) -> Option<u16> {
        match self {
            FaultKind::InternalError => Some(500),
            FaultKind::BadGateway => Some(502),
            FaultKind::ServiceUnavailable => Some(503),
            FaultKind::GatewayTimeout => Some(504),
            FaultKind::RateLimitBurst | FaultKind::RateLimitNoRetryAfter => Some(429),
            FaultKind::ChunkFailure => Some(500),
            FaultKind::UrlExpiry => Some(403),
            _ => None,
        }
    }
}

/// One request's draw from the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Drawn {
    /// An error response instead of processing.
    Status { kind: FaultKind, html: bool, proxy: Proxy },
    /// A 429 of a burst, with its Retry-After (emulated), left out when `bare`.
    Burst { retry_after: Duration, bare: bool },
    /// Reset without processing.
    ResetBefore,
    /// Process, then act this out on the wire.
    After(AfterFault),
    /// A proxy's error now, the request carried out `delay` later.
    SlowProxy { status: u16, html: bool, proxy: Proxy, delay: Duration },
    /// Process, then send the body slowly.
    Trickle(Trickle),
    /// Answer a later page as an earlier one; `share` picks which (0..1 of the pages before).
    Loop { share: f64 },
}

/// A fault acted out after the request was carried out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum AfterFault {
    Reset,
    /// Keep this share of the body (0..1).
    Truncate(f64),
    Delay(Duration),
}

/// A body sent slowly: what [`Reply::trickle`](crate::Reply::trickle) asks of a transport.
///
/// A body that is not an event stream goes out in `pieces` pieces, one every `every`; an event
/// stream goes out one event at a time, with a [`KEEPALIVE`] comment between two events, each
/// `every` after the one before. [`Trickle::schedule`] gives the pieces with their times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trickle {
    /// The time between two pieces (emulated).
    pub every: Duration,
    /// How many pieces a body that is not an event stream is cut into (at least 1).
    pub pieces: u32,
}

/// The comment a trickled event stream sends between its events.
pub const KEEPALIVE: &[u8] = b": keepalive\n\n";

impl Trickle {
    /// The pieces of `body` as they go out, each with its time after the response's head
    /// (emulated, increasing). `event_stream`: the body is server-sent events.
    pub fn schedule(&self, body: &Bytes, event_stream: bool) -> Vec<(Duration, Bytes)> {
        if body.is_empty() {
            return Vec::new();
        }
        if event_stream {
            let mut out = Vec::new();
            for (i, event) in events(body).into_iter().enumerate() {
                if i > 0 {
                    out.push((self.every * (2 * i as u32 - 1), Bytes::from_static(KEEPALIVE)));
                }
                out.push((self.every * (2 * i as u32), event));
            }
            return out;
        }
        let pieces = (self.pieces.max(1) as usize).min(body.len());
        let size = body.len().div_ceil(pieces);
        (0..body.len())
            .step_by(size)
            .enumerate()
            .map(|(i, start)| {
                (self.every * i as u32, body.slice(start..(start + size).min(body.len())))
            })
            .collect()
    }
}

/// Server-sent events one by one: `body` cut after each blank line (`\n\n`).
pub(crate) fn events(body: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < body.len() {
        if body[i] == b'\n' && body[i + 1] == b'\n' {
            out.push(body.slice(start..i + 2));
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    if start < body.len() {
        out.push(body.slice(start..));
    }
    out
}

/// Which proxy an HTML error page imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proxy {
    Nginx,
    LoadBalancer,
}

/// The plan plus its generator and the bursts in progress.
#[derive(Debug)]
pub(crate) struct Faults {
    plan: FaultPlan,
    rng: SplitMix64,
    /// Chunk `PUT`s draw from a stream of their own, so they do not shift the API's draws.
    chunk_rng: SplitMix64,
    burst_left: [u32; 2],
    burst_retry_after: [Duration; 2],
    /// Whether each API's burst leaves `Retry-After` out.
    burst_bare: [bool; 2],
    /// When each API's burst ends at the latest: its Retry-After, counted from its first 429.
    /// A client that waits as asked is not refused again by the same burst.
    burst_until: [Moment; 2],
}

impl Faults {
    pub(crate) fn new(plan: FaultPlan, seed: u64) -> Self {
        Faults {
            plan,
            // A stream of its own, so faults do not shift the model's other draws.
            rng: SplitMix64::new(seed ^ 0xFA17_FA17_FA17_FA17),
            chunk_rng: SplitMix64::new(seed ^ 0xC4C4_FA17_C4C4_FA17),
            burst_left: [0; 2],
            burst_retry_after: [Duration::ZERO; 2],
            burst_bare: [false; 2],
            burst_until: [Moment::ZERO; 2],
        }
    }

    /// Draws from `plan` from now on; bursts in progress end.
    pub(crate) fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.burst_left = [0; 2];
    }

    /// The fault for the next request to `api`, arriving at `now`, if any.
    pub(crate) fn draw(&mut self, api: Api, now: Moment) -> Option<Drawn> {
        let slot = match api {
            Api::Jockey => 0,
            Api::Jack => 1,
        };
        if now >= self.burst_until[slot] {
            self.burst_left[slot] = 0;
        }
        if self.burst_left[slot] > 0 {
            self.burst_left[slot] -= 1;
            return Some(Drawn::Burst {
                retry_after: self.burst_retry_after[slot],
                bare: self.burst_bare[slot],
            });
        }
        if self.plan.total() <= 0.0 {
            return None;
        }
        let mut u = unit(&mut self.rng);
        let mut chosen = None;
        for kind in FaultKind::ALL.into_iter().filter(|k| !k.applies_to_chunks()) {
            let p = self.plan.probability(kind);
            if u < p {
                chosen = Some(kind);
                break;
            }
            u -= p;
        }
        let kind = chosen?;
        Some(match kind {
            FaultKind::InternalError
            | FaultKind::BadGateway
            | FaultKind::ServiceUnavailable
            | FaultKind::GatewayTimeout => Drawn::Status {
                kind,
                html: unit(&mut self.rng) < self.plan.html_share,
                proxy: if unit(&mut self.rng) < 0.5 { Proxy::Nginx } else { Proxy::LoadBalancer },
            },
            FaultKind::RateLimitBurst | FaultKind::RateLimitNoRetryAfter => {
                let (lo, hi) = self.plan.burst_len;
                let (lo, hi) = (lo.min(hi).max(1), hi.max(lo).max(1));
                let len = lo + (unit(&mut self.rng) * f64::from(hi - lo + 1)) as u32;
                let len = len.min(hi);
                let span = self.plan.burst_retry_after;
                let retry_after = match api {
                    Api::Jack => Duration::from_secs(60),
                    Api::Jockey => Duration::from_secs(
                        between(&mut self.rng, span.min, span.max).as_secs_f64().ceil() as u64,
                    ),
                };
                self.burst_left[slot] = len - 1;
                self.burst_retry_after[slot] = retry_after;
                let bare = kind == FaultKind::RateLimitNoRetryAfter;
                self.burst_until[slot] = now + retry_after;
                self.burst_bare[slot] = bare;
                Drawn::Burst { retry_after, bare }
            }
            FaultKind::ResetBeforeProcessing => Drawn::ResetBefore,
            FaultKind::ResetAfterProcessing => Drawn::After(AfterFault::Reset),
            FaultKind::TruncatedBody => {
                Drawn::After(AfterFault::Truncate(unit(&mut self.rng) * 0.9))
            }
            FaultKind::SlowResponse => {
                let span = self.plan.slow_delay;
                Drawn::After(AfterFault::Delay(between(&mut self.rng, span.min, span.max)))
            }
            FaultKind::SlowProxy => {
                let status = if unit(&mut self.rng) < 0.75 { 504 } else { 502 };
                let html = unit(&mut self.rng) < self.plan.html_share;
                let proxy =
                    if unit(&mut self.rng) < 0.5 { Proxy::Nginx } else { Proxy::LoadBalancer };
                let span = self.plan.slow_proxy_delay;
                let delay = between(&mut self.rng, span.min, span.max);
                Drawn::SlowProxy { status, html, proxy, delay }
            }
            FaultKind::Trickle => {
                let span = self.plan.trickle_every;
                Drawn::Trickle(Trickle {
                    every: between(&mut self.rng, span.min, span.max),
                    pieces: self.plan.trickle_pieces.max(1),
                })
            }
            FaultKind::LoopingPages => Drawn::Loop { share: unit(&mut self.rng) },
            // Not drawn for API requests (filtered out above).
            FaultKind::ChunkFailure | FaultKind::UrlExpiry => return None,
        })
    }

    /// The fault for the next chunk `PUT` to a presigned URL, if any: one of the chunk kinds.
    pub(crate) fn draw_chunk(&mut self) -> Option<FaultKind> {
        if self.plan.chunk_total() <= 0.0 {
            return None;
        }
        let mut u = unit(&mut self.chunk_rng);
        for kind in FaultKind::ALL.into_iter().filter(|k| k.applies_to_chunks()) {
            let p = self.plan.probability(kind);
            if u < p {
                return Some(kind);
            }
            u -= p;
        }
        None
    }
}

/// The reason phrase of a status the plan injects.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => "Error",
    }
}

/// A proxy's HTML error page, as nginx or a cloud load balancer writes it.
pub(crate) fn html_page(status: u16, proxy: Proxy) -> String {
    let title = format!("{status} {}", reason(status));
    match proxy {
        Proxy::Nginx => format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
        Proxy::LoadBalancer => format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        ),
    }
}

/// The `server` header that goes with a proxy's page.
pub(crate) fn proxy_server(proxy: Proxy) -> &'static str {
    match proxy {
        Proxy::Nginx => "nginx",
        Proxy::LoadBalancer => "awselb/2.0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_plan_draws_nothing() {
        let mut f = Faults::new(FaultPlan::none(), 1);
        assert!((0..1000).all(|_| f.draw(Api::Jack, Moment::ZERO).is_none()));
    }

    #[test]
    fn a_spread_plan_hits_about_its_total_and_every_kind() {
        let mut f = Faults::new(FaultPlan::spread(0.45), 3);
        let mut hits = 0;
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..20_000 {
            if let Some(d) = f.draw(Api::Jockey, Moment::ZERO) {
                hits += 1;
                kinds.insert(std::mem::discriminant(&d));
            }
        }
        // Bursts add follow-up 429s on top of the drawn share.
        assert!((9_000..12_500).contains(&hits), "{hits}");
        assert_eq!(kinds.len(), 7);
    }

    #[test]
    fn every_kind_is_named_and_the_api_kinds_come_first() {
        let names: std::collections::HashSet<&str> =
            FaultKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), 15);
        assert!(FaultKind::ALL[..FaultKind::API_KINDS].iter().all(|k| !k.applies_to_chunks()));
        assert!(FaultKind::ALL[FaultKind::API_KINDS..].iter().all(|k| k.applies_to_chunks()));
        assert_eq!(FaultKind::ChunkFailure.name(), "chunk_failure");
        assert_eq!(FaultKind::UrlExpiry.name(), "url_expiry");
    }

    #[test]
    fn a_spread_plan_gives_api_requests_and_chunk_puts_each_its_total() {
        let plan = FaultPlan::spread(0.26);
        assert!((plan.total() - 0.26).abs() < 1e-9);
        assert!((plan.chunk_total() - 0.26).abs() < 1e-9);
        assert!((plan.internal_error - 0.02).abs() < 1e-9, "thirteen API kinds");
        assert!((plan.chunk_failure - 0.13).abs() < 1e-9, "two chunk kinds");

        let mut f = Faults::new(plan, 5);
        let mut chunk_hits = std::collections::HashMap::new();
        for _ in 0..20_000 {
            if let Some(kind) = f.draw_chunk() {
                *chunk_hits.entry(kind).or_insert(0) += 1;
            }
        }
        let hits: u32 = chunk_hits.values().sum();
        assert!((4_500..6_000).contains(&hits), "{hits}");
        assert_eq!(chunk_hits.len(), 2);
    }

    #[test]
    fn chunk_kinds_never_fault_api_requests_and_api_kinds_never_fault_chunks() {
        let mut f = Faults::new(FaultPlan::only(FaultKind::ChunkFailure, 1.0), 1);
        assert!((0..100).all(|_| f.draw(Api::Jockey, Moment::ZERO).is_none()));
        assert!((0..100).all(|_| f.draw_chunk() == Some(FaultKind::ChunkFailure)));
        let mut f = Faults::new(FaultPlan::only(FaultKind::InternalError, 1.0), 1);
        assert!((0..100).all(|_| f.draw_chunk().is_none()));
    }

    #[test]
    fn a_burst_is_a_run_of_429s_on_one_api() {
        let mut plan = FaultPlan::only(FaultKind::RateLimitBurst, 1.0);
        plan.burst_len = (3, 3);
        let mut f = Faults::new(plan, 9);
        let first = f.draw(Api::Jack, Moment::ZERO);
        assert_eq!(first, Some(Drawn::Burst { retry_after: Duration::from_secs(60), bare: false }));
        assert!(matches!(f.draw(Api::Jack, Moment::ZERO), Some(Drawn::Burst { .. })));
        assert!(matches!(f.draw(Api::Jack, Moment::from_secs(59)), Some(Drawn::Burst { .. })));
    }

    #[test]
    fn a_burst_ends_when_its_retry_after_has_passed() {
        let mut plan = FaultPlan::only(FaultKind::RateLimitBurst, 1.0);
        plan.burst_len = (3, 3);
        let mut f = Faults::new(plan, 9);
        assert!(matches!(f.draw(Api::Jack, Moment::ZERO), Some(Drawn::Burst { .. })));
        // Waited as asked: the retry is not refused by the same burst (a new one may start).
        f.plan.rate_limit_burst = 0.0;
        assert_eq!(f.draw(Api::Jack, Moment::from_secs(60)), None);
    }

    #[test]
    fn a_bare_burst_is_a_run_of_429s_without_retry_after() {
        let mut plan = FaultPlan::only(FaultKind::RateLimitNoRetryAfter, 1.0);
        plan.burst_len = (2, 2);
        let mut f = Faults::new(plan, 9);
        for _ in 0..2 {
            assert!(matches!(
                f.draw(Api::Jockey, Moment::ZERO),
                Some(Drawn::Burst { bare: true, .. })
            ));
        }
    }

    #[test]
    fn a_trickle_cuts_bodies_into_timed_pieces_and_streams_into_events_with_keepalives() {
        let t = Trickle { every: Duration::from_secs(1), pieces: 3 };
        let body = Bytes::from_static(b"0123456789");
        let pieces = t.schedule(&body, false);
        let times: Vec<u64> = pieces.iter().map(|(at, _)| at.as_secs()).collect();
        assert_eq!(times, [0, 1, 2]);
        assert_eq!(pieces.iter().flat_map(|(_, b)| b.to_vec()).collect::<Vec<u8>>(), body);
        assert_eq!(t.schedule(&Bytes::from_static(b"x"), false).len(), 1);

        let stream =
            Bytes::from_static(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\ndata: [DONE]\n\n");
        let pieces = t.schedule(&stream, true);
        let shown: Vec<(u64, &[u8])> =
            pieces.iter().map(|(at, b)| (at.as_secs(), &b[..])).collect();
        assert_eq!(
            shown,
            [
                (0, &b"event: a\ndata: 1\n\n"[..]),
                (1, KEEPALIVE),
                (2, b"event: b\ndata: 2\n\n"),
                (3, KEEPALIVE),
                (4, b"data: [DONE]\n\n"),
            ]
        );
    }

    #[test]
    fn html_pages_look_like_proxies() {
        let page = html_page(502, Proxy::Nginx);
        assert!(page.contains("<title>502 Bad Gateway</title>"));
        assert!(page.contains("nginx"));
    }
}
