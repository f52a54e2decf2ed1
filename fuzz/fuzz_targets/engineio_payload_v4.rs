//! v4 polling bodies: no panic; a decoded body re-encodes and decodes to the same packets.
#![no_main]

use bytes::{Bytes, BytesMut};
use engineio_proto::payload::v4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = v4::decode_payload(Bytes::copy_from_slice(data), 1 << 16) else {
        return;
    };
    let mut buf = BytesMut::new();
    v4::encode_payload(&packets, &mut buf);
    assert_eq!(v4::decode_payload(buf.freeze(), usize::MAX), Ok(packets));
});
