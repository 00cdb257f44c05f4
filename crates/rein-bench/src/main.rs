//! `rein-bench`: what `cargo xtask bench` runs (in release).
//!
//! - `throughput EMULATOR_BIN`: the same GET against a rein-emulator process, by rein-async and a
//!   bare hyper-util client, and by rein-blocking and bare ureq, in interleaved rounds; prints the
//!   request rates and the ratios rein / bare measured in this one run. Each bare client does
//!   what a caller without rein would: send the GET, read the body, decode the same JSON.
//! - `upload EMULATOR_BIN BLOCKING|ASYNC`: a 200 MB direct upload through rein, in this process,
//!   reporting the peak resident memory (VmHWM) before and after.
//! - `redis`: acquisitions through rein-redis's limiters against a `redis-server` of its own, from
//!   one caller and from eight, with the latency of one (p50, p99).
//! - `fleet EMULATOR_BIN`: 10,000 jack documents ingested into a rein-emulator process (speed
//!   60), then rein-async's `wait_all` on all of them, reporting the peak resident memory.

#![forbid(unsafe_code)]

mod redis_budget;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rein_core::jockey::KnowledgeStore;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A bare client's round and rein's, with their names.
type Pair<'a> = (&'a str, &'a dyn Fn() -> Result, &'a str, &'a dyn Fn() -> Result);

const ROUNDS: usize = 201;
const REQUESTS_PER_ROUND: usize = 1_000;
const CONCURRENCY: usize = 8;

/// The timeouts every client gets, bare or not: rein never runs without them, so neither does the
/// baseline (ureq, for one, arms socket timeouts on every read and write once they are set).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

fn main() -> Result {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["throughput", emulator] => throughput(emulator, None),
        ["one", emulator, client] => throughput(emulator, Some(client)),
        ["overhead"] => overhead(),
        ["upload", emulator, mode] => {
            upload(emulator, mode, rein_core::jockey::assets::DIRECT_UPLOAD_MAX_BYTES)
        }
        ["upload", emulator, mode, bytes] => upload(emulator, mode, bytes.parse()?),
        ["fleet", emulator] => fleet(emulator),
        ["redis"] => redis_budget::run(),
        _ => Err("usage: rein-bench throughput EMULATOR_BIN | upload EMULATOR_BIN blocking|async \
                 | fleet EMULATOR_BIN | redis"
            .into()),
    }
}

/// A rein-emulator process, killed on drop.
struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start(bin: &str) -> Result<Emulator> {
        Emulator::start_with(bin, &[])
    }

    fn start_with(bin: &str, args: &[&str]) -> Result<Emulator> {
        // The emulator inherits this process's CPU affinity (`cargo xtask bench` pins both to
        // CPU 0) unless REIN_BENCH_EMULATOR_CPU names another CPU for it.
        let mut command = match std::env::var("REIN_BENCH_EMULATOR_CPU") {
            Ok(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &cpu, bin]);
                c
            }
            Err(_) => Command::new(bin),
        };
        let mut child =
            command.args(["--addr", "127.0.0.1:0"]).args(args).stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .ok_or(format!("unexpected first line {first:?}"))?
            .to_owned();
        Ok(Emulator { child, url })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn jockey_blocking(url: &str) -> Result<rein_blocking::Jockey> {
    Ok(rein_blocking::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(format!("{url}/v1.3"))
        .build()?)
}

