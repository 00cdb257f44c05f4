//! Decoding responses: total, bounded, panic-free.
//!
//! An error response can be anything: the API's JSON dialect, JSON of another shape, JSON cut
//! short, a proxy's HTML page, plain text, nothing at all, or megabytes of any of these. Each
//! decodes to an [`ApiError`] that keeps what could be read and at most [`EXCERPT_LIMIT`] bytes of
//! what could not.

use std::time::SystemTime;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{Api, Operation};
use crate::error::{ApiError, BodyShape, DecodeError, ErrorKind};
use crate::{hint, retry_after};

/// The most bytes of a body kept in an excerpt or a server-text field.
pub const EXCERPT_LIMIT: usize = 2048;

/// Bodies longer than this are not parsed as JSON; they are excerpted. No error body is this big.
pub const PARSE_LIMIT: usize = 1 << 20;

/// Decodes an error response of `api` to an [`ApiError`] (with `attempts` = 1).
///
/// `wall_now` measures an HTTP-date `Retry-After` when the response has no `Date` header.
pub fn api_error(
    api: Api,
    operation: Option<Operation>,
    response: &http::Response<Bytes>,
    wall_now: SystemTime,
) -> ApiError {
    let status = response.status().as_u16();
    let headers = response.headers();
    let body = response.body();

    let mut err = ApiError {
        api,
        status,
        kind: ErrorKind::from_status(status),
        code: None,
        message: None,
        docs_url: None,
        detail: None,
        request_id: request_id(headers),
        retry_after: retry_after::parse(headers, wall_now),
        attempts: 1,
        endpoint: operation.map(Operation::endpoint),
        hint: None,
        body_shape: BodyShape::Empty,
        excerpt: None,
        body_len: body.len(),
        may_have_succeeded: false,
    };

    if !body.iter().all(u8::is_ascii_whitespace) {
        let parsed = if body.len() <= PARSE_LIMIT {
            serde_json::from_slice::<Value>(body).ok()
        } else {
            None
        };
        match parsed {
            Some(value) => {
                if read_dialect(&value, &mut err) {
                    err.body_shape = BodyShape::Dialect;
                } else {
                    err.body_shape = BodyShape::OtherJson;
                    err.excerpt = Some(excerpt(body));
                }
            }
            None => {
                err.body_shape = sniff(body);
                err.excerpt = Some(match err.body_shape {
                    BodyShape::Html => html_title(body).unwrap_or_else(|| excerpt(body)),
                    _ => excerpt(body),
                });
            }
        }
    }

    let words = [err.code.as_deref(), err.message.as_deref(), err.detail.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    err.hint = hint::for_response(api, operation, status, &words);
    err
}

/// Decodes a success body as JSON of type `T`.
pub fn json<T: DeserializeOwned>(
    operation: Option<Operation>,
    response: &http::Response<Bytes>,
) -> Result<T, DecodeError> {
    serde_json::from_slice(response.body()).map_err(|e| DecodeError {
        endpoint: operation.map(Operation::endpoint),
        status: response.status().as_u16(),
        reason: bounded(&e.to_string()),
        excerpt: excerpt(response.body()),
        body_len: response.body().len(),
        may_have_succeeded: operation.is_some_and(|op| !op.is_idempotent()),
    })
}

/// Reads the fields of either dialect; true if any was found.
fn read_dialect(value: &Value, err: &mut ApiError) -> bool {
    let Value::Object(top) = value else {
        return false;
    };
    let mut found = false;

    // Jockey flat {code, message, docs_url}, or nested {error: {code, message, details?}}.
    let jockey = match top.get("error") {
        Some(Value::Object(inner)) => Some(inner),
        Some(Value::String(s)) => {
            err.message = Some(bounded(s));
            found = true;
            None
        }
        _ => Some(top),
    };
    if let Some(fields) = jockey {
        for (key, slot) in [
            ("code", &mut err.code),
            ("message", &mut err.message),
            ("docs_url", &mut err.docs_url),
        ] {
            if let Some(text) = fields.get(key).and_then(text_of) {
                *slot = Some(text);
                found = true;
            }
        }
        if err.docs_url.is_none() {
            if let Some(text) = top.get("docs_url").and_then(text_of) {
                err.docs_url = Some(text);
            }
        }
    }

    // jack {detail}: a string, or a validation list [{loc, msg, type}].
    if let Some(detail) = top.get("detail") {
        let text = match detail {
            Value::String(s) => Some(bounded(s)),
            Value::Array(items) => {
                Some(bounded(&items.iter().map(validation_item).collect::<Vec<_>>().join("; ")))
            }
            Value::Null => None,
            other => Some(bounded(&other.to_string())),
        };
        if text.is_some() {
            err.detail = text;
            found = true;
        }
    }
    found
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(bounded(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `body.top_k: Input should be less than or equal to 20` from a FastAPI-style item.
fn validation_item(item: &Value) -> String {
    let msg = item.get("msg").and_then(Value::as_str);
    let loc = item.get("loc").and_then(Value::as_array).map(|parts| {
        parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    });
    match (loc, msg) {
        (Some(loc), Some(msg)) => format!("{loc}: {msg}"),
        (None, Some(msg)) => msg.to_owned(),
        _ => match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

fn request_id(headers: &http::HeaderMap) -> Option<String> {
    ["x-request-id", "request-id"]
        .iter()
        .filter_map(|name| headers.get(*name))
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(|s| s.chars().take(128).collect())
}

fn sniff(body: &[u8]) -> BodyShape {
    let head = &body[..body.len().min(512)];
    let trimmed =
        head.iter().position(|b| !b.is_ascii_whitespace()).map_or(&[][..], |i| &head[i..]);
    match trimmed.first() {
        Some(b'{') | Some(b'[') => BodyShape::MalformedJson,
        Some(b'<') => BodyShape::Html,
        _ if std::str::from_utf8(prefix_at_char_boundary(body)).is_ok() => BodyShape::Text,
        _ => BodyShape::Binary,
    }
}

/// The text of an HTML page's `<title>`, when it has a short one.
fn html_title(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    let lower = head.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = head.get(open_end..close)?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then(|| bounded(&title))
}

/// The first [`EXCERPT_LIMIT`] bytes of a body as text, marked when cut.
pub fn excerpt(body: &[u8]) -> String {
    // A little more than the excerpt is scrubbed of keys first, so a key across the cut goes
    // whole. Invalid bytes become U+FFFD (three bytes each), so the text is bounded, not the
    // input.
    let wide = &body[..body.len().min(EXCERPT_LIMIT + 256)];
    let lossy = String::from_utf8_lossy(wide);
    let text = crate::scrub::text(&lossy, None);
    let mut end = text.len().min(EXCERPT_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].to_owned();
    if end < text.len() || wide.len() < body.len() {
        out.push('…');
    }
    out
}

/// `s` cut to at most [`EXCERPT_LIMIT`] bytes on a char boundary, marked when cut.
pub(crate) fn bounded(s: &str) -> String {
    let s = &*crate::scrub::text(s, None);
    if s.len() <= EXCERPT_LIMIT {
        return s.to_owned();
    }
    let mut end = EXCERPT_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Up to [`EXCERPT_LIMIT`] bytes, backing off a multi-byte character cut at the end.
fn prefix_at_char_boundary(body: &[u8]) -> &[u8] {
    let head = &body[..body.len().min(EXCERPT_LIMIT)];
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    }
}
