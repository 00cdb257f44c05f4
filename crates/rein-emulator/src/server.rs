//! The hyper server around the model: one port for both APIs, the faults acted out on the wire,
//! and a second port for the storage side of multipart uploads (the chunk `PUT`s to presigned
//! URLs), as the real storage is not the API's host.
//!
//! [`spawn`] binds both on the same address, the second on a free port of its own
//! ([`RunningServer::presigned_url`]), and points the model's presigned URLs at it. The API
//! listener ([`serve`]) answers 404 to paths under [`PRESIGNED_PREFIX`]; the presigned listener
//! ([`serve_presigned`]) answers 404 to anything else. A chunk `PUT`'s body is streamed through a
//! [`ChunkDigest`] (its length and hash) and never kept, whatever its size.
//!
//! API request bodies are streamed. A `multipart/form-data` body goes through the streaming
//! [`Scanner`], which keeps text fields and only the length of
//! file parts, so a 200 MB upload never sits in memory; any other body is kept up to
//! [`BODY_LIMIT`] and otherwise drained, counted and reported to the model as
//! [`UnreadBody::TooLarge`].
//!
//! Faults: a reset closes the socket with `SO_LINGER` 0 (a TCP RST) without answering; a
//! truncated body sends the full `Content-Length` and fewer bytes, then closes; a slow
//! response waits the emulated delay converted to real time; a trickled body goes out piece by
//! piece on timers, at the times [`Trickle::schedule`](crate::faults::Trickle::schedule) gives
//! converted to real time (an event stream with `: keepalive` comments between its events).
//! `Retry-After` values (emulated seconds) are converted to real time when the clock runs at a
//! speed other than 1: the header is rounded up to whole seconds (never under the real wait)
//! and `retry-after-ms` carries the exact real wait in milliseconds. Under a manual clock they are left as they are.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::clock::{Clock, ManualClock};
use crate::config::Config;
use crate::log::LogEntry;
use crate::model::{Emulator, UnreadBody, WireFault};
use crate::multipart::{self, Scanner};
use crate::presigned::{ChunkDigest, PRESIGNED_PREFIX};

/// The most bytes of a non-form request body the server keeps (JSON bodies are far smaller).
pub const BODY_LIMIT: usize = 16 << 20;

/// What [`spawn`] needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Where emulated time comes from.
    pub clock: Clock,
    /// The model's configuration.
    pub emulator: Config,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::default(),
            emulator: Config::default(),
        }
    }
}

impl ServerConfig {
    /// Loopback, a free port, a manual clock and `emulator`: what a test usually wants.
    pub fn for_tests(emulator: Config) -> Self {
        ServerConfig { clock: Clock::manual(), emulator, ..ServerConfig::default() }
    }
}

/// The model and its clock, shared by every connection.
#[derive(Clone, Debug)]
pub struct Shared {
    emulator: Arc<Mutex<Emulator>>,
    clock: Clock,
}

impl Shared {
    /// Shares `emulator`, answering at the times `clock` gives.
    pub fn new(emulator: Emulator, clock: Clock) -> Self {
        Shared { emulator: Arc::new(Mutex::new(emulator)), clock }
    }

    /// Runs `f` on the model (to read its log or state) while no request is being handled.
    pub fn with_emulator<R>(&self, f: impl FnOnce(&mut Emulator) -> R) -> R {
        f(&mut self.emulator.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The request log so far (with the landings of slow proxies' requests due by now).
    pub fn log(&self) -> Vec<LogEntry> {
        let now = self.clock.now();
        self.with_emulator(|e| {
            e.catch_up(now);
            e.log().to_vec()
        })
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// Which side of the emulator a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Both APIs and the emulator's own paths.
    Api,
    /// Chunk `PUT`s to presigned URLs.
    Presigned,
}

/// Serves both APIs of `shared` on `listener` until `shutdown` completes (paths under
/// [`PRESIGNED_PREFIX`] are not found here: see [`serve_presigned`]).
pub async fn serve(
    listener: TcpListener,
    shared: Shared,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_side(listener, shared, shutdown, Side::Api).await
}

/// Serves the chunk `PUT`s to presigned URLs of `shared` on `listener` until `shutdown`
/// completes (nothing else is found here). The model's URLs must point at this listener:
/// [`Emulator::set_presigned_base`] (or [`Config::presigned_base`]), as [`spawn`] does.
pub async fn serve_presigned(
    listener: TcpListener,
    shared: Shared,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_side(listener, shared, shutdown, Side::Presigned).await
}

async fn serve_side(
    listener: TcpListener,
    shared: Shared,
    shutdown: impl Future<Output = ()>,
    side: Side,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                // A failed accept (a client gone already, too many files) ends nothing but itself.
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, shared.clone(), side));
                }
            }
        }
    }
}

