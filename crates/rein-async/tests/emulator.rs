//! The async adapter against rein-emulator on loopback: every endpoint, waits that end on ready
//! and on failed, and creates whose answer the wire loses. Whole workflows under faults run in
//! process, in virtual time (tests/virtual_time.rs). The emulator runs `SPEED` times faster than
//! real time, and the clients' policies are scaled to match (`rein_emulator::testing`).

use std::time::Duration;

use rein_async::{Jack, Jockey};
use rein_core::jack::NewDocument;
use rein_core::jockey::{
    AddItem, CreateKnowledgeStore, CreateResponse, ItemStatus, ListAssets, ListItems,
    ListKnowledgeStores, MetadataValue, ResponsesShape, SearchKnowledgeStore, UpdateKnowledgeStore,
};
use rein_core::{Api, Error, ErrorKind, WaitPolicy};
use rein_emulator::{
    spawn, testing, Clock, Config, FaultKind, FaultPlan, RunningServer, ServerConfig, Timing,
};
use rein_emulator::{DEMO_JACK_KEY, DEMO_JOCKEY_KEY};

const SPEED: f64 = 200.0;

fn server(config: Config) -> RunningServer {
    spawn(ServerConfig { clock: Clock::scaled(SPEED), emulator: config, ..ServerConfig::default() })
        .expect("emulator")
}

fn quick_config() -> Config {
    Config { timing: Timing::all(Duration::from_secs(20)), ..Config::default() }
}

fn wait(preset: WaitPolicy) -> WaitPolicy {
    testing::scaled_wait(preset, SPEED)
}

fn jack(server: &RunningServer) -> Jack {
    Jack::builder(DEMO_JACK_KEY)
        .base_url(server.jack_base_url())
        .retry_policy(testing::scaled_retry_policy(Api::Jack, SPEED))
        // The client's own 60-per-minute window runs on real time; the emulator's on emulated.
        .rate_limit(None)
        .build()
        .expect("client")
}

