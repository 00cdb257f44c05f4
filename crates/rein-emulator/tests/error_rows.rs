//! Every error row of both references, answered as documented: the status, the body in the
//! API's dialect, and (through rein-core's own decoder) the reference row's cause and fix.

mod common;

use common::*;
use http::Method;
use rein_core::hint::rows;
use rein_core::{Api, Body, Hint, Operation};
use rein_emulator::{Config, Emulator, Reply};
use serde_json::{json, Value};

/// Decodes the reply the way rein's client does and returns (status, hint).
fn decoded(api: Api, op: Operation, reply: &Reply) -> (u16, Option<Hint>) {
    let err = rein_core::decode::api_error(api, Some(op), &reply.response, at(0.0).wall);
    (err.status, err.hint)
}

struct Row {
    name: &'static str,
    reply: Reply,
    api: Api,
    op: Operation,
    status: u16,
    hint: Hint,
}

fn jockey_rows() -> Vec<Row> {
    let mut e = emulator();
    let asset = create_asset(&mut e, at(0.0));
    let store = create_store(&mut e, at(0.0));
    let create_response = |e: &mut Emulator, body: Value| {
        e.handle(jockey(Method::POST, "/responses", json_body(body)), at(40.0))
    };
    let input = json!([{"type": "message", "role": "user", "content": "hi"}]);
    let tool = json!([{"type": "knowledge_store", "knowledge_store_id": store}]);
    vec![
        Row {
            name: "method required",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/assets",
                    form(&[], Some(("file", "a.mp4", "video/mp4", 10))),
                ),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::CreateAsset,
            status: 400,
            hint: rows::ASSET_METHOD_REQUIRED,
        },
        Row {
            name: "file too large",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/assets",
                    form(
                        &[("method", "direct")],
                        Some(("file", "big.mp4", "video/mp4", 200 * 1024 * 1024 + 1)),
                    ),
                ),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::CreateAsset,
            status: 400,
            hint: rows::ASSET_FILE_TOO_LARGE,
        },
        Row {
            name: "invalid URL",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/assets",
                    form(&[("method", "url"), ("url", "ftp://example.com/a.mp4")], None),
                ),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::CreateAsset,
            status: 400,
            hint: rows::ASSET_INVALID_URL,
        },
        Row {
            name: "name required",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/knowledge-stores",
                    json_body(json!({"description": "no name"})),
                ),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::CreateKnowledgeStore,
            status: 400,
            hint: rows::STORE_NAME_REQUIRED,
        },
        Row {
            name: "invalid schema (structure)",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/knowledge-stores",
                    json_body(json!({"name": "s", "ingestion_config": {"enrichment_config": {"type": "json_schema", "json_schema": {"type": "array"}}}})),
                ),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::CreateKnowledgeStore,
            status: 400,
            hint: rows::STORE_INVALID_SCHEMA,
        },
        Row {
            name: "invalid schema (restriction)",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/knowledge-stores",
                    json_body(json!({"name": "s", "ingestion_config": {"enrichment_config": {"type": "json_schema", "json_schema": {"type": "object", "properties": {"team": {"type": "string"}}}}}})),
                ),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::CreateKnowledgeStore,
            status: 422,
            hint: rows::STORE_INVALID_SCHEMA,
        },
        Row {
            name: "asset not found",
            reply: e.handle(
                jockey(
                    Method::POST,
                    &format!("/knowledge-stores/{store}/items"),
                    json_body(json!({"asset_id": "000000000000000000000000"})),
                ),
                at(40.0),
            ),
            api: Api::Jockey,
            op: Operation::AddItem,
            status: 404,
            hint: rows::ITEM_ASSET_NOT_FOUND,
        },
        Row {
            name: "store not found",
            reply: e.handle(
                jockey(
                    Method::POST,
                    "/knowledge-stores/ks_missing/items",
                    json_body(json!({"asset_id": asset})),
                ),
                at(40.0),
            ),
            api: Api::Jockey,
            op: Operation::AddItem,
            status: 404,
            hint: rows::ITEM_STORE_NOT_FOUND,
        },
        Row {
            name: "tools required",
            reply: create_response(&mut e, json!({"input": input})),
            api: Api::Jockey,
            op: Operation::CreateResponse,
            status: 400,
            hint: rows::RESPONSE_TOOLS_REQUIRED,
        },
        Row {
            name: "invalid session",
            reply: create_response(
                &mut e,
                json!({"tools": tool, "input": input, "session_id": "sess_unknown"}),
            ),
            api: Api::Jockey,
            op: Operation::CreateResponse,
            status: 400,
            hint: rows::RESPONSE_INVALID_SESSION,
        },
        Row {
            name: "input required",
            reply: create_response(&mut e, json!({"tools": tool})),
            api: Api::Jockey,
            op: Operation::CreateResponse,
            status: 400,
            hint: rows::RESPONSE_INPUT_REQUIRED,
        },
        Row {
            name: "unauthorized (missing key)",
            reply: e.handle(
                http::Request::get("http://emulator/v1.3/assets")
                    .body(Body::Empty)
                    .expect("request"),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::ListAssets,
            status: 401,
            hint: rows::JOCKEY_401,
        },
        Row {
            name: "unauthorized (unknown key)",
            reply: e.handle(
                http::Request::get("http://emulator/v1.3/assets")
                    .header("x-api-key", "tlk_WRONG")
                    .body(Body::Empty)
                    .expect("request"),
                at(1.0),
            ),
            api: Api::Jockey,
            op: Operation::ListAssets,
            status: 401,
            hint: rows::JOCKEY_401,
        },
        Row {
            name: "not found",
            reply: e.handle(jockey(Method::GET, "/assets/nope", Body::Empty), at(1.0)),
            api: Api::Jockey,
            op: Operation::GetAsset,
            status: 404,
            hint: rows::JOCKEY_404,
        },
    ]
}