/// Runs every client in interleaved rounds, or only `only` (for profiling one of them).
fn throughput(emulator_bin: &str, only: Option<&str>) -> Result {
    let emulator = Emulator::start(emulator_bin)?;
    let url = emulator.url.clone();
    // Something to GET: a knowledge store.
    let store = jockey_blocking(&url)?
        .create_store(&rein_core::jockey::CreateKnowledgeStore::new("bench"))?;
    let store_id = store.id;
    let path = format!("/v1.3/knowledge-stores/{store_id}");
    let full = format!("{url}{path}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let rein_async = rein_async::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(format!("{url}/v1.3"))
        .build()?;
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let bare_hyper: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let rein_blocking = jockey_blocking(&url)?;
    let bare_ureq = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build(),
    );
    let get = rein_core::jockey::GetKnowledgeStore::new(&store_id);
    // The bare clients send the very request rein sends: the same headers, byte for byte.
    let target = rein_core::Target::allow_insecure_http(
        rein_core::Api::Jockey,
        &format!("{url}/v1.3"),
        rein_emulator::DEMO_JOCKEY_KEY,
    )?;
    let same_headers = rein_core::ApiCall::to_request(&get, &target)?.all_headers();

    let rounds =
        std::env::var("REIN_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(ROUNDS);
    let bare_hyper_round = || -> Result {
        rt.block_on(async {
            for _ in 0..REQUESTS_PER_ROUND {
                let mut req = http::Request::get(&full).body(http_body_util::Empty::new())?;
                *req.headers_mut() = same_headers.clone();
                let resp = tokio::time::timeout(REQUEST_TIMEOUT, bare_hyper.request(req)).await??;
                let status = resp.status();
                let body = http_body_util::BodyExt::collect(resp.into_body()).await?.to_bytes();
                assert!(status.is_success());
                std::hint::black_box(serde_json::from_slice::<KnowledgeStore>(&body)?);
            }
            Ok(())
        })
    };
    let rein_async_round = || -> Result {
        rt.block_on(async {
            for _ in 0..REQUESTS_PER_ROUND {
                std::hint::black_box(rein_async.call(&get).await?);
            }
            Ok(())
        })
    };
    let bare_ureq_round = || -> Result {
        for _ in 0..REQUESTS_PER_ROUND {
            let mut req = http::Request::get(&full).body(())?;
            *req.headers_mut() = same_headers.clone();
            let mut resp = bare_ureq.run(req)?;
            let body = resp.body_mut().read_to_vec()?;
            assert!(resp.status().is_success());
            std::hint::black_box(serde_json::from_slice::<KnowledgeStore>(&body)?);
        }
        Ok(())
    };
    // ureq as it comes, without timeouts: with them, ureq resolves the host on a new thread for
    // every request (rein's transport takes an IP address as it is), so this is the faster baseline.
    let plain_ureq = ureq::Agent::new_with_config(
        ureq::Agent::config_builder().http_status_as_error(false).build(),
    );
    let plain_ureq_round = || -> Result {
        for _ in 0..REQUESTS_PER_ROUND {
            let mut req = http::Request::get(&full).body(())?;
            *req.headers_mut() = same_headers.clone();
            let mut resp = plain_ureq.run(req)?;
            let body = resp.body_mut().read_to_vec()?;
            assert!(resp.status().is_success());
            std::hint::black_box(serde_json::from_slice::<KnowledgeStore>(&body)?);
        }
        Ok(())
    };
    let rein_blocking_round = || -> Result {
        for _ in 0..REQUESTS_PER_ROUND {
            std::hint::black_box(rein_blocking.call(&get)?);
        }
        Ok(())
    };

    // The same work with CONCURRENCY requests in flight: async clients on a two-worker runtime,
    // blocking clients on as many threads. This is throughput proper; the sequential rounds above
    // measure the per-request latency rein adds.
    let mt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let per_task = REQUESTS_PER_ROUND / CONCURRENCY;
    // Fresh clients: a pooled connection belongs to the runtime that opened it.
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let bare_hyper_mt: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let rein_async_mt = rein_async::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(format!("{url}/v1.3"))
        .build()?;
    let bare_hyper_parallel = || -> Result {
        mt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..CONCURRENCY {
                let (client, full, headers) =
                    (bare_hyper_mt.clone(), full.clone(), same_headers.clone());
                tasks.spawn(async move {
                    for _ in 0..per_task {
                        let mut req =
                            http::Request::get(&full).body(http_body_util::Empty::new())?;
                        *req.headers_mut() = headers.clone();
                        let resp =
                            tokio::time::timeout(REQUEST_TIMEOUT, client.request(req)).await??;
                        let body =
                            http_body_util::BodyExt::collect(resp.into_body()).await?.to_bytes();
                        std::hint::black_box(serde_json::from_slice::<KnowledgeStore>(&body)?);
                    }
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                });
            }
            while let Some(done) = tasks.join_next().await {
                done?.map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    };
    let rein_async_parallel = || -> Result {
        mt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..CONCURRENCY {
                let (client, get) = (rein_async_mt.clone(), get.clone());
                tasks.spawn(async move {
                    for _ in 0..per_task {
                        std::hint::black_box(client.call(&get).await?);
                    }
                    Ok::<_, rein_core::Error>(())
                });
            }
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            Ok(())
        })
    };
    let threads = |work: &(dyn Fn() -> Result + Sync)| -> Result {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..CONCURRENCY)
                .map(|_| scope.spawn(|| work().map_err(|e| e.to_string())))
                .collect();
            for h in handles {
                h.join().map_err(|_| "a worker panicked")??;
            }
            Ok(())
        })
    };
    let bare_ureq_parallel = || -> Result {
        threads(&|| {
            for _ in 0..per_task {
                let mut req = http::Request::get(&full).body(())?;
                *req.headers_mut() = same_headers.clone();
                let mut resp = plain_ureq.run(req)?;
                let body = resp.body_mut().read_to_vec()?;
                std::hint::black_box(serde_json::from_slice::<KnowledgeStore>(&body)?);
            }
            Ok(())
        })
    };
    let rein_blocking_parallel = || -> Result {
        threads(&|| {
            for _ in 0..per_task {
                std::hint::black_box(rein_blocking.call(&get)?);
            }
            Ok(())
        })
    };

    if let Some(client) = only {
        // One client alone, for profiling.
        let round: &dyn Fn() -> Result = match client {
            "bare-hyper" => &bare_hyper_round,
            "rein-async" => &rein_async_round,
            "bare-ureq" => &bare_ureq_round,
            "plain-ureq" => &plain_ureq_round,
            "rein-blocking" => &rein_blocking_round,
            other => return Err(format!("unknown client {other:?}").into()),
        };
        for _ in 0..=rounds {
            round()?;
        }
        return Ok(());
    }

    // Each pair runs back to back, the order swapped every round, so drift in the machine's load
    // hits both sides alike; the ratio is taken per round, then the median over rounds.
    let mut pairs: Vec<Pair<'_>> = vec![
        ("bare hyper-util", &bare_hyper_round, "rein-async", &rein_async_round),
        ("bare ureq", &bare_ureq_round, "rein-blocking", &rein_blocking_round),
        ("bare ureq, no timeouts", &plain_ureq_round, "rein-blocking", &rein_blocking_round),
        (
            "bare hyper-util, 8 in flight",
            &bare_hyper_parallel,
            "rein-async, 8 in flight",
            &rein_async_parallel,
        ),
        (
            "bare ureq, no timeouts, 8 threads",
            &bare_ureq_parallel,
            "rein-blocking, 8 threads",
            &rein_blocking_parallel,
        ),
    ];
    // rein-async's machines over a bare hyper-util client: what the core and driver cost alone.
    let hyper_for_rein = bare_hyper.clone();
    let rein_over_bare = rein_async::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(format!("{url}/v1.3"))
        .transport(move |req: http::Request<rein_core::Body>| {
            let client = hyper_for_rein.clone();
            async move {
                let (parts, _) = req.into_parts();
                let req = http::Request::from_parts(parts, http_body_util::Empty::new());
                let resp = client.request(req).await.map_err(|e| {
                    rein_core::TransportError::after_send(
                        rein_core::TransportErrorKind::Other,
                        e.to_string(),
                    )
                })?;
                let (parts, body) = resp.into_parts();
                let body = http_body_util::BodyExt::collect(body).await.map_err(|e| {
                    rein_core::TransportError::after_send(
                        rein_core::TransportErrorKind::Reset,
                        e.to_string(),
                    )
                })?;
                Ok(http::Response::from_parts(parts, body.to_bytes()))
            }
        })
        .build()?;
    let rein_over_bare_round = || -> Result {
        rt.block_on(async {
            for _ in 0..REQUESTS_PER_ROUND {
                std::hint::black_box(rein_over_bare.call(&get).await?);
            }
            Ok(())
        })
    };
    if std::env::var_os("REIN_BENCH_AA").is_some() {
        pairs.push((
            "bare hyper-util",
            &bare_hyper_round,
            "rein-async machines over bare hyper",
            &rein_over_bare_round,
        ));
        // A/A: each bare client against itself, to show the method's own bias and spread.
        pairs.push(("bare hyper-util", &bare_hyper_round, "bare hyper-util", &bare_hyper_round));
        pairs.push(("bare ureq", &bare_ureq_round, "bare ureq", &bare_ureq_round));
    }
    println!(
        "GET {path} against a rein-emulator process: {rounds} rounds per pair of {REQUESTS_PER_ROUND} sequential \
         requests per client, the same request bytes and the same JSON decoding on both sides, every client with a \
         {CONNECT_TIMEOUT:?} connect and {REQUEST_TIMEOUT:?} request timeout unless the row says otherwise."
    );
    println!();
    println!("| bare client | req/s (median) | rein | req/s (median) | ratio rein/bare: median | min | max |");
    println!("|---|---|---|---|---|---|---|");
    for (bare_name, bare, rein_name, rein) in pairs {
        bare()?;
        rein()?; // warm-up, not counted
        let (mut bare_rates, mut rein_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (b, r) = if round % 2 == 0 {
                let b = timed(bare)?;
                (b, timed(rein)?)
            } else {
                let r = timed(rein)?;
                (timed(bare)?, r)
            };
            bare_rates.push(REQUESTS_PER_ROUND as f64 / b);
            rein_rates.push(REQUESTS_PER_ROUND as f64 / r);
            ratios.push(b / r);
        }
        let (lo, hi) = (
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "| {bare_name} | {:.0} | {rein_name} | {:.0} | {:.3} | {lo:.3} | {hi:.3} |",
            median(bare_rates),
            median(rein_rates),
            median(ratios)
        );
    }
    Ok(())
}