/// The base of presigned URLs served at `addr`: `http://HOST:PORT`, with loopback for an
/// unspecified address (`0.0.0.0` listens everywhere but is no address to connect to).
pub fn presigned_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

async fn connection(stream: TcpStream, shared: Shared, side: Side) {
    let _ = stream.set_nodelay(true);
    let reset = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(Resettable { inner: stream, reset: reset.clone() });
    let service = service_fn(move |request| respond(request, shared.clone(), reset.clone(), side));
    let _ = http1::Builder::new().keep_alive(true).serve_connection(io, service).await;
}

/// Why the service gave up on a request: the connection is then closed without an answer.
#[derive(Debug)]
enum Abort {
    /// An injected reset.
    Reset,
    /// The client's body could not be read.
    Body(hyper::Error),
}

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Abort::Reset => f.write_str("connection reset by fault injection"),
            Abort::Body(e) => write!(f, "reading the request body: {e}"),
        }
    }
}

impl std::error::Error for Abort {}

async fn respond(
    request: Request<Incoming>,
    shared: Shared,
    reset: Arc<AtomicBool>,
    side: Side,
) -> Result<Response<ReplyBody>, Abort> {
    let (parts, incoming) = request.into_parts();
    let chunk = side == Side::Presigned && parts.uri.path().starts_with(PRESIGNED_PREFIX);
    let request = if chunk {
        // A chunk's bytes are digested as they come, never kept.
        let digest = digest_body(incoming).await.map_err(Abort::Body)?;
        let mut request = Request::from_parts(parts, rein_core::Body::Empty);
        request.extensions_mut().insert(digest);
        request
    } else {
        let boundary = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(multipart::boundary);
        let (body, unread) = read_body(incoming, boundary).await.map_err(Abort::Body)?;
        let mut request = Request::from_parts(parts, body);
        if let Some(unread) = unread {
            request.extensions_mut().insert(unread);
        }
        request
    };

    let now = shared.clock.now();
    let reply = shared.with_emulator(|e| match side {
        Side::Api => e.handle_api(request, now),
        Side::Presigned => e.handle_presigned(request, now),
    });
    let (mut head, body) = reply.response.into_parts();
    rescale_retry_after(&mut head.headers, &shared.clock);

    let body = match (reply.fault, reply.trickle) {
        (Some(WireFault::ResetBeforeProcessing | WireFault::ResetAfterProcessing), _) => {
            reset.store(true, Ordering::SeqCst);
            return Err(Abort::Reset);
        }
        (Some(WireFault::Truncate { keep }), _) => {
            ReplyBody::Truncated { head: Some(body.slice(..keep.min(body.len()))), pause: None }
        }
        (Some(WireFault::Delay(d)), _) => {
            tokio::time::sleep(shared.clock.to_real(d)).await;
            ReplyBody::full(body)
        }
        (None, Some(trickle)) => {
            let stream = is_event_stream(&head.headers);
            let start = tokio::time::Instant::now();
            let pieces = trickle
                .schedule(&body, stream)
                .into_iter()
                .map(|(at, piece)| (start + shared.clock.to_real(at), piece))
                .collect();
            // An event stream's keepalives change its length: it goes chunked.
            let len = (!stream).then_some(body.len() as u64);
            ReplyBody::Paced { pieces, timer: None, len }
        }
        (None, None) if is_event_stream(&head.headers) => ReplyBody::events(body),
        (None, None) => ReplyBody::full(body),
    };
    Ok(Response::from_parts(head, body))
}

fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// Reads a chunk `PUT`'s body into its digest, whatever its length, keeping none of it.
async fn digest_body(mut incoming: Incoming) -> Result<ChunkDigest, hyper::Error> {
    let mut digest = ChunkDigest::new();
    while let Some(frame) = incoming.frame().await {
        if let Ok(data) = frame?.into_data() {
            digest.update(&data);
        }
    }
    Ok(digest)
}