fn jack_rows() -> Vec<Row> {
    let mut e = emulator();
    let ingest =
        |e: &mut Emulator, body: Body| e.handle(jack(Method::POST, "/ingest", body), at(1.0));
    let file = |e: &mut Emulator, name: &str, len: u64| {
        e.handle(
            jack(
                Method::POST,
                "/ingest/file",
                form(&[], Some(("file", name, "application/octet-stream", len))),
            ),
            at(1.0),
        )
    };
    vec![
        Row {
            name: "400 malformed JSON",
            reply: ingest(&mut e, Body::Bytes(bytes::Bytes::from_static(b"{\"documents\": ["))),
            api: Api::Jack,
            op: Operation::Ingest,
            status: 400,
            hint: rows::JACK_400,
        },
        Row {
            name: "400 missing required field",
            reply: e.handle(jack(Method::POST, "/query", json_body(json!({"top_k": 3}))), at(1.0)),
            api: Api::Jack,
            op: Operation::Query,
            status: 400,
            hint: rows::JACK_400,
        },
        Row {
            name: "404 document",
            reply: e.handle(
                jack(Method::GET, "/documents/00000000-0000-4000-8000-000000000000", Body::Empty),
                at(1.0),
            ),
            api: Api::Jack,
            op: Operation::GetDocument,
            status: 404,
            hint: rows::JACK_404,
        },
        Row {
            name: "413 file over 100MB",
            reply: file(&mut e, "big.pdf", 100 * 1024 * 1024 + 1),
            api: Api::Jack,
            op: Operation::IngestFile,
            status: 413,
            hint: rows::JACK_413,
        },
        Row {
            name: "415 format",
            reply: file(&mut e, "slides.pptx", 10),
            api: Api::Jack,
            op: Operation::IngestFile,
            status: 415,
            hint: rows::JACK_415,
        },
        Row {
            name: "422 top_k out of range",
            reply: e.handle(
                jack(Method::POST, "/query", json_body(json!({"question": "q", "top_k": 21}))),
                at(1.0),
            ),
            api: Api::Jack,
            op: Operation::Query,
            status: 422,
            hint: rows::JACK_422,
        },
        Row {
            name: "422 empty documents",
            reply: ingest(&mut e, json_body(json!({"documents": []}))),
            api: Api::Jack,
            op: Operation::Ingest,
            status: 422,
            hint: rows::JACK_EMPTY_DOCUMENTS,
        },
        Row {
            name: "422 metadata not strings",
            reply: ingest(
                &mut e,
                json_body(json!({"documents": [{"text": "t", "metadata": {"n": 1}}]})),
            ),
            api: Api::Jack,
            op: Operation::Ingest,
            status: 422,
            hint: rows::JACK_422,
        },
        Row {
            name: "422 chunk_size out of range",
            reply: ingest(
                &mut e,
                json_body(json!({"documents": [{"text": "t"}], "chunk_size": 64})),
            ),
            api: Api::Jack,
            op: Operation::Ingest,
            status: 422,
            hint: rows::JACK_422,
        },
        Row {
            name: "401 missing key",
            reply: e.handle(
                http::Request::get("http://emulator/v1/usage").body(Body::Empty).expect("request"),
                at(1.0),
            ),
            api: Api::Jack,
            op: Operation::Usage,
            status: 401,
            hint: rows::JACK_401,
        },
        Row {
            name: "401 unknown key",
            reply: e
                .handle(jack_with_key(Method::GET, "/usage", Body::Empty, "jack_wrong"), at(1.0)),
            api: Api::Jack,
            op: Operation::Usage,
            status: 401,
            hint: rows::JACK_401,
        },
    ]
}

