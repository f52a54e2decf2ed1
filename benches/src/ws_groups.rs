//! WebSocket framing: engineio-proto's codec (`engineio_proto::websocket`) against tungstenite
//! 0.28's (`WebSocketContext`, as the servers drive it: a 4 KiB read buffer), on the frames a
//! Socket.IO server reads and writes.
//!
//! - `ws_read/<case>`: a server reading client frames (masked). Each iteration hands both the
//!   frame's bytes the way a socket read would: ours copies them into its buffer and decodes;
//!   tungstenite reads them from a `Read` that yields the frame again and again.
//! - `ws_write/<case>`: a server writing one frame (unmasked) into a reused buffer.

use std::hint::black_box;
use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};
use engineio_proto::websocket::{write_frame, Decoder, Incoming, OpCode, Role};
use tungstenite::protocol::{Role as TRole, WebSocketConfig, WebSocketContext};
use tungstenite::Message;

use crate::groups::Group;
use crate::paired::timed;

/// The cases: name, opcode, payload, fragment size (0: one frame).
fn cases() -> Vec<(&'static str, OpCode, Vec<u8>, usize)> {
    let echo = br#"42["echo",{"msg":"hello","n":1}]"#.to_vec();
    let text_1k: Vec<u8> = std::iter::repeat(b"abcdefghij\xc3\xa9".as_slice())
        .flatten()
        .copied()
        .take(1020)
        .collect();
    vec![
        ("text_32", OpCode::Text, echo, 0),
        ("text_1k", OpCode::Text, text_1k.clone(), 0),
        ("text_1k_in_4", OpCode::Text, text_1k, 255),
        ("binary_64k", OpCode::Binary, vec![7u8; 64 * 1024], 0),
    ]
}

/// The case's frames as a client writes them.
fn client_wire(op: OpCode, payload: &[u8], fragment: usize) -> Bytes {
    let mut out = BytesMut::new();
    let key = Some([0x12, 0x34, 0x56, 0x78]);
    if fragment == 0 {
        write_frame(&mut out, op, true, payload, key);
    } else {
        let chunks: Vec<&[u8]> = payload.chunks(fragment).collect();
        for (i, c) in chunks.iter().enumerate() {
            let opcode = if i == 0 { op } else { OpCode::Continuation };
            write_frame(&mut out, opcode, i + 1 == chunks.len(), c, key);
        }
    }
    out.freeze()
}

/// A socket that yields the same bytes forever.
struct Repeat {
    wire: Bytes,
    at: usize,
}

impl Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.wire.len() - self.at);
        buf[..n].copy_from_slice(&self.wire[self.at..self.at + n]);
        self.at = (self.at + n) % self.wire.len();
        Ok(n)
    }
}

impl Write for Repeat {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps the bytes written, cleared by the caller.
struct Sink(Vec<u8>);

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096)
}

/// Every group: reads, then writes.
pub fn all() -> Vec<Group> {
    cases()
        .into_iter()
        .flat_map(|(name, op, payload, fragment)| {
            [
                read_group(name, op, &payload, fragment),
                write_group(name, op, &payload),
            ]
        })
        .collect()
}

fn read_group(name: &str, op: OpCode, payload: &[u8], fragment: usize) -> Group {
    let wire = client_wire(op, payload, fragment);
    let ours = {
        let wire = wire.clone();
        let mut dec = Decoder::new(Role::Server, 1 << 20);
        let mut buf = BytesMut::new();
        Box::new(move |n| {
            timed(n, || {
                buf.extend_from_slice(&wire);
                let got = dec.decode(&mut buf);
                matches!(got, Ok(Some(Incoming::Text(_) | Incoming::Binary(_))))
            })
        })
    };
    let theirs = {
        let mut io = Repeat {
            wire: wire.clone(),
            at: 0,
        };
        let mut ctx = WebSocketContext::new(TRole::Server, Some(config()));
        Box::new(move |n| timed(n, || ctx.read(&mut io).is_ok()))
    };
    Group {
        name: String::leak(format!("ws_read/{name}")),
        throughput: vec![("", wire.len() as u64)],
        contenders: vec![("ours".into(), ours), ("tungstenite".into(), theirs)],
    }
}

fn write_group(name: &str, op: OpCode, payload: &[u8]) -> Group {
    let payload = Bytes::copy_from_slice(payload);
    let ours = {
        let payload = payload.clone();
        let mut out = BytesMut::new();
        Box::new(move |n| {
            timed(n, || {
                out.clear();
                write_frame(&mut out, op, true, black_box(&payload), None);
                out.len()
            })
        })
    };
    let len = payload.len() as u64;
    let theirs = {
        let text = op == OpCode::Text;
        let mut sink = Sink(Vec::new());
        let mut ctx = WebSocketContext::new(TRole::Server, Some(config()));
        Box::new(move |n| {
            timed(n, || {
                sink.0.clear();
                let message = if text {
                    Message::Text(
                        tungstenite::Utf8Bytes::try_from(black_box(&payload).clone())
                            .unwrap_or_default(),
                    )
                } else {
                    Message::Binary(black_box(&payload).clone())
                };
                let _ = ctx.write(&mut sink, message);
                let _ = ctx.flush(&mut sink);
                sink.0.len()
            })
        })
    };
    Group {
        name: String::leak(format!("ws_write/{name}")),
        throughput: vec![("", len)],
        contenders: vec![("ours".into(), ours), ("tungstenite".into(), theirs)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both read every case's message back whole, and write the same bytes.
    #[test]
    fn both_codecs_agree() {
        for (name, op, payload, fragment) in cases() {
            let wire = client_wire(op, &payload, fragment);
            let mut dec = Decoder::new(Role::Server, 1 << 20);
            let got = dec.decode(&mut BytesMut::from(&wire[..])).unwrap().unwrap();
            let ours: Vec<u8> = match got {
                Incoming::Text(t) => t.as_bytes().to_vec(),
                Incoming::Binary(b) => b.to_vec(),
                other => panic!("{name}: {other:?}"),
            };
            let mut io = Repeat { wire, at: 0 };
            let mut ctx = WebSocketContext::new(TRole::Server, Some(config()));
            let theirs = ctx.read(&mut io).unwrap().into_data().to_vec();
            assert_eq!(ours, payload, "{name}");
            assert_eq!(theirs, payload, "{name}");

            let mut out = BytesMut::new();
            write_frame(&mut out, op, true, &payload, None);
            let mut sink = Sink(Vec::new());
            let mut ctx = WebSocketContext::new(TRole::Server, Some(config()));
            let message = match op {
                OpCode::Text => Message::Text(String::from_utf8(payload.clone()).unwrap().into()),
                _ => Message::Binary(payload.clone().into()),
            };
            ctx.write(&mut sink, message).unwrap();
            ctx.flush(&mut sink).unwrap();
            assert_eq!(&out[..], &sink.0[..], "{name}");
        }
    }
}
