//! The budget for async clients, over one multiplexed tokio connection.

use std::sync::Arc;
use std::time::Instant;

use redis::aio::MultiplexedConnection;
use rein_core::{Ask, AsyncSharedLimit, BoxFuture, Events, Moment, Now, Report};

use crate::budget::{Budget, Shared};

/// A [`Budget`] for async clients: give it to `shared_limiter` on a client's builder. Cheap to
/// clone; clones share their connection and their fallback state.
///
/// Every task of the process shares one multiplexed connection, so an acquisition never blocks
/// the executor and never waits for a connection of its own. Each acquisition is bounded as a
/// whole by the budget's timeout: waiting for the connection, connecting, the call, and one more
/// try on a new connection when the one held turns out dead. When Redis does not answer in time, the process keeps to
/// its local share and says so once through the client's event hook.
///
/// ```no_run
/// use rein::asynchronous::Jack;
/// use rein_redis::{AsyncRedisLimiter, Budget};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = AsyncRedisLimiter::new(Budget::new("redis://10.0.0.5:6379/", "acme")?);
/// let jack = Jack::builder(std::env::var("JACK_API_KEY")?)
///     .shared_limiter(limiter.clone()) // every worker of acme draws from one budget
///     .build()?;
/// println!("{}", jack.query("How long do refunds take?").await?.answer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncRedisLimiter {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Connection {
    /// The connection, with the number it was made as.
    made: Option<(u64, MultiplexedConnection)>,
    made_count: u64,
    /// When connecting last failed: the tasks that waited for the lock during that attempt
    /// fail with it instead of each trying again in turn.
    failed_at: Option<Instant>,
}

struct Inner {
    shared: Shared,
    /// Connecting holds the lock, so that tasks arriving meanwhile wait for the one connection
    /// instead of each making their own.
    connection: tokio::sync::Mutex<Connection>,
}

impl std::fmt::Debug for AsyncRedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRedisLimiter").field("budget", self.inner.shared.budget()).finish()
    }
}

impl AsyncRedisLimiter {
    /// A limiter drawing from `budget`. Nothing is connected until the first request.
    pub fn new(budget: Budget) -> Self {
        let shared = Shared::new(budget);
        let connection = tokio::sync::Mutex::new(Connection::default());
        AsyncRedisLimiter { inner: Arc::new(Inner { shared, connection }) }
    }

    /// The budget.
    pub fn budget(&self) -> &Budget {
        self.inner.shared.budget()
    }
}

impl Inner {
    /// Runs `cmd` within the budget's timeout, all of it.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let timeout = self.shared.budget().timeout;
        match tokio::time::timeout(timeout, self.run_unbounded(cmd)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("Redis: no answer within {} ms", timeout.as_millis())),
        }
    }

    /// The shared connection, and once more a new one if it was made before and turns out
    /// dead (closed while idle, a restarted Redis).
    async fn run_unbounded<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let (number, mut connection, reused) = self.connection().await?;
        match query(&mut connection, cmd).await {
            Err(e) if dead(&e) => {
                self.forget(number).await;
                if !reused {
                    return Err(format!("Redis: {e}"));
                }
            }
            answer => return answer.map_err(|e| format!("Redis: {e}")),
        }
        let (number, mut connection, _) = self.connection().await?;
        let answer = query(&mut connection, cmd).await;
        if answer.as_ref().is_err_and(dead) {
            self.forget(number).await;
        }
        answer.map_err(|e| format!("Redis: {e}"))
    }

    /// The shared connection (its number, and whether it was made before), made if there is
    /// none.
    async fn connection(&self) -> Result<(u64, MultiplexedConnection, bool), String> {
        let asked = Instant::now();
        let mut slot = self.connection.lock().await;
        if let Some((number, connection)) = &slot.made {
            return Ok((*number, connection.clone(), true));
        }
        if slot.failed_at.is_some_and(|at| at >= asked) {
            return Err("connecting to Redis failed just now".to_owned());
        }
        let budget = self.shared.budget();
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(budget.timeout))
            .set_response_timeout(Some(budget.timeout));
        match budget.client.get_multiplexed_async_connection_with_config(&config).await {
            Ok(connection) => {
                slot.made_count += 1;
                let number = slot.made_count;
                slot.made = Some((number, connection.clone()));
                slot.failed_at = None;
                Ok((number, connection, false))
            }
            Err(e) => {
                slot.failed_at = Some(Instant::now());
                Err(format!("connecting to Redis: {e}"))
            }
        }
    }

    /// Drops connection `number`, unless another has replaced it already.
    async fn forget(&self, number: u64) {
        let mut slot = self.connection.lock().await;
        if slot.made.as_ref().is_some_and(|(made, _)| *made == number) {
            slot.made = None;
        }
    }
}

async fn query<T: redis::FromRedisValue>(
    connection: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
) -> redis::RedisResult<T> {
    let value = connection.send_packed_command(cmd).await?;
    Ok(redis::from_redis_value(value)?)
}

/// Whether an error says the connection is gone (as against an error the server answered).
fn dead(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout()
}

impl AsyncSharedLimit for AsyncRedisLimiter {
    fn acquire<'a>(
        &'a self,
        ask: Ask,
        now: Now,
        events: &'a Events,
    ) -> BoxFuture<'a, Result<(), Moment>> {
        Box::pin(async move {
            let shared = &self.inner.shared;
            match shared.begin_acquire(ask, now, Instant::now()) {
                Err(answer) => answer,
                Ok((ticket, cmd)) => {
                    let reply = self.inner.run::<Vec<i64>>(&cmd).await;
                    shared.finish_acquire(ticket, reply, ask, now, events)
                }
            }
        })
    }

    fn report<'a>(&'a self, report: Report, now: Now, events: &'a Events) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let shared = &self.inner.shared;
            if let Some((ticket, cmd)) = shared.begin_report(&report, now, Instant::now()) {
                let answer = self.inner.run::<i64>(&cmd).await;
                shared.finish_report(ticket, answer, events);
            }
        })
    }
}
