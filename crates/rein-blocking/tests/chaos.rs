//! Chaos on loopback: the blocking clients against the emulator's server with faults on 30% of
//! the requests (every kind, the slow proxy, the trickle, 429s without Retry-After and looping
//! listings included), several hundred mixed operations from four threads. Nothing panics,
//! nothing hangs, nothing is lost or created twice, and every error is typed.
//!
//! The emulator runs `SPEED` times faster than real time and the clients keep up with
//! `time_scale`: emulated minutes of waits, backoff and processing pass in real milliseconds.
//! Each operation counts: `Ok`, or a typed error by kind (a create that could not be settled
//! ends with one saying it may have succeeded; counted apart, never lost). At the end, with
//! faults off, the listings show every resource created `Ok`, and none twice.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::Method;
use rein_blocking::{Jack, Jockey};
use rein_core::jack::NewDocument;
use rein_core::jockey::{
    AddItem, CreateKnowledgeStore, CreateResponse, ListAssets, ListItems, ListKnowledgeStores,
    SearchKnowledgeStore, SortOption,
};
use rein_core::{
    Api, AssetId, DocumentId, Error, Fleet, ItemId, KnowledgeStoreId, Random, SplitMix64,
};
use rein_emulator::testing::chaos::*;
use rein_emulator::testing::{self, Tally};
use rein_emulator::{FaultKind, FaultPlan, RunningServer, DEMO_JACK_KEY, DEMO_JOCKEY_KEY};

/// Clients on the emulator's clock, as `scaled_clients` in tests/emulator.rs: default
/// policies with ten attempts, the default attempt timeout, and a 10 s stream idle timeout (a
/// trickled stream's keepalives come every 2 s at most).
fn clients(server: &RunningServer) -> (Jockey, Jack) {
    let jockey = Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .time_scale(server.time_scale())
        .request_timeout(ATTEMPT)
        .stream_idle_timeout(Duration::from_secs(10))
        .retry_policy(policy(Api::Jockey))
        .on_event(heard)
        .seed(SEED)
        .build()
        .expect("client");
    let jack = Jack::builder(DEMO_JACK_KEY)
        .base_url(server.jack_base_url())
        .time_scale(server.time_scale())
        .request_timeout(ATTEMPT)
        .retry_policy(policy(Api::Jack))
        .on_event(heard)
        .seed(SEED)
        .build()
        .expect("client");
    (jockey, jack)
}

struct World {
    jockey: Jockey,
    jack: Jack,
    made: Mutex<Made>,
    tally: Mutex<Tally>,
    /// Ids a newest-first listing gave twice while other operations created: offset pages
    /// shift under inserts (the assets list has no oldest-first order). Not duplicates.
    overlaps: AtomicUsize,
    dir: PathBuf,
}

impl World {
    fn made(&self) -> MutexGuard<'_, Made> {
        self.made.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unique(&self) -> u64 {
        let mut made = self.made();
        made.next += 1;
        made.next
    }
}

