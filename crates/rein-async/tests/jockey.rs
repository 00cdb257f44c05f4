//! The async Jockey client with closure transports in paused time: every method's endpoint,
//! page and search streams, the response stream, creates reconciled after a lost answer, and
//! the asset wait presets.

mod support;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use rein_async::{BodyStream, CancelToken, Jockey, StreamingResponse, Transport};
use rein_core::jockey::{
    metadata, AddItem, Asset, AssetMethod, CreateAsset, CreateKnowledgeStore, CreateResponse,
    ItemStatus, ListAssets, ListItems, ListKnowledgeStores, MetadataValue, ResponseEvent,
    ResponseStreamDecoder, SearchHit, SearchKnowledgeStore, UpdateKnowledgeStore,
};
use rein_core::{Body, Error, TransportError, TransportErrorKind, WaitPolicy};
use support::{reply, scripted, Log};

const KEY: &str = "tlk_test_key_0123456789abcdef";
const ASSET: &str = "6890a1f2c3d4e5f6a7b8c9d0";
const STORE: &str = "ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56";
const ITEM: &str = "ksi_019ebd02-91a3-7c44-a1f0-3e5d6c7b8a90";

fn fixture(name: &str) -> String {
    let path = format!("{}/../../fixtures/jockey/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(status: u16, body: &str) -> Result<http::Response<Bytes>, TransportError> {
    Ok(reply(status, &[("content-type", "application/json")], body))
}

fn no_content() -> Result<http::Response<Bytes>, TransportError> {
    Ok(reply(204, &[], ""))
}

fn lost() -> Result<http::Response<Bytes>, TransportError> {
    Err(TransportError::after_send(TransportErrorKind::Reset, "connection reset after sending"))
}

fn jockey(transport: impl Transport + 'static) -> Jockey {
    Jockey::builder(KEY).transport(transport).build().expect("a valid client")
}

/// The JSON body of a request the log recorded.
fn body_json(sent: &support::Sent) -> serde_json::Value {
    let body = sent.body.as_ref().expect("an in-memory body");
    serde_json::from_slice(body).expect("a JSON body")
}

/// The value of `name` in a query string.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// Answers every Jockey endpoint with the fixture a real server would send.
fn the_server(request: &http::Request<Body>) -> Result<http::Response<Bytes>, TransportError> {
    use http::Method;
    let path = request.uri().path().strip_prefix("/v1.3").expect("the version prefix");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (request.method().clone(), segments.as_slice()) {
        (Method::POST, ["assets"]) => json(201, &fixture("assets-create.json")),
        (Method::GET, ["assets"]) => json(200, &fixture("assets-list.json")),
        (Method::GET, ["assets", _]) => json(200, &fixture("assets-get.json")),
        (Method::DELETE, ["assets", _]) => no_content(),
        (Method::PUT | Method::PATCH | Method::DELETE, ["assets", _, "user-metadata"]) => {
            no_content()
        }
        (Method::POST, ["knowledge-stores"]) => json(201, &fixture("stores-create.json")),
        (Method::GET, ["knowledge-stores"]) => json(200, &fixture("stores-list.json")),
        (Method::GET, ["knowledge-stores", _]) => json(200, &fixture("stores-get.json")),
        (Method::PATCH, ["knowledge-stores", _]) => json(200, &fixture("stores-update.json")),
        (Method::DELETE, ["knowledge-stores", _]) => no_content(),
        (Method::POST, ["knowledge-stores", _, "search"]) => {
            json(200, &fixture("stores-search-last.json"))
        }
        (Method::POST, ["knowledge-stores", _, "items"]) => json(202, &fixture("items-add.json")),
        (Method::GET, ["knowledge-stores", _, "items"]) => json(200, &fixture("items-list.json")),
        (Method::GET, ["knowledge-stores", _, "items", _]) => json(200, &fixture("items-get.json")),
        (Method::DELETE, ["knowledge-stores", _, "items", _]) => no_content(),
        (Method::POST, ["responses"]) => {
            let body = String::from_utf8(request.body().as_bytes().unwrap().to_vec()).unwrap();
            if body.contains(r#""stream":true"#) {
                Ok(reply(
                    200,
                    &[("content-type", "text/event-stream")],
                    &fixture("responses-stream.sse"),
                ))
            } else {
                json(200, &fixture("responses-create.json"))
            }
        }
        (method, _) => panic!("no such endpoint: {method} {path}"),
    }
}

/// Polls `stream` for its next item.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::test(start_paused = true)]
async fn every_method_hits_its_endpoint() {
    let dir = std::env::temp_dir().join(format!("rein-async-jockey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let video = dir.join("demo.mp4");
    std::fs::write(&video, b"\x00\x00\x00\x18ftypmp42").unwrap();

    let log = Log::new();
    let jockey = jockey(scripted(&log, |_, req| the_server(req)));
    let direct = jockey.upload_file(&video).await.expect("uploaded");
    assert_eq!(direct.method, Some(AssetMethod::Direct));
    let by_url = jockey.upload_url("https://cdn.example.com/demo.mp4").await.unwrap();
    assert_eq!(by_url.id, ASSET);
    jockey.create_asset(&CreateAsset::url("https://cdn.example.com/b.mp4")).await.unwrap();
    assert_eq!(jockey.get_asset(ASSET).await.unwrap().id, ASSET);
    assert_eq!(jockey.list_assets(&ListAssets::new()).await.unwrap().data.len(), 3);
    assert!(jockey.assets(ListAssets::new()).next().await.unwrap().is_ok());
    jockey.delete_asset(ASSET, true).await.unwrap();
    let user = metadata([("lang", MetadataValue::from("en"))]);
    jockey.replace_asset_metadata(ASSET, user.clone()).await.unwrap();
    jockey.merge_asset_metadata(ASSET, user).await.unwrap();
    jockey.delete_asset_metadata(ASSET).await.unwrap();
    let ready = jockey.wait_for_asset(&direct).await.expect("the fixture is ready");
    assert_eq!(ready.id, ASSET);
    jockey.wait_for_asset_with(ASSET, WaitPolicy::ASSET_URL).await.unwrap();

    let store = jockey.create_store(&CreateKnowledgeStore::new("Super Bowl LVIII")).await.unwrap();
    assert_eq!(store.id, STORE);
    assert_eq!(jockey.get_store(STORE).await.unwrap().id, STORE);
    assert_eq!(jockey.list_stores(&ListKnowledgeStores::new()).await.unwrap().data.len(), 2);
    assert!(jockey.stores(ListKnowledgeStores::new()).next().await.unwrap().is_ok());
    let renamed = UpdateKnowledgeStore::new(STORE).name("Super Bowl LVIII (Chiefs vs 49ers)");
    let updated = jockey.update_store(&renamed).await.unwrap();
    assert_eq!(updated.name.as_deref(), Some("Super Bowl LVIII (Chiefs vs 49ers)"));
    jockey.delete_store(STORE).await.unwrap();
    let search = SearchKnowledgeStore::new(STORE, "sideline");
    assert_eq!(jockey.search(&search).await.unwrap().data.len(), 2);
    assert!(jockey.search_pages(search).next().await.unwrap().is_ok());

    let item = jockey.add_item(&AddItem::new(STORE, ASSET)).await.unwrap();
    assert_eq!(item.status, Some(ItemStatus::Queued));
    assert_eq!(jockey.get_item(STORE, ITEM).await.unwrap().id, ITEM);
    assert!(!jockey.list_items(&ListItems::new(STORE)).await.unwrap().data.is_empty());
    assert!(jockey.items(ListItems::new(STORE)).next().await.unwrap().is_ok());
    jockey.delete_item(STORE, ITEM).await.unwrap();
    let indexed = jockey.wait_for_item(STORE, ITEM).await.expect("the fixture is ready");
    assert_eq!(indexed.status, Some(ItemStatus::Ready));
    jockey.wait_for_item_with(STORE, ITEM, WaitPolicy::KNOWLEDGE_STORE_ITEM).await.unwrap();

    let question = CreateResponse::ask(STORE, "What happens after the fumble?");
    let answer = jockey.create_response(&question).await.unwrap();
    assert_eq!(answer.knowledge_store_id.as_deref(), Some(STORE));
    let mut events = jockey.stream_response(&question).await.unwrap();
    let mut count = 0;
    while let Some(event) = events.next().await {
        event.expect("a readable event");
        count += 1;
    }
    assert_eq!(count, 22);

    let assets = "/v1.3/assets";
    let asset = format!("/v1.3/assets/{ASSET}");
    let user_metadata = format!("{asset}/user-metadata");
    let stores = "/v1.3/knowledge-stores";
    let store = format!("{stores}/{STORE}");
    let items = format!("{store}/items");
    let item = format!("{items}/{ITEM}");
    let expected = [
        format!("POST {assets}"),
        format!("POST {assets}"),
        format!("POST {assets}"),
        format!("GET {asset}"),
        format!("GET {assets}"),
        format!("GET {assets}"),
        format!("DELETE {asset}"),
        format!("PUT {user_metadata}"),
        format!("PATCH {user_metadata}"),
        format!("DELETE {user_metadata}"),
        format!("GET {asset}"),
        format!("GET {asset}"),
        format!("POST {stores}"),
        format!("GET {store}"),
        format!("GET {stores}"),
        format!("GET {stores}"),
        format!("PATCH {store}"),
        format!("DELETE {store}"),
        format!("POST {store}/search"),
        format!("POST {store}/search"),
        format!("POST {items}"),
        format!("GET {item}"),
        format!("GET {items}"),
        format!("GET {items}"),
        format!("DELETE {item}"),
        format!("GET {item}"),
        format!("GET {item}"),
        "POST /v1.3/responses".to_owned(),
        "POST /v1.3/responses".to_owned(),
    ];
    assert_eq!(log.routes(), expected);

    let sent = log.sent();
    assert_eq!(sent[0].body, None, "the direct upload streams its file part");
    assert_eq!(query_param(sent[6].query.as_deref(), "force").as_deref(), Some("true"));
    let asked = |i: usize| body_json(&sent[i])["stream"].clone();
    assert_eq!(asked(27), serde_json::json!(false), "create_response asks for one answer");
    assert_eq!(asked(28), serde_json::json!(true), "stream_response asks for events");
    std::fs::remove_dir_all(&dir).ok();
}

/// Page `n` of a three-page listing of two assets each (a fourth page exists too, to show the
/// walk stops at `total_page`, not at an empty page).
fn asset_page(n: u32) -> String {
    format!(
        r#"{{"data":[{{"_id":"a{n}1","status":"ready"}},{{"_id":"a{n}2","status":"ready"}}],
            "page_info":{{"limit_per_page":2,"page":{n},"total_page":3,"total_results":6}}}}"#
    )
}

#[tokio::test(start_paused = true)]
async fn assets_walks_three_pages_lazily_and_stops_at_total_page() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |_, req| {
        let page = query_param(req.uri().query(), "page").expect("a page number");
        json(200, &asset_page(page.parse().unwrap()))
    }));
    let mut assets = jockey.assets(ListAssets::new().page_limit(2));
    assert_eq!(log.count(), 0, "nothing is fetched before the stream is polled");
    let mut ids = Vec::new();
    for expected_requests in [1, 1, 2, 2, 3, 3] {
        let asset = assets.next().await.expect("an item").expect("a page");
        ids.push(asset.id);
        assert_eq!(log.count(), expected_requests, "a page is fetched when it is reached");
    }
    assert!(assets.next().await.is_none());
    assert!(next(&mut assets).await.is_none(), "it stays ended");
    assert_eq!(ids, ["a11", "a12", "a21", "a22", "a31", "a32"]);
    let pages: Vec<_> =
        log.sent().iter().map(|s| query_param(s.query.as_deref(), "page").unwrap()).collect();
    assert_eq!(pages, ["1", "2", "3"], "page 4 is never asked for");
    assert!(log.sent().iter().all(|s| s.path == "/v1.3/assets"));
}

