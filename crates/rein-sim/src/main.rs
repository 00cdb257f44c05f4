//! `rein-sim [--json] [--short] [--seed N] [--scenario a|b|c]... [--strategy NAME]...`: runs
//! the scenarios with each strategy in virtual time and prints a row per run, as it comes:
//! a readable table, or with `--json` one JSON object per line.
//!
//! `rein-sim --campaign N [--seed S] [--only I]`: a seeded fault campaign
//! ([`rein_sim::campaign`]).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use rein_sim::{run, Scenario, Strategy};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut json, mut short, mut seed) = (false, false, 1u64);
    let (mut campaign, mut only): (Option<u64>, Option<u64>) = (None, None);
    let (mut scenarios, mut strategies) = (Vec::new(), Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--short" => short = true,
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(n) => seed = n,
                None => return usage("--seed takes a number"),
            },
            "--campaign" => match args.next().and_then(|s| s.parse().ok()) {
                Some(n) => campaign = Some(n),
                None => return usage("--campaign takes a number of scenarios"),
            },
            "--only" => match args.next().and_then(|s| s.parse().ok()) {
                Some(i) => only = Some(i),
                None => return usage("--only takes a scenario's index"),
            },
            "--scenario" => match args.next() {
                Some(letter) if ["a", "b", "c"].contains(&letter.as_str()) => {
                    scenarios.push(letter)
                }
                _ => return usage("--scenario takes a, b or c"),
            },
            "--strategy" => match args
                .next()
                .and_then(|name| Strategy::ALL.into_iter().find(|s| s.name() == name))
            {
                Some(strategy) => strategies.push(strategy),
                None => return usage("--strategy takes rein, reference or naive"),
            },
            "-h" | "--help" => {
                println!("{}", HELP);
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    if let Some(scenarios) = campaign {
        return run_campaign(scenarios, seed, only);
    }
    let all = if short { Scenario::SHORT } else { Scenario::FULL };
    let scenarios: Vec<Scenario> = all
        .into_iter()
        .filter(|s| scenarios.is_empty() || scenarios.iter().any(|l| l == s.letter()))
        .collect();
    if strategies.is_empty() {
        strategies = Strategy::ALL.to_vec();
    }
    if !json {
        println!(
            "{:<3} {:<9} {:>5} {:>8} {:>6} {:>5} {:>10} {:>8} {:>6} {:>8} {:>8} {:>9}",
            "",
            "strategy",
            "ids",
            "requests",
            "429s",
            "lost",
            "makespan",
            "floor",
            "ratio",
            "lag p50",
            "lag p99",
            "query p99"
        );
    }
    for scenario in scenarios {
        if !json {
            println!("{scenario}");
        }
        for &strategy in &strategies {
            let row = run(scenario, strategy, seed);
            if json {
                println!("{}", row.to_json());
            } else {
                let secs = |d: Option<std::time::Duration>| {
                    d.map_or("-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
                };
                println!(
                    "{:<3} {:<9} {:>5} {:>8} {:>6} {:>5} {:>10} {:>8} {:>6.2} {:>8} {:>8} {:>9}",
                    row.scenario,
                    row.strategy,
                    row.ids,
                    row.requests,
                    row.rate_limited,
                    row.lost,
                    secs(Some(row.makespan)),
                    secs(Some(row.floor)),
                    row.makespan.as_secs_f64() / row.floor.as_secs_f64(),
                    secs(row.lag_p50),
                    secs(row.lag_p99),
                    secs(row.query_wait_p99),
                );
            }
        }
    }
    ExitCode::SUCCESS
}

/// Runs a campaign and prints its violations, a summary, and `campaign: N scenarios, V
/// violations` last; fails when V > 0.
fn run_campaign(scenarios: u64, seed: u64, only: Option<u64>) -> ExitCode {
    let indices: Vec<u64> = match only {
        Some(index) => vec![index],
        None => (0..scenarios).collect(),
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let start = std::time::Instant::now();
    let summary = rein_sim::campaign::run(seed, indices, threads, &|_| {});
    for violation in &summary.violations {
        println!("{violation}");
    }
    let errors: Vec<String> =
        summary.errors.iter().map(|(kind, n)| format!("{kind}: {n}")).collect();
    println!(
        "{} client calls, {} requests, {:.0} h of virtual time in {:.1} s; calls that failed: {}",
        summary.operations,
        summary.requests,
        summary.virtual_time.as_secs_f64() / 3600.0,
        start.elapsed().as_secs_f64(),
        if errors.is_empty() { "none".to_owned() } else { errors.join(", ") },
    );
    println!("campaign: {} scenarios, {} violations", summary.scenarios, summary.violations.len());
    if summary.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

const HELP: &str = "rein-sim: rein's Fleet, the references' pattern and naive polling against rein-emulator's model, in virtual time

usage: rein-sim [--json] [--short] [--seed N] [--scenario a|b|c]... [--strategy rein|reference|naive]...

  --json      one JSON object per line (scenario, strategy, requests, rate_limited, lost,
              makespan_s, floor_s, lag_p50_s, lag_p99_s; for (c) query_wait_p99_s too)
  --short     the short scenarios CI runs (100 items, 100 and 300 documents)
  --seed N    the world's seed (1)
  --campaign N  N seeded fault scenarios, invariants checked after each; the last line is
              `campaign: N scenarios, V violations`, and the exit code fails when V > 0
  --only I    with --campaign: only scenario I (what a violation says reproduces it)";

fn usage(problem: &str) -> ExitCode {
    eprintln!("rein-sim: {problem}\n\n{HELP}");
    ExitCode::from(2)
}
