//! The model's state machines, pagination, responses, determinism and faults, driven by
//! advancing `now` by hand.

mod common;

use std::time::Duration;

use common::*;
use http::Method;
use rein_core::sse::{EventStream, SseItem};
use rein_core::{Body, Moment};
use rein_emulator::{Config, Emulator, FaultKind, FaultPlan, Timing, WireFault};
use serde_json::{json, Value};

fn get(e: &mut Emulator, path: &str, t: f64) -> Value {
    let r = e.handle(jockey(Method::GET, path, Body::Empty), at(t));
    assert_eq!(status(&r), 200, "{path}: {}", body_json(&r));
    body_json(&r)
}

fn get_jack(e: &mut Emulator, path: &str, t: f64) -> Value {
    let r = e.handle(jack(Method::GET, path, Body::Empty), at(t));
    assert_eq!(status(&r), 200, "{path}: {}", body_json(&r));
    body_json(&r)
}

#[test]
fn an_asset_is_processing_then_ready() {
    let mut e = emulator();
    let id = create_asset(&mut e, at(0.0));
    let a = get(&mut e, &format!("/assets/{id}"), 29.0);
    assert_eq!(a["status"], "processing");
    assert_eq!(a["size"], 1 << 20);
    let a = get(&mut e, &format!("/assets/{id}"), 30.0);
    assert_eq!(a["status"], "ready");
    assert_eq!(a["method"], "direct");
    assert!(a.get("error").is_none());
    assert_eq!(e.next_change(), None);
}

#[test]
fn a_failed_asset_carries_its_error_and_stays_failed() {
    let mut e = Emulator::new(Config { failure_rate: 1.0, ..config() });
    let id = create_asset(&mut e, at(0.0));
    assert_eq!(e.next_change(), Some(Moment::from_secs(30)));
    let a = get(&mut e, &format!("/assets/{id}"), 31.0);
    assert_eq!(a["status"], "failed");
    assert!(a["error"]["message"].as_str().is_some());
    let a = get(&mut e, &format!("/assets/{id}"), 10_000.0);
    assert_eq!(a["status"], "failed");
}

