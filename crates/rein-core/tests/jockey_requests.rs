//! Every Jockey request as rendered: method, path with query, headers (key redacted), body.

mod jockey_support;

use jockey_support::{every_request, shown};

#[test]
fn every_request_renders_as_snapshotted() {
    let requests = every_request();
    assert_eq!(requests.len(), 32);
    for (name, request) in requests {
        insta::assert_snapshot!(name, shown(&request));
    }
}

#[test]
fn the_key_never_appears_in_a_rendering() {
    for (name, request) in every_request() {
        let text = request.render_redacted();
        assert!(!text.contains(jockey_support::KEY), "{name} shows the key");
        assert!(text.contains("x-api-key: <redacted>"), "{name}");
        assert!(!format!("{request:?}").contains(jockey_support::KEY), "{name} Debug");
    }
}

#[test]
fn a_direct_upload_keeps_its_file_a_file() {
    use rein_core::body::Segment;
    let (_, request) = every_request()
        .into_iter()
        .find(|(name, _)| *name == "assets_create_direct")
        .expect("rendered");
    let segments = request.body.segments();
    let files: Vec<_> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::File(f) => Some(f),
            Segment::Bytes(_) | Segment::Range(_) => None,
        })
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].len, 48_213_377);
    assert_eq!(request.body.as_bytes(), None, "never read into memory");
    let length: u64 = request
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a content-length");
    assert_eq!(length, request.body.content_length());
}

#[test]
fn requests_share_the_targets_headers_and_send_them_first() {
    use rein_core::jockey::stores::{CreateKnowledgeStore, GetKnowledgeStore};
    use rein_core::ApiCall;
    let t = jockey_support::target();
    let create = CreateKnowledgeStore::new("a").to_request(&t).expect("valid");
    let get = GetKnowledgeStore::new("ks_1").to_request(&t).expect("valid");
    assert!(std::sync::Arc::ptr_eq(&create.target_headers, &get.target_headers), "shared");
    let all = create.all_headers();
    let names: Vec<&str> = all.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["x-api-key", "accept", "user-agent", "content-type", "content-length"]);
    assert!(get.headers.is_empty(), "a GET adds no header of its own");
    assert_eq!(create.to_http().headers(), &create.all_headers());
}

#[test]
fn a_header_the_request_sets_replaces_the_targets() {
    use http::header::{HeaderValue, USER_AGENT};
    let t = jockey_support::target();
    let request = t
        .request(rein_core::Operation::GetKnowledgeStore, &["ks_1"])
        .header(USER_AGENT, HeaderValue::from_static("mine/1"))
        .header(http::HeaderName::from_static("x-trace"), HeaderValue::from_static("a"))
        .header(http::HeaderName::from_static("x-trace"), HeaderValue::from_static("b"))
        .build()
        .expect("renders");
    let all = request.all_headers();
    let agents: Vec<_> = all.get_all(USER_AGENT).iter().collect();
    assert_eq!(agents, ["mine/1"], "replaced, not repeated");
    let traces: Vec<_> = all.get_all("x-trace").iter().collect();
    assert_eq!(traces, ["a", "b"], "several values of one name all go");
    assert!(all.contains_key("x-api-key"), "the target's other headers stay");
}
