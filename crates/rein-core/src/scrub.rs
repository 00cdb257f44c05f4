//! Server text scrubbed of API keys before an error stores it: a gateway page or an error
//! message that echoes the request's headers must not carry the key into logs.
//!
//! Two passes: the client's own key wherever it appears, and anything shaped like a key of
//! either API (a known prefix and a long tail, or the value after `Bearer` / `x-api-key`).

use std::borrow::Cow;

use crate::error::{ApiError, DecodeError};

/// What a key is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The prefix of Twelve Labs keys. A guess: the references never show a key; the keys Twelve
/// Labs issues publicly start with it.
pub const JOCKEY_KEY_PREFIX: &str = "tlk_";

/// Prefixes that make a word a key (jack's is documented, see [`crate::target::JACK_KEY_PREFIX`]).
const KEY_PREFIXES: [&str; 2] = [crate::target::JACK_KEY_PREFIX, JOCKEY_KEY_PREFIX];

/// The shortest tail after a prefix that counts as a key (`jack_docs` in prose is not one).
const MIN_KEY_TAIL: usize = 12;

/// Labels whose value is a credential whatever its shape, compared case-insensitively.
const CREDENTIAL_LABELS: [&str; 3] = ["bearer ", "x-api-key:", "x-api-key="];

/// A client's key kept by a machine that scrubs what it reads later (a response stream's
/// events): its `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Secret(Option<std::sync::Arc<str>>);

impl Secret {
    pub(crate) fn new(key: Option<&str>) -> Self {
        Secret(key.map(Into::into))
    }

    pub(crate) fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.'
}

/// `text` with `key` (the client's own, when given) and every key-shaped word replaced by
/// [`REDACTED`].
pub fn text<'a>(text: &'a str, key: Option<&str>) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    if let Some(key) = key.map(str::trim).filter(|k| k.len() >= 4) {
        if out.contains(key) {
            out = Cow::Owned(out.replace(key, REDACTED));
        }
    }
    if needs_shape_pass(&out) {
        out = Cow::Owned(shapes(&out));
    }
    out
}

fn needs_shape_pass(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    KEY_PREFIXES.iter().any(|p| text.contains(p))
        || CREDENTIAL_LABELS.iter().any(|l| lower.contains(l))
}

/// Replaces key-shaped words and credential values.
fn shapes(text: &str) -> String {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !is_key_char(bytes[i - 1]);
        if boundary {
            if let Some(prefix) = KEY_PREFIXES.iter().find(|p| text[i..].starts_with(**p)) {
                let tail =
                    bytes[i + prefix.len()..].iter().take_while(|c| is_key_char(**c)).count();
                if tail >= MIN_KEY_TAIL {
                    out.push_str(REDACTED);
                    i += prefix.len() + tail;
                    continue;
                }
            }
            if let Some(label) = CREDENTIAL_LABELS.iter().find(|l| lower[i..].starts_with(**l)) {
                let mut j = i + label.len();
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                let value = bytes[j..].iter().take_while(|c| is_key_char(**c)).count();
                if value > 0 {
                    out.push_str(&text[i..j]);
                    out.push_str(REDACTED);
                    i = j + value;
                    continue;
                }
            }
        }
        // Advance by one whole character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

fn scrub_in_place(field: &mut String, key: Option<&str>) {
    if let Cow::Owned(clean) = text(field, key) {
        *field = clean;
    }
}

/// Every piece of server text in `error`, scrubbed.
pub(crate) fn api_error(error: &mut ApiError, key: Option<&str>) {
    for field in [&mut error.code, &mut error.message, &mut error.docs_url, &mut error.detail]
        .into_iter()
        .chain([&mut error.excerpt, &mut error.request_id])
        .flatten()
    {
        scrub_in_place(field, key);
    }
}

/// Every string in `value` (a failed resource as the server sent it), scrubbed.
pub(crate) fn json(value: &mut serde_json::Value, key: Option<&str>) {
    match value {
        serde_json::Value::String(text) => scrub_in_place(text, key),
        serde_json::Value::Array(values) => values.iter_mut().for_each(|v| json(v, key)),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(|v| json(v, key)),
        _ => {}
    }
}

/// The excerpt and reason of `error` (a decoder's message can quote the body), scrubbed.
pub(crate) fn decode_error(error: &mut DecodeError, key: Option<&str>) {
    scrub_in_place(&mut error.excerpt, key);
    scrub_in_place(&mut error.reason, key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_replaced_and_prose_is_not() {
        let t = |s: &str| text(s, Some("my-own-secret-key")).into_owned();
        assert_eq!(t("sent my-own-secret-key twice"), "sent [redacted] twice");
        assert_eq!(t("jack_live_0123456789abcdef!"), "[redacted]!");
        assert_eq!(t("(tlk_0123456789ABCDEFGH)"), "([redacted])");
        assert_eq!(t("Authorization: Bearer abc.def"), "Authorization: Bearer [redacted]");
        assert_eq!(t("X-Api-Key:  zzz"), "X-Api-Key:  [redacted]");
        assert_eq!(t("see jack_docs and tlk_ keys"), "see jack_docs and tlk_ keys");
        assert_eq!(t("nojack_live_0123456789abcdef"), "nojack_live_0123456789abcdef");
        assert_eq!(t("é tlk_0123456789ABCDEFGH é"), "é [redacted] é");
        assert!(matches!(text("plain text", None), Cow::Borrowed(_)));
    }
}
