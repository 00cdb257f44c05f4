//! A machine run under a cancelled token keeps what has already arrived (a result, items
//! fetched, a 429's pause for the limiter) and starts nothing more.

mod wire;

use std::time::Duration;

use bytes::Bytes;
use rein_core::jack::GetDocument;
use rein_core::jockey::{CreateKnowledgeStore, ListItems};
use rein_core::{
    Api, Ask, CancelToken, ClientConfig, CreateOnce, Error, Listing, Machine, Moment, Now,
    Operation, PageWalk, Priority, RetryPolicy, Runner, Settings, Step, TransportError,
    TransportErrorKind, WaitPolicy,
};

fn runner(api: Api, token: &CancelToken) -> Runner {
    let key = match api {
        Api::Jockey => "tlk_key",
        Api::Jack => "jack_key",
    };
    Runner::new(Settings::new(ClientConfig::new(api, key)), 7).expect("runner").with_cancel(token)
}

fn json(status: u16, body: &'static str) -> Result<http::Response<Bytes>, TransportError> {
    Ok(http::Response::builder()
        .status(status)
        .body(Bytes::from_static(body.as_bytes()))
        .expect("ok"))
}

#[test]
fn a_poll_answered_ready_after_the_cancel_keeps_its_resource() {
    let token = CancelToken::new();
    let runner = runner(Api::Jack, &token);
    let wait = runner.wait(&GetDocument::new("doc_1"), WaitPolicy::JACK_DOCUMENT).expect("valid");
    let now = Now::fake(0.0);
    let Step::Send(exchange) = runner.run(wait).poll(now).through(runner.limiter(), now) else {
        panic!("a poll first")
    };
    token.cancel(); // while the poll is in flight
    let wait = wire::answer(exchange, json(200, r#"{"id":"doc_1","status":"ready"}"#), now);
    match wait.poll(now) {
        Step::Done(Ok(doc)) => assert_eq!(doc.status.as_str(), "ready"),
        other => panic!("expected the ready document, got {other:?}"),
    }
}

#[test]
fn a_lookup_answered_after_the_cancel_settles_the_create() {
    let token = CancelToken::new();
    let runner = runner(Api::Jockey, &token);
    let create = CreateOnce::new(
        runner.target(),
        &CreateKnowledgeStore::new("x"),
        "tok1",
        RetryPolicy::default(),
    )
    .expect("valid")
    .rate_limited();
    let mut now = Now::fake(0.0);
    let Step::Send(exchange) = runner.run(create).poll(now).through(runner.limiter(), now) else {
        panic!("a create first")
    };
    let lost = TransportError::after_send(TransportErrorKind::Timeout, "lost");
    let create = wire::answer(exchange, Err(lost), now);
    let Step::Sleep(settle) = create.poll(now) else { panic!("settling before the lookup") };
    now = now.advanced_to(settle.until);
    let Step::Send(lookup) = settle.wake().poll(now).through(runner.limiter(), now) else {
        panic!("the lookup")
    };
    token.cancel(); // while the lookup is in flight
    let found = r#"{"data":[{"_id":"ks_1","metadata":{"rein_token":"tok1"}}],"page_info":{"total_page":1}}"#;
    let create = wire::answer(lookup, json(200, found), now);
    match create.poll(now) {
        Step::Done(Ok(store)) => assert_eq!(store.id, "ks_1"),
        other => panic!("expected the store the lookup found, got {other:?}"),
    }
}

#[test]
fn items_fetched_before_the_cancel_are_yielded_then_it_ends() {
    let token = CancelToken::new();
    let runner = runner(Api::Jockey, &token);
    let listing = runner.run(Listing::new(&runner, PageWalk::new(ListItems::new("ks_1"))));
    let now = Now::fake(0.0);
    let Step::Send(exchange) = listing.poll(now).through(runner.limiter(), now) else {
        panic!("the first page")
    };
    token.cancel();
    let page = r#"{"data":[{"_id":"i1"},{"_id":"i2"}],"page_info":{"page":1,"total_page":2}}"#;
    let mut listing = wire::answer(exchange, json(200, page), now);
    let mut ids = Vec::new();
    loop {
        listing = match listing.poll(now) {
            Step::Yield(item, listing) => {
                ids.push(item.expect("an item").id);
                listing
            }
            Step::Done(result) => {
                assert_eq!(result, Err(Error::Cancelled), "page 2 is never asked for");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ids, ["i1", "i2"]);
}

#[test]
fn a_429_answered_after_the_cancel_still_pauses_the_client() {
    let token = CancelToken::new();
    let runner = runner(Api::Jack, &token);
    let call = runner.call(&GetDocument::new("doc_1")).expect("valid");
    let now = Now::fake(0.0);
    let Step::Send(exchange) = runner.run(call).poll(now).through(runner.limiter(), now) else {
        panic!("a send")
    };
    token.cancel();
    let call = wire::answer(
        exchange,
        Ok(http::Response::builder()
            .status(429)
            .header("retry-after", "5")
            .body(Bytes::new())
            .expect("429")),
        now,
    );
    let Step::Tell(tell) = call.poll(now) else { panic!("the pause goes to the limiter") };
    assert_eq!(tell.report.pause_until, Some(Moment::from_secs(5)));
    match tell.tell(runner.limiter(), now).poll(now) {
        Step::Done(Err(Error::Cancelled)) => {}
        other => panic!("expected the cancellation, got {other:?}"),
    }
    let ask = Ask { operation: Operation::Usage, priority: Priority::Interactive };
    let paused = runner.limiter().try_acquire(ask, now.moment + Duration::from_secs(1));
    assert_eq!(paused, Err(Moment::from_secs(5)));
}

#[test]
fn a_request_cancelled_before_it_is_sent_is_never_announced() {
    let (events, log) = wire::recorder();
    let token = CancelToken::new();
    let runner = runner(Api::Jack, &token);
    let call = runner.call(&GetDocument::new("doc_1")).expect("valid").events(events);
    let now = Now::fake(0.0);
    let Step::Acquire(acquire) = runner.run(call).poll(now) else { panic!("a slot first") };
    let call = acquire.answer_from(runner.limiter(), now);
    token.cancel();
    assert!(matches!(call.poll(now), Step::Done(Err(Error::Cancelled))));
    assert_eq!(log.lock().unwrap().len(), 0, "no Sending event: nothing was sent");
}
