//! Multipart uploads (`/assets/multipart-uploads`): a local file too large for a direct upload
//! goes up in chunks, each `PUT` to a presigned URL of its own, reported to the API as it is
//! done.
//!
//! The flow, from the vendor's OpenAPI spec: create a session (its `upload_id`, the reserved
//! `asset_id`, the chunk size and count, and a first set of presigned URLs); `PUT` each chunk to
//! its URL (no API key: the URL is its own credential) and keep the `ETag` of the answer as the
//! chunk's proof; report completed chunks (duplicates are ignored, so reporting is safe to
//! repeat); ask for more URLs when the first set ends or a URL expires (at most
//! [`MAX_URLS_PER_REQUEST`] at a time); read the session's status to resume. A session lives
//! [`SESSION_LIFETIME`], a URL [`URL_LIFETIME`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde::{Deserialize, Serialize};

use super::ids::AssetId;
use super::{check_metadata, check_page, check_page_limit, require_id, Metadata, MetadataRules};
use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::body::{Body, FileSource};
use crate::decode;
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::Hint;
use crate::pages::PageInfo;
use crate::request::Request;
use crate::target::Target;

/// The largest video or audio file a multipart upload takes: "Up to 10 GB".
// GUESS: the spec says "10 GB" without saying whether it means 10^9 or 2^30 bytes; the decimal
// reading is the smaller, so a file under it is under both.
pub const MAX_VIDEO_BYTES: u64 = 10 * 1_000 * 1_000 * 1_000;

/// The largest image a multipart upload takes: "Up to 32 MB" (decimal, as above: a guess).
pub const MAX_IMAGE_BYTES: u64 = 32 * 1_000 * 1_000;

/// The most presigned URLs one request for more may ask for.
pub const MAX_URLS_PER_REQUEST: u32 = 50;

/// How long an upload session lives: 24 hours from its creation.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long a presigned URL lives: one hour.
pub const URL_LIFETIME: Duration = Duration::from_secs(3600);

/// The one proof type the spec lists for a completed chunk.
pub const PROOF_TYPE_ETAG: &str = "etag";

/// rein: a multipart upload over its size limit.
pub const MULTIPART_SIZE_HINT: Hint = Hint::new(
    "File over the multipart upload limit",
    "Upload video and audio up to 10 GB and images up to 32 MB, or use the URL method",
);

/// rein: a multipart upload of an empty file.
pub const EMPTY_FILE_HINT: Hint =
    Hint::new("An empty file", "Upload a file with content; an empty file makes no asset");

/// rein: a large file whose kind its name does not tell.
pub const KIND_HINT: Hint = Hint::new(
    "A file over 200 MB that is not video, audio or an image",
    "Upload video, audio or images by multipart (name the file with its extension), or a smaller file directly",
);

/// rein: more presigned URLs asked for than one request gives.
pub const URL_COUNT_HINT: Hint = Hint::new(
    "Too many presigned URLs asked for at once",
    "Ask for 1 to 50 URLs per request, starting at chunk 1 or later",
);

/// rein: a chunk report that names no chunk, or a chunk without its proof.
pub const CHUNK_REPORT_HINT: Hint = Hint::new(
    "A chunk report without chunks or proofs",
    "Report each uploaded chunk with its 1-based index, its size and the ETag its upload returned",
);

/// What a multipart upload carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    /// A video.
    Video,
    /// An audio file.
    Audio,
    /// An image.
    Image,
}

impl UploadKind {
    /// The largest file of this kind a multipart upload takes.
    pub const fn max_bytes(self) -> u64 {
        match self {
            UploadKind::Video | UploadKind::Audio => MAX_VIDEO_BYTES,
            UploadKind::Image => MAX_IMAGE_BYTES,
        }
    }

    /// The kind a file name suggests by its extension, if it names one rein knows.
    pub fn from_file_name(name: &str) -> Option<UploadKind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "mp4" | "mov" | "mkv" | "avi" | "webm" | "m4v" | "mpeg" | "mpg" | "wmv" | "flv" => {
                Some(UploadKind::Video)
            }
            "mp3" | "wav" | "m4a" | "aac" | "flac" | "ogg" | "opus" => Some(UploadKind::Audio),
            "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "tiff" | "heic" => {
                Some(UploadKind::Image)
            }
            _ => None,
        }
    }
}

