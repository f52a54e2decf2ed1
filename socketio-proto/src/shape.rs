//! The top-level shape of a serde value, found without writing it: how a value passed to
//! `emit` or `ack` becomes an argument list, as a JavaScript peer means it.
//!
//! JavaScript's `socket.emit(ev, a, b)` sends each parameter as one argument, and an array
//! parameter is one argument that is an array. Rust has one `args` value, so its serde form
//! decides: a tuple is the parameter list, `()` is an empty one, anything else is one
//! parameter. The decoding side (`decode::Rest`) reads argument lists by the same rule.

use serde::Serialize;

/// What an argument value is at its top level, which decides how it joins the argument list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopLevel {
    /// serde's tuple form (tuples, fixed-size arrays, tuple structs) or [`crate::Args`]: its
    /// elements are the arguments.
    List,
    /// The value `()` or a unit struct: no arguments.
    Nothing,
    /// Anything else (`Vec`, slices, `Value::Array`, `None`, `Value::Null`, maps, structs,
    /// scalars): one argument.
    One,
}

/// Finds what `value` is at its top level without writing it: [`Probe`] stops at the first
/// serializer call.
pub(crate) fn top_level<T: ?Sized + Serialize>(value: &T) -> TopLevel {
    match value.serialize(Probe) {
        Err(Found(Form::List)) => TopLevel::List,
        Err(Found(Form::UnitStruct)) => TopLevel::Nothing,
        // `()` and `serde_json::Value::Null` both serialize as serde's unit and nothing in
        // the serde data model tells them apart; JavaScript's `emit(ev, null)` sends one `null`
        // argument. The value `()` is the zero-sized one (a `Value` is not), so only it means
        // "no arguments".
        Err(Found(Form::Unit)) if std::mem::size_of_val(value) == 0 => TopLevel::Nothing,
        Err(Found(_)) | Ok(()) => TopLevel::One,
    }
}

/// The newtype name of [`crate::Args`], through which this crate recognises a variable
/// argument list in both directions.
pub(crate) const ARGS: &str = "$socketio_proto::Args";

/// The serde form of the first serializer call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// A tuple, tuple struct or [`crate::Args`].
    List,
    /// serde's unit (`()`, also `serde_json::Value::Null`).
    Unit,
    /// A unit struct.
    UnitStruct,
    /// Anything else.
    Other,
}

/// A serializer that answers the [`Form`] of a value as its error at the first call.
///
/// [`crate::Binary`] also hands its bytes over while writing to it (see `binary::ser`): any
/// serializer that stops at the first call would do, and this is the one we have.
pub(crate) struct Probe;

#[derive(Debug)]
pub(crate) struct Found(Form);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl serde::ser::Error for Found {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        // The value's own error: let the real serialization report it.
        Found(Form::Other)
    }
}

macro_rules! other {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Found> { Err(Found(Form::Other)) })*
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

    other!(
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
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_unit(self) -> Result<(), Found> {
        Err(Found(Form::Unit))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Found> {
        Err(Found(Form::UnitStruct))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Found> {
        // An `Option` is one argument whatever it holds (`null` or the value), as a JavaScript
        // parameter that may be `null` is.
        Err(Found(Form::Other))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        // A newtype is one argument (`Binary` included), except the argument list itself.
        let form = if name == ARGS {
            Form::List
        } else {
            Form::Other
        };
        Err(Found(form))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found(Form::Other))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        // A `Vec`, a slice, a set, `Value::Array`: one argument that is an array, as in
        // JavaScript.
        Err(Found(Form::Other))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(Found(Form::Other))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found(Form::Other))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found(Form::Other))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(Found(Form::Other))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found(Form::List))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found(Form::List))
    }
}
