//! One WebSocket on two blocking threads: the connection's thread reads frames into the
//! session, a writer thread sends what the session queued. tungstenite does the framing; each
//! thread has its own protocol context, and both write through one lock, a whole buffer at a
//! time, so their frames never interleave.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

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

/// The frames queued for one WebSocket, between the machines and its writer thread.
#[derive(Debug, Default)]
pub(crate) struct WsQueue {
    inner: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    out: VecDeque<WsOut>,
    reader_done: bool,
    writer_done: bool,
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
        drop(q);
        self.changed.notify_all();
        (!out.is_empty()).then_some(out)
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

    /// Waits up to `limit` for the reader to finish.
    fn wait_reader(&self, limit: Duration) {
        let q = self.lock();
        let _ = self
            .changed
            .wait_timeout_while(q, limit, |q| !q.reader_done)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// The socket as tungstenite sees it: reads from this thread's handle, writes whole buffers
/// under the shared lock.
struct Io {
    read: TcpStream,
    write: Arc<Mutex<TcpStream>>,
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read.read(buf)
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
    // the client finished writing); a longer one is reported to it as too large (1009 too).
    // A 4 KiB read buffer: tungstenite zero-fills the whole buffer before each read.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(shared.max_payload.saturating_mul(2)))
        .max_frame_size(Some(shared.max_payload.saturating_mul(2)));
    let (Ok(read), Ok(write)) = (stream.try_clone(), stream.try_clone()) else {
        shared.ws_closed(kind, sid, &queue);
        return;
    };
    let write = Arc::new(Mutex::new(write));
    let writer = {
        let queue = queue.clone();
        let io = Io {
            read: stream,
            write: write.clone(),
        };
        std::thread::Builder::new().spawn(move || write_frames(&queue, io, config))
    };
    if writer.is_err() {
        let _ = read.shutdown(Shutdown::Both);
    }
    let mut io = Io { read, write };
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
    }
    queue.set_done(false);
    if closed {
        // Give the client a moment to answer the close (the reader takes its answer), then
        // end the connection whatever it does.
        queue.wait_reader(Duration::from_secs(1));
    }
    let _ = io.read.shutdown(Shutdown::Both);
}
