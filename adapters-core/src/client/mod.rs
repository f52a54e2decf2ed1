//! The client side: a Socket.IO client on any [`Runtime`] that can open connections.
//!
//! [`Client`] is one connection to a server (an Engine.IO session at a time, renewed by
//! reconnection), the reference client's `Manager`; [`ClientSocket`] is one namespace over
//! it. Register handlers first, then [`ClientSocket::connect`]:
//!
//! ```no_run
//! # async fn run(runtime: std::sync::Arc<dyn socketio_adapters_core::Runtime>) {
//! use socketio_adapters_core::client::Client;
//!
//! let client = Client::builder("http://localhost:3000")
//!     .unwrap()
//!     .build(runtime)
//!     .unwrap();
//! let socket = client.socket("/");
//! socket.on("greeting", |_socket, text: String, _ack| async move {
//!     println!("the server says {text}");
//! });
//! socket.on_connect(|socket| async move {
//!     let answer = socket.emit_with_ack("ping", &("hello",)).await;
//!     println!("{answer:?}");
//! });
//! socket.connect();
//! # }
//! ```
//!
//! Every protocol rule is the machines' ([`engineio_proto::client::Client`],
//! [`socketio_proto::client::ClientConn`]); one task per connection drives them, performs
//! the HTTP requests and the WebSocket, and runs the handlers in arrival order.

mod driver;
mod net;
mod tls;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use engineio_proto::http::TransportKind;
use futures_channel::oneshot;
use futures_util::task::AtomicWaker;
use serde::de::DeserializeOwned;
use serde::Serialize;
use socketio_proto::client::{ClientConn, ClientDisconnectReason, ClientError, ReconnectPolicy};
use socketio_proto::{AckId, Nsp, Packet, RawArgs};

pub use net::UrlError;
pub use tls::TlsRoots;

use crate::runtime::{BoxFuture, Runtime};
use crate::socketio::{AckError, EmitError};

/// The transports a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transports {
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only.
    WebSocket,
    /// Polling, upgraded to WebSocket when the server offers it (the default, as
    /// socket.io-client).
    #[default]
    PollingThenWebSocket,
}

/// The protocol generation a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Generation {
    /// Engine.IO v4 and Socket.IO v5: socket.io 3 and later (the default).
    #[default]
    V4,
    /// Engine.IO v3 and Socket.IO v4: socket.io 2.x servers (and later ones with
    /// `allowEIO3`). The auth travels as a query string, as socket.io-client 2 sends it.
    V3,
}

/// Settings of a [`Client`]; from [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    target: net::Target,
    path: String,
    transports: Transports,
    generation: Generation,
    auth: Option<serde_json::Value>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    reconnect: ReconnectPolicy,
    ack_timeout: Duration,
    connect_timeout: Duration,
    max_offline_packets: usize,
    tls: tls::TlsOptions,
    parser: socketio_proto::Parser,
}

impl ClientBuilder {
    /// The server path, with its trailing slash (default `/socket.io/`).
    pub fn path(mut self, path: &str) -> Self {
        let mut p = path.to_owned();
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        if !p.ends_with('/') {
            p.push('/');
        }
        self.path = p;
        self
    }

    /// The transports (default polling, then WebSocket).
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// The protocol generation (default [`Generation::V4`]).
    pub fn generation(mut self, generation: Generation) -> Self {
        self.generation = generation;
        self
    }

    /// The wire format (default socket.io-parser's JSON; with the `msgpack` feature,
    /// `Parser::Msgpack` for servers using socket.io-msgpack-parser). It must be the server's.
    pub fn parser(mut self, parser: socketio_proto::Parser) -> Self {
        self.parser = parser;
        self
    }

    /// The auth payload every namespace sends with its CONNECT (a JSON object; under
    /// [`Generation::V3`] its keys become a query string).
    pub fn auth(mut self, auth: serde_json::Value) -> Self {
        self.auth = Some(auth);
        self
    }

    /// A query parameter sent on every Engine.IO request.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A header sent on every HTTP request and on the WebSocket handshake.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Whether to reconnect after losing the connection (default true).
    pub fn reconnection(mut self, on: bool) -> Self {
        self.reconnect.enabled = on;
        self
    }

