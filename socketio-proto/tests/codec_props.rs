//! Property tests of the Socket.IO codec: round trips of every packet kind (nested binary
//! included), and no panic on arbitrary input.

use bytes::Bytes;
use bytestring::ByteString;
use proptest::prelude::*;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Value};
use socketio_proto::{
    is_reserved_event, AckId, Args, Binary, Decoded, Decoder, DecoderConfig, Encoded, Encoder, Nsp,
    Packet, PacketKind,
};

/// An argument tree with binary leaves anywhere.
#[derive(Debug, Clone)]
enum Arg {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Bin(Vec<u8>),
    List(Vec<Arg>),
    Obj(Vec<(String, Arg)>),
}

impl Serialize for Arg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Arg::Null => s.serialize_unit(),
            Arg::Bool(b) => s.serialize_bool(*b),
            Arg::Int(i) => s.serialize_i64(*i),
            Arg::Str(x) => s.serialize_str(x),
            Arg::Bin(b) => Binary::from(b.clone()).serialize(s),
            Arg::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for a in l {
                    seq.serialize_element(a)?;
                }
                seq.end()
            }
            Arg::Obj(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Arg {
    /// The JSON the header should carry, with binary leaves numbered in depth-first order, and
    /// the attachments in that order.
    fn expected(&self, atts: &mut Vec<Bytes>) -> Value {
        match self {
            Arg::Null => Value::Null,
            Arg::Bool(b) => json!(b),
            Arg::Int(i) => json!(i),
            Arg::Str(s) => json!(s),
            Arg::Bin(b) => {
                atts.push(Bytes::from(b.clone()));
                json!({"_placeholder": true, "num": atts.len() - 1})
            }
            Arg::List(l) => Value::Array(l.iter().map(|a| a.expected(atts)).collect()),
            Arg::Obj(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), v.expected(atts)))
                    .collect(),
            ),
        }
    }

    fn binaries(&self) -> usize {
        match self {
            Arg::Bin(_) => 1,
            Arg::List(l) => l.iter().map(Arg::binaries).sum(),
            Arg::Obj(o) => o.iter().map(|(_, v)| v.binaries()).sum(),
            _ => 0,
        }
    }
}

fn arg() -> impl Strategy<Value = Arg> {
    let leaf = prop_oneof![
        Just(Arg::Null),
        any::<bool>().prop_map(Arg::Bool),
        any::<i64>().prop_map(Arg::Int),
        "\\PC{0,12}".prop_map(Arg::Str),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Arg::Bin),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Arg::List),
            proptest::collection::btree_map("[a-z_]{0,6}", inner, 0..5)
                .prop_map(|m| Arg::Obj(m.into_iter().collect())),
        ]
    })
}

fn nsp() -> impl Strategy<Value = Nsp> {
    prop_oneof![
        Just(Nsp::main()),
        "/[a-zA-Z0-9_-]{1,10}".prop_map(|s| Nsp::from(s.as_str()))
    ]
}

fn event_name() -> impl Strategy<Value = String> {
    "\\PC{1,16}".prop_filter("reserved", |s| !is_reserved_event(s))
}

fn decode_all(e: &Encoded) -> Packet {
    let mut dec = Decoder::new(DecoderConfig::default().with_max_attachments(usize::MAX));
    let mut out = dec.decode_text(e.text().clone()).unwrap();
    for a in e.attachments() {
        assert_eq!(out, Decoded::Incomplete);
        out = dec.decode_binary(a.clone()).unwrap();
    }
    out.into_packet().expect("complete")
}

fn encoder() -> Encoder {
    Encoder::new(socketio_proto::EncoderConfig::default().with_max_attachments(usize::MAX))
}

