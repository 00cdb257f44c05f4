//! Every Jockey success response the emulator produces, validated against the vendor's
//! OpenAPI spec (read in place from ../shared/reference; skipped outside CI when absent).

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
        ..Config::default()
    });
    let mut call =
        |m: Method, path: &str, body: Body, t: f64| e.handle(jockey(m, path, body), at(t));

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
    for op in rein_core::Operation::ALL.iter().filter(|o| o.api() == rein_core::Api::Jockey) {
        let name = format!("{} {}", op.method(), op.path_template());
        assert!(c.checked.iter().any(|x| x.starts_with(&name)), "{name} was not checked");
    }
}
