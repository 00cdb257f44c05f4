//! `rein`: the command for rein, an SDK for Twelve Labs' Jockey API and the jack API.
//!
//! `rein demo` runs both APIs' workflows against rein-emulator started in-process, with faults
//! on and time running fast, and narrates what rein handled: retries, rate-limit pauses, lost
//! answers found instead of created twice.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod narrate;

/// Exit codes (`rein --help` lists them; 2, a command line that cannot be read, is clap's).
mod exit {
    /// The command did what it was asked.
    pub(crate) const OK: u8 = 0;
    /// Something went wrong that is not one of the cases below (the emulator could not start).
    pub(crate) const FAILED: u8 = 1;
    /// The demo lost a result: a bug in rein.
    pub(crate) const LOST: u8 = 3;
}

/// What can stop a command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// rein refused or failed.
    #[error(transparent)]
    Rein(#[from] rein::Error),
    /// The emulator could not start.
    #[error("the emulator could not start: {0}")]
    Emulator(std::io::Error),
    /// A local file could not be written or read.
    #[error("{0}")]
    Io(std::io::Error),
}

#[derive(Debug, Parser)]
#[command(
    name = "rein",
    version,
    about = "rein: Jockey and jack, with errors, rate limits, retries and polling handled",
    after_help = "Exit codes: 0 done; 1 failed (the emulator could not start, a file could not be written); \
                  2 the command line could not be read; 3 the demo lost a result."
)]
struct Cli {
    /// Print only the summary.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Both APIs' whole workflows against an in-process emulator with faults on, narrated.
    Demo {
        /// Emulated seconds per real second.
        #[arg(long, default_value_t = demo::DEFAULT_SPEED)]
        speed: f64,
        /// The share of requests that meet a fault (0 to 1).
        #[arg(long, default_value_t = 0.1)]
        faults: f64,
        /// The emulator's seed: the same seed, the same faults.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// jack documents generated on top of the bundled ones.
        #[arg(long, default_value_t = 300)]
        documents: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { speed, faults, seed, documents } => {
            let options = demo::DemoOptions { speed, faults, seed, documents, quiet: cli.quiet };
            demo::run(&options).map(|lost| if lost == 0 { exit::OK } else { exit::LOST })
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("rein: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}
