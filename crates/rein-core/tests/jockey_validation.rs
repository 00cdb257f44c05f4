//! Pre-flight validation: each rule refuses with the field it names and the references' fix,
//! and nothing is rendered.

mod jockey_support;

use jockey_support::target;
use rein_core::hint::rows;
use rein_core::jockey::assets::*;
use rein_core::jockey::ingestion::*;
use rein_core::jockey::items::*;
use rein_core::jockey::responses::*;
use rein_core::jockey::stores::*;
use rein_core::jockey::{
    metadata, Metadata, MetadataValue, EMPTY_ID_HINT, METADATA_HINT, PAGE_LIMIT_HINT,
};
use rein_core::{
    Api, ApiCall, Call, Error, FileSource, Hint, RetryPolicy, Target, ValidationError,
};
use serde_json::json;

/// The refusal of `call`: the same from `validate`, `to_request` and `Call::typed`.
fn refused<C: ApiCall>(call: &C) -> ValidationError {
    let from_validate = call.validate().expect_err("refused");
    match call.to_request(&target()) {
        Err(Error::Invalid(e)) => assert_eq!(*e, from_validate),
        other => panic!("rendered anyway: {other:?}"),
    }
    match Call::typed(&target(), call, RetryPolicy::for_api(Api::Jockey)) {
        Err(Error::Invalid(e)) => assert_eq!(*e, from_validate),
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("a call was made"),
    }
    from_validate
}

fn assert_refused<C: ApiCall>(call: &C, field: &str, hint: Hint) {
    let e = refused(call);
    assert_eq!((e.field.as_str(), e.hint), (field, hint.pre_flight()), "{e}");
    assert_eq!(e.others, [], "one problem only: {e}");
}

fn accepted<C: ApiCall>(call: &C) {
    call.to_request(&target()).unwrap_or_else(|e| panic!("refused: {e}"));
}

#[test]
fn a_direct_upload_over_200_mb_is_refused_with_the_url_fix() {
    let big = CreateAsset::direct(FileSource::new("/videos/full-game.mp4", 300_000_000));
    let e = refused(&big);
    assert_eq!(e.field, "file");
    assert_eq!(e.hint, rows::ASSET_FILE_TOO_LARGE);
    assert_eq!(e.hint.fix, "Use URL upload method instead");
    accepted(&CreateAsset::direct(FileSource::new("/videos/clip.mp4", 200 * 1024 * 1024)));
    // The same file by URL is fine: the URL limit is 4 GB and the server fetches it.
    accepted(&CreateAsset::url("https://cdn.example.com/full-game.mp4"));
}

#[test]
fn a_url_upload_needs_a_usable_url() {
    for url in [
        "",
        "   ",
        "not a url",
        "ftp://cdn.example.com/a.mp4",
        "https://",
        "https://exa mple.com/a.mp4",
    ] {
        // Only the URL's shape is checked here: the references' row ("URL not accessible") is
        // the server's answer after trying it, so the refusal has its own hint.
        assert_refused(&CreateAsset::url(url), "url", URL_HINT);
    }
    accepted(&CreateAsset::url("http://media.example.org:8080/vod/master.m3u8?sig=abc"));
}

#[test]
fn a_bad_multipart_boundary_is_refused() {
    let e = refused(&CreateAsset::url("https://a.example/x.mp4").boundary("has space"));
    assert_eq!(e.field, "boundary");
    let e = refused(&CreateAsset::url("https://a.example/x.mp4").boundary(""));
    assert_eq!(e.field, "boundary");
}

#[test]
fn a_store_needs_a_name() {
    for name in ["", "  \t "] {
        assert_refused(&CreateKnowledgeStore::new(name), "name", rows::STORE_NAME_REQUIRED);
        assert_refused(
            &UpdateKnowledgeStore::new("ks_1").name(name),
            "name",
            rows::STORE_NAME_REQUIRED,
        );
    }
    assert_eq!(rows::STORE_NAME_REQUIRED.fix, "Add a name");
}

