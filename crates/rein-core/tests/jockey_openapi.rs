//! Jockey's wire shapes against the vendor's OpenAPI spec (`../shared/reference/twelvelabs-openapi.json`,
//! read in place through rein-reference: skipped when absent, a failure under `CI=true`).
//!
//! Checked: every rendered request (JSON bodies against the operation's request schema; multipart
//! form fields against the multipart schema's properties; query keys against the declared query
//! parameters; body-less requests against operations without a request body), every JSON
//! fixture response against the schema of its operation and status, the same fixtures after a
//! decode and re-encode through rein's models, and every event of the stream transcript against
//! the `ResponseStreamEvent` branch of its type.
//!
//! Where the sources disagree, the test says so and checks the rest exactly (see the comments on
//! `DEVIATIONS` and on the responses requests).

mod jockey_support;

use std::collections::BTreeSet;

use jockey_support::{every_request, fixture_bytes, fixture_json, fixtures_dir};
use rein_core::body::{Body, PartContent};
use rein_core::jockey::assets::{AssetDetail, CreateAsset, GetAsset, ListAssets};
use rein_core::jockey::items::{AddItem, GetItem, ListItems};
use rein_core::jockey::responses::Response;
use rein_core::jockey::stores::{
    CreateKnowledgeStore, GetKnowledgeStore, ListKnowledgeStores, SearchKnowledgeStore,
    UpdateKnowledgeStore,
};
use rein_core::sse::{EventStream, SseItem};
use rein_core::{ApiCall, Operation};
use rein_reference::OpenApi;
use serde_json::{json, Value};

fn spec_op(op: Operation) -> (&'static str, String) {
    (op.path_template(), op.method().as_str().to_ascii_lowercase())
}

/// Errors whose instance path starts with one of `allowed` (e.g. `/stream`).
fn only_at(errors: &[String], allowed: &[&str]) -> bool {
    errors.iter().all(|e| {
        allowed.iter().any(|p| e.ends_with(&format!(" at {p}")) || e.contains(&format!(" at {p}/")))
    })
}

#[test]
fn every_rendered_request_matches_its_operation() {
    let Some(spec) = OpenApi::load() else { return };
    for (name, request) in every_request() {
        let (path, method) = spec_op(request.operation);
        let op = spec
            .operation(path, &method)
            .unwrap_or_else(|| panic!("{name}: the spec has no {method} {path}"));

        // Every query key is a declared query parameter; every path placeholder a path parameter.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let declared = |place: &str| -> BTreeSet<String> {
            params
                .iter()
                .filter(|p| p["in"] == place)
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        };
        let query_keys: BTreeSet<String> = request
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty())
            .filter_map(|kv| kv.split('=').next().map(str::to_owned))
            .collect();
        assert!(
            query_keys.is_subset(&declared("query")),
            "{name}: query keys {query_keys:?} not all declared in {:?}",
            declared("query")
        );
        let placeholders: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(placeholders, declared("path"), "{name}: path parameters");

        match &request.body {
            Body::FileRange(_) => panic!("{name}: a chunk's bytes go to storage, not the API"),
            Body::Empty => {
                assert!(op.get("requestBody").is_none(), "{name}: the spec expects a body")
            }
            Body::Bytes(bytes) => {
                let body: Value = serde_json::from_slice(bytes).expect("a JSON body");
                check_json_request(&spec, name, path, &method, &body);
            }
            Body::Multipart(form) => {
                let schema = spec
                    .request_schema(path, &method, "multipart/form-data")
                    .unwrap_or_else(|| panic!("{name}: no multipart schema"));
                let props = &schema["properties"];
                let mut fields = serde_json::Map::new();
                for part in form.parts() {
                    let prop = &props[&part.name];
                    assert!(
                        prop.is_object(),
                        "{name}: form field {} is not in the spec",
                        part.name
                    );
                    let value = match &part.content {
                        PartContent::File(_) => {
                            assert_eq!(
                                prop["format"], "binary",
                                "{name}: {} is not a file",
                                part.name
                            );
                            json!("<binary>")
                        }
                        PartContent::Bytes(b) => {
                            let text = String::from_utf8(b.to_vec()).expect("utf-8 field");
                            match prop["type"].as_str() {
                                Some("boolean") => json!(text.parse::<bool>().expect("a boolean")),
                                _ => json!(text),
                            }
                        }
                    };
                    fields.insert(part.name.clone(), value);
                }
                let fields = Value::Object(fields);
                spec.check(schema, &fields).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
                if let Some(meta) = fields["user_metadata"].as_str() {
                    let decoded: Value = serde_json::from_str(meta).expect("JSON-encoded");
                    spec.check(&json!({"$ref": "#/components/schemas/UserMetadata"}), &decoded)
                        .unwrap_or_else(|e| panic!("{name}: user_metadata {e:#?}"));
                }
            }
        }
    }
}

