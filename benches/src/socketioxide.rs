//! `socketioxide-parser-common` (socketioxide's default parser) driven the way socketioxide's
//! server drives it.
//!
//! - Receiving: each Engine.IO text message goes to [`Parse::decode_str`] with the socket's
//!   [`ParserState`]; a binary packet answers `NeedsMoreBinaryData` and the following binary
//!   messages go to [`Parse::decode_bin`] until the packet is complete. A handler's `Data<T>`
//!   extractor then calls [`Parse::decode_value`] on the packet's value (`with_event` for
//!   events, not for acks), and a namespace's connect handler reads the auth object with
//!   [`Parse::decode_default`].
//! - Sending: `emit` serializes with [`Parse::encode_value`] (the event name first), wraps the
//!   value in a [`SxPacket`] for the namespace and turns it into its wire value with
//!   [`Parse::encode`]; an ack answer is `encode_value(data, None)` in [`SxPacket::ack`]; a
//!   CONNECT payload is [`Parse::encode_default`].
//!
//! Everything here is synchronous in socketioxide too; no executor is involved.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
pub use socketioxide_core::packet::{Packet as SxPacket, PacketData};
use socketioxide_core::parser::{Parse, ParseConfig, ParseError, ParserError, ParserState};
pub use socketioxide_core::{Str, Value as SxValue};
use socketioxide_parser_common::CommonParser;

/// One socket's receiving side: the parser settings and the partial-packet state.
#[derive(Debug, Default)]
pub struct SxDecoder {
    config: ParseConfig,
    state: ParserState,
}

impl SxDecoder {
    /// Feeds a text message and its attachments; returns the complete packet.
    pub fn decode(&self, text: Str, attachments: &[Bytes]) -> Result<SxPacket, ParseError> {
        match CommonParser.decode_str(&self.config, &self.state, text) {
            Err(ParseError::NeedsMoreBinaryData) => {}
            done => return done,
        }
        for data in attachments {
            match CommonParser.decode_bin(&self.config, &self.state, data.clone()) {
                Err(ParseError::NeedsMoreBinaryData) => {}
                done => return done,
            }
        }
        Err(ParseError::NeedsMoreBinaryData)
    }
}

/// The payload value of a decoded packet (arguments with their attachments, or a CONNECT's
/// auth), as the server hands it to the handler's extractors.
pub fn payload(packet: &mut SxPacket) -> Option<&mut SxValue> {
    match &mut packet.inner {
        PacketData::Event(v, _)
        | PacketData::BinaryEvent(v, _)
        | PacketData::EventAck(v, _)
        | PacketData::BinaryAck(v, _)
        | PacketData::Connect(Some(v)) => Some(v),
        _ => None,
    }
}

/// An event handler's `Data<T>`: the arguments after the event name.
pub fn event_args<'de, T: Deserialize<'de>>(value: &'de mut SxValue) -> Result<T, ParserError> {
    CommonParser.decode_value(value, true)
}

/// An ack callback's `Data<T>`: the ack's arguments.
pub fn ack_args<'de, T: Deserialize<'de>>(value: &'de mut SxValue) -> Result<T, ParserError> {
    CommonParser.decode_value(value, false)
}

/// A connect handler's auth object.
pub fn connect_auth<'de, T: Deserialize<'de>>(value: &'de SxValue) -> Result<T, ParserError> {
    CommonParser.decode_default(Some(value))
}

/// `emit(event, data)` on namespace `ns`, with an ack id when the sender waits for an answer.
pub fn encode_event<T: ?Sized + Serialize>(
    ns: &Str,
    event: &str,
    data: &T,
    ack: Option<i64>,
) -> Result<SxValue, ParserError> {
    let value = CommonParser.encode_value(data, Some(event))?;
    let mut packet = SxPacket::event(ns.clone(), value);
    if let Some(id) = ack {
        packet.inner.set_ack_id(id);
    }
    Ok(CommonParser.encode(packet))
}

/// The answer `data` to ack `id` on namespace `ns`.
pub fn encode_ack<T: ?Sized + Serialize>(
    ns: &Str,
    id: i64,
    data: &T,
) -> Result<SxValue, ParserError> {
    let value = CommonParser.encode_value(data, None)?;
    Ok(CommonParser.encode(SxPacket::ack(ns.clone(), value, id)))
}

/// A CONNECT to namespace `ns` with `auth`.
pub fn encode_connect<T: ?Sized + Serialize>(ns: &Str, auth: &T) -> Result<SxValue, ParserError> {
    let value = CommonParser.encode_default(auth)?;
    Ok(CommonParser.encode(SxPacket::connect(ns.clone(), Some(value))))
}

/// The text and attachments of an encoded value.
pub fn wire(value: &SxValue) -> (&str, Vec<Bytes>) {
    match value {
        SxValue::Str(text, bins) => (
            text.as_str(),
            bins.iter().flatten().cloned().collect::<Vec<Bytes>>(),
        ),
        SxValue::Bytes(_) => ("", Vec::new()),
    }
}
