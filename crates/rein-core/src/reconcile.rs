//! Creates that happen once, even when their answer is lost.
//!
//! Neither API offers idempotency keys, so a create whose response was lost (a timeout or reset
//! after sending, an unreadable success body, a gateway's 502 or 504) may or may not have
//! happened, and a blind retry can create twice. [`CreateOnce`] settles it: each create is tagged with a token in its
//! metadata ([`TOKEN_KEY`]); after an ambiguous failure it lists the resources, and either finds
//! the one it created (done) or finds none (then, and only then, it creates again).
//!
//! ```text
//!  Creating ──ok──────────────────────────────▶ Done(Ok)   (after a repeat: Verifying first)
//!     │ may have succeeded (then a short wait, for the server to settle)
//!     ▼
//!  Looking ──found──▶ Done(Ok)
//!     │ not found, while the first request may still be in flight (its attempt's timeout
//!     │ plus a settle): look once more at the end of that window, or, past the deadline,
//!     │ Done(Err(the original error, "may have succeeded"))
//!     ▼
//!  Looking (confirming) ──found──▶ Done(Ok)  ──not found──▶ Creating (again, up to max_creates)
//!     └── lookup failed ──▶ Done(Err(the original ambiguous error))
//!
//!  Verifying (after a repeated create succeeded): one more lookup; a second resource with
//!  the same token is reported as Event::DuplicateCreated, never silently orphaned.
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

/// How long a server may go on with a request after its answer was lost, on top of the
/// attempt's own timeout: a proxy may still be forwarding it, a queue may still hold it. A guess
/// (neither API documents one); a lookup that finds nothing before this has passed does not
/// license a repeat.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

/// The attempt timeout a create assumes when its runner gives none (the clients' default
/// `request_timeout`).
pub const DEFAULT_IN_FLIGHT: std::time::Duration = std::time::Duration::from_secs(120);

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

    /// How many resources in the listing carry `token` (more than one: the create happened
    /// twice). The default counts none, for creates that cannot tell.
    fn tagged_count(&self, token: &str, listing: &<Self::Lookup as ApiCall>::Output) -> usize {
        let _ = (token, listing);
        0
    }
}

/// Whether a failed create may have happened: its answer was lost, or a gateway answered for it.
fn ambiguous(error: &Error) -> bool {
    error.may_have_succeeded() || matches!(error, Error::Api(e) if matches!(e.status, 502 | 504))
}

enum State<R: Reconcile> {
    Creating(Box<Call<R::Output>>),
    Looking(Box<Call<<R::Lookup as ApiCall>::Output>>, Box<Error>),
    Verifying(Box<Call<<R::Lookup as ApiCall>::Output>>, Box<R::Output>),
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
    in_flight: std::time::Duration,
    /// When the create last went out: until `last_send + in_flight + SETTLE` it may still land.
    last_send: Option<Moment>,
    /// Whether the lookups for this create already included the one after that window.
    confirmed: bool,
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
            in_flight: DEFAULT_IN_FLIGHT,
            last_send: None,
            confirmed: false,
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

