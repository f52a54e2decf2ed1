//! RFC 6455 framing: the sans-IO WebSocket codec against hand-built frames (fragmentation,
//! control frames between fragments, masking both ways, close codes and the close handshake,
//! UTF-8 across fragments, limits), and properties over arbitrary input.

use bytes::{Bytes, BytesMut};
use engineio_proto::websocket::{
    apply_mask, close_code_allowed, write_frame, CloseFrame, Decoder, Event, Incoming, Message,
    OpCode, Role, SendError, WebSocket, WsError,
};
use proptest::prelude::*;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a client writes it (masked).
fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    write_frame(&mut out, opcode, fin, payload, Some(KEY));
    out.to_vec()
}

/// A frame as a server writes it (unmasked).
fn server_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    write_frame(&mut out, opcode, fin, payload, None);
    out.to_vec()
}

fn server() -> WebSocket {
    WebSocket::new(Role::Server, 1 << 16, Box::new(|b: &mut [u8]| b.fill(0)))
}

fn client() -> WebSocket {
    let mut n = 0u8;
    WebSocket::new(
        Role::Client,
        1 << 16,
        Box::new(move |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(1);
                *x = n;
            }
        }),
    )
}

/// Feeds `bytes` to `ws` and returns its events.
fn feed(ws: &mut WebSocket, bytes: &[u8]) -> Vec<Event> {
    let mut buf = BytesMut::from(bytes);
    ws.handle_bytes(&mut buf);
    std::iter::from_fn(|| ws.poll_event()).collect()
}

fn decode_all(role: Role, max: usize, bytes: &[u8]) -> Result<Vec<Incoming>, WsError> {
    let mut dec = Decoder::new(role, max);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(i) = dec.decode(&mut buf)? {
        out.push(i);
    }
    assert!(buf.is_empty(), "bytes left over: {buf:?}");
    Ok(out)
}

fn text(s: &str) -> Event {
    Event::Message(Message::Text(s.into()))
}

fn closed_by(error: WsError) -> Event {
    Event::Closed {
        frame: None,
        error: Some(error),
    }
}

/// A server's close frame with `code` and no reason.
fn close_with(code: u16) -> Bytes {
    Bytes::from(server_frame(OpCode::Close, true, &code.to_be_bytes()))
}

#[test]
fn fragmented_text_is_joined() {
    let mut bytes = client_frame(OpCode::Text, false, b"Hel");
    bytes.extend(client_frame(OpCode::Continuation, false, b"lo, "));
    bytes.extend(client_frame(OpCode::Continuation, true, b"world"));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Ok(vec![Incoming::Text("Hello, world".into())])
    );
}

#[test]
fn control_frames_between_fragments_come_out_at_once() {
    let mut bytes = client_frame(OpCode::Binary, false, &[1, 2]);
    bytes.extend(client_frame(OpCode::Ping, true, b"p"));
    bytes.extend(client_frame(OpCode::Continuation, true, &[3]));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Ok(vec![
            Incoming::Ping(Bytes::from_static(b"p")),
            Incoming::Binary(Bytes::from_static(&[1, 2, 3])),
        ])
    );
    // The connection answers the ping in the middle of the message.
    let mut ws = server();
    assert_eq!(
        feed(&mut ws, &bytes),
        [Event::Message(Message::Binary(Bytes::from_static(&[
            1, 2, 3
        ])))]
    );
    assert_eq!(
        ws.poll_transmit(),
        Some(Bytes::from(server_frame(OpCode::Pong, true, b"p")))
    );
}

