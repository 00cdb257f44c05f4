//! Lenient decoding of jack's success bodies: `null` where a value was expected reads as
//! "absent", and an acknowledgement with an empty body is still an acknowledgement.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::api::Operation;
use crate::decode;
use crate::error::DecodeError;

/// `null` (or, with `#[serde(default)]`, a missing field) reads as the type's default.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Metadata as strings. jack documents string values only; a server that sends another value
/// anyway must not make the whole document unreadable, so such a value is kept as its JSON text.
pub(crate) fn string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<BTreeMap<String, Value>>::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(s) => (key, s),
            other => (key, other.to_string()),
        })
        .collect())
}

/// Decodes a JSON body, or `T::default()` when the body is empty (or only whitespace): for
/// acknowledgements, whose every field is optional, so any 2xx counts as accepted.
pub(crate) fn json_or_default<T: DeserializeOwned + Default>(
    op: Operation,
    response: &http::Response<Bytes>,
) -> Result<T, DecodeError> {
    if response.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    decode::json(Some(op), response)
}
