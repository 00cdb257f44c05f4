//! Assets: media files uploaded to Jockey (`/assets`), processed in the background.
//!
//! An asset is created by direct upload (a local file, at most 200 MB, streamed by the adapter:
//! the core only names it) or by URL, comes back `processing`, and is polled with [`GetAsset`]
//! until `ready` or `failed`.
//!
//! ```
//! use rein::core::{ApiCall, FileSource, Target};
//! use rein::jockey::assets::CreateAsset;
//! use rein::Api;
//!
//! let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_demo")?;
//! let upload = CreateAsset::direct(FileSource::new("/videos/match.mp4", 48_000_000))
//!     .enable_thumbnail(true)
//!     .boundary("fixed-boundary");
//! let request = upload.to_request(&target)?;
//! assert!(request.render_redacted().contains("<file /videos/match.mp4, 48000000 bytes>"));
//!
//! // Over 200 MB, a direct upload is refused before anything is sent, with the references' fix.
//! let too_big = CreateAsset::direct(FileSource::new("/videos/full.mp4", 300_000_000));
//! let err = too_big.to_request(&target).unwrap_err();
//! assert_eq!(err.hint().map(|h| h.fix), Some("Use URL upload method instead"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ids::AssetId;
use super::PageRequest;
use super::{check_metadata, check_page, check_page_limit, require_id, Metadata, MetadataRules};
use crate::api::Operation;
use crate::api_call::{decode_empty, ApiCall};
use crate::body::{Body, FileSource, Multipart, PartContent};
use crate::decode;
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::{rows, Hint};
use crate::pages::Page;
use crate::request::Request;
use crate::status::{Phase, Pollable};
use crate::target::Target;

/// The largest direct upload: 200 MB.
///
/// The references say "200MB" without saying whether a megabyte is 10^6 or 2^20 bytes; rein
/// takes the larger reading (209,715,200 bytes), so it never refuses a file the server accepts.
pub const DIRECT_UPLOAD_MAX_BYTES: u64 = 200 * 1024 * 1024;

/// The multipart boundary used unless the caller sets one.
///
/// Fixed, so rendering stays pure and repeatable. The core never reads the file, so it cannot
/// check that the boundary does not occur in it; an adapter that wants certainty passes a fresh
/// random boundary with [`CreateAsset::boundary`].
pub const DEFAULT_BOUNDARY: &str = "rein-form-boundary-3c7f0a9e4b1d6c28e5f7a9b0c1d2e3f4";

/// The content type of a file part unless the caller sets one.
pub const DEFAULT_FILE_CONTENT_TYPE: &str = "application/octet-stream";

crate::open_enum! {
    /// An asset's processing status.
    pub enum AssetStatus {
        /// Uploading or being validated; not usable yet.
        Processing = "processing",
        /// Validated and usable.
        Ready = "ready",
        /// The file could not be processed; `error.message` says why.
        Failed = "failed",
    }
}

crate::open_enum! {
    /// How an asset was uploaded.
    pub enum AssetMethod {
        /// From a local file.
        Direct = "direct",
        /// From a public URL.
        Url = "url",
        /// Through the multipart upload flow.
        Multipart = "multipart",
        /// Imported through a connector.
        Connector = "connector",
    }
}

crate::open_enum! {
    /// The kind of media an asset holds (the `asset_types` list filter).
    pub enum AssetType {
        /// An image.
        Image = "image",
        /// A video.
        Video = "video",
        /// Audio.
        Audio = "audio",
        /// A document (PDF, text, Markdown; in the SDK's enum, not in the OpenAPI spec's).
        Document = "document",
    }
}

crate::open_enum! {
    /// The status of an asset's HLS rendition or thumbnail.
    pub enum DerivedStatus {
        /// Not started.
        Pending = "pending",
        /// Being generated.
        Processing = "processing",
        /// Available.
        Ready = "ready",
        /// Generation failed.
        Error = "error",
    }
}

