//! Knowledge store items (`/knowledge-stores/{knowledge_store_id}/items`): an asset added to a
//! store, indexed in the background (answered 202, `queued`).
//!
//! Many items are best awaited through [`ListItems`] with a status filter, 50 per page, rather
//! than one [`GetItem`] per item.
//!
//! ```
//! use rein::core::{ApiCall, Target};
//! use rein::jockey::items::{ItemStatus, ListItems};
//! use rein::Api;
//!
//! let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_demo")?;
//! let pending = ListItems::new("ks_1")
//!     .statuses([ItemStatus::Queued, ItemStatus::Pending, ItemStatus::Processing])
//!     .page_limit(50);
//! let request = pending.to_request(&target)?;
//! assert_eq!(
//!     request.path_and_query(),
//!     "/v1.3/knowledge-stores/ks_1/items?page_limit=50&status=queued&status=pending&status=processing"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ids::{AssetId, ItemId, KnowledgeStoreId};
use super::{
    check_metadata, check_page, check_page_limit, require_id, Metadata, MetadataRules, PageRequest,
    SortBy, SortOption,
};
use crate::api::Operation;
use crate::api_call::{decode_empty, ApiCall};
use crate::decode;
use crate::error::{DecodeError, Error, ValidationError};
use crate::pages::Page;
use crate::request::Request;
use crate::status::{Phase, Pollable};
use crate::target::Target;

crate::open_enum! {
    /// The kind of asset an item holds.
    pub enum ItemAssetType {
        /// A video.
        Video = "video",
        /// An image.
        Image = "image",
    }
}

crate::open_enum! {
    /// An item's indexing status. Unknown values count as pending.
    pub enum ItemStatus {
        /// Accepted, waiting to be indexed.
        Queued = "queued",
        /// Waiting.
        Pending = "pending",
        /// Being indexed.
        Processing = "processing",
        /// Indexed and searchable.
        Ready = "ready",
        /// Indexing failed.
        Failed = "failed",
    }
}

/// What the platform knows of an item's media.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemSystemMetadata {
    /// The kind of media (the tag of this object on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<ItemAssetType>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Duration in seconds (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Frame rate (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Codec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_name: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// An item of a knowledge store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeStoreItem {
    /// The item's id (`_id` on the wire; prefix `ksi_`). Required: a body without it fails to
    /// decode.
    #[serde(rename = "_id", alias = "id")]
    pub id: ItemId,
    /// The kind of asset (required by the spec; optional here so a missing one does not fail
    /// the decode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<ItemAssetType>,
    /// The asset indexed (optional in the spec's `KnowledgeStoreItem` and in jockey-api.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<AssetId>,
    /// Indexing status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// What the platform knows of the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_metadata: Option<ItemSystemMetadata>,
    /// User metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// When it was added (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl Pollable for KnowledgeStoreItem {
    fn phase(&self) -> Phase {
        match self.status {
            Some(ItemStatus::Ready) => Phase::Ready,
            Some(ItemStatus::Failed) => Phase::Failed,
            // queued, pending, processing, unknown values and a missing status.
            _ => Phase::Pending,
        }
    }

    fn status_text(&self) -> &str {
        self.status.as_ref().map_or("", ItemStatus::as_str)
    }

    fn failure_message(&self) -> Option<&str> {
        None // no source gives an item an error field
    }
}

#[derive(Serialize)]
struct AddItemBody<'a> {
    asset_id: &'a AssetId,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_type: Option<&'a ItemAssetType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Metadata>,
}

/// `POST /knowledge-stores/{knowledge_store_id}/items`: adds an asset (which must exist and be
/// ready) to a store. Answered 202 with the item `queued`; poll it until `ready` or `failed`.
#[derive(Clone, Debug, PartialEq)]
pub struct AddItem {
    knowledge_store_id: KnowledgeStoreId,
    asset_id: AssetId,
    asset_type: Option<ItemAssetType>,
    metadata: Option<Metadata>,
}

impl AddItem {
    /// Adds asset `asset_id` to store `knowledge_store_id`.
    pub fn new(
        knowledge_store_id: impl Into<KnowledgeStoreId>,
        asset_id: impl Into<AssetId>,
    ) -> Self {
        AddItem {
            knowledge_store_id: knowledge_store_id.into(),
            asset_id: asset_id.into(),
            asset_type: None,
            metadata: None,
        }
    }

    /// The asset's kind.
    pub fn asset_type(mut self, asset_type: ItemAssetType) -> Self {
        self.asset_type = Some(asset_type);
        self
    }

    /// Item metadata (at most 50 pairs, values up to 8192 characters).
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

impl ApiCall for AddItem {
    type Output = KnowledgeStoreItem;
    const OPERATION: Operation = Operation::AddItem;
    crate::api_call::plan!(create_once);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        require_id(&mut found, "asset_id", self.asset_id.as_str());
        if let Some(meta) = &self.metadata {
            check_metadata(&mut found, "metadata", meta, MetadataRules::ITEM);
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        target
            .request(Self::OPERATION, &[self.knowledge_store_id.as_str()])
            .json(&AddItemBody {
                asset_id: &self.asset_id,
                asset_type: self.asset_type.as_ref(),
                metadata: self.metadata.as_ref(),
            })
            .build()
    }

    /// Decodes the item from any 2xx (the API answers 202 Accepted).
    fn decode(response: http::Response<Bytes>) -> Result<KnowledgeStoreItem, DecodeError> {
        decode::json(Some(Operation::AddItem), &response)
    }
}

/// `GET /knowledge-stores/{knowledge_store_id}/items/{item_id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetItem {
    knowledge_store_id: KnowledgeStoreId,
    item_id: ItemId,
}

