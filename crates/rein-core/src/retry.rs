//! One API call with retries: the [`Call`] machine and its [`RetryPolicy`].
//!
//! ```text
//!            poll                 handle(2xx)            
//!  Ready ──────────▶ Sent ───────────────────────────▶ Done(Ok)
//!    ▲                │ handle(retryable failure)
//!    │  poll ≥ until  ▼          handle(final failure)
//!    └──────────── Waiting ─────────────────────────▶ Done(Err)
//! ```
//!
//! The machine decides everything: whether a failure is retryable (status, transport error and
//! idempotency), how long to wait (Retry-After, the API's documented defaults, backoff), and
//! when to give up (attempts, deadline, a wait too long to sleep). Its driver only sends, sleeps
//! and reads the clock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::api::{Api, Operation};
use crate::backoff::{Backoff, Random, SplitMix64};
use crate::body::Body;
use crate::decode;
use crate::error::{
    DeadlineExceeded, DecodeError, Error, RateLimited, TransportError, TransportErrorKind,
    TransportFailure, WaitRefused,
};
use crate::limiter::RateLimit;
use crate::request::Request;
use crate::time::{Moment, Now};

/// What a machine asks its driver to do next.
// A step is returned and consumed at once, so its size never multiplies: no boxing needed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<T> {
    /// Send this request, then call `handle` with the outcome.
    Send(http::Request<Body>),
    /// Sleep until this moment, then poll again. Polling earlier is harmless.
    Wait(Moment),
    /// The machine is finished.
    Done(Result<T, Error>),
}

/// When and how a call retries. Defaults follow the references; every knob is public.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The schedule for waits the server did not dictate.
    pub backoff: Backoff,
    /// The call's time budget, from its first poll; no wait ever ends after it.
    pub timeout: Duration,
    /// The longest `Retry-After` the call will sleep through; a longer one fails at once.
    pub max_retry_after: Duration,
    /// Retry 429 responses.
    pub retry_rate_limited: bool,
    /// Retry 5xx responses.
    pub retry_server_errors: bool,
    /// Retry 408 responses.
    pub retry_request_timeout: bool,
    /// Retry a non-idempotent request after a timeout or reset that happened after it was sent.
    /// Off by default: the first request may have succeeded, and a retry could duplicate it.
    pub retry_ambiguous: bool,
    /// The wait after a 429 without `Retry-After`; `None` uses the backoff (jack: 60 s).
    pub rate_limited_wait: Option<Duration>,
    /// The least wait before retrying after the first 500 (jack: 30 s).
    pub server_error_first_wait: Option<Duration>,
    /// No retry comes sooner than this after a failure (a poll's interval floor uses it).
    pub min_wait: Duration,
    /// Retry a 502 or 504 of a non-idempotent request. A gateway's error can come after the
    /// server behind it carried the request out; [`crate::CreateOnce`] turns this off and looks
    /// the resource up instead of sending the create again.
    pub retry_gateway_errors_on_creates: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Backoff::default(),
            timeout: Duration::from_secs(600),
            max_retry_after: Duration::from_secs(120),
            retry_rate_limited: true,
            retry_server_errors: true,
            retry_request_timeout: true,
            retry_ambiguous: false,
            rate_limited_wait: None,
            server_error_first_wait: None,
            min_wait: Duration::ZERO,
            retry_gateway_errors_on_creates: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy for `api`: jack adds its documented waits (60 s after a 429 without
    /// `Retry-After`, 30 s before retrying a 500).
    pub fn for_api(api: Api) -> Self {
        match api {
            Api::Jockey => RetryPolicy::default(),
            Api::Jack => RetryPolicy {
                rate_limited_wait: Some(Duration::from_secs(60)),
                server_error_first_wait: Some(Duration::from_secs(30)),
                ..RetryPolicy::default()
            },
        }
    }

    /// The references' literal strategy: 3 attempts, waits of 1 s then 2 s, no jitter.
    pub fn reference() -> Self {
        RetryPolicy { max_attempts: 3, backoff: Backoff::reference(), ..RetryPolicy::default() }
    }

    /// No retries at all: one attempt.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Whether a response with this status is retried.
    pub fn retries_status(&self, status: u16) -> bool {
        match status {
            429 => self.retry_rate_limited,
            408 => self.retry_request_timeout,
            500..=599 => self.retry_server_errors,
            _ => false,
        }
    }
}

/// Why a retry was scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered with this retryable status.
    Status(u16),
    /// The transport failed in a way that is safe to retry.
    Transport(TransportErrorKind),
    /// A success body of an idempotent request could not be decoded.
    UndecodableBody,
}

