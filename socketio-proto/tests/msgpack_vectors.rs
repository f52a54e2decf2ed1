//! The msgpack parser against what socket.io 4.8.1 and socket.io-client 4.8.1 write with
//! socket.io-msgpack-parser 3.0.2 (`fixtures/msgpack-vectors.jsonl`, recorded by
//! `interop/msgpack-vectors.js`): every vector decodes to what was sent, and the ones our
//! encoder can express are written byte for byte.

use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio_proto::msgpack::{decode, MsgpackEncoder, MsgpackPacket, Side};
use socketio_proto::{AckId, Binary, Nsp, PacketKind, ParseError};

fn vector(from: &str, what: &str) -> Bytes {
    let text = include_str!("fixtures/msgpack-vectors.jsonl");
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["from"] == from && v["what"] == what {
            let hex = v["hex"].as_str().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            return Bytes::from(bytes);
        }
    }
    panic!("no vector {from} / {what}");
}

fn dec(from: &str, what: &str) -> (Bytes, MsgpackPacket) {
    let b = vector(from, what);
    (b.clone(), decode(b).unwrap())
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Auth {
    token: String,
    n: u32,
}

#[test]
fn connect_both_ways() {
    let (bytes, p) = dec("client", "connect with auth");
    assert_eq!(
        (p.kind(), p.nsp(), p.ack_id()),
        (PacketKind::Connect, "/", None)
    );
    let auth: Auth = p.data().unwrap().unwrap();
    assert_eq!(
        auth,
        Auth {
            token: "abc".into(),
            n: 1
        }
    );
    let mut enc = MsgpackEncoder::new(Side::Client);
    assert_eq!(enc.connect(&Nsp::main(), Some(&auth)).unwrap(), bytes);

    // The server's reply carries `pid: undefined` (fixext `d4 00 00`): absent.
    let (_, p) = dec("server", "connect with auth");
    #[derive(Deserialize)]
    struct Reply {
        sid: String,
        pid: Option<String>,
    }
    let reply: Reply = p.data().unwrap().unwrap();
    assert_eq!(
        (reply.sid.as_str(), reply.pid),
        ("069geUMNsUQ145HTAAAA", None)
    );
    let v: Value = p.data().unwrap().unwrap();
    assert_eq!(v, json!({"sid": "069geUMNsUQ145HTAAAA", "pid": null}));

    let (bytes, p) = dec("client", "connect refused with data");
    assert_eq!((p.kind(), p.nsp()), (PacketKind::Connect, "/admin"));
    assert_eq!(p.data::<Value>().unwrap().unwrap(), json!({}));
    assert_eq!(
        enc.connect(&Nsp::from("/admin"), Some(&json!({}))).unwrap(),
        bytes
    );
}

#[test]
fn connect_error_and_disconnect() {
    #[derive(Serialize)]
    struct Data {
        code: u32,
        why: &'static str,
    }
    #[derive(Serialize)]
    struct Refusal {
        message: &'static str,
        data: Data,
    }
    let (bytes, p) = dec("server", "connect refused with data");
    assert_eq!((p.kind(), p.nsp()), (PacketKind::ConnectError, "/admin"));
    assert_eq!(
        p.data::<Value>().unwrap().unwrap(),
        json!({"message": "not allowed", "data": {"code": 42, "why": "no token"}})
    );
    let refusal = Refusal {
        message: "not allowed",
        data: Data {
            code: 42,
            why: "no token",
        },
    };
    let mut enc = MsgpackEncoder::default();
    assert_eq!(
        enc.connect_error(&Nsp::from("/admin"), &refusal).unwrap(),
        bytes
    );

    let (bytes, p) = dec("server", "server disconnect");
    assert_eq!((p.kind(), p.nsp()), (PacketKind::Disconnect, "/"));
    assert_eq!(p.data::<Value>().unwrap(), None);
    assert_eq!(enc.disconnect(&Nsp::main()), bytes);
}

#[test]
fn client_events_decode_and_options_are_ignored() {
    let (_, p) = dec("client", "event with ack");
    assert_eq!(
        (p.kind(), p.event_name(), p.ack_id()),
        (PacketKind::Event, Some("hello"), Some(AckId(0)))
    );
    let args: (String, u32, Vec<Option<bool>>) = p.args().unwrap();
    assert_eq!(args, ("a".into(), 2, vec![Some(true), None]));
    assert_eq!(
        p.args_value().unwrap(),
        vec![json!("a"), json!(2), json!([true, null])]
    );

    let (bytes, p) = dec("client", "binary event with ack");
    assert_eq!((p.event_name(), p.ack_id()), (Some("bin"), Some(AckId(1))));
    let data: Binary = p.args().unwrap();
    assert_eq!(&data[..], &[1, 2, 3]);
    // A view of the received message, not a copy.
    let inside = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    assert!(inside.contains(&(data.as_ptr() as usize)));

    let (_, p) = dec("client", "client emit");
    assert_eq!((p.event_name(), p.ack_id()), (Some("ask"), None));
    assert_eq!(p.args_value().unwrap(), Vec::<Value>::new());
    let () = p.args().unwrap();

    let (_, p) = dec("client", "client disconnect request");
    assert_eq!(p.event_name(), Some("bye"));
}

#[test]
fn server_events_and_acks_byte_for_byte() {
    let mut server = MsgpackEncoder::default();
    let mut client = MsgpackEncoder::new(Side::Client);

    let (bytes, p) = dec("server", "event with ack");
    assert_eq!((p.kind(), p.ack_id()), (PacketKind::Ack, Some(AckId(0))));
    let args = ("hi", 1.5, json!({"ok": true}));
    assert_eq!(server.ack(&Nsp::main(), AckId(0), &args).unwrap(), bytes);
    let got: (String, f64, Value) = p.args().unwrap();
    assert_eq!(got, ("hi".into(), 1.5, json!({"ok": true})));

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Nested {
        nested: Binary,
    }
    let (bytes, p) = dec("server", "binary event with ack");
    let args = (
        Binary::from(vec![9u8, 8]),
        Nested {
            nested: Binary::from(vec![7u8]),
        },
    );
    assert_eq!(server.ack(&Nsp::main(), AckId(1), &args).unwrap(), bytes);
    let got: (Binary, Nested) = p.args().unwrap();
    assert_eq!(got, args);

    let (bytes, p) = dec("server", "server emit with ack");
    let args = (-1i32, 300u32, 70000u32, 5_000_000_000u64);
    assert_eq!(
        server
            .event(&Nsp::main(), "question", &args, Some(AckId(0)))
            .unwrap(),
        bytes
    );
    assert_eq!(p.args::<(i32, u32, u32, u64)>().unwrap(), args);
    // JavaScript numbers written as numbers: the same bytes from f64s.
    assert_eq!(
        server
            .event(
                &Nsp::main(),
                "question",
                &(-1.0, 300.0, 70000.0, 5e9),
                Some(AckId(0))
            )
            .unwrap(),
        bytes
    );

    let (bytes, p) = dec("client", "server emit with ack");
    assert_eq!((p.kind(), p.ack_id()), (PacketKind::Ack, Some(AckId(0))));
    let answer = vec![Some("yes"), None];
    assert_eq!(client.ack(&Nsp::main(), AckId(0), &answer).unwrap(), bytes);
    assert_eq!(
        p.args::<Vec<Option<String>>>().unwrap(),
        vec![Some("yes".into()), None]
    );

    let (bytes, p) = dec("server", "server emit");
    assert_eq!(
        server
            .event(&Nsp::main(), "answered", &answer, None)
            .unwrap(),
        bytes
    );
    assert_eq!(p.event_name(), Some("answered"));
}

/// Packets the npm parser's `checkPacket` refuses, and the default parser's event-name rules.
#[test]
fn invalid_packets_are_typed_errors() {
    let mut enc = MsgpackEncoder::default();
    let mut bytes = enc.disconnect(&Nsp::main()).to_vec();
    bytes.push(0);
    let cases: Vec<(Vec<u8>, ParseError)> = vec![
        (vec![], ParseError::InvalidMsgpack),
        (vec![0xc1], ParseError::InvalidMsgpack),
        (bytes, ParseError::InvalidMsgpack),
        // Not a map.
        (vec![0x92, 0x00, 0x00], ParseError::InvalidPayload),
        // {type: 5, nsp: "/"}
        (
            b"\x82\xa4type\x05\xa3nsp\xa1/".to_vec(),
            ParseError::UnknownType(5),
        ),
        // {type: "2", nsp: "/"}
        (
            b"\x82\xa4type\xa12\xa3nsp\xa1/".to_vec(),
            ParseError::UnknownType(0xff),
        ),
        // {type: 1}: no namespace.
        (b"\x81\xa4type\x01".to_vec(), ParseError::InvalidPayload),
        // {type: 1, nsp: 1}
        (
            b"\x82\xa4type\x01\xa3nsp\x01".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 3, nsp: "/", data: [], id: -1}
        (
            b"\x84\xa4type\x03\xa3nsp\xa1/\xa4data\x90\xa2id\xff".to_vec(),
            ParseError::AckIdOverflow,
        ),
        // {type: 3, nsp: "/", data: [], id: "1"}
        (
            b"\x84\xa4type\x03\xa3nsp\xa1/\xa4data\x90\xa2id\xa11".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 2, nsp: "/", data: []}: an event needs a name.
        (
            b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x90".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 2, nsp: "/", data: {}}
        (
            b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x80".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 2, nsp: "/", data: [true]}
        (
            b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xc3".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 2, nsp: "/", data: ["disconnect"]}
        (
            b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xaadisconnect".to_vec(),
            ParseError::ReservedEventName,
        ),
        // {type: 1, nsp: "/", data: 1}: DISCONNECT has no data.
        (
            b"\x83\xa4type\x01\xa3nsp\xa1/\xa4data\x01".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 0, nsp: "/", data: "x"}: CONNECT data is an object.
        (
            b"\x83\xa4type\x00\xa3nsp\xa1/\xa4data\xa1x".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 4, nsp: "/", data: 1}
        (
            b"\x83\xa4type\x04\xa3nsp\xa1/\xa4data\x01".to_vec(),
            ParseError::InvalidPayload,
        ),
        // {type: 3, nsp: "/", data: 1}
        (
            b"\x83\xa4type\x03\xa3nsp\xa1/\xa4data\x01".to_vec(),
            ParseError::InvalidPayload,
        ),
        // Truncated inside the data.
        (
            b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa1a".to_vec(),
            ParseError::InvalidMsgpack,
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(
            decode(Bytes::from(bytes.clone())).err(),
            Some(err),
            "{bytes:x?}"
        );
    }
}

/// Event names that are numbers read as their JavaScript text; `undefined` data and ids are
/// absent; the last of repeated keys wins.
#[test]
fn javascript_values_read_as_javascript_does() {
    // {type: 2, nsp: "/", data: [7, "x"]}
    let p = decode(Bytes::from_static(
        b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\x07\xa1x",
    ))
    .unwrap();
    assert_eq!(p.event_name(), Some("7"));
    assert_eq!(p.args::<String>().unwrap(), "x");
    // {type: 2, nsp: "/", data: [1.5]}
    let p = decode(Bytes::from_static(
        b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xcb\x3f\xf8\0\0\0\0\0\0",
    ))
    .unwrap();
    assert_eq!(p.event_name(), Some("1.5"));
    // {type: 1, nsp: "/", data: undefined, id: undefined}
    let p = decode(Bytes::from_static(
        b"\x84\xa4type\x01\xa3nsp\xa1/\xa4data\xd4\0\0\xa2id\xd4\0\0",
    ))
    .unwrap();
    assert_eq!((p.kind(), p.ack_id()), (PacketKind::Disconnect, None));
    // {type: 5, type: 1, nsp: "/x", nsp: "/"}
    let p = decode(Bytes::from_static(
        b"\x84\xa4type\x05\xa4type\x01\xa3nsp\xa2/x\xa3nsp\xa1/",
    ))
    .unwrap();
    assert_eq!((p.kind(), p.nsp()), (PacketKind::Disconnect, "/"));
}

/// Malformed arguments are syntax errors when read (fatal), wrong types are not.
#[test]
fn argument_errors_split_like_json() {
    // {type: 2, nsp: "/", data: ["e", "\xff"]}: not UTF-8.
    let p = decode(Bytes::from_static(
        b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa1e\xa1\xff",
    ))
    .unwrap();
    assert!(p.args::<String>().unwrap_err().is_syntax());
    let mut enc = MsgpackEncoder::default();
    let p = decode(enc.event(&Nsp::main(), "e", &"text", None).unwrap()).unwrap();
    let err = p.args::<u32>().unwrap_err();
    assert!(!err.is_syntax(), "{err}");
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Floats with a fractional part stay floats (integral ones become integers, as in
        // JavaScript, and compare differently as `Value`s).
        (-1e12f64..1e12)
            .prop_filter("fractional", |f| f.fract() != 0.0)
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn events_round_trip(
        name in "[a-z]{1,12}",
        args in prop::collection::vec(json_value(), 0..6),
        id in prop::option::of(any::<u64>()),
        nsp in prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"],
    ) {
        let mut enc = MsgpackEncoder::default();
        let nsp = Nsp::from(nsp.as_str());
        let bytes = enc.event(&nsp, &name, &socketio_proto::Args(args.clone()), id.map(AckId)).unwrap();
        let p = decode(bytes).unwrap();
        prop_assert_eq!(p.event_name(), Some(name.as_str()));
        prop_assert_eq!(p.ack_id(), id.map(AckId));
        prop_assert_eq!(p.nsp(), nsp.as_str());
        prop_assert_eq!(p.args_value().unwrap(), args);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(p) = decode(Bytes::from(bytes)) {
            let _ = p.args_value();
            let _ = p.args::<(Option<String>, Option<Binary>, Option<u8>)>();
            let _ = p.data::<Value>();
        }
    }

    #[test]
    fn map_prefixed_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // A packet head then anything, so the data paths are reached more often.
        let mut all = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data".to_vec();
        all.extend_from_slice(&bytes);
        if let Ok(p) = decode(Bytes::from(all)) {
            let _ = p.args_value();
            let _ = p.args::<socketio_proto::Args<Binary>>();
            let _ = p.data::<Value>();
        }
    }
}

/// Packets of one parser read by the other's peers: what a fleet message goes through, and
/// connection state recovery's offset appended to a msgpack event.
#[test]
fn transcoding_and_the_recovery_offset() {
    use socketio_proto::{Decoder, DecoderConfig, Encoder, EncoderConfig, Parser};
    let json = Encoder::default()
        .event(
            &Nsp::from("/a"),
            "e",
            &(1, Binary::from(vec![5u8, 6])),
            Some(AckId(3)),
        )
        .unwrap();
    let mp = json.transcode(Parser::Msgpack).unwrap();
    assert_eq!((mp.parser(), mp.text().len()), (Parser::Msgpack, 0));
    let p = decode(mp.msgpack().unwrap().clone()).unwrap();
    assert_eq!(
        (p.nsp(), p.event_name(), p.ack_id()),
        ("/a", Some("e"), Some(AckId(3)))
    );
    let (n, b): (u32, Binary) = p.args().unwrap();
    assert_eq!((n, &b[..]), (1, &[5u8, 6][..]));
    // And back: the same text and attachments.
    assert_eq!(mp.transcode(Parser::Default).unwrap(), json);

    let mut enc = Encoder::new(EncoderConfig::default().with_parser(Parser::Msgpack));
    let ev = enc
        .event(&Nsp::main(), "e", &("x", json!({"k": [1]})), None)
        .unwrap();
    let with = ev.with_last_arg("off-1").unwrap();
    let mut dec = Decoder::new(DecoderConfig::default().with_parser(Parser::Msgpack));
    let mut got = None;
    for m in with.engineio_packets() {
        got = dec.decode(m).unwrap().into_packet();
    }
    let got = got.unwrap();
    assert_eq!(
        got.args_value().unwrap(),
        vec![json!("x"), json!({"k": [1]}), json!("off-1")]
    );
    // A text message is not a msgpack packet.
    assert_eq!(
        dec.decode_text("2[\"e\"]".into()).err(),
        Some(ParseError::UnexpectedText)
    );
}
