//! The built `rein` binary, run as a user runs it.

use std::process::Command;

fn rein(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rein")).args(args).output().expect("the rein binary runs")
}

#[test]
fn the_demo_runs_both_workflows_under_faults_and_loses_nothing() {
    let out = rein(&["demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("rein demo: Jockey and jack emulated at http://"), "{stdout}");
    for line in ["answer (streamed):", "documents: 303 ready", "results lost        0"] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(stdout.contains("  rein: "), "rein narrated what it handled:\n{stdout}");
    for key in [rein_emulator::DEMO_JOCKEY_KEY, rein_emulator::DEMO_JACK_KEY] {
        assert!(!stdout.contains(key), "no key in the output");
    }
}

#[test]
fn quiet_prints_the_summary_without_narration() {
    let out = rein(&["--quiet", "demo", "--documents", "20"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("  rein: "), "{stdout}");
    assert!(stdout.contains("results lost        0"), "{stdout}");
}

#[test]
fn a_bad_command_line_exits_2_with_usage() {
    let out = rein(&["demo", "--speed", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--speed"));
}

#[test]
fn rein_emulator_serves_with_the_emulators_flags() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rein"))
        .args(["emulator", "--addr", "127.0.0.1:0", "--speed", "60"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("rein emulator starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    std::io::BufReader::new(stdout).read_line(&mut first).expect("a first line");
    child.kill().ok();
    child.wait().ok();
    assert!(first.starts_with("listening on http://127.0.0.1:"), "{first}");
    let help = rein(&["emulator", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--faults"));
}

#[test]
fn verbose_turns_on_reins_tracing_on_stderr() {
    let out = rein(&["-vv", "--quiet", "demo", "--documents", "5"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rein.call"), "spans per call: {stderr}");
    assert!(stderr.contains("Sending"), "an event per attempt at -vv: {stderr}");
    let quiet = rein(&["--quiet", "demo", "--documents", "5"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("rein.call"));
}

/// Under a pseudo-terminal (util-linux `script`) the waits draw progress bars; piped, the
/// output is plain lines with no terminal codes.
#[test]
fn progress_bars_draw_on_a_terminal_and_plain_lines_otherwise() {
    let command = format!("{} demo --documents 40", env!("CARGO_BIN_EXE_rein"));
    let pty = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("util-linux `script` runs the demo under a pseudo-terminal");
    assert!(pty.status.success(), "{}", String::from_utf8_lossy(&pty.stdout));
    let drawn = String::from_utf8_lossy(&pty.stdout);
    assert!(drawn.contains("\u{1b}["), "terminal codes under a terminal");
    assert!(
        drawn.contains("jack documents [") && drawn.contains("43/43"),
        "a bar per fleet: {drawn}"
    );

    let piped = rein(&["demo", "--documents", "40"]);
    assert!(piped.status.success());
    for stream in [&piped.stdout, &piped.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r'),
            "no terminal codes when piped: {text:?}"
        );
    }
    assert!(String::from_utf8_lossy(&piped.stdout).contains("jack documents: 43 ready"));
}

#[test]
fn the_demo_with_json_prints_one_summary_document() {
    let out = rein(&["--json", "demo", "--documents", "20"]);
    assert!(out.status.success());
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(summary["results_lost"], 0);
    assert!(summary["operations"].as_u64().is_some_and(|n| n > 10), "{summary}");
    assert!(summary["requests"].as_u64().is_some_and(|n| n > 10), "{summary}");
}
