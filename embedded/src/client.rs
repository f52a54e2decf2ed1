//! A blocking Socket.IO client: the client machines ([`engineio_proto::client::Client`],
//! [`socketio_proto::client::ClientConn`]) on `std::net`, WebSocket transport framed by
//! [`engineio_proto::websocket`], no async runtime.
//!
//! # How it is driven
//!
//! - One thread owns the connection: it opens the WebSocket (the machines' `OpenWebSocket`),
//!   reads frames with a read timeout set to the machines' next deadline, and calls
//!   `handle_timeout` when a read times out. It opens a new WebSocket when the Socket.IO
//!   machine plans a reconnection.
//! - The application's calls (`emit`, `ack`, `join`, ...) lock the machines, feed them and
//!   drain them on the calling thread; frames are written there, on a clone of the socket.
//!   The WebSocket machine lives with the others under the lock: the connection thread
//!   reads bytes into a buffer of its own and hands them to it (it answers pings and the
//!   server's close itself).
//! - What happens is queued as [`Event`]s for [`Client::next_event`]; an ack awaited with
//!   [`Client::emit_with_ack`] blocks its caller until the answer, the timeout or the
//!   disconnection.
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio_embedded::client::{Client, ClientOptions, Event};
//!
//! let mut options = ClientOptions::default();
//! options.auth = Some(serde_json::json!({ "token": "abc" }));
//! let client = Client::connect("127.0.0.1:3000", options)?;
//! client.join("/", None);
//! while let Some(event) = client.next_event(Duration::from_secs(5)) {
//!     match event {
//!         Event::Connected { nsp, .. } => {
//!             let answer =
//!                 client.emit_with_ack(nsp.as_str(), "ping", &("hello",), Duration::from_secs(5));
//!             println!("{answer:?}");
//!         }
//!         Event::Message { event, packet, .. } => println!("{event}: {:?}", packet.payload_json()),
//!         other => println!("{other:?}"),
//!     }
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::client::{
    Client as EioClient, ClientConfig as EioConfig, ClientEvent as EioEvent, ClientTransmit,
};
use engineio_proto::http::{HttpRequest, TransportKind};
use engineio_proto::websocket::{self, Event as WsEvent, Message, Role, WebSocket};
use engineio_proto::{BytesMut, WsFrame};
use serde::Serialize;
use socketio_proto::client::{
    ClientConfig, ClientConn, ClientDisconnectReason, ClientError, ClientEvent,
};
use socketio_proto::{AckId, Nsp, Packet};

/// Settings of a blocking client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The server path (default `/socket.io/`).
    pub path: String,
    /// The Socket.IO machine's settings: protocol version (v5 over Engine.IO v4 by default,
    /// v4 over Engine.IO v3), reconnection, buffers.
    pub config: ClientConfig,
    /// The auth of every namespace joined without one of its own. Under protocol v4
    /// (socket.io 2.x servers) it travels as a query string: on the Engine.IO handshake for
    /// `/`, after the name for other namespaces.
    pub auth: Option<serde_json::Value>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            path: "/socket.io/".to_owned(),
            config: ClientConfig::default(),
            auth: None,
        }
    }
}

/// What the connection reports, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A namespace connected.
    Connected {
        /// The namespace.
        nsp: Nsp,
        /// Its socket id.
        sid: String,
    },
    /// The server refused a namespace (its CONNECT_ERROR payload).
    ConnectError {
        /// The namespace.
        nsp: Nsp,
        /// The payload.
        data: serde_json::Value,
    },
    /// An event from the server; answer `ack` with [`Client::ack`] when it is set.
    Message {
        /// The namespace.
        nsp: Nsp,
        /// The event name.
        event: String,
        /// The packet (arguments with [`Packet::args`]).
        packet: Packet,
        /// The ack the server asked for.
        ack: Option<AckId>,
    },
    /// A namespace disconnected.
    Disconnected {
        /// The namespace.
        nsp: Nsp,
        /// Why (socket.io-client's name with [`ClientDisconnectReason::as_str`]).
        reason: ClientDisconnectReason,
    },
    /// Reconnection gave up; the client is done.
    ReconnectFailed,
}

/// Why an ack did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckFailure {
    /// Refused at once (not connected to the namespace, buffer full, bad arguments).
    NotSent,
    /// The timeout passed.
    Timeout,
    /// The namespace disconnected after the request went out.
    Disconnected,
}

enum AckSlot {
    Waiting,
    Done(Result<Packet, AckFailure>),
}

struct State {
    eio: Option<EioClient>,
    sio: ClientConn,
    /// The current WebSocket: its writing half and its machine.
    writer: Option<WsWriter>,
    /// A WebSocket to open (the machines asked for it).
    open: Option<HttpRequest>,
    events: VecDeque<Event>,
    acks: HashMap<(Nsp, AckId), AckSlot>,
    closed: bool,
}