/// Reads a request body: forms through the scanner, anything else up to [`BODY_LIMIT`].
async fn read_body(
    mut incoming: Incoming,
    boundary: Option<String>,
) -> Result<(rein_core::Body, Option<UnreadBody>), hyper::Error> {
    if let Some(boundary) = boundary {
        let mut scanner = Some(Scanner::new(&boundary));
        let mut problem = None;
        while let Some(frame) = incoming.frame().await {
            if let Ok(data) = frame?.into_data() {
                if let Some(s) = scanner.as_mut() {
                    if let Err(e) = s.feed(&data) {
                        // Keep draining so the client can read the answer.
                        problem = Some(e.0);
                        scanner = None;
                    }
                }
            }
        }
        return Ok(match (scanner.map(Scanner::finish), problem) {
            (Some(Ok(parts)), _) => {
                (rein_core::Body::Multipart(multipart::to_core(&boundary, &parts)), None)
            }
            (Some(Err(e)), _) => {
                (rein_core::Body::Empty, Some(UnreadBody::MalformedForm { reason: e.0 }))
            }
            (None, reason) => (
                rein_core::Body::Empty,
                Some(UnreadBody::MalformedForm { reason: reason.unwrap_or_default() }),
            ),
        });
    }

    let mut kept = BytesMut::new();
    let mut len: u64 = 0;
    while let Some(frame) = incoming.frame().await {
        if let Ok(data) = frame?.into_data() {
            len += data.len() as u64;
            if len <= BODY_LIMIT as u64 {
                kept.extend_from_slice(&data);
            } else if !kept.is_empty() {
                kept = BytesMut::new();
            }
        }
    }
    Ok(if len > BODY_LIMIT as u64 {
        (rein_core::Body::Empty, Some(UnreadBody::TooLarge { len }))
    } else if kept.is_empty() {
        (rein_core::Body::Empty, None)
    } else {
        (rein_core::Body::Bytes(kept.freeze()), None)
    })
}

/// Converts an emulated delta-seconds `Retry-After` to real time under a speed other than 1.
fn rescale_retry_after(headers: &mut http::HeaderMap, clock: &Clock) {
    let Clock::Scaled(scaled) = clock else {
        return;
    };
    if scaled.speed() == 1.0 {
        return;
    }
    let Some(secs) = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
    else {
        return;
    };
    let real = clock.to_real(Duration::from_secs(secs));
    let whole = real.as_secs() + u64::from(real.subsec_nanos() > 0);
    headers.insert(RETRY_AFTER, HeaderValue::from(whole));
    let millis = real.as_micros().div_ceil(1000) as u64;
    headers.insert("retry-after-ms", HeaderValue::from(millis));
}

/// A response body: whole, one event at a time, or cut short.
#[derive(Debug)]
enum ReplyBody {
    Full(Option<Bytes>, u64),
    Chunks(VecDeque<Bytes>),
    /// The first bytes, then a pause (so they are flushed), then an error that aborts.
    Truncated {
        head: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    /// Pieces each sent at its time (a trickle); `len` is the whole body's, when it is known.
    Paced {
        pieces: VecDeque<(tokio::time::Instant, Bytes)>,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
        len: Option<u64>,
    },
}

impl ReplyBody {
    fn full(body: Bytes) -> Self {
        let len = body.len() as u64;
        ReplyBody::Full(Some(body).filter(|b| !b.is_empty()), len)
    }

