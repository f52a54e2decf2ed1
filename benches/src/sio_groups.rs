//! The Socket.IO codec groups and their contenders, shared by the criterion target
//! (`socketio_codec`, through `iter_custom`) and the paired-ratio target (`socketio_ratios`).
//!
//! One decode group and one encode group per case of [`crate::sio_corpus`]:
//!
//! - `socketio_decode/<case>`: `ours_typed`, `ours_value`, `socketioxide_typed`,
//!   `socketioxide_value` and `limit`. Each decodes the packet (text message, then its binary
//!   messages) and reads its payload as a handler would: into the case's Rust type, or into
//!   `serde_json::Value`s (see [`Types`]). The limit is `serde_json::from_slice::<IgnoredAny>`
//!   over the JSON payload; for binary packets it is [`binary_limit`]. Two references follow,
//!   to tell the codec's overhead from what building the data costs in itself: `serde_typed`
//!   (`serde_json::from_slice` of the whole JSON payload into the same Rust types, event name
//!   and placeholders included, see [`Types::Whole`]) and `serde_value` (the same into one
//!   `serde_json::Value`). Neither is a Socket.IO decoder.
//! - `socketio_encode/<case>`: `ours`, `socketioxide` and `limit`, each writing the case's values
//!   as the packet (`limit`: `serde_json::to_vec` of the same JSON payload, no header).
//! - `socketio_validate/<case>`: `ours` (`Packet::validate`, the syntax check a server makes of
//!   every EVENT and ACK before its handler runs) and `serde_json` (`IgnoredAny` over the same
//!   JSON, then `Deserializer::end`).
//!
//! Fairness rules (as in [`crate::groups`]): every contender's output is dropped inside the timed
//! part; inputs a decoder takes by value (the text as a `ByteString` or socketioxide's `Str`,
//! the attachments as `Bytes`) are cloned inside the timed part, a reference count increment
//! each, as a server hands over messages it owns; state a server keeps per socket (our
//! [`Decoder`] and [`Encoder`], socketioxide's `ParserState`, the namespace) is built once per
//! contender and reused.

use std::fmt::Debug;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use engineio_proto::ByteString;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketio_proto::{AckId, Binary, Decoder, Encoded, Encoder, Nsp, Packet};

use crate::groups::Group;
use crate::paired::{timed, Contender};
use crate::sio_corpus::{self as corpus, Auth, Case, Chat, Doc, FileMeta, Named, Status};
use crate::socketioxide::{self as sx, Str, SxDecoder, SxPacket, SxValue};

/// All groups, in run order: per case, decode then encode.
pub fn all() -> Vec<Group> {
    corpus::CASES
        .iter()
        .flat_map(|name| [decode_group(name), encode_group(name), validate_group(name)])
        .collect()
}

