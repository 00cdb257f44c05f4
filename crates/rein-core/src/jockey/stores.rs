//! Knowledge stores (`/knowledge-stores`): collections of indexed videos and images, and search
//! over one.
//!
//! ```
//! use rein::core::{ApiCall, Target};
//! use rein::jockey::ingestion::IngestionConfig;
//! use rein::jockey::stores::{CreateKnowledgeStore, SearchKnowledgeStore};
//! use rein::jockey::TokenRequest;
//! use rein::pages::TokenPages;
//! use rein::{Api, Error};
//! use serde_json::json;
//!
//! let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_demo")?;
//!
//! // A blank name and a property without a description: both refused, before anything is sent.
//! let store = CreateKnowledgeStore::new(" ").ingestion_config(IngestionConfig::json_schema(
//!     json!({"type": "object", "properties": {"score": {"type": "string"}}}),
//! ));
//! let Err(Error::Invalid(refused)) = store.to_request(&target) else { panic!("refused") };
//! assert_eq!((refused.field.as_str(), refused.hint.fix), ("name", "Add a name"));
//! assert_eq!(refused.others[0].field, "ingestion_config.enrichment_config.json_schema.properties.score.description");
//! assert_eq!(refused.others[0].hint.fix, "Add a description to the property");
//!
//! // Search pages are walked by token.
//! let search = SearchKnowledgeStore::new("ks_1", "a goal celebration").page_size(20);
//! let walk = TokenPages::new(10);
//! let first = search.for_token(walk.next_token().flatten());
//! assert!(first.to_request(&target).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ids::KnowledgeStoreId;
use super::ingestion::IngestionConfig;
use super::items::ItemAssetType;
use super::{
    check_metadata, check_page, check_page_limit, require_id, Metadata, MetadataRules, PageRequest,
    SortBy, SortOption, TokenRequest,
};
use crate::api::Operation;
use crate::api_call::{decode_empty, ApiCall};
use crate::decode;
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::{rows, Hint};
use crate::pages::Page;
use crate::request::Request;
use crate::target::Target;

/// A knowledge store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeStore {
    /// The store's id (`_id` on the wire; prefix `ks_`). Required: a body without it fails to
    /// decode.
    #[serde(rename = "_id", alias = "id")]
    pub id: KnowledgeStoreId,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The ingestion config set at creation (immutable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingestion_config: Option<IngestionConfig>,
    /// How many items it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u64>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it was last updated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Custom metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

fn check_name(found: &mut Vec<Problem>, name: &str) {
    if name.trim().is_empty() {
        found.push(Problem::new("name", "the name is empty", rows::STORE_NAME_REQUIRED));
    }
}

#[derive(Serialize)]
struct StoreBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingestion_config: Option<&'a IngestionConfig>,
}

/// `POST /knowledge-stores`: creates a store. The ingestion config cannot be changed later.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateKnowledgeStore {
    name: String,
    description: Option<String>,
    metadata: Option<Metadata>,
    ingestion_config: Option<IngestionConfig>,
}

impl CreateKnowledgeStore {
    /// A store named `name` (required, not blank).
    pub fn new(name: impl Into<String>) -> Self {
        CreateKnowledgeStore {
            name: name.into(),
            description: None,
            metadata: None,
            ingestion_config: None,
        }
    }

    /// A description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Metadata (at most 10 pairs; keys up to 128 characters, values up to 2048).
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// How items are enriched (see [`IngestionConfig`]).
    pub fn ingestion_config(mut self, config: IngestionConfig) -> Self {
        self.ingestion_config = Some(config);
        self
    }
}

impl ApiCall for CreateKnowledgeStore {
    type Output = KnowledgeStore;
    const OPERATION: Operation = Operation::CreateKnowledgeStore;
    crate::api_call::plan!(create_once);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        check_name(&mut found, &self.name);
        if let Some(meta) = &self.metadata {
            check_metadata(&mut found, "metadata", meta, MetadataRules::STORE);
        }
        if let Some(config) = &self.ingestion_config {
            config.check(&mut found);
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[])
            .json(&StoreBody {
                name: Some(&self.name),
                description: self.description.as_deref(),
                metadata: self.metadata.as_ref(),
                ingestion_config: self.ingestion_config.as_ref(),
            })
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<KnowledgeStore, DecodeError> {
        decode::json(Some(Operation::CreateKnowledgeStore), &response)
    }
}

