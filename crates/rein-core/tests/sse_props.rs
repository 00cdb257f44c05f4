//! Properties of the SSE decoders: however a stream is split into chunks, the same items come
//! out; with one line ending per stream, exactly the events written; no input panics.

mod jockey_support;

use proptest::prelude::*;
use proptest::sample::Index;
use rein_core::jockey::stream::{ResponseEvent, ResponseStreamDecoder};
use rein_core::sse::{EventStream, SseEvent, SseItem};
use rein_core::DecodeError;

/// One piece of a stream, as written.
#[derive(Clone, Debug)]
enum Piece {
    /// `: text` (a keepalive when it says so).
    Comment(String),
    /// An event: optional `event:` and `id:` lines, then `data:` lines, then a blank line.
    Event { name: Option<String>, id: Option<String>, data: Vec<String> },
    /// `retry: n` and a blank line (no data: nothing is dispatched).
    Retry(u32),
    /// An extra blank line.
    Blank,
    /// `data: [DONE]` and a blank line.
    Done,
}

const ENDINGS: [&str; 3] = ["\r\n", "\n", "\r"];

/// Text that fits on one line: any characters but CR, LF and NUL.
fn line_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\r\n\u{0}]{0,12}",
        "[a-z.:_ ]{0,8}",
        Just(String::new()),
        Just("keepalive".to_owned()),
        Just(" leading space".to_owned()),
        Just("{\"type\":\"keepalive\"}".to_owned()),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        line_text().prop_map(Piece::Comment),
        (
            prop::option::of(line_text()),
            prop::option::of(line_text()),
            prop::collection::vec(line_text(), 0..4)
        )
            .prop_filter("[DONE] is its own piece", |(_, _, data)| {
                !(data.len() == 1 && data[0] == "[DONE]")
            })
            .prop_map(|(name, id, data)| Piece::Event { name, id, data }),
        any::<u32>().prop_map(Piece::Retry),
        Just(Piece::Blank),
        Just(Piece::Done),
    ]
}

/// Writes `pieces`, taking each line's ending from `ending` (an index into `ENDINGS`).
fn render(pieces: &[Piece], mut ending: impl FnMut() -> usize) -> Vec<u8> {
    let mut out = String::new();
    let mut line = |s: &str, out: &mut String| {
        out.push_str(s);
        out.push_str(ENDINGS[ending() % 3]);
    };
    for p in pieces {
        match p {
            Piece::Comment(text) => line(&format!(":{text}"), &mut out),
            Piece::Event { name, id, data } => {
                if let Some(name) = name {
                    line(&format!("event: {name}"), &mut out);
                }
                if let Some(id) = id {
                    line(&format!("id: {id}"), &mut out);
                }
                for d in data {
                    line(&format!("data: {d}"), &mut out);
                }
                line("", &mut out);
            }
            Piece::Retry(n) => {
                line(&format!("retry: {n}"), &mut out);
                line("", &mut out);
            }
            Piece::Blank => line("", &mut out),
            Piece::Done => {
                line("data: [DONE]", &mut out);
                line("", &mut out);
            }
        }
    }
    out.into_bytes()
}

/// What a correct decoder yields for `pieces` (one line ending per stream).
fn model(pieces: &[Piece]) -> Vec<SseItem> {
    let mut items = Vec::new();
    let mut last_id: Option<String> = None;
    for p in pieces {
        match p {
            Piece::Event { name, id, data } => {
                if let Some(id) = id {
                    last_id = Some(id.clone());
                }
                if !data.is_empty() {
                    items.push(SseItem::Event(SseEvent {
                        event: name
                            .clone()
                            .filter(|n| !n.is_empty())
                            .unwrap_or_else(|| "message".to_owned()),
                        data: data.join("\n"),
                        id: last_id.clone(),
                        retry_ms: None,
                    }));
                }
            }
            Piece::Done => {
                items.push(SseItem::Done);
                break;
            }
            _ => {}
        }
    }
    items
}

/// Cut points in `0..=len`, sorted.
fn cuts(len: usize, picks: &[Index]) -> Vec<usize> {
    let mut at: Vec<usize> = picks.iter().map(|i| i.index(len + 1)).collect();
    at.sort_unstable();
    at.dedup();
    at
}

