//! The bare limit: the least work any v4 polling codec has to do on the corpus.
//!
//! Decoding must check the body is UTF-8, find the `0x1E` separators and base64-decode the
//! binary messages into buffers of their own; encoding must copy the text and base64-encode the
//! binary data. These functions do exactly that and nothing else (no packet values, no error
//! detail), so the ratio of a codec to them is its overhead. Base64 goes through the fastest
//! decoder and encoder we know of, `base64-simd` (the one `engineio-proto` uses); the scalar
//! `base64` crate's variant of the decode is kept as `decode_v4_scalar` for comparison.

use std::hint::black_box;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use base64_simd::STANDARD as SIMD;
use engineio_proto::Packet;

/// Checks UTF-8, splits on `0x1E`, base64-decodes each `b` piece into a fresh `Vec` (with
/// `base64-simd`) and black-boxes every piece. Returns the piece count, or `None` on invalid
/// input.
pub fn decode_v4(body: &[u8]) -> Option<usize> {
    decode_v4_with(body, |b64| SIMD.decode_to_vec(b64).ok())
}

/// [`decode_v4`] with the scalar `base64` crate.
pub fn decode_v4_scalar(body: &[u8]) -> Option<usize> {
    decode_v4_with(body, |b64| {
        let mut out = Vec::with_capacity(base64::decoded_len_estimate(b64.len()));
        STANDARD.decode_vec(b64, &mut out).ok()?;
        Some(out)
    })
}

fn decode_v4_with(body: &[u8], base64: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Option<usize> {
    let text = std::str::from_utf8(body).ok()?;
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut count = 0;
    for end in memchr::memchr_iter(0x1E, bytes).chain(std::iter::once(bytes.len())) {
        let piece = &bytes[start..end];
        match piece.split_first() {
            // A fresh buffer per message: a decoded message owns its bytes.
            Some((b'b', b64)) => {
                black_box(base64(b64)?);
            }
            Some(_) => {
                black_box(piece);
            }
            None => return None,
        }
        start = end + 1;
        count += 1;
    }
    Some(count)
}

/// Writes the v4 body of `packets` into `out` (cleared first): the type digit and the text, or
/// `b` and the base64 of the data, with `0x1E` between packets.
pub fn encode_v4(packets: &[Packet], out: &mut Vec<u8>) {
    out.clear();
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            out.push(0x1E);
        }
        encode_packet(packet, out);
    }
}

/// Appends the text form of one message to `out`.
pub fn encode_packet(packet: &Packet, out: &mut Vec<u8>) {
    match packet {
        Packet::Message(text) => {
            out.push(b'4');
            out.extend_from_slice(text.as_bytes());
        }
        Packet::Binary(data) => {
            out.push(b'b');
            SIMD.encode_append(data, out);
        }
        // Not in the corpus; written through the codec so the function stays total.
        other => {
            let mut buf = bytes::BytesMut::new();
            engineio_proto::encode_text_packet(
                engineio_proto::EngineIoVersion::V4,
                other,
                &mut buf,
            );
            out.extend_from_slice(&buf);
        }
    }
}

/// Decodes one text frame as little as possible: base64 for `b…`, nothing for text.
pub fn decode_packet(text: &str) -> Option<usize> {
    match text.as_bytes().split_first() {
        Some((b'b', b64)) => {
            let out = SIMD.decode_to_vec(b64).ok()?;
            let n = out.len();
            black_box(out);
            Some(n)
        }
        Some((_, data)) => Some(black_box(data).len()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::corpus;

    #[test]
    fn bare_codec_matches_the_corpus() {
        let c = corpus();
        assert_eq!(decode_v4(&c.v4_body), Some(c.packets.len()));
        assert_eq!(decode_v4_scalar(&c.v4_body), Some(c.packets.len()));
        let mut out = Vec::new();
        encode_v4(&c.packets, &mut out);
        assert_eq!(out, c.v4_body);
    }
}
