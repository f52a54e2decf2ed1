//! Every example of `shared/protocol/engineio.md` and `interop-pitfalls.md` that concerns the
//! codec, byte for byte, both protocol revisions.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_proto::payload::{self, v3, v4, PayloadFormat};
use engineio_proto::{
    decode_binary_packet, decode_text_packet, decode_ws_frame, encode_text_packet, encode_ws_frame,
    DecodeError, EngineIoVersion, OpenPacket, Packet, PacketType, WsFrame,
};

use EngineIoVersion::{V3, V4};

const MAX: usize = 1_000_000;

fn msg(s: &str) -> Packet {
    Packet::Message(ByteString::from(s))
}

fn bin(b: &[u8]) -> Packet {
    Packet::Binary(Bytes::copy_from_slice(b))
}

fn text(v: EngineIoVersion, s: &str) -> Result<Packet, DecodeError> {
    decode_text_packet(v, ByteString::from(s))
}

fn encode_text(v: EngineIoVersion, p: &Packet) -> String {
    let mut buf = BytesMut::new();
    encode_text_packet(v, p, &mut buf);
    String::from_utf8(buf.to_vec()).unwrap()
}

fn dec_v4(body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    payload::decode_payload(V4, PayloadFormat::Text, Bytes::copy_from_slice(body), MAX)
}

fn dec_v3(body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    payload::decode_payload(V3, PayloadFormat::Text, Bytes::copy_from_slice(body), MAX)
}

fn dec_v3_bin(body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
    payload::decode_payload(V3, PayloadFormat::Binary, Bytes::copy_from_slice(body), MAX)
}

fn enc(v: EngineIoVersion, packets: &[Packet], binary: bool) -> (PayloadFormat, Vec<u8>) {
    let mut buf = BytesMut::new();
    let f = payload::encode_payload(v, packets, binary, &mut buf);
    (f, buf.to_vec())
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .flat_map(|w| {
            (0..w.len())
                .step_by(2)
                .map(move |i| u8::from_str_radix(&w[i..i + 2], 16).unwrap())
        })
        .collect()
}

// §2.1 text encoding of one packet.

#[test]
fn text_packets_decode_per_type() {
    for v in [V3, V4] {
        assert_eq!(text(v, "4hello"), Ok(msg("hello")));
        assert_eq!(text(v, "2"), Ok(Packet::Ping(ByteString::new())));
        assert_eq!(text(v, "3probe"), Ok(Packet::pong_probe()));
        assert_eq!(text(v, "2probe"), Ok(Packet::ping_probe()));
        assert_eq!(
            text(v, "0{\"sid\":\"x\"}"),
            Ok(Packet::Open("{\"sid\":\"x\"}".into()))
        );
        assert_eq!(text(v, "1"), Ok(Packet::Close));
        assert_eq!(text(v, "5"), Ok(Packet::Upgrade));
        assert_eq!(text(v, "6"), Ok(Packet::Noop));
    }
}

#[test]
fn empty_message_is_a_message_with_no_data() {
    for v in [V3, V4] {
        assert_eq!(text(v, "4"), Ok(msg("")));
        assert_eq!(encode_text(v, &msg("")), "4");
    }
}

#[test]
fn text_packets_encode_per_type() {
    for v in [V3, V4] {
        assert_eq!(encode_text(v, &msg("hello")), "4hello");
        assert_eq!(encode_text(v, &Packet::Ping(ByteString::new())), "2");
        assert_eq!(encode_text(v, &Packet::pong_probe()), "3probe");
        assert_eq!(encode_text(v, &Packet::Close), "1");
        assert_eq!(encode_text(v, &Packet::Upgrade), "5");
        assert_eq!(encode_text(v, &Packet::Noop), "6");
    }
}

#[test]
fn data_after_dataless_types_is_dropped() {
    assert_eq!(text(V4, "1bye"), Ok(Packet::Close));
    assert_eq!(text(V4, "6x"), Ok(Packet::Noop));
    assert_eq!(text(V4, "5x"), Ok(Packet::Upgrade));
}

