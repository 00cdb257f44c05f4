//! The blocking Jockey client.

use std::path::Path;

use rein_core::jockey::{
    AddItem, Asset, AssetDetail, CreateAsset, CreateKnowledgeStore, CreateResponse, DeleteAsset,
    DeleteAssetMetadata, DeleteItem, DeleteKnowledgeStore, GetAsset, GetItem, GetKnowledgeStore,
    KnowledgeStore, KnowledgeStoreItem, ListAssets, ListItems, ListKnowledgeStores,
    MergeAssetMetadata, Metadata, ReplaceAssetMetadata, Response, SearchKnowledgeStore,
    SearchResponse, UpdateKnowledgeStore,
};
use rein_core::pages::Page;
use rein_core::{Api, ClientConfig, Error, Wait, WaitPolicy};

use crate::client::{handle_options, ApiClient, ClientBuilder, Handle};
use crate::files::file_source;
use crate::pages::{PageIter, SearchIter};
use crate::stream::ResponseStream;

/// A blocking client of Twelve Labs' Jockey API (`https://api.twelvelabs.io/v1.3`).
///
/// Every call validates its request before sending, retries what is safe to retry (429 after
/// its `Retry-After`, 5xx, lost connections on reads), and finds a create whose answer was lost
/// instead of repeating it. Clones share the connection pool, the rate limiter and its pauses.
///
/// ```no_run
/// use rein_blocking::Jockey;
/// use rein_core::jockey::{AddItem, CreateKnowledgeStore, CreateResponse};
///
/// let jockey = Jockey::from_env()?; // TWELVELABS_API_KEY (and TWELVELABS_BASE_URL)
/// let asset = jockey.upload_file("demo.mp4")?; // streamed from disk
/// jockey.wait_for_asset(&asset)?; // every 5 s, up to 120 s
/// let store = jockey.create_store(&CreateKnowledgeStore::new("Demo"))?;
/// let store_id = store.id.unwrap_or_default();
/// let item = jockey.add_item(&AddItem::new(&store_id, asset.id.unwrap_or_default()))?;
/// jockey.wait_for_item(&store_id, &item.id.unwrap_or_default())?; // every 10 s, up to 600 s
/// for event in jockey.stream_response(&CreateResponse::ask(&store_id, "What happens?"))? {
///     println!("{:?}", event?);
/// }
/// # Ok::<(), rein_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Jockey {
    pub(crate) handle: Handle,
}

impl ApiClient for Jockey {
    const API: Api = Api::Jockey;
}

handle_options!(Jockey);

impl Jockey {
    /// A client from `TWELVELABS_API_KEY` (and `TWELVELABS_BASE_URL`, if set).
    pub fn from_env() -> Result<Jockey, Error> {
        Jockey::builder_from_env()?.build()
    }

    /// A builder from `TWELVELABS_API_KEY` (and `TWELVELABS_BASE_URL`, if set).
    pub fn builder_from_env() -> Result<ClientBuilder<Jockey>, Error> {
        Ok(ClientBuilder::new(ClientConfig::from_env(Api::Jockey, |v| std::env::var(v).ok())?))
    }

    /// A builder with `key`.
    pub fn builder(key: impl Into<rein_core::ApiKey>) -> ClientBuilder<Jockey> {
        ClientBuilder::new(ClientConfig::new(Api::Jockey, key))
    }

    // Assets.

    /// Creates an asset (direct upload or URL). A create whose answer is lost is looked up
    /// before it is ever sent again.
    pub fn create_asset(&self, request: &CreateAsset) -> Result<Asset, Error> {
        self.handle.create_once(request)
    }

    /// Uploads a local file directly (at most 200 MB; larger files go by URL), streamed from disk.
    pub fn upload_file(&self, path: impl AsRef<Path>) -> Result<Asset, Error> {
        let boundary = rein_core::body::boundary_from_seed(self.handle.shared.runtime.seed());
        self.create_asset(&CreateAsset::direct(file_source(path.as_ref())?).boundary(boundary))
    }

    /// Creates an asset from a public URL.
    pub fn upload_url(&self, url: &str) -> Result<Asset, Error> {
        self.create_asset(&CreateAsset::url(url))
    }

    /// An asset.
    pub fn get_asset(&self, asset_id: &str) -> Result<AssetDetail, Error> {
        self.call(&GetAsset::new(asset_id))
    }

    /// One page of assets.
    pub fn list_assets(&self, request: &ListAssets) -> Result<Page<AssetDetail>, Error> {
        self.call(request)
    }

    /// Every asset the listing matches, page after page.
    pub fn assets(&self, request: ListAssets) -> PageIter<ListAssets> {
        PageIter::new(self.handle.clone(), request)
    }

    /// Deletes an asset (with `force`, even when indexed assets reference it).
    pub fn delete_asset(&self, asset_id: &str, force: bool) -> Result<(), Error> {
        self.call(&DeleteAsset::new(asset_id).force(force))
    }

    /// Replaces an asset's user metadata (keys left out are removed).
    pub fn replace_asset_metadata(&self, asset_id: &str, metadata: Metadata) -> Result<(), Error> {
        self.call(&ReplaceAssetMetadata::new(asset_id, metadata))
    }

    /// Merges into an asset's user metadata (a null value deletes its key).
    pub fn merge_asset_metadata(&self, asset_id: &str, metadata: Metadata) -> Result<(), Error> {
        self.call(&MergeAssetMetadata::new(asset_id, metadata))
    }

