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
//! use rein::jockey::ingestion::{check_json_schema, IngestionConfig};
//! use serde_json::json;
//!
//! let ok = json!({"type": "object", "properties": {
//!     "players": {"type": "array", "description": "Players on screen",
//!                 "items": {"type": "string"}}
//! }});
//! assert!(check_json_schema(&ok).is_ok());
//!
//! // Valid JSON Schema 2020-12, but outside what Jockey accepts: every problem is reported.
//! let bad = json!({"type": "object", "properties": {
//!     "team": {"type": "string", "pattern": "^[A-Z]+$", "description": "Team code"},
//!     "venue": {"$ref": "#/$defs/venue", "description": "Where the match is played"}
//! }});
//! let problems = check_json_schema(&bad).unwrap_err();
//! let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
//! assert_eq!(paths, ["properties.team.pattern", "properties.venue.$ref"]);
//! assert!(problems[1].hint.fix.starts_with("Inline the definition"));
//!
//! let config = IngestionConfig::json_schema(ok);
//! assert!(config.validate().is_ok());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Problem, ValidationError};
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

    /// Checks the config against Jockey's rules, reporting every problem. Each problem's field is
    /// the path of the offending part, from `ingestion_config`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut found = Vec::new();
        self.check(&mut found);
        ValidationError::check(found)
    }

    /// Adds the config's problems to `found`.
    pub(crate) fn check(&self, found: &mut Vec<Problem>) {
        const AT: &str = "ingestion_config.enrichment_config";
        match &self.enrichment_config {
            EnrichmentConfig::JsonSchema { json_schema } => {
                let problems = check_json_schema(json_schema).err().unwrap_or_default();
                found.extend(problems.into_iter().map(|p| {
                    let field = if p.path.is_empty() {
                        format!("{AT}.json_schema")
                    } else {
                        format!("{AT}.json_schema.{}", p.path)
                    };
                    Problem::new(field, p.problem, p.hint)
                }));
            }
            EnrichmentConfig::Description { description } if description.trim().is_empty() => {
                found.push(Problem::new(
                    format!("{AT}.description"),
                    "the description is empty",
                    EMPTY_DESCRIPTION_HINT,
                ));
            }
            _ => {}
        }
    }
}

/// rein: a description enrichment with no text.
pub const EMPTY_DESCRIPTION_HINT: Hint = Hint::new(
    "A description enrichment without a description",
    "Describe what to extract, or leave ingestion_config out",
);

// The hints below are for valid JSON Schema that Jockey refuses. Only a schema that is not valid
// JSON Schema at all gets the references' row (`rows::STORE_INVALID_SCHEMA`): its fix, "Validate
// against JSON Schema draft 2020-12", would pass the others and so be untrue for them.

/// rein: a root that is not an object schema with `properties`.
pub const SCHEMA_ROOT_HINT: Hint = Hint::new(
    "An enrichment schema whose root is not an object schema with properties, which Jockey requires",
    "Put {\"type\": \"object\", \"properties\": {...}} at the root",
);

/// rein: `$schema` naming another draft.
pub const SCHEMA_DRAFT_HINT: Hint = Hint::new(
    "A $schema that names a draft other than 2020-12",
    "Write the schema in draft 2020-12, or leave $schema out",
);

/// rein: `$ref`, `$defs` or `definitions`: valid JSON Schema 2020-12 that Jockey refuses.
pub const SCHEMA_REFERENCE_HINT: Hint = Hint::new(
    "$ref, $defs and definitions are valid JSON Schema 2020-12, but Jockey does not accept them",
    "Inline the definition where it is referenced, and remove $defs (or definitions)",
);

/// rein: a nullable field (`nullable`, or a `type` array), which Jockey refuses.
pub const SCHEMA_NULLABLE_HINT: Hint = Hint::new(
    "A nullable field (nullable, or a type array), which Jockey does not support",
    "Give the field a single type, and leave it out of required to make it optional",
);

/// rein: another keyword outside the subset of JSON Schema that Jockey accepts.
pub const SCHEMA_KEYWORD_HINT: Hint =
    Hint::new("A JSON Schema keyword outside the subset Jockey accepts", "Remove the keyword");

/// rein: a property without a description, which Jockey requires.
pub const SCHEMA_DESCRIPTION_HINT: Hint = Hint::new(
    "A property without a description: Jockey requires one on every property, nested ones included",
    "Add a description to the property",
);

/// rein: a schema-valued `additionalProperties`, which Jockey refuses.
pub const SCHEMA_ADDITIONAL_PROPERTIES_HINT: Hint = Hint::new(
    "A schema-valued additionalProperties: Jockey takes only true or false",
    "Set additionalProperties to true or false",
);

/// The keywords of references and reuse, answered with [`SCHEMA_REFERENCE_HINT`].
const REFERENCE_KEYWORDS: &[&str] = &["$ref", "$defs", "definitions"];

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
    /// The fix.
    pub hint: Hint,
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

