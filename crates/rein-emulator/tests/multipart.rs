//! Jockey's multipart upload flow: sessions, presigned chunk URLs and the chunk `PUT`s they
//! take, chunk reports, the asset a completed session makes, status pages, the list of
//! incomplete sessions, expiry, the chunk faults; through the model on a fake clock, through
//! `InProcess` with a real file, and through the hyper server's two listeners on loopback.
//! No test sleeps: time is an argument, or a manual clock.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, Request};
use rein_core::jockey::multipart::{chunk_request, MAX_IMAGE_BYTES, MAX_VIDEO_BYTES};
use rein_core::{Body, FileSource, ManualClock};
use rein_emulator::{
    spawn, ChunkDigest, Config, Emulator, FaultKind, FaultPlan, InProcess, Reply, ServerConfig,
    DEFAULT_MULTIPART_CHUNK_SIZE, DEFAULT_PRESIGNED_BASE, DEMO_JOCKEY_KEY,
};
use serde_json::{json, Value};

const HOUR: f64 = 3600.0;

/// A model with chunks of `chunk_size` bytes and `initial` URLs per new session.
fn small(chunk_size: u64, initial: u32) -> Emulator {
    Emulator::new(Config {
        multipart_chunk_size: chunk_size,
        multipart_initial_urls: initial,
        ..config()
    })
}

/// `len` bytes of content that differ from one `seed` to another.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

fn create(e: &mut Emulator, filename: &str, kind: &str, size: u64, t: f64) -> Value {
    let r = e.handle(
        jockey(
            Method::POST,
            "/assets/multipart-uploads",
            json_body(json!({"filename": filename, "type": kind, "total_size": size})),
        ),
        at(t),
    );
    assert_eq!(status(&r), 201, "{}", body_json(&r));
    body_json(&r)
}

/// The URLs of a session's or a URL request's answer, by chunk index.
fn urls(v: &Value) -> BTreeMap<u32, String> {
    v["upload_urls"]
        .as_array()
        .expect("upload_urls")
        .iter()
        .map(|u| {
            let index = u["chunk_index"].as_u64().expect("index") as u32;
            (index, u["url"].as_str().expect("url").to_owned())
        })
        .collect()
}

/// A chunk `PUT` as a client sends it to a presigned URL: no API key.
fn put(e: &mut Emulator, url: &str, bytes: &[u8], t: f64) -> Reply {
    let request = Request::builder()
        .method(Method::PUT)
        .uri(url)
        .body(Body::Bytes(Bytes::copy_from_slice(bytes)))
        .expect("request");
    e.handle(request, at(t))
}

fn etag(r: &Reply) -> String {
    assert_eq!(status(r), 200, "{}", String::from_utf8_lossy(r.response.body()));
    r.response.headers()["etag"].to_str().expect("ascii").to_owned()
}

fn xml(r: &Reply) -> String {
    assert_eq!(r.response.headers()["content-type"], "application/xml");
    String::from_utf8_lossy(r.response.body()).into_owned()
}

fn more_urls(e: &mut Emulator, id: &str, start: u64, count: u64, t: f64) -> Reply {
    e.handle(
        jockey(
            Method::POST,
            &format!("/assets/multipart-uploads/{id}/presigned-urls"),
            json_body(json!({"start": start, "count": count})),
        ),
        at(t),
    )
}

fn report(e: &mut Emulator, id: &str, chunks: &[(u32, u64, &str)], t: f64) -> Reply {
    let chunks: Vec<Value> = chunks
        .iter()
        .map(|(i, size, proof)| {
            json!({"chunk_index": i, "proof": proof, "proof_type": "etag", "chunk_size": size})
        })
        .collect();
    e.handle(
        jockey(
            Method::POST,
            &format!("/assets/multipart-uploads/{id}"),
            json_body(json!({"completed_chunks": chunks})),
        ),
        at(t),
    )
}

fn get(e: &mut Emulator, path: &str, t: f64) -> Reply {
    e.handle(jockey(Method::GET, path, Body::Empty), at(t))
}

fn upload_status(e: &mut Emulator, id: &str, query: &str, t: f64) -> Value {
    let r = get(e, &format!("/assets/multipart-uploads/{id}{query}"), t);
    assert_eq!(status(&r), 200, "{}", body_json(&r));
    body_json(&r)
}

fn id_of(v: &Value, field: &str) -> String {
    v[field].as_str().expect(field).to_owned()
}

