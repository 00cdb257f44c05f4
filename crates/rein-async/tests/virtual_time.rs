//! The async adapter against the emulator's model in process: no sockets, and one `ManualClock`
//! shared by the emulator and the client (as its clock and its sleeper), so every wait moves the
//! clock instead of sleeping. Ten-minute item waits, jack's 60 s `Retry-After` and its 30 s wait
//! after a 500 run in milliseconds, and a seeded run repeats exactly.

use std::future::ready;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use rein_async::{ClientBuilder, Jack, Jockey};
use rein_core::fleet::Documents;
use rein_core::jack::{DocumentId, NewDocument};
use rein_core::jockey::{AddItem, CreateKnowledgeStore, CreateResponse, ItemStatus};
use rein_core::{Fleet, FleetWait, ManualClock, Moment, Outcome, WaitPolicy};
use rein_emulator::{testing, Config, FaultKind, FaultPlan, InProcess, LogEntry, Span, Timing};
use rein_emulator::{DEMO_JACK_KEY, DEMO_JOCKEY_KEY};

/// The seed of every client's random draws (jitter, create tokens).
const CLIENT_SEED: u64 = 7;

/// The emulator's model on a manual clock, and clients that talk to it through a closure.
struct Emulated {
    emulator: Arc<InProcess>,
}

impl Emulated {
    fn new(config: Config) -> Self {
        Emulated { emulator: Arc::new(InProcess::new(config, ManualClock::new())) }
    }

    fn clock(&self) -> ManualClock {
        self.emulator.clock().clone()
    }

    /// Virtual time since the start.
    fn elapsed(&self) -> Duration {
        self.clock().now().moment.since_origin()
    }

    fn log(&self) -> Vec<LogEntry> {
        self.emulator.log()
    }

    fn jack(&self) -> ClientBuilder<Jack> {
        let emulator = Arc::clone(&self.emulator);
        Jack::builder(DEMO_JACK_KEY)
            .base_url("https://emulator/v1")
            .transport(move |request| ready(emulator.exchange(request)))
            .clock(self.clock())
            .sleeper(self.clock())
            .seed(CLIENT_SEED)
    }

    fn jockey(&self) -> ClientBuilder<Jockey> {
        let emulator = Arc::clone(&self.emulator);
        Jockey::builder(DEMO_JOCKEY_KEY)
            .base_url("https://emulator/v1.3")
            .transport(move |request| ready(emulator.exchange(request)))
            .clock(self.clock())
            .sleeper(self.clock())
            .seed(CLIENT_SEED)
    }
}

/// Every failure is an injected fault and no 429's `Retry-After` is undercut. The clocks are one,
/// so the slack only absorbs rounding.
fn check_log(log: &[LogEntry]) {
    assert!(log.iter().any(|e| e.fault.is_some()), "faults were injected");
    testing::assert_retries_follow_the_policy(log, Duration::from_millis(1));
}

fn creates(log: &[LogEntry], path_suffix: &str) -> usize {
    testing::effective(log, &Method::POST, path_suffix)
}

#[tokio::test]
async fn a_ten_minute_item_wait_polls_every_10_s_until_ready() {
    let indexing = Duration::from_secs(540);
    let timing = Timing {
        asset_url: Span::fixed(Duration::from_secs(30)),
        item: Span::fixed(indexing),
        ..Timing::default()
    };
    let emulated = Emulated::new(Config { timing, ..Config::default() });
    let jockey = emulated.jockey().build().expect("client");

    let store = jockey.create_store(&CreateKnowledgeStore::new("Long")).await.expect("store");
    let store_id = store.id;
    let asset = jockey.upload_url("https://example.com/long.mp4").await.expect("asset");
    jockey.wait_for_asset(&asset).await.expect("asset ready");
    let item = jockey.add_item(&AddItem::new(&store_id, asset.id)).await.expect("item");
    let item_id = item.id;
    let added = emulated.clock().now().moment;

    let ready =
        jockey.wait_for_item(&store_id, &item_id).await.expect("ready within the 600 s preset");
    assert_eq!(ready.status, Some(ItemStatus::Ready));

    let waited = emulated.clock().now().moment.saturating_since(added);
    assert!(waited >= indexing, "ready after {waited:?} of virtual time");
    let polls: Vec<Moment> = emulated
        .log()
        .into_iter()
        .filter(|e| e.method == Method::GET && e.path.ends_with(item_id.as_str()))
        .map(|e| e.at)
        .collect();
    assert!(polls.last().expect("polls").saturating_since(added) >= indexing);
    for pair in polls.windows(2) {
        assert_eq!(pair[1].saturating_since(pair[0]), Duration::from_secs(10), "{polls:?}");
    }
}

