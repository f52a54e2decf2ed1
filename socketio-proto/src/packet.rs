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

impl std::borrow::Borrow<str> for Nsp {
    fn borrow(&self) -> &str {
        &self.0
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
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

/// A byte range of the packet text.
pub(crate) type Span = (u32, u32);

/// What few packets have; boxed so that the common packet stays small (decoded packets are
/// moved around by value, and a packet over 128 bytes is moved by a `memcpy` call: a fifth of a
/// small event's decode before this split).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Rare {
    /// Query string after `?` in the namespace (protocol v4 clients send `0/admin?token=abc,`).
    pub(crate) query: Option<ByteString>,
    /// The event name, when it was written with escapes.
    pub(crate) unescaped_name: Option<ByteString>,
}

/// The parsed header of a packet; the namespace, payload and event name are located in the
/// packet text, not sliced off, so that decoding takes one reference to the message, not three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The whole packet text.
    pub(crate) text: ByteString,
    pub(crate) id: Option<AckId>,
    /// The namespace in `text`; empty for `/`.
    pub(crate) nsp: Span,
    /// Where the JSON payload starts in `text`, if there is one.
    pub(crate) payload_at: Option<u32>,
    /// For events: the name in `text` (empty when it is in `rare`), and where the arguments
    /// start in `text` (at the `,` or `]` after the name).
    pub(crate) event: Option<(Span, u32)>,
    pub(crate) attachments: u32,
    pub(crate) kind: PacketKind,
    pub(crate) rare: Option<Box<Rare>>,
}

impl Header {
    /// The JSON payload, unparsed.
    #[inline]
    pub(crate) fn payload(&self) -> Option<&str> {
        self.payload_at.map(|at| &self.text[at as usize..])
    }

    /// The namespace name.
    #[inline]
    pub(crate) fn nsp(&self) -> &str {
        match self.nsp {
            (0, 0) => "/",
            (start, end) => &self.text[start as usize..end as usize],
        }
    }

    /// The event name.
    #[inline]
    pub(crate) fn event_name(&self) -> Option<&str> {
        let ((start, end), _) = self.event?;
        match self.rare.as_ref().and_then(|r| r.unescaped_name.as_deref()) {
            Some(name) => Some(name),
            None => Some(&self.text[start as usize..end as usize]),
        }
    }

    /// Where the arguments start in `text`, for events.
    #[inline]
    pub(crate) fn args_at(&self) -> Option<usize> {
        self.event.map(|(_, at)| at as usize)
    }

    /// The namespace query string.
    #[inline]
    pub(crate) fn query(&self) -> Option<&str> {
        self.rare.as_ref()?.query.as_deref()
    }
}

/// Parses the header of a packet's text and checks the payload's shape for its type, as the
/// reference decoder does; the arguments of events and acks are not parsed.
pub(crate) fn parse_header(text: ByteString, max_attachments: usize) -> Result<Header, ParseError> {
    // Positions are kept as `u32`; Engine.IO limits messages far below 4 GiB anyway.
    if u32::try_from(text.len()).is_err() {
        return Err(ParseError::TooLarge);
    }
    let b = text.as_bytes();
    let &first = b.first().ok_or(ParseError::Empty)?;
    let kind = PacketKind::from_digit(first).ok_or(ParseError::UnknownType(first))?;
    let mut i = 1;

    let mut attachments = 0;
    if kind.is_binary() {
        let dash = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let digits = &b[i..i + dash];
        if digits.is_empty() || digits.len() > 20 || b.get(i + dash) != Some(&b'-') {
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
        if n > max_attachments as u64 || n > u64::from(u32::MAX) {
            return Err(ParseError::TooManyAttachments);
        }
        attachments = n as u32;
        i += dash + 1;
    }

    let mut rare: Option<Box<Rare>> = None;
    let mut nsp = (0, 0);
    if b.get(i) == Some(&b'/') {
        // One pass for the `,` that ends the namespace and a `?` before it (namespaces are
        // short: a plain loop beats two vectorized searches' set-up).
        let (mut end, mut question) = (i, None);
        while end < b.len() && b[end] != b',' {
            if b[end] == b'?' && question.is_none() {
                question = Some(end);
            }
            end += 1;
        }
        // `/`, `?` and `,` are ASCII: the slices are on char boundaries.
        let name_end = match question {
            Some(q) => {
                let query = text.slice_ref(&text[q + 1..end]);
                rare.get_or_insert_with(Box::default).query = Some(query);
                q
            }
            None => end,
        };
        if &b[i..name_end] != b"/" {
            nsp = (i as u32, name_end as u32);
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

    let payload_at = (i < b.len()).then_some(i as u32);
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
                let span = match name {
                    json::Name::At(start, end) => ((i + start) as u32, (i + end) as u32),
                    json::Name::Unescaped(value) => {
                        rare.get_or_insert_with(Box::default).unescaped_name = Some(value);
                        (0, 0)
                    }
                };
                event = Some((span, (i + args) as u32));
                true
            }
            PacketKind::Ack | PacketKind::BinaryAck => first == Some(b'['),
            PacketKind::ConnectError => matches!(first, Some(b'{' | b'"')),
        };
        if !ok {
            return Err(ParseError::InvalidPayload);
        }
        // CONNECT_ERROR payloads are small and rare: check them fully now, as the
        // reference's JSON.parse does. Event and ack arguments and CONNECT payloads are
        // checked when deserialized: whoever reads them parses them anyway (the server reads
        // a CONNECT's auth at once), and a second parse here would double the cost.
        if kind == PacketKind::ConnectError {
            json::validate(p.as_bytes())?;
        }
    }
    Ok(Header {
        text,
        id,
        nsp,
        payload_at,
        event,
        attachments,
        kind,
        rare,
    })
}

/// Appends a packet header: type digit, `<count>-` for binary kinds, `<nsp>,` unless the
/// namespace is `/`, and the ack id.
pub(crate) fn write_header(
    buf: &mut String,
    kind: PacketKind,
    attachments: usize,
    nsp: &str,
    id: Option<AckId>,
) {
    buf.push(char::from(kind.digit()));
    if kind.is_binary() {
        buf.push_str(itoa::Buffer::new().format(attachments));
        buf.push('-');
    }
    if !nsp.is_empty() && nsp != "/" {
        buf.push_str(nsp);
        buf.push(',');
    }
    if let Some(AckId(id)) = id {
        buf.push_str(itoa::Buffer::new().format(id));
    }
}
