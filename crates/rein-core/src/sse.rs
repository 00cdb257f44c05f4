//! Server-sent events, decoded incrementally from byte chunks split anywhere.
//!
//! Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR (a CRLF split across two
//! chunks is one line end); a blank line dispatches the event; lines starting with `:` are
//! comments (keepalives); `data` lines accumulate; a leading BOM is dropped. A `data: [DONE]`
//! event ends the stream. Memory is bounded: an event larger than [`MAX_EVENT_BYTES`] is an error,
//! not an allocation.

use std::collections::VecDeque;

/// The largest event (all its lines together) the decoder buffers.
pub const MAX_EVENT_BYTES: usize = 8 << 20;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, or `"message"` when none was given.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen, if any.
    pub id: Option<String>,
    /// A `retry:` field (milliseconds), if this event carried one.
    pub retry_ms: Option<u64>,
}

/// What the decoder yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseItem {
    /// An event.
    Event(SseEvent),
    /// `data: [DONE]`: the stream is over.
    Done,
    /// An event exceeded [`MAX_EVENT_BYTES`]; it was dropped.
    Oversized {
        /// How many bytes it had reached when it was dropped.
        bytes: usize,
    },
}

/// An incremental event-stream decoder: [`feed`](EventStream::feed) bytes, then take items with
/// [`next_item`](EventStream::next_item).
#[derive(Debug, Default)]
pub struct EventStream {
    line: Vec<u8>,
    after_cr: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
    event_bytes: usize,
    oversized: bool,
    done: bool,
    ready: VecDeque<SseItem>,
}

impl EventStream {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        EventStream::default()
    }

    /// Feeds the next chunk of the stream, of any size, split anywhere.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut bytes = chunk;
        if !self.started && !bytes.is_empty() {
            // The BOM may itself arrive split; hold back a partial one.
            let bom = b"\xEF\xBB\xBF";
            let have = self.line.len();
            let mut probe = self.line.clone();
            probe.extend_from_slice(&bytes[..bytes.len().min(3 - have.min(3))]);
            if bom.starts_with(&probe) && probe.len() < 3 {
                self.line = probe;
                return;
            }
            self.started = true;
            if probe.starts_with(bom) {
                let skip = 3 - have;
                self.line.clear();
                bytes = &bytes[skip..];
            }
        }
        for &b in bytes {
            if self.done {
                return;
            }
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&line);
                }
                _ => {
                    self.after_cr = false;
                    self.event_bytes += 1;
                    if self.event_bytes > MAX_EVENT_BYTES {
                        self.oversized = true;
                        self.line.clear();
                    } else {
                        self.line.push(b);
                    }
                }
            }
        }
    }

    /// Ends the stream. Per the event-stream rules, an event not followed by a blank line is
    /// discarded; anything already dispatched stays available.
    pub fn finish(&mut self) {
        self.line.clear();
        self.reset_event();
    }

    /// The next decoded item, if one is complete.
    pub fn next_item(&mut self) -> Option<SseItem> {
        self.ready.pop_front()
    }

    /// Whether `[DONE]` has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn line_done(&mut self, line: &[u8]) {
        if line.is_empty() {
            return self.dispatch();
        }
        if self.oversized {
            return;
        }
        if line[0] == b':' {
            return; // a comment: keepalive
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&text[..], ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry_ms = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.oversized {
            self.ready.push_back(SseItem::Oversized { bytes: self.event_bytes });
        } else if self.has_data {
            if self.data == "[DONE]" {
                self.ready.push_back(SseItem::Done);
                self.done = true;
            } else {
                self.ready.push_back(SseItem::Event(SseEvent {
                    event: self
                        .event
                        .take()
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "message".to_owned()),
                    data: std::mem::take(&mut self.data),
                    id: self.last_id.clone(),
                    retry_ms: self.retry_ms,
                }));
            }
        }
        self.reset_event();
    }

    fn reset_event(&mut self) {
        self.event = None;
        self.data.clear();
        self.has_data = false;
        self.retry_ms = None;
        self.event_bytes = 0;
        self.oversized = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> Vec<SseItem> {
        let mut s = EventStream::new();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c);
            while let Some(item) = s.next_item() {
                out.push(item);
            }
        }
        s.finish();
        while let Some(item) = s.next_item() {
            out.push(item);
        }
        out
    }

    fn ev(event: &str, data: &str) -> SseItem {
        SseItem::Event(SseEvent {
            event: event.into(),
            data: data.into(),
            id: None,
            retry_ms: None,
        })
    }

    #[test]
    fn events_comments_and_done() {
        let stream = b": keepalive\n\nevent: response.created\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\ndata: [DONE]\n\ndata: after\n\n";
        assert_eq!(
            decode(&[stream]),
            vec![ev("response.created", "{\"a\":1}"), ev("message", "x\ny"), SseItem::Done]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let items = decode(&[b"data: a\r", b"\n\r", b"\ndata: b\r\r"]);
        assert_eq!(items, vec![ev("message", "a"), ev("message", "b")]);
    }

    #[test]
    fn bom_split_across_chunks_is_dropped() {
        let items = decode(&[b"\xEF", b"\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(items, vec![ev("message", "a")]);
    }

    #[test]
    fn an_unterminated_event_is_discarded() {
        assert_eq!(decode(&[b"data: a\n\ndata: partial"]), vec![ev("message", "a")]);
    }

    #[test]
    fn oversized_events_are_dropped_not_buffered() {
        let big = vec![b'x'; MAX_EVENT_BYTES + 10];
        let mut s = EventStream::new();
        s.feed(b"data: ");
        s.feed(&big);
        s.feed(b"\n\ndata: ok\n\n");
        assert!(matches!(s.next_item(), Some(SseItem::Oversized { .. })));
        assert_eq!(s.next_item(), Some(ev("message", "ok")));
    }
}
