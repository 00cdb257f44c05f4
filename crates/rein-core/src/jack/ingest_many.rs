//! Any number of documents ingested in batches of the documented maximum: the [`IngestMany`]
//! machine. Every document is validated before the first batch is sent; each batch is a create
//! that happens once; a failed batch does not stop the others, and the report says which
//! documents each batch held. Cancelled, it stops sending and reports every batch it never sent.

use std::convert::Infallible;

use super::ingest::{ingest_many, IngestAccepted, IngestBatch, IngestReport, NewDocument};
use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::error::Error;
use crate::event::{Event, Events};
use crate::limiter::Priority;
use crate::machine::{Input, Internal, Machine, Next};
use crate::reconcile::CreateOnce;
use crate::runner::Runner;
use crate::time::Now;

/// Ingests documents batch after batch, and reports what became of each.
#[derive(Debug)]
pub struct IngestMany {
    runner: Runner,
    events: Events,
    total: u32,
    batches: std::vec::IntoIter<IngestBatch>,
    current: Option<(IngestBatch, CreateOnce<IngestBatch>)>,
    report: IngestReport,
}

impl IngestMany {
    /// The batches of `documents`, for a client run by `runner`. Fails at once, with nothing
    /// sent, when any document is invalid.
    pub fn new<D: Into<NewDocument>>(
        runner: &Runner,
        documents: impl IntoIterator<Item = D>,
    ) -> Result<Self, Error> {
        let batches = ingest_many(documents)?;
        Ok(IngestMany {
            runner: runner.clone(),
            events: runner.events(),
            total: u32::try_from(batches.len()).unwrap_or(u32::MAX),
            batches: batches.into_iter(),
            current: None,
            report: IngestReport::default(),
        })
    }
}

impl IngestMany {
    /// Records a batch's outcome, and says so to the event hook: progress of a long ingest.
    fn record(&mut self, batch: IngestBatch, result: Result<IngestAccepted, Error>) {
        let accepted = result.is_ok();
        self.report.record(batch, result);
        let batch = u32::try_from(self.report.batches.len()).unwrap_or(u32::MAX);
        let accepted_batches = self.report.batches.iter().filter_map(|(_, r)| r.as_ref().ok());
        let documents = accepted_batches.map(|a| a.document_ids.len() as u64).sum();
        let (operation, batches) = (IngestBatch::OPERATION, self.total);
        self.events.emit(|| Event::Batch { operation, batch, batches, accepted, documents });
    }
}

impl Machine for IngestMany {
    type Output = IngestReport;
    type Item = Infallible;

    fn next(&mut self, now: Now, token: Internal) -> Next<IngestReport, Infallible> {
        loop {
            match &mut self.current {
                Some((_, create)) => match create.next(now, token).or_done() {
                    Ok(next) => return next,
                    Err(result) => {
                        if let Some((batch, _)) = self.current.take() {
                            self.record(batch, result);
                        }
                    }
                },
                None => match self.batches.next() {
                    // Bulk work: the batches leave the reserved share to the caller's other calls.
                    Some(batch) => match self.runner.create_once(&batch) {
                        Ok(create) => self.current = Some((batch, create.priority(Priority::Bulk))),
                        Err(e) => self.record(batch, Err(e)),
                    },
                    None => return Next::Done(Ok(std::mem::take(&mut self.report))),
                },
            }
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        if let Some((_, create)) = &mut self.current {
            create.feed(input, now, token);
        }
    }

    fn cancel(&mut self, token: Internal) -> Result<IngestReport, Error> {
        // The batch in flight keeps its answer if it got one; the others were never sent.
        if let Some((batch, mut create)) = self.current.take() {
            self.report.record(batch, create.cancel(token));
        }
        let mut report = std::mem::take(&mut self.report);
        report.cancel_rest(self.batches.by_ref());
        Ok(report)
    }

    fn operation(&self) -> Option<Operation> {
        Some(IngestBatch::OPERATION)
    }
}
