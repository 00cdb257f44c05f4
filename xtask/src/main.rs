//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `cargo xtask ci`: everything CI checks: formatting, clippy with warnings denied, every
//!   test (the architecture's boundary checks among them), the docs with warnings denied.
//! - `cargo xtask bench`: the benchmarks of docs/benchmarks.md, in release.
//! - `cargo xtask sim`: the Fleet scenarios of docs/benchmarks.md, in virtual time; with
//!   `--campaign N --seed S`, the seeded fault campaigns of docs/reliability.md.

#![forbid(unsafe_code)]

use std::process::ExitCode;

mod bench;
mod boundaries;
mod ci;
mod fuzz;
mod package;
mod sim;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("sim") => sim::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("boundaries") => boundaries::run(),
        Some("package") => package::run(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci           fmt check, clippy -D warnings, every test (boundary checks included), docs -D warnings
  bench        rein vs bare HTTP clients on the same GET (ratios), and peak memory of a 200 MB upload
  sim          Fleet, the references' pattern and naive polling, in virtual time [--json] [--short] [--seed N]
               --campaign N [--seed S] [--only I]: N seeded fault scenarios, invariants checked
  fuzz         every fuzz target for N runs, under cargo-fuzz when installed, else as loops on stable
               [--runs N] [--target T] [--seed S] [--stable] [--keep-going]
  boundaries   only the boundary checks of docs/architecture.md (also #[test]s of xtask)
  package      publish metadata checked, then `cargo package` of every published crate, verified [ARGS...]
";

pub(crate) type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The workspace root (xtask lives one level below it).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
