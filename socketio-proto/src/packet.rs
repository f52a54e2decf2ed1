//! Packet header grammar: type, attachment count, namespace, ack id, payload.
//!
//! ```text
//! packet      = type [ attachments "-" ] [ nsp "," ] [ ack-id ] [ json ]
//! ```

use bytestring::ByteString;

use crate::json;
use crate::ParseError;

/// The seven Socket.IO packet types; the discriminant is the wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketKind {
    /// `0`: join a namespace (client), or accept the join (server).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event.
    Event = 2,
    /// `3`: the answer to an event that carried an ack id.
    Ack = 3,
    /// `4`: a namespace join was refused (v5 CONNECT_ERROR, v4 ERROR).
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an ack with binary attachments.
    BinaryAck = 6,
}

impl PacketKind {
    /// The packet kind for a wire digit.
    pub fn from_digit(d: u8) -> Option<Self> {
        Some(match d {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    /// The wire digit.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// Whether this is BINARY_EVENT or BINARY_ACK (the kinds with an attachment count).
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }

    /// EVENT for BINARY_EVENT and ACK for BINARY_ACK; other kinds unchanged.
    pub fn without_binary(self) -> Self {
        match self {
            PacketKind::BinaryEvent => PacketKind::Event,
            PacketKind::BinaryAck => PacketKind::Ack,
            other => other,
        }
    }

    /// BINARY_EVENT for EVENT and BINARY_ACK for ACK; other kinds unchanged.
    pub fn with_binary(self) -> Self {
        match self {
            PacketKind::Event => PacketKind::BinaryEvent,
            PacketKind::Ack => PacketKind::BinaryAck,
            other => other,
        }
    }
}

/// A namespace name, such as `/` or `/admin`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nsp(ByteString);

impl Nsp {
    /// The main namespace `/`.
    pub fn main() -> Self {
        Nsp(ByteString::from_static("/"))
    }

    /// A namespace from a `'static` name.
    pub fn from_static(name: &'static str) -> Self {
        Nsp(ByteString::from_static(name))
    }

    /// The namespace's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the main namespace `/`.
    pub fn is_main(&self) -> bool {
        &*self.0 == "/"
    }

    /// The underlying string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }
}

impl From<&str> for Nsp {
    fn from(name: &str) -> Self {
        Nsp(ByteString::from(name))
    }
}

impl From<ByteString> for Nsp {
    fn from(name: ByteString) -> Self {
        Nsp(name)
    }
}

impl std::fmt::Display for Nsp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An acknowledgement id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckId(pub u64);

/// The event name of an EVENT: a JSON string, or (as the reference accepts) a number, kept as
/// its JSON text.
pub type EventName = ByteString;

/// Event names the reference refuses in received events and on emit.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether `name` is reserved (see [`RESERVED_EVENTS`]).
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// The parsed header of a packet; the JSON payload is kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: PacketKind,
    pub(crate) attachments: usize,
    pub(crate) nsp: Nsp,
    /// Query string after `?` in the namespace (protocol v4 clients send `0/admin?token=abc,`).
    pub(crate) query: Option<ByteString>,
    pub(crate) id: Option<AckId>,
    /// The whole packet text; the payload and event name are located in it, not sliced off, so
    /// that decoding takes one reference to the message, not three.
    pub(crate) text: ByteString,
    /// Where the JSON payload starts in `text`, if there is one.
    pub(crate) payload_at: Option<usize>,
    /// For events: the name (located in the payload), and where the arguments start in the
    /// payload (at the `,` or `]` after the name).
    pub(crate) event: Option<(json::Name, usize)>,
}

impl Header {
    /// The JSON payload, unparsed.
    #[inline]
    pub(crate) fn payload(&self) -> Option<&str> {
        self.payload_at.map(|at| &self.text[at..])
    }

