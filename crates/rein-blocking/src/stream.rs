//! A response streamed as server-sent events, as an iterator of typed events.

use std::io::Read;

use rein_core::jockey::{CreateResponse, ResponseEvent, ResponseStreamDecoder};
use rein_core::{ApiCall, Call, DecodeError, Error, TransportError, TransportErrorKind};

use crate::client::Handle;

/// The events of a streamed response, in order, ending at `[DONE]`. A broken connection ends
/// it with a transport error; an event that cannot be read is an error item, and the stream
/// goes on.
pub struct ResponseStream {
    body: Box<dyn Read + Send>,
    decoder: ResponseStreamDecoder,
    buffer: Vec<u8>,
    ended: bool,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream").field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl ResponseStream {
    pub(crate) fn open(handle: &Handle, request: &CreateResponse) -> Result<Self, Error> {
        let rendered = request.to_request(&handle.shared.target)?;
        let rt = &handle.shared.runtime;
        let call = Call::with_decoder(rendered, handle.retry(), rein_core::call::decode_empty)
            .seed(rt.seed())
            .limiter(std::sync::Arc::clone(&rt.limiter));
        let max_error_body = handle.shared.config.max_response_bytes;
        let response = rt.drive_streaming(call, handle.cancel.as_ref(), max_error_body)?;
        Ok(ResponseStream {
            body: response.into_body(),
            decoder: ResponseStreamDecoder::new(),
            buffer: vec![0; 16 * 1024],
            ended: false,
        })
    }
}

impl Iterator for ResponseStream {
    type Item = Result<ResponseEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.decoder.next_event() {
                return Some(event.map_err(|e: DecodeError| Error::Decode(Box::new(e))));
            }
            if self.ended || self.decoder.is_done() {
                return None;
            }
            match self.body.read(&mut self.buffer) {
                Ok(0) => {
                    self.ended = true;
                    self.decoder.finish();
                }
                Ok(n) => self.decoder.feed(&self.buffer[..n]),
                Err(e) => {
                    self.ended = true;
                    let error = TransportError::after_send(
                        TransportErrorKind::Reset,
                        format!("the stream broke: {e}"),
                    );
                    return Some(Err(Error::Transport(Box::new(
                        rein_core::TransportFailure::new(
                            Some(rein_core::Operation::CreateResponse.endpoint()),
                            error,
                            1,
                            false,
                        ),
                    ))));
                }
            }
        }
    }
}
