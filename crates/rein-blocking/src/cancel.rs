//! Cancelling blocking calls from another thread.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

/// A handle that cancels the waits and retries of the calls it is attached to (see
/// `with_cancel` on the clients). A cancelled call sends nothing more and returns
/// [`rein_core::Error::Cancelled`]; a request already in flight finishes first.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancels every call using this token, waking any that sleep.
    pub fn cancel(&self) {
        let (flag, wake) = &*self.inner;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }

    /// Whether [`cancel`](CancelToken::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until `until` or until cancelled; true if cancelled.
    pub(crate) fn sleep_until(&self, until: Instant) -> bool {
        let (flag, wake) = &*self.inner;
        let mut cancelled = flag.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *cancelled {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            cancelled =
                wake.wait_timeout(cancelled, until - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}
