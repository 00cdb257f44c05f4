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
    println!("ci: all checks passed");
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    println!("==> {name}");
    let start = Instant::now();
    f().map_err(|e| format!("{name} failed: {e}"))?;
    println!("<== {name} ok in {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}
