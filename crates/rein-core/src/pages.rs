//! Pagination as pure machines.
//!
//! Page lists (`page`, `page_limit`; envelope `{data, page_info}`) are walked by [`Pages`], which
//! stops at `total_page` (or at an empty page when the server leaves `total_page` out). Token
//! lists (knowledge store search: `page_token` <- `next_page_token`) are walked by [`TokenPages`].
//! Each machine says which page to ask for next and learns from each page it is given; the
//! adapter runs the calls.
//!
//! A server that loops (a page answered as one read already, a page holding exactly the items of
//! an earlier one, a `next_page_token` followed before) ends the walk with a [`WalkError`]
//! instead of yielding the same items again, and so does reaching the bound on pages while the
//! list still has more: a walk never ends quietly short of its list.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};

/// The most items a Jockey page can hold.
pub const MAX_PAGE_LIMIT: u32 = 50;

/// Jockey's `page_info`. Every field is optional on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    /// Items per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_per_page: Option<u32>,
    /// This page's number (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// How many pages there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_page: Option<u32>,
    /// How many items there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_results: Option<u64>,
}

/// One page of a page list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Where this page stands.
    #[serde(default)]
    pub page_info: PageInfo,
}

/// Why a walk ended before its list did: the server looped, or the walk reached its bound.
///
/// A listing ends with it as an [`Error::Decode`](crate::Error::Decode) whose reason is this
/// error's text, after every item read before it: the items of a page that repeats an earlier
/// one are not yielded again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalkError {
    /// Page `page` was answered as page `answered_as`, which the walk had read already.
    PageRepeated {
        /// The page asked for.
        page: u32,
        /// The page number the answer's `page_info` claimed.
        answered_as: u32,
    },
    /// Page `page` held exactly the items (by id, in any order) of page `earlier`.
    ItemsRepeated {
        /// The page asked for.
        page: u32,
        /// The earlier page with the same items.
        earlier: u32,
    },
    /// The `page`-th page read pointed to a `next_page_token` the walk had followed already.
    TokenRepeated {
        /// The page that carried the token (1 is the first page read).
        page: u32,
    },
    /// `max_pages` pages were read and the list still said there were more.
    TooManyPages {
        /// The bound.
        max_pages: u32,
    },
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WalkError::PageRepeated { page, answered_as } => write!(
                f,
                "the listing loops: page {page} was answered as page {answered_as}, read already"
            ),
            WalkError::ItemsRepeated { page, earlier } => write!(
                f,
                "the listing loops: page {page} holds exactly the items of page {earlier}"
            ),
            WalkError::TokenRepeated { page } => write!(
                f,
                "the listing loops: page {page} gives a next_page_token that was followed already"
            ),
            WalkError::TooManyPages { max_pages } => write!(
                f,
                "the listing was cut short after {max_pages} pages: the server still had more"
            ),
        }
    }
}

impl std::error::Error for WalkError {}

/// Walks a page list: `next_page()` says which page to fetch, `handle_page()` records it, and
/// `error()` says why the walk ended early, if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pages {
    next: Option<u32>,
    fetched: u32,
    max_pages: u32,
    /// Every page read, numbered as the server numbered it.
    seen: BTreeSet<u32>,
    /// A fingerprint of each non-empty page's item ids, with the page it came from.
    fingerprints: BTreeMap<u64, u32>,
    looped: Option<WalkError>,
}

impl Pages {
    /// A walk starting at page `first` (1-based; 0 is taken as 1), fetching at most `max_pages`
    /// pages: a bound, so a server that never stops cannot keep a caller forever.
    pub fn new(first: u32, max_pages: u32) -> Self {
        Pages {
            next: Some(first.max(1)),
            fetched: 0,
            max_pages,
            seen: BTreeSet::new(),
            fingerprints: BTreeMap::new(),
            looped: None,
        }
    }

    /// The page to fetch next, or `None` when the walk is over.
    pub fn next_page(&self) -> Option<u32> {
        self.next.filter(|_| self.fetched < self.max_pages)
    }

    /// Why the walk ended before the list did: the server looped, or the walk read `max_pages`
    /// pages with more to come. `None` while it goes on, and when it reached the list's end.
    pub fn error(&self) -> Option<WalkError> {
        self.looped.clone().or_else(|| {
            (self.next.is_some() && self.fetched >= self.max_pages)
                .then_some(WalkError::TooManyPages { max_pages: self.max_pages })
        })
    }

