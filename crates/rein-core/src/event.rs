//! What happens inside machines, for narration and metrics: [`Event`]s, and the [`Events`] sink
//! that hands each one to the client's hook and to `tracing` (feature `tracing`) as it happens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{Api, Operation};
use crate::retry::RetryReason;
use crate::time::{Human, Moment};

/// Something that happened inside a machine.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Attempt number `attempt` is being sent.
    Sending {
        /// The operation.
        operation: Operation,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A retry was scheduled.
    RetryScheduled {
        /// The operation.
        operation: Operation,
        /// The attempt that failed.
        attempt: u32,
        /// Why it is retried.
        reason: RetryReason,
        /// How long the call waits.
        wait: Duration,
        /// Whether the wait came from the server (`Retry-After`) rather than the backoff.
        server_asked: bool,
    },
    /// The client's shared limiter holds this call until `until` (a window is full, or a 429
    /// paused the whole client).
    Throttled {
        /// The operation.
        operation: Operation,
        /// When the limiter lets it go.
        until: Moment,
        /// How long that is from now.
        wait: Duration,
    },
    /// A poll of a wait answered with the resource's status.
    Progress {
        /// The operation polled.
        operation: Operation,
        /// The status as the server spelled it.
        status: String,
        /// Polls answered so far.
        polls: u32,
        /// Time since the wait started.
        elapsed: Duration,
    },
    /// A create may have happened although its answer was lost: a lookup will tell.
    Reconciling {
        /// The create.
        operation: Operation,
    },
    /// The lookup after a lost answer settled it: `found` the created resource, or found
    /// nothing (and the create is sent again).
    Reconciled {
        /// The create.
        operation: Operation,
        /// Whether the resource was there.
        found: bool,
    },
    /// A create happened more than once (a request whose answer was lost landed after all,
    /// next to its repeat): `count` resources carry `token` in their metadata. Delete the
    /// extra ones, or keep them; rein never does either silently.
    DuplicateCreated {
        /// The create.
        operation: Operation,
        /// The token the resources carry (`rein_token` in their metadata).
        token: String,
        /// How many carry it.
        count: usize,
    },
    /// A 429 paused every request of the client to this API.
    Paused {
        /// The API paused.
        api: Api,
        /// Until when.
        until: Moment,
        /// How long that is from now.
        wait: Duration,
    },
    /// A connection could not be made (refused, a host name that did not resolve, a TLS
    /// handshake that failed, no connection in time): the call retries, or gives up after a few
    /// in a row ([`RetryPolicy::max_connect_failures`](crate::RetryPolicy::max_connect_failures)).
    ConnectFailed {
        /// The operation.
        operation: Operation,
        /// The attempt that could not connect.
        attempt: u32,
        /// Failed connections in a row, this one included.
        in_a_row: u32,
    },
    /// A sweep of a fleet is over: where the fleet stands.
    Fleet(Box<FleetProgress>),
    /// A batch of a split ingest was answered.
    Batch {
        /// The create each batch is.
        operation: Operation,
        /// 1 for the first batch.
        batch: u32,
        /// How many batches there are.
        batches: u32,
        /// Whether it was accepted (its error is in the report).
        accepted: bool,
        /// Documents accepted so far, this batch's included.
        documents: u64,
    },
    /// The rate budget shared with other processes (kept in Redis, say) could not be reached
    /// or answered too slowly: the client goes on with a local share of the limit until it
    /// answers again. Said once per outage.
    SharedBudgetUnavailable {
        /// What went wrong.
        reason: String,
        /// The share of each limit the client keeps to meanwhile (0 to 1).
        local_share: f64,
    },
    /// The shared rate budget answers again: the client draws from it again.
    SharedBudgetRejoined,
    /// A multipart upload's session, and how far it is: said when the session is opened (or
    /// found again to resume) and after each report of chunks. Keep `upload_id` to resume an
    /// interrupted upload.
    Uploading {
        /// The session.
        upload_id: String,
        /// Chunks uploaded and reported.
        chunks_done: u32,
        /// Chunks in all.
        chunks: u32,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Sending { operation, attempt } => {
                write!(f, "{}: sending, attempt {attempt}", operation.endpoint())
            }
            Event::RetryScheduled { operation, attempt, reason, wait, server_asked } => {
                write!(f, "{}: attempt {attempt} failed ({reason}); ", operation.endpoint())?;
                write!(f, "retrying in {}", Human(*wait))?;
                if *server_asked {
                    f.write_str(", as the server asked")?;
                }
                Ok(())
            }
            Event::Throttled { operation, wait, .. } => {
                write!(
                    f,
                    "{}: held {} by the client's rate limit",
                    operation.endpoint(),
                    Human(*wait)
                )
            }
            Event::Progress { operation, status, polls, elapsed } => write!(
                f,
                "{}: {status} after {} ({polls} poll{})",
                operation.endpoint(),
                Human(*elapsed),
                if *polls == 1 { "" } else { "s" }
            ),
            Event::Reconciling { operation } => write!(
                f,
                "{}: the answer was lost; looking for what the create made",
                operation.endpoint()
            ),
            Event::Reconciled { operation, found: true } => {
                write!(f, "{}: the lookup found what the create made", operation.endpoint())
            }
            Event::Reconciled { operation, found: false } => {
                write!(f, "{}: the lookup found nothing; creating again", operation.endpoint())
            }
            Event::DuplicateCreated { operation, token, count } => write!(
                f,
                "{}: created {count} times (each with rein_token {token}); remove the extras",
                operation.endpoint()
            ),
            Event::Paused { api, wait, .. } => {
                write!(f, "{api}: every request paused {} by a 429", Human(*wait))
            }
            Event::ConnectFailed { operation, attempt, in_a_row } => write!(
                f,
                "{}: attempt {attempt} could not connect ({in_a_row} in a row)",
                operation.endpoint()
            ),
            Event::Fleet(progress) => write!(f, "{progress}"),
            Event::SharedBudgetUnavailable { reason, local_share } => write!(
                f,
                "the shared rate budget cannot be used ({reason}); going on with {:.0}% of \
                 each limit in this process until it answers",
                local_share * 100.0
            ),
            Event::SharedBudgetRejoined => {
                f.write_str("the shared rate budget answers again; drawing from it")
            }
            Event::Uploading { upload_id, chunks_done, chunks } => {
                write!(f, "upload {upload_id}: {chunks_done} of {chunks} chunks in")
            }
            Event::Batch { operation, batch, batches, accepted, documents } => write!(
                f,
                "{}: batch {batch} of {batches} {}; {documents} documents accepted so far",
                operation.endpoint(),
                if *accepted { "accepted" } else { "failed" }
            ),
        }
    }
}

