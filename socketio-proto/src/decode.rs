//! Decoding: the reassembly machine and the decoded packet.

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::binary::{BinDe, PlaceholderCheck, PLACEHOLDER_ERROR};
use crate::packet::{parse_header, Header};
use crate::shape::ARGS;
use crate::{AckId, Nsp, PacketKind, ParseError};

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// The most attachments one packet may announce (the reference's `maxAttachments`, 10).
    pub max_attachments: usize,
    /// The wire format.
    pub parser: Parser,
}

impl DecoderConfig {
    /// Sets [`DecoderConfig::parser`].
    pub fn with_parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// Sets [`DecoderConfig::max_attachments`].
    pub fn with_max_attachments(mut self, n: usize) -> Self {
        self.max_attachments = n;
        self
    }
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_attachments: 10,
            parser: Parser::default(),
        }
    }
}

/// Turns the Engine.IO messages of one connection into Socket.IO packets.
///
/// Text messages carry packets; a BINARY_EVENT or BINARY_ACK header is followed by as many
/// binary messages as it announces, which this machine collects before handing out the packet.
/// Reassembly state is per Engine.IO connection (attachments are not per namespace), and it
/// survives across polling payloads.
///
/// Any error is fatal for the connection (the reference closes it); the decoder resets so it can
/// be reused, but the caller is expected to close.
#[derive(Debug, Default)]
pub struct Decoder {
    config: DecoderConfig,
    pending: Option<Text>,
    /// With a custom parser: its decoder for this connection.
    custom: Option<Box<dyn crate::custom::CustomDecoder>>,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(config: DecoderConfig) -> Self {
        let custom = match config.parser {
            Parser::Custom(c) => Some(c.get().decoder()),
            _ => None,
        };
        Decoder {
            config,
            pending: None,
            custom,
        }
    }

    /// A custom parser's message: its packet, checked by the default parser's rules.
    fn decode_custom(&mut self, message: engineio_proto::Message) -> Result<Decoded, ParseError> {
        let Some(custom) = &mut self.custom else {
            return Ok(Decoded::Incomplete);
        };
        match custom.decode(message)? {
            Some(parts) => parts
                .into_packet(self.config.max_attachments)
                .map(Decoded::Packet),
            None => Ok(Decoded::Incomplete),
        }
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_reassembling(&self) -> bool {
        self.pending.is_some()
    }

    /// Feeds a text message: [`Decoded::Packet`] when the packet is complete (any non-binary
    /// packet), [`Decoded::Incomplete`] when it is a binary header waiting for its attachments.
    pub fn decode_text(&mut self, text: ByteString) -> Result<Decoded, ParseError> {
        if self.custom.is_some() {
            return self.decode_custom(engineio_proto::Message::Text(text));
        }
        if self.pending.take().is_some() || self.config.parser != Parser::Default {
            return Err(ParseError::UnexpectedText);
        }
        let header = parse_header(text, self.config.max_attachments)?;
        let expected = header.attachments as usize;
        let packet = Text {
            header,
            attachments: Vec::with_capacity(expected),
        };
        if expected == 0 {
            Ok(Decoded::Packet(Packet(Repr::Text(packet))))
        } else {
            self.pending = Some(packet);
            Ok(Decoded::Incomplete)
        }
    }

    /// Feeds a binary message: an attachment ([`Decoded::Packet`] once the last one arrived and
    /// the placeholders are valid, [`Decoded::Incomplete`] before), or with the msgpack parser
    /// a whole packet.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Decoded, ParseError> {
        if self.custom.is_some() {
            return self.decode_custom(engineio_proto::Message::Binary(data));
        }
        #[cfg(feature = "msgpack")]
        if self.config.parser == Parser::Msgpack {
            let packet = crate::msgpack::decode(data)?;
            return Ok(Decoded::Packet(Packet(Repr::Msgpack(Box::new(packet)))));
        }
        let mut packet = self.pending.take().ok_or(ParseError::UnexpectedBinary)?;
        packet.attachments.push(data);
        if packet.attachments.len() < packet.header.attachments as usize {
            self.pending = Some(packet);
            return Ok(Decoded::Incomplete);
        }
        packet.check_placeholders()?;
        Ok(Decoded::Packet(Packet(Repr::Text(packet))))
    }