#[tokio::test(start_paused = true)]
async fn a_page_that_fails_yields_its_error_once_then_the_stream_ends() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |n, _| match n {
        0 => json(200, &asset_page(1)),
        _ => json(404, r#"{"code":"resource_not_found","message":"No such page."}"#),
    }));
    let mut assets = jockey.assets(ListAssets::new());
    assert!(assets.next().await.unwrap().is_ok());
    assert!(assets.next().await.unwrap().is_ok());
    let err = assets.next().await.expect("the error").expect_err("page 2 fails");
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert!(assets.next().await.is_none());
    assert!(assets.next().await.is_none());
    assert_eq!(log.count(), 2, "nothing is fetched after the error");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_page_stream_yields_cancelled_once() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |_, _| json(200, &asset_page(1))));
    let token = CancelToken::new();
    token.cancel();
    let mut stores = jockey.with_cancel(&token).stores(ListKnowledgeStores::new());
    assert_eq!(stores.next().await, Some(Err(Error::Cancelled)));
    assert_eq!(stores.next().await, None);
    assert_eq!(log.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn search_pages_follows_tokens_and_stops_when_none_is_given() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |n, _| match n {
        0 => json(200, &fixture("stores-search.json")),
        1 => json(
            200,
            r#"{"data":[{"asset_type":"image","rank":3,"item_id":"ksi_3"}],"next_page_token":"tok-2"}"#,
        ),
        2 => json(200, &fixture("stores-search-last.json")),
        _ => panic!("no page after the one without a token"),
    }));
    let mut hits = jockey.search_pages(SearchKnowledgeStore::new(STORE, "sideline").page_size(2));
    let mut ranks = Vec::new();
    while let Some(hit) = hits.next().await {
        ranks.push(match hit.expect("a hit") {
            SearchHit::Video(v) => v.rank,
            SearchHit::Image(i) => i.rank,
            SearchHit::Other(other) => other["rank"].as_u64().map(|r| r as u32),
        });
    }
    assert_eq!(ranks, [Some(1), Some(2), Some(3), Some(3), Some(4)]);
    assert!(next(&mut hits).await.is_none());
    let sent = log.sent();
    assert_eq!(sent.len(), 3);
    let tokens: Vec<_> = sent.iter().map(|s| body_json(s)["page_token"].clone()).collect();
    assert_eq!(
        tokens,
        [
            serde_json::Value::Null,
            serde_json::json!("eyJvZmZzZXQiOjIsInEiOiJzaWRlbGluZSJ9"),
            serde_json::json!("tok-2")
        ]
    );
    assert!(sent.iter().all(|s| s.path == format!("/v1.3/knowledge-stores/{STORE}/search")));
}

