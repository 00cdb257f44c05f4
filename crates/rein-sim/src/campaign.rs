//! Seeded fault campaigns: many small scenarios, each a random mix of workflows run by rein's
//! real async clients against the emulator's model under a random mix of faults, in virtual
//! time, with the invariants a caller relies on checked after every one.
//!
//! `cargo xtask sim --campaign N --seed S` runs scenarios `0..N` of seed `S` (scenario `i`
//! draws everything from `scenario_seed(S, i)`, so `--only i` repeats it alone) and prints
//! every violation with what reproduces it, then `campaign: N scenarios, V violations`.
//!
//! Invariants, per scenario:
//! - no panic, in rein or in the scenario's own tasks;
//! - every operation ends, with a result or a typed error, before its deadline;
//! - no result lost: a fleet ends each of its ids once, a listing yields each item once;
//! - no duplicate creation under the default policy (rein tags every create with a token; no
//!   token may be on two resources when the scenario ends, and an untaggable file upload takes
//!   effect at most once per call);
//! - no request before a `Retry-After` the client was given (a 429 pauses the client's API);
//! - never more requests than the limiter allows in any window (jack: 60 a minute);
//! - no API key in any output (results, errors, events, their `Debug` and `Display`);
//! - every error is typed: a known variant, with its attempts when a request went out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use rein_core::backoff::Random;
use rein_core::jack::NewDocument;
use rein_core::jockey::{AddItem, CreateKnowledgeStore, CreateResponse, ListAssets, ListItems};
use rein_core::{Api, Body, Error, Fleet, SplitMix64};
use rein_emulator::{Config, FaultKind, FaultPlan, LogEntry, Span, Timing, DEMO_JACK_KEY};
use serde_json::{json, Value};

use crate::strategy::jack_request;
use crate::world::{setup_jockey, World, JOCKEY_KEY, LATENCY, SETUP_JOCKEY_KEY};

/// A broken invariant, with what reproduces it.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The scenario's index in its campaign.
    pub index: u64,
    /// The campaign's seed.
    pub seed: u64,
    /// Which invariant.
    pub invariant: &'static str,
    /// What happened, and the scenario's draw.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "violation in scenario {} of seed {}: {}: {} (reproduce: cargo xtask sim --campaign {} --seed {} --only {})",
            self.index,
            self.seed,
            self.invariant,
            self.detail,
            self.index + 1,
            self.seed,
            self.index
        )
    }
}

/// What a campaign did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Scenarios run.
    pub scenarios: u64,
    /// Every broken invariant, in scenario order.
    pub violations: Vec<Violation>,
    /// Client calls made.
    pub operations: u64,
    /// Requests the model handled.
    pub requests: u64,
    /// How the calls that failed failed, by error variant (and status).
    pub errors: BTreeMap<String, u64>,
    /// Virtual time, summed over the scenarios.
    pub virtual_time: Duration,
}

impl Summary {
    fn add(&mut self, report: Report) {
        self.scenarios += 1;
        self.violations.extend(report.violations);
        self.operations += report.operations;
        self.requests += report.requests;
        for (kind, n) in report.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.virtual_time += report.virtual_time;
    }
}

/// One scenario's outcome.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Broken invariants.
    pub violations: Vec<Violation>,
    /// Client calls made.
    pub operations: u64,
    /// Requests the model handled.
    pub requests: u64,
    /// Failed calls by kind.
    pub errors: BTreeMap<String, u64>,
    /// How long the scenario ran, in virtual time.
    pub virtual_time: Duration,
}

