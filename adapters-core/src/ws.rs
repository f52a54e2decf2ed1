//! WebSockets framed by engineio-proto's sans-IO codec ([`engineio_proto::websocket`]) over a
//! futures-io connection: the server's upgraded connections and the client's, read and
//! written by the task of the session (or client) they belong to.
//!
//! A connection keeps no read buffer while idle: the socket is read into a per-thread buffer,
//! and only the bytes of an incomplete frame stay with the connection. Nothing is zero-filled
//! per read, and text frames are checked as UTF-8 once (by the codec) on the way in and not at
//! all on the way out (the session's frames are `ByteString`s already).

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use engineio_proto::http::HttpResponse;
use engineio_proto::server::RandomSource;
use engineio_proto::websocket::{self, Event, Message, Role, WebSocket, WsError};
use engineio_proto::WsFrame;
use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures_util::{Sink, Stream};

use crate::engine::{WsIn, WsOut};

/// The most one read of a socket takes. The buffer is per thread, not per connection.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes queued for the socket past which the sending side takes no more frames until some
/// are written.
const WRITE_HIGH: usize = 64 * 1024;
/// Bytes of an oversized message read and discarded per poll before the reader yields.
const DISCARD_PER_POLL: usize = 64 * 1024;
/// The most a client keeps of an HTTP answer that came where its first frame should have.
const MAX_LATE_ANSWER: usize = 64 * 1024;

/// The largest write buffer kept as a thread's spare (a burst past it is not kept).
const MAX_SPARE_WRITE: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
    /// The write buffer lent to the connection that sends next (see [`WsConn::lend`]).
    static SPARE_WRITE: RefCell<Option<BytesMut>> = const { RefCell::new(None) };
}

/// What reading a WebSocket gave.
#[derive(Debug)]
pub(crate) enum Read {
    /// A data message.
    Frame(WsFrame),
    /// A message over the size limit began: the connection is closing with 1009 and what the
    /// peer still sends is read and discarded until it closes.
    TooLarge,
    /// (Client) an HTTP answer came where the first frame should have: the reference server
    /// refuses a WebSocket of the other protocol generation by writing a 400 after its 101.
    Refused(HttpResponse),
    /// The connection is closed (the close handshake, a violation, the end of the stream or
    /// an error): nothing more comes.
    Closed,
}

/// One WebSocket over `T`.
pub(crate) struct WsConn<T> {
    io: T,
    ws: WebSocket,
    /// The bytes of an incomplete frame (empty, without an allocation, between frames).
    buf: BytesMut,
    /// The codec reported the connection closed.
    closing: bool,
    /// After an oversized message: read and discard until the end of the stream.
    discarding: bool,
    /// Reading is over.
    ended: bool,
    /// Writing failed: nothing more is written.
    failed: bool,
    /// Bytes were written and not flushed yet (a TLS stream holds them until flushed).
    unflushed: bool,
    /// The reader waits for the codec's replies (its answer to a close) to be written, by
    /// itself or by the writer, whichever the socket wakes.
    read_waiting: Option<Waker>,
    /// (Client) no frame has been read yet: an HTTP answer may come instead.
    sniff_http: bool,
    /// `buf` holds bytes not looked at yet (what came with the handshake's answer).
    fresh: bool,
}

