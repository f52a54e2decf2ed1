//! Sans-IO Socket.IO, protocol revisions 5 and 4, on top of Engine.IO messages.
//!
//! This crate consumes and produces Engine.IO message packets ([`engineio_proto::Packet`]); it
//! never sees HTTP or WebSocket, a clock or a socket.
//!
//! # The codec
//!
//! - [`Decoder`] turns the messages of one Engine.IO connection into [`Packet`]s, collecting
//!   the binary attachments of BINARY_EVENT / BINARY_ACK packets, with limits (at most
//!   [`DecoderConfig::max_attachments`] per packet; placeholders must name an attachment).
//! - A decoded [`Packet`] exposes its namespace, ack id and event name without parsing the
//!   arguments; [`Packet::args`] deserializes them straight into your types,
//!   [`Packet::args_value`] into `serde_json::Value`, [`Packet::raw_args`] passes them on
//!   unparsed.
//! - [`Encoder`] writes packets from serde values into one reusable buffer, as compact JSON that
//!   equals JavaScript's `JSON.stringify` output; [`Binary`] values travel as attachments without
//!   being copied. The result, [`Encoded`], is cheap to clone for broadcasts.
//!
//! ```
//! use socketio_proto::{AckId, Binary, Decoder, Encoder, Nsp};
//!
//! let mut enc = Encoder::default();
//! let file = Binary::from(vec![1u8, 2, 3]);
//! let packet = enc.event(&Nsp::from("/admin"), "upload", &("a.bin", &file), Some(AckId(7)))?;
//! assert_eq!(
//!     &packet.text()[..],
//!     r#"51-/admin,7["upload","a.bin",{"_placeholder":true,"num":0}]"#
//! );
//!
//! // The receiving side: the header, then the attachment.
//! let mut dec = Decoder::default();
//! assert!(dec.decode_text(packet.text().clone())?.is_none());
//! let got = dec.decode_binary(packet.attachments()[0].clone())?.expect("complete");
//! assert_eq!(got.event_name(), Some("upload"));
//! assert_eq!(got.ack_id(), Some(AckId(7)));
//! let (name, data): (String, Binary) = got.args()?;
//! assert_eq!((name.as_str(), &data[..]), ("a.bin", &[1u8, 2, 3][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod binary;
pub mod client;
mod decode;
mod encode;
mod error;
mod json;
mod packet;
pub mod rooms;
pub mod server;
mod shape;
#[cfg(feature = "sim")]
pub mod sim;

pub use binary::Binary;
pub use decode::{ArgsError, Decoder, DecoderConfig, Packet, RawArgs};
pub use encode::{EncodeError, Encoded, Encoder, EncoderConfig};
pub use error::ParseError;
pub use packet::{is_reserved_event, AckId, EventName, Nsp, PacketKind, RESERVED_EVENTS};

/// The Socket.IO protocol revision of a connection, tied to the Engine.IO revision below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// Socket.IO protocol v4 (Socket.IO 1.x/2.x) over Engine.IO v3.
    V4,
    /// Socket.IO protocol v5 (Socket.IO 3.x and later) over Engine.IO v4.
    V5,
}

impl From<engineio_proto::ProtocolVersion> for ProtocolVersion {
    fn from(v: engineio_proto::ProtocolVersion) -> Self {
        match v {
            engineio_proto::ProtocolVersion::V3 => ProtocolVersion::V4,
            engineio_proto::ProtocolVersion::V4 => ProtocolVersion::V5,
        }
    }
}
