//! How the command speaks: text for people, `--json` for programs, `--quiet` for neither;
//! errors with everything needed to act on them, never the key; exit codes by kind.

use serde::Serialize;

use crate::narrate::Narrator;
use crate::CliError;

/// Exit codes; `rein --help` lists them.
pub(crate) mod exit {
    /// Done.
    pub(crate) const OK: u8 = 0;
    /// A local failure: a file, the emulator, or a demo that lost a result (a bug in rein).
    pub(crate) const FAILED: u8 = 1;
    /// The command line, the setup (a missing key) or the input was refused before anything was
    /// sent. clap uses 2 for a command line it cannot read, too.
    pub(crate) const USAGE: u8 = 2;
    /// The API answered with an error.
    pub(crate) const API: u8 = 3;
    /// Rate limited: the API asked for a wait longer than the call could make.
    pub(crate) const RATE_LIMITED: u8 = 4;
    /// Out of time: the call's or the wait's deadline passed, or an attempt timed out.
    pub(crate) const TIMEOUT: u8 = 5;
    /// A create whose answer was lost: it may have gone through; check before repeating it.
    pub(crate) const MAY_HAVE_SUCCEEDED: u8 = 6;
}

/// The exit code for `error`.
pub(crate) fn exit_code(error: &CliError) -> u8 {
    use rein::Error;
    let CliError::Rein(error) = error else { return exit::FAILED };
    if error.may_have_succeeded() {
        return exit::MAY_HAVE_SUCCEEDED;
    }
    match error {
        Error::Invalid(_) | Error::Config(_) => exit::USAGE,
        Error::Deadline(_) | Error::WaitTimedOut(_) => exit::TIMEOUT,
        Error::Transport(t) if t.error.kind == rein::TransportErrorKind::Timeout => exit::TIMEOUT,
        e if e.is_rate_limited() => exit::RATE_LIMITED,
        _ => exit::API,
    }
}

/// Where output goes.
#[derive(Debug)]
pub(crate) struct Output {
    json: bool,
    quiet: bool,
    narrator: Narrator,
}

impl Output {
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        // Narration is for people: never mixed into JSON.
        Output { json, quiet, narrator: Narrator::new(quiet || json) }
    }

    pub(crate) fn narrator(&self) -> &Narrator {
        &self.narrator
    }

    /// A command's result: JSON with `--json`, else `text()`.
    pub(crate) fn value<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> Result<(), CliError> {
        if self.json {
            let shown =
                serde_json::to_string(value).map_err(|e| CliError::Io(std::io::Error::other(e)))?;
            println!("{shown}");
        } else if !self.quiet {
            println!("{}", text());
        }
        Ok(())
    }

    /// A piece of a streamed result: a JSON line with `--json`, else the text as it comes.
    pub(crate) fn piece<T: Serialize>(&self, value: &T, text: &str) {
        use std::io::Write;
        if self.json {
            if let Ok(shown) = serde_json::to_string(value) {
                println!("{shown}");
            }
        } else if !self.quiet {
            print!("{text}");
            let _ = std::io::stdout().flush();
        }
    }

    /// The end of a streamed result.
    pub(crate) fn end_pieces(&self) {
        if !self.json && !self.quiet {
            println!();
        }
    }

    /// A spinner on stderr while `what` runs (an upload), when stderr is a terminal; cleared
    /// when dropped.
    pub(crate) fn spinner(&self, what: String) -> Spinner {
        use std::io::IsTerminal;
        if self.json || self.quiet || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(what);
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Spinner(Some(bar))
    }

    /// A line for people, on stderr, so that stdout stays the result.
    pub(crate) fn line(&self, line: &str) {
        if !self.json && !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A problem worth telling even with `--quiet`, on stderr.
    pub(crate) fn problem(&self, line: &str) {
        eprintln!("rein: {line}");
    }

    /// `error`, with its kind, status, request id, attempts and fix: JSON on stdout with
    /// `--json`, lines on stderr otherwise. rein's errors never hold the key.
    pub(crate) fn error(&self, error: &CliError) {
        let code = exit_code(error);
        let CliError::Rein(rein_error) = error else {
            if self.json {
                println!(
                    "{}",
                    serde_json::json!({ "error": { "kind": "local", "message": error.to_string(), "exit_code": code } })
                );
            } else {
                eprintln!("rein: {error}");
            }
            return;
        };
        let kind = format!("{rein_error:?}");
        let kind = kind.split('(').next().unwrap_or("error").to_owned();
        let api = rein_error.api_error();
        let attempts = match rein_error {
            rein::Error::Api(e) => Some(e.attempts),
            rein::Error::Transport(t) => Some(t.attempts),
            rein::Error::RateLimited(r) => Some(r.attempts),
            rein::Error::Deadline(d) => Some(d.attempts),
            _ => None,
        };
        let fix = rein_error.hint().map(|h| h.fix);
        if self.json {
            let shown = serde_json::json!({ "error": {
                "kind": kind,
                "message": rein_error.to_string(),
                "status": rein_error.status(),
                "request_id": api.and_then(|e| e.request_id.clone()),
                "attempts": attempts,
                "fix": fix,
                "may_have_succeeded": rein_error.may_have_succeeded(),
                "exit_code": code,
            }});
            println!("{shown}");
            return;
        }
        eprintln!("rein: {kind}: {rein_error}");
        if let Some(status) = rein_error.status() {
            eprintln!("  status: {status}");
        }
        if let Some(id) = api.and_then(|e| e.request_id.as_deref()) {
            eprintln!("  request id: {id}");
        }
        if let Some(attempts) = attempts {
            eprintln!("  attempts: {attempts}");
        }
        if let Some(fix) = fix {
            eprintln!("  fix: {fix}");
        }
        if rein_error.may_have_succeeded() {
            eprintln!("  it may have gone through: check before repeating it");
        }
    }
}

/// How each id of a fleet ended: `{id, outcome, error}`.
pub(crate) fn fleet_ends<K: rein::fleet::FleetKind>(
    report: &rein::FleetReport<K>,
) -> Vec<serde_json::Value> {
    report
        .finished
        .iter()
        .map(|end| {
            let outcome = format!("{:?}", end.outcome()).to_lowercase();
            let why = end.result.as_ref().err().map(ToString::to_string);
            serde_json::json!({ "id": end.id.to_string(), "outcome": outcome, "error": why })
        })
        .collect()
}

/// [`fleet_ends`] as lines: `id outcome`.
pub(crate) fn fleet_lines(ends: &[serde_json::Value]) -> String {
    ends.iter()
        .map(|e| {
            format!("{} {}", e["id"].as_str().unwrap_or(""), e["outcome"].as_str().unwrap_or(""))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A spinner drawn while an operation runs (see [`Output::spinner`]).
#[derive(Debug)]
pub(crate) struct Spinner(Option<indicatif::ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
