//! Listings as streams: every page, fetched when the stream reaches it.
//!
//! The walk itself (which page next, when to stop) is the core's [`Pages`] and [`TokenPages`]
//! machines; a stream only holds the one page call in flight and hands out what it returned.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use rein_core::jockey::{
    PageRequest, SearchHit, SearchKnowledgeStore, SearchResponse, TokenRequest,
};
use rein_core::pages::{Page, Pages, TokenPages};
use rein_core::Error;

use crate::client::Handle;

/// The most pages a walk fetches: a bound, so a server that never says "last page" cannot keep
/// a caller forever.
const MAX_PAGES: u32 = 10_000;

/// A page call in flight. Boxed so a stream is `Unpin` and names no future type.
type InFlight<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>;

/// Every item of a page list, as a [`Stream`]. A page is fetched only when the stream reaches
/// it; the walk stops at the last page (`total_page`, or an empty page). If a page cannot be
/// fetched the stream yields that error once, then ends.
///
/// Pull items with any `StreamExt` (futures, tokio-stream), or with [`PageStream::next`].
pub struct PageStream<R: PageRequest> {
    handle: Handle,
    request: R,
    pages: Pages,
    buffer: VecDeque<R::Item>,
    in_flight: Option<(u32, InFlight<Page<R::Item>>)>,
    failed: bool,
}

// Nothing is pinned in place: the page call is boxed, everything else is moved freely.
impl<R: PageRequest> Unpin for PageStream<R> {}

impl<R: PageRequest> std::fmt::Debug for PageStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("operation", &self.request.operation())
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .field("in_flight", &self.in_flight.as_ref().map(|(page, _)| *page))
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<R> PageStream<R>
where
    R: PageRequest + Send + Sync + 'static,
    R::Item: Send + 'static,
{
    pub(crate) fn new(handle: Handle, request: R) -> Self {
        let pages = Pages::new(request.first_page(), MAX_PAGES);
        PageStream {
            handle,
            request,
            pages,
            buffer: VecDeque::new(),
            in_flight: None,
            failed: false,
        }
    }

    /// The next item, `None` once the walk is over: the same as `StreamExt::next`.
    pub async fn next(&mut self) -> Option<Result<R::Item, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<R> Stream for PageStream<R>
where
    R: PageRequest + Send + Sync + 'static,
    R::Item: Send + 'static,
{
    type Item = Result<R::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.failed {
                return Poll::Ready(None);
            }
            let (number, call) = match &mut this.in_flight {
                Some(in_flight) => in_flight,
                None => {
                    let Some(number) = this.pages.next_page() else {
                        return Poll::Ready(None);
                    };
                    let handle = this.handle.clone();
                    let request = this.request.for_page(number);
                    let call: InFlight<Page<R::Item>> =
                        Box::pin(async move { handle.call(&request).await });
                    this.in_flight.insert((number, call))
                }
            };
            let result = ready!(call.as_mut().poll(cx));
            let number = *number;
            this.in_flight = None;
            match result {
                Ok(page) => {
                    this.pages.handle_page(number, &page.page_info, page.data.len());
                    this.buffer.extend(page.data);
                }
                Err(e) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match (self.failed, self.in_flight.is_none() && self.pages.next_page().is_none()) {
            (false, false) => (self.buffer.len(), None),
            _ => (self.buffer.len(), Some(self.buffer.len())),
        }
    }
}

/// Every hit of a search, following `next_page_token`, as a [`Stream`]. A page is fetched only
/// when the stream reaches it; the walk stops when a page carries no token (or repeats one).
/// If a page cannot be fetched the stream yields that error once, then ends.
///
/// Pull hits with any `StreamExt` (futures, tokio-stream), or with [`SearchStream::next`].
pub struct SearchStream {
    handle: Handle,
    request: SearchKnowledgeStore,
    pages: TokenPages,
    buffer: VecDeque<SearchHit>,
    in_flight: Option<InFlight<SearchResponse>>,
    failed: bool,
}

impl std::fmt::Debug for SearchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchStream")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .field("in_flight", &self.in_flight.is_some())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl SearchStream {
    pub(crate) fn new(handle: Handle, request: SearchKnowledgeStore) -> Self {
        SearchStream {
            handle,
            request,
            pages: TokenPages::new(MAX_PAGES),
            buffer: VecDeque::new(),
            in_flight: None,
            failed: false,
        }
    }

    /// The next hit, `None` once the walk is over: the same as `StreamExt::next`.
    pub async fn next(&mut self) -> Option<Result<SearchHit, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for SearchStream {
    type Item = Result<SearchHit, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(hit) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(hit)));
            }
            if this.failed {
                return Poll::Ready(None);
            }
            let call = match &mut this.in_flight {
                Some(call) => call,
                None => {
                    let Some(token) = this.pages.next_token() else {
                        return Poll::Ready(None);
                    };
                    let handle = this.handle.clone();
                    let request = this.request.for_token(token);
                    let call: InFlight<SearchResponse> =
                        Box::pin(async move { handle.call(&request).await });
                    this.in_flight.insert(call)
                }
            };
            let result = ready!(call.as_mut().poll(cx));
            this.in_flight = None;
            match result {
                Ok(page) => {
                    this.pages.handle_page(page.next_page_token.as_deref(), page.data.len());
                    this.buffer.extend(page.data);
                }
                Err(e) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match (self.failed, self.in_flight.is_none() && self.pages.next_token().is_none()) {
            (false, false) => (self.buffer.len(), None),
            _ => (self.buffer.len(), Some(self.buffer.len())),
        }
    }
}
