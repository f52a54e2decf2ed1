//! One WebSocket on two blocking threads: the connection's thread reads frames into the
//! session, a writer thread sends what the session queued. tungstenite does the framing; each
//! thread has its own protocol context, and both write through one lock, a whole buffer at a
//! time, so their frames never interleave.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::ws_guard::WsSizeGuard;
use engineio_proto::{ByteString, Bytes, WsFrame};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig, WebSocketContext};
use tungstenite::Message;

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

/// The socket as tungstenite sees it: reads from this thread's handle (marking, on the
/// reader's side, when it waits in a read: see [`WsQueue::wait_reader_caught_up`]), writes
/// whole buffers under the shared lock.
///
/// The reader's reads go through the size guard ([`WsSizeGuard`]): once a message over the
/// limit begins, tungstenite gets nothing more, one read fails with [`TooLarge`] (the session
/// closes the socket with 1009), and later reads discard the client's bytes until it closes
/// the connection, so that it finishes writing and reads the close.
struct Io {
    read: TcpStream,
    write: Arc<Mutex<TcpStream>>,
    /// The reader's queue; the writer's `Io` has none.
    reader: Option<Arc<WsQueue>>,
    /// The reader's size guard, and whether its trip was reported.
    guard: Option<(WsSizeGuard, bool)>,
}

/// The error a reader's read fails with once an oversized message began.
#[derive(Debug)]
struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a WebSocket message over the size limit")
    }
}

impl std::error::Error for TooLarge {}

fn is_too_large(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(e) if e.get_ref().is_some_and(|e| e.is::<TooLarge>()))
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((guard, reported)) = &mut self.guard {
            if guard.tripped() {
                if !*reported {
                    *reported = true;
                    return Err(io::Error::other(TooLarge));
                }
                // Discard until the client closes (or the writer ends the connection).
                let mut scratch = [0u8; 4096];
                while self.read.read(&mut scratch)? > 0 {}
                return Ok(0);
            }
        }
        // tungstenite reads only when the frames it has are all returned, and the reader
        // hands each to the session before asking for the next.
        if let Some(q) = &self.reader {
            q.set_reading(true);
        }
        let read = self.read.read(buf);
        if let Some(q) = &self.reader {
            q.set_reading(false);
        }
        let n = read?;
        match &mut self.guard {
            Some((guard, reported)) => {
                let keep = guard.filter(&buf[..n]);
                if guard.tripped() && keep == 0 {
                    *reported = true;
                    return Err(io::Error::other(TooLarge));
                }
                Ok(keep)
            }
            None => Ok(n),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut w = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        w.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
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
    // Messages up to twice max_payload are read whole and judged by the session (1009 after
    // the client finished writing); a longer one is cut off by the size guard and reported to
    // it as too large (1009 too), and its bytes are read and discarded.
    // A 4 KiB read buffer: tungstenite zero-fills the whole buffer before each read.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(shared.max_payload.saturating_mul(2)))
        .max_frame_size(Some(shared.max_payload.saturating_mul(2)));
    let (Ok(read), Ok(write), Ok(peek)) =
        (stream.try_clone(), stream.try_clone(), stream.try_clone())
    else {
        shared.ws_closed(kind, sid, &queue);
        return;
    };
    let _ = queue.socket.set(peek);
    let write = Arc::new(Mutex::new(write));
    let writer = {
        let queue = queue.clone();
        let io = Io {
            read: stream,
            write: write.clone(),
            reader: None,
            guard: None,
        };
        std::thread::Builder::new().spawn(move || write_frames(&queue, io, config))
    };
    if writer.is_err() {
        let _ = read.shutdown(Shutdown::Both);
    }
    let mut io = Io {
        read,
        write,
        reader: Some(queue.clone()),
        guard: Some((
            WsSizeGuard::new(shared.max_payload.saturating_mul(2)),
            false,
        )),
    };
    let mut ctx = WebSocketContext::from_partially_read(leftover, Role::Server, Some(config));
    loop {
        queue.wait_for_room();
        // Pings and the close handshake are tungstenite's; it answers them itself.
        let frame = match ctx.read(&mut io) {
            Ok(Message::Text(text)) => match ByteString::try_from(Bytes::from(text)) {
                Ok(text) => WsFrame::Text(text),
                Err(_) => break,
            },
            Ok(Message::Binary(data)) => WsFrame::Binary(data),
            Ok(_) => continue,
            // Read on: the guard discards the rest until the client closes.
            Err(e) if is_too_large(&e) => {
                shared.ws_too_large(kind, sid, &queue);
                continue;
            }
            // The library's own limit (the guard's is the same, so only a case it did not
            // foresee): tungstenite cannot read past it.
            Err(tungstenite::Error::Capacity(_)) => {
                shared.ws_too_large(kind, sid, &queue);
                break;
            }
            Err(_) => break,
        };
        shared.ws_frame(kind, sid, &queue, frame);
    }
    shared.ws_closed(kind, sid, &queue);
    queue.set_done(true);
    if let Ok(writer) = writer {
        let _ = writer.join();
    }
}

/// The writer thread: sends queued frames until the session closes the WebSocket, the socket
/// fails, or the reader is done; then ends the TCP connection.
fn write_frames(queue: &WsQueue, mut io: Io, config: WebSocketConfig) {
    let mut ctx = WebSocketContext::new(Role::Server, Some(config));
    let mut closed = false;
    'send: while let Some(batch) = queue.take() {
        for out in batch {
            let sent = match out {
                WsOut::Frame(WsFrame::Text(text)) => {
                    match tungstenite::Utf8Bytes::try_from(text.into_bytes()) {
                        Ok(text) => ctx.write(&mut io, Message::Text(text)),
                        Err(_) => continue,
                    }
                }
                WsOut::Frame(WsFrame::Binary(data)) => ctx.write(&mut io, Message::Binary(data)),
                WsOut::Close(code) => {
                    let frame = code.map(|code| CloseFrame {
                        code: CloseCode::from(code),
                        reason: "".into(),
                    });
                    let _ = ctx.close(&mut io, frame);
                    let _ = ctx.flush(&mut io);
                    closed = true;
                    break 'send;
                }
            };
            if sent.is_err() {
                break 'send;
            }
        }
        if ctx.flush(&mut io).is_err() {
            break;
        }
        queue.written();
    }
    queue.set_done(false);
    if closed {
        // Give the client a moment to answer the close (the reader takes its answer), then
        // end the connection whatever it does.
        queue.wait_reader(Duration::from_secs(1));
    }
    let _ = io.read.shutdown(Shutdown::Both);
}

/// Completes nothing more on a WebSocket the session refused after its 101: sends a close
/// frame without a status code and reads until the client answers it (at most a second), then
/// ends the connection. `leftover` holds bytes read past the upgrade request.
pub(crate) fn refuse(stream: TcpStream, leftover: Vec<u8>) {
    let Ok(write) = stream.try_clone() else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut io = Io {
        read: stream,
        write: Arc::new(Mutex::new(write)),
        reader: None,
        guard: None,
    };
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut ctx = WebSocketContext::from_partially_read(leftover, Role::Server, Some(config));
    if ctx.close(&mut io, None).is_ok() && ctx.flush(&mut io).is_ok() {
        // Frames the client sent meanwhile are dropped; its close ends the read.
        while ctx.read(&mut io).is_ok() {}
    }
    let _ = io.read.shutdown(Shutdown::Both);
}
