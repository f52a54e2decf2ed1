//! Argument shapes as a JavaScript peer means them, with the real npm `socket.io-client` 4,
//! both ways: an array is one argument, a lone `null` is one argument, no argument is none and
//! several are several; handlers typed `Vec<u32>`, `Option<u32>`, `()`, a tuple and `Args`
//! read them, and what the server emits and acks arrives as the same JavaScript arguments.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/args.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/args.rs");
}