#[test]
fn masking_both_ways() {
    // A server refuses an unmasked frame and a client a masked one (§5.1).
    let unmasked = server_frame(OpCode::Text, true, b"x");
    let masked = client_frame(OpCode::Text, true, b"x");
    assert_eq!(
        decode_all(Role::Server, 100, &unmasked),
        Err(WsError::UnmaskedFrame)
    );
    assert_eq!(
        decode_all(Role::Client, 100, &masked),
        Err(WsError::MaskedFrame)
    );
    assert_eq!(
        decode_all(Role::Client, 100, &unmasked),
        Ok(vec![Incoming::Text("x".into())])
    );
    // What a client sends is masked with its random source's bytes, fresh per frame.
    let mut c = client();
    c.send(Message::Text("hi".into())).unwrap();
    c.send(Message::Text("hi".into())).unwrap();
    let wire = c.poll_transmit().unwrap();
    assert_eq!(&wire[..6], [0x81, 0x82, 1, 2, 3, 4]);
    assert_eq!(&wire[6..8], [b'h' ^ 1, b'i' ^ 2]);
    assert_eq!(&wire[8..14], [0x81, 0x82, 5, 6, 7, 8]);
    let mut s = server();
    assert_eq!(feed(&mut s, &wire), [text("hi"), text("hi")]);
    // And what a server sends is not masked.
    s.send(Message::Binary(Bytes::from_static(&[9]))).unwrap();
    assert_eq!(
        s.poll_transmit().unwrap(),
        Bytes::from_static(&[0x82, 0x01, 9])
    );
}

#[test]
fn utf8_is_checked_across_fragments() {
    // "é" is c3 a9: split between two fragments, it is valid.
    let mut bytes = client_frame(OpCode::Text, false, &[b'a', 0xc3]);
    bytes.extend(client_frame(OpCode::Continuation, true, &[0xa9]));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Ok(vec![Incoming::Text("aé".into())])
    );
    // A byte that can never start valid UTF-8 fails at its fragment, before the last one.
    let first = client_frame(OpCode::Text, false, &[b'a', 0xff]);
    let mut dec = Decoder::new(Role::Server, 100);
    assert_eq!(
        dec.decode(&mut BytesMut::from(&first[..])),
        Err(WsError::InvalidUtf8)
    );
    // An incomplete sequence at the end of the message fails when it ends.
    let mut bytes = client_frame(OpCode::Text, false, b"a");
    bytes.extend(client_frame(OpCode::Continuation, true, &[0xe2, 0x82]));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Err(WsError::InvalidUtf8)
    );
    // Unfragmented invalid text, and the close code it gets.
    let mut ws = server();
    assert_eq!(
        feed(&mut ws, &client_frame(OpCode::Text, true, &[0xc0, 0x80])),
        [closed_by(WsError::InvalidUtf8)]
    );
    assert_eq!(ws.poll_transmit(), Some(close_with(1007)));
    assert!(ws.is_closed());
}

#[test]
fn fragmentation_rules() {
    assert_eq!(
        decode_all(
            Role::Server,
            100,
            &client_frame(OpCode::Continuation, true, b"x")
        ),
        Err(WsError::UnexpectedContinuation)
    );
    let mut bytes = client_frame(OpCode::Text, false, b"a");
    bytes.extend(client_frame(OpCode::Text, true, b"b"));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Err(WsError::ExpectedContinuation)
    );
    // Control frames: final and short.
    assert_eq!(
        decode_all(Role::Server, 100, &client_frame(OpCode::Ping, false, b"")),
        Err(WsError::FragmentedControlFrame)
    );
    assert_eq!(
        decode_all(
            Role::Server,
            1000,
            &client_frame(OpCode::Ping, true, &[0; 126])
        ),
        Err(WsError::ControlFrameTooLong)
    );
    assert_eq!(
        decode_all(
            Role::Server,
            1000,
            &client_frame(OpCode::Pong, true, &[7; 125])
        ),
        Ok(vec![Incoming::Pong(Bytes::from(vec![7; 125]))])
    );
}

