//! Every future the clients return is `Send`, so calls can be spawned on a multi-threaded
//! runtime; so are the streams and their `next` futures. Checked when this file compiles: the
//! futures are built and dropped, never polled.

mod support;

use rein_async::{Jack, Jockey, PageStream, ResponseStream, SearchStream};
use rein_core::jack::{GetUsage, NewDocument};
use rein_core::jockey::{
    AddItem, Asset, CreateAsset, CreateKnowledgeStore, CreateResponse, GetAsset, ListAssets,
    ListItems, ListKnowledgeStores, Metadata, SearchKnowledgeStore, UpdateKnowledgeStore,
};
use rein_core::WaitPolicy;
use support::{ok, scripted, Log, KEY, USAGE};

fn assert_send<T: Send>(_: T) {}

fn assert_send_type<T: Send>() {}

#[test]
fn jockey_futures_and_streams_are_send() {
    let jockey = Jockey::builder("tlk_test_key")
        .transport(scripted(&Log::new(), |_, _| ok("{}")))
        .build()
        .unwrap();
    let asset: Asset = serde_json::from_str(r#"{"_id":"a","method":"url"}"#).unwrap();
    assert_send(jockey.create_asset(&CreateAsset::url("https://cdn.example.com/a.mp4")));
    assert_send(jockey.upload_file("a.mp4"));
    assert_send(jockey.upload_url("https://cdn.example.com/a.mp4"));
    assert_send(jockey.get_asset("a"));
    assert_send(jockey.get_asset(&asset.id));
    assert_send(jockey.list_assets(&ListAssets::new()));
    assert_send(jockey.delete_asset("a", false));
    assert_send(jockey.replace_asset_metadata("a", Metadata::new()));
    assert_send(jockey.merge_asset_metadata("a", Metadata::new()));
    assert_send(jockey.delete_asset_metadata("a"));
    assert_send(jockey.wait_for_asset(&asset));
    assert_send(jockey.wait_for_asset_with("a", WaitPolicy::ASSET_URL));
    assert_send(jockey.create_store(&CreateKnowledgeStore::new("s")));
    assert_send(jockey.get_store("ks"));
    assert_send(jockey.list_stores(&ListKnowledgeStores::new()));
    assert_send(jockey.update_store(&UpdateKnowledgeStore::new("ks")));
    assert_send(jockey.delete_store("ks"));
    assert_send(jockey.search(&SearchKnowledgeStore::new("ks", "q")));
    assert_send(jockey.add_item(&AddItem::new("ks", "a")));
    assert_send(jockey.get_item("ks", "i"));
    assert_send(jockey.list_items(&ListItems::new("ks")));
    assert_send(jockey.delete_item("ks", "i"));
    assert_send(jockey.wait_for_item("ks", "i"));
    assert_send(jockey.wait_for_item_with("ks", "i", WaitPolicy::KNOWLEDGE_STORE_ITEM));
    assert_send(jockey.create_response(&CreateResponse::ask("ks", "q")));
    assert_send(jockey.stream_response(&CreateResponse::ask("ks", "q")));
    assert_send(jockey.call(&GetAsset::new("a")));

    let mut assets = jockey.assets(ListAssets::new());
    assert_send(assets.next());
    let mut stores = jockey.stores(ListKnowledgeStores::new());
    assert_send(stores.next());
    let mut items = jockey.items(ListItems::new("ks"));
    assert_send(items.next());
    let mut hits = jockey.search_pages(SearchKnowledgeStore::new("ks", "q"));
    assert_send(hits.next());
    assert_send((assets, stores, items, hits));
    assert_send_type::<PageStream<ListAssets>>();
    assert_send_type::<SearchStream>();
    assert_send_type::<ResponseStream>();
}

#[test]
fn jack_futures_are_send() {
    let jack = Jack::builder(KEY).transport(scripted(&Log::new(), |_, _| ok(USAGE))).build();
    let jack = jack.unwrap();
    assert_send(jack.ingest([NewDocument::new("x")]));
    assert_send(jack.ingest_many(["x"]));
    assert_send(jack.ingest_file("a.md"));
    assert_send(jack.get_document("doc_1"));
    assert_send(jack.list_documents());
    assert_send(jack.delete_document("doc_1"));
    assert_send(jack.query("q"));
    assert_send(jack.usage());
    assert_send(jack.wait_for_document("doc_1"));
    assert_send(jack.wait_for_document_with("doc_1", WaitPolicy::JACK_DOCUMENT));
    assert_send(jack.call(&GetUsage::new()));
}