impl<T> std::fmt::Debug for WsConn<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsConn")
            .field("ws", &self.ws)
            .field("buffered", &self.buf.len())
            .field("pending", &self.ws.buffered())
            .finish_non_exhaustive()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsConn<T> {
    /// A server's end of an upgraded connection, taking messages of up to `max_message`
    /// bytes.
    pub(crate) fn server(io: T, max_message: usize) -> Self {
        // A server never masks: its random source is never called.
        Self::new(
            io,
            Role::Server,
            max_message,
            Box::new(|_| {}),
            BytesMut::new(),
        )
    }

    fn new(io: T, role: Role, max_message: usize, random: RandomSource, read: BytesMut) -> Self {
        WsConn {
            io,
            ws: WebSocket::new(role, max_message, random),
            fresh: !read.is_empty(),
            buf: read,
            closing: false,
            discarding: false,
            ended: false,
            failed: false,
            unflushed: false,
            read_waiting: None,
            sniff_http: role == Role::Client,
        }
    }

    /// Queues what the session sends (a frame, or our close frame).
    pub(crate) fn send(&mut self, out: WsOut) {
        self.lend();
        // Once closing, frames are dropped: the peer would not read them.
        let _ = match out {
            WsOut::Frame(frame) => self.ws.send_frame(&frame),
            WsOut::Close(Some(code)) => {
                self.ws.close(code, "");
                Ok(())
            }
            WsOut::Close(None) => {
                self.ws.close_without_code();
                Ok(())
            }
        };
    }

    /// Whether the sending side takes more frames now (writing what it can when it holds too
    /// many bytes already).
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.failed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if self.ws.buffered() < WRITE_HIGH {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_all(cx)
    }

    /// Writes and flushes everything queued.
    pub(crate) fn poll_write_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.failed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        loop {
            let pending = self.ws.pending();
            if pending.is_empty() {
                break;
            }
            match Pin::new(&mut self.io).poll_write(cx, pending) {
                Poll::Ready(Ok(0)) => return self.fail(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.ws.advance(n);
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return self.fail(e),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.unflushed {
            if let Err(e) = std::task::ready!(Pin::new(&mut self.io).poll_flush(cx)) {
                return self.fail(e);
            }
            self.unflushed = false;
        }
        self.give_back();
        if let Some(reader) = self.read_waiting.take() {
            reader.wake();
        }
        Poll::Ready(Ok(()))
    }

    /// Lends the connection this thread's spare write buffer when it has nothing to write:
    /// frames are written into room kept from earlier writes (of any connection of the
    /// thread) instead of a new buffer each time.
    fn lend(&mut self) {
        if self.ws.buffered() > 0 {
            return;
        }
        SPARE_WRITE.with(|spare| {
            if let Some(mut buf) = spare.try_borrow_mut().ok().and_then(|mut s| s.take()) {
                // The connection's own (empty) buffer, if it had one, is dropped.
                self.ws.swap_buffer(&mut buf);
            }
        });
    }

    /// Once everything is written: the connection's buffer becomes the thread's spare (if
    /// there is none and it is not too large) or is dropped, so an idle connection holds no
    /// write buffer.
    fn give_back(&mut self) {
        let mut buf = BytesMut::new();
        if !self.ws.swap_buffer(&mut buf) || buf.capacity() == 0 || buf.capacity() > MAX_SPARE_WRITE
        {
            return;
        }
        SPARE_WRITE.with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                if spare.is_none() {
                    *spare = Some(buf);
                }
            }
        });
    }

    fn fail(&mut self, e: io::Error) -> Poll<io::Result<()>> {
        self.failed = true;
        // What was not written is dropped with the buffer.
        let _ = self.ws.poll_transmit();
        self.give_back();
        if let Some(reader) = self.read_waiting.take() {
            reader.wake();
        }
        Poll::Ready(Err(e))
    }

    /// Writes what is queued, then shuts the writing side down.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_write_all(cx))?;
        Pin::new(&mut self.io).poll_close(cx)
    }

    /// The next message, or the end. Pings are answered and the peer's close frame is
    /// answered (and written) before the end is reported.
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Read> {
        let mut discarded = 0;
        loop {
            // The codec's replies (pongs, its answer to a close or a violation's close frame)
            // go out at once, before what was read is handed over.
            if self.unwritten() {
                match self.poll_write_all(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return self.end(),
                    Poll::Pending => self.read_waiting = Some(cx.waker().clone()),
                }
            }
            while let Some(event) = self.ws.poll_event() {
                match event {
                    Event::Message(Message::Text(t)) => {
                        self.sniff_http = false;
                        return Poll::Ready(Read::Frame(WsFrame::Text(t)));
                    }
                    Event::Message(Message::Binary(b)) => {
                        self.sniff_http = false;
                        return Poll::Ready(Read::Frame(WsFrame::Binary(b)));
                    }
                    Event::Closed {
                        error: Some(WsError::MessageTooLarge),
                        ..
                    } => {
                        // The codec queued our 1009; the peer finishes writing its message,
                        // read and dropped, and reads it.
                        self.discarding = true;
                        self.buf = BytesMut::new();
                        return Poll::Ready(Read::TooLarge);
                    }
                    Event::Closed { .. } => self.closing = true,
                    _ => {}
                }
            }
            if self.ended {
                return Poll::Ready(Read::Closed);
            }
            if self.closing && !self.discarding {
                if self.unwritten() {
                    // Our answer to the close waits for the socket (woken by whichever side
                    // writes it).
                    return Poll::Pending;
                }
                return self.end();
            }
            if std::mem::take(&mut self.fresh) {
                if let Some(read) = self.take_bytes() {
                    return read;
                }
                continue;
            }
            let discarding = self.discarding;
            let read = SCRATCH.with_borrow_mut(|scratch| {
                let n = std::task::ready!(Pin::new(&mut self.io).poll_read(cx, scratch))?;
                if !discarding {
                    self.buf.extend_from_slice(&scratch[..n]);
                }
                Poll::Ready(Ok::<usize, io::Error>(n))
            });
            let n = match std::task::ready!(read) {
                Ok(0) | Err(_) => {
                    if let Some(answer) = self.late_answer(true) {
                        self.ended = true;
                        return Poll::Ready(Read::Refused(answer));
                    }
                    return self.end();
                }
                Ok(n) => n,
            };
            if self.discarding {
                discarded += n;
                if discarded >= DISCARD_PER_POLL {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            if let Some(read) = self.take_bytes() {
                return read;
            }
        }
    }

    /// Hands what was read to the codec (a client first looks for an HTTP answer in the place
    /// of its first frame); `Some` when that ends the reading.
    fn take_bytes(&mut self) -> Option<Poll<Read>> {
        if self.sniff_http {
            if self.buf.starts_with(b"HTTP/") || b"HTTP/".starts_with(&self.buf) {
                if let Some(answer) = self.late_answer(false) {
                    self.ended = true;
                    return Some(Poll::Ready(Read::Refused(answer)));
                }
                if self.buf.len() > MAX_LATE_ANSWER {
                    return Some(self.end());
                }
                return None;
            }
            self.sniff_http = false;
        }
        self.ws.handle_bytes(&mut self.buf);
        if self.buf.is_empty() {
            // Between frames the connection keeps no buffer.
            self.buf = BytesMut::new();
        } else {
            // Room for the rest of the frame under way, at once.
            let missing = self.ws.missing(&self.buf);
            self.buf.reserve(missing);
        }
        None
    }

    /// Whether bytes wait to be written (on a socket that has not failed).
    fn unwritten(&self) -> bool {
        !self.failed && (self.unflushed || self.ws.buffered() > 0)
    }

    fn end(&mut self) -> Poll<Read> {
        self.ended = true;
        self.buf = BytesMut::new();
        Poll::Ready(Read::Closed)
    }

    /// (Client) the HTTP answer at the front of the read bytes, once it is whole (or the
    /// stream ended, `eof`).
    fn late_answer(&self, eof: bool) -> Option<HttpResponse> {
        if !self.sniff_http || !self.buf.starts_with(b"HTTP/") {
            return None;
        }
        let head = websocket::parse_response_head(&self.buf).ok()??;
        let body = &self.buf[head.len..];
        let want = head.content_length().unwrap_or(body.len());
        if body.len() < want && !eof {
            return None;
        }
        let body = Bytes::copy_from_slice(&body[..want.min(body.len())]);
        Some(HttpResponse::new(head.status).with_body(body))
    }
}

/// A fresh masking key source for a client: the system's random bytes, drawn a few hundred
/// at a time (RFC 6455 §5.3 wants keys a proxy cannot predict).
fn mask_source() -> RandomSource {
    let mut pool = [0u8; 256];
    let mut used = pool.len();
    Box::new(move |out: &mut [u8]| {
        for b in out {
            if used == pool.len() {
                if getrandom::fill(&mut pool).is_err() {
                    // No system randomness: keys from the clock's bits rather than none.
                    let t = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos());
                    for (i, p) in pool.iter_mut().enumerate() {
                        *p ^= (t >> (i % 16 * 8)) as u8 ^ i as u8;
                    }
                }
                used = 0;
            }
            *b = pool[used];
            used += 1;
        }
    })
}

