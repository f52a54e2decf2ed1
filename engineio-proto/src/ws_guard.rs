//! A size guard on a WebSocket's raw incoming bytes, for drivers whose WebSocket library
//! stops at an oversized message without reading the rest of it.
//!
//! engineio.md §7 and §11: a message longer than the limit closes the WebSocket with 1009. A
//! client that is still writing that message must be able to read the close: if the server
//! stops reading and drops the connection with the message's bytes unread, the client's
//! connection is reset mid-write and the 1009 is lost. WebSocket libraries (tungstenite among
//! them) refuse such a message at its frame header and cannot go on reading below it.
//!
//! [`WsSizeGuard`] sits between the socket and the library: it follows the frame headers of
//! the client's byte stream and, once a frame or a fragmented message over the limit begins,
//! hands the library nothing more (from that frame's header on) and says so
//! ([`WsSizeGuard::tripped`]). The driver then tells the session
//! ([`crate::server::Session::handle_ws_too_large`]), which closes the WebSocket with 1009,
//! and keeps reading and discarding the socket's bytes until the client closes it (bounded in
//! time by the driver), so the client finishes writing and reads the close.
//!
//! ```
//! use engineio_proto::ws_guard::WsSizeGuard;
//!
//! let mut guard = WsSizeGuard::new(4);
//! // A masked text frame of 3 bytes, then the header of one of 300 bytes.
//! let bytes = [
//!     0x81, 0x83, 1, 2, 3, 4, b'a' ^ 1, b'b' ^ 2, b'c' ^ 3,
//!     0x81, 0xfe, 0x01, 0x2c, 1, 2, 3, 4,
//! ];
//! assert_eq!(guard.filter(&bytes), 9, "the first frame passes, the second is cut off");
//! assert!(guard.tripped());
//! assert_eq!(guard.filter(b"more payload"), 0, "nothing passes afterwards");
//! ```

/// The longest frame header: 2 bytes, a 64-bit length, a 4-byte mask.
const MAX_HEADER: usize = 14;

/// Follows the frame headers of a client's WebSocket byte stream and cuts it off at the first
/// frame or message longer than a limit. Pure: bytes in, a length out.
#[derive(Debug, Clone)]
pub struct WsSizeGuard {
    limit: u64,
    state: State,
    /// Payload bytes of the data message under way (its fragments so far).
    message: u64,
}

#[derive(Debug, Clone)]
enum State {
    /// In a frame header: its bytes so far.
    Header { buf: [u8; MAX_HEADER], len: usize },
    /// In a frame's payload: bytes left.
    Payload(u64),
    /// A frame or message over the limit began: nothing passes any more.
    Tripped,
}

impl WsSizeGuard {
    /// A guard for messages (and frames) of at most `limit` payload bytes.
    pub fn new(limit: usize) -> Self {
        WsSizeGuard {
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            state: State::Header {
                buf: [0; MAX_HEADER],
                len: 0,
            },
            message: 0,
        }
    }

    /// Looks at `bytes`, the next bytes read from the client, in order: returns how many of
    /// them, from the start, go to the WebSocket library. That is all of them, until a frame
    /// whose header announces a frame, or a fragmented message, over the limit: the bytes
    /// from that header's first byte in this call on are withheld (header bytes passed in an
    /// earlier call stay passed: the library is left waiting on an incomplete header), and
    /// every later call returns 0.
    pub fn filter(&mut self, bytes: &[u8]) -> usize {
        let mut at = 0;
        while at < bytes.len() {
            match &mut self.state {
                State::Tripped => return 0,
                State::Payload(left) => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len() - at);
                    at += take;
                    *left -= take as u64;
                    if *left == 0 {
                        self.state = State::Header {
                            buf: [0; MAX_HEADER],
                            len: 0,
                        };
                    }
                }
                State::Header { buf, len } => {
                    // Where this header began in `bytes` (0 when it began in an earlier call).
                    let start = at.saturating_sub(*len);
                    buf[*len] = bytes[at];
                    *len += 1;
                    at += 1;
                    let Some(need) = header_len(&buf[..*len]) else {
                        continue;
                    };
                    if *len < need {
                        continue;
                    }
                    let (fin, opcode, payload) = parse(&buf[..need]);
                    let over = if opcode >= 8 {
                        // Control frames do not take part in a message.
                        payload > self.limit
                    } else {
                        self.message = if opcode == 0 {
                            self.message.saturating_add(payload)
                        } else {
                            payload
                        };
                        let over = self.message > self.limit;
                        if fin {
                            self.message = 0;
                        }
                        over
                    };
                    if over {
                        self.state = State::Tripped;
                        return start;
                    }
                    self.state = if payload == 0 {
                        State::Header {
                            buf: [0; MAX_HEADER],
                            len: 0,
                        }
                    } else {
                        State::Payload(payload)
                    };
                }
            }
        }
        bytes.len()
    }

    /// Whether an oversized frame or message began: the stream is cut off from there.
    pub fn tripped(&self) -> bool {
        matches!(self.state, State::Tripped)
    }
}

