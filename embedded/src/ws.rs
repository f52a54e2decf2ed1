//! One WebSocket on two blocking threads: the connection's thread reads frames into the
//! session, a writer thread sends what the session queued. engineio-proto's WebSocket codec
//! does the framing (the reader decodes, answers pings and the client's close; the writer
//! encodes); both write through one lock, whole frames at a time, so their frames never
//! interleave, and whichever sends the close first is the only one that does.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::websocket::{write_frame, Decoder, Incoming, OpCode, Role, WsError};
use engineio_proto::{BytesMut, WsFrame};

use crate::{AppKind, Shared};

/// Frames the session may have queued for the writer before the reader stops reading the
/// client's frames (back-pressure: a client that does not read is not read either).
const MAX_QUEUED: usize = 64;

/// What to send on a WebSocket.
#[derive(Debug)]
pub(crate) enum WsOut {
    Frame(WsFrame),
    /// Close it with this code (`None`: no status code).
    Close(Option<u16>),
}

/// The frames queued for one WebSocket, between the machines and its writer thread; and what
/// its reader is doing, for [`WsQueue::wait_reader_caught_up`].
#[derive(Debug, Default)]
pub(crate) struct WsQueue {
    inner: Mutex<QueueState>,
    changed: Condvar,
    /// The socket, for peeking at what its reader has not read yet.
    socket: OnceLock<TcpStream>,
}

#[derive(Debug, Default)]
struct QueueState {
    out: VecDeque<WsOut>,
    reader_done: bool,
    writer_done: bool,
    /// The reader is blocked reading the socket: every frame it read before is in the session.
    reading: bool,
    /// The writer took frames it has not flushed yet.
    writing: bool,
    /// A close frame was sent (by the writer for the session, or by the reader answering the
    /// client's).
    close_sent: bool,
}

