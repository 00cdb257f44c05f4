//! The defects a red-team pass found in the call and create machines, each pinned by a test
//! that failed before its fix (docs/reliability.md lists them).

mod wire;

use std::time::Duration;

use rein_core::jockey::CreateResponse;
use rein_core::time::Now;
use rein_core::{
    Api, Call, Error, Machine, Operation, RetryPolicy, Step, Target, TransportError,
    TransportErrorKind,
};
use wire::Reply;

const LATENCY: Duration = Duration::from_millis(100);

fn jockey() -> Target {
    Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_test_key")
        .expect("valid target")
}

/// Drives `machine` against `replies`; returns its result, the sends it made and when each
/// went out (seconds from the start).
fn run<M: Machine>(mut machine: M, replies: Vec<Reply>) -> (Result<M::Output, Error>, Vec<f64>) {
    let mut now = Now::fake(0.0);
    let mut sends = Vec::new();
    let mut replies = replies.into_iter();
    for _ in 0..1000 {
        machine = match machine.poll(now) {
            Step::Send(exchange) => {
                sends.push(now.moment.since_origin().as_secs_f64());
                let (_, awaiting) = exchange.send(now);
                now = now.advanced_to(now.moment + LATENCY);
                let reply = replies.next().expect("the script has a reply for every send");
                awaiting.answer(reply.into_outcome(), now)
            }
            Step::Sleep(sleep) => {
                now = now.advanced_to(sleep.until);
                sleep.wake()
            }
            Step::Done(result) => return (result, sends),
            _ => panic!("a step this test does not expect"),
        };
    }
    panic!("the machine did not finish within 1000 steps");
}

fn response_call(session: Option<&str>, policy: RetryPolicy) -> Call<rein_core::jockey::Response> {
    let mut request = CreateResponse::ask("ks_1", "What happens?");
    if let Some(session) = session {
        request = request.session_id(session);
    }
    Call::typed(&jockey(), &request, policy).expect("a valid request")
}

const ANSWER: &str = r#"{"id":"resp_1","object":"response","status":"completed","output":[]}"#;

