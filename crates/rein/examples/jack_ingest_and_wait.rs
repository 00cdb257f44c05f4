//! Ingest 300 documents into jack and wait until every one is ready, then ask.
//!
//! ```sh
//! cargo run -p rein --example jack_ingest_and_wait                 # against a local emulator
//! JACK_API_KEY=jack_... cargo run -p rein --example jack_ingest_and_wait
//! ```
//!
//! Without `JACK_API_KEY` (and with `REIN_EXAMPLE_FAULTS=0.2` to add faults) it starts
//! rein-emulator in-process, with emulated time running 60 times
//! faster, and gives the client the emulator's speed. The documents go in batches of 50 (one
//! request each against jack's 60 per minute), and one fleet waits on all of them: a sweep of
//! the documents list every 5 s, not a GET per document, through the same window.

use rein::blocking::Jack;
use rein::jack::{DocumentId, IngestReport, NewDocument};
use rein::{Error, Event, Fleet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (jack, _emulator) = client()?;
    let outcome = ingest_and_wait(&jack, 300)?;
    let accepted = outcome.report.document_ids().iter().filter(|id| id.is_some()).count();
    println!(
        "{accepted} documents accepted in {} requests, {} ready",
        outcome.report.batches.len(),
        outcome.ready.len()
    );
    println!("answer: {}", jack.query("How long do refunds take?")?.answer);
    Ok(())
}

/// What the program did: every batch with its outcome, and the documents that became ready.
#[derive(Debug)]
pub struct Outcome {
    /// Each batch and its outcome.
    pub report: IngestReport,
    /// The documents that became ready, in input order.
    pub ready: Vec<DocumentId>,
}

/// The program: ingest `count` documents, then wait for each.
pub fn ingest_and_wait(jack: &Jack, count: usize) -> Result<Outcome, Error> {
    let documents = (0..count).map(|i| {
        let days = 3 + i % 5;
        NewDocument::new(format!("Policy note {i}: refunds are processed within {days} days."))
            .metadata("source", "example")
    });
    let report = jack.ingest_many(documents)?;
    for (indexes, error) in report.failures() {
        println!("documents {indexes:?} were not accepted: {error}");
    }
    // Every 5 s, each document up to 120 s (of the server's time); one end per document.
    let ends = jack.wait_all(Fleet::documents(report.document_ids().into_iter().flatten()))?;
    for (id, error) in ends.not_ready() {
        println!("document {id} is not ready: {error}");
    }
    let ready = ends.ready().map(|(id, _)| id.clone()).collect();
    Ok(Outcome { report, ready })
}

/// A client from the environment, or one pointed at an in-process emulator.
fn client() -> Result<(Jack, Option<rein_emulator::RunningServer>), Box<dyn std::error::Error>> {
    let narrate = |event: &Event| {
        if event.is_notable() || matches!(event, Event::Batch { .. } | Event::Fleet(_)) {
            println!("  {event}");
        }
    };
    if std::env::var("JACK_API_KEY").is_ok() {
        return Ok((Jack::builder_from_env()?.on_event(narrate).build()?, None));
    }
    let server = rein_emulator::spawn(rein_emulator::ServerConfig {
        clock: rein_emulator::Clock::scaled(60.0),
        emulator: rein_emulator::Config { faults: faults(), ..rein_emulator::Config::default() },
        ..rein_emulator::ServerConfig::default()
    })?;
    println!("no JACK_API_KEY: using rein-emulator at {}", server.url());
    let jack = Jack::builder(rein_emulator::DEMO_JACK_KEY)
        .base_url(server.url())
        .time_scale(server.time_scale())
        .on_event(narrate)
        .build()?;
    Ok((jack, Some(server)))
}

/// The emulator's faults: `REIN_EXAMPLE_FAULTS=0.2` injects a fault into a fifth of the requests
/// (5xx, 429 bursts, resets, cut bodies, slow answers), to watch the client ride them out.
fn faults() -> rein_emulator::FaultPlan {
    let share = std::env::var("REIN_EXAMPLE_FAULTS").ok().and_then(|s| s.parse().ok());
    rein_emulator::FaultPlan::spread(share.unwrap_or(0.0))
}
