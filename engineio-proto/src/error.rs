//! Codec errors.

/// Why a packet, a WebSocket frame or a polling payload could not be decoded.
///
/// Every variant is a peer violation: the reference server closes the session with reason
/// `parse error` on any of them, except [`DecodeError::PayloadTooLarge`], which it answers with
/// HTTP 413 (polling, session kept) or WebSocket close code 1009.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is longer than the configured maximum payload size.
    #[error("payload larger than the configured maximum")]
    PayloadTooLarge,
    /// An empty packet: empty WebSocket frame, empty POST body, or an empty element between two
    /// record separators of a v4 payload.
    #[error("empty packet")]
    EmptyPacket,
    /// The first character is not a packet type digit `0`..`6` (nor `b`).
    #[error("unknown packet type {0:#04x}")]
    UnknownPacketType(u8),
    /// A text packet or payload is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The data of a `b`-prefixed packet is not valid base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// Binary data on a packet type other than `message` (only messages carry binary).
    #[error("binary data on a non-message packet")]
    BinaryNotMessage,
    /// A v4 polling POST with a binary (`application/octet-stream`) body: v4 payloads are text.
    #[error("binary payload in protocol v4")]
    BinaryPayloadV4,
    /// v3 text payload: the length prefix is missing, not decimal, or has too many digits.
    #[error("invalid length prefix")]
    InvalidLength,
    /// v3 payload: the `:` after a text length prefix, or the `0xFF` after a binary one, is
    /// missing.
    #[error("missing length separator")]
    MissingSeparator,
    /// v3 payload: the input ends before the length announced by a prefix, or the announced
    /// UTF-16 length ends inside a surrogate pair.
    #[error("packet shorter than its length prefix")]
    Truncated,
    /// v3 binary payload: a record kind byte other than `0x00` (text) or `0x01` (binary).
    #[error("unknown binary payload record kind {0:#04x}")]
    UnknownRecordKind(u8),
    /// The data of an `open` packet is not the handshake JSON.
    #[error("invalid handshake")]
    InvalidHandshake,
}
