//! The emulator in process: a transport with no sockets, on a [`ManualClock`] the client shares,
//! so a test runs a client's whole policy (retries, `Retry-After`, waits, deadlines) against both
//! APIs in virtual time, deterministically under the emulator's seed and the client's.
//!
//! ```
//! use std::time::Duration;
//! use rein::{core::Body, ManualClock};
//! use rein_emulator::{Config, InProcess, DEMO_JACK_KEY};
//!
//! let clock = ManualClock::new();
//! let emulator = InProcess::new(Config::default(), clock.clone());
//! let mut request = http::Request::new(Body::Empty);
//! *request.uri_mut() = "http://emulator/v1/usage".parse()?;
//! request.headers_mut().insert("authorization", format!("Bearer {DEMO_JACK_KEY}").parse()?);
//! let response = emulator.exchange(request).expect("no fault is injected by default");
//! assert_eq!(response.status(), 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Point a client at it with its `transport`, and give the client the same clock as its clock
//! and sleeper: every wait then moves the clock instead of sleeping.
//!
//! Chunk `PUT`s to presigned URLs are routed by their path (`/_presigned/...`), whatever the
//! host: the model's URLs point at [`DEFAULT_PRESIGNED_BASE`](crate::DEFAULT_PRESIGNED_BASE)
//! unless configured otherwise. A chunk sent as a file range is read here, piece by piece,
//! into its [`ChunkDigest`] (length and hash): the bytes are not kept.

use std::sync::{Mutex, PoisonError};

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use rein_core::body::FileRange;
use rein_core::request::{AttemptTimeout, ReadTimeout, StreamTimeout};
use rein_core::{Body, ManualClock, TransportError, TransportErrorKind};

use crate::config::Config;
use crate::faults::Trickle;
use crate::log::LogEntry;
use crate::model::{Emulator, WireFault};
use crate::presigned::{ChunkDigest, PRESIGNED_PREFIX};

/// The time limits a request carries.
#[derive(Clone, Copy, Debug)]
struct Limits {
    timeout: Option<Duration>,
    idle: Option<Duration>,
    stream_timeout: Option<Duration>,
}

/// The emulator's model answering requests in process, on a manual clock.
#[derive(Debug)]
pub struct InProcess {
    emulator: Mutex<Emulator>,
    clock: ManualClock,
}

impl InProcess {
    /// An emulator configured by `config`, whose time is `clock`'s.
    pub fn new(config: Config, clock: ManualClock) -> Self {
        InProcess { emulator: Mutex::new(Emulator::new(config)), clock }
    }

    /// The clock the emulator reads (share it with the client).
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Answers `request` at the clock's time, acting out the model's faults as a transport would
    /// report them: a reset is a reset after sending (the client cannot tell whether the server
    /// processed it), a cut body a reset while reading, a slow answer time on the clock (or, past
    /// the request's [`AttemptTimeout`], a timeout). A trickled body is its pieces
    /// ([`Trickle::schedule`]) put together, delivered once the last has come, the clock moved
    /// on by then: or a timeout where one would have struck first (past the
    /// [`AttemptTimeout`]; for a streaming request, a gap between pieces past its
    /// [`ReadTimeout`], or the whole past its [`StreamTimeout`]).
    ///
    /// A chunk `PUT` whose body is a file range is read from the file first; a file that is
    /// missing, unreadable or no longer of its checked length fails as a
    /// [`TransportErrorKind::File`] error, before anything is sent.
    pub fn exchange(
        &self,
        mut request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        if request.uri().path().starts_with(PRESIGNED_PREFIX) {
            if let Body::FileRange(range) = request.body() {
                let digest = digest_range(range)
                    .map_err(|e| TransportError::not_sent(TransportErrorKind::File, e))?;
                request.extensions_mut().insert(digest);
                *request.body_mut() = Body::Empty;
            }
        }
        let timeout = request.extensions().get::<AttemptTimeout>().map(|t| t.0);
        let idle = request.extensions().get::<ReadTimeout>().map(|t| t.0);
        let stream_timeout = request.extensions().get::<StreamTimeout>().map(|t| t.0);
        let reply = self.emulator().handle(request, self.clock.now());
        let lost = |kind, message: &str| Err(TransportError::after_send(kind, message));
        match reply.fault {
            None => match reply.trickle {
                None => Ok(reply.response),
                Some(trickle) => {
                    let limits = Limits { timeout, idle, stream_timeout };
                    self.trickle(reply.response, trickle, limits)
                }
            },
            Some(WireFault::ResetBeforeProcessing | WireFault::ResetAfterProcessing) => {
                lost(TransportErrorKind::Reset, "connection reset by the emulator")
            }
            Some(WireFault::Truncate { .. }) => {
                lost(TransportErrorKind::Reset, "the response body was cut short")
            }
            Some(WireFault::Delay(delay)) => match timeout {
                Some(timeout) if timeout <= delay => {
                    self.clock.advance(timeout);
                    lost(TransportErrorKind::Timeout, "no response within the attempt's timeout")
                }
                _ => {
                    self.clock.advance(delay);
                    Ok(reply.response)
                }
            },
        }
    }

