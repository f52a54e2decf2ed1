//! Encoding packets from serde values into a reusable buffer.

use bytes::Bytes;
use bytestring::ByteString;
use serde::Serialize;

use crate::binary::{Attachments, WithAttachments};
use crate::decode::RawArgs;
use crate::json::{JsonWriter, Refuse, Splice};
use crate::packet::{is_reserved_event, write_header};
use crate::shape::{top_level, TopLevel};
use crate::{AckId, Nsp, PacketKind};

/// Why a packet could not be encoded. The encoder stays usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The event name is reserved (`connect`, `disconnect`, …) and may not be emitted.
    #[error("reserved event name")]
    ReservedEventName,
    /// The value has more binary attachments than the configured maximum (peers refuse
    /// packets announcing more than 10 by default).
    #[error("too many binary attachments")]
    TooManyAttachments,
    /// The value could not be serialized as JSON (for example a map with non-string keys).
    #[error("cannot serialize: {0}")]
    Serialize(#[source] serde_json::Error),
    /// [`Encoded::transcode`] was given a packet that is not a well-formed EVENT or ACK.
    #[error("cannot transcode: {0}")]
    Transcode(crate::ParseError),
    /// The value could not be serialized as msgpack (the msgpack parser).
    #[error("cannot serialize as msgpack: {0}")]
    Msgpack(String),
}

/// An encoded packet: the text message and its attachments, cheap to clone.
///
/// A broadcast encodes once and hands clones (reference counts, no copies) to every recipient.
/// It serializes with serde (text, then attachments as byte arrays), so a broadcast backend can
/// carry it between servers.
///
/// With the msgpack parser the packet is one binary message ([`Encoded::msgpack`]); its
/// text is empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Encoded {
    text: ByteString,
    attachments: Vec<Bytes>,
    /// With the msgpack parser: the packet's digit (`attachments` holds the one message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    msgpack: Option<u8>,
    /// With a custom parser: the parser and its messages for this (default) form, made once
    /// when the packet is encoded (a broadcast hands the same messages to every recipient).
    /// Behind one pointer: the common packet stays small.
    #[serde(skip)]
    custom: Option<std::sync::Arc<Custom>>,
}

/// A custom parser's form of an [`Encoded`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Custom {
    parser: crate::custom::CustomRef,
    messages: Vec<engineio_proto::Message>,
}

impl Encoded {
    /// An encoded packet from its text and attachments (as a broadcast backend carries them).
    pub fn from_parts(text: ByteString, attachments: Vec<Bytes>) -> Self {
        Encoded {
            text,
            attachments,
            msgpack: None,
            custom: None,
        }
    }

    /// A packet of the msgpack parser: its kind and its one binary message.
    #[cfg(feature = "msgpack")]
    pub(crate) fn from_msgpack(kind: PacketKind, bytes: Bytes) -> Self {
        Encoded {
            text: ByteString::new(),
            attachments: vec![bytes],
            msgpack: Some(kind.digit()),
            custom: None,
        }
    }

    /// Whether this is an EVENT or BINARY_EVENT packet.
    pub fn is_event(&self) -> bool {
        let digit = self.msgpack.or(self.text.as_bytes().first().copied());
        matches!(digit, Some(b'2' | b'5'))
    }

    /// The Socket.IO packet text (the data of an Engine.IO message); empty for the msgpack
    /// parser's packets.
    pub fn text(&self) -> &ByteString {
        &self.text
    }

    /// The binary attachments, to send right after the text, in order (the msgpack parser's
    /// packet: its one message).
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// With the msgpack parser: the packet's one binary message.
    pub fn msgpack(&self) -> Option<&Bytes> {
        self.msgpack.and(self.attachments.first())
    }

    /// This EVENT with one more string argument at the end: connection state recovery appends
    /// the packet's offset this way (`42["a",1]` -> `42["a",1,"off"]`). `None` if the packet
    /// is not an event with an argument list.
    pub fn with_last_arg(&self, arg: &str) -> Option<Encoded> {
        #[cfg(feature = "msgpack")]
        if let Some(bytes) = self.msgpack() {
            let kind = PacketKind::from_digit(self.msgpack?)?;
            let with = crate::msgpack::with_last_arg(bytes, arg)?;
            return Some(Encoded::from_msgpack(kind, with));
        }
        let body = self.text.strip_suffix(']')?;
        let json = serde_json::to_string(arg).ok()?;
        let mut text = String::with_capacity(self.text.len() + json.len() + 1);
        text.push_str(body);
        text.push(',');
        text.push_str(&json);
        text.push(']');
        let with = Encoded::from_parts(ByteString::from(text), self.attachments.clone());
        Some(match &self.custom {
            Some(c) => with.with_custom(c.parser),
            None => with,
        })
    }

