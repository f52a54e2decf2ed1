//! Encoding packets from serde values into a reusable buffer.

use bytes::Bytes;
use bytestring::ByteString;
use serde::Serialize;

use crate::binary::{Attachments, WithAttachments};
use crate::decode::RawArgs;
use crate::json::JsFormatter;
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
    /// The value could not be serialized as msgpack (the msgpack parser).
    #[error("cannot serialize as msgpack: {0}")]
    Msgpack(String),
}

/// An encoded packet: the text message and its attachments, cheap to clone.
///
/// A broadcast encodes once and hands clones (reference counts, no copies) to every recipient.
/// It serializes with serde (text, then attachments as byte arrays), so a broadcast backend can
/// carry it between servers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Encoded {
    text: ByteString,
    attachments: Vec<Bytes>,
}

impl Encoded {
    /// An encoded packet from its text and attachments (as a broadcast backend carries them).
    pub fn from_parts(text: ByteString, attachments: Vec<Bytes>) -> Self {
        Encoded { text, attachments }
    }

    /// Whether this is an EVENT or BINARY_EVENT packet.
    pub fn is_event(&self) -> bool {
        matches!(self.text.as_bytes().first(), Some(b'2' | b'5'))
    }

    /// The Socket.IO packet text (the data of an Engine.IO message).
    pub fn text(&self) -> &ByteString {
        &self.text
    }

    /// The binary attachments, to send right after the text, in order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// This EVENT with one more string argument at the end: connection state recovery appends
    /// the packet's offset this way (`42["a",1]` -> `42["a",1,"off"]`). `None` if the packet
    /// is not an event with an argument list.
    pub fn with_last_arg(&self, arg: &str) -> Option<Encoded> {
        let body = self.text.strip_suffix(']')?;
        let json = serde_json::to_string(arg).ok()?;
        let mut text = String::with_capacity(self.text.len() + json.len() + 1);
        text.push_str(body);
        text.push(',');
        text.push_str(&json);
        text.push(']');
        Some(Encoded {
            text: ByteString::from(text),
            attachments: self.attachments.clone(),
        })
    }

    /// The Engine.IO messages to send, in order: the text, then each attachment.
    pub fn engineio_packets(&self) -> impl Iterator<Item = engineio_proto::Packet> + '_ {
        std::iter::once(engineio_proto::Packet::Message(self.text.clone())).chain(
            self.attachments
                .iter()
                .cloned()
                .map(engineio_proto::Packet::Binary),
        )
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncoderConfig {
    /// The most attachments one packet may carry (the peer's `maxAttachments`, 10 by default).
    pub max_attachments: usize,
}

impl EncoderConfig {
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
    buf: Vec<u8>,
}

impl Encoder {
    /// An encoder with the given settings.
    pub fn new(config: EncoderConfig) -> Self {
        Encoder {
            config,
            buf: Vec::new(),
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
        self.encode(PacketKind::Connect, nsp, None, |buf, att| match payload {
            Some(p) => write_json(buf, p, att),
            None => Ok(()),
        })
    }

    /// DISCONNECT from `nsp`.
    pub fn disconnect(&mut self, nsp: &Nsp) -> Encoded {
        self.finish_plain(PacketKind::Disconnect, nsp, None, 0)
    }

    /// CONNECT_ERROR on `nsp` with its payload (v5: `{"message":…,"data":…}`).
    pub fn connect_error<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        payload: &T,
    ) -> Result<Encoded, EncodeError> {
        self.encode(PacketKind::ConnectError, nsp, None, |buf, att| {
            write_json(buf, payload, att)
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
        self.encode(PacketKind::Event, nsp, id, |buf, att| {
            buf.push(b'[');
            write_json(buf, name, att)?;
            match top_level(args) {
                // `[a,b]` becomes the rest of the list: `,a,b]`, or `]` for `[]`.
                TopLevel::List => {
                    let at = buf.len();
                    write_json(buf, args, att)?;
                    if buf.len() == at + 2 {
                        buf.truncate(at);
                        buf.push(b']');
                    } else {
                        buf[at] = b',';
                    }
                }
                TopLevel::Nothing => buf.push(b']'),
                TopLevel::One => {
                    buf.push(b',');
                    write_json(buf, args, att)?;
                    buf.push(b']');
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
        self.encode(PacketKind::Ack, nsp, Some(id), |buf, att| {
            match top_level(args) {
                TopLevel::List => write_json(buf, args, att)?,
                TopLevel::Nothing => buf.extend_from_slice(b"[]"),
                TopLevel::One => {
                    buf.push(b'[');
                    write_json(buf, args, att)?;
                    buf.push(b']');
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
        self.raw(PacketKind::Event, nsp, id, args, |buf| {
            write_json(buf, name, &Attachments::default())?;
            if !args.is_empty() {
                buf.push(b',');
            }
            Ok(())
        })
    }

    /// ACK `id` with arguments passed on unparsed (see [`RawArgs`]).
    pub fn ack_raw(&mut self, nsp: &Nsp, id: AckId, args: &RawArgs) -> Encoded {
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
        before: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
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
        self.buf.push(b'[');
        before(&mut self.buf)?;
        self.buf.extend_from_slice(args.elements.as_bytes());
        Ok(self.finish(args.attachments.clone()))
    }

    /// Writes the header for a non-binary `kind`, lets `body` write the JSON (collecting
    /// attachments), then turns the packet binary if any attachment was found.
    fn encode(
        &mut self,
        kind: PacketKind,
        nsp: &Nsp,
        id: Option<AckId>,
        body: impl FnOnce(&mut Vec<u8>, &Attachments) -> Result<(), EncodeError>,
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
            let count = count.format(att.len()).as_bytes();
            let mut out = Vec::with_capacity(self.buf.len() + count.len() + 1);
            out.push(kind.with_binary().digit());
            out.extend_from_slice(count);
            out.push(b'-');
            out.extend_from_slice(&self.buf[1..]);
            return Ok(Self::encoded(Bytes::from(out), att));
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
        Self::encoded(Bytes::copy_from_slice(&self.buf), attachments)
    }

    fn encoded(bytes: Bytes, attachments: Vec<Bytes>) -> Encoded {
        // Everything written came from `&str`s and serde_json, so this check cannot fail; it is
        // kept because the crates forbid `unsafe`.
        let text = ByteString::try_from(bytes).unwrap_or_default();
        Encoded { text, attachments }
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
/// out into `att`.
fn write_json<T: ?Sized + Serialize>(
    buf: &mut Vec<u8>,
    value: &T,
    att: &Attachments,
) -> Result<(), EncodeError> {
    let mut ser = serde_json::Serializer::with_formatter(buf, JsFormatter);
    WithAttachments(value, att)
        .serialize(&mut ser)
        .map_err(EncodeError::Serialize)
}
