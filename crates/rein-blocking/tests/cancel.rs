//! Cancellation with a cancel token: at a moment of virtual time while a call sleeps, from inside
//! a request, and from another thread while calls sleep on the real clock. A cancelled call
//! sends nothing more.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rein_blocking::{CancelToken, Jack};
use rein_core::jack::NewDocument;
use rein_core::{Error, ManualClock};
use support::{
    document, elapsed, ok, reply, scripted, too_many, Log, Timeline, VirtualTime, KEY, USAGE,
};

/// A jack client on `log`'s clock whose sleeps run `timeline`'s actions.
fn jack_on(
    log: &Log,
    timeline: &Timeline,
    transport: impl rein_blocking::Transport + 'static,
) -> Jack {
    Jack::builder(KEY)
        .transport(transport)
        .clock(log.clock())
        .sleeper(timeline.clone())
        .build()
        .unwrap()
}

/// Mirrors the async `dropping_a_waiting_future_sends_nothing_more`: a blocking call is stopped
/// by its token, not by dropping it.
#[test]
fn a_wait_cancelled_at_12_seconds_sends_nothing_more() {
    let log = Log::new();
    let timeline = Timeline::new(&log.clock());
    let jack = jack_on(&log, &timeline, scripted(&log, |_, _| ok(&document("processing"))));
    let token = CancelToken::new();
    let canceller = token.clone();
    timeline.at(Duration::from_secs(12), move || canceller.cancel());
    let result = jack.with_cancel(&token).wait_for_document("doc_1");
    assert_eq!(result.expect_err("cancelled"), Error::Cancelled);
    assert_eq!(log.times_ms(), [0, 5000, 10_000]);
    assert_eq!(elapsed(&log.clock()), Duration::from_secs(12), "woken at once, not at 15 s");
    log.clock().advance(Duration::from_secs(600));
    assert_eq!(log.count(), 3, "nothing is sent after the call returned");
}

/// Mirrors the async `aborting_a_spawned_retrying_call_sends_nothing_more`.
#[test]
fn cancelling_a_retrying_call_sends_nothing_more() {
    let log = Log::new();
    let timeline = Timeline::new(&log.clock());
    let jack = jack_on(&log, &timeline, scripted(&log, |_, _| too_many("5")));
    let token = CancelToken::new();
    let canceller = token.clone();
    timeline.at(Duration::from_secs(7), move || canceller.cancel());
    assert_eq!(jack.with_cancel(&token).usage(), Err(Error::Cancelled));
    assert_eq!(log.times_ms(), [0, 5000], "t=0 and t=5");
    log.clock().advance(Duration::from_secs(600));
    assert_eq!(log.count(), 2);
}

#[test]
fn a_cancel_token_cancels_a_sleeping_call() {
    let log = Log::new();
    let timeline = Timeline::new(&log.clock());
    let jack = jack_on(&log, &timeline, scripted(&log, |_, _| too_many("30")));
    let token = CancelToken::new();
    let canceller = token.clone();
    timeline.at(Duration::from_secs(3), move || canceller.cancel());
    let result = jack.with_cancel(&token).usage();
    assert_eq!(result.expect_err("cancelled"), Error::Cancelled);
    assert_eq!(elapsed(&log.clock()), Duration::from_secs(3), "woken at once, not after the 30 s");
    assert_eq!(log.count(), 1);
    assert!(token.is_cancelled());
}

