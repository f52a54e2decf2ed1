//! Binary attachments: the [`Binary`] type, placeholder extraction when serializing, placeholder
//! substitution when deserializing, and placeholder validation.
//!
//! A packet whose arguments hold binary values is sent as a text header where each value is
//! replaced by `{"_placeholder":true,"num":k}`, followed by the values as separate binary
//! messages. [`Binary`] crosses serde without copying its bytes: its `Serialize` and
//! `Deserialize` implementations meet this crate's serializer and deserializer through a private
//! newtype name and a per-thread slot that holds one `Bytes` for the duration of one call.
//! With any other serde format, `Binary` behaves like a byte buffer.

mod check;
mod de;
mod ser;

pub(crate) use check::{PlaceholderCheck, PLACEHOLDER_ERROR};
pub(crate) use de::BinDe;
#[cfg(feature = "msgpack")]
pub(crate) use de::UnitDe;
pub(crate) use ser::{Attachments, WithAttachments};

use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::de::{self as serde_de, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

/// The newtype name through which [`Binary`] and this crate's (de)serializers recognise each
/// other.
pub(super) const MAGIC: &str = "$socketio_proto::Binary";

thread_local! {
    /// Set while this crate's serializer asks a `Binary` to hand over its bytes.
    pub(super) static CAPTURE: Cell<bool> = const { Cell::new(false) };
    /// The `Bytes` in transit between a `Binary` and this crate's (de)serializer.
    pub(super) static SLOT: Cell<Option<Bytes>> = const { Cell::new(None) };
}

/// Binary data in event arguments, carried as an attachment without copying.
///
/// Use it in argument types (`(String, Binary)`, or a struct field) on both sides: encoding
/// moves a reference-counted handle to the bytes into the packet's attachments, and decoding
/// hands back a handle to the received attachment. `Vec<u8>`, `bytes::Bytes` and `&[u8]`
/// fields work too, at the cost of one copy (borrowed `&[u8]` fields are not copied).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Binary(pub Bytes);

impl Binary {
    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Binary({} bytes)", self.0.len())
    }
}

impl std::ops::Deref for Binary {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Bytes> for Binary {
    fn from(b: Bytes) -> Self {
        Binary(b)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(v: Vec<u8>) -> Self {
        Binary(Bytes::from(v))
    }
}

impl From<&'static [u8]> for Binary {
    fn from(v: &'static [u8]) -> Self {
        Binary(Bytes::from_static(v))
    }
}

impl From<Binary> for Bytes {
    fn from(b: Binary) -> Self {
        b.0
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(MAGIC, &Handover(&self.0))
    }
}

/// Gives the `Bytes` handle to this crate's serializer, or serializes as bytes elsewhere.
struct Handover<'a>(&'a Bytes);

impl Serialize for Handover<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if CAPTURE.with(Cell::get) {
            SLOT.with(|s| s.set(Some(self.0.clone())));
            serializer.serialize_unit()
        } else {
            serializer.serialize_bytes(self.0)
        }
    }
}

impl<'de> serde_de::Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(MAGIC, BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("binary data")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Binary, D::Error> {
        // This crate's deserializer fills the slot right before calling us.
        if let Some(b) = SLOT.with(Cell::take) {
            return Ok(Binary(b));
        }
        d.deserialize_byte_buf(self)
    }

    fn visit_bytes<E: serde_de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E: serde_de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(Bytes::from(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            v.push(b);
        }
        Ok(Binary(Bytes::from(v)))
    }
}
