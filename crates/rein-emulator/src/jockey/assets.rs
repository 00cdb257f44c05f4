//! Assets: multipart creation (direct upload or URL), listing, retrieval, deletion, user
//! metadata; `processing` -> `ready` | `failed` in the background. Assets made by a completed
//! multipart upload session ([`receive`]) go the same way, on the direct-upload timing.

use http::StatusCode;
use rein_core::Now;
use serde_json::{json, Map, Value};

use super::{json_object, page, paging, JockeyError, Result, State};
use crate::handler::{Ctx, Outcome};
use crate::lifecycle::{Outcome as Ending, Timeline};
use crate::multipart::{FormPart, FormValue};
use crate::wire::{self, hex_id, timestamp};

/// The largest direct upload of video, audio or documents: "File too large" above it.
pub const DIRECT_UPLOAD_LIMIT: u64 = 200 * 1024 * 1024;
/// The largest image, by any method.
pub const IMAGE_LIMIT: u64 = 32 * 1024 * 1024;

/// Whether `POST /assets` makes an HLS stream and thumbnails when the form leaves
/// `enable_hls` / `enable_thumbnail` out.
// The sources disagree: the OpenAPI spec (July 2026) and the Python SDK 1.3.1 (July 2026) say
// "Default: false"; the Python SDK 1.3.6 (October 2026, reference/jockey-api.md) says true. The
// emulator follows the newer SDK. Multipart sessions default to false in every source
// (`uploads.rs`).
pub const CREATE_MEDIA_EXTRAS_DEFAULT: bool = true;

/// An asset.
#[derive(Clone, Debug)]
pub(crate) struct Asset {
    pub(crate) id: String,
    seq: u64,
    method: &'static str,
    pub(crate) filename: Option<String>,
    file_type: Option<String>,
    pub(crate) kind: &'static str,
    pub(crate) size: Option<u64>,
    user_metadata: Map<String, Value>,
    enable_hls: bool,
    enable_thumbnail: bool,
    pub(crate) timeline: Timeline,
}

