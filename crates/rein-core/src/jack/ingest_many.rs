//! Any number of documents ingested in batches of the documented maximum: the [`IngestMany`]
//! machine. Every document is validated before the first batch is sent; each batch is a create
//! that happens once; a failed batch does not stop the others, and the report says which
//! documents each batch held. Cancelled, it stops sending and reports every batch it never sent.

use std::convert::Infallible;

use super::ingest::{ingest_many, IngestBatch, IngestReport, NewDocument};
use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::error::Error;
use crate::machine::{Input, Internal, Machine, Next};
use crate::reconcile::CreateOnce;
use crate::runner::Runner;
use crate::time::Now;

/// Ingests documents batch after batch, and reports what became of each.
#[derive(Debug)]
pub struct IngestMany {
    runner: Runner,
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
        Ok(IngestMany {
            runner: runner.clone(),
            batches: ingest_many(documents)?.into_iter(),
            current: None,
            report: IngestReport::default(),
        })
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
                            self.report.record(batch, result);
                        }
                    }
                },
                None => match self.batches.next() {
                    Some(batch) => match self.runner.create_once(&batch) {
                        Ok(create) => self.current = Some((batch, create)),
                        Err(e) => {
                            self.report.record(batch, Err(e));
                        }
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
