//! The server's handler API (`on`, `on_any`, `on_disconnect`, per-socket state, middleware on
//! the handshake, `of(..).to(..).except(..).volatile().timeout(..)`, broadcast acks, fetching,
//! moving and disconnecting the sockets of a room) driven by the real npm `socket.io-client` 4
//! over polling, WebSocket and upgrade.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/api.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/api.rs");
}