#[test]
fn an_ingestion_config_must_follow_jockeys_schema_rules() {
    let store = |schema| {
        CreateKnowledgeStore::new("s").ingestion_config(IngestionConfig::json_schema(schema))
    };
    let at = |rest: &str| format!("ingestion_config.enrichment_config.json_schema{rest}");
    // Schemas that are not valid JSON Schema get the references' row; valid JSON Schema that
    // Jockey does not accept gets a hint that says so.
    let cases = [
        (json!("object"), at(""), SCHEMA_ROOT_HINT),
        (
            json!({"type": "array", "items": {"type": "string"}, "properties": {}}),
            at(".type"),
            SCHEMA_ROOT_HINT,
        ),
        (json!({"type": "object"}), at(".properties"), SCHEMA_ROOT_HINT),
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}}),
            at(".$schema"),
            SCHEMA_DRAFT_HINT,
        ),
        (
            json!({"type": "object", "properties": {"score": {"type": "string"}}}),
            at(".properties.score.description"),
            SCHEMA_DESCRIPTION_HINT,
        ),
        (
            json!({"type": "object", "properties": {"score": {"type": "string", "description": "  "}}}),
            at(".properties.score.description"),
            SCHEMA_DESCRIPTION_HINT,
        ),
        (
            json!({"type": "object", "properties": {"p": {"description": "d", "$ref": "#/$defs/p"}}}),
            at(".properties.p.$ref"),
            SCHEMA_REFERENCE_HINT,
        ),
        (
            json!({"type": "object", "properties": {"p": {"description": "d", "anyOf": [{"type": "string"}, {"type": "integer"}]}}}),
            at(".properties.p.anyOf"),
            SCHEMA_KEYWORD_HINT,
        ),
        (
            json!({"type": "object", "properties": {"p": {"description": "d", "oneOf": [{"type": "string"}]}}}),
            at(".properties.p.oneOf"),
            SCHEMA_KEYWORD_HINT,
        ),
        (
            json!({"type": "object", "properties": {"p": {"type": "string", "description": "d", "pattern": "^[A-Z]+$"}}}),
            at(".properties.p.pattern"),
            SCHEMA_KEYWORD_HINT,
        ),
        (
            json!({"type": "object", "properties": {"p": {"type": "string", "description": "d", "default": "x"}}}),
            at(".properties.p.default"),
            SCHEMA_KEYWORD_HINT,
        ),
        (
            json!({"type": "object", "anyOf": [], "properties": {}}),
            at(".anyOf"),
            SCHEMA_KEYWORD_HINT,
        ),
        (
            json!({"type": "object", "properties": {"o": {"type": "object", "description": "d",
            "properties": {"inner": {"type": "integer"}}}}}),
            at(".properties.o.properties.inner.description"),
            SCHEMA_DESCRIPTION_HINT,
        ),
        (
            json!({"type": "object", "properties": {"l": {"type": "array", "description": "d",
            "items": {"type": "string", "default": ""}}}}),
            at(".properties.l.items.default"),
            SCHEMA_KEYWORD_HINT,
        ),
        (
            json!({"type": "object", "properties": {"n": {"type": ["string", "null"], "description": "d"}}}),
            at(".properties.n.type"),
            SCHEMA_NULLABLE_HINT,
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}, "properties": {}}),
            at(".additionalProperties"),
            SCHEMA_ADDITIONAL_PROPERTIES_HINT,
        ),
        (
            json!({"type": "object", "properties": {"p": {"type": 5, "description": "d"}}}),
            at(".properties.p.type"),
            rows::STORE_INVALID_SCHEMA,
        ),
        (
            json!({"type": "object", "properties": {"p": 5}}),
            at(".properties.p"),
            rows::STORE_INVALID_SCHEMA,
        ),
    ];
    for (schema, field, hint) in cases {
        assert_refused(&store(schema), &field, hint);
    }
    assert_eq!(rows::STORE_INVALID_SCHEMA.fix, "Validate against JSON Schema draft 2020-12");
    accepted(&store(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"score": {"type": "string", "description": "The score shown on screen"}}
    })));
    assert_refused(
        &CreateKnowledgeStore::new("s").ingestion_config(IngestionConfig::description(" ")),
        "ingestion_config.enrichment_config.description",
        EMPTY_DESCRIPTION_HINT,
    );
}

#[test]
fn page_sizes_stay_within_1_to_50() {
    for n in [0, 51, u32::MAX] {
        assert_refused(&ListAssets::new().page_limit(n), "page_limit", PAGE_LIMIT_HINT);
        assert_refused(&ListKnowledgeStores::new().page_limit(n), "page_limit", PAGE_LIMIT_HINT);
        assert_refused(&ListItems::new("ks_1").page_limit(n), "page_limit", PAGE_LIMIT_HINT);
        assert_refused(
            &SearchKnowledgeStore::new("ks_1", "q").page_size(n),
            "page_size",
            PAGE_LIMIT_HINT,
        );
    }
    for n in [1, 50] {
        accepted(&ListItems::new("ks_1").page_limit(n));
        accepted(&SearchKnowledgeStore::new("ks_1", "q").page_size(n));
    }
    assert_eq!(refused(&ListItems::new("ks_1").page(0)).field, "page");
}