/// `GET /knowledge-stores/{knowledge_store_id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetKnowledgeStore {
    knowledge_store_id: KnowledgeStoreId,
}

impl GetKnowledgeStore {
    /// The store `knowledge_store_id`.
    pub fn new(knowledge_store_id: impl Into<KnowledgeStoreId>) -> Self {
        GetKnowledgeStore { knowledge_store_id: knowledge_store_id.into() }
    }
}

impl ApiCall for GetKnowledgeStore {
    type Output = KnowledgeStore;
    const OPERATION: Operation = Operation::GetKnowledgeStore;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[self.knowledge_store_id.as_str()]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<KnowledgeStore, DecodeError> {
        decode::json(Some(Operation::GetKnowledgeStore), &response)
    }
}

/// `GET /knowledge-stores`: a page of stores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListKnowledgeStores {
    page: Option<u32>,
    page_limit: Option<u32>,
    sort_by: Option<SortBy>,
    sort_option: Option<SortOption>,
}

impl ListKnowledgeStores {
    /// The first page, with the server's defaults.
    pub fn new() -> Self {
        ListKnowledgeStores::default()
    }

    /// Page `page` (1-based).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Items per page (1..=50).
    pub fn page_limit(mut self, limit: u32) -> Self {
        self.page_limit = Some(limit);
        self
    }

    /// The sort key.
    pub fn sort_by(mut self, sort_by: SortBy) -> Self {
        self.sort_by = Some(sort_by);
        self
    }

    /// The sort direction.
    pub fn sort_option(mut self, sort_option: SortOption) -> Self {
        self.sort_option = Some(sort_option);
        self
    }
}

impl ApiCall for ListKnowledgeStores {
    type Output = Page<KnowledgeStore>;
    const OPERATION: Operation = Operation::ListKnowledgeStores;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        check_page(&mut found, self.page);
        check_page_limit(&mut found, "page_limit", self.page_limit);
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[])
            .query_opt("page", self.page)
            .query_opt("page_limit", self.page_limit)
            .query_opt("sort_by", self.sort_by.as_ref())
            .query_opt("sort_option", self.sort_option.as_ref())
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Page<KnowledgeStore>, DecodeError> {
        decode::json(Some(Operation::ListKnowledgeStores), &response)
    }
}

impl PageRequest for ListKnowledgeStores {
    type Item = KnowledgeStore;

    fn for_page(&self, page: u32) -> Self {
        self.clone().page(page)
    }

    fn current_page(&self) -> Option<u32> {
        self.page
    }

    fn item_id(item: &KnowledgeStore) -> Option<&str> {
        Some(item.id.as_str())
    }
}

/// `PATCH /knowledge-stores/{knowledge_store_id}`: renames, redescribes or replaces the
/// metadata of a store (new metadata replaces the old in full).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateKnowledgeStore {
    knowledge_store_id: KnowledgeStoreId,
    name: Option<String>,
    description: Option<String>,
    metadata: Option<Metadata>,
}

impl UpdateKnowledgeStore {
    /// An update of store `knowledge_store_id` that changes nothing yet.
    pub fn new(knowledge_store_id: impl Into<KnowledgeStoreId>) -> Self {
        UpdateKnowledgeStore {
            knowledge_store_id: knowledge_store_id.into(),
            name: None,
            description: None,
            metadata: None,
        }
    }

    /// A new name (not blank).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// New metadata, replacing the old in full.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

impl ApiCall for UpdateKnowledgeStore {
    type Output = KnowledgeStore;
    const OPERATION: Operation = Operation::UpdateKnowledgeStore;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        if let Some(name) = &self.name {
            check_name(&mut found, name);
        }
        if let Some(meta) = &self.metadata {
            check_metadata(&mut found, "metadata", meta, MetadataRules::STORE);
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[self.knowledge_store_id.as_str()])
            .json(&StoreBody {
                name: self.name.as_deref(),
                description: self.description.as_deref(),
                metadata: self.metadata.as_ref(),
                ingestion_config: None,
            })
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<KnowledgeStore, DecodeError> {
        decode::json(Some(Operation::UpdateKnowledgeStore), &response)
    }
}

/// `DELETE /knowledge-stores/{knowledge_store_id}` (its items are deleted too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteKnowledgeStore {
    knowledge_store_id: KnowledgeStoreId,
}

