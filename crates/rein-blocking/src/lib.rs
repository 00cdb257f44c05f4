//! rein's blocking adapter: clients for Jockey and jack that run rein-core's machines with a
//! real clock, `std::thread::sleep` and ureq.
//!
//! Everything rein decides (what to send, whether to retry, how long to wait, when a wait is
//! over) is decided by `rein-core`; this crate moves bytes and waits. See [`Jockey`] and
//! [`Jack`] for the clients, [`Transport`] for plugging in another HTTP stack, and
//! [`CancelToken`] for stopping a wait from another thread.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "ureq")]
mod body_reader;
mod cancel;
mod client;
mod driver;
mod files;
mod jack;
mod jockey;
mod pages;
mod stream;
mod transport;
#[cfg(feature = "ureq")]
mod ureq_transport;

pub use cancel::CancelToken;
pub use client::{ApiClient, ClientBuilder};
pub use driver::EventHook;
pub use files::file_source;
pub use jack::Jack;
pub use jockey::Jockey;
pub use pages::{PageIter, SearchIter};
pub use stream::ResponseStream;
pub use transport::{StreamingResponse, Transport};
#[cfg(feature = "ureq")]
pub use ureq_transport::UreqTransport;