    /// The parser that wrote this packet.
    pub fn parser(&self) -> crate::Parser {
        if let Some(c) = &self.custom {
            return crate::Parser::Custom(c.parser);
        }
        #[cfg(feature = "msgpack")]
        if self.msgpack.is_some() {
            return crate::Parser::Msgpack;
        }
        crate::Parser::Default
    }

    /// This EVENT or ACK written by `parser` (a copy when it is another parser: a fleet
    /// message for a server with the msgpack parser, or the other way round).
    pub fn transcode(&self, parser: crate::Parser) -> Result<Encoded, EncodeError> {
        if self.parser() == parser {
            return Ok(self.clone());
        }
        // A custom parser's packets keep their default form: conversions go through it.
        if self.custom.is_some() {
            let plain = Encoded {
                custom: None,
                ..self.clone()
            };
            return plain.transcode(parser);
        }
        if let crate::Parser::Custom(c) = parser {
            return Ok(self.transcode(crate::Parser::Default)?.with_custom(c));
        }
        let mut dec =
            crate::Decoder::new(crate::DecoderConfig::default().with_parser(self.parser()));
        let mut got = None;
        for message in self.engineio_packets() {
            got = dec
                .decode(message)
                .map_err(EncodeError::Transcode)?
                .into_packet();
        }
        let packet = got.ok_or(EncodeError::Transcode(crate::ParseError::Empty))?;
        let mut enc = Encoder::new(EncoderConfig::default().with_parser(parser));
        let nsp = packet.nsp_owned();
        let raw = packet
            .raw_args()
            .ok_or(EncodeError::Transcode(crate::ParseError::InvalidPayload))?;
        match (packet.event_name(), packet.ack_id()) {
            (Some(name), id) => enc.event_raw(&nsp, name, &raw, id),
            (None, Some(id)) => Ok(enc.ack_raw(&nsp, id, &raw)),
            (None, None) => Err(EncodeError::Transcode(crate::ParseError::InvalidPayload)),
        }
    }

    /// The Engine.IO messages to send, in order: the text, then each attachment (the msgpack
    /// parser's packet: its one binary message).
    pub fn engineio_packets(&self) -> impl Iterator<Item = engineio_proto::Packet> + '_ {
        if let Some(c) = &self.custom {
            return Packets::Custom(c.messages.iter());
        }
        let text = self
            .msgpack
            .is_none()
            .then(|| engineio_proto::Packet::Message(self.text.clone()));
        Packets::Plain(text, self.attachments.iter())
    }

    /// [`Encoded::engineio_packets`], taking the packet: its text and attachments are moved
    /// rather than shared (a packet sent once costs no reference count: a freshly written
    /// text's first share allocates its shared state).
    pub fn into_engineio_packets(self) -> impl Iterator<Item = engineio_proto::Packet> {
        if let Some(c) = self.custom {
            let messages = std::sync::Arc::unwrap_or_clone(c).messages;
            return IntoPackets::Custom(messages.into_iter());
        }
        let text = self
            .msgpack
            .is_none()
            .then_some(engineio_proto::Packet::Message(self.text));
        IntoPackets::Plain(text, self.attachments.into_iter())
    }

    /// This packet (in the default form) with `parser`'s messages for it, made now; none
    /// if the parser fails (the packet is then not sent).
    fn with_custom(mut self, parser: crate::custom::CustomRef) -> Encoded {
        self.custom = None;
        let mut dec = crate::Decoder::default();
        let mut got = None;
        for p in self.engineio_packets() {
            match dec.decode(p) {
                Ok(decoded) => got = decoded.into_packet(),
                Err(_) => break,
            }
        }
        let messages = got
            .map(|packet| crate::custom::PacketParts::from_packet(&packet))
            .and_then(|parts| parser.get().encode(parts).ok())
            .unwrap_or_default();
        self.custom = Some(std::sync::Arc::new(Custom { parser, messages }));
        self
    }
}

/// [`Encoded::into_engineio_packets`]: the same as [`Packets`], owned.
enum IntoPackets {
    Plain(Option<engineio_proto::Packet>, std::vec::IntoIter<Bytes>),
    Custom(std::vec::IntoIter<engineio_proto::Message>),
}