    /// The longest one attempt of the create may take (the client's request timeout): a request
    /// whose answer was lost may still be processed until then, so no repeat goes out before
    /// a lookup made after it (and [`SETTLE`]) finds nothing.
    pub fn in_flight(mut self, timeout: std::time::Duration) -> Self {
        self.in_flight = timeout;
        self
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

    /// When a request sent last could no longer be landing.
    fn settled_at(&self, now: Now) -> Moment {
        self.last_send.unwrap_or(now.moment) + self.in_flight + SETTLE
    }

    /// A lookup at `at`, or `None` when it could not run inside the deadline.
    fn lookup_at(&self, at: Moment) -> Option<Call<<R::Lookup as ApiCall>::Output>> {
        let lookup = Call::typed(&self.target, &self.request.lookup(), self.policy.clone()).ok()?;
        self.deadline.is_none_or(|d| at < d).then(|| self.prepare(lookup).not_before(at))
    }

    fn on_create_done(&mut self, result: Result<R::Output, Error>, now: Now) {
        self.state = match result {
            Err(mut e) if ambiguous(&e) && self.token.is_some() => {
                // Give the server a moment to finish what it may still be doing before looking.
                let settle = self.policy.backoff.base.max(self.policy.min_wait);
                let at = now.moment + settle;
                self.confirmed = at >= self.settled_at(now);
                match self.lookup_at(at) {
                    Some(lookup) => {
                        self.events.emit(|| Event::Reconciling { operation: R::OPERATION });
                        State::Looking(Box::new(lookup), Box::new(e))
                    }
                    None => {
                        e.mark_may_have_succeeded();
                        State::Finished(Err(e))
                    }
                }
            }
            // A repeat that went through: one more look, so a first create that landed after
            // all is reported, not orphaned.
            Ok(resource) if self.creates > 1 && self.token.is_some() => {
                match self.lookup_at(now.moment + SETTLE) {
                    Some(lookup) => State::Verifying(Box::new(lookup), Box::new(resource)),
                    None => State::Finished(Ok(resource)),
                }
            }
            Err(mut e) if ambiguous(&e) => {
                e.mark_may_have_succeeded();
                State::Finished(Err(e))
            }
            other => State::Finished(other),
        };
    }

    fn on_lookup_done(
        &mut self,
        result: Result<<R::Lookup as ApiCall>::Output, Error>,
        mut original: Error,
        now: Now,
    ) {
        let token = self.token.clone().unwrap_or_default();
        let found = result.map(|listing| {
            let count = self.request.tagged_count(&token, &listing);
            (self.request.find(&token, listing), count)
        });
        if let Ok((f @ (Found::Yes(_) | Found::No), _)) = &found {
            let found = matches!(f, Found::Yes(_));
            if found || self.confirmed {
                self.events.emit(|| Event::Reconciled { operation: R::OPERATION, found });
            }
        }
        self.report_duplicates(found.as_ref().map_or(0, |(_, count)| *count));
        self.state = match found {
            Ok((Found::Yes(resource), _)) => State::Finished(Ok(resource)),
            // Nothing yet, but the request may still be landing: look once more when it no
            // longer can, before anything is sent again.
            Ok((Found::No, _)) if !self.confirmed => {
                self.confirmed = true;
                match self.lookup_at(self.settled_at(now).max(now.moment)) {
                    Some(lookup) => State::Looking(Box::new(lookup), Box::new(original)),
                    None => {
                        original.mark_may_have_succeeded();
                        State::Finished(Err(original))
                    }
                }
            }
            Ok((Found::No, _)) if self.creates < self.max_creates => {
                self.creates += 1;
                self.confirmed = false;
                match Call::typed(&self.target, &self.request, self.policy.clone()) {
                    Ok(call) => State::Creating(Box::new(self.prepare(call))),
                    Err(e) => State::Finished(Err(e)),
                }
            }
            _ => {
                original.mark_may_have_succeeded();
                State::Finished(Err(original))
            }
        };
    }

    fn report_duplicates(&self, count: usize) {
        if count > 1 {
            let token = self.token.clone().unwrap_or_default();
            self.events.emit(|| Event::DuplicateCreated { operation: R::OPERATION, token, count });
        }
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
                    Ok(next) => {
                        if matches!(next, Next::Send(_)) {
                            self.last_send = Some(now.moment);
                        }
                        return next;
                    }
                    Err(result) => self.on_create_done(result, now),
                },
                State::Looking(call, original) => match call.next(now, token).or_done() {
                    Ok(next) => return next,
                    Err(result) => {
                        let original = std::mem::replace(original, Box::new(Error::Cancelled));
                        self.on_lookup_done(result, *original, now);
                    }
                },
                State::Verifying(call, _) => match call.next(now, token).or_done() {
                    Ok(next) => return next,
                    Err(result) => {
                        let token = self.token.clone().unwrap_or_default();
                        if let Ok(listing) = &result {
                            self.report_duplicates(self.request.tagged_count(&token, listing));
                        }
                        if let State::Verifying(_, resource) =
                            std::mem::replace(&mut self.state, State::Spent)
                        {
                            self.state = State::Finished(Ok(*resource));
                        }
                    }
                },
            }
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        match &mut self.state {
            State::Creating(call) => call.feed(input, now, token),
            State::Looking(call, _) | State::Verifying(call, _) => call.feed(input, now, token),
            State::Finished(_) | State::Spent => {}
        }
    }

    fn cancel(&mut self, token: Internal) -> Result<R::Output, Error> {
        // Cancelled while looking: the create may have happened, and the caller must know.
        match std::mem::replace(&mut self.state, State::Spent) {
            State::Creating(mut call) => call.cancel(token),
            State::Looking(_, mut original) => {
                original.mark_may_have_succeeded();
                Err(*original)
            }
            State::Verifying(_, resource) => Ok(*resource),
            State::Finished(result) => result,
            _ => Err(Error::Cancelled),
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(R::OPERATION)
    }
}