proptest! {
    #[test]
    fn event_round_trips_with_nested_binary(
        nsp in nsp(),
        name in event_name(),
        args in proptest::collection::vec(arg(), 0..4),
        id in proptest::option::of(any::<u64>()),
    ) {
        let e = encoder().event(&nsp, &name, &Args(args.clone()), id.map(AckId)).unwrap();
        let p = decode_all(&e);
        let binaries: usize = args.iter().map(Arg::binaries).sum();
        let kind = if binaries > 0 { PacketKind::BinaryEvent } else { PacketKind::Event };
        prop_assert_eq!(p.kind(), kind);
        prop_assert_eq!(p.nsp(), nsp.as_str());
        prop_assert_eq!(p.ack_id(), id.map(AckId));
        prop_assert_eq!(p.event_name(), Some(name.as_str()));
        let mut atts = Vec::new();
        let expected: Vec<Value> = args.iter().map(|a| a.expected(&mut atts)).collect();
        prop_assert_eq!(p.args_value().unwrap(), expected.clone());
        prop_assert_eq!(p.args::<Args>().unwrap(), Args(expected));
        prop_assert_eq!(p.attachments(), &atts[..]);
        // Raw pass-through re-encodes to the same packet.
        let again = encoder().event_raw(&nsp, &name, &p.raw_args().unwrap(), id.map(AckId)).unwrap();
        prop_assert_eq!(again, e);
    }

    #[test]
    fn ack_round_trips_with_nested_binary(
        nsp in nsp(),
        args in proptest::collection::vec(arg(), 0..4),
        id in any::<u64>(),
    ) {
        let e = encoder().ack(&nsp, AckId(id), &Args(args.clone())).unwrap();
        let p = decode_all(&e);
        prop_assert_eq!(p.kind().without_binary(), PacketKind::Ack);
        prop_assert_eq!(p.ack_id(), Some(AckId(id)));
        let mut atts = Vec::new();
        let expected: Vec<Value> = args.iter().map(|a| a.expected(&mut atts)).collect();
        prop_assert_eq!(p.args_value().unwrap(), expected.clone());
        prop_assert_eq!(p.args::<Args>().unwrap(), Args(expected));
        prop_assert_eq!(p.attachments(), &atts[..]);
        let again = encoder().ack_raw(&nsp, AckId(id), &p.raw_args().unwrap());
        prop_assert_eq!(again, e);
    }

    #[test]
    fn vec_and_single_values_are_one_argument_both_ways(
        name in event_name(),
        list in proptest::collection::vec(arg(), 0..4),
        single in arg(),
        id in any::<u64>(),
    ) {
        // A `Vec` is one argument that is an array, as `emit(ev, [a, b])` in JavaScript.
        let mut atts = Vec::new();
        let expected: Vec<Value> = list.iter().map(|a| a.expected(&mut atts)).collect();
        let e = encoder().event(&Nsp::main(), &name, &list, None).unwrap();
        let p = decode_all(&e);
        prop_assert_eq!(p.args_value().unwrap(), vec![Value::Array(expected.clone())]);
        prop_assert_eq!(p.args::<Vec<Value>>().unwrap(), expected.clone());
        prop_assert_eq!(p.args::<Args>().unwrap().len(), 1);
        let e = encoder().ack(&Nsp::main(), AckId(id), &list).unwrap();
        prop_assert_eq!(decode_all(&e).args::<Vec<Value>>().unwrap(), expected);

        // Any other value (a null, a list, an object, binary) is one argument too.
        let mut atts = Vec::new();
        let expected = single.expected(&mut atts);
        let e = encoder().event(&Nsp::main(), &name, &single, None).unwrap();
        let p = decode_all(&e);
        prop_assert_eq!(p.args_value().unwrap(), vec![expected.clone()]);
        prop_assert_eq!(p.args::<Value>().unwrap(), expected.clone());
        prop_assert_eq!(p.attachments(), &atts[..]);
        let e = encoder().ack(&Nsp::main(), AckId(id), &single).unwrap();
        prop_assert_eq!(decode_all(&e).args_value().unwrap(), vec![expected]);
    }

    #[test]
    fn tuples_are_argument_lists_both_ways(
        name in event_name(),
        a in arg(),
        b in arg(),
        c in arg(),
    ) {
        let mut atts = Vec::new();
        let expected = [a.expected(&mut atts), b.expected(&mut atts), c.expected(&mut atts)];
        let e = encoder().event(&Nsp::main(), &name, &(&a, &b, &c), None).unwrap();
        let p = decode_all(&e);
        prop_assert_eq!(p.args_value().unwrap(), expected.to_vec());
        let (x, y, z): (Value, Value, Value) = p.args().unwrap();
        prop_assert_eq!([x, y, z], expected.clone());
        // A non-tuple type reads the first of them.
        prop_assert_eq!(p.args::<Value>().unwrap(), expected[0].clone());
        // A fixed-size array is serde's tuple form: the same three arguments.
        let e = encoder().event(&Nsp::main(), &name, &[&a, &b, &c], None).unwrap();
        prop_assert_eq!(decode_all(&e).args::<[Value; 3]>().unwrap(), expected);
    }

    #[test]
    fn connect_disconnect_and_error_round_trip(
        nsp in nsp(),
        auth in proptest::option::of(proptest::collection::btree_map("[a-z]{1,6}", "\\PC{0,8}", 0..4)),
        message in "\\PC{0,20}",
    ) {
        let mut enc = encoder();
        let e = enc.connect(&nsp, auth.as_ref()).unwrap();
        let p = decode_all(&e);
        prop_assert_eq!((p.kind(), p.nsp()), (PacketKind::Connect, nsp.as_str()));
        let back = p.data_owned::<std::collections::BTreeMap<String, String>>().unwrap();
        prop_assert_eq!(back, auth);

        let p = decode_all(&enc.disconnect(&nsp));
        prop_assert_eq!((p.kind(), p.nsp(), p.payload_json()), (PacketKind::Disconnect, nsp.as_str(), None));

        let payload = json!({"message": message, "data": {"n": 1}});
        let p = decode_all(&enc.connect_error(&nsp, &payload).unwrap());
        prop_assert_eq!(p.kind(), PacketKind::ConnectError);
        prop_assert_eq!(p.data_owned::<Value>().unwrap().unwrap(), payload);
    }

    #[test]
    fn typed_binary_args_round_trip(
        name in "[a-z]{1,8}",
        data in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..5),
        label in "\\PC{0,10}",
    ) {
        let bins: Vec<Binary> = data.iter().cloned().map(Binary::from).collect();
        let e = encoder().event(&Nsp::main(), &name, &(&label, &bins), None).unwrap();
        let p = decode_all(&e);
        let (l, b): (String, Vec<Binary>) = p.args().unwrap();
        prop_assert_eq!(l, label);
        prop_assert_eq!(b, bins);
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_messages(
        msgs in proptest::collection::vec(
            prop_oneof![
                "\\PC{0,40}".prop_map(Ok),
                "[0-6][0-9]{0,2}-?(/[a-z]{0,3},)?[0-9]{0,3}(\\[\"[a-z]{0,3}\"(,\\{\"_placeholder\":(true|1),\"num\":-?[0-9.]{0,3}\\})*\\])?".prop_map(Ok),
                proptest::collection::vec(any::<u8>(), 0..8).prop_map(Err),
            ],
            0..12,
        ),
    ) {
        let mut dec = Decoder::default();
        for m in msgs {
            let r = match m {
                Ok(text) => dec.decode_text(ByteString::from(text)),
                Err(bin) => dec.decode_binary(Bytes::from(bin)),
            };
            if let Ok(Decoded::Packet(p)) = r {
                let _ = p.args_value();
                let _ = p.args::<Vec<Value>>();
                let _ = p.args::<Args>();
                let _ = p.args::<Args<Binary>>();
                let _ = p.args::<(Binary, String)>();
                let _ = p.args::<(Option<String>, Option<Binary>, ())>();
                let _ = p.data_owned::<Value>();
                let _ = p.raw_args();
                let _ = p.validate();
            }
        }
    }
}