// §2.2 binary packets.

#[test]
fn v4_base64_text_is_a_binary_message() {
    assert_eq!(text(V4, "bAQIDBA=="), Ok(bin(&[1, 2, 3, 4])));
    assert_eq!(encode_text(V4, &bin(&[1, 2, 3, 4])), "bAQIDBA==");
}

#[test]
fn v3_base64_text_carries_the_type_digit() {
    assert_eq!(text(V3, "b4AQIDBA=="), Ok(bin(&[1, 2, 3, 4])));
    assert_eq!(encode_text(V3, &bin(&[1, 2, 3, 4])), "b4AQIDBA==");
}

#[test]
fn v4_ws_text_frame_with_b_prefix_is_binary() {
    let frame = WsFrame::Text(ByteString::from("bAQID"));
    assert_eq!(decode_ws_frame(V4, frame, MAX), Ok(bin(&[1, 2, 3])));
}

#[test]
fn v4_binary_ws_frame_is_the_raw_message() {
    let frame = WsFrame::Binary(Bytes::from_static(&[1, 2, 3]));
    assert_eq!(decode_ws_frame(V4, frame, MAX), Ok(bin(&[1, 2, 3])));
    let mut buf = BytesMut::new();
    assert_eq!(
        encode_ws_frame(V4, bin(&[1, 2, 3]), true, &mut buf),
        WsFrame::Binary(Bytes::from_static(&[1, 2, 3]))
    );
}

#[test]
fn v3_binary_ws_frame_has_type_byte_4() {
    let frame = WsFrame::Binary(Bytes::from_static(&[4, 1, 2, 3]));
    assert_eq!(decode_ws_frame(V3, frame, MAX), Ok(bin(&[1, 2, 3])));
    let mut buf = BytesMut::new();
    assert_eq!(
        encode_ws_frame(V3, bin(&[1, 2, 3]), true, &mut buf),
        WsFrame::Binary(Bytes::from_static(&[4, 1, 2, 3]))
    );
}

#[test]
fn b64_clients_get_binary_as_text_frames() {
    let mut buf = BytesMut::new();
    assert_eq!(
        encode_ws_frame(V4, bin(&[1, 2, 3]), false, &mut buf),
        WsFrame::Text("bAQID".into())
    );
    assert_eq!(
        encode_ws_frame(V3, bin(&[1, 2, 3]), false, &mut buf),
        WsFrame::Text("b4AQID".into())
    );
    assert_eq!(
        encode_ws_frame(V4, msg("hi"), true, &mut buf),
        WsFrame::Text("4hi".into())
    );
}

#[test]
fn v3_binary_frame_other_than_message_is_refused() {
    assert_eq!(
        decode_binary_packet(V3, Bytes::from_static(&[2, 1])),
        Err(DecodeError::BinaryNotMessage)
    );
    assert_eq!(
        decode_binary_packet(V3, Bytes::from_static(&[9, 1])),
        Err(DecodeError::UnknownPacketType(9))
    );
    assert_eq!(
        decode_binary_packet(V3, Bytes::new()),
        Err(DecodeError::EmptyPacket)
    );
    assert_eq!(text(V3, "b2AQID"), Err(DecodeError::BinaryNotMessage));
}

#[test]
fn lenient_reference_base64_is_refused_here() {
    // Node decodes `b!!!` as an empty buffer; we are strict (documented choice, §2.2).
    assert_eq!(text(V4, "b!!!"), Err(DecodeError::InvalidBase64));
    // Unpadded base64 is accepted, as Node accepts it.
    assert_eq!(text(V4, "bAQIDBA"), Ok(bin(&[1, 2, 3, 4])));
}

/// Pitfall 4: a base64 payload that begins with `4` is data in v4, not a type digit.
#[test]
fn v4_base64_starting_with_4_is_not_a_type_digit() {
    assert_eq!(text(V4, "b4w=="), Ok(bin(&[0xE3])));
    assert_eq!(encode_text(V4, &bin(&[0xE3])), "b4w==");
    assert_eq!(text(V3, "b44w=="), Ok(bin(&[0xE3])));
}

