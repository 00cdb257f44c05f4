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

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use rein_core::request::AttemptTimeout;
use rein_core::{Body, ManualClock, TransportError, TransportErrorKind};

use crate::config::Config;
use crate::log::LogEntry;
use crate::model::{Emulator, WireFault};

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
    /// the request's [`AttemptTimeout`], a timeout).
    pub fn exchange(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let timeout = request.extensions().get::<AttemptTimeout>().map(|t| t.0);
        let reply = self.emulator().handle(request, self.clock.now());
        let lost = |kind, message: &str| Err(TransportError::after_send(kind, message));
        match reply.fault {
            None => Ok(reply.response),
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

    /// The requests answered so far, with their statuses and faults.
    pub fn log(&self) -> Vec<LogEntry> {
        self.emulator().log().to_vec()
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
