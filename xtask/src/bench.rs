//! `cargo xtask bench`: builds rein-bench and rein-emulator in release, then measures
//! throughput against bare clients and peak memory during a 200 MB direct upload. The report
//! is printed and written to `target/bench/report.md`; docs/benchmarks.md records figures from it.

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

pub(crate) fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("`bench` takes no arguments, got {arg:?}").into());
    }
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    cmd!(sh, "cargo build --release --locked -p rein-bench -p rein-emulator").run()?;
    let bench = "target/release/rein-bench";
    let emulator = "target/release/rein-emulator";

    // The client and the emulator share CPU 0: each request's round trip is then the two
    // processes' CPU time and nothing else, so whatever rein adds shows in full, and the spread
    // is small. On separate CPUs every request waits for a cross-CPU wake-up (about 130 us here,
    // against 30 us for the whole exchange on one), which hides rein's cost in noise;
    // REIN_BENCH_EMULATOR_CPU=N, set by hand, puts the emulator on CPU N to see that.
    let pinned = cmd!(sh, "taskset -c 0 true").quiet().run().is_ok();
    let mut report = String::from("## Throughput\n\n");
    let throughput = if pinned {
        report.push_str("(client and emulator pinned to CPU 0)\n\n");
        cmd!(sh, "taskset -c 0 {bench} throughput {emulator}").read()?
    } else {
        cmd!(sh, "{bench} throughput {emulator}").read()?
    };
    report.push_str(&throughput);
    report.push_str("\n\n## rein's own cost per call\n\n");
    report.push_str(&cmd!(sh, "{bench} overhead").read()?);
    report.push_str("\n\n## Peak memory during a 200 MB direct upload\n\n");
    report.push_str("| client | file | time | peak RSS before | peak RSS after | asset |\n|---|---|---|---|---|---|\n");
    for mode in ["blocking", "async"] {
        report.push_str(&cmd!(sh, "{bench} upload {emulator} {mode}").read()?);
        report.push('\n');
    }
    let host = cmd!(sh, "uname -srm").read().unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    report.push_str(&format!("\nMachine: {host}, {cpus} CPUs.\n"));

    let dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.md"), &report)?;
    println!("{report}");
    println!("(written to target/bench/report.md)");
    Ok(())
}
