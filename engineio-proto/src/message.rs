//! Application messages and close reasons, shared by the server and the client machines.

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;

use crate::Packet;

/// An application message: the data of a `message` packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The length of the data in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        }
    }

    /// Whether the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `message` packet carrying this message.
    pub fn into_packet(self) -> Packet {
        match self {
            Message::Text(t) => Packet::Message(t),
            Message::Binary(b) => Packet::Binary(b),
        }
    }

    /// The message of a `message` packet; `None` for other packets.
    pub fn from_packet(packet: Packet) -> Option<Self> {
        match packet {
            Packet::Message(t) => Some(Message::Text(t)),
            Packet::Binary(b) => Some(Message::Binary(b)),
            _ => None,
        }
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Message::Text(ByteString::from_static(s))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(ByteString::from(s))
    }
}

impl From<ByteString> for Message {
    fn from(s: ByteString) -> Self {
        Message::Text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(b))
    }
}

/// Why a session ended. Both sides report one with their `Closed` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// No heartbeat within the deadline (v4: no pong within `pingTimeout` of a ping; v3: no
    /// ping within `pingInterval + pingTimeout`; client: no ping from the server in time).
    PingTimeout,
    /// The peer sent something that does not decode.
    ParseError,
    /// The peer broke a protocol rule: wrong heartbeat direction, a second concurrent long-poll
    /// or POST, a binary POST in v4.
    ProtocolError,
    /// The transport failed: an aborted long-poll, a failed request, a WebSocket error.
    TransportError,
    /// The peer closed: a `close` packet, or the WebSocket closed.
    TransportClose,
    /// A WebSocket message larger than the maximum payload (close code 1009).
    MessageTooLarge,
    /// The local application called `close`.
    ForcedClose,
    /// The server is shutting down.
    ServerShutdown,
    /// The handshake failed: an error response or a malformed `open` packet (client side).
    HandshakeFailed,
    /// The server speaks another protocol revision than the one asked for (client side).
    VersionMismatch,
}

impl CloseReason {
    /// The reason as the reference implementation names it (`"ping timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::TransportError => "transport error",
            CloseReason::TransportClose => "transport close",
            CloseReason::MessageTooLarge => "message too large",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShutdown => "forced server close",
            CloseReason::HandshakeFailed => "handshake failed",
            CloseReason::VersionMismatch => "unsupported protocol version",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A caller mistake: the command was refused and the machine is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The session is closed or closing.
    #[error("the session is closed")]
    Closed,
    /// The outgoing buffer is full (packet count or bytes limit); try again after the peer
    /// has read.
    #[error("the outgoing buffer is full")]
    BufferFull,
    /// The request id is not waiting for an answer from this machine.
    #[error("unknown request id")]
    UnknownRequest,
    /// The client is not connected yet.
    #[error("not connected")]
    NotConnected,
}
