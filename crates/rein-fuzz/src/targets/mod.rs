//! The targets, one module each, and what they share: reading raw responses leniently and the
//! bounds every decoded text must keep.

use bytes::Bytes;
use rein_core::decode::EXCERPT_LIMIT;
use rein_core::DecodeError;

pub mod error_decoder;
pub mod pagination;
pub mod request_validation;
pub mod retry_after;
pub mod sse;

/// The longest text a decoder may keep: [`EXCERPT_LIMIT`] bytes and the `…` marking a cut.
pub const TEXT_BOUND: usize = EXCERPT_LIMIT + '…'.len_utf8();

/// A raw response read leniently: `HTTP/1.1 <status> ...`, header lines, a blank line, the body.
///
/// Input that does not start with `HTTP/` is a bare body whose status comes from its first two
/// bytes. A status outside 100..=999 is folded into it; a header line that is not a valid name
/// and value is skipped; the body is everything after the first blank line, verbatim.
pub fn lenient_response(data: &[u8]) -> http::Response<Bytes> {
    let (status, head, body) = match data.strip_prefix(b"HTTP/") {
        Some(_) => {
            let (head, body) = split_head(data);
            let status_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let digits = status_line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .nth(1)
                .unwrap_or_default();
            let n = digits
                .iter()
                .take(6)
                .filter(|b| b.is_ascii_digit())
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
            (fold_status(n), &head[status_line.len().min(head.len())..], body)
        }
        None => {
            let n = u32::from(u16::from_be_bytes([
                data.first().copied().unwrap_or(0),
                data.get(1).copied().unwrap_or(0),
            ]));
            (fold_status(n), &[][..], data.get(2..).unwrap_or_default())
        }
    };
    let mut response = http::Response::new(Bytes::copy_from_slice(body));
    *response.status_mut() = http::StatusCode::from_u16(status).expect("folded into 100..=999");
    for (name, value) in header_lines(head) {
        response.headers_mut().append(name, value);
    }
    response
}

/// Header lines (`name: value`, CRLF or LF ends) that make a valid name and value.
pub fn header_lines(head: &[u8]) -> Vec<(http::HeaderName, http::HeaderValue)> {
    head.split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().position(|&b| b == b':')?;
            let name = http::HeaderName::from_bytes(line[..colon].trim_ascii()).ok()?;
            let value = http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
            Some((name, value))
        })
        .collect()
}

fn fold_status(n: u32) -> u16 {
    let n = if (100..=999).contains(&n) { n } else { 100 + n % 900 };
    u16::try_from(n).expect("at most 999")
}

/// Splits at the first blank line (CRLF CRLF or LF LF); no blank line: all head, no body.
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    let crlf = find(data, b"\r\n\r\n").map(|i| (i, 4));
    let lf = find(data, b"\n\n").map(|i| (i, 2));
    let first = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match first {
        Some((i, n)) => (&data[..i], &data[i + n..]),
        None => (data, &[][..]),
    }
}

/// The first position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How many times `needle` occurs in `hay`, overlaps included.
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || needle.len() > hay.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A decode error must say which response it is about and keep its text bounded.
pub fn check_decode_error(e: &DecodeError, status: u16, body: &[u8]) {
    assert_eq!(e.status, status, "a decode error keeps the response's status");
    assert_eq!(e.body_len, body.len(), "a decode error keeps the body's length");
    assert!(e.excerpt.len() <= TEXT_BOUND, "excerpt of {} bytes", e.excerpt.len());
    assert!(e.reason.len() <= TEXT_BOUND, "reason of {} bytes", e.reason.len());
    assert_no_key(&e.excerpt, "decode error excerpt");
    assert_no_key(&e.reason, "decode error reason");
}

/// Panics when `text` holds a key-shaped word (`jack_` or `tlk_` and twelve or more key
/// characters, at a word start), which the decoders scrub before keeping server text.
pub fn assert_no_key(text: &str, what: &str) {
    if let Some(word) = key_shaped_word(text) {
        panic!("{what} keeps a key-shaped word {word:?}");
    }
}

fn key_shaped_word(text: &str) -> Option<&str> {
    let is_key_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    let bytes = text.as_bytes();
    for prefix in ["jack_", "tlk_"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(prefix).map(|i| i + from) {
            from = at + prefix.len();
            if at > 0 && is_key_char(bytes[at - 1]) {
                continue;
            }
            let tail = bytes[from..].iter().take_while(|&&c| is_key_char(c)).count();
            if tail >= 12 {
                return Some(&text[at..from + tail]);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_response_reads_fixtures_and_folds_the_rest() {
        let r =
            lenient_response(b"HTTP/1.1 429 Too Many\r\nretry-after: 5\r\nbad header\r\n\r\n{}");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "5");
        assert_eq!(r.body().as_ref(), b"{}");
        let r = lenient_response(b"HTTP/1.1 42 x\n\nbody");
        assert_eq!((r.status().as_u16(), r.body().as_ref()), (142, &b"body"[..]));
        let r = lenient_response(b"\x01\xf4{\"detail\":1}");
        assert_eq!(r.status(), 500);
        assert_eq!(lenient_response(b"").status(), 100);
    }

    #[test]
    fn key_shapes() {
        assert_eq!(key_shaped_word("a jack_0123456789ab!"), Some("jack_0123456789ab"));
        assert_eq!(key_shaped_word("xjack_0123456789ab"), None);
        assert_eq!(key_shaped_word("tlk_short [redacted]"), None);
    }
}
