//! Knowledge stores, their items (`queued` -> `pending` -> `processing` -> `ready` | `failed`
//! in the background) and search with token pages.

use http::StatusCode;
use rein_core::{Moment, Now};
use serde_json::{json, Map, Value};

use super::{check_metadata, json_object, page, paging, sorting, JockeyError, Result, State};
use crate::handler::{Ctx, Outcome};
use crate::lifecycle::{Outcome as Ending, Timeline};
use crate::wire::{self, hex_id, timestamp};

/// The largest `page_size` of a search.
pub const MAX_SEARCH_PAGE_SIZE: usize = 50;

/// Item statuses, in the order an item goes through them.
pub const ITEM_STATUSES: [&str; 5] = ["queued", "pending", "processing", "ready", "failed"];

/// A knowledge store.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    id: String,
    seq: u64,
    name: String,
    description: Option<String>,
    metadata: Map<String, Value>,
    ingestion_config: Option<Value>,
    created: Now,
    updated: Now,
}

/// A knowledge store item.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    id: String,
    seq: u64,
    pub(crate) store_id: String,
    asset_id: String,
    pub(crate) asset_type: &'static str,
    metadata: Map<String, Value>,
    system_metadata: Map<String, Value>,
    /// What indexing reads from the file, added to `system_metadata` once the item is ready.
    indexed_metadata: Map<String, Value>,
    pub(crate) timeline: Timeline,
}

/// A search page token: the rest of a result list, valid for a while.
#[derive(Clone, Debug)]
pub(crate) struct PageToken {
    store_id: String,
    hits: Vec<Value>,
    offset: usize,
    options: Value,
    issued: Moment,
}

impl Store {
    fn to_json(&self, item_count: usize) -> Value {
        let mut m = Map::new();
        m.insert("_id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(c) = &self.ingestion_config {
            m.insert("ingestion_config".into(), c.clone());
        }
        m.insert("item_count".into(), json!(item_count));
        m.insert("created_at".into(), json!(timestamp(self.created.wall)));
        m.insert("updated_at".into(), json!(timestamp(self.updated.wall)));
        m.insert("metadata".into(), Value::Object(self.metadata.clone()));
        Value::Object(m)
    }
}

impl Item {
    pub(crate) fn status(&self, now: Now) -> &'static str {
        self.timeline.status(now.moment)
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn asset_id(&self) -> &str {
        &self.asset_id
    }

    fn to_json(&self, now: Now) -> Value {
        let status = self.status(now);
        let mut system = self.system_metadata.clone();
        if status == "ready" {
            system.extend(self.indexed_metadata.clone());
        }
        json!({
            "_id": self.id,
            "asset_type": self.asset_type,
            "asset_id": self.asset_id,
            "status": status,
            "system_metadata": system,
            "metadata": self.metadata,
            "created_at": timestamp(self.timeline.created().wall),
            "updated_at": timestamp(self.timeline.changed_at(now.moment)),
        })
    }
}

impl State {
    fn store(&self, id: &str) -> Result<&Store> {
        self.stores
            .get(id)
            .ok_or_else(|| JockeyError::not_found(format!("Knowledge store {id} not found")))
    }

    fn item_count(&self, store_id: &str) -> usize {
        self.items.values().filter(|i| i.store_id == store_id).count()
    }

    /// The ready items of a store, oldest first.
    pub(crate) fn ready_items(&self, store_id: &str, now: Now) -> Vec<&Item> {
        let mut items: Vec<&Item> = self
            .items
            .values()
            .filter(|i| i.store_id == store_id && i.status(now) == "ready")
            .collect();
        items.sort_by_key(|i| i.seq);
        items
    }

    pub(crate) fn has_store(&self, id: &str) -> bool {
        self.stores.contains_key(id)
    }
}

/// Keywords Jockey accepts in an enrichment JSON schema; anything else is answered 422.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "title",
    "description",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "format",
];

fn invalid_schema(why: impl std::fmt::Display) -> JockeyError {
    JockeyError::bad_request(format!("Invalid schema in ingestion_config: {why}"))
}

fn unsupported_schema(why: impl std::fmt::Display) -> JockeyError {
    JockeyError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_schema",
        format!("Invalid schema in ingestion_config: {why}"),
    )
}

