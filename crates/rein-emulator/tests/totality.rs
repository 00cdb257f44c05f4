//! No input panics the model: any method, path, headers and body get a typed response.

use bytes::Bytes;
use proptest::prelude::*;
use rein_core::{Body, Now};
use rein_emulator::{Config, Emulator, FaultPlan, DEMO_JACK_KEY, DEMO_JOCKEY_KEY};

const PATHS: &[&str] = &[
    "/v1.3/assets",
    "/v1.3/assets/x",
    "/v1.3/assets/x/user-metadata",
    "/v1.3/knowledge-stores",
    "/v1.3/knowledge-stores/ks_x",
    "/v1.3/knowledge-stores/ks_x/items",
    "/v1.3/knowledge-stores/ks_x/items/ksi_x",
    "/v1.3/knowledge-stores/ks_x/search",
    "/v1.3/responses",
    "/v1.3/assets/multipart-uploads",
    "/v1.3/assets/multipart-uploads/x",
    "/v1.3/assets/multipart-uploads/x/presigned-urls",
    "/_presigned/x/1",
    "/_presigned/x/0",
    "/_presigned/x",
    "/v1/ingest",
    "/v1/ingest/file",
    "/v1/documents",
    "/v1/documents/x",
    "/v1/query",
    "/v1/usage",
    "/v1/keys",
    "/v1/keys/x",
    "/v1",
    "/v1.3",
    "/elsewhere",
    "/_emulator/log",
];

fn body_strategy() -> impl Strategy<Value = (Option<&'static str>, Vec<u8>)> {
    let json_ish = prop_oneof![
        Just(br#"{"documents":[{"text":"a"}]}"#.to_vec()),
        Just(br#"{"name":"s","ingestion_config":{"enrichment_config":{"type":"json_schema","json_schema":{"type":"object","properties":{"a":{"type":["string","null"]}}}}}}"#.to_vec()),
        Just(br#"{"tools":[{"type":"knowledge_store"}],"input":"x","stream":true}"#.to_vec()),
        Just(br#"{"question":"q","top_k":"7","filters":[1]}"#.to_vec()),
        Just(br#"{"query":{"text":"q"},"page_token":7,"page_size":-1}"#.to_vec()),
        Just(br#"{"filename":"a.mp4","type":"video","total_size":1000000000000}"#.to_vec()),
        Just(br#"{"filename":"a.png","type":"image","total_size":5,"user_metadata":{"a":[1]}}"#.to_vec()),
        Just(br#"{"completed_chunks":[{"chunk_index":1,"proof":"x","proof_type":"etag","chunk_size":-1}]}"#.to_vec()),
        Just(br#"{"start":4294967295,"count":50}"#.to_vec()),
        Just(b"--b\r\ncontent-disposition: form-data; name=\"method\"\r\n\r\ndirect\r\n--b--\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..200),
    ];
    (
        prop_oneof![
            Just(None),
            Just(Some("application/json")),
            Just(Some("multipart/form-data; boundary=b")),
            Just(Some("multipart/form-data")),
        ],
        json_ish,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_request_gets_a_response(
        requests in proptest::collection::vec(
            (
                prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("PATCH"), Just("DELETE"), Just("HEAD")],
                proptest::sample::select(PATHS),
                "[a-z=&%0-9_]{0,20}",
                any::<bool>(),
                body_strategy(),
                0u32..100_000,
            ),
            1..12,
        ),
        seed in any::<u64>(),
        faults in 0.0f64..0.5,
    ) {
        let mut e = Emulator::new(Config { seed, faults: FaultPlan::spread(faults), failure_rate: 0.3, ..Config::default() });
        for (method, path, query, authed, (content_type, body), millis) in requests {
            let mut req = http::Request::builder()
                .method(method)
                .uri(format!("http://emulator{path}?{query}"));
            if authed {
                req = req
                    .header("x-api-key", DEMO_JOCKEY_KEY)
                    .header("authorization", format!("Bearer {DEMO_JACK_KEY}"));
            }
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let req = req.body(Body::Bytes(Bytes::from(body))).expect("request");
            let reply = e.handle(req, Now::fake(f64::from(millis) / 1000.0));
            let status = reply.response.status().as_u16();
            prop_assert!((200..600).contains(&status));
            let ct = reply.response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            if ct == "application/json" {
                prop_assert!(serde_json::from_slice::<serde_json::Value>(reply.response.body()).is_ok());
            }
        }
    }
}
