//! A large file's upload, decided here and carried out by any adapter: the multipart flow of
//! [`multipart`](super::multipart) as a sans-IO plan.
//!
//! [`MultipartUpload`] says what to do next ([`UploadStep`]): one API call (open the session,
//! find it again to resume, read which chunks it has, ask for fresh URLs, report chunks, fetch
//! the asset), or a batch of chunk uploads that the adapter runs side by side, each a [`Call`]
//! of its own, so a failed chunk is retried alone under the client's retry policy and rate
//! limiter. The adapter hands each answer back and asks again, until [`UploadStep::Done`].
//!
//! ```text
//!   new ──▶ create session ─┐                       ┌──▶ report ──▶ … ──▶ fetch asset ──▶ Done
//!                           ├──▶ (more URLs) ──▶ chunks ×N ──┘
//!   resume ──▶ find session ──▶ read its chunks ─┘
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;

use super::assets::{Asset, GetAsset};
use super::ids::AssetId;
use super::multipart::{
    chunk_etag, chunk_range, chunk_request, ChunkReport, ChunkStatus, ChunkUrls, CompletedChunk,
    CreateMultipartUpload, GetMultipartUpload, IncompleteUploads, ListMultipartUploads,
    MultipartSession, ReportChunks, RequestChunkUrls, UploadSession, UploadStatus,
    MAX_URLS_PER_REQUEST, SESSION_LIFETIME, URL_LIFETIME,
};
use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::body::FileSource;
use crate::call::Call;
use crate::decode;
use crate::error::{DecodeError, Error, UploadInterrupted, ValidationError};
use crate::event::Event;
use crate::hint::Hint;
use crate::runner::Runner;
use crate::time::Moment;

/// Chunks uploaded side by side, unless set otherwise.
// GUESS: no source gives a number; four keeps a link busy without holding much memory (each
// chunk streams from disk) and leaves the rate budget room.
pub const DEFAULT_PARALLEL_CHUNKS: usize = 4;

/// How many times one chunk's URL is renewed after the storage refused it (expired, used)
/// before the upload gives up.
pub const MAX_URL_RENEWALS: u32 = 5;

/// A URL is not used in the last part of its hour: an upload that starts just before it
/// expires would be refused midway.
const URL_SAFETY: Duration = Duration::from_secs(5 * 60);

/// Times the session's status is read again when every chunk is reported and no report said
/// the upload was complete: once, then the upload stops, resumable.
const MAX_REREADS: u32 = 1;

/// Answers to a request for URLs that bring none for the chunk asked for, in a row, before the
/// upload stops.
const MAX_URL_MISSES: u32 = 2;

/// The most chunks uploaded side by side (each holds a connection and an open file).
pub const MAX_PARALLEL_CHUNKS: usize = 32;

/// Sessions and their chunks read per page when resuming (the most a page holds).
const RESUME_PAGE: u32 = 50;

/// rein: a session to resume that the API does not list as incomplete.
pub const RESUME_HINT: Hint = Hint::new(
    "The upload session cannot be resumed",
    "Start a new upload: the session completed, expired (24 h), failed or belongs to another file",
);

/// rein: an upload session whose shape does not fit the file.
pub const SESSION_SHAPE_HINT: Hint = Hint::new(
    "The upload session does not fit the file",
    "Resume with the file the session was opened for, or start a new upload",
);

/// What the adapter does next.
#[derive(Debug)]
// One step at a time, matched at once: the asset's size is not worth a box.
#[allow(clippy::large_enum_variant)]
pub enum UploadStep {
    /// One API call: run it, and give its outcome to [`MultipartUpload::answer`].
    Call(Box<Call<UploadAnswer>>),
    /// Chunks to upload side by side: run every call, and give each outcome, with its chunk
    /// index, to [`MultipartUpload::chunks_done`].
    Chunks(Vec<(u32, Call<String>)>),
    /// The upload is over: the asset it made (processing: await it as any asset), or why not.
    Done(Result<Asset, Error>),
}

/// The answer to an [`UploadStep::Call`].
#[derive(Clone, Debug, PartialEq)]
pub enum UploadAnswer {
    /// A new session.
    Session(MultipartSession),
    /// A page of incomplete sessions (resuming).
    Incomplete(IncompleteUploads),
    /// A session's status and a page of its chunks (resuming).
    Status(UploadSession),
    /// Fresh URLs.
    Urls(ChunkUrls),
    /// What a report did.
    Report(ChunkReport),
    /// The asset the upload made.
    Asset(Asset),
}

/// Where the plan stands.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// The session is to be created.
    Create(Box<CreateMultipartUpload>),
    /// Looking for the session among the incomplete ones, at this page.
    Find(u32),
    /// Reading which chunks the session has, at this page.
    Read(u32),
    /// Uploading and reporting chunks.
    Upload,
    /// Every chunk is in: the asset is to be fetched.
    Fetch,
    /// Over.
    Over,
}

