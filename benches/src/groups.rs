//! The benchmark groups and their contenders, shared by the criterion target
//! (`engineio_codec`, through `iter_custom`) and the paired-ratio target (`engineio_ratios`).
//!
//! Contender names: `ours`, `engineioxide_core`, `bare_limit` (see [`crate::bare`]; the v4
//! decode group also has `bare_limit_scalar_base64`), prefixed
//! with the input's name in the single-packet groups (`text/ours`).
//!
//! Fairness rules: every contender's output is dropped inside the timed part. engineioxide-core's
//! encoders consume owned packets, so their inputs are cloned before the timed part
//! ([`timed_batched`]), which can only favour it. Inputs that are `Bytes` are cloned inside the
//! timed part for every contender (a reference count increment), as a server hands over a body
//! it owns.

use bytes::BytesMut;
use engineio_proto::payload::{v3, v4};
use engineio_proto::{
    decode_text_packet, encode_text_packet, encode_ws_frame, ByteString, EngineIoVersion, Packet,
};
use engineioxide_core::ProtocolVersion as EioVersion;

use crate::bare;
use crate::corpus::{binary_packet, corpus, SHORT_TEXT_FRAME};
use crate::engineioxide::{self as eio, EioPacket};
use crate::paired::{timed, timed_batched, Contender};

/// One benchmark group.
pub struct Group {
    /// Criterion group name.
    pub name: &'static str,
    /// Bytes of wire data one iteration handles, per contender prefix (`""` for whole-group).
    pub throughput: Vec<(&'static str, u64)>,
    /// The contenders, in display order.
    pub contenders: Vec<Contender<'static>>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.contenders.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Group")
            .field("name", &self.name)
            .field("contenders", &names)
            .finish()
    }
}

impl Group {
    /// The throughput in bytes for a contender name (matched by prefix).
    pub fn throughput_of(&self, contender: &str) -> u64 {
        self.throughput
            .iter()
            .find(|(prefix, _)| contender.starts_with(prefix))
            .map_or(0, |&(_, bytes)| bytes)
    }
}

/// All groups, in run order.
pub fn all() -> Vec<Group> {
    vec![
        v4_payload_decode(),
        v4_payload_encode(),
        packet_decode(),
        packet_encode(),
        v3_payload_decode(),
        v3_payload_encode(),
    ]
}

/// `v4_payload_decode`: the corpus's v4 polling body into packets.
pub fn v4_payload_decode() -> Group {
    let body = corpus().v4_body;
    let len = body.len() as u64;
    let (b1, b2, b3, b4) = (body.clone(), body.clone(), body.clone(), body);
    Group {
        name: "v4_payload_decode",
        throughput: vec![("", len)],
        contenders: vec![
            (
                "ours".into(),
                Box::new(move |n| timed(n, || v4::decode_payload(b1.clone(), usize::MAX))),
            ),
            (
                "engineioxide_core".into(),
                Box::new(move |n| {
                    timed(n, || {
                        eio::decode_v4_payload(b2.clone(), |p| {
                            std::hint::black_box(p);
                        })
                    })
                }),
            ),
            (
                "bare_limit".into(),
                Box::new(move |n| timed(n, || bare::decode_v4(std::hint::black_box(&b3)))),
            ),
            (
                "bare_limit_scalar_base64".into(),
                Box::new(move |n| timed(n, || bare::decode_v4_scalar(std::hint::black_box(&b4)))),
            ),
        ],
    }
}

/// `v4_payload_encode`: the corpus's packets into a v4 polling body.
pub fn v4_payload_encode() -> Group {
    let c = corpus();
    let theirs: Vec<EioPacket> = c.packets.iter().filter_map(eio::to_eio).collect();
    let (p1, p2) = (c.packets.clone(), c.packets);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    Group {
        name: "v4_payload_encode",
        throughput: vec![("", c.v4_body.len() as u64)],
        contenders: vec![
            (
                "ours".into(),
                Box::new(move |n| {
                    timed(n, || {
                        v4::encode_payload(std::hint::black_box(&p1), &mut buf);
                        buf.split().freeze()
                    })
                }),
            ),
            (
                "engineioxide_core".into(),
                Box::new(move |n| {
                    timed_batched(n, || eio::packet_bufs(&theirs), eio::encode_v4_payload)
                }),
            ),
            (
                "bare_limit".into(),
                Box::new(move |n| {
                    timed(n, || {
                        bare::encode_v4(std::hint::black_box(&p2), &mut out);
                        out.len()
                    })
                }),
            ),
        ],
    }
}

