//! `Retry-After` and `retry-after-ms`: how long the server asked us to wait.
//!
//! Accepted forms: delta-seconds (`Retry-After: 60`), an HTTP-date (`Retry-After: Wed, 21 Oct
//! 2026 07:28:00 GMT`) and milliseconds (`retry-after-ms: 1500`). An HTTP-date is measured against
//! the response's own `Date` header when it has a valid one, so a skewed local clock neither
//! shortens nor stretches the wait; otherwise against the wall time passed in. Garbage, negative
//! and non-finite values are ignored. `retry-after-ms`, when valid, is the precise form of the
//! same wait and takes precedence (`Retry-After` can only say whole seconds), unless rounded up it
//! is still shorter than `Retry-After` (then the longer wait stands); among repeated headers of
//! one form the longest wins, so the server is never undercut.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The wait the response's headers ask for, if any valid one is given.
pub fn parse(headers: &HeaderMap, wall_now: SystemTime) -> Option<Duration> {
    let reference = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s.trim()).ok())
        .unwrap_or(wall_now);

    let seconds_form = headers
        .get_all(http::header::RETRY_AFTER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|s| parse_retry_after(s, reference))
        .max();
    let millis_form = headers
        .get_all("retry-after-ms")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(parse_millis)
        .max();
    match (millis_form, seconds_form) {
        // The precise form of the same wait, unless it would cut a longer whole-second one.
        (Some(ms), Some(secs))
            if ms.as_secs().saturating_add(u64::from(ms.subsec_nanos() > 0)) < secs.as_secs() =>
        {
            Some(secs)
        }
        (Some(ms), _) => Some(ms),
        (None, secs) => secs,
    }
}

/// One `Retry-After` value: delta-seconds or an HTTP-date measured from `reference`.
pub fn parse_retry_after(value: &str, reference: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: delta-seconds. Too many digits for u64 is still a (very long) wait.
        return Some(Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now".
    Some(at.duration_since(reference).unwrap_or(Duration::ZERO))
}

/// One `retry-after-ms` value: non-negative milliseconds, fractions allowed.
pub fn parse_millis(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let ms: f64 = value.parse().ok()?;
    if !ms.is_finite() || ms < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(ms / 1000.0).ok().or(Some(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn at(s: &str) -> SystemTime {
        httpdate::parse_http_date(s).expect("valid date")
    }

    #[test]
    fn forms() {
        let now = at("Sun, 22 Nov 2026 10:00:00 GMT");
        assert_eq!(parse(&headers(&[("retry-after", "60")]), now), Some(Duration::from_secs(60)));
        assert_eq!(parse(&headers(&[("retry-after", " 7 ")]), now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse(&headers(&[("retry-after-ms", "1500")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse(&headers(&[("retry-after", "Sun, 22 Nov 2026 10:00:30 GMT")]), now),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn garbage_and_negative_are_ignored() {
        let now = at("Sun, 22 Nov 2026 10:00:00 GMT");
        for bad in ["-5", "soon", "1.5e3", "", "NaN", "0x10", "+3"] {
            assert_eq!(parse(&headers(&[("retry-after", bad)]), now), None, "{bad}");
        }
        for bad in ["-1", "inf", "NaN", "abc", "1e3"] {
            assert_eq!(parse(&headers(&[("retry-after-ms", bad)]), now), None, "{bad}");
        }
    }

    #[test]
    fn milliseconds_are_the_precise_form_and_repeats_take_the_longest() {
        let now = at("Sun, 22 Nov 2026 10:00:00 GMT");
        let h = headers(&[("retry-after", "3"), ("retry-after-ms", "2500")]);
        assert_eq!(parse(&h, now), Some(Duration::from_millis(2500)));
        let h = headers(&[("retry-after", "60"), ("retry-after-ms", "100")]);
        assert_eq!(parse(&h, now), Some(Duration::from_secs(60)), "never cut short");
        let h = headers(&[("retry-after", "1"), ("retry-after-ms", "300")]);
        assert_eq!(parse(&h, now), Some(Duration::from_millis(300)), "1 s is 300 ms rounded up");
        let h = headers(&[("retry-after", "3"), ("retry-after-ms", "junk")]);
        assert_eq!(parse(&h, now), Some(Duration::from_secs(3)));
        let h = headers(&[("retry-after", "2"), ("retry-after", "5")]);
        assert_eq!(parse(&h, now), Some(Duration::from_secs(5)));
    }

    #[test]
    fn http_date_uses_the_response_date_not_a_skewed_local_clock() {
        // Local clock five minutes fast: measured against it, the wait would vanish.
        let skewed_local = at("Sun, 22 Nov 2026 10:05:00 GMT");
        let h = headers(&[
            ("date", "Sun, 22 Nov 2026 10:00:00 GMT"),
            ("retry-after", "Sun, 22 Nov 2026 10:00:45 GMT"),
        ]);
        assert_eq!(parse(&h, skewed_local), Some(Duration::from_secs(45)));
        // Without Date, the wall clock passed in is the reference; a date in the past means now.
        let h = headers(&[("retry-after", "Sun, 22 Nov 2026 10:00:45 GMT")]);
        assert_eq!(parse(&h, skewed_local), Some(Duration::ZERO));
    }

    #[test]
    fn huge_delta_is_a_long_wait_not_garbage() {
        let h = headers(&[("retry-after", "99999999999999999999999")]);
        assert_eq!(parse(&h, SystemTime::UNIX_EPOCH), Some(Duration::from_secs(u64::MAX)));
    }
}
