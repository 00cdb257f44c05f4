//! Creates that happen once, even when their answer is lost.
//!
//! Neither API offers idempotency keys, so a create whose response was lost (a timeout or reset
//! after sending, an unreadable success body, a gateway's 502 or 504) may or may not have
//! happened, and a blind retry can create twice. [`CreateOnce`] settles it: each create is tagged with a token in its
//! metadata ([`TOKEN_KEY`]); after an ambiguous failure it lists the resources, and either finds
//! the one it created (done) or finds none (then, and only then, it creates again).
//!
//! ```text
//!  Creating ──ok──────────────────────────────▶ Done(Ok)
//!     │ may have succeeded (then a short wait, for the server to settle)
//!     ▼
//!  Looking ──found──▶ Done(Ok)   ──not found──▶ Creating (again, up to max_creates)
//!     └── lookup failed ──▶ Done(Err(the original ambiguous error))
//! ```

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::call::ApiCall;
use crate::error::Error;
use crate::limiter::RateLimit;
use crate::retry::{Call, Event, Machine, RetryPolicy, Step};
use crate::target::Target;
use crate::time::{Moment, Now};

/// The metadata key rein tags creates with. Its value is unique per create.
pub const TOKEN_KEY: &str = "rein_token";

/// What a lookup found.
#[derive(Clone, Debug, PartialEq)]
pub enum Found<T> {
    /// The created resource.
    Yes(T),
    /// Nothing: the create did not happen.
    No,
    /// Part of it (a batch of which only some documents exist): neither safe to repeat nor done.
    Partly,
}

/// A create that can be found again after the fact.
pub trait Reconcile: ApiCall + Clone + Sized {
    /// The listing that shows whether the create happened.
    type Lookup: ApiCall;

    /// The request tagged with `token`; `None` when it cannot carry one (its metadata is full),
    /// in which case an ambiguous failure is reported instead of reconciled.
    fn tagged(&self, token: &str) -> Option<Self>;

    /// The listing to run after an ambiguous failure.
    fn lookup(&self) -> Self::Lookup;

    /// Looks for the resource tagged `token` in the listing.
    fn find(&self, token: &str, listing: <Self::Lookup as ApiCall>::Output) -> Found<Self::Output>;
}

/// Whether a failed create may have happened: its answer was lost, or a gateway answered for it.
fn ambiguous(error: &Error) -> bool {
    error.may_have_succeeded() || matches!(error, Error::Api(e) if matches!(e.status, 502 | 504))
}

enum State<R: Reconcile> {
    Creating(Box<Call<R::Output>>),
    Looking(Box<Call<<R::Lookup as ApiCall>::Output>>, Box<Error>),
    Finished(Option<Result<R::Output, Error>>),
}

/// A create, retried only when a lookup shows it did not happen. Drive it like a [`Call`].
pub struct CreateOnce<R: Reconcile> {
    request: R,
    token: Option<String>,
    target: Target,
    policy: RetryPolicy,
    limiter: Option<Arc<dyn RateLimit>>,
    seed: u64,
    creates: u32,
    max_creates: u32,
    state: State<R>,
    deadline: Option<Moment>,
    events: VecDeque<Event>,
}

impl<R: Reconcile> std::fmt::Debug for CreateOnce<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateOnce")
            .field("operation", &self.request.operation())
            .field("creates", &self.creates)
            .finish_non_exhaustive()
    }
}

impl<R: Reconcile> CreateOnce<R> {
    /// A create of `request`, tagged with `token` (unique per create: drivers derive it from
    /// fresh entropy). Fails at once, with nothing sent, when the request is invalid.
    pub fn new(
        target: &Target,
        request: &R,
        token: &str,
        policy: RetryPolicy,
    ) -> Result<Self, Error> {
        let (request, token) = match request.tagged(token) {
            Some(tagged) => (tagged, Some(token.to_owned())),
            None => (request.clone(), None),
        };
        // A gateway's 502 or 504 may come after the create happened: look, do not resend.
        let policy = RetryPolicy { retry_gateway_errors_on_creates: false, ..policy };
        let first = Call::typed(target, &request, policy.clone())?;
        let max_creates = policy.max_attempts.max(1);
        Ok(CreateOnce {
            request,
            token,
            target: target.clone(),
            policy,
            limiter: None,
            seed: 0,
            creates: 1,
            max_creates,
            state: State::Creating(Box::new(first)),
            deadline: None,
            events: VecDeque::new(),
        })
    }

    /// Shares the client's rate limiter with every request.
    pub fn limiter(mut self, limiter: Arc<dyn RateLimit>) -> Self {
        if let State::Creating(call) = self.state {
            let call = (*call).limiter(Arc::clone(&limiter));
            self.state = State::Creating(Box::new(call));
        }
        self.limiter = Some(limiter);
        self
    }

