//! JSON ingest: [`NewDocument`]s sent in batches by [`Ingest`], split by [`ingest_many`], and
//! acknowledged with an [`IngestAccepted`] carrying one document id per document.

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::rows;
use crate::request::Request;
use crate::target::Target;

use super::hints;
use super::ids::DocumentId;
use super::lenient::{json_or_default, null_as_default};

/// The most documents one `POST /v1/ingest` takes. jack-api.md: "The ingest page says up to 50
/// documents per request" (the errors page shows a batch of 10 and states no cap).
pub const MAX_DOCUMENTS_PER_INGEST: usize = 50;

/// How many characters (not bytes) a document's text may have.
pub const TEXT_CHARS: RangeInclusive<usize> = 1..=10_000;

/// The allowed `chunk_size` (tokens per chunk, as jack counts them).
pub const CHUNK_SIZE: RangeInclusive<u32> = 128..=4096;

/// jack's `chunk_size` when the request leaves it out.
pub const DEFAULT_CHUNK_SIZE: u32 = 512;

/// The allowed `chunk_overlap`.
pub const CHUNK_OVERLAP: RangeInclusive<u32> = 0..=512;

/// jack's `chunk_overlap` when the request leaves it out.
pub const DEFAULT_CHUNK_OVERLAP: u32 = 64;

/// One document to ingest: its text and its metadata.
///
/// Metadata values must be strings. [`NewDocument::metadata`] only takes strings;
/// [`NewDocument::from_json_metadata`] (and deserializing) take any JSON, and validation then
/// refuses a non-string value, naming the document's index and the key, before anything is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewDocument {
    /// The text, 1 to 10,000 characters, not all whitespace.
    pub text: String,
    /// Metadata, filterable at query time (`filters`); left out of the body when empty (jack's
    /// default is `{}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

impl NewDocument {
    /// A document with `text` and no metadata.
    pub fn new(text: impl Into<String>) -> Self {
        NewDocument { text: text.into(), metadata: BTreeMap::new() }
    }

