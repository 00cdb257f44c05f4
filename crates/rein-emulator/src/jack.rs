//! jack (`/v1`): ingest (JSON and file), documents, query, usage and keys, with errors in
//! jack's dialect `{"detail": "..."}`.
//!
//! Status choices follow jack's table: 400 for malformed JSON and missing required fields, 422
//! for values of the wrong type or out of range (an empty `documents` list included), 413 and
//! 415 for files, 401 for a missing or unknown key, 403 for a revoked one. `POST /ingest/file`
//! answers in the shape of the JSON ingest's answer; deletes answer 204 with no body.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Method, Response, StatusCode};
use rein_core::{Moment, Now, SplitMix64};
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::handler::{BodyError, Ctx, Outcome};
use crate::lifecycle::{Outcome as Ending, Timeline};
use crate::multipart::FormPart;
use crate::wire::{self, clip, date, hex_id, timestamp, uuid};

/// The multipart field that carries the file of `POST /v1/ingest/file` (the one rein's client
/// sends).
// A guess: jack does not publish its form field names; `file` is the common convention. Kept
// here, in one place, so it is easy to change.
pub const JACK_FILE_FIELD: &str = "file";

/// The largest file `POST /v1/ingest/file` takes: 413 above it.
pub const FILE_LIMIT: u64 = 100 * 1024 * 1024;

/// The file extensions jack ingests: 415 for anything else.
pub const FILE_FORMATS: [&str; 4] = ["pdf", "docx", "txt", "md"];

/// The most documents one `POST /v1/ingest` takes.
pub const MAX_DOCUMENTS: usize = 50;

/// A jack error response: `{"detail": ...}`.
pub(crate) fn error(status: StatusCode, detail: &str) -> Response<Bytes> {
    wire::json(status, &json!({ "detail": detail }))
}

struct JackError(StatusCode, String);

type Result<T, E = JackError> = std::result::Result<T, E>;

fn bad(detail: impl Into<String>) -> JackError {
    JackError(StatusCode::BAD_REQUEST, detail.into())
}

fn invalid(detail: impl Into<String>) -> JackError {
    JackError(StatusCode::UNPROCESSABLE_ENTITY, detail.into())
}

fn not_found(detail: impl Into<String>) -> JackError {
    JackError(StatusCode::NOT_FOUND, detail.into())
}

impl From<BodyError> for JackError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(reason) => bad(reason),
            BodyError::TooLarge(len) => JackError(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body too large ({len} bytes)"),
            ),
        }
    }
}

#[derive(Clone)]
struct Key {
    id: String,
    key: String,
    label: String,
    created: Option<Now>,
    last_used: Option<Now>,
    revoked: Option<Now>,
}

impl Key {
    fn to_json(&self, org_id: &str) -> Value {
        let at = |n: Option<Now>| n.map(|n| timestamp(n.wall));
        json!({
            "id": self.id,
            "prefix": prefix(&self.key),
            "label": self.label,
            "org_id": org_id,
            "created_at": at(self.created),
            "last_used_at": at(self.last_used),
            "revoked_at": at(self.revoked),
        })
    }
}

fn prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

/// What an ingest knows about a new document.
struct NewDocument {
    filename: Option<String>,
    source_type: &'static str,
    metadata: Map<String, Value>,
    excerpt: String,
    len: u64,
    chunk_size: u64,
    chunk_overlap: u64,
}

#[derive(Clone)]
struct Document {
    id: String,
    seq: u64,
    filename: Option<String>,
    source_type: &'static str,
    metadata: Map<String, Value>,
    /// The start of the text, for citations (files: their name).
    excerpt: String,
    /// Length in characters (files: bytes), for the chunk count.
    len: u64,
    chunk_size: u64,
    chunk_overlap: u64,
    timeline: Timeline,
}

impl Document {
    fn status(&self, now: Now) -> &'static str {
        self.timeline.status(now.moment)
    }

    /// Chunks of roughly `chunk_size` tokens (4 characters a token) overlapping by
    /// `chunk_overlap`.
    fn chunk_count(&self) -> u64 {
        let tokens = self.len.div_ceil(4).max(1);
        if tokens <= self.chunk_size {
            return 1;
        }
        let step = self.chunk_size.saturating_sub(self.chunk_overlap).max(1);
        1 + (tokens - self.chunk_size).div_ceil(step)
    }

    fn to_json(&self, now: Now) -> Value {
        let status = self.status(now);
        json!({
            "id": self.id,
            "filename": self.filename,
            "source_type": self.source_type,
            "metadata": self.metadata,
            "status": status,
            "error_message": (status == "failed")
                .then_some("The document could not be processed"),
            "chunk_count": if status == "ready" { self.chunk_count() } else { 0 },
            "created_at": timestamp(self.timeline.created().wall),
            "updated_at": timestamp(self.timeline.changed_at(now.moment)),
        })
    }
}

