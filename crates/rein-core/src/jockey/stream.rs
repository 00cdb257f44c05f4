//! The SSE events of a streamed response, typed.
//!
//! A [`ResponseStreamDecoder`] is fed the body's byte chunks as they arrive, split anywhere
//! (the generic [`EventStream`] handles CRLF, LF and CR line ends, comments and keepalives), and
//! yields [`ResponseEvent`]s until `data: [DONE]`. Events are told apart by their JSON `type`
//! field, falling back to the SSE `event:` name; an event rein does not know is yielded as
//! [`ResponseEvent::Unknown`], so a new event type never breaks a stream.
//!
//! ```
//! use rein::jockey::stream::{ResponseEvent, ResponseStreamDecoder};
//!
//! let mut decoder = ResponseStreamDecoder::new();
//! decoder.feed(b"event: response.output_text.delta\r\ndata: {\"type\":\"response.output_text.del");
//! assert!(decoder.next_event().is_none()); // the event is not complete yet
//! decoder.feed(b"ta\",\"sequence_number\":4,\"delta\":\"Hello\"}\r\n\r\n: keepalive\r\n\r\ndata: [DONE]\r\n\r\n");
//! match decoder.next_event() {
//!     Some(Ok(ResponseEvent::OutputTextDelta(delta))) => assert_eq!(delta.delta, "Hello"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert!(decoder.next_event().is_none());
//! assert!(decoder.is_done());
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::responses::{ContentPart, OutputItem, Response};
use crate::api::Operation;
use crate::decode;
use crate::error::DecodeError;
use crate::sse::{EventStream, SseEvent, SseItem, MAX_EVENT_BYTES};

/// A `response.created`, `.in_progress`, `.completed` or `.failed` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseUpdate {
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The response so far (in full on completion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
}

/// A `response.output_item.added` or `.done` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputItemEvent {
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The item's index in `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_index: Option<u32>,
    /// The item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<OutputItem>,
}

/// A `response.content_part.added` or `.done` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentPartEvent {
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The output item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The item's index in `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_index: Option<u32>,
    /// The part's index in the item's `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<u32>,
    /// The part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<ContentPart>,
}

/// A `response.output_text.delta` event: the next piece of text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDeltaEvent {
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The output item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The item's index in `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_index: Option<u32>,
    /// The part's index in the item's `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<u32>,
    /// The text added.
    #[serde(default)]
    pub delta: String,
}

/// A `response.output_text.done` event: a part's whole text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDoneEvent {
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The output item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The item's index in `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_index: Option<u32>,
    /// The part's index in the item's `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<u32>,
    /// The whole text.
    #[serde(default)]
    pub text: String,
}

/// A `response.function_call_arguments.done` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCallArgumentsEvent {
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// The output item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The item's index in `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_index: Option<u32>,
    /// The call's arguments (a JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// A `keepalive` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepaliveEvent {
    /// The event's position in the stream, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
}

/// One event of a streamed response.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseEvent {
    /// `response.created`.
    Created(ResponseUpdate),
    /// `response.in_progress`.
    InProgress(ResponseUpdate),
    /// `response.completed`: the response in full.
    Completed(ResponseUpdate),
    /// `response.failed`.
    Failed(ResponseUpdate),
    /// `response.output_item.added`.
    OutputItemAdded(OutputItemEvent),
    /// `response.output_item.done`.
    OutputItemDone(OutputItemEvent),
    /// `response.content_part.added`.
    ContentPartAdded(ContentPartEvent),
    /// `response.content_part.done`.
    ContentPartDone(ContentPartEvent),
    /// `response.output_text.delta`.
    OutputTextDelta(TextDeltaEvent),
    /// `response.output_text.done`.
    OutputTextDone(TextDoneEvent),
    /// `response.function_call_arguments.done`.
    FunctionCallArgumentsDone(FunctionCallArgumentsEvent),
    /// `keepalive`: nothing happened yet.
    Keepalive(KeepaliveEvent),
    /// An event this version of rein does not know, or whose data is not JSON.
    Unknown {
        /// Its type (the JSON `type`, else the SSE event name).
        event: String,
        /// Its data, as sent.
        data: String,
    },
}

