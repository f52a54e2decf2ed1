//! The reassembly machine under arbitrary sequences of text and binary messages: no panic,
//! never more pending attachments than the limit, and every completed binary packet's
//! placeholders resolve.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use bytestring::ByteString;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_proto::{Args, Binary, Decoded, Decoder, DecoderConfig};

#[derive(Arbitrary, Debug)]
enum Msg {
    Text(String),
    /// A binary header built from parts, to reach reassembly often.
    Header {
        count: u8,
        nsp: Option<String>,
        id: Option<u32>,
        nums: Vec<i8>,
    },
    Binary(Vec<u8>),
}

fuzz_target!(|input: (u8, Vec<Msg>)| {
    let (max, msgs) = input;
    let max = usize::from(max % 16);
    let mut dec = Decoder::new(DecoderConfig::default().with_max_attachments(max));
    for m in msgs {
        let r = match m {
            Msg::Text(t) => dec.decode_text(ByteString::from(t)),
            Msg::Header {
                count,
                nsp,
                id,
                nums,
            } => {
                let mut t = format!("5{count}-");
                if let Some(n) = nsp {
                    t.push('/');
                    t.push_str(&n.replace(',', ""));
                    t.push(',');
                }
                if let Some(id) = id {
                    t.push_str(&id.to_string());
                }
                t.push_str("[\"e\"");
                for n in nums {
                    t.push_str(&format!(",{{\"_placeholder\":true,\"num\":{n}}}"));
                }
                t.push(']');
                dec.decode_text(ByteString::from(t))
            }
            Msg::Binary(b) => dec.decode_binary(Bytes::from(b)),
        };
        if let Ok(Decoded::Packet(p)) = r {
            assert!(p.attachments().len() <= max);
            if !p.attachments().is_empty() && p.payload_json().is_some() {
                // Placeholders were checked: reading every argument as binary-or-value works
                // or fails with a typed error, never a panic.
                let _ = p.args::<Args<Binary>>();
                let _ = p.args::<Args<Value>>().unwrap();
                let _ = p.args::<Vec<Binary>>();
            }
        }
    }
});
