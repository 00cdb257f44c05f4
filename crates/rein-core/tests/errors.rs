//! Every error fixture decodes to a typed error: both dialects, proxies' pages, odd bodies.

mod wire;

use bytes::Bytes;
use rein_core::decode::{self, EXCERPT_LIMIT};
use rein_core::hint::rows;
use rein_core::{Api, BodyShape, ErrorKind, Now, Operation};

/// Each fixture, with the API and operation it is a reply of.
const FIXTURES: &[(&str, Api, Operation)] = &[
    ("jockey/400-method-required", Api::Jockey, Operation::CreateAsset),
    ("jockey/400-file-too-large", Api::Jockey, Operation::CreateAsset),
    ("jockey/400-invalid-url", Api::Jockey, Operation::CreateAsset),
    ("jockey/400-invalid-schema", Api::Jockey, Operation::CreateKnowledgeStore),
    ("jockey/400-name-required", Api::Jockey, Operation::CreateKnowledgeStore),
    ("jockey/400-tools-required", Api::Jockey, Operation::CreateResponse),
    ("jockey/400-invalid-session", Api::Jockey, Operation::CreateResponse),
    ("jockey/400-input-required", Api::Jockey, Operation::CreateResponse),
    ("jockey/401-unauthorized", Api::Jockey, Operation::ListAssets),
    ("jockey/403-forbidden", Api::Jockey, Operation::GetKnowledgeStore),
    ("jockey/404-not-found", Api::Jockey, Operation::GetAsset),
    ("jockey/404-asset-not-found", Api::Jockey, Operation::AddItem),
    ("jockey/404-store-not-found", Api::Jockey, Operation::AddItem),
    ("jockey/409-conflict", Api::Jockey, Operation::DeleteAsset),
    ("jockey/410-gone", Api::Jockey, Operation::SearchKnowledgeStore),
    ("jockey/413-content-too-large", Api::Jockey, Operation::CreateAsset),
    ("jockey/415-unsupported-media-type", Api::Jockey, Operation::CreateAsset),
    ("jockey/418-other-status", Api::Jockey, Operation::GetAsset),
    ("jockey/422-unprocessable", Api::Jockey, Operation::CreateKnowledgeStore),
    ("jockey/429-rate-limited", Api::Jockey, Operation::ListItems),
    ("jockey/429-http-date", Api::Jockey, Operation::GetItem),
    ("jockey/500-server-error", Api::Jockey, Operation::GetAsset),
    ("jockey/503-nested", Api::Jockey, Operation::CreateResponse),
    ("jockey/504-nested", Api::Jockey, Operation::SearchKnowledgeStore),
    ("jack/400-bad-request", Api::Jack, Operation::Ingest),
    ("jack/401-unauthorized", Api::Jack, Operation::Query),
    ("jack/403-revoked", Api::Jack, Operation::Usage),
    ("jack/404-not-found", Api::Jack, Operation::GetDocument),
    ("jack/409-conflict", Api::Jack, Operation::DeleteDocument),
    ("jack/410-gone", Api::Jack, Operation::GetDocument),
    ("jack/413-too-large", Api::Jack, Operation::IngestFile),
    ("jack/415-unsupported", Api::Jack, Operation::IngestFile),
    ("jack/422-validation", Api::Jack, Operation::Query),
    ("jack/429-rate-limited", Api::Jack, Operation::Query),
    ("jack/429-no-retry-after", Api::Jack, Operation::Ingest),
    ("jack/500-server-error", Api::Jack, Operation::Query),
    ("jack/503-unavailable", Api::Jack, Operation::ListDocuments),
    ("proxy/502-nginx", Api::Jockey, Operation::GetAsset),
    ("proxy/503-alb", Api::Jack, Operation::Query),
    ("proxy/504-cloudfront", Api::Jockey, Operation::CreateResponse),
    ("proxy/429-empty", Api::Jack, Operation::ListDocuments),
    ("proxy/500-empty", Api::Jockey, Operation::ListKnowledgeStores),
    ("proxy/500-plain-text", Api::Jack, Operation::GetDocument),
    ("proxy/500-truncated-json", Api::Jockey, Operation::GetItem),
    ("proxy/400-wrong-shape-json", Api::Jockey, Operation::CreateKnowledgeStore),
    ("proxy/400-json-array", Api::Jack, Operation::Ingest),
    ("proxy/502-binary", Api::Jack, Operation::Usage),
];

