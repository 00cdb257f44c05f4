//! The budget for blocking clients, over synchronous Redis connections.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rein_core::{Ask, Events, Moment, Now, Report, SharedLimit};

use crate::budget::{Budget, Shared};

/// A [`Budget`] for blocking clients: give it to `shared_limiter` on a client's builder. Cheap
/// to clone; clones share their connections and their fallback state.
///
/// Each acquisition is one script call on a pooled connection (one per thread asking at once),
/// bounded as a whole by the budget's timeout: connecting, sending and reading, and one more
/// try on a new connection when a pooled one turns out dead. (A host name is resolved by the
/// system's resolver, under its own timeouts; give an IP address to avoid it.) When Redis does not
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
    shared: Shared,
    idle: Mutex<Vec<redis::Connection>>,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter").field("budget", self.inner.shared.budget()).finish()
    }
}

impl RedisLimiter {
    /// A limiter drawing from `budget`. Nothing is connected until the first request.
    pub fn new(budget: Budget) -> Self {
        let shared = Shared::new(budget);
        RedisLimiter { inner: Arc::new(Inner { shared, idle: Mutex::new(Vec::new()) }) }
    }

    /// The budget.
    pub fn budget(&self) -> &Budget {
        self.inner.shared.budget()
    }
}

impl Inner {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<redis::Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `cmd` within the budget's timeout, all of it: on a pooled connection, and if that
    /// one turns out dead (closed while idle, a restarted Redis), once more on a new one. A
    /// connection goes back to the pool only after a call that worked.
    fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let budget = self.shared.budget();
        let deadline = Instant::now() + budget.timeout;
        let pooled = self.idle().pop();
        if let Some(mut connection) = pooled {
            match query_within(&mut connection, cmd, deadline) {
                Ok(value) => {
                    self.idle().push(connection);
                    return Ok(value);
                }
                // The server answered with an error: the connection is sound, the call not.
                Err(e) if !e.is_io_error() && !e.is_timeout() => {
                    self.idle().push(connection);
                    return Err(format!("Redis: {e}"));
                }
                Err(_) => self.idle().clear(),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("Redis: no answer within {} ms", budget.timeout.as_millis()));
        }
        let mut connection = budget
            .client
            .get_connection_with_timeout(left)
            .map_err(|e| format!("connecting to Redis: {e}"))?;
        let value =
            query_within(&mut connection, cmd, deadline).map_err(|e| format!("Redis: {e}"))?;
        self.idle().push(connection);
        Ok(value)
    }
}

/// `cmd` on `connection`, its reads and writes bounded by what is left before `deadline`.
fn query_within<T: redis::FromRedisValue>(
    connection: &mut redis::Connection,
    cmd: &redis::Cmd,
    deadline: Instant,
) -> redis::RedisResult<T> {
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    connection.set_read_timeout(Some(left))?;
    connection.set_write_timeout(Some(left))?;
    cmd.query(connection)
}

impl SharedLimit for RedisLimiter {
    fn acquire(&self, ask: Ask, now: Now, events: &Events) -> Result<(), Moment> {
        let shared = &self.inner.shared;
        match shared.begin_acquire(ask, now, Instant::now()) {
            Err(answer) => answer,
            Ok((ticket, cmd)) => {
                let reply = self.inner.run::<Vec<i64>>(&cmd);
                shared.finish_acquire(ticket, reply, ask, now, events)
            }
        }
    }

    fn report(&self, report: &Report, now: Now, events: &Events) {
        let shared = &self.inner.shared;
        if let Some((ticket, cmd)) = shared.begin_report(report, now, Instant::now()) {
            let answer = self.inner.run::<i64>(&cmd);
            shared.finish_report(ticket, answer, events);
        }
    }
}
