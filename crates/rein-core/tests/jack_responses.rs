//! Every jack fixture response, decoded.

use std::path::PathBuf;

use bytes::Bytes;
use insta::assert_debug_snapshot;
use rein_core::jack::{
    DeleteDocument, DocumentStatus, GetDocument, GetUsage, Ingest, IngestFile, ListDocuments, Query,
};
use rein_core::{ApiCall, Phase, Pollable};

fn fixture(name: &str) -> Bytes {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jack").join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn response(status: u16, body: impl Into<Bytes>) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.into())
        .expect("a valid response")
}

#[test]
fn ingest_accepted() {
    let accepted = Ingest::decode(response(202, fixture("ingest-accepted.json"))).expect("decodes");
    assert_eq!(accepted.document_ids.len(), 3);
    assert_debug_snapshot!("jack_ingest_accepted", accepted);
}

#[test]
fn document_processing() {
    let doc =
        GetDocument::decode(response(200, fixture("document-processing.json"))).expect("decodes");
    assert_eq!(doc.phase(), Phase::Pending);
    assert_debug_snapshot!("jack_document_processing", doc);
}

#[test]
fn document_ready() {
    let doc = GetDocument::decode(response(200, fixture("document-ready.json"))).expect("decodes");
    assert_eq!(doc.phase(), Phase::Ready);
    assert_eq!(doc.failure_message(), None);
    assert_debug_snapshot!("jack_document_ready", doc);
}

#[test]
fn document_failed() {
    let doc = GetDocument::decode(response(200, fixture("document-failed.json"))).expect("decodes");
    assert_eq!(doc.phase(), Phase::Failed);
    assert_eq!(
        doc.failure_message(),
        Some("Could not extract text from the PDF: the file appears to be a scanned image")
    );
    assert_debug_snapshot!("jack_document_failed", doc);
}

#[test]
fn document_unknown_status_is_kept_and_pending() {
    let doc = GetDocument::decode(response(200, fixture("document-unknown-status.json")))
        .expect("decodes");
    assert_eq!(doc.id, "e05c9a3b-71d2-4f8e-b6a0-1d4f7e2c8a93"); // from `_id`
    assert_eq!(doc.status, DocumentStatus::Other("embedding".into()));
    assert_eq!(doc.status_text(), "embedding");
    assert_eq!(doc.phase(), Phase::Pending);
    assert_debug_snapshot!("jack_document_unknown_status", doc);
}

#[test]
fn documents_list_bare_array() {
    let docs =
        ListDocuments::decode(response(200, fixture("documents-list.json"))).expect("decodes");
    let phases: Vec<Phase> = docs.iter().map(Pollable::phase).collect();
    assert_eq!(phases, [Phase::Pending, Phase::Failed, Phase::Ready]);
    assert_debug_snapshot!("jack_documents_list", docs);
}

#[test]
fn documents_list_wrapped_defensively() {
    for key in ["data", "documents"] {
        let body = format!(r#"{{"{key}":[{{"id":"d1","status":"ready"}}]}}"#);
        let docs = ListDocuments::decode(response(200, body)).expect("decodes");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].id, "d1");
    }
    let empty = ListDocuments::decode(response(200, "  []  ")).expect("decodes");
    assert!(empty.is_empty());
}

#[test]
fn query_answer() {
    let answer = Query::decode(response(200, fixture("query.json"))).expect("decodes");
    assert_eq!(answer.citations.len(), 2);
    assert_debug_snapshot!("jack_query_answer", answer);
}

#[test]
fn usage() {
    let usage = GetUsage::decode(response(200, fixture("usage.json"))).expect("decodes");
    assert_eq!(usage.rate_limit_rpm, Some(60));
    assert_debug_snapshot!("jack_usage", usage);
}

#[test]
fn delete_accepts_any_2xx_with_or_without_body() {
    for (status, body) in [(204, ""), (200, ""), (200, r#"{"deleted":true}"#), (202, "ok")] {
        assert_eq!(DeleteDocument::decode(response(status, body)), Ok(()));
    }
}

#[test]
fn empty_acknowledgements_are_accepted() {
    let ingest = Ingest::decode(response(202, "")).expect("an empty 202");
    assert!(ingest.document_ids.is_empty());
    let file = IngestFile::decode(response(202, "\n")).expect("an empty 202");
    assert_eq!(file.document_id, None);
}

#[test]
fn file_ingest_response_shapes() {
    // The shape is not published: each plausible spelling of "returns a document id".
    let bodies = [
        r#"{"status":"accepted","org_id":"org_1","document_id":"d1"}"#,
        r#"{"id":"d1","status":"processing"}"#,
        r#"{"_id":"d1"}"#,
        r#"{"status":"accepted","org_id":"org_1","queued":1,"document_ids":["d1"]}"#,
    ];
    for body in bodies {
        let accepted = IngestFile::decode(response(202, body)).expect("decodes");
        assert_eq!(accepted.document_id, Some("d1".into()), "{body}");
    }
    assert_debug_snapshot!(
        "jack_file_accepted",
        IngestFile::decode(response(202, bodies[0])).expect("decodes")
    );
}

#[test]
fn data_responses_with_empty_or_broken_bodies_are_decode_errors() {
    let err = GetDocument::decode(response(200, "")).expect_err("no document");
    assert_eq!(err.status, 200);
    assert!(!err.may_have_succeeded);
    assert!(ListDocuments::decode(response(200, "")).is_err());
    assert!(ListDocuments::decode(response(200, r#"{"data":"#)).is_err());
    assert!(Query::decode(response(200, r#"{"citations":[]}"#)).is_err());

    let err = Ingest::decode(response(202, r#"{"document_ids":"#)).expect_err("truncated");
    assert!(err.may_have_succeeded, "an unreadable ingest ack may still have queued documents");
}

#[test]
fn nulls_and_unknown_fields_are_tolerated() {
    let doc = GetDocument::decode(response(
        200,
        r#"{"id":"d1","status":null,"metadata":{"n":3,"s":"x"},"extra":[1,2]}"#,
    ))
    .expect("decodes");
    assert_eq!(doc.status, DocumentStatus::Other(String::new()));
    assert_eq!(doc.phase(), Phase::Pending);
    assert_eq!(doc.metadata["n"], "3");
    let usage = GetUsage::decode(response(200, r#"{"daily":null,"future":1}"#)).expect("decodes");
    assert!(usage.daily.is_empty());
    let answer = Query::decode(response(200, r#"{"answer":"a","citations":null}"#)).expect("ok");
    assert!(answer.citations.is_empty());
}
