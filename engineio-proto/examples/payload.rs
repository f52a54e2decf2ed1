//! Decodes a v4 polling payload and re-encodes it for every kind of client.
//!
//! `cargo run -p engineio-proto --example payload` uses a built-in body; pass a body as the
//! first argument (with `\x1e` written as `|`) to decode your own.

use bytes::{Bytes, BytesMut};
use engineio_proto::payload::{decode_payload, encode_payload, PayloadFormat};
use engineio_proto::{encode_ws_frame, EngineIoVersion, Packet, WsFrame};

const DEFAULT_BODY: &str = "4hello|2|bAQIDBA==|42[\"chat\",{\"msg\":\"h€llo 😀\"}]";

fn main() {
    let arg = std::env::args().nth(1);
    let body = arg
        .as_deref()
        .unwrap_or(DEFAULT_BODY)
        .replace('|', "\u{1e}");
    println!("v4 body:        {}", show(body.as_bytes()));
    let packets = match decode_payload(
        EngineIoVersion::V4,
        PayloadFormat::Text,
        Bytes::from(body.into_bytes()),
        1_000_000,
    ) {
        Ok(packets) => packets,
        Err(e) => {
            eprintln!("invalid payload: {e}");
            std::process::exit(1);
        }
    };
    for (i, p) in packets.iter().enumerate() {
        println!("  packet {i}: {}", describe(p));
    }

    let mut buf = BytesMut::new();
    for (label, version, binary) in [
        ("v4 polling", EngineIoVersion::V4, true),
        ("v3 polling b64", EngineIoVersion::V3, false),
        ("v3 polling XHR2", EngineIoVersion::V3, true),
    ] {
        let format = encode_payload(version, &packets, binary, &mut buf);
        let body = buf.split().freeze();
        println!("{label:<15} {} ({})", show(&body), format.content_type());
    }
    for (label, version) in [
        ("v4 websocket", EngineIoVersion::V4),
        ("v3 websocket", EngineIoVersion::V3),
    ] {
        println!("{label}:");
        for p in &packets {
            match encode_ws_frame(version, p.clone(), true, &mut buf).joined() {
                WsFrame::Text(t) | WsFrame::TextPacket { data: t, .. } => {
                    println!("  text   {}", show(t.as_bytes()))
                }
                WsFrame::Binary(b) => println!("  binary {}", hex(&b)),
            }
        }
    }
}

fn describe(p: &Packet) -> String {
    match p {
        Packet::Binary(b) => format!("binary message {}", hex(b)),
        other => format!("{other:?}"),
    }
}

/// Text with control and non-UTF-8 bytes escaped, as `\x1e`.
fn show(bytes: &[u8]) -> String {
    bytes.utf8_chunks().fold(String::new(), |mut out, chunk| {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
        out
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
