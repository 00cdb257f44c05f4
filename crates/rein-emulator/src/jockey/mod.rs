//! Jockey (`/v1.3`): assets, multipart uploads, knowledge stores, items, search and responses,
//! with errors in Jockey's dialect `{code, message, docs_url}`.
//!
//! Multipart uploads (`/assets/multipart-uploads`, module `uploads`) also have a storage side:
//! the chunk `PUT`s to presigned URLs, answered as S3 would (an `ETag`, or an XML error), which
//! the model routes here by their path ([`crate::presigned`]).
//!
//! Error codes: `invalid_request` (every 400, the references' own example), `unauthorized`
//! (401), `not_found` (404), `method_not_allowed` (405), `page_token_expired` (410),
//! `invalid_schema` (422), `rate_limit_exceeded` (429), `not_implemented` (501, an endpoint of
//! the real API the emulator does not model: [`unmodeled_operations`]), and `internal_error`, `bad_gateway`,
//! `service_unavailable`, `gateway_timeout` for injected 5xx.

mod assets;
mod instance;
mod responses;
mod stores;
mod unmodeled;
mod uploads;

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use rein_core::Moment;
use serde_json::{json, Map, Value};

use crate::handler::{BodyError, Ctx, Outcome};
use crate::query::Query;
use crate::wire;

pub(crate) use assets::Asset;
pub(crate) use stores::{Item, PageToken, Store};
pub(crate) use uploads::put_chunk;

pub use assets::{CREATE_MEDIA_EXTRAS_DEFAULT, DIRECT_UPLOAD_LIMIT, IMAGE_LIMIT};
pub use responses::{MAX_CONTENT_CHARS, TOOL_STORE_FIELD};
pub use stores::{ITEM_STATUSES, MAX_SEARCH_PAGE_SIZE};
pub use unmodeled::unmodeled_operations;

/// The largest `page_limit` Jockey accepts.
pub const MAX_PAGE_LIMIT: usize = 50;

/// Jockey's state.
#[derive(Debug, Default)]
pub(crate) struct State {
    seq: u64,
    assets: BTreeMap<String, Asset>,
    stores: BTreeMap<String, Store>,
    items: BTreeMap<String, Item>,
    /// Session id to the knowledge store it belongs to.
    sessions: HashMap<String, String>,
    tokens: HashMap<String, PageToken>,
    /// Multipart upload sessions by id.
    uploads: BTreeMap<String, uploads::Upload>,
}

impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// When asset or item `id` finishes processing, and how.
    pub(crate) fn settles(&self, id: &str) -> Option<(Moment, &'static str)> {
        let asset = self.assets.get(id).map(|a| a.timeline.settles());
        asset.or_else(|| self.items.get(id).map(|i| i.timeline.settles()))
    }

    pub(crate) fn next_change(&self, now: Moment) -> Option<Moment> {
        self.assets
            .values()
            .filter_map(|a| a.timeline.next_change(now))
            .chain(self.items.values().filter_map(|i| i.timeline.next_change(now)))
            .min()
    }
}

/// A Jockey error response.
// Every `code` but `invalid_request` (the only one the references show) is a guess: those the
// module's docs list, here and in `model::server_error` for injected 5xx.
#[derive(Debug)]
pub(crate) struct JockeyError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl JockeyError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        JockeyError { status, code, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        JockeyError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        JockeyError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn into_response(self) -> Response<Bytes> {
        wire::json(
            self.status,
            &json!({
                "code": self.code,
                "message": self.message,
                "docs_url": format!("https://docs.twelvelabs.io/errors/{}", self.code),
            }),
        )
    }
}

impl From<BodyError> for JockeyError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(reason) => JockeyError::bad_request(reason),
            BodyError::TooLarge(len) => {
                JockeyError::bad_request(format!("Request body too large ({len} bytes)"))
            }
        }
    }
}

pub(crate) type Result<T, E = JockeyError> = std::result::Result<T, E>;

/// Checks `x-api-key`; the key is the rate-limit bucket.
pub(crate) fn authenticate(ctx: &Ctx<'_>) -> Result<String> {
    let key =
        ctx.headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
    if key.is_empty() {
        return Err(JockeyError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing API key: send it in the x-api-key header",
        ));
    }
    if !ctx.config.jockey_keys.iter().any(|k| k == key) {
        return Err(JockeyError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid API key: check the x-api-key header",
        ));
    }
    Ok(key.to_owned())
}

