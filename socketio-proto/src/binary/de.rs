//! Deserializing: placeholders become the attachments they name.

use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::check::Key;
use super::{MAGIC, SLOT};

/// A deserializer that replaces placeholders by attachments where the target asks for bytes
/// (or a [`Binary`]), and otherwise behaves exactly like the wrapped one.
pub(crate) struct BinDe<'de, D> {
    pub(crate) de: D,
    pub(crate) att: &'de [Bytes],
}

struct BinVisitor<'de, V> {
    inner: V,
    att: &'de [Bytes],
}

struct BinSeed<'de, S> {
    seed: S,
    att: &'de [Bytes],
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for BinSeed<'de, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(BinDe {
            de: d,
            att: self.att,
        })
    }
}

struct BinAccess<'de, A> {
    a: A,
    att: &'de [Bytes],
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for BinAccess<'de, A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.a.next_element_seed(BinSeed {
            seed,
            att: self.att,
        })
    }
    fn size_hint(&self) -> Option<usize> {
        self.a.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for BinAccess<'de, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.a.next_key_seed(seed)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.a.next_value_seed(BinSeed {
            seed,
            att: self.att,
        })
    }
    fn size_hint(&self) -> Option<usize> {
        self.a.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for BinAccess<'de, A> {
    type Error = A::Error;
    type Variant = BinAccess<'de, A::Variant>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let (v, variant) = self.a.variant_seed(seed)?;
        Ok((
            v,
            BinAccess {
                a: variant,
                att: self.att,
            },
        ))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for BinAccess<'de, A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.a.unit_variant()
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.a.newtype_variant_seed(BinSeed {
            seed,
            att: self.att,
        })
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.a.tuple_variant(
            len,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.a.struct_variant(
            fields,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }
}

macro_rules! visit_forward {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> { self.inner.$method(v) })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for BinVisitor<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit_forward!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(BinDe {
            de: d,
            att: self.att,
        })
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(BinDe {
            de: d,
            att: self.att,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(BinAccess { a, att: self.att })
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(BinAccess { a, att: self.att })
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(BinAccess { a, att: self.att })
    }
}

/// Reads a value that should be a placeholder; hands the attachment to the target visitor.
struct PlaceholderVisitor<'de, V> {
    inner: V,
    att: &'de [Bytes],
    /// The target is a [`Binary`]: pass the handle through the slot.
    handle: bool,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for PlaceholderVisitor<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a binary attachment placeholder")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let (mut placeholder, mut num) = (false, None);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Placeholder => placeholder = map.next_value::<bool>().unwrap_or(false),
                Key::Num => num = map.next_value::<u64>().ok(),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let att = match (placeholder, num) {
            (true, Some(n)) => usize::try_from(n).ok().and_then(|n| self.att.get(n)),
            _ => None,
        };
        let Some(att) = att else {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        };
        if self.handle {
            SLOT.with(|s| s.set(Some(att.clone())));
            let r = self.inner.visit_newtype_struct(UnitDe::<A::Error>::new());
            // Leave nothing behind if the visitor did not take it.
            SLOT.with(Cell::take);
            r
        } else {
            self.inner.visit_borrowed_bytes(att)
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        // Bytes written as an array of numbers (not a placeholder) are the target's business.
        self.inner.visit_seq(BinAccess { a, att: self.att })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.inner.visit_borrowed_str(v)
    }
}

/// A deserializer with nothing in it, given to a [`Binary`]'s visitor after the slot is filled.
pub(crate) struct UnitDe<E>(std::marker::PhantomData<E>);

impl<E> UnitDe<E> {
    pub(crate) fn new() -> Self {
        UnitDe(std::marker::PhantomData)
    }
}

impl<'de, E: de::Error> Deserializer<'de> for UnitDe<E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

macro_rules! de_forward {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.de.$method(BinVisitor { inner: v, att: self.att })
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for BinDe<'de, D> {
    type Error = D::Error;

    de_forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
    );

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        let att = self.att;
        self.de.deserialize_any(PlaceholderVisitor {
            inner: v,
            att,
            handle: false,
        })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.deserialize_bytes(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_ignored_any(v)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_unit_struct(
            name,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        if name == MAGIC {
            let att = self.att;
            return self.de.deserialize_any(PlaceholderVisitor {
                inner: v,
                att,
                handle: true,
            });
        }
        self.de.deserialize_newtype_struct(
            name,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_tuple(
            len,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_tuple_struct(
            name,
            len,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_enum(
            name,
            variants,
            BinVisitor {
                inner: v,
                att: self.att,
            },
        )
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}
