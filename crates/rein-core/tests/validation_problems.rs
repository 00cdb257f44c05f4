//! A refused request reports every problem it has, at once, and each hint tells the truth: a
//! JSON Schema that is valid but refused by Jockey is not called invalid, and a request that was
//! never sent is not described by an HTTP status.

use proptest::prelude::*;
use rein_core::hint::{self, rows};
use rein_core::jack::{self, Ingest, IngestFile, NewDocument, Query};
use rein_core::jockey::assets::{CreateAsset, ListAssets, URL_HINT};
use rein_core::jockey::ingestion::*;
use rein_core::jockey::items::{AddItem, ListItems};
use rein_core::jockey::responses::*;
use rein_core::jockey::stores::*;
use rein_core::jockey::{metadata, MetadataValue, EMPTY_ID_HINT, METADATA_HINT, PAGE_LIMIT_HINT};
use rein_core::{Api, ApiCall, Error, FileSource, Hint, Operation, Target, ValidationError};
use serde_json::{json, Value};

fn jack_target() -> Target {
    Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_test").expect("a valid target")
}

fn jockey_target() -> Target {
    Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_test").expect("a valid target")
}

/// The refusal of `call`, the same from `validate` and `to_request`.
fn refused(call: &impl ApiCall, target: &Target) -> ValidationError {
    let from_validate = call.validate().expect_err("refused");
    match call.to_request(target) {
        Err(Error::Invalid(e)) => assert_eq!(*e, from_validate),
        other => panic!("expected a validation error, got {other:?}"),
    }
    from_validate
}

fn fields(e: &ValidationError) -> Vec<String> {
    e.clone().into_problems().into_iter().map(|p| p.field).collect()
}

#[test]
fn a_jack_ingest_reports_every_problem() {
    let mut meta = serde_json::Map::new();
    meta.insert("pages".into(), json!(12));
    let ingest = Ingest::new([NewDocument::new("fine"), NewDocument::new("")])
        .document(NewDocument::from_json_metadata("also fine", meta))
        .chunk_size(64);
    let e = refused(&ingest, &jack_target());
    assert_eq!(e.count(), 3, "{e}");
    assert_eq!(fields(&e), ["chunk_size", "documents[1].text", "documents[2].metadata.pages"]);
    // The first problem is still where callers read it.
    assert_eq!((e.field.as_str(), e.hint), ("chunk_size", rows::JACK_422.pre_flight()));
    assert_eq!(e.others[1].hint, rows::JACK_METADATA_STRINGS);
    assert_eq!(
        e.to_string(),
        "invalid request: 3 problems: \
         chunk_size: chunk_size is 64; jack takes 128 to 4096 (fix: Check field types and value ranges); \
         documents[1].text: text must not be empty or only whitespace; jack takes 1 to 10,000 characters \
         (fix: Give every document some text, or leave blank documents out of the ingest); \
         documents[2].metadata.pages: metadata value is a number; jack takes string values only \
         (fix: Convert every metadata value to a string)"
    );
    // The same problems come out of a split ingest, which validates before building batches.
    let split = ingest.into_batches().expect_err("refused");
    assert_eq!(split, e);
}

