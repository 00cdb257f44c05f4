//! `request_validation`: [`ApiCall::validate`] and [`ApiCall::to_request`] of jack and Jockey
//! calls built from any strings, numbers, metadata and JSON.
//!
//! The input is text: the first line names the call (`jack.ingest`, `jockey.create_store`, ...;
//! any other first line picks one by its hash), each further line is one field in the order the
//! call's builder below reads them. `~` (or the end of the input) leaves an optional field out;
//! `\n` and `\r` in a line stand for a line feed and a carriage return. Metadata is a JSON
//! object or `key=value;...` pairs (a value that is JSON is read as JSON, `nan` and `inf` as
//! floats). Properties:
//! - `to_request` refuses exactly what `validate` refuses, with the same error, and renders
//!   whatever it accepts; the other API's target is always refused;
//! - an accepted request has the operation's method, an absolute URI that reads back the same,
//!   the target's host, a path of exactly the template's segments (each id is one segment), a
//!   `content-length` equal to the body's, a content type for any body, a JSON body that parses,
//!   credentials redacted in its rendering;
//! - a multipart form has exactly one delimiter per part (no field or file name can carry the
//!   boundary) and part headers that are only `content-disposition` and `content-type`.

use std::sync::OnceLock;

use http::{Method, Uri};
use rein_core::jack::{self, NewDocument};
use rein_core::jockey::ingestion::check_json_schema;
use rein_core::jockey::items::ItemStatus;
use rein_core::jockey::responses::{ResponsesShape, SelectionKind, TextFormat, Tool};
use rein_core::jockey::stores::{EqIn, SearchFilter};
use rein_core::jockey::{self as jk, IngestionConfig, Metadata, MetadataValue};
use rein_core::request::RedactedHeaders;
use rein_core::{Api, ApiCall, Body, Error, FileSource, Multipart, Operation, Segment, Target};
use serde_json::Value;

use super::{count, find};

/// The key of the fuzz targets. `!` is escaped in paths and refused in boundaries, so no field
/// of the input can bring the key into a rendered head.
const JACK_KEY: &str = "jack_fuzz!key!0123456789";
const JOCKEY_KEY: &str = "tlk_fuzz!key!0123456789";

/// The calls, by the name a seed's first line gives.
pub const CALLS: [&str; 22] = [
    "jack.ingest",
    "jack.ingest_batches",
    "jack.query",
    "jack.get_document",
    "jack.delete_document",
    "jack.ingest_file",
    "jockey.create_store",
    "jockey.update_store",
    "jockey.get_store",
    "jockey.list_stores",
    "jockey.add_item",
    "jockey.get_item",
    "jockey.list_items",
    "jockey.search",
    "jockey.create_response",
    "jockey.create_asset_url",
    "jockey.create_asset_direct",
    "jockey.list_assets",
    "jockey.asset_metadata",
    "jockey.delete_asset",
    "json_schema",
    "target",
];

