//! The official Socket.IO v5 conformance suite (socketio/socket.io-protocol, `test-suite`),
//! ported case by case and run against the `conformance` example on tokio: its Engine.IO
//! cases at `/socket.io/`, then its Socket.IO cases.
//!
//! Every case runs on both runtimes, once against the tokio adapter and once against smol,
//! and once more against `socketio-embedded` (the machines on blocking threads, no runtime).

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/socketio_conformance.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/socketio_conformance.rs");
}

mod embedded {
    const RT: super::support::Rt = super::support::Rt::Embedded;
    include!("cases/socketio_conformance.rs");
}
