//! Request bodies, described rather than held: a body is bytes, nothing, or a multipart form
//! whose file parts name a file for the adapter to stream. The core never reads a file, so a
//! 200 MB upload costs the core a path and a length.

use std::fmt;
use std::path::PathBuf;

use bytes::{BufMut, Bytes, BytesMut};

/// The body of a request.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// A body held in memory (JSON, in practice).
    Bytes(Bytes),
    /// A `multipart/form-data` body, to be streamed segment by segment.
    Multipart(Multipart),
    /// A part of a file, streamed as it is (a chunk of a multipart upload).
    FileRange(FileRange),
}

impl Body {
    /// The exact number of bytes the body will put on the wire.
    pub fn content_length(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Multipart(m) => m.content_length(),
            Body::FileRange(r) => r.len,
        }
    }

    /// A body of `len` bytes of `file` from `offset`.
    pub fn file_range(file: FileSource, offset: u64, len: u64) -> Self {
        Body::FileRange(FileRange { file, offset, len })
    }

    /// The body as segments, in wire order: what an adapter writes.
    pub fn segments(&self) -> Vec<Segment> {
        match self {
            Body::Empty => Vec::new(),
            Body::Bytes(b) => vec![Segment::Bytes(b.clone())],
            Body::Multipart(m) => m.segments(),
            Body::FileRange(r) => vec![Segment::Range(r.clone())],
        }
    }

    /// The body as bytes when it is held in memory; `None` for a multipart body with a file part.
    pub fn as_bytes(&self) -> Option<Bytes> {
        match self {
            Body::Empty => Some(Bytes::new()),
            Body::Bytes(b) => Some(b.clone()),
            Body::Multipart(m) => {
                let mut out = BytesMut::new();
                for seg in m.segments() {
                    match seg {
                        Segment::Bytes(b) => out.put(b),
                        Segment::File(_) | Segment::Range(_) => return None,
                    }
                }
                Some(out.freeze())
            }
            Body::FileRange(_) => None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => f.debug_tuple("Bytes").field(&s).finish(),
                Err(_) => write!(f, "Bytes(<{} bytes>)", b.len()),
            },
            Body::Multipart(m) => m.fmt(f),
            Body::FileRange(r) => r.fmt(f),
        }
    }
}

/// A piece of a body on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Bytes to write as they are.
    Bytes(Bytes),
    /// The whole contents of a file, streamed by the adapter.
    File(FileSource),
    /// Part of a file, streamed by the adapter.
    Range(FileRange),
}

/// `len` bytes of a file from `offset`. The file must still have the length it had when it
/// was checked (`file.len`), and the range must lie within it: the adapter fails the request
/// otherwise, before it sends a byte of a file that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRange {
    /// The file, with its length when it was checked.
    pub file: FileSource,
    /// Where the range starts.
    pub offset: u64,
    /// How many bytes it holds.
    pub len: u64,
}

impl FileRange {
    /// Whether the range lies within the file.
    pub fn is_within(&self) -> bool {
        self.offset.checked_add(self.len).is_some_and(|end| end <= self.file.len)
    }
}

/// A file to stream as a body part: its path and the length it had when it was checked.
///
/// The length is part of the request (it fixes `content-length` and is checked against size
/// limits before anything is sent), so the adapter must fail the request if the file no longer
/// has that length when it streams it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSource {
    /// Where the file is.
    pub path: PathBuf,
    /// Its length in bytes.
    pub len: u64,
}

impl FileSource {
    /// A file of `len` bytes at `path`. Adapters provide `open`-style helpers that read the length.
    pub fn new(path: impl Into<PathBuf>, len: u64) -> Self {
        FileSource { path: path.into(), len }
    }

    /// A source for the file at `path`, from what reading its metadata gave (the adapter reads
    /// it; the core only judges it): an unreadable path or something other than a regular file
    /// is refused before anything is sent.
    pub fn from_metadata(
        path: &std::path::Path,
        metadata: std::io::Result<std::fs::Metadata>,
    ) -> Result<Self, crate::Error> {
        use crate::{Error, Hint, ValidationError};
        let invalid = |problem: String, hint: Hint| {
            Error::Invalid(Box::new(ValidationError::new("file", problem, hint)))
        };
        let metadata = metadata.map_err(|e| {
            invalid(
                format!("{}: {e}", path.display()),
                Hint::new("The file cannot be read", "Check the path and its permissions"),
            )
        })?;
        if !metadata.is_file() {
            return Err(invalid(
                format!("{} is not a regular file", path.display()),
                Hint::new("Not a file", "Pass the path of a file"),
            ));
        }
        Ok(FileSource::new(path, metadata.len()))
    }

    /// The file's name (its last path component), if it has one that is valid UTF-8.
    pub fn file_name(&self) -> Option<&str> {
        self.path.file_name().and_then(|n| n.to_str())
    }
}

/// A local file that could not be streamed as a request body: missing, unreadable, or not the
/// length the request announced. Transports report it as a
/// [`TransportErrorKind::File`](crate::TransportErrorKind::File) failure before the body is
/// complete, so the server cannot have accepted the request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// Where a multipart part's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartContent {
    /// Content in memory.
    Bytes(Bytes),
    /// A file, streamed by the adapter.
    File(FileSource),
}