fn check_json_request(spec: &OpenApi, name: &str, path: &str, method: &str, body: &Value) {
    if path != "/responses" {
        spec.check_request(path, method, body).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
        return;
    }
    if body.get("tools").is_some() {
        // The references' Tools shape is not checked against the spec: the spec has no `tools`
        // and requires a top-level `knowledge_store_id`, while the error reference asks for
        // "exactly one knowledge_store tool". rein follows the reference by default and keeps
        // the spec's shape one setting away; that TopLevel rendering of the same request
        // (`responses_create_top_level`) is checked below instead.
        return;
    }
    match body["stream"] {
        // The spec declares only the streaming form (`stream` required, enum [true]); the SDK
        // sends `stream: false` for a plain create. Everything but that one field must match.
        Value::Bool(false) => {
            let errors = spec
                .check_request(path, method, body)
                .expect_err("the spec only knows stream: true");
            assert!(only_at(&errors, &["/stream"]), "{name}: {errors:#?}");
        }
        _ => spec.check_request(path, method, body).unwrap_or_else(|e| panic!("{name}: {e:#?}")),
    }
}

/// A fixture, the operation and status it answers, and where it deliberately leaves the spec.
struct Case {
    file: &'static str,
    op: Operation,
    status: &'static str,
    /// Instance paths where the fixture carries a value the spec does not list, on purpose: an
    /// unknown status or hit type, to show rein keeps decoding what a newer server sends.
    deviations: &'static [&'static str],
    reencode: fn(&[u8]) -> Value,
}

fn reencode<C: ApiCall>(bytes: &[u8]) -> Value
where
    C::Output: serde::Serialize,
{
    let response = jockey_support::reply_bytes(200, bytes.to_vec(), "application/json");
    let decoded = C::decode(response).expect("decodes");
    serde_json::to_value(decoded).expect("re-encodes")
}

const CASES: &[Case] = &[
    Case {
        file: "assets-create.json",
        op: Operation::CreateAsset,
        status: "201",
        deviations: &[],
        reencode: reencode::<CreateAsset>,
    },
    Case {
        file: "assets-get.json",
        op: Operation::GetAsset,
        status: "200",
        deviations: &[],
        reencode: reencode::<GetAsset>,
    },
    Case {
        file: "assets-get-failed.json",
        op: Operation::GetAsset,
        status: "200",
        deviations: &[],
        reencode: reencode::<GetAsset>,
    },
    Case {
        file: "assets-list.json",
        op: Operation::ListAssets,
        status: "200",
        deviations: &[],
        reencode: reencode::<ListAssets>,
    },
    Case {
        file: "stores-create.json",
        op: Operation::CreateKnowledgeStore,
        status: "201",
        deviations: &[],
        reencode: reencode::<CreateKnowledgeStore>,
    },
    Case {
        file: "stores-get.json",
        op: Operation::GetKnowledgeStore,
        status: "200",
        deviations: &[],
        reencode: reencode::<GetKnowledgeStore>,
    },
    Case {
        file: "stores-list.json",
        op: Operation::ListKnowledgeStores,
        status: "200",
        deviations: &[],
        reencode: reencode::<ListKnowledgeStores>,
    },
    Case {
        file: "stores-update.json",
        op: Operation::UpdateKnowledgeStore,
        status: "200",
        deviations: &[],
        reencode: reencode::<UpdateKnowledgeStore>,
    },
    Case {
        file: "stores-search.json",
        op: Operation::SearchKnowledgeStore,
        status: "200",
        deviations: &[],
        reencode: reencode::<SearchKnowledgeStore>,
    },
    Case {
        file: "stores-search-last.json",
        op: Operation::SearchKnowledgeStore,
        status: "200",
        deviations: &["/data/1"],
        reencode: reencode::<SearchKnowledgeStore>,
    },
    Case {
        file: "items-add.json",
        op: Operation::AddItem,
        status: "202",
        deviations: &[],
        reencode: reencode::<AddItem>,
    },
    Case {
        file: "items-get.json",
        op: Operation::GetItem,
        status: "200",
        deviations: &[],
        reencode: reencode::<GetItem>,
    },
    Case {
        file: "items-list.json",
        op: Operation::ListItems,
        status: "200",
        deviations: &["/data/4/status"],
        reencode: reencode::<ListItems>,
    },
];

#[test]
fn every_json_fixture_has_a_case() {
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/jockey")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut covered: Vec<String> = CASES.iter().map(|c| c.file.to_owned()).collect();
    covered.push("responses-create.json".to_owned()); // checked by its own test below
    covered.sort();
    assert_eq!(files, covered);
}

