//! `sse`: [`rein_core::sse::EventStream`], the typed [`ResponseStreamDecoder`] and
//! `CreateResponse::decode` of a whole stream, on any bytes.
//!
//! The input is the stream; the SSE transcript fixture is the seed. It is decoded whole, then
//! split three ways (chunks of 1 to 16 bytes, a few cuts anywhere, one byte at a time for short
//! inputs), the cuts drawn from a hash of the input so a crash replays. Properties:
//! - every split yields exactly the items of the whole stream, and one of them the same typed
//!   events;
//! - no event name or id holds a line end, no data holds a CR, an event name is never empty;
//! - nothing follows `[DONE]`;
//! - a typed event that fails to decode is a [`DecodeError`] with a bounded, scrubbed excerpt.

use bytes::Bytes;
use rein_core::backoff::{Random, SplitMix64};
use rein_core::decode::EXCERPT_LIMIT;
use rein_core::jockey::stream::{ResponseEvent, ResponseStreamDecoder};
use rein_core::jockey::CreateResponse;
use rein_core::sse::{EventStream, SseItem};
use rein_core::{ApiCall, DecodeError};

use super::{assert_no_key, check_decode_error, TEXT_BOUND};

/// Runs one input.
pub fn run(data: &[u8]) {
    let whole = items(&[data]);
    check_items(&whole);
    let typed_whole = typed(&[data]);
    for e in typed_whole.iter().filter_map(|r| r.as_ref().err()) {
        check_stream_error(e);
    }

    let mut rng = SplitMix64::new(fnv1a(data));
    for (i, chunks) in splits(data, &mut rng).iter().enumerate() {
        assert_eq!(items(chunks), whole, "the stream split as {:?}", lens(chunks));
        // The typed decoder only adds JSON on top of the same items: one split is enough.
        if i == 1 {
            assert_eq!(typed(chunks), typed_whole, "the typed stream split as {:?}", lens(chunks));
        }
    }

    // A whole stream as the body of a non-streaming call.
    let mut response = http::Response::new(Bytes::copy_from_slice(data));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/event-stream"));
    if let Err(e) = CreateResponse::decode(response) {
        assert_eq!(e.status, 200);
        assert!(e.excerpt.len() <= TEXT_BOUND, "excerpt of {} bytes", e.excerpt.len());
        assert_no_key(&e.excerpt, "stream decode excerpt");
    }
}

/// Every item of the stream fed as `chunks`, then finished.
fn items(chunks: &[&[u8]]) -> Vec<SseItem> {
    let mut stream = EventStream::new();
    let mut out = Vec::new();
    for chunk in chunks {
        stream.feed(chunk);
        out.extend(std::iter::from_fn(|| stream.next_item()));
    }
    stream.finish();
    out.extend(std::iter::from_fn(|| stream.next_item()));
    out
}

fn typed(chunks: &[&[u8]]) -> Vec<Result<ResponseEvent, DecodeError>> {
    let mut decoder = ResponseStreamDecoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk);
        out.extend(std::iter::from_fn(|| decoder.next_event()));
    }
    decoder.finish();
    out.extend(std::iter::from_fn(|| decoder.next_event()));
    out
}

fn check_items(items: &[SseItem]) {
    for (i, item) in items.iter().enumerate() {
        match item {
            SseItem::Event(e) => {
                assert!(!e.event.is_empty(), "an event without a name");
                assert!(!e.event.contains(['\r', '\n']), "a line end in event {:?}", e.event);
                assert!(!e.data.contains('\r'), "a CR in data {:?}", e.data);
                if let Some(id) = &e.id {
                    assert!(!id.contains(['\r', '\n', '\0']), "id {id:?}");
                }
            }
            SseItem::Done => assert_eq!(i + 1, items.len(), "items after [DONE]"),
            SseItem::Oversized { bytes } => {
                assert!(*bytes > rein_core::sse::MAX_EVENT_BYTES, "oversized at {bytes}")
            }
        }
    }
}

fn check_stream_error(e: &DecodeError) {
    assert!(e.excerpt.len() <= TEXT_BOUND, "excerpt of {} bytes", e.excerpt.len());
    assert!(e.reason.chars().count() <= EXCERPT_LIMIT, "reason of {} chars", e.reason.len());
    assert_no_key(&e.excerpt, "stream event excerpt");
    assert_no_key(&e.reason, "stream event reason");
    let _ = e.to_string();
    if e.body_len == 0 {
        // An oversized event: nothing of it is kept.
        check_decode_error(e, 200, b"");
    }
}

/// Three ways to cut `data`: small chunks, a few cuts, and single bytes when it is short.
fn splits<'a>(data: &'a [u8], rng: &mut SplitMix64) -> Vec<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    let mut small = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let n = (1 + rng.next_u64() % 16) as usize;
        let end = (at + n).min(data.len());
        small.push(&data[at..end]);
        at = end;
    }
    out.push(small);

    let mut cuts: Vec<usize> = (0..1 + rng.next_u64() % 4)
        .map(|_| (rng.next_u64() % (data.len() as u64 + 1)) as usize)
        .collect();
    cuts.push(data.len());
    cuts.sort_unstable();
    let mut few = Vec::new();
    let mut from = 0;
    for cut in cuts {
        few.push(&data[from..cut]); // empty chunks too: feeding nothing must change nothing
        from = cut;
    }
    out.push(few);

    if data.len() <= 1024 {
        out.push(data.chunks(1).collect());
    }
    out
}

fn lens(chunks: &[&[u8]]) -> Vec<usize> {
    chunks.iter().map(|c| c.len()).collect()
}

/// FNV-1a of `data`: split points that depend on the input alone.
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
