//! The msgpack parser's groups: the Socket.IO corpus's cases as socket.io-msgpack-parser
//! packets (binary values inline), decoded and encoded by ours, by
//! `socketioxide-parser-msgpack` as socketioxide's server drives it, and by rmp_serde alone
//! (the limit: the whole packet map read into, or written from, the same Rust types, as
//! `serde_typed` is for the JSON codec; for binary packets also `limit_borrowed`, binary read
//! as `&[u8]` views).
//!
//! - `msgpack_decode/<case>`: `ours_typed`, `ours_value`, `socketioxide_typed`,
//!   `socketioxide_value` (text cases), `limit` and (binary cases) `limit_borrowed`.
//! - `msgpack_encode/<case>`: `ours` (the server's [`Encoder`] with [`Parser::Msgpack`]: the
//!   [`socketio_proto::Encoded`] a server sends), `socketioxide` and `limit`
//!   (`rmp_serde::to_vec_named` of the same packet map).
//!
//! Inputs a decoder takes by value (the message as `Bytes`) are cloned inside the timed part,
//! as in [`crate::sio_groups`].

use std::hint::black_box;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketio_proto::msgpack::{decode, MsgpackEncoder};
use socketio_proto::{AckId, Binary, Encoder, EncoderConfig, Nsp, Parser};
use socketioxide_core::parser::{Parse, ParseConfig, ParserState};
use socketioxide_parser_msgpack::MsgPackParser;

use crate::groups::Group;
use crate::paired::{timed, Contender};
use crate::sio_corpus::{self as corpus, Auth, Chat, Doc, FileMeta, Named, Status};
use crate::sio_groups::Payload;
use crate::socketioxide::{self as sx, Str, SxPacket, SxValue};

/// All groups, in run order: per case, decode then encode.
pub fn all() -> Vec<Group> {
    corpus::CASES
        .iter()
        .flat_map(|name| [decode_group(name), encode_group(name)])
        .collect()
}

/// The packet map as the limit reads it.
#[derive(Deserialize)]
struct In<'a, D> {
    #[serde(rename = "type")]
    _kind: u8,
    #[serde(borrow, rename = "nsp")]
    _nsp: &'a str,
    data: D,
    #[serde(default, rename = "id")]
    _id: Option<u64>,
}

/// The packet map as the limit writes it (the server's key order).
#[derive(Serialize)]
struct Out<'a, D> {
    #[serde(rename = "type")]
    kind: u8,
    data: D,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    nsp: &'a str,
}

/// Bytes read as a view of the input (what `Binary` does for us).
#[derive(Debug)]
pub struct Borrowed<'a>(pub &'a [u8]);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de [u8]>::deserialize(d).map(Borrowed)
    }
}

/// Bytes written as `bin`.
struct BinRef<'a>(&'a [u8]);

impl Serialize for BinRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// One case as a msgpack packet, written by our encoder (the server's key order), and where
/// its data is.
#[derive(Debug)]
pub struct MpCase {
    /// The case name.
    pub name: &'static str,
    /// The packet.
    pub bytes: Bytes,
    /// Where the handler's data is.
    pub payload: Payload,
}