/// Something that happened inside a machine, for narration and metrics.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Attempt number `attempt` is being sent.
    Sending {
        /// The operation.
        operation: Operation,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A retry was scheduled.
    RetryScheduled {
        /// The operation.
        operation: Operation,
        /// The attempt that failed.
        attempt: u32,
        /// Why it is retried.
        reason: RetryReason,
        /// How long the call waits.
        wait: Duration,
        /// Whether the wait came from the server (`Retry-After`) rather than the backoff.
        server_asked: bool,
    },
    /// The client's shared limiter holds this call until `until` (a window is full, or a 429
    /// paused the whole client).
    Throttled {
        /// The operation.
        operation: Operation,
        /// When the limiter lets it go.
        until: Moment,
    },
    /// A poll of a wait answered with the resource's status.
    Progress {
        /// The operation polled.
        operation: Operation,
        /// The status as the server spelled it.
        status: String,
        /// Polls answered so far.
        polls: u32,
        /// Time since the wait started.
        elapsed: Duration,
    },
    /// A create may have happened although its answer was lost: a lookup will tell.
    Reconciling {
        /// The create.
        operation: Operation,
    },
    /// The lookup after a lost answer settled it: `found` the created resource, or found
    /// nothing (and the create is sent again).
    Reconciled {
        /// The create.
        operation: Operation,
        /// Whether the resource was there.
        found: bool,
    },
    /// A 429 paused every request of the client to this API.
    Paused {
        /// The API paused.
        api: Api,
        /// Until when.
        until: Moment,
    },
}

impl Event {
    /// Whether the event changes what the caller sees (a retry, a pause, a throttled send), as
    /// against routine progress: logs show the first kind at a higher level.
    pub fn is_notable(&self) -> bool {
        matches!(
            self,
            Event::RetryScheduled { .. } | Event::Paused { .. } | Event::Throttled { .. }
        )
    }
}

/// A success-body decoder: from the 2xx response to the call's output.
pub type Decoder<T> = fn(http::Response<Bytes>) -> Result<T, DecodeError>;

/// The identity decoder: the response itself.
pub fn raw_response(response: http::Response<Bytes>) -> Result<http::Response<Bytes>, DecodeError> {
    Ok(response)
}

#[derive(Debug)]
enum State {
    Ready,
    Sent,
    Waiting(Moment),
    Finished,
}

/// One API call with retries, driven by [`Call::poll`] and [`Call::handle`].
pub struct Call<T = http::Response<Bytes>> {
    request: Request,
    policy: RetryPolicy,
    decoder: Decoder<T>,
    rng: Rng,
    limiter: Option<Arc<dyn RateLimit>>,
    state: State,
    started: Option<Moment>,
    deadline: Option<Moment>,
    attempts: u32,
    previous_delay: Option<Duration>,
    server_errors: u32,
    events: EventQueue,
    result: Option<Result<T, Error>>,
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &self.request.operation)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Call<http::Response<Bytes>> {
    /// A call whose output is the raw success response.
    pub fn new(request: Request, policy: RetryPolicy) -> Self {
        Call::with_decoder(request, policy, raw_response)
    }
}

impl<T> Call<T> {
    /// A call whose success body is decoded by `decoder`.
    pub fn with_decoder(request: Request, policy: RetryPolicy, decoder: Decoder<T>) -> Self {
        Call {
            request,
            policy,
            decoder,
            rng: Rng::Builtin(SplitMix64::new(0)),
            limiter: None,
            state: State::Ready,
            started: None,
            deadline: None,
            attempts: 0,
            previous_delay: None,
            server_errors: 0,
            events: EventQueue::default(),
            result: None,
        }
    }

    /// Seeds the jitter (drivers pass fresh entropy so clients do not retry in lockstep).
    pub fn seed(self, seed: u64) -> Self {
        Call { rng: Rng::Builtin(SplitMix64::new(seed)), ..self }
    }

    /// Replaces the random source.
    pub fn rng(mut self, rng: Box<dyn Random>) -> Self {
        self.rng = Rng::Custom(rng);
        self
    }

    /// What a driver gives every call, set in place (the builder methods [`Call::seed`],
    /// [`Call::limiter`] and [`Call::events`] each move the whole call, and a driver makes one
    /// per request).
    pub fn set_runtime(&mut self, seed: u64, limiter: Arc<dyn RateLimit>, record_events: bool) {
        self.rng = Rng::Builtin(SplitMix64::new(seed));
        self.limiter = Some(limiter);
        self.events.enabled = record_events;
    }

