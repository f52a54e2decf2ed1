//! A burst larger than every channel and buffer on the way: the echo server must deliver it
//! all, in order, without a deadlock between the application's `send` and `recv`.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/backpressure.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/backpressure.rs");
}
