//! The request log: one entry per request to either API or to a presigned chunk URL (and one
//! per landing of a request a slow proxy answered for), readable by tests (from the model, from a running server, or as
//! JSON at `GET /_emulator/log`).

use std::collections::VecDeque;

use http::Method;
use rein_core::{Api, Moment};
use serde_json::{json, Value};

use crate::faults::FaultKind;
use crate::presigned::PRESIGNED_PREFIX;

/// One request as the emulator saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// 1 for the first request, then counting up (kept when old entries are dropped).
    pub seq: u64,
    /// The API the path belongs to, if any (`None` for a chunk `PUT` to a presigned URL: the
    /// storage, not the API).
    pub api: Option<Api>,
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The status answered (for a reset connection, the status that was not sent; 0 when
    /// nothing was processed).
    pub status: u16,
    /// Emulated time of arrival.
    pub at: Moment,
    /// Whether the request changed the emulator's state (created, changed or deleted something).
    pub state_changed: bool,
    /// The fault injected, if any.
    pub fault: Option<FaultKind>,
    /// The wait the response asked for (`Retry-After`, in emulated time), if any.
    pub retry_after: Option<std::time::Duration>,
    /// For the landing of a request a slow proxy answered for (carried out later, with no client
    /// waiting for its answer): the `seq` of the entry of its arrival. `None` for a request.
    pub landing_of: Option<u64>,
    /// Whether the request carried an API credential (an `x-api-key` or `Authorization`
    /// header, valid or not): a chunk `PUT` to a presigned URL should carry neither.
    pub carried_api_key: bool,
}

impl LogEntry {
    /// The entry of a request arriving at `at`, before it is answered: no status, no fault,
    /// no API yet.
    pub(crate) fn arrival(parts: &http::request::Parts, path: &str, at: Moment) -> Self {
        LogEntry {
            seq: 0,
            api: None,
            method: parts.method.clone(),
            path: path.to_owned(),
            status: 0,
            at,
            state_changed: false,
            fault: None,
            retry_after: None,
            landing_of: None,
            carried_api_key: carries_api_key(&parts.headers),
        }
    }

    /// Whether the request went to a presigned chunk URL (`/_presigned/...`).
    pub fn is_presigned(&self) -> bool {
        self.path.starts_with(PRESIGNED_PREFIX)
    }

    /// The entry as JSON: `{seq, api, method, path, status, at_ms, state_changed, fault,
    /// retry_after_ms, landing_of, carried_api_key}`.
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "api": self.api.map(Api::name),
            "method": self.method.as_str(),
            "path": self.path,
            "status": self.status,
            "at_ms": self.at.since_origin().as_millis() as u64,
            "state_changed": self.state_changed,
            "fault": self.fault.map(FaultKind::name),
            "retry_after_ms": self.retry_after.map(|d| d.as_millis() as u64),
            "landing_of": self.landing_of,
            "carried_api_key": self.carried_api_key,
        })
    }
}

/// Whether `headers` carry an API credential: `x-api-key` or `Authorization`.
pub(crate) fn carries_api_key(headers: &http::HeaderMap) -> bool {
    headers.contains_key("x-api-key") || headers.contains_key(http::header::AUTHORIZATION)
}

/// A bounded log of requests, oldest first.
#[derive(Clone, Debug)]
pub struct RequestLog {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    next_seq: u64,
}

impl RequestLog {
    /// An empty log that keeps at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        RequestLog { entries: VecDeque::new(), capacity: capacity.max(1), next_seq: 1 }
    }

    /// Adds `entry`, numbered; returns its `seq`.
    pub(crate) fn push(&mut self, mut entry: LogEntry) -> u64 {
        let seq = self.next_seq;
        entry.seq = seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        seq
    }

    /// The entries kept, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &LogEntry> + '_ {
        self.entries.iter()
    }

    /// The entries kept, as a vector.
    pub fn to_vec(&self) -> Vec<LogEntry> {
        self.entries.iter().cloned().collect()
    }

    /// How many entries were logged in all (dropped entries included).
    pub fn total(&self) -> u64 {
        self.next_seq - 1
    }

    /// How many kept entries have this method and path.
    pub fn count(&self, method: &Method, path: &str) -> usize {
        self.entries.iter().filter(|e| e.method == method && e.path == path).count()
    }

    /// The kept entries with `seq` greater than `after`, as a JSON array.
    pub fn to_json(&self, after: u64) -> Value {
        Value::Array(self.entries.iter().filter(|e| e.seq > after).map(LogEntry::to_json).collect())
    }
}
