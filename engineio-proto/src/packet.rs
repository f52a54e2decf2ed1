//! Single packets: types, text and binary forms, WebSocket frames.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::{DecodeError, EngineIoVersion};

/// Standard base64, as Node's `Buffer` writes it; padding optional and trailing bits ignored on
/// input, as Node's lenient decoder accepts both.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The seven Engine.IO packet types; the discriminant is the wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketType {
    /// `0`: handshake, server to client.
    Open = 0,
    /// `1`: close the session.
    Close = 1,
    /// `2`: heartbeat ping (v4 server to client, v3 client to server), or `2probe`.
    Ping = 2,
    /// `3`: heartbeat pong, or `3probe`.
    Pong = 3,
    /// `4`: application message, text or binary.
    Message = 4,
    /// `5`: completes an upgrade, client to server on the new transport.
    Upgrade = 5,
    /// `6`: no-op, used to release a held long-poll.
    Noop = 6,
}

impl PacketType {
    /// The packet type for a wire digit (`b'0'`..=`b'6'`).
    #[inline]
    pub fn from_digit(digit: u8) -> Option<Self> {
        Self::from_value(digit.wrapping_sub(b'0'))
    }

    /// The packet type for its numeric value (`0`..=`6`), as in v3 binary frames.
    #[inline]
    pub fn from_value(value: u8) -> Option<Self> {
        Some(match value {
            0 => PacketType::Open,
            1 => PacketType::Close,
            2 => PacketType::Ping,
            3 => PacketType::Pong,
            4 => PacketType::Message,
            5 => PacketType::Upgrade,
            6 => PacketType::Noop,
            _ => return None,
        })
    }

    /// The ASCII digit written on the wire.
    #[inline]
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

/// One Engine.IO packet.
///
/// Text data is a [`ByteString`] and binary data a [`Bytes`]: decoding hands out views of the
/// input buffer, never copies (only base64 data is decoded into a fresh buffer).
///
/// Data after the type digit of `close`, `upgrade` and `noop` is accepted and dropped, as the
/// reference does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Packet {
    /// Handshake; the data is the JSON of [`crate::OpenPacket`].
    Open(ByteString),
    /// Close the session.
    Close,
    /// Heartbeat ping; the data is empty, or `probe` during an upgrade.
    Ping(ByteString),
    /// Heartbeat pong; the data is empty, or `probe` during an upgrade.
    Pong(ByteString),
    /// A text message.
    Message(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// Upgrade completed.
    Upgrade,
    /// No-op.
    Noop,
}

impl Packet {
    /// The packet's type (a binary message is a [`PacketType::Message`]).
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Packet::Binary(_))
    }

    /// The text data of the packet (empty for binary and data-less packets).
    pub(crate) fn text_data(&self) -> &str {
        match self {
            Packet::Open(s) | Packet::Ping(s) | Packet::Pong(s) | Packet::Message(s) => s,
            _ => "",
        }
    }

    /// `ping` with the `probe` data, sent by the client on a new transport to start an upgrade.
    pub fn ping_probe() -> Self {
        Packet::Ping(ByteString::from_static("probe"))
    }

    /// `pong` with the `probe` data, the server's answer to [`Packet::ping_probe`].
    pub fn pong_probe() -> Self {
        Packet::Pong(ByteString::from_static("probe"))
    }

    /// A text message from a `&'static str`.
    pub fn message_static(text: &'static str) -> Self {
        Packet::Message(ByteString::from_static(text))
    }
}

/// One WebSocket message, as the WebSocket library hands it over or should send it.
///
/// [`WsFrame::TextPacket`] is the same text frame as [`WsFrame::Text`] of its joined text, and
/// compares (and hashes) equal to it.
#[derive(Debug, Clone)]
pub enum WsFrame {
    /// A text frame.
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
    /// A text frame holding an Engine.IO text packet: its type digit, then `data` (`4` and
    /// `hello` make the frame `4hello`). [`encode_ws_frame`] gives text packets this form: a
    /// WebSocket writer copies the digit and the data behind the frame header (for
    /// [`crate::websocket::WebSocket`], [`crate::websocket::WebSocket::send_frame`]) and no
    /// joined text is built. A library that wants one buffer takes [`WsFrame::joined`].
    TextPacket {
        /// The packet's type.
        kind: PacketType,
        /// The packet's data.
        data: ByteString,
    },
}

impl WsFrame {
    /// The length of the frame's payload in bytes.
    pub fn len(&self) -> usize {
        match self {
            WsFrame::Text(t) => t.len(),
            WsFrame::Binary(b) => b.len(),
            WsFrame::TextPacket { data, .. } => 1 + data.len(),
        }
    }

