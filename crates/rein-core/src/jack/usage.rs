//! Usage: the organisation's query counts and its rate limit.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::decode;
use crate::error::{DecodeError, Error, ValidationError};
use crate::request::Request;
use crate::target::Target;

use super::lenient::null_as_default;

/// `GET /v1/usage`: query counts over the last period, and the rate limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetUsage {}

impl GetUsage {
    /// Reads usage.
    pub fn new() -> Self {
        GetUsage {}
    }
}

impl ApiCall for GetUsage {
    type Output = Usage;
    const OPERATION: Operation = Operation::Usage;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Usage, DecodeError> {
        decode::json(Some(Operation::Usage), &response)
    }
}

/// The organisation's usage. Every field may be missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The organisation.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The period covered, in days (30).
    #[serde(default)]
    pub period_days: Option<u32>,
    /// Queries in the period.
    #[serde(default)]
    pub total_queries: Option<u64>,
    /// Queries per day.
    #[serde(default, deserialize_with = "null_as_default")]
    pub daily: Vec<DailyUsage>,
    /// The rate limit, in requests per minute (60).
    #[serde(default)]
    pub rate_limit_rpm: Option<u32>,
}

/// Queries on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyUsage {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Queries that day.
    #[serde(default, deserialize_with = "null_as_default")]
    pub count: u64,
}
