//! Fleet's rules on the pure machine: a `FleetWait` driven step by step against the model, in
//! virtual time, with nothing between them but a loop that answers the machine's steps.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Method;
use rein_core::fleet::{Documents, FleetKind, Items};
use rein_core::{
    Api, Body, Error, Event, Events, Fleet, FleetProgress, FleetWait, Limiter, Machine, Moment,
    Now, Outcome, Priority, RetryPolicy, Step, Target,
};
use rein_emulator::{Config, Emulator, Span, DEMO_JACK_KEY, DEMO_JOCKEY_KEY};
use serde_json::json;

/// How long each request takes, in virtual time.
const LATENCY: Duration = Duration::from_millis(20);

fn target(api: Api) -> Target {
    let (url, key) = match api {
        Api::Jockey => ("http://emulator/v1.3", DEMO_JOCKEY_KEY),
        Api::Jack => ("http://emulator/v1", DEMO_JACK_KEY),
    };
    Target::allow_insecure_http(api, url, key).expect("target")
}

/// What a run saw: each id's end and when, the requests sent, the progress events.
struct Run<K: FleetKind> {
    ends: Vec<(Moment, rein_core::Finished<K>)>,
    sent: Vec<(Moment, String, Priority)>,
    progress: Vec<FleetProgress>,
    now: Now,
}

impl<K: FleetKind> Run<K> {
    fn outcomes(&self) -> BTreeMap<String, (Outcome, String)> {
        self.ends
            .iter()
            .map(|(_, f)| {
                let status = match &f.result {
                    Ok(r) => rein_core::Pollable::status_text(r).to_owned(),
                    Err(e) => e.to_string(),
                };
                (f.id.to_string(), (f.outcome(), status))
            })
            .collect()
    }
}

/// Drives `wait` from `now` until it is done, or until `stop_after` ends were handed out (then
/// the machine is handed back, for a checkpoint). `intercept` may answer a request (by its
/// number, from 1) instead of the model.
fn drive<K: FleetKind>(
    model: &mut Emulator,
    mut wait: FleetWait<K>,
    mut now: Now,
    stop_after: Option<usize>,
    mut intercept: impl FnMut(usize, &http::Request<Body>) -> Option<http::Response<Bytes>>,
) -> (Run<K>, Option<FleetWait<K>>) {
    let limiter = Limiter::unlimited();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&log);
    wait = wait.events(Events::from_hook(Some(std::sync::Arc::new(move |e: &Event| {
        if let Event::Fleet(p) = e {
            sink.lock().unwrap().push((**p).clone());
        }
    }))));
    let mut run = Run { ends: Vec::new(), sent: Vec::new(), progress: Vec::new(), now };
    let mut priority = Priority::Interactive;
    let mut machine = Some(wait);
    while let Some(m) = machine.take() {
        match m.poll(now) {
            Step::Acquire(acquire) => {
                priority = acquire.ask.priority;
                machine = Some(acquire.answer_from(&limiter, now));
            }
            Step::Tell(tell) => machine = Some(tell.tell(&limiter, now)),
            Step::Send(exchange) => {
                let (request, awaiting) = exchange.send(now);
                let n = run.sent.len() + 1;
                let path =
                    request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                run.sent.push((now.moment, path, priority));
                let response = match intercept(n, &request) {
                    Some(response) => response,
                    None => model.handle(request, now).response,
                };
                now = at(now.moment.since_origin().as_secs_f64() + LATENCY.as_secs_f64());
                machine = Some(awaiting.answer(Ok(response), now));
            }
            Step::Read(read) => machine = Some(read.answer(None, now)),
            Step::Sleep(sleep) => {
                if sleep.until > now.moment {
                    now = at(sleep.until.since_origin().as_secs_f64());
                }
                machine = Some(sleep.wake());
            }
            Step::Yield(item, m) => {
                run.ends.push((now.moment, item.expect("a fleet ends ids, not itself")));
                if stop_after.is_some_and(|n| run.ends.len() >= n) {
                    run.now = now;
                    run.progress = log.lock().unwrap().clone();
                    return (run, Some(m));
                }
                machine = Some(m);
            }
            Step::Done(result) => result.expect("done"),
        }
    }
    run.now = now;
    run.progress = log.lock().unwrap().clone();
    (run, None)
}