crate::open_enum! {
    /// A multipart upload session's status.
    pub enum UploadStatus {
        /// In progress: upload and report the remaining chunks.
        Active = "active",
        /// The file is received; the asset is `processing`.
        Completed = "completed",
        /// The session failed: start a new one.
        Failed = "failed",
        /// The session is over 24 hours old: start a new one.
        Expired = "expired",
    }
}

crate::open_enum! {
    /// One chunk's status in a session.
    pub enum ChunkStatus {
        /// Uploaded and reported.
        Completed = "completed",
        /// Not reported yet.
        Pending = "pending",
        /// Its upload failed: upload it again.
        Failed = "failed",
    }
}

/// `POST /assets/multipart-uploads`: opens a multipart upload session for a local file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreateMultipartUpload {
    filename: String,
    #[serde(rename = "type")]
    kind: UploadKind,
    total_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable_hls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable_thumbnail: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_metadata: Option<Metadata>,
}

impl CreateMultipartUpload {
    /// A session for `filename`, `total_size` bytes of `kind`.
    pub fn new(filename: impl Into<String>, kind: UploadKind, total_size: u64) -> Self {
        CreateMultipartUpload {
            filename: filename.into(),
            kind,
            total_size,
            enable_hls: None,
            enable_thumbnail: None,
            user_metadata: None,
        }
    }

    /// A session for `file`: its name, its length, and the kind its extension names. A file
    /// whose extension names no video, audio or image format is refused (the multipart flow
    /// takes nothing else): name it with its extension, or say its kind with
    /// [`new`](Self::new).
    pub fn for_file(file: &FileSource) -> Result<Self, ValidationError> {
        let name = file.file_name().unwrap_or_default().to_owned();
        let Some(kind) = UploadKind::from_file_name(&name) else {
            return Err(ValidationError::new(
                "file",
                format!("{name:?} names no video, audio or image format rein knows"),
                KIND_HINT,
            ));
        };
        Ok(CreateMultipartUpload::new(name, kind, file.len))
    }

    /// Another kind than the one guessed.
    pub fn kind(mut self, kind: UploadKind) -> Self {
        self.kind = kind;
        self
    }

    /// Asks for an HLS playlist (video and audio).
    pub fn enable_hls(mut self, on: bool) -> Self {
        self.enable_hls = Some(on);
        self
    }

    /// Asks for thumbnails.
    pub fn enable_thumbnail(mut self, on: bool) -> Self {
        self.enable_thumbnail = Some(on);
        self
    }

    /// The asset's user metadata.
    pub fn user_metadata(mut self, metadata: Metadata) -> Self {
        self.user_metadata = Some(metadata);
        self
    }

    /// The file's size in bytes.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }
}

impl ApiCall for CreateMultipartUpload {
    type Output = MultipartSession;
    const OPERATION: Operation = Operation::CreateMultipartUpload;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        if self.filename.trim().is_empty() {
            found.push(Problem::new(
                "filename",
                "the file name is empty",
                Hint::new("An empty file name", "Give the file's name, with its extension"),
            ));
        }
        if self.total_size == 0 {
            found.push(Problem::new("total_size", "the file is empty", EMPTY_FILE_HINT));
        }
        let max = self.kind.max_bytes();
        if self.total_size > max {
            found.push(Problem::new(
                "total_size",
                format!(
                    "{} bytes is over the {max} bytes a multipart upload takes",
                    self.total_size
                ),
                MULTIPART_SIZE_HINT,
            ));
        }
        if let Some(metadata) = &self.user_metadata {
            check_metadata(&mut found, "user_metadata", metadata, MetadataRules::USER);
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[]).json(self).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<MultipartSession, DecodeError> {
        decode::json(Some(Self::OPERATION), &response)
    }
}

