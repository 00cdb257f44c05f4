//! Retries, timeouts and events, with closure transports in paused time.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein_async::Jack;
use rein_core::jack::NewDocument;
use rein_core::{
    Error, Event, Operation, RetryReason, TransportError, TransportErrorKind, WaitRefused,
};
use support::{ok, scripted, too_many, Log, KEY, USAGE};

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_2_then_200_completes_after_exactly_2_seconds() {
    let log = Log::new();
    let start = tokio::time::Instant::now();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |n, _| if n == 0 { too_many("2") } else { ok(USAGE) }))
        .build()
        .unwrap();
    let usage = jack.usage().await.expect("the retry succeeds");
    assert_eq!(usage.org_id.as_deref(), Some("org_1"));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(log.times_ms(), [0, 2000]);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_after_sending_a_create_is_not_retried_and_may_have_succeeded() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| {
            Err(TransportError::after_send(TransportErrorKind::Timeout, "no response in 120s"))
        }))
        .build()
        .unwrap();
    let err = jack.ingest([NewDocument::new("Refunds take 5 days.")]).await.expect_err("timeout");
    let sent = log.sent();
    let posts = sent.iter().filter(|s| s.method == http::Method::POST).count();
    assert_eq!(posts, 1, "an ingest that may have landed is not sent again");
    assert!(
        sent[1..].iter().all(|s| s.method == http::Method::GET && s.path == "/v1/documents"),
        "only the documents list is asked after it, to find the ingest: {sent:?}"
    );
    assert!(err.may_have_succeeded(), "{err:?}");
    let Error::Transport(failure) = &err else { panic!("a transport failure: {err:?}") };
    assert_eq!(failure.error.kind, TransportErrorKind::Timeout);
    assert!(err.to_string().contains("may have succeeded"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_read_is_retried_after_a_timeout_and_a_create_after_a_refused_connect() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |n, _| match n {
            0 => Err(TransportError::after_send(TransportErrorKind::Timeout, "slow")),
            1 => ok(USAGE),
            2 => Err(TransportError::not_sent(TransportErrorKind::Connect, "refused")),
            _ => ok(r#"{"status":"accepted","document_ids":["doc_1"]}"#),
        }))
        .build()
        .unwrap();
    jack.usage().await.expect("GET is safe to repeat");
    let accepted = jack.ingest([NewDocument::new("x")]).await.expect("never reached the server");
    assert_eq!(accepted.document_ids, ["doc_1"]);
    assert_eq!(log.count(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_transport_that_never_answers_is_stopped_at_the_call_deadline() {
    let log = Log::new();
    let record = log.clone();
    let jack = Jack::builder(KEY)
        .transport(move |req: http::Request<rein_core::Body>| {
            record.record(&req);
            std::future::pending()
        })
        .build()
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    let start = tokio::time::Instant::now();
    jack.usage().await.expect_err("deadline");
    assert_eq!(start.elapsed(), Duration::from_secs(5), "no wait ends after the deadline");
    assert_eq!(log.times_ms(), [0]);

    let start = tokio::time::Instant::now();
    let err = jack.ingest([NewDocument::new("x")]).await.expect_err("deadline");
    assert!(err.may_have_succeeded(), "{err:?}");
    let sent = log.sent();
    assert_eq!(sent[1].method, http::Method::POST);
    // The create, its lookup and any repeat share one budget: the create used all of it, so
    // no lookup goes out and the error says the ingest may have happened.
    assert_eq!(sent.len(), 2, "no lookup after the deadline");
    assert_eq!(start.elapsed(), Duration::from_secs(5), "no wait ends after the deadline");
}

#[tokio::test(start_paused = true)]
async fn the_attempt_timeout_reaches_the_transport() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let jack = Jack::builder(KEY)
        .transport(move |req: http::Request<rein_core::Body>| {
            let timeout = req.extensions().get::<rein_core::request::AttemptTimeout>().copied();
            record.lock().unwrap().push(timeout.map(|t| t.0));
            std::future::ready(ok(USAGE))
        })
        .build()
        .unwrap()
        .with_timeout(Duration::from_secs(7));
    jack.usage().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [Some(Duration::from_secs(7))]);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_deadline_fails_at_once() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, _| too_many("30")))
        .build()
        .unwrap()
        .with_timeout(Duration::from_secs(10));
    let start = tokio::time::Instant::now();
    let err = jack.usage().await.expect_err("rate limited");
    assert_eq!(start.elapsed(), Duration::ZERO, "a wait past the deadline is not slept");
    let Error::RateLimited(limited) = &err else { panic!("{err:?}") };
    assert_eq!(limited.refused, WaitRefused::PastDeadline);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test(start_paused = true)]