impl Iterator for IntoPackets {
    type Item = engineio_proto::Packet;
    fn next(&mut self) -> Option<engineio_proto::Packet> {
        match self {
            IntoPackets::Plain(text, attachments) => text
                .take()
                .or_else(|| attachments.next().map(engineio_proto::Packet::Binary)),
            IntoPackets::Custom(messages) => messages.next().map(|m| match m {
                engineio_proto::Message::Text(t) => engineio_proto::Packet::Message(t),
                engineio_proto::Message::Binary(b) => engineio_proto::Packet::Binary(b),
            }),
        }
    }
}

/// [`Encoded::engineio_packets`]: the default form's text and attachments, or a custom
/// parser's messages.
enum Packets<'a> {
    Plain(Option<engineio_proto::Packet>, std::slice::Iter<'a, Bytes>),
    Custom(std::slice::Iter<'a, engineio_proto::Message>),
}

impl Iterator for Packets<'_> {
    type Item = engineio_proto::Packet;
    fn next(&mut self) -> Option<engineio_proto::Packet> {
        match self {
            Packets::Plain(text, attachments) => text.take().or_else(|| {
                attachments
                    .next()
                    .cloned()
                    .map(engineio_proto::Packet::Binary)
            }),
            Packets::Custom(messages) => messages.next().cloned().map(|m| match m {
                engineio_proto::Message::Text(t) => engineio_proto::Packet::Message(t),
                engineio_proto::Message::Binary(b) => engineio_proto::Packet::Binary(b),
            }),
        }
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncoderConfig {
    /// The most attachments one packet may carry (the peer's `maxAttachments`, 10 by default).
    pub max_attachments: usize,
    /// The wire format.
    pub parser: crate::Parser,
    /// The msgpack parser's key order: a server's (the default) or a client's.
    #[cfg(feature = "msgpack")]
    pub msgpack_side: crate::msgpack::Side,
}

impl EncoderConfig {
    /// Sets [`EncoderConfig::parser`].
    pub fn with_parser(mut self, parser: crate::Parser) -> Self {
        self.parser = parser;
        self
    }

    /// Sets [`EncoderConfig::msgpack_side`].
    #[cfg(feature = "msgpack")]
    pub fn with_msgpack_side(mut self, side: crate::msgpack::Side) -> Self {
        self.msgpack_side = side;
        self
    }

    /// Sets [`EncoderConfig::max_attachments`].
    pub fn with_max_attachments(mut self, n: usize) -> Self {
        self.max_attachments = n;
        self
    }
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            max_attachments: 10,
            parser: crate::Parser::default(),
            #[cfg(feature = "msgpack")]
            msgpack_side: crate::msgpack::Side::default(),
        }
    }
}

/// Encodes packets into one reusable buffer.
///
/// JSON is compact, keeps key order and writes numbers as JavaScript does, so the text equals
/// what `JSON.stringify` gives for the same data. Binary values ([`crate::Binary`], or any
/// byte buffer) become placeholders and attachments, and the packet becomes BINARY_EVENT /
/// BINARY_ACK with the attachment count.
#[derive(Debug, Default)]
pub struct Encoder {
    config: EncoderConfig,
    /// The packet being written; its capacity is kept from packet to packet.
    buf: String,
    /// With a custom parser: marked on every packet (written in the default form).
    custom: Option<crate::custom::CustomRef>,
    /// With the msgpack parser: its encoder (every packet goes there).
    #[cfg(feature = "msgpack")]
    msgpack: Option<crate::msgpack::MsgpackEncoder>,
}

/// With the msgpack parser, returns what its encoder makes of the call.
macro_rules! msgpack {
    ($self:ident, $kind:expr, |$mp:ident| $e:expr) => {
        #[cfg(feature = "msgpack")]
        if let Some($mp) = &mut $self.msgpack {
            let bytes = $e;
            return Ok(Encoded::from_msgpack($kind, bytes?));
        }
    };
}

impl Encoder {
    /// An encoder with the given settings.
    pub fn new(config: EncoderConfig) -> Self {
        Encoder {
            config,
            buf: String::new(),
            custom: match config.parser {
                crate::Parser::Custom(c) => Some(c),
                _ => None,
            },
            #[cfg(feature = "msgpack")]
            msgpack: (config.parser == crate::Parser::Msgpack)
                .then(|| crate::msgpack::MsgpackEncoder::new(config.msgpack_side)),
        }
    }

