//! MessagePack as notepack.io 3.0.1 writes it (the adapter's default parser): integers in their
//! smallest form, every other number as float64, strings and `bin` in their smallest form, maps
//! with string keys in insertion order. [`rmpv::Value`] holds a message; these helpers read and
//! write it and convert JSON values the way a JavaScript number becomes msgpack.

use rmpv::Value;

use crate::ClusterError;

/// Encodes `value` (rmpv writes the smallest forms notepack writes; floats stay float64).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// Decodes one whole message; trailing bytes, truncation or nesting deeper than the decoder's
/// limit are errors, never panics.
pub fn decode(mut bytes: &[u8]) -> Result<Value, ClusterError> {
    let value = rmpv::decode::read_value(&mut bytes).map_err(|_| ClusterError::Msgpack)?;
    if !bytes.is_empty() {
        return Err(ClusterError::Msgpack);
    }
    Ok(value)
}

/// A JSON value as notepack encodes the JavaScript value: a number with no fractional part is
/// an integer, any other number float64.
pub fn from_json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                integral(f).unwrap_or(Value::F64(f))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (Value::from(k.as_str()), from_json(v)))
                .collect(),
        ),
    }
}

/// `Number.isInteger(f)` within the 64-bit ranges notepack writes as integers.
fn integral(f: f64) -> Option<Value> {
    if !f.is_finite() || f.fract() != 0.0 {
        return None;
    }
    if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        Some(Value::from(f as u64))
    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

/// A msgpack value as JSON, for the parts of a message that are JSON on the wire; `None` when
/// it holds binary or an extension (those travel in msgpack messages only).
pub fn to_json(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::Nil => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => {
            if let Some(u) = i.as_u64() {
                serde_json::Value::from(u)
            } else {
                serde_json::Value::from(i.as_i64()?)
            }
        }
        Value::F32(f) => serde_json::Value::from(f64::from(*f)),
        Value::F64(f) => serde_json::Value::from(*f),
        Value::String(s) => serde_json::Value::String(s.as_str()?.to_owned()),
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Option<_>>()?)
        }
        Value::Map(pairs) => {
            let mut map = serde_json::Map::new();
            for (k, v) in pairs {
                map.insert(k.as_str()?.to_owned(), to_json(v)?);
            }
            serde_json::Value::Object(map)
        }
        Value::Binary(_) | Value::Ext(..) => return None,
    })
}

/// The value of `key` in a msgpack map.
pub(crate) fn get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    match map {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_notepack_forms() {
        let v = from_json(&serde_json::json!([1, 2.5, -1, 300, 70000, 5e9, 1.0, -0.5]));
        assert_eq!(
            encode(&v),
            [
                0x98, 0x01, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0xff, 0xcd, 0x01, 0x2c, 0xce, 0x00,
                0x01, 0x11, 0x70, 0xcf, 0, 0, 0, 1, 0x2a, 0x05, 0xf2, 0x00, 0x01, 0xcb, 0xbf, 0xe0,
                0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn bad_bytes_are_errors() {
        for bad in [&[0x93u8][..], &[0xa5, b'a'], &[0x91, 0x01, 0x02], &[]] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
