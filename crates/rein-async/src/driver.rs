//! The driver loop: runs any rein-core machine with tokio's clock, a transport and sleeps.
//! Every decision is the machine's; this only moves bytes and waits.
//!
//! The clock is `tokio::time::Instant`, so `tokio::time::pause()` drives every wait in tests.
//! Dropping a driver's future drops the machine with it: nothing more is sent.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use rein_core::request::AttemptTimeout;
use rein_core::{
    Body, Error, Machine, Moment, Now, RateLimit, SeedSequence, Step, TransportError,
    TransportErrorKind,
};
use tokio::time::Instant;

use crate::cancel::CancelToken;
use crate::transport::{BodyStream, StreamingResponse, Transport};

pub use rein_core::EventHook;

/// The transport a runtime sends with: the default one called directly, or any other through
/// the [`Transport`] trait.
pub(crate) enum Sender {
    /// The default transport.
    #[cfg(feature = "hyper")]
    Hyper(crate::HyperTransport),
    /// A transport given to the builder.
    Custom(Arc<dyn Transport>),
}

impl Sender {
    /// The exchange's future: the default transport's own, or the trait's boxed one. Named
    /// rather than `async`, so it adds no state of its own to every call's future.
    pub(crate) fn send(&self, request: http::Request<Body>) -> SendFuture<'_> {
        match self {
            #[cfg(feature = "hyper")]
            Sender::Hyper(h) => SendFuture::Hyper { exchange: h.exchange(request) },
            Sender::Custom(t) => SendFuture::Custom { future: t.send(request) },
        }
    }

    async fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        match self {
            #[cfg(feature = "hyper")]
            Sender::Hyper(h) => h.send_streaming(request).await,
            Sender::Custom(t) => t.send_streaming(request).await,
        }
    }

    fn enforces_attempt_timeout(&self) -> bool {
        match self {
            #[cfg(feature = "hyper")]
            Sender::Hyper(h) => h.enforces_attempt_timeout(),
            Sender::Custom(t) => t.enforces_attempt_timeout(),
        }
    }
}

/// The origin every client of this process measures [`Moment`]s from, so clients can share a
/// limiter: their moments are on one clock. It is set a while before its first use, so no clock
/// reading of the process (tests' paused clocks included) can fall before it.
fn process_origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let now = Instant::now();
        [3600, 60, 1]
            .into_iter()
            .find_map(|s| now.checked_sub(Duration::from_secs(s)))
            .unwrap_or(now)
    })
}

#[cfg(feature = "hyper")]
pin_project_lite::pin_project! {
    /// [`Sender::send`]'s future.
    #[project = SendFutureProj]
    pub(crate) enum SendFuture<'a> {
        /// The default transport's exchange.
        Hyper { #[pin] exchange: crate::hyper_transport::Exchange },
        /// A transport given to the builder.
        Custom { future: TransportFuture<'a> },
    }
}

// The same without the default transport (the macro takes no `cfg` on a variant).
#[cfg(not(feature = "hyper"))]
pin_project_lite::pin_project! {
    /// [`Sender::send`]'s future.
    #[project = SendFutureProj]
    pub(crate) enum SendFuture<'a> {
        /// A transport given to the builder.
        Custom { future: TransportFuture<'a> },
    }
}

/// What [`Transport::send`] returns.
type TransportFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'a,
    >,
>;

impl std::future::Future for SendFuture<'_> {
    type Output = Result<http::Response<Bytes>, TransportError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            #[cfg(feature = "hyper")]
            SendFutureProj::Hyper { exchange } => exchange.poll(cx),
            SendFutureProj::Custom { future } => future.as_mut().poll(cx),
        }
    }
}

/// What every call of a client shares: the clock's origin, the transport, the limiter, the hook.
pub(crate) struct Runtime {
    origin: Instant,
    pub(crate) transport: Sender,
    pub(crate) limiter: Arc<dyn RateLimit>,
    hook: Option<EventHook>,
    seeds: SeedSequence,
    /// The client's request timeout: a request carries an [`AttemptTimeout`] only when the
    /// call's deadline is nearer (the transport applies the request timeout itself).
    request_timeout: Duration,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("hook", &self.hook.is_some()).finish_non_exhaustive()
    }
}

