//! What both clients share: configuration, the runtime, per-call options, and the builder.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use rein_core::{Api, ApiCall, Call, ClientConfig, Error, Limiter, RateLimit, RetryPolicy, Target};

use crate::cancel::CancelToken;
use crate::driver::{EventHook, Runtime, Sender};
use crate::transport::Transport;

/// The state a client's handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ClientConfig,
    pub(crate) target: Target,
    pub(crate) runtime: Runtime,
}

/// A client's shared state plus the options of this handle (cancellation, a time budget).
#[derive(Clone, Debug)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cancel: Option<CancelToken>,
    pub(crate) timeout: Option<Duration>,
}

impl Handle {
    /// The retry policy for a call of this handle.
    pub(crate) fn retry(&self) -> RetryPolicy {
        let mut policy = self.shared.config.retry.clone();
        if let Some(t) = self.timeout {
            policy.timeout = t;
        }
        policy
    }

    /// Runs one typed call. The request is validated and rendered before the first await, so
    /// an invalid one fails without sending anything.
    pub(crate) async fn call<R: ApiCall>(&self, request: &R) -> Result<R::Output, Error> {
        let rt = &self.shared.runtime;
        let mut call = Call::typed(&self.shared.target, request, self.retry())?;
        call.set_runtime(rt.seed(), Arc::clone(&rt.limiter), rt.listens());
        let run = rt.drive_in_place(&mut call, self.cancel.as_ref());
        #[cfg(feature = "tracing")]
        let run = tracing::Instrument::instrument(
            run,
            tracing::info_span!("rein.call", operation = ?request.operation()),
        );
        run.await
    }

    /// Runs a create that is looked up, not repeated, when its answer is lost: the request is
    /// tagged with a fresh token, and after an ambiguous failure a listing decides between
    /// "found it" and "create again". Validated before the first await, like a call.
    pub(crate) async fn create_once<R: rein_core::Reconcile>(
        &self,
        request: &R,
    ) -> Result<R::Output, Error> {
        let rt = &self.shared.runtime;
        let token = format!("{:016x}{:016x}", rt.seed(), rt.seed());
        let once = rein_core::CreateOnce::new(&self.shared.target, request, &token, self.retry())?
            .seed(rt.seed())
            .limiter(Arc::clone(&rt.limiter));
        let run = rt.drive(once, self.cancel.as_ref());
        #[cfg(feature = "tracing")]
        let run = tracing::Instrument::instrument(
            run,
            tracing::info_span!("rein.call", operation = ?request.operation()),
        );
        run.await
    }

    /// Runs a wait.
    pub(crate) async fn wait<T: rein_core::Pollable>(
        &self,
        wait: rein_core::Wait<T>,
    ) -> Result<T, Error> {
        let rt = &self.shared.runtime;
        let wait = wait.seed(rt.seed()).limiter(Arc::clone(&rt.limiter));
        let run = rt.drive(wait, self.cancel.as_ref());
        #[cfg(feature = "tracing")]
        let run = tracing::Instrument::instrument(run, tracing::info_span!("rein.wait"));
        run.await
    }

    /// A wait policy with this handle's time budget, if it has one.
    pub(crate) fn wait_policy(&self, preset: rein_core::WaitPolicy) -> rein_core::WaitPolicy {
        match self.timeout {
            Some(t) => preset.timeout(t),
            None => preset,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The two clients, [`crate::Jockey`] and [`crate::Jack`], as far as building them goes.
pub trait ApiClient: sealed::Sealed + Sized {
    /// The API the client talks to.
    const API: Api;
}

impl sealed::Sealed for crate::Jack {}
impl sealed::Sealed for crate::Jockey {}

/// Builds a client: every policy has the references' default and can be changed here.
pub struct ClientBuilder<C> {
    config: ClientConfig,
    transport: Option<Arc<dyn Transport>>,
    limiter: Option<Arc<dyn RateLimit>>,
    hook: Option<EventHook>,
    client: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<C: ApiClient> ClientBuilder<C> {
    pub(crate) fn new(config: ClientConfig) -> Self {
        ClientBuilder { config, transport: None, limiter: None, hook: None, client: PhantomData }
    }

    rein_core::__client_builder_setters!();

    /// Another transport (a test double, a proxy-aware client).
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Checks the configuration and builds the shared state of a client.
    pub(crate) fn build_handle(self) -> Result<Handle, Error> {
        let target = self.config.target()?;
        let transport = match self.transport {
            Some(t) => Sender::Custom(t),
            None => default_transport(&self.config)?,
        };
        let limiter = self.limiter.unwrap_or_else(|| {
            let (jockey, jack) = match C::API {
                Api::Jockey => (self.config.window, None),
                Api::Jack => (None, self.config.window),
            };
            Arc::new(Limiter::new(jockey, jack))
        });
        let runtime = Runtime::new(transport, limiter, self.hook, self.config.request_timeout);
        let shared = Arc::new(Shared { config: self.config, target, runtime });
        Ok(Handle { shared, cancel: None, timeout: None })
    }
}

#[cfg(feature = "hyper")]
fn default_transport(config: &ClientConfig) -> Result<Sender, Error> {
    Ok(Sender::Hyper(crate::HyperTransport::new(
        config.connect_timeout,
        config.request_timeout,
        config.max_response_bytes,
    )))
}

#[cfg(not(feature = "hyper"))]
fn default_transport(_config: &ClientConfig) -> Result<Sender, Error> {
    Err(Error::Config(Box::new(rein_core::ValidationError::new(
        "transport",
        "no transport: the `hyper` feature is off and none was given",
        rein_core::Hint::new(
            "No default transport",
            "Enable the `hyper` feature or call `.transport(...)`",
        ),
    ))))
}

/// Per-handle options, the same on both clients.
macro_rules! handle_options {
    ($client:ident) => {
        impl $crate::ClientBuilder<$client> {
            /// Checks the configuration and builds the client.
            pub fn build(self) -> Result<$client, rein_core::Error> {
                Ok($client { handle: self.build_handle()? })
            }
        }

        impl $client {
            /// This client with `token` attached: cancelling it stops the waits and retries of
            /// every call made through the returned handle.
            pub fn with_cancel(&self, token: &$crate::CancelToken) -> Self {
                let mut handle = self.handle.clone();
                handle.cancel = Some(token.clone());
                Self { handle }
            }

            /// This client with a time budget for each call and wait made through the returned
            /// handle (instead of the retry policy's and the wait presets' own).
            pub fn with_timeout(&self, timeout: std::time::Duration) -> Self {
                let mut handle = self.handle.clone();
                handle.timeout = Some(timeout);
                Self { handle }
            }

            /// Runs any typed request of this API.
            pub async fn call<R: rein_core::ApiCall>(
                &self,
                request: &R,
            ) -> Result<R::Output, rein_core::Error> {
                self.handle.call(request).await
            }

            /// The configuration in use (the key never shows in its `Debug`).
            pub fn config(&self) -> &rein_core::ClientConfig {
                &self.handle.shared.config
            }
        }
    };
}
pub(crate) use handle_options;