#[tokio::test]
async fn jacks_61st_request_in_a_minute_is_retried_after_its_60_s_retry_after() {
    let emulated = Emulated::new(Config::default());
    // The client's own window would hold the 61st back; off, the server's 429 is met.
    let jack = emulated.jack().rate_limit(None).build().expect("client");

    for _ in 0..61 {
        jack.usage().await.expect("usage, retried after the 429 if need be");
    }

    let log = emulated.log();
    let limited: Vec<&LogEntry> = log.iter().filter(|e| e.status == 429).collect();
    assert_eq!(limited.len(), 1, "{limited:?}");
    let (i, refused) = log.iter().enumerate().find(|(_, e)| e.status == 429).expect("a 429");
    assert_eq!(i, 60, "the 61st request is refused");
    assert_eq!(refused.at, Moment::ZERO);
    assert_eq!(refused.retry_after, Some(Duration::from_secs(60)));
    let retry = &log[i + 1];
    assert_eq!(retry.status, 200);
    assert!(retry.at.saturating_since(refused.at) >= Duration::from_secs(60), "{retry:?}");
    assert_eq!(log.len(), 62);
    assert!(emulated.elapsed() >= Duration::from_secs(60));
}

#[tokio::test]
async fn jack_waits_30_s_before_retrying_a_500() {
    // Under this seed the first request meets a 500 and the second does not.
    let faults = FaultPlan::only(FaultKind::InternalError, 0.5);
    let emulated = Emulated::new(Config { faults, seed: 2, ..Config::default() });
    let jack = emulated.jack().build().expect("client");

    jack.usage().await.expect("usage after the retry");

    let log = emulated.log();
    assert_eq!(log[0].status, 500, "{:?}", log[0]);
    assert_eq!(log[0].fault, Some(FaultKind::InternalError));
    let retry = &log[1];
    assert!(retry.at.saturating_since(log[0].at) >= Duration::from_secs(30), "{retry:?}");
    assert_eq!(log.last().map(|e| e.status), Some(200));
    assert!(emulated.elapsed() >= Duration::from_secs(30));
}

/// Ingests 60 documents, waits for each, and asks a question, under `faults`; returns the log.
async fn jack_workflow(seed: u64, faults: FaultPlan) -> Vec<LogEntry> {
    let emulated = Emulated::new(Config { faults, seed, ..Config::default() });
    let jack = emulated.jack().build().expect("client");

    let report = jack
        .ingest_many((0..60).map(|i| NewDocument::new(format!("faulty document {i}"))))
        .await
        .expect("valid");
    assert!(report.all_accepted(), "{:?}", report.failures().collect::<Vec<_>>());
    let ids: Vec<DocumentId> =
        report.document_ids().into_iter().map(|id| id.expect("every document has an id")).collect();
    // Each jack 429 asks for 60 s; a few of them in one wait outlast the preset's 120 s.
    let wait = WaitPolicy::JACK_DOCUMENT.timeout(Duration::from_secs(600));
    for id in &ids {
        jack.wait_for_document_with(id, wait).await.expect("ready");
    }
    jack.query("anything?").await.expect("query");

    let log = emulated.log();
    assert_eq!(creates(&log, "/v1/ingest"), 2, "two batches, each created once");
    let documents = jack.list_documents().await.expect("list");
    assert_eq!(documents.len(), 60, "every document exactly once");
    eprintln!("seed {seed}: {} requests over {:?} of virtual time", log.len(), emulated.elapsed());
    log
}

