//! Client configuration, pure: where an API is, with which key, under which policies.
//!
//! Adapters build clients from a [`ClientConfig`]; [`ClientConfig::from_env`] reads the
//! environment through a lookup function, so the core never touches the process environment.

use std::time::Duration;

use crate::api::Api;
use crate::error::{Error, ValidationError};
use crate::hint::Hint;
use crate::limiter::Window;
use crate::retry::RetryPolicy;
use crate::target::{ApiKey, Target};

/// The environment variable holding each API's key.
pub const fn key_var(api: Api) -> &'static str {
    match api {
        Api::Jockey => "TWELVELABS_API_KEY",
        Api::Jack => "JACK_API_KEY",
    }
}

/// The environment variable that overrides each API's base URL (for instance to point a client
/// at `rein-emulator`).
pub const fn base_url_var(api: Api) -> &'static str {
    match api {
        Api::Jockey => "TWELVELABS_BASE_URL",
        Api::Jack => "JACK_BASE_URL",
    }
}

/// How a client talks to one API. Its `Debug` shows neither the key nor a password in the
/// base URL.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The API.
    pub api: Api,
    /// The key.
    pub key: ApiKey,
    /// The base URL, version prefix included.
    pub base_url: String,
    /// Accept `http://` to a non-loopback host.
    pub allow_insecure_http: bool,
    /// Retries for every call.
    pub retry: RetryPolicy,
    /// The client-side window (`None`: none; jack defaults to 60 per minute).
    pub window: Option<Window>,
    /// The share of the rate budget bulk work (fleet polls, `ingest_many` batches) leaves to the
    /// caller's other calls: 0.2 by default, 0 to 1.
    pub reserved_share: f64,
    /// The longest a single attempt may take, from sending to the end of the response.
    pub request_timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// The longest a streamed response may stay silent between two chunks.
    pub stream_idle_timeout: Duration,
    /// The longest a streamed response may take in all, from the call's start (its first
    /// attempt) to its last event, however steadily data keeps arriving: a server that trickles
    /// keepalives under [`stream_idle_timeout`](Self::stream_idle_timeout) is still cut off
    /// here. A handle's own time budget (`with_timeout`) applies too, when shorter.
    pub stream_timeout: Duration,
    /// Tag every create with a `rein_token` in the resource's metadata (on by default), so that
    /// a create whose answer is lost is found again instead of being sent twice. Off, nothing
    /// is written into metadata, and a lost answer is an error that says the create may have
    /// happened.
    pub tag_creates: bool,
    /// Seconds of the server's time per real second: 60 for an emulator run at `--speed 60`.
    /// The client then runs its whole policy (retry waits, `Retry-After`, windows, poll
    /// intervals, timeouts) on a clock that much faster, so a test against a fast emulator is
    /// fast with nothing else tuned. 1, the default, for the real APIs. `connect_timeout` stays
    /// real time: the transport enforces it, and a connection takes as long at any scale.
    pub time_scale: f64,
    /// The largest response body read into memory.
    pub max_response_bytes: u64,
}

impl ClientConfig {
    /// The defaults for `api` with `key`: production base URL, the API's retry policy and window,
    /// 10 s to connect, 120 s per attempt, 120 s of silence in a streamed response and 600 s for
    /// the whole of it (the retry policy's default call timeout), 16 MiB per response.
    pub fn new(api: Api, key: impl Into<ApiKey>) -> Self {
        ClientConfig {
            api,
            key: key.into(),
            base_url: api.default_base_url().to_owned(),
            allow_insecure_http: false,
            retry: RetryPolicy::for_api(api),
            window: match api {
                Api::Jockey => None,
                Api::Jack => Some(Window::JACK),
            },
            reserved_share: crate::limiter::DEFAULT_RESERVE,
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(120),
            stream_timeout: Duration::from_secs(600),
            tag_creates: true,
            time_scale: 1.0,
            max_response_bytes: 16 << 20,
        }
    }