#[test]
fn url_assets_take_their_name_from_the_url() {
    let mut e = emulator();
    let r = e.handle(
        jockey(
            Method::POST,
            "/assets",
            form(
                &[
                    ("method", "url"),
                    ("url", "https://cdn.example.com/media/talk.mp4?sig=1"),
                    ("user_metadata", r#"{"team":"a","n":3}"#),
                ],
                None,
            ),
        ),
        at(0.0),
    );
    assert_eq!(status(&r), 201);
    let a = body_json(&r);
    assert_eq!(a["filename"], "talk.mp4");
    assert_eq!(a["file_type"], "video/mp4");
    assert_eq!(a["user_metadata"], json!({"team": "a", "n": 3}));
}

#[test]
fn an_item_is_queued_pending_processing_then_ready() {
    let mut e = emulator();
    let asset = create_asset(&mut e, at(0.0));
    let store = create_store(&mut e, at(0.0));
    let item = add_item(&mut e, &store, &asset, at(30.0));
    let path = format!("/knowledge-stores/{store}/items/{item}");
    let seen: Vec<Value> = [30.0, 40.0, 50.0, 129.0, 130.0]
        .iter()
        .map(|&t| get(&mut e, &path, t)["status"].clone())
        .collect();
    assert_eq!(seen, ["queued", "pending", "processing", "processing", "ready"]);
    let item_json = get(&mut e, &path, 131.0);
    assert_eq!(item_json["asset_type"], "video");
    assert_eq!(item_json["system_metadata"]["filename"], "clip.mp4");
    assert_eq!(item_json["updated_at"], "2026-01-01T00:02:10Z");
    let store_json = get(&mut e, &format!("/knowledge-stores/{store}"), 131.0);
    assert_eq!(store_json["item_count"], 1);
}

#[test]
fn an_asset_that_is_not_ready_cannot_become_an_item() {
    let mut e = Emulator::new(Config { failure_rate: 1.0, ..config() });
    let asset = create_asset(&mut e, at(0.0));
    let store = create_store(&mut e, at(0.0));
    let add = |e: &mut Emulator, t: f64| {
        let r = e.handle(
            jockey(
                Method::POST,
                &format!("/knowledge-stores/{store}/items"),
                json_body(json!({"asset_id": asset})),
            ),
            at(t),
        );
        (status(&r), body_json(&r)["message"].as_str().unwrap_or("").to_owned())
    };
    let (s, message) = add(&mut e, 1.0);
    assert_eq!(s, 400);
    assert!(message.contains("processing"), "{message}");
    let (s, message) = add(&mut e, 31.0);
    assert_eq!(s, 400);
    assert!(message.contains("failed"), "{message}");
}

#[test]
fn items_fail_at_the_configured_rate() {
    // Half the resources fail: over many items both endings appear, and failures are final.
    let mut e = Emulator::new(Config { failure_rate: 0.5, seed: 11, ..config() });
    let store = create_store(&mut e, at(0.0));
    let mut ready_assets = Vec::new();
    for _ in 0..40 {
        let id = create_asset(&mut e, at(0.0));
        ready_assets.push(id);
    }
    let ready_assets: Vec<String> = ready_assets
        .into_iter()
        .filter(|id| get(&mut e, &format!("/assets/{id}"), 30.0)["status"] == "ready")
        .collect();
    assert!(ready_assets.len() > 5 && ready_assets.len() < 35);
    for a in &ready_assets {
        add_item(&mut e, &store, a, at(30.0));
    }
    let list =
        get(&mut e, &format!("/knowledge-stores/{store}/items?status=failed&page_limit=50"), 130.0);
    let failed = list["data"].as_array().expect("data").len();
    let list = get(
        &mut e,
        &format!("/knowledge-stores/{store}/items?status=ready&status=failed&page_limit=50"),
        130.0,
    );
    let settled = list["data"].as_array().expect("data").len();
    assert_eq!(settled, ready_assets.len());
    assert!(failed > 0 && failed < settled, "{failed} of {settled}");
}

#[test]
fn a_document_is_processing_then_ready_with_chunks() {
    let mut e = emulator();
    let text = "refund policy ".repeat(500);
    let r = e.handle(
        jack(
            Method::POST,
            "/ingest",
            json_body(json!({"documents": [{"text": text, "metadata": {"lang": "en"}}], "chunk_size": 128})),
        ),
        at(0.0),
    );
    assert_eq!(status(&r), 202);
    let accepted = body_json(&r);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["queued"], 1);
    let id = accepted["document_ids"][0].as_str().expect("id").to_owned();
    let d = get_jack(&mut e, &format!("/documents/{id}"), 19.0);
    assert_eq!(d["status"], "processing");
    assert_eq!(d["chunk_count"], 0);
    assert_eq!(d["error_message"], Value::Null);
    let d = get_jack(&mut e, &format!("/documents/{id}"), 20.0);
    assert_eq!(d["status"], "ready");
    assert!(d["chunk_count"].as_u64().expect("count") > 1);
    assert_eq!(d["created_at"], "2026-01-01T00:00:00Z");
    assert_eq!(d["updated_at"], "2026-01-01T00:00:20Z");

    let q = e.handle(
        jack(
            Method::POST,
            "/query",
            json_body(json!({"question": "What is the refund policy?", "filters": {"lang": "en"}})),
        ),
        at(21.0),
    );
    assert_eq!(status(&q), 200);
    let q = body_json(&q);
    assert_eq!(q["citations"].as_array().expect("citations").len(), 1);
    assert_eq!(q["citations"][0]["source"], id.as_str());
    let usage = get_jack(&mut e, "/usage", 22.0);
    assert_eq!(usage["total_queries"], 1);
    assert_eq!(usage["daily"], json!([{"date": "2026-01-01", "count": 1}]));
    assert_eq!(usage["rate_limit_rpm"], 60);
    assert_eq!(usage["period_days"], 30);
}

#[test]
fn a_failed_document_says_why() {
    let mut e = Emulator::new(Config { failure_rate: 1.0, ..config() });
    let r = e.handle(
        jack(
            Method::POST,
            "/ingest/file",
            form(&[], Some(("file", "handbook.pdf", "application/pdf", 4096))),
        ),
        at(0.0),
    );
    assert_eq!(status(&r), 202);
    let id = body_json(&r)["document_ids"][0].as_str().expect("id").to_owned();
    let d = get_jack(&mut e, &format!("/documents/{id}"), 25.0);
    assert_eq!(d["status"], "failed");
    assert_eq!(d["source_type"], "file");
    assert_eq!(d["filename"], "handbook.pdf");
    assert!(d["error_message"].as_str().is_some());
}

