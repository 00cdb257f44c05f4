//! `rein jack ...`: ingest, documents, query and usage against jack (or anything speaking it).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use rein::blocking::Jack;
use rein::jack::{DocumentId, NewDocument, Query};
use rein::Fleet;
use serde_json::json;

use crate::output::Output;
use crate::{CliError, Global};

/// jack's commands.
#[derive(Debug, Subcommand)]
pub(crate) enum JackCommand {
    /// Ingests files and directories: text, .md and .txt as JSON batches of up to 50
    /// documents; .pdf and .docx as file ingests.
    Ingest {
        /// Files, or directories (read one level deep).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Wait until every document is ready or failed.
        #[arg(long)]
        wait: bool,
    },
    /// A document, every document, or deleting one.
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Asks a question over the organisation's documents.
    Query {
        /// The question.
        question: String,
        /// How many chunks to ground the answer in (1 to 20).
        #[arg(long)]
        top_k: Option<u32>,
        /// A metadata filter, `key=value` (repeat for several, all must match).
        #[arg(long = "filter", value_parser = key_value)]
        filters: Vec<(String, String)>,
    },
    /// Usage over the last 30 days.
    Usage,
}

/// `rein jack documents ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum DocumentsCommand {
    /// One document.
    Get {
        /// The document's id.
        id: String,
    },
    /// Every document, newest first.
    List,
    /// Deletes a document.
    Delete {
        /// The document's id.
        id: String,
    },
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not key=value")),
    }
}

/// The jack client: `JACK_API_KEY`, and `--base-url` over `JACK_BASE_URL`.
fn client(global: &Global, out: &Output) -> Result<Jack, CliError> {
    let mut builder = Jack::builder_from_env()?;
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(scale) = global.time_scale {
        builder = builder.time_scale(scale);
    }
    let jack = builder.on_event(out.narrator().hook()).build()?;
    Ok(match global.timeout {
        Some(timeout) => jack.with_timeout(timeout),
        None => jack,
    })
}

pub(crate) fn run(command: JackCommand, global: &Global, out: &Output) -> Result<(), CliError> {
    let jack = client(global, out)?;
    match command {
        JackCommand::Ingest { paths, wait } => ingest(&jack, &paths, wait, out),
        JackCommand::Documents(DocumentsCommand::Get { id }) => {
            let document = jack.get_document(DocumentId::from(id))?;
            out.value(&document, || {
                format!(
                    "{} {} {}",
                    document.id,
                    document.status,
                    document.filename.as_deref().unwrap_or("")
                )
            })
        }
        JackCommand::Documents(DocumentsCommand::List) => {
            let documents = jack.list_documents()?;
            out.value(&documents, || {
                documents
                    .iter()
                    .map(|d| format!("{} {}", d.id, d.status))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        JackCommand::Documents(DocumentsCommand::Delete { id }) => {
            jack.delete_document(DocumentId::from(id.clone()))?;
            out.value(&json!({ "deleted": id }), || format!("deleted {id}"))
        }
        JackCommand::Query { question, top_k, filters } => {
            let mut query = Query::new(question);
            if let Some(k) = top_k {
                query = query.top_k(k);
            }
            for (key, value) in filters {
                query = query.filter(key, value);
            }
            let answer = jack.call(&query)?;
            out.value(&answer, || answer.answer.clone())
        }
        JackCommand::Usage => {
            let usage = jack.usage()?;
            out.value(&usage, || {
                format!(
                    "{} queries in the last {} days; limit {} requests a minute",
                    usage.total_queries.unwrap_or_default(),
                    usage.period_days.unwrap_or_default(),
                    usage.rate_limit_rpm.unwrap_or_default()
                )
            })
        }
    }
}

/// The files under `paths`: files as given, directories one level deep, sorted.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CliError::File(path.clone(), e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            inner.sort();
            found.extend(inner);
        } else {
            found.push(path.clone());
        }
    }
    Ok(found)
}

fn is_text(path: &Path) -> bool {
    !path.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        e == "pdf" || e == "docx"
    })
}

fn ingest(jack: &Jack, paths: &[PathBuf], wait: bool, out: &Output) -> Result<(), CliError> {
    let files = files(paths)?;
    let mut documents = Vec::new();
    let mut uploads = Vec::new();
    for path in &files {
        if is_text(path) {
            let text =
                std::fs::read_to_string(path).map_err(|e| CliError::File(path.clone(), e))?;
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            documents.push(NewDocument::new(text).metadata("file", name));
        } else {
            uploads.push(path.clone());
        }
    }
    let mut ids: Vec<DocumentId> = Vec::new();
    if !documents.is_empty() {
        let report = jack.ingest_many(documents)?;
        ids.extend(report.document_ids().into_iter().flatten());
        // Batches that failed are told; the accepted ones stand and are waited on.
        for (range, error) in report.failures() {
            out.problem(&format!(
                "documents {}..{} were not ingested: {error}",
                range.start, range.end
            ));
        }
    }
    for path in &uploads {
        let _spinner = out.spinner(format!("uploading {}", path.display()));
        let accepted = jack.ingest_file(path)?;
        ids.extend(accepted.document_id);
    }
    out.line(&format!("ingested {} documents from {} files", ids.len(), files.len()));
    if !wait {
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        return out.value(&json!({ "document_ids": shown }), || shown.join("\n"));
    }
    let report = jack.wait_all(Fleet::documents(ids))?;
    let ends = crate::output::fleet_ends(&report);
    out.value(&ends, || crate::output::fleet_lines(&ends))
}
