//! Interop with the real clients, installed by `scripts/setup` in `interop/`: the npm
//! `socket.io-client` (4.8.1, and 2.5.0 speaking EIO3) and python-socketio's client (5.18.1),
//! against our conformance server.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/interop.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/interop.rs");
}