#[test]
fn a_store_reports_every_problem_of_its_name_and_its_schema() {
    let schema = json!({
        "type": "object",
        "$defs": {"venue": {"type": "string", "description": "Where"}},
        "properties": {
            "team": {"type": "string", "description": "Team code", "pattern": "^[A-Z]+$"},
            "venue": {"$ref": "#/$defs/venue", "description": "Where the match is played"}
        }
    });
    let store =
        CreateKnowledgeStore::new("").ingestion_config(IngestionConfig::json_schema(schema));
    let e = refused(&store, &jockey_target());
    let at = "ingestion_config.enrichment_config.json_schema";
    assert_eq!(
        fields(&e),
        [
            "name".to_owned(),
            format!("{at}.$defs"),
            format!("{at}.properties.team.pattern"),
            format!("{at}.properties.venue.$ref"),
        ]
    );
    assert_eq!(e.hint, rows::STORE_NAME_REQUIRED);
    let problems = e.clone().into_problems();
    let (defs, pattern, reference) = (&problems[1], &problems[2], &problems[3]);
    assert_eq!(pattern.hint, SCHEMA_KEYWORD_HINT);
    for p in [defs, reference] {
        assert_eq!(p.hint, SCHEMA_REFERENCE_HINT);
        // Valid draft 2020-12 that Jockey refuses: said as such, with the way out.
        assert!(p.problem.contains("valid JSON Schema 2020-12"), "{}", p.problem);
        assert!(p.problem.contains("inline the definition"), "{}", p.problem);
        assert!(p.hint.cause.contains("valid JSON Schema 2020-12"), "{:?}", p.hint);
        assert!(p.hint.fix.starts_with("Inline the definition"), "{:?}", p.hint);
        assert_ne!(p.hint.fix, rows::STORE_INVALID_SCHEMA.fix, "it is not invalid JSON Schema");
    }
    assert!(e.to_string().starts_with("invalid request: 4 problems: name: the name is empty"));
}

#[test]
fn json_schema_problems_come_depth_first_with_siblings_in_order() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "string"},
        "b": {"type": "object", "description": "d", "properties": {"c": {"type": "string", "description": "d", "default": ""}}},
        "d": {"type": ["string", "null"], "description": "d"}
    }});
    let paths: Vec<String> =
        check_json_schema(&schema).unwrap_err().into_iter().map(|p| p.path).collect();
    assert_eq!(
        paths,
        ["properties.a.description", "properties.b.properties.c.default", "properties.d.type"]
    );
}

#[test]
fn a_request_with_one_problem_reads_as_before() {
    let e = refused(&CreateKnowledgeStore::new(" "), &jockey_target());
    assert_eq!(e.count(), 1);
    assert_eq!(e.others, []);
    assert_eq!(e.to_string(), "invalid request: name: the name is empty; fix: Add a name");
    assert_eq!(e.clone().into_problems().len(), 1);
    assert_eq!(ValidationError::check(Vec::new()), Ok(()));
}

#[test]
fn a_refusal_before_sending_names_no_http_status() {
    // A status row seen through validation keeps its fix and loses its status.
    let e = refused(&Query::new("q").top_k(0), &jack_target());
    assert_eq!(e.hint, Hint::new("Field validation failed", "Check field types and value ranges"));
    assert_eq!(rows::JACK_422.cause, "Unprocessable Entity — field validation failed");
    let e = ValidationError::new("f", "p", rows::JACK_422);
    assert_eq!(e.hint, rows::JACK_422.pre_flight());
    // A client configuration error is a refusal before sending too.
    let e = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", " ").expect_err("no key");
    assert_no_status(e.hint);
}

/// Every row of the references' tables, decoded errors' and validation's alike.
const ROWS: &[Hint] = &[
    rows::NO_SUCH_ENDPOINT,
    rows::UNREACHABLE,
    rows::ASSET_METHOD_REQUIRED,
    rows::ASSET_FILE_TOO_LARGE,
    rows::ASSET_INVALID_URL,
    rows::STORE_INVALID_SCHEMA,
    rows::STORE_NAME_REQUIRED,
    rows::ITEM_ASSET_NOT_FOUND,
    rows::ITEM_STORE_NOT_FOUND,
    rows::RESPONSE_TOOLS_REQUIRED,
    rows::RESPONSE_INVALID_SESSION,
    rows::RESPONSE_INPUT_REQUIRED,
    rows::JOCKEY_400,
    rows::JOCKEY_401,
    rows::JOCKEY_403,
    rows::JOCKEY_404,
    rows::JOCKEY_429,
    rows::JOCKEY_5XX,
    rows::JOCKEY_ASSET_IN_USE,
    rows::JOCKEY_PAGE_TOKEN_EXPIRED,
    rows::REQUEST_TIMEOUT,
    rows::CONFLICT,
    rows::GONE,
    rows::JOCKEY_415,
    rows::JOCKEY_422,
    rows::JACK_400,
    rows::JACK_401,
    rows::JACK_403,
    rows::JACK_404,
    rows::JACK_413,
    rows::JACK_415,
    rows::JACK_422,
    rows::JACK_429,
    rows::JACK_5XX,
    rows::JACK_EMPTY_DOCUMENTS,
    rows::JACK_METADATA_STRINGS,
];

