//! The Socket.IO server driver: one task per Engine.IO session running its
//! [`ServerConn`], a shared [`Server`] (namespaces, rooms, ack ids), and the application's
//! [`SioSocket`] handles.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::Message;
use futures_channel::{mpsc, oneshot};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Serialize;
use socketio_proto::rooms::{Room, SocketId};
use socketio_proto::server::{
    AckFailure, Broadcast, BroadcastAck, BroadcastFlags, ConnEvent, ConnId, ConnectRequest,
    Delivery, DisconnectReason, NspPattern, Server, ServerConfig, ServerConn,
};
use socketio_proto::{AckId, EncodeError, Encoded, Encoder, Nsp, Packet, RawArgs};

use crate::engine::{EioSocket, EngineIoServer};
use crate::runtime::{BoxFuture, Runtime};

/// Events a socket may queue for the application before its connection waits.
const SOCKET_EVENTS: usize = 256;
/// Commands queued towards one connection before the sender waits.
const CONN_COMMANDS: usize = 256;

/// What a namespace socket receives.
#[derive(Debug)]
#[non_exhaustive]
// Nearly every value is an `Event`: boxing it would add an allocation per event and save
// nothing in the channel, which is sized by the largest variant anyway.
#[allow(clippy::large_enum_variant)]
pub enum SocketEvent {
    /// An event from the client; answer through `ack` when the client asked for one.
    Event {
        /// The event name.
        name: String,
        /// The packet (arguments parsed on demand: `packet.args::<T>()`, `raw_args()`).
        packet: Packet,
        /// The ack to answer, if the client asked for one.
        ack: Option<AckSender>,
    },
    /// The socket ended.
    Disconnect(DisconnectReason),
}

/// Answers one ack request of the client (at most once).
#[derive(Debug)]
pub struct AckSender {
    nsp: Nsp,
    id: AckId,
    conn: mpsc::Sender<Command>,
}

impl AckSender {
    /// Answers with `args` (BINARY_ACK when they carry binary).
    pub async fn send<T: ?Sized + Serialize>(self, args: &T) -> Result<(), EmitError> {
        let packet = Encoder::default().ack(&self.nsp, self.id, args)?;
        self.send_encoded(packet).await
    }

    /// Answers with arguments passed on unparsed.
    pub async fn send_raw(self, args: &RawArgs) -> Result<(), EmitError> {
        let packet = Encoder::default().ack_raw(&self.nsp, self.id, args);
        self.send_encoded(packet).await
    }

    async fn send_encoded(mut self, packet: Encoded) -> Result<(), EmitError> {
        self.conn
            .send(Command::Send(self.nsp.clone(), packet))
            .await
            .map_err(|_| EmitError::Closed)
    }
}

/// Why an emit failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// The socket or its connection is gone.
    Closed,
    /// The packet could not be encoded (reserved event name, too many attachments, ...).
    Encode(EncodeError),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Closed => f.write_str("the socket is closed"),
            EmitError::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EmitError {}

impl From<EncodeError> for EmitError {
    fn from(e: EncodeError) -> Self {
        EmitError::Encode(e)
    }
}

/// Why an ack did not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// The timeout passed.
    Timeout,
    /// The socket disconnected first.
    Disconnected,
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "ack timeout",
            AckError::Disconnected => "socket disconnected",
        })
    }
}

impl std::error::Error for AckError {}

enum Command {
    Send(Nsp, Encoded),
    Deliver(Delivery, Option<oneshot::Sender<Result<Packet, AckError>>>),
    Disconnect(Nsp),
    Close,
}

/// A namespace socket, handed to the namespace's connect handler.
#[derive(Debug)]
pub struct SioSocket {
    nsp: Nsp,
    id: SocketId,
    auth: serde_json::Value,
    conn: mpsc::Sender<Command>,
    events: mpsc::Receiver<SocketEvent>,
    server: SocketIoServer,
}