    /// The requests answered so far, with their statuses and faults (and the landings of slow
    /// proxies' requests due by the clock's time).
    pub fn log(&self) -> Vec<LogEntry> {
        let mut emulator = self.emulator();
        emulator.catch_up(self.clock.now());
        emulator.log().to_vec()
    }

    /// A trickled response, acted out on the clock.
    fn trickle(
        &self,
        response: http::Response<Bytes>,
        trickle: Trickle,
        limits: Limits,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (head, body) = response.into_parts();
        let stream = head
            .headers
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let pieces = trickle.schedule(&body, stream);
        let timed_out = |after: Duration| {
            self.clock.advance(after);
            Err(TransportError::after_send(
                TransportErrorKind::Timeout,
                "the body did not arrive in time",
            ))
        };
        // A streaming request's attempt timeout covers its head only, which comes at once.
        let streaming = limits.idle.is_some() || limits.stream_timeout.is_some();
        let mut previous = Duration::ZERO;
        let mut whole = BytesMut::with_capacity(body.len());
        for (at, piece) in pieces {
            if let Some(idle) = limits.idle.filter(|&idle| at - previous >= idle) {
                return timed_out(previous + idle);
            }
            let whole_limit = if streaming { limits.stream_timeout } else { limits.timeout };
            if let Some(limit) = whole_limit.filter(|&limit| at >= limit) {
                return timed_out(limit);
            }
            previous = at;
            whole.extend_from_slice(&piece);
        }
        self.clock.advance(previous);
        Ok(http::Response::from_parts(head, whole.freeze()))
    }

    /// The model itself, for a test that looks inside or changes it.
    pub fn with_emulator<R>(&self, f: impl FnOnce(&mut Emulator) -> R) -> R {
        f(&mut self.emulator())
    }

    fn emulator(&self) -> std::sync::MutexGuard<'_, Emulator> {
        // A panic inside the model cannot leave it half-updated in a way a test would miss.
        self.emulator.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads a file range into its digest, as a transport would stream it: the file must still
/// have its checked length, and the range must lie within it.
fn digest_range(range: &FileRange) -> Result<ChunkDigest, String> {
    use std::io::{Read, Seek, SeekFrom};
    let path = range.file.path.display();
    let mut file = std::fs::File::open(&range.file.path).map_err(|e| format!("{path}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
    if len != range.file.len {
        return Err(format!("{path} is {len} bytes, not the {} it was", range.file.len));
    }
    if !range.is_within() {
        return Err(format!("{path}: the range lies outside the file"));
    }
    file.seek(SeekFrom::Start(range.offset)).map_err(|e| format!("{path}: {e}"))?;
    let mut digest = ChunkDigest::new();
    let mut left = range.len;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).map_err(|e| format!("{path}: {e}"))?;
        if n == 0 {
            return Err(format!("{path} ended before the range did"));
        }
        digest.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(digest)
}
