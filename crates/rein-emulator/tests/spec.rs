//! Every Jockey success response the emulator produces, validated against the vendor's
//! OpenAPI spec (read in place from ../shared/reference; skipped outside CI when absent), with
//! error answers of the multipart upload endpoints against the spec's error schemas.

mod common;

use common::*;
use http::Method;
use rein_core::sse::{EventStream, SseItem};
use rein_core::Body;
use rein_emulator::{Config, Emulator, Reply, Timing};
use rein_reference::OpenApi;
use serde_json::{json, Value};

struct Checker {
    spec: OpenApi,
    checked: Vec<String>,
}

impl Checker {
    /// Checks a reply against the spec's response for `template` and `method`.
    fn check(&mut self, template: &str, method: &str, reply: &Reply) {
        let status = reply.response.status().as_u16().to_string();
        assert!(reply.response.status().is_success(), "{method} {template}: {status}");
        let op = self
            .spec
            .operation(template, method)
            .unwrap_or_else(|| panic!("the spec has {method} {template}"));
        let declared = &op["responses"][&status];
        assert!(!declared.is_null(), "{method} {template} declares {status}");
        if reply.response.body().is_empty() {
            assert!(
                declared.get("content").is_none(),
                "{method} {template} {status} has content in the spec"
            );
        } else {
            let body: Value = serde_json::from_slice(reply.response.body()).expect("json");
            if let Err(errors) = self.spec.check_response(template, method, &status, &body) {
                panic!("{method} {template} {status}: {errors:#?}\n{body:#}");
            }
        }
        self.checked.push(format!("{} {template} {status}", method.to_uppercase()));
    }

    /// Checks an error reply (`status`) against the spec's response for `template` and `method`.
    fn check_error(&mut self, template: &str, method: &str, status: u16, reply: &Reply) {
        assert_eq!(reply.response.status().as_u16(), status, "{method} {template}");
        let status = status.to_string();
        let declared =
            &self.spec.operation(template, method).expect("the operation")["responses"][&status];
        assert!(!declared.is_null(), "{method} {template} declares {status}");
        let body: Value = serde_json::from_slice(reply.response.body()).expect("json");
        if let Err(errors) = self.spec.check_response(template, method, &status, &body) {
            panic!("{method} {template} {status}: {errors:#?}\n{body:#}");
        }
        self.checked.push(format!("{} {template} {status}", method.to_uppercase()));
    }

    fn check_schema(&mut self, name: &str, what: &str, value: &Value) {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        if let Err(errors) = self.spec.check(&schema, value) {
            panic!("{what} against {name}: {errors:#?}\n{value:#}");
        }
        self.checked.push(what.to_owned());
    }
}

