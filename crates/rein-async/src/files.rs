//! Local files as upload sources: their length is read here, their bytes only when sent.

use std::path::Path;

use rein_core::{Error, FileSource};

/// A [`FileSource`] for the file at `path`, with its current length.
pub async fn file_source(path: &Path) -> Result<FileSource, Error> {
    FileSource::from_metadata(path, tokio::fs::metadata(path).await)
}