/// One presigned URL: where chunk `chunk_index` goes. Its `Debug` leaves out the URL's query:
/// the signature there is a credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedChunk {
    /// The chunk's 1-based index.
    pub chunk_index: u32,
    /// The URL to `PUT` the chunk's bytes to (used once; expires after an hour).
    pub url: String,
    /// When the URL expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for PresignedChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresignedChunk")
            .field("chunk_index", &self.chunk_index)
            .field("url", &without_query(&self.url))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A URL without its query (where a presigned URL keeps its signature).
pub fn without_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?<redacted>"),
        None => url.to_owned(),
    }
}

/// A new session: what to upload, in how many chunks, and where the first ones go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartSession {
    /// The session's id: keep it to resume (valid 24 hours).
    pub upload_id: String,
    /// The asset the upload makes, reserved now, usable once processed.
    pub asset_id: AssetId,
    /// The first presigned URLs (perhaps not all of them).
    #[serde(default)]
    pub upload_urls: Vec<PresignedChunk>,
    /// Headers every chunk `PUT` must carry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upload_headers: BTreeMap<String, String>,
    /// Bytes per chunk (the last may be shorter).
    pub chunk_size: u64,
    /// How many chunks the file is cut into.
    pub total_chunks: u32,
    /// When the session expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl MultipartSession {
    /// The byte range of chunk `index` (1-based) of a file of `total_size` bytes: its offset
    /// and length. `None` for an index outside `1..=total_chunks`.
    pub fn chunk_range(&self, index: u32, total_size: u64) -> Option<(u64, u64)> {
        chunk_range(self.chunk_size, self.total_chunks, index, total_size)
    }
}

/// The byte range of chunk `index` (1-based): `chunk_size` bytes from `(index - 1) *
/// chunk_size`, the last one what is left.
pub fn chunk_range(
    chunk_size: u64,
    total_chunks: u32,
    index: u32,
    total_size: u64,
) -> Option<(u64, u64)> {
    if index == 0 || index > total_chunks || chunk_size == 0 {
        return None;
    }
    let offset = u64::from(index - 1).checked_mul(chunk_size)?;
    if offset >= total_size {
        return None;
    }
    Some((offset, chunk_size.min(total_size - offset)))
}

/// `POST /assets/multipart-uploads/{upload_id}/presigned-urls`: fresh URLs for `count` chunks
/// from `start` (1-based; at most [`MAX_URLS_PER_REQUEST`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestChunkUrls {
    #[serde(skip)]
    upload_id: String,
    start: u32,
    count: u32,
}

impl RequestChunkUrls {
    /// URLs for chunks `start..start + count`.
    pub fn new(upload_id: impl Into<String>, start: u32, count: u32) -> Self {
        RequestChunkUrls { upload_id: upload_id.into(), start, count }
    }
}

impl ApiCall for RequestChunkUrls {
    type Output = ChunkUrls;
    const OPERATION: Operation = Operation::RequestChunkUrls;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "upload_id", &self.upload_id);
        if self.start == 0 {
            found.push(Problem::new("start", "chunks are numbered from 1", URL_COUNT_HINT));
        }
        if self.count == 0 || self.count > MAX_URLS_PER_REQUEST {
            found.push(Problem::new(
                "count",
                format!("{} is outside 1..={MAX_URLS_PER_REQUEST}", self.count),
                URL_COUNT_HINT,
            ));
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[&self.upload_id]).json(self).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<ChunkUrls, DecodeError> {
        decode::json(Some(Self::OPERATION), &response)
    }
}

/// Fresh presigned URLs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkUrls {
    /// The session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// The first chunk's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u32>,
    /// How many URLs were made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The URLs.
    #[serde(default)]
    pub upload_urls: Vec<PresignedChunk>,
    /// When they were made (RFC 3339): they live an hour from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    /// When they expire (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// One uploaded chunk, as reported: its index, its size and the `ETag` its upload returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedChunk {
    /// The chunk's 1-based index.
    pub chunk_index: u32,
    /// The `ETag` the chunk's `PUT` answered with.
    pub proof: String,
    /// Always `etag`.
    pub proof_type: String,
    /// The bytes uploaded.
    pub chunk_size: u64,
}

