//! The two APIs and every operation rein knows, with what the core needs to know about each:
//! its method, its path template, and whether sending it twice is harmless.

use std::fmt;

use http::Method;

/// Which API a request goes to. The two speak different error dialects and rate-limit rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    /// Twelve Labs' Jockey: `https://api.twelvelabs.io/v1.3`, `x-api-key`, errors `{code, message, docs_url}`.
    Jockey,
    /// jack: `https://api.usejack.io/v1`, `Authorization: Bearer`, errors `{detail}`.
    Jack,
}

impl Api {
    /// The production base URL, path prefix included.
    pub const fn default_base_url(self) -> &'static str {
        match self {
            Api::Jockey => "https://api.twelvelabs.io/v1.3",
            Api::Jack => "https://api.usejack.io/v1",
        }
    }

    /// The version prefix every path of this API starts with.
    pub const fn path_prefix(self) -> &'static str {
        match self {
            Api::Jockey => "/v1.3",
            Api::Jack => "/v1",
        }
    }

    /// A short lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            Api::Jockey => "jockey",
            Api::Jack => "jack",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! operations {
    ($( $(#[$doc:meta])* $variant:ident => $api:ident $method:ident $path:literal idempotent: $idem:literal ;)*) => {
        /// Every operation of both APIs that rein models.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Operation {
            $( $(#[$doc])* $variant, )*
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)*];

            /// The API the operation belongs to.
            pub const fn api(self) -> Api {
                match self { $(Operation::$variant => Api::$api,)* }
            }

            /// The HTTP method.
            pub fn method(self) -> Method {
                match self { $(Operation::$variant => Method::$method,)* }
            }

            /// The path template, relative to the API's base URL (`/assets/{asset_id}`).
            pub const fn path_template(self) -> &'static str {
                match self { $(Operation::$variant => $path,)* }
            }

            /// Whether sending the request twice has the effect of sending it once.
            ///
            /// GET, PUT and DELETE are; so are read-only POSTs (jack query, store search).
            /// Creations are not: a retried create after an ambiguous failure can duplicate.
            pub const fn is_idempotent(self) -> bool {
                match self { $(Operation::$variant => $idem,)* }
            }

            /// Whether the request goes to a presigned URL (storage) rather than to the API: its
            /// URL is the whole of its address, and no API key goes with it.
            pub const fn is_presigned(self) -> bool {
                matches!(self, Operation::UploadChunk)
            }

            /// Whether each time the server processes the request is charged for: a Jockey
            /// response, whose answer is generated anew each time. Such a request is sent again
            /// only when the server surely did not process it (no connection, a 429, a 503 that
            /// names a wait), unless [`RetryPolicy::retry_ambiguous`](crate::RetryPolicy) says otherwise.
            pub const fn is_billed(self) -> bool {
                matches!(self, Operation::CreateResponse)
            }
        }
    };
}