    /// The capacity of the reusable buffer, in bytes (as large as the largest packet encoded
    /// so far): an encoder kept for a long time can be replaced when this grows too large.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// CONNECT: a client joining `nsp` with an optional auth object, or a server accepting
    /// with `{"sid":…}`.
    pub fn connect<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        payload: Option<&T>,
    ) -> Result<Encoded, EncodeError> {
        msgpack!(self, PacketKind::Connect, |mp| mp.connect(nsp, payload));
        self.encode(PacketKind::Connect, nsp, None, |buf, att| match payload {
            Some(p) => write_json(buf, p, att, Splice::No),
            None => Ok(()),
        })
    }

    /// DISCONNECT from `nsp`.
    pub fn disconnect(&mut self, nsp: &Nsp) -> Encoded {
        #[cfg(feature = "msgpack")]
        if let Some(mp) = &mut self.msgpack {
            return Encoded::from_msgpack(PacketKind::Disconnect, mp.disconnect(nsp));
        }
        self.finish_plain(PacketKind::Disconnect, nsp, None, 0)
    }

    /// CONNECT_ERROR on `nsp` with its payload (v5: `{"message":…,"data":…}`).
    pub fn connect_error<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        payload: &T,
    ) -> Result<Encoded, EncodeError> {
        msgpack!(self, PacketKind::ConnectError, |mp| mp
            .connect_error(nsp, payload));
        self.encode(PacketKind::ConnectError, nsp, None, |buf, att| {
            write_json(buf, payload, att, Splice::No)
        })
    }

    /// EVENT `name` with `args`, asking for an ack when `id` is set.
    ///
    /// `args` is read as JavaScript's `socket.emit(name, ...args)` parameters:
    ///
    /// - serde's tuple form is the argument list: a tuple (`&("a", 1)` is two arguments,
    ///   `&(x,)` one), a tuple struct, and a fixed-size array, which serde cannot tell from a
    ///   tuple (`&[1, 2, 3]` is three arguments; `&[1, 2, 3][..]` or a `Vec` is one array).
    /// - [`crate::Args`] is an argument list of any length.
    /// - The value `()` (and a unit struct) is no argument.
    /// - Any other value is one argument: a `Vec`, a slice or `Value::Array` is one array
    ///   (`&vec![1, 2, 3]` sends `["scores",[1,2,3]]`, as `emit("scores", [1, 2, 3])` does
    ///   in JavaScript), and `None` or `Value::Null` is one `null`.
    pub fn event<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        name: &str,
        args: &T,
        id: Option<AckId>,
    ) -> Result<Encoded, EncodeError> {
        if is_reserved_event(name) {
            return Err(EncodeError::ReservedEventName);
        }
        msgpack!(self, PacketKind::Event, |mp| mp.event(nsp, name, args, id));
        self.encode(PacketKind::Event, nsp, id, |buf, att| {
            buf.push('[');
            write_json(buf, name, att, Splice::No)?;
            match top_level(args) {
                // `[a,b]` becomes the rest of the list: `,a,b]`, or `]` for `[]`.
                TopLevel::List => write_json(buf, args, att, Splice::Pending)?,
                TopLevel::Nothing => buf.push(']'),
                TopLevel::One => {
                    buf.push(',');
                    write_json(buf, args, att, Splice::No)?;
                    buf.push(']');
                }
            }
            Ok(())
        })
    }

    /// ACK `id` with `args`, an argument list read as in [`Encoder::event`] (`&vec![1, 2]` is
    /// one argument, `3[[1,2]]`; `&(1, 2)` two, `3[1,2]`; `&()` none, `3[]`).
    pub fn ack<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        id: AckId,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        msgpack!(self, PacketKind::Ack, |mp| mp.ack(nsp, id, args));
        self.encode(PacketKind::Ack, nsp, Some(id), |buf, att| {
            match top_level(args) {
                TopLevel::List => write_json(buf, args, att, Splice::No)?,
                TopLevel::Nothing => buf.push_str("[]"),
                TopLevel::One => {
                    buf.push('[');
                    write_json(buf, args, att, Splice::No)?;
                    buf.push(']');
                }
            }
            Ok(())
        })
    }

    /// EVENT `name` with arguments passed on unparsed (see [`RawArgs`]).
    pub fn event_raw(
        &mut self,
        nsp: &Nsp,
        name: &str,
        args: &RawArgs,
        id: Option<AckId>,
    ) -> Result<Encoded, EncodeError> {
        if is_reserved_event(name) {
            return Err(EncodeError::ReservedEventName);
        }
        msgpack!(self, PacketKind::Event, |mp| {
            let items = args
                .to_values()
                .map_err(|_| EncodeError::Msgpack("raw arguments".into()))?;
            mp.event(nsp, name, &crate::Args(items), id)
        });
        self.raw(PacketKind::Event, nsp, id, args, |buf| {
            write_json(buf, name, &Attachments::default(), Splice::No)?;
            if !args.is_empty() {
                buf.push(',');
            }
            Ok(())
        })
    }

    /// ACK `id` with arguments passed on unparsed (see [`RawArgs`]).
    pub fn ack_raw(&mut self, nsp: &Nsp, id: AckId, args: &RawArgs) -> Encoded {
        #[cfg(feature = "msgpack")]
        if let Some(mp) = &mut self.msgpack {
            // Raw arguments come from a decoded packet or `RawArgs::from_array`: valid JSON.
            let items = args.to_values().unwrap_or_default();
            if let Ok(bytes) = mp.ack(nsp, id, &crate::Args(items)) {
                return Encoded::from_msgpack(PacketKind::Ack, bytes);
            }
        }
        // Writing nothing before the elements cannot fail.
        let packet = self.raw(PacketKind::Ack, nsp, Some(id), args, |_| Ok(()));
        packet.unwrap_or_else(|_| self.finish(Vec::new()))
    }

    /// A packet around raw arguments: header, `[`, what `before` writes (an event's name), the
    /// elements.
    fn raw(
        &mut self,
        kind: PacketKind,
        nsp: &Nsp,
        id: Option<AckId>,
        args: &RawArgs,
        before: impl FnOnce(&mut String) -> Result<(), EncodeError>,
    ) -> Result<Encoded, EncodeError> {
        let kind = binary_kind(kind, &args.attachments);
        self.buf.clear();
        write_header(
            &mut self.buf,
            kind,
            args.attachments.len(),
            nsp.as_str(),
            id,
        );
        self.buf.push('[');
        before(&mut self.buf)?;
        self.buf.push_str(&args.elements);
        Ok(self.finish(args.attachments.clone()))
    }

    /// Writes the header for a non-binary `kind`, lets `body` write the JSON (collecting
    /// attachments), then turns the packet binary if any attachment was found.
    fn encode(
        &mut self,
        kind: PacketKind,
        nsp: &Nsp,
        id: Option<AckId>,
        body: impl FnOnce(&mut String, &Attachments) -> Result<(), EncodeError>,
    ) -> Result<Encoded, EncodeError> {
        self.buf.clear();
        write_header(&mut self.buf, kind, 0, nsp.as_str(), id);
        let att = Attachments::default();
        if let Err(e) = body(&mut self.buf, &att) {
            self.buf.clear();
            return Err(e);
        }
        let att = att.take();
        if att.len() > self.config.max_attachments {
            self.buf.clear();
            return Err(EncodeError::TooManyAttachments);
        }
        if !att.is_empty() {
            // Binary found while writing: the type digit becomes 5/6 and `<count>-` goes right
            // after it, written while the text is copied out.
            let mut count = itoa::Buffer::new();
            let count = count.format(att.len());
            let mut out = String::with_capacity(self.buf.len() + count.len() + 1);
            out.push(char::from(kind.with_binary().digit()));
            out.push_str(count);
            out.push('-');
            out.push_str(&self.buf[1..]);
            return Ok(self.encoded(out, att));
        }
        Ok(self.finish(att))
    }

    fn finish_plain(
        &mut self,
        kind: PacketKind,
        nsp: &Nsp,
        id: Option<AckId>,
        attachments: usize,
    ) -> Encoded {
        self.buf.clear();
        write_header(&mut self.buf, kind, attachments, nsp.as_str(), id);
        self.finish(Vec::new())
    }

    /// Copies the text out (one right-sized allocation); the buffer keeps its capacity.
    fn finish(&mut self, attachments: Vec<Bytes>) -> Encoded {
        self.encoded(String::from(self.buf.as_str()), attachments)
    }

    /// The packet of `text`, a string of its exact size: it becomes a `ByteString` without a
    /// copy, a UTF-8 check or a shared reference count.
    fn encoded(&self, text: String, attachments: Vec<Bytes>) -> Encoded {
        let plain = Encoded::from_parts(ByteString::from(text), attachments);
        match self.custom {
            Some(parser) => plain.with_custom(parser),
            None => plain,
        }
    }
}

fn binary_kind(kind: PacketKind, attachments: &[Bytes]) -> PacketKind {
    if attachments.is_empty() {
        kind
    } else {
        kind.with_binary()
    }
}

/// Serializes `value` as compact JSON with JavaScript number formatting, pulling binary values
/// out into `att` (`splice`: see [`Splice`]).
pub(crate) fn write_json<T: ?Sized + Serialize>(
    buf: &mut String,
    value: &T,
    att: &Attachments,
    splice: Splice,
) -> Result<(), EncodeError> {
    let mut ser = serde_json::Serializer::with_formatter(Refuse, JsonWriter::new(buf, splice));
    WithAttachments(value, att)
        .serialize(&mut ser)
        .map_err(EncodeError::Serialize)
}
