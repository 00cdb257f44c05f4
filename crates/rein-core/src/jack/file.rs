//! File ingest: [`IngestFile`] uploads one file as `multipart/form-data` after checking its
//! size and format. The core never reads the file: the form names it by path and length, and
//! the adapter streams it.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::body::{Body, FileSource, Multipart, PartContent};
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::rows;
use crate::request::Request;
use crate::target::Target;

use super::hints;
use super::ids::DocumentId;
use super::ingest::IngestStatus;
use super::lenient::json_or_default;

/// The form field that carries the file.
// GUESS: jack does not publish the multipart field names of `POST /v1/ingest/file`
// (jack-api.md, "Not published"); `file` is the common convention. Change it here only.
pub const FILE_FIELD: &str = "file";

/// The largest file jack takes: 100 MB (a larger one is answered 413).
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// The boundary used unless [`IngestFile::boundary`] sets another: fixed, so rendering is pure
/// and snapshots are stable. A file that happens to contain it would break the form; an adapter
/// uploading files of unknown content can pass a random boundary instead.
pub const DEFAULT_BOUNDARY: &str = "rein-jack-7f3c9e1b5d2a4086";

/// The file formats jack ingests (any other is answered 415).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// `.pdf`
    Pdf,
    /// `.docx`
    Docx,
    /// `.txt`
    Txt,
    /// `.md`
    Md,
}

impl FileFormat {
    /// Every format jack takes.
    pub const ALL: [FileFormat; 4] =
        [FileFormat::Pdf, FileFormat::Docx, FileFormat::Txt, FileFormat::Md];

    /// The format of a file name, by its extension (case-insensitive).
    pub fn from_file_name(name: &str) -> Option<FileFormat> {
        let (_, extension) = name.rsplit_once('.')?;
        FileFormat::ALL.into_iter().find(|f| f.extension().eq_ignore_ascii_case(extension))
    }

    /// The extension, without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            FileFormat::Pdf => "pdf",
            FileFormat::Docx => "docx",
            FileFormat::Txt => "txt",
            FileFormat::Md => "md",
        }
    }

    /// The media type announced for the file part. jack does not say whether it reads it; these
    /// are the registered types of each format.
    pub const fn content_type(self) -> &'static str {
        match self {
            FileFormat::Pdf => "application/pdf",
            FileFormat::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileFormat::Txt => "text/plain",
            FileFormat::Md => "text/markdown",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ".{}", self.extension())
    }
}

/// `POST /v1/ingest/file`: one `.pdf`, `.docx`, `.txt` or `.md` file of 1 byte to 100 MB, as a
/// multipart form with a single file part. Processing is asynchronous.
///
/// The size checked is [`FileSource::len`], the length the file had when the caller looked;
/// the adapter refuses to stream a file whose length has changed since.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestFile {
    /// The file to upload.
    pub file: FileSource,
    /// The name announced in the form (and whose extension is checked); the path's last
    /// component when `None`.
    pub file_name: Option<String>,
    /// The multipart boundary: 1 to 70 of `A-Z a-z 0-9 ' + _ - .`.
    pub boundary: String,
}

impl IngestFile {
    /// Uploads `file`, named as its path's last component.
    pub fn new(file: FileSource) -> Self {
        IngestFile { file, file_name: None, boundary: DEFAULT_BOUNDARY.to_owned() }
    }

    /// Announces the file under another name (its extension decides the format).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// Uses another multipart boundary.
    pub fn boundary(mut self, boundary: impl Into<String>) -> Self {
        self.boundary = boundary.into();
        self
    }

    /// The name announced in the form.
    pub fn announced_name(&self) -> Option<&str> {
        self.file_name.as_deref().or_else(|| self.file.file_name())
    }

    /// Validates the request, reporting every problem, and returns the file's format.
    fn check(&self) -> Result<FileFormat, ValidationError> {
        let mut found = Vec::new();
        // The core never reads the file, so only an empty one is caught here (not one of
        // whitespace): jack answers 422 "The file is empty".
        if self.file.len == 0 {
            found.push(Problem::new("file", "the file is empty (0 bytes)", hints::EMPTY_FILE));
        }
        if self.file.len > MAX_FILE_BYTES {
            found.push(Problem::new(
                "file",
                format!(
                    "the file has {} bytes; jack takes at most 100 MB ({MAX_FILE_BYTES} bytes)",
                    self.file.len
                ),
                rows::JACK_413,
            ));
        }
        let name = self.announced_name().unwrap_or_default();
        let format = FileFormat::from_file_name(name);
        if format.is_none() {
            found.push(unknown_format(name));
        }
        let boundary_ok = (1..=70).contains(&self.boundary.len())
            && self.boundary.bytes().all(|b| b.is_ascii_alphanumeric() || b"'+_-.".contains(&b));
        if !boundary_ok {
            found.push(Problem::new(
                "boundary",
                format!("{:?} cannot be a multipart boundary", self.boundary),
                hints::INVALID_BOUNDARY,
            ));
        }
        ValidationError::check(found)?;
        format.ok_or_else(|| unknown_format(name).into())
    }
}

