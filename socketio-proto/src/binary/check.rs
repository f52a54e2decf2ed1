//! Validating the placeholders of a reassembled packet.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// What a JSON value was, as far as placeholder rules care.
pub(crate) enum Shape {
    True,
    Index(u64),
    Other,
}

/// Walks a JSON value and fails on any object whose `_placeholder` is `true` and whose `num`
/// is not an integer below `count` (the reference's `illegal attachments`).
#[derive(Clone, Copy)]
pub(crate) struct PlaceholderCheck {
    pub(crate) count: usize,
}

/// The error message that marks a placeholder violation (as opposed to a syntax error).
pub(crate) const PLACEHOLDER_ERROR: &str = "illegal attachment placeholder";

impl<'de> DeserializeSeed<'de> for PlaceholderCheck {
    type Value = Shape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

pub(super) enum Key {
    Placeholder,
    Num,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "_placeholder" => Key::Placeholder,
                    "num" => Key::Num,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for PlaceholderCheck {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Shape, E> {
        Ok(if v { Shape::True } else { Shape::Other })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Shape, E> {
        Ok(Shape::Index(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Shape, E> {
        Ok(u64::try_from(v).map_or(Shape::Other, Shape::Index))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Shape, E> {
        // `1.0` is the number 1 in JavaScript.
        Ok(
            if v.fract() == 0.0 && (0.0..9.007_199_254_740_992e15).contains(&v) {
                Shape::Index(v as u64)
            } else {
                Shape::Other
            },
        )
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(Shape::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let (mut placeholder, mut num) = (false, None);
        while let Some(key) = map.next_key::<Key>()? {
            let shape = map.next_value_seed(self)?;
            match key {
                Key::Placeholder => placeholder = matches!(shape, Shape::True),
                Key::Num => num = Some(shape),
                Key::Other => {}
            }
        }
        if placeholder {
            match num {
                Some(Shape::Index(n)) if n < self.count as u64 => {}
                _ => return Err(de::Error::custom(PLACEHOLDER_ERROR)),
            }
        }
        Ok(Shape::Other)
    }
}