#[test]
fn every_jockey_success_response_matches_the_spec() {
    let Some(spec) = OpenApi::load() else { return };
    let mut c = Checker { spec, checked: Vec::new() };
    let mut e = Emulator::new(Config {
        timing: Timing::all(std::time::Duration::from_secs(10)),
        multipart_chunk_size: 1000,
        multipart_initial_urls: 2,
        ..Config::default()
    });
    let mut call = |m: Method, path: &str, body: Body, t: f64| {
        let request = if path.starts_with("http") {
            // A chunk PUT to a presigned URL: no key.
            http::Request::builder().method(m).uri(path).body(body).expect("request")
        } else {
            jockey(m, path, body)
        };
        e.handle(request, at(t))
    };

    // Assets: direct (video, with HLS and thumbnail), URL, image.
    let r = call(
        Method::POST,
        "/assets",
        form(
            &[
                ("method", "direct"),
                ("enable_hls", "true"),
                ("enable_thumbnail", "true"),
                ("user_metadata", r#"{"k":"v"}"#),
            ],
            Some(("file", "clip.mp4", "video/mp4", 5 << 20)),
        ),
        0.0,
    );
    c.check("/assets", "post", &r);
    let video = body_json(&r)["_id"].as_str().expect("id").to_owned();
    let r = call(
        Method::POST,
        "/assets",
        form(&[("method", "url"), ("url", "https://example.com/a.mp4")], None),
        0.0,
    );
    c.check("/assets", "post", &r);
    let r = call(
        Method::POST,
        "/assets",
        form(&[("method", "direct")], Some(("file", "photo.png", "image/png", 1 << 20))),
        0.0,
    );
    c.check("/assets", "post", &r);
    let image = body_json(&r)["_id"].as_str().expect("id").to_owned();
    c.check(
        "/assets/{asset_id}",
        "get",
        &call(Method::GET, &format!("/assets/{video}"), Body::Empty, 1.0),
    );
    c.check(
        "/assets/{asset_id}",
        "get",
        &call(Method::GET, &format!("/assets/{video}"), Body::Empty, 11.0),
    );
    c.check("/assets", "get", &call(Method::GET, "/assets?page_limit=2", Body::Empty, 11.0));
    let meta = json_body(json!({"user_metadata": {"a": "b", "n": 1}}));
    c.check(
        "/assets/{asset_id}/user-metadata",
        "put",
        &call(Method::PUT, &format!("/assets/{video}/user-metadata"), meta.clone(), 12.0),
    );
    c.check(
        "/assets/{asset_id}/user-metadata",
        "patch",
        &call(Method::PATCH, &format!("/assets/{video}/user-metadata"), meta, 12.0),
    );
    c.check(
        "/assets/{asset_id}/user-metadata",
        "delete",
        &call(Method::DELETE, &format!("/assets/{video}/user-metadata"), Body::Empty, 12.0),
    );

    // Knowledge stores.
    let r = call(
        Method::POST,
        "/knowledge-stores",
        json_body(json!({
            "name": "clips",
            "description": "team clips",
            "metadata": {"team": "a"},
            "ingestion_config": {"enrichment_config": {"type": "json_schema", "json_schema": {
                "type": "object",
                "properties": {"scene": {"type": "string", "description": "What happens"}},
                "required": ["scene"]
            }}}
        })),
        12.0,
    );
    c.check("/knowledge-stores", "post", &r);
    let store = body_json(&r)["_id"].as_str().expect("id").to_owned();
    let r = call(
        Method::POST,
        "/knowledge-stores",
        json_body(
            json!({"name": "other", "ingestion_config": {"enrichment_config": {"type": "description", "description": "Describe each shot"}}}),
        ),
        12.0,
    );
    c.check("/knowledge-stores", "post", &r);
    let other = body_json(&r)["_id"].as_str().expect("id").to_owned();
    let sp = format!("/knowledge-stores/{store}");
    c.check("/knowledge-stores", "get", &call(Method::GET, "/knowledge-stores", Body::Empty, 13.0));
    c.check(
        "/knowledge-stores/{knowledge_store_id}",
        "get",
        &call(Method::GET, &sp, Body::Empty, 13.0),
    );
    c.check(
        "/knowledge-stores/{knowledge_store_id}",
        "patch",
        &call(
            Method::PATCH,
            &sp,
            json_body(json!({"name": "renamed", "metadata": {"x": "y"}})),
            13.0,
        ),
    );

    // Items: video and image, every status along the way.
    let items_t = "/knowledge-stores/{knowledge_store_id}/items";
    let r = call(
        Method::POST,
        &format!("{sp}/items"),
        json_body(json!({"asset_id": video, "asset_type": "video", "metadata": {"lang": "en"}})),
        14.0,
    );
    c.check(items_t, "post", &r);
    let item = body_json(&r)["_id"].as_str().expect("id").to_owned();
    let r = call(Method::POST, &format!("{sp}/items"), json_body(json!({"asset_id": image})), 14.0);
    c.check(items_t, "post", &r);
    for t in [14.0, 15.0, 16.0, 24.0] {
        c.check(
            "/knowledge-stores/{knowledge_store_id}/items/{item_id}",
            "get",
            &call(Method::GET, &format!("{sp}/items/{item}"), Body::Empty, t),
        );
    }
    c.check(
        items_t,
        "get",
        &call(Method::GET, &format!("{sp}/items?status=ready"), Body::Empty, 24.0),
    );

    // Search, with metadata, across two pages.
    let search_t = "/knowledge-stores/{knowledge_store_id}/search";
    let r = call(
        Method::POST,
        &format!("{sp}/search"),
        json_body(json!({"query": {"text": "goal"}, "page_size": 1, "include_metadata": true,
                         "search_options": {"video": {"modalities": ["visual", "audio"]}}})),
        25.0,
    );
    c.check(search_t, "post", &r);
    let token = body_json(&r)["next_page_token"].as_str().expect("token").to_owned();
    let r = call(
        Method::POST,
        &format!("{sp}/search"),
        json_body(json!({"query": {"text": "goal"}, "page_token": token})),
        25.0,
    );
    c.check(search_t, "post", &r);
    assert_eq!(body_json(&r)["data"][0]["asset_type"], "image");

    // Responses: JSON and streamed.
    let input = json!([{"type": "message", "role": "user", "content": "What happens?"}]);
    let r = call(
        Method::POST,
        "/responses",
        json_body(json!({"knowledge_store_id": store, "input": input})),
        26.0,
    );
    assert_eq!(r.response.status(), 200);
    c.check_schema("ResponseObject", "POST /responses (JSON)", &body_json(&r));
    let r = call(
        Method::POST,
        "/responses",
        json_body(json!({"knowledge_store_id": other, "input": input, "stream": true})),
        26.0,
    );
    assert_eq!(r.response.status(), 200);
    let mut decoder = EventStream::new();
    decoder.feed(r.response.body());
    decoder.finish();
    let branches = c.spec.document()["components"]["schemas"]["ResponseStreamEvent"]["oneOf"]
        .as_array()
        .expect("oneOf")
        .clone();
    let mut events = 0;
    while let Some(item) = decoder.next_item() {
        let SseItem::Event(ev) = item else { continue };
        let data: Value = serde_json::from_str(&ev.data).expect("json");
        // The spec's oneOf lists the four response.* variants with identical schemas, so a
        // response.* event matches four branches; check it against the first that names its type.
        let branch = branches
            .iter()
            .find(|b| {
                let r = &b["properties"]["type"]["$ref"];
                let name = r.as_str().unwrap_or("").rsplit('/').next().unwrap_or("");
                c.spec.document()["components"]["schemas"][name]["enum"]
                    .as_array()
                    .is_some_and(|e| e.contains(&json!(ev.event)))
            })
            .unwrap_or_else(|| panic!("the spec has no event type {}", ev.event))
            .clone();
        if let Err(errors) = c.spec.check(&branch, &data) {
            panic!("{}: {errors:#?}\n{data:#}", ev.event);
        }
        events += 1;
    }
    assert!(events >= 9);
    c.checked.push(format!("POST /responses (SSE, {events} events)"));

    // Multipart uploads: three chunks, two URLs at first; every status a chunk can have.
    let uploads_t = "/assets/multipart-uploads";
    let upload_t = "/assets/multipart-uploads/{upload_id}";
    let urls_t = "/assets/multipart-uploads/{upload_id}/presigned-urls";
    let r = call(
        Method::POST,
        "/assets/multipart-uploads",
        json_body(json!({"filename": "long.mp4", "type": "video", "total_size": 2500,
                         "enable_hls": true, "user_metadata": {"team": "a"}})),
        26.0,
    );
    c.check(uploads_t, "post", &r);
    let session = body_json(&r);
    let up = format!("/assets/multipart-uploads/{}", session["upload_id"].as_str().expect("id"));
    let url = |v: &Value, i: usize| v["upload_urls"][i]["url"].as_str().expect("url").to_owned();
    let bytes = |len: usize| Body::Bytes(vec![7; len].into());
    let etag = |r: &Reply| {
        assert_eq!(r.response.status(), 200);
        r.response.headers()["etag"].to_str().expect("etag").to_owned()
    };
    let proof = etag(&call(Method::PUT, &url(&session, 0), bytes(1000), 26.0));
    let report = |chunks: &[(usize, usize, &str)]| {
        let chunks: Vec<Value> = chunks
            .iter()
            .map(|(i, len, proof)| {
                json!({"chunk_index": i, "proof": proof, "proof_type": "etag", "chunk_size": len})
            })
            .collect();
        json_body(json!({ "completed_chunks": chunks }))
    };
    c.check(upload_t, "post", &call(Method::POST, &up, report(&[(1, 1000, &proof)]), 26.0));
    let more_t = format!("{up}/presigned-urls");
    let r = call(Method::POST, &more_t, json_body(json!({"start": 2, "count": 5})), 26.0);
    c.check(urls_t, "post", &r);
    let more = body_json(&r);
    // Chunk 2 fails (too short), chunk 3 goes up, unreported.
    assert_eq!(call(Method::PUT, &url(&more, 0), bytes(10), 26.0).response.status(), 400);
    let third = etag(&call(Method::PUT, &url(&more, 1), bytes(500), 26.0));
    let r = call(Method::GET, "/assets/multipart-uploads?page_limit=5", Body::Empty, 26.0);
    c.check(uploads_t, "get", &r);
    let r = call(Method::GET, &up, Body::Empty, 26.0);
    let statuses: Vec<Value> = body_json(&r)["uploaded_chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("completed"), json!("failed"), json!("pending")]);
    c.check(upload_t, "get", &r);
    c.check(
        upload_t,
        "get",
        &call(Method::GET, &format!("{up}?page=2&page_limit=2"), Body::Empty, 26.0),
    );

    // The error answers, in Jockey's dialect.
    let bad_create = json_body(json!({"filename": "x.mp4", "type": "video"}));
    c.check_error(uploads_t, "post", 400, &call(Method::POST, uploads_t, bad_create, 26.0));
    let r = call(Method::GET, "/assets/multipart-uploads?page=0", Body::Empty, 26.0);
    c.check_error(uploads_t, "get", 400, &r);
    let r = call(Method::GET, "/assets/multipart-uploads/nope", Body::Empty, 26.0);
    c.check_error(upload_t, "get", 404, &r);
    let r = call(Method::GET, &format!("{up}?page_limit=99"), Body::Empty, 26.0);
    c.check_error(upload_t, "get", 400, &r);
    let r = call(Method::POST, &up, report(&[(2, 1000, "\"0\"")]), 26.0);
    c.check_error(upload_t, "post", 400, &r);
    let r = call(Method::POST, "/assets/multipart-uploads/nope", report(&[(1, 1, "x")]), 26.0);
    c.check_error(upload_t, "post", 404, &r);
    let r = call(Method::POST, &more_t, json_body(json!({"start": 1, "count": 51})), 26.0);
    c.check_error(urls_t, "post", 400, &r);
    let r = call(
        Method::POST,
        "/assets/multipart-uploads/nope/presigned-urls",
        json_body(json!({"start": 1, "count": 1})),
        26.0,
    );
    c.check_error(urls_t, "post", 404, &r);

    // The rest: the session completes and the asset is made.
    let second = etag(&call(Method::PUT, &url(&more, 0), bytes(1000), 26.5));
    let r = call(
        Method::POST,
        &up,
        report(&[(1, 1000, &proof), (2, 1000, &second), (3, 500, &third)]),
        26.5,
    );
    assert!(body_json(&r)["url"].is_string(), "{}", body_json(&r));
    c.check(upload_t, "post", &r);
    c.check(upload_t, "get", &call(Method::GET, &up, Body::Empty, 27.0));
    let asset = format!("/assets/{}", session["asset_id"].as_str().expect("asset"));
    c.check("/assets/{asset_id}", "get", &call(Method::GET, &asset, Body::Empty, 27.0));

    // Deletes last.
    c.check(
        "/knowledge-stores/{knowledge_store_id}/items/{item_id}",
        "delete",
        &call(Method::DELETE, &format!("{sp}/items/{item}"), Body::Empty, 27.0),
    );
    c.check(
        "/knowledge-stores/{knowledge_store_id}",
        "delete",
        &call(Method::DELETE, &sp, Body::Empty, 27.0),
    );
    c.check(
        "/assets/{asset_id}",
        "delete",
        &call(Method::DELETE, &format!("/assets/{video}?force=true"), Body::Empty, 27.0),
    );

    // Every operation of the typed surface was seen.
    // The chunk PUT to a presigned URL is not an API endpoint: the spec does not describe it.
    let api_ops = rein_core::Operation::ALL.iter().filter(|o| !o.is_presigned());
    for op in api_ops.filter(|o| o.api() == rein_core::Api::Jockey) {
        let name = format!("{} {}", op.method(), op.path_template());
        assert!(c.checked.iter().any(|x| x.starts_with(&name)), "{name} was not checked");
    }
}
