//! The driver loop: runs any rein-core machine with a real clock, a transport and sleeps.
//! Every decision is the machine's; this only moves bytes and waits.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rein_core::request::AttemptTimeout;
use rein_core::{Error, Machine, Moment, Now, RateLimit, SeedSequence, Step, TransportError};

use crate::cancel::CancelToken;
use crate::transport::Transport;

pub use rein_core::EventHook;

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

/// What every call of a client shares: the clock's origin, the transport, the limiter, the hook.
pub(crate) struct Runtime {
    origin: Instant,
    pub(crate) transport: Arc<dyn Transport>,
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
        transport: Arc<dyn Transport>,
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

    /// Sleeps until `until`; false when cancelled.
    fn sleep_until(&self, until: Moment, cancel: Option<&CancelToken>) -> bool {
        let until = self.instant_at(until);
        match cancel {
            Some(token) => !token.sleep_until(until),
            None => {
                let now = Instant::now();
                if until > now {
                    std::thread::sleep(until - now);
                }
                true
            }
        }
    }

    /// The attempt's timeout for a request sent now, if it needs one.
    fn attempt_timeout<M: Machine>(&self, machine: &M, now: Now) -> Option<AttemptTimeout> {
        AttemptTimeout::for_attempt(machine.deadline(), now.moment, self.request_timeout)
    }

    /// Runs `machine` to completion. Cancellation is checked before every send and during every
    /// sleep; a request already in flight finishes, and if it completes the call its result is
    /// kept (a create that happened is never reported as cancelled).
    pub(crate) fn drive<M: Machine>(
        &self,
        machine: M,
        cancel: Option<&CancelToken>,
    ) -> Result<M::Output, Error> {
        let mut machine = machine;
        self.drive_in_place(&mut machine, cancel)
    }

    /// [`Runtime::drive`] with the machine borrowed, so a caller's machine is not copied in.
    pub(crate) fn drive_in_place<M: Machine>(
        &self,
        machine: &mut M,
        cancel: Option<&CancelToken>,
    ) -> Result<M::Output, Error> {
        let cancelled = || cancel.is_some_and(CancelToken::is_cancelled);
        // A clock reading serves the step after it too: the answer just handled and the
        // next poll happen at the same moment, give or take the driver's own microseconds
        // (a hook's time is not counted that way: the clock is read again after it runs).
        let mut now = self.now();
        loop {
            let step = machine.poll(now);
            match step {
                // Cancelled: the request is not sent, so neither is its `Sending` event.
                Step::Send(_) if cancelled() => return Err(machine.cancelled()),
                Step::Send(mut request) => {
                    self.emit(machine);
                    if self.hook.is_some() {
                        now = self.now(); // the attempt's budget starts after the hook
                    }
                    AttemptTimeout::attach(&mut request, self.attempt_timeout(machine, now));
                    #[cfg(feature = "tracing")]
                    let _span = attempt_span(&request).entered();
                    let outcome = self.transport.send(request);
                    now = self.now();
                    machine.handle(outcome, now);
                    self.emit(machine);
                    if self.hook.is_some() {
                        now = self.now(); // the hook's time is not the machine's
                    }
                }
                Step::Wait(until) => {
                    self.emit(machine);
                    if cancelled() || !self.sleep_until(until, cancel) {
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
    /// returns the success response with its body unread. Error responses are read whole and
    /// handed to the machine, which retries them as any other call.
    pub(crate) fn drive_streaming<M: Machine>(
        &self,
        mut machine: M,
        cancel: Option<&CancelToken>,
        max_error_body: u64,
    ) -> Result<http::Response<Box<dyn Read + Send>>, Error> {
        let mut success = None;
        let cancelled = || cancel.is_some_and(CancelToken::is_cancelled);
        // A clock reading serves the step after it too: the answer just handled and the
        // next poll happen at the same moment, give or take the driver's own microseconds
        // (a hook's time is not counted that way: the clock is read again after it runs).
        let mut now = self.now();
        loop {
            let step = machine.poll(now);
            match step {
                // Cancelled: the request is not sent, so neither is its `Sending` event.
                Step::Send(_) if cancelled() => return Err(machine.cancelled()),
                Step::Send(mut request) => {
                    self.emit(&mut machine);
                    if self.hook.is_some() {
                        now = self.now(); // the attempt's budget starts after the hook
                    }
                    AttemptTimeout::attach(&mut request, self.attempt_timeout(&machine, now));
                    let outcome = match self.transport.send_streaming(request) {
                        Ok(response) if response.status().is_success() => {
                            let mut head = http::Response::new(Bytes::new());
                            *head.status_mut() = response.status();
                            *head.headers_mut() = response.headers().clone();
                            success = Some(response);
                            Ok(head)
                        }
                        Ok(response) => read_error_body(response, max_error_body),
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
                    if cancelled() || !self.sleep_until(until, cancel) {
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

fn read_error_body(
    response: http::Response<Box<dyn Read + Send>>,
    max: u64,
) -> Result<http::Response<Bytes>, TransportError> {
    let (parts, body) = response.into_parts();
    let mut bytes = Vec::new();
    body.take(max).read_to_end(&mut bytes).map_err(|e| {
        TransportError::after_send(
            rein_core::TransportErrorKind::Reset,
            format!("reading an error body: {e}"),
        )
    })?;
    Ok(http::Response::from_parts(parts, Bytes::from(bytes)))
}

#[cfg(feature = "tracing")]
fn attempt_span(request: &http::Request<rein_core::Body>) -> tracing::Span {
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
