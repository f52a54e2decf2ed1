//! Every vector of `shared/protocol/socketio.md` (§5, §10) and the Socket.IO items of
//! `interop-pitfalls.md`, byte for byte.

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio_proto::{
    AckId, Args, Binary, Decoded, Decoder, DecoderConfig, EncodeError, Encoder, Nsp, Packet,
    PacketKind, ParseError, RawArgs,
};

/// Decodes a text packet and its attachments with a fresh decoder.
fn decode(text: &str, attachments: &[&[u8]]) -> Result<Packet, ParseError> {
    let mut dec = Decoder::default();
    let mut out = dec.decode_text(ByteString::from(text))?;
    for a in attachments {
        assert_eq!(out, Decoded::Incomplete, "complete before all attachments");
        out = dec.decode_binary(Bytes::copy_from_slice(a))?;
    }
    Ok(out.into_packet().expect("packet incomplete"))
}

fn ok(text: &str) -> Packet {
    decode(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn nsp(s: &str) -> Nsp {
    Nsp::from(s)
}

// §10.1 round trips.

#[test]
fn connect_vectors() {
    let p = ok("0");
    assert_eq!(
        (p.kind(), p.nsp(), p.payload_json()),
        (PacketKind::Connect, "/", None)
    );
    let p = ok(r#"0{"token":"123"}"#);
    assert_eq!(
        p.data_owned::<Value>().unwrap().unwrap(),
        json!({"token":"123"})
    );
    let p = ok("0/admin,");
    assert_eq!((p.nsp(), p.payload_json()), ("/admin", None));
    let p = ok(r#"0/custom,{"token":"abc"}"#);
    assert_eq!(p.nsp(), "/custom");
    assert_eq!(p.payload_json(), Some(r#"{"token":"abc"}"#));
    assert_eq!(
        ok(r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#)
            .payload_json()
            .unwrap()
            .len(),
        30
    );
    assert_eq!(
        ok(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#).nsp(),
        "/admin"
    );

    let mut enc = Encoder::default();
    let t = |e: socketio_proto::Encoded| e.text().to_string();
    assert_eq!(t(enc.connect::<Value>(&Nsp::main(), None).unwrap()), "0");
    assert_eq!(
        t(enc
            .connect(&Nsp::main(), Some(&json!({"token":"123"})))
            .unwrap()),
        r#"0{"token":"123"}"#
    );
    assert_eq!(
        t(enc.connect::<Value>(&nsp("/admin"), None).unwrap()),
        "0/admin,"
    );
    assert_eq!(
        t(enc
            .connect(&nsp("/custom"), Some(&json!({"token":"abc"})))
            .unwrap()),
        r#"0/custom,{"token":"abc"}"#
    );
    #[derive(Serialize)]
    struct Ack<'a> {
        sid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<&'a str>,
    }
    let ack = Ack {
        sid: "o6Wx6LuPYLwvsH-1AAAV",
        pid: Some("VeLZH40cI3XvffECAAAW"),
    };
    assert_eq!(
        t(enc.connect(&Nsp::main(), Some(&ack)).unwrap()),
        r#"0{"sid":"o6Wx6LuPYLwvsH-1AAAV","pid":"VeLZH40cI3XvffECAAAW"}"#
    );
    let ack = Ack {
        sid: "oSO0OpakMV_3jnilAAAA",
        pid: None,
    };
    assert_eq!(
        t(enc.connect(&nsp("/admin"), Some(&ack)).unwrap()),
        r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
    );
    // Key order is the value's serialization order (a struct's fields here).
    #[derive(Serialize)]
    struct Recovery<'a> {
        pid: &'a str,
        offset: &'a str,
    }
    let recovery = Recovery {
        pid: "VeLZH40cI3XvffECAAAW",
        offset: "Q80exgF",
    };
    let text = t(enc.connect(&Nsp::main(), Some(&recovery)).unwrap());
    assert_eq!(
        text,
        r#"0{"pid":"VeLZH40cI3XvffECAAAW","offset":"Q80exgF"}"#
    );
    assert_eq!(
        ok(&text).data_owned::<Value>().unwrap().unwrap(),
        json!({"pid":"VeLZH40cI3XvffECAAAW","offset":"Q80exgF"})
    );
}

#[test]
fn disconnect_vectors() {
    let mut enc = Encoder::default();
    assert_eq!(&enc.disconnect(&Nsp::main()).text()[..], "1");
    assert_eq!(&enc.disconnect(&nsp("/admin")).text()[..], "1/admin,");
    assert_eq!(ok("1").kind(), PacketKind::Disconnect);
    assert_eq!(ok("1/admin,").nsp(), "/admin");
}

#[test]
fn event_vectors() {
    let p = ok(r#"2["foo"]"#);
    assert_eq!((p.event_name(), p.ack_id()), (Some("foo"), None));
    assert_eq!(p.args::<Args>().unwrap(), Args::new());
    let p = ok(r#"2/admin,["bar"]"#);
    assert_eq!((p.nsp(), p.event_name()), ("/admin", Some("bar")));
    let p = ok(r#"212["foo"]"#);
    assert_eq!(p.ack_id(), Some(AckId(12)));
    let p = ok(r#"20["question",42]"#);
    assert_eq!(p.ack_id(), Some(AckId(0)));
    assert_eq!(p.args::<(u32,)>().unwrap(), (42,));
    let p = ok(r#"2/admin,456["project:delete",123]"#);
    assert_eq!(
        (p.nsp(), p.ack_id(), p.event_name()),
        ("/admin", Some(AckId(456)), Some("project:delete"))
    );
    let p = ok(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#);
    assert_eq!(
        p.args_value().unwrap(),
        vec![json!(1), json!("2"), json!({"3":[false]})]
    );

    let mut enc = Encoder::default();
    let t = |e: socketio_proto::Encoded| e.text().to_string();
    assert_eq!(
        t(enc.event(&Nsp::main(), "foo", &(), None).unwrap()),
        r#"2["foo"]"#
    );
    assert_eq!(
        t(enc.event(&Nsp::main(), "foo", &[0u8; 0], None).unwrap()),
        r#"2["foo"]"#
    );
    assert_eq!(
        t(enc.event(&nsp("/admin"), "bar", &(), None).unwrap()),
        r#"2/admin,["bar"]"#
    );
    assert_eq!(
        t(enc
            .event(&Nsp::main(), "foo", &(), Some(AckId(12)))
            .unwrap()),
        r#"212["foo"]"#
    );
    assert_eq!(
        t(enc
            .event(&Nsp::main(), "question", &(42,), Some(AckId(0)))
            .unwrap()),
        r#"20["question",42]"#
    );
    assert_eq!(
        t(enc
            .event(&nsp("/admin"), "project:delete", &(123,), Some(AckId(456)))
            .unwrap()),
        r#"2/admin,456["project:delete",123]"#
    );
    assert_eq!(
        t(enc
            .event(
                &Nsp::main(),
                "message-with-ack",
                &(1, "2", json!({"3":[false]})),
                Some(AckId(456))
            )
            .unwrap()),
        r#"2456["message-with-ack",1,"2",{"3":[false]}]"#
    );
    // A single non-sequence value is one argument.
    assert_eq!(
        t(enc.event(&Nsp::main(), "x", &json!({"a":1}), None).unwrap()),
        r#"2["x",{"a":1}]"#
    );
    assert_eq!(
        t(enc.event(&Nsp::main(), "x", &"s", None).unwrap()),
        r#"2["x","s"]"#
    );
}

#[test]
fn ack_vectors() {
    let p = ok(r#"3456[1,"2",{"3":[false]}]"#);
    assert_eq!((p.kind(), p.ack_id()), (PacketKind::Ack, Some(AckId(456))));
    assert_eq!(
        p.args::<(u8, String, Value)>().unwrap(),
        (1, "2".into(), json!({"3":[false]}))
    );
    let p = ok(r#"3/admin,13["bar"]"#);
    assert_eq!(p.args::<(String,)>().unwrap().0, "bar");
    let p = ok("3/admin,456[]");
    assert_eq!(p.args_value().unwrap(), Vec::<Value>::new());

    let mut enc = Encoder::default();
    let t = |e: socketio_proto::Encoded| e.text().to_string();
    assert_eq!(
        t(enc
            .ack(&Nsp::main(), AckId(456), &(1, "2", json!({"3":[false]})))
            .unwrap()),
        r#"3456[1,"2",{"3":[false]}]"#
    );
    assert_eq!(
        t(enc.ack(&nsp("/admin"), AckId(13), &("bar",)).unwrap()),
        r#"3/admin,13["bar"]"#
    );
    assert_eq!(
        t(enc.ack(&nsp("/admin"), AckId(456), &()).unwrap()),
        "3/admin,456[]"
    );
    assert_eq!(
        t(enc
            .ack(&Nsp::main(), AckId(1), &json!({"status":"ok"}))
            .unwrap()),
        r#"31[{"status":"ok"}]"#
    );
}

#[test]
fn connect_error_vectors() {
    /// The payloads, written in the reference's key order (a struct's fields).
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Payload {
        Refusal {
            message: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            data: Option<Value>,
        },
        Text(&'static str),
    }
    let refusal = |message, data| Payload::Refusal { message, data };
    let mut enc = Encoder::default();
    let t = |e: socketio_proto::Encoded| e.text().to_string();
    for (nsp_name, payload, text) in [
        (
            "/",
            refusal("Not authorized", None),
            r#"4{"message":"Not authorized"}"#,
        ),
        (
            "/random",
            refusal("Invalid namespace", None),
            r#"4/random,{"message":"Invalid namespace"}"#,
        ),
        (
            "/secure",
            refusal("not authorized", Some(json!({"content":"retry later"}))),
            r#"4/secure,{"message":"not authorized","data":{"content":"retry later"}}"#,
        ),
        (
            "/admin",
            Payload::Text("Not authorized"),
            r#"4/admin,"Not authorized""#,
        ),
    ] {
        assert_eq!(
            t(enc.connect_error(&nsp(nsp_name), &payload).unwrap()),
            text
        );
        let p = ok(text);
        assert_eq!(p.kind(), PacketKind::ConnectError);
        assert_eq!(
            p.data_owned::<Value>().unwrap().unwrap(),
            serde_json::to_value(&payload).unwrap()
        );
    }
}

#[test]
fn binary_event_vectors() {
    let p = decode(
        r#"51-["baz",{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3, 4]],
    )
    .unwrap();
    assert_eq!(
        (p.kind(), p.event_name()),
        (PacketKind::BinaryEvent, Some("baz"))
    );
    assert_eq!(&p.args::<(Binary,)>().unwrap().0[..], &[1, 2, 3, 4]);

    let text = r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let p = decode(text, &[&[1, 2], &[3, 4]]).unwrap();
    let (a, b): (Binary, Binary) = p.args().unwrap();
    assert_eq!((&a[..], &b[..]), (&[1u8, 2][..], &[3u8, 4][..]));
    let mut enc = Encoder::default();
    let e = enc
        .event(
            &nsp("/admin"),
            "baz",
            &(Binary::from(vec![1, 2]), Binary::from(vec![3, 4])),
            None,
        )
        .unwrap();
    assert_eq!(&e.text()[..], text);
    assert_eq!(
        e.attachments(),
        &[Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]
    );

    let text = r#"61-15["bar",{"_placeholder":true,"num":0}]"#;
    let p = decode(text, &[&[1, 2, 3, 4]]).unwrap();
    assert_eq!(
        (p.kind(), p.ack_id()),
        (PacketKind::BinaryAck, Some(AckId(15)))
    );
    let e = enc
        .ack(
            &Nsp::main(),
            AckId(15),
            &("bar", Binary::from(vec![1, 2, 3, 4])),
        )
        .unwrap();
    assert_eq!(&e.text()[..], text);

    let text = r#"51-/admin,456["project:delete",{"_placeholder":true,"num":0}]"#;
    let p = decode(text, &[&[1, 2, 3]]).unwrap();
    assert_eq!((p.nsp(), p.ack_id()), ("/admin", Some(AckId(456))));
}

#[test]
fn suite_binary_echo_vectors() {
    let input = r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let p = decode(input, &[&[1, 2, 3], &[4, 5, 6]]).unwrap();
    // The conformance server answers with the same arguments, binary preserved.
    let args = p.raw_args().unwrap();
    let mut enc = Encoder::default();
    let out = enc
        .event_raw(&Nsp::main(), "message-back", &args, None)
        .unwrap();
    assert_eq!(
        &out.text()[..],
        r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(out.attachments(), p.attachments());

    let input =
        r#"52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let p = decode(input, &[&[1, 2, 3], &[4, 5, 6]]).unwrap();
    let out = enc.ack_raw(&Nsp::main(), p.ack_id().unwrap(), &p.raw_args().unwrap());
    assert_eq!(
        &out.text()[..],
        r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    // Echo through typed values gives the same bytes.
    let (a, b): (Binary, Binary) = p.args().unwrap();
    let typed = enc.ack(&Nsp::main(), AckId(789), &(a, b)).unwrap();
    assert_eq!(typed, out);
}

#[test]
fn nested_binary_extraction_order() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Nested {
        nested: Vec<Binary>,
    }
    let mut enc = Encoder::default();
    let args = (
        Binary::from(vec![1, 2, 3]),
        Nested {
            nested: vec![Binary::from(vec![4])],
        },
    );
    let e = enc.event(&Nsp::main(), "bin-back", &args, None).unwrap();
    let text = r#"52-["bin-back",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]}]"#;
    assert_eq!(&e.text()[..], text);
    let p = decode(text, &[&[1, 2, 3], &[4]]).unwrap();
    let back: (Binary, Nested) = p.args().unwrap();
    assert_eq!(back, args);
}

/// Zero copy: decoded `Binary` arguments share the attachment buffer.
#[test]
fn binary_args_share_the_attachment_buffer() {
    let mut dec = Decoder::default();
    assert_eq!(
        dec.decode_text(r#"51-["f",{"_placeholder":true,"num":0}]"#.into()),
        Ok(Decoded::Incomplete)
    );
    let att = Bytes::from(vec![7u8; 1024]);
    let p = dec
        .decode_binary(att.clone())
        .unwrap()
        .into_packet()
        .unwrap();
    let (b,): (Binary,) = p.args().unwrap();
    assert_eq!(b.as_ptr(), att.as_ptr());
    // Borrowed slices point into it too.
    let (s,): (&[u8],) = p.args().unwrap();
    assert_eq!(s.as_ptr(), att.as_ptr());
    // Encoding moves the handle, not the bytes.
    let e = Encoder::default()
        .event(&Nsp::main(), "f", &(b,), None)
        .unwrap();
    assert_eq!(e.attachments()[0].as_ptr(), att.as_ptr());
}

#[test]
fn plain_byte_buffers_become_attachments() {
    let mut enc = Encoder::default();
    let e = enc
        .event(
            &Nsp::main(),
            "raw",
            &(Bytes::from_static(b"ab"), serde_bytes_vec(vec![9])),
            None,
        )
        .unwrap();
    assert_eq!(
        &e.text()[..],
        r#"52-["raw",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        e.attachments(),
        &[Bytes::from_static(b"ab"), Bytes::from_static(&[9])]
    );
    let p = decode(&e.text()[..], &[b"ab", &[9]]).unwrap();
    let (a, b): (Bytes, Bytes) = p.args().unwrap();
    assert_eq!((&a[..], &b[..]), (&b"ab"[..], &[9u8][..]));
}

/// A `Vec<u8>` serializes as a sequence in serde; `Bytes` is the byte-buffer form.
fn serde_bytes_vec(v: Vec<u8>) -> Bytes {
    Bytes::from(v)
}

#[test]
fn binary_outside_our_serializer_is_plain_bytes() {
    let b = Binary::from(vec![1, 2]);
    assert_eq!(serde_json::to_string(&b).unwrap(), "[1,2]");
    let back: Binary = serde_json::from_str("[1,2]").unwrap();
    assert_eq!(back, b);
}

// §10.2 inputs the reference rejects (connection closed).

#[test]
fn rejected_inputs_are_typed_errors() {
    let cases: &[(&str, ParseError)] = &[
        ("abc", ParseError::UnknownType(b'a')),
        ("", ParseError::Empty),
        ("2{}", ParseError::InvalidPayload),
        (
            r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#,
            ParseError::InvalidPayload,
        ),
        ("0[]", ParseError::InvalidPayload),
        (r#"0"str""#, ParseError::InvalidPayload),
        ("1{}", ParseError::InvalidPayload),
        (r#"2["disconnect"]"#, ParseError::ReservedEventName),
        ("2[]", ParseError::InvalidPayload),
        (r#"511-["echo"]"#, ParseError::TooManyAttachments),
        (r#"50-["echo","no bin"]"#, ParseError::IllegalAttachments),
        (r#"5-["echo","x"]"#, ParseError::IllegalAttachments),
        (r#"5["echo"]"#, ParseError::IllegalAttachments),
        (r#"5x-["echo"]"#, ParseError::IllegalAttachments),
        ("7", ParseError::UnknownType(b'7')),
        (r#"4{"message":}"#, ParseError::InvalidJson),
        ("4[]", ParseError::InvalidPayload),
        ("399999999999999999999999[]", ParseError::AckIdOverflow),
    ];
    for (text, err) in cases {
        assert_eq!(decode(text, &[]).err(), Some(*err), "{text}");
    }
}

/// A CONNECT payload that is not JSON (the reference's decoder rejects `0{`): decoding checks
/// only its first byte, and reading it reports a syntax error, which the server machine treats
/// as fatal (`connect_auth.rs`).
#[test]
fn malformed_connect_payload_is_a_syntax_error_when_read() {
    for text in ["0{", r#"0{"token":}"#, r#"0/admin,{"a":1"#, r#"0{"a":1}x"#] {
        let p = decode(text, &[]).expect(text);
        let err = p.data::<serde_json::Value>().unwrap_err();
        assert!(err.is_syntax(), "{text}");
        assert_eq!(p.validate(), Err(ParseError::InvalidJson), "{text}");
    }
}

#[test]
fn every_reserved_event_name_is_refused_both_ways() {
    let mut enc = Encoder::default();
    for name in socketio_proto::RESERVED_EVENTS {
        assert_eq!(
            decode(&format!(r#"2["{name}"]"#), &[]).err(),
            Some(ParseError::ReservedEventName)
        );
        assert!(matches!(
            enc.event(&Nsp::main(), name, &(), None),
            Err(EncodeError::ReservedEventName)
        ));
    }
    // Pitfall 12: names other stacks map internally are ordinary events here.
    for name in ["open", "close", "error", "message"] {
        assert_eq!(ok(&format!(r#"2["{name}"]"#)).event_name(), Some(name));
    }
}

#[test]
fn text_while_attachments_pending_is_fatal() {
    let mut dec = Decoder::default();
    assert_eq!(
        dec.decode_text(r#"510-["echo"]"#.into()),
        Ok(Decoded::Incomplete)
    );
    assert!(dec.is_reassembling());
    assert_eq!(
        dec.decode_text(r#"2["x"]"#.into()),
        Err(ParseError::UnexpectedText)
    );
    assert!(!dec.is_reassembling());
}

#[test]
fn binary_without_pending_header_is_fatal() {
    let mut dec = Decoder::default();
    assert_eq!(
        dec.decode_binary(Bytes::from_static(&[1])),
        Err(ParseError::UnexpectedBinary)
    );
}

/// Pitfall 19: `num` must be an in-range integer selecting an attachment.
#[test]
fn placeholder_index_out_of_range_is_fatal() {
    for bad in [
        r#"51-["echo",{"_placeholder":true,"num":1}]"#,
        r#"51-["echo",{"_placeholder":true,"num":-1}]"#,
        r#"51-["echo",{"_placeholder":true,"num":0.5}]"#,
        r#"51-["echo",{"_placeholder":true,"num":"0"}]"#,
        r#"51-["echo",{"_placeholder":true}]"#,
        r#"51-["echo",{"a":[{"_placeholder":true,"num":7}]}]"#,
    ] {
        assert_eq!(
            decode(bad, &[&[1]]).err(),
            Some(ParseError::InvalidPlaceholder),
            "{bad}"
        );
    }
    // Only `_placeholder: true` makes a placeholder; `1.0` is the integer 1 in JavaScript.
    assert!(decode(r#"51-["echo",{"_placeholder":false,"num":9}]"#, &[&[1]]).is_ok());
    assert!(decode(
        r#"52-["echo",{"_placeholder":true,"num":1.0}]"#,
        &[&[1], &[2]]
    )
    .is_ok());
    assert_eq!(
        decode(r#"51-["echo",{"_placeholder":true,"num":0}"#, &[&[1]]).err(),
        Some(ParseError::InvalidJson)
    );
}

/// Pitfall 20: at most 10 attachments per packet by default, configurable.
#[test]
fn attachment_count_is_bounded() {
    let ten: String = (0..10)
        .map(|i| format!(r#",{{"_placeholder":true,"num":{i}}}"#))
        .collect();
    let text = format!(r#"510-["e"{ten}]"#);
    let atts: Vec<&[u8]> = vec![&[0u8]; 10];
    assert!(decode(&text, &atts).is_ok());
    assert_eq!(
        decode(r#"511-["e"]"#, &[]).err(),
        Some(ParseError::TooManyAttachments)
    );
    let mut dec = Decoder::new(DecoderConfig::default().with_max_attachments(2));
    assert_eq!(
        dec.decode_text(r#"53-["e"]"#.into()),
        Err(ParseError::TooManyAttachments)
    );
    // A huge announced count allocates nothing and is refused.
    assert_eq!(
        decode(r#"599999999999999999999999-["e"]"#, &[]).err(),
        Some(ParseError::IllegalAttachments)
    );
    assert_eq!(
        decode(r#"59999999999-["e"]"#, &[]).err(),
        Some(ParseError::TooManyAttachments)
    );
    let eleven: Vec<Binary> = (0..11).map(|i| Binary::from(vec![i])).collect();
    assert!(matches!(
        Encoder::default().event(&Nsp::main(), "e", &eleven, None),
        Err(EncodeError::TooManyAttachments)
    ));
}

// §10.3 inputs accepted.

#[test]
fn surprising_but_accepted_inputs() {
    assert_eq!(ok("0/custom").nsp(), "/custom");
    let p = ok("2");
    assert_eq!(
        (p.kind(), p.event_name(), p.payload_json()),
        (PacketKind::Event, None, None)
    );
    assert_eq!(ok(r#"2[1,"numeric event name"]"#).event_name(), Some("1"));
    let p = ok(r#"2["echo",{"_placeholder":true,"num":0}]"#);
    assert_eq!(
        p.args_value().unwrap(),
        vec![json!({"_placeholder":true,"num":0})]
    );
    assert_eq!(ok(r#"2007["echo"]"#).ack_id(), Some(AckId(7)));
    // `/admin["x"]` has no comma: all of it is the namespace.
    let p = ok(r#"2/admin["x"]"#);
    assert_eq!((p.nsp(), p.payload_json()), (r#"/admin["x"]"#, None));
}

/// §5.3: a `b…` WebSocket text frame that Engine.IO decoded to bytes counts as an attachment.
#[test]
fn engineio_binary_from_base64_text_frame_is_an_attachment() {
    let mut dec = Decoder::default();
    let eio = |s: &str| {
        engineio_proto::decode_text_packet(engineio_proto::EngineIoVersion::V4, ByteString::from(s))
            .unwrap()
    };
    assert_eq!(
        dec.decode(eio(r#"451-["echo",{"k":[{"_placeholder":true,"num":0}]}]"#)),
        Ok(Decoded::Incomplete)
    );
    let p = dec.decode(eio("bAQID")).unwrap().into_packet().unwrap();
    assert_eq!(p.attachments(), &[Bytes::from_static(&[1, 2, 3])]);
    // Other Engine.IO packets are not ours.
    assert_eq!(
        dec.decode(engineio_proto::Packet::Noop),
        Ok(Decoded::NotAMessage(engineio_proto::Packet::Noop))
    );
}

// Pitfalls.

/// Pitfall 9: placeholders nested anywhere, keys in either order, count before namespace.
#[test]
fn placeholders_nested_in_either_key_order() {
    let text = r#"52-/ns,["e",{"deep":{"list":[1,{"num":1,"_placeholder":true}]}},{"_placeholder":true,"num":0}]"#;
    let p = decode(text, &[b"A", b"B"]).unwrap();
    assert_eq!(p.nsp(), "/ns");
    #[derive(Deserialize)]
    struct Deep {
        deep: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        list: (u8, Binary),
    }
    let (d, b): (Deep, Binary) = p.args().unwrap();
    assert_eq!(
        (&d.deep.list.1[..], d.deep.list.0, &b[..]),
        (&b"B"[..], 1, &b"A"[..])
    );
}

/// Pitfall 11: an ack on a non-default namespace carries the namespace.
#[test]
fn ack_on_namespace_carries_it() {
    let e = Encoder::default()
        .ack(&nsp("/admin"), AckId(1), &("x",))
        .unwrap();
    assert_eq!(&e.text()[..], r#"3/admin,1["x"]"#);
}

/// Pitfall 24: a v2 client's CONNECT carries a query in the namespace.
#[test]
fn v4_connect_query_is_split_off_the_namespace() {
    let p = ok("0/custom?token=abc,");
    assert_eq!((p.nsp(), p.query()), ("/custom", Some("token=abc")));
    let p = ok(r#"2/admin?token=abc,["x"]"#);
    assert_eq!((p.nsp(), p.event_name()), ("/admin", Some("x")));
}

/// §3.2: output equals `JSON.stringify`: compact, key order kept (the order the value
/// serializes its keys in: a struct's fields), raw UTF-8, JS numbers.
#[test]
fn json_matches_javascript_stringify() {
    #[derive(Serialize)]
    struct Object {
        z: u8,
        a: (bool, Option<u8>),
        #[serde(rename = "é")]
        e: &'static str,
    }
    let mut enc = Encoder::default();
    let v = Object {
        z: 1,
        a: (true, None),
        e: "é\n\u{1}",
    };
    let e = enc
        .event(
            &Nsp::main(),
            "echo",
            &(1, "é", v, 1.0f64, 1e21f64, 0.5f32),
            None,
        )
        .unwrap();
    assert_eq!(
        &e.text()[..],
        "2[\"echo\",1,\"é\",{\"z\":1,\"a\":[true,null],\"é\":\"é\\n\\u0001\"},1,1e+21,0.5]"
    );
    let e = enc
        .event(
            &Nsp::main(),
            "echo-back",
            &(1, "é", json!({"a":[true,null]})),
            None,
        )
        .unwrap();
    assert_eq!(&e.text()[..], r#"2["echo-back",1,"é",{"a":[true,null]}]"#);
    let e = enc
        .event(
            &Nsp::main(),
            "message-back",
            &(1, "2", json!({"3":[true]})),
            None,
        )
        .unwrap();
    assert_eq!(&e.text()[..], r#"2["message-back",1,"2",{"3":[true]}]"#);
}

#[test]
fn raw_args_pass_through_unparsed() {
    let p = ok(r#"2/a,5["update",1,{"name":"x"}]"#);
    let raw = p.raw_args().unwrap();
    assert_eq!(raw.to_json_array(), r#"[1,{"name":"x"}]"#);
    let mut enc = Encoder::default();
    let e = enc.event_raw(&Nsp::main(), "relay", &raw, None).unwrap();
    assert_eq!(&e.text()[..], r#"2["relay",1,{"name":"x"}]"#);
    let none = ok(r#"2["ping"]"#).raw_args().unwrap();
    assert_eq!(
        &enc.event_raw(&Nsp::main(), "p", &none, None)
            .unwrap()
            .text()[..],
        r#"2["p"]"#
    );
    let ack = ok(r#"31[{"status":"ok"}]"#).raw_args().unwrap();
    assert_eq!(
        &enc.ack_raw(&Nsp::main(), AckId(2), &ack).text()[..],
        r#"32[{"status":"ok"}]"#
    );
    let built = RawArgs::from_array(r#" [1,2]"#, vec![]).unwrap();
    assert_eq!(
        &enc.event_raw(&Nsp::main(), "n", &built, None)
            .unwrap()
            .text()[..],
        r#"2["n",1,2]"#
    );
    assert!(RawArgs::from_array("{}", vec![]).is_err());
}

#[test]
fn args_type_errors_are_not_syntax_errors() {
    let p = ok(r#"2["e","not a number"]"#);
    let err = p.args::<(u32,)>().unwrap_err();
    assert!(!err.is_syntax());
    // Argument JSON is checked when it is read: malformed JSON is a syntax error (fatal).
    let p = ok(r#"2["e",{"a":]"#);
    assert!(p.args::<Args>().unwrap_err().is_syntax());
    assert!(p.args::<Value>().unwrap_err().is_syntax());
    assert_eq!(p.validate(), Err(ParseError::InvalidJson));
    // Extra arguments are ignored; missing ones are a type error.
    let p = ok(r#"2["e",1,2,3]"#);
    assert_eq!(p.args::<(u8,)>().unwrap(), (1,));
    assert!(!p.args::<(u8, u8, u8, u8)>().unwrap_err().is_syntax());
}

#[test]
fn encoded_packets_map_to_engineio_messages() {
    let e = Encoder::default()
        .event(&Nsp::main(), "b", &(Binary::from(vec![1]),), None)
        .unwrap();
    let msgs: Vec<_> = e.engineio_packets().collect();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0], engineio_proto::Packet::Message(e.text().clone()));
    assert_eq!(
        msgs[1],
        engineio_proto::Packet::Binary(Bytes::from_static(&[1]))
    );
}

/// Found by fuzzing: whitespace after an empty argument list must not produce `["x",]`.
#[test]
fn raw_args_with_trailing_whitespace_stay_valid_json() {
    let p = ok("23[3]\n\n\r\n\n");
    let raw = p.raw_args().unwrap();
    assert!(raw.is_empty());
    let e = Encoder::default()
        .event_raw(&Nsp::main(), "3", &raw, p.ack_id())
        .unwrap();
    assert_eq!(ok(&e.text()[..]).args_value().unwrap(), Vec::<Value>::new());
}

/// `args::<T>()`: tuples read the arguments in order, other types the first one.
#[test]
fn args_read_a_struct_from_the_first_argument() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Chat {
        msg: String,
        n: u32,
    }
    let p = ok(r#"2["chat",{"msg":"hello","n":1},"extra"]"#);
    let want = Chat {
        msg: "hello".into(),
        n: 1,
    };
    assert_eq!(p.args::<Chat>().unwrap(), want);
    assert_eq!(p.args::<(Chat, String)>().unwrap(), (want, "extra".into()));
    assert_eq!(p.args::<Value>().unwrap(), json!({"msg":"hello","n":1}));
    assert_eq!(
        p.args::<Option<Value>>().unwrap(),
        Some(json!({"msg":"hello","n":1}))
    );
    let none = ok(r#"2["chat"]"#);
    assert_eq!(none.args::<Option<Chat>>().unwrap(), None);
    // `()` takes no arguments and ignores any.
    none.args::<()>().unwrap();
    p.args::<()>().unwrap();
    assert!(!none.args::<Chat>().unwrap_err().is_syntax());
    let null = ok(r#"2["chat",null]"#);
    assert_eq!(null.args::<Option<u8>>().unwrap(), None);
    let bin = decode(r#"51-["f",{"_placeholder":true,"num":0}]"#, &[&[5]]).unwrap();
    assert_eq!(&bin.args::<Binary>().unwrap()[..], &[5]);
    assert_eq!(bin.args::<&[u8]>().unwrap(), &[5]);
}

#[test]
fn packets_without_payload_have_no_arguments() {
    let p = ok("3/admin,13");
    assert_eq!(p.args::<Args>().unwrap(), Args::new());
    assert_eq!(p.args::<Option<u8>>().unwrap(), None);
    assert!(!p.args::<(u8,)>().unwrap_err().is_syntax());
    // A `Vec` is one argument, and there is none.
    assert!(!p.args::<Vec<Value>>().unwrap_err().is_syntax());
    assert_eq!(ok("2").args::<Args>().unwrap(), Args::new());
}

/// An escaped event name and a v2 query both live outside the packet's inline fields.
#[test]
fn escaped_names_and_queries_are_kept() {
    let p = ok(r#"2/a?x=1,7["h\u00e9"]"#);
    assert_eq!(
        (p.nsp(), p.query(), p.event_name(), p.ack_id()),
        ("/a", Some("x=1"), Some("hé"), Some(AckId(7)))
    );
    assert_eq!(p.nsp_owned(), Nsp::from("/a"));
    assert_eq!(ok("2/,[\"x\"]").nsp(), "/");
    assert_eq!(ok(r#"2["x"]"#).nsp_owned(), Nsp::main());
}

#[test]
fn packets_taken_are_the_shared_ones_moved() {
    let mut enc = Encoder::default();
    let file = socketio_proto::Binary::from(Bytes::from_static(b"ab"));
    let e = enc.event(&nsp("/a"), "up", &(&file, 1), None).unwrap();
    let shared: Vec<engineio_proto::Packet> = e.engineio_packets().collect();
    assert_eq!(shared.len(), 2);
    let text_at = e.text().as_ptr();
    let owned: Vec<engineio_proto::Packet> = e.into_engineio_packets().collect();
    assert_eq!(owned, shared);
    let engineio_proto::Packet::Message(t) = &owned[0] else {
        panic!("{owned:?}")
    };
    assert!(
        std::ptr::eq(t.as_ptr(), text_at),
        "the text moved, not copied"
    );
    let config =
        socketio_proto::EncoderConfig::default().with_parser(socketio_proto::Parser::Msgpack);
    let mut mp = Encoder::new(config);
    let e = mp.event(&nsp("/a"), "up", &(1,), None).unwrap();
    let shared: Vec<engineio_proto::Packet> = e.engineio_packets().collect();
    assert_eq!(e.into_engineio_packets().collect::<Vec<_>>(), shared);
}
