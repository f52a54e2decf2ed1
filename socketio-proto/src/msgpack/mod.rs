//! The msgpack parser, wire-compatible with `socket.io-msgpack-parser` 3.x (feature `msgpack`).
//!
//! Each packet is one msgpack map `{type, data, id, nsp}` in one binary Engine.IO message:
//! no header text and no attachments (binary values are msgpack `bin`, inline). The npm
//! package encodes with notepack.io 2.2: integers (and JavaScript numbers with no fractional
//! part) in their smallest integer form, other numbers as float64, `undefined` as fixext 1
//! `d4 00 00`, keys in the order the packet object was built. [`MsgpackEncoder`] writes what
//! a socket.io 4.8 server writes (keys in its order per packet kind, [`Side::Client`] in the
//! client's), and [`decode`] reads what either side writes, other keys (the client's
//! `options`) ignored.
//!
//! Decoding checks the packet as the npm parser's `checkPacket` does (type 0 to 4, string
//! namespace, integer id, data by type), plus the default parser's event-name rules (a string
//! or number first, not a reserved name): those are [`ParseError`]s, fatal for the connection.
//! The data is kept as msgpack and deserialized when asked for, straight into serde types:
//! strings borrowed, `bin` into [`crate::Binary`] as a view of the received buffer.
//!
//! ```
//! use socketio_proto::msgpack::{decode, MsgpackEncoder};
//! use socketio_proto::{AckId, Binary, Nsp};
//!
//! let mut enc = MsgpackEncoder::default();
//! let file = Binary::from(vec![1u8, 2, 3]);
//! let bytes = enc.event(&Nsp::from("/admin"), "upload", &("a.bin", &file), Some(AckId(7)))?;
//!
//! let packet = decode(bytes)?;
//! assert_eq!((packet.nsp(), packet.event_name()), ("/admin", Some("upload")));
//! assert_eq!(packet.ack_id(), Some(AckId(7)));
//! let (name, data): (String, Binary) = packet.args()?;
//! assert_eq!((name.as_str(), &data[..]), ("a.bin", &[1u8, 2, 3][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod de;
mod mixed;
mod ser;

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{Deserialize, DeserializeSeed};
use serde::Serialize;

use crate::decode::ArgsSeed;
use crate::shape::{top_level, TopLevel};
use crate::{is_reserved_event, AckId, ArgsError, EncodeError, Nsp, PacketKind, ParseError};
use de::{Head, MsgpackDe, Reader};
pub(crate) use mixed::Mixed;

/// A msgpack (de)serialization error: malformed msgpack (a protocol violation, fatal as a
/// decoding error is) or data that does not fit the requested type.
///
/// Boxed: every (de)serializer call returns a `Result` with it, which stays one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
    syntax: bool,
    msg: std::borrow::Cow<'static, str>,
}

impl Error {
    #[cold]
    fn syntax(msg: &'static str) -> Self {
        Error(Box::new(ErrorInner {
            syntax: true,
            msg: msg.into(),
        }))
    }

    #[cold]
    fn truncated() -> Self {
        Error::syntax("truncated msgpack")
    }

    #[cold]
    fn data(msg: String) -> Self {
        Error(Box::new(ErrorInner {
            syntax: false,
            msg: msg.into(),
        }))
    }

    /// Whether the bytes are not well-formed msgpack (or not UTF-8 where a string is).
    pub fn is_syntax(&self) -> bool {
        self.0.syntax
    }

    fn into_message(self) -> String {
        self.0.msg.into_owned()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.msg)
    }
}

impl std::error::Error for Error {}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::data(msg.to_string())
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::data(msg.to_string())
    }
}

/// A decoded msgpack packet: the header fields read, the data kept as msgpack bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgpackPacket {
    buf: Bytes,
    kind: PacketKind,
    nsp: Nsp,
    id: Option<AckId>,
    /// Where the data item starts, if the packet has data.
    data_at: Option<usize>,
    /// The event name (a number name as its JavaScript text), for events.
    event: Option<ByteString>,
}

