//! The transport trait: one request in, one response (or a transport error) out.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use rein_core::{Body, Error, FileSource, TransportError, TransportErrorKind};

/// A response whose body is read as it arrives (for event streams).
pub type StreamingResponse = http::Response<Box<dyn Read + Send>>;

/// Sends requests. Tiny on purpose: a test transport is a closure.
///
/// Implementations must report whether a failed request may have reached the server
/// ([`TransportError::sent`]); the core decides from that whether a retry is safe. Every request
/// carries a [`rein_core::request::AttemptTimeout`] extension, the most the attempt may take,
/// which the transport must keep to (the driver cannot interrupt a blocking call); a streaming
/// one also a [`rein_core::request::ReadTimeout`], the most its body may stay silent, and a
/// [`rein_core::request::StreamTimeout`], the most the whole response may take: each read of
/// the body must end within both, or a server that trickles bytes holds the caller. (A read
/// answered past the deadline still ends the stream, but only once it returns.)
///
/// ```
/// use bytes::Bytes;
/// use rein::blocking::Transport;
///
/// let always_ok = |_req: http::Request<rein::core::Body>| {
///     Ok(http::Response::new(Bytes::from_static(b"{}")))
/// };
/// let response = always_ok.send(http::Request::new(rein::core::Body::Empty))?;
/// assert_eq!(response.status(), 200);
/// # Ok::<(), rein::TransportError>(())
/// ```
pub trait Transport: Send + Sync {
    /// Sends `request` and reads the whole response.
    fn send(&self, request: http::Request<Body>) -> Result<http::Response<Bytes>, TransportError>;

    /// Sends `request` and returns as soon as the head arrives; the body is read as it streams.
    /// The default reads the whole body first.
    fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        let response = self.send(request)?;
        let (parts, body) = response.into_parts();
        let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(body));
        Ok(http::Response::from_parts(parts, reader))
    }
}

impl<F> Transport for F
where
    F: Fn(http::Request<Body>) -> Result<http::Response<Bytes>, TransportError> + Send + Sync,
{
    fn send(&self, request: http::Request<Body>) -> Result<http::Response<Bytes>, TransportError> {
        self(request)
    }
}

/// The next chunk of a streamed body: `None` at its end, or the failure that cut it (a read
/// that timed out, or anything else: a reset).
pub(crate) fn read_chunk(body: &mut Box<dyn Read + Send>) -> Option<Result<Bytes, TransportError>> {
    let mut buffer = vec![0; 16 * 1024];
    match body.read(&mut buffer) {
        Ok(0) => None,
        Ok(n) => {
            buffer.truncate(n);
            Some(Ok(Bytes::from(buffer)))
        }
        Err(e) => {
            let kind = match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    TransportErrorKind::Timeout
                }
                _ => TransportErrorKind::Reset,
            };
            Some(Err(TransportError::after_send(kind, e.to_string())))
        }
    }
}

/// A [`FileSource`] for the file at `path`, with its current length: its bytes are read only
/// when the request is sent.
pub fn file_source(path: &Path) -> Result<FileSource, Error> {
    FileSource::from_metadata(path, std::fs::metadata(path))
}
