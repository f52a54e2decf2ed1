//! WebSocket framing (RFC 6455), sans-IO: frames read from and written to the caller's
//! buffers, messages reassembled, the close handshake, limits.
//!
//! Three layers, each usable alone:
//!
//! - [`write_frame`] and [`apply_mask`]: one frame into a `BytesMut`.
//! - [`Decoder`]: frames off the front of the caller's read buffer, fragments joined, text
//!   checked as UTF-8 across fragments (failing at the first impossible byte), close frames
//!   read and checked, the message size limit enforced at the header (before the payload is
//!   read). It keeps no read buffer of its own: an idle connection costs nothing here.
//! - [`WebSocket`]: one connection's protocol. It answers pings, runs the close handshake
//!   (§7), masks what a client sends with bytes from the caller's random source, and closes
//!   with the right status code on a protocol violation (1002), invalid UTF-8 (1007) or an
//!   oversized message (1009).
//!
//! - The opening handshake's bytes: [`accept_key`] for a server's 101 (whether to accept an
//!   upgrade is [`crate::server::Engine`]'s decision), and a client's request
//!   ([`write_client_request`]) and the checks of the server's answer ([`parse_response_head`],
//!   [`check_upgrade`]).
//!
//! ```
//! use bytes::BytesMut;
//! use engineio_proto::websocket::{Event, Message, Role, WebSocket};
//!
//! let mut server = WebSocket::new(Role::Server, 1 << 20, Box::new(|b: &mut [u8]| b.fill(0)));
//! let mut client = WebSocket::new(Role::Client, 1 << 20, Box::new(|b: &mut [u8]| b.fill(0x5a)));
//!
//! client.send(Message::Text("hello".into()))?;
//! // The client's bytes, as the socket would carry them (masked), read by the server.
//! let mut wire = BytesMut::from(&client.poll_transmit().expect("a frame")[..]);
//! server.handle_bytes(&mut wire);
//! assert_eq!(server.poll_event(), Some(Event::Message(Message::Text("hello".into()))));
//!
//! // A close from the server is answered by the client; both ends are then closed.
//! server.close(1000, "bye");
//! let mut wire = BytesMut::from(&server.poll_transmit().expect("close")[..]);
//! client.handle_bytes(&mut wire);
//! assert!(matches!(client.poll_event(), Some(Event::Closed { .. })));
//! let mut wire = BytesMut::from(&client.poll_transmit().expect("its answer")[..]);
//! server.handle_bytes(&mut wire);
//! assert!(server.is_closed() && client.is_closed());
//! # Ok::<(), engineio_proto::websocket::SendError>(())
//! ```

mod conn;
mod decoder;
mod frame;
mod handshake;

use bytestring::ByteString;

pub use conn::{Event, Message, SendError, WebSocket};
pub use decoder::{Decoder, Incoming};
pub use frame::{apply_mask, write_frame};
pub use handshake::{
    accept_key, check_upgrade, client_key, parse_response_head, write_client_request,
    HandshakeError, ResponseHead, MAX_RESPONSE_HEAD,
};

/// Which end of the connection this is: a server reads masked frames and writes unmasked
/// ones, a client the other way round (§5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The server end.
    Server,
    /// The client end.
    Client,
}

/// A frame's opcode (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// A continuation of a fragmented message.
    Continuation,
    /// The first (or only) frame of a text message.
    Text,
    /// The first (or only) frame of a binary message.
    Binary,
    /// Close.
    Close,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
}

impl OpCode {
    /// The opcode of the 4 bits, `None` for the reserved ones.
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4 bits.
    pub fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
        }
    }

    /// Close, ping and pong.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A close frame's body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The status code (§7.4).
    pub code: u16,
    /// The reason, possibly empty.
    pub reason: ByteString,
}

/// Whether a peer may send `code` in a close frame: the codes RFC 6455 defines for use in a
/// frame (1000-1003, 1007-1011), those registered since (1012-1014), and the ranges for
/// libraries and applications (3000-4999). 1004-1006 and 1015 must never be sent.
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A protocol violation in the bytes received: the WebSocket must be closed, with
/// [`WsError::close_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// An RSV bit is set, and no extension was negotiated.
    #[error("reserved bits set")]
    ReservedBits,
    /// A reserved opcode.
    #[error("reserved opcode")]
    ReservedOpcode,
    /// A client sent an unmasked frame.
    #[error("unmasked frame from a client")]
    UnmaskedFrame,
    /// A server sent a masked frame.
    #[error("masked frame from a server")]
    MaskedFrame,
    /// A control frame without FIN.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A control frame longer than 125 bytes.
    #[error("control frame longer than 125 bytes")]
    ControlFrameTooLong,
    /// A 64-bit length with its most significant bit set.
    #[error("frame length out of range")]
    LengthTooLarge,
    /// A continuation frame outside a fragmented message.
    #[error("continuation frame without a message")]
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is under way.
    #[error("new message inside a fragmented one")]
    ExpectedContinuation,
    /// A message (or frame) over the size limit.
    #[error("message too large")]
    MessageTooLarge,
    /// Text (or a close reason) that is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A close frame with a one-byte body.
    #[error("malformed close frame")]
    InvalidCloseFrame,
    /// A close frame with a status code no peer may send.
    #[error("invalid close code")]
    InvalidCloseCode,
}

impl WsError {
    /// The status code to close with (§7.4.1): 1007 for invalid UTF-8, 1009 for a message over
    /// the limit, 1002 (protocol error) otherwise.
    pub fn close_code(self) -> u16 {
        match self {
            WsError::InvalidUtf8 => 1007,
            WsError::MessageTooLarge => 1009,
            _ => 1002,
        }
    }
}
