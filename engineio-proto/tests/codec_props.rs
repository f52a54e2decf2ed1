//! Property tests of the Engine.IO codec: round trips, no panics, splitter agreement.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_proto::payload::{self, v3, v4, PayloadFormat};
use engineio_proto::{
    decode_binary_packet, decode_text_packet, decode_ws_frame, encode_text_packet, encode_ws_frame,
    EngineIoVersion, Packet, WsFrame,
};
use proptest::prelude::*;

fn version() -> impl Strategy<Value = EngineIoVersion> {
    prop_oneof![Just(EngineIoVersion::V3), Just(EngineIoVersion::V4)]
}

/// Text data as clients send it: any Unicode, astral plane and controls included, but never the
/// v4 record separator (the protocol assumes it does not occur in packets).
fn text_data() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 {}\\[\\]\":,]{0,40}",
        "\\PC{0,20}",
        any::<String>().prop_map(|s| s.replace('\u{1e}', "")),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    let s = || text_data().prop_map(ByteString::from);
    prop_oneof![
        s().prop_map(Packet::Open),
        Just(Packet::Close),
        s().prop_map(Packet::Ping),
        s().prop_map(Packet::Pong),
        s().prop_map(Packet::Message),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Packet::Binary(Bytes::from(b))),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

const MAX: usize = usize::MAX;

