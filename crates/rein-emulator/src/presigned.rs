//! The storage side of a multipart upload, as S3 answers it: presigned chunk URLs, the `ETag`
//! of a stored chunk, XML error bodies, and the digest that stands for a chunk's bytes.
//!
//! A URL is `{presigned_base}/_presigned/{upload_id}/{chunk_index}?expires={unix_ms}&sig={token}`;
//! the session that issued it ([`jockey`](crate::jockey)) decides whether a `PUT` to it is
//! taken. A chunk's bytes are never kept: a transport passes them through a [`ChunkDigest`]
//! (their length and an FNV-1a 64 hash) as they arrive, and attaches the digest to the request
//! as an extension; the model keeps only the digest, whose hash is the chunk's `ETag`.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, ETAG};
use http::{Response, StatusCode};
use rein_core::Body;

use crate::query::Query;

/// The path prefix of presigned chunk URLs. The API listener answers 404 under it; the
/// presigned listener answers nothing else.
pub const PRESIGNED_PREFIX: &str = "/_presigned/";

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// What is kept of a chunk's bytes: their length and an FNV-1a 64 hash, fed piece by piece.
///
/// A transport that streams a chunk `PUT` feeds each piece to [`ChunkDigest::update`] and
/// attaches the digest to the request (`request.extensions_mut().insert(digest)`); a body held
/// in memory ([`Body::Bytes`]) is digested by the model itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkDigest {
    len: u64,
    hash: u64,
}

impl Default for ChunkDigest {
    fn default() -> Self {
        ChunkDigest::new()
    }
}

impl ChunkDigest {
    /// The digest of no bytes.
    pub const fn new() -> Self {
        ChunkDigest { len: 0, hash: FNV_OFFSET }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut digest = ChunkDigest::new();
        digest.update(bytes);
        digest
    }

    /// Adds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut hash = self.hash;
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
        self.hash = hash;
        self.len += bytes.len() as u64;
    }

    /// How many bytes were fed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `ETag` a `PUT` of these bytes is answered with: the hash in hex, quoted, as S3 quotes
    /// its own.
    pub fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }

    /// The digest of a body held in memory; `None` for a body that names a file (a transport
    /// must read it and attach the digest).
    pub(crate) fn of_body(body: &Body) -> Option<Self> {
        match body {
            Body::Empty => Some(ChunkDigest::new()),
            Body::Bytes(b) => Some(ChunkDigest::of(b)),
            Body::Multipart(_) | Body::FileRange(_) => None,
        }
    }
}

/// A presigned URL, as a request to it names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChunkUrl {
    pub(crate) upload_id: String,
    pub(crate) index: u32,
    /// The `expires` query parameter (Unix milliseconds), if it parses.
    pub(crate) expires_ms: Option<u64>,
    /// The `sig` query parameter.
    pub(crate) sig: Option<String>,
}

impl ChunkUrl {
    /// The URL a path and query name, if the path has the shape of one.
    pub(crate) fn parse(path: &str, query: Option<&str>) -> Option<Self> {
        let rest = path.strip_prefix(PRESIGNED_PREFIX)?;
        let (upload_id, index) = rest.trim_end_matches('/').split_once('/')?;
        if upload_id.is_empty() || index.contains('/') {
            return None;
        }
        let index = index.parse().ok()?;
        let query = Query::parse(query);
        Some(ChunkUrl {
            upload_id: upload_id.to_owned(),
            index,
            expires_ms: query.get("expires").and_then(|s| s.parse().ok()),
            sig: query.get("sig").map(str::to_owned),
        })
    }
}

/// The URL of chunk `index` of session `upload_id` under `base`.
pub(crate) fn url(base: &str, upload_id: &str, index: u32, expires_ms: u64, sig: &str) -> String {
    let base = base.trim_end_matches('/');
    format!("{base}{PRESIGNED_PREFIX}{upload_id}/{index}?expires={expires_ms}&sig={sig}")
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A stored chunk's answer: 200, its `ETag`, no body.
pub(crate) fn stored(digest: &ChunkDigest) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    if let Ok(etag) = HeaderValue::from_str(&digest.etag()) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// An error as S3 writes it: `<Error><Code>..</Code><Message>..</Message></Error>`.
pub(crate) fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
        escape(code),
        escape(message)
    );
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response
}

/// 403 `AccessDenied` "Request has expired": an expired URL (or one a fault expired).
pub(crate) fn expired() -> Response<Bytes> {
    xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
}

/// 404 `NoSuchKey`: a path that names no presigned URL.
pub(crate) fn no_such_key() -> Response<Bytes> {
    xml_error(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_do_not_depend_on_how_the_bytes_are_cut() {
        let whole = ChunkDigest::of(b"hello, chunk");
        let mut pieces = ChunkDigest::new();
        pieces.update(b"hel");
        pieces.update(b"");
        pieces.update(b"lo, chunk");
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 12);
        assert_ne!(whole.etag(), ChunkDigest::of(b"hello, chunK").etag());
        // FNV-1a 64 of "a", a published test vector.
        assert_eq!(ChunkDigest::of(b"a").etag(), "\"af63dc4c8601ec8c\"");
    }

    #[test]
    fn urls_parse_back() {
        let u = url("http://127.0.0.1:9000/", "abc", 3, 1_700_000_000_000, "s1g");
        assert_eq!(u, "http://127.0.0.1:9000/_presigned/abc/3?expires=1700000000000&sig=s1g");
        let uri: http::Uri = u.parse().expect("uri");
        let parsed = ChunkUrl::parse(uri.path(), uri.query()).expect("a chunk url");
        assert_eq!(parsed.upload_id, "abc");
        assert_eq!(parsed.index, 3);
        assert_eq!(parsed.expires_ms, Some(1_700_000_000_000));
        assert_eq!(parsed.sig.as_deref(), Some("s1g"));
        assert_eq!(ChunkUrl::parse("/_presigned/abc", None), None);
        assert_eq!(ChunkUrl::parse("/_presigned/abc/x", None), None);
        assert_eq!(ChunkUrl::parse("/v1.3/assets", None), None);
    }

    #[test]
    fn errors_are_s3_xml() {
        let r = expired();
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/xml");
        let body = String::from_utf8_lossy(r.body()).into_owned();
        assert!(
            body.contains(
                "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            ),
            "{body}"
        );
    }
}
