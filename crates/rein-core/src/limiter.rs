//! Client-side rate limiting, shared by every call of a client.
//!
//! jack allows 60 requests per minute per organisation, in a sliding window, across all
//! endpoints; Jockey publishes no number. A [`Limiter`] keeps, per API:
//!
//! - a sliding [`Window`] (on by default for jack, optional for Jockey), of which bulk work
//!   (fleet polls, `ingest_many` batches) may use only its share: the rest stays reserved for
//!   the caller's other calls, so a bulk job never starves them ([`Priority`]);
//! - a pause: a 429 with a wait holds every request of the client to that API until the wait
//!   is over, not only the call that got it;
//! - the limits the server advertises (`X-Ratelimit-Limit`, `-Remaining`, `-Reset`, per
//!   endpoint, as Twelve Labs documented for v1.2): no request to an endpoint whose budget is
//!   spent before its reset;
//! - where no window is configured and nothing is advertised, a limit learned from 429s:
//!   halved on each 429 (from what was sent in the last minute), raised by a little every
//!   minute after it, so the client stops hitting the wall instead of hitting it again.
//!
//! Machines consult the limiter through the [`RateLimit`] trait before every send
//! ([`Ask`]) and tell it what each response said about the limit ([`Report`]), so a limiter
//! shared across processes (say, one kept in Redis) can replace the in-memory one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::api::{Api, Operation};
use crate::time::{Moment, Now};

/// What machines ask of a rate limiter. Implementations are shared between calls (`Send + Sync`).
pub trait RateLimit: Send + Sync {
    /// Takes a slot for one request at `now`, or says when to ask again.
    fn try_acquire(&self, ask: Ask, now: Moment) -> Result<(), Moment>;
    /// What a response said about the limit: a 429 (with the wait it asked for), or the
    /// limit the server advertised.
    fn report(&self, report: &Report, now: Moment);
}

/// Whose request asks for a slot: the caller's own calls, or bulk work that must leave them
/// room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Priority {
    /// A call the caller is waiting on (the default): may use the whole budget.
    #[default]
    Interactive,
    /// Fleet polls and `ingest_many` batches: may use only the budget not reserved
    /// ([`Limiter::reserve`]).
    Bulk,
}

/// One request asking for a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ask {
    /// The operation the request performs (its API with it).
    pub operation: Operation,
    /// Whose request it is.
    pub priority: Priority,
}

impl Ask {
    /// The API the request goes to.
    pub fn api(&self) -> Api {
        self.operation.api()
    }
}

/// What one response said about the rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The operation answered.
    pub operation: Operation,
    /// The response was a 429.
    pub throttled: bool,
    /// No request to the API before this moment (a 429's wait, capped by the retry policy).
    pub pause_until: Option<Moment>,
    /// The limit the response's headers advertised for this operation.
    pub advertised: Option<Advertised>,
}

impl Report {
    /// The API answered.
    pub fn api(&self) -> Api {
        self.operation.api()
    }
}

/// A limit the server advertised in a response's headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advertised {
    /// Requests allowed per window (`X-Ratelimit-Limit`).
    pub limit: u32,
    /// Requests left in this window (`X-Ratelimit-Remaining`).
    pub remaining: u32,
    /// When the window resets (`X-Ratelimit-Reset`, on the client's clock).
    pub reset_at: Moment,
}

impl Advertised {
    /// The limit a response's headers advertise: `X-Ratelimit-Limit`, `X-Ratelimit-Remaining`
    /// and `X-Ratelimit-Reset` (UTC epoch seconds), all three valid, the reset still ahead.
    /// The reset is measured against the response's `Date` when it has one, so a skewed local
    /// clock changes nothing, and converted to the client's clock (its time scale included).
    pub fn from_headers(headers: &http::HeaderMap, now: Now) -> Option<Advertised> {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let limit = u32::try_from(number("x-ratelimit-limit")?).unwrap_or(u32::MAX);
        let remaining = u32::try_from(number("x-ratelimit-remaining")?).unwrap_or(u32::MAX);
        let reset = SystemTime::UNIX_EPOCH + Duration::from_secs(number("x-ratelimit-reset")?);
        let reference = headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| httpdate::parse_http_date(s.trim()).ok())
            .unwrap_or(now.wall);
        let until = reset.duration_since(reference).ok().filter(|d| !d.is_zero())?;
        Some(Advertised { limit, remaining, reset_at: now.moment + now.from_real(until) })
    }
}