#[test]
fn a_whole_upload_through_the_model_makes_an_asset_that_becomes_ready() {
    let mut e = small(1000, 2);
    let file = content(2500, 1);
    let session = create(&mut e, "match.mp4", "video", 2500, 0.0);
    let (id, asset) = (id_of(&session, "upload_id"), id_of(&session, "asset_id"));
    assert_eq!(session["chunk_size"], 1000);
    assert_eq!(session["total_chunks"], 3);
    assert_eq!(session["upload_headers"], json!({}));
    assert_eq!(session["expires_at"], "2026-01-02T00:00:00Z");
    let mut urls = urls(&session);
    assert_eq!(urls.keys().copied().collect::<Vec<_>>(), [1, 2], "the first two only");

    let e1 = etag(&put(&mut e, &urls[&1], &file[..1000], 1.0));
    let e2 = etag(&put(&mut e, &urls[&2], &file[1000..2000], 2.0));
    assert_eq!(e1, ChunkDigest::of(&file[..1000]).etag());
    assert!(e1.starts_with('"') && e1.ends_with('"'), "quoted, as S3 quotes: {e1}");

    // The third chunk's URL, asked for with a count past the end: clipped to one.
    let r = more_urls(&mut e, &id, 3, 10, 3.0);
    assert_eq!(status(&r), 200, "{}", body_json(&r));
    let more = body_json(&r);
    assert_eq!((more["start_index"].clone(), more["count"].clone()), (json!(3), json!(1)));
    assert_eq!(more["upload_id"], id);
    urls.extend(self::urls(&more));
    let e3 = etag(&put(&mut e, &urls[&3], &file[2000..], 4.0));

    let r = report(&mut e, &id, &[(1, 1000, &e1), (2, 1000, &e2)], 5.0);
    assert_eq!(status(&r), 200, "{}", body_json(&r));
    let v = body_json(&r);
    assert_eq!(v["processed_chunks"], 2);
    assert_eq!(v["total_completed"], 2);
    assert_eq!(v["asset_id"], asset);
    assert!(v.get("url").is_none(), "no url before every chunk is reported: {v}");
    assert_eq!(status(&get(&mut e, &format!("/assets/{asset}"), 5.0)), 404, "reserved, not made");

    let r = report(&mut e, &id, &[(3, 500, &e3)], 6.0);
    let v = body_json(&r);
    assert_eq!((v["processed_chunks"].clone(), v["total_completed"].clone()), (json!(1), json!(3)));
    assert!(v["url"].as_str().is_some_and(|u| u.contains(&asset)), "{v}");

    let s = upload_status(&mut e, &id, "", 7.0);
    assert_eq!(s["status"], "completed");
    assert_eq!((s["uploaded_size"].clone(), s["total_size"].clone()), (json!(2500), json!(2500)));
    assert_eq!(s["chunks_completed"], 3);

    let a = body_json(&get(&mut e, &format!("/assets/{asset}"), 7.0));
    assert_eq!(a["method"], "multipart");
    assert_eq!(a["status"], "processing");
    assert_eq!((a["size"].clone(), a["filename"].clone()), (json!(2500), json!("match.mp4")));
    assert_eq!(a["file_type"], "video/mp4");
    // The direct-upload timing (30 s here), counted from the last report.
    assert_eq!(body_json(&get(&mut e, &format!("/assets/{asset}"), 35.0))["status"], "processing");
    assert_eq!(body_json(&get(&mut e, &format!("/assets/{asset}"), 36.0))["status"], "ready");

    let log = e.log().to_vec();
    let chunk_puts: Vec<_> = log.iter().filter(|x| x.is_presigned()).collect();
    assert_eq!(chunk_puts.len(), 3);
    assert!(chunk_puts.iter().all(|x| x.api.is_none() && !x.carried_api_key && x.state_changed));
    assert!(log.iter().filter(|x| !x.is_presigned()).all(|x| x.carried_api_key));
}

#[test]
fn the_chunk_size_and_the_first_urls_come_from_the_config() {
    let mut e = emulator();
    let size = 100 << 20;
    let session = create(&mut e, "long.mov", "video", size, 0.0);
    assert_eq!(session["chunk_size"], DEFAULT_MULTIPART_CHUNK_SIZE);
    assert_eq!(session["total_chunks"], size.div_ceil(DEFAULT_MULTIPART_CHUNK_SIZE));
    let first = &session["upload_urls"][0];
    assert_eq!(session["upload_urls"].as_array().map(Vec::len), Some(10));
    assert_eq!(first["expires_at"], "2026-01-01T01:00:00Z");
    let url = first["url"].as_str().expect("url");
    let id = id_of(&session, "upload_id");
    // 2026-01-01T01:00:00Z in Unix milliseconds.
    let prefix = format!("{DEFAULT_PRESIGNED_BASE}/_presigned/{id}/1?expires=1767229200000&sig=");
    assert!(url.starts_with(&prefix), "{url}");

    // A small file: as many URLs as chunks.
    let session = create(&mut e, "still.png", "image", 10, 0.0);
    assert_eq!(session["total_chunks"], 1);
    assert_eq!(urls(&session).len(), 1);
}

