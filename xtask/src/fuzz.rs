//! `cargo xtask fuzz [--runs N] [--target T] [--seed S] [--stable] [--keep-going]`: every fuzz
//! target of crates/rein-fuzz for N executions (default 1,000,000), then a table of the figures.
//!
//! With cargo-fuzz and a nightly toolchain installed (`cargo +nightly fuzz --version` works),
//! each target runs under libFuzzer (`fuzz/`, coverage-guided), seeded with rein-fuzz's corpus
//! and dictionary. Otherwise, or with `--stable`, the same targets run as rein-fuzz's
//! corpus-seeded mutation loops in release on the stable toolchain. Crash inputs go to
//! `target/fuzz-crashes/`. A crash ends a target's run; `--keep-going` (stable loops only) runs
//! all N inputs anyway and counts the crashing ones and their distinct panic locations, to see
//! past a defect already known.

use std::time::Instant;

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

const TARGETS: [&str; 5] =
    ["error_decoder", "retry_after", "sse", "pagination", "request_validation"];

/// One target's figures.
struct Row {
    target: String,
    executions: u64,
    seconds: f64,
    /// Crashing inputs.
    crashes: u64,
    /// Distinct panic locations among them.
    distinct: u64,
}

pub(crate) fn run(args: &[String]) -> Result {
    let mut runs: u64 = 1_000_000;
    let mut seed: u64 = 0;
    let mut only: Option<String> = None;
    let mut stable = false;
    let mut keep_going = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().ok_or_else(|| format!("{arg} takes a value"));
        match arg.as_str() {
            "--runs" => runs = value()?.replace(['_', ','], "").parse()?,
            "--seed" => seed = value()?.parse()?,
            "--target" => only = Some(value()?.clone()),
            "--stable" => stable = true,
            "--keep-going" => keep_going = true,
            other => return Err(format!("`fuzz` does not take {other:?}").into()),
        }
    }
    let targets: Vec<&str> = match &only {
        Some(t) if TARGETS.contains(&t.as_str()) => vec![t.as_str()],
        Some(t) => {
            return Err(format!("no fuzz target {t:?}; targets: {}", TARGETS.join(", ")).into())
        }
        None => TARGETS.to_vec(),
    };

    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    cmd!(sh, "cargo build --release --locked -p rein-fuzz").run()?;
    // Going on past a crash is the stable loops' (libFuzzer stops at the first).
    let stable = stable || keep_going;
    let cargo_fuzz =
        !stable && cmd!(sh, "cargo +nightly fuzz --version").quiet().ignore_stderr().read().is_ok();
    let (driver, rows) = if cargo_fuzz {
        ("cargo-fuzz (libFuzzer, nightly)", with_cargo_fuzz(&sh, &targets, runs, seed)?)
    } else {
        if !stable {
            println!(
                "cargo-fuzz or a nightly toolchain is not installed: running the targets as \
                 corpus-seeded loops on stable"
            );
        }
        (
            "corpus-seeded loops (stable, release)",
            with_stable_runner(&sh, &targets, runs, seed, keep_going)?,
        )
    };

    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("\nFuzzing with {driver}, {runs} runs per target, seed {seed}, {cpus} CPUs:\n");
    println!("| target | executions | time | executions/s | crashes |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        let crashes = match (r.crashes, r.distinct) {
            (n, d) if n > 1 => format!("{n} ({d} distinct)"),
            (n, _) => n.to_string(),
        };
        println!(
            "| {} | {} | {:.1} s | {:.0} | {crashes} |",
            r.target,
            r.executions,
            r.seconds,
            r.executions as f64 / r.seconds.max(1e-9),
        );
    }
    let crashed: Vec<&str> =
        rows.iter().filter(|r| r.crashes > 0).map(|r| r.target.as_str()).collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!("crashes in {} (inputs in target/fuzz-crashes/)", crashed.join(", ")).into())
    }
}