impl SioSocket {
    /// The socket id.
    pub fn id(&self) -> &SocketId {
        &self.id
    }

    /// The namespace.
    pub fn nsp(&self) -> &Nsp {
        &self.nsp
    }

    /// The CONNECT auth payload (`{}` when none was sent).
    pub fn auth(&self) -> &serde_json::Value {
        &self.auth
    }

    /// The next event; `None` after the socket ended.
    pub async fn recv(&mut self) -> Option<SocketEvent> {
        self.events.next().await
    }

    /// Emits `event` with `args` to this socket.
    pub async fn emit<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = Encoder::default().event(&self.nsp, event, args, None)?;
        self.send(packet).await
    }

    /// Emits `event` with arguments passed on unparsed.
    pub async fn emit_raw(&self, event: &str, args: &RawArgs) -> Result<(), EmitError> {
        let packet = Encoder::default().event_raw(&self.nsp, event, args, None)?;
        self.send(packet).await
    }

    async fn send(&self, packet: Encoded) -> Result<(), EmitError> {
        let mut conn = self.conn.clone();
        conn.send(Command::Send(self.nsp.clone(), packet))
            .await
            .map_err(|_| EmitError::Closed)
    }

    /// Emits `event` and waits for the client's ack, at most the server's ack timeout
    /// ([`SocketIoBuilder::ack_timeout`]).
    pub async fn emit_with_ack<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Result<Packet, AckError>, EmitError> {
        let timeout = self.server.inner.ack_timeout;
        self.emit_with_ack_timeout(event, args, timeout).await
    }

    /// Emits `event` and waits for the client's ack, at most `timeout`.
    pub async fn emit_with_ack_timeout<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Result<Packet, AckError>, EmitError> {
        let id = self.server.lock().next_ack_id(&self.nsp);
        let packet = Encoder::default().event(&self.nsp, event, args, Some(id))?;
        let delivery = Delivery {
            nsp: self.nsp.clone(),
            packet,
            flags: BroadcastFlags::default(),
            ack: Some(BroadcastAck {
                id,
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        };
        let (tx, rx) = oneshot::channel();
        let mut conn = self.conn.clone();
        conn.send(Command::Deliver(delivery, Some(tx)))
            .await
            .map_err(|_| EmitError::Closed)?;
        Ok(rx.await.unwrap_or(Err(AckError::Disconnected)))
    }

    /// Joins `room`.
    pub fn join(&self, room: impl Into<Room>) {
        self.server.lock().join(&self.nsp, &self.id, room);
    }

    /// Leaves `room`.
    pub fn leave(&self, room: impl Into<Room>) {
        self.server.lock().leave(&self.nsp, &self.id, &room.into());
    }

    /// Disconnects this socket (DISCONNECT goes out; the Engine.IO session stays).
    pub async fn disconnect(&self) {
        let mut conn = self.conn.clone();
        let _ = conn.send(Command::Disconnect(self.nsp.clone())).await;
    }

    /// Disconnects every socket of this connection and closes it.
    pub async fn close_connection(&self) {
        let mut conn = self.conn.clone();
        let _ = conn.send(Command::Close).await;
    }

    /// The server this socket belongs to (for broadcasts).
    pub fn server(&self) -> &SocketIoServer {
        &self.server
    }
}

/// Why a CONNECT was refused by a middleware: the CONNECT_ERROR payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message.
    pub message: String,
    /// Extra data for the client.
    pub data: Option<serde_json::Value>,
}

type Middleware = Arc<dyn Fn(&ConnectRequest) -> Result<(), ConnectError> + Send + Sync>;
type Handler = Arc<dyn Fn(SioSocket) + Send + Sync>;

struct NamespaceHandlers {
    middleware: Option<Middleware>,
    on_connect: Handler,
}

enum Matcher {
    Exact(Nsp),
    Dynamic(Arc<NspPattern>),
}

