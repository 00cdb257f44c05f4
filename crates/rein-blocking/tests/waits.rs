//! Waiting on a document: ready, failed, timed out, and backing off inside the wait.

mod support;

use std::time::Duration;

use rein_blocking::Jack;
use rein_core::jack::DocumentStatus;
use rein_core::{Error, WaitPolicy};
use support::{document, elapsed, ok, scripted, too_many, Log, VirtualTime, KEY};

/// A jack client with `transport`, on `log`'s clock.
fn jack(log: &Log, transport: impl rein_blocking::Transport + 'static) -> Jack {
    Jack::builder(KEY).transport(transport).virtual_time(&log.clock()).build().unwrap()
}

#[test]
fn a_wait_ends_on_ready() {
    let log = Log::new();
    let jack = jack(
        &log,
        scripted(&log, |n, _| ok(&document(if n < 2 { "processing" } else { "ready" }))),
    );
    let doc = jack.wait_for_document("doc_1").expect("ready");
    assert_eq!(doc.status, DocumentStatus::Ready);
    assert_eq!(log.times_ms(), [0, 5000, 10_000], "every 5 s, the preset");
}

#[test]
fn a_wait_ends_on_failed_with_the_documents_message() {
    let log = Log::new();
    let jack = jack(
        &log,
        scripted(&log, |n, _| {
            if n == 0 {
                ok(&document("processing"))
            } else {
                ok(r#"{"id":"doc_1","status":"failed","error_message":"could not parse PDF"}"#)
            }
        }),
    );
    let err = jack.wait_for_document("doc_1").expect_err("failed");
    let Error::ResourceFailed(failed) = &err else { panic!("{err:?}") };
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.message.as_deref(), Some("could not parse PDF"));
    assert_eq!(log.count(), 2, "failed is terminal: no more polls");
}

#[test]
fn a_wait_times_out_within_its_budget() {
    let log = Log::new();
    let jack = jack(&log, scripted(&log, |_, _| ok(&document("processing"))));
    let err = jack.with_timeout(Duration::from_secs(12)).wait_for_document("doc_1");
    let Err(Error::WaitTimedOut(timed_out)) = err else { panic!("{err:?}") };
    assert!(elapsed(&log.clock()) <= Duration::from_secs(12));
    assert_eq!(timed_out.last_status.as_deref(), Some("processing"));
    assert_eq!(log.times_ms(), [0, 5000, 10_000]);
}

#[test]
fn a_429_during_a_wait_backs_off_inside_the_same_wait() {
    let log = Log::new();
    let jack = jack(
        &log,
        scripted(&log, |n, _| match n {
            0 => ok(&document("processing")),
            1 => too_many("20"),
            _ => ok(&document("ready")),
        }),
    );
    let doc = jack.wait_for_document("doc_1").expect("ready after the pause");
    assert_eq!(doc.status, DocumentStatus::Ready);
    assert_eq!(log.times_ms(), [0, 5000, 25_000], "Retry-After obeyed, not undercut");
}

#[test]
fn a_faster_interval_must_be_asked_for_explicitly() {
    let log = Log::new();
    let jack =
        jack(&log, scripted(&log, |n, _| ok(&document(if n < 2 { "pending" } else { "ready" }))));
    let floored = WaitPolicy::JACK_DOCUMENT.interval(Duration::from_secs(1));
    jack.wait_for_document_with("doc_1", floored).unwrap();
    assert_eq!(log.times_ms(), [0, 5000, 10_000], "the preset's interval is a floor");

    let log = Log::new();
    let jack = self::jack(
        &log,
        scripted(&log, |n, _| ok(&document(if n < 2 { "pending" } else { "ready" }))),
    );
    let fast = WaitPolicy::JACK_DOCUMENT.interval_below_floor(Duration::from_secs(1));
    jack.wait_for_document_with("doc_1", fast).unwrap();
    assert_eq!(log.times_ms(), [0, 1000, 2000]);
}
