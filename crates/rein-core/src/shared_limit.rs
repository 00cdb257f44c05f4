//! Rate limiters kept outside the process: one budget drawn from by every process of an
//! organisation (`rein-redis` keeps one in Redis).
//!
//! Such a limiter answers over IO, so it cannot be a [`RateLimit`](crate::RateLimit), which
//! answers at once: the driver carries the machine's [`Step::Acquire`](crate::Step::Acquire)
//! and [`Step::Tell`](crate::Step::Tell) to it instead, blocking in the blocking adapter
//! ([`SharedLimit`]) and awaiting in the async one ([`AsyncSharedLimit`]). Either answers in
//! bounded time, whatever the store does: a store that cannot be reached is the limiter's to
//! work around (a local share of the limit), never the call's to hang on.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::event::Events;
use crate::limiter::{Ask, Report};
use crate::time::{Moment, Now};

/// A future that is `Send`, boxed: what [`AsyncSharedLimit`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A rate limiter shared across processes, asked by a blocking driver. Each method returns in
/// bounded time (the implementation's own timeouts).
pub trait SharedLimit: Send + Sync {
    /// Takes a slot for one request at `now`, or says when to ask again (on the client's
    /// clock). Whatever the limiter has to say to the caller (it fell back to a local share, it
    /// rejoined) goes to `events`.
    fn acquire(&self, ask: Ask, now: Now, events: &Events) -> Result<(), Moment>;
    /// What a response said about the limit: a 429's pause holds every process of the budget.
    fn report(&self, report: &Report, now: Now, events: &Events);
}

/// A rate limiter shared across processes, asked by an async driver: the same as
/// [`SharedLimit`], without blocking the executor.
pub trait AsyncSharedLimit: Send + Sync {
    /// Takes a slot for one request at `now`, or says when to ask again.
    fn acquire<'a>(
        &'a self,
        ask: Ask,
        now: Now,
        events: &'a Events,
    ) -> BoxFuture<'a, Result<(), Moment>>;
    /// What a response said about the limit.
    fn report<'a>(&'a self, report: Report, now: Now, events: &'a Events) -> BoxFuture<'a, ()>;
}

impl<T: SharedLimit + ?Sized> SharedLimit for Arc<T> {
    fn acquire(&self, ask: Ask, now: Now, events: &Events) -> Result<(), Moment> {
        (**self).acquire(ask, now, events)
    }

    fn report(&self, report: &Report, now: Now, events: &Events) {
        (**self).report(report, now, events)
    }
}

impl<T: AsyncSharedLimit + ?Sized> AsyncSharedLimit for Arc<T> {
    fn acquire<'a>(
        &'a self,
        ask: Ask,
        now: Now,
        events: &'a Events,
    ) -> BoxFuture<'a, Result<(), Moment>> {
        (**self).acquire(ask, now, events)
    }

    fn report<'a>(&'a self, report: Report, now: Now, events: &'a Events) -> BoxFuture<'a, ()> {
        (**self).report(report, now, events)
    }
}