    /// Whether the frame's payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame with its payload in one buffer: a [`WsFrame::TextPacket`] becomes the
    /// [`WsFrame::Text`] of its digit and data (a new string); other frames are returned as
    /// they are.
    pub fn joined(self) -> WsFrame {
        match self {
            WsFrame::TextPacket { kind, data } => WsFrame::Text(join(kind, &data)),
            other => other,
        }
    }

    /// A text frame's payload as (a first byte, the rest): the digit and the data of a
    /// [`WsFrame::TextPacket`], nothing and the text of a [`WsFrame::Text`]; `None` for a
    /// binary frame.
    fn text_parts(&self) -> Option<(Option<u8>, &[u8])> {
        match self {
            WsFrame::Text(t) => Some((None, t.as_bytes())),
            WsFrame::TextPacket { kind, data } => Some((Some(kind.digit()), data.as_bytes())),
            WsFrame::Binary(_) => None,
        }
    }
}

/// The text of a [`WsFrame::TextPacket`].
fn join(kind: PacketType, data: &str) -> ByteString {
    let mut text = String::with_capacity(1 + data.len());
    text.push(char::from(kind.digit()));
    text.push_str(data);
    ByteString::from(text)
}

impl PartialEq for WsFrame {
    fn eq(&self, other: &WsFrame) -> bool {
        match (self.text_parts(), other.text_parts()) {
            (Some((a0, a1)), Some((b0, b1))) => {
                a0.iter().len() + a1.len() == b0.iter().len() + b1.len()
                    && a0.iter().chain(a1).eq(b0.iter().chain(b1))
            }
            _ => matches!((self, other), (WsFrame::Binary(a), WsFrame::Binary(b)) if a == b),
        }
    }
}

impl Eq for WsFrame {}

impl std::hash::Hash for WsFrame {
    /// Text frames hash their payload's bytes one at a time, so that the two forms of a text
    /// frame hash the same with every hasher.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if let WsFrame::Binary(b) = self {
            state.write_u8(1);
            return b.hash(state);
        }
        let (first, rest) = self.text_parts().unwrap_or_default();
        state.write_u8(0);
        state.write_usize(first.iter().len() + rest.len());
        for byte in first.iter().chain(rest) {
            state.write_u8(*byte);
        }
    }
}

/// Decodes one text packet: `<type digit><data>`, or a `b`-prefixed base64 binary message
/// (v4: `b<base64>`, v3: `b4<base64>`).
///
/// Used for WebSocket text frames (both versions accept `b…` there) and for each element of a
/// polling payload.
pub fn decode_text_packet(
    version: EngineIoVersion,
    text: ByteString,
) -> Result<Packet, DecodeError> {
    match text.as_bytes().first() {
        Some(&first) if first != b'b' && text.len() <= SHORT_TEXT => {
            // The data keeps the message's buffer, its start moved past the type digit and the
            // rest checked as UTF-8 again: slicing it out instead would allocate the buffer's
            // shared state (a buffer read for one message is not shared yet), which costs a
            // short message more than the check.
            decode_with(version, &[first], move || {
                let mut data = text.into_bytes();
                bytes::Buf::advance(&mut data, 1);
                ByteString::try_from(data).map_err(|_| DecodeError::InvalidUtf8)
            })
        }
        _ => decode_piece(version, &text, &text),
    }
}

/// The longest text message [`decode_text_packet`] re-checks rather than slices (see there).
const SHORT_TEXT: usize = 256;

/// Decodes `piece`, a sub-slice of `src`, slicing its data out of `src` without copying.
#[inline]
pub(crate) fn decode_piece(
    version: EngineIoVersion,
    src: &ByteString,
    piece: &str,
) -> Result<Packet, DecodeError> {
    // After an ASCII type digit, so `piece[1..]` is on a char boundary.
    decode_with(version, piece.as_bytes(), || Ok(src.slice_ref(&piece[1..])))
}

/// Decodes `body[start..end]`, bytes not yet checked for UTF-8: only the data of text packets is
/// checked (base64 is ASCII, and its decoder refuses any other byte), so a payload that is
/// mostly binary is not scanned twice.
#[inline]
pub(crate) fn decode_unchecked_piece(
    version: EngineIoVersion,
    body: &Bytes,
    start: usize,
    end: usize,
) -> Result<Packet, DecodeError> {
    decode_with(version, &body[start..end], || {
        ByteString::try_from(body.slice(start + 1..end)).map_err(|_| DecodeError::InvalidUtf8)
    })
}

