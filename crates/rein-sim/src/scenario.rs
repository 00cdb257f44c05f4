//! The scenarios, how each strategy runs on them, and what is measured.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use rein_core::Body;
use rein_emulator::{Config, Span};
use serde_json::{json, Value};

use crate::strategy::{self, Tally, BATCH, QUERY_EVERY};
use crate::world::{setup_jockey, World, LATENCY};

/// A scenario of the issue that introduced Fleet, at full size or the short size CI runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// (a) knowledge store items, each ready at a uniform time in 1-10 min, 2% failing; the
    /// server allows 300 requests per minute.
    Items {
        /// How many items.
        count: usize,
    },
    /// (b) jack: ingest text documents and wait until all are ready (each 5-60 s after its
    /// ingest); 60 requests per minute.
    Documents {
        /// How many documents.
        count: usize,
    },
    /// (c) jack: ingest documents with `ingest_many` and wait for all, while the caller also
    /// sends one query every 10 s for the whole run.
    DocumentsAndQueries {
        /// How many documents.
        count: usize,
    },
}

impl Scenario {
    /// The three scenarios at full size: 1,000 items, 1,000 documents, 3,000 documents.
    pub const FULL: [Scenario; 3] = [
        Scenario::Items { count: 1000 },
        Scenario::Documents { count: 1000 },
        Scenario::DocumentsAndQueries { count: 3000 },
    ];

    /// The short version CI runs: 100 items, 100 documents, 300 documents.
    pub const SHORT: [Scenario; 3] = [
        Scenario::Items { count: 100 },
        Scenario::Documents { count: 100 },
        Scenario::DocumentsAndQueries { count: 300 },
    ];

    /// Its letter: `a`, `b` or `c`.
    pub fn letter(&self) -> &'static str {
        match self {
            Scenario::Items { .. } => "a",
            Scenario::Documents { .. } => "b",
            Scenario::DocumentsAndQueries { .. } => "c",
        }
    }

    /// How many ids it waits on.
    pub fn count(&self) -> usize {
        match *self {
            Scenario::Items { count }
            | Scenario::Documents { count }
            | Scenario::DocumentsAndQueries { count } => count,
        }
    }

    fn config(&self, seed: u64) -> Config {
        let mut config = Config { seed, ..Config::default() };
        match self {
            Scenario::Items { .. } => {
                // 300 requests per minute once the setup is done (see `run_in`).
                config.failure_rate = 0.02;
                // Assets are ready at once: the scenario is about the items.
                config.timing.asset_url = Span::secs(0, 0);
                config.timing.item = Span::secs(60, 600);
            }
            Scenario::Documents { .. } | Scenario::DocumentsAndQueries { .. } => {
                config.timing.document = Span::secs(5, 60);
            }
        }
        config
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scenario::Items { count } => write!(f, "(a) {count} items, 300 rpm"),
            Scenario::Documents { count } => write!(f, "(b) {count} documents, 60 rpm"),
            Scenario::DocumentsAndQueries { count } => {
                write!(f, "(c) {count} documents + a query every 10 s, 60 rpm")
            }
        }
    }
}

/// The Jockey limit of scenario (a), per key per minute.
pub const ITEMS_RPM: u32 = 300;

/// Who waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// rein: `ingest_many` and a fleet, on one client.
    Rein,
    /// The references' documented pattern as written.
    Reference,
    /// Every id polled on its own at the preset interval.
    Naive,
}

impl Strategy {
    /// All three, in the order they are reported.
    pub const ALL: [Strategy; 3] = [Strategy::Rein, Strategy::Reference, Strategy::Naive];

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Rein => "rein",
            Strategy::Reference => "reference",
            Strategy::Naive => "naive",
        }
    }
}

