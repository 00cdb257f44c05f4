//! The blocking adapter against rein-emulator on loopback: every endpoint, waits that end on
//! ready and on failed, a bad key, and creates whose answer the wire loses. Whole workflows under
//! faults run in process, in virtual time (tests/virtual_time.rs).
//!
//! The emulator runs its clock `SPEED` times faster than real time; the clients' policies are
//! scaled to match (waits, backoff, jack's documented 60 s and 30 s), so emulated minutes pass
//! in real milliseconds and no test sleeps for long.

use std::time::Duration;

use rein_blocking::{Jack, Jockey};
use rein_core::jack::NewDocument;
use rein_core::jockey::{
    AddItem, CreateKnowledgeStore, CreateResponse, ItemStatus, ListAssets, ListItems,
    ListKnowledgeStores, MetadataValue, ResponseEvent, ResponsesShape, SearchKnowledgeStore,
    UpdateKnowledgeStore,
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

fn policy(api: Api) -> rein_core::RetryPolicy {
    testing::scaled_retry_policy(api, SPEED)
}

fn wait(preset: WaitPolicy) -> WaitPolicy {
    testing::scaled_wait(preset, SPEED)
}

fn jack(server: &RunningServer) -> Jack {
    Jack::builder(DEMO_JACK_KEY)
        .base_url(server.jack_base_url())
        .retry_policy(policy(Api::Jack))
        // The client's own 60-per-minute window runs on real time; the emulator's on emulated.
        .rate_limit(None)
        .build()
        .expect("client")
}

fn jockey(server: &RunningServer) -> Jockey {
    Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.jockey_base_url())
        .retry_policy(policy(Api::Jockey))
        .build()
        .expect("client")
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rein-blocking-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn jack_every_endpoint() {
    let server = server(quick_config());
    let jack = jack(&server);

    let accepted = jack
        .ingest([
            NewDocument::new("Refunds take 5 days.").metadata("lang", "en"),
            NewDocument::new("Shipping is free."),
        ])
        .expect("ingest");
    assert_eq!(accepted.document_ids.len(), 2);
    for id in &accepted.document_ids {
        let doc = jack.wait_for_document_with(id, wait(WaitPolicy::JACK_DOCUMENT)).expect("ready");
        assert_eq!(doc.status.as_str(), "ready");
        assert_eq!(&jack.get_document(id).expect("get").id, id);
    }
    let listed = jack.list_documents().expect("list");
    assert!(accepted.document_ids.iter().all(|id| listed.iter().any(|d| &d.id == id)));

    let answer = jack.query("How long do refunds take?").expect("query");
    assert!(!answer.answer.is_empty());
    let usage = jack.usage().expect("usage");
    assert_eq!(usage.rate_limit_rpm, Some(60));

    let txt = temp_file("notes.txt", b"Plain text notes about refunds.");
    let file = jack.ingest_file(&txt).expect("file ingest");
    assert!(file.document_id.is_some(), "{file:?}");

    // Refused before sending: nothing reaches the server.
    let before = server.log().len();
    let xlsx = temp_file("sheet.xlsx", b"not really a spreadsheet");
    let err = jack.ingest_file(&xlsx).expect_err("415 before sending");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    let err = jack.query("   ").expect_err("empty question");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(server.log().len(), before, "invalid requests sent nothing");

    let report = jack
        .ingest_many((0..120).map(|i| NewDocument::new(format!("document {i}"))))
        .expect("valid");
    assert!(report.all_accepted());
    assert_eq!(report.batches.len(), 3);
    assert!(report.document_ids().iter().all(Option::is_some));

    let id = &accepted.document_ids[0];
    jack.delete_document(id).expect("delete");
    let err = jack.get_document(id).expect_err("gone");
    assert_eq!(err.api_error().map(|e| e.kind), Some(ErrorKind::NotFound));
    assert!(err.hint().is_some());
}

#[test]
fn jack_waits_end_on_failed() {
    let server = server(Config { failure_rate: 1.0, ..quick_config() });
    let jack = jack(&server);
    let accepted = jack.ingest([NewDocument::new("doomed")]).expect("ingest");
    let err = jack
        .wait_for_document_with(&accepted.document_ids[0], wait(WaitPolicy::JACK_DOCUMENT))
        .expect_err("failed");
    match err {
        Error::ResourceFailed(f) => {
            assert_eq!(f.status, "failed");
            assert!(f.message.is_some(), "{f:?}");
        }
        other => panic!("expected ResourceFailed, got {other}"),
    }
}

#[test]
fn jack_bad_key_is_401_with_a_hint_and_no_key_in_the_error() {
    let server = server(quick_config());
    let jack = Jack::builder("jack_wrong_key_000000000000000000000000000000000000000")
        .base_url(server.jack_base_url())
        .build()
        .expect("client");
    let err = jack.usage().expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.hint().map(|h| h.fix), Some("Check your Authorization header"));
    assert!(!format!("{err} {err:?} {jack:?}").contains("jack_wrong_key"));
}