/// A body that arrives in the chunks given, then ends (or breaks, when `then` is an error).
struct Chunks {
    chunks: Vec<Bytes>,
    then: Option<TransportError>,
}

impl Stream for Chunks {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.chunks.is_empty() {
            return Poll::Ready(self.then.take().map(Err));
        }
        Poll::Ready(Some(Ok(self.chunks.remove(0))))
    }
}

/// A 503 with `Retry-After: 1`, then the fixture's events in 7-byte chunks (cut short by a reset
/// when `break_after` says so). Clones share what was sent.
#[derive(Clone)]
struct EventServer(Arc<Sends>);

struct Sends {
    calls: AtomicUsize,
    sent_at: Mutex<Vec<Duration>>,
    start: tokio::time::Instant,
    break_after: Option<usize>,
}

impl EventServer {
    fn new(break_after: Option<usize>) -> Self {
        EventServer(Arc::new(Sends {
            calls: AtomicUsize::new(0),
            sent_at: Mutex::default(),
            start: tokio::time::Instant::now(),
            break_after,
        }))
    }

    fn calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }

    fn sent_at(&self) -> Vec<Duration> {
        self.0.sent_at.lock().unwrap().clone()
    }
}

#[async_trait]
impl Transport for EventServer {
    async fn send(&self, _: http::Request<Body>) -> Result<http::Response<Bytes>, TransportError> {
        unreachable!("a streamed response is only streamed")
    }

