//! Backoff schedules: exponential growth with a cap, and jitter drawn from an injected random
//! source so that a schedule is reproducible from its seed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of random numbers. Injected so schedules are reproducible; adapters seed it.
pub trait Random: Send {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: small, fast, and good enough to spread retries apart. Not for secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed; the same seed gives the same numbers.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
}

impl Random for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Seeds for a client's machines, one per call, so that no two of them (and no two clients)
/// retry in lockstep: entropy once, from the adapter, then a cheap, thread-safe sequence.
#[derive(Debug)]
pub struct SeedSequence {
    entropy: u64,
    next: AtomicU64,
}

impl SeedSequence {
    /// A sequence from `entropy` (adapters pass OS-seeded bits).
    pub const fn new(entropy: u64) -> Self {
        SeedSequence { entropy, next: AtomicU64::new(0) }
    }

    /// The next machine's seed.
    pub fn next_seed(&self) -> u64 {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        SplitMix64::new(self.entropy ^ n).next_u64()
    }
}

/// How a delay is randomised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// The exponential delay itself.
    None,
    /// Uniform in `[0, delay]`: spreads clients the most.
    Full,
    /// `delay / 2` plus uniform in `[0, delay / 2]`.
    Equal,
    /// Uniform in `[base, 3 × previous delay]`, capped: grows like exponential without lockstep.
    Decorrelated,
}

/// An exponential backoff schedule: `base × factor^retry`, capped, then jittered.
#[derive(Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The growth factor (at least 1).
    pub factor: f64,
    /// No delay exceeds this.
    pub cap: Duration,
    /// How delays are randomised.
    pub jitter: Jitter,
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Backoff({:?} × {}^n, cap {:?}, jitter {:?})",
            self.base, self.factor, self.cap, self.jitter
        )
    }
}

impl Default for Backoff {
    /// Base 1 s, factor 2, cap 30 s, full jitter.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(30),
            jitter: Jitter::Full,
        }
    }
}

impl Backoff {
    /// An exponential schedule without jitter.
    pub fn exponential(base: Duration, factor: f64, cap: Duration) -> Self {
        Backoff { base, factor, cap, jitter: Jitter::None }
    }

    /// The references' literal schedule: 1 s, 2 s, 4 s, no jitter (pair it with 3 attempts, as
    /// [`crate::retry::RetryPolicy::reference`] does).
    pub fn reference() -> Self {
        Backoff::exponential(Duration::from_secs(1), 2.0, Duration::from_secs(4))
    }

    /// The same schedule with another jitter.
    pub fn with_jitter(self, jitter: Jitter) -> Self {
        Backoff { jitter, ..self }
    }

    /// The un-jittered delay before retry number `retry` (0 for the first retry), capped.
    pub fn raw_delay(&self, retry: u32) -> Duration {
        let factor = if self.factor.is_finite() { self.factor.max(1.0) } else { 1.0 };
        let exp = factor.powi(retry.min(i32::MAX as u32) as i32);
        let secs = self.base.as_secs_f64() * exp;
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX).min(self.cap)
    }

    /// The delay before retry number `retry`, given the previous delay (for decorrelated jitter).
    /// Always within `[0, cap]`.
    pub fn delay(&self, retry: u32, previous: Option<Duration>, rng: &mut dyn Random) -> Duration {
        let raw = self.raw_delay(retry);
        let d = match self.jitter {
            Jitter::None => raw,
            Jitter::Full => uniform(Duration::ZERO, raw, rng),
            Jitter::Equal => raw / 2 + uniform(Duration::ZERO, raw - raw / 2, rng),
            Jitter::Decorrelated => {
                let low = self.base.min(self.cap);
                let high = previous.unwrap_or(low).saturating_mul(3).max(low);
                uniform(low, high, rng)
            }
        };
        d.min(self.cap)
    }

    /// The first `n` delays of the schedule.
    pub fn schedule(&self, n: u32, rng: &mut dyn Random) -> Vec<Duration> {
        let mut out = Vec::with_capacity(n as usize);
        let mut previous = None;
        for retry in 0..n {
            let d = self.delay(retry, previous, rng);
            previous = Some(d);
            out.push(d);
        }
        out
    }
}

/// Uniform in `[low, high]` at nanosecond resolution, without modulo bias.
fn uniform(low: Duration, high: Duration, rng: &mut dyn Random) -> Duration {
    if high <= low {
        return low;
    }
    let span = (high - low).as_nanos().min(u64::MAX as u128 - 1) as u64 + 1;
    let offset = ((rng.next_u64() as u128 * span as u128) >> 64) as u64;
    low + Duration::from_nanos(offset)
}

#[cfg(test)]
mod seed_tests {
    use super::*;

    #[test]
    fn a_seed_sequence_gives_distinct_seeds_and_repeats_from_the_same_entropy() {
        let (a, b) = (SeedSequence::new(7), SeedSequence::new(7));
        let seeds: Vec<u64> = (0..100).map(|_| a.next_seed()).collect();
        let mut unique = seeds.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), seeds.len(), "no seed twice");
        assert_eq!(seeds, (0..100).map(|_| b.next_seed()).collect::<Vec<_>>());
        assert_ne!(SeedSequence::new(8).next_seed(), seeds[0]);
    }
}
