//! Spans for a call (`rein.call`) and for each of its attempts (`rein.attempt`), with the
//! `tracing` feature; without it they are nothing, and cost nothing. Drivers run their IO inside
//! them ([`Span::in_scope`], [`Span::instrument`]), so a subscriber sees how long each attempt
//! and each call took; every [`Event`](crate::Event) is logged inside them.

use std::future::Future;

use crate::api::Operation;
use crate::body::Body;

/// A span to run IO in.
#[derive(Clone, Debug)]
pub struct Span {
    #[cfg(feature = "tracing")]
    inner: tracing::Span,
}

impl Default for Span {
    /// No span (with the feature, one that records nothing).
    fn default() -> Self {
        Span {
            #[cfg(feature = "tracing")]
            inner: tracing::Span::none(),
        }
    }
}

impl Span {
    /// The span of a call (or wait, create, listing) of `operation`.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn call(operation: Option<Operation>) -> Span {
        Span {
            #[cfg(feature = "tracing")]
            inner: tracing::info_span!("rein.call", operation = ?operation),
        }
    }

    /// The span of one attempt, sending `request`.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn attempt(request: &http::Request<Body>) -> Span {
        Span {
            #[cfg(feature = "tracing")]
            inner: tracing::debug_span!(
                "rein.attempt",
                method = %request.method(),
                path = request.uri().path()
            ),
        }
    }

    /// Runs `work` inside the span.
    pub fn in_scope<T>(&self, work: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        return self.inner.in_scope(work);
        #[cfg(not(feature = "tracing"))]
        work()
    }

    /// `work`, inside the span whenever it is polled.
    pub fn instrument<F: Future>(&self, work: F) -> impl Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(work, self.inner.clone());
        #[cfg(not(feature = "tracing"))]
        work
    }
}
