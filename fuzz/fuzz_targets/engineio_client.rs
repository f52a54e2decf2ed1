//! A hostile server against the Engine.IO client: arbitrary responses, frames, failures, time
//! jumps, sends and closes; `run` checks the invariants (no panic, one GET and one POST at most,
//! no frame on a closed WebSocket, the client closes once the server goes silent).
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use engineio_proto::sim::client_ops::{run, ClientOp};
use engineio_proto::EngineIoVersion;
use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|input: (EngineIoVersion, bool, Vec<ClientOp>)| {
    let (version, websocket, ops) = input;
    if let Err(e) = run(start(), version, websocket, &ops) {
        panic!("{e}\n{ops:#?}");
    }
});
