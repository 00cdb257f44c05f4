//! The contract between a machine and its driver: time goes in, steps come out.
//!
//! A machine is driven by value, as in `ureq-proto`: [`Machine::poll`] consumes it and returns a
//! [`Step`]. A step that needs an answer holds the machine until it is given one, so answering a
//! question that was never asked, polling while an answer is owed, or polling a finished machine
//! does not compile.
//!
//! ```text
//!   poll(now) ──▶ Acquire ── answer(the limiter's slot) ──▶ machine ──▶ poll again
//!             ──▶ Tell    ── (tell the limiter the report) resume() ──▶ machine
//!             ──▶ Send    ── send(now) … answer(outcome) or expired() ──▶ machine
//!             ──▶ Read    ── answer(the next body chunk) or expired() ──▶ machine
//!             ──▶ Sleep   ── (sleep until `until`) wake() ──▶ machine
//!             ──▶ Yield(item, machine)        (listings and event streams)
//!             ──▶ Done(result)
//! ```
//!
//! Every answer takes the time it arrived, so a machine never reads a clock.
//!
//! A machine polled twice, without the answer it asked for, does not compile:
//!
//! ```compile_fail,E0382
//! # use rein::core::{Api, Call, Machine, Now, Operation, RetryPolicy, Target};
//! # let target = Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_k").unwrap();
//! # let request = target.request(Operation::Usage, &[]).build().unwrap();
//! let call = Call::new(request, RetryPolicy::default());
//! let step = call.poll(Now::fake(0.0)); // a Send: the machine is inside it, awaiting the answer
//! let again = call.poll(Now::fake(0.0));
//! ```
//!
//! and no other crate can implement [`Machine`] (its raw methods take types it cannot name):
//!
//! ```compile_fail,E0432
//! use rein::core::machine::{Input, Internal, Next};
//! ```

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;

use crate::api::Operation;
use crate::body::Body;
use crate::error::{Error, TransportError};
use crate::event::{Event, Events};
use crate::limiter::{Ask, RateLimit, Report};
use crate::request::{AttemptTimeout, ReadTimeout};
use crate::time::{Moment, Now};
use crate::trace::Span;

/// Something a driver runs to completion: a call, a wait, a create, a listing.
///
/// Only rein-core implements it: its methods other than [`poll`](Machine::poll) take a token no
/// other crate can make.
pub trait Machine: Sized {
    /// What the machine produces when it is done.
    type Output;
    /// What it yields on the way: items of a listing, events of a stream. [`Infallible`] for
    /// the machines that yield nothing.
    type Item;

    /// What to do next, at `now`.
    fn poll(mut self, now: Now) -> Step<Self> {
        match self.next(now, Internal(())) {
            Next::Acquire(ask) => Step::Acquire(Acquire { ask, machine: self }),
            Next::Tell(report) => Step::Tell(Tell { report, machine: self }),
            Next::Send(attempt) => Step::Send(Exchange { attempt, machine: self }),
            Next::Read(until) => Step::Read(Read { until, machine: self }),
            Next::Sleep(until) => Step::Sleep(Sleep { until, machine: self }),
            Next::Yield(item) => Step::Yield(item, self),
            Next::Done(result) => Step::Done(result),
        }
    }

    #[doc(hidden)]
    fn next(&mut self, now: Now, _: Internal) -> Next<Self::Output, Self::Item>;

    #[doc(hidden)]
    fn feed(&mut self, input: Input, now: Now, _: Internal);

    /// What the machine ends with when its caller cancels it: [`Error::Cancelled`], unless it
    /// knows more (a create that may have happened says so; a split ingest reports its batches).
    /// A machine that has finished keeps its result.
    #[doc(hidden)]
    fn cancel(&mut self, _: Internal) -> Result<Self::Output, Error> {
        Err(Error::Cancelled)
    }

    /// The operation the machine carries out, when it is one (for logs and spans).
    fn operation(&self) -> Option<Operation> {
        None
    }
}

/// What a machine asks its driver to do next. Each variant that expects an answer holds the
/// machine until it gets one.
// A step is returned and consumed at once, so its size never multiplies: no boxing needed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<M: Machine> {
    /// Take a slot from the rate limiter, then [`Acquire::answer`].
    Acquire(Acquire<M>),
    /// Tell the rate limiter what a response said about the limit (a 429 and its pause, an
    /// advertised limit), then [`Tell::resume`].
    Tell(Tell<M>),
    /// Send a request: [`Exchange::send`], then answer with what came back.
    Send(Exchange<M>),
    /// Read the next chunk of the open response body, then answer.
    Read(Read<M>),
    /// Sleep until [`Sleep::until`] (or less: waking early is harmless), then [`Sleep::wake`].
    Sleep(Sleep<M>),
    /// An item, and the machine to poll for the next one.
    Yield(M::Item, M),
    /// The machine is finished.
    Done(Result<M::Output, Error>),
}

