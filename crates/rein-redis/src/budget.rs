//! What both limiters share, written once: the budget's configuration and keys, the two Lua
//! scripts and how their replies are read, and when to fall back to a local share of the limit
//! and come back.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rein_core::limiter::{DEFAULT_RESERVE, WINDOW_MARGIN};
use rein_core::{Api, Ask, Event, Events, Limiter, Moment, Now, RateLimit, Report, Window};

use crate::Error;

/// How long connecting to Redis, or one command, may take before the budget is taken as
/// unreachable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(200);

/// The share of each limit a process keeps to while Redis cannot be reached.
// GUESS: no source gives it. A quarter keeps four workers within the limit together; a fleet of
// N workers should set 1/N (`Budget::fallback_share`).
pub const DEFAULT_FALLBACK_SHARE: f64 = 0.25;

/// How often a process on its local share asks Redis again.
// GUESS: no source gives it; a second rejoins quickly and costs one timeout a second at most.
pub const DEFAULT_RETRY_EVERY: Duration = Duration::from_secs(1);

/// The longest namespace accepted.
const MAX_NAMESPACE: usize = 64;

/// One atomic acquisition: the shared pause first, then the sliding window, both measured by
/// Redis's own clock (`TIME`), so that the clocks of the machines never matter.
///
/// KEYS: the window (a sorted set of admitted requests scored by Redis time in µs), the pause
/// (present while a 429's wait runs: its TTL is what is left), a counter naming each request.
/// ARGV: the window in µs, the requests the asking priority may have in it (-1: no window, only
/// the pause holds), the margin in µs. Returns `{1, 0}` for a slot, `{0, µs to wait}` otherwise.
pub(crate) const ACQUIRE: &str = r"
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return {0, pause * 1000} end
local cap = tonumber(ARGV[2])
if cap < 0 then return {1, 0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local span = tonumber(ARGV[1]) + tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local count = redis.call('ZCARD', KEYS[1])
if count >= cap then
  if cap == 0 then return {0, span} end
  local freeing = redis.call('ZRANGE', KEYS[1], count - cap, count - cap, 'WITHSCORES')
  return {0, math.max(tonumber(freeing[2]) + span - now, 1)}
end
local id = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], now, id)
local ttl = math.ceil(span / 1000) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return {1, 0}
";

/// A 429's pause for every process of the budget: the key lives as long as the wait. Pauses
/// only extend, as in the in-memory limiter: a shorter wait never cuts a longer one.
///
/// KEYS: the pause. ARGV: the wait in ms. Returns 1 if the pause was extended, 0 if not.
pub(crate) const PAUSE: &str = r"
local want = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) >= want then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', want)
return 1
";

/// A rate budget kept in Redis: its address, its namespace, its windows and how a process
/// behaves when Redis is away. Every process that names the same Redis and namespace (and the
/// same windows) draws from one budget. Nothing is connected until the first request.
///
/// ```
/// use std::time::Duration;
/// use rein_redis::Budget;
/// use rein::{Api, Window};
///
/// let budget = Budget::new("redis://127.0.0.1:6379/", "acme")?
///     .window(Api::Jack, Some(Window::JACK)) // the default for jack
///     .fallback_share(0.125) // eight workers: an eighth each while Redis is down
///     .timeout(Duration::from_millis(200));
/// # Ok::<(), rein_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct Budget {
    pub(crate) client: redis::Client,
    namespace: String,
    jockey: Option<Window>,
    jack: Option<Window>,
    reserve: f64,
    margin: Duration,
    pub(crate) timeout: Duration,
    fallback_share: f64,
    retry_every: Duration,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address only: a Redis URL may carry a password.
        f.debug_struct("Budget")
            .field("redis", &self.client.get_connection_info().addr().to_string())
            .field("namespace", &self.namespace)
            .field("jockey", &self.jockey)
            .field("jack", &self.jack)
            .field("reserve", &self.reserve)
            .field("margin", &self.margin)
            .field("timeout", &self.timeout)
            .field("fallback_share", &self.fallback_share)
            .field("retry_every", &self.retry_every)
            .finish()
    }
}

