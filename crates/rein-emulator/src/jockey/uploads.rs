//! Multipart uploads (`/assets/multipart-uploads`): sessions, their presigned chunk URLs, the
//! chunk `PUT`s those URLs take (the storage side, answered as S3 would), chunk reports, and
//! the asset a completed session makes.
//!
//! A session lives [`SESSION_LIFETIME`] (24 h) from its creation, then reads `expired`: its
//! URLs are refused and so are its reports. A URL lives [`URL_LIFETIME`] (1 h) from its
//! issue, never past its session, and takes one successful `PUT` ("Each URL can only be used
//! once"): a refused or failed `PUT` does not spend it, so a retry of the same `PUT` is taken.
//! The asset exists from the report of the last chunk: `processing`, then `ready` (or
//! `failed`) on the direct-upload timing.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use http::{Method, StatusCode};
use rein_core::jockey::multipart::{
    chunk_range, MAX_IMAGE_BYTES, MAX_URLS_PER_REQUEST, MAX_VIDEO_BYTES, SESSION_LIFETIME,
    URL_LIFETIME,
};
use rein_core::{Moment, Now, SplitMix64};
use serde_json::{json, Map, Value};

use super::assets::{self, Received};
use super::{json_object, page, paging, JockeyError, Result, State};
use crate::faults::FaultKind;
use crate::handler::{Ctx, Outcome};
use crate::presigned::{self, ChunkDigest, ChunkUrl};
use crate::wire::{self, hex_id, timestamp};

/// What a report's `url` points at: a host that resolves nowhere (the emulator serves no file).
const ASSET_URL_BASE: &str = "https://assets.emulator.invalid";

/// A multipart upload session.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    id: String,
    seq: u64,
    asset_id: String,
    filename: String,
    kind: &'static str,
    total_size: u64,
    chunk_size: u64,
    total_chunks: u32,
    enable_hls: bool,
    enable_thumbnail: bool,
    user_metadata: Map<String, Value>,
    created: Now,
    updated: SystemTime,
    /// The chunks anything happened to (uploaded, failed or reported), by 1-based index.
    chunks: BTreeMap<u32, Chunk>,
    /// How many chunks are reported.
    reported: u32,
    /// The URLs issued, by signature.
    urls: HashMap<String, Issued>,
    completed: Option<SystemTime>,
}

/// What the session knows of one chunk.
#[derive(Clone, Debug)]
struct Chunk {
    /// The digest of its last successful `PUT`.
    stored: Option<ChunkDigest>,
    /// Why its last `PUT` failed, until one succeeds.
    failed: Option<String>,
    /// When it was reported, and its size.
    reported: Option<(SystemTime, u64)>,
    updated: SystemTime,
}

/// A presigned URL issued.
#[derive(Clone, Copy, Debug)]
struct Issued {
    index: u32,
    expires: Moment,
    expires_ms: u64,
    used: bool,
}

impl Upload {
    fn ends(&self) -> Moment {
        self.created.moment + SESSION_LIFETIME
    }

    fn expires_at(&self) -> SystemTime {
        self.created.wall + SESSION_LIFETIME
    }