// §2.3 decoding failures.

#[test]
fn malformed_text_packets_are_typed_errors() {
    for v in [V3, V4] {
        assert_eq!(text(v, "abc"), Err(DecodeError::UnknownPacketType(b'a')));
        assert_eq!(text(v, "7"), Err(DecodeError::UnknownPacketType(b'7')));
        assert_eq!(text(v, ""), Err(DecodeError::EmptyPacket));
    }
    assert_eq!(dec_v4(b"abc"), Err(DecodeError::UnknownPacketType(b'a')));
    assert_eq!(dec_v4(b""), Err(DecodeError::EmptyPacket));
}

#[test]
fn ws_frame_over_max_payload_is_refused() {
    let frame = WsFrame::Text(ByteString::from("4hello"));
    assert_eq!(
        decode_ws_frame(V4, frame.clone(), 5),
        Err(DecodeError::PayloadTooLarge)
    );
    assert_eq!(decode_ws_frame(V4, frame, 6), Ok(msg("hello")));
}

// §3.2 the open packet.

fn open(sid: &str, upgrades: &[&str], max_payload: Option<u64>) -> OpenPacket {
    OpenPacket {
        sid: sid.into(),
        upgrades: upgrades.iter().map(|s| s.to_string()).collect(),
        ping_interval: 25000,
        ping_timeout: 20000,
        max_payload,
    }
}

#[test]
fn open_packet_json_matches_reference_key_order() {
    let p = open("sKbICUVmrH3jqygiAAAA", &["websocket"], Some(1_000_000)).to_packet();
    assert_eq!(
        encode_text(V4, &p),
        r#"0{"sid":"sKbICUVmrH3jqygiAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
    );
    let ws = open("x", &[], Some(1_000_000)).to_packet();
    assert_eq!(
        encode_text(V4, &ws),
        r#"0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
    );
}

#[test]
fn v3_open_payload_length_counts_the_whole_packet() {
    let p = open("9vBiTHYiX3nEbZ57AAAd", &["websocket"], Some(1_000_000)).to_packet();
    let (_, body) = enc(V3, std::slice::from_ref(&p), false);
    assert_eq!(
        String::from_utf8(body.clone()).unwrap(),
        r#"118:0{"sid":"9vBiTHYiX3nEbZ57AAAd","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
    );
    assert_eq!(dec_v3(&body), Ok(vec![p]));
}

#[test]
fn open_packet_parses_with_or_without_max_payload_and_ignores_extra_keys() {
    let json = r#"{"sid":"a","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}"#;
    let parsed = OpenPacket::from_json(json).unwrap();
    assert_eq!(parsed.max_payload, None);
    assert_eq!(parsed.ping_timeout, 5000);
    let extra =
        r#"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3,"x":1}"#;
    assert_eq!(OpenPacket::from_json(extra).unwrap().max_payload, Some(3));
    assert_eq!(
        OpenPacket::from_json("{}"),
        Err(DecodeError::InvalidHandshake)
    );
    assert_eq!(
        OpenPacket::try_from(&msg("{}")),
        Err(DecodeError::InvalidHandshake)
    );
    let p = open("s", &["websocket"], None);
    assert_eq!(OpenPacket::try_from(&p.to_packet()), Ok(p));
}

// §6.1 v4 payloads.

#[test]
fn v4_payload_table() {
    assert_eq!(
        dec_v4(b"4hello\x1e2\x1e4world"),
        Ok(vec![msg("hello"), Packet::Ping("".into()), msg("world")])
    );
    assert_eq!(
        dec_v4(b"4hello\x1ebAQIDBA=="),
        Ok(vec![msg("hello"), bin(&[1, 2, 3, 4])])
    );
    assert_eq!(
        dec_v4(b"4test1\x1e4test2\x1e4test3"),
        Ok(vec![msg("test1"), msg("test2"), msg("test3")])
    );
    assert_eq!(dec_v4(b"6\x1e1"), Ok(vec![Packet::Noop, Packet::Close]));
}