impl CompletedChunk {
    /// Chunk `chunk_index`, `chunk_size` bytes, proved by `etag`.
    pub fn new(chunk_index: u32, chunk_size: u64, etag: impl Into<String>) -> Self {
        CompletedChunk {
            chunk_index,
            proof: etag.into(),
            proof_type: PROOF_TYPE_ETAG.to_owned(),
            chunk_size,
        }
    }
}

/// `POST /assets/multipart-uploads/{upload_id}`: reports uploaded chunks. Chunks reported
/// before are counted as duplicates and ignored, so a report is safe to send again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportChunks {
    #[serde(skip)]
    upload_id: String,
    completed_chunks: Vec<CompletedChunk>,
}

impl ReportChunks {
    /// Reports `chunks` of session `upload_id`.
    pub fn new(upload_id: impl Into<String>, chunks: Vec<CompletedChunk>) -> Self {
        ReportChunks { upload_id: upload_id.into(), completed_chunks: chunks }
    }
}

impl ApiCall for ReportChunks {
    type Output = ChunkReport;
    const OPERATION: Operation = Operation::ReportChunks;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "upload_id", &self.upload_id);
        if self.completed_chunks.is_empty() {
            found.push(Problem::new("completed_chunks", "no chunk is reported", CHUNK_REPORT_HINT));
        }
        for (i, chunk) in self.completed_chunks.iter().enumerate() {
            if chunk.chunk_index == 0 || chunk.proof.is_empty() {
                found.push(Problem::new(
                    format!("completed_chunks[{i}]"),
                    "a chunk needs its 1-based index and its ETag",
                    CHUNK_REPORT_HINT,
                ));
            }
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[&self.upload_id]).json(self).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<ChunkReport, DecodeError> {
        decode::json(Some(Self::OPERATION), &response)
    }
}

/// What a report did: the chunks it added, and whether the upload is complete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkReport {
    /// The asset's URL: present only once every chunk is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<AssetId>,
    /// Chunks this report added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_chunks: Option<u32>,
    /// Chunks of this report that were reported before (ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_chunks: Option<u32>,
    /// Chunks reported so far, in all reports: the upload is complete when it equals the
    /// session's `total_chunks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_completed: Option<u32>,
}

/// `GET /assets/multipart-uploads/{upload_id}`: a session's status, with a page of its chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetMultipartUpload {
    upload_id: String,
    page: Option<u32>,
    page_limit: Option<u32>,
}

impl GetMultipartUpload {
    /// Session `upload_id`, the first page of its chunks.
    pub fn new(upload_id: impl Into<String>) -> Self {
        GetMultipartUpload { upload_id: upload_id.into(), page: None, page_limit: None }
    }

    /// Page `page` (1-based) of the chunks.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Chunks per page (at most 50).
    pub fn page_limit(mut self, limit: u32) -> Self {
        self.page_limit = Some(limit);
        self
    }
}

impl ApiCall for GetMultipartUpload {
    type Output = UploadSession;
    const OPERATION: Operation = Operation::GetMultipartUpload;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "upload_id", &self.upload_id);
        check_page(&mut found, self.page);
        check_page_limit(&mut found, "page_limit", self.page_limit);
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[&self.upload_id])
            .query_opt("page", self.page)
            .query_opt("page_limit", self.page_limit)
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<UploadSession, DecodeError> {
        decode::json(Some(Self::OPERATION), &response)
    }
}

/// One chunk of a session, as its status tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInfo {
    /// The chunk's 1-based index.
    pub index: u32,
    /// Its status.
    pub status: ChunkStatus,
    /// When it was reported (RFC 3339); `null` unless completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
    /// When its status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A session's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSession {
    /// The session.
    pub upload_id: String,
    /// Where it stands.
    pub status: UploadStatus,
    /// A page of its chunks.
    #[serde(default)]
    pub uploaded_chunks: Vec<ChunkInfo>,
    /// Chunks uploaded and reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_completed: Option<u32>,
    /// Chunks whose upload failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_failed: Option<u32>,
    /// Chunks not yet uploaded and reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_pending: Option<u32>,
    /// Where the page of chunks is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_info: Option<PageInfo>,
    /// The file's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<u64>,
    /// Bytes uploaded so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_size: Option<u64>,
    /// When the session was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `GET /assets/multipart-uploads`: the sessions not completed yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListMultipartUploads {
    page: Option<u32>,
    page_limit: Option<u32>,
}

