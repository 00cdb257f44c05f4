//! The faults the model acts out itself (a slow proxy whose request lands later, 429s without
//! `Retry-After`, listings that loop) and the trickle, as the model hands it out and as
//! `InProcess` acts it out on its clock.

mod common;

use std::time::Duration;

use common::*;
use http::Method;
use rein_core::request::{AttemptTimeout, ReadTimeout};
use rein_core::{Body, ManualClock, TransportErrorKind};
use rein_emulator::faults::KEEPALIVE;
use rein_emulator::{testing, Config, Emulator, FaultKind, FaultPlan, InProcess, Span};
use serde_json::json;

fn with_plan(plan: FaultPlan) -> Emulator {
    Emulator::new(Config { faults: plan, ..config() })
}

fn store_names(e: &mut Emulator, t: f64) -> Vec<String> {
    let r = e.handle(jockey(Method::GET, "/knowledge-stores?page_limit=50", Body::Empty), at(t));
    assert_eq!(status(&r), 200);
    body_json(&r)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_slow_proxy_answers_at_once_and_the_create_lands_later() {
    let mut plan = FaultPlan::only(FaultKind::SlowProxy, 1.0);
    plan.slow_proxy_delay = Span::secs(10, 10);
    let mut e = with_plan(plan);
    let r = e.handle(
        jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "late"}))),
        at(0.0),
    );
    assert!(matches!(status(&r), 502 | 504), "{}", status(&r));
    assert_eq!(r.fault, None, "nothing for the transport to act out");
    assert_eq!(e.next_change(), Some(rein_core::Moment::from_secs(10)), "its landing");

    e.catch_up(at(9.0));
    assert_eq!(e.log().entries().len(), 1, "not landed yet");

    e.catch_up(at(10.0));
    let log = e.log().to_vec();
    assert_eq!(log.len(), 2, "{log:?}");
    let (arrival, landing) = (&log[0], &log[1]);
    assert_eq!(arrival.fault, Some(FaultKind::SlowProxy));
    assert!(!arrival.state_changed);
    assert_eq!(landing.landing_of, Some(arrival.seq));
    assert_eq!(landing.status, 201);
    assert!(landing.state_changed);
    assert_eq!(landing.at, rein_core::Moment::from_secs(10));
    assert_eq!(testing::effective(&log, &Method::POST, "/knowledge-stores"), 1);
    assert_eq!(testing::lost_creates(&log), 1);
    assert_eq!(testing::requests(&log).count(), 1);
    assert_eq!(landing.to_json()["landing_of"], arrival.seq);
}

#[test]
fn a_lookup_before_the_landing_finds_nothing_and_one_after_finds_the_resource() {
    let mut plan = FaultPlan::only(FaultKind::SlowProxy, 1.0);
    plan.slow_proxy_delay = Span::secs(10, 10);
    let mut e = with_plan(plan);
    e.handle(jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "a"}))), at(0.0));
    e.handle(jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "b"}))), at(5.0));
    e.set_fault_plan(FaultPlan::none());
    let mut seen = Vec::new();
    for t in [1.0, 9.9, 10.0, 14.9, 15.0] {
        seen.push(store_names(&mut e, t).join(","));
    }
    // Newest first; each appears at its landing, not before.
    assert_eq!(seen, ["", "", "a", "a", "b,a"]);
    let log = e.log().to_vec();
    let landed: Vec<_> = log.iter().filter(|x| x.landing_of.is_some()).collect();
    assert_eq!(landed.len(), 2);
    // The log stays in time order: a landing comes before the request that found it.
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at), "{log:?}");

    let mut quiet = Emulator::new(config());
    quiet.handle(
        jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "x"}))),
        at(0.0),
    );
    assert_eq!(store_names(&mut quiet, 0.0), ["x"], "no plan, no deferral");
}