fn decode_fixture(name: &str, api: Api, op: Operation) -> rein_core::ApiError {
    let response = wire::load_response(&format!("errors/{name}.http"));
    decode::api_error(api, Some(op), &response, Now::fake(0.0).wall)
}

#[test]
fn every_fixture_decodes_to_a_typed_error() {
    for &(name, api, op) in FIXTURES {
        let err = decode_fixture(name, api, op);
        let snapshot = name.replace('/', "__");
        insta::assert_debug_snapshot!(snapshot, err);
    }
}

#[test]
fn every_fixture_file_is_listed() {
    let mut listed: Vec<&str> = FIXTURES.iter().map(|f| f.0).collect();
    listed.sort_unstable();
    let mut on_disk = Vec::new();
    for dir in ["jockey", "jack", "proxy"] {
        for entry in
            std::fs::read_dir(wire::fixture_path(&format!("errors/{dir}"))).expect("fixture dir")
        {
            let path = entry.expect("entry").path();
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("a name").to_owned();
            on_disk.push(format!("{dir}/{stem}"));
        }
    }
    on_disk.sort_unstable();
    assert_eq!(listed, on_disk);
}

#[test]
fn each_status_has_a_fixture_in_each_dialect() {
    for status in [400u16, 401, 403, 404, 409, 410, 413, 415, 422, 429, 500, 503] {
        for dialect in ["jockey", "jack"] {
            let prefix = format!("{dialect}/{status}-");
            assert!(
                FIXTURES.iter().any(|f| f.0.starts_with(&prefix)),
                "no {dialect} fixture for {status}"
            );
        }
    }
    for status in [502, 503, 504] {
        assert!(FIXTURES.iter().any(|f| f.0.starts_with(&format!("proxy/{status}-"))
            && f.0.ends_with(|c: char| c.is_alphabetic())));
    }
}

#[test]
fn reference_rows_map_to_their_hints() {
    let cases: &[(&str, Api, Operation, rein_core::Hint)] = &[
        (
            "jockey/400-method-required",
            Api::Jockey,
            Operation::CreateAsset,
            rows::ASSET_METHOD_REQUIRED,
        ),
        (
            "jockey/400-file-too-large",
            Api::Jockey,
            Operation::CreateAsset,
            rows::ASSET_FILE_TOO_LARGE,
        ),
        ("jockey/400-invalid-url", Api::Jockey, Operation::CreateAsset, rows::ASSET_INVALID_URL),
        (
            "jockey/400-invalid-schema",
            Api::Jockey,
            Operation::CreateKnowledgeStore,
            rows::STORE_INVALID_SCHEMA,
        ),
        (
            "jockey/400-name-required",
            Api::Jockey,
            Operation::CreateKnowledgeStore,
            rows::STORE_NAME_REQUIRED,
        ),
        ("jockey/404-asset-not-found", Api::Jockey, Operation::AddItem, rows::ITEM_ASSET_NOT_FOUND),
        ("jockey/404-store-not-found", Api::Jockey, Operation::AddItem, rows::ITEM_STORE_NOT_FOUND),
        (
            "jockey/400-tools-required",
            Api::Jockey,
            Operation::CreateResponse,
            rows::RESPONSE_TOOLS_REQUIRED,
        ),
        (
            "jockey/400-invalid-session",
            Api::Jockey,
            Operation::CreateResponse,
            rows::RESPONSE_INVALID_SESSION,
        ),
        (
            "jockey/400-input-required",
            Api::Jockey,
            Operation::CreateResponse,
            rows::RESPONSE_INPUT_REQUIRED,
        ),
        ("jockey/401-unauthorized", Api::Jockey, Operation::ListAssets, rows::JOCKEY_401),
        ("jockey/403-forbidden", Api::Jockey, Operation::GetKnowledgeStore, rows::JOCKEY_403),
        ("jockey/404-not-found", Api::Jockey, Operation::GetAsset, rows::JOCKEY_404),
        ("jockey/429-rate-limited", Api::Jockey, Operation::ListItems, rows::JOCKEY_429),
        ("jockey/500-server-error", Api::Jockey, Operation::GetAsset, rows::JOCKEY_5XX),
        ("jack/400-bad-request", Api::Jack, Operation::Ingest, rows::JACK_EMPTY_DOCUMENTS),
        ("jack/401-unauthorized", Api::Jack, Operation::Query, rows::JACK_401),
        ("jack/403-revoked", Api::Jack, Operation::Usage, rows::JACK_403),
        ("jack/404-not-found", Api::Jack, Operation::GetDocument, rows::JACK_404),
        ("jack/413-too-large", Api::Jack, Operation::IngestFile, rows::JACK_413),
        ("jack/415-unsupported", Api::Jack, Operation::IngestFile, rows::JACK_415),
        ("jack/422-validation", Api::Jack, Operation::Query, rows::JACK_422),
        ("jack/429-rate-limited", Api::Jack, Operation::Query, rows::JACK_429),
        ("jack/500-server-error", Api::Jack, Operation::Query, rows::JACK_5XX),
    ];
    for &(name, api, op, hint) in cases {
        assert_eq!(decode_fixture(name, api, op).hint, Some(hint), "{name}");
    }
}

