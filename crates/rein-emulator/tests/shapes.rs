//! The emulator answers in the full shapes the real Jockey API sends: every modelled Jockey
//! operation is driven through the model on a manual clock (processing finished, so the ready
//! shapes appear), each answer is validated against the spec's response schema for its path,
//! method and status, and the fields the sources document as always present are checked on
//! top (the spec marks few fields `required`). The spec is read in place from
//! ../shared/reference: under `CI=true` a missing spec fails, elsewhere the test is skipped.

mod common;

use common::*;
use http::Method;
use rein_core::sse::{EventStream, SseItem};
use rein_core::Body;
use rein_emulator::jockey::unmodeled_operations;
use rein_emulator::{Config, Emulator, Reply, Timing};
use rein_reference::OpenApi;
use serde_json::{json, Value};

/// Fields always present, by resource, as `dotted.path` (a trailing `?` means "present, may be
/// null"). Sources: SDK = Python SDK 1.3.6 (reference/jockey-api.md), spec = OpenAPI (July 2026).
mod always {
    /// AssetDetail once `ready`. Spec: `technical_metadata` is omitted only while processing,
    /// `size` and `duration` (video, audio) are finalized when ready, the HLS and thumbnail URLs
    /// are present when their status is ready; SDK: HLS and thumbnails are on by default.
    pub(super) const ASSET_READY: &[&str] = &[
        "_id",
        "method",
        "status",
        "filename",
        "file_type",
        "created_at",
        "size",
        "technical_metadata",
        "technical_metadata.file_size_bytes",
        "thumbnail.status",
        "thumbnail.representative_url",
    ];
    /// Added for video and audio assets (spec: `duration`; SDK: HLS for video and audio).
    pub(super) const ASSET_READY_AV: &[&str] = &["duration", "hls.status", "hls.manifest_url"];
    /// Create's Asset (spec: Asset).
    pub(super) const ASSET_CREATED: &[&str] = &["_id", "method", "status", "created_at"];
    /// KnowledgeStore (SDK lists these; every one is sent).
    pub(super) const STORE: &[&str] =
        &["_id", "name", "item_count", "created_at", "updated_at", "metadata"];
    /// Item (SDK and spec: `asset_type` required) and its `system_metadata` once ready (spec:
    /// KnowledgeStoreItemSystemMetadata; SDK: width, height, codec_name, size not optional).
    pub(super) const ITEM: &[&str] =
        &["_id", "asset_type", "asset_id", "status", "system_metadata.asset_type", "created_at"];
    pub(super) const ITEM_READY_VIDEO: &[&str] = &[
        "system_metadata.filename",
        "system_metadata.duration",
        "system_metadata.fps",
        "system_metadata.width",
        "system_metadata.height",
        "system_metadata.codec_name",
        "system_metadata.size",
    ];
    pub(super) const ITEM_READY_IMAGE: &[&str] = &[
        "system_metadata.filename",
        "system_metadata.width",
        "system_metadata.height",
        "system_metadata.codec_name",
        "system_metadata.size",
    ];
    /// SearchResponse (SDK: `data` and `effective_search_options` required).
    pub(super) const SEARCH: &[&str] = &["data", "effective_search_options"];
    /// Response (SDK: `incomplete_details` null unless incomplete).
    pub(super) const RESPONSE: &[&str] = &[
        "id",
        "knowledge_store_id",
        "session_id",
        "type",
        "status",
        "incomplete_details?",
        "output",
        "created_at",
    ];
    /// Every output item (SDK and spec: required).
    pub(super) const OUTPUT_ITEM: &[&str] = &["type", "id", "status"];
    /// A message's content part (SDK: `annotations` required).
    pub(super) const CONTENT_PART: &[&str] = &["type", "text", "annotations"];
    /// A citation (SDK: `title`, `thumbnail_url`, `hls_url` nullable).
    pub(super) const CITATION: &[&str] =
        &["type", "start_index", "end_index", "item_id", "title?", "thumbnail_url?", "hls_url?"];
    pub(super) const FUNCTION_CALL: &[&str] = &["name", "call_id", "arguments"];
    pub(super) const FUNCTION_CALL_OUTPUT: &[&str] = &["call_id", "output"];
    /// Every stream event (SDK and spec: required).
    pub(super) const EVENT: &[&str] = &["type", "sequence_number"];
}