/// Scenario `index`'s own seed: everything it draws comes from it.
pub fn scenario_seed(seed: u64, index: u64) -> u64 {
    let mut rng = SplitMix64::new(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.next_u64()
}

/// Runs scenarios `indices` of campaign `seed` on `threads` threads; each violation is passed
/// to `found` as it is found (in no fixed order), and the summary lists them in order.
pub fn run(
    seed: u64,
    indices: impl IntoIterator<Item = u64>,
    threads: usize,
    found: &(dyn Fn(&Violation) + Sync),
) -> Summary {
    let indices: Vec<u64> = indices.into_iter().collect();
    let threads = threads.clamp(1, indices.len().max(1));
    let reports: Vec<Vec<(u64, Report)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<u64> = indices.iter().copied().skip(t).step_by(threads).collect();
                scope.spawn(move || {
                    mine.into_iter()
                        .map(|index| {
                            let report = run_scenario(seed, index);
                            report.violations.iter().for_each(found);
                            (index, report)
                        })
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
    });
    let mut reports: Vec<(u64, Report)> = reports.into_iter().flatten().collect();
    reports.sort_by_key(|(index, _)| *index);
    let mut summary = Summary::default();
    for (_, report) in reports {
        summary.add(report);
    }
    summary
}

/// Runs scenario `index` of campaign `seed`, a panic anywhere in it included.
pub fn run_scenario(seed: u64, index: u64) -> Report {
    let spec = Spec::draw(scenario_seed(seed, index));
    let violation = |invariant, detail: String| Violation {
        index,
        seed,
        invariant,
        detail: format!("{detail}; scenario: {spec:?}"),
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime");
        runtime.block_on(run_spec(&spec))
    }));
    match outcome {
        Ok(run) => Report {
            violations: run.broken.into_iter().map(|(i, d)| violation(i, d)).collect(),
            operations: run.operations,
            requests: run.requests,
            errors: run.errors,
            virtual_time: run.virtual_time,
        },
        Err(panic) => Report {
            violations: vec![violation("no panic", panic_message(&panic))],
            ..Report::default()
        },
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// A workflow a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workflow {
    /// `upload_url`, then `wait_for_asset`.
    Upload,
    /// `create_store`.
    CreateStore,
    /// `add_item` to the scenario's store, then `wait_for_item`.
    AddItem,
    /// Three items added, then `wait_all` on them.
    ItemFleet,
    /// `ingest` of one document, then `wait_for_document`.
    Ingest,
    /// `ingest_many` of several documents, then `wait_all` on them.
    IngestMany,
    /// `ingest_file` of a small file.
    IngestFile,
    /// A jack `query`.
    Query,
    /// `create_response` over the scenario's store.
    Respond,
    /// `stream_response`, read to its end.
    StreamResponse,
    /// Every asset, page by page.
    ListAssets,
    /// Every item of the scenario's store, page by page.
    ListItems,
}

impl Workflow {
    const ALL: [Workflow; 12] = [
        Workflow::Upload,
        Workflow::CreateStore,
        Workflow::AddItem,
        Workflow::ItemFleet,
        Workflow::Ingest,
        Workflow::IngestMany,
        Workflow::IngestFile,
        Workflow::Query,
        Workflow::Respond,
        Workflow::StreamResponse,
        Workflow::ListAssets,
        Workflow::ListItems,
    ];
}

/// What a scenario draws.
#[derive(Clone, Debug)]
struct Spec {
    seed: u64,
    faults: FaultPlan,
    failure_rate: f64,
    workflows: Vec<Workflow>,
}

impl Spec {
    fn draw(seed: u64) -> Spec {
        let mut rng = SplitMix64::new(seed);
        let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
        let faults = match pick(4) {
            0 => FaultPlan::spread([0.05, 0.15, 0.3][pick(3)]),
            1 => FaultPlan::only(FaultKind::ALL[pick(FaultKind::ALL.len())], [0.2, 0.5][pick(2)]),
            2 => {
                let mut plan = FaultPlan::spread(0.3);
                // Slow answers beyond the attempt's timeout, and long bursts.
                plan.slow_delay = Span::secs(60, 200);
                plan.burst_len = (3, 8);
                plan.burst_retry_after = Span::secs(0, 150);
                plan
            }
            _ => FaultPlan::none(),
        };
        let failure_rate = [0.0, 0.02, 0.3][pick(3)];
        let count = 1 + pick(6);
        let workflows = (0..count).map(|_| Workflow::ALL[pick(Workflow::ALL.len())]).collect();
        Spec { seed, faults, failure_rate, workflows }
    }
}