#[test]
fn jockey_every_endpoint() {
    let server = server(quick_config());
    let jockey = jockey(&server);

    // Assets.
    let video = temp_file("clip.mp4", &[0u8; 4096]);
    let asset = jockey.upload_file(&video).expect("upload");
    let asset_id = asset.id.clone();
    let ready =
        jockey.wait_for_asset_with(&asset_id, wait(WaitPolicy::ASSET_DIRECT)).expect("ready");
    assert_eq!(ready.status.as_ref().map(|s| s.as_str()), Some("ready"));
    let by_url = jockey.upload_url("https://example.com/video.mp4").expect("url upload");
    jockey.wait_for_asset_with(&by_url.id, wait(WaitPolicy::ASSET_URL)).expect("ready");
    assert_eq!(jockey.get_asset(&asset_id).expect("get").id, asset_id);
    let page = jockey.list_assets(&ListAssets::new().page_limit(1)).expect("list");
    assert_eq!(page.data.len(), 1);
    let all: Vec<_> =
        jockey.assets(ListAssets::new().page_limit(1)).collect::<Result<_, _>>().expect("pages");
    assert_eq!(all.len(), 2, "both assets, one page at a time");
    let meta = rein_core::jockey::metadata([("topic", MetadataValue::Text("demo".into()))]);
    jockey.replace_asset_metadata(&asset_id, meta.clone()).expect("put");
    jockey.merge_asset_metadata(&asset_id, meta).expect("patch");
    jockey.delete_asset_metadata(&asset_id).expect("delete metadata");

    // Stores.
    let store = jockey
        .create_store(&CreateKnowledgeStore::new("Demo store").description("d"))
        .expect("store");
    let store_id = store.id.clone();
    assert_eq!(jockey.get_store(&store_id).expect("get").name.as_deref(), Some("Demo store"));
    assert!(!jockey.list_stores(&ListKnowledgeStores::new()).expect("list").data.is_empty());
    assert_eq!(jockey.stores(ListKnowledgeStores::new().page_limit(1)).count(), 1);
    let updated =
        jockey.update_store(&UpdateKnowledgeStore::new(&store_id).name("Renamed")).expect("update");
    assert_eq!(updated.name.as_deref(), Some("Renamed"));

    // Items.
    let item = jockey.add_item(&AddItem::new(&store_id, &asset_id)).expect("add");
    let item_id = item.id.clone();
    let indexed = jockey
        .wait_for_item_with(&store_id, &item_id, wait(WaitPolicy::KNOWLEDGE_STORE_ITEM))
        .expect("ready");
    assert_eq!(indexed.status, Some(ItemStatus::Ready));
    assert_eq!(jockey.get_item(&store_id, &item_id).expect("get").id, item_id);
    let ready_items =
        jockey.list_items(&ListItems::new(&store_id).status(ItemStatus::Ready)).expect("list");
    assert_eq!(ready_items.data.len(), 1);
    assert_eq!(jockey.items(ListItems::new(&store_id)).count(), 1);

    // Search and responses.
    let hits = jockey.search(&SearchKnowledgeStore::new(&store_id, "demo")).expect("search");
    let all_hits = jockey
        .search_pages(SearchKnowledgeStore::new(&store_id, "demo"))
        .collect::<Result<Vec<_>, _>>()
        .expect("pages");
    assert!(all_hits.len() >= hits.data.len());
    let answer = jockey
        .create_response(&CreateResponse::ask(&store_id, "What is in the video?"))
        .expect("response");
    assert!(!answer.output_text().is_empty());
    let top = CreateResponse::ask(&store_id, "And then?").shape(ResponsesShape::TopLevel);
    assert!(jockey.create_response(&top).is_ok());
    let events: Vec<ResponseEvent> = jockey
        .stream_response(&CreateResponse::ask(&store_id, "Stream it"))
        .expect("stream")
        .collect::<Result<_, _>>()
        .expect("events");
    assert!(events.iter().any(|e| e.event_type() == "response.completed"), "{events:?}");
    assert!(events.iter().any(|e| e.event_type() == "response.output_text.delta"));

    // Deletes.
    jockey.delete_item(&store_id, &item_id).expect("delete item");
    jockey.delete_store(&store_id).expect("delete store");
    jockey.delete_asset(&asset_id, true).expect("delete asset");
    assert_eq!(jockey.get_asset(&asset_id).expect_err("gone").status(), Some(404));
}

#[test]
fn jockey_waits_end_on_failed() {
    let server = server(Config { failure_rate: 1.0, ..quick_config() });
    let jockey = jockey(&server);
    let asset = jockey.upload_url("https://example.com/broken.mp4").expect("upload");
    let err =
        jockey.wait_for_asset_with(&asset.id, wait(WaitPolicy::ASSET_URL)).expect_err("failed");
    assert!(matches!(err, Error::ResourceFailed(_)), "{err}");
}

fn creates(log: &[rein_emulator::LogEntry], method: &http::Method, path_suffix: &str) -> usize {
    testing::effective(log, method, path_suffix)
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
// real TCP resets and the truncated body a real short read, so ureq's own errors must say that
// the create may have been carried out.
#[test]
fn creates_whose_answer_is_lost_are_found_not_repeated() {
    for kind in [
        FaultKind::ResetAfterProcessing,
        FaultKind::TruncatedBody,
        FaultKind::ResetBeforeProcessing,
    ] {
        let server =
            server(Config { faults: FaultPlan::only(kind, 0.5), seed: 3, ..quick_config() });
        let (jockey, jack) = scaled_clients(&server);
        for i in 0..4 {
            jockey.create_store(&CreateKnowledgeStore::new(format!("store {i}"))).expect("store");
            jockey.upload_url(&format!("https://example.com/{i}.mp4")).expect("asset");
            jack.ingest([NewDocument::new(format!("doc {i}"))]).expect("ingest");
        }
        let log = server.log();
        let lost =
            log.iter().filter(|e| e.method == http::Method::POST && e.fault == Some(kind)).count();
        assert!(lost > 0, "{kind:?}: some creates lost their answer");
        assert_eq!(creates(&log, &http::Method::POST, "/knowledge-stores"), 4, "{kind:?}");
        assert_eq!(creates(&log, &http::Method::POST, "/assets"), 4, "{kind:?}");
        assert_eq!(creates(&log, &http::Method::POST, "/v1/ingest"), 4, "{kind:?}");
        eprintln!("{kind:?}: {lost} creates lost their answer, none repeated");
    }
}
