//! A response streamed as server-sent events, as two machines: [`OpenResponse`] sends the
//! request (retrying as any call would) until a success head arrives, and hands over
//! [`ResponseEvents`], which reads the open body chunk by chunk and yields the typed events.
//!
//! Everything about the stream is decided here: the success/error split and the error-body cap
//! (the call's), how long the body may stay silent, how long the whole stream may take, and how
//! a broken stream is classed.
//!
//! Two bounds hold a stream: the idle timeout between two chunks, and a deadline for the whole
//! stream (`stream_timeout`, or the handle's `with_timeout` when shorter, from the call's
//! start). Each read is due by the nearer; a server that keeps trickling bytes or keepalive
//! comments resets the first, never the second.

use std::convert::Infallible;
use std::time::Duration;

use super::responses::CreateResponse;
use super::stream::{ResponseEvent, ResponseStreamDecoder};
use crate::api::Operation;
use crate::api_call::{decode_empty, ApiCall};
use crate::call::Call;
use crate::error::{DeadlineExceeded, Error, TransportError, TransportErrorKind, TransportFailure};
use crate::machine::{Input, Internal, Machine, Next};
use crate::request::StreamTimeout;
use crate::runner::Runner;
use crate::scrub::Secret;
use crate::time::{Human, Moment, Now};

/// Opens a streamed response: done once a success head has arrived, with the body left open
/// for the [`ResponseEvents`] it ends with.
#[derive(Debug)]
pub struct OpenResponse {
    call: Call<()>,
    idle: Duration,
    /// The most the whole stream may take, from the call's start.
    whole: Duration,
    /// The call's start: its first poll.
    started: Option<Moment>,
    /// The client's key, scrubbed from the server text the events' errors quote.
    secret: Secret,
}

impl OpenResponse {
    /// Asks `request`'s question with `stream: true`, for a client run by `runner`. Fails at
    /// once, with nothing sent, when the request is invalid.
    pub fn new(runner: &Runner, request: &CreateResponse) -> Result<Self, Error> {
        let config = runner.config();
        let idle = config.stream_idle_timeout;
        let whole = runner.stream_timeout();
        let rendered = request.clone().stream(true).to_request(runner.target())?;
        // Opening is part of the stream: its retries end by the stream's deadline too.
        let opening = runner.with_timeout(runner.retry_policy().timeout.min(whole));
        let call =
            opening.call_with(rendered, decode_empty).streaming(config.max_response_bytes, idle);
        let secret = Secret::new(runner.target().client_key());
        Ok(OpenResponse { call, idle, whole, started: None, secret })
    }

    /// The events of the body the call opened.
    fn events(&self) -> ResponseEvents {
        // Set by the first poll, before the call could finish.
        let started = self.started.unwrap_or_default();
        let mut events = ResponseEvents::new(self.idle, started + self.whole);
        events.started = Some(started);
        events.attempts = self.call.attempts();
        events.secret = self.secret.clone();
        events
    }
}

impl Machine for OpenResponse {
    type Output = ResponseEvents;
    type Item = Infallible;

    fn next(&mut self, now: Now, token: Internal) -> Next<ResponseEvents, Infallible> {
        let deadline = *self.started.get_or_insert(now.moment) + self.whole;
        match self.call.next(now, token).or_done() {
            Ok(Next::Send(mut attempt)) => {
                // For a transport that bounds a body's reads only when it opens it.
                let left = now.to_real(deadline.saturating_since(now.moment));
                attempt.request.extensions_mut().insert(StreamTimeout(left));
                Next::Send(attempt)
            }
            Ok(next) => next,
            Err(result) => Next::Done(result.map(|()| self.events())),
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        self.call.feed(input, now, token)
    }

    fn cancel(&mut self, token: Internal) -> Result<ResponseEvents, Error> {
        self.call.cancel(token).map(|()| self.events())
    }

    fn operation(&self) -> Option<Operation> {
        Some(CreateResponse::OPERATION)
    }
}

/// The events of an open response stream, in order, ending at `[DONE]` (or at the end of the
/// body). An event that cannot be read is an error item and the stream goes on; a broken or
/// silent connection is a last error item, and so is a stream still open at its deadline
/// ([`Error::Deadline`]).
#[derive(Debug)]
pub struct ResponseEvents {
    decoder: ResponseStreamDecoder,
    idle: Duration,
    deadline: Moment,
    /// When the call that opened the stream began (else the first poll), and its attempts: what
    /// the deadline's error reports.
    started: Option<Moment>,
    attempts: u32,
    /// When the read under way was asked for: whether it was due by the idle timeout or by the
    /// deadline.
    asked: Moment,
    ended: bool,
    broken: Option<Error>,
    secret: Secret,
}

impl ResponseEvents {
    /// The events of a body that may stay silent at most `idle` between two chunks, and must be
    /// over by `deadline`.
    pub fn new(idle: Duration, deadline: Moment) -> Self {
        ResponseEvents {
            decoder: ResponseStreamDecoder::new(),
            idle,
            deadline,
            started: None,
            attempts: 1,
            asked: Moment::ZERO,
            ended: false,
            broken: None,
            secret: Secret::default(),
        }
    }

