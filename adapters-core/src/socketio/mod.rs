//! The Socket.IO server driver: one task per Engine.IO session running its
//! [`ServerConn`] and the application's handlers, a shared [`Server`] (namespaces, rooms, ack
//! ids), and the application's [`SioSocket`] handles.

mod broadcast;
mod fleet;
mod socket;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use engineio_proto::http::RequestHead;
use engineio_proto::Message;
use futures_channel::oneshot;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use socketio_proto::rooms::{Room, SocketId};
use socketio_proto::server::{
    AckFailure, Broadcast, ConnEvent, ConnId, ConnectRequest, Delivery, DisconnectReason,
    NspPattern, Server, ServerConfig, ServerConn,
};
use socketio_proto::{AckId, Encoded, Encoder, Nsp, Packet, Parser};

pub use broadcast::BroadcastOperator;
pub use fleet::{
    AckResponses, Adapter, FetchedSockets, FleetAck, FleetAnswers, FleetError, FleetFuture,
    Responder, ServerSideAcks, ServerSideHandler,
};
pub use socket::{AckError, AckSender, EmitError, SioSocket};

use crate::engine::{EngineIoServer, WeakEngineIoServer};
use crate::runtime::{BoxFuture, Runtime};

/// Commands queued towards one connection before the sender waits.
const CONN_COMMANDS: usize = 256;
/// Handler futures one connection runs at once; while that many are pending, its messages are
/// not read (a slow application slows its client down instead of growing memory).
const RUNNING_HANDLERS: usize = 128;

/// Hashes connection ids, which the server draws at random (not chosen by peers, so a keyed
/// hash buys nothing): a multiply-rotate per 8 bytes, several times cheaper than SipHash on
/// a broadcast's per-recipient lookup.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type ConnMap = HashMap<ConnId, ConnHandle, std::hash::BuildHasherDefault<IdHasher>>;

/// The largest buffer a thread's encoder keeps between packets.
const ENCODER_KEEP: usize = 64 * 1024;

/// Runs `f` with this thread's encoder, whose buffer is kept from packet to packet (a fresh
/// encoder grows its buffer several times for each packet); with a fresh one if it is in use
/// (a value whose `Serialize` emits).
pub(crate) fn with_encoder<R>(parser: Parser, f: impl FnOnce(&mut Encoder) -> R) -> R {
    thread_local! {
        static ENCODER: std::cell::RefCell<Encoder> = std::cell::RefCell::new(Encoder::default());
    }
    if parser != Parser::Default {
        // The msgpack parser's encoder writes into its own buffer.
        let config = socketio_proto::EncoderConfig::default().with_parser(parser);
        return f(&mut Encoder::new(config));
    }
    ENCODER.with(|cell| {
        let Ok(mut encoder) = cell.try_borrow_mut() else {
            return f(&mut Encoder::default());
        };
        let out = f(&mut encoder);
        if encoder.buffer_capacity() > ENCODER_KEEP {
            *encoder = Encoder::default();
        }
        out
    })
}

/// A connection's command queue: bounded, sent to by its sockets, ack senders and broadcasts,
/// read by the connection's task. One lock per command and no allocation per command (a
/// channel allocates a node for each).
#[derive(Clone)]
pub(crate) struct ConnHandle(Arc<Mutex<Queue>>);

pub(crate) struct Queue {
    commands: std::collections::VecDeque<Command>,
    /// The connection's task, woken when a command arrives.
    receiver: Option<std::task::Waker>,
    /// Senders waiting for room.
    senders: Vec<std::task::Waker>,
    /// The connection is gone: nothing more is taken.
    closed: bool,
}

/// Why [`ConnHandle::try_send`] did not queue a command.
pub(crate) enum TrySendError {
    /// The queue is full; the command is given back.
    Full(Command),
    /// The connection is gone.
    Closed,
}

impl fmt::Debug for ConnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnHandle").finish_non_exhaustive()
    }
}

