//! The Socket.IO server builder: every setting reaches the wire.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/builder.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/builder.rs");
}