/// Extra time a window slot is held, for the difference in latency between two requests.
pub const WINDOW_MARGIN: Duration = Duration::from_millis(500);

/// The share of a budget kept for calls other than bulk work, unless configured otherwise.
pub const DEFAULT_RESERVE: f64 = 0.2;

/// How much a learned limit grows, in requests per minute, for each minute without a 429.
// GUESS: no source gives a rate of increase; one request per minute per minute is TCP's
// congestion avoidance (one segment per round trip) with a minute as the round trip.
pub const LEARNED_INCREASE_PER_MINUTE: f64 = 1.0;

/// The least a learned limit falls to, in requests per minute: a 429 after a few requests
/// says that others share the budget, not that this client must nearly stop.
// GUESS: no source gives it; a request every 6 s keeps a waiting caller moving.
pub const LEARNED_FLOOR_RPM: f64 = 10.0;

/// 429s closer together than this halve a learned limit once: the requests in flight when the
/// first came back get theirs too, and say nothing new.
// GUESS: no source gives it; a few seconds covers a burst of requests answered together.
pub const LEARNED_DECREASE_SPACING: Duration = Duration::from_secs(5);

/// A sliding-window limit: at most `max_requests` in any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Requests allowed per window.
    pub max_requests: u32,
    /// The window's length.
    pub window: Duration,
}

impl Window {
    /// jack's documented limit: 60 requests per 60 s.
    pub const JACK: Window = Window { max_requests: 60, window: Duration::from_secs(60) };

    /// `n` requests per minute.
    pub const fn per_minute(n: u32) -> Self {
        Window { max_requests: n, window: Duration::from_secs(60) }
    }

    /// How many of the window's requests `priority` may use with `reserve` of it kept back
    /// for interactive calls: all of it, or the rest (at least one, so bulk work moves).
    pub fn cap(&self, priority: Priority, reserve: f64) -> usize {
        let max = self.max_requests as usize;
        match priority {
            Priority::Interactive => max,
            Priority::Bulk => {
                let kept = (max as f64 * reserve).ceil() as usize;
                max.saturating_sub(kept).max(1.min(max))
            }
        }
    }
}

/// A limit learned from 429s: `rpm` at `since`, growing from there.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Learned {
    rpm: f64,
    since: Moment,
}

impl Learned {
    fn at(&self, now: Moment) -> f64 {
        let minutes = now.saturating_since(self.since).as_secs_f64() / 60.0;
        self.rpm + minutes * LEARNED_INCREASE_PER_MINUTE
    }
}

/// One API's state.
#[derive(Debug, Default)]
struct ApiLimits {
    window: Option<Window>,
    /// Sends within the last window (or minute, for a learned limit), oldest first.
    sent: VecDeque<Moment>,
    paused_until: Option<Moment>,
    /// Per operation: what the server advertised, with the sends since.
    advertised: HashMap<Operation, Advertised>,
    learned: Option<Learned>,
}

impl ApiLimits {
    /// The window in force at `now`: the configured one, or the learned one.
    fn window_at(&self, now: Moment) -> Option<Window> {
        self.window.or_else(|| {
            let rpm = self.learned?.at(now).floor().clamp(1.0, u32::MAX as f64);
            Some(Window::per_minute(rpm as u32))
        })
    }

