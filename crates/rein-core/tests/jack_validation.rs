//! Pre-flight validation of jack requests: the right field, problem and fix, and no request.

use rein_core::hint::{rows, Hint};
use rein_core::jack::{
    hints, ingest_many, DeleteDocument, GetDocument, Ingest, IngestFile, NewDocument, Query,
    MAX_DOCUMENTS_PER_INGEST, MAX_FILE_BYTES,
};
use rein_core::{Api, ApiCall, Error, FileSource, Target, ValidationError};
use serde_json::json;

fn target() -> Target {
    Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_test").expect("a valid target")
}

/// Asserts that `call` is refused by `validate` and by `to_request` (so nothing is rendered),
/// with `field` and `hint` (as a refusal before sending shows it) and no other problem; returns
/// the problem text.
fn refused(call: &impl ApiCall, field: &str, hint: Hint) -> String {
    let from_validate = call.validate().expect_err("validate refuses");
    match call.to_request(&target()) {
        Err(Error::Invalid(v)) => assert_eq!(*v, from_validate),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(from_validate.field, field, "{from_validate}");
    assert_eq!(from_validate.hint, hint.pre_flight(), "{from_validate}");
    assert_eq!(from_validate.others, [], "one problem only: {from_validate}");
    from_validate.problem
}

fn docs(n: usize) -> Vec<NewDocument> {
    (0..n).map(|i| NewDocument::new(format!("document {i}"))).collect()
}

#[test]
fn empty_documents_list() {
    let problem =
        refused(&Ingest::new(Vec::<NewDocument>::new()), "documents", rows::JACK_EMPTY_DOCUMENTS);
    assert_eq!(problem, "documents list must not be empty");
}

#[test]
fn text_length_in_characters() {
    let ok = |text: String| Ingest::new([text]).validate();
    assert_eq!(ok("x".into()), Ok(()));
    assert_eq!(ok("é".repeat(10_000)), Ok(()), "10,000 chars of 2 bytes each is fine");
    refused(&Ingest::new([""]), "documents[0].text", hints::EMPTY_TEXT);
    let problem = refused(
        &Ingest::new(["fine".to_owned(), "é".repeat(10_001)]),
        "documents[1].text",
        rows::JACK_422,
    );
    assert!(problem.contains("10001"), "{problem}");
}

#[test]
fn metadata_must_be_strings() {
    let mut meta = serde_json::Map::new();
    meta.insert("lang".into(), json!("en"));
    meta.insert("pages".into(), json!(12));
    let ingest = Ingest::new(docs(2)).document(NewDocument::from_json_metadata("text", meta));
    let problem = refused(&ingest, "documents[2].metadata.pages", rows::JACK_METADATA_STRINGS);
    assert!(problem.contains("a number"), "{problem}");

    for value in [json!(null), json!(true), json!(["a"]), json!({"a": "b"})] {
        let mut meta = serde_json::Map::new();
        meta.insert("k".into(), value);
        refused(
            &Ingest::new([NewDocument::from_json_metadata("t", meta)]),
            "documents[0].metadata.k",
            rows::JACK_METADATA_STRINGS,
        );
    }

    let string_only = NewDocument::new("t").metadata("a", "1").metadata("b", "");
    assert_eq!(Ingest::new([string_only]).validate(), Ok(()));
}

#[test]
fn metadata_from_deserialized_documents_is_checked_too() {
    let doc: NewDocument =
        serde_json::from_value(json!({"text": "t", "metadata": {"year": 2026}})).expect("parses");
    refused(&Ingest::new([doc]), "documents[0].metadata.year", rows::JACK_METADATA_STRINGS);
}

#[test]
fn chunk_size_range() {
    for ok in [128, 512, 4096] {
        assert_eq!(Ingest::new(docs(1)).chunk_size(ok).validate(), Ok(()));
    }
    for bad in [0, 127, 4097] {
        refused(&Ingest::new(docs(1)).chunk_size(bad), "chunk_size", rows::JACK_422);
    }
}

#[test]
fn chunk_overlap_range_and_below_size() {
    for ok in [0, 64, 511] {
        assert_eq!(Ingest::new(docs(1)).chunk_overlap(ok).validate(), Ok(()));
    }
    assert_eq!(Ingest::new(docs(1)).chunk_size(1024).chunk_overlap(512).validate(), Ok(()));
    refused(&Ingest::new(docs(1)).chunk_overlap(513), "chunk_overlap", rows::JACK_422);
    let problem = refused(
        &Ingest::new(docs(1)).chunk_size(128).chunk_overlap(128),
        "chunk_overlap",
        rows::JACK_422,
    );
    assert_eq!(problem, "chunk_overlap (128) must be smaller than chunk_size (128)");
    // An unset overlap counts as jack's default (64).
    assert_eq!(Ingest::new(docs(1)).chunk_size(128).validate(), Ok(()));
    // An unset size counts as jack's default (512).
    refused(&Ingest::new(docs(1)).chunk_overlap(512), "chunk_overlap", rows::JACK_422);
}

#[test]
fn more_than_fifty_documents_in_one_request() {
    assert_eq!(Ingest::new(docs(MAX_DOCUMENTS_PER_INGEST)).validate(), Ok(()));
    let problem = refused(&Ingest::new(docs(51)), "documents", hints::TOO_MANY_DOCUMENTS);
    assert!(problem.contains("51"), "{problem}");
}

#[test]
fn top_k_range() {
    for ok in [1, 6, 20] {
        assert_eq!(Query::new("q").top_k(ok).validate(), Ok(()));
    }
    for bad in [0, 21, u32::MAX] {
        refused(&Query::new("q").top_k(bad), "top_k", rows::JACK_422);
    }
}

#[test]
fn empty_question() {
    for question in ["", "   ", "\n\t"] {
        let problem = refused(&Query::new(question), "question", rows::JACK_400);
        assert_eq!(problem, "question must not be empty");
    }
}

#[test]
fn blank_document_text_is_refused_like_a_blank_question() {
    for text in ["", " ", "   \n\t", "\u{a0}\u{3000}"] {
        let ingest = Ingest::new(["fine", text]);
        let err = ingest.validate().expect_err("a blank document is refused before sending");
        assert_eq!(err.field, "documents[1].text", "{text:?}: {err}");
        assert_eq!(err.others, [], "{text:?}: {err}");
    }
    let problem = refused(&Ingest::new([" \n "]), "documents[0].text", hints::EMPTY_TEXT);
    assert_eq!(
        problem,
        "text must not be empty or only whitespace; jack takes 1 to 10,000 characters"
    );
    assert_eq!(refused(&Ingest::new([""]), "documents[0].text", hints::EMPTY_TEXT), problem);
    // A split ingest refuses it too, before building any batch.
    let split = ingest_many(["a", "\t", "b"]).expect_err("refused");
    assert_eq!(split.field, "documents[1].text");
    // Text around whitespace is text.
    assert_eq!(Ingest::new(["  x  "]).validate(), Ok(()));
}

#[test]
fn an_empty_file_is_refused_before_sending() {
    let problem =
        refused(&IngestFile::new(FileSource::new("/x/a.txt", 0)), "file", hints::EMPTY_FILE);
    assert!(problem.contains("empty"), "{problem}");
    assert_eq!(IngestFile::new(FileSource::new("/x/a.txt", 1)).validate(), Ok(()));
}

#[test]
fn file_size_limit() {
    let at_limit = IngestFile::new(FileSource::new("a.pdf", MAX_FILE_BYTES));
    assert_eq!(at_limit.validate(), Ok(()));
    assert_eq!(MAX_FILE_BYTES, 104_857_600);
    refused(&IngestFile::new(FileSource::new("a.pdf", MAX_FILE_BYTES + 1)), "file", rows::JACK_413);
}

#[test]
fn file_formats() {
    for name in ["a.pdf", "b.docx", "c.txt", "d.md", "E.PDF", "f.DocX", "archive.tar.md"] {
        let upload = IngestFile::new(FileSource::new(format!("/x/{name}"), 10));
        assert_eq!(upload.validate(), Ok(()), "{name}");
    }
    for name in ["a.doc", "b.xlsx", "c.pdf.exe", "README", "notes.", "md"] {
        refused(
            &IngestFile::new(FileSource::new(format!("/x/{name}"), 10)),
            "file",
            rows::JACK_415,
        );
    }
    // The announced name decides, not the path.
    let renamed = IngestFile::new(FileSource::new("/tmp/upload.bin", 10)).file_name("a.txt");
    assert_eq!(renamed.validate(), Ok(()));
    refused(
        &IngestFile::new(FileSource::new("/x/a.pdf", 10)).file_name("a.zip"),
        "file",
        rows::JACK_415,
    );
}

#[test]
fn file_without_a_name() {
    refused(&IngestFile::new(FileSource::new("/", 10)), "file", rows::JACK_415);
    refused(
        &IngestFile::new(FileSource::new("/x/a.pdf", 10)).file_name(""),
        "file",
        rows::JACK_415,
    );
}

#[test]
fn file_boundary() {
    for bad in ["", "has space", "quote\"", &"b".repeat(71), "semi;colon", "crlf\r\n"] {
        refused(
            &IngestFile::new(FileSource::new("a.md", 1)).boundary(bad),
            "boundary",
            hints::INVALID_BOUNDARY,
        );
    }
    let ok = IngestFile::new(FileSource::new("a.md", 1)).boundary("A'z+0_9-.".repeat(7));
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn empty_document_ids() {
    refused(&GetDocument::new(""), "document_id", hints::EMPTY_DOCUMENT_ID);
    refused(&DeleteDocument::new(""), "document_id", hints::EMPTY_DOCUMENT_ID);
}

#[test]
fn ingest_many_refuses_nothing_to_ingest() {
    let err = ingest_many(Vec::<NewDocument>::new()).expect_err("nothing to ingest");
    assert_eq!(
        err,
        ValidationError::new(
            "documents",
            "documents list must not be empty",
            rows::JACK_EMPTY_DOCUMENTS
        )
    );
}

#[test]
fn ingest_many_batch_counts() {
    let bounds = |n: usize| -> Vec<(usize, usize)> {
        let batches = ingest_many(docs(n)).expect("valid");
        batches.iter().map(|b| (b.indexes().start, b.indexes().end)).collect()
    };
    assert_eq!(bounds(1), [(0, 1)]);
    assert_eq!(bounds(50), [(0, 50)]);
    assert_eq!(bounds(51), [(0, 50), (50, 51)]);
    assert_eq!(bounds(120), [(0, 50), (50, 100), (100, 120)]);
    let batches = ingest_many(docs(120)).expect("valid");
    let ranges: Vec<_> = batches.iter().map(|b| b.indexes()).collect();
    assert_eq!(ranges, [0..50, 50..100, 100..120]);
    let texts: Vec<&str> = batches
        .iter()
        .flat_map(|b| b.request().documents.iter().map(|d| d.text.as_str()))
        .collect();
    let expected: Vec<String> = (0..120).map(|i| format!("document {i}")).collect();
    assert_eq!(texts, expected);
    for batch in &batches {
        assert_eq!(batch.validate(), Ok(()));
    }
}

#[test]
fn ingest_many_reports_a_bad_document_with_its_index() {
    let mut input = docs(120);
    input[77] = NewDocument::new("");
    let err = ingest_many(input).expect_err("document 77 is empty");
    assert_eq!(err.field, "documents[77].text");
    assert_eq!(err.hint, hints::EMPTY_TEXT);

    let mut input = docs(120);
    let mut meta = serde_json::Map::new();
    meta.insert("n".into(), json!(1));
    input[119] = NewDocument::from_json_metadata("t", meta);
    let err = ingest_many(input).expect_err("document 119 has a number");
    assert_eq!(err.field, "documents[119].metadata.n");
}

#[test]
fn batches_keep_the_chunking_and_map_ids_back() {
    let batches =
        Ingest::new(docs(60)).chunk_size(256).chunk_overlap(32).into_batches().expect("valid");
    assert!(batches
        .iter()
        .all(|b| b.request().chunk_size == Some(256) && b.request().chunk_overlap == Some(32)));
    let invalid = Ingest::new(docs(60)).chunk_size(64).into_batches();
    assert_eq!(invalid.expect_err("bad chunk size").field, "chunk_size");

    let second = &batches[1];
    let accepted: rein_core::jack::IngestAccepted = serde_json::from_value(json!({
        "document_ids": (0..10).map(|i| format!("id-{i}")).collect::<Vec<_>>()
    }))
    .expect("parses");
    let pairs = second.ids_by_index(&accepted).expect("ten ids for ten documents");
    assert_eq!(pairs[0], (50, "id-0".into()));
    assert_eq!(pairs[9], (59, "id-9".into()));

    let short = rein_core::jack::IngestAccepted::default();
    assert_eq!(second.ids_by_index(&short), None);
}
