//! Cancelling async calls from elsewhere (another task, a signal handler).
//!
//! Dropping a call's future already stops it; a token is for stopping calls that are awaited
//! somewhere out of reach, several at once, and for letting them return
//! [`rein_core::Error::Cancelled`] rather than vanish.

use std::sync::Arc;

use tokio::sync::watch;

/// A handle that cancels the waits and retries of the calls it is attached to (see
/// `with_cancel` on the clients). A cancelled call sends nothing more and returns
/// [`rein_core::Error::Cancelled`]; a request already in flight finishes first (drop the
/// future to abandon it instead).
#[derive(Clone, Debug)]
pub struct CancelToken {
    // A watch channel rather than a `Notify`: a late subscriber still sees the flag, so a
    // cancel between the check and the sleep is never lost.
    flag: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken { flag: Arc::new(watch::Sender::new(false)) }
    }
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancels every call using this token, waking any that sleep.
    pub fn cancel(&self) {
        self.flag.send_replace(true);
    }

    /// Whether [`cancel`](CancelToken::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.flag.borrow()
    }

    /// Completes once the token is cancelled (at once if it already is).
    pub(crate) async fn cancelled(&self) {
        let mut rx = self.flag.subscribe();
        // The sender lives as long as `self`, so this only ends when the flag is set.
        let _ = rx.wait_for(|cancelled| *cancelled).await;
    }
}
