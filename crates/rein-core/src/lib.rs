//! The sans-IO core of rein, an SDK for Twelve Labs' Jockey API and the jack API.
//!
//! Everything rein decides is decided here, as pure functions and state machines that take the
//! time as an argument and return the next step: which request to send, how long to wait, and
//! when the work is done. The core never opens a socket, reads a clock, sleeps or spawns; the
//! `rein-blocking` and `rein-async` adapters do that, in a dozen lines each.
//!
//! ```text
//!   caller ──────▶ Call::poll(now) ──▶ Step::Send(request) ──▶ transport ──┐
//!      ▲                  ▲                                                │
//!      │                  └── Call::handle(outcome, now) ◀─────────────────┘
//!      │                  ▲
//!      │                  └── Step::Wait(until) ──▶ sleep until `until`, poll again
//!      └───────────────────── Step::Done(result)
//! ```
//!
//! # Driving a call
//!
//! A transport is anything that turns a request into a response; here a closure stands in for
//! the server (a 429 with `Retry-After: 2`, then a 200) and a fake clock jumps straight to each
//! wake-up, so the two-second wait takes no time at all.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use rein_core::{Api, Call, Now, Operation, RetryPolicy, Step, Target};
//!
//! let target = Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_demo_key")?;
//! let request = target.request(Operation::Usage, &[]).build()?;
//!
//! let mut replies = vec![
//!     http::Response::builder().status(429).header("retry-after", "2")
//!         .body(Bytes::from_static(br#"{"detail":"Rate limit exceeded"}"#))?,
//!     http::Response::builder().status(200)
//!         .body(Bytes::from_static(br#"{"org_id":"org_1","rate_limit_rpm":60}"#))?,
//! ].into_iter();
//! let mut transport = |_req: http::Request<rein_core::Body>| Ok(replies.next().expect("a reply"));
//!
//! let mut now = Now::fake(0.0);
//! let mut call = Call::new(request, RetryPolicy::for_api(Api::Jack));
//! let response = loop {
//!     match call.poll(now) {
//!         Step::Send(req) => {
//!             let outcome = transport(req);
//!             call.handle(outcome, now);
//!         }
//!         Step::Wait(until) => now = now.advanced_to(until), // a fake clock: no real sleep
//!         Step::Done(result) => break result?,
//!     }
//! };
//! assert_eq!(response.status(), 200);
//! assert_eq!(now.moment.since_origin(), Duration::from_secs(2)); // the Retry-After, exactly
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//!
//! - [`error`]: the one [`Error`] type; [`decode`]: error bodies of both dialects, totally.
//! - [`retry`]: the [`Call`] machine and [`RetryPolicy`]; [`backoff`] and [`retry_after`]: waits.
//! - [`hint`]: the references' cause/fix tables; [`api`]: every [`Operation`].
//! - [`request`], [`target`] and [`body`]: requests as values, bodies as descriptions.
//! - [`time`]: [`Moment`] and [`Now`], the only clocks the core knows.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod backoff;
pub mod body;
pub mod call;
pub mod config;
pub mod decode;
pub mod error;
pub mod hint;
pub mod jack;
pub mod jockey;
pub mod limiter;
mod open_enum;
pub mod pages;
pub mod reconcile;
pub mod request;
pub mod retry;
pub mod retry_after;
pub mod sse;
pub mod status;
pub mod target;
pub mod time;
pub mod wait;

pub use api::{Api, Endpoint, Operation};
pub use backoff::{Backoff, Jitter, Random, SeedSequence, SplitMix64};
pub use body::{Body, FileSource, Multipart, PartContent, Segment};
pub use call::ApiCall;
pub use config::{ClientConfig, EventHook};
pub use error::{
    ApiError, BodyShape, DeadlineExceeded, DecodeError, Error, ErrorKind, RateLimited,
    ResourceFailed, TransportError, TransportErrorKind, TransportFailure, ValidationError,
    WaitRefused, WaitTimedOut,
};
pub use hint::Hint;
pub use limiter::{Limiter, RateLimit, Window};
pub use reconcile::{CreateOnce, Reconcile};
pub use request::Request;
pub use retry::{Call, Event, Machine, RetryPolicy, RetryReason, Step};
pub use status::{Phase, Pollable};
pub use target::{ApiKey, Target};
pub use time::{Moment, Now};
pub use wait::{Wait, WaitPolicy};