impl ListMultipartUploads {
    /// The first page.
    pub fn new() -> Self {
        ListMultipartUploads::default()
    }

    /// Page `page` (1-based).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Sessions per page (at most 50).
    pub fn page_limit(mut self, limit: u32) -> Self {
        self.page_limit = Some(limit);
        self
    }
}

impl ApiCall for ListMultipartUploads {
    type Output = IncompleteUploads;
    const OPERATION: Operation = Operation::ListMultipartUploads;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        check_page(&mut found, self.page);
        check_page_limit(&mut found, "page_limit", self.page_limit);
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[])
            .query_opt("page", self.page)
            .query_opt("page_limit", self.page_limit)
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<IncompleteUploads, DecodeError> {
        decode::json(Some(Self::OPERATION), &response)
    }
}

/// A session not completed yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteUpload {
    /// The session.
    pub upload_id: String,
    /// Where it stands.
    pub status: UploadStatus,
    /// The file's size.
    pub total_size: u64,
    /// Bytes per chunk.
    pub chunk_size: u64,
    /// How many chunks.
    pub total_chunks: u32,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A page of incomplete sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteUploads {
    /// The sessions.
    pub data: Vec<IncompleteUpload>,
    /// Where the page is.
    pub page_info: PageInfo,
}

/// The `PUT` of one chunk to its presigned URL: the chunk's bytes, read from the file at its
/// range, and the session's `upload_headers`. No API key: the URL is the credential, and the
/// storage behind it is not the API. The answer's `ETag` is the chunk's proof
/// ([`chunk_etag`]).
pub fn chunk_request(
    url: &str,
    file: &FileSource,
    range: (u64, u64),
    upload_headers: &BTreeMap<String, String>,
) -> Result<Request, Error> {
    let invalid = |problem: String| {
        Error::Invalid(Box::new(ValidationError::new(
            "upload_urls",
            problem,
            Hint::new("A presigned URL that cannot be used", "Ask for fresh presigned URLs"),
        )))
    };
    let shown = without_query(url);
    let uri: Uri = url.parse().map_err(|e| invalid(format!("{shown:?} is not a URL: {e}")))?;
    let loopback = matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => loopback,
        _ => false,
    };
    if !secure || uri.authority().is_none() {
        return Err(invalid(format!(
            "{shown:?} is not an absolute https URL (plain http only to this machine)"
        )));
    }
    let mut target_headers = HeaderMap::new();
    let agent = HeaderValue::from_static(concat!("rein/", env!("CARGO_PKG_VERSION")));
    target_headers.insert(http::header::USER_AGENT, agent);
    let mut headers = HeaderMap::new();
    for (name, value) in upload_headers {
        let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
        else {
            return Err(invalid(format!("the session's upload header {name:?} cannot be sent")));
        };
        // The API's credentials never go to storage, whatever the session says; and the
        // request's framing is rein's own.
        const KEPT_OUT: [&str; 7] = [
            "authorization",
            "x-api-key",
            "host",
            "content-length",
            "transfer-encoding",
            "connection",
            "cookie",
        ];
        if !KEPT_OUT.contains(&name.as_str()) {
            headers.insert(name, value);
        }
    }
    let (offset, len) = range;
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(Request {
        operation: Operation::UploadChunk,
        method: Method::PUT,
        uri,
        target_headers: Arc::new(target_headers),
        headers,
        body: Body::file_range(file.clone(), offset, len),
        idempotent: true,
    })
}