#[test]
fn reserved_bits_opcodes_and_lengths_are_protocol_errors() {
    let mut rsv = client_frame(OpCode::Text, true, b"x");
    rsv[0] |= 0x40;
    assert_eq!(
        decode_all(Role::Server, 100, &rsv),
        Err(WsError::ReservedBits)
    );
    for op in [3u8, 7, 0xb, 0xf] {
        let mut f = client_frame(OpCode::Text, true, b"x");
        f[0] = 0x80 | op;
        assert_eq!(
            decode_all(Role::Server, 100, &f),
            Err(WsError::ReservedOpcode),
            "{op}"
        );
    }
    // A 64-bit length with its top bit set, refused from the header alone.
    let f = [0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4];
    assert_eq!(
        decode_all(Role::Server, 100, &f),
        Err(WsError::LengthTooLarge)
    );
    let mut ws = server();
    assert_eq!(feed(&mut ws, &rsv), [closed_by(WsError::ReservedBits)]);
    assert_eq!(ws.poll_transmit(), Some(close_with(1002)));
}

#[test]
fn limits_hold_at_the_header() {
    // A frame over the limit is refused when its header arrives, before any payload.
    let header = [0x82, 0xfe, 0x01, 0x2c, 1, 2, 3, 4]; // 300 bytes announced
    let mut dec = Decoder::new(Role::Server, 100);
    assert_eq!(
        dec.decode(&mut BytesMut::from(&header[..])),
        Err(WsError::MessageTooLarge)
    );
    // Fragments are counted together.
    let mut bytes = client_frame(OpCode::Binary, false, &[0; 60]);
    bytes.extend(client_frame(OpCode::Continuation, true, &[0; 41]));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Err(WsError::MessageTooLarge)
    );
    let mut bytes = client_frame(OpCode::Binary, false, &[0; 60]);
    bytes.extend(client_frame(OpCode::Continuation, true, &[0; 40]));
    assert_eq!(
        decode_all(Role::Server, 100, &bytes),
        Ok(vec![Incoming::Binary(Bytes::from(vec![0; 100]))])
    );
    let mut ws = WebSocket::new(Role::Server, 100, Box::new(|b: &mut [u8]| b.fill(0)));
    assert_eq!(
        feed(&mut ws, &header),
        [closed_by(WsError::MessageTooLarge)]
    );
    assert_eq!(ws.poll_transmit(), Some(close_with(1009)));
    // A frame split over many reads waits for its bytes and keeps none of them itself.
    let frame = client_frame(OpCode::Text, true, b"split me");
    let mut dec = Decoder::new(Role::Server, 100);
    let mut buf = BytesMut::new();
    for (i, b) in frame.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let got = dec.decode(&mut buf).unwrap();
        if i + 1 < frame.len() {
            assert_eq!(got, None);
            assert_eq!(
                buf.len(),
                i + 1,
                "nothing taken before the frame is complete"
            );
        } else {
            assert_eq!(got, Some(Incoming::Text("split me".into())));
        }
    }
    assert_eq!(dec.missing(&frame[..6]), 8);
}

#[test]
fn close_codes() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        assert!(close_code_allowed(code), "{code}");
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice("why".as_bytes());
        assert_eq!(
            decode_all(Role::Server, 100, &client_frame(OpCode::Close, true, &body)),
            Ok(vec![Incoming::Close(Some(CloseFrame {
                code,
                reason: "why".into()
            }))]),
            "{code}"
        );
    }
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert!(!close_code_allowed(code), "{code}");
        assert_eq!(
            decode_all(
                Role::Server,
                100,
                &client_frame(OpCode::Close, true, &code.to_be_bytes())
            ),
            Err(WsError::InvalidCloseCode),
            "{code}"
        );
    }
    assert_eq!(
        decode_all(Role::Server, 100, &client_frame(OpCode::Close, true, &[3])),
        Err(WsError::InvalidCloseFrame)
    );
    assert_eq!(
        decode_all(
            Role::Server,
            100,
            &client_frame(OpCode::Close, true, &[3, 232, 0xff])
        ),
        Err(WsError::InvalidUtf8)
    );
    assert_eq!(
        decode_all(Role::Server, 100, &client_frame(OpCode::Close, true, &[])),
        Ok(vec![Incoming::Close(None)])
    );
}