crate::open_enum! {
    /// Where an imported asset came from.
    pub enum SourceType {
        /// A data connector.
        Connector = "connector",
    }
}

crate::open_enum! {
    /// A data connector provider.
    pub enum SourceProvider {
        /// Google Drive.
        GoogleDrive = "google_drive",
    }
}

/// Where an imported asset came from (absent for uploads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetSource {
    /// The kind of source.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SourceType>,
    /// Provider-specific details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<AssetSourceDetails>,
}

/// Details of an imported asset's origin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetSourceDetails {
    /// The provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<SourceProvider>,
    /// The file's id at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The file's name at the provider when imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_filename: Option<String>,
    /// A link to the file at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_link: Option<String>,
}

/// Why an asset failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetError {
    /// The server's explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// An asset, as the create call returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// The asset's id (`_id` on the wire). Required: a body without it fails to decode.
    #[serde(rename = "_id", alias = "id")]
    pub id: AssetId,
    /// How it was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<AssetMethod>,
    /// Its processing status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AssetStatus>,
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// User metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<Metadata>,
    /// Where it came from, for imported assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AssetSource>,
    /// Why it failed (not in the spec's create response, but the retrieve shape has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AssetError>,
}

/// An HLS rendition of an asset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetHls {
    /// The manifest URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_url: Option<String>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DerivedStatus>,
}

/// An asset's thumbnail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetThumbnail {
    /// The representative image's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_url: Option<String>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DerivedStatus>,
}

macro_rules! optional_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty, )* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

optional_fields! {
    /// A video stream of an asset.
    pub struct VideoStream {
        /// Stream index.
        index: u32,
        /// Codec.
        codec: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Frame rate.
        fps: f64,
        /// Average frame rate.
        avg_fps: f64,
        /// Duration in seconds.
        duration_seconds: f64,
        /// Bit rate.
        bitrate_bps: u64,
        /// Rotation in degrees.
        rotation: i32,
        /// Pixel aspect ratio.
        pixel_aspect_ratio: String,
        /// Display aspect ratio.
        display_aspect_ratio: String,
        /// Scan type.
        scan_type: String,
        /// Pixel format.
        pixel_format: String,
        /// Bit depth.
        bit_depth: u32,
        /// Colour range.
        color_range: String,
        /// Colour transfer.
        color_transfer: String,
        /// Colour space.
        color_space: String,
        /// Colour primaries.
        color_primaries: String,
    }
}

optional_fields! {
    /// An audio stream of an asset.
    pub struct AudioStream {
        /// Stream index.
        index: u32,
        /// Codec.
        codec: String,
        /// Codec, long name.
        codec_long: String,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// Bit depth.
        bit_depth: u32,
        /// Channel count.
        channels: u32,
        /// Channel layout.
        channel_layout: String,
        /// Bit rate.
        bitrate_bps: u64,
        /// Language.
        language: String,
        /// Duration in seconds.
        duration_seconds: f64,
    }
}

