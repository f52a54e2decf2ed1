//! `sio`, a command-line Socket.IO client on tokio: a `wscat` for Socket.IO.
//!
//! `cargo run --release -p socketio-tokio --example sio -- [OPTIONS] URL`; `--help` lists
//! the options, and `socketio_tokio::sio_cli` documents them with the `--json` lines.

use std::sync::Arc;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let code = runtime.block_on(socketio_tokio::sio_cli::main(Arc::new(
        socketio_tokio::TokioRuntime,
    )));
    std::process::exit(code);
}
