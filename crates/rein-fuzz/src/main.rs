//! `rein-fuzz`: the stable runner of rein's fuzz targets.
//!
//! ```text
//! rein-fuzz <target|all> [--runs N] [--seed S] [--crash-dir DIR] [--keep-going]
//! rein-fuzz corpus <target> <dir>     write the seeds (for cargo-fuzz)
//! rein-fuzz dict <target> <file>      write the dictionary, in libFuzzer's format
//! rein-fuzz replay <target> <file>    run one saved input
//! rein-fuzz minimize <target> <file>  shrink a crashing input (written to <file>.min)
//! rein-fuzz list
//! ```
//!
//! Each target prints its executions, time and rate, then a `result` line that `cargo xtask
//! fuzz` reads. A crash stops that target (with `--keep-going`, every input still runs and the
//! first input of each distinct panic location is kept), saves its input and a minimized one,
//! prints the seed, and makes the exit status non-zero.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use rein_fuzz::runner::{self, escaped};
use rein_fuzz::{corpus, target, FuzzTarget, TARGETS};

const USAGE: &str = "\
usage: rein-fuzz <target|all> [--runs N] [--seed S] [--crash-dir DIR] [--keep-going]
       rein-fuzz corpus <target> <dir>
       rein-fuzz dict <target> <file>
       rein-fuzz replay <target> <file>
       rein-fuzz minimize <target> <file>
       rein-fuzz list
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rein-fuzz: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let named = |name: &str| target(name).ok_or_else(|| format!("no target {name:?}"));
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some("list") => {
            for t in TARGETS {
                println!("{:<20} {}", t.name, t.about);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some("corpus") => {
            let [_, name, dir] = args else { return Err("corpus takes <target> <dir>".into()) };
            let n =
                corpus::write(named(name)?.name, &PathBuf::from(dir)).map_err(|e| e.to_string())?;
            println!("{n} seeds written to {dir}");
            Ok(ExitCode::SUCCESS)
        }
        Some("dict") => {
            let [_, name, file] = args else { return Err("dict takes <target> <file>".into()) };
            let n = corpus::write_dictionary(named(name)?.name, &PathBuf::from(file))
                .map_err(|e| e.to_string())?;
            println!("{n} tokens written to {file}");
            Ok(ExitCode::SUCCESS)
        }
        Some(command @ ("replay" | "minimize")) => {
            let [_, name, file] = args else {
                return Err(format!("{command} takes <target> <file>"));
            };
            let input = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
            let t = named(name)?;
            match runner::execute(t, &input) {
                Ok(()) => {
                    println!("{name}: no panic on {file}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(message) => {
                    println!("{name}: {message}");
                    if command == "minimize" {
                        let (small, message) = runner::minimize(t, &input, &message);
                        let path = format!("{file}.min");
                        std::fs::write(&path, &small).map_err(|e| format!("{path}: {e}"))?;
                        println!(
                            "minimized ({} of {} bytes, in {path}): \"{}\"",
                            small.len(),
                            input.len(),
                            escaped(&small)
                        );
                        println!("{message}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Some(which) => {
            let targets: Vec<&FuzzTarget> =
                if which == "all" { TARGETS.iter().collect() } else { vec![named(which)?] };
            let mut runs = 1_000_000u64;
            let mut seed = 0u64;
            let mut crash_dir = runner::default_crash_dir();
            let mut keep_going = false;
            let mut rest = args[1..].iter();
            while let Some(flag) = rest.next() {
                let mut value = || rest.next().ok_or_else(|| format!("{flag} takes a value"));
                match flag.as_str() {
                    "--runs" => runs = number(value()?)?,
                    "--seed" => seed = number(value()?)?,
                    "--crash-dir" => crash_dir = PathBuf::from(value()?),
                    "--keep-going" => keep_going = true,
                    other => return Err(format!("unknown option {other:?}")),
                }
            }
            let mut failed = false;
            for t in targets {
                let report = runner::run(t, runs, seed, Some(&crash_dir), keep_going);
                print_report(&report);
                failed |= !report.crashes.is_empty();
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}

fn number(s: &str) -> Result<u64, String> {
    s.replace(['_', ','], "").parse().map_err(|_| format!("{s:?} is not a number"))
}

fn print_report(r: &runner::Report) {
    println!(
        "{}: {} executions in {:.1} s ({:.0}/s), seed {}",
        r.target,
        r.executions,
        r.elapsed.as_secs_f64(),
        r.rate(),
        r.seed
    );
    if r.crashing_inputs > 0 {
        println!(
            "{}: {} crashing inputs, {} distinct (seed {})",
            r.target,
            r.crashing_inputs,
            r.crashes.len(),
            r.seed
        );
    }
    for c in &r.crashes {
        println!("{}: CRASH at execution {} (seed {})", r.target, c.execution, r.seed);
        println!("  {}", c.message.replace('\n', "\n  "));
        if let Some(path) = &c.saved {
            println!("  input saved to {}", path.display());
        }
        println!(
            "  minimized ({} of {} bytes): \"{}\"",
            c.minimized.len(),
            c.input.len(),
            escaped(&c.minimized)
        );
        println!("  {}", c.minimized_message.replace('\n', "\n  "));
    }
    println!(
        "result target={} executions={} seconds={:.3} crashes={} distinct={}",
        r.target,
        r.executions,
        r.elapsed.as_secs_f64(),
        r.crashing_inputs,
        r.crashes.len()
    );
}