impl<M: Machine> Step<M> {
    /// Carries out the rate limiter's steps (acquire, tell) with `limiter` at `now`, and
    /// returns the first step of any other kind: how a driver with an in-process limiter, or a
    /// test, skips past them.
    pub fn through(self, limiter: &dyn RateLimit, now: Now) -> Step<M> {
        let mut step = self;
        loop {
            step = match step {
                Step::Acquire(acquire) => acquire.answer_from(limiter, now).poll(now),
                Step::Tell(tell) => tell.tell(limiter, now).poll(now),
                other => return other,
            }
        }
    }
}

/// The machine wants a rate-limit slot for one request: [`Acquire::ask`].
#[derive(Debug)]
pub struct Acquire<M> {
    /// The request asking: its operation and priority.
    pub ask: Ask,
    machine: M,
}

impl<M: Machine> Acquire<M> {
    /// The limiter's answer: a slot, or the moment to ask again.
    pub fn answer(mut self, slot: Result<(), Moment>, now: Now) -> M {
        self.machine.feed(Input::Slot(slot), now, Internal(()));
        self.machine
    }

    /// Asks `limiter`, one that answers at once (in memory), and answers with what it says.
    pub fn answer_from(self, limiter: &dyn RateLimit, now: Now) -> M {
        let slot = limiter.try_acquire(self.ask, now.moment);
        self.answer(slot, now)
    }
}

/// A response said something about the rate limit ([`Tell::report`]: a 429 and the pause it
/// asked for, a limit its headers advertised): the limiter shared by the client's calls must
/// hear of it.
#[derive(Debug)]
pub struct Tell<M> {
    /// What the response said.
    pub report: Report,
    machine: M,
}

impl<M> Tell<M> {
    /// The machine, once the limiter has been told.
    pub fn resume(self) -> M {
        self.machine
    }

    /// Tells `limiter`, one that takes it at once (in memory), at `now`, and resumes.
    pub fn tell(self, limiter: &dyn RateLimit, now: Now) -> M {
        limiter.report(&self.report, now.moment);
        self.machine
    }
}

/// One request to send.
#[derive(Debug)]
pub struct Exchange<M> {
    attempt: Attempt,
    machine: M,
}

impl<M: Machine> Exchange<M> {
    /// The request to send.
    pub fn request(&self) -> &http::Request<Body> {
        &self.attempt.request
    }

    /// Whether only the response's head is awaited: the body stays open, to be read chunk by
    /// chunk as [`Step::Read`] asks (an event stream, an error body read up to a cap).
    pub fn streams(&self) -> bool {
        self.attempt.idle.is_some()
    }

    /// The request as it goes out `now`, with its [`AttemptTimeout`] in real time (for a
    /// transport that cannot be interrupted: a blocking one); and what to answer once it is back.
    /// The answer is due by [`Awaiting::expires`].
    pub fn send(self, now: Now) -> (http::Request<Body>, Awaiting<M>) {
        let Attempt { mut request, deadline, timeout, idle, announce, span } = self.attempt;
        let (events, operation, n) = announce;
        events.emit(|| Event::Sending { operation, attempt: n });
        let expires = deadline.min(now.moment + timeout);
        let budget = now.to_real(expires.saturating_since(now.moment));
        request.extensions_mut().insert(AttemptTimeout(budget));
        if let Some(idle) = idle {
            request.extensions_mut().insert(ReadTimeout(now.to_real(idle)));
        }
        (request, Awaiting { expires, span, machine: self.machine })
    }
}

/// A request on its way: the machine waits for its answer.
#[derive(Debug)]
pub struct Awaiting<M> {
    expires: Moment,
    span: Span,
    machine: M,
}

impl<M: Machine> Awaiting<M> {
    /// When the answer is due: past it, [`Awaiting::expired`].
    pub fn expires(&self) -> Moment {
        self.expires
    }

    /// The attempt's span, for the driver to send it in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// What came back: the response (for a streaming exchange, its head, with an empty body), or
    /// the transport's failure.
    pub fn answer(mut self, outcome: Result<http::Response<Bytes>, TransportError>, now: Now) -> M {
        self.machine.feed(Input::Response(outcome), now, Internal(()));
        self.machine
    }

    /// Nothing came back by [`Awaiting::expires`].
    pub fn expired(mut self, now: Now) -> M {
        self.machine.feed(Input::Expired, now, Internal(()));
        self.machine
    }
}

/// The machine wants the next chunk of the open response body by [`Read::until`].
#[derive(Debug)]
pub struct Read<M> {
    /// When the chunk is due: past it, [`Read::expired`].
    pub until: Moment,
    machine: M,
}

