//! Graceful shutdown: every session closes with the right packets.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/shutdown.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/shutdown.rs");
}
