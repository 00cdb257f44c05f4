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

use std::convert::Infallible;

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::call::Call;
use crate::error::Error;
use crate::event::{Event, Events};
use crate::limiter::Priority;
use crate::machine::{Input, Internal, Machine, Next};
use crate::retry::RetryPolicy;
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
    Finished(Result<R::Output, Error>),
    Spent,
}

/// A create, retried only when a lookup shows it did not happen. Drive it with
/// [`Machine::poll`].
pub struct CreateOnce<R: Reconcile> {
    request: R,
    token: Option<String>,
    target: Target,
    policy: RetryPolicy,
    events: Events,
    limited: bool,
    priority: Priority,
    seed: u64,
    creates: u32,
    max_creates: u32,
    state: State<R>,
    deadline: Option<Moment>,
}

impl<R: Reconcile> std::fmt::Debug for CreateOnce<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateOnce")
            .field("operation", &R::OPERATION)
            .field("creates", &self.creates)
            .finish_non_exhaustive()
    }
}

impl<R: Reconcile> CreateOnce<R> {
    /// A create of `request`, tagged with `token` (unique per create: clients derive it from
    /// fresh entropy). Fails at once, with nothing sent, when the request is invalid.
    pub fn new(
        target: &Target,
        request: &R,
        token: &str,
        policy: RetryPolicy,
    ) -> Result<Self, Error> {
        match request.tagged(token) {
            Some(tagged) => CreateOnce::build(target, tagged, Some(token.to_owned()), policy),
            None => CreateOnce::build(target, request.clone(), None, policy),
        }
    }

    /// A create sent untagged: nothing is written into the resource's metadata, and so nothing
    /// can find it again. A create whose answer is lost ends with an error that says it may
    /// have happened; it is never sent twice either way.
    pub fn untagged(target: &Target, request: &R, policy: RetryPolicy) -> Result<Self, Error> {
        CreateOnce::build(target, request.clone(), None, policy)
    }

    fn build(
        target: &Target,
        request: R,
        token: Option<String>,
        policy: RetryPolicy,
    ) -> Result<Self, Error> {
        // A gateway's 502 or 504 may come after the create happened: look, do not resend.
        let policy = RetryPolicy { retry_gateway_errors_on_creates: false, ..policy };
        let first = Call::typed(target, &request, policy.clone())?;
        let max_creates = policy.max_attempts.max(1);
        Ok(CreateOnce {
            request,
            token,
            target: target.clone(),
            policy,
            events: Events::default(),
            limited: false,
            priority: Priority::Interactive,
            seed: 0,
            creates: 1,
            max_creates,
            state: State::Creating(Box::new(first)),
            deadline: None,
        })
    }

    /// Every request asks a rate limiter first (see [`Call::rate_limited`]).
    pub fn rate_limited(mut self) -> Self {
        self.limited = true;
        self.map_first(Call::rate_limited)
    }

    /// Asks the limiter as `priority` (bulk work leaves the reserved share to other calls).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self.map_first(|call| call.priority(priority))
    }

    /// Where the create's events, and its requests', go.
    pub fn events(mut self, events: Events) -> Self {
        self.events = events.clone();
        self.map_first(|call| call.events(events))
    }

    /// Seeds the jitter of the retries.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.map_first(|call| call.seed(seed))
    }

    /// How many times in all the create may be sent, each after a lookup found nothing (default:
    /// the policy's `max_attempts`).
    pub fn max_creates(mut self, n: u32) -> Self {
        self.max_creates = n.max(1);
        self
    }

    fn map_first(mut self, f: impl FnOnce(Call<R::Output>) -> Call<R::Output>) -> Self {
        if let State::Creating(call) = self.state {
            self.state = State::Creating(Box::new(f(*call)));
        }
        self
    }

    /// A lookup or a repeated create, inside the deadline the whole create started with.
    fn prepare<T>(&self, call: Call<T>) -> Call<T> {
        let mut call =
            call.seed(self.seed.wrapping_add(u64::from(self.creates))).events(self.events.clone());
        if let Some(deadline) = self.deadline {
            call = call.deadline_at(deadline);
        }
        if self.limited {
            call = call.rate_limited();
        }
        call.priority(self.priority)
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
                        self.events.emit(|| Event::Reconciling { operation: R::OPERATION });
                        State::Looking(Box::new(self.prepare(lookup).not_before(at)), Box::new(e))
                    }
                    _ => State::Finished(Err(e)),
                }
            }
            other => State::Finished(other),
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
            self.events.emit(|| Event::Reconciled { operation: R::OPERATION, found });
        }
        self.state = match found {
            Ok(Found::Yes(resource)) => State::Finished(Ok(resource)),
            Ok(Found::No) if self.creates < self.max_creates => {
                self.creates += 1;
                match Call::typed(&self.target, &self.request, self.policy.clone()) {
                    Ok(call) => State::Creating(Box::new(self.prepare(call))),
                    Err(e) => State::Finished(Err(e)),
                }
            }
            _ => State::Finished(Err(original)),
        };
    }
}

impl<R: Reconcile> Machine for CreateOnce<R> {
    type Output = R::Output;
    type Item = Infallible;

    fn next(&mut self, now: Now, token: Internal) -> Next<R::Output, Infallible> {
        // One budget for the create, its lookups and its repeats: the first call's own.
        self.deadline.get_or_insert(now.moment + self.policy.timeout);
        loop {
            match &mut self.state {
                State::Finished(_) | State::Spent => {
                    return match std::mem::replace(&mut self.state, State::Spent) {
                        State::Finished(result) => Next::Done(result),
                        _ => Next::Done(Err(Error::Cancelled)),
                    }
                }
                State::Creating(call) => match call.next(now, token).or_done() {
                    Ok(next) => return next,
                    Err(result) => self.on_create_done(result, now),
                },
                State::Looking(call, original) => match call.next(now, token).or_done() {
                    Ok(next) => return next,
                    Err(result) => {
                        let original = std::mem::replace(original, Box::new(Error::Cancelled));
                        self.on_lookup_done(result, *original);
                    }
                },
            }
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        match &mut self.state {
            State::Creating(call) => call.feed(input, now, token),
            State::Looking(call, _) => call.feed(input, now, token),
            State::Finished(_) | State::Spent => {}
        }
    }

    fn cancel(&mut self, token: Internal) -> Result<R::Output, Error> {
        // Cancelled while looking: the create may have happened, and the caller must know.
        match std::mem::replace(&mut self.state, State::Spent) {
            State::Creating(mut call) => call.cancel(token),
            State::Looking(_, original) => Err(*original),
            State::Finished(result) => result,
            _ => Err(Error::Cancelled),
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(R::OPERATION)
    }
}
