//! A knowledge store's ingestion config, and the rules Jockey imposes on its JSON Schema.
//!
//! The config is set when the store is created and cannot be changed. Its enrichment is either a
//! natural-language description or a JSON Schema (draft 2020-12) of the metadata to extract from
//! each shot. Jockey accepts only a subset of JSON Schema: the root is an object schema with
//! `properties`; every property, nested ones included, has a `description`; and composition,
//! references, string patterns, defaults and the other keywords the spec lists as unsupported
//! return 422. [`check_json_schema`] applies those rules before anything is sent.
//!
//! ```
//! use rein_core::jockey::ingestion::{check_json_schema, IngestionConfig};
//! use serde_json::json;
//!
//! let ok = json!({"type": "object", "properties": {
//!     "players": {"type": "array", "description": "Players on screen",
//!                 "items": {"type": "string"}}
//! }});
//! assert!(check_json_schema(&ok).is_ok());
//!
//! let bad = json!({"type": "object", "properties": {"team": {"type": "string", "pattern": "^[A-Z]+$",
//!                                                            "description": "Team code"}}});
//! let problem = check_json_schema(&bad).unwrap_err();
//! assert_eq!(problem.path, "properties.team.pattern");
//!
//! let config = IngestionConfig::json_schema(ok);
//! assert!(config.validate().is_ok());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;
use crate::hint::{rows, Hint};

/// `ingestion_config`: how content added to a store is processed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngestionConfig {
    /// The enrichment to run on each item.
    pub enrichment_config: EnrichmentConfig,
}

/// `enrichment_config`, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EnrichmentConfig {
    /// Structured extraction following a JSON Schema (`type: "json_schema"`).
    #[serde(rename = "json_schema")]
    JsonSchema {
        /// The schema (draft 2020-12, restricted; see [`check_json_schema`]).
        json_schema: Value,
    },
    /// Natural-language guidance (`type: "description"`).
    #[serde(rename = "description")]
    Description {
        /// The guidance.
        description: String,
    },
    /// A kind of enrichment this version of rein does not know, kept as the server sent it
    /// (and passed through unchecked when sent).
    #[serde(untagged)]
    Other(Value),
}

impl IngestionConfig {
    /// Structured extraction following `schema`.
    pub fn json_schema(schema: Value) -> Self {
        IngestionConfig { enrichment_config: EnrichmentConfig::JsonSchema { json_schema: schema } }
    }

    /// Natural-language guidance.
    pub fn description(description: impl Into<String>) -> Self {
        IngestionConfig {
            enrichment_config: EnrichmentConfig::Description { description: description.into() },
        }
    }

    /// Checks the config against Jockey's rules. The error's field is the path of the offending
    /// part, from `ingestion_config`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        const AT: &str = "ingestion_config.enrichment_config";
        match &self.enrichment_config {
            EnrichmentConfig::JsonSchema { json_schema } => {
                check_json_schema(json_schema).map_err(|p| {
                    let field = if p.path.is_empty() {
                        format!("{AT}.json_schema")
                    } else {
                        format!("{AT}.json_schema.{}", p.path)
                    };
                    ValidationError::new(field, p.problem, rows::STORE_INVALID_SCHEMA)
                })
            }
            EnrichmentConfig::Description { description } if description.trim().is_empty() => {
                Err(ValidationError::new(
                    format!("{AT}.description"),
                    "the description is empty",
                    EMPTY_DESCRIPTION_HINT,
                ))
            }
            _ => Ok(()),
        }
    }
}

/// rein: a description enrichment with no text.
pub const EMPTY_DESCRIPTION_HINT: Hint = Hint::new(
    "A description enrichment without a description",
    "Describe what to extract, or leave ingestion_config out",
);

/// Keywords the spec lists as unsupported (they return 422): composition, conditionals,
/// dependencies, size and string constraints, exclusive bounds, `const`, null handling,
/// annotations, and references.
pub const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "$ref",
    "$defs",
    "definitions",
    "anyOf",
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "minProperties",
    "maxProperties",
    "pattern",
    "minLength",
    "maxLength",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "const",
    "nullable",
    "default",
    "examples",
    "readOnly",
    "writeOnly",
];

/// The `$schema` values that name draft 2020-12.
const DRAFT_2020_12: &[&str] = &[
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2020-12/schema#",
];

/// Where a schema breaks Jockey's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaProblem {
    /// The dotted path of the offending part, from the schema's root (`properties.team.pattern`);
    /// empty for the root itself.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for SchemaProblem {}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks a JSON Schema against Jockey's rules for `json_schema` enrichment.