/// `socketio_validate/<case>`: the JSON syntax check a server makes of every EVENT and ACK it
/// receives before its handler runs (`Packet::validate`, on a decoded packet) against
/// serde_json checking the same JSON (`IgnoredAny`, then `Deserializer::end`), as the check
/// was made before it had a scanner of its own.
pub fn validate_group(name: &str) -> Group {
    let case = corpus::case(name);
    let packet = ours_packet(&mut Decoder::default(), &case.text, &case.attachments)
        .expect("the corpus decodes");
    let json = case.json().to_vec();
    let ours: Run = Box::new(move |n| timed(n, || black_box(&packet).validate().is_ok()));
    let serde: Run = Box::new(move |n| {
        timed(n, || {
            let mut de = serde_json::Deserializer::from_slice(black_box(&json));
            IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
        })
    });
    Group {
        name: group_name("socketio_validate", name),
        throughput: vec![("", case.json().len() as u64)],
        contenders: vec![("ours".into(), ours), ("serde_json".into(), serde)],
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// How a handler reads a packet's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// An event handler's arguments (after the event name).
    EventArgs,
    /// An ack callback's arguments.
    AckArgs,
    /// A CONNECT's auth object.
    ConnectAuth,
}

/// What a handler reads from one case.
pub trait Types {
    /// Our typed target (binary arguments as [`Binary`]).
    type Ours: DeserializeOwned + Debug + 'static;
    /// socketioxide's typed target: the same, with `bytes::Bytes` for binary arguments (it has
    /// no zero-copy binary type).
    type Sx: DeserializeOwned + Debug + 'static;
    /// Every argument as `serde_json::Value` (a tuple for several arguments, as socketioxide
    /// reads several arguments only into tuples).
    type Value: DeserializeOwned + Serialize + PartialEq + Debug + 'static;
    /// The whole JSON payload (event name and placeholders included) as plain serde types, for
    /// the `serde_typed` reference: what serde_json alone spends building the same Rust data.
    type Whole: DeserializeOwned + 'static;
    /// Where the data is.
    const PAYLOAD: Payload;
    /// Whether socketioxide has a `Value` contender: not for binary packets, where it turns
    /// each attachment into an array of numbers (one `Value` per byte) and so does not do the
    /// same work as ours, which leaves the placeholder objects in place.
    const SX_VALUE: bool = true;
    /// Whether our typed data and socketioxide's are the same data.
    fn same(ours: &Self::Ours, sx: &Self::Sx) -> bool;
}

/// Implements [`Types`] for a text case whose typed target is the same for both crates.
macro_rules! text_case {
    ($case:ident, $ty:ty, $value:ty, $whole:ty, $payload:ident) => {
        #[doc = concat!("The `", stringify!($case), "` case.")]
        #[derive(Debug)]
        pub struct $case;
        impl Types for $case {
            type Ours = $ty;
            type Sx = $ty;
            type Value = $value;
            type Whole = $whole;
            const PAYLOAD: Payload = Payload::$payload;
            fn same(ours: &$ty, sx: &$ty) -> bool {
                ours == sx
            }
        }
    };
}

text_case!(SmallEvent, Chat, Value, (String, Chat), EventArgs);
text_case!(
    NspEventAckId,
    (u32, Named),
    (Value, Value),
    (String, u32, Named),
    EventArgs
);
text_case!(AckCase, Status, Value, (Status,), AckArgs);
text_case!(Event1k, Doc, Value, (String, Doc), EventArgs);
text_case!(Event64k, Doc, Value, (String, Doc), EventArgs);
text_case!(ConnectAuth, Auth, Value, Auth, ConnectAuth);

/// The `binary_1x1k` case.
#[derive(Debug)]
pub struct Binary1x1k;

impl Types for Binary1x1k {
    type Ours = (FileMeta, Binary);
    type Sx = (FileMeta, Bytes);
    type Value = (Value, Value);
    type Whole = (String, FileMeta, Placeholder);
    const PAYLOAD: Payload = Payload::EventArgs;
    const SX_VALUE: bool = false;
    fn same(ours: &Self::Ours, sx: &Self::Sx) -> bool {
        ours.0 == sx.0 && ours.1 .0 == sx.1
    }
}

/// The `binary_2x64k` case.
#[derive(Debug)]
pub struct Binary2x64k;

impl Types for Binary2x64k {
    type Ours = (FileMeta, Binary, Binary);
    type Sx = (FileMeta, Bytes, Bytes);
    type Value = (Value, Value, Value);
    type Whole = (String, FileMeta, Placeholder, Placeholder);
    const PAYLOAD: Payload = Payload::EventArgs;
    const SX_VALUE: bool = false;
    fn same(ours: &Self::Ours, sx: &Self::Sx) -> bool {
        ours.0 == sx.0 && ours.1 .0 == sx.1 && ours.2 .0 == sx.2
    }
}

/// Something to do with the [`Types`] of a case.
pub trait WithTypes {
    /// The result.
    type Out;
    /// Does it for `case`, whose types are `T`.
    fn run<T: Types>(self, case: Case) -> Self::Out;
}

/// Runs `w` with the types of the case `name`.
pub fn with_types<W: WithTypes>(name: &str, w: W) -> W::Out {
    let case = corpus::case(name);
    match name {
        "small_event" => w.run::<SmallEvent>(case),
        "nsp_event_ack_id" => w.run::<NspEventAckId>(case),
        "ack" => w.run::<AckCase>(case),
        "event_1k" => w.run::<Event1k>(case),
        "event_64k" => w.run::<Event64k>(case),
        "binary_1x1k" => w.run::<Binary1x1k>(case),
        "binary_2x64k" => w.run::<Binary2x64k>(case),
        "connect_auth" => w.run::<ConnectAuth>(case),
        other => panic!("no case {other}"),
    }
}

/// Our decode: the text message, then each attachment, into a complete packet (owned inputs
/// cloned, as the Engine.IO layer hands them over).
pub fn ours_packet(dec: &mut Decoder, text: &ByteString, attachments: &[Bytes]) -> Option<Packet> {
    let mut done = dec.decode_text(text.clone()).ok()?;
    for data in attachments {
        done = dec.decode_binary(data.clone()).ok()?;
    }
    done.into_packet()
}

/// Reads our packet's payload into `T`.
pub fn ours_read<T: DeserializeOwned>(packet: &Packet, payload: Payload) -> Option<T> {
    match payload {
        Payload::EventArgs | Payload::AckArgs => packet.args().ok(),
        Payload::ConnectAuth => packet.data().ok()?,
    }
}

/// Reads socketioxide's packet's payload into `T`.
pub fn sx_read<T: DeserializeOwned>(packet: &mut SxPacket, payload: Payload) -> Option<T> {
    let value = sx::payload(packet)?;
    match payload {
        Payload::EventArgs => sx::event_args(value).ok(),
        Payload::AckArgs => sx::ack_args(value).ok(),
        Payload::ConnectAuth => sx::connect_auth(value).ok(),
    }
}

/// The least work any decoder of a binary packet must do: read the attachment count (type
/// digit, digits, `-`), check that the JSON header is well-formed
/// (`serde_json::from_slice::<IgnoredAny>`) and keep the attachments (their handles, in a
/// `Vec`). Placeholders are not resolved and no attachment byte is read or copied.
pub fn binary_limit(text: &[u8], attachments: &[Bytes]) -> Option<Vec<Bytes>> {
    let (&kind, rest) = text.split_first()?;
    if !matches!(kind, b'5' | b'6') {
        return None;
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut count = 0usize;
    for &d in &rest[..digits] {
        count = count.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
    }
    if rest.get(digits) != Some(&b'-') || count != attachments.len() {
        return None;
    }
    let json_at = memchr::memchr2(b'[', b'{', &rest[digits..])? + digits;
    serde_json::from_slice::<IgnoredAny>(&rest[json_at..]).ok()?;
    Some(attachments.to_vec())
}

/// The decode limit of a case: [`binary_limit`] for binary packets, else `IgnoredAny` over the
/// JSON payload.
pub fn decode_limit(case: &Case) -> bool {
    if case.attachments.is_empty() {
        serde_json::from_slice::<IgnoredAny>(case.json()).is_ok()
    } else {
        binary_limit(case.text.as_bytes(), &case.attachments).is_some()
    }
}

/// Our decode of `case` read into `T`, with a fresh decoder (for tests).
pub fn ours_decode<T: DeserializeOwned>(case: &Case, payload: Payload) -> Option<T> {
    let packet = ours_packet(&mut Decoder::default(), &case.text, &case.attachments)?;
    ours_read(&packet, payload)
}

/// socketioxide's decode of `case` read into `T`, with a fresh parser state (for tests).
pub fn sx_decode<T: DeserializeOwned>(case: &Case, payload: Payload) -> Option<T> {
    let text = Str::from(case.text.to_string());
    let mut packet = SxDecoder::default().decode(text, &case.attachments).ok()?;
    sx_read(&mut packet, payload)
}

/// A contender's timed function (see [`Contender`]).
type Run = Box<dyn FnMut(u64) -> Duration>;

fn ours_contender<T: DeserializeOwned + 'static>(case: &Case, payload: Payload) -> Run {
    let (text, attachments) = (case.text.clone(), case.attachments.clone());
    let mut dec = Decoder::default();
    Box::new(move |n| {
        timed(n, || {
            let packet = ours_packet(&mut dec, black_box(&text), &attachments)?;
            ours_read::<T>(&packet, payload)
        })
    })
}

fn sx_contender<T: DeserializeOwned + 'static>(case: &Case, payload: Payload) -> Run {
    let text = Str::from(case.text.to_string());
    let attachments = case.attachments.clone();
    let dec = SxDecoder::default();
    Box::new(move |n| {
        timed(n, || {
            let mut packet = dec.decode(black_box(&text).clone(), &attachments).ok()?;
            sx_read::<T>(&mut packet, payload)
        })
    })
}