/// jack's state: one organisation, its keys, documents and query counts.
#[derive(Debug)]
pub(crate) struct State {
    org_id: String,
    keys: Vec<Key>,
    docs: BTreeMap<String, Document>,
    seq: u64,
    /// Queries per day (`YYYY-MM-DD`).
    queries: BTreeMap<String, u64>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .field("revoked", &self.revoked.is_some())
            .finish()
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").field("id", &self.id).finish()
    }
}

impl State {
    pub(crate) fn new(config: &Config, rng: &mut SplitMix64) -> Self {
        let keys = config
            .jack_keys
            .iter()
            .map(|k| Key {
                id: uuid(rng),
                key: k.clone(),
                label: "configured".into(),
                created: None,
                last_used: None,
                revoked: None,
            })
            .collect();
        State {
            org_id: config.jack_org_id.clone(),
            keys,
            docs: BTreeMap::new(),
            seq: 0,
            queries: BTreeMap::new(),
        }
    }

    pub(crate) fn next_change(&self, now: Moment) -> Option<Moment> {
        self.docs.values().filter_map(|d| d.timeline.next_change(now)).min()
    }

    /// When document `id` finishes processing, and how.
    pub(crate) fn settles(&self, id: &str) -> Option<(Moment, &'static str)> {
        self.docs.get(id).map(|d| d.timeline.settles())
    }

