//! Between Socket.IO packets as clients see them (JSON text with placeholders, binary in
//! attachments) and the adapter's packets (msgpack values, binary inline), the way the Node
//! adapter and socket.io-parser hand them to each other.

use bytes::Bytes;
use rmpv::Value;
use serde_json::Value as Json;
use socketio_proto::{AckId, Decoder, Encoded, Encoder, Nsp, Packet, RawArgs};

use crate::message::ClusterError;
use crate::msgpack;

/// An encoded EVENT's `[event, ...args]` as msgpack values, attachments inline as `bin`.
pub fn event_data(packet: &Encoded) -> Result<Vec<Value>, ClusterError> {
    let decoded = decode(packet)?;
    let json = decoded
        .payload_json()
        .ok_or(ClusterError::Shape("event without payload"))?;
    let items: Vec<Json> = serde_json::from_str(json).map_err(|_| ClusterError::Json)?;
    Ok(items
        .iter()
        .map(|v| from_json_with(v, decoded.attachments()))
        .collect())
}

/// The first argument of an ACK packet (a client's answer) as a msgpack value, binary inline
/// (`nil` when it has none), as the Node adapter forwards an ack to the requesting node.
pub fn ack_value(packet: &Packet) -> Value {
    match packet.args_value() {
        Ok(args) => args
            .first()
            .map_or(Value::Nil, |v| from_json_with(v, packet.attachments())),
        Err(_) => Value::Nil,
    }
}

/// Every argument of an event (after its name) or an ack as msgpack values, binary inline.
pub fn args_values(packet: &Packet) -> Result<Vec<Value>, ClusterError> {
    let args = packet.args_value().map_err(|_| ClusterError::Json)?;
    Ok(args
        .iter()
        .map(|v| from_json_with(v, packet.attachments()))
        .collect())
}

/// Msgpack values as raw Socket.IO arguments (binary as attachments), to emit or ack.
pub fn to_raw_args(args: &[Value]) -> Result<RawArgs, ClusterError> {
    raw_args(args)
}

/// A value's JSON text as socket.io-parser would write it (binary as a placeholder).
pub fn json_text(value: &Value) -> String {
    to_json_with(value, &mut Vec::new()).to_string()
}

/// A Socket.IO packet text and attachments: the EVENT `data` (`[event, ...args]`) for `nsp`
/// with ack id `id`, binary values as attachments.
pub fn encode_event(nsp: &Nsp, data: &[Value], id: Option<AckId>) -> Result<Encoded, ClusterError> {
    let (name, args) = data
        .split_first()
        .ok_or(ClusterError::Shape("event without a name"))?;
    let name = name.as_str().ok_or(ClusterError::Shape("event name"))?;
    let raw = raw_args(args)?;
    Encoder::default()
        .event_raw(nsp, name, &raw, id)
        .map_err(|_| ClusterError::Shape("reserved event name"))
}

/// Another node's client's answer as an ACK packet with that one argument (read it with
/// [`Packet::args`] as a local answer).
pub fn ack_packet(nsp: &Nsp, value: &Value) -> Result<Packet, ClusterError> {
    let raw = raw_args(std::slice::from_ref(value))?;
    let encoded = Encoder::default().ack_raw(nsp, AckId(0), &raw);
    decode(&encoded)
}

fn raw_args(args: &[Value]) -> Result<RawArgs, ClusterError> {
    let mut attachments = Vec::new();
    let items: Vec<Json> = args
        .iter()
        .map(|v| to_json_with(v, &mut attachments))
        .collect();
    let text = serde_json::to_string(&items).map_err(|_| ClusterError::Json)?;
    RawArgs::from_array(&text, attachments).map_err(|_| ClusterError::Json)
}

fn decode(packet: &Encoded) -> Result<Packet, ClusterError> {
    // The adapter's values are built from JSON: a msgpack parser's packet is read as JSON first.
    let packet = &packet
        .transcode(socketio_proto::Parser::Default)
        .map_err(|_| ClusterError::Json)?;
    let mut decoder = Decoder::default();
    let mut got = decoder
        .decode_text(packet.text().clone())
        .map_err(|_| ClusterError::Json)?;
    for a in packet.attachments() {
        got = decoder
            .decode_binary(a.clone())
            .map_err(|_| ClusterError::Shape("attachment"))?;
    }
    got.into_packet()
        .ok_or(ClusterError::Shape("attachments missing"))
}

