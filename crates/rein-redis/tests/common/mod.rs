//! What the shared-budget tests share: a `redis-server` of their own, an emulator running fast,
//! worker processes (this test binary run again as one worker), and checks of the emulator's
//! log.

#![allow(dead_code, unreachable_pub)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rein::{Event, RetryReason};
use rein_emulator::{Clock, Config, LogEntry, RunningServer, ServerConfig, DEMO_JACK_KEY};
use rein_redis::testing::RedisServer;
use rein_redis::{AsyncRedisLimiter, Budget, RedisLimiter};
use serde_json::{json, Value};

/// Emulated seconds per real second: jack's minute lasts one real second.
pub const SPEED: f64 = 60.0;

/// The margin each request holds its slot for, on the clients' clock: 3 s at 60 times real
/// speed is 50 ms of real time, room for a worker descheduled between taking its slot and
/// sending (the default 500 ms would be 8 ms of real time here).
pub const MARGIN: Duration = Duration::from_secs(3);

/// The tasks of an async worker, each sending its queries one after the other.
const ASYNC_TASKS: u32 = 5;

/// The environment variable that turns this test binary into a worker.
const WORKER_VAR: &str = "REIN_REDIS_WORKER";

/// What a worker prints before its report.
const REPORT_PREFIX: &str = "REIN_REDIS_WORKER_REPORT ";

/// The longest a group of workers may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(90);

/// Held by each test that runs workers: four processes at a time, not sixteen, on a machine of
/// two cores, so that the timing they are checked against is theirs.
pub static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`ONE_AT_A_TIME`] (a test that failed holding it does not stop the others).
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `redis-server` of the test's own, or `None` (the test skips) where none is installed
/// outside CI. Under `CI=true` a missing server fails the test.
pub fn redis() -> Option<RedisServer> {
    if !RedisServer::installed() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "redis-server is not installed (CI=true requires it: apt-get install redis-server)"
            );
        }
        rein_reference::skip("redis-server is not installed (apt-get install redis-server)");
        return None;
    }
    Some(RedisServer::start().expect("redis-server starts"))
}

/// An emulator with jack's 60 requests per minute, running [`SPEED`] times real time.
pub fn emulator() -> RunningServer {
    let config = ServerConfig {
        clock: Clock::scaled(SPEED),
        emulator: Config::default(),
        ..ServerConfig::default()
    };
    rein_emulator::spawn(config).expect("the emulator starts")
}

/// Which adapter a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    Blocking,
    Async,
}

/// One worker: `queries` jack queries through the shared budget.
#[derive(Clone, Debug)]
pub struct Worker {
    pub adapter: Adapter,
    pub redis: String,
    pub namespace: String,
    pub jack: String,
    pub queries: u32,
}

/// What a worker did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub succeeded: u32,
    pub errors: Vec<String>,
    /// Retries after a 429 (each 429 the worker received).
    pub rate_limited: u32,
    pub unavailable: u32,
    pub rejoined: u32,
    /// Requests the limiter held (a window full, or a pause).
    pub throttled: u32,
}

impl Worker {
    pub fn new(
        adapter: Adapter,
        redis: &RedisServer,
        namespace: &str,
        jack: &RunningServer,
        queries: u32,
    ) -> Self {
        Worker {
            adapter,
            redis: redis.url(),
            namespace: namespace.to_owned(),
            jack: jack.jack_base_url(),
            queries,
        }
    }

    /// Starts this worker as a process of its own: this test binary, running only [`serve`].
    pub fn spawn(&self) -> Running {
        let spec = json!({
            "adapter": if self.adapter == Adapter::Blocking { "blocking" } else { "async" },
            "redis": self.redis,
            "namespace": self.namespace,
            "jack": self.jack,
            "queries": self.queries,
        });
        let child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "worker", "--nocapture", "--test-threads=1"])
            .env(WORKER_VAR, spec.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("a worker process starts");
        Running { child, started: Instant::now() }
    }
}