    /// Feeds any Engine.IO packet: messages (text or binary) as [`Decoder::decode_text`] and
    /// [`Decoder::decode_binary`] take them; the others (open, close, ping, pong, upgrade,
    /// noop) are not Socket.IO's business and come back as [`Decoded::NotAMessage`].
    pub fn decode(&mut self, packet: engineio_proto::Packet) -> Result<Decoded, ParseError> {
        match packet {
            engineio_proto::Packet::Message(text) => self.decode_text(text),
            engineio_proto::Packet::Binary(data) => self.decode_binary(data),
            other => Ok(Decoded::NotAMessage(other)),
        }
    }
}

/// What the [`Decoder`] made of one input.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Decoded {
    /// A complete Socket.IO packet.
    Packet(Packet),
    /// Part of a packet: a binary packet's header or one of its attachments, with more
    /// attachments to come (as binary messages), or a message a custom parser keeps until it
    /// has a whole packet. The decoder holds it ([`Decoder::is_reassembling`]).
    Incomplete,
    /// An Engine.IO packet that is not a message (open, close, ping, pong, upgrade, noop),
    /// given back untouched: it carries no Socket.IO packet.
    NotAMessage(engineio_proto::Packet),
}

impl Decoded {
    /// The packet, when complete.
    pub fn into_packet(self) -> Option<Packet> {
        match self {
            Decoded::Packet(p) => Some(p),
            _ => None,
        }
    }
}

/// A decoded Socket.IO packet.
///
/// The header (kind, namespace, ack id, event name) is parsed; the JSON payload is kept as text
/// and parsed only when asked for, straight into the caller's type ([`Packet::args`],
/// [`Packet::data`]) or into [`serde_json::Value`] ([`Packet::args_value`]).
///
/// The JSON of event and ack arguments and of CONNECT payloads is checked for syntax when it
/// is deserialized (or by [`Packet::validate`]), not while decoding (decoding checks only its
/// first byte: `[` or `{`): a syntax error there is reported as [`ArgsError::is_syntax`],
/// which the connection machines treat as the reference treats a decoding error (fatal).
/// CONNECT_ERROR payloads, and every binary packet, are checked in full when decoded.
///
/// With the msgpack parser (feature `msgpack`) the same accessors read the packet's msgpack
/// data: arguments deserialize from it directly, and [`Packet::payload_json`] and
/// [`Packet::attachments`] are empty (see [`crate::msgpack`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Text(Text),
    /// Boxed: the common (text) packet stays small.
    #[cfg(feature = "msgpack")]
    Msgpack(Box<crate::msgpack::MsgpackPacket>),
}

/// A packet of the default parser: the parsed header and the attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text {
    header: Header,
    attachments: Vec<Bytes>,
}

/// Which wire format a connection's packets use, chosen per server and per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Parser {
    /// socket.io-parser: JSON text packets, binary values as attachments.
    #[default]
    Default,
    /// socket.io-msgpack-parser: one binary msgpack message per packet (see
    /// [`crate::msgpack`]).
    #[cfg(feature = "msgpack")]
    #[cfg_attr(docsrs, doc(cfg(feature = "msgpack")))]
    Msgpack,
    /// A parser of your own (see [`crate::custom`]).
    Custom(crate::custom::CustomRef),
}

impl Parser {
    /// A custom parser (see [`crate::custom`]).
    pub fn custom(parser: &'static dyn crate::custom::CustomParser) -> Self {
        Parser::Custom(crate::custom::CustomRef(parser))
    }
}

/// Why a packet's payload could not be deserialized into the requested type.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ArgsError(ArgsErrorInner);

