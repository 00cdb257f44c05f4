//! The client's one limiter: a 429 pauses every call, and jack's window holds the 61st request.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein_async::Jack;
use rein_core::{Event, Limiter, Moment, Window};
use support::{ok, scripted, too_many, Log, KEY, USAGE};

#[tokio::test(start_paused = true)]
async fn a_429_on_one_call_pauses_another_call_of_the_same_client() {
    let log = Log::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&events);
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |n, req| match (n, req.uri().path()) {
            (0, _) => too_many("10"),
            (_, "/v1/query") => ok(r#"{"answer":"yes"}"#),
            _ => ok(USAGE),
        }))
        .on_event(move |e| record.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let other = jack.clone();
    let (first, second) = tokio::join!(jack.usage(), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        other.query("Is anyone there?").await.map(|a| a.answer)
    });
    first.expect("retried after the pause");
    assert_eq!(second.expect("sent after the pause"), "yes");
    let sent = log.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].at, Duration::ZERO);
    // tokio's timer rounds a wake-up up to its next millisecond.
    let after_pause =
        |at: Duration| at >= Duration::from_secs(10) && at <= Duration::from_millis(10_001);
    assert!(sent[1..].iter().all(|s| after_pause(s.at)), "{sent:?}");
    let events = events.lock().unwrap();
    assert!(
        events.iter().any(|e| matches!(e, Event::Throttled { operation: rein_core::Operation::Query, until, .. } if *until >= Moment::from_secs(10))),
        "the query was held by the pause: {events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_limiter_shared_between_clients_pauses_both() {
    let limiter = Arc::new(Limiter::default());
    let (log_a, log_b) = (Log::new(), Log::new());
    let a = Jack::builder(KEY)
        .transport(scripted(&log_a, |n, _| if n == 0 { too_many("5") } else { ok(USAGE) }))
        .limiter(limiter.clone())
        .build()
        .unwrap();
    let b = Jack::builder(KEY)
        .transport(scripted(&log_b, |_, _| ok(USAGE)))
        .limiter(limiter.clone())
        .build()
        .unwrap();
    let (ra, rb) = tokio::join!(a.usage(), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        b.usage().await
    });
    ra.unwrap();
    rb.unwrap();
    assert_eq!(log_a.times_ms(), [0, 5000]);
    assert_eq!(log_b.times_ms(), [5000], "the other client waited out the same pause");
}

#[tokio::test(start_paused = true)]
async fn the_61st_jack_request_in_a_minute_waits_for_the_window() {
    let log = Log::new();
    let jack = Jack::builder(KEY).transport(scripted(&log, |_, _| ok(USAGE))).build().unwrap();
    for _ in 0..61 {
        jack.usage().await.unwrap();
    }
    let times = log.times_ms();
    assert!(times[..60].iter().all(|&t| t == 0), "{times:?}");
    // The first leaves the window at 60 s; the limiter's margin covers latency differences.
    assert_eq!(times[60], 60_500, "the 61st goes when the first leaves the window");
}

#[tokio::test(start_paused = true)]
async fn the_window_can_be_changed_or_turned_off() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .rate_limit(Some(Window::per_minute(2)))
        .build()
        .unwrap();
    for _ in 0..3 {
        jack.usage().await.unwrap();
    }
    assert_eq!(log.times_ms(), [0, 0, 60_500]);

    let log = Log::new();
    let jack =
        Jack::builder(KEY).transport(scripted(&log, |_, _| ok(USAGE))).rate_limit(None).build();
    let jack = jack.unwrap();
    for _ in 0..100 {
        jack.usage().await.unwrap();
    }
    assert!(log.times_ms().iter().all(|&t| t == 0));
}

#[tokio::test(start_paused = true)]
async fn clients_built_at_different_times_share_one_window() {
    let log = Log::new();
    let limiter: Arc<dyn rein_core::RateLimit> = Arc::new(rein_core::Limiter::default());
    let first = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .limiter(Arc::clone(&limiter))
        .build()
        .unwrap();
    tokio::time::advance(Duration::from_secs(600)).await;
    let second = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .limiter(limiter)
        .build()
        .unwrap();
    for _ in 0..60 {
        first.usage().await.unwrap();
    }
    let start = tokio::time::Instant::now();
    second.usage().await.unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(60_500),
        "the second client sees the first's requests"
    );
}