    /// The event name.
    #[inline]
    pub(crate) fn event_name(&self) -> Option<&str> {
        let (name, _) = self.event.as_ref()?;
        Some(name.get(self.payload()?))
    }
}

/// Parses the header of a packet's text and checks the payload's shape for its type, as the
/// reference decoder does; the arguments of events and acks are not parsed.
pub(crate) fn parse_header(text: ByteString, max_attachments: usize) -> Result<Header, ParseError> {
    let b = text.as_bytes();
    let &first = b.first().ok_or(ParseError::Empty)?;
    let kind = PacketKind::from_digit(first).ok_or(ParseError::UnknownType(first))?;
    let mut i = 1;

    let mut attachments = 0;
    if kind.is_binary() {
        let dash = memchr::memchr(b'-', &b[i..]).ok_or(ParseError::IllegalAttachments)?;
        let digits = &b[i..i + dash];
        if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::IllegalAttachments);
        }
        // Leading zeros are fine; a value beyond the limit is refused before any use.
        let mut n: u64 = 0;
        for &d in digits {
            n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        }
        if n == 0 {
            return Err(ParseError::IllegalAttachments);
        }
        if n > max_attachments as u64 {
            return Err(ParseError::TooManyAttachments);
        }
        attachments = n as usize;
        i += dash + 1;
    }

    let (mut nsp, mut query) = (Nsp::main(), None);
    if b.get(i) == Some(&b'/') {
        let end = memchr::memchr(b',', &b[i..]).map_or(b.len(), |c| i + c);
        // `/` and `,` are ASCII: the slice is on char boundaries.
        let full = &text[i..end];
        match full.find('?') {
            Some(q) => {
                nsp = Nsp(text.slice_ref(&full[..q]));
                query = Some(text.slice_ref(&full[q + 1..]));
            }
            None => nsp = Nsp(text.slice_ref(full)),
        }
        i = if end < b.len() { end + 1 } else { end };
    }

    let mut id = None;
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        let mut n: u64 = 0;
        for &d in &b[i..i + digits] {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(ParseError::AckIdOverflow)?;
        }
        id = Some(AckId(n));
        i += digits;
    }

    let payload_at = (i < b.len()).then_some(i);
    let mut event = None;
    if payload_at.is_some() {
        let p = &text[i..];
        let first = json::first_byte(p.as_bytes());
        let ok = match kind {
            PacketKind::Connect => first == Some(b'{'),
            PacketKind::Disconnect => false,
            PacketKind::Event | PacketKind::BinaryEvent => {
                let (name, args) = json::event_name(p)?;
                if is_reserved_event(name.get(p)) {
                    return Err(ParseError::ReservedEventName);
                }
                event = Some((name, args));
                true
            }
            PacketKind::Ack | PacketKind::BinaryAck => first == Some(b'['),
            PacketKind::ConnectError => matches!(first, Some(b'{' | b'"')),
        };
        if !ok {
            return Err(ParseError::InvalidPayload);
        }
        // Payloads other than event and ack arguments are small and rare: check them fully
        // now, as the reference's JSON.parse does.
        if !matches!(
            kind,
            PacketKind::Event | PacketKind::BinaryEvent | PacketKind::Ack | PacketKind::BinaryAck
        ) {
            json::validate(p.as_bytes())?;
        }
    }
    Ok(Header {
        kind,
        attachments,
        nsp,
        query,
        id,
        text,
        payload_at,
        event,
    })
}

/// Appends a packet header: type digit, `<count>-` for binary kinds, `<nsp>,` unless the
/// namespace is `/`, and the ack id.
pub(crate) fn write_header(
    buf: &mut Vec<u8>,
    kind: PacketKind,
    attachments: usize,
    nsp: &str,
    id: Option<AckId>,
) {
    buf.push(kind.digit());
    if kind.is_binary() {
        buf.extend_from_slice(itoa::Buffer::new().format(attachments).as_bytes());
        buf.push(b'-');
    }
    if !nsp.is_empty() && nsp != "/" {
        buf.extend_from_slice(nsp.as_bytes());
        buf.push(b',');
    }
    if let Some(AckId(id)) = id {
        buf.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    }
}
