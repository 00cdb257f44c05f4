//! Responses: a question answered over a knowledge store, in a session, as one JSON object or
//! as server-sent events.
//!
//! Two request shapes are accepted. The references' shape names the store in a `tools` array
//! holding exactly one `{"type": "knowledge_store", "knowledge_store_id": ...}` tool (the inner
//! field is [`TOOL_STORE_FIELD`]); the OpenAPI spec's shape gives a top-level
//! `knowledge_store_id`.

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::{json, Map, Value};

use super::{instance, json_object, JockeyError, Result, State};
use crate::handler::{Ctx, Outcome};
use crate::wire::{self, clip, hex_id, timestamp};

/// The field of a `knowledge_store` tool that names the store (the one rein's client sends).
// A guess shared with rein's client (`KNOWLEDGE_STORE_TOOL_ID_FIELD`): the references do not
// spell this field.
pub const TOOL_STORE_FIELD: &str = "knowledge_store_id";

/// The longest message content, in characters.
pub const MAX_CONTENT_CHARS: usize = 10_000;

fn tools_required(why: &str) -> JockeyError {
    JockeyError::bad_request(format!("Tools required: {why}; add exactly one knowledge_store tool"))
}

/// The store named by the request, from either shape.
fn store_of(body: &Map<String, Value>) -> Result<String> {
    let top = match body.get("knowledge_store_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => {
            return Err(JockeyError::bad_request("knowledge_store_id must be a non-empty string"))
        }
    };
    let from_tools = match body.get("tools") {
        None | Some(Value::Null) => None,
        Some(Value::Array(tools)) => {
            let stores: Vec<&Value> = tools
                .iter()
                .filter(|t| t.get("type").and_then(Value::as_str) == Some("knowledge_store"))
                .collect();
            if tools.len() != 1 || stores.len() != 1 {
                return Err(tools_required(&format!(
                    "the tools array holds {} tools, {} of type knowledge_store",
                    tools.len(),
                    stores.len()
                )));
            }
            match stores[0].get(TOOL_STORE_FIELD).and_then(Value::as_str) {
                Some(id) if !id.trim().is_empty() => Some(id.to_owned()),
                _ => {
                    return Err(tools_required(&format!(
                        "the knowledge_store tool has no {TOOL_STORE_FIELD}"
                    )))
                }
            }
        }
        Some(_) => return Err(tools_required("tools must be an array")),
    };
    match (from_tools, top) {
        (Some(a), Some(b)) if a != b => Err(tools_required(
            "the knowledge_store tool and knowledge_store_id name different stores",
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(tools_required("the tools array is missing")),
    }
}

/// The messages' contents, checked.
fn messages(body: &Map<String, Value>) -> Result<Vec<String>> {
    let required =
        || JockeyError::bad_request("Input required: add at least one message to the input array");
    let Some(Value::Array(items)) = body.get("input") else {
        return Err(required());
    };
    if items.is_empty() {
        return Err(required());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let bad = |why: &str| JockeyError::bad_request(format!("input[{i}]: {why}"));
            if item.get("type").and_then(Value::as_str) != Some("message") {
                return Err(bad("type must be \"message\""));
            }
            if item.get("role").and_then(Value::as_str) != Some("user") {
                return Err(bad("role must be \"user\""));
            }
            let content = item
                .get("content")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("content must be a string"))?;
            let n = content.chars().count();
            if n == 0 || n > MAX_CONTENT_CHARS {
                return Err(bad("content must be 1 to 10,000 characters"));
            }
            Ok(content.to_owned())
        })
        .collect()
}

