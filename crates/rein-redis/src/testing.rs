//! A throwaway `redis-server` on a free loopback port, for tests and benchmarks (feature
//! `testing`): started by [`RedisServer::start`], stopped when dropped.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server has to answer `PING`.
const STARTUP: Duration = Duration::from_secs(10);

/// A `redis-server` of this process's own, with no persistence, on `127.0.0.1` and a port
/// nothing else listens on.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    addr: SocketAddr,
}

impl RedisServer {
    /// Whether `redis-server` can be started (it is on the `PATH`).
    pub fn installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts one and waits until it answers `PING` (at most 10 s).
    pub fn start() -> io::Result<RedisServer> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
        RedisServer::start_on(port)
    }

    /// Starts one on `port` (to bring one back where a killed one was), and waits until it
    /// answers `PING`.
    pub fn start_on(port: u16) -> io::Result<RedisServer> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server =
            RedisServer { child: Some(child), addr: SocketAddr::from(([127, 0, 0, 1], port)) };
        let deadline = Instant::now() + STARTUP;
        loop {
            if server.ping() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("redis-server on port {port} did not answer within {STARTUP:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it answers `PING` now.
    pub fn ping(&self) -> bool {
        let answer = || -> io::Result<bool> {
            let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200))?;
            stream.set_read_timeout(Some(Duration::from_millis(200)))?;
            stream.write_all(b"PING\r\n")?;
            let mut reply = [0u8; 7];
            stream.read_exact(&mut reply)?;
            Ok(&reply == b"+PONG\r\n")
        };
        answer().unwrap_or(false)
    }

    /// Kills it at once (as a crash would), and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
