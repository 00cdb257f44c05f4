//! `rein demo`: both APIs' whole workflows against rein-emulator started in-process, with faults
//! on and time running fast, narrating what rein handled, then a summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rein::blocking::{Jack, Jockey};
use rein::jack::NewDocument;
use rein::jockey::ingestion::IngestionConfig;
use rein::jockey::{AddItem, CreateKnowledgeStore, CreateResponse, ResponseEvent};
use rein::{Fleet, Outcome};
use rein_emulator::{
    spawn, Clock, Config, FaultPlan, ServerConfig, DEMO_JACK_KEY, DEMO_JOCKEY_KEY,
};

use crate::narrate::{secs, Narrator};
use crate::CliError;

/// With `--json`, the story is not told: the summary is the one JSON document.
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `println!`, unless the output is JSON.
macro_rules! say {
    ($($arg:tt)*) => {
        if !JSON.load(std::sync::atomic::Ordering::Relaxed) {
            println!($($arg)*);
        }
    };
}

/// How the demo runs.
#[derive(Clone, Debug)]
pub(crate) struct DemoOptions {
    /// The emulator's speed: emulated seconds per real second.
    pub(crate) speed: f64,
    /// The share of requests that meet a fault.
    pub(crate) faults: f64,
    /// The emulator's seed.
    pub(crate) seed: u64,
    /// Generated jack documents, on top of the bundled ones.
    pub(crate) documents: usize,
    /// No narration, only the summary.
    pub(crate) quiet: bool,
    /// The summary as one JSON document, and nothing else on stdout.
    pub(crate) json: bool,
}

/// What the demo did.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    operations: u64,
    failed: Vec<String>,
    lost: usize,
}

impl Summary {
    /// Runs one client call, noting its end; a typed error is told and kept, never lost.
    fn run<T>(&mut self, what: &str, result: Result<T, rein::Error>) -> Option<T> {
        self.operations += 1;
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                say!("  {what} failed: {error}");
                if error.may_have_succeeded() {
                    say!("  (it may have gone through: rein did not send it twice)");
                }
                self.failed.push(format!("{what}: {}", error.user_message()));
                None
            }
        }
    }
}

/// Runs the demo; the summary's lost count is what the exit code reports.
pub(crate) fn run(options: &DemoOptions) -> Result<usize, CliError> {
    let started = Instant::now();
    JSON.store(options.json, std::sync::atomic::Ordering::Relaxed);
    let config = Config {
        seed: options.seed,
        faults: FaultPlan::spread(options.faults),
        failure_rate: 0.0,
        ..Config::default()
    };
    let server = spawn(ServerConfig {
        clock: Clock::scaled(options.speed),
        ..ServerConfig::for_tests(config)
    })
    .map_err(CliError::Emulator)?;
    say!(
        "rein demo: Jockey and jack emulated at {} (time x{}, faults on {:.0}% of requests)",
        server.url(),
        options.speed,
        options.faults * 100.0
    );
    let narrator = Narrator::new(options.quiet || options.json);
    let jockey = Jockey::builder(DEMO_JOCKEY_KEY)
        .base_url(server.url())
        .time_scale(server.time_scale())
        .on_event(narrator.hook())
        .build()?;
    let jack = Jack::builder(DEMO_JACK_KEY)
        .base_url(server.url())
        .time_scale(server.time_scale())
        .on_event(narrator.hook())
        .build()?;

    let mut summary = Summary::default();
    jockey_workflow(&jockey, &mut summary)?;
    jack_workflow(&jack, options.documents, &mut summary);

    let real = started.elapsed();
    let requests = rein_emulator::testing::requests(&server.log()).count();
    let counts = narrator.counts();
    let retries: u64 = counts.retries.values().sum();
    if options.json {
        let shown = serde_json::json!({
            "operations": summary.operations,
            "requests": requests,
            "retries": retries,
            "retries_by_reason": counts.retries,
            "rate_limit_pauses": counts.pauses,
            "lost_answers_found": counts.reconciled,
            "failed_typed": summary.failed,
            "results_lost": summary.lost,
            "emulated_s": real.mul_f64(options.speed).as_secs_f64(),
            "real_s": real.as_secs_f64(),
        });
        println!("{shown}");
    } else {
        println!();
        println!("summary");
        println!("  operations          {}", summary.operations);
        println!("  requests            {requests}");
        let by_reason: Vec<String> =
            counts.retries.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        let by_reason = if by_reason.is_empty() { "none".to_owned() } else { by_reason.join(", ") };
        println!("  retries             {retries} ({by_reason})");
        println!("  rate-limit pauses   {}", counts.pauses);
        println!("  lost answers found  {}", counts.reconciled);
        println!("  failed, typed       {}", summary.failed.len());
        println!("  results lost        {}", summary.lost);
        println!(
            "  time                {} emulated, {} real",
            secs(real.mul_f64(options.speed)),
            secs(real)
        );
    }
    server.shutdown();
    Ok(summary.lost)
}