impl ResponseEvent {
    /// Types an SSE event. Unknown types and non-JSON data become [`ResponseEvent::Unknown`];
    /// a known type whose payload has the wrong shape is an error.
    pub fn from_sse(sse: &SseEvent) -> Result<ResponseEvent, DecodeError> {
        let value: Option<Value> = serde_json::from_str(&sse.data).ok();
        let kind = value
            .as_ref()
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
            .unwrap_or(sse.event.as_str())
            .to_owned();
        let Some(value) = value.filter(Value::is_object) else {
            return Ok(if kind == "keepalive" {
                ResponseEvent::Keepalive(KeepaliveEvent::default())
            } else {
                ResponseEvent::Unknown { event: kind, data: sse.data.clone() }
            });
        };
        let typed = match kind.as_str() {
            "response.created" => ResponseEvent::Created(payload(&kind, value, &sse.data)?),
            "response.in_progress" => ResponseEvent::InProgress(payload(&kind, value, &sse.data)?),
            "response.completed" => ResponseEvent::Completed(payload(&kind, value, &sse.data)?),
            "response.failed" => ResponseEvent::Failed(payload(&kind, value, &sse.data)?),
            "response.output_item.added" => {
                ResponseEvent::OutputItemAdded(payload(&kind, value, &sse.data)?)
            }
            "response.output_item.done" => {
                ResponseEvent::OutputItemDone(payload(&kind, value, &sse.data)?)
            }
            "response.content_part.added" => {
                ResponseEvent::ContentPartAdded(payload(&kind, value, &sse.data)?)
            }
            "response.content_part.done" => {
                ResponseEvent::ContentPartDone(payload(&kind, value, &sse.data)?)
            }
            "response.output_text.delta" => {
                ResponseEvent::OutputTextDelta(payload(&kind, value, &sse.data)?)
            }
            "response.output_text.done" => {
                ResponseEvent::OutputTextDone(payload(&kind, value, &sse.data)?)
            }
            "response.function_call_arguments.done" => {
                ResponseEvent::FunctionCallArgumentsDone(payload(&kind, value, &sse.data)?)
            }
            "keepalive" => ResponseEvent::Keepalive(payload(&kind, value, &sse.data)?),
            _ => ResponseEvent::Unknown { event: kind, data: sse.data.clone() },
        };
        Ok(typed)
    }

    /// The event's type as the wire names it.
    pub fn event_type(&self) -> &str {
        match self {
            ResponseEvent::Created(_) => "response.created",
            ResponseEvent::InProgress(_) => "response.in_progress",
            ResponseEvent::Completed(_) => "response.completed",
            ResponseEvent::Failed(_) => "response.failed",
            ResponseEvent::OutputItemAdded(_) => "response.output_item.added",
            ResponseEvent::OutputItemDone(_) => "response.output_item.done",
            ResponseEvent::ContentPartAdded(_) => "response.content_part.added",
            ResponseEvent::ContentPartDone(_) => "response.content_part.done",
            ResponseEvent::OutputTextDelta(_) => "response.output_text.delta",
            ResponseEvent::OutputTextDone(_) => "response.output_text.done",
            ResponseEvent::FunctionCallArgumentsDone(_) => "response.function_call_arguments.done",
            ResponseEvent::Keepalive(_) => "keepalive",
            ResponseEvent::Unknown { event, .. } => event,
        }
    }

    /// The event's position in the stream, when it carries one.
    pub fn sequence_number(&self) -> Option<u64> {
        match self {
            ResponseEvent::Created(e)
            | ResponseEvent::InProgress(e)
            | ResponseEvent::Completed(e)
            | ResponseEvent::Failed(e) => e.sequence_number,
            ResponseEvent::OutputItemAdded(e) | ResponseEvent::OutputItemDone(e) => {
                e.sequence_number
            }
            ResponseEvent::ContentPartAdded(e) | ResponseEvent::ContentPartDone(e) => {
                e.sequence_number
            }
            ResponseEvent::OutputTextDelta(e) => e.sequence_number,
            ResponseEvent::OutputTextDone(e) => e.sequence_number,
            ResponseEvent::FunctionCallArgumentsDone(e) => e.sequence_number,
            ResponseEvent::Keepalive(e) => e.sequence_number,
            // Read from the data when it is JSON with a sequence_number, as every event's is.
            ResponseEvent::Unknown { data, .. } => {
                serde_json::from_str::<KeepaliveEvent>(data).ok().and_then(|e| e.sequence_number)
            }
        }
    }
}

fn payload<T: DeserializeOwned>(kind: &str, value: Value, data: &str) -> Result<T, DecodeError> {
    serde_json::from_value(value).map_err(|e| {
        stream_error(
            200,
            &format!("a {kind} event does not have the expected shape: {e}"),
            data.as_bytes(),
        )
    })
}

/// A decode error of a response stream (the stream's status was a success).
pub(crate) fn stream_error(status: u16, reason: &str, data: &[u8]) -> DecodeError {
    DecodeError {
        endpoint: Some(Operation::CreateResponse.endpoint()),
        status,
        reason: decode::bounded(reason),
        excerpt: decode::excerpt(data),
        body_len: data.len(),
        // The request went through: its answer is what could not be read.
        may_have_succeeded: true,
    }
}

