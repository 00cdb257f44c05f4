//! `rein`: the command for rein, an SDK for Twelve Labs' Jockey API and the jack API.
//!
//! `rein demo` runs both APIs' workflows against rein-emulator started in-process, with faults
//! on and time running fast, and narrates what rein handled: retries, rate-limit pauses, lost
//! answers found instead of created twice. `rein jack ...` works against jack itself (or
//! anything speaking it, given `--base-url`).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod demo;
mod jack;
mod jockey;
mod narrate;
mod output;

use output::{exit, Output};

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
    /// A file named on the command line could not be read.
    #[error("{path}: {error}", path = .0.display(), error = .1)]
    File(PathBuf, std::io::Error),
}

/// The flags every command takes.
#[derive(Debug, Clone)]
pub(crate) struct Global {
    /// Where both APIs are (`None`: each API's own, or `*_BASE_URL`).
    pub(crate) base_url: Option<String>,
    /// Each call's deadline, retries and waits included.
    pub(crate) timeout: Option<Duration>,
    /// The speed of an emulator the commands talk to (`REIN_TIME_SCALE`; 1 for the real APIs).
    pub(crate) time_scale: Option<f64>,
}

#[derive(Debug, Parser)]
#[command(
    name = "rein",
    version,
    about = "rein: Jockey and jack, with errors, rate limits, retries and polling handled",
    after_help = "Keys come from TWELVELABS_API_KEY (Jockey) and JACK_API_KEY (jack). Against an emulator, REIN_TIME_SCALE set to its speed keeps every wait in its time.\n\n\
Exit codes:\n  0  done\n  1  a local failure (a file, the emulator, a demo that lost a result)\n  2  the command line, the setup or the input was refused; nothing was sent\n  \
3  the API answered with an error\n  4  rate limited: the API asked for a longer wait than the call could make\n  \
5  out of time (the deadline of a call or a wait)\n  6  a create whose answer was lost: it may have gone through; check before repeating it"
)]
struct Cli {
    /// Point both APIs at another server (the emulator, a proxy); a URL with no path gets each
    /// API's own prefix.
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
    /// The deadline of each call, retries and waits included.
    #[arg(long, global = true, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Machine-readable output: one JSON document (errors too).
    #[arg(long, global = true)]
    json: bool,
    /// Print only results and errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// rein's `tracing` output on stderr: -v each call and retry, -vv each attempt too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
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
    /// Jockey: assets, knowledge stores, items, questions.
    #[command(subcommand)]
    Jockey(jockey::JockeyCommand),
    /// jack: ingest, documents, query, usage.
    #[command(subcommand)]
    Jack(jack::JackCommand),
    /// Runs the emulator standalone, with the flags of `rein-emulator` (`rein emulator --help`).
    #[command(disable_help_flag = true)]
    Emulator {
        /// `rein-emulator`'s flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(cli.json, cli.quiet);
    if cli.verbose > 0 {
        use tracing_subscriber::filter::LevelFilter;
        // -v: each call, its retries and pauses (rein's notable events); -vv: everything.
        let level = if cli.verbose == 1 { LevelFilter::INFO } else { LevelFilter::TRACE };
        let _ =
            tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(level).try_init();
    }
    let timeout = match cli.timeout {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            eprintln!("rein: --timeout takes a positive number of seconds, got {s}");
            return ExitCode::from(exit::USAGE);
        }
        other => other.map(Duration::from_secs_f64),
    };
    let time_scale = std::env::var("REIN_TIME_SCALE").ok().and_then(|s| s.parse().ok());
    let global = Global { base_url: cli.base_url, timeout, time_scale };
    if let Command::Emulator { args } = cli.command {
        let name = std::ffi::OsString::from("rein emulator");
        return rein_emulator::cli::run(std::iter::once(name).chain(args));
    }
    let result = match cli.command {
        Command::Emulator { .. } => Ok(exit::OK),
        Command::Demo { speed, faults, seed, documents } => {
            let options = demo::DemoOptions {
                speed,
                faults,
                seed,
                documents,
                quiet: cli.quiet,
                json: cli.json,
            };
            demo::run(&options).map(|lost| if lost == 0 { exit::OK } else { exit::FAILED })
        }
        Command::Jockey(command) => jockey::run(command, &global, &out).map(|()| exit::OK),
        Command::Jack(command) => jack::run(command, &global, &out).map(|()| exit::OK),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            out.error(&error);
            ExitCode::from(output::exit_code(&error))
        }
    }
}