#[derive(Debug, thiserror::Error)]
enum ArgsErrorInner {
    #[error(transparent)]
    Json(serde_json::Error),
    #[cfg(feature = "msgpack")]
    #[error(transparent)]
    Msgpack(crate::msgpack::Error),
}

#[cfg(feature = "msgpack")]
impl From<crate::msgpack::Error> for ArgsError {
    fn from(e: crate::msgpack::Error) -> Self {
        ArgsError(ArgsErrorInner::Msgpack(e))
    }
}

impl ArgsError {
    fn json(e: serde_json::Error) -> Self {
        ArgsError(ArgsErrorInner::Json(e))
    }

    /// The peer sent malformed data (JSON, msgpack, or an invalid placeholder): a protocol
    /// violation, fatal for the connection as in the reference. Otherwise the data is well
    /// formed but does not fit the requested type.
    pub fn is_syntax(&self) -> bool {
        use serde_json::error::Category;
        match &self.0 {
            ArgsErrorInner::Json(e) => {
                matches!(e.classify(), Category::Syntax | Category::Eof)
                    || e.to_string().starts_with(PLACEHOLDER_ERROR)
            }
            #[cfg(feature = "msgpack")]
            ArgsErrorInner::Msgpack(e) => e.is_syntax(),
        }
    }
}

/// Calls `$e` on the packet of either parser.
macro_rules! either {
    ($self:expr, $p:ident => $e:expr) => {
        match &$self.0 {
            Repr::Text($p) => $e,
            #[cfg(feature = "msgpack")]
            Repr::Msgpack($p) => $e,
        }
    };
}

impl Packet {
    /// The packet kind as sent (BINARY_EVENT and BINARY_ACK stay binary kinds; see
    /// [`PacketKind::without_binary`]).
    pub fn kind(&self) -> PacketKind {
        either!(self, p => p.kind())
    }

    /// The namespace name (`/` for the main namespace).
    pub fn nsp(&self) -> &str {
        either!(self, p => p.nsp())
    }

    /// The namespace as an [`Nsp`] (a view of the packet, not a copy).
    pub fn nsp_owned(&self) -> Nsp {
        either!(self, p => p.nsp_owned())
    }