impl DeleteKnowledgeStore {
    /// Deletes store `knowledge_store_id`.
    pub fn new(knowledge_store_id: impl Into<KnowledgeStoreId>) -> Self {
        DeleteKnowledgeStore { knowledge_store_id: knowledge_store_id.into() }
    }
}

impl ApiCall for DeleteKnowledgeStore {
    type Output = ();
    const OPERATION: Operation = Operation::DeleteKnowledgeStore;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target.request(Self::OPERATION, &[self.knowledge_store_id.as_str()]).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<(), DecodeError> {
        decode_empty(response)
    }
}

crate::open_enum! {
    /// A modality a video match came from.
    pub enum Modality {
        /// What is seen.
        Visual = "visual",
        /// What is heard.
        Audio = "audio",
    }
}

crate::open_enum! {
    /// How search hits are grouped.
    pub enum GroupBy {
        /// One hit per match (the default).
        None = "none",
        /// One hit per item.
        Item = "item",
    }
}

/// An `{eq, in}` filter on one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct EqIn<T> {
    /// Equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<T>,
    /// One of these values.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<T>>,
}

impl<T> Default for EqIn<T> {
    fn default() -> Self {
        EqIn { eq: None, any_of: None }
    }
}

impl<T> EqIn<T> {
    /// Equal to `value`.
    pub fn eq(value: T) -> Self {
        EqIn { eq: Some(value), any_of: None }
    }

    /// One of `values`.
    pub fn any_of(values: impl IntoIterator<Item = T>) -> Self {
        EqIn { eq: None, any_of: Some(values.into_iter().collect()) }
    }
}

/// A search filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilter {
    /// By the item's asset type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<EqIn<ItemAssetType>>,
    /// By item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<EqIn<String>>,
}

/// Search options for videos.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSearchOptions {
    /// The modalities to search (default visual).
    #[serde(default)]
    pub modalities: Vec<Modality>,
}

/// Search options (`search_options`, echoed as `effective_search_options`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Video options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSearchOptions>,
}

/// The search query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// The text to search for.
    pub text: String,
}

/// The body of a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SearchBody {
    query: SearchQuery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<SearchFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search_options: Option<SearchOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_by: Option<GroupBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    include_metadata: Option<bool>,
}

/// rein: a search without query text.
pub const EMPTY_QUERY_HINT: Hint =
    Hint::new("A search without query text", "Pass the text to search for in query.text");

/// rein: an empty page token.
pub const EMPTY_PAGE_TOKEN_HINT: Hint = Hint::new(
    "An empty page token",
    "Pass the previous page's next_page_token, or leave page_token out for the first page",
);

/// `POST /knowledge-stores/{knowledge_store_id}/search`: a read-only search, walked by page
/// token (a bad token gives 400, an expired one 410).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchKnowledgeStore {
    knowledge_store_id: KnowledgeStoreId,
    body: SearchBody,
}

impl SearchKnowledgeStore {
    /// A search of store `knowledge_store_id` for `text`.
    pub fn new(knowledge_store_id: impl Into<KnowledgeStoreId>, text: impl Into<String>) -> Self {
        SearchKnowledgeStore {
            knowledge_store_id: knowledge_store_id.into(),
            body: SearchBody {
                query: SearchQuery { text: text.into() },
                filter: None,
                search_options: None,
                group_by: None,
                page_size: None,
                page_token: None,
                include_metadata: None,
            },
        }
    }

    /// Only hits matching `filter`.
    pub fn filter(mut self, filter: SearchFilter) -> Self {
        self.body.filter = Some(filter);
        self
    }

    /// Search videos in these modalities.
    pub fn video_modalities(mut self, modalities: impl IntoIterator<Item = Modality>) -> Self {
        self.body.search_options = Some(SearchOptions {
            video: Some(VideoSearchOptions { modalities: modalities.into_iter().collect() }),
        });
        self
    }

    /// How hits are grouped.
    pub fn group_by(mut self, group_by: GroupBy) -> Self {
        self.body.group_by = Some(group_by);
        self
    }

    /// Hits per page (1..=50).
    pub fn page_size(mut self, size: u32) -> Self {
        self.body.page_size = Some(size);
        self
    }

