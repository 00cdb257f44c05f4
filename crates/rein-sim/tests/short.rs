//! The short scenarios, as CI runs them: rein's rows must meet the targets, so a regression
//! in Fleet, the limiter or the drivers fails the build. (The full-size figures come from
//! `cargo xtask sim`; they are recorded in docs/benchmarks.md.) The other strategies' rows are
//! reported as they come out: nothing is asserted of them but that they ran.

use std::time::Duration;

use rein_sim::{run, Row, Scenario, Strategy};

const SEED: u64 = 1;

fn ratio(row: &Row) -> f64 {
    row.makespan.as_secs_f64() / row.floor.as_secs_f64()
}

fn check(row: &Row, most_over_floor: f64) {
    assert_eq!(row.lost, 0, "{row:?}");
    assert_eq!(row.rate_limited, 0, "{row:?}");
    assert!(row.makespan >= row.floor, "a floor no client can beat: {row:?}");
    assert!(ratio(row) <= most_over_floor, "{:.3} x the floor: {row:?}", ratio(row));
}

#[test]
fn a_items_rein_meets_its_targets() {
    let row = run(Scenario::SHORT[0], Strategy::Rein, SEED);
    check(&row, 1.05);
    assert!(row.lag_p99.expect("ends noticed") <= Duration::from_secs(12), "{row:?}");
    // One GET per item every 10 s would be 100 x 60; the sweeps need about one request each.
    assert!(row.requests <= 100, "{row:?}");
}

#[test]
fn b_documents_rein_meets_its_targets() {
    check(&run(Scenario::SHORT[1], Strategy::Rein, SEED), 1.1);
}

#[test]
fn c_documents_and_queries_rein_meets_its_targets() {
    let row = run(Scenario::SHORT[2], Strategy::Rein, SEED);
    check(&row, 1.25);
    assert!(row.query_wait_p99.expect("queries asked") <= Duration::from_secs(2), "{row:?}");
    assert_eq!(row.queries_failed, Some(0), "{row:?}");
}

#[test]
fn every_strategy_runs_every_short_scenario_and_a_seed_repeats_its_rows() {
    for scenario in Scenario::SHORT {
        for strategy in Strategy::ALL {
            let row = run(scenario, strategy, SEED);
            eprintln!("{}", row.to_json());
            assert_eq!(row.ids, scenario.count());
            assert!(row.requests > 0, "{row:?}");
        }
    }
    let row = |seed| run(Scenario::SHORT[1], Strategy::Rein, seed);
    assert_eq!(row(3), row(3), "the same seed, the same row");
}

/// Scenario (c) at full size, rein alone: the only size at which the ingest batches fill the
/// first minute's budget, so the only one that shows the caller's queries keep their share.
/// Its floor is that of the bulk job with the queries served as they come (the bulk job alone
/// could use every slot of the first minute, which no client that also answers its caller's
/// queries within 2 s can: see docs/benchmarks.md).
#[test]
fn c_at_full_size_the_queries_keep_their_share_of_the_budget() {
    let row = run(Scenario::FULL[2], Strategy::Rein, SEED);
    assert_eq!((row.lost, row.rate_limited), (0, 0), "{row:?}");
    assert!(row.query_wait_p99.expect("queries asked") <= Duration::from_secs(2), "{row:?}");
    let floor = row.floor_with_queries.expect("a floor with queries");
    assert!(row.makespan.as_secs_f64() <= 1.25 * floor.as_secs_f64(), "{row:?}");
}
