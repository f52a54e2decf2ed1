//! Custom parsers: a wire format of your own, as the reference's `parser` option allows.
//!
//! The machines work with packets of the default parser. A custom parser turns each packet,
//! given as [`PacketParts`] (kind, namespace, ack id, JSON data with placeholders where binary
//! values are, attachments), into the Engine.IO messages of its format, and a connection's
//! messages back into packets ([`CustomDecoder`], one per connection). Whatever it hands back
//! is checked by the default decoder's rules, so a custom parser cannot make the machines
//! accept what the default parser would refuse.
//!
//! A packet of a custom parser is encoded to the default form first and converted once, when
//! it is encoded (a broadcast hands the same messages to every recipient): custom parsers pay
//! one extra decode per packet for their freedom (the built-in parsers do not).
//!
//! ```
//! use engineio_proto::Message;
//! use socketio_proto::custom::{CustomDecoder, CustomParser, PacketParts};
//! use socketio_proto::{EncodeError, Encoder, EncoderConfig, Nsp, ParseError, Parser};
//!
//! /// The default parser's packets, each text message wrapped in `<` and `>`.
//! #[derive(Debug)]
//! struct Angle;
//!
//! impl CustomParser for Angle {
//!     fn name(&self) -> &str {
//!         "angle"
//!     }
//!     fn encode(&self, packet: PacketParts) -> Result<Vec<Message>, EncodeError> {
//!         let mut messages = packet.to_default_messages();
//!         if let Some(Message::Text(text)) = messages.first_mut() {
//!             *text = format!("<{text}>").into();
//!         }
//!         Ok(messages)
//!     }
//!     fn decoder(&self) -> Box<dyn CustomDecoder> {
//!         Box::new(AngleDecoder::default())
//!     }
//! }
//!
//! #[derive(Debug, Default)]
//! struct AngleDecoder(socketio_proto::Decoder);
//!
//! impl CustomDecoder for AngleDecoder {
//!     fn decode(&mut self, message: Message) -> Result<Option<PacketParts>, ParseError> {
//!         let packet = match message {
//!             Message::Text(text) => {
//!                 let inner = text.strip_prefix('<').and_then(|t| t.strip_suffix('>'));
//!                 let inner = inner.ok_or(ParseError::InvalidPayload)?;
//!                 self.0.decode_text(inner.into())?
//!             }
//!             Message::Binary(data) => self.0.decode_binary(data)?,
//!         };
//!         Ok(packet.into_packet().map(|p| PacketParts::from_packet(&p)))
//!     }
//! }
//!
//! static ANGLE: Angle = Angle;
//! let parser = Parser::custom(&ANGLE);
//! let mut enc = Encoder::new(EncoderConfig::default().with_parser(parser));
//! let packet = enc.event(&Nsp::main(), "hi", &(1,), None)?;
//! let messages: Vec<_> = packet.engineio_packets().collect();
//! assert_eq!(messages, [engineio_proto::Packet::Message(r#"<2["hi",1]>"#.into())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use engineio_proto::Message;

use crate::{AckId, EncodeError, Nsp, Packet, PacketKind, ParseError};

/// One packet, parser-neutral: what a custom parser writes and reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PacketParts {
    /// The kind, never a binary kind (binary is told by `attachments`).
    pub kind: PacketKind,
    /// The namespace.
    pub nsp: Nsp,
    /// The ack id.
    pub id: Option<AckId>,
    /// The data as JSON, with `{"_placeholder":true,"num":k}` where binary values are.
    pub data: Option<String>,
    /// The binary values, in placeholder order.
    pub attachments: Vec<Bytes>,
}

impl PacketParts {
    /// A packet from its parts (`kind` is taken without its binary flag).
    pub fn new(
        kind: PacketKind,
        nsp: Nsp,
        id: Option<AckId>,
        data: Option<String>,
        attachments: Vec<Bytes>,
    ) -> Self {
        PacketParts {
            kind: kind.without_binary(),
            nsp,
            id,
            data,
            attachments,
        }
    }