    fn break_off(&mut self, kind: TransportErrorKind, message: String) {
        self.ended = true;
        let error = TransportError::after_send(kind, message);
        // The answer was under way (its head arrived), so it happened, and is billed: the
        // caller must not ask again blindly.
        let failure =
            TransportFailure::new(Some(CreateResponse::OPERATION.endpoint()), error, 1, true);
        self.broken = Some(Error::Transport(Box::new(failure)));
    }

    /// Whether the read asked for was due by the deadline rather than by the idle timeout, or
    /// the deadline has passed anyway: then its time running out is the deadline's.
    fn due_by_deadline(&self, now: Now) -> bool {
        now.moment >= self.deadline || self.deadline <= self.asked + self.idle
    }

    /// The stream is still open at its deadline, however steadily data was arriving.
    fn past_deadline(&mut self, now: Now) {
        self.ended = true;
        let endpoint = CreateResponse::OPERATION.endpoint();
        let started = self.started.unwrap_or(now.moment);
        let whole = Human(self.deadline.saturating_since(started));
        let message = format!(
            "the response stream's deadline passed: the whole stream may take {whole} \
             (stream_timeout, or the call's timeout when shorter), and it was still open"
        );
        let error = TransportError::after_send(TransportErrorKind::Timeout, message);
        // As when it breaks off: the answer was under way, and is billed.
        let failure = TransportFailure::new(Some(endpoint), error, self.attempts, true);
        self.broken = Some(Error::Deadline(Box::new(DeadlineExceeded {
            endpoint: Some(endpoint),
            elapsed: now.moment.saturating_since(started),
            attempts: self.attempts,
            last_error: Some(Box::new(Error::Transport(Box::new(failure)))),
            may_have_succeeded: true,
        })));
    }
}

impl Machine for ResponseEvents {
    type Output = ();
    type Item = Result<ResponseEvent, Error>;

    fn next(&mut self, now: Now, _: Internal) -> Next<(), Self::Item> {
        self.started.get_or_insert(now.moment);
        if let Some(event) = self.decoder.next_event() {
            return Next::Yield(event.map_err(|mut e| {
                crate::scrub::decode_error(&mut e, self.secret.get());
                Error::Decode(Box::new(e))
            }));
        }
        if !self.ended && !self.decoder.is_done() && now.moment >= self.deadline {
            // A read answered past the deadline (by a transport that could not be cut short).
            self.past_deadline(now);
        }
        if let Some(broken) = self.broken.take() {
            return Next::Yield(Err(broken));
        }
        if self.ended || self.decoder.is_done() {
            return Next::Done(Ok(()));
        }
        self.asked = now.moment;
        Next::Read((now.moment + self.idle).min(self.deadline))
    }

