//! JSON key order on the wire without serde_json's `preserve_order` (which the crates leave to
//! their users): the conformance application echoes a client's auth payload with the client's
//! key order, as the reference's `socket.emit("auth", socket.handshake.auth)` does.
//!
//! Every case runs on both runtimes, once against the tokio adapter and once against smol,
//! and once more against `socketio-embedded`.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/key_order.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/key_order.rs");
}

mod embedded {
    const RT: super::support::Rt = super::support::Rt::Embedded;
    include!("cases/key_order.rs");
}