/// The current WebSocket's machine and the socket its frames are written to.
struct WsWriter {
    stream: TcpStream,
    ws: WebSocket,
}

impl WsWriter {
    /// Writes what the machine queued; a failure shuts the socket (the reader reports it).
    fn flush(&mut self) {
        while let Some(bytes) = self.ws.poll_transmit() {
            if self.stream.write_all(&bytes).is_err() {
                let _ = self.stream.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// Bytes read from a WebSocket at a time.
const READ_CHUNK: usize = 16 * 1024;

struct Shared {
    addr: String,
    options: ClientOptions,
    state: Mutex<State>,
    changed: Condvar,
}

/// A blocking Socket.IO client over WebSocket.
pub struct Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// A client of the server at `addr` (`host:port`); its connection thread starts at
    /// once. Join namespaces with [`Client::join`].
    pub fn connect(addr: &str, options: ClientOptions) -> io::Result<Client> {
        let now = Instant::now();
        let shared = Arc::new(Shared {
            addr: addr.to_owned(),
            state: Mutex::new(State {
                eio: None,
                sio: ClientConn::new(now, options.config.clone()),
                writer: None,
                open: None,
                events: VecDeque::new(),
                acks: HashMap::new(),
                closed: false,
            }),
            options,
            changed: Condvar::new(),
        });
        {
            let mut st = lock(&shared);
            open_engine(&shared, &mut st, now);
        }
        let runner = shared.clone();
        std::thread::Builder::new()
            .name("sio-client".into())
            .spawn(move || run(&runner))?;
        Ok(Client { shared })
    }

    /// Joins `nsp` with its own auth object, or the client's ([`ClientOptions::auth`]).
    pub fn join(&self, nsp: &str, auth: Option<serde_json::Value>) {
        let auth = auth.or_else(|| self.shared.options.auth.clone());
        self.with(|st| st.sio.connect(nsp, auth));
    }

    /// Leaves `nsp`.
    pub fn leave(&self, nsp: &str) {
        self.with(|st| st.sio.disconnect(&Nsp::from(nsp)));
    }

    /// Emits `event` on `nsp` (a tuple is the argument list, as on the server side); kept in
    /// the offline buffer while disconnected.
    pub fn emit<T: ?Sized + Serialize>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
    ) -> Result<(), ClientError> {
        self.with(|st| st.sio.emit(&Nsp::from(nsp), event, args))
    }

    /// Emits `event` and blocks until the server's ack, at most `timeout`.
    pub fn emit_with_ack<T: ?Sized + Serialize>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Packet, AckFailure> {
        let nsp = Nsp::from(nsp);
        let id = self
            .with(|st| {
                let id = st
                    .sio
                    .emit_with_ack(Instant::now(), &nsp, event, args, timeout)?;
                st.acks.insert((nsp.clone(), id), AckSlot::Waiting);
                Ok::<_, ClientError>(id)
            })
            .map_err(|_| AckFailure::NotSent)?;
        let mut st = lock(&self.shared);
        loop {
            if let Some(AckSlot::Done(_)) = st.acks.get(&(nsp.clone(), id)) {
                if let Some(AckSlot::Done(r)) = st.acks.remove(&(nsp.clone(), id)) {
                    return r;
                }
            }
            if st.closed {
                st.acks.remove(&(nsp, id));
                return Err(AckFailure::Disconnected);
            }
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Answers the server's ack request `id` on `nsp`.
    pub fn ack<T: ?Sized + Serialize>(
        &self,
        nsp: &Nsp,
        id: AckId,
        args: &T,
    ) -> Result<(), ClientError> {
        self.with(|st| st.sio.ack(nsp, id, args))
    }

    /// The next event, waiting at most `timeout`; `None` when none came or the client is
    /// closed and drained.
    pub fn next_event(&self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.shared);
        loop {
            if let Some(e) = st.events.pop_front() {
                return Some(e);
            }
            let now = Instant::now();
            if st.closed || now >= deadline {
                return None;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Leaves every namespace and closes the connection.
    pub fn close(&self) {
        self.with(|st| st.sio.close());
        lock(&self.shared).closed = true;
        self.shared.changed.notify_all();
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = lock(&self.shared);
        let r = f(&mut st);
        pump(&self.shared, &mut st, Instant::now());
        r
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_engine(shared: &Shared, st: &mut State, now: Instant) {
    let mut config = EioConfig::default();
    let version = shared.options.config.version;
    config.version = version.into();
    config.path = shared.options.path.clone();
    config.query = socketio_proto::client::handshake_query(version, shared.options.auth.as_ref());
    config.transport = TransportKind::WebSocket;
    config.upgrade = false;
    st.eio = Some(EioClient::new(now, config));
}

/// Feeds the machines into each other; writes frames; queues events. Called with the lock.
fn pump(shared: &Shared, st: &mut State, now: Instant) {
    loop {
        let mut progress = false;
        while let Some(m) = st.sio.poll_transmit() {
            progress = true;
            if let Some(eio) = &mut st.eio {
                let _ = eio.send(m);
            }
        }
        let mut transmits = Vec::new();
        let mut events = Vec::new();
        if let Some(eio) = &mut st.eio {
            while let Some(t) = eio.poll_transmit() {
                transmits.push(t);
            }
            while let Some(e) = eio.poll_event() {
                events.push(e);
            }
        }
        for t in transmits {
            progress = true;
            match t {
                ClientTransmit::OpenWebSocket { request } => st.open = Some(request),
                ClientTransmit::WsFrame(frame) => write_frame(st, frame),
                ClientTransmit::CloseWebSocket => {
                    close_writer(st);
                }
                // WebSocket only: a polling request fails at once.
                ClientTransmit::Request { id, .. } => {
                    if let Some(eio) = &mut st.eio {
                        eio.handle_request_failed(now, id);
                    }
                }
                _ => {}
            }
        }
        for e in events {
            progress = true;
            match e {
                EioEvent::Open(open) => st.sio.handle_engine_open(now, &open.sid),
                EioEvent::Message(m) => st.sio.handle_message(now, m),
                EioEvent::Closed(reason) => {
                    st.eio = None;
                    close_writer(st);
                    st.sio.handle_engine_closed(now, reason);
                    // Done unless a reconnection follows.
                    if !st.sio.wants_connection() || !shared.options.config.reconnect.enabled {
                        st.closed = true;
                    }
                }
                _ => {}
            }
        }
        while let Some(e) = st.sio.poll_event() {
            progress = true;
            match e {
                ClientEvent::Connected { nsp, sid, .. } => {
                    st.events.push_back(Event::Connected { nsp, sid })
                }
                ClientEvent::ConnectError { nsp, data } => {
                    st.events.push_back(Event::ConnectError { nsp, data })
                }
                ClientEvent::Event { nsp, packet } => {
                    let event = packet.event_name().unwrap_or_default().to_owned();
                    let ack = packet.ack_id();
                    st.events.push_back(Event::Message {
                        nsp,
                        event,
                        packet,
                        ack,
                    });
                }
                ClientEvent::Disconnected { nsp, reason } => {
                    st.events.push_back(Event::Disconnected { nsp, reason })
                }
                ClientEvent::Ack { nsp, id, packet } => finish_ack(st, nsp, id, Ok(packet)),
                ClientEvent::AckTimedOut { nsp, id } => {
                    finish_ack(st, nsp, id, Err(AckFailure::Timeout))
                }
                ClientEvent::AckDisconnected { nsp, id } => {
                    finish_ack(st, nsp, id, Err(AckFailure::Disconnected))
                }
                ClientEvent::CloseEngine => {
                    if let Some(eio) = &mut st.eio {
                        eio.close(now);
                    }
                }
                ClientEvent::Reconnect => open_engine(shared, st, now),
                ClientEvent::ReconnectFailed | ClientEvent::VersionMismatch => {
                    st.events.push_back(Event::ReconnectFailed);
                    st.closed = true;
                }
                _ => {}
            }
        }
        if !progress {
            break;
        }
    }
    shared.changed.notify_all();
}

fn finish_ack(st: &mut State, nsp: Nsp, id: AckId, r: Result<Packet, AckFailure>) {
    if let Some(slot) = st.acks.get_mut(&(nsp, id)) {
        *slot = AckSlot::Done(r);
    }
}

/// Ends the current WebSocket: our close frame (without a status code, as the reference
/// client's), then the socket is shut (its reader sees the end).
fn close_writer(st: &mut State) {
    if let Some(mut writer) = st.writer.take() {
        writer.ws.close_without_code();
        writer.flush();
        let _ = writer.stream.shutdown(Shutdown::Both);
    }
}

fn write_frame(st: &mut State, frame: WsFrame) {
    let Some(writer) = &mut st.writer else {
        return;
    };
    if writer.ws.send_frame(&frame).is_ok() {
        writer.flush();
    }
}

/// The connection thread: opens WebSockets when asked, reads them, runs the timers.
fn run(shared: &Shared) {
    loop {
        let request = {
            let mut st = lock(shared);
            if st.closed {
                return;
            }
            st.open.take()
        };
        match request {
            Some(request) => read_websocket(shared, request),
            None => {
                // Waiting for a reconnection's delay (or nothing to do): timers only.
                let mut st = lock(shared);
                let now = Instant::now();
                let next = deadline(&st).unwrap_or(now + Duration::from_millis(100));
                if next <= now {
                    timeout(shared, &mut st, now);
                } else {
                    let wait = (next - now).min(Duration::from_millis(100));
                    let _ = shared.changed.wait_timeout(st, wait);
                }
            }
        }
    }
}

fn deadline(st: &State) -> Option<Instant> {
    let eio = st.eio.as_ref().and_then(EioClient::poll_timeout);
    [eio, st.sio.poll_timeout()].into_iter().flatten().min()
}

fn timeout(shared: &Shared, st: &mut State, now: Instant) {
    if let Some(eio) = &mut st.eio {
        eio.handle_timeout(now);
    }
    st.sio.handle_timeout(now);
    pump(shared, st, now);
}

/// Performs the opening handshake on `stream`: what the server sent after its 101.
fn handshake(stream: &mut TcpStream, host: &str, request: &HttpRequest) -> io::Result<BytesMut> {
    let mut nonce = [0u8; 16];
    (crate::os_random())(&mut nonce);
    let key = websocket::client_key(nonce);
    let mut out = Vec::new();
    websocket::write_client_request(&mut out, host, &request.uri, &key, &request.headers);
    stream.write_all(&out)?;
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head = websocket::parse_response_head(&buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(head) = head {
            websocket::check_upgrade(&head, &key)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            return Ok(buf.split_off(head.len));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Hands what was read to the WebSocket machine, writes its replies and feeds the messages
/// to the Engine.IO machine; whether the WebSocket is over.
fn feed(shared: &Shared, st: &mut State, buf: &mut BytesMut, now: Instant) -> bool {
    let Some(writer) = &mut st.writer else {
        return true;
    };
    writer.ws.handle_bytes(buf);
    writer.flush();
    let mut frames = Vec::new();
    let mut closed = false;
    while let Some(event) = writer.ws.poll_event() {
        match event {
            WsEvent::Message(Message::Text(t)) => frames.push(WsFrame::Text(t)),
            WsEvent::Message(Message::Binary(b)) => frames.push(WsFrame::Binary(b)),
            WsEvent::Closed { .. } => closed = true,
            _ => {}
        }
    }
    if let Some(eio) = &mut st.eio {
        for frame in frames {
            eio.handle_ws_frame(now, frame);
        }
    }
    if closed {
        if let Some(eio) = &mut st.eio {
            eio.handle_ws_closed(now);
        }
        st.writer = None;
    }
    pump(shared, st, now);
    closed
}

/// Opens one WebSocket and reads it until it ends.
fn read_websocket(shared: &Shared, request: HttpRequest) {
    let opened = TcpStream::connect(&shared.addr).and_then(|mut stream| {
        stream.set_nodelay(true)?;
        let rest = handshake(&mut stream, &shared.addr, &request)?;
        let writer = stream.try_clone()?;
        Ok((stream, writer, rest))
    });
    let (mut stream, mut buf) = match opened {
        Ok((stream, writer, rest)) => {
            let mut st = lock(shared);
            // Messages up to the Engine.IO machine's payload limit.
            let max = EioConfig::default().max_payload;
            st.writer = Some(WsWriter {
                stream: writer,
                ws: WebSocket::new(Role::Client, max, crate::os_random()),
            });
            let now = Instant::now();
            if let Some(eio) = &mut st.eio {
                eio.handle_ws_open(now);
            }
            pump(shared, &mut st, now);
            (stream, rest)
        }
        Err(_) => {
            let mut st = lock(shared);
            let now = Instant::now();
            if let Some(eio) = &mut st.eio {
                eio.handle_ws_closed(now);
            }
            pump(shared, &mut st, now);
            return;
        }
    };
    if !buf.is_empty() {
        // Frames that came with the 101.
        let mut st = lock(shared);
        if feed(shared, &mut st, &mut buf, Instant::now()) {
            return;
        }
    }
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let wait = {
            let st = lock(shared);
            let now = Instant::now();
            deadline(&st).map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(now)
                    .clamp(Duration::from_millis(1), Duration::from_secs(1))
            })
        };
        let _ = stream.set_read_timeout(Some(wait));
        let read = stream.read(&mut chunk);
        let mut st = lock(shared);
        let now = Instant::now();
        match read {
            Ok(n) if n > 0 => {
                buf.extend_from_slice(&chunk[..n]);
                if feed(shared, &mut st, &mut buf, now) {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                timeout(shared, &mut st, now);
            }
            _ => {
                if let Some(eio) = &mut st.eio {
                    eio.handle_ws_closed(now);
                }
                st.writer = None;
                pump(shared, &mut st, now);
                return;
            }
        }
        if st.eio.is_none() || st.closed {
            return;
        }
    }
}