/// The msgpack packet of a case.
pub fn mp_case(name: &str) -> MpCase {
    let v = corpus::values();
    let mut e = MsgpackEncoder::default();
    let (main, admin) = (Nsp::main(), Nsp::from_static("/admin"));
    let (name, bytes, payload) = match name {
        "small_event" => (
            "small_event",
            e.event(&main, "chat", &v.chat, None),
            Payload::EventArgs,
        ),
        "nsp_event_ack_id" => (
            "nsp_event_ack_id",
            e.event(&admin, "update", &v.update, Some(AckId(17))),
            Payload::EventArgs,
        ),
        "ack" => ("ack", e.ack(&admin, AckId(17), &v.status), Payload::AckArgs),
        "event_1k" => (
            "event_1k",
            e.event(&main, "update", &v.doc_1k, None),
            Payload::EventArgs,
        ),
        "event_64k" => (
            "event_64k",
            e.event(&main, "update", &v.doc_64k, None),
            Payload::EventArgs,
        ),
        "binary_1x1k" => (
            "binary_1x1k",
            e.event(&main, "file", &(&v.file, Binary(v.bin_1k.clone())), None),
            Payload::EventArgs,
        ),
        "binary_2x64k" => {
            let [b0, b1] = v.bin_64k;
            (
                "binary_2x64k",
                e.event(&main, "file", &(&v.file, Binary(b0), Binary(b1)), None),
                Payload::EventArgs,
            )
        }
        "connect_auth" => (
            "connect_auth",
            e.connect(&admin, Some(&v.auth)),
            Payload::ConnectAuth,
        ),
        other => panic!("no case {other}"),
    };
    MpCase {
        name,
        bytes: bytes.expect("the corpus encodes"),
        payload,
    }
}

type Run = Box<dyn FnMut(u64) -> std::time::Duration>;

/// Our decode of a packet, read as a handler reads it.
pub fn ours_read<T: DeserializeOwned>(bytes: &Bytes, payload: Payload) -> Option<T> {
    let packet = decode(bytes.clone()).ok()?;
    match payload {
        Payload::EventArgs | Payload::AckArgs => packet.args().ok(),
        Payload::ConnectAuth => packet.data().ok()?,
    }
}

/// socketioxide's msgpack decode of a packet, read as its extractors read it.
pub fn sx_read<T: DeserializeOwned>(bytes: &Bytes, payload: Payload) -> Option<T> {
    let config = ParseConfig::default();
    let state = ParserState::default();
    let mut packet: SxPacket = MsgPackParser
        .decode_bin(&config, &state, bytes.clone())
        .ok()?;
    let value = sx::payload(&mut packet)?;
    match payload {
        Payload::EventArgs => MsgPackParser.decode_value(value, true).ok(),
        Payload::AckArgs => MsgPackParser.decode_value(value, false).ok(),
        Payload::ConnectAuth => MsgPackParser.decode_default(Some(value)).ok(),
    }
}

fn ours<T: DeserializeOwned + 'static>(c: &MpCase) -> Run {
    let (bytes, payload) = (c.bytes.clone(), c.payload);
    Box::new(move |n| timed(n, || ours_read::<T>(black_box(&bytes), payload)))
}

fn theirs<T: DeserializeOwned + 'static>(c: &MpCase) -> Run {
    let (bytes, payload) = (c.bytes.clone(), c.payload);
    Box::new(move |n| timed(n, || sx_read::<T>(black_box(&bytes), payload)))
}

/// rmp_serde alone reading the whole packet into `D`.
fn limit<D>(c: &MpCase) -> Run
where
    D: for<'a> Deserialize<'a> + 'static,
{
    let bytes = c.bytes.clone();
    Box::new(move |n| {
        timed(n, || {
            rmp_serde::from_slice::<In<D>>(black_box(&bytes))
                .ok()
                .map(|p| p.data)
        })
    })
}

/// rmp_serde alone reading the whole packet, borrowing binary (the binary cases).
fn limit_binary(c: &MpCase, attachments: usize) -> Run {
    let bytes = c.bytes.clone();
    if attachments == 1 {
        Box::new(move |n| {
            timed(n, || {
                let p: In<(&str, FileMeta, Borrowed)> =
                    rmp_serde::from_slice(black_box(&bytes)).ok()?;
                Some(p.data.2 .0.len())
            })
        })
    } else {
        Box::new(move |n| {
            timed(n, || {
                let p: In<(&str, FileMeta, Borrowed, Borrowed)> =
                    rmp_serde::from_slice(black_box(&bytes)).ok()?;
                Some(p.data.2 .0.len() + p.data.3 .0.len())
            })
        })
    }
}