    fn feed(&mut self, input: Input, now: Now, _: Internal) {
        match input {
            Input::Chunk(Some(Ok(chunk))) => self.decoder.feed(&chunk),
            Input::Chunk(None) => {
                self.ended = true;
                self.decoder.finish();
                // A stream ends with `data: [DONE]` (jockey-api.md): without it, the answer was cut.
                if !self.decoder.is_done() {
                    let message = "the stream ended before [DONE]: the answer may be incomplete";
                    self.break_off(TransportErrorKind::Reset, message.to_owned());
                }
            }
            // A transport's own timer (a socket's, set from `StreamTimeout`) ran out.
            Input::Chunk(Some(Err(e)))
                if e.kind == TransportErrorKind::Timeout && self.due_by_deadline(now) =>
            {
                self.past_deadline(now)
            }
            Input::Chunk(Some(Err(e))) => {
                self.break_off(e.kind, format!("the stream broke: {}", e.message))
            }
            Input::Expired if self.due_by_deadline(now) => self.past_deadline(now),
            Input::Expired => {
                let idle = self.idle;
                self.break_off(
                    TransportErrorKind::Timeout,
                    format!("no data on the response stream for {idle:?}"),
                )
            }
            Input::Slot(_) | Input::Response(_) => {}
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(CreateResponse::OPERATION)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{Moment, Step};

    fn drive(
        mut events: ResponseEvents,
        chunks: Vec<Option<Result<Bytes, TransportError>>>,
    ) -> Vec<String> {
        let mut chunks = chunks.into_iter();
        let mut out = Vec::new();
        let now = Now::fake(0.0);
        loop {
            events = match events.poll(now) {
                Step::Read(read) => {
                    assert_eq!(read.until, Moment::from_secs(30));
                    match chunks.next() {
                        Some(chunk) => read.answer(chunk, now),
                        None => read.expired(now),
                    }
                }
                Step::Yield(Ok(event), events) => {
                    out.push(event.event_type().to_owned());
                    events
                }
                Step::Yield(Err(e), events) => {
                    out.push(format!("error: {e}"));
                    events
                }
                Step::Done(result) => {
                    assert!(result.is_ok());
                    return out;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn chunk(text: &'static str) -> Option<Result<Bytes, TransportError>> {
        Some(Ok(Bytes::from_static(text.as_bytes())))
    }

    /// Opens a stream for a client of `config` (through `runner` to give it a handle's
    /// options) at t=0, its head arriving at once, then feeds its body a keepalive comment every
    /// `every` for as long as it keeps reading, honouring each read's `until` as a driver would.
    /// Returns the moment the stream ended and how: an error item, or `None` if it never ended
    /// within a day of virtual time.
    fn trickle(
        config: crate::ClientConfig,
        handle: impl Fn(&Runner) -> Runner,
        every: Duration,
    ) -> (Moment, Option<Error>) {
        let runner = handle(&crate::Settings::new(config).runner(0).expect("runner"));
        let ask = CreateResponse::ask("ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56", "Why?");
        let mut now = Now::fake(0.0);
        let mut open = OpenResponse::new(&runner, &ask).expect("valid");
        let mut events = loop {
            open = match open.poll(now).through(runner.limiter(), now) {
                Step::Send(exchange) => {
                    let (_, awaiting) = exchange.send(now);
                    let mut head = http::Response::new(Bytes::new());
                    head.headers_mut()
                        .insert("content-type", "text/event-stream".parse().expect("value"));
                    awaiting.answer(Ok(head), now)
                }
                Step::Done(result) => break result.expect("the head opens the stream"),
                other => panic!("unexpected {other:?}"),
            }
        };
        let day = Moment::from_secs(24 * 3600);
        while now.moment < day {
            events = match events.poll(now) {
                Step::Read(read) => {
                    let next = now.moment + every;
                    if next <= read.until {
                        now = now.advanced_to(next);
                        read.answer(chunk(": keepalive\n\n"), now)
                    } else {
                        now = now.advanced_to(read.until);
                        read.expired(now)
                    }
                }
                Step::Yield(Err(e), _) => return (now.moment, Some(e)),
                other => panic!("unexpected {other:?}"),
            }
        }
        (now.moment, None)
    }

    fn jockey() -> crate::ClientConfig {
        crate::ClientConfig::new(crate::Api::Jockey, "tlk_test_key")
    }

    /// The error a stream that outlived its whole-stream deadline ends with.
    fn assert_whole_stream_deadline(ended: (Moment, Option<Error>), at: Moment) {
        let (when, error) = ended;
        let Some(error) = error else { panic!("the trickle held the stream until {when:?}") };
        assert_eq!(when, at, "ended at the deadline: {error}");
        let Error::Deadline(deadline) = &error else { panic!("a deadline error: {error:?}") };
        assert_eq!(deadline.elapsed, at.since_origin(), "{error}");
        assert!(error.to_string().contains("the response stream's deadline passed"), "{error}");
        assert!(!error.to_string().contains("no data"), "not the idle timeout: {error}");
        assert!(error.may_have_succeeded(), "the answer was under way, and billed");
    }

    #[test]
    fn a_stream_that_trickles_under_the_idle_timeout_ends_at_the_default_stream_timeout() {
        // 119 s between keepalives never trips the 120 s idle timeout; the whole stream still
        // ends by the default 600 s.
        let ended = trickle(jockey(), Runner::clone, Duration::from_secs(119));
        assert_whole_stream_deadline(ended, Moment::from_secs(600));
    }

    #[test]
    fn a_stream_that_trickles_ends_at_the_calls_own_earlier_deadline() {
        let ended =
            trickle(jockey(), |r| r.with_timeout(Duration::from_secs(60)), Duration::from_secs(29));
        assert_whole_stream_deadline(ended, Moment::from_secs(60));
    }

    #[test]
    fn a_stream_that_trickles_ends_at_its_configured_stream_timeout() {
        let mut config = jockey();
        config.stream_idle_timeout = Duration::from_secs(30);
        config.stream_timeout = Duration::from_secs(300);
        let ended = trickle(config.clone(), Runner::clone, Duration::from_secs(29));
        assert_whole_stream_deadline(ended, Moment::from_secs(300));
        // The handle's budget counts only when it is the shorter.
        let longer = |r: &Runner| r.with_timeout(Duration::from_secs(3600));
        let ended = trickle(config, longer, Duration::from_secs(29));
        assert_whole_stream_deadline(ended, Moment::from_secs(300));
    }

    #[test]
    fn each_read_is_due_by_the_nearer_of_the_idle_timeout_and_the_deadline() {
        let deadline = Moment::from_secs(100);
        let events = ResponseEvents::new(Duration::from_secs(30), deadline);
        let Step::Read(read) = events.poll(Now::fake(0.0)) else { panic!("a read") };
        assert_eq!(read.until, Moment::from_secs(30));
        let now = Now::fake(80.0);
        let Step::Read(read) = read.answer(chunk(": keepalive\n\n"), now).poll(now) else {
            panic!("a read")
        };
        assert_eq!(read.until, deadline);
        // A transport's own timer running out on a read due by the deadline is the deadline.
        let timeout = TransportError::after_send(TransportErrorKind::Timeout, "timeout: global");
        let now = Now::fake(100.0);
        let Step::Yield(Err(error), events) =
            read.answer(Some(Err(timeout.clone())), now).poll(now)
        else {
            panic!("an error item")
        };
        assert!(matches!(error, Error::Deadline(_)), "{error}");
        assert!(error.to_string().contains("the whole stream may take 1 min 40 s"), "{error}");
        assert!(matches!(events.poll(now), Step::Done(Ok(()))));
        // One due by the idle timeout stays what it was: a broken stream.
        let events = ResponseEvents::new(Duration::from_secs(30), deadline);
        let Step::Read(read) = events.poll(Now::fake(0.0)) else { panic!("a read") };
        let now = Now::fake(30.0);
        let Step::Yield(Err(error), _) = read.answer(Some(Err(timeout)), now).poll(now) else {
            panic!("an error item")
        };
        assert!(matches!(error, Error::Transport(_)), "{error}");
        assert!(error.to_string().contains("the stream broke: timeout: global"), "{error}");
    }

    #[test]
    fn the_opening_request_carries_what_is_left_of_the_streams_deadline() {
        let mut config = jockey();
        config.stream_timeout = Duration::from_secs(45);
        let runner = crate::Settings::new(config).runner(0).expect("runner");
        let ask = CreateResponse::ask("ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56", "Why?");
        let open = OpenResponse::new(&runner, &ask).expect("valid");
        let now = Now::fake(10.0);
        let Step::Send(exchange) = open.poll(now).through(runner.limiter(), now) else {
            panic!("a send")
        };
        let (request, awaiting) = exchange.send(now);
        let extensions = request.extensions();
        assert_eq!(extensions.get(), Some(&StreamTimeout(Duration::from_secs(45))));
        // Opening is part of the stream: the head, too, is due by its deadline.
        assert_eq!(awaiting.expires(), Moment::from_secs(55));
    }

    #[test]
    fn events_split_across_chunks_come_whole_then_done_ends_the_stream() {
        let seen = drive(
            ResponseEvents::new(Duration::from_secs(30), Moment::from_secs(600)),
            vec![
                chunk("data: {\"type\":\"response.output_text.delta\",\"del"),
                chunk("ta\":\"Hi\"}\n\ndata: [DONE]\n\n"),
            ],
        );
        assert_eq!(seen, ["response.output_text.delta"]);
    }

    #[test]
    fn a_broken_or_silent_stream_ends_with_one_transport_error() {
        let reset = TransportError::after_send(TransportErrorKind::Reset, "connection reset");
        let seen = drive(
            ResponseEvents::new(Duration::from_secs(30), Moment::from_secs(600)),
            vec![chunk("data: {\"type\":\"keepalive\"}\n\n"), Some(Err(reset))],
        );
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].contains("the stream broke: connection reset"), "{seen:?}");
        // A body that ends cleanly but without `[DONE]` was cut too.
        let seen = drive(
            ResponseEvents::new(Duration::from_secs(30), Moment::from_secs(600)),
            vec![
                chunk("data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"),
                None,
            ],
        );
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].contains("ended before [DONE]"), "{seen:?}");
        let seen =
            drive(ResponseEvents::new(Duration::from_secs(30), Moment::from_secs(600)), vec![]);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains("no data on the response stream for 30s"), "{seen:?}");
    }
}
