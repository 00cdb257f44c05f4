//! Traces and properties of the wait machine: presets, floors, terminal states, back-off inside
//! the deadline, and timeouts that say what they saw.

mod wire;

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rein_core::{
    decode, Api, DecodeError, Error, Machine, Now, Operation, Phase, Pollable, RetryPolicy, Step,
    Target, TransportError, TransportErrorKind, Wait, WaitPolicy,
};
use serde::Deserialize;
use wire::{trace, Reply};

/// A minimal resource: a status and an error message.
#[derive(Debug, Deserialize)]
struct Resource {
    status: String,
    #[serde(default)]
    error: Option<String>,
}

impl Pollable for Resource {
    fn phase(&self) -> Phase {
        match self.status.as_str() {
            "ready" => Phase::Ready,
            "failed" => Phase::Failed,
            _ => Phase::Pending,
        }
    }
    fn status_text(&self) -> &str {
        &self.status
    }
    fn failure_message(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

fn decode_resource(r: http::Response<Bytes>) -> Result<Resource, DecodeError> {
    decode::json(None, &r)
}

fn wait(api: Api, op: Operation, params: &[&str], policy: WaitPolicy) -> Wait<Resource> {
    let base = match api {
        Api::Jockey => "https://api.twelvelabs.io/v1.3",
        Api::Jack => "https://api.usejack.io/v1",
    };
    let target = Target::new(api, base, "jack_key").expect("target");
    let request = target.request(op, params).build().expect("request");
    Wait::new(request, decode_resource, policy, RetryPolicy::for_api(api))
}

fn status(s: &'static str) -> Reply {
    Reply::json(200, s)
}

const LATENCY: Duration = Duration::from_millis(200);

#[test]
fn an_asset_processes_then_is_ready() {
    let w = wait(Api::Jockey, Operation::GetAsset, &["a1"], WaitPolicy::ASSET_DIRECT);
    let replies = vec![
        status(r#"{"status":"processing"}"#),
        status(r#"{"status":"processing"}"#),
        status(r#"{"status":"ready"}"#),
    ];
    insta::assert_snapshot!("wait_asset_ready", trace(w, replies, LATENCY));
}

#[test]
fn an_item_fails_and_the_failure_is_terminal() {
    let w =
        wait(Api::Jockey, Operation::GetItem, &["ks_1", "ksi_1"], WaitPolicy::KNOWLEDGE_STORE_ITEM);
    let replies = vec![
        status(r#"{"status":"queued"}"#),
        status(r#"{"status":"pending"}"#),
        status(r#"{"status":"processing"}"#),
        status(r#"{"status":"failed","error":"video codec not supported"}"#),
    ];
    insta::assert_snapshot!("wait_item_failed", trace(w, replies, LATENCY));
}

#[test]
fn unknown_statuses_count_as_pending() {
    let w = wait(Api::Jack, Operation::GetDocument, &["d1"], WaitPolicy::JACK_DOCUMENT);
    let replies = vec![
        status(r#"{"status":"chunking"}"#),
        status(r#"{"status":"embedding"}"#),
        status(r#"{"status":"ready"}"#),
    ];
    insta::assert_snapshot!("wait_unknown_status_pending", trace(w, replies, LATENCY));
}

#[test]
fn rate_limits_and_server_errors_back_off_inside_the_wait() {
    let w = wait(Api::Jockey, Operation::GetAsset, &["a1"], WaitPolicy::ASSET_URL);
    let replies = vec![
        status(r#"{"status":"processing"}"#),
        Reply::json(429, r#"{"code":"too_many_requests","message":"slow down"}"#)
            .with_header("retry-after", "12"),
        Reply::Http(
            503,
            vec![("content-type", "text/html".into())],
            "<html><title>503</title></html>",
        ),
        Reply::Fail(TransportError::after_send(TransportErrorKind::Reset, "connection reset")),
        status(r#"{"status":"ready"}"#),
    ];
    insta::assert_snapshot!("wait_backs_off_inside_deadline", trace(w, replies, LATENCY));
}

#[test]
fn a_timeout_says_how_long_and_what_it_last_saw() {
    let w = wait(
        Api::Jack,
        Operation::GetDocument,
        &["d1"],
        WaitPolicy::JACK_DOCUMENT.timeout(Duration::from_secs(22)),
    );
    let replies = vec![status(r#"{"status":"processing"}"#); 5];
    insta::assert_snapshot!("wait_timeout", trace(w, replies, LATENCY));
}

#[test]
fn a_404_ends_the_wait() {
    let w = wait(Api::Jack, Operation::GetDocument, &["d1"], WaitPolicy::JACK_DOCUMENT);
    let replies = vec![Reply::json(404, r#"{"detail":"Document not found"}"#)];
    insta::assert_snapshot!("wait_404", trace(w, replies, LATENCY));
}

#[test]
fn the_floor_holds_unless_lowered_explicitly() {
    let p = WaitPolicy::ASSET_DIRECT.interval(Duration::from_secs(1));
    assert_eq!(p.poll_interval(), Duration::from_secs(5));
    let p = WaitPolicy::ASSET_DIRECT.interval_below_floor(Duration::from_millis(50));
    assert_eq!(p.poll_interval(), Duration::from_millis(50));
    assert_eq!(WaitPolicy::ASSET_URL.wait_timeout(), Duration::from_secs(300));
    assert_eq!(WaitPolicy::KNOWLEDGE_STORE_ITEM.poll_interval(), Duration::from_secs(10));
    assert_eq!(WaitPolicy::KNOWLEDGE_STORE_ITEM.wait_timeout(), Duration::from_secs(600));
}

#[test]
fn a_failed_resource_comes_back_whole() {
    let w = wait(Api::Jockey, Operation::GetAsset, &["a1"], WaitPolicy::ASSET_DIRECT);
    let now = Now::fake(0.0);
    let Step::Send(exchange) = w.poll(now) else { panic!("a send first") };
    let body = r#"{"_id":"a1","status":"failed","error":"unreadable file"}"#;
    let w = wire::answer(
        exchange,
        Ok(http::Response::builder()
            .status(200)
            .body(Bytes::from_static(body.as_bytes()))
            .expect("ok")),
        now,
    );
    match w.poll(now) {
        Step::Done(Err(Error::ResourceFailed(f))) => {
            assert_eq!(f.message.as_deref(), Some("unreadable file"));
            assert_eq!(f.resource["_id"], "a1");
            let back: Option<serde_json::Value> = f.resource_as();
            assert!(back.is_some());
        }
        other => panic!("expected ResourceFailed, got {other:?}"),
    }
}

#[derive(Clone, Debug)]
enum PollReply {
    Status(&'static str),
    Http(u16, Option<u64>),
    Lost,
}

fn poll_reply() -> impl Strategy<Value = PollReply> {
    prop_oneof![
        4 => prop_oneof![Just("processing"), Just("queued"), Just("weird"), Just("ready"), Just("failed")].prop_map(PollReply::Status),
        2 => (prop_oneof![Just(429u16), Just(500), Just(502), Just(503)], proptest::option::of(0u64..90)).prop_map(|(s, ra)| PollReply::Http(s, ra)),
        1 => Just(PollReply::Lost),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/wait_traces.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_wait_never_polls_faster_than_the_floor_nor_past_the_timeout(
        replies in proptest::collection::vec((poll_reply(), 0u64..3000), 1..60),
        preset in prop_oneof![Just(WaitPolicy::ASSET_DIRECT), Just(WaitPolicy::ASSET_URL), Just(WaitPolicy::KNOWLEDGE_STORE_ITEM), Just(WaitPolicy::JACK_DOCUMENT)],
        asked_interval_ms in 0u64..20_000,
        jack in any::<bool>(),
    ) {
        let policy = preset.interval(Duration::from_millis(asked_interval_ms));
        let floor = policy.poll_interval();
        prop_assert!(floor >= preset.poll_interval());
        let (api, op, params): (Api, Operation, &[&str]) =
            if jack { (Api::Jack, Operation::GetDocument, &["d"]) } else { (Api::Jockey, Operation::GetAsset, &["a"]) };
        let mut w = wait(api, op, params, policy);
        let start = Now::fake(3.0);
        let deadline = start.moment + policy.wait_timeout();
        let mut now = start;
        let mut last_send: Option<rein_core::Moment> = None;
        let mut not_before = start.moment;
        let mut replies = replies.into_iter();
        let mut terminal_seen = false;
        let mut last_reply = None;
        for _ in 0..500 {
            w = match w.poll(now) {
                Step::Send(exchange) => {
                    prop_assert!(!terminal_seen, "polled again after a terminal status");
                    prop_assert!(now.moment < deadline, "sent at {:?}, deadline {:?}", now.moment, deadline);
                    prop_assert!(now.moment >= not_before, "sent before a Retry-After ended");
                    if let Some(prev) = last_send {
                        prop_assert!(now.moment - prev >= floor, "polls {:?} apart, floor {:?}", now.moment - prev, floor);
                    }
                    last_send = Some(now.moment);
                    let (reply, latency) = replies.next().unwrap_or((PollReply::Status("processing"), 100));
                    now = now.advanced_to(now.moment + Duration::from_millis(latency));
                    last_reply = Some(now.moment);
                    let outcome = match reply {
                        PollReply::Status(s) => {
                            terminal_seen = s == "ready" || s == "failed";
                            Ok(http::Response::builder().status(200).body(Bytes::from(format!("{{\"status\":\"{s}\"}}"))).expect("ok"))
                        }
                        PollReply::Http(status, ra) => {
                            let mut b = http::Response::builder().status(status);
                            if let Some(ra) = ra {
                                b = b.header("retry-after", ra.to_string());
                                not_before = now.moment + Duration::from_secs(ra);
                            }
                            Ok(b.body(Bytes::new()).expect("ok"))
                        }
                        PollReply::Lost => Err(TransportError::after_send(TransportErrorKind::Timeout, "lost")),
                    };
                    wire::answer(exchange, outcome, now)
                }
                Step::Sleep(sleep) => {
                    let until = sleep.until;
                    prop_assert!(until < deadline, "wait until {:?} not before deadline {:?}", until, deadline);
                    now = now.advanced_to(until);
                    sleep.wake()
                }
                Step::Done(result) => {
                    if terminal_seen {
                        prop_assert!(matches!(result, Ok(_) | Err(Error::ResourceFailed(_))), "{:?}", result);
                    }
                    // The wait itself never runs past the deadline; only a reply already in flight
                    // can arrive after it (adapters cap each request's timeout at the deadline).
                    prop_assert!(now.moment <= deadline || Some(now.moment) == last_reply);
                    return Ok(());
                }
                _ => return Err(TestCaseError::fail("an unexpected step")),
            };
        }
        prop_assert!(false, "the wait did not end");
    }
}