/// What a scenario's run found, before it is tied to its scenario.
#[derive(Default)]
struct Run {
    broken: Vec<(&'static str, String)>,
    operations: u64,
    requests: u64,
    errors: BTreeMap<String, u64>,
    virtual_time: Duration,
}

/// What the scenario's calls left: their outputs, for the key scan; their failures by kind;
/// the invariants they broke; and the file uploads they made.
#[derive(Default)]
struct Record {
    outputs: Vec<String>,
    errors: BTreeMap<String, u64>,
    broken: Vec<(&'static str, String)>,
    operations: u64,
    file_uploads: usize,
}

type Shared = Arc<Mutex<Record>>;

fn lock(record: &Shared) -> std::sync::MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A call's own budget: the client's defaults (a call 600 s, the wait presets, a stream 600 s).
mod budget {
    use std::time::Duration;
    pub(super) const CALL: Duration = Duration::from_secs(600);
    pub(super) const ASSET_WAIT: Duration = Duration::from_secs(300);
    pub(super) const ITEM_WAIT: Duration = Duration::from_secs(600);
    pub(super) const DOCUMENT_WAIT: Duration = Duration::from_secs(120);
    /// A fleet ends its ids at the first sweep after its timeout; that sweep's requests have
    /// a call's budget each.
    pub(super) const ITEM_FLEET: Duration = Duration::from_secs(600 + 10 + 600);
    pub(super) const DOCUMENT_FLEET: Duration = Duration::from_secs(120 + 5 + 600);
    /// A listing is a call per page; scenarios hold a few pages at most.
    pub(super) const LISTING: Duration = Duration::from_secs(3 * 600);
}

/// How far past its budget a call may end: the virtual clock's rounding.
const GRACE: Duration = Duration::from_millis(1);

/// Runs one client call: records its output (or its error, checked for being typed), and
/// whether it ended inside its budget.
async fn call<T: Debug>(
    world: &World,
    record: &Shared,
    name: &'static str,
    budget: Duration,
    future: impl Future<Output = Result<T, Error>>,
) -> Option<T> {
    let start = world.elapsed();
    // Far past the budget, a call that has not ended never will: stop waiting and say so.
    let ended = tokio::time::timeout(budget + Duration::from_secs(3600), future).await;
    let took = world.elapsed().saturating_sub(start);
    if std::env::var_os("REIN_CAMPAIGN_TRACE").is_some() {
        let outcome = match &ended {
            Ok(Ok(_)) => "ok".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "did not end".to_owned(),
        };
        eprintln!("{:>9.1} s {name} ({took:?}): {outcome}", start.as_secs_f64());
    }
    let mut record = lock(record);
    record.operations += 1;
    let Ok(result) = ended else {
        record
            .broken
            .push(("every operation ends", format!("{name} had not ended after {took:?}")));
        return None;
    };
    if took > budget + GRACE {
        record.broken.push((
            "every operation ends before its deadline",
            format!("{name} took {took:?}, its budget {budget:?}"),
        ));
    }
    match result {
        Ok(value) => {
            record.outputs.push(format!("{value:?}"));
            Some(value)
        }
        Err(error) => {
            record.outputs.push(format!("{error} {error:?}"));
            *record.errors.entry(kind(&error)).or_default() += 1;
            if let Some(problem) = untyped(&error) {
                record.broken.push(("every error is typed", format!("{name}: {problem}: {error}")));
            }
            None
        }
    }
}

/// The error's variant, with its status when it has one.
fn kind(error: &Error) -> String {
    let variant = format!("{error:?}");
    let variant = variant.split('(').next().unwrap_or("?").to_owned();
    match error.status() {
        Some(status) => format!("{variant} {status}"),
        None => variant,
    }
}

/// Why `error` is not a typed end of a valid call, if it is not.
fn untyped(error: &Error) -> Option<String> {
    if error.to_string().is_empty() || error.user_message().is_empty() {
        return Some("an error without a message".to_owned());
    }
    match error {
        // Every call the scenarios make is valid, never cancelled, on a valid client.
        Error::Invalid(_) | Error::Config(_) | Error::Cancelled => {
            Some("an error a valid call never meets".to_owned())
        }
        Error::Api(e) if e.attempts == 0 => Some("a server's answer without attempts".to_owned()),
        Error::Transport(t) if t.attempts == 0 => {
            Some("a transport failure without attempts".to_owned())
        }
        _ => None,
    }
}

async fn run_spec(spec: &Spec) -> Run {
    let mut config = Config {
        seed: spec.seed,
        failure_rate: spec.failure_rate,
        // Shorter than the references' typical times, so scenarios stay small; the waits'
        // presets (and their timeouts) are the clients' own.
        timing: Timing {
            asset_direct: Span::secs(5, 60),
            asset_url: Span::secs(5, 120),
            item: Span::secs(20, 300),
            document: Span::secs(5, 60),
        },
        log_capacity: 1_000_000,
        ..Config::default()
    };
    config.faults = FaultPlan::none();
    let world = World::new(config);
    let (store, asset) = setup(&world).await;
    world.set_faults(spec.faults.clone());

    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook = |events: &Arc<Mutex<Vec<String>>>| {
        let events = Arc::clone(events);
        move |event: &rein_core::Event| {
            events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("{event:?} {event}"));
        }
    };
    let jockey = rein_async::Jockey::builder(JOCKEY_KEY)
        .base_url("https://sim/v1.3")
        .transport(world.transport())
        .on_event(hook(&events))
        .seed(spec.seed)
        .build()
        .expect("a client");
    let jack = rein_async::Jack::builder(DEMO_JACK_KEY)
        .base_url("https://sim/v1")
        .transport(world.transport())
        .on_event(hook(&events))
        .seed(spec.seed ^ 1)
        .build()
        .expect("a client");
    let record: Shared = Arc::default();
    lock(&record).outputs.push(format!("{jockey:?} {jack:?}"));

