//! rein-emulator: a faithful local Jockey + jack server with fault injection.
//!
//! stub docs
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod clock;
pub mod config;
pub mod faults;
pub mod jack;
pub mod jockey;
mod lifecycle;
pub mod limiter;
pub mod log;
pub mod model;
pub mod multipart;
mod query;
pub mod server;
mod wire;

pub use clock::{Clock, ManualClock, ScaledClock};
pub use config::{Config, Span, Timing, DEMO_JACK_KEY, DEMO_JACK_ORG_ID, DEMO_JOCKEY_KEY};
pub use faults::{FaultKind, FaultPlan};
pub use log::{LogEntry, RequestLog};
pub use model::{Emulator, Reply, UnreadBody, WireFault, CONTROL_PREFIX};
pub use server::{serve, spawn, RunningServer, ServerConfig, Shared};
