//! `HyperTransport` against a tiny hyper server on 127.0.0.1, in real time (loopback IO and a
//! paused clock do not mix: the clock would jump while a socket is merely slow).

#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rein_async::{HyperTransport, Jack, Transport};
use rein_core::{Body, TransportErrorKind};
use tokio::net::TcpListener;

type Reply = http::Response<BoxBody<Bytes, Infallible>>;

/// Serves `handler` on 127.0.0.1:0 until the test's runtime ends.
async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let reply = handler(req);
                    async move { Ok::<_, Infallible>(reply.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn full(status: u16, body: impl Into<Bytes>) -> Reply {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.into()).boxed())
        .unwrap()
}

/// A body of `count` chunks of `size` bytes, with no length announced (chunked encoding).
struct Chunks {
    size: usize,
    count: usize,
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.count == 0 {
            return Poll::Ready(None);
        }
        self.count -= 1;
        // Each chunk its own letter, so a body read out of order would show.
        let letter = b'a' + (self.count % 26) as u8;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![letter; self.size])))))
    }
}

fn transport(max_response_bytes: u64) -> HyperTransport {
    HyperTransport::new(Duration::from_secs(5), max_response_bytes)
}

fn get(addr: SocketAddr, path: &str) -> http::Request<Body> {
    let mut request = http::Request::new(Body::Empty);
    *request.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    request
}

