//! The operations of Jockey's API (`/v1.3`) the emulator does not model: they answer 501 with a
//! Jockey-dialect body (`not_implemented`) rather than a 404 that would claim the path does not
//! exist. One with a published answer the emulator can give is answered: the transcription of
//! an asset, which the emulator never makes (404, as the SDK documents for "no transcription").

use http::{Method, StatusCode};

use super::{JockeyError, Result, State};
use crate::handler::{Ctx, Outcome};

/// Every path and method of the vendor's OpenAPI spec (July 2026) the emulator does not model.
const UNMODELED: &[(&str, &[Method])] = &[
    ("/tasks", &[Method::POST, Method::GET]),
    ("/tasks/{task_id}", &[Method::GET, Method::DELETE]),
    ("/connections:authorize", &[Method::POST]),
    ("/connections", &[Method::GET]),
    ("/connections/{connection_id}", &[Method::GET, Method::DELETE]),
    ("/connections/{connection_id}/picker-token", &[Method::POST]),
    ("/connections/redirect-uris", &[Method::POST, Method::GET]),
    ("/connections/redirect-uris/{redirect_uri_id}", &[Method::DELETE]),
    ("/connections/{connection_id}/imports", &[Method::POST, Method::GET]),
    ("/connections/{connection_id}/imports/{import_id}", &[Method::GET]),
    ("/entity-collections", &[Method::GET, Method::POST]),
    ("/entity-collections/{entity_collection_id}", &[Method::GET, Method::PATCH, Method::DELETE]),
    ("/entity-collections/{entity_collection_id}/entities", &[Method::GET, Method::POST]),
    ("/entity-collections/{entity_collection_id}/entities/bulk", &[Method::POST]),
    (
        "/entity-collections/{entity_collection_id}/entities/{entity_id}",
        &[Method::GET, Method::PATCH, Method::DELETE],
    ),
    (
        "/entity-collections/{entity_collection_id}/entities/{entity_id}/assets",
        &[Method::POST, Method::DELETE],
    ),
    ("/assets/{asset_id}/entities", &[Method::GET]),
    ("/knowledge-stores/{knowledge_store_id}/item-collections", &[Method::POST, Method::GET]),
    (
        "/knowledge-stores/{knowledge_store_id}/item-collections/{collection_id}",
        &[Method::GET, Method::PATCH, Method::DELETE],
    ),
    (
        "/knowledge-stores/{knowledge_store_id}/item-collections/{collection_id}/items",
        &[Method::GET],
    ),
    (
        "/knowledge-stores/{knowledge_store_id}/item-collections/{collection_id}/items/add",
        &[Method::POST],
    ),
    (
        "/knowledge-stores/{knowledge_store_id}/item-collections/{collection_id}/items/remove",
        &[Method::POST],
    ),
    ("/indexes", &[Method::POST, Method::GET]),
    ("/indexes/{index-id}", &[Method::GET, Method::PUT, Method::DELETE]),
    ("/indexes/{index-id}/indexed-assets", &[Method::POST, Method::GET]),
    (
        "/indexes/{index-id}/indexed-assets/{indexed-asset-id}",
        &[Method::GET, Method::DELETE, Method::PATCH],
    ),
    ("/assets/{asset_id}/indexed-assets", &[Method::GET]),
    ("/indexes/{index-id}/videos", &[Method::GET]),
    ("/indexes/{index-id}/videos/{video-id}", &[Method::GET, Method::PATCH, Method::DELETE]),
    ("/search", &[Method::POST]),
    ("/search/{page-token}", &[Method::GET]),
    ("/embed-v2", &[Method::POST]),
    ("/embed-v2/tasks", &[Method::POST, Method::GET]),
    ("/embed-v2/tasks/{task_id}", &[Method::GET]),
    ("/embed/tasks", &[Method::POST, Method::GET]),
    ("/embed/tasks/{task_id}/status", &[Method::GET]),
    ("/embed/tasks/{task_id}", &[Method::GET]),
    ("/embed", &[Method::POST]),
    ("/analyze", &[Method::POST]),
    ("/analyze/tasks", &[Method::POST, Method::GET]),
    ("/analyze/tasks/{task_id}", &[Method::GET, Method::DELETE]),
    ("/analyze/batches", &[Method::POST, Method::GET]),
    ("/analyze/batches/{batch_id}", &[Method::GET, Method::DELETE]),
    ("/analyze/batches/{batch_id}/results", &[Method::GET]),
    ("/analyze/batches/{batch_id}/cancel", &[Method::POST]),
];

/// The spec paths not modelled, with their methods (for tests and docs).
pub fn unmodeled_operations() -> impl Iterator<Item = (&'static str, &'static Method)> {
    UNMODELED.iter().flat_map(|(path, methods)| methods.iter().map(move |m| (*path, m)))
}

/// Whether `template` (segments in braces match any one segment) matches `segments`.
fn matches(template: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    parts.len() == segments.len()
        && parts.iter().zip(segments).all(|(t, s)| t.starts_with('{') || t == s)
}

/// The answer for a path the modelled routes did not take: `None` when the API has no such path.
pub(super) fn answer(
    state: &State,
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Option<Result<Outcome>> {
    if let ["assets", id, "transcription"] = segments {
        if method != Method::GET {
            return Some(Err(not_allowed(method, ctx.path)));
        }
        let message = if state.assets.contains_key(*id) {
            format!("No transcription exists for asset {id}")
        } else {
            format!("Asset {id} not found")
        };
        return Some(Err(JockeyError::not_found(message)));
    }
    let known: Vec<&[Method]> =
        UNMODELED.iter().filter(|(t, _)| matches(t, segments)).map(|(_, m)| *m).collect();
    if known.is_empty() {
        return None;
    }
    if !known.iter().any(|methods| methods.contains(method)) {
        return Some(Err(not_allowed(method, ctx.path)));
    }
    Some(Err(JockeyError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        format!(
            "The emulator does not model {method} /v1.3{}: the real API has this endpoint, but rein-emulator does not emulate it",
            ctx.path
        ),
    )))
}

fn not_allowed(method: &Method, path: &str) -> JockeyError {
    JockeyError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not supported on {path}"),
    )
}
