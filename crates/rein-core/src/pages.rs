//! Pagination as pure machines.
//!
//! Page lists (`page`, `page_limit`; envelope `{data, page_info}`) are walked by [`Pages`], which
//! stops at `total_page` (or at an empty page when the server leaves `total_page` out). Token
//! lists (knowledge store search: `page_token` <- `next_page_token`) are walked by [`TokenPages`].
//! Each machine says which page to ask for next and learns from each page it is given; the
//! adapter runs the calls.

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

/// Walks a page list: `next_page()` says which page to fetch, `handle_page()` records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pages {
    next: Option<u32>,
    fetched: u32,
    max_pages: u32,
}

impl Pages {
    /// A walk starting at page `first` (1-based; 0 is taken as 1), fetching at most `max_pages`
    /// pages: a bound, so a server that never stops cannot keep a caller forever.
    pub fn new(first: u32, max_pages: u32) -> Self {
        Pages { next: Some(first.max(1)), fetched: 0, max_pages }
    }

    /// The page to fetch next, or `None` when the walk is over.
    pub fn next_page(&self) -> Option<u32> {
        self.next.filter(|_| self.fetched < self.max_pages)
    }

    /// Records a fetched page: its number, its `page_info`, and how many items it held.
    pub fn handle_page(&mut self, requested: u32, info: &PageInfo, items: usize) {
        if self.next != Some(requested) {
            return; // a stale or repeated page: ignore it
        }
        self.fetched += 1;
        let current = info.page.unwrap_or(requested);
        let more = match info.total_page {
            Some(total) => current < total && items > 0,
            None => items > 0,
        };
        // A page number at the end of u32 ends the walk rather than wrapping to page 0.
        self.next = if more { current.max(requested).checked_add(1) } else { None };
    }
}

/// Walks a token list: the first request has no token; each page gives the next token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPages {
    next: Option<Option<String>>,
    fetched: u32,
    max_pages: u32,
}

impl TokenPages {
    /// A walk from the first page, fetching at most `max_pages` pages.
    pub fn new(max_pages: u32) -> Self {
        TokenPages { next: Some(None), fetched: 0, max_pages }
    }

    /// `Some(token)` to fetch next (`Some(None)`: the first page), or `None` when the walk is over.
    pub fn next_token(&self) -> Option<Option<&str>> {
        self.next.as_ref().filter(|_| self.fetched < self.max_pages).map(|t| t.as_deref())
    }

    /// Records a fetched page and the `next_page_token` it carried.
    pub fn handle_page(&mut self, next_page_token: Option<&str>, items: usize) {
        self.fetched += 1;
        // A repeated token would loop forever: treat it as the end.
        let repeated =
            matches!((&self.next, next_page_token), (Some(Some(prev)), Some(new)) if prev == new);
        self.next = match next_page_token {
            Some(t) if !t.is_empty() && items > 0 && !repeated => Some(Some(t.to_owned())),
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
        t.handle_page(Some("a"), 5);
        assert_eq!(t.next_token(), None);
    }
}