    /// The first reconnection delay (default 1 s), doubled at each attempt.
    pub fn reconnection_delay(mut self, d: Duration) -> Self {
        self.reconnect.initial_delay = d;
        self
    }

    /// The largest reconnection delay (default 5 s).
    pub fn reconnection_delay_max(mut self, d: Duration) -> Self {
        self.reconnect.max_delay = d;
        self
    }

    /// The jitter of reconnection delays, a fraction in `[0, 1]` (default 0.5).
    pub fn randomization_factor(mut self, f: f64) -> Self {
        self.reconnect.randomization = f.clamp(0.0, 1.0);
        self
    }

    /// Reconnection attempts before giving up (default: never give up).
    pub fn reconnection_attempts(mut self, n: u32) -> Self {
        self.reconnect.max_attempts = Some(n);
        self
    }

    /// How long [`ClientSocket::emit_with_ack`] waits (default 5 s).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.ack_timeout = d;
        self
    }

    /// How long a connection attempt may take (default 20 s, socket.io-client's `timeout`).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Emits kept per namespace while disconnected (default 1024); more are refused with
    /// [`EmitError::BufferFull`].
    pub fn max_offline_packets(mut self, n: usize) -> Self {
        self.max_offline_packets = n;
        self
    }

    /// The certificate authorities trusted for `https`/`wss` (default [`TlsRoots::WebPki`]).
    pub fn tls_roots(mut self, roots: TlsRoots) -> Self {
        self.tls.roots = roots;
        self
    }

    /// Trusts the certificates of a PEM text too (a private CA, a self-signed server).
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> std::io::Result<Self> {
        self.tls.add_pem(pem)?;
        Ok(self)
    }

    /// The client, idle until a socket connects. Its task runs on `runtime`, which must
    /// open connections ([`Runtime::connect_tcp`]).
    pub fn build(self, runtime: Arc<dyn Runtime>) -> std::io::Result<Client> {
        let tls = if self.target.secure {
            tls::Tls::new(&self.tls)?
        } else {
            tls::Tls::off()
        };
        Ok(driver::start(self, tls, runtime))
    }
}

/// One connection to a Socket.IO server, shared by its namespace sockets; cheap to clone.
///
/// The connection lives until [`Client::close`] (or until reconnection gives up): the
/// handlers may hold handles, so dropping them does not end it.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url_namespace", &self.shared.url_nsp)
            .finish_non_exhaustive()
    }
}

/// What the driver and the handles share.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) ack_timeout: Duration,
    pub(crate) auth: Option<serde_json::Value>,
    pub(crate) url_nsp: Nsp,
    pub(crate) state: Mutex<State>,
    pub(crate) handlers: Mutex<ClientHandlers>,
    /// Wakes the driver after a handle changed the state.
    pub(crate) waker: AtomicWaker,
    pub(crate) notified: AtomicBool,
}

/// The state handles change: the Socket.IO machine, the ack waiters, the sockets.
pub(crate) struct State {
    pub(crate) sio: ClientConn,
    pub(crate) acks: HashMap<(Nsp, AckId), oneshot::Sender<Result<Packet, AckError>>>,
    pub(crate) sockets: HashMap<Nsp, Arc<SocketShared>>,
    /// Some namespace asked for the connection since the last give-up.
    pub(crate) want_engine: bool,
    pub(crate) closed: bool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn notify(&self) {
        self.notified.store(true, Ordering::Release);
        self.waker.wake();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type Handler0 = Arc<dyn Fn() -> BoxFuture + Send + Sync>;
type Handler1<A> = Arc<dyn Fn(A) -> BoxFuture + Send + Sync>;

/// The connection's own handlers (the reference `Manager`'s events).
#[derive(Default)]
pub(crate) struct ClientHandlers {
    pub(crate) transport: Option<Handler1<TransportKind>>,
    pub(crate) reconnect_attempt: Option<Handler1<u32>>,
    pub(crate) reconnect: Option<Handler1<u32>>,
    pub(crate) reconnect_failed: Option<Handler0>,
    pub(crate) error: Option<Handler1<ConnectionError>>,
}

/// A failure of the connection that no namespace event describes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The server speaks the other protocol generation (a socket.io 2.x server answered an
    /// Engine.IO v4 handshake, or a server without `allowEIO3` refused v3). The client stops.
    VersionMismatch {
        /// What the client asked for.
        asked: Generation,
    },
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::VersionMismatch { asked } => {
                let (ours, theirs) = match asked {
                    Generation::V4 => (
                        "Engine.IO v4 / Socket.IO v5 (socket.io 3 and later)",
                        "Engine.IO v3 / Socket.IO v4 (socket.io 2.x)",
                    ),
                    Generation::V3 => (
                        "Engine.IO v3 / Socket.IO v4 (socket.io 2.x)",
                        "Engine.IO v4 / Socket.IO v5 (socket.io 3 and later, without allowEIO3)",
                    ),
                };
                write!(
                    f,
                    "protocol generation mismatch: the client speaks {ours}, the server {theirs}"
                )
            }
        }
    }
}

