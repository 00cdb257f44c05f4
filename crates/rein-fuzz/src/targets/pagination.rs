//! `pagination`: the decoders of every listing (Jockey's `Page<T>` of assets, items and stores,
//! search pages with their tokens, jack's document list) and the walks that go through them.
//!
//! The input is one or more bodies separated by NUL bytes; the list fixtures are the seeds.
//! Each body is decoded by every list decoder: `Ok`, or a [`DecodeError`] that keeps the status
//! and body length with bounded, scrubbed text. The decoded pages then answer a walk in turn,
//! over and over, as a server that loops would:
//! - a [`PageWalk`] asks for strictly increasing pages, never yields an item id twice, and ends
//!   within one page more than there are bodies (a page whose items repeat an earlier page's ends
//!   it);
//! - a [`TokenWalk`] ends within one page more than there are bodies (a token never repeats);
//! - the [`Pages`] machine never fetches more than its bound, and says so when it stops there;
//! - once a walk reports an error, it asks for nothing more.

use std::collections::HashSet;

use bytes::Bytes;
use rein_core::jack::ListDocuments;
use rein_core::jockey::{
    ListAssets, ListItems, ListKnowledgeStores, PageRequest, SearchKnowledgeStore,
};
use rein_core::listing::{PageWalk, TokenWalk, Walk};
use rein_core::pages::{PageInfo, Pages, TokenPages, WalkError};
use rein_core::{ApiCall, DecodeError};

use super::check_decode_error;

/// The most bodies one input is split into.
const MAX_BODIES: usize = 8;

/// Runs one input.
pub fn run(data: &[u8]) {
    let bodies: Vec<&[u8]> = data.split(|&b| b == 0).take(MAX_BODIES).collect();
    let status = 200;

    let assets: Vec<_> = bodies.iter().map(|b| decode::<ListAssets>(b, status)).collect();
    let items: Vec<_> = bodies.iter().map(|b| decode::<ListItems>(b, status)).collect();
    let stores: Vec<_> = bodies.iter().map(|b| decode::<ListKnowledgeStores>(b, status)).collect();
    let search: Vec<_> = bodies.iter().map(|b| decode::<SearchKnowledgeStore>(b, status)).collect();
    for body in &bodies {
        if let Err(e) = decode::<ListDocuments>(body, status) {
            let _ = e.to_string(); // costly (the excerpt is quoted): once per body is enough
        }
    }

    page_walk(ListAssets::new().page_limit(50), &assets);
    page_walk(ListItems::new("ks_fuzz").page_limit(50), &items);
    page_walk(ListKnowledgeStores::new(), &stores);
    token_walk(SearchKnowledgeStore::new("ks_fuzz", "fuzz"), &search);

    // The bare machines, bounded by a small number drawn from the input.
    let infos: Vec<PageAnswer> = items
        .iter()
        .flatten()
        .map(|p| PageAnswer {
            info: p.page_info.clone(),
            items: p.data.len(),
            ids: Some(p.data.iter().map(|i| i.id.as_str().to_owned()).collect()),
        })
        .chain(assets.iter().flatten().map(|p| PageAnswer {
            info: p.page_info.clone(),
            items: p.data.len(),
            ids: None,
        }))
        .collect();
    let bound = 1 + (super::sse::fnv1a(data) % 24) as u32;
    pages(bound, &infos);
    let tokens: Vec<(Option<String>, usize)> =
        search.iter().flatten().map(|s| (s.next_page_token.clone(), s.data.len())).collect();
    token_pages(bound, &tokens);
}

/// Decodes `body` as a 2xx answer of `R`, checking the error when it does not decode.
fn decode<R: ApiCall>(body: &[u8], status: u16) -> Result<R::Output, DecodeError> {
    let mut response = http::Response::new(Bytes::copy_from_slice(body));
    *response.status_mut() = http::StatusCode::from_u16(status).expect("a valid status");
    let result = R::decode(response);
    if let Err(e) = &result {
        check_decode_error(e, status, body);
        assert_eq!(e.endpoint, Some(R::OPERATION.endpoint()));
    }
    result
}