    /// Checks `Authorization: Bearer <key>`: the refusal (401 when missing or unknown, 403
    /// when revoked), if any.
    pub(crate) fn refusal(&mut self, ctx: &Ctx<'_>) -> Option<Response<Bytes>> {
        let header =
            ctx.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => "",
        };
        if token.is_empty() {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "Missing API key: send Authorization: Bearer jack_...",
            ));
        }
        let Some(key) = self.keys.iter_mut().find(|k| k.key == token) else {
            return Some(error(StatusCode::UNAUTHORIZED, "Invalid API key"));
        };
        if key.revoked.is_some() {
            return Some(error(StatusCode::FORBIDDEN, "API key has been revoked"));
        }
        key.created.get_or_insert(ctx.now);
        key.last_used = Some(ctx.now);
        None
    }

    /// Routes a request under `/v1`.
    pub(crate) fn route(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        let path = ctx.path.to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = ctx.method.clone();
        let result = match (&method, segments.as_slice()) {
            (&Method::POST, ["ingest"]) => self.ingest(ctx),
            (&Method::POST, ["ingest", "file"]) => self.ingest_file(ctx),
            (&Method::GET, ["documents"]) => self.list_documents(ctx),
            (&Method::GET, ["documents", id]) => self.get_document(ctx, id),
            (&Method::DELETE, ["documents", id]) => self.delete_document(id),
            (&Method::POST, ["query"]) => self.query(ctx),
            (&Method::GET, ["usage"]) => self.usage(ctx),
            (&Method::POST, ["keys"]) => self.create_key(ctx),
            (&Method::GET, ["keys"]) => self.list_keys(),
            (&Method::DELETE, ["keys", id]) => self.revoke_key(ctx, id),
            (
                _,
                ["ingest"]
                | ["ingest", "file"]
                | ["documents"]
                | ["documents", _]
                | ["query"]
                | ["usage"]
                | ["keys"]
                | ["keys", _],
            ) => Err(JackError(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".into())),
            _ => Err(not_found("Not Found")),
        };
        result.unwrap_or_else(|JackError(status, detail)| Outcome::read(error(status, &detail)))
    }

    fn body_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>> {
        match ctx.json()? {
            None => Err(bad("A JSON request body is required")),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(bad("The request body must be a JSON object")),
        }
    }

    fn new_document(&mut self, ctx: &mut Ctx<'_>, new: NewDocument) -> String {
        self.seq += 1;
        let ending = Ending::draw(ctx.rng, ctx.config.failure_rate);
        let doc = Document {
            id: uuid(ctx.rng),
            seq: self.seq,
            filename: new.filename,
            source_type: new.source_type,
            metadata: new.metadata,
            excerpt: new.excerpt,
            len: new.len,
            chunk_size: new.chunk_size,
            chunk_overlap: new.chunk_overlap,
            timeline: Timeline::processing(ctx.now, ctx.config.timing.document, ending, ctx.rng),
        };
        let id = doc.id.clone();
        self.docs.insert(id.clone(), doc);
        id
    }

    fn accepted(&self, ids: Vec<String>) -> Outcome {
        Outcome::wrote(wire::json(
            StatusCode::ACCEPTED,
            &json!({
                "status": "accepted",
                "org_id": self.org_id,
                "queued": ids.len(),
                "document_ids": ids,
            }),
        ))
    }

    fn ingest(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome> {
        let body = Self::body_object(ctx)?;
        let docs = match body.get("documents") {
            None | Some(Value::Null) => return Err(bad("documents is required")),
            Some(Value::Array(docs)) => docs,
            Some(_) => return Err(invalid("documents must be a list")),
        };
        if docs.is_empty() {
            return Err(invalid("documents list must not be empty"));
        }
        if docs.len() > MAX_DOCUMENTS {
            return Err(invalid(format!(
                "documents holds at most {MAX_DOCUMENTS} documents per request"
            )));
        }
        let chunk_size = int_in(&body, "chunk_size", 512, 128, 4096)?;
        let chunk_overlap = int_in(&body, "chunk_overlap", 64, 0, 512)?;
        let mut checked = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            let Value::Object(doc) = doc else {
                return Err(invalid(format!("documents[{i}] must be an object")));
            };
            let text = match doc.get("text") {
                None | Some(Value::Null) => {
                    return Err(bad(format!("documents[{i}].text is required")))
                }
                Some(Value::String(s)) if s.trim().is_empty() => {
                    return Err(invalid(format!("documents[{i}].text must not be empty")))
                }
                Some(Value::String(s)) => s,
                Some(_) => return Err(invalid(format!("documents[{i}].text must be a string"))),
            };
            let metadata = string_map(doc.get("metadata"), &format!("documents[{i}].metadata"))?;
            checked.push((text.clone(), metadata));
        }
        let ids = checked
            .into_iter()
            .map(|(text, metadata)| {
                let len = text.chars().count() as u64;
                self.new_document(
                    ctx,
                    NewDocument {
                        filename: None,
                        source_type: "text",
                        metadata,
                        excerpt: clip(&text, 500),
                        len,
                        chunk_size,
                        chunk_overlap,
                    },
                )
            })
            .collect();
        Ok(self.accepted(ids))
    }

    fn ingest_file(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome> {
        let form =
            ctx.form()?.ok_or_else(|| bad("Expected multipart/form-data with a file field"))?;
        let file: &FormPart = form
            .iter()
            .find(|p| p.name == JACK_FILE_FIELD)
            .ok_or_else(|| bad(format!("{JACK_FILE_FIELD} is required")))?;
        let filename = file.filename.clone().unwrap_or_default();
        let ext =
            filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        if !FILE_FORMATS.contains(&ext.as_str()) {
            return Err(JackError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported file type: use .pdf, .docx, .txt, or .md".into(),
            ));
        }
        let len = file.len();
        if len > FILE_LIMIT {
            return Err(JackError(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("File too large: {len} bytes; the limit is 100MB"),
            ));
        }
        if len == 0 {
            return Err(invalid("The file is empty"));
        }
        let id = self.new_document(
            ctx,
            NewDocument {
                filename: Some(filename.clone()),
                source_type: "file",
                metadata: Map::new(),
                excerpt: filename,
                len,
                chunk_size: 512,
                chunk_overlap: 64,
            },
        );
        // A guess: jack publishes no shape for this answer beyond "returns a document id"; it
        // is the JSON ingest's.
        Ok(self.accepted(vec![id]))
    }

    fn live(&self) -> Vec<&Document> {
        let mut docs: Vec<&Document> = self.docs.values().collect();
        docs.sort_by_key(|d| std::cmp::Reverse(d.seq));
        docs
    }

    fn list_documents(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome> {
        let all: Vec<Value> = self.live().iter().map(|d| d.to_json(ctx.now)).collect();
        Ok(Outcome::read(wire::json(StatusCode::OK, &Value::Array(all))))
    }

    fn get_document(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
        let doc = self.docs.get(id).ok_or_else(|| not_found("Document not found"))?;
        Ok(Outcome::read(wire::json(StatusCode::OK, &doc.to_json(ctx.now))))
    }

    fn delete_document(&mut self, id: &str) -> Result<Outcome> {
        self.docs.remove(id).ok_or_else(|| not_found("Document not found"))?;
        // A guess: jack publishes no shape for this answer; no content.
        Ok(Outcome::wrote(wire::empty(StatusCode::NO_CONTENT)))
    }

    fn query(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome> {
        let body = Self::body_object(ctx)?;
        let question = match body.get("question") {
            None | Some(Value::Null) => return Err(bad("question is required")),
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(invalid("question must not be empty"))
            }
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("question must be a string")),
        };
        let filters = match body.get("filters") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(invalid("filters must be an object")),
        };
        let top_k = int_in(&body, "top_k", 6, 1, 20)? as usize;

        let words: Vec<String> = question
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
            .map(str::to_lowercase)
            .collect();
        let now = ctx.now;
        let mut scored: Vec<(f64, &Document)> = self
            .live()
            .into_iter()
            .filter(|d| d.status(now) == "ready")
            .filter(|d| {
                filters.iter().all(|(k, v)| {
                    let want = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
                    d.metadata.get(k).and_then(Value::as_str) == Some(want.as_str())
                })
            })
            .map(|d| {
                let text = d.excerpt.to_lowercase();
                let hits = words.iter().filter(|w| text.contains(w.as_str())).count();
                let score = (hits as f64 + 1.0) / (words.len() as f64 + 2.0);
                ((score * 1000.0).round() / 1000.0, d)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.seq.cmp(&a.1.seq)));
        let citations: Vec<Value> = scored
            .iter()
            .take(top_k)
            .map(|(score, d)| {
                json!({
                    "text": clip(&d.excerpt, 300),
                    "source": d.filename.clone().unwrap_or_else(|| d.id.clone()),
                    "score": score,
                })
            })
            .collect();
        let answer = if citations.is_empty() {
            "No relevant information was found in your documents.".to_owned()
        } else {
            format!(
                "This is an emulated answer to \"{}\", based on {} document(s).",
                clip(&question, 200),
                citations.len()
            )
        };
        *self.queries.entry(date(now.wall)).or_insert(0) += 1;
        Ok(Outcome::wrote(wire::json(
            StatusCode::OK,
            &json!({"answer": answer, "citations": citations, "org_id": self.org_id}),
        )))
    }

    fn usage(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome> {
        // The 30 days ending today.
        let since = date(ctx.now.wall - std::time::Duration::from_secs(29 * 86_400));
        let period = self.queries.range(since..);
        let total: u64 = period.clone().map(|(_, n)| n).sum();
        let daily: Vec<Value> = period.map(|(d, n)| json!({"date": d, "count": n})).collect();
        Ok(Outcome::read(wire::json(
            StatusCode::OK,
            &json!({
                "org_id": self.org_id,
                "period_days": 30,
                "total_queries": total,
                "daily": daily,
                "rate_limit_rpm": ctx.config.jack_rpm,
            }),
        )))
    }

    fn create_key(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome> {
        let body = match ctx.json()? {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(bad("The request body must be a JSON object")),
        };
        let label = match body.get("label") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("label must be a string")),
        };
        let key = Key {
            id: uuid(ctx.rng),
            key: format!("jack_{}", hex_id(ctx.rng, 48)),
            label,
            created: Some(ctx.now),
            last_used: None,
            revoked: None,
        };
        let body = json!({
            "id": key.id,
            "key": key.key,
            "prefix": prefix(&key.key),
            "label": key.label,
            "org_id": self.org_id,
            "created_at": timestamp(ctx.now.wall),
        });
        self.keys.push(key);
        Ok(Outcome::wrote(wire::json(StatusCode::CREATED, &body)))
    }

    fn list_keys(&mut self) -> Result<Outcome> {
        let all: Vec<Value> = self.keys.iter().map(|k| k.to_json(&self.org_id)).collect();
        Ok(Outcome::read(wire::json(StatusCode::OK, &Value::Array(all))))
    }

    fn revoke_key(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
        let key =
            self.keys.iter_mut().find(|k| k.id == id).ok_or_else(|| not_found("Key not found"))?;
        let changed = key.revoked.is_none();
        key.revoked.get_or_insert(ctx.now);
        let response = wire::empty(StatusCode::NO_CONTENT);
        Ok(if changed { Outcome::wrote(response) } else { Outcome::read(response) })
    }
}

/// An optional integer field in `min..=max`, 422 otherwise.
fn int_in(body: &Map<String, Value>, key: &str, default: u64, min: u64, max: u64) -> Result<u64> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| invalid(format!("{key} must be an integer from {min} to {max}"))),
    }
}

/// An optional object of string values, 422 otherwise.
fn string_map(value: Option<&Value>, what: &str) -> Result<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => {
            if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                return Err(invalid(format!("{what}.{k}: metadata values must be strings")));
            }
            Ok(m.clone())
        }
        Some(_) => Err(invalid(format!("{what} must be an object of strings"))),
    }
}
