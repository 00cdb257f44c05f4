//! Seeds and dictionaries.
//!
//! Seeds are read in place from the repository's wire fixtures (`fixtures/`: error responses in
//! both dialects and from proxies, success bodies, the SSE transcript), so a new fixture is a new
//! seed, plus a few hand-written inputs in `crates/rein-fuzz/corpus/<target>/` for the targets
//! whose input is not a wire body (header lines, call fields). Files are read in name order, so
//! a run is deterministic by seed.

use std::io;
use std::path::{Path, PathBuf};

use crate::targets::request_validation::CALLS;

/// The repository's `fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// This crate's `corpus/`, the hand-written seeds.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The seeds of `target`, in a fixed order; never empty.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let fixtures = fixtures_dir();
    let mut seeds = match target {
        "error_decoder" => {
            let mut s = files(&fixtures.join("errors"), "http");
            // Success bodies answered with an error status: JSON of other shapes.
            for body in files(&fixtures.join("jockey"), "json") {
                s.push(
                    [
                        &b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\n\r\n"[..],
                        &body,
                    ]
                    .concat(),
                );
            }
            s
        }
        "retry_after" => files(&fixtures.join("errors"), "http")
            .iter()
            .map(|raw| head_lines(raw))
            .filter(|head| !head.is_empty())
            .collect(),
        "sse" => {
            // Each transcript whole, and each of its events alone: small seeds mutate faster.
            let mut s = files(&fixtures.join("jockey"), "sse");
            let events: Vec<Vec<u8>> = s
                .iter()
                .flat_map(|t| {
                    let text = String::from_utf8_lossy(t).into_owned();
                    let end = if text.contains("\r\n\r\n") { "\r\n\r\n" } else { "\n\n" };
                    text.split(end)
                        .filter(|e| !e.trim().is_empty())
                        .map(|e| format!("{e}{end}").into_bytes())
                        .collect::<Vec<_>>()
                })
                .collect();
            for event in events {
                if !s.contains(&event) {
                    s.push(event);
                }
            }
            s
        }
        "pagination" => {
            let lists: Vec<Vec<u8>> = [
                "jockey/assets-list.json",
                "jockey/items-list.json",
                "jockey/stores-list.json",
                "jockey/stores-search.json",
                "jockey/stores-search-last.json",
                "jack/documents-list.json",
            ]
            .iter()
            .filter_map(|name| std::fs::read(fixtures.join(name)).ok())
            .collect();
            let mut s = lists.clone();
            // Several pages in one input: a list answered twice (a server that loops), and a
            // page then the last page.
            for list in &lists {
                s.push([&list[..], b"\0", list].concat());
            }
            if lists.len() >= 5 {
                s.push([&lists[3][..], b"\0", &lists[4], b"\0", &lists[3]].concat());
            }
            s.extend(files(&fixtures.join("jack"), "json"));
            s
        }
        _ => Vec::new(),
    };
    seeds.extend(files(&corpus_dir().join(target), ""));
    if target == "request_validation" {
        // Every call at least once, with no fields: the builders' defaults.
        seeds.extend(CALLS.iter().map(|c| c.as_bytes().to_vec()));
    }
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    seeds
}

