//! Cancellation: dropping a future, and a cancel token. A cancelled call sends nothing more.

mod support;

use std::time::Duration;

use rein_async::{CancelToken, Jack};
use rein_core::Error;
use support::{document, ok, scripted, too_many, Log, KEY, USAGE};

#[tokio::test(start_paused = true)]
async fn dropping_a_waiting_future_sends_nothing_more() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(&document("processing"))))
        .build()
        .unwrap();
    let wait = jack.wait_for_document("doc_1");
    let dropped = tokio::time::timeout(Duration::from_secs(12), wait).await;
    assert!(dropped.is_err(), "the wait was still going");
    assert_eq!(log.times_ms(), [0, 5000, 10_000]);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(log.count(), 3, "nothing is sent after the future is dropped");
}

#[tokio::test(start_paused = true)]
async fn aborting_a_spawned_retrying_call_sends_nothing_more() {
    let log = Log::new();
    let jack = Jack::builder(KEY).transport(scripted(&log, |_, _| too_many("5"))).build().unwrap();
    let task = tokio::spawn(async move { jack.usage().await });
    tokio::time::sleep(Duration::from_secs(7)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let sent = log.count();
    assert_eq!(sent, 2, "t=0 and t=5");
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(log.count(), sent);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_token_cancels_a_sleeping_call() {
    let log = Log::new();
    let jack = Jack::builder(KEY).transport(scripted(&log, |_, _| too_many("30"))).build().unwrap();
    let token = CancelToken::new();
    let start = tokio::time::Instant::now();
    let cancellable = jack.with_cancel(&token);
    let (result, ()) = tokio::join!(cancellable.usage(), async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        token.cancel();
    });
    assert_eq!(result.expect_err("cancelled"), Error::Cancelled);
    assert_eq!(start.elapsed(), Duration::from_secs(3), "woken at once, not after the 30 s");
    assert_eq!(log.count(), 1);
    assert!(token.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_cancel_token_cancels_a_wait_and_every_call_sharing_it() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(&document("processing"))))
        .build()
        .unwrap();
    let token = CancelToken::new();
    let handle = jack.with_cancel(&token);
    let (a, b, ()) =
        tokio::join!(handle.wait_for_document("doc_1"), handle.wait_for_document("doc_2"), async {
            tokio::time::sleep(Duration::from_secs(7)).await;
            token.cancel();
        });
    assert_eq!((a.unwrap_err(), b.unwrap_err()), (Error::Cancelled, Error::Cancelled));
    assert_eq!(log.count(), 4, "two polls each, at 0 and 5 s");
    // The client without the token is unaffected.
    let log2 = Log::new();
    let plain = Jack::builder(KEY).transport(scripted(&log2, |_, _| ok(USAGE))).build().unwrap();
    plain.with_cancel(&CancelToken::new()).usage().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_call_with_a_cancelled_token_sends_nothing() {
    let log = Log::new();
    let jack = Jack::builder(KEY).transport(scripted(&log, |_, _| ok(USAGE))).build().unwrap();
    let token = CancelToken::new();
    token.cancel();
    assert_eq!(jack.with_cancel(&token).usage().await, Err(Error::Cancelled));
    assert_eq!(log.count(), 0);
    jack.usage().await.expect("the client itself is not cancelled");
}

#[tokio::test(start_paused = true)]
async fn a_request_in_flight_when_cancelled_finishes_and_keeps_its_answer() {
    let token = CancelToken::new();
    let canceller = token.clone();
    let jack = Jack::builder(KEY)
        .transport(move |_req: http::Request<rein_core::Body>| {
            let canceller = canceller.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                canceller.cancel();
                ok(USAGE)
            }
        })
        .build()
        .unwrap();
    let usage = jack.with_cancel(&token).usage().await.expect("the answer is not thrown away");
    assert_eq!(usage.org_id.as_deref(), Some("org_1"));
}
