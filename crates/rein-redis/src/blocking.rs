//! The budget for blocking clients, over synchronous Redis connections.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rein_core::{Ask, Events, Moment, Now, Report, SharedLimit};

use crate::budget::{read_acquire, Budget, Fallback, ACQUIRE, PAUSE};

/// A [`Budget`] for blocking clients: give it to `shared_limiter` on a client's builder. Cheap
/// to clone; clones share their connections and their fallback state.
///
/// Each acquisition is one script call on a pooled connection (one per thread asking at once);
/// connecting and every command are bounded by the budget's timeout. When Redis does not
/// answer in time, the process keeps to its local share and says so once through the client's
/// event hook ([`Event::SharedBudgetUnavailable`](rein_core::Event::SharedBudgetUnavailable)).
///
/// ```no_run
/// use rein::blocking::Jack;
/// use rein_redis::{Budget, RedisLimiter};
///
/// let limiter = RedisLimiter::new(Budget::new("redis://10.0.0.5:6379/", "acme")?);
/// let jack = Jack::builder(std::env::var("JACK_API_KEY")?)
///     .shared_limiter(limiter.clone()) // every worker of acme draws from one budget
///     .build()?;
/// println!("{}", jack.query("How long do refunds take?")?.answer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    fallback: Fallback,
    idle: Mutex<Vec<redis::Connection>>,
    acquire: redis::Script,
    pause: redis::Script,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter").field("budget", self.inner.fallback.budget()).finish()
    }
}

impl RedisLimiter {
    /// A limiter drawing from `budget`. Nothing is connected until the first request.
    pub fn new(budget: Budget) -> Self {
        RedisLimiter {
            inner: Arc::new(Inner {
                fallback: Fallback::new(budget),
                idle: Mutex::new(Vec::new()),
                acquire: redis::Script::new(ACQUIRE),
                pause: redis::Script::new(PAUSE),
            }),
        }
    }

    /// The budget.
    pub fn budget(&self) -> &Budget {
        self.inner.fallback.budget()
    }
}

impl Inner {
    /// Runs `call` on a pooled connection (a new one if none is idle); the connection goes
    /// back to the pool only if the call worked, and the pool is emptied if it did not.
    fn with_connection<T>(
        &self,
        call: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self.connect().map_err(|e| format!("connecting to Redis: {e}"))?,
        };
        match call(&mut connection) {
            Ok(value) => {
                self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(connection);
                Ok(value)
            }
            Err(e) => {
                self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
                Err(format!("Redis: {e}"))
            }
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let budget = self.fallback.budget();
        let connection = budget.client.get_connection_with_timeout(budget.timeout)?;
        connection.set_read_timeout(Some(budget.timeout))?;
        connection.set_write_timeout(Some(budget.timeout))?;
        Ok(connection)
    }
}

impl SharedLimit for RedisLimiter {
    fn acquire(&self, ask: Ask, now: Now, events: &Events) -> Result<(), Moment> {
        let inner = &*self.inner;
        let fallback = &inner.fallback;
        if fallback.ask_redis(Instant::now()) {
            let (keys, args) = fallback.budget().acquire_call(ask, now);
            let reply = inner.with_connection(|c| {
                inner.acquire.key(&keys[..]).arg(&args[..]).invoke::<Vec<i64>>(c)
            });
            match reply.and_then(|reply| read_acquire(&reply, now)) {
                Ok(slot) => {
                    fallback.answered(events);
                    return slot;
                }
                Err(reason) => fallback.failed(Instant::now(), || reason, events),
            }
        }
        fallback.acquire_locally(ask, now)
    }

    fn report(&self, report: &Report, now: Now, events: &Events) {
        let inner = &*self.inner;
        let fallback = &inner.fallback;
        fallback.report_locally(report, now);
        let Some((key, ms)) = fallback.budget().pause_call(report, now) else { return };
        if fallback.ask_redis(Instant::now()) {
            match inner.with_connection(|c| inner.pause.key(&key).arg(ms).invoke::<i64>(c)) {
                Ok(_) => fallback.answered(events),
                Err(reason) => fallback.failed(Instant::now(), || reason, events),
            }
        }
    }
}
