//! Ingest 1,000 documents into jack in batches of 50, wait for all of them as one fleet (each
//! end printed as it comes), then ask.
//!
//! ```sh
//! cargo run -p rein --features async --example async_batch_ingest          # local emulator
//! JACK_API_KEY=jack_... cargo run -p rein --features async --example async_batch_ingest
//! ```
//!
//! Every request, ingests and the fleet's sweeps alike, goes through the client's one
//! 60-per-minute window; bulk work leaves a fifth of it to the caller's own calls, so the
//! question at the end never waits behind the polling. Without `JACK_API_KEY` (and with
//! `REIN_EXAMPLE_FAULTS=0.2` to add faults) it runs against rein-emulator in-process, 60 times
//! faster.

use rein::asynchronous::Jack;
use rein::jack::NewDocument;
use rein::{Event, Fleet};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (jack, _emulator) = client()?;
    let documents = (0..1000).map(|i| {
        NewDocument::new(format!(
            "Policy note {i}: refunds are processed within {} days.",
            3 + i % 5
        ))
        .metadata("batch", "example")
    });

    let report = jack.ingest_many(documents).await?;
    for (indexes, error) in report.failures() {
        println!("documents {indexes:?} were not accepted: {error}");
    }
    let ids: Vec<_> = report.document_ids().into_iter().flatten().collect();
    println!("{} documents accepted in {} requests", ids.len(), report.batches.len());

    let mut ends = jack.wait_each(Fleet::documents(ids));
    let (mut ready, mut not_ready) = (0, 0);
    while let Some(end) = ends.next().await {
        let end = end?; // only a cancelled client ends the stream early
        match end.result {
            Ok(_) => ready += 1,
            Err(e) => {
                not_ready += 1;
                println!("document {} is not ready: {e}", end.id);
            }
        }
    }
    println!("{ready} ready, {not_ready} not");

    let answer = jack.query("How long do refunds take?").await?;
    println!("answer: {}", answer.answer);
    Ok(())
}

/// A client from the environment, or one pointed at an in-process emulator.
fn client() -> Result<(Jack, Option<rein_emulator::RunningServer>), Box<dyn std::error::Error>> {
    // The fleet's progress after each sweep, and anything notable (retries, pauses).
    let narrate = |event: &Event| {
        if event.is_notable() || matches!(event, Event::Fleet(_)) {
            println!("  {event}");
        }
    };
    if std::env::var("JACK_API_KEY").is_ok() {
        return Ok((Jack::builder_from_env()?.on_event(narrate).build()?, None));
    }
    let share = std::env::var("REIN_EXAMPLE_FAULTS").ok().and_then(|s| s.parse().ok());
    let server = rein_emulator::spawn(rein_emulator::ServerConfig {
        clock: rein_emulator::Clock::scaled(60.0),
        emulator: rein_emulator::Config {
            faults: rein_emulator::FaultPlan::spread(share.unwrap_or(0.0)),
            ..rein_emulator::Config::default()
        },
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