/// Checks an `ingestion_config`: structure problems are 400, Jockey's schema restrictions
/// (unknown keywords, properties without a description, nullable types) are 422.
fn check_ingestion_config(config: &Value) -> Result<()> {
    let enrichment = config
        .get("enrichment_config")
        .filter(|v| v.is_object())
        .ok_or_else(|| invalid_schema("enrichment_config (an object) is required"))?;
    match enrichment.get("type").and_then(Value::as_str) {
        Some("description") => match enrichment.get("description") {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
            _ => Err(invalid_schema("a description enrichment needs a description")),
        },
        Some("json_schema") => {
            let schema = enrichment
                .get("json_schema")
                .filter(|v| v.is_object())
                .ok_or_else(|| invalid_schema("json_schema (an object) is required"))?;
            if schema.get("type").and_then(Value::as_str) != Some("object") {
                return Err(invalid_schema("the root type must be \"object\""));
            }
            if !schema.get("properties").is_some_and(Value::is_object) {
                return Err(invalid_schema("the root needs properties"));
            }
            check_schema_node(schema, "json_schema", 0)
        }
        _ => {
            Err(invalid_schema("enrichment_config.type must be \"json_schema\" or \"description\""))
        }
    }
}

fn check_schema_node(node: &Value, at: &str, depth: usize) -> Result<()> {
    if depth > 32 {
        return Err(unsupported_schema(format!("{at} is nested too deeply")));
    }
    let Value::Object(map) = node else {
        return Err(invalid_schema(format!("{at} must be an object")));
    };
    for (key, value) in map {
        if !SCHEMA_KEYWORDS.contains(&key.as_str()) {
            return Err(unsupported_schema(format!("unsupported keyword {key:?} at {at}")));
        }
        match key.as_str() {
            "type" if !value.is_string() => {
                return Err(unsupported_schema(format!(
                    "{at}.type must be a single type name (nullable types are not supported)"
                )))
            }
            "additionalProperties" if !value.is_boolean() => {
                return Err(unsupported_schema(format!(
                    "{at}.additionalProperties must be true or false"
                )))
            }
            "properties" => {
                let Value::Object(props) = value else {
                    return Err(invalid_schema(format!("{at}.properties must be an object")));
                };
                for (name, prop) in props {
                    let here = format!("{at}.properties.{name}");
                    if !prop.get("description").is_some_and(Value::is_string) {
                        return Err(unsupported_schema(format!("{here} needs a description")));
                    }
                    check_schema_node(prop, &here, depth + 1)?;
                }
            }
            "items" => check_schema_node(value, &format!("{at}.items"), depth + 1)?,
            "prefixItems" => {
                let Value::Array(xs) = value else {
                    return Err(invalid_schema(format!("{at}.prefixItems must be an array")));
                };
                for (i, x) in xs.iter().enumerate() {
                    check_schema_node(x, &format!("{at}.prefixItems[{i}]"), depth + 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JockeyError::bad_request(format!("{key} must be a string"))),
    }
}

pub(super) fn create(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let body = json_object(ctx)?;
    let name = match body.get("name") {
        None | Some(Value::Null) => {
            return Err(JockeyError::bad_request("The 'name' field is required"))
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(JockeyError::bad_request("The 'name' field is required"))
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(JockeyError::bad_request("name must be a string")),
    };
    let description = optional_string(&body, "description")?;
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(v) => check_metadata(v, 10, 2048)?,
    };
    let ingestion_config = match body.get("ingestion_config") {
        None | Some(Value::Null) => None,
        Some(v) => {
            check_ingestion_config(v)?;
            Some(v.clone())
        }
    };
    let store = Store {
        id: format!("ks_{}", hex_id(ctx.rng, 24)),
        seq: state.next_seq(),
        name,
        description,
        metadata,
        ingestion_config,
        created: ctx.now,
        updated: ctx.now,
    };
    let body = store.to_json(0);
    state.stores.insert(store.id.clone(), store);
    Ok(Outcome::wrote(wire::json(StatusCode::CREATED, &body)))
}

pub(super) fn list(state: &mut State, ctx: &mut Ctx<'_>) -> Result<Outcome> {
    let p = paging(&ctx.query)?;
    let (by_updated, ascending) = sorting(&ctx.query)?;
    let mut stores: Vec<&Store> = state.stores.values().collect();
    stores.sort_by_key(|s| (if by_updated { s.updated.moment } else { s.created.moment }, s.seq));
    if !ascending {
        stores.reverse();
    }
    let all = stores.iter().map(|s| s.to_json(state.item_count(&s.id))).collect();
    Ok(Outcome::read(wire::json(StatusCode::OK, &page(all, p))))
}

pub(super) fn retrieve(state: &mut State, _ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    let store = state.store(id)?;
    Ok(Outcome::read(wire::json(StatusCode::OK, &store.to_json(state.item_count(id)))))
}

pub(super) fn update(state: &mut State, ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    state.store(id)?;
    let body = json_object(ctx)?;
    if body.contains_key("ingestion_config") {
        return Err(JockeyError::bad_request(
            "ingestion_config cannot be changed after the store is created",
        ));
    }
    let name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => return Err(JockeyError::bad_request("name must be a non-empty string")),
    };
    let description = optional_string(&body, "description")?;
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => None,
        Some(v) => Some(check_metadata(v, 10, 2048)?),
    };
    let count = state.item_count(id);
    let Some(store) = state.stores.get_mut(id) else {
        return Err(JockeyError::not_found(format!("Knowledge store {id} not found")));
    };
    if let Some(name) = name {
        store.name = name;
    }
    if let Some(d) = description {
        store.description = Some(d);
    }
    if let Some(m) = metadata {
        store.metadata = m;
    }
    store.updated = ctx.now;
    let body = store.to_json(count);
    Ok(Outcome::wrote(wire::json(StatusCode::OK, &body)))
}

pub(super) fn delete(state: &mut State, _ctx: &mut Ctx<'_>, id: &str) -> Result<Outcome> {
    state.store(id)?;
    state.stores.remove(id);
    state.items.retain(|_, i| i.store_id != id);
    state.sessions.retain(|_, s| s != id);
    Ok(Outcome::wrote(wire::empty(StatusCode::OK)))
}

pub(super) fn add_item(state: &mut State, ctx: &mut Ctx<'_>, store_id: &str) -> Result<Outcome> {
    state.store(store_id)?;
    let body = json_object(ctx)?;
    let asset_id = match body.get("asset_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(JockeyError::bad_request("The 'asset_id' field is required"))
        }
        Some(_) => return Err(JockeyError::bad_request("asset_id must be a string")),
    };
    let asked_type = match body.get("asset_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "video" => Some("video"),
        Some(Value::String(s)) if s == "image" => Some("image"),
        Some(_) => {
            return Err(JockeyError::bad_request("asset_type must be \"video\" or \"image\""))
        }
    };
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(v) => check_metadata(v, 50, 8192)?,
    };
    let asset = state
        .assets
        .get(&asset_id)
        .ok_or_else(|| JockeyError::not_found(format!("Asset {asset_id} not found")))?;
    let status = asset.status(ctx.now);
    if status != "ready" {
        return Err(JockeyError::bad_request(format!(
            "Asset {asset_id} is not ready (status: {status}); wait until it is ready before adding it"
        )));
    }
    let asset_type = asked_type.unwrap_or(if asset.kind == "image" { "image" } else { "video" });
    let mut system = Map::new();
    system.insert("asset_type".into(), json!(asset_type));
    if let Some(f) = &asset.filename {
        system.insert("filename".into(), json!(f));
    }
    if let Some(s) = asset.size(ctx.now) {
        system.insert("size".into(), json!(s));
    }
    // The spec's KnowledgeStoreItemSystemMetadata: video items add duration and fps to the
    // width, height and codec_name that image items carry.
    let media = asset.media();
    let mut indexed = Map::new();
    if asset_type == "video" {
        indexed.insert("duration".into(), json!(media.duration));
        indexed.insert("fps".into(), json!(media.fps));
    }
    indexed.insert("width".into(), json!(media.width));
    indexed.insert("height".into(), json!(media.height));
    indexed.insert("codec_name".into(), json!(media.codec));
    let ending = Ending::draw(ctx.rng, ctx.config.failure_rate);
    let item = Item {
        id: format!("ksi_{}", hex_id(ctx.rng, 24)),
        seq: state.next_seq(),
        store_id: store_id.to_owned(),
        asset_id,
        asset_type,
        metadata,
        system_metadata: system,
        indexed_metadata: indexed,
        timeline: Timeline::indexing(ctx.now, ctx.config.timing.item, ending, ctx.rng),
    };
    let body = item.to_json(ctx.now);
    state.items.insert(item.id.clone(), item);
    Ok(Outcome::wrote(wire::json(StatusCode::ACCEPTED, &body)))
}