/// The type dispatch shared by both piece decoders; `data` yields the text after the type digit.
///
/// Data after `close`, `upgrade` and `noop` is dropped without being looked at.
#[inline(always)]
fn decode_with(
    version: EngineIoVersion,
    bytes: &[u8],
    data: impl FnOnce() -> Result<ByteString, DecodeError>,
) -> Result<Packet, DecodeError> {
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::EmptyPacket);
    };
    // Every error and every packet without data returns before the data is sliced. Building
    // the `Ok` from a slice in the same match as the `Err`s made LLVM copy the slice into the
    // result in misaligned pieces around the error's bytes (store-forwarding stalls, about a
    // fifth of a short WebSocket message's decode, seen with `perf annotate`); a constructor
    // chosen as a function pointer was not inlined (5% of a payload decode). So: pick a tag,
    // then build once.
    #[derive(Clone, Copy)]
    enum WithData {
        Open,
        Ping,
        Pong,
        Message,
    }
    let tag = match first {
        b'4' => WithData::Message,
        b'0' => WithData::Open,
        b'2' => WithData::Ping,
        b'3' => WithData::Pong,
        b'1' => return Ok(Packet::Close),
        b'5' => return Ok(Packet::Upgrade),
        b'6' => return Ok(Packet::Noop),
        b'b' => return decode_binary_text(version, bytes),
        other => return Err(DecodeError::UnknownPacketType(other)),
    };
    let data = data()?;
    Ok(match tag {
        WithData::Message => Packet::Message(data),
        WithData::Open => Packet::Open(data),
        WithData::Ping => Packet::Ping(data),
        WithData::Pong => Packet::Pong(data),
    })
}

/// Decodes a `b`-prefixed base64 binary message (v4: `b<base64>`, v3: `b4<base64>`).
fn decode_binary_text(version: EngineIoVersion, bytes: &[u8]) -> Result<Packet, DecodeError> {
    let b64 = match version {
        // v4: everything after `b` is base64 (a leading `4` is data, not a type).
        EngineIoVersion::V4 => &bytes[1..],
        // v3: `b<type digit><base64>`; only messages carry binary.
        EngineIoVersion::V3 => {
            let Some(&ty) = bytes.get(1) else {
                return Err(DecodeError::EmptyPacket);
            };
            match PacketType::from_digit(ty) {
                Some(PacketType::Message) => &bytes[2..],
                Some(_) => return Err(DecodeError::BinaryNotMessage),
                None => return Err(DecodeError::UnknownPacketType(ty)),
            }
        }
    };
    Ok(Packet::Binary(decode_base64(b64)?))
}

/// Decodes base64 into a fresh buffer: the only allocation on the decode path.
///
/// Public within the crate only; the tests reach it through `decode_text_packet`.
#[inline]
pub(crate) fn decode_base64(b64: &[u8]) -> Result<Bytes, DecodeError> {
    // Fast path: SIMD decoding of canonical padded base64, which is what Node's `Buffer` and
    // browsers write. Whatever it refuses goes through the lenient decoder below, which gives
    // the same bytes for every input the fast path accepts (a property test checks it), so the
    // accepted language is the lenient decoder's.
    if let Ok(out) = base64_simd::STANDARD.decode_to_vec(b64) {
        return Ok(Bytes::from(out));
    }
    let mut out = Vec::with_capacity(base64::decoded_len_estimate(b64.len()));
    BASE64
        .decode_vec(b64, &mut out)
        .map_err(|_| DecodeError::InvalidBase64)?;
    Ok(Bytes::from(out))
}

/// Decodes one binary packet: a v4 binary WebSocket frame (the raw message), or a v3 binary
/// frame or binary-payload record (type byte `0x04`, then the message).
pub fn decode_binary_packet(version: EngineIoVersion, data: Bytes) -> Result<Packet, DecodeError> {
    match version {
        EngineIoVersion::V4 => Ok(Packet::Binary(data)),
        EngineIoVersion::V3 => {
            let Some(&ty) = data.first() else {
                return Err(DecodeError::EmptyPacket);
            };
            match PacketType::from_value(ty) {
                Some(PacketType::Message) => Ok(Packet::Binary(data.slice(1..))),
                Some(_) => Err(DecodeError::BinaryNotMessage),
                None => Err(DecodeError::UnknownPacketType(ty)),
            }
        }
    }
}

/// Decodes one WebSocket message into a packet, enforcing `max_payload` (bytes).
///
/// On [`DecodeError::PayloadTooLarge`] the reference closes the WebSocket with code 1009; on any
/// other error the session is closed with reason `parse error`.
pub fn decode_ws_frame(
    version: EngineIoVersion,
    frame: WsFrame,
    max_payload: usize,
) -> Result<Packet, DecodeError> {
    if frame.len() > max_payload {
        return Err(DecodeError::PayloadTooLarge);
    }
    match frame {
        WsFrame::Text(text) => decode_text_packet(version, text),
        WsFrame::Binary(data) => decode_binary_packet(version, data),
        WsFrame::TextPacket { kind, data } => decode_text_packet(version, join(kind, &data)),
    }
}