/// `msgpack_decode/<case>`.
pub fn decode_group(name: &str) -> Group {
    let c = mp_case(name);
    let mut contenders: Vec<Contender<'static>> = Vec::new();
    macro_rules! text_case {
        ($typed:ty, $value:ty, $whole:ty) => {{
            contenders.push(("ours_typed".into(), ours::<$typed>(&c)));
            contenders.push(("ours_value".into(), ours::<$value>(&c)));
            contenders.push(("socketioxide_typed".into(), theirs::<$typed>(&c)));
            contenders.push(("socketioxide_value".into(), theirs::<$value>(&c)));
            contenders.push(("limit".into(), limit::<$whole>(&c)));
        }};
    }
    match c.name {
        "small_event" => text_case!(Chat, Value, (String, Chat)),
        "nsp_event_ack_id" => text_case!((u32, Named), (Value, Value), (String, u32, Named)),
        "ack" => text_case!(Status, Value, (Status,)),
        "event_1k" | "event_64k" => text_case!(Doc, Value, (String, Doc)),
        "connect_auth" => text_case!(Auth, Value, Auth),
        // The limit reads the same types (rmp_serde copies into a `Binary`); the borrowed
        // limit reads binary as `&[u8]`, what no owned type can match.
        "binary_1x1k" => {
            contenders.push(("ours_typed".into(), ours::<(FileMeta, Binary)>(&c)));
            contenders.push(("socketioxide_typed".into(), theirs::<(FileMeta, Bytes)>(&c)));
            contenders.push(("limit".into(), limit::<(String, FileMeta, Binary)>(&c)));
            contenders.push(("limit_borrowed".into(), limit_binary(&c, 1)));
        }
        "binary_2x64k" => {
            contenders.push(("ours_typed".into(), ours::<(FileMeta, Binary, Binary)>(&c)));
            contenders.push((
                "socketioxide_typed".into(),
                theirs::<(FileMeta, Bytes, Bytes)>(&c),
            ));
            contenders.push((
                "limit".into(),
                limit::<(String, FileMeta, Binary, Binary)>(&c),
            ));
            contenders.push(("limit_borrowed".into(), limit_binary(&c, 2)));
        }
        other => panic!("no case {other}"),
    }
    Group {
        name: String::leak(format!("msgpack_decode/{}", c.name)),
        throughput: vec![("", c.bytes.len() as u64)],
        contenders,
    }
}

/// socketioxide's msgpack encode of an event (its `emit`), an ack or a CONNECT.
fn sx_event<T: Serialize + ?Sized>(
    ns: &str,
    event: &str,
    data: &T,
    ack: Option<i64>,
) -> Option<SxValue> {
    let value = MsgPackParser.encode_value(data, Some(event)).ok()?;
    let mut packet = SxPacket::event(Str::from(ns.to_owned()), value);
    if let Some(id) = ack {
        packet.inner.set_ack_id(id);
    }
    Some(MsgPackParser.encode(packet))
}