    /// Seeds the jitter of the retries.
    pub fn seed(mut self, seed: u64) -> Self {
        if let State::Creating(call) = self.state {
            self.state = State::Creating(Box::new((*call).seed(seed)));
        }
        self.seed = seed;
        self
    }

    /// How many times in all the create may be sent, each after a lookup found nothing (default:
    /// the policy's `max_attempts`).
    pub fn max_creates(mut self, n: u32) -> Self {
        self.max_creates = n.max(1);
        self
    }

    /// A lookup or a repeated create, inside the deadline the whole create started with.
    fn prepare<T>(&self, call: Call<T>) -> Call<T> {
        let mut call = call.seed(self.seed.wrapping_add(u64::from(self.creates)));
        if let Some(deadline) = self.deadline {
            call = call.deadline_at(deadline);
        }
        match &self.limiter {
            Some(l) => call.limiter(Arc::clone(l)),
            None => call,
        }
    }

    fn on_create_done(&mut self, result: Result<R::Output, Error>, now: Now) {
        self.state = match result {
            Err(e) if ambiguous(&e) && self.token.is_some() => {
                // Give the server a moment to finish what it may still be doing before looking.
                let settle = self.policy.backoff.base.max(self.policy.min_wait);
                let at = now.moment + settle;
                let lookup = Call::typed(&self.target, &self.request.lookup(), self.policy.clone());
                match lookup {
                    Ok(lookup) if self.deadline.is_none_or(|d| at < d) => {
                        self.events
                            .push_back(Event::Reconciling { operation: self.request.operation() });
                        State::Looking(Box::new(self.prepare(lookup).not_before(at)), Box::new(e))
                    }
                    _ => State::Finished(Some(Err(e))),
                }
            }
            other => State::Finished(Some(other)),
        };
    }

    fn on_lookup_done(
        &mut self,
        result: Result<<R::Lookup as ApiCall>::Output, Error>,
        original: Error,
    ) {
        let token = self.token.as_deref().unwrap_or_default();
        let found = result.map(|listing| self.request.find(token, listing));
        if let Ok(f @ (Found::Yes(_) | Found::No)) = &found {
            let found = matches!(f, Found::Yes(_));
            self.events.push_back(Event::Reconciled { operation: self.request.operation(), found });
        }
        self.state = match found {
            Ok(Found::Yes(resource)) => State::Finished(Some(Ok(resource))),
            Ok(Found::No) if self.creates < self.max_creates => {
                self.creates += 1;
                match Call::typed(&self.target, &self.request, self.policy.clone()) {
                    Ok(call) => State::Creating(Box::new(self.prepare(call))),
                    Err(e) => State::Finished(Some(Err(e))),
                }
            }
            _ => State::Finished(Some(Err(original))),
        };
    }
}

impl<R: Reconcile> Machine for CreateOnce<R> {
    type Output = R::Output;

    fn poll(&mut self, now: Now) -> Step<R::Output> {
        // One budget for the create, its lookups and its repeats: the first call's own.
        self.deadline.get_or_insert(now.moment + self.policy.timeout);
        loop {
            match &mut self.state {
                State::Finished(result) => {
                    return Step::Done(
                        result.take().unwrap_or(Err(Error::Misuse("poll called after Done"))),
                    )
                }
                State::Creating(call) => match call.poll(now) {
                    Step::Done(result) => self.on_create_done(result, now),
                    Step::Send(r) => return Step::Send(r),
                    Step::Wait(t) => return Step::Wait(t),
                },
                State::Looking(call, original) => match call.poll(now) {
                    Step::Done(result) => {
                        let original = std::mem::replace(original, Box::new(Error::Cancelled));
                        self.on_lookup_done(result, *original);
                    }
                    Step::Send(r) => return Step::Send(r),
                    Step::Wait(t) => return Step::Wait(t),
                },
            }
        }
    }

    fn handle(&mut self, outcome: Result<http::Response<Bytes>, crate::TransportError>, now: Now) {
        match &mut self.state {
            State::Creating(call) => call.handle(outcome, now),
            State::Looking(call, _) => call.handle(outcome, now),
            State::Finished(_) => {}
        }
    }

    fn poll_event(&mut self) -> Option<Event> {
        // Its own events first: `Reconciling` comes before the lookup's requests.
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        match &mut self.state {
            State::Creating(call) => call.poll_event(),
            State::Looking(call, _) => call.poll_event(),
            State::Finished(_) => None,
        }
    }

    fn cancelled(&mut self) -> Error {
        // Cancelled while looking: the create may have happened, and the caller must know.
        match std::mem::replace(&mut self.state, State::Finished(None)) {
            State::Looking(_, original) => *original,
            _ => Error::Cancelled,
        }
    }

    fn deadline(&self) -> Option<Moment> {
        match &self.state {
            State::Creating(call) => call.deadline(),
            State::Looking(call, _) => call.deadline(),
            State::Finished(_) => None,
        }
    }
}
