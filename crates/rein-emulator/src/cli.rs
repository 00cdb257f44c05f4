//! The emulator's command line, shared by the `rein-emulator` binary and `rein emulator`:
//! serves the Jockey and jack emulator on one port until killed, and the presigned chunk URLs
//! of multipart uploads on a second port of the same address.
//!
//! The first line on stdout is `listening on http://HOST:PORT`; tools wait for it and read
//! the port from it. The fifth, `chunks: http://HOST:PORT2 ...`, says where chunk `PUT`s go.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::server::presigned_base;
use crate::{
    serve, serve_presigned, Clock, Config, Emulator, FaultPlan, Shared, DEMO_JACK_KEY,
    DEMO_JOCKEY_KEY,
};
use clap::Parser;

const AFTER_HELP: &str = "\
Jockey is served under /v1.3 (header x-api-key), jack under /v1 (Authorization: Bearer ...).
Demo keys, accepted when no key is given:
  Jockey: tlk_DEMO0EMULATOR0KEY0000000000000
  jack:   jack_emulatordemokey000000000000000000000000000000000
Multipart uploads' presigned chunk URLs point at a second port of the same address (printed
on the fifth line, `chunks: ...`); they take no key.
The request log is served as JSON at GET /_emulator/log (?after=SEQ for newer entries).";

/// A local Jockey + jack server with seeded fault injection, for tests and demos.
#[derive(Debug, Parser)]
#[command(name = "rein-emulator", version, after_help = AFTER_HELP)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on the first line).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,

    /// Seed for every random draw: ids, processing times, failures and faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Total per-request fault probability (0..=1), spread evenly over 500, 502, 503, 504,
    /// 429 bursts (with and without Retry-After), resets before and after processing,
    /// truncated bodies, slow responses, slow proxies (a 504 now, the request carried out
    /// later), trickled bodies and looping pages; chunk PUTs to presigned URLs meet a chunk
    /// failure (500) or an expired URL (403) with the same total. 0 injects nothing.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    faults: f64,

    /// Time scale: emulated seconds per real second (60 makes a minute pass in a second).
    /// Retry-After headers are converted to real time. A rein client runs its whole policy
    /// (retries, Retry-After, windows, poll intervals, timeouts) as fast with one setting:
    /// `.time_scale(SPEED)` on its builder.
    #[arg(long, default_value_t = 1.0, value_parser = speed)]
    speed: f64,

    /// jack's sliding-window limit per organisation per minute (0 turns it off).
    #[arg(long, default_value_t = 60)]
    jack_rpm: u32,

    /// An optional Jockey limit per key per minute (none by default).
    #[arg(long)]
    jockey_rpm: Option<u32>,

    /// The accepted Jockey key (x-api-key); the demo key when omitted.
    #[arg(long, default_value = DEMO_JOCKEY_KEY)]
    jockey_key: String,

    /// The accepted jack key (Authorization: Bearer); the demo key when omitted.
    #[arg(long, default_value = DEMO_JACK_KEY)]
    jack_key: String,

    /// Share (0..=1) of assets, items and documents whose processing ends failed.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    failure_rate: f64,
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err("must be between 0 and 1".into())
    }
}

fn speed(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err("must be a positive number".into())
    }
}

/// Parses `args` (the program's name first) and serves until killed; what a usage error or a
/// failure to start returns.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let (jockey_key, jack_key) = (args.jockey_key.clone(), args.jack_key.clone());
    let config = Config {
        seed: args.seed,
        jockey_keys: vec![args.jockey_key],
        jack_keys: vec![args.jack_key],
        jack_rpm: args.jack_rpm,
        jockey_rpm: args.jockey_rpm,
        failure_rate: args.failure_rate,
        faults: FaultPlan::spread(args.faults),
        ..Config::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rein-emulator: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        let addr = listener.local_addr()?;
        let chunks = tokio::net::TcpListener::bind(std::net::SocketAddr::new(addr.ip(), 0)).await?;
        let chunks_base = presigned_base(chunks.local_addr()?);
        // The first line stays exactly this: tools read the port from it. All five lines go out
        // in one write, before anything is served; a reader that closes the pipe after the
        // first line must not stop the server, so a failed write is not an error.
        let speed = args.speed;
        let banner = format!(
            "listening on http://{addr}\n\
             jockey: http://{addr}/v1.3 (x-api-key: {jockey_key})\n\
             jack:   http://{addr}/v1 (Authorization: Bearer {jack_key})\n\
             speed:  {speed} emulated seconds per real second; a rein client keeps up with `.time_scale({speed:?})`\n\
             chunks: {chunks_base} (presigned chunk URLs of multipart uploads; no key)\n"
        );
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        drop(out);
        let config = Config { presigned_base: chunks_base, ..config };
        let shared = Shared::new(Emulator::new(config), Clock::scaled(args.speed));
        tokio::try_join!(
            serve(listener, shared.clone(), std::future::pending()),
            serve_presigned(chunks, shared, std::future::pending()),
        )
        .map(|_| ())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rein-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
