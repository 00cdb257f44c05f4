//! A response streamed as server-sent events, as two machines: [`OpenResponse`] sends the
//! request (retrying as any call would) until a success head arrives, and hands over
//! [`ResponseEvents`], which reads the open body chunk by chunk and yields the typed events.
//!
//! Everything about the stream is decided here: the success/error split and the error-body cap
//! (the call's), how long the body may stay silent, and how a broken stream is classed.

use std::convert::Infallible;
use std::time::Duration;

use super::responses::CreateResponse;
use super::stream::{ResponseEvent, ResponseStreamDecoder};
use crate::api::Operation;
use crate::api_call::{decode_empty, ApiCall};
use crate::call::Call;
use crate::error::{Error, TransportError, TransportErrorKind, TransportFailure};
use crate::machine::{Input, Internal, Machine, Next};
use crate::runner::Runner;
use crate::time::Now;

/// Opens a streamed response: done once a success head has arrived, with the body left open
/// for the [`ResponseEvents`] it ends with.
#[derive(Debug)]
pub struct OpenResponse {
    call: Call<()>,
    idle: Duration,
}

impl OpenResponse {
    /// Asks `request`'s question with `stream: true`, for a client run by `runner`. Fails at
    /// once, with nothing sent, when the request is invalid.
    pub fn new(runner: &Runner, request: &CreateResponse) -> Result<Self, Error> {
        let config = runner.config();
        let idle = config.stream_idle_timeout;
        let rendered = request.clone().stream(true).to_request(runner.target())?;
        let call =
            runner.call_with(rendered, decode_empty).streaming(config.max_response_bytes, idle);
        Ok(OpenResponse { call, idle })
    }
}

impl Machine for OpenResponse {
    type Output = ResponseEvents;
    type Item = Infallible;

    fn next(&mut self, now: Now, token: Internal) -> Next<ResponseEvents, Infallible> {
        match self.call.next(now, token).or_done() {
            Ok(next) => next,
            Err(result) => Next::Done(result.map(|()| ResponseEvents::new(self.idle))),
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        self.call.feed(input, now, token)
    }

    fn cancel(&mut self, token: Internal) -> Result<ResponseEvents, Error> {
        self.call.cancel(token).map(|()| ResponseEvents::new(self.idle))
    }

    fn operation(&self) -> Option<Operation> {
        Some(CreateResponse::OPERATION)
    }
}

/// The events of an open response stream, in order, ending at `[DONE]` (or at the end of the
/// body). An event that cannot be read is an error item and the stream goes on; a broken or
/// silent connection is a last error item.
#[derive(Debug)]
pub struct ResponseEvents {
    decoder: ResponseStreamDecoder,
    idle: Duration,
    ended: bool,
    broken: Option<Error>,
}

impl ResponseEvents {
    /// The events of a body that may stay silent at most `idle` between two chunks.
    pub fn new(idle: Duration) -> Self {
        ResponseEvents { decoder: ResponseStreamDecoder::new(), idle, ended: false, broken: None }
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
}

impl Machine for ResponseEvents {
    type Output = ();
    type Item = Result<ResponseEvent, Error>;

    fn next(&mut self, now: Now, _: Internal) -> Next<(), Self::Item> {
        if let Some(event) = self.decoder.next_event() {
            return Next::Yield(event.map_err(|e| Error::Decode(Box::new(e))));
        }
        if let Some(broken) = self.broken.take() {
            return Next::Yield(Err(broken));
        }
        if self.ended || self.decoder.is_done() {
            return Next::Done(Ok(()));
        }
        Next::Read(now.moment + self.idle)
    }

    fn feed(&mut self, input: Input, _now: Now, _: Internal) {
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
            Input::Chunk(Some(Err(e))) => {
                self.break_off(e.kind, format!("the stream broke: {}", e.message))
            }
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

    #[test]
    fn events_split_across_chunks_come_whole_then_done_ends_the_stream() {
        let seen = drive(
            ResponseEvents::new(Duration::from_secs(30)),
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
            ResponseEvents::new(Duration::from_secs(30)),
            vec![chunk("data: {\"type\":\"keepalive\"}\n\n"), Some(Err(reset))],
        );
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].contains("the stream broke: connection reset"), "{seen:?}");
        // A body that ends cleanly but without `[DONE]` was cut too.
        let seen = drive(
            ResponseEvents::new(Duration::from_secs(30)),
            vec![
                chunk("data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"),
                None,
            ],
        );
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].contains("ended before [DONE]"), "{seen:?}");
        let seen = drive(ResponseEvents::new(Duration::from_secs(30)), vec![]);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains("no data on the response stream for 30s"), "{seen:?}");
    }
}