/// Decodes one packet (one binary Engine.IO message).
pub fn decode(buf: Bytes) -> Result<MsgpackPacket, ParseError> {
    let bad = |_: Error| ParseError::InvalidMsgpack;
    let mut r = Reader::new(&buf);
    let Head::Map(n) = r.head().map_err(bad)? else {
        return Err(ParseError::InvalidPayload);
    };
    // JavaScript objects keep the last of repeated keys.
    let (mut kind, mut nsp, mut id, mut data_at) = (None, None, None, None);
    for _ in 0..n {
        let key = match r.head().map_err(bad)? {
            Head::Str(a, b) => &buf[a..b],
            _ => {
                r.skip().map_err(bad)?;
                r.skip().map_err(bad)?;
                continue;
            }
        };
        let at = r.pos;
        let head = r.head().map_err(bad)?;
        match key {
            b"type" => kind = Some(head),
            b"nsp" => nsp = Some(head),
            b"id" => id = Some(head),
            b"data" => data_at = (head != Head::Undefined).then_some(at),
            _ => {}
        }
        // What the head left: a container's items.
        match head {
            Head::Array(n) => r.skip_items(u64::from(n)).map_err(bad)?,
            Head::Map(n) => r.skip_items(2 * u64::from(n)).map_err(bad)?,
            _ => {}
        }
    }
    if r.pos != buf.len() {
        return Err(ParseError::InvalidMsgpack);
    }
    // Checked once every key is read: the last of repeated keys is the one that counts.
    let kind = match kind {
        Some(Head::Uint(t)) if t <= 4 => {
            PacketKind::from_digit(b'0' + t as u8).ok_or(ParseError::UnknownType(t as u8))?
        }
        Some(Head::Uint(t)) => return Err(ParseError::UnknownType(t.min(255) as u8)),
        _ => return Err(ParseError::UnknownType(0xff)),
    };
    let id = match id {
        None | Some(Head::Undefined) => None,
        Some(Head::Uint(n)) => Some(AckId(n)),
        // A negative id, or an integral float beyond 64 bits: no ack id of ours.
        Some(Head::Int(_)) => return Err(ParseError::AckIdOverflow),
        Some(Head::Float(f)) if f.fract() == 0.0 => return Err(ParseError::AckIdOverflow),
        Some(_) => return Err(ParseError::InvalidPayload),
    };
    let Some(Head::Str(a, b)) = nsp else {
        return Err(ParseError::InvalidPayload);
    };
    // Views of the message, not copies.
    let text = |a: usize, b: usize| {
        ByteString::try_from(buf.slice(a..b)).map_err(|_| ParseError::InvalidMsgpack)
    };
    let nsp = match &buf[a..b] {
        b"/" => Nsp::main(),
        _ => Nsp::from(text(a, b)?),
    };
    let data_head = match data_at {
        Some(at) => Some(Reader { buf: &buf, pos: at }.head().map_err(bad)?),
        None => None,
    };
    let mut event = None;
    let ok = match (kind, data_head) {
        (PacketKind::Connect, None | Some(Head::Map(_))) => true,
        (PacketKind::Disconnect, None) => true,
        (PacketKind::ConnectError, Some(Head::Str(..) | Head::Map(_))) => true,
        (PacketKind::Ack, Some(Head::Array(_))) => true,
        (PacketKind::Event, Some(Head::Array(n))) if n > 0 => {
            let mut r = Reader {
                buf: &buf,
                pos: data_at.unwrap_or(0),
            };
            r.head().map_err(bad)?;
            let name = match r.head().map_err(bad)? {
                Head::Str(a, b) => text(a, b)?,
                Head::Uint(n) => ByteString::from(n.to_string()),
                Head::Int(n) => ByteString::from(n.to_string()),
                Head::Float(f) => {
                    let mut text = String::new();
                    crate::json::write_js_number(&mut text, f);
                    ByteString::from(text)
                }
                _ => return Err(ParseError::InvalidPayload),
            };
            if is_reserved_event(&name) {
                return Err(ParseError::ReservedEventName);
            }
            event = Some(name);
            true
        }
        _ => false,
    };
    if !ok {
        return Err(ParseError::InvalidPayload);
    }
    Ok(MsgpackPacket {
        kind,
        nsp,
        id,
        data_at,
        event,
        buf,
    })
}

