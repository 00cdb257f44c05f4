//! The typed id of a jack document.

crate::jockey::ids::id_type! {
    /// A jack document's id (`id` of a document, also read as `_id`; one of an ingest's
    /// `document_ids`; `document_id` in paths).
    DocumentId
}
