//! Single frames: the header (RFC 6455 §5.2), masking (§5.3) and writing.

use bytes::{BufMut, BytesMut};

use super::{OpCode, Role, WsError};

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: OpCode,
    pub(crate) mask: Option<[u8; 4]>,
    /// Payload length.
    pub(crate) len: u64,
    /// Header length in bytes.
    pub(crate) size: usize,
}

/// Reads the header at the front of `buf`: `Ok(None)` while it is incomplete. Refuses what
/// RFC 6455 refuses before the payload arrives: reserved bits (no extension is negotiated),
/// reserved opcodes, control frames that are fragmented or longer than 125 bytes, a 64-bit
/// length with its top bit set, and the wrong masking for the receiving `role` (§5.1: a server
/// closes on an unmasked frame, a client on a masked one).
pub(crate) fn parse_header(buf: &[u8], role: Role) -> Result<Option<Header>, WsError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(WsError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = OpCode::from_bits(b0 & 0x0f).ok_or(WsError::ReservedOpcode)?;
    let masked = b1 & 0x80 != 0;
    match (role, masked) {
        (Role::Server, false) => return Err(WsError::UnmaskedFrame),
        (Role::Client, true) => return Err(WsError::MaskedFrame),
        _ => {}
    }
    let (len, mut size) = match b1 & 0x7f {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([b[0], b[1]])), 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            if len >> 63 != 0 {
                return Err(WsError::LengthTooLarge);
            }
            (len, 10)
        }
        n => (u64::from(n), 2),
    };
    if opcode.is_control() {
        if !fin {
            return Err(WsError::FragmentedControlFrame);
        }
        if len > 125 {
            return Err(WsError::ControlFrameTooLong);
        }
    }
    let mask = if masked {
        let Some(m) = buf.get(size..size + 4) else {
            return Ok(None);
        };
        size += 4;
        Some([m[0], m[1], m[2], m[3]])
    } else {
        None
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        len,
        size,
    }))
}

/// XORs `data` with the masking key, starting at key position `offset % 4` (§5.3). Masking
/// and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ wide;
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// Appends one frame to `out`: `opcode` with `payload`, final unless `fin` is false, masked
/// with `mask` when given (a client must mask every frame, a server none: §5.1).
///
/// The caller keeps to the protocol's rules for what it sends: control frames final and at
/// most 125 bytes, continuation frames only inside a fragmented message.
pub fn write_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    write_frame_parts(out, opcode, fin, [&[], payload], mask);
}

/// [`write_frame`] with a payload in two parts, written one after the other (an Engine.IO
/// packet's type digit, then its data).
pub(crate) fn write_frame_parts(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    payload: [&[u8]; 2],
    mask: Option<[u8; 4]>,
) {
    let len = payload[0].len() + payload[1].len();
    // The exact size: a buffer written with one frame is frozen without an allocation of its
    // own (`Bytes` keeps a vector whose length is its capacity as it is).
    let length_bytes = match len {
        0..126 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    let mask_bytes = if mask.is_some() { 4 } else { 0 };
    out.reserve(2 + length_bytes + mask_bytes + len);
    out.put_u8(u8::from(fin) << 7 | opcode.bits());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.put_u8(mask_bit | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(mask_bit | 126);
        out.put_u16(len);
    } else {
        out.put_u8(mask_bit | 127);
        out.put_u64(len as u64);
    }
    if let Some(key) = mask {
        out.put_slice(&key);
    }
    let at = out.len();
    out.extend_from_slice(payload[0]);
    out.extend_from_slice(payload[1]);
    if let Some(key) = mask {
        apply_mask(&mut out[at..], key, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_matches_the_byte_by_byte_definition() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..40 {
            for offset in 0..4 {
                let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let mut fast = data.clone();
                apply_mask(&mut fast, key, offset);
                let slow: Vec<u8> = data
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[(i + offset) % 4])
                    .collect();
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    /// A payload in two parts is the frame of the joined payload, masked or not, at every
    /// length class.
    #[test]
    fn parts_make_the_frame_of_the_joined_payload() {
        for len in [0, 1, 2, 125, 126, 127, 65535, 65536, 65537] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
            for split in [0, len / 2, len] {
                for mask in [None, Some([1, 2, 3, 4])] {
                    let mut joined = BytesMut::new();
                    write_frame(&mut joined, OpCode::Text, true, &payload, mask);
                    let mut parts = BytesMut::new();
                    let (a, b) = payload.split_at(split);
                    write_frame_parts(&mut parts, OpCode::Text, true, [a, b], mask);
                    assert_eq!(joined, parts, "len {len} split {split} mask {mask:?}");
                }
            }
        }
    }

    /// RFC 6455 §5.7's examples, byte for byte.
    #[test]
    fn rfc_examples() {
        let mut out = BytesMut::new();
        write_frame(&mut out, OpCode::Text, true, b"Hello", None);
        assert_eq!(&out[..], [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        write_frame(
            &mut out,
            OpCode::Text,
            true,
            b"Hello",
            Some([0x37, 0xfa, 0x21, 0x3d]),
        );
        assert_eq!(
            &out[..],
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        out.clear();
        write_frame(&mut out, OpCode::Text, false, b"Hel", None);
        write_frame(&mut out, OpCode::Continuation, true, b"lo", None);
        assert_eq!(
            &out[..],
            [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
        );
        out.clear();
        write_frame(&mut out, OpCode::Binary, true, &[0; 256], None);
        assert_eq!(&out[..4], [0x82, 0x7e, 0x01, 0x00]);
        out.clear();
        write_frame(&mut out, OpCode::Binary, true, &vec![0; 65536], None);
        assert_eq!(&out[..10], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn headers_wait_for_their_bytes() {
        let frame = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..frame.len() {
            assert_eq!(parse_header(&frame[..cut], Role::Server), Ok(None), "{cut}");
        }
        let h = parse_header(&frame, Role::Server).unwrap().unwrap();
        assert_eq!((h.len, h.size, h.mask), (65536, 14, Some([1, 2, 3, 4])));
    }
}
