//! Client-side rate limiting, shared by every call of a client.
//!
//! jack allows 60 requests per minute per organisation, in a sliding window, across all
//! endpoints; Jockey publishes no number. A [`Limiter`] keeps a sliding window per API (on by
//! default for jack, optional for Jockey) and a pause per API: a 429 with a wait pauses every
//! request of the client to that API until the wait is over, not only the call that got it.
//!
//! Machines consult the limiter through the [`RateLimit`] trait before every send, so a limiter
//! shared across processes (say, one kept in Redis) can replace the in-memory one.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::api::Api;
use crate::time::Moment;

/// What machines ask of a rate limiter. Implementations are shared between calls (`Send + Sync`).
pub trait RateLimit: Send + Sync {
    /// Takes a slot for one request to `api` at `now`, or says when to ask again.
    fn try_acquire(&self, api: Api, now: Moment) -> Result<(), Moment>;
    /// The server asked that no request to `api` be sent before `until`.
    fn pause(&self, api: Api, until: Moment);
}

/// Extra time a window slot is held, for the difference in latency between two requests.
pub const WINDOW_MARGIN: Duration = Duration::from_millis(500);

/// A sliding-window limit: at most `max_requests` in any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Requests allowed per window.
    pub max_requests: u32,
    /// The window's length.
    pub window: Duration,
}

impl Window {
    /// jack's documented limit: 60 requests per 60 s.
    pub const JACK: Window = Window { max_requests: 60, window: Duration::from_secs(60) };

    /// `n` requests per minute.
    pub const fn per_minute(n: u32) -> Self {
        Window { max_requests: n, window: Duration::from_secs(60) }
    }
}

#[derive(Debug, Default)]
struct Lane {
    window: Option<Window>,
    sent: VecDeque<Moment>,
    paused_until: Option<Moment>,
}

impl Lane {
    fn try_acquire(&mut self, now: Moment) -> Result<(), Moment> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        if let Some(w) = self.window {
            while self
                .sent
                .front()
                .is_some_and(|&t| now.saturating_since(t) >= w.window + WINDOW_MARGIN)
            {
                self.sent.pop_front();
            }
            if w.max_requests == 0 {
                return Err(now + w.window);
            }
            if self.sent.len() >= w.max_requests as usize {
                // The oldest request leaves the window at `oldest + window`. The server counts
                // requests when they arrive, the client when it sends; the margin keeps a request
                // that travels faster than the one it replaces from landing inside the window.
                let oldest = self.sent.front().copied().unwrap_or(now);
                return Err(oldest + w.window + WINDOW_MARGIN);
            }
            self.sent.push_back(now);
        }
        Ok(())
    }
}

/// The in-memory limiter: a window and a pause per API.
#[derive(Debug)]
pub struct Limiter {
    jockey: Mutex<Lane>,
    jack: Mutex<Lane>,
}

impl Default for Limiter {
    /// jack limited to 60 requests per minute; Jockey unlimited until a 429 says otherwise.
    fn default() -> Self {
        Limiter::new(None, Some(Window::JACK))
    }
}

impl Limiter {
    /// A limiter with the given windows (`None`: no client-side window for that API).
    pub fn new(jockey: Option<Window>, jack: Option<Window>) -> Self {
        Limiter {
            jockey: Mutex::new(Lane { window: jockey, ..Lane::default() }),
            jack: Mutex::new(Lane { window: jack, ..Lane::default() }),
        }
    }

    /// A limiter with no windows; 429 pauses still apply.
    pub fn unlimited() -> Self {
        Limiter::new(None, None)
    }

    fn lane(&self, api: Api) -> std::sync::MutexGuard<'_, Lane> {
        let lane = match api {
            Api::Jockey => &self.jockey,
            Api::Jack => &self.jack,
        };
        // A panic elsewhere cannot leave a lane inconsistent: every update is a single step.
        lane.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the pause for `api` ends, if it is paused at `now`.
    pub fn paused_until(&self, api: Api, now: Moment) -> Option<Moment> {
        self.lane(api).paused_until.filter(|&until| until > now)
    }
}

impl RateLimit for Limiter {
    fn try_acquire(&self, api: Api, now: Moment) -> Result<(), Moment> {
        self.lane(api).try_acquire(now)
    }

    fn pause(&self, api: Api, until: Moment) {
        let mut lane = self.lane(api);
        // Pauses only ever extend: an earlier, shorter Retry-After must not cut a longer one.
        lane.paused_until = Some(lane.paused_until.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_61st_request_in_a_minute_waits_for_the_oldest_to_leave() {
        let l = Limiter::default();
        for i in 0..60 {
            assert_eq!(l.try_acquire(Api::Jack, Moment::from_millis(i * 100)), Ok(()));
        }
        let free = Moment::from_secs(60) + WINDOW_MARGIN;
        assert_eq!(l.try_acquire(Api::Jack, Moment::from_secs(10)), Err(free));
        assert_eq!(l.try_acquire(Api::Jack, Moment::from_secs(60)), Err(free), "the margin holds");
        assert_eq!(l.try_acquire(Api::Jack, free), Ok(()));
        // Jockey has no window by default.
        for _ in 0..1000 {
            assert_eq!(l.try_acquire(Api::Jockey, Moment::ZERO), Ok(()));
        }
    }

    #[test]
    fn a_pause_holds_every_request_and_only_extends() {
        let l = Limiter::default();
        l.pause(Api::Jockey, Moment::from_secs(30));
        l.pause(Api::Jockey, Moment::from_secs(10));
        assert_eq!(l.try_acquire(Api::Jockey, Moment::from_secs(5)), Err(Moment::from_secs(30)));
        assert_eq!(l.paused_until(Api::Jockey, Moment::from_secs(5)), Some(Moment::from_secs(30)));
        assert_eq!(l.try_acquire(Api::Jack, Moment::from_secs(5)), Ok(()));
        assert_eq!(l.try_acquire(Api::Jockey, Moment::from_secs(30)), Ok(()));
        // Over, and free again: a second pause holds as the first did.
        assert_eq!(l.try_acquire(Api::Jockey, Moment::from_secs(31)), Ok(()));
        l.pause(Api::Jockey, Moment::from_secs(40));
        assert_eq!(l.try_acquire(Api::Jockey, Moment::from_secs(35)), Err(Moment::from_secs(40)));
    }
}