impl WsQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, QueueState>) -> MutexGuard<'a, QueueState> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, out: WsOut) {
        self.lock().out.push_back(out);
        self.changed.notify_all();
    }

    /// Everything queued, once there is something; `None` once the reader is done and the
    /// queue empty.
    fn take(&self) -> Option<VecDeque<WsOut>> {
        let mut q = self.lock();
        while q.out.is_empty() && !q.reader_done {
            q = self.wait(q);
        }
        let out = std::mem::take(&mut q.out);
        q.writing = !out.is_empty();
        drop(q);
        self.changed.notify_all();
        (!out.is_empty()).then_some(out)
    }

    /// The writer flushed what it took.
    fn written(&self) {
        self.lock().writing = false;
        self.changed.notify_all();
    }

    /// Waits while the writer has a backlog.
    fn wait_for_room(&self) {
        let mut q = self.lock();
        while q.out.len() > MAX_QUEUED && !q.writer_done {
            q = self.wait(q);
        }
    }

    fn set_done(&self, reader: bool) {
        let mut q = self.lock();
        if reader {
            q.reader_done = true;
        } else {
            q.writer_done = true;
        }
        drop(q);
        self.changed.notify_all();
    }

    /// Waits, at most `limit`, until the reader has handed the session every frame that was
    /// readable on the socket when this was called (the reader is blocked in a read and the
    /// socket has nothing unread), and the writer has flushed every frame queued. A request
    /// for a session with a WebSocket waits for it, so that what the client sent on the
    /// WebSocket before the request is handled first (engineio.md §8: `2probe` and `5`, then a
    /// long-poll, which gets the 400 of an upgraded session), and what the session sent on the
    /// WebSocket before answering the request (`3probe`) leaves before the answer.
    ///
    /// A frame whose read returned just before this looked, and whose reader has not marked it
    /// yet (the few instructions between the read's return and the reader taking this lock),
    /// is missed; everything that was readable earlier is not.
    pub(crate) fn wait_reader_caught_up(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut q = self.lock();
        loop {
            if q.reader_done || q.writer_done {
                return;
            }
            let flushed = q.out.is_empty() && !q.writing;
            // The reader cannot leave its read unnoticed while this lock is held: it takes
            // it to clear `reading`.
            if flushed && q.reading && self.socket.get().is_none_or(|s| !has_unread(s)) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            q = self
                .changed
                .wait_timeout(q, left.min(Duration::from_millis(5)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether the caller is the one to send the close frame (the first to ask).
    fn claim_close(&self) -> bool {
        !std::mem::replace(&mut self.lock().close_sent, true)
    }

    fn set_reading(&self, reading: bool) {
        self.lock().reading = reading;
        if !reading {
            self.changed.notify_all();
        }
    }

    /// Waits up to `limit` for the reader to finish.
    fn wait_reader(&self, limit: Duration) {
        let q = self.lock();
        let _ = self
            .changed
            .wait_timeout_while(q, limit, |q| !q.reader_done)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Whether `socket` has bytes no one read yet (without waiting, and without changing the
/// blocking mode the reader and the writer share).
#[cfg(unix)]
fn has_unread(socket: &TcpStream) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    socket2::SockRef::from(socket)
        .recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT)
        .is_ok_and(|n| n > 0)
}

/// Elsewhere the reader's state alone decides.
#[cfg(not(unix))]
fn has_unread(_: &TcpStream) -> bool {
    false
}

/// The socket's write side, shared by the reader (pongs, the answer to a close) and the
/// writer; each takes the lock for whole frames, so frames never interleave.
type Writer = Arc<Mutex<TcpStream>>;

fn write_all(write: &Writer, bytes: &[u8]) -> io::Result<()> {
    let mut w = write.lock().unwrap_or_else(PoisonError::into_inner);
    w.write_all(bytes)?;
    w.flush()
}

/// A close frame with `code` (none: an empty close).
fn close_frame(code: Option<u16>) -> BytesMut {
    let mut out = BytesMut::new();
    let body = code.map(u16::to_be_bytes);
    write_frame(
        &mut out,
        OpCode::Close,
        true,
        body.as_ref().map_or(&[][..], |b| &b[..]),
        None,
    );
    out
}

/// Runs an accepted WebSocket of session `sid` until it closes: `leftover` holds bytes read
/// past the upgrade request. Returns when both directions are done.
pub(crate) fn run(
    shared: &Shared,
    kind: AppKind,
    sid: &str,
    stream: TcpStream,
    leftover: Vec<u8>,
    queue: Arc<WsQueue>,
) {
    let (Ok(write), Ok(peek)) = (stream.try_clone(), stream.try_clone()) else {
        shared.ws_closed(kind, sid, &queue);
        return;
    };
    let _ = queue.socket.set(peek);
    let write: Writer = Arc::new(Mutex::new(write));
    let writer = {
        let (queue, write) = (queue.clone(), write.clone());
        let Ok(shutdown) = stream.try_clone() else {
            shared.ws_closed(kind, sid, &queue);
            return;
        };
        std::thread::Builder::new().spawn(move || write_frames(&queue, &write, &shutdown))
    };
    if writer.is_err() {
        let _ = stream.shutdown(Shutdown::Both);
    }
    read_frames(shared, kind, sid, stream, leftover, &queue, &write);
    shared.ws_closed(kind, sid, &queue);
    queue.set_done(true);
    if let Ok(writer) = writer {
        let _ = writer.join();
    }
}

/// The reader: frames off the socket into the session, with engineio-proto's WebSocket
/// decoder, until the client closes, breaks the protocol or the socket fails.
///
/// Messages up to twice max_payload are read whole and judged by the session (1009 after the
/// client finished writing); a longer one is refused at its header: the session is told it is
/// too large (it closes the WebSocket with 1009) and the client's bytes are read and
/// discarded until it closes the connection, so that it finishes writing and reads the close.
fn read_frames(
    shared: &Shared,
    kind: AppKind,
    sid: &str,
    mut read: TcpStream,
    leftover: Vec<u8>,
    queue: &Arc<WsQueue>,
    write: &Writer,
) {
    let mut decoder = Decoder::new(Role::Server, shared.max_payload.saturating_mul(2));
    let mut buf = BytesMut::from(&leftover[..]);
    let mut chunk = [0u8; 4096];
    loop {
        // Every complete frame goes to the session before the next read.
        loop {
            queue.wait_for_room();
            let frame = match decoder.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(Incoming::Text(text))) => WsFrame::Text(text),
                Ok(Some(Incoming::Binary(data))) => WsFrame::Binary(data),
                Ok(Some(Incoming::Ping(data))) => {
                    let mut pong = BytesMut::new();
                    write_frame(&mut pong, OpCode::Pong, true, &data, None);
                    if write_all(write, &pong).is_err() {
                        return;
                    }
                    continue;
                }
                Ok(Some(Incoming::Close(frame))) => {
                    // Answered with its code, unless the session's close went out first (then
                    // this is the client's answer).
                    if queue.claim_close() {
                        let _ = write_all(write, &close_frame(frame.map(|f| f.code)));
                    }
                    return;
                }
                Ok(Some(_)) => continue,
                Err(WsError::MessageTooLarge) => {
                    shared.ws_too_large(kind, sid, queue);
                    while read.read(&mut chunk).is_ok_and(|n| n > 0) {}
                    return;
                }
                Err(e) => {
                    if queue.claim_close() {
                        let _ = write_all(write, &close_frame(Some(e.close_code())));
                    }
                    return;
                }
            };
            shared.ws_frame(kind, sid, queue, frame);
        }
        queue.set_reading(true);
        let n = read.read(&mut chunk);
        queue.set_reading(false);
        match n {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The writer thread: sends queued frames until the session closes the WebSocket, the socket
/// fails, or the reader is done; then ends the TCP connection.
fn write_frames(queue: &WsQueue, write: &Writer, socket: &TcpStream) {
    let mut out = BytesMut::new();
    let mut closed = false;
    while let Some(batch) = queue.take() {
        for frame in batch {
            match frame {
                WsOut::Frame(WsFrame::Text(text)) => {
                    write_frame(&mut out, OpCode::Text, true, text.as_bytes(), None)
                }
                WsOut::Frame(WsFrame::Binary(data)) => {
                    write_frame(&mut out, OpCode::Binary, true, &data, None)
                }
                WsOut::Close(code) => {
                    if queue.claim_close() {
                        out.extend_from_slice(&close_frame(code));
                    }
                    closed = true;
                    break;
                }
            }
        }
        if write_all(write, &out).is_err() || closed {
            break;
        }
        out.clear();
        queue.written();
    }
    queue.set_done(false);
    if closed {
        // Give the client a moment to answer the close (the reader takes its answer), then
        // end the connection whatever it does.
        queue.wait_reader(Duration::from_secs(1));
    }
    let _ = socket.shutdown(Shutdown::Both);
}

/// Completes nothing more on a WebSocket the session refused after its 101: sends a close
/// frame without a status code and reads until the client answers it (at most a second), then
/// ends the connection. `leftover` holds bytes read past the upgrade request.
pub(crate) fn refuse(mut stream: TcpStream, leftover: Vec<u8>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(&close_frame(None)).is_ok() {
        // Frames the client sent meanwhile are dropped; its close (or anything it breaks)
        // ends the read.
        let mut decoder = Decoder::new(Role::Server, 1 << 20);
        let mut buf = BytesMut::from(&leftover[..]);
        let mut chunk = [0u8; 4096];
        'read: loop {
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(Incoming::Close(_))) | Err(_) => break 'read,
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                }
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}
