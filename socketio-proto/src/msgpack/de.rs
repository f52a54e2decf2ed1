//! A serde deserializer over msgpack bytes as notepack.io writes them, borrowing strings and
//! handing `bin` values to [`crate::Binary`] as views of the received buffer (no copy).

use std::cell::Cell;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};

use super::Error;
use crate::binary::{UnitDe, MAGIC, SLOT};

/// Nesting deeper than this is refused (as serde_json's recursion limit), so hostile input
/// cannot overflow the stack.
const MAX_DEPTH: u32 = 128;

/// One msgpack item's head: scalars whole, strings/`bin`/extensions as byte ranges of the
/// buffer, arrays and maps as their lengths (their items follow).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Head {
    Nil,
    /// notepack's `undefined` (fixext 1, type 0, data 0).
    Undefined,
    Bool(bool),
    Uint(u64),
    /// Negative integers only.
    Int(i64),
    Float(f64),
    Str(usize, usize),
    Bin(usize, usize),
    Array(u32),
    Map(u32),
    /// Another extension: its type and data range.
    Ext(i8, usize, usize),
}

/// A cursor over one msgpack buffer.
pub(crate) struct Reader<'de> {
    pub(crate) buf: &'de [u8],
    pub(crate) pos: usize,
}

impl<'de> Reader<'de> {
    pub(crate) fn new(buf: &'de [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(Error::truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn be(&mut self, n: usize) -> Result<u64, Error> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn range(&mut self, n: u64) -> Result<(usize, usize), Error> {
        let n = usize::try_from(n).map_err(|_| Error::truncated())?;
        let start = self.pos;
        self.take(n)?;
        Ok((start, start + n))
    }

    /// The next byte without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Whether the next item is notepack's `undefined` or nil.
    fn at_absent(&self) -> bool {
        match self.peek() {
            Some(0xc0) => true,
            Some(0xd4) => self.buf.get(self.pos + 1..self.pos + 3) == Some(&[0, 0][..]),
            _ => false,
        }
    }

    /// Reads the next item's head (the forms of small values inline, the rest out of line).
    #[inline]
    pub(crate) fn head(&mut self) -> Result<Head, Error> {
        let b = self.buf;
        let m = *b.get(self.pos).ok_or_else(Error::truncated)?;
        self.pos += 1;
        match m {
            0x00..=0x7f => Ok(Head::Uint(u64::from(m))),
            0x80..=0x8f => Ok(Head::Map(u32::from(m & 0x0f))),
            0x90..=0x9f => Ok(Head::Array(u32::from(m & 0x0f))),
            0xa0..=0xbf => {
                let a = self.pos;
                let end = a + usize::from(m & 0x1f);
                if end > b.len() {
                    return Err(Error::truncated());
                }
                self.pos = end;
                Ok(Head::Str(a, end))
            }
            _ => self.head_rest(m),
        }
    }

