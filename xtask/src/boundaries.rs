//! The architecture's invariants (docs/architecture.md), checked mechanically.
//!
//! 1. rein-core is sans-IO: no tokio, hyper or ureq anywhere in its dependency tree, and no
//!    `Instant::now`, `SystemTime::now` or `thread::sleep` in its source.
//! 2. The facade's features stand alone: `rein` with only `blocking` builds and pulls no tokio or
//!    hyper; with only `async` it builds and pulls no ureq.
//! 3. Adapters make no protocol decision: outside their unit tests they name no wait preset,
//!    build no retry policy, match on no HTTP status and set no page bound (DESIGN.md's third).
//! 4. One TLS stack: rustls with ring; nothing in the lockfile pulls aws-lc.
//!
//! Each check returns its violations and is also a `#[test]`, so `cargo test --workspace` runs
//! them all; `cargo xtask boundaries` runs them alone.

use std::path::{Path, PathBuf};

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

type Check = fn() -> Result<Vec<String>>;

/// Every check, with what it proves when it finds nothing.
const CHECKS: &[(Check, &str)] = &[
    (core_dependencies, "rein-core pulls no tokio, hyper, ureq, mio or socket2"),
    (core_source, "rein-core's source reads no clock and never sleeps"),
    (
        facade_features,
        "rein builds with `blocking` alone (no tokio, hyper) and `async` alone (no ureq)",
    ),
    (
        adapters_without_transport,
        "rein-blocking and rein-async build without their default transports",
    ),
    (tls_stack, "no aws-lc in Cargo.lock"),
    (
        adapter_decisions,
        "adapters make no protocol decision (no wait preset, retry policy, status match or page bound)",
    ),
    (unsafe_forbidden, "every crate root forbids unsafe code"),
];

/// Crates that do IO; rein-core must not depend on them, even indirectly.
const IO_CRATES: &[&str] = &["tokio", "hyper", "hyper-util", "ureq", "mio", "socket2"];

/// Calls that read a clock or block; rein-core's source must not contain them.
const FORBIDDEN_CALLS: &[&str] = &["Instant::now", "SystemTime::now", "thread::sleep"];

/// What an adapter must not write, by rule: each is a decision rein-core makes.
const PROTOCOL_DECISIONS: &[(&str, &str)] = &[
    ("names a wait preset", "WaitPolicy::"),
    ("builds a retry policy", "RetryPolicy::"),
    ("builds a retry policy", "RetryPolicy {"),
    ("matches on an HTTP status", ".status() =="),
    ("matches on an HTTP status", ".status() !="),
    ("matches on an HTTP status", ".status() {"),
    ("matches on an HTTP status", ".status()."),
    ("matches on an HTTP status", "StatusCode::"),
    ("matches on an HTTP status", ".as_u16()"),
    ("matches on an HTTP status", "is_success()"),
    ("matches on an HTTP status", "is_client_error()"),
    ("matches on an HTTP status", "is_server_error()"),
    ("sets a page bound", "MAX_PAGES"),
    // Also catches `TokenPages::new`.
    ("sets a page bound", "Pages::new"),
    ("sets a page bound", "max_pages"),
];

pub(crate) fn run() -> Result {
    let mut failures = Vec::new();
    for (check, proves) in CHECKS {
        let violations = check()?;
        if violations.is_empty() {
            println!("boundaries: {proves}");
        }
        failures.extend(violations);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("boundary violations:\n  {}", failures.join("\n  ")).into())
    }
}

fn core_dependencies() -> Result<Vec<String>> {
    let tree = dependency_names(&shell()?, "rein-core", &[])?;
    Ok(IO_CRATES
        .iter()
        .filter(|krate| tree.iter().any(|d| d == *krate))
        .map(|krate| format!("rein-core depends on {krate}"))
        .collect())
}