/// Asserts every field of `fields` is in `value` (non-null unless it ends in `?`).
fn assert_present(what: &str, value: &Value, fields: &[&str]) {
    for field in fields {
        let (path, nullable) = match field.strip_suffix('?') {
            Some(p) => (p, true),
            None => (*field, false),
        };
        let mut at = value;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let next = at.get(part);
            let Some(next) = next else {
                panic!("{what}: {path} is missing\n{value:#}");
            };
            if parts.peek().is_none() && nullable {
                break;
            }
            assert!(!next.is_null(), "{what}: {path} is null\n{value:#}");
            at = next;
        }
    }
}

struct Shapes {
    spec: OpenApi,
    e: Emulator,
    checked: Vec<String>,
}

impl Shapes {
    fn call(&mut self, m: Method, path: &str, body: Body, t: f64) -> Reply {
        self.e.handle(jockey(m, path, body), at(t))
    }

    /// Validates a JSON answer against the spec's schema for its status; returns the body.
    fn check(&mut self, template: &str, method: &str, reply: &Reply) -> Value {
        let status = reply.response.status().as_u16().to_string();
        let body = body_json(reply);
        if let Err(errors) = self.spec.check_response(template, method, &status, &body) {
            panic!("{method} {template} {status}: {errors:#?}\n{body:#}");
        }
        self.checked.push(format!("{} {template}", method.to_uppercase()));
        body
    }

    /// A value against a schema of the spec's components.
    fn check_schema(&self, name: &str, what: &str, value: &Value) {
        let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        if let Err(errors) = self.spec.check(&schema, value) {
            panic!("{what} against {name}: {errors:#?}\n{value:#}");
        }
    }

    /// An answer with no body, where the spec declares none.
    fn check_empty(&mut self, template: &str, method: &str, reply: &Reply) {
        let status = reply.response.status().as_u16().to_string();
        assert!(reply.response.status().is_success(), "{method} {template}: {status}");
        assert!(reply.response.body().is_empty());
        let declared = &self.spec.operation(template, method).expect("operation")["responses"];
        assert!(declared[&status].get("content").is_none(), "{method} {template} {status}");
        self.checked.push(format!("{} {template}", method.to_uppercase()));
    }
}

fn id(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}")).to_owned()
}