fn limit_contender(case: &Case) -> Run {
    let text = case.text.clone();
    let (json_at, attachments) = (case.json_at, case.attachments.clone());
    if attachments.is_empty() {
        Box::new(move |n| {
            timed(n, || {
                serde_json::from_slice::<IgnoredAny>(&black_box(&text).as_bytes()[json_at..]).ok()
            })
        })
    } else {
        Box::new(move |n| {
            timed(n, || {
                binary_limit(black_box(&text).as_bytes(), &attachments)
            })
        })
    }
}

/// The references: serde_json alone deserializing the JSON payload into `T`.
fn serde_contender<T: DeserializeOwned + 'static>(case: &Case) -> Run {
    let (text, json_at) = (case.text.clone(), case.json_at);
    Box::new(move |n| {
        timed(n, || {
            serde_json::from_slice::<T>(&black_box(&text).as_bytes()[json_at..]).ok()
        })
    })
}

struct DecodeGroup;

impl WithTypes for DecodeGroup {
    type Out = Group;

    fn run<T: Types>(self, case: Case) -> Group {
        let mut contenders: Vec<Contender<'static>> = vec![
            (
                "ours_typed".into(),
                ours_contender::<T::Ours>(&case, T::PAYLOAD),
            ),
            (
                "ours_value".into(),
                ours_contender::<T::Value>(&case, T::PAYLOAD),
            ),
            (
                "socketioxide_typed".into(),
                sx_contender::<T::Sx>(&case, T::PAYLOAD),
            ),
        ];
        if T::SX_VALUE {
            contenders.push((
                "socketioxide_value".into(),
                sx_contender::<T::Value>(&case, T::PAYLOAD),
            ));
        }
        contenders.push(("limit".into(), limit_contender(&case)));
        contenders.push(("serde_typed".into(), serde_contender::<T::Whole>(&case)));
        contenders.push(("serde_value".into(), serde_contender::<Value>(&case)));
        Group {
            name: group_name("socketio_decode", case.name),
            throughput: vec![("", case.wire_len())],
            contenders,
        }
    }
}

