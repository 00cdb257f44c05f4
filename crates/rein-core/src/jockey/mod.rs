//! Twelve Labs' Jockey API (`https://api.twelvelabs.io/v1.3`, `x-api-key`) as typed requests and
//! models.
//!
//! Every endpoint is a request value implementing [`ApiCall`]: build it (optional fields through
//! builder methods), render it with [`ApiCall::to_request`], which runs the pre-flight validation
//! first and refuses an invalid request with the references' fix, then decode the success body
//! with [`ApiCall::decode`]. Nothing here does IO: a direct upload names its file, and the adapter
//! streams it.
//!
//! - [`assets`]: upload (direct or by URL), get, list, delete, user metadata.
//! - [`stores`]: knowledge stores, and search over one.
//! - [`items`]: the items of a store (indexing runs in the background).
//! - [`responses`]: a question answered over a store; [`stream`]: its SSE events, typed.
//! - [`ingestion`]: a store's ingestion config and the schema rules Jockey imposes on it.
//! - [`ids`]: [`AssetId`], [`KnowledgeStoreId`], [`ItemId`].
//!
//! Models map the wire's `_id` to `id` (a plain `id` is read too; a body carrying both is a
//! duplicate field and fails to decode), keep every optional field optional, ignore unknown
//! fields and keep unknown enum values (an unknown status counts as pending). An asset, store or
//! item always has its id: a body without one fails to decode rather than yield an id that
//! addresses nothing.
//!
//! ```
//! use bytes::Bytes;
//! use rein::core::{ApiCall, Phase, Pollable, Target};
//! use rein::jockey::assets::{AssetDetail, GetAsset};
//! use rein::Api;
//!
//! let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_demo")?;
//! let request = GetAsset::new("a/../b").to_request(&target)?;
//! assert_eq!(request.path_and_query(), "/v1.3/assets/a%2F..%2Fb"); // one segment, whatever the id
//!
//! let reply = http::Response::builder().status(200).body(Bytes::from_static(
//!     br#"{"_id":"a1","status":"failed","error":{"message":"corrupt file"}}"#,
//! ))?;
//! let asset: AssetDetail = GetAsset::decode(reply)?;
//! assert_eq!(asset.id, "a1");
//! assert_eq!(asset.phase(), Phase::Failed);
//! assert_eq!(asset.failure_message(), Some("corrupt file"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api_call::ApiCall;
use crate::error::Problem;
use crate::hint::Hint;
use crate::pages::{Page, MAX_PAGE_LIMIT};

pub mod assets;
pub mod ids;
pub mod ingestion;
pub mod items;
pub mod multipart;
pub mod response_stream;
pub mod responses;
pub mod stores;
pub mod stream;
pub mod upload;

pub use assets::{
    Asset, AssetDetail, AssetMethod, AssetStatus, AssetType, CreateAsset, DeleteAsset,
    DeleteAssetMetadata, GetAsset, ListAssets, MergeAssetMetadata, ReplaceAssetMetadata,
};
pub use ids::{AssetId, ItemId, KnowledgeStoreId};
pub use ingestion::{EnrichmentConfig, IngestionConfig};
pub use items::{
    AddItem, DeleteItem, GetItem, ItemAssetType, ItemStatus, KnowledgeStoreItem, ListItems,
};
pub use response_stream::{OpenResponse, ResponseEvents};
pub use responses::{CreateResponse, Response, ResponseStatus, ResponsesShape};
pub use stores::{
    CreateKnowledgeStore, DeleteKnowledgeStore, GetKnowledgeStore, KnowledgeStore,
    ListKnowledgeStores, SearchHit, SearchKnowledgeStore, SearchResponse, UpdateKnowledgeStore,
};
pub use stream::{ResponseEvent, ResponseStreamDecoder};

/// A metadata map (user metadata of an asset, metadata of a store or an item), ordered by key so
/// rendered bodies are stable.
pub type Metadata = BTreeMap<String, MetadataValue>;

/// One metadata value.
///
/// The wire allows strings, numbers, booleans and lists of strings (and, in an asset's user
/// metadata, `null`: in a merge it deletes the key). Anything else the server sends is kept as
/// [`MetadataValue::Other`] rather than failing the decode; rein refuses to send it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetadataValue {
    /// A string.
    Text(String),
    /// An integer. Integers wider than 53 bits lose precision in many JSON readers: send those
    /// as strings.
    Integer(i64),
    /// A floating-point number (finite: NaN and infinities are refused before sending).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A list of strings.
    List(Vec<String>),
    /// `null` (asset user metadata only: a merge deletes the key).
    Null,
    /// Any other JSON value (an object, a mixed list), kept as the server sent it.
    Other(serde_json::Value),
}

impl From<&str> for MetadataValue {
    fn from(s: &str) -> Self {
        MetadataValue::Text(s.to_owned())
    }
}