impl Budget {
    /// The budget `namespace` (an organisation's name, say) in the Redis at `redis_url`
    /// (`redis://[:password@]host[:port][/db]`), with jack's 60 requests per minute and no
    /// Jockey window (429 pauses are shared for both).
    ///
    /// The namespace is part of every key (`rein:{api}:{namespace}:...`): 1 to 64 letters,
    /// digits, `.`, `_` or `-`, and never an API key, nor anything made from one.
    pub fn new(redis_url: &str, namespace: &str) -> Result<Budget, Error> {
        check_namespace(namespace)?;
        let client =
            redis::Client::open(redis_url).map_err(|e| Error::Url { reason: e.to_string() })?;
        Ok(Budget {
            client,
            namespace: namespace.to_owned(),
            jockey: None,
            jack: Some(Window::JACK),
            reserve: DEFAULT_RESERVE,
            margin: WINDOW_MARGIN,
            timeout: DEFAULT_TIMEOUT,
            fallback_share: DEFAULT_FALLBACK_SHARE,
            retry_every: DEFAULT_RETRY_EVERY,
        })
    }

    /// The sliding window of `api` (`None`: only the shared 429 pause holds). Windows are on
    /// the client's clock, as a client's own are: a client run at a time scale
    /// (`time_scale`) shrinks them with it.
    pub fn window(mut self, api: Api, window: Option<Window>) -> Self {
        match api {
            Api::Jockey => self.jockey = window,
            Api::Jack => self.jack = window,
        }
        self
    }

    /// Keeps `share` (0 to 1) of each window for interactive calls: bulk work (fleet polls,
    /// split ingests) of every process together may use the rest. Default 0.2.
    pub fn reserve(mut self, share: f64) -> Self {
        if !share.is_nan() {
            self.reserve = share.clamp(0.0, 1.0);
        }
        self
    }

    /// Extra time each request holds its slot, for requests that travel at different speeds
    /// (default 500 ms, on the client's clock).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The longest connecting or one command may take before Redis counts as unreachable
    /// (default 200 ms, real time).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The share (0 to 1) of each window a process keeps to while Redis cannot be reached
    /// (default 0.25): with N workers, 1/N keeps them within the limit together.
    pub fn fallback_share(mut self, share: f64) -> Self {
        if !share.is_nan() {
            self.fallback_share = share.clamp(0.0, 1.0);
        }
        self
    }

    /// How often a process on its local share asks Redis again (default 1 s, real time).
    pub fn retry_every(mut self, every: Duration) -> Self {
        self.retry_every = every;
        self
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The key of `api`'s `part` (`window`, `pause`, `seq`): `rein:{api}:{namespace}:{part}`.
    pub fn key(&self, api: Api, part: &str) -> String {
        format!("rein:{}:{}:{part}", api.name(), self.namespace)
    }

    fn window_of(&self, api: Api) -> Option<Window> {
        match api {
            Api::Jockey => self.jockey,
            Api::Jack => self.jack,
        }
    }

    /// The keys and arguments of [`ACQUIRE`] for `ask` at `now`: the window and margin in real
    /// µs (what Redis measures), and the slots the asking priority may use.
    pub(crate) fn acquire_call(&self, ask: Ask, now: Now) -> ([String; 3], [i64; 3]) {
        let api = ask.api();
        let keys = [self.key(api, "window"), self.key(api, "pause"), self.key(api, "seq")];
        let micros = |d: Duration| i64::try_from(now.to_real(d).as_micros()).unwrap_or(i64::MAX);
        let args = match self.window_of(api) {
            Some(w) => {
                let cap = i64::try_from(w.cap(ask.priority, self.reserve)).unwrap_or(i64::MAX);
                [micros(w.window), cap, micros(self.margin)]
            }
            None => [0, -1, 0],
        };
        (keys, args)
    }

    /// The key and argument of [`PAUSE`] for `report` at `now`, if it pauses the API.
    pub(crate) fn pause_call(&self, report: &Report, now: Now) -> Option<(String, i64)> {
        let until = report.pause_until.filter(|&until| until > now.moment)?;
        let wait = now.to_real(until.saturating_since(now.moment));
        let ms = i64::try_from(wait.as_millis() + 1).unwrap_or(i64::MAX);
        Some((self.key(report.api(), "pause"), ms))
    }

    /// What the process keeps to while Redis is away: its share of each window, the reserve
    /// and every pause it has heard of.
    fn local_limiter(&self) -> Limiter {
        let share = |w: Window| Window {
            max_requests: ((f64::from(w.max_requests) * self.fallback_share).floor() as u32).max(1),
            window: w.window,
        };
        Limiter::new(self.jockey.map(share), self.jack.map(share)).reserve(self.reserve)
    }
}

/// Reads [`ACQUIRE`]'s reply: a slot, or the moment to ask again on the client's clock.
pub(crate) fn read_acquire(reply: &[i64], now: Now) -> Result<Result<(), Moment>, String> {
    match *reply {
        [1, _] => Ok(Ok(())),
        [0, wait] if wait > 0 => {
            let wait = Duration::from_micros(wait.unsigned_abs());
            Ok(Err(now.moment + now.from_real(wait)))
        }
        _ => Err(format!("the acquire script answered {reply:?}")),
    }
}

fn check_namespace(namespace: &str) -> Result<(), Error> {
    let problem = if namespace.is_empty() {
        Some("it is empty")
    } else if namespace.len() > MAX_NAMESPACE {
        Some("it is longer than 64 characters")
    } else if !namespace.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b)) {
        Some("it may hold only letters, digits, '.', '_' and '-'")
    } else if ["jack_", "tlk_"].iter().any(|p| namespace.to_ascii_lowercase().starts_with(p)) {
        // Keys are readable by anyone with access to Redis: a key there would leak.
        Some("it looks like an API key")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::Namespace { namespace: redact(namespace), problem }),
        None => Ok(()),
    }
}

