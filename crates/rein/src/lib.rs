//! rein: an SDK for Twelve Labs' **Jockey** API (assets, knowledge stores, knowledge store items,
//! responses) and the **jack** API (document ingest, documents, query) that gets errors, rate
//! limits, retries and polling right, so you never write a retry loop or a polling loop.
//!
//! - `rein::blocking` (feature `blocking`, on by default): [`blocking::Jockey`] and
//!   [`blocking::Jack`] over ureq.
//! - `rein::asynchronous` (feature `async`): the same clients, the same names, over hyper-util and
//!   tokio; every call is `async`.
//!
//! Both run the same sans-IO core ([`rein_core`], re-exported here): requests validated before
//! they are sent, errors decoded into one [`Error`] with the references' fix hints, retries that
//! obey `Retry-After` and never outlive a deadline, one rate limiter per client, and waits that
//! poll at the references' intervals.
//!
//! ```no_run
//! # #[cfg(feature = "blocking")]
//! # fn main() -> Result<(), rein::Error> {
//! use rein::blocking::Jack;
//! use rein::jack::NewDocument;
//!
//! let jack = Jack::from_env()?; // JACK_API_KEY
//! let accepted = jack.ingest([NewDocument::new("Refunds take 5 days.")])?;
//! for id in &accepted.document_ids {
//!     jack.wait_for_document(id)?;
//! }
//! println!("{}", jack.query("How long do refunds take?")?.answer);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "blocking"))]
//! # fn main() {}
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use rein_core::*;

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
