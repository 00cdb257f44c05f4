//! Large files by the multipart flow, through both adapters, against the emulator on loopback:
//! a 300 MiB file goes up in chunks while the storage fails some chunks and expires some URLs,
//! each failed chunk goes again alone, no chunk request carries the API key, and an interrupted
//! upload resumes from its session id without sending a completed chunk again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rein::jockey::multipart::CreateMultipartUpload;
use rein::jockey::upload::MultipartUpload;
use rein::{CancelToken, Event};
use rein_emulator::{
    Clock, Config, FaultKind, FaultPlan, LogEntry, RunningServer, ServerConfig, DEMO_JOCKEY_KEY,
};

const MIB: u64 = 1 << 20;

/// A file of `len` bytes of varied content (every chunk's ETag differs), written in 1 MiB
/// pieces so the test holds no more than that.
fn file(name: &str, len: u64) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("rein-multipart-{}-{name}.mp4", std::process::id()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut piece = vec![0u8; MIB as usize];
    let mut written = 0;
    while written < len {
        for (i, b) in piece.iter_mut().enumerate() {
            *b = ((written / MIB) as u8).wrapping_mul(31).wrapping_add(i as u8);
        }
        let n = (len - written).min(MIB) as usize;
        out.write_all(&piece[..n]).expect("write");
        written += n as u64;
    }
    out.flush().expect("flush");
    path
}

/// Removes the file when the test ends, however it ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

fn emulator(faults: FaultPlan, chunk_size: u64) -> RunningServer {
    let emulator =
        Config { faults, multipart_chunk_size: chunk_size, seed: 7, ..Config::default() };
    rein_emulator::spawn(ServerConfig {
        clock: Clock::scaled(60.0),
        emulator,
        ..ServerConfig::default()
    })
    .expect("the emulator starts")
}

/// Chunk failures and URL expiries on a tenth of chunk PUTs each, nothing else.
fn storage_faults() -> FaultPlan {
    let mut plan = FaultPlan::none();
    plan.chunk_failure = 0.1;
    plan.url_expiry = 0.1;
    plan
}

/// 4 MiB chunks: 75 for 300 MiB, so both kinds of fault surely meet some.
const CHUNK: u64 = 4 * MIB;
const CHUNKS: u32 = 75;

/// The default policy with ten attempts, as the other chaos tests: a chunk failed by the
/// emulator five times in a row (one chance in 10^5 at a tenth) must not fail the test.
fn policy() -> rein::RetryPolicy {
    rein_emulator::testing::chaos::policy(rein::Api::Jockey)
}

fn chunk_puts(server: &RunningServer) -> Vec<LogEntry> {
    server.log().into_iter().filter(|e| e.path.starts_with("/_presigned/")).collect()
}

/// The chunk index of a chunk PUT (`/_presigned/{upload_id}/{index}`).
fn chunk_index(entry: &LogEntry) -> u32 {
    entry.path.rsplit('/').next().and_then(|s| s.parse().ok()).expect("a chunk index")
}

/// The checks of a whole upload through failures: every chunk in exactly once, every failed
/// chunk sent again alone, no key on any chunk request.
fn check_chunks(server: &RunningServer, chunks: u32) {
    let puts = chunk_puts(server);
    assert!(puts.iter().all(|e| !e.carried_api_key), "a chunk PUT carried the API key");
    let failed: Vec<_> = puts.iter().filter(|e| e.status != 200).collect();
    let kinds = |kind| failed.iter().filter(|e| e.fault == Some(kind)).count();
    assert!(kinds(FaultKind::ChunkFailure) > 0, "no chunk failed: {failed:?}");
    assert!(kinds(FaultKind::UrlExpiry) > 0, "no URL expired: {failed:?}");
    for index in 1..=chunks {
        let of = |e: &&LogEntry| chunk_index(e) == index;
        let ok = puts.iter().filter(of).filter(|e| e.status == 200).count();
        assert_eq!(ok, 1, "chunk {index} went in {ok} times");
    }
    // Nothing but the failed chunks went again: one more PUT per failure, and no more.
    assert_eq!(puts.len(), chunks as usize + failed.len(), "chunks sent beyond their failures");
    for failure in &failed {
        let again =
            puts.iter().any(|e| e.seq > failure.seq && chunk_index(e) == chunk_index(failure));
        assert!(again, "failed chunk {} was not sent again", chunk_index(failure));
    }
}

fn blocking_client(server: &RunningServer) -> rein::blocking::Jockey {
    rein::blocking::Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .time_scale(server.time_scale())
        .retry_policy(policy())
        .build()
        .expect("a client")
}

#[test]
fn blocking_a_300_mib_file_goes_up_in_chunks_through_storage_faults() {
    let path = file("blocking-300", 300 * MIB);
    let _cleanup = Cleanup(path.clone());
    let server = emulator(storage_faults(), CHUNK);
    let jockey = blocking_client(&server);
    let asset = jockey.upload_file(&path).expect("uploaded");
    let ready = jockey.wait_for_asset(&asset).expect("ready");
    assert_eq!(ready.size, Some(300 * MIB), "the emulator counted every byte");
    check_chunks(&server, CHUNKS);
}

