//! Codec errors.

/// Why a Socket.IO packet could not be decoded.
///
/// Every variant is fatal in the reference: a server closes the whole Engine.IO connection, a
/// client closes it with reason `parse error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An Engine.IO message with no data (`4`).
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type digit `0`..`6`.
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// A binary packet's attachment count is missing, not a number, not followed by `-`, or
    /// zero.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// A binary packet announces more attachments than the configured maximum.
    #[error("too many attachments")]
    TooManyAttachments,
    /// The ack id does not fit in 64 bits.
    #[error("ack id out of range")]
    AckIdOverflow,
    /// The payload is not valid for the packet type (e.g. an EVENT that is not a non-empty
    /// array with a string or number first, a DISCONNECT with a payload, a CONNECT whose payload
    /// is not an object).
    #[error("invalid payload")]
    InvalidPayload,
    /// An EVENT named like a reserved event (`connect`, `disconnect`, …).
    #[error("reserved event name")]
    ReservedEventName,
    /// The JSON is not well-formed.
    #[error("invalid JSON")]
    InvalidJson,
    /// A text message arrived while binary attachments were still expected.
    #[error("text message while reconstructing a binary packet")]
    UnexpectedText,
    /// A binary message arrived while no binary packet was being reconstructed.
    #[error("binary message while not reconstructing a packet")]
    UnexpectedBinary,
    /// A placeholder's `num` is not an integer selecting one of the packet's attachments.
    #[error("illegal attachment placeholder")]
    InvalidPlaceholder,
    /// A packet text of 4 GiB or more (positions are kept in 32 bits; Engine.IO limits
    /// messages far below that).
    #[error("packet too large")]
    TooLarge,
    /// A msgpack packet (the msgpack parser) is not well-formed msgpack, has trailing bytes,
    /// or a namespace that is not UTF-8.
    #[error("invalid msgpack")]
    InvalidMsgpack,
}
