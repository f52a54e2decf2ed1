//! The client conformance matrix: our client (through `sio --json`) against real servers.
//!
//! Every case runs on both client runtimes: once with the tokio adapter, once with smol.

mod support;

mod tokio_client {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/client_matrix.rs");
}

mod smol_client {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/client_matrix.rs");
}
