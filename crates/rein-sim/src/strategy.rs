//! The strategies compared: rein, the references' documented pattern as written, and naive
//! per-id polling. Each waits on the same ids in the same world and says what it learned
//! ([`Tally`]).
//!
//! The references' pattern (jockey-errors-and-polling.txt) is a 5-worker pool
//! (`ThreadPoolExecutor(max_workers=5)`) running `wait_for_ready` per id at a fixed interval
//! (10 s, as the batch helper passes), each GET through `api_request` (3 tries, 1 s then 2 s
//! then 4 s on a 429 or 5xx, the last response returned whatever it is), and a batch helper that
//! re-raises the first exception it meets in completion order: its caller then gets no result
//! at all, although the pool's `with` block first waits for every queued id to be polled out. A
//! 429 that outlasts the tries reaches `resource["status"]` and raises (the body has no status).
//! jack's ingest and queries follow jack's documented loop (jack-errors-and-rate-limits.txt: 3
//! tries, sleeping `Retry-After` after a 429, raising on any other error).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rein_core::fleet::FleetKind;
use rein_core::jack::NewDocument;
use rein_core::{Body, Fleet, Outcome};
use rein_emulator::DEMO_JACK_KEY;
use serde_json::{json, Value};

use crate::world::{jockey_request, World, JOCKEY_KEY, LATENCY};

/// What a strategy learned, and when.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// When the strategy first knew each id's end (ready or failed), since the world began.
    pub noticed: BTreeMap<String, Duration>,
    /// The results its caller received: the status per id (`ready` or `failed`).
    pub delivered: BTreeMap<String, &'static str>,
    /// When the strategy returned.
    pub end: Duration,
    /// For each of the caller's queries: how long it waited beyond one request's latency.
    pub query_waits: Vec<Duration>,
    /// Queries that failed (their tries ran out).
    pub queries_failed: u32,
}

/// Documents per ingest request: jack's documented maximum.
pub const BATCH: usize = 50;

/// The caller's query interval in scenario (c).
pub const QUERY_EVERY: Duration = Duration::from_secs(10);

/// A jack request with the strategies' key, as a plain HTTP client sends it.
pub fn jack_request(method: http::Method, path: &str, body: Body) -> http::Request<Body> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("https://sim/v1{path}"))
        .header("authorization", format!("Bearer {DEMO_JACK_KEY}"));
    if matches!(body, Body::Bytes(_)) {
        request = request.header("content-type", "application/json");
    }
    request.body(body).expect("a valid request")
}

fn json_body(value: &Value) -> Body {
    Body::Bytes(Bytes::from(value.to_string()))
}

/// The text of document `i`.
pub fn document_text(i: usize) -> String {
    format!("Policy note {i}: refunds are processed within {} days.", 3 + i % 5)
}

// rein.

/// rein: `wait_each` on a fleet, each end noted as it is handed out.
async fn rein_fleet<K>(
    world: &World,
    ends: &mut rein_async::Items<rein_core::FleetWait<K>>,
    tally: &mut Tally,
) where
    K: FleetKind,
{
    while let Some(end) = ends.next().await {
        let Ok(end) = end else { break };
        let id = end.id.to_string();
        let id = id.rsplit('/').next().unwrap_or(&id).to_owned();
        tally.noticed.entry(id.clone()).or_insert(world.elapsed());
        let status = match end.outcome() {
            Outcome::Ready => "ready",
            Outcome::Failed => "failed",
            Outcome::TimedOut | Outcome::Error => continue,
        };
        tally.delivered.insert(id, status);
    }
}

/// rein on scenario (a): the items of one store.
pub async fn rein_items(world: &World, store: &str, ids: &[String]) -> Tally {
    let jockey = rein_async::Jockey::builder(JOCKEY_KEY)
        .base_url("https://sim/v1.3")
        .transport(world.transport())
        .build()
        .expect("a client");
    let mut tally = Tally::default();
    let mut ends = jockey.wait_each(Fleet::items(store, ids));
    rein_fleet(world, &mut ends, &mut tally).await;
    tally.end = world.elapsed();
    tally
}

/// rein on scenarios (b) and (c): `ingest_many`, then a fleet of the documents; with
/// `queries`, the caller's own query every 10 s on the same client meanwhile.
pub async fn rein_documents(world: &World, count: usize, queries: bool) -> Tally {
    let jack = rein_async::Jack::builder(DEMO_JACK_KEY)
        .base_url("https://sim/v1")
        .transport(world.transport())
        .build()
        .expect("a client");
    let done = Arc::new(Mutex::new(false));
    let bulk = async {
        let mut tally = Tally::default();
        let documents = (0..count).map(|i| NewDocument::new(document_text(i)));
        let report = jack.ingest_many(documents).await.expect("valid documents");
        let ids: Vec<_> = report.document_ids().into_iter().flatten().collect();
        let mut ends = jack.wait_each(Fleet::documents(ids));
        rein_fleet(world, &mut ends, &mut tally).await;
        tally.end = world.elapsed();
        *done.lock().expect("flag") = true;
        tally
    };
    let asking = async {
        let mut waits = (Vec::new(), 0);
        if queries {
            query_loop(world, &done, &mut waits, || async {
                jack.query("How long do refunds take?").await.is_ok()
            })
            .await;
        }
        waits
    };
    let (mut tally, (waits, failed)) = tokio::join!(bulk, asking);
    tally.query_waits = waits;
    tally.queries_failed = failed;
    tally
}

