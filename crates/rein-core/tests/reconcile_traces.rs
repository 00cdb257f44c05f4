//! Creates that happen once: after an ambiguous failure, a lookup decides between "found it"
//! and "create again".

mod wire;

use std::time::Duration;

use rein_core::jack::{Ingest, NewDocument};
use rein_core::jockey::{AddItem, CreateKnowledgeStore};
use rein_core::{Api, CreateOnce, RetryPolicy, Target, TransportError, TransportErrorKind};
use wire::{trace, Reply};

const LATENCY: Duration = Duration::from_millis(100);

fn jockey() -> Target {
    Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "key").expect("target")
}

fn lost() -> Reply {
    Reply::Fail(TransportError::after_send(
        TransportErrorKind::Reset,
        "connection reset after sending",
    ))
}

#[test]
fn a_lost_store_create_that_happened_is_found_not_repeated() {
    let create = CreateKnowledgeStore::new("Support videos");
    let once = CreateOnce::new(&jockey(), &create, "tok1", RetryPolicy::default()).expect("valid");
    let replies = vec![
        lost(),
        Reply::json(
            200,
            r#"{"data":[{"_id":"ks_9","name":"Support videos","metadata":{"rein_token":"tok1"}}],"page_info":{"page":1,"total_page":1}}"#,
        ),
    ];
    insta::assert_snapshot!("reconcile_store_found", trace(once, replies, LATENCY));
}

#[test]
fn a_lost_item_add_that_did_not_happen_is_sent_again() {
    let add = AddItem::new("ks_1", "asset_1");
    let once = CreateOnce::new(&jockey(), &add, "tok2", RetryPolicy::default()).expect("valid");
    // Nothing a second after the loss, nor once the lost request could no longer be landing
    // (its 120 s attempt timeout and a settle): sent again, then checked once more.
    let replies = vec![
        lost(),
        Reply::json(200, r#"{"data":[],"page_info":{"page":1,"total_page":0}}"#),
        Reply::json(200, r#"{"data":[],"page_info":{"page":1,"total_page":0}}"#),
        Reply::json(
            202,
            r#"{"_id":"ksi_1","asset_id":"asset_1","asset_type":"video","status":"queued"}"#,
        ),
        Reply::json(
            200,
            r#"{"data":[{"_id":"ksi_1","asset_id":"asset_1","status":"queued","metadata":{"rein_token":"tok2"}}],"page_info":{"page":1,"total_page":1}}"#,
        ),
    ];
    insta::assert_snapshot!("reconcile_item_not_found_sent_again", trace(once, replies, LATENCY));
}

#[test]
fn a_lost_ingest_is_matched_document_by_document() {
    let jack = Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_key").expect("target");
    let ingest = Ingest::new([NewDocument::new("one"), NewDocument::new("two")]);
    let once =
        CreateOnce::new(&jack, &ingest, "tok3", RetryPolicy::for_api(Api::Jack)).expect("valid");
    let listing = r#"[
        {"id":"d2","status":"processing","metadata":{"rein_token":"tok3.1"}},
        {"id":"d1","status":"processing","metadata":{"rein_token":"tok3.0"}},
        {"id":"d0","status":"ready","metadata":{}}
    ]"#;
    let replies = vec![
        Reply::Http(202, vec![], r#"{"status":"accepted","document_ids":["d1","#),
        Reply::json(200, listing),
    ];
    insta::assert_snapshot!("reconcile_ingest_found", trace(once, replies, LATENCY));
}

#[test]
fn a_lookup_that_fails_reports_the_original_ambiguity() {
    let create = CreateKnowledgeStore::new("x");
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 1;
    let once = CreateOnce::new(&jockey(), &create, "tok4", policy).expect("valid");
    let replies = vec![lost(), Reply::json(401, r#"{"code":"unauthorized","message":"bad key"}"#)];
    let out = trace(once, replies, LATENCY);
    assert!(out.contains("may have succeeded"), "{out}");
}

#[test]
fn the_tag_is_in_the_rendered_request() {
    use rein_core::{ApiCall, Reconcile};
    let tagged = CreateKnowledgeStore::new("x").tagged("tok5").expect("room for the tag");
    let request = tagged.to_request(&jockey()).expect("valid");
    let body = String::from_utf8(request.body.as_bytes().expect("json").to_vec()).expect("utf8");
    assert!(body.contains(r#""rein_token":"tok5""#), "{body}");
}

#[test]
fn a_gateway_error_on_a_create_is_looked_up_not_resent() {
    let create = CreateKnowledgeStore::new("Behind a proxy");
    let once = CreateOnce::new(&jockey(), &create, "tok6", RetryPolicy::default()).expect("valid");
    let replies = vec![
        Reply::Http(
            504,
            vec![("content-type", "text/html".into())],
            "<html><title>504 Gateway Time-out</title></html>",
        ),
        Reply::json(
            200,
            r#"{"data":[{"_id":"ks_7","metadata":{"rein_token":"tok6"}}],"page_info":{"total_page":1}}"#,
        ),
    ];
    insta::assert_snapshot!("reconcile_gateway_error_looked_up", trace(once, replies, LATENCY));
}

#[test]
fn a_plain_call_still_retries_a_gateway_error_as_the_references_say() {
    use rein_core::{ApiCall, Call, Machine, Now, Step};
    let request = CreateKnowledgeStore::new("x").to_request(&jockey()).expect("valid");
    let call = Call::new(request, RetryPolicy::default());
    let now = Now::fake(0.0);
    let Step::Send(exchange) = call.poll(now) else { panic!("a send") };
    let resp = http::Response::builder().status(502).body(bytes::Bytes::new()).expect("502");
    let call = wire::answer(exchange, Ok(resp), now);
    assert!(matches!(call.poll(now), Step::Sleep(_)), "a 5xx is retried by a plain call");
}

#[test]
fn cancelling_a_lookup_reports_the_possible_create() {
    use rein_core::{Api, CancelToken, ClientConfig, Machine, Now, Runner, Settings, Step};
    let token = CancelToken::new();
    let runner = Runner::new(Settings::new(ClientConfig::new(Api::Jockey, "tlk_k")), 0)
        .expect("runner")
        .with_cancel(&token);
    let once =
        CreateOnce::new(&jockey(), &CreateKnowledgeStore::new("x"), "tok7", RetryPolicy::default())
            .expect("valid");
    let once = runner.run(once);
    let now = Now::fake(0.0);
    let Step::Send(exchange) = once.poll(now) else { panic!("a send") };
    let lost = TransportError::after_send(TransportErrorKind::Timeout, "lost");
    let once = wire::answer(exchange, Err(lost), now);
    let Step::Sleep(sleep) = once.poll(now) else { panic!("waiting to look the store up") };
    token.cancel();
    match sleep.wake().poll(now) {
        Step::Done(Err(error)) => assert!(error.may_have_succeeded(), "{error}"),
        other => panic!("expected the create's own error, got {other:?}"),
    }
}
