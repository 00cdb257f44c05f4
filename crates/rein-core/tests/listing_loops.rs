//! A listing whose server loops (a page answered as an earlier one, a token followed before)
//! ends with a typed error after the items it had not yielded yet, instead of yielding
//! duplicates until the page bound; reaching the bound is an error too, not a quiet end.

mod wire;

use bytes::Bytes;
use rein_core::jockey::{ListItems, SearchKnowledgeStore};
use rein_core::listing::{Walk, MAX_PAGES};
use rein_core::{
    Api, Body, ClientConfig, Error, Listing, Machine, Now, PageWalk, Runner, Settings, Step,
    TokenWalk,
};

/// The most requests a test allows before calling the listing runaway.
const RUNAWAY: usize = 50;

fn runner() -> Runner {
    Runner::new(Settings::new(ClientConfig::new(Api::Jockey, "tlk_key")), 7).expect("runner")
}

/// Runs `walk` against `server` (given the request's page, or its page token, answers a body).
/// Returns the ids yielded, how the listing ended, and how many requests it sent; `limit` is
/// the most requests the scenario may take.
fn run<W: Walk>(
    walk: W,
    limit: usize,
    server: impl Fn(&http::Request<Body>) -> String,
    id: impl Fn(&W::Item) -> String,
) -> (Vec<String>, Result<(), Error>, usize) {
    let runner = runner();
    let mut listing = runner.run(Listing::new(&runner, walk));
    let now = Now::fake(0.0);
    let (mut ids, mut sent) = (Vec::new(), 0);
    loop {
        listing = match listing.poll(now).through(runner.limiter(), now) {
            Step::Send(exchange) => {
                sent += 1;
                assert!(sent <= limit, "still fetching after {limit} pages: {} items", ids.len());
                let body = server(exchange.request());
                let response = http::Response::builder()
                    .status(200)
                    .body(Bytes::from(body))
                    .expect("a response");
                wire::answer(exchange, Ok(response), now)
            }
            Step::Yield(item, listing) => {
                ids.push(id(&item.expect("an item")));
                listing
            }
            Step::Done(result) => return (ids, result, sent),
            Step::Sleep(sleep) => sleep.wake(),
            _ => panic!("a step the listing does not take"),
        };
    }
}

fn page_of(request: &http::Request<Body>) -> u32 {
    let query = request.uri().query().unwrap_or_default();
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("page="))
        .map_or(1, |n| n.parse().expect("a page number"))
}

fn token_of(request: &http::Request<Body>) -> Option<String> {
    let Body::Bytes(bytes) = request.body() else { panic!("a JSON body") };
    let body: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
    body["page_token"].as_str().map(str::to_owned)
}