#[tokio::test]
async fn a_jack_workflow_completes_under_faults_and_creates_nothing_twice() {
    for seed in [11, 12, 13] {
        check_log(&jack_workflow(seed, FaultPlan::spread(0.3)).await);
    }
}

#[tokio::test]
async fn a_seeded_run_repeats_exactly() {
    let essentials = |log: Vec<LogEntry>| -> Vec<_> {
        log.into_iter().map(|e| (e.method, e.path, e.status, e.at, e.fault)).collect()
    };
    let first = essentials(jack_workflow(11, FaultPlan::spread(0.3)).await);
    assert!(first.iter().any(|e| e.4.is_some()), "faults were injected");
    assert_eq!(first, essentials(jack_workflow(11, FaultPlan::spread(0.3)).await));
}

#[tokio::test]
async fn a_jockey_workflow_completes_under_faults_and_creates_nothing_twice() {
    for seed in [5, 6, 7] {
        // Items take the references' 1-10 minutes, kept inside the 600 s preset.
        let timing = Timing { item: Span::secs(60, 300), ..Timing::default() };
        let config = Config { faults: FaultPlan::spread(0.3), seed, timing, ..Config::default() };
        let emulated = Emulated::new(config);
        let jockey = emulated.jockey().build().expect("client");

        let store = jockey.create_store(&CreateKnowledgeStore::new("Faulty")).await.expect("store");
        let store_id = store.id;
        let mut items = Vec::new();
        for i in 0..4 {
            let url = format!("https://example.com/{i}.mp4");
            let asset = jockey.upload_url(&url).await.expect("asset");
            jockey.wait_for_asset(&asset).await.expect("asset ready");
            let add = AddItem::new(&store_id, asset.id);
            items.push(jockey.add_item(&add).await.expect("item").id);
        }
        for item in &items {
            jockey.wait_for_item(&store_id, item).await.expect("item ready");
        }
        let ask = CreateResponse::ask(&store_id, "Summarise");
        jockey.create_response(&ask).await.expect("answer");

        let log = emulated.log();
        check_log(&log);
        assert_eq!(creates(&log, "/knowledge-stores"), 1);
        assert_eq!(creates(&log, "/assets"), 4);
        assert_eq!(creates(&log, "/items"), 4);
        eprintln!(
            "seed {seed}: {} requests over {:?} of virtual time",
            log.len(),
            emulated.elapsed()
        );
    }
}

#[tokio::test]
async fn creates_whose_answer_is_lost_are_found_not_repeated() {
    for kind in [
        FaultKind::ResetAfterProcessing,
        FaultKind::TruncatedBody,
        FaultKind::ResetBeforeProcessing,
    ] {
        let config = Config { faults: FaultPlan::only(kind, 0.5), seed: 3, ..Config::default() };
        let emulated = Emulated::new(config);
        let jockey = emulated.jockey().build().expect("client");
        let jack = emulated.jack().build().expect("client");
        for i in 0..4 {
            let store = CreateKnowledgeStore::new(format!("store {i}"));
            jockey.create_store(&store).await.expect("store");
            jockey.upload_url(&format!("https://example.com/{i}.mp4")).await.expect("asset");
            jack.ingest([NewDocument::new(format!("doc {i}"))]).await.expect("ingest");
        }
        let log = emulated.log();
        let lost = log.iter().filter(|e| e.method == Method::POST && e.fault == Some(kind)).count();
        assert!(lost > 0, "{kind:?}: some creates lost their answer");
        assert_eq!(creates(&log, "/knowledge-stores"), 4, "{kind:?}");
        assert_eq!(creates(&log, "/assets"), 4, "{kind:?}");
        assert_eq!(creates(&log, "/v1/ingest"), 4, "{kind:?}");
    }
}

