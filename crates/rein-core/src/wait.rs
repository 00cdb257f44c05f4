//! Waiting on a resource processed in the background: the [`Wait`] machine and its presets.
//!
//! A wait polls a GET until the resource is `ready` (done) or `failed` (terminal: failed
//! resources do not recover), within a timeout. Unknown statuses count as pending. A 429, a 5xx
//! or a dropped connection during a poll does not end the wait: the poll backs off (obeying
//! `Retry-After`) inside the same deadline. Connections that cannot be made at all, a few in a row
//! ([`RetryPolicy::max_connect_failures`](crate::RetryPolicy::max_connect_failures)), end it
//! with the transport error: nothing is there to answer. Polls are never closer together than the interval,
//! which is also a floor: the references warn that 1-second polling wastes rate-limit budget.
//!
//! ```text
//!   Idle ──(now ≥ next poll)──▶ Polling(Call with retries) ──▶ pending: Idle(last send + interval)
//!                                        │                 ──▶ ready:   Done(Ok(resource))
//!                                        │                 ──▶ failed:  Done(Err(ResourceFailed))
//!                                        └── no time left ───▶ Done(Err(WaitTimedOut))
//! ```

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::call::{Call, Decoder};
use crate::error::{Error, ResourceFailed, WaitRefused, WaitTimedOut};
use crate::event::{Event, Events};
use crate::machine::{Input, Internal, Machine, Next};
use crate::request::Request;
use crate::retry::RetryPolicy;
use crate::status::{Phase, Pollable};
use crate::target::Target;
use crate::time::{Moment, Now};

/// How often to poll and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    interval: Duration,
    floor: Duration,
    timeout: Duration,
}

impl WaitPolicy {
    /// An asset uploaded directly: every 5 s, for up to 120 s (typical wait 10-60 s).
    pub const ASSET_DIRECT: WaitPolicy = WaitPolicy::preset(5, 120);
    /// An asset uploaded by URL: every 5 s, for up to 300 s (typical wait 10-120 s).
    pub const ASSET_URL: WaitPolicy = WaitPolicy::preset(5, 300);
    /// A knowledge store item: every 10 s, for up to 600 s (typical wait 1-10 min).
    pub const KNOWLEDGE_STORE_ITEM: WaitPolicy = WaitPolicy::preset(10, 600);
    /// A jack document: every 5 s, for up to 120 s ("most documents are ready in under 60 seconds").
    pub const JACK_DOCUMENT: WaitPolicy = WaitPolicy::preset(5, 120);

    const fn preset(interval_s: u64, timeout_s: u64) -> WaitPolicy {
        let interval = Duration::from_secs(interval_s);
        WaitPolicy { interval, floor: interval, timeout: Duration::from_secs(timeout_s) }
    }

    /// Polls every `interval`; an interval below the preset's floor is raised to the floor.
    pub fn interval(self, interval: Duration) -> Self {
        WaitPolicy { interval: interval.max(self.floor), ..self }
    }

    /// Polls every `interval`, even below the preset's floor: an explicit choice (tests against
    /// the emulator, say), since fast polling spends rate-limit budget.
    pub fn interval_below_floor(self, interval: Duration) -> Self {
        WaitPolicy { interval, floor: interval, ..self }
    }

    /// Gives up after `timeout`.
    pub fn timeout(self, timeout: Duration) -> Self {
        WaitPolicy { timeout, ..self }
    }

    /// The polling interval.
    pub fn poll_interval(&self) -> Duration {
        self.interval
    }

    /// The timeout.
    pub fn wait_timeout(&self) -> Duration {
        self.timeout
    }
}

/// A GET of a resource processed in the background, with the references' preset for waiting
/// on it: every endpoint a client waits on says here how.
pub trait Waitable: ApiCall {
    /// How often to poll, and for how long.
    fn wait_policy(&self) -> WaitPolicy;
}

enum State<T> {
    Idle { next_poll: Moment },
    Polling(Box<Call<http::Response<Bytes>>>),
    Finished(Result<T, Error>),
    Spent,
}

/// Waits on one resource. Drive it with [`Machine::poll`].
pub struct Wait<T> {
    request: Request,
    decoder: Decoder<T>,
    policy: WaitPolicy,
    retry: RetryPolicy,
    events: Events,
    limited: bool,
    seed: u64,
    state: State<T>,
    started: Option<Moment>,
    deadline: Option<Moment>,
    last_send: Option<Moment>,
    polls: u32,
    last_status: Option<String>,
}

impl<T> std::fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("operation", &self.request.operation)
            .field("policy", &self.policy)
            .field("polls", &self.polls)
            .field("last_status", &self.last_status)
            .finish_non_exhaustive()
    }
}

impl<T: Pollable> Wait<T> {
    /// A wait that polls `request` (a GET of the resource) and decodes each answer with `decoder`.
    /// `retry` governs the retries inside each poll (its attempts are unbounded within the wait's
    /// deadline, and none comes sooner than the poll interval).
    pub fn new(
        request: Request,
        decoder: Decoder<T>,
        policy: WaitPolicy,
        retry: RetryPolicy,
    ) -> Self {
        Wait {
            request,
            decoder,
            policy,
            retry,
            events: Events::default(),
            limited: false,
            seed: 0,
            state: State::Idle { next_poll: Moment::ZERO },
            started: None,
            deadline: None,
            last_send: None,
            polls: 0,
            last_status: None,
        }
    }

