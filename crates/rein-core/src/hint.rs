//! Fix hints: the references' cause/fix tables as data.
//!
//! An error response is matched first against the per-endpoint rows (Jockey's "Common Errors by
//! Endpoint", matched on the operation and words of the server's code or message), then against
//! the per-status rows of its API's status table. Rows marked "rein" are not in the references;
//! they cover statuses the references list without a fix.
//!
//! A status row names its HTTP status ("Unprocessable Entity — field validation failed"). A
//! request refused before sending got no status, so validation shows a row through
//! [`Hint::pre_flight`]: the same fix, and the cause without the status.

use std::fmt;

use crate::api::{Api, Operation};

/// A cause and its fix.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hint {
    /// What usually causes the error.
    pub cause: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

impl Hint {
    /// A hint from a cause and a fix.
    pub const fn new(cause: &'static str, fix: &'static str) -> Self {
        Hint { cause, fix }
    }

    /// This hint as a request refused before sending shows it: a status row's cause without its
    /// HTTP status ("Unprocessable Entity — field validation failed" becomes "Field validation
    /// failed"), since nothing was sent and no status was given. Any other hint is unchanged.
    ///
    /// ```
    /// use rein::core::hint::rows;
    ///
    /// assert_eq!(rows::JACK_422.pre_flight().cause, "Field validation failed");
    /// assert_eq!(rows::JACK_422.pre_flight().fix, rows::JACK_422.fix);
    /// assert_eq!(rows::STORE_NAME_REQUIRED.pre_flight(), rows::STORE_NAME_REQUIRED);
    /// ```
    pub fn pre_flight(self) -> Hint {
        use rows::*;
        // jack's rows: the words after the status. Jockey's status rows are the status alone,
        // so their cause is read off their fix.
        let cause = match self {
            JOCKEY_400 => "Invalid request parameters",
            JOCKEY_401 => "Missing or invalid API key",
            JOCKEY_403 => "The API key lacks a permission",
            JOCKEY_404 => "A resource ID that names nothing",
            JOCKEY_429 => "Requests over the rate limit",
            JOCKEY_5XX => "A failure on the server's side",
            // rein never sends malformed JSON, so only the row's second cause can apply.
            JACK_400 => "Missing required field",
            JACK_401 => "Missing or invalid API key",
            JACK_403 => "API key has been revoked",
            JACK_404 => "Document or resource does not exist",
            JACK_413 => "File exceeds 100MB",
            JACK_415 => "File format not supported",
            JACK_422 => "Field validation failed",
            JACK_429 => "Rate limit exceeded",
            JACK_5XX => "Something went wrong on jack's end",
            _ => return self,
        };
        Hint { cause, fix: self.fix }
    }
}

impl fmt::Debug for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hint({:?} -> {:?})", self.cause, self.fix)
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (cause: {})", self.fix, self.cause)
    }
}

/// Hints named after the references' rows, shared by error decoding and pre-flight validation
/// (which shows them through [`Hint::pre_flight`]).
pub mod rows {
    use super::Hint;

    /// rein: a 404 from an endpoint that names no resource, or a framework's bare "Not Found":
    /// the request went to the wrong place.
    pub const NO_SUCH_ENDPOINT: Hint = Hint::new(
        "No such endpoint: the base URL is probably wrong",
        "Check the base URL (Jockey: https://api.twelvelabs.io/v1.3, jack: https://api.usejack.io/v1)",
    );

    /// rein: connections refused, or a host name that did not resolve.
    pub const UNREACHABLE: Hint = Hint::new(
        "The service could not be reached: connection refused, a host name that did not resolve, a TLS handshake that failed, or no connection in time",
        "Check the base URL and the network",
    );

    // Jockey: Common Errors by Endpoint.
    /// Assets: method required.
    pub const ASSET_METHOD_REQUIRED: Hint =
        Hint::new("Missing upload method", "Add method: \"direct\" or method: \"url\"");
    /// Assets: file too large.
    pub const ASSET_FILE_TOO_LARGE: Hint =
        Hint::new("Direct upload > 200MB", "Use URL upload method instead");
    /// Assets: invalid URL.
    pub const ASSET_INVALID_URL: Hint =
        Hint::new("URL not accessible", "Check URL is public and reachable");
    /// Knowledge stores: invalid schema.
    pub const STORE_INVALID_SCHEMA: Hint = Hint::new(
        "Bad JSON Schema in ingestion config",
        "Validate against JSON Schema draft 2020-12",
    );
    /// Knowledge stores: name required.
    pub const STORE_NAME_REQUIRED: Hint = Hint::new("Missing name field", "Add a name");
    /// Items: asset not found.
    pub const ITEM_ASSET_NOT_FOUND: Hint =
        Hint::new("Invalid asset_id", "Check asset exists and is ready");
    /// Items: store not found.
    pub const ITEM_STORE_NOT_FOUND: Hint =
        Hint::new("Invalid knowledge_store_id", "Check knowledge store ID");
    /// Responses: tools required.
    pub const RESPONSE_TOOLS_REQUIRED: Hint =
        Hint::new("Missing tools array", "Add exactly one knowledge_store tool");
    /// Responses: invalid session.
    pub const RESPONSE_INVALID_SESSION: Hint =
        Hint::new("Bad session_id", "Start a new session (omit session_id)");
    /// Responses: input required.
    pub const RESPONSE_INPUT_REQUIRED: Hint =
        Hint::new("Missing input array", "Add at least one message");

