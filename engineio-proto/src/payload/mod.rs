//! Polling payloads: several packets in one HTTP body.
//!
//! - v4 ([`v4`]): text packets joined by the record separator `0x1E`, binary as `b<base64>`.
//! - v3 ([`v3`]): `<length>:<packet>` records whose lengths count UTF-16 code units, binary as
//!   `b4<base64>`; or, for clients that did not ask for `b64`, the binary payload format
//!   (`0x00`/`0x01` kind byte, length digits, `0xFF`, body).
//!
//! [`decode_payload`] and [`encode_payload`] pick the right format for a session.
//!
//! # Which decoder to use
//!
//! - [`decode_payload`]: any revision and body format, all or nothing: the packets come as a
//!   `Vec` only when every element is valid. This is the reference's rule (a malformed POST
//!   is refused whole and closes the session) and what this crate's [`crate::server::Session`]
//!   and [`crate::client::Client`] use. It allocates the `Vec` (the packets themselves are
//!   slices of the body, not copies).
//! - [`v4::PayloadIter`]: a v4 text body, streamed: each packet is decoded when the
//!   iterator reaches it and nothing is collected. Packets before a malformed element have
//!   already come out when its error does; use it when you act on packets as they come and
//!   close on the first error, or only count or inspect them.

pub mod v3;
pub mod v4;

use bytes::{Bytes, BytesMut};

use crate::{DecodeError, EngineIoVersion, Packet};

/// The body format of a polling payload; tells the HTTP content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// A text body: `Content-Type: text/plain; charset=UTF-8`.
    Text,
    /// A v3 binary payload: `Content-Type: application/octet-stream`.
    Binary,
}

impl PayloadFormat {
    /// The `Content-Type` header value the reference server uses for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            PayloadFormat::Text => "text/plain; charset=UTF-8",
            PayloadFormat::Binary => "application/octet-stream",
        }
    }

    /// The format of a POST body from its `Content-Type` header value.
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        match content_type {
            Some(ct) if ct.trim_start().starts_with("application/octet-stream") => {
                PayloadFormat::Binary
            }
            _ => PayloadFormat::Text,
        }
    }
}

/// Decodes a polling body into its packets; any malformed element rejects the whole body.
/// To stream a v4 body without collecting it, see [`v4::PayloadIter`] (and the [module
/// docs](self) on which to use).
///
/// `format` comes from the request's content type ([`PayloadFormat::from_content_type`]); a
/// binary body is only valid in v3. A body longer than `max_payload` bytes is refused with
/// [`DecodeError::PayloadTooLarge`] before anything else is looked at.
pub fn decode_payload(
    version: EngineIoVersion,
    format: PayloadFormat,
    body: Bytes,
    max_payload: usize,
) -> Result<Vec<Packet>, DecodeError> {
    match (version, format) {
        (EngineIoVersion::V4, PayloadFormat::Text) => v4::decode_payload(body, max_payload),
        (EngineIoVersion::V4, PayloadFormat::Binary) => {
            if body.len() > max_payload {
                Err(DecodeError::PayloadTooLarge)
            } else {
                Err(DecodeError::BinaryPayloadV4)
            }
        }
        (EngineIoVersion::V3, PayloadFormat::Text) => v3::decode_text_payload(body, max_payload),
        (EngineIoVersion::V3, PayloadFormat::Binary) => {
            v3::decode_binary_payload(body, max_payload)
        }
    }
}

/// How many of `packets` (at least one, if any) fit in one polling body of at most
/// `max_payload` bytes: what a server answers a long-poll with, and what a client posts
/// (a peer's limit). Counted in bytes, which bounds v3's UTF-16 lengths from above.
pub(crate) fn batch_len<'a>(
    version: EngineIoVersion,
    packets: impl IntoIterator<Item = &'a Packet>,
    max_payload: usize,
) -> usize {
    let mut total = 0usize;
    let mut n = 0;
    for p in packets {
        let len = crate::packet::text_packet_len(version, p);
        let framed = match version {
            // `0x1E` between packets.
            EngineIoVersion::V4 => len + usize::from(n > 0),
            // `<length>:` before each packet.
            EngineIoVersion::V3 => len + 1 + decimal_digits(len),
        };
        if n > 0 && total.saturating_add(framed) > max_payload {
            break;
        }
        total = total.saturating_add(framed);
        n += 1;
    }
    n
}

fn decimal_digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Appends the polling body for `packets` to `buf` and returns its format.
///
/// `binary` says whether the client takes binary payloads (false when it connected with
/// `b64=1`). v4 bodies are always text. A v3 body is binary only when `binary` is true and a
/// packet is binary, as the reference server does.
pub fn encode_payload<'a, I>(
    version: EngineIoVersion,
    packets: I,
    binary: bool,
    buf: &mut BytesMut,
) -> PayloadFormat
where
    I: IntoIterator<Item = &'a Packet>,
    I::IntoIter: Clone,
{
    let packets = packets.into_iter();
    match version {
        EngineIoVersion::V4 => {
            v4::encode_payload(packets, buf);
            PayloadFormat::Text
        }
        EngineIoVersion::V3 if binary && packets.clone().any(Packet::is_binary) => {
            v3::encode_binary_payload(packets, buf);
            PayloadFormat::Binary
        }
        EngineIoVersion::V3 => {
            v3::encode_text_payload(packets, buf);
            PayloadFormat::Text
        }
    }
}