    /// Adds (or replaces) a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), Value::String(value.into()));
        self
    }

    /// A document whose metadata comes as JSON (say, read from a file). Nothing is checked
    /// here; validation refuses non-string values with `documents[i].metadata.KEY`.
    pub fn from_json_metadata(
        text: impl Into<String>,
        metadata: serde_json::Map<String, Value>,
    ) -> Self {
        NewDocument { text: text.into(), metadata: metadata.into_iter().collect() }
    }

    /// Checks the document as the `index`-th of a request: text that is not blank (empty or
    /// only whitespace), its length in characters, and string-only metadata. Every problem is
    /// reported.
    pub fn validate_at(&self, index: usize) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        self.check_at(index, &mut found);
        ValidationError::check(found)
    }

    /// Adds the document's problems, as the `index`-th of a request, to `found`.
    fn check_at(&self, index: usize, found: &mut Vec<Problem>) {
        // Blank text is refused like a blank question: jack answers 422 "must not be empty".
        let chars = self.text.chars().count();
        if self.text.trim().is_empty() {
            found.push(Problem::new(
                format!("documents[{index}].text"),
                "text must not be empty or only whitespace; jack takes 1 to 10,000 characters",
                hints::EMPTY_TEXT,
            ));
        } else if !TEXT_CHARS.contains(&chars) {
            found.push(Problem::new(
                format!("documents[{index}].text"),
                format!("text has {chars} characters; jack takes at most 10,000"),
                rows::JACK_422,
            ));
        }
        for (key, value) in self.metadata.iter().filter(|(_, v)| !v.is_string()) {
            found.push(Problem::new(
                format!("documents[{index}].metadata.{key}"),
                format!("metadata value is {}; jack takes string values only", json_kind(value)),
                rows::JACK_METADATA_STRINGS,
            ));
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl From<&str> for NewDocument {
    fn from(text: &str) -> Self {
        NewDocument::new(text)
    }
}

impl From<String> for NewDocument {
    fn from(text: String) -> Self {
        NewDocument::new(text)
    }
}

/// `POST /v1/ingest`: up to [`MAX_DOCUMENTS_PER_INGEST`] documents in one request (one request
/// against the rate limit, however many documents). Processing is asynchronous: the answer
/// carries document ids to poll.
///
/// `chunk_size` and `chunk_overlap` are sent only when set: left out, jack applies its own
/// defaults (512 and 64), so rein never pins a copy of them. Validation still checks an unset
/// value as its default (the overlap must stay below the chunk size).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Ingest {
    /// The documents, in order.
    pub documents: Vec<NewDocument>,
    /// Chunk size, 128 to 4096 (jack's default: 512).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u32>,
    /// Chunk overlap, 0 to 512 and below the chunk size (jack's default: 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_overlap: Option<u32>,
}

impl Ingest {
    /// A request ingesting `documents` with jack's default chunking.
    pub fn new<D: Into<NewDocument>>(documents: impl IntoIterator<Item = D>) -> Self {
        Ingest {
            documents: documents.into_iter().map(Into::into).collect(),
            chunk_size: None,
            chunk_overlap: None,
        }
    }

    /// Adds a document at the end.
    pub fn document(mut self, document: impl Into<NewDocument>) -> Self {
        self.documents.push(document.into());
        self
    }

    /// Sets the chunk size (128 to 4096).
    pub fn chunk_size(mut self, chunk_size: u32) -> Self {
        self.chunk_size = Some(chunk_size);
        self
    }

    /// Sets the chunk overlap (0 to 512, below the chunk size).
    pub fn chunk_overlap(mut self, chunk_overlap: u32) -> Self {
        self.chunk_overlap = Some(chunk_overlap);
        self
    }

    /// Validates every document (reporting every problem, each with its document's index in
    /// `documents`) and the chunking, then splits the documents into batches of at most
    /// [`MAX_DOCUMENTS_PER_INGEST`], in order, each with this request's chunking.
    ///
    /// Nothing is built unless everything is valid, so a bad document anywhere stops the whole
    /// ingest before its first batch is sent.
    pub fn into_batches(self) -> Result<Vec<IngestBatch>, ValidationError> {
        self.check(None)?;
        let Ingest { documents, chunk_size, chunk_overlap } = self;
        let mut batches = Vec::with_capacity(documents.len().div_ceil(MAX_DOCUMENTS_PER_INGEST));
        let mut rest = documents.into_iter();
        let mut first = 0;
        loop {
            let chunk: Vec<NewDocument> = rest.by_ref().take(MAX_DOCUMENTS_PER_INGEST).collect();
            if chunk.is_empty() {
                break;
            }
            let len = chunk.len();
            batches.push(IngestBatch {
                first,
                request: Ingest { documents: chunk, chunk_size, chunk_overlap },
            });
            first += len;
        }
        Ok(batches)
    }

    /// The checks of [`ApiCall::validate`], with the per-request cap when `max` is given.
    fn check(&self, max: Option<usize>) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        if self.documents.is_empty() {
            found.push(Problem::new(
                "documents",
                "documents list must not be empty",
                rows::JACK_EMPTY_DOCUMENTS,
            ));
        }
        if let Some(max) = max.filter(|&max| self.documents.len() > max) {
            found.push(Problem::new(
                "documents",
                format!(
                    "{} documents in one request; jack takes at most {max}",
                    self.documents.len()
                ),
                hints::TOO_MANY_DOCUMENTS,
            ));
        }
        self.check_chunking(&mut found);
        for (index, document) in self.documents.iter().enumerate() {
            document.check_at(index, &mut found);
        }
        ValidationError::check(found)
    }

    fn check_chunking(&self, found: &mut Vec<Problem>) {
        let size = self.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
        let overlap = self.chunk_overlap.unwrap_or(DEFAULT_CHUNK_OVERLAP);
        if !CHUNK_SIZE.contains(&size) {
            found.push(Problem::new(
                "chunk_size",
                format!("chunk_size is {size}; jack takes 128 to 4096"),
                rows::JACK_422,
            ));
        }
        if !CHUNK_OVERLAP.contains(&overlap) {
            found.push(Problem::new(
                "chunk_overlap",
                format!("chunk_overlap is {overlap}; jack takes 0 to 512"),
                rows::JACK_422,
            ));
        }
        // rein's rule, not a published one: an overlap as long as the chunk would never advance.
        // Judged only between values in range: an out-of-range one is reported above already.
        if CHUNK_SIZE.contains(&size) && CHUNK_OVERLAP.contains(&overlap) && overlap >= size {
            found.push(Problem::new(
                "chunk_overlap",
                format!("chunk_overlap ({overlap}) must be smaller than chunk_size ({size})"),
                rows::JACK_422,
            ));
        }
    }
}