#[test]
fn documents_list_newest_first_and_deletes_remove() {
    let mut e = emulator();
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = e.handle(
            jack(
                Method::POST,
                "/ingest",
                json_body(json!({"documents": [{"text": format!("doc {i}")}]})),
            ),
            at(f64::from(i)),
        );
        ids.push(body_json(&r)["document_ids"][0].as_str().expect("id").to_owned());
    }
    let list = get_jack(&mut e, "/documents", 5.0);
    let listed: Vec<&str> = list
        .as_array()
        .expect("a bare array")
        .iter()
        .map(|d| d["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    let r = e.handle(jack(Method::DELETE, &format!("/documents/{}", ids[1]), Body::Empty), at(6.0));
    assert_eq!(status(&r), 204);
    let r = e.handle(jack(Method::GET, &format!("/documents/{}", ids[1]), Body::Empty), at(7.0));
    assert_eq!(status(&r), 404);
}

#[test]
fn item_lists_page_by_fifty_and_filter_by_status() {
    let mut e = Emulator::new(Config { timing: Timing::all(Duration::from_secs(10)), ..config() });
    let store = create_store(&mut e, at(0.0));
    let asset = create_asset(&mut e, at(0.0));
    for i in 0..60 {
        add_item(&mut e, &store, &asset, at(10.0 + f64::from(i)));
    }
    let path = format!("/knowledge-stores/{store}/items");
    let p1 = get(&mut e, &format!("{path}?page_limit=50"), 70.0);
    assert_eq!(p1["data"].as_array().expect("data").len(), 50);
    assert_eq!(
        p1["page_info"],
        json!({"limit_per_page": 50, "page": 1, "total_page": 2, "total_results": 60})
    );
    let p2 = get(&mut e, &format!("{path}?page_limit=50&page=2"), 70.0);
    assert_eq!(p2["data"].as_array().expect("data").len(), 10);
    // At t=70 the items added at t >= 61 are still in flight.
    let ready = get(&mut e, &format!("{path}?status=ready&page_limit=50"), 70.0);
    assert_eq!(ready["page_info"]["total_results"], 51);
    let r = e.handle(jockey(Method::GET, &format!("{path}?page_limit=51"), Body::Empty), at(70.0));
    assert_eq!(status(&r), 400);
}

#[test]
fn asset_lists_filter_and_page() {
    let mut e = emulator();
    let a = create_asset(&mut e, at(0.0));
    let b = create_asset(&mut e, at(1.0));
    let list = get(&mut e, "/assets", 2.0);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x["_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);
    let one = get(&mut e, &format!("/assets?asset_ids={a}&filename=CLIP"), 2.0);
    assert_eq!(one["page_info"]["total_results"], 1);
    let none = get(&mut e, "/assets?asset_types=image", 2.0);
    assert_eq!(none["page_info"]["total_results"], 0);
}

#[test]
fn user_metadata_is_replaced_merged_and_deleted() {
    let mut e = emulator();
    let id = create_asset(&mut e, at(0.0));
    let path = format!("/assets/{id}/user-metadata");
    let r = e.handle(
        jockey(
            Method::PUT,
            &path,
            json_body(json!({"user_metadata": {"a": "1", "b": 2, "skip": ""}})),
        ),
        at(1.0),
    );
    assert_eq!(status(&r), 200);
    let r = e.handle(
        jockey(Method::PATCH, &path, json_body(json!({"user_metadata": {"a": null, "c": true}}))),
        at(2.0),
    );
    assert_eq!(status(&r), 200);
    let a = get(&mut e, &format!("/assets/{id}"), 3.0);
    assert_eq!(a["user_metadata"], json!({"b": 2, "c": true}));
    let r = e.handle(jockey(Method::DELETE, &path, Body::Empty), at(4.0));
    assert_eq!(status(&r), 200);
    assert_eq!(get(&mut e, &format!("/assets/{id}"), 5.0)["user_metadata"], json!({}));
}

fn ready_store_with_items(n: usize) -> (Emulator, String) {
    let mut e = Emulator::new(Config { timing: Timing::all(Duration::from_secs(10)), ..config() });
    let store = create_store(&mut e, at(0.0));
    let asset = create_asset(&mut e, at(0.0));
    for _ in 0..n {
        add_item(&mut e, &store, &asset, at(10.0));
    }
    (e, store)
}

#[test]
fn search_pages_with_tokens_that_expire() {
    let (mut e, store) = ready_store_with_items(25);
    let path = format!("/knowledge-stores/{store}/search");
    let search = |e: &mut Emulator, body: Value, t: f64| {
        let r = e.handle(jockey(Method::POST, &path, json_body(body)), at(t));
        (status(&r), body_json(&r))
    };
    let (s, first) = search(&mut e, json!({"query": {"text": "goal"}, "page_size": 10}), 30.0);
    assert_eq!(s, 200);
    assert_eq!(first["data"].as_array().expect("data").len(), 10);
    assert_eq!(first["effective_search_options"], json!({"video": {"modalities": ["visual"]}}));
    let token = first["next_page_token"].as_str().expect("token").to_owned();
    let (s, second) = search(&mut e, json!({"query": {"text": "goal"}, "page_token": token}), 31.0);
    assert_eq!(s, 200);
    assert_eq!(second["data"][0]["rank"], 11);
    let token2 = second["next_page_token"].as_str().expect("token").to_owned();

    let (s, body) =
        search(&mut e, json!({"query": {"text": "goal"}, "page_token": "pt_bogus"}), 32.0);
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_request")));
    let (s, body) =
        search(&mut e, json!({"query": {"text": "goal"}, "page_token": token2}), 32.0 + 601.0);
    assert_eq!((s, body["code"].as_str()), (410, Some("page_token_expired")));
}

#[test]
fn responses_accept_both_shapes_and_keep_sessions() {
    let (mut e, store) = ready_store_with_items(2);
    let input =
        json!([{"type": "message", "role": "user", "content": "What happens in the clip?"}]);
    let r = e.handle(
        jockey(
            Method::POST,
            "/responses",
            json_body(json!({"tools": [{"type": "knowledge_store", "knowledge_store_id": store}], "input": input})),
        ),
        at(30.0),
    );
    assert_eq!(status(&r), 200, "{}", body_json(&r));
    let first = body_json(&r);
    assert_eq!(first["status"], "completed");
    assert_eq!(first["knowledge_store_id"], store.as_str());
    let text = first["output"][0]["content"][0]["text"].as_str().expect("text");
    let annotations =
        first["output"][0]["content"][0]["annotations"].as_array().expect("annotations");
    assert_eq!(annotations.len(), 2);
    // end_index is inclusive and counts code points.
    let chars: Vec<char> = text.chars().collect();
    let (s, end) = (
        annotations[0]["start_index"].as_u64().expect("start") as usize,
        annotations[0]["end_index"].as_u64().expect("end") as usize,
    );
    assert_eq!(chars[s..=end].iter().collect::<String>(), "[1]");

    let session = first["session_id"].as_str().expect("session").to_owned();
    let r = e.handle(
        jockey(
            Method::POST,
            "/responses",
            json_body(json!({"knowledge_store_id": store, "input": input, "session_id": session})),
        ),
        at(31.0),
    );
    assert_eq!(status(&r), 200);
    assert_eq!(body_json(&r)["session_id"], session.as_str());
}

#[test]
fn a_streamed_response_is_numbered_events_ending_in_done() {
    let (mut e, store) = ready_store_with_items(1);
    let r = e.handle(
        jockey(
            Method::POST,
            "/responses",
            json_body(json!({
                "knowledge_store_id": store,
                "input": [{"type": "message", "role": "user", "content": "Summarise the clip"}],
                "stream": true
            })),
        ),
        at(30.0),
    );
    assert_eq!(status(&r), 200);
    assert_eq!(r.response.headers()["content-type"], "text/event-stream");
    let mut decoder = EventStream::new();
    decoder.feed(r.response.body());
    decoder.finish();
    let mut types = Vec::new();
    let mut text = String::new();
    let mut done = false;
    while let Some(item) = decoder.next_item() {
        match item {
            SseItem::Event(ev) => {
                let data: Value = serde_json::from_str(&ev.data).expect("json data");
                assert_eq!(data["type"], ev.event.as_str());
                assert_eq!(data["sequence_number"], types.len());
                if ev.event == "response.output_text.delta" {
                    text.push_str(data["delta"].as_str().expect("delta"));
                }
                if ev.event == "response.completed" {
                    let full = &data["response"]["output"][0]["content"][0]["text"];
                    assert_eq!(full.as_str(), Some(text.as_str()));
                }
                types.push(ev.event);
            }
            SseItem::Done => done = true,
            SseItem::Oversized { .. } => panic!("oversized"),
        }
    }
    assert!(done);
    assert_eq!(types.first().map(String::as_str), Some("response.created"));
    assert_eq!(types.last().map(String::as_str), Some("response.completed"));
    insta::assert_snapshot!("streamed_response", String::from_utf8_lossy(r.response.body()));
}

#[test]
fn stores_are_listed_updated_and_deleted_with_their_items() {
    let (mut e, store) = ready_store_with_items(3);
    let other = create_store(&mut e, at(40.0));
    let list = get(&mut e, "/knowledge-stores?sort_option=asc", 41.0);
    assert_eq!(list["data"][0]["_id"], store.as_str());
    assert_eq!(list["data"][1]["_id"], other.as_str());
    let r = e.handle(
        jockey(
            Method::PATCH,
            &format!("/knowledge-stores/{store}"),
            json_body(json!({"name": "renamed", "metadata": {"team": "x"}})),
        ),
        at(50.0),
    );
    assert_eq!(status(&r), 200);
    assert_eq!(body_json(&r)["name"], "renamed");
    assert_eq!(body_json(&r)["updated_at"], "2026-01-01T00:00:50Z");
    let list = get(&mut e, "/knowledge-stores?sort_by=updated_at", 51.0);
    assert_eq!(list["data"][0]["_id"], store.as_str());
    let r = e.handle(
        jockey(Method::DELETE, &format!("/knowledge-stores/{store}"), Body::Empty),
        at(52.0),
    );
    assert_eq!(status(&r), 200);
    let r = e.handle(
        jockey(Method::GET, &format!("/knowledge-stores/{store}/items"), Body::Empty),
        at(53.0),
    );
    assert_eq!(status(&r), 404);
}

#[test]
fn keys_are_created_listed_and_revoked() {
    let mut e = emulator();
    let r = e.handle(jack(Method::POST, "/keys", json_body(json!({"label": "ci"}))), at(0.0));
    assert_eq!(status(&r), 201);
    let created = body_json(&r);
    let key = created["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("jack_") && key.len() == 53);
    let r = e.handle(jack_with_key(Method::GET, "/usage", Body::Empty, &key), at(1.0));
    assert_eq!(status(&r), 200);
    let list = get_jack(&mut e, "/keys", 2.0);
    assert_eq!(list.as_array().expect("array").len(), 2);
    let id = created["id"].as_str().expect("id");
    let r = e.handle(jack(Method::DELETE, &format!("/keys/{id}"), Body::Empty), at(3.0));
    assert_eq!(status(&r), 204);
    let r = e.handle(jack_with_key(Method::GET, "/usage", Body::Empty, &key), at(4.0));
    assert_eq!(status(&r), 403);
    assert_eq!(body_json(&r), json!({"detail": "API key has been revoked"}));
    let list = get_jack(&mut e, "/keys", 5.0);
    assert!(list[1]["revoked_at"].is_string());
}

/// A fixed script touching every endpoint, with the replies rendered as text.
fn script(seed: u64, faults: FaultPlan) -> Vec<String> {
    let mut e = Emulator::new(Config { seed, faults, failure_rate: 0.3, ..Config::default() });
    let mut out = Vec::new();
    let mut t = 0.0;
    for i in 0..40 {
        t += 7.5;
        let r = match i % 5 {
            0 => e.handle(
                jockey(
                    Method::POST,
                    "/assets",
                    form(&[("method", "direct")], Some(("file", "a.mp4", "video/mp4", 100))),
                ),
                at(t),
            ),
            1 => e.handle(jockey(Method::GET, "/assets", Body::Empty), at(t)),
            2 => e.handle(
                jack(Method::POST, "/ingest", json_body(json!({"documents": [{"text": "x"}]}))),
                at(t),
            ),
            3 => e.handle(jack(Method::GET, "/documents", Body::Empty), at(t)),
            _ => e.handle(
                jockey(Method::POST, "/knowledge-stores", json_body(json!({"name": "s"}))),
                at(t),
            ),
        };
        out.push(format!(
            "{} {:?} {}",
            r.response.status(),
            r.fault,
            String::from_utf8_lossy(r.response.body())
        ));
    }
    out
}

#[test]
fn the_same_seed_and_requests_give_the_same_replies() {
    let plan = FaultPlan::spread(0.3);
    assert_eq!(script(5, plan.clone()), script(5, plan.clone()));
    assert_ne!(script(5, plan.clone()), script(6, plan));
    assert_eq!(script(5, FaultPlan::none()), script(5, FaultPlan::none()));
}

#[test]
fn faults_are_logged_and_resets_before_processing_change_nothing() {
    let mut e = Emulator::new(Config {
        faults: FaultPlan::only(FaultKind::ResetBeforeProcessing, 1.0),
        ..config()
    });
    let r = e.handle(
        jack(Method::POST, "/ingest", json_body(json!({"documents": [{"text": "x"}]}))),
        at(0.0),
    );
    assert_eq!(r.fault, Some(WireFault::ResetBeforeProcessing));
    let log = e.log().to_vec();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].fault, Some(FaultKind::ResetBeforeProcessing));
    assert!(!log[0].state_changed);

    let mut e = Emulator::new(Config {
        faults: FaultPlan::only(FaultKind::ResetAfterProcessing, 1.0),
        ..config()
    });
    let ingest = || jack(Method::POST, "/ingest", json_body(json!({"documents": [{"text": "x"}]})));
    let r = e.handle(ingest(), at(0.0));
    assert_eq!(r.fault, Some(WireFault::ResetAfterProcessing));
    let r = e.handle(ingest(), at(1.0));
    assert_eq!(r.fault, Some(WireFault::ResetAfterProcessing));
    // A client that retried after the reset created a duplicate: the log shows both.
    assert_eq!(e.log().count(&Method::POST, "/v1/ingest"), 2);
    assert!(e.log().entries().all(|x| x.state_changed));
}

#[test]
fn truncation_keeps_the_full_content_length() {
    let mut e = Emulator::new(Config {
        faults: FaultPlan::only(FaultKind::TruncatedBody, 1.0),
        ..config()
    });
    let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(0.0));
    let Some(WireFault::Truncate { keep }) = r.fault else { panic!("{:?}", r.fault) };
    assert!(keep < r.response.body().len());
    assert_eq!(
        r.response.headers()["content-length"],
        r.response.body().len().to_string().as_str()
    );
}

