//! Shared pieces of the codec benchmarks: a fixed corpus, the drivers for the crate we compare
//! against, and the "bare limit" baselines.
//!
//! The bench targets under `benches/` only wire these into criterion; keeping them here lets
//! `cargo test -p benches` check, before any number is taken, that every contender decodes and
//! encodes the same corpus to the same packets and bytes.
//!
//! - [`corpus`]: a deterministic mix of 100 Engine.IO messages (Socket.IO-like JSON, plain and
//!   non-ASCII text, base64 binary) and its v4 and v3 polling bodies.
//! - [`engineioxide`]: `engineioxide-core` driven as its server drives it (polling decoder over
//!   an `http_body::Body`, polling encoder over a `Stream` of `PacketBuf`s), polled with a no-op
//!   waker since an in-memory body is always ready.
//! - [`bare`]: the least work any v4 codec must do (UTF-8 check, split on `0x1E`, base64), the
//!   floor our codec is measured against.
//! - [`groups`]: the benchmark groups and their contenders, defined once for both bench targets.
//! - [`paired`]: interleaved timing, for ratios that hold while the machine is busy.
//!
//! The Socket.IO codec has its own corpus, driver and groups, on the same [`paired`] timing:
//!
//! - [`sio_corpus`]: eight Socket.IO packets (small events, an ack, 1 KB and 64 KB JSON
//!   documents, binary events with 1 KiB and 2 x 64 KiB attachments, a CONNECT with auth) and the
//!   Rust types a handler reads them into.
//! - [`socketioxide`]: `socketioxide-parser-common` driven as socketioxide's server drives it.
//! - [`sio_groups`]: one decode and one encode group per case: ours (typed and `Value`),
//!   socketioxide (the same), and the serde_json limit.
//! - [`mp_groups`]: the same cases as msgpack packets (the msgpack parser): ours,
//!   socketioxide's msgpack parser, and rmp_serde alone.

pub mod bare;
pub mod corpus;
pub mod engineioxide;
pub mod groups;
pub mod mp_groups;
pub mod paired;
pub mod sio_corpus;
pub mod sio_groups;
pub mod socketioxide;
pub mod ws_groups;
