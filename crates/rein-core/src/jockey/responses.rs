//! Responses (`POST /responses`): a question answered by Jockey over a knowledge store, in a
//! session that later requests can continue, optionally streamed as SSE (see
//! [`stream`](super::stream)).
//!
//! The sources disagree on how the request names its store. The error reference asks for a
//! `tools` array with exactly one `knowledge_store` tool; the OpenAPI spec has no `tools` and a
//! top-level `knowledge_store_id`. [`ResponsesShape`] picks one: [`ResponsesShape::Tools`], the
//! references' shape, by default; [`ResponsesShape::TopLevel`] for the spec's.
//!
//! ```
//! use rein::core::{ApiCall, Target};
//! use rein::jockey::responses::{CreateResponse, ResponsesShape};
//! use rein::Api;
//!
//! let target = Target::new(Api::Jockey, "https://api.twelvelabs.io/v1.3", "tlk_demo")?;
//! let ask = CreateResponse::ask("ks_1", "Who scored the second goal?");
//! let body = ask.to_request(&target)?.body.as_bytes().unwrap_or_default();
//! assert_eq!(
//!     std::str::from_utf8(&body)?,
//!     r#"{"tools":[{"type":"knowledge_store","knowledge_store_id":"ks_1"}],"input":[{"type":"message","role":"user","content":"Who scored the second goal?"}],"stream":false}"#
//! );
//!
//! let spec_shape = ask.clone().shape(ResponsesShape::TopLevel);
//! let body = spec_shape.to_request(&target)?.body.as_bytes().unwrap_or_default();
//! assert!(std::str::from_utf8(&body)?.starts_with(r#"{"knowledge_store_id":"ks_1","input""#));
//!
//! // No input: refused before sending, with the references' fix.
//! let err = CreateResponse::new("ks_1").to_request(&target).unwrap_err();
//! assert_eq!(err.hint().map(|h| h.fix), Some("Add at least one message"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::KnowledgeStoreId;
use super::require_id;
use super::stream::{ResponseEvent, ResponseStreamDecoder};
use crate::api::Operation;
use crate::api_call::ApiCall;
use crate::decode;
use crate::error::{DecodeError, Error, Problem, ValidationError};
use crate::hint::{rows, Hint};
use crate::request::Request;
use crate::target::Target;

/// The name of the field that carries the store's id inside a `knowledge_store` tool object, in
/// the references' [`ResponsesShape::Tools`] shape: the name the OpenAPI spec gives the store's
/// id at the top level.
// A guess. No source gives it: the error reference only says "Add exactly one knowledge_store
// tool", and the OpenAPI spec has no tools at all. If the server wants another name, this
// constant is the one place to change.
pub const KNOWLEDGE_STORE_TOOL_ID_FIELD: &str = "knowledge_store_id";

/// The most characters a message's content may have.
pub const MAX_CONTENT_CHARS: usize = 10_000;

/// How a [`CreateResponse`] names its knowledge store on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResponsesShape {
    /// The references' shape: `"tools": [{"type": "knowledge_store", "knowledge_store_id": "…"}]`
    /// (the inner field's name is [`KNOWLEDGE_STORE_TOOL_ID_FIELD`]).
    #[default]
    Tools,
    /// The OpenAPI spec's shape: a top-level `"knowledge_store_id": "…"` and no `tools`.
    TopLevel,
}

crate::open_enum! {
    /// The type of a tool.
    pub enum ToolType {
        /// Answers from a knowledge store.
        KnowledgeStore = "knowledge_store",
    }
}

/// A tool of a response request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    /// What the tool is.
    pub kind: ToolType,
    /// The store it reads (for a `knowledge_store` tool).
    pub knowledge_store_id: Option<KnowledgeStoreId>,
}

impl Tool {
    /// A `knowledge_store` tool over store `knowledge_store_id`.
    pub fn knowledge_store(knowledge_store_id: impl Into<KnowledgeStoreId>) -> Self {
        Tool { kind: ToolType::KnowledgeStore, knowledge_store_id: Some(knowledge_store_id.into()) }
    }
}

impl Serialize for Tool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &self.kind)?;
        if let Some(id) = &self.knowledge_store_id {
            map.serialize_entry(KNOWLEDGE_STORE_TOOL_ID_FIELD, id)?;
        }
        map.end()
    }
}

/// A user message (`{"type": "message", "role": "user", "content": …}`; `user` is the only
/// role the API knows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputMessage {
    /// The text, 1 to 10,000 characters. `{{sel:N}}` refers to the N-th selection.
    pub content: String,
}

impl Serialize for InputMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("type", "message")?;
        map.serialize_entry("role", "user")?;
        map.serialize_entry("content", &self.content)?;
        map.end()
    }
}