#[test]
fn injected_5xx_come_as_json_or_proxy_html() {
    let mut plan = FaultPlan::only(FaultKind::BadGateway, 1.0);
    plan.html_share = 1.0;
    let mut e = Emulator::new(Config { faults: plan, ..config() });
    let r = e.handle(jockey(Method::GET, "/assets", Body::Empty), at(0.0));
    assert_eq!(status(&r), 502);
    let page = String::from_utf8_lossy(r.response.body()).into_owned();
    assert!(page.contains("<title>502 Bad Gateway</title>"), "{page}");

    let mut plan = FaultPlan::only(FaultKind::ServiceUnavailable, 1.0);
    plan.html_share = 0.0;
    let mut e = Emulator::new(Config { faults: plan, ..config() });
    let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(0.0));
    assert_eq!(status(&r), 503);
    assert_eq!(body_json(&r), json!({"detail": "Service unavailable"}));
    let r = e.handle(jockey(Method::GET, "/assets", Body::Empty), at(0.0));
    assert_eq!(body_json(&r)["code"], "service_unavailable");
}

#[test]
fn a_429_burst_is_consecutive_and_carries_retry_after() {
    let mut plan = FaultPlan::only(FaultKind::RateLimitBurst, 0.0);
    plan.burst_len = (3, 3);
    plan.rate_limit_burst = 1.0;
    let mut e = Emulator::new(Config { faults: plan, ..config() });
    for t in 0..3 {
        let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(f64::from(t)));
        assert_eq!(status(&r), 429);
        assert_eq!(r.response.headers()["retry-after"], "60");
        assert_eq!(body_json(&r), json!({"detail": "Rate limit exceeded"}));
    }
    let r = e.handle(jockey(Method::GET, "/assets", Body::Empty), at(4.0));
    assert_eq!(status(&r), 429);
    let secs: u64 =
        r.response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=5).contains(&secs));
}

#[test]
fn the_log_is_served_as_json_and_not_logged_itself() {
    let mut e = emulator();
    create_asset(&mut e, at(0.0));
    let r = e.handle(
        http::Request::get("http://emulator/_emulator/log").body(Body::Empty).expect("request"),
        at(1.0),
    );
    let log = body_json(&r);
    assert_eq!(log.as_array().expect("array").len(), 1);
    assert_eq!(log[0]["path"], "/v1.3/assets");
    assert_eq!(log[0]["state_changed"], true);
    assert_eq!(e.log().total(), 1);
}