impl std::error::Error for ConnectionError {}

impl Client {
    /// Settings for a client of the server at `url` (`http`, `https`, `ws` or `wss`). Its
    /// path names the namespace of [`Client::main_socket`] (`http://host/admin`), as in
    /// socket.io-client; its query is sent on every request.
    pub fn builder(url: &str) -> Result<ClientBuilder, UrlError> {
        let target = net::Target::parse(url)?;
        Ok(ClientBuilder {
            query: target.query.clone(),
            target,
            path: "/socket.io/".to_owned(),
            transports: Transports::default(),
            generation: Generation::default(),
            auth: None,
            headers: Vec::new(),
            reconnect: ReconnectPolicy::default(),
            ack_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(20),
            max_offline_packets: 1024,
            tls: tls::TlsOptions::default(),
            parser: socketio_proto::Parser::default(),
        })
    }

    /// The socket of the URL's namespace.
    pub fn main_socket(&self) -> ClientSocket {
        self.socket(self.shared.url_nsp.as_str())
    }

    /// The socket of namespace `nsp` over this connection (the same one for the same name).
    /// It connects when asked ([`ClientSocket::connect`]).
    pub fn socket(&self, nsp: &str) -> ClientSocket {
        let nsp = normalize_nsp(nsp);
        let mut st = self.shared.lock();
        let shared = st
            .sockets
            .entry(nsp.clone())
            .or_insert_with(|| {
                Arc::new(SocketShared {
                    nsp,
                    id: Mutex::new(None),
                    connected: AtomicBool::new(false),
                    recovered: AtomicBool::new(false),
                    handlers: Mutex::new(SocketHandlers::default()),
                })
            })
            .clone();
        ClientSocket {
            client: self.clone(),
            shared,
        }
    }

    /// Called with the transport when the connection opens and after an upgrade.
    pub fn on_transport<F, Fut>(&self, handler: F)
    where
        F: Fn(TransportKind) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).transport = Some(Arc::new(move |t| Box::pin(handler(t))));
    }

    /// Called when reconnection attempt `n` (from 1) starts.
    pub fn on_reconnect_attempt<F, Fut>(&self, handler: F)
    where
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).reconnect_attempt =
            Some(Arc::new(move |n| Box::pin(handler(n))));
    }

    /// Called when attempt `n` reconnected.
    pub fn on_reconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(u32) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).reconnect = Some(Arc::new(move |n| Box::pin(handler(n))));
    }

    /// Called when the reconnection attempts are exhausted.
    pub fn on_reconnect_failed<F, Fut>(&self, handler: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).reconnect_failed = Some(Arc::new(move || Box::pin(handler())));
    }

    /// Called when the connection fails for good in a way no namespace event says (the
    /// server speaks the other protocol generation).
    pub fn on_error<F, Fut>(&self, handler: F)
    where
        F: Fn(ConnectionError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).error = Some(Arc::new(move |e| Box::pin(handler(e))));
    }

    /// Leaves every namespace (`io client disconnect`) and closes the connection; no
    /// reconnection follows.
    pub fn close(&self) {
        {
            let mut st = self.shared.lock();
            st.closed = true;
            st.sio.close();
        }
        self.shared.notify();
    }

    /// Whether [`Client::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }
}