/// Defect 1: a response outside a session was resent after any failure, so a second answer
/// was generated and billed, and the error said it had not gone through.
#[test]
fn a_response_is_not_resent_after_a_failure_that_may_have_produced_it() {
    let maybe_processed = [
        Reply::Fail(TransportError::after_send(TransportErrorKind::Timeout, "no answer in 120s")),
        Reply::Fail(TransportError::after_send(TransportErrorKind::Reset, "connection reset")),
        Reply::json(500, r#"{"code":"internal_error","message":"boom"}"#),
        Reply::json(502, r#"{"code":"bad_gateway","message":"upstream"}"#),
        Reply::json(504, r#"{"code":"gateway_timeout","message":"upstream"}"#),
        Reply::json(503, r#"{"code":"unavailable","message":"try later"}"#),
    ];
    for session in [None, Some("sess_1")] {
        for first in maybe_processed.clone() {
            let call = response_call(session, RetryPolicy::default());
            let (result, sends) = run(call, vec![first.clone(), Reply::json(200, ANSWER)]);
            assert_eq!(sends.len(), 1, "{first:?} (session {session:?}) was resent");
            let error = result.expect_err("the failure ends the call");
            assert!(error.may_have_succeeded(), "{first:?}: {error}");
        }
    }
}

#[test]
fn a_response_is_resent_when_the_server_surely_did_not_process_it() {
    let unprocessed = [
        Reply::Fail(TransportError::not_sent(TransportErrorKind::Connect, "connection refused")),
        Reply::json(429, r#"{"code":"too_many_requests","message":"slow down"}"#)
            .with_header("retry-after", "1"),
        Reply::json(503, r#"{"code":"unavailable","message":"try later"}"#)
            .with_header("retry-after", "1"),
    ];
    for first in unprocessed {
        let (result, sends) = run(
            response_call(None, RetryPolicy::default()),
            vec![first.clone(), Reply::json(200, ANSWER)],
        );
        assert_eq!(sends.len(), 2, "{first:?}");
        result.unwrap_or_else(|e| panic!("{first:?}: {e}"));
    }
}

#[test]
fn an_opt_in_resends_a_response_after_an_ambiguous_failure() {
    let mut policy = RetryPolicy::default();
    policy.retry_ambiguous = true;
    let replies = vec![
        Reply::json(500, r#"{"code":"internal_error","message":"boom"}"#),
        Reply::Fail(TransportError::after_send(TransportErrorKind::Reset, "connection reset")),
        Reply::json(200, ANSWER),
    ];
    let (result, sends) = run(response_call(None, policy), replies);
    assert_eq!(sends.len(), 3);
    result.expect("the third attempt answers");
}

/// A create's first attempt that may have gone through is remembered: the final error says so
/// even when the last attempt's failure alone would not.
#[test]
fn the_final_error_says_when_an_earlier_attempt_may_have_gone_through() {
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 2;
    let call = Call::with_decoder(
        jockey().request(Operation::CreateKnowledgeStore, &[]).build().expect("a request"),
        policy,
        |r| Ok(r.status().as_u16()),
    );
    let replies = vec![
        Reply::json(500, r#"{"code":"internal_error","message":"boom"}"#),
        Reply::json(429, r#"{"code":"too_many_requests","message":"slow down"}"#)
            .with_header("retry-after", "1"),
    ];
    let (result, sends) = run(call, replies);
    assert_eq!(sends.len(), 2);
    let error = result.expect_err("out of attempts");
    assert!(error.may_have_succeeded(), "{error}");
}

/// Defect 10: a server answering `Retry-After: 0` forever made the call retry at once, every
/// time; after a few immediate retries the backoff takes over.
#[test]
fn retry_after_zero_forever_cannot_make_a_call_spin() {
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 8;
    let call = Call::with_decoder(
        jockey().request(Operation::GetAsset, &["asset_1"]).build().expect("a request"),
        policy,
        |r| Ok(r.status().as_u16()),
    );
    let busy = Reply::json(503, r#"{"code":"unavailable","message":"busy"}"#)
        .with_header("retry-after", "0");
    let (result, sends) = run(call, vec![busy; 8]);
    assert!(result.is_err());
    assert_eq!(sends.len(), 8);
    let gaps: Vec<f64> = sends.windows(2).map(|w| w[1] - w[0] - LATENCY.as_secs_f64()).collect();
    let immediate = gaps.iter().filter(|g| **g < 0.001).count();
    assert!(immediate <= 2, "{immediate} immediate retries: gaps {gaps:?}");
    assert!(gaps.iter().sum::<f64>() >= 2.0, "the backoff took over: gaps {gaps:?}");
}

/// Every request sent, as "METHOD path" with the second it went out.
type Sent = Vec<(f64, String)>;

/// Drives `machine` against a server that answers each request with `answer(request, now)`;
/// returns the result and every request sent.
fn serve<M: Machine>(
    mut machine: M,
    mut answer: impl FnMut(&http::Request<rein_core::Body>, f64) -> Reply,
) -> (Result<M::Output, Error>, Sent) {
    let mut now = Now::fake(0.0);
    let mut sent = Vec::new();
    let limiter = rein_core::Limiter::unlimited();
    for _ in 0..1000 {
        machine = match machine.poll(now) {
            Step::Send(exchange) => {
                let (request, awaiting) = exchange.send(now);
                let at = now.moment.since_origin().as_secs_f64();
                sent.push((at, format!("{} {}", request.method(), request.uri().path())));
                let reply = answer(&request, at);
                now = now.advanced_to(now.moment + LATENCY);
                awaiting.answer(reply.into_outcome(), now)
            }
            Step::Sleep(sleep) => {
                now = now.advanced_to(sleep.until);
                sleep.wake()
            }
            Step::Acquire(acquire) => acquire.answer_from(&limiter, now),
            Step::Tell(tell) => tell.tell(&limiter, now),
            Step::Done(result) => return (result, sent),
            _ => panic!("a step this test does not expect"),
        };
    }
    panic!("the machine did not finish within 1000 steps");
}

const STORE: &str = r#"{"_id":"ks_1","name":"Docs","metadata":{"rein_token":"tok"},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;

fn store_list(with_store: bool) -> Reply {
    if with_store {
        Reply::Http(
            200,
            vec![("content-type", "application/json".into())],
            Box::leak(format!(r#"{{"data":[{STORE}],"page_info":{{"page":1,"total_page":1,"total_results":1}}}}"#).into_boxed_str()),
        )
    } else {
        Reply::json(200, r#"{"data":[],"page_info":{"page":1,"total_page":1,"total_results":0}}"#)
    }
}

/// Defect 3: a create behind a slow proxy was looked up 1 s after a 504, found nothing because
/// the first request was still being processed, and was sent again: two stores, one id.
#[test]
fn a_create_still_in_flight_behind_a_proxy_is_not_sent_twice() {
    let request = rein_core::jockey::CreateKnowledgeStore::new("Docs");
    let create = rein_core::CreateOnce::new(&jockey(), &request, "tok", RetryPolicy::default())
        .expect("a valid create");
    let mut creates = 0;
    // The proxy answers 504 at once; the server behind it finishes the store 30 s later.
    let (result, sent) = serve(create, |request, at| match request.method().as_str() {
        "POST" => {
            creates += 1;
            if creates == 1 {
                Reply::json(504, r#"{"code":"gateway_timeout","message":"upstream timed out"}"#)
            } else {
                Reply::Http(201, vec![("content-type", "application/json".into())], STORE)
            }
        }
        _ => store_list(at >= 30.0),
    });
    let posts = sent.iter().filter(|(_, r)| r.starts_with("POST")).count();
    assert_eq!(posts, 1, "sent twice: {sent:?}");
    assert_eq!(result.expect("found after the proxy's request landed").id.as_str(), "ks_1");
}

/// A create whose lookups cannot decide inside its deadline ends "may have succeeded", never
/// with a second create.
#[test]
fn a_create_that_cannot_be_settled_in_time_says_it_may_have_succeeded() {
    let request = rein_core::jockey::CreateKnowledgeStore::new("Docs");
    let mut policy = RetryPolicy::default();
    policy.timeout = Duration::from_secs(60);
    let create =
        rein_core::CreateOnce::new(&jockey(), &request, "tok", policy).expect("a valid create");
    let (result, sent) = serve(create, |request, _| match request.method().as_str() {
        "POST" => Reply::json(504, r#"{"code":"gateway_timeout","message":"upstream timed out"}"#),
        _ => store_list(false),
    });
    let posts = sent.iter().filter(|(_, r)| r.starts_with("POST")).count();
    assert_eq!(posts, 1, "sent twice: {sent:?}");
    let error = result.expect_err("undecided");
    assert!(error.may_have_succeeded(), "{error}");
}

/// A repeat that went through is checked once more: a first create that landed after all is
/// reported as a duplicate through the event hook, never silently orphaned.
#[test]
fn a_duplicate_found_after_a_repeat_is_reported() {
    let request = rein_core::jockey::CreateKnowledgeStore::new("Docs");
    let (events, log) = wire::recorder();
    let create = rein_core::CreateOnce::new(&jockey(), &request, "tok", RetryPolicy::default())
        .expect("a valid create")
        .in_flight(Duration::from_secs(10))
        .events(events);
    let mut creates = 0;
    // The first create lands 200 s later, long after any server should have given up on it.
    let two = r#"{"data":[{"_id":"ks_2","name":"Docs","metadata":{"rein_token":"tok"}},{"_id":"ks_1","name":"Docs","metadata":{"rein_token":"tok"}}],"page_info":{"page":1,"total_page":1,"total_results":2}}"#;
    let (result, sent) = serve(create, |request, _| match request.method().as_str() {
        "POST" => {
            creates += 1;
            match creates {
                1 => Reply::Fail(TransportError::after_send(TransportErrorKind::Reset, "reset")),
                _ => Reply::Http(201, vec![("content-type", "application/json".into())], STORE),
            }
        }
        _ if creates >= 2 => Reply::json(200, two),
        _ => store_list(false),
    });
    result.expect("the repeat answered");
    let duplicates: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            rein_core::Event::DuplicateCreated { count, token, .. } => {
                Some((*count, token.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(duplicates, vec![(2, "tok".to_owned())], "{sent:?}");
}

/// Defect 2: `ingest_file` ran as a plain call, so a 502 or 504 after jack accepted the file
/// was retried and made a second document.
#[test]
fn a_file_ingest_is_not_sent_again_after_a_gateway_error() {
    use rein_core::{ApiCall, ClientConfig, Runner, Settings};
    let runner =
        Runner::new(Settings::new(ClientConfig::new(Api::Jack, "jack_k")), 0).expect("a runner");
    let upload = rein_core::jack::IngestFile::new(rein_core::FileSource::new("/data/a.txt", 10));
    for status in [502, 504] {
        let plan = upload.plan(&runner).expect("a valid upload");
        let (result, sent) = serve(plan, |_, _| match status {
            502 => Reply::json(502, r#"{"detail":"Bad Gateway"}"#),
            _ => Reply::json(504, r#"{"detail":"Gateway Timeout"}"#),
        });
        assert_eq!(sent.len(), 1, "{status}: {sent:?}");
        let error = result.expect_err("the gateway's error");
        assert!(error.may_have_succeeded(), "{status}: {error}");
    }
}

/// A response cut at the transport's cap (`Truncated`), as the adapters' transports give it.
fn cut(status: u16, body: &'static str) -> Result<http::Response<bytes::Bytes>, TransportError> {
    let mut response = Reply::json(status, body).into_outcome()?;
    response.extensions_mut().insert(rein_core::Truncated { at_least: 50 << 20 });
    Ok(response)
}

/// Defect 9: a body over the cap was a transport error ("could not be reached"), losing its
/// status, request id and retry class. Now a 5xx cut at the cap is still a retryable 5xx, and
/// a success cut there is a decode error of that status.
#[test]
fn a_response_cut_at_the_cap_keeps_its_status_and_retry_class() {
    let call = Call::typed(
        &jockey(),
        &rein_core::jockey::GetAsset::new("asset_1"),
        RetryPolicy::default(),
    )
    .expect("a valid request");
    let mut now = Now::fake(0.0);
    let mut machine = call;
    let mut outcomes = vec![
        cut(503, "<html><body>Service Unavailable</body></html>"),
        cut(200, r#"{"_id":"asset_1","status":"ready","#),
    ]
    .into_iter();
    let mut sends = 0;
    let result = loop {
        machine = match machine.poll(now) {
            Step::Send(exchange) => {
                sends += 1;
                wire::answer(exchange, outcomes.next().expect("a reply"), now)
            }
            Step::Sleep(sleep) => {
                now = now.advanced_to(sleep.until);
                sleep.wake()
            }
            Step::Done(result) => break result,
            _ => panic!("a step this test does not expect"),
        };
    };
    assert_eq!(sends, 2, "the 503 was retried");
    let error = result.expect_err("the success was cut");
    let Error::Decode(decode) = &error else { panic!("a decode error: {error:?}") };
    assert_eq!(decode.status, 200);
    assert!(decode.body_len >= 50 << 20, "{error}");
    assert!(error.to_string().contains("cap"), "{error}");
}

/// Defect 5: a gateway page that echoed the request's key put the key in the error's Display
/// and Debug. Every excerpt of server text is scrubbed of the client's key, and of anything
/// shaped like a key of either API.
#[test]
fn server_text_never_carries_a_key_into_an_error() {
    const KEY: &str = "tlk_canary0123456789abcdefABCDEF";
    let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", KEY).expect("target");
    let echoes: [&'static str; 4] = [
        "<html><body><h1>502 Bad Gateway</h1><pre>x-api-key: tlk_canary0123456789abcdefABCDEF</pre></body></html>",
        r#"{"code":"unauthorized","message":"key tlk_canary0123456789abcdefABCDEF is not valid"}"#,
        r#"{"code":"bad_request","message":"do not send jack_live_9f8e7d6c5b4a39281706 here"}"#,
        r#"{"detail":"Authorization: Bearer tlk_canary0123456789abcdefABCDEF rejected"}"#,
    ];
    for (i, body) in echoes.into_iter().enumerate() {
        let status = if i == 0 { 502 } else { 400 };
        let request = target.request(Operation::GetAsset, &["asset_1"]).build().expect("request");
        let call = Call::with_decoder(request, RetryPolicy::none(), |r| Ok(r.status().as_u16()));
        let (result, _) = run(call, vec![Reply::Http(status, vec![], body)]);
        let error = result.expect_err("an error status");
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("canary0123456789"), "the client's key leaked: {shown}");
            assert!(!shown.contains("9f8e7d6c5b4a39281706"), "a key leaked: {shown}");
        }
    }
    // A success body that cannot be decoded keeps an excerpt too.
    let call =
        Call::typed(&target, &rein_core::jockey::GetAsset::new("asset_1"), RetryPolicy::none())
            .expect("a call");
    let (result, _) = run(
        call,
        vec![Reply::json(200, "not json, but the key: tlk_canary0123456789abcdefABCDEF")],
    );
    let error = result.expect_err("undecodable");
    assert!(!format!("{error} {error:?}").contains("canary0123456789"), "{error:?}");
}