impl From<String> for MetadataValue {
    fn from(s: String) -> Self {
        MetadataValue::Text(s)
    }
}

impl From<i64> for MetadataValue {
    fn from(n: i64) -> Self {
        MetadataValue::Integer(n)
    }
}

impl From<f64> for MetadataValue {
    fn from(n: f64) -> Self {
        MetadataValue::Float(n)
    }
}

impl From<bool> for MetadataValue {
    fn from(b: bool) -> Self {
        MetadataValue::Bool(b)
    }
}

impl From<Vec<String>> for MetadataValue {
    fn from(list: Vec<String>) -> Self {
        MetadataValue::List(list)
    }
}

/// Builds a [`Metadata`] map from pairs.
///
/// ```
/// use rein::jockey::{metadata, MetadataValue};
/// let m = metadata([("lang", MetadataValue::from("en")), ("season", 3.into())]);
/// assert_eq!(m.len(), 2);
/// ```
pub fn metadata<K: Into<String>>(pairs: impl IntoIterator<Item = (K, MetadataValue)>) -> Metadata {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

crate::open_enum! {
    /// How a list is sorted (`sort_by`).
    pub enum SortBy {
        /// By creation time (the default).
        CreatedAt = "created_at",
        /// By last update.
        UpdatedAt = "updated_at",
    }
}

crate::open_enum! {
    /// Sort direction (`sort_option`).
    pub enum SortOption {
        /// Oldest first.
        Asc = "asc",
        /// Newest first (the default).
        Desc = "desc",
    }
}

/// A list request that can ask for any page, so the [`Pages`](crate::pages::Pages) machine can
/// drive it.
///
/// ```
/// use rein::jockey::{items::ListItems, PageRequest};
/// use rein::pages::Pages;
/// let list = ListItems::new("ks_1").page_limit(50);
/// let pages = Pages::new(list.first_page(), 100);
/// let next = list.for_page(pages.next_page().unwrap_or(1));
/// assert_eq!(next.current_page(), Some(1));
/// ```
pub trait PageRequest: ApiCall<Output = Page<Self::Item>> + Sized {
    /// The type of the listed items.
    type Item;

    /// The same request for page `page` (1-based).
    fn for_page(&self, page: u32) -> Self;

    /// The page this request asks for, if it names one.
    fn current_page(&self) -> Option<u32>;

    /// The page a walk starts at: the one this request names, or 1.
    fn first_page(&self) -> u32 {
        self.current_page().unwrap_or(1)
    }

    /// An item's id, so a walk can tell a page that repeats an earlier page's items (a server
    /// that loops); `None` when items have none, and then only page numbers are compared.
    fn item_id(item: &Self::Item) -> Option<&str> {
        let _ = item;
        None
    }
}

/// A request walked by page tokens, so the [`TokenPages`](crate::pages::TokenPages) machine can
/// drive it.
pub trait TokenRequest: ApiCall + Sized {
    /// The type of the listed items.
    type Item;

    /// The same request for the page of `token` (`None`: the first page).
    fn for_token(&self, token: Option<&str>) -> Self;

    /// A page's items, and the token of the page after it.
    fn into_page(page: Self::Output) -> (Vec<Self::Item>, Option<String>);
}

/// rein: a page size outside 1..=50.
pub const PAGE_LIMIT_HINT: Hint =
    Hint::new("A page size outside 1..=50", "Ask for between 1 and 50 items per page");

/// rein: an empty id.
pub const EMPTY_ID_HINT: Hint =
    Hint::new("An empty id", "Pass the id the API returned when the resource was created");

/// rein: metadata outside the documented limits.
pub const METADATA_HINT: Hint = Hint::new(
    "Metadata outside the documented limits or types",
    "Use string, number, boolean or string-list values within the documented count and length limits",
);

pub(crate) fn require_id(found: &mut Vec<Problem>, field: &str, id: &str) {
    if id.is_empty() {
        found.push(Problem::new(field, "the id is empty", EMPTY_ID_HINT));
    }
}

pub(crate) fn check_page_limit(found: &mut Vec<Problem>, field: &str, limit: Option<u32>) {
    if let Some(n) = limit.filter(|&n| n == 0 || n > MAX_PAGE_LIMIT) {
        found.push(Problem::new(
            field,
            format!("{n} is outside 1..={MAX_PAGE_LIMIT}"),
            PAGE_LIMIT_HINT,
        ));
    }
}

pub(crate) fn check_page(found: &mut Vec<Problem>, page: Option<u32>) {
    if page == Some(0) {
        found.push(Problem::new("page", "pages are numbered from 1", FIRST_PAGE_HINT));
    }
}

const FIRST_PAGE_HINT: Hint = Hint::new("Page 0 asked for", "Pages are numbered from 1");

/// Limits on a metadata map, from the references.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetadataRules {
    /// Most pairs allowed.
    pub(crate) max_pairs: Option<usize>,
    /// Longest key, in characters.
    pub(crate) max_key_chars: Option<usize>,
    /// Longest string value, in characters.
    pub(crate) max_value_chars: Option<usize>,
    /// Whether `null` is a value (asset user metadata).
    pub(crate) allow_null: bool,
}

