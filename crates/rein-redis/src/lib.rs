//! One rate budget for every process and machine of an organisation, kept in Redis.
//!
//! jack allows 60 requests per minute per organisation, and Twelve Labs sums its limits over
//! all of an organisation's keys: workers that each keep their own window send more than the
//! organisation may, and every one of them pays for the others' 429s. Given a limiter from this
//! crate (`shared_limiter` on a client's builder), every client that names the same Redis and
//! namespace draws from one budget:
//!
//! - one atomic Lua script per request takes a slot from a sliding window measured by Redis's
//!   own clock (`TIME`), so that the machines' clocks never matter;
//! - a 429 seen by any process pauses every process of the budget until its `Retry-After` (a key
//!   that expires with the wait; pauses only extend);
//! - interactive calls keep their reserved share of each window from bulk work (fleet polls,
//!   split ingests), across all processes together;
//! - keys are `rein:{api}:{namespace}:{window,pause,seq}`, with the namespace you choose (an
//!   organisation's name): never the API key, nor anything made from one.
//!
//! When Redis cannot be reached or answers slowly (each acquisition is bounded as a whole, 200 ms
//! by default), a process keeps to a conservative local share of each window (a quarter
//! by default: [`Budget::fallback_share`]), says so once through the client's event hook
//! ([`Event::SharedBudgetUnavailable`](rein_core::Event::SharedBudgetUnavailable)), asks Redis
//! again every second, and rejoins the shared budget when it answers
//! ([`Event::SharedBudgetRejoined`](rein_core::Event::SharedBudgetRejoined)). A request never
//! hangs on Redis.
//!
//! Features: `blocking` (the default) gives [`RedisLimiter`], over synchronous connections;
//! `async` gives [`AsyncRedisLimiter`], over one multiplexed tokio connection. Both run the same
//! scripts and the same fallback rules.
//!
//! ```no_run
//! # #[cfg(feature = "blocking")] {
//! use rein::blocking::Jack;
//! use rein_redis::{Budget, RedisLimiter};
//!
//! // Every worker of every machine: the same Redis, the same namespace.
//! let budget = Budget::new("redis://10.0.0.5:6379/", "acme")?.fallback_share(1.0 / 8.0);
//! let jack = Jack::builder(std::env::var("JACK_API_KEY")?)
//!     .shared_limiter(RedisLimiter::new(budget))
//!     .on_event(|event| eprintln!("{event}")) // says when Redis goes away and comes back
//!     .build()?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What a process heard on its own still holds it, asked before Redis: the pauses of 429s it
//! met, limits a server advertised in its headers, and the limit learned from 429s where the
//! budget sets no window; these are not shared (the pause is also written to Redis). Keys are
//! plain keys, not Redis Cluster hash tags: point every worker at one Redis (or one primary).
//! Redis 3.2 or newer; no TLS (`rediss://`) yet.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "async")]
mod asynchronous;
#[cfg(feature = "blocking")]
mod blocking;
mod budget;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use asynchronous::AsyncRedisLimiter;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub use blocking::RedisLimiter;
pub use budget::{Budget, DEFAULT_FALLBACK_SHARE, DEFAULT_RETRY_EVERY, DEFAULT_TIMEOUT};

/// What can go wrong setting a budget up. Nothing goes wrong later: a Redis that does not
/// answer is worked around (a local share), never an error of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The namespace cannot name a budget.
    Namespace {
        /// The namespace (only its start, if it may be a key).
        namespace: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The Redis URL does not parse.
    Url {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Namespace { namespace, problem } => write!(
                f,
                "the budget namespace {namespace:?} cannot be used: {problem}. Fix: name the \
                 organisation (letters, digits, '.', '_', '-'; never an API key)"
            ),
            Error::Url { reason } => write!(
                f,
                "the Redis URL is not valid: {reason}. Fix: redis://[:password@]host[:port][/db]"
            ),
        }
    }
}

impl std::error::Error for Error {}
