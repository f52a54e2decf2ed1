//! `sio`, a command-line Socket.IO client on smol: a `wscat` for Socket.IO.
//!
//! `cargo run --release -p socketio-smol --example sio -- [OPTIONS] URL`; `--help`
//! lists the options, and `socketio_smol::sio_cli` documents them with the `--json` lines.

use std::sync::Arc;

fn main() {
    let code = smol::block_on(socketio_smol::sio_cli::main(Arc::new(
        socketio_smol::SmolRuntime,
    )));
    std::process::exit(code);
}