    /// Records a fetched page: its number, its `page_info`, and how many items it held.
    ///
    /// Returns whether the page was taken: `false` for a stale page (not the one asked for
    /// next) and for a page answered as one read already, which ends the walk with
    /// [`WalkError::PageRepeated`]. [`Pages::handle_page_ids`] also catches a page that repeats
    /// an earlier one's items.
    pub fn handle_page(&mut self, requested: u32, info: &PageInfo, items: usize) -> bool {
        self.record(requested, info, items, None)
    }

    /// Like [`Pages::handle_page`], with the ids of the page's items: a page holding exactly the
    /// items of an earlier page (in any order) ends the walk with [`WalkError::ItemsRepeated`]
    /// and is not taken.
    pub fn handle_page_ids<'a>(
        &mut self,
        requested: u32,
        info: &PageInfo,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        let mut hasher = DefaultHasher::new();
        ids.hash(&mut hasher);
        self.record(requested, info, ids.len(), Some(hasher.finish()))
    }

    fn record(
        &mut self,
        requested: u32,
        info: &PageInfo,
        items: usize,
        fingerprint: Option<u64>,
    ) -> bool {
        if self.next != Some(requested) {
            return false; // a stale or repeated page: ignore it
        }
        self.fetched += 1;
        let current = info.page.unwrap_or(requested);
        // A server that ignores the page asked for answers with a page read already.
        if current != requested && self.seen.contains(&current) {
            return self.stop(WalkError::PageRepeated { page: requested, answered_as: current });
        }
        if let Some(fingerprint) = fingerprint.filter(|_| items > 0) {
            if let Some(&earlier) = self.fingerprints.get(&fingerprint) {
                return self.stop(WalkError::ItemsRepeated { page: requested, earlier });
            }
            self.fingerprints.insert(fingerprint, requested);
        }
        self.seen.insert(current);
        let more = match info.total_page {
            Some(total) => current < total && items > 0,
            None => items > 0,
        };
        // A page number at the end of u32 ends the walk rather than wrapping to page 0.
        self.next = if more { current.max(requested).checked_add(1) } else { None };
        true
    }

    fn stop(&mut self, error: WalkError) -> bool {
        self.next = None;
        self.looped = Some(error);
        false
    }
}

/// Walks a token list: the first request has no token; each page gives the next token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPages {
    next: Option<Option<String>>,
    fetched: u32,
    max_pages: u32,
    /// Every token followed (or about to be).
    followed: BTreeSet<String>,
    looped: Option<WalkError>,
}

impl TokenPages {
    /// A walk from the first page, fetching at most `max_pages` pages.
    pub fn new(max_pages: u32) -> Self {
        TokenPages {
            next: Some(None),
            fetched: 0,
            max_pages,
            followed: BTreeSet::new(),
            looped: None,
        }
    }

    /// `Some(token)` to fetch next (`Some(None)`: the first page), or `None` when the walk is over.
    pub fn next_token(&self) -> Option<Option<&str>> {
        self.next.as_ref().filter(|_| self.fetched < self.max_pages).map(|t| t.as_deref())
    }

    /// Why the walk ended before the list did: a token came back
    /// ([`WalkError::TokenRepeated`]), or `max_pages` pages were read with more to come.
    pub fn error(&self) -> Option<WalkError> {
        self.looped.clone().or_else(|| {
            (self.next.is_some() && self.fetched >= self.max_pages)
                .then_some(WalkError::TooManyPages { max_pages: self.max_pages })
        })
    }