    /// [`Reader::head`] for the other markers.
    fn head_rest(&mut self, m: u8) -> Result<Head, Error> {
        Ok(match m {
            // Read by `head` itself; never passed here.
            0x00..=0xbf => return Err(Error::syntax("marker read out of order")),
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4..=0xc6 => {
                let n = self.be(1 << (m - 0xc4))?;
                let (a, b) = self.range(n)?;
                Head::Bin(a, b)
            }
            0xc7..=0xc9 => {
                let n = self.be(1 << (m - 0xc7))?;
                let t = self.byte()? as i8;
                let (a, b) = self.range(n)?;
                Head::Ext(t, a, b)
            }
            0xca => Head::Float(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Head::Float(f64::from_bits(self.be(8)?)),
            0xcc..=0xcf => Head::Uint(self.be(1 << (m - 0xcc))?),
            0xd0..=0xd3 => {
                let bytes = 1usize << (m - 0xd0);
                let raw = self.be(bytes)?;
                // Sign-extend from `bytes` bytes.
                let shift = 64 - 8 * bytes as u32;
                let v = ((raw << shift) as i64) >> shift;
                if v >= 0 {
                    Head::Uint(v as u64)
                } else {
                    Head::Int(v)
                }
            }
            0xd4..=0xd8 => {
                let t = self.byte()? as i8;
                let (a, b) = self.range(1 << (m - 0xd4))?;
                if m == 0xd4 && t == 0 && self.buf[a] == 0 {
                    Head::Undefined
                } else {
                    Head::Ext(t, a, b)
                }
            }
            0xd9..=0xdb => {
                let n = self.be(1 << (m - 0xd9))?;
                let (a, b) = self.range(n)?;
                Head::Str(a, b)
            }
            0xdc | 0xdd => Head::Array(self.be(if m == 0xdc { 2 } else { 4 })? as u32),
            0xde | 0xdf => Head::Map(self.be(if m == 0xde { 2 } else { 4 })? as u32),
            0xe0..=0xff => Head::Int(i64::from(m as i8)),
            0xc1 => return Err(Error::syntax("reserved byte 0xc1")),
        })
    }

    /// Skips one whole item (no recursion: nesting costs nothing on the stack).
    pub(crate) fn skip(&mut self) -> Result<(), Error> {
        self.skip_items(1)
    }

    /// Skips `items` whole items: marker arithmetic only, nothing decoded.
    pub(crate) fn skip_items(&mut self, mut left: u64) -> Result<(), Error> {
        let b = self.buf;
        let mut i = self.pos;
        // Big-endian length of `n` bytes at `at`.
        let len = |at: usize, n: usize| -> Result<usize, Error> {
            let s = b.get(at..at + n).ok_or_else(Error::truncated)?;
            Ok(s.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
        };
        while left > 0 {
            left -= 1;
            let m = *b.get(i).ok_or_else(Error::truncated)?;
            i += 1;
            let data = match m {
                0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => 0,
                0x80..=0x8f => {
                    left += 2 * u64::from(m & 0x0f);
                    0
                }
                0x90..=0x9f => {
                    left += u64::from(m & 0x0f);
                    0
                }
                0xa0..=0xbf => usize::from(m & 0x1f),
                0xc4 | 0xd9 => {
                    let n = len(i, 1)?;
                    i += 1;
                    n
                }
                0xc5 | 0xda => {
                    let n = len(i, 2)?;
                    i += 2;
                    n
                }
                0xc6 | 0xdb => {
                    let n = len(i, 4)?;
                    i += 4;
                    n
                }
                // ext 8/16/32: length, then the type byte.
                0xc7 => len(i, 1)? + 2,
                0xc8 => len(i, 2)? + 3,
                0xc9 => len(i, 4)? + 5,
                0xca => 4,
                0xcb => 8,
                0xcc | 0xd0 => 1,
                0xcd | 0xd1 => 2,
                0xce | 0xd2 => 4,
                0xcf | 0xd3 => 8,
                // fixext 1/2/4/8/16: the type byte, then the data.
                0xd4..=0xd8 => 1 + (1 << (m - 0xd4)),
                0xdc => {
                    left += len(i, 2)? as u64;
                    2
                }
                0xdd => {
                    left += len(i, 4)? as u64;
                    4
                }
                0xde => {
                    left += 2 * len(i, 2)? as u64;
                    2
                }
                0xdf => {
                    left += 2 * len(i, 4)? as u64;
                    4
                }
                0xc1 => return Err(Error::syntax("reserved byte 0xc1")),
            };
            i = i
                .checked_add(data)
                .filter(|&e| e <= b.len())
                .ok_or_else(Error::truncated)?;
        }
        self.pos = i;
        Ok(())
    }

    /// The string at `a..b`, checked as UTF-8.
    pub(crate) fn str_at(&self, a: usize, b: usize) -> Result<&'de str, Error> {
        std::str::from_utf8(&self.buf[a..b]).map_err(|_| Error::syntax("string is not UTF-8"))
    }
}

/// The deserializer: a [`Reader`], the buffer as `Bytes` for zero-copy [`crate::Binary`], and
/// the current depth.
pub(crate) struct MsgpackDe<'de> {
    pub(crate) r: Reader<'de>,
    pub(crate) src: Option<&'de Bytes>,
    depth: u32,
    /// `bin` values are handed over as bytes to `deserialize_any` (for [`super::Mixed`],
    /// which keeps them binary), not as arrays of numbers.
    raw_bin: bool,
}

impl<'de> MsgpackDe<'de> {
    /// A deserializer of the item at `pos` of `src`.
    pub(crate) fn new(src: &'de Bytes, pos: usize) -> Self {
        MsgpackDe {
            r: Reader { buf: src, pos },
            src: Some(src),
            depth: 0,
            raw_bin: false,
        }
    }

    /// A deserializer of plain bytes (`Binary` values are copied).
    #[cfg(test)]
    pub(crate) fn from_slice(buf: &'de [u8]) -> Self {
        MsgpackDe {
            r: Reader::new(buf),
            src: None,
            depth: 0,
            raw_bin: false,
        }
    }