struct SioInner {
    ack_timeout: Duration,
    engine: std::sync::OnceLock<EngineIoServer>,
    server: Mutex<Server>,
    handlers: Mutex<Vec<(Matcher, Arc<NamespaceHandlers>)>>,
    conns: Mutex<HashMap<ConnId, mpsc::Sender<Command>>>,
    runtime: Arc<dyn Runtime>,
}

/// A Socket.IO server on top of an [`EngineIoServer`].
#[derive(Clone)]
pub struct SocketIoServer {
    inner: Arc<SioInner>,
}

impl fmt::Debug for SocketIoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoServer").finish_non_exhaustive()
    }
}

impl SocketIoServer {
    /// A Socket.IO server with its Engine.IO settings (`path` should be `/socket.io/`) and its
    /// own, on `runtime`. Declare namespaces with [`SocketIoServer::namespace`].
    pub fn new(
        engine: engineio_proto::server::ServerConfig,
        config: ServerConfig,
        runtime: Arc<dyn Runtime>,
    ) -> Self {
        Self::with_ack_timeout(engine, config, runtime, Duration::from_secs(10))
    }

    /// A builder with every setting, from the reference's defaults (path `/socket.io/`).
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    fn with_ack_timeout(
        engine: engineio_proto::server::ServerConfig,
        config: ServerConfig,
        runtime: Arc<dyn Runtime>,
        ack_timeout: Duration,
    ) -> Self {
        let rt = runtime.clone();
        let server = Server::new(config, Box::new(move |b: &mut [u8]| rt.fill_random(b)));
        let inner = Arc::new(SioInner {
            ack_timeout,
            engine: std::sync::OnceLock::new(),
            server: Mutex::new(server),
            handlers: Mutex::new(Vec::new()),
            conns: Mutex::new(HashMap::new()),
            runtime: runtime.clone(),
        });
        // The Engine.IO server keeps the Socket.IO state alive: serving `engine()` alone is
        // enough. (This is a reference cycle through `inner.engine`; a server lives as long as
        // the process, and shutdown is explicit.)
        let keep = inner.clone();
        let engine = EngineIoServer::new(engine, runtime, move |eio: EioSocket| {
            let rt = keep.runtime.clone();
            let span = tracing::info_span!("socketio_conn", sid = %eio.sid());
            let run = tracing::Instrument::instrument(run_conn(keep.clone(), eio), span);
            rt.spawn(Box::pin(run));
        });
        let _ = inner.engine.set(engine);
        SocketIoServer { inner }
    }

    /// The Engine.IO server carrying it (hand it to the runtime adapter's `serve`).
    pub fn engine(&self) -> &EngineIoServer {
        self.inner.engine.get().expect("set in new")
    }

    fn lock(&self) -> MutexGuard<'_, Server> {
        self.inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Declares namespace `nsp`; `on_connect` receives each socket that joins it.
    pub fn namespace(&self, nsp: &str, on_connect: impl Fn(SioSocket) + Send + Sync + 'static) {
        self.namespace_with(nsp, None, on_connect);
    }

    /// Declares namespace `nsp` with a connect middleware: it sees the CONNECT (auth payload)
    /// and may refuse it with a CONNECT_ERROR.
    pub fn namespace_with(
        &self,
        nsp: &str,
        middleware: Option<Middleware>,
        on_connect: impl Fn(SioSocket) + Send + Sync + 'static,
    ) {
        self.lock().add_namespace(nsp);
        self.add_handlers(Matcher::Exact(Nsp::from(nsp)), middleware, on_connect);
    }

    /// Declares dynamic namespaces: every name matching `pattern`.
    pub fn dynamic_namespace(
        &self,
        pattern: NspPattern,
        on_connect: impl Fn(SioSocket) + Send + Sync + 'static,
    ) {
        let pattern = Arc::new(pattern);
        let shared = pattern.clone();
        self.lock()
            .add_dynamic_namespace(NspPattern::Predicate(Box::new(move |n| shared.matches(n))));
        self.add_handlers(Matcher::Dynamic(pattern), None, on_connect);
    }

