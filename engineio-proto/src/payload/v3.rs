//! v3 polling payloads: length-prefixed text records, and the binary payload format.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::packet::{decode_binary_packet, decode_piece, encode_text_packet, text_packet_len};
use crate::{DecodeError, EngineIoVersion, Packet, PacketType};

/// More decimal digits than any length that fits the limits we enforce; a longer prefix is
/// refused before it is read as a number (the reference gives up after 310 digits).
const MAX_LENGTH_DIGITS: usize = 20;

/// Marks the end of a length in the binary payload format.
const BINARY_LENGTH_END: u8 = 0xFF;
/// Binary payload record holding a text packet.
const RECORD_TEXT: u8 = 0x00;
/// Binary payload record holding a binary packet.
const RECORD_BINARY: u8 = 0x01;

/// The length of `s` in UTF-16 code units (JavaScript's `String.length`), which v3 text
/// payloads use as their length prefix: `€` counts 1, `😀` counts 2.
#[inline]
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    // Each char is one UTF-16 unit except those of four UTF-8 bytes (two units). Counting lead
    // bytes: continuation bytes (10xxxxxx) count 0, a 4-byte lead (11110xxx) counts 2.
    s.bytes()
        .map(|b| match b {
            0x80..=0xBF => 0,
            0xF0..=0xFF => 2,
            _ => 1,
        })
        .sum()
}

/// Byte length of the prefix of `s` that holds exactly `units` UTF-16 code units, or `None` when
/// `s` is shorter or the boundary falls inside a surrogate pair.
#[inline]
fn utf16_prefix(s: &str, units: u64) -> Option<usize> {
    // A code unit takes at least one UTF-8 byte, so a length beyond the input is truncated
    // without looking at it (and nothing is ever sized by it).
    let units = usize::try_from(units).ok().filter(|&u| u <= s.len())?;
    let bytes = s.as_bytes();
    if bytes[..units].is_ascii() {
        return Some(units);
    }
    let mut counted = 0usize;
    for (i, c) in s.char_indices() {
        if counted == units {
            return Some(i);
        }
        counted += c.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(s.len())
}

/// Reads decimal digits (given as their values by `digit`) up to `end`; returns the number and
/// the index of the terminator.
#[inline]
fn read_length(
    bytes: &[u8],
    end: u8,
    digit: impl Fn(u8) -> Option<u8>,
) -> Result<(u64, usize), DecodeError> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == end {
            return if i == 0 {
                Err(DecodeError::InvalidLength)
            } else {
                Ok((value, i))
            };
        }
        let d = digit(b).ok_or(DecodeError::InvalidLength)?;
        if i >= MAX_LENGTH_DIGITS {
            return Err(DecodeError::InvalidLength);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(DecodeError::InvalidLength)?;
    }
    if bytes.is_empty() {
        Err(DecodeError::InvalidLength)
    } else {
        Err(DecodeError::MissingSeparator)
    }
}

/// Decodes a v3 text payload (`<length>:<packet>`…, lengths in UTF-16 code units).
///
/// `0:` records are skipped (an empty batch is `0:`); an empty body, a bad prefix, a record
/// longer than the rest of the body or a malformed packet rejects the whole payload.
pub fn decode_text_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, DecodeError> {
    if body.len() > max_payload {
        return Err(DecodeError::PayloadTooLarge);
    }
    if body.is_empty() {
        return Err(DecodeError::EmptyPacket);
    }
    let text = ByteString::try_from(body).map_err(|_| DecodeError::InvalidUtf8)?;
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let (units, colon) = read_length(&text.as_bytes()[pos..], b':', |b| {
            b.is_ascii_digit().then(|| b - b'0')
        })?;
        // The prefix is ASCII, so `pos` stays on a char boundary.
        pos += colon + 1;
        if units == 0 {
            continue;
        }
        let rest = &text[pos..];
        let len = utf16_prefix(rest, units).ok_or(DecodeError::Truncated)?;
        packets.push(decode_piece(EngineIoVersion::V3, &text, &rest[..len])?);
        pos += len;
    }
    Ok(packets)
}

/// Appends the v3 text payload of `packets` to `buf`; binary messages are written `b4<base64>`.
/// An empty list is written `0:`.
pub fn encode_text_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>, buf: &mut BytesMut) {
    let mut any = false;
    for packet in packets {
        any = true;
        let units = match packet {
            // `b4` and base64 are ASCII: one unit per byte.
            Packet::Binary(_) => text_packet_len(EngineIoVersion::V3, packet),
            other => 1 + utf16_len(other.text_data()),
        };
        put_decimal(buf, units);
        buf.put_u8(b':');
        encode_text_packet(EngineIoVersion::V3, packet, buf);
    }
    if !any {
        buf.put_slice(b"0:");
    }
}

/// Decodes a v3 binary payload (the body of an `application/octet-stream` POST):
/// records of a kind byte (`0x00` text, `0x01` binary), the length as one byte per decimal
/// digit, `0xFF`, then the record (text: UTF-8 `<type digit><data>`, length in bytes; binary:
/// type byte `0x04` then the data).
pub fn decode_binary_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, DecodeError> {
    if body.len() > max_payload {
        return Err(DecodeError::PayloadTooLarge);
    }
    if body.is_empty() {
        return Err(DecodeError::EmptyPacket);
    }
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let kind = body[pos];
        if kind != RECORD_TEXT && kind != RECORD_BINARY {
            return Err(DecodeError::UnknownRecordKind(kind));
        }
        pos += 1;
        let (len, end) = read_length(&body[pos..], BINARY_LENGTH_END, |b| (b <= 9).then_some(b))?;
        pos += end + 1;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= body.len() - pos)
            .ok_or(DecodeError::Truncated)?;
        if len == 0 {
            return Err(DecodeError::EmptyPacket);
        }
        let record = body.slice(pos..pos + len);
        pos += len;
        packets.push(if kind == RECORD_TEXT {
            let text = ByteString::try_from(record).map_err(|_| DecodeError::InvalidUtf8)?;
            decode_piece(EngineIoVersion::V3, &text, &text)?
        } else {
            decode_binary_packet(EngineIoVersion::V3, record)?
        });
    }
    Ok(packets)
}

/// Appends the v3 binary payload of `packets` to `buf` (text packets as `0x00` records, binary
/// messages as `0x01` records).
pub fn encode_binary_payload<'a>(
    packets: impl IntoIterator<Item = &'a Packet>,
    buf: &mut BytesMut,
) {
    for packet in packets {
        match packet {
            Packet::Binary(data) => {
                buf.put_u8(RECORD_BINARY);
                put_digit_bytes(buf, 1 + data.len());
                buf.put_u8(BINARY_LENGTH_END);
                buf.put_u8(PacketType::Message as u8);
                buf.put_slice(data);
            }
            other => {
                buf.put_u8(RECORD_TEXT);
                put_digit_bytes(buf, text_packet_len(EngineIoVersion::V3, other));
                buf.put_u8(BINARY_LENGTH_END);
                encode_text_packet(EngineIoVersion::V3, other, buf);
            }
        }
    }
}

/// Appends `n` in ASCII decimal.
fn put_decimal(buf: &mut BytesMut, n: usize) {
    buf.put_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `n` as one byte per decimal digit, each holding the digit's value (0..=9).
fn put_digit_bytes(buf: &mut BytesMut, n: usize) {
    for &d in itoa::Buffer::new().format(n).as_bytes() {
        buf.put_u8(d - b'0');
    }
}
