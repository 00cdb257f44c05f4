//! What an emulator is configured with: keys, limits, processing times, failure rate, faults.

use std::time::Duration;

use crate::faults::FaultPlan;

/// The Jockey key accepted when none is configured (`x-api-key`).
pub const DEMO_JOCKEY_KEY: &str = "tlk_DEMO0EMULATOR0KEY0000000000000";

/// The jack key accepted when none is configured (`Authorization: Bearer ...`): jack's format,
/// `jack_` followed by 48 characters.
pub const DEMO_JACK_KEY: &str = "jack_emulatordemokey000000000000000000000000000000000";

/// The organisation every jack key of the emulator belongs to.
pub const DEMO_JACK_ORG_ID: &str = "0e0e0e0e-0000-4000-8000-00000000e0e0";

/// Where presigned chunk URLs point when nothing says otherwise: a host that resolves nowhere
/// (the reserved `.invalid` domain), for the model and [`InProcess`](crate::InProcess), which
/// route chunk `PUT`s by their path whatever the host. A [`spawn`](crate::spawn)ed server
/// replaces it with the address of its presigned listener.
pub const DEFAULT_PRESIGNED_BASE: &str = "https://presigned.emulator.invalid";

/// The chunk size of a multipart upload when none is configured: 8 MiB.
// GUESS: the spec says the platform computes the chunk size from the file's size and gives no
// number; 8 MiB is a common storage part size, and small enough for a test to upload a few.
pub const DEFAULT_MULTIPART_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// How many presigned URLs a new multipart session comes with when none is configured.
// GUESS: the spec says only that "the initial set may not include URLs for all chunks".
pub const DEFAULT_MULTIPART_INITIAL_URLS: u32 = 10;

/// A range of durations; draws are uniform in `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The shortest.
    pub min: Duration,
    /// The longest.
    pub max: Duration,
}

impl Span {
    /// `min..=max` seconds.
    pub const fn secs(min: u64, max: u64) -> Self {
        Span { min: Duration::from_secs(min), max: Duration::from_secs(max) }
    }

    /// Exactly `d` every time.
    pub const fn fixed(d: Duration) -> Self {
        Span { min: d, max: d }
    }
}

/// How long background processing takes, per resource kind (emulated time).
///
/// The defaults are the references' typical waits: direct-upload assets 10-60 s, URL assets
/// 10-120 s, knowledge store items 1-10 min, jack documents "most in under 60 seconds".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Assets uploaded with `method=direct`: `processing` until this has passed.
    pub asset_direct: Span,
    /// Assets uploaded with `method=url`.
    pub asset_url: Span,
    /// Knowledge store items, from `queued` to `ready`/`failed`. The first 10% is spent
    /// `queued`, the next 10% `pending`, the rest `processing`.
    pub item: Span,
    /// jack documents, `processing` until this has passed.
    pub document: Span,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            asset_direct: Span::secs(10, 60),
            asset_url: Span::secs(10, 120),
            item: Span::secs(60, 600),
            document: Span::secs(5, 60),
        }
    }
}

impl Timing {
    /// Everything done after exactly `d`: handy for tests that advance a clock by hand.
    pub const fn all(d: Duration) -> Self {
        Timing {
            asset_direct: Span::fixed(d),
            asset_url: Span::fixed(d),
            item: Span::fixed(d),
            document: Span::fixed(d),
        }
    }
}

/// The emulator's configuration. `Config::default()` is what the binary runs with when given no
/// flags: demo keys, jack's 60 requests/minute, no Jockey limit, the references' processing
/// times, no failures and no faults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Seeds every random draw (ids, durations, outcomes, faults).
    pub seed: u64,
    /// Accepted Jockey keys (`x-api-key`).
    pub jockey_keys: Vec<String>,
    /// Accepted jack keys (`Authorization: Bearer`); all belong to [`Config::jack_org_id`].
    pub jack_keys: Vec<String>,
    /// The jack organisation id reported in responses.
    pub jack_org_id: String,
    /// jack's sliding-window limit per organisation per minute (0 turns it off).
    pub jack_rpm: u32,
    /// An optional Jockey limit per key per minute (Jockey publishes no number).
    pub jockey_rpm: Option<u32>,
    /// How long background processing takes.
    pub timing: Timing,
    /// The share of assets, items and documents whose processing ends `failed` (0..=1).
    pub failure_rate: f64,
    /// Faults injected per request.
    pub faults: FaultPlan,
    /// How long a search `page_token` stays valid before it answers 410.
    pub page_token_ttl: Duration,
    /// The most request-log entries kept (the oldest are dropped first).
    pub log_capacity: usize,
    /// The bytes per chunk of a multipart upload (the last chunk holds what is left). The spec
    /// says the platform computes it; [`DEFAULT_MULTIPART_CHUNK_SIZE`] is a guess.
    pub multipart_chunk_size: u64,
    /// How many presigned URLs a new multipart session comes with (at most one per chunk);
    /// the rest are asked for at `POST /assets/multipart-uploads/{upload_id}/presigned-urls`.
    pub multipart_initial_urls: u32,
    /// Where presigned chunk URLs point (`http://HOST:PORT`, no trailing slash needed): URLs are
    /// `{presigned_base}/_presigned/{upload_id}/{chunk_index}?expires={unix_ms}&sig={token}`.
    /// [`spawn`](crate::spawn) sets it to its presigned listener's address.
    pub presigned_base: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            jockey_keys: vec![DEMO_JOCKEY_KEY.to_owned()],
            jack_keys: vec![DEMO_JACK_KEY.to_owned()],
            jack_org_id: DEMO_JACK_ORG_ID.to_owned(),
            jack_rpm: 60,
            jockey_rpm: None,
            timing: Timing::default(),
            failure_rate: 0.0,
            faults: FaultPlan::none(),
            // A guess: Jockey publishes no lifetime for search page tokens.
            page_token_ttl: Duration::from_secs(600),
            log_capacity: 100_000,
            multipart_chunk_size: DEFAULT_MULTIPART_CHUNK_SIZE,
            multipart_initial_urls: DEFAULT_MULTIPART_INITIAL_URLS,
            presigned_base: DEFAULT_PRESIGNED_BASE.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_jack_key_has_jacks_format() {
        let rest = DEMO_JACK_KEY.strip_prefix("jack_").expect("prefix");
        assert_eq!(rest.len(), 48);
        assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
