//! jack (`https://api.usejack.io/v1`, `Authorization: Bearer jack_...`) as typed calls.
//!
//! Every endpoint is an [`ApiCall`](crate::ApiCall): a value that validates itself against the
//! references' rules, renders to a [`Request`](crate::Request) (nothing sent on a validation
//! failure, so no rate-limit budget is spent) and decodes its success body.
//!
//! | call | endpoint | output |
//! |---|---|---|
//! | [`Ingest`] (or [`ingest_many`] for any number) | `POST /v1/ingest` | [`IngestAccepted`] |
//! | [`IngestFile`] | `POST /v1/ingest/file` (multipart) | [`FileAccepted`] |
//! | [`GetDocument`] | `GET /v1/documents/{document_id}` | [`Document`] |
//! | [`ListDocuments`] | `GET /v1/documents` | `Vec<`[`Document`]`>` |
//! | [`DeleteDocument`] | `DELETE /v1/documents/{document_id}` | `()` |
//! | [`Query`] | `POST /v1/query` | [`QueryAnswer`] |
//! | [`GetUsage`] | `GET /v1/usage` | [`Usage`] |
//!
//! Decoding: any 2xx is success. Unknown fields are ignored, a document without its `id` fails
//! to decode (ids are [`DocumentId`]s, never empty stand-ins), fields the references do not
//! guarantee are optional, and a document status rein does not know is kept and counts as
//! pending. An empty body is accepted where the response is only an acknowledgement (delete,
//! ingest, file ingest); where the response *is* the data (a document, a list, an answer,
//! usage) an empty body is a [`DecodeError`](crate::DecodeError).
//!
//! Optional request fields with a documented default (`chunk_size`, `chunk_overlap`, `filters`,
//! `top_k`, `metadata`) are left out of the body unless set, so jack's own defaults apply.
//!
//! # Ingest, validated before anything is sent
//!
//! ```
//! use rein::core::hint::rows;
//! use rein::core::{ApiCall, Target};
//! use rein::jack::{Ingest, NewDocument};
//! use rein::{Api, Error};
//!
//! let target = Target::new(Api::Jack, Api::Jack.default_base_url(), "jack_demo_key")?;
//! let ingest = Ingest::new([NewDocument::new("Refunds take 5 days.").metadata("lang", "en")])
//!     .chunk_size(256);
//! let request = ingest.to_request(&target)?;
//! assert_eq!(request.path_and_query(), "/v1/ingest");
//! assert_eq!(
//!     request.body.as_bytes().as_deref(),
//!     Some(&br#"{"documents":[{"text":"Refunds take 5 days.","metadata":{"lang":"en"}}],"chunk_size":256}"#[..]),
//! );
//!
//! // An empty list is refused with the references' own words and fix.
//! let Err(Error::Invalid(refused)) = Ingest::new(Vec::<NewDocument>::new()).to_request(&target) else {
//!     panic!("an empty ingest must be refused");
//! };
//! assert_eq!(refused.problem, "documents list must not be empty");
//! assert_eq!(refused.hint, rows::JACK_EMPTY_DOCUMENTS);
//!
//! // So is a document whose text is empty or only whitespace, like a blank question.
//! let Err(Error::Invalid(blank)) = Ingest::new([" \n "]).to_request(&target) else {
//!     panic!("a blank document must be refused");
//! };
//! assert_eq!(blank.field, "documents[0].text");
//! assert_eq!(blank.hint, rein::jack::hints::EMPTY_TEXT);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A document's status
//!
//! ```
//! use bytes::Bytes;
//! use rein::core::{ApiCall, Phase, Pollable};
//! use rein::jack::{DocumentStatus, GetDocument};
//!
//! let body = r#"{"id":"d1","status":"failed","error_message":"could not parse PDF"}"#;
//! let doc = GetDocument::decode(http::Response::new(Bytes::from(body)))?;
//! assert_eq!(doc.status, DocumentStatus::Failed);
//! assert_eq!((doc.phase(), doc.failure_message()), (Phase::Failed, Some("could not parse PDF")));
//!
//! let later = GetDocument::decode(http::Response::new(Bytes::from(r#"{"_id":"d2","status":"indexing"}"#)))?;
//! assert_eq!(later.id, "d2");
//! assert_eq!(later.phase(), Phase::Pending); // unknown: still pending
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod documents;
mod file;
pub mod hints;
mod ids;
mod ingest;
mod ingest_many;
mod lenient;
mod query;
mod usage;

pub use documents::{
    DeleteDocument, Document, DocumentStatus, GetDocument, ListDocuments, SourceType,
};
pub use file::{
    FileAccepted, FileFormat, IngestFile, DEFAULT_BOUNDARY, FILE_FIELD, MAX_FILE_BYTES,
};
pub use ids::DocumentId;
pub use ingest::{
    ingest_many, Ingest, IngestAccepted, IngestBatch, IngestReport, IngestStatus, NewDocument,
    CHUNK_OVERLAP, CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MAX_DOCUMENTS_PER_INGEST,
    TEXT_CHARS,
};
pub use ingest_many::IngestMany;
pub use query::{Citation, Query, QueryAnswer, DEFAULT_TOP_K, TOP_K};
pub use usage::{DailyUsage, GetUsage, Usage};
