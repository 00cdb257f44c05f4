//! Both limiters against a `redis-server` of the test's own: the window and its priority lanes,
//! the shared pause, and what happens when Redis is away (refused, silent, back again).

mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::redis;
use rein::core::{
    Ask, AsyncSharedLimit, Events, Moment, Now, Operation, Priority, Report, SharedLimit,
};
use rein::Event;
use rein_redis::testing::RedisServer;
use rein_redis::{AsyncRedisLimiter, Budget, RedisLimiter};

const QUERY: Ask = Ask { operation: Operation::Query, priority: Priority::Interactive };
const BULK: Ask = Ask { operation: Operation::ListDocuments, priority: Priority::Bulk };
const JOCKEY: Ask = Ask { operation: Operation::ListAssets, priority: Priority::Interactive };

fn now() -> Now {
    Now::fake(100.0)
}

/// Events, and what they were.
fn recorded() -> (Events, Arc<Mutex<Vec<Event>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    (Events::to(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()))), seen)
}

fn throttled(operation: Operation, wait: Duration) -> Report {
    Report { operation, throttled: true, pause_until: Some(now().moment + wait), advertised: None }
}

/// How long from `now()` a refusal says to wait.
fn wait_of(slot: Result<(), Moment>) -> Duration {
    slot.expect_err("refused").saturating_since(now().moment)
}

#[test]
fn sixty_a_minute_for_all_processes_with_a_share_kept_for_interactive_calls() {
    let Some(redis) = redis() else { return };
    let budget = Budget::new(&redis.url(), "lanes").unwrap();
    // Two processes' limiters, one budget.
    let (a, b) = (RedisLimiter::new(budget.clone()), RedisLimiter::new(budget));
    let events = Events::default();
    for i in 0..48 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        assert_eq!(limiter.acquire(BULK, now(), &events), Ok(()), "bulk request {i}");
    }
    // Bulk work has used its 48; the caller's own calls still have 12, from either process.
    let wait = wait_of(a.acquire(BULK, now(), &events));
    assert!(wait > Duration::from_secs(59) && wait <= Duration::from_millis(60_500), "{wait:?}");
    for i in 0..12 {
        let limiter = if i % 2 == 0 { &b } else { &a };
        assert_eq!(limiter.acquire(QUERY, now(), &events), Ok(()), "interactive request {i}");
    }
    assert!(b.acquire(QUERY, now(), &events).is_err(), "the 61st of the minute waits");
    // Jockey has no window here: only a pause would hold it.
    for _ in 0..100 {
        assert_eq!(a.acquire(JOCKEY, now(), &events), Ok(()));
    }
}

#[test]
fn a_pause_holds_every_process_and_only_extends() {
    let Some(redis) = redis() else { return };
    let budget = Budget::new(&redis.url(), "pauses").unwrap();
    let (a, b) = (RedisLimiter::new(budget.clone()), RedisLimiter::new(budget.clone()));
    let events = Events::default();
    a.report(&throttled(Operation::Query, Duration::from_secs(30)), now(), &events);
    b.report(&throttled(Operation::Query, Duration::from_secs(5)), now(), &events);
    // A third process, which met no 429, is held by the longer of the two.
    let c = RedisLimiter::new(budget);
    let wait = wait_of(c.acquire(QUERY, now(), &events));
    assert!(wait > Duration::from_secs(29) && wait <= Duration::from_millis(30_001), "{wait:?}");
    // The process that met the shorter one is held by its own first, then by the shared one.
    assert_eq!(wait_of(b.acquire(QUERY, now(), &events)), Duration::from_secs(5));
    let later = now().advanced_to(now().moment + Duration::from_secs(5));
    let left = b.acquire(QUERY, later, &events).expect_err("still paused");
    assert!(left.saturating_since(later.moment) > Duration::from_secs(24), "{left:?}");
    assert_eq!(c.acquire(JOCKEY, now(), &events), Ok(()), "the other API is not paused");
    // At a time scale of 60, 600 s of the client's clock are 10 real seconds in Redis.
    let fast = now().with_rate(60.0);
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let report = Report {
        pause_until: Some(fast.moment + Duration::from_secs(600)),
        ..throttled(Operation::ListAssets, Duration::ZERO)
    };
    a.report(&report, fast, &events);
    let key = "rein:jockey:pauses:pause";
    let left: i64 = redis::cmd("PTTL").arg(key).query(&mut connection).unwrap();
    assert!((9_000..=10_001).contains(&left), "600 s at 60 times real speed is 10 s: {left} ms");
}