/// rein's own hints for checks made before sending.
const VALIDATION_HINTS: &[Hint] = &[
    PAGE_LIMIT_HINT,
    EMPTY_ID_HINT,
    METADATA_HINT,
    URL_HINT,
    EMPTY_DESCRIPTION_HINT,
    SCHEMA_ROOT_HINT,
    SCHEMA_DRAFT_HINT,
    SCHEMA_REFERENCE_HINT,
    SCHEMA_NULLABLE_HINT,
    SCHEMA_KEYWORD_HINT,
    SCHEMA_DESCRIPTION_HINT,
    SCHEMA_ADDITIONAL_PROPERTIES_HINT,
    EMPTY_QUERY_HINT,
    EMPTY_PAGE_TOKEN_HINT,
    CONTENT_LENGTH_HINT,
    STORE_ID_REQUIRED_HINT,
    TEXT_FORMAT_HINT,
    ONE_STORE_TOOL_HINT,
    jack::hints::TOO_MANY_DOCUMENTS,
    jack::hints::EMPTY_DOCUMENT_ID,
    jack::hints::INVALID_BOUNDARY,
];

/// The HTTP status `hint`'s cause names, if any: a reason phrase ("Unprocessable Entity", or
/// the references' own "Rate Limited" and "Server Error") or a status code ("422", "5xx").
fn status_named(hint: Hint) -> Option<String> {
    let cause = hint.cause.to_ascii_lowercase();
    let words: Vec<&str> = cause.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let names = |phrase: &str| {
        let phrase: Vec<String> = phrase.split(' ').map(str::to_ascii_lowercase).collect();
        words.windows(phrase.len()).any(|w| w.iter().zip(&phrase).all(|(a, b)| a == b))
    };
    let reasons = (400..600)
        .filter_map(|code| http::StatusCode::from_u16(code).ok()?.canonical_reason())
        .chain(["Rate Limited", "Server Error", "Content Too Large", "Unprocessable Content"]);
    let code = words.iter().find(|w| {
        w.len() == 3
            && (w.starts_with('4') || w.starts_with('5'))
            && w[1..].chars().all(|c| c.is_ascii_digit() || c == 'x')
    });
    reasons.filter(|r| names(r)).map(str::to_owned).chain(code.map(|c| c.to_string())).next()
}

fn assert_no_status(hint: Hint) {
    assert_eq!(status_named(hint), None, "{hint:?} names an HTTP status");
}

#[test]
fn no_hint_shown_before_sending_names_an_http_status() {
    for row in ROWS {
        assert_no_status(row.pre_flight());
        assert_eq!(row.pre_flight().fix, row.fix, "the fix is the row's");
        assert_eq!(ValidationError::new("f", "p", *row).hint, row.pre_flight());
    }
    // Every row decoding can pick, whatever the status, operation or server words.
    let words = [
        "",
        "not found",
        "method",
        "url",
        "too large",
        "schema",
        "name",
        "asset not found",
        "store not found",
        "tool",
        "session",
        "input",
        "must not be empty",
    ];
    let mut decoded = std::collections::HashSet::new();
    for api in [Api::Jockey, Api::Jack] {
        let operations = Operation::ALL.iter().copied().map(Some).chain([None]);
        for op in operations {
            for status in 400..600 {
                decoded.extend(words.iter().filter_map(|w| hint::for_response(api, op, status, w)));
            }
        }
    }
    assert!(decoded.len() > 20, "the sweep reaches the rows: {}", decoded.len());
    for row in decoded {
        assert_no_status(row.pre_flight());
    }
    for hint in VALIDATION_HINTS {
        assert_no_status(*hint);
        assert_eq!(hint.pre_flight(), *hint, "rein's hints need no translation");
    }
    // The check itself sees the statuses the rows name.
    assert_eq!(status_named(rows::JACK_422).as_deref(), Some("Unprocessable Entity"));
    assert_eq!(status_named(rows::JOCKEY_400).as_deref(), Some("Bad Request"));
    assert_eq!(status_named(rows::JOCKEY_429).as_deref(), Some("Rate Limited"));
    assert_eq!(status_named(rows::JACK_5XX).as_deref(), Some("Internal Server Error"));
    assert_eq!(status_named(Hint::new("A 422 answer", "")).as_deref(), Some("422"));
    assert_eq!(status_named(Hint::new("Any 5xx", "")).as_deref(), Some("5xx"));
}

