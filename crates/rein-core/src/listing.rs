//! Every item of a listing, page after page: the [`Listing`] machine.
//!
//! A listing yields the items of one page before it fetches the next, so a caller who stops
//! early fetches nothing more. Which page comes next, and when the walk is over, is its
//! [`Walk`]'s business: [`PageWalk`] for page lists (`page`, `total_page`), [`TokenWalk`] for
//! token lists (knowledge store search). Every walk is bounded by [`MAX_PAGES`].
//!
//! A server that loops (a page answered as one read already, a page with exactly the items of an
//! earlier one, a page token that comes back) ends the listing with an [`Error::Decode`] naming
//! the loop, after the items read before it and without yielding any item twice; so does
//! reaching [`MAX_PAGES`] while the list still has more. See [`WalkError`]. An item that an
//! insert at the head of a page list pushes onto the next page is yielded once, not twice.

use std::collections::VecDeque;

use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::call::Call;
use crate::error::{DecodeError, Error};
use crate::jockey::{PageRequest, TokenRequest};
use crate::machine::{Input, Internal, Machine, Next};
use crate::pages::{Pages, TokenPages, WalkError};
use crate::runner::Runner;
use crate::time::Now;

/// The most pages a listing fetches: a bound, so a server that never says "last page" cannot
/// keep a caller forever. A listing that reaches it with more to come ends with an error.
pub const MAX_PAGES: u32 = 10_000;

/// How a listing goes from page to page.
pub trait Walk {
    /// The request that fetches a page.
    type Request: ApiCall;
    /// What a page holds.
    type Item;

    /// The request for the next page, `None` once the walk is over.
    fn next_request(&self) -> Option<Self::Request>;

    /// Records a fetched page and gives its items (none when the page repeats an earlier one).
    fn record(&mut self, page: <Self::Request as ApiCall>::Output) -> Vec<Self::Item>;

    /// Why the walk ended before its list did (the server looped, or the page bound was
    /// reached), once [`Walk::next_request`] says it is over.
    fn error(&self) -> Option<WalkError> {
        None
    }
}

/// A page list, walked by page number until `total_page` (or an empty page).
#[derive(Debug)]
pub struct PageWalk<R> {
    request: R,
    pages: Pages,
    /// The ids yielded so far: an item pushed onto the next page by an insert at the head of
    /// the list comes back there, and is not yielded again.
    yielded: std::collections::HashSet<String>,
}

impl<R: PageRequest> PageWalk<R> {
    /// The pages of `request`, from the page it names (or the first).
    pub fn new(request: R) -> Self {
        let pages = Pages::new(request.first_page(), MAX_PAGES);
        PageWalk { request, pages, yielded: std::collections::HashSet::new() }
    }
}

impl<R: PageRequest> Walk for PageWalk<R> {
    type Request = R;
    type Item = R::Item;

    fn next_request(&self) -> Option<R> {
        self.pages.next_page().map(|page| self.request.for_page(page))
    }

    fn record(&mut self, page: R::Output) -> Vec<R::Item> {
        let Some(number) = self.pages.next_page() else { return page.data };
        let ids: Option<Vec<&str>> = page.data.iter().map(R::item_id).collect();
        let taken = match ids {
            Some(ids) => self.pages.handle_page_ids(number, &page.page_info, ids),
            None => self.pages.handle_page(number, &page.page_info, page.data.len()),
        };
        if !taken {
            return Vec::new();
        }
        let yielded = &mut self.yielded;
        page.data
            .into_iter()
            .filter(|item| R::item_id(item).is_none_or(|id| yielded.insert(id.to_owned())))
            .collect()
    }

    fn error(&self) -> Option<WalkError> {
        self.pages.error()
    }
}

/// A token list, walked until a page carries no token (a token that comes back is an error).
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

    fn error(&self) -> Option<WalkError> {
        self.pages.error()
    }
}

/// Every item of a listing, as [`Step::Yield`](crate::Step::Yield)s; a page that cannot be
/// fetched ends it with that error, and a walk that ends before its list does (a looping
/// server, [`MAX_PAGES`]) with an [`Error::Decode`] saying why.
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
                    return Next::Done(match self.walk.error() {
                        None => Ok(()),
                        Some(e) => Err(walk_error(<W::Request as ApiCall>::OPERATION, &e)),
                    });
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

/// A walk that ended early, as the error the listing ends with: the pages decoded, but together
/// they do not make a list (a loop), or the list was cut at the bound.
fn walk_error(operation: Operation, error: &WalkError) -> Error {
    Error::Decode(Box::new(DecodeError {
        endpoint: Some(operation.endpoint()),
        status: 200,
        reason: error.to_string(),
        excerpt: String::new(),
        body_len: 0,
        may_have_succeeded: false,
    }))
}