fn targets() -> &'static (Target, Target) {
    static TARGETS: OnceLock<(Target, Target)> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let jack = Target::new(Api::Jack, Api::Jack.default_base_url(), JACK_KEY);
        let jockey = Target::new(Api::Jockey, Api::Jockey.default_base_url(), JOCKEY_KEY);
        (jack.expect("the jack target"), jockey.expect("the Jockey target"))
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut f = Fields::new(data);
    let first = f.text();
    let call = CALLS
        .iter()
        .position(|c| *c == first.trim())
        .unwrap_or_else(|| (super::sse::fnv1a(first.as_bytes()) % CALLS.len() as u64) as usize);
    match CALLS[call] {
        "jack.ingest" => check(&ingest(&mut f)),
        "jack.ingest_batches" => ingest_batches(ingest(&mut f)),
        "jack.query" => {
            let mut q = jack::Query::new(f.text());
            for (k, v) in f.pairs() {
                q = q.filter(k, v);
            }
            if let Some(k) = f.num() {
                q = q.top_k(k);
            }
            check(&q)
        }
        "jack.get_document" => check(&jack::GetDocument::new(f.text())),
        "jack.delete_document" => check(&jack::DeleteDocument::new(f.text())),
        "jack.ingest_file" => {
            let mut r = jack::IngestFile::new(FileSource::new(f.text(), f.num64().unwrap_or(1)));
            if let Some(name) = f.opt() {
                r = r.file_name(name);
            }
            if let Some(b) = f.opt() {
                r = r.boundary(b);
            }
            check(&r)
        }
        "jockey.create_store" => {
            let mut r = jk::CreateKnowledgeStore::new(f.text());
            if let Some(d) = f.opt() {
                r = r.description(d);
            }
            if let Some(m) = f.metadata() {
                r = r.metadata(m);
            }
            if let Some(c) = f.ingestion_config() {
                r = r.ingestion_config(c);
            }
            check(&r)
        }
        "jockey.update_store" => {
            let mut r = jk::UpdateKnowledgeStore::new(f.text());
            if let Some(n) = f.opt() {
                r = r.name(n);
            }
            if let Some(d) = f.opt() {
                r = r.description(d);
            }
            if let Some(m) = f.metadata() {
                r = r.metadata(m);
            }
            check(&r)
        }
        "jockey.get_store" => check(&jk::GetKnowledgeStore::new(f.text())),
        "jockey.list_stores" => {
            let mut r = jk::ListKnowledgeStores::new();
            if let Some(p) = f.num() {
                r = r.page(p);
            }
            if let Some(l) = f.num() {
                r = r.page_limit(l);
            }
            if let Some(s) = f.opt() {
                r = r.sort_by(s.as_str().into());
            }
            if let Some(s) = f.opt() {
                r = r.sort_option(s.as_str().into());
            }
            check(&r)
        }
        "jockey.add_item" => {
            let mut r = jk::AddItem::new(f.text(), f.text());
            if let Some(t) = f.opt() {
                r = r.asset_type(t.as_str().into());
            }
            if let Some(m) = f.metadata() {
                r = r.metadata(m);
            }
            check(&r)
        }
        "jockey.get_item" => check(&jk::GetItem::new(f.text(), f.text())),
        "jockey.list_items" => {
            let mut r = jk::ListItems::new(f.text());
            if let Some(p) = f.num() {
                r = r.page(p);
            }
            if let Some(l) = f.num() {
                r = r.page_limit(l);
            }
            let statuses: Vec<ItemStatus> =
                f.list().iter().map(|s| ItemStatus::from(s.as_str())).collect();
            if !statuses.is_empty() {
                r = r.statuses(statuses);
            }
            check(&r)
        }
        "jockey.search" => {
            let mut r = jk::SearchKnowledgeStore::new(f.text(), f.text());
            if let Some(t) = f.opt() {
                r = r.page_token(t);
            }
            if let Some(n) = f.num() {
                r = r.page_size(n);
            }
            let ids = f.list();
            if !ids.is_empty() {
                r = r.filter(SearchFilter { item_id: Some(EqIn::any_of(ids)), asset_type: None });
            }
            if let Some(g) = f.opt() {
                r = r.group_by(g.as_str().into());
            }
            check(&r)
        }
        "jockey.create_response" => check(&create_response(&mut f)),
        "jockey.create_asset_url" => {
            let mut r = jk::CreateAsset::url(f.text());
            r = asset_options(r, &mut f);
            check(&r)
        }
        "jockey.create_asset_direct" => {
            let mut r = jk::CreateAsset::direct(FileSource::new(f.text(), f.num64().unwrap_or(1)));
            r = asset_options(r, &mut f);
            if let Some(ct) = f.opt() {
                r = r.file_content_type(ct);
            }
            check(&r)
        }
        "jockey.list_assets" => {
            let mut r = jk::ListAssets::new();
            if let Some(p) = f.num() {
                r = r.page(p);
            }
            if let Some(l) = f.num() {
                r = r.page_limit(l);
            }
            let ids = f.list();
            if !ids.is_empty() {
                r = r.asset_ids(ids);
            }
            let types = f.list();
            if !types.is_empty() {
                r = r.asset_types(types.iter().map(|t| t.as_str().into()));
            }
            if let Some(name) = f.opt() {
                r = r.filename(name);
            }
            check(&r)
        }
        "jockey.asset_metadata" => {
            let id = f.text();
            let meta = f.metadata().unwrap_or_default();
            check(&jk::MergeAssetMetadata::new(id.clone(), meta.clone()));
            check(&jk::ReplaceAssetMetadata::new(id.clone(), meta));
            check(&jk::DeleteAssetMetadata::new(id))
        }
        "jockey.delete_asset" => {
            let id = f.text();
            check(&jk::GetAsset::new(id.clone()));
            check(&jk::DeleteAsset::new(id).force(f.flag()))
        }
        "json_schema" => {
            let text = f.rest();
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                let _ = check_json_schema(&value);
                let config = IngestionConfig::json_schema(value.clone());
                let _ = config.validate().map_err(|e| e.to_string());
                if let Ok(config) = serde_json::from_value::<IngestionConfig>(value) {
                    let _ = config.validate();
                    check(&jk::CreateKnowledgeStore::new("store").ingestion_config(config));
                }
            }
        }
        _ => target_from(&mut f),
    }
}