/// A namespace as an error may show it: one that may be a key, only by its start.
fn redact(namespace: &str) -> String {
    if namespace.len() > 8 {
        let head: String = namespace.chars().take(4).collect();
        format!("{head}…")
    } else {
        namespace.to_owned()
    }
}

/// Whether to ask Redis, and the local limiter to keep to when not: shared by both limiters.
pub(crate) struct Fallback {
    budget: Budget,
    local: Limiter,
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Redis answers: every request draws from it.
    Shared,
    /// Redis did not answer: the local share holds until `retry_at`, when one request asks
    /// Redis again.
    Local { retry_at: Instant },
}

impl Fallback {
    pub(crate) fn new(budget: Budget) -> Self {
        let local = budget.local_limiter();
        Fallback { budget, local, state: Mutex::new(State::Shared) }
    }

    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a request at `at` asks Redis: always while it answers; while it does not, one
    /// request every `retry_every` (the others keep to the local share meanwhile).
    pub(crate) fn ask_redis(&self, at: Instant) -> bool {
        let mut state = self.state();
        match *state {
            State::Shared => true,
            State::Local { retry_at } if at >= retry_at => {
                *state = State::Local { retry_at: at + self.budget.retry_every };
                true
            }
            State::Local { .. } => false,
        }
    }

    /// Redis answered: back to the shared budget, said once.
    pub(crate) fn answered(&self, events: &Events) {
        let mut state = self.state();
        if *state != State::Shared {
            *state = State::Shared;
            drop(state);
            events.emit(|| Event::SharedBudgetRejoined);
        }
    }

    /// Redis did not answer (`reason`) at `at`: the local share until `retry_every` has
    /// passed, said once per outage.
    pub(crate) fn failed(&self, at: Instant, reason: impl FnOnce() -> String, events: &Events) {
        let mut state = self.state();
        let was_shared = *state == State::Shared;
        *state = State::Local { retry_at: at + self.budget.retry_every };
        drop(state);
        if was_shared {
            let local_share = self.budget.fallback_share;
            events.emit(|| Event::SharedBudgetUnavailable { reason: reason(), local_share });
        }
    }

    /// A slot from the local share.
    pub(crate) fn acquire_locally(&self, ask: Ask, now: Now) -> Result<(), Moment> {
        self.local.try_acquire(ask, now.moment)
    }