    /// The query string a protocol v4 client put after the namespace (`/admin?token=abc`).
    pub fn query(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(p) => p.query(),
            #[cfg(feature = "msgpack")]
            Repr::Msgpack(_) => None,
        }
    }

    /// The ack id.
    pub fn ack_id(&self) -> Option<AckId> {
        either!(self, p => p.ack_id())
    }

    /// For an EVENT or BINARY_EVENT with a payload: the event name, read without parsing the
    /// arguments.
    pub fn event_name(&self) -> Option<&str> {
        either!(self, p => p.event_name())
    }

    /// The binary attachments, in order (none with the msgpack parser: binary is inline).
    pub fn attachments(&self) -> &[Bytes] {
        match &self.0 {
            Repr::Text(p) => &p.attachments,
            #[cfg(feature = "msgpack")]
            Repr::Msgpack(_) => &[],
        }
    }

    /// The JSON payload as received (placeholders included), if any; `None` with the msgpack
    /// parser (read the data with [`Packet::args`] or [`Packet::data`]).
    pub fn payload_json(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(p) => p.header.payload(),
            #[cfg(feature = "msgpack")]
            Repr::Msgpack(_) => None,
        }
    }

    /// Whether the packet has a payload (`42` has none).
    pub fn has_payload(&self) -> bool {
        match &self.0 {
            Repr::Text(p) => p.header.payload().is_some(),
            #[cfg(feature = "msgpack")]
            Repr::Msgpack(p) => p.has_data(),
        }
    }

    /// The payload as JSON text (no copy for the default parser; the msgpack parser's data
    /// converted).
    pub(crate) fn payload_text(&self) -> Option<ByteString> {
        match &self.0 {
            Repr::Text(p) => p.payload_text(),
            #[cfg(feature = "msgpack")]
            Repr::Msgpack(p) => p.data_json().map(ByteString::from),
        }
    }

    /// For events and acks: the arguments as raw JSON with their attachments, to be passed on
    /// (proxies, broadcasts) without a parse. The msgpack parser's arguments are converted
    /// (their `bin` values become attachments).
    pub fn raw_args(&self) -> Option<RawArgs> {
        either!(self, p => p.raw_args())
    }

    /// Deserializes the arguments of an event (after its name) or an ack into `T`, as a
    /// JavaScript handler's parameters receive them.
    ///
    /// - serde's tuple form reads the arguments in order: a tuple (`(String, u32)`), a tuple
    ///   struct, a fixed-size array (`[u32; 3]` reads three arguments). A parameter the peer
    ///   left out is `None` if it is an `Option` (JavaScript's `undefined`), an error
    ///   otherwise.
    /// - [`crate::Args`] reads every argument, however many.
    /// - `()` (and a unit struct) reads none and accepts anything.
    /// - Any other type reads the first argument: a struct, a string, `serde_json::Value`, a
    ///   `Vec` (`Vec<u32>` reads `[1,2,3]` from `["scores",[1,2,3]]`), an `Option` (`None`
    ///   when there is no argument or it is `null`).
    ///
    /// Arguments beyond what `T` reads are ignored, as JavaScript handlers ignore them. Binary
    /// arguments deserialize into [`crate::Binary`] without copying (or into `&[u8]` without
    /// copying, or `bytes::Bytes` with one copy).
    pub fn args<'de, T: Deserialize<'de>>(&'de self) -> Result<T, ArgsError> {
        either!(self, p => p.args())
    }

    /// The arguments as JSON values (placeholders left as objects; see
    /// [`Packet::attachments`]; msgpack `bin` values as arrays of numbers).
    pub fn args_value(&self) -> Result<Vec<serde_json::Value>, ArgsError> {
        either!(self, p => p.args_value())
    }

    /// Deserializes the whole payload into `T`: the auth object of a CONNECT, the data of a
    /// CONNECT_ERROR, or an event's whole array (name included). `Ok(None)` when the packet
    /// has no payload (a CONNECT without auth, a DISCONNECT).
    pub fn data<'de, T: Deserialize<'de>>(&'de self) -> Result<Option<T>, ArgsError> {
        match &self.0 {
            Repr::Text(p) => p.data().transpose(),
            #[cfg(feature = "msgpack")]
            Repr::Msgpack(p) => p.data(),
        }
    }

    /// Like [`Packet::data`] into an owned type.
    pub fn data_owned<T: DeserializeOwned>(&self) -> Result<Option<T>, ArgsError> {
        self.data()
    }

    /// Checks the payload's syntax in full (decoding checks only what the packet type needs,
    /// see the type docs).
    pub fn validate(&self) -> Result<(), ParseError> {
        either!(self, p => p.validate())
    }
}

impl Text {
    /// The packet kind as sent (BINARY_EVENT and BINARY_ACK stay binary kinds; see
    /// [`PacketKind::without_binary`]).
    fn kind(&self) -> PacketKind {
        self.header.kind
    }

    /// The namespace name (`/` for the main namespace).
    fn nsp(&self) -> &str {
        self.header.nsp()
    }

    /// The namespace as an [`Nsp`] (a view of the packet text, not a copy).
    fn nsp_owned(&self) -> Nsp {
        match self.header.nsp() {
            "/" => Nsp::main(),
            name => Nsp::from(self.header.text.slice_ref(name)),
        }
    }

    /// The query string a protocol v4 client put after the namespace (`/admin?token=abc`).
    fn query(&self) -> Option<&str> {
        self.header.query()
    }

    /// The ack id.
    fn ack_id(&self) -> Option<AckId> {
        self.header.id
    }