fn ingest(f: &mut Fields) -> jack::Ingest {
    let n = f.num().unwrap_or(1).min(120) as usize;
    let texts: Vec<String> = (0..n.min(8)).map(|_| f.text()).collect();
    let metadata = f.json().and_then(|v| match v {
        Value::Object(map) => Some(map),
        _ => None,
    });
    let pairs = f.pairs();
    let mut documents = Vec::with_capacity(n);
    for i in 0..n {
        let text = texts.get(i % texts.len().max(1)).cloned().unwrap_or_default();
        let doc = match (&metadata, i % 2) {
            (Some(map), 0) => NewDocument::from_json_metadata(text, map.clone()),
            _ => pairs.iter().fold(NewDocument::new(text), |d, (k, v)| d.metadata(k, v)),
        };
        documents.push(doc);
    }
    let mut r = jack::Ingest::new(documents);
    if let Some(s) = f.num() {
        r = r.chunk_size(s);
    }
    if let Some(o) = f.num() {
        r = r.chunk_overlap(o);
    }
    r
}

fn ingest_batches(ingest: jack::Ingest) {
    let documents = ingest.documents.len();
    let valid = ingest.validate();
    match ingest.into_batches() {
        Ok(batches) => {
            let mut next = 0;
            for batch in &batches {
                let range = batch.indexes();
                assert_eq!(range.start, next, "batches in order, none skipped");
                assert!(!range.is_empty() && range.len() <= jack::MAX_DOCUMENTS_PER_INGEST);
                next = range.end;
                check(batch);
            }
            assert_eq!(next, documents, "every document in a batch");
            if documents <= jack::MAX_DOCUMENTS_PER_INGEST {
                assert!(valid.is_ok(), "batched, but refused whole: {valid:?}");
            }
        }
        Err(e) => assert!(
            valid.is_err() || documents > jack::MAX_DOCUMENTS_PER_INGEST,
            "a valid ingest refused in batches: {e}"
        ),
    }
}

fn create_response(f: &mut Fields) -> jk::CreateResponse {
    let mut r = jk::CreateResponse::ask(f.text(), f.text());
    if f.flag() {
        r = r.shape(ResponsesShape::TopLevel);
    }
    if let Some(extra) = f.opt() {
        r = r.tools(vec![Tool::knowledge_store(extra.clone()), Tool::knowledge_store(extra)]);
    }
    if let Some(m) = f.opt() {
        r = r.message(m);
    }
    if let Some(s) = f.opt() {
        r = r.session_id(s);
    }
    if let Some(i) = f.opt() {
        r = r.instructions(i);
    }
    if let Some(s) = f.opt() {
        let kind = if s.len() % 2 == 0 { SelectionKind::Item } else { SelectionKind::Collection };
        r = r.selection(kind, s);
    }
    if let Some(name) = f.opt() {
        let schema = f.json().unwrap_or(Value::Null);
        r = r.text_format(TextFormat::JsonSchema { name, schema, description: None, strict: None });
    }
    r.stream(f.flag())
}

fn asset_options(mut r: jk::CreateAsset, f: &mut Fields) -> jk::CreateAsset {
    if let Some(name) = f.opt() {
        r = r.filename(name);
    }
    if let Some(m) = f.metadata() {
        r = r.user_metadata(m);
    }
    if let Some(b) = f.opt() {
        r = r.boundary(b);
    }
    r.enable_hls(f.flag()).enable_thumbnail(f.flag())
}

/// A target from any base URL and key: refused, or one whose requests are well formed.
fn target_from(f: &mut Fields) {
    let api = if f.flag() { Api::Jack } else { Api::Jockey };
    let (url, key, id) = (f.text(), f.text(), f.text());
    let made = if f.flag() {
        Target::allow_insecure_http(api, &url, key.as_str())
    } else {
        Target::new(api, &url, key.as_str())
    };
    let Ok(target) = made else { return };
    let base = target.base_url();
    assert!(!base.path().contains(|c: char| !c.is_ascii_graphic()), "base path {base}");
    assert!(base.authority().is_some_and(|a| !a.as_str().contains('@')), "userinfo in {base}");
    let request = match api {
        Api::Jack => jack::GetDocument::new(id).to_request(&target),
        Api::Jockey => jk::GetAsset::new(id).to_request(&target),
    };
    if let Ok(request) = request {
        check_request(&request, &target);
    }
}