impl Runtime {
    pub(crate) fn new(
        transport: Sender,
        limiter: Arc<dyn RateLimit>,
        hook: Option<EventHook>,
        request_timeout: Duration,
    ) -> Self {
        Runtime {
            origin: process_origin(),
            transport,
            limiter,
            hook,
            // Entropy once, from the OS-seeded hasher.
            seeds: SeedSequence::new(RandomState::new().build_hasher().finish()),
            request_timeout,
        }
    }

    pub(crate) fn now(&self) -> Now {
        Now::new(Moment::from_origin(self.origin.elapsed()), SystemTime::now())
    }

    /// Whether anyone takes the machines' events: the hook, or `tracing`.
    pub(crate) fn listens(&self) -> bool {
        self.hook.is_some() || cfg!(feature = "tracing")
    }

    /// A fresh seed per machine, so clients do not retry in lockstep.
    pub(crate) fn seed(&self) -> u64 {
        self.seeds.next_seed()
    }

    fn instant_at(&self, moment: Moment) -> Instant {
        // A moment too far to represent is as good as never.
        let far = Duration::from_secs(100 * 365 * 86_400);
        self.origin.checked_add(moment.since_origin()).unwrap_or_else(|| Instant::now() + far)
    }

    fn emit<M: Machine>(&self, machine: &mut M) {
        while let Some(event) = machine.poll_event() {
            #[cfg(feature = "tracing")]
            trace_event(&event);
            if let Some(hook) = &self.hook {
                hook(&event);
            }
        }
    }

    /// Sleeps until `until`; false when cancelled first.
    async fn sleep_until(&self, until: Moment, cancel: Option<&CancelToken>) -> bool {
        let sleep = tokio::time::sleep_until(self.instant_at(until));
        match cancel {
            Some(token) => tokio::select! {
                biased;
                () = token.cancelled() => false,
                () = sleep => true,
            },
            None => {
                sleep.await;
                true
            }
        }
    }

    /// The time left before the machine's deadline (the driver's own guard uses it).
    fn time_left<M: Machine>(&self, machine: &M, now: Now) -> Option<Duration> {
        machine.deadline().map(|d| d.saturating_since(now.moment))
    }

    /// Prepares a request for sending: attaches the attempt's time budget.
    fn prepare<M: Machine>(
        &self,
        machine: &M,
        now: Now,
        request: &mut http::Request<Body>,
    ) -> Option<Duration> {
        let at = AttemptTimeout::for_attempt(machine.deadline(), now.moment, self.request_timeout);
        AttemptTimeout::attach(request, at);
        self.time_left(machine, now)
    }

    /// Runs `machine` to completion.
    pub(crate) async fn drive<M: Machine>(
        &self,
        machine: M,
        cancel: Option<&CancelToken>,
    ) -> Result<M::Output, Error> {
        let mut machine = machine;
        self.drive_in_place(&mut machine, cancel).await
    }

    /// [`Runtime::drive`] with the machine borrowed: a caller that keeps the machine in its own
    /// future spares every call the copies of a machine passed by value.
    pub(crate) async fn drive_in_place<M: Machine>(
        &self,
        machine: &mut M,
        cancel: Option<&CancelToken>,
    ) -> Result<M::Output, Error> {
        // A clock reading serves the step after it too: the answer just handled and the
        // next poll happen at the same moment, give or take the driver's own microseconds
        // (a hook's time is not counted that way: the clock is read again after it runs).
        let mut now = self.now();
        loop {
            let step = machine.poll(now);
            match step {
                Step::Send(mut request) => {
                    if cancel.is_some_and(CancelToken::is_cancelled) {
                        return Err(machine.cancelled());
                    }
                    self.emit(machine);
                    if self.hook.is_some() {
                        now = self.now(); // the attempt's budget starts after the hook
                    }
                    let timeout = self.prepare(machine, now, &mut request);
                    #[cfg(feature = "tracing")]
                    let span = attempt_span(&request);
                    let send = self.transport.send(request);
                    #[cfg(feature = "tracing")]
                    let send = tracing::Instrument::instrument(send, span);
                    // Without a guard the exchange is awaited as it is: no wrapper future.
                    let outcome = match self.guard(timeout) {
                        // Rare (a deadline nearer than the request timeout): boxed, so the
                        // common path's future does not carry its room.
                        Some(limit) => Box::pin(within_limit(limit, send)).await,
                        None => send.await,
                    };
                    now = self.now();
                    machine.handle(outcome, now);
                    self.emit(machine);
                    if self.hook.is_some() {
                        now = self.now(); // the hook's time is not the machine's
                    }
                }
                Step::Wait(until) => {
                    self.emit(machine);
                    // Waits are rare next to sends: boxed, for the same reason.
                    if !Box::pin(self.sleep_until(until, cancel)).await {
                        return Err(machine.cancelled());
                    }
                    now = self.now();
                }
                Step::Done(result) => {
                    self.emit(machine);
                    return result;
                }
            }
        }
    }

