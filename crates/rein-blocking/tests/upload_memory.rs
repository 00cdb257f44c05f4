//! A 200 MB upload through `UreqTransport` keeps memory flat: the file is streamed, never held.
//!
//! In a test process of its own, since the peak measured is the whole process's: another test's
//! allocations (a panic's backtrace alone takes some 80 MB) would count against this one.

#![cfg(feature = "ureq")]

mod support;

use std::io;
use std::time::Duration;

use rein_blocking::{Transport, UreqTransport};
use rein_core::Body;
use support::loopback::serve;

/// The peak resident memory of this process, from /proc (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_200_mb_upload_keeps_memory_flat() {
    const SIZE: u64 = 200 * 1000 * 1000;
    let dir = std::env::temp_dir().join(format!("rein-blocking-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.mp4");
    // Sparse: 200 MB on paper, nothing on disk, instant to make.
    std::fs::File::create(&path).unwrap().set_len(SIZE).unwrap();

    // Counts the bytes as they come, keeping none.
    let addr = serve(|exchange| {
        if let Ok(total) = exchange.read_body(io::sink()) {
            exchange.reply(200, &[], format!(r#"{{"received":{total}}}"#).as_bytes());
        }
    });
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
    let response = UreqTransport::new(Duration::from_secs(5), Duration::from_secs(5), 1024)
        .send(request)
        .expect("uploaded");
    let after = peak_rss_bytes();
    assert_eq!(response.body().as_ref(), format!(r#"{{"received":{length}}}"#).as_bytes());
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        assert!(grown < 32 << 20, "peak memory grew by {grown} bytes for a {SIZE}-byte upload");
    }
    std::fs::remove_dir_all(&dir).ok();
}
