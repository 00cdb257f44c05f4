//! Upload a video to Jockey, wait for it, index it in a knowledge store, and stream an answer.
//!
//! ```sh
//! cargo run -p rein --example blocking_upload_and_wait            # against a local emulator
//! TWELVELABS_API_KEY=... cargo run -p rein --example blocking_upload_and_wait -- clip.mp4
//! ```
//!
//! Without `TWELVELABS_API_KEY` it starts rein-emulator in-process, with emulated time running
//! 60 times faster, so the whole flow takes seconds.

use std::time::Duration;

use rein::blocking::Jockey;
use rein::jockey::{AddItem, CreateKnowledgeStore, CreateResponse, ResponseEvent};
use rein::{Error, Event, WaitPolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (jockey, _emulator, speed) = client()?;
    let path = match std::env::args().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => sample_video()?,
    };
    // Against the emulator, emulated time runs `speed` times faster: poll that much faster too.
    let scaled =
        |preset: WaitPolicy| preset.interval_below_floor(preset.poll_interval().div_f64(speed));

    let asset = jockey.upload_file(&path)?;
    println!("uploaded {} as asset {}", path.display(), asset.id);
    jockey.wait_for_asset_with(&asset.id, scaled(WaitPolicy::ASSET_DIRECT))?;

    let store = jockey.create_store(&CreateKnowledgeStore::new("rein example"))?;
    let item = jockey.add_item(&AddItem::new(&store.id, &asset.id))?;
    match jockey.wait_for_item_with(&store.id, &item.id, scaled(WaitPolicy::KNOWLEDGE_STORE_ITEM)) {
        Ok(_) => println!("item {} is indexed", item.id),
        Err(Error::ResourceFailed(failed)) => {
            println!("indexing failed: {}", failed.message.as_deref().unwrap_or("no reason given"));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }

    print!("answer: ");
    for event in
        jockey.stream_response(&CreateResponse::ask(&store.id, "What happens in this video?"))?
    {
        if let ResponseEvent::OutputTextDelta(delta) = event? {
            print!("{}", delta.delta);
        }
    }
    println!();
    Ok(())
}

/// A client from the environment, or one pointed at an in-process emulator.
fn client(
) -> Result<(Jockey, Option<rein_emulator::RunningServer>, f64), Box<dyn std::error::Error>> {
    // Say what happens: retries, rate-limit pauses, and each change of a waited-on status.
    let last_status = std::sync::Mutex::new(String::new());
    let narrate = move |event: &Event| match event {
        Event::RetryScheduled { reason, wait, .. } => {
            println!("  retrying after {reason:?} in {wait:?}")
        }
        Event::Paused { until, .. } => println!("  rate limited: pausing until {until:?}"),
        Event::Progress { status, elapsed, .. } => {
            let mut last = last_status.lock().unwrap_or_else(|e| e.into_inner());
            if *last != *status {
                println!("  {status} after {elapsed:.1?}");
                status.clone_into(&mut last);
            }
        }
        _ => {}
    };
    if std::env::var("TWELVELABS_API_KEY").is_ok() {
        return Ok((Jockey::builder_from_env()?.on_event(narrate).build()?, None, 1.0));
    }
    let speed = 60.0;
    let server = rein_emulator::spawn(rein_emulator::ServerConfig {
        clock: rein_emulator::Clock::scaled(speed),
        ..rein_emulator::ServerConfig::default()
    })?;
    println!("no TWELVELABS_API_KEY: using rein-emulator at {}", server.url());
    let jockey = Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .request_timeout(Duration::from_secs(30))
        .on_event(narrate)
        .build()?;
    Ok((jockey, Some(server), speed))
}

fn sample_video() -> std::io::Result<std::path::PathBuf> {
    let path = std::env::temp_dir().join("rein-example-clip.mp4");
    std::fs::write(&path, vec![0u8; 256 * 1024])?;
    Ok(path)
}
