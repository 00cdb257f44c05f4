//! The driver: one loop that runs any rein-core machine with the client's transport, clock and
//! sleeper. Every decision is the machine's; this only answers its steps.

use std::io::Read;

use bytes::Bytes;
use rein_core::{Error, Machine, Run, Step, Stop};

use crate::client::Client;
use crate::transport::read_chunk;

/// The body of a streamed response, open between the exchange that opened it and the reads.
pub(crate) type OpenBody = Option<Box<dyn Read + Send>>;

impl Client {
    /// Runs `machine` until it yields an item or finishes. A request in flight when the caller
    /// cancels finishes first; the machine then decides what its end is.
    pub(crate) fn drive<M: Machine>(&self, mut machine: M, body: &mut OpenBody) -> Stop<M> {
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
                        let slot = shared.acquire(acquire.ask, now, &runner.events());
                        now = io.clock.now();
                        acquire.answer(slot, now)
                    }
                },
                Step::Tell(tell) => match &io.shared {
                    None => tell.tell(runner.limiter(), now),
                    Some(shared) => {
                        shared.report(&tell.report, now, &runner.events());
                        now = io.clock.now();
                        tell.resume()
                    }
                },
                Step::Send(exchange) if exchange.streams() => {
                    let (request, awaiting) = exchange.send(now);
                    let sent = awaiting.span().in_scope(|| io.transport.send_streaming(request));
                    let outcome = sent.map(|response| {
                        let (head, open) = response.into_parts();
                        *body = Some(open);
                        http::Response::from_parts(head, Bytes::new())
                    });
                    now = io.clock.now();
                    awaiting.answer(outcome, now)
                }
                Step::Send(exchange) => {
                    let (request, awaiting) = exchange.send(now);
                    let outcome = awaiting.span().in_scope(|| io.transport.send(request));
                    now = io.clock.now();
                    awaiting.answer(outcome, now)
                }
                // The transport bounds each read (by the `ReadTimeout` and `StreamTimeout` of the
                // request that opened the body): a socket cannot be interrupted from here.
                Step::Read(read) => {
                    let chunk = body.as_mut().and_then(read_chunk);
                    now = io.clock.now();
                    read.answer(chunk, now)
                }
                Step::Sleep(sleep) => {
                    let nap = now.to_real(sleep.until.saturating_since(now.moment));
                    io.sleeper.sleep(nap, runner.cancel_token());
                    now = io.clock.now();
                    sleep.wake()
                }
                Step::Yield(item, machine) => return Stop::Yielded(item, machine),
                Step::Done(result) => return Stop::Done(result),
            }
        }
    }
}

/// The items of a listing or of a streamed response, taken as an iterator: each is fetched (or
/// read) when the iterator reaches it. An error that ends the machine is its last item.
pub struct Items<M> {
    client: Client,
    machine: Option<Run<M>>,
    body: OpenBody,
}

impl<M> std::fmt::Debug for Items<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items").field("ended", &self.machine.is_none()).finish_non_exhaustive()
    }
}

impl<M> Items<M> {
    pub(crate) fn new(client: Client, machine: Run<M>, body: OpenBody) -> Self {
        Items { client, machine: Some(machine), body }
    }

    /// The machine between two items (`None` once they are over): a fleet's checkpoint, say.
    pub fn machine(&self) -> Option<&M> {
        self.machine.as_ref().map(Run::machine)
    }
}

impl<M, T> Iterator for Items<M>
where
    M: Machine<Item = Result<T, Error>, Output = ()>,
{
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Result<T, Error>> {
        let machine = self.machine.take()?;
        let (item, machine) = self.client.drive(machine, &mut self.body).into_next();
        self.machine = machine;
        item
    }
}
