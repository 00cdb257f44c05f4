//! The architecture's invariants (docs/architecture.md), checked mechanically.
//!
//! 1. rein-core is sans-IO: no tokio, hyper or ureq anywhere in its dependency tree, and no
//!    `Instant::now`, `SystemTime::now` or `thread::sleep` in its source.
//! 2. The facade's features stand alone: `rein` with only `blocking` builds and pulls no tokio or
//!    hyper; with only `async` it builds and pulls no ureq.
//! 3. One TLS stack: rustls with ring; nothing in the lockfile pulls aws-lc.

use std::path::Path;

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

/// Crates that do IO; rein-core must not depend on them, even indirectly.
const IO_CRATES: &[&str] = &["tokio", "hyper", "hyper-util", "ureq", "mio", "socket2"];

/// Calls that read a clock or block; rein-core's source must not contain them.
const FORBIDDEN_CALLS: &[&str] = &["Instant::now", "SystemTime::now", "thread::sleep"];

pub(crate) fn run() -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    let mut failures = Vec::new();

    let tree = dependency_names(&sh, "rein-core", &[])?;
    for krate in IO_CRATES {
        if tree.iter().any(|d| d == krate) {
            failures.push(format!("rein-core depends on {krate}"));
        }
    }

    let src = workspace_root().join("crates/rein-core/src");
    for (path, line_no, line) in source_lines(&src)? {
        for call in FORBIDDEN_CALLS {
            if line.contains(call) {
                failures.push(format!("{}:{line_no}: rein-core calls {call}", path.display()));
            }
        }
    }

    let facade = [
        ("blocking", "ureq", &["tokio", "hyper", "hyper-util"][..]),
        ("async", "hyper", &["ureq"][..]),
    ];
    for (feature, expected, forbidden) in facade {
        let args = ["--no-default-features", "--features", feature];
        cmd!(sh, "cargo check -q -p rein {args...}").run()?;
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

    // Each adapter also builds, warning-free, without its default transport (for users who
    // bring their own).
    for adapter in ["rein-blocking", "rein-async"] {
        let out = cmd!(sh, "cargo check -q -p {adapter} --no-default-features")
            .ignore_status()
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || stderr.contains("warning") {
            failures.push(format!("{adapter} without its default transport:\n{stderr}"));
        }
    }

    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))?;
    for krate in ["aws-lc-rs", "aws-lc-sys"] {
        if lock.contains(&format!("name = \"{krate}\"")) {
            failures
                .push(format!("Cargo.lock holds {krate}: the TLS stack must be rustls with ring"));
        }
    }

    if failures.is_empty() {
        println!("boundaries: rein-core is sans-IO ({} dependencies checked)", tree.len());
        println!("boundaries: rein builds with `blocking` alone (no tokio, hyper) and `async` alone (no ureq)");
        println!("boundaries: rein-blocking and rein-async build without their default transports");
        println!("boundaries: no aws-lc in Cargo.lock");
        Ok(())
    } else {
        Err(format!("boundary violations:\n  {}", failures.join("\n  ")).into())
    }
}

/// Names of every normal and build dependency of `package`, transitively.
pub(crate) fn dependency_names(sh: &Shell, package: &str, extra: &[&str]) -> Result<Vec<String>> {
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

fn source_lines(dir: &Path) -> Result<Vec<(std::path::PathBuf, usize, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                for (i, line) in text.lines().enumerate() {
                    out.push((path.clone(), i + 1, line.to_owned()));
                }
            }
        }
    }
    Ok(out)
}
