//! Query: a question answered over the organisation's ready documents, with citations.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::decode;
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::rows;
use crate::request::Request;
use crate::target::Target;

use super::lenient::null_as_default;

/// The allowed `top_k`.
pub const TOP_K: RangeInclusive<u32> = 1..=20;

/// jack's `top_k` when the request leaves it out.
pub const DEFAULT_TOP_K: u32 = 6;

/// `POST /v1/query`: a question, optional metadata filters (all must match: an AND of
/// `key = value`), and how many chunks to retrieve. Read-only, so safe to retry.
///
/// `filters` and `top_k` are sent only when set; left out, jack applies `{}` and 6.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Query {
    /// The question; must not be empty.
    pub question: String,
    /// Metadata filters, ANDed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub filters: BTreeMap<String, String>,
    /// How many chunks to retrieve, 1 to 20 (jack's default: 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
}

impl Query {
    /// Asks `question` with no filters and jack's default `top_k`.
    pub fn new(question: impl Into<String>) -> Self {
        Query { question: question.into(), filters: BTreeMap::new(), top_k: None }
    }

    /// Keeps only documents whose metadata `key` equals `value` (added to the other filters).
    pub fn filter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.filters.insert(key.into(), value.into());
        self
    }

    /// Sets how many chunks to retrieve (1 to 20).
    pub fn top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }
}

impl ApiCall for Query {
    type Output = QueryAnswer;
    const OPERATION: Operation = Operation::Query;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        if self.question.trim().is_empty() {
            found.push(Problem::new("question", "question must not be empty", rows::JACK_400));
        }
        if let Some(top_k) = self.top_k.filter(|k| !TOP_K.contains(k)) {
            found.push(Problem::new(
                "top_k",
                format!("top_k is {top_k}; jack takes 1 to 20"),
                rows::JACK_422,
            ));
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[]).json(self).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<QueryAnswer, DecodeError> {
        decode::json(Some(Operation::Query), &response)
    }
}

/// jack's answer to a query. `answer` is required; the rest may be missing or `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryAnswer {
    /// The answer.
    pub answer: String,
    /// The chunks the answer rests on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub citations: Vec<Citation>,
    /// The organisation.
    #[serde(default)]
    pub org_id: Option<String>,
}

/// A chunk an answer cites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// The chunk's text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub text: String,
    /// Where it comes from (a file name or document reference, as jack reports it).
    #[serde(default)]
    pub source: Option<String>,
    /// Its relevance score.
    #[serde(default)]
    pub score: Option<f64>,
}
