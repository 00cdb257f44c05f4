//! Local files as upload sources: their length is read here, their bytes only when sent.

use std::path::Path;

use rein_core::{Error, FileSource, Hint, ValidationError};

/// A [`FileSource`] for the file at `path`, with its current length.
pub async fn file_source(path: &Path) -> Result<FileSource, Error> {
    let metadata = tokio::fs::metadata(path).await.map_err(|e| {
        Error::Invalid(Box::new(ValidationError::new(
            "file",
            format!("{}: {e}", path.display()),
            Hint::new("The file cannot be read", "Check the path and its permissions"),
        )))
    })?;
    if !metadata.is_file() {
        return Err(Error::Invalid(Box::new(ValidationError::new(
            "file",
            format!("{} is not a regular file", path.display()),
            Hint::new("Not a file", "Pass the path of a file"),
        ))));
    }
    Ok(FileSource::new(path, metadata.len()))
}
