//! Streams a request body from its segments: in-memory bytes as they are, files read in chunks
//! as they are sent, so a 200 MB upload never sits in memory.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};
use rein_core::body::FileError;
use rein_core::{Body, FileRange, FileSource, Segment};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

/// The most of a file held in memory at once.
pub(crate) const CHUNK: usize = 64 * 1024;

type Opening = Pin<Box<dyn Future<Output = io::Result<tokio::fs::File>> + Send>>;

/// An `http_body::Body` over a request body's segments. One pointer wide: hyper moves every
/// request several times on its way to the connection, so the body type's size is paid per
/// request. An empty body (every GET) allocates nothing; any other is boxed.
pub(crate) struct SegmentBody(Option<Box<Kind>>);

enum Kind {
    /// One in-memory chunk, not yet sent.
    Bytes(Bytes),
    /// A form with files, streamed.
    Segments(Segments),
}

struct Segments {
    segments: VecDeque<Segment>,
    current: Current,
    remaining: u64,
}

enum Current {
    Idle,
    Opening {
        open: Opening,
        source: FileSource,
        len: u64,
        whole: bool,
    },
    /// `len` bytes of `source` to send, `read` of them sent; `whole`: the whole file, which
    /// must end where it was announced to.
    Reading {
        file: tokio::fs::File,
        source: FileSource,
        len: u64,
        whole: bool,
        read: u64,
    },
    /// A file failed: the body ends with that error, and nothing after it is sent.
    Failed,
}

impl std::fmt::Debug for SegmentBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (segments, remaining) = match self.0.as_deref() {
            None => (0, 0),
            Some(Kind::Bytes(b)) => (1, b.len() as u64),
            Some(Kind::Segments(s)) => (s.segments.len(), s.remaining),
        };
        f.debug_struct("SegmentBody")
            .field("segments", &segments)
            .field("remaining", &remaining)
            .finish_non_exhaustive()
    }
}

impl SegmentBody {
    pub(crate) fn new(body: Body) -> Self {
        SegmentBody(match body {
            Body::Empty => None,
            Body::Bytes(b) if b.is_empty() => None,
            Body::Bytes(b) => Some(Box::new(Kind::Bytes(b))),
            streamed @ (Body::Multipart(_) | Body::FileRange(_)) => {
                Some(Box::new(Kind::Segments(Segments {
                    remaining: streamed.content_length(),
                    segments: streamed.segments().into(),
                    current: Current::Idle,
                })))
            }
        })
    }
}

impl Segments {
    fn fail(&mut self, message: String) -> Poll<Option<Result<Frame<Bytes>, FileError>>> {
        self.current = Current::Failed;
        Poll::Ready(Some(Err(FileError(message))))
    }

    fn data(&mut self, bytes: Bytes) -> Poll<Option<Result<Frame<Bytes>, FileError>>> {
        self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, FileError>>> {
        loop {
            match &mut self.current {
                Current::Failed => return Poll::Ready(None),
                Current::Idle => match self.segments.pop_front() {
                    None => return Poll::Ready(None),
                    Some(Segment::Bytes(b)) if b.is_empty() => {}
                    Some(Segment::Bytes(b)) => return self.data(b),
                    Some(Segment::File(source)) => {
                        let open = Box::pin(tokio::fs::File::open(source.path.clone()));
                        let len = source.len;
                        self.current = Current::Opening { open, source, len, whole: true };
                    }
                    Some(Segment::Range(range)) => {
                        let open = Box::pin(open_range(range.clone()));
                        let FileRange { file: source, len, .. } = range;
                        self.current = Current::Opening { open, source, len, whole: false };
                    }
                },
                Current::Opening { open, source, len, whole } => {
                    match ready!(open.as_mut().poll(cx)) {
                        Ok(file) => {
                            let (source, len, whole) = (source.clone(), *len, *whole);
                            self.current = Current::Reading { file, source, len, whole, read: 0 };
                        }
                        Err(e) => {
                            let message = format!("opening {}: {e}", source.path.display());
                            return self.fail(message);
                        }
                    }
                }
                Current::Reading { file, source, len, whole, read } => {
                    // Never send more than the length the request announced; once a whole file
                    // is sent, read one byte more to check it did not grow.
                    let left = *len - *read;
                    if left == 0 && !*whole {
                        self.current = Current::Idle;
                        continue;
                    }
                    let want = usize::try_from(left).unwrap_or(usize::MAX).clamp(1, CHUNK);
                    let mut buf = BytesMut::zeroed(want);
                    let mut read_buf = ReadBuf::new(&mut buf);
                    if let Err(e) = ready!(Pin::new(&mut *file).poll_read(cx, &mut read_buf)) {
                        let message = format!("reading {}: {e}", source.path.display());
                        return self.fail(message);
                    }
                    let n = read_buf.filled().len();
                    match (left, n) {
                        (0, 0) => self.current = Current::Idle,
                        (_, 0) | (0, _) => {
                            let message = format!(
                                "{} changed size while uploading: announced {} bytes",
                                source.path.display(),
                                source.len
                            );
                            return self.fail(message);
                        }
                        _ => {
                            *read += n as u64;
                            buf.truncate(n);
                            return self.data(buf.freeze());
                        }
                    }
                }
            }
        }
    }
}

/// The file of `range`, at the range's start, once it is seen to have the length it had when
/// it was checked (a chunk of a file that changed must not go up as if it had not).
async fn open_range(range: FileRange) -> io::Result<tokio::fs::File> {
    let source = &range.file;
    let mut file = tokio::fs::File::open(&source.path).await?;
    let actual = file.metadata().await?.len();
    if actual != source.len || !range.is_within() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("changed size: announced {} bytes, now {actual}", source.len),
        ));
    }
    file.seek(io::SeekFrom::Start(range.offset)).await?;
    Ok(file)
}