#[test]
fn every_modelled_jockey_answer_has_the_full_shape_the_spec_and_sdk_give() {
    let Some(spec) = OpenApi::load() else { return };
    let e = Emulator::new(Config {
        timing: Timing::all(std::time::Duration::from_secs(10)),
        multipart_chunk_size: 1000,
        multipart_initial_urls: 2,
        ..Config::default()
    });
    let mut s = Shapes { spec, e, checked: Vec::new() };

    // Assets by every method, with the defaults (HLS and thumbnails on).
    let mut assets = Vec::new();
    for (fields, file, kind) in [
        (vec![("method", "direct")], Some(("file", "clip.mp4", "video/mp4", 5 << 20)), "video"),
        (vec![("method", "direct")], Some(("file", "talk.mp3", "audio/mpeg", 1 << 20)), "audio"),
        (vec![("method", "direct")], Some(("file", "photo.jpg", "image/jpeg", 1 << 20)), "image"),
        (vec![("method", "url"), ("url", "https://example.com/match.mp4")], None, "video"),
    ] {
        let r = s.call(Method::POST, "/assets", form(&fields, file), 0.0);
        assert_eq!(status(&r), 201);
        let body = s.check("/assets", "post", &r);
        assert_present("created asset", &body, always::ASSET_CREATED);
        assert_eq!(body["status"], "processing");
        assets.push((id(&body, "_id"), kind));
    }
    // Multipart: one session of two chunks, completed.
    let r = s.call(
        Method::POST,
        "/assets/multipart-uploads",
        json_body(json!({"filename": "long.mp4", "type": "video", "total_size": 1500,
                         "enable_hls": true, "enable_thumbnail": true})),
        0.0,
    );
    let session = s.check("/assets/multipart-uploads", "post", &r);
    let up = format!("/assets/multipart-uploads/{}", id(&session, "upload_id"));
    let mut proofs = Vec::new();
    for (i, len) in [(0, 1000), (1, 500)] {
        let url = session["upload_urls"][i]["url"].as_str().expect("url");
        let put = http::Request::builder()
            .method(Method::PUT)
            .uri(url)
            .body(Body::Bytes(vec![1; len].into()))
            .expect("put");
        let r = s.e.handle(put, at(0.0));
        assert_eq!(status(&r), 200);
        let etag = r.response.headers()["etag"].to_str().expect("etag").to_owned();
        proofs.push(json!({"chunk_index": i + 1, "proof": etag, "proof_type": "etag",
                           "chunk_size": len}));
    }
    let r = s.call(Method::GET, "/assets/multipart-uploads", Body::Empty, 0.0);
    s.check("/assets/multipart-uploads", "get", &r);
    let r = s.call(
        Method::POST,
        &format!("{up}/presigned-urls"),
        json_body(json!({"start": 2, "count": 1})),
        0.0,
    );
    s.check("/assets/multipart-uploads/{upload_id}/presigned-urls", "post", &r);
    let r =
        s.call(Method::POST, &up, json_body(json!({ "completed_chunks": proofs.clone() })), 0.0);
    s.check("/assets/multipart-uploads/{upload_id}", "post", &r);
    let r = s.call(Method::GET, &up, Body::Empty, 0.0);
    s.check("/assets/multipart-uploads/{upload_id}", "get", &r);
    assets.push((id(&session, "asset_id"), "video"));

    // While processing: no technical metadata, no URLs, no duration.
    let r = s.call(Method::GET, &format!("/assets/{}", assets[0].0), Body::Empty, 1.0);
    let body = s.check("/assets/{asset_id}", "get", &r);
    for absent in ["technical_metadata", "duration"] {
        assert!(body.get(absent).is_none(), "{absent} while processing: {body}");
    }
    assert_eq!(body["hls"], json!({"status": "processing"}));

    // Ready: the full shape, for every method, by retrieve and by list.
    for (asset, kind) in &assets {
        let r = s.call(Method::GET, &format!("/assets/{asset}"), Body::Empty, 20.0);
        let body = s.check("/assets/{asset_id}", "get", &r);
        assert_eq!(body["status"], "ready", "{body}");
        assert_present(&format!("{kind} asset ({})", body["method"]), &body, always::ASSET_READY);
        if *kind == "image" {
            assert!(body.get("duration").is_none() && body.get("hls").is_none(), "{body}");
        } else {
            assert_present(&format!("{kind} asset"), &body, always::ASSET_READY_AV);
        }
    }
    let methods: Vec<Value> = assets
        .iter()
        .map(|(a, _)| {
            body_json(&s.call(Method::GET, &format!("/assets/{a}"), Body::Empty, 20.0))["method"]
                .clone()
        })
        .collect();
    for m in ["direct", "url", "multipart"] {
        assert!(methods.contains(&json!(m)), "{m} in {methods:?}");
    }
    let r = s.call(Method::GET, "/assets?page_limit=50", Body::Empty, 20.0);
    let list = s.check("/assets", "get", &r);
    for a in list["data"].as_array().expect("data") {
        assert_present("listed asset", a, always::ASSET_READY);
    }
    let (video, image) = (assets[0].0.clone(), assets[2].0.clone());
    let meta = json_body(json!({"user_metadata": {"a": "b"}}));
    let mp = format!("/assets/{video}/user-metadata");
    let r = s.call(Method::PUT, &mp, meta.clone(), 20.0);
    s.check_empty("/assets/{asset_id}/user-metadata", "put", &r);
    let r = s.call(Method::PATCH, &mp, meta, 20.0);
    s.check_empty("/assets/{asset_id}/user-metadata", "patch", &r);
    let r = s.call(Method::DELETE, &mp, Body::Empty, 20.0);
    s.check_empty("/assets/{asset_id}/user-metadata", "delete", &r);

    // A store, its items (video and image), every shape once ready.
    let r = s.call(Method::POST, "/knowledge-stores", json_body(json!({"name": "clips"})), 20.0);
    let store = s.check("/knowledge-stores", "post", &r);
    assert_present("store", &store, always::STORE);
    let sp = format!("/knowledge-stores/{}", id(&store, "_id"));
    let r = s.call(Method::GET, "/knowledge-stores", Body::Empty, 20.0);
    s.check("/knowledge-stores", "get", &r);
    let r = s.call(Method::PATCH, &sp, json_body(json!({"description": "d"})), 20.0);
    assert_present(
        "store",
        &s.check("/knowledge-stores/{knowledge_store_id}", "patch", &r),
        always::STORE,
    );
    let items_t = "/knowledge-stores/{knowledge_store_id}/items";
    let item_t = "/knowledge-stores/{knowledge_store_id}/items/{item_id}";
    let mut items = Vec::new();
    for asset in [&video, &image] {
        let r = s.call(
            Method::POST,
            &format!("{sp}/items"),
            json_body(json!({"asset_id": asset})),
            20.0,
        );
        let body = s.check(items_t, "post", &r);
        assert_present("queued item", &body, always::ITEM);
        items.push(id(&body, "_id"));
    }
    for (item, extra) in items.iter().zip([always::ITEM_READY_VIDEO, always::ITEM_READY_IMAGE]) {
        let r = s.call(Method::GET, &format!("{sp}/items/{item}"), Body::Empty, 40.0);
        let body = s.check(item_t, "get", &r);
        assert_eq!(body["status"], "ready", "{body}");
        assert_present("ready item", &body, always::ITEM);
        assert_present("ready item", &body, extra);
    }
    let r = s.call(Method::GET, &format!("{sp}/items"), Body::Empty, 40.0);
    for item in s.check(items_t, "get", &r)["data"].as_array().expect("data") {
        assert_present("listed item", item, always::ITEM);
    }
    let r = s.call(Method::GET, &sp, Body::Empty, 40.0);
    assert_present(
        "store",
        &s.check("/knowledge-stores/{knowledge_store_id}", "get", &r),
        always::STORE,
    );
    let r = s.call(
        Method::POST,
        &format!("{sp}/search"),
        json_body(json!({"query": {"text": "goal"}, "include_metadata": true})),
        40.0,
    );
    let found = s.check("/knowledge-stores/{knowledge_store_id}/search", "post", &r);
    assert_present("search", &found, always::SEARCH);
    assert_present(
        "video hit",
        &found["data"][0],
        &["metadata.system.duration", "metadata.system.width"],
    );

    // Responses: plain, with intermediate outputs, with a json_schema format; JSON and SSE.
    let input = json!([{"type": "message", "role": "user", "content": "What happens?"}]);
    let kid = id(&store, "_id");
    let plain = json!({"knowledge_store_id": kid, "input": input});
    let steps = json!({"knowledge_store_id": kid, "input": input,
                       "include": ["intermediate_outputs"]});
    let user_schema = json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "score": {"type": "number", "minimum": 1},
            "mood": {"type": "string", "enum": ["calm", "tense"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "ok": {"type": "boolean"}
        },
        "required": ["summary", "score", "mood", "tags", "ok"],
        "additionalProperties": false
    });
    let structured = json!({"knowledge_store_id": kid, "input": input,
                            "text": {"format": {"type": "json_schema", "name": "scene",
                                                "schema": user_schema}}});
    for (what, request) in [("plain", &plain), ("steps", &steps), ("structured", &structured)] {
        let r = s.call(Method::POST, "/responses", json_body(request.clone()), 41.0);
        assert_eq!(status(&r), 200, "{}", body_json(&r));
        // The spec gives /responses 200 only as an event stream: the JSON answer is checked
        // against the ResponseObject it is made of.
        let body = body_json(&r);
        s.check_schema("ResponseObject", what, &body);
        check_response_object(what, &body);
        let output = body["output"].as_array().expect("output");
        match what {
            "steps" => {
                let kinds: Vec<&Value> = output.iter().map(|o| &o["type"]).collect();
                assert_eq!(
                    kinds,
                    [&json!("function_call"), &json!("function_call_output"), &json!("message")]
                );
                assert_eq!(output[0]["call_id"], output[1]["call_id"]);
                let args: Value =
                    serde_json::from_str(output[0]["arguments"].as_str().expect("args"))
                        .expect("JSON arguments");
                assert!(args.is_object());
            }
            "structured" => {
                let text = output[0]["content"][0]["text"].as_str().expect("text");
                let value: Value = serde_json::from_str(text).expect("the text is JSON");
                if let Err(errors) = s.spec.check(&user_schema, &value) {
                    panic!("structured text against its schema: {errors:#?}\n{value:#}");
                }
            }
            _ => {
                let citations =
                    output[0]["content"][0]["annotations"].as_array().expect("annotations");
                assert_eq!(citations.len(), 2);
                assert!(citations[0]["hls_url"].is_string() && citations[1]["hls_url"].is_null());
            }
        }

        let mut streamed = request.clone();
        streamed["stream"] = json!(true);
        let r = s.call(Method::POST, "/responses", json_body(streamed), 41.0);
        assert_eq!(status(&r), 200);
        let mut decoder = EventStream::new();
        decoder.feed(r.response.body());
        decoder.finish();
        let mut completed = None;
        let mut kinds = Vec::new();
        while let Some(item) = decoder.next_item() {
            let SseItem::Event(ev) = item else { continue };
            let data: Value = serde_json::from_str(&ev.data).expect("json");
            assert_present(&ev.event, &data, always::EVENT);
            if let Some(item) = data.get("item") {
                assert_present(&ev.event, item, always::OUTPUT_ITEM);
            }
            if let Some(response) = data.get("response") {
                assert_present(&ev.event, response, &["incomplete_details?"]);
            }
            if ev.event == "response.completed" {
                completed = Some(data["response"].clone());
            }
            kinds.push(ev.event);
        }
        let completed = completed.expect("response.completed");
        s.check_schema("ResponseObject", what, &completed);
        check_response_object(&format!("{what} (completed event)"), &completed);
        assert_eq!(completed["output"].as_array().map(Vec::len), Some(output.len()));
        if what == "steps" {
            assert!(kinds.iter().any(|k| k == "response.function_call_arguments.done"));
        }
    }
    s.checked.push("POST /responses".into());

    // Deletes last.
    let r = s.call(Method::DELETE, &format!("{sp}/items/{}", items[0]), Body::Empty, 42.0);
    s.check_empty(item_t, "delete", &r);
    let r = s.call(Method::DELETE, &sp, Body::Empty, 42.0);
    s.check_empty("/knowledge-stores/{knowledge_store_id}", "delete", &r);
    let r = s.call(Method::DELETE, &format!("/assets/{video}?force=true"), Body::Empty, 42.0);
    s.check_empty("/assets/{asset_id}", "delete", &r);

    // Every operation the typed surface has was driven.
    let api_ops = rein_core::Operation::ALL.iter().filter(|o| !o.is_presigned());
    for op in api_ops.filter(|o| o.api() == rein_core::Api::Jockey) {
        let name = format!("{} {}", op.method(), op.path_template());
        assert!(s.checked.contains(&name), "{name} was not driven");
    }
}

