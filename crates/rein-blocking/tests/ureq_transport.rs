//! `UreqTransport` against a tiny HTTP/1.1 server on 127.0.0.1, in real time (a socket's own
//! timeouts run on the real clock). Its memory use on a 200 MB upload is `upload_memory.rs`.

#![cfg(feature = "ureq")]

mod support;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rein_blocking::{Jack, Transport, UreqTransport};
use rein_core::{Body, TransportErrorKind};
use support::loopback::{serve, Exchange};

/// `count` chunks of `size` bytes, each its own letter (counting down), so a body read out of
/// order would show.
fn chunks(size: usize, count: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..count).rev().map(move |i| vec![b'a' + (i % 26) as u8; size])
}

fn send_chunks(exchange: &mut Exchange, size: usize, count: usize) {
    let _ = exchange.chunked(200).and_then(|()| {
        chunks(size, count).try_for_each(|chunk| exchange.chunk(&chunk))?;
        exchange.chunk(b"")
    });
}

fn transport(max_response_bytes: u64) -> UreqTransport {
    UreqTransport::new(Duration::from_secs(5), Duration::from_secs(5), max_response_bytes)
}

fn get(addr: SocketAddr, path: &str) -> http::Request<Body> {
    let mut request = http::Request::new(Body::Empty);
    *request.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    request
}

/// What the server saw of a request: method, path, headers and body.
type Seen = (String, String, Vec<(String, String)>, Vec<u8>);