fn timed(f: &dyn Fn() -> Result) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Peak resident set size of this process so far, from `/proc/self/status` (Linux).
fn peak_rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).ok_or("no value")?.parse()?)
}

/// Uploads a file of `size` bytes, written as real data so the whole file is read from disk
/// while it is sent: up to 200 MiB directly, above it by the multipart flow (chunks to presigned
/// URLs, a few side by side).
fn upload(emulator_bin: &str, mode: &str, size: u64) -> Result {
    let emulator = Emulator::start(emulator_bin)?;
    let path = std::env::temp_dir().join(format!("rein-bench-upload-{}.mp4", std::process::id()));
    write_file(&path, size)?;
    let before = peak_rss_kib()?;
    let start = Instant::now();
    let asset = match mode {
        "blocking" => jockey_blocking(&emulator.url)?.upload_file(&path)?,
        "async" => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let client = rein_async::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
                .base_url(format!("{}/v1.3", emulator.url))
                .request_timeout(Duration::from_secs(600))
                .build()?;
            rt.block_on(client.upload_file(&path))?
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    let elapsed = start.elapsed();
    let after = peak_rss_kib()?;
    // The server must have received every byte: it reports the size it counted.
    let detail = jockey_blocking(&emulator.url)?.get_asset(&asset.id)?;
    if detail.size != Some(size) {
        return Err(format!("the emulator counted {:?} bytes, not {size}", detail.size).into());
    }
    std::fs::remove_file(&path).ok();
    let how = if size > rein_core::jockey::assets::DIRECT_UPLOAD_MAX_BYTES {
        "multipart"
    } else {
        "direct"
    };
    println!(
        "| rein-{mode} | {} MiB, {how} | {:.1} s | {:.1} MiB | {:.1} MiB | {} |",
        size >> 20,
        elapsed.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        asset.id
    );
    Ok(())
}

/// Documents a fleet waits on in the memory benchmark.
const FLEET_DOCUMENTS: usize = 10_000;

fn fleet(emulator_bin: &str) -> Result {
    let speed = 60.0;
    let emulator = Emulator::start_with(emulator_bin, &["--speed", "60"])?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let jack = rein_async::Jack::builder(rein_emulator::DEMO_JACK_KEY)
        .base_url(&emulator.url)
        .time_scale(speed)
        .build()?;
    rt.block_on(async {
        let documents = (0..FLEET_DOCUMENTS)
            .map(|i| rein_core::jack::NewDocument::new(format!("Policy note {i}: refunds take {} days.", 3 + i % 5)));
        let report = jack.ingest_many(documents).await?;
        let ids: Vec<_> = report.document_ids().into_iter().flatten().collect();
        if ids.len() != FLEET_DOCUMENTS {
            return Err(format!("{} of {FLEET_DOCUMENTS} documents accepted", ids.len()).into());
        }
        let before = peak_rss_kib()?;
        let start = Instant::now();
        let ends = jack.wait_all(rein_core::Fleet::documents(ids)).await?;
        let elapsed = start.elapsed();
        let after = peak_rss_kib()?;
        let ready = ends.count(rein_core::Outcome::Ready);
        if ends.finished.len() != FLEET_DOCUMENTS {
            return Err(format!("{} ends for {FLEET_DOCUMENTS} documents", ends.finished.len()).into());
        }
        println!(
            "| rein-async wait_all | {FLEET_DOCUMENTS} documents | {:.1} s | {ready} ready | {:.1} MiB | {:.1} MiB |",
            elapsed.as_secs_f64(),
            before as f64 / 1024.0,
            after as f64 / 1024.0,
        );
        Ok(())
    })
}

fn write_file(path: &std::path::Path, size: u64) -> Result {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let chunk: Vec<u8> =
        (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(())
}

/// rein's own cost per call, with a transport that answers at once from memory.
fn overhead() -> Result {
    let body = bytes::Bytes::from_static(
        br#"{"_id":"ks_1","name":"bench","item_count":0,"created_at":"2026-01-01T00:00:00Z"}"#,
    );
    let transport = move |_req: http::Request<rein_core::Body>| {
        let mut r = http::Response::new(body.clone());
        r.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
        Ok(r)
    };
    let client = rein_blocking::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .transport(transport)
        .build()?;
    let get = rein_core::jockey::GetKnowledgeStore::new("ks_1");
    let n = 200_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(client.call(&get)?);
    }
    let per_call = start.elapsed() / n;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(serde_json::from_slice::<KnowledgeStore>(
            br#"{"_id":"ks_1","name":"bench","item_count":0,"created_at":"2026-01-01T00:00:00Z"}"#,
        )?);
    }
    let decode = start.elapsed() / n;
    println!("rein-blocking call with an in-memory transport: {per_call:?} per call (of which decoding the JSON: {decode:?})");

    let body = bytes::Bytes::from_static(
        br#"{"_id":"ks_1","name":"bench","item_count":0,"created_at":"2026-01-01T00:00:00Z"}"#,
    );
    let transport = move |_req: http::Request<rein_core::Body>| {
        let body = body.clone();
        async move { Ok(http::Response::new(body)) }
    };
    let client =
        rein_async::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY).transport(transport).build()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..n {
            std::hint::black_box(client.call(&get).await?);
        }
        Ok::<_, rein_core::Error>(())
    })?;
    println!("rein-async call with an in-memory transport: {:?} per call", start.elapsed() / n);
    Ok(())
}
