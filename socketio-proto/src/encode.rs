//! Encoding packets from serde values into a reusable buffer.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use serde::Serialize;

use crate::binary::{Attachments, WithAttachments};
use crate::decode::RawArgs;
use crate::json::JsFormatter;
use crate::packet::{is_reserved_event, write_header};
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
}

/// An encoded packet: the text message and its attachments, cheap to clone.
///
/// A broadcast encodes once and hands clones (reference counts, no copies) to every recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Encoded {
    text: ByteString,
    attachments: Vec<Bytes>,
}

impl Encoded {
    /// The Socket.IO packet text (the data of an Engine.IO message).
    pub fn text(&self) -> &ByteString {
        &self.text
    }

    /// The binary attachments, to send right after the text, in order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
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
    buf: BytesMut,
}

impl Encoder {
    /// An encoder with the given settings.
    pub fn new(config: EncoderConfig) -> Self {
        Encoder {
            config,
            buf: BytesMut::new(),
        }
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
    /// A tuple, array or `Vec` gives the argument list; `()` means no arguments; any other
    /// value is the one argument (so a lone `None` or `Value::Null` also means no arguments:
    /// write `(None::<T>,)` to send `null`).
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
            buf.put_u8(b'[');
            write_json(buf, name, att)?;
            let at = buf.len();
            write_json(buf, args, att)?;
            splice_args(buf, at);
            Ok(())
        })
    }

    /// ACK `id` with `args`, read as in [`Encoder::event`].
    pub fn ack<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        id: AckId,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        self.encode(PacketKind::Ack, nsp, Some(id), |buf, att| {
            let at = buf.len();
            write_json(buf, args, att)?;
            if &buf[at..] == b"null" {
                buf.truncate(at);
                buf.put_slice(b"[]");
            } else if buf[at] != b'[' {
                wrap_in_array(buf, at);
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
        let kind = binary_kind(PacketKind::Event, &args.attachments);
        write_header(
            &mut self.buf,
            kind,
            args.attachments.len(),
            nsp.as_str(),
            id,
        );
        self.buf.put_u8(b'[');
        write_json(&mut self.buf, name, &Attachments::default())?;
        if !args.is_empty() {
            self.buf.put_u8(b',');
        }
        self.buf.put_slice(args.elements.as_bytes());
        Ok(self.finish(args.attachments.clone()))
    }

    /// ACK `id` with arguments passed on unparsed (see [`RawArgs`]).
    pub fn ack_raw(&mut self, nsp: &Nsp, id: AckId, args: &RawArgs) -> Encoded {
        let kind = binary_kind(PacketKind::Ack, &args.attachments);
        write_header(
            &mut self.buf,
            kind,
            args.attachments.len(),
            nsp.as_str(),
            Some(id),
        );
        self.buf.put_u8(b'[');
        self.buf.put_slice(args.elements.as_bytes());
        self.finish(args.attachments.clone())
    }

    /// Writes the header for a non-binary `kind`, lets `body` write the JSON (collecting
    /// attachments), then turns the packet binary if any attachment was found.
    fn encode(
        &mut self,
        kind: PacketKind,
        nsp: &Nsp,
        id: Option<AckId>,
        body: impl FnOnce(&mut BytesMut, &Attachments) -> Result<(), EncodeError>,
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
            // after it (one move of the text, only for binary packets).
            let rest = self.buf.split_off(1);
            self.buf[0] = kind.with_binary().digit();
            self.buf
                .put_slice(itoa::Buffer::new().format(att.len()).as_bytes());
            self.buf.put_u8(b'-');
            self.buf.unsplit(rest);
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

    fn finish(&mut self, attachments: Vec<Bytes>) -> Encoded {
        let bytes = self.buf.split().freeze();
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
    buf: &mut BytesMut,
    value: &T,
    att: &Attachments,
) -> Result<(), EncodeError> {
    let mut ser = serde_json::Serializer::with_formatter(buf.writer(), JsFormatter);
    WithAttachments(value, att)
        .serialize(&mut ser)
        .map_err(EncodeError::Serialize)
}

/// `["name"` is followed at `at` by the serialized arguments. An array `[a,b]` becomes the rest
/// of the list (`,a,b]`), `[]` and `null` (from `()`) become `]`, and any other value is one
/// argument (`,v]`).
fn splice_args(buf: &mut BytesMut, at: usize) {
    if &buf[at..] == b"null" {
        buf.truncate(at);
        buf.put_u8(b']');
    } else if buf[at] == b'[' {
        if buf.len() == at + 2 {
            buf.truncate(at);
            buf.put_u8(b']');
        } else {
            buf[at] = b',';
        }
    } else {
        let rest = buf.split_off(at);
        buf.put_u8(b',');
        buf.unsplit(rest);
        buf.put_u8(b']');
    }
}

/// Wraps the value written at `at` in `[…]`.
fn wrap_in_array(buf: &mut BytesMut, at: usize) {
    let rest = buf.split_off(at);
    buf.put_u8(b'[');
    buf.unsplit(rest);
    buf.put_u8(b']');
}