fn items(ids: &[&str]) -> String {
    let data: Vec<String> = ids.iter().map(|id| format!(r#"{{"_id":"{id}"}}"#)).collect();
    data.join(",")
}

fn item_ids(walk: PageWalk<ListItems>, limit: usize, server: impl Fn(u32) -> String) -> Outcome {
    run(walk, limit, |r| server(page_of(r)), |item| item.id.to_string())
}

type Outcome = (Vec<String>, Result<(), Error>, usize);

/// Asserts that the listing ended with the typed error of a looping list, saying `words`.
fn assert_loop(result: &Result<(), Error>, words: &str) {
    match result {
        Err(Error::Decode(d)) => {
            assert!(d.reason.contains("loop"), "{d}");
            assert!(d.reason.contains(words), "expected {words:?} in: {d}");
            assert!(!d.may_have_succeeded, "a listing changes nothing: {d}");
        }
        other => panic!("expected the listing to end with a loop error, got {other:?}"),
    }
}

#[test]
fn a_server_that_answers_every_page_as_page_one_ends_the_listing_with_an_error() {
    let (ids, result, sent) = item_ids(PageWalk::new(ListItems::new("ks_1")), RUNAWAY, |_| {
        format!(r#"{{"data":[{}],"page_info":{{"page":1,"total_page":5}}}}"#, items(&["i1", "i2"]))
    });
    assert_eq!(ids, ["i1", "i2"], "no duplicate is yielded");
    assert_eq!(sent, 2, "the second answer shows the loop");
    assert_loop(&result, "page 2");
}

#[test]
fn a_page_holding_exactly_the_items_of_an_earlier_page_ends_the_listing_with_an_error() {
    // No page number in the answers and no total: only the items show the loop.
    let (ids, result, sent) = item_ids(PageWalk::new(ListItems::new("ks_1")), RUNAWAY, |page| {
        let ids: &[&str] = match page % 3 {
            1 => &["i1", "i2"],
            2 => &["i3", "i4"],
            _ => &["i2", "i1"], // page 1's items again, in another order
        };
        format!(r#"{{"data":[{}]}}"#, items(ids))
    });
    assert_eq!(ids, ["i1", "i2", "i3", "i4"]);
    assert_eq!(sent, 3);
    assert_loop(&result, "page 3");
}

#[test]
fn a_page_list_that_ends_normally_is_not_a_loop() {
    let (ids, result, sent) = item_ids(PageWalk::new(ListItems::new("ks_1")), RUNAWAY, |page| {
        let ids = [format!("i{page}a"), format!("i{page}b")];
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        format!(r#"{{"data":[{}],"page_info":{{"page":{page},"total_page":3}}}}"#, items(&ids))
    });
    assert_eq!(ids, ["i1a", "i1b", "i2a", "i2b", "i3a", "i3b"]);
    assert_eq!((result, sent), (Ok(()), 3));
}

fn search_hits(limit: usize, server: impl Fn(Option<String>) -> String) -> Outcome {
    let walk = TokenWalk::new(SearchKnowledgeStore::new("ks_1", "goals"));
    run(
        walk,
        limit,
        |r| server(token_of(r)),
        |hit| match hit {
            rein_core::jockey::SearchHit::Video(v) => v.item_id.clone().unwrap_or_default(),
            other => panic!("a video hit, got {other:?}"),
        },
    )
}

fn hits(ids: &[&str], next: Option<&str>) -> String {
    let data: Vec<String> =
        ids.iter().map(|id| format!(r#"{{"asset_type":"video","item_id":"{id}"}}"#)).collect();
    match next {
        Some(token) => format!(r#"{{"data":[{}],"next_page_token":"{token}"}}"#, data.join(",")),
        None => format!(r#"{{"data":[{}]}}"#, data.join(",")),
    }
}

#[test]
fn tokens_that_cycle_end_the_listing_with_an_error() {
    // first -> a -> b -> a -> b ...: page 3 points back at the token of page 2.
    let (ids, result, sent) = search_hits(RUNAWAY, |token| match token.as_deref() {
        None => hits(&["h1"], Some("a")),
        Some("a") => hits(&["h2"], Some("b")),
        Some("b") => hits(&["h3"], Some("a")),
        other => panic!("unexpected token {other:?}"),
    });
    assert_eq!(ids, ["h1", "h2", "h3"], "every page read once, nothing twice");
    assert_eq!(sent, 3);
    assert_loop(&result, "token");
}

#[test]
fn a_token_that_points_at_its_own_page_ends_the_listing_with_an_error() {
    let (ids, result, sent) = search_hits(RUNAWAY, |token| match token.as_deref() {
        None => hits(&["h1"], Some("a")),
        _ => hits(&["h2"], Some("a")),
    });
    assert_eq!((ids, sent), (vec!["h1".to_owned(), "h2".to_owned()], 2));
    assert_loop(&result, "token");
}

#[test]
fn reaching_the_page_bound_ends_the_listing_with_an_error() {
    // A list longer than the bound: every page new, and always more to come.
    let limit = MAX_PAGES as usize;
    let (ids, result, sent) = item_ids(PageWalk::new(ListItems::new("ks_1")), limit, |page| {
        format!(
            r#"{{"data":[{{"_id":"i{page}"}}],"page_info":{{"page":{page},"total_page":{}}}}}"#,
            MAX_PAGES * 2
        )
    });
    assert_eq!((ids.len(), sent), (limit, limit));
    match result {
        Err(Error::Decode(d)) => assert!(d.reason.contains("10000 pages"), "{d}"),
        other => panic!("expected an error at the page bound, got {other:?}"),
    }
}

/// A page list read while items are added at its head: an item pushed from page 1 onto page 2
/// comes back there, and is yielded once (found by the fault campaign: a listing of assets
/// while an upload ran yielded one asset twice).
#[test]
fn an_item_pushed_onto_the_next_page_by_an_insert_is_yielded_once() {
    let (ids, result, sent) = item_ids(PageWalk::new(ListItems::new("ks_1")), RUNAWAY, |page| {
        // Between the two reads, "new" was added at the head: page 2 starts with i2.
        let ids: &[&str] = match page {
            1 => &["i1", "i2"],
            2 => &["i2", "i3"],
            _ => &["i4"],
        };
        format!(r#"{{"data":[{}],"page_info":{{"page":{page},"total_page":3}}}}"#, items(ids))
    });
    assert_eq!(ids, ["i1", "i2", "i3", "i4"], "each item once");
    assert_eq!((result, sent), (Ok(()), 3));
}
