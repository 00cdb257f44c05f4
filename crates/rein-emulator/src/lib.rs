//! rein-emulator: a faithful local Jockey + jack server, with seeded fault injection.
//!
//! One port serves both APIs: Twelve Labs' Jockey under `/v1.3` (header `x-api-key`) and jack
//! under `/v1` (`Authorization: Bearer jack_...`), in the references' wire shapes and error
//! dialects (Jockey `{code, message, docs_url}`, jack `{detail}`). rein's own tests, its demo
//! and simulator, and your tests run against it. A second port serves the storage side of
//! Jockey's multipart uploads: the chunk `PUT`s to presigned URLs ([Multipart
//! uploads](#multipart-uploads)).
//!
//! - [`model`]: the pure model. [`Emulator::handle`]`(request, now)` returns a [`Reply`]; all
//!   state is in memory, randomness is seeded, background processing (assets, items, documents)
//!   is read off lazily from `now`. Same seed and same `(request, now)` sequence, same replies.
//! - [`server`]: the hyper server around it ([`serve`], [`spawn`]), streaming uploads through
//!   the [`multipart`] scanner so a 200 MB file costs kilobytes, and acting out faults on the
//!   wire (resets, truncated bodies, delays).
//! - [`clock`]: real time scaled by a speed, or a [`ManualClock`] that tests advance.
//! - [`in_process`]: the model as a transport, with no sockets, on a manual clock the client
//!   shares ([`InProcess`]): virtual-time tests of a whole client.
//! - [`presigned`]: the storage side of multipart uploads: presigned URLs, `ETag`s, S3-style
//!   XML errors, and the [`ChunkDigest`] that stands for a chunk's bytes.
//! - [`faults`]: the [`FaultPlan`]; [`limiter`]: jack's sliding window; [`log`]: the request
//!   log; [`config`]: keys, limits, processing times, chunk size.
//!
//! # Using it in your own tests
//!
//! [`spawn`] starts a server on a thread of its own with its own runtime, so a plain `#[test]`
//! can use it; it stops when dropped. With a manual clock nothing moves until the test says so:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use rein_emulator::{spawn, Config, ServerConfig, DEMO_JACK_KEY};
//!
//! let server = spawn(ServerConfig::for_tests(Config::default()))?;
//! let base = server.jack_base_url(); // http://127.0.0.1:PORT/v1: point your client here
//! assert!(base.ends_with("/v1"));
//!
//! // Any HTTP client works; here, a bare socket.
//! let body = r#"{"documents": [{"text": "Refunds are accepted within 30 days."}]}"#;
//! let mut socket = std::net::TcpStream::connect(server.addr())?;
//! write!(
//!     socket,
//!     "POST /v1/ingest HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
//!      authorization: Bearer {DEMO_JACK_KEY}\r\ncontent-type: application/json\r\n\
//!      content-length: {}\r\n\r\n{body}",
//!     body.len()
//! )?;
//! let mut answer = String::new();
//! socket.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 202"));
//!
//! server.advance(Duration::from_secs(60)); // documents are ready within a minute
//! let log = server.log();                  // what your client sent, with statuses
//! assert_eq!(log.len(), 1);
//! assert!(log[0].state_changed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! From another language or process, run the binary and read the port from its first line:
//!
//! ```text
//! $ cargo run -p rein-emulator -- --addr 127.0.0.1:0 --seed 7 --faults 0.1 --speed 60
//! listening on http://127.0.0.1:40123
//! ```
//!
//! Flags: `--seed N` (every random draw), `--faults P` (total per-request fault probability,
//! spread over the thirteen API kinds for API requests and over the two chunk kinds for chunk
//! `PUT`s; 0, the default, injects nothing), `--speed X` (emulated seconds
//! per real second), `--jack-rpm N` (default 60), `--jockey-rpm N` (none by default),
//! `--jockey-key KEY` and `--jack-key KEY` (the accepted keys; [`DEMO_JOCKEY_KEY`] and
//! [`DEMO_JACK_KEY`] when omitted), `--failure-rate F` (share of resources that end `failed`).
//!
//! The banner's fifth line, `chunks: http://127.0.0.1:PORT2 ...`, is the presigned listener.
//!
//! # Multipart uploads
//!
//! Jockey's multipart upload flow, as the vendor's OpenAPI spec describes it:
//!
//! | endpoint | answer |
//! |---|---|
//! | `POST /v1.3/assets/multipart-uploads` | 201: `upload_id`, the reserved `asset_id`, `chunk_size` ([`Config::multipart_chunk_size`], 8 MiB), `total_chunks`, the first [`Config::multipart_initial_urls`] (10) presigned URLs, `upload_headers` (empty), `expires_at` (24 h) |
//! | `GET /v1.3/assets/multipart-uploads` | the sessions not completed (`active`, `expired`), newest first, paged |
//! | `GET /v1.3/assets/multipart-uploads/{upload_id}` | the session's status (`active`, `completed`, `expired`), counts, sizes and a page of its chunks (`completed`, `pending`, `failed`) |
//! | `POST /v1.3/assets/multipart-uploads/{upload_id}/presigned-urls` | `{start, count}` (1..=50): fresh URLs, clipped to the chunks there are |
//! | `POST /v1.3/assets/multipart-uploads/{upload_id}` | a report of `completed_chunks`, each proved by the `ETag` of its `PUT`; duplicates counted and ignored; the last chunk completes the session and makes the asset (method `multipart`, `processing` then `ready` on the direct-upload timing) |
//! | `PUT {presigned}/_presigned/{upload_id}/{chunk_index}?expires=..&sig=..` | the chunk's bytes: 200 with an `ETag` (FNV-1a 64, quoted hex); 403 XML for an expired (1 h), used (each URL takes one successful `PUT`) or forged URL; 400 XML for a chunk of the wrong length; 404 XML for an unknown or completed session |
//!
//! The presigned URLs point at a second listener ([`RunningServer::presigned_url`]), which
//! takes no key and serves nothing else; the API listener answers 404 under `/_presigned/`.
//! In process ([`InProcess`]) and in the bare model they point at
//! [`DEFAULT_PRESIGNED_BASE`] and are routed by path. A chunk's bytes are streamed through a
//! [`ChunkDigest`] and never kept. Two faults apply only to chunk `PUT`s:
//! [`FaultKind::ChunkFailure`] (500, the chunk not stored) and [`FaultKind::UrlExpiry`] (403
//! "Request has expired", the URL spent). The log's `carried_api_key` says whether a request
//! carried `x-api-key` or `Authorization`: a chunk `PUT` should not.
//!
//! # Shapes: where the spec and the SDK disagree
//!
//! Jockey answers follow the vendor's OpenAPI spec (July 2026) and the Python SDK 1.3.6
//! (October 2026, summarised in the references' `jockey-api.md`). Ready assets carry
//! `technical_metadata`, `size`, `duration` (video, audio), `hls.manifest_url` and
//! `thumbnail.representative_url`; ready items carry the `system_metadata` of their type
//! (duration and fps for video; width, height, codec_name, size for both). Media properties
//! are drawn from the asset id, so from the seed; so is the size of a URL upload, which the
//! emulator cannot download. Where the two sources disagree:
//!
//! | point | spec | SDK 1.3.6 | emulator |
//! |---|---|---|---|
//! | `enable_hls` / `enable_thumbnail` default on `POST /assets` | false | true | SDK: true ([`jockey::CREATE_MEDIA_EXTRAS_DEFAULT`]); multipart sessions default to false in both |
//! | `incomplete_details` on a response | absent | null unless incomplete | SDK: always sent, null |
//! | `annotations` on an `output_text` part (citations with `title`, `thumbnail_url`, `hls_url`) | absent | required | SDK |
//! | `object: "response"` beside `type` | `type` only | both | both (the spec does not forbid extra fields) |
//! | `GET /assets/{asset_id}/transcription` | absent | 404 when there is none | SDK: 404 (the emulator makes no transcription) |
//! | message `phase`, the `keepalive` event, asset method `connector` | absent | present | neither sent (the SDK reads a missing phase as the answer) |
//!
//! Every other path of the spec the emulator does not model (tasks, connections, entity
//! collections, item collections, indexes, search, embed, analyze: [`jockey::unmodeled_operations`])
//! answers 501 with a Jockey-dialect body, code `not_implemented`; a path the API does not
//! have stays a 404.
//!
//! # Reserved paths
//!
//! `GET /_emulator/log` (JSON array of `{seq, api, method, path, status, at_ms, state_changed,
//! fault, retry_after_ms, landing_of, carried_api_key}`; `?after=SEQ` for newer entries) and
//! `GET /_emulator/health`. They need no key and are never faulted, limited or logged. Chunk
//! `PUT`s go under `/_presigned/` on the presigned listener, and are logged (`api: null`).
//!
//! # Time
//!
//! Emulated time is what the model sees: processing durations, jack's one-minute window,
//! `Retry-After` values and search token lifetimes are all emulated. Under `--speed 60` a
//! minute passes in a real second, and the server converts what it sends back to real time:
//! `Retry-After: 60` becomes `Retry-After: 1` plus `retry-after-ms: 1000` (the seconds header
//! is rounded up, never under the real wait), and a slow-response delay (or a trickled body's
//! interval) is slept in real time divided by the speed. Under a manual clock nothing is
//! converted and nothing is slept.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod faults;
mod handler;
pub mod in_process;
pub mod jack;
pub mod jockey;
mod lifecycle;
pub mod limiter;
pub mod log;
pub mod model;
pub mod multipart;
pub mod presigned;
mod query;
pub mod server;
pub mod testing;
mod wire;

pub use clock::{Clock, ManualClock, ScaledClock};
pub use config::{
    Config, Span, Timing, DEFAULT_MULTIPART_CHUNK_SIZE, DEFAULT_MULTIPART_INITIAL_URLS,
    DEFAULT_PRESIGNED_BASE, DEMO_JACK_KEY, DEMO_JACK_ORG_ID, DEMO_JOCKEY_KEY,
};
pub use faults::{FaultKind, FaultPlan, Trickle};
pub use in_process::InProcess;
pub use log::{LogEntry, RequestLog};
pub use model::{Emulator, Reply, UnreadBody, WireFault, CONTROL_PREFIX};
pub use presigned::{ChunkDigest, PRESIGNED_PREFIX};
pub use server::{serve, serve_presigned, spawn, RunningServer, ServerConfig, Shared};