proptest! {
    #[test]
    fn text_packet_round_trips(v in version(), p in packet()) {
        let mut buf = BytesMut::new();
        encode_text_packet(v, &p, &mut buf);
        let text = ByteString::try_from(buf.freeze()).unwrap();
        prop_assert_eq!(decode_text_packet(v, text), Ok(p));
    }

    #[test]
    fn ws_frame_round_trips(v in version(), p in packet(), binary in any::<bool>()) {
        let mut buf = BytesMut::new();
        let frame = encode_ws_frame(v, p.clone(), binary, &mut buf);
        prop_assert_eq!(matches!(frame, WsFrame::Binary(_)), binary && p.is_binary());
        // Its joined form is the same frame, and for a text frame the packet's text form.
        let joined = frame.clone().joined();
        let is_parts = matches!(joined, WsFrame::TextPacket { .. });
        prop_assert!(!is_parts);
        prop_assert_eq!(&joined, &frame);
        prop_assert_eq!(joined.len(), frame.len());
        if let WsFrame::Text(text) = &joined {
            let mut buf = BytesMut::new();
            encode_text_packet(v, &p, &mut buf);
            prop_assert_eq!(text.as_bytes(), &buf[..]);
        }
        prop_assert_eq!(decode_ws_frame(v, joined, MAX), Ok(p.clone()));
        prop_assert_eq!(decode_ws_frame(v, frame, MAX), Ok(p));
    }

    #[test]
    fn v4_payload_round_trips(packets in proptest::collection::vec(packet(), 1..20)) {
        let mut buf = BytesMut::new();
        let f = payload::encode_payload(EngineIoVersion::V4, &packets, true, &mut buf);
        prop_assert_eq!(f, PayloadFormat::Text);
        prop_assert_eq!(v4::decode_payload(buf.freeze(), MAX), Ok(packets));
    }

    #[test]
    fn v3_payload_round_trips_in_both_formats(
        packets in proptest::collection::vec(packet(), 0..20),
        binary in any::<bool>(),
    ) {
        let mut buf = BytesMut::new();
        let f = payload::encode_payload(EngineIoVersion::V3, &packets, binary, &mut buf);
        let decoded = payload::decode_payload(EngineIoVersion::V3, f, buf.freeze(), MAX);
        prop_assert_eq!(decoded, Ok(packets));
    }

    #[test]
    fn encoding_appends_to_a_reused_buffer(a in packet(), b in packet()) {
        let mut buf = BytesMut::new();
        encode_text_packet(EngineIoVersion::V4, &a, &mut buf);
        let first = buf.split().freeze();
        encode_text_packet(EngineIoVersion::V4, &b, &mut buf);
        let second = buf.split().freeze();
        let dec = |b: Bytes| decode_text_packet(EngineIoVersion::V4, ByteString::try_from(b).unwrap());
        prop_assert_eq!(dec(first), Ok(a));
        prop_assert_eq!(dec(second), Ok(b));
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(
        v in version(),
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        max in 0usize..500,
    ) {
        let b = Bytes::from(bytes);
        for f in [PayloadFormat::Text, PayloadFormat::Binary] {
            let _ = payload::decode_payload(v, f, b.clone(), max);
        }
        let _ = decode_binary_packet(v, b.clone());
        let _ = decode_ws_frame(v, WsFrame::Binary(b.clone()), max);
        if let Ok(text) = ByteString::try_from(b) {
            let _ = decode_ws_frame(v, WsFrame::Text(text), max);
        }
    }

    /// Structured garbage reaches deeper than random bytes: digits, separators, `b`, colons.
    #[test]
    fn decoders_never_panic_on_protocol_shaped_input(
        v in version(),
        s in "[0-9b:\\x1e\\xff\\x00\\x01A-Za-z+/=€😀]{0,60}",
    ) {
        let b = Bytes::from(s.into_bytes());
        for f in [PayloadFormat::Text, PayloadFormat::Binary] {
            let _ = payload::decode_payload(v, f, b.clone(), MAX);
        }
    }

    /// The v4 splitter agrees with a naive reference: `str::split` on U+001E and a direct
    /// per-piece decoder written independently of the crate's.
    #[test]
    fn v4_splitter_agrees_with_naive_reference(s in "[0-6b\\x1ea-zA-Z0-9+/=€😀]{0,60}") {
        let ours = v4::decode_payload(Bytes::from(s.clone().into_bytes()), MAX);
        let naive: Result<Vec<Packet>, ()> = s.split('\u{1e}').map(naive_v4_piece).collect();
        prop_assert_eq!(ours.ok(), naive.ok());
    }

    /// v3 length prefixes agree with a naive count through `encode_utf16`.
    #[test]
    fn v3_length_prefix_agrees_with_encode_utf16(s in "\\PC{0,30}", n in 0usize..70) {
        let body = format!("{n}:4{s}");
        let ours = v3::decode_text_payload(Bytes::from(body.into_bytes()), MAX);
        let full = format!("4{s}");
        let units: Vec<u16> = full.encode_utf16().collect();
        let expected = if n == 0 {
            // `0:` is skipped, then what follows is read as the next record.
            None
        } else if n == units.len() {
            Some(vec![Packet::Message(ByteString::from(s.as_str()))])
        } else if n > units.len() {
            Some(vec![])
        } else {
            None
        };
        match expected {
            Some(packets) if !packets.is_empty() => prop_assert_eq!(ours, Ok(packets)),
            // Shorter than the text: the rest is not a valid next record unless it happens to
            // look like one; longer than the text: truncated.
            Some(_) => prop_assert!(ours.is_err()),
            None => {}
        }
        prop_assert_eq!(v3::utf16_len(&s), s.encode_utf16().count());
    }
}

fn naive_v4_piece(piece: &str) -> Result<Packet, ()> {
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut chars = piece.chars();
    let first = chars.next().ok_or(())?;
    let rest = ByteString::from(chars.as_str());
    Ok(match first {
        '0' => Packet::Open(rest),
        '1' => Packet::Close,
        '2' => Packet::Ping(rest),
        '3' => Packet::Pong(rest),
        '4' => Packet::Message(rest),
        '5' => Packet::Upgrade,
        '6' => Packet::Noop,
        'b' => Packet::Binary(Bytes::from(engine.decode(rest.as_bytes()).map_err(|_| ())?)),
        _ => return Err(()),
    })
}

/// The SIMD fast path for base64 never changes what is accepted or what it decodes to: for any
/// input, the result equals the lenient reference decoder's (padding optional, trailing bits
/// ignored).
fn lenient_base64(s: &str) -> Option<Vec<u8>> {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
    .decode(s)
    .ok()
}

proptest! {
    #[test]
    fn base64_fast_path_agrees_with_lenient_decoder(
        s in prop_oneof![
            "[A-Za-z0-9+/]{0,40}={0,3}",
            "[A-Za-z0-9+/=\\-_ !\\n]{0,40}",
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        ],
    ) {
        let ours = decode_text_packet(EngineIoVersion::V4, ByteString::from(format!("b{s}")));
        match lenient_base64(&s) {
            Some(bytes) => prop_assert_eq!(ours, Ok(Packet::Binary(Bytes::from(bytes)))),
            None => prop_assert!(ours.is_err()),
        }
    }
}