    /// For an EVENT or BINARY_EVENT with a payload: the event name, read without parsing the
    /// arguments.
    fn event_name(&self) -> Option<&str> {
        self.header.event_name()
    }

    /// [`Packet::payload_json`] as a view of the packet text (no copy).
    fn payload_text(&self) -> Option<ByteString> {
        let payload = self.header.payload()?;
        Some(self.header.text.slice_ref(payload))
    }

    /// For events and acks: the arguments as raw JSON, unparsed, with their attachments, to be
    /// passed on (proxies, broadcasts) without a parse.
    fn raw_args(&self) -> Option<RawArgs> {
        let payload = self.header.payload()?;
        let text = &self.header.text;
        let elements = match (self.header.args_at(), self.header.kind.without_binary()) {
            // After the name: `,a,b]` or `]`.
            (Some(at), PacketKind::Event) => match text.as_bytes()[at] {
                b',' => text.slice_ref(&text[at + 1..]),
                _ => text.slice_ref(&text[at..]),
            },
            (None, PacketKind::Ack) => {
                let open = payload.find('[')?;
                text.slice_ref(&payload[open + 1..])
            }
            _ => return None,
        };
        Some(RawArgs {
            elements,
            attachments: self.attachments.clone(),
        })
    }

    /// Deserializes the arguments of an event (after its name) or an ack into `T`, as a
    /// JavaScript handler's parameters receive them.
    ///
    /// - serde's tuple form reads the arguments in order: a tuple (`(String, u32)`), a tuple
    ///   struct, a fixed-size array (`[u32; 3]` reads three arguments). A parameter the peer
    ///   left out is `None` if it is an `Option` (JavaScript's `undefined`), an error
    ///   otherwise.
    /// - [`crate::Args`] reads every argument, however many.
    /// - `()` (and a unit struct) reads none and accepts anything.
    /// - Any other type reads the first argument: a struct, a string, `serde_json::Value`, a
    ///   `Vec` (`Vec<u32>` reads `[1,2,3]` from `["scores",[1,2,3]]`), an `Option` (`None`
    ///   when there is no argument or it is `null`).
    ///
    /// Arguments beyond what `T` reads are ignored, as JavaScript handlers ignore them. Binary
    /// arguments deserialize into [`crate::Binary`] without copying (or into `&[u8]` without
    /// copying, or `bytes::Bytes` with one copy).
    fn args<'de, T: Deserialize<'de>>(&'de self) -> Result<T, ArgsError> {
        let skip = usize::from(self.header.event.is_some());
        // No payload (`2`, `3/admin,13`) is an empty argument list.
        let json = self.header.payload().unwrap_or("[]");
        let mut de = serde_json::Deserializer::from_str(json);
        let seed = ArgsSeed {
            skip,
            marker: std::marker::PhantomData,
        };
        let value = if self.attachments.is_empty() {
            seed.deserialize(&mut de)
        } else {
            seed.deserialize(BinDe {
                de: &mut de,
                att: &self.attachments,
            })
        }
        .map_err(ArgsError::json)?;
        de.end().map_err(ArgsError::json)?;
        Ok(value)
    }

    /// The arguments as JSON values (placeholders left as objects; see
    /// [`Packet::attachments`]).
    fn args_value(&self) -> Result<Vec<serde_json::Value>, ArgsError> {
        let skip = usize::from(self.header.event.is_some());
        let Some(json) = self.header.payload() else {
            return Ok(Vec::new());
        };
        let mut all: Vec<serde_json::Value> =
            serde_json::from_str(json).map_err(ArgsError::json)?;
        all.drain(..skip.min(all.len()));
        Ok(all)
    }

