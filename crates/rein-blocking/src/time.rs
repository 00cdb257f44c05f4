//! Time for the blocking clients: the system's clocks, and sleeping that a cancel token cuts
//! short. Both are injected ([`ClientBuilder::clock`](crate::ClientBuilder::clock) and
//! [`ClientBuilder::sleeper`](crate::ClientBuilder::sleeper)); a [`ManualClock`] serves as both,
//! so a test runs hours of retries and polls in no time.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant, SystemTime};

use rein_core::time::process_origin;
use rein_core::{CancelToken, Clock, ManualClock, Moment, Now};

/// How a client sleeps between retries and polls.
pub trait Sleep: Send + Sync {
    /// Sleeps for `duration`, or until `cancel` is cancelled.
    fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>);
}

/// The system's clocks (monotonic, and wall time for HTTP-dates) and the thread's sleep: the
/// default of every client.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        let origin = process_origin(Instant::now);
        Now::new(Moment::from_origin(origin.elapsed()), SystemTime::now())
    }
}

impl Sleep for SystemClock {
    fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>) {
        let Some(token) = cancel else { return thread::sleep(duration) };
        let end = Instant::now() + duration;
        // The token wakes this thread when it is cancelled: park until then, or the end.
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cancelled = std::pin::pin!(token.cancelled());
        while cancelled.as_mut().poll(&mut Context::from_waker(&waker)).is_pending() {
            let now = Instant::now();
            if now >= end {
                return;
            }
            thread::park_timeout(end - now);
        }
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Sleeping on a manual clock moves it on: the wait is over at once.
impl Sleep for ManualClock {
    fn sleep(&self, duration: Duration, cancel: Option<&CancelToken>) {
        if !cancel.is_some_and(CancelToken::is_cancelled) {
            self.advance(duration);
        }
    }
}
