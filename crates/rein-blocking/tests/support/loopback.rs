//! A tiny HTTP/1.1 server on 127.0.0.1, over `TcpListener`: one request per connection, each
//! on its own thread, answered by a handler that reads and writes the raw exchange.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

/// One request on a server connection: its head, read; its body, left to the handler; and the
/// connection to answer on (closed after the answer, which says so).
pub struct Exchange {
    pub method: String,
    pub path: String,
    /// Names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Exchange {
    /// Reads a request's head, or `None` when the connection ends first.
    pub fn read(stream: TcpStream) -> Option<Exchange> {
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut words = line.split_whitespace();
        let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
        let mut headers = Vec::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        Some(Exchange { method, path, headers, reader, stream })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Reads the body into `sink` (by its content-length, or its chunks), returning its length.
    pub fn read_body(&mut self, mut sink: impl Write) -> io::Result<u64> {
        if self.header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut total = 0;
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let size = u64::from_str_radix(size.trim(), 16)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if size == 0 {
                    self.reader.read_line(&mut String::new())?;
                    return Ok(total);
                }
                let copied = io::copy(&mut (&mut self.reader).take(size), &mut sink)?;
                if copied < size {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                total += copied;
                self.reader.read_line(&mut String::new())?;
            }
        }
        let length: u64 = self.header("content-length").map_or(Ok(0), str::parse).unwrap_or(0);
        let copied = io::copy(&mut (&mut self.reader).take(length), &mut sink)?;
        if copied < length {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(copied)
    }

    pub fn body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        self.read_body(&mut body)?;
        Ok(body)
    }

    fn head(&mut self, status: u16, headers: &[(&str, &str)]) -> io::Result<()> {
        let reason = http::StatusCode::from_u16(status).unwrap().canonical_reason().unwrap_or("");
        let mut head = format!("HTTP/1.1 {status} {reason}\r\nconnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes())
    }

    /// A whole response, its length announced. Write errors are the client's business: it may
    /// hang up early on purpose.
    pub fn reply(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let length = body.len().to_string();
        let mut all = vec![("content-type", "application/json"), ("content-length", &length)];
        all.extend_from_slice(headers);
        let _ = self.head(status, &all).and_then(|()| self.stream.write_all(body));
    }

    /// The head of a response whose body comes in chunks, with no length announced.
    pub fn chunked(&mut self, status: u16) -> io::Result<()> {
        self.head(status, &[("transfer-encoding", "chunked")])
    }

    /// One chunk, on the wire at once; an empty one ends the body.
    pub fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        write!(self.stream, "{:x}\r\n", data.len())?;
        self.stream.write_all(data)?;
        self.stream.write_all(b"\r\n")?;
        self.stream.flush()
    }
}

/// Serves `handler` on 127.0.0.1:0, one request per connection, each on its own thread, until
/// the test process ends.
pub fn serve(handler: impl Fn(&mut Exchange) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || {
                if let Some(mut exchange) = Exchange::read(stream) {
                    handler(&mut exchange);
                }
            });
        }
    });
    addr
}