impl Asset {
    pub(crate) fn status(&self, now: Now) -> &'static str {
        self.timeline.status(now.moment)
    }

    /// The file's size: the bytes received, or for a URL upload (which the emulator cannot
    /// download) a size drawn from the asset id, hence from the seed, once the file is "fetched".
    pub(crate) fn size(&self, now: Now) -> Option<u64> {
        match self.size {
            Some(s) => Some(s),
            None if self.status(now) == "processing" => None,
            None => Some(1_000_000 + self.media().draw % 200_000_000),
        }
    }

    /// HLS applies to video and audio only.
    fn has_hls(&self) -> bool {
        self.enable_hls && matches!(self.kind, "video" | "audio")
    }

    /// The HLS manifest, once the asset is ready.
    pub(crate) fn hls_url(&self, now: Now) -> Option<String> {
        (self.has_hls() && self.status(now) == "ready")
            .then(|| format!("{MEDIA_BASE}/{}/stream/master.m3u8", self.id))
    }

    /// The representative thumbnail, once the asset is ready.
    pub(crate) fn thumbnail_url(&self, now: Now) -> Option<String> {
        (self.enable_thumbnail && self.status(now) == "ready")
            .then(|| format!("{MEDIA_BASE}/{}/thumbnails/representative.jpg", self.id))
    }

    /// The media properties the platform would read from the file.
    pub(crate) fn media(&self) -> Media {
        Media::of(&self.id, self.kind, self.file_type.as_deref())
    }

    /// The `technical_metadata` object: full once ready, partial when failed.
    fn technical_metadata(&self, now: Now, ready: bool) -> Value {
        let media = self.media();
        let mut m = Map::new();
        if let Some(size) = self.size(now) {
            m.insert("file_size_bytes".into(), json!(size));
        }
        if let Some(t) = &self.file_type {
            m.insert("file_mime_type".into(), json!(t));
        }
        if !ready {
            return Value::Object(m);
        }
        match self.kind {
            "video" => {
                m.insert("file_container_format".into(), json!("mov,mp4,m4a,3gp,3g2,mj2"));
                m.insert("video_codec".into(), json!(media.codec));
                m.insert("video_width".into(), json!(media.width));
                m.insert("video_height".into(), json!(media.height));
                m.insert("video_fps".into(), json!(media.fps));
                m.insert("video_duration_seconds".into(), json!(media.duration));
                m.insert("audio_codec".into(), json!("aac"));
                m.insert("audio_sample_rate".into(), json!(48_000));
                m.insert("audio_channels".into(), json!(2));
                m.insert("has_audio".into(), json!(true));
                m.insert("total_video_streams".into(), json!(1));
                m.insert("total_audio_streams".into(), json!(1));
            }
            "audio" => {
                m.insert("audio_codec".into(), json!(media.codec));
                m.insert("audio_sample_rate".into(), json!(48_000));
                m.insert("audio_channels".into(), json!(2));
                m.insert("audio_duration_seconds".into(), json!(media.duration));
                m.insert("has_audio".into(), json!(true));
                m.insert("total_video_streams".into(), json!(0));
                m.insert("total_audio_streams".into(), json!(1));
            }
            "image" => {
                m.insert("image_width".into(), json!(media.width));
                m.insert("image_height".into(), json!(media.height));
                m.insert("image_format".into(), json!(media.codec));
            }
            _ => {}
        }
        Value::Object(m)
    }

    /// The `Asset` object (create's answer).
    fn summary(&self, now: Now) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("_id".into(), json!(self.id));
        m.insert("method".into(), json!(self.method));
        m.insert("status".into(), json!(self.status(now)));
        if let Some(f) = &self.filename {
            m.insert("filename".into(), json!(f));
        }
        if let Some(t) = &self.file_type {
            m.insert("file_type".into(), json!(t));
        }
        m.insert("created_at".into(), json!(timestamp(self.timeline.created().wall)));
        m.insert("user_metadata".into(), Value::Object(self.user_metadata.clone()));
        m
    }

    /// The `AssetDetail` object (retrieve's and list's answer).
    fn detail(&self, now: Now) -> Value {
        let mut m = self.summary(now);
        let status = self.status(now);
        let ready = status == "ready";
        let side = match status {
            "ready" => "ready",
            "failed" => "error",
            _ => "processing",
        };
        // The URLs are present only when the side's status is `ready` (spec, AssetHLS and
        // AssetThumbnail).
        if self.has_hls() {
            let mut hls = json!({ "status": side });
            if let Some(url) = self.hls_url(now) {
                hls["manifest_url"] = json!(url);
            }
            m.insert("hls".into(), hls);
        }
        if self.enable_thumbnail {
            let mut thumbnail = json!({ "status": side });
            if let Some(url) = self.thumbnail_url(now) {
                thumbnail["representative_url"] = json!(url);
            }
            m.insert("thumbnail".into(), thumbnail);
        }
        // Omitted while processing; "may be partially populated" when failed (spec, status).
        if status != "processing" {
            m.insert("technical_metadata".into(), self.technical_metadata(now, ready));
        }
        if let Some(size) = self.size(now) {
            m.insert("size".into(), json!(size));
        }
        // Video and audio only, finalized when ready (spec, AssetDetail.duration).
        if ready && matches!(self.kind, "video" | "audio") {
            m.insert("duration".into(), json!(self.media().duration));
        }
        if status == "failed" {
            m.insert(
                "error".into(),
                json!({"message": "The file could not be processed: it is invalid or corrupt"}),
            );
        }
        Value::Object(m)
    }
}

/// Where the emulated HLS manifests and thumbnails live (nothing is served there).
const MEDIA_BASE: &str = "https://media.emulator.invalid/assets";

