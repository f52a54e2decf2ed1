//! No allocation is sized by an untrusted length prefix.

use bytes::Bytes;
use engineio_proto::payload::{decode_payload, PayloadFormat};
use engineio_proto::{DecodeError, EngineIoVersion};

#[test]
fn huge_length_prefixes_allocate_nothing() {
    let text = Bytes::from_static(b"99999999999:4a");
    let mut binary = vec![0u8];
    binary.extend([9u8; 11]);
    binary.extend([0xFF, b'4', b'a']);
    let binary = Bytes::from(binary);
    drop(binary.clone());
    let info = allocation_counter::measure(|| {
        let r = decode_payload(
            EngineIoVersion::V3,
            PayloadFormat::Text,
            text.clone(),
            1 << 20,
        );
        assert_eq!(r, Err(DecodeError::Truncated));
        let r = decode_payload(
            EngineIoVersion::V3,
            PayloadFormat::Binary,
            binary.clone(),
            1 << 20,
        );
        assert_eq!(r, Err(DecodeError::Truncated));
    });
    // Decoding may start the packet list, never a buffer of the announced size.
    assert!(
        info.bytes_total < 1024,
        "allocated {} bytes",
        info.bytes_total
    );
}

#[test]
fn payload_over_the_limit_is_refused_without_allocating() {
    let body = Bytes::from(vec![b'4'; 4096]);
    // The first clone of a `Bytes` made from a `Vec` allocates its shared header: do it here.
    drop(body.clone());
    let info = allocation_counter::measure(|| {
        for v in [EngineIoVersion::V3, EngineIoVersion::V4] {
            let r = decode_payload(v, PayloadFormat::Text, body.clone(), 100);
            assert_eq!(r, Err(DecodeError::PayloadTooLarge));
        }
    });
    assert_eq!(info.count_total, 0);
}

/// A short text message read for itself (a buffer not shared yet, as a WebSocket frame is)
/// decodes without an allocation: its data keeps the buffer. A long one is sliced (the
/// buffer's shared state, one allocation) rather than checked as UTF-8 a second time.
#[test]
fn a_short_text_message_decodes_without_allocating() {
    use engineio_proto::{decode_text_packet, ByteString, Packet};
    for (len, allocations) in [(3, 0), (40, 0), (256, 0), (257, 1), (4096, 1)] {
        let data = format!("\u{e9}{}", "a".repeat(len - 3));
        let expected = Packet::Message(data.as_str().into());
        let text = ByteString::from(format!("4{data}"));
        assert_eq!(text.len(), len);
        let mut got = None;
        let info = allocation_counter::measure(|| {
            got = Some(decode_text_packet(EngineIoVersion::V4, text));
        });
        assert_eq!(got, Some(Ok(expected)), "{len} bytes");
        assert_eq!(info.count_total, allocations, "{len} bytes");
    }
}
