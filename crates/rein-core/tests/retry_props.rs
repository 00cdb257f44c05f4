//! Properties of the core: no input panics the error decoder, no backoff exceeds its cap, and the
//! retry machine never sends before a Retry-After, never waits past its deadline and never
//! exceeds its attempts.

mod wire;

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rein_core::decode::{self, EXCERPT_LIMIT};
use rein_core::{
    Api, Backoff, Call, Jitter, Machine, Now, Operation, RetryPolicy, SplitMix64, Step, Target,
    TransportError, TransportErrorKind,
};

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,25}",
        "-[0-9]{1,5}",
        "[ -~]{0,40}",
        Just("Sun, 22 Nov 2026 10:00:30 GMT".to_owned()),
        Just("Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
        "[0-9]{1,6}\\.[0-9]{1,3}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        "[ -~\\n]{0,400}".prop_map(String::into_bytes),
        Just(b"{\"code\":\"x\",\"message\":\"y\"}".to_vec()),
        Just(b"{\"error\":{\"code\":1,\"message\":[]}}".to_vec()),
        Just(b"{\"detail\":[{\"loc\":[\"body\",1],\"msg\":null}]}".to_vec()),
        "\\{\"detail\": \"[^\"]{0,200}".prop_map(String::into_bytes),
        "<html><title>[^<]{0,80}".prop_map(String::into_bytes),
    ]
}

/// Failing cases are kept in `proptest-regressions/` (committed) and replayed first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/retry_props.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn the_decoder_never_panics(
        status in 100u16..1000,
        retry_after in proptest::option::of(header_value()),
        retry_after_ms in proptest::option::of(header_value()),
        date in proptest::option::of(header_value()),
        request_id in proptest::option::of("[ -~]{0,300}"),
        body in body(),
        jack in any::<bool>(),
        op_index in 0usize..Operation::ALL.len(),
    ) {
        let mut b = http::Response::builder().status(status);
        for (name, value) in [("retry-after", &retry_after), ("retry-after-ms", &retry_after_ms), ("date", &date), ("x-request-id", &request_id)] {
            if let Some(v) = value {
                if let Ok(v) = http::HeaderValue::from_str(v) {
                    b = b.header(name, v);
                }
            }
        }
        let len = body.len();
        let response = b.body(Bytes::from(body)).expect("response");
        let api = if jack { Api::Jack } else { Api::Jockey };
        let err = decode::api_error(api, Some(Operation::ALL[op_index]), &response, Now::fake(0.0).wall);
        prop_assert_eq!(err.status, status);
        prop_assert_eq!(err.body_len, len);
        for field in [&err.excerpt, &err.message, &err.detail, &err.code].into_iter().flatten() {
            prop_assert!(field.len() <= EXCERPT_LIMIT + '…'.len_utf8());
        }
        prop_assert!(err.request_id.as_ref().is_none_or(|id| id.chars().count() <= 128));
        let _ = err.to_string();
        let _ = err.user_message();
    }

    #[test]
    fn every_backoff_delay_lies_within_zero_and_cap(
        base_ms in 0u64..100_000,
        factor in prop_oneof![0.0f64..10.0, Just(f64::INFINITY), Just(f64::NAN), Just(-1.0)],
        cap_ms in 0u64..1_000_000,
        jitter in prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal), Just(Jitter::Decorrelated)],
        seed in any::<u64>(),
        n in 0u32..80,
    ) {
        let cap = Duration::from_millis(cap_ms);
        let backoff = Backoff { base: Duration::from_millis(base_ms), factor, cap, jitter };
        for d in backoff.schedule(n, &mut SplitMix64::new(seed)) {
            prop_assert!(d <= cap, "{:?} > cap {:?}", d, cap);
        }
    }
}

/// One scripted outcome of a send, and how long the exchange took.
#[derive(Clone, Debug)]
enum Outcome {
    Status { status: u16, retry_after: Option<u64>, retry_after_ms: Option<u64> },
    Transport { kind: TransportErrorKind, sent: bool },
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        (
            prop_oneof![
                Just(200u16),
                Just(202),
                Just(400),
                Just(404),
                Just(408),
                Just(429),
                Just(500),
                Just(502),
                Just(503)
            ],
            proptest::option::of(0u64..400),
            proptest::option::of(0u64..400_000),
        )
            .prop_map(|(status, retry_after, retry_after_ms)| Outcome::Status {
                status,
                retry_after,
                retry_after_ms
            }),
        (
            prop_oneof![
                Just(TransportErrorKind::Connect),
                Just(TransportErrorKind::Timeout),
                Just(TransportErrorKind::Reset)
            ],
            any::<bool>(),
        )
            .prop_map(|(kind, sent)| Outcome::Transport { kind, sent }),
    ]
}