/// The single-packet inputs: (name, text frame, our packet).
fn single_packets() -> Vec<(&'static str, &'static str, Packet)> {
    let (binary, binary_text) = binary_packet();
    vec![
        (
            "text",
            SHORT_TEXT_FRAME,
            Packet::Message(ByteString::from_static(&SHORT_TEXT_FRAME[1..])),
        ),
        // Leaked once, so that both crates can wrap the frame without a copy (`from_static`),
        // as when a WebSocket library hands over a frame it already owns.
        ("binary_1k", String::leak(binary_text), binary),
    ]
}

/// `packet_decode`: one WebSocket text frame into a packet.
pub fn packet_decode() -> Group {
    let mut throughput = Vec::new();
    let mut contenders: Vec<Contender<'static>> = Vec::new();
    for (name, frame, _) in single_packets() {
        throughput.push((name, frame.len() as u64));
        let ours = move |n| {
            timed(n, || {
                decode_text_packet(
                    EngineIoVersion::V4,
                    ByteString::from_static(std::hint::black_box(frame)),
                )
            })
        };
        let theirs = move |n| {
            timed(n, || {
                EioPacket::parse(EioVersion::V4, std::hint::black_box(frame))
            })
        };
        let floor = move |n| timed(n, || bare::decode_packet(std::hint::black_box(frame)));
        contenders.push((format!("{name}/ours"), Box::new(ours)));
        contenders.push((format!("{name}/engineioxide_core"), Box::new(theirs)));
        contenders.push((format!("{name}/bare_limit"), Box::new(floor)));
    }
    Group {
        name: "packet_decode",
        throughput,
        contenders,
    }
}

/// `packet_encode`: one packet into a WebSocket text frame.
///
/// `ours` is [`encode_ws_frame`] and [`engineio_proto::WsFrame::joined`]: the frame's text in one buffer, as
/// engineioxide makes it (our WebSocket writer takes the packet's digit and data apart and
/// needs no joined text); `ours_text_packet` is [`encode_text_packet`] and `split().freeze()`,
/// the bytes alone.
pub fn packet_encode() -> Group {
    let mut throughput = Vec::new();
    let mut contenders: Vec<Contender<'static>> = Vec::new();
    for (name, frame, packet) in single_packets() {
        throughput.push((name, frame.len() as u64));
        let theirs_packet = eio::to_eio(&packet).expect("a message");
        let (p1, p2, p3) = (packet.clone(), packet.clone(), packet);
        let mut buf1 = BytesMut::new();
        let mut buf2 = BytesMut::new();
        let mut out = Vec::new();
        let ours = move |n| {
            timed_batched(
                n,
                || p1.clone(),
                |p| encode_ws_frame(EngineIoVersion::V4, p, false, &mut buf1).joined(),
            )
        };
        let ours_bytes = move |n| {
            timed(n, || {
                encode_text_packet(EngineIoVersion::V4, std::hint::black_box(&p2), &mut buf2);
                buf2.split().freeze()
            })
        };
        let theirs = move |n| timed_batched(n, || theirs_packet.clone(), String::from);
        let floor = move |n| {
            timed(n, || {
                out.clear();
                bare::encode_packet(std::hint::black_box(&p3), &mut out);
                out.len()
            })
        };
        contenders.push((format!("{name}/ours"), Box::new(ours)));
        contenders.push((format!("{name}/ours_text_packet"), Box::new(ours_bytes)));
        contenders.push((format!("{name}/engineioxide_core"), Box::new(theirs)));
        contenders.push((format!("{name}/bare_limit"), Box::new(floor)));
    }
    Group {
        name: "packet_encode",
        throughput,
        contenders,
    }
}

/// `v3_payload_decode`: the same packets as a v3 text body, ours only.
pub fn v3_payload_decode() -> Group {
    let body = corpus().v3_body;
    let len = body.len() as u64;
    Group {
        name: "v3_payload_decode",
        throughput: vec![("", len)],
        contenders: vec![(
            "ours".into(),
            Box::new(move |n| timed(n, || v3::decode_text_payload(body.clone(), usize::MAX))),
        )],
    }
}

/// `v3_payload_encode`: the packets into a v3 text body, ours only.
pub fn v3_payload_encode() -> Group {
    let c = corpus();
    let packets = c.packets;
    let mut buf = BytesMut::new();
    Group {
        name: "v3_payload_encode",
        throughput: vec![("", c.v3_body.len() as u64)],
        contenders: vec![(
            "ours".into(),
            Box::new(move |n| {
                timed(n, || {
                    v3::encode_text_payload(std::hint::black_box(&packets), &mut buf);
                    buf.split().freeze()
                })
            }),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contender_runs() {
        for mut group in all() {
            let names: Vec<String> = group.contenders.iter().map(|(n, _)| n.clone()).collect();
            for name in &names {
                assert!(group.throughput_of(name) > 0, "{} {name}", group.name);
            }
            for (_, run) in &mut group.contenders {
                run(2);
            }
        }
    }
}
