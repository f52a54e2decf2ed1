//! The Socket.IO server driver: one task per Engine.IO session running its
//! [`ServerConn`] and the application's handlers, a shared [`Server`] (namespaces, rooms, ack
//! ids), and the application's [`SioSocket`] handles.

mod broadcast;
mod socket;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use engineio_proto::http::HttpRequest;
use engineio_proto::Message;
use futures_channel::{mpsc, oneshot};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use socketio_proto::rooms::{Room, SocketId};
use socketio_proto::server::{
    AckFailure, Broadcast, ConnEvent, ConnId, ConnectRequest, Delivery, DisconnectReason,
    NspPattern, Server, ServerConfig, ServerConn,
};
use socketio_proto::{AckId, Encoded, Nsp, Packet};

pub use broadcast::{AckResponses, BroadcastOperator};
pub use socket::{AckError, AckSender, EmitError, SioSocket};

use crate::engine::{EioSocket, EngineIoServer};
use crate::runtime::{BoxFuture, Runtime};

/// Commands queued towards one connection before the sender waits.
const CONN_COMMANDS: usize = 256;
/// Handler futures one connection runs at once; while that many are pending, its messages are
/// not read (a slow application slows its client down instead of growing memory).
const RUNNING_HANDLERS: usize = 128;

pub(crate) enum Command {
    Send(Nsp, Encoded),
    Deliver(Delivery, Option<oneshot::Sender<Result<Packet, AckError>>>),
    Disconnect(Nsp),
    Close,
}

/// Why a CONNECT was refused by a middleware: the CONNECT_ERROR payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message.
    pub message: String,
    /// Extra data for the client.
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with `message` and no data.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data for the client (`err.data` in the reference client).
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// A connect middleware: sees the CONNECT (namespace, auth) and the HTTP request that opened
/// the connection (headers, query); `Err` refuses the socket with a CONNECT_ERROR.
pub type Middleware =
    Arc<dyn Fn(&ConnectRequest, &HttpRequest) -> Result<(), ConnectError> + Send + Sync>;
type OnConnect = Arc<dyn Fn(SioSocket) -> BoxFuture + Send + Sync>;

struct NamespaceHandlers {
    middleware: Option<Middleware>,
    on_connect: OnConnect,
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
    /// The connected sockets, for [`BroadcastOperator::sockets`].
    sockets: Mutex<HashMap<(Nsp, SocketId), SioSocket>>,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
            sockets: Mutex::new(HashMap::new()),
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
        lock(&self.inner.server)
    }

    fn conns(&self) -> MutexGuard<'_, HashMap<ConnId, mpsc::Sender<Command>>> {
        lock(&self.inner.conns)
    }

    fn registry(&self) -> MutexGuard<'_, HashMap<(Nsp, SocketId), SioSocket>> {
        lock(&self.inner.sockets)
    }

    /// Declares namespace `nsp`; `on_connect` runs for each socket that joins it (register
    /// the socket's handlers there, before its first `.await`).
    pub fn namespace<F, Fut>(&self, nsp: &str, on_connect: F)
    where
        F: Fn(SioSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.namespace_with(nsp, None, on_connect);
    }

    /// Declares namespace `nsp` with a connect middleware: it sees the CONNECT (auth payload)
    /// and the handshake request, and may refuse the socket with a CONNECT_ERROR. A socket
    /// that recovers its session skips it, as in the reference.
    pub fn namespace_with<F, Fut>(&self, nsp: &str, middleware: Option<Middleware>, on_connect: F)
    where
        F: Fn(SioSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.lock().add_namespace(nsp);
        self.add_handlers(Matcher::Exact(Nsp::from(nsp)), middleware, on_connect);
    }

    /// Declares dynamic namespaces: every name matching `pattern`.
    pub fn dynamic_namespace<F, Fut>(
        &self,
        pattern: NspPattern,
        middleware: Option<Middleware>,
        on_connect: F,
    ) where
        F: Fn(SioSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let pattern = Arc::new(pattern);
        let shared = pattern.clone();
        self.lock()
            .add_dynamic_namespace(NspPattern::Predicate(Box::new(move |n| shared.matches(n))));
        self.add_handlers(Matcher::Dynamic(pattern), middleware, on_connect);
    }

    fn add_handlers<F, Fut>(&self, matcher: Matcher, middleware: Option<Middleware>, on_connect: F)
    where
        F: Fn(SioSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_connect: OnConnect = Arc::new(move |socket| Box::pin(on_connect(socket)));
        lock(&self.inner.handlers).push((
            matcher,
            Arc::new(NamespaceHandlers {
                middleware,
                on_connect,
            }),
        ));
    }

    /// Sends a broadcast built by hand (or received from another node): planned once, the
    /// same packet bytes handed to every recipient. [`SocketIoServer::of`] builds them the
    /// reference's way.
    pub async fn broadcast(&self, broadcast: &Broadcast) {
        self.deliver(broadcast, false).await;
    }

    /// Disconnects every socket (DISCONNECT for each namespace) and closes every connection.
    pub async fn shutdown(&self) {
        let conns: Vec<mpsc::Sender<Command>> = self.conns().values().cloned().collect();
        for mut conn in conns {
            let _ = futures_util::SinkExt::send(&mut conn, Command::Close).await;
        }
    }

    /// The ids of the sockets of `nsp` in any of `rooms` (all when empty).
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
    lock(&inner.handlers)
        .iter()
        .find(|(m, _)| match m {
            Matcher::Exact(n) => n == nsp,
            Matcher::Dynamic(p) => p.matches(nsp.as_str()),
        })
        .map(|(_, h)| h.clone())
}

/// The handler futures of one connection.
struct Running(FuturesUnordered<BoxFuture>);

