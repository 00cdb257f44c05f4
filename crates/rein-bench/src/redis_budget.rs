//! `rein-bench redis`: acquisitions through rein-redis's limiters against a `redis-server` of
//! its own on loopback: from one caller, and from eight at once; the rate and the latency of
//! one acquisition (p50, p99).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rein_core::{
    Api, Ask, AsyncSharedLimit, Events, Now, Operation, Priority, SharedLimit, Window,
};
use rein_redis::testing::RedisServer;
use rein_redis::{AsyncRedisLimiter, Budget, RedisLimiter};

use crate::Result;

/// Acquisitions per caller.
const PER_CALLER: usize = 20_000;
const CALLERS: usize = 8;

const ASK: Ask = Ask { operation: Operation::Query, priority: Priority::Interactive };

/// A window no acquisition here fills, so that every one takes the whole path of the script
/// (pause, trim, count, add).
const WIDE: Window = Window { max_requests: u32::MAX, window: Duration::from_secs(60) };

pub(crate) fn run() -> Result {
    if !RedisServer::installed() {
        println!("redis-server is not installed (apt-get install redis-server): not measured");
        return Ok(());
    }
    let server = RedisServer::start()?;
    let budget = |name: &str| -> Result<Budget> {
        Ok(Budget::new(&server.url(), name)?.window(Api::Jack, Some(WIDE)))
    };
    println!("| limiter | callers | acquisitions | per second | p50 | p99 |");
    println!("|---|---|---|---|---|---|");
    let blocking = RedisLimiter::new(budget("bench-blocking")?);
    // Warm up: the connection, the script loaded into Redis.
    blocking.acquire(ASK, now(), &Events::default()).ok();
    for callers in [1, CALLERS] {
        let started = Instant::now();
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let limiter = blocking.clone();
                std::thread::spawn(move || timed_blocking(&limiter))
            })
            .collect();
        let mut latencies = Vec::new();
        for thread in threads {
            latencies.extend(thread.join().map_err(|_| "a caller panicked")??);
        }
        row("RedisLimiter (blocking)", callers, started.elapsed(), latencies);
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let limiter = Arc::new(AsyncRedisLimiter::new(budget("bench-async")?));
    runtime
        .block_on(async {
            limiter.acquire(ASK, now(), &Events::default()).await.ok();
            for callers in [1, CALLERS] {
                let started = Instant::now();
                let tasks: Vec<_> = (0..callers)
                    .map(|_| {
                        let limiter = Arc::clone(&limiter);
                        tokio::spawn(async move { timed_async(&limiter).await })
                    })
                    .collect();
                let mut latencies = Vec::new();
                for task in tasks {
                    latencies.extend(task.await.map_err(|_| "a caller panicked".to_owned())??);
                }
                row("AsyncRedisLimiter (async)", callers, started.elapsed(), latencies);
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn now() -> Now {
    // Redis measures the window by its own clock; the client's only converts waits.
    Now::fake(0.0)
}

type Timed = std::result::Result<Vec<Duration>, String>;

fn timed_blocking(limiter: &RedisLimiter) -> Timed {
    let events = Events::default();
    let mut latencies = Vec::with_capacity(PER_CALLER);
    for _ in 0..PER_CALLER {
        let start = Instant::now();
        limiter
            .acquire(ASK, now(), &events)
            .map_err(|_| "an acquisition was refused".to_owned())?;
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}

async fn timed_async(limiter: &AsyncRedisLimiter) -> Timed {
    let events = Events::default();
    let mut latencies = Vec::with_capacity(PER_CALLER);
    for _ in 0..PER_CALLER {
        let start = Instant::now();
        limiter
            .acquire(ASK, now(), &events)
            .await
            .map_err(|_| "an acquisition was refused".to_owned())?;
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}

fn row(name: &str, callers: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    println!(
        "| {name} | {callers} | {} | {:.0} | {} | {} |",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        us(at(0.50)),
        us(at(0.99)),
    );
}
