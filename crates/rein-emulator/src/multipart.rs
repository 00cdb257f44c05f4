//! A small streaming `multipart/form-data` scanner.
//!
//! Bytes are pushed in chunks of any size, split anywhere; the scanner keeps text fields (up to
//! a cap) and, of each file part, only its field name, file name, content type and length. A
//! 200 MB upload therefore costs a few kilobytes, which is what lets the server take the
//! direct-upload benchmark without holding the file.

use bytes::Bytes;
use rein_core::body::{FileSource, Multipart, PartContent};

/// The most bytes kept of one text field; a longer field is counted like a file.
pub const TEXT_FIELD_LIMIT: usize = 1 << 20;
/// The most bytes of one part's header block.
pub const HEADER_LIMIT: usize = 16 * 1024;
/// The most parts in one form.
pub const PART_LIMIT: usize = 256;

/// One part of a scanned form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormPart {
    /// The form field name.
    pub name: String,
    /// The file name, for file parts.
    pub filename: Option<String>,
    /// The part's content type, if it gave one.
    pub content_type: Option<String>,
    /// The content: kept text, or only a length.
    pub value: FormValue,
}

/// What is kept of a part's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormValue {
    /// A text field's value (lossily decoded as UTF-8).
    Text(String),
    /// A file (or an over-long field): only its length was kept.
    File {
        /// Its length in bytes.
        len: u64,
    },
}

impl FormPart {
    /// The text, for text fields.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            FormValue::Text(s) => Some(s),
            FormValue::File { .. } => None,
        }
    }

    /// The content length in bytes.
    pub fn len(&self) -> u64 {
        match &self.value {
            FormValue::Text(s) => s.len() as u64,
            FormValue::File { len } => *len,
        }
    }

    /// Whether the part is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a body is not a well-formed form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartError(pub String);

impl std::fmt::Display for MultipartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MultipartError {}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 70).then(|| v.to_owned())
    })
}

#[derive(Debug)]
enum State {
    /// Looking for a delimiter; content before it belongs to the current part (or the preamble).
    Body,
    /// Just after a delimiter: `--` ends the form, CRLF starts a part.
    AfterDelimiter,
    /// Reading a part's header block.
    Headers,
    /// After the closing delimiter: everything is ignored.
    Done,
}

/// The streaming scanner: [`feed`](Scanner::feed) chunks, then [`finish`](Scanner::finish).
#[derive(Debug)]
pub struct Scanner {
    delimiter: Vec<u8>,
    state: State,
    buf: Vec<u8>,
    parts: Vec<FormPart>,
    current: Option<Current>,
}

#[derive(Debug)]
struct Current {
    part: FormPart,
    text: Vec<u8>,
    counted: u64,
    as_file: bool,
}

impl Scanner {
    /// A scanner for a form with this boundary.
    pub fn new(boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Scanner {
            delimiter,
            state: State::Body,
            // The first delimiter has no CRLF before it; pretend it had.
            buf: b"\r\n".to_vec(),
            parts: Vec::new(),
            current: None,
        }
    }

