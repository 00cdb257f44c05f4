//! `cargo xtask ci`.

use std::time::Instant;

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

pub(crate) fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("`ci` takes no arguments, got {arg:?}").into());
    }
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    // Snapshots are reviewed locally, never written or accepted by CI.
    sh.set_var("INSTA_UPDATE", "no");
    // Tests that skip (a reference document absent outside CI) list themselves here
    // (rein_reference::SKIPPED_LOG_VAR), so the summary can say so.
    let skipped_log = workspace_root().join("target/ci-skipped.log");
    std::fs::remove_file(&skipped_log).ok();
    sh.set_var("REIN_SKIPPED_LOG", &skipped_log);

    step("fmt", || Ok(cmd!(sh, "cargo fmt --all -- --check").run()?))?;
    step("clippy", || {
        Ok(cmd!(
            sh,
            "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings"
        )
        .run()?)
    })?;
    // The tests include xtask's own, which are the boundary checks.
    step("test", || Ok(cmd!(sh, "cargo test --workspace --all-features --locked").run()?))?;
    step("doc", || {
        let _env = sh.push_env("RUSTDOCFLAGS", "-D warnings");
        Ok(cmd!(sh, "cargo doc --workspace --no-deps --all-features --locked").run()?)
    })?;
    let skipped: Vec<String> = std::fs::read_to_string(&skipped_log)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    if skipped.is_empty() {
        println!("ci: all checks passed; no test skipped");
    } else {
        println!("ci: all checks passed, but {} tests were skipped:", skipped.len());
        for line in &skipped {
            println!("  {line}");
        }
    }
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    println!("==> {name}");
    let start = Instant::now();
    f().map_err(|e| format!("{name} failed: {e}"))?;
    println!("<== {name} ok in {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}
