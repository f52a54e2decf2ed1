//! The fixed benchmark corpus: 100 Engine.IO messages and their polling bodies.
//!
//! Built from a seeded generator, so every run and every machine measures the same bytes. The v4
//! body is assembled here by hand (text copied, binary base64-encoded with the `base64` crate's
//! standard engine, `0x1E` between packets) rather than with either codec under test, and the
//! tests check that both codecs agree with it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use engineio_proto::payload::v3;
use engineio_proto::{ByteString, Packet};

/// Number of packets in the payload corpus.
pub const PACKETS: usize = 100;

/// The single text packet of the `packet_*` groups, as a WebSocket text frame: an Engine.IO
/// message (`4`) carrying a Socket.IO event (`2["chat",…]`).
pub const SHORT_TEXT_FRAME: &str = r#"42["chat",{"msg":"hello","n":1}]"#;

/// Size of the binary message of the `packet_*` groups.
pub const BINARY_PACKET_LEN: usize = 1024;

/// The corpus: the packets and their wire forms.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The 100 packets, in order: 70 text messages, 30 binary messages.
    pub packets: Vec<Packet>,
    /// The text form of each packet (`4…` or `b<base64>`), in order.
    pub wire: Vec<String>,
    /// The v4 polling body: `wire` joined by `0x1E`.
    pub v4_body: Bytes,
    /// The v3 text polling body of the same packets (`<utf16 len>:<packet>` records).
    pub v3_body: Bytes,
}

/// A splitmix64 generator: small, seeded, the same everywhere.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (the tiny modulo bias does not matter here).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() - 1)]
    }
}

const ASCII_WORDS: &[&str] = &[
    "hello", "world", "socket", "message", "room", "lobby", "ping", "user", "typing", "ok", "the",
    "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "42", "latency",
];

const UNICODE_WORDS: &[&str] = &[
    "héllo",
    "wörld",
    "naïve",
    "ça",
    "€",
    "日本語",
    "привет",
    "😀",
    "señor",
    "Ωmega",
    "🚀",
];

/// Fills a message body of about `len` bytes with words; every few messages mixes in non-ASCII
/// words. Never cuts a character.
fn words(rng: &mut Rng, len: usize, unicode: bool) -> String {
    let mut out = String::with_capacity(len + 8);
    while out.len() < len {
        let word = if unicode && rng.range(0, 2) == 0 {
            rng.pick(UNICODE_WORDS)
        } else {
            rng.pick(ASCII_WORDS)
        };
        if out.len() + word.len() + 1 > len {
            // Pad with ASCII up to the exact length.
            while out.len() < len {
                out.push('x');
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The wire text of one text message of `len` bytes (type digit included).
fn text_message(rng: &mut Rng, index: usize, len: usize) -> String {
    let unicode = index % 4 == 1;
    let prefix = r#"42["chat",{"msg":""#;
    let suffix = format!(r#"","n":{index}}}]"#);
    let overhead = prefix.len() + suffix.len();
    if len > overhead + 4 {
        // A Socket.IO event, the usual content of an Engine.IO message.
        format!("{prefix}{}{suffix}", words(rng, len - overhead, unicode))
    } else {
        // A plain text message.
        format!("4{}", words(rng, len - 1, unicode))
    }
}

/// Builds the corpus. Deterministic: the same packets and bytes on every call.
pub fn corpus() -> Corpus {
    let mut rng = Rng(0x5EED_F1E1_0C0D_EC00);
    let mut packets = Vec::with_capacity(PACKETS);
    let mut wire = Vec::with_capacity(PACKETS);
    for i in 0..PACKETS {
        // Every tenth packet at positions 2, 5 and 8 is binary: 30 binary, 70 text.
        if matches!(i % 10, 2 | 5 | 8) {
            let len = rng.range(16, 1024);
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            wire.push(format!("b{}", STANDARD.encode(&data)));
            packets.push(Packet::Binary(Bytes::from(data)));
        } else {
            let len = rng.range(10, 300);
            let text = text_message(&mut rng, i, len);
            packets.push(Packet::Message(ByteString::from(&text[1..])));
            wire.push(text);
        }
    }
    let v4_body = Bytes::from(wire.join("\x1e"));
    let mut buf = BytesMut::new();
    v3::encode_text_payload(&packets, &mut buf);
    Corpus {
        packets,
        wire,
        v4_body,
        v3_body: buf.freeze(),
    }
}

/// The 1 KiB binary message of the `packet_*` groups and its `b<base64>` text form.
pub fn binary_packet() -> (Packet, String) {
    let mut rng = Rng(0x00B1_4A8B);
    let data: Vec<u8> = (0..BINARY_PACKET_LEN)
        .map(|_| rng.next_u64() as u8)
        .collect();
    let text = format!("b{}", STANDARD.encode(&data));
    (Packet::Binary(Bytes::from(data)), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_has_the_promised_shape() {
        let c = corpus();
        assert_eq!(c.packets.len(), PACKETS);
        let binary: Vec<usize> = c
            .packets
            .iter()
            .filter_map(|p| match p {
                Packet::Binary(b) => Some(b.len()),
                _ => None,
            })
            .collect();
        assert_eq!(binary.len(), 30);
        assert!(binary.iter().all(|n| (16..=1024).contains(n)));
        let text: Vec<&String> = c.wire.iter().filter(|w| w.starts_with('4')).collect();
        assert_eq!(text.len(), 70);
        assert!(text.iter().all(|t| (10..=300).contains(&t.len())));
        assert!(text.iter().any(|t| !t.is_ascii()));
        assert!(text.iter().any(|t| t.starts_with(r#"42["chat",{"msg":""#)));
        assert_eq!(
            memchr::memchr_iter(0x1e, &c.v4_body).count(),
            PACKETS - 1,
            "no separator inside a packet"
        );
    }

    #[test]
    fn our_codec_round_trips_the_corpus() {
        use engineio_proto::payload::v4;
        use engineio_proto::{decode_text_packet, EngineIoVersion};
        let c = corpus();
        assert_eq!(
            v4::decode_payload(c.v4_body.clone(), usize::MAX).unwrap(),
            c.packets
        );
        assert_eq!(
            v3::decode_text_payload(c.v3_body.clone(), usize::MAX).unwrap(),
            c.packets
        );
        let mut buf = BytesMut::new();
        v4::encode_payload(&c.packets, &mut buf);
        assert_eq!(buf.split().freeze(), c.v4_body);
        let (packet, wire) = binary_packet();
        let decoded = decode_text_packet(EngineIoVersion::V4, ByteString::from(wire)).unwrap();
        assert_eq!(decoded, packet);
    }

    #[test]
    fn corpus_is_deterministic() {
        let (a, b) = (corpus(), corpus());
        assert_eq!(a.v4_body, b.v4_body);
        assert_eq!(a.v3_body, b.v3_body);
        assert_eq!(binary_packet(), binary_packet());
    }
}
