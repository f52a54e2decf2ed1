//! The WebSocket codec (engineio_proto::websocket) on arbitrary bytes and read sizes, either
//! role: no panic, nothing kept beyond what it was given, and cutting the stream into reads
//! changes neither the events nor the bytes it answers with.
#![no_main]

use bytes::BytesMut;
use engineio_proto::websocket::{Event, Role, WebSocket};
use libfuzzer_sys::fuzz_target;

fn run(role: Role, limit: usize, reads: &mut dyn Iterator<Item = &[u8]>) -> (Vec<Event>, Vec<u8>) {
    let mut ws = WebSocket::new(role, limit, Box::new(|b: &mut [u8]| b.fill(0x33)));
    let mut buf = BytesMut::new();
    let mut given = 0;
    let mut out = Vec::new();
    for read in reads {
        given += read.len();
        buf.extend_from_slice(read);
        ws.handle_bytes(&mut buf);
        assert!(buf.len() <= given);
        while let Some(t) = ws.poll_transmit() {
            out.extend_from_slice(&t);
        }
    }
    (std::iter::from_fn(|| ws.poll_event()).collect(), out)
}

fuzz_target!(|data: &[u8]| {
    let [flags, l0, chunk, stream @ ..] = data else {
        return;
    };
    let role = if flags & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let limit = usize::from(*l0) * 4;
    let chunk = usize::from(*chunk).max(1);
    let whole = run(role, limit, &mut std::iter::once(stream));
    let split = run(role, limit, &mut stream.chunks(chunk));
    assert_eq!(whole, split);
});