    async fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        assert_eq!(request.uri().path(), "/v1.3/responses");
        self.0.sent_at.lock().unwrap().push(self.0.start.elapsed());
        if self.0.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            let body = r#"{"code":"service_unavailable","message":"Try again shortly."}"#;
            let chunks = Chunks { chunks: vec![Bytes::from(body)], then: None };
            let mut response = http::Response::new(Box::pin(chunks) as BodyStream);
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            response.headers_mut().insert("retry-after", "1".parse().unwrap());
            return Ok(response);
        }
        let sse = Bytes::from(fixture("responses-stream.sse"));
        let mut chunks: Vec<Bytes> =
            (0..sse.len()).step_by(7).map(|i| sse.slice(i..(i + 7).min(sse.len()))).collect();
        let mut then = None;
        if let Some(n) = self.0.break_after {
            chunks.truncate(n);
            then = Some(TransportError::after_send(TransportErrorKind::Reset, "peer reset"));
        }
        let mut response = http::Response::new(Box::pin(Chunks { chunks, then }) as BodyStream);
        response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
        Ok(response)
    }
}

#[tokio::test(start_paused = true)]
async fn stream_response_retries_a_503_then_yields_every_event_of_a_chunked_body() {
    let server = EventServer::new(None);
    let jockey = jockey(server.clone());
    let start = tokio::time::Instant::now();
    let mut stream = jockey
        .stream_response(&CreateResponse::ask(STORE, "What happens after the fumble?"))
        .await
        .expect("the retry opens the stream");
    assert_eq!(start.elapsed(), Duration::from_secs(1), "the 503's Retry-After, before returning");
    assert_eq!(server.sent_at(), [Duration::ZERO, Duration::from_secs(1)]);

    let mut events = Vec::new();
    while let Some(event) = next(&mut stream).await {
        events.push(event);
    }
    let expected: Vec<Result<ResponseEvent, Error>> =
        ResponseStreamDecoder::decode_all(fixture("responses-stream.sse").as_bytes())
            .into_iter()
            .map(|e| e.map_err(|e| Error::Decode(Box::new(e))))
            .collect();
    assert_eq!(events, expected, "chunking changes nothing");
    assert_eq!(events.len(), 22, "every event up to [DONE], none after it");
    let sequence: Vec<_> = events.iter().map(|e| e.as_ref().unwrap().sequence_number()).collect();
    assert_eq!(sequence, (0..22).map(Some).collect::<Vec<_>>());
    let Some(Ok(last @ ResponseEvent::Completed(_))) = events.last() else { panic!("{events:?}") };
    assert_eq!(last.event_type(), "response.completed");
    assert!(stream.next().await.is_none(), "it stays ended");
    assert_eq!(server.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_stream_cut_short_ends_with_one_transport_error() {
    // Cut inside the third event: the first two arrive whole.
    let sse = fixture("responses-stream.sse");
    let cut = sse.find("event: response.output_item.added").unwrap() + 20;
    let server = EventServer::new(Some(cut / 7));
    let jockey = jockey(server.clone());
    let mut stream =
        jockey.stream_response(&CreateResponse::ask(STORE, "What happens?")).await.unwrap();
    let mut ok = 0;
    let err = loop {
        match stream.next().await.expect("an error before the end") {
            Ok(_) => ok += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(ok, 2);
    let Error::Transport(failure) = &err else { panic!("{err:?}") };
    assert_eq!(failure.error.kind, TransportErrorKind::Reset);
    assert!(failure.error.message.contains("the stream broke"), "{err}");
    assert!(stream.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn create_store_after_a_lost_answer_finds_the_store_without_a_second_post() {
    let log = Log::new();
    let token = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&token);
    let jockey = jockey(scripted(&log, move |n, req| match n {
        0 => {
            let body: serde_json::Value =
                serde_json::from_slice(&req.body().as_bytes().unwrap()).unwrap();
            *seen.lock().unwrap() = body["metadata"]["rein_token"].as_str().unwrap().to_owned();
            assert_eq!(body["metadata"]["season"], "2023", "the caller's metadata is kept");
            lost()
        }
        1 => {
            let token = seen.lock().unwrap().clone();
            json(
                200,
                &format!(
                    r#"{{"data":[
                        {{"_id":"ks_other","name":"Super Bowl LVIII","metadata":{{"rein_token":"someone else"}}}},
                        {{"_id":"{STORE}","name":"Super Bowl LVIII","metadata":{{"season":"2023","rein_token":"{token}"}}}}
                    ],"page_info":{{"page":1,"total_page":1}}}}"#
                ),
            )
        }
        _ => panic!("nothing after the lookup"),
    }));
    let request = CreateKnowledgeStore::new("Super Bowl LVIII")
        .metadata(metadata([("season", MetadataValue::from("2023"))]));
    let store = jockey.create_store(&request).await.expect("found");
    assert_eq!(store.id, STORE);
    assert_eq!(log.routes(), ["POST /v1.3/knowledge-stores", "GET /v1.3/knowledge-stores"]);
    let lookup = log.sent()[1].query.clone().unwrap_or_default();
    assert!(lookup.contains("sort_by=created_at"), "the newest stores: {lookup}");
    assert_eq!(token.lock().unwrap().len(), 32);
}

#[tokio::test(start_paused = true)]
async fn add_item_after_a_lost_answer_posts_again_once_when_the_lookup_finds_nothing() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |n, _| match n {
        0 => lost(),
        // Nothing at once, nor once the lost add could no longer be landing: sent again,
        // then checked for a duplicate once more.
        1 | 2 | 4 => {
            json(200, r#"{"data":[],"page_info":{"page":1,"total_page":0,"total_results":0}}"#)
        }
        3 => json(202, &fixture("items-add.json")),
        _ => panic!("one create after the lookups, no more"),
    }));
    let item = jockey.add_item(&AddItem::new(STORE, ASSET)).await.expect("created");
    assert_eq!(item.id, ITEM);
    let items = format!("/v1.3/knowledge-stores/{STORE}/items");
    assert_eq!(
        log.routes(),
        [
            format!("POST {items}"),
            format!("GET {items}"),
            format!("GET {items}"),
            format!("POST {items}"),
            format!("GET {items}"),
        ]
    );
    let sent = log.sent();
    let token = |i: usize| body_json(&sent[i])["metadata"]["rein_token"].clone();
    assert!(token(0).is_string());
    assert_eq!(token(0), token(3), "the create sent again is the same create");
}