    /// Whether the call records [`Event`]s (it does unless told otherwise). A driver with no one
    /// to hand them to turns them off, sparing every attempt the queue.
    pub fn events(mut self, record: bool) -> Self {
        self.events.enabled = record;
        self
    }

    /// Shares the client's rate limiter: consulted before every send, paused by every 429.
    pub fn limiter(mut self, limiter: Arc<dyn RateLimit>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Sends the first attempt no sooner than `at` (a lookup that gives the server time to
    /// settle, say). A start at or past the deadline ends the call with [`Error::Deadline`].
    pub fn not_before(mut self, at: Moment) -> Self {
        self.state = State::Waiting(at);
        self
    }

    /// Sets an absolute deadline instead of `policy.timeout` from the first poll. The earlier of
    /// the two applies.
    pub fn deadline_at(mut self, deadline: Moment) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The request this call sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The deadline, once the call has started.
    pub fn deadline(&self) -> Option<Moment> {
        self.deadline
    }

    /// Attempts sent so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next event, if any happened since the last call.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// What to do next.
    pub fn poll(&mut self, now: Now) -> Step<T> {
        let started = *self.started.get_or_insert(now.moment);
        let budget_end = started + self.policy.timeout;
        let deadline =
            *self.deadline.insert(self.deadline.map_or(budget_end, |d| d.min(budget_end)));

        match self.state {
            State::Waiting(until) if now.moment < until && until < deadline => {
                return Step::Wait(until)
            }
            State::Waiting(until) if now.moment < until => {
                // Waking would come too late: end now rather than after the deadline.
                self.state = State::Finished;
                return Step::Done(Err(Error::Deadline(Box::new(DeadlineExceeded {
                    endpoint: Some(self.request.operation.endpoint()),
                    elapsed: now.moment - started,
                    attempts: self.attempts,
                    last_error: None,
                }))));
            }
            State::Waiting(_) | State::Ready => {}
            State::Sent => {
                self.state = State::Finished;
                return Step::Done(Err(Error::Misuse("poll called while a response is awaited")));
            }
            State::Finished => {
                return Step::Done(
                    self.result.take().unwrap_or(Err(Error::Misuse("poll called after Done"))),
                )
            }
        }

        if now.moment >= deadline {
            self.state = State::Finished;
            return Step::Done(Err(Error::Deadline(Box::new(DeadlineExceeded {
                endpoint: Some(self.request.operation.endpoint()),
                elapsed: now.moment - started,
                attempts: self.attempts,
                last_error: None,
            }))));
        }

        if let Some(limiter) = &self.limiter {
            if let Err(until) = limiter.try_acquire(self.request.operation.api(), now.moment) {
                let op = self.request.operation;
                if until >= deadline {
                    self.state = State::Finished;
                    return Step::Done(Err(Error::RateLimited(Box::new(RateLimited {
                        api: op.api(),
                        endpoint: Some(op.endpoint()),
                        wait: until - now.moment,
                        refused: WaitRefused::LimiterPaused,
                        attempts: self.attempts,
                        response: None,
                    }))));
                }
                self.events.push_back(Event::Throttled { operation: op, until });
                self.state = State::Waiting(until);
                return Step::Wait(until);
            }
        }

        self.attempts += 1;
        self.state = State::Sent;
        self.events.push_back(Event::Sending {
            operation: self.request.operation,
            attempt: self.attempts,
        });
        Step::Send(self.request.to_http())
    }

    /// Feeds the outcome of the request last sent. Outcomes at any other time are ignored.
    pub fn handle(&mut self, outcome: Result<http::Response<Bytes>, TransportError>, now: Now) {
        if !matches!(self.state, State::Sent) {
            return;
        }
        let op = self.request.operation;
        match outcome {
            Ok(response) if response.status().is_success() => match (self.decoder)(response) {
                Ok(value) => self.finish(Ok(value)),
                Err(mut e) => {
                    e.endpoint = Some(op.endpoint());
                    e.may_have_succeeded = !self.request.idempotent;
                    if self.request.idempotent {
                        self.retry(
                            RetryReason::UndecodableBody,
                            Error::Decode(Box::new(e)),
                            None,
                            now,
                        );
                    } else {
                        self.finish(Err(Error::Decode(Box::new(e))));
                    }
                }
            },
            Ok(response) => {
                let status = response.status().as_u16();
                let mut api = decode::api_error(op.api(), Some(op), &response, now.wall);
                api.attempts = self.attempts;
                let retry_after = api.retry_after;
                let ambiguous_gateway = matches!(status, 502 | 504) && !self.request.idempotent;
                if !self.policy.retries_status(status)
                    || (ambiguous_gateway && !self.policy.retry_gateway_errors_on_creates)
                {
                    return self.finish(Err(Error::Api(Box::new(api))));
                }
                let wait = match retry_after {
                    Some(ra) => Some(ra),
                    None if status == 429 => self.policy.rate_limited_wait,
                    None => None,
                };
                let wait = if status == 500 {
                    self.server_errors += 1;
                    match self.policy.server_error_first_wait {
                        Some(first) if self.server_errors == 1 && retry_after.is_none() => {
                            Some(first.max(self.next_backoff_peek()))
                        }
                        _ => wait,
                    }
                } else {
                    wait
                };
                // A wait the server dictated, or jack's documented wait after a 429, is a rate
                // limit: it is obeyed in full or refused, never shortened.
                let dictated = retry_after.is_some() || (status == 429 && wait.is_some());
                if status == 429 {
                    if let (Some(limiter), Some(w)) = (&self.limiter, wait) {
                        // One response pauses the whole client, so no more than the cap: a bogus
                        // or far-off Retry-After (a proxy's, say) must not stop every call for hours.
                        let until = now.moment + w.min(self.policy.max_retry_after);
                        limiter.pause(op.api(), until);
                        self.events.push_back(Event::Paused { api: op.api(), until });
                    }
                }
                self.retry_with(
                    RetryReason::Status(status),
                    Error::Api(Box::new(api)),
                    wait,
                    dictated,
                    now,
                );
            }
            Err(error) => {
                let may_have_succeeded = error.sent && !self.request.idempotent;
                let safe = !error.sent || self.request.idempotent || self.policy.retry_ambiguous;
                let retryable_kind = matches!(
                    error.kind,
                    TransportErrorKind::Connect
                        | TransportErrorKind::Timeout
                        | TransportErrorKind::Reset
                        | TransportErrorKind::Other
                );
                let kind = error.kind;
                let failure = Error::Transport(Box::new(TransportFailure {
                    endpoint: Some(op.endpoint()),
                    error,
                    attempts: self.attempts,
                    may_have_succeeded,
                }));
                if safe && retryable_kind {
                    self.retry(RetryReason::Transport(kind), failure, None, now);
                } else {
                    self.finish(Err(failure));
                }
            }
        }
    }

    fn retry(&mut self, reason: RetryReason, error: Error, wait: Option<Duration>, now: Now) {
        self.retry_with(reason, error, wait, false, now)
    }

    /// Schedules a retry after `wait` (or the backoff), or ends the call with `error` (or a
    /// rate-limit / deadline error) when no retry is allowed.
    fn retry_with(
        &mut self,
        reason: RetryReason,
        error: Error,
        wait: Option<Duration>,
        dictated: bool,
        now: Now,
    ) {
        let server_asked = matches!(error, Error::Api(ref e) if e.retry_after.is_some());
        if self.attempts >= self.policy.max_attempts.max(1) {
            return self.finish(Err(error));
        }
        let deadline = self.deadline.unwrap_or(now.moment);
        let refuse = |refused: WaitRefused, wait: Duration, attempts: u32, error: Error| {
            let response = match error {
                Error::Api(api) => Some(api),
                _ => None,
            };
            Error::RateLimited(Box::new(RateLimited {
                api: self.request.operation.api(),
                endpoint: Some(self.request.operation.endpoint()),
                wait,
                refused,
                attempts,
                response,
            }))
        };
        if dictated {
            let wait = wait.unwrap_or_default();
            if wait > self.policy.max_retry_after {
                let cap = self.policy.max_retry_after;
                return self.finish(Err(refuse(
                    WaitRefused::ExceedsCap { cap },
                    wait,
                    self.attempts,
                    error,
                )));
            }
            if now.moment + wait >= deadline {
                return self.finish(Err(refuse(
                    WaitRefused::PastDeadline,
                    wait,
                    self.attempts,
                    error,
                )));
            }
        }
        let wait = match wait {
            Some(w) => w,
            None => {
                let d = self.policy.backoff.delay(
                    self.attempts - 1,
                    self.previous_delay,
                    self.rng.as_dyn(),
                );
                self.previous_delay = Some(d);
                d
            }
        }
        .max(self.policy.min_wait);
        let until = now.moment + wait;
        if until >= deadline {
            let elapsed = now.moment - self.started.unwrap_or(now.moment);
            return self.finish(Err(Error::Deadline(Box::new(DeadlineExceeded {
                endpoint: Some(self.request.operation.endpoint()),
                elapsed,
                attempts: self.attempts,
                last_error: Some(Box::new(error)),
            }))));
        }
        self.events.push_back(Event::RetryScheduled {
            operation: self.request.operation,
            attempt: self.attempts,
            reason,
            wait,
            server_asked,
        });
        self.state = State::Waiting(until);
    }

    /// The backoff delay the next retry would get without jitter (used as a floor for a
    /// documented fixed wait, so a fixed wait never shortens the schedule).
    fn next_backoff_peek(&self) -> Duration {
        self.policy.backoff.raw_delay(self.attempts.saturating_sub(1)).min(self.policy.backoff.cap)
    }

    fn finish(&mut self, result: Result<T, Error>) {
        self.state = State::Finished;
        self.result = Some(result);
    }
}

/// A machine an adapter can drive: [`Call`], [`crate::Wait`] and the others all follow it.
pub trait Machine {
    /// What the machine produces.
    type Output;
    /// What to do next.
    fn poll(&mut self, now: Now) -> Step<Self::Output>;
    /// Feeds the outcome of the request last sent.
    fn handle(&mut self, outcome: Result<http::Response<Bytes>, TransportError>, now: Now);
    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Event>;
    /// The machine's deadline, once it has started; adapters cap each request's timeout at it.
    fn deadline(&self) -> Option<Moment>;
    /// The error to report when the caller cancels: [`Error::Cancelled`], unless the machine
    /// knows more (a create that may already have happened says so).
    fn cancelled(&mut self) -> Error {
        Error::Cancelled
    }
}

impl<T> Machine for Call<T> {
    type Output = T;
    fn poll(&mut self, now: Now) -> Step<T> {
        Call::poll(self, now)
    }
    fn handle(&mut self, outcome: Result<http::Response<Bytes>, TransportError>, now: Now) {
        Call::handle(self, outcome, now)
    }
    fn poll_event(&mut self) -> Option<Event> {
        Call::poll_event(self)
    }
    fn deadline(&self) -> Option<Moment> {
        Call::deadline(self)
    }
}

/// The jitter source: the built-in generator inline (no allocation per call), or the caller's.
enum Rng {
    Builtin(SplitMix64),
    Custom(Box<dyn Random>),
}

impl Rng {
    fn as_dyn(&mut self) -> &mut dyn Random {
        match self {
            Rng::Builtin(r) => r,
            Rng::Custom(r) => r.as_mut(),
        }
    }
}

/// Events waiting to be taken. Drivers take them after every step, so a few slots inline
/// suffice; more spill to the heap rather than being lost.
struct EventQueue {
    enabled: bool,
    inline: [Option<Event>; 2],
    head: usize,
    len: usize,
    spill: VecDeque<Event>,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue { enabled: true, inline: [None, None], head: 0, len: 0, spill: VecDeque::new() }
    }
}

impl EventQueue {
    fn push_back(&mut self, event: Event) {
        if !self.enabled {
            return;
        }
        if self.len < self.inline.len() && self.spill.is_empty() {
            let slot = (self.head + self.len) % self.inline.len();
            self.inline[slot] = Some(event);
            self.len += 1;
        } else {
            self.spill.push_back(event);
        }
    }