optional_fields! {
    /// Technical metadata of a processed asset (absent while processing).
    pub struct TechnicalMetadata {
        /// File size in bytes.
        file_size_bytes: u64,
        /// MIME type.
        file_mime_type: String,
        /// Container format.
        file_container_format: String,
        /// Container creation time.
        container_creation_time: String,
        /// Video streams.
        video_streams: Vec<VideoStream>,
        /// Main video codec.
        video_codec: String,
        /// Main video width.
        video_width: u32,
        /// Main video height.
        video_height: u32,
        /// Main video frame rate.
        video_fps: f64,
        /// Video duration in seconds.
        video_duration_seconds: f64,
        /// Video bit rate.
        video_bitrate_bps: u64,
        /// Audio streams.
        audio_streams: Vec<AudioStream>,
        /// Main audio codec.
        audio_codec: String,
        /// Main audio sample rate.
        audio_sample_rate: u32,
        /// Main audio channel count.
        audio_channels: u32,
        /// Audio duration in seconds.
        audio_duration_seconds: f64,
        /// Start timecode.
        start_timecode: String,
        /// Where the timecode came from.
        timecode_source: String,
        /// Drop-frame timecode.
        drop_frame: bool,
        /// Image width.
        image_width: u32,
        /// Image height.
        image_height: u32,
        /// Image format.
        image_format: String,
        /// Image orientation.
        image_orientation: i32,
        /// Image colour space.
        image_color_space: String,
        /// Image bit depth.
        image_bit_depth: u32,
        /// HDR.
        is_hdr: bool,
        /// Has an audio stream.
        has_audio: bool,
        /// Has an alpha channel.
        has_alpha: bool,
        /// Animated image.
        is_animated: bool,
        /// Number of video streams.
        total_video_streams: u32,
        /// Number of audio streams.
        total_audio_streams: u32,
        /// Storage aspect ratio.
        storage_aspect_ratio: f64,
        /// Latitude.
        geospatial_latitude: f64,
        /// Longitude.
        geospatial_longitude: f64,
        /// Altitude in metres.
        geospatial_altitude_meters: f64,
    }
}

/// An asset, as retrieve and list return it: [`Asset`] plus what processing produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssetDetail {
    /// The asset's id (`_id` on the wire). Required: a body without it fails to decode.
    #[serde(rename = "_id", alias = "id")]
    pub id: AssetId,
    /// How it was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<AssetMethod>,
    /// Its processing status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AssetStatus>,
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// User metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<Metadata>,
    /// Where it came from, for imported assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AssetSource>,
    /// The HLS rendition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<AssetHls>,
    /// The thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<AssetThumbnail>,
    /// Technical metadata (absent while processing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technical_metadata: Option<TechnicalMetadata>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Duration in seconds (video and audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AssetError>,
}

fn asset_phase(status: Option<&AssetStatus>) -> Phase {
    match status {
        Some(AssetStatus::Ready) => Phase::Ready,
        Some(AssetStatus::Failed) => Phase::Failed,
        // processing, unknown values and a missing status: still pending.
        _ => Phase::Pending,
    }
}

impl Pollable for Asset {
    fn phase(&self) -> Phase {
        asset_phase(self.status.as_ref())
    }
    fn status_text(&self) -> &str {
        self.status.as_ref().map_or("", AssetStatus::as_str)
    }
    fn failure_message(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.message.as_deref())
    }
}

impl Pollable for AssetDetail {
    fn phase(&self) -> Phase {
        asset_phase(self.status.as_ref())
    }
    fn status_text(&self) -> &str {
        self.status.as_ref().map_or("", AssetStatus::as_str)
    }
    fn failure_message(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.message.as_deref())
    }
}

/// Where an upload's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadSource {
    /// A local file (`method=direct`), streamed by the adapter.
    Direct(FileSource),
    /// A public URL (`method=url`).
    Url(String),
}

/// `POST /assets`: create an asset by direct upload or by URL (always `multipart/form-data`).
#[derive(Clone, Debug, PartialEq)]
pub struct CreateAsset {
    source: UploadSource,
    filename: Option<String>,
    enable_hls: Option<bool>,
    enable_thumbnail: Option<bool>,
    user_metadata: Option<Metadata>,
    file_content_type: Option<String>,
    boundary: String,
}

impl CreateAsset {
    /// A direct upload of a local file (at most [`DIRECT_UPLOAD_MAX_BYTES`]).
    pub fn direct(file: FileSource) -> Self {
        CreateAsset::from_source(UploadSource::Direct(file))
    }

    /// An upload from a public URL.
    pub fn url(url: impl Into<String>) -> Self {
        CreateAsset::from_source(UploadSource::Url(url.into()))
    }

    fn from_source(source: UploadSource) -> Self {
        CreateAsset {
            source,
            filename: None,
            enable_hls: None,
            enable_thumbnail: None,
            user_metadata: None,
            file_content_type: None,
            boundary: DEFAULT_BOUNDARY.to_owned(),
        }
    }

