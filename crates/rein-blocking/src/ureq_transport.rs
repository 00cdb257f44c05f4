//! The default transport: ureq 3 over rustls (ring, webpki roots).

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use rein_core::request::{AttemptTimeout, ReadTimeout, StreamTimeout};
use rein_core::{Body, TransportError, TransportErrorKind, Truncated};
use ureq::unversioned::resolver::{
    DefaultResolver, ResolvedSocketAddrs, Resolver as ResolverTrait,
};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::SendBody;

use rein_core::body::FileError;

use crate::body_reader::SegmentReader;
use crate::transport::{StreamingResponse, Transport};

/// ureq with the timeouts and body cap rein needs.
#[derive(Clone, Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
    request_timeout: Duration,
    max_response_bytes: u64,
}

impl UreqTransport {
    /// A transport: `connect_timeout` to connect, `request_timeout` for a whole attempt (capped
    /// further by each request's [`AttemptTimeout`]), and at most `max_response_bytes` read.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        max_response_bytes: u64,
    ) -> Self {
        let config = ureq::Agent::config_builder()
            // Statuses are the core's business, not errors.
            .http_status_as_error(false)
            // Neither API redirects; following one could carry the key elsewhere.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_global(Some(request_timeout))
            // ureq sets a socket's timeout to the time left whenever it changes, which with only
            // a global timeout is every request (two syscalls each). A fixed per-read and
            // per-write limit a moment under the request timeout is what the socket keeps
            // instead, set once per connection; the global timeout still bounds the attempt.
            .timeout_per_read(Some(io_timeout(request_timeout)))
            .timeout_per_write(Some(io_timeout(request_timeout)))
            .build();
        UreqTransport {
            agent: ureq::Agent::with_parts(
                config,
                DefaultConnector::default(),
                Resolver::default(),
            ),
            request_timeout,
            max_response_bytes,
        }
    }

    fn run(
        &self,
        request: http::Request<Body>,
        streaming: bool,
    ) -> Result<http::Response<ureq::Body>, TransportError> {
        let timeout = request
            .extensions()
            .get::<AttemptTimeout>()
            .map_or(self.request_timeout, |t| t.0.min(self.request_timeout));
        let idle = request.extensions().get::<ReadTimeout>().map_or(self.request_timeout, |t| t.0);
        let whole = request.extensions().get::<StreamTimeout>().map(|t| t.0);
        let (parts, body) = request.into_parts();
        let body = match body {
            Body::Empty => SendBody::none(),
            other => SendBody::from_owned_reader(SegmentReader::new(other.segments())),
        };
        let request = http::Request::from_parts(parts, body);
        // The agent's own timeout is the request timeout; a request-level one (a config copy per
        // request) only when the call's deadline is nearer.
        let request = if streaming {
            // An event stream may run as long as it keeps talking, up to its deadline: the head
            // must come within the attempt's time, then each read within the idle time of the
            // one before, and all of it within the stream's time (ureq cuts each read at the
            // nearer of the two, so a trickle cannot hold a read past the deadline).
            self.agent
                .configure_request(request)
                .timeout_global(whole)
                .timeout_recv_response(Some(timeout))
                .timeout_per_read(Some(idle))
                .build()
        } else if timeout < self.request_timeout {
            self.agent.configure_request(request).timeout_global(Some(timeout)).build()
        } else {
            request
        };
        self.agent.run(request).map_err(map_error)
    }
}

impl Transport for UreqTransport {
    /// The head, then the body up to the cap: a longer one is cut there and marked
    /// [`Truncated`], keeping its status and headers (an announced length over the cap is
    /// not read past it).
    fn send(&self, request: http::Request<Body>) -> Result<http::Response<Bytes>, TransportError> {
        let response = self.run(request, false)?;
        let (mut parts, mut body) = response.into_parts();
        let max = self.max_response_bytes;
        let announced = body.content_length();
        // One byte past the cap tells a body at the cap from a longer one.
        let mut bytes = Vec::new();
        body.as_reader()
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(map_read_error)?;
        if bytes.len() as u64 > max {
            bytes.truncate(usize::try_from(max).unwrap_or(usize::MAX));
            let at_least = announced.unwrap_or(0).max(max.saturating_add(1));
            parts.extensions.insert(Truncated { at_least });
        }
        Ok(http::Response::from_parts(parts, Bytes::from(bytes)))
    }

    fn send_streaming(
        &self,
        request: http::Request<Body>,
    ) -> Result<StreamingResponse, TransportError> {
        let response = self.run(request, true)?;
        let (parts, body) = response.into_parts();
        let reader: Box<dyn Read + Send> = Box::new(TimedReader(body.into_reader()));
        Ok(http::Response::from_parts(parts, reader))
    }
}

/// A streamed body's reader whose timeouts say so: ureq reports one (a read past the idle time,
/// or past the stream's deadline) as an `Other` error wrapping its own, which would pass for a
/// reset.
struct TimedReader<R>(R);

