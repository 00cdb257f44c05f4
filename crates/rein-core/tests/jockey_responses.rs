//! Every Jockey fixture response, decoded; what the models say about polling and pagination.

mod jockey_support;

use bytes::Bytes;
use jockey_support::{reply, reply_bytes, target};
use rein_core::jockey::assets::*;
use rein_core::jockey::items::*;
use rein_core::jockey::responses::*;
use rein_core::jockey::stores::*;
use rein_core::jockey::stream::{ResponseEvent, ResponseStreamDecoder};
use rein_core::jockey::{PageRequest, TokenRequest};
use rein_core::pages::{Pages, TokenPages};
use rein_core::{ApiCall, Phase, Pollable};

#[test]
fn assets() {
    let created = CreateAsset::decode(reply(201, "assets-create.json")).expect("decodes");
    assert_eq!(created.phase(), Phase::Pending);
    insta::assert_debug_snapshot!("decoded_assets_create", created);

    let ready = GetAsset::decode(reply(200, "assets-get.json")).expect("decodes");
    assert_eq!(ready.phase(), Phase::Ready);
    insta::assert_debug_snapshot!("decoded_assets_get", ready);

    let failed = GetAsset::decode(reply(200, "assets-get-failed.json")).expect("decodes");
    assert_eq!(failed.phase(), Phase::Failed);
    assert_eq!(failed.status_text(), "failed");
    assert_eq!(
        failed.failure_message(),
        Some("The file could not be decoded: moov atom not found")
    );
    insta::assert_debug_snapshot!("decoded_assets_get_failed", failed);

    let page = ListAssets::decode(reply(200, "assets-list.json")).expect("decodes");
    assert_eq!(page.data.len(), 3);
    insta::assert_debug_snapshot!("decoded_assets_list", page);
}

#[test]
fn stores() {
    let created = CreateKnowledgeStore::decode(reply(201, "stores-create.json")).expect("decodes");
    insta::assert_debug_snapshot!("decoded_stores_create", created);
    let got = GetKnowledgeStore::decode(reply(200, "stores-get.json")).expect("decodes");
    insta::assert_debug_snapshot!("decoded_stores_get", got);
    let page = ListKnowledgeStores::decode(reply(200, "stores-list.json")).expect("decodes");
    insta::assert_debug_snapshot!("decoded_stores_list", page);
    let updated = UpdateKnowledgeStore::decode(reply(200, "stores-update.json")).expect("decodes");
    insta::assert_debug_snapshot!("decoded_stores_update", updated);
}