#[test]
fn close_handshake_started_by_the_peer() {
    let mut ws = server();
    let mut body = 1001u16.to_be_bytes().to_vec();
    body.extend_from_slice(b"going");
    let events = feed(&mut ws, &client_frame(OpCode::Close, true, &body));
    assert_eq!(
        events,
        [Event::Closed {
            frame: Some(Some(CloseFrame {
                code: 1001,
                reason: "going".into()
            })),
            error: None
        }]
    );
    // Answered with the same code, then closed: nothing more goes out or comes in.
    assert_eq!(ws.poll_transmit(), Some(close_with(1001)));
    assert!(ws.is_closed());
    assert_eq!(
        ws.send(Message::Text("late".into())),
        Err(SendError::Closing)
    );
    assert_eq!(feed(&mut ws, &client_frame(OpCode::Text, true, b"x")), []);
    // An empty close is answered with an empty close.
    let mut ws = server();
    feed(&mut ws, &client_frame(OpCode::Close, true, &[]));
    assert_eq!(
        ws.poll_transmit(),
        Some(Bytes::from(server_frame(OpCode::Close, true, &[])))
    );
}

#[test]
fn close_handshake_started_here() {
    let mut ws = server();
    ws.close(1000, "done");
    let mut expected = 1000u16.to_be_bytes().to_vec();
    expected.extend_from_slice(b"done");
    assert_eq!(
        ws.poll_transmit(),
        Some(Bytes::from(server_frame(OpCode::Close, true, &expected)))
    );
    assert!(!ws.is_open() && !ws.is_closed());
    assert_eq!(ws.ping(b""), Err(SendError::Closing));
    // Messages still arrive until the peer's close; pings are no longer answered.
    let mut bytes = client_frame(OpCode::Text, true, b"in flight");
    bytes.extend(client_frame(OpCode::Ping, true, b""));
    bytes.extend(client_frame(OpCode::Close, true, &1000u16.to_be_bytes()));
    let events = feed(&mut ws, &bytes);
    assert_eq!(events[0], text("in flight"));
    assert!(matches!(events[1], Event::Closed { error: None, .. }));
    assert_eq!(ws.poll_transmit(), None, "no second close, no pong");
    assert!(ws.is_closed());
    // A reason too long for a close frame is cut at a character boundary; a code no peer
    // may send becomes 1000.
    let mut ws = server();
    ws.close(1005, &"é".repeat(100));
    let frame = ws.poll_transmit().unwrap();
    assert_eq!(frame[1] as usize, 2 + 122);
    assert_eq!(&frame[2..4], 1000u16.to_be_bytes());
}

#[test]
fn ping_is_answered_with_its_data() {
    let mut ws = client();
    assert_eq!(feed(&mut ws, &server_frame(OpCode::Ping, true, b"abc")), []);
    let pong = ws.poll_transmit().unwrap();
    let mut dec = Decoder::new(Role::Server, 100);
    assert_eq!(
        dec.decode(&mut BytesMut::from(&pong[..])),
        Ok(Some(Incoming::Pong(Bytes::from_static(b"abc"))))
    );
    assert_eq!(ws.ping(&[0; 126]), Err(SendError::TooLong));
    ws.ping(b"x").unwrap();
    let mut s = server();
    feed(&mut s, &ws.poll_transmit().unwrap());
    let mut wire = BytesMut::from(&s.poll_transmit().unwrap()[..]);
    ws.handle_bytes(&mut wire);
    assert_eq!(ws.poll_event(), Some(Event::Pong(Bytes::from_static(b"x"))));
}

