//! Where requests go and how they authenticate: a [`Target`] is an API, a base URL and a key,
//! and renders [`Request`]s for any [`Operation`].

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT,
};
use http::{HeaderMap, Uri};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use crate::api::{Api, Operation};
use crate::body::Body;
use crate::error::{Error, ValidationError};
use crate::hint::{rows, Hint};
use crate::request::Request;

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for building the auth header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl<S: Into<String>> From<S> for ApiKey {
    fn from(s: S) -> Self {
        ApiKey::new(s)
    }
}

/// An API at a base URL with a key: renders requests.
#[derive(Clone)]
pub struct Target {
    api: Api,
    base: Uri,
    /// What every request's URI starts with: the scheme, the authority, and the base path
    /// without its trailing slash (prepared once, not per request).
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    /// Sent with every request: the key (marked sensitive), `accept`, `user-agent`. Shared with
    /// every request rendered, not copied into each.
    base_headers: Arc<HeaderMap>,
}

impl Target {
    /// The API key the target's requests carry, so server text that echoes it can be scrubbed.
    pub(crate) fn client_key(&self) -> Option<&str> {
        crate::request::key_in(&self.base_headers)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("api", &self.api)
            .field("base", &self.base)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// How every jack key starts (jack-api.md: `Authorization: Bearer jack_...`).
pub const JACK_KEY_PREFIX: &str = "jack_";

const BASE_URL_HINT: Hint = Hint::new(
    "The base URL is not an https URL (http is allowed for loopback hosts only)",
    "Use https://, or allow plain http explicitly for a trusted network",
);

const USERINFO_HINT: Hint = Hint::new(
    "A user name or password in the base URL (`user:password@host`): it would be sent as Basic \
     auth and show wherever the URL is logged",
    "Remove `user:password@` from the base URL: the API key is the only credential rein sends",
);

const NON_ASCII_PATH_HINT: Hint = Hint::new(
    "A base URL whose path has non-ASCII, space or control characters",
    "Use the API's base URL as documented, or percent-encode the path (`é` is `%C3%A9`)",
);

impl Target {
    /// A target for `api` at `base_url` (e.g. `https://api.twelvelabs.io/v1.3`).
    ///
    /// `http://` is refused unless the host is loopback (`localhost`, `127.0.0.0/8`, `[::1]`),
    /// so a key is never sent in clear text by accident; see [`Target::allow_insecure_http`].
    /// A URL with a user name or password (`https://user:pass@host`) is refused, and no
    /// message repeats it; so is a path with characters that are not percent-encoded (non-ASCII,
    /// spaces, control characters). Ids put in paths later are percent-encoded by rein.
    pub fn new(api: Api, base_url: &str, key: impl Into<ApiKey>) -> Result<Self, ValidationError> {
        Target::build(api, base_url, key.into(), false)
    }

    /// Like [`Target::new`], but accepts `http://` to any host.
    pub fn allow_insecure_http(
        api: Api,
        base_url: &str,
        key: impl Into<ApiKey>,
    ) -> Result<Self, ValidationError> {
        Target::build(api, base_url, key.into(), true)
    }

    fn build(
        api: Api,
        raw_base_url: &str,
        key: ApiKey,
        insecure_ok: bool,
    ) -> Result<Self, ValidationError> {
        // Every message shows the URL without its userinfo: a password never reaches an error.
        let shown = without_userinfo(raw_base_url);
        let base_url = shown.as_str();
        let invalid = |problem: String| ValidationError::new("base_url", problem, BASE_URL_HINT);
        let trimmed = raw_base_url.trim().trim_end_matches('/');
        let base: Uri =
            trimmed.parse().map_err(|e| invalid(format!("{base_url:?} is not a URL: {e}")))?;
        if base.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(ValidationError::new(
                "base_url",
                format!("{base_url:?} carries a user name or password"),
                USERINFO_HINT,
            ));
        }
        // `http::Uri` takes raw UTF-8 in a path; the wire wants it percent-encoded, and a
        // server or proxy may read raw bytes any way it likes.
        if base.path().bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "base_url",
                format!("{base_url:?} has a path with characters that are not percent-encoded"),
                NON_ASCII_PATH_HINT,
            ));
        }
        // A bare host gets the API's version prefix: every path of the API starts with it.
        let base: Uri = if base.path().trim_end_matches('/').is_empty() {
            format!("{trimmed}{}", api.path_prefix())
                .parse()
                .map_err(|e| invalid(format!("{base_url:?} is not a URL: {e}")))?
        } else {
            base
        };
        let host = base.host().ok_or_else(|| invalid(format!("{base_url:?} has no host")))?;
        if base.query().is_some() {
            return Err(invalid(format!("{base_url:?} has a query")));
        }
        match base.scheme_str() {
            Some("https") => {}
            Some("http") if insecure_ok || is_loopback(host) => {}
            Some("http") => {
                return Err(invalid(format!(
                    "{base_url:?} is plain http to a non-loopback host: the API key would travel in clear text"
                )))
            }
            _ => return Err(invalid(format!("{base_url:?} is not an http(s) URL"))),
        }

        let key_hint = match api {
            Api::Jockey => rows::JOCKEY_401,
            Api::Jack => rows::JACK_401,
        };
        // Whitespace around a key is what a copied key or a CRLF .env file brings: dropped.
        let k = key.expose().trim();
        if k.is_empty() {
            return Err(ValidationError::new("api_key", "the API key is empty", key_hint));
        }
        if k.chars().any(char::is_whitespace) {
            return Err(ValidationError::new(
                "api_key",
                "the API key has whitespace inside it",
                Hint::new(
                    "A key pasted with a space or a line break in the middle",
                    "Remove the whitespace from the key",
                ),
            ));
        }
        // jack's keys all start `jack_` (the key format the references show).
        if api == Api::Jack && !k.starts_with(JACK_KEY_PREFIX) {
            return Err(ValidationError::new(
                "api_key",
                "a jack key starts with `jack_`",
                Hint::new(
                    "Not a jack key (a Twelve Labs key given to the jack client?)",
                    "Use the jack key from your jack dashboard, which starts with jack_",
                ),
            ));
        }
        let value = match api {
            Api::Jockey => HeaderValue::from_str(k),
            Api::Jack => HeaderValue::from_str(&format!("Bearer {k}")),
        };
        let mut value = value.map_err(|_| {
            ValidationError::new(
                "api_key",
                "the API key has characters a header cannot carry",
                key_hint,
            )
        })?;
        value.set_sensitive(true);
        let name = match api {
            Api::Jockey => HeaderName::from_static("x-api-key"),
            Api::Jack => AUTHORIZATION,
        };
        let mut base_headers = HeaderMap::with_capacity(4);
        base_headers.insert(name, value);
        base_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        base_headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("rein/", env!("CARGO_PKG_VERSION"))),
        );
        let scheme = base.scheme().cloned().unwrap_or(http::uri::Scheme::HTTPS);
        let authority = base
            .authority()
            .cloned()
            .ok_or_else(|| invalid(format!("{base_url:?} has no host")))?;
        let base_path = base.path().trim_end_matches('/').to_owned();
        Ok(Target { api, base, scheme, authority, base_path, base_headers: Arc::new(base_headers) })
    }

    /// The API.
    pub fn api(&self) -> Api {
        self.api
    }

    /// The base URL.
    pub fn base_url(&self) -> &Uri {
        &self.base
    }

    /// Starts a request for `op`, filling the path template's `{…}` placeholders, in order,
    /// with `path_params`. Each parameter becomes exactly one path segment, whatever it holds.
    pub fn request<'a>(&'a self, op: Operation, path_params: &'a [&'a str]) -> RequestBuilder<'a> {
        RequestBuilder {
            target: self,
            op,
            path_params,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            content_type: None,
            error: None,
        }
    }
}