#[tokio::test]
async fn a_streamed_file_upload_arrives_byte_exact_with_its_content_length() {
    let dir = std::env::temp_dir().join(format!("rein-async-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("manual.txt");
    // 3 MiB and a bit: many 64 KiB chunks, and a last one that is not full.
    let content: Vec<u8> = (0..(3 << 20) + 12_345).map(|i: u32| b'a' + (i % 26) as u8).collect();
    std::fs::write(&path, &content).unwrap();

    let received = Arc::new(Mutex::new(None));
    let record = Arc::clone(&received);
    let addr = serve(move |req: http::Request<Incoming>| {
        let record = Arc::clone(&record);
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            *record.lock().unwrap() = Some((parts, bytes));
            full(202, r#"{"document_id":"doc_42","status":"accepted"}"#)
        }
    })
    .await;

    let jack = Jack::builder("jack_loopback_key").base_url(format!("http://{addr}/v1")).build();
    let accepted = jack.unwrap().ingest_file(&path).await.expect("uploaded");
    assert_eq!(accepted.document_id, Some("doc_42".into()));

    let (parts, body) = received.lock().unwrap().take().expect("the server saw the request");
    assert_eq!(parts.method, http::Method::POST);
    assert_eq!(parts.uri.path(), "/v1/ingest/file");
    assert_eq!(parts.headers["authorization"], "Bearer jack_loopback_key");
    let announced: usize = parts.headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(announced, body.len(), "content-length matches the bytes sent");
    assert!(parts.headers["content-type"].to_str().unwrap().starts_with("multipart/form-data"));
    let at = body.windows(content.len()).position(|w| w == content).expect("the file, intact");
    assert!(body[..at].windows(12).any(|w| w == b"manual.txt\"\r"), "the part names the file");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_file_that_changed_size_fails_as_a_file_error() {
    let dir = std::env::temp_dir().join(format!("rein-async-shrunk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.bin");
    std::fs::write(&path, vec![7u8; 1000]).unwrap();
    let addr = serve(|req: http::Request<Incoming>| async move {
        let _ = req.into_body().collect().await;
        full(200, "{}")
    })
    .await;
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
    let err = transport(1 << 20).send(request).await.expect_err("the file is short");
    assert_eq!(err.kind, TransportErrorKind::File, "{err}");
    assert!(err.message.contains("changed size"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A body over the cap is cut at it, and the response keeps its status and headers: a 503
/// with a huge gateway page is still a 503 (the core retries it), not a lost connection.
#[tokio::test]
async fn a_response_over_the_cap_is_cut_there_and_keeps_its_status() {
    let addr = serve(|req: http::Request<Incoming>| async move {
        match req.uri().path() {
            "/announced" => full(200, vec![b'x'; 2 << 20]),
            "/chunked" => http::Response::new(Chunks { size: 64 << 10, count: 32 }.boxed()),
            "/chunked-at-cap" => http::Response::new(Chunks { size: 64 << 10, count: 16 }.boxed()),
            "/gateway" => http::Response::builder()
                .status(503)
                .header("x-request-id", "req_9")
                .body(Full::new(Bytes::from(vec![b'<'; 2 << 20])).boxed())
                .unwrap(),
            _ => full(200, vec![b'x'; 1 << 20]),
        }
    })
    .await;
    let transport = transport(1 << 20);
    for (path, status) in [("/announced", 200), ("/chunked", 200), ("/gateway", 503)] {
        let response =
            transport.send(get(addr, path)).await.expect("the head, and the body up to the cap");
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.body().len(), 1 << 20, "{path}");
        let truncated = response.extensions().get::<rein_core::Truncated>().expect("marked cut");
        assert!(truncated.at_least > 1 << 20, "{path}: {truncated:?}");
        if path == "/gateway" {
            assert_eq!(response.headers()["x-request-id"], "req_9");
        }
    }
    let at_cap = transport.send(get(addr, "/exact")).await.expect("a body at the cap is read");
    assert_eq!(at_cap.body().len(), 1 << 20);
    // Many frames, read whole and in order.
    let chunked = transport.send(get(addr, "/chunked-at-cap")).await.expect("read whole");
    let expected: Vec<u8> =
        (0..16u8).rev().flat_map(|i| std::iter::repeat_n(b'a' + i, 64 << 10)).collect();
    assert!(chunked.body()[..] == expected[..], "the chunks, whole and in order");
}

#[tokio::test]
async fn a_refused_connection_is_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = transport(1024).send(get(addr, "/v1/usage")).await.expect_err("refused");
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.sent, "nothing reached a server: safe to retry even a create");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_after_send() {
    let addr = serve(|_req: http::Request<Incoming>| async move {
        std::future::pending::<()>().await;
        full(200, "{}")
    })
    .await;
    // The driver ends the attempt at the deadline rein-core gives it: the request timeout.
    let jack = Jack::builder("jack_k")
        .base_url(format!("http://{addr}/v1"))
        .request_timeout(Duration::from_millis(150))
        .retry_policy(rein_core::RetryPolicy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = jack.usage().await.expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(5));
    let rein_core::Error::Transport(failure) = err else { panic!("a transport error: {err}") };
    assert_eq!(failure.error.kind, TransportErrorKind::Timeout, "{failure:?}");
    assert!(failure.error.sent, "the request may have been processed");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let addr = serve(|_req: http::Request<Incoming>| async move {
        let mut reply = full(302, "");
        reply.headers_mut().insert("location", "https://elsewhere.example/steal".parse().unwrap());
        reply
    })
    .await;
    let response = transport(1024).send(get(addr, "/v1/usage")).await.unwrap();
    assert_eq!(response.status(), 302);
}

#[tokio::test]
async fn a_streaming_response_yields_its_chunks_as_they_come() {
    let addr = serve(|_req: http::Request<Incoming>| async move {
        http::Response::new(Chunks { size: 10, count: 5 }.boxed())
    })
    .await;
    let response = transport(1).send_streaming(get(addr, "/stream")).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut total = 0;
    while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        total += chunk.expect("a chunk").len();
    }
    assert_eq!(total, 50, "a streamed body is not held to the whole-body cap");
}

#[tokio::test]
async fn the_jack_client_decodes_a_loopback_error_response() {
    let addr = serve(|_req: http::Request<Incoming>| async move {
        full(404, r#"{"detail":"Document not found"}"#)
    })
    .await;
    let jack = Jack::builder("jack_k").base_url(format!("http://{addr}/v1")).build().unwrap();
    let err = jack.get_document("missing").await.expect_err("404");
    assert_eq!(err.status(), Some(404));
}

/// The peak resident memory of this process, from /proc (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test]
async fn a_200_mb_upload_keeps_memory_flat() {
    const SIZE: u64 = 200 * 1000 * 1000;
    let dir = std::env::temp_dir().join(format!("rein-async-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.mp4");
    // Sparse: 200 MB on paper, nothing on disk, instant to make.
    std::fs::File::create(&path).unwrap().set_len(SIZE).unwrap();

    let addr = serve(|req: http::Request<Incoming>| async move {
        // Count the bytes as they come, keeping none.
        let mut body = req.into_body();
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                total += data.len() as u64;
            }
        }
        full(200, format!(r#"{{"received":{total}}}"#))
    })
    .await;
    let form = rein_core::Multipart::new("b").text("method", "direct").file(
        "file",
        "big.mp4",
        "video/mp4",
        rein_core::PartContent::File(rein_core::FileSource::new(&path, SIZE)),
    );
    let body = Body::Multipart(form);
    let length = body.content_length();
    let mut request = http::Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = format!("http://{addr}/v1.3/assets").parse().unwrap();
    request.headers_mut().insert("content-length", length.into());

    let before = peak_rss_bytes();
    let response = transport(1024).send(request).await.expect("uploaded");
    let after = peak_rss_bytes();
    assert_eq!(response.body().as_ref(), format!(r#"{{"received":{length}}}"#).as_bytes());
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        assert!(grown < 32 << 20, "peak memory grew by {grown} bytes for a {SIZE}-byte upload");
    }
    std::fs::remove_dir_all(&dir).ok();
}
