//! Socket.IO text packets: no panic; what decodes can be read every way, and its arguments
//! passed on raw re-encode to a packet that decodes to the same values.
#![no_main]

use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_proto::{Args, Binary, Decoded, Decoder, Encoder, Packet, PacketKind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut dec = Decoder::default();
    let Ok(Decoded::Packet(p)) = dec.decode_text(ByteString::from(text)) else {
        return;
    };
    let values = p.args_value();
    let _ = p.args::<(String, Binary, Vec<Value>)>();
    let _ = p.args::<(Option<String>, Option<Binary>, Option<u8>)>();
    let _ = p.args::<Vec<Value>>();
    let _ = p.args::<Args<Binary>>();
    if valid_args(&p) {
        // Valid JSON reads as a variable argument list, as many as there are.
        assert_eq!(
            p.args::<Args>().unwrap().len(),
            p.args_value().unwrap().len()
        );
    }
    let _ = p.data_owned::<Value>();
    let valid = p.validate().is_ok();
    if let (Some(raw), Ok(values), true) = (p.raw_args(), values, valid) {
        let mut enc = Encoder::default();
        let again = match (p.kind().without_binary(), p.event_name(), p.ack_id()) {
            (PacketKind::Event, Some(name), id) => {
                enc.event_raw(&p.nsp_owned(), name, &raw, id).ok()
            }
            (PacketKind::Ack, None, Some(id)) => Some(enc.ack_raw(&p.nsp_owned(), id, &raw)),
            _ => None,
        };
        if let Some(again) = again {
            let q = Decoder::default()
                .decode_text(again.text().clone())
                .unwrap()
                .into_packet()
                .unwrap();
            assert_eq!(q.args_value().unwrap(), values);
            assert_eq!(q.event_name(), p.event_name());
            assert_eq!(q.ack_id(), p.ack_id());
        }
    }
});

/// Whether the packet's arguments are well-formed JSON without attachments to resolve.
fn valid_args(p: &Packet) -> bool {
    p.attachments().is_empty() && p.validate().is_ok() && p.args_value().is_ok()
}