#[test]
fn v4_payload_encoder_output_matches_reference_bytes() {
    let packets = [bin(&[1, 2, 3]), msg("x"), msg("€😀")];
    let (format, body) = enc(V4, &packets, true);
    assert_eq!(format, PayloadFormat::Text);
    assert_eq!(body, hex("62415149441e34781e34e282acf09f9880"));
    assert_eq!(dec_v4(&body), Ok(packets.to_vec()));
    assert_eq!(enc(V4, &[Packet::Noop, Packet::Close], true).1, b"6\x1e1");
}

#[test]
fn v4_payload_with_empty_element_is_refused() {
    assert_eq!(dec_v4(b"4a\x1e\x1e4b"), Err(DecodeError::EmptyPacket));
    assert_eq!(dec_v4(b"\x1e4a"), Err(DecodeError::EmptyPacket));
    assert_eq!(dec_v4(b"4a\x1e"), Err(DecodeError::EmptyPacket));
    assert_eq!(dec_v4(b"\x1e"), Err(DecodeError::EmptyPacket));
}

#[test]
fn v4_payload_iterator_stops_after_the_first_error() {
    let mut it = v4::PayloadIter::new(Bytes::from_static(b"4a\x1e7\x1e4b"), MAX).unwrap();
    assert_eq!(it.next(), Some(Ok(msg("a"))));
    assert_eq!(it.next(), Some(Err(DecodeError::UnknownPacketType(b'7'))));
    assert_eq!(it.next(), None);
}

#[test]
fn v4_payload_refuses_invalid_utf8_and_binary_bodies() {
    assert_eq!(dec_v4(b"4\xff"), Err(DecodeError::InvalidUtf8));
    assert_eq!(dec_v4(b"4ok\x1e4\xe2\x82"), Err(DecodeError::InvalidUtf8));
    // UTF-8 is checked where it matters: text data. Base64 refuses non-ASCII bytes itself, and
    // the data after `close`, `upgrade` and `noop` is dropped unread.
    assert_eq!(dec_v4(b"bAQ\xff"), Err(DecodeError::InvalidBase64));
    assert_eq!(dec_v4(b"1\xff"), Ok(vec![Packet::Close]));
    assert_eq!(
        payload::decode_payload(V4, PayloadFormat::Binary, Bytes::from_static(b"4a"), MAX),
        Err(DecodeError::BinaryPayloadV4)
    );
}

/// Pitfall 2: binary packets queued behind text in one v4 response stay separate records.
#[test]
fn v4_batch_mixing_text_and_binary_keeps_separators() {
    let packets = [
        msg("51-[\"e\",{\"_placeholder\":true,\"num\":0}]"),
        bin(&[9, 9]),
    ];
    let (_, body) = enc(V4, &packets, true);
    assert_eq!(
        body,
        b"451-[\"e\",{\"_placeholder\":true,\"num\":0}]\x1ebCQk="
    );
    assert_eq!(dec_v4(&body), Ok(packets.to_vec()));
}

#[test]
fn payload_over_max_is_refused_at_the_limit_plus_one() {
    let body = vec![b'4'; 1001];
    for v in [V3, V4] {
        for f in [PayloadFormat::Text, PayloadFormat::Binary] {
            assert_eq!(
                payload::decode_payload(v, f, Bytes::from(body.clone()), 1000),
                Err(DecodeError::PayloadTooLarge)
            );
        }
    }
    assert!(v4::decode_payload(Bytes::from(vec![b'4'; 1000]), 1000).is_ok());
}

// §6.2 v3 text payloads.

