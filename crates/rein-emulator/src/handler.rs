//! What a request handler sees and returns: the per-request [`Ctx`] with its body readers, the
//! [`Outcome`] it hands back, and how a body failed to read ([`BodyError`], [`UnreadBody`]).
//!
//! A leaf below the model and the handlers, so `jack` and `jockey` depend on it rather than on
//! the model that routes to them.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, Response};
use rein_core::{Body, Now, SplitMix64};
use serde_json::Value;

use crate::config::Config;
use crate::multipart::{self, FormPart};
use crate::query::Query;

/// One request as a handler sees it.
pub(crate) struct Ctx<'a> {
    pub(crate) method: &'a Method,
    /// The path after the API prefix (`/assets/abc`), without a trailing slash.
    pub(crate) path: &'a str,
    pub(crate) query: Query,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Body,
    pub(crate) unread: Option<&'a UnreadBody>,
    pub(crate) now: Now,
    pub(crate) rng: &'a mut SplitMix64,
    pub(crate) config: &'a Config,
}

/// A request body as a handler reads it.
pub(crate) enum BodyError {
    /// Not parseable (bad JSON, bad form), with a reason.
    Malformed(String),
    /// Discarded by the transport for its size.
    TooLarge(u64),
}

impl Ctx<'_> {
    /// The body as JSON, `Ok(None)` when there is none.
    pub(crate) fn json(&self) -> Result<Option<Value>, BodyError> {
        self.check_unread()?;
        match self.body {
            Body::Empty => Ok(None),
            Body::Bytes(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Body::Bytes(b) => serde_json::from_slice(b)
                .map(Some)
                .map_err(|e| BodyError::Malformed(format!("malformed JSON body: {e}"))),
            Body::Multipart(_) => {
                Err(BodyError::Malformed("expected a JSON body, got multipart/form-data".into()))
            }
            Body::FileRange(_) => {
                Err(BodyError::Malformed("expected a JSON body, got a file's bytes".into()))
            }
        }
    }

    /// The body as form parts, `Ok(None)` when it is not a form.
    pub(crate) fn form(&self) -> Result<Option<Vec<FormPart>>, BodyError> {
        self.check_unread()?;
        match self.body {
            Body::Multipart(form) => Ok(Some(multipart::from_core(form))),
            Body::Bytes(b) => {
                let boundary = self
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(multipart::boundary);
                match boundary {
                    Some(boundary) => multipart::scan(&boundary, b).map(Some).map_err(|e| {
                        BodyError::Malformed(format!("malformed multipart body: {e}"))
                    }),
                    None => Ok(None),
                }
            }
            Body::Empty | Body::FileRange(_) => Ok(None),
        }
    }

    fn check_unread(&self) -> Result<(), BodyError> {
        match self.unread {
            Some(UnreadBody::TooLarge { len }) => Err(BodyError::TooLarge(*len)),
            Some(UnreadBody::MalformedForm { reason }) => {
                Err(BodyError::Malformed(format!("malformed multipart body: {reason}")))
            }
            None => Ok(()),
        }
    }
}

/// What a handler did: its response, and whether it changed any state.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) response: Response<Bytes>,
    pub(crate) changed: bool,
}

impl Outcome {
    pub(crate) fn read(response: Response<Bytes>) -> Self {
        Outcome { response, changed: false }
    }

    pub(crate) fn wrote(response: Response<Bytes>) -> Self {
        Outcome { response, changed: true }
    }
}

/// A request-body problem found by the transport before the model saw the request, attached
/// to the request as an extension (`request.extensions_mut().insert(UnreadBody::...)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnreadBody {
    /// The body was longer than the transport keeps for a non-form request; it was discarded.
    TooLarge {
        /// Its length in bytes.
        len: u64,
    },
    /// The body claimed to be `multipart/form-data` and was not well formed.
    MalformedForm {
        /// What was wrong.
        reason: String,
    },
}