/// `socketio_decode/<case>`.
pub fn decode_group(name: &str) -> Group {
    with_types(name, DecodeGroup)
}

/// The group names are built once per run; [`Group`] wants them `'static`.
fn group_name(op: &str, case: &str) -> &'static str {
    String::leak(format!("{op}/{case}"))
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// A binary placeholder, as the encode limit writes it and the `serde_typed` reference reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placeholder {
    #[serde(rename = "_placeholder")]
    placeholder: bool,
    num: usize,
}

impl Placeholder {
    /// The placeholder of attachment `num`.
    pub fn new(num: usize) -> Self {
        Placeholder {
            placeholder: true,
            num,
        }
    }
}

/// Something to do with the three encoders of a case.
pub trait WithEncoders {
    /// The result.
    type Out;
    /// Does it for `case`: `ours` writes the packet with our [`Encoder`], `sx` with
    /// socketioxide, `limit` writes its JSON payload with `serde_json::to_vec`.
    fn run<O, S, L>(self, case: &'static str, ours: O, sx: S, limit: L) -> Self::Out
    where
        O: FnMut(&mut Encoder) -> Option<Encoded> + 'static,
        S: FnMut() -> Option<SxValue> + 'static,
        L: FnMut() -> Option<Vec<u8>> + 'static;
}

/// Runs `w` with the encoders of the case `name`.
pub fn with_encoders<W: WithEncoders>(name: &str, w: W) -> W::Out {
    let v = corpus::values();
    let (main, admin) = (Nsp::main(), Nsp::from_static("/admin"));
    let (sx_main, sx_admin) = (Str::from("/"), Str::from("/admin"));
    match name {
        "small_event" => {
            let (a, b, c) = (v.chat.clone(), v.chat.clone(), v.chat);
            w.run(
                "small_event",
                move |e| e.event(&main, "chat", black_box(&a), None).ok(),
                move || sx::encode_event(&sx_main, "chat", black_box(&b), None).ok(),
                move || serde_json::to_vec(&("chat", black_box(&c))).ok(),
            )
        }
        "nsp_event_ack_id" => {
            let (a, b, c) = (v.update.clone(), v.update.clone(), v.update);
            w.run(
                "nsp_event_ack_id",
                move |e| {
                    e.event(&admin, "update", black_box(&a), Some(AckId(17)))
                        .ok()
                },
                move || sx::encode_event(&sx_admin, "update", black_box(&b), Some(17)).ok(),
                move || {
                    let (n, named) = black_box(&c);
                    serde_json::to_vec(&("update", n, named)).ok()
                },
            )
        }
        "ack" => {
            let (a, b, c) = (v.status.clone(), v.status.clone(), v.status);
            w.run(
                "ack",
                move |e| e.ack(&admin, AckId(17), black_box(&a)).ok(),
                move || sx::encode_ack(&sx_admin, 17, black_box(&b)).ok(),
                move || serde_json::to_vec(&(black_box(&c),)).ok(),
            )
        }
        "event_1k" | "event_64k" => {
            let d = if name == "event_1k" {
                v.doc_1k
            } else {
                v.doc_64k
            };
            let (a, b, c) = (d.clone(), d.clone(), d);
            w.run(
                if name == "event_1k" {
                    "event_1k"
                } else {
                    "event_64k"
                },
                move |e| e.event(&main, "update", black_box(&a), None).ok(),
                move || sx::encode_event(&sx_main, "update", black_box(&b), None).ok(),
                move || serde_json::to_vec(&("update", black_box(&c))).ok(),
            )
        }
        "binary_1x1k" => {
            let ours = (v.file.clone(), Binary(v.bin_1k.clone()));
            let theirs = (v.file.clone(), v.bin_1k);
            let limit = (v.file, Placeholder::new(0));
            w.run(
                "binary_1x1k",
                move |e| e.event(&main, "file", black_box(&ours), None).ok(),
                move || sx::encode_event(&sx_main, "file", black_box(&theirs), None).ok(),
                move || {
                    let (file, p) = black_box(&limit);
                    serde_json::to_vec(&("file", file, p)).ok()
                },
            )
        }
        "binary_2x64k" => {
            let [b0, b1] = v.bin_64k;
            let ours = (v.file.clone(), Binary(b0.clone()), Binary(b1.clone()));
            let theirs = (v.file.clone(), b0, b1);
            let limit = (v.file, Placeholder::new(0), Placeholder::new(1));
            w.run(
                "binary_2x64k",
                move |e| e.event(&main, "file", black_box(&ours), None).ok(),
                move || sx::encode_event(&sx_main, "file", black_box(&theirs), None).ok(),
                move || {
                    let (file, p0, p1) = black_box(&limit);
                    serde_json::to_vec(&("file", file, p0, p1)).ok()
                },
            )
        }
        "connect_auth" => {
            let (a, b, c) = (v.auth.clone(), v.auth.clone(), v.auth);
            w.run(
                "connect_auth",
                move |e| e.connect(&admin, Some(black_box(&a))).ok(),
                move || sx::encode_connect(&sx_admin, black_box(&b)).ok(),
                move || serde_json::to_vec(black_box(&c)).ok(),
            )
        }
        other => panic!("no case {other}"),
    }
}

struct EncodeGroup;

impl WithEncoders for EncodeGroup {
    type Out = Group;