    fn pop_front(&mut self) -> Option<Event> {
        if self.len > 0 {
            let event = self.inline[self.head].take();
            self.head = (self.head + 1) % self.inline.len();
            self.len -= 1;
            event
        } else {
            self.spill.pop_front()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_pauses_and_throttling_are_notable_progress_is_not() {
        let op = Operation::Usage;
        assert!(!Event::Sending { operation: op, attempt: 1 }.is_notable());
        assert!(Event::Paused { api: op.api(), until: Moment::ZERO }.is_notable());
        assert!(Event::Throttled { operation: op, until: Moment::ZERO }.is_notable());
    }

    #[test]
    fn a_queue_turned_off_records_nothing() {
        let mut q = EventQueue { enabled: false, ..EventQueue::default() };
        q.push_back(Event::Sending { operation: Operation::Usage, attempt: 1 });
        assert_eq!(q.pop_front(), None);
    }

    #[test]
    fn the_event_queue_keeps_order_past_its_inline_slots() {
        let mut q = EventQueue::default();
        let ev = |attempt| Event::Sending { operation: Operation::Usage, attempt };
        for i in 0..3 {
            q.push_back(ev(i));
        }
        assert_eq!(q.pop_front(), Some(ev(0)));
        for i in 3..10 {
            q.push_back(ev(i));
        }
        for i in 1..10 {
            assert_eq!(q.pop_front(), Some(ev(i)));
        }
        assert_eq!(q.pop_front(), None);
        q.push_back(ev(42));
        assert_eq!(q.pop_front(), Some(ev(42)));
    }
}