/// Runs operation `name` (or a create, when it has nothing to work on); what it ran as.
fn run(w: &World, name: &'static str, rng: &mut SplitMix64) -> (&'static str, Result<(), Error>) {
    let (stores, documents, ready, pending) = {
        let made = w.made();
        (
            made.stores.clone(),
            made.documents.clone(),
            made.ready_assets.clone(),
            made.pending_assets.clone(),
        )
    };
    match name {
        "ingest" => (name, ingest(w)),
        "ingest_file" => (name, ingest_file(w)),
        "get_document" | "wait_documents" if documents.is_empty() => ("ingest", ingest(w)),
        "get_document" => {
            let id = pick(rng, &documents).expect("some");
            (name, w.jack.get_document(id).map(drop))
        }
        "list_documents" => (
            name,
            w.jack.list_documents().map(|docs| {
                once(&mut w.tally(), name, docs.iter().map(|d| d.id.as_str()));
            }),
        ),
        "query" => (name, w.jack.query("How long do refunds take?").map(drop)),
        "wait_documents" => {
            let ids: BTreeSet<DocumentId> = (0..12).filter_map(|_| pick(rng, &documents)).collect();
            let report = w.jack.wait_all(Fleet::documents(ids.iter().cloned()));
            if let Ok(report) = &report {
                let mut tally = w.tally();
                let ends: Vec<&str> = report.finished.iter().map(|f| f.id.as_str()).collect();
                once(&mut tally, name, ends.iter().copied());
                for id in &ids {
                    if !ends.contains(&id.as_str()) {
                        tally.lost(format!("{name}: no end for {id}"));
                    }
                }
                for f in &report.finished {
                    if let Err(e) = &f.result {
                        tally.error("wait_documents (one id)", e);
                    }
                }
            }
            (name, report.map(drop))
        }
        "usage" => (name, w.jack.usage().map(drop)),
        "upload_url" => (name, upload_url(w)),
        "wait_assets" if pending.is_empty() => ("upload_url", upload_url(w)),
        "wait_assets" => {
            let ids: Vec<AssetId> = {
                let mut made = w.made();
                let n = made.pending_assets.len().min(10);
                made.pending_assets.drain(..n).collect()
            };
            let report = w.jockey.wait_all(Fleet::assets(ids.iter().cloned()));
            let mut made = w.made();
            match &report {
                Ok(report) => {
                    let mut tally = w.tally();
                    once(&mut tally, name, report.finished.iter().map(|f| f.id.as_str()));
                    for id in &ids {
                        match report.finished.iter().find(|f| &f.id == id) {
                            None => tally.lost(format!("{name}: no end for {id}")),
                            Some(f) => match &f.result {
                                Ok(_) => made.ready_assets.push(id.clone()),
                                Err(e @ Error::ResourceFailed(_)) => {
                                    tally.error("wait_assets (one id)", e)
                                }
                                Err(e) => {
                                    tally.error("wait_assets (one id)", e);
                                    made.pending_assets.push(id.clone());
                                }
                            },
                        }
                    }
                }
                Err(_) => made.pending_assets.extend(ids),
            }
            (name, report.map(drop))
        }
        "create_store" => (name, create_store(w)),
        "add_item" | "list_items" | "search" | "response" | "stream" | "wait_items"
            if stores.is_empty() =>
        {
            ("create_store", create_store(w))
        }
        "add_item" if ready.is_empty() => ("upload_url", upload_url(w)),
        "add_item" => {
            let store = pick(rng, &stores).expect("some");
            let asset = pick(rng, &ready).expect("some");
            if !w.made().pairs.insert((store.clone(), asset.clone())) {
                return ("create_store", create_store(w));
            }
            let item = w.jockey.add_item(&AddItem::new(store.clone(), asset));
            if let Ok(item) = &item {
                w.made().items.push((store, item.id.clone()));
            }
            (name, item.map(drop))
        }
        "wait_items" => {
            let store = pick(rng, &stores).expect("some");
            let ids: Vec<ItemId> = {
                let made = w.made();
                made.items.iter().filter(|(s, _)| *s == store).map(|(_, i)| i.clone()).collect()
            };
            if ids.is_empty() {
                return ("list_items", list_items(w, &store));
            }
            let ids: Vec<ItemId> = ids.into_iter().rev().take(10).collect();
            let report = w.jockey.wait_all(Fleet::items(store, ids.iter().cloned()));
            if let Ok(report) = &report {
                let mut tally = w.tally();
                let ends: Vec<String> =
                    report.finished.iter().map(|f| format!("{:?}", f.id)).collect();
                once(&mut tally, name, ends.iter().map(String::as_str));
                if report.finished.len() != ids.len() {
                    tally.lost(format!(
                        "{name}: {} ends for {} ids",
                        report.finished.len(),
                        ids.len()
                    ));
                }
                for f in &report.finished {
                    if let Err(e) = &f.result {
                        tally.error("wait_items (one id)", e);
                    }
                }
            }
            (name, report.map(drop))
        }
        "list_stores" => {
            // Oldest first: a store created meanwhile goes at the end, and shifts no page.
            let limit = 1 + (rng.next_u64() % 4) as u32;
            let list = ListKnowledgeStores::new().page_limit(limit).sort_option(SortOption::Asc);
            let stores: Result<Vec<_>, Error> = w.jockey.stores(list).collect();
            (
                name,
                listed(
                    w,
                    name,
                    stores.map(|s| s.into_iter().map(|s| s.id.into_string()).collect()),
                ),
            )
        }
        "list_assets" => {
            let limit = 1 + (rng.next_u64() % 5) as u32;
            let assets: Result<Vec<_>, Error> =
                w.jockey.assets(ListAssets::new().page_limit(limit)).collect();
            let assets = assets.map(|assets| {
                let ids: BTreeSet<&AssetId> = assets.iter().map(|a| &a.id).collect();
                w.overlaps.fetch_add(assets.len() - ids.len(), Ordering::Relaxed);
            });
            (name, assets)
        }
        "list_items" => {
            let store = pick(rng, &stores).expect("some");
            (name, list_items(w, &store))
        }
        "search" => {
            let store = pick(rng, &stores).expect("some");
            let hits: Result<Vec<_>, Error> = w
                .jockey
                .search_pages(SearchKnowledgeStore::new(store, "chaos").page_size(2))
                .collect();
            (name, listed(w, name, hits.map(|h| h.iter().map(|h| format!("{h:?}")).collect())))
        }
        "response" => {
            let store = pick(rng, &stores).expect("some");
            let ask = CreateResponse::ask(store, "What is in the videos?");
            (name, w.jockey.create_response(&ask).map(drop))
        }
        "stream" => {
            let store = pick(rng, &stores).expect("some");
            let ask = CreateResponse::ask(store, "Stream what is in the videos.");
            let events = w
                .jockey
                .stream_response(&ask)
                .and_then(|events| events.collect::<Result<Vec<_>, Error>>());
            if let Ok(events) = &events {
                let done = events.iter().any(|e| e.event_type() == "response.completed");
                if !done {
                    w.tally().lost(format!("{name}: a stream ended Ok without its answer"));
                }
            }
            (name, events.map(drop))
        }
        "get" => match (pick(rng, &stores), pick(rng, &pending).or_else(|| pick(rng, &ready))) {
            (Some(store), _) if rng.next_u64() % 2 == 0 => {
                (name, w.jockey.get_store(store).map(drop))
            }
            (_, Some(asset)) => (name, w.jockey.get_asset(asset).map(drop)),
            (Some(store), None) => (name, w.jockey.get_store(store).map(drop)),
            (None, None) => ("upload_url", upload_url(w)),
        },
        other => unreachable!("{other}"),
    }
}