fn asset(method: &str) -> Asset {
    serde_json::from_str(&format!(
        r#"{{"_id":"{ASSET}","method":"{method}","status":"processing"}}"#
    ))
    .unwrap()
}

fn processing() -> Result<http::Response<Bytes>, TransportError> {
    json(200, &format!(r#"{{"_id":"{ASSET}","status":"processing"}}"#))
}

#[tokio::test(start_paused = true)]
async fn wait_for_asset_uses_the_direct_preset_for_a_direct_upload() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |n, _| {
        if n < 2 {
            processing()
        } else {
            json(200, &fixture("assets-get.json"))
        }
    }));
    let uploaded: Asset = serde_json::from_str(&fixture("assets-create.json")).unwrap();
    assert_eq!(uploaded.method, Some(AssetMethod::Direct));
    let ready = jockey.wait_for_asset(&uploaded).await.expect("ready");
    assert_eq!(ready.id, ASSET);
    assert_eq!(log.times_ms(), [0, 5000, 10_000], "every 5 s");

    // Never ready: the direct preset gives up at 120 s, the URL preset at 300 s.
    for (method, timeout) in [("direct", 120), ("url", 300)] {
        let log = Log::new();
        let jockey = self::jockey(scripted(&log, |_, _| processing()));
        let start = tokio::time::Instant::now();
        let err = jockey.wait_for_asset(&asset(method)).await.expect_err("timed out");
        let Error::WaitTimedOut(timed_out) = &err else { panic!("{err:?}") };
        assert_eq!(timed_out.timeout, Duration::from_secs(timeout), "{method}");
        assert!(start.elapsed() <= Duration::from_secs(timeout), "{method}");
        let times = log.times_ms();
        assert!(times.windows(2).all(|w| w[1] - w[0] == 5000), "{method}: every 5 s: {times:?}");
        assert_eq!(*times.last().unwrap(), u128::from(timeout - 5) * 1000, "{method}: {times:?}");
        assert_eq!(timed_out.last_status.as_deref(), Some("processing"));
    }
}

#[tokio::test(start_paused = true)]
async fn invalid_requests_send_nothing() {
    let log = Log::new();
    let jockey = jockey(scripted(&log, |_, req| the_server(req)));
    assert!(matches!(jockey.get_asset("").await, Err(Error::Invalid(_))));
    assert!(matches!(
        jockey.create_store(&CreateKnowledgeStore::new("")).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(jockey.add_item(&AddItem::new(STORE, "")).await, Err(Error::Invalid(_))));
    assert!(matches!(jockey.upload_url("not a url").await, Err(Error::Invalid(_))));
    let ask = CreateResponse::ask(STORE, "");
    assert!(matches!(jockey.stream_response(&ask).await, Err(Error::Invalid(_))));
    let mut pages = jockey.items(ListItems::new(STORE).page_limit(51));
    assert!(matches!(pages.next().await, Some(Err(Error::Invalid(_)))));
    assert!(pages.next().await.is_none());
    assert_eq!(log.count(), 0);
}