/// 200 documents, some failing, under faults: `wait_all` follows all of them from the documents
/// list, and every id ends once, as the model says.
#[tokio::test]
async fn wait_all_follows_every_document_from_the_list_under_faults() {
    let config =
        Config { faults: FaultPlan::spread(0.2), failure_rate: 0.1, seed: 21, ..Config::default() };
    let emulated = Emulated::new(config);
    let jack = emulated.jack().build().expect("client");
    let report = jack
        .ingest_many((0..200).map(|i| NewDocument::new(format!("document {i}"))))
        .await
        .expect("valid");
    let ids: Vec<DocumentId> = report.document_ids().into_iter().flatten().collect();
    assert_eq!(ids.len(), 200);
    let before = emulated.log().len();
    let fleet =
        Fleet::documents(&ids).policy(WaitPolicy::JACK_DOCUMENT.timeout(Duration::from_secs(600)));
    let ends = jack.wait_all(fleet).await.expect("not cancelled");

    assert_eq!(ends.finished.len(), 200, "every id ends");
    let ended: std::collections::BTreeSet<&DocumentId> =
        ends.finished.iter().map(|f| &f.id).collect();
    assert_eq!(ended.len(), 200, "each once");
    let truth = jack.list_documents().await.expect("list");
    for f in &ends.finished {
        let document = truth.iter().find(|d| d.id == f.id).expect("a document");
        match f.outcome() {
            Outcome::Ready => assert_eq!(document.status.as_str(), "ready"),
            Outcome::Failed => assert_eq!(document.status.as_str(), "failed"),
            other => panic!("{}: {other:?}", f.id),
        }
    }
    assert!(ends.count(Outcome::Failed) > 0 && ends.count(Outcome::Ready) > 0);
    // One list a sweep, not a GET per document per poll.
    let polls = emulated.log().len() - before;
    assert!(polls < 100, "{polls} requests to follow 200 documents");
}

/// `wait_each` hands out each end as it comes; a checkpoint taken between two resumes, in a
/// fresh fleet, to the ids still to come: none lost, none twice.
#[tokio::test]
async fn a_fleet_checkpoint_resumes_with_nothing_lost_or_repeated() {
    let config = Config { failure_rate: 0.1, seed: 22, ..Config::default() };
    let emulated = Emulated::new(config);
    let jack = emulated.jack().build().expect("client");
    let report = jack
        .ingest_many((0..120).map(|i| NewDocument::new(format!("document {i}"))))
        .await
        .expect("valid");
    let ids: Vec<DocumentId> = report.document_ids().into_iter().flatten().collect();
    let mut ends = jack.wait_each(Fleet::documents(&ids));
    let mut seen = Vec::new();
    while seen.len() < 40 {
        seen.push(ends.next().await.expect("an end").expect("not cancelled").id);
    }
    let checkpoint = ends.machine().map(FleetWait::checkpoint).expect("between two ends");
    drop(ends);
    let saved = serde_json::to_string(&checkpoint).expect("serialise");
    let resumed: Fleet<Documents> = serde_json::from_str(&saved).expect("deserialise");
    let rest = jack.wait_all(resumed).await.expect("not cancelled");
    seen.extend(rest.finished.into_iter().map(|f| f.id));
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no id twice");
    assert_eq!(sorted.len(), ids.len(), "no id lost");
}

/// A Jockey server whose streamed answer never ends: a head at once, then only SSE keepalive
/// comments, one every `every` of tokio's (paused) clock, for a virtual day.
struct Trickle {
    every: Duration,
}

struct KeepAlives {
    nap: std::pin::Pin<Box<tokio::time::Sleep>>,
    every: Duration,
    over: tokio::time::Instant,
}