crate::open_enum! {
    /// Extra output to include.
    pub enum Include {
        /// The agent's intermediate outputs (commentary, tool calls).
        IntermediateOutputs = "intermediate_outputs",
    }
}

crate::open_enum! {
    /// What a selection refers to.
    pub enum SelectionKind {
        /// One item (`ksi_…`).
        Item = "item",
        /// An item collection (`ksic_…`).
        Collection = "collection",
    }
}

/// A selection, referred to in content as `{{sel:N}}` (0-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// What it refers to.
    pub kind: SelectionKind,
    /// The item's or collection's id.
    pub id: String,
}

/// The format of the answer (`text.format`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TextFormat {
    /// Plain text.
    #[serde(rename = "text")]
    Text,
    /// JSON following a schema.
    #[serde(rename = "json_schema")]
    JsonSchema {
        /// The format's name.
        name: String,
        /// The schema (a JSON object).
        schema: serde_json::Value,
        /// A description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Whether the schema is enforced strictly.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

#[derive(Serialize)]
struct TextParam<'a> {
    format: &'a TextFormat,
}

/// rein: a message's content outside 1..=10,000 characters.
pub const CONTENT_LENGTH_HINT: Hint = Hint::new(
    "Message content outside 1..10,000 characters",
    "Send between 1 and 10,000 characters per message",
);

/// rein: tools that are not exactly one `knowledge_store` tool with a store id (the
/// references' row is for a missing tools array; its fix holds here too).
pub const ONE_STORE_TOOL_HINT: Hint = Hint::new(
    "Not exactly one knowledge_store tool with a store id",
    rows::RESPONSE_TOOLS_REQUIRED.fix,
);

/// rein: the OpenAPI shape without a store.
pub const STORE_ID_REQUIRED_HINT: Hint = Hint::new(
    "Missing knowledge_store_id",
    "Pass the id of exactly one knowledge store to answer from",
);

/// rein: a malformed answer format.
pub const TEXT_FORMAT_HINT: Hint = Hint::new(
    "A json_schema answer format without a name or an object schema",
    "Give the format a name and a JSON object schema",
);

/// `POST /responses`: asks Jockey a question over a knowledge store.
///
/// The decoded output is the final [`Response`]. With [`stream`](CreateResponse::stream) on, the
/// body is an SSE stream: feed it to a [`ResponseStreamDecoder`] as it arrives; `decode` also
/// accepts a whole stream and returns the response its last `response.completed` (or `.failed`)
/// event carried.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateResponse {
    shape: ResponsesShape,
    tools: Vec<Tool>,
    input: Vec<InputMessage>,
    session_id: Option<String>,
    instructions: Option<String>,
    include: Vec<Include>,
    selections: Vec<Selection>,
    text: Option<TextFormat>,
    stream: bool,
}

impl CreateResponse {
    /// A request over store `knowledge_store_id`, with no input yet (add it with
    /// [`message`](CreateResponse::message)).
    pub fn new(knowledge_store_id: impl Into<KnowledgeStoreId>) -> Self {
        CreateResponse {
            shape: ResponsesShape::default(),
            tools: vec![Tool::knowledge_store(knowledge_store_id)],
            input: Vec::new(),
            session_id: None,
            instructions: None,
            include: Vec::new(),
            selections: Vec::new(),
            text: None,
            stream: false,
        }
    }

    /// A question `content` over store `knowledge_store_id`.
    pub fn ask(
        knowledge_store_id: impl Into<KnowledgeStoreId>,
        content: impl Into<String>,
    ) -> Self {
        CreateResponse::new(knowledge_store_id).message(content)
    }

    /// How the request names its store on the wire.
    pub fn shape(mut self, shape: ResponsesShape) -> Self {
        self.shape = shape;
        self
    }

    /// Replaces the tools (the references' shape needs exactly one `knowledge_store` tool).
    pub fn tools(mut self, tools: Vec<Tool>) -> Self {
        self.tools = tools;
        self
    }

    /// Appends a user message.
    pub fn message(mut self, content: impl Into<String>) -> Self {
        self.input.push(InputMessage { content: content.into() });
        self
    }

    /// Continues session `session_id` (leave it out to start a new session).
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// A system prompt for this request.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Extra output to include.
    pub fn include(mut self, include: Include) -> Self {
        self.include.push(include);
        self
    }

    /// Appends a selection (referred to as `{{sel:N}}`, N counting from 0).
    pub fn selection(mut self, kind: SelectionKind, id: impl Into<String>) -> Self {
        self.selections.push(Selection { kind, id: id.into() });
        self
    }

    /// The answer's format.
    pub fn text_format(mut self, format: TextFormat) -> Self {
        self.text = Some(format);
        self
    }

    /// Asks for an SSE stream of events instead of one JSON response.
    pub fn stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Whether the answer comes as an SSE stream.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// The wire shape in use.
    pub fn wire_shape(&self) -> ResponsesShape {
        self.shape
    }

