//! What rein handled, told as it happens: one line per event a user would care about, in
//! words, and the counts the demo's summary shows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rein_core::{Event, RetryReason, TransportErrorKind};

/// Counts of what rein handled, by kind.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counts {
    /// Retries, by reason ("502", "connection reset", ...).
    pub(crate) retries: BTreeMap<String, u64>,
    /// Rate-limit pauses of a whole client.
    pub(crate) pauses: u64,
    /// Creates whose answer was lost and that a lookup settled.
    pub(crate) reconciled: u64,
    /// Creates found made twice.
    pub(crate) duplicates: u64,
    /// Each fleet's last told standing (ready, failed), by API and kind: a sweep that changes
    /// nothing is not told again.
    fleets: BTreeMap<String, (u32, u32)>,
}

/// The narrator: an event hook that prints a line per notable event and counts them; on a
/// terminal, a fleet's progress is a bar instead of lines.
#[derive(Clone, Debug, Default)]
pub(crate) struct Narrator {
    counts: Arc<Mutex<Counts>>,
    quiet: bool,
    bars: Option<Arc<Mutex<Bars>>>,
}

/// One progress bar per fleet, on stderr.
#[derive(Debug, Default)]
struct Bars {
    multi: indicatif::MultiProgress,
    by_fleet: BTreeMap<String, indicatif::ProgressBar>,
}

impl Bars {
    fn show(&mut self, progress: &rein_core::FleetProgress) {
        let key = format!("{} {}", progress.api, progress.kind);
        let done =
            u64::from(progress.ready + progress.failed + progress.timed_out + progress.errors);
        let total = done + progress.pending as u64;
        let multi = &self.multi;
        let bar = self.by_fleet.entry(key.clone()).or_insert_with(|| {
            let style =
                indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> ");
            multi.add(indicatif::ProgressBar::new(total).with_style(style).with_prefix(key))
        });
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(format!("{} failed, sweep {}", progress.failed, progress.sweep));
        if progress.pending == 0 {
            bar.finish();
        }
    }
}

impl Narrator {
    /// A narrator; `quiet` tells nothing. Progress bars are drawn when stderr is a terminal.
    pub(crate) fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        let bars = (!quiet && std::io::stderr().is_terminal()).then(Arc::default);
        Narrator { counts: Arc::default(), quiet, bars }
    }

    /// What has been counted so far.
    pub(crate) fn counts(&self) -> Counts {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The hook to give a client.
    pub(crate) fn hook(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let narrator = self.clone();
        move |event| narrator.hear(event)
    }

    fn hear(&self, event: &Event) {
        if let (Some(bars), Event::Fleet(progress)) = (&self.bars, event) {
            bars.lock().unwrap_or_else(PoisonError::into_inner).show(progress);
            return;
        }
        let line = {
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            tell(event, &mut counts)
        };
        if let (Some(line), false) = (line, self.quiet) {
            println!("  rein: {line}");
        }
    }
}

/// A line for `event` (counted in `counts`), or `None` for an event not worth a line.
pub(crate) fn tell(event: &Event, counts: &mut Counts) -> Option<String> {
    match event {
        Event::RetryScheduled { operation, reason, wait, server_asked, .. } => {
            let what = reason_words(*reason);
            *counts.retries.entry(what.clone()).or_default() += 1;
            let api = operation.api();
            let waited = if *server_asked {
                format!("waited {} as the server asked", secs(*wait))
            } else {
                format!("retried after {}", secs(*wait))
            };
            Some(format!("{what} from {api} ({}): {waited}", operation.endpoint()))
        }
        Event::Paused { api, wait, .. } => {
            counts.pauses += 1;
            Some(format!(
                "429 from {api}: every {api} request paused {} as the server asked",
                secs(*wait)
            ))
        }
        Event::Reconciling { operation } => Some(format!(
            "the answer to {} was lost: looking for what it made before sending it again",
            operation.endpoint()
        )),
        Event::Reconciled { operation, found: true } => {
            counts.reconciled += 1;
            Some(format!(
                "create answer lost ({}): found what it made, not created twice",
                operation.endpoint()
            ))
        }
        Event::Reconciled { operation, found: false } => {
            counts.reconciled += 1;
            Some(format!(
                "{}: the lost create never happened; sending it again",
                operation.endpoint()
            ))
        }
        Event::DuplicateCreated { operation, count, .. } => {
            counts.duplicates += 1;
            Some(format!(
                "{}: made {count} times; the extras are reported, not hidden",
                operation.endpoint()
            ))
        }
        Event::ConnectFailed { operation, in_a_row, .. } => {
            Some(format!("{}: could not connect ({in_a_row} in a row)", operation.endpoint()))
        }
        Event::Fleet(progress) => {
            let standing = (progress.ready, progress.failed);
            let key = format!("{} {}", progress.api, progress.kind);
            let told = counts.fleets.insert(key.clone(), standing);
            (told != Some(standing)).then(|| {
                format!(
                    "{key}: {} ready, {} failed, {} pending after sweep {} ({} requests)",
                    progress.ready,
                    progress.failed,
                    progress.pending,
                    progress.sweep,
                    progress.requests
                )
            })
        }
        _ => None,
    }
}

fn reason_words(reason: RetryReason) -> String {
    match reason {
        RetryReason::Status(status) => status.to_string(),
        RetryReason::Transport(TransportErrorKind::Reset) => "a connection reset".to_owned(),
        RetryReason::Transport(TransportErrorKind::Timeout) => "a timeout".to_owned(),
        RetryReason::Transport(TransportErrorKind::Connect) => "a refused connection".to_owned(),
        RetryReason::Transport(other) => format!("a transport failure ({other:?})"),
        RetryReason::UndecodableBody => "an unreadable answer".to_owned(),
        _ => "a failure".to_owned(),
    }
}

/// A duration as people say it: "1.3 s", "60 s", "2 min 5 s".
pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{} min {} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rein_core::{Api, Operation};

    #[test]
    fn events_read_as_sentences() {
        let mut counts = Counts::default();
        let retry = Event::RetryScheduled {
            operation: Operation::Query,
            attempt: 1,
            reason: RetryReason::Status(429),
            wait: Duration::from_secs(60),
            server_asked: true,
        };
        let line = tell(&retry, &mut counts).expect("a line");
        assert_eq!(line, "429 from jack (POST /v1/query): waited 60 s as the server asked");
        let paused = Event::Paused {
            api: Api::Jack,
            until: rein_core::Moment::ZERO,
            wait: Duration::from_secs(60),
        };
        assert!(tell(&paused, &mut counts).expect("a line").starts_with("429 from jack"));
        let found = Event::Reconciled { operation: Operation::CreateKnowledgeStore, found: true };
        assert!(tell(&found, &mut counts).expect("a line").contains("not created twice"));
        assert_eq!((counts.retries["429"], counts.pauses, counts.reconciled), (1, 1, 1));
        assert_eq!(secs(Duration::from_millis(1300)), "1.3 s");
    }
}