fn listed(w: &World, name: &str, ids: Result<Vec<String>, Error>) -> Result<(), Error> {
    ids.map(|ids| once(&mut w.tally(), name, ids.iter().map(String::as_str)))
}

fn list_items(w: &World, store: &KnowledgeStoreId) -> Result<(), Error> {
    let list = ListItems::new(store.clone()).page_limit(2).sort_option(SortOption::Asc);
    let items: Result<Vec<_>, Error> = w.jockey.items(list).collect();
    listed(w, "list_items", items.map(|i| i.into_iter().map(|i| i.id.into_string()).collect()))
}

fn ingest(w: &World) -> Result<(), Error> {
    let n = w.unique();
    let docs = (0..1 + n % 3).map(|i| {
        NewDocument::new(format!("Chaos document {n}.{i}: refunds take {n} days."))
            .metadata("chaos", format!("doc-{n}-{i}"))
    });
    let accepted = w.jack.ingest(docs)?;
    w.made().documents.extend(accepted.document_ids);
    Ok(())
}

fn ingest_file(w: &World) -> Result<(), Error> {
    let n = w.unique();
    let ext = if n % 2 == 0 { "txt" } else { "md" };
    let path = w.dir.join(format!("chaos-{n}.{ext}"));
    std::fs::write(&path, format!("# Chaos file {n}\n\nShipping takes {n} days.\n"))
        .expect("a temp file");
    let accepted = w.jack.ingest_file(&path)?;
    w.made().documents.extend(accepted.document_id);
    Ok(())
}

fn upload_url(w: &World) -> Result<(), Error> {
    let n = w.unique();
    let asset = w.jockey.upload_url(&format!("https://example.com/chaos-{n}.mp4"))?;
    w.made().pending_assets.push(asset.id);
    Ok(())
}

fn create_store(w: &World) -> Result<(), Error> {
    let n = w.unique();
    let store = w.jockey.create_store(&CreateKnowledgeStore::new(format!("chaos-store-{n}")))?;
    w.made().stores.push(store.id);
    Ok(())
}

