//! Ids are typed and present: an answer for an asset, a store, an item or a document without its
//! id is a decode error naming the field (never an empty id passed on), ids travel as plain JSON
//! strings, and a request takes `&str`, `String` or a typed id alike.

use std::collections::HashSet;

use bytes::Bytes;
use rein_core::jack::{Document, DocumentId, GetDocument, Ingest, IngestAccepted, ListDocuments};
use rein_core::jockey::{
    AddItem, Asset, AssetDetail, AssetId, CreateAsset, CreateKnowledgeStore, CreateResponse,
    DeleteAsset, GetAsset, GetItem, GetKnowledgeStore, ItemId, KnowledgeStore, KnowledgeStoreId,
    KnowledgeStoreItem, ListAssets, ListItems, ListKnowledgeStores, UpdateKnowledgeStore,
};
use rein_core::{Api, ApiCall, DecodeError, Operation, Request, Target};
use serde_json::json;

fn reply(status: u16, body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::copy_from_slice(body.as_bytes()))
        .expect("a valid response")
}

/// A decode error of `op`'s `status` answer that names `field` as missing.
fn missing<T: std::fmt::Debug>(
    decoded: Result<T, DecodeError>,
    op: Operation,
    status: u16,
    field: &str,
) {
    let err = decoded.expect_err("an answer without its id must not decode");
    assert_eq!(err.endpoint.map(|e| e.0), Some(op));
    assert_eq!(err.status, status);
    assert!(err.reason.contains(&format!("missing field `{field}`")), "{err}");
    assert_eq!(err.may_have_succeeded, !op.is_idempotent(), "{err}");
}

#[test]
fn a_jockey_answer_without_its_id_is_a_decode_error_naming_the_field() {
    let asset = r#"{"method":"direct","status":"processing","filename":"a.mp4"}"#;
    missing(CreateAsset::decode(reply(201, asset)), Operation::CreateAsset, 201, "_id");
    missing(GetAsset::decode(reply(200, asset)), Operation::GetAsset, 200, "_id");
    let assets = r#"{"data":[{"_id":"a1"},{"status":"ready"}],"page_info":{"total_page":1}}"#;
    missing(ListAssets::decode(reply(200, assets)), Operation::ListAssets, 200, "_id");

    let store = r#"{"name":"Matches","item_count":0}"#;
    let create = CreateKnowledgeStore::decode(reply(201, store));
    missing(create, Operation::CreateKnowledgeStore, 201, "_id");
    missing(GetKnowledgeStore::decode(reply(200, store)), Operation::GetKnowledgeStore, 200, "_id");
    let update = UpdateKnowledgeStore::decode(reply(200, store));
    missing(update, Operation::UpdateKnowledgeStore, 200, "_id");
    let stores = r#"{"data":[{"name":"x"}],"page_info":{"total_page":1}}"#;
    let list = ListKnowledgeStores::decode(reply(200, stores));
    missing(list, Operation::ListKnowledgeStores, 200, "_id");

    let item = r#"{"asset_type":"video","asset_id":"a1","status":"queued"}"#;
    missing(AddItem::decode(reply(202, item)), Operation::AddItem, 202, "_id");
    missing(GetItem::decode(reply(200, item)), Operation::GetItem, 200, "_id");
    let items = r#"{"data":[{"asset_type":"image"}],"page_info":{"total_page":1}}"#;
    missing(ListItems::decode(reply(200, items)), Operation::ListItems, 200, "_id");
}

#[test]
fn a_jack_document_without_its_id_is_a_decode_error_naming_the_field() {
    let doc = r#"{"status":"ready","chunk_count":3}"#;
    missing(GetDocument::decode(reply(200, doc)), Operation::GetDocument, 200, "id");
    let bare = r#"[{"id":"d1","status":"ready"},{"status":"ready"}]"#;
    missing(ListDocuments::decode(reply(200, bare)), Operation::ListDocuments, 200, "id");
    let wrapped = r#"{"data":[{"status":"processing"}]}"#;
    missing(ListDocuments::decode(reply(200, wrapped)), Operation::ListDocuments, 200, "id");
}