async fn an_invalid_request_sends_nothing() {
    let log = Log::new();
    let jack = Jack::builder(KEY).transport(scripted(&log, |_, _| ok("{}"))).build().unwrap();
    assert!(matches!(jack.query("").await, Err(Error::Invalid(_))));
    let empty: Vec<NewDocument> = Vec::new();
    assert!(matches!(jack.ingest(empty).await, Err(Error::Invalid(_))));
    assert!(matches!(jack.get_document("").await, Err(Error::Invalid(_))));
    assert_eq!(log.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn ingest_many_sends_one_request_per_batch_of_50() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |n, _| {
            if n == 1 {
                Ok(support::reply(400, &[], r#"{"detail":"bad batch"}"#))
            } else {
                ok(r#"{"status":"accepted"}"#)
            }
        }))
        .build()
        .unwrap();
    let docs = (0..120).map(|i| NewDocument::new(format!("document {i}")));
    let report = jack.ingest_many(docs).await.expect("validated");
    assert_eq!(log.count(), 3);
    assert_eq!(report.batches.len(), 3);
    assert!(!report.all_accepted());
    let failed: Vec<_> = report.failures().map(|(range, _)| range).collect();
    assert_eq!(failed, vec![50..100]);
}

#[tokio::test(start_paused = true)]
async fn the_typed_calls_hit_their_endpoints() {
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |_, req| match req.uri().path() {
            "/v1/documents/doc_1" if req.method() == http::Method::DELETE => ok(""),
            "/v1/documents/doc_1" => ok(&support::document("ready")),
            "/v1/documents" => ok(&format!("[{}]", support::document("ready"))),
            "/v1/query" => ok(r#"{"answer":"5 days","citations":[]}"#),
            "/v1/usage" => ok(USAGE),
            other => panic!("unexpected {other}"),
        }))
        .build()
        .unwrap();
    assert_eq!(jack.get_document("doc_1").await.unwrap().id, "doc_1");
    assert_eq!(jack.list_documents().await.unwrap().len(), 1);
    jack.delete_document("doc_1").await.unwrap();
    assert_eq!(jack.query("How long?").await.unwrap().answer, "5 days");
    let usage = jack.call(&rein_core::jack::GetUsage::new()).await.unwrap();
    assert_eq!(usage.rate_limit_rpm, Some(60));
    let methods: Vec<String> =
        log.sent().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(
        methods,
        [
            "GET /v1/documents/doc_1",
            "GET /v1/documents",
            "DELETE /v1/documents/doc_1",
            "POST /v1/query",
            "GET /v1/usage"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_file_ingest_hands_the_transport_a_streamed_file_part() {
    let dir = std::env::temp_dir().join(format!("rein-async-retries-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notes.md");
    std::fs::write(&path, b"# Refunds\nFive days.\n").unwrap();
    let parts = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&parts);
    let jack = Jack::builder(KEY)
        .transport(move |req: http::Request<rein_core::Body>| {
            record.lock().unwrap().extend(req.body().segments());
            std::future::ready(ok(r#"{"document_id":"doc_9"}"#))
        })
        .build()
        .unwrap();
    let accepted = jack.ingest_file(&path).await.expect("accepted");
    assert_eq!(accepted.document_id, Some("doc_9".into()));
    let parts = parts.lock().unwrap().clone();
    assert!(
        parts
            .iter()
            .any(|s| matches!(s, rein_core::Segment::File(f) if f.path == path && f.len == 21)),
        "the file is streamed by the transport, not read by the client: {parts:?}"
    );
    let missing = jack.ingest_file(dir.join("absent.md")).await.expect_err("no such file");
    assert!(matches!(missing, Error::Invalid(_)));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(start_paused = true)]
async fn events_reach_the_hook() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&events);
    let log = Log::new();
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, |n, _| if n == 0 { too_many("2") } else { ok(USAGE) }))
        .on_event(move |e| record.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    jack.usage().await.unwrap();
    let events = events.lock().unwrap();
    let op = Operation::Usage;
    assert_eq!(events[0], Event::Sending { operation: op, attempt: 1 });
    assert!(matches!(events[1], Event::Paused { api: rein_core::Api::Jack, .. }), "{events:?}");
    assert_eq!(
        events[2],
        Event::RetryScheduled {
            operation: op,
            attempt: 1,
            reason: RetryReason::Status(429),
            wait: Duration::from_secs(2),
            server_asked: true,
        }
    );
    assert!(events[3..].contains(&Event::Sending { operation: op, attempt: 2 }), "{events:?}");
}

/// The `rein_token` of each document of an ingest body.
fn ingest_tokens(body: &[u8]) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    let docs = body["documents"].as_array().expect("documents");
    docs.iter().map(|d| d["metadata"]["rein_token"].as_str().unwrap().to_owned()).collect()
}

/// A documents list holding one document per token.
fn listing(tokens: &[String]) -> String {
    let docs: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(r#"{{"id":"doc_{i}","status":"processing","metadata":{{"rein_token":"{t}"}}}}"#)
        })
        .collect();
    format!("[{}]", docs.join(","))
}

#[tokio::test(start_paused = true)]
async fn a_lost_ingest_is_found_in_the_documents_list_not_sent_again() {
    let log = Log::new();
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&tokens);
    let jack = Jack::builder(KEY)
        .transport(scripted(&log, move |_, req| {
            if req.method() == http::Method::POST {
                *seen.lock().unwrap() = ingest_tokens(&req.body().as_bytes().unwrap());
                Err(TransportError::after_send(TransportErrorKind::Reset, "reset"))
            } else {
                ok(&listing(&seen.lock().unwrap()))
            }
        }))
        .build()
        .unwrap();
    let accepted = jack.ingest(["one", "two"].map(NewDocument::new)).await.expect("found");
    assert_eq!(accepted.document_ids, ["doc_0", "doc_1"]);
    let routes: Vec<String> =
        log.sent().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(routes, ["POST /v1/ingest", "GET /v1/documents"]);
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2);
    assert!(tokens[0].ends_with(".0") && tokens[1].ends_with(".1"), "{tokens:?}");

    let report = jack.ingest_many((0..60).map(|i| format!("doc {i}"))).await.expect("valid");
    assert!(report.all_accepted(), "both batches found after their answers were lost");
    assert_eq!(log.count(), 2 + 4, "each batch: one POST, one lookup");
}
