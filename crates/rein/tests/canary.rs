//! A canary key: both adapters run a varied set of operations against the emulator (faults on,
//! so retries, lookups, waits and errors happen) and against a proxy that echoes the request's
//! headers into its error pages, with one Jockey key and one jack key whose secret parts must
//! never show. Everything rein lets out is collected: the `Debug` and `Display` of every result
//! and error (and each error's user message and hint), every event the hooks hear (`Debug` and
//! `Display`), every `tracing` record with its spans' fields, and the clients' `Debug`. None of
//! it may hold any ten characters of either secret.
//!
//! Needs both adapters and `tracing`: `cargo test -p rein --all-features --test canary`.

#![cfg(all(feature = "blocking", feature = "async", feature = "tracing"))]

use std::fmt::{Debug, Display};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rein::jack::NewDocument;
use rein::jockey::{
    AddItem, CreateKnowledgeStore, CreateResponse, ListItems, ListKnowledgeStores,
    SearchKnowledgeStore,
};
use rein::{CancelToken, Error, Event, Fleet, RetryPolicy};
use rein_emulator::{spawn, Clock, Config, FaultPlan, RunningServer, ServerConfig, Span, Timing};

/// The secret parts: what follows `tlk_canary_` and `jack_canary_`.
const JOCKEY_SECRET: &str = "Zq8Wv3Nc5Tb1Ky7Hd4Rm2Xp6Gs9Lf";
const JACK_SECRET: &str = "Lf5Gs9Jw2Dq7Vx3Cn8Bt4Pk6Mh1Ry0EaUo3Ti7Wz";
const SPEED: f64 = 250.0;

fn jockey_key() -> String {
    format!("tlk_canary_{JOCKEY_SECRET}")
}

fn jack_key() -> String {
    format!("jack_canary_{JACK_SECRET}")
}

/// Everything rein let out, as text.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<u8>>>);

impl Seen {
    fn push(&self, text: &str) {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.extend_from_slice(text.as_bytes());
        all.push(b'\n');
    }

    fn debug(&self, what: &str, value: &impl Debug) {
        self.push(&format!("{what}: {value:?}"));
    }

    fn display(&self, what: &str, value: &impl Display) {
        self.push(&format!("{what}: {value}"));
    }

    fn error(&self, what: &str, e: &Error) {
        self.debug(what, e);
        self.display(what, e);
        self.display(what, &e.user_message());
        self.debug(what, &e.hint());
        self.debug(what, &e.api_error());
        self.debug(what, &e.retry_after());
    }

    /// A result's `Debug`, and an error's every face.
    fn result<T: Debug>(&self, what: &str, result: &Result<T, Error>) -> usize {
        self.debug(what, result);
        match result {
            Ok(_) => 0,
            Err(e) => {
                self.error(what, e);
                1
            }
        }
    }

    fn event(&self, event: &Event) {
        self.debug("event", event);
        self.display("event", event);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Seen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every ten characters of `secret` found in `text`, with where.
fn leaks(text: &str, secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(10)
        .map(|w| w.iter().collect::<String>())
        .filter_map(|piece| {
            text.find(&piece).map(|at| {
                let start = text[..at].char_indices().rev().nth(80).map_or(0, |(i, _)| i);
                let end = (at + 120).min(text.len());
                let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(end);
                format!("{piece:?} in ...{}...", &text[start..end])
            })
        })
        .collect()
}

fn emulator() -> RunningServer {
    let timing = Timing {
        asset_direct: Span::secs(5, 20),
        asset_url: Span::secs(5, 20),
        item: Span::secs(10, 40),
        document: Span::secs(5, 20),
    };
    let emulator = Config {
        seed: 17,
        jockey_keys: vec![jockey_key()],
        jack_keys: vec![jack_key()],
        faults: FaultPlan::spread(0.3),
        failure_rate: 0.1,
        timing,
        ..Config::default()
    };
    spawn(ServerConfig { clock: Clock::scaled(SPEED), emulator, ..ServerConfig::default() })
        .expect("emulator")
}

/// A proxy (or a server) that answers every request with an error that echoes the request's
/// head, the key included: a 502 HTML page or plain text, an error in the API's JSON dialect, a
/// 401, or a failed resource, by path. Its request id is the key, too.
fn echo_proxy() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || echo(stream));
        }
    });
    addr
}