fn page_walk<R>(request: R, answers: &[Result<R::Output, DecodeError>])
where
    R: PageRequest,
    R::Output: Clone,
{
    let mut walk = PageWalk::new(request);
    let mut yielded = HashSet::new();
    let mut last = 0;
    let mut records = 0;
    for answer in answers.iter().cycle().take(answers.len() + 1) {
        let Some(next) = walk.next_request() else { break };
        let page = next.current_page().expect("a walk names its page");
        assert!(page > last, "page {page} asked for after page {last}");
        last = page;
        let Ok(answer) = answer else { return }; // a listing ends at a page it cannot read
        let mut seen = yielded.clone();
        let fresh: Vec<Option<String>> = answer
            .data
            .iter()
            .map(|item| R::item_id(item).map(str::to_owned))
            .filter(|id| id.as_ref().is_none_or(|id| seen.insert(id.clone())))
            .collect();
        let given: Vec<Option<String>> = walk
            .record(answer.clone())
            .iter()
            .map(|item| R::item_id(item).map(str::to_owned))
            .collect();
        // A page is taken whole, less the items already yielded (an insert at the head of the
        // list pushes one onto the next page), or not at all (a page that repeats).
        assert!(
            given.is_empty() || given == fresh,
            "page {page} gave {given:?}, not its new items {fresh:?}"
        );
        for id in given.iter().flatten() {
            assert!(yielded.insert(id.clone()), "item {id:?} yielded twice");
        }
        records += 1;
        if walk.error().is_some() {
            assert!(walk.next_request().is_none(), "a walk asks on after {:?}", walk.error());
        }
    }
    assert!(
        walk.next_request().is_none(),
        "a walk over {} looping pages is still going after {records}",
        answers.len()
    );
}

fn token_walk(
    request: SearchKnowledgeStore,
    answers: &[Result<rein_core::jockey::SearchResponse, DecodeError>],
) {
    let mut walk = TokenWalk::new(request);
    for answer in answers.iter().cycle().take(answers.len() + 1) {
        if walk.next_request().is_none() {
            break;
        }
        let Ok(answer) = answer else { return };
        let _ = walk.record(answer.clone());
        if walk.error().is_some() {
            assert!(walk.next_request().is_none(), "a walk asks on after {:?}", walk.error());
        }
    }
    assert!(walk.next_request().is_none(), "a token walk repeats a token");
}

/// What a page said, for the bare [`Pages`] machine.
struct PageAnswer {
    info: PageInfo,
    items: usize,
    ids: Option<Vec<String>>,
}

fn pages(bound: u32, answers: &[PageAnswer]) {
    let mut machine = Pages::new(1, bound);
    let endless = [PageAnswer { info: PageInfo::default(), items: 1, ids: None }];
    let answers = if answers.is_empty() { &endless[..] } else { answers };
    let mut fetched = 0;
    let mut last = 0;
    for answer in answers.iter().cycle() {
        let Some(page) = machine.next_page() else { break };
        assert!(page > last, "page {page} asked for after page {last}");
        assert!(fetched < bound, "page {page} asked for past the bound of {bound}");
        last = page;
        fetched += 1;
        match &answer.ids {
            Some(ids) => {
                machine.handle_page_ids(page, &answer.info, ids.iter().map(String::as_str))
            }
            None => machine.handle_page(page, &answer.info, answer.items),
        };
    }
    if let Some(WalkError::TooManyPages { max_pages }) = machine.error() {
        assert_eq!((max_pages, fetched), (bound, bound), "cut short before the bound");
    }
}

fn token_pages(bound: u32, tokens: &[(Option<String>, usize)]) {
    let mut machine = TokenPages::new(bound);
    let mut fetched = 0;
    for (token, items) in tokens.iter().cycle().take(bound as usize + 1) {
        if machine.next_token().is_none() {
            break;
        }
        fetched += 1;
        machine.handle_page(token.as_deref(), *items);
    }
    assert!(
        machine.next_token().is_none() || tokens.is_empty(),
        "a token walk still going after {fetched} of at most {bound} pages"
    );
}
