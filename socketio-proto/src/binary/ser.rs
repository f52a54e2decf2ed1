//! Serializing: binary values become placeholders and attachments.

use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::ser::{self, Serialize, Serializer};

use super::{CAPTURE, MAGIC, SLOT};
use crate::shape::Probe;

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
            // A `Binary` fills the slot when asked to serialize while `CAPTURE` is set; the
            // probe stops it right after, whatever it writes.
            CAPTURE.with(|c| c.set(true));
            let _ = v.serialize(Probe);
            CAPTURE.with(|c| c.set(false));
            if let Some(bytes) = SLOT.with(Cell::take) {
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
