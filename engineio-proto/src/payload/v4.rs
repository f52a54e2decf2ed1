//! v4 polling payloads: packets joined by the record separator `0x1E`.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::packet::{decode_piece, encode_text_packet};
use crate::{DecodeError, Packet, ProtocolVersion};

/// The record separator between packets of a v4 payload.
pub const SEPARATOR: u8 = 0x1E;

/// An iterator over the packets of a v4 payload, decoding lazily.
///
/// The body is checked for size and UTF-8 once, up front; each element is then sliced out of it
/// without copying. An empty element (leading, trailing or doubled separator, empty body) yields
/// [`DecodeError::EmptyPacket`], and iteration stops after the first error.
#[derive(Debug, Clone)]
pub struct PayloadIter {
    text: ByteString,
    pos: usize,
    done: bool,
}

impl PayloadIter {
    /// Checks `body` (size against `max_payload`, then UTF-8) and prepares to iterate over it.
    pub fn new(body: Bytes, max_payload: usize) -> Result<Self, DecodeError> {
        if body.len() > max_payload {
            return Err(DecodeError::PayloadTooLarge);
        }
        let text = ByteString::try_from(body).map_err(|_| DecodeError::InvalidUtf8)?;
        Ok(PayloadIter {
            text,
            pos: 0,
            done: false,
        })
    }
}

impl Iterator for PayloadIter {
    type Item = Result<Packet, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let end = match memchr::memchr(SEPARATOR, &self.text.as_bytes()[start..]) {
            Some(i) => {
                self.pos = start + i + 1;
                start + i
            }
            None => {
                self.done = true;
                self.text.len()
            }
        };
        // `0x1E` is ASCII, so both ends are char boundaries.
        let item = decode_piece(ProtocolVersion::V4, &self.text, &self.text[start..end]);
        if item.is_err() {
            self.done = true;
        }
        Some(item)
    }
}

/// Decodes a whole v4 payload; the first malformed element rejects it.
pub fn decode_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, DecodeError> {
    let iter = PayloadIter::new(body, max_payload)?;
    let count = 1 + memchr::memchr_iter(SEPARATOR, iter.text.as_bytes()).count();
    let mut packets = Vec::with_capacity(count);
    for packet in iter {
        packets.push(packet?);
    }
    Ok(packets)
}

/// Appends the v4 payload of `packets` to `buf` (no separator after the last packet; nothing
/// for an empty list).
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>, buf: &mut BytesMut) {
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            buf.put_u8(SEPARATOR);
        }
        encode_text_packet(ProtocolVersion::V4, packet, buf);
    }
}
