//! The top-level shape of a serde value, found without writing it.

use serde::Serialize;

/// What an argument value is at its top level, which decides how it joins the argument list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopLevel {
    /// A sequence or tuple: its elements are the arguments.
    List,
    /// `()`, `None` or `null`: no arguments.
    Nothing,
    /// Anything else: one argument.
    One,
}

/// Finds what `value` is at its top level without writing it: [`Probe`] stops at the first
/// serializer call.
pub(crate) fn top_level<T: ?Sized + Serialize>(value: &T) -> TopLevel {
    match value.serialize(Probe) {
        Err(Found(top)) => top,
        Ok(()) => TopLevel::One,
    }
}

/// A serializer that answers [`TopLevel`] as its error at the first call.
///
/// [`crate::Binary`] also hands its bytes over while writing to it (see `binary::ser`): any
/// serializer that stops at the first call would do, and this is the one we have.
pub(crate) struct Probe;

#[derive(Debug)]
pub(crate) struct Found(TopLevel);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl serde::ser::Error for Found {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        // The value's own error: let the real serialization report it.
        Found(TopLevel::One)
    }
}

macro_rules! one {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Found> { Err(Found(TopLevel::One)) })*
    };
}

impl serde::Serializer for Probe {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = serde::ser::Impossible<(), Found>;
    type SerializeTuple = serde::ser::Impossible<(), Found>;
    type SerializeTupleStruct = serde::ser::Impossible<(), Found>;
    type SerializeTupleVariant = serde::ser::Impossible<(), Found>;
    type SerializeMap = serde::ser::Impossible<(), Found>;
    type SerializeStruct = serde::ser::Impossible<(), Found>;
    type SerializeStructVariant = serde::ser::Impossible<(), Found>;

    one!(
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
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_none(self) -> Result<(), Found> {
        Err(Found(TopLevel::Nothing))
    }
    fn serialize_unit(self) -> Result<(), Found> {
        Err(Found(TopLevel::Nothing))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Found> {
        Err(Found(TopLevel::Nothing))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Found> {
        v.serialize(Probe)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        // serde_json writes a newtype as its content (and `Binary` as one placeholder object).
        v.serialize(Probe)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found(TopLevel::One))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        Err(Found(TopLevel::List))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found(TopLevel::List))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found(TopLevel::List))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(Found(TopLevel::One))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found(TopLevel::One))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found(TopLevel::One))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(Found(TopLevel::One))
    }
}