/// The same, with a real sleep cut short by another thread.
#[test]
fn a_cancel_token_wakes_a_sleeping_call_and_nothing_more_is_sent() {
    let sends = Arc::new(AtomicUsize::new(0));
    let (sent_tx, sent_rx) = mpsc::channel();
    let sent_tx = Mutex::new(sent_tx);
    let counter = Arc::clone(&sends);
    let jack = Jack::builder(KEY)
        .transport(move |_req: http::Request<rein_core::Body>| {
            counter.fetch_add(1, Ordering::SeqCst);
            sent_tx.lock().expect("lock").send(()).ok();
            // Rate limited for 30 s: the call will sleep.
            Ok(reply(429, &[("retry-after", "30")], r#"{"detail":"Rate limit exceeded"}"#))
        })
        .build()
        .expect("client");
    let token = CancelToken::new();
    let cancelling = jack.with_cancel(&token);
    let started = Instant::now();
    let call = std::thread::spawn(move || cancelling.usage());
    sent_rx.recv().expect("the first attempt went out");
    token.cancel();
    let result = call.join().expect("no panic");
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "woken, not slept through");
    assert_eq!(sends.load(Ordering::SeqCst), 1, "nothing more was sent");
    // Cancelled before anything is sent: nothing is sent.
    assert!(matches!(jack.with_cancel(&token).usage(), Err(Error::Cancelled)));
    assert_eq!(sends.load(Ordering::SeqCst), 1);
}

/// Two waits on two threads share a token; cancelling it from a third wakes both from their
/// real sleeps.
#[test]
fn a_cancel_token_cancels_a_wait_and_every_call_sharing_it() {
    let (sent_tx, sent_rx) = mpsc::channel();
    let sent_tx = Mutex::new(sent_tx);
    let log = Log::new();
    let record = log.clone();
    let jack = Jack::builder(KEY)
        .transport(move |req: http::Request<rein_core::Body>| {
            record.record(&req);
            sent_tx.lock().unwrap().send(()).ok();
            ok(&document("processing"))
        })
        .build()
        .unwrap();
    let token = CancelToken::new();
    let handle = jack.with_cancel(&token);
    let started = Instant::now();
    let waits: Vec<_> = ["doc_1", "doc_2"]
        .map(|id| {
            let handle = handle.clone();
            std::thread::spawn(move || handle.wait_for_document(id))
        })
        .into_iter()
        .collect();
    sent_rx.recv().unwrap();
    sent_rx.recv().unwrap();
    token.cancel();
    let results: Vec<_> = waits.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(results, [Err(Error::Cancelled), Err(Error::Cancelled)]);
    assert!(started.elapsed() < Duration::from_secs(5), "woken before the second poll");
    assert_eq!(log.count(), 2, "one poll each, at 0 s");
    // A client without the token is unaffected.
    let log2 = Log::new();
    let plain = Jack::builder(KEY)
        .transport(scripted(&log2, |_, _| ok(USAGE)))
        .virtual_time(&log2.clock())
        .build()
        .unwrap();
    plain.with_cancel(&CancelToken::new()).usage().unwrap();
    jack.get_document("doc_1").expect("the handle without the token is unaffected");
    assert_eq!(log.count(), 3);
}

#[test]
fn a_call_with_a_cancelled_token_sends_nothing() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .virtual_time(&log.clock())
        .build()
        .unwrap();
    let token = CancelToken::new();
    token.cancel();
    assert_eq!(jack.with_cancel(&token).usage(), Err(Error::Cancelled));
    assert_eq!(log.count(), 0);
    jack.usage().expect("the client itself is not cancelled");
}

#[test]
fn a_request_in_flight_when_cancelled_finishes_and_keeps_its_answer() {
    let clock = ManualClock::new();
    let token = CancelToken::new();
    let canceller = token.clone();
    let in_flight = clock.clone();
    let jack = Jack::builder(KEY)
        .transport(move |_req: http::Request<rein_core::Body>| {
            in_flight.advance(Duration::from_secs(1));
            canceller.cancel();
            ok(USAGE)
        })
        .virtual_time(&clock)
        .build()
        .unwrap();
    let usage = jack.with_cancel(&token).usage().expect("the answer is not thrown away");
    assert_eq!(usage.org_id.as_deref(), Some("org_1"));
}

#[test]
fn a_cancelled_ingest_many_keeps_what_was_accepted() {
    let token = CancelToken::new();
    let cancel_after_first = token.clone();
    let sends = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sends);
    let jack = Jack::builder(KEY)
        .transport(move |_req: http::Request<rein_core::Body>| {
            counter.fetch_add(1, Ordering::SeqCst);
            cancel_after_first.cancel(); // the caller cancels while the first batch is in flight
            let ids: Vec<String> = (0..50).map(|i| format!("\"d{i}\"")).collect();
            let body = format!(
                r#"{{"status":"accepted","queued":50,"document_ids":[{}]}}"#,
                ids.join(",")
            );
            Ok(http::Response::builder().status(202).body(Bytes::from(body)).expect("202"))
        })
        .build()
        .expect("client");
    let docs = (0..120).map(|i| NewDocument::new(format!("doc {i}")));
    let report = jack.with_cancel(&token).ingest_many(docs).expect("a report, not an error");
    assert_eq!(sends.load(Ordering::SeqCst), 1, "nothing more was sent");
    assert_eq!(report.batches.len(), 3);
    assert!(report.batches[0].1.is_ok(), "the accepted batch keeps its ids");
    assert!(report.document_ids()[..50].iter().all(Option::is_some));
    let failed: Vec<_> =
        report.failures().map(|(range, e)| (range, matches!(e, Error::Cancelled))).collect();
    assert_eq!(failed, vec![(50..100, true), (100..120, true)]);
}