/// The media properties of an asset's file, drawn from its id (so from the seed) without
/// touching the model's random sequence: the emulator never decodes a file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Media {
    /// The hash the properties are drawn from.
    draw: u64,
    /// Seconds (video and audio).
    pub(crate) duration: f64,
    pub(crate) fps: f64,
    pub(crate) width: u64,
    pub(crate) height: u64,
    /// The codec (video, audio) or image format.
    pub(crate) codec: &'static str,
}

impl Media {
    fn of(id: &str, kind: &str, file_type: Option<&str>) -> Media {
        // FNV-1a 64.
        let draw = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let (width, height) =
            [(1920, 1080), (1280, 720), (3840, 2160), (1080, 1920)][(draw % 4) as usize];
        Media {
            draw,
            duration: 10.0 + (draw >> 8) as f64 % 590_000.0 / 1000.0,
            fps: [30.0, 25.0, 24.0, 60.0][((draw >> 4) % 4) as usize],
            width,
            height,
            codec: match kind {
                "audio" => "aac",
                "image" => match file_type.and_then(|t| t.strip_prefix("image/")) {
                    Some("jpeg") => "jpeg",
                    Some("gif") => "gif",
                    Some("webp") => "webp",
                    _ => "png",
                },
                _ => "h264",
            },
        }
    }
}

fn field<'a>(form: &'a [FormPart], name: &str) -> Option<&'a FormPart> {
    form.iter().find(|p| p.name == name)
}

fn text_field<'a>(form: &'a [FormPart], name: &str) -> Option<&'a str> {
    field(form, name).and_then(FormPart::text)
}

fn flag(form: &[FormPart], name: &str) -> Result<bool> {
    match text_field(form, name).map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(CREATE_MEDIA_EXTRAS_DEFAULT),
        Some(s) if s == "true" => Ok(true),
        Some(s) if s == "false" => Ok(false),
        Some(s) => {
            Err(JockeyError::bad_request(format!("{name} must be true or false, not {s:?}")))
        }
    }
}

/// The MIME type a file name suggests.
fn mime_of(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "m3u8" => "application/vnd.apple.mpegurl",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "flac" => "audio/flac",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        _ => return None,
    })
}

/// video, audio, image or document, from a MIME type.
fn kind_of(mime: &str) -> &'static str {
    match mime.split('/').next() {
        Some("video") => "video",
        Some("audio") => "audio",
        Some("image") => "image",
        _ if mime.contains("mpegurl") => "video",
        _ => "document",
    }
}