    /// Records a fetched page and the `next_page_token` it carried. The page's own items are
    /// new (its token was followed once); a token followed before would fetch pages read
    /// already, so it ends the walk with [`WalkError::TokenRepeated`].
    pub fn handle_page(&mut self, next_page_token: Option<&str>, items: usize) {
        self.fetched += 1;
        self.next = match next_page_token {
            Some(t) if !t.is_empty() && items > 0 => {
                if self.followed.insert(t.to_owned()) {
                    Some(Some(t.to_owned()))
                } else {
                    self.looped = Some(WalkError::TokenRepeated { page: self.fetched });
                    None
                }
            }
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_total_page() {
        let mut p = Pages::new(1, 100);
        let info = |page, total| PageInfo {
            page: Some(page),
            total_page: Some(total),
            ..PageInfo::default()
        };
        assert_eq!(p.next_page(), Some(1));
        p.handle_page(1, &info(1, 2), 50);
        assert_eq!(p.next_page(), Some(2));
        p.handle_page(2, &info(2, 2), 3);
        assert_eq!(p.next_page(), None);
    }

    #[test]
    fn without_total_page_stops_at_an_empty_page_and_at_the_bound() {
        let mut p = Pages::new(1, 3);
        p.handle_page(1, &PageInfo::default(), 10);
        p.handle_page(2, &PageInfo::default(), 10);
        assert_eq!(p.next_page(), Some(3));
        p.handle_page(3, &PageInfo::default(), 10);
        assert_eq!(p.next_page(), None, "bounded by max_pages");
        let mut p = Pages::new(1, 100);
        p.handle_page(1, &PageInfo::default(), 0);
        assert_eq!(p.next_page(), None);
    }

    #[test]
    fn token_pages_follow_tokens_and_stop_on_repeats() {
        let mut t = TokenPages::new(10);
        assert_eq!(t.next_token(), Some(None));
        t.handle_page(Some("a"), 5);
        assert_eq!(t.next_token(), Some(Some("a")));
        assert_eq!(t.error(), None);
        t.handle_page(Some("a"), 5);
        assert_eq!(t.next_token(), None);
        assert_eq!(t.error(), Some(WalkError::TokenRepeated { page: 2 }));
    }

    #[test]
    fn token_pages_catch_a_cycle_and_the_bound() {
        let mut t = TokenPages::new(10);
        for token in ["a", "b", "c"] {
            t.handle_page(Some(token), 1);
        }
        t.handle_page(Some("b"), 1);
        assert_eq!((t.next_token(), t.error()), (None, Some(WalkError::TokenRepeated { page: 4 })));

        let mut t = TokenPages::new(2);
        t.handle_page(Some("a"), 1);
        t.handle_page(Some("b"), 1);
        assert_eq!(t.next_token(), None);
        assert_eq!(t.error(), Some(WalkError::TooManyPages { max_pages: 2 }));
        let mut t = TokenPages::new(2);
        t.handle_page(Some("a"), 1);
        t.handle_page(None, 1);
        assert_eq!(t.error(), None, "the list ended at the bound: nothing was cut");
    }

    #[test]
    fn a_page_answered_as_an_earlier_one_ends_the_walk() {
        let info = |page| PageInfo { page: Some(page), total_page: Some(9), ..PageInfo::default() };
        let mut p = Pages::new(1, 100);
        assert!(p.handle_page(1, &info(1), 2));
        assert!(p.handle_page(2, &info(2), 2));
        assert!(!p.handle_page(3, &info(1), 2), "its items are a repeat");
        assert_eq!(p.next_page(), None);
        assert_eq!(p.error(), Some(WalkError::PageRepeated { page: 3, answered_as: 1 }));
        // A server numbering its pages its own way, never twice the same, is no loop.
        let mut p = Pages::new(1, 100);
        assert!(p.handle_page(1, &info(0), 2));
        assert!(p.handle_page(2, &info(1), 2));
        assert_eq!((p.next_page(), p.error()), (Some(3), None));
    }

    #[test]
    fn a_page_with_the_items_of_an_earlier_one_ends_the_walk() {
        let mut p = Pages::new(1, 100);
        let none = PageInfo::default();
        assert!(p.handle_page_ids(1, &none, ["a", "b"]));
        assert!(p.handle_page_ids(2, &none, ["c", "a"]), "an overlap is not a repeat");
        assert!(!p.handle_page_ids(3, &none, ["b", "a"]));
        assert_eq!(p.error(), Some(WalkError::ItemsRepeated { page: 3, earlier: 1 }));
    }

    #[test]
    fn the_bound_reached_with_more_to_come_is_an_error() {
        let mut p = Pages::new(1, 2);
        p.handle_page(1, &PageInfo::default(), 1);
        p.handle_page(2, &PageInfo::default(), 1);
        assert_eq!(p.next_page(), None);
        assert_eq!(p.error(), Some(WalkError::TooManyPages { max_pages: 2 }));
        let mut p = Pages::new(1, 2);
        p.handle_page(1, &PageInfo::default(), 1);
        p.handle_page(2, &PageInfo::default(), 0);
        assert_eq!(p.error(), None, "the list ended at the bound: nothing was cut");
    }
}
