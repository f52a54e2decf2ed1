//! A serde serializer writing msgpack as notepack.io does for the same JavaScript value:
//! integers (and floats with no fractional part) in their smallest integer form, other numbers
//! as float64, strings, `bin`, arrays and maps in their smallest length form, map keys in
//! serialization order.

use serde::ser::{self, Serialize};

use super::Error;

/// Writes the smallest form of a non-negative integer.
#[inline]
pub(crate) fn write_uint(out: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        out.push(v as u8);
    } else {
        write_uint_wide(out, v);
    }
}

fn write_uint_wide(out: &mut Vec<u8>, v: u64) {
    if v < 0x100 {
        out.extend_from_slice(&[0xcc, v as u8]);
    } else if v < 0x1_0000 {
        out.push(0xcd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v < 0x1_0000_0000 {
        out.push(0xce);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Writes the smallest form of an integer.
pub(crate) fn write_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_uint(out, v as u64);
    } else if v >= -0x20 {
        out.push(v as u8);
    } else if v >= -0x80 {
        out.extend_from_slice(&[0xd0, v as u8]);
    } else if v >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Writes a JavaScript number: as an integer when it is one within 64 bits (notepack's
/// `Math.floor(v) === v` test; `-0` is `0`), float64 otherwise.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    // Integral when converting to an integer and back gives it again (NaN and the
    // infinities fail the range checks; `-0.0` becomes `0`).
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
        let i = v as i64;
        if i as f64 == v {
            return write_int(out, i);
        }
    } else if (0.0..18_446_744_073_709_551_616.0).contains(&v) {
        let u = v as u64;
        if u as f64 == v {
            return write_uint(out, u);
        }
    }
    out.push(0xcb);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

fn write_len(out: &mut Vec<u8>, len: usize, fix: Option<(u8, usize)>, markers: [u8; 3]) {
    match fix {
        Some((base, max)) if len < max => out.push(base | len as u8),
        _ if len < 0x100 && markers[0] != 0 => out.extend_from_slice(&[markers[0], len as u8]),
        _ if len < 0x1_0000 => {
            out.push(markers[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(markers[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.len() < 32 {
        // Most keys and strings: fixstr.
        out.reserve(1 + s.len());
        out.push(0xa0 | s.len() as u8);
    } else {
        write_len(out, s.len(), Some((0xa0, 32)), [0xd9, 0xda, 0xdb]);
    }
    out.extend_from_slice(s.as_bytes());
}

pub(crate) fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    write_len(out, b.len(), None, [0xc4, 0xc5, 0xc6]);
    out.extend_from_slice(b);
}

#[inline]
pub(crate) fn write_array_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x90 | len as u8);
    } else {
        write_len(out, len, None, [0, 0xdc, 0xdd]);
    }
}

#[inline]
pub(crate) fn write_map_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else {
        write_len(out, len, None, [0, 0xde, 0xdf]);
    }
}

/// The length in an array header at `at`, and the header's size.
pub(crate) fn array_len_at(out: &[u8], at: usize) -> Option<(usize, usize)> {
    match *out.get(at)? {
        m @ 0x90..=0x9f => Some((usize::from(m & 0x0f), 1)),
        0xdc => Some((
            usize::from(u16::from_be_bytes([out[at + 1], out[at + 2]])),
            3,
        )),
        0xdd => {
            let b = out.get(at + 1..at + 5)?;
            Some((u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 5))
        }
        _ => None,
    }
}

/// Serializes `value` at the end of `out`.
pub(crate) fn write<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(MsgpackSer { out })
}

pub(crate) struct MsgpackSer<'a> {
    pub(crate) out: &'a mut Vec<u8>,
}

/// An array or map being written: where its header is, the length it announced, and how many
/// entries it got (serde may not know the length beforehand, and a map's entries may be
/// skipped: the header is rewritten when they differ).
pub(crate) struct Compound<'a> {
    out: &'a mut Vec<u8>,
    at: usize,
    announced: usize,
    count: usize,
    map: bool,
}

impl<'a> Compound<'a> {
    fn start(ser: MsgpackSer<'a>, len: Option<usize>, map: bool) -> Self {
        let out = ser.out;
        let at = out.len();
        let announced = len.unwrap_or(0);
        if map {
            write_map_len(out, announced);
        } else {
            write_array_len(out, announced);
        }
        Compound {
            out,
            at,
            announced,
            count: 0,
            map,
        }
    }

    fn finish(self) -> Result<(), Error> {
        if self.count != self.announced {
            let mut header = Vec::with_capacity(5);
            if self.map {
                write_map_len(&mut header, self.announced);
                let old = header.len();
                header.clear();
                write_map_len(&mut header, self.count);
                self.out.splice(self.at..self.at + old, header);
            } else {
                write_array_len(&mut header, self.announced);
                let old = header.len();
                header.clear();
                write_array_len(&mut header, self.count);
                self.out.splice(self.at..self.at + old, header);
            }
        }
        Ok(())
    }

    #[inline]
    fn item<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.count += 1;
        v.serialize(MsgpackSer {
            out: &mut *self.out,
        })
    }
}

impl<'a> ser::Serializer for MsgpackSer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push(if v { 0xc3 } else { 0xc2 });
        Ok(())
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_int(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        match i64::try_from(v) {
            Ok(v) => self.serialize_i64(v),
            // Beyond 64 bits a JavaScript number is all there is.
            Err(_) => self.serialize_f64(v as f64),
        }
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_uint(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.serialize_u64(v),
            Err(_) => self.serialize_f64(v as f64),
        }
    }
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // JavaScript numbers are doubles: the f32's shortest decimal form, as a double.
        let shortest: f64 = v.to_string().parse().unwrap_or(f64::from(v));
        self.serialize_f64(shortest)
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_f64(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        write_bin(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push(0xc0);
        Ok(())
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        write_map_len(self.out, 1);
        write_str(self.out, variant);
        v.serialize(self)
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::start(self, len, false))
    }
    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::start(self, Some(len), false))
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(Compound::start(self, Some(len), false))
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        write_map_len(self.out, 1);
        write_str(self.out, variant);
        Ok(Compound::start(self, Some(len), false))
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::start(self, len, true))
    }
    #[inline]
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::start(self, Some(len), true))
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        write_map_len(self.out, 1);
        write_str(self.out, variant);
        Ok(Compound::start(self, Some(len), true))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.item(v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.item(v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.item(v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.item(v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Error> {
        self.item(k)
    }
    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(MsgpackSer {
            out: &mut *self.out,
        })
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.count += 1;
        write_str(self.out, key);
        v.serialize(MsgpackSer {
            out: &mut *self.out,
        })
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}