/// Which call is out, so that its answer is read for what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Create,
    Find,
    Read,
    Urls,
    Report,
    Fetch,
}

/// A multipart upload of one file, as a plan: see the [module docs](self).
pub struct MultipartUpload {
    file: FileSource,
    phase: Phase,
    asked: Option<Asked>,
    upload_id: String,
    asset_id: Option<AssetId>,
    chunk_size: u64,
    total_chunks: u32,
    headers: BTreeMap<String, String>,
    /// When the session ends, on the client's clock (as far as rein knows).
    session_ends: Option<Moment>,
    /// Unused URLs, with the moment each stops being used.
    urls: BTreeMap<u32, (String, Moment)>,
    /// Uploaded, not reported yet.
    uploaded: BTreeMap<u32, CompletedChunk>,
    /// Reported (or found completed when resuming).
    reported: BTreeSet<u32>,
    renewals: BTreeMap<u32, u32>,
    parallel: usize,
    sent_chunks: u64,
    /// How the upload ended, until [`UploadStep::Done`] hands it out.
    outcome: Option<Result<Asset, Error>>,
    /// Times the session's status was read again because reports never completed it.
    rereads: u32,
    /// The chunks of the batch handed out last: outcomes for others are not taken.
    handed_out: BTreeSet<u32>,
    /// A chunk's failure, held until the chunks uploaded beside it are reported.
    held: Option<Error>,
    /// The first chunk the last request for URLs asked for.
    urls_from: u32,
    /// Answers in a row that brought no URL for that chunk.
    url_misses: u32,
}

impl std::fmt::Debug for MultipartUpload {
    // No URLs: their signatures are credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartUpload")
            .field("file", &self.file)
            .field("phase", &self.phase)
            .field("upload_id", &self.upload_id)
            .field("asset_id", &self.asset_id)
            .field("chunks", &(self.reported.len(), self.total_chunks))
            .field("urls", &self.urls.len())
            .field("uploaded", &self.uploaded.len())
            .finish_non_exhaustive()
    }
}

impl UploadAnswer {
    /// What the answer is, without its contents (which may hold presigned URLs).
    fn kind(&self) -> &'static str {
        match self {
            UploadAnswer::Session(_) => "a session",
            UploadAnswer::Incomplete(_) => "a list of sessions",
            UploadAnswer::Status(_) => "a session's status",
            UploadAnswer::Urls(_) => "URLs",
            UploadAnswer::Report(_) => "a report",
            UploadAnswer::Asset(_) => "an asset",
        }
    }
}

impl MultipartUpload {
    /// An upload of `file` through a new session opened with `create`.
    pub fn new(file: FileSource, create: CreateMultipartUpload) -> Self {
        MultipartUpload::with_phase(file, Phase::Create(Box::new(create)), String::new())
    }

    /// The rest of the upload of `file` in session `upload_id` (an interrupted upload): the
    /// chunks the session has are not sent again.
    pub fn resume(file: FileSource, upload_id: impl Into<String>) -> Self {
        MultipartUpload::with_phase(file, Phase::Find(1), upload_id.into())
    }

    fn with_phase(file: FileSource, phase: Phase, upload_id: String) -> Self {
        MultipartUpload {
            file,
            phase,
            asked: None,
            upload_id,
            asset_id: None,
            chunk_size: 0,
            total_chunks: 0,
            headers: BTreeMap::new(),
            session_ends: None,
            urls: BTreeMap::new(),
            uploaded: BTreeMap::new(),
            reported: BTreeSet::new(),
            renewals: BTreeMap::new(),
            parallel: DEFAULT_PARALLEL_CHUNKS,
            sent_chunks: 0,
            outcome: None,
            rereads: 0,
            handed_out: BTreeSet::new(),
            held: None,
            urls_from: 0,
            url_misses: 0,
        }
    }