    /// The configuration from the environment: the key from [`key_var`] (required) and the base
    /// URL from [`base_url_var`] (optional). `lookup` reads a variable (`std::env::var(..).ok()`).
    pub fn from_env(api: Api, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let key = lookup(key_var(api)).filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            Error::Config(Box::new(ValidationError::new(
                key_var(api),
                "is not set",
                Hint::new(
                    "No API key in the environment",
                    match api {
                        Api::Jockey => "Set TWELVELABS_API_KEY to your Twelve Labs API key",
                        Api::Jack => "Set JACK_API_KEY to your jack key (jack_...)",
                    },
                ),
            )))
        })?;
        let mut config = ClientConfig::new(api, key);
        if let Some(url) = lookup(base_url_var(api)).filter(|u| !u.trim().is_empty()) {
            config.base_url = url.trim().to_owned();
        }
        Ok(config)
    }

    /// Checks the configuration and renders the [`Target`] requests are built for.
    pub fn target(&self) -> Result<Target, Error> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(Error::Config(Box::new(ValidationError::new(
                "time_scale",
                format!("{} is not a positive number", self.time_scale),
                Hint::new(
                    "A time scale that is not a speed",
                    "Use the emulator's --speed (1 for the real APIs)",
                ),
            ))));
        }
        if !(0.0..=1.0).contains(&self.reserved_share) {
            return Err(Error::Config(Box::new(ValidationError::new(
                "reserved_share",
                format!("{} is not a share between 0 and 1", self.reserved_share),
                Hint::new(
                    "A reserved share that is not a fraction of the budget",
                    "Use a number from 0 (bulk work may use everything) to 1",
                ),
            ))));
        }
        let target = if self.allow_insecure_http {
            Target::allow_insecure_http(self.api, &self.base_url, self.key.clone())
        } else {
            Target::new(self.api, &self.base_url, self.key.clone())
        };
        target.map_err(|e| Error::Config(Box::new(e)))
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As derived, but a `user:password@` in the base URL (refused by `target`) is hidden.
        f.debug_struct("ClientConfig")
            .field("api", &self.api)
            .field("key", &self.key)
            .field("base_url", &crate::target::without_userinfo(&self.base_url))
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("retry", &self.retry)
            .field("window", &self.window)
            .field("reserved_share", &self.reserved_share)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("stream_timeout", &self.stream_timeout)
            .field("tag_creates", &self.tag_creates)
            .field("time_scale", &self.time_scale)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// The error of a client built with no transport, when the adapter's default transport is
/// compiled out (its `feature` is off).
pub fn no_transport(feature: &str) -> Error {
    Error::Config(Box::new(ValidationError::new(
        "transport",
        format!("no transport: the `{feature}` feature is off and none was given"),
        Hint::new(
            "No default transport",
            "Enable the adapter's default transport feature or call `.transport(...)`",
        ),
    )))
}

/// What a client is built from, besides its IO: the configuration, a limiter to share, an event
/// hook, a seed. Both adapters' builders hold one.
#[derive(Clone)]
#[non_exhaustive]
pub struct Settings {
    /// How the client talks to its API.
    pub config: ClientConfig,
    /// A rate limiter shared with other clients (or kept outside the process).
    pub limiter: Option<std::sync::Arc<dyn crate::RateLimit>>,
    /// Where every event goes.
    pub hook: Option<crate::EventHook>,
    /// The seed of every random draw; fresh entropy when `None`.
    pub seed: Option<u64>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("config", &self.config)
            .field("limiter", &self.limiter.is_some())
            .field("hook", &self.hook.is_some())
            .field("seed", &self.seed)
            .finish()
    }
}

impl Settings {
    /// `config`, with no shared limiter, no hook and no fixed seed.
    pub fn new(config: ClientConfig) -> Self {
        Settings { config, limiter: None, hook: None, seed: None }
    }

    /// The client's runner, once the configuration checks out (see [`crate::Runner::new`]).
    pub fn runner(self, entropy: u64) -> Result<crate::Runner, Error> {
        crate::Runner::new(self, entropy)
    }
}

