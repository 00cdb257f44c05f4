//! `retry_after`: [`rein_core::retry_after`] on any header lines and any values.
//!
//! The input is text of `name: value` lines. A valid line becomes a header; a name other than
//! `date`, `retry-after` or `retry-after-ms` is renamed to one of them, so every line counts.
//! Every line's value (valid header or not) also goes to the single-value parsers as a string.
//!
//! Properties, against four wall clocks (the epoch, the fixtures' day, a day before it, the end
//! of the year 9999):
//! - the wait is one the headers ask for: the longest `retry-after-ms` or the longest
//!   `Retry-After`, and it never undercuts the longest `Retry-After` in whole seconds;
//! - there is a wait exactly when some value is valid;
//! - delta-seconds read as themselves (too many digits: `u64::MAX` seconds), a date gives at
//!   most the time to the end of the year 9999, a negative or signed value gives nothing;
//! - `retry-after-ms` accepts only digits and dots, and whole milliseconds read exactly (to the
//!   nanosecond up to [`EXACT_MILLIS`], within one part in 2^52 beyond: it is read as an `f64`).

use std::time::{Duration, SystemTime};

use http::header::{DATE, RETRY_AFTER};
use http::{HeaderMap, HeaderName};
use rein_core::retry_after::{parse, parse_millis, parse_retry_after};

use super::header_lines;

/// The longest wait an HTTP-date can ask for: from the epoch to the end of the year 9999.
pub const LONGEST_DATE_WAIT: Duration = Duration::from_secs(253_402_300_799);

const MS: &str = "retry-after-ms";

/// Below this many milliseconds (2^22 seconds, about 48 days) a `retry-after-ms` read through an
/// `f64` is exact to the nanosecond.
pub const EXACT_MILLIS: u64 = (1 << 22) * 1000;

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for (name, value) in header_lines(data) {
        let name = match name.as_str() {
            "date" | "retry-after" | MS => name,
            other => match other.len() % 3 {
                0 => DATE,
                1 => RETRY_AFTER,
                _ => HeaderName::from_static(MS),
            },
        };
        headers.append(name, value);
    }
    let walls = [
        SystemTime::UNIX_EPOCH,
        super::error_decoder::wall_now(),
        super::error_decoder::wall_now() - Duration::from_secs(86_400),
        SystemTime::UNIX_EPOCH + LONGEST_DATE_WAIT,
    ];
    for wall in walls {
        check_headers(&headers, wall);
    }

    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        let value = line.split_once(':').map_or(line, |(_, v)| v);
        for wall in walls {
            check_value(value, wall);
            check_value(line, wall);
        }
        check_millis(value);
        check_millis(line);
    }
}

fn check_headers(headers: &HeaderMap, wall: SystemTime) {
    let got = parse(headers, wall);
    let reference = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s.trim()).ok())
        .unwrap_or(wall);
    let strings = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect()
    };
    let secs = strings("retry-after").iter().filter_map(|s| parse_retry_after(s, reference)).max();
    let millis = strings(MS).iter().filter_map(|s| parse_millis(s)).max();

    assert_eq!(got.is_some(), secs.is_some() || millis.is_some(), "a wait iff a valid value");
    if let Some(got) = got {
        assert!(Some(got) == secs || Some(got) == millis, "{got:?} is none of the asked waits");
        if let Some(secs) = secs {
            let whole = got.as_secs().saturating_add(u64::from(got.subsec_nanos() > 0));
            assert!(whole >= secs.as_secs(), "{got:?} undercuts Retry-After {secs:?}");
        }
    }
    if millis.is_some() && secs.is_none() {
        assert_eq!(got, millis);
    }
}

fn check_value(value: &str, reference: SystemTime) {
    let got = parse_retry_after(value, reference);
    let trimmed = value.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let secs = trimmed.parse::<u64>().unwrap_or(u64::MAX);
        assert_eq!(got, Some(Duration::from_secs(secs)), "delta-seconds {trimmed:?}");
        return;
    }
    if let Some(wait) = got {
        assert!(httpdate::parse_http_date(trimmed).is_ok(), "{trimmed:?} read as a date");
        assert!(wait <= LONGEST_DATE_WAIT, "{trimmed:?} asks for {wait:?}");
    }
    if trimmed.starts_with(['-', '+']) {
        assert_eq!(got, None, "a signed value {trimmed:?}");
    }
}

fn check_millis(value: &str) {
    let Some(wait) = parse_millis(value) else { return };
    let trimmed = value.trim();
    assert!(
        !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
        "retry-after-ms {trimmed:?} read as {wait:?}"
    );
    if trimmed.len() <= 15 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let ms: u64 = trimmed.parse().expect("at most 15 digits");
        let exact = Duration::from_millis(ms);
        if ms < EXACT_MILLIS {
            assert_eq!(wait, exact, "retry-after-ms {trimmed:?}");
        } else {
            // Read through an f64: past ~48 days the last digits are rounded, to within one part
            // in 2^52 (a wait that long is refused by every cap anyway).
            let tolerance = Duration::from_secs_f64(exact.as_secs_f64() * f64::EPSILON)
                + Duration::from_nanos(1);
            let off = wait.abs_diff(exact);
            assert!(off <= tolerance, "retry-after-ms {trimmed:?} read as {wait:?}");
        }
    }
}