impl ApiCall for Ingest {
    type Output = IngestAccepted;
    const OPERATION: Operation = Operation::Ingest;
    crate::api_call::plan!(create_once);

    fn validate(&self) -> Result<(), ValidationError> {
        self.check(Some(MAX_DOCUMENTS_PER_INGEST))
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[]).json(self).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<IngestAccepted, DecodeError> {
        json_or_default(Operation::Ingest, &response)
    }
}

/// Splits any number of documents into [`Ingest`] batches of at most
/// [`MAX_DOCUMENTS_PER_INGEST`], with jack's default chunking, after validating every document.
///
/// For other chunking, build an [`Ingest`] with every document and call
/// [`Ingest::into_batches`].
///
/// ```
/// use rein::jack::{ingest_many, NewDocument};
///
/// let docs = (0..120).map(|i| NewDocument::new(format!("document {i}")));
/// let batches = ingest_many(docs)?;
/// assert_eq!(batches.iter().map(|b| b.indexes()).collect::<Vec<_>>(), [0..50, 50..100, 100..120]);
///
/// let bad = (0..120).map(|i| NewDocument::new(if i % 40 == 7 { String::new() } else { format!("d{i}") }));
/// let refused = ingest_many(bad).unwrap_err();
/// assert_eq!(refused.field, "documents[7].text");
/// assert_eq!(refused.others.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
///            ["documents[47].text", "documents[87].text"]);
/// # Ok::<(), rein::ValidationError>(())
/// ```
pub fn ingest_many<D: Into<NewDocument>>(
    documents: impl IntoIterator<Item = D>,
) -> Result<Vec<IngestBatch>, ValidationError> {
    Ingest::new(documents).into_batches()
}

/// One batch of a split ingest: the request, and where its documents sit in the input.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestBatch {
    first: usize,
    request: Ingest,
}

impl IngestBatch {
    /// The request to send.
    pub fn request(&self) -> &Ingest {
        &self.request
    }

    /// The request, by value.
    pub fn into_request(self) -> Ingest {
        self.request
    }

    /// The input indexes of this batch's documents, in order.
    pub fn indexes(&self) -> Range<usize> {
        self.first..self.first + self.request.documents.len()
    }

    /// Pairs the returned document ids, in order, with the input indexes of the batch's
    /// documents, in order.
    ///
    /// `None` when the response holds a different number of ids than the batch had documents:
    /// then no pairing can be trusted.
    // GUESS: the pairing assumes ids come back in document order; the references show one id
    // per document but do not state the order.
    pub fn ids_by_index(&self, accepted: &IngestAccepted) -> Option<Vec<(usize, DocumentId)>> {
        if accepted.document_ids.len() != self.request.documents.len() {
            return None;
        }
        Some(self.indexes().zip(accepted.document_ids.iter().cloned()).collect())
    }
}

impl ApiCall for IngestBatch {
    type Output = IngestAccepted;
    const OPERATION: Operation = Operation::Ingest;
    crate::api_call::plan!(create_once);

    fn validate(&self) -> Result<(), ValidationError> {
        self.request.validate()
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        self.request.render(target)
    }

    fn decode(response: http::Response<Bytes>) -> Result<IngestAccepted, DecodeError> {
        Ingest::decode(response)
    }
}

crate::open_enum! {
    /// The status of an ingest acknowledgement.
    pub enum IngestStatus {
        /// Queued for processing.
        Accepted = "accepted",
    }
}

/// jack's answer to an ingest (202): the documents are queued; poll their ids.
///
/// Every field is optional, so any 2xx decodes, an empty body included (then with no ids: list
/// the documents to find them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestAccepted {
    /// `accepted`.
    #[serde(default)]
    pub status: Option<IngestStatus>,
    /// The organisation.
    #[serde(default)]
    pub org_id: Option<String>,
    /// How many documents were queued.
    #[serde(default)]
    pub queued: Option<u64>,
    /// One id per document (paired with the documents by [`IngestBatch::ids_by_index`]).
    #[serde(default, deserialize_with = "null_as_default")]
    pub document_ids: Vec<DocumentId>,
}