impl ConnHandle {
    fn new() -> Self {
        ConnHandle(Arc::new(Mutex::new(Queue {
            commands: std::collections::VecDeque::new(),
            receiver: None,
            senders: Vec::new(),
            closed: false,
        })))
    }

    /// Identifies the connection (for [`Outbox`]).
    fn key(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Queues `command` if there is room now (a handler running on the connection's own task
    /// hands it over directly).
    pub(crate) fn try_send(&self, command: Command) -> Result<(), TrySendError> {
        let Some(command) = outbox_push(self.key(), command) else {
            return Ok(());
        };
        let mut q = lock(&self.0);
        if q.closed {
            return Err(TrySendError::Closed);
        }
        if q.commands.len() >= CONN_COMMANDS {
            return Err(TrySendError::Full(command));
        }
        q.commands.push_back(command);
        let receiver = q.receiver.take();
        drop(q);
        if let Some(w) = receiver {
            w.wake();
        }
        Ok(())
    }

    /// Queues `command`, waiting for room when the queue is full; `Err` once the connection
    /// is gone.
    pub(crate) async fn send(&self, command: Command) -> Result<(), ()> {
        let mut command = Some(command);
        futures_util::future::poll_fn(|cx| {
            let Some(c) = command.take() else {
                return Poll::Ready(Err(()));
            };
            match self.try_send(c) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TrySendError::Closed) => Poll::Ready(Err(())),
                Err(TrySendError::Full(c)) => {
                    command = Some(c);
                    let mut q = lock(&self.0);
                    if q.commands.len() < CONN_COMMANDS || q.closed {
                        // Room (or the end) came meanwhile: try again at once.
                        cx.waker().wake_by_ref();
                    } else if !q.senders.iter().any(|w| w.will_wake(cx.waker())) {
                        q.senders.push(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// The next command, for the connection's task (which is woken when one arrives).
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Command> {
        let mut q = lock(&self.0);
        match q.commands.pop_front() {
            Some(c) => {
                let senders = std::mem::take(&mut q.senders);
                drop(q);
                senders.into_iter().for_each(std::task::Waker::wake);
                Poll::Ready(c)
            }
            None => {
                if !q.receiver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    q.receiver = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// The next command, if one is queued.
    fn try_recv(&self) -> Option<Command> {
        let mut q = lock(&self.0);
        let c = q.commands.pop_front()?;
        let senders = std::mem::take(&mut q.senders);
        drop(q);
        senders.into_iter().for_each(std::task::Waker::wake);
        Some(c)
    }

    /// The connection is gone: queued commands are dropped (their ack waiters learn it) and
    /// senders get `Err` from now on.
    fn close(&self) {
        let mut q = lock(&self.0);
        q.closed = true;
        let commands = std::mem::take(&mut q.commands);
        let senders = std::mem::take(&mut q.senders);
        q.receiver = None;
        drop(q);
        drop(commands);
        senders.into_iter().for_each(std::task::Waker::wake);
    }
}

thread_local! {
    /// The connection whose handlers this thread is polling, and what they sent to it.
    static OUTBOX: std::cell::RefCell<Option<(usize, Vec<Command>)>> =
        const { std::cell::RefCell::new(None) };
    /// An emptied outbox's vector, for the next outbox: a handler that acks at once would
    /// otherwise allocate one per event.
    static SPARE: std::cell::Cell<Vec<Command>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The most commands a spare outbox vector keeps room for (a burst's larger one is freed).
const SPARE_COMMANDS: usize = 8;

/// Gives an outbox's vector back, emptied, for the next outbox on this thread.
fn recycle(mut commands: Vec<Command>) {
    if (1..=SPARE_COMMANDS).contains(&commands.capacity()) {
        commands.clear();
        SPARE.with(|s| s.set(commands));
    }
}

/// Takes `command` into the open outbox if it is `key`'s; gives it back otherwise.
fn outbox_push(key: usize, command: Command) -> Option<Command> {
    OUTBOX.with(|o| match o.try_borrow_mut().as_deref_mut() {
        Ok(Some((k, commands))) if *k == key => {
            commands.push(command);
            None
        }
        _ => Some(command),
    })
}

/// While it lives, commands the connection's own handlers send skip its queue (no channel, no
/// wake-up of the task that is running them); they are applied right after the handlers were
/// polled. Restores the previous outbox when dropped, panics included.
struct Outbox {
    previous: Option<(usize, Vec<Command>)>,
}

impl Outbox {
    fn open(key: usize) -> Self {
        let spare = SPARE.with(std::cell::Cell::take);
        let previous = OUTBOX.with(|o| o.borrow_mut().replace((key, spare)));
        Outbox { previous }
    }

    /// Closes it: what was sent, in order.
    fn close(mut self) -> Vec<Command> {
        let mine = OUTBOX.with(|o| std::mem::replace(&mut *o.borrow_mut(), self.previous.take()));
        std::mem::forget(self);
        mine.map(|(_, commands)| commands).unwrap_or_default()
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let previous = self.previous.take();
        OUTBOX.with(|o| *o.borrow_mut() = previous);
    }
}

pub(crate) enum Command {
    Send(Nsp, Encoded),
    Deliver(
        Arc<Delivery>,
        Option<oneshot::Sender<Result<Packet, AckError>>>,
    ),
    Disconnect(Nsp),
    Close,
    Shutdown,
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
    Arc<dyn Fn(&ConnectRequest, &RequestHead) -> Result<(), ConnectError> + Send + Sync>;
type OnConnect = Arc<dyn Fn(SioSocket) -> BoxFuture + Send + Sync>;

struct NamespaceHandlers {
    middleware: Option<Middleware>,
    on_connect: OnConnect,
}

enum Matcher {
    Exact(Nsp),
    Dynamic(Arc<NspPattern>),
}

/// The Socket.IO state. The Engine.IO server owns it (each session's application is made from
/// it), never the other way round: see [`SocketIoServer`].
struct SioInner {
    ack_timeout: Duration,
    /// The wire format of every connection.
    parser: Parser,
    server: Mutex<Server>,
    handlers: Mutex<Vec<(Matcher, Arc<NamespaceHandlers>)>>,
    conns: Mutex<ConnMap>,
    /// The connected sockets, for [`BroadcastOperator::sockets`].
    sockets: Mutex<HashMap<(Nsp, SocketId), SioSocket>>,
    runtime: Arc<dyn Runtime>,
    /// The link to the other nodes of a fleet.
    adapter: Option<Arc<dyn Adapter>>,
    /// Handlers of the other nodes' server-side emits, by namespace and event.
    server_side: Mutex<HashMap<(String, String), ServerSideHandler>>,
}

/// A Socket.IO server on top of an [`EngineIoServer`].
///
/// Cheap to clone: every clone is a handle on the same server. The server lives while
/// something holds it: a handle (this one, a [`SioSocket`], a [`BroadcastOperator`]), its
/// Engine.IO server ([`SocketIoServer::engine`], which is enough to serve it), an open session
/// or a handler still running. After [`SocketIoServer::shutdown`] the sessions end, and once
/// the handles are dropped it is freed with everything it holds. Namespace handlers are kept
/// as long as the server: one that holds a clone of its server keeps it alive for good; reach
/// the server through the socket ([`SioSocket::server`]) there, or hold a
/// [`WeakSocketIoServer`].
#[derive(Clone)]
pub struct SocketIoServer {
    inner: Arc<SioInner>,
    /// Owns `inner` (through each session's maker); `inner` holds no reference back to it.
    engine: EngineIoServer,
}

impl fmt::Debug for SocketIoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoServer").finish_non_exhaustive()
    }
}

/// A handle on a [`SocketIoServer`] that does not keep it alive, from
/// [`SocketIoServer::downgrade`]: for handlers and tasks that use the server without owning
/// it.
#[derive(Clone)]
pub struct WeakSocketIoServer {
    inner: Weak<SioInner>,
    engine: WeakEngineIoServer,
}

impl fmt::Debug for WeakSocketIoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSocketIoServer").finish_non_exhaustive()
    }
}

impl WeakSocketIoServer {
    /// The server, if it is still alive.
    pub fn upgrade(&self) -> Option<SocketIoServer> {
        Some(SocketIoServer {
            inner: self.inner.upgrade()?,
            engine: self.engine.upgrade()?,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The locked [`Server`]; when dropped, the room changes made meanwhile go to the fleet's
/// adapter if it follows them (outside the lock).
pub(crate) struct ServerGuard<'a> {
    guard: Option<MutexGuard<'a, Server>>,
    adapter: Option<&'a Arc<dyn Adapter>>,
}

impl std::ops::Deref for ServerGuard<'_> {
    type Target = Server;
    fn deref(&self) -> &Server {
        self.guard.as_deref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for ServerGuard<'_> {
    fn deref_mut(&mut self) -> &mut Server {
        self.guard.as_deref_mut().expect("held until dropped")
    }
}

impl Drop for ServerGuard<'_> {
    fn drop(&mut self) {
        let (Some(adapter), Some(mut server)) = (self.adapter, self.guard.take()) else {
            return;
        };
        let mut changes = Vec::new();
        while let Some((nsp, event)) = server.poll_room_event() {
            match event {
                socketio_proto::rooms::RoomEvent::Created(room) => {
                    let id = SocketId::new(room.as_str());
                    let is_socket = server.rooms(&nsp).is_some_and(|r| r.contains_socket(&id));
                    changes.push((nsp, room, Some(is_socket)));
                }
                socketio_proto::rooms::RoomEvent::Deleted(room) => changes.push((nsp, room, None)),
                _ => {}
            }
        }
        drop(server);
        for (nsp, room, created) in changes {
            match created {
                Some(is_socket) => adapter.room_created(nsp.as_str(), room.as_str(), is_socket),
                None => adapter.room_deleted(nsp.as_str(), room.as_str()),
            }
        }
    }
}

impl SioInner {
    fn lock_server(&self) -> ServerGuard<'_> {
        ServerGuard {
            guard: Some(lock(&self.server)),
            adapter: self.adapter.as_ref().filter(|a| a.wants_room_events()),
        }
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
        Self::with_ack_timeout(engine, config, runtime, Duration::from_secs(10), None)
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
        adapter: Option<Arc<dyn Adapter>>,
    ) -> Self {
        let rt = runtime.clone();
        let parser = config.parser;
        let mut server = Server::new(config, Box::new(move |b: &mut [u8]| rt.fill_random(b)));
        if adapter.as_ref().is_some_and(|a| a.wants_room_events()) {
            server.record_room_events(true);
        }
        let inner = Arc::new(SioInner {
            ack_timeout,
            parser,
            server: Mutex::new(server),
            handlers: Mutex::new(Vec::new()),
            conns: Mutex::new(ConnMap::default()),
            sockets: Mutex::new(HashMap::new()),
            runtime: runtime.clone(),
            adapter,
            server_side: Mutex::new(HashMap::new()),
        });
        // The Engine.IO server keeps the Socket.IO state alive, so that serving `engine()`
        // alone is enough. The state does not hold the Engine.IO server: handles do (this one,
        // and the one each session's application gets from the session's own task), so that
        // nothing is left once they and the sessions are gone.
        let keep = inner.clone();
        let engine = EngineIoServer::hosting(
            engine,
            runtime,
            Box::new(move |engine, sid, version, handshake| {
                let server = SocketIoServer {
                    inner: keep.clone(),
                    engine: engine.clone(),
                };
                Box::new(SioConn::new(server, sid, version, handshake))
            }),
        );
        let server = SocketIoServer { inner, engine };
        if let Some(adapter) = server.adapter() {
            adapter.attach(server.downgrade());
        }
        server
    }

    /// The Engine.IO server carrying it (hand it to the runtime adapter's `serve`). It keeps
    /// this Socket.IO server alive.
    pub fn engine(&self) -> &EngineIoServer {
        &self.engine
    }

    /// A handle that does not keep the server alive (for a handler that needs the server
    /// without owning it; see [`SocketIoServer`]).
    pub fn downgrade(&self) -> WeakSocketIoServer {
        WeakSocketIoServer {
            inner: Arc::downgrade(&self.inner),
            engine: self.engine.downgrade(),
        }
    }

    fn lock(&self) -> ServerGuard<'_> {
        self.inner.lock_server()
    }

    fn conns(&self) -> MutexGuard<'_, ConnMap> {
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
        if let Some(adapter) = self.adapter() {
            adapter.add_namespace(nsp);
        }
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

    /// Closes every connection as the reference's `io.close()`: the sockets end (reason
    /// `forced server close`) without DISCONNECT packets and the Engine.IO connections close,
    /// so clients reconnect (to this server restarted, or to another).
    pub async fn shutdown(&self) {
        let conns: Vec<ConnHandle> = self.conns().values().cloned().collect();
        for conn in conns {
            let _ = conn.send(Command::Shutdown).await;
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
    adapter: Option<Arc<dyn Adapter>>,
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        let mut engine = engineio_proto::server::ServerConfig::default();
        engine.path = "/socket.io/".to_owned();
        SocketIoBuilder {
            engine,
            config: ServerConfig::default(),
            ack_timeout: Duration::from_secs(10),
            adapter: None,
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
    /// The wire format of every connection (default: socket.io-parser's JSON; with the
    /// `msgpack` feature, [`Parser::Msgpack`] for clients using socket.io-msgpack-parser).
    pub fn parser(mut self, parser: Parser) -> Self {
        self.config.parser = parser;
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
    /// Joins a fleet through `adapter` (default: none, the server is alone).
    pub fn adapter(mut self, adapter: Arc<dyn Adapter>) -> Self {
        self.adapter = Some(adapter);
        self
    }
    /// The server, on `runtime`.
    pub fn build(self, runtime: Arc<dyn Runtime>) -> SocketIoServer {
        SocketIoServer::with_ack_timeout(
            self.engine,
            self.config,
            runtime,
            self.ack_timeout,
            self.adapter,
        )
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

/// One connection's Socket.IO side, run inside its Engine.IO session's task
/// ([`crate::engine::Hosted`]): its [`ServerConn`], its sockets, the acks it waits for, and the
/// application's handler futures.
struct SioConn {
    /// Its server; its Engine.IO half is the one whose session task runs this connection.
    server: SocketIoServer,
    id: ConnId,
    conn: ServerConn,
    handshake: Arc<RequestHead>,
    cmd_tx: ConnHandle,
    /// A command taken by `poll_wake`, for `work`.
    stashed: Option<Command>,
    sockets: crate::vec_map::VecMap<Nsp, SioSocket>,
    waiters: HashMap<(Nsp, AckId), oneshot::Sender<Result<Packet, AckError>>>,
    /// Handlers still running (created when one first waits, dropped once all are done: an
    /// idle connection holds none).
    running: Option<FuturesUnordered<BoxFuture>>,
    /// Commands the handlers sent while polled by `poll_wake`, applied by `work`.
    local: Vec<Command>,
    /// Whether the session could send at once, as last told by `work`.
    writable: bool,
    close: bool,
}

/// Commands taken per wake-up, so that a flood of emits does not keep the session's other
/// inputs waiting.
const COMMANDS_PER_WAKE: usize = 64;

impl SioConn {
    fn new(
        server: SocketIoServer,
        sid: &str,
        version: engineio_proto::EngineIoVersion,
        handshake: Arc<RequestHead>,
    ) -> Self {
        let id = ConnId::new(sid);
        let inner = &server.inner;
        let config = inner.lock_server().config().clone();
        let conn = ServerConn::new(inner.runtime.now(), id.clone(), version.into(), config);
        let cmd_tx = ConnHandle::new();
        lock(&inner.conns).insert(id.clone(), cmd_tx.clone());
        SioConn {
            server,
            id,
            conn,
            handshake,
            cmd_tx,
            stashed: None,
            sockets: crate::vec_map::VecMap::new(),
            waiters: HashMap::new(),
            running: None,
            local: Vec::new(),
            writable: false,
            close: false,
        }
    }

    /// Polls `fut` once now, so that handlers start in the order their events arrived (what a
    /// handler does before its first `.await`, such as registering handlers, is done before
    /// the next event is looked at), and keeps it if it is not done.
    fn start(&mut self, cx: &mut Context<'_>, now: Instant, mut fut: BoxFuture) {
        let outbox = Outbox::open(self.cmd_tx.key());
        let pending = fut.as_mut().poll(cx).is_pending();
        let mut sent = outbox.close();
        if pending {
            self.running
                .get_or_insert_with(FuturesUnordered::new)
                .push(fut);
        }
        for c in sent.drain(..) {
            self.command(now, self.writable, c);
        }
        recycle(sent);
    }

    /// The machine's events (CONNECT decisions, events for handlers, acks, ends) and its news
    /// for the shared server.
    fn events(&mut self, cx: &mut Context<'_>, now: Instant) {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                ConnEvent::Connect(req) => self.connect(cx, now, req),
                ConnEvent::Event { nsp, packet, .. } => {
                    let Some(socket) = self.sockets.get(&nsp) else {
                        continue;
                    };
                    let ack = packet.ack_id().map(|id| AckSender {
                        nsp: nsp.clone(),
                        id,
                        parser: self.server.inner.parser,
                        conn: self.cmd_tx.clone(),
                    });
                    if let Some(fut) = socket.dispatch(packet, ack) {
                        self.start(cx, now, fut);
                    }
                }
                ConnEvent::Ack {
                    nsp, id, packet, ..
                } => {
                    if let Some(w) = self.waiters.remove(&(nsp, id)) {
                        let _ = w.send(Ok(packet));
                    }
                }
                ConnEvent::AckFailed {
                    nsp, id, reason, ..
                } => {
                    if let Some(w) = self.waiters.remove(&(nsp, id)) {
                        let _ = w.send(Err(match reason {
                            AckFailure::Timeout => AckError::Timeout,
                            _ => AckError::Disconnected,
                        }));
                    }
                }
                ConnEvent::Disconnected { nsp, reason, .. } => {
                    if let Some(socket) = self.sockets.remove(&nsp) {
                        lock(&self.server.inner.sockets).remove(&(nsp, socket.id().clone()));
                        if let Some(fut) = socket.ended(reason) {
                            self.start(cx, now, fut);
                        }
                    }
                }
                ConnEvent::Closed(_) => self.close = true,
                _ => {}
            }
        }
        while let Some(u) = self.conn.poll_server_update() {
            self.server.inner.lock_server().handle_update(now, u);
        }
    }

    fn connect(&mut self, cx: &mut Context<'_>, now: Instant, req: ConnectRequest) {
        let server = self.server.clone();
        let inner = &server.inner;
        let Some(req) = inner.lock_server().resolve(&mut self.conn, req) else {
            return;
        };
        let Some(handlers) = find_handlers(inner, req.nsp()) else {
            self.conn.reject_invalid_namespace(req);
            return;
        };
        // A socket that recovers its session skips the middlewares, as the reference does by
        // default (`skipMiddlewares`).
        let recovering = inner.lock_server().can_recover(now, &req);
        if let (Some(mw), false) = (&handlers.middleware, recovering) {
            if let Err(e) = mw(&req, &self.handshake) {
                self.conn.reject(req, &e.message, e.data);
                return;
            }
        }
        let nsp = req.nsp().clone();
        if let Some(adapter) = &inner.adapter {
            // A dynamic namespace's first socket (the adapter ignores known ones).
            adapter.add_namespace(nsp.as_str());
        }
        let auth = (req.auth().clone(), req.auth_json().clone());
        let accepted = inner.lock_server().accept(now, &mut self.conn, req);
        let socket = SioSocket::new(
            nsp.clone(),
            accepted.socket.clone(),
            auth,
            self.handshake.clone(),
            accepted.recovered,
            self.cmd_tx.clone(),
            server.clone(),
        );
        lock(&inner.sockets).insert((nsp.clone(), accepted.socket), socket.clone());
        self.sockets.insert(nsp, socket.clone());
        self.start(cx, now, (handlers.on_connect)(socket));
    }

    fn command(&mut self, now: Instant, writable: bool, command: Command) {
        match command {
            Command::Send(nsp, packet) => {
                let _ = self.conn.emit_encoded(&nsp, packet);
            }
            Command::Deliver(delivery, waiter) => {
                let key = delivery.ack.map(|a| (delivery.nsp.clone(), a.id));
                let queued = self.conn.deliver(now, &delivery, writable);
                if let (Some(key), Some(w)) = (key, waiter) {
                    if queued {
                        self.waiters.insert(key, w);
                    } else {
                        let _ = w.send(Err(AckError::NotSent));
                    }
                }
            }
            Command::Disconnect(nsp) => {
                let _ = self.conn.disconnect(&nsp);
            }
            Command::Close => self.conn.close(),
            Command::Shutdown => self.conn.shutdown(),
        }
    }
}

impl Drop for SioConn {
    fn drop(&mut self) {
        // Senders learn that the connection is gone.
        self.cmd_tx.close();
        // Dropped before its session ended (the runtime dropped the session's task): its
        // entries leave the server's tables all the same, and its sockets their handlers, so
        // that none of them keeps the server alive (a registered socket holds its server).
        lock(&self.server.inner.conns).remove(&self.id);
        for (nsp, socket) in std::mem::take(&mut self.sockets) {
            lock(&self.server.inner.sockets).remove(&(nsp, socket.id().clone()));
            drop(socket.ended(DisconnectReason::Transport(
                engineio_proto::CloseReason::TransportClose,
            )));
        }
    }
}

impl crate::engine::Hosted for SioConn {
    fn message(&mut self, cx: &mut Context<'_>, now: Instant, message: Message) {
        self.conn.handle_message(now, message);
        self.events(cx, now);
    }

    fn ended(&mut self, cx: &mut Context<'_>, now: Instant, reason: engineio_proto::CloseReason) {
        self.conn.handle_engine_closed(now, reason);
        self.events(cx, now);
        lock(&self.server.inner.conns).remove(&self.id);
        self.cmd_tx.close();
        // The machine reports every socket's end before it closes; should one be left, it
        // ends here all the same, so that no handle outlives its connection in the registry.
        for (nsp, socket) in std::mem::take(&mut self.sockets) {
            lock(&self.server.inner.sockets).remove(&(nsp, socket.id().clone()));
            if let Some(fut) = socket.ended(DisconnectReason::Transport(reason)) {
                self.start(cx, now, fut);
            }
        }
        // Handlers still running (a disconnect handler saving state) finish on their own
        // task; their emits fail with `Closed` once this connection is gone.
        if let Some(running) = self.running.take() {
            if !running.is_empty() {
                self.server
                    .inner
                    .runtime
                    .spawn(Box::pin(running.for_each(|()| async {})));
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    fn timeout(&mut self, cx: &mut Context<'_>, now: Instant) {
        self.conn.handle_timeout(now);
        self.events(cx, now);
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut woke = false;
        // The handlers run here, on the session's task.
        if let Some(running) = &mut self.running {
            let outbox = Outbox::open(self.cmd_tx.key());
            while !running.is_empty() {
                match running.poll_next_unpin(cx) {
                    Poll::Ready(_) => woke = true,
                    Poll::Pending => break,
                }
            }
            if running.is_empty() {
                self.running = None;
            }
            let mut sent = outbox.close();
            if !sent.is_empty() {
                if self.local.is_empty() {
                    std::mem::swap(&mut self.local, &mut sent);
                } else {
                    self.local.append(&mut sent);
                }
                woke = true;
            }
            recycle(sent);
        }
        if self.stashed.is_none() {
            if let Poll::Ready(c) = self.cmd_tx.poll_recv(cx) {
                self.stashed = Some(c);
                woke = true;
            }
        }
        if woke {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn work(&mut self, cx: &mut Context<'_>, now: Instant, writable: bool) {
        self.writable = writable;
        let mut local = std::mem::take(&mut self.local);
        for c in local.drain(..) {
            self.command(now, writable, c);
        }
        recycle(local);
        if let Some(c) = self.stashed.take() {
            self.command(now, writable, c);
        }
        for _ in 1..COMMANDS_PER_WAKE {
            let Some(c) = self.cmd_tx.try_recv() else {
                break;
            };
            self.command(now, writable, c);
        }
        self.events(cx, now);
    }

    fn poll_transmit(&mut self) -> Option<Message> {
        self.conn.poll_transmit().map(|out| out.message)
    }

    fn take_close(&mut self) -> bool {
        std::mem::take(&mut self.close)
    }

    fn ready(&self) -> bool {
        self.running.as_ref().map_or(0, FuturesUnordered::len) < RUNNING_HANDLERS
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn close_command() -> Command {
        Command::Close
    }

    #[test]
    fn a_full_queue_makes_senders_wait_until_the_connection_takes_a_command() {
        let conn = ConnHandle::new();
        for _ in 0..CONN_COMMANDS {
            assert!(conn.try_send(close_command()).is_ok());
        }
        assert!(matches!(
            conn.try_send(close_command()),
            Err(TrySendError::Full(_))
        ));

        let sender_wakes = Arc::new(Counter::default());
        let sender_waker = std::task::Waker::from(sender_wakes.clone());
        let mut cx = Context::from_waker(&sender_waker);
        let mut send = Box::pin(conn.send(close_command()));
        assert!(send.as_mut().poll(&mut cx).is_pending());

        // The connection's task takes one: the waiting sender is woken and gets its place.
        let receiver_wakes = Arc::new(Counter::default());
        let receiver_waker = std::task::Waker::from(receiver_wakes.clone());
        let mut rcx = Context::from_waker(&receiver_waker);
        assert!(conn.poll_recv(&mut rcx).is_ready());
        assert_eq!(sender_wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));

        let mut taken = 0;
        while conn.try_recv().is_some() {
            taken += 1;
        }
        assert_eq!(taken, CONN_COMMANDS);
        // Empty: the receiver waits and is woken by the next command.
        assert!(conn.poll_recv(&mut rcx).is_pending());
        assert!(conn.try_send(close_command()).is_ok());
        assert_eq!(receiver_wakes.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_closed_queue_refuses_commands_and_releases_waiting_senders() {
        let conn = ConnHandle::new();
        for _ in 0..CONN_COMMANDS {
            assert!(conn.try_send(close_command()).is_ok());
        }
        let wakes = Arc::new(Counter::default());
        let waker = std::task::Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut send = Box::pin(conn.send(close_command()));
        assert!(send.as_mut().poll(&mut cx).is_pending());

        conn.close();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Err(())));
        assert!(matches!(
            conn.try_send(close_command()),
            Err(TrySendError::Closed)
        ));
        assert!(conn.try_recv().is_none());
    }

    #[test]
    fn commands_from_the_connections_own_handlers_skip_the_queue() {
        let conn = ConnHandle::new();
        let other = ConnHandle::new();
        let outbox = Outbox::open(conn.key());
        assert!(conn.try_send(close_command()).is_ok());
        assert!(other.try_send(close_command()).is_ok());
        let sent = outbox.close();
        assert_eq!(sent.len(), 1);
        assert!(conn.try_recv().is_none(), "handed over, not queued");
        assert!(
            other.try_recv().is_some(),
            "another connection's goes to its queue"
        );
        // Closed again: the next command is queued.
        assert!(conn.try_send(close_command()).is_ok());
        assert!(conn.try_recv().is_some());
    }
}