#[test]
fn search_pages_follow_their_tokens_and_keep_unknown_hits() {
    let first = SearchKnowledgeStore::decode(reply(200, "stores-search.json")).expect("decodes");
    assert!(matches!(first.data[0], SearchHit::Video(_)));
    assert!(matches!(first.data[1], SearchHit::Image(_)));
    insta::assert_debug_snapshot!("decoded_stores_search", first);

    let last =
        SearchKnowledgeStore::decode(reply(200, "stores-search-last.json")).expect("decodes");
    assert!(
        matches!(&last.data[1], SearchHit::Other(v) if v["asset_type"] == "audio"),
        "an unknown hit type stays readable"
    );
    insta::assert_debug_snapshot!("decoded_stores_search_last", last);

    // The TokenPages machine drives the request: first page, the page of its token, then stop.
    let search = SearchKnowledgeStore::new("ks_1", "sideline argument").page_size(2);
    let mut walk = TokenPages::new(10);
    let mut bodies = Vec::new();
    for page in [&first, &last] {
        let token = walk.next_token().expect("another page");
        let request = search.for_token(token).to_request(&target()).expect("renders");
        bodies.push(String::from_utf8(request.body.as_bytes().unwrap_or_default().to_vec()));
        walk.handle_page(page.next_page_token.as_deref(), page.data.len());
    }
    assert_eq!(walk.next_token(), None);
    let bodies: Vec<String> = bodies.into_iter().map(|b| b.expect("utf-8")).collect();
    assert!(!bodies[0].contains("page_token"));
    assert!(bodies[1].contains(r#""page_token":"eyJvZmZzZXQiOjIsInEiOiJzaWRlbGluZSJ9""#));
}

#[test]
fn items() {
    let added = AddItem::decode(reply(202, "items-add.json")).expect("a 202 decodes");
    assert_eq!(added.status, Some(ItemStatus::Queued));
    assert_eq!(added.phase(), Phase::Pending);
    insta::assert_debug_snapshot!("decoded_items_add", added);

    let got = GetItem::decode(reply(200, "items-get.json")).expect("decodes");
    assert_eq!(got.phase(), Phase::Ready);
    insta::assert_debug_snapshot!("decoded_items_get", got);

    let page = ListItems::decode(reply(200, "items-list.json")).expect("decodes");
    let phases: Vec<(&str, Phase)> =
        page.data.iter().map(|i| (i.status_text(), i.phase())).collect();
    assert_eq!(
        phases,
        [
            ("queued", Phase::Pending),
            ("processing", Phase::Pending),
            ("ready", Phase::Ready),
            ("failed", Phase::Failed),
            ("reindexing", Phase::Pending), // unknown: kept, and still pending
        ]
    );
    assert_eq!(page.data[4].status, Some(ItemStatus::Other("reindexing".into())));
    insta::assert_debug_snapshot!("decoded_items_list", page);

    // The Pages machine drives the list: page 1 of 1, then stop.
    let list = ListItems::new("ks_1").page_limit(50);
    let mut walk = Pages::new(list.first_page(), 100);
    let n = walk.next_page().expect("a first page");
    assert_eq!(list.for_page(n).current_page(), Some(1));
    walk.handle_page(n, &page.page_info, page.data.len());
    assert_eq!(walk.next_page(), None);
}

#[test]
fn a_missing_status_is_pending() {
    let item: KnowledgeStoreItem =
        serde_json::from_str(r#"{"_id":"ksi_1","asset_type":"video"}"#).expect("decodes");
    assert_eq!((item.phase(), item.status_text()), (Phase::Pending, ""));
    let asset: AssetDetail = serde_json::from_str(r#"{"id":"a1"}"#).expect("decodes");
    assert_eq!(asset.id, "a1", "plain id is accepted too");
    assert_eq!(asset.phase(), Phase::Pending);
}

#[test]
fn deletes_and_metadata_writes_accept_any_2xx_body() {
    let empty = || Bytes::new();
    for status in [200, 202, 204] {
        assert_eq!(DeleteAsset::decode(reply_bytes(status, empty(), "text/plain")), Ok(()));
        assert_eq!(
            DeleteKnowledgeStore::decode(reply_bytes(status, empty(), "text/plain")),
            Ok(())
        );
        assert_eq!(DeleteItem::decode(reply_bytes(status, empty(), "text/plain")), Ok(()));
        assert_eq!(DeleteAssetMetadata::decode(reply_bytes(status, empty(), "")), Ok(()));
        assert_eq!(ReplaceAssetMetadata::decode(reply_bytes(status, empty(), "")), Ok(()));
        assert_eq!(MergeAssetMetadata::decode(reply_bytes(status, empty(), "")), Ok(()));
    }
    let body = Bytes::from_static(br#"{"message":"deleted"}"#);
    assert_eq!(DeleteAsset::decode(reply_bytes(200, body, "application/json")), Ok(()));
}

#[test]
fn responses() {
    let response = CreateResponse::decode(reply(200, "responses-create.json")).expect("decodes");
    assert_eq!(response.status, Some(ResponseStatus::Completed));
    assert!(response.output_text().starts_with("After a fumble"));
    assert!(!response.output_text().contains("Searching"), "commentary is not the answer");
    let cited: Vec<_> = response.annotations().collect();
    assert_eq!(cited.len(), 1);
    let text: Vec<char> = response.output_text().chars().collect();
    let (start, end) = (cited[0].start_index.unwrap_or(0), cited[0].end_index.unwrap_or(0));
    let span: String = text[start as usize..=end as usize].iter().collect();
    assert_eq!(span, "[1]", "end_index is inclusive, in code points");
    insta::assert_debug_snapshot!("decoded_responses_create", response);
}

#[test]
fn the_stream_transcript_decodes_to_typed_events() {
    let bytes = jockey_support::fixture_bytes("responses-stream.sse");
    let events: Vec<ResponseEvent> = ResponseStreamDecoder::decode_all(&bytes)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every event decodes");
    let types: Vec<&str> = events.iter().map(ResponseEvent::event_type).collect();
    insta::assert_debug_snapshot!("decoded_responses_stream_types", types);
    assert_eq!(events.first().map(ResponseEvent::event_type), Some("response.created"));
    assert_eq!(events.last().map(ResponseEvent::event_type), Some("response.completed"));
    assert!(events.iter().any(|e| matches!(e, ResponseEvent::Keepalive(_))));
    assert!(events.iter().any(|e| matches!(e, ResponseEvent::Unknown { .. })));
    // Nothing after [DONE] is read.
    assert!(!events.iter().any(|e| e.sequence_number() == Some(99)));
    // Sequence numbers are consecutive: no event was lost.
    let seq: Vec<u64> = events.iter().filter_map(ResponseEvent::sequence_number).collect();
    assert_eq!(seq, (0..seq.len() as u64).collect::<Vec<_>>());

    // The deltas add up to the text the .done event announces.
    let mut text = String::new();
    for e in &events {
        if let ResponseEvent::OutputTextDelta(d) = e {
            if d.output_index == Some(2) {
                text.push_str(&d.delta);
            }
        }
    }
    let done = events.iter().rev().find_map(|e| match e {
        ResponseEvent::OutputTextDone(d) if d.output_index == Some(2) => Some(d.text.clone()),
        _ => None,
    });
    assert_eq!(Some(text), done);
    insta::assert_debug_snapshot!("decoded_responses_stream", events);
}

#[test]
fn a_whole_stream_decodes_to_its_final_response() {
    let bytes = jockey_support::fixture_bytes("responses-stream.sse");
    let response =
        CreateResponse::decode(reply_bytes(200, bytes, "text/event-stream; charset=utf-8"))
            .expect("decodes");
    assert_eq!(response.status, Some(ResponseStatus::Completed));
    assert_eq!(response.output.len(), 3);
    assert!(response.output_text().ends_with("[1]."));

    // Without its content type, a stream is still recognised by its first field.
    let bytes = jockey_support::fixture_bytes("responses-stream.sse");
    let unlabelled = CreateResponse::decode(reply_bytes(200, bytes, "application/octet-stream"))
        .expect("decodes");
    assert_eq!(unlabelled, response);

    let cut = reply_bytes(200, &b"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n"[..], "text/event-stream");
    let err = CreateResponse::decode(cut).expect_err("no final response");
    assert!(err.may_have_succeeded);
}