/// What happened to each batch of a split ingest: nothing is lost, so a failed batch is reported
/// with the input indexes it held, and the batches that went through keep their ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestReport {
    /// Each batch, in input order, with its outcome.
    pub batches: Vec<(IngestBatch, Result<IngestAccepted, Error>)>,
}

impl IngestReport {
    /// Records a batch's outcome.
    pub fn record(&mut self, batch: IngestBatch, result: Result<IngestAccepted, Error>) {
        self.batches.push((batch, result));
    }

    /// Records the batches never sent as cancelled, so the report still accounts for every
    /// document.
    pub fn cancel_rest(&mut self, rest: impl IntoIterator<Item = IngestBatch>) {
        self.batches.extend(rest.into_iter().map(|b| (b, Err(Error::Cancelled))));
    }

    /// Whether every batch was accepted.
    pub fn all_accepted(&self) -> bool {
        self.batches.iter().all(|(_, r)| r.is_ok())
    }

    /// The document id of each input document, by input index: `None` where its batch failed
    /// or the ids could not be paired with documents.
    pub fn document_ids(&self) -> Vec<Option<DocumentId>> {
        let len = self.batches.last().map_or(0, |(b, _)| b.indexes().end);
        let mut ids = vec![None; len];
        for (batch, result) in &self.batches {
            let Ok(accepted) = result else { continue };
            for (index, id) in batch.ids_by_index(accepted).unwrap_or_default() {
                if let Some(slot) = ids.get_mut(index) {
                    *slot = Some(id);
                }
            }
        }
        ids
    }

    /// The batches that failed: their input indexes and errors.
    pub fn failures(&self) -> impl Iterator<Item = (Range<usize>, &Error)> {
        self.batches.iter().filter_map(|(b, r)| r.as_ref().err().map(|e| (b.indexes(), e)))
    }
}

/// An ingest whose answer was lost is found again by its documents' tokens: each document carries
/// `rein_token = TOKEN.INDEX` in its metadata, and the documents list shows which exist.
impl crate::reconcile::Reconcile for Ingest {
    type Lookup = super::ListDocuments;

    fn tagged(&self, token: &str) -> Option<Self> {
        let mut tagged = self.clone();
        for (i, doc) in tagged.documents.iter_mut().enumerate() {
            doc.metadata.insert(
                crate::reconcile::TOKEN_KEY.to_owned(),
                Value::String(format!("{token}.{i}")),
            );
        }
        Some(tagged)
    }

    fn lookup(&self) -> super::ListDocuments {
        super::ListDocuments::new()
    }

    fn find(
        &self,
        token: &str,
        listing: Vec<super::Document>,
    ) -> crate::reconcile::Found<IngestAccepted> {
        use crate::reconcile::{Found, TOKEN_KEY};
        let by_token: BTreeMap<&str, &DocumentId> = listing
            .iter()
            .filter_map(|d| d.metadata.get(TOKEN_KEY).map(|t| (t.as_str(), &d.id)))
            .collect();
        let ids: Vec<Option<&DocumentId>> = (0..self.documents.len())
            .map(|i| by_token.get(format!("{token}.{i}").as_str()).copied())
            .collect();
        if ids.iter().all(Option::is_none) {
            Found::No
        } else if ids.iter().all(Option::is_some) {
            Found::Yes(IngestAccepted {
                status: Some(IngestStatus::Accepted),
                org_id: None,
                queued: Some(ids.len() as u64),
                document_ids: ids.into_iter().flatten().cloned().collect(),
            })
        } else {
            Found::Partly
        }
    }
}

impl crate::reconcile::Reconcile for IngestBatch {
    type Lookup = super::ListDocuments;

    fn tagged(&self, token: &str) -> Option<Self> {
        Some(IngestBatch { first: self.first, request: self.request.tagged(token)? })
    }

    fn lookup(&self) -> super::ListDocuments {
        self.request.lookup()
    }

    fn find(
        &self,
        token: &str,
        listing: Vec<super::Document>,
    ) -> crate::reconcile::Found<IngestAccepted> {
        self.request.find(token, listing)
    }
}