    fn status(&self, now: Moment) -> &'static str {
        if self.completed.is_some() {
            "completed"
        } else if now >= self.ends() {
            "expired"
        } else {
            "active"
        }
    }

    /// The bytes chunk `index` holds (0 outside the session).
    fn chunk_len(&self, index: u32) -> u64 {
        chunk_range(self.chunk_size, self.total_chunks, index, self.total_size).map_or(0, |r| r.1)
    }

    fn chunk(&mut self, index: u32) -> &mut Chunk {
        let created = self.created.wall;
        self.chunks.entry(index).or_insert(Chunk {
            stored: None,
            failed: None,
            reported: None,
            updated: created,
        })
    }

    /// A fresh URL for chunk `index`: an hour, or what is left of the session if less.
    fn issue(&mut self, index: u32, base: &str, rng: &mut SplitMix64, now: Now) -> Value {
        let lifetime = URL_LIFETIME.min(self.ends().saturating_since(now.moment));
        let wall = now.wall + lifetime;
        let expires_ms = presigned::unix_ms(wall);
        let sig = hex_id(rng, 32);
        let url = presigned::url(base, &self.id, index, expires_ms, &sig);
        let issued = Issued { index, expires: now.moment + lifetime, expires_ms, used: false };
        self.urls.insert(sig, issued);
        json!({"chunk_index": index, "url": url, "expires_at": timestamp(wall)})
    }

    /// The `ChunkInfo` of chunk `index`.
    fn chunk_info(&self, index: u32) -> Value {
        let mut m = Map::new();
        m.insert("index".into(), json!(index));
        let chunk = self.chunks.get(&index);
        let updated = chunk.map_or(self.created.wall, |c| c.updated);
        match chunk {
            Some(Chunk { reported: Some((at, _)), .. }) => {
                m.insert("status".into(), json!("completed"));
                m.insert("uploaded_at".into(), json!(timestamp(*at)));
            }
            Some(Chunk { failed: Some(why), .. }) => {
                m.insert("status".into(), json!("failed"));
                m.insert("error".into(), json!(why));
            }
            _ => {
                m.insert("status".into(), json!("pending"));
            }
        }
        m.insert("updated_at".into(), json!(timestamp(updated)));
        Value::Object(m)
    }

    fn failed_chunks(&self) -> u32 {
        self.chunks.values().filter(|c| c.reported.is_none() && c.failed.is_some()).count() as u32
    }

    fn uploaded_size(&self) -> u64 {
        self.chunks.values().filter_map(|c| c.reported.map(|(_, size)| size)).sum()
    }

    /// The `IncompleteUploadSummary`.
    fn summary(&self, now: Now) -> Value {
        json!({
            "upload_id": self.id,
            "status": self.status(now.moment),
            "total_size": self.total_size,
            "chunk_size": self.chunk_size,
            "total_chunks": self.total_chunks,
            "created_at": timestamp(self.created.wall),
            "expires_at": timestamp(self.expires_at()),
        })
    }
}

fn bad(message: impl Into<String>) -> JockeyError {
    JockeyError::bad_request(message)
}

fn find<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Upload> {
    state
        .uploads
        .get_mut(id)
        .ok_or_else(|| JockeyError::not_found(format!("Upload {id} not found")))
}

/// Refuses work on a session that expired (and, unless `completed_ok`, one that completed).
// GUESS: the spec names no status for a report or a URL request on an expired or completed
// session; a 400 in Jockey's dialect says what to do.
fn require_open(upload: &Upload, now: Moment, what: &str, completed_ok: bool) -> Result<()> {
    match upload.status(now) {
        "expired" => Err(bad(format!(
            "The upload session {} expired 24 hours after its creation: {what} is refused. Create a new upload session",
            upload.id
        ))),
        "completed" if !completed_ok => Err(bad(format!(
            "The upload session {} is completed: {what} is refused",
            upload.id
        ))),
        _ => Ok(()),
    }
}

fn optional_bool(body: &Map<String, Value>, name: &str) -> Result<bool> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("{name} must be a boolean"))),
    }
}

fn required_u64(body: &Map<String, Value>, name: &str) -> Result<u64> {
    match body.get(name) {
        None | Some(Value::Null) => Err(bad(format!("The '{name}' field is required"))),
        Some(v) => v.as_u64().ok_or_else(|| bad(format!("{name} must be a non-negative integer"))),
    }
}

