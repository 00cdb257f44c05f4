//! Fix hints for jack checks that the references' tables have no row for.
//!
//! Checks that do match a row (413, 415, 422, an empty documents list, string metadata) use
//! [`crate::hint::rows`], shown without their HTTP status ([`Hint::pre_flight`]); these cover
//! what rein refuses on its own account.

use crate::hint::Hint;

/// More documents in one ingest request than the ingest page allows (50).
pub const TOO_MANY_DOCUMENTS: Hint = Hint::new(
    "More than 50 documents in one ingest request (jack's ingest page: up to 50 per request)",
    "Split the documents into batches of at most 50: jack::ingest_many does it",
);

/// A document with no text, or only whitespace (jack answers 422 "must not be empty").
pub const EMPTY_TEXT: Hint = Hint::new(
    "A document whose text is empty or only whitespace",
    "Give every document some text, or leave blank documents out of the ingest",
);

/// A file of 0 bytes (jack answers 422 "The file is empty").
pub const EMPTY_FILE: Hint =
    Hint::new("An empty file (0 bytes)", "Upload a file with content, or leave empty files out");

/// An empty document id in a path.
pub const EMPTY_DOCUMENT_ID: Hint =
    Hint::new("An empty document id", "Pass an id from the ingest response's document_ids");

/// A multipart boundary that cannot be used.
pub const INVALID_BOUNDARY: Hint = Hint::new(
    "A multipart boundary that is empty, longer than 70 characters, or has characters a \
     content-type header cannot carry unquoted",
    "Use 1 to 70 characters from A-Z a-z 0-9 ' + _ - .",
);