fn render(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{:<30} {} {}",
                r.name,
                r.reply.response.status().as_u16(),
                String::from_utf8_lossy(r.reply.response.body())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(rows: &[Row]) {
    for row in rows {
        assert_eq!(
            decoded(row.api, row.op, &row.reply),
            (row.status, Some(row.hint)),
            "{}: {}",
            row.name,
            String::from_utf8_lossy(row.reply.response.body())
        );
        assert_eq!(row.reply.response.headers()["content-type"], "application/json");
        assert!(!row.reply.response.status().is_success());
    }
}

#[test]
fn every_jockey_row_is_answered_as_documented() {
    let rows = jockey_rows();
    check(&rows);
    for row in &rows {
        let body: Value = serde_json::from_slice(row.reply.response.body()).expect("json");
        let keys: Vec<&str> =
            body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "docs_url", "message"], "{}", row.name);
    }
    insta::assert_snapshot!("jockey_error_rows", render(&rows));
}

#[test]
fn every_jack_row_is_answered_as_documented() {
    let rows = jack_rows();
    check(&rows);
    for row in &rows {
        let body: Value = serde_json::from_slice(row.reply.response.body()).expect("json");
        assert!(body["detail"].is_string(), "{}", row.name);
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{}", row.name);
    }
    insta::assert_snapshot!("jack_error_rows", render(&rows));
}

#[test]
fn a_revoked_jack_key_gets_403() {
    let mut e = emulator();
    let keys = e.handle(jack(Method::GET, "/keys", Body::Empty), at(0.0));
    let id = body_json(&keys)[0]["id"].as_str().expect("id").to_owned();
    let r = e.handle(jack(Method::DELETE, &format!("/keys/{id}"), Body::Empty), at(1.0));
    assert_eq!(status(&r), 204);
    let r = e.handle(jack(Method::GET, "/documents", Body::Empty), at(2.0));
    assert_eq!(decoded(Api::Jack, Operation::ListDocuments, &r), (403, Some(rows::JACK_403)));
}

#[test]
fn the_61st_jack_request_in_a_minute_gets_429_with_retry_after_60() {
    let mut e = emulator();
    for i in 0..60 {
        let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(f64::from(i) * 0.5));
        assert_eq!(status(&r), 200, "request {}", i + 1);
    }
    let r = e.handle(jack(Method::GET, "/documents", Body::Empty), at(30.0));
    assert_eq!(status(&r), 429);
    assert_eq!(r.response.headers()["retry-after"], "60");
    assert_eq!(body_json(&r), json!({"detail": "Rate limit exceeded"}));
    assert_eq!(decoded(Api::Jack, Operation::ListDocuments, &r).1, Some(rows::JACK_429));
    // The window slides: a minute after the first request, one slot is free again.
    let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(60.0));
    assert_eq!(status(&r), 200);
    let r = e.handle(jack(Method::GET, "/usage", Body::Empty), at(60.1));
    assert_eq!(status(&r), 429);
}

#[test]
fn a_configured_jockey_limit_answers_429_with_retry_after() {
    let mut e = Emulator::new(Config { jockey_rpm: Some(2), ..config() });
    for t in [0.0, 10.0] {
        let r = e.handle(jockey(Method::GET, "/assets", Body::Empty), at(t));
        assert_eq!(status(&r), 200);
    }
    let r = e.handle(jockey(Method::GET, "/assets", Body::Empty), at(20.5));
    assert_eq!(status(&r), 429);
    assert_eq!(r.response.headers()["retry-after"], "40");
    assert_eq!(body_json(&r)["code"], "rate_limit_exceeded");
    assert_eq!(decoded(Api::Jockey, Operation::ListAssets, &r).1, Some(rows::JOCKEY_429));
}

#[test]
fn bodies_that_are_not_json_get_typed_errors() {
    let mut e = emulator();
    for body in [&b"not json"[..], b"[1,2]", b"{\"name\": 7}", b"\xff\xfe"] {
        let r = e.handle(
            jockey(
                Method::POST,
                "/knowledge-stores",
                Body::Bytes(bytes::Bytes::copy_from_slice(body)),
            ),
            at(0.0),
        );
        assert_eq!(status(&r), 400);
        assert_eq!(body_json(&r)["code"], "invalid_request");
    }
    let r = e.handle(jack(Method::POST, "/ingest/file", json_body(json!({"file": "x"}))), at(0.0));
    assert_eq!(status(&r), 400);
}