#[test]
fn every_fixture_response_matches_its_operation() {
    let Some(spec) = OpenApi::load() else { return };
    for case in CASES {
        let (path, method) = spec_op(case.op);
        let check =
            |label: &str, body: &Value| match spec.check_response(path, &method, case.status, body)
            {
                Ok(()) => {
                    assert!(case.deviations.is_empty(), "{label}: the deliberate deviation is gone")
                }
                Err(errors) => {
                    assert!(!case.deviations.is_empty(), "{label}: {errors:#?}");
                    assert!(only_at(&errors, case.deviations), "{label}: {errors:#?}");
                }
            };
        check(case.file, &fixture_json(case.file));
        // rein's models write what they read: the re-encoded fixture matches too.
        check(&format!("{} re-encoded", case.file), &(case.reencode)(&fixture_bytes(case.file)));
    }
}

#[test]
fn the_response_fixture_matches_the_response_object() {
    let Some(spec) = OpenApi::load() else { return };
    // The spec gives POST /responses a 200 only as text/event-stream; the plain JSON response is
    // its `ResponseObject` (the shape of the example in the operation's description).
    let schema = json!({"$ref": "#/components/schemas/ResponseObject"});
    let body = fixture_json("responses-create.json");
    spec.check(&schema, &body).unwrap_or_else(|e| panic!("{e:#?}"));
    let decoded: Response = serde_json::from_value(body).expect("decodes");
    let reencoded = serde_json::to_value(decoded).expect("re-encodes");
    spec.check(&schema, &reencoded).unwrap_or_else(|e| panic!("{e:#?}"));
}

#[test]
fn every_stream_event_matches_its_event_schema() {
    let Some(spec) = OpenApi::load() else { return };
    let doc = spec.document();
    let schemas = &doc["components"]["schemas"];
    // `ResponseStreamEvent` is a oneOf whose four response.* branches are identical, so a
    // response.created event matches four branches and fails `oneOf` as plain JSON Schema (the
    // spec relies on its OpenAPI `discriminator`). Each event is checked against the branch
    // its `type` selects, which is what the discriminator means.
    let branches = schemas["ResponseStreamEvent"]["oneOf"].as_array().expect("oneOf");
    let branch_for = |kind: &str| {
        branches.iter().find(|b| {
            let type_ref = b["properties"]["type"]["$ref"].as_str().unwrap_or("");
            let enum_name = type_ref.rsplit('/').next().unwrap_or("");
            schemas[enum_name]["enum"].as_array().is_some_and(|e| e.iter().any(|v| v == kind))
        })
    };

    let mut stream = EventStream::new();
    stream.feed(&fixture_bytes("responses-stream.sse"));
    stream.finish();
    let mut outside_spec = BTreeSet::new();
    let mut checked = 0;
    while let Some(item) = stream.next_item() {
        let SseItem::Event(event) = item else {
            continue;
        };
        let data: Value = serde_json::from_str(&event.data).expect("JSON data");
        let kind = data["type"].as_str().expect("a type").to_owned();
        assert_eq!(kind, event.event, "the SSE event name repeats the type");
        match branch_for(&kind) {
            Some(branch) => {
                spec.check(branch, &data).unwrap_or_else(|e| panic!("{kind}: {e:#?}"));
                checked += 1;
            }
            None => {
                outside_spec.insert(kind);
            }
        }
    }
    assert_eq!(checked, 20);
    // `keepalive` is in the references' event table but not in the spec; the other is the
    // transcript's deliberately unknown event type.
    assert_eq!(
        outside_spec,
        BTreeSet::from([
            "keepalive".to_owned(),
            "response.reasoning_summary_text.delta".to_owned()
        ])
    );
}

#[test]
fn the_decoded_asset_detail_keeps_every_spec_field() {
    // Every property the spec gives AssetDetail is a field of rein's model: a fixture carrying
    // all of them re-encodes without losing one.
    let Some(spec) = OpenApi::load() else { return };
    let props = spec.document()["components"]["schemas"]["AssetDetail"]["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect::<BTreeSet<_>>();
    let detail = fixture_json("assets-get.json");
    let mut full = detail.as_object().cloned().expect("an object");
    full.insert("source".into(), fixture_json("assets-list.json")["data"][2]["source"].clone());
    full.insert("error".into(), json!({"message": "m"}));
    let decoded: AssetDetail = serde_json::from_value(Value::Object(full)).expect("decodes");
    let back = serde_json::to_value(decoded).expect("re-encodes");
    let kept = back.as_object().expect("object").keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(props, kept);
}
