//! v3 polling bodies, text and binary formats: no panic; a decoded body re-encodes (in both
//! formats) and decodes to the same packets.
#![no_main]

use bytes::{Bytes, BytesMut};
use engineio_proto::payload::{decode_payload, encode_payload, PayloadFormat};
use engineio_proto::EngineIoVersion;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v = EngineIoVersion::V3;
    for format in [PayloadFormat::Text, PayloadFormat::Binary] {
        let Ok(packets) = decode_payload(v, format, Bytes::copy_from_slice(data), 1 << 16) else {
            continue;
        };
        for binary in [false, true] {
            let mut buf = BytesMut::new();
            let f = encode_payload(v, &packets, binary, &mut buf);
            assert_eq!(
                decode_payload(v, f, buf.freeze(), usize::MAX),
                Ok(packets.clone())
            );
        }
    }
});