/// Appends the text form of `packet` to `buf`: `<type digit><data>`, binary messages as
/// `b<base64>` (v4) or `b4<base64>` (v3).
pub fn encode_text_packet(version: EngineIoVersion, packet: &Packet, buf: &mut BytesMut) {
    match packet {
        Packet::Binary(data) => {
            buf.put_u8(b'b');
            if version == EngineIoVersion::V3 {
                buf.put_u8(b'4');
            }
            encode_base64(data, buf);
        }
        other => {
            let data = other.text_data();
            buf.reserve(1 + data.len());
            buf.put_u8(other.packet_type().digit());
            buf.put_slice(data.as_bytes());
        }
    }
}

/// The length in bytes of [`encode_text_packet`]'s output.
pub(crate) fn text_packet_len(version: EngineIoVersion, packet: &Packet) -> usize {
    match packet {
        Packet::Binary(data) => {
            let prefix = if version == EngineIoVersion::V3 { 2 } else { 1 };
            prefix + base64_len(data.len())
        }
        other => 1 + other.text_data().len(),
    }
}

/// Length of the padded base64 encoding of `n` bytes.
#[inline]
pub(crate) fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends the padded standard base64 of `data` to `buf`.
#[inline]
pub(crate) fn encode_base64(data: &[u8], buf: &mut BytesMut) {
    let start = buf.len();
    buf.resize(start + base64_len(data.len()), 0);
    // SIMD encoding; the slice is exactly the padded length it writes.
    let written = base64_simd::STANDARD
        .encode(data, base64_simd::Out::from_slice(&mut buf[start..]))
        .len();
    debug_assert_eq!(written, buf.len() - start);
}

/// Encodes `packet` as one WebSocket message.
///
/// Text packets become [`WsFrame::TextPacket`]s, which take the packet's data without a copy.
/// Binary messages become binary frames when `binary` is true (v4: the raw bytes, shared with
/// the packet without copying; v3: `0x04` then the bytes) and `b…` text frames otherwise (the
/// client connected with `b64=1`). v3 binary frames are written to `buf`, which can be reused
/// across calls.
pub fn encode_ws_frame(
    version: EngineIoVersion,
    packet: Packet,
    binary: bool,
    buf: &mut BytesMut,
) -> WsFrame {
    let kind = packet.packet_type();
    match (packet, binary, version) {
        (Packet::Binary(data), true, EngineIoVersion::V4) => WsFrame::Binary(data),
        (Packet::Binary(data), true, EngineIoVersion::V3) => {
            buf.reserve(1 + data.len());
            buf.put_u8(PacketType::Message as u8);
            buf.put_slice(&data);
            WsFrame::Binary(buf.split().freeze())
        }
        (Packet::Binary(data), false, _) => {
            // Built as a `String` so that it becomes a `ByteString` without a UTF-8 re-check.
            let mut text = String::with_capacity(2 + base64_len(data.len()));
            text.push('b');
            if version == EngineIoVersion::V3 {
                text.push('4');
            }
            base64_simd::STANDARD.encode_append(&data, &mut text);
            WsFrame::Text(ByteString::from(text))
        }
        (
            Packet::Open(data) | Packet::Ping(data) | Packet::Pong(data) | Packet::Message(data),
            _,
            _,
        ) => WsFrame::TextPacket { kind, data },
        (Packet::Close | Packet::Upgrade | Packet::Noop, _, _) => WsFrame::TextPacket {
            kind,
            data: ByteString::new(),
        },
    }
}

/// Wraps bytes this crate wrote from `&str` pieces and ASCII as a [`ByteString`].
///
/// The check cannot fail; it is kept (rather than an unchecked conversion) because the crates
/// forbid `unsafe`.
pub(crate) fn text_from_utf8(bytes: Bytes) -> ByteString {
    ByteString::try_from(bytes).unwrap_or_default()
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Packet {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let text = |u: &mut arbitrary::Unstructured<'a>| -> arbitrary::Result<ByteString> {
            Ok(ByteString::from(String::arbitrary(u)?))
        };
        Ok(match u.int_in_range(0..=7u8)? {
            0 => Packet::Open(text(u)?),
            1 => Packet::Close,
            2 => Packet::Ping(text(u)?),
            3 => Packet::Pong(text(u)?),
            4 => Packet::Message(text(u)?),
            5 => Packet::Binary(Bytes::from(Vec::<u8>::arbitrary(u)?)),
            6 => Packet::Upgrade,
            _ => Packet::Noop,
        })
    }
}
