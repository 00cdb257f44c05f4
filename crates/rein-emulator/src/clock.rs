//! The server's clocks: real time scaled by a speed, or a manual clock a test advances.
//!
//! The model only ever sees [`Now`]; these decide what `now` is for each request. Under a speed
//! other than 1, emulated durations the server acts out (a slow response, a `Retry-After`) are
//! converted back to real time, so a client waits the right *real* duration.

use std::time::{Duration, Instant, SystemTime};

pub use rein_core::ManualClock;
use rein_core::{Moment, Now};

/// Where emulated time comes from.
#[derive(Clone, Debug)]
pub enum Clock {
    /// Real time multiplied by a speed: at `speed = 60` a minute of emulated time passes in a
    /// second of real time.
    Scaled(ScaledClock),
    /// Time that moves only when a test advances it.
    Manual(ManualClock),
}

impl Default for Clock {
    fn default() -> Self {
        Clock::Scaled(ScaledClock::new(1.0))
    }
}

impl Clock {
    /// Real time scaled by `speed` (1.0 is real time; non-positive or non-finite speeds count
    /// as 1.0).
    pub fn scaled(speed: f64) -> Self {
        Clock::Scaled(ScaledClock::new(speed))
    }

    /// A manual clock starting at [`Now::fake(0.0)`](Now::fake).
    pub fn manual() -> Self {
        Clock::Manual(ManualClock::new())
    }

    /// The current emulated time.
    pub fn now(&self) -> Now {
        match self {
            Clock::Scaled(c) => c.now(),
            Clock::Manual(c) => c.now(),
        }
    }

    /// How many emulated seconds pass per real second (a manual clock: 0, time stands still).
    pub fn speed(&self) -> f64 {
        match self {
            Clock::Scaled(c) => c.speed,
            Clock::Manual(_) => 0.0,
        }
    }

    /// The real duration of an emulated one. A manual clock has no real time: zero.
    pub fn to_real(&self, emulated: Duration) -> Duration {
        match self {
            Clock::Scaled(c) => emulated.div_f64(c.speed),
            Clock::Manual(_) => Duration::ZERO,
        }
    }
}

/// Real time times a speed, from the moment the clock was made.
#[derive(Clone, Debug)]
pub struct ScaledClock {
    origin: Instant,
    wall_origin: SystemTime,
    speed: f64,
}

impl ScaledClock {
    /// A clock starting now at `speed`.
    pub fn new(speed: f64) -> Self {
        ScaledClock {
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
            speed: if speed.is_finite() && speed > 0.0 { speed } else { 1.0 },
        }
    }

    /// The emulated time: the real time elapsed, times the speed, after the start.
    pub fn now(&self) -> Now {
        let emulated = self.origin.elapsed().mul_f64(self.speed);
        Now::new(Moment::from_origin(emulated), self.wall_origin + emulated)
    }

    /// The speed.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clocks_move_only_when_told() {
        let clock = Clock::manual();
        let Clock::Manual(handle) = &clock else { unreachable!() };
        assert_eq!(clock.now().moment, Moment::ZERO);
        handle.advance(Duration::from_secs(61));
        assert_eq!(clock.now().moment, Moment::from_secs(61));
        assert_eq!(clock.to_real(Duration::from_secs(5)), Duration::ZERO);
    }

    #[test]
    fn scaled_clocks_convert_emulated_waits_to_real_ones() {
        let clock = Clock::scaled(60.0);
        assert_eq!(clock.to_real(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(Clock::scaled(-3.0).speed(), 1.0);
    }
}