/// The properties of one call, against its API's target and the other's.
fn check<R: ApiCall>(call: &R) {
    let (jack, jockey) = targets();
    let (own, other) = match R::OPERATION.api() {
        Api::Jack => (jack, jockey),
        Api::Jockey => (jockey, jack),
    };
    let valid = call.validate();
    match (valid, call.to_request(own)) {
        (Ok(()), Ok(request)) => check_request(&request, own),
        (Ok(()), Err(e)) => panic!("a valid {:?} failed to render: {e}", R::OPERATION),
        (Err(v), Ok(_)) => panic!("an invalid {:?} rendered ({v})", R::OPERATION),
        (Err(v), Err(Error::Invalid(refused))) => {
            assert_eq!(*refused, v, "to_request refuses with validate's error");
            assert!(v.count() >= 1 && !v.field.is_empty());
            let _ = v.to_string();
        }
        (Err(v), Err(e)) => panic!("{:?} refused as {e:?}, not as {v:?}", R::OPERATION),
    }
    match call.to_request(other) {
        Err(Error::Invalid(refused)) if refused.field == "target" => {}
        other => panic!("{:?} sent to the other API: {other:?}", R::OPERATION),
    }
}

/// The properties of an accepted request.
fn check_request(request: &rein_core::Request, target: &Target) {
    let op: Operation = request.operation;
    assert_eq!(request.method, op.method());
    let uri = &request.uri;
    let reread: Uri = uri.to_string().parse().expect("the URI reads back");
    assert_eq!(&reread, uri, "the URI reads back the same");
    assert_eq!(uri.authority(), target.base_url().authority(), "the target's host");
    assert_eq!(uri.scheme(), target.base_url().scheme());
    let base_path = target.base_url().path().trim_end_matches('/');
    let path = uri.path();
    assert!(path.starts_with(base_path), "{path} is outside {base_path}");
    let expected = format!("{base_path}{}", op.path_template());
    assert_eq!(
        path.split('/').count(),
        expected.split('/').count(),
        "{path} does not have the segments of {expected}"
    );
    if let Some(query) = uri.query() {
        for pair in query.split('&') {
            assert_eq!(pair.matches('=').count(), 1, "query pair {pair:?}");
        }
    }

    let headers = request.all_headers();
    let length = headers.get(http::header::CONTENT_LENGTH).map(|v| v.to_str().expect("digits"));
    if !matches!(request.body, Body::Empty) || op.method() != Method::GET {
        assert_eq!(length, Some(request.body.content_length().to_string().as_str()));
    }
    let content_type = headers.get(http::header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
    if request.body.content_length() > 0 {
        assert!(content_type.is_some(), "a body without a content type");
    }
    match &request.body {
        Body::Bytes(bytes) if content_type == Some("application/json") => {
            serde_json::from_slice::<Value>(bytes).expect("a JSON body parses");
        }
        Body::Multipart(form) => {
            let announced = form.content_type();
            assert_eq!(content_type, Some(announced.as_str()));
            check_form(form);
        }
        _ => {}
    }

    let shown = request.render_redacted();
    let head = &shown[..shown.find("\n\n").unwrap_or(shown.len())];
    for line in head.lines() {
        if line.starts_with("authorization:") || line.starts_with("x-api-key:") {
            assert!(line.ends_with("<redacted>"), "credentials shown: {line}");
        }
    }
    let debug = format!("{:?}", RedactedHeaders(&headers));
    assert!(!debug.contains("fuzz!key!"), "credentials in Debug: {debug}");
}

/// A form must frame every part with exactly one delimiter, and each part's head must be the
/// lines rein writes, whatever the field values, names and content types.
fn check_form(form: &Multipart) {
    let mut wire = b"\r\n".to_vec();
    let mut length = 0u64;
    for segment in Body::Multipart(form.clone()).segments() {
        match segment {
            Segment::Bytes(b) => {
                length += b.len() as u64;
                wire.extend_from_slice(&b);
            }
            Segment::File(file) => {
                length += file.len;
                wire.extend_from_slice(b"<file>");
            }
            Segment::Range(range) => {
                length += range.len;
                wire.extend_from_slice(b"<file>");
            }
        }
    }
    assert_eq!(length, form.content_length(), "the form's announced length");
    let delimiter = format!("\r\n--{}", form.boundary());
    let delimiters = count(&wire, delimiter.as_bytes());
    assert_eq!(
        delimiters,
        form.parts().len() + 1,
        "the boundary {:?} occurs inside a part of {:?}",
        form.boundary(),
        form.parts()
    );
    let mut rest = &wire[delimiter.len()..];
    for part in form.parts() {
        let head_end = find(rest, b"\r\n\r\n").expect("a part head ends");
        let head = String::from_utf8_lossy(&rest[..head_end]);
        let lines: Vec<&str> = head.split("\r\n").skip(1).collect();
        let expected = 1 + usize::from(part.content_type.is_some());
        assert_eq!(lines.len(), expected, "part {:?} has head lines {lines:?}", part.name);
        assert!(lines[0].starts_with("content-disposition: form-data; name=\""));
        if lines.len() > 1 {
            assert!(lines[1].starts_with("content-type: "), "head line {:?}", lines[1]);
        }
        let next = find(&rest[head_end..], delimiter.as_bytes()).expect("a delimiter follows");
        rest = &rest[head_end + next + delimiter.len()..];
    }
    assert_eq!(rest, b"--\r\n", "the closing delimiter ends the form");
}

/// The fields of an input, one a line.
struct Fields {
    lines: std::vec::IntoIter<String>,
}

impl Fields {
    fn new(data: &[u8]) -> Self {
        let text = String::from_utf8_lossy(data);
        let lines: Vec<String> =
            text.split('\n').map(|l| l.replace("\\n", "\n").replace("\\r", "\r")).collect();
        Fields { lines: lines.into_iter() }
    }

    /// The next field, empty when there is none.
    fn text(&mut self) -> String {
        self.lines.next().unwrap_or_default()
    }

    /// The next field, `None` for `~` or when there is none.
    fn opt(&mut self) -> Option<String> {
        self.lines.next().filter(|l| l != "~")
    }

    /// Everything left, lines joined again.
    fn rest(&mut self) -> String {
        self.lines.by_ref().collect::<Vec<_>>().join("\n")
    }

    fn num64(&mut self) -> Option<u64> {
        self.opt().map(|s| {
            let s = s.trim();
            s.parse::<u64>().unwrap_or_else(|_| {
                if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
                    u64::MAX
                } else {
                    super::sse::fnv1a(s.as_bytes()) % 100_000
                }
            })
        })
    }

    fn num(&mut self) -> Option<u32> {
        self.num64().map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn flag(&mut self) -> bool {
        self.opt().is_some_and(|s| s.starts_with(['t', '1', 'y']))
    }

    fn json(&mut self) -> Option<Value> {
        self.opt().and_then(|s| serde_json::from_str(&s).ok())
    }

    /// `a,b,c`; nothing for `~` or an empty line.
    fn list(&mut self) -> Vec<String> {
        self.opt()
            .filter(|s| !s.is_empty())
            .map(|s| s.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// `key=value;...` as string pairs.
    fn pairs(&mut self) -> Vec<(String, String)> {
        self.opt()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.split(';')
                    .map(|p| match p.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        None => (p.to_owned(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn metadata(&mut self) -> Option<Metadata> {
        let line = self.opt()?;
        if let Ok(map) = serde_json::from_str::<Metadata>(&line) {
            return Some(map);
        }
        let value = |v: &str| match v {
            "nan" => MetadataValue::Float(f64::NAN),
            "inf" => MetadataValue::Float(f64::INFINITY),
            "-inf" => MetadataValue::Float(f64::NEG_INFINITY),
            _ => serde_json::from_str::<MetadataValue>(v).unwrap_or(MetadataValue::from(v)),
        };
        Some(
            line.split(';')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_owned(), value(v)),
                    None => (p.to_owned(), MetadataValue::Null),
                })
                .collect(),
        )
    }

    fn ingestion_config(&mut self) -> Option<IngestionConfig> {
        let line = self.opt()?;
        Some(match serde_json::from_str::<Value>(&line) {
            Ok(schema @ Value::Object(_)) => IngestionConfig::json_schema(schema),
            _ => IngestionConfig::description(line),
        })
    }
}