/// `url` with the userinfo of its authority (`user:password@`) replaced by `<redacted>@`, for
/// messages and `Debug`: whatever follows `scheme://` up to the last `@` before the path.
pub(crate) fn without_userinfo(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_len = url[start..].find(['/', '?', '#']).unwrap_or(url.len() - start);
    match url[start..start + authority_len].rfind('@') {
        Some(at) => format!("{}<redacted>{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Everything but RFC 3986 unreserved characters is escaped in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// RFC 3986 unreserved bytes (what [`SEGMENT`] leaves as they are), as a table: an id is
/// checked a byte at a time on every request.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

/// Encodes `id` as one path segment: no `/`, `?` or `#` survives, and a segment of only dots
/// (`.`, `..`) is escaped so no URL normaliser can treat it as a step up.
pub fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    push_segment(&mut out, id);
    out
}

/// Appends `id` to `path` as one encoded segment (see [`encode_segment`]), without allocating.
fn push_segment(path: &mut String, id: &str) {
    if !id.is_empty() && id.bytes().all(|b| b == b'.') {
        (0..id.len()).for_each(|_| path.push_str("%2E"));
        return;
    }
    if id.bytes().all(|b| UNRESERVED[usize::from(b)]) {
        // The usual id: nothing to escape.
        path.push_str(id);
        return;
    }
    utf8_percent_encode(id, SEGMENT).for_each(|chunk| path.push_str(chunk));
}

/// Encodes a query key or value.
pub fn encode_query(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A request being put together; [`RequestBuilder::build`] checks it and renders it.
#[derive(Debug)]
pub struct RequestBuilder<'a> {
    target: &'a Target,
    op: Operation,
    path_params: &'a [&'a str],
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Body,
    content_type: Option<String>,
    error: Option<Error>,
}

impl RequestBuilder<'_> {
    /// Appends a query pair (repeat a key for an array: `status=a&status=b`).
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    /// Appends a query pair when `value` is `Some`.
    pub fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Body::Bytes(Bytes::from(bytes));
                self.content_type = Some("application/json".to_owned());
            }
            Err(e) => {
                self.error = Some(Error::Invalid(Box::new(ValidationError::new(
                    "body",
                    format!("cannot be encoded as JSON: {e}"),
                    rows::JOCKEY_400,
                ))))
            }
        }
        self
    }

    /// Any body, with its content type.
    pub fn body(mut self, body: Body, content_type: Option<String>) -> Self {
        self.body = body;
        self.content_type = content_type;
        self
    }

    /// An extra header. A name the target sends too (`user-agent`, say) is replaced, not
    /// repeated; repeat `header` with one name to send several values.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Marks the request idempotent or not, overriding the operation's default.
    pub fn build(self) -> Result<Request, Error> {
        self.build_with(None)
    }

    /// Renders the request, with `idempotent` overriding the operation's default when given.
    pub fn build_with(self, idempotent: Option<bool>) -> Result<Request, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let op = self.op;
        let template = op.path_template();
        let base = self.target.base_path.as_str();
        let params_len: usize = self.path_params.iter().map(|p| p.len()).sum();
        let mut path = String::with_capacity(base.len() + template.len() + params_len + 16);
        path.push_str(base);
        let mut params = self.path_params.iter();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            path.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').unwrap_or(rest.len() - open - 1);
            let name = &rest[open + 1..close];
            let value = params.next().ok_or_else(|| missing_param(name))?;
            if value.is_empty() {
                return Err(missing_param(name));
            }
            push_segment(&mut path, value);
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        if !self.query.is_empty() {
            path.push('?');
            let pairs: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
                .collect();
            path.push_str(&pairs.join("&"));
        }
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.target.scheme.clone());
        parts.authority = Some(self.target.authority.clone());
        // Every id was percent-encoded above, so this fails only on a malformed base URL.
        parts.path_and_query = Some(http::uri::PathAndQuery::try_from(path).map_err(|e| {
            Error::Invalid(Box::new(ValidationError::new(
                "path",
                format!("cannot form a path: {e}"),
                BASE_URL_HINT,
            )))
        })?);
        let uri = Uri::from_parts(parts).map_err(|e| {
            Error::Invalid(Box::new(ValidationError::new("uri", e.to_string(), rows::JOCKEY_400)))
        })?;

        // The request's own headers; the target's are shared (see `Request::target_headers`).
        let mut headers = HeaderMap::new();
        if let Some(ct) = &self.content_type {
            if let Ok(v) = HeaderValue::from_str(ct) {
                headers.insert(CONTENT_TYPE, v);
            }
        }
        if !matches!(self.body, Body::Empty) || op.method() != http::Method::GET {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(self.body.content_length()));
        }
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }

        Ok(Request {
            operation: op,
            method: op.method(),
            uri,
            target_headers: Arc::clone(&self.target.base_headers),
            headers,
            body: self.body,
            idempotent: idempotent.unwrap_or(op.is_idempotent()),
        })
    }
}

fn missing_param(name: &str) -> Error {
    Error::Invalid(Box::new(ValidationError::new(
        name,
        "the id is missing or empty",
        Hint::new("An empty id", "Pass the id the API returned when the resource was created"),
    )))
}