    let mut tasks = tokio::task::JoinSet::new();
    for (n, workflow) in spec.workflows.iter().copied().enumerate() {
        let (world, record) = (world.clone(), Arc::clone(&record));
        let (jockey, jack) = (jockey.clone(), jack.clone());
        let (store, asset) = (store.clone(), asset.clone());
        tasks.spawn(async move {
            run_workflow(workflow, n, &world, &record, &jockey, &jack, &store, &asset).await;
        });
    }
    let mut broken = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            let detail = if e.is_panic() { panic_message(&e.into_panic()) } else { e.to_string() };
            broken.push(("no panic", detail));
        }
    }
    let virtual_time = world.elapsed();
    let log = world.log();
    if std::env::var_os("REIN_CAMPAIGN_TRACE").is_some() {
        for e in &log {
            let fault = e.fault.map_or(String::new(), |f| format!(" {}", f.name()));
            eprintln!(
                "{:?} {} {} -> {} {:?}{fault}",
                e.at, e.method, e.path, e.status, e.retry_after
            );
        }
    }
    world.set_faults(FaultPlan::none());
    broken.extend(retry_after_kept(&log));
    broken.extend(window_kept(&log));
    broken.extend(no_duplicates(&world, &store, &log, lock(&record).file_uploads));
    let record = std::mem::take(&mut *lock(&record));
    let events = std::mem::take(&mut *events.lock().unwrap_or_else(PoisonError::into_inner));
    for output in record.outputs.iter().chain(&events) {
        for key in [JOCKEY_KEY, DEMO_JACK_KEY, SETUP_JOCKEY_KEY] {
            if output.contains(key) {
                broken.push(("no API key in any output", output.chars().take(300).collect()));
            }
        }
    }
    broken.extend(record.broken);
    Run {
        broken,
        operations: record.operations,
        requests: log.len() as u64,
        errors: record.errors,
        virtual_time,
    }
}

