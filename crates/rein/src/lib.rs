//! rein: an SDK for Twelve Labs' **Jockey** API (assets, knowledge stores, knowledge store items,
//! responses) and the **jack** API (document ingest, documents, query) that gets errors, rate
//! limits, retries and polling right, so you never write a retry loop or a polling loop.
//!
//! - [`blocking`] (feature `blocking`, on by default): [`blocking::Jockey`] and
//!   [`blocking::Jack`] over ureq.
//! - [`asynchronous`] (feature `async`): the same clients, the same methods, over hyper-util and
//!   tokio; every call is `async`.
//! - [`jockey`] and [`jack`]: every request and model of the two APIs; [`Error`] and the policies
//!   ([`RetryPolicy`], [`WaitPolicy`], [`Window`]) at the top; [`core`]: the sans-IO machinery
//!   under the clients, for those who drive it themselves.
//!
//! ```no_run
//! # #[cfg(feature = "blocking")]
//! # fn main() -> Result<(), rein::Error> {
//! use rein::blocking::Jack;
//! use rein::jack::NewDocument;
//!
//! let jack = Jack::from_env()?; // JACK_API_KEY (and JACK_BASE_URL to point elsewhere)
//! let accepted = jack.ingest([NewDocument::new("Refunds take 5 days.")])?;
//! for id in &accepted.document_ids {
//!     jack.wait_for_document(id)?; // every 5 s, up to 120 s; `failed` is an error
//! }
//! println!("{}", jack.query("How long do refunds take?")?.answer);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "blocking"))]
//! # fn main() {}
//! ```
//!
//! Every call validates its request before sending (nothing is spent on a request the API would
//! refuse), retries 429s after their `Retry-After` and 5xx with jittered backoff inside a
//! deadline, shares one rate limiter per client (or, with `rein-redis`, one budget for every
//! process of an organisation: `shared_limiter`), finds a create whose answer was lost instead of
//! sending it twice, and fails with one [`Error`] that carries the references' fix hint and a
//! message safe to show end users.
//!
//! # Against the emulator
//!
//! `rein-emulator` serves both APIs locally, faster than real time (`--speed 60`: a minute
//! passes in a second). One setting makes a client keep up: [`time_scale`], the emulator's
//! speed, runs the client's whole policy (retries, `Retry-After`, windows, poll intervals,
//! timeouts) on a clock as fast. A bare host as the base URL gets the API's prefix (`/v1.3` for Jockey, `/v1` for jack).
//!
//! [`time_scale`]: blocking::ClientBuilder::time_scale
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! use rein::blocking::Jack;
//! use rein_emulator::{spawn, Clock, Config, ServerConfig, DEMO_JACK_KEY};
//!
//! let emulator = ServerConfig { clock: Clock::scaled(60.0), ..ServerConfig::for_tests(Config::default()) };
//! let server = spawn(emulator).expect("an emulator on a free loopback port");
//! let jack = Jack::builder(DEMO_JACK_KEY)
//!     .base_url(server.url())
//!     .time_scale(server.time_scale())
//!     .build()?;
//! assert_eq!(jack.usage()?.rate_limit_rpm, Some(60));
//! # }
//! # Ok::<(), rein::Error>(())
//! ```
//!
//! # Many resources at once
//!
//! `wait_all` waits on many assets, knowledge store items or documents as one [`Fleet`]: a list
//! request per sweep instead of a GET per id, paced as bulk work under the client's rate budget
//! (the caller's other calls keep a reserved share), and every id ends once, ready, failed,
//! timed out or an error, without stopping the others. `wait_each` hands the ends out as they
//! come; a fleet's [`checkpoint`](core::FleetWait::checkpoint) resumes after a restart.
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! use rein::blocking::Jack;
//! use rein::jack::NewDocument;
//! use rein::{Fleet, Outcome};
//! use rein_emulator::{spawn, Clock, Config, ServerConfig, DEMO_JACK_KEY};
//!
//! let emulator = ServerConfig { clock: Clock::scaled(60.0), ..ServerConfig::for_tests(Config::default()) };
//! let server = spawn(emulator).expect("an emulator on a free loopback port");
//! let jack = Jack::builder(DEMO_JACK_KEY).base_url(server.url()).time_scale(server.time_scale()).build()?;
//! let documents = (0..20).map(|i| NewDocument::new(format!("Note {i}: refunds take 5 days.")));
//! let accepted = jack.ingest(documents)?;
//! let report = jack.wait_all(Fleet::documents(accepted.document_ids))?;
//! assert_eq!(report.count(Outcome::Ready) + report.count(Outcome::Failed), 20);
//! # }
//! # Ok::<(), rein::Error>(())
//! ```
//!
//! # Errors
//!
//! One [`Error`] for everything, with what it takes to act on it: [`Error::hint`] (the
//! references' cause and fix), [`Error::user_message`] (safe to show end users: never the
//! server's raw text), [`Error::status`], [`Error::may_have_succeeded`] for a create whose
//! answer was lost.
//!
//! ```no_run
//! # #[cfg(feature = "blocking")] {
//! use rein::{blocking::Jack, Error, ErrorKind};
//!
//! let jack = Jack::from_env()?;
//! match jack.get_document("doc_1") {
//!     Ok(doc) => println!("{}", doc.status),
//!     Err(e) if e.api_error().is_some_and(|api| api.kind == ErrorKind::NotFound) => {
//!         println!("gone: {}", e.hint().map_or("", |h| h.fix));
//!     }
//!     Err(e) => eprintln!("{e}\n(shown to users: {})", e.user_message()),
//! }
//!
//! // A create whose answer was lost may have happened: look before sending it again.
//! match jack.ingest(["The second goal came in the 71st minute."]) {
//!     Ok(accepted) => println!("queued {:?}", accepted.document_ids),
//!     Err(e) if e.may_have_succeeded() => eprintln!("may be queued; list documents first: {e}"),
//!     Err(e) => eprintln!("not queued: {e}"),
//! }
//! # }
//! # Ok::<(), rein::Error>(())
//! ```
//!
//! # Retries and waits
//!
//! Every default comes from the references (429 and 5xx retried, `Retry-After` obeyed, jack's
//! 60 s after a 429 and 30 s before retrying a 500, jittered backoff, 5 attempts, a 600 s budget);
//! each is a field of [`RetryPolicy`]. A wait polls at its preset's interval, which is also a
//! floor ([`WaitPolicy`]).
//!
//! ```no_run
//! # #[cfg(feature = "blocking")] {
//! use std::time::Duration;
//! use rein::{blocking::Jockey, RetryPolicy, WaitPolicy};
//!
//! let mut retry = RetryPolicy::default();
//! retry.max_attempts = 3;
//! retry.timeout = Duration::from_secs(120);
//! let jockey = Jockey::builder("tlk_...").retry_policy(retry).build()?;
//! let slow = WaitPolicy::KNOWLEDGE_STORE_ITEM.timeout(Duration::from_secs(1200));
//! let item = jockey.wait_for_item_with("ks_1", "item_1", slow)?;
//! # }
//! # Ok::<(), rein::Error>(())
//! ```
//!
//! # Creates that happen once
//!
//! Neither API has idempotency keys, so rein tags every create (asset, knowledge store, item,
//! jack ingest) with a `rein_token` in the resource's metadata. When a create's answer is lost
//! (a timeout or reset after sending, a gateway's 502 or 504), rein looks for the token before
//! it ever sends the create again, so nothing is created twice. The token is visible in the
//! resource's metadata; `ClientBuilder::tag_creates(false)` turns it off (a lost answer is then
//! an error that says the create may have happened).
//!
//! # Events
//!
//! `ClientBuilder::on_event` takes a hook called for everything that happens inside calls:
//! requests sent, retries and why, rate-limit pauses, poll progress, lookups after lost answers,
//! batches of a split ingest. Events print as sentences.
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! use bytes::Bytes;
//! use rein::{blocking::Jack, Event};
//!
//! let replies = std::sync::Mutex::new(vec![
//!     http::Response::new(Bytes::from(r#"{"org_id":"org_1","rate_limit_rpm":60}"#)),
//!     http::Response::builder().status(503).header("retry-after", "1").body(Bytes::new()).unwrap(),
//! ]);
//! let jack = Jack::builder("jack_test_key")
//!     .transport(move |_req: http::Request<rein::core::Body>| Ok(replies.lock().unwrap().pop().unwrap()))
//!     .manual_clock(rein::ManualClock::new()) // no real waiting here: a sleep moves the clock on
//!     .on_event(|event: &Event| println!("{event}"))
//!     .build()?;
//! jack.usage()?; // prints "GET /v1/usage: attempt 1 failed (503); retrying in 1 s, as the server asked"
//! # }
//! # Ok::<(), rein::Error>(())
//! ```
//!
//! # Tracing
//!
//! With the `tracing` feature, every event is also a `tracing` event (retries, pauses and
//! throttling at `info`, the rest at `debug`), inside a `rein.call` span per call and a
//! `rein.attempt` span per request. Install any subscriber to see them:
//!
//! ```no_run
//! # #[cfg(feature = "blocking")] {
//! // Cargo.toml: rein = { version = "0.1", features = ["tracing"] }, tracing-subscriber = "0.3"
//! tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).init();
//! let jack = rein::blocking::Jack::from_env()?;
//! jack.usage()?; // a `rein.call` span, a `rein.attempt` span, an event per retry
//! # }
//! # Ok::<(), rein::Error>(())
//! ```
//!
//! # Testing your own code
//!
//! A client takes its transport, clock and sleeper from its builder. A closure is a transport;
//! `manual_clock(ManualClock::new())` makes every wait instant (the clock moves on instead);
//! and `rein_emulator::InProcess` answers with the emulator's model, in process, on that clock.
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! use std::sync::Arc;
//! use rein::{blocking::Jack, jack::NewDocument, ManualClock};
//! use rein_emulator::{Config, InProcess, DEMO_JACK_KEY};
//!
//! let clock = ManualClock::new();
//! let emulator = Arc::new(InProcess::new(Config::default(), clock.clone()));
//! let server = Arc::clone(&emulator); // the test keeps one, to read its log
//! let jack = Jack::builder(DEMO_JACK_KEY)
//!     .base_url("https://emulator")
//!     .transport(move |request| server.exchange(request))
//!     .manual_clock(clock.clone())
//!     .build()?;
//! let accepted = jack.ingest([NewDocument::new("Refunds take 5 days.")])?;
//! let doc = jack.wait_for_document(&accepted.document_ids[0])?; // a minute, in no time
//! assert_eq!(doc.status.as_str(), "ready");
//! # }
//! # Ok::<(), rein::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use rein_core::{fleet, jack, jockey, pages};
pub use rein_core::{
    Api, ApiError, ApiKey, AssetId, AsyncSharedLimit, Backoff, BodyShape, CancelToken,
    ClientConfig, DeadlineExceeded, DecodeError, DocumentId, Error, ErrorKind, Event, EventHook,
    Finished, Fleet, FleetProgress, FleetReport, Hint, ItemId, Jitter, KnowledgeStoreId, Limiter,
    ManualClock, Outcome, Priority, Problem, RateLimit, RateLimited, ResourceFailed, RetryPolicy,
    RetryReason, SharedLimit, TransportError, TransportErrorKind, TransportFailure,
    ValidationError, WaitPolicy, WaitRefused, WaitTimedOut, Window,
};
/// JSON, for what requests take as JSON (an ingestion schema, document metadata).
pub use serde_json;

/// The sans-IO core: the machines the clients run (`Call`, `Wait`, `CreateOnce`, `Listing`),
/// the `Machine` contract, time as values (`Moment`, `Now`), requests as values. For driving
/// machines by hand, or writing an adapter; the clients need none of it.
pub mod core {
    pub use rein_core::*;
}

/// Blocking clients (feature `blocking`).
#[cfg(feature = "blocking")]
pub mod blocking {
    pub use rein_blocking::*;
}

/// Async clients on tokio (feature `async`).
#[cfg(feature = "async")]
pub mod asynchronous {
    pub use rein_async::*;
}

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// docs/fleet.md's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/fleet.md")]
pub struct FleetDocDoctests;