    /// Every report reaches the local limiter too, so that a pause holds should Redis go away
    /// in the middle of it.
    pub(crate) fn report_locally(&self, report: &Report, now: Now) {
        self.local.report(report, now.moment);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rein_core::{Operation, Priority};

    use super::*;

    const JACK: Ask = Ask { operation: Operation::Query, priority: Priority::Interactive };

    fn budget() -> Budget {
        Budget::new("redis://127.0.0.1:1/", "acme").expect("budget")
    }

    #[test]
    fn keys_name_the_api_and_the_namespace_and_nothing_else() {
        let b = budget();
        assert_eq!(b.key(Api::Jack, "window"), "rein:jack:acme:window");
        assert_eq!(b.key(Api::Jockey, "pause"), "rein:jockey:acme:pause");
    }

    #[test]
    fn a_namespace_that_is_empty_odd_or_an_api_key_is_refused() {
        for bad in ["", "a b", "acme:prod", "jack_0123456789abcdef", "TLK_abc", &"x".repeat(65)] {
            let err = Budget::new("redis://127.0.0.1/", bad).expect_err(bad);
            assert!(matches!(err, Error::Namespace { .. }), "{bad}: {err}");
            assert!(!err.to_string().contains("0123456789abcdef"), "the key leaks: {err}");
        }
        assert!(Budget::new("redis://127.0.0.1/", "org-1.prod_eu").is_ok());
        let err = Budget::new("http://127.0.0.1/", "acme").expect_err("not redis");
        assert!(matches!(err, Error::Url { .. }), "{err}");
    }

    #[test]
    fn the_debug_form_shows_no_password() {
        let b = Budget::new("redis://:s3cret@127.0.0.1:6380/", "acme").expect("budget");
        let shown = format!("{b:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("127.0.0.1:6380"), "{shown}");
    }

    #[test]
    fn arguments_are_in_real_time_and_carry_the_priority_lane() {
        let b = budget();
        let now = Now::fake(10.0);
        let (keys, args) = b.acquire_call(JACK, now);
        assert_eq!(keys[0], "rein:jack:acme:window");
        assert_eq!(args, [60_000_000, 60, 500_000]);
        let bulk = Ask { priority: Priority::Bulk, ..JACK };
        assert_eq!(b.acquire_call(bulk, now).1[1], 48, "20% kept for interactive calls");
        // A client at a time scale of 60: a minute of its time is a real second.
        let fast = now.with_rate(60.0);
        assert_eq!(b.acquire_call(JACK, fast).1, [1_000_000, 60, 8_333]);
        // No Jockey window: only the pause holds.
        let jockey = Ask { operation: Operation::ListAssets, ..JACK };
        assert_eq!(b.acquire_call(jockey, now).1, [0, -1, 0]);
    }

    #[test]
    fn a_pause_is_shared_as_the_real_time_left() {
        let b = budget();
        let now = Now::fake(10.0).with_rate(60.0);
        let report = Report {
            operation: Operation::Query,
            throttled: true,
            pause_until: Some(now.moment + Duration::from_secs(60)),
            advertised: None,
        };
        assert_eq!(b.pause_call(&report, now), Some(("rein:jack:acme:pause".into(), 1_001)));
        let over = Report { pause_until: Some(now.moment), ..report };
        assert_eq!(b.pause_call(&over, now), None, "a pause already over is not shared");
    }

    #[test]
    fn replies_are_read_or_refused() {
        let now = Now::fake(10.0).with_rate(2.0);
        assert_eq!(read_acquire(&[1, 0], now), Ok(Ok(())));
        let later = now.moment + Duration::from_secs(3);
        assert_eq!(read_acquire(&[0, 1_500_000], now), Ok(Err(later)));
        for bad in [&[][..], &[0, 0], &[0, -5], &[2, 0], &[1, 0, 0]] {
            assert!(read_acquire(bad, now).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_outage_is_said_once_probed_once_a_while_and_its_end_said_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let events = Events::to(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone())));
        let fallback = Fallback::new(budget());
        let t0 = Instant::now();
        assert!(fallback.ask_redis(t0));
        fallback.failed(t0, || "refused".into(), &events);
        fallback.failed(t0, || "refused".into(), &events);
        assert!(!fallback.ask_redis(t0 + Duration::from_millis(999)), "the local share holds");
        assert!(fallback.ask_redis(t0 + Duration::from_secs(1)), "one probe after a second");
        assert!(!fallback.ask_redis(t0 + Duration::from_secs(1)), "and only one");
        fallback.answered(&events);
        fallback.answered(&events);
        assert!(fallback.ask_redis(t0 + Duration::from_secs(1)));
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                Event::SharedBudgetUnavailable { reason: "refused".into(), local_share: 0.25 },
                Event::SharedBudgetRejoined
            ]
        );
    }

    #[test]
    fn the_local_share_is_a_quarter_of_the_window_and_pauses_reach_it() {
        let fallback = Fallback::new(budget());
        let now = Now::fake(0.0);
        for _ in 0..15 {
            assert_eq!(fallback.acquire_locally(JACK, now), Ok(()));
        }
        assert!(fallback.acquire_locally(JACK, now).is_err(), "15 of 60");
        let jockey = Ask { operation: Operation::ListAssets, ..JACK };
        let until = Moment::from_secs(30);
        fallback.report_locally(
            &Report {
                operation: Operation::ListAssets,
                throttled: true,
                pause_until: Some(until),
                advertised: None,
            },
            now,
        );
        assert_eq!(fallback.acquire_locally(jockey, now), Err(until));
    }
}
