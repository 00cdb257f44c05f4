//! A minimal JSON value valid against a JSON Schema: what the emulator answers when a response
//! asks for `text.format` `json_schema`. It covers what Jockey's structured outputs accept:
//! objects (required properties only), strings, numbers, integers, booleans, null, arrays,
//! `enum`, `const`, `anyOf` and `$ref` into `$defs`.

use serde_json::{json, Map, Value};

/// How deep `$ref`s are followed before giving up on a recursive schema.
const MAX_DEPTH: usize = 32;

/// A small value valid against `schema` (a schema this generator does not understand yields
/// `null`).
pub(crate) fn minimal_instance(schema: &Value) -> Value {
    generate(schema, schema, 0)
}

fn generate(schema: &Value, root: &Value, depth: usize) -> Value {
    let Value::Object(s) = schema else {
        // `true` (or any non-object) accepts anything.
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(Value::String(r)) = s.get("$ref") {
        return match resolve(root, r) {
            Some(target) => generate(target, root, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(v) = s.get("const") {
        return v.clone();
    }
    if let Some(Value::Array(values)) = s.get("enum") {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = s.get(key) {
            // A non-null branch when there is one: `anyOf: [{...}, {"type": "null"}]` is the
            // usual way to make a field nullable.
            let branch = branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .or_else(|| branches.first());
            if let Some(b) = branch {
                return generate(b, root, depth + 1);
            }
        }
    }
    let kind = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or_else(|| types.first().and_then(Value::as_str))
            .unwrap_or("null"),
        _ if s.contains_key("properties") => "object",
        _ if s.contains_key("items") => "array",
        _ => "null",
    };
    match kind {
        "object" => {
            let properties = s.get("properties").and_then(Value::as_object);
            let mut out = Map::new();
            for name in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                let Some(name) = name.as_str() else { continue };
                let sub = properties.and_then(|p| p.get(name)).unwrap_or(&Value::Bool(true));
                out.insert(name.to_owned(), generate(sub, root, depth + 1));
            }
            Value::Object(out)
        }
        "array" => {
            let n = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = s.get("items").map_or(Value::Null, |i| generate(i, root, depth + 1));
            Value::Array((0..n).map(|_| item.clone()).collect())
        }
        "string" => {
            let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let max = s.get("maxLength").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
            let mut text = String::from("emulated");
            while text.chars().count() < min {
                text.push('x');
            }
            json!(text.chars().take(max).collect::<String>())
        }
        "integer" => json!(integer(s)),
        "number" => number(s),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

fn integer(s: &Map<String, Value>) -> i64 {
    let at_least = |key: &str, shift: f64| s.get(key).and_then(Value::as_f64).map(|m| m + shift);
    let low = at_least("minimum", 0.0).or_else(|| at_least("exclusiveMinimum", 1.0));
    let high = at_least("maximum", 0.0).or_else(|| at_least("exclusiveMaximum", -1.0));
    match (low, high) {
        (Some(l), _) => l.ceil() as i64,
        (None, Some(h)) if h < 0.0 => h.floor() as i64,
        _ => 0,
    }
}

fn number(s: &Map<String, Value>) -> Value {
    if let Some(m) = s.get("minimum") {
        return m.clone();
    }
    if let Some(m) = s.get("exclusiveMinimum").and_then(Value::as_f64) {
        return json!(m + 1.0);
    }
    match s.get("maximum").and_then(Value::as_f64) {
        Some(h) if h < 0.0 => json!(h),
        _ => match s.get("exclusiveMaximum").and_then(Value::as_f64) {
            Some(h) if h <= 0.0 => json!(h - 1.0),
            _ => json!(0),
        },
    }
}

/// Resolves a local reference (`#/$defs/name`, `#/definitions/name`, any JSON pointer).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_properties_get_values_of_their_types() {
        let schema = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 12},
                "score": {"type": "number", "minimum": 2.5},
                "count": {"type": "integer", "exclusiveMinimum": 3},
                "ok": {"type": "boolean"},
                "mood": {"type": "string", "enum": ["calm", "tense"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "who": {"$ref": "#/$defs/person"},
                "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "maximum": -4}]},
                "optional": {"type": "string"}
            },
            "required": ["title", "score", "count", "ok", "mood", "tags", "who", "maybe"],
            "$defs": {"person": {"type": "object", "properties": {"name": {"type": "string"}},
                                 "required": ["name"]}}
        });
        assert_eq!(
            minimal_instance(&schema),
            json!({"title": "emulatedxxxx", "score": 2.5, "count": 4, "ok": true,
                   "mood": "calm", "tags": ["emulated", "emulated"],
                   "who": {"name": "emulated"}, "maybe": -4})
        );
    }

    #[test]
    fn a_recursive_schema_ends() {
        let schema = json!({"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}, "required": ["next"]}}, "$ref": "#/$defs/n"});
        let mut v = &minimal_instance(&schema);
        let mut depth = 0;
        while let Some(next) = v.get("next") {
            v = next;
            depth += 1;
        }
        assert!(depth <= MAX_DEPTH, "{depth}");
    }
}
