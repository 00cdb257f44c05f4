//! Sliding-window rate limits, as jack documents its own: at most `limit` requests in any
//! window of `window`, counted per organisation (or per key), across all endpoints.

use std::collections::VecDeque;
use std::time::Duration;

use rein_core::Moment;

/// A sliding-window log: remembers when each admitted request arrived during the last window.
#[derive(Clone, Debug)]
pub struct SlidingWindow {
    limit: u32,
    window: Duration,
    admitted: VecDeque<Moment>,
}

impl SlidingWindow {
    /// At most `limit` requests in any `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        SlidingWindow { limit, window, admitted: VecDeque::new() }
    }

    /// Admits a request arriving at `now`, or says how long until one would be admitted.
    ///
    /// Refused requests are not counted: a client that keeps knocking does not push its own
    /// window forward.
    pub fn admit(&mut self, now: Moment) -> Result<(), Duration> {
        while let Some(&oldest) = self.admitted.front() {
            if now.saturating_since(oldest) >= self.window {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
        if (self.admitted.len() as u64) < u64::from(self.limit) {
            self.admitted.push_back(now);
            Ok(())
        } else {
            let oldest = self.admitted.front().copied().unwrap_or(now);
            Err(self.window.saturating_sub(now.saturating_since(oldest)))
        }
    }

    /// How many requests the current window holds as of the last admission.
    pub fn used(&self) -> usize {
        self.admitted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sixty_a_minute_then_refused_until_the_oldest_leaves() {
        let mut w = SlidingWindow::new(60, Duration::from_secs(60));
        for i in 0..60 {
            assert!(w.admit(Moment::from_millis(i * 100)).is_ok());
        }
        let wait = w.admit(Moment::from_secs(10)).expect_err("61st refused");
        assert_eq!(wait, Duration::from_secs(50));
        assert!(w.admit(Moment::from_millis(59_999)).is_err());
        assert!(w.admit(Moment::from_secs(60)).is_ok());
    }

    proptest! {
        #[test]
        fn never_more_than_the_limit_in_any_window(
            gaps in proptest::collection::vec(0u64..3_000, 1..400),
            limit in 1u32..20,
        ) {
            let window = Duration::from_secs(10);
            let mut w = SlidingWindow::new(limit, window);
            let mut t = 0u64;
            let mut admitted = Vec::new();
            for gap in gaps {
                t += gap;
                if w.admit(Moment::from_millis(t)).is_ok() {
                    admitted.push(t);
                }
            }
            for (i, &start) in admitted.iter().enumerate() {
                let inside = admitted[i..].iter().take_while(|&&x| x < start + 10_000).count();
                prop_assert!(inside <= limit as usize);
            }
        }
    }
}