impl MsgpackPacket {
    /// The packet kind (never a binary kind: msgpack carries binary inline).
    pub fn kind(&self) -> PacketKind {
        self.kind
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        self.nsp.as_str()
    }

    /// The namespace.
    pub fn nsp_owned(&self) -> Nsp {
        self.nsp.clone()
    }

    /// The ack id.
    pub fn ack_id(&self) -> Option<AckId> {
        self.id
    }

    /// For an EVENT: its name.
    pub fn event_name(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The message as received.
    pub fn bytes(&self) -> &Bytes {
        &self.buf
    }

    /// The arguments of an event (after its name) or an ack as `T`, read as a JavaScript
    /// handler's parameters, by the same rules as [`crate::Packet::args`].
    pub fn args<'de, T: Deserialize<'de>>(&'de self) -> Result<T, ArgsError> {
        let skip = usize::from(self.event.is_some());
        let seed = ArgsSeed {
            skip,
            marker: std::marker::PhantomData,
        };
        match self.data_at {
            Some(at) => Ok(seed.deserialize(&mut MsgpackDe::new(&self.buf, at))?),
            // No data: no arguments.
            None => Ok(seed.deserialize(&mut MsgpackDe::new(&EMPTY_ARRAY, 0))?),
        }
    }

    /// The arguments as JSON values (`bin` values become arrays of numbers, as serde_json
    /// writes bytes).
    pub fn args_value(&self) -> Result<Vec<serde_json::Value>, ArgsError> {
        let crate::Args(all) = self.args::<crate::Args<serde_json::Value>>()?;
        Ok(all)
    }

    /// Whether the packet has data.
    pub fn has_data(&self) -> bool {
        self.data_at.is_some()
    }

    /// The data as JSON text (`bin` values as arrays of numbers), for a CONNECT's auth.
    pub(crate) fn data_json(&self) -> Option<String> {
        let v = self.data::<Mixed>().ok()??;
        serde_json::to_string(&v).ok()
    }

    /// The arguments as the default parser's raw arguments: JSON elements, `bin` values as
    /// attachments (placeholders), for relays written against [`crate::RawArgs`].
    pub fn raw_args(&self) -> Option<crate::RawArgs> {
        if !matches!(self.kind, PacketKind::Event | PacketKind::Ack) {
            return None;
        }
        let crate::Args(items) = self.args::<crate::Args<Mixed>>().ok()?;
        crate::RawArgs::from_values(&items).ok()
    }

    /// Checks the data in full: well-formed (checked when decoded) and every string UTF-8.
    pub fn validate(&self) -> Result<(), ParseError> {
        let Some(at) = self.data_at else {
            return Ok(());
        };
        let mut r = Reader {
            buf: &self.buf,
            pos: at,
        };
        let mut left: u64 = 1;
        while left > 0 {
            left -= 1;
            match r.head().map_err(|_| ParseError::InvalidMsgpack)? {
                Head::Array(n) => left += u64::from(n),
                Head::Map(n) => left += 2 * u64::from(n),
                Head::Str(a, b) => {
                    r.str_at(a, b).map_err(|_| ParseError::InvalidMsgpack)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The whole data item as `T`: a CONNECT's auth, a CONNECT_ERROR's data, an event's whole
    /// array (name included). `Ok(None)` without data.
    pub fn data<'de, T: Deserialize<'de>>(&'de self) -> Result<Option<T>, ArgsError> {
        let Some(at) = self.data_at else {
            return Ok(None);
        };
        T::deserialize(&mut MsgpackDe::new(&self.buf, at))
            .map(Some)
            .map_err(ArgsError::from)
    }
}

/// An encoded EVENT with one more string at the end of its data array (connection state
/// recovery's offset); `None` if `bytes` is not a map with a data array.
pub(crate) fn with_last_arg(bytes: &Bytes, arg: &str) -> Option<Bytes> {
    let mut r = Reader::new(bytes);
    let Head::Map(n) = r.head().ok()? else {
        return None;
    };
    for _ in 0..n {
        let key = r.head().ok()?;
        let at = r.pos;
        if let (Head::Str(a, b), Head::Array(count)) = (key, r.head().ok()?) {
            if &bytes[a..b] == b"data" {
                let items = r.pos;
                r.pos = at;
                r.skip().ok()?;
                let end = r.pos;
                let mut out = Vec::with_capacity(bytes.len() + arg.len() + 10);
                out.extend_from_slice(&bytes[..at]);
                ser::write_array_len(&mut out, count as usize + 1);
                out.extend_from_slice(&bytes[items..end]);
                ser::write_str(&mut out, arg);
                out.extend_from_slice(&bytes[end..]);
                return Some(Bytes::from(out));
            }
        }
        r.pos = at;
        r.skip().ok()?;
    }
    None
}

static EMPTY_ARRAY: Bytes = Bytes::from_static(&[0x90]);

/// Which side's key order [`MsgpackEncoder`] writes (the decoders take either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    /// A socket.io server's: `{type, data, id?, nsp}` for events, `{id, type, data, nsp}` for
    /// acks.
    #[default]
    Server,
    /// socket.io-client's: `{type, data, id?, nsp}` for events (without its `options`),
    /// `{type, id, data, nsp}` for acks.
    Client,
}

/// Writes packets as msgpack, reusing one buffer.
#[derive(Debug, Clone, Default)]
pub struct MsgpackEncoder {
    side: Side,
    buf: Vec<u8>,
}

impl MsgpackEncoder {
    /// An encoder writing `side`'s key order.
    pub fn new(side: Side) -> Self {
        MsgpackEncoder {
            side,
            buf: Vec::new(),
        }
    }

    fn finish(&mut self) -> Bytes {
        // Small packets are copied out (the buffer keeps its capacity); a large one takes the
        // buffer itself, and the next packet starts a new one of that size.
        if self.buf.len() < 4096 {
            let out = Bytes::copy_from_slice(&self.buf);
            self.buf.clear();
            return out;
        }
        let next = Vec::with_capacity(self.buf.len());
        Bytes::from(std::mem::replace(&mut self.buf, next))
    }

    fn start(&mut self, fields: usize) {
        self.buf.clear();
        ser::write_map_len(&mut self.buf, fields);
    }

    fn field_type(&mut self, kind: PacketKind) {
        ser::write_str(&mut self.buf, "type");
        ser::write_uint(&mut self.buf, u64::from(kind.digit() - b'0'));
    }

    fn field_id(&mut self, id: AckId) {
        ser::write_str(&mut self.buf, "id");
        ser::write_uint(&mut self.buf, id.0);
    }

    fn field_nsp(&mut self, nsp: &Nsp) {
        ser::write_str(&mut self.buf, "nsp");
        ser::write_str(&mut self.buf, nsp.as_str());
    }

    fn field_data<T: ?Sized + Serialize>(&mut self, data: &T) -> Result<(), EncodeError> {
        ser::write_str(&mut self.buf, "data");
        ser::write(&mut self.buf, data).map_err(|e| EncodeError::Msgpack(e.into_message()))
    }

    /// CONNECT, with the auth (client) or `{sid}` (server) when given.
    pub fn connect<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        data: Option<&T>,
    ) -> Result<Bytes, EncodeError> {
        self.start(2 + usize::from(data.is_some()));
        self.field_type(PacketKind::Connect);
        if let Some(d) = data {
            self.field_data(d)?;
        }
        self.field_nsp(nsp);
        Ok(self.finish())
    }

    /// DISCONNECT from `nsp`.
    pub fn disconnect(&mut self, nsp: &Nsp) -> Bytes {
        self.start(2);
        self.field_type(PacketKind::Disconnect);
        self.field_nsp(nsp);
        self.finish()
    }

    /// CONNECT_ERROR with its data (`{message, data?}`).
    pub fn connect_error<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        data: &T,
    ) -> Result<Bytes, EncodeError> {
        self.start(3);
        self.field_type(PacketKind::ConnectError);
        self.field_data(data)?;
        self.field_nsp(nsp);
        Ok(self.finish())
    }

    /// EVENT `name` with `args` read as [`crate::Encoder::event`] reads them, asking for an ack
    /// when `id` is set.
    pub fn event<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        name: &str,
        args: &T,
        id: Option<AckId>,
    ) -> Result<Bytes, EncodeError> {
        if is_reserved_event(name) {
            return Err(EncodeError::ReservedEventName);
        }
        self.start(3 + usize::from(id.is_some()));
        self.field_type(PacketKind::Event);
        ser::write_str(&mut self.buf, "data");
        self.write_list(Some(name), args)?;
        if let Some(id) = id {
            self.field_id(id);
        }
        self.field_nsp(nsp);
        Ok(self.finish())
    }

    /// ACK `id` with `args`, an argument list read as in [`crate::Encoder::ack`].
    pub fn ack<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        id: AckId,
        args: &T,
    ) -> Result<Bytes, EncodeError> {
        self.start(4);
        match self.side {
            Side::Server => {
                self.field_id(id);
                self.field_type(PacketKind::Ack);
            }
            Side::Client => {
                self.field_type(PacketKind::Ack);
                self.field_id(id);
            }
        }
        ser::write_str(&mut self.buf, "data");
        self.write_list(None, args)?;
        self.field_nsp(nsp);
        Ok(self.finish())
    }

