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

/// The longest pause shared: Redis refuses an expiry that overflows its clock, and no
/// Retry-After a retry policy obeys comes near it.
const MAX_PAUSE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The longest namespace accepted.
const MAX_NAMESPACE: usize = 64;

/// One atomic acquisition: the shared pause first, then the sliding window, both measured by
/// Redis's own clock (`TIME`), so that the clocks of the machines never matter.
///
/// KEYS: the window (a sorted set of admitted requests scored by Redis time in µs), the pause
/// (present while a 429's wait runs: its TTL is what is left), a counter naming each request.
/// ARGV: the window in µs, the requests the asking priority may have in it (-1: no window, only
/// the pause holds), the margin in µs. Returns `{1, 0}` for a slot, `{0, µs to wait}` otherwise.
/// (Redis 7 replicates a script's effects, so writing after `TIME` is allowed; 3.2 to 4 need the
/// first line's opt-in.) Sent with `EVAL` every time: one round trip, whether or not the server
/// has seen the script since it started.
pub(crate) const ACQUIRE: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
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

    /// The [`ACQUIRE`] call for `ask` at `now`: the window and margin in real µs (what Redis
    /// measures), and the slots the asking priority may use.
    pub(crate) fn acquire_command(&self, ask: Ask, now: Now) -> redis::Cmd {
        let (keys, args) = self.acquire_call(ask, now);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(ACQUIRE).arg(keys.len()).arg(&keys[..]).arg(&args[..]);
        cmd
    }

    fn acquire_call(&self, ask: Ask, now: Now) -> ([String; 3], [i64; 3]) {
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

    /// The [`PAUSE`] call for `report` at `now`, if it pauses the API.
    pub(crate) fn pause_command(&self, report: &Report, now: Now) -> Option<redis::Cmd> {
        let (key, ms) = self.pause_call(report, now)?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(PAUSE).arg(1).arg(key).arg(ms);
        Some(cmd)
    }

    fn pause_call(&self, report: &Report, now: Now) -> Option<(String, i64)> {
        let until = report.pause_until.filter(|&until| until > now.moment)?;
        let wait = now.to_real(until.saturating_since(now.moment)).min(MAX_PAUSE);
        let ms = i64::try_from(wait.as_millis() + 1).unwrap_or(i64::MAX);
        Some((self.key(report.api(), "pause"), ms))
    }

    /// What the process keeps to while Redis is away: its share of each window (at least one
    /// request per window), held with the budget's margin, and the reserve.
    fn local_limiter(&self) -> Limiter {
        let share = |w: Window| Window {
            max_requests: ((f64::from(w.max_requests) * self.fallback_share).floor() as u32).max(1),
            // The in-memory limiter adds its own margin: the rest of the budget's goes here.
            window: w.window + self.margin.saturating_sub(WINDOW_MARGIN),
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

/// Every decision of an acquisition and a report, for both limiters: what the process knows
/// on its own, whether to ask Redis, how to read its answer, and what to keep to when it does not
/// answer. The limiters only carry the commands to Redis and back.
pub(crate) struct Shared {
    budget: Budget,
    /// What this process heard, asked before Redis: the pauses, the limits advertised in
    /// headers and the limits learned from 429s where no window is set (no windows of its own).
    own: Limiter,
    /// The local share of each window, kept to while Redis is away. Slots granted by Redis are
    /// counted in it too, so that an outage starts from what this process has sent.
    local: Limiter,
    health: Mutex<Health>,
}

/// Where the budget stands, and since when: each change starts a new epoch, and an answer to a
/// call made in an earlier epoch changes nothing (a slow success must not undo an outage
/// that calls made since have seen, nor an old failure end a rejoin).
#[derive(Clone, Copy, Debug)]
struct Health {
    epoch: u64,
    mode: Mode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Redis answers: every request draws from it.
    Shared,
    /// Redis did not answer: the local share holds; at `retry_at`, one request asks again.
    Local { retry_at: Instant },
}

/// A call to Redis on its way, with the epoch it was made in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    epoch: u64,
}

impl Shared {
    pub(crate) fn new(budget: Budget) -> Self {
        let local = budget.local_limiter();
        // A window that never fills where the budget has one: it keeps a 429 there from
        // teaching this process a limit of its own (the budget's window is not second-guessed).
        let never = |w: Option<Window>| {
            w.map(|_| Window { max_requests: u32::MAX, window: Duration::ZERO })
        };
        let own = Limiter::new(never(budget.jockey), never(budget.jack)).reserve(budget.reserve);
        let health = Health { epoch: 0, mode: Mode::Shared };
        Shared { budget, own, local, health: Mutex::new(health) }
    }

    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first half of an acquisition at `at`: an answer already (what this process heard
    /// holds it, or Redis is away and the local share answers), or a call to make.
    pub(crate) fn begin_acquire(
        &self,
        ask: Ask,
        now: Now,
        at: Instant,
    ) -> Result<(Ticket, redis::Cmd), Result<(), Moment>> {
        if let Err(until) = self.own.try_acquire(ask, now.moment) {
            return Err(Err(until));
        }
        match self.ticket(at) {
            Some(ticket) => Ok((ticket, self.budget.acquire_command(ask, now))),
            None => Err(self.local.try_acquire(ask, now.moment)),
        }
    }

    /// The second half: Redis's `reply` to the call of `ticket`, or why there is none.
    pub(crate) fn finish_acquire(
        &self,
        ticket: Ticket,
        reply: Result<Vec<i64>, String>,
        ask: Ask,
        now: Now,
        events: &Events,
    ) -> Result<(), Moment> {
        match reply.and_then(|reply| read_acquire(&reply, now)) {
            Ok(slot) => {
                self.answered(ticket, events);
                if slot.is_ok() {
                    // Counted locally too, up to the local share: only the count matters.
                    let _ = self.local.try_acquire(ask, now.moment);
                }
                slot
            }
            Err(reason) => {
                self.failed(ticket, Instant::now(), reason, events);
                self.local.try_acquire(ask, now.moment)
            }
        }
    }

    /// The first half of a report: every report reaches both local limiters (a pause holds
    /// this process whatever Redis does); a pause is also a call to make.
    pub(crate) fn begin_report(
        &self,
        report: &Report,
        now: Now,
        at: Instant,
    ) -> Option<(Ticket, redis::Cmd)> {
        self.own.report(report, now.moment);
        self.local.report(report, now.moment);
        let cmd = self.budget.pause_command(report, now)?;
        Some((self.ticket(at)?, cmd))
    }

    /// The second half: whether Redis took the pause.
    pub(crate) fn finish_report(
        &self,
        ticket: Ticket,
        answer: Result<i64, String>,
        events: &Events,
    ) {
        match answer {
            Ok(_) => self.answered(ticket, events),
            Err(reason) => self.failed(ticket, Instant::now(), reason, events),
        }
    }

    /// Whether a call at `at` goes to Redis: always while it answers; while it does not, one
    /// call every `retry_every` (the others keep to the local share meanwhile).
    fn ticket(&self, at: Instant) -> Option<Ticket> {
        let mut health = self.health();
        match health.mode {
            Mode::Shared => Some(Ticket { epoch: health.epoch }),
            Mode::Local { retry_at } if at >= retry_at => {
                health.mode = Mode::Local { retry_at: self.next_retry(at) };
                Some(Ticket { epoch: health.epoch })
            }
            Mode::Local { .. } => None,
        }
    }

    fn next_retry(&self, at: Instant) -> Instant {
        let year = Duration::from_secs(365 * 24 * 3600);
        at.checked_add(self.budget.retry_every).unwrap_or_else(|| at + year)
    }

    /// Redis answered the call of `ticket`: a probe during an outage rejoins the shared
    /// budget, said once.
    fn answered(&self, ticket: Ticket, events: &Events) {
        let mut health = self.health();
        if matches!(health.mode, Mode::Local { .. }) && ticket.epoch == health.epoch {
            *health = Health { epoch: health.epoch + 1, mode: Mode::Shared };
            drop(health);
            events.emit(|| Event::SharedBudgetRejoined);
        }
    }

    /// Redis did not answer the call of `ticket` (`reason`) at `at`: the local share until
    /// `retry_every` has passed, said once per outage.
    fn failed(&self, ticket: Ticket, at: Instant, reason: String, events: &Events) {
        let mut health = self.health();
        if ticket.epoch != health.epoch {
            return;
        }
        let retry_at = self.next_retry(at);
        if health.mode == Mode::Shared {
            *health = Health { epoch: health.epoch + 1, mode: Mode::Local { retry_at } };
            drop(health);
            let local_share = self.budget.fallback_share;
            events.emit(|| Event::SharedBudgetUnavailable { reason, local_share });
        } else {
            health.mode = Mode::Local { retry_at };
        }
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

    fn recorded() -> (Events, Arc<Mutex<Vec<Event>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        (Events::to(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()))), seen)
    }

    #[test]
    fn an_outage_is_said_once_probed_once_a_while_and_its_end_said_once() {
        let (events, seen) = recorded();
        let shared = Shared::new(budget());
        let t0 = Instant::now();
        let first = shared.ticket(t0).expect("Redis is asked");
        let second = shared.ticket(t0).expect("Redis is asked");
        shared.failed(first, t0, "refused".into(), &events);
        shared.failed(second, t0, "refused".into(), &events);
        assert_eq!(shared.ticket(t0 + Duration::from_millis(999)), None, "the local share holds");
        let probe = shared.ticket(t0 + Duration::from_secs(1)).expect("one probe after a second");
        assert_eq!(shared.ticket(t0 + Duration::from_secs(1)), None, "and only one");
        shared.answered(probe, &events);
        shared.answered(probe, &events);
        assert!(shared.ticket(t0 + Duration::from_secs(1)).is_some());
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Event::SharedBudgetUnavailable { reason: "refused".into(), local_share: 0.25 },
                Event::SharedBudgetRejoined
            ]
        );
    }

    #[test]
    fn answers_to_calls_of_an_earlier_epoch_change_nothing() {
        let (events, seen) = recorded();
        let shared = Shared::new(budget().retry_every(Duration::ZERO));
        let t0 = Instant::now();
        let (slow, failing) = (shared.ticket(t0).unwrap(), shared.ticket(t0).unwrap());
        shared.failed(failing, t0, "timed out".into(), &events);
        // A call sent before the outage answers late: the outage stands.
        shared.answered(slow, &events);
        let said = seen.lock().unwrap().clone();
        assert_eq!(said.len(), 1, "{said:?}");
        let probe = shared.ticket(t0).unwrap();
        let late_failure = slow;
        shared.answered(probe, &events);
        // A failure of a call sent before the rejoin does not end it.
        shared.failed(late_failure, t0, "timed out".into(), &events);
        let said = seen.lock().unwrap().clone();
        assert_eq!(said.len(), 2, "{said:?}");
        assert_eq!(said[1], Event::SharedBudgetRejoined);
        // Settings at their extremes do not overflow.
        let patient = Shared::new(budget().retry_every(Duration::MAX));
        let ticket = patient.ticket(t0).unwrap();
        patient.failed(ticket, t0, "refused".into(), &events);
        assert_eq!(patient.ticket(t0 + Duration::from_secs(3600)), None);
    }

    #[test]
    fn what_this_process_heard_holds_it_whatever_redis_says() {
        let shared = Shared::new(budget());
        let now = Now::fake(0.0);
        let at = Instant::now();
        assert!(shared.begin_acquire(JACK, now, at).is_ok(), "Redis is asked");
        let until = now.moment + Duration::from_secs(30);
        let pause = Report {
            operation: Operation::Query,
            throttled: true,
            pause_until: Some(until),
            advertised: None,
        };
        let (_, cmd) = shared.begin_report(&pause, now, at).expect("the pause is shared");
        assert!(cmd.args_iter().count() > 0);
        assert_eq!(shared.begin_acquire(JACK, now, at).err(), Some(Err(until)), "held at once");
        // A 429 under the budget's window teaches this process no limit of its own.
        let later = now.advanced_to(until);
        let throttled = Report { pause_until: None, ..pause };
        for _ in 0..3 {
            shared.begin_report(&throttled, later, at);
        }
        for _ in 0..100 {
            assert!(shared.begin_acquire(JACK, later, at).is_ok());
        }
        // An extreme Retry-After is clamped to what Redis takes.
        let far = Report { pause_until: Some(Moment::from_secs(u64::MAX / 4)), ..pause };
        let (_, ms) = shared.budget().pause_call(&far, now).unwrap();
        assert_eq!(ms, 30 * 24 * 3600 * 1000 + 1);
    }

    #[test]
    fn the_local_share_is_a_quarter_of_the_window_and_pauses_reach_it() {
        let (events, _) = recorded();
        let shared = Shared::new(budget().retry_every(Duration::from_secs(3600)));
        let now = Now::fake(0.0);
        let at = Instant::now();
        // Five slots from Redis count against the local share once Redis is away.
        for _ in 0..5 {
            let (ticket, _) = shared.begin_acquire(JACK, now, at).unwrap();
            assert_eq!(shared.finish_acquire(ticket, Ok(vec![1, 0]), JACK, now, &events), Ok(()));
        }
        let (ticket, _) = shared.begin_acquire(JACK, now, at).unwrap();
        let lost = Err("refused".to_owned());
        assert_eq!(shared.finish_acquire(ticket, lost, JACK, now, &events), Ok(()), "the 6th");
        for _ in 0..9 {
            assert_eq!(shared.begin_acquire(JACK, now, at).err(), Some(Ok(())));
        }
        assert!(shared.begin_acquire(JACK, now, at).unwrap_err().is_err(), "15 of 60");
        let jockey = Ask { operation: Operation::ListAssets, ..JACK };
        let until = Moment::from_secs(30);
        let pause = Report {
            operation: Operation::ListAssets,
            throttled: true,
            pause_until: Some(until),
            advertised: None,
        };
        assert!(shared.begin_report(&pause, now, at).is_none(), "Redis is away");
        assert_eq!(shared.begin_acquire(jockey, now, at).err(), Some(Err(until)));
    }
}
