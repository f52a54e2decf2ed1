//! The sans-IO Engine.IO and Socket.IO machines driven from plain blocking `std::net` threads:
//! no async runtime, no `adapters-core`. It proves the machines embed in any event loop; read
//! it as a guide to writing your own driver.
//!
//! ```
//! use std::net::TcpListener;
//! use std::time::Duration;
//! use socketio_embedded::client::{Client, ClientOptions};
//!
//! // The conformance application's server, on its own threads.
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! std::thread::spawn(move || socketio_embedded::serve(listener, false));
//!
//! // The blocking client joins `/`; `message-with-ack` is acked with its own arguments (the
//! // emit waits in the offline buffer until the namespace is joined).
//! let client = Client::connect(&addr.to_string(), ClientOptions::default())?;
//! client.join("/", None);
//! let ack = client
//!     .emit_with_ack("/", "message-with-ack", &(1, "two"), Duration::from_secs(5))
//!     .expect("acked");
//! assert_eq!(ack.args::<(u32, String)>()?, (1, "two".to_owned()));
//! client.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The protocol is [engineio-proto](https://docs.rs/engineio-proto)'s and
//! [socketio-proto](https://docs.rs/socketio-proto)'s; the async servers and clients are
//! [socketio-tokio](https://docs.rs/socketio-tokio) and
//! [socketio-smol](https://docs.rs/socketio-smol). This crate has no optional features.
//!
//! [`serve`] runs the application the official conformance suites expect: a raw Engine.IO
//! echo server at `/engine.io/` and a Socket.IO server at `/socket.io/`.
//!
//! # How it is driven
//!
//! - One thread per TCP connection reads HTTP/1.1 requests (keep-alive), hands each to the
//!   machines and writes the answer; a held long-poll waits on a channel for its reply.
//! - After a WebSocket upgrade that thread reads frames; a second thread writes the frames the
//!   session queued for that WebSocket.
//! - One timer thread calls `handle_timeout` at the machines' `poll_timeout` deadlines.
//! - All machines live in one [`Mutex`]: every input (request, frame, close, abort, timer)
//!   locks it, reads `Instant::now()`, feeds the machine and drains it (transmits, events,
//!   updates), the drain rule of the proto crates. Nothing blocks on the network while the lock
//!   is held: replies travel on channels and WebSocket queues.
//!
//! Every protocol decision (status codes, packets, heartbeats, upgrades, timeouts) is the
//! machines'; this crate only moves bytes, reads the clock and draws random session ids.
//!
//! The client side is in [`client`]: a blocking Socket.IO client over WebSocket, driven the
//! same way (one connection thread, the machines under one lock).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
mod http;
mod ws;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io;
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::http::{HeaderValue, HttpRequest, HttpResponse, RequestId};
use engineio_proto::server::{
    CorsConfig, Engine, Route, ServerConfig, Session, SessionEvent, Transmit,
};
use engineio_proto::{Message, UsageError, WsFrame};
use socketio_proto::server::{ConnEvent, ConnId, Server, ServerConfig as SioConfig, ServerConn};
use socketio_proto::{Encoded, Encoder, Nsp, RawArgs};

use ws::{WsOut, WsQueue};

/// How long after a connection the suites' `auth` event is emitted: the suites' Node client
/// loses a message that arrives in the same TCP read as the CONNECT reply before it
/// (socketio/socket.io-protocol#32); waiting lets `auth` leave in a write of its own.
const AUTH_DELAY: Duration = Duration::from_millis(20);

/// How long a long-poll waits at most for the probe WebSocket's reader
/// ([`WsQueue::wait_reader_caught_up`]).
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// Serves the conformance application on `listener`, forever: the Engine.IO echo server at
/// `/engine.io/` (every message sent back unchanged) and Socket.IO at `/socket.io/`
/// (namespaces `/` and `/custom`; on connect each emits `auth` with the CONNECT payload,
/// 20 ms later; on `/`, `message` is answered with `message-back` and `message-with-ack` is
/// acked, both with the same arguments). Both use pingInterval 300 ms, pingTimeout 200 ms,
/// maxPayload 1e6, CORS `*`, and accept Engine.IO v3 clients only when `allow_eio3`. Other
/// paths get 404.
///
/// Returns only if the timer thread cannot be started.
pub fn serve(listener: TcpListener, allow_eio3: bool) -> io::Result<()> {
    let shared = Arc::new(Shared::new(allow_eio3));
    let timers = shared.clone();
    std::thread::Builder::new()
        .name("timers".into())
        .spawn(move || timers.run_timers())?;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait for connections to end.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        // Frames and responses are written whole; small ones must not wait for an ACK.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        // A failed spawn drops the connection.
        let _ = std::thread::Builder::new().spawn(move || http::serve_connection(&shared, stream));
    }
}