#[cfg(feature = "async")]
#[test]
fn async_a_300_mib_file_goes_up_in_chunks_through_storage_faults() {
    let path = file("async-300", 300 * MIB);
    let _cleanup = Cleanup(path.clone());
    let server = emulator(storage_faults(), CHUNK);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let jockey = rein::asynchronous::Jockey::builder(DEMO_JOCKEY_KEY)
            .base_url(server.jockey_base_url())
            .time_scale(server.time_scale())
            .retry_policy(policy())
            .build()
            .expect("a client");
        let asset = jockey.upload_file(&path).await.expect("uploaded");
        let ready = jockey.wait_for_asset(&asset).await.expect("ready");
        assert_eq!(ready.size, Some(300 * MIB), "the emulator counted every byte");
    });
    check_chunks(&server, CHUNKS);
}

/// Uploads `path` until `stop_after` chunks are reported, then cancels; returns the session.
fn interrupted(server: &RunningServer, path: &Path, stop_after: u32) -> String {
    let token = CancelToken::new();
    let session = Arc::new(Mutex::new(None));
    let (seen, cancel) = (Arc::clone(&session), token.clone());
    let jockey = rein::blocking::Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .time_scale(server.time_scale())
        .on_event(move |event| {
            if let Event::Uploading { upload_id, chunks_done, .. } = event {
                *seen.lock().unwrap() = Some(upload_id.clone());
                if *chunks_done >= stop_after {
                    cancel.cancel();
                }
            }
        })
        .build()
        .expect("a client")
        .with_cancel(&token);
    let source = rein::core::FileSource::new(path, std::fs::metadata(path).unwrap().len());
    let upload =
        MultipartUpload::new(source.clone(), CreateMultipartUpload::for_file(&source).unwrap());
    let error = jockey.upload_multipart(upload).expect_err("cancelled midway");
    assert!(token.is_cancelled(), "{error}");
    let upload_id = session.lock().unwrap().clone().expect("a session was opened");
    upload_id
}

#[test]
fn an_interrupted_upload_resumes_without_sending_completed_chunks_again() {
    let path = file("resume", 40 * MIB);
    let _cleanup = Cleanup(path.clone());
    let server = emulator(FaultPlan::none(), MIB);
    let upload_id = interrupted(&server, &path, 12);
    let before = chunk_puts(&server);
    let done_before: Vec<u32> =
        before.iter().filter(|e| e.status == 200).map(chunk_index).collect();
    assert!(done_before.len() >= 12 && done_before.len() < 40, "{} chunks in", done_before.len());
    let last_seq = server.log().last().map_or(0, |e| e.seq);

    let asset = blocking_client(&server).resume_upload(&upload_id, &path).expect("resumed");
    let after: Vec<LogEntry> =
        chunk_puts(&server).into_iter().filter(|e| e.seq > last_seq).collect();
    // The upload stopped after a report: every chunk in by then was reported, and none goes
    // again.
    let again: Vec<u32> =
        after.iter().map(chunk_index).filter(|i| done_before.contains(i)).collect();
    assert!(again.is_empty(), "completed chunks sent again: {again:?}");
    let mut all: Vec<u32> = done_before.clone();
    all.extend(after.iter().filter(|e| e.status == 200).map(chunk_index));
    all.sort_unstable();
    assert_eq!(all, (1..=40).collect::<Vec<_>>(), "every chunk in exactly once");
    let ready = blocking_client(&server).wait_for_asset(&asset).expect("ready");
    assert_eq!(ready.size, Some(40 * MIB));
}

/// In virtual time through the emulator's model (`InProcess`, no sockets): the presigned URLs
/// it makes are usable, and an upload that waits past a URL's hour gets fresh ones.
#[test]
fn an_upload_through_the_in_process_model_on_a_manual_clock() {
    use rein_emulator::{InProcess, ManualClock};
    let path = file("in-process", 12 * MIB);
    let _cleanup = Cleanup(path.clone());
    let config =
        Config { multipart_chunk_size: MIB, multipart_initial_urls: 4, ..Config::default() };
    let emulator = Arc::new(InProcess::new(config, ManualClock::new()));
    let clock = emulator.clock().clone();
    let model = Arc::clone(&emulator);
    let jockey = rein::blocking::Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url("https://emulator/v1.3")
        .transport(move |request| model.exchange(request))
        .manual_clock(clock.clone())
        .build()
        .expect("a client");
    let source = rein::core::FileSource::new(&path, 12 * MIB);
    let upload =
        MultipartUpload::new(source.clone(), CreateMultipartUpload::for_file(&source).unwrap());
    let asset = jockey.upload_multipart(upload).expect("uploaded");
    let ready = jockey.wait_for_asset(&asset).expect("ready");
    assert_eq!(ready.size, Some(12 * MIB));
    let puts: Vec<_> =
        emulator.log().into_iter().filter(|e| e.path.starts_with("/_presigned/")).collect();
    assert_eq!(puts.len(), 12, "each chunk once");
    assert!(puts.iter().all(|e| e.status == 200 && !e.carried_api_key));
}
