//! The stable runner: corpus-seeded mutation loops, without a nightly toolchain.
//!
//! Every seed runs as it is first; then each execution takes a seed (or, one time in four, one
//! of the last inputs made, so mutations stack deeper) and mutates it (see [`Mutator`]). There
//! is no coverage feedback: this is the loop libFuzzer runs minus its instrumentation, which
//! `cargo xtask fuzz` uses instead when cargo-fuzz and a nightly toolchain are installed.
//!
//! A panic is caught (`catch_unwind`), the run stops (or, told to keep going, goes on and keeps
//! the first input of each distinct panic location), the input is shrunk while it still panics
//! at the same place, and both are saved as `<target>-<execution>.bin` and `.min.bin`. The same
//! seed replays the same inputs, so a crash also replays with `--seed`.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::corpus;
use crate::mutate::Mutator;
use crate::FuzzTarget;

/// The longest input a mutation makes.
pub const MAX_INPUT: usize = 64 * 1024;

/// How a target's run went.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run, seeds included.
    pub executions: u64,
    /// Wall-clock time of the loop.
    pub elapsed: Duration,
    /// The seed of the run.
    pub seed: u64,
    /// How many inputs panicked.
    pub crashing_inputs: u64,
    /// The first input of each distinct panic location (the first of them stopped the run,
    /// unless it was told to keep going).
    pub crashes: Vec<Crash>,
}

impl Report {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// An input that made a target panic.
#[derive(Clone, Debug)]
pub struct Crash {
    /// Which execution it was (0-based; seeds first).
    pub execution: u64,
    /// The panic message, with its location.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
    /// The input shrunk while it still panics.
    pub minimized: Vec<u8>,
    /// The panic message of the shrunk input.
    pub minimized_message: String,
    /// Where the input was saved, if it was.
    pub saved: Option<PathBuf>,
}

thread_local! {
    /// Whether this thread is inside [`execute`], whose panics are caught and reported.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic caught on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that keeps the message of a panic inside
/// [`execute`] instead of printing it, and leaves every other panic to the previous hook.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `target` for `runs` executions (at least its seeds) drawn from `seed`, saving crash
/// inputs under `crash_dir` when given. The first crash stops the run, unless `keep_going`:
/// then every input runs, and the first input of each distinct panic location is kept.
pub fn run(
    target: &FuzzTarget,
    runs: u64,
    seed: u64,
    crash_dir: Option<&Path>,
    keep_going: bool,
) -> Report {
    let seeds = corpus::seeds(target.name);
    let mut mutator = Mutator::new(
        seed ^ crate::targets::sse::fnv1a(target.name.as_bytes()),
        corpus::dictionary(target.name),
        MAX_INPUT,
    );
    let mut recent: Vec<Vec<u8>> = Vec::with_capacity(64);

    let start = Instant::now();
    let mut executions = 0u64;
    let mut crashing_inputs = 0u64;
    // The first input of each distinct panic location.
    let mut found: Vec<(u64, String, Vec<u8>)> = Vec::new();
    let total = runs.max(seeds.len() as u64);
    while executions < total {
        let input = if (executions as usize) < seeds.len() {
            seeds[executions as usize].clone()
        } else {
            let mut input = if !recent.is_empty() && mutator.below(4) == 0 {
                recent[mutator.below(recent.len())].clone()
            } else {
                seeds[mutator.below(seeds.len())].clone()
            };
            mutator.mutate(&mut input, &seeds);
            input
        };
        let outcome = execute(target, &input);
        executions += 1;
        if let Err(message) = outcome {
            crashing_inputs += 1;
            if !found.iter().any(|(_, m, _)| place(m) == place(&message)) {
                found.push((executions - 1, message, input));
            }
            if keep_going {
                continue;
            }
            break;
        }
        if input.len() <= 8 * 1024 {
            if recent.len() < 64 {
                recent.push(input);
            } else {
                let i = mutator.below(recent.len());
                recent[i] = input;
            }
        }
    }
    let elapsed = start.elapsed();

    let crashes = found
        .into_iter()
        .map(|(execution, message, input)| {
            let (minimized, minimized_message) = minimize(target, &input, &message);
            let saved = crash_dir.and_then(|dir| {
                std::fs::create_dir_all(dir).ok()?;
                let path = dir.join(format!("{}-{execution}.bin", target.name));
                std::fs::write(&path, &input).ok()?;
                std::fs::write(path.with_extension("min.bin"), &minimized).ok()?;
                Some(path)
            });
            Crash { execution, message, input, minimized, minimized_message, saved }
        })
        .collect();
    Report { target: target.name, executions, elapsed, seed, crashing_inputs, crashes }
}

/// Where a panic happened (`panicked at FILE:LINE:COLUMN`), to tell crashes apart.
fn place(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first.split(':').take(3).collect::<Vec<_>>().join(":")
}

/// Runs one input, catching a panic as its message.
pub fn execute(target: &FuzzTarget, input: &[u8]) -> Result<(), String> {
    install_hook();
    LAST_PANIC.with(|p| p.borrow_mut().take());
    CATCHING.with(|c| c.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CATCHING.with(|c| c.set(false));
    outcome.map_err(|payload| {
        LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
    })
}

/// Shrinks `input` while it still panics at the same place as `message` says: chunks removed,
/// halving down to single bytes, within a bounded number of tries. Gives the shrunk input and
/// its panic message.
pub fn minimize(target: &FuzzTarget, input: &[u8], message: &str) -> (Vec<u8>, String) {
    let want = place(message);
    let mut best = input.to_vec();
    let mut best_message = message.to_owned();
    let mut tries = 0;
    let mut chunk = best.len().div_ceil(2).max(1);
    while chunk >= 1 && tries < 20_000 {
        let mut at = 0;
        let mut shrunk = false;
        while at < best.len() && tries < 20_000 {
            let end = (at + chunk).min(best.len());
            let candidate = [&best[..at], &best[end..]].concat();
            tries += 1;
            match execute(target, &candidate) {
                Err(m) if place(&m) == want => {
                    best = candidate;
                    best_message = m;
                    shrunk = true;
                }
                _ => at += chunk,
            }
        }
        if !shrunk {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    (best, best_message)
}

/// Where crashes are saved: `<target dir>/fuzz-crashes`.
pub fn default_crash_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("fuzz-crashes")
}

/// A byte string as readable text: printable ASCII as is, the rest escaped.
pub fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