/// Feeds `bytes` to `ws` in reads cut at `cuts` (any order, clamped), checking after each
/// read that the buffer holds no more than what was given; returns what is left unread.
fn feed_in_reads(ws: &mut WebSocket, bytes: &[u8], mut cuts: Vec<usize>) -> BytesMut {
    let mut buf = BytesMut::new();
    let mut at = 0;
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([bytes.len()]) {
        let cut = cut.min(bytes.len()).max(at);
        buf.extend_from_slice(&bytes[at..cut]);
        at = cut;
        ws.handle_bytes(&mut buf);
        assert!(buf.len() <= bytes.len());
    }
    buf
}

#[derive(Debug, Clone)]
enum Sent {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
}

fn sent() -> impl Strategy<Value = Sent> {
    prop_oneof![
        "\\PC{0,40}".prop_map(Sent::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Sent::Binary),
        proptest::collection::vec(any::<u8>(), 0..126).prop_map(Sent::Ping),
    ]
}

proptest! {
    /// Arbitrary bytes, in arbitrary reads: never a panic, and the connection ends closed or
    /// waiting for more, never holding more than what it was given.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0usize..600, 0..8),
        server_role in any::<bool>(),
    ) {
        let mut ws = if server_role { server() } else { client() };
        feed_in_reads(&mut ws, &bytes, cuts);
        while ws.poll_event().is_some() {}
        let _ = ws.poll_transmit();
    }

    /// What a client sends, fragmented or not and read in any pieces, reaches the server as
    /// sent; masked bytes unmask to the original.
    #[test]
    fn client_to_server_in_any_reads(
        messages in proptest::collection::vec(sent(), 1..8),
        fragment in 1usize..50,
        cuts in proptest::collection::vec(0usize..4000, 0..10),
    ) {
        // Frames written by hand, data messages in fragments of `fragment` bytes.
        let mut wire = BytesMut::new();
        let mut n = 0u8;
        let mut key = || { n = n.wrapping_add(3); Some([n, n ^ 0x55, n.wrapping_mul(7), 1]) };
        for m in &messages {
            let (op, data): (OpCode, &[u8]) = match m {
                Sent::Text(t) => (OpCode::Text, t.as_bytes()),
                Sent::Binary(b) => (OpCode::Binary, b),
                Sent::Ping(p) => { write_frame(&mut wire, OpCode::Ping, true, p, key()); continue }
            };
            let chunks: Vec<&[u8]> = if data.is_empty() { vec![data] } else { data.chunks(fragment).collect() };
            for (i, c) in chunks.iter().enumerate() {
                let opcode = if i == 0 { op } else { OpCode::Continuation };
                write_frame(&mut wire, opcode, i + 1 == chunks.len(), c, key());
            }
        }
        let wire = wire.freeze();
        let mut ws = WebSocket::new(Role::Server, 1 << 20, Box::new(|b: &mut [u8]| b.fill(0)));
        let buf = feed_in_reads(&mut ws, &wire, cuts);
        prop_assert!(buf.is_empty());
        let got: Vec<Event> = std::iter::from_fn(|| ws.poll_event()).collect();
        let want: Vec<Event> = messages.iter().filter_map(|m| match m {
            Sent::Text(t) => Some(Event::Message(Message::Text(t.as_str().into()))),
            Sent::Binary(b) => Some(Event::Message(Message::Binary(Bytes::from(b.clone())))),
            Sent::Ping(_) => None,
        }).collect();
        prop_assert_eq!(got, want);
        // Every ping was answered, in order, with its data.
        let pongs = ws.poll_transmit().unwrap_or_default();
        let mut dec = Decoder::new(Role::Client, 1 << 20);
        let mut pongs = BytesMut::from(&pongs[..]);
        for m in &messages {
            if let Sent::Ping(p) = m {
                prop_assert_eq!(dec.decode(&mut pongs), Ok(Some(Incoming::Pong(Bytes::from(p.clone())))));
            }
        }
        prop_assert!(pongs.is_empty());
    }

    #[test]
    fn masking_twice_is_the_identity(data in proptest::collection::vec(any::<u8>(), 0..100), key in any::<[u8; 4]>(), offset in 0usize..8) {
        let mut d = data.clone();
        apply_mask(&mut d, key, offset);
        apply_mask(&mut d, key, offset);
        prop_assert_eq!(d, data);
    }
}

