//! A request ready to send: everything an adapter needs, plus what the core needs to decide
//! about it (which operation it is, whether a repeat is harmless).

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::api::Operation;
use crate::body::Body;

/// The most an attempt may take, from sending to the end of its answer (for a streaming
/// attempt, to the end of its head): the request timeout, or less when the call's deadline is
/// nearer. Every request a machine sends carries one as an `http::Request` extension; a blocking
/// transport must keep to it (its driver cannot interrupt it), an async driver enforces it
/// itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptTimeout(pub std::time::Duration);

/// The most a streaming response's body may stay silent between two chunks. A streaming
/// request carries one as an extension, for transports that can only bound a read when they
/// open the body (a blocking socket).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadTimeout(pub std::time::Duration);

/// The most a streaming response may take in all, from sending to its body's last byte: what
/// is left of the stream's deadline ([`ClientConfig::stream_timeout`](crate::ClientConfig),
/// or the call's own time budget when nearer). A streaming request carries one as an extension,
/// beside its [`ReadTimeout`], for transports that can only bound reads when they open the body
/// (a blocking socket): each read must end within both. A driver that can interrupt a read
/// needs neither: each [`Step::Read`](crate::Step::Read)'s `until` is already the nearer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamTimeout(pub std::time::Duration);

/// A response whose body was cut at the transport's cap (a response extension): the body holds
/// its first bytes, and the status, headers and retry class stand. A success cut short cannot
/// be decoded; an error is judged by its status and what arrived of its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated {
    /// How many bytes the body had at least: announced, or read before the cut.
    pub at_least: u64,
}

/// The API key among `headers` (`x-api-key`, or `Authorization: Bearer`).
pub(crate) fn key_in(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key);
    }
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    auth.strip_prefix("Bearer ")
}

/// A prepared request. Cheap to clone (bodies are shared bytes or file references), because a
/// retry sends it again.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Request {
    /// The operation this request performs.
    pub operation: Operation,
    /// The HTTP method.
    pub method: Method,
    /// The absolute URI.
    pub uri: Uri,
    /// The headers every request to the target carries: the key (marked sensitive, so `Debug`
    /// hides it), `accept`, `user-agent`. Shared by all of the target's requests.
    pub target_headers: Arc<HeaderMap>,
    /// This request's own headers (content type and length, any extra). A name here replaces
    /// the target's header of that name (a custom `user-agent`, say); the others follow the
    /// target's. [`Request::all_headers`] gives both, as they go on the wire.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
    /// Whether a repeat is harmless; starts as the operation's own answer.
    pub idempotent: bool,
}

impl Request {
    /// The API key the request carries (`x-api-key`, or `Authorization: Bearer`), so server
    /// text that echoes it can be scrubbed.
    pub(crate) fn client_key(&self) -> Option<&str> {
        key_in(&self.target_headers)
    }

    /// The request as an `http::Request` for a transport.
    pub fn to_http(&self) -> http::Request<Body> {
        let mut req = http::Request::new(self.body.clone());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.all_headers();
        req
    }

    /// Every header, as sent: the target's, with the request's own added (a name the request
    /// sets replaces the target's values of that name).
    pub fn all_headers(&self) -> HeaderMap {
        let mut all = HeaderMap::clone(&self.target_headers);
        for name in self.headers.keys() {
            let mut values = self.headers.get_all(name).iter();
            if let Some(first) = values.next() {
                all.insert(name.clone(), first.clone());
            }
            for value in values {
                all.append(name.clone(), value.clone());
            }
        }
        all
    }

    /// The request as readable wire text, credentials redacted: the request line, the headers,
    /// a blank line and the body (a file part shown as `<file PATH, N bytes>`). For logs and
    /// snapshot tests; not what goes on the wire byte for byte.
    pub fn render_redacted(&self) -> String {
        let mut out = format!("{} {}\n", self.method, self.path_and_query());
        if let Some(host) = self.uri.authority() {
            out.push_str(&format!("host: {host}\n"));
        }
        for (name, value) in &self.all_headers() {
            let shown = if value.is_sensitive() {
                "<redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            out.push_str(&format!("{name}: {shown}\n"));
        }
        out.push('\n');
        for segment in self.body.segments() {
            match segment {
                crate::body::Segment::Bytes(b) => out.push_str(&String::from_utf8_lossy(&b)),
                crate::body::Segment::File(f) => {
                    out.push_str(&format!("<file {}, {} bytes>", f.path.display(), f.len))
                }
                crate::body::Segment::Range(r) => out.push_str(&format!(
                    "<file {}, {} bytes from byte {}>",
                    r.file.path.display(),
                    r.len,
                    r.offset
                )),
            }
        }
        out
    }

    /// The path and query, as they go on the request line.
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A presigned URL's query is its signature: a credential, kept out like the key.
        let uri = if self.operation.is_presigned() {
            crate::jockey::multipart::without_query(&self.uri.to_string())
        } else {
            self.uri.to_string()
        };
        f.debug_struct("Request")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("uri", &uri)
            .field("headers", &RedactedHeaders(&self.all_headers()))
            .field("body", &self.body)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

/// Headers printed with sensitive values replaced by `<redacted>`.
pub struct RedactedHeaders<'a>(pub &'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            m.entry(&name.as_str(), &Redacted(value));
        }
        m.finish()
    }
}

struct Redacted<'a>(&'a HeaderValue);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_sensitive() {
            f.write_str("<redacted>")
        } else {
            match self.0.to_str() {
                Ok(s) => fmt::Debug::fmt(s, f),
                Err(_) => f.write_str("<binary>"),
            }
        }
    }
}