/// `msgpack_encode/<case>`.
pub fn encode_group(name: &str) -> Group {
    let v = corpus::values();
    let c = mp_case(name);
    let (main, admin) = (Nsp::main(), Nsp::from_static("/admin"));
    let mut enc = Encoder::new(EncoderConfig::default().with_parser(Parser::Msgpack));
    let (ours, theirs, limit): (Run, Run, Run) = match name {
        "small_event" | "event_1k" | "event_64k" => {
            let (event, value): (&'static str, Box<dyn ErasedArg>) = match name {
                "small_event" => ("chat", Box::new(v.chat)),
                "event_1k" => ("update", Box::new(v.doc_1k)),
                _ => ("update", Box::new(v.doc_64k)),
            };
            let value: std::rc::Rc<dyn ErasedArg> = std::rc::Rc::from(value);
            let (a, b, l) = (value.clone(), value.clone(), value);
            (
                Box::new(move |n| timed(n, || a.ours(&mut enc, &main, event))),
                Box::new(move |n| timed(n, || b.sx("/", event))),
                Box::new(move |n| timed(n, || l.limit(event))),
            )
        }
        "nsp_event_ack_id" => {
            let (a, b, l) = (v.update.clone(), v.update.clone(), v.update);
            (
                Box::new(move |n| {
                    timed(n, || {
                        enc.event(&admin, "update", black_box(&a), Some(AckId(17)))
                            .ok()
                    })
                }),
                Box::new(move |n| {
                    timed(n, || sx_event("/admin", "update", black_box(&b), Some(17)))
                }),
                Box::new(move |n| {
                    timed(n, || {
                        let (num, named) = black_box(&l);
                        let out = Out {
                            kind: 2,
                            data: ("update", num, named),
                            id: Some(17),
                            nsp: "/admin",
                        };
                        rmp_serde::to_vec_named(&out).ok()
                    })
                }),
            )
        }
        "ack" => {
            let (a, b, l) = (v.status.clone(), v.status.clone(), v.status);
            (
                Box::new(move |n| timed(n, || enc.ack(&admin, AckId(17), black_box(&a)).ok())),
                Box::new(move |n| {
                    timed(n, || {
                        let value = MsgPackParser.encode_value(black_box(&b), None).ok()?;
                        let packet = SxPacket::ack(Str::from("/admin"), value, 17);
                        Some(MsgPackParser.encode(packet))
                    })
                }),
                Box::new(move |n| {
                    timed(n, || {
                        let out = Out {
                            kind: 3,
                            data: (black_box(&l),),
                            id: Some(17),
                            nsp: "/admin",
                        };
                        rmp_serde::to_vec_named(&out).ok()
                    })
                }),
            )
        }
        "binary_1x1k" | "binary_2x64k" => {
            let bins: Vec<Bytes> = if name == "binary_1x1k" {
                vec![v.bin_1k.clone()]
            } else {
                v.bin_64k.to_vec()
            };
            let file = v.file.clone();
            let (f1, f2, f3) = (file.clone(), file.clone(), file);
            let (b1, b2, b3) = (bins.clone(), bins.clone(), bins);
            (
                Box::new(move |n| {
                    timed(n, || match &b1[..] {
                        [x] => enc
                            .event(&main, "file", &(&f1, Binary(x.clone())), None)
                            .ok(),
                        [x, y] => enc
                            .event(
                                &main,
                                "file",
                                &(&f1, Binary(x.clone()), Binary(y.clone())),
                                None,
                            )
                            .ok(),
                        _ => None,
                    })
                }),
                Box::new(move |n| {
                    timed(n, || match &b2[..] {
                        [x] => sx_event("/", "file", &(&f2, x), None),
                        [x, y] => sx_event("/", "file", &(&f2, x, y), None),
                        _ => None,
                    })
                }),
                Box::new(move |n| {
                    timed(n, || {
                        let out = match &b3[..] {
                            [x] => rmp_serde::to_vec_named(&Out {
                                kind: 2,
                                data: ("file", &f3, BinRef(x)),
                                id: None,
                                nsp: "/",
                            }),
                            [x, y] => rmp_serde::to_vec_named(&Out {
                                kind: 2,
                                data: ("file", &f3, BinRef(x), BinRef(y)),
                                id: None,
                                nsp: "/",
                            }),
                            _ => return None,
                        };
                        out.ok()
                    })
                }),
            )
        }
        "connect_auth" => {
            let (a, b, l) = (v.auth.clone(), v.auth.clone(), v.auth);
            (
                Box::new(move |n| timed(n, || enc.connect(&admin, Some(black_box(&a))).ok())),
                Box::new(move |n| {
                    timed(n, || {
                        let value = MsgPackParser.encode_default(black_box(&b)).ok()?;
                        Some(
                            MsgPackParser
                                .encode(SxPacket::connect(Str::from("/admin"), Some(value))),
                        )
                    })
                }),
                Box::new(move |n| {
                    timed(n, || {
                        let out = Out {
                            kind: 0,
                            data: black_box(&l),
                            id: None,
                            nsp: "/admin",
                        };
                        rmp_serde::to_vec_named(&out).ok()
                    })
                }),
            )
        }
        other => panic!("no case {other}"),
    };
    Group {
        name: String::leak(format!("msgpack_encode/{}", c.name)),
        throughput: vec![("", c.bytes.len() as u64)],
        contenders: vec![
            ("ours".into(), ours),
            ("socketioxide".into(), theirs),
            ("limit".into(), limit),
        ],
    }
}