pub(super) fn list_items(state: &mut State, ctx: &mut Ctx<'_>, store_id: &str) -> Result<Outcome> {
    state.store(store_id)?;
    let p = paging(&ctx.query)?;
    let (by_updated, ascending) = sorting(&ctx.query)?;
    let statuses = ctx.query.all("status");
    for s in &statuses {
        if !ITEM_STATUSES.contains(s) {
            return Err(JockeyError::bad_request(format!(
                "status takes queued, pending, processing, ready or failed, not {s:?}"
            )));
        }
    }
    let now = ctx.now;
    let mut items: Vec<&Item> = state
        .items
        .values()
        .filter(|i| i.store_id == store_id)
        .filter(|i| statuses.is_empty() || statuses.contains(&i.status(now)))
        .collect();
    items.sort_by_key(|i| {
        (
            if by_updated { i.timeline.changed_at(now.moment) } else { i.timeline.created().wall },
            i.seq,
        )
    });
    if !ascending {
        items.reverse();
    }
    let all = items.iter().map(|i| i.to_json(now)).collect();
    Ok(Outcome::read(wire::json(StatusCode::OK, &page(all, p))))
}

fn find_item<'a>(state: &'a State, store_id: &str, item_id: &str) -> Result<&'a Item> {
    state.store(store_id)?;
    state.items.get(item_id).filter(|i| i.store_id == store_id).ok_or_else(|| {
        JockeyError::not_found(format!("Item {item_id} not found in this knowledge store"))
    })
}