#[test]
fn creating_a_session_validates_the_body_like_the_api() {
    let mut e = emulator();
    let cases = [
        json!({"type": "video", "total_size": 10}),
        json!({"filename": " ", "type": "video", "total_size": 10}),
        json!({"filename": "a.pdf", "type": "document", "total_size": 10}),
        json!({"filename": "a.mp4", "total_size": 10}),
        json!({"filename": "a.mp4", "type": "video"}),
        json!({"filename": "a.mp4", "type": "video", "total_size": 0}),
        json!({"filename": "a.mp4", "type": "video", "total_size": -5}),
        json!({"filename": "a.mp4", "type": "video", "total_size": 1.5}),
        json!({"filename": "a.mp4", "type": "video", "total_size": MAX_VIDEO_BYTES + 1}),
        json!({"filename": "a.wav", "type": "audio", "total_size": MAX_VIDEO_BYTES + 1}),
        json!({"filename": "a.png", "type": "image", "total_size": MAX_IMAGE_BYTES + 1}),
        json!({"filename": "a.mp4", "type": "video", "total_size": 10, "enable_hls": "yes"}),
        json!({"filename": "a.mp4", "type": "video", "total_size": 10, "user_metadata": [1]}),
        json!({"filename": "a.mp4", "type": "video", "total_size": 10, "user_metadata": {"k": {}}}),
        json!([]),
    ];
    for body in cases {
        let r = e.handle(
            jockey(Method::POST, "/assets/multipart-uploads", json_body(body.clone())),
            at(0.0),
        );
        assert_eq!(status(&r), 400, "{body}: {}", body_json(&r));
        assert_eq!(body_json(&r)["code"], "invalid_request", "{body}");
    }
    // The limits themselves are taken.
    create(&mut e, "a.mp4", "video", MAX_VIDEO_BYTES, 0.0);
    create(&mut e, "a.png", "image", MAX_IMAGE_BYTES, 0.0);
    let r = e.handle(
        jockey(
            Method::POST,
            "/assets/multipart-uploads",
            json_body(json!({"filename": "a.mp4", "type": "video", "total_size": 10,
                             "enable_hls": true, "enable_thumbnail": false,
                             "user_metadata": {"team": "a", "n": 1, "ok": true}})),
        ),
        at(0.0),
    );
    assert_eq!(status(&r), 201, "{}", body_json(&r));
    assert!(e.log().entries().all(|x| !x.state_changed || x.status == 201));
}

#[test]
fn unknown_sessions_are_not_found_in_each_dialect() {
    let mut e = small(1000, 1);
    let r = get(&mut e, "/assets/multipart-uploads/nope", 0.0);
    assert_eq!(status(&r), 404);
    assert_eq!(body_json(&r)["code"], "not_found");
    assert_eq!(status(&report(&mut e, "nope", &[(1, 1000, "\"x\"")], 0.0)), 404);
    assert_eq!(status(&more_urls(&mut e, "nope", 1, 1, 0.0)), 404);
    let r = e.handle(jockey(Method::DELETE, "/assets/multipart-uploads", Body::Empty), at(0.0));
    assert_eq!(status(&r), 405);

    // The storage side: an unknown session, a forged signature, a path that is no URL.
    let session = create(&mut e, "a.mp4", "video", 1500, 0.0);
    let url = urls(&session)[&1].clone();
    let id = id_of(&session, "upload_id");
    let r = put(&mut e, &url.replace(&id, "nope"), &[0; 1000], 1.0);
    assert_eq!(status(&r), 404);
    assert!(xml(&r).contains("<Code>NoSuchUpload</Code>"));
    let (base, sig) = url.rsplit_once("sig=").expect("sig");
    let forged = if sig.starts_with('0') { "1" } else { "0" };
    let r = put(&mut e, &format!("{base}sig={forged}{}", &sig[1..]), &[0; 1000], 1.0);
    assert_eq!(status(&r), 403);
    assert!(xml(&r).contains("<Code>SignatureDoesNotMatch</Code>"));
    // The same signature on another chunk's path is no URL of that chunk.
    let r = put(&mut e, &url.replace(&format!("{id}/1?"), &format!("{id}/2?")), &[0; 500], 1.0);
    assert_eq!(status(&r), 403);
    let r = put(&mut e, "http://presigned.emulator.invalid/_presigned/x", &[], 1.0);
    assert_eq!(status(&r), 404);
    assert!(xml(&r).contains("<Code>NoSuchKey</Code>"));
    let r = e.handle(Request::get(url.as_str()).body(Body::Empty).expect("request"), at(1.0));
    assert_eq!(status(&r), 405);
    // None of it spent the URL.
    etag(&put(&mut e, &url, &[7; 1000], 2.0));
}

#[test]
fn a_url_expires_an_hour_after_it_was_issued_and_fresh_ones_can_be_asked_for() {
    let mut e = small(1000, 2);
    let session = create(&mut e, "a.mp4", "video", 2000, 0.0);
    let id = id_of(&session, "upload_id");
    let first = urls(&session);
    etag(&put(&mut e, &first[&1], &[1; 1000], HOUR - 1.0));
    let r = put(&mut e, &first[&2], &[2; 1000], HOUR);
    assert_eq!(status(&r), 403);
    assert!(
        xml(&r).contains(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        ),
        "{}",
        xml(&r)
    );
    let r = more_urls(&mut e, &id, 2, 1, HOUR + 10.0);
    let v = body_json(&r);
    assert_eq!(v["generated_at"], "2026-01-01T01:00:10Z");
    assert_eq!(v["expires_at"], "2026-01-01T02:00:10Z");
    assert_eq!(v["upload_urls"][0]["expires_at"], "2026-01-01T02:00:10Z");
    let fresh = urls(&v);
    assert_ne!(fresh[&2], first[&2]);
    etag(&put(&mut e, &fresh[&2], &[2; 1000], HOUR + 20.0));

    // Counts outside 1..=50 and starts outside the chunks are refused.
    for (start, count) in [(1, 0), (1, 51), (0, 1), (3, 1)] {
        let r = more_urls(&mut e, &id, start, count, HOUR + 30.0);
        assert_eq!(status(&r), 400, "start {start} count {count}: {}", body_json(&r));
    }
    assert_eq!(status(&more_urls(&mut e, &id, 1, 50, HOUR + 30.0)), 200);
}