/// Any JSON value, for metadata.
fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,3}".prop_map(Value::String),
        Just(json!(["a"])),
        Just(json!({"k": "v"})),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z ]{1,20}", Just("x".repeat(10_001))]
}

fn document() -> impl Strategy<Value = NewDocument> {
    (text(), prop::collection::btree_map("[a-z]{1,3}", json_value(), 0..3)).prop_map(
        |(text, metadata)| NewDocument::from_json_metadata(text, metadata.into_iter().collect()),
    )
}

fn small_u32() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![Just(None), (0u32..5000).prop_map(Some), any::<u32>().prop_map(Some)]
}

/// A schema with zero or more of the problems Jockey refuses.
fn schema() -> impl Strategy<Value = Value> {
    let property = prop_oneof![
        Just(json!({"type": "string", "description": "d"})),
        Just(json!({"type": "string"})),
        Just(json!({"$ref": "#/$defs/x", "description": "d"})),
        Just(json!({"type": "string", "description": "d", "pattern": "^a$"})),
        Just(json!({"type": ["string", "null"], "description": "d"})),
        Just(json!({"type": 5, "description": "d"})),
        Just(json!(true)),
        Just(json!(7)),
        Just(json!({"type": "object", "description": "d", "additionalProperties": {}})),
    ];
    let root = prop_oneof![
        Just(json!({"type": "object"})),
        Just(json!({"type": "array"})),
        Just(json!({"type": "object", "$schema": "http://json-schema.org/draft-07/schema#"})),
        Just(json!({"type": "object", "$defs": {}})),
    ];
    (root, prop::collection::btree_map("[a-c]", property, 0..4)).prop_map(|(mut root, props)| {
        root["properties"] = Value::Object(props.into_iter().collect());
        root
    })
}

/// Every problem of `e`: none names an HTTP status, and the count is right.
fn check_refusal(e: &ValidationError) -> Result<(), TestCaseError> {
    let problems = e.clone().into_problems();
    prop_assert_eq!(problems.len(), e.count());
    for p in &problems {
        prop_assert_eq!(status_named(p.hint), None, "{:?}", p);
        prop_assert!(!p.field.is_empty());
    }
    if e.count() > 1 {
        let shown = e.to_string();
        let prefix = format!("invalid request: {} problems: ", e.count());
        prop_assert!(shown.starts_with(&prefix), "{}", shown);
    }
    Ok(())
}