#[test]
fn a_slow_proxys_create_takes_its_time_and_draws_from_its_landing() {
    // The same requests at the same times give the same ids, with or without the proxy's
    // delay: the create draws its id when it lands, from the same generator.
    let run = |plan: FaultPlan| {
        let mut e = with_plan(plan);
        e.handle(
            jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "a"}))),
            at(0.0),
        );
        e.set_fault_plan(FaultPlan::none());
        let r = e.handle(jockey(Method::GET, "/knowledge-stores", Body::Empty), at(30.0));
        let store = body_json(&r)["data"][0].clone();
        (store["_id"].clone(), store["created_at"].clone())
    };
    let mut plan = FaultPlan::only(FaultKind::SlowProxy, 1.0);
    plan.slow_proxy_delay = Span::secs(10, 10);
    let (late_id, late_created) = run(plan);
    let (id, created) = run(FaultPlan::none());
    assert_eq!(late_id, id);
    assert_eq!(created, "2026-01-01T00:00:00Z");
    assert_eq!(late_created, "2026-01-01T00:00:10Z", "created when it landed");
}

#[test]
fn a_slow_proxy_lets_the_servers_own_refusals_through() {
    let mut e = with_plan(FaultPlan::only(FaultKind::SlowProxy, 1.0));
    let r = e.handle(
        jack_with_key(Method::GET, "/usage", Body::Empty, "jack_not_a_key_0000000000000000"),
        at(0.0),
    );
    assert_eq!(status(&r), 401);
    e.catch_up(at(100.0));
    assert_eq!(e.log().entries().len(), 1, "nothing deferred");
    assert_eq!(e.log().to_vec()[0].fault, None);
}

#[test]
fn bare_429s_carry_no_retry_after() {
    let mut plan = FaultPlan::only(FaultKind::RateLimitNoRetryAfter, 1.0);
    plan.burst_len = (2, 2);
    let mut e = with_plan(plan);
    for t in [0.0, 0.5] {
        let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(t));
        assert_eq!(status(&r), 429);
        assert!(r.response.headers().get("retry-after").is_none());
        assert_eq!(body_json(&r)["detail"], "Rate limit exceeded");
    }
    let log = e.log().to_vec();
    assert!(log.iter().all(|x| x.fault == Some(FaultKind::RateLimitNoRetryAfter)));
    assert!(log.iter().all(|x| x.retry_after.is_none()));
    testing::assert_retries_follow_the_policy(&log, Duration::ZERO);
}

#[test]
fn a_looping_listing_answers_a_later_page_as_an_earlier_one() {
    let mut e = with_plan(FaultPlan::only(FaultKind::LoopingPages, 1.0));
    for n in 0..5 {
        // Requests that ask for no later page are never looped.
        let r = e.handle(
            jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": format!("s{n}")}))),
            at(0.0),
        );
        assert_eq!(status(&r), 201);
    }
    let first = e
        .handle(jockey(Method::GET, "/knowledge-stores?page=1&page_limit=1", Body::Empty), at(1.0));
    assert_eq!(body_json(&first)["page_info"]["page"], 1, "page 1 cannot loop");
    for page in 2..=5u64 {
        let r = e.handle(
            jockey(
                Method::GET,
                &format!("/knowledge-stores?page={page}&page_limit=1"),
                Body::Empty,
            ),
            at(1.0),
        );
        assert_eq!(status(&r), 200);
        let answered = body_json(&r)["page_info"]["page"].as_u64().expect("page");
        assert!((1..page).contains(&answered), "page {page} answered as {answered}");
    }
    let log = e.log().to_vec();
    let looped = log.iter().filter(|x| x.fault == Some(FaultKind::LoopingPages)).count();
    assert_eq!(looped, 4, "{log:?}");
}

