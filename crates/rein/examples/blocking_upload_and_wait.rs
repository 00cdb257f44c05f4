//! Upload a video to Jockey, wait for it, index it in a knowledge store, and stream an answer.
//!
//! ```sh
//! cargo run -p rein --example blocking_upload_and_wait            # against a local emulator
//! TWELVELABS_API_KEY=... cargo run -p rein --example blocking_upload_and_wait -- clip.mp4
//! ```
//!
//! Without `TWELVELABS_API_KEY` (and with `REIN_EXAMPLE_FAULTS=0.2` to add faults) it starts
//! rein-emulator in-process, with emulated time running
//! 60 times faster, and gives the client the emulator's speed: the whole flow takes seconds.

use std::path::Path;

use rein::blocking::Jockey;
use rein::jockey::{AddItem, CreateKnowledgeStore, CreateResponse, ResponseEvent};
use rein::{Error, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (jockey, _emulator) = client()?;
    let path = match std::env::args().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => sample_video()?,
    };
    let answer = upload_index_and_ask(&jockey, &path, "What happens in this video?")?;
    println!("answer: {answer}");
    Ok(())
}

/// The program: upload, wait, store, item, wait, ask with streaming. Returns the answer's text.
pub fn upload_index_and_ask(
    jockey: &Jockey,
    video: &Path,
    question: &str,
) -> Result<String, Error> {
    let asset = jockey.upload_file(video)?;
    println!("uploaded {} as asset {}", video.display(), asset.id);
    jockey.wait_for_asset(&asset)?; // every 5 s, up to 120 s (of the server's time)

    let store = jockey.create_store(&CreateKnowledgeStore::new("rein example"))?;
    let item = jockey.add_item(&AddItem::new(&store.id, &asset.id))?;
    jockey.wait_for_item(&store.id, &item.id)?; // every 10 s, up to 600 s
    println!("item {} is indexed", item.id);

    let mut answer = String::new();
    for event in jockey.stream_response(&CreateResponse::ask(&store.id, question))? {
        if let ResponseEvent::OutputTextDelta(delta) = event? {
            answer.push_str(&delta.delta);
        }
    }
    Ok(answer)
}

/// A client from the environment, or one pointed at an in-process emulator.
fn client() -> Result<(Jockey, Option<rein_emulator::RunningServer>), Box<dyn std::error::Error>> {
    // Say what happens: retries, rate-limit pauses, each change of a waited-on status.
    let last_status = std::sync::Mutex::new(String::new());
    let narrate = move |event: &Event| match event {
        Event::Progress { status, .. } => {
            let mut last = last_status.lock().unwrap_or_else(|e| e.into_inner());
            if *last != *status {
                println!("  {event}");
                status.clone_into(&mut last);
            }
        }
        _ if event.is_notable() => println!("  {event}"),
        _ => {}
    };
    if std::env::var("TWELVELABS_API_KEY").is_ok() {
        return Ok((Jockey::builder_from_env()?.on_event(narrate).build()?, None));
    }
    let server = rein_emulator::spawn(rein_emulator::ServerConfig {
        clock: rein_emulator::Clock::scaled(60.0),
        emulator: rein_emulator::Config { faults: faults(), ..rein_emulator::Config::default() },
        ..rein_emulator::ServerConfig::default()
    })?;
    println!("no TWELVELABS_API_KEY: using rein-emulator at {}", server.url());
    let jockey = Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(server.url())
        .time_scale(server.time_scale())
        .on_event(narrate)
        .build()?;
    Ok((jockey, Some(server)))
}

fn sample_video() -> std::io::Result<std::path::PathBuf> {
    let path = std::env::temp_dir().join("rein-example-clip.mp4");
    std::fs::write(&path, vec![0u8; 256 * 1024])?;
    Ok(path)
}

/// The emulator's faults: `REIN_EXAMPLE_FAULTS=0.2` injects a fault into a fifth of the requests
/// (5xx, 429 bursts, resets, cut bodies, slow answers), to watch the client ride them out.
fn faults() -> rein_emulator::FaultPlan {
    let share = std::env::var("REIN_EXAMPLE_FAULTS").ok().and_then(|s| s.parse().ok());
    rein_emulator::FaultPlan::spread(share.unwrap_or(0.0))
}