/// Where a fleet stands after a sweep: counts by outcome, and the ids the sweep saw end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetProgress {
    /// The API.
    pub api: Api,
    /// What the fleet waits on (`"items"`, `"documents"`, `"assets"`).
    pub kind: &'static str,
    /// The sweep's number, from 1.
    pub sweep: u32,
    /// Requests the sweep sent.
    pub requests: u32,
    /// Ids still waited on.
    pub pending: usize,
    /// Ids ready so far.
    pub ready: u32,
    /// Ids failed so far.
    pub failed: u32,
    /// Ids timed out so far.
    pub timed_out: u32,
    /// Ids ended with another error so far.
    pub errors: u32,
    /// The ids that ended in this sweep.
    pub finished: Vec<String>,
}

impl FleetProgress {
    /// Ids ended so far, however they ended.
    pub fn done(&self) -> u64 {
        u64::from(self.ready)
            + u64::from(self.failed)
            + u64::from(self.timed_out)
            + u64::from(self.errors)
    }
}

impl fmt::Display for FleetProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: sweep {} ({} request{}): {} ready, {} failed",
            self.api,
            self.kind,
            self.sweep,
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            self.ready,
            self.failed
        )?;
        if self.timed_out > 0 {
            write!(f, ", {} timed out", self.timed_out)?;
        }
        if self.errors > 0 {
            write!(f, ", {} errors", self.errors)?;
        }
        write!(f, ", {} pending", self.pending)
    }
}