    /// The asset's file name (by default the server takes it from the file or URL).
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }

    /// Whether to generate an HLS rendition (video and audio).
    pub fn enable_hls(mut self, on: bool) -> Self {
        self.enable_hls = Some(on);
        self
    }

    /// Whether to generate thumbnails.
    pub fn enable_thumbnail(mut self, on: bool) -> Self {
        self.enable_thumbnail = Some(on);
        self
    }

    /// User metadata, sent as a JSON-encoded string form field.
    pub fn user_metadata(mut self, metadata: Metadata) -> Self {
        self.user_metadata = Some(metadata);
        self
    }

    /// The file part's content type (default [`DEFAULT_FILE_CONTENT_TYPE`]).
    pub fn file_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.file_content_type = Some(content_type.into());
        self
    }

    /// The multipart boundary (default [`DEFAULT_BOUNDARY`]).
    pub fn boundary(mut self, boundary: impl Into<String>) -> Self {
        self.boundary = boundary.into();
        self
    }

    /// The content source.
    pub fn source(&self) -> &UploadSource {
        &self.source
    }

    /// The form this request sends.
    pub fn form(&self) -> Multipart {
        let mut form = Multipart::new(self.boundary.clone());
        match &self.source {
            UploadSource::Direct(file) => {
                let name = self
                    .filename
                    .clone()
                    .or_else(|| file.file_name().map(str::to_owned))
                    .unwrap_or_else(|| "upload".to_owned());
                let content_type = self
                    .file_content_type
                    .clone()
                    .unwrap_or_else(|| DEFAULT_FILE_CONTENT_TYPE.to_owned());
                form = form.text("method", "direct").file(
                    "file",
                    name,
                    content_type,
                    PartContent::File(file.clone()),
                );
            }
            UploadSource::Url(url) => form = form.text("method", "url").text("url", url.trim()),
        }
        if let Some(name) = &self.filename {
            form = form.text("filename", name.clone());
        }
        if let Some(on) = self.enable_hls {
            form = form.text("enable_hls", on.to_string());
        }
        if let Some(on) = self.enable_thumbnail {
            form = form.text("enable_thumbnail", on.to_string());
        }
        if let Some(meta) = &self.user_metadata {
            let encoded = serde_json::to_string(meta).unwrap_or_else(|_| "{}".to_owned());
            form = form.text("user_metadata", encoded);
        }
        form
    }
}

/// Whether `url` can be a public http(s) URL: a scheme, a host, no whitespace.
fn url_problem(url: &str) -> Option<&'static str> {
    let url = url.trim();
    if url.is_empty() {
        return Some("the URL is empty");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("the URL contains whitespace or control characters");
    }
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(rest) = lower.strip_prefix("https://") {
        rest
    } else if let Some(rest) = lower.strip_prefix("http://") {
        rest
    } else {
        return Some("the URL is not an http:// or https:// URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.strip_prefix('[').map_or_else(
        || host.split(':').next().unwrap_or(""),
        |v6| v6.split(']').next().unwrap_or(""),
    );
    if host.is_empty() {
        return Some("the URL has no host");
    }
    None
}

/// rein: a URL rein can tell is unusable without fetching it (the references' row, "URL not
/// accessible", is the server's answer once it tried; nothing was fetched here).
pub const URL_HINT: Hint = Hint::new(
    "Not a usable http(s) URL: no http:// or https:// scheme, no host, or whitespace in it",
    "Pass the public http:// or https:// URL of the media file",
);

const BOUNDARY_HINT: Hint = Hint::new(
    "A multipart boundary that is empty, too long or has characters a boundary cannot carry",
    "Use 1 to 70 ASCII letters, digits, '-' or '_'",
);

/// rein: a file part's content type that cannot be a header value.
const CONTENT_TYPE_HINT: Hint = Hint::new(
    "A content type that is empty or has line breaks or other control characters",
    "Pass a media type such as video/mp4, or leave it out",
);

