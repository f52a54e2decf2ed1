//! Operation sequences (peer messages, well-formed packets, engine ends, time jumps, emits,
//! broadcasts, rooms, namespaces, closes) against the Socket.IO server, its connections and a
//! client; `run` checks the invariants.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use socketio_proto::sim::ops::{run, SioOp};

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|ops: Vec<SioOp>| {
    if let Err(e) = run(start(), &ops) {
        panic!("{e}\n{ops:#?}");
    }
});