    fn add_handlers(
        &self,
        matcher: Matcher,
        middleware: Option<Middleware>,
        on_connect: impl Fn(SioSocket) + Send + Sync + 'static,
    ) {
        self.inner
            .handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((
                matcher,
                Arc::new(NamespaceHandlers {
                    middleware,
                    on_connect: Arc::new(on_connect),
                }),
            ));
    }

    /// Sends a broadcast: planned once, the same packet bytes handed to every recipient.
    pub async fn broadcast(&self, broadcast: &Broadcast) {
        let now = self.inner.runtime.now();
        let plan = self.lock().plan(now, broadcast);
        let conns: Vec<mpsc::Sender<Command>> = {
            let map = self
                .inner
                .conns
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            plan.targets
                .iter()
                .filter_map(|(c, _)| map.get(c).cloned())
                .collect()
        };
        for mut conn in conns {
            let _ = conn
                .send(Command::Deliver(plan.delivery.clone(), None))
                .await;
        }
    }

    /// Disconnects every socket (DISCONNECT for each namespace) and closes every connection.
    pub async fn shutdown(&self) {
        let conns: Vec<mpsc::Sender<Command>> = self
            .inner
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for mut conn in conns {
            let _ = conn.send(Command::Close).await;
        }
    }

    /// The sockets of `nsp` in any of `rooms` (all when empty).
    pub fn sockets(&self, nsp: &Nsp, rooms: &[Room]) -> Vec<SocketId> {
        self.lock()
            .sockets(nsp, rooms, &[])
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }
}

/// Every setting of a Socket.IO server, with the reference's defaults.
#[derive(Debug, Clone)]
pub struct SocketIoBuilder {
    engine: engineio_proto::server::ServerConfig,
    config: ServerConfig,
    ack_timeout: Duration,
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        let mut engine = engineio_proto::server::ServerConfig::default();
        engine.path = "/socket.io/".to_owned();
        SocketIoBuilder {
            engine,
            config: ServerConfig::default(),
            ack_timeout: Duration::from_secs(10),
        }
    }
}

impl SocketIoBuilder {
    /// The path prefix, with its trailing slash (default `/socket.io/`).
    pub fn path(mut self, path: &str) -> Self {
        self.engine.path = path.to_owned();
        self
    }
    /// The ping interval (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.engine.ping_interval = d;
        self
    }
    /// The ping timeout (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.engine.ping_timeout = d;
        self
    }
    /// The largest HTTP body or WebSocket message (default 1 MB).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.engine.max_payload = bytes;
        self
    }
    /// Which transports are served (default both).
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        self.engine.polling = polling;
        self.engine.websocket = websocket;
        self
    }
    /// Whether upgrades from polling to WebSocket are offered (default true).
    pub fn allow_upgrades(mut self, on: bool) -> Self {
        self.engine.allow_upgrades = on;
        self
    }
    /// Whether Socket.IO 2.x clients (Engine.IO v3) are served (default false).
    pub fn allow_eio3(mut self, on: bool) -> Self {
        self.engine.allow_eio3 = on;
        self
    }
    /// CORS headers (default none).
    pub fn cors(mut self, cors: engineio_proto::server::CorsConfig) -> Self {
        self.engine.cors = Some(cors);
        self
    }
    /// The sticky-session cookie (default none).
    pub fn cookie(mut self, cookie: engineio_proto::server::CookieConfig) -> Self {
        self.engine.cookie = Some(cookie);
        self
    }
    /// How long a connection may join no namespace (default 45 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.config.connect_timeout = d;
        self
    }
    /// The default timeout of [`SioSocket::emit_with_ack`] (default 10 s).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.ack_timeout = d;
        self
    }
    /// Connection state recovery (default off).
    pub fn recovery(mut self, recovery: socketio_proto::server::RecoveryConfig) -> Self {
        self.config.recovery = Some(recovery);
        self
    }
    /// Per-session outgoing buffer limits (default 1024 packets, 16 MiB).
    pub fn max_buffered(mut self, packets: usize, bytes: usize) -> Self {
        self.engine.max_buffered_packets = packets;
        self.engine.max_buffered_bytes = bytes;
        self
    }
    /// Open Engine.IO sessions accepted at once (default 100 000).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.engine.max_sessions = n;
        self
    }
    /// The server, on `runtime`.
    pub fn build(self, runtime: Arc<dyn Runtime>) -> SocketIoServer {
        SocketIoServer::with_ack_timeout(self.engine, self.config, runtime, self.ack_timeout)
    }
}