fn normalize_nsp(nsp: &str) -> Nsp {
    if nsp.is_empty() {
        Nsp::main()
    } else if nsp.starts_with('/') {
        Nsp::from(nsp)
    } else {
        Nsp::from(format!("/{nsp}").as_str())
    }
}

type EventHandler = crate::handler::EventHandler<ClientSocket, ClientAckSender>;

#[derive(Default)]
pub(crate) struct SocketHandlers {
    events: HashMap<String, EventHandler>,
    any: Option<EventHandler>,
    connect: Option<Handler1<ClientSocket>>,
    connect_error: Option<Arc<dyn Fn(ClientSocket, serde_json::Value) -> BoxFuture + Send + Sync>>,
    disconnect:
        Option<Arc<dyn Fn(ClientSocket, ClientDisconnectReason) -> BoxFuture + Send + Sync>>,
}

pub(crate) struct SocketShared {
    pub(crate) nsp: Nsp,
    pub(crate) id: Mutex<Option<String>>,
    pub(crate) connected: AtomicBool,
    pub(crate) recovered: AtomicBool,
    pub(crate) handlers: Mutex<SocketHandlers>,
}

/// One namespace over a [`Client`]'s connection; cheap to clone.
///
/// Handlers run on the connection's task, started in arrival order; an event that arrives
/// before its handler is registered is dropped, as in the reference client.
#[derive(Clone)]
pub struct ClientSocket {
    client: Client,
    shared: Arc<SocketShared>,
}

impl fmt::Debug for ClientSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSocket")
            .field("nsp", &self.shared.nsp)
            .field("id", &self.id())
            .finish()
    }
}

impl ClientSocket {
    /// The namespace.
    pub fn nsp(&self) -> &Nsp {
        &self.shared.nsp
    }

