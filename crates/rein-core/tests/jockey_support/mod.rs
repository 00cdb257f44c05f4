//! Shared by the Jockey tests: a target, fixtures, canned responses.
#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;

use bytes::Bytes;
use rein_core::{Api, Target};

/// The key every test renders with (always redacted in snapshots).
pub(crate) const KEY: &str = "tlk_test_0123456789abcdef";

/// The multipart boundary of every snapshot.
pub(crate) const BOUNDARY: &str = "rein-test-boundary";

pub(crate) fn target() -> Target {
    Target::new(Api::Jockey, Api::Jockey.default_base_url(), KEY).expect("a valid target")
}

pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jockey")
}

pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub(crate) fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A response with `status` and the bytes of fixture `name`.
pub(crate) fn reply(status: u16, name: &str) -> http::Response<Bytes> {
    reply_bytes(status, fixture_bytes(name), "application/json")
}

pub(crate) fn reply_bytes(
    status: u16,
    body: impl Into<Bytes>,
    content_type: &str,
) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a valid response")
}

/// A rendered request as snapshot text: CR shown as `\r`, so multipart framing stays visible.
pub(crate) fn shown(request: &rein_core::Request) -> String {
    request.render_redacted().replace('\r', "\\r")
}

/// Every Jockey request the tests render, by snapshot name: each endpoint, with its options.
pub(crate) fn every_request() -> Vec<(&'static str, rein_core::Request)> {
    use rein_core::jockey::assets::*;
    use rein_core::jockey::ingestion::IngestionConfig;
    use rein_core::jockey::items::*;
    use rein_core::jockey::multipart::*;
    use rein_core::jockey::responses::*;
    use rein_core::jockey::stores::*;
    use rein_core::jockey::{metadata, MetadataValue, SortBy, SortOption};
    use rein_core::{ApiCall, FileSource};
    use serde_json::json;

    let t = target();
    let asset = "6890a1f2c3d4e5f6a7b8c9d0";
    let store = "ks_019ebcf4-7e08-7201-b69c-69e0c1e6ae56";
    let item = "ksi_019ebd02-91a3-7c44-a1f0-3e5d6c7b8a90";
    let user_metadata = metadata([
        ("category", MetadataValue::from("recentlyAdded")),
        ("batchNumber", 5.into()),
        ("rating", 9.3.into()),
        ("needsReview", true.into()),
    ]);
    let schema = json!({
        "type": "object",
        "properties": {
            "players": {"type": "array", "description": "Names of the players visible in the shot",
                        "items": {"type": "string"}},
            "play_type": {"type": "string", "description": "The kind of play shown",
                          "enum": ["run", "pass", "kick", "turnover", "other"]}
        },
        "required": ["play_type"],
        "additionalProperties": false
    });

    let render = |name: &'static str, r: Result<rein_core::Request, rein_core::Error>| {
        (name, r.unwrap_or_else(|e| panic!("{name}: {e}")))
    };
    vec![
        render(
            "assets_create_direct",
            CreateAsset::direct(FileSource::new(
                "/videos/super-bowl-lviii-sideline.mp4",
                48_213_377,
            ))
            .filename("super-bowl-lviii-sideline.mp4")
            .enable_hls(true)
            .enable_thumbnail(false)
            .user_metadata(user_metadata.clone())
            .file_content_type("video/mp4")
            .boundary(BOUNDARY)
            .to_request(&t),
        ),
        render(
            "assets_create_direct_defaults",
            CreateAsset::direct(FileSource::new("/videos/clip.mov", 1_048_576)).to_request(&t),
        ),
        render(
            "assets_create_url",
            CreateAsset::url("https://cdn.example.com/media/press-conference.mp4")
                .enable_thumbnail(true)
                .boundary(BOUNDARY)
                .to_request(&t),
        ),
        render("assets_get", GetAsset::new(asset).to_request(&t)),
        render("assets_list_defaults", ListAssets::new().to_request(&t)),
        render(
            "assets_list",
            ListAssets::new()
                .page(2)
                .page_limit(50)
                .asset_ids(["6890a1f2c3d4e5f6a7b8c9d0", "6890a20bc3d4e5f6a7b8c9e1"])
                .asset_types([AssetType::Video, AssetType::Image])
                .filename("super bowl")
                .to_request(&t),
        ),
        render("assets_delete", DeleteAsset::new(asset).to_request(&t)),
        render("assets_delete_force", DeleteAsset::new(asset).force(true).to_request(&t)),
        render(
            "assets_metadata_replace",
            ReplaceAssetMetadata::new(asset, user_metadata.clone()).to_request(&t),
        ),
        render(
            "assets_metadata_merge",
            MergeAssetMetadata::new(
                asset,
                metadata([
                    ("rating", MetadataValue::from(9.5)),
                    ("needsReview", MetadataValue::Null),
                    ("tags", vec!["sideline".to_owned(), "fumble".to_owned()].into()),
                ]),
            )
            .to_request(&t),
        ),
        render("assets_metadata_delete", DeleteAssetMetadata::new(asset).to_request(&t)),
        render(
            "stores_create",
            CreateKnowledgeStore::new("Super Bowl LVIII")
                .description("Broadcast footage and sideline photos from the game")
                .metadata(metadata([
                    ("season", MetadataValue::from("2023")),
                    ("league", "NFL".into()),
                ]))
                .ingestion_config(IngestionConfig::json_schema(schema))
                .to_request(&t),
        ),
        render(
            "stores_create_description_enrichment",
            CreateKnowledgeStore::new("Training drills")
                .ingestion_config(IngestionConfig::description(
                    "Identify the drill and the players taking part",
                ))
                .to_request(&t),
        ),
        render("stores_create_minimal", CreateKnowledgeStore::new("Scratch").to_request(&t)),
        render("stores_get", GetKnowledgeStore::new(store).to_request(&t)),
        render(
            "stores_list",
            ListKnowledgeStores::new()
                .page(1)
                .page_limit(20)
                .sort_by(SortBy::UpdatedAt)
                .sort_option(SortOption::Asc)
                .to_request(&t),
        ),
        render(
            "stores_update",
            UpdateKnowledgeStore::new(store)
                .name("Super Bowl LVIII (Chiefs vs 49ers)")
                .metadata(metadata([
                    ("season", MetadataValue::from("2023")),
                    ("league", "NFL".into()),
                    ("venue", "Allegiant Stadium".into()),
                ]))
                .to_request(&t),
        ),
        render("stores_delete", DeleteKnowledgeStore::new(store).to_request(&t)),
        render(
            "stores_search",
            SearchKnowledgeStore::new(store, "coach and player argue on the sideline")
                .filter(SearchFilter {
                    asset_type: Some(EqIn::any_of([ItemAssetType::Video, ItemAssetType::Image])),
                    item_id: None,
                })
                .video_modalities([Modality::Visual, Modality::Audio])
                .group_by(GroupBy::Item)
                .page_size(2)
                .include_metadata(true)
                .to_request(&t),
        ),
        render(
            "stores_search_next_page",
            SearchKnowledgeStore::new(store, "coach and player argue on the sideline")
                .page_size(2)
                .page_token("eyJvZmZzZXQiOjIsInEiOiJzaWRlbGluZSJ9")
                .to_request(&t),
        ),
        render(
            "items_add",
            AddItem::new(store, asset)
                .asset_type(ItemAssetType::Video)
                .metadata(metadata([
                    ("quarter", MetadataValue::from("3")),
                    ("camera", "sideline-2".into()),
                ]))
                .to_request(&t),
        ),
        render("items_get", GetItem::new(store, item).to_request(&t)),
        render(
            "items_list",
            ListItems::new(store)
                .page(1)
                .page_limit(50)
                .sort_by(SortBy::CreatedAt)
                .sort_option(SortOption::Desc)
                .statuses([ItemStatus::Queued, ItemStatus::Pending, ItemStatus::Processing])
                .to_request(&t),
        ),
        render("items_delete", DeleteItem::new(store, item).to_request(&t)),
        render(
            "responses_create_tools",
            CreateResponse::ask(store, "What happened on the sideline after the fumble?")
                .to_request(&t),
        ),
        render(
            "responses_create_top_level",
            CreateResponse::ask(store, "What happened on the sideline after the fumble?")
                .shape(ResponsesShape::TopLevel)
                .to_request(&t),
        ),
        render(
            "responses_create_stream_full",
            CreateResponse::ask(store, "Compare {{sel:0}} with {{sel:1}}: who argues with whom?")
                .shape(ResponsesShape::TopLevel)
                .session_id("sess_019f4f2a-b69b-7a01-9018-cc51681121ea")
                .instructions("Answer in two sentences and cite every claim.")
                .include(Include::IntermediateOutputs)
                .selection(SelectionKind::Item, item)
                .selection(SelectionKind::Collection, "ksic_019ebd20-0000-7000-8000-000000000001")
                .text_format(TextFormat::JsonSchema {
                    name: "sideline_summary".to_owned(),
                    schema: json!({"type": "object", "properties": {"summary": {"type": "string"}},
                                   "required": ["summary"]}),
                    description: Some("A short summary".to_owned()),
                    strict: Some(true),
                })
                .stream(true)
                .to_request(&t),
        ),
        render(
            "multipart_create",
            CreateMultipartUpload::new(
                "super-bowl-lviii-full-game.mp4",
                UploadKind::Video,
                3_221_225_472,
            )
            .enable_hls(true)
            .enable_thumbnail(true)
            .user_metadata(user_metadata.clone())
            .to_request(&t),
        ),
        render("multipart_list", ListMultipartUploads::new().page(2).page_limit(20).to_request(&t)),
        render(
            "multipart_get",
            GetMultipartUpload::new("upl_019ebe00-1111-7222-8333-444455556666")
                .page(1)
                .page_limit(50)
                .to_request(&t),
        ),
        render(
            "multipart_report",
            ReportChunks::new(
                "upl_019ebe00-1111-7222-8333-444455556666",
                vec![
                    CompletedChunk::new(1, 104_857_600, "\"9b2cf535f27731c974343645a3985328\""),
                    CompletedChunk::new(2, 104_857_600, "\"6f5902ac237024bdd0c176cb93063dc4\""),
                ],
            )
            .to_request(&t),
        ),
        render(
            "multipart_urls",
            RequestChunkUrls::new("upl_019ebe00-1111-7222-8333-444455556666", 11, 50)
                .to_request(&t),
        ),
    ]
}
