//! The budget for async clients, over one multiplexed tokio connection.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use redis::aio::MultiplexedConnection;
use rein_core::{Ask, AsyncSharedLimit, BoxFuture, Events, Moment, Now, Report};

use crate::budget::{read_acquire, Budget, Fallback, ACQUIRE, PAUSE};

/// A [`Budget`] for async clients: give it to `shared_limiter` on a client's builder. Cheap to
/// clone; clones share their connection and their fallback state.
///
/// Every task of the process shares one multiplexed connection, so an acquisition never blocks
/// the executor and never waits for a connection of its own; connecting and every command are
/// bounded by the budget's timeout. When Redis does not answer in time, the process keeps to
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
    made: Option<MultiplexedConnection>,
    /// When connecting last failed: the tasks that waited for the lock during that attempt
    /// fail with it instead of each trying (and timing out) again in turn.
    failed_at: Option<Instant>,
}

struct Inner {
    fallback: Fallback,
    /// The connection, once made; connecting holds the lock, so that tasks arriving meanwhile
    /// wait for the one connection instead of each making their own.
    connection: tokio::sync::Mutex<Connection>,
    acquire: redis::Script,
    pause: redis::Script,
}

impl std::fmt::Debug for AsyncRedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRedisLimiter").field("budget", self.inner.fallback.budget()).finish()
    }
}

impl AsyncRedisLimiter {
    /// A limiter drawing from `budget`. Nothing is connected until the first request.
    pub fn new(budget: Budget) -> Self {
        AsyncRedisLimiter {
            inner: Arc::new(Inner {
                fallback: Fallback::new(budget),
                connection: tokio::sync::Mutex::new(Connection::default()),
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
    /// The shared connection, made if there is none (within the timeout).
    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        let asked = Instant::now();
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &slot.made {
            return Ok(connection.clone());
        }
        if slot.failed_at.is_some_and(|at| at >= asked) {
            return Err("connecting to Redis failed just now".to_owned());
        }
        let budget = self.fallback.budget();
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(budget.timeout))
            .set_response_timeout(Some(budget.timeout));
        let connecting = budget.client.get_multiplexed_async_connection_with_config(&config);
        let made = within(budget, connecting)
            .await
            .and_then(|made| made.map_err(|e| e.to_string()))
            .map_err(|e| format!("connecting to Redis: {e}"));
        slot.failed_at = made.is_err().then(Instant::now);
        slot.made = made.as_ref().ok().cloned();
        made
    }

    /// Runs `call` on the shared connection; a failed call drops it, to be made again.
    async fn call<T, F>(&self, call: impl FnOnce(MultiplexedConnection) -> F) -> Result<T, String>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        let answer = within(self.fallback.budget(), call(connection))
            .await
            .and_then(|answer| answer.map_err(|e| e.to_string()));
        if answer.is_err() {
            self.connection.lock().await.made = None;
        }
        answer.map_err(|e| format!("Redis: {e}"))
    }
}

/// `work`, unless the budget's timeout passes first (a second bound, besides the client's own
/// timeouts, so that nothing inside the client can hold a request up for longer).
async fn within<T>(budget: &Budget, work: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(budget.timeout, work)
        .await
        .map_err(|_| format!("no answer within {} ms", budget.timeout.as_millis()))
}

impl AsyncSharedLimit for AsyncRedisLimiter {
    fn acquire<'a>(
        &'a self,
        ask: Ask,
        now: Now,
        events: &'a Events,
    ) -> BoxFuture<'a, Result<(), Moment>> {
        Box::pin(async move {
            let inner = &*self.inner;
            let fallback = &inner.fallback;
            if fallback.ask_redis(Instant::now()) {
                let (keys, args) = fallback.budget().acquire_call(ask, now);
                let script = &inner.acquire;
                let reply = inner
                    .call(|mut c| async move {
                        script.key(&keys[..]).arg(&args[..]).invoke_async::<Vec<i64>>(&mut c).await
                    })
                    .await;
                match reply.and_then(|reply| read_acquire(&reply, now)) {
                    Ok(slot) => {
                        fallback.answered(events);
                        return slot;
                    }
                    Err(reason) => fallback.failed(Instant::now(), || reason, events),
                }
            }
            fallback.acquire_locally(ask, now)
        })
    }

    fn report<'a>(&'a self, report: Report, now: Now, events: &'a Events) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let inner = &*self.inner;
            let fallback = &inner.fallback;
            fallback.report_locally(&report, now);
            let Some((key, ms)) = fallback.budget().pause_call(&report, now) else { return };
            if fallback.ask_redis(Instant::now()) {
                let script = &inner.pause;
                let answer = inner
                    .call(|mut c| async move {
                        script.key(&key).arg(ms).invoke_async::<i64>(&mut c).await
                    })
                    .await;
                match answer {
                    Ok(_) => fallback.answered(events),
                    Err(reason) => fallback.failed(Instant::now(), || reason, events),
                }
            }
        })
    }
}