#[test]
fn a_url_takes_one_successful_put_and_a_refused_put_does_not_spend_it() {
    let mut e = small(1000, 2);
    let session = create(&mut e, "a.mp4", "video", 1800, 0.0);
    let id = id_of(&session, "upload_id");
    let urls = urls(&session);

    // A chunk of the wrong length: 400, the chunk failed, the URL still good.
    let r = put(&mut e, &urls[&1], &[1; 999], 1.0);
    assert_eq!(status(&r), 400);
    assert!(xml(&r).contains("<Code>EntityTooSmall</Code>"), "{}", xml(&r));
    let r = put(&mut e, &urls[&2], &[1; 801], 1.0);
    assert!(xml(&r).contains("<Code>EntityTooLarge</Code>"), "{}", xml(&r));
    let s = upload_status(&mut e, &id, "", 2.0);
    assert_eq!(s["chunks_failed"], 2);
    assert_eq!(s["uploaded_chunks"][0]["status"], "failed");
    assert!(s["uploaded_chunks"][0]["error"].as_str().is_some_and(|m| m.contains("1000")));

    etag(&put(&mut e, &urls[&1], &[1; 1000], 3.0));
    let r = put(&mut e, &urls[&1], &[1; 1000], 4.0);
    assert_eq!(status(&r), 403, "each URL can only be used once");
    assert!(xml(&r).contains("AccessDenied"));
    // Uploaded, not reported: pending, as the spec says.
    let s = upload_status(&mut e, &id, "", 5.0);
    assert_eq!(s["uploaded_chunks"][0]["status"], "pending");
    assert!(s["uploaded_chunks"][0].get("uploaded_at").is_none());
    assert_eq!(
        (s["chunks_completed"].clone(), s["chunks_failed"].clone(), s["chunks_pending"].clone()),
        (json!(0), json!(1), json!(1))
    );
    let log = e.log().to_vec();
    let changed: Vec<bool> =
        log.iter().filter(|x| x.is_presigned()).map(|x| x.state_changed).collect();
    assert_eq!(changed, [false, false, true, false]);
}

#[test]
fn a_report_with_a_bad_proof_or_size_is_refused_and_names_the_chunk() {
    let mut e = small(1000, 3);
    let session = create(&mut e, "a.mp4", "video", 2500, 0.0);
    let id = id_of(&session, "upload_id");
    let urls = urls(&session);
    let e1 = etag(&put(&mut e, &urls[&1], &content(1000, 1), 1.0));
    let e2 = etag(&put(&mut e, &urls[&2], &content(1000, 2), 1.0));

    let wrong = [
        (vec![(1, 1000, e1.as_str()), (2, 1000, e1.as_str())], "chunk 2"),
        (vec![(1, 1000, e1.as_str()), (3, 500, e2.as_str())], "chunk 3 was not uploaded"),
        (vec![(2, 999, e2.as_str())], "chunk 2: chunk_size is 999"),
        (vec![(4, 1000, e2.as_str())], "from 1 to 3"),
        (vec![(0, 1000, e2.as_str())], "from 1 to 3"),
    ];
    for (chunks, says) in wrong {
        let r = report(&mut e, &id, &chunks, 2.0);
        assert_eq!(status(&r), 400, "{chunks:?}");
        let message = body_json(&r)["message"].as_str().unwrap_or("").to_owned();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    }
    let bad_type = json!({"completed_chunks": [
        {"chunk_index": 1, "proof": e1, "proof_type": "md5", "chunk_size": 1000}]});
    for body in [bad_type, json!({"completed_chunks": []}), json!({})] {
        let r = e.handle(
            jockey(Method::POST, &format!("/assets/multipart-uploads/{id}"), json_body(body)),
            at(2.0),
        );
        assert_eq!(status(&r), 400, "{}", body_json(&r));
    }
    // Nothing was applied by the refused reports; the bare hex of an ETag is taken too.
    let r = report(&mut e, &id, &[(1, 1000, e1.trim_matches('"'))], 3.0);
    assert_eq!(body_json(&r)["total_completed"], 1, "{}", body_json(&r));
}