/// The scenario's store, and a ready asset to add to it, made without faults.
async fn setup(world: &World) -> (String, String) {
    let body = |value: Value| Body::Bytes(Bytes::from(value.to_string()));
    let created = world.setup(setup_jockey(
        http::Method::POST,
        "/knowledge-stores",
        body(json!({"name": "campaign"})),
    ));
    let store = id_of(created.body());
    let mut n = 0;
    loop {
        n += 1;
        let form = rein_core::Multipart::new("campaign")
            .text("method", "url")
            .text("url", format!("https://example.com/setup-{n}.mp4"));
        let asset = id_of(
            world.setup(setup_jockey(http::Method::POST, "/assets", Body::Multipart(form))).body(),
        );
        if let Some((ready_at, "ready")) = world.settles(&asset) {
            // The scenario starts once the asset can be added.
            tokio::time::sleep(ready_at.saturating_sub(world.elapsed())).await;
            return (store, asset);
        }
    }
}

fn id_of(body: &Bytes) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    value["_id"].as_str().unwrap_or_default().to_owned()
}

#[allow(clippy::too_many_arguments)]
async fn run_workflow(
    workflow: Workflow,
    n: usize,
    world: &World,
    record: &Shared,
    jockey: &rein_async::Jockey,
    jack: &rein_async::Jack,
    store: &str,
    asset: &str,
) {
    let text = |i: usize| format!("Campaign note {n}.{i}: refunds take {} days.", 3 + i % 5);
    match workflow {
        Workflow::Upload => {
            let url = format!("https://example.com/campaign-{n}.mp4");
            let created =
                call(world, record, "upload_url", budget::CALL, jockey.upload_url(&url)).await;
            if let Some(asset) = created {
                call(
                    world,
                    record,
                    "wait_for_asset",
                    budget::ASSET_WAIT,
                    jockey.wait_for_asset(&asset),
                )
                .await;
            }
        }
        Workflow::CreateStore => {
            let request = CreateKnowledgeStore::new(format!("store {n}"));
            call(world, record, "create_store", budget::CALL, jockey.create_store(&request)).await;
        }
        Workflow::AddItem => {
            let add = AddItem::new(store, asset);
            if let Some(item) =
                call(world, record, "add_item", budget::CALL, jockey.add_item(&add)).await
            {
                let wait = jockey.wait_for_item(store, item.id.clone());
                call(world, record, "wait_for_item", budget::ITEM_WAIT, wait).await;
            }
        }
        Workflow::ItemFleet => {
            let mut ids = Vec::new();
            for _ in 0..3 {
                let add = AddItem::new(store, asset);
                if let Some(item) =
                    call(world, record, "add_item", budget::CALL, jockey.add_item(&add)).await
                {
                    ids.push(item.id);
                }
            }
            let fleet = Fleet::items(store, ids.clone());
            if let Some(report) =
                call(world, record, "wait_all items", budget::ITEM_FLEET, jockey.wait_all(fleet))
                    .await
            {
                let ended: Vec<String> = report.finished.iter().map(|f| f.id.to_string()).collect();
                let wanted: Vec<String> =
                    Fleet::items(store, ids).ids().map(|k| k.to_string()).collect();
                every_id_once(record, "wait_all items", &wanted, &ended);
            }
        }
        Workflow::Ingest => {
            let ingest = jack.ingest([NewDocument::new(text(0))]);
            if let Some(accepted) = call(world, record, "ingest", budget::CALL, ingest).await {
                for id in accepted.document_ids {
                    let wait = jack.wait_for_document(id);
                    call(world, record, "wait_for_document", budget::DOCUMENT_WAIT, wait).await;
                }
            }
        }
        Workflow::IngestMany => {
            let documents: Vec<NewDocument> =
                (0..2 + n % 4).map(|i| NewDocument::new(text(i))).collect();
            let ingest = jack.ingest_many(documents);
            if let Some(report) = call(world, record, "ingest_many", budget::CALL, ingest).await {
                let ids: Vec<_> = report.document_ids().into_iter().flatten().collect();
                let wanted: Vec<String> = ids.iter().map(ToString::to_string).collect();
                let all = jack.wait_all(Fleet::documents(ids));
                if let Some(report) =
                    call(world, record, "wait_all documents", budget::DOCUMENT_FLEET, all).await
                {
                    let ended: Vec<String> =
                        report.finished.iter().map(|f| f.id.to_string()).collect();
                    every_id_once(record, "wait_all documents", &wanted, &ended);
                }
            }
        }
        Workflow::IngestFile => {
            let path = campaign_file(n);
            lock(record).file_uploads += 1;
            // The file's size is known here: `ingest_file` would ask the file system through
            // tokio's blocking pool, during which the paused clock jumps ahead, and a
            // scenario would not repeat exactly.
            let len = std::fs::metadata(&path).map_or(0, |m| m.len());
            let upload = rein_core::jack::IngestFile::new(rein_core::FileSource::new(&path, len));
            call(world, record, "ingest_file", budget::CALL, jack.call(&upload)).await;
        }
        Workflow::Query => {
            call(world, record, "query", budget::CALL, jack.query("How long do refunds take?"))
                .await;
        }
        Workflow::Respond => {
            let ask = CreateResponse::ask(store, "What happens in the videos?");
            call(world, record, "create_response", budget::CALL, jockey.create_response(&ask))
                .await;
        }
        Workflow::StreamResponse => {
            let ask = CreateResponse::ask(store, "Summarise the videos.");
            let read = async {
                let mut events = jockey.stream_response(&ask).await?;
                let mut seen = Vec::new();
                while let Some(event) = events.next().await {
                    seen.push(event?);
                }
                Ok::<_, Error>(seen.len())
            };
            call(world, record, "stream_response", budget::CALL, read).await;
        }
        Workflow::ListAssets => {
            let read = async {
                let mut pages = jockey.assets(ListAssets::new().page_limit(2));
                let mut ids = Vec::new();
                while let Some(asset) = pages.next().await {
                    ids.push(asset?.id.to_string());
                }
                Ok::<_, Error>(ids)
            };
            if let Some(ids) = call(world, record, "assets", budget::LISTING, read).await {
                each_once(record, "assets", &ids);
            }
        }
        Workflow::ListItems => {
            let read = async {
                let mut pages = jockey.items(ListItems::new(store).page_limit(2));
                let mut ids = Vec::new();
                while let Some(item) = pages.next().await {
                    ids.push(item?.id.to_string());
                }
                Ok::<_, Error>(ids)
            };
            if let Some(ids) = call(world, record, "items", budget::LISTING, read).await {
                each_once(record, "items", &ids);
            }
        }
    }
}

