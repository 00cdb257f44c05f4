//! The default transport: hyper-util's client over hyper-rustls (ring, webpki roots, HTTP/1.1).

use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use hyper::body::{Body as _, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rein_core::{Body, TransportError, TransportErrorKind, Truncated};

use rein_core::body::FileError;

use crate::body_stream::SegmentBody;
use crate::transport::{BodyStream, StreamingResponse, Transport};

/// hyper-util's client with the connect timeout and body cap rein needs.
///
/// Connecting is bounded by the connect timeout; the driver bounds the rest of each attempt (and
/// each read of a streamed body) by the deadline rein-core gives it. Redirects are never
/// followed. Request bodies are streamed, files in 64 KiB chunks, so memory stays flat whatever
/// the upload's size.
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, SegmentBody>,
    max_response_bytes: u64,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl HyperTransport {
    /// A transport: `connect_timeout` to connect, and at most `max_response_bytes` read.
    pub fn new(connect_timeout: Duration, max_response_bytes: u64) -> Self {
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
        HyperTransport { client, max_response_bytes }
    }

    /// Sends the request and waits for the response head. The legacy client follows no
    /// redirects: a 3xx comes back as it is, for the core to judge.
    async fn head(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Incoming>, TransportError> {
        self.client.request(request.map(SegmentBody::new)).await.map_err(map_error)
    }
}

#[async_trait]
impl Transport for HyperTransport {
    /// The head, then the body up to the cap: a longer one is cut there and marked
    /// [`Truncated`], keeping its status and headers (an announced length over the cap is not
    /// read past it).
    async fn send(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (mut parts, mut body) = self.head(request).await?.into_parts();
        let max = self.max_response_bytes;
        // hyper reads the announced length (Content-Length) into the body's hint.
        let announced = body.size_hint().lower();
        let cap = usize::try_from(max).unwrap_or(usize::MAX);
        let mut collected = BytesMut::new();
        let mut total = 0u64;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|e| map_hyper(&e, "reading the response body"))?;
            let Ok(data) = frame.into_data() else { continue }; // trailers: nothing to read
            total += data.len() as u64;
            let room = cap.saturating_sub(collected.len());
            collected.extend_from_slice(&data[..data.len().min(room)]);
            if total > max {
                // The rest is not read: the connection is dropped with the body.
                parts.extensions.insert(Truncated { at_least: total.max(announced) });
                break;
            }
        }
        Ok(http::Response::from_parts(parts, collected.freeze()))
    }

    /// The head; the body is read as it streams, not capped: its reader decides how much to
    /// take, and how long to wait for each chunk.
    async fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        let (parts, body) = self.head(request).await?.into_parts();
        let stream: BodyStream = Box::pin(IncomingStream(Some(body)));
        Ok(http::Response::from_parts(parts, stream))
    }
}

/// A response body as a stream of data chunks.
struct IncomingStream(Option<Incoming>);

impl Stream for IncomingStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        while let Some(body) = &mut self.0 {
            match ready!(Pin::new(body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                    _ => {} // trailers and empty frames carry nothing to read
                },
                Some(Err(e)) => {
                    self.0 = None;
                    return Poll::Ready(Some(Err(map_hyper(&e, "reading the response body"))));
                }
                None => self.0 = None,
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
