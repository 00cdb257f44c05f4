//! Helpers shared by the model tests: requests as the client would build them, replies as JSON.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use http::{Method, Request};
use rein_core::body::{FileSource, Multipart, PartContent};
use rein_core::{Body, Now};
use rein_emulator::{Config, Emulator, Reply, DEMO_JACK_KEY, DEMO_JOCKEY_KEY};
use serde_json::Value;

/// A model with fixed processing times (Jockey assets 30 s, items 100 s, documents 20 s).
pub fn emulator() -> Emulator {
    Emulator::new(config())
}

pub fn config() -> Config {
    let mut c = Config::default();
    c.timing.asset_direct = rein_emulator::Span::secs(30, 30);
    c.timing.asset_url = rein_emulator::Span::secs(30, 30);
    c.timing.item = rein_emulator::Span::secs(100, 100);
    c.timing.document = rein_emulator::Span::secs(20, 20);
    c
}

pub fn at(secs: f64) -> Now {
    Now::fake(secs)
}

pub fn jockey(method: Method, path: &str, body: Body) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://emulator/v1.3{path}"))
        .header("x-api-key", DEMO_JOCKEY_KEY);
    if matches!(body, Body::Bytes(_)) {
        req = req.header("content-type", "application/json");
    }
    req.body(body).expect("request")
}

pub fn jack(method: Method, path: &str, body: Body) -> Request<Body> {
    jack_with_key(method, path, body, DEMO_JACK_KEY)
}

pub fn jack_with_key(method: Method, path: &str, body: Body, key: &str) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://emulator/v1{path}"))
        .header("authorization", format!("Bearer {key}"));
    if matches!(body, Body::Bytes(_)) {
        req = req.header("content-type", "application/json");
    }
    req.body(body).expect("request")
}

pub fn json_body(v: Value) -> Body {
    Body::Bytes(Bytes::from(v.to_string()))
}

/// A form with text fields and, optionally, a file part of `len` bytes (never read).
pub fn form(fields: &[(&str, &str)], file: Option<(&str, &str, &str, u64)>) -> Body {
    let mut m = Multipart::new("test-boundary");
    for (k, v) in fields {
        m = m.text(k, *v);
    }
    if let Some((name, filename, ct, len)) = file {
        m = m.file(
            name,
            filename,
            ct,
            PartContent::File(FileSource::new("/nonexistent/upload", len)),
        );
    }
    Body::Multipart(m)
}

pub fn body_json(reply: &Reply) -> Value {
    serde_json::from_slice(reply.response.body()).unwrap_or(Value::Null)
}

pub fn status(reply: &Reply) -> u16 {
    reply.response.status().as_u16()
}

/// Creates a direct-upload asset of 1 MB at `now`; returns its id.
pub fn create_asset(e: &mut Emulator, now: Now) -> String {
    let r = e.handle(
        jockey(
            Method::POST,
            "/assets",
            form(&[("method", "direct")], Some(("file", "clip.mp4", "video/mp4", 1 << 20))),
        ),
        now,
    );
    assert_eq!(status(&r), 201, "{}", body_json(&r));
    body_json(&r)["_id"].as_str().expect("id").to_owned()
}

pub fn create_store(e: &mut Emulator, now: Now) -> String {
    let r = e.handle(
        jockey(Method::POST, "/knowledge-stores", json_body(serde_json::json!({"name": "docs"}))),
        now,
    );
    assert_eq!(status(&r), 201, "{}", body_json(&r));
    body_json(&r)["_id"].as_str().expect("id").to_owned()
}

pub fn add_item(e: &mut Emulator, store: &str, asset: &str, now: Now) -> String {
    let r = e.handle(
        jockey(
            Method::POST,
            &format!("/knowledge-stores/{store}/items"),
            json_body(serde_json::json!({"asset_id": asset})),
        ),
        now,
    );
    assert_eq!(status(&r), 202, "{}", body_json(&r));
    body_json(&r)["_id"].as_str().expect("id").to_owned()
}
