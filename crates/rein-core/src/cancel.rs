//! Cancelling calls from elsewhere (another thread or task, a signal handler): the
//! [`CancelToken`] both adapters share.
//!
//! A machine run under a cancelled token sends nothing more and ends with
//! [`Error::Cancelled`](crate::Error::Cancelled) (or what it knows better: a create that may
//! have happened says so). A request already in flight finishes first, and if it completes the
//! call its result is kept. Sleepers wake when the token is cancelled: an async one awaits
//! [`CancelToken::cancelled`], a blocking one registers a waker that unparks its thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// Cancels the waits and retries of the calls it is attached to (see `with_cancel` on the
/// clients). Clones cancel together.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    sleepers: Mutex<Sleepers>,
}

/// The wakers of whoever sleeps on the token, each under an id so it can leave when it wakes.
#[derive(Debug, Default)]
struct Sleepers {
    next_id: u64,
    wakers: Vec<(u64, Waker)>,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancels every call using this token, waking any that sleep.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut self.sleepers().wakers);
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    /// Whether [`cancel`](CancelToken::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once the token is cancelled (at once if it already is).
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled { token: self, id: None }
    }

    fn sleepers(&self) -> std::sync::MutexGuard<'_, Sleepers> {
        // A panic elsewhere cannot leave the list inconsistent: every update is a single step.
        self.0.sleepers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The future of [`CancelToken::cancelled`].
#[derive(Debug)]
pub struct Cancelled<'a> {
    token: &'a CancelToken,
    id: Option<u64>,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let mut sleepers = self.token.sleepers();
        // Checked again under the lock: a cancel between the two checks has taken the list.
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        match self.id {
            Some(id) => {
                if let Some(slot) = sleepers.wakers.iter_mut().find(|(i, _)| *i == id) {
                    slot.1.clone_from(cx.waker());
                }
            }
            None => {
                let id = sleepers.next_id;
                sleepers.next_id += 1;
                sleepers.wakers.push((id, cx.waker().clone()));
                drop(sleepers);
                self.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.token.sleepers().wakers.retain(|(i, _)| *i != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_sleeper_is_woken_once_by_cancel_and_leaves_no_waker_behind() {
        let token = CancelToken::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        {
            let mut sleeping = Box::pin(token.cancelled());
            assert!(sleeping.as_mut().poll(&mut cx).is_pending());
            assert!(sleeping.as_mut().poll(&mut cx).is_pending(), "polled again: one waker kept");
            assert_eq!(token.sleepers().wakers.len(), 1);
        }
        assert!(token.sleepers().wakers.is_empty(), "a sleeper that woke for time left");

        let mut sleeping = Box::pin(token.cancelled());
        assert!(sleeping.as_mut().poll(&mut cx).is_pending());
        token.clone().cancel();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(sleeping.as_mut().poll(&mut cx).is_ready());
        assert!(Box::pin(token.cancelled()).as_mut().poll(&mut cx).is_ready(), "late sleepers too");
    }
}