/// The caller's query every [`QUERY_EVERY`] until `done`: each one's wait beyond a request's
/// latency, from when it was due.
async fn query_loop<F, Fut>(
    world: &World,
    done: &Mutex<bool>,
    waits: &mut (Vec<Duration>, u32),
    ask: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut due = Duration::ZERO;
    loop {
        let now = world.elapsed();
        if due > now {
            tokio::time::sleep(due - now).await;
        }
        if *done.lock().expect("flag") {
            return;
        }
        let asked = world.elapsed();
        let ok = ask().await;
        let took = world.elapsed().saturating_sub(due.max(asked.min(due)));
        if ok {
            waits.0.push(took.saturating_sub(LATENCY));
        } else {
            waits.1 += 1;
        }
        due += QUERY_EVERY;
    }
}

// The references' helpers, as written.

/// `api_request`: 3 tries, `base_delay * 2 ** attempt` after a 429 or a 5xx, then the last
/// response whatever it is. A transport error raises (`requests` would).
async fn api_request(
    world: &World,
    request: impl Fn() -> http::Request<Body>,
) -> Result<http::Response<Bytes>, String> {
    let mut last = None;
    for attempt in 0..3u32 {
        let response = world.exchange(request()).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            last = Some(response);
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            continue;
        }
        return Ok(response);
    }
    last.ok_or_else(|| "no response".to_owned())
}

