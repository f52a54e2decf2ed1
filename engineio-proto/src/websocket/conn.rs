//! One WebSocket connection's protocol: messages both ways, pings answered, the close
//! handshake (§7), violations closed with their status code.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::decoder::{Decoder, Incoming};
use super::frame::write_frame_parts;
use super::{CloseFrame, OpCode, Role, WsError};
use crate::server::RandomSource;

/// A data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Text.
    Text(ByteString),
    /// Binary data.
    Binary(Bytes),
}

/// What the connection reports, pulled with [`WebSocket::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A message from the peer.
    Message(Message),
    /// A pong (an answer to [`WebSocket::ping`], or unsolicited).
    Pong(Bytes),
    /// The connection is closed: nothing more is read or sent once
    /// [`WebSocket::poll_transmit`] is drained. Then the server closes the TCP connection (a
    /// client waits for the server to, bounded in time: §7.1.1).
    Closed {
        /// The peer's close frame, when it sent one (its body, if any).
        frame: Option<Option<CloseFrame>>,
        /// The violation that closed it, when the peer broke the protocol (the close frame
        /// sent carries [`WsError::close_code`]).
        error: Option<WsError>,
    },
}

/// Why a message or ping was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closing or closed.
    #[error("the WebSocket is closing")]
    Closing,
    /// A ping's data is longer than 125 bytes.
    #[error("control frame data longer than 125 bytes")]
    TooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Our close frame is sent; waiting for the peer's.
    CloseSent,
    Closed,
}

/// One WebSocket connection, either end, after the opening handshake.
///
/// Feed it what the socket reads ([`WebSocket::handle_bytes`]); write what
/// [`WebSocket::poll_transmit`] gives; read [`WebSocket::poll_event`]. It keeps no read buffer
/// and, between writes, no frames: an idle connection holds a few words here.
pub struct WebSocket {
    role: Role,
    decoder: Decoder,
    /// Masking keys (a client's frames only).
    random: RandomSource,
    out: BytesMut,
    /// The bytes at the front of `out` already written (see [`WebSocket::advance`]); less than
    /// `out`'s length, or both are 0 (all written: `out` is cleared).
    written: usize,
    events: VecDeque<Event>,
    state: State,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("pending_out", &self.buffered())
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    /// The `role` end of an open WebSocket, refusing messages over `max_message` bytes
    /// (1009). `random` fills a client's masking keys (RFC 6455 wants them unpredictable: give
    /// a client a CSPRNG); a server never calls it.
    pub fn new(role: Role, max_message: usize, random: RandomSource) -> Self {
        WebSocket {
            role,
            decoder: Decoder::new(role, max_message),
            random,
            out: BytesMut::new(),
            written: 0,
            events: VecDeque::new(),
            state: State::Open,
        }
    }

