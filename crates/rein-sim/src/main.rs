//! `rein-sim [--json] [--short] [--seed N] [--scenario a|b|c]... [--strategy NAME]...`: runs
//! the scenarios with each strategy in virtual time and prints a row per run, as it comes:
//! a readable table, or with `--json` one JSON object per line.

use std::process::ExitCode;

use rein_sim::{run, Scenario, Strategy};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut json, mut short, mut seed) = (false, false, 1u64);
    let (mut scenarios, mut strategies) = (Vec::new(), Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--short" => short = true,
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(n) => seed = n,
                None => return usage("--seed takes a number"),
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

const HELP: &str = "rein-sim: rein's Fleet, the references' pattern and naive polling against rein-emulator's model, in virtual time

usage: rein-sim [--json] [--short] [--seed N] [--scenario a|b|c]... [--strategy rein|reference|naive]...

  --json      one JSON object per line (scenario, strategy, requests, rate_limited, lost,
              makespan_s, floor_s, lag_p50_s, lag_p99_s; for (c) query_wait_p99_s too)
  --short     the short scenarios CI runs (100 items, 100 and 300 documents)
  --seed N    the world's seed (1)";

fn usage(problem: &str) -> ExitCode {
    eprintln!("rein-sim: {problem}\n\n{HELP}");
    ExitCode::from(2)
}