    /// The page of `token` (a previous page's `next_page_token`).
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.body.page_token = Some(token.into());
        self
    }

    /// Whether hits carry system and user metadata.
    pub fn include_metadata(mut self, on: bool) -> Self {
        self.body.include_metadata = Some(on);
        self
    }
}

impl ApiCall for SearchKnowledgeStore {
    type Output = SearchResponse;
    const OPERATION: Operation = Operation::SearchKnowledgeStore;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        if self.body.query.text.trim().is_empty() {
            found.push(Problem::new("query.text", "the query text is empty", EMPTY_QUERY_HINT));
        }
        check_page_limit(&mut found, "page_size", self.body.page_size);
        if self.body.page_token.as_deref() == Some("") {
            found.push(Problem::new(
                "page_token",
                "the page token is empty",
                EMPTY_PAGE_TOKEN_HINT,
            ));
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[self.knowledge_store_id.as_str()])
            .json(&self.body)
            .build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<SearchResponse, DecodeError> {
        decode::json(Some(Operation::SearchKnowledgeStore), &response)
    }
}

impl TokenRequest for SearchKnowledgeStore {
    type Item = SearchHit;

    fn into_page(page: SearchResponse) -> (Vec<SearchHit>, Option<String>) {
        (page.data, page.next_page_token)
    }

    fn for_token(&self, token: Option<&str>) -> Self {
        let mut next = self.clone();
        next.body.page_token = token.map(str::to_owned);
        next
    }
}

/// One page of search results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The hits, best first.
    #[serde(default)]
    pub data: Vec<SearchHit>,
    /// The token of the next page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// The options the search actually used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_search_options: Option<SearchOptions>,
}

/// A search hit, tagged by `asset_type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "asset_type")]
pub enum SearchHit {
    /// A video, with the matching segments.
    #[serde(rename = "video")]
    Video(VideoHit),
    /// An image.
    #[serde(rename = "image")]
    Image(ImageHit),
    /// A hit this version of rein cannot read (a new asset type, or an unexpected shape), kept
    /// as the server sent it.
    #[serde(untagged)]
    Other(serde_json::Value),
}

/// A video hit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoHit {
    /// Its rank (1 is best).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// The item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The matching segments.
    #[serde(default)]
    pub matches: Vec<VideoMatch>,
    /// Metadata, when `include_metadata` was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<HitMetadata>,
}

/// An image hit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageHit {
    /// Its rank (1 is best).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// The item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// Metadata, when `include_metadata` was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<HitMetadata>,
}

/// A matching segment of a video.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoMatch {
    /// Start, in seconds.
    #[serde(default)]
    pub start_sec: f64,
    /// End, in seconds.
    #[serde(default)]
    pub end_sec: f64,
    /// What matched.
    #[serde(default)]
    pub modalities: Vec<Modality>,
    /// The transcription of the segment, for audio matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription: Option<String>,
}

/// A hit's metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HitMetadata {
    /// What the platform knows of the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<HitSystemMetadata>,
    /// The item's user metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Metadata>,
}

/// A hit's system metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HitSystemMetadata {
    /// Duration in seconds (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A create whose answer was lost is found again by the token in its metadata (stores hold at
/// most 10 pairs: a store whose metadata is full is not tagged), among the newest stores.
impl crate::reconcile::Reconcile for CreateKnowledgeStore {
    type Lookup = ListKnowledgeStores;

    fn tagged(&self, token: &str) -> Option<Self> {
        let metadata = super::with_token(self.metadata.as_ref(), token, 10)?;
        Some(CreateKnowledgeStore { metadata: Some(metadata), ..self.clone() })
    }

    fn lookup(&self) -> ListKnowledgeStores {
        ListKnowledgeStores::new()
            .page_limit(50)
            .sort_by(SortBy::CreatedAt)
            .sort_option(SortOption::Desc)
    }

    fn find(
        &self,
        token: &str,
        listing: Page<KnowledgeStore>,
    ) -> crate::reconcile::Found<KnowledgeStore> {
        match listing.data.into_iter().find(|s| super::has_token(s.metadata.as_ref(), token)) {
            Some(store) => crate::reconcile::Found::Yes(store),
            None => crate::reconcile::Found::No,
        }
    }
    fn tagged_count(&self, token: &str, listing: &Page<KnowledgeStore>) -> usize {
        listing.data.iter().filter(|s| super::has_token(s.metadata.as_ref(), token)).count()
    }
}