    // Jockey: HTTP Status Codes.
    /// Jockey 400.
    pub const JOCKEY_400: Hint = Hint::new("Bad Request", "Fix request parameters");
    /// Jockey 401.
    pub const JOCKEY_401: Hint = Hint::new("Unauthorized", "Check API key");
    /// Jockey 403.
    pub const JOCKEY_403: Hint = Hint::new("Forbidden", "Check permissions");
    /// Jockey 404.
    pub const JOCKEY_404: Hint = Hint::new("Not Found", "Check resource ID");
    /// Jockey 429.
    pub const JOCKEY_429: Hint = Hint::new("Rate Limited", "Back off and retry");
    /// Jockey 5xx.
    pub const JOCKEY_5XX: Hint = Hint::new("Server Error", "Retry with backoff");
    /// rein: Jockey 409 when deleting an asset that indexed assets reference.
    pub const JOCKEY_ASSET_IN_USE: Hint = Hint::new(
        "Indexed assets still reference the asset",
        "Delete with force=true, or remove the references first",
    );
    /// rein: Jockey 410 on a search page token.
    pub const JOCKEY_PAGE_TOKEN_EXPIRED: Hint =
        Hint::new("The search page token expired", "Run the search again from its first page");
    /// rein: 408 from either API.
    pub const REQUEST_TIMEOUT: Hint = Hint::new(
        "The server timed out waiting for the request",
        "Retry; if it persists, check the network path for slow uploads",
    );
    /// rein: 409 from either API.
    pub const CONFLICT: Hint = Hint::new(
        "The request conflicts with the resource's current state",
        "Fetch the resource, then retry with its current state",
    );
    /// rein: 410 from either API.
    pub const GONE: Hint =
        Hint::new("The resource no longer exists", "Start again from a fresh listing or search");
    /// rein: 415 from Jockey.
    pub const JOCKEY_415: Hint = Hint::new(
        "The body's content type is not what the endpoint takes",
        "Send assets as multipart/form-data and everything else as application/json",
    );
    /// rein: Jockey 422 (the SDK declares it for invalid ingestion configs).
    pub const JOCKEY_422: Hint = Hint::new(
        "Field validation failed",
        "Check field types and values; every JSON schema property needs a description",
    );

    // jack: Status codes.
    /// jack 400.
    pub const JACK_400: Hint = Hint::new(
        "Bad Request — malformed JSON or missing required field",
        "Check your request body against the endpoint reference",
    );
    /// jack 401.
    pub const JACK_401: Hint =
        Hint::new("Unauthorized — missing or invalid API key", "Check your Authorization header");
    /// jack 403.
    pub const JACK_403: Hint =
        Hint::new("Forbidden — API key has been revoked", "Generate a new key from the dashboard");
    /// jack 404.
    pub const JACK_404: Hint = Hint::new(
        "Not Found — document or resource does not exist",
        "Check the ID — it may have been deleted",
    );
    /// jack 413.
    pub const JACK_413: Hint = Hint::new(
        "Payload Too Large — file exceeds 100MB",
        "Compress or split the file before uploading",
    );
    /// jack 415.
    pub const JACK_415: Hint = Hint::new(
        "Unsupported Media Type — file format not supported",
        "Use .pdf, .docx, .txt, or .md",
    );
    /// jack 422.
    pub const JACK_422: Hint = Hint::new(
        "Unprocessable Entity — field validation failed",
        "Check field types and value ranges",
    );
    /// jack 429.
    pub const JACK_429: Hint =
        Hint::new("Too Many Requests — rate limit exceeded", "Wait 60 seconds, then retry");
    /// jack 500 (and other 5xx).
    pub const JACK_5XX: Hint = Hint::new(
        "Internal Server Error — something went wrong on our end",
        "Retry after 30 seconds. Contact support if it persists",
    );
    /// jack: an empty documents list (the error page's own example).
    pub const JACK_EMPTY_DOCUMENTS: Hint =
        Hint::new("documents list must not be empty", "Send at least one document");
    /// rein: jack metadata values that are not strings.
    pub const JACK_METADATA_STRINGS: Hint =
        Hint::new("Metadata values must be strings", "Convert every metadata value to a string");
}