#[test]
fn v3_payload_table() {
    assert_eq!(dec_v3(b"6:4hello"), Ok(vec![msg("hello")]));
    assert_eq!(
        dec_v3(b"6:4test16:4test26:4test3"),
        Ok(vec![msg("test1"), msg("test2"), msg("test3")])
    );
    assert_eq!(
        dec_v3(b"6:4hello10:b4AQIDBA=="),
        Ok(vec![msg("hello"), bin(&[1, 2, 3, 4])])
    );
    assert_eq!(dec_v3("2:4€".as_bytes()), Ok(vec![msg("€")]));
    assert_eq!(
        dec_v3("2:4x4:4€😀".as_bytes()),
        Ok(vec![msg("x"), msg("€😀")])
    );
    let pong = Packet::Pong("".into());
    assert_eq!(
        dec_v3(b"1:31:31:3"),
        Ok(vec![pong.clone(), pong.clone(), pong])
    );
    assert_eq!(dec_v3(b"1:6"), Ok(vec![Packet::Noop]));
    let ping = Packet::Ping("".into());
    assert_eq!(
        dec_v3(b"1:21:26:2probe"),
        Ok(vec![ping.clone(), ping, Packet::ping_probe()])
    );
    assert_eq!(dec_v3(b"1:61:1"), Ok(vec![Packet::Noop, Packet::Close]));
}

#[test]
fn v3_payload_encoder_matches_table() {
    let t = |packets: &[Packet]| String::from_utf8(enc(V3, packets, false).1).unwrap();
    assert_eq!(t(&[msg("hello")]), "6:4hello");
    assert_eq!(
        t(&[msg("hello"), bin(&[1, 2, 3, 4])]),
        "6:4hello10:b4AQIDBA=="
    );
    assert_eq!(t(&[msg("€")]), "2:4€");
    assert_eq!(t(&[msg("x"), msg("€😀")]), "2:4x4:4€😀");
    assert_eq!(t(&[Packet::Noop]), "1:6");
    assert_eq!(t(&[Packet::Noop, Packet::Close]), "1:61:1");
    assert_eq!(t(&[]), "0:");
}

/// Pitfall 1: v3 lengths count UTF-16 code units, not bytes, chars or graphemes.
#[test]
fn v3_length_counts_utf16_units_for_astral_plane_text() {
    assert_eq!(dec_v3("3:4😀".as_bytes()), Ok(vec![msg("😀")]));
    assert_eq!(dec_v3("4:4€".as_bytes()), Err(DecodeError::Truncated));
    assert_eq!(dec_v3("5:4😀".as_bytes()), Err(DecodeError::Truncated));
    // A length that ends inside a surrogate pair.
    assert_eq!(dec_v3("2:4😀".as_bytes()), Err(DecodeError::Truncated));
    // 𝕊 (U+1D54A) is two units; a family emoji is one grapheme but 8 units.
    assert_eq!(v3::utf16_len("𝕊"), 2);
    assert_eq!(v3::utf16_len("👨‍👩‍👧"), 8);
    let family = msg("👨‍👩‍👧 ok");
    let body = enc(V3, std::slice::from_ref(&family), false).1;
    assert_eq!(body, "12:4👨‍👩‍👧 ok".as_bytes());
    assert_eq!(dec_v3(&body), Ok(vec![family]));
}

#[test]
fn v3_empty_records_are_skipped_and_empty_body_refused() {
    assert_eq!(dec_v3(b"0:"), Ok(vec![]));
    assert_eq!(dec_v3(b"0:6:4hello0:"), Ok(vec![msg("hello")]));
    assert_eq!(dec_v3(b""), Err(DecodeError::EmptyPacket));
}

#[test]
fn v3_malformed_payloads_reject_the_whole_body() {
    assert_eq!(dec_v3(b"x:4a"), Err(DecodeError::InvalidLength));
    assert_eq!(dec_v3(b":4a"), Err(DecodeError::InvalidLength));
    assert_eq!(dec_v3(b"6:4hel"), Err(DecodeError::Truncated));
    assert_eq!(dec_v3(b"1:7"), Err(DecodeError::UnknownPacketType(b'7')));
    assert_eq!(dec_v3(b"6:4hello5"), Err(DecodeError::MissingSeparator));
    assert_eq!(
        dec_v3(b"2:4a1:7"),
        Err(DecodeError::UnknownPacketType(b'7'))
    );
}

