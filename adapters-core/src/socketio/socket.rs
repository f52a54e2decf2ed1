//! The application's handle on one namespace socket: handlers, emits, rooms, state.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytestring::ByteString;
use engineio_proto::http::RequestHead;
use futures_channel::oneshot;
use serde::de::DeserializeOwned;
use serde::Serialize;
use socketio_proto::rooms::{Room, SocketId};
use socketio_proto::server::{BroadcastAck, BroadcastFlags, Delivery, DisconnectReason};
use socketio_proto::{AckId, EncodeError, Encoded, Nsp, Packet, RawArgs};

use super::broadcast::BroadcastOperator;
use super::{with_encoder, Command, ConnHandle, SocketIoServer};
use crate::runtime::BoxFuture;

/// Answers one ack request of the client (at most once: sending consumes it).
#[derive(Debug)]
pub struct AckSender {
    pub(super) nsp: Nsp,
    pub(super) id: AckId,
    pub(super) parser: socketio_proto::Parser,
    pub(super) conn: ConnHandle,
}

impl AckSender {
    /// Answers with `args`, read as JavaScript's `callback(...)` parameters: a tuple is the
    /// argument list (`&("ok", 1)`), `()` none, [`socketio_proto::Args`] a list of any length,
    /// and any other value one argument (`&vec![1, 2]` is `callback([1, 2])`). BINARY_ACK when
    /// they carry binary.
    pub async fn send<T: ?Sized + Serialize>(self, args: &T) -> Result<(), EmitError> {
        let packet = with_encoder(self.parser, |e| e.ack(&self.nsp, self.id, args))?;
        self.send_encoded(packet).await
    }

    /// Answers with arguments passed on unparsed.
    pub async fn send_raw(self, args: &RawArgs) -> Result<(), EmitError> {
        let packet = with_encoder(self.parser, |e| e.ack_raw(&self.nsp, self.id, args));
        self.send_encoded(packet).await
    }

    async fn send_encoded(self, packet: Encoded) -> Result<(), EmitError> {
        self.conn
            .send(Command::Send(self.nsp, packet))
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
    /// Client side: the namespace was never joined, or was left.
    NotConnected,
    /// Client side: the offline buffer is full (see
    /// [`crate::client::ClientBuilder::max_offline_packets`]).
    BufferFull,
    /// Client side: too many acks are pending.
    TooManyPendingAcks,
    /// The packet could not be encoded (reserved event name, too many attachments, ...).
    Encode(EncodeError),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Closed => f.write_str("the socket is closed"),
            EmitError::NotConnected => f.write_str("not connected to the namespace"),
            EmitError::BufferFull => f.write_str("the offline buffer is full"),
            EmitError::TooManyPendingAcks => f.write_str("too many pending acks"),
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
    /// The packet was not handed to the socket: a volatile emit it could not take at once, or
    /// its connection already waits for the most acks it may (`max_pending_acks`).
    NotSent,
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "ack timeout",
            AckError::Disconnected => "socket disconnected",
            AckError::NotSent => "packet not sent",
        })
    }
}

impl std::error::Error for AckError {}

/// A handler of one event: `None` when the arguments did not fit its type.
type EventHandler = crate::handler::EventHandler<SioSocket, AckSender>;
type DisconnectHandler = Arc<dyn Fn(SioSocket, DisconnectReason) -> BoxFuture + Send + Sync>;

#[derive(Default)]
struct Handlers {
    events: crate::vec_map::VecMap<Box<str>, EventHandler>,
    any: Option<EventHandler>,
    disconnect: Option<DisconnectHandler>,
}

pub(super) struct SocketShared {
    pub(super) nsp: Nsp,
    pub(super) id: SocketId,
    pub(super) auth: serde_json::Value,
    /// The auth as the client wrote it.
    pub(super) auth_json: ByteString,
    pub(super) handshake: Arc<RequestHead>,
    pub(super) recovered: bool,
    pub(super) conn: ConnHandle,
    pub(super) server: SocketIoServer,
    handlers: Mutex<Handlers>,
    state: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// The reference's `socket.data`: what other nodes see of it.
    data: Mutex<serde_json::Value>,
    connected: AtomicBool,
}

/// A namespace socket: the handle the namespace's connect handler gets, cheap to clone.
///
/// Register handlers with [`SioSocket::on`] (typed arguments), [`SioSocket::on_packet`] (the
/// packet itself), [`SioSocket::on_any`] (events no other handler takes) and
/// [`SioSocket::on_disconnect`]. Handlers run on the connection's task, started in arrival
/// order; an event that arrives before its handler is registered is dropped, as in the
/// reference. Register them in the connect handler before its first `.await` to see every
/// event. A handler that blocks the thread blocks its connection: spawn CPU-heavy work.
#[derive(Clone)]
pub struct SioSocket {
    pub(super) shared: Arc<SocketShared>,
}

