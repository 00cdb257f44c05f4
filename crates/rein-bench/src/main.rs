//! `rein-bench`: what `cargo xtask bench` runs (in release).
//!
//! - `throughput EMULATOR_BIN`: the same GET against a rein-emulator process, by rein-async and a
//!   bare hyper-util client, and by rein-blocking and bare ureq, in interleaved rounds; prints the
//!   request rates and the ratios rein / bare measured in this one run.
//! - `upload EMULATOR_BIN BLOCKING|ASYNC`: a 200 MB direct upload through rein, in this process,
//!   reporting the peak resident memory (VmHWM) before and after.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const ROUNDS: usize = 7;
const REQUESTS_PER_ROUND: usize = 2_000;

fn main() -> Result {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["throughput", emulator] => throughput(emulator),
        ["upload", emulator, mode] => upload(emulator, mode),
        _ => {
            Err("usage: rein-bench throughput EMULATOR_BIN | upload EMULATOR_BIN blocking|async"
                .into())
        }
    }
}

/// A rein-emulator process, killed on drop.
struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start(bin: &str) -> Result<Emulator> {
        let mut child =
            Command::new(bin).args(["--addr", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn()?;
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

fn throughput(emulator_bin: &str) -> Result {
    let emulator = Emulator::start(emulator_bin)?;
    let url = emulator.url.clone();
    // Something to GET: a knowledge store.
    let store = jockey_blocking(&url)?
        .create_store(&rein_core::jockey::CreateKnowledgeStore::new("bench"))?;
    let store_id = store.id.ok_or("no id")?;
    let path = format!("/v1.3/knowledge-stores/{store_id}");
    let full = format!("{url}{path}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let rein_async = rein_async::Jockey::builder(rein_emulator::DEMO_JOCKEY_KEY)
        .base_url(format!("{url}/v1.3"))
        .build()?;
    let bare_hyper: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let rein_blocking = jockey_blocking(&url)?;
    let bare_ureq = ureq::Agent::new_with_config(
        ureq::Agent::config_builder().http_status_as_error(false).build(),
    );
    let get = rein_core::jockey::GetKnowledgeStore::new(&store_id);

    let mut rates: [Vec<f64>; 4] = Default::default();
    for round in 0..=ROUNDS {
        // Round 0 warms connections and caches up; it is not counted.
        let measured = [
            timed(|| {
                rt.block_on(async {
                    for _ in 0..REQUESTS_PER_ROUND {
                        let req = http::Request::get(&full)
                            .header("x-api-key", rein_emulator::DEMO_JOCKEY_KEY)
                            .body(http_body_util::Empty::new())?;
                        let resp = bare_hyper.request(req).await?;
                        let status = resp.status();
                        http_body_util::BodyExt::collect(resp.into_body()).await?;
                        assert!(status.is_success());
                    }
                    Ok(())
                })
            })?,
            timed(|| {
                rt.block_on(async {
                    for _ in 0..REQUESTS_PER_ROUND {
                        rein_async.call(&get).await?;
                    }
                    Ok(())
                })
            })?,
            timed(|| {
                for _ in 0..REQUESTS_PER_ROUND {
                    let mut resp = bare_ureq
                        .get(&full)
                        .header("x-api-key", rein_emulator::DEMO_JOCKEY_KEY)
                        .call()?;
                    resp.body_mut().read_to_vec()?;
                    assert!(resp.status().is_success());
                }
                Ok(())
            })?,
            timed(|| {
                for _ in 0..REQUESTS_PER_ROUND {
                    rein_blocking.call(&get)?;
                }
                Ok(())
            })?,
        ];
        if round > 0 {
            for (i, secs) in measured.into_iter().enumerate() {
                rates[i].push(REQUESTS_PER_ROUND as f64 / secs);
            }
        }
    }
    let [hyper_bare, rein_async, ureq_bare, rein_blocking] = rates.map(median);
    println!("GET {path} against rein-emulator, {ROUNDS} interleaved rounds of {REQUESTS_PER_ROUND} sequential requests (medians):");
    println!("| client | requests/s | ratio to bare |");
    println!("|---|---|---|");
    println!("| bare hyper-util | {hyper_bare:.0} | 1.000 |");
    println!("| rein-async | {rein_async:.0} | {:.3} |", rein_async / hyper_bare);
    println!("| bare ureq | {ureq_bare:.0} | 1.000 |");
    println!("| rein-blocking | {rein_blocking:.0} | {:.3} |", rein_blocking / ureq_bare);
    Ok(())
}

fn timed(f: impl FnOnce() -> Result) -> Result<f64> {
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

fn upload(emulator_bin: &str, mode: &str) -> Result {
    let emulator = Emulator::start(emulator_bin)?;
    // Exactly the direct-upload limit, 200 MB (200 x 2^20 bytes), written as real data so the
    // whole file is read from disk while it is sent.
    let size: u64 = rein_core::jockey::assets::DIRECT_UPLOAD_MAX_BYTES;
    let path = std::env::temp_dir().join(format!("rein-bench-upload-{}.bin", std::process::id()));
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
    std::fs::remove_file(&path).ok();
    println!(
        "| rein-{mode} | {} MiB | {:.1} s | {:.1} MiB | {:.1} MiB | {} |",
        size >> 20,
        elapsed.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        asset.id.unwrap_or_default()
    );
    Ok(())
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
