//! Traces of the retry machine for scripted server behaviour, and backoff schedules for fixed seeds.

mod wire;

use std::time::Duration;

use rein_core::{
    Api, Backoff, Call, Jitter, Operation, RetryPolicy, SplitMix64, Target, TransportError,
    TransportErrorKind,
};
use wire::{trace, Reply};

const LATENCY: Duration = Duration::from_millis(100);

fn request(api: Api, op: Operation, params: &[&str]) -> rein_core::Request {
    let (base, key) = match api {
        Api::Jockey => ("https://api.twelvelabs.io/v1.3", "tlk_test_key"),
        Api::Jack => ("https://api.usejack.io/v1", "jack_test_key"),
    };
    let target = Target::new(api, base, key).expect("valid target");
    target.request(op, params).build().expect("valid request")
}

/// A call whose output is the success status, so traces stay short.
fn call(api: Api, op: Operation, params: &[&str], policy: RetryPolicy) -> Call<u16> {
    Call::with_decoder(request(api, op, params), policy, |r| Ok(r.status().as_u16()))
}

#[test]
fn rate_limited_with_retry_after_2_then_ok() {
    let c = call(Api::Jockey, Operation::GetAsset, &["asset_1"], RetryPolicy::default());
    let replies = vec![
        Reply::json(429, r#"{"code":"too_many_requests","message":"Rate limit exceeded"}"#)
            .with_header("retry-after", "2"),
        Reply::json(200, r#"{"_id":"asset_1","status":"ready"}"#),
    ];
    insta::assert_snapshot!("trace_429_retry_after_2_then_200", trace(c, replies, LATENCY));
}

#[test]
fn three_500s_then_give_up() {
    let c = call(Api::Jockey, Operation::GetAsset, &["asset_1"], RetryPolicy::reference());
    let replies = vec![Reply::json(500, r#"{"code":"internal_error","message":"boom"}"#); 3];
    insta::assert_snapshot!("trace_three_500s_then_give_up", trace(c, replies, LATENCY));
}

#[test]
fn retry_after_86400_fails_fast() {
    let c = call(Api::Jockey, Operation::ListItems, &["ks_1"], RetryPolicy::default());
    let replies =
        vec![Reply::json(429, r#"{"code":"too_many_requests","message":"Daily quota exceeded"}"#)
            .with_header("retry-after", "86400")];
    insta::assert_snapshot!("trace_retry_after_86400_fails_fast", trace(c, replies, LATENCY));
}

#[test]
fn jack_429_without_retry_after_waits_60s() {
    let c = call(Api::Jack, Operation::Query, &[], RetryPolicy::for_api(Api::Jack));
    let replies = vec![
        Reply::json(429, r#"{ "detail": "Rate limit exceeded" }"#),
        Reply::json(200, r#"{"answer":"42","citations":[],"org_id":"org_1"}"#),
    ];
    insta::assert_snapshot!("trace_jack_429_without_header_waits_60s", trace(c, replies, LATENCY));
}

#[test]
fn jack_500_waits_30s_first() {
    let c = call(Api::Jack, Operation::GetDocument, &["doc_1"], RetryPolicy::for_api(Api::Jack));
    let replies = vec![
        Reply::json(500, r#"{"detail":"Internal Server Error"}"#),
        Reply::json(500, r#"{"detail":"Internal Server Error"}"#),
        Reply::json(200, r#"{"id":"doc_1","status":"ready"}"#),
    ];
    insta::assert_snapshot!("trace_jack_500_waits_30s_first", trace(c, replies, LATENCY));
}

#[test]
fn timeout_after_sending_a_create_is_not_retried() {
    let c = call(Api::Jockey, Operation::AddItem, &["ks_1"], RetryPolicy::default());
    let replies = vec![Reply::Fail(TransportError::after_send(
        TransportErrorKind::Timeout,
        "no response within 30s",
    ))];
    insta::assert_snapshot!("trace_timeout_after_create_not_retried", trace(c, replies, LATENCY));
}

#[test]
fn connect_failure_before_sending_a_create_is_retried() {
    let c = call(Api::Jack, Operation::Ingest, &[], RetryPolicy::for_api(Api::Jack));
    let replies = vec![
        Reply::Fail(TransportError::not_sent(TransportErrorKind::Connect, "connection refused")),
        Reply::json(202, r#"{"status":"accepted","queued":1,"document_ids":["d1"]}"#),
    ];
    insta::assert_snapshot!(
        "trace_connect_failure_before_create_retried",
        trace(c, replies, LATENCY)
    );
}

#[test]
fn timeout_on_an_idempotent_get_is_retried() {
    let c = call(Api::Jockey, Operation::GetItem, &["ks_1", "ksi_1"], RetryPolicy::reference());
    let replies = vec![
        Reply::Fail(TransportError::after_send(
            TransportErrorKind::Reset,
            "connection reset by peer",
        )),
        Reply::json(200, r#"{"_id":"ksi_1","status":"ready"}"#),
    ];
    insta::assert_snapshot!("trace_reset_on_get_retried", trace(c, replies, LATENCY));
}

#[test]
fn a_400_is_not_retried() {
    let c = call(Api::Jockey, Operation::CreateKnowledgeStore, &[], RetryPolicy::default());
    let replies = vec![Reply::json(400, r#"{"code":"invalid_request","message":"Name required"}"#)];
    insta::assert_snapshot!("trace_400_not_retried", trace(c, replies, LATENCY));
}

#[test]
fn a_wait_past_the_deadline_is_refused() {
    let mut policy = RetryPolicy::default();
    policy.timeout = Duration::from_secs(10);
    let c = call(Api::Jockey, Operation::GetAsset, &["a"], policy);
    let replies = vec![Reply::json(503, r#"{"error":{"code":"unavailable","message":"x"}}"#)
        .with_header("retry-after", "30")];
    insta::assert_snapshot!("trace_retry_after_past_deadline", trace(c, replies, LATENCY));
}

#[test]
fn schedules_for_fixed_seeds() {
    let base = Backoff::default();
    let mut out = String::new();
    for (label, backoff) in [
        ("reference", Backoff::reference()),
        ("none", base.with_jitter(Jitter::None)),
        ("full", base.with_jitter(Jitter::Full)),
        ("equal", base.with_jitter(Jitter::Equal)),
        ("decorrelated", base.with_jitter(Jitter::Decorrelated)),
    ] {
        for seed in [1u64, 42] {
            let schedule = backoff.schedule(8, &mut SplitMix64::new(seed));
            let shown: Vec<String> =
                schedule.iter().map(|d| format!("{:.3}", d.as_secs_f64())).collect();
            out.push_str(&format!("{label:<13} seed {seed:>2}: {}\n", shown.join(" ")));
        }
    }
    insta::assert_snapshot!("backoff_schedules", out);
}

#[test]
fn a_429_pauses_every_call_of_the_client() {
    use rein_core::{Limiter, Machine, Moment, Now, Step};

    let limiter = Limiter::default();
    let a = call(Api::Jack, Operation::Query, &[], RetryPolicy::for_api(Api::Jack)).rate_limited();
    let b = call(Api::Jack, Operation::Usage, &[], RetryPolicy::for_api(Api::Jack)).rate_limited();

    let t0 = Now::fake(0.0);
    let Step::Send(exchange) = a.poll(t0).through(&limiter, t0) else { panic!("a send") };
    let resp = http::Response::builder()
        .status(429)
        .header("retry-after", "5")
        .body(bytes::Bytes::from_static(br#"{"detail":"Rate limit exceeded"}"#))
        .expect("429");
    let a = wire::answer(exchange, Ok(resp), t0);
    // The pause goes to the limiter before the call does anything else.
    match a.poll(t0) {
        Step::Tell(tell) => {
            assert_eq!(tell.report.api(), Api::Jack);
            assert!(tell.report.throttled);
            assert_eq!(tell.report.pause_until, Some(Moment::from_secs(5)));
            tell.tell(&limiter, t0);
        }
        other => panic!("expected a pause, got {other:?}"),
    }
    assert_eq!(limiter.paused_until(Api::Jack, Moment::ZERO), Some(Moment::from_secs(5)));

    // Another call of the same client, never rate limited itself, waits out the pause.
    let t1 = Now::fake(1.0);
    let b = match b.poll(t1).through(&limiter, t1) {
        Step::Sleep(sleep) => {
            assert_eq!(sleep.until, Moment::from_secs(5));
            sleep.wake()
        }
        other => panic!("expected a wait, got {other:?}"),
    };
    let t5 = Now::fake(5.0);
    assert!(matches!(b.poll(t5).through(&limiter, t5), Step::Send(_)));
}

#[test]
fn a_full_window_holds_the_61st_request() {
    use rein_core::{Limiter, Machine, Moment, Now, Step};

    let limiter = Limiter::default();
    let usage = |policy| call(Api::Jack, Operation::Usage, &[], policy).rate_limited();
    for i in 0..60 {
        let now = Now::fake(i as f64 * 0.5);
        let step = usage(RetryPolicy::for_api(Api::Jack)).poll(now).through(&limiter, now);
        assert!(matches!(step, Step::Send(_)), "request {i}");
    }
    let now = Now::fake(30.0);
    match usage(RetryPolicy::for_api(Api::Jack)).poll(now).through(&limiter, now) {
        Step::Sleep(sleep) => {
            assert_eq!(sleep.until, Moment::from_secs(60) + rein_core::limiter::WINDOW_MARGIN)
        }
        other => panic!("expected a wait, got {other:?}"),
    }
    let mut short = RetryPolicy::for_api(Api::Jack);
    short.timeout = Duration::from_secs(10);
    match usage(short).poll(now).through(&limiter, now) {
        Step::Done(Err(e)) => assert!(e.is_rate_limited(), "{e}"),
        other => panic!("expected a rate-limited error, got {other:?}"),
    }
}

#[test]
fn a_far_off_retry_after_pauses_the_client_no_longer_than_the_cap() {
    use rein_core::{Limiter, Machine, Moment, Now, Step};
    let limiter = Limiter::default();
    let c = call(Api::Jockey, Operation::GetAsset, &["a"], RetryPolicy::default()).rate_limited();
    let now = Now::fake(0.0);
    let Step::Send(exchange) = c.poll(now).through(&limiter, now) else { panic!("a send") };
    let resp = http::Response::builder()
        .status(429)
        .header("retry-after", "86400")
        .body(bytes::Bytes::new())
        .expect("429");
    let c = wire::answer(exchange, Ok(resp), now);
    assert!(
        matches!(c.poll(now).through(&limiter, now), Step::Done(Err(_))),
        "this call fails fast"
    );
    assert_eq!(
        limiter.paused_until(Api::Jockey, Moment::ZERO),
        Some(Moment::from_secs(120)),
        "the others wait the cap at most"
    );
}