/// Checks a JSON Schema against Jockey's rules for `json_schema` enrichment, and reports every
/// problem found, walking the schema depth first with siblings in order.
///
/// The root must be an object schema (`"type": "object"`) with a `properties` object, and
/// `$schema`, when given, must name draft 2020-12. At every level: each entry of `properties`
/// is a schema object with a non-empty string `description`; `type` is a single string (no
/// `["string", "null"]`); `additionalProperties` is a boolean; none of
/// [`UNSUPPORTED_KEYWORDS`] appears. Nested schemas are reached through `properties`, `items`
/// and `prefixItems`. The walk uses an explicit stack, so no depth of nesting can overflow it.
pub fn check_json_schema(schema: &Value) -> Result<(), Vec<SchemaProblem>> {
    let mut found = Vec::new();
    let mut problem = |path: &str, problem: String, hint: Hint| {
        found.push(SchemaProblem { path: path.to_owned(), problem, hint })
    };
    let Value::Object(root) = schema else {
        problem("", "the schema is not a JSON object".to_owned(), SCHEMA_ROOT_HINT);
        return Err(found);
    };
    match root.get("$schema") {
        None => {}
        Some(Value::String(s)) if DRAFT_2020_12.contains(&s.as_str()) => {}
        Some(other) => problem(
            "$schema",
            format!("{other} is not draft 2020-12 ({})", DRAFT_2020_12[0]),
            SCHEMA_DRAFT_HINT,
        ),
    }
    // The root's type and properties are judged here; the walk below leaves them alone.
    if root.get("type") != Some(&Value::String("object".to_owned())) {
        problem("type", "the root schema's type must be \"object\"".to_owned(), SCHEMA_ROOT_HINT);
    }
    if !matches!(root.get("properties"), Some(Value::Object(_))) {
        problem(
            "properties",
            "the root schema needs a properties object".to_owned(),
            SCHEMA_ROOT_HINT,
        );
    }

    let mut stack: Vec<(String, &Value)> = vec![(String::new(), schema)];
    while let Some((path, node)) = stack.pop() {
        let is_root = path.is_empty();
        let Value::Object(map) = node else {
            // `items: true` and the like are boolean schemas: nothing to check inside.
            if !node.is_boolean() {
                let at = path.as_str();
                problem(
                    at,
                    "a schema must be a JSON object".to_owned(),
                    rows::STORE_INVALID_SCHEMA,
                );
            }
            continue;
        };
        for keyword in UNSUPPORTED_KEYWORDS.iter().filter(|k| map.contains_key(**k)) {
            let at = join(&path, keyword);
            if REFERENCE_KEYWORDS.contains(keyword) {
                problem(
                    &at,
                    format!(
                        "{keyword} is valid JSON Schema 2020-12, but Jockey does not accept \
                         references: inline the definition"
                    ),
                    SCHEMA_REFERENCE_HINT,
                );
            } else if *keyword == "nullable" {
                problem(
                    &at,
                    "nullable fields are not supported by Jockey".to_owned(),
                    SCHEMA_NULLABLE_HINT,
                );
            } else {
                problem(
                    &at,
                    format!("the {keyword} keyword is not supported by Jockey"),
                    SCHEMA_KEYWORD_HINT,
                );
            }
        }
        match map.get("type") {
            _ if is_root => {}
            None | Some(Value::String(_)) => {}
            Some(Value::Array(_)) => problem(
                &join(&path, "type"),
                "type arrays (nullable fields) are not supported; leave the field out of required instead"
                    .to_owned(),
                SCHEMA_NULLABLE_HINT,
            ),
            Some(other) => problem(
                &join(&path, "type"),
                format!("{other} is not a type name"),
                rows::STORE_INVALID_SCHEMA,
            ),
        }
        if map.get("additionalProperties").is_some_and(|v| !v.is_boolean()) {
            problem(
                &join(&path, "additionalProperties"),
                "only true or false is supported".to_owned(),
                SCHEMA_ADDITIONAL_PROPERTIES_HINT,
            );
        }
        // Children are pushed last first, so they are visited (and reported) in order.
        let mut children: Vec<(String, &Value)> = Vec::new();
        match map.get("properties") {
            None => {}
            Some(Value::Object(props)) => {
                let at = join(&path, "properties");
                for (name, sub) in props {
                    let sub_path = join(&at, name);
                    let described = sub
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.trim().is_empty());
                    if sub.is_object() && !described {
                        problem(
                            &join(&sub_path, "description"),
                            "every property needs a non-empty description".to_owned(),
                            SCHEMA_DESCRIPTION_HINT,
                        );
                    } else if sub.is_boolean() {
                        problem(
                            &sub_path,
                            "a property must be a schema object with a description".to_owned(),
                            SCHEMA_DESCRIPTION_HINT,
                        );
                    } else if !sub.is_object() {
                        problem(
                            &sub_path,
                            "a property must be a schema object".to_owned(),
                            rows::STORE_INVALID_SCHEMA,
                        );
                    }
                    if sub.is_object() {
                        children.push((sub_path, sub));
                    }
                }
            }
            Some(_) if is_root => {}
            Some(_) => problem(
                &join(&path, "properties"),
                "properties must be an object".to_owned(),
                rows::STORE_INVALID_SCHEMA,
            ),
        }
        if let Some(items) = map.get("items") {
            children.push((join(&path, "items"), items));
        }
        match map.get("prefixItems") {
            None => {}
            Some(Value::Array(list)) => {
                let at = join(&path, "prefixItems");
                children
                    .extend(list.iter().enumerate().map(|(i, sub)| (format!("{at}[{i}]"), sub)));
            }
            Some(_) => problem(
                &join(&path, "prefixItems"),
                "prefixItems must be an array".to_owned(),
                rows::STORE_INVALID_SCHEMA,
            ),
        }
        stack.extend(children.into_iter().rev());
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The path of the first problem.
    fn path_of(schema: Value) -> String {
        check_json_schema(&schema).unwrap_err().swap_remove(0).path
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
