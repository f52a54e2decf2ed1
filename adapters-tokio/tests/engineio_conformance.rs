//! The official Engine.IO v4 conformance suite (socketio/engine.io-protocol, `test-suite`),
//! ported case by case to Rust and run against the `conformance` example on tokio.
//!
//! The test client reads WebSocket frames one at a time from a buffered stream, so frames that
//! arrive in one TCP read are all seen (engineio.md §14.6).
//!
//! Every case runs on both runtimes, once against the tokio adapter and once against smol,
//! and once more against `socketio-embedded` (the machines on blocking threads, no runtime).

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/engineio_conformance.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/engineio_conformance.rs");
}

mod embedded {
    const RT: super::support::Rt = super::support::Rt::Embedded;
    include!("cases/engineio_conformance.rs");
}
