//! A thousand seeded fault scenarios, every invariant of `rein_sim::campaign` checked after
//! each: a regression in retries, waits, creates, limits or error typing fails the build.
//! (`cargo xtask sim --campaign 10000 --seed 7` runs ten times as many; docs/reliability.md.)

use rein_sim::campaign;

#[test]
fn a_thousand_scenarios_break_no_invariant() {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let summary = campaign::run(7, 0..1000, threads, &|violation| eprintln!("{violation}"));
    assert_eq!(summary.scenarios, 1000);
    assert!(summary.operations > 3000, "the scenarios ran their calls: {summary:?}");
    assert!(!summary.errors.is_empty(), "faults were met: {summary:?}");
    let violations: Vec<String> = summary.violations.iter().map(ToString::to_string).collect();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn a_scenario_repeats_exactly() {
    let once = campaign::run_scenario(7, 42);
    let again = campaign::run_scenario(7, 42);
    assert_eq!((once.operations, once.requests), (again.operations, again.requests));
    assert_eq!(once.errors, again.errors);
    assert_eq!(once.virtual_time, again.virtual_time);
}