pub(super) fn create(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let body = json_object(ctx)?;
    let store_id = store_of(&body)?;
    let contents = messages(&body)?;
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(JockeyError::bad_request("stream must be a boolean")),
    };
    let include_steps = include(&body)?;
    let format = text_format(&body)?;
    if !state.has_store(&store_id) {
        return Err(JockeyError::not_found(format!("Knowledge store {store_id} not found")));
    }
    let session_id = match body.get("session_id") {
        None | Some(Value::Null) => {
            let id = format!("sess_{}", hex_id(ctx.rng, 24));
            state.sessions.insert(id.clone(), store_id.clone());
            id
        }
        Some(Value::String(id)) => match state.sessions.get(id) {
            Some(owner) if *owner == store_id => id.clone(),
            Some(_) => {
                return Err(JockeyError::bad_request(format!(
                    "Invalid session: {id} belongs to another knowledge store; omit session_id to start a new session"
                )))
            }
            None => {
                return Err(JockeyError::bad_request(format!(
                    "Invalid session: {id} does not exist; omit session_id to start a new session"
                )))
            }
        },
        Some(_) => {
            return Err(JockeyError::bad_request(
                "Invalid session: session_id must be a string",
            ))
        }
    };

    // The answer: a fixed sentence citing up to three ready items, or, for a `json_schema`
    // format, the smallest JSON the schema accepts.
    let question = contents.last().map(String::as_str).unwrap_or("");
    let cited: Vec<Value> = state
        .ready_items(&store_id, ctx.now)
        .into_iter()
        .take(3)
        .map(|i| {
            let asset = state.assets.get(i.asset_id());
            let mut a = json!({
                "type": if i.asset_type == "image" { "image_citation" } else { "video_citation" },
                "item_id": i.id(),
                "title": asset.and_then(|a| a.filename.clone()),
                "thumbnail_url": asset.and_then(|a| a.thumbnail_url(ctx.now)),
                "hls_url": asset.and_then(|a| a.hls_url(ctx.now)),
            });
            if i.asset_type != "image" {
                a["start_sec"] = json!(0.0);
                a["end_sec"] = json!(10.0);
            }
            a
        })
        .collect();
    let mut annotations = Vec::new();
    let text = match &format {
        Some(schema) => instance::minimal_instance(schema).to_string(),
        None => {
            let mut text = format!("This is an emulated answer to \"{}\"", clip(question, 200));
            if cited.is_empty() {
                text.push_str(": the knowledge store has no indexed items yet.");
            } else {
                text.push_str(", drawn from the indexed items of the knowledge store");
                for (n, citation) in cited.iter().enumerate() {
                    text.push(' ');
                    let start = text.chars().count();
                    text.push_str(&format!("[{}]", n + 1));
                    let end = text.chars().count() - 1;
                    let mut a = citation.clone();
                    a["start_index"] = json!(start);
                    a["end_index"] = json!(end);
                    annotations.push(a);
                }
                text.push('.');
            }
            text
        }
    };

    let response_id = format!("resp_{}", hex_id(ctx.rng, 24));
    let message_id = format!("msg_{}", hex_id(ctx.rng, 24));
    let created_at = timestamp(ctx.now.wall);
    let words = |s: &str| s.split_whitespace().count();
    let usage = json!({
        "input_tokens": contents.iter().map(|c| words(c)).sum::<usize>() * 4 / 3 + 1,
        "output_tokens": words(&text) * 4 / 3 + 1,
    });
    // The steps before the answer (`include: ["intermediate_outputs"]`): one search of the
    // store, as a function call and its output.
    let steps: Vec<Value> = if include_steps {
        let call_id = format!("call_{}", hex_id(ctx.rng, 24));
        let cited_ids: Vec<&Value> = cited.iter().map(|c| &c["item_id"]).collect();
        vec![
            json!({
                "type": "function_call",
                "id": format!("fc_{}", hex_id(ctx.rng, 24)),
                "status": "completed",
                "name": "search_knowledge_store",
                "call_id": call_id,
                "arguments": json!({"query": clip(question, 200)}).to_string(),
            }),
            json!({
                "type": "function_call_output",
                "id": format!("fco_{}", hex_id(ctx.rng, 24)),
                "status": "completed",
                "call_id": call_id,
                "output": json!({"item_ids": cited_ids}).to_string(),
            }),
        ]
    } else {
        Vec::new()
    };
    let part = json!({"type": "output_text", "text": text, "annotations": annotations});
    let message = |status: &str, content: Value| {
        json!({
            "type": "message",
            "id": message_id,
            "status": status,
            "role": "assistant",
            "content": content,
        })
    };
    let response = |status: &str, output: Value, usage: Option<&Value>| {
        let mut r = json!({
            "id": response_id,
            "object": "response",
            "type": "response",
            "knowledge_store_id": store_id,
            "session_id": session_id,
            "status": status,
            // Null unless the status is `incomplete`, which the emulator never reaches.
            "incomplete_details": null,
            "output": output,
            "created_at": created_at,
        });
        if let Some(u) = usage {
            r["usage"] = u.clone();
        }
        r
    };
    let done_message = message("completed", json!([part]));
    let mut output = steps.clone();
    output.push(done_message.clone());
    let full = response("completed", Value::Array(output), Some(&usage));

    if !stream {
        return Ok(Outcome::wrote(wire::json(StatusCode::OK, &full)));
    }

    let mut events: Vec<(&str, Value)> = vec![
        ("response.created", json!({"response": response("in_progress", json!([]), None)})),
        ("response.in_progress", json!({"response": response("in_progress", json!([]), None)})),
    ];
    for (n, step) in steps.iter().enumerate() {
        let mut started = step.clone();
        started["status"] = json!("in_progress");
        if step["type"] == "function_call" {
            started["arguments"] = json!("");
        }
        events.push(("response.output_item.added", json!({"output_index": n, "item": started})));
        if step["type"] == "function_call" {
            events.push((
                "response.function_call_arguments.done",
                json!({"item_id": step["id"], "output_index": n, "arguments": step["arguments"]}),
            ));
        }
        events.push(("response.output_item.done", json!({"output_index": n, "item": step})));
    }
    let at = steps.len();
    events.push((
        "response.output_item.added",
        json!({"output_index": at, "item": message("in_progress", json!([]))}),
    ));
    events.push((
        "response.content_part.added",
        json!({"item_id": message_id, "output_index": at, "content_index": 0,
               "part": {"type": "output_text", "text": "", "annotations": []}}),
    ));
    for delta in deltas(&text) {
        events.push((
            "response.output_text.delta",
            json!({"item_id": message_id, "output_index": at, "content_index": 0, "delta": delta}),
        ));
    }
    events.push((
        "response.output_text.done",
        json!({"item_id": message_id, "output_index": at, "content_index": 0, "text": text}),
    ));
    events.push((
        "response.content_part.done",
        json!({"item_id": message_id, "output_index": at, "content_index": 0, "part": part}),
    ));
    events.push(("response.output_item.done", json!({"output_index": at, "item": done_message})));
    events.push(("response.completed", json!({"response": full})));
    Ok(Outcome::wrote(sse(events)))
}