    fn store_tools(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter().filter(|t| t.kind == ToolType::KnowledgeStore)
    }

    /// The id of the single `knowledge_store` tool, when there is exactly one tool and it is one.
    fn the_store(&self) -> Option<&str> {
        match self.tools.as_slice() {
            [tool] if tool.kind == ToolType::KnowledgeStore => {
                let id = tool.knowledge_store_id.as_ref()?.as_str();
                (!id.is_empty()).then_some(id)
            }
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    knowledge_store_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a [Tool]>,
    input: &'a [InputMessage],
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<&'a str>,
    #[serde(skip_serializing_if = "is_empty_slice")]
    include: &'a [Include],
    #[serde(skip_serializing_if = "is_empty_slice")]
    selections: &'a [Selection],
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<TextParam<'a>>,
    stream: bool,
}

fn is_empty_slice<T>(s: &&[T]) -> bool {
    s.is_empty()
}

impl ApiCall for CreateResponse {
    type Output = Response;
    const OPERATION: Operation = Operation::CreateResponse;
    type Plan = crate::Call<Response>;

    /// A whole answer, in one JSON body: the request goes without `stream` whatever it says (an
    /// answer streamed as events is [`OpenResponse`](super::response_stream::OpenResponse)'s).
    fn plan(&self, runner: &crate::Runner) -> Result<Self::Plan, Error> {
        runner.call(&self.clone().stream(false))
    }

    fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        if self.the_store().is_none() {
            let (field, hint) = match self.shape {
                // The references' row is about a missing tools array; other tools get its fix.
                ResponsesShape::Tools if self.tools.is_empty() => {
                    ("tools", rows::RESPONSE_TOOLS_REQUIRED)
                }
                ResponsesShape::Tools => ("tools", ONE_STORE_TOOL_HINT),
                ResponsesShape::TopLevel => ("knowledge_store_id", STORE_ID_REQUIRED_HINT),
            };
            let stores = self.store_tools().count();
            let problem = if stores == 1 && self.tools.len() == 1 {
                "the knowledge_store tool has no store id".to_owned()
            } else {
                format!(
                    "exactly one knowledge_store tool is required; found {} tool(s), {stores} of them knowledge_store",
                    self.tools.len()
                )
            };
            found.push(Problem::new(field, problem, hint));
        }
        if self.input.is_empty() {
            found.push(Problem::new("input", "no message", rows::RESPONSE_INPUT_REQUIRED));
        }
        for (i, message) in self.input.iter().enumerate() {
            let n = message.content.chars().count();
            if n == 0 || n > MAX_CONTENT_CHARS {
                found.push(Problem::new(
                    format!("input[{i}].content"),
                    format!("{n} characters, outside 1..={MAX_CONTENT_CHARS}"),
                    CONTENT_LENGTH_HINT,
                ));
            }
        }
        if self.session_id.as_deref().is_some_and(|s| s.trim().is_empty()) {
            found.push(Problem::new(
                "session_id",
                "the session id is empty",
                rows::RESPONSE_INVALID_SESSION,
            ));
        }
        for (i, selection) in self.selections.iter().enumerate() {
            require_id(&mut found, &format!("selections[{i}].id"), &selection.id);
        }
        if let Some(TextFormat::JsonSchema { name, schema, .. }) = &self.text {
            if name.trim().is_empty() {
                found.push(Problem::new(
                    "text.format.name",
                    "the format has no name",
                    TEXT_FORMAT_HINT,
                ));
            }
            if !schema.is_object() {
                found.push(Problem::new(
                    "text.format.schema",
                    "the schema is not a JSON object",
                    TEXT_FORMAT_HINT,
                ));
            }
        }
        ValidationError::check(found)
    }

    fn render(&self, target: &Target) -> Result<Request, Error> {
        let (knowledge_store_id, tools) = match self.shape {
            ResponsesShape::Tools => (None, Some(self.tools.as_slice())),
            ResponsesShape::TopLevel => (self.the_store(), None),
        };
        let body = ResponseBody {
            knowledge_store_id,
            tools,
            input: &self.input,
            session_id: self.session_id.as_deref(),
            instructions: self.instructions.as_deref(),
            include: &self.include,
            selections: &self.selections,
            text: self.text.as_ref().map(|format| TextParam { format }),
            stream: self.stream,
        };
        // Never idempotent: every answer is generated and billed, and inside a session a repeat
        // would add the turn twice. The call repeats it only when the server surely did not
        // process it (`Operation::is_billed`).
        target.request(Self::OPERATION, &[]).json(&body).build()
    }

    fn decode(response: http::Response<Bytes>) -> Result<Response, DecodeError> {
        let declared = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("text/event-stream"));
        // A stream sent without its content type still starts with an SSE field or comment.
        let body = response.body();
        let start =
            body.iter().position(|b| !b.is_ascii_whitespace()).map_or(&body[..0], |i| &body[i..]);
        let sniffed = [&b"event:"[..], b"data:", b":"].iter().any(|p| start.starts_with(p));
        let is_stream = declared || sniffed;
        if !is_stream {
            return decode::json(Some(Operation::CreateResponse), &response);
        }
        let mut decoder = ResponseStreamDecoder::new();
        decoder.feed(response.body());
        decoder.finish();
        let mut last = None;
        while let Some(event) = decoder.next_event() {
            match event? {
                ResponseEvent::Completed(update) | ResponseEvent::Failed(update) => {
                    if let Some(r) = update.response {
                        last = Some(r);
                    }
                }
                _ => {}
            }
        }
        last.ok_or_else(|| {
            super::stream::stream_error(
                response.status().as_u16(),
                "the stream ended without a response.completed or response.failed event",
                response.body(),
            )
        })
    }
}

