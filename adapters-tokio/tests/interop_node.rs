//! Interop with the real npm `socket.io-client` (4.8.1, and 2.5.0 speaking EIO3), installed by
//! `scripts/setup` in `interop/`, against our conformance server.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/interop_node.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/interop_node.rs");
}
