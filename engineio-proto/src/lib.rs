//! Sans-IO Engine.IO, protocol revisions 4 and 3.
//!
//! This crate holds the Engine.IO wire codec: it never touches a socket, a clock or a source of
//! randomness, so the same bytes in give the same bytes out on any runtime, in a test, or under a
//! fuzzer.
//!
//! # The codec
//!
//! - [`Packet`]: the seven packet types, text messages as [`ByteString`] and binary messages as
//!   [`Bytes`]. Decoding slices the input buffer; only base64 data is copied out.
//! - Single packets: [`decode_text_packet`], [`decode_binary_packet`], [`decode_ws_frame`],
//!   [`encode_text_packet`], [`encode_ws_frame`].
//! - Polling bodies: [`payload::decode_payload`] and [`payload::encode_payload`] pick the format
//!   of the session's protocol revision; [`payload::v4`] and [`payload::v3`] hold each format.
//! - The handshake JSON: [`OpenPacket`].
//!
//! Every malformed input is a [`DecodeError`]; none panics. Decoders take the maximum payload
//! size and refuse longer input before looking at it, and no length read from the input sizes
//! an allocation.
//!
//! Encoders append to a caller-owned [`BytesMut`], so one buffer serves many packets:
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use engineio_proto::payload::{decode_payload, encode_payload, PayloadFormat};
//! use engineio_proto::{Packet, ProtocolVersion};
//!
//! // A v4 polling POST body: a text message, a ping, and a base64 binary message.
//! let body = Bytes::from_static(b"4hello\x1e2\x1ebAQIDBA==");
//! let packets = decode_payload(ProtocolVersion::V4, PayloadFormat::Text, body, 1_000_000)?;
//! assert_eq!(packets[0], Packet::message_static("hello"));
//! assert_eq!(packets[2], Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])));
//!
//! // The same packets for a v3 client that asked for `b64=1`.
//! let mut buf = BytesMut::new();
//! let format = encode_payload(ProtocolVersion::V3, &packets, false, &mut buf);
//! assert_eq!(format, PayloadFormat::Text);
//! assert_eq!(&buf.split().freeze()[..], b"6:4hello1:210:b4AQIDBA==");
//! # Ok::<(), engineio_proto::DecodeError>(())
//! ```

pub mod client;
mod error;
pub mod http;
mod message;
mod open;
mod packet;
pub mod payload;
pub mod server;
#[cfg(feature = "sim")]
pub mod sim;
mod timer;
mod version;

pub use bytes::{Bytes, BytesMut};
pub use bytestring::ByteString;

pub use error::DecodeError;
pub use message::{CloseReason, Message, UsageError};
pub use open::OpenPacket;
pub use packet::{
    decode_binary_packet, decode_text_packet, decode_ws_frame, encode_text_packet, encode_ws_frame,
    Packet, PacketType, WsFrame,
};
pub use version::ProtocolVersion;
