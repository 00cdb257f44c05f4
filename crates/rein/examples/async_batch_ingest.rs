//! Ingest 120 documents into jack in batches of 50, wait for all of them concurrently, then ask.
//!
//! ```sh
//! cargo run -p rein --features async --example async_batch_ingest          # local emulator
//! JACK_API_KEY=jack_... cargo run -p rein --features async --example async_batch_ingest
//! ```
//!
//! Every request, polls included, goes through the client's one 60-per-minute window; the
//! emulator runs time 60 times faster, so its minute passes in a second.

use std::time::Duration;

use rein::asynchronous::Jack;
use rein::jack::{DocumentId, NewDocument};
use rein::WaitPolicy;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (jack, _emulator, speed) = client()?;
    let documents = (0..120).map(|i| {
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
    let ids: Vec<DocumentId> = report.document_ids().into_iter().flatten().collect();
    println!("{} documents accepted in {} requests", ids.len(), report.batches.len());

    let policy =
        WaitPolicy::JACK_DOCUMENT.interval_below_floor(Duration::from_secs(5).div_f64(speed));
    let mut waits = tokio::task::JoinSet::new();
    for id in ids {
        let jack = jack.clone();
        waits.spawn(async move { jack.wait_for_document_with(&id, policy).await });
    }
    let (mut ready, mut failed) = (0, 0);
    while let Some(done) = waits.join_next().await {
        match done? {
            Ok(_) => ready += 1,
            Err(e) => {
                failed += 1;
                println!("a document did not become ready: {e}");
            }
        }
    }
    println!("{ready} ready, {failed} failed");

    let answer = jack.query("How long do refunds take?").await?;
    println!("answer: {}", answer.answer);
    Ok(())
}

fn client() -> Result<(Jack, Option<rein_emulator::RunningServer>, f64), Box<dyn std::error::Error>>
{
    if std::env::var("JACK_API_KEY").is_ok() {
        return Ok((Jack::from_env()?, None, 1.0));
    }
    let speed = 60.0;
    let server = rein_emulator::spawn(rein_emulator::ServerConfig {
        clock: rein_emulator::Clock::scaled(speed),
        ..rein_emulator::ServerConfig::default()
    })?;
    println!("no JACK_API_KEY: using rein-emulator at {}", server.url());
    let jack = Jack::builder(rein_emulator::DEMO_JACK_KEY)
        .base_url(server.jack_base_url())
        // The client's window runs on real time; the emulator's minute lasts a second.
        .rate_limit(Some(rein::Window::per_minute(3600)))
        .build()?;
    Ok((jack, Some(server), speed))
}