/// Checks a URL the way the platform would fetch it: http(s) with a host. Hosts under the
/// reserved `.invalid` domain stand for URLs that are not reachable.
fn check_url(url: &str) -> Result<()> {
    let invalid = |why: &str| JockeyError::bad_request(format!("Invalid URL: {why}"));
    let uri: http::Uri = url.trim().parse().map_err(|_| invalid("it does not parse"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(invalid("only http and https URLs can be fetched")),
    }
    let host = uri.host().unwrap_or("");
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    if host.ends_with(".invalid") || host == "invalid" {
        return Err(invalid("the URL is not accessible (check it is public and reachable)"));
    }
    Ok(())
}

pub(super) fn create(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let form = ctx
        .form()?
        .ok_or_else(|| JockeyError::bad_request("The request body must be multipart/form-data"))?;
    let method = match text_field(&form, "method").map(str::trim) {
        None | Some("") => return Err(JockeyError::bad_request("The 'method' field is required")),
        Some("direct") => "direct",
        Some("url") => "url",
        Some(other) => {
            return Err(JockeyError::bad_request(format!(
                "The 'method' field must be \"direct\" or \"url\", not {other:?}"
            )))
        }
    };

    let user_metadata = match text_field(&form, "user_metadata") {
        None => Map::new(),
        Some(s) if s.trim().is_empty() => Map::new(),
        Some(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(JockeyError::bad_request("user_metadata must be a JSON-encoded object"))
            }
        },
    };
    let enable_hls = flag(&form, "enable_hls")?;
    let enable_thumbnail = flag(&form, "enable_thumbnail")?;
    let given_name = text_field(&form, "filename").map(str::trim).filter(|s| !s.is_empty());

    let (filename, file_type, size, span) = match method {
        "direct" => {
            let file = field(&form, "file")
                .filter(|p| p.filename.is_some() || matches!(p.value, FormValue::File { .. }))
                .ok_or_else(|| {
                    JockeyError::bad_request("A file part is required for direct uploads")
                })?;
            let name = given_name
                .map(str::to_owned)
                .or_else(|| file.filename.clone().filter(|s| !s.is_empty()));
            let declared = file
                .content_type
                .as_deref()
                .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                .filter(|ct| !ct.is_empty() && ct != "application/octet-stream");
            let mime = declared.or_else(|| name.as_deref().and_then(mime_of).map(str::to_owned));
            let len = file.len();
            let kind = mime.as_deref().map_or("video", kind_of);
            if len > DIRECT_UPLOAD_LIMIT || (kind == "image" && len > IMAGE_LIMIT) {
                return Err(JockeyError::bad_request(format!(
                    "File too large: {len} bytes; direct uploads are limited to 200 MB (images to 32 MB). Use the URL upload method instead"
                )));
            }
            if len == 0 {
                return Err(JockeyError::bad_request("The file part is empty"));
            }
            (name, mime, Some(len), ctx.config.timing.asset_direct)
        }
        _ => {
            let url =
                text_field(&form, "url").map(str::trim).filter(|s| !s.is_empty()).ok_or_else(
                    || JockeyError::bad_request("The 'url' field is required for URL uploads"),
                )?;
            check_url(url)?;
            let from_url = url
                .split(['?', '#'])
                .next()
                .and_then(|p| p.rsplit('/').next())
                .filter(|s| !s.is_empty() && s.contains('.'))
                .map(str::to_owned);
            let name = given_name.map(str::to_owned).or(from_url);
            let mime = name.as_deref().and_then(mime_of).map(str::to_owned);
            (name, mime, None, ctx.config.timing.asset_url)
        }
    };

    let ending = Ending::draw(ctx.rng, ctx.config.failure_rate);
    let asset = Asset {
        id: hex_id(ctx.rng, 24),
        seq: state.next_seq(),
        method,
        kind: file_type.as_deref().map_or("video", kind_of),
        filename,
        file_type,
        size,
        user_metadata,
        enable_hls,
        enable_thumbnail,
        timeline: Timeline::processing(ctx.now, span, ending, ctx.rng),
    };
    let body = Value::Object(asset.summary(ctx.now));
    state.assets.insert(asset.id.clone(), asset);
    Ok(Outcome::wrote(wire::json(StatusCode::CREATED, &body)))
}

/// The file a completed multipart upload session received: what its asset is made of.
#[derive(Debug)]
pub(super) struct Received {
    /// The asset id the session reserved.
    pub(super) id: String,
    pub(super) filename: String,
    /// `video`, `audio` or `image`, as the session declared it.
    pub(super) kind: &'static str,
    pub(super) size: u64,
    pub(super) user_metadata: Map<String, Value>,
    pub(super) enable_hls: bool,
    pub(super) enable_thumbnail: bool,
}

/// Makes the asset of a completed multipart upload (method `multipart`): `processing` from
/// now, then `ready` or `failed` as a direct upload's.
pub(super) fn receive(state: &mut State, ctx: &mut Ctx<'_>, file: Received) {
    // The MIME type the name suggests, when it agrees with the declared kind.
    let file_type = mime_of(&file.filename).filter(|m| kind_of(m) == file.kind).map(str::to_owned);
    let ending = Ending::draw(ctx.rng, ctx.config.failure_rate);
    let asset = Asset {
        id: file.id,
        seq: state.next_seq(),
        method: "multipart",
        filename: Some(file.filename),
        file_type,
        kind: file.kind,
        size: Some(file.size),
        user_metadata: file.user_metadata,
        enable_hls: file.enable_hls,
        enable_thumbnail: file.enable_thumbnail,
        timeline: Timeline::processing(ctx.now, ctx.config.timing.asset_direct, ending, ctx.rng),
    };
    state.assets.insert(asset.id.clone(), asset);
}