/// The proof a chunk's answer carries: its `ETag`, quotes and all, as the spec asks to submit
/// it.
pub fn chunk_etag(response: &http::Response<Bytes>) -> Option<String> {
    let etag = response.headers().get(http::header::ETAG)?.to_str().ok()?.trim();
    (!etag.is_empty()).then(|| etag.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;

    fn target() -> Target {
        Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_TESTKEY").expect("target")
    }

    #[test]
    fn sizes_names_and_counts_are_checked_before_anything_is_sent() {
        let t = target();
        let refused = |call: &dyn Fn() -> Result<Request, Error>| match call() {
            Err(Error::Invalid(v)) => v.hint,
            other => panic!("not refused: {other:?}"),
        };
        let over = CreateMultipartUpload::new("a.mp4", UploadKind::Video, MAX_VIDEO_BYTES + 1);
        assert_eq!(refused(&|| over.to_request(&t)), MULTIPART_SIZE_HINT);
        let image = CreateMultipartUpload::new("a.png", UploadKind::Image, MAX_IMAGE_BYTES + 1);
        assert_eq!(refused(&|| image.to_request(&t)), MULTIPART_SIZE_HINT);
        let empty = CreateMultipartUpload::new("a.mp4", UploadKind::Video, 0);
        assert_eq!(refused(&|| empty.to_request(&t)), EMPTY_FILE_HINT);
        assert!(CreateMultipartUpload::new("a.mp4", UploadKind::Video, MAX_VIDEO_BYTES)
            .to_request(&t)
            .is_ok());
        for (start, count) in [(0, 10), (1, 0), (1, 51)] {
            let urls = RequestChunkUrls::new("upl_1", start, count);
            assert_eq!(refused(&|| urls.to_request(&t)), URL_COUNT_HINT, "{start} {count}");
        }
        let none = ReportChunks::new("upl_1", Vec::new());
        assert_eq!(refused(&|| none.to_request(&t)), CHUNK_REPORT_HINT);
        let unproved = ReportChunks::new("upl_1", vec![CompletedChunk::new(1, 10, "")]);
        assert_eq!(refused(&|| unproved.to_request(&t)), CHUNK_REPORT_HINT);
    }

    #[test]
    fn chunks_cut_the_file_exactly_and_the_kind_follows_the_extension() {
        assert_eq!(chunk_range(10, 3, 1, 25), Some((0, 10)));
        assert_eq!(chunk_range(10, 3, 3, 25), Some((20, 5)));
        assert_eq!(chunk_range(10, 3, 0, 25), None);
        assert_eq!(chunk_range(10, 3, 4, 25), None);
        assert_eq!(chunk_range(0, 3, 1, 25), None);
        assert_eq!(UploadKind::from_file_name("Clip.MOV"), Some(UploadKind::Video));
        assert_eq!(UploadKind::from_file_name("talk.m4a"), Some(UploadKind::Audio));
        assert_eq!(UploadKind::from_file_name("cover.webp"), Some(UploadKind::Image));
        assert_eq!(UploadKind::from_file_name("notes"), None);
    }

    #[test]
    fn a_presigned_url_must_be_absolute_and_never_gets_the_key() {
        let file = FileSource::new("/v/a.mp4", 25);
        for bad in ["/relative", "ftp://x/y", "not a url", "http://storage.example/c/1"] {
            assert!(chunk_request(bad, &file, (0, 10), &BTreeMap::new()).is_err(), "{bad}");
        }
        let mut headers = BTreeMap::new();
        headers.insert("x-api-key".to_owned(), "tlk_LEAK".to_owned());
        headers.insert("x-amz-meta-part".to_owned(), "1".to_owned());
        let request = chunk_request("https://s.example/c/1?sig=x", &file, (10, 10), &headers)
            .expect("a request");
        let all = request.all_headers();
        assert!(all.get("x-api-key").is_none(), "the session's headers cannot add the key");
        assert_eq!(all.get("x-amz-meta-part").unwrap(), "1");
        assert_eq!(all.get(http::header::CONTENT_LENGTH).unwrap(), "10");
        assert_eq!(request.body.content_length(), 10);
    }
}