impl futures_core::Stream for KeepAlives {
    type Item = Result<bytes::Bytes, rein_core::TransportError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if tokio::time::Instant::now() >= self.over {
            return std::task::Poll::Ready(None);
        }
        std::task::ready!(std::future::Future::poll(self.nap.as_mut(), cx));
        let next = self.nap.deadline() + self.every;
        self.nap.as_mut().reset(next);
        std::task::Poll::Ready(Some(Ok(bytes::Bytes::from_static(b": keepalive\n\n"))))
    }
}

#[async_trait::async_trait]
impl rein_async::Transport for Trickle {
    async fn send(
        &self,
        _: http::Request<rein_core::Body>,
    ) -> Result<http::Response<bytes::Bytes>, rein_core::TransportError> {
        unreachable!("a streamed response is only streamed")
    }

    async fn send_streaming(
        &self,
        request: http::Request<rein_core::Body>,
    ) -> Result<rein_async::StreamingResponse, rein_core::TransportError> {
        assert_eq!(request.uri().path(), "/v1.3/responses");
        let body = KeepAlives {
            nap: Box::pin(tokio::time::sleep(self.every)),
            every: self.every,
            over: tokio::time::Instant::now() + Duration::from_secs(24 * 3600),
        };
        let mut response = http::Response::new(Box::pin(body) as rein_async::BodyStream);
        response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
        Ok(response)
    }
}

/// Streams an answer from a server that trickles keepalives every 29 s, under a 30 s idle
/// timeout, for `jockey` (which `handle` may give a time budget); returns the error the stream
/// ended with and when. Virtual time here is tokio's paused clock, which the trickle and the
/// driver's timers share: the driver's read is cut at the deadline, not at the next keepalive.
async fn trickled(
    jockey: impl FnOnce(ClientBuilder<Jockey>) -> ClientBuilder<Jockey>,
    handle: impl FnOnce(&Jockey) -> Jockey,
) -> (rein_core::Error, Duration) {
    let builder = Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url("https://emulator/v1.3")
        .transport(Trickle { every: Duration::from_secs(29) })
        .stream_idle_timeout(Duration::from_secs(30));
    let jockey = handle(&jockey(builder).build().expect("client"));
    let ask = CreateResponse::ask("ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56", "Why?");
    let start = tokio::time::Instant::now();
    let mut events = jockey.stream_response(&ask).await.expect("opens");
    let error = events.next().await.expect("an item").expect_err("the deadline, not an event");
    let ended = start.elapsed();
    assert!(events.next().await.is_none(), "the stream is over");
    let rein_core::Error::Deadline(_) = &error else { panic!("a deadline error: {error:?}") };
    assert!(error.to_string().contains("the response stream's deadline passed"), "{error}");
    (error, ended)
}

/// Within a timer tick of `at`.
fn at(ended: Duration, at: Duration) -> bool {
    ended >= at && ended - at < Duration::from_millis(5)
}

#[tokio::test(start_paused = true)]
async fn a_stream_of_keepalives_under_the_idle_timeout_ends_at_the_calls_deadline() {
    let budget = |jockey: &Jockey| jockey.with_timeout(Duration::from_secs(90));
    let (error, ended) = trickled(|b| b, budget).await;
    assert!(at(ended, Duration::from_secs(90)), "{ended:?}: {error}");
}

#[tokio::test(start_paused = true)]
async fn a_stream_of_keepalives_ends_at_the_configured_stream_timeout() {
    let whole = |builder: ClientBuilder<Jockey>| builder.stream_timeout(Duration::from_secs(200));
    let (error, ended) = trickled(whole, Jockey::clone).await;
    assert!(at(ended, Duration::from_secs(200)), "{ended:?}: {error}");
    // A handle's budget applies only when it is the shorter.
    let longer = |jockey: &Jockey| jockey.with_timeout(Duration::from_secs(3600));
    let (error, ended) = trickled(whole, longer).await;
    assert!(at(ended, Duration::from_secs(200)), "{ended:?}: {error}");
}
