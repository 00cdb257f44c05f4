//! A response streamed as server-sent events, as a stream of typed events.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use rein_core::jockey::{CreateResponse, ResponseEvent, ResponseStreamDecoder};
use rein_core::{ApiCall, Call, DecodeError, Error, Operation, TransportError, TransportFailure};

use crate::client::Handle;
use crate::transport::BodyStream;

/// The events of a streamed response, in order, ending at `[DONE]`, as a [`Stream`]. A broken
/// connection ends it with a transport error; an event that cannot be read is an error item,
/// and the stream goes on.
///
/// Pull events with any `StreamExt` (futures, tokio-stream), or with [`ResponseStream::next`].
pub struct ResponseStream {
    body: BodyStream,
    decoder: ResponseStreamDecoder,
    ended: bool,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream").field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl ResponseStream {
    /// Sends the request (retrying as any call would) and returns once a success response's
    /// head has arrived; its body is read as the stream is polled.
    pub(crate) async fn open(handle: &Handle, request: &CreateResponse) -> Result<Self, Error> {
        let rendered = request.to_request(&handle.shared.target)?;
        let rt = &handle.shared.runtime;
        let call = Call::with_decoder(rendered, handle.retry(), rein_core::call::decode_empty)
            .seed(rt.seed())
            .limiter(Arc::clone(&rt.limiter));
        let max_error_body = handle.shared.config.max_response_bytes;
        let run = rt.drive_streaming(call, handle.cancel.as_ref(), max_error_body);
        #[cfg(feature = "tracing")]
        let run = tracing::Instrument::instrument(
            run,
            tracing::info_span!("rein.call", operation = ?request.operation()),
        );
        let response = run.await?;
        Ok(ResponseStream {
            body: response.into_body(),
            decoder: ResponseStreamDecoder::new(),
            ended: false,
        })
    }

    /// The next event, `None` once the stream is over: the same as `StreamExt::next`.
    pub async fn next(&mut self) -> Option<Result<ResponseEvent, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for ResponseStream {
    type Item = Result<ResponseEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.decoder.next_event() {
                return Poll::Ready(Some(
                    event.map_err(|e: DecodeError| Error::Decode(Box::new(e))),
                ));
            }
            if this.ended || this.decoder.is_done() {
                return Poll::Ready(None);
            }
            match ready!(this.body.as_mut().poll_next(cx)) {
                None => {
                    this.ended = true;
                    this.decoder.finish();
                }
                Some(Ok(chunk)) => this.decoder.feed(&chunk),
                Some(Err(e)) => {
                    this.ended = true;
                    let error = TransportError::after_send(
                        e.kind,
                        format!("the stream broke: {}", e.message),
                    );
                    let failure = TransportFailure::new(
                        Some(Operation::CreateResponse.endpoint()),
                        error,
                        1,
                        false,
                    );
                    return Poll::Ready(Some(Err(Error::Transport(Box::new(failure)))));
                }
            }
        }
    }
}