/// `POST /assets/multipart-uploads`.
pub(super) fn create(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let body = json_object(ctx)?;
    let filename = match body.get("filename") {
        None | Some(Value::Null) => return Err(bad("The 'filename' field is required")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(bad("The 'filename' field is empty"))
        }
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(_) => return Err(bad("filename must be a string")),
    };
    let kind = match body.get("type") {
        None | Some(Value::Null) => return Err(bad("The 'type' field is required")),
        Some(Value::String(s)) => match s.as_str() {
            "video" => "video",
            "audio" => "audio",
            "image" => "image",
            other => {
                return Err(bad(format!(
                    "The 'type' field must be video, audio or image, not {other:?}"
                )))
            }
        },
        Some(_) => return Err(bad("type must be a string: video, audio or image")),
    };
    let total_size = required_u64(&body, "total_size")?;
    if total_size == 0 {
        return Err(bad("total_size must be at least 1: an empty file makes no asset"));
    }
    let max = if kind == "image" { MAX_IMAGE_BYTES } else { MAX_VIDEO_BYTES };
    if total_size > max {
        return Err(bad(format!(
            "File too large: {total_size} bytes; multipart uploads take video and audio up to 10 GB and images up to 32 MB"
        )));
    }
    let enable_hls = optional_bool(&body, "enable_hls")?;
    let enable_thumbnail = optional_bool(&body, "enable_thumbnail")?;
    let user_metadata = match body.get("user_metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            if let Some((k, _)) =
                m.iter().find(|(_, v)| !(v.is_string() || v.is_number() || v.is_boolean()))
            {
                return Err(bad(format!(
                    "user_metadata value of {k:?} must be a string, number or boolean"
                )));
            }
            m.clone()
        }
        Some(_) => return Err(bad("user_metadata must be an object")),
    };

    let chunk_size = ctx.config.multipart_chunk_size.max(1);
    let total_chunks = u32::try_from(total_size.div_ceil(chunk_size))
        .map_err(|_| bad("The file needs more chunks than a session holds"))?;
    let mut upload = Upload {
        id: hex_id(ctx.rng, 24),
        seq: state.next_seq(),
        asset_id: hex_id(ctx.rng, 24),
        filename,
        kind,
        total_size,
        chunk_size,
        total_chunks,
        enable_hls,
        enable_thumbnail,
        user_metadata,
        created: ctx.now,
        updated: ctx.now.wall,
        chunks: BTreeMap::new(),
        reported: 0,
        urls: HashMap::new(),
        completed: None,
    };
    let initial = total_chunks.min(ctx.config.multipart_initial_urls);
    let urls: Vec<Value> = (1..=initial)
        .map(|i| upload.issue(i, &ctx.config.presigned_base, ctx.rng, ctx.now))
        .collect();
    let body = json!({
        "upload_id": upload.id,
        "asset_id": upload.asset_id,
        "upload_urls": urls,
        "upload_headers": {},
        "chunk_size": chunk_size,
        "total_chunks": total_chunks,
        "expires_at": timestamp(upload.expires_at()),
    });
    state.uploads.insert(upload.id.clone(), upload);
    Ok(Outcome::wrote(wire::json(StatusCode::CREATED, &body)))
}

/// `GET /assets/multipart-uploads`: the sessions not completed, newest first.
pub(super) fn list(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let p = paging(&ctx.query)?;
    let mut open: Vec<&Upload> = state.uploads.values().filter(|u| u.completed.is_none()).collect();
    open.sort_by_key(|u| std::cmp::Reverse(u.seq));
    let all = open.iter().map(|u| u.summary(ctx.now)).collect();
    Ok(Outcome::read(wire::json(StatusCode::OK, &page(all, p))))
}

/// `GET /assets/multipart-uploads/{upload_id}`: the session's status and a page of its chunks.
pub(super) fn status(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    let p = paging(&ctx.query)?;
    let upload = find(state, id)?;
    let total = upload.total_chunks as usize;
    let first = (p.page - 1).saturating_mul(p.limit);
    let chunks: Vec<Value> = (first..total.min(first.saturating_add(p.limit)))
        .map(|i| upload.chunk_info(i as u32 + 1))
        .collect();
    let failed = upload.failed_chunks();
    let body = json!({
        "upload_id": upload.id,
        "status": upload.status(ctx.now.moment),
        "uploaded_chunks": chunks,
        "chunks_completed": upload.reported,
        "chunks_failed": failed,
        "chunks_pending": upload.total_chunks - upload.reported - failed,
        "page_info": {
            "limit_per_page": p.limit,
            "page": p.page,
            "total_page": total.div_ceil(p.limit),
            "total_results": total,
        },
        "total_size": upload.total_size,
        "uploaded_size": upload.uploaded_size(),
        "created_at": timestamp(upload.created.wall),
        "updated_at": timestamp(upload.updated),
    });
    Ok(Outcome::read(wire::json(StatusCode::OK, &body)))
}