    /// Deserializes the whole payload into `T`: the auth object of a CONNECT, the data of a
    /// CONNECT_ERROR, or an event's whole array (name included). `None` without a payload.
    fn data<'de, T: Deserialize<'de>>(&'de self) -> Option<Result<T, ArgsError>> {
        let json = self.header.payload()?;
        let mut de = serde_json::Deserializer::from_str(json);
        let r = if self.attachments.is_empty() {
            T::deserialize(&mut de)
        } else {
            T::deserialize(BinDe {
                de: &mut de,
                att: &self.attachments,
            })
        };
        Some(
            r.and_then(|v| de.end().map(|()| v))
                .map_err(ArgsError::json),
        )
    }

    /// Checks the payload's JSON syntax in full (decoding checks only what the packet type
    /// needs, see the type docs).
    fn validate(&self) -> Result<(), ParseError> {
        match self.header.payload() {
            Some(p) => crate::json::validate(p.as_bytes()),
            None => Ok(()),
        }
    }

    /// The reference's reassembly check: every placeholder names an existing attachment.
    fn check_placeholders(&self) -> Result<(), ParseError> {
        let Some(json) = self.header.payload() else {
            return Ok(());
        };
        let mut de = serde_json::Deserializer::from_str(json);
        let check = PlaceholderCheck {
            count: self.attachments.len(),
        };
        let r = check.deserialize(&mut de).and_then(|_| de.end());
        r.map_err(|e| {
            if e.to_string().starts_with(PLACEHOLDER_ERROR) {
                ParseError::InvalidPlaceholder
            } else {
                ParseError::InvalidJson
            }
        })
    }
}

/// Event or ack arguments as raw JSON with their attachments, passed on without parsing.
///
/// `elements` is the text after the opening bracket of the argument list: `1,"a"]`, or `]`
/// when there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawArgs {
    pub(crate) elements: ByteString,
    pub(crate) attachments: Vec<Bytes>,
}

impl RawArgs {
    /// Raw arguments from the JSON of an argument array (`[1,"a"]`) and its attachments; the
    /// text must be a JSON array.
    pub fn from_array(json: &str, attachments: Vec<Bytes>) -> Result<Self, ParseError> {
        crate::json::validate(json.as_bytes())?;
        let open = json.find('[').ok_or(ParseError::InvalidPayload)?;
        if json[..open].trim().is_empty() {
            Ok(RawArgs {
                elements: ByteString::from(&json[open + 1..]),
                attachments,
            })
        } else {
            Err(ParseError::InvalidPayload)
        }
    }

    /// Raw arguments from values that may hold binary (written as placeholders and
    /// attachments).
    #[cfg(feature = "msgpack")]
    pub(crate) fn from_values<T: serde::Serialize>(
        items: &[T],
    ) -> Result<Self, crate::EncodeError> {
        let att = crate::binary::Attachments::default();
        let mut text = String::new();
        crate::encode::write_json(&mut text, items, &att, crate::json::Splice::No)?;
        Ok(RawArgs {
            elements: ByteString::from(text.get(1..).unwrap_or("]")),
            attachments: att.take(),
        })
    }

    /// The arguments as values, placeholders replaced by their attachments.
    #[cfg(feature = "msgpack")]
    pub(crate) fn to_values(&self) -> Result<Vec<crate::msgpack::Mixed>, ParseError> {
        let items: Vec<crate::msgpack::Mixed> =
            serde_json::from_str(&self.to_json_array()).map_err(|_| ParseError::InvalidJson)?;
        Ok(items
            .into_iter()
            .map(|v| v.fill(&self.attachments))
            .collect())
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.elements.trim_start().starts_with(']')
    }

    /// The arguments as a JSON array text.
    pub fn to_json_array(&self) -> String {
        format!("[{}", self.elements)
    }

    /// The attachments the arguments' placeholders refer to.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }
}

/// Deserializes `T` from the elements of a JSON array after skipping `skip` of them; elements
/// `T` does not read are skipped.
pub(crate) struct ArgsSeed<T> {
    pub(crate) skip: usize,
    pub(crate) marker: std::marker::PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ArgsSeed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArgsSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an argument array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        for _ in 0..self.skip {
            seq.next_element::<IgnoredAny>()?;
        }
        let value = T::deserialize(Rest(&mut seq))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}