    /// Deletes an asset's user metadata.
    pub fn delete_asset_metadata(&self, asset_id: &str) -> Result<(), Error> {
        self.call(&DeleteAssetMetadata::new(asset_id))
    }

    /// Waits until an asset is `ready`, with the preset of its upload method (direct: every 5 s
    /// up to 120 s; URL: every 5 s up to 300 s). `failed` ends the wait with
    /// [`Error::ResourceFailed`].
    pub fn wait_for_asset(&self, asset: &Asset) -> Result<AssetDetail, Error> {
        self.wait_for_asset_with(asset.id.as_deref().unwrap_or_default(), asset.wait_policy())
    }

    /// Waits on an asset by id with any policy.
    pub fn wait_for_asset_with(
        &self,
        asset_id: &str,
        policy: WaitPolicy,
    ) -> Result<AssetDetail, Error> {
        let retry = self.handle.retry();
        let wait = Wait::typed(
            &self.handle.shared.target,
            &GetAsset::new(asset_id),
            self.handle.wait_policy(policy),
            retry,
        )?;
        self.handle.wait(wait)
    }

    // Knowledge stores.

    /// Creates a knowledge store (found again, not repeated, when its answer is lost).
    pub fn create_store(&self, request: &CreateKnowledgeStore) -> Result<KnowledgeStore, Error> {
        self.handle.create_once(request)
    }

    /// A knowledge store.
    pub fn get_store(&self, knowledge_store_id: &str) -> Result<KnowledgeStore, Error> {
        self.call(&GetKnowledgeStore::new(knowledge_store_id))
    }

    /// One page of knowledge stores.
    pub fn list_stores(
        &self,
        request: &ListKnowledgeStores,
    ) -> Result<Page<KnowledgeStore>, Error> {
        self.call(request)
    }

    /// Every knowledge store, page after page.
    pub fn stores(&self, request: ListKnowledgeStores) -> PageIter<ListKnowledgeStores> {
        PageIter::new(self.handle.clone(), request)
    }

    /// Updates a knowledge store's name, description or metadata.
    pub fn update_store(&self, request: &UpdateKnowledgeStore) -> Result<KnowledgeStore, Error> {
        self.call(request)
    }

    /// Deletes a knowledge store and its items.
    pub fn delete_store(&self, knowledge_store_id: &str) -> Result<(), Error> {
        self.call(&DeleteKnowledgeStore::new(knowledge_store_id))
    }

    /// One page of search results.
    pub fn search(&self, request: &SearchKnowledgeStore) -> Result<SearchResponse, Error> {
        self.call(request)
    }

    /// Every page of a search, following `next_page_token`.
    pub fn search_pages(&self, request: SearchKnowledgeStore) -> SearchIter {
        SearchIter::new(self.handle.clone(), request)
    }

    // Items.

    /// Adds an asset to a knowledge store (answered 202, `queued`; found again, not repeated,
    /// when its answer is lost).
    pub fn add_item(&self, request: &AddItem) -> Result<KnowledgeStoreItem, Error> {
        self.handle.create_once(request)
    }

    /// An item.
    pub fn get_item(
        &self,
        knowledge_store_id: &str,
        item_id: &str,
    ) -> Result<KnowledgeStoreItem, Error> {
        self.call(&GetItem::new(knowledge_store_id, item_id))
    }

    /// One page of a store's items.
    pub fn list_items(&self, request: &ListItems) -> Result<Page<KnowledgeStoreItem>, Error> {
        self.call(request)
    }

    /// Every item the listing matches, page after page.
    pub fn items(&self, request: ListItems) -> PageIter<ListItems> {
        PageIter::new(self.handle.clone(), request)
    }

    /// Removes an item from its store.
    pub fn delete_item(&self, knowledge_store_id: &str, item_id: &str) -> Result<(), Error> {
        self.call(&DeleteItem::new(knowledge_store_id, item_id))
    }

    /// Waits until an item is `ready` (every 10 s, up to 600 s). `failed` ends the wait with
    /// [`Error::ResourceFailed`].
    pub fn wait_for_item(
        &self,
        knowledge_store_id: &str,
        item_id: &str,
    ) -> Result<KnowledgeStoreItem, Error> {
        self.wait_for_item_with(knowledge_store_id, item_id, WaitPolicy::KNOWLEDGE_STORE_ITEM)
    }

    /// Waits on an item with any policy.
    pub fn wait_for_item_with(
        &self,
        knowledge_store_id: &str,
        item_id: &str,
        policy: WaitPolicy,
    ) -> Result<KnowledgeStoreItem, Error> {
        let request = GetItem::new(knowledge_store_id, item_id);
        let wait = Wait::typed(
            &self.handle.shared.target,
            &request,
            self.handle.wait_policy(policy),
            self.handle.retry(),
        )?;
        self.handle.wait(wait)
    }

    // Responses.

    /// Asks a question over a knowledge store and waits for the whole answer.
    pub fn create_response(&self, request: &CreateResponse) -> Result<Response, Error> {
        self.call(&request.clone().stream(false))
    }

    /// Asks a question and streams the answer as it is written: an iterator of typed events,
    /// ending at `[DONE]`.
    pub fn stream_response(&self, request: &CreateResponse) -> Result<ResponseStream, Error> {
        ResponseStream::open(&self.handle, &request.clone().stream(true))
    }
}
