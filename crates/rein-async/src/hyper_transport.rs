//! The default transport: hyper-util's client over hyper-rustls (ring, webpki roots, HTTP/1.1).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rein_core::request::AttemptTimeout;
use rein_core::{Body, TransportError, TransportErrorKind};
use tokio::time::Sleep;

use crate::body_stream::{FileError, SegmentBody};
use crate::transport::{BodyStream, StreamingResponse, Transport};

/// hyper-util's client with the timeouts and body cap rein needs.
///
/// Connecting is bounded by the connect timeout; a whole attempt (connecting, sending, and
/// reading the response) by the request timeout, capped further by each request's
/// [`AttemptTimeout`]. Redirects are never followed. Request bodies are streamed, files in
/// 64 KiB chunks, so memory stays flat whatever the upload's size.
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, SegmentBody>,
    request_timeout: Duration,
    max_response_bytes: u64,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl HyperTransport {
    /// A transport: `connect_timeout` to connect, `request_timeout` for a whole attempt (capped
    /// further by each request's [`AttemptTimeout`]), and at most `max_response_bytes` read.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        max_response_bytes: u64,
    ) -> Self {
        let mut http = HttpConnector::new();
        // The TLS layer above decides the scheme; this one only opens TCP connections.
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            // ring named explicitly: whatever else enables aws-lc in rustls, rein uses ring.
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports rustls' default protocol versions")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        HyperTransport { client, request_timeout, max_response_bytes }
    }

    fn timeout_for(&self, request: &http::Request<Body>) -> Duration {
        request
            .extensions()
            .get::<AttemptTimeout>()
            .map_or(self.request_timeout, |t| t.0.min(self.request_timeout))
    }

    /// Sends the request and waits for the response head. The legacy client follows no
    /// redirects: a 3xx comes back as it is, for the core to judge.
    async fn head(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Incoming>, TransportError> {
        self.client.request(request.map(SegmentBody::new)).await.map_err(map_error)
    }

    /// One whole exchange within the attempt's timeout. The driver calls this directly for the
    /// default transport, sparing every request the trait object's boxed future.
    pub(crate) async fn exchange(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let timeout = self.timeout_for(&request);
        let exchange = async {
            let response = self.head(request).await?;
            self.read_capped(response).await
        };
        tokio::time::timeout(timeout, exchange).await.unwrap_or_else(|_| Err(timed_out(timeout)))
    }

    /// Reads a whole body, refusing more than the cap.
    async fn read_capped(
        &self,
        response: http::Response<Incoming>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (parts, body) = response.into_parts();
        let max = self.max_response_bytes;
        let too_large = |size: u64| {
            TransportError::after_send(
                TransportErrorKind::BodyTooLarge,
                format!("the response body ({size} bytes or more) exceeds the {max}-byte cap"),
            )
        };
        let announced = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = announced.filter(|&len| len > max) {
            return Err(too_large(len));
        }
        // Collecting keeps a one-frame body as it is, without a copy.
        let limited =
            http_body_util::Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX));
        match limited.collect().await {
            Ok(collected) => Ok(http::Response::from_parts(parts, collected.to_bytes())),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(max + 1)),
            Err(e) => Err(match e.downcast::<hyper::Error>() {
                Ok(e) => map_hyper(&e, "reading the response body"),
                Err(e) => TransportError::after_send(
                    TransportErrorKind::Reset,
                    format!("reading the response body: {e}"),
                ),
            }),
        }
    }
}

fn timed_out(timeout: Duration) -> TransportError {
    // The request may have been written before the timer fired: ambiguous by design.
    TransportError::after_send(
        TransportErrorKind::Timeout,
        format!("no complete response within {timeout:?}"),
    )
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.exchange(request).await
    }

    fn enforces_attempt_timeout(&self) -> bool {
        true
    }

    /// The head must arrive within the attempt's timeout; after it, each chunk of the body
    /// within the request timeout of the one before (an event stream may run long, but not
    /// silently forever). The body is not capped: its reader decides how much to take.
    async fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        let timeout = self.timeout_for(&request);
        let response = tokio::time::timeout(timeout, self.head(request))
            .await
            .unwrap_or_else(|_| Err(timed_out(timeout)))?;
        let (parts, body) = response.into_parts();
        let idle = self.request_timeout;
        let stream: BodyStream = Box::pin(IncomingStream {
            body,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            done: false,
        });
        Ok(http::Response::from_parts(parts, stream))
    }
}

/// A response body as a stream of data chunks, with an idle timeout between chunks.
struct IncomingStream {
    body: Incoming,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl Stream for IncomingStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        while !this.done {
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.timer.as_mut().reset(deadline);
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                        _ => {} // trailers and empty frames carry nothing to read
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(map_hyper(&e, "reading the response body"))));
                }
                Poll::Ready(None) => this.done = true,
                Poll::Pending => {
                    if this.timer.as_mut().poll(cx).is_ready() {
                        this.done = true;
                        let idle = this.idle;
                        return Poll::Ready(Some(Err(TransportError::after_send(
                            TransportErrorKind::Timeout,
                            format!("no data on the response stream for {idle:?}"),
                        ))));
                    }
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(None)
    }
}

/// Classifies a client error, above all by whether the request may have reached the server:
/// only a failure to connect (DNS, refused, TLS handshake, connect timeout) is surely unsent.
fn map_error(error: hyper_util::client::legacy::Error) -> TransportError {
    let message = describe(&error);
    if let Some(file) = find_source::<FileError>(&error) {
        // The body stopped short of its end (a file part is never the body's last bytes: the
        // form's closing boundary follows), so the server cannot have accepted it.
        return TransportError::not_sent(TransportErrorKind::File, file.to_string());
    }
    if error.is_connect() {
        return TransportError::not_sent(TransportErrorKind::Connect, message);
    }
    match find_source::<hyper::Error>(&error) {
        Some(e) if e.is_timeout() => {
            TransportError::after_send(TransportErrorKind::Timeout, message)
        }
        _ => TransportError::after_send(TransportErrorKind::Reset, message),
    }
}

/// Classifies an error while reading a response body: the request was sent.
fn map_hyper(error: &hyper::Error, context: &str) -> TransportError {
    let kind =
        if error.is_timeout() { TransportErrorKind::Timeout } else { TransportErrorKind::Reset };
    TransportError::after_send(kind, format!("{context}: {}", describe(error)))
}

/// An error and its causes on one line ("client error (Connect): tcp connect error: ...").
fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn find_source<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}
