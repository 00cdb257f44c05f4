//! Every item of a listing, page after page: the [`Listing`] machine.
//!
//! A listing yields the items of one page before it fetches the next, so a caller who stops
//! early fetches nothing more. Which page comes next, and when the walk is over, is its
//! [`Walk`]'s business: [`PageWalk`] for page lists (`page`, `total_page`), [`TokenWalk`] for
//! token lists (knowledge store search). Every walk is bounded by [`MAX_PAGES`].

use std::collections::VecDeque;

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::call::Call;
use crate::error::Error;
use crate::jockey::{PageRequest, TokenRequest};
use crate::machine::{Input, Internal, Machine, Next};
use crate::pages::{Pages, TokenPages};
use crate::runner::Runner;
use crate::time::Now;

/// The most pages a listing fetches: a bound, so a server that never says "last page" cannot
/// keep a caller forever.
pub const MAX_PAGES: u32 = 10_000;

/// How a listing goes from page to page.
pub trait Walk {
    /// The request that fetches a page.
    type Request: ApiCall;
    /// What a page holds.
    type Item;

    /// The request for the next page, `None` once the walk is over.
    fn next_request(&self) -> Option<Self::Request>;

    /// Records a fetched page and gives its items.
    fn record(&mut self, page: <Self::Request as ApiCall>::Output) -> Vec<Self::Item>;
}

/// A page list, walked by page number until `total_page` (or an empty page).
#[derive(Debug)]
pub struct PageWalk<R> {
    request: R,
    pages: Pages,
}

impl<R: PageRequest> PageWalk<R> {
    /// The pages of `request`, from the page it names (or the first).
    pub fn new(request: R) -> Self {
        let pages = Pages::new(request.first_page(), MAX_PAGES);
        PageWalk { request, pages }
    }
}

impl<R: PageRequest> Walk for PageWalk<R> {
    type Request = R;
    type Item = R::Item;

    fn next_request(&self) -> Option<R> {
        self.pages.next_page().map(|page| self.request.for_page(page))
    }

    fn record(&mut self, page: R::Output) -> Vec<R::Item> {
        if let Some(number) = self.pages.next_page() {
            self.pages.handle_page(number, &page.page_info, page.data.len());
        }
        page.data
    }
}

/// A token list, walked until a page carries no token (or repeats one).
#[derive(Debug)]
pub struct TokenWalk<R> {
    request: R,
    pages: TokenPages,
}

impl<R: TokenRequest> TokenWalk<R> {
    /// The pages of `request`, from the first.
    pub fn new(request: R) -> Self {
        TokenWalk { request, pages: TokenPages::new(MAX_PAGES) }
    }
}

impl<R: TokenRequest> Walk for TokenWalk<R> {
    type Request = R;
    type Item = R::Item;

    fn next_request(&self) -> Option<R> {
        self.pages.next_token().map(|token| self.request.for_token(token))
    }

    fn record(&mut self, page: R::Output) -> Vec<R::Item> {
        let (items, token) = R::into_page(page);
        self.pages.handle_page(token.as_deref(), items.len());
        items
    }
}

/// Every item of a listing, as [`Step::Yield`](crate::Step::Yield)s; a page that cannot be
/// fetched ends it with that error.
pub struct Listing<W: Walk> {
    walk: W,
    runner: Runner,
    buffer: VecDeque<W::Item>,
    call: Option<Call<<W::Request as ApiCall>::Output>>,
}

impl<W: Walk> std::fmt::Debug for Listing<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listing")
            .field("operation", &<W::Request as ApiCall>::OPERATION)
            .field("buffered", &self.buffer.len())
            .field("fetching", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<W: Walk> Listing<W> {
    /// The listing `walk` goes through, each page fetched as a call of `runner`.
    pub fn new(runner: &Runner, walk: W) -> Self {
        Listing { walk, runner: runner.clone(), buffer: VecDeque::new(), call: None }
    }
}

impl<W: Walk> Machine for Listing<W> {
    type Output = ();
    type Item = Result<W::Item, Error>;

    fn next(&mut self, now: Now, token: Internal) -> Next<(), Self::Item> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Next::Yield(Ok(item));
            }
            let Some(call) = &mut self.call else {
                let Some(request) = self.walk.next_request() else {
                    return Next::Done(Ok(()));
                };
                match self.runner.call(&request) {
                    Ok(call) => self.call = Some(call),
                    Err(e) => return Next::Done(Err(e)),
                }
                continue;
            };
            match call.next(now, token).or_done() {
                Ok(next) => return next,
                Err(Ok(page)) => {
                    self.call = None;
                    let items = self.walk.record(page);
                    self.buffer.extend(items);
                }
                Err(Err(e)) => return Next::Done(Err(e)),
            }
        }
    }

    fn feed(&mut self, input: Input, now: Now, token: Internal) {
        if let Some(call) = &mut self.call {
            call.feed(input, now, token);
        }
    }

    fn operation(&self) -> Option<Operation> {
        Some(<W::Request as ApiCall>::OPERATION)
    }
}