pub(super) fn retrieve_item(
    state: &mut State,
    ctx: &mut Ctx<'_>,
    store_id: &str,
    item_id: &str,
) -> Result<Outcome> {
    let item = find_item(state, store_id, item_id)?;
    Ok(Outcome::read(wire::json(StatusCode::OK, &item.to_json(ctx.now))))
}

pub(super) fn delete_item(
    state: &mut State,
    _ctx: &mut Ctx<'_>,
    store_id: &str,
    item_id: &str,
) -> Result<Outcome> {
    find_item(state, store_id, item_id)?;
    state.items.remove(item_id);
    Ok(Outcome::wrote(wire::empty(StatusCode::OK)))
}

fn id_filter(filter: Option<&Value>, key: &str) -> Result<Option<Vec<String>>> {
    let Some(f) = filter.and_then(|f| f.get(key)) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    if let Some(eq) = f.get("eq") {
        out.push(
            eq.as_str()
                .ok_or_else(|| {
                    JockeyError::bad_request(format!("filter.{key}.eq must be a string"))
                })?
                .to_owned(),
        );
    }
    if let Some(list) = f.get("in") {
        let xs = list
            .as_array()
            .ok_or_else(|| JockeyError::bad_request(format!("filter.{key}.in must be an array")))?;
        for x in xs {
            out.push(
                x.as_str()
                    .ok_or_else(|| {
                        JockeyError::bad_request(format!("filter.{key}.in takes strings"))
                    })?
                    .to_owned(),
            );
        }
    }
    Ok(Some(out))
}

