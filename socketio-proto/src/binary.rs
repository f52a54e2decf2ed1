//! Binary attachments: the [`Binary`] type, placeholder extraction when serializing, placeholder
//! substitution when deserializing, and placeholder validation.
//!
//! A packet whose arguments hold binary values is sent as a text header where each value is
//! replaced by `{"_placeholder":true,"num":k}`, followed by the values as separate binary
//! messages. [`Binary`] crosses serde without copying its bytes: its `Serialize` and
//! `Deserialize` implementations meet this crate's serializer and deserializer through a private
//! newtype name and a per-thread slot that holds one `Bytes` for the duration of one call.
//! With any other serde format, `Binary` behaves like a byte buffer.

use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, Serializer};

/// The newtype name through which [`Binary`] and this crate's (de)serializers recognise each
/// other.
const MAGIC: &str = "$socketio_proto::Binary";

thread_local! {
    /// Set while this crate's serializer asks a `Binary` to hand over its bytes.
    static CAPTURE: Cell<bool> = const { Cell::new(false) };
    /// The `Bytes` in transit between a `Binary` and this crate's (de)serializer.
    static SLOT: Cell<Option<Bytes>> = const { Cell::new(None) };
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

impl<'de> de::Deserialize<'de> for Binary {
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

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
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

// ---------------------------------------------------------------------------------------------
// Serializing: binary values become placeholders and attachments.

/// The attachments collected while serializing one packet.
pub(crate) type Attachments = Cell<Vec<Bytes>>;

fn push_attachment(att: &Attachments, b: Bytes) -> usize {
    let mut v = att.take();
    v.push(b);
    let n = v.len() - 1;
    att.set(v);
    n
}

fn write_placeholder<S: Serializer>(ser: S, num: usize) -> Result<S::Ok, S::Error> {
    use ser::SerializeStruct;
    let mut s = ser.serialize_struct("", 2)?;
    s.serialize_field("_placeholder", &true)?;
    s.serialize_field("num", &num)?;
    s.end()
}

/// Serializes `value` through `att`: binary values become placeholders, pushed onto `att`.
pub(crate) struct WithAttachments<'a, T: ?Sized>(pub(crate) &'a T, pub(crate) &'a Attachments);

impl<T: ?Sized + Serialize> Serialize for WithAttachments<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(BinSer {
            ser: serializer,
            att: self.1,
        })
    }
}

struct BinSer<'a, S> {
    ser: S,
    att: &'a Attachments,
}

/// Wraps a compound serializer so that its elements go through [`BinSer`] too.
struct BinCompound<'a, C> {
    inner: C,
    att: &'a Attachments,
}

macro_rules! forward_scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<S::Ok, S::Error> { self.ser.$method(v) })*
    };
}

