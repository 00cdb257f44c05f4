//! The blocking jack client.

use std::path::Path;

use rein_core::jack::{
    ingest_many, DeleteDocument, Document, FileAccepted, GetDocument, GetUsage, Ingest,
    IngestAccepted, IngestFile, IngestReport, ListDocuments, NewDocument, Query, QueryAnswer,
    Usage,
};
use rein_core::{Api, ClientConfig, Error, Wait, WaitPolicy};

use crate::client::{handle_options, ApiClient, ClientBuilder, Handle};
use crate::files::file_source;

/// A blocking client of jack (`https://api.usejack.io/v1`).
///
/// Every call validates its request before sending, retries what is safe to retry (429 after
/// `Retry-After` or 60 s, 5xx, lost connections), and shares one 60-per-minute window and 429
/// pause with every other call of the client. Clones share all of it.
///
/// ```no_run
/// use rein_blocking::Jack;
/// use rein_core::jack::NewDocument;
///
/// let jack = Jack::from_env()?; // JACK_API_KEY, and JACK_BASE_URL to point elsewhere
/// let accepted = jack.ingest([NewDocument::new("Refunds take 5 days.").metadata("lang", "en")])?;
/// for id in &accepted.document_ids {
///     let doc = jack.wait_for_document(id)?; // every 5 s, up to 120 s
///     println!("{id}: {} chunks", doc.chunk_count.unwrap_or(0));
/// }
/// let answer = jack.query("How long do refunds take?")?;
/// println!("{}", answer.answer);
/// # Ok::<(), rein_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Jack {
    pub(crate) handle: Handle,
}

impl ApiClient for Jack {
    const API: Api = Api::Jack;
}

handle_options!(Jack);

impl Jack {
    /// A client from `JACK_API_KEY` (and `JACK_BASE_URL`, if set), with default policies.
    pub fn from_env() -> Result<Jack, Error> {
        Jack::builder_from_env()?.build()
    }

    /// A builder from `JACK_API_KEY` (and `JACK_BASE_URL`, if set).
    pub fn builder_from_env() -> Result<ClientBuilder<Jack>, Error> {
        Ok(ClientBuilder::new(ClientConfig::from_env(Api::Jack, |v| std::env::var(v).ok())?))
    }

    /// A builder with `key`.
    pub fn builder(key: impl Into<rein_core::ApiKey>) -> ClientBuilder<Jack> {
        ClientBuilder::new(ClientConfig::new(Api::Jack, key))
    }

    /// Ingests up to 50 documents in one request (one request against the rate limit). Each
    /// document is tagged `rein_token` in its metadata, so an ingest whose answer is lost is
    /// found again in the documents list instead of being sent twice.
    pub fn ingest<D: Into<NewDocument>>(
        &self,
        documents: impl IntoIterator<Item = D>,
    ) -> Result<IngestAccepted, Error> {
        self.handle.create_once(&Ingest::new(documents))
    }

    /// Ingests any number of documents in batches of the documented maximum. Every document is
    /// validated before the first batch is sent; a failed batch does not stop the others, and
    /// the report says which documents each batch held.
    pub fn ingest_many<D: Into<NewDocument>>(
        &self,
        documents: impl IntoIterator<Item = D>,
    ) -> Result<IngestReport, Error> {
        let mut batches = ingest_many(documents)?.into_iter();
        let mut report = IngestReport::default();
        while let Some(batch) = batches.next() {
            let result = self.handle.create_once(&batch);
            if !report.record(batch, result) {
                report.cancel_rest(batches);
                break;
            }
        }
        Ok(report)
    }

    /// Ingests a file (.pdf, .docx, .txt or .md, up to 100 MB), streamed from disk.
    pub fn ingest_file(&self, path: impl AsRef<Path>) -> Result<FileAccepted, Error> {
        let source = file_source(path.as_ref())?;
        let boundary = rein_core::body::boundary_from_seed(self.handle.shared.runtime.seed());
        self.call(&IngestFile::new(source).boundary(boundary))
    }

    /// A document.
    pub fn get_document(&self, document_id: &str) -> Result<Document, Error> {
        self.call(&GetDocument::new(document_id))
    }

    /// Every document, newest first.
    pub fn list_documents(&self) -> Result<Vec<Document>, Error> {
        self.call(&ListDocuments::new())
    }

    /// Deletes a document.
    pub fn delete_document(&self, document_id: &str) -> Result<(), Error> {
        self.call(&DeleteDocument::new(document_id))
    }

    /// Asks a question over the organisation's documents.
    pub fn query(&self, question: &str) -> Result<QueryAnswer, Error> {
        self.call(&Query::new(question))
    }

    /// Usage over the last 30 days.
    pub fn usage(&self) -> Result<Usage, Error> {
        self.call(&GetUsage::new())
    }

    /// Waits until a document is `ready` (every 5 s, up to 120 s). A `failed` document ends the
    /// wait with [`Error::ResourceFailed`] carrying its `error_message`.
    pub fn wait_for_document(&self, document_id: &str) -> Result<Document, Error> {
        self.wait_for_document_with(document_id, WaitPolicy::JACK_DOCUMENT)
    }

    /// Waits on a document with another policy.
    pub fn wait_for_document_with(
        &self,
        document_id: &str,
        policy: WaitPolicy,
    ) -> Result<Document, Error> {
        let wait = Wait::typed(
            &self.handle.shared.target,
            &GetDocument::new(document_id),
            self.handle.wait_policy(policy),
            self.handle.retry(),
        )?;
        self.handle.wait(wait)
    }
}