fn to_result(o: &Outcome) -> (Result<http::Response<Bytes>, TransportError>, Option<Duration>) {
    match o {
        Outcome::Status { status, retry_after, retry_after_ms } => {
            let mut b = http::Response::builder().status(*status);
            if let Some(s) = retry_after {
                b = b.header("retry-after", s.to_string());
            }
            if let Some(ms) = retry_after_ms {
                b = b.header("retry-after-ms", ms.to_string());
            }
            // retry-after-ms, when given, is the precise form and wins, unless rounded up to whole
            // seconds it is still shorter than Retry-After.
            let asked = match (retry_after_ms, retry_after) {
                (Some(ms), Some(s)) if ms.div_ceil(1000) < *s => Some(Duration::from_secs(*s)),
                (Some(ms), _) => Some(Duration::from_millis(*ms)),
                (None, s) => s.map(Duration::from_secs),
            };
            (Ok(b.body(Bytes::new()).expect("response")), asked)
        }
        Outcome::Transport { kind, sent } => {
            let e = if *sent {
                TransportError::after_send(*kind, "scripted")
            } else {
                TransportError::not_sent(*kind, "scripted")
            };
            (Err(e), None)
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_retry_machine_keeps_its_promises(
        script in proptest::collection::vec((outcome(), 0u64..20_000), 1..12),
        max_attempts in 1u32..8,
        timeout_s in 1u64..400,
        seed in any::<u64>(),
        jack in any::<bool>(),
        idempotent in any::<bool>(),
        start_s in 0u64..1000,
    ) {
        let (api, op, base, params): (Api, Operation, &str, &[&str]) = match (jack, idempotent) {
            (true, true) => (Api::Jack, Operation::Query, "https://api.usejack.io/v1", &[]),
            (true, false) => (Api::Jack, Operation::Ingest, "https://api.usejack.io/v1", &[]),
            (false, true) => (Api::Jockey, Operation::GetAsset, "https://api.twelvelabs.io/v1.3", &["a"]),
            (false, false) => (Api::Jockey, Operation::AddItem, "https://api.twelvelabs.io/v1.3", &["ks"]),
        };
        let target = Target::new(api, base, "jack_k").expect("target");
        let request = target.request(op, params).build().expect("request");
        let mut policy = RetryPolicy::for_api(api);
        policy.max_attempts = max_attempts;
        policy.timeout = Duration::from_secs(timeout_s);
        let mut call = Call::new(request, policy).seed(seed);
        // Polling a finished call does not compile: `poll` consumes it, and `Done` gives none back.

        let start = Now::fake(start_s as f64);
        let deadline = start.moment + Duration::from_secs(timeout_s);
        let mut now = start;
        let mut sends = 0u32;
        let mut not_before = start.moment;
        let mut script = script.into_iter();
        let mut steps = 0;
        loop {
            steps += 1;
            prop_assert!(steps < 200, "the machine did not finish");
            call = match call.poll(now) {
                Step::Send(exchange) => {
                    sends += 1;
                    prop_assert!(sends <= max_attempts, "attempt {} > max {}", sends, max_attempts);
                    prop_assert!(now.moment >= not_before, "sent at {:?} before Retry-After end {:?}", now.moment, not_before);
                    prop_assert!(now.moment < deadline, "sent at {:?} at or after the deadline {:?}", now.moment, deadline);
                    let Some((o, latency_ms)) = script.next() else {
                        // The script ran out: answer 200 so the call ends.
                        call = wire::answer(exchange, Ok(http::Response::builder().status(200).body(Bytes::new()).expect("200")), now);
                        continue;
                    };
                    now = now.advanced_to(now.moment + Duration::from_millis(latency_ms));
                    let (result, asked) = to_result(&o);
                    if let Some(wait) = asked {
                        not_before = now.moment + wait;
                    }
                    wire::answer(exchange, result, now)
                }
                Step::Sleep(sleep) => {
                    let until = sleep.until;
                    prop_assert!(until < deadline, "wait until {:?} not before the deadline {:?}", until, deadline);
                    prop_assert!(until > now.moment);
                    // Polling early is harmless: try once halfway, then jump to the wake-up.
                    let half = now.advanced_to(now.moment + (until - now.moment) / 2);
                    let Step::Sleep(again) = sleep.wake().poll(half) else {
                        return Err(TestCaseError::fail("woken early, the call did not sleep on"));
                    };
                    prop_assert_eq!(again.until, until);
                    now = now.advanced_to(until);
                    again.wake()
                }
                Step::Done(_) => break,
                _ => return Err(TestCaseError::fail("an unexpected step")),
            };
        }
    }

    #[test]
    fn an_ambiguous_failure_of_a_create_is_never_retried(kind in prop_oneof![Just(TransportErrorKind::Timeout), Just(TransportErrorKind::Reset)]) {
        let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "k").expect("target");
        let request = target.request(Operation::CreateAsset, &[]).build().expect("request");
        let call = Call::new(request, RetryPolicy::default());
        let now = Now::fake(0.0);
        let Step::Send(exchange) = call.poll(now) else {
            return Err(TestCaseError::fail("a send first"));
        };
        let call = wire::answer(exchange, Err(TransportError::after_send(kind, "lost")), now);
        match call.poll(now) {
            Step::Done(Err(e)) => prop_assert!(e.may_have_succeeded()),
            other => prop_assert!(false, "expected Done(Err), got {:?}", other),
        }
    }
}