fn find_handlers(inner: &SioInner, nsp: &Nsp) -> Option<Arc<NamespaceHandlers>> {
    let handlers = inner
        .handlers
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    handlers
        .iter()
        .find(|(m, _)| match m {
            Matcher::Exact(n) => n == nsp,
            Matcher::Dynamic(p) => p.matches(nsp.as_str()),
        })
        .map(|(_, h)| h.clone())
}

/// The per-connection loop: Engine.IO messages in, the machine's output out, commands from the
/// application's sockets, the machine's timers.
async fn run_conn(inner: Arc<SioInner>, mut eio: EioSocket) {
    let runtime = inner.runtime.clone();
    let id = ConnId::new(eio.sid());
    let config = inner
        .server
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .config()
        .clone();
    let mut conn = ServerConn::new(runtime.now(), id.clone(), eio.version().into(), config);
    let (cmd_tx, mut commands) = mpsc::channel::<Command>(CONN_COMMANDS);
    inner
        .conns
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), cmd_tx.clone());
    let server = SocketIoServer {
        inner: inner.clone(),
    };
    let mut sockets: HashMap<Nsp, mpsc::Sender<SocketEvent>> = HashMap::new();
    let mut waiters: HashMap<(Nsp, AckId), oneshot::Sender<Result<Packet, AckError>>> =
        HashMap::new();
    let mut timer: Option<(Instant, futures_util::future::Fuse<BoxFuture>)> = None;
    let mut engine_open = true;
    loop {
        // Drain: transmits, then events, then updates; handling an event (a CONNECT decision)
        // can queue transmits again, so until nothing is left.
        loop {
            let mut busy = false;
            while let Some(out) = conn.poll_transmit() {
                busy = true;
                if eio.send(out.message).await.is_err() {
                    engine_open = false;
                }
            }
            let Some(ev) = conn.poll_event() else {
                if !busy {
                    break;
                }
                continue;
            };
            let now = runtime.now();
            match ev {
                ConnEvent::Connect(req) => {
                    let resolved = inner
                        .server
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .resolve(&mut conn, req);
                    let Some(req) = resolved else { continue };
                    let Some(handlers) = find_handlers(&inner, req.nsp()) else {
                        conn.reject_invalid_namespace(req);
                        continue;
                    };
                    // A socket that recovers its session skips the middlewares, as the
                    // reference does by default (`skipMiddlewares`).
                    let recovering = inner
                        .server
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .can_recover(now, &req);
                    if let (Some(mw), false) = (&handlers.middleware, recovering) {
                        if let Err(e) = mw(&req) {
                            conn.reject(req, &e.message, e.data);
                            continue;
                        }
                    }
                    let nsp = req.nsp().clone();
                    let auth = req.auth().clone();
                    let accepted = inner
                        .server
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .accept(now, &mut conn, req);
                    let (tx, rx) = mpsc::channel(SOCKET_EVENTS);
                    sockets.insert(nsp.clone(), tx);
                    (handlers.on_connect)(SioSocket {
                        nsp,
                        id: accepted.socket,
                        auth,
                        conn: cmd_tx.clone(),
                        events: rx,
                        server: server.clone(),
                    });
                }
                ConnEvent::Event { nsp, packet, .. } => {
                    let ack = packet.ack_id().map(|id| AckSender {
                        nsp: nsp.clone(),
                        id,
                        conn: cmd_tx.clone(),
                    });
                    let name = packet.event_name().unwrap_or_default().to_owned();
                    if let Some(tx) = sockets.get_mut(&nsp) {
                        // A slow handler is back-pressure on its own connection.
                        let _ = tx.send(SocketEvent::Event { name, packet, ack }).await;
                    }
                }
                ConnEvent::Ack {
                    nsp, id, packet, ..
                } => {
                    if let Some(w) = waiters.remove(&(nsp, id)) {
                        let _ = w.send(Ok(packet));
                    }
                }
                ConnEvent::AckFailed {
                    nsp, id, reason, ..
                } => {
                    if let Some(w) = waiters.remove(&(nsp, id)) {
                        let _ = w.send(Err(match reason {
                            AckFailure::Timeout => AckError::Timeout,
                            _ => AckError::Disconnected,
                        }));
                    }
                }
                ConnEvent::Disconnected { nsp, reason, .. } => {
                    if let Some(mut tx) = sockets.remove(&nsp) {
                        let _ = tx.send(SocketEvent::Disconnect(reason)).await;
                    }
                }
                ConnEvent::Closed(_) if engine_open => eio.close().await,
                _ => {}
            }
        }
        while let Some(u) = conn.poll_server_update() {
            let now = runtime.now();
            inner
                .server
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .handle_update(now, u);
        }
        if conn.is_closed() && !engine_open {
            break;
        }
        let deadline = conn.poll_timeout();
        if timer.as_ref().map(|(d, _)| *d) != deadline {
            timer = deadline.map(|d| (d, runtime.sleep_until(d).fuse()));
        }
        let wake = {
            let mut sleep = match &mut timer {
                Some((_, sleep)) => futures_util::future::Either::Left(sleep),
                None => futures_util::future::Either::Right(futures_util::future::pending()),
            };
            let message = eio.recv().fuse();
            futures_util::pin_mut!(message);
            futures_util::select_biased! {
                _ = sleep => Wake::Timer,
                c = commands.next() => Wake::Command(c),
                m = message => Wake::Message(m),
            }
        };
        let now = runtime.now();
        if conn.poll_timeout().is_some_and(|d| d <= now) {
            conn.handle_timeout(now);
            timer = None;
        }
        match wake {
            Wake::Timer => {}
            Wake::Message(Some(m)) => conn.handle_message(now, m),
            Wake::Message(None) => {
                // The Engine.IO session ended (its reason is the session's; the sockets learn
                // it as a transport close).
                engine_open = false;
                conn.handle_engine_closed(now, engineio_proto::CloseReason::TransportClose);
            }
            Wake::Command(Some(c)) => match c {
                Command::Send(nsp, packet) => {
                    let _ = conn.emit_encoded(&nsp, &packet);
                }
                Command::Deliver(delivery, waiter) => {
                    let key = delivery.ack.map(|a| (delivery.nsp.clone(), a.id));
                    let queued = conn.deliver(now, &delivery, true);
                    if let (Some(key), Some(w)) = (key, waiter) {
                        if queued {
                            waiters.insert(key, w);
                        } else {
                            let _ = w.send(Err(AckError::Disconnected));
                        }
                    }
                }
                Command::Disconnect(nsp) => {
                    let _ = conn.disconnect(&nsp);
                }
                Command::Close => conn.close(),
            },
            Wake::Command(None) => {}
        }
    }
    inner
        .conns
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}

enum Wake {
    Timer,
    Command(Option<Command>),
    Message(Option<Message>),
}
