//! The core half of every client: what its machines are built with and run under.
//!
//! A [`Runner`] holds a client's configuration, target, rate limiter, event hook and seeds, and
//! the options of one handle (a cancel token, a time budget). It builds the machine for each
//! plan (a call, a create that happens once, a wait) and wraps it in a [`Run`], which owns what
//! every driver would otherwise repeat: cancellation checks, the attempt timeout and the tracing
//! spans. An adapter's driver answers the run's steps and does nothing else.

use std::sync::Arc;
use std::time::Duration;

use crate::api::{Api, Operation};
use crate::api_call::ApiCall;
use crate::backoff::SeedSequence;
use crate::call::{Call, Decoder};
use crate::cancel::CancelToken;
use crate::config::{ClientConfig, Settings};
use crate::error::Error;
use crate::event::Events;
use crate::fleet::{Fleet, FleetKind, FleetWait};
use crate::limiter::{Limiter, RateLimit};
use crate::machine::{Input, Internal, Machine, Next};
use crate::reconcile::{CreateOnce, Reconcile};
use crate::request::Request;
use crate::retry::RetryPolicy;
use crate::status::Pollable;
use crate::target::Target;
use crate::time::Now;
use crate::trace::Span;
use crate::wait::{Wait, WaitPolicy};

/// What every machine of one client is built with and run under. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    shared: Arc<Shared>,
    cancel: Option<CancelToken>,
    timeout: Option<Duration>,
}

struct Shared {
    config: ClientConfig,
    target: Target,
    limiter: Arc<dyn RateLimit>,
    events: Events,
    seeds: SeedSequence,
    tokens: SeedSequence,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.shared.config)
            .field("events", &self.shared.events)
            .field("cancel", &self.cancel)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner for `settings`, once its configuration checks out (a usable base URL and key).
    /// Without a shared limiter, the client gets its own, with the configured window for its
    /// API. `entropy` (adapters pass OS-seeded bits) seeds every machine's jitter and multipart
    /// boundaries unless `settings.seed` fixes them, and always the tokens creates are tagged
    /// with: a fixed seed must not make two runs' creates look alike.
    pub fn new(settings: Settings, entropy: u64) -> Result<Runner, Error> {
        let Settings { config, limiter, hook, seed } = settings;
        let target = config.target()?;
        let limiter = limiter.unwrap_or_else(|| {
            let (jockey, jack) = match config.api {
                Api::Jockey => (config.window, None),
                Api::Jack => (None, config.window),
            };
            Arc::new(Limiter::new(jockey, jack).reserve(config.reserved_share))
        });
        let shared = Shared {
            config,
            target,
            limiter,
            events: Events::from_hook(hook),
            seeds: SeedSequence::new(seed.unwrap_or(entropy)),
            // Apart from the seeds even when they come from the same entropy.
            tokens: SeedSequence::new(entropy ^ 0x5EED_0F70_CE5A_1701),
        };
        Ok(Runner { shared: Arc::new(shared), cancel: None, timeout: None })
    }

    /// The configuration (the key never shows in its `Debug`).
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Where requests go, and with which key.
    pub fn target(&self) -> &Target {
        &self.shared.target
    }

    /// The rate limiter the client's [`Step::Acquire`](crate::Step::Acquire) and
    /// [`Step::Tell`](crate::Step::Tell) go to.
    pub fn limiter(&self) -> &dyn RateLimit {
        &*self.shared.limiter
    }

    /// The token this handle's machines stop for, if it has one.
    pub fn cancel_token(&self) -> Option<&CancelToken> {
        self.cancel.as_ref()
    }

    /// This runner, with every machine it runs stopping when `token` is cancelled.
    pub fn with_cancel(&self, token: &CancelToken) -> Runner {
        Runner { cancel: Some(token.clone()), ..self.clone() }
    }

    /// This runner, with `timeout` as the time budget of every call and wait (instead of the
    /// retry policy's and the wait presets' own).
    pub fn with_timeout(&self, timeout: Duration) -> Runner {
        Runner { timeout: Some(timeout), ..self.clone() }
    }

    /// The most a streamed response of this handle may take in all, from the call's start to
    /// its last event: [`ClientConfig::stream_timeout`], or the handle's time budget
    /// ([`with_timeout`](Self::with_timeout)) when shorter.
    pub fn stream_timeout(&self) -> Duration {
        let whole = self.shared.config.stream_timeout;
        self.timeout.map_or(whole, |t| t.min(whole))
    }

    /// A fresh seed: each machine gets its own.
    pub fn seed(&self) -> u64 {
        self.shared.seeds.next_seed()
    }

    /// A fresh multipart boundary, so that no file can contain it by design.
    pub fn boundary(&self) -> String {
        crate::body::boundary_from_seed(self.seed())
    }

    /// The retry policy of a call of this handle.
    pub fn retry_policy(&self) -> RetryPolicy {
        let mut policy = self.shared.config.retry.clone();
        if let Some(t) = self.timeout {
            policy.timeout = t;
        }
        policy
    }

    /// Where machines send their events.
    pub fn events(&self) -> Events {
        self.shared.events.clone()
    }

    /// One call of `request`, with retries. Fails at once, with nothing sent, when the request
    /// is invalid.
    pub fn call<R: ApiCall>(&self, request: &R) -> Result<Call<R::Output>, Error> {
        Ok(self.call_with(request.to_request(self.target())?, R::decode))
    }

    /// One call of a rendered request, its success decoded by `decoder`.
    pub fn call_with<T>(&self, request: Request, decoder: Decoder<T>) -> Call<T> {
        Call::with_decoder(request, self.retry_policy(), decoder)
            .seed(self.seed())
            .events(self.events())
            .rate_limited()
    }

    /// A create that, when its answer is lost, is looked up before it is ever sent again. Each
    /// create is tagged with a fresh token (`rein_token` in its metadata), unless the client was
    /// told not to ([`ClientConfig::tag_creates`]).
    pub fn create_once<R: Reconcile>(&self, request: &R) -> Result<CreateOnce<R>, Error> {
        let create = if self.shared.config.tag_creates {
            let tokens = &self.shared.tokens;
            let token = format!("{:016x}{:016x}", tokens.next_seed(), tokens.next_seed());
            CreateOnce::new(self.target(), request, &token, self.retry_policy())?
        } else {
            CreateOnce::untagged(self.target(), request, self.retry_policy())?
        };
        let in_flight = self.shared.config.request_timeout;
        Ok(create.seed(self.seed()).events(self.events()).in_flight(in_flight).rate_limited())
    }

    /// A wait on the resource `request` gets, polled by `policy` (with this handle's time
    /// budget, if it has one).
    pub fn wait<R>(&self, request: &R, policy: WaitPolicy) -> Result<Wait<R::Output>, Error>
    where
        R: ApiCall,
        R::Output: Pollable,
    {
        let policy = match self.timeout {
            Some(t) => policy.timeout(t),
            None => policy,
        };
        Ok(Wait::typed(self.target(), request, policy, self.retry_policy())?
            .seed(self.seed())
            .events(self.events())
            .rate_limited())
    }

    /// A wait on every id of `fleet` (with this handle's time budget as each id's timeout, if it
    /// has one).
    pub fn fleet<K: FleetKind>(&self, fleet: Fleet<K>) -> FleetWait<K> {
        let fleet = match self.timeout {
            Some(t) => fleet.timeout(t),
            None => fleet,
        };
        FleetWait::new(fleet, self.target(), self.retry_policy())
            .seed(self.seed())
            .events(self.events())
    }

    /// `machine`, run under this handle: stopped by its cancel token, each attempt bounded by
    /// the request timeout.
    pub fn run<M: Machine>(&self, machine: M) -> Run<M> {
        Run {
            span: Span::call(machine.operation()),
            machine: Box::new(machine),
            cancel: self.cancel.clone(),
            request_timeout: self.shared.config.request_timeout,
        }
    }
}