    /// Server-sent events are sent as they would be produced: one chunk per event.
    fn events(body: Bytes) -> Self {
        ReplyBody::Chunks(crate::faults::events(&body).into())
    }
}

impl hyper::body::Body for ReplyBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(match self.get_mut() {
            ReplyBody::Full(body, _) => body.take().map(|b| Ok(Frame::data(b))),
            ReplyBody::Chunks(chunks) => chunks.pop_front().map(|b| Ok(Frame::data(b))),
            ReplyBody::Truncated { head, pause } => {
                if let Some(b) = head.take().filter(|b| !b.is_empty()) {
                    // hyper flushes while the body is pending; erroring at once would drop
                    // the bytes still buffered.
                    *pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(20))));
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                if let Some(p) = pause.as_mut() {
                    if p.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Some(Err(io::Error::other("body truncated by fault injection")))
            }
            ReplyBody::Paced { pieces, timer, .. } => {
                let Some(&(due, _)) = pieces.front() else {
                    return Poll::Ready(None);
                };
                if due > tokio::time::Instant::now() {
                    let sleep =
                        timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                *timer = None;
                pieces.pop_front().map(|(_, piece)| Ok(Frame::data(piece)))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReplyBody::Full(body, _) => body.is_none(),
            ReplyBody::Chunks(chunks) => chunks.is_empty(),
            ReplyBody::Truncated { .. } => false,
            ReplyBody::Paced { pieces, .. } => pieces.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReplyBody::Full(_, len) | ReplyBody::Paced { len: Some(len), .. } => {
                SizeHint::with_exact(*len)
            }
            _ => SizeHint::default(),
        }
    }
}

/// A TCP stream that, when told to, closes with a reset instead of an orderly shutdown.
struct Resettable {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for Resettable {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            // SO_LINGER 0: closing sends RST.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for Resettable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Resettable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::SeqCst) {
            // No FIN: the reset happens when the stream is dropped.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A server running on a thread of its own, with its own tokio runtime: what blocking tests and
/// tools with no runtime use. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    presigned_addr: SocketAddr,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a server on a background thread; it is listening when this returns.
///
/// Two listeners: the APIs on `config.addr`, and the presigned chunk URLs on a free port of the
/// same address ([`RunningServer::presigned_addr`]); [`Config::presigned_base`] is replaced by
/// the latter's URL.
pub fn spawn(config: ServerConfig) -> io::Result<RunningServer> {
    let listener = std::net::TcpListener::bind(config.addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let presigned = std::net::TcpListener::bind(SocketAddr::new(addr.ip(), 0))?;
    presigned.set_nonblocking(true)?;
    let presigned_addr = presigned.local_addr()?;
    let mut emulator = config.emulator;
    emulator.presigned_base = presigned_base(presigned_addr);
    let shared = Shared::new(Emulator::new(emulator), config.clock);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = shared.clone();
    let thread = std::thread::Builder::new().name("rein-emulator".into()).spawn(move || {
        runtime.block_on(async move {
            let listeners = TcpListener::from_std(listener)
                .and_then(|api| Ok((api, TcpListener::from_std(presigned)?)));
            match listeners {
                Ok((api, presigned)) => {
                    let chunks = served.clone();
                    let storage = tokio::spawn(async move {
                        serve_presigned(presigned, chunks, std::future::pending()).await
                    });
                    let _ = serve(api, served, async {
                        let _ = stopped.await;
                    })
                    .await;
                    storage.abort();
                }
                Err(e) => eprintln!("rein-emulator: {e}"),
            }
        });
    })?;
    Ok(RunningServer { addr, presigned_addr, shared, stop: Some(stop), thread: Some(thread) })
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Jockey base URL: `http://HOST:PORT/v1.3`.
    pub fn jockey_base_url(&self) -> String {
        format!("{}/v1.3", self.url())
    }

    /// The jack base URL: `http://HOST:PORT/v1`.
    pub fn jack_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The address of the presigned listener: where chunk `PUT`s go (a port of its own).
    pub fn presigned_addr(&self) -> SocketAddr {
        self.presigned_addr
    }

    /// `http://HOST:PORT` of the presigned listener: the base of every presigned chunk URL the
    /// server hands out (`{presigned_url}/_presigned/{upload_id}/{chunk_index}?...`).
    pub fn presigned_url(&self) -> String {
        presigned_base(self.presigned_addr)
    }

    /// The time scale a client of this server runs at (`.time_scale(server.time_scale())` on a
    /// rein client's builder): its clock's speed, or 1 under a manual clock, which only a test
    /// moves.
    pub fn time_scale(&self) -> f64 {
        match self.shared.clock() {
            Clock::Scaled(clock) => clock.speed(),
            Clock::Manual(_) => 1.0,
        }
    }

    /// The request log so far.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.log()
    }

    /// The shared model and clock.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Runs `f` on the model.
    pub fn with_emulator<R>(&self, f: impl FnOnce(&mut Emulator) -> R) -> R {
        self.shared.with_emulator(f)
    }

    /// The manual clock, when the server runs on one.
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        match &self.shared.clock {
            Clock::Manual(c) => Some(c),
            Clock::Scaled(_) => None,
        }
    }

    /// Advances a manual clock by `d`; returns false (and does nothing) on a scaled clock.
    pub fn advance(&self, d: Duration) -> bool {
        match self.manual_clock() {
            Some(c) => {
                c.advance(d);
                true
            }
            None => false,
        }
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}