#[test]
fn a_null_or_non_string_id_is_a_decode_error_too() {
    for body in [r#"{"_id":null}"#, r#"{"_id":42}"#, r#"{"id":["a1"]}"#] {
        let err = GetAsset::decode(reply(200, body)).expect_err(body);
        assert!(err.reason.contains("invalid type"), "{body}: {err}");
    }
    let err = GetDocument::decode(reply(200, r#"{"id":null}"#)).expect_err("a null id");
    assert!(err.reason.contains("invalid type"), "{err}");
    let err = Ingest::decode(reply(202, r#"{"document_ids":["d1",null]}"#)).expect_err("a null id");
    assert!(err.reason.contains("invalid type"), "{err}");
}

#[test]
fn either_spelling_of_the_id_is_read() {
    let by_underscore: AssetDetail = serde_json::from_str(r#"{"_id":"a1"}"#).expect("_id");
    let by_plain: AssetDetail = serde_json::from_str(r#"{"id":"a1"}"#).expect("id");
    assert_eq!((by_underscore.id, by_plain.id), (AssetId::from("a1"), AssetId::from("a1")));
    let doc: Document = serde_json::from_str(r#"{"_id":"d1"}"#).expect("_id");
    assert_eq!(doc.id, "d1");
    let both = serde_json::from_str::<KnowledgeStore>(r#"{"_id":"ks_1","id":"ks_2"}"#);
    assert!(both.is_err(), "a body with both spellings is a duplicate field");
}

#[test]
fn ids_round_trip_through_serde_as_plain_strings() {
    let asset: AssetId = serde_json::from_str(r#""6890a1f2""#).expect("a string");
    assert_eq!(serde_json::to_string(&asset).expect("encodes"), r#""6890a1f2""#);
    let ids = (
        KnowledgeStoreId::from("ks_1"),
        ItemId::from("ksi_1"),
        DocumentId::from(String::from("d1")),
    );
    assert_eq!(serde_json::to_value(&ids).expect("encodes"), json!(["ks_1", "ksi_1", "d1"]));
    let back: (KnowledgeStoreId, ItemId, DocumentId) =
        serde_json::from_value(json!(["ks_1", "ksi_1", "d1"])).expect("decodes");
    assert_eq!(back, ids);

    // Through the models: the wire's spelling comes back unchanged.
    let asset = json!({"_id": "a1", "status": "processing"});
    let decoded: Asset = serde_json::from_value(asset.clone()).expect("decodes");
    assert_eq!(serde_json::to_value(&decoded).expect("encodes"), asset);
    let item = json!({"_id": "ksi_1", "asset_type": "video", "asset_id": "a1"});
    let decoded: KnowledgeStoreItem = serde_json::from_value(item.clone()).expect("decodes");
    assert_eq!(decoded.asset_id, Some(AssetId::from("a1")));
    assert_eq!(serde_json::to_value(&decoded).expect("encodes"), item);
    let accepted =
        json!({"status": "accepted", "org_id": null, "queued": 2, "document_ids": ["d1", "d2"]});
    let decoded: IngestAccepted = serde_json::from_value(accepted.clone()).expect("decodes");
    assert_eq!(decoded.document_ids, ["d1", "d2"]);
    assert_eq!(serde_json::to_value(&decoded).expect("encodes"), accepted);
}

#[test]
fn an_id_shows_compares_and_hashes_as_its_string() {
    let id = AssetId::from("a1");
    assert_eq!(id.to_string(), "a1");
    assert_eq!(format!("{id:?}"), r#""a1""#);
    assert_eq!(format!("[{id:>4}]"), "[  a1]");
    assert_eq!(id.as_str(), "a1");
    assert_eq!(AsRef::<str>::as_ref(&id), "a1");
    let owned = String::from("a1");
    assert_eq!(id, "a1");
    assert_eq!("a1", id);
    assert_eq!(id, *"a1");
    assert_eq!(id, owned);
    assert_eq!(owned, id);
    let mut sorted = vec![AssetId::from("a2"), AssetId::from("a10"), AssetId::from("a1")];
    sorted.sort();
    assert_eq!(sorted, ["a1", "a10", "a2"], "ordered as strings");
    let seen: HashSet<AssetId> = [id.clone()].into_iter().collect();
    assert!(seen.contains("a1"), "a set of ids is searched by &str");
    assert_eq!(String::from(id.clone()), "a1");
    assert_eq!(id.into_string(), "a1");
}

fn render(call: impl ApiCall) -> Request {
    let target = Target::new(Api::Jockey, Api::Jockey.default_base_url(), "tlk_test_key");
    call.to_request(&target.expect("a target")).expect("renders")
}

#[test]
fn a_request_takes_a_str_a_string_or_a_typed_id() {
    let asset: Asset = serde_json::from_str(r#"{"_id":"a1"}"#).expect("decodes");
    let by_str = render(GetAsset::new("a1"));
    assert_eq!(by_str.path_and_query(), "/v1.3/assets/a1");
    let owned = String::from("a1");
    assert_eq!(render(GetAsset::new(&owned)), by_str);
    assert_eq!(render(GetAsset::new(owned)), by_str);
    assert_eq!(render(GetAsset::new(&asset.id)), by_str);
    assert_eq!(render(GetAsset::new(asset.id.clone())), by_str);
    assert_eq!(render(DeleteAsset::new(&asset.id)), render(DeleteAsset::new("a1")));

    let store: KnowledgeStore = serde_json::from_str(r#"{"_id":"ks_1"}"#).expect("decodes");
    let item: KnowledgeStoreItem =
        serde_json::from_str(r#"{"_id":"ksi_1","asset_type":"video"}"#).expect("decodes");
    assert_eq!(render(AddItem::new(&store.id, &asset.id)), render(AddItem::new("ks_1", "a1")));
    assert_eq!(
        render(GetItem::new(&store.id, &item.id)).path_and_query(),
        "/v1.3/knowledge-stores/ks_1/items/ksi_1"
    );
    assert_eq!(
        render(CreateResponse::ask(&store.id, "Who scored?")),
        render(CreateResponse::ask(String::from("ks_1"), "Who scored?"))
    );
    assert_eq!(
        render(ListAssets::new().asset_ids([&asset.id])),
        render(ListAssets::new().asset_ids(["a1"]))
    );

    let doc: Document = serde_json::from_str(r#"{"id":"d1"}"#).expect("decodes");
    assert_eq!(GetDocument::new(&doc.id), GetDocument::new("d1"));
    assert_eq!(GetDocument::new(doc.id.clone()).document_id, "d1");
}

#[test]
fn an_empty_id_is_still_refused_before_sending() {
    let target =
        Target::new(Api::Jockey, Api::Jockey.default_base_url(), "tlk_test_key").expect("a target");
    let err = GetAsset::new(AssetId::from("")).to_request(&target).expect_err("empty");
    assert!(err.to_string().contains("asset_id"), "{err}");
}