    fn try_acquire(&mut self, ask: Ask, reserve: f64, now: Moment) -> Result<(), Moment> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        let advertised = self.advertised.get(&ask.operation).copied();
        let advertised = advertised.filter(|a| now < a.reset_at);
        if let Some(a) = advertised {
            let kept = match ask.priority {
                Priority::Interactive => 0,
                Priority::Bulk => (a.limit as f64 * reserve).ceil() as u32,
            };
            if a.remaining <= kept {
                return Err(a.reset_at);
            }
        }
        let window = self.window_at(now);
        let span = window.map_or(Duration::from_secs(60), |w| w.window);
        while self.sent.front().is_some_and(|&t| now.saturating_since(t) >= span + WINDOW_MARGIN) {
            self.sent.pop_front();
        }
        if let Some(w) = window {
            if w.max_requests == 0 {
                return Err(now + w.window);
            }
            let cap = w.cap(ask.priority, reserve);
            if self.sent.len() >= cap {
                // The request that frees a slot for this priority leaves the window at its
                // send + window. The server counts requests when they arrive, the client when it
                // sends; the margin keeps a request that travels faster than the one it replaces
                // from landing inside the window.
                let freeing = self.sent.len() - cap;
                let oldest = self.sent.get(freeing).copied().unwrap_or(now);
                return Err(oldest + w.window + WINDOW_MARGIN);
            }
        }
        if let Some(a) = self.advertised.get_mut(&ask.operation) {
            a.remaining = a.remaining.saturating_sub(1);
        }
        self.sent.push_back(now);
        Ok(())
    }

    fn report(&mut self, report: &Report, now: Moment) {
        if let Some(until) = report.pause_until {
            // Pauses only ever extend: an earlier, shorter Retry-After must not cut a longer one.
            self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
        }
        if let Some(advertised) = report.advertised {
            self.advertised.insert(report.operation, advertised);
        }
        let advertised = self.advertised.get(&report.operation).is_some_and(|a| now < a.reset_at);
        if report.throttled && self.window.is_none() && !advertised {
            let recent = self
                .learned
                .is_some_and(|l| now.saturating_since(l.since) < LEARNED_DECREASE_SPACING);
            if !recent {
                let minute = Duration::from_secs(60);
                let sent = self.sent.iter().filter(|&&t| now.saturating_since(t) < minute).count();
                let current = self.learned.map_or(f64::INFINITY, |l| l.at(now));
                let rpm = (current.min(sent as f64) / 2.0).max(LEARNED_FLOOR_RPM);
                self.learned = Some(Learned { rpm, since: now });
            }
        }
    }
}

/// The in-memory limiter: per API, a window, a pause, advertised and learned limits.
#[derive(Debug)]
pub struct Limiter {
    jockey: Mutex<ApiLimits>,
    jack: Mutex<ApiLimits>,
    reserve: f64,
}

impl Default for Limiter {
    /// jack limited to 60 requests per minute; Jockey unlimited until a 429 says otherwise.
    fn default() -> Self {
        Limiter::new(None, Some(Window::JACK))
    }
}

impl Limiter {
    /// A limiter with the given windows (`None`: no client-side window for that API), keeping
    /// [`DEFAULT_RESERVE`] of each budget from bulk work.
    pub fn new(jockey: Option<Window>, jack: Option<Window>) -> Self {
        Limiter {
            jockey: Mutex::new(ApiLimits { window: jockey, ..ApiLimits::default() }),
            jack: Mutex::new(ApiLimits { window: jack, ..ApiLimits::default() }),
            reserve: DEFAULT_RESERVE,
        }
    }

    /// A limiter with no windows; 429 pauses, advertised and learned limits still apply.
    pub fn unlimited() -> Self {
        Limiter::new(None, None)
    }

    /// Keeps `share` (0 to 1) of every budget for interactive calls: bulk work may use the
    /// rest. Out of range, it is clamped; not a number, the default stands.
    pub fn reserve(mut self, share: f64) -> Self {
        if !share.is_nan() {
            self.reserve = share.clamp(0.0, 1.0);
        }
        self
    }

    fn limits(&self, api: Api) -> std::sync::MutexGuard<'_, ApiLimits> {
        let limits = match api {
            Api::Jockey => &self.jockey,
            Api::Jack => &self.jack,
        };
        // A panic elsewhere cannot leave the state inconsistent: every update is a single step.
        limits.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the pause for `api` ends, if it is paused at `now`.
    pub fn paused_until(&self, api: Api, now: Moment) -> Option<Moment> {
        self.limits(api).paused_until.filter(|&until| until > now)
    }

    /// The limit learned from 429s for `api`, in requests per minute at `now`, if one was.
    pub fn learned_rpm(&self, api: Api, now: Moment) -> Option<f64> {
        self.limits(api).learned.map(|l| l.at(now))
    }
}

impl RateLimit for Limiter {
    fn try_acquire(&self, ask: Ask, now: Moment) -> Result<(), Moment> {
        self.limits(ask.api()).try_acquire(ask, self.reserve, now)
    }

