//! msgpack packets (the msgpack parser): no panic; what decodes can be read every way, and an
//! event's arguments re-encoded decode to the same values.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_proto::msgpack::{decode, MsgpackEncoder};
use socketio_proto::{Args, Binary, Encoder, EncoderConfig, PacketKind, Parser};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let values = p.args_value();
    let _ = p.args::<(String, Binary, Vec<Value>)>();
    let _ = p.args::<(Option<String>, Option<Binary>, Option<u8>)>();
    let _ = p.args::<Args<Binary>>();
    let _ = p.data::<Value>();
    let _ = p.validate();
    // Relays: the arguments as JSON with attachments, and back to msgpack.
    if let Some(raw) = p.raw_args() {
        let config = EncoderConfig::default().with_parser(Parser::Msgpack);
        let again = Encoder::new(config).event_raw(&p.nsp_owned(), "relay", &raw, None);
        let again = again.expect("relayed arguments encode");
        let q = decode(again.msgpack().expect("a msgpack packet").clone()).expect("decodes");
        assert_eq!(q.event_name(), Some("relay"));
    }
    if let (PacketKind::Event, Some(name), Ok(values)) = (p.kind(), p.event_name(), values) {
        let mut enc = MsgpackEncoder::default();
        let Ok(again) = enc.event(&p.nsp_owned(), name, &Args(values.clone()), p.ack_id()) else {
            return;
        };
        let q = decode(again).expect("our own packet decodes");
        assert_eq!(q.event_name(), Some(name));
        assert_eq!(q.ack_id(), p.ack_id());
        let again: Vec<Value> = q.args_value().expect("our own arguments read");
        assert_eq!(normal(&Value::Array(again)), normal(&Value::Array(values)));
    }
});

/// Numbers compared as JavaScript does: an integral float is the integer notepack writes.
fn normal(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(normal).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        _ => v.clone(),
    }
}