/// The length of a frame header from its first bytes, once they tell it.
fn header_len(head: &[u8]) -> Option<usize> {
    let b1 = *head.get(1)?;
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    Some(2 + ext + mask)
}

/// FIN, opcode and payload length of a complete header.
fn parse(head: &[u8]) -> (bool, u8, u64) {
    let fin = head[0] & 0x80 != 0;
    let opcode = head[0] & 0x0f;
    let payload = match head[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([head[2], head[3]])),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[2..10]);
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    (fin, opcode, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with `len` payload bytes.
    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match len {
            0..=125 => f.push(0x80 | len as u8),
            126..=0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[9, 8, 7, 6]);
        f.extend(std::iter::repeat_n(b'x', len));
        f
    }

    /// Feeds `bytes` in chunks of `chunk`; what passed and whether it tripped.
    fn run(limit: usize, bytes: &[u8], chunk: usize) -> (usize, bool) {
        let mut g = WsSizeGuard::new(limit);
        let mut passed = 0;
        for c in bytes.chunks(chunk) {
            let keep = g.filter(c);
            passed += keep;
            if keep < c.len() {
                assert!(g.tripped());
                break;
            }
        }
        (passed, g.tripped())
    }

    #[test]
    fn frames_at_the_limit_pass_whole() {
        let mut bytes = frame(true, 1, 100);
        bytes.extend(frame(true, 2, 0));
        bytes.extend(frame(true, 9, 4));
        bytes.extend(frame(true, 1, 70_000));
        for chunk in [1, 3, 14, 1000, bytes.len()] {
            assert_eq!(
                run(70_000, &bytes, chunk),
                (bytes.len(), false),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn oversized_frame_is_cut_off_at_its_header() {
        let first = frame(true, 1, 10);
        let mut bytes = first.clone();
        bytes.extend(frame(true, 1, 101));
        bytes.extend(frame(true, 1, 1));
        // Cut at the big frame's header, wherever the reads split it (header bytes passed in
        // an earlier read stay passed).
        for chunk in [1, 2, 5, 16, bytes.len()] {
            let (passed, tripped) = run(100, &bytes, chunk);
            assert!(tripped, "chunk {chunk}");
            let header_start = first.len();
            assert!(
                passed >= header_start && passed < header_start + 8,
                "chunk {chunk}: {passed}"
            );
            if chunk >= 16 {
                assert_eq!(passed, header_start);
            }
        }
    }

    #[test]
    fn oversized_fragmented_message_is_cut_off() {
        let mut bytes = frame(false, 1, 60);
        let second = bytes.len();
        bytes.extend(frame(true, 0, 60));
        assert_eq!(run(100, &bytes, bytes.len()), (second, true));
        // Control frames between fragments do not count; a finished message resets the count.
        let mut ok = frame(false, 2, 50);
        ok.extend(frame(true, 10, 100));
        ok.extend(frame(true, 0, 50));
        ok.extend(frame(true, 1, 100));
        assert_eq!(run(100, &ok, 7), (ok.len(), false));
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let mut bytes = vec![0x82, 0xff];
        bytes.extend_from_slice(&u64::MAX.to_be_bytes());
        bytes.extend_from_slice(&[1, 2, 3, 4, 5]);
        assert_eq!(run(usize::MAX, &bytes, 3), (bytes.len(), false));
        assert_eq!(run(1_000_000, &bytes, bytes.len()), (0, true));
        // Read 3 bytes at a time, the header's first 12 bytes went before it was complete.
        assert_eq!(run(1_000_000, &bytes, 3), (12, true));
    }
}