/// A small text file for `ingest_file`, one per workflow number (the content is the same for
/// every scenario, so files are shared, never written while read).
fn campaign_file(n: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rein-sim-campaign-{}", std::process::id()));
    let path = dir.join(format!("note-{n}.txt"));
    if !path.exists() {
        let _ = std::fs::create_dir_all(&dir);
        let partial = dir.join(format!("note-{n}.txt.{:?}", std::thread::current().id()));
        let _ = std::fs::write(&partial, format!("Campaign file {n}: refunds take 5 days.\n"));
        let _ = std::fs::rename(&partial, &path);
    }
    path
}

fn every_id_once(record: &Shared, name: &str, wanted: &[String], ended: &[String]) {
    let mut seen = BTreeSet::new();
    let repeated: Vec<&String> = ended.iter().filter(|id| !seen.insert(*id)).collect();
    let missing: Vec<&String> = wanted.iter().filter(|id| !seen.contains(id)).collect();
    if !repeated.is_empty() || !missing.is_empty() {
        lock(record).broken.push((
            "no result lost",
            format!("{name}: ended twice {repeated:?}, never ended {missing:?}"),
        ));
    }
}

fn each_once(record: &Shared, name: &str, ids: &[String]) {
    let mut seen = BTreeSet::new();
    let repeated: Vec<&String> = ids.iter().filter(|id| !seen.insert(*id)).collect();
    if !repeated.is_empty() {
        lock(record).broken.push(("no result lost", format!("{name} yielded {repeated:?} twice")));
    }
}