#[test]
fn duplicate_chunks_are_counted_and_ignored() {
    let mut e = small(1000, 2);
    let session = create(&mut e, "a.mp4", "video", 2000, 0.0);
    let id = id_of(&session, "upload_id");
    let urls = urls(&session);
    let e1 = etag(&put(&mut e, &urls[&1], &[1; 1000], 1.0));
    let e2 = etag(&put(&mut e, &urls[&2], &[2; 1000], 1.0));

    let v = body_json(&report(&mut e, &id, &[(1, 1000, &e1), (1, 1000, &e1)], 2.0));
    assert_eq!(
        (
            v["processed_chunks"].clone(),
            v["duplicate_chunks"].clone(),
            v["total_completed"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    // Reported before: a duplicate, whatever its proof says.
    let v = body_json(&report(&mut e, &id, &[(1, 1000, "\"whatever\"")], 3.0));
    assert_eq!(
        (v["processed_chunks"].clone(), v["duplicate_chunks"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(e.log().entries().last().map(|x| x.state_changed), Some(false));

    let v = body_json(&report(&mut e, &id, &[(1, 1000, &e1), (2, 1000, &e2)], 4.0));
    assert_eq!(
        (v["processed_chunks"].clone(), v["duplicate_chunks"].clone()),
        (json!(1), json!(1))
    );
    assert!(v.get("url").is_some());
    // A completed session takes the same report again: a report whose answer was lost is safe
    // to repeat, and one asset is made.
    let v = body_json(&report(&mut e, &id, &[(1, 1000, &e1), (2, 1000, &e2)], 5.0));
    assert_eq!((v["duplicate_chunks"].clone(), v["total_completed"].clone()), (json!(2), json!(2)));
    assert!(v.get("url").is_some());
    let assets = body_json(&get(&mut e, "/assets", 6.0));
    assert_eq!(assets["page_info"]["total_results"], 1);
    // But no more URLs.
    assert_eq!(status(&more_urls(&mut e, &id, 1, 1, 6.0)), 400);
}

#[test]
fn a_sessions_status_pages_its_chunks() {
    let mut e = small(100, 25);
    let session = create(&mut e, "a.mp3", "audio", 2450, 0.0);
    let id = id_of(&session, "upload_id");
    let urls = urls(&session);
    assert_eq!(urls.len(), 25);
    let mut proofs = Vec::new();
    for i in 1..=12u32 {
        let len = if i == 25 { 50 } else { 100 };
        proofs.push((i, len as u64, etag(&put(&mut e, &urls[&i], &vec![i as u8; len], 1.0))));
    }
    let chunks: Vec<(u32, u64, &str)> =
        proofs.iter().map(|(i, l, p)| (*i, *l, p.as_str())).collect();
    assert_eq!(status(&report(&mut e, &id, &chunks[..11], 2.0)), 200);
    // Chunk 13 fails.
    assert_eq!(status(&put(&mut e, &urls[&13], &[0; 10], 3.0)), 400);

    let s = upload_status(&mut e, &id, "", 4.0);
    assert_eq!(s["status"], "active");
    assert_eq!(s["uploaded_chunks"].as_array().map(Vec::len), Some(10), "10 a page by default");
    assert_eq!(
        s["page_info"],
        json!({"limit_per_page": 10, "page": 1, "total_page": 3, "total_results": 25})
    );
    assert_eq!(
        (s["chunks_completed"].clone(), s["chunks_failed"].clone(), s["chunks_pending"].clone()),
        (json!(11), json!(1), json!(13))
    );
    assert_eq!((s["uploaded_size"].clone(), s["total_size"].clone()), (json!(1100), json!(2450)));
    assert_eq!(s["created_at"], "2026-01-01T00:00:00Z");
    assert_eq!(s["updated_at"], "2026-01-01T00:00:02Z");
    let first = &s["uploaded_chunks"][0];
    assert_eq!(first["index"], 1);
    assert_eq!(first["status"], "completed");
    assert_eq!(first["uploaded_at"], "2026-01-01T00:00:02Z");
    assert!(first.get("error").is_none());

    let s = upload_status(&mut e, &id, "?page=2&page_limit=10", 4.0);
    let statuses: Vec<&str> = s["uploaded_chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| c["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        [
            "completed",
            "pending",
            "failed",
            "pending",
            "pending",
            "pending",
            "pending",
            "pending",
            "pending",
            "pending"
        ]
    );
    let s = upload_status(&mut e, &id, "?page=3", 4.0);
    let indices: Vec<u64> = s["uploaded_chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .filter_map(|c| c["index"].as_u64())
        .collect();
    assert_eq!(indices, [21, 22, 23, 24, 25]);
    assert_eq!(
        upload_status(&mut e, &id, "?page_limit=50", 4.0)["uploaded_chunks"]
            .as_array()
            .map(Vec::len),
        Some(25)
    );
    assert_eq!(upload_status(&mut e, &id, "?page=4", 4.0)["uploaded_chunks"], json!([]));
    for bad in ["?page_limit=51", "?page_limit=0", "?page=0"] {
        let r = get(&mut e, &format!("/assets/multipart-uploads/{id}{bad}"), 4.0);
        assert_eq!(status(&r), 400, "{bad}");
    }
}

#[test]
fn the_list_holds_the_sessions_not_completed_newest_first() {
    let mut e = small(1000, 1);
    let a = id_of(&create(&mut e, "a.mp4", "video", 500, 0.0), "upload_id");
    let done = create(&mut e, "b.mp4", "video", 500, 1.0);
    let c = id_of(&create(&mut e, "c.mp4", "video", 1500, 2.0), "upload_id");
    let proof = etag(&put(&mut e, &urls(&done)[&1], &[0; 500], 3.0));
    let r = report(&mut e, &id_of(&done, "upload_id"), &[(1, 500, &proof)], 3.0);
    assert!(body_json(&r).get("url").is_some());

    let v = body_json(&get(&mut e, "/assets/multipart-uploads", 4.0));
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|s| s["upload_id"].as_str())
        .collect();
    assert_eq!(ids, [c.as_str(), a.as_str()]);
    let newest = &v["data"][0];
    assert_eq!(newest["status"], "active");
    assert_eq!(
        (newest["total_chunks"].clone(), newest["chunk_size"].clone()),
        (json!(2), json!(1000))
    );
    assert_eq!(newest["total_size"], 1500);
    assert_eq!(newest["created_at"], "2026-01-01T00:00:02Z");
    assert_eq!(newest["expires_at"], "2026-01-02T00:00:02Z");

    let v = body_json(&get(&mut e, "/assets/multipart-uploads?page=2&page_limit=1", 4.0));
    assert_eq!(v["data"][0]["upload_id"], a);
    assert_eq!(v["page_info"]["total_page"], 2);
    assert_eq!(status(&get(&mut e, "/assets/multipart-uploads?page_limit=51", 4.0)), 400);
}

#[test]
fn a_session_expires_after_24_hours_and_its_urls_and_reports_are_refused() {
    let mut e = small(1000, 1);
    let session = create(&mut e, "a.mp4", "video", 2000, 0.0);
    let id = id_of(&session, "upload_id");
    let proof = etag(&put(&mut e, &urls(&session)[&1], &[1; 1000], 1.0));

    // A URL issued half an hour before the end lives only as long as the session.
    let late = body_json(&more_urls(&mut e, &id, 2, 1, 23.5 * HOUR));
    assert_eq!(late["expires_at"], "2026-01-02T00:00:00Z");
    let late = urls(&late);
    let day = 24.0 * HOUR;
    assert_eq!(upload_status(&mut e, &id, "", day - 1.0)["status"], "active");

    let s = upload_status(&mut e, &id, "", day);
    assert_eq!(s["status"], "expired");
    let r = put(&mut e, &late[&2], &[2; 1000], day);
    assert_eq!(status(&r), 403);
    assert!(xml(&r).contains("Request has expired"));
    let r = report(&mut e, &id, &[(1, 1000, &proof)], day);
    assert_eq!(status(&r), 400);
    assert!(body_json(&r)["message"].as_str().is_some_and(|m| m.contains("expired")));
    assert_eq!(status(&more_urls(&mut e, &id, 2, 1, day)), 400);
    let v = body_json(&get(&mut e, "/assets/multipart-uploads", day));
    assert_eq!(v["data"][0]["status"], "expired", "incomplete, and listed as expired");
}

#[test]
fn chunk_faults_apply_to_chunk_puts_only() {
    let mut e = Emulator::new(Config {
        multipart_chunk_size: 1000,
        faults: FaultPlan::only(FaultKind::ChunkFailure, 1.0),
        ..config()
    });
    let session = create(&mut e, "a.mp4", "video", 2000, 0.0);
    let id = id_of(&session, "upload_id");
    let urls = urls(&session);
    let r = put(&mut e, &urls[&1], &[1; 1000], 1.0);
    assert_eq!(status(&r), 500);
    assert!(xml(&r).contains("<Code>InternalError</Code>"));
    let s = upload_status(&mut e, &id, "", 2.0);
    assert_eq!(s["chunks_failed"], 1, "the API requests were not faulted");
    assert_eq!(s["uploaded_chunks"][0]["status"], "failed");
    let entry = e.log().entries().find(|x| x.is_presigned()).cloned().expect("the put");
    assert_eq!(
        (entry.fault, entry.status, entry.state_changed),
        (Some(FaultKind::ChunkFailure), 500, false)
    );
    // Not stored: no proof to report; the same URL is taken once the storage is well.
    assert_eq!(status(&report(&mut e, &id, &[(1, 1000, "\"0\"")], 3.0)), 400);
    e.set_fault_plan(FaultPlan::none());
    let proof = etag(&put(&mut e, &urls[&1], &[1; 1000], 4.0));
    assert_eq!(status(&report(&mut e, &id, &[(1, 1000, &proof)], 5.0)), 200);

    e.set_fault_plan(FaultPlan::only(FaultKind::UrlExpiry, 1.0));
    let r = put(&mut e, &urls[&2], &[2; 1000], 6.0);
    assert_eq!(status(&r), 403);
    assert!(xml(&r).contains("Request has expired"));
    assert_eq!(e.log().entries().last().and_then(|x| x.fault), Some(FaultKind::UrlExpiry));
    e.set_fault_plan(FaultPlan::none());
    assert_eq!(status(&put(&mut e, &urls[&2], &[2; 1000], 7.0)), 403, "as if its hour had passed");
    let fresh = self::urls(&body_json(&more_urls(&mut e, &id, 2, 1, 8.0)));
    etag(&put(&mut e, &fresh[&2], &[2; 1000], 9.0));
}

#[test]
fn a_spread_plan_faults_chunk_puts_at_its_total() {
    let mut e = Emulator::new(Config {
        multipart_chunk_size: 10,
        multipart_initial_urls: 50,
        faults: FaultPlan::spread(0.4),
        ..config()
    });
    let mut faulted = 0;
    let mut puts = 0;
    for round in 0..20 {
        // Creating may meet an API fault; those are retried here.
        let session = loop {
            let r = e.handle(
                jockey(
                    Method::POST,
                    "/assets/multipart-uploads",
                    json_body(json!({"filename": "a.mp4", "type": "video", "total_size": 500})),
                ),
                at(round as f64),
            );
            if status(&r) == 201 && r.fault.is_none() {
                break body_json(&r);
            }
        };
        for url in urls(&session).values() {
            puts += 1;
            let r = put(&mut e, url, &[0; 10], round as f64);
            if status(&r) != 200 {
                faulted += 1;
            }
        }
    }
    let share = f64::from(faulted) / f64::from(puts);
    assert!((0.3..0.5).contains(&share), "{faulted} of {puts}");
    let kinds: std::collections::HashSet<_> =
        e.log().entries().filter(|x| x.is_presigned()).filter_map(|x| x.fault).collect();
    assert_eq!(kinds, [FaultKind::ChunkFailure, FaultKind::UrlExpiry].into());
}

#[test]
fn in_process_reads_a_chunk_from_its_file_range_and_sends_no_key() {
    let clock = ManualClock::new();
    let emulator =
        InProcess::new(Config { multipart_chunk_size: 4096, ..Config::default() }, clock.clone());
    let bytes = content(10_000, 9);
    let path =
        std::env::temp_dir().join(format!("rein-emulator-multipart-{}.bin", std::process::id()));
    std::fs::write(&path, &bytes).expect("a temporary file");
    let file = FileSource::new(&path, bytes.len() as u64);

    let created = emulator
        .exchange(jockey(
            Method::POST,
            "/assets/multipart-uploads",
            json_body(json!({"filename": "f.mp4", "type": "video", "total_size": 10_000})),
        ))
        .expect("an answer");
    assert_eq!(created.status(), 201);
    let session: rein_core::jockey::multipart::MultipartSession =
        serde_json::from_slice(created.body()).expect("the session decodes with rein-core's model");
    assert_eq!(session.total_chunks, 3);
    let mut proofs = Vec::new();
    for chunk in &session.upload_urls {
        assert!(chunk.url.starts_with(DEFAULT_PRESIGNED_BASE), "{}", chunk.url);
        let range = session.chunk_range(chunk.chunk_index, file.len).expect("a range");
        let request =
            chunk_request(&chunk.url, &file, range, &session.upload_headers).expect("a request");
        let answer = emulator.exchange(request.to_http()).expect("an answer");
        assert_eq!(answer.status(), 200);
        let etag = rein_core::jockey::multipart::chunk_etag(&answer).expect("an etag");
        let (offset, len) = (range.0 as usize, range.1 as usize);
        assert_eq!(etag, ChunkDigest::of(&bytes[offset..offset + len]).etag());
        proofs.push(json!({"chunk_index": chunk.chunk_index, "proof": etag,
                           "proof_type": "etag", "chunk_size": len}));
    }
    // A file that changed length fails before anything is sent.
    std::fs::write(&path, &bytes[..5000]).expect("rewrite");
    let more = emulator
        .exchange(jockey(
            Method::POST,
            &format!("/assets/multipart-uploads/{}/presigned-urls", session.upload_id),
            json_body(json!({"start": 1, "count": 1})),
        ))
        .expect("an answer");
    let more: rein_core::jockey::multipart::ChunkUrls =
        serde_json::from_slice(more.body()).expect("urls");
    let request = chunk_request(&more.upload_urls[0].url, &file, (0, 4096), &BTreeMap::new())
        .expect("a request");
    let error = emulator.exchange(request.to_http()).expect_err("the file changed");
    assert_eq!(error.kind, rein_core::TransportErrorKind::File);
    let _ = std::fs::remove_file(&path);

    let report = emulator
        .exchange(jockey(
            Method::POST,
            &format!("/assets/multipart-uploads/{}", session.upload_id),
            json_body(json!({"completed_chunks": proofs})),
        ))
        .expect("an answer");
    let report: rein_core::jockey::multipart::ChunkReport =
        serde_json::from_slice(report.body()).expect("the report decodes");
    assert_eq!(report.total_completed, Some(3));
    assert!(report.url.is_some());
    let log = emulator.log();
    assert_eq!(log.iter().filter(|x| x.is_presigned()).count(), 3);
    assert!(log.iter().filter(|x| x.is_presigned()).all(|x| !x.carried_api_key));
    clock.advance(Duration::from_secs(61));
    let asset = emulator
        .exchange(jockey(Method::GET, &format!("/assets/{}", session.asset_id), Body::Empty))
        .expect("an answer");
    assert_eq!(serde_json::from_slice::<Value>(asset.body()).expect("json")["status"], "ready");
}

// Over loopback: the hyper server's two listeners.

struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One request on a fresh connection, read until the server closes it.
fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: emulator\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(body).expect("body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("an answer");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Raw { status, headers, body: raw[split + 4..].to_vec() }
}

fn api(addr: SocketAddr, method: &str, path: &str, body: &Value) -> Raw {
    let body = body.to_string();
    let headers = [("x-api-key", DEMO_JOCKEY_KEY), ("content-type", "application/json")];
    send(addr, method, &format!("/v1.3{path}"), &headers, body.as_bytes())
}

/// The path and query of a URL, and the address it names.
fn split_url(url: &str) -> (SocketAddr, String) {
    let uri: http::Uri = url.parse().expect("a URL");
    let addr = uri.authority().expect("an authority").as_str().parse().expect("an address");
    (addr, uri.path_and_query().expect("a path").as_str().to_owned())
}

#[test]
fn the_server_serves_chunk_puts_on_a_listener_of_their_own() {
    let server = spawn(ServerConfig::for_tests(Config::default())).expect("a server");
    assert_ne!(server.presigned_addr(), server.addr());
    assert_eq!(server.presigned_addr().ip(), server.addr().ip());
    assert_eq!(server.presigned_url(), format!("http://{}", server.presigned_addr()));

    // A full 8 MiB chunk and the rest.
    let total = DEFAULT_MULTIPART_CHUNK_SIZE as usize + 1000;
    let bytes = content(total, 3);
    let r = api(
        server.addr(),
        "POST",
        "/assets/multipart-uploads",
        &json!({"filename": "big.mp4", "type": "video", "total_size": total}),
    );
    assert_eq!(r.status, 201, "{}", r.json());
    let session = r.json();
    let id = id_of(&session, "upload_id");
    let urls = urls(&session);
    let (chunk_addr, path1) = split_url(&urls[&1]);
    assert_eq!(chunk_addr, server.presigned_addr(), "URLs point at the presigned listener");
    let (_, path2) = split_url(&urls[&2]);

    // Each listener serves its own side only.
    let r = send(server.addr(), "PUT", &path1, &[], &bytes[..10]);
    assert_eq!(r.status, 404, "the API port has no presigned paths");
    let r = send(
        server.presigned_addr(),
        "GET",
        "/v1.3/assets",
        &[("x-api-key", DEMO_JOCKEY_KEY)],
        b"",
    );
    assert_eq!(r.status, 404, "the presigned port serves no API");
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let r = send(server.presigned_addr(), "GET", "/_emulator/health", &[], b"");
    assert_eq!(r.status, 404);

    let split = DEFAULT_MULTIPART_CHUNK_SIZE as usize;
    let r = send(server.presigned_addr(), "PUT", &path1, &[], &bytes[..split]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.is_empty());
    let e1 = r.header("etag").expect("an ETag").to_owned();
    assert_eq!(e1, ChunkDigest::of(&bytes[..split]).etag());
    // A chunk past the size the API keeps for its bodies: streamed, measured, refused for its
    // length, and the URL still good.
    let r = send(server.presigned_addr(), "PUT", &path2, &[], &vec![0; (16 << 20) + 1]);
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("EntityTooLarge"));
    let r = send(server.presigned_addr(), "PUT", &path2, &[], &bytes[split..]);
    let e2 = r.header("etag").expect("an ETag").to_owned();

    let chunks = json!({"completed_chunks": [
        {"chunk_index": 1, "proof": e1, "proof_type": "etag", "chunk_size": split},
        {"chunk_index": 2, "proof": e2, "proof_type": "etag", "chunk_size": 1000},
    ]});
    let r = api(server.addr(), "POST", &format!("/assets/multipart-uploads/{id}"), &chunks);
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(r.json()["total_completed"], 2);
    let asset = id_of(&session, "asset_id");
    let r = send(
        server.addr(),
        "GET",
        &format!("/v1.3/assets/{asset}"),
        &[("x-api-key", DEMO_JOCKEY_KEY)],
        b"",
    );
    assert_eq!(r.json()["status"], "processing");
    server.advance(Duration::from_secs(60));
    let r = send(
        server.addr(),
        "GET",
        &format!("/v1.3/assets/{asset}"),
        &[("x-api-key", DEMO_JOCKEY_KEY)],
        b"",
    );
    assert_eq!(r.json()["status"], "ready");

    let log = server.log();
    let puts: Vec<_> = log.iter().filter(|x| x.is_presigned() && x.method == Method::PUT).collect();
    assert_eq!(puts.len(), 4, "the API port's 404 is logged too");
    assert!(puts.iter().all(|x| !x.carried_api_key));
    let log_json = server.with_emulator(|e| e.log().to_json(0));
    assert_eq!(log_json[1]["carried_api_key"], false);
    assert_eq!(log_json[0]["carried_api_key"], true);
}

#[test]
fn the_binary_says_where_chunks_go_on_its_fifth_line() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rein-emulator"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let lines: Vec<String> = std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .take(5)
        .map(|l| l.expect("a line"))
        .collect();
    let api: Option<SocketAddr> =
        lines[0].strip_prefix("listening on http://").and_then(|a| a.parse().ok());
    let chunks: Option<SocketAddr> = lines[4]
        .strip_prefix("chunks: http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok());
    let answers = api.zip(chunks).map(|(api, chunks)| {
        (
            send(chunks, "GET", "/v1.3/assets", &[("x-api-key", DEMO_JOCKEY_KEY)], b"").status,
            send(api, "PUT", "/_presigned/x/1?expires=1&sig=x", &[], b"").status,
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    let (api, chunks) = api.zip(chunks).unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(answers, Some((404, 404)));
    assert_ne!(api.port(), chunks.port());
}
