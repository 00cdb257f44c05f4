//! Documents: the [`Document`] model with its open [`DocumentStatus`], and the calls that read
//! and delete documents ([`GetDocument`], [`ListDocuments`], [`DeleteDocument`]).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::Operation;
use crate::api_call::{decode_empty, ApiCall};
use crate::decode;
use crate::error::{DecodeError, Error, ValidationError};
use crate::request::Request;
use crate::status::{Phase, Pollable};
use crate::target::Target;

use super::hints;
use super::ids::DocumentId;
use super::lenient::{null_as_default, string_map};

crate::open_enum! {
    /// A document's processing status. Ingest is asynchronous: a document is `processing`,
    /// then `ready` or `failed`. Any other value is kept and counts as pending.
    pub enum DocumentStatus {
        /// Being chunked and indexed.
        Processing = "processing",
        /// Indexed: queries can cite it.
        Ready = "ready",
        /// Processing failed; `error_message` says why. Terminal.
        Failed = "failed",
    }
}

impl DocumentStatus {
    /// What the status means for someone waiting: unknown values are pending.
    pub fn phase(&self) -> Phase {
        match self {
            DocumentStatus::Ready => Phase::Ready,
            DocumentStatus::Failed => Phase::Failed,
            DocumentStatus::Processing | DocumentStatus::Other(_) => Phase::Pending,
        }
    }
}

crate::open_enum! {
    /// Where a document came from. The references show only `file`; other values are kept.
    pub enum SourceType {
        /// Uploaded through `POST /v1/ingest/file`.
        File = "file",
    }
}

/// A document as jack reports it (`GET /v1/documents/{document_id}`, and each item of
/// `GET /v1/documents`).
///
/// Only `id` is required. A missing or `null` status reads as an unknown (pending) status with
/// empty text, `null` metadata as empty, and unknown fields are ignored. Timestamps are kept as
/// the ISO-8601 text the server sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The document id (`id`, or `_id`). Required: a body without it fails to decode.
    #[serde(alias = "_id")]
    pub id: DocumentId,
    /// The uploaded file's name, for file ingests.
    #[serde(default)]
    pub filename: Option<String>,
    /// Where the document came from.
    #[serde(default)]
    pub source_type: Option<SourceType>,
    /// Metadata given at ingest (string values; it cannot change without re-ingesting).
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    /// The processing status.
    #[serde(default = "unknown_status", deserialize_with = "status_or_unknown")]
    pub status: DocumentStatus,
    /// Why processing failed (`null` unless `failed`).
    #[serde(default)]
    pub error_message: Option<String>,
    /// How many chunks the document was split into.
    #[serde(default)]
    pub chunk_count: Option<u64>,
    /// When the document was created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When the document last changed (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn unknown_status() -> DocumentStatus {
    DocumentStatus::Other(String::new())
}

fn status_or_unknown<'de, D: Deserializer<'de>>(d: D) -> Result<DocumentStatus, D::Error> {
    Ok(Option::<DocumentStatus>::deserialize(d)?.unwrap_or_else(unknown_status))
}

impl Pollable for Document {
    fn phase(&self) -> Phase {
        self.status.phase()
    }

    fn status_text(&self) -> &str {
        self.status.as_str()
    }

    fn failure_message(&self) -> Option<&str> {
        self.error_message.as_deref().filter(|m| !m.is_empty())
    }
}

/// Refuses an empty id: it would address the collection, not a document.
fn check_id(id: &str) -> Result<(), ValidationError> {
    if id.is_empty() {
        return Err(ValidationError::new(
            "document_id",
            "the document id is empty",
            hints::EMPTY_DOCUMENT_ID,
        ));
    }
    Ok(())
}

/// `GET /v1/documents/{document_id}`: one document, with its status.
///
/// The id is encoded as exactly one path segment, whatever it contains.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetDocument {
    /// The document id.
    pub document_id: DocumentId,
}

impl GetDocument {
    /// Reads document `document_id`.
    pub fn new(document_id: impl Into<DocumentId>) -> Self {
        GetDocument { document_id: document_id.into() }
    }
}

impl crate::Waitable for GetDocument {
    /// A document: every 5 s, for up to 120 s ("most documents are ready in under 60 seconds").
    fn wait_policy(&self) -> crate::WaitPolicy {
        crate::WaitPolicy::JACK_DOCUMENT
    }
}

impl ApiCall for GetDocument {
    type Output = Document;
    const OPERATION: Operation = Operation::GetDocument;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        check_id(self.document_id.as_str())
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[self.document_id.as_str()]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Document, DecodeError> {
        decode::json(Some(Operation::GetDocument), &response)
    }
}

/// `GET /v1/documents`: every document of the organisation, newest first.
///
/// jack answers a bare JSON array; a list wrapped in an object (`{"data": [...]}` or
/// `{"documents": [...]}`) is read too. Pagination and filters are not published, so this call
/// has no parameters. One list call can check many pending documents at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListDocuments {}

impl ListDocuments {
    /// Lists every document.
    pub fn new() -> Self {
        ListDocuments {}
    }
}

// GUESS (defensive): a list body that is not a bare array, read as `{"data": [...]}` or
// `{"documents": [...]}`. The references show only the bare array; this costs one struct.
#[derive(Deserialize)]
struct WrappedList {
    #[serde(alias = "documents", default, deserialize_with = "null_as_default")]
    data: Vec<Document>,
}

impl ApiCall for ListDocuments {
    type Output = Vec<Document>;
    const OPERATION: Operation = Operation::ListDocuments;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Vec<Document>, DecodeError> {
        let op = Some(Operation::ListDocuments);
        let first = response.body().iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first == Some(b'{') {
            decode::json::<WrappedList>(op, &response).map(|w| w.data)
        } else {
            decode::json(op, &response)
        }
    }
}

/// `DELETE /v1/documents/{document_id}`: deletes a document.
///
/// The response's shape is not published, so any 2xx is success, with or without a body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteDocument {
    /// The document id.
    pub document_id: DocumentId,
}

impl DeleteDocument {
    /// Deletes document `document_id`.
    pub fn new(document_id: impl Into<DocumentId>) -> Self {
        DeleteDocument { document_id: document_id.into() }
    }
}

impl ApiCall for DeleteDocument {
    type Output = ();
    const OPERATION: Operation = Operation::DeleteDocument;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        check_id(self.document_id.as_str())
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[self.document_id.as_str()]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<(), DecodeError> {
        // GUESS: the DELETE response shape is not published (jack-api.md); whatever the body,
        // a 2xx means deleted.
        decode_empty(response)
    }
}
