//! Streams a request body from its segments: in-memory bytes as they are, files read in chunks
//! as they are sent, so a 200 MB upload never sits in memory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use bytes::Bytes;
use rein_core::body::FileError;
use rein_core::{FileRange, FileSource, Segment};

fn file_error(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, FileError(message))
}

/// A `Read` over a body's segments.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    segments: VecDeque<Segment>,
    current: Option<Current>,
}

#[derive(Debug)]
enum Current {
    Bytes(Bytes),
    /// `len` bytes of `source` to send, `read` of them sent; `whole`: the whole file, which
    /// must end where it was announced to.
    File {
        file: File,
        source: FileSource,
        len: u64,
        whole: bool,
        read: u64,
    },
}

impl SegmentReader {
    pub(crate) fn new(segments: Vec<Segment>) -> Self {
        SegmentReader { segments: segments.into(), current: None }
    }

    fn advance(&mut self) -> io::Result<bool> {
        match self.segments.pop_front() {
            None => Ok(false),
            Some(Segment::Bytes(b)) => {
                self.current = Some(Current::Bytes(b));
                Ok(true)
            }
            Some(Segment::File(source)) => {
                let file = open(&source)?;
                let len = source.len;
                self.current = Some(Current::File { file, source, len, whole: true, read: 0 });
                Ok(true)
            }
            Some(Segment::Range(range)) => {
                let file = open_range(&range)?;
                let FileRange { file: source, len, .. } = range;
                self.current = Some(Current::File { file, source, len, whole: false, read: 0 });
                Ok(true)
            }
        }
    }
}

impl Read for SegmentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.current {
                None => {
                    if !self.advance()? {
                        return Ok(0);
                    }
                }
                Some(Current::Bytes(b)) => {
                    if b.is_empty() {
                        self.current = None;
                        continue;
                    }
                    let n = b.len().min(buf.len());
                    buf[..n].copy_from_slice(&b.split_to(n));
                    return Ok(n);
                }
                Some(Current::File { file, source, len, whole, read }) => {
                    // Never send more than the length the request announced.
                    let left = *len - *read;
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = if want == 0 {
                        0
                    } else {
                        file.read(&mut buf[..want]).map_err(|e| {
                            file_error(e.kind(), format!("reading {}: {e}", source.path.display()))
                        })?
                    };
                    if n == 0 {
                        // The file must be exactly as long as announced, and no longer.
                        let mut probe = [0u8; 1];
                        let grew = left == 0
                            && *whole
                            && file.read(&mut probe).map_err(|e| {
                                file_error(
                                    e.kind(),
                                    format!("reading {}: {e}", source.path.display()),
                                )
                            })? > 0;
                        if left > 0 || grew {
                            return Err(file_error(
                                io::ErrorKind::UnexpectedEof,
                                format!(
                                    "{} changed size while uploading: announced {} bytes",
                                    source.path.display(),
                                    source.len
                                ),
                            ));
                        }
                        self.current = None;
                        continue;
                    }
                    *read += n as u64;
                    return Ok(n);
                }
            }
        }
    }
}

fn open(source: &FileSource) -> io::Result<File> {
    File::open(&source.path)
        .map_err(|e| file_error(e.kind(), format!("opening {}: {e}", source.path.display())))
}

/// The file of `range`, at the range's start, once it is seen to have the length it had when
/// it was checked (a chunk of a file that changed must not go up as if it had not).
fn open_range(range: &FileRange) -> io::Result<File> {
    let source = &range.file;
    let mut file = open(source)?;
    let reading =
        |e: io::Error| file_error(e.kind(), format!("reading {}: {e}", source.path.display()));
    let actual = file.metadata().map_err(reading)?.len();
    if actual != source.len || !range.is_within() {
        return Err(file_error(
            io::ErrorKind::UnexpectedEof,
            format!(
                "{} changed size while uploading: announced {} bytes, now {actual}",
                source.path.display(),
                source.len
            ),
        ));
    }
    file.seek(SeekFrom::Start(range.offset)).map_err(reading)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bytes_and_files_in_order_and_checks_the_length() {
        let dir = std::env::temp_dir().join(format!("rein-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("f.txt");
        std::fs::write(&path, b"hello").expect("write");
        let segments = vec![
            Segment::Bytes(Bytes::from_static(b"<")),
            Segment::File(FileSource::new(&path, 5)),
            Segment::Bytes(Bytes::from_static(b">")),
        ];
        let mut out = Vec::new();
        SegmentReader::new(segments).read_to_end(&mut out).expect("read");
        assert_eq!(out, b"<hello>");

        let wrong = vec![Segment::File(FileSource::new(&path, 9))];
        let err = SegmentReader::new(wrong).read_to_end(&mut Vec::new()).expect_err("short");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let wrong = vec![Segment::File(FileSource::new(&path, 3))];
        let err = SegmentReader::new(wrong).read_to_end(&mut Vec::new()).expect_err("long");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        std::fs::remove_dir_all(&dir).ok();
    }
}