crate::open_enum! {
    /// The status of a response or of one of its output items.
    pub enum ResponseStatus {
        /// Done.
        Completed = "completed",
        /// Failed.
        Failed = "failed",
        /// Still being produced.
        InProgress = "in_progress",
        /// Stopped early (see `incomplete_details`).
        Incomplete = "incomplete",
    }
}

crate::open_enum! {
    /// The kind of an output item.
    pub enum OutputItemType {
        /// A message from the assistant.
        Message = "message",
        /// A tool call.
        FunctionCall = "function_call",
        /// A tool call's result.
        FunctionCallOutput = "function_call_output",
    }
}

crate::open_enum! {
    /// The phase of an assistant message (a missing phase means the answer).
    pub enum MessagePhase {
        /// Thinking aloud, before the answer.
        Commentary = "commentary",
        /// The answer.
        FinalAnswer = "final_answer",
    }
}

crate::open_enum! {
    /// The kind of a content part.
    pub enum ContentPartType {
        /// Text.
        OutputText = "output_text",
    }
}

crate::open_enum! {
    /// The kind of a citation.
    pub enum AnnotationType {
        /// A span of a video.
        VideoCitation = "video_citation",
        /// An image.
        ImageCitation = "image_citation",
        /// An item collection.
        CollectionCitation = "collection_citation",
    }
}

/// `null` or absent as an empty list.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A citation of a span of the answer's text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// What is cited.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AnnotationType>,
    /// First cited character (a code point index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// Last cited character (a code point index, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_index: Option<u64>,
    /// The cited item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The cited collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    /// Start of the cited span, in seconds (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_sec: Option<f64>,
    /// End of the cited span, in seconds (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_sec: Option<f64>,
    /// A title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// An HLS stream of the cited media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls_url: Option<String>,
}

/// A part of a message's content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    /// Its kind.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ContentPartType>,
    /// The text (may contain `[n]` citation markers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Citations.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub annotations: Vec<Annotation>,
}

/// An item of a response's output: a message, a tool call or a tool call's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputItem {
    /// Its kind.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<OutputItemType>,
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// A message's role (`assistant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A message's phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<MessagePhase>,
    /// A message's content.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: Vec<ContentPart>,
    /// A tool call's function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A tool call's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// A tool call's arguments (a JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// A tool call's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl OutputItem {
    /// Whether this is part of the answer: a message whose phase is `final_answer` or missing.
    pub fn is_answer(&self) -> bool {
        self.kind == Some(OutputItemType::Message)
            && matches!(self.phase, None | Some(MessagePhase::FinalAnswer))
    }
}

/// Why a response is incomplete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteDetails {
    /// The reason (e.g. `max_output_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Token usage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Tokens written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
}

/// A response: Jockey's answer, with its session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Its id (`resp_…`; plain `id` on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The store it answered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge_store_id: Option<String>,
    /// The session to pass to continue the conversation (`sess_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The object type, `response` (`type` on the wire).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The object type under its other name, when the server sends `object`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Why it is incomplete (null unless it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<IncompleteDetails>,
    /// The output items.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub output: Vec<OutputItem>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl Response {
    /// The answer's text: the text parts of the answer messages (see
    /// [`OutputItem::is_answer`]), joined.
    pub fn output_text(&self) -> String {
        self.output
            .iter()
            .filter(|item| item.is_answer())
            .flat_map(|item| item.content.iter())
            .filter_map(|part| part.text.as_deref())
            .collect()
    }

    /// Every citation of the answer, in order.
    pub fn annotations(&self) -> impl Iterator<Item = &Annotation> {
        self.output
            .iter()
            .filter(|item| item.is_answer())
            .flat_map(|item| item.content.iter())
            .flat_map(|part| part.annotations.iter())
    }
}