fn core_source() -> Result<Vec<String>> {
    let mut failures = Vec::new();
    for path in rust_files(&workspace_root().join("crates/rein-core/src"))? {
        let text = std::fs::read_to_string(&path)?;
        for (i, line) in text.lines().enumerate() {
            for call in FORBIDDEN_CALLS {
                if line.contains(call) {
                    failures.push(format!("{}:{}: rein-core calls {call}", path.display(), i + 1));
                }
            }
        }
    }
    Ok(failures)
}

fn facade_features() -> Result<Vec<String>> {
    let sh = shell()?;
    let mut failures = Vec::new();
    let facade = [
        ("blocking", "ureq", &["tokio", "hyper", "hyper-util"][..]),
        ("async", "hyper", &["ureq"][..]),
    ];
    for (feature, expected, forbidden) in facade {
        let args = ["--no-default-features", "--features", feature];
        let out = cmd!(sh, "cargo check -q -p rein {args...}").ignore_status().output()?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            failures.push(format!("rein with only `{feature}` does not build:\n{stderr}"));
        }
        let tree = dependency_names(&sh, "rein", &args)?;
        // The tree must hold the feature's own transport, or the check proves nothing.
        if !tree.iter().any(|d| d == expected) {
            failures.push(format!(
                "rein with `{feature}` does not pull {expected}: the check is miswired"
            ));
        }
        for krate in forbidden {
            if tree.iter().any(|d| d == krate) {
                failures.push(format!("rein with only `{feature}` depends on {krate}"));
            }
        }
    }
    Ok(failures)
}

/// Each adapter builds, warning-free, without its default transport (for users who bring their
/// own).
fn adapters_without_transport() -> Result<Vec<String>> {
    let sh = shell()?;
    let mut failures = Vec::new();
    for adapter in ["rein-blocking", "rein-async"] {
        let out = cmd!(sh, "cargo check -q -p {adapter} --no-default-features")
            .ignore_status()
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || stderr.contains("warning") {
            failures.push(format!("{adapter} without its default transport:\n{stderr}"));
        }
    }
    Ok(failures)
}

fn tls_stack() -> Result<Vec<String>> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))?;
    Ok(["aws-lc-rs", "aws-lc-sys"]
        .iter()
        .filter(|krate| lock.contains(&format!("name = \"{krate}\"")))
        .map(|krate| format!("Cargo.lock holds {krate}: the TLS stack must be rustls with ring"))
        .collect())
}

fn adapter_decisions() -> Result<Vec<String>> {
    let root = workspace_root();
    let mut failures = Vec::new();
    for adapter in ["crates/rein-blocking/src", "crates/rein-async/src"] {
        for path in rust_files(&root.join(adapter))? {
            let text = std::fs::read_to_string(&path)?;
            let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
            failures.extend(protocol_decisions(&name, &text));
        }
    }
    Ok(failures)
}

/// The protocol decisions in one adapter file, each as `file:line: rule`.
fn protocol_decisions(file: &str, text: &str) -> Vec<String> {
    // Unit tests sit at the bottom of a file and may build whatever they need. The `mod` keeps a
    // `#[cfg(test)]` on a single helper from hiding the rest of the file.
    let code = text.split("\n#[cfg(test)]\nmod ").next().unwrap_or(text);
    let mut failures = Vec::new();
    for (i, line) in code.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rules_hit: Vec<&str> = Vec::new();
        for &(rule, pattern) in PROTOCOL_DECISIONS {
            if uses(line, pattern) && !rules_hit.contains(&rule) {
                rules_hit.push(rule);
                failures.push(format!("{file}:{}: adapter {rule} (`{pattern}`)", i + 1));
            }
        }
    }
    failures
}

/// Whether `line` uses `pattern`; `-> RetryPolicy {` is a signature handing on the client's
/// policy, not one built here.
fn uses(line: &str, pattern: &str) -> bool {
    line.match_indices(pattern).any(|(at, _)| !line[..at].ends_with("-> "))
}

