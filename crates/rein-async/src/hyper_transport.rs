//! The default transport: hyper-util's client over hyper-rustls (ring, webpki roots, HTTP/1.1).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use hyper::body::{Body as _, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
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
    pub(crate) fn exchange(&self, request: http::Request<Body>) -> Exchange {
        let timeout = self.timeout_for(&request);
        Exchange {
            timer: tokio::time::sleep(timeout),
            timeout,
            read: ReadWhole {
                state: ReadState::Head(self.client.request(request.map(SegmentBody::new))),
                max: self.max_response_bytes,
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// A whole exchange (the head, then the body read up to the cap) within a timeout. A named,
    /// compact future rather than nested `async` blocks: every request moves it a few times on
    /// its way down to the runtime, so its size is paid per request.
    pub(crate) struct Exchange {
        #[pin]
        timer: Sleep,
        timeout: Duration,
        read: ReadWhole,
    }
}

impl Future for Exchange {
    type Output = Result<http::Response<Bytes>, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(done) = this.read.poll(cx) {
            return Poll::Ready(done);
        }
        match this.timer.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(timed_out(*this.timeout))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Waits for the head, then reads the whole body, refusing more than the cap.
struct ReadWhole {
    state: ReadState,
    max: u64,
}

enum ReadState {
    Head(ResponseFuture),
    Body(http::response::Parts, Incoming, Collected),
    Done,
}

/// The body read so far: a body of one frame (the usual case) is kept as it came, uncopied.
enum Collected {
    Nothing,
    One(Bytes),
    Many(BytesMut),
}

impl Collected {
    fn len(&self) -> usize {
        match self {
            Collected::Nothing => 0,
            Collected::One(b) => b.len(),
            Collected::Many(b) => b.len(),
        }
    }

    fn push(&mut self, data: Bytes) {
        *self = match std::mem::replace(self, Collected::Nothing) {
            Collected::Nothing => Collected::One(data),
            Collected::One(first) => {
                let mut all = BytesMut::with_capacity(first.len() + data.len());
                all.extend_from_slice(&first);
                all.extend_from_slice(&data);
                Collected::Many(all)
            }
            Collected::Many(mut all) => {
                all.extend_from_slice(&data);
                Collected::Many(all)
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Collected::Nothing => Bytes::new(),
            Collected::One(b) => b,
            Collected::Many(b) => b.freeze(),
        }
    }
}

impl ReadWhole {
    fn too_large(&self, size: u64) -> TransportError {
        let max = self.max;
        TransportError::after_send(
            TransportErrorKind::BodyTooLarge,
            format!("the response body ({size} bytes or more) exceeds the {max}-byte cap"),
        )
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<http::Response<Bytes>, TransportError>> {
        loop {
            match &mut self.state {
                ReadState::Head(head) => {
                    let response = match ready!(Pin::new(head).poll(cx)) {
                        Ok(response) => response,
                        Err(e) => {
                            self.state = ReadState::Done;
                            return Poll::Ready(Err(map_error(e)));
                        }
                    };
                    let (parts, body) = response.into_parts();
                    // hyper reads the announced length (Content-Length) into the body's hint.
                    let announced = body.size_hint().lower();
                    if let Some(len) = Some(announced).filter(|&len| len > self.max) {
                        self.state = ReadState::Done;
                        return Poll::Ready(Err(self.too_large(len)));
                    }
                    self.state = ReadState::Body(parts, body, Collected::Nothing);
                }
                ReadState::Body(_, body, collected) => {
                    match ready!(Pin::new(body).poll_frame(cx)) {
                        Some(Ok(frame)) => {
                            let Ok(data) = frame.into_data() else { continue }; // trailers: nothing to read
                            let total = (collected.len() + data.len()) as u64;
                            if total > self.max {
                                self.state = ReadState::Done;
                                return Poll::Ready(Err(self.too_large(total)));
                            }
                            collected.push(data);
                        }
                        Some(Err(e)) => {
                            self.state = ReadState::Done;
                            return Poll::Ready(Err(map_hyper(&e, "reading the response body")));
                        }
                        None => {
                            if let ReadState::Body(parts, _, collected) =
                                std::mem::replace(&mut self.state, ReadState::Done)
                            {
                                let response =
                                    http::Response::from_parts(parts, collected.into_bytes());
                                return Poll::Ready(Ok(response));
                            }
                        }
                    }
                }
                ReadState::Done => {
                    return Poll::Ready(Err(TransportError::after_send(
                        TransportErrorKind::Other,
                        "the exchange was polled after it ended",
                    )))
                }
            }
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