/// Decodes a streamed response incrementally: [`feed`](Self::feed) byte chunks as they arrive,
/// take events with [`next_event`](Self::next_event). The stream ends at `data: [DONE]`.
#[derive(Debug, Default)]
pub struct ResponseStreamDecoder {
    sse: EventStream,
    done: bool,
}

impl ResponseStreamDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        ResponseStreamDecoder::default()
    }

    /// Feeds the next chunk, of any size, split anywhere.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.sse.feed(chunk);
    }

    /// Ends the stream: an event not followed by a blank line is discarded.
    pub fn finish(&mut self) {
        self.sse.finish();
    }

    /// The next complete event, if there is one. An oversized event (more than
    /// [`MAX_EVENT_BYTES`]) or a known event whose payload has the wrong shape is an error; the
    /// stream goes on after it.
    pub fn next_event(&mut self) -> Option<Result<ResponseEvent, DecodeError>> {
        if self.done {
            return None;
        }
        match self.sse.next_item()? {
            SseItem::Event(event) => Some(ResponseEvent::from_sse(&event)),
            SseItem::Done => {
                self.done = true;
                None
            }
            SseItem::Oversized { bytes } => Some(Err(stream_error(
                200,
                &format!(
                    "an event of more than {MAX_EVENT_BYTES} bytes ({bytes} so far) was dropped"
                ),
                b"",
            ))),
        }
    }

    /// Whether `[DONE]` has been seen: no event will follow.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes a whole stream at once.
    pub fn decode_all(bytes: &[u8]) -> Vec<Result<ResponseEvent, DecodeError>> {
        let mut decoder = ResponseStreamDecoder::new();
        decoder.feed(bytes);
        decoder.finish();
        std::iter::from_fn(|| decoder.next_event()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: serde's message quotes the value it could not read, and a stream's
    /// decode error kept it as its reason unscrubbed (and cut by characters, not bytes).
    #[test]
    fn an_undecodable_event_keeps_no_key_in_its_error() {
        let mut decoder = ResponseStreamDecoder::default();
        decoder.feed(
            b"data: {\"type\":\"response.content_part.added\",\"output_index\":\"jack_live_0123456789abcdef\"}\n\n",
        );
        let error = decoder.next_event().expect("an event").expect_err("undecodable");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(error.reason.len() <= decode::EXCERPT_LIMIT + 3, "{}", error.reason.len());
    }

    fn sse(event: &str, data: &str) -> SseEvent {
        SseEvent { event: event.into(), data: data.into(), id: None, retry_ms: None }
    }

    #[test]
    fn unknown_and_non_json_events_never_fail() {
        let e = ResponseEvent::from_sse(&sse(
            "response.reasoning.delta",
            r#"{"type":"response.reasoning.delta","x":1}"#,
        ));
        assert!(
            matches!(e, Ok(ResponseEvent::Unknown { ref event, .. }) if event == "response.reasoning.delta")
        );
        let e = ResponseEvent::from_sse(&sse("keepalive", "ping"));
        assert_eq!(e, Ok(ResponseEvent::Keepalive(KeepaliveEvent::default())));
        let e = ResponseEvent::from_sse(&sse("message", "not json"));
        assert!(matches!(e, Ok(ResponseEvent::Unknown { .. })));
        let e = ResponseEvent::from_sse(&sse("message", "[1,2]"));
        assert!(matches!(e, Ok(ResponseEvent::Unknown { .. })));
    }

    #[test]
    fn the_json_type_wins_over_the_event_name() {
        let e = ResponseEvent::from_sse(&sse(
            "message",
            r#"{"type":"response.output_text.delta","delta":"x"}"#,
        ));
        assert!(matches!(e, Ok(ResponseEvent::OutputTextDelta(ref d)) if d.delta == "x"));
        let e = ResponseEvent::from_sse(&sse("response.output_text.delta", r#"{"delta":"y"}"#));
        assert!(matches!(e, Ok(ResponseEvent::OutputTextDelta(ref d)) if d.delta == "y"));
    }

    #[test]
    fn a_known_event_of_the_wrong_shape_is_an_error_and_the_stream_goes_on() {
        let all = ResponseStreamDecoder::decode_all(
            b"data: {\"type\":\"response.output_text.delta\",\"delta\":5}\n\ndata: {\"type\":\"keepalive\"}\n\n",
        );
        assert_eq!(all.len(), 2);
        assert!(all[0].is_err());
        assert!(all[1].is_ok());
    }
}