impl<R: Read> Read for TimedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let ureq = e.get_ref().and_then(|inner| inner.downcast_ref::<ureq::Error>());
            if matches!(ureq, Some(ureq::Error::Timeout(_))) {
                io::Error::new(io::ErrorKind::TimedOut, e.to_string())
            } else {
                e
            }
        })
    }
}

/// A body read's error: ureq wraps its own (a timeout, say) in the `io::Error`.
fn map_read_error(error: io::Error) -> TransportError {
    let message = error.to_string();
    if !error.get_ref().is_some_and(|inner| inner.is::<ureq::Error>()) {
        return map_io(&error, message);
    }
    match error.into_inner().map(|inner| inner.downcast::<ureq::Error>()) {
        Some(Ok(ureq)) => map_error(*ureq),
        _ => TransportError::after_send(TransportErrorKind::Other, message),
    }
}

/// The most one socket read or write may wait: the request timeout less a moment (50 ms, or a
/// tenth of it when shorter). For an attempt's first moments, which is all of a quick exchange on
/// a pooled connection, it, not the time left, is the socket's timeout, so ureq sets it once per
/// connection; a response may lose at most that moment of the request timeout.
fn io_timeout(request_timeout: Duration) -> Duration {
    let margin = (request_timeout / 10).min(Duration::from_millis(50));
    request_timeout.saturating_sub(margin).max(Duration::from_millis(1))
}

/// ureq's resolver, except that a host that is already an IP address is taken as it is. With a
/// timeout set, ureq resolves on a new thread for every request, pooled connection or not; an
/// address needs no lookup, so it gets no thread. Names are resolved afresh for every request,
/// so a changed DNS record (a failover) is seen at once.
#[derive(Debug, Default)]
struct Resolver(DefaultResolver);

impl ResolverTrait for Resolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        match (host.parse::<IpAddr>(), port) {
            (Ok(ip), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => self.0.resolve(uri, config, timeout),
        }
    }
}

/// Classifies a ureq error, above all by whether the request may have reached the server.
fn map_error(error: ureq::Error) -> TransportError {
    use ureq::{Error as E, Timeout as T};
    let message = error.to_string();
    match error {
        E::Timeout(T::Resolve | T::Connect) => {
            TransportError::not_sent(TransportErrorKind::Connect, message)
        }
        // The per-read and per-write limits are rein's way of applying the request timeout.
        E::Timeout(T::PerRead | T::PerWrite) => TransportError::after_send(
            TransportErrorKind::Timeout,
            format!("the request timeout ran out ({message})"),
        ),
        E::Timeout(_) => TransportError::after_send(TransportErrorKind::Timeout, message),
        E::HostNotFound | E::ConnectionFailed | E::Tls(_) | E::BadUri(_) | E::InvalidProxyUrl => {
            TransportError::not_sent(TransportErrorKind::Connect, message)
        }
        E::BodyExceedsLimit(_) => {
            TransportError::after_send(TransportErrorKind::BodyTooLarge, message)
        }
        E::Io(io) => map_io(&io, message),
        _ => TransportError::after_send(TransportErrorKind::Other, message),
    }
}

fn map_io(io: &io::Error, message: String) -> TransportError {
    if io.get_ref().is_some_and(|inner| inner.is::<FileError>()) {
        // The body stopped short of its end (a file part is never the body's last bytes: the
        // form's closing boundary follows), so the server cannot have accepted it.
        return TransportError::not_sent(TransportErrorKind::File, message);
    }
    match io.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::NotConnected => {
            TransportError::not_sent(TransportErrorKind::Connect, message)
        }
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            TransportError::after_send(TransportErrorKind::Timeout, message)
        }
        _ => TransportError::after_send(TransportErrorKind::Reset, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_io_timeout_is_a_little_under_the_request_timeout() {
        assert_eq!(io_timeout(Duration::from_secs(120)), Duration::from_millis(119_950));
        assert_eq!(io_timeout(Duration::from_millis(200)), Duration::from_millis(180));
        assert_eq!(io_timeout(Duration::ZERO), Duration::from_millis(1));
    }

    #[test]
    fn addresses_are_taken_as_they_are_and_names_are_looked_up() {
        let resolver = Resolver::default();
        let config = ureq::config::Config::default();
        let resolve = |uri: &str| {
            let uri: http::Uri = uri.parse().expect("uri");
            resolver.resolve(&uri, &config, NextTimeout::default()).expect("resolves")[0]
        };
        assert_eq!(resolve("http://127.0.0.1:1000/"), "127.0.0.1:1000".parse().expect("addr"));
        assert_eq!(resolve("https://[::1]/v1"), "[::1]:443".parse().expect("addr"));
        assert_eq!(resolve("http://localhost:1001/").port(), 1001);
    }
}