/// One scenario run by one strategy: what the issue asks to report, and a little more.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `a`, `b` or `c`.
    pub scenario: &'static str,
    /// `rein`, `reference` or `naive`.
    pub strategy: &'static str,
    /// Ids waited on.
    pub ids: usize,
    /// Requests sent.
    pub requests: u64,
    /// Of them, answered 429.
    pub rate_limited: u64,
    /// Ids whose end the caller did not get right (not received, timed out, given up).
    pub lost: usize,
    /// From the start until the strategy returned.
    pub makespan: Duration,
    /// The least time any client could need under the server's limit (for (c), the bulk job
    /// alone).
    pub floor: Duration,
    /// For (c): the same, with the caller's queries served as they come (each takes a slot).
    pub floor_with_queries: Option<Duration>,
    /// From each id's end to when the strategy knew of it: median and 99th percentile.
    pub lag_p50: Option<Duration>,
    /// See `lag_p50`.
    pub lag_p99: Option<Duration>,
    /// For (c): how long the queries waited beyond a request's latency, median and 99th.
    pub query_wait_p50: Option<Duration>,
    /// See `query_wait_p50`.
    pub query_wait_p99: Option<Duration>,
    /// For (c): queries that failed.
    pub queries_failed: Option<u32>,
}

impl Row {
    /// The row as one JSON object, times in seconds.
    pub fn to_json(&self) -> Value {
        let secs = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        let opt = |d: Option<Duration>| d.map(secs);
        let mut row = json!({
            "scenario": self.scenario,
            "strategy": self.strategy,
            "ids": self.ids,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "lost": self.lost,
            "makespan_s": secs(self.makespan),
            "floor_s": secs(self.floor),
            "makespan_over_floor": (self.makespan.as_secs_f64() / self.floor.as_secs_f64() * 1000.0).round() / 1000.0,
            "lag_p50_s": opt(self.lag_p50),
            "lag_p99_s": opt(self.lag_p99),
        });
        if self.scenario == "c" {
            row["query_wait_p50_s"] = json!(opt(self.query_wait_p50));
            row["query_wait_p99_s"] = json!(opt(self.query_wait_p99));
            row["queries_failed"] = json!(self.queries_failed);
            row["floor_with_queries_s"] = json!(opt(self.floor_with_queries));
        }
        row
    }
}

/// Runs `scenario` with `strategy` in a world seeded by `seed`, in virtual time.
pub fn run(scenario: Scenario, strategy: Strategy, seed: u64) -> Row {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(run_in(scenario, strategy, seed))
}

async fn run_in(scenario: Scenario, strategy: Strategy, seed: u64) -> Row {
    let world = World::new(scenario.config(seed));
    let count = scenario.count();
    let (tally, ids) = match scenario {
        Scenario::Items { .. } => {
            let (store, ids) = store_with_items(&world, count);
            world.limit_jockey(Some(ITEMS_RPM));
            let tally = match strategy {
                Strategy::Rein => strategy::rein_items(&world, &store, &ids).await,
                Strategy::Reference => {
                    let mut tally = Tally::default();
                    strategy::reference_wait(&world, &ids, strategy::item_get(&store), &mut tally)
                        .await;
                    tally.end = world.elapsed();
                    tally
                }
                Strategy::Naive => {
                    let mut tally = Tally::default();
                    let get = strategy::item_get(&store);
                    let (interval, timeout) = (Duration::from_secs(10), Duration::from_secs(600));
                    strategy::naive_wait(&world, &ids, get, interval, timeout, &mut tally).await;
                    tally.end = world.elapsed();
                    tally
                }
            };
            (tally, ids)
        }
        Scenario::Documents { .. } | Scenario::DocumentsAndQueries { .. } => {
            let queries = matches!(scenario, Scenario::DocumentsAndQueries { .. });
            let tally = match strategy {
                Strategy::Rein => strategy::rein_documents(&world, count, queries).await,
                Strategy::Reference => {
                    strategy::plain_documents(&world, count, queries, false).await
                }
                Strategy::Naive => strategy::plain_documents(&world, count, queries, true).await,
            };
            let ids = world.ingests().into_iter().flat_map(|(_, ids)| ids).collect();
            (tally, ids)
        }
    };
    measure(&world, scenario, strategy, &ids, &tally)
}

