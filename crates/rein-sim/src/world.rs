//! The simulated world: rein-emulator's model behind a transport, on tokio's clock.
//!
//! Run inside a current-thread runtime with time paused, tokio's clock only moves when every
//! task waits on a timer, and jumps straight to the next one: hours of polling take seconds,
//! and the same seed gives the same run. The clients' clock is tokio's too (the async adapter's
//! default), so the real machines run against the model with nothing faked between them.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use rein_core::time::fake_wall_origin;
use rein_core::{Body, Moment, Now, TransportError, TransportErrorKind};
use rein_emulator::{Config, Emulator, WireFault, DEMO_JOCKEY_KEY};
use tokio::time::Instant;

/// How long a request takes there and back: half before the server handles it, half after.
// GUESS: no source gives the APIs' latency; 100 ms is a typical round trip to a nearby region.
// Every strategy pays the same, and the floors count it once per request they need.
pub const LATENCY: Duration = Duration::from_millis(100);

/// The key the setup uses, so that creating the scenario spends none of the strategies' budget
/// (the emulator limits Jockey per key).
pub const SETUP_JOCKEY_KEY: &str = "tlk_SIMULATORSETUPKEY000000000000";

/// A request on its way through the world.
pub type Exchange = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<Bytes>, TransportError>> + Send>,
>;

/// The emulator's model, the counts of what strategies sent, and when each ingest was handled.
#[derive(Clone, Debug)]
pub struct World {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
}

#[derive(Debug)]
struct Inner {
    model: Emulator,
    requests: u64,
    rate_limited: u64,
    ingests: Vec<(Duration, Vec<String>)>,
}

impl World {
    /// A world configured by `config` (the setup key is added to its Jockey keys), starting
    /// now: call it inside the runtime that runs the scenario.
    pub fn new(mut config: Config) -> World {
        config.jockey_keys.push(SETUP_JOCKEY_KEY.to_owned());
        let inner = Inner {
            model: Emulator::new(config),
            requests: 0,
            rate_limited: 0,
            ingests: Vec::new(),
        };
        World { inner: Arc::new(Mutex::new(inner)), start: Instant::now() }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time since the world began.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// The model's time: since the world began, and a wall clock that starts at the fake origin.
    pub fn now(&self) -> Now {
        let elapsed = self.elapsed();
        Now::new(Moment::from_origin(elapsed), fake_wall_origin() + elapsed)
    }

    /// A strategy's request: half the latency there, the model's answer, half back. Counted.
    pub async fn exchange(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        tokio::time::sleep(LATENCY / 2).await;
        let ingest =
            request.method() == http::Method::POST && request.uri().path().ends_with("/ingest");
        let reply = {
            let mut inner = self.inner();
            let now = self.now();
            let reply = inner.model.handle(request, now);
            inner.requests += 1;
            let status = reply.response.status();
            if status == http::StatusCode::TOO_MANY_REQUESTS {
                inner.rate_limited += 1;
            }
            if ingest && status.is_success() {
                let ids = document_ids(reply.response.body());
                inner.ingests.push((self.elapsed(), ids));
            }
            reply
        };
        tokio::time::sleep(LATENCY / 2).await;
        // A trickled body is whole when its last piece arrives (the loopback tests act it out
        // piece by piece; here it is its slowness that counts, against the attempt's timeout).
        if let Some(trickle) = &reply.trickle {
            let event_stream = reply
                .response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            let schedule = trickle.schedule(reply.response.body(), event_stream);
            if let Some((last, _)) = schedule.last() {
                tokio::time::sleep(*last).await;
            }
        }
        let lost = |kind, message: &str| Err(TransportError::after_send(kind, message));
        match reply.fault {
            None => Ok(reply.response),
            Some(WireFault::ResetBeforeProcessing | WireFault::ResetAfterProcessing) => {
                lost(TransportErrorKind::Reset, "connection reset")
            }
            Some(WireFault::Truncate { .. }) => lost(TransportErrorKind::Reset, "body cut short"),
            Some(WireFault::Delay(delay)) => {
                tokio::time::sleep(delay).await;
                Ok(reply.response)
            }
        }
    }

    /// The world as a transport for rein's async clients.
    pub fn transport(&self) -> impl Fn(http::Request<Body>) -> Exchange + Send + Sync + 'static {
        let world = self.clone();
        move |request| {
            let world = world.clone();
            Box::pin(async move { world.exchange(request).await })
        }
    }

    /// A request of the scenario's setup, answered at once: not counted, no latency.
    pub fn setup(&self, request: http::Request<Body>) -> http::Response<Bytes> {
        let now = self.now();
        self.inner().model.handle(request, now).response
    }

    /// Holds every Jockey key to `rpm` requests per minute from now on.
    pub fn limit_jockey(&self, rpm: Option<u32>) {
        self.inner().model.set_jockey_rpm(rpm);
    }

    /// Turns the model's faults on or off from now on: a campaign sets its scenario up and
    /// checks the state afterwards without them.
    pub fn set_faults(&self, plan: rein_emulator::FaultPlan) {
        self.inner().model.set_fault_plan(plan);
    }

    /// Every request the model handled, as it logged them (arrival times since the world
    /// began, statuses, faults, the waits it asked for).
    pub fn log(&self) -> Vec<rein_emulator::LogEntry> {
        self.inner().model.log().to_vec()
    }

    /// When `id` finishes processing (since the world began), and as what.
    pub fn settles(&self, id: &str) -> Option<(Duration, &'static str)> {
        self.inner().model.settles(id).map(|(at, status)| (at.since_origin(), status))
    }

    /// Requests the strategies sent, and how many were answered 429.
    pub fn counts(&self) -> (u64, u64) {
        let inner = self.inner();
        (inner.requests, inner.rate_limited)
    }

    /// The ingests answered, in order: when each was handled, and its document ids.
    pub fn ingests(&self) -> Vec<(Duration, Vec<String>)> {
        self.inner().ingests.clone()
    }
}

fn document_ids(body: &Bytes) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["document_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// A Jockey request with the setup key.
pub fn setup_jockey(method: http::Method, path: &str, body: Body) -> http::Request<Body> {
    jockey_request(method, path, body, SETUP_JOCKEY_KEY)
}

/// A Jockey request with the strategies' key, as a plain HTTP client sends it.
pub fn jockey_request(
    method: http::Method,
    path: &str,
    body: Body,
    key: &str,
) -> http::Request<Body> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("https://sim/v1.3{path}"))
        .header("x-api-key", key);
    if matches!(body, Body::Bytes(_)) {
        request = request.header("content-type", "application/json");
    }
    request.body(body).expect("a valid request")
}

/// The strategies' Jockey key.
pub const JOCKEY_KEY: &str = DEMO_JOCKEY_KEY;
