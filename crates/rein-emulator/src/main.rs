//! `rein-emulator`: serves the Jockey and jack emulator on one port until killed.
//!
//! The first line on stdout is `listening on http://HOST:PORT`; tools wait for it and read
//! the port from it. The flags are [`rein_emulator::cli`]'s.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rein_emulator::cli::run(std::env::args_os())
}