/// The problem of a file name with no format jack takes.
fn unknown_format(name: &str) -> Problem {
    let problem = match name.rsplit_once('.') {
        _ if name.is_empty() => "the file has no name (or one that is not UTF-8), so its format \
                                 is unknown; jack takes .pdf, .docx, .txt or .md"
            .to_owned(),
        Some((_, ext)) if !ext.is_empty() => {
            format!("{name:?} is a .{ext} file; jack takes .pdf, .docx, .txt or .md")
        }
        _ => format!("{name:?} has no extension; jack takes .pdf, .docx, .txt or .md"),
    };
    Problem::new("file", problem, rows::JACK_415)
}

impl ApiCall for IngestFile {
    type Output = FileAccepted;
    const OPERATION: Operation = Operation::IngestFile;
    crate::api_call::plan!(create_once);

    fn validate(&self) -> Result<(), ValidationError> {
        self.check().map(|_| ())
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let format = self.check()?;
        let name = self.announced_name().unwrap_or_default();
        let form = Multipart::new(self.boundary.as_str()).file(
            FILE_FIELD,
            name,
            format.content_type(),
            PartContent::File(self.file.clone()),
        );
        let content_type = form.content_type();
        target.request(Self::OPERATION, &[]).body(Body::Multipart(form), Some(content_type)).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<FileAccepted, DecodeError> {
        let wire: FileAcceptedWire = json_or_default(Operation::IngestFile, &response)?;
        Ok(wire.into())
    }
}

/// jack's answer to a file ingest: the new document's id, to poll.
///
/// Every field is optional: the references say only that file ingest "returns a document id".
/// The id is read from `document_id`, `id`, `_id` or the first of `document_ids`, in that order;
/// any 2xx is accepted, an empty body too (then with no id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAccepted {
    /// The new document's id, when the response carried one (the response's shape is not
    /// published, and an empty body is accepted, so it may be missing).
    pub document_id: Option<DocumentId>,
    /// `accepted`, when the response said.
    pub status: Option<IngestStatus>,
    /// The organisation, when the response said.
    pub org_id: Option<String>,
}

// GUESS: the file-ingest response shape is not published. The id is read from, in order,
// `document_id`, `id`, `_id`, or the first of `document_ids` (the JSON ingest's shape); any
// 2xx is accepted, an empty body too (then with no id).
#[derive(Default, Deserialize)]
struct FileAcceptedWire {
    #[serde(default)]
    document_id: Option<DocumentId>,
    #[serde(default)]
    id: Option<DocumentId>,
    #[serde(default, rename = "_id")]
    underscore_id: Option<DocumentId>,
    #[serde(default)]
    document_ids: Option<Vec<DocumentId>>,
    #[serde(default)]
    status: Option<IngestStatus>,
    #[serde(default)]
    org_id: Option<String>,
}

impl From<FileAcceptedWire> for FileAccepted {
    fn from(w: FileAcceptedWire) -> Self {
        let first_of_list = w.document_ids.and_then(|ids| ids.into_iter().next());
        FileAccepted {
            document_id: w.document_id.or(w.id).or(w.underscore_id).or(first_of_list),
            status: w.status,
            org_id: w.org_id,
        }
    }
}

/// A file upload happens once, like every create: a 502 or 504 (which may come after jack
/// accepted the file), or an answer lost after sending, is never sent again. jack publishes no
/// form field that could carry a token (and a document's `filename` cannot tell this upload
/// from an earlier one of the same file), so the upload is never tagged and never looked up:
/// its error says it may have succeeded.
impl crate::reconcile::Reconcile for IngestFile {
    type Lookup = super::documents::ListDocuments;

    fn tagged(&self, _token: &str) -> Option<Self> {
        None
    }

    fn lookup(&self) -> super::documents::ListDocuments {
        super::documents::ListDocuments::new()
    }

    fn find(
        &self,
        _token: &str,
        _listing: Vec<super::documents::Document>,
    ) -> crate::reconcile::Found<FileAccepted> {
        // Nothing tells this upload's document from another of the same file.
        crate::reconcile::Found::Partly
    }
}
