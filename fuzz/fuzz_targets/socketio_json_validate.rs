//! The JSON syntax check of Socket.IO payloads (every EVENT and ACK a server receives, every
//! CONNECT_ERROR a client receives) gives serde_json's verdict on every input: it must accept
//! exactly what `serde_json`'s `IgnoredAny` followed by `Deserializer::end` accepts.
#![no_main]

use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, IgnoredAny};
use socketio_proto::{Decoded, Decoder};

fn serde_accepts(text: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // An ACK whose arguments are `[` + the input: checked by `Packet::validate`.
    let ack = format!("3[{s}");
    let Ok(Decoded::Packet(p)) = Decoder::default().decode_text(ByteString::from(ack)) else {
        panic!("an ACK with an array payload decodes");
    };
    let payload = p.payload_json().expect("a payload");
    assert_eq!(p.validate().is_ok(), serde_accepts(payload), "{payload:?}");
    // A CONNECT_ERROR whose payload is the input (an object or a string): checked when decoded.
    if s.starts_with(['{', '"']) {
        let decoded = Decoder::default().decode_text(ByteString::from(format!("4{s}")));
        assert_eq!(decoded.is_ok(), serde_accepts(s), "{s:?}");
    }
});