/// A store with `count` items, all added at the start with the setup key.
fn store_with_items(world: &World, count: usize) -> (String, Vec<String>) {
    let created = world.setup(setup_jockey(
        http::Method::POST,
        "/knowledge-stores",
        json_body(&json!({"name": "fleet"})),
    ));
    let store = id_of(created.body());
    let mut items = Vec::with_capacity(count);
    let mut n = 0;
    while items.len() < count {
        n += 1;
        let form = rein_core::Multipart::new("sim-boundary")
            .text("method", "url")
            .text("url", format!("https://example.com/video-{n}.mp4"));
        let asset = id_of(
            world.setup(setup_jockey(http::Method::POST, "/assets", Body::Multipart(form))).body(),
        );
        // An asset drawn to fail cannot be added: make another.
        if world.settles(&asset).is_some_and(|(_, status)| status == "ready") {
            let body = json_body(&json!({"asset_id": asset}));
            let path = format!("/knowledge-stores/{store}/items");
            items.push(id_of(world.setup(setup_jockey(http::Method::POST, &path, body)).body()));
        }
    }
    (store, items)
}

fn json_body(value: &Value) -> Body {
    Body::Bytes(Bytes::from(value.to_string()))
}

fn id_of(body: &Bytes) -> String {
    let value: Value = serde_json::from_slice(body).expect("a JSON answer");
    value["_id"].as_str().expect("an id").to_owned()
}

fn measure(
    world: &World,
    scenario: Scenario,
    strategy: Strategy,
    ids: &[String],
    tally: &Tally,
) -> Row {
    let (requests, rate_limited) = world.counts();
    let mut lags = Vec::new();
    let mut right = 0;
    for id in ids {
        let Some((settled, truth)) = world.settles(id) else { continue };
        if tally.delivered.get(id) == Some(&truth) {
            right += 1;
        }
        if let Some(noticed) = tally.noticed.get(id) {
            lags.push(noticed.saturating_sub(settled));
        }
    }
    // Ids never ingested are lost too.
    let lost = scenario.count() - right;
    lags.sort();
    let mut waits = tally.query_waits.clone();
    waits.sort();
    let (floor, floor_with_queries) = floors(world, scenario, ids);
    let queries = matches!(scenario, Scenario::DocumentsAndQueries { .. });
    Row {
        scenario: scenario.letter(),
        strategy: strategy.name(),
        ids: scenario.count(),
        requests,
        rate_limited,
        lost,
        makespan: tally.end,
        floor,
        floor_with_queries,
        lag_p50: percentile(&lags, 0.50),
        lag_p99: percentile(&lags, 0.99),
        query_wait_p50: queries.then(|| percentile(&waits, 0.50)).flatten(),
        query_wait_p99: queries.then(|| percentile(&waits, 0.99)).flatten(),
        queries_failed: queries.then_some(tally.queries_failed),
    }
}

/// The value below which a share `p` of `sorted` lies (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The floors of a run: the least time any client could need, from the world's own truth.
///
/// - (a): every item is created at the start; a client needs one request answered after the
///   last one settles: the last settle plus one latency.
/// - (b), (c): the ingests go as early as jack's 60-per-minute window allows (all at once
///   within it; every later one 60 s after the one 60 before), the documents of each settle
///   their drawn processing time after it arrives, and one list must arrive after the last
///   settles, in a slot of the window too. With queries, each query takes its slot when it is
///   due, and the ingests take the slots left.
fn floors(world: &World, scenario: Scenario, ids: &[String]) -> (Duration, Option<Duration>) {
    match scenario {
        Scenario::Items { .. } => {
            let last = ids.iter().filter_map(|id| world.settles(id)).map(|(at, _)| at).max();
            (last.unwrap_or_default() + LATENCY, None)
        }
        Scenario::Documents { count } | Scenario::DocumentsAndQueries { count } => {
            // Each document's processing time, by its place in the input (ingest order).
            let mut delays = Vec::new();
            for (handled, ids) in world.ingests() {
                for id in ids {
                    if let Some((settled, _)) = world.settles(&id) {
                        delays.push(settled.saturating_sub(handled));
                    }
                }
            }
            let batches = count.div_ceil(BATCH);
            let alone = jack_floor(&delays, batches, &[]);
            let with_queries =
                matches!(scenario, Scenario::DocumentsAndQueries { .. }).then(|| {
                    // The caller's queries are due every 10 s while the job lasts.
                    let pinned: Vec<Duration> =
                        (0..).map(|i| QUERY_EVERY * i).take_while(|t| *t < alone * 4).collect();
                    jack_floor(&delays, batches, &pinned)
                });
            (alone, with_queries)
        }
    }
}