/// rein: a form whose text would end a part early.
const BOUNDARY_COLLISION_HINT: Hint = Hint::new(
    "A form field holds the multipart boundary, which would end the form early",
    "Pick another boundary with CreateAsset::boundary, one the fields do not contain",
);

impl ApiCall for CreateAsset {
    type Output = Asset;
    const OPERATION: Operation = Operation::CreateAsset;
    crate::api_call::plan!(create_once);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        match &self.source {
            UploadSource::Direct(file) => {
                if file.len > DIRECT_UPLOAD_MAX_BYTES {
                    found.push(Problem::new(
                        "file",
                        format!("{} bytes is over the 200 MB direct upload limit", file.len),
                        rows::ASSET_FILE_TOO_LARGE,
                    ));
                }
            }
            UploadSource::Url(url) => {
                if let Some(problem) = url_problem(url) {
                    found.push(Problem::new("url", problem, URL_HINT));
                }
            }
        }
        let b = &self.boundary;
        if b.is_empty()
            || b.len() > 70
            || !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            found.push(Problem::new(
                "boundary",
                format!("{b:?} is not a usable multipart boundary"),
                BOUNDARY_HINT,
            ));
        }
        if let Some(meta) = &self.user_metadata {
            check_metadata(&mut found, "user_metadata", meta, MetadataRules::USER);
        }
        // The content type is a header line of the file's part: a line break in it would add
        // another.
        if let Some(ct) = &self.file_content_type {
            if ct.is_empty() || ct.chars().any(char::is_control) {
                found.push(Problem::new(
                    "file_content_type",
                    format!("{ct:?} is not a content type (empty, or with control characters)"),
                    CONTENT_TYPE_HINT,
                ));
            }
        }
        if let Some(part) = self.form().boundary_collision() {
            found.push(Problem::new(
                "boundary",
                format!("the {part:?} field holds the form's boundary {b:?}"),
                BOUNDARY_COLLISION_HINT,
            ));
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let form = self.form();
        let content_type = form.content_type();
        target.request(Self::OPERATION, &[]).body(Body::Multipart(form), Some(content_type)).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Asset, DecodeError> {
        decode::json(Some(Operation::CreateAsset), &response)
    }
}

impl Asset {
    /// The references' wait for this asset: by its upload method, direct (every 5 s, up to
    /// 120 s) or by URL (every 5 s, up to 300 s; also for any other method).
    pub fn wait_policy(&self) -> crate::WaitPolicy {
        match self.method {
            Some(AssetMethod::Direct) => crate::WaitPolicy::ASSET_DIRECT,
            _ => crate::WaitPolicy::ASSET_URL,
        }
    }
}

/// `GET /assets/{asset_id}`: an asset, to poll until `ready` or `failed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAsset {
    asset_id: AssetId,
}

impl GetAsset {
    /// The asset `asset_id`.
    pub fn new(asset_id: impl Into<AssetId>) -> Self {
        GetAsset { asset_id: asset_id.into() }
    }
}

impl crate::Waitable for GetAsset {
    /// An asset: every 5 s, for up to 300 s (the preset of an upload by URL, the longer; a
    /// client waiting on an [`Asset`] it created takes [`Asset::wait_policy`], by its method).
    fn wait_policy(&self) -> crate::WaitPolicy {
        crate::WaitPolicy::ASSET_URL
    }
}

impl ApiCall for GetAsset {
    type Output = AssetDetail;
    const OPERATION: Operation = Operation::GetAsset;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "asset_id", self.asset_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[self.asset_id.as_str()]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<AssetDetail, DecodeError> {
        decode::json(Some(Operation::GetAsset), &response)
    }
}

/// `GET /assets`: a page of assets, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListAssets {
    page: Option<u32>,
    page_limit: Option<u32>,
    asset_ids: Vec<AssetId>,
    asset_types: Vec<AssetType>,
    filename: Option<String>,
}

impl ListAssets {
    /// The first page, with the server's default page size.
    pub fn new() -> Self {
        ListAssets::default()
    }

