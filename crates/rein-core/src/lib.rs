//! The sans-IO core of rein, an SDK for Twelve Labs' Jockey API and the jack API.
//!
//! Everything rein decides is decided here, as pure functions and state machines that take the
//! time as an argument and return the next step: which request to send, how long to wait, and
//! when the work is done. The core never opens a socket, reads a clock, sleeps or spawns; the
//! `rein-blocking` and `rein-async` adapters do that, each with one loop that answers the steps
//! of any machine.
//!
//! ```text
//!   caller ──▶ machine.poll(now) ──▶ Step::Acquire ── rate limiter ── answer(slot) ──┐
//!      ▲            ▲              ──▶ Step::Send    ── transport ──── answer(reply) ─┤
//!      │            │              ──▶ Step::Sleep   ── sleep until ── wake() ────────┤
//!      │            └──────────────────────────────── the machine, back ◀────────────┘
//!      └─────────── Step::Done(result)
//! ```
//!
//! A machine is driven by value (see [`machine`]): each step that wants an answer holds it, so
//! it cannot be polled, or answered, out of turn.
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
//! use rein::core::{Api, Call, Machine, Now, Operation, RetryPolicy, Step, Target};
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
//! let mut transport = |_req: http::Request<rein::core::Body>| Ok(replies.next().expect("a reply"));
//!
//! let mut now = Now::fake(0.0);
//! let mut call = Call::new(request, RetryPolicy::for_api(Api::Jack));
//! let response = loop {
//!     call = match call.poll(now) {
//!         Step::Send(exchange) => {
//!             let (request, awaiting) = exchange.send(now);
//!             awaiting.answer(transport(request), now)
//!         }
//!         Step::Sleep(sleep) => {
//!             now = now.advanced_to(sleep.until); // a fake clock: no real sleep
//!             sleep.wake()
//!         }
//!         Step::Done(result) => break result?,
//!         _ => unreachable!("a call without a rate limiter neither acquires nor reads"),
//!     };
//! };
//! assert_eq!(response.status(), 200);
//! assert_eq!(now.moment.since_origin(), Duration::from_secs(2)); // the Retry-After, exactly
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//!
//! - [`machine`]: [`Machine`] and [`Step`], the contract with drivers.
//! - [`call`]: the [`Call`] machine; [`retry`]: its [`RetryPolicy`]; [`backoff`] and
//!   [`retry_after`]: waits.
//! - [`wait`]: the [`Wait`] machine and its presets; [`reconcile`]: [`CreateOnce`];
//!   [`listing`]: [`Listing`]; [`jack::IngestMany`] and [`jockey::OpenResponse`] for the rest.
//! - [`runner`]: the [`Runner`], which builds each endpoint's machine and runs it under a client's
//!   handle; [`api_call`]: [`ApiCall`], every endpoint and the plan that runs it.
//! - [`limiter`]: the rate limit; [`cancel`]: [`CancelToken`]; [`event`]: [`Event`]s.
//! - [`error`]: the one [`Error`] type; [`decode`]: error bodies of both dialects, totally;
//!   [`hint`]: the references' cause/fix tables; [`api`]: every [`Operation`].
//! - [`request`], [`target`] and [`body`]: requests as values, bodies as descriptions.
//! - [`time`]: [`Moment`] and [`Now`], the only clocks the core knows, and the [`Clock`] trait.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod api_call;
pub mod backoff;
pub mod body;
pub mod call;
pub mod cancel;
pub mod clients;
pub mod config;
pub mod decode;
pub mod error;
pub mod event;
pub mod fleet;
pub mod hint;
pub mod jack;
pub mod jockey;
pub mod limiter;
pub mod listing;
pub mod machine;
mod open_enum;
pub mod pages;
pub mod reconcile;
pub mod request;
pub mod retry;
pub mod retry_after;
pub mod runner;
pub mod scrub;
pub mod shared_limit;
pub mod sse;
pub mod status;
pub mod target;
pub mod time;
pub mod trace;
pub mod wait;

pub use api::{Api, Endpoint, Operation};
pub use api_call::ApiCall;
pub use backoff::{Backoff, Jitter, Random, SeedSequence, SplitMix64};
pub use body::{Body, FileRange, FileSource, Multipart, PartContent, Segment};
pub use call::Call;
pub use cancel::CancelToken;
pub use config::{ClientConfig, Settings};
pub use error::{
    ApiError, BodyShape, DeadlineExceeded, DecodeError, Error, ErrorKind, Problem, RateLimited,
    ResourceFailed, TransportError, TransportErrorKind, TransportFailure, UploadInterrupted,
    ValidationError, WaitRefused, WaitTimedOut,
};
pub use event::{Event, EventHook, Events, FleetProgress};
pub use fleet::{Finished, Fleet, FleetReport, FleetWait, Outcome};
pub use hint::Hint;
pub use jack::DocumentId;
pub use jockey::{AssetId, ItemId, KnowledgeStoreId};
pub use limiter::{Advertised, Ask, Limiter, Priority, RateLimit, Report, Window};
pub use listing::{Listing, PageWalk, TokenWalk};
pub use machine::{Machine, Step, Stop};
pub use reconcile::{CreateOnce, Reconcile};
pub use request::{Request, Truncated};
pub use retry::{RetryPolicy, RetryReason};
pub use runner::{Run, Runner};
pub use shared_limit::{AsyncSharedLimit, BoxFuture, SharedLimit};
pub use status::{Phase, Pollable};
pub use target::{ApiKey, Target};
pub use time::{Clock, Human, ManualClock, Moment, Now, ScaledClock};
pub use wait::{Wait, WaitPolicy, Waitable};