    /// Feeds the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), MultipartError> {
        if matches!(self.state, State::Done) {
            return Ok(());
        }
        self.buf.extend_from_slice(chunk);
        self.run()
    }

    /// Ends the body and returns the form.
    pub fn finish(mut self) -> Result<Vec<FormPart>, MultipartError> {
        self.run()?;
        match self.state {
            State::Done => Ok(self.parts),
            _ => Err(MultipartError("the multipart body ended before its closing boundary".into())),
        }
    }

    fn run(&mut self) -> Result<(), MultipartError> {
        loop {
            match self.state {
                State::Done => {
                    self.buf.clear();
                    return Ok(());
                }
                State::Body => match find(&self.buf, &self.delimiter) {
                    Some(at) => {
                        self.content(at);
                        self.buf.drain(..at + self.delimiter.len());
                        self.close_part();
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        // Keep what could still be the start of a delimiter.
                        let safe = self.buf.len().saturating_sub(self.delimiter.len() - 1);
                        self.content(safe);
                        self.buf.drain(..safe);
                        return Ok(());
                    }
                },
                State::AfterDelimiter => {
                    let start = self
                        .buf
                        .iter()
                        .position(|&b| b != b' ' && b != b'\t')
                        .unwrap_or(self.buf.len());
                    let rest = &self.buf[start..];
                    if rest.len() < 2 {
                        if start > 64 {
                            return Err(MultipartError("garbage after a boundary".into()));
                        }
                        return Ok(());
                    }
                    if rest.starts_with(b"--") {
                        self.state = State::Done;
                    } else if rest.starts_with(b"\r\n") {
                        self.buf.drain(..start + 2);
                        self.state = State::Headers;
                    } else {
                        return Err(MultipartError("garbage after a boundary".into()));
                    }
                }
                State::Headers => match find(&self.buf, b"\r\n\r\n") {
                    Some(end) => {
                        if self.parts.len() >= PART_LIMIT {
                            return Err(MultipartError(format!("more than {PART_LIMIT} parts")));
                        }
                        let block = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                        self.buf.drain(..end + 4);
                        self.open_part(&block)?;
                        self.state = State::Body;
                    }
                    None if self.buf.len() > HEADER_LIMIT => {
                        return Err(MultipartError("a part's headers are too long".into()))
                    }
                    None => return Ok(()),
                },
            }
        }
    }

    /// Takes `self.buf[..n]` as content of the current part (the preamble has none).
    fn content(&mut self, n: usize) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let bytes = &self.buf[..n];
        if !cur.as_file && cur.text.len() + bytes.len() > TEXT_FIELD_LIMIT {
            cur.as_file = true;
            cur.counted = cur.text.len() as u64;
            cur.text = Vec::new();
        }
        if cur.as_file {
            cur.counted += bytes.len() as u64;
        } else {
            cur.text.extend_from_slice(bytes);
        }
    }

    fn open_part(&mut self, block: &str) -> Result<(), MultipartError> {
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in block.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim();
            if key.eq_ignore_ascii_case("content-disposition") {
                for (k, v) in disposition_params(value) {
                    if k.eq_ignore_ascii_case("name") {
                        name = Some(v);
                    } else if k.eq_ignore_ascii_case("filename") {
                        filename = Some(v);
                    }
                }
            } else if key.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_owned());
            }
        }
        let name = name.ok_or_else(|| MultipartError("a part has no field name".into()))?;
        let as_file = filename.is_some();
        self.current = Some(Current {
            part: FormPart { name, filename, content_type, value: FormValue::File { len: 0 } },
            text: Vec::new(),
            counted: 0,
            as_file,
        });
        Ok(())
    }

    fn close_part(&mut self) {
        if let Some(cur) = self.current.take() {
            let mut part = cur.part;
            part.value = if cur.as_file {
                FormValue::File { len: cur.counted }
            } else {
                FormValue::Text(String::from_utf8_lossy(&cur.text).into_owned())
            };
            self.parts.push(part);
        }
    }
}

/// The parameters of a `content-disposition` value (`form-data; name="a"; filename="b"`).
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    // Skip the disposition type.
    match rest.find(';') {
        Some(i) => rest = &rest[i + 1..],
        None => return out,
    }
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_owned();
        rest = &rest[eq + 1..];
        let val;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            val = v;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            val = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        out.push((key, val));
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match haystack[i..=last_start].iter().position(|&b| b == first) {
            Some(off) => {
                let at = i + off;
                if &haystack[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
            None => return None,
        }
    }
    None
}

/// Scans a whole in-memory body.
pub fn scan(boundary: &str, body: &[u8]) -> Result<Vec<FormPart>, MultipartError> {
    let mut scanner = Scanner::new(boundary);
    scanner.feed(body)?;
    scanner.finish()
}

