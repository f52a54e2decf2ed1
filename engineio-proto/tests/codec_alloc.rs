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
