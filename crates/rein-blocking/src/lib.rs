//! rein's blocking adapter: clients for Jockey and jack that run rein-core's machines with ureq,
//! the system's clocks and the thread's sleep.
//!
//! Everything rein decides (what to send, whether to retry, how long to wait, when a wait is
//! over, which machine runs an endpoint) is decided by `rein-core`; this crate moves bytes and
//! waits. See [`Jockey`] and [`Jack`] for the clients, [`Transport`] for plugging in another
//! HTTP stack, and [`CancelToken`] for stopping a wait from another thread.
//!
//! # Testing without waiting
//!
//! A client takes its clock and its sleeper from the builder. Given a
//! [`ManualClock`](rein_core::ManualClock) as both (`manual_clock`), every wait moves the clock
//! on instead of sleeping: here a 429 asks for a minute, and the call completes at once, a minute later on
//! the clock.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use rein::blocking::Jack;
//! use rein::ManualClock;
//!
//! let clock = ManualClock::new();
//! let replies = std::sync::Mutex::new(vec![
//!     http::Response::new(Bytes::from(r#"{"org_id":"org_1","rate_limit_rpm":60}"#)),
//!     http::Response::builder().status(429).header("retry-after", "60").body(Bytes::new())?,
//! ]);
//! let jack = Jack::builder("jack_test_key")
//!     .transport(move |_req: http::Request<rein::core::Body>| {
//!         Ok(replies.lock().unwrap().pop().expect("a reply"))
//!     })
//!     .manual_clock(clock.clone()) // the client's clock, and its sleeper
//!     .build()?;
//! assert_eq!(jack.usage()?.org_id.as_deref(), Some("org_1"));
//! assert_eq!(clock.now().moment.since_origin(), Duration::from_secs(60));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "ureq")]
mod body_reader;
mod client;
mod driver;
mod time;
mod transport;
#[cfg(feature = "ureq")]
mod ureq_transport;

pub use client::{ClientBuilder, Jack, Jockey, PageIter, ResponseStream, SearchIter};
pub use driver::Items;
pub use rein_core::{CancelToken, EventHook};
pub use time::{Sleep, SystemClock};
pub use transport::{file_source, StreamingResponse, Transport};
#[cfg(feature = "ureq")]
pub use ureq_transport::UreqTransport;