/// A machine run under a client's handle. Drive it like any machine.
#[derive(Debug)]
pub struct Run<M> {
    // Boxed: a driver moves its machine at every step, and an async driver's future holds it.
    machine: Box<M>,
    cancel: Option<CancelToken>,
    request_timeout: Duration,
    span: Span,
}

impl<M> Run<M> {
    /// The call's span, for the driver to run the whole call in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The machine run (for a [`FleetWait`]'s checkpoint, say).
    pub fn machine(&self) -> &M {
        &self.machine
    }
}

impl<M: Machine> Machine for Run<M> {
    type Output = M::Output;
    type Item = M::Item;

    fn operation(&self) -> Option<Operation> {
        self.machine.operation()
    }

    fn next(&mut self, now: Now, token: Internal) -> Next<M::Output, M::Item> {
        let next = self.span.in_scope(|| self.machine.next(now, token));
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            // What has arrived is kept (a result, items already fetched, a 429's pause for the
            // limiter); nothing more is sent, read or slept for.
            return match next {
                Next::Done(result) => Next::Done(result),
                Next::Yield(item) => Next::Yield(item),
                Next::Tell(report) => Next::Tell(report),
                Next::Acquire(_) | Next::Send(_) | Next::Read(_) | Next::Sleep(_) => {
                    Next::Done(self.machine.cancel(token))
                }
            };
        }
        match next {
            Next::Send(mut attempt) => {
                attempt.timeout = attempt.timeout.min(self.request_timeout);
                attempt.span = Span::attempt(&attempt.request);
                Next::Send(attempt)
            }
            other => other,
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        self.span.in_scope(|| self.machine.feed(input, now, token))
    }

    fn cancel(&mut self, token: Internal) -> Result<M::Output, Error> {
        self.machine.cancel(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_seed_repeats_the_jitter_but_never_the_create_tokens() {
        let runner = |entropy| {
            let mut settings = Settings::new(ClientConfig::new(Api::Jack, "jack_k"));
            settings.seed = Some(42);
            Runner::new(settings, entropy).expect("runner")
        };
        let (a, b) = (runner(1), runner(2));
        assert_eq!(a.seed(), b.seed(), "the same seed, the same jitter");
        assert_eq!(a.boundary(), b.boundary());
        assert_ne!(a.shared.tokens.next_seed(), b.shared.tokens.next_seed(), "tokens are fresh");
    }
}