impl hyper::body::Body for SegmentBody {
    type Data = Bytes;
    type Error = FileError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, FileError>>> {
        match self.0.as_deref_mut() {
            None => Poll::Ready(None),
            Some(Kind::Segments(s)) => s.poll_frame(cx),
            Some(Kind::Bytes(b)) => {
                let bytes = std::mem::take(b);
                self.0 = None;
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.0.as_deref() {
            None => true,
            Some(Kind::Bytes(_)) => false,
            Some(Kind::Segments(s)) => {
                matches!(s.current, Current::Idle | Current::Failed) && s.segments.is_empty()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(match self.0.as_deref() {
            None => 0,
            Some(Kind::Bytes(b)) => b.len() as u64,
            Some(Kind::Segments(s)) => s.remaining,
        })
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn frames(body: Body) -> Result<Vec<Bytes>, FileError> {
        let mut body = SegmentBody::new(body);
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            out.push(frame?.into_data().expect("data"));
        }
        Ok(out)
    }

    fn multipart(path: &std::path::Path, len: u64) -> Body {
        Body::Multipart(rein_core::Multipart::new("b").file(
            "file",
            "f.bin",
            "application/octet-stream",
            rein_core::PartContent::File(FileSource::new(path, len)),
        ))
    }

    #[tokio::test]
    async fn streams_bytes_and_files_in_chunks_and_checks_the_length() {
        let dir = std::env::temp_dir().join(format!("rein-async-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("f.bin");
        let content: Vec<u8> = (0..(CHUNK * 3 + 5)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).expect("write");
        let len = content.len() as u64;

        let body = multipart(&path, len);
        let expected_len = body.content_length();
        let chunks = frames(body).await.expect("streams");
        assert!(chunks.iter().all(|c| c.len() <= CHUNK), "no chunk above {CHUNK} bytes");
        let wire: Vec<u8> = chunks.concat();
        assert_eq!(wire.len() as u64, expected_len);
        let at = wire.windows(content.len()).position(|w| w == content).expect("file inside");
        assert!(at > 0);

        let short = frames(multipart(&path, len + 1)).await.expect_err("file shorter");
        assert!(short.0.contains("changed size"), "{short}");
        let long = frames(multipart(&path, len - 1)).await.expect_err("file longer");
        assert!(long.0.contains("changed size"), "{long}");
        let missing = frames(multipart(&dir.join("nope"), 3)).await.expect_err("missing");
        assert!(missing.0.starts_with("opening"), "{missing}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn an_in_memory_body_is_one_frame_of_its_length() {
        let json = Bytes::from_static(b"{\"name\":\"x\"}");
        let body = SegmentBody::new(Body::Bytes(json.clone()));
        assert!(!hyper::body::Body::is_end_stream(&body));
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(json.len() as u64));
        assert_eq!(frames(Body::Bytes(json.clone())).await.expect("frames"), vec![json]);
        assert!(frames(Body::Bytes(Bytes::new())).await.expect("frames").is_empty());
    }

    #[test]
    fn an_empty_body_is_at_its_end() {
        let body = SegmentBody::new(Body::Empty);
        assert!(hyper::body::Body::is_end_stream(&body));
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(0));
    }
}
