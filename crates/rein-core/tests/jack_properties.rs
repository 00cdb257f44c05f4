//! Properties of jack requests: batching never loses, reorders or overfills; ids stay one path
//! segment.

use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use rein_core::jack::{
    ingest_many, DeleteDocument, GetDocument, NewDocument, MAX_DOCUMENTS_PER_INGEST,
};
use rein_core::{Api, ApiCall, Target};

fn target() -> Target {
    Target::new(Api::Jack, "https://api.usejack.io/v1", "jack_test").expect("a valid target")
}

/// Ids made of arbitrary unicode, with the characters that could break a path mixed in.
fn id() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("%".to_owned()),
        Just("%2F".to_owned()),
        any::<String>(),
    ];
    prop::collection::vec(piece, 1..6)
        .prop_map(|pieces| pieces.concat())
        .prop_filter("ids are not empty", |s| !s.is_empty())
}

proptest! {
    #[test]
    fn batches_never_overfill_reorder_or_lose(n in 1usize..400) {
        let texts: Vec<String> = (0..n).map(|i| format!("doc {i}")).collect();
        let batches = ingest_many(texts.iter().map(|t| NewDocument::new(t.as_str())))
            .expect("valid documents");
        prop_assert_eq!(batches.len(), n.div_ceil(MAX_DOCUMENTS_PER_INGEST));
        let mut next = 0;
        let mut seen = Vec::new();
        for batch in &batches {
            let docs = &batch.request().documents;
            prop_assert!(!docs.is_empty() && docs.len() <= MAX_DOCUMENTS_PER_INGEST);
            prop_assert_eq!(batch.indexes().start, next);
            next = batch.indexes().end;
            seen.extend(docs.iter().map(|d| d.text.clone()));
        }
        prop_assert_eq!(seen, texts);
    }

    #[test]
    fn an_id_is_exactly_one_path_segment(id in id()) {
        for request in [
            GetDocument::new(id.as_str()).to_request(&target()),
            DeleteDocument::new(id.as_str()).to_request(&target()),
        ] {
            let request = request.expect("a non-empty id renders");
            let path = request.uri.path();
            prop_assert!(request.uri.query().is_none(), "{}", request.uri);
            let segment = path.strip_prefix("/v1/documents/").expect("the documents path");
            prop_assert!(!segment.contains('/'));
            prop_assert!(segment != "." && segment != "..");
            let decoded = percent_decode_str(segment).decode_utf8().expect("utf-8");
            prop_assert_eq!(decoded.as_ref(), id.as_str());
        }
    }
}
