//! The client's one limiter: a 429 pauses every call, and jack's window holds the 61st request.
//!
//! Where the async tests start a second call while the first sleeps, these start it from the
//! first call's sleep, at the same moment of virtual time (a `Timeline`).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein_blocking::Jack;
use rein_core::{Event, Limiter, ManualClock, Moment, Window};
use support::{elapsed, ok, scripted, too_many, Log, Timeline, VirtualTime, KEY, USAGE};

#[test]
fn a_429_on_one_call_pauses_another_call_of_the_same_client() {
    let log = Log::new();
    let timeline = Timeline::new(&log.clock());
    let events = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&events);
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |n, req| match (n, req.uri().path()) {
            (0, _) => too_many("10"),
            (_, "/v1/query") => ok(r#"{"answer":"yes"}"#),
            _ => ok(USAGE),
        }))
        .on_event(move |e| record.lock().unwrap().push(e.clone()))
        .clock(log.clock())
        .sleeper(timeline.clone())
        .build()
        .unwrap();
    let other = jack.clone();
    let second = Arc::new(Mutex::new(None));
    let answer = Arc::clone(&second);
    timeline.at(Duration::from_secs(1), move || {
        *answer.lock().unwrap() = Some(other.query("Is anyone there?").map(|a| a.answer));
    });
    jack.usage().expect("retried after the pause");
    let second = second.lock().unwrap().take().expect("the second call ran");
    assert_eq!(second.expect("sent after the pause"), "yes");
    let sent = log.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].at, Duration::ZERO);
    assert!(sent[1..].iter().all(|s| s.at == Duration::from_secs(10)), "{sent:?}");
    let events = events.lock().unwrap();
    assert!(
        events.iter().any(|e| matches!(e, Event::Throttled { operation: rein_core::Operation::Query, until, .. } if *until >= Moment::from_secs(10))),
        "the query was held by the pause: {events:?}"
    );
}

#[test]
fn a_limiter_shared_between_clients_pauses_both() {
    let clock = ManualClock::new();
    let timeline = Timeline::new(&clock);
    let limiter = Arc::new(Limiter::default());
    let (log_a, log_b) = (Log::on(&clock), Log::on(&clock));
    let a = Jack::builder(KEY)
        .transport(scripted(&log_a, |n, _| if n == 0 { too_many("5") } else { ok(USAGE) }))
        .limiter(limiter.clone())
        .clock(clock.clone())
        .sleeper(timeline.clone())
        .build()
        .unwrap();
    let b = Jack::builder(KEY)
        .transport(scripted(&log_b, |_, _| ok(USAGE)))
        .limiter(limiter.clone())
        .clock(clock.clone())
        .sleeper(timeline.clone())
        .build()
        .unwrap();
    let rb = Arc::new(Mutex::new(None));
    let answer = Arc::clone(&rb);
    timeline.at(Duration::from_secs(1), move || *answer.lock().unwrap() = Some(b.usage()));
    a.usage().unwrap();
    rb.lock().unwrap().take().expect("b ran").unwrap();
    assert_eq!(log_a.times_ms(), [0, 5000]);
    assert_eq!(log_b.times_ms(), [5000], "the other client waited out the same pause");
}

#[test]
fn the_61st_jack_request_in_a_minute_waits_for_the_window() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .virtual_time(&log.clock())
        .build()
        .unwrap();
    for _ in 0..61 {
        jack.usage().unwrap();
    }
    let times = log.times_ms();
    assert!(times[..60].iter().all(|&t| t == 0), "{times:?}");
    // The first leaves the window at 60 s; the limiter's margin covers latency differences.
    assert_eq!(times[60], 60_500, "the 61st goes when the first leaves the window");
}

#[test]
fn the_window_can_be_changed_or_turned_off() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .rate_limit(Some(Window::per_minute(2)))
        .virtual_time(&log.clock())
        .build()
        .unwrap();
    for _ in 0..3 {
        jack.usage().unwrap();
    }
    assert_eq!(log.times_ms(), [0, 0, 60_500]);

    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .rate_limit(None)
        .virtual_time(&log.clock())
        .build()
        .unwrap();
    for _ in 0..100 {
        jack.usage().unwrap();
    }
    assert!(log.times_ms().iter().all(|&t| t == 0));
}

#[test]
fn clients_built_at_different_times_share_one_window() {
    let log = Log::new();
    let clock = log.clock();
    let limiter: Arc<dyn rein_core::RateLimit> = Arc::new(Limiter::default());
    let first = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .limiter(Arc::clone(&limiter))
        .virtual_time(&clock)
        .build()
        .unwrap();
    clock.advance(Duration::from_secs(600));
    let second = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| ok(USAGE)))
        .limiter(limiter)
        .virtual_time(&clock)
        .build()
        .unwrap();
    for _ in 0..60 {
        first.usage().unwrap();
    }
    let start = elapsed(&clock);
    second.usage().unwrap();
    assert_eq!(
        elapsed(&clock) - start,
        Duration::from_millis(60_500),
        "the second client sees the first's requests"
    );
}