impl GetItem {
    /// Item `item_id` of store `knowledge_store_id`.
    pub fn new(
        knowledge_store_id: impl Into<KnowledgeStoreId>,
        item_id: impl Into<ItemId>,
    ) -> Self {
        GetItem { knowledge_store_id: knowledge_store_id.into(), item_id: item_id.into() }
    }
}

impl crate::Waitable for GetItem {
    /// An item: every 10 s, for up to 600 s (indexing takes 1-10 minutes).
    fn wait_policy(&self) -> crate::WaitPolicy {
        crate::WaitPolicy::KNOWLEDGE_STORE_ITEM
    }
}

impl ApiCall for GetItem {
    type Output = KnowledgeStoreItem;
    const OPERATION: Operation = Operation::GetItem;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        require_id(&mut found, "item_id", self.item_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let params = [self.knowledge_store_id.as_str(), self.item_id.as_str()];
        target.request(Self::OPERATION, &params).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<KnowledgeStoreItem, DecodeError> {
        decode::json(Some(Operation::GetItem), &response)
    }
}

/// `GET /knowledge-stores/{knowledge_store_id}/items`: a page of items, optionally only those
/// in some statuses (repeated `status=` keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItems {
    knowledge_store_id: KnowledgeStoreId,
    page: Option<u32>,
    page_limit: Option<u32>,
    sort_by: Option<SortBy>,
    sort_option: Option<SortOption>,
    statuses: Vec<ItemStatus>,
}

impl ListItems {
    /// The items of store `knowledge_store_id`, first page, server defaults.
    pub fn new(knowledge_store_id: impl Into<KnowledgeStoreId>) -> Self {
        ListItems {
            knowledge_store_id: knowledge_store_id.into(),
            page: None,
            page_limit: None,
            sort_by: None,
            sort_option: None,
            statuses: Vec::new(),
        }
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

    /// Only items in `status` (may be repeated).
    pub fn status(mut self, status: ItemStatus) -> Self {
        self.statuses.push(status);
        self
    }

    /// Only items in one of `statuses`.
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = ItemStatus>) -> Self {
        self.statuses.extend(statuses);
        self
    }
}

impl ApiCall for ListItems {
    type Output = Page<KnowledgeStoreItem>;
    const OPERATION: Operation = Operation::ListItems;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        check_page(&mut found, self.page);
        check_page_limit(&mut found, "page_limit", self.page_limit);
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let params = [self.knowledge_store_id.as_str()];
        let mut req = target
            .request(Self::OPERATION, &params)
            .query_opt("page", self.page)
            .query_opt("page_limit", self.page_limit)
            .query_opt("sort_by", self.sort_by.as_ref())
            .query_opt("sort_option", self.sort_option.as_ref());
        for status in &self.statuses {
            req = req.query("status", status);
        }
        req.build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Page<KnowledgeStoreItem>, DecodeError> {
        decode::json(Some(Operation::ListItems), &response)
    }
}

impl PageRequest for ListItems {
    type Item = KnowledgeStoreItem;

    fn for_page(&self, page: u32) -> Self {
        self.clone().page(page)
    }

    fn current_page(&self) -> Option<u32> {
        self.page
    }

    fn item_id(item: &KnowledgeStoreItem) -> Option<&str> {
        Some(item.id.as_str())
    }
}

/// `DELETE /knowledge-stores/{knowledge_store_id}/items/{item_id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteItem {
    knowledge_store_id: KnowledgeStoreId,
    item_id: ItemId,
}

impl DeleteItem {
    /// Deletes item `item_id` of store `knowledge_store_id`.
    pub fn new(
        knowledge_store_id: impl Into<KnowledgeStoreId>,
        item_id: impl Into<ItemId>,
    ) -> Self {
        DeleteItem { knowledge_store_id: knowledge_store_id.into(), item_id: item_id.into() }
    }
}

impl ApiCall for DeleteItem {
    type Output = ();
    const OPERATION: Operation = Operation::DeleteItem;
    crate::api_call::plan!(call);

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        require_id(&mut found, "knowledge_store_id", self.knowledge_store_id.as_str());
        require_id(&mut found, "item_id", self.item_id.as_str());
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let params = [self.knowledge_store_id.as_str(), self.item_id.as_str()];
        target.request(Self::OPERATION, &params).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<(), DecodeError> {
        decode_empty(response)
    }
}

/// An add whose answer was lost is found again by the token in the item's metadata (at most 50
/// pairs), among the store's newest items.
impl crate::reconcile::Reconcile for AddItem {
    type Lookup = ListItems;

    fn tagged(&self, token: &str) -> Option<Self> {
        let metadata = super::with_token(self.metadata.as_ref(), token, 50)?;
        Some(AddItem { metadata: Some(metadata), ..self.clone() })
    }

    fn lookup(&self) -> ListItems {
        ListItems::new(&self.knowledge_store_id)
            .page_limit(50)
            .sort_by(super::SortBy::CreatedAt)
            .sort_option(super::SortOption::Desc)
    }

    fn find(
        &self,
        token: &str,
        listing: Page<KnowledgeStoreItem>,
    ) -> crate::reconcile::Found<KnowledgeStoreItem> {
        match listing.data.into_iter().find(|i| super::has_token(i.metadata.as_ref(), token)) {
            Some(item) => crate::reconcile::Found::Yes(item),
            None => crate::reconcile::Found::No,
        }
    }
    fn tagged_count(&self, token: &str, listing: &Page<KnowledgeStoreItem>) -> usize {
        listing.data.iter().filter(|i| super::has_token(i.metadata.as_ref(), token)).count()
    }
}