    /// Writes the argument array: `name` first if given, then `args` as an argument list.
    fn write_list<T: ?Sized + Serialize>(
        &mut self,
        name: Option<&str>,
        args: &T,
    ) -> Result<(), EncodeError> {
        let err = |e: Error| EncodeError::Msgpack(e.into_message());
        let named = usize::from(name.is_some());
        match top_level(args) {
            TopLevel::List => {
                let at = self.buf.len();
                ser::write(&mut self.buf, args).map_err(err)?;
                if let Some(name) = name {
                    let (n, size) = ser::array_len_at(&self.buf, at).ok_or(
                        EncodeError::Msgpack("an argument list that is not a list".into()),
                    )?;
                    let mut head = Vec::with_capacity(5 + name.len() + 5);
                    ser::write_array_len(&mut head, n + 1);
                    ser::write_str(&mut head, name);
                    self.buf.splice(at..at + size, head);
                }
            }
            TopLevel::Nothing => {
                ser::write_array_len(&mut self.buf, named);
                if let Some(name) = name {
                    ser::write_str(&mut self.buf, name);
                }
            }
            TopLevel::One => {
                ser::write_array_len(&mut self.buf, named + 1);
                if let Some(name) = name {
                    ser::write_str(&mut self.buf, name);
                }
                ser::write(&mut self.buf, args).map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_notepack_forms() {
        let cases: &[(f64, &[u8])] = &[
            (0.0, &[0x00]),
            (-0.0, &[0x00]),
            (127.0, &[0x7f]),
            (128.0, &[0xcc, 0x80]),
            (300.0, &[0xcd, 0x01, 0x2c]),
            (70000.0, &[0xce, 0x00, 0x01, 0x11, 0x70]),
            (-1.0, &[0xff]),
            (-33.0, &[0xd0, 0xdf]),
            (1.5, &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
        ];
        for (v, bytes) in cases {
            let mut out = Vec::new();
            ser::write(&mut out, v).unwrap();
            assert_eq!(&out[..], *bytes, "{v}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = vec![0x91u8; 10_000];
        let mut de = MsgpackDe::from_slice(&deep);
        let r: Result<serde_json::Value, _> = Deserialize::deserialize(&mut de);
        assert!(r.unwrap_err().is_syntax());
    }
}