/// A store with `n` items, created at t = 0 (assets ready at once, items indexed in `item`).
fn store_with_items(model: &mut Emulator, n: usize) -> (String, Vec<String>) {
    let store = create_store(model, at(0.0));
    let mut items = Vec::new();
    while items.len() < n {
        let asset = model.handle(
            jockey(
                Method::POST,
                "/assets",
                form(&[("method", "url"), ("url", "https://example.com/v.mp4")], None),
            ),
            at(0.0),
        );
        let id = body_json(&asset)["_id"].as_str().expect("asset id").to_owned();
        if model.settles(&id).is_some_and(|(_, s)| s == "ready") {
            items.push(add_item(model, &store, &id, at(0.0)));
        }
    }
    (store, items)
}

fn items_model(item: Span, failure_rate: f64, seed: u64) -> Emulator {
    let mut c = Config { seed, failure_rate, ..Config::default() };
    c.timing.asset_url = Span::secs(0, 0);
    c.timing.item = item;
    Emulator::new(c)
}

fn items_fleet(store: &str, items: &[String]) -> FleetWait<Items> {
    FleetWait::new(Fleet::items(store, items), &target(Api::Jockey), RetryPolicy::default())
}

#[test]
fn an_id_that_fails_times_out_or_does_not_exist_does_not_stop_the_others() {
    let mut c = Config { failure_rate: 0.3, seed: 7, ..Config::default() };
    c.timing.document = Span::secs(5, 60);
    let mut model = Emulator::new(c);
    let texts: Vec<_> = (0..30).map(|i| json!({"text": format!("document {i}")})).collect();
    let r = model
        .handle(jack(Method::POST, "/ingest", json_body(json!({"documents": texts}))), at(0.0));
    let mut ids: Vec<String> = body_json(&r)["document_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    ids.push("doc_that_does_not_exist".to_owned());
    let timeout = Duration::from_secs(30);
    let fleet =
        Fleet::documents(&ids).policy(rein_core::WaitPolicy::JACK_DOCUMENT.timeout(timeout));
    let wait = FleetWait::new(fleet, &target(Api::Jack), RetryPolicy::default());
    let (run, _) = drive::<Documents>(&mut model, wait, at(0.0), None, |_, _| None);

    let outcomes = run.outcomes();
    assert_eq!(run.ends.len(), ids.len(), "every id ends once");
    assert_eq!(outcomes.len(), ids.len(), "and only once");
    for id in &ids[..30] {
        let (settles, truth) = model.settles(id).expect("a document");
        let (outcome, _) = &outcomes[id.as_str()];
        // A document still processing at the first sweep after its deadline times out; one
        // that settled before it is reported as it settled.
        let sweep_after_deadline = Moment::ZERO + timeout + Duration::from_secs(5);
        match outcome {
            Outcome::Ready => assert_eq!(truth, "ready", "{id}"),
            Outcome::Failed => assert_eq!(truth, "failed", "{id}"),
            Outcome::TimedOut => assert!(settles > Moment::ZERO + timeout, "{id} timed out early"),
            Outcome::Error => panic!("{id}: {outcome:?}"),
        }
        assert!(*outcome == Outcome::TimedOut || settles <= sweep_after_deadline);
    }
    let missing = &outcomes["doc_that_does_not_exist"];
    assert_eq!(missing.0, Outcome::Error, "{missing:?}");
    assert!(missing.1.contains("404"), "{missing:?}");
    for kind in [Outcome::Ready, Outcome::Failed, Outcome::TimedOut] {
        assert!(outcomes.values().any(|(o, _)| *o == kind), "no {kind:?} among {outcomes:?}");
    }
    // A failure says why, as a single wait would.
    let failed = run.ends.iter().find(|(_, f)| f.outcome() == Outcome::Failed).expect("a failure");
    let Err(Error::ResourceFailed(f)) = &failed.1.result else { panic!("{failed:?}") };
    assert_eq!(f.status, "failed");
    assert!(f.message.is_some(), "the server's message is kept");
    // Every request went out as bulk work.
    assert!(run.sent.iter().all(|(_, _, p)| *p == Priority::Bulk));
}

#[test]
fn a_sweep_that_finds_nothing_new_costs_one_request() {
    // 200 items, none finished before 300 s: after the first sweep reads the store whole (four
    // pages of 50), every sweep until then finds nothing new, in one request.
    let mut model = items_model(Span::secs(300, 600), 0.02, 3);
    let (store, items) = store_with_items(&mut model, 200);
    let (run, _) = drive(&mut model, items_fleet(&store, &items), at(0.0), None, |_, _| None);

    assert_eq!(run.ends.len(), 200, "every item ends");
    assert!(run.ends.iter().all(|(_, f)| matches!(f.outcome(), Outcome::Ready | Outcome::Failed)));
    let first = &run.progress[0];
    assert_eq!(first.requests, 4, "the first sweep reads the whole store: {first}");
    let quiet: Vec<&FleetProgress> =
        run.progress.iter().skip(1).filter(|p| p.finished.is_empty()).collect();
    assert!(quiet.len() >= 25, "sweeps that found nothing: {}", quiet.len());
    for p in &quiet {
        assert_eq!(p.requests, 1, "a sweep that finds nothing costs one request: {p}");
    }
    // Every sweep reads only what finished since the last one (and the few finished in the
    // watermark's overlap), not everything finished so far: far fewer requests than one GET per
    // item per sweep (about 200 x 60 here).
    for p in run.progress.iter().skip(1) {
        assert!(p.requests as usize <= 1 + (p.finished.len() + 10) / 50, "{p}");
    }
    assert!(run.sent.len() <= 80, "{} requests", run.sent.len());
    // Each item is reported within a sweep's interval (and a request's time) of settling.
    for (noticed, f) in &run.ends {
        let (settled, _) = model.settles(f.id.item_id.as_str()).expect("an item");
        let lag = *noticed - settled;
        assert!(lag <= Duration::from_secs(11), "{} noticed {lag:?} late", f.id);
    }
}

#[test]
fn a_429_mid_sweep_pauses_and_resumes_without_losing_an_id() {
    let run = |throttle: bool| {
        let mut model = items_model(Span::secs(60, 300), 0.1, 5);
        let (store, items) = store_with_items(&mut model, 120);
        let (run, _) = drive(&mut model, items_fleet(&store, &items), at(0.0), None, |n, _| {
            // The second page of the first sweep is answered 429, Retry-After: 7.
            (throttle && n == 2).then(|| {
                http::Response::builder()
                    .status(429)
                    .header("retry-after", "7")
                    .header("content-type", "application/json")
                    .body(Bytes::from_static(
                        br#"{"code":"rate_limit_exceeded","message":"slow down"}"#,
                    ))
                    .expect("429")
            })
        });
        (run, items.len())
    };
    let (plain, n) = run(false);
    let (throttled, _) = run(true);
    assert_eq!(throttled.ends.len(), n, "no id lost");
    assert_eq!(throttled.outcomes(), plain.outcomes(), "the same ends as without the 429");
    // The page was asked for again after the wait, and the sweep went on from there.
    let (asked, page, _) = &throttled.sent[1];
    let (again, same, _) = &throttled.sent[2];
    assert_eq!(page, same, "the same page again");
    assert!(*again - *asked >= Duration::from_secs(7), "the Retry-After was obeyed");
    assert!(throttled.sent[3].1.contains("page=3"), "then the rest of the store");
}

#[test]
fn a_checkpoint_taken_mid_run_resumes_to_the_same_final_results() {
    let setup = || {
        let mut model = items_model(Span::secs(60, 600), 0.05, 11);
        let (store, items) = store_with_items(&mut model, 150);
        (model, store, items)
    };
    let (mut model, store, items) = setup();
    let (whole, _) = drive(&mut model, items_fleet(&store, &items), at(0.0), None, |_, _| None);

    let (mut model, store, items) = setup();
    let (before, machine) =
        drive(&mut model, items_fleet(&store, &items), at(0.0), Some(60), |_, _| None);
    let checkpoint = machine.expect("stopped mid-run").checkpoint();
    let saved = serde_json::to_string(&checkpoint).expect("serialise");
    // Small: the ids still to come, their deadlines, the store's watermark.
    assert_eq!(checkpoint.len(), 90);
    // About the ids themselves (58 bytes for an item) and a few bytes more.
    assert!(saved.len() < 90 * 80, "{} bytes: {saved}", saved.len());
    // A new process: the fleet comes back from the saved text alone.
    let restored: Fleet<Items> = serde_json::from_str(&saved).expect("deserialise");
    assert_eq!(restored, checkpoint);
    let resumed = FleetWait::new(restored, &target(Api::Jockey), RetryPolicy::default());
    let (after, _) = drive(&mut model, resumed, before.now, None, |_, _| None);

    let mut combined = before.outcomes();
    for (id, end) in after.outcomes() {
        assert!(combined.insert(id.clone(), end).is_none(), "{id} ended twice");
    }
    assert_eq!(combined, whole.outcomes(), "the same ends as a run never stopped");
    // The store was not read whole again: the checkpoint kept what the first sweeps learned.
    assert_eq!(after.progress[0].requests, 1, "{}", after.progress[0]);
}