impl MetadataRules {
    /// A store's metadata: at most 10 pairs, keys <= 128 characters, values <= 2048.
    pub(crate) const STORE: MetadataRules = MetadataRules {
        max_pairs: Some(10),
        max_key_chars: Some(128),
        max_value_chars: Some(2048),
        allow_null: false,
    };
    /// An item's metadata: at most 50 pairs, values <= 8192.
    pub(crate) const ITEM: MetadataRules = MetadataRules {
        max_pairs: Some(50),
        max_key_chars: None,
        max_value_chars: Some(8192),
        allow_null: false,
    };
    /// An asset's user metadata: no published limits; `null` deletes a key in a merge.
    pub(crate) const USER: MetadataRules = MetadataRules {
        max_pairs: None,
        max_key_chars: None,
        max_value_chars: None,
        allow_null: true,
    };
}

pub(crate) fn check_metadata(
    found: &mut Vec<Problem>,
    field: &str,
    map: &Metadata,
    rules: MetadataRules,
) {
    let mut refuse =
        |f: String, problem: String| found.push(Problem::new(f, problem, METADATA_HINT));
    if let Some(max) = rules.max_pairs {
        if map.len() > max {
            refuse(field.to_owned(), format!("{} pairs, more than the {max} allowed", map.len()));
        }
    }
    for (key, value) in map {
        let at = || format!("{field}.{key}");
        if key.is_empty() {
            refuse(at(), "an empty key".to_owned());
        }
        if let Some(max) = rules.max_key_chars {
            let n = key.chars().count();
            if n > max {
                refuse(at(), format!("the key has {n} characters, more than {max}"));
            }
        }
        let too_long = |s: &str| {
            rules.max_value_chars.and_then(|max| (s.chars().count() > max).then_some(max))
        };
        match value {
            MetadataValue::Text(s) => {
                if let Some(max) = too_long(s) {
                    refuse(at(), format!("the value is longer than {max} characters"));
                }
            }
            MetadataValue::List(items) => {
                if let Some(max) = items.iter().find_map(|s| too_long(s)) {
                    refuse(at(), format!("a list entry is longer than {max} characters"));
                }
            }
            MetadataValue::Float(x) if !x.is_finite() => {
                refuse(at(), format!("{x} is not a finite number"));
            }
            MetadataValue::Null if !rules.allow_null => {
                refuse(at(), "null values are not accepted here".to_owned());
            }
            MetadataValue::Other(_) => {
                refuse(
                    at(),
                    "nested objects and mixed lists are not accepted; encode them as a string"
                        .to_owned(),
                );
            }
            _ => {}
        }
    }
}

/// Whether `metadata` carries `rein_token = token`.
pub(crate) fn has_token(metadata: Option<&Metadata>, token: &str) -> bool {
    matches!(
        metadata.and_then(|m| m.get(crate::reconcile::TOKEN_KEY)),
        Some(MetadataValue::Text(t)) if t == token
    )
}

/// `metadata` with `rein_token = token` added, unless that would take it past `max_pairs`.
pub(crate) fn with_token(
    metadata: Option<&Metadata>,
    token: &str,
    max_pairs: usize,
) -> Option<Metadata> {
    let mut m = metadata.cloned().unwrap_or_default();
    m.insert(crate::reconcile::TOKEN_KEY.to_owned(), MetadataValue::Text(token.to_owned()));
    (m.len() <= max_pairs).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_values_decode_every_shape_without_failing() {
        let m: Metadata = serde_json::from_str(
            r#"{"a":"x","b":5,"c":9.3,"d":true,"e":["p","q"],"f":null,"g":{"n":1},"h":[1,"x"],"i":18446744073709551615}"#,
        )
        .expect("decodes");
        assert_eq!(m["a"], MetadataValue::Text("x".into()));
        assert_eq!(m["b"], MetadataValue::Integer(5));
        assert_eq!(m["c"], MetadataValue::Float(9.3));
        assert_eq!(m["d"], MetadataValue::Bool(true));
        assert_eq!(m["e"], MetadataValue::List(vec!["p".into(), "q".into()]));
        assert_eq!(m["f"], MetadataValue::Null);
        assert!(matches!(m["g"], MetadataValue::Other(_)));
        assert!(matches!(m["h"], MetadataValue::Other(_)));
        assert!(matches!(m["i"], MetadataValue::Float(_)));
    }
}
