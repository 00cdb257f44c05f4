//! Listings as iterators: every page, fetched as the iterator reaches it.

use std::collections::VecDeque;

use rein_core::jockey::{PageRequest, SearchHit, SearchKnowledgeStore, TokenRequest};
use rein_core::pages::{Pages, TokenPages};
use rein_core::Error;

use crate::client::Handle;

/// The most pages a walk fetches: a bound, so a server that never says "last page" cannot keep
/// a caller forever.
const MAX_PAGES: u32 = 10_000;

/// Every item of a page list. Yields an error once and stops if a page cannot be fetched.
#[derive(Debug)]
pub struct PageIter<R: PageRequest> {
    handle: Handle,
    request: R,
    pages: Pages,
    buffer: VecDeque<R::Item>,
    failed: bool,
}

impl<R: PageRequest> PageIter<R> {
    pub(crate) fn new(handle: Handle, request: R) -> Self {
        let pages = Pages::new(request.first_page(), MAX_PAGES);
        PageIter { handle, request, pages, buffer: VecDeque::new(), failed: false }
    }
}

impl<R: PageRequest> Iterator for PageIter<R> {
    type Item = Result<R::Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            let number = self.pages.next_page()?;
            match self.handle.call(&self.request.for_page(number)) {
                Ok(page) => {
                    self.pages.handle_page(number, &page.page_info, page.data.len());
                    self.buffer.extend(page.data);
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Every hit of a search, following `next_page_token`.
#[derive(Debug)]
pub struct SearchIter {
    handle: Handle,
    request: SearchKnowledgeStore,
    pages: TokenPages,
    buffer: VecDeque<SearchHit>,
    failed: bool,
}

impl SearchIter {
    pub(crate) fn new(handle: Handle, request: SearchKnowledgeStore) -> Self {
        SearchIter {
            handle,
            request,
            pages: TokenPages::new(MAX_PAGES),
            buffer: VecDeque::new(),
            failed: false,
        }
    }
}

impl Iterator for SearchIter {
    type Item = Result<SearchHit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(hit) = self.buffer.pop_front() {
                return Some(Ok(hit));
            }
            if self.failed {
                return None;
            }
            let token = self.pages.next_token()?.map(str::to_owned);
            match self.handle.call(&self.request.for_token(token.as_deref())) {
                Ok(page) => {
                    self.pages.handle_page(page.next_page_token.as_deref(), page.data.len());
                    self.buffer.extend(page.data);
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
