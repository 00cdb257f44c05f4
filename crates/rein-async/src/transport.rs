//! The transport trait: one request in, one response (or a transport error) out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use rein_core::{Body, Error, FileSource, TransportError};

/// A response body read as it arrives: chunks in order, or the transport error that cut it.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>;

/// A response whose body is read as it arrives (for event streams).
pub type StreamingResponse = http::Response<BodyStream>;

/// Sends requests. Tiny on purpose: a test transport is a closure returning a future.
///
/// Implementations must report whether a failed request may have reached the server
/// ([`TransportError::sent`]); the core decides from that whether a retry is safe. The driver
/// bounds every attempt and every read of a streamed body by the deadline the core gives it, so
/// a transport needs no timers of its own (each request also carries its
/// [`AttemptTimeout`](rein_core::request::AttemptTimeout), for a transport that wants it).
///
/// ```
/// use bytes::Bytes;
/// use rein::asynchronous::Transport;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let always_ok = |_req: http::Request<rein::core::Body>| async {
///     Ok(http::Response::new(Bytes::from_static(b"{}")))
/// };
/// let response = always_ok.send(http::Request::new(rein::core::Body::Empty)).await?;
/// assert_eq!(response.status(), 200);
/// # Ok::<(), rein::TransportError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends `request` and reads the whole response.
    async fn send(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError>;

    /// Sends `request` and returns as soon as the head arrives; the body is read as it streams.
    /// The default reads the whole body first.
    async fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        let response = self.send(request).await?;
        let (parts, body) = response.into_parts();
        let stream: BodyStream = Box::pin(Once(Some(body)));
        Ok(http::Response::from_parts(parts, stream))
    }
}

#[async_trait]
impl<F, Fut> Transport for F
where
    F: Fn(http::Request<Body>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send,
{
    async fn send(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self(request).await
    }
}

/// A body already read whole, as a stream of (at most) one chunk.
struct Once(Option<Bytes>);

impl Stream for Once {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().filter(|b| !b.is_empty()).map(Ok))
    }
}

/// A [`FileSource`] for the file at `path`, with its current length: its bytes are read only
/// when the request is sent.
pub async fn file_source(path: &std::path::Path) -> Result<FileSource, Error> {
    FileSource::from_metadata(path, tokio::fs::metadata(path).await)
}
