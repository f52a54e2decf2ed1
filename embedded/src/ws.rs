//! One WebSocket on two blocking threads: the connection's thread reads frames into the
//! session, a writer thread sends what the session queued. engineio-proto's WebSocket machine
//! ([`WebSocket`]) keeps the protocol for both (pings answered, the close handshake, a
//! violation's close code, one close frame each way); the threads only feed it and write the
//! bytes it gives, under the socket's write lock, in the order it gave them.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::websocket::{Event, Message, Role, WebSocket, WsError};
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

/// A WebSocket's machine and its socket's write side, shared by the reader (which feeds the
/// machine what it reads) and the writer (which hands it the session's frames).
struct Conn {
    ws: Mutex<WebSocket>,
    stream: Mutex<TcpStream>,
}

impl Conn {
    fn new(stream: TcpStream, max_message: usize) -> Self {
        Conn {
            // A server never masks: its random source is never called.
            ws: Mutex::new(WebSocket::new(Role::Server, max_message, Box::new(|_| {}))),
            stream: Mutex::new(stream),
        }
    }

    fn ws(&self) -> MutexGuard<'_, WebSocket> {
        self.ws.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes what the machine queued. The write lock is taken first and the machine's only
    /// while its bytes are taken, so bytes leave in the machine's order and a long write does
    /// not keep the reader from feeding it.
    fn flush(&self) -> io::Result<()> {
        if self.ws().buffered() == 0 {
            // Nothing to write: the reader does not wait behind a writer that is blocked.
            return Ok(());
        }
        let mut stream = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let Some(bytes) = self.ws().poll_transmit() else {
                return stream.flush();
            };
            stream.write_all(&bytes)?;
        }
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
    let (Ok(write), Ok(peek)) = (stream.try_clone(), stream.try_clone()) else {
        shared.ws_closed(kind, sid, &queue);
        return;
    };
    let _ = queue.socket.set(peek);
    // Messages up to twice max_payload are read whole and judged by the session.
    let conn = Arc::new(Conn::new(write, shared.max_payload.saturating_mul(2)));
    let writer = {
        let (queue, conn) = (queue.clone(), conn.clone());
        let Ok(shutdown) = stream.try_clone() else {
            shared.ws_closed(kind, sid, &queue);
            return;
        };
        std::thread::Builder::new().spawn(move || write_frames(&queue, &conn, &shutdown))
    };
    if writer.is_err() {
        let _ = stream.shutdown(Shutdown::Both);
    }
    read_frames(shared, kind, sid, stream, leftover, &queue, &conn);
    shared.ws_closed(kind, sid, &queue);
    queue.set_done(true);
    if let Ok(writer) = writer {
        let _ = writer.join();
    }
}

/// The reader: what the socket brings into the machine, its messages into the session, until
/// the client closes, breaks the protocol or the socket fails.
///
/// Messages up to twice max_payload are read whole and judged by the session (1009 after the
/// client finished writing); a longer one is refused at its header (the machine sends 1009 and
/// the session is told it is too large) and the client's bytes are read and discarded until it
/// closes the connection, so that it finishes writing and reads the close.
fn read_frames(
    shared: &Shared,
    kind: AppKind,
    sid: &str,
    mut read: TcpStream,
    leftover: Vec<u8>,
    queue: &Arc<WsQueue>,
    conn: &Conn,
) {
    let mut buf = BytesMut::from(&leftover[..]);
    let mut chunk = [0u8; 4096];
    loop {
        conn.ws().handle_bytes(&mut buf);
        // Its replies (pongs, the answer to a close, a violation's close) go out first.
        if conn.flush().is_err() {
            return;
        }
        // Every message read goes to the session before the next read.
        loop {
            let Some(event) = conn.ws().poll_event() else {
                break;
            };
            let frame = match event {
                Event::Message(Message::Text(text)) => WsFrame::Text(text),
                Event::Message(Message::Binary(data)) => WsFrame::Binary(data),
                Event::Closed {
                    error: Some(WsError::MessageTooLarge),
                    ..
                } => {
                    shared.ws_too_large(kind, sid, queue);
                    while read.read(&mut chunk).is_ok_and(|n| n > 0) {}
                    return;
                }
                Event::Closed { .. } => return,
                _ => continue,
            };
            queue.wait_for_room();
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
fn write_frames(queue: &WsQueue, conn: &Conn, socket: &TcpStream) {
    let mut closed = false;
    while let Some(batch) = queue.take() {
        {
            let mut ws = conn.ws();
            for frame in batch {
                // Once the machine is closing, frames are dropped.
                let _ = match frame {
                    WsOut::Frame(frame) => ws.send_frame(&frame),
                    WsOut::Close(code) => {
                        // Nothing is sent if the client's close was answered already.
                        match code {
                            Some(code) => ws.close(code, ""),
                            None => ws.close_without_code(),
                        }
                        closed = true;
                        break;
                    }
                };
            }
        }
        if conn.flush().is_err() || closed {
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
    let _ = socket.shutdown(Shutdown::Both);
}

/// Completes nothing more on a WebSocket the session refused after its 101: sends a close
/// frame without a status code and reads until the client answers it (at most a second), then
/// ends the connection. `leftover` holds bytes read past the upgrade request.
pub(crate) fn refuse(stream: TcpStream, leftover: Vec<u8>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let Ok(mut read) = stream.try_clone() else {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    };
    let conn = Conn::new(stream, 1 << 20);
    conn.ws().close_without_code();
    if conn.flush().is_ok() {
        // Frames the client sent meanwhile are dropped; its close (or anything it breaks)
        // ends the read.
        let mut buf = BytesMut::from(&leftover[..]);
        let mut chunk = [0u8; 4096];
        loop {
            conn.ws().handle_bytes(&mut buf);
            if conn.ws().is_closed() {
                break;
            }
            match read.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
    let _ = read.shutdown(Shutdown::Both);
}