/// The parts of a rein-core form, as the model reads them: file contents reduced to lengths.
pub fn from_core(form: &Multipart) -> Vec<FormPart> {
    form.parts()
        .iter()
        .map(|p| FormPart {
            name: p.name.clone(),
            filename: p.filename.clone(),
            content_type: p.content_type.clone().filter(|s| !s.is_empty()),
            value: match (&p.content, &p.filename) {
                (PartContent::File(f), _) => FormValue::File { len: f.len },
                (PartContent::Bytes(b), Some(_)) => FormValue::File { len: b.len() as u64 },
                (PartContent::Bytes(b), None) => {
                    FormValue::Text(String::from_utf8_lossy(b).into_owned())
                }
            },
        })
        .collect()
}

/// A rein-core form standing for scanned parts: text fields as text, file parts as files of the
/// scanned length with no path (the content was not kept).
pub fn to_core(boundary: &str, parts: &[FormPart]) -> Multipart {
    parts.iter().fold(Multipart::new(boundary), |form, p| match (&p.value, &p.filename) {
        (FormValue::Text(text), None) => form.text(&p.name, text.clone()),
        (FormValue::Text(text), Some(filename)) => form.file(
            &p.name,
            filename.clone(),
            p.content_type.clone().unwrap_or_default(),
            PartContent::Bytes(Bytes::from(text.clone())),
        ),
        (FormValue::File { len }, filename) => form.file(
            &p.name,
            filename.clone().unwrap_or_default(),
            p.content_type.clone().unwrap_or_default(),
            PartContent::File(FileSource::new("", *len)),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(b"preamble\r\n--XyZ\r\ncontent-disposition: form-data; name=\"method\"\r\n\r\ndirect\r\n");
        body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".mp4\"\r\nContent-Type: video/mp4\r\n\r\n");
        body.extend_from_slice(&[0u8; 1000]);
        body.extend_from_slice(b"\r\n--XyZ--\r\nepilogue");
        body
    }

    #[test]
    fn keeps_text_and_counts_files() {
        let parts = scan("XyZ", &sample()).expect("valid");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "method");
        assert_eq!(parts[0].text(), Some("direct"));
        assert_eq!(parts[1].filename.as_deref(), Some("a \"b\".mp4"));
        assert_eq!(parts[1].content_type.as_deref(), Some("video/mp4"));
        assert_eq!(parts[1].value, FormValue::File { len: 1000 });
    }

    #[test]
    fn a_cut_body_is_an_error() {
        let body = sample();
        assert!(scan("XyZ", &body[..body.len() - 14]).is_err());
        assert!(scan("XyZ", b"no boundary here").is_err());
    }

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(boundary("multipart/form-data; boundary=\"abc\"").as_deref(), Some("abc"));
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn core_forms_round_trip() {
        let form = Multipart::new("b").text("method", "direct").file(
            "file",
            "x.mp4",
            "video/mp4",
            PartContent::Bytes(Bytes::from_static(b"12345")),
        );
        let bytes = rein_core::Body::Multipart(form.clone()).as_bytes().expect("in memory");
        let scanned = scan("b", &bytes).expect("valid");
        assert_eq!(scanned, from_core(&form));
        assert_eq!(from_core(&to_core("b", &scanned)), scanned);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_form(cuts in proptest::collection::vec(0usize..1200, 0..8)) {
            let body = sample();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % body.len()).collect();
            cuts.sort_unstable();
            let mut scanner = Scanner::new("XyZ");
            let mut last = 0;
            for c in cuts {
                scanner.feed(&body[last..c]).expect("valid");
                last = c;
            }
            scanner.feed(&body[last..]).expect("valid");
            prop_assert_eq!(scanner.finish().expect("valid"), scan("XyZ", &body).expect("valid"));
        }

        #[test]
        fn no_input_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = scan("XyZ", &body);
        }
    }
}