#[test]
fn v3_huge_length_prefix_is_truncated_not_allocated() {
    assert_eq!(dec_v3(b"99999999999:4a"), Err(DecodeError::Truncated));
    assert_eq!(
        dec_v3(b"99999999999999999999999:4a"),
        Err(DecodeError::InvalidLength)
    );
    let mut huge = vec![0u8];
    huge.extend([9u8; 11]);
    huge.extend([0xFF, b'4', b'a']);
    assert_eq!(dec_v3_bin(&huge), Err(DecodeError::Truncated));
}

// §6.3 v3 binary payloads.

#[test]
fn v3_binary_payload_vectors() {
    let packets = [msg("hello"), bin(&[1, 2, 3, 4])];
    let (format, body) = enc(V3, &packets, true);
    assert_eq!(format, PayloadFormat::Binary);
    assert_eq!(
        body,
        hex("00 06 FF 34 68 65 6C 6C 6F 01 05 FF 04 01 02 03 04")
    );
    assert_eq!(dec_v3_bin(&body), Ok(packets.to_vec()));

    let packets = [msg("x"), msg("€😀"), bin(&[1, 2, 3])];
    let (_, body) = enc(V3, &packets, true);
    assert_eq!(
        body,
        hex("00 02 FF 34 78 00 08 FF 34 E2 82 AC F0 9F 98 80 01 04 FF 04 01 02 03")
    );
    assert_eq!(dec_v3_bin(&body), Ok(packets.to_vec()));
}

#[test]
fn v3_binary_payload_length_digits_are_byte_values() {
    let packets = [msg("hello world")]; // 12 bytes with the type digit
    let (_, body) = enc(V3, &packets, true);
    // Without binary packets the text format is used even for binary-capable clients.
    assert_eq!(body, b"12:4hello world");
    let mut buf = BytesMut::new();
    v3::encode_binary_payload(&packets, &mut buf);
    assert_eq!(&buf[..4], &[0x00, 0x01, 0x02, 0xFF]);
    assert_eq!(dec_v3_bin(&buf), Ok(packets.to_vec()));
}

#[test]
fn v3_binary_post_is_decoded_and_echoed_identically() {
    let post = hex("00 03 FF 34 68 69 01 03 FF 04 01 02 00 04 FF 34 E2 82 AC");
    let packets = dec_v3_bin(&post).unwrap();
    assert_eq!(packets, vec![msg("hi"), bin(&[1, 2]), msg("€")]);
    assert_eq!(
        enc(V3, &packets, true).1,
        hex("0003ff3468690103ff0401020004ff34e282ac")
    );
}

/// Pitfall 2 and 23: v3 batches mixing strings and binary; `b64` clients get `b4…` text.
#[test]
fn v3_batch_mixing_text_and_binary_per_b64_mode() {
    let packets = [
        msg("51-[\"e\",{\"_placeholder\":true,\"num\":0}]"),
        bin(&[1]),
        msg("2"),
    ];
    let (format, body) = enc(V3, &packets, false);
    assert_eq!(format, PayloadFormat::Text);
    assert_eq!(
        String::from_utf8(body.clone()).unwrap(),
        "39:451-[\"e\",{\"_placeholder\":true,\"num\":0}]6:b4AQ==2:42"
    );
    assert_eq!(dec_v3(&body), Ok(packets.to_vec()));
    let (format, body) = enc(V3, &packets, true);
    assert_eq!(format, PayloadFormat::Binary);
    assert_eq!(dec_v3_bin(&body), Ok(packets.to_vec()));
}

