//! `cargo xtask sim [--json] [--short] [--seed N]`: builds rein-sim in release and runs every
//! scenario with every strategy in virtual time, printing each row as it comes (a table, or one
//! JSON object per line). CI runs the short scenarios as tests of rein-sim instead.
//!
//! `cargo xtask sim --campaign N --seed S [--only I]`: N seeded fault scenarios with rein's
//! invariants checked after each; the last line is `campaign: N scenarios, V violations`, and
//! the task fails when V > 0. CI runs 1,000 as a test of rein-sim.

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

pub(crate) fn run(args: &[String]) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    cmd!(sh, "cargo build --release --locked -p rein-sim").quiet().run()?;
    cmd!(sh, "target/release/rein-sim {args...}").run()?;
    Ok(())
}
