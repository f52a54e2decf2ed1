//! Any packet data as one value, binary included: the bridge between the msgpack parser's
//! inline `bin` values and the default parser's JSON with attachments (raw arguments passed
//! on, a CONNECT's auth as JSON text).

use std::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::Binary;

/// A JavaScript value as a packet carries it. Map keys keep their order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mixed {
    Null,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(String),
    Bin(Binary),
    Array(Vec<Mixed>),
    Map(Vec<(String, Mixed)>),
}

impl Mixed {
    /// Replaces the default parser's placeholders (`{"_placeholder":true,"num":k}`) by the
    /// attachments they name (no copy); a placeholder naming none stays a map.
    pub(crate) fn fill(self, attachments: &[Bytes]) -> Mixed {
        match self {
            Mixed::Array(items) => {
                Mixed::Array(items.into_iter().map(|v| v.fill(attachments)).collect())
            }
            Mixed::Map(entries) => {
                if let [(k1, Mixed::Bool(true)), (k2, Mixed::Uint(n))] = &entries[..] {
                    if k1 == "_placeholder" && k2 == "num" {
                        if let Some(b) = usize::try_from(*n).ok().and_then(|n| attachments.get(n)) {
                            return Mixed::Bin(Binary(b.clone()));
                        }
                    }
                }
                Mixed::Map(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k, v.fill(attachments)))
                        .collect(),
                )
            }
            other => other,
        }
    }
}

impl Serialize for Mixed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Mixed::Null => s.serialize_unit(),
            Mixed::Bool(b) => s.serialize_bool(*b),
            Mixed::Uint(n) => s.serialize_u64(*n),
            Mixed::Int(n) => s.serialize_i64(*n),
            Mixed::Float(f) => s.serialize_f64(*f),
            Mixed::Str(v) => s.serialize_str(v),
            // Through `Binary`: an attachment in JSON, `bin` in msgpack.
            Mixed::Bin(b) => b.serialize(s),
            Mixed::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Mixed::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// The newtype name through which [`Mixed`] asks the msgpack deserializer for `bin` values as
/// bytes (other deserializers see a newtype and read on).
pub(crate) const MIXED: &str = "$socketio_proto::msgpack::Mixed";

impl<'de> Deserialize<'de> for Mixed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mixed, D::Error> {
        d.deserialize_newtype_struct(MIXED, MixedVisitor)
    }
}

struct MixedVisitor;

impl<'de> Visitor<'de> for MixedVisitor {
    type Value = Mixed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Mixed, E> {
        Ok(Mixed::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Mixed, E> {
        Ok(Mixed::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Mixed, D::Error> {
        Mixed::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Mixed, D::Error> {
        d.deserialize_any(MixedVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Mixed, E> {
        Ok(Mixed::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Mixed, E> {
        Ok(Mixed::Uint(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Mixed, E> {
        Ok(if v >= 0 {
            Mixed::Uint(v as u64)
        } else {
            Mixed::Int(v)
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Mixed, E> {
        Ok(Mixed::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Mixed, E> {
        Ok(Mixed::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Mixed, E> {
        Ok(Mixed::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Mixed, E> {
        Ok(Mixed::Bin(Binary(Bytes::copy_from_slice(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Mixed, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Mixed::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Mixed, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(k) = map.next_key::<Mixed>()? {
            // JavaScript object keys are strings: other msgpack keys read as their text.
            let key = match k {
                Mixed::Str(s) => s,
                Mixed::Uint(n) => n.to_string(),
                Mixed::Int(n) => n.to_string(),
                Mixed::Bool(b) => b.to_string(),
                Mixed::Null => "null".to_owned(),
                _ => {
                    return Err(de::Error::custom(
                        "a map key that is not a string or number",
                    ))
                }
            };
            entries.push((key, map.next_value()?));
        }
        Ok(Mixed::Map(entries))
    }
}
