//! The clients: [`Jockey`] and [`Jack`]. Every method is declared once, in rein-core
//! (`rein_core::__clients!`), for both adapters, and so is the glue that builds a client and runs
//! its machines (`rein_core::__client_glue!`); what is here makes them blocking: ureq, the
//! system's clocks and the thread's sleep.

use std::sync::Arc;

use rein_core::jockey::ResponseEvents;
use rein_core::{ClientConfig, Error};

use crate::driver::Items;
use crate::time::{Sleep, SystemClock};
use crate::transport::{file_source, Transport};

/// Every item of a page list, page after page: an iterator that yields an error once and stops
/// if a page cannot be fetched.
pub type PageIter<R> = Items<rein_core::Listing<rein_core::PageWalk<R>>>;

/// Every hit of a search, following `next_page_token`.
pub type SearchIter =
    Items<rein_core::Listing<rein_core::TokenWalk<rein_core::jockey::SearchKnowledgeStore>>>;

/// The events of a streamed response, as an iterator ending at `[DONE]`.
pub type ResponseStream = Items<ResponseEvents>;

rein_core::__clients! {
    [] []
    /// A blocking client of Twelve Labs' Jockey API (`https://api.twelvelabs.io/v1.3`). Clones
    /// share the connection pool, the rate limiter and its pauses.
    ///
    /// ```no_run
    /// use rein::blocking::Jockey;
    /// use rein::jockey::{AddItem, CreateKnowledgeStore, CreateResponse};
    ///
    /// let jockey = Jockey::from_env()?; // TWELVELABS_API_KEY (and TWELVELABS_BASE_URL)
    /// let asset = jockey.upload_file("demo.mp4")?; // streamed from disk
    /// jockey.wait_for_asset(&asset)?; // every 5 s, up to 120 s
    /// let store = jockey.create_store(&CreateKnowledgeStore::new("Demo"))?;
    /// let item = jockey.add_item(&AddItem::new(&store.id, &asset.id))?;
    /// jockey.wait_for_item(&store.id, &item.id)?; // every 10 s, up to 600 s
    /// for event in jockey.stream_response(&CreateResponse::ask(&store.id, "What happens?"))? {
    ///     println!("{:?}", event?);
    /// }
    /// # Ok::<(), rein::Error>(())
    /// ```
    struct Jockey;
    /// A blocking client of jack (`https://api.usejack.io/v1`), sharing one 60-per-minute window
    /// and 429 pause between all of its calls and clones.
    ///
    /// ```no_run
    /// use rein::blocking::Jack;
    /// use rein::jack::NewDocument;
    ///
    /// let jack = Jack::from_env()?; // JACK_API_KEY, and JACK_BASE_URL to point elsewhere
    /// let accepted = jack.ingest([NewDocument::new("Refunds take 5 days.").metadata("lang", "en")])?;
    /// for id in &accepted.document_ids {
    ///     let doc = jack.wait_for_document(id)?; // every 5 s, up to 120 s
    ///     println!("{id}: {} chunks", doc.chunk_count.unwrap_or(0));
    /// }
    /// println!("{}", jack.query("How long do refunds take?")?.answer);
    /// # Ok::<(), rein::Error>(())
    /// ```
    struct Jack;
    pages = PageIter, search = SearchIter, events = ResponseStream
}

rein_core::__client_glue!([] [] transport = Transport, sleep = Sleep, clock = SystemClock,
    shared = SharedLimit);

#[cfg_attr(not(feature = "ureq"), allow(unused_variables))]
fn default_transport(config: &ClientConfig) -> Result<Arc<dyn Transport>, Error> {
    #[cfg(feature = "ureq")]
    return Ok(Arc::new(crate::UreqTransport::new(
        config.connect_timeout,
        config.request_timeout,
        config.max_response_bytes,
    )));
    #[cfg(not(feature = "ureq"))]
    return Err(rein_core::config::no_transport("ureq"));
}

impl Client {
    /// Runs every call to its end side by side, one thread each (the chunks of a multipart
    /// upload), and gives back each outcome with its key. A thread that panicked passes its
    /// panic on.
    pub(crate) fn run_all<K, M>(&self, calls: Vec<(K, M)>) -> Vec<(K, Result<M::Output, Error>)>
    where
        K: Send,
        M: rein_core::Machine<Item = std::convert::Infallible> + Send,
        M::Output: Send,
    {
        std::thread::scope(|scope| {
            let running: Vec<_> = calls
                .into_iter()
                .map(|(key, call)| scope.spawn(move || (key, self.run(Ok(call)))))
                .collect();
            running
                .into_iter()
                .map(|thread| {
                    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }
}