#[test]
fn v3_binary_payload_malformed_records() {
    assert_eq!(dec_v3_bin(b""), Err(DecodeError::EmptyPacket));
    assert_eq!(
        dec_v3_bin(&[2, 1, 0xFF, b'4']),
        Err(DecodeError::UnknownRecordKind(2))
    );
    assert_eq!(
        dec_v3_bin(&[0, 0xFF, b'4']),
        Err(DecodeError::InvalidLength)
    );
    assert_eq!(dec_v3_bin(&[0, 1, b'4']), Err(DecodeError::InvalidLength));
    assert_eq!(dec_v3_bin(&[0, 1, 2]), Err(DecodeError::MissingSeparator));
    assert_eq!(dec_v3_bin(&[0]), Err(DecodeError::InvalidLength));
    assert_eq!(dec_v3_bin(&[0, 5, 0xFF, b'4']), Err(DecodeError::Truncated));
    assert_eq!(dec_v3_bin(&[0, 0, 0xFF]), Err(DecodeError::EmptyPacket));
    assert_eq!(
        dec_v3_bin(&[0, 2, 0xFF, b'4', 0xFF]),
        Err(DecodeError::InvalidUtf8)
    );
    assert_eq!(
        dec_v3_bin(&[1, 2, 0xFF, 3, 1]),
        Err(DecodeError::BinaryNotMessage)
    );
    // A string record may hold a `b4…` base64 packet.
    let mut rec = vec![0, 6, 0xFF];
    rec.extend_from_slice(b"b4AQ==");
    assert_eq!(dec_v3_bin(&rec), Ok(vec![bin(&[1])]));
}

#[test]
fn content_types_follow_the_reference() {
    assert_eq!(
        PayloadFormat::Text.content_type(),
        "text/plain; charset=UTF-8"
    );
    assert_eq!(
        PayloadFormat::Binary.content_type(),
        "application/octet-stream"
    );
    assert_eq!(
        PayloadFormat::from_content_type(Some("application/octet-stream")),
        PayloadFormat::Binary
    );
    assert_eq!(
        PayloadFormat::from_content_type(Some("text/plain;charset=UTF-8")),
        PayloadFormat::Text
    );
    assert_eq!(PayloadFormat::from_content_type(None), PayloadFormat::Text);
}

#[test]
fn packet_types_round_trip_their_digits() {
    for d in b'0'..=b'6' {
        assert_eq!(PacketType::from_digit(d).unwrap().digit(), d);
    }
    assert_eq!(PacketType::from_digit(b'7'), None);
    assert_eq!(PacketType::from_digit(0), None);
    assert_eq!(EngineIoVersion::from_query(Some("4")), V4);
    assert_eq!(EngineIoVersion::from_query(Some("3")), V3);
    assert_eq!(EngineIoVersion::from_query(Some("5")), V3);
    assert_eq!(EngineIoVersion::from_query(None), V3);
}

/// A text packet's frame in two parts and its joined text are one frame: equal, with equal
/// hashes (with any hasher: the same calls), and not equal to a binary frame of the same bytes.
#[test]
fn both_forms_of_a_text_frame_are_one_frame() {
    use std::hash::{Hash, Hasher};
    /// Records what a hasher is fed, call by call.
    #[derive(Default)]
    struct Calls(Vec<u8>);
    impl Hasher for Calls {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.push(0xEE);
            self.0
                .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            self.0.extend_from_slice(bytes);
        }
    }
    fn calls(f: &WsFrame) -> Vec<u8> {
        let mut h = Calls::default();
        f.hash(&mut h);
        h.0
    }
    let parts = WsFrame::TextPacket {
        kind: engineio_proto::PacketType::Message,
        data: "hi".into(),
    };
    let text = WsFrame::Text("4hi".into());
    assert_eq!(parts, text);
    assert_eq!(text, parts);
    assert_eq!(calls(&parts), calls(&text));
    assert_eq!(parts.len(), 3);
    assert_ne!(parts, WsFrame::Text("4h".into()));
    assert_ne!(parts, WsFrame::Text("3hi".into()));
    assert_ne!(calls(&parts), calls(&WsFrame::Text("4h".into())));
    let binary = WsFrame::Binary(Bytes::from_static(b"4hi"));
    assert_ne!(parts, binary);
    assert_ne!(binary, text);
    assert_ne!(calls(&binary), calls(&text));
    let empty = WsFrame::TextPacket {
        kind: engineio_proto::PacketType::Noop,
        data: "".into(),
    };
    assert_eq!(empty, WsFrame::Text("6".into()));
    assert_eq!(WsFrame::Text("".into()), WsFrame::Text("".into()));
    assert_ne!(WsFrame::Text("".into()), WsFrame::Binary(Bytes::new()));
}