/// Tokens a mutation may insert: the magic strings of each target's input.
pub fn dictionary(target: &str) -> Vec<&'static [u8]> {
    let common: [&[u8]; 22] = [
        b"{\"",
        b"\"}",
        b"\":",
        b"null",
        b"true",
        b"[]",
        b"{}",
        b"\r\n",
        b"\n\n",
        b"\r\n\r\n",
        "é".as_bytes(),
        "\u{FFFD}".as_bytes(),
        b"\xEF\xBB\xBF",
        b"\xff",
        b"99999999999999999999",
        b"-1",
        b"1e308",
        b"jack_live_0123456789abcdef",
        b"tlk_0123456789ABCDEFGH",
        b"Bearer ",
        b"x-api-key: ",
        b"\\u0000",
    ];
    let own: &[&[u8]] = match target {
        "error_decoder" => &[
            b"HTTP/1.1 ",
            b"429",
            b"503",
            b"retry-after: ",
            b"retry-after-ms: ",
            b"date: ",
            b"x-request-id: ",
            b"content-type: text/html",
            b"<title>",
            b"</title>",
            b"<html>",
            b"\"code\":",
            b"\"message\":",
            b"\"docs_url\":",
            b"\"detail\":",
            b"\"error\":",
            b"\"loc\":",
            b"\"msg\":",
            b"Sun, 22 Nov 2026 10:00:30 GMT",
        ],
        "retry_after" => &[
            b"retry-after: ",
            b"retry-after-ms: ",
            b"date: ",
            b"Sun, 22 Nov 2026 10:00:30 GMT",
            b"Sunday, 22-Nov-26 10:00:30 GMT",
            b"Sun Nov 22 10:00:30 2026",
            b" GMT",
            b".",
            b"18446744073709551615",
            b"1.5",
            b"Thu, 01 Jan 1970 00:00:00 GMT",
            b"Fri, 31 Dec 9999 23:59:59 GMT",
            b"Sat, 01 Jan 2000 00:00:00 GMT",
            b"\n",
        ],
        "sse" => &[
            b"data: ",
            b"data:",
            b"event: ",
            b"id: ",
            b"retry: ",
            b": keepalive\n\n",
            b"\r",
            b"\n",
            b"[DONE]",
            b"\"type\":\"response.completed\"",
            b"\"response\":",
            b"\"sequence_number\":",
            b"response.output_text.delta",
            b"keepalive",
            b"\"delta\":",
            b"\"type\":\"response.created\"",
            b"\"output\":[]",
        ],
        "pagination" => &[
            b"\"page_info\":",
            b"\"page\":",
            b"\"total_page\":",
            b"\"limit_per_page\":",
            b"\"total_results\":",
            b"\"data\":",
            b"\"next_page_token\":",
            b"\"_id\":",
            b"\"id\":",
            b"\0",
            b"\"documents\":",
            b"\"status\":",
            b"4294967295",
            b"\"asset_type\":\"video\"",
        ],
        "request_validation" => &[
            b"\n",
            b"~\n",
            b"\\n",
            b"\\r",
            b"\\r\\n--",
            b"rein-form-boundary-3c7f0a9e4b1d6c28e5f7a9b0c1d2e3f4",
            b"rein-jack-7f3c9e1b5d2a4086",
            b"=",
            b";",
            b",",
            b"https://",
            b"http://",
            b"localhost",
            b"..",
            b"/",
            b"%2F",
            b"?",
            b"#",
            b"@",
            b"\"$ref\"",
            b"\"anyOf\"",
            b"\"type\":\"object\"",
            b"\"properties\":",
            b"\"description\":",
            b"nan",
            b"inf",
            b".pdf",
            b".docx",
            b"209715201",
            b"104857601",
            b"10001",
            b"4096",
            b"512",
            b"51",
            b"0",
            b"jack.ingest\n",
            b"jockey.create_asset_url\n",
            b"target\n",
        ],
        _ => &[],
    };
    common.into_iter().chain(own.iter().copied()).collect()
}

/// Writes the seeds of `target` into `dir` (for cargo-fuzz), one file each; how many.
pub fn write(target: &str, dir: &Path) -> io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let seeds = seeds(target);
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:03}")), seed)?;
    }
    Ok(seeds.len())
}

/// Writes `target`'s dictionary in libFuzzer's format; how many tokens.
pub fn write_dictionary(target: &str, path: &Path) -> io::Result<usize> {
    let tokens = dictionary(target);
    let mut out = String::new();
    for token in &tokens {
        out.push('"');
        for &b in *token {
            match b {
                b'"' | b'\\' => out.push_str(&format!("\\{}", b as char)),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02X}")),
            }
        }
        out.push_str("\"\n");
    }
    std::fs::write(path, out)?;
    Ok(tokens.len())
}

/// The files of `dir` and below whose names end with `ext` (any, when empty), in path order.
fn files(dir: &Path, ext: &str) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if !name.starts_with('.') && name.ends_with(ext) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// The header lines of a raw response: between the status line and the blank line.
fn head_lines(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let head = head.split("\n\n").next().unwrap_or_default();
    head.lines().skip(1).collect::<Vec<_>>().join("\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_seeds_from_the_fixtures_or_its_corpus() {
        for target in crate::TARGETS {
            let seeds = seeds(target.name);
            assert!(seeds.len() >= 3, "{}: {} seeds", target.name, seeds.len());
        }
        assert!(seeds("error_decoder").len() >= 40, "every error fixture");
    }
}