impl<M: Machine> Read<M> {
    /// The next chunk, `None` at the end of the body, or the failure that cut it.
    pub fn answer(mut self, chunk: Option<Result<Bytes, TransportError>>, now: Now) -> M {
        self.machine.feed(Input::Chunk(chunk), now, Internal(()));
        self.machine
    }

    /// Nothing arrived by [`Read::until`].
    pub fn expired(mut self, now: Now) -> M {
        self.machine.feed(Input::Expired, now, Internal(()));
        self.machine
    }
}

/// The machine has nothing to do until [`Sleep::until`].
#[derive(Debug)]
pub struct Sleep<M> {
    /// When to poll again.
    pub until: Moment,
    machine: M,
}

impl<M: Machine> Sleep<M> {
    /// The machine, to poll again (at `until`, or earlier if the sleep was cut short).
    pub fn wake(self) -> M {
        self.machine
    }
}

/// Where a driver stopped driving a machine: it yielded an item, or it finished.
#[derive(Debug)]
pub enum Stop<M: Machine> {
    /// An item, and the machine to drive for the next one.
    Yielded(M::Item, M),
    /// The end.
    Done(Result<M::Output, Error>),
}

impl<M: Machine<Item = Infallible>> Stop<M> {
    /// The result of a machine that yields nothing.
    pub fn into_output(self) -> Result<M::Output, Error> {
        match self {
            Stop::Done(result) => result,
            Stop::Yielded(never, _) => match never {},
        }
    }
}

impl<M, T> Stop<M>
where
    M: Machine<Item = Result<T, Error>, Output = ()>,
{
    /// For a machine of items: the next item and the machine to drive on (`None` once it is
    /// finished). An error that ends the machine is its last item.
    pub fn into_next(self) -> (Option<Result<T, Error>>, Option<M>) {
        match self {
            Stop::Yielded(item, machine) => (Some(item), Some(machine)),
            Stop::Done(Ok(())) => (None, None),
            Stop::Done(Err(e)) => (Some(Err(e)), None),
        }
    }
}

/// A request as a machine sends it: the deadline its answer must beat, how long an attempt
/// may take from its send, and, when only the head is awaited, how long the open body may
/// stay silent.
#[derive(Debug)]
pub struct Attempt {
    pub(crate) request: http::Request<Body>,
    pub(crate) deadline: Moment,
    pub(crate) timeout: Duration,
    pub(crate) idle: Option<Duration>,
    /// Announced as [`Event::Sending`] when the driver sends it, not before: a request its
    /// caller cancelled first was never sent.
    pub(crate) announce: (Events, Operation, u32),
    /// The span the driver sends it in.
    pub(crate) span: Span,
}

// The raw protocol under `poll`: public in a private module, and named only inside this crate.
pub(crate) use internal::{Input, Internal, Next};

#[allow(unreachable_pub, missing_debug_implementations, missing_docs)]
mod internal {
    use super::*;

    /// The token that keeps [`Machine`]'s raw methods to this crate.
    #[derive(Clone, Copy)]
    pub struct Internal(pub(crate) ());

    /// What a machine asks for, before [`Machine::poll`] wraps the machine into the [`Step`].
    #[allow(clippy::large_enum_variant)] // returned and consumed at once, like a step
    pub enum Next<O, I> {
        /// A slot from the limiter for this request.
        Acquire(Ask),
        /// What a response said about the limit, for the limiter.
        Tell(Report),
        /// A request to send.
        Send(Attempt),
        /// The next body chunk, by the moment.
        Read(Moment),
        /// Nothing until the moment.
        Sleep(Moment),
        /// An item.
        Yield(I),
        /// The end.
        Done(Result<O, Error>),
    }

    /// An answer to what a machine asked.
    pub enum Input {
        /// The limiter's answer to `Acquire`.
        Slot(Result<(), Moment>),
        /// The answer to `Send`.
        Response(Result<http::Response<Bytes>, TransportError>),
        /// The answer to `Send` or `Read` did not come in time.
        Expired,
        /// The answer to `Read`.
        Chunk(Option<Result<Bytes, TransportError>>),
    }

    impl<O> Next<O, Infallible> {
        /// For a composite machine: its inner machine's request, to pass on as its own, or
        /// the inner machine's result.
        pub(crate) fn or_done<P, J>(self) -> Result<Next<P, J>, Result<O, Error>> {
            Ok(match self {
                Next::Acquire(ask) => Next::Acquire(ask),
                Next::Tell(report) => Next::Tell(report),
                Next::Send(attempt) => Next::Send(attempt),
                Next::Read(until) => Next::Read(until),
                Next::Sleep(until) => Next::Sleep(until),
                Next::Yield(never) => match never {},
                Next::Done(result) => return Err(result),
            })
        }
    }
}