fn jockey(server: &RunningServer) -> Jockey {
    Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .retry_policy(testing::scaled_retry_policy(Api::Jockey, SPEED))
        .build()
        .expect("client")
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rein-async-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[tokio::test]
async fn jack_every_endpoint() {
    let server = server(quick_config());
    let jack = jack(&server);

    let accepted = jack
        .ingest([
            NewDocument::new("Refunds take 5 days.").metadata("lang", "en"),
            NewDocument::new("Shipping is free."),
        ])
        .await
        .expect("ingest");
    assert_eq!(accepted.document_ids.len(), 2);
    for id in &accepted.document_ids {
        let doc =
            jack.wait_for_document_with(id, wait(WaitPolicy::JACK_DOCUMENT)).await.expect("ready");
        assert_eq!(doc.status.as_str(), "ready");
        assert_eq!(&jack.get_document(id).await.expect("get").id, id);
    }
    let listed = jack.list_documents().await.expect("list");
    assert!(accepted.document_ids.iter().all(|id| listed.iter().any(|d| &d.id == id)));
    assert!(!jack.query("How long do refunds take?").await.expect("query").answer.is_empty());
    assert_eq!(jack.usage().await.expect("usage").rate_limit_rpm, Some(60));

    let txt = temp_file("notes.md", b"# Notes\nRefunds take 5 days.");
    assert!(jack.ingest_file(&txt).await.expect("file ingest").document_id.is_some());
    let before = server.log().len();
    let err =
        jack.ingest_file(&temp_file("sheet.xlsx", b"x")).await.expect_err("415 before sending");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(server.log().len(), before, "invalid requests sent nothing");

    let report = jack
        .ingest_many((0..120).map(|i| NewDocument::new(format!("document {i}"))))
        .await
        .expect("valid");
    assert!(report.all_accepted());
    assert_eq!(report.batches.len(), 3);

    let id = &accepted.document_ids[0];
    jack.delete_document(id).await.expect("delete");
    let err = jack.get_document(id).await.expect_err("gone");
    assert_eq!(err.api_error().map(|e| e.kind), Some(ErrorKind::NotFound));
}

#[tokio::test]
async fn jack_waits_end_on_failed() {
    let server = server(Config { failure_rate: 1.0, ..quick_config() });
    let jack = jack(&server);
    let accepted = jack.ingest([NewDocument::new("doomed")]).await.expect("ingest");
    let err = jack
        .wait_for_document_with(&accepted.document_ids[0], wait(WaitPolicy::JACK_DOCUMENT))
        .await
        .expect_err("failed");
    assert!(matches!(&err, Error::ResourceFailed(f) if f.message.is_some()), "{err}");
}

#[tokio::test]
async fn jockey_every_endpoint() {
    let server = server(quick_config());
    let jockey = jockey(&server);

    let asset = jockey.upload_file(temp_file("clip.mp4", &[0u8; 4096])).await.expect("upload");
    let asset_id = asset.id.clone();
    jockey.wait_for_asset_with(&asset_id, wait(WaitPolicy::ASSET_DIRECT)).await.expect("ready");
    let by_url = jockey.upload_url("https://example.com/video.mp4").await.expect("url upload");
    jockey.wait_for_asset_with(&by_url.id, wait(WaitPolicy::ASSET_URL)).await.expect("ready");
    assert_eq!(jockey.get_asset(&asset_id).await.expect("get").id, asset_id);
    assert_eq!(
        jockey.list_assets(&ListAssets::new().page_limit(1)).await.expect("list").data.len(),
        1
    );
    let mut pages = jockey.assets(ListAssets::new().page_limit(1));
    let mut walked = 0;
    while let Some(asset) = pages.next().await {
        asset.expect("page");
        walked += 1;
    }
    assert_eq!(walked, 2, "both assets, one page at a time");
    let meta = rein_core::jockey::metadata([("topic", MetadataValue::Text("demo".into()))]);
    jockey.replace_asset_metadata(&asset_id, meta.clone()).await.expect("put");
    jockey.merge_asset_metadata(&asset_id, meta).await.expect("patch");
    jockey.delete_asset_metadata(&asset_id).await.expect("delete metadata");

    let store = jockey.create_store(&CreateKnowledgeStore::new("Demo store")).await.expect("store");
    let store_id = store.id.clone();
    assert_eq!(jockey.get_store(&store_id).await.expect("get").name.as_deref(), Some("Demo store"));
    assert!(!jockey.list_stores(&ListKnowledgeStores::new()).await.expect("list").data.is_empty());
    let updated = jockey
        .update_store(&UpdateKnowledgeStore::new(&store_id).name("Renamed"))
        .await
        .expect("update");
    assert_eq!(updated.name.as_deref(), Some("Renamed"));

    let item = jockey.add_item(&AddItem::new(&store_id, &asset_id)).await.expect("add");
    let item_id = item.id.clone();
    let indexed = jockey
        .wait_for_item_with(&store_id, &item_id, wait(WaitPolicy::KNOWLEDGE_STORE_ITEM))
        .await
        .expect("ready");
    assert_eq!(indexed.status, Some(ItemStatus::Ready));
    assert_eq!(jockey.get_item(&store_id, &item_id).await.expect("get").id, item_id);
    let ready = jockey
        .list_items(&ListItems::new(&store_id).status(ItemStatus::Ready))
        .await
        .expect("list");
    assert_eq!(ready.data.len(), 1);
    let mut items = jockey.items(ListItems::new(&store_id));
    assert!(items.next().await.expect("one item").is_ok());
    assert!(items.next().await.is_none());

    let hits = jockey.search(&SearchKnowledgeStore::new(&store_id, "demo")).await.expect("search");
    let mut all = jockey.search_pages(SearchKnowledgeStore::new(&store_id, "demo"));
    let mut count = 0;
    while let Some(hit) = all.next().await {
        hit.expect("hit");
        count += 1;
    }
    assert!(count >= hits.data.len());
    let answer = jockey
        .create_response(&CreateResponse::ask(&store_id, "What is in it?"))
        .await
        .expect("answer");
    assert!(!answer.output_text().is_empty());
    let top = CreateResponse::ask(&store_id, "And then?").shape(ResponsesShape::TopLevel);
    assert!(jockey.create_response(&top).await.is_ok());
    let mut stream =
        jockey.stream_response(&CreateResponse::ask(&store_id, "Stream it")).await.expect("stream");
    let mut types = Vec::new();
    while let Some(event) = stream.next().await {
        types.push(event.expect("event").event_type().to_owned());
    }
    assert!(types.iter().any(|t| t == "response.output_text.delta"), "{types:?}");
    assert_eq!(types.last().map(String::as_str), Some("response.completed"));

    jockey.delete_item(&store_id, &item_id).await.expect("delete item");
    jockey.delete_store(&store_id).await.expect("delete store");
    jockey.delete_asset(&asset_id, true).await.expect("delete asset");
    assert_eq!(jockey.get_asset(&asset_id).await.expect_err("gone").status(), Some(404));
}

#[tokio::test]
async fn jockey_waits_end_on_failed() {
    let server = server(Config { failure_rate: 1.0, ..quick_config() });
    let jockey = jockey(&server);
    let asset = jockey.upload_url("https://example.com/broken.mp4").await.expect("upload");
    let err = jockey
        .wait_for_asset_with(&asset.id, wait(WaitPolicy::ASSET_URL))
        .await
        .expect_err("failed");
    assert!(matches!(err, Error::ResourceFailed(_)), "{err}");
}

/// Clients on the emulator's clock (`time_scale`), with their default policies: a create
/// whose answer is lost waits for its attempt timeout, in emulated time, before it is looked up
/// for the last time and sent again. The emulator answers at once, so a 30 s attempt timeout
/// (150 ms of real time), and ten creates at most, let a create whose every other answer is lost
/// finish in its 600 s.
fn scaled_clients(server: &RunningServer) -> (Jockey, Jack) {
    let attempt = Duration::from_secs(30);
    let creates = rein_emulator::testing::chaos::policy;
    let jockey = Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .time_scale(server.time_scale())
        .request_timeout(attempt)
        .retry_policy(creates(Api::Jockey))
        .build()
        .expect("client");
    let jack = Jack::builder(DEMO_JACK_KEY)
        .base_url(server.jack_base_url())
        .time_scale(server.time_scale())
        .request_timeout(attempt)
        .retry_policy(creates(Api::Jack))
        .build()
        .expect("client");
    (jockey, jack)
}

// Kept on loopback beside its in-process version (tests/virtual_time.rs): here the resets are
// real TCP resets and the truncated body a real short read, so hyper's own errors must say that
// the create may have been carried out.
#[tokio::test]
async fn creates_whose_answer_is_lost_are_found_not_repeated() {
    for kind in [
        FaultKind::ResetAfterProcessing,
        FaultKind::TruncatedBody,
        FaultKind::ResetBeforeProcessing,
    ] {
        let server =
            server(Config { faults: FaultPlan::only(kind, 0.5), seed: 9, ..quick_config() });
        let (jockey, jack) = scaled_clients(&server);
        for i in 0..4 {
            jockey
                .create_store(&CreateKnowledgeStore::new(format!("store {i}")))
                .await
                .expect("store");
            jockey.upload_url(&format!("https://example.com/{i}.mp4")).await.expect("asset");
            jack.ingest([NewDocument::new(format!("doc {i}"))]).await.expect("ingest");
        }
        let log = server.log();
        assert!(testing::lost_creates(&log) > 0, "{kind:?}: some creates lost their answer");
        assert_eq!(
            testing::effective(&log, &http::Method::POST, "/knowledge-stores"),
            4,
            "{kind:?}"
        );
        assert_eq!(testing::effective(&log, &http::Method::POST, "/assets"), 4, "{kind:?}");
        assert_eq!(testing::effective(&log, &http::Method::POST, "/v1/ingest"), 4, "{kind:?}");
    }
}