    fn nest(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::syntax("nested too deeply"));
        }
        Ok(())
    }

    fn visit<V: Visitor<'de>>(&mut self, head: Head, v: V) -> Result<V::Value, Error> {
        match head {
            Head::Nil | Head::Undefined => v.visit_unit(),
            Head::Bool(b) => v.visit_bool(b),
            Head::Uint(n) => v.visit_u64(n),
            Head::Int(n) => v.visit_i64(n),
            Head::Float(f) => v.visit_f64(f),
            Head::Str(a, b) => v.visit_borrowed_str(self.r.str_at(a, b)?),
            // As an array of numbers, as `Binary` serializes to JSON: a `serde_json::Value`
            // has no bytes (targets that read bytes ask for them, see `deserialize_bytes`).
            Head::Bin(a, b) if !self.raw_bin => {
                let bytes = self.r.buf[a..b].iter().copied();
                v.visit_seq(de::value::SeqDeserializer::<_, Error>::new(bytes))
            }
            Head::Bin(a, b) => v.visit_borrowed_bytes(&self.r.buf[a..b]),
            Head::Array(n) => {
                self.nest()?;
                let out = v.visit_seq(Items {
                    de: self,
                    left: n,
                    per: 1,
                })?;
                self.depth -= 1;
                Ok(out)
            }
            Head::Map(n) => {
                self.nest()?;
                let out = v.visit_map(Items {
                    de: self,
                    left: n,
                    per: 2,
                })?;
                self.depth -= 1;
                Ok(out)
            }
            // notepack writes a `Date` as fixext 8 of type 0: its time value (ms, float64).
            Head::Ext(0, a, b) if b - a == 8 => {
                let bits = self.r.buf[a..b]
                    .iter()
                    .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
                v.visit_f64(f64::from_bits(bits))
            }
            Head::Ext(t, _, _) => Err(de::Error::custom(format_args!(
                "unsupported msgpack extension type {t}"
            ))),
        }
    }
}

/// The items of an array (as a sequence) or a map (as key/value pairs).
struct Items<'a, 'de> {
    de: &'a mut MsgpackDe<'de>,
    left: u32,
    /// Items per entry: 1 for an array, 2 for a map.
    per: u8,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        // Each item takes a byte at least: never more than what is left of the buffer.
        Some((self.left as usize).min(self.de.r.buf.len() - self.de.r.pos))
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.de)
    }
    fn size_hint(&self) -> Option<usize> {
        Some((self.left as usize).min((self.de.r.buf.len() - self.de.r.pos) / 2))
    }
}

impl Drop for Items<'_, '_> {
    fn drop(&mut self) {
        // A visitor that stopped early (a struct from a longer array) leaves the rest: skip it
        // so the cursor ends after this item. Errors surface at the next read.
        let items = u64::from(self.left) * u64::from(self.per);
        for _ in 0..items {
            if self.de.r.skip().is_err() {
                self.de.r.pos = self.de.r.buf.len() + 1;
                return;
            }
        }
    }
}

impl<'de> Deserializer<'de> for &mut MsgpackDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let head = self.r.head()?;
        self.visit(head, v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if self.r.at_absent() {
            self.r.head()?;
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        if name == super::mixed::MIXED {
            let before = std::mem::replace(&mut self.raw_bin, true);
            let out = v.visit_newtype_struct(&mut *self);
            self.raw_bin = before;
            return out;
        }
        if let (true, Some(src), Some(0xc4..=0xc6)) = (name == MAGIC, self.src, self.r.peek()) {
            if let Head::Bin(a, b) = self.r.head()? {
                SLOT.with(|s: &Cell<Option<Bytes>>| s.set(Some(src.slice(a..b))));
                return v.visit_newtype_struct(UnitDe::<Error>::new());
            }
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.r.head()? {
            Head::Str(a, b) => v.visit_enum(self.r.str_at(a, b)?.into_deserializer()),
            Head::Map(1) => {
                self.nest()?;
                let out = v.visit_enum(Variant { de: self })?;
                self.depth -= 1;
                Ok(out)
            }
            _ => Err(de::Error::custom(
                "expected an enum: a string or a map of one entry",
            )),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.r.peek() {
            Some(0xc4..=0xc6) => match self.r.head()? {
                Head::Bin(a, b) => v.visit_borrowed_bytes(&self.r.buf[a..b]),
                _ => Err(Error::syntax("expected bin")),
            },
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.r.skip()?;
        v.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        // The peers are JavaScript: a UUID or a date travels as a string, as with JSON.
        true
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple
        tuple_struct map struct identifier
    }
}

/// An enum written as a map of one entry: `{variant: value}`.
struct Variant<'a, 'de> {
    de: &'a mut MsgpackDe<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let key = seed.deserialize(&mut *self.de)?;
        Ok((key, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.de)
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(&mut *self.de)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        self.de.deserialize_any(v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.de.deserialize_any(v)
    }
}