#[test]
fn a_looping_search_gives_back_the_token_it_was_reached_by() {
    let mut e = Emulator::new(config());
    let store = create_store(&mut e, at(0.0));
    let assets: Vec<String> = (0..3).map(|_| create_asset(&mut e, at(0.0))).collect();
    for asset in &assets {
        add_item(&mut e, &store, asset, at(30.0));
    }
    let search = |token: Option<&str>| {
        let mut body = json!({"query": {"text": "q"}, "page_size": 1});
        if let Some(t) = token {
            body["page_token"] = json!(t);
        }
        jockey(Method::POST, &format!("/knowledge-stores/{store}/search"), json_body(body))
    };
    e.set_fault_plan(FaultPlan::only(FaultKind::LoopingPages, 1.0));
    let first = e.handle(search(None), at(200.0));
    assert_eq!(status(&first), 200, "{}", body_json(&first));
    let token = body_json(&first)["next_page_token"].as_str().expect("a token").to_owned();
    let second = e.handle(search(Some(&token)), at(200.0));
    assert_eq!(status(&second), 200);
    assert_eq!(body_json(&second)["next_page_token"], token.as_str(), "the token comes back");
    assert_eq!(body_json(&second)["data"].as_array().map(Vec::len), Some(1));
    let faults: Vec<_> = e.log().to_vec().iter().rev().take(2).map(|x| x.fault).collect();
    assert_eq!(faults, [Some(FaultKind::LoopingPages), None], "the first page cannot loop");
}

#[test]
fn a_trickled_reply_says_how_and_in_process_acts_it_out_on_the_clock() {
    let mut plan = FaultPlan::only(FaultKind::Trickle, 1.0);
    plan.trickle_every = Span::secs(2, 2);
    plan.trickle_pieces = 4;
    let clock = ManualClock::new();
    let emulator = InProcess::new(Config { faults: plan, ..config() }, clock.clone());
    let usage = || {
        let mut r = jack(Method::GET, "/usage", Body::Empty);
        r.extensions_mut().insert(AttemptTimeout(Duration::from_secs(30)));
        r
    };
    let r = emulator.exchange(usage()).expect("delivered");
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_slice::<serde_json::Value>(r.body()).is_ok(), "the whole body");
    assert_eq!(clock.now().moment.since_origin(), Duration::from_secs(6), "3 intervals");
    assert_eq!(emulator.log()[0].fault, Some(FaultKind::Trickle));

    // Past the attempt's timeout: a timeout, after it.
    let mut r = jack(Method::GET, "/usage", Body::Empty);
    r.extensions_mut().insert(AttemptTimeout(Duration::from_secs(5)));
    let err = emulator.exchange(r).expect_err("too slow");
    assert_eq!(err.kind, TransportErrorKind::Timeout);
    assert_eq!(clock.now().moment.since_origin(), Duration::from_secs(11));
}

#[test]
fn a_trickled_event_stream_has_keepalives_between_its_events() {
    let mut plan = FaultPlan::only(FaultKind::Trickle, 1.0);
    plan.trickle_every = Span::secs(1, 1);
    let clock = ManualClock::new();
    let emulator = InProcess::new(Config { faults: plan, ..config() }, clock.clone());
    // The store, created plainly (a JSON body is trickled too, which changes nothing).
    let mut create = jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "s"})));
    create.extensions_mut().insert(AttemptTimeout(Duration::from_secs(600)));
    let store: serde_json::Value =
        serde_json::from_slice(emulator.exchange(create).expect("store").body()).expect("json");
    let store = store["_id"].as_str().expect("id").to_owned();
    let start = clock.now().moment;
    let ask = |idle: u64| {
        let mut r = jockey(
            Method::POST,
            "/responses",
            json_body(json!({
                "knowledge_store_id": store,
                "input": [{"type": "message", "role": "user", "content": "hello"}],
                "stream": true
            })),
        );
        r.extensions_mut().insert(AttemptTimeout(Duration::from_secs(1)));
        r.extensions_mut().insert(ReadTimeout(Duration::from_secs(idle)));
        r
    };
    let r = emulator.exchange(ask(5)).expect("streamed");
    let text = String::from_utf8_lossy(r.body()).into_owned();
    let events = text.matches("\n\nevent: ").count() + 1;
    assert_eq!(text.matches(std::str::from_utf8(KEEPALIVE).unwrap()).count(), events, "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    // 2 intervals per event after the first, [DONE] included; the attempt's 1 s timeout is
    // for the head only.
    let took = clock.now().moment.saturating_since(start);
    assert_eq!(took, Duration::from_secs(2 * events as u64));

    // An idle limit under the interval ends the stream with a timeout.
    let err = emulator.exchange(ask(1)).expect_err("idle");
    assert_eq!(err.kind, TransportErrorKind::Timeout);
}
