//! `error_decoder`: [`rein_core::decode::api_error`] on any response, in both dialects.
//!
//! The input is a raw HTTP response (see [`lenient_response`]): the error fixtures are seeds as
//! they are. Whatever the bytes, the decoder returns an [`ApiError`] that keeps the response's
//! status and body length, says how it read the body, keeps every piece of server text within
//! [`TEXT_BOUND`] and scrubbed of key-shaped words, and takes its wait from the same headers
//! [`retry_after::parse`] reads.

use std::time::{Duration, SystemTime};

use rein_core::error::{BodyShape, ErrorKind};
use rein_core::{decode, retry_after, Api, ApiError, Error, Operation};

use super::{assert_no_key, lenient_response, TEXT_BOUND};

/// Operations an error can answer; the decoder's hints depend on them.
const OPERATIONS: [Option<Operation>; 10] = [
    None,
    Some(Operation::CreateAsset),
    Some(Operation::AddItem),
    Some(Operation::CreateKnowledgeStore),
    Some(Operation::CreateResponse),
    Some(Operation::SearchKnowledgeStore),
    Some(Operation::Ingest),
    Some(Operation::IngestFile),
    Some(Operation::Query),
    Some(Operation::GetDocument),
];

/// The wall clock an HTTP-date `Retry-After` is measured against when there is no `Date`:
/// Sun, 22 Nov 2026 10:00:00 GMT, the fixtures' day.
pub fn wall_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_341_600)
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let response = lenient_response(data);
    let pick = data.len() + data.first().map_or(0, |&b| usize::from(b));
    for (api, operation) in [
        (Api::Jockey, OPERATIONS[pick % OPERATIONS.len()]),
        (Api::Jack, OPERATIONS[(pick / OPERATIONS.len()) % OPERATIONS.len()]),
    ] {
        let err = decode::api_error(api, operation, &response, wall_now());
        check(&err, api, operation, &response);
    }
}

fn check(
    err: &ApiError,
    api: Api,
    operation: Option<Operation>,
    response: &http::Response<bytes::Bytes>,
) {
    let status = response.status().as_u16();
    let body = response.body();
    assert_eq!(err.api, api);
    assert_eq!(err.status, status, "the error keeps the response's status");
    assert_eq!(err.kind, ErrorKind::from_status(status));
    assert_eq!(err.attempts, 1);
    assert_eq!(err.endpoint, operation.map(Operation::endpoint));
    assert_eq!(err.body_len, body.len(), "the error keeps the body's length");
    assert_eq!(
        err.retry_after,
        retry_after::parse(response.headers(), wall_now()),
        "the error's wait is the one its headers ask for"
    );

    let blank = body.iter().all(u8::is_ascii_whitespace);
    assert_eq!(blank, err.body_shape == BodyShape::Empty, "{:?} for a blank body", err.body_shape);
    assert_eq!(
        err.excerpt.is_some(),
        !matches!(err.body_shape, BodyShape::Empty | BodyShape::Dialect),
        "an excerpt exactly when the body is not blank and not in the dialect"
    );
    for (what, text) in [
        ("code", &err.code),
        ("message", &err.message),
        ("docs_url", &err.docs_url),
        ("detail", &err.detail),
        ("excerpt", &err.excerpt),
    ] {
        if let Some(text) = text {
            assert!(text.len() <= TEXT_BOUND, "{what} of {} bytes", text.len());
            assert_no_key(text, what);
        }
    }
    if let Some(id) = &err.request_id {
        assert!(id.chars().count() <= 128, "request id of {} characters", id.chars().count());
    }

    // What callers read from it: none of it may panic.
    let _ = err.to_string();
    let _ = err.server_text();
    let _ = err.user_message();
    let wrapped = Error::Api(Box::new(err.clone()));
    assert_eq!(wrapped.status(), Some(status));
    assert_eq!(wrapped.retry_after(), err.retry_after);
    let _ = (wrapped.to_string(), wrapped.user_message(), wrapped.hint());
    let _ = wrapped.is_rate_limited();
}