/// The hint for an error response, from the operation (if known), the status, and the server's
/// code and message.
pub fn for_response(
    api: Api,
    operation: Option<Operation>,
    status: u16,
    server_words: &str,
) -> Option<Hint> {
    let words = server_words.to_ascii_lowercase();
    if status == 404 && no_such_endpoint(operation, words.trim()) {
        return Some(rows::NO_SUCH_ENDPOINT);
    }
    endpoint_row(operation, status, &words).or_else(|| status_row(api, operation, status))
}

/// Whether a 404 says the endpoint itself is not there, rather than a resource: the path names
/// no resource that could be missing, or the answer is a web framework's bare "Not Found" for a
/// route it does not know (both APIs name what they did not find: "Document not found").
fn no_such_endpoint(operation: Option<Operation>, words: &str) -> bool {
    // A response names its knowledge store (and session) in its body, not its path.
    let names_a_resource = operation
        .is_some_and(|op| op.path_template().contains('{') || op == Operation::CreateResponse);
    !names_a_resource || words == "not found" || words == "not_found not found"
}

fn endpoint_row(operation: Option<Operation>, status: u16, words: &str) -> Option<Hint> {
    use rows::*;
    let has = |w: &str| words.contains(w);
    match operation? {
        Operation::CreateAsset => {
            if status == 413 || has("too large") || has("file size") || has("exceeds") {
                Some(ASSET_FILE_TOO_LARGE)
            } else if has("method") {
                Some(ASSET_METHOD_REQUIRED)
            } else if has("url") {
                Some(ASSET_INVALID_URL)
            } else {
                None
            }
        }
        Operation::CreateKnowledgeStore => {
            if has("schema") || has("ingestion") || has("description") {
                Some(STORE_INVALID_SCHEMA)
            } else if has("name") {
                Some(STORE_NAME_REQUIRED)
            } else {
                None
            }
        }
        Operation::AddItem | Operation::ListItems | Operation::GetItem | Operation::DeleteItem => {
            if has("asset") && (has("not found") || has("not_found") || status == 404) {
                Some(ITEM_ASSET_NOT_FOUND)
            } else if has("store") && (has("not found") || has("not_found") || status == 404) {
                Some(ITEM_STORE_NOT_FOUND)
            } else {
                None
            }
        }
        Operation::CreateResponse => {
            if has("tool") {
                Some(RESPONSE_TOOLS_REQUIRED)
            } else if has("session") {
                Some(RESPONSE_INVALID_SESSION)
            } else if has("input") {
                Some(RESPONSE_INPUT_REQUIRED)
            } else if has("store") && (has("not found") || has("not_found") || status == 404) {
                Some(ITEM_STORE_NOT_FOUND)
            } else {
                None
            }
        }
        Operation::DeleteAsset if status == 409 => Some(JOCKEY_ASSET_IN_USE),
        Operation::SearchKnowledgeStore if status == 410 => Some(JOCKEY_PAGE_TOKEN_EXPIRED),
        // "documents[0].text must not be empty" is one document's text, not the list.
        Operation::Ingest if has("must not be empty") && has("text") => {
            Some(crate::jack::hints::EMPTY_TEXT)
        }
        Operation::Ingest if has("must not be empty") => Some(JACK_EMPTY_DOCUMENTS),
        _ => None,
    }
}

fn status_row(api: Api, operation: Option<Operation>, status: u16) -> Option<Hint> {
    use rows::*;
    match api {
        Api::Jockey => match status {
            400 => Some(JOCKEY_400),
            401 => Some(JOCKEY_401),
            403 => Some(JOCKEY_403),
            404 => Some(JOCKEY_404),
            413 if operation == Some(Operation::CreateAsset) => Some(ASSET_FILE_TOO_LARGE),
            422 => Some(JOCKEY_422),
            429 => Some(JOCKEY_429),
            415 => Some(JOCKEY_415),
            500..=599 => Some(JOCKEY_5XX),
            _ => common_row(status),
        },
        Api::Jack => match status {
            400 => Some(JACK_400),
            401 => Some(JACK_401),
            403 => Some(JACK_403),
            404 => Some(JACK_404),
            413 => Some(JACK_413),
            415 => Some(JACK_415),
            422 => Some(JACK_422),
            429 => Some(JACK_429),
            500..=599 => Some(JACK_5XX),
            _ => common_row(status),
        },
    }
}

/// Statuses neither reference gives a fix for.
fn common_row(status: u16) -> Option<Hint> {
    use rows::*;
    match status {
        408 => Some(REQUEST_TIMEOUT),
        409 => Some(CONFLICT),
        410 => Some(GONE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ingest_refused_for_blank_text_gets_the_blank_text_hint() {
        let hint = |words| for_response(Api::Jack, Some(Operation::Ingest), 422, words);
        assert_eq!(
            hint("documents[0].text must not be empty"),
            Some(crate::jack::hints::EMPTY_TEXT)
        );
        assert_eq!(hint("documents list must not be empty"), Some(rows::JACK_EMPTY_DOCUMENTS));
    }
}
