//! One API call with retries: the [`Call`] machine.
//!
//! ```text
//!           poll                          answer(2xx)
//!  Ready ─(Acquire)─▶ Cleared ─(Send)─▶ Sent ─────────────────────────▶ Done(Ok)
//!    ▲                                   │ answer(retryable failure)
//!    │          poll ≥ until             ▼            answer(final failure)
//!    └───────────────────────────── Waiting ──────────────────────────▶ Done(Err)
//! ```
//!
//! The machine decides everything: whether a failure is retryable (status, transport error and
//! idempotency), how long to wait (Retry-After, the API's documented defaults, backoff), and
//! when to give up (attempts, deadline, a wait too long to sleep). A streaming call awaits the
//! head only: a success ends the call with the body left open for its reader; an error's body is
//! read here, up to a cap, and judged like any other. The driver only sends, sleeps and reads the
//! clock.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::api::Operation;
use crate::backoff::{Random, SplitMix64};
use crate::decode;
use crate::error::{
    DeadlineExceeded, DecodeError, Error, RateLimited, TransportError, TransportErrorKind,
    TransportFailure, WaitRefused,
};
use crate::event::{Event, Events};
use crate::limiter::{Advertised, Ask, Priority, Report};
use crate::machine::{Attempt, Input, Internal, Machine, Next};
use crate::request::{Request, Truncated};
use crate::retry::{RetryPolicy, RetryReason};
use crate::time::{Moment, Now};
use crate::trace::Span;

/// A success-body decoder: from the 2xx response to the call's output.
pub type Decoder<T> = fn(http::Response<Bytes>) -> Result<T, DecodeError>;

/// The identity decoder: the response itself.
pub fn raw_response(response: http::Response<Bytes>) -> Result<http::Response<Bytes>, DecodeError> {
    Ok(response)
}

enum State<T> {
    Ready,
    Acquiring,
    Cleared,
    Sent,
    /// A streaming call's error response, its body being read.
    ReadingError {
        head: http::response::Parts,
        body: BytesMut,
        due: Moment,
    },
    Waiting(Moment),
    Finished(Result<T, Error>),
    /// The result was handed out; `poll` consumes a finished machine, so nothing follows.
    Spent,
}

/// How many retries in a row may follow a wait shorter than the backoff's base (`Retry-After:
/// 0`) before the backoff takes over.
pub const IMMEDIATE_RETRIES: u32 = 2;