/// JSON as msgpack (numbers as notepack writes them), placeholders replaced by their
/// attachment as `bin`.
fn from_json_with(v: &Json, attachments: &[Bytes]) -> Value {
    match v {
        Json::Object(map) if !attachments.is_empty() && map.len() == 2 => {
            let num = map.get("num").and_then(Json::as_u64);
            match (map.get("_placeholder"), num) {
                (Some(Json::Bool(true)), Some(n)) => match attachments.get(n as usize) {
                    Some(bytes) => Value::Binary(bytes.to_vec()),
                    None => msgpack::from_json(v),
                },
                _ => Value::Map(
                    map.iter()
                        .map(|(k, v)| (Value::from(k.as_str()), from_json_with(v, attachments)))
                        .collect(),
                ),
            }
        }
        Json::Object(map) if !attachments.is_empty() => Value::Map(
            map.iter()
                .map(|(k, v)| (Value::from(k.as_str()), from_json_with(v, attachments)))
                .collect(),
        ),
        Json::Array(items) if !attachments.is_empty() => Value::Array(
            items
                .iter()
                .map(|v| from_json_with(v, attachments))
                .collect(),
        ),
        _ => msgpack::from_json(v),
    }
}

/// Msgpack as the JSON socket.io-parser writes for the same JavaScript value: `bin` becomes a
/// placeholder and an attachment; a non-finite float is `null` (as `JSON.stringify`); map keys
/// that are not strings are written as their text; extensions (a date, notepack's legacy
/// forms) are `null`.
fn to_json_with(v: &Value, attachments: &mut Vec<Bytes>) -> Json {
    match v {
        Value::Binary(b) => {
            attachments.push(Bytes::copy_from_slice(b));
            serde_json::json!({"_placeholder": true, "num": attachments.len() - 1})
        }
        Value::Array(items) => {
            Json::Array(items.iter().map(|i| to_json_with(i, attachments)).collect())
        }
        Value::Map(pairs) => Json::Object(
            pairs
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.as_str().map_or_else(|| k.to_string(), str::to_owned),
                        other => other.to_string(),
                    };
                    (key, to_json_with(v, attachments))
                })
                .collect(),
        ),
        Value::F32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number)
        }
        Value::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Ext(..) => Json::Null,
        Value::String(s) => Json::String(s.as_str().map_or_else(
            || String::from_utf8_lossy(s.as_bytes()).into_owned(),
            str::to_owned,
        )),
        other => msgpack::to_json(other).unwrap_or(Json::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_goes_inline_and_back_to_attachments() {
        let nsp = Nsp::from("/chat");
        let data = vec![
            Value::from("ev"),
            Value::from(1),
            Value::Map(vec![(Value::from("b"), Value::Binary(vec![0xca, 0xfe]))]),
            Value::F64(2.5),
        ];
        let packet = encode_event(&nsp, &data, Some(AckId(7))).unwrap();
        assert_eq!(
            &packet.text()[..],
            r#"51-/chat,7["ev",1,{"b":{"_placeholder":true,"num":0}},2.5]"#
        );
        assert_eq!(packet.attachments(), [Bytes::from_static(&[0xca, 0xfe])]);
        assert_eq!(event_data(&packet).unwrap(), data);
    }

    #[test]
    fn an_answer_becomes_an_ack_packet() {
        let p = ack_packet(&Nsp::main(), &Value::Binary(vec![1])).unwrap();
        assert_eq!(ack_value(&p), Value::Binary(vec![1]));
        let p = ack_packet(&Nsp::main(), &Value::from("x")).unwrap();
        assert_eq!(p.args::<String>().unwrap(), "x");
        assert_eq!(
            ack_value(
                &Decoder::default()
                    .decode_text("3/a,1[]".into())
                    .unwrap()
                    .into_packet()
                    .unwrap()
            ),
            Value::Nil
        );
    }

    #[test]
    fn values_json_cannot_hold_are_written_as_javascript_would() {
        let data = vec![
            Value::from("ev"),
            Value::F64(f64::NAN),
            Value::Ext(-1, vec![0; 4]),
            Value::Map(vec![(Value::from(1), Value::from(true))]),
        ];
        let packet = encode_event(&Nsp::main(), &data, None).unwrap();
        assert_eq!(&packet.text()[..], r#"2["ev",null,null,{"1":true}]"#);
        assert!(encode_event(&Nsp::main(), &[Value::from("connect")], None).is_err());
        assert!(encode_event(&Nsp::main(), &[], None).is_err());
    }
}