impl Event {
    /// Whether the event changes what the caller sees (a retry, a pause, a throttled send), as
    /// against routine progress: logs show the first kind at a higher level.
    pub fn is_notable(&self) -> bool {
        matches!(
            self,
            Event::RetryScheduled { .. }
                | Event::Paused { .. }
                | Event::Throttled { .. }
                | Event::ConnectFailed { .. }
                | Event::DuplicateCreated { .. }
                | Event::SharedBudgetUnavailable { .. }
                | Event::SharedBudgetRejoined
        )
    }
}

/// A callback for everything that happens inside calls (requests sent, retries and their
/// reasons, rate-limit pauses, poll progress). It runs inside the call: keep it quick.
pub type EventHook = Arc<dyn Fn(&Event) + Send + Sync>;

/// Where a machine's events go: the client's hook, if it has one, and `tracing`, if the feature
/// is on. An event nobody takes is never built.
#[derive(Clone, Default)]
pub struct Events(Option<EventHook>);

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Events").field(&self.0.is_some()).finish()
    }
}

impl Events {
    /// Events handed to `hook` (and to `tracing`).
    pub fn to(hook: EventHook) -> Self {
        Events(Some(hook))
    }

    /// Events for `hook`, if there is one.
    pub fn from_hook(hook: Option<EventHook>) -> Self {
        Events(hook)
    }

    /// Builds the event and hands it on, if anyone takes it.
    pub fn emit(&self, event: impl FnOnce() -> Event) {
        if self.0.is_none() && !cfg!(feature = "tracing") {
            return;
        }
        let event = event();
        #[cfg(feature = "tracing")]
        if event.is_notable() {
            tracing::info!(?event, "rein");
        } else {
            tracing::debug!(?event, "rein");
        }
        if let Some(hook) = &self.0 {
            hook(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn retries_pauses_and_throttling_are_notable_progress_is_not() {
        let op = Operation::Usage;
        assert!(!Event::Sending { operation: op, attempt: 1 }.is_notable());
        let wait = Duration::from_secs(3);
        assert!(Event::Paused { api: op.api(), until: Moment::ZERO, wait }.is_notable());
        assert!(Event::Throttled { operation: op, until: Moment::ZERO, wait }.is_notable());
    }

    #[test]
    fn events_read_as_sentences_with_human_durations() {
        let retry = Event::RetryScheduled {
            operation: Operation::Usage,
            attempt: 1,
            reason: RetryReason::Status(429),
            wait: Duration::from_millis(60_000),
            server_asked: true,
        };
        assert_eq!(
            retry.to_string(),
            "GET /v1/usage: attempt 1 failed (429); retrying in 1 min, as the server asked"
        );
        let paused = Event::Paused {
            api: Api::Jack,
            until: Moment::from_secs(3656),
            wait: Duration::from_secs(3),
        };
        assert_eq!(paused.to_string(), "jack: every request paused 3 s by a 429");
    }

    #[test]
    fn events_reach_the_hook_in_order_and_are_not_built_for_no_one() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let events = Events::to(Arc::new(move |e: &Event| record.lock().unwrap().push(e.clone())));
        for attempt in 1..=3 {
            events.emit(|| Event::Sending { operation: Operation::Usage, attempt });
        }
        let attempts: Vec<u32> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|e| match e {
                Event::Sending { attempt, .. } => *attempt,
                _ => 0,
            })
            .collect();
        assert_eq!(attempts, [1, 2, 3]);
        if !cfg!(feature = "tracing") {
            Events::default().emit(|| unreachable!("no one listens"));
        }
    }
}
