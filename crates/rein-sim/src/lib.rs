//! rein-sim: rein's Fleet and the alternatives, run against rein-emulator's model in virtual
//! time, with what each costs and how soon it knows.
//!
//! Each run builds a [`World`](world::World) (the emulator's model behind a transport, on
//! tokio's paused clock), sets up its [`Scenario`], and lets one [`Strategy`] wait: rein (the
//! real async client, its machines and its driver), the references' documented pattern as
//! written, or naive polling of every id. The [`Row`] says what it sent, what the server
//! refused, what the caller lost, how long it took against the floor any client would need, and
//! how late it noticed each end. Hours of virtual time take seconds; the same seed gives the
//! same rows.
//!
//! ```
//! use rein_sim::{run, Scenario, Strategy};
//!
//! let row = run(Scenario::Documents { count: 20 }, Strategy::Rein, 1);
//! assert_eq!(row.lost, 0);
//! assert_eq!(row.rate_limited, 0);
//! assert!(row.makespan >= row.floor);
//! ```

#![forbid(unsafe_code)]

pub mod campaign;
pub mod scenario;
pub mod strategy;
pub mod world;

pub use scenario::{run, Row, Scenario, Strategy};