    /// Uploads `n` chunks side by side (1 to [`MAX_PARALLEL_CHUNKS`]).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.clamp(1, MAX_PARALLEL_CHUNKS);
        self
    }

    /// The session's id, once there is one: keep it to resume an interrupted upload.
    pub fn upload_id(&self) -> Option<&str> {
        (!self.upload_id.is_empty()).then_some(self.upload_id.as_str())
    }

    /// Chunks reported so far, and how many there are.
    pub fn progress(&self) -> (u32, u32) {
        (self.reported.len() as u32, self.total_chunks)
    }

    /// Chunk uploads handed out so far (each counted once per time it was sent).
    pub fn chunks_sent(&self) -> u64 {
        self.sent_chunks
    }

    /// What to do next at `now`, with calls built by `runner` (its retry policy, limiter and
    /// events).
    pub fn next(&mut self, runner: &Runner, now: Moment) -> UploadStep {
        if let Some(outcome) = self.outcome.take() {
            self.phase = Phase::Over;
            return UploadStep::Done(outcome);
        }
        match self.plan(runner, now) {
            Ok(step) => step,
            Err(e) => {
                self.phase = Phase::Over;
                UploadStep::Done(Err(self.interrupted(e)))
            }
        }
    }

    fn end(&mut self, outcome: Result<Asset, Error>) {
        self.phase = Phase::Over;
        self.outcome = Some(outcome.map_err(|e| self.interrupted(e)));
    }

    /// `cause`, with what resuming needs once a session exists.
    fn interrupted(&self, cause: Error) -> Error {
        if self.upload_id.is_empty() || matches!(cause, Error::Upload(_)) {
            return cause;
        }
        Error::Upload(Box::new(UploadInterrupted {
            upload_id: self.upload_id.clone(),
            asset_id: self.asset_id.clone(),
            chunks_done: self.reported.len() as u32,
            chunks: self.total_chunks,
            cause,
        }))
    }

    fn ask(&mut self, asked: Asked, call: Call<UploadAnswer>) -> Result<UploadStep, Error> {
        self.asked = Some(asked);
        Ok(UploadStep::Call(Box::new(call)))
    }

    fn plan(&mut self, runner: &Runner, now: Moment) -> Result<UploadStep, Error> {
        let target = runner.target();
        match self.phase.clone() {
            Phase::Over => Err(Error::Invalid(Box::new(ValidationError::new(
                "upload",
                "the upload is over",
                RESUME_HINT,
            )))),
            Phase::Create(create) => {
                let mut request = create.to_request(target)?;
                // A second session costs nothing (it expires unused), and nothing is created
                // until every chunk is in: a create whose answer was lost is simply sent again.
                request.idempotent = true;
                self.ask(Asked::Create, runner.call_with(request, decode_session))
            }
            Phase::Find(page) => {
                let list = ListMultipartUploads::new().page(page).page_limit(RESUME_PAGE);
                self.ask(Asked::Find, runner.call_with(list.to_request(target)?, decode_incomplete))
            }
            Phase::Read(page) => {
                let get =
                    GetMultipartUpload::new(&self.upload_id).page(page).page_limit(RESUME_PAGE);
                self.ask(Asked::Read, runner.call_with(get.to_request(target)?, decode_status))
            }
            Phase::Fetch => {
                let id = self.asset_id.clone().ok_or_else(|| no_asset_id(&self.upload_id))?;
                let get = GetAsset::new(id).to_request(target)?;
                self.ask(Asked::Fetch, runner.call_with(get, decode_asset))
            }
            Phase::Upload => self.plan_upload(runner, now),
        }
    }

    fn plan_upload(&mut self, runner: &Runner, now: Moment) -> Result<UploadStep, Error> {
        if self.session_ends.is_some_and(|end| now >= end) {
            return Err(session_over(&self.upload_id, "expired (24 h)"));
        }
        let target = runner.target();
        // Reported in batches: everything uploaded since the last report (before a failure of
        // the batch ends the upload, so that resuming does not send them again).
        if !self.uploaded.is_empty() {
            let chunks = self.uploaded.values().cloned().collect();
            let report = ReportChunks::new(&self.upload_id, chunks).to_request(target)?;
            return self.ask(Asked::Report, runner.call_with(report, decode_report));
        }
        if let Some(failure) = self.held.take() {
            return Err(failure);
        }
        let waiting: Vec<u32> =
            (1..=self.total_chunks).filter(|i| !self.reported.contains(i)).collect();
        if waiting.is_empty() {
            // Every chunk reported, and yet no report said the upload was complete: the
            // session's status says what it is missing (a few times, not forever).
            self.rereads += 1;
            if self.rereads > MAX_REREADS {
                return Err(shape_error(
                    &self.upload_id,
                    "every chunk is reported, and the session never says it is complete",
                ));
            }
            self.phase = Phase::Read(1);
            self.reported.clear();
            return self.plan(runner, now);
        }
        self.urls.retain(|_, (_, usable_until)| *usable_until > now);
        let batch: Vec<u32> = waiting.iter().copied().take(self.parallel).collect();
        if let Some(&missing) = batch.iter().find(|i| !self.urls.contains_key(i)) {
            let count = MAX_URLS_PER_REQUEST.min(self.total_chunks - missing + 1);
            self.urls_from = missing;
            let request = RequestChunkUrls::new(&self.upload_id, missing, count);
            return self
                .ask(Asked::Urls, runner.call_with(request.to_request(target)?, decode_urls));
        }
        let mut calls = Vec::with_capacity(batch.len());
        for index in batch {
            let (offset, len) =
                chunk_range(self.chunk_size, self.total_chunks, index, self.file.len)
                    .ok_or_else(|| shape_error(&self.upload_id, "a chunk lies outside the file"))?;
            // Each URL is used once: a retry of the chunk goes to a fresh one.
            let Some((url, _)) = self.urls.remove(&index) else { continue };
            let request = chunk_request(&url, &self.file, (offset, len), &self.headers)?;
            calls.push((index, runner.call_with(request, decode_etag)));
        }
        self.sent_chunks += calls.len() as u64;
        self.handed_out = calls.iter().map(|(index, _)| *index).collect();
        self.asked = None;
        Ok(UploadStep::Chunks(calls))
    }

    /// The outcome of the [`UploadStep::Call`] last handed out, at `now`.
    pub fn answer(&mut self, runner: &Runner, outcome: Result<UploadAnswer, Error>, now: Moment) {
        let asked = self.asked.take();
        let answer = match outcome {
            Ok(answer) => answer,
            // A chunk's failure, held while its batch was reported, is what stopped the upload.
            Err(e) => {
                let cause = self.held.take().unwrap_or(e);
                return self.end(Err(cause));
            }
        };
        let read = match (asked, answer) {
            (Some(Asked::Create), UploadAnswer::Session(session)) => {
                self.opened(runner, session, now)
            }
            (Some(Asked::Find), UploadAnswer::Incomplete(page)) => self.found(page, now),
            (Some(Asked::Read), UploadAnswer::Status(status)) => self.read(runner, status),
            (Some(Asked::Urls), UploadAnswer::Urls(urls)) => {
                self.add_urls(urls.upload_urls, now);
                if self.urls.contains_key(&self.urls_from) {
                    self.url_misses = 0;
                    Ok(())
                } else {
                    self.url_misses += 1;
                    if self.url_misses > MAX_URL_MISSES {
                        Err(shape_error(
                            &self.upload_id,
                            &format!("requests for URLs bring none for chunk {}", self.urls_from),
                        ))
                    } else {
                        Ok(())
                    }
                }
            }
            (Some(Asked::Report), UploadAnswer::Report(report)) => self.reported(runner, report),
            (Some(Asked::Fetch), UploadAnswer::Asset(asset)) => {
                self.end(Ok(asset));
                Ok(())
            }
            (asked, answer) => Err(Error::Invalid(Box::new(ValidationError::new(
                "upload",
                format!("answered {} to {asked:?}", answer.kind()),
                RESUME_HINT,
            )))),
        };
        if let Err(e) = read {
            self.end(Err(e));
        }
    }

    /// The outcomes of the chunks of the [`UploadStep::Chunks`] last handed out: an `ETag`, or
    /// the error the chunk's call ended with (after its own retries). A chunk the storage
    /// refused (an expired or spent URL) goes again with a fresh URL, a few times; any other
    /// failure ends the upload, which [`resume`](Self::resume) can pick up.
    pub fn chunks_done(&mut self, outcomes: Vec<(u32, Result<String, Error>)>) {
        let mut failure = None;
        let handed_out = std::mem::take(&mut self.handed_out);
        for (index, outcome) in outcomes {
            if !handed_out.contains(&index) {
                continue;
            }
            match outcome {
                Ok(etag) => {
                    let len = chunk_range(self.chunk_size, self.total_chunks, index, self.file.len)
                        .map_or(0, |(_, len)| len);
                    self.uploaded.insert(index, CompletedChunk::new(index, len, etag));
                }
                Err(e) if refused_url(&e) => {
                    let renewals = self.renewals.entry(index).or_insert(0);
                    *renewals += 1;
                    if *renewals > MAX_URL_RENEWALS {
                        failure.get_or_insert(e);
                    }
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            // Ends the upload once the chunks uploaded beside it are reported.
            self.held.get_or_insert(e);
        }
    }

    fn opened(
        &mut self,
        runner: &Runner,
        session: MultipartSession,
        now: Moment,
    ) -> Result<(), Error> {
        self.upload_id = session.upload_id.clone();
        self.asset_id = Some(session.asset_id.clone());
        self.headers = session.upload_headers.clone();
        self.fit(session.chunk_size, session.total_chunks)?;
        self.session_ends = Some(now + SESSION_LIFETIME);
        self.add_urls(session.upload_urls, now);
        self.phase = Phase::Upload;
        self.progress_event(runner);
        Ok(())
    }

    fn found(&mut self, page: IncompleteUploads, now: Moment) -> Result<(), Error> {
        if let Some(session) = page.data.iter().find(|s| s.upload_id == self.upload_id) {
            if session.status != UploadStatus::Active {
                return Err(session_over(&self.upload_id, session.status.as_str()));
            }
            if session.total_size != self.file.len {
                return Err(shape_error(
                    &self.upload_id,
                    &format!(
                        "the session is for {} bytes, the file has {}",
                        session.total_size, self.file.len
                    ),
                ));
            }
            self.fit(session.chunk_size, session.total_chunks)?;
            // The session's own expiry is not parsed: 24 h from now is a bound it cannot
            // exceed, and the API says when it is over.
            self.session_ends = Some(now + SESSION_LIFETIME);
            self.phase = Phase::Read(1);
            return Ok(());
        }
        let pages = page.page_info.total_page.unwrap_or(1);
        match self.phase {
            Phase::Find(at) if at < pages && !page.data.is_empty() => {
                self.phase = Phase::Find(at + 1);
                Ok(())
            }
            _ => Err(session_over(&self.upload_id, "not among the incomplete sessions")),
        }
    }

    fn read(&mut self, runner: &Runner, status: UploadSession) -> Result<(), Error> {
        match status.status {
            UploadStatus::Active => {}
            UploadStatus::Completed if self.asset_id.is_some() => {
                self.phase = Phase::Fetch;
                return Ok(());
            }
            other => return Err(session_over(&self.upload_id, other.as_str())),
        }
        for chunk in &status.uploaded_chunks {
            if chunk.status == ChunkStatus::Completed {
                self.reported.insert(chunk.index);
            }
        }
        let pages = status.page_info.as_ref().and_then(|p| p.total_page).unwrap_or(1);
        match self.phase {
            Phase::Read(at) if at < pages && !status.uploaded_chunks.is_empty() => {
                self.phase = Phase::Read(at + 1);
            }
            _ => {
                self.phase = Phase::Upload;
                self.progress_event(runner);
            }
        }
        Ok(())
    }

    fn reported(&mut self, runner: &Runner, report: ChunkReport) -> Result<(), Error> {
        self.reported.extend(self.uploaded.keys().copied());
        self.uploaded.clear();
        if let Some(id) = report.asset_id {
            self.asset_id = Some(id);
        }
        self.progress_event(runner);
        let complete =
            report.url.is_some() || report.total_completed.is_some_and(|n| n >= self.total_chunks);
        if complete {
            self.phase = Phase::Fetch;
        }
        Ok(())
    }

    fn add_urls(&mut self, urls: Vec<super::multipart::PresignedChunk>, now: Moment) {
        let usable_until = now + URL_LIFETIME.saturating_sub(URL_SAFETY);
        for chunk in urls {
            if (1..=self.total_chunks).contains(&chunk.chunk_index) {
                self.urls.insert(chunk.chunk_index, (chunk.url, usable_until));
            }
        }
    }

    /// Checks the session's chunking against the file.
    fn fit(&mut self, chunk_size: u64, total_chunks: u32) -> Result<(), Error> {
        let expected =
            if chunk_size == 0 { None } else { Some(self.file.len.div_ceil(chunk_size)) };
        if expected != Some(u64::from(total_chunks)) {
            return Err(shape_error(
                &self.upload_id,
                &format!(
                    "{total_chunks} chunks of {chunk_size} bytes do not make a file of {} bytes",
                    self.file.len
                ),
            ));
        }
        self.chunk_size = chunk_size;
        self.total_chunks = total_chunks;
        Ok(())
    }

    fn progress_event(&self, runner: &Runner) {
        let (done, total) = self.progress();
        let upload_id = self.upload_id.clone();
        runner.events().emit(|| Event::Uploading { upload_id, chunks_done: done, chunks: total });
    }
}

/// Whether a chunk's failure is the storage refusing its URL (expired, spent, or its signature
/// no longer good): a fresh URL is the fix.
fn refused_url(e: &Error) -> bool {
    e.api_error().is_some_and(|a| matches!(a.status, 401 | 403))
}

fn session_over(upload_id: &str, why: &str) -> Error {
    Error::Invalid(Box::new(ValidationError::new(
        "upload_id",
        format!("upload session {upload_id:?} cannot go on: {why}"),
        RESUME_HINT,
    )))
}

fn shape_error(upload_id: &str, why: &str) -> Error {
    Error::Invalid(Box::new(ValidationError::new(
        "upload_id",
        format!("upload session {upload_id:?}: {why}"),
        SESSION_SHAPE_HINT,
    )))
}

fn no_asset_id(upload_id: &str) -> Error {
    shape_error(upload_id, "no answer named the asset the upload made")
}

fn decode_session(r: http::Response<Bytes>) -> Result<UploadAnswer, DecodeError> {
    CreateMultipartUpload::decode(r).map(UploadAnswer::Session)
}

fn decode_incomplete(r: http::Response<Bytes>) -> Result<UploadAnswer, DecodeError> {
    ListMultipartUploads::decode(r).map(UploadAnswer::Incomplete)
}

fn decode_status(r: http::Response<Bytes>) -> Result<UploadAnswer, DecodeError> {
    GetMultipartUpload::decode(r).map(UploadAnswer::Status)
}

fn decode_urls(r: http::Response<Bytes>) -> Result<UploadAnswer, DecodeError> {
    RequestChunkUrls::decode(r).map(UploadAnswer::Urls)
}

fn decode_report(r: http::Response<Bytes>) -> Result<UploadAnswer, DecodeError> {
    ReportChunks::decode(r).map(UploadAnswer::Report)
}

fn decode_asset(r: http::Response<Bytes>) -> Result<UploadAnswer, DecodeError> {
    decode::json::<Asset>(Some(Operation::GetAsset), &r).map(UploadAnswer::Asset)
}

/// A chunk's answer: its `ETag`, the proof the report needs.
fn decode_etag(r: http::Response<Bytes>) -> Result<String, DecodeError> {
    chunk_etag(&r).ok_or_else(|| DecodeError {
        endpoint: Some(Operation::UploadChunk.endpoint()),
        status: r.status().as_u16(),
        reason: "the chunk's answer has no ETag, the proof its report needs".to_owned(),
        excerpt: String::new(),
        body_len: r.body().len(),
        may_have_succeeded: false,
    })
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::json;

    use super::*;
    use crate::api::Api;
    use crate::config::{ClientConfig, Settings};

    const KEY: &str = "tlk_TESTKEY0000000000000000000000";

    fn runner() -> Runner {
        Settings::new(ClientConfig::new(Api::Jockey, KEY)).runner(7).expect("a runner")
    }

    fn session(urls: &[u32]) -> MultipartSession {
        serde_json::from_value(json!({
            "upload_id": "upl_1",
            "asset_id": "asset_1",
            "upload_urls": urls.iter().map(|i| json!({
                "chunk_index": i, "url": format!("https://store.example/c/{i}?sig=x")
            })).collect::<Vec<_>>(),
            "chunk_size": 10,
            "total_chunks": 3,
        }))
        .expect("a session")
    }

    fn urls(from: u32, to: u32) -> UploadAnswer {
        UploadAnswer::Urls(ChunkUrls {
            upload_id: None,
            start_index: Some(from),
            count: Some(to - from + 1),
            upload_urls: (from..=to)
                .map(|i| super::super::multipart::PresignedChunk {
                    chunk_index: i,
                    url: format!("https://store.example/c/{i}?sig=fresh"),
                    expires_at: None,
                })
                .collect(),
            generated_at: None,
            expires_at: None,
        })
    }

    fn expired() -> Error {
        let response = http::Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body(Bytes::from_static(b"<Error><Code>AccessDenied</Code></Error>"))
            .unwrap();
        let now = crate::time::Now::fake(0.0);
        Error::Api(Box::new(crate::decode::api_error(
            Api::Jockey,
            Some(Operation::UploadChunk),
            &response,
            now.wall,
        )))
    }

    fn calls(step: UploadStep) -> Call<UploadAnswer> {
        match step {
            UploadStep::Call(call) => *call,
            other => panic!("expected a call, got {other:?}"),
        }
    }

    fn chunks(step: UploadStep) -> Vec<(u32, Call<String>)> {
        match step {
            UploadStep::Chunks(chunks) => chunks,
            other => panic!("expected chunks, got {other:?}"),
        }
    }

    #[test]
    fn a_file_goes_up_in_chunks_to_fresh_urls_is_reported_and_fetched() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let create = CreateMultipartUpload::for_file(&file).unwrap();
        let mut upload = MultipartUpload::new(file, create).parallel(2);
        let t = Moment::ZERO;

        let _ = calls(upload.next(&runner, t));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1, 2]))), t);
        assert_eq!(upload.upload_id(), Some("upl_1"));

        // Two chunks side by side, each its byte range of the file, to its URL, without the key.
        let batch = chunks(upload.next(&runner, t));
        assert_eq!(batch.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2]);
        upload.chunks_done(vec![(1, Ok("\"e1\"".into())), (2, Ok("\"e2\"".into()))]);

        // Reported together.
        let _ = calls(upload.next(&runner, t));
        let report = ChunkReport { total_completed: Some(2), ..ChunkReport::default() };
        upload.answer(&runner, Ok(UploadAnswer::Report(report)), t);
        assert_eq!(upload.progress(), (2, 3));

        // Chunk 3 has no URL yet: more are asked for, from 3 on.
        let _ = calls(upload.next(&runner, t));
        upload.answer(&runner, Ok(urls(3, 3)), t);
        let batch = chunks(upload.next(&runner, t));
        assert_eq!(batch.len(), 1);
        // The storage refuses its URL (expired): a fresh one, and the chunk again, alone.
        upload.chunks_done(vec![(3, Err(expired()))]);
        let _ = calls(upload.next(&runner, t));
        upload.answer(&runner, Ok(urls(3, 3)), t);
        let batch = chunks(upload.next(&runner, t));
        assert_eq!(batch.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [3]);
        upload.chunks_done(vec![(3, Ok("\"e3\"".into()))]);
        assert_eq!(upload.chunks_sent(), 4, "chunks 1 and 2 once, chunk 3 twice");

        let _ = calls(upload.next(&runner, t));
        let report = ChunkReport {
            url: Some("https://store.example/asset_1".into()),
            asset_id: Some(AssetId::from("asset_1")),
            total_completed: Some(3),
            ..ChunkReport::default()
        };
        upload.answer(&runner, Ok(UploadAnswer::Report(report)), t);
        let _ = calls(upload.next(&runner, t));
        let asset: Asset =
            serde_json::from_value(json!({"_id": "asset_1", "status": "processing"})).unwrap();
        upload.answer(&runner, Ok(UploadAnswer::Asset(asset.clone())), t);
        match upload.next(&runner, t) {
            UploadStep::Done(Ok(done)) => assert_eq!(done, asset),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chunk_requests_carry_their_range_and_never_the_key() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let mut upload =
            MultipartUpload::new(file.clone(), CreateMultipartUpload::for_file(&file).unwrap())
                .parallel(3);
        let _ = calls(upload.next(&runner, Moment::ZERO));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1, 2, 3]))), Moment::ZERO);
        let batch = chunks(upload.next(&runner, Moment::ZERO));
        for (index, call) in &batch {
            let request = call.request();
            assert_eq!(request.method, http::Method::PUT);
            assert_eq!(request.uri.host(), Some("store.example"));
            let headers = request.all_headers();
            assert!(headers.get("x-api-key").is_none(), "chunk {index} carries the key");
            assert!(headers.get(http::header::AUTHORIZATION).is_none());
            assert!(!format!("{request:?}").contains(KEY));
            let expected = [(0, 10), (10, 10), (20, 5)][(*index - 1) as usize];
            match &request.body {
                crate::body::Body::FileRange(r) => assert_eq!((r.offset, r.len), expected),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_url_refused_too_often_or_a_session_that_does_not_fit_ends_the_upload() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let mut upload =
            MultipartUpload::new(file.clone(), CreateMultipartUpload::for_file(&file).unwrap());
        let _ = calls(upload.next(&runner, Moment::ZERO));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1, 2, 3]))), Moment::ZERO);
        for _ in 0..=MAX_URL_RENEWALS {
            let _ = chunks(upload.next(&runner, Moment::ZERO));
            upload.chunks_done(vec![(1, Err(expired()))]);
            if let UploadStep::Call(_) = upload.next(&runner, Moment::ZERO) {
                upload.answer(&runner, Ok(urls(1, 3)), Moment::ZERO);
            }
        }
        assert!(matches!(upload.next(&runner, Moment::ZERO), UploadStep::Done(Err(_))));

        // 3 chunks of 10 bytes cannot make a file of 45.
        let other = FileSource::new("/videos/other.mp4", 45);
        let mut upload =
            MultipartUpload::new(other.clone(), CreateMultipartUpload::for_file(&other).unwrap());
        let _ = calls(upload.next(&runner, Moment::ZERO));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1]))), Moment::ZERO);
        match upload.next(&runner, Moment::ZERO) {
            UploadStep::Done(Err(e)) => {
                assert!(e.to_string().contains("do not make a file"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_resumed_upload_sends_only_the_chunks_the_session_lacks() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let mut upload = MultipartUpload::resume(file, "upl_1");
        let t = Moment::ZERO;
        let _ = calls(upload.next(&runner, t));
        let page: IncompleteUploads = serde_json::from_value(json!({
            "data": [{"upload_id": "upl_1", "status": "active", "total_size": 25,
                      "chunk_size": 10, "total_chunks": 3}],
            "page_info": {"page": 1, "total_page": 1}
        }))
        .unwrap();
        upload.answer(&runner, Ok(UploadAnswer::Incomplete(page)), t);
        let _ = calls(upload.next(&runner, t));
        let status: UploadSession = serde_json::from_value(json!({
            "upload_id": "upl_1", "status": "active",
            "uploaded_chunks": [{"index": 1, "status": "completed"}, {"index": 2, "status": "pending"},
                                {"index": 3, "status": "completed"}],
            "page_info": {"page": 1, "total_page": 1}
        }))
        .unwrap();
        upload.answer(&runner, Ok(UploadAnswer::Status(status)), t);
        assert_eq!(upload.progress(), (2, 3));
        let _ = calls(upload.next(&runner, t));
        upload.answer(&runner, Ok(urls(2, 3)), t);
        let batch = chunks(upload.next(&runner, t));
        assert_eq!(batch.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [2], "only chunk 2");
    }

    #[test]
    fn a_failed_chunk_ends_the_upload_after_its_batch_is_reported_with_what_resuming_needs() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let create = CreateMultipartUpload::for_file(&file).unwrap();
        let mut upload = MultipartUpload::new(file, create).parallel(3);
        let t = Moment::ZERO;
        let _ = calls(upload.next(&runner, t));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1, 2, 3]))), t);
        let _ = chunks(upload.next(&runner, t));
        // Chunk 3 fails for good; 1 and 2 went in. An outcome for a chunk never handed out is
        // not taken.
        upload.chunks_done(vec![
            (1, Ok("\"e1\"".into())),
            (2, Ok("\"e2\"".into())),
            (3, Err(Error::Cancelled)),
            (99, Ok("\"e99\"".into())),
        ]);
        // 1 and 2 are reported first, so a resume does not send them again...
        let report = calls(upload.next(&runner, t));
        let body = String::from_utf8_lossy(&report.request().body.as_bytes().unwrap()).into_owned();
        assert!(body.contains("\"chunk_index\":1") && body.contains("\"chunk_index\":2"), "{body}");
        assert!(!body.contains("99"), "{body}");
        let done = ChunkReport { total_completed: Some(2), ..ChunkReport::default() };
        upload.answer(&runner, Ok(UploadAnswer::Report(done)), t);
        // ...then the upload ends, with the session to resume.
        match upload.next(&runner, t) {
            UploadStep::Done(Err(Error::Upload(stopped))) => {
                assert_eq!(stopped.upload_id, "upl_1");
                assert_eq!((stopped.chunks_done, stopped.chunks), (2, 3));
                assert_eq!(stopped.cause, Error::Cancelled);
                let text = Error::Upload(stopped).to_string();
                assert!(text.contains("resume_upload(\"upl_1\""), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn url_answers_that_never_bring_the_chunk_asked_for_end_the_upload() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let create = CreateMultipartUpload::for_file(&file).unwrap();
        let mut upload = MultipartUpload::new(file, create);
        let t = Moment::ZERO;
        let _ = calls(upload.next(&runner, t));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[]))), t);
        let mut asked = 0;
        loop {
            match upload.next(&runner, t) {
                UploadStep::Call(_) => {
                    asked += 1;
                    // URLs for chunks that do not exist, never for chunk 1.
                    upload.answer(&runner, Ok(urls(7, 9)), t);
                }
                UploadStep::Done(Err(Error::Upload(stopped))) => {
                    assert!(stopped.cause.to_string().contains("chunk 1"), "{}", stopped.cause);
                    break;
                }
                other => panic!("{other:?}"),
            }
            assert!(asked <= 5, "asked for URLs {asked} times");
        }
        assert_eq!(asked, 3);
    }

    #[test]
    fn debug_output_shows_no_url_signature() {
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let create = CreateMultipartUpload::for_file(&file).unwrap();
        let mut upload = MultipartUpload::new(file, create);
        let _ = calls(upload.next(&runner, Moment::ZERO));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1, 2, 3]))), Moment::ZERO);
        let shown = format!("{upload:?} {:?}", session(&[1]));
        let batch = chunks(upload.next(&runner, Moment::ZERO));
        let request = format!("{:?}", batch[0].1.request());
        for text in [shown, request] {
            assert!(!text.contains("sig=x"), "{text}");
        }
        // A file whose name says no media kind is refused before anything is sent.
        let pdf = FileSource::new("/docs/manual.pdf", 300 << 20);
        assert_eq!(
            CreateMultipartUpload::for_file(&pdf).unwrap_err().hint,
            super::super::multipart::KIND_HINT
        );
    }

    #[test]
    fn a_429_from_the_storage_neither_pauses_nor_teaches_the_apis_budget() {
        use crate::machine::{Machine, Step};
        let runner = runner();
        let file = FileSource::new("/videos/big.mp4", 25);
        let create = CreateMultipartUpload::for_file(&file).unwrap();
        let mut upload = MultipartUpload::new(file, create);
        let now = crate::time::Now::fake(0.0);
        let _ = calls(upload.next(&runner, now.moment));
        upload.answer(&runner, Ok(UploadAnswer::Session(session(&[1, 2, 3]))), now.moment);
        let (_, call) = chunks(upload.next(&runner, now.moment)).remove(0);
        let Step::Send(exchange) = call.poll(now).through(runner.limiter(), now) else {
            panic!("a send")
        };
        let (_, awaiting) = exchange.send(now);
        let busy = http::Response::builder()
            .status(429)
            .header("retry-after", "30")
            .body(Bytes::new())
            .unwrap();
        let call = awaiting.answer(Ok(busy), now);
        match call.poll(now) {
            Step::Sleep(_) => {}
            other => panic!("the chunk alone waits, nothing told to the limiter: {other:?}"),
        }
        let ask = crate::limiter::Ask {
            operation: Operation::GetAsset,
            priority: crate::limiter::Priority::Interactive,
        };
        assert_eq!(runner.limiter().try_acquire(ask, now.moment), Ok(()), "the API is not paused");
    }
}