/// rein-fuzz's own loops: one process per target, its `result` line read back.
fn with_stable_runner(
    sh: &Shell,
    targets: &[&str],
    runs: u64,
    seed: u64,
    keep_going: bool,
) -> Result<Vec<Row>> {
    let bin = "target/release/rein-fuzz";
    let (runs, seed) = (runs.to_string(), seed.to_string());
    let more: &[&str] = if keep_going { &["--keep-going"] } else { &[] };
    let mut rows = Vec::new();
    for target in targets {
        let out = cmd!(sh, "{bin} {target} --runs {runs} --seed {seed} {more...}")
            .ignore_status()
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines().filter(|l| !l.starts_with("result ")) {
            println!("{line}");
        }
        let result = text.lines().find_map(|l| l.strip_prefix("result ")).ok_or_else(|| {
            format!(
                "rein-fuzz {target} printed no result:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let field = |name: &str| {
            result
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .unwrap_or("0")
                .to_owned()
        };
        rows.push(Row {
            target: (*target).to_owned(),
            executions: field("executions").parse()?,
            seconds: field("seconds").parse()?,
            crashes: field("crashes").parse()?,
            distinct: field("distinct").parse()?,
        });
    }
    Ok(rows)
}

/// cargo-fuzz: the targets built once, then each run under libFuzzer from rein-fuzz's seeds and
/// dictionary, its figures read from libFuzzer's final stats.
fn with_cargo_fuzz(sh: &Shell, targets: &[&str], runs: u64, seed: u64) -> Result<Vec<Row>> {
    // Without a sanitizer: rein's crates forbid unsafe code, and AddressSanitizer made these
    // allocation-heavy targets five to seven times slower (`cargo +nightly fuzz run <target>`
    // still builds with it, for a session by hand).
    cmd!(sh, "cargo +nightly fuzz build --sanitizer none").run()?;
    // The built targets are run directly, so the time measured is libFuzzer's alone.
    let host = cmd!(sh, "rustc +nightly -vV")
        .read()?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or("rustc -vV names no host")?;
    let bin = "target/release/rein-fuzz";
    std::fs::create_dir_all(workspace_root().join("target/fuzz-crashes"))?;
    let mut rows = Vec::new();
    for target in targets {
        let corpus = format!("target/fuzz-corpus/{target}");
        let dict = format!("target/fuzz-corpus/{target}.dict");
        // From the seeds alone each time, so a run's figures do not depend on the last run's.
        std::fs::remove_dir_all(workspace_root().join(&corpus)).ok();
        cmd!(sh, "{bin} corpus {target} {corpus}").quiet().ignore_stdout().run()?;
        cmd!(sh, "{bin} dict {target} {dict}").quiet().ignore_stdout().run()?;
        // libFuzzer takes seed 0 as "pick one"; 1 + S keeps every seed fixed.
        let seed_flag = format!("-seed={}", 1 + seed % u64::from(u32::MAX - 1));
        let runs_flag = format!("-runs={runs}");
        let (dict_flag, artifacts) =
            (format!("-dict={dict}"), format!("-artifact_prefix=target/fuzz-crashes/{target}-"));
        println!("==> {target}");
        let start = Instant::now();
        let fuzzer = format!("fuzz/target/{host}/release/{target}");
        let out = cmd!(
            sh,
            "{fuzzer} {corpus} {runs_flag} {seed_flag} {dict_flag} {artifacts} -print_final_stats=1"
        )
        .ignore_status()
        .output()?;
        let seconds = start.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&out.stderr);
        let executions = log
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let crashed = !out.status.success();
        if crashed {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            for line in tail.into_iter().rev() {
                println!("  {line}");
            }
        } else if let Some(done) = log.lines().find(|l| l.starts_with("Done ")) {
            println!("  {done}");
        }
        let crashes = u64::from(crashed);
        rows.push(Row {
            target: (*target).to_owned(),
            executions,
            seconds,
            crashes,
            distinct: crashes,
        });
    }
    Ok(rows)
}
