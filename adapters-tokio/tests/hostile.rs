//! Hostile input over the wire: abandoned handshakes, malformed bodies and frames, packets
//! behind past CVEs of the reference parsers, oversized bodies. The server keeps serving and
//! its session count returns to zero once heartbeats expire.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol; the
//! oversized-message cases also against `socketio-embedded`.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/hostile.rs");
    include!("cases/oversized.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/hostile.rs");
    include!("cases/oversized.rs");
}

mod embedded {
    const RT: super::support::Rt = super::support::Rt::Embedded;
    include!("cases/oversized.rs");
}