    fn run<O, S, L>(self, case: &'static str, mut ours: O, mut sx: S, mut limit: L) -> Group
    where
        O: FnMut(&mut Encoder) -> Option<Encoded> + 'static,
        S: FnMut() -> Option<SxValue> + 'static,
        L: FnMut() -> Option<Vec<u8>> + 'static,
    {
        let mut enc = Encoder::default();
        Group {
            name: group_name("socketio_encode", case),
            throughput: vec![("", corpus::case(case).wire_len())],
            contenders: vec![
                (
                    "ours".into(),
                    Box::new(move |n| timed(n, || ours(&mut enc))),
                ),
                ("socketioxide".into(), Box::new(move |n| timed(n, &mut sx))),
                ("limit".into(), Box::new(move |n| timed(n, &mut limit))),
            ],
        }
    }
}

/// `socketio_encode/<case>`.
pub fn encode_group(name: &str) -> Group {
    with_encoders(name, EncodeGroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_runs() {
        for mut group in all() {
            assert!(group.throughput_of("ours") > 0, "{}", group.name);
            for (_, run) in &mut group.contenders {
                run(2);
            }
        }
    }

    /// Ours and socketioxide decode every case to the same data; the limit accepts it.
    struct DecodesAgree;

    impl WithTypes for DecodesAgree {
        type Out = ();

        fn run<T: Types>(self, case: Case) {
            let name = case.name;
            let ours: T::Ours = ours_decode(&case, T::PAYLOAD).expect(name);
            let theirs: T::Sx = sx_decode(&case, T::PAYLOAD).expect(name);
            assert!(T::same(&ours, &theirs), "{name}: {ours:?} != {theirs:?}");
            let ours_value: T::Value = ours_decode(&case, T::PAYLOAD).expect(name);
            if T::SX_VALUE {
                let theirs_value: T::Value = sx_decode(&case, T::PAYLOAD).expect(name);
                assert_eq!(ours_value, theirs_value, "{name}");
            }
            // The Value is the JSON payload (its arguments after the event name).
            let json: Value = serde_json::from_slice(case.json()).unwrap();
            let expected = match (T::PAYLOAD, json) {
                (Payload::ConnectAuth, object) => object,
                (Payload::EventArgs, Value::Array(all)) => Value::Array(all[1..].to_vec()),
                (Payload::AckArgs, array) => array,
                (_, other) => panic!("{name}: {other}"),
            };
            let got = serde_json::to_value(&ours_value).unwrap();
            let got = match (&expected, got) {
                // A single argument reads as itself; wrap it to compare with the list.
                (Value::Array(list), one) if list.len() == 1 && !one.is_array() => {
                    Value::Array(vec![one])
                }
                (_, got) => got,
            };
            assert_eq!(got, expected, "{name}");
            assert!(decode_limit(&case), "{name}");
            serde_json::from_slice::<T::Whole>(case.json()).expect(name);
        }
    }

    #[test]
    fn decoders_agree_on_the_corpus() {
        for name in corpus::CASES {
            with_types(name, DecodesAgree);
        }
    }

    /// The three encoders write the same packet; ours decodes back to the corpus packet.
    struct EncodesAgree;

    impl WithEncoders for EncodesAgree {
        type Out = ();

        fn run<O, S, L>(self, case: &'static str, mut ours: O, mut sx: S, mut limit: L)
        where
            O: FnMut(&mut Encoder) -> Option<Encoded> + 'static,
            S: FnMut() -> Option<SxValue> + 'static,
            L: FnMut() -> Option<Vec<u8>> + 'static,
        {
            let mut enc = Encoder::default();
            let ours = ours(&mut enc).expect(case);
            let theirs = sx().expect(case);
            let limit = limit().expect(case);
            let (text, attachments) = sx::wire(&theirs);
            assert_eq!(&ours.text()[..], text, "{case}");
            assert_eq!(ours.attachments(), &attachments[..], "{case}");
            let c = corpus::case(case);
            assert_eq!(ours.text(), &c.text, "{case}");
            assert_eq!(ours.attachments(), &c.attachments[..], "{case}");
            assert_eq!(&ours.text().as_bytes()[c.json_at..], &limit[..], "{case}");
        }
    }

    #[test]
    fn encoders_agree_on_the_corpus() {
        for name in corpus::CASES {
            with_encoders(name, EncodesAgree);
        }
    }

    #[test]
    fn binary_cases_never_copy_attachment_bytes() {
        // Decoding: the `Binary` arguments are the received attachments.
        let case = corpus::case("binary_2x64k");
        let (_, a, b): <Binary2x64k as Types>::Ours =
            ours_decode(&case, Payload::EventArgs).unwrap();
        assert_eq!(a.as_ptr(), case.attachments[0].as_ptr());
        assert_eq!(b.as_ptr(), case.attachments[1].as_ptr());
        let case = corpus::case("binary_1x1k");
        let (_, a): <Binary1x1k as Types>::Ours = ours_decode(&case, Payload::EventArgs).unwrap();
        assert_eq!(a.as_ptr(), case.attachments[0].as_ptr());

        // Encoding: the packet's attachments are the sent buffers.
        let v = corpus::values();
        let [b0, b1] = v.bin_64k.clone();
        let args = (v.file.clone(), Binary(b0.clone()), Binary(b1.clone()));
        let e = Encoder::default()
            .event(&Nsp::main(), "file", &args, None)
            .unwrap();
        assert_eq!(e.attachments()[0].as_ptr(), b0.as_ptr());
        assert_eq!(e.attachments()[1].as_ptr(), b1.as_ptr());

        // socketioxide copies each attachment when it arrives and when it is sent.
        let case = corpus::case("binary_2x64k");
        let theirs: <Binary2x64k as Types>::Sx = sx_decode(&case, Payload::EventArgs).unwrap();
        assert_ne!(theirs.1.as_ptr(), case.attachments[0].as_ptr());
        let sent = sx::encode_event(&Str::from("/"), "file", &(v.file, b0.clone(), b1), None);
        assert_ne!(sx::wire(&sent.unwrap()).1[0].as_ptr(), b0.as_ptr());
    }

    #[test]
    fn the_binary_limit_checks_the_header() {
        let case = corpus::case("binary_1x1k");
        let kept = binary_limit(case.text.as_bytes(), &case.attachments).unwrap();
        assert_eq!(kept[0].as_ptr(), case.attachments[0].as_ptr());
        assert!(binary_limit(case.text.as_bytes(), &[]).is_none());
        assert!(binary_limit(b"5-[\"a\"]", &case.attachments).is_none());
        assert!(binary_limit(b"51-[\"a\"", &case.attachments).is_none());
        assert!(binary_limit(b"21-[\"a\"]", &case.attachments).is_none());
        assert!(binary_limit(b"51-/admin,7[\"a\"]", &case.attachments).is_some());
    }
}