pub(super) fn list(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let p = paging(&ctx.query)?;
    let ids = ctx.query.all("asset_ids");
    let types = ctx.query.all("asset_types");
    for t in &types {
        if !matches!(*t, "video" | "audio" | "image" | "document") {
            return Err(JockeyError::bad_request(format!(
                "asset_types takes video, audio, image or document, not {t:?}"
            )));
        }
    }
    let filename = ctx.query.get("filename").map(str::to_lowercase);
    let mut found: Vec<&Asset> = state
        .assets
        .values()
        .filter(|a| ids.is_empty() || ids.contains(&a.id.as_str()))
        .filter(|a| types.is_empty() || types.contains(&a.kind))
        .filter(|a| match &filename {
            None => true,
            Some(f) => a.filename.as_deref().is_some_and(|n| n.to_lowercase().contains(f.as_str())),
        })
        .collect();
    found.sort_by_key(|a| std::cmp::Reverse(a.seq));
    let all = found.iter().map(|a| a.detail(ctx.now)).collect();
    Ok(Outcome::read(wire::json(StatusCode::OK, &page(all, p))))
}

fn find<'a>(state: &'a State, id: &str) -> Result<&'a Asset> {
    state.assets.get(id).ok_or_else(|| JockeyError::not_found(format!("Asset {id} not found")))
}

pub(super) fn retrieve(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    let asset = find(state, id)?;
    Ok(Outcome::read(wire::json(StatusCode::OK, &asset.detail(ctx.now))))
}

pub(super) fn delete(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    match ctx.query.get("force") {
        None | Some("true") | Some("false") => {}
        Some(other) => {
            return Err(JockeyError::bad_request(format!(
                "force must be true or false, not {other:?}"
            )))
        }
    }
    find(state, id)?;
    state.assets.remove(id);
    Ok(Outcome::wrote(wire::empty(StatusCode::OK)))
}

fn metadata_body(ctx: &Ctx<'_>, required: bool) -> Result<Option<Map<String, Value>>> {
    let body = json_object(ctx)?;
    match body.get("user_metadata") {
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        None | Some(Value::Null) if !required => Ok(None),
        None => Err(JockeyError::bad_request("The 'user_metadata' field is required")),
        Some(_) => Err(JockeyError::bad_request("user_metadata must be an object")),
    }
}

pub(super) fn replace_metadata(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    find(state, id)?;
    let new = metadata_body(ctx, true)?.unwrap_or_default();
    let kept = new.into_iter().filter(|(_, v)| !v.is_null() && v.as_str() != Some("")).collect();
    if let Some(asset) = state.assets.get_mut(id) {
        asset.user_metadata = kept;
    }
    Ok(Outcome::wrote(wire::empty(StatusCode::OK)))
}

pub(super) fn merge_metadata(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    find(state, id)?;
    let changes = metadata_body(ctx, true)?.unwrap_or_default();
    if let Some(asset) = state.assets.get_mut(id) {
        for (k, v) in changes {
            if v.is_null() {
                asset.user_metadata.remove(&k);
            } else {
                asset.user_metadata.insert(k, v);
            }
        }
    }
    Ok(Outcome::wrote(wire::empty(StatusCode::OK)))
}

pub(super) fn delete_metadata(state: &mut State, _ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    find(state, id)?;
    if let Some(asset) = state.assets.get_mut(id) {
        asset.user_metadata.clear();
    }
    Ok(Outcome::wrote(wire::empty(StatusCode::OK)))
}
