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

/// A duration as people read it: `250 ms`, `3 s`, `2.5 s`, `1 min 30 s`, `2 h 5 min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let secs = d.as_secs();
        if d < Duration::from_millis(1) && !d.is_zero() {
            f.write_str("under 1 ms")
        } else if d < Duration::from_secs(1) {
            write!(f, "{} ms", d.as_millis())
        } else if secs < 60 {
            let tenths = (d.as_millis() % 1000) / 100;
            if tenths == 0 {
                write!(f, "{secs} s")
            } else {
                write!(f, "{secs}.{tenths} s")
            }
        } else if secs < 3600 {
            match secs % 60 {
                0 => write!(f, "{} min", secs / 60),
                s => write!(f, "{} min {s} s", secs / 60),
            }
        } else {
            match (secs % 3600) / 60 {
                0 => write!(f, "{} h", secs / 3600),
                m => write!(f, "{} h {m} min", secs / 3600),
            }
        }
    }
}

/// The current time, as handed to a machine by its driver, and how fast that time runs: a
/// client pointed at an emulator run faster than real time keeps its whole policy on a clock
/// as fast ([`ScaledClock`]).
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Monotonic time: deadlines and waits are measured on it.
    pub moment: Moment,
    /// Wall-clock time: used only to measure an HTTP-date when the response has no `Date`.
    pub wall: SystemTime,
    /// Seconds of this time per real second.
    rate: f64,
}

impl PartialEq for Now {
    fn eq(&self, other: &Now) -> bool {
        (self.moment, self.wall, self.rate.to_bits())
            == (other.moment, other.wall, other.rate.to_bits())
    }
}

impl Eq for Now {}

impl Now {
    /// A `Now` from both clocks, running at real speed.
    pub const fn new(moment: Moment, wall: SystemTime) -> Self {
        Now { moment, wall, rate: 1.0 }
    }

    /// A fake clock reading for tests: `secs` after the origin, with the wall clock at
    /// 2026-01-01T00:00:00Z plus the same offset.
    pub fn fake(secs_since_origin: f64) -> Self {
        let d = Duration::from_secs_f64(secs_since_origin.max(0.0));
        Now::new(Moment(d), fake_wall_origin() + d)
    }

    /// The same reading moved forward to `moment` (the wall clock moves by the same amount).
    pub fn advanced_to(self, moment: Moment) -> Self {
        let d = moment.saturating_since(self.moment);
        Now { moment: self.moment.max(moment), wall: self.wall + d, rate: self.rate }
    }

    /// The same reading, on a clock that runs `rate` times as fast as real time.
    pub fn with_rate(self, rate: f64) -> Self {
        Now { rate: if rate.is_finite() && rate > 0.0 { rate } else { 1.0 }, ..self }
    }

    /// Seconds of this time per real second (1 unless the clock is scaled).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// How long `d` of this time lasts in real time: what a driver sleeps, or gives a socket.
    /// Rounded up, and never zero for a `d` that is not: a sleep that ends a nanosecond short
    /// would be asked for again, and one of no time at all would never move the clock.
    pub fn to_real(&self, d: Duration) -> Duration {
        if self.rate == 1.0 || d.is_zero() {
            return d;
        }
        let nanos = (d.as_nanos() as f64 / self.rate).ceil().max(1.0);
        if nanos >= u64::MAX as f64 {
            Duration::MAX
        } else {
            Duration::from_nanos(nanos as u64)
        }
    }

    /// How much of this time a real duration is: a server's `Retry-After`, say.
    pub fn from_real(&self, d: Duration) -> Duration {
        if self.rate == 1.0 {
            d
        } else {
            d.mul_f64(self.rate)
        }
    }
}

/// A frozen clock: always this reading (for tests and hand-driven machines).
impl Clock for Now {
    fn now(&self) -> Now {
        *self
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
/// use rein::core::{Clock, Moment};
/// use rein::ManualClock;
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

/// A clock `rate` times as fast as another: an emulator's time at `--speed rate`. Its moments
/// are the other clock's, scaled; its wall time stays the other's (HTTP dates are real).
#[derive(Clone, Debug)]
pub struct ScaledClock<C> {
    inner: C,
    rate: f64,
}

impl<C: Clock> ScaledClock<C> {
    /// `inner`, `rate` times as fast (a rate that is not a positive number counts as 1).
    pub fn new(inner: C, rate: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
        ScaledClock { inner, rate }
    }
}

impl<C: Clock> Clock for ScaledClock<C> {
    fn now(&self) -> Now {
        let now = self.inner.now();
        let moment = Moment::from_origin(now.moment.since_origin().mul_f64(self.rate));
        Now::new(moment, now.wall).with_rate(now.rate() * self.rate)
    }
}

impl Clock for std::sync::Arc<dyn Clock> {
    fn now(&self) -> Now {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        let human = |ms: u64| Human(Duration::from_millis(ms)).to_string();
        assert_eq!(human(0), "0 ms");
        assert_eq!(human(250), "250 ms");
        assert_eq!(human(3_000), "3 s");
        assert_eq!(human(2_560), "2.5 s");
        assert_eq!(human(90_000), "1 min 30 s");
        assert_eq!(human(120_000), "2 min");
        assert_eq!(human(3_656_066), "1 h");
        assert_eq!(human(7_500_000), "2 h 5 min");
        assert_eq!(Human(Duration::from_micros(5)).to_string(), "under 1 ms");
    }

    #[test]
    fn a_scaled_clock_runs_faster_and_converts_back_to_real_time() {
        let manual = ManualClock::new();
        let scaled = ScaledClock::new(manual.clone(), 60.0);
        manual.advance(Duration::from_secs(2));
        let now = scaled.now();
        assert_eq!(now.moment, Moment::from_secs(120), "two real seconds, two emulated minutes");
        assert_eq!(now.wall, manual.now().wall, "wall time stays real");
        assert_eq!(now.to_real(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(now.from_real(Duration::from_secs(1)), Duration::from_secs(60));
        assert_eq!(Now::fake(0.0).to_real(Duration::from_secs(5)), Duration::from_secs(5));
        // A remainder too short to last a real nanosecond still lasts one: the clock moves.
        assert_eq!(now.to_real(Duration::from_nanos(7)), Duration::from_nanos(1));
        assert!(now.to_real(Duration::from_millis(1)) * 60 >= Duration::from_millis(1));
        assert_eq!(ScaledClock::new(manual, f64::NAN).now().rate(), 1.0);
    }
}
