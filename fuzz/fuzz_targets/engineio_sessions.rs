//! Arbitrary operation sequences (requests, frames, time jumps, sends, closes, aborts) against
//! an Engine and its Sessions; `run` checks the invariants (no panic, buffers within limits,
//! routing table consistent, every session closes once its peer goes silent).
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use engineio_proto::sim::server_ops::{run, ServerOp};
use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|ops: Vec<ServerOp>| {
    if let Err(e) = run(start(), &ops) {
        panic!("{e}\n{ops:#?}");
    }
});