/// The floor of a jack job: `batches` ingests (documents in order, `BATCH` each, with their
/// processing `delays`), then one list, under 60 requests per 60 s, around `pinned` requests.
fn jack_floor(delays: &[Duration], batches: usize, pinned: &[Duration]) -> Duration {
    let window = Duration::from_secs(60);
    let mut used: Vec<Duration> = pinned.to_vec();
    let mut sends = Vec::with_capacity(batches + 1);
    let mut earliest = Duration::ZERO;
    for _ in 0..=batches {
        let at = first_free_slot(&used, earliest, 60, window);
        used.push(at);
        sends.push(at);
        earliest = at;
    }
    let list_slot = sends.pop().unwrap_or_default();
    let settled = delays
        .iter()
        .enumerate()
        .map(|(i, delay)| sends.get(i / BATCH).copied().unwrap_or_default() + LATENCY / 2 + *delay)
        .max()
        .unwrap_or_default();
    // The list arrives after the last settle, and in a slot of its own.
    let list_arrives = settled.max(list_slot + LATENCY / 2);
    list_arrives + LATENCY / 2
}

/// The earliest moment at or after `from` when one more request keeps every window of
/// `window` at `limit` requests or fewer, given those already `used`. (A window holds the
/// requests that arrived in the `window` up to and including its end, as the emulator counts.)
fn first_free_slot(used: &[Duration], from: Duration, limit: usize, window: Duration) -> Duration {
    let fits = |t: Duration| {
        // The windows a request at t falls in end at t or at a later request within `window`.
        let ends =
            std::iter::once(t).chain(used.iter().copied().filter(|&u| u >= t && u < t + window));
        ends.into_iter().all(|end| {
            let inside = used.iter().filter(|&&u| u <= end && u + window > end).count();
            inside < limit
        })
    };
    // A slot frees when a request leaves the window: `window` after it.
    let mut candidates: Vec<Duration> = std::iter::once(from)
        .chain(used.iter().map(|&u| u + window).filter(|&c| c > from))
        .collect();
    candidates.sort();
    candidates.into_iter().find(|&c| fits(c)).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_requests_fit_in_the_first_minute_and_the_next_waits_for_the_first_to_leave() {
        let mut used = Vec::new();
        for _ in 0..60 {
            let at = first_free_slot(&used, Duration::ZERO, 60, Duration::from_secs(60));
            assert_eq!(at, Duration::ZERO);
            used.push(at);
        }
        let next = first_free_slot(&used, Duration::ZERO, 60, Duration::from_secs(60));
        assert_eq!(next, Duration::from_secs(60));
        // A query pinned at 50 s keeps its slot: the 60th request of the minute goes after.
        let pinned = vec![Duration::from_secs(50)];
        let mut used = pinned.clone();
        for _ in 0..59 {
            used.push(first_free_slot(&used, Duration::ZERO, 60, Duration::from_secs(60)));
        }
        assert!(used[1..].iter().all(|t| t.is_zero()), "59 fit at once around the query");
        let next = first_free_slot(&used, Duration::ZERO, 60, Duration::from_secs(60));
        assert_eq!(next, Duration::from_secs(60), "the 60th waits for them to leave the window");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<Duration> = (1..=100).map(Duration::from_secs).collect();
        assert_eq!(percentile(&xs, 0.5), Some(Duration::from_secs(50)));
        assert_eq!(percentile(&xs, 0.99), Some(Duration::from_secs(99)));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
