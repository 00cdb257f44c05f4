//! The Jockey and jack clients, declared once for both adapters: their typed methods
//! ([`__clients!`](crate::__clients)) and the glue that builds a client and runs its machines
//! ([`__client_glue!`](crate::__client_glue)).
//!
//! Each method names the request it sends and the machine that carries it out ([`ApiCall`]'s
//! plan, a [`Wait`](crate::Wait) with the endpoint's preset, a [`Listing`](crate::Listing), a
//! split ingest, a streamed response); the adapter only runs the machine. The blocking adapter
//! expands the macros plain, the async one with `async` and `.await`, so the two offer the same
//! methods under the same names, with the same documentation.
//!
//! The adapter gives the `Jockey` and `Jack` structs their documentation, and provides its
//! `Transport`, sleeper and default clock, `file_source(path)`, `default_transport(&config)`, the
//! `Items` its listings and streams are, and `Client::drive(machine, &mut body)`: the one loop.
//!
//! [`ApiCall`]: crate::ApiCall

/// The client structs and their methods, for an adapter: `__clients!([] [] ...)` for blocking
/// methods, `__clients!([async] [.await] ...)` for async ones; the structs' docs come before
/// `struct Jockey;` and `struct Jack;`; `Pages`, `Search` and `Events` name the adapter's types
/// for a page listing, a search listing and a response's events.
#[doc(hidden)]
#[macro_export]
macro_rules! __clients {
    (
        [$($async:ident)?] [$($await:tt)*]
        $(#[$jockey:meta])* struct Jockey;
        $(#[$jack:meta])* struct Jack;
        pages = $Pages:ident, search = $Search:ident, events = $Events:ident
    ) => {
        $(#[$jockey])*
        #[derive(Clone, Debug)]
        pub struct Jockey {
            client: Client,
        }

        $(#[$jack])*
        #[derive(Clone, Debug)]
        pub struct Jack {
            client: Client,
        }

        $crate::__clients!(@common Jockey, $crate::Api::Jockey, "TWELVELABS", JockeyKind, [$($async)?] [$($await)*]);
        $crate::__clients!(@common Jack, $crate::Api::Jack, "JACK", JackKind, [$($async)?] [$($await)*]);

        impl Jockey {
            // Assets.

            /// Creates an asset (direct upload or URL). A create whose answer is lost is looked
            /// up before it is ever sent again.
            ///
            /// rein writes a `rein_token` into the asset's `user_metadata`, so that a create
            /// whose answer is lost is found again instead of sent twice;
            /// [`ClientBuilder::tag_creates(false)`](ClientBuilder::tag_creates) turns that off.
            pub $($async)? fn create_asset(
                &self,
                request: &$crate::jockey::CreateAsset,
            ) -> Result<$crate::jockey::Asset, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Uploads a local file, streamed from disk. Up to 200 MB it goes up directly (a
            /// [`create_asset`](Self::create_asset), tagged with a `rein_token` in its
            /// `user_metadata` alike); a larger one (video and audio up to 10 GB, images up to
            /// 32 MB) goes by the multipart flow: see [`upload_multipart`](Self::upload_multipart).
            /// Either way the asset comes back `processing`: await it with `wait_for_asset`.
            pub $($async)? fn upload_file(
                &self,
                path: impl AsRef<::std::path::Path>,
            ) -> Result<$crate::jockey::Asset, $crate::Error> {
                let source = file_source(path.as_ref()) $($await)* ?;
                if source.len > $crate::jockey::assets::DIRECT_UPLOAD_MAX_BYTES {
                    let create =
                        $crate::jockey::multipart::CreateMultipartUpload::for_file(&source)?;
                    let upload = $crate::jockey::upload::MultipartUpload::new(source, create);
                    return self.upload_multipart(upload) $($await)*;
                }
                let boundary = self.client.runner().boundary();
                let request = $crate::jockey::CreateAsset::direct(source).boundary(boundary);
                self.create_asset(&request) $($await)*
            }

            /// Carries out a multipart upload: opens the session (or finds it again, to
            /// resume), uploads the chunks a few at a time, each streamed from disk to its
            /// presigned URL (no API key goes there) and retried on its own, renews URLs that
            /// expire, reports the chunks, and returns the asset. The session's id comes in an
            /// [`Event::Uploading`](rein_core::Event::Uploading) as soon as it exists: keep it to
            /// [`resume_upload`](Self::resume_upload) an upload that was interrupted.
            pub $($async)? fn upload_multipart(
                &self,
                mut upload: $crate::jockey::upload::MultipartUpload,
            ) -> Result<$crate::jockey::Asset, $crate::Error> {
                use $crate::jockey::upload::UploadStep;
                let runner = self.client.runner();
                loop {
                    let now = self.client.io.clock.now().moment;
                    match upload.next(runner, now) {
                        UploadStep::Call(call) => {
                            let outcome = self.client.run(Ok(*call)) $($await)*;
                            let now = self.client.io.clock.now().moment;
                            upload.answer(runner, outcome, now);
                        }
                        UploadStep::Chunks(calls) => {
                            let outcomes = self.client.run_all(calls) $($await)*;
                            upload.chunks_done(outcomes);
                        }
                        UploadStep::Done(result) => return result,
                    }
                }
            }

            /// Resumes the multipart upload of `path` in session `upload_id` (an upload that was
            /// interrupted; sessions live 24 hours): the chunks the session has are not sent
            /// again.
            pub $($async)? fn resume_upload(
                &self,
                upload_id: &str,
                path: impl AsRef<::std::path::Path>,
            ) -> Result<$crate::jockey::Asset, $crate::Error> {
                let source = file_source(path.as_ref()) $($await)* ?;
                let upload = $crate::jockey::upload::MultipartUpload::resume(source, upload_id);
                self.upload_multipart(upload) $($await)*
            }

            /// Creates an asset from a public URL. A [`create_asset`](Self::create_asset):
            /// tagged with a `rein_token` in its `user_metadata` alike.
            pub $($async)? fn upload_url(
                &self,
                url: &str,
            ) -> Result<$crate::jockey::Asset, $crate::Error> {
                self.create_asset(&$crate::jockey::CreateAsset::url(url)) $($await)*
            }

            /// An asset.
            pub $($async)? fn get_asset(
                &self,
                asset_id: impl Into<$crate::jockey::AssetId>,
            ) -> Result<$crate::jockey::AssetDetail, $crate::Error> {
                self.call(&$crate::jockey::GetAsset::new(asset_id)) $($await)*
            }

            /// One page of assets.
            pub $($async)? fn list_assets(
                &self,
                request: &$crate::jockey::ListAssets,
            ) -> Result<$crate::pages::Page<$crate::jockey::AssetDetail>, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Every asset the listing matches, page after page, each page fetched when it is
            /// reached.
            pub fn assets(
                &self,
                request: $crate::jockey::ListAssets,
            ) -> $Pages<$crate::jockey::ListAssets> {
                self.pages(request)
            }

            /// Deletes an asset (with `force`, even when indexed assets reference it).
            pub $($async)? fn delete_asset(
                &self,
                asset_id: impl Into<$crate::jockey::AssetId>,
                force: bool,
            ) -> Result<(), $crate::Error> {
                self.call(&$crate::jockey::DeleteAsset::new(asset_id).force(force)) $($await)*
            }

            /// Replaces an asset's user metadata (keys left out are removed).
            pub $($async)? fn replace_asset_metadata(
                &self,
                asset_id: impl Into<$crate::jockey::AssetId>,
                metadata: $crate::jockey::Metadata,
            ) -> Result<(), $crate::Error> {
                let request = $crate::jockey::ReplaceAssetMetadata::new(asset_id, metadata);
                self.call(&request) $($await)*
            }

            /// Merges into an asset's user metadata (a null value deletes its key).
            pub $($async)? fn merge_asset_metadata(
                &self,
                asset_id: impl Into<$crate::jockey::AssetId>,
                metadata: $crate::jockey::Metadata,
            ) -> Result<(), $crate::Error> {
                let request = $crate::jockey::MergeAssetMetadata::new(asset_id, metadata);
                self.call(&request) $($await)*
            }

            /// Deletes an asset's user metadata.
            pub $($async)? fn delete_asset_metadata(
                &self,
                asset_id: impl Into<$crate::jockey::AssetId>,
            ) -> Result<(), $crate::Error> {
                self.call(&$crate::jockey::DeleteAssetMetadata::new(asset_id)) $($await)*
            }

            /// Waits until an asset is `ready`, with the preset of its upload method (direct:
            /// every 5 s up to 120 s; URL: every 5 s up to 300 s). `failed` ends the wait with
            /// [`Error::ResourceFailed`]($crate::Error::ResourceFailed).
            pub $($async)? fn wait_for_asset(
                &self,
                asset: &$crate::jockey::Asset,
            ) -> Result<$crate::jockey::AssetDetail, $crate::Error> {
                self.wait_for_asset_with(&asset.id, asset.wait_policy()) $($await)*
            }

            /// Waits on an asset by id with any policy.
            pub $($async)? fn wait_for_asset_with(
                &self,
                asset_id: impl Into<$crate::jockey::AssetId>,
                policy: $crate::WaitPolicy,
            ) -> Result<$crate::jockey::AssetDetail, $crate::Error> {
                self.wait_for(&$crate::jockey::GetAsset::new(asset_id), policy) $($await)*
            }

            // Knowledge stores.

            /// Creates a knowledge store (found again, not repeated, when its answer is lost).
            ///
            /// rein writes a `rein_token` into the store's `metadata`, so that a create whose
            /// answer is lost is found again instead of sent twice;
            /// [`ClientBuilder::tag_creates(false)`](ClientBuilder::tag_creates) turns that off.
            pub $($async)? fn create_store(
                &self,
                request: &$crate::jockey::CreateKnowledgeStore,
            ) -> Result<$crate::jockey::KnowledgeStore, $crate::Error> {
                self.call(request) $($await)*
            }

            /// A knowledge store.
            pub $($async)? fn get_store(
                &self,
                knowledge_store_id: impl Into<$crate::jockey::KnowledgeStoreId>,
            ) -> Result<$crate::jockey::KnowledgeStore, $crate::Error> {
                self.call(&$crate::jockey::GetKnowledgeStore::new(knowledge_store_id)) $($await)*
            }

            /// One page of knowledge stores.
            pub $($async)? fn list_stores(
                &self,
                request: &$crate::jockey::ListKnowledgeStores,
            ) -> Result<$crate::pages::Page<$crate::jockey::KnowledgeStore>, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Every knowledge store, page after page, each page fetched when it is reached.
            pub fn stores(
                &self,
                request: $crate::jockey::ListKnowledgeStores,
            ) -> $Pages<$crate::jockey::ListKnowledgeStores> {
                self.pages(request)
            }

            /// Updates a knowledge store's name, description or metadata.
            pub $($async)? fn update_store(
                &self,
                request: &$crate::jockey::UpdateKnowledgeStore,
            ) -> Result<$crate::jockey::KnowledgeStore, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Deletes a knowledge store and its items.
            pub $($async)? fn delete_store(
                &self,
                knowledge_store_id: impl Into<$crate::jockey::KnowledgeStoreId>,
            ) -> Result<(), $crate::Error> {
                self.call(&$crate::jockey::DeleteKnowledgeStore::new(knowledge_store_id)) $($await)*
            }

            /// One page of search results.
            pub $($async)? fn search(
                &self,
                request: &$crate::jockey::SearchKnowledgeStore,
            ) -> Result<$crate::jockey::SearchResponse, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Every page of a search, following `next_page_token`, each page fetched when it
            /// is reached.
            pub fn search_pages(&self, request: $crate::jockey::SearchKnowledgeStore) -> $Search {
                let walk = $crate::TokenWalk::new(request);
                self.client.items($crate::Listing::new(self.client.runner(), walk))
            }

            // Items.

            /// Adds an asset to a knowledge store (answered 202, `queued`; found again, not
            /// repeated, when its answer is lost).
            ///
            /// rein writes a `rein_token` into the item's `metadata`, so that an add whose
            /// answer is lost is found again instead of sent twice;
            /// [`ClientBuilder::tag_creates(false)`](ClientBuilder::tag_creates) turns that off.
            pub $($async)? fn add_item(
                &self,
                request: &$crate::jockey::AddItem,
            ) -> Result<$crate::jockey::KnowledgeStoreItem, $crate::Error> {
                self.call(request) $($await)*
            }

            /// An item.
            pub $($async)? fn get_item(
                &self,
                knowledge_store_id: impl Into<$crate::jockey::KnowledgeStoreId>,
                item_id: impl Into<$crate::jockey::ItemId>,
            ) -> Result<$crate::jockey::KnowledgeStoreItem, $crate::Error> {
                self.call(&$crate::jockey::GetItem::new(knowledge_store_id, item_id)) $($await)*
            }

            /// One page of a store's items.
            pub $($async)? fn list_items(
                &self,
                request: &$crate::jockey::ListItems,
            ) -> Result<$crate::pages::Page<$crate::jockey::KnowledgeStoreItem>, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Every item the listing matches, page after page, each page fetched when it is
            /// reached.
            pub fn items(
                &self,
                request: $crate::jockey::ListItems,
            ) -> $Pages<$crate::jockey::ListItems> {
                self.pages(request)
            }

            /// Removes an item from its store.
            pub $($async)? fn delete_item(
                &self,
                knowledge_store_id: impl Into<$crate::jockey::KnowledgeStoreId>,
                item_id: impl Into<$crate::jockey::ItemId>,
            ) -> Result<(), $crate::Error> {
                self.call(&$crate::jockey::DeleteItem::new(knowledge_store_id, item_id)) $($await)*
            }

            /// Waits until an item is `ready` (every 10 s, up to 600 s). `failed` ends the wait
            /// with [`Error::ResourceFailed`]($crate::Error::ResourceFailed).
            pub $($async)? fn wait_for_item(
                &self,
                knowledge_store_id: impl Into<$crate::jockey::KnowledgeStoreId>,
                item_id: impl Into<$crate::jockey::ItemId>,
            ) -> Result<$crate::jockey::KnowledgeStoreItem, $crate::Error> {
                let get = $crate::jockey::GetItem::new(knowledge_store_id, item_id);
                self.wait_for(&get, $crate::Waitable::wait_policy(&get)) $($await)*
            }

            /// Waits on an item with any policy.
            pub $($async)? fn wait_for_item_with(
                &self,
                knowledge_store_id: impl Into<$crate::jockey::KnowledgeStoreId>,
                item_id: impl Into<$crate::jockey::ItemId>,
                policy: $crate::WaitPolicy,
            ) -> Result<$crate::jockey::KnowledgeStoreItem, $crate::Error> {
                let get = $crate::jockey::GetItem::new(knowledge_store_id, item_id);
                self.wait_for(&get, policy) $($await)*
            }

            // Responses.

            /// Asks a question over a knowledge store and waits for the whole answer.
            pub $($async)? fn create_response(
                &self,
                request: &$crate::jockey::CreateResponse,
            ) -> Result<$crate::jockey::Response, $crate::Error> {
                self.call(request) $($await)*
            }

            /// Asks a question and streams the answer as it is written: the typed events, ending
            /// at `[DONE]`. Returns once the answer has begun; an error before that (after the
            /// retries a call would make) is returned here.
            pub $($async)? fn stream_response(
                &self,
                request: &$crate::jockey::CreateResponse,
            ) -> Result<$Events, $crate::Error> {
                let open = $crate::jockey::OpenResponse::new(self.client.runner(), request);
                self.client.stream(open) $($await)*
            }

            fn pages<R>(&self, request: R) -> $Pages<R>
            where
                R: $crate::jockey::PageRequest,
            {
                let walk = $crate::PageWalk::new(request);
                self.client.items($crate::Listing::new(self.client.runner(), walk))
            }
        }

        impl Jack {
            /// Ingests up to 50 documents in one request (one request against the rate limit).
            /// Each document is tagged `rein_token` in its metadata, so an ingest whose answer
            /// is lost is found again in the documents list instead of being sent twice;
            /// [`ClientBuilder::tag_creates(false)`](ClientBuilder::tag_creates) turns that off.
            pub $($async)? fn ingest<D: Into<$crate::jack::NewDocument>>(
                &self,
                documents: impl IntoIterator<Item = D>,
            ) -> Result<$crate::jack::IngestAccepted, $crate::Error> {
                self.call(&$crate::jack::Ingest::new(documents)) $($await)*
            }

            /// Ingests any number of documents in batches of the documented maximum. Every
            /// document is validated before the first batch is sent; a failed batch does not
            /// stop the others, and the report says which documents each batch held. Each batch
            /// is an [`ingest`](Self::ingest) (tagged alike), and the event hook hears of each.
            pub $($async)? fn ingest_many<D: Into<$crate::jack::NewDocument>>(
                &self,
                documents: impl IntoIterator<Item = D>,
            ) -> Result<$crate::jack::IngestReport, $crate::Error> {
                let batches = $crate::jack::IngestMany::new(self.client.runner(), documents);
                self.client.run(batches) $($await)*
            }

            /// Ingests a file (.pdf, .docx, .txt or .md, up to 100 MB), streamed from disk.
            ///
            /// It happens once, like every create. A file ingest carries no metadata, so it
            /// cannot be tagged and looked up: an answer lost after sending, or a gateway's 502 or
            /// 504 (which may come after jack accepted the file), ends with
            /// [`Error::may_have_succeeded`]($crate::Error::may_have_succeeded) instead of a second
            /// upload. A 429, a 500 or a 503 is retried, as the references say.
            pub $($async)? fn ingest_file(
                &self,
                path: impl AsRef<::std::path::Path>,
            ) -> Result<$crate::jack::FileAccepted, $crate::Error> {
                let source = file_source(path.as_ref()) $($await)* ?;
                let boundary = self.client.runner().boundary();
                self.call(&$crate::jack::IngestFile::new(source).boundary(boundary)) $($await)*
            }

            /// A document.
            pub $($async)? fn get_document(
                &self,
                document_id: impl Into<$crate::jack::DocumentId>,
            ) -> Result<$crate::jack::Document, $crate::Error> {
                self.call(&$crate::jack::GetDocument::new(document_id)) $($await)*
            }

            /// Every document, newest first.
            pub $($async)? fn list_documents(
                &self,
            ) -> Result<Vec<$crate::jack::Document>, $crate::Error> {
                self.call(&$crate::jack::ListDocuments::new()) $($await)*
            }

            /// Deletes a document.
            pub $($async)? fn delete_document(
                &self,
                document_id: impl Into<$crate::jack::DocumentId>,
            ) -> Result<(), $crate::Error> {
                self.call(&$crate::jack::DeleteDocument::new(document_id)) $($await)*
            }

            /// Asks a question over the organisation's documents.
            pub $($async)? fn query(
                &self,
                question: &str,
            ) -> Result<$crate::jack::QueryAnswer, $crate::Error> {
                self.call(&$crate::jack::Query::new(question)) $($await)*
            }

            /// Usage over the last 30 days.
            pub $($async)? fn usage(&self) -> Result<$crate::jack::Usage, $crate::Error> {
                self.call(&$crate::jack::GetUsage::new()) $($await)*
            }

            /// Waits until a document is `ready` (every 5 s, up to 120 s). A `failed` document
            /// ends the wait with [`Error::ResourceFailed`]($crate::Error::ResourceFailed)
            /// carrying its `error_message`.
            pub $($async)? fn wait_for_document(
                &self,
                document_id: impl Into<$crate::jack::DocumentId>,
            ) -> Result<$crate::jack::Document, $crate::Error> {
                let get = $crate::jack::GetDocument::new(document_id);
                self.wait_for(&get, $crate::Waitable::wait_policy(&get)) $($await)*
            }

            /// Waits on a document with another policy.
            pub $($async)? fn wait_for_document_with(
                &self,
                document_id: impl Into<$crate::jack::DocumentId>,
                policy: $crate::WaitPolicy,
            ) -> Result<$crate::jack::Document, $crate::Error> {
                self.wait_for(&$crate::jack::GetDocument::new(document_id), policy) $($await)*
            }
        }
    };

    (@common $Client:ident, $api:expr, $env:literal, $Kind:ident, [$($async:ident)?] [$($await:tt)*]) => {
        impl ClientBuilder<$Client> {
            /// Checks the configuration and builds the client.
            pub fn build(self) -> Result<$Client, $crate::Error> {
                Ok($Client { client: self.client()? })
            }
        }

        impl $Client {
            #[doc = concat!("A client from `", $env, "_API_KEY` (and `", $env, "_BASE_URL`, if set), with default policies.")]
            pub fn from_env() -> Result<$Client, $crate::Error> {
                Self::builder_from_env()?.build()
            }

            #[doc = concat!("A builder from `", $env, "_API_KEY` (and `", $env, "_BASE_URL`, if set).")]
            pub fn builder_from_env() -> Result<ClientBuilder<$Client>, $crate::Error> {
                let config = $crate::ClientConfig::from_env($api, |v| ::std::env::var(v).ok())?;
                Ok(ClientBuilder::new(config))
            }

            /// A builder with `key`: every policy has the references' default and can be
            /// changed there.
            pub fn builder(key: impl Into<$crate::ApiKey>) -> ClientBuilder<$Client> {
                ClientBuilder::new($crate::ClientConfig::new($api, key))
            }

            /// This client with `token` attached: cancelling it stops the waits and retries of
            /// every call made through the returned handle.
            pub fn with_cancel(&self, token: &$crate::CancelToken) -> Self {
                let runner = self.client.runner().with_cancel(token);
                $Client { client: self.client.with_runner(runner) }
            }

            /// This client with a time budget for each call and wait made through the returned
            /// handle (instead of the retry policy's and the wait presets' own).
            pub fn with_timeout(&self, timeout: ::std::time::Duration) -> Self {
                let runner = self.client.runner().with_timeout(timeout);
                $Client { client: self.client.with_runner(runner) }
            }

            /// Runs any typed request of this API, with the plan its endpoint names: retries, and
            /// for a create, a lookup instead of a second create when its answer is lost.
            pub $($async)? fn call<R: $crate::ApiCall>(
                &self,
                request: &R,
            ) -> Result<R::Output, $crate::Error> {
                self.client.run(request.plan(self.client.runner())) $($await)*
            }

            /// The configuration in use (the key never shows in its `Debug`).
            pub fn config(&self) -> &$crate::ClientConfig {
                self.client.runner().config()
            }

            /// Waits on every id of `fleet` under the client's one rate budget, and returns how
            /// each ended (ready, failed, timed out or another error): one id's end never stops
            /// the others. Statuses come from list endpoints whenever that costs fewer requests
            /// than one GET per id ([`rein::fleet`](crate::fleet)).
            ///
            /// Fails only when the client's handle is cancelled; [`wait_each`](Self::wait_each)
            /// hands out each id's end as it comes, and a checkpoint to resume from.
            pub $($async)? fn wait_all<K: $crate::fleet::$Kind>(
                &self,
                fleet: $crate::Fleet<K>,
            ) -> Result<$crate::FleetReport<K>, $crate::Error> {
                let mut ends = self.wait_each(fleet);
                let mut report = $crate::FleetReport::default();
                while let Some(finished) = ends.next() $($await)* {
                    report.finished.push(finished?);
                }
                Ok(report)
            }

            /// Waits on every id of `fleet`, handing out each id's end as it comes: a sweep's
            /// requests are sent when the next end is asked for. Between two ends,
            /// `.machine().map(FleetWait::checkpoint)` is the [`Fleet`]($crate::Fleet) of the ids
            /// still to come, to resume from after a restart.
            pub fn wait_each<K: $crate::fleet::$Kind>(
                &self,
                fleet: $crate::Fleet<K>,
            ) -> Items<$crate::FleetWait<K>> {
                self.client.items(self.client.runner().fleet(fleet))
            }

            $($async)? fn wait_for<R>(
                &self,
                request: &R,
                policy: $crate::WaitPolicy,
            ) -> Result<R::Output, $crate::Error>
            where
                R: $crate::ApiCall,
                R::Output: $crate::Pollable + 'static,
            {
                self.client.run(self.client.runner().wait(request, policy)) $($await)*
            }
        }
    };
}

/// A client's glue, for an adapter: the `Client` its `Jockey` and `Jack` hold (a [`Runner`] and
/// the IO), its `ClientBuilder`, and how the client runs a machine with its driver. `Transport`,
/// `Sleep` and `Clock` name the adapter's transport trait, sleeper trait and default clock (which
/// is also the default sleeper); the adapter provides `Items::new(client, run, body)`,
/// `Client::drive(machine, &mut body)` and `default_transport(&ClientConfig)`.
///
/// [`Runner`]: crate::Runner
#[doc(hidden)]
#[macro_export]
macro_rules! __client_glue {
    (
        [$($async:ident)?] [$($await:tt)*]
        transport = $Transport:ident, sleep = $Sleep:ident, clock = $Clock:ident,
        shared = $Shared:ident
    ) => {
        /// What a client's handles share (the runner and the IO), and this handle's options (in
        /// the runner: a cancel token, a time budget).
        #[derive(Clone)]
        pub(crate) struct Client {
            runner: $crate::Runner,
            pub(crate) io: ::std::sync::Arc<Io>,
        }

        /// The IO a client runs its machines with.
        pub(crate) struct Io {
            pub(crate) transport: ::std::sync::Arc<dyn $Transport>,
            pub(crate) clock: ::std::sync::Arc<dyn $crate::Clock>,
            pub(crate) sleeper: ::std::sync::Arc<dyn $Sleep>,
            /// A rate budget kept outside the process, asked instead of the runner's limiter.
            pub(crate) shared: Option<::std::sync::Arc<dyn $crate::$Shared>>,
        }

        impl ::std::fmt::Debug for Client {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("Client").field("runner", &self.runner).finish_non_exhaustive()
            }
        }

        impl Client {
            pub(crate) fn runner(&self) -> &$crate::Runner {
                &self.runner
            }

            fn with_runner(&self, runner: $crate::Runner) -> Client {
                Client { runner, io: ::std::sync::Arc::clone(&self.io) }
            }

            $crate::__client_glue!(@run [$($async)?]);

            /// A machine of items, run as its items are taken.
            fn items<M: $crate::Machine>(&self, machine: M) -> Items<M> {
                Items::new(self.clone(), self.runner.run(machine), None)
            }

            /// Opens a streamed response; its events are read as they are taken.
            $($async)? fn stream(
                &self,
                open: Result<$crate::jockey::OpenResponse, $crate::Error>,
            ) -> Result<Items<$crate::jockey::ResponseEvents>, $crate::Error> {
                let mut body = None;
                let events = self.drive(self.runner.run(open?), &mut body) $($await)* .into_output()?;
                Ok(Items::new(self.clone(), self.runner.run(events), body))
            }
        }

        /// Builds a client: every policy has the references' default and can be changed here.
        pub struct ClientBuilder<C> {
            settings: $crate::Settings,
            transport: Option<::std::sync::Arc<dyn $Transport>>,
            clock: ::std::sync::Arc<dyn $crate::Clock>,
            sleeper: ::std::sync::Arc<dyn $Sleep>,
            shared: Option<::std::sync::Arc<dyn $crate::$Shared>>,
            client: ::std::marker::PhantomData<fn() -> C>,
        }

        impl<C> ::std::fmt::Debug for ClientBuilder<C> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("ClientBuilder")
                    .field("settings", &self.settings)
                    .finish_non_exhaustive()
            }
        }

        impl<C> ClientBuilder<C> {
            fn new(config: $crate::ClientConfig) -> Self {
                ClientBuilder {
                    settings: $crate::Settings::new(config),
                    transport: None,
                    clock: ::std::sync::Arc::new($Clock),
                    sleeper: ::std::sync::Arc::new($Clock),
                    shared: None,
                    client: ::std::marker::PhantomData,
                }
            }

            $crate::__client_builder_setters!();

            /// Another transport (a test double, a proxy-aware client).
            pub fn transport(mut self, transport: impl $Transport + 'static) -> Self {
                self.transport = Some(::std::sync::Arc::new(transport));
                self
            }

            #[doc = concat!("Where the client reads the time ([`", stringify!($Clock), "`] by default; a")]
            /// [`ManualClock`](rein_core::ManualClock) in tests, with it as the sleeper too, runs
            /// hours of retries and polls in no time).
            pub fn clock(mut self, clock: impl $crate::Clock + 'static) -> Self {
                self.clock = ::std::sync::Arc::new(clock);
                self
            }

            #[doc = concat!("How the client sleeps between retries and polls ([`", stringify!($Clock), "`] by default).")]
            pub fn sleeper(mut self, sleeper: impl $Sleep + 'static) -> Self {
                self.sleeper = ::std::sync::Arc::new(sleeper);
                self
            }

            /// Draws every request from a rate budget shared with other processes and machines
            /// (`rein_redis`'s, kept in Redis) instead of this client's own window: the budget's
            /// windows and its 429 pauses hold for all of them. Replaces
            /// [`limiter`](Self::limiter) and [`rate_limit`](Self::rate_limit).
            pub fn shared_limiter(mut self, limiter: impl $crate::$Shared + 'static) -> Self {
                self.shared = Some(::std::sync::Arc::new(limiter));
                self
            }

            /// Virtual time, for tests: `clock` is the client's clock and its sleeper, so every
            /// wait (a backoff, a `Retry-After`, a poll interval) moves it on at once instead of
            /// sleeping.
            pub fn manual_clock(self, clock: $crate::ManualClock) -> Self {
                self.clock(clock.clone()).sleeper(clock)
            }

            fn client(self) -> Result<Client, $crate::Error> {
                use ::std::hash::{BuildHasher, Hasher};
                let entropy = ::std::collections::hash_map::RandomState::new().build_hasher().finish();
                let scale = self.settings.config.time_scale;
                let runner = self.settings.runner(entropy)?;
                let transport = match self.transport {
                    Some(transport) => transport,
                    None => default_transport(runner.config())?,
                };
                // The whole policy runs on the server's time: a clock as fast as it.
                let clock: ::std::sync::Arc<dyn $crate::Clock> = if scale == 1.0 {
                    self.clock
                } else {
                    ::std::sync::Arc::new($crate::ScaledClock::new(self.clock, scale))
                };
                let io = Io { transport, clock, sleeper: self.sleeper, shared: self.shared };
                Ok(Client { runner, io: ::std::sync::Arc::new(io) })
            }
        }
    };

    // Runs a machine to its end. An invalid request fails before anything is sent.
    (@run []) => {
        fn run<M>(&self, machine: Result<M, $crate::Error>) -> Result<M::Output, $crate::Error>
        where
            M: $crate::Machine<Item = ::std::convert::Infallible>,
        {
            let run = self.runner.run(machine?);
            let span = run.span().clone();
            span.in_scope(|| self.drive(run, &mut None)).into_output()
        }
    };
    // The same, as a future that holds the machine boxed (in its `Run`), never the machine
    // itself: every await of the caller moves the future, so its size is paid per call.
    (@run [async]) => {
        fn run<M>(
            &self,
            machine: Result<M, $crate::Error>,
        ) -> impl ::std::future::Future<Output = Result<M::Output, $crate::Error>> + '_
        where
            M: $crate::Machine<Item = ::std::convert::Infallible> + 'static,
        {
            let run = machine.map(|machine| self.runner.run(machine));
            async move {
                let run = run?;
                let span = run.span().clone();
                span.instrument(self.drive(run, &mut None)).await.into_output()
            }
        }
    };
}
