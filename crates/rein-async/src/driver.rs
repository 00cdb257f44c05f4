//! The driver: one loop that runs any rein-core machine with the client's transport, clock and
//! sleeper, awaiting each answer no later than the machine says. Every decision is the
//! machine's; this only answers its steps.
//!
//! Dropping a driver's future drops the machine with it: nothing more is sent.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use rein_core::{Error, Machine, Moment, Now, Run, Step, Stop};

use crate::client::Client;
use crate::transport::BodyStream;

/// The body of a streamed response, open between the exchange that opened it and the reads.
pub(crate) type OpenBody = Option<BodyStream>;

impl Client {
    /// Runs `machine` until it yields an item or finishes. A request in flight when the caller
    /// cancels finishes first; the machine then decides what its end is.
    pub(crate) async fn drive<M: Machine>(&self, mut machine: M, body: &mut OpenBody) -> Stop<M> {
        let (runner, io) = (self.runner(), &self.io);
        // The clock is read after each wait for IO or sleep; the steps between take no time.
        let mut now = io.clock.now();
        loop {
            machine = match machine.poll(now) {
                // The client's own limiter answers at once: it is in memory. A shared one answers
                // over IO, in the time its own timeouts bound.
                Step::Acquire(acquire) => match &io.shared {
                    None => acquire.answer_from(runner.limiter(), now),
                    Some(shared) => {
                        let slot = shared.acquire(acquire.ask, now, &runner.events()).await;
                        now = io.clock.now();
                        acquire.answer(slot, now)
                    }
                },
                Step::Tell(tell) => match &io.shared {
                    None => tell.tell(runner.limiter(), now),
                    Some(shared) => {
                        shared.report(tell.report, now, &runner.events()).await;
                        now = io.clock.now();
                        tell.resume()
                    }
                },
                Step::Send(exchange) => {
                    let streams = exchange.streams();
                    let (request, awaiting) = exchange.send(now);
                    let outcome = if streams {
                        let sent = awaiting.span().instrument(io.transport.send_streaming(request));
                        within(now, awaiting.expires(), sent).await.map(|outcome| {
                            outcome.map(|response| {
                                let (head, open) = response.into_parts();
                                *body = Some(open);
                                http::Response::from_parts(head, Bytes::new())
                            })
                        })
                    } else {
                        let sent = awaiting.span().instrument(io.transport.send(request));
                        within(now, awaiting.expires(), sent).await
                    };
                    now = io.clock.now();
                    match outcome {
                        Some(outcome) => awaiting.answer(outcome, now),
                        None => awaiting.expired(now),
                    }
                }
                Step::Read(read) => {
                    let chunk = match body {
                        Some(open) => within(now, read.until, next_chunk(open)).await,
                        None => Some(None),
                    };
                    now = io.clock.now();
                    match chunk {
                        Some(chunk) => read.answer(chunk, now),
                        None => read.expired(now),
                    }
                }
                Step::Sleep(sleep) => {
                    let nap = now.to_real(sleep.until.saturating_since(now.moment));
                    io.sleeper.sleep(nap, runner.cancel_token()).await;
                    now = io.clock.now();
                    sleep.wake()
                }
                Step::Yield(item, machine) => return Stop::Yielded(item, machine),
                Step::Done(result) => return Stop::Done(result),
            }
        }
    }
}

/// `work`'s output, or `None` if `due` (on the client's clock, read at `now`) comes first.
async fn within<T>(now: Now, due: Moment, work: impl Future<Output = T>) -> Option<T> {
    let left = now.to_real(due.saturating_since(now.moment));
    tokio::time::timeout(left, work).await.ok()
}

async fn next_chunk(body: &mut BodyStream) -> Option<Result<Bytes, rein_core::TransportError>> {
    std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await
}

type Driving<M> = Pin<Box<dyn Future<Output = (Stop<Run<M>>, OpenBody)> + Send>>;

/// The items of a listing or of a streamed response, as a [`Stream`]: each is fetched (or read)
/// when the stream is polled for it. An error that ends the machine is its last item.
///
/// Pull items with any `StreamExt` (futures, tokio-stream), or with [`Items::next`].
pub struct Items<M: Machine> {
    client: Client,
    idle: Option<(Run<M>, OpenBody)>,
    driving: Option<Driving<M>>,
}

impl<M: Machine> std::fmt::Debug for Items<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("ended", &(self.idle.is_none() && self.driving.is_none()))
            .finish_non_exhaustive()
    }
}

impl<M: Machine> Items<M> {
    pub(crate) fn new(client: Client, machine: Run<M>, body: OpenBody) -> Self {
        Items { client, idle: Some((machine, body)), driving: None }
    }

    /// The machine between two items (`None` while an item is being fetched, and once they
    /// are over): a fleet's checkpoint, say.
    pub fn machine(&self) -> Option<&M> {
        self.idle.as_ref().map(|(run, _)| run.machine())
    }
}

impl<M, T> Items<M>
where
    M: Machine<Item = Result<T, Error>, Output = ()> + Send + 'static,
    T: Send + 'static,
{
    /// The next item, `None` once they are over: the same as `StreamExt::next`.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<M, T> Stream for Items<M>
where
    M: Machine<Item = Result<T, Error>, Output = ()> + Send + 'static,
    T: Send + 'static,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let driving = match &mut this.driving {
            Some(driving) => driving,
            None => {
                let Some((machine, mut body)) = this.idle.take() else {
                    return Poll::Ready(None);
                };
                let client = this.client.clone();
                this.driving.insert(Box::pin(async move {
                    let stop = client.drive(machine, &mut body).await;
                    (stop, body)
                }))
            }
        };
        let (stop, body) = ready!(driving.as_mut().poll(cx));
        this.driving = None;
        let (item, machine) = stop.into_next();
        this.idle = machine.map(|machine| (machine, body));
        Poll::Ready(item)
    }
}
