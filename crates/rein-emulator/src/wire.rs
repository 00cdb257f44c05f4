//! Small wire helpers shared by both APIs: timestamps, ids, JSON responses, random draws.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use rein_core::{Random, SplitMix64};
use serde_json::Value;

/// RFC 3339 / ISO-8601 in UTC with a `Z`, to the second (`2026-01-01T00:00:05Z`).
pub(crate) fn timestamp(at: SystemTime) -> String {
    let secs = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DD` of a wall-clock time (UTC).
pub(crate) fn date(at: SystemTime) -> String {
    timestamp(at)[..10].to_owned()
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `n` lowercase hex digits from the generator.
pub(crate) fn hex_id(rng: &mut SplitMix64, n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        out.push_str(&format!("{:016x}", rng.next_u64()));
    }
    out.truncate(n);
    out
}

/// A version-4-shaped UUID from the generator (jack's ids).
pub(crate) fn uuid(rng: &mut SplitMix64) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A uniform draw in `[0, 1)`.
pub(crate) fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform draw in `[min, max]` (either order).
pub(crate) fn between(rng: &mut SplitMix64, min: Duration, max: Duration) -> Duration {
    let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
    lo + (hi - lo).mul_f64(unit(rng))
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A response with no body.
pub(crate) fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// A string cut to at most `max` characters.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let origin = rein_core::time::fake_wall_origin();
        assert_eq!(timestamp(origin), "2026-01-01T00:00:00Z");
        assert_eq!(
            timestamp(origin + Duration::from_secs(59 * 86_400 + 3_661)),
            "2026-03-01T01:01:01Z"
        );
        assert_eq!(timestamp(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(date(origin), "2026-01-01");
    }

    #[test]
    fn uuids_have_the_v4_shape() {
        let mut rng = SplitMix64::new(7);
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(hex_id(&mut rng, 24).len(), 24);
    }
}