/// `POST /assets/multipart-uploads/{upload_id}/presigned-urls`: fresh URLs for `count` chunks
/// from `start` (clipped to the chunks there are).
pub(super) fn more_urls(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    let now = ctx.now;
    let upload = find(state, id)?;
    let body = json_object(ctx)?;
    require_open(upload, now.moment, "asking for presigned URLs", false)?;
    let start = required_u64(&body, "start")?;
    let count = required_u64(&body, "count")?;
    if !(1..=u64::from(MAX_URLS_PER_REQUEST)).contains(&count) {
        return Err(bad(format!("count must be from 1 to {MAX_URLS_PER_REQUEST}, not {count}")));
    }
    let total = upload.total_chunks;
    if !(1..=u64::from(total)).contains(&start) {
        return Err(bad(format!(
            "start must be a chunk index from 1 to {total} (chunks are numbered from 1), not {start}"
        )));
    }
    let start = start as u32;
    let count = (count as u32).min(total - start + 1);
    let urls: Vec<Value> = (0..count)
        .map(|k| upload.issue(start + k, &ctx.config.presigned_base, ctx.rng, now))
        .collect();
    let lifetime = URL_LIFETIME.min(upload.ends().saturating_since(now.moment));
    let body = json!({
        "upload_id": upload.id,
        "start_index": start,
        "count": count,
        "upload_urls": urls,
        "generated_at": timestamp(now.wall),
        "expires_at": timestamp(now.wall + lifetime),
    });
    Ok(Outcome::wrote(wire::json(StatusCode::OK, &body)))
}

/// `POST /assets/multipart-uploads/{upload_id}`: reports uploaded chunks. Every new chunk's
/// proof must be the `ETag` of its last successful `PUT`, and its size the chunk's; a bad one
/// refuses the whole report. Chunks reported before are counted as duplicates and ignored.
/// The report of the last chunk completes the session and makes the asset.
pub(super) fn report(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    let now = ctx.now;
    let upload = find(state, id)?;
    let body = json_object(ctx)?;
    // A completed session takes reports again (every chunk a duplicate): a report whose
    // answer was lost is safe to repeat.
    require_open(upload, now.moment, "reporting chunks", true)?;
    let chunks = match body.get("completed_chunks") {
        None | Some(Value::Null) => return Err(bad("The 'completed_chunks' field is required")),
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(bad("completed_chunks is empty: report at least one chunk"))
        }
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("completed_chunks must be an array")),
    };
    let total = upload.total_chunks;
    let mut fresh: Vec<(u32, u64)> = Vec::new();
    let mut duplicates = 0u32;
    for (i, chunk) in chunks.iter().enumerate() {
        let Some(c) = chunk.as_object() else {
            return Err(bad(format!("completed_chunks[{i}] must be an object")));
        };
        let index = c
            .get("chunk_index")
            .and_then(Value::as_u64)
            .filter(|n| (1..=u64::from(total)).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "completed_chunks[{i}]: chunk_index must be an integer from 1 to {total}"
                ))
            })? as u32;
        let proof =
            c.get("proof").and_then(Value::as_str).filter(|p| !p.is_empty()).ok_or_else(|| {
                bad(format!("chunk {index}: proof (the ETag its upload returned) is required"))
            })?;
        match c.get("proof_type").and_then(Value::as_str) {
            Some("etag") => {}
            Some(other) => {
                return Err(bad(format!(
                    "chunk {index}: proof_type must be \"etag\", not {other:?}"
                )))
            }
            None => return Err(bad(format!("chunk {index}: proof_type is required (\"etag\")"))),
        }
        let size = c.get("chunk_size").and_then(Value::as_u64).ok_or_else(|| {
            bad(format!("chunk {index}: chunk_size must be a non-negative integer"))
        })?;
        let known = upload.chunks.get(&index);
        if known.is_some_and(|k| k.reported.is_some()) || fresh.iter().any(|(f, _)| *f == index) {
            duplicates += 1;
            continue;
        }
        let expected = upload.chunk_len(index);
        if size != expected {
            return Err(bad(format!(
                "chunk {index}: chunk_size is {size}, but chunk {index} holds {expected} bytes"
            )));
        }
        let Some(stored) = known.and_then(|k| k.stored) else {
            return Err(bad(format!(
                "chunk {index} was not uploaded: no PUT to its presigned URL succeeded"
            )));
        };
        // The spec asks for the ETag as returned (quoted); the bare hex is taken too.
        if proof.trim_matches('"') != stored.etag().trim_matches('"') {
            return Err(bad(format!(
                "chunk {index}: the proof {proof:?} is not the ETag its upload returned"
            )));
        }
        fresh.push((index, size));
    }

    for &(index, size) in &fresh {
        let chunk = upload.chunk(index);
        chunk.reported = Some((now.wall, size));
        chunk.failed = None;
        chunk.updated = now.wall;
    }
    upload.reported += fresh.len() as u32;
    if !fresh.is_empty() {
        upload.updated = now.wall;
    }
    let complete = upload.reported == total;
    let mut body = json!({
        "asset_id": upload.asset_id,
        "processed_chunks": fresh.len(),
        "duplicate_chunks": duplicates,
        "total_completed": upload.reported,
    });
    if complete {
        body["url"] = json!(format!("{ASSET_URL_BASE}/{}", upload.asset_id));
    }
    if complete && upload.completed.is_none() {
        upload.completed = Some(now.wall);
        let received = Received {
            id: upload.asset_id.clone(),
            filename: upload.filename.clone(),
            kind: upload.kind,
            size: upload.total_size,
            user_metadata: upload.user_metadata.clone(),
            enable_hls: upload.enable_hls,
            enable_thumbnail: upload.enable_thumbnail,
        };
        assets::receive(state, ctx, received);
    }
    let response = wire::json(StatusCode::OK, &body);
    Ok(if fresh.is_empty() { Outcome::read(response) } else { Outcome::wrote(response) })
}

