//! Every fuzz target, CI-sized: its seeds and a fixed number of mutated inputs from a fixed
//! seed, so a change to rein-core that breaks a target's property, or a target that stops
//! compiling against rein-core, fails `cargo test`. `cargo xtask fuzz` runs the long version.

use rein_fuzz::runner::{self, escaped};
use rein_fuzz::{target, TARGETS};

/// Mutated inputs per target: a few seconds each in a debug build.
const RUNS: u64 = 20_000;
const SEED: u64 = 20_261_202;

fn fuzz(name: &str) {
    let t = target(name).expect("a target of that name");
    let report = runner::run(t, RUNS, SEED, None, false);
    if let Some(c) = report.crashes.first() {
        panic!(
            "{name} crashed at execution {} (seed {SEED}): {}\nminimized input: \"{}\"\n{}",
            c.execution,
            c.message,
            escaped(&c.minimized),
            c.minimized_message
        );
    }
    assert_eq!(report.executions, RUNS);
}

#[test]
fn error_decoder() {
    fuzz("error_decoder");
}

#[test]
fn retry_after() {
    fuzz("retry_after");
}

#[test]
fn sse() {
    fuzz("sse");
}

#[test]
fn pagination() {
    fuzz("pagination");
}

#[test]
fn request_validation() {
    fuzz("request_validation");
}

#[test]
fn every_target_is_tested_here() {
    let here = include_str!("targets.rs");
    for t in TARGETS {
        assert!(here.contains(&format!("fn {}()", t.name)), "no test runs {}", t.name);
    }
}

#[test]
fn every_seed_passes_every_target() {
    // A seed of one target is an odd input to another: fine, and a cheap extra check.
    for t in TARGETS {
        for other in TARGETS {
            for seed in rein_fuzz::corpus::seeds(other.name) {
                if let Err(message) = runner::execute(&t, &seed) {
                    panic!(
                        "{} on a seed of {}: {message}\n\"{}\"",
                        t.name,
                        other.name,
                        escaped(&seed)
                    );
                }
            }
        }
    }
}
