//! Sans-IO Socket.IO, protocol revisions 5 and 4, on top of Engine.IO messages.
//!
//! This crate consumes and produces Engine.IO message packets ([`engineio_proto::Packet`]); it
//! never sees HTTP or WebSocket. Its codec and state machines arrive with the Socket.IO issues;
//! for now it only names the protocol revisions it will speak.

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
