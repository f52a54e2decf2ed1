//! The `chat` example end to end: its page and the npm `socket.io-client` browser bundle
//! served beside Socket.IO, and headless Chromium (Debian's, driven by playwright-core; both
//! installed by `scripts/setup`) chatting through it.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol.

mod support;

#[path = "../examples/chat/app.rs"]
mod chat_app;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/chat.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/chat.rs");
}