/// A request to a presigned URL (the storage side): a chunk `PUT`, answered as S3 would. A
/// `fault` drawn for it ([`FaultKind::ChunkFailure`], [`FaultKind::UrlExpiry`]) is acted out
/// instead of storing the chunk.
pub(crate) fn put_chunk(
    state: &mut State,
    method: &Method,
    url: &ChunkUrl,
    digest: Option<ChunkDigest>,
    fault: Option<FaultKind>,
    now: Now,
) -> Outcome {
    let xml = presigned::xml_error;
    if *method != Method::PUT {
        return Outcome::read(xml(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ));
    }
    let Some(upload) = state.uploads.get_mut(&url.upload_id) else {
        return Outcome::read(no_such_upload());
    };
    let expected = upload.chunk_len(url.index);
    let completed = upload.completed.is_some();
    let signed = url.sig.as_deref().and_then(|sig| {
        upload
            .urls
            .get_mut(sig)
            .filter(|i| i.index == url.index && Some(i.expires_ms) == url.expires_ms)
    });
    match fault {
        Some(FaultKind::UrlExpiry) => {
            // As if its hour had passed: the URL is spent.
            if let Some(issued) = signed {
                issued.expires = issued.expires.min(now.moment);
            }
            return Outcome::read(presigned::expired());
        }
        Some(FaultKind::ChunkFailure) => {
            if signed.is_some() && !completed {
                let chunk = upload.chunk(url.index);
                chunk.failed =
                    Some("The storage failed to store the chunk: upload it again".into());
                chunk.updated = now.wall;
            }
            return Outcome::read(xml(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ));
        }
        _ => {}
    }
    let Some(issued) = signed else {
        return Outcome::read(xml(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ));
    };
    if completed {
        return Outcome::read(no_such_upload());
    }
    if now.moment >= issued.expires {
        return Outcome::read(presigned::expired());
    }
    if issued.used {
        return Outcome::read(xml(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "This presigned URL has already been used: ask for a fresh one",
        ));
    }
    let Some(digest) = digest else {
        return Outcome::read(xml(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The chunk's bytes did not reach the storage",
        ));
    };
    if digest.len() != expected {
        let (code, what) = if digest.len() > expected {
            ("EntityTooLarge", "long")
        } else {
            ("EntityTooSmall", "short")
        };
        let message = format!(
            "Chunk {} must be {expected} bytes; {} bytes is too {what}",
            url.index,
            digest.len()
        );
        let chunk = upload.chunk(url.index);
        chunk.failed = Some(message.clone());
        chunk.updated = now.wall;
        return Outcome::read(xml(StatusCode::BAD_REQUEST, code, &message));
    }
    issued.used = true;
    let chunk = upload.chunk(url.index);
    chunk.stored = Some(digest);
    chunk.failed = None;
    chunk.updated = now.wall;
    Outcome::wrote(presigned::stored(&digest))
}

fn no_such_upload() -> http::Response<bytes::Bytes> {
    presigned::xml_error(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been completed.",
    )
}