/// The remaining elements of the argument array, as one deserializer, read as a JavaScript
/// handler's parameters (the mirror of `shape::top_level`): serde's tuple form (tuples,
/// fixed-size arrays, tuple structs) reads them in order and [`crate::Args`] all of them; `()`,
/// unit structs and `IgnoredAny` read none; any other target (a `Vec` too) reads the first.
struct Rest<'a, A>(&'a mut A);

/// How a target asked to be deserialized, replayed on one element.
#[derive(Clone, Copy)]
enum Method {
    Any,
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    String,
    Bytes,
    ByteBuf,
    Seq,
    NewtypeStruct(&'static str),
    Map,
    Struct(&'static str, &'static [&'static str]),
    Enum(&'static str, &'static [&'static str]),
    Identifier,
}

/// Deserializes one element with the target's own method.
struct One<V> {
    visitor: V,
    method: Method,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for One<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let v = self.visitor;
        match self.method {
            Method::Any => d.deserialize_any(v),
            Method::Bool => d.deserialize_bool(v),
            Method::I8 => d.deserialize_i8(v),
            Method::I16 => d.deserialize_i16(v),
            Method::I32 => d.deserialize_i32(v),
            Method::I64 => d.deserialize_i64(v),
            Method::I128 => d.deserialize_i128(v),
            Method::U8 => d.deserialize_u8(v),
            Method::U16 => d.deserialize_u16(v),
            Method::U32 => d.deserialize_u32(v),
            Method::U64 => d.deserialize_u64(v),
            Method::U128 => d.deserialize_u128(v),
            Method::F32 => d.deserialize_f32(v),
            Method::F64 => d.deserialize_f64(v),
            Method::Char => d.deserialize_char(v),
            Method::Str => d.deserialize_str(v),
            Method::String => d.deserialize_string(v),
            Method::Bytes => d.deserialize_bytes(v),
            Method::ByteBuf => d.deserialize_byte_buf(v),
            Method::Seq => d.deserialize_seq(v),
            Method::NewtypeStruct(name) => d.deserialize_newtype_struct(name, v),
            Method::Map => d.deserialize_map(v),
            Method::Struct(name, fields) => d.deserialize_struct(name, fields, v),
            Method::Enum(name, variants) => d.deserialize_enum(name, variants, v),
            Method::Identifier => d.deserialize_identifier(v),
        }
    }
}

impl<'de, A: SeqAccess<'de>> Rest<'_, A> {
    fn first<V: Visitor<'de>>(self, visitor: V, method: Method) -> Result<V::Value, A::Error> {
        match self.0.next_element_seed(One { visitor, method })? {
            Some(v) => Ok(v),
            None => Err(serde::de::Error::custom(MISSING)),
        }
    }

    /// The arguments as the elements of a tuple of `len`: missing ones are `undefined`.
    fn tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        v.visit_seq(Padded {
            seq: self.0,
            left: len,
            ended: false,
        })
    }
}

/// The error for an argument the handler's type needs and the peer did not send.
const MISSING: &str = "missing argument";

macro_rules! first_element {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
            self.first(v, Method::$method)
        })*
    };
}