/// An Engine.IO text packet sent in its two parts is the frame of its joined text, unmasked
/// from a server and masked from a client, at every length class; its peer reads the text.
#[test]
fn text_packets_are_sent_as_the_frame_of_their_joined_text() {
    use engineio_proto::{PacketType, WsFrame};
    for len in [0, 1, 124, 125, 126, 65_534, 65_535, 65_536] {
        let data: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let parts = WsFrame::TextPacket {
            kind: PacketType::Message,
            data: data.as_str().into(),
        };
        let joined = parts.clone().joined();
        assert_eq!(joined, WsFrame::Text(format!("4{data}").into()));
        for make in [server, client] {
            let (mut a, mut b) = (make(), make());
            a.send_frame(&parts).unwrap();
            b.send_frame(&joined).unwrap();
            let (a, b) = (a.poll_transmit().unwrap(), b.poll_transmit().unwrap());
            assert_eq!(a, b, "len {len}");
            let mut peer = if a[1] & 0x80 == 0 {
                WebSocket::new(Role::Client, 1 << 17, Box::new(|b: &mut [u8]| b.fill(0)))
            } else {
                WebSocket::new(Role::Server, 1 << 17, Box::new(|b: &mut [u8]| b.fill(0)))
            };
            assert_eq!(feed(&mut peer, &a), [text(&format!("4{data}"))]);
        }
    }
    let mut closing = server();
    closing.close_without_code();
    assert_eq!(
        closing.send_frame(&WsFrame::Text("4".into())),
        Err(SendError::Closing)
    );
}

/// Bytes written from `pending` in place: `advance` drops what the socket took, frames queued
/// meanwhile follow, and a lent buffer is used (and its room kept) once all is written.
#[test]
fn pending_bytes_are_written_in_place_into_a_lent_buffer() {
    let mut ws = server();
    let mut spare = BytesMut::with_capacity(256);
    assert!(ws.swap_buffer(&mut spare));
    assert_eq!(spare.capacity(), 0, "the connection had no buffer");
    ws.send(Message::Text("hello".into())).unwrap();
    let first = server_frame(OpCode::Text, true, b"hello");
    assert_eq!(ws.pending(), &first[..]);
    ws.advance(3);
    assert_eq!(ws.buffered(), first.len() - 3);
    ws.send(Message::Binary(Bytes::from_static(b"ab"))).unwrap();
    let second = server_frame(OpCode::Binary, true, b"ab");
    assert_eq!(ws.pending(), [&first[3..], &second[..]].concat());
    // Nothing is swapped while bytes wait.
    let mut other = BytesMut::new();
    assert!(!ws.swap_buffer(&mut other));
    ws.advance(usize::MAX);
    assert_eq!(ws.buffered(), 0);
    assert!(ws.pending().is_empty());
    assert_eq!(ws.poll_transmit(), None);
    // The emptied buffer comes back with its room, from its start.
    let mut back = BytesMut::new();
    assert!(ws.swap_buffer(&mut back));
    assert!(back.is_empty() && back.capacity() >= 256);
    // A spare holding bytes is not taken.
    let mut full = BytesMut::from(&b"x"[..]);
    assert!(!ws.swap_buffer(&mut full));
    // Partly written, then handed over: what is left.
    ws.send(Message::Text("hey".into())).unwrap();
    ws.advance(2);
    let rest = ws.poll_transmit().unwrap();
    assert_eq!(&rest[..], &server_frame(OpCode::Text, true, b"hey")[2..]);
    assert_eq!(ws.buffered(), 0);
}