    /// A wait on the resource a typed GET returns. Fails at once, with nothing sent, when the
    /// request is invalid or `target` is for the other API.
    pub fn typed<R: ApiCall<Output = T>>(
        target: &Target,
        request: &R,
        policy: WaitPolicy,
        retry: RetryPolicy,
    ) -> Result<Self, Error> {
        let rendered = request.to_request(target)?;
        Ok(Wait::new(rendered, R::decode, policy, retry))
    }

    /// Every poll asks a rate limiter first (see [`Call::rate_limited`]).
    pub fn rate_limited(mut self) -> Self {
        self.limited = true;
        self
    }

    /// Where the wait's events, and its polls', go.
    pub fn events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Seeds the jitter of the polls' retries.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The last status seen.
    pub fn last_status(&self) -> Option<&str> {
        self.last_status.as_deref()
    }

    fn poll_done(&mut self, result: Result<http::Response<Bytes>, Error>, now: Now) {
        let op = self.request.operation;
        let response = match result {
            Ok(response) => response,
            Err(e @ Error::Deadline(_)) => return self.time_out(now, Some(e)),
            Err(Error::RateLimited(r)) if !matches!(r.refused, WaitRefused::ExceedsCap { .. }) => {
                return self.time_out(now, Some(Error::RateLimited(r)))
            }
            Err(e) => return self.finish(Err(e)),
        };
        let body = response.body().clone();
        let resource = match (self.decoder)(response) {
            Ok(r) => r,
            Err(e) => {
                // An unreadable answer is not a verdict: poll again after the interval.
                let error = Error::Decode(Box::new(e));
                return self.schedule_next(now, Some(error));
            }
        };
        self.polls += 1;
        let status = resource.status_text().to_owned();
        let (polls, elapsed) = (self.polls, now.moment - self.started.unwrap_or(now.moment));
        self.events.emit(|| Event::Progress {
            operation: op,
            status: status.clone(),
            polls,
            elapsed,
        });
        self.last_status = Some(status.clone());
        match resource.phase() {
            Phase::Ready => self.finish(Ok(resource)),
            Phase::Failed => {
                let key = self.request.client_key();
                let mut echoed = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                crate::scrub::json(&mut echoed, key);
                let failed = ResourceFailed {
                    endpoint: Some(op.endpoint()),
                    status,
                    message: resource
                        .failure_message()
                        .map(|m| crate::scrub::text(m, key).into_owned()),
                    resource: echoed,
                };
                self.finish(Err(Error::ResourceFailed(Box::new(failed))))
            }
            Phase::Pending => self.schedule_next(now, None),
        }
    }

    fn schedule_next(&mut self, now: Now, last_error: Option<Error>) {
        let next = self.last_send.unwrap_or(now.moment) + self.policy.interval;
        let next = next.max(now.moment);
        if next >= self.deadline.unwrap_or(now.moment) {
            return self.time_out(now, last_error);
        }
        self.state = State::Idle { next_poll: next };
    }

    fn time_out(&mut self, now: Now, last_error: Option<Error>) {
        let timed_out = WaitTimedOut {
            endpoint: Some(self.request.operation.endpoint()),
            waited: now.moment - self.started.unwrap_or(now.moment),
            timeout: self.policy.timeout,
            polls: self.polls,
            last_status: self.last_status.clone(),
            last_error: last_error.map(Box::new),
        };
        self.finish(Err(Error::WaitTimedOut(Box::new(timed_out))));
    }

    fn finish(&mut self, result: Result<T, Error>) {
        self.state = State::Finished(result);
    }

    /// The call of the next poll, inside the wait's deadline.
    fn poll_call(&self, now: Now, deadline: Moment) -> Call<http::Response<Bytes>> {
        let mut retry = self.retry.clone();
        retry.max_attempts = u32::MAX;
        retry.timeout = deadline - now.moment;
        retry.min_wait = retry.min_wait.max(self.policy.interval);
        let call = Call::new(self.request.clone(), retry)
            .seed(self.seed.wrapping_add(self.polls as u64))
            .events(self.events.clone())
            .deadline_at(deadline);
        if self.limited {
            call.rate_limited()
        } else {
            call
        }
    }
}

impl<T: Pollable> Machine for Wait<T> {
    type Output = T;
    type Item = Infallible;

    fn next(&mut self, now: Now, token: Internal) -> Next<T, Infallible> {
        let started = *self.started.get_or_insert(now.moment);
        let deadline = *self.deadline.get_or_insert(started + self.policy.timeout);
        loop {
            match &mut self.state {
                State::Finished(_) | State::Spent => {
                    return match std::mem::replace(&mut self.state, State::Spent) {
                        State::Finished(result) => Next::Done(result),
                        _ => Next::Done(Err(Error::Cancelled)),
                    }
                }
                State::Idle { next_poll } => {
                    let next_poll = *next_poll;
                    if now.moment < next_poll {
                        return Next::Sleep(next_poll);
                    }
                    if now.moment >= deadline {
                        self.time_out(now, None);
                        continue;
                    }
                    self.state = State::Polling(Box::new(self.poll_call(now, deadline)));
                }
                State::Polling(call) => match call.next(now, token).or_done() {
                    Ok(next) => {
                        if let Next::Send(_) = next {
                            self.last_send = Some(now.moment);
                        }
                        return next;
                    }
                    Err(result) => self.poll_done(result, now),
                },
            }
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        if let State::Polling(call) = &mut self.state {
            call.feed(input, now, token);
        }
    }

    fn cancel(&mut self, _: Internal) -> Result<T, Error> {
        match std::mem::replace(&mut self.state, State::Spent) {
            State::Finished(result) => result,
            _ => Err(Error::Cancelled),
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(self.request.operation)
    }
}
