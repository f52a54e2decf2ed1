//! The fixed Socket.IO benchmark corpus: eight packets, from a 30-byte chat event to a 64 KB
//! document and two 64 KiB attachments, with the Rust types a handler would read them into.
//!
//! The texts are what our [`socketio_proto::Decoder`] takes: the data of an Engine.IO message,
//! without its leading `4` (so the issue's `42["chat",…]` is `2["chat",…]` here). The small
//! packets are written out literally; the JSON of the large ones is `serde_json::to_string` of a
//! generated [`Doc`] (byte for byte what `JSON.stringify` writes for it: raw UTF-8, `\"`, `\\`,
//! `\n`, `\u0001`), behind a header written by hand, so neither codec under test builds its own
//! input.

use bytes::Bytes;
use engineio_proto::ByteString;
use serde::{Deserialize, Serialize};

/// `small_event`: the chat message of `2["chat",{"msg":"hello","n":1}]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    /// The message.
    pub msg: String,
    /// A counter.
    pub n: u32,
}

/// The object argument of `nsp_event_ack_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    /// A name.
    pub name: String,
}

/// `ack`: the one argument of `3/admin,17[{"status":"ok"}]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The status.
    pub status: String,
}

/// `connect_auth`: the auth object of a CONNECT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Auth {
    /// A bearer token.
    pub token: String,
    /// The user name.
    pub user: String,
}

/// One line of a [`Doc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Item name (ASCII).
    pub name: String,
    /// A price with a fractional part.
    pub price: f64,
    /// A quantity.
    pub qty: u32,
    /// A flag.
    pub ok: bool,
    /// Free text with escapes (`\n`, `\"`, `\u0001`) and non-ASCII (`é`, `€`, `日本`, `😀`).
    pub note: String,
    /// A small nested array.
    pub dims: Vec<u32>,
}

/// Metadata of a [`Doc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// A timestamp.
    pub created: String,
    /// A version number.
    pub version: u32,
    /// Some flags.
    pub flags: Vec<bool>,
    /// An optional field, `null` on the wire.
    pub parent: Option<u64>,
}

/// `event_1k` / `event_64k`: a document of nested objects and arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    /// An id.
    pub id: u64,
    /// A title with escapes and non-ASCII.
    pub title: String,
    /// Short strings.
    pub tags: Vec<String>,
    /// The bulk of the document.
    pub items: Vec<Item>,
    /// A nested object.
    pub meta: Meta,
}

/// The JSON object that travels next to the attachments of the binary cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMeta {
    /// A file name.
    pub name: String,
    /// A media type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The smallest [`Doc`] whose JSON is at least `target` bytes. Deterministic.
pub fn doc(target: usize) -> Doc {
    const NOTES: [&str; 4] = [
        "plain ascii note",
        "line\nbreak and \"quotes\"",
        "caf\u{e9} \u{20ac}5 \u{65e5}\u{672c} \u{1F600}",
        "tab\tand \\ backslash \u{1}",
    ];
    let mut d = Doc {
        id: 1_234_567,
        title: "Caf\u{e9} \"quoted\" \\ path \u{2713}".into(),
        tags: (0..6).map(|i| format!("tag-{i}")).collect(),
        items: Vec::new(),
        meta: Meta {
            created: "2026-11-22T02:00:00Z".into(),
            version: 3,
            flags: vec![true, false, true],
            parent: None,
        },
    };
    let mut len = serde_json::to_vec(&d).map_or(0, |v| v.len());
    let mut i = 0u32;
    while len < target {
        let item = Item {
            name: format!("item {i}"),
            price: 1.25 + f64::from(i),
            qty: i * 7 % 13,
            ok: i.is_multiple_of(3),
            note: format!("{} #{i}", NOTES[i as usize % NOTES.len()]),
            dims: vec![i, i + 1, i + 2],
        };
        // The item, plus the comma before it.
        len += serde_json::to_vec(&item).map_or(0, |v| v.len()) + usize::from(i > 0);
        d.items.push(item);
        i += 1;
    }
    d
}

/// The file name and type of the binary cases.
pub fn file_meta() -> FileMeta {
    FileMeta {
        name: "photo.jpg".into(),
        kind: "image/jpeg".into(),
    }
}