impl<'de, A: SeqAccess<'de>> Deserializer<'de> for Rest<'_, A> {
    type Error = A::Error;

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.tuple(len, v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.tuple(len, v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, A::Error> {
        if name == ARGS {
            // `Args`: every remaining argument, however many.
            return v.visit_seq(self.0);
        }
        self.first(v, Method::NewtypeStruct(name))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        // `()` takes no arguments: whatever was sent is ignored, as a JavaScript handler
        // without parameters ignores it.
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, A::Error> {
        // A unit struct is a named `()`: it is written as no arguments and reads none.
        v.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        v.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        // A missing argument is `None`, as `undefined` is in JavaScript.
        let mut slot = Some(v);
        let seed = OptionSeed(OptionVisitorSlot(&mut slot));
        match self.0.next_element_seed(seed)? {
            Some(value) => Ok(value),
            None => match slot.take() {
                Some(v) => v.visit_none(),
                None => Err(serde::de::Error::custom("option visitor used")),
            },
        }
    }

    first_element!(
        deserialize_any => Any,
        deserialize_bool => Bool,
        deserialize_i8 => I8,
        deserialize_i16 => I16,
        deserialize_i32 => I32,
        deserialize_i64 => I64,
        deserialize_i128 => I128,
        deserialize_u8 => U8,
        deserialize_u16 => U16,
        deserialize_u32 => U32,
        deserialize_u64 => U64,
        deserialize_u128 => U128,
        deserialize_f32 => F32,
        deserialize_f64 => F64,
        deserialize_char => Char,
        deserialize_str => Str,
        deserialize_string => String,
        deserialize_bytes => Bytes,
        deserialize_byte_buf => ByteBuf,
        // A `Vec` (or a set, a `VecDeque`) is one argument that is an array, as in JavaScript.
        deserialize_seq => Seq,
        deserialize_map => Map,
        deserialize_identifier => Identifier,
    );

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.first(v, Method::Struct(name, fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.first(v, Method::Enum(name, variants))
    }
}

/// Reads `Option`s: `d.deserialize_option` with the visitor in a slot.
struct OptionSeed<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for OptionSeed<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_option(self.0)
    }
}

/// A visitor kept in a slot so that, when the argument is missing, the same visitor can be
/// asked for `None` instead.
struct OptionVisitorSlot<'a, V>(&'a mut Option<V>);

impl<'de, V: Visitor<'de>> Visitor<'de> for OptionVisitorSlot<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an optional argument")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.take()?.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.take()?.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.take()?.visit_some(d)
    }
}

impl<V> OptionVisitorSlot<'_, V> {
    fn take<E: serde::de::Error>(self) -> Result<V, E> {
        self.0
            .take()
            .ok_or_else(|| E::custom("option visitor used"))
    }
}

/// The arguments as a tuple's elements: up to `left` more, the missing ones read from
/// [`Missing`] (so an `Option` parameter the peer left out is `None`, as JavaScript's
/// `undefined`). Bounded by the tuple's length, so a target that reads until the end still
/// ends.
struct Padded<'a, A> {
    seq: &'a mut A,
    left: usize,
    ended: bool,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Padded<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let within = self.left > 0;
        self.left = self.left.saturating_sub(1);
        let mut slot = Some(seed);
        if !self.ended {
            if let Some(v) = self.seq.next_element_seed(SeedSlot(&mut slot))? {
                return Ok(Some(v));
            }
            self.ended = true;
        }
        match slot.take() {
            Some(seed) if within => seed.deserialize(Missing::new()).map(Some),
            _ => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// A seed kept in a slot, taken only when the element exists.
struct SeedSlot<'a, S>(&'a mut Option<S>);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for SeedSlot<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        match self.0.take() {
            Some(seed) => seed.deserialize(d),
            None => Err(serde::de::Error::custom("argument seed used")),
        }
    }
}

/// An argument the peer did not send (`undefined`): `None` for an `Option`, `()` for a unit,
/// an error for anything else.
struct Missing<E>(std::marker::PhantomData<E>);

impl<E> Missing<E> {
    fn new() -> Self {
        Missing(std::marker::PhantomData)
    }
}

impl<'de, E: serde::de::Error> Deserializer<'de> for Missing<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, E> {
        Err(E::custom(MISSING))
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_none()
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, E> {
        v.visit_unit()
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

#[cfg(test)]
mod tests {
    /// Decoded packets move by value; over 128 bytes each move is a `memcpy` call (a fifth of a
    /// small event's decode when the packet was 216 bytes).
    #[test]
    fn packet_stays_small_enough_to_move_inline() {
        assert!(std::mem::size_of::<super::Packet>() <= 128);
    }
}
