//! `rein jockey ...`, the built binary against the emulator's server on loopback.

use std::process::{Command, Output};

use rein_emulator::{spawn, Clock, Config, RunningServer, ServerConfig, DEMO_JOCKEY_KEY};

fn emulator() -> RunningServer {
    spawn(ServerConfig {
        clock: Clock::scaled(200.0),
        ..ServerConfig::for_tests(Config::default())
    })
    .expect("emulator")
}

fn rein(server: &RunningServer, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rein"))
        .arg("--base-url")
        .arg(server.url())
        .args(args)
        .env("TWELVELABS_API_KEY", DEMO_JOCKEY_KEY)
        .env("REIN_TIME_SCALE", server.time_scale().to_string())
        .env_remove("TWELVELABS_BASE_URL")
        .output()
        .expect("the rein binary runs");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(DEMO_JOCKEY_KEY));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(DEMO_JOCKEY_KEY));
    out
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn upload_index_ask_and_clean_up() {
    let server = emulator();
    let dir = std::env::temp_dir().join(format!("rein-cli-jockey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let clip = dir.join("clip.mp4");
    std::fs::write(&clip, vec![0u8; 4096]).expect("file");

    let asset = json(&rein(
        &server,
        &["--json", "jockey", "assets", "upload", clip.to_str().expect("path"), "--wait"],
    ));
    assert_eq!(asset["status"], "ready", "{asset}");
    let asset_id = asset["_id"].as_str().expect("an id").to_owned();
    let by_url = json(&rein(
        &server,
        &["--json", "jockey", "assets", "upload", "--url", "https://example.com/a.mp4"],
    ));
    assert!(by_url["_id"].is_string(), "{by_url}");
    assert_eq!(
        json(&rein(&server, &["--json", "jockey", "assets", "list"])).as_array().map(Vec::len),
        Some(2)
    );

    let store = json(&rein(&server, &["--json", "jockey", "stores", "create", "cli test"]));
    let store_id = store["_id"].as_str().expect("a store id").to_owned();
    assert_eq!(
        json(&rein(&server, &["--json", "jockey", "stores", "get", &store_id]))["_id"],
        store_id.as_str()
    );
    let item = json(&rein(
        &server,
        &["--json", "jockey", "items", "add", "--store", &store_id, "--asset", &asset_id],
    ));
    let item_id = item["_id"].as_str().expect("an item id").to_owned();
    // Every pending item of the store, as one fleet.
    let ends = json(&rein(&server, &["--json", "jockey", "items", "wait", "--store", &store_id]));
    assert_eq!(ends.as_array().map(Vec::len), Some(1), "{ends}");
    assert_eq!(ends[0]["outcome"], "ready", "{ends}");
    let listed = json(&rein(&server, &["--json", "jockey", "items", "list", "--store", &store_id]));
    assert_eq!(listed[0]["_id"], item_id.as_str());
    let item =
        json(&rein(&server, &["--json", "jockey", "items", "get", "--store", &store_id, &item_id]));
    assert_eq!(item["status"], "ready");
    let stores = json(&rein(&server, &["--json", "jockey", "stores", "list"]));
    assert!(stores.as_array().is_some_and(|s| s.iter().any(|s| s["_id"] == store_id.as_str())));

    let answer =
        rein(&server, &["jockey", "ask", "--store", &store_id, "What happens?", "--stream"]);
    assert!(answer.status.success(), "{}", String::from_utf8_lossy(&answer.stderr));
    assert!(!String::from_utf8_lossy(&answer.stdout).trim().is_empty());
    let lines = rein(
        &server,
        &["--json", "jockey", "ask", "--store", &store_id, "What happens?", "--stream"],
    );
    for line in String::from_utf8_lossy(&lines.stdout).lines() {
        let piece: serde_json::Value = serde_json::from_str(line).expect("a JSON line per piece");
        assert!(piece["delta"].is_string());
    }
    let plain =
        json(&rein(&server, &["--json", "jockey", "ask", "--store", &store_id, "What happens?"]));
    assert!(plain["id"].is_string() || plain["output"].is_array(), "{plain}");

    let deleted = rein(&server, &["jockey", "stores", "delete", &store_id]);
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    std::fs::remove_dir_all(&dir).ok();
}