/// `include`: whether the steps before the answer (`intermediate_outputs`) are asked for.
fn include(body: &Map<String, Value>) -> Result<bool> {
    match body.get("include") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Array(values)) => {
            for v in values {
                if v.as_str() != Some("intermediate_outputs") {
                    return Err(JockeyError::bad_request(format!(
                        "include takes only \"intermediate_outputs\", not {v}"
                    )));
                }
            }
            Ok(!values.is_empty())
        }
        Some(_) => Err(JockeyError::bad_request("include must be an array")),
    }
}

/// `text.format`: the schema of a `json_schema` format, `None` for plain text.
fn text_format(body: &Map<String, Value>) -> Result<Option<Value>> {
    let bad = |why: &str| JockeyError::bad_request(format!("text.format: {why}"));
    let format = match body.get("text") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(text)) => match text.get("format") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(f)) => f,
            Some(_) => return Err(bad("must be an object")),
        },
        Some(_) => return Err(JockeyError::bad_request("text must be an object")),
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_schema") => {
            match format.get("name") {
                Some(Value::String(n)) if !n.trim().is_empty() => {}
                _ => return Err(bad("name is required for json_schema")),
            }
            match format.get("schema") {
                Some(schema @ Value::Object(_)) => Ok(Some(schema.clone())),
                _ => Err(bad("schema is required for json_schema and must be an object")),
            }
        }
        _ => Err(bad("type must be \"text\" or \"json_schema\"")),
    }
}

/// The text in pieces of a few words, as a model would stream it.
fn deltas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, word) in text.split_inclusive(' ').enumerate() {
        current.push_str(word);
        if i % 3 == 2 {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `event: <type>` + `data: <json>` per event, numbered, ending with `data: [DONE]`.
fn sse(events: Vec<(&str, Value)>) -> Response<Bytes> {
    let mut body = String::new();
    for (n, (kind, mut payload)) in events.into_iter().enumerate() {
        payload["type"] = json!(kind);
        payload["sequence_number"] = json!(n);
        body.push_str(&format!("event: {kind}\ndata: {payload}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    let mut response = Response::new(Bytes::from(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