/// Whether the entry is a request the client sent (not a slow proxy's request landing on the
/// server behind it later, which the model logs when it lands).
fn sent_by_client(entry: &LogEntry) -> bool {
    !(entry.fault == Some(FaultKind::SlowProxy) && (200..300).contains(&entry.status))
}

/// After a 429 that named a wait, no request to that API arrives before the wait is over
/// (capped at the client's longest single wait, 120 s: past it a call fails instead).
fn retry_after_kept(log: &[LogEntry]) -> Vec<(&'static str, String)> {
    let cap = Duration::from_secs(120);
    let mut broken = Vec::new();
    for limited in log.iter().filter(|e| e.status == 429) {
        let Some(wait) = limited.retry_after else { continue };
        // The answer reaches the client half a latency after it arrived; the next request
        // takes half a latency to arrive: none may arrive before `wait` has passed between.
        let from = limited.at + LATENCY + Duration::from_millis(1);
        let until = limited.at + LATENCY + wait.min(cap);
        let early = log
            .iter()
            .filter(|e| sent_by_client(e))
            .find(|e| e.api == limited.api && e.at > from && e.at < until);
        if let Some(early) = early {
            broken.push((
                "no request before a Retry-After it was given",
                format!(
                    "429 at {:?} asked for {wait:?}; {} {} arrived at {:?}",
                    limited.at, early.method, early.path, early.at
                ),
            ));
        }
    }
    broken
}

/// jack's 60 requests a minute: no 61 arrivals inside 60 s.
fn window_kept(log: &[LogEntry]) -> Vec<(&'static str, String)> {
    let arrivals: Vec<_> = log
        .iter()
        .filter(|e| e.api == Some(Api::Jack) && sent_by_client(e))
        .map(|e| e.at)
        .collect();
    let minute = Duration::from_secs(60);
    arrivals
        .windows(61)
        .find(|w| w[60].saturating_since(w[0]) < minute)
        .map(|w| {
            let detail = format!("61 jack requests between {:?} and {:?}", w[0], w[60]);
            vec![("never more requests than the limiter allows", detail)]
        })
        .unwrap_or_default()
}

/// No token on two resources, and no more file uploads taking effect than calls made.
fn no_duplicates(
    world: &World,
    store: &str,
    log: &[LogEntry],
    file_uploads: usize,
) -> Vec<(&'static str, String)> {
    let mut tokens: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |metadata: &Value| {
        if let Some(token) = metadata[rein_core::reconcile::TOKEN_KEY].as_str() {
            *tokens.entry(token.to_owned()).or_default() += 1;
        }
    };
    for (path, field) in [
        ("/knowledge-stores".to_owned(), "metadata"),
        ("/assets".to_owned(), "user_metadata"),
        (format!("/knowledge-stores/{store}/items"), "metadata"),
    ] {
        for page in 1.. {
            let query = format!("{path}?page={page}&page_limit=50");
            let answer = world.setup(setup_jockey(http::Method::GET, &query, Body::Empty));
            let value: Value = serde_json::from_slice(answer.body()).unwrap_or_default();
            for resource in value["data"].as_array().into_iter().flatten() {
                count(&resource[field]);
            }
            if value["page_info"]["total_page"].as_u64().is_none_or(|total| page >= total) {
                break;
            }
        }
    }
    let documents = world.setup(jack_request(http::Method::GET, "/documents", Body::Empty));
    let documents: Value = serde_json::from_slice(documents.body()).unwrap_or_default();
    for document in documents.as_array().into_iter().flatten() {
        count(&document["metadata"]);
    }
    let mut broken: Vec<(&'static str, String)> = tokens
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(token, n)| ("no duplicate creation", format!("{n} resources carry token {token}")))
        .collect();
    let uploads = rein_emulator::testing::effective(log, &http::Method::POST, "/ingest/file");
    if uploads > file_uploads {
        broken.push((
            "no duplicate creation",
            format!("{uploads} file uploads took effect for {file_uploads} calls"),
        ));
    }
    broken
}