    /// Runs `machine` (a call whose success body is not read) with a streaming transport, and
    /// returns the success response with its body unread. Error responses are read whole (up to
    /// `max_error_body` bytes) and handed to the machine, which retries them as any other call.
    pub(crate) async fn drive_streaming<M: Machine>(
        &self,
        mut machine: M,
        cancel: Option<&CancelToken>,
        max_error_body: u64,
    ) -> Result<StreamingResponse, Error> {
        let mut success = None;
        // A clock reading serves the step after it too: the answer just handled and the
        // next poll happen at the same moment, give or take the driver's own microseconds
        // (a hook's time is not counted that way: the clock is read again after it runs).
        let mut now = self.now();
        loop {
            let step = machine.poll(now);
            match step {
                Step::Send(mut request) => {
                    if cancel.is_some_and(CancelToken::is_cancelled) {
                        return Err(machine.cancelled());
                    }
                    self.emit(&mut machine);
                    if self.hook.is_some() {
                        now = self.now(); // the attempt's budget starts after the hook
                    }
                    let timeout = self.prepare(&machine, now, &mut request);
                    let outcome =
                        match within(self.guard(timeout), self.transport.send_streaming(request))
                            .await
                        {
                            Ok(response) if response.status().is_success() => {
                                let mut head = http::Response::new(Bytes::new());
                                *head.status_mut() = response.status();
                                *head.headers_mut() = response.headers().clone();
                                success = Some(response);
                                Ok(head)
                            }
                            // An error body, read within what is left of the deadline.
                            Ok(response) => {
                                let left = self.time_left(&machine, self.now());
                                within(left, read_error_body(response, max_error_body)).await
                            }
                            Err(e) => Err(e),
                        };
                    now = self.now();
                    machine.handle(outcome, now);
                    self.emit(&mut machine);
                    if self.hook.is_some() {
                        now = self.now(); // the hook's time is not the machine's
                    }
                }
                Step::Wait(until) => {
                    self.emit(&mut machine);
                    if !self.sleep_until(until, cancel).await {
                        return Err(machine.cancelled());
                    }
                    now = self.now();
                }
                Step::Done(result) => {
                    self.emit(&mut machine);
                    result?;
                    return success
                        .ok_or(Error::Misuse("a streaming call ended without a response"));
                }
            }
        }
    }
}

impl Runtime {
    /// The timer the driver keeps around an attempt: none when the transport keeps the
    /// attempt's timeout itself (one timer per request is enough).
    fn guard(&self, timeout: Option<Duration>) -> Option<Duration> {
        timeout.filter(|_| !self.transport.enforces_attempt_timeout())
    }
}

/// Runs a transport future, but never past the machine's deadline: a transport that ignores
/// [`AttemptTimeout`] cannot hold a call beyond it.
async fn within<T>(
    timeout: Option<Duration>,
    send: impl std::future::Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    match timeout {
        Some(t) => within_limit(t, send).await,
        None => send.await,
    }
}

/// [`within`] a limit that is there.
async fn within_limit<T>(
    limit: Duration,
    send: impl std::future::Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::time::timeout(limit, send).await.unwrap_or_else(|_| {
        Err(TransportError::after_send(
            TransportErrorKind::Timeout,
            format!("no response within the {limit:?} left before the call's deadline"),
        ))
    })
}

/// The next chunk of a body stream.
pub(crate) async fn next_chunk(body: &mut BodyStream) -> Option<Result<Bytes, TransportError>> {
    std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await
}