    /// Page `page` (1-based).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Items per page (1..=50).
    pub fn page_limit(mut self, limit: u32) -> Self {
        self.page_limit = Some(limit);
        self
    }

    /// Only these assets (repeated `asset_ids=` keys).
    pub fn asset_ids<S: Into<AssetId>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.asset_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Only these media types (repeated `asset_types=` keys).
    pub fn asset_types(mut self, types: impl IntoIterator<Item = AssetType>) -> Self {
        self.asset_types.extend(types);
        self
    }

    /// Only file names containing `filename` (case-insensitive).
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }
}

impl ApiCall for ListAssets {
    type Output = Page<AssetDetail>;
    const OPERATION: Operation = Operation::ListAssets;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        check_page(&mut found, self.page);
        check_page_limit(&mut found, "page_limit", self.page_limit);
        for (i, id) in self.asset_ids.iter().enumerate() {
            require_id(&mut found, &format!("asset_ids[{i}]"), id.as_str());
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let mut req = target
            .request(Self::OPERATION, &[])
            .query_opt("page", self.page)
            .query_opt("page_limit", self.page_limit);
        for id in &self.asset_ids {
            req = req.query("asset_ids", id);
        }
        for t in &self.asset_types {
            req = req.query("asset_types", t);
        }
        req.query_opt("filename", self.filename.as_deref()).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Page<AssetDetail>, DecodeError> {
        decode::json(Some(Operation::ListAssets), &response)
    }
}

impl PageRequest for ListAssets {
    type Item = AssetDetail;

    fn for_page(&self, page: u32) -> Self {
        self.clone().page(page)
    }

    fn current_page(&self) -> Option<u32> {
        self.page
    }

    fn item_id(item: &AssetDetail) -> Option<&str> {
        Some(item.id.as_str())
    }
}

/// `DELETE /assets/{asset_id}`. Without `force`, the server answers 409 while indexed assets
/// still reference the asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteAsset {
    asset_id: AssetId,
    force: Option<bool>,
}

impl DeleteAsset {
    /// Deletes asset `asset_id`.
    pub fn new(asset_id: impl Into<AssetId>) -> Self {
        DeleteAsset { asset_id: asset_id.into(), force: None }
    }

    /// Deletes even when indexed assets reference it (`force=true`).
    pub fn force(mut self, force: bool) -> Self {
        self.force = Some(force);
        self
    }
}

impl ApiCall for DeleteAsset {
    type Output = ();
    const OPERATION: Operation = Operation::DeleteAsset;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "asset_id", self.asset_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[self.asset_id.as_str()])
            .query_opt("force", self.force)
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<(), DecodeError> {
        decode_empty(response)
    }
}

/// The JSON body of both user-metadata writes.
#[derive(Serialize)]
struct UserMetadataBody<'a> {
    user_metadata: &'a Metadata,
}

macro_rules! metadata_write {
    ($(#[$doc:meta])* $name:ident => $op:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            asset_id: AssetId,
            user_metadata: Metadata,
        }

        impl $name {
            /// Writes `user_metadata` to asset `asset_id`.
            pub fn new(asset_id: impl Into<AssetId>, user_metadata: Metadata) -> Self {
                $name {
                    asset_id: asset_id.into(),
                    user_metadata,
                }
            }
        }

        impl ApiCall for $name {
            type Output = ();
            const OPERATION: Operation = Operation::$op;
            crate::api_call::plan!(call);


            fn validate(&self) -> Result<(), ValidationError> {
                let mut found = Vec::new();
                require_id(&mut found, "asset_id", self.asset_id.as_str());
                check_metadata(&mut found, "user_metadata", &self.user_metadata, MetadataRules::USER);
                ValidationError::check(found)
            }

            fn render(&self, target: &Target) -> Result<Request, Error> {
                target
                    .request(Self::OPERATION, &[self.asset_id.as_str()])
                    .json(&UserMetadataBody {
                        user_metadata: &self.user_metadata,
                    })
                    .build()
            }

            fn decode(response: http::Response<Bytes>) -> Result<(), DecodeError> {
                decode_empty(response)
            }
        }
    };
}

