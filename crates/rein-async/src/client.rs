//! The clients, [`Jockey`] and [`Jack`], as rein-core declares them for both adapters (their
//! methods in `rein_core::__clients!`, the glue that builds them and runs their machines in
//! `rein_core::__client_glue!`), made async: hyper-util, tokio's clock and tokio's timer.

use std::sync::Arc;

use rein_core::jockey::ResponseEvents;
use rein_core::{ClientConfig, Error};

use crate::driver::Items;
use crate::time::{AsyncSleep, TokioClock};
use crate::transport::{file_source, Transport};

/// The items of a page list as a [`Stream`](futures_core::Stream), each page fetched when the
/// stream reaches it.
pub type PageStream<R> = Items<rein_core::Listing<rein_core::PageWalk<R>>>;

/// The hits of a search as a stream, following `next_page_token`.
pub type SearchStream =
    Items<rein_core::Listing<rein_core::TokenWalk<rein_core::jockey::SearchKnowledgeStore>>>;

/// A streamed response's events, as a stream.
pub type ResponseStream = Items<ResponseEvents>;

rein_core::__clients! {
    [async] [.await]
    /// An async client of Jockey. Every method is `rein::blocking::Jockey`'s, awaited; dropping a
    /// call's future stops it (nothing more is sent), and clones share one connection pool and one
    /// rate limiter, so a fleet of tasks can share a client.
    ///
    /// ```no_run
    /// use rein::asynchronous::Jockey;
    /// use rein::jockey::AddItem;
    ///
    /// # async fn index(store_id: String) -> Result<(), rein::Error> {
    /// let jockey = Jockey::from_env()?;
    /// let mut tasks = tokio::task::JoinSet::new();
    /// for url in ["https://example.com/a.mp4", "https://example.com/b.mp4"] {
    ///     let (jockey, store_id) = (jockey.clone(), store_id.clone());
    ///     tasks.spawn(async move {
    ///         let asset = jockey.upload_url(url).await?;
    ///         jockey.wait_for_asset(&asset).await?;
    ///         let added = AddItem::new(&store_id, &asset.id);
    ///         let item = jockey.add_item(&added).await?;
    ///         jockey.wait_for_item(&store_id, &item.id).await
    ///     });
    /// }
    /// while let Some(indexed) = tasks.join_next().await {
    ///     println!("{:?}", indexed.expect("the task ran")?.status);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    struct Jockey;
    /// An async client of jack. Every method is `rein::blocking::Jack`'s, awaited; all calls of a
    /// client and its clones share jack's 60-requests-per-minute window.
    ///
    /// ```no_run
    /// use rein::asynchronous::Jack;
    /// use rein::jack::NewDocument;
    ///
    /// # async fn ingest() -> Result<(), rein::Error> {
    /// let jack = Jack::from_env()?;
    /// let docs = (0..120).map(|i| NewDocument::new(format!("Note {i}")));
    /// let report = jack.ingest_many(docs).await?; // 3 requests of up to 50 documents
    /// for id in report.document_ids().into_iter().flatten() {
    ///     jack.wait_for_document(&id).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    struct Jack;
    pages = PageStream, search = SearchStream, events = ResponseStream
}

rein_core::__client_glue!(
    [async] [.await] transport = Transport, sleep = AsyncSleep, clock = TokioClock,
    shared = AsyncSharedLimit
);

#[cfg_attr(not(feature = "hyper"), allow(unused_variables))]
fn default_transport(config: &ClientConfig) -> Result<Arc<dyn Transport>, Error> {
    #[cfg(feature = "hyper")]
    return Ok(Arc::new(crate::HyperTransport::new(
        config.connect_timeout,
        config.max_response_bytes,
    )));
    #[cfg(not(feature = "hyper"))]
    return Err(rein_core::config::no_transport("hyper"));
}

impl Client {
    /// Runs every call to its end side by side on this task (the chunks of a multipart
    /// upload), and gives back each outcome with its key, in the calls' order.
    pub(crate) async fn run_all<K, M>(
        &self,
        calls: Vec<(K, M)>,
    ) -> Vec<(K, Result<M::Output, Error>)>
    where
        M: rein_core::Machine<Item = std::convert::Infallible> + 'static,
    {
        use std::future::Future;
        let (keys, mut running): (Vec<K>, Vec<_>) =
            calls.into_iter().map(|(key, call)| (key, Some(Box::pin(self.run(Ok(call)))))).unzip();
        let mut outcomes: Vec<Option<Result<M::Output, Error>>> =
            running.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (slot, outcome) in running.iter_mut().zip(outcomes.iter_mut()) {
                if let Some(future) = slot {
                    match future.as_mut().poll(cx) {
                        std::task::Poll::Ready(done) => {
                            *outcome = Some(done);
                            *slot = None;
                        }
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        keys.into_iter().zip(outcomes).filter_map(|(key, outcome)| Some((key, outcome?))).collect()
    }
}
