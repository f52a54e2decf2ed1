//! Messages out of frames: fragments joined, text validated as UTF-8 (across fragments, failing
//! as soon as a fragment cannot be the start of valid text), close frames read, limits held.

use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;

use super::frame::{apply_mask, parse_header};
use super::{CloseFrame, OpCode, Role, WsError};

/// What one complete frame or message is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming {
    /// A text message (its fragments joined, valid UTF-8).
    Text(ByteString),
    /// A binary message (its fragments joined).
    Binary(Bytes),
    /// A ping, with its application data.
    Ping(Bytes),
    /// A pong, with its application data.
    Pong(Bytes),
    /// A close frame: its status code and reason, if it had a body.
    Close(Option<CloseFrame>),
}

/// A fragmented data message under way.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: BytesMut,
    /// How much of `data` is known to be valid UTF-8 (text only).
    valid: usize,
}

/// Reads frames from the front of the caller's buffer and hands out whole messages and
/// control frames. One per WebSocket and direction.
///
/// The decoder owns no read buffer: read the socket into a `BytesMut` of your own and call
/// [`Decoder::decode`] until it returns `Ok(None)`; it takes each complete frame off the front
/// (payloads are slices of that buffer, unmasked in place). Only a fragmented message keeps
/// bytes here, its fragments so far. An idle connection needs no buffer at all between reads.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    max_message: usize,
    partial: Option<Partial>,
}

impl Decoder {
    /// A decoder for the `role` side (a server reads masked frames, a client unmasked ones),
    /// refusing messages (all fragments together) and frames of more than `max_message`
    /// payload bytes as soon as a header announces them.
    pub fn new(role: Role, max_message: usize) -> Self {
        Decoder {
            role,
            max_message,
            partial: None,
        }
    }

    /// Whether a fragmented message is under way.
    pub fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// The payload bytes of a header at the front of `buf` that are not there yet (0 when no
    /// complete header is there): a hint for how much to read next.
    pub fn missing(&self, buf: &[u8]) -> usize {
        match parse_header(buf, self.role) {
            Ok(Some(h)) => (h.size as u64 + h.len).saturating_sub(buf.len() as u64) as usize,
            _ => 0,
        }
    }

    /// The next frame or message at the front of `buf`, taking its bytes off; `Ok(None)` when
    /// `buf` holds no complete frame yet (fragments of a message are taken and kept until the
    /// last one). Every error is a protocol violation that ends the WebSocket: close it with
    /// [`WsError::close_code`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, WsError> {
        loop {
            let Some(h) = parse_header(buf, self.role)? else {
                return Ok(None);
            };
            let so_far = self.partial.as_ref().map_or(0, |p| p.data.len());
            match h.opcode {
                OpCode::Continuation if self.partial.is_none() => {
                    return Err(WsError::UnexpectedContinuation)
                }
                OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                    return Err(WsError::ExpectedContinuation)
                }
                _ => {}
            }
            if !h.opcode.is_control() && h.len > (self.max_message.saturating_sub(so_far)) as u64 {
                return Err(WsError::MessageTooLarge);
            }
            // Within the limit (or a control frame of at most 125 bytes): fits a usize.
            let total = h.size + h.len as usize;
            if buf.len() < total {
                return Ok(None);
            }
            // A frame that is the whole buffer (the usual read) takes the buffer itself:
            // splitting would make its storage shared, an allocation of its own.
            let mut payload = if buf.len() == total {
                std::mem::take(buf)
            } else {
                buf.split_to(total)
            };
            payload.advance(h.size);
            if let Some(key) = h.mask {
                apply_mask(&mut payload, key, 0);
            }
            match h.opcode {
                OpCode::Ping => return Ok(Some(Incoming::Ping(payload.freeze()))),
                OpCode::Pong => return Ok(Some(Incoming::Pong(payload.freeze()))),
                OpCode::Close => {
                    return read_close(payload.freeze()).map(Incoming::Close).map(Some)
                }
                OpCode::Text | OpCode::Binary if h.fin => {
                    return whole(h.opcode == OpCode::Text, payload.freeze()).map(Some)
                }
                OpCode::Text | OpCode::Binary => {
                    let mut partial = Partial {
                        text: h.opcode == OpCode::Text,
                        data: payload,
                        valid: 0,
                    };
                    check_prefix(&mut partial)?;
                    self.partial = Some(partial);
                }
                OpCode::Continuation => {
                    let Some(partial) = self.partial.as_mut() else {
                        return Err(WsError::UnexpectedContinuation);
                    };
                    partial.data.extend_from_slice(&payload);
                    check_prefix(partial)?;
                    if h.fin {
                        let Some(done) = self.partial.take() else {
                            return Err(WsError::UnexpectedContinuation);
                        };
                        return whole(done.text, done.data.freeze()).map(Some);
                    }
                }
            }
        }
    }
}

/// A complete data message.
fn whole(text: bool, data: Bytes) -> Result<Incoming, WsError> {
    if text {
        ByteString::try_from(data)
            .map(Incoming::Text)
            .map_err(|_| WsError::InvalidUtf8)
    } else {
        Ok(Incoming::Binary(data))
    }
}

/// Fails a text message as soon as its bytes so far cannot begin valid UTF-8 (an incomplete
/// sequence at the end may still be completed by the next fragment).
fn check_prefix(partial: &mut Partial) -> Result<(), WsError> {
    if !partial.text {
        return Ok(());
    }
    match std::str::from_utf8(&partial.data[partial.valid..]) {
        Ok(_) => partial.valid = partial.data.len(),
        Err(e) if e.error_len().is_some() => return Err(WsError::InvalidUtf8),
        Err(e) => partial.valid += e.valid_up_to(),
    }
    Ok(())
}

/// A close frame's body (§5.5.1): empty, or a status code and a UTF-8 reason.
fn read_close(body: Bytes) -> Result<Option<CloseFrame>, WsError> {
    match body.len() {
        0 => Ok(None),
        1 => Err(WsError::InvalidCloseFrame),
        _ => {
            let code = u16::from_be_bytes([body[0], body[1]]);
            if !super::close_code_allowed(code) {
                return Err(WsError::InvalidCloseCode);
            }
            let reason = ByteString::try_from(body.slice(2..)).map_err(|_| WsError::InvalidUtf8)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}
