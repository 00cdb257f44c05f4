//! `cargo xtask bench`: builds rein-bench and rein-emulator in release, then measures
//! throughput against bare clients and peak memory during a 200 MB direct upload. The report
//! is printed and written to `target/bench/report.md`; docs/benchmarks.md records figures from it.

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

/// Throughput processes run one after the other.
const PROCESSES: usize = 3;

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
    //
    // Three processes, one after the other: a process's memory layout can favour one client over
    // the other by a percent or so for its whole life, which more rounds within it cannot average
    // out. Each process measures its ratios itself (interleaved rounds); the summary takes, per
    // row, the median of the three.
    let pinned = cmd!(sh, "taskset -c 0 true").quiet().run().is_ok();
    let mut report = String::from("## Throughput\n\n");
    if pinned {
        report.push_str("(client and emulator pinned to CPU 0)\n\n");
    }
    let mut runs = Vec::new();
    for _ in 0..PROCESSES {
        let out = if pinned {
            cmd!(sh, "taskset -c 0 {bench} throughput {emulator}").read()?
        } else {
            cmd!(sh, "{bench} throughput {emulator}").read()?
        };
        runs.push(out);
    }
    report.push_str(&summary(&runs)?);
    for (i, run) in runs.iter().enumerate() {
        report.push_str(&format!("\n\n### Process {}\n\n{run}", i + 1));
    }
    report.push_str("\n\n## rein's own cost per call\n\n");
    report.push_str(&cmd!(sh, "{bench} overhead").read()?);
    report.push_str("\n\n## Peak memory during uploads: 200 MB direct, 2 GiB multipart\n\n");
    report.push_str("| client | file | time | peak RSS before | peak RSS after | asset |\n|---|---|---|---|---|---|\n");
    for mode in ["blocking", "async"] {
        report.push_str(&cmd!(sh, "{bench} upload {emulator} {mode}").read()?);
        report.push('\n');
    }
    // Above the direct limit: the multipart flow, 2 GiB.
    let big = (2u64 << 30).to_string();
    for mode in ["blocking", "async"] {
        report.push_str(&cmd!(sh, "{bench} upload {emulator} {mode} {big}").read()?);
        report.push('\n');
    }
    report.push_str(
        "\n\n## Peak memory of async wait_all on 10,000 documents (emulator at speed 60)\n\n",
    );
    report.push_str("| client | fleet | time | ends | peak RSS before | peak RSS after |\n|---|---|---|---|---|---|\n");
    report.push_str(&cmd!(sh, "{bench} fleet {emulator}").read()?);
    report.push('\n');
    report.push_str("\n\n## Acquisitions through the Redis budget (rein-redis, loopback)\n\n");
    report.push_str(&cmd!(sh, "{bench} redis").read()?);
    report.push('\n');
    report.push_str(&newcomer_programs(&sh)?);
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

/// The two programs of a newcomer's first hour (crates/rein/examples), each against an
/// in-process emulator at speed 60 with faults on a fifth of the requests, timed whole.
fn newcomer_programs(sh: &Shell) -> Result<String> {
    let programs = [("jack_ingest_and_wait", 30.0), ("blocking_upload_and_wait", 10.0)];
    cmd!(sh, "cargo build --release --locked -p rein --example jack_ingest_and_wait --example blocking_upload_and_wait").run()?;
    let mut out = String::from(
        "\n\n## A newcomer's two programs (emulator at speed 60, faults 0.2)\n\n\
         | program | real time | target | last line |\n|---|---|---|---|\n",
    );
    for (program, target) in programs {
        let bin = format!("target/release/examples/{program}");
        let start = std::time::Instant::now();
        let output = cmd!(sh, "{bin}")
            .env("REIN_EXAMPLE_FAULTS", "0.2")
            .env_remove("JACK_API_KEY")
            .env_remove("TWELVELABS_API_KEY")
            .ignore_status()
            .output()?;
        let secs = start.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&output.stdout);
        let last = text.lines().last().unwrap_or("").chars().take(80).collect::<String>();
        let met = if output.status.success() && secs < target { "met" } else { "missed" };
        out.push_str(&format!("| {program} | {secs:.1} s | under {target} s: {met} | {last} |\n"));
    }
    Ok(out)
}

/// Per row of the throughput tables: each process's median ratio, and the median of those.
fn summary(runs: &[String]) -> Result<String> {
    // Rows: | bare | bare req/s | rein | rein req/s | median | min | max |
    let rows = |out: &str| -> Vec<(String, String, f64)> {
        out.lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let ratio = cells.get(5)?.parse::<f64>().ok()?;
                Some((cells[1].to_owned(), cells[3].to_owned(), ratio))
            })
            .collect()
    };
    let tables: Vec<_> = runs.iter().map(|r| rows(r)).collect();
    let first = tables.first().ok_or("no throughput run")?;
    if first.is_empty() || tables.iter().any(|t| t.len() != first.len()) {
        return Err("the throughput runs did not print the same rows".into());
    }
    let mut out = String::from("| bare client | rein |");
    for i in 1..=runs.len() {
        out.push_str(&format!(" ratio rein/bare, process {i} |"));
    }
    out.push_str(" median of the processes |\n|---|---|");
    out.push_str(&"---|".repeat(runs.len() + 1));
    out.push('\n');
    for (row, (bare, rein, _)) in first.iter().enumerate() {
        let mut ratios: Vec<f64> = tables.iter().map(|t| t[row].2).collect();
        out.push_str(&format!("| {bare} | {rein} |"));
        for r in &ratios {
            out.push_str(&format!(" {r:.3} |"));
        }
        ratios.sort_by(f64::total_cmp);
        out.push_str(&format!(" **{:.3}** |\n", ratios[ratios.len() / 2]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_takes_each_rows_median_over_the_processes() {
        let run = |a: f64, b: f64| {
            format!(
                "GET ...\n\n| bare client | req/s (median) | rein | req/s (median) | ratio rein/bare: median | min | max |\n\
                 |---|---|---|---|---|---|---|\n\
                 | bare hyper-util | 1 | rein-async | 1 | {a:.3} | 0.5 | 1.5 |\n\
                 | bare ureq | 1 | rein-blocking | 1 | {b:.3} | 0.5 | 1.5 |\n"
            )
        };
        let table = summary(&[run(0.95, 3.0), run(0.97, 3.2), run(0.96, 3.1)]).expect("rows");
        assert!(
            table.contains("| bare hyper-util | rein-async | 0.950 | 0.970 | 0.960 | **0.960** |"),
            "{table}"
        );
        assert!(
            table.contains("| bare ureq | rein-blocking | 3.000 | 3.200 | 3.100 | **3.100** |"),
            "{table}"
        );
        assert!(summary(&[run(0.9, 1.0), "no table".to_owned()]).is_err());
    }
}
