//! Background processing without threads: a resource's statuses are fixed, with their times,
//! when it is created, and read off lazily at whatever `now` a request arrives.

use std::time::{Duration, SystemTime};

use rein_core::{Moment, Now, SplitMix64};

use crate::config::Span;
use crate::wire::{between, unit};

/// The statuses a resource goes through and when each begins, relative to its creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Timeline {
    created: Now,
    steps: Vec<(Duration, &'static str)>,
}

/// How processing ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ready,
    Failed,
}

impl Outcome {
    pub(crate) fn draw(rng: &mut SplitMix64, failure_rate: f64) -> Self {
        if unit(rng) < failure_rate {
            Outcome::Failed
        } else {
            Outcome::Ready
        }
    }

    pub(crate) fn status(self) -> &'static str {
        match self {
            Outcome::Ready => "ready",
            Outcome::Failed => "failed",
        }
    }
}

impl Timeline {
    /// `processing` from `created` for a drawn duration, then `outcome` (assets, documents).
    pub(crate) fn processing(
        created: Now,
        span: Span,
        outcome: Outcome,
        rng: &mut SplitMix64,
    ) -> Self {
        let total = between(rng, span.min, span.max);
        Timeline { created, steps: vec![(Duration::ZERO, "processing"), (total, outcome.status())] }
    }

    /// `queued`, `pending`, `processing` (10%, 10%, 80% of a drawn duration), then `outcome`
    /// (knowledge store items).
    pub(crate) fn indexing(
        created: Now,
        span: Span,
        outcome: Outcome,
        rng: &mut SplitMix64,
    ) -> Self {
        let total = between(rng, span.min, span.max);
        Timeline {
            created,
            steps: vec![
                (Duration::ZERO, "queued"),
                (total.mul_f64(0.1), "pending"),
                (total.mul_f64(0.2), "processing"),
                (total, outcome.status()),
            ],
        }
    }

    fn current(&self, now: Moment) -> (Duration, &'static str) {
        let elapsed = now.saturating_since(self.created.moment);
        self.steps
            .iter()
            .rev()
            .find(|(at, _)| *at <= elapsed)
            .copied()
            .unwrap_or((Duration::ZERO, self.steps[0].1))
    }

    /// The status at `now`.
    pub(crate) fn status(&self, now: Moment) -> &'static str {
        self.current(now).1
    }

    /// Wall-clock time of the last change of status at `now` (the creation, at first).
    pub(crate) fn changed_at(&self, now: Moment) -> SystemTime {
        self.created.wall + self.current(now).0
    }

    /// The next moment after `now` when the status changes, if any.
    pub(crate) fn next_change(&self, now: Moment) -> Option<Moment> {
        self.steps.iter().map(|(at, _)| self.created.moment + *at).find(|&m| m > now)
    }

    /// When processing ends, and how (`ready` or `failed`).
    pub(crate) fn settles(&self) -> (Moment, &'static str) {
        let (at, status) = self.steps[self.steps.len() - 1];
        (self.created.moment + at, status)
    }

    /// When the resource was created.
    pub(crate) fn created(&self) -> Now {
        self.created
    }
}