/// One API call with retries. Drive it with [`Machine::poll`].
pub struct Call<T = http::Response<Bytes>> {
    request: Request,
    policy: RetryPolicy,
    decoder: Decoder<T>,
    rng: Rng,
    events: Events,
    limited: bool,
    priority: Priority,
    stream: Option<Streaming>,
    state: State<T>,
    report: Option<Report>,
    started: Option<Moment>,
    deadline: Option<Moment>,
    attempts: u32,
    previous_delay: Option<Duration>,
    server_errors: u32,
    connect_failures: u32,
    zero_waits: u32,
    maybe_processed: bool,
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &self.request.operation)
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
            events: Events::default(),
            limited: false,
            priority: Priority::Interactive,
            stream: None,
            state: State::Ready,
            report: None,
            started: None,
            deadline: None,
            attempts: 0,
            previous_delay: None,
            server_errors: 0,
            connect_failures: 0,
            zero_waits: 0,
            maybe_processed: false,
        }
    }

    /// Seeds the jitter (clients give every call a fresh seed, so they do not retry in lockstep).
    pub fn seed(self, seed: u64) -> Self {
        Call { rng: Rng::Builtin(SplitMix64::new(seed)), ..self }
    }

    /// Replaces the random source.
    pub fn rng(mut self, rng: Box<dyn Random>) -> Self {
        self.rng = Rng::Custom(rng);
        self
    }

    /// Where the call's [`Event`]s go.
    pub fn events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Asks a rate limiter before every send ([`Step::Acquire`](crate::Step::Acquire)), and
    /// tells it of every 429 and every advertised limit ([`Step::Tell`](crate::Step::Tell)).
    pub fn rate_limited(mut self) -> Self {
        self.limited = true;
        self
    }

    /// Asks the limiter as bulk work (fleet polls, batches): it leaves the share of the budget
    /// reserved for the caller's other calls.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Awaits only the head of a success response: the call ends with its body still open (the
    /// driver keeps it, for [`Step::Read`](crate::Step::Read)s of the body's reader, each within
    /// `idle` of the one before). The body of an error response is read, up to `max_error_body`
    /// bytes, and judged like any other.
    pub fn streaming(mut self, max_error_body: u64, idle: Duration) -> Self {
        self.stream = Some(Streaming { max_error_body, idle });
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

    /// Attempts sent so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    fn deadline_exceeded(&self, now: Now, last_error: Option<Error>) -> Error {
        Error::Deadline(Box::new(DeadlineExceeded {
            endpoint: Some(self.request.operation.endpoint()),
            elapsed: now.moment - self.started.unwrap_or(now.moment),
            attempts: self.attempts,
            last_error: last_error.map(Box::new),
            may_have_succeeded: false,
        }))
    }

    /// The next step at `now`, once the deadline is known.
    fn step(&mut self, now: Now, deadline: Moment) -> Next<T, Infallible> {
        let op = self.request.operation;
        loop {
            match &self.state {
                State::Waiting(until) if now.moment < *until && *until < deadline => {
                    return Next::Sleep(*until)
                }
                State::Waiting(until) if now.moment < *until => {
                    // Waking would come too late: end now rather than after the deadline.
                    self.finish(Err(self.deadline_exceeded(now, None)));
                }
                State::Waiting(_) => self.state = State::Ready,
                State::Ready if now.moment >= deadline => {
                    self.finish(Err(self.deadline_exceeded(now, None)));
                }
                State::Ready if self.limited => {
                    self.state = State::Acquiring;
                    return Next::Acquire(self.ask());
                }
                State::Ready | State::Cleared => {
                    self.attempts += 1;
                    self.state = State::Sent;
                    return Next::Send(Attempt {
                        request: self.request.to_http(),
                        deadline,
                        timeout: Duration::MAX,
                        idle: self.stream.map(|s| s.idle),
                        announce: (self.events.clone(), op, self.attempts),
                        span: Span::default(),
                    });
                }
                // Polled while an answer is owed: only a composite of this crate could, and none
                // does (a step that asks holds the machine until it is answered). Asking again is
                // the harmless answer.
                State::Acquiring => return Next::Acquire(self.ask()),
                State::Sent => return Next::Sleep(deadline),
                State::ReadingError { due, .. } => return Next::Read(*due),
                State::Finished(_) => {
                    return match std::mem::replace(&mut self.state, State::Spent) {
                        State::Finished(result) => Next::Done(result),
                        _ => Next::Done(Err(Error::Cancelled)),
                    }
                }
                State::Spent => return Next::Done(Err(Error::Cancelled)),
            }
        }
    }

    fn ask(&self) -> Ask {
        Ask { operation: self.request.operation, priority: self.priority }
    }

    /// What a response says about the rate limit, for the limiter: its advertised limit, and
    /// for a 429, the throttling and the pause.
    fn note_limit(&mut self, response: &http::Response<Bytes>, now: Now) {
        // A presigned URL's storage is not the API: what it says of its own limits must not
        // pause or teach the API's budget (its 429s are retried like any, by this call alone).
        if !self.limited || self.request.operation.is_presigned() {
            return;
        }
        let advertised = Advertised::from_headers(response.headers(), now);
        let throttled = response.status() == http::StatusCode::TOO_MANY_REQUESTS;
        if throttled || advertised.is_some() {
            let operation = self.request.operation;
            self.report = Some(Report { operation, throttled, pause_until: None, advertised });
        }
    }

    fn on_slot(&mut self, slot: Result<(), Moment>, now: Now) {
        let until = match slot {
            Ok(()) => return self.state = State::Cleared,
            Err(until) => until,
        };
        let op = self.request.operation;
        if until >= self.deadline.unwrap_or(now.moment) {
            return self.finish(Err(Error::RateLimited(Box::new(RateLimited {
                api: op.api(),
                endpoint: Some(op.endpoint()),
                wait: until - now.moment,
                refused: WaitRefused::LimiterPaused,
                attempts: self.attempts,
                response: None,
                may_have_succeeded: false,
            }))));
        }
        self.events.emit(|| Event::Throttled { operation: op, until, wait: until - now.moment });
        self.state = State::Waiting(until);
    }

    /// A streaming call's error head: its body is read (up to the cap) before it is judged.
    fn on_head(&mut self, response: http::Response<Bytes>, now: Now) {
        match self.stream {
            Some(_) if !response.status().is_success() => {
                let (head, _) = response.into_parts();
                let due = self.deadline.unwrap_or(now.moment);
                self.state = State::ReadingError { head, body: BytesMut::new(), due };
            }
            _ => self.on_response(Ok(response), now),
        }
    }

    fn on_error_chunk(&mut self, chunk: Option<Result<Bytes, TransportError>>, now: Now) {
        let cap = self.stream.map_or(0, |s| s.max_error_body);
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let State::ReadingError { body, .. } = &mut self.state else { return };
        let complete = match chunk {
            Some(Ok(data)) => {
                // Past the cap the body is cut, not refused: the decoder keeps an excerpt anyway.
                body.extend_from_slice(&data[..data.len().min(cap - body.len().min(cap))]);
                body.len() >= cap
            }
            // The status is known: a body that breaks off is judged by what arrived of it.
            None | Some(Err(_)) => true,
        };
        if complete {
            if let State::ReadingError { head, body, .. } =
                std::mem::replace(&mut self.state, State::Sent)
            {
                self.on_response(Ok(http::Response::from_parts(head, body.freeze())), now);
            }
        }
    }

    /// Judges the outcome of the request last sent.
    fn on_response(&mut self, outcome: Result<http::Response<Bytes>, TransportError>, now: Now) {
        let op = self.request.operation;
        if let Ok(response) = &outcome {
            self.connect_failures = 0;
            self.note_limit(response, now);
        }
        let truncated =
            outcome.as_ref().ok().and_then(|r| r.extensions().get::<Truncated>().copied());
        match outcome {
            // A success cut at the cap cannot be read, and would be cut again: not retried.
            Ok(response) if response.status().is_success() && truncated.is_some() => {
                let at_least = truncated.map_or(0, |t| t.at_least);
                let body = response.body();
                let error = DecodeError {
                    endpoint: Some(op.endpoint()),
                    status: response.status().as_u16(),
                    reason: format!(
                        "the body ({at_least} bytes or more) is larger than the {}-byte cap \
                         (ClientBuilder::max_response_bytes)",
                        body.len()
                    ),
                    excerpt: decode::excerpt(body),
                    body_len: usize::try_from(at_least).unwrap_or(usize::MAX),
                    may_have_succeeded: !self.request.idempotent,
                };
                let mut error = error;
                crate::scrub::decode_error(&mut error, self.request.client_key());
                self.maybe_processed |= error.may_have_succeeded;
                self.finish(Err(Error::Decode(Box::new(error))));
            }
            Ok(response) if response.status().is_success() => match (self.decoder)(response) {
                Ok(value) => self.finish(Ok(value)),
                Err(mut e) => {
                    crate::scrub::decode_error(&mut e, self.request.client_key());
                    e.endpoint = Some(op.endpoint());
                    e.may_have_succeeded = !self.request.idempotent;
                    self.maybe_processed |= e.may_have_succeeded;
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
                crate::scrub::api_error(&mut api, self.request.client_key());
                api.attempts = self.attempts;
                if let Some(cut) = truncated {
                    api.body_len = usize::try_from(cut.at_least).unwrap_or(usize::MAX);
                }
                // The server's seconds are real ones; a client on a faster clock counts more.
                let retry_after = api.retry_after.map(|ra| now.from_real(ra));
                // A 503 that names a wait, like a 429, says the server turned the request away;
                // any other 5xx can come after the work was done.
                let turned_away = status == 429 || (status == 503 && retry_after.is_some());
                let maybe_processed = status >= 500 && !turned_away && !self.request.idempotent;
                if maybe_processed {
                    self.maybe_processed = true;
                    api.may_have_succeeded = true;
                }
                let ambiguous_gateway = matches!(status, 502 | 504) && !self.request.idempotent;
                // A billed request (a Jockey response) is repeated only when the server surely
                // did not process it: a second answer would be generated and charged.
                let billed_unsure = self.request.operation.is_billed()
                    && !turned_away
                    && !self.policy.retry_ambiguous;
                if !self.policy.retries_status(status)
                    || (ambiguous_gateway && !self.policy.retry_gateway_errors_on_creates)
                    || billed_unsure
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
                if let (429, Some(report), Some(w)) = (status, &mut self.report, wait) {
                    // One response pauses the whole client, so no more than the cap: a bogus
                    // or far-off Retry-After (a proxy's, say) must not stop every call for hours.
                    let until = now.moment + w.min(self.policy.max_retry_after);
                    report.pause_until = Some(until);
                    let wait = until - now.moment;
                    self.events.emit(|| Event::Paused { api: op.api(), until, wait });
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
                self.maybe_processed |= may_have_succeeded;
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
                self.connect_failures =
                    if kind == TransportErrorKind::Connect { self.connect_failures + 1 } else { 0 };
                if kind == TransportErrorKind::Connect {
                    let (operation, attempt, in_a_row) = (op, self.attempts, self.connect_failures);
                    self.events.emit(|| Event::ConnectFailed { operation, attempt, in_a_row });
                }
                if self.connect_failures >= self.policy.max_connect_failures.max(1) {
                    return self.finish(Err(failure));
                }
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
        // A server that asks for no wait (`Retry-After: 0`) again and again must not make the
        // call spin: past IMMEDIATE_RETRIES such waits in a row, the backoff takes over.
        let immediate = wait.is_some_and(|w| w < self.policy.backoff.base);
        self.zero_waits = if immediate { self.zero_waits + 1 } else { 0 };
        let (wait, dictated) = if immediate && self.zero_waits > IMMEDIATE_RETRIES {
            (None, false)
        } else {
            (wait, dictated)
        };
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
                may_have_succeeded: false,
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
            return self.finish(Err(self.deadline_exceeded(now, Some(error))));
        }
        let (operation, attempt) = (self.request.operation, self.attempts);
        self.events.emit(|| Event::RetryScheduled {
            operation,
            attempt,
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

    fn finish(&mut self, mut result: Result<T, Error>) {
        if let (true, Err(error)) = (self.maybe_processed, &mut result) {
            error.mark_may_have_succeeded();
        }
        self.state = State::Finished(result);
    }
}

impl<T> Machine for Call<T> {
    type Output = T;
    type Item = Infallible;

    fn next(&mut self, now: Now, _: Internal) -> Next<T, Infallible> {
        let started = *self.started.get_or_insert(now.moment);
        let budget_end = started + self.policy.timeout;
        let deadline =
            *self.deadline.insert(self.deadline.map_or(budget_end, |d| d.min(budget_end)));
        // What a response said about the limit goes to the limiter before anything else
        // happens.
        if let Some(report) = self.report.take() {
            return Next::Tell(report);
        }
        self.step(now, deadline)
    }

    fn feed(&mut self, input: Input, now: Now, _: Internal) {
        match (&self.state, input) {
            (State::Acquiring, Input::Slot(slot)) => self.on_slot(slot, now),
            (State::Sent, Input::Response(Ok(response))) => self.on_head(response, now),
            (State::Sent, Input::Response(Err(e))) => self.on_response(Err(e), now),
            (State::Sent, Input::Expired) => self.on_response(Err(expired("a response")), now),
            (State::ReadingError { .. }, Input::Chunk(chunk)) => self.on_error_chunk(chunk, now),
            (State::ReadingError { .. }, Input::Expired) => self.on_error_chunk(None, now),
            _ => {} // an answer to nothing asked: ignored
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

/// The attempt's deadline passed before `what` arrived. The request may have been written:
/// ambiguous by design.
fn expired(what: &str) -> TransportError {
    TransportError::after_send(
        TransportErrorKind::Timeout,
        format!("{what} did not arrive whole before the attempt's deadline"),
    )
}

/// How a streaming call reads: an error body up to a cap, a success body left open.
#[derive(Clone, Copy, Debug)]
struct Streaming {
    max_error_body: u64,
    idle: Duration,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;
    use crate::api_call::decode_empty;
    use crate::machine::Step;
    use crate::target::Target;

    fn streaming_usage(cap: u64) -> Call<()> {
        let target =
            Target::new(Api::Jack, Api::Jack.default_base_url(), "jack_k").expect("target");
        let request = target.request(Operation::Usage, &[]).build().expect("request");
        Call::with_decoder(request, RetryPolicy::default(), decode_empty)
            .streaming(cap, Duration::from_secs(30))
    }

    fn head(
        status: u16,
        headers: &[(&str, &str)],
    ) -> Result<http::Response<Bytes>, TransportError> {
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        Ok(response.body(Bytes::new()).expect("head"))
    }

    fn chunk(text: &'static str) -> Option<Result<Bytes, TransportError>> {
        Some(Ok(Bytes::from_static(text.as_bytes())))
    }

    /// Sends the call's request and answers it with `outcome`, at `now`.
    fn exchange(
        call: Call<()>,
        outcome: Result<http::Response<Bytes>, TransportError>,
        now: Now,
    ) -> Call<()> {
        match call.poll(now) {
            Step::Send(exchange) => {
                assert!(exchange.streams(), "a streaming call awaits the head only");
                exchange.send(now).1.answer(outcome, now)
            }
            other => panic!("expected a send, got {other:?}"),
        }
    }

    fn read(call: Call<()>, chunk: Option<Result<Bytes, TransportError>>, now: Now) -> Call<()> {
        match call.poll(now) {
            Step::Read(read) => read.answer(chunk, now),
            other => panic!("expected a read, got {other:?}"),
        }
    }

    #[test]
    fn a_streaming_call_reads_an_error_body_retries_it_and_ends_at_a_success_head() {
        let now = Now::fake(0.0);
        let call = exchange(streaming_usage(1024), head(503, &[("retry-after", "1")]), now);
        // The error body comes in pieces and is judged whole, like any other.
        let call = read(call, chunk(r#"{"detail":"#), now);
        let call = read(call, chunk(r#""busy"}"#), now);
        let call = read(call, None, now);
        let call = match call.poll(now) {
            Step::Sleep(sleep) => {
                assert_eq!(sleep.until, Moment::from_secs(1), "the 503's Retry-After obeyed");
                sleep.wake()
            }
            other => panic!("expected a retry, got {other:?}"),
        };
        let later = Now::fake(1.0);
        let call = exchange(call, head(200, &[]), later);
        assert!(matches!(call.poll(later), Step::Done(Ok(()))), "the success body is left unread");
    }

    #[test]
    fn an_error_body_is_read_up_to_the_cap_and_a_broken_one_is_judged_by_its_status() {
        let now = Now::fake(0.0);
        let call = exchange(streaming_usage(5), head(400, &[]), now);
        let call = read(call, chunk("abc"), now);
        let call = read(call, chunk("defghi"), now); // the cap is reached: no more reads
        match call.poll(now) {
            Step::Done(Err(Error::Api(e))) => {
                assert_eq!(e.status, 400);
                assert_eq!(e.body_len, 5, "cut at the cap");
            }
            other => panic!("expected the 400, got {other:?}"),
        }

        // A body that breaks off is judged by its status and what arrived of it.
        let reset = TransportError::after_send(TransportErrorKind::Reset, "reset");
        let call = exchange(streaming_usage(64).policy_none(), head(500, &[]), now);
        let call = read(call, chunk(r#"{"detail":"Internal"#), now);
        match read(call, Some(Err(reset)), now).poll(now) {
            Step::Done(Err(Error::Api(e))) => assert_eq!((e.status, e.body_len), (500, 19)),
            other => panic!("expected the 500, got {other:?}"),
        }
    }

    impl<T> Call<T> {
        fn policy_none(mut self) -> Self {
            self.policy = RetryPolicy::none();
            self
        }
    }
}