#[test]
fn the_async_limiter_draws_from_the_same_budget() {
    let Some(redis) = redis() else { return };
    let budget = Budget::new(&redis.url(), "both").unwrap();
    let blocking = RedisLimiter::new(budget.clone());
    let events = Events::default();
    for _ in 0..30 {
        assert_eq!(blocking.acquire(QUERY, now(), &events), Ok(()));
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    let runtime = runtime.worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let limiter = AsyncRedisLimiter::new(budget);
        // Forty tasks at once, on one multiplexed connection.
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire(QUERY, now(), &Events::default()).await.is_ok()
                })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            granted += usize::from(task.await.unwrap());
        }
        assert_eq!(granted, 30, "the other 30 of the minute");
        limiter.report(throttled(Operation::Query, Duration::from_secs(20)), now(), &events).await;
    });
    let wait = wait_of(blocking.acquire(QUERY, now(), &events));
    assert!(wait > Duration::from_secs(19), "the async process's pause holds it: {wait:?}");
}

/// A budget with a short timeout that asks Redis again at once, for the outage tests.
fn impatient(url: &str, namespace: &str) -> Budget {
    Budget::new(url, namespace)
        .unwrap()
        .timeout(Duration::from_millis(100))
        .retry_every(Duration::ZERO)
}

/// A port on which something accepts connections and never answers.
fn silent() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    (listener, url)
}

fn assert_fell_back_once(seen: &Mutex<Vec<Event>>, reason: &str) {
    let seen = seen.lock().unwrap();
    let unavailable: Vec<_> =
        seen.iter().filter(|e| matches!(e, Event::SharedBudgetUnavailable { .. })).collect();
    assert_eq!(unavailable.len(), 1, "said once: {seen:?}");
    let Event::SharedBudgetUnavailable { reason: said, local_share } = unavailable[0] else {
        unreachable!()
    };
    assert!(said.contains(reason), "{said}");
    assert_eq!(*local_share, 0.25);
}

#[test]
fn a_silent_redis_costs_one_timeout_then_the_local_share_holds() {
    let (_listener, url) = silent();
    let limiter =
        RedisLimiter::new(impatient(&url, "silent").retry_every(Duration::from_secs(3600)));
    let (events, seen) = recorded();
    let started = std::time::Instant::now();
    // A quarter of jack's 60, and no more.
    for i in 0..15 {
        assert_eq!(limiter.acquire(QUERY, now(), &events), Ok(()), "local request {i}");
    }
    assert!(limiter.acquire(QUERY, now(), &events).is_err());
    assert!(started.elapsed() < Duration::from_secs(5), "no hang: {:?}", started.elapsed());
    assert_fell_back_once(&seen, "Redis");
}

#[test]
fn the_async_limiter_falls_back_without_blocking_and_says_so_once() {
    let (_listener, url) = silent();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (events, seen) = recorded();
    runtime.block_on(async {
        let limiter = AsyncRedisLimiter::new(impatient(&url, "silent-async"));
        let mut granted = 0;
        for _ in 0..20 {
            granted += usize::from(limiter.acquire(QUERY, now(), &events).await.is_ok());
        }
        assert_eq!(granted, 15, "a quarter of jack's 60");
    });
    assert_fell_back_once(&seen, "Redis");
}

#[test]
fn a_redis_that_comes_back_is_rejoined() {
    let Some(mut redis) = redis() else { return };
    let port = redis.addr().port();
    let url = redis.url();
    let blocking = RedisLimiter::new(impatient(&url, "back"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let asynchronous = AsyncRedisLimiter::new(impatient(&url, "back"));
    let (events, seen) = recorded();
    let both = |expect: &str| {
        let a = blocking.acquire(QUERY, now(), &events);
        let b = runtime.block_on(asynchronous.acquire(QUERY, now(), &events));
        assert_eq!((a, b), (Ok(()), Ok(())), "{expect}");
    };
    both("shared");
    redis.kill();
    both("local");
    both("local, said once");
    let _back = RedisServer::start_on(port).expect("redis-server again on its port");
    both("shared again");
    let seen = seen.lock().unwrap();
    let said: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::SharedBudgetUnavailable { .. } => Some("unavailable"),
            Event::SharedBudgetRejoined => Some("rejoined"),
            _ => None,
        })
        .collect();
    assert_eq!(said, ["unavailable", "unavailable", "rejoined", "rejoined"], "{seen:?}");
    // The budget rejoined is the shared one: two requests in it.
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let held: u64 = redis::cmd("ZCARD").arg("rein:jack:back:window").query(&mut c).unwrap();
    assert_eq!(held, 2);
}