fn echo(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + 4 + len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let key_line = head
        .lines()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("authorization:") || l.starts_with("x-api-key:")
        })
        .unwrap_or("")
        .to_owned();
    let key = key_line.split_whitespace().last().unwrap_or("").to_owned();
    let json = |v: serde_json::Value| ("application/json", v.to_string());
    let (status, (content_type, body)) = if path.ends_with(FAILED_DOCUMENT) {
        let echo = format!("Could not fetch the source; upstream said {key_line}");
        let doc =
            serde_json::json!({"id": FAILED_DOCUMENT, "status": "failed", "error_message": echo});
        (200, json(doc))
    } else if path.ends_with(FAILED_ASSET) {
        let echo = format!("Fetch failed: {key_line}");
        let asset = serde_json::json!({"_id": FAILED_ASSET, "status": "failed", "error": {"message": echo}});
        (200, json(asset))
    } else if path.contains("/query") {
        (400, json(serde_json::json!({"detail": format!("Bad request; you sent {key_line}")})))
    } else if path.contains("/documents") {
        (401, json(serde_json::json!({"detail": format!("Invalid API key {key}")})))
    } else if path.ends_with("/knowledge-stores") {
        let message = format!("Invalid request: headers were {head}");
        (400, json(serde_json::json!({"code": "invalid_request", "message": message})))
    } else if path.contains("/responses") {
        let error =
            serde_json::json!({"code": "internal", "message": format!("upstream key={key}")});
        (500, json(serde_json::json!({ "error": error })))
    } else if path.contains("/usage") {
        (502, ("text/plain", format!("upstream connect error; the request was:\n{head}")))
    } else {
        let page = format!(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>\
             <p>The upstream server did not answer this request:</p><pre>{head}</pre></body></html>"
        );
        (502, ("text/html", page))
    };
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        500 => "Internal Server Error",
        _ => "Bad Gateway",
    };
    let request_id = key.replace(|c: char| !c.is_ascii_graphic(), "");
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         x-request-id: {request_id}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// The ids the echoing proxy answers as failed resources whose error message echoes the key.
const FAILED_DOCUMENT: &str = "doc_failed";
const FAILED_ASSET: &str = "0123456789abcdef0123fa11";