/// The hints' words are the references' own: each row's fix (and, for jack, its cause) appears
/// in the reference document it comes from.
#[test]
fn hint_rows_quote_the_references() {
    let Some(jockey) = rein_reference::reference_text("jockey-errors-and-polling.txt") else {
        return;
    };
    let Some(jack) = rein_reference::reference_text("jack-errors-and-rate-limits.txt") else {
        return;
    };
    let jockey_rows = [
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
    ];
    for row in jockey_rows {
        assert!(jockey.contains(row.fix), "jockey reference lacks fix {:?}", row.fix);
        assert!(jockey.contains(row.cause), "jockey reference lacks cause {:?}", row.cause);
    }
    let jack_rows = [
        rows::JACK_400,
        rows::JACK_401,
        rows::JACK_403,
        rows::JACK_404,
        rows::JACK_413,
        rows::JACK_415,
        rows::JACK_422,
        rows::JACK_429,
        rows::JACK_5XX,
    ];
    for row in jack_rows {
        assert!(jack.contains(row.fix), "jack reference lacks fix {:?}", row.fix);
        assert!(jack.contains(row.cause), "jack reference lacks cause {:?}", row.cause);
    }
    assert!(jack.contains(rows::JACK_EMPTY_DOCUMENTS.cause));
}

#[test]
fn user_messages_never_carry_server_text() {
    for &(name, api, op) in FIXTURES {
        let err = decode_fixture(name, api, op);
        let user = err.user_message();
        for server in [&err.message, &err.detail, &err.code, &err.excerpt].into_iter().flatten() {
            if server.len() > 3 {
                assert!(!user.contains(server.as_str()), "{name}: {user:?} leaks {server:?}");
            }
        }
    }
}

#[test]
fn megabytes_of_body_give_a_bounded_excerpt() {
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("html", format!("<html><body>{}</body></html>", "x".repeat(5 << 20)).into_bytes()),
        ("text", "é".repeat(3 << 20).into_bytes()),
        ("json", format!("{{\"message\": \"{}\"}}", "m".repeat(3 << 20)).into_bytes()),
        ("truncated json", format!("{{\"message\": \"{}", "m".repeat(3 << 20)).into_bytes()),
        ("binary", (0..(4u32 << 20)).map(|i| (i % 251) as u8 | 0x80).collect()),
    ];
    for (label, body) in bodies {
        let len = body.len();
        let response =
            http::Response::builder().status(502).body(Bytes::from(body)).expect("response");
        let err = decode::api_error(Api::Jockey, None, &response, Now::fake(0.0).wall);
        assert_eq!(err.body_len, len, "{label}");
        assert_eq!(err.kind, ErrorKind::ServerError);
        for field in [&err.excerpt, &err.message, &err.detail].into_iter().flatten() {
            assert!(
                field.len() <= EXCERPT_LIMIT + '…'.len_utf8(),
                "{label}: {} bytes kept",
                field.len()
            );
        }
        assert_ne!(err.body_shape, BodyShape::Empty, "{label}");
    }
}

#[test]
fn display_names_endpoint_status_and_fix() {
    let err = decode_fixture("jockey/400-method-required", Api::Jockey, Operation::CreateAsset);
    insta::assert_snapshot!(
        "display_method_required",
        rein_core::Error::from(err.clone()).to_string()
    );
    let err = decode_fixture("proxy/502-nginx", Api::Jockey, Operation::GetAsset);
    insta::assert_snapshot!("display_nginx_502", rein_core::Error::from(err).to_string());
}