impl Running {
    /// Polls `fut` once now, so handlers start in the order their events arrived (what a
    /// handler does before its first `.await`, such as registering handlers, is done before
    /// the next event is looked at), and keeps it if it is not done.
    async fn start(&mut self, mut fut: BoxFuture) {
        if futures_util::poll!(fut.as_mut()).is_pending() {
            self.0.push(fut);
        }
    }

    /// Resolves when one of them completes; never when there are none.
    async fn next(&mut self) {
        if self.0.is_empty() {
            futures_util::future::pending::<()>().await;
        }
        self.0.next().await;
    }
}

/// The per-connection loop: Engine.IO messages in, the machine's output out, commands from the
/// application's sockets, the machine's timers, and the application's handlers.
async fn run_conn(inner: Arc<SioInner>, mut eio: EioSocket) {
    let runtime = inner.runtime.clone();
    let id = ConnId::new(eio.sid());
    let config = lock(&inner.server).config().clone();
    let mut conn = ServerConn::new(runtime.now(), id.clone(), eio.version().into(), config);
    let (cmd_tx, mut commands) = mpsc::channel::<Command>(CONN_COMMANDS);
    lock(&inner.conns).insert(id.clone(), cmd_tx.clone());
    let server = SocketIoServer {
        inner: inner.clone(),
    };
    let mut sockets: HashMap<Nsp, SioSocket> = HashMap::new();
    let mut waiters: HashMap<(Nsp, AckId), oneshot::Sender<Result<Packet, AckError>>> =
        HashMap::new();
    let mut running = Running(FuturesUnordered::new());
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
                    let resolved = lock(&inner.server).resolve(&mut conn, req);
                    let Some(req) = resolved else { continue };
                    let Some(handlers) = find_handlers(&inner, req.nsp()) else {
                        conn.reject_invalid_namespace(req);
                        continue;
                    };
                    // A socket that recovers its session skips the middlewares, as the
                    // reference does by default (`skipMiddlewares`).
                    let recovering = lock(&inner.server).can_recover(now, &req);
                    if let (Some(mw), false) = (&handlers.middleware, recovering) {
                        if let Err(e) = mw(&req, eio.handshake()) {
                            conn.reject(req, &e.message, e.data);
                            continue;
                        }
                    }
                    let nsp = req.nsp().clone();
                    let auth = req.auth().clone();
                    let accepted = lock(&inner.server).accept(now, &mut conn, req);
                    let socket = SioSocket::new(
                        nsp.clone(),
                        accepted.socket.clone(),
                        auth,
                        eio.handshake().clone(),
                        accepted.recovered,
                        cmd_tx.clone(),
                        server.clone(),
                    );
                    lock(&inner.sockets).insert((nsp.clone(), accepted.socket), socket.clone());
                    sockets.insert(nsp, socket.clone());
                    running.start((handlers.on_connect)(socket)).await;
                }
                ConnEvent::Event { nsp, packet, .. } => {
                    let Some(socket) = sockets.get(&nsp) else {
                        continue;
                    };
                    let ack = packet.ack_id().map(|id| AckSender {
                        nsp: nsp.clone(),
                        id,
                        conn: cmd_tx.clone(),
                    });
                    if let Some(fut) = socket.dispatch(packet, ack) {
                        running.start(fut).await;
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
                    if let Some(socket) = sockets.remove(&nsp) {
                        lock(&inner.sockets).remove(&(nsp, socket.id().clone()));
                        if let Some(fut) = socket.ended(reason) {
                            running.start(fut).await;
                        }
                    }
                }
                ConnEvent::Closed(_) if engine_open => eio.close().await,
                _ => {}
            }
        }
        while let Some(u) = conn.poll_server_update() {
            let now = runtime.now();
            lock(&inner.server).handle_update(now, u);
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
            // While the handlers are at their limit, the client's messages wait.
            let message = if running.0.len() < RUNNING_HANDLERS {
                futures_util::future::Either::Left(eio.recv())
            } else {
                futures_util::future::Either::Right(futures_util::future::pending())
            }
            .fuse();
            let handler_done = running.next().fuse();
            futures_util::pin_mut!(message, handler_done);
            futures_util::select_biased! {
                _ = sleep => Wake::Timer,
                c = commands.next() => Wake::Command(c),
                () = handler_done => Wake::HandlerDone,
                m = message => Wake::Message(m),
            }
        };
        let now = runtime.now();
        if conn.poll_timeout().is_some_and(|d| d <= now) {
            conn.handle_timeout(now);
            timer = None;
        }
        match wake {
            Wake::Timer | Wake::HandlerDone => {}
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
                    let queued = conn.deliver(now, &delivery, eio.is_writable());
                    if let (Some(key), Some(w)) = (key, waiter) {
                        if queued {
                            waiters.insert(key, w);
                        } else {
                            let _ = w.send(Err(AckError::NotSent));
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
    lock(&inner.conns).remove(&id);
    // The machine reports every socket's end before it closes; should one be left, it ends
    // here all the same, so that no handle outlives its connection in the registry.
    for (nsp, socket) in sockets.drain() {
        lock(&inner.sockets).remove(&(nsp, socket.id().clone()));
        let reason = DisconnectReason::Transport(engineio_proto::CloseReason::TransportClose);
        if let Some(fut) = socket.ended(reason) {
            running.0.push(fut);
        }
    }
    // Handlers still running (a disconnect handler saving state) finish on their own task;
    // their emits fail with `Closed` now.
    drop(commands);
    if !running.0.is_empty() {
        runtime.spawn(Box::pin(running.0.for_each(|()| async {})));
    }
}

enum Wake {
    Timer,
    HandlerDone,
    Command(Option<Command>),
    Message(Option<Message>),
}