proptest! {
    #[test]
    fn an_ingest_reports_each_of_its_problems(
        docs in prop_oneof![
            prop::collection::vec(document(), 0..4),
            prop::collection::vec(document(), 51..=52),
        ],
        chunk_size in small_u32(),
        chunk_overlap in small_u32(),
    ) {
        let size = chunk_size.unwrap_or(jack::DEFAULT_CHUNK_SIZE);
        let overlap = chunk_overlap.unwrap_or(jack::DEFAULT_CHUNK_OVERLAP);
        let (size_ok, overlap_ok) =
            (jack::CHUNK_SIZE.contains(&size), jack::CHUNK_OVERLAP.contains(&overlap));
        let expected = usize::from(docs.is_empty())
            + usize::from(docs.len() > jack::MAX_DOCUMENTS_PER_INGEST)
            + usize::from(!size_ok)
            + usize::from(!overlap_ok)
            + usize::from(size_ok && overlap_ok && overlap >= size)
            + docs
                .iter()
                .map(|d| {
                    // One problem for text that is blank or too long.
                    usize::from(
                        d.text.trim().is_empty()
                            || !jack::TEXT_CHARS.contains(&d.text.chars().count()),
                    )
                        + d.metadata.values().filter(|v| !v.is_string()).count()
                })
                .sum::<usize>();
        let mut ingest = Ingest::new(docs);
        ingest.chunk_size = chunk_size;
        ingest.chunk_overlap = chunk_overlap;
        match ingest.validate() {
            Ok(()) => prop_assert_eq!(expected, 0),
            Err(e) => {
                prop_assert_eq!(e.count(), expected, "{}", e);
                check_refusal(&e)?;
            }
        }
    }

    #[test]
    fn jack_refusals_name_no_status(
        question in prop_oneof![Just(String::new()), Just(" ".to_owned()), "[a-z]{1,5}"],
        top_k in small_u32(),
        name in prop_oneof![Just(String::new()), "[a-z]{0,4}(\\.[a-zA-Z]{0,4})?"],
        len in prop_oneof![Just(jack::MAX_FILE_BYTES + 1), 0u64..1000],
        boundary in prop_oneof![Just(String::new()), "[a-z ;]{1,5}", Just("b".repeat(71))],
    ) {
        let mut query = Query::new(question);
        query.top_k = top_k;
        if let Err(e) = query.validate() {
            check_refusal(&e)?;
        }
        let file = IngestFile::new(FileSource::new("/x/y", len)).file_name(name).boundary(boundary);
        if let Err(e) = file.validate() {
            check_refusal(&e)?;
        }
    }

    #[test]
    fn jockey_refusals_name_no_status(
        name in prop_oneof![Just(String::new()), Just(" ".to_owned()), Just("s".to_owned())],
        schema in schema(),
        pairs in 0usize..12,
        url in prop_oneof![Just(String::new()), Just("ftp://a/b".to_owned()), "https?://[a-z ]{0,5}/x"],
        page in small_u32(),
        limit in small_u32(),
        ids in prop::collection::vec(prop_oneof![Just(String::new()), "[a-z]{1,3}"], 0..3),
        messages in prop::collection::vec(text(), 0..3),
        session in prop::option::of(prop_oneof![Just(String::new()), Just("sess_1".to_owned())]),
        tools in 0usize..3,
    ) {
        let meta = metadata((0..pairs).map(|i| (format!("k{i}"), MetadataValue::from("v"))));
        let store = CreateKnowledgeStore::new(name)
            .metadata(meta.clone())
            .ingestion_config(IngestionConfig::json_schema(schema));
        if let Err(e) = store.validate() {
            check_refusal(&e)?;
        }
        if let Err(e) = CreateAsset::url(url).validate() {
            check_refusal(&e)?;
        }
        let mut assets = ListAssets::new().asset_ids(ids.iter().map(String::as_str));
        let mut items = ListItems::new(ids.first().map_or("", String::as_str));
        if let Some(page) = page {
            assets = assets.page(page);
            items = items.page(page);
        }
        if let Some(limit) = limit {
            assets = assets.page_limit(limit);
            items = items.page_limit(limit);
        }
        for e in [assets.validate(), items.validate()].into_iter().filter_map(Result::err) {
            check_refusal(&e)?;
        }
        let add = AddItem::new(ids.first().map_or("", String::as_str), "").metadata(meta);
        if let Err(e) = add.validate() {
            check_refusal(&e)?;
        }
        let mut ask = CreateResponse::new("ks_1")
            .tools((0..tools).map(|i| Tool::knowledge_store(format!("ks_{i}"))).collect());
        for m in messages {
            ask = ask.message(m);
        }
        if let Some(session) = session {
            ask = ask.session_id(session);
        }
        for shape in [ResponsesShape::Tools, ResponsesShape::TopLevel] {
            if let Err(e) = ask.clone().shape(shape).validate() {
                check_refusal(&e)?;
            }
        }
    }
}