pub(super) fn search(state: &mut State, ctx: &mut Ctx<'_>, store_id: &str) -> Result<Outcome> {
    state.store(store_id)?;
    let body = json_object(ctx)?;
    let now = ctx.now;
    let page_size = match body.get("page_size") {
        None | Some(Value::Null) => 10,
        Some(v) => v
            .as_u64()
            .map(|n| n as usize)
            .filter(|n| (1..=MAX_SEARCH_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                JockeyError::bad_request(format!(
                    "page_size must be an integer from 1 to {MAX_SEARCH_PAGE_SIZE}"
                ))
            })?,
    };
    let ttl = ctx.config.page_token_ttl;
    state.tokens.retain(|_, t| now.moment.saturating_since(t.issued) <= ttl * 4);

    let (hits, offset, options) = match body.get("page_token") {
        Some(Value::String(token)) if !token.is_empty() => {
            let Some(t) = state.tokens.get(token) else {
                return Err(JockeyError::bad_request(format!("Invalid page_token {token:?}")));
            };
            if t.store_id != store_id {
                return Err(JockeyError::bad_request(
                    "Invalid page_token: it belongs to another knowledge store",
                ));
            }
            if now.moment.saturating_since(t.issued) > ttl {
                return Err(JockeyError::new(
                    StatusCode::GONE,
                    "page_token_expired",
                    "The page_token has expired; run the search again from its first page",
                ));
            }
            let Some(t) = state.tokens.remove(token) else {
                return Err(JockeyError::bad_request("Invalid page_token"));
            };
            (t.hits, t.offset, t.options)
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            let text = body
                .get("query")
                .and_then(|q| q.get("text"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty());
            if text.is_none() {
                return Err(JockeyError::bad_request(
                    "The 'query' field with a non-empty text is required",
                ));
            }
            let modalities = match body
                .get("search_options")
                .and_then(|o| o.get("video"))
                .and_then(|v| v.get("modalities"))
            {
                None => vec!["visual".to_owned()],
                Some(Value::Array(xs)) if !xs.is_empty() => {
                    let mut out = Vec::new();
                    for x in xs {
                        match x.as_str() {
                            Some(m @ ("visual" | "audio")) => out.push(m.to_owned()),
                            _ => {
                                return Err(JockeyError::bad_request(
                                    "search_options.video.modalities takes visual and audio",
                                ))
                            }
                        }
                    }
                    out
                }
                Some(_) => {
                    return Err(JockeyError::bad_request(
                        "search_options.video.modalities must be a non-empty array",
                    ))
                }
            };
            let filter = body.get("filter");
            let types = id_filter(filter, "asset_type")?;
            let ids = id_filter(filter, "item_id")?;
            let include_metadata =
                body.get("include_metadata").and_then(Value::as_bool).unwrap_or(false);
            let hits = state
                .ready_items(store_id, now)
                .into_iter()
                .filter(|i| types.as_ref().is_none_or(|t| t.iter().any(|t| t == i.asset_type)))
                .filter(|i| ids.as_ref().is_none_or(|t| t.contains(&i.id)))
                .enumerate()
                .map(|(n, i)| {
                    let mut hit = Map::new();
                    hit.insert("asset_type".into(), json!(i.asset_type));
                    hit.insert("rank".into(), json!(n + 1));
                    hit.insert("item_id".into(), json!(i.id));
                    if i.asset_type == "video" {
                        hit.insert(
                            "matches".into(),
                            json!([{"start_sec": 0.0, "end_sec": 10.0, "modalities": modalities}]),
                        );
                    }
                    if include_metadata {
                        // {duration?, width, height, size} (SDK 1.3.6); hits are ready items.
                        let mut system = Map::new();
                        for key in ["duration", "width", "height"] {
                            if let Some(v) = i.indexed_metadata.get(key) {
                                system.insert(key.into(), v.clone());
                            }
                        }
                        if let Some(size) = i.system_metadata.get("size") {
                            system.insert("size".into(), size.clone());
                        }
                        hit.insert(
                            "metadata".into(),
                            json!({"system": system, "user": i.metadata}),
                        );
                    }
                    Value::Object(hit)
                })
                .collect::<Vec<_>>();
            (hits, 0, json!({"video": {"modalities": modalities}}))
        }
        Some(_) => return Err(JockeyError::bad_request("page_token must be a string")),
    };

    let data: Vec<Value> = hits.iter().skip(offset).take(page_size).cloned().collect();
    let next = offset + data.len();
    let mut answer = Map::new();
    answer.insert("data".into(), Value::Array(data));
    if next < hits.len() {
        let token = format!("pt_{}", hex_id(ctx.rng, 24));
        answer.insert("next_page_token".into(), json!(token));
        state.tokens.insert(
            token,
            PageToken {
                store_id: store_id.to_owned(),
                hits,
                offset: next,
                options: options.clone(),
                issued: now.moment,
            },
        );
    }
    answer.insert("effective_search_options".into(), options);
    Ok(Outcome::read(wire::json(StatusCode::OK, &Value::Object(answer))))
}