operations! {
    /// `POST /assets` (multipart; direct upload or by URL).
    CreateAsset => Jockey POST "/assets" idempotent: false;
    /// `GET /assets`.
    ListAssets => Jockey GET "/assets" idempotent: true;
    /// `GET /assets/{asset_id}`.
    GetAsset => Jockey GET "/assets/{asset_id}" idempotent: true;
    /// `DELETE /assets/{asset_id}`.
    DeleteAsset => Jockey DELETE "/assets/{asset_id}" idempotent: true;
    /// `PUT /assets/{asset_id}/user-metadata`.
    ReplaceAssetMetadata => Jockey PUT "/assets/{asset_id}/user-metadata" idempotent: true;
    /// `PATCH /assets/{asset_id}/user-metadata` (a merge: applying it twice gives the same result).
    MergeAssetMetadata => Jockey PATCH "/assets/{asset_id}/user-metadata" idempotent: true;
    /// `DELETE /assets/{asset_id}/user-metadata`.
    DeleteAssetMetadata => Jockey DELETE "/assets/{asset_id}/user-metadata" idempotent: true;
    /// `POST /assets/multipart-uploads`: opens a multipart upload session.
    CreateMultipartUpload => Jockey POST "/assets/multipart-uploads" idempotent: false;
    /// `GET /assets/multipart-uploads`: the sessions not completed yet.
    ListMultipartUploads => Jockey GET "/assets/multipart-uploads" idempotent: true;
    /// `GET /assets/multipart-uploads/{upload_id}`: a session's status.
    GetMultipartUpload => Jockey GET "/assets/multipart-uploads/{upload_id}" idempotent: true;
    /// `POST /assets/multipart-uploads/{upload_id}`: reports uploaded chunks (a chunk reported
    /// twice is counted once, so a repeat is harmless).
    ReportChunks => Jockey POST "/assets/multipart-uploads/{upload_id}" idempotent: true;
    /// `POST /assets/multipart-uploads/{upload_id}/presigned-urls`: fresh URLs (a repeat only
    /// makes more URLs).
    RequestChunkUrls => Jockey POST "/assets/multipart-uploads/{upload_id}/presigned-urls" idempotent: true;
    /// `PUT` of one chunk to its presigned URL: storage, not the API (no key is sent).
    UploadChunk => Jockey PUT "<presigned chunk URL>" idempotent: true;
    /// `POST /knowledge-stores`.
    CreateKnowledgeStore => Jockey POST "/knowledge-stores" idempotent: false;
    /// `GET /knowledge-stores`.
    ListKnowledgeStores => Jockey GET "/knowledge-stores" idempotent: true;
    /// `GET /knowledge-stores/{knowledge_store_id}`.
    GetKnowledgeStore => Jockey GET "/knowledge-stores/{knowledge_store_id}" idempotent: true;
    /// `PATCH /knowledge-stores/{knowledge_store_id}` (fields replace, so a repeat is harmless).
    UpdateKnowledgeStore => Jockey PATCH "/knowledge-stores/{knowledge_store_id}" idempotent: true;
    /// `DELETE /knowledge-stores/{knowledge_store_id}`.
    DeleteKnowledgeStore => Jockey DELETE "/knowledge-stores/{knowledge_store_id}" idempotent: true;
    /// `POST /knowledge-stores/{knowledge_store_id}/search` (read-only).
    SearchKnowledgeStore => Jockey POST "/knowledge-stores/{knowledge_store_id}/search" idempotent: true;
    /// `POST /knowledge-stores/{knowledge_store_id}/items` (answered 202, queued).
    AddItem => Jockey POST "/knowledge-stores/{knowledge_store_id}/items" idempotent: false;
    /// `GET /knowledge-stores/{knowledge_store_id}/items`.
    ListItems => Jockey GET "/knowledge-stores/{knowledge_store_id}/items" idempotent: true;
    /// `GET /knowledge-stores/{knowledge_store_id}/items/{item_id}`.
    GetItem => Jockey GET "/knowledge-stores/{knowledge_store_id}/items/{item_id}" idempotent: true;
    /// `DELETE /knowledge-stores/{knowledge_store_id}/items/{item_id}`.
    DeleteItem => Jockey DELETE "/knowledge-stores/{knowledge_store_id}/items/{item_id}" idempotent: true;
    /// `POST /responses` (a question answered over a store; opens or continues a session).
    CreateResponse => Jockey POST "/responses" idempotent: false;
    /// `POST /ingest` (JSON batch).
    Ingest => Jack POST "/ingest" idempotent: false;
    /// `POST /ingest/file` (multipart).
    IngestFile => Jack POST "/ingest/file" idempotent: false;
    /// `GET /documents/{document_id}`.
    GetDocument => Jack GET "/documents/{document_id}" idempotent: true;
    /// `GET /documents`.
    ListDocuments => Jack GET "/documents" idempotent: true;
    /// `DELETE /documents/{document_id}`.
    DeleteDocument => Jack DELETE "/documents/{document_id}" idempotent: true;
    /// `POST /query` (read-only).
    Query => Jack POST "/query" idempotent: true;
    /// `GET /usage`.
    Usage => Jack GET "/usage" idempotent: true;
}

impl Operation {
    /// `METHOD /prefix/template`, e.g. `POST /v1.3/assets`: how errors name the endpoint.
    pub fn endpoint(self) -> Endpoint {
        Endpoint(self)
    }
}

/// An operation displayed as `METHOD /prefix/template`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint(pub Operation);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.0;
        if op.is_presigned() {
            return write!(f, "{} {}", op.method(), op.path_template());
        }
        write!(f, "{} {}{}", op.method(), op.api().path_prefix(), op.path_template())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
