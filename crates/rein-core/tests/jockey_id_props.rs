//! Ids are encoded as exactly one path segment: whatever an id holds ('/', '..', '?', '#', '%',
//! spaces, any Unicode), the rendered path has exactly the template's segments, and the id's
//! segment decodes back to the id. Empty ids are refused.

mod jockey_support;

use jockey_support::target;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use rein_core::jockey::assets::*;
use rein_core::jockey::items::*;
use rein_core::jockey::stores::*;
use rein_core::jockey::Metadata;
use rein_core::{ApiCall, Error, Request};

/// A path segment as expected: a literal, or the encoding of an id.
enum Seg<'a> {
    Lit(&'static str),
    Id(&'a str),
}
use Seg::{Id, Lit};

fn check(
    request: &Request,
    expected: &[Seg<'_>],
    query: Option<&str>,
) -> Result<(), TestCaseError> {
    let path = request.uri.path();
    let (line_path, line_query) = match request.path_and_query().split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (request.path_and_query(), None),
    };
    prop_assert_eq!(line_path, path);
    prop_assert_eq!(line_query, query, "an id cannot add or change a query");
    let segments: Vec<&str> = path.split('/').collect();
    prop_assert_eq!(segments[0], "", "the path is absolute");
    prop_assert_eq!(segments[1], "v1.3");
    prop_assert_eq!(segments.len(), expected.len() + 2, "segments of {}", path);
    for (seg, want) in segments[2..].iter().zip(expected) {
        match want {
            Lit(lit) => prop_assert_eq!(*seg, *lit),
            Id(id) => {
                prop_assert!(!seg.contains(['/', '?', '#']));
                prop_assert!(*seg != "." && *seg != "..", "a dot segment: {}", seg);
                let decoded = percent_decode_str(seg).decode_utf8();
                prop_assert_eq!(decoded.as_deref().ok(), Some(*id));
            }
        }
    }
    Ok(())
}

fn render<C: ApiCall>(call: C) -> Request {
    call.to_request(&target()).expect("a non-empty id renders")
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[./?#% a-zA-Z0-9~_-]{1,10}",
        "\\PC{1,6}",
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("../..".to_owned()),
        Just("a/../b".to_owned()),
        Just("?x=1#frag".to_owned()),
        Just("%2F".to_owned()),
        Just("%".to_owned()),
        Just(" ".to_owned()),
    ]
    .prop_filter("non-empty", |s| !s.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_id_is_exactly_one_segment(a in id(), b in id()) {
        let meta = Metadata::new;
        check(&render(GetAsset::new(&*a)), &[Lit("assets"), Id(&a)], None)?;
        check(&render(DeleteAsset::new(&*a).force(true)), &[Lit("assets"), Id(&a)], Some("force=true"))?;
        check(&render(ReplaceAssetMetadata::new(&*a, meta())), &[Lit("assets"), Id(&a), Lit("user-metadata")], None)?;
        check(&render(MergeAssetMetadata::new(&*a, meta())), &[Lit("assets"), Id(&a), Lit("user-metadata")], None)?;
        check(&render(DeleteAssetMetadata::new(&*a)), &[Lit("assets"), Id(&a), Lit("user-metadata")], None)?;
        check(&render(GetKnowledgeStore::new(&*a)), &[Lit("knowledge-stores"), Id(&a)], None)?;
        check(&render(UpdateKnowledgeStore::new(&*a)), &[Lit("knowledge-stores"), Id(&a)], None)?;
        check(&render(DeleteKnowledgeStore::new(&*a)), &[Lit("knowledge-stores"), Id(&a)], None)?;
        check(&render(SearchKnowledgeStore::new(&*a, "q")), &[Lit("knowledge-stores"), Id(&a), Lit("search")], None)?;
        check(&render(AddItem::new(&*a, &*b)), &[Lit("knowledge-stores"), Id(&a), Lit("items")], None)?;
        check(&render(ListItems::new(&*a).page(2)), &[Lit("knowledge-stores"), Id(&a), Lit("items")], Some("page=2"))?;
        check(&render(GetItem::new(&*a, &*b)), &[Lit("knowledge-stores"), Id(&a), Lit("items"), Id(&b)], None)?;
        check(&render(DeleteItem::new(&*a, &*b)), &[Lit("knowledge-stores"), Id(&a), Lit("items"), Id(&b)], None)?;
    }

    #[test]
    fn an_id_is_escaped_byte_for_byte_but_its_unreserved_characters(a in id()) {
        // Written out independently of the encoder: RFC 3986 unreserved bytes as they are,
        // every other byte as %XX; an id of only dots escaped whole.
        let expected: String = if a.bytes().all(|b| b == b'.') {
            "%2E".repeat(a.len())
        } else {
            a.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        prop_assert_eq!(rein_core::target::encode_segment(&a), expected);
    }

    #[test]
    fn an_empty_id_is_refused_whatever_the_other(other in id()) {
        let refused = |r: Result<Request, Error>, field: &str| match r {
            Err(Error::Invalid(e)) => e.field == field,
            _ => false,
        };
        let t = target();
        prop_assert!(refused(GetItem::new("", &*other).to_request(&t), "knowledge_store_id"));
        prop_assert!(refused(GetItem::new(&*other, "").to_request(&t), "item_id"));
        prop_assert!(refused(DeleteItem::new(&*other, "").to_request(&t), "item_id"));
        prop_assert!(refused(GetAsset::new("").to_request(&t), "asset_id"));
    }
}