/// The two applications, each with its own Engine.IO engine and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum AppKind {
    Echo = 0,
    SocketIo = 1,
}

impl AppKind {
    fn for_path(path: &str) -> Option<Self> {
        if path.starts_with("/engine.io/") {
            Some(AppKind::Echo)
        } else if path.starts_with("/socket.io/") {
            Some(AppKind::SocketIo)
        } else {
            None
        }
    }
}

/// The suites' Engine.IO settings at `path`.
fn engine_config(path: &str, allow_eio3: bool) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.path = path.to_owned();
    config.ping_interval = Duration::from_millis(300);
    config.ping_timeout = Duration::from_millis(200);
    config.max_payload = 1_000_000;
    config.cors = Some(CorsConfig::any());
    config.allow_eio3 = allow_eio3;
    config
}

/// Session ids and socket ids come from the OS's CSPRNG.
fn os_random() -> engineio_proto::server::RandomSource {
    Box::new(|buf: &mut [u8]| getrandom::fill(buf).expect("the OS random source failed"))
}

/// How a request is answered.
#[derive(Debug)]
enum Reply {
    Http(HttpResponse),
    /// Complete the WebSocket upgrade with these extra headers; the session's frames for it
    /// go to the queue.
    Upgrade(Vec<(&'static str, HeaderValue)>, Arc<WsQueue>),
    /// Complete the WebSocket upgrade with these extra headers, then close it at once.
    Refuse(Vec<(&'static str, HeaderValue)>),
}

/// A request handed to the machines: answered at once, or later on the channel.
#[derive(Debug)]
enum Answer {
    Now(Reply),
    Later {
        id: RequestId,
        sid: String,
        reply: Receiver<Reply>,
    },
}

/// State shared by every thread.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the timer thread when the earliest deadline moves forward.
    timer_changed: Condvar,
    max_payload: usize,
}

#[derive(Debug)]
struct State {
    apps: [App; 2],
    sio: Server,
    encoder: Encoder,
    /// Every entry's next deadline, earliest first.
    deadlines: BTreeSet<(Instant, AppKind, String)>,
}

#[derive(Debug)]
struct App {
    engine: Engine,
    sessions: HashMap<String, Entry>,
    /// Requests waiting for their answer, by the id the engine gave them.
    waiting: HashMap<RequestId, Sender<Reply>>,
}

/// One Engine.IO session and what hangs off it.
#[derive(Debug)]
struct Entry {
    session: Session,
    /// The Socket.IO side (the Socket.IO app only).
    conn: Option<ServerConn>,
    /// The queue of the session's WebSocket (the probe one during an upgrade).
    ws: Option<Arc<WsQueue>>,
    /// Messages for the session while its outgoing buffer is full (back-pressure).
    backlog: VecDeque<Message>,
    /// The application's `auth` emits waiting for their time ([`AUTH_DELAY`]), in order.
    auth_due: VecDeque<(Instant, Nsp, Encoded)>,
    deadline: Option<Instant>,
}

impl Entry {
    fn next_deadline(&self) -> Option<Instant> {
        let conn = self.conn.as_ref().and_then(ServerConn::poll_timeout);
        let auth = self.auth_due.front().map(|(at, ..)| *at);
        [self.session.poll_timeout(), conn, auth]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires whatever deadline passed before an input arrives, so that a late timer thread
    /// never lets an input overtake a deadline it came after.
    fn catch_up(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            self.timeout(now);
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        if let Some(conn) = &mut self.conn {
            conn.handle_timeout(now);
            while self.auth_due.front().is_some_and(|(at, ..)| *at <= now) {
                if let Some((_, nsp, packet)) = self.auth_due.pop_front() {
                    let _ = conn.emit_encoded(&nsp, packet);
                }
            }
        }
    }
}

impl Shared {
    fn new(allow_eio3: bool) -> Self {
        let app = |path| App {
            engine: Engine::new(engine_config(path, allow_eio3), os_random()),
            sessions: HashMap::new(),
            waiting: HashMap::new(),
        };
        let mut sio_config = SioConfig::default();
        sio_config.connect_timeout = Duration::from_millis(1000);
        let mut sio = Server::new(sio_config, os_random());
        sio.add_namespace("/");
        sio.add_namespace("/custom");
        Shared {
            state: Mutex::new(State {
                apps: [app("/engine.io/"), app("/socket.io/")],
                sio,
                encoder: Encoder::default(),
                deadlines: BTreeSet::new(),
            }),
            timer_changed: Condvar::new(),
            max_payload: 1_000_000,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes a request (head and body read) and feeds it to its session.
    fn request(&self, kind: AppKind, request: HttpRequest) -> Answer {
        self.wait_for_websocket(kind, &request);
        let mut state = self.lock();
        let now = Instant::now();
        let sio_config = state.sio.config().clone();
        let app = &mut state.apps[kind as usize];
        let routed = app.engine.handle_request(request);
        let sid = match routed.route {
            Route::Reply(response) => return Answer::Now(Reply::Http(response)),
            Route::Handshake(incoming) => {
                // The application accepts every handshake.
                let session = app.engine.accept(now, incoming);
                let sid = session.sid().as_str().to_owned();
                let conn = (kind == AppKind::SocketIo).then(|| {
                    let id = ConnId::new(sid.as_str());
                    ServerConn::new(now, id, session.version().into(), sio_config)
                });
                let entry = Entry {
                    session,
                    conn,
                    ws: None,
                    backlog: VecDeque::new(),
                    auth_due: VecDeque::new(),
                    deadline: None,
                };
                app.sessions.insert(sid.clone(), entry);
                sid
            }
            Route::Session(sid, request) => {
                let sid = sid.as_str().to_owned();
                // The engine routes only to sessions it knows, and every closed session
                // leaves the engine when it leaves this map (same lock).
                let Some(entry) = app.sessions.get_mut(&sid) else {
                    return Answer::Now(Reply::Http(HttpResponse::new(500)));
                };
                entry.catch_up(now);
                entry.session.handle_request(now, request);
                sid
            }
            // A route this driver does not know (a newer engineio-proto).
            _ => return Answer::Now(Reply::Http(HttpResponse::new(500))),
        };
        let (tx, rx) = mpsc::channel();
        app.waiting.insert(routed.id, tx);
        self.drain(&mut state, kind, &sid, now);
        Answer::Later {
            id: routed.id,
            sid,
            reply: rx,
        }
    }

    /// A request for a session with a WebSocket (an upgrade's probe, or after the upgrade)
    /// waits until that WebSocket's reader has handed the session what was readable on it and
    /// its writer flushed what the session queued (engineio.md §8: a client that sent
    /// `2probe` and `5` and then a GET expects the 400 of an upgraded session, and `3probe`
    /// before it; the connections' threads race otherwise).
    fn wait_for_websocket(&self, kind: AppKind, request: &HttpRequest) {
        let Some(sid) = request.query_param("sid") else {
            return;
        };
        let probe = {
            let state = self.lock();
            state.apps[kind as usize]
                .sessions
                .get(sid.as_ref())
                .and_then(|e| e.ws.clone())
        };
        if let Some(ws) = probe {
            ws.wait_reader_caught_up(PROBE_WAIT);
        }
    }

    /// The connection of a request still waiting for its answer went away.
    fn aborted(&self, kind: AppKind, sid: &str, id: RequestId) {
        self.lock().apps[kind as usize].waiting.remove(&id);
        self.input(kind, sid, |entry, now| {
            entry.session.handle_request_aborted(now, id)
        });
    }

    /// A frame arrived on WebSocket `ws` of session `sid`.
    fn ws_frame(&self, kind: AppKind, sid: &str, ws: &Arc<WsQueue>, frame: WsFrame) {
        self.input(kind, sid, |entry, now| {
            // Frames of a WebSocket the session already let go of are stale.
            if entry.ws.as_ref().is_some_and(|w| Arc::ptr_eq(w, ws)) {
                entry.session.handle_ws_frame(now, frame);
            }
        });
    }

    /// WebSocket `ws` of session `sid` sent a message longer than its size limit.
    fn ws_too_large(&self, kind: AppKind, sid: &str, ws: &Arc<WsQueue>) {
        self.input(kind, sid, |entry, now| {
            if entry.ws.as_ref().is_some_and(|w| Arc::ptr_eq(w, ws)) {
                entry.session.handle_ws_too_large(now);
            }
        });
    }

    /// WebSocket `ws` of session `sid` closed or failed.
    fn ws_closed(&self, kind: AppKind, sid: &str, ws: &Arc<WsQueue>) {
        self.input(kind, sid, |entry, now| {
            if entry.ws.as_ref().is_some_and(|w| Arc::ptr_eq(w, ws)) {
                entry.ws = None;
                entry.session.handle_ws_closed(now);
            }
        });
    }

    /// Feeds one input to session `sid` (if it still exists) and drains it.
    fn input(&self, kind: AppKind, sid: &str, feed: impl FnOnce(&mut Entry, Instant)) {
        let mut state = self.lock();
        let now = Instant::now();
        let Some(entry) = state.apps[kind as usize].sessions.get_mut(sid) else {
            return;
        };
        entry.catch_up(now);
        feed(entry, now);
        self.drain(&mut state, kind, sid, now);
    }

    /// The timer thread: sleeps until the earliest deadline, fires it, drains.
    fn run_timers(&self) {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            match state.deadlines.first().cloned() {
                Some((at, kind, sid)) if at <= now => {
                    state.deadlines.remove(&(at, kind, sid.clone()));
                    if let Some(entry) = state.apps[kind as usize].sessions.get_mut(&sid) {
                        entry.deadline = None;
                        entry.timeout(now);
                    }
                    self.drain(&mut state, kind, &sid, now);
                }
                Some((at, ..)) => {
                    state = self
                        .timer_changed
                        .wait_timeout(state, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                None => {
                    state = self
                        .timer_changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// The drain rule, for session `sid` and its Socket.IO side: transmits, then events, then
    /// updates, again while handling an event queued more; then the next deadline.
    fn drain(&self, state: &mut State, kind: AppKind, sid: &str, now: Instant) {
        let State {
            apps,
            sio,
            encoder,
            deadlines,
        } = state;
        let App {
            engine,
            sessions,
            waiting,
        } = &mut apps[kind as usize];
        let Some(entry) = sessions.get_mut(sid) else {
            return;
        };
        loop {
            let mut busy = false;
            // Messages waiting for room in the session's buffer go first, in order.
            while let Some(m) = entry.backlog.front() {
                match entry.session.send(m.clone()) {
                    Err(UsageError::BufferFull) => break,
                    _ => busy |= entry.backlog.pop_front().is_some(),
                }
            }
            while let Some(t) = entry.session.poll_transmit() {
                match t {
                    Transmit::Response { request, response } => {
                        if let Some(tx) = waiting.remove(&request) {
                            let _ = tx.send(Reply::Http(response));
                        }
                    }
                    Transmit::AcceptWebSocket { request, headers } => {
                        let queue = Arc::new(WsQueue::default());
                        entry.ws = Some(queue.clone());
                        if let Some(tx) = waiting.remove(&request) {
                            let _ = tx.send(Reply::Upgrade(headers, queue));
                        }
                    }
                    Transmit::RefuseWebSocket { request, headers } => {
                        if let Some(tx) = waiting.remove(&request) {
                            let _ = tx.send(Reply::Refuse(headers));
                        }
                    }
                    Transmit::WsFrame(frame) => {
                        if let Some(ws) = &entry.ws {
                            ws.push(WsOut::Frame(frame));
                        }
                    }
                    Transmit::CloseWebSocket { code } => {
                        if let Some(ws) = entry.ws.take() {
                            ws.push(WsOut::Close(code));
                        }
                    }
                    _ => {}
                }
            }
            while let Some(event) = entry.session.poll_event() {
                busy = true;
                match (event, &mut entry.conn) {
                    // The echo: every message goes back unchanged, queued before the next
                    // transmit is pulled, so the replies to one POST share one long-poll.
                    (SessionEvent::Message(m), None) => entry.backlog.push_back(m),
                    (SessionEvent::Message(m), Some(conn)) => conn.handle_message(now, m),
                    (SessionEvent::Closed(reason), Some(conn)) => {
                        conn.handle_engine_closed(now, reason)
                    }
                    _ => {}
                }
            }
            while let Some(update) = entry.session.poll_engine_update() {
                engine.handle_update(update);
            }
            if let Some(conn) = &mut entry.conn {
                while let Some(out) = conn.poll_transmit() {
                    busy = true;
                    entry.backlog.push_back(out.message);
                }
                while let Some(event) = conn.poll_event() {
                    busy = true;
                    socketio_app(
                        sio,
                        encoder,
                        conn,
                        &mut entry.session,
                        &mut entry.auth_due,
                        event,
                        now,
                    );
                }
                while let Some(update) = conn.poll_server_update() {
                    sio.handle_update(now, update);
                }
            }
            if !busy {
                break;
            }
        }
        let old = entry.deadline;
        if entry.session.is_closed() {
            if let Some(ws) = entry.ws.take() {
                ws.push(WsOut::Close(None));
            }
            sessions.remove(sid);
            entry_deadline(deadlines, kind, sid, old, None);
            return;
        }
        let new = entry.next_deadline();
        entry.deadline = new;
        if entry_deadline(deadlines, kind, sid, old, new) {
            self.timer_changed.notify_one();
        }
    }
}

/// Moves an entry's deadline in the index; whether the earliest deadline changed.
fn entry_deadline(
    deadlines: &mut BTreeSet<(Instant, AppKind, String)>,
    kind: AppKind,
    sid: &str,
    old: Option<Instant>,
    new: Option<Instant>,
) -> bool {
    if old == new {
        return false;
    }
    let first = deadlines.first().map(|(at, ..)| *at);
    if let Some(old) = old {
        deadlines.remove(&(old, kind, sid.to_owned()));
    }
    if let Some(new) = new {
        deadlines.insert((new, kind, sid.to_owned()));
    }
    deadlines.first().map(|(at, ..)| *at) != first
}

/// The Socket.IO application: what the suites expect of `/` and `/custom`.
fn socketio_app(
    sio: &mut Server,
    encoder: &mut Encoder,
    conn: &mut ServerConn,
    session: &mut Session,
    auth_due: &mut VecDeque<(Instant, Nsp, Encoded)>,
    event: ConnEvent,
    now: Instant,
) {
    match event {
        ConnEvent::Connect(req) => {
            // Unknown namespaces are refused by `resolve`; the known ones accept everyone.
            let Some(req) = sio.resolve(conn, req) else {
                return;
            };
            // The auth as the client wrote it, keys in its order, as the reference echoes it.
            let (nsp, auth) = (req.nsp().clone(), format!("[{}]", req.auth_json()));
            sio.accept(now, conn, req);
            // Emitted a moment later, in a write of its own (see [`AUTH_DELAY`]).
            if let Ok(args) = RawArgs::from_array(&auth, Vec::new()) {
                if let Ok(packet) = encoder.event_raw(&nsp, "auth", &args, None) {
                    auth_due.push_back((now + AUTH_DELAY, nsp, packet));
                }
            }
        }
        ConnEvent::Event { nsp, packet, .. } if nsp.is_main() => {
            let Some(args) = packet.raw_args() else {
                return;
            };
            match (packet.event_name(), packet.ack_id()) {
                (Some("message"), _) => {
                    if let Ok(p) = encoder.event_raw(&nsp, "message-back", &args, None) {
                        let _ = conn.emit_encoded(&nsp, p);
                    }
                }
                (Some("message-with-ack"), Some(id)) => {
                    let _ = conn.ack_raw(&nsp, id, &args);
                }
                _ => {}
            }
        }
        // The connection is over (protocol error, connect timeout): close the session after
        // what is queued.
        ConnEvent::Closed(_) => session.close(now),
        _ => {}
    }
}
