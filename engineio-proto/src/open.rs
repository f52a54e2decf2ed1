//! The handshake (`open` packet) JSON.

use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use crate::packet::text_from_utf8;
use crate::{DecodeError, Packet};

/// The data of the `open` packet that starts every session.
///
/// Serializes compactly with the reference's key order
/// (`sid, upgrades, pingInterval, pingTimeout, maxPayload`); `maxPayload` is left out when
/// `None` (servers older than engine.io 6.2 never send it) and unknown keys are ignored on input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id.
    pub sid: String,
    /// Transports the session may upgrade to (`["websocket"]` on polling, `[]` on WebSocket).
    pub upgrades: Vec<String>,
    /// Heartbeat interval in milliseconds.
    pub ping_interval: u64,
    /// Heartbeat timeout in milliseconds.
    pub ping_timeout: u64,
    /// The server's maximum payload size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload: Option<u64>,
}

impl OpenPacket {
    /// Parses the data of an `open` packet.
    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(json).map_err(|_| DecodeError::InvalidHandshake)
    }

    /// Appends the compact JSON to `buf`.
    pub fn write_json(&self, buf: &mut BytesMut) {
        // Writing strings and integers into memory cannot fail.
        let _ = serde_json::to_writer(buf.writer(), self);
    }

    /// The `open` packet carrying this handshake.
    pub fn to_packet(&self) -> Packet {
        let mut buf = BytesMut::with_capacity(128);
        self.write_json(&mut buf);
        Packet::Open(text_from_utf8(buf.freeze()))
    }
}

impl TryFrom<&Packet> for OpenPacket {
    type Error = DecodeError;

    /// Parses the handshake of an `open` packet; other packets give
    /// [`DecodeError::InvalidHandshake`].
    fn try_from(packet: &Packet) -> Result<Self, Self::Error> {
        match packet {
            Packet::Open(json) => OpenPacket::from_json(json),
            _ => Err(DecodeError::InvalidHandshake),
        }
    }
}