#[test]
fn a_search_needs_text_and_a_real_token() {
    assert_refused(&SearchKnowledgeStore::new("ks_1", " "), "query.text", EMPTY_QUERY_HINT);
    assert_refused(
        &SearchKnowledgeStore::new("ks_1", "q").page_token(""),
        "page_token",
        EMPTY_PAGE_TOKEN_HINT,
    );
}

#[test]
fn a_response_needs_exactly_one_knowledge_store_tool() {
    let ask = || CreateResponse::ask("ks_1", "q");
    let tools_cases = [
        vec![],
        vec![Tool::knowledge_store("ks_1"), Tool::knowledge_store("ks_2")],
        vec![Tool { kind: ToolType::Other("web_search".into()), knowledge_store_id: None }],
        vec![Tool { kind: ToolType::KnowledgeStore, knowledge_store_id: None }],
        vec![Tool::knowledge_store("")],
        vec![
            Tool::knowledge_store("ks_1"),
            Tool { kind: ToolType::Other("x".into()), knowledge_store_id: None },
        ],
    ];
    for tools in tools_cases {
        // The references' row is about a missing tools array; other wrong tools get its fix with
        // a cause of their own.
        let hint =
            if tools.is_empty() { rows::RESPONSE_TOOLS_REQUIRED } else { ONE_STORE_TOOL_HINT };
        assert_refused(&ask().tools(tools.clone()), "tools", hint);
        assert_refused(
            &ask().tools(tools).shape(ResponsesShape::TopLevel),
            "knowledge_store_id",
            STORE_ID_REQUIRED_HINT,
        );
    }
    assert_eq!(rows::RESPONSE_TOOLS_REQUIRED.fix, "Add exactly one knowledge_store tool");
    assert_eq!(ONE_STORE_TOOL_HINT.fix, rows::RESPONSE_TOOLS_REQUIRED.fix);
}

#[test]
fn a_response_needs_input_of_1_to_10000_characters() {
    assert_refused(&CreateResponse::new("ks_1"), "input", rows::RESPONSE_INPUT_REQUIRED);
    assert_eq!(rows::RESPONSE_INPUT_REQUIRED.fix, "Add at least one message");
    assert_refused(&CreateResponse::ask("ks_1", ""), "input[0].content", CONTENT_LENGTH_HINT);
    assert_refused(
        &CreateResponse::ask("ks_1", "ok").message("x".repeat(10_001)),
        "input[1].content",
        CONTENT_LENGTH_HINT,
    );
    // Characters, not bytes: 10,000 two-byte characters are fine.
    accepted(&CreateResponse::ask("ks_1", "é".repeat(10_000)));
    accepted(&CreateResponse::ask("ks_1", "x"));
}

#[test]
fn an_empty_session_id_is_refused() {
    for session in ["", "   "] {
        assert_refused(
            &CreateResponse::ask("ks_1", "q").session_id(session),
            "session_id",
            rows::RESPONSE_INVALID_SESSION,
        );
    }
    assert_eq!(rows::RESPONSE_INVALID_SESSION.fix, "Start a new session (omit session_id)");
}

#[test]
fn a_json_schema_answer_format_needs_a_name_and_an_object() {
    let format = |name: &str, schema| TextFormat::JsonSchema {
        name: name.into(),
        schema,
        description: None,
        strict: None,
    };
    assert_refused(
        &CreateResponse::ask("ks_1", "q").text_format(format("", json!({}))),
        "text.format.name",
        TEXT_FORMAT_HINT,
    );
    assert_refused(
        &CreateResponse::ask("ks_1", "q").text_format(format("n", json!([]))),
        "text.format.schema",
        TEXT_FORMAT_HINT,
    );
    assert_refused(
        &CreateResponse::ask("ks_1", "q").selection(SelectionKind::Item, ""),
        "selections[0].id",
        EMPTY_ID_HINT,
    );
}

fn pairs(n: usize) -> Metadata {
    (0..n).map(|i| (format!("k{i}"), MetadataValue::from("v"))).collect()
}

