//! `engineioxide-core` driven the way engineioxide's server drives it.
//!
//! - Polling POST: the server hands the request body (an `http_body::Body`) to
//!   [`engineioxide_core::payload::decoder`] and takes packets off the returned `Stream` one at
//!   a time. Here the body is an [`http_body_util::Full`] holding the whole payload in one chunk
//!   (a body that has fully arrived), and each packet is passed to a sink as it comes out.
//! - Polling GET: the server hands a `Stream` of [`PacketBuf`]s (its channel of outgoing
//!   packets) to [`engineioxide_core::payload::encoder`], which drains what is ready. Here the
//!   stream is a [`futures_util::stream::iter`] over one-packet `PacketBuf`s, one per emitted
//!   message, as the server queues them.
//! - WebSocket: a text frame is parsed with [`EioPacket::parse`], and an outgoing packet is
//!   turned into its text with `String::from(packet)`.
//!
//! Both polling paths are `async` only to wait for IO; with an in-memory body and a ready stream
//! they complete on the first poll, so they are polled with a no-op waker instead of an
//! executor, which adds nothing to what is measured.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use engineio_proto::Packet;
pub use engineioxide_core::Packet as EioPacket;
use engineioxide_core::{PacketBuf, PacketParseError, ProtocolVersion, Str};
use futures_util::Stream;
use http_body_util::Full;

/// Decodes a v4 polling body with engineioxide-core's payload decoder, handing each packet to
/// `sink` as the stream yields it; returns the packet count.
pub fn decode_v4_payload(
    body: Bytes,
    mut sink: impl FnMut(EioPacket),
) -> Result<usize, PacketParseError> {
    let stream =
        engineioxide_core::payload::decoder(Full::new(body), None, ProtocolVersion::V4, u64::MAX);
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut count = 0;
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(packet)) => {
                sink(packet?);
                count += 1;
            }
            Poll::Ready(None) => return Ok(count),
            Poll::Pending => unreachable!("an in-memory body is always ready"),
        }
    }
}

/// Encodes `packets` (one `PacketBuf` each, as the server queues them) into a v4 polling body
/// with engineioxide-core's payload encoder.
pub fn encode_v4_payload(packets: Vec<PacketBuf>) -> Bytes {
    let stream = futures_util::stream::iter(packets);
    let encoder = engineioxide_core::payload::encoder(stream, ProtocolVersion::V4, false, u64::MAX);
    poll_ready(encoder).data
}

/// Wraps each packet in its own `PacketBuf`, the input of [`encode_v4_payload`].
pub fn packet_bufs(packets: &[EioPacket]) -> Vec<PacketBuf> {
    packets
        .iter()
        .map(|p| {
            let mut buf = PacketBuf::new();
            buf.push(p.clone());
            buf
        })
        .collect()
}

/// Polls a future that is known to be ready on its first poll.
fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the packet stream is always ready"),
    }
}

/// engineioxide-core's equivalent of one of our packets, or `None` for one it has no value for
/// (an `open` packet, whose JSON it models as a struct; the corpus holds only messages).
pub fn to_eio(packet: &Packet) -> Option<EioPacket> {
    Some(match packet {
        Packet::Message(text) => EioPacket::Message(Str::from(text.to_string())),
        Packet::Binary(data) => EioPacket::Binary(data.clone()),
        Packet::Close => EioPacket::Close,
        Packet::Ping(data) if data.is_empty() => EioPacket::Ping,
        Packet::Pong(data) if data.is_empty() => EioPacket::Pong,
        Packet::Ping(_) => EioPacket::PingUpgrade,
        Packet::Pong(_) => EioPacket::PongUpgrade,
        Packet::Upgrade => EioPacket::Upgrade,
        Packet::Noop => EioPacket::Noop,
        _ => return None,
    })
}

/// Whether an engineioxide-core packet is the same message as one of ours.
pub fn same_message(ours: &Packet, theirs: &EioPacket) -> bool {
    match (ours, theirs) {
        (Packet::Message(a), EioPacket::Message(b)) => &**a == b.as_str(),
        (Packet::Binary(a), EioPacket::Binary(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{binary_packet, corpus, SHORT_TEXT_FRAME};

    #[test]
    fn decodes_the_corpus_to_our_packets() {
        let c = corpus();
        let mut got = Vec::new();
        let n = decode_v4_payload(c.v4_body.clone(), |p| got.push(p)).unwrap();
        assert_eq!(n, c.packets.len());
        for (ours, theirs) in c.packets.iter().zip(&got) {
            assert!(same_message(ours, theirs), "{ours:?} != {theirs:?}");
        }
    }

    #[test]
    fn encodes_the_corpus_to_the_same_body() {
        let c = corpus();
        let eio: Vec<EioPacket> = c.packets.iter().filter_map(to_eio).collect();
        assert_eq!(encode_v4_payload(packet_bufs(&eio)), c.v4_body);
    }

    #[test]
    fn single_packets_agree() {
        let text = EioPacket::parse(ProtocolVersion::V4, SHORT_TEXT_FRAME).unwrap();
        assert_eq!(String::from(text), SHORT_TEXT_FRAME);
        let (ours, wire) = binary_packet();
        let theirs = EioPacket::parse(ProtocolVersion::V4, wire.clone()).unwrap();
        assert!(same_message(&ours, &theirs));
        assert_eq!(String::from(theirs), wire);
    }
}
