//! Four OS processes, one Redis, one emulator limited to 60 jack requests a minute (run 60 times
//! real speed, so a minute lasts a second): the budget holds for all of them together, a 429
//! one of them sees pauses the others, and a Redis that dies mid-run leaves every process
//! finishing on its local share.

mod common;

use std::time::{Duration, Instant};

use common::{
    busiest_window, emulator, jack_requests, one_at_a_time, redis, Adapter, Report, Worker,
};
use rein_emulator::DEMO_JACK_KEY;

const MINUTE: Duration = Duration::from_secs(60);

/// The worker processes run this (and only this); in the test run itself it does nothing.
#[test]
fn worker() {
    common::serve();
}

fn run_four(adapters: [Adapter; 4], namespace: &str) {
    let _serial = one_at_a_time();
    let Some(redis) = redis() else { return };
    let jack = emulator();
    let workers: Vec<_> =
        adapters.iter().map(|&a| Worker::new(a, &redis, namespace, &jack, 50).spawn()).collect();
    let reports: Vec<Report> = workers.into_iter().map(|w| w.report()).collect();
    for (adapter, report) in adapters.iter().zip(&reports) {
        assert_eq!(report.succeeded, 50, "{adapter:?} worker: {report:?}");
        assert_eq!(report.rate_limited, 0, "{adapter:?} worker met a 429: {report:?}");
        assert_eq!(report.unavailable, 0, "{adapter:?} worker lost Redis: {report:?}");
    }
    let log = jack_requests(&jack);
    assert_eq!(log.iter().filter(|e| e.status == 429).count(), 0, "the emulator refused none");
    assert_eq!(log.len(), 200, "one request per query, none repeated");
    assert!(log.iter().all(|e| e.status == 200), "every query answered");
    let busiest = busiest_window(&log, MINUTE);
    assert!(busiest <= 60, "a minute of the emulator's log holds {busiest} requests");
    // Not a budget four times too small: the window was used.
    assert!(busiest >= 55, "the busiest minute held only {busiest}");
}

#[test]
fn four_blocking_processes_share_sixty_a_minute() {
    run_four([Adapter::Blocking; 4], "blocking-four");
}

#[test]
fn blocking_and_async_processes_share_one_budget() {
    use Adapter::{Async, Blocking};
    run_four([Blocking, Async, Blocking, Async], "mixed-four");
}

#[test]
fn a_429_seen_by_one_process_pauses_the_others() {
    let _serial = one_at_a_time();
    let Some(redis) = redis() else { return };
    let jack = emulator();
    // Another client of the organisation, outside the budget, spends the emulator's minute.
    let outsider = rein::blocking::Jack::builder(DEMO_JACK_KEY)
        .base_url(jack.jack_base_url())
        .time_scale(jack.time_scale())
        .build()
        .expect("a client");
    for i in 0..60 {
        outsider.query(&format!("outside {i}")).expect("within the emulator's minute");
    }
    let namespace = "pause-shared";
    // The first worker's first query meets a 429 (Retry-After: 60), and shares the pause...
    let first = Worker::new(Adapter::Blocking, &redis, namespace, &jack, 3).spawn();
    let pause_key = format!("rein:jack:{namespace}:pause");
    let mut connection = redis::Client::open(redis.url())
        .and_then(|c| c.get_connection())
        .expect("a Redis connection");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !redis::cmd("EXISTS").arg(&pause_key).query::<bool>(&mut connection).expect("EXISTS") {
        assert!(Instant::now() < deadline, "no pause was shared");
        std::thread::sleep(Duration::from_millis(2));
    }
    // ...which holds three more processes, of both adapters, that never saw a 429.
    let others: Vec<_> = [Adapter::Blocking, Adapter::Async, Adapter::Async]
        .iter()
        .map(|&a| Worker::new(a, &redis, namespace, &jack, 5).spawn())
        .collect();
    let first = first.report();
    assert_eq!(first.succeeded, 3, "{first:?}");
    assert_eq!(first.rate_limited, 1, "the first worker met the one 429: {first:?}");
    for other in others {
        let report = other.report();
        assert_eq!(report.succeeded, 5, "{report:?}");
        assert_eq!(report.rate_limited, 0, "held by the shared pause, not by a 429: {report:?}");
        assert!(report.throttled >= 1, "the pause held it: {report:?}");
    }
    let log = jack_requests(&jack);
    let refused: Vec<_> = log.iter().filter(|e| e.status == 429).collect();
    assert_eq!(refused.len(), 1, "one 429 in all: {refused:?}");
    let (seq, at) = (refused[0].seq, refused[0].at);
    let until = at + refused[0].retry_after.expect("a Retry-After");
    let early: Vec<_> = log.iter().filter(|e| e.seq > seq && e.at < until).collect();
    assert!(early.is_empty(), "requests before the Retry-After had passed: {early:?}");
    assert_eq!(log.iter().filter(|e| e.seq > seq).count(), 3 + 15, "every query sent once after");
}

#[test]
fn redis_stopped_mid_run_leaves_every_process_finishing_on_its_local_share() {
    let _serial = one_at_a_time();
    let Some(mut redis) = redis() else { return };
    let jack = emulator();
    use Adapter::{Async, Blocking};
    let adapters = [Blocking, Async, Blocking, Async];
    // More queries than a minute holds: no worker can be done within the first.
    let workers: Vec<_> =
        adapters.iter().map(|&a| Worker::new(a, &redis, "outage", &jack, 80).spawn()).collect();
    // Redis goes away while the first minute's requests are out.
    let deadline = Instant::now() + Duration::from_secs(30);
    while jack_requests(&jack).len() < 40 {
        assert!(Instant::now() < deadline, "the workers sent nothing");
        std::thread::sleep(Duration::from_millis(2));
    }
    redis.kill();
    let before = jack_requests(&jack).len();
    assert!(before < 80, "no worker can have been done: {before} requests");
    for (adapter, worker) in adapters.iter().zip(workers) {
        let report = worker.report();
        assert_eq!(report.succeeded, 80, "{adapter:?} worker: {report:?}");
        assert_eq!(report.unavailable, 1, "{adapter:?} worker said so once: {report:?}");
        assert_eq!(report.rejoined, 0, "{report:?}");
    }
    let log = jack_requests(&jack);
    let answered = log.iter().filter(|e| e.status == 200).count();
    assert_eq!(answered, 320, "every query answered once");
    // Four local quarters keep to the limit together once the outage's first minute is over
    // (in it, a process that had sent less than its quarter through Redis may send the rest
    // on top of the others': any 429 that earns is retried like any other).
    let outage = log[before.min(log.len() - 1)].at;
    let settled: Vec<_> =
        log.iter().filter(|e| e.at >= outage + MINUTE + MINUTE).cloned().collect();
    assert!(settled.len() >= 60, "a minute and more on the local shares: {}", settled.len());
    let busiest = busiest_window(&settled, MINUTE);
    assert!(busiest <= 60, "a minute on the local shares holds {busiest} requests");
    assert!(settled.iter().all(|e| e.status == 200), "429s on the local shares");
}
