//! Loopback chaos, shared by both adapters' `tests/chaos.rs`: the server they run against, the
//! operations they draw, what they made, and the checks that find duplicates.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rein_core::{AssetId, DocumentId, ItemId, KnowledgeStoreId, Random, RetryPolicy, SplitMix64};

use super::Tally;
use crate::{spawn, Clock, Config, FaultPlan, LogEntry, RunningServer, ServerConfig, Span, Timing};

/// How much faster than real time the emulator runs.
pub const SPEED: f64 = 200.0;
/// Operations per run.
pub const OPERATIONS: usize = 520;
/// Threads (or tasks) running them at once.
pub const WORKERS: usize = 4;
/// The emulator's and the clients' seed.
pub const SEED: u64 = 2026;
/// Real time an operation may take before it counts as hung: every wait and call of the
/// clients ends far sooner (600 s of emulated time is 3 s).
pub const HANG: Duration = Duration::from_secs(30);

/// Each attempt's timeout, in emulated time: the clients' default. A create whose answer was
/// lost is sent again only once this (and a settle) has passed since it went out, so it must
/// outlast any stall of a loaded test machine: 120 s is 0.6 s of real time at `SPEED`.
pub const ATTEMPT: Duration = Duration::from_secs(120);

/// Every event the clients' hooks heard, by kind.
static EVENTS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// The clients' event hook: counts each event by kind.
pub fn heard(event: &rein_core::Event) {
    let shown = format!("{event:?}");
    let kind = shown.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
    *EVENTS.lock().unwrap_or_else(PoisonError::into_inner).entry(kind).or_default() += 1;
}

/// The events heard so far, by kind.
pub fn events() -> BTreeMap<String, usize> {
    EVENTS.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// The clients' retry policy: their API's default, with ten attempts.
pub fn policy(api: rein_core::Api) -> RetryPolicy {
    let mut policy = RetryPolicy::for_api(api);
    policy.max_attempts = 10;
    policy
}

/// The emulator's server at [`SPEED`], faults on 30% of requests (every kind), 5% of
/// resources failing, processing in seconds.
pub fn server() -> RunningServer {
    let timing = Timing {
        asset_direct: Span::secs(5, 30),
        asset_url: Span::secs(5, 30),
        item: Span::secs(10, 60),
        document: Span::secs(5, 30),
    };
    let emulator = Config {
        seed: SEED,
        faults: FaultPlan::spread(0.3),
        failure_rate: 0.05,
        timing,
        ..Config::default()
    };
    spawn(ServerConfig { clock: Clock::scaled(SPEED), emulator, ..ServerConfig::default() })
        .expect("emulator")
}

/// What the operations created, as the clients reported it.
#[derive(Clone, Debug, Default)]
pub struct Made {
    /// The last number handed out for a unique name.
    pub next: u64,
    /// Documents an ingest answered for (text and file).
    pub documents: Vec<DocumentId>,
    /// Assets created, not yet seen ready.
    pub pending_assets: Vec<AssetId>,
    /// Assets seen ready (items can be made of them).
    pub ready_assets: Vec<AssetId>,
    /// Stores created.
    pub stores: Vec<KnowledgeStoreId>,
    /// Items added, with their store.
    pub items: Vec<(KnowledgeStoreId, ItemId)>,
    /// (store, asset) pairs an add_item was sent for.
    pub pairs: BTreeSet<(KnowledgeStoreId, AssetId)>,
}

/// One of `xs`, drawn from `rng`; `None` when there are none.
pub fn pick<T: Clone>(rng: &mut SplitMix64, xs: &[T]) -> Option<T> {
    (!xs.is_empty()).then(|| xs[(rng.next_u64() % xs.len() as u64) as usize].clone())
}

/// Each id of a listing or a fleet once: a repeat is a duplicate.
pub fn once<'a>(tally: &mut Tally, what: &str, ids: impl IntoIterator<Item = &'a str>) {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            tally.duplicate(format!("{what} gave {id} twice"));
        }
    }
}

/// The operations, by weight.
pub const OPS: [(&str, u64); 19] = [
    ("ingest", 10),
    ("ingest_file", 5),
    ("get_document", 6),
    ("list_documents", 3),
    ("query", 5),
    ("wait_documents", 4),
    ("usage", 2),
    ("upload_url", 8),
    ("wait_assets", 5),
    ("create_store", 5),
    ("add_item", 7),
    ("wait_items", 3),
    ("list_stores", 4),
    ("list_assets", 4),
    ("list_items", 4),
    ("search", 3),
    ("response", 3),
    ("stream", 4),
    ("get", 4),
];

/// An operation of [`OPS`], drawn by weight.
pub fn choose(rng: &mut SplitMix64) -> &'static str {
    let total: u64 = OPS.iter().map(|(_, w)| w).sum();
    let mut x = rng.next_u64() % total;
    for (name, w) in OPS {
        if x < w {
            return name;
        }
        x -= w;
    }
    OPS[0].0
}

/// What a panic said.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".into())
}

/// Counts of each value: those seen more than once are duplicates.
pub fn twice<'a>(tally: &mut Tally, what: &str, values: impl IntoIterator<Item = &'a str>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    for (v, n) in counts.into_iter().filter(|(_, n)| *n > 1) {
        tally.duplicate(format!("{what} {v} exists {n} times"));
    }
}

/// How many requests met each fault kind.
pub fn faults_seen(log: &[LogEntry]) -> BTreeMap<&'static str, usize> {
    let mut seen = BTreeMap::new();
    for e in super::requests(log) {
        if let Some(f) = e.fault {
            *seen.entry(f.name()).or_default() += 1;
        }
    }
    seen
}