    /// Whether messages can still be sent.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is closed and everything to send was taken: close the socket
    /// (see [`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed && self.buffered() == 0
    }

    fn write(&mut self, opcode: OpCode, payload: [&[u8]; 2]) {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => {
                let mut key = [0u8; 4];
                (self.random)(&mut key);
                Some(key)
            }
        };
        write_frame_parts(&mut self.out, opcode, true, payload, mask);
    }

    /// Queues a message (one frame).
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        match &message {
            Message::Text(t) => self.send_data(OpCode::Text, [&[], t.as_bytes()]),
            Message::Binary(b) => self.send_data(OpCode::Binary, [&[], b]),
        }
    }

    /// Queues an Engine.IO frame (one message): a [`crate::WsFrame::TextPacket`] is written
    /// as its type digit then its data, without a joined text.
    pub fn send_frame(&mut self, frame: &crate::WsFrame) -> Result<(), SendError> {
        match frame {
            crate::WsFrame::Text(t) => self.send_data(OpCode::Text, [&[], t.as_bytes()]),
            crate::WsFrame::Binary(b) => self.send_data(OpCode::Binary, [&[], b]),
            crate::WsFrame::TextPacket { kind, data } => {
                self.send_data(OpCode::Text, [&[kind.digit()], data.as_bytes()])
            }
        }
    }

    /// Queues one data frame of `payload`'s two parts, unless closing.
    fn send_data(&mut self, opcode: OpCode, payload: [&[u8]; 2]) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closing);
        }
        self.write(opcode, payload);
        Ok(())
    }

    /// Queues a ping with `data` (at most 125 bytes); its pong comes back as [`Event::Pong`].
    pub fn ping(&mut self, data: &[u8]) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closing);
        }
        if data.len() > 125 {
            return Err(SendError::TooLong);
        }
        self.write(OpCode::Ping, [&[], data]);
        Ok(())
    }

    /// Bytes queued to send and not yet taken by [`WebSocket::poll_transmit`]: what a driver
    /// weighs against its write buffer's bound before queuing more.
    pub fn buffered(&self) -> usize {
        self.out.len() - self.written
    }

    /// Payload bytes of the frame at the front of `buf` that have not arrived yet (0 when its
    /// header is incomplete): how much room the next reads need.
    pub fn missing(&self, buf: &[u8]) -> usize {
        self.decoder.missing(buf)
    }

    /// Starts the close handshake with a close frame without a body (no status code: §7.1.5
    /// calls that 1005 on the other side). Nothing happens when closing already.
    pub fn close_without_code(&mut self) {
        if self.state != State::Open {
            return;
        }
        self.write(OpCode::Close, [&[], &[]]);
        self.state = State::CloseSent;
    }

    /// Starts the close handshake with `code` (a code [`super::close_code_allowed`] accepts;
    /// others are sent as 1000) and `reason` (cut to the 123 bytes a close frame has room for,
    /// at a character boundary). Messages may still arrive until the peer's close frame does.
    /// Nothing happens when closing already.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.state != State::Open {
            return;
        }
        let code = if super::close_code_allowed(code) {
            code
        } else {
            1000
        };
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut body = Vec::with_capacity(2 + cut);
        body.extend_from_slice(&code.to_be_bytes());
        body.extend_from_slice(&reason.as_bytes()[..cut]);
        self.write(OpCode::Close, [&[], &body]);
        self.state = State::CloseSent;
    }

    /// Reads the complete frames at the front of `buf` (what the socket read; an incomplete
    /// frame is left there for the next read to complete). Once the connection is closed,
    /// everything read is discarded.
    pub fn handle_bytes(&mut self, buf: &mut BytesMut) {
        while self.state != State::Closed {
            match self.decoder.decode(buf) {
                Ok(None) => return,
                Ok(Some(Incoming::Text(t))) => {
                    self.events.push_back(Event::Message(Message::Text(t)))
                }
                Ok(Some(Incoming::Binary(b))) => {
                    self.events.push_back(Event::Message(Message::Binary(b)))
                }
                Ok(Some(Incoming::Ping(data))) => {
                    if self.state == State::Open {
                        self.write(OpCode::Pong, [&[], &data]);
                    }
                }
                Ok(Some(Incoming::Pong(data))) => self.events.push_back(Event::Pong(data)),
                Ok(Some(Incoming::Close(frame))) => {
                    if self.state == State::Open {
                        // Answer with the same code (§5.5.1), or an empty close for an empty one.
                        let body = frame
                            .as_ref()
                            .map(|f| f.code.to_be_bytes().to_vec())
                            .unwrap_or_default();
                        self.write(OpCode::Close, [&[], &body]);
                    }
                    self.finish(Some(frame), None);
                }
                Err(error) => {
                    if self.state == State::Open {
                        self.write(OpCode::Close, [&[], &error.close_code().to_be_bytes()]);
                    }
                    self.finish(None, Some(error));
                }
            }
        }
        buf.clear();
    }

    fn finish(&mut self, frame: Option<Option<CloseFrame>>, error: Option<WsError>) {
        self.state = State::Closed;
        self.events.push_back(Event::Closed { frame, error });
    }

    /// The bytes to write next (every frame queued so far, in order), or `None`. The buffer
    /// goes with them: between writes the connection holds none.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.buffered() == 0 {
            return None;
        }
        let mut out = std::mem::take(&mut self.out);
        bytes::Buf::advance(&mut out, std::mem::take(&mut self.written));
        Some(out.freeze())
    }

    /// The bytes to write next (every frame queued so far, in order), left in place: a driver
    /// that writes from here tells [`WebSocket::advance`] how many the socket took. With
    /// [`WebSocket::swap_buffer`] it can then lend one buffer to many connections instead of
    /// one per write ([`WebSocket::poll_transmit`] hands the bytes over with their buffer).
    pub fn pending(&self) -> &[u8] {
        &self.out[self.written..]
    }

    /// Drops the first `n` bytes of [`WebSocket::pending`] (all of them if `n` is more): the
    /// socket took them.
    pub fn advance(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.out.len());
        if self.written == self.out.len() {
            // All written: the buffer's room is used again from its start.
            self.out.clear();
            self.written = 0;
        }
    }

    /// Exchanges the connection's write buffer with `spare` when neither holds bytes to write
    /// (and says whether it did). A driver lends a connection its spare buffer before sending
    /// and takes it back once everything is written: frames are written into a buffer whose
    /// room is kept, not a new one each time, and an idle connection holds none.
    pub fn swap_buffer(&mut self, spare: &mut BytesMut) -> bool {
        if self.buffered() > 0 || !spare.is_empty() {
            return false;
        }
        std::mem::swap(&mut self.out, spare);
        true
    }

    /// The next event, or `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() {
            crate::keep_room_for_one(&mut self.events);
        }
        event
    }
}
