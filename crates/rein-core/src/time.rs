//! Time as the core sees it: always passed in, never read.
//!
//! [`Moment`] is monotonic time measured from an origin the driver picks (an adapter reads its
//! monotonic clock once and reports the time elapsed since; a test starts at [`Moment::ZERO`]). Being a plain number, it prints and compares deterministically, so traces
//! of a machine can be snapshot-tested. [`Now`] pairs it with wall-clock time, which only
//! HTTP-date `Retry-After` values need.

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// A point in monotonic time: the duration since the driver's origin.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Moment(Duration);

impl Moment {
    /// The driver's origin.
    pub const ZERO: Moment = Moment(Duration::ZERO);

    /// The moment `since_origin` after the origin.
    pub const fn from_origin(since_origin: Duration) -> Self {
        Moment(since_origin)
    }

    /// The moment `secs` seconds after the origin (handy in tests).
    pub const fn from_secs(secs: u64) -> Self {
        Moment(Duration::from_secs(secs))
    }

    /// The moment `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Moment(Duration::from_millis(millis))
    }

    /// Time elapsed since the origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Moment) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, saturating at the far future instead of overflowing.
    pub fn saturating_add(self, d: Duration) -> Moment {
        Moment(self.0.saturating_add(d))
    }
}

impl Add<Duration> for Moment {
    type Output = Moment;
    fn add(self, d: Duration) -> Moment {
        self.saturating_add(d)
    }
}

impl Sub<Moment> for Moment {
    type Output = Duration;
    fn sub(self, earlier: Moment) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Debug for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{:.3}s", self.0.as_secs_f64())
    }
}

/// The current time, as handed to a machine by its driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time: deadlines and waits are measured on it.
    pub moment: Moment,
    /// Wall-clock time: used only to measure an HTTP-date when the response has no `Date`.
    pub wall: SystemTime,
}

impl Now {
    /// A `Now` from both clocks.
    pub const fn new(moment: Moment, wall: SystemTime) -> Self {
        Now { moment, wall }
    }

    /// A fake clock reading for tests: `secs` after the origin, with the wall clock at
    /// 2026-01-01T00:00:00Z plus the same offset.
    pub fn fake(secs_since_origin: f64) -> Self {
        let d = Duration::from_secs_f64(secs_since_origin.max(0.0));
        Now { moment: Moment(d), wall: fake_wall_origin() + d }
    }

    /// The same reading moved forward to `moment` (the wall clock moves by the same amount).
    pub fn advanced_to(self, moment: Moment) -> Self {
        let d = moment.saturating_since(self.moment);
        Now { moment: self.moment.max(moment), wall: self.wall + d }
    }
}

/// 2026-01-01T00:00:00Z: the wall-clock origin of [`Now::fake`].
pub fn fake_wall_origin() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// The origin the adapters' default clocks measure [`Moment`]s from: one for the whole process,
/// so clients (blocking or async) can share a limiter. The first clock reading of the process
/// sets it, an hour back, so that no later reading (a test's paused clock included) falls before
/// it; `read` is that reading, taken by the adapter (the core reads no clock).
pub fn process_origin(read: impl FnOnce() -> std::time::Instant) -> std::time::Instant {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let now = read();
        now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
    })
}

/// Where a driver reads the time: the adapters' real clocks by default, a [`ManualClock`] in
/// tests and the simulator.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Now;
}

/// A clock that stands still until advanced. Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use rein_core::{Clock, ManualClock, Moment};
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().moment, Moment::from_secs(90));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<Now>>);

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock at [`Now::fake(0.0)`](Now::fake).
    pub fn new() -> Self {
        ManualClock(Arc::new(Mutex::new(Now::fake(0.0))))
    }

    /// The current time.
    pub fn now(&self) -> Now {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.advanced_to(now.moment + d);
    }

    /// Moves time forward to `moment` (a moment already past changes nothing).
    pub fn advance_to(&self, moment: Moment) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.advanced_to(moment);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Now {
        ManualClock::now(self)
    }
}
