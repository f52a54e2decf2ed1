//! Single packets and WebSocket frames, both revisions: no panic, and whatever decodes
//! re-encodes to something that decodes to the same packet.
#![no_main]

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_proto::{decode_ws_frame, encode_ws_frame, EngineIoVersion, WsFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let mut frames = vec![WsFrame::Binary(bytes.clone())];
    if let Ok(text) = ByteString::try_from(bytes) {
        frames.push(WsFrame::Text(text));
    }
    let mut buf = BytesMut::new();
    for version in [EngineIoVersion::V3, EngineIoVersion::V4] {
        for frame in &frames {
            let Ok(packet) = decode_ws_frame(version, frame.clone(), 1 << 16) else {
                continue;
            };
            for binary in [false, true] {
                let again = encode_ws_frame(version, packet.clone(), binary, &mut buf);
                // Both forms of a text frame are the same frame and decode the same.
                let joined = again.clone().joined();
                assert_eq!(joined, again);
                assert_eq!(
                    decode_ws_frame(version, joined, usize::MAX),
                    Ok(packet.clone())
                );
                assert_eq!(
                    decode_ws_frame(version, again, usize::MAX),
                    Ok(packet.clone())
                );
            }
        }
    }
});
