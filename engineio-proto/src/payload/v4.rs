//! v4 polling payloads: packets joined by the record separator `0x1E`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::packet::{decode_unchecked_piece, encode_text_packet};
use crate::{DecodeError, EngineIoVersion, Packet};

/// The record separator between packets of a v4 payload.
pub const SEPARATOR: u8 = 0x1E;

/// An iterator over the packets of a v4 payload, decoding lazily; nothing is collected.
/// [`super::decode_payload`] is the all-or-nothing alternative (see the [module
/// docs](super) on which to use).
///
/// The body's size is checked up front; each element is then decoded and its text sliced out of
/// the body without copying. UTF-8 is checked per text packet (`0x1E` never occurs inside a
/// multi-byte sequence, so splitting first is safe); base64 elements are checked by the base64
/// decoder, which refuses every non-alphabet byte. An empty element (leading, trailing or doubled
/// separator, empty body) yields [`DecodeError::EmptyPacket`], and iteration stops after the
/// first error.
#[derive(Debug, Clone)]
pub struct PayloadIter {
    body: Bytes,
    pos: usize,
    done: bool,
}

impl PayloadIter {
    /// Checks `body`'s size against `max_payload` and prepares to iterate over it.
    pub fn new(body: Bytes, max_payload: usize) -> Result<Self, DecodeError> {
        if body.len() > max_payload {
            return Err(DecodeError::PayloadTooLarge);
        }
        Ok(PayloadIter {
            body,
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
        let end = match memchr::memchr(SEPARATOR, &self.body[start..]) {
            Some(i) => {
                self.pos = start + i + 1;
                start + i
            }
            None => {
                self.done = true;
                self.body.len()
            }
        };
        let item = decode_unchecked_piece(EngineIoVersion::V4, &self.body, start, end);
        if item.is_err() {
            self.done = true;
        }
        Some(item)
    }
}

/// Decodes a whole v4 payload; the first malformed element rejects it.
pub fn decode_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, DecodeError> {
    // No counting pass to size the list: it cost a second scan of the body (about 4% of the
    // decode), and on a body of separators only it sized a list of one packet per byte before
    // the first empty element was refused.
    PayloadIter::new(body, max_payload)?.collect()
}

/// Appends the v4 payload of `packets` to `buf` (no separator after the last packet; nothing
/// for an empty list).
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>, buf: &mut BytesMut) {
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            buf.put_u8(SEPARATOR);
        }
        encode_text_packet(EngineIoVersion::V4, packet, buf);
    }
}
