//! The two programs a newcomer writes in their first hour (crates/rein/examples), through
//! `rein::` only, against the emulator in process at speed 60 with faults on a fifth of the
//! requests, and one setting on the client: the emulator's time scale. Nothing is lost and
//! nothing is created twice. (`cargo xtask bench` times the same programs.)

// The examples' `main`s go unused here, and their `pub` items are reached through the module.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/jack_ingest_and_wait.rs"]
mod jack_program;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/blocking_upload_and_wait.rs"]
mod jockey_program;

use http::Method;
use rein::blocking::{Jack, Jockey};
use rein_emulator::{spawn, testing, Clock, Config, FaultPlan, RunningServer, ServerConfig};
use rein_emulator::{DEMO_JACK_KEY, DEMO_JOCKEY_KEY};

fn emulator(seed: u64) -> RunningServer {
    let emulator = Config { faults: FaultPlan::spread(0.2), seed, ..Config::default() };
    spawn(ServerConfig { clock: Clock::scaled(60.0), emulator, ..ServerConfig::default() })
        .expect("an emulator on a free loopback port")
}

#[test]
fn jack_ingest_300_documents_and_wait_for_each() {
    let server = emulator(1);
    let jack = Jack::builder(DEMO_JACK_KEY)
        .base_url(server.url())
        .time_scale(server.time_scale())
        .build()
        .expect("client");
    let outcome = jack_program::ingest_and_wait(&jack, 300).expect("every document ready");
    assert!(outcome.report.all_accepted(), "{:?}", outcome.report.failures().collect::<Vec<_>>());
    assert_eq!(outcome.ready.len(), 300, "nothing lost");
    let log = server.log();
    assert!(log.iter().any(|e| e.fault.is_some()), "faults were injected");
    let batches = testing::effective(&log, &Method::POST, "/v1/ingest");
    assert_eq!(batches, 6, "six batches of 50, each created once");
    assert_eq!(jack.list_documents().expect("list").len(), 300, "no document twice");
}

#[test]
fn jockey_upload_store_item_wait_and_ask_with_streaming() {
    let server = emulator(2);
    let jockey = Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.url())
        .time_scale(server.time_scale())
        .build()
        .expect("client");
    let video = std::env::temp_dir().join(format!("rein-newcomer-{}.mp4", std::process::id()));
    std::fs::write(&video, vec![0u8; 64 * 1024]).expect("a video file");
    match jockey_program::upload_index_and_ask(&jockey, &video, "What happens in this video?") {
        Ok(answer) => assert!(!answer.is_empty()),
        // An answer is billed: one whose stream was cut is not asked for again, and says so.
        Err(e) => {
            assert!(e.may_have_succeeded(), "an error that hides what happened: {e}");
            let asked = server
                .log()
                .iter()
                .any(|e| e.method == Method::POST && e.path.ends_with("/responses"));
            assert!(asked, "the error came from the question, after everything before it worked");
        }
    }
    let log = server.log();
    for (path, what) in [("/assets", "asset"), ("/knowledge-stores", "store"), ("/items", "item")] {
        assert_eq!(testing::effective(&log, &Method::POST, path), 1, "one {what}, created once");
    }
    std::fs::remove_file(&video).ok();
}