/// One event argument of a text case, for the three encoders.
trait ErasedArg {
    fn ours(&self, enc: &mut Encoder, nsp: &Nsp, event: &str) -> Option<socketio_proto::Encoded>;
    fn sx(&self, nsp: &str, event: &str) -> Option<SxValue>;
    fn limit(&self, event: &str) -> Option<Vec<u8>>;
}

impl<T: Serialize> ErasedArg for T {
    fn ours(&self, enc: &mut Encoder, nsp: &Nsp, event: &str) -> Option<socketio_proto::Encoded> {
        enc.event(nsp, event, black_box(self), None).ok()
    }
    fn sx(&self, nsp: &str, event: &str) -> Option<SxValue> {
        sx_event(nsp, event, black_box(self), None)
    }
    fn limit(&self, event: &str) -> Option<Vec<u8>> {
        let out = Out {
            kind: 2,
            data: (event, black_box(self)),
            id: None,
            nsp: "/",
        };
        rmp_serde::to_vec_named(&out).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every decoder reads every case into equal data (the types of the groups), and decoded
    /// binary points into the message.
    #[test]
    fn decoders_agree() {
        fn same<T: DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str) {
            let c = mp_case(name);
            let ours: Option<T> = ours_read(&c.bytes, c.payload);
            assert!(ours.is_some(), "{name}");
            assert_eq!(ours, sx_read::<T>(&c.bytes, c.payload), "{name}");
        }
        same::<Chat>("small_event");
        same::<Value>("small_event");
        same::<(u32, Named)>("nsp_event_ack_id");
        same::<(Value, Value)>("nsp_event_ack_id");
        same::<Status>("ack");
        same::<Value>("ack");
        same::<Doc>("event_1k");
        same::<Value>("event_64k");
        same::<Auth>("connect_auth");
        same::<Value>("connect_auth");
        let c = mp_case("binary_1x1k");
        let (f, b): (FileMeta, Binary) = ours_read(&c.bytes, c.payload).unwrap();
        let (g, d): (FileMeta, Bytes) = sx_read(&c.bytes, c.payload).unwrap();
        assert_eq!((f, b.0), (g, d));
        let c = mp_case("binary_2x64k");
        let (_, b0, b1): (FileMeta, Binary, Binary) = ours_read(&c.bytes, c.payload).unwrap();
        let inside = c.bytes.as_ptr() as usize..c.bytes.as_ptr() as usize + c.bytes.len();
        assert!(
            inside.contains(&(b0.as_ptr() as usize)) && inside.contains(&(b1.as_ptr() as usize))
        );
    }

    /// Every encoder writes packets the decoders read back to the same data; ours are the
    /// corpus bytes.
    #[test]
    fn encoders_agree() {
        let v = corpus::values();
        let c = mp_case("small_event");
        let mine = Encoder::new(EncoderConfig::default().with_parser(Parser::Msgpack))
            .event(&Nsp::main(), "chat", &v.chat, None)
            .unwrap();
        assert_eq!(mine.msgpack(), Some(&c.bytes));
        let SxValue::Bytes(theirs) = sx_event("/", "chat", &v.chat, None).unwrap() else {
            panic!("bytes");
        };
        let back: Chat = ours_read(&Bytes::from(theirs.to_vec()), Payload::EventArgs).unwrap();
        assert_eq!(back, v.chat);
        let limit = Out {
            kind: 2,
            data: ("chat", &v.chat),
            id: None,
            nsp: "/",
        };
        assert_eq!(rmp_serde::to_vec_named(&limit).unwrap(), c.bytes.to_vec());
    }
}