/// A worker process on its way; killed if dropped before its report (a test that failed).
pub struct Running {
    child: Child,
    started: Instant,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// Waits for the worker's report; kills it and fails if it takes longer than a hang.
    pub fn report(mut self) -> Report {
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting on a worker") {
                let mut out = String::new();
                std::io::Read::read_to_string(
                    self.child.stdout.as_mut().expect("stdout"),
                    &mut out,
                )
                .expect("reading a worker's output");
                assert!(status.success(), "a worker failed ({status}):\n{out}");
                let line = out
                    .lines()
                    .find_map(|l| l.split_once(REPORT_PREFIX).map(|(_, report)| report))
                    .unwrap_or_else(|| panic!("a worker printed no report:\n{out}"));
                return parse_report(line);
            }
            if self.started.elapsed() > HANG {
                let _ = self.child.kill();
                panic!("a worker hung: still running after {HANG:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn parse_report(line: &str) -> Report {
    let v: Value = serde_json::from_str(line).expect("a report is JSON");
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {line}")) as u32;
    Report {
        succeeded: n("succeeded"),
        errors: v["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e.as_str().unwrap_or("").to_owned())
            .collect(),
        rate_limited: n("rate_limited"),
        unavailable: n("unavailable"),
        rejoined: n("rejoined"),
        throttled: n("throttled"),
    }
}

/// The worker's side: runs the spec in [`WORKER_VAR`], if there is one, and prints its report.
pub fn serve() {
    let Ok(spec) = std::env::var(WORKER_VAR) else { return };
    let spec: Value = serde_json::from_str(&spec).expect("a worker spec");
    let text = |k: &str| spec[k].as_str().expect(k).to_owned();
    let budget = Budget::new(&text("redis"), &text("namespace")).expect("a budget").margin(MARGIN);
    let queries = spec["queries"].as_u64().expect("queries") as u32;
    let counters = Arc::new(Counters::default());
    let hook = {
        let counters = Arc::clone(&counters);
        move |event: &Event| counters.count(event)
    };
    let results: Vec<Result<(), String>> = if text("adapter") == "blocking" {
        let jack = rein::blocking::Jack::builder(DEMO_JACK_KEY)
            .base_url(text("jack"))
            .time_scale(SPEED)
            .shared_limiter(RedisLimiter::new(budget))
            .on_event(hook)
            .build()
            .expect("a blocking client");
        (0..queries)
            .map(|i| jack.query(&format!("question {i}")).map(drop).map_err(|e| e.to_string()))
            .collect()
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let jack = rein::asynchronous::Jack::builder(DEMO_JACK_KEY)
                .base_url(text("jack"))
                .time_scale(SPEED)
                .shared_limiter(AsyncRedisLimiter::new(budget))
                .on_event(hook)
                .build()
                .expect("an async client");
            // Five tasks at a time, sharing the one multiplexed connection.
            let mut tasks = tokio::task::JoinSet::new();
            for lane in 0..ASYNC_TASKS {
                let jack = jack.clone();
                tasks.spawn(async move {
                    let mut results = Vec::new();
                    for i in (lane..queries).step_by(ASYNC_TASKS as usize) {
                        let answer = jack.query(&format!("question {i}")).await;
                        results.push(answer.map(drop).map_err(|e| e.to_string()));
                    }
                    results
                });
            }
            let mut results = Vec::new();
            while let Some(done) = tasks.join_next().await {
                results.extend(done.expect("a query task"));
            }
            results
        })
    };
    let errors: Vec<String> = results.iter().filter_map(|r| r.clone().err()).collect();
    let report = json!({
        "succeeded": results.iter().filter(|r| r.is_ok()).count(),
        "errors": errors,
        "rate_limited": counters.rate_limited.load(Ordering::SeqCst),
        "unavailable": counters.unavailable.load(Ordering::SeqCst),
        "rejoined": counters.rejoined.load(Ordering::SeqCst),
        "throttled": counters.throttled.load(Ordering::SeqCst),
    });
    println!("{REPORT_PREFIX}{report}");
}

#[derive(Default)]
struct Counters {
    rate_limited: AtomicU32,
    unavailable: AtomicU32,
    rejoined: AtomicU32,
    throttled: AtomicU32,
}

impl Counters {
    fn count(&self, event: &Event) {
        let counter = match event {
            Event::RetryScheduled { reason: RetryReason::Status(429), .. } => &self.rate_limited,
            Event::SharedBudgetUnavailable { .. } => &self.unavailable,
            Event::SharedBudgetRejoined => &self.rejoined,
            Event::Throttled { .. } => &self.throttled,
            _ => return,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// The jack requests of the emulator's log.
pub fn jack_requests(server: &RunningServer) -> Vec<LogEntry> {
    server.log().into_iter().filter(|e| e.api == Some(rein::Api::Jack)).collect()
}

/// The most requests that arrived within any window of `window` (emulated time).
pub fn busiest_window(entries: &[LogEntry], window: Duration) -> usize {
    let mut arrivals: Vec<_> = entries.iter().map(|e| e.at).collect();
    arrivals.sort();
    let mut busiest = 0;
    let mut first = 0;
    for (last, &at) in arrivals.iter().enumerate() {
        while at.saturating_since(arrivals[first]) >= window {
            first += 1;
        }
        busiest = busiest.max(last - first + 1);
    }
    busiest
}