/// How a client's opening handshake ended.
#[derive(Debug)]
pub(crate) enum Opened<T> {
    /// The WebSocket is open.
    Open(WsConn<T>),
    /// The server answered with another status: the refusal (status and body).
    Refused(HttpResponse),
}

/// Performs a client's opening handshake on `io`: `GET target` on `host` with `headers`, then
/// the WebSocket, taking messages of up to `max_message` bytes.
pub(crate) async fn client_handshake<T: AsyncRead + AsyncWrite + Unpin>(
    mut io: T,
    host: &str,
    target: &str,
    headers: &[(String, String)],
    max_message: usize,
) -> io::Result<Opened<T>> {
    let mut random = mask_source();
    let mut nonce = [0u8; 16];
    random(&mut nonce);
    let key = websocket::client_key(nonce);
    let mut request = Vec::new();
    websocket::write_client_request(&mut request, host, target, &key, headers);
    io.write_all(&request).await?;
    io.flush().await?;
    let invalid = |e: websocket::HandshakeError| io::Error::new(io::ErrorKind::InvalidData, e);
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 4096];
    let head = loop {
        if let Some(head) = websocket::parse_response_head(&buf).map_err(invalid)? {
            break head;
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head.status != 101 {
        // The refusal's body, as far as it says (bounded) or until the stream ends.
        let want = head
            .content_length()
            .unwrap_or(MAX_LATE_ANSWER)
            .min(MAX_LATE_ANSWER);
        while buf.len() - head.len < want {
            let n = io.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = &buf[head.len..];
        let body = Bytes::copy_from_slice(&body[..want.min(body.len())]);
        let mut response = HttpResponse::new(head.status).with_body(body);
        if let Some(ct) = head.header("content-type") {
            response = response.with_header("content-type", ct.to_owned());
        }
        return Ok(Opened::Refused(response));
    }
    websocket::check_upgrade(&head, &key).map_err(invalid)?;
    let rest = buf.split_off(head.len);
    Ok(Opened::Open(WsConn::new(
        io,
        Role::Client,
        max_message,
        random,
        rest,
    )))
}

/// A server's WebSocket as its session's two sides: a stream of what arrives and a sink for
/// what it sends, both polled by the session's task.
pub(crate) fn server_sides<T>(conn: WsConn<T>) -> (Incoming<T>, Outgoing<T>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let shared = Arc::new(Mutex::new(conn));
    (
        Incoming {
            conn: shared.clone(),
            done: false,
        },
        Outgoing { conn: shared },
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The frames a WebSocket brings, as a session reads them.
pub(crate) struct Incoming<T> {
    conn: Arc<Mutex<WsConn<T>>>,
    done: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for Incoming<T> {
    type Item = WsIn;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsIn>> {
        if self.done {
            return Poll::Ready(None);
        }
        let read = std::task::ready!(lock(&self.conn).poll_read(cx));
        Poll::Ready(match read {
            Read::Frame(frame) => Some(WsIn::Frame(frame)),
            Read::TooLarge => Some(WsIn::TooLarge),
            Read::Refused(_) | Read::Closed => {
                self.done = true;
                None
            }
        })
    }
}

/// What a session sends on its WebSocket.
pub(crate) struct Outgoing<T> {
    conn: Arc<Mutex<WsConn<T>>>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Sink<WsOut> for Outgoing<T> {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.conn).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, out: WsOut) -> io::Result<()> {
        lock(&self.conn).send(out);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.conn).poll_write_all(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.conn).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};

    /// Both ends of an in-memory connection: what one writes, the other reads.
    fn pipe() -> (Duplex, Duplex) {
        let (a_tx, a_rx) = futures_channel::mpsc::unbounded::<Vec<u8>>();
        let (b_tx, b_rx) = futures_channel::mpsc::unbounded::<Vec<u8>>();
        (
            Duplex {
                tx: a_tx,
                rx: b_rx,
                held: Vec::new(),
            },
            Duplex {
                tx: b_tx,
                rx: a_rx,
                held: Vec::new(),
            },
        )
    }

    struct Duplex {
        tx: futures_channel::mpsc::UnboundedSender<Vec<u8>>,
        rx: futures_channel::mpsc::UnboundedReceiver<Vec<u8>>,
        held: Vec<u8>,
    }

    impl AsyncRead for Duplex {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.held.is_empty() {
                match std::task::ready!(self.rx.poll_next_unpin(cx)) {
                    Some(bytes) => self.held = bytes,
                    None => return Poll::Ready(Ok(0)),
                }
            }
            let n = buf.len().min(self.held.len());
            buf[..n].copy_from_slice(&self.held[..n]);
            self.held.drain(..n);
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Duplex {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let r = self.tx.unbounded_send(buf.to_vec());
            Poll::Ready(
                r.map(|()| buf.len())
                    .map_err(|_| io::ErrorKind::BrokenPipe.into()),
            )
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.tx.close_channel();
            Poll::Ready(Ok(()))
        }
    }

    async fn read<T: AsyncRead + AsyncWrite + Unpin>(conn: &mut WsConn<T>) -> Read {
        futures_util::future::poll_fn(|cx| conn.poll_read(cx)).await
    }

    /// A client and a server over a pipe: the handshake (the first frame in the same read as
    /// the 101), messages both ways, the close handshake started by the client.
    #[test]
    fn client_and_server_talk() {
        let (client_io, mut server_io) = pipe();
        futures_executor::block_on(async move {
            let client = async {
                client_handshake(client_io, "h", "/ws", &[("X-A".into(), "1".into())], 1024).await
            };
            let server = async {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    server_io.read_exact(&mut byte).await.unwrap();
                    head.push(byte[0]);
                }
                let head = String::from_utf8(head).unwrap();
                assert!(
                    head.starts_with("GET /ws HTTP/1.1\r\nHost: h\r\n"),
                    "{head}"
                );
                assert!(head.contains("X-A: 1\r\n"));
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                    .unwrap()
                    .to_owned();
                let answer = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                    websocket::accept_key(key.as_bytes())
                );
                // The first frame in the same write as the head.
                let mut first = answer.into_bytes();
                first.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
                server_io.write_all(&first).await.unwrap();
                server_io
            };
            let (client, server_io) = futures_util::join!(client, server);
            let Opened::Open(mut client) = client.unwrap() else {
                panic!("refused")
            };
            let (mut incoming, mut outgoing) = server_sides(WsConn::server(server_io, 1024));
            assert!(matches!(read(&mut client).await, Read::Frame(WsFrame::Text(t)) if t == "hi"));
            client.send(WsOut::Frame(WsFrame::Text("hello".into())));
            client.send(WsOut::Frame(WsFrame::Binary(Bytes::from_static(
                b"\x01\x02",
            ))));
            futures_util::future::poll_fn(|cx| client.poll_write_all(cx))
                .await
                .unwrap();
            assert_eq!(
                incoming.next().await,
                Some(WsIn::Frame(WsFrame::Text("hello".into())))
            );
            assert_eq!(
                incoming.next().await,
                Some(WsIn::Frame(WsFrame::Binary(Bytes::from_static(
                    b"\x01\x02"
                ))))
            );
            outgoing
                .send(WsOut::Frame(WsFrame::Text("back".into())))
                .await
                .unwrap();
            assert!(
                matches!(read(&mut client).await, Read::Frame(WsFrame::Text(t)) if t == "back")
            );
            // The client closes: the server answers with the same code and ends.
            client.send(WsOut::Close(Some(1000)));
            futures_util::future::poll_fn(|cx| client.poll_write_all(cx))
                .await
                .unwrap();
            assert_eq!(incoming.next().await, None);
            assert!(matches!(read(&mut client).await, Read::Closed));
        });
    }

    /// A message over the limit: `TooLarge` at its header, a 1009 close frame written, the
    /// rest discarded until the peer closes.
    #[test]
    fn an_oversized_message_is_refused_at_its_header() {
        let (mut peer, server_io) = pipe();
        futures_executor::block_on(async move {
            let (mut incoming, mut outgoing) = server_sides(WsConn::server(server_io, 100));
            // A masked 200-byte binary frame's header, then its payload.
            peer.write_all(&[0x82, 0xfe, 0x00, 0xc8, 1, 2, 3, 4])
                .await
                .unwrap();
            assert_eq!(incoming.next().await, Some(WsIn::TooLarge));
            // The session answers with its own 1009: the one the codec queued goes alone.
            outgoing.send(WsOut::Close(Some(1009))).await.unwrap();
            let mut close = [0u8; 4];
            peer.read_exact(&mut close).await.unwrap();
            assert_eq!(close, [0x88, 0x02, 0x03, 0xf1]);
            peer.write_all(&[0u8; 200]).await.unwrap();
            peer.close().await.unwrap();
            assert_eq!(incoming.next().await, None);
        });
    }

    /// A ping between a message's fragments is answered while the server reads, and the
    /// message arrives whole.
    #[test]
    fn pings_are_answered_by_the_reader() {
        let (mut peer, server_io) = pipe();
        futures_executor::block_on(async move {
            let (mut incoming, _outgoing) = server_sides(WsConn::server(server_io, 100));
            let key = [1, 2, 3, 4];
            let frame = |first: u8, payload: &[u8]| {
                let mut out = BytesMut::new();
                let mut f = vec![first, 0x80 | payload.len() as u8];
                f.extend_from_slice(&key);
                out.extend_from_slice(&f);
                let at = out.len();
                out.extend_from_slice(payload);
                websocket::apply_mask(&mut out[at..], key, 0);
                out.to_vec()
            };
            let mut bytes = frame(0x01, b"hel");
            bytes.extend(frame(0x89, b"ping!"));
            bytes.extend(frame(0x80, b"lo"));
            peer.write_all(&bytes).await.unwrap();
            assert_eq!(
                incoming.next().await,
                Some(WsIn::Frame(WsFrame::Text("hello".into())))
            );
            let mut pong = [0u8; 7];
            peer.read_exact(&mut pong).await.unwrap();
            assert_eq!(&pong, b"\x8a\x05ping!");
        });
    }

    /// A refusal after the 101 (the reference server's way with the other protocol
    /// generation) reads as the refusal, not as a broken frame.
    #[test]
    fn an_http_answer_after_the_101_is_a_refusal() {
        let (client_io, mut peer) = pipe();
        futures_executor::block_on(async move {
            let mut conn = WsConn::new(
                client_io,
                Role::Client,
                1024,
                mask_source(),
                BytesMut::from(&b"HTTP/1.1 400 Bad Request\r\nContent-Length: 28\r\n"[..]),
            );
            peer.write_all(b"\r\nUnsupported protocol version")
                .await
                .unwrap();
            match read(&mut conn).await {
                Read::Refused(r) => {
                    assert_eq!(r.status, 400);
                    assert_eq!(&r.body[..], b"Unsupported protocol version");
                }
                other => panic!("{other:?}"),
            }
        });
    }

    /// A server's non-101 answer to the handshake is its refusal, with the body.
    #[test]
    fn a_refused_handshake_gives_the_answer() {
        let (client_io, mut peer) = pipe();
        futures_executor::block_on(async move {
            peer.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n\
Content-Length: 2\r\n\r\n{}",
            )
            .await
            .unwrap();
            match client_handshake(client_io, "h", "/", &[], 1024)
                .await
                .unwrap()
            {
                Opened::Refused(r) => {
                    assert_eq!(r.status, 403);
                    assert_eq!(&r.body[..], b"{}");
                }
                Opened::Open(_) => panic!("opened"),
            }
        });
    }
}