/// Deterministic attachment bytes (not all equal, so a mix-up of two attachments shows).
pub fn attachment(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

/// The cases, in the order of the benchmark groups.
pub const CASES: [&str; 8] = [
    "small_event",
    "nsp_event_ack_id",
    "ack",
    "event_1k",
    "event_64k",
    "binary_1x1k",
    "binary_2x64k",
    "connect_auth",
];

/// One packet of the corpus, as it arrives: a text message and its binary messages.
#[derive(Debug, Clone)]
pub struct Case {
    /// One of [`CASES`].
    pub name: &'static str,
    /// The Socket.IO packet text (the data of the Engine.IO message).
    pub text: ByteString,
    /// Where the JSON payload starts in `text`.
    pub json_at: usize,
    /// The binary attachments, in order.
    pub attachments: Vec<Bytes>,
}

impl Case {
    fn new(name: &'static str, text: String, attachments: Vec<Bytes>) -> Case {
        let json_at = text.find(['[', '{']).unwrap_or(text.len());
        Case {
            name,
            text: ByteString::from(text),
            json_at,
            attachments,
        }
    }

    /// The JSON payload (after namespace and ack id).
    pub fn json(&self) -> &[u8] {
        &self.text.as_bytes()[self.json_at..]
    }

    /// Bytes on the wire: the text and the attachments.
    pub fn wire_len(&self) -> u64 {
        (self.text.len() + self.attachments.iter().map(Bytes::len).sum::<usize>()) as u64
    }
}

/// The text of an EVENT on `/` named `name` whose arguments are `args` (a JSON array's
/// elements, as `serde_json` writes them), with a BINARY_EVENT header when `attachments > 0`.
fn event_text(name: &str, args: &str, attachments: usize) -> String {
    let header = if attachments > 0 {
        format!("5{attachments}-")
    } else {
        "2".to_owned()
    };
    format!("{header}[\"{name}\",{args}]")
}

/// A placeholder as JavaScript's socket.io-parser writes it.
fn placeholder(num: usize) -> String {
    format!("{{\"_placeholder\":true,\"num\":{num}}}")
}

/// The whole corpus.
pub fn cases() -> Vec<Case> {
    let meta = json(&file_meta());
    vec![
        Case::new(
            "small_event",
            r#"2["chat",{"msg":"hello","n":1}]"#.into(),
            vec![],
        ),
        Case::new(
            "nsp_event_ack_id",
            r#"2/admin,17["update",1,{"name":"x"}]"#.into(),
            vec![],
        ),
        Case::new("ack", r#"3/admin,17[{"status":"ok"}]"#.into(), vec![]),
        Case::new(
            "event_1k",
            event_text("update", &json(&doc(1024)), 0),
            vec![],
        ),
        Case::new(
            "event_64k",
            event_text("update", &json(&doc(64 * 1024)), 0),
            vec![],
        ),
        Case::new(
            "binary_1x1k",
            event_text("file", &format!("{meta},{}", placeholder(0)), 1),
            vec![attachment(1024, 1)],
        ),
        Case::new(
            "binary_2x64k",
            event_text(
                "file",
                &format!("{meta},{},{}", placeholder(0), placeholder(1)),
                2,
            ),
            vec![attachment(64 * 1024, 2), attachment(64 * 1024, 3)],
        ),
        Case::new(
            "connect_auth",
            r#"0/admin,{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqbyJ9.c2lnbmF0dXJl","user":"jo"}"#
                .into(),
            vec![],
        ),
    ]
}

/// One case by name.
pub fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// The values a sender emits for each case (the inputs of the encode groups).
#[derive(Debug, Clone)]
pub struct Values {
    /// `small_event`.
    pub chat: Chat,
    /// `nsp_event_ack_id`: the two arguments.
    pub update: (u32, Named),
    /// `ack`.
    pub status: Status,
    /// `event_1k`.
    pub doc_1k: Doc,
    /// `event_64k`.
    pub doc_64k: Doc,
    /// The JSON argument of the binary cases.
    pub file: FileMeta,
    /// `binary_1x1k`'s attachment.
    pub bin_1k: Bytes,
    /// `binary_2x64k`'s attachments.
    pub bin_64k: [Bytes; 2],
    /// `connect_auth`.
    pub auth: Auth,
}

/// The values of [`cases`].
pub fn values() -> Values {
    Values {
        chat: Chat {
            msg: "hello".into(),
            n: 1,
        },
        update: (1, Named { name: "x".into() }),
        status: Status {
            status: "ok".into(),
        },
        doc_1k: doc(1024),
        doc_64k: doc(64 * 1024),
        file: file_meta(),
        bin_1k: attachment(1024, 1),
        bin_64k: [attachment(64 * 1024, 2), attachment(64 * 1024, 3)],
        auth: Auth {
            token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqbyJ9.c2lnbmF0dXJl".into(),
            user: "jo".into(),
        },
    }
}

/// `serde_json::to_string`, for building the corpus texts (the values cannot fail).
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_shapes() {
        let cs = cases();
        assert_eq!(
            cs.iter().map(|c| c.name).collect::<Vec<_>>(),
            CASES.to_vec()
        );
        for c in &cs {
            // Every JSON part is well-formed.
            serde_json::from_slice::<serde_json::Value>(c.json()).unwrap();
        }
        let len = |n: &str| case(n).json().len();
        assert!(
            (1024..1200).contains(&len("event_1k")),
            "{}",
            len("event_1k")
        );
        assert!(
            (64 * 1024..66 * 1024).contains(&len("event_64k")),
            "{}",
            len("event_64k")
        );
        let big = case("event_64k");
        for needle in [
            "\\n",
            "\\\"",
            "\\\\",
            "\\u0001",
            "\u{e9}",
            "\u{1F600}",
            "null",
        ] {
            assert!(big.text.contains(needle), "{needle}");
        }
        assert_eq!(
            &*case("binary_1x1k").text,
            r#"51-["file",{"name":"photo.jpg","type":"image/jpeg"},{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(case("binary_2x64k").attachments.len(), 2);
    }

    #[test]
    fn values_are_the_corpus_json() {
        let v = values();
        let arg = |name: &str| {
            let json: serde_json::Value = serde_json::from_slice(case(name).json()).unwrap();
            json
        };
        assert_eq!(arg("event_1k")[1], serde_json::to_value(&v.doc_1k).unwrap());
        assert_eq!(
            arg("event_64k")[1],
            serde_json::to_value(&v.doc_64k).unwrap()
        );
        assert_eq!(arg("connect_auth"), serde_json::to_value(&v.auth).unwrap());
    }
}
