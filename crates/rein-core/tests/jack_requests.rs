//! Every jack request as rendered: method, path with query, headers (key redacted), body.

use insta::assert_snapshot;
use rein_core::jack::{
    DeleteDocument, GetDocument, GetUsage, Ingest, IngestFile, ListDocuments, NewDocument, Query,
};
use rein_core::{Api, ApiCall, FileSource, Target};

fn target() -> Target {
    Target::new(
        Api::Jack,
        "https://api.usejack.io/v1",
        "jack_0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .expect("a valid target")
}

fn render(call: &impl ApiCall) -> String {
    call.to_request(&target()).expect("a valid request").render_redacted()
}

#[test]
fn ingest_with_defaults() {
    let ingest = Ingest::new(["Customers may request a refund within 14 days of purchase."]);
    assert_snapshot!("jack_ingest_defaults", render(&ingest));
}

#[test]
fn ingest_with_metadata_and_chunking() {
    let ingest = Ingest::new([
        NewDocument::new("Refunds go to the original payment method.")
            .metadata("team", "support")
            .metadata("lang", "en"),
        NewDocument::new("Größe: 10 €, naïve café ✓"),
    ])
    .chunk_size(1024)
    .chunk_overlap(128);
    assert_snapshot!("jack_ingest_full", render(&ingest));
}

#[test]
fn ingest_file_pdf() {
    let upload = IngestFile::new(FileSource::new("/data/refund-policy.pdf", 1_234_567));
    let request = upload.to_request(&target()).expect("a valid request");
    assert_eq!(
        request.body.content_length(),
        request.headers["content-length"]
            .to_str()
            .expect("ascii")
            .parse::<u64>()
            .expect("a number")
    );
    assert_snapshot!("jack_ingest_file_pdf", request.render_redacted());
}

#[test]
fn ingest_file_renamed_with_boundary() {
    let upload = IngestFile::new(FileSource::new("/tmp/upload-3f2a", 2048))
        .file_name("Release \"Notes\".MD")
        .boundary("test-boundary-42");
    assert_snapshot!("jack_ingest_file_renamed_md", render(&upload));
}

#[test]
fn get_document() {
    let get = GetDocument::new("6a1f0c52-8d3e-4b7a-9f21-3c5e7d9b1a04");
    assert_snapshot!("jack_get_document", render(&get));
}

#[test]
fn get_document_hostile_id_stays_one_segment() {
    let get = GetDocument::new("../keys?all=1#x/y%2F");
    let rendered = render(&get);
    assert!(rendered.starts_with("GET /v1/documents/..%2Fkeys%3Fall%3D1%23x%2Fy%252F\n"));
    assert_snapshot!("jack_get_document_hostile_id", rendered);
}

#[test]
fn get_document_dot_dot_id() {
    let get = GetDocument::new("..");
    assert!(render(&get).starts_with("GET /v1/documents/%2E%2E\n"));
}

#[test]
fn list_documents() {
    assert_snapshot!("jack_list_documents", render(&ListDocuments::new()));
}

#[test]
fn delete_document() {
    let delete = DeleteDocument::new("b83e2d17-0f4c-4e6a-a1d5-72c9e8f03b66");
    assert_snapshot!("jack_delete_document", render(&delete));
}

#[test]
fn query_with_defaults() {
    assert_snapshot!("jack_query_defaults", render(&Query::new("What is the refund policy?")));
}

#[test]
fn query_with_filters_and_top_k() {
    let query = Query::new("What is the refund policy?")
        .filter("team", "support")
        .filter("lang", "en")
        .top_k(20);
    assert_snapshot!("jack_query_full", render(&query));
}

#[test]
fn usage() {
    assert_snapshot!("jack_usage", render(&GetUsage::new()));
}

#[test]
fn ingest_batches_render_like_ingests() {
    let batches = rein_core::jack::ingest_many((0..51).map(|i| format!("document {i}")))
        .expect("valid documents");
    let last = batches.last().expect("two batches");
    assert_eq!(last.indexes(), 50..51);
    assert_snapshot!("jack_ingest_many_last_batch", render(last));
}

#[test]
fn a_jockey_target_is_refused() {
    let jockey = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_key")
        .expect("a valid target");
    let err = GetUsage::new().to_request(&jockey).expect_err("jack call on a Jockey target");
    assert!(matches!(err, rein_core::Error::Invalid(v) if v.field == "target"));
}