fn jockey_workflow(jockey: &Jockey, summary: &mut Summary) -> Result<(), CliError> {
    say!("\nJockey: two videos into a knowledge store, then a question");
    let clip = demo_clip()?;
    let mut assets = Vec::new();
    if let Some(asset) = summary.run("upload the clip", jockey.upload_file(&clip)) {
        say!("  uploaded {} directly: asset {}", clip.display(), asset.id);
        assets.push(asset.id);
    }
    let url = "https://example.com/rein-demo/keynote.mp4";
    if let Some(asset) = summary.run("upload by URL", jockey.upload_url(url)) {
        say!("  uploaded {url} by URL: asset {}", asset.id);
        assets.push(asset.id);
    }
    let expected = assets.len();
    let Some(ready) = summary.run("wait for the assets", jockey.wait_all(Fleet::assets(assets)))
    else {
        return Ok(());
    };
    summary.lost += expected.saturating_sub(ready.finished.len());
    say!(
        "  assets: {} ready, {} failed",
        ready.count(Outcome::Ready),
        ready.count(Outcome::Failed)
    );

    let store = CreateKnowledgeStore::new("rein demo").ingestion_config(
        IngestionConfig::description("Summarise what each video shows, for search"),
    );
    let Some(store) = summary.run("create the store", jockey.create_store(&store)) else {
        return Ok(());
    };
    say!("  created knowledge store {}", store.id);
    let mut items = Vec::new();
    for (asset, _) in ready.ready() {
        let add = AddItem::new(store.id.clone(), asset.clone());
        if let Some(item) = summary.run("add an item", jockey.add_item(&add)) {
            items.push(item.id);
        }
    }
    let expected = items.len();
    let fleet = Fleet::items(store.id.clone(), items);
    if let Some(indexed) = summary.run("wait for the items", jockey.wait_all(fleet)) {
        summary.lost += expected.saturating_sub(indexed.finished.len());
        say!(
            "  items: {} indexed, {} failed",
            indexed.count(Outcome::Ready),
            indexed.count(Outcome::Failed)
        );
    }

    let question = "What happens in these videos?";
    say!("  asking: {question}");
    let ask = CreateResponse::ask(store.id.clone(), question);
    if let Some(events) = summary.run("ask", jockey.stream_response(&ask)) {
        let mut answer = String::new();
        for event in events {
            match summary.run("read the answer", event) {
                Some(ResponseEvent::OutputTextDelta(delta)) => answer.push_str(&delta.delta),
                Some(_) => {}
                None => break,
            }
        }
        say!("  answer (streamed): {}", answer.trim());
    }
    Ok(())
}

fn jack_workflow(jack: &Jack, generated: usize, summary: &mut Summary) {
    say!("\njack: the bundled documents and {generated} more, then a question");
    let mut documents: Vec<NewDocument> = bundled_documents();
    let bundled = documents.len();
    documents.extend((0..generated).map(|i| {
        NewDocument::new(format!(
            "Order note {i}: parcel {i} left the warehouse on day {} and was delivered in {} days.",
            1 + i % 28,
            1 + i % 5
        ))
        .metadata("source", "generated")
    }));
    let Some(report) = summary.run("ingest", jack.ingest_many(documents)) else { return };
    let ids: Vec<_> = report.document_ids().into_iter().flatten().collect();
    say!("  ingested {} documents ({bundled} bundled) in batches of 50", ids.len());
    let expected = ids.len();
    if let Some(ready) = summary.run("wait for the documents", jack.wait_all(Fleet::documents(ids)))
    {
        summary.lost += expected.saturating_sub(ready.finished.len());
        say!(
            "  documents: {} ready, {} failed",
            ready.count(Outcome::Ready),
            ready.count(Outcome::Failed)
        );
    }
    let question = "How long do refunds take?";
    if let Some(answer) = summary.run("query", jack.query(question)) {
        say!("  asked: {question}\n  answer: {}", answer.answer);
    }
    if let Some(usage) = summary.run("usage", jack.usage()) {
        let queries = usage.total_queries.unwrap_or_default();
        say!(
            "  usage: {queries} {} in the last {} days, limit {} requests a minute",
            if queries == 1 { "query" } else { "queries" },
            usage.period_days.unwrap_or_default(),
            usage.rate_limit_rpm.unwrap_or_default()
        );
    }
}

/// The .md and .txt files bundled in fixtures/demo, as text documents.
fn bundled_documents() -> Vec<NewDocument> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "txt"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some(NewDocument::new(text).metadata("file", name))
        })
        .collect()
}

/// A small file to upload directly (the emulator stores what it is sent; any bytes do).
fn demo_clip() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("rein-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(CliError::Io)?;
    let path = dir.join("demo-clip.mp4");
    std::fs::write(&path, vec![0u8; 64 * 1024]).map_err(CliError::Io)?;
    Ok(path)
}

/// The demo's usual run: fast enough to finish in seconds, faults on a tenth of the requests.
pub(crate) const DEFAULT_SPEED: f64 = 200.0;
