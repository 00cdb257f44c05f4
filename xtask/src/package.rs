//! `cargo xtask package [CARGO-PACKAGE-ARGS...]`: every crate of `crates/` that is published
//! (no `publish = false` in its manifest) is packaged and verified the way `cargo publish` would,
//! all in one `cargo package` so that the crates that depend on each other resolve through
//! cargo's local registry overlay instead of crates.io:
//!
//! ```text
//! cargo package --locked --all-features --allow-dirty -p rein-core -p rein-blocking ... [ARGS...]
//! ```
//!
//! Before that, each published manifest is checked for what crates.io and docs.rs need:
//! `description`, `license`, `repository`, a `readme` that exists, at most five `keywords` of
//! at most 20 characters, at most five `categories`, and, for a crate with features,
//! `[package.metadata.docs.rs]` with `all-features = true`. Extra arguments go to
//! `cargo package` (`--offline`, `--no-verify`, `--list`). The `.crate` files land in
//! `target/package/`. Not part of `cargo xtask ci`: it needs the crates.io index unless
//! `--offline` is given with a warm cache.

use std::path::Path;
use std::time::Instant;

use xshell::{cmd, Shell};

use crate::{workspace_root, Result};

/// The `[package]` keys every published crate sets (directly or from the workspace).
const REQUIRED: &[&str] =
    &["description", "license", "repository", "readme", "keywords", "categories"];

pub(crate) fn run(args: &[String]) -> Result {
    let root = workspace_root();
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("crates"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    dirs.retain(|dir| dir.join("Cargo.toml").is_file());
    dirs.sort();

    let mut published = Vec::new();
    let mut problems = Vec::new();
    for dir in &dirs {
        let manifest = Manifest::parse(&std::fs::read_to_string(dir.join("Cargo.toml"))?);
        let name = manifest.get("name").map(unquote).unwrap_or_default();
        if manifest.get("publish") == Some("false") {
            continue;
        }
        problems.extend(manifest.problems(dir).into_iter().map(|p| format!("{name}: {p}")));
        published.push(name);
    }
    if !problems.is_empty() {
        return Err(format!("not ready to publish:\n  {}", problems.join("\n  ")).into());
    }
    if published.is_empty() {
        return Err("no crate under crates/ is published".into());
    }
    println!("package: {}", published.join(", "));

    let sh = Shell::new()?;
    sh.change_dir(&root);
    let packages: Vec<String> =
        published.iter().flat_map(|n| ["-p".to_owned(), n.clone()]).collect();
    let start = Instant::now();
    cmd!(sh, "cargo package --locked --all-features --allow-dirty {packages...} {args...}")
        .run()?;
    println!(
        "package: {} crates packaged in {:.1}s (target/package/)",
        published.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The few parts of a Cargo.toml this task reads, by line: enough for the workspace's own
/// manifests, not a TOML parser.
#[derive(Debug, Default)]
struct Manifest {
    /// `[package]`'s keys (with a `.workspace` suffix removed) and their raw values.
    package: Vec<(String, String)>,
    has_features: bool,
    /// `[package.metadata.docs.rs]`'s `all-features` value, when the table exists.
    docs_rs_all_features: Option<String>,
}

impl Manifest {
    fn parse(text: &str) -> Manifest {
        let mut manifest = Manifest::default();
        let mut table = String::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                table = line.trim_matches(['[', ']']).trim().to_owned();
                manifest.has_features |= table == "features";
                if table == "package.metadata.docs.rs" {
                    manifest.docs_rs_all_features.get_or_insert_with(String::new);
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            let key = key.trim().trim_end_matches(".workspace").to_owned();
            let mut value = value.trim().to_owned();
            // An array over several lines: read on to its closing bracket.
            if value.starts_with('[') && !value.contains(']') {
                for more in lines.by_ref() {
                    value.push_str(more.trim());
                    if more.contains(']') {
                        break;
                    }
                }
            }
            match table.as_str() {
                "package" => manifest.package.push((key, value)),
                "package.metadata.docs.rs" if key == "all-features" => {
                    manifest.docs_rs_all_features = Some(value);
                }
                _ => {}
            }
        }
        manifest
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.package.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// What crates.io or docs.rs would miss in this manifest, for a crate in `dir`.
    fn problems(&self, dir: &Path) -> Vec<String> {
        let mut problems: Vec<String> = REQUIRED
            .iter()
            .filter(|key| self.get(key).is_none())
            .map(|key| format!("no `{key}`"))
            .collect();
        if let Some(readme) = self.get("readme") {
            if readme != "true" && !dir.join(unquote(readme)).is_file() {
                problems.push(format!("readme {readme} does not exist"));
            }
        }
        if let Some(keywords) = self.get("keywords").filter(|v| *v != "true") {
            let keywords = array(keywords);
            if keywords.len() > 5 {
                problems.push(format!("{} keywords, crates.io takes at most 5", keywords.len()));
            }
            for keyword in keywords {
                let valid = keyword.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                    && keyword.len() <= 20
                    && keyword.chars().all(|c| c.is_ascii_alphanumeric() || "-_+".contains(c));
                if !valid {
                    problems.push(format!(
                        "keyword {keyword:?}: at most 20 ASCII letters, digits, `-`, `_` or `+`"
                    ));
                }
            }
        }
        if let Some(categories) = self.get("categories").filter(|v| *v != "true") {
            let count = array(categories).len();
            if count > 5 {
                problems.push(format!("{count} categories, crates.io takes at most 5"));
            }
        }
        if self.has_features && self.docs_rs_all_features.as_deref() != Some("true") {
            problems.push(
                "has features but no `[package.metadata.docs.rs]` with `all-features = true`"
                    .to_owned(),
            );
        }
        problems
    }
}

fn unquote(value: &str) -> String {
    value.trim().trim_matches('"').to_owned()
}

/// The strings of a one-line TOML array of strings.
fn array(value: &str) -> Vec<String> {
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(unquote)
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const READY: &str = r#"
[package]
name = "ready"
description = "a crate"
version.workspace = true
license.workspace = true
repository.workspace = true
readme = "Cargo.toml"
keywords = ["one", "two-2", "three_3"]
categories = [
    "api-bindings",
    "asynchronous",
]

[package.metadata.docs.rs]
all-features = true

[features]
extra = []

[dependencies]
description = "not the package's"
"#;

    #[test]
    fn a_complete_manifest_has_no_problems() {
        let manifest = Manifest::parse(READY);
        assert_eq!(manifest.get("name"), Some("\"ready\""));
        assert_eq!(manifest.get("categories"), Some("[\"api-bindings\",\"asynchronous\",]"));
        let problems = manifest.problems(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn missing_and_invalid_metadata_is_reported() {
        let text = READY
            .replace("repository.workspace = true\n", "")
            .replace("readme = \"Cargo.toml\"", "readme = \"NOPE.md\"")
            .replace("\"one\"", "\"one\", \"a-keyword-longer-than-20\", \"x\", \"y\", \"z\"")
            .replace("[package.metadata.docs.rs]\nall-features = true\n", "");
        let problems = Manifest::parse(&text).problems(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("repository"));
        assert!(problems[1].contains("NOPE.md"));
        assert!(problems[2].contains("7 keywords"));
        assert!(problems[3].contains("a-keyword-longer-than-20"));
        assert!(problems[4].contains("docs.rs"));
    }
}