/// The setters both adapters' `ClientBuilder`s share, so the two offer the same names with the
/// same meaning. Expands inside `impl ClientBuilder<C>` of a type with a field `settings:
/// Settings`.
#[doc(hidden)]
#[macro_export]
macro_rules! __client_builder_setters {
    () => {
        /// Another base URL (the emulator's, say: `http://127.0.0.1:PORT/v1`).
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.settings.config.base_url = url.into();
            self
        }

        /// Accepts `http://` to a host that is not loopback (refused by default: the key would
        /// travel in clear text).
        pub fn allow_insecure_http(mut self, allow: bool) -> Self {
            self.settings.config.allow_insecure_http = allow;
            self
        }

        /// The retry policy for every call.
        pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
            self.settings.config.retry = policy;
            self
        }

        /// The client-side sliding window (`None` turns it off; jack defaults to 60 per minute).
        pub fn rate_limit(mut self, window: Option<$crate::Window>) -> Self {
            self.settings.config.window = window;
            self
        }

        /// A rate limiter to share (between clients, or one kept outside the process).
        pub fn limiter(mut self, limiter: ::std::sync::Arc<dyn $crate::RateLimit>) -> Self {
            self.settings.limiter = Some(limiter);
            self
        }

        /// Calls `hook` for every event of every call: requests sent, retries and their reasons,
        /// rate-limit pauses, poll progress. It runs inside the call: keep it quick.
        pub fn on_event(mut self, hook: impl Fn(&$crate::Event) + Send + Sync + 'static) -> Self {
            self.settings.hook = Some(::std::sync::Arc::new(hook));
            self
        }

        /// Seeds the client's random draws (retry jitter, multipart boundaries), for runs that
        /// repeat exactly; by default each client draws fresh entropy. The tokens that tag creates
        /// are always fresh, so two runs with one seed never mistake each other's creates.
        pub fn seed(mut self, seed: u64) -> Self {
            self.settings.seed = Some(seed);
            self
        }

        /// The longest one attempt may take (default 120 s).
        pub fn request_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.settings.config.request_timeout = timeout;
            self
        }

        /// The longest connecting may take (default 10 s).
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.settings.config.connect_timeout = timeout;
            self
        }

        /// Whether creates are tagged with a `rein_token` in the resource's metadata (on by
        /// default): the token lets a create whose answer was lost be found instead of sent
        /// twice. Off, a lost answer is an error that says the create may have happened.
        pub fn tag_creates(mut self, tag: bool) -> Self {
            self.settings.config.tag_creates = tag;
            self
        }

        /// Keeps `share` (0 to 1; 0.2 by default) of the rate budget for the caller's own calls:
        /// bulk work (fleet polls, `ingest_many` batches) uses at most the rest, so it never
        /// starves them. Ignored with a shared [`limiter`](Self::limiter), which has its own.
        pub fn reserved_share(mut self, share: f64) -> Self {
            self.settings.config.reserved_share = share;
            self
        }

        /// Runs the client's whole policy (retry waits, `Retry-After`, windows, poll intervals,
        /// timeouts) on a clock `scale` times as fast as real time: the `--speed` of the
        /// emulator it talks to (its startup lines print it). One setting, nothing else to tune;
        /// the connect timeout stays real time. A limiter is shared only by clients at one scale.
        pub fn time_scale(mut self, scale: f64) -> Self {
            self.settings.config.time_scale = scale;
            self
        }

        /// The longest a streamed response may stay silent between two chunks (default 120 s).
        pub fn stream_idle_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.settings.config.stream_idle_timeout = timeout;
            self
        }

        /// The longest a streamed response may take in all, from the call's start to its last
        /// event, however steadily data keeps arriving (default 600 s). A handle's
        /// `with_timeout` applies too, when shorter. Past it the stream ends with
        /// [`Error::Deadline`]($crate::Error::Deadline).
        pub fn stream_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.settings.config.stream_timeout = timeout;
            self
        }

        /// The largest response body read (default 16 MiB).
        pub fn max_response_bytes(mut self, max: u64) -> Self {
            self.settings.config.max_response_bytes = max;
            self
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_env_reads_key_and_base_url() {
        let env = |name: &str| match name {
            "JACK_API_KEY" => Some("jack_abc".to_owned()),
            "JACK_BASE_URL" => Some("http://127.0.0.1:8080/v1".to_owned()),
            _ => None,
        };
        let config = ClientConfig::from_env(Api::Jack, env).expect("config");
        let target = config.target().expect("loopback http is allowed");
        assert_eq!(target.base_url().to_string(), "http://127.0.0.1:8080/v1");
        let missing = ClientConfig::from_env(Api::Jockey, env).expect_err("no key");
        assert!(matches!(missing, Error::Config(_)));
        assert!(!format!("{config:?}").contains("jack_abc"), "the key never shows in Debug");
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
        let mut config = ClientConfig::new(Api::Jack, "jack_abc");
        config.base_url = "http://api.example.com/v1".into();
        assert!(matches!(config.target(), Err(Error::Config(_))));
        config.allow_insecure_http = true;
        assert!(config.target().is_ok());
    }
}