/// `wait_for_ready`: GET until `ready` (returned) or `failed` (raised), sleeping `interval`
/// between polls and counting only the sleeps towards `timeout`.
async fn wait_for_ready(
    world: &World,
    request: &(dyn Fn() -> http::Request<Body> + Sync),
    interval: Duration,
    timeout: Duration,
    noticed: &mut Option<(Duration, &'static str)>,
) -> Result<(), String> {
    let mut elapsed = Duration::ZERO;
    while elapsed < timeout {
        let response = api_request(world, request).await?;
        let resource: Value = serde_json::from_slice(response.body()).map_err(|e| e.to_string())?;
        // resource["status"]: a KeyError when the body has none (a 429's, say).
        let status = resource.get("status").and_then(Value::as_str).ok_or("KeyError: 'status'")?;
        match status {
            "ready" => {
                *noticed = Some((world.elapsed(), "ready"));
                return Ok(());
            }
            "failed" => {
                *noticed = Some((world.elapsed(), "failed"));
                return Err(format!("Resource failed: {resource}"));
            }
            _ => {}
        }
        tokio::time::sleep(interval).await;
        elapsed += interval;
    }
    Err(format!("Not ready after {}s", timeout.as_secs()))
}

/// The GET of one resource, by id.
pub type GetById = Arc<dyn Fn(&str) -> http::Request<Body> + Send + Sync>;

/// The GET of a knowledge store item.
pub fn item_get(store: &str) -> GetById {
    let store = store.to_owned();
    Arc::new(move |id| {
        jockey_request(
            http::Method::GET,
            &format!("/knowledge-stores/{store}/items/{id}"),
            Body::Empty,
            JOCKEY_KEY,
        )
    })
}

/// The GET of a jack document.
pub fn document_get() -> GetById {
    Arc::new(|id| jack_request(http::Method::GET, &format!("/documents/{id}"), Body::Empty))
}

/// The references' batch helper: 5 workers, `wait_for_ready` at a fixed 10 s interval for up
/// to 600 s each; the first exception in completion order is re-raised after the pool has
/// polled every id out, and then the caller gets no result.
pub async fn reference_wait(world: &World, ids: &[String], get: GetById, tally: &mut Tally) {
    let queue =
        Arc::new(Mutex::new(ids.iter().cloned().collect::<std::collections::VecDeque<_>>()));
    let completions = Arc::new(Mutex::new(Vec::new()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (world, queue, completions, get) =
            (world.clone(), Arc::clone(&queue), Arc::clone(&completions), Arc::clone(&get));
        workers.spawn(async move {
            loop {
                let Some(id) = queue.lock().expect("queue").pop_front() else { return };
                let request = |i: &str| get(i);
                let one = || request(&id);
                let mut noticed = None;
                let result = wait_for_ready(
                    &world,
                    &one,
                    Duration::from_secs(10),
                    Duration::from_secs(600),
                    &mut noticed,
                )
                .await;
                completions.lock().expect("completions").push((id, noticed, result));
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let completions = std::mem::take(&mut *completions.lock().expect("completions"));
    let mut results = BTreeMap::new();
    let mut raised = false;
    for (id, noticed, result) in completions {
        if let Some((at, _)) = noticed {
            tally.noticed.insert(id.clone(), at);
        }
        match (result, noticed) {
            (Ok(()), Some((_, status))) if !raised => {
                results.insert(id, status);
            }
            _ => raised = true,
        }
    }
    // `results[item_id] = future.result()` raised: the dict never reaches the caller.
    if !raised {
        tally.delivered = results;
    }
}

/// Naive polling: every id on its own, at the preset's interval for the preset's timeout, each
/// GET through `api_request`; an id whose tries run out, or whose time does, is lost.
pub async fn naive_wait(
    world: &World,
    ids: &[String],
    get: GetById,
    interval: Duration,
    timeout: Duration,
    tally: &mut Tally,
) {
    let mut polls = tokio::task::JoinSet::new();
    for id in ids {
        let (world, get, id) = (world.clone(), Arc::clone(&get), id.clone());
        polls.spawn(async move {
            let mut elapsed = Duration::ZERO;
            while elapsed < timeout {
                let Ok(response) = api_request(&world, || get(&id)).await else { break };
                let status = response.status().as_u16();
                if status == 429 || status >= 500 {
                    break; // the tries ran out: lost
                }
                let resource: Value = serde_json::from_slice(response.body()).unwrap_or_default();
                match resource.get("status").and_then(Value::as_str) {
                    Some("ready") => return (id, Some((world.elapsed(), "ready"))),
                    Some("failed") => return (id, Some((world.elapsed(), "failed"))),
                    _ => {}
                }
                tokio::time::sleep(interval).await;
                elapsed += interval;
            }
            (id, None)
        });
    }
    while let Some(done) = polls.join_next().await {
        if let Ok((id, Some((at, status)))) = done {
            tally.noticed.insert(id.clone(), at);
            tally.delivered.insert(id, status);
        }
    }
}

/// jack's documented loop for one request: 3 tries, `Retry-After` (60 by default) after a 429,
/// any other error raised.
async fn jack_with_retry(
    world: &World,
    request: impl Fn() -> http::Request<Body>,
) -> Result<Value, String> {
    for _ in 0..3 {
        let response = world.exchange(request()).await.map_err(|e| e.to_string())?;
        if response.status() == http::StatusCode::TOO_MANY_REQUESTS {
            let wait = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(60);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        if !response.status().is_success() {
            return Err(format!("jack API error {}", response.status()));
        }
        return serde_json::from_slice(response.body()).map_err(|e| e.to_string());
    }
    Err("Max retries exceeded".to_owned())
}

/// The documents ingested in batches of 50, one after another, each through jack's loop; an
/// ingest that raises ends the program (the ids after it are never ingested).
async fn plain_ingest(world: &World, count: usize) -> Result<Vec<String>, (String, Vec<String>)> {
    let mut ids = Vec::new();
    let texts: Vec<String> = (0..count).map(document_text).collect();
    for batch in texts.chunks(BATCH) {
        let body =
            json!({"documents": batch.iter().map(|t| json!({"text": t})).collect::<Vec<_>>()});
        let answer = jack_with_retry(world, || {
            jack_request(http::Method::POST, "/ingest", json_body(&body))
        })
        .await
        .map_err(|e| (e, ids.clone()))?;
        let batch_ids = answer["document_ids"].as_array().cloned().unwrap_or_default();
        ids.extend(batch_ids.iter().filter_map(|v| v.as_str().map(str::to_owned)));
    }
    Ok(ids)
}

/// The references' pattern or naive polling on scenarios (b) and (c): ingest as jack documents
/// it, then wait; with `queries`, the caller's query every 10 s through jack's loop meanwhile.
pub async fn plain_documents(world: &World, count: usize, queries: bool, naive: bool) -> Tally {
    let done = Arc::new(Mutex::new(false));
    let bulk = async {
        let mut tally = Tally::default();
        // An ingest that raised ends the program: the caller gets nothing.
        if let Ok(ids) = plain_ingest(world, count).await {
            if naive {
                let (interval, timeout) = (Duration::from_secs(5), Duration::from_secs(120));
                naive_wait(world, &ids, document_get(), interval, timeout, &mut tally).await;
            } else {
                reference_wait(world, &ids, document_get(), &mut tally).await;
            }
        }
        tally.end = world.elapsed();
        *done.lock().expect("flag") = true;
        tally
    };
    let asking = async {
        let mut waits = (Vec::new(), 0);
        if queries {
            let body = json!({"question": "How long do refunds take?"});
            query_loop(world, &done, &mut waits, || async {
                jack_with_retry(world, || {
                    jack_request(http::Method::POST, "/query", json_body(&body))
                })
                .await
                .is_ok()
            })
            .await;
        }
        waits
    };
    let (mut tally, (waits, failed)) = tokio::join!(bulk, asking);
    tally.query_waits = waits;
    tally.queries_failed = failed;
    tally
}