impl PartContent {
    fn len(&self) -> u64 {
        match self {
            PartContent::Bytes(b) => b.len() as u64,
            PartContent::File(f) => f.len,
        }
    }
}

/// One part of a multipart form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The file name announced in `content-disposition`, for file parts.
    pub filename: Option<String>,
    /// The part's `content-type`, if any.
    pub content_type: Option<String>,
    /// The content.
    pub content: PartContent,
}

/// A `multipart/form-data` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multipart {
    boundary: String,
    parts: Vec<Part>,
}

impl Multipart {
    /// An empty form with the given boundary. The caller picks the boundary so that rendering
    /// stays pure and snapshots stay stable; it must not occur in any part.
    pub fn new(boundary: impl Into<String>) -> Self {
        Multipart { boundary: boundary.into(), parts: Vec::new() }
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.to_owned(),
            filename: None,
            content_type: None,
            content: PartContent::Bytes(Bytes::from(value.into())),
        });
        self
    }

    /// Adds a file field.
    pub fn file(
        mut self,
        name: &str,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        content: PartContent,
    ) -> Self {
        self.parts.push(Part {
            name: name.to_owned(),
            filename: Some(filename.into()),
            content_type: Some(content_type.into()),
            content,
        });
        self
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The name of a part whose text holds the boundary's delimiter (`--` and the boundary),
    /// which would end the part, or the form, early. Files are not read: their boundary is
    /// fresh entropy (see [`boundary_from_seed`]).
    pub fn boundary_collision(&self) -> Option<&str> {
        let delimiter = format!("--{}", self.boundary);
        self.parts.iter().find_map(|part| match &part.content {
            PartContent::Bytes(bytes) => bytes
                .windows(delimiter.len().max(1))
                .any(|w| w == delimiter.as_bytes())
                .then_some(part.name.as_str()),
            PartContent::File(_) => None,
        })
    }

    /// The `content-type` header value for this form.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    fn part_header(&self, part: &Part) -> String {
        let mut h = format!(
            "--{}\r\ncontent-disposition: form-data; name=\"{}\"",
            self.boundary,
            escape_quoted(&part.name)
        );
        if let Some(filename) = &part.filename {
            h.push_str(&format!("; filename=\"{}\"", escape_quoted(filename)));
        }
        h.push_str("\r\n");
        if let Some(ct) = &part.content_type {
            h.push_str(&format!("content-type: {ct}\r\n"));
        }
        h.push_str("\r\n");
        h
    }

    fn closing(&self) -> String {
        format!("--{}--\r\n", self.boundary)
    }

    /// The exact encoded length.
    pub fn content_length(&self) -> u64 {
        let parts: u64 =
            self.parts.iter().map(|p| self.part_header(p).len() as u64 + p.content.len() + 2).sum();
        parts + self.closing().len() as u64
    }

    /// The encoded form as segments: headers and in-memory content coalesced, files left as files.
    pub fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut pending = BytesMut::new();
        for part in &self.parts {
            pending.put(self.part_header(part).as_bytes());
            match &part.content {
                PartContent::Bytes(b) => pending.put(b.clone()),
                PartContent::File(f) => {
                    if !pending.is_empty() {
                        out.push(Segment::Bytes(pending.split().freeze()));
                    }
                    out.push(Segment::File(f.clone()));
                }
            }
            pending.put(&b"\r\n"[..]);
        }
        pending.put(self.closing().as_bytes());
        out.push(Segment::Bytes(pending.freeze()));
        out
    }
}

/// Escapes a value for a quoted `content-disposition` parameter (WHATWG form encoding:
/// `"` as `%22`, CR and LF as `%0D`/`%0A`), so a file name cannot break the part header.
fn escape_quoted(s: &str) -> String {
    s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// A multipart boundary from a seed: 32 hex digits after a fixed prefix. Adapters pass fresh
/// entropy so that no file's contents can contain the boundary by design.
pub fn boundary_from_seed(seed: u64) -> String {
    use crate::backoff::Random;
    let mut rng = crate::backoff::SplitMix64::new(seed);
    format!("rein-{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_length_matches_rendering() {
        let form = Multipart::new("b").text("method", "direct").file(
            "file",
            "a\"b.mp4",
            "video/mp4",
            PartContent::Bytes(Bytes::from_static(b"xyz")),
        );
        let bytes = Body::Multipart(form.clone()).as_bytes().expect("in memory");
        assert_eq!(bytes.len() as u64, form.content_length());
        let text = String::from_utf8(bytes.to_vec()).expect("utf8");
        assert!(text.contains("filename=\"a%22b.mp4\""));
        assert!(text.ends_with("--b--\r\n"));
    }

    #[test]
    fn file_parts_stay_files() {
        let form = Multipart::new("b").text("method", "direct").file(
            "file",
            "big.mp4",
            "video/mp4",
            PartContent::File(FileSource::new("/tmp/big.mp4", 200)),
        );
        let segs = form.segments();
        assert_eq!(segs.len(), 3);
        assert!(matches!(&segs[1], Segment::File(f) if f.len == 200));
        let total: u64 = segs
            .iter()
            .map(|s| match s {
                Segment::Bytes(b) => b.len() as u64,
                Segment::File(f) => f.len,
                Segment::Range(r) => r.len,
            })
            .sum();
        assert_eq!(total, form.content_length());
        assert_eq!(Body::Multipart(form).as_bytes(), None);
    }
}
