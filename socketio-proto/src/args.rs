//! [`Args`]: a variable number of arguments.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::shape::ARGS;

/// A variable number of event or ack arguments: each element is one argument.
///
/// Arguments follow JavaScript: `socket.emit("scores", [1, 2, 3])` sends *one* argument, an
/// array. In Rust the `args` value of an emit or an ack is read the same way: a tuple lists
/// the arguments (`&("a", 1)` is two), `()` is none, and any other value (a `Vec`, a slice,
/// `serde_json::Value::Array`, `None`) is one argument. On the receiving side a tuple reads
/// the arguments in order and any other type reads the first one.
///
/// `Args` is the list whose length is known only at run time: emitting `Args(vec![a, b, c])`
/// sends three arguments (`Args(vec![])` none), and reading `Args` takes every argument,
/// however many were sent (`Args<T>` when they all have the type `T`; `Args` alone is
/// `Args<serde_json::Value>`). Binary arguments work with an element type that holds them
/// ([`crate::Binary`], or a struct or enum with `Binary` fields); as `serde_json::Value` they
/// appear as their placeholders (`{"_placeholder":true,"num":0}`, see
/// [`crate::Packet::attachments`]).
///
/// Only a top-level `Args` means several arguments: inside a tuple or a struct it is one JSON
/// array, like a `Vec`. Outside this crate's encoder and decoder it serializes as its `Vec`.
///
/// ```
/// use serde_json::{json, Value};
/// use socketio_proto::{Args, Decoder, Encoder, Nsp};
///
/// let mut enc = Encoder::default();
/// let args = Args(vec![json!(1), json!("two"), json!([3])]);
/// let packet = enc.event(&Nsp::main(), "many", &args, None)?;
/// assert_eq!(&packet.text()[..], r#"2["many",1,"two",[3]]"#);
///
/// let got = Decoder::default().decode_text(packet.text().clone())?;
/// let got = got.into_packet().expect("complete");
/// let Args(all): Args = got.args()?;
/// assert_eq!(all, [json!(1), json!("two"), json!([3])]);
/// // A non-tuple type reads the first argument only.
/// assert_eq!(got.args::<Value>()?, json!(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Args<T = serde_json::Value>(pub Vec<T>);

impl<T> Args<T> {
    /// No arguments.
    pub fn new() -> Self {
        Args(Vec::new())
    }

    /// The arguments.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> std::ops::Deref for Args<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Args<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T> From<Vec<T>> for Args<T> {
    fn from(v: Vec<T>) -> Self {
        Args(v)
    }
}

impl<T> From<Args<T>> for Vec<T> {
    fn from(a: Args<T>) -> Self {
        a.0
    }
}

impl<T> FromIterator<T> for Args<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Args(iter.into_iter().collect())
    }
}

impl<T> IntoIterator for Args<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Args<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: Serialize> Serialize for Args<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The private newtype name is how the encoder tells this list from a `Vec` (one
        // argument); formats that do not know it write the `Vec`.
        serializer.serialize_newtype_struct(ARGS, &self.0)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Args<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The decoder's argument list answers the name with every remaining argument.
        deserializer.deserialize_newtype_struct(ARGS, ArgsVisitor(PhantomData))
    }
}

struct ArgsVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArgsVisitor<T> {
    type Value = Args<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of arguments")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Args<T>, D::Error> {
        Vec::deserialize(d).map(Args)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args<T>, A::Error> {
        // The hint comes from the peer: bound what it may make us reserve.
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(Args(v))
    }
}
