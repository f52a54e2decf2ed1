//! Protocol revisions.

/// The Engine.IO protocol revision of a session, chosen by the client's `EIO` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum EngineIoVersion {
    /// Engine.IO v3 (Socket.IO 1.x/2.x, protocol v4): length-prefixed payloads, client pings.
    V3,
    /// Engine.IO v4 (Socket.IO 3.x and later, protocol v5): 0x1E-separated payloads, server
    /// pings.
    V4,
}

impl EngineIoVersion {
    /// The protocol revision for an `EIO` query value, as the reference server reads it:
    /// `"4"` is v4, anything else (including a missing value) is v3.
    pub fn from_query(eio: Option<&str>) -> Self {
        match eio {
            Some("4") => EngineIoVersion::V4,
            _ => EngineIoVersion::V3,
        }
    }

    /// The value of the `EIO` query parameter for this revision.
    pub fn as_query(self) -> &'static str {
        match self {
            EngineIoVersion::V3 => "3",
            EngineIoVersion::V4 => "4",
        }
    }
}