///
/// The root must be an object schema (`"type": "object"`) with a `properties` object, and
/// `$schema`, when given, must name draft 2020-12. At every level: each entry of `properties`
/// is a schema object with a non-empty string `description`; `type` is a single string (no
/// `["string", "null"]`); `additionalProperties` is a boolean; none of
/// [`UNSUPPORTED_KEYWORDS`] appears. Nested schemas are reached through `properties`, `items`
/// and `prefixItems`. The walk uses an explicit stack, so no depth of nesting can overflow it.
pub fn check_json_schema(schema: &Value) -> Result<(), SchemaProblem> {
    let problem =
        |path: &str, problem: String| Err(SchemaProblem { path: path.to_owned(), problem });
    let Value::Object(root) = schema else {
        return problem("", "the schema is not a JSON object".to_owned());
    };
    match root.get("$schema") {
        None => {}
        Some(Value::String(s)) if DRAFT_2020_12.contains(&s.as_str()) => {}
        Some(other) => {
            return problem(
                "$schema",
                format!("{other} is not draft 2020-12 ({})", DRAFT_2020_12[0]),
            )
        }
    }
    if root.get("type") != Some(&Value::String("object".to_owned())) {
        return problem("type", "the root schema's type must be \"object\"".to_owned());
    }
    if !matches!(root.get("properties"), Some(Value::Object(_))) {
        return problem("properties", "the root schema needs a properties object".to_owned());
    }

    let mut stack: Vec<(String, &Value)> = vec![(String::new(), schema)];
    while let Some((path, node)) = stack.pop() {
        let Value::Object(map) = node else {
            // `items: true` and the like are boolean schemas: nothing to check inside.
            if node.is_boolean() {
                continue;
            }
            return problem(&path, "a schema must be a JSON object".to_owned());
        };
        for keyword in UNSUPPORTED_KEYWORDS {
            if map.contains_key(*keyword) {
                return problem(
                    &join(&path, keyword),
                    format!("the {keyword} keyword is not supported by Jockey"),
                );
            }
        }
        match map.get("type") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(_)) => {
                return problem(
                    &join(&path, "type"),
                    "type arrays (nullable fields) are not supported; leave the field out of required instead"
                        .to_owned(),
                )
            }
            Some(other) => {
                return problem(&join(&path, "type"), format!("{other} is not a type name"))
            }
        }
        match map.get("additionalProperties") {
            None | Some(Value::Bool(_)) => {}
            Some(_) => {
                return problem(
                    &join(&path, "additionalProperties"),
                    "only true or false is supported".to_owned(),
                )
            }
        }
        if let Some(props) = map.get("properties") {
            let at = join(&path, "properties");
            let Value::Object(props) = props else {
                return problem(&at, "properties must be an object".to_owned());
            };
            for (name, sub) in props {
                let sub_path = join(&at, name);
                let described = sub
                    .get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| !d.trim().is_empty());
                if !sub.is_object() {
                    return problem(&sub_path, "a property must be a schema object".to_owned());
                }
                if !described {
                    return problem(
                        &join(&sub_path, "description"),
                        "every property needs a non-empty description".to_owned(),
                    );
                }
                stack.push((sub_path, sub));
            }
        }
        if let Some(items) = map.get("items") {
            stack.push((join(&path, "items"), items));
        }
        if let Some(prefix) = map.get("prefixItems") {
            let at = join(&path, "prefixItems");
            let Value::Array(list) = prefix else {
                return problem(&at, "prefixItems must be an array".to_owned());
            };
            for (i, sub) in list.iter().enumerate() {
                stack.push((format!("{at}[{i}]"), sub));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path_of(schema: Value) -> String {
        check_json_schema(&schema).map_err(|p| p.path).unwrap_err()
    }

    #[test]
    fn every_rule() {
        assert_eq!(path_of(json!([])), "");
        assert_eq!(path_of(json!({"type": "array", "properties": {}})), "type");
        assert_eq!(path_of(json!({"type": "object"})), "properties");
        assert_eq!(
            path_of(
                json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}})
            ),
            "$schema"
        );
        assert_eq!(
            path_of(json!({"type": "object", "properties": {"a": {"type": "string"}}})),
            "properties.a.description"
        );
        for kw in ["$ref", "anyOf", "oneOf", "pattern", "default"] {
            let mut inner = json!({"type": "string", "description": "d"});
            inner[kw] = json!("x");
            let schema = json!({"type": "object", "properties": {"o": {"type": "object", "description": "d",
                "properties": {"deep": inner}}}});
            assert_eq!(path_of(schema), format!("properties.o.properties.deep.{kw}"));
        }
        assert_eq!(
            path_of(
                json!({"type": "object", "properties": {"l": {"type": "array", "description": "d",
                "items": {"type": "object", "properties": {"x": {"type": "string"}}}}}})
            ),
            "properties.l.items.properties.x.description"
        );
        assert_eq!(
            path_of(
                json!({"type": "object", "properties": {"n": {"type": ["string", "null"], "description": "d"}}})
            ),
            "properties.n.type"
        );
        assert_eq!(
            path_of(
                json!({"type": "object", "additionalProperties": {"type": "string"}, "properties": {}})
            ),
            "additionalProperties"
        );
        assert!(check_json_schema(&json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "integer", "description": "d", "minimum": 0},
                           "t": {"type": "array", "description": "d", "prefixItems": [{"type": "string"}], "items": false}}
        }))
        .is_ok());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // Built by moving maps, not with json!(…), which would serialise the inner value again.
        let level = |inner: Value| {
            let mut props = serde_json::Map::new();
            props.insert("p".to_owned(), inner);
            let mut node = serde_json::Map::new();
            node.insert("type".to_owned(), json!("object"));
            node.insert("description".to_owned(), json!("d"));
            node.insert("properties".to_owned(), Value::Object(props));
            Value::Object(node)
        };
        let mut schema = json!({"type": "string", "description": "leaf"});
        for _ in 0..10_000 {
            schema = level(schema);
        }
        assert!(check_json_schema(&schema).is_ok());
        // Dropping a Value this deep recurses inside serde_json; that is not what is under test.
        std::mem::forget(schema);
    }
}
