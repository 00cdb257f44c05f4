//! The blocking client with closure transports: cancellation, secrets, configuration.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rein_blocking::{CancelToken, Jack, Jockey};
use rein_core::{Error, Event};

const KEY: &str = "jack_secret0key0that0must0never0show0000000000000000";

fn respond(status: u16, headers: &[(&str, &str)], body: &'static str) -> http::Response<Bytes> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Bytes::from_static(body.as_bytes())).expect("response")
}

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
            Ok(respond(429, &[("retry-after", "30")], r#"{"detail":"Rate limit exceeded"}"#))
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

#[test]
fn keys_never_show_in_debug_or_errors() {
    let jack = Jack::builder(KEY)
        .transport(|_req: http::Request<rein_core::Body>| {
            Ok(respond(401, &[], r#"{"detail":"Invalid API key"}"#))
        })
        .build()
        .expect("client");
    let err = jack.usage().expect_err("401");
    let shown = format!("{jack:?} {err} {err:?} {}", err.user_message());
    assert!(!shown.contains(KEY) && !shown.contains("secret0key"), "{shown}");
    assert_eq!(err.status(), Some(401));
}

#[test]
fn plain_http_is_refused_for_remote_hosts_unless_allowed() {
    let refused = Jockey::builder("k").base_url("http://api.example.com/v1.3").build();
    assert!(matches!(refused, Err(Error::Config(_))));
    assert!(Jockey::builder("k").base_url("http://127.0.0.1:9/v1.3").build().is_ok());
    assert!(Jockey::builder("k")
        .base_url("http://api.example.com/v1.3")
        .allow_insecure_http(true)
        .build()
        .is_ok());
}

#[test]
fn events_reach_the_hook() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let replies = Mutex::new(vec![
        respond(200, &[], r#"{"org_id":"o","rate_limit_rpm":60}"#),
        respond(503, &[("retry-after-ms", "0")], r#"{"detail":"busy"}"#),
    ]);
    let jack = Jack::builder(KEY)
        .transport(move |_req: http::Request<rein_core::Body>| {
            Ok(replies.lock().expect("lock").pop().expect("a reply"))
        })
        .on_event(move |e: &Event| record.lock().expect("lock").push(format!("{e:?}")))
        .build()
        .expect("client");
    jack.usage().expect("usage after one retry");
    let seen = seen.lock().expect("lock");
    assert!(seen.iter().any(|e| e.starts_with("Sending")), "{seen:?}");
    assert!(
        seen.iter().any(|e| e.starts_with("RetryScheduled") && e.contains("Status(503)")),
        "{seen:?}"
    );
}

#[test]
fn a_cancelled_ingest_many_keeps_what_was_accepted() {
    use rein_core::jack::NewDocument;
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
