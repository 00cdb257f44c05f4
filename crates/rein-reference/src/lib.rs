//! Test support for rein: the reference documents, read in place from `../shared/reference/`
//! beside the checkout (never copied into the project), and the vendor's OpenAPI spec turned into
//! JSON Schema validators for one operation's request or response.
//!
//! Missing files follow one rule: under `CI=true` a missing reference fails the test (CI always
//! has them); elsewhere the test skips with a message, which `cargo xtask ci` repeats in its
//! summary ([`skip`]).
//!
//! ```no_run
//! use rein_reference::OpenApi;
//! let Some(spec) = OpenApi::load() else { return }; // skipped outside CI when absent
//! let body = serde_json::json!({"_id": "a1", "status": "processing"});
//! spec.check_response("/assets", "post", "201", &body).expect("matches the spec");
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The directory holding the reference documents: `<checkout>/../shared/reference`.
pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
}

/// The path of reference file `name`, if it exists.
///
/// # Panics
///
/// Under `CI=true`, when the file is missing: CI always has the references beside the checkout.
pub fn reference_file(name: &str) -> Option<PathBuf> {
    let path = reference_dir().join(name);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("reference file {} is missing (CI=true requires it)", path.display());
    }
    skip(&format!("reference file {} is not present", path.display()));
    None
}

/// The environment variable naming the file where skipped tests are listed, one line each;
/// `cargo xtask ci` sets it and prints the list at the end of its run.
pub const SKIPPED_LOG_VAR: &str = "REIN_SKIPPED_LOG";

/// Notes that the running test is skipped, and why: on stderr, and in the file
/// [`SKIPPED_LOG_VAR`] names, so that a summary can tell how many tests did not run.
pub fn skip(reason: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("skipping {test}: {reason}");
    if let Some(log) = std::env::var_os(SKIPPED_LOG_VAR) {
        use std::io::Write;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log);
        if let Ok(mut file) = file {
            // One write per line: tests run in parallel, and appends of a line do not interleave.
            let _ = file.write_all(format!("{test}: {reason}\n").as_bytes());
        }
    }
}

/// The text of reference file `name`, if it exists (same rule as [`reference_file`]).
pub fn reference_text(name: &str) -> Option<String> {
    let path = reference_file(name)?;
    Some(
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
    )
}

/// The vendor's OpenAPI 3.1 spec (`twelvelabs-openapi.json`).
#[derive(Debug)]
pub struct OpenApi {
    doc: Value,
}

impl OpenApi {
    /// Loads the spec, or `None` (with a message) when it is absent outside CI.
    pub fn load() -> Option<OpenApi> {
        let text = reference_text("twelvelabs-openapi.json")?;
        let doc = serde_json::from_str(&text).expect("twelvelabs-openapi.json is JSON");
        Some(OpenApi { doc })
    }

    /// The whole document.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The operation object at `path` (as the spec writes it, e.g. `/assets/{asset_id}`) and
    /// lowercase `method`.
    pub fn operation(&self, path: &str, method: &str) -> Option<&Value> {
        self.doc.get("paths")?.get(path)?.get(method)
    }

    /// The schema of the response `status` (e.g. `"200"`) of an operation, for `content_type`.
    pub fn response_schema(
        &self,
        path: &str,
        method: &str,
        status: &str,
        content_type: &str,
    ) -> Option<&Value> {
        self.operation(path, method)?
            .get("responses")?
            .get(status)?
            .get("content")?
            .get(content_type)?
            .get("schema")
    }

    /// The schema of the request body of an operation, for `content_type`.
    pub fn request_schema(&self, path: &str, method: &str, content_type: &str) -> Option<&Value> {
        self.operation(path, method)?
            .get("requestBody")?
            .get("content")?
            .get(content_type)?
            .get("schema")
    }

    /// Checks `instance` against `schema`, resolving `#/components/...` references in this spec.
    pub fn check(&self, schema: &Value, instance: &Value) -> Result<(), Vec<String>> {
        let mut root = match schema {
            Value::Object(map) => Value::Object(map.clone()),
            other => json!({ "allOf": [other] }),
        };
        root["components"] = self.doc["components"].clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        let validator = jsonschema::draft202012::new(&root)
            .map_err(|e| vec![format!("the spec's schema does not compile: {e}")])?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks a JSON response body against the spec's schema for that operation and status.
    pub fn check_response(
        &self,
        path: &str,
        method: &str,
        status: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let schema =
            self.response_schema(path, method, status, "application/json").ok_or_else(|| {
                vec![format!("the spec has no JSON schema for {method} {path} {status}")]
            })?;
        self.check(schema, body)
    }

    /// Checks a JSON request body against the spec's schema for that operation.
    pub fn check_request(&self, path: &str, method: &str, body: &Value) -> Result<(), Vec<String>> {
        let schema = self.request_schema(path, method, "application/json").ok_or_else(|| {
            vec![format!("the spec has no JSON request schema for {method} {path}")]
        })?;
        self.check(schema, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_example_validates_and_a_bad_one_does_not() {
        let Some(spec) = OpenApi::load() else { return };
        let ok =
            json!({"_id": "a1", "method": "direct", "status": "processing", "filename": "x.mp4"});
        spec.check_response("/assets", "post", "201", &ok).expect("valid");
        let bad = json!({"_id": 7});
        assert!(spec.check_response("/assets", "post", "201", &bad).is_err());
    }
}