impl<'a, S: Serializer> Serializer for BinSer<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = BinCompound<'a, S::SerializeSeq>;
    type SerializeTuple = BinCompound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = BinCompound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = BinCompound<'a, S::SerializeTupleVariant>;
    type SerializeMap = BinCompound<'a, S::SerializeMap>;
    type SerializeStruct = BinCompound<'a, S::SerializeStruct>;
    type SerializeStructVariant = BinCompound<'a, S::SerializeStructVariant>;

    forward_scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_unit_struct(&'static str),
    );

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        // Plain byte buffers (`Vec<u8>`, `bytes::Bytes`) only show us a slice: copy it once.
        let num = push_attachment(self.att, Bytes::copy_from_slice(v));
        write_placeholder(self.ser, num)
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.ser.serialize_none()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<S::Ok, S::Error> {
        self.ser.serialize_some(&WithAttachments(v, self.att))
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.ser.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.ser.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        if name == MAGIC {
            CAPTURE.with(|c| c.set(true));
            let taken = v.serialize(Capture);
            CAPTURE.with(|c| c.set(false));
            if let (Ok(()), Some(bytes)) = (taken, SLOT.with(Cell::take)) {
                let num = push_attachment(self.att, bytes);
                return write_placeholder(self.ser, num);
            }
        }
        self.ser
            .serialize_newtype_struct(name, &WithAttachments(v, self.att))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        self.ser
            .serialize_newtype_variant(name, index, variant, &WithAttachments(v, self.att))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(BinCompound {
            inner: self.ser.serialize_seq(len)?,
            att: self.att,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Ok(BinCompound {
            inner: self.ser.serialize_tuple(len)?,
            att: self.att,
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Ok(BinCompound {
            inner: self.ser.serialize_tuple_struct(name, len)?,
            att: self.att,
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Ok(BinCompound {
            inner: self
                .ser
                .serialize_tuple_variant(name, index, variant, len)?,
            att: self.att,
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(BinCompound {
            inner: self.ser.serialize_map(len)?,
            att: self.att,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(BinCompound {
            inner: self.ser.serialize_struct(name, len)?,
            att: self.att,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Ok(BinCompound {
            inner: self
                .ser
                .serialize_struct_variant(name, index, variant, len)?,
            att: self.att,
        })
    }

    fn collect_str<T: ?Sized + fmt::Display>(self, v: &T) -> Result<S::Ok, S::Error> {
        self.ser.collect_str(v)
    }

    fn is_human_readable(&self) -> bool {
        self.ser.is_human_readable()
    }
}

macro_rules! compound {
    ($trait:ident, $method:ident $(, $key:ident: $kty:ty)?) => {
        impl<C: ser::$trait> ser::$trait for BinCompound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;
            fn $method<T: ?Sized + Serialize>(
                &mut self,
                $($key: $kty,)?
                v: &T,
            ) -> Result<(), C::Error> {
                self.inner.$method($($key,)? &WithAttachments(v, self.att))
            }
            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);
compound!(SerializeStruct, serialize_field, key: &'static str);
compound!(SerializeStructVariant, serialize_field, key: &'static str);

impl<C: ser::SerializeMap> ser::SerializeMap for BinCompound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), C::Error> {
        self.inner.serialize_key(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), C::Error> {
        self.inner.serialize_value(&WithAttachments(v, self.att))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// The serializer a [`Handover`] writes to while [`CAPTURE`] is set: accepts only the unit it
/// writes after filling the slot.
struct Capture;

#[derive(Debug)]
struct NotBinary;

impl fmt::Display for NotBinary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a binary handover")
    }
}

impl std::error::Error for NotBinary {}

impl ser::Error for NotBinary {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotBinary
    }
}

macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), NotBinary> { Err(NotBinary) })*
    };
}

impl Serializer for Capture {
    type Ok = ();
    type Error = NotBinary;
    type SerializeSeq = ser::Impossible<(), NotBinary>;
    type SerializeTuple = ser::Impossible<(), NotBinary>;
    type SerializeTupleStruct = ser::Impossible<(), NotBinary>;
    type SerializeTupleVariant = ser::Impossible<(), NotBinary>;
    type SerializeMap = ser::Impossible<(), NotBinary>;
    type SerializeStruct = ser::Impossible<(), NotBinary>;
    type SerializeStructVariant = ser::Impossible<(), NotBinary>;

    fn serialize_unit(self) -> Result<(), NotBinary> {
        Ok(())
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), NotBinary> {
        Err(NotBinary)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotBinary> {
        Err(NotBinary)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotBinary> {
        Err(NotBinary)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotBinary> {
        Err(NotBinary)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotBinary> {
        Err(NotBinary)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotBinary> {
        Err(NotBinary)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotBinary> {
        Err(NotBinary)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotBinary> {
        Err(NotBinary)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotBinary> {
        Err(NotBinary)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotBinary> {
        Err(NotBinary)
    }
}

// ---------------------------------------------------------------------------------------------
// Validating placeholders of a reassembled packet.

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

enum Key {
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

// ---------------------------------------------------------------------------------------------
// Deserializing: placeholders become the attachments they name.

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
struct UnitDe<E>(std::marker::PhantomData<E>);

impl<E> UnitDe<E> {
    fn new() -> Self {
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