#[test]
fn metadata_stays_within_the_documented_limits() {
    let store = |m| CreateKnowledgeStore::new("s").metadata(m);
    accepted(&store(pairs(10)));
    assert_refused(&store(pairs(11)), "metadata", METADATA_HINT);
    assert_refused(
        &store(metadata([("k".repeat(129), MetadataValue::from("v"))])),
        &format!("metadata.{}", "k".repeat(129)),
        METADATA_HINT,
    );
    assert_refused(
        &store(metadata([("k", MetadataValue::from("v".repeat(2049)))])),
        "metadata.k",
        METADATA_HINT,
    );
    accepted(&store(metadata([("k", MetadataValue::from("v".repeat(2048)))])));
    assert_refused(&store(metadata([("k", MetadataValue::Null)])), "metadata.k", METADATA_HINT);
    assert_refused(
        &store(metadata([("k", MetadataValue::Other(json!({"nested": 1})))])),
        "metadata.k",
        METADATA_HINT,
    );
    assert_refused(
        &UpdateKnowledgeStore::new("ks_1").metadata(pairs(11)),
        "metadata",
        METADATA_HINT,
    );

    let item = |m| AddItem::new("ks_1", "a1").metadata(m);
    accepted(&item(pairs(50)));
    assert_refused(&item(pairs(51)), "metadata", METADATA_HINT);
    assert_refused(
        &item(metadata([("k", MetadataValue::from("v".repeat(8193)))])),
        "metadata.k",
        METADATA_HINT,
    );
    accepted(&item(metadata([("k", MetadataValue::from("v".repeat(8192)))])));

    // Asset user metadata: null deletes a key in a merge; non-finite numbers cannot be JSON.
    accepted(&MergeAssetMetadata::new("a1", metadata([("k", MetadataValue::Null)])));
    assert_refused(
        &MergeAssetMetadata::new("a1", metadata([("k", MetadataValue::from(f64::NAN))])),
        "user_metadata.k",
        METADATA_HINT,
    );
    assert_refused(
        &ReplaceAssetMetadata::new("a1", metadata([("k", MetadataValue::Other(json!([1, "x"])))])),
        "user_metadata.k",
        METADATA_HINT,
    );
    assert_refused(
        &CreateAsset::url("https://a.example/x.mp4")
            .user_metadata(metadata([("k", MetadataValue::from(f64::INFINITY))])),
        "user_metadata.k",
        METADATA_HINT,
    );
}

#[test]
fn empty_ids_are_refused_by_name() {
    assert_refused(&GetAsset::new(""), "asset_id", EMPTY_ID_HINT);
    assert_refused(&DeleteAsset::new(""), "asset_id", EMPTY_ID_HINT);
    assert_refused(&ReplaceAssetMetadata::new("", Metadata::new()), "asset_id", EMPTY_ID_HINT);
    assert_refused(&MergeAssetMetadata::new("", Metadata::new()), "asset_id", EMPTY_ID_HINT);
    assert_refused(&DeleteAssetMetadata::new(""), "asset_id", EMPTY_ID_HINT);
    assert_refused(&ListAssets::new().asset_ids([""]), "asset_ids[0]", EMPTY_ID_HINT);
    assert_refused(&GetKnowledgeStore::new(""), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&UpdateKnowledgeStore::new(""), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&DeleteKnowledgeStore::new(""), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&SearchKnowledgeStore::new("", "q"), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&AddItem::new("", "a1"), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&AddItem::new("ks_1", ""), "asset_id", EMPTY_ID_HINT);
    assert_refused(&ListItems::new(""), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&GetItem::new("ks_1", ""), "item_id", EMPTY_ID_HINT);
    assert_refused(&GetItem::new("", "ksi_1"), "knowledge_store_id", EMPTY_ID_HINT);
    assert_refused(&DeleteItem::new("ks_1", ""), "item_id", EMPTY_ID_HINT);
}

#[test]
fn a_jockey_request_is_not_sent_to_jack() {
    let jack = Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_k").expect("target");
    let err = GetAsset::new("a1").to_request(&jack).expect_err("refused");
    assert!(matches!(err, Error::Invalid(ref e) if e.field == "target"), "{err}");
}

/// Found by fuzzing: a file part's content type went into the form unchecked, so a CR LF in it
/// added a header line to the part.
#[test]
fn a_file_content_type_with_control_characters_is_refused() {
    let upload = CreateAsset::direct(FileSource::new("/videos/clip.mp4", 10))
        .file_content_type("video/mp4\r\nx-injected: 1");
    let e = refused(&upload);
    assert_eq!(e.field, "file_content_type", "{e}");
    accepted(
        &CreateAsset::direct(FileSource::new("/videos/clip.mp4", 10))
            .file_content_type("video/mp4"),
    );
}

/// Found by fuzzing: a text field (the `filename`) holding the form's boundary ended the form
/// early, so the server would read fields the caller never meant to send.
#[test]
fn a_text_field_that_holds_the_boundary_is_refused() {
    let early_end = format!("--{DEFAULT_BOUNDARY}--");
    let upload = CreateAsset::url("https://cdn.example.com/a.mp4").filename(early_end);
    let e = refused(&upload);
    assert_eq!(e.field, "boundary", "{e}");
    // Another boundary makes the same name harmless.
    let renamed = CreateAsset::url("https://cdn.example.com/a.mp4")
        .filename(format!("--{DEFAULT_BOUNDARY}--"))
        .boundary("another-boundary");
    accepted(&renamed);
}
