//! Fuzz targets for rein-core: the error decoder, the `Retry-After` parser, the SSE decoder,
//! pagination decoding and request validation.
//!
//! Each target is a function taking arbitrary bytes. It drives public rein-core APIs with them
//! and asserts what must hold whatever the bytes: nothing panics, and a few cheap properties
//! (an error's status is the response's, excerpts stay bounded, a stream split anywhere decodes
//! as it does whole, an accepted request has a valid URI and headers). A failed property is a
//! panic, so both drivers see it as a crash:
//!
//! - cargo-fuzz (`fuzz/` at the workspace root, nightly): each `fuzz_targets/<name>.rs` calls the
//!   function of the same name with libFuzzer's input.
//! - the stable runner (`rein-fuzz <target|all> --runs N --seed S`, see [`runner`]): corpus-seeded
//!   mutation loops, deterministic by seed, with every panic caught and its input saved.
//!
//! `cargo xtask fuzz` picks whichever is installed. Seeds come from the repository's wire
//! fixtures, read in place, and from `corpus/<target>/` beside this file (see [`corpus`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod corpus;
pub mod mutate;
pub mod runner;
pub mod targets;

/// One fuzz target: a name (also its cargo-fuzz target's) and the function that checks an input.
#[derive(Clone, Copy, Debug)]
pub struct FuzzTarget {
    /// The target's name, as `cargo xtask fuzz --target` and `cargo fuzz run` take it.
    pub name: &'static str,
    /// What the target checks, in a line.
    pub about: &'static str,
    /// Runs one input; panics when a property fails.
    pub run: fn(&[u8]),
}

/// Every target, in the order `all` runs them.
pub const TARGETS: [FuzzTarget; 5] = [
    FuzzTarget {
        name: "error_decoder",
        about: "decode::api_error on raw responses: status kept, text bounded and scrubbed",
        run: targets::error_decoder::run,
    },
    FuzzTarget {
        name: "retry_after",
        about: "retry_after::parse and its parts: never undercut, never beyond the year 9999",
        run: targets::retry_after::run,
    },
    FuzzTarget {
        name: "sse",
        about: "sse::EventStream and the typed stream decoder: split anywhere = fed whole",
        run: targets::sse::run,
    },
    FuzzTarget {
        name: "pagination",
        about: "list and search decoders, Page/Token walks: Ok or a bounded DecodeError, walks end",
        run: targets::pagination::run,
    },
    FuzzTarget {
        name: "request_validation",
        about: "validate and to_request of jack and Jockey calls: Ok means a well-formed request",
        run: targets::request_validation::run,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static FuzzTarget> {
    TARGETS.iter().find(|t| t.name == name)
}
