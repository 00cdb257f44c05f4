//! `rein jack ...`, the built binary against the emulator's server on loopback.

use std::process::{Command, Output};

use rein_emulator::{
    spawn, Clock, Config, FaultKind, FaultPlan, RunningServer, ServerConfig, DEMO_JACK_KEY,
};

fn emulator(faults: FaultPlan) -> RunningServer {
    let config = Config { faults, ..Config::default() };
    spawn(ServerConfig { clock: Clock::scaled(200.0), ..ServerConfig::for_tests(config) })
        .expect("emulator")
}

fn rein(server: &RunningServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rein"))
        .arg("--base-url")
        .arg(server.url())
        .args(args)
        .env("JACK_API_KEY", DEMO_JACK_KEY)
        .env("REIN_TIME_SCALE", server.time_scale().to_string())
        .env_remove("JACK_BASE_URL")
        .output()
        .expect("the rein binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn fixtures() -> String {
    format!("{}/../../fixtures/demo", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn ingest_wait_list_get_query_usage_and_delete() {
    let server = emulator(FaultPlan::none());
    let out = rein(&server, &["--json", "jack", "ingest", &fixtures(), "--wait"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ends = json(&out);
    let ends = ends.as_array().expect("one end per document");
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|e| e["outcome"] == "ready"), "{ends:?}");
    let id = ends[0]["id"].as_str().expect("an id").to_owned();

    let listed = json(&rein(&server, &["--json", "jack", "documents", "list"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    let got = json(&rein(&server, &["--json", "jack", "documents", "get", &id]));
    assert_eq!(got["id"], id.as_str());
    let answer = json(&rein(
        &server,
        &["--json", "jack", "query", "How long do refunds take?", "--top-k", "3"],
    ));
    assert!(answer["answer"].as_str().is_some_and(|a| !a.is_empty()), "{answer}");
    let usage = json(&rein(&server, &["--json", "jack", "usage"]));
    assert_eq!(usage["rate_limit_rpm"], 60);
    let deleted = rein(&server, &["jack", "documents", "delete", &id]);
    assert!(deleted.status.success());
    assert_eq!(String::from_utf8_lossy(&deleted.stdout).trim(), format!("deleted {id}"));
}

#[test]
fn each_kind_of_failure_has_its_exit_code_and_says_what_to_do() {
    let server = emulator(FaultPlan::none());
    // 2: refused before sending (a blank question), or no key.
    let blank = rein(&server, &["jack", "query", "   "]);
    assert_eq!(blank.status.code(), Some(2), "{}", String::from_utf8_lossy(&blank.stderr));
    let no_key = Command::new(env!("CARGO_BIN_EXE_rein"))
        .args(["jack", "usage"])
        .env_remove("JACK_API_KEY")
        .output()
        .expect("runs");
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("JACK_API_KEY"));
    // 3: the API's error, with its status and fix, as JSON too.
    let missing = rein(&server, &["jack", "documents", "get", "no-such-document"]);
    assert_eq!(missing.status.code(), Some(3));
    let shown = String::from_utf8_lossy(&missing.stderr);
    assert!(shown.contains("status: 404") && shown.contains("fix:"), "{shown}");
    let as_json = json(&rein(&server, &["--json", "jack", "documents", "get", "no-such-document"]));
    assert_eq!(
        (as_json["error"]["status"].as_u64(), as_json["error"]["exit_code"].as_u64()),
        (Some(404), Some(3))
    );
    assert!(!shown.contains(DEMO_JACK_KEY));
    // 6: a file upload whose answer was lost may have gone through, and is not sent again.
    let lossy = emulator(FaultPlan::only(FaultKind::ResetAfterProcessing, 1.0));
    let dir = std::env::temp_dir().join(format!("rein-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pdf = dir.join("manual.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 a manual").expect("file");
    let lost = rein(&lossy, &["jack", "ingest", pdf.to_str().expect("a path")]);
    assert_eq!(lost.status.code(), Some(6), "{}", String::from_utf8_lossy(&lost.stderr));
    assert!(String::from_utf8_lossy(&lost.stderr).contains("may have gone through"));
    // 1: a local failure (a file that is not there), before anything is sent.
    let absent = rein(&server, &["jack", "ingest", "/no/such/file.txt"]);
    assert_eq!(absent.status.code(), Some(1), "{}", String::from_utf8_lossy(&absent.stderr));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("/no/such/file.txt"));
    // 4: rate limited: jack's 429 asks for 60 s, longer than the 30 s this call may take.
    let busy = emulator(FaultPlan::only(FaultKind::RateLimitBurst, 1.0));
    let limited = rein(&busy, &["--timeout", "30", "jack", "usage"]);
    assert_eq!(limited.status.code(), Some(4), "{}", String::from_utf8_lossy(&limited.stderr));
    // 5: out of time.
    let slow = emulator(FaultPlan::only(FaultKind::SlowResponse, 1.0));
    let late = rein(&slow, &["--timeout", "0.5", "jack", "usage"]);
    assert_eq!(late.status.code(), Some(5), "{}", String::from_utf8_lossy(&late.stderr));
}