#[test]
fn a_streamed_file_upload_arrives_byte_exact_with_its_content_length() {
    let dir = std::env::temp_dir().join(format!("rein-blocking-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("manual.txt");
    // 3 MiB and a bit: many reads, and a last one that is not full.
    let content: Vec<u8> = (0..(3 << 20) + 12_345).map(|i: u32| b'a' + (i % 26) as u8).collect();
    std::fs::write(&path, &content).unwrap();

    let received: Arc<Mutex<Option<Seen>>> = Arc::default();
    let record = Arc::clone(&received);
    let addr = serve(move |exchange| {
        let body = exchange.body().unwrap();
        let seen = (exchange.method.clone(), exchange.path.clone(), exchange.headers.clone(), body);
        *record.lock().unwrap() = Some(seen);
        exchange.reply(202, &[], br#"{"document_id":"doc_42","status":"accepted"}"#);
    });

    let jack = Jack::builder("jack_loopback_key").base_url(format!("http://{addr}/v1")).build();
    let accepted = jack.unwrap().ingest_file(&path).expect("uploaded");
    assert_eq!(accepted.document_id, Some("doc_42".into()));

    let (method, path, headers, body) =
        received.lock().unwrap().take().expect("the server saw the request");
    let header = |name: &str| {
        headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    assert_eq!(method, "POST");
    assert_eq!(path, "/v1/ingest/file");
    assert_eq!(header("authorization"), "Bearer jack_loopback_key");
    let announced: usize = header("content-length").parse().expect("a content-length");
    assert_eq!(announced, body.len(), "content-length matches the bytes sent");
    assert!(header("content-type").starts_with("multipart/form-data"), "{headers:?}");
    let at = body.windows(content.len()).position(|w| w == content).expect("the file, intact");
    assert!(body[..at].windows(12).any(|w| w == b"manual.txt\"\r"), "the part names the file");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_that_changed_size_fails_as_a_file_error() {
    let dir = std::env::temp_dir().join(format!("rein-blocking-shrunk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.bin");
    std::fs::write(&path, vec![7u8; 1000]).unwrap();
    let addr = serve(|exchange| {
        if exchange.body().is_ok() {
            exchange.reply(200, &[], b"{}");
        }
    });
    let form = rein_core::Multipart::new("b").file(
        "file",
        "f.bin",
        "application/octet-stream",
        rein_core::PartContent::File(rein_core::FileSource::new(&path, 5000)),
    );
    let body = Body::Multipart(form);
    let mut request = http::Request::new(body.clone());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = format!("http://{addr}/upload").parse().unwrap();
    request.headers_mut().insert("content-length", body.content_length().into());
    let err = transport(1 << 20).send(request).expect_err("the file is short");
    assert_eq!(err.kind, TransportErrorKind::File, "{err}");
    assert!(err.message.contains("changed size"), "{err}");
    assert!(!err.sent, "a body cut short cannot have been accepted: {err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Bodies over the cap and at it: one server for both halves of the async
/// `a_response_over_the_cap_is_cut_there_and_keeps_its_status`.
fn sized_bodies() -> SocketAddr {
    serve(|exchange| match exchange.path.as_str() {
        "/announced" => exchange.reply(200, &[], &vec![b'x'; 2 << 20]),
        "/chunked" => send_chunks(exchange, 64 << 10, 32),
        "/chunked-at-cap" => send_chunks(exchange, 64 << 10, 16),
        "/gateway" => {
            exchange.reply(503, &[("x-request-id", "req_9")], &vec![b'<'; 2 << 20]);
        }
        _ => exchange.reply(200, &[], &vec![b'x'; 1 << 20]),
    })
}

/// A body over the cap is cut at it, and the response keeps its status and headers: a 503
/// with a huge gateway page is still a 503 (the core retries it), not a lost connection.
#[test]
fn a_response_over_the_cap_is_cut_there_and_keeps_its_status() {
    let addr = sized_bodies();
    let transport = transport(1 << 20);
    for (path, status) in [("/announced", 200), ("/chunked", 200), ("/gateway", 503)] {
        let response =
            transport.send(get(addr, path)).expect("the head, and the body up to the cap");
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.body().len(), 1 << 20, "{path}");
        let truncated = response.extensions().get::<rein_core::Truncated>().expect("marked cut");
        assert!(truncated.at_least > 1 << 20, "{path}: {truncated:?}");
        if path == "/gateway" {
            assert_eq!(response.headers()["x-request-id"], "req_9");
        }
    }
}

#[test]
fn a_response_at_the_cap_is_read_whole() {
    let addr = sized_bodies();
    let transport = transport(1 << 20);
    let at_cap = transport.send(get(addr, "/exact")).expect("a body at the cap is read");
    assert_eq!(at_cap.body().len(), 1 << 20);
    // Many chunks, read whole and in order.
    let chunked = transport.send(get(addr, "/chunked-at-cap")).expect("read whole");
    let expected: Vec<u8> = chunks(64 << 10, 16).flatten().collect();
    assert!(chunked.body()[..] == expected[..], "the chunks, whole and in order");
}

#[test]
fn a_refused_connection_is_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = transport(1024).send(get(addr, "/v1/usage")).expect_err("refused");
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.sent, "nothing reached a server: safe to retry even a create");
}

#[test]
fn a_server_that_never_answers_times_out_after_send() {
    // Holds the connection open, silent, until the client hangs up.
    let addr = serve(|exchange| {
        let _ = exchange.reader.read(&mut [0; 1]);
    });
    let jack = Jack::builder("jack_k")
        .base_url(format!("http://{addr}/v1"))
        .request_timeout(Duration::from_millis(150))
        .retry_policy(rein_core::RetryPolicy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = jack.usage().expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(5));
    let rein_core::Error::Transport(failure) = err else { panic!("a transport error: {err}") };
    assert_eq!(failure.error.kind, TransportErrorKind::Timeout, "{failure:?}");
    assert!(failure.error.sent, "the request may have been processed");
}

#[test]
fn redirects_are_not_followed() {
    let addr = serve(|exchange| {
        exchange.reply(302, &[("location", "https://elsewhere.example/steal")], b"");
    });
    let response = transport(1024).send(get(addr, "/v1/usage")).unwrap();
    assert_eq!(response.status(), 302);
}

#[test]
fn a_streaming_response_yields_its_chunks_as_they_come() {
    // The first chunk goes out with the head; the rest only once the client has read it.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let addr = serve(move |exchange| {
        let _ = exchange.chunked(200).and_then(|()| {
            exchange.chunk(&[b'a'; 10])?;
            if go_rx.lock().unwrap().recv().is_ok() {
                chunks(10, 4).try_for_each(|chunk| exchange.chunk(&chunk))?;
            }
            exchange.chunk(b"")
        });
    });
    let response = transport(1).send_streaming(get(addr, "/stream")).unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut first = [0; 10];
    body.read_exact(&mut first).expect("the first chunk, before the rest is sent");
    assert_eq!(first, [b'a'; 10]);
    go_tx.send(()).unwrap();
    let mut rest = Vec::new();
    body.read_to_end(&mut rest).expect("the rest");
    assert_eq!(first.len() + rest.len(), 50, "a streamed body is not held to the whole-body cap");
}

#[test]
fn the_jack_client_decodes_a_loopback_error_response() {
    let addr = serve(|exchange| exchange.reply(404, &[], br#"{"detail":"Document not found"}"#));
    let jack = Jack::builder("jack_k").base_url(format!("http://{addr}/v1")).build().unwrap();
    let err = jack.get_document("missing").expect_err("404");
    assert_eq!(err.status(), Some(404));
}

/// A Jockey server whose streamed answer is one SSE keepalive comment a second, for three
/// seconds: within the idle timeout the client is given, and never a whole answer.
fn trickling_keepalives() -> SocketAddr {
    serve(|exchange| {
        let _ = exchange.body();
        let _ = exchange.chunked(200).and_then(|()| {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_secs(1));
                exchange.chunk(b": keepalive\n\n")?;
            }
            exchange.chunk(b"")
        });
    })
}

#[test]
fn a_trickling_stream_is_cut_at_its_deadline_inside_a_blocked_read() {
    let addr = trickling_keepalives();
    let jockey = rein_blocking::Jockey::builder("tlk_test_key")
        .base_url(format!("http://{addr}/v1.3"))
        .stream_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let ask = rein_core::jockey::CreateResponse::ask("ks_1", "Why?");
    let started = std::time::Instant::now();
    let mut events =
        jockey.with_timeout(Duration::from_millis(300)).stream_response(&ask).expect("opens");
    let error = events.next().expect("an item").expect_err("the deadline, not an event");
    let took = started.elapsed();
    // The socket's read is cut at the deadline, before the first keepalive (at 1 s) arrives.
    assert!(took < Duration::from_millis(900), "{took:?}: {error}");
    assert!(took >= Duration::from_millis(300), "{took:?}: {error}");
    let rein_core::Error::Deadline(_) = &error else { panic!("a deadline error: {error:?}") };
    assert!(error.to_string().contains("the response stream's deadline passed"), "{error}");
    assert!(events.next().is_none(), "the stream is over");
}