async fn read_error_body(
    response: StreamingResponse,
    max: u64,
) -> Result<http::Response<Bytes>, TransportError> {
    let (parts, mut body) = response.into_parts();
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut bytes = BytesMut::new();
    // An error body past the cap is cut, not refused: the decoder keeps a bounded excerpt anyway.
    while bytes.len() < max {
        match next_chunk(&mut body).await {
            Some(Ok(chunk)) => {
                let take = chunk.len().min(max - bytes.len());
                bytes.extend_from_slice(&chunk[..take]);
            }
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    Ok(http::Response::from_parts(parts, bytes.freeze()))
}

#[cfg(feature = "tracing")]
fn attempt_span(request: &http::Request<Body>) -> tracing::Span {
    tracing::debug_span!("rein.attempt", method = %request.method(), path = request.uri().path())
}

#[cfg(feature = "tracing")]
fn trace_event(event: &rein_core::Event) {
    if event.is_notable() {
        tracing::info!(?event, "rein")
    } else {
        tracing::debug!(?event, "rein")
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    use async_trait::async_trait;
    use futures_core::Stream;
    use rein_core::{Api, Call, Event, Limiter, Operation, RetryPolicy, Target};

    use super::*;

    /// A body that arrives in several chunks.
    struct Chunks(Vec<&'static str>);

    impl Stream for Chunks {
        type Item = Result<Bytes, TransportError>;
        fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let next =
                (!self.0.is_empty()).then(|| Ok(Bytes::from_static(self.0.remove(0).as_bytes())));
            Poll::Ready(next)
        }
    }

    /// A 503 (with a three-chunk error body), then a streamed 200.
    #[derive(Default)]
    struct Streaming {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl Transport for Streaming {
        async fn send(
            &self,
            _request: http::Request<Body>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            unreachable!("a streaming call only streams")
        }

        async fn send_streaming(
            &self,
            _request: http::Request<Body>,
        ) -> Result<StreamingResponse, TransportError> {
            let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
            let (status, chunks) = if first {
                (503, vec![r#"{"detail":"#, r#""busy"}"#, "trailing junk"])
            } else {
                (200, vec!["data: one\n\n", "data: two\n\n"])
            };
            let mut response = http::Response::new(Box::pin(Chunks(chunks)) as BodyStream);
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            if first {
                response.headers_mut().insert("retry-after", "1".parse().unwrap());
            }
            Ok(response)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_streaming_call_retries_error_responses_and_returns_the_success_body_unread() {
        let transport = Arc::new(Streaming::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&events);
        let hook: EventHook = Arc::new(move |e: &Event| record.lock().unwrap().push(e.clone()));
        let rt = Runtime::new(
            Sender::Custom(transport.clone()),
            Arc::new(Limiter::unlimited()),
            Some(hook),
            Duration::from_secs(120),
        );
        let target = Target::new(Api::Jack, Api::Jack.default_base_url(), "jack_k").unwrap();
        let request = target.request(Operation::Usage, &[]).build().unwrap();
        let call = Call::new(request, RetryPolicy::default());
        let start = Instant::now();
        let response = rt.drive_streaming(call, None, 16).await.expect("the retry succeeds");
        assert_eq!(start.elapsed(), Duration::from_secs(1), "the 503's Retry-After obeyed");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut text = Vec::new();
        while let Some(chunk) = next_chunk(&mut body).await {
            text.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(text, b"data: one\n\ndata: two\n\n");
        assert_eq!(transport.calls.load(Ordering::SeqCst), 2);
        let retried = events.lock().unwrap().iter().any(|e| {
            matches!(
                e,
                Event::RetryScheduled {
                    reason: rein_core::RetryReason::Status(503),
                    server_asked: true,
                    ..
                }
            )
        });
        assert!(retried, "the error body reached the machine: {:?}", events.lock().unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_body_is_read_up_to_the_cap() {
        let response =
            http::Response::new(Box::pin(Chunks(vec!["abc", "def", "ghi"])) as BodyStream);
        let read = read_error_body(response, 5).await.unwrap();
        assert_eq!(read.body().as_ref(), b"abcde");
    }
}
