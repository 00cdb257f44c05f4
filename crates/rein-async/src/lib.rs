//! rein's async adapter: clients for Jockey and jack that run rein-core's machines with
//! tokio's clock and sleeps and hyper-util's client.
//!
//! Everything rein decides (what to send, whether to retry, how long to wait, when a wait is
//! over) is decided by `rein-core`; this crate moves bytes and waits. The API is the blocking
//! adapter's, with `.await`: `rein::asynchronous::Jack::from_env()?.query("...").await` here is
//! `rein::blocking::Jack::from_env()?.query("...")` there. See [`Jockey`] and [`Jack`] for the
//! clients, [`Transport`] for plugging in another HTTP stack, and [`CancelToken`] for stopping
//! calls from another task.
//!
//! Where the blocking adapter returns an iterator, this one returns a
//! [`Stream`](futures_core::Stream) of the same items: [`PageStream`] (blocking's `PageIter`),
//! [`SearchStream`] (`SearchIter`) and [`ResponseStream`], all of them [`Items`]. Each fetches
//! only when polled, and each also has an inherent `next().await`, so no stream-extension crate
//! is needed.
//!
//! # Cancellation and time
//!
//! Dropping a call's future stops it at once: the machine goes with it, so nothing more is
//! sent. [`Jack::with_cancel`] attaches a [`CancelToken`] that wakes sleeping calls and makes
//! them return [`rein_core::Error::Cancelled`]; [`Jack::with_timeout`] gives each call and wait
//! a time budget. The clock is `tokio::time::Instant`, so `tokio::time::pause()` runs hours of
//! retries and polls in an instant in tests; a [`ManualClock`](rein_core::ManualClock) given as
//! both the clock and the sleeper does the same without tokio's clock.
//!
//! # Testing with a closure transport
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use rein::asynchronous::Jack;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), rein::Error> {
//! tokio::time::pause(); // waits take no real time
//! let jack = Jack::builder("jack_test_key")
//!     .transport(|_req: http::Request<rein::core::Body>| async {
//!         let body = r#"{"org_id":"org_1","rate_limit_rpm":60}"#;
//!         Ok(http::Response::new(Bytes::from(body)))
//!     })
//!     .build()?;
//! let usage = jack.usage().await?;
//! assert_eq!(usage.org_id.as_deref(), Some("org_1"));
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "hyper")]
mod body_stream;
mod client;
mod driver;
#[cfg(feature = "hyper")]
mod hyper_transport;
mod time;
mod transport;

pub use client::{ClientBuilder, Jack, Jockey, PageStream, ResponseStream, SearchStream};
pub use driver::Items;
#[cfg(feature = "hyper")]
pub use hyper_transport::HyperTransport;
pub use rein_core::{CancelToken, EventHook};
pub use time::{AsyncSleep, TokioClock};
pub use transport::{file_source, BodyStream, StreamingResponse, Transport};