/// A shell at the workspace root whose cargo builds into its own target directory, so a check
/// run inside `cargo test` never waits on the outer cargo's lock.
fn shell() -> Result<Shell> {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    sh.set_var("CARGO_TARGET_DIR", workspace_root().join("target/boundaries"));
    Ok(sh)
}

/// Names of every normal and build dependency of `package`, transitively.
fn dependency_names(sh: &Shell, package: &str, extra: &[&str]) -> Result<Vec<String>> {
    let format = "{p}";
    let out = cmd!(
        sh,
        "cargo tree -p {package} -e normal,build --prefix none --format {format} {extra...}"
    )
    .read()?;
    let mut names: Vec<String> =
        out.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Every crate root of the workspace (a `lib.rs`, `main.rs` or `src/bin/*.rs` under `crates/`
/// or `xtask/`) says `#![forbid(unsafe_code)]`.
fn unsafe_forbidden() -> Result<Vec<String>> {
    let root = workspace_root();
    let mut dirs = vec![root.join("xtask/src")];
    for entry in std::fs::read_dir(root.join("crates"))? {
        dirs.push(entry?.path().join("src"));
    }
    let mut failures = Vec::new();
    for dir in dirs.into_iter().filter(|d| d.is_dir()) {
        for path in rust_files(&dir)? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let in_bin = path.parent().is_some_and(|p| p.ends_with("bin"));
            if name == "lib.rs" || name == "main.rs" || in_bin {
                let text = std::fs::read_to_string(&path)?;
                if !text.contains("#![forbid(unsafe_code)]") {
                    failures.push(format!("{}: no #![forbid(unsafe_code)]", path.display()));
                }
            }
        }
    }
    Ok(failures)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_none(check: Check) {
        let violations = check().unwrap();
        assert!(violations.is_empty(), "boundary violations:\n  {}", violations.join("\n  "));
    }

    #[test]
    fn rein_core_has_no_io_dependencies() {
        assert_none(core_dependencies);
    }

    #[test]
    fn rein_core_reads_no_clock_and_never_sleeps() {
        assert_none(core_source);
    }

    #[test]
    fn each_facade_feature_stands_alone() {
        assert_none(facade_features);
    }

    #[test]
    fn adapters_build_without_their_default_transports() {
        assert_none(adapters_without_transport);
    }

    #[test]
    fn the_tls_stack_is_rustls_with_ring() {
        assert_none(tls_stack);
    }

    #[test]
    fn every_crate_root_forbids_unsafe_code() {
        assert_none(unsafe_forbidden);
    }

    #[test]
    fn adapters_make_no_protocol_decision() {
        assert_none(adapter_decisions);
    }

    #[test]
    fn a_protocol_decision_is_found_outside_comments_and_unit_tests() {
        let line = "        self.wait_for(id, WaitPolicy::KNOWLEDGE_STORE_ITEM)";
        let code = format!("fn wait() {{\n{line}\n}}\n");
        assert_eq!(
            protocol_decisions("jockey.rs", &code),
            ["jockey.rs:2: adapter names a wait preset (`WaitPolicy::`)"]
        );

        let commented = format!("fn wait() {{\n    // {}\n}}\n", line.trim_start());
        assert!(protocol_decisions("jockey.rs", &commented).is_empty());
        let in_tests = format!("fn wait() {{}}\n\n#[cfg(test)]\nmod tests {{\n{line}\n}}\n");
        assert!(protocol_decisions("jockey.rs", &in_tests).is_empty());

        let signature = "    pub(crate) fn retry(&self) -> RetryPolicy {";
        assert!(protocol_decisions("client.rs", signature).is_empty());
        assert_eq!(
            protocol_decisions("pages.rs", "let pages = TokenPages::new(MAX_PAGES);").len(),
            1,
            "one report per rule and line"
        );
    }
}