/// Routes a request under `/v1.3`.
pub(crate) fn route(state: &mut State, ctx: &mut Ctx<'_>) -> Outcome {
    let path = ctx.path.to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = ctx.method.clone();
    let result = match (&method, segments.as_slice()) {
        // Before `/assets/{asset_id}`, which would take `multipart-uploads` for an id.
        (&Method::POST, ["assets", "multipart-uploads"]) => uploads::create(state, ctx),
        (&Method::GET, ["assets", "multipart-uploads"]) => uploads::list(state, ctx),
        (&Method::GET, ["assets", "multipart-uploads", id]) => uploads::status(state, ctx, id),
        (&Method::POST, ["assets", "multipart-uploads", id]) => uploads::report(state, ctx, id),
        (&Method::POST, ["assets", "multipart-uploads", id, "presigned-urls"]) => {
            uploads::more_urls(state, ctx, id)
        }
        (_, ["assets", "multipart-uploads"])
        | (_, ["assets", "multipart-uploads", _])
        | (_, ["assets", "multipart-uploads", _, "presigned-urls"]) => Err(JockeyError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not supported on {}", ctx.path),
        )),
        (&Method::POST, ["assets"]) => assets::create(state, ctx),
        (&Method::GET, ["assets"]) => assets::list(state, ctx),
        (&Method::GET, ["assets", id]) => assets::retrieve(state, ctx, id),
        (&Method::DELETE, ["assets", id]) => assets::delete(state, ctx, id),
        (&Method::PUT, ["assets", id, "user-metadata"]) => assets::replace_metadata(state, ctx, id),
        (&Method::PATCH, ["assets", id, "user-metadata"]) => assets::merge_metadata(state, ctx, id),
        (&Method::DELETE, ["assets", id, "user-metadata"]) => {
            assets::delete_metadata(state, ctx, id)
        }
        (&Method::POST, ["knowledge-stores"]) => stores::create(state, ctx),
        (&Method::GET, ["knowledge-stores"]) => stores::list(state, ctx),
        (&Method::GET, ["knowledge-stores", id]) => stores::retrieve(state, ctx, id),
        (&Method::PATCH, ["knowledge-stores", id]) => stores::update(state, ctx, id),
        (&Method::DELETE, ["knowledge-stores", id]) => stores::delete(state, ctx, id),
        (&Method::POST, ["knowledge-stores", id, "search"]) => stores::search(state, ctx, id),
        (&Method::POST, ["knowledge-stores", id, "items"]) => stores::add_item(state, ctx, id),
        (&Method::GET, ["knowledge-stores", id, "items"]) => stores::list_items(state, ctx, id),
        (&Method::GET, ["knowledge-stores", id, "items", item]) => {
            stores::retrieve_item(state, ctx, id, item)
        }
        (&Method::DELETE, ["knowledge-stores", id, "items", item]) => {
            stores::delete_item(state, ctx, id, item)
        }
        (&Method::POST, ["responses"]) => responses::create(state, ctx),
        (_, ["assets"])
        | (_, ["assets", _])
        | (_, ["assets", _, "user-metadata"])
        | (_, ["knowledge-stores"])
        | (_, ["knowledge-stores", _])
        | (_, ["knowledge-stores", _, "search" | "items"])
        | (_, ["knowledge-stores", _, "items", _])
        | (_, ["responses"]) => Err(JockeyError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not supported on {}", ctx.path),
        )),
        _ => unmodeled::answer(state, ctx, &method, &segments).unwrap_or_else(|| {
            Err(JockeyError::not_found(format!("No endpoint {method} /v1.3{}", ctx.path)))
        }),
    };
    result.unwrap_or_else(|e| Outcome::read(e.into_response()))
}

/// The body as a JSON object (a missing body is an empty object).
pub(crate) fn json_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>> {
    match ctx.json()? {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(JockeyError::bad_request("The request body must be a JSON object")),
    }
}

/// `page` and `page_limit`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Paging {
    page: usize,
    limit: usize,
}

pub(crate) fn paging(q: &Query) -> Result<Paging> {
    let page = match q.get("page") {
        None => 1,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|&p| p >= 1)
            .ok_or_else(|| JockeyError::bad_request("page must be an integer of at least 1"))?,
    };
    let limit = match q.get("page_limit") {
        None => 10,
        Some(s) => {
            s.parse::<usize>().ok().filter(|&l| (1..=MAX_PAGE_LIMIT).contains(&l)).ok_or_else(
                || {
                    JockeyError::bad_request(format!(
                        "page_limit must be an integer from 1 to {MAX_PAGE_LIMIT}"
                    ))
                },
            )?
        }
    };
    Ok(Paging { page, limit })
}

/// One page of `all`, as `{data, page_info}`.
pub(crate) fn page(all: Vec<Value>, p: Paging) -> Value {
    let total = all.len();
    let data: Vec<Value> =
        all.into_iter().skip((p.page - 1).saturating_mul(p.limit)).take(p.limit).collect();
    json!({
        "data": data,
        "page_info": {
            "limit_per_page": p.limit,
            "page": p.page,
            "total_page": total.div_ceil(p.limit),
            "total_results": total,
        }
    })
}

/// `sort_by` (`created_at` | `updated_at`) and `sort_option` (`asc` | `desc`, default desc).
pub(crate) fn sorting(q: &Query) -> Result<(bool, bool)> {
    let by_updated = match q.get("sort_by") {
        None | Some("created_at") => false,
        Some("updated_at") => true,
        Some(other) => {
            return Err(JockeyError::bad_request(format!(
                "sort_by must be created_at or updated_at, not {other:?}"
            )))
        }
    };
    let ascending = match q.get("sort_option") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(JockeyError::bad_request(format!(
                "sort_option must be asc or desc, not {other:?}"
            )))
        }
    };
    Ok((by_updated, ascending))
}

/// Checks a store's or item's `metadata`: values are strings, numbers, booleans or string
/// arrays; null and nested values are rejected; counts and lengths are bounded.
pub(crate) fn check_metadata(
    value: &Value,
    max_pairs: usize,
    max_value_len: usize,
) -> Result<Map<String, Value>> {
    let Value::Object(map) = value else {
        return Err(JockeyError::bad_request("metadata must be a JSON object"));
    };
    if map.len() > max_pairs {
        return Err(JockeyError::bad_request(format!("metadata holds at most {max_pairs} pairs")));
    }
    for (k, v) in map {
        if k.chars().count() > 128 {
            return Err(JockeyError::bad_request("metadata keys are at most 128 characters"));
        }
        let ok = match v {
            Value::String(s) => s.chars().count() <= max_value_len,
            Value::Number(_) | Value::Bool(_) => true,
            Value::Array(xs) => xs.iter().all(Value::is_string),
            Value::Null | Value::Object(_) => false,
        };
        if !ok {
            return Err(JockeyError::bad_request(format!(
                "metadata value of {k:?} must be a string (at most {max_value_len} characters), number, boolean or array of strings"
            )));
        }
    }
    Ok(map.clone())
}