    /// The id the server gave, once connected (under [`Generation::V3`] the derived one:
    /// the Engine.IO session id for `/`, `nsp#sid` otherwise).
    pub fn id(&self) -> Option<String> {
        lock(&self.shared.id).clone()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Whether the last connection recovered the previous session (connection state
    /// recovery: same id, missed events delivered before the connect handler ran).
    pub fn recovered(&self) -> bool {
        self.shared.recovered.load(Ordering::Acquire)
    }

    /// The connection this socket uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Joins the namespace (opening the connection if needed) with the client's auth; it
    /// joins again after each reconnection until [`ClientSocket::disconnect`].
    pub fn connect(&self) {
        self.connect_with(self.client.shared.auth.clone());
    }

    /// Like [`ClientSocket::connect`] with this namespace's own auth payload.
    pub fn connect_with(&self, auth: Option<serde_json::Value>) {
        {
            let mut st = self.client.shared.lock();
            if st.closed {
                return;
            }
            st.sio.connect(self.shared.nsp.clone(), auth);
            st.want_engine = true;
        }
        self.client.shared.notify();
    }

    /// Leaves the namespace (`io client disconnect`); the connection stays while another
    /// namespace uses it.
    pub fn disconnect(&self) {
        self.client.shared.lock().sio.disconnect(&self.shared.nsp);
        self.client.shared.notify();
    }

    /// Handles event `event`, its arguments read into `T` as a JavaScript handler's
    /// parameters (see [`Packet::args`]: a tuple reads them in order, another type the first
    /// one, [`socketio_proto::Args`] all). `ack` is there when the server asked for one.
    /// Arguments that do not fit `T` are dropped with a `tracing` warning.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn(ClientSocket, T, Option<ClientAckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .insert(event.to_owned(), crate::handler::typed(handler));
    }

    /// Handles event `event` with the packet itself (raw arguments, attachments).
    pub fn on_packet<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(ClientSocket, Packet, Option<ClientAckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .insert(event.to_owned(), crate::handler::raw(handler));
    }

    /// Handles every event that has no handler of its own ([`Packet::event_name`]).
    pub fn on_any<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket, Packet, Option<ClientAckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).any = Some(crate::handler::raw(handler));
    }

    /// Called each time the namespace connects (after a reconnection too).
    pub fn on_connect<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).connect = Some(Arc::new(move |s| Box::pin(handler(s))));
    }

    /// Called when the server refuses the namespace, with its CONNECT_ERROR payload
    /// (`{"message":…,"data":…}` from socket.io 3+), or when a connection attempt fails
    /// (`{"message":"xhr poll error"}`, `"websocket error"`, as socket.io-client).
    pub fn on_connect_error<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).connect_error =
            Some(Arc::new(move |s, d| Box::pin(handler(s, d))));
    }

    /// Called when the namespace disconnects, with the reason
    /// ([`ClientDisconnectReason::as_str`] gives socket.io-client's name).
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(ClientSocket, ClientDisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).disconnect =
            Some(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Emits `event` with `args`, read as JavaScript's `emit(event, ...)` parameters: a
    /// tuple is the argument list, `()` none, [`socketio_proto::Args`] any number, any other
    /// value one argument. While disconnected the packet waits in the offline buffer and goes
    /// out once connected, in order, exactly once.
    pub async fn emit<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let r = self
            .client
            .shared
            .lock()
            .sio
            .emit(&self.shared.nsp, event, args);
        self.client.shared.notify();
        r.map_err(emit_error)
    }

    /// Emits `event` with arguments passed on unparsed.
    pub async fn emit_raw(&self, event: &str, args: &RawArgs) -> Result<(), EmitError> {
        let r = self
            .client
            .shared
            .lock()
            .sio
            .emit_raw(&self.shared.nsp, event, args);
        self.client.shared.notify();
        r.map_err(emit_error)
    }

    /// Emits `event` and waits for the server's ack, at most the client's ack timeout
    /// ([`ClientBuilder::ack_timeout`]).
    pub async fn emit_with_ack<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Result<Packet, AckError>, EmitError> {
        let timeout = self.client.shared.ack_timeout;
        self.emit_with_ack_timeout(event, args, timeout).await
    }

    /// Emits `event` and waits for the server's ack, at most `timeout`. The ack ends with
    /// [`AckError::Disconnected`] when the namespace disconnects after the packet went out.
    pub async fn emit_with_ack_timeout<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Result<Packet, AckError>, EmitError> {
        let shared = &self.client.shared;
        let rx = {
            let mut st = shared.lock();
            let now = shared.runtime.now();
            let id = st
                .sio
                .emit_with_ack(now, &self.shared.nsp, event, args, timeout)
                .map_err(emit_error)?;
            let (tx, rx) = oneshot::channel();
            st.acks.insert((self.shared.nsp.clone(), id), tx);
            rx
        };
        shared.notify();
        Ok(rx.await.unwrap_or(Err(AckError::Disconnected)))
    }
}

fn emit_error(e: ClientError) -> EmitError {
    match e {
        ClientError::BufferFull => EmitError::BufferFull,
        ClientError::TooManyPendingAcks => EmitError::TooManyPendingAcks,
        ClientError::NotConnected => EmitError::NotConnected,
        ClientError::Encode(e) => EmitError::Encode(e),
        _ => EmitError::Closed,
    }
}

/// Answers one ack request of the server (at most once: sending consumes it).
#[derive(Debug)]
pub struct ClientAckSender {
    client: Client,
    nsp: Nsp,
    id: AckId,
}

impl ClientAckSender {
    /// The ack id the server asked with.
    pub fn id(&self) -> AckId {
        self.id
    }

    /// Answers with `args`, read as JavaScript's `callback(...)` parameters (a tuple is the
    /// argument list, `()` none, any other value one argument). BINARY_ACK when they carry
    /// binary.
    pub async fn send<T: ?Sized + Serialize>(self, args: &T) -> Result<(), EmitError> {
        let r = self.client.shared.lock().sio.ack(&self.nsp, self.id, args);
        self.client.shared.notify();
        r.map_err(emit_error)
    }

    /// Answers with arguments passed on unparsed.
    pub async fn send_raw(self, args: &RawArgs) -> Result<(), EmitError> {
        let r = self
            .client
            .shared
            .lock()
            .sio
            .ack_raw(&self.nsp, self.id, args);
        self.client.shared.notify();
        r.map_err(emit_error)
    }
}