metadata_write! {
    /// `PUT /assets/{asset_id}/user-metadata`: replaces the user metadata (keys left out are
    /// removed; an empty map clears it).
    ReplaceAssetMetadata => ReplaceAssetMetadata
}

metadata_write! {
    /// `PATCH /assets/{asset_id}/user-metadata`: merges into the user metadata (a `null` value
    /// deletes its key; keys left out are kept).
    MergeAssetMetadata => MergeAssetMetadata
}

/// `DELETE /assets/{asset_id}/user-metadata`: removes all user metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteAssetMetadata {
    asset_id: AssetId,
}

impl DeleteAssetMetadata {
    /// Clears the user metadata of asset `asset_id`.
    pub fn new(asset_id: impl Into<AssetId>) -> Self {
        DeleteAssetMetadata { asset_id: asset_id.into() }
    }
}

impl ApiCall for DeleteAssetMetadata {
    type Output = ();
    const OPERATION: Operation = Operation::DeleteAssetMetadata;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "asset_id", self.asset_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[self.asset_id.as_str()]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<(), DecodeError> {
        decode_empty(response)
    }
}

/// A create whose answer was lost is found again by the token in its `user_metadata`, among the
/// newest assets.
impl crate::reconcile::Reconcile for CreateAsset {
    type Lookup = ListAssets;

    fn tagged(&self, token: &str) -> Option<Self> {
        let user_metadata = super::with_token(self.user_metadata.as_ref(), token, usize::MAX)?;
        Some(CreateAsset { user_metadata: Some(user_metadata), ..self.clone() })
    }

    fn lookup(&self) -> ListAssets {
        // The listing is newest first in practice but takes no sort order, so narrow it by name
        // when the asset has one: its own page is then far more likely to hold it.
        let name = self.filename.clone().or_else(|| match &self.source {
            UploadSource::Direct(file) => file.file_name().map(str::to_owned),
            UploadSource::Url(_) => None,
        });
        match name {
            Some(name) => ListAssets::new().page_limit(50).filename(name),
            None => ListAssets::new().page_limit(50),
        }
    }

    fn find(&self, token: &str, listing: Page<AssetDetail>) -> crate::reconcile::Found<Asset> {
        let found =
            listing.data.into_iter().find(|a| super::has_token(a.user_metadata.as_ref(), token));
        match found.and_then(|detail| serde_json::to_value(detail).ok()).map(serde_json::from_value)
        {
            Some(Ok(asset)) => crate::reconcile::Found::Yes(asset),
            Some(Err(_)) => crate::reconcile::Found::Partly,
            None => crate::reconcile::Found::No,
        }
    }
    fn tagged_count(&self, token: &str, listing: &Page<AssetDetail>) -> usize {
        listing.data.iter().filter(|a| super::has_token(a.user_metadata.as_ref(), token)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_shapes() {
        assert_eq!(url_problem("https://cdn.example.com/a.mp4"), None);
        assert_eq!(url_problem("http://[::1]:8080/a.m3u8"), None);
        assert!(url_problem("").is_some());
        assert!(url_problem("   ").is_some());
        assert!(url_problem("ftp://x/a.mp4").is_some());
        assert!(url_problem("https:///a.mp4").is_some());
        assert!(url_problem("https://a b/c").is_some());
        assert!(url_problem("not a url").is_some());
    }

    #[test]
    fn the_size_limit_is_inclusive() {
        let at = CreateAsset::direct(FileSource::new("a.mp4", DIRECT_UPLOAD_MAX_BYTES));
        assert!(at.validate().is_ok());
        let over = CreateAsset::direct(FileSource::new("a.mp4", DIRECT_UPLOAD_MAX_BYTES + 1));
        assert_eq!(over.validate().map_err(|e| e.field), Err("file".to_owned()));
    }
}