/// Two attempts, so echoed errors are retried once and the last one kept.
fn two_attempts() -> RetryPolicy {
    let mut policy = RetryPolicy::reference();
    policy.max_attempts = 2;
    policy
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rein-canary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn blocking_run(seen: &Seen, server: &RunningServer, proxy: SocketAddr) -> (usize, usize) {
    use rein::blocking::{Jack, Jockey};
    let (mut ops, mut errors) = (0, 0);
    let mut count = |n: usize| {
        ops += 1;
        errors += n;
    };
    let hook = seen.clone();
    let jack_builder = Jack::builder(jack_key())
        .base_url(server.jack_base_url())
        .time_scale(server.time_scale())
        .request_timeout(Duration::from_secs(30))
        .on_event(move |e| hook.event(e));
    seen.debug("blocking jack builder", &jack_builder);
    let jack = jack_builder.build().expect("client");
    let hook = seen.clone();
    let jockey = Jockey::builder(jockey_key())
        .base_url(server.jockey_base_url())
        .time_scale(server.time_scale())
        .request_timeout(Duration::from_secs(30))
        .on_event(move |e| hook.event(e))
        .build()
        .expect("client");
    seen.debug("blocking clients", &(&jack, &jockey, jack.config(), jockey.config()));

    // jack.
    let accepted = jack.ingest([
        NewDocument::new("Refunds take five days.").metadata("lang", "en"),
        NewDocument::new("Shipping is free over 50 euros."),
    ]);
    count(seen.result("ingest", &accepted));
    let ids = accepted.map(|a| a.document_ids).unwrap_or_default();
    let file = jack.ingest_file(temp_file("canary.md", "# Canary\n\nReturns within 30 days.\n"));
    count(seen.result("ingest_file", &file));
    count(seen.result("usage", &jack.usage()));
    count(seen.result("query", &jack.query("How long do refunds take?")));
    count(seen.result("list_documents", &jack.list_documents()));
    if let Some(id) = ids.first() {
        count(seen.result("get_document", &jack.get_document(id.clone())));
        count(seen.result("wait_for_document", &jack.wait_for_document(id.clone())));
    }
    let report = jack.wait_all(Fleet::documents(ids.iter().cloned()));
    count(seen.result("wait_all documents", &report));
    if let Ok(report) = &report {
        for f in &report.finished {
            if let Err(e) = &f.result {
                seen.error("a document's end", e);
            }
        }
    }
    count(seen.result("missing document", &jack.get_document("doc_does_not_exist")));
    count(seen.result("empty question", &jack.query("  ")));
    count(seen.result("xlsx", &jack.ingest_file(temp_file("sheet.xlsx", "no"))));
    count(seen.result("1 ms budget", &jack.with_timeout(Duration::from_millis(1)).usage()));
    let cancel = CancelToken::new();
    cancel.cancel();
    count(seen.result("cancelled", &jack.with_cancel(&cancel).usage()));
    if let Some(id) = ids.last() {
        count(seen.result("delete_document", &jack.delete_document(id.clone())));
    }

    // Jockey.
    let asset = jockey.upload_url("https://example.com/canary.mp4");
    count(seen.result("upload_url", &asset));
    let store = jockey.create_store(&CreateKnowledgeStore::new("canary store"));
    count(seen.result("create_store", &store));
    if let (Ok(asset), Ok(store)) = (&asset, &store) {
        count(seen.result("wait_for_asset", &jockey.wait_for_asset(asset)));
        count(seen.result("get_store", &jockey.get_store(store.id.clone())));
        let stores: Result<Vec<_>, Error> =
            jockey.stores(ListKnowledgeStores::new().page_limit(1)).collect();
        count(seen.result("stores", &stores));
        let item = jockey.add_item(&AddItem::new(store.id.clone(), asset.id.clone()));
        count(seen.result("add_item", &item));
        if let Ok(item) = &item {
            let ready = jockey.wait_for_item(store.id.clone(), item.id.clone());
            count(seen.result("wait_for_item", &ready));
        }
        let items: Result<Vec<_>, Error> =
            jockey.items(ListItems::new(store.id.clone()).page_limit(1)).collect();
        count(seen.result("items", &items));
        let hits: Result<Vec<_>, Error> =
            jockey.search_pages(SearchKnowledgeStore::new(store.id.clone(), "canary")).collect();
        count(seen.result("search", &hits));
        let ask = CreateResponse::ask(store.id.clone(), "What is in the video?");
        count(seen.result("create_response", &jockey.create_response(&ask)));
        let events = jockey
            .stream_response(&ask)
            .and_then(|events| events.collect::<Result<Vec<_>, Error>>());
        count(seen.result("stream_response", &events));
        count(seen.result("delete_store", &jockey.delete_store(store.id.clone())));
    }
    count(seen.result("missing asset", &jockey.get_asset("0123456789abcdef01234567")));

    // The echoing proxy.
    let base = format!("http://{proxy}");
    let hook = seen.clone();
    let jack = Jack::builder(jack_key())
        .base_url(format!("{base}/v1"))
        .time_scale(SPEED)
        .retry_policy(two_attempts())
        .on_event(move |e| hook.event(e))
        .build()
        .expect("client");
    let hook = seen.clone();
    let jockey = Jockey::builder(jockey_key())
        .base_url(format!("{base}/v1.3"))
        .time_scale(SPEED)
        .retry_policy(two_attempts())
        .on_event(move |e| hook.event(e))
        .build()
        .expect("client");
    count(seen.result("echo 502 text", &jack.usage()));
    count(seen.result("echo 400 detail", &jack.query("what?")));
    count(seen.result("echo 401 detail", &jack.get_document("doc_1")));
    count(seen.result("echo 502 ingest", &jack.ingest([NewDocument::new("x")])));
    count(seen.result("echo 400 message", &jockey.create_store(&CreateKnowledgeStore::new("s"))));
    count(seen.result("echo 502 jockey", &jockey.get_store("ks_1")));
    count(
        seen.result("echo 500 nested", &jockey.create_response(&CreateResponse::ask("ks_1", "q"))),
    );
    (ops, errors)
}

async fn async_run(seen: &Seen, server: &RunningServer, proxy: SocketAddr) -> (usize, usize) {
    use rein::asynchronous::{Jack, Jockey};
    let (mut ops, mut errors) = (0, 0);
    let mut count = |n: usize| {
        ops += 1;
        errors += n;
    };
    let hook = seen.clone();
    let jack = Jack::builder(jack_key())
        .base_url(server.jack_base_url())
        .time_scale(server.time_scale())
        .request_timeout(Duration::from_secs(30))
        .on_event(move |e| hook.event(e))
        .build()
        .expect("client");
    let hook = seen.clone();
    let jockey_builder = Jockey::builder(jockey_key())
        .base_url(server.jockey_base_url())
        .time_scale(server.time_scale())
        .request_timeout(Duration::from_secs(30))
        .on_event(move |e| hook.event(e));
    seen.debug("async jockey builder", &jockey_builder);
    let jockey = jockey_builder.build().expect("client");
    seen.debug("async clients", &(&jack, &jockey, jack.config(), jockey.config()));

    let accepted = jack.ingest([NewDocument::new("Exchanges within 14 days.")]).await;
    count(seen.result("ingest", &accepted));
    let ids = accepted.map(|a| a.document_ids).unwrap_or_default();
    let file = jack.ingest_file(temp_file("canary-async.txt", "Gift cards never expire.\n")).await;
    count(seen.result("ingest_file", &file));
    count(seen.result("usage", &jack.usage().await));
    count(seen.result("query", &jack.query("Do gift cards expire?").await));
    count(seen.result("list_documents", &jack.list_documents().await));
    let report = jack.wait_all(Fleet::documents(ids.iter().cloned())).await;
    count(seen.result("wait_all documents", &report));
    count(seen.result("missing document", &jack.get_document("doc_does_not_exist").await));
    count(seen.result("empty question", &jack.query("").await));
    count(seen.result("1 ms budget", &jack.with_timeout(Duration::from_millis(1)).usage().await));

    let store = jockey.create_store(&CreateKnowledgeStore::new("canary async store")).await;
    count(seen.result("create_store", &store));
    let asset = jockey.upload_url("https://example.com/canary-async.mp4").await;
    count(seen.result("upload_url", &asset));
    if let (Ok(asset), Ok(store)) = (&asset, &store) {
        let assets = jockey.wait_all(Fleet::assets([asset.id.clone()])).await;
        count(seen.result("wait_all assets", &assets));
        let item = jockey.add_item(&AddItem::new(store.id.clone(), asset.id.clone())).await;
        count(seen.result("add_item", &item));
        let mut stores = jockey.stores(ListKnowledgeStores::new().page_limit(1));
        while let Some(s) = stores.next().await {
            count(seen.result("a listed store", &s));
        }
        let ask = CreateResponse::ask(store.id.clone(), "Anything indexed?");
        count(seen.result("create_response", &jockey.create_response(&ask).await));
        match jockey.stream_response(&ask).await {
            Ok(mut events) => {
                while let Some(event) = events.next().await {
                    count(seen.result("a streamed event", &event));
                }
            }
            Err(e) => count(seen.result::<()>("stream_response", &Err(e))),
        }
    }

    let base = format!("http://{proxy}");
    let hook = seen.clone();
    let jack = Jack::builder(jack_key())
        .base_url(format!("{base}/v1"))
        .time_scale(SPEED)
        .retry_policy(two_attempts())
        .on_event(move |e| hook.event(e))
        .build()
        .expect("client");
    let hook = seen.clone();
    let jockey = Jockey::builder(jockey_key())
        .base_url(format!("{base}/v1.3"))
        .time_scale(SPEED)
        .retry_policy(two_attempts())
        .on_event(move |e| hook.event(e))
        .build()
        .expect("client");
    count(seen.result("echo 502 text", &jack.usage().await));
    count(seen.result("echo 400 detail", &jack.query("what?").await));
    count(seen.result("echo 401 detail", &jack.get_document("doc_1").await));
    count(
        seen.result(
            "echo 400 message",
            &jockey.create_store(&CreateKnowledgeStore::new("s")).await,
        ),
    );
    count(seen.result("echo 502 jockey", &jockey.get_store("ks_1").await));
    count(seen.result(
        "echo 500 nested",
        &jockey.create_response(&CreateResponse::ask("ks_1", "q")).await,
    ));
    (ops, errors)
}

#[test]
fn the_canary_keys_secret_never_shows_in_anything_rein_lets_out() {
    let seen = Seen::default();
    let writer = seen.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let server = emulator();
    let proxy = echo_proxy();
    let (blocking_ops, blocking_errors) = blocking_run(&seen, &server, proxy);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (async_ops, async_errors) = runtime.block_on(async_run(&seen, &server, proxy));

    let text = seen.text();
    if let Ok(path) = std::env::var("CANARY_DUMP") {
        std::fs::write(path, &text).expect("dump");
    }
    let events = text.lines().filter(|l| l.starts_with("event: ")).count() / 2;
    let traced = text.lines().filter(|l| l.contains("rein")).count();
    eprintln!(
        "canary: {} operations ({} errors), {events} events, {traced} lines naming rein, {} bytes \
         collected",
        blocking_ops + async_ops,
        blocking_errors + async_errors,
        text.len()
    );
    assert!(blocking_errors > 0 && async_errors > 0, "errors happened: faults are on");
    assert!(events > 0 && text.contains("rein.attempt"), "events and tracing spans were seen");
    assert!(text.contains("[redacted]"), "the echoes reached the errors, scrubbed");
    // The detector itself finds a key that shows.
    assert!(!leaks(&format!("x-api-key: {}", jockey_key()), JOCKEY_SECRET).is_empty());
    let found: Vec<String> =
        leaks(&text, JOCKEY_SECRET).into_iter().chain(leaks(&text, JACK_SECRET)).collect();
    assert!(found.is_empty(), "the canary's secret shows:\n{}", found.join("\n"));
}

/// A resource that failed with a message echoing the request's headers: the error that ends a
/// wait, or a fleet's id, keeps the key out of its message, and must keep it out of the
/// resource it carries too.
#[test]
fn a_failed_resource_that_echoes_the_key_does_not_carry_it_into_the_error() {
    use rein::blocking::{Jack, Jockey};
    let proxy = echo_proxy();
    let base = format!("http://{proxy}");
    let jack = Jack::builder(jack_key())
        .base_url(format!("{base}/v1"))
        .time_scale(SPEED)
        .build()
        .expect("client");
    let jockey = Jockey::builder(jockey_key())
        .base_url(format!("{base}/v1.3"))
        .time_scale(SPEED)
        .build()
        .expect("client");
    let seen = Seen::default();
    let waited = jack.wait_for_document(FAILED_DOCUMENT);
    assert!(matches!(waited, Err(Error::ResourceFailed(_))), "{waited:?}");
    seen.result("wait_for_document", &waited);
    let fleet = jack.wait_all(Fleet::documents([FAILED_DOCUMENT])).expect("not cancelled");
    for f in &fleet.finished {
        seen.result("a fleet's document", &f.result);
    }
    let asset = jockey.wait_for_asset_with(FAILED_ASSET, rein::WaitPolicy::ASSET_URL);
    assert!(matches!(asset, Err(Error::ResourceFailed(_))), "{asset:?}");
    seen.result("wait_for_asset", &asset);

    let text = seen.text();
    let message_scrubbed = text.contains("upstream said authorization: Bearer [redacted]");
    let leaking: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !leaks(l, JOCKEY_SECRET).is_empty() || !leaks(l, JACK_SECRET).is_empty())
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(
        leaking.is_empty(),
        "the message is scrubbed ({message_scrubbed}), yet the secret shows in {leaking:?}:\n{text}"
    );
}