impl fmt::Debug for SioSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioSocket")
            .field("nsp", &self.shared.nsp)
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

/// Locks `m`; a panic elsewhere while it was held leaves plain data behind, still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SioSocket {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        nsp: Nsp,
        id: SocketId,
        (auth, auth_json): (serde_json::Value, ByteString),
        handshake: Arc<RequestHead>,
        recovered: bool,
        conn: ConnHandle,
        server: SocketIoServer,
    ) -> Self {
        SioSocket {
            shared: Arc::new(SocketShared {
                nsp,
                id,
                auth,
                auth_json,
                handshake,
                recovered,
                conn,
                server,
                handlers: Mutex::new(Handlers::default()),
                state: Mutex::new(HashMap::new()),
                data: Mutex::new(serde_json::Value::Null),
                connected: AtomicBool::new(true),
            }),
        }
    }

    /// The socket id.
    pub fn id(&self) -> &SocketId {
        &self.shared.id
    }

    /// The namespace.
    pub fn nsp(&self) -> &Nsp {
        &self.shared.nsp
    }

    /// The auth the socket connected with: the CONNECT's JSON payload (`{}` when none was
    /// sent), or for a socket.io-client 2.x (protocol v4) the query it put after the
    /// namespace, as an object of strings (`io(url + "/admin", { query: { token: "abc" } })`
    /// gives `{"token":"abc"}`; its implicit `/` has `{}`). The handshake's own query is in
    /// [`SioSocket::handshake`]. Its object keys are in the order of serde_json's map (sorted
    /// unless your build turns on serde_json's `preserve_order`); [`SioSocket::auth_json`]
    /// keeps the client's.
    pub fn auth(&self) -> &serde_json::Value {
        &self.shared.auth
    }

    /// The CONNECT auth payload as the client wrote it (JSON text, `{}` when none was sent):
    /// to pass it on with the client's key order, as the reference does (for example as raw
    /// arguments, [`RawArgs::from_array`]).
    pub fn auth_json(&self) -> &str {
        &self.shared.auth_json
    }

    /// The HTTP request that opened the connection (URI with its query, headers).
    pub fn handshake(&self) -> &RequestHead {
        &self.shared.handshake
    }

    /// Whether this socket recovered an earlier session (connection state recovery): same id
    /// and rooms, missed packets replayed.
    pub fn recovered(&self) -> bool {
        self.shared.recovered
    }

    /// Whether the socket is still connected.
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }

    /// Handles event `event`: its arguments deserialize into `T` ([`Packet::args`]) as a
    /// JavaScript handler's parameters receive them: a tuple reads them in order
    /// (`(String, u32)`, a left-out `Option` is `None`), any other type the first one
    /// (`Message`, `serde_json::Value`, `Vec<u32>` for a client's `emit("ev", [1, 2])`,
    /// `Option<T>` when it may be missing or `null`), `()` none, and
    /// [`socketio_proto::Args`] every argument, however many; binary attachments go into
    /// [`socketio_proto::Binary`] or `bytes::Bytes` fields.
    /// `ack` is there when the client asked for one. Arguments that do not fit `T` are
    /// dropped with a `tracing` warning, the handler is not called (and a client waiting for
    /// an ack times out). Replaces an earlier handler of the same event.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + 'static,
        F: Fn(SioSocket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .insert(event.into(), crate::handler::typed(handler));
    }

    /// Handles event `event` with the packet itself: for arguments passed on unparsed
    /// ([`Packet::raw_args`], binary kept) or read more than one way.
    pub fn on_packet<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(SioSocket, Packet, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .insert(event.into(), crate::handler::raw(handler));
    }

    /// Handles every event that has no handler of its own (the name is
    /// [`Packet::event_name`]).
    pub fn on_any<F, Fut>(&self, handler: F)
    where
        F: Fn(SioSocket, Packet, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).any = Some(crate::handler::raw(handler));
    }

    /// Called once when the socket ends, with the reason. Every handler is dropped after it
    /// (they may hold clones of this socket).
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(SioSocket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).disconnect = Some(Arc::new(move |socket, reason| {
            Box::pin(handler(socket, reason))
        }));
    }

    /// The future of the handler of `packet`'s event, if any takes it.
    pub(super) fn dispatch(&self, packet: Packet, ack: Option<AckSender>) -> Option<BoxFuture> {
        let handler = {
            let handlers = lock(&self.shared.handlers);
            let name = packet.event_name().unwrap_or_default();
            handlers.events.get(name).or(handlers.any.as_ref()).cloned()
        }?;
        handler(self.clone(), packet, ack)
    }

    /// Marks the socket ended; the disconnect handler's future, if any. Drops every handler.
    pub(super) fn ended(&self, reason: DisconnectReason) -> Option<BoxFuture> {
        self.shared.connected.store(false, Ordering::Relaxed);
        let handlers = std::mem::take(&mut *lock(&self.shared.handlers));
        handlers.disconnect.map(|h| h(self.clone(), reason))
    }

    /// Stores a value of type `T` with this socket (one per type), replacing an earlier one.
    pub fn set_state<T: Any + Send + Sync>(&self, value: T) {
        lock(&self.shared.state).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T` stored with [`SioSocket::set_state`]. For state that changes,
    /// store a `Mutex` or an atomic.
    pub fn state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = lock(&self.shared.state).get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }

    /// Emits `event` with `args` to this socket, read as JavaScript's `emit(event, ...)`
    /// parameters: a tuple is the argument list (`&("a", 1)`), `()` none,
    /// [`socketio_proto::Args`] a list of any length, and any other value one argument
    /// (`&vec![1, 2, 3]` is `emit(event, [1, 2, 3])`, `&None::<T>` is `emit(event, null)`).
    /// See [`socketio_proto::Encoder::event`].
    pub async fn emit<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = with_encoder(self.shared.server.inner.parser, |e| {
            e.event(&self.shared.nsp, event, args, None)
        })?;
        self.send(packet).await
    }

    /// Emits `event` with arguments passed on unparsed.
    pub async fn emit_raw(&self, event: &str, args: &RawArgs) -> Result<(), EmitError> {
        let packet = with_encoder(self.shared.server.inner.parser, |e| {
            e.event_raw(&self.shared.nsp, event, args, None)
        })?;
        self.send(packet).await
    }

    async fn send(&self, packet: Encoded) -> Result<(), EmitError> {
        self.shared
            .conn
            .send(Command::Send(self.shared.nsp.clone(), packet))
            .await
            .map_err(|_| EmitError::Closed)
    }

    /// Emits `event` and waits for the client's ack, at most the server's ack timeout
    /// ([`super::SocketIoBuilder::ack_timeout`]).
    pub async fn emit_with_ack<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Result<Packet, AckError>, EmitError> {
        let timeout = self.shared.server.inner.ack_timeout;
        self.emit_with_ack_timeout(event, args, timeout).await
    }

    /// Emits `event` and waits for the client's ack, at most `timeout`.
    pub async fn emit_with_ack_timeout<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Result<Packet, AckError>, EmitError> {
        let nsp = &self.shared.nsp;
        let id = self.shared.server.lock().next_ack_id(nsp);
        let packet = with_encoder(self.shared.server.inner.parser, |e| {
            e.event(nsp, event, args, Some(id))
        })?;
        let delivery = Delivery {
            nsp: nsp.clone(),
            packet,
            flags: BroadcastFlags::default(),
            ack: Some(BroadcastAck {
                id,
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        };
        let (tx, rx) = oneshot::channel();
        self.shared
            .conn
            .send(Command::Deliver(Arc::new(delivery), Some(tx)))
            .await
            .map_err(|_| EmitError::Closed)?;
        Ok(rx.await.unwrap_or(Err(AckError::Disconnected)))
    }

    /// Sets the socket's data (the reference's `socket.data`): JSON the other nodes of a
    /// fleet see with it ([`super::BroadcastOperator::fetch_sockets`]).
    pub fn set_data(&self, data: serde_json::Value) {
        *lock(&self.shared.data) = data;
    }

    /// The socket's data (`null` until set).
    pub fn data(&self) -> serde_json::Value {
        lock(&self.shared.data).clone()
    }

    /// Joins `room`.
    pub fn join(&self, room: impl Into<Room>) {
        let s = &self.shared;
        s.server.lock().join(&s.nsp, &s.id, room);
    }

    /// Leaves `room`.
    pub fn leave(&self, room: impl Into<Room>) {
        let s = &self.shared;
        s.server.lock().leave(&s.nsp, &s.id, &room.into());
    }

    /// The rooms this socket is in (its own id's room included).
    pub fn rooms(&self) -> Vec<Room> {
        let s = &self.shared;
        s.server
            .lock()
            .rooms(&s.nsp)
            .map(|r| r.rooms_of(&s.id).cloned().collect())
            .unwrap_or_default()
    }

    /// A broadcast to the members of `room` in this namespace, this socket left out (the
    /// reference's `socket.to(room)`).
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// A broadcast to every socket of this namespace but this one (the reference's
    /// `socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        self.shared
            .server
            .of(self.shared.nsp.as_str())
            .except(&self.shared.id)
    }

    /// Disconnects this socket (DISCONNECT goes out; the Engine.IO session stays).
    pub async fn disconnect(&self) {
        let _ = self
            .shared
            .conn
            .send(Command::Disconnect(self.shared.nsp.clone()))
            .await;
    }

    /// Disconnects every socket of this connection and closes it.
    pub async fn close_connection(&self) {
        let _ = self.shared.conn.send(Command::Close).await;
    }

    /// The server this socket belongs to.
    pub fn server(&self) -> &SocketIoServer {
        &self.shared.server
    }
}
