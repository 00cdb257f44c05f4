//! The server driven with plain HTTP over loopback (std `TcpStream`, no rein client): statuses,
//! bodies, jack's limit, auth, faults acted out on the wire, and the binary's first line.
//! Time is a manual clock (or a scaled one nobody waits on): no test sleeps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rein_emulator::{
    spawn, Clock, Config, FaultKind, FaultPlan, RunningServer, ServerConfig, DEMO_JACK_KEY,
    DEMO_JOCKEY_KEY,
};
use serde_json::{json, Value};

#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one request on a fresh connection and reads until the server closes it.
fn exchange(addr: SocketAddr, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    Ok(out)
}

fn request_head(method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: emulator\r\nconnection: close\r\ncontent-length: {len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

fn parse(raw: &[u8]) -> Raw {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Raw { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

fn call(
    server: &RunningServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Raw {
    let head = request_head(method, path, headers, body.len());
    parse(&exchange(server.addr(), &head, body).expect("exchange"))
}

fn jockey(server: &RunningServer, method: &str, path: &str, body: Option<Value>) -> Raw {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    call(
        server,
        method,
        &format!("/v1.3{path}"),
        &[("x-api-key", DEMO_JOCKEY_KEY), ("content-type", "application/json")],
        bytes.as_bytes(),
    )
}

fn jack(server: &RunningServer, method: &str, path: &str, body: Option<Value>) -> Raw {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = format!("Bearer {DEMO_JACK_KEY}");
    call(
        server,
        method,
        &format!("/v1{path}"),
        &[("authorization", auth.as_str()), ("content-type", "application/json")],
        bytes.as_bytes(),
    )
}

/// A multipart body: text fields, then a file part of `len` bytes.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, usize)>) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--BOUNDARY\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, filename, len)) = file {
        body.extend_from_slice(format!("--BOUNDARY\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\ncontent-type: application/octet-stream\r\n\r\n").as_bytes());
        // Bytes that look like the start of a delimiter, to exercise the scanner's carry.
        body.extend((0..len).map(|i| if i % 1000 == 0 { b'\r' } else { b'-' }));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--BOUNDARY--\r\n");
    body
}

const FORM: &str = "multipart/form-data; boundary=BOUNDARY";

fn test_server(config: Config) -> RunningServer {
    spawn(ServerConfig::for_tests(config)).expect("server")
}

#[test]
fn assets_and_documents_over_http() {
    let server = test_server(Config::default());
    let body = multipart(&[("method", "direct")], Some(("file", "clip.mp4", 3 << 20)));
    let r = call(
        &server,
        "POST",
        "/v1.3/assets",
        &[("x-api-key", DEMO_JOCKEY_KEY), ("content-type", FORM)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.json()["_id"].as_str().expect("id").to_owned();
    assert_eq!(r.json()["status"], "processing");
    let got = jockey(&server, "GET", &format!("/assets/{id}"), None);
    assert_eq!(got.json()["size"], 3 << 20);
    assert_eq!(got.json()["status"], "processing");
    assert!(server.advance(Duration::from_secs(61)));
    let got = jockey(&server, "GET", &format!("/assets/{id}"), None);
    assert_eq!(got.json()["status"], "ready");

    let r = jack(
        &server,
        "POST",
        "/ingest",
        Some(json!({"documents": [{"text": "the refund policy is 30 days"}]})),
    );
    assert_eq!(r.status, 202);
    let doc = r.json()["document_ids"][0].as_str().expect("id").to_owned();
    assert_eq!(
        jack(&server, "GET", &format!("/documents/{doc}"), None).json()["status"],
        "processing"
    );
    server.advance(Duration::from_secs(60));
    assert_eq!(jack(&server, "GET", &format!("/documents/{doc}"), None).json()["status"], "ready");
    let r = jack(&server, "GET", "/documents/not-a-document", None);
    assert_eq!((r.status, r.json()), (404, json!({"detail": "Document not found"})));

    let log = server.log();
    assert_eq!(log.len(), 7);
    assert_eq!(log.iter().filter(|e| e.state_changed).count(), 2);
}

#[test]
fn the_61st_jack_request_inside_a_minute_gets_429_with_retry_after() {
    let server = test_server(Config::default());
    for i in 0..60 {
        let r = jack(&server, "GET", "/usage", None);
        assert_eq!(r.status, 200, "request {}", i + 1);
        server.advance(Duration::from_millis(900));
    }
    let r = jack(&server, "GET", "/documents", None);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("60"));
    assert_eq!(r.json(), json!({"detail": "Rate limit exceeded"}));
    // Jockey is not affected by jack's limit.
    assert_eq!(jockey(&server, "GET", "/assets", None).status, 200);
    server.advance(Duration::from_secs(60));
    assert_eq!(jack(&server, "GET", "/usage", None).status, 200);
}

#[test]
fn auth_in_each_apis_shape() {
    let server = test_server(Config::default());
    let r = call(&server, "GET", "/v1.3/assets", &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "unauthorized");
    assert!(r.json()["docs_url"].is_string());
    let r = call(&server, "GET", "/v1/documents", &[("authorization", "Bearer jack_nope")], b"");
    assert_eq!(r.status, 401);
    assert!(r.json()["detail"].is_string());

    let created = jack(&server, "POST", "/keys", Some(json!({"label": "temp"})));
    assert_eq!(created.status, 201);
    let key = created.json()["key"].as_str().expect("key").to_owned();
    let id = created.json()["id"].as_str().expect("id").to_owned();
    let auth = format!("Bearer {key}");
    let with_new_key =
        || call(&server, "GET", "/v1/usage", &[("authorization", auth.as_str())], b"");
    assert_eq!(with_new_key().status, 200);
    assert_eq!(jack(&server, "DELETE", &format!("/keys/{id}"), None).status, 204);
    let r = with_new_key();
    assert_eq!((r.status, r.json()), (403, json!({"detail": "API key has been revoked"})));
}

#[test]
fn custom_keys_replace_the_demo_keys() {
    let server =
        test_server(Config { jockey_keys: vec!["tlk_custom".into()], ..Config::default() });
    assert_eq!(jockey(&server, "GET", "/assets", None).status, 401);
    let r = call(&server, "GET", "/v1.3/assets", &[("x-api-key", "tlk_custom")], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn a_reset_before_processing_answers_nothing_and_changes_nothing() {
    let server = test_server(Config {
        faults: FaultPlan::only(FaultKind::ResetBeforeProcessing, 1.0),
        ..Config::default()
    });
    let body = json!({"documents": [{"text": "x"}]}).to_string();
    let auth = format!("Bearer {DEMO_JACK_KEY}");
    let head = request_head(
        "POST",
        "/v1/ingest",
        &[("authorization", &auth), ("content-type", "application/json")],
        body.len(),
    );
    match exchange(server.addr(), &head, body.as_bytes()) {
        Ok(bytes) => assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes)),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
            ),
            "{e}"
        ),
    }
    let log = server.log();
    assert_eq!(log[0].fault, Some(FaultKind::ResetBeforeProcessing));
    assert!(!log[0].state_changed);
    server.with_emulator(|e| assert_eq!(e.log().total(), 1));
}

#[test]
fn a_reset_after_processing_leaves_the_creation_in_the_log() {
    let server = test_server(Config {
        faults: FaultPlan::only(FaultKind::ResetAfterProcessing, 1.0),
        ..Config::default()
    });
    let body = json!({"name": "s"}).to_string();
    let head = request_head(
        "POST",
        "/v1.3/knowledge-stores",
        &[("x-api-key", DEMO_JOCKEY_KEY), ("content-type", "application/json")],
        body.len(),
    );
    for _ in 0..2 {
        let got = exchange(server.addr(), &head, body.as_bytes()).unwrap_or_default();
        assert!(got.is_empty());
    }
    let log = server.log();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.state_changed && e.status == 201));
}

#[test]
fn a_truncated_body_is_shorter_than_its_content_length() {
    let server = test_server(Config {
        faults: FaultPlan::only(FaultKind::TruncatedBody, 1.0),
        ..Config::default()
    });
    let auth = format!("Bearer {DEMO_JACK_KEY}");
    let head = request_head("GET", "/v1/usage", &[("authorization", &auth)], 0);
    let bytes = match exchange(server.addr(), &head, b"") {
        Ok(b) => b,
        Err(e) => panic!("the head and part of the body arrive before the close: {e}"),
    };
    let r = parse(&bytes);
    assert_eq!(r.status, 200);
    let declared: usize =
        r.header("content-length").expect("content-length").parse().expect("number");
    assert!(r.body.len() < declared, "{} of {declared}", r.body.len());
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
}

#[test]
fn injected_5xx_can_be_proxy_html() {
    let mut plan = FaultPlan::only(FaultKind::GatewayTimeout, 1.0);
    plan.html_share = 1.0;
    let server = test_server(Config { faults: plan, ..Config::default() });
    let r = jockey(&server, "GET", "/assets", None);
    assert_eq!(r.status, 504);
    assert!(r.header("content-type").unwrap_or("").starts_with("text/html"));
    let page = String::from_utf8_lossy(&r.body);
    assert!(page.contains("<title>504 Gateway Time-out</title>"), "{page}");
}

#[test]
fn a_slow_response_arrives_late_in_scaled_time() {
    // At 10,000x a 1-10 s emulated delay is at most a millisecond of real time.
    let server = spawn(ServerConfig {
        clock: Clock::scaled(10_000.0),
        emulator: Config {
            faults: FaultPlan::only(FaultKind::SlowResponse, 1.0),
            ..Config::default()
        },
        ..ServerConfig::default()
    })
    .expect("server");
    let r = jack(&server, "GET", "/usage", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["rate_limit_rpm"], 60);
    assert_eq!(server.log()[0].fault, Some(FaultKind::SlowResponse));
}

#[test]
fn retry_after_is_converted_to_real_time_under_a_speed() {
    // At 2x, jack's 60 s becomes 30 real seconds; nobody waits for them.
    let server = spawn(ServerConfig {
        clock: Clock::scaled(2.0),
        emulator: Config { jack_rpm: 1, ..Config::default() },
        ..ServerConfig::default()
    })
    .expect("server");
    assert_eq!(jack(&server, "GET", "/usage", None).status, 200);
    let r = jack(&server, "GET", "/usage", None);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert_eq!(r.header("retry-after-ms"), Some("30000"));
}

#[test]
fn a_streamed_response_arrives_in_chunks() {
    let server = test_server(Config::default());
    let store = jockey(&server, "POST", "/knowledge-stores", Some(json!({"name": "s"})));
    let store = store.json()["_id"].as_str().expect("id").to_owned();
    let r = jockey(
        &server,
        "POST",
        "/responses",
        Some(json!({
            "tools": [{"type": "knowledge_store", "knowledge_store_id": store}],
            "input": [{"type": "message", "role": "user", "content": "hello"}],
            "stream": true
        })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.starts_with("event: response.created\ndata: {"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn bad_forms_and_oversized_bodies_get_typed_errors() {
    let server = test_server(Config::default());
    let r = call(
        &server,
        "POST",
        "/v1.3/assets",
        &[("x-api-key", DEMO_JOCKEY_KEY), ("content-type", FORM)],
        b"--BOUNDARY\r\ncontent-disposition: form-data; name=\"method\"\r\n\r\ndirect",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "invalid_request");
    let auth = format!("Bearer {DEMO_JACK_KEY}");
    let r = call(
        &server,
        "POST",
        "/v1/ingest/file",
        &[("authorization", &auth), ("content-type", FORM)],
        &multipart(&[], Some(("file", "notes.md", 64 * 1024))),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let big = vec![b' '; rein_emulator::server::BODY_LIMIT + 1];
    let r = call(
        &server,
        "POST",
        "/v1/ingest",
        &[("authorization", &auth), ("content-type", "application/json")],
        &big,
    );
    assert_eq!(r.status, 413);
    assert!(r.json()["detail"].is_string());
}

#[test]
fn the_log_is_served_as_json() {
    let server = test_server(Config::default());
    jockey(&server, "GET", "/assets", None);
    jack(&server, "GET", "/usage", None);
    let r = call(&server, "GET", "/_emulator/log", &[], b"");
    assert_eq!(r.status, 200);
    let log = r.json();
    assert_eq!(log.as_array().map(Vec::len), Some(2));
    assert_eq!(log[1]["api"], "jack");
    assert_eq!(log[1]["path"], "/v1/usage");
    let r = call(&server, "GET", "/_emulator/log?after=1", &[], b"");
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
}

#[test]
fn the_binary_prints_its_address_first_and_serves() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rein-emulator"))
        .args(["--addr", "127.0.0.1:0", "--seed", "7", "--faults", "0", "--speed", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a first line");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .parse::<SocketAddr>();
    let result = addr.map(|addr| {
        let head = request_head("GET", "/v1.3/assets", &[("x-api-key", DEMO_JOCKEY_KEY)], 0);
        exchange(addr, &head, b"").map(|b| parse(&b).status)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(result.expect("an address").expect("a response"), 200);
}

#[test]
fn the_binary_documents_every_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rein-emulator"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--seed",
        "--faults",
        "--speed",
        "--jack-rpm",
        "--jockey-key",
        "--jack-key",
        DEMO_JOCKEY_KEY,
        DEMO_JACK_KEY,
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn the_binary_says_where_each_api_is_with_which_key_and_how_fast() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rein-emulator"))
        .args(["--addr", "127.0.0.1:0", "--speed", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("text");
    let first = next();
    let url = first.strip_prefix("listening on ").expect("the first line is unchanged").to_owned();
    let (jockey, jack, speed) = (next(), next(), next());
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        jockey.contains(&format!("{url}/v1.3")) && jockey.contains(DEMO_JOCKEY_KEY),
        "{jockey}"
    );
    assert!(jack.contains(&format!("{url}/v1 ")) && jack.contains(DEMO_JACK_KEY), "{jack}");
    assert!(speed.contains(".time_scale(60.0)"), "{speed}");
}

#[test]
fn a_trickled_body_arrives_whole_and_slowly_in_scaled_time() {
    // At 100x, seven 1 s intervals between eight pieces are 70 ms of real time.
    let mut plan = FaultPlan::only(FaultKind::Trickle, 1.0);
    plan.trickle_every = rein_emulator::Span::secs(1, 1);
    let server = spawn(ServerConfig {
        clock: Clock::scaled(100.0),
        emulator: Config { faults: plan, ..Config::default() },
        ..ServerConfig::default()
    })
    .expect("server");
    let started = std::time::Instant::now();
    let r = jack(&server, "GET", "/usage", None);
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length").map(str::parse::<usize>), Some(Ok(r.body.len())));
    assert_eq!(r.json()["rate_limit_rpm"], 60, "the whole body");
    assert!(took >= Duration::from_millis(60), "{took:?}");
    assert_eq!(server.log()[0].fault, Some(FaultKind::Trickle));
}

#[test]
fn a_trickled_event_stream_sends_keepalives_between_its_events() {
    let server = test_server(Config::default());
    let store = jockey(&server, "POST", "/knowledge-stores", Some(json!({"name": "s"})));
    let store = store.json()["_id"].as_str().expect("id").to_owned();
    server.with_emulator(|e| e.set_fault_plan(FaultPlan::only(FaultKind::Trickle, 1.0)));
    let r = jockey(
        &server,
        "POST",
        "/responses",
        Some(json!({
            "knowledge_store_id": store,
            "input": [{"type": "message", "role": "user", "content": "hello"}],
            "stream": true
        })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.starts_with("event: response.created\ndata: {"), "{text}");
    assert!(text.contains("\n\n: keepalive\n\nevent: response.in_progress"), "{text}");
    assert!(text.ends_with(": keepalive\n\ndata: [DONE]\n\n"), "{text}");
}

#[test]
fn a_slow_proxys_create_lands_after_its_504() {
    let mut plan = FaultPlan::only(FaultKind::SlowProxy, 1.0);
    plan.slow_proxy_delay = rein_emulator::Span::secs(10, 10);
    let server = test_server(Config { faults: plan, ..Config::default() });
    let r = jockey(&server, "POST", "/knowledge-stores", Some(json!({"name": "late"})));
    assert!(matches!(r.status, 502 | 504), "{r:?}");
    assert_eq!(server.log().len(), 1, "not carried out yet");
    server.advance(Duration::from_secs(10));
    let log = server.log();
    assert_eq!(log.len(), 2, "landed: {log:?}");
    assert_eq!((log[1].status, log[1].state_changed, log[1].landing_of), (201, true, Some(1)));
    server.with_emulator(|e| e.set_fault_plan(FaultPlan::none()));
    let stores = jockey(&server, "GET", "/knowledge-stores", None);
    assert_eq!(stores.json()["data"][0]["name"], "late");
}