    /// The parts of a decoded packet (the msgpack parser's data as JSON with attachments).
    pub fn from_packet(packet: &Packet) -> Self {
        let data = packet.payload_text().map(|t| t.to_string());
        let attachments = match packet.raw_args() {
            Some(raw) if packet.payload_json().is_none() => {
                // The msgpack parser: arguments with their binary as attachments.
                let args = raw.to_json_array();
                let data = match packet.event_name() {
                    Some(name) => {
                        let name = serde_json::to_string(name).unwrap_or_default();
                        match args.strip_prefix('[').filter(|a| *a != "]") {
                            Some(rest) => format!("[{name},{rest}"),
                            None => format!("[{name}]"),
                        }
                    }
                    None => args,
                };
                return PacketParts::new(
                    packet.kind(),
                    packet.nsp_owned(),
                    packet.ack_id(),
                    Some(data),
                    raw.attachments().to_vec(),
                );
            }
            _ => packet.attachments().to_vec(),
        };
        PacketParts::new(
            packet.kind(),
            packet.nsp_owned(),
            packet.ack_id(),
            data,
            attachments,
        )
    }

    /// The packet as the default parser writes it: a text message, then the attachments.
    pub fn to_default_messages(&self) -> Vec<Message> {
        let kind = if self.attachments.is_empty() {
            self.kind
        } else {
            self.kind.with_binary()
        };
        let mut text = String::new();
        crate::packet::write_header(
            &mut text,
            kind,
            self.attachments.len(),
            self.nsp.as_str(),
            self.id,
        );
        if let Some(data) = &self.data {
            text.push_str(data);
        }
        std::iter::once(Message::Text(text.into()))
            .chain(self.attachments.iter().cloned().map(Message::Binary))
            .collect()
    }

    /// The packet, checked by the default decoder's rules.
    pub(crate) fn into_packet(self, max_attachments: usize) -> Result<Packet, ParseError> {
        let config = crate::DecoderConfig::default().with_max_attachments(max_attachments);
        let mut dec = crate::Decoder::new(config);
        let mut got = None;
        for message in self.to_default_messages() {
            got = match message {
                Message::Text(t) => dec.decode_text(t)?,
                Message::Binary(b) => dec.decode_binary(b)?,
            }
            .into_packet();
        }
        got.ok_or(ParseError::UnexpectedText)
    }
}

/// A wire format of your own (see the [module docs](self)). Give the machines a
/// `&'static` one: [`crate::Parser::custom`].
pub trait CustomParser: Send + Sync + fmt::Debug + 'static {
    /// A name, for logs.
    fn name(&self) -> &str;

    /// The Engine.IO messages carrying `packet`, in order.
    fn encode(&self, packet: PacketParts) -> Result<Vec<Message>, EncodeError>;

    /// A decoder for one connection.
    fn decoder(&self) -> Box<dyn CustomDecoder>;
}

/// A custom parser's reading side for one connection.
pub trait CustomDecoder: Send + fmt::Debug {
    /// Reads one Engine.IO message; the packet once it is complete. An error is fatal for the
    /// connection, as a decoding error is.
    fn decode(&mut self, message: Message) -> Result<Option<PacketParts>, ParseError>;
}

/// A `&'static` custom parser, compared by address.
#[derive(Clone, Copy)]
pub struct CustomRef(pub(crate) &'static dyn CustomParser);

impl CustomRef {
    /// The parser.
    pub fn get(self) -> &'static dyn CustomParser {
        self.0
    }

    fn addr(self) -> *const () {
        (self.0 as *const dyn CustomParser).cast::<()>()
    }
}

impl fmt::Debug for CustomRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom({})", self.0.name())
    }
}

impl PartialEq for CustomRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.addr(), other.addr())
    }
}

impl Eq for CustomRef {}

impl Hash for CustomRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addr().hash(state);
    }
}
