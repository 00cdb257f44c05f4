//! Time for the async clients: tokio's clock (so `tokio::time::pause` drives every wait in
//! tests) and tokio's timer, cut short by a cancel token. Both are injected
//! ([`ClientBuilder::clock`](crate::ClientBuilder::clock) and
//! [`ClientBuilder::sleeper`](crate::ClientBuilder::sleeper)); a [`ManualClock`] serves as both.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rein_core::time::process_origin;
use rein_core::{CancelToken, Clock, ManualClock, Moment, Now};
use tokio::time::Instant;

/// How a client sleeps between retries and polls.
#[async_trait]
pub trait AsyncSleep: Send + Sync {
    /// Sleeps for `duration`, or until `cancel` is cancelled.
    async fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>);
}

/// tokio's clock and timer: the default of every client.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Now {
        let origin = Instant::from_std(process_origin(|| Instant::now().into_std()));
        Now::new(Moment::from_origin(origin.elapsed()), SystemTime::now())
    }
}

#[async_trait]
impl AsyncSleep for TokioClock {
    async fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>) {
        let nap = tokio::time::sleep(duration);
        match cancel {
            Some(token) => tokio::select! {
                () = token.cancelled() => {}
                () = nap => {}
            },
            None => nap.await,
        }
    }
}

/// Sleeping on a manual clock moves it on: the wait is over at once.
#[async_trait]
impl AsyncSleep for ManualClock {
    async fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>) {
        if !cancel.is_some_and(CancelToken::is_cancelled) {
            self.advance(duration);
        }
    }
}