    fn report(&self, report: &Report, now: Moment) {
        self.limits(report.api()).report(report, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(operation: Operation, priority: Priority) -> Ask {
        Ask { operation, priority }
    }

    const JACK: Ask = Ask { operation: Operation::Usage, priority: Priority::Interactive };
    const JOCKEY: Ask = Ask { operation: Operation::ListAssets, priority: Priority::Interactive };

    fn throttled(operation: Operation, pause_until: Option<Moment>) -> Report {
        Report { operation, throttled: true, pause_until, advertised: None }
    }

    #[test]
    fn the_61st_request_in_a_minute_waits_for_the_oldest_to_leave() {
        let l = Limiter::default();
        for i in 0..60 {
            assert_eq!(l.try_acquire(JACK, Moment::from_millis(i * 100)), Ok(()));
        }
        let free = Moment::from_secs(60) + WINDOW_MARGIN;
        assert_eq!(l.try_acquire(JACK, Moment::from_secs(10)), Err(free));
        assert_eq!(l.try_acquire(JACK, Moment::from_secs(60)), Err(free), "the margin holds");
        assert_eq!(l.try_acquire(JACK, free), Ok(()));
        // Jockey has no window by default.
        for _ in 0..1000 {
            assert_eq!(l.try_acquire(JOCKEY, Moment::ZERO), Ok(()));
        }
    }

    #[test]
    fn bulk_work_leaves_the_reserved_share_to_interactive_calls() {
        let l = Limiter::default();
        let bulk = ask(Operation::ListDocuments, Priority::Bulk);
        for i in 0..48 {
            assert_eq!(l.try_acquire(bulk, Moment::from_millis(i)), Ok(()), "bulk request {i}");
        }
        // The 49th bulk request waits for the first to leave the window...
        let free = Moment::from_millis(0) + Duration::from_secs(60) + WINDOW_MARGIN;
        assert_eq!(l.try_acquire(bulk, Moment::from_secs(1)), Err(free));
        // ...while the caller's own calls still have 12 slots.
        for _ in 0..12 {
            assert_eq!(l.try_acquire(JACK, Moment::from_secs(2)), Ok(()));
        }
        assert!(l.try_acquire(JACK, Moment::from_secs(2)).is_err(), "the whole window is used");
        // A share of nothing leaves bulk work the whole window.
        let all = Limiter::default().reserve(0.0);
        for _ in 0..60 {
            assert_eq!(all.try_acquire(bulk, Moment::ZERO), Ok(()));
        }
        assert_eq!(Window::per_minute(1).cap(Priority::Bulk, 0.2), 1, "bulk work still moves");
    }

    #[test]
    fn a_pause_holds_every_request_and_only_extends() {
        let l = Limiter::default();
        l.report(&throttled(Operation::ListAssets, Some(Moment::from_secs(30))), Moment::ZERO);
        l.report(&throttled(Operation::ListAssets, Some(Moment::from_secs(10))), Moment::ZERO);
        assert_eq!(l.try_acquire(JOCKEY, Moment::from_secs(5)), Err(Moment::from_secs(30)));
        assert_eq!(l.paused_until(Api::Jockey, Moment::from_secs(5)), Some(Moment::from_secs(30)));
        assert_eq!(l.try_acquire(JACK, Moment::from_secs(5)), Ok(()));
        assert_eq!(l.try_acquire(JOCKEY, Moment::from_secs(30)), Ok(()));
        // Over, and free again: a second pause holds as the first did.
        assert_eq!(l.try_acquire(JOCKEY, Moment::from_secs(31)), Ok(()));
        l.report(&throttled(Operation::ListAssets, Some(Moment::from_secs(40))), Moment::ZERO);
        assert_eq!(l.try_acquire(JOCKEY, Moment::from_secs(35)), Err(Moment::from_secs(40)));
    }

    #[test]
    fn an_advertised_budget_is_spent_per_endpoint_and_refilled_at_its_reset() {
        let l = Limiter::unlimited();
        let reset_at = Moment::from_secs(100);
        let advertised = Some(Advertised { limit: 10, remaining: 3, reset_at });
        let search = ask(Operation::SearchKnowledgeStore, Priority::Interactive);
        let report = Report {
            operation: Operation::SearchKnowledgeStore,
            throttled: false,
            pause_until: None,
            advertised,
        };
        l.report(&report, Moment::ZERO);
        for _ in 0..3 {
            assert_eq!(l.try_acquire(search, Moment::from_secs(1)), Ok(()));
        }
        assert_eq!(l.try_acquire(search, Moment::from_secs(1)), Err(reset_at), "spent");
        assert_eq!(l.try_acquire(JOCKEY, Moment::from_secs(1)), Ok(()), "another endpoint's own");
        assert_eq!(l.try_acquire(search, reset_at), Ok(()), "a new window");
        // Bulk work leaves the reserved share: 2 of 10 here.
        l.report(
            &Report {
                advertised: Some(Advertised {
                    limit: 10,
                    remaining: 2,
                    reset_at: Moment::from_secs(200),
                }),
                ..report
            },
            reset_at,
        );
        let bulk = ask(Operation::SearchKnowledgeStore, Priority::Bulk);
        assert_eq!(l.try_acquire(bulk, reset_at), Err(Moment::from_secs(200)));
        assert_eq!(l.try_acquire(search, reset_at), Ok(()));
    }

    #[test]
    fn advertised_limits_are_read_from_the_headers_against_the_responses_date() {
        let now = Now::fake(10.0);
        let epoch = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        let mut headers = http::HeaderMap::new();
        headers.insert("x-ratelimit-limit", "300".parse().unwrap());
        headers.insert("X-Ratelimit-Remaining", "7".parse().unwrap());
        // The server's clock is 100 s behind ours: its Date says when its reset is.
        let server_now = now.wall - Duration::from_secs(100);
        headers.insert(http::header::DATE, httpdate::fmt_http_date(server_now).parse().unwrap());
        let reset = epoch(server_now) + 30;
        headers.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let a = Advertised::from_headers(&headers, now).expect("advertised");
        assert_eq!((a.limit, a.remaining), (300, 7));
        assert_eq!(a.reset_at, now.moment + Duration::from_secs(30));
        // A reset already past, or a header missing or garbled, advertises nothing.
        headers.insert("x-ratelimit-reset", (reset - 60).to_string().parse().unwrap());
        assert_eq!(Advertised::from_headers(&headers, now), None);
        headers.insert("x-ratelimit-reset", "soon".parse().unwrap());
        assert_eq!(Advertised::from_headers(&headers, now), None);
    }

    #[test]
    fn with_no_limit_known_429s_teach_one_that_grows_back_slowly() {
        let l = Limiter::unlimited();
        for i in 0..100 {
            assert_eq!(l.try_acquire(JOCKEY, Moment::from_millis(i * 100)), Ok(()));
        }
        // 100 sent in the last minute, then a 429: the limit is half of that.
        let now = Moment::from_secs(10);
        l.report(&throttled(Operation::ListAssets, None), now);
        assert_eq!(l.learned_rpm(Api::Jockey, now), Some(50.0));
        // The other requests of the burst get 429s too: one halving for all of them.
        l.report(&throttled(Operation::ListAssets, None), now + Duration::from_secs(1));
        assert_eq!(l.learned_rpm(Api::Jockey, now), Some(50.0));
        // The window of the last minute holds 100 already: nothing until enough leave it.
        assert!(l.try_acquire(JOCKEY, now).is_err());
        // Ten minutes without a 429: ten more per minute.
        let later = now + Duration::from_secs(600);
        assert_eq!(l.learned_rpm(Api::Jockey, later), Some(60.0));
        assert_eq!(l.try_acquire(JOCKEY, later), Ok(()));
        // A 429 after a few requests (others share the budget) does not nearly stop the client.
        let few = Limiter::unlimited();
        assert_eq!(few.try_acquire(JOCKEY, Moment::ZERO), Ok(()));
        few.report(&throttled(Operation::ListAssets, None), Moment::ZERO);
        assert_eq!(few.learned_rpm(Api::Jockey, Moment::ZERO), Some(LEARNED_FLOOR_RPM));
        // A configured window is not second-guessed by 429s.
        let jack = Limiter::default();
        jack.report(&throttled(Operation::Usage, None), now);
        assert_eq!(jack.learned_rpm(Api::Jack, now), None);
    }
}