/// The response object's fields, and those of its output items and citations.
fn check_response_object(what: &str, body: &Value) {
    assert_present(what, body, always::RESPONSE);
    assert_eq!(body["incomplete_details"], Value::Null, "{what}");
    for item in body["output"].as_array().expect("output") {
        assert_present(what, item, always::OUTPUT_ITEM);
        match item["type"].as_str() {
            Some("function_call") => assert_present(what, item, always::FUNCTION_CALL),
            Some("function_call_output") => {
                assert_present(what, item, always::FUNCTION_CALL_OUTPUT)
            }
            _ => {
                for part in item["content"].as_array().expect("content") {
                    assert_present(what, part, always::CONTENT_PART);
                    for citation in part["annotations"].as_array().expect("annotations") {
                        assert_present(what, citation, always::CITATION);
                    }
                }
            }
        }
    }
}

/// Every path and method of the spec gets an answer in Jockey's dialect: the modelled ones as
/// modelled, the others 501 `not_implemented`; never the "no such endpoint" 404 or a 405.
#[test]
fn every_path_of_the_spec_is_answered_and_unknown_paths_are_404() {
    let Some(spec) = OpenApi::load() else { return };
    let mut e = emulator();
    let paths = spec.document()["paths"].as_object().expect("paths").clone();
    let mut unmodeled = 0;
    for (template, ops) in &paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if ops.get(method).is_none() {
                continue;
            }
            let concrete: Vec<String> = template
                .split('/')
                .map(|s| if s.starts_with('{') { "x1".to_owned() } else { s.to_owned() })
                .collect();
            let path = concrete.join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = e.handle(jockey(m.clone(), &path, Body::Empty), at(0.0));
            let body = body_json(&r);
            let code = body["code"].as_str().unwrap_or("");
            let message = body["message"].as_str().unwrap_or("");
            assert_ne!(status(&r), 405, "{m} {template}: {body}");
            assert!(!message.starts_with("No endpoint"), "{m} {template}: {body}");
            if status(&r) == 501 {
                assert_eq!(code, "not_implemented", "{m} {template}");
                assert!(message.contains("does not model"), "{m} {template}: {message}");
                assert!(body["docs_url"].is_string(), "{body}");
                unmodeled += 1;
            }
        }
    }
    assert_eq!(unmodeled, unmodeled_operations().count());
    // The SDK's transcription endpoint: 404 for an unknown asset and for one without a
    // transcription (the emulator makes none).
    let r = e.handle(jockey(Method::GET, "/assets/nope/transcription", Body::Empty), at(0.0));
    assert_eq!((status(&r), body_json(&r)["code"].clone()), (404, json!("not_found")));
    let asset = create_asset(&mut e, at(0.0));
    let r = e.handle(
        jockey(Method::GET, &format!("/assets/{asset}/transcription"), Body::Empty),
        at(60.0),
    );
    assert_eq!(status(&r), 404);
    assert!(body_json(&r)["message"].as_str().unwrap_or("").contains("No transcription"));
    // A path the API does not have keeps its 404; a wrong method on an unmodelled path, 405.
    let r = e.handle(jockey(Method::GET, "/no-such-thing", Body::Empty), at(0.0));
    assert_eq!((status(&r), body_json(&r)["code"].clone()), (404, json!("not_found")));
    let r = e.handle(jockey(Method::PUT, "/entity-collections", Body::Empty), at(0.0));
    assert_eq!(status(&r), 405);
}