fn chunks<'a>(bytes: &'a [u8], at: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut from = 0;
    for &to in at {
        out.push(&bytes[from..to]);
        from = to;
    }
    out.push(&bytes[from..]);
    out
}

fn sse_items(chunks: &[&[u8]]) -> Vec<SseItem> {
    let mut stream = EventStream::new();
    let mut out = Vec::new();
    for c in chunks {
        stream.feed(c);
        while let Some(item) = stream.next_item() {
            out.push(item);
        }
    }
    stream.finish();
    while let Some(item) = stream.next_item() {
        out.push(item);
    }
    out
}

fn response_events(chunks: &[&[u8]]) -> Vec<Result<ResponseEvent, DecodeError>> {
    let mut decoder = ResponseStreamDecoder::new();
    let mut out = Vec::new();
    for c in chunks {
        decoder.feed(c);
        while let Some(event) = decoder.next_event() {
            out.push(event);
        }
    }
    decoder.finish();
    while let Some(event) = decoder.next_event() {
        out.push(event);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any mix of CRLF, LF and CR, any comments, keepalives and [DONE], split anywhere: the same
    /// items as the stream fed whole.
    #[test]
    fn sse_items_do_not_depend_on_chunking(
        pieces in prop::collection::vec(piece(), 0..16),
        endings in prop::collection::vec(0usize..3, 1..64),
        bom in any::<bool>(),
        picks in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let mut k = 0;
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        bytes.extend(render(&pieces, || { k += 1; endings[k % endings.len()] }));
        let whole = sse_items(&[&bytes]);
        let split = sse_items(&chunks(&bytes, &cuts(bytes.len(), &picks)));
        prop_assert_eq!(&split, &whole);
        // Byte by byte, the most adversarial split of all.
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&sse_items(&bytewise), &whole);
    }

    /// With one line ending per stream, the decoder yields exactly the events written, up to
    /// and including [DONE], and nothing after it.
    #[test]
    fn sse_items_are_the_events_written(
        pieces in prop::collection::vec(piece(), 0..16),
        ending in 0usize..3,
        bom in any::<bool>(),
        picks in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        bytes.extend(render(&pieces, || ending));
        let split = sse_items(&chunks(&bytes, &cuts(bytes.len(), &picks)));
        prop_assert_eq!(split, model(&pieces));
    }

    /// The transcript fixture gives the same typed events however it is split.
    #[test]
    fn the_transcript_decodes_the_same_however_split(
        picks in prop::collection::vec(any::<Index>(), 0..40),
    ) {
        let bytes = jockey_support::fixture_bytes("responses-stream.sse");
        let whole = response_events(&[&bytes]);
        prop_assert!(whole.iter().all(Result::is_ok));
        prop_assert_eq!(whole.len(), 22);
        let split = response_events(&chunks(&bytes, &cuts(bytes.len(), &picks)));
        prop_assert_eq!(split, whole);
    }

    /// Arbitrary bytes never panic either decoder, and chunking changes nothing.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        picks in prop::collection::vec(any::<Index>(), 0..16),
    ) {
        let at = cuts(bytes.len(), &picks);
        prop_assert_eq!(sse_items(&chunks(&bytes, &at)), sse_items(&[&bytes]));
        prop_assert_eq!(response_events(&chunks(&bytes, &at)), response_events(&[&bytes]));
    }

    /// Arbitrary event payloads of known types never panic the typed decoder.
    #[test]
    fn arbitrary_payloads_never_panic(
        kind in prop_oneof![
            Just("response.created"), Just("response.completed"), Just("response.output_item.added"),
            Just("response.content_part.done"), Just("response.output_text.delta"),
            Just("response.output_text.done"), Just("response.function_call_arguments.done"),
            Just("keepalive"), Just("other"),
        ],
        data in "[ -~]{0,64}",
    ) {
        let event = SseEvent { event: kind.to_owned(), data, id: None, retry_ms: None };
        let _ = ResponseEvent::from_sse(&event);
    }
}