/// With faults off and every slow proxy's request landed: every resource created `Ok` is
/// there, and none twice (by its unique name, URL, tag or file name, and in the log).
fn final_checks(w: &World, server: &RunningServer) {
    server.with_emulator(|e| e.set_fault_plan(FaultPlan::none()));
    // The longest slow proxy's delay is 20 s of emulated time.
    std::thread::sleep(Duration::from_secs(25).div_f64(SPEED));
    let made = w.made();
    let mut tally = w.tally();

    let stores: Vec<_> = w
        .jockey
        .stores(ListKnowledgeStores::new().page_limit(50))
        .collect::<Result<_, _>>()
        .expect("stores, faults off");
    twice(&mut tally, "store", stores.iter().filter_map(|s| s.name.as_deref()));
    for id in &made.stores {
        if !stores.iter().any(|s| &s.id == id) {
            tally.lost(format!("store {id} created Ok is missing"));
        }
    }
    let assets: Vec<_> = w
        .jockey
        .assets(ListAssets::new().page_limit(50))
        .collect::<Result<_, _>>()
        .expect("assets, faults off");
    twice(&mut tally, "asset", assets.iter().filter_map(|a| a.filename.as_deref()));
    for id in made.pending_assets.iter().chain(&made.ready_assets) {
        if !assets.iter().any(|a| &a.id == id) {
            tally.lost(format!("asset {id} created Ok is missing"));
        }
    }
    let mut items = Vec::new();
    for store in &stores {
        let listed: Vec<_> = w
            .jockey
            .items(ListItems::new(store.id.clone()).page_limit(50))
            .collect::<Result<_, _>>()
            .expect("items, faults off");
        let pairs: Vec<String> = listed
            .iter()
            .map(|i| format!("{} in {}", i.asset_id.as_ref().map_or("?", |a| a.as_str()), store.id))
            .collect();
        twice(&mut tally, "item of asset", pairs.iter().map(String::as_str));
        items.extend(listed.into_iter().map(|i| (store.id.clone(), i.id)));
    }
    for pair in &made.items {
        if !items.contains(pair) {
            tally.lost(format!("item {} of {} created Ok is missing", pair.1, pair.0));
        }
    }
    let documents = w.jack.list_documents().expect("documents, faults off");
    twice(
        &mut tally,
        "document",
        documents.iter().filter_map(|d| d.metadata.get("chaos")).map(String::as_str),
    );
    twice(&mut tally, "file", documents.iter().filter_map(|d| d.filename.as_deref()));
    for id in &made.documents {
        if !documents.iter().any(|d| &d.id == id) {
            tally.lost(format!("document {id} ingested Ok is missing"));
        }
    }

    // The log agrees: each resource there was made by one request that took effect.
    let log = server.log();
    let effective = |suffix| testing::effective(&log, &Method::POST, suffix);
    let counts = [
        ("stores", effective("/knowledge-stores"), stores.len()),
        ("assets", effective("/assets"), assets.len()),
        ("items", effective("/items"), items.len()),
        (
            "files",
            effective("/v1/ingest/file"),
            documents.iter().filter(|d| d.filename.is_some()).count(),
        ),
    ];
    for (what, created, listed) in counts {
        if created != listed {
            tally.duplicate(format!("{what}: {created} creates took effect, {listed} listed"));
        }
    }
}

#[test]
fn hundreds_of_operations_under_faults_lose_nothing_and_create_nothing_twice() {
    let started = Instant::now();
    let server = server();
    let (jockey, jack) = clients(&server);
    let dir = std::env::temp_dir().join(format!("rein-blocking-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let world = World {
        jockey,
        jack,
        made: Mutex::new(Made::default()),
        tally: Mutex::new(Tally::default()),
        overlaps: AtomicUsize::new(0),
        dir: dir.clone(),
    };

    let (done, progress) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        for worker in 0..WORKERS {
            let (world, done) = (&world, done.clone());
            scope.spawn(move || {
                let mut rng = SplitMix64::new(SEED ^ worker as u64);
                for _ in 0..OPERATIONS.div_ceil(WORKERS) {
                    let name = choose(&mut rng);
                    let ran = catch_unwind(AssertUnwindSafe(|| run(world, name, &mut rng)));
                    match ran {
                        Ok((ran_as, result)) => world.tally().record(ran_as, &result),
                        Err(payload) => world.tally().panic(name, &panic_message(&*payload)),
                    }
                    let _ = done.send(());
                }
            });
        }
        drop(done);
        // Every operation ends: one that hangs fails the run (and is counted lost).
        loop {
            match progress.recv_timeout(HANG) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    world.tally().lost(format!("no operation ended in {HANG:?}"));
                    panic!("{}", world.tally().summary("blocking"));
                }
            }
        }
    });
    let ran = started.elapsed();

    final_checks(&world, &server);
    let tally = world.tally().clone();
    let log = server.log();
    eprintln!("{}", tally.summary("blocking"));
    eprintln!(
        "chaos (blocking): {} requests, faults {:?}, {} overlaps of newest-first asset pages, \
         {:.1} s real ({:.1} s with the final checks)",
        testing::requests(&log).count(),
        faults_seen(&log),
        world.overlaps.load(Ordering::Relaxed),
        ran.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("  events: {:?}", events());
    for (kind, example) in &tally.examples {
        eprintln!("  {kind}: {example}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let clean = tally.panics.is_empty()
        && tally.lost.is_empty()
        && tally.duplicates.is_empty()
        && tally.untyped.is_empty();
    if !clean {
        // For the post-mortem: every request, with its time, status and fault.
        let path =
            std::env::temp_dir().join(format!("rein-blocking-chaos-{}.jsonl", std::process::id()));
        let lines: Vec<String> = log.iter().map(|e| e.to_json().to_string()).collect();
        std::fs::write(&path, lines.join("\n")).expect("the log");
        eprintln!("the emulator's log: {}", path.display());
    }

    assert!(tally.operations >= 500, "{}", tally.operations);
    tally.assert_clean();
    let seen = faults_seen(&log);
    for kind in [
        FaultKind::SlowProxy,
        FaultKind::Trickle,
        FaultKind::RateLimitNoRetryAfter,
        FaultKind::LoopingPages,
    ] {
        assert!(seen.contains_key(kind.name()), "{kind:?} never drawn: {seen:?}");
    }
}
