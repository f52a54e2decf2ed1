//! One Engine.IO session seen by the Socket.IO server: namespace sockets, events, acks.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use engineio_proto::{CloseReason, Message};
use serde::Serialize;

use super::{BroadcastAck, ConnId, Delivery, ServerConfig};
use crate::acks::AckTable;
use crate::rooms::SocketId;
use crate::{
    AckId, Decoder, DecoderConfig, EncodeError, Encoded, Encoder, EncoderConfig, Nsp, Packet,
    PacketKind, RawArgs, SocketIoVersion,
};

/// A namespace CONNECT waiting for the application's decision: [`super::Server::accept`] or
/// [`ServerConn::reject`] (after [`super::Server::resolve`] checked the namespace exists).
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a CONNECT must be accepted or rejected"]
pub struct ConnectRequest {
    nsp: Nsp,
    auth: serde_json::Value,
    /// The auth as the client wrote it.
    auth_json: ByteString,
    query: Option<String>,
}

/// The auth of a CONNECT without payload.
const NO_AUTH: &str = "{}";

impl ConnectRequest {
    /// The namespace asked for.
    pub fn nsp(&self) -> &Nsp {
        &self.nsp
    }

    /// The auth: the CONNECT's JSON payload (v5; `{}` when the client sent none), or for a v4
    /// client the query string it put after the namespace, parsed as the reference parses it
    /// (`0/admin?token=abc,` gives `{"token":"abc"}`: string values, URL-decoded, a repeated
    /// key's last value, `""` for a key without `=`; `{}` without a query, as for the `/` a v4
    /// client is joined to on its own).
    ///
    /// Parsed into a `serde_json::Value`, its object keys are in the order of serde_json's
    /// map (sorted, unless `preserve_order` is on in your build): to pass the payload on with
    /// the client's key order, as the reference does, use [`ConnectRequest::auth_json`].
    pub fn auth(&self) -> &serde_json::Value {
        &self.auth
    }

    /// The auth as JSON text, keys in the client's order: the payload as the client wrote it
    /// (v5, a view of the CONNECT packet; `{}` when it sent none), or a v4 client's query as
    /// an object, keys in the order a JavaScript server would list them.
    pub fn auth_json(&self) -> &ByteString {
        &self.auth_json
    }

    /// The query string the client put after the namespace (`/admin?token=abc`), unparsed: a
    /// v4 client's auth ([`ConnectRequest::auth`]); for v5 clients not auth, only split off
    /// the name.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The `pid` and `offset` a reconnecting client presents, when both are strings.
    pub(super) fn recovery_claim(&self) -> Option<(&str, &str)> {
        Some((
            self.auth.get("pid")?.as_str()?,
            self.auth.get("offset")?.as_str()?,
        ))
    }
}

/// A v5 CONNECT_ERROR payload, `{"message":…,"data":…}` in the reference's key order (a
/// struct, so the order does not depend on serde_json's map).
#[derive(Serialize)]
struct Refusal<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a serde_json::Value>,
}

/// Why a namespace socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client sent DISCONNECT for the namespace.
    ClientNamespaceDisconnect,
    /// The application disconnected the socket.
    ServerNamespaceDisconnect,
    /// The client broke the protocol; the connection is closed.
    ParseError,
    /// The Engine.IO session ended.
    Transport(CloseReason),
}

impl DisconnectReason {
    /// The reason as the reference names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::Transport(r) => r.as_str(),
        }
    }

    /// Whether the reference keeps the session for recovery after this reason.
    pub(super) fn keeps_session(self) -> bool {
        matches!(
            self,
            DisconnectReason::Transport(
                CloseReason::TransportError
                    | CloseReason::TransportClose
                    | CloseReason::ForcedClose
                    | CloseReason::PingTimeout
                    | CloseReason::ServerShutdown
            )
        )
    }
}

/// Why an ack will never come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckFailure {
    /// Its timeout passed.
    Timeout,
    /// The socket disconnected first.
    Disconnected,
}

/// What a connection reports, pulled with [`ServerConn::poll_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConnEvent {
    /// A client asks to join a namespace: pass it to [`super::Server::resolve`].
    Connect(ConnectRequest),
    /// An event for a socket. When `packet.ack_id()` is set, answer with [`ServerConn::ack`].
    Event {
        /// The namespace.
        nsp: Nsp,
        /// The socket.
        socket: SocketId,
        /// The packet: event name, ack id, arguments (parsed on demand).
        packet: Packet,
    },
    /// The client answered an ack request.
    Ack {
        /// The namespace.
        nsp: Nsp,
        /// The socket.
        socket: SocketId,
        /// The ack id.
        id: AckId,
        /// The packet carrying the answer's arguments.
        packet: Packet,
    },
    /// An ack request that will not be answered.
    AckFailed {
        /// The namespace.
        nsp: Nsp,
        /// The socket.
        socket: SocketId,
        /// The ack id.
        id: AckId,
        /// Why.
        reason: AckFailure,
    },
    /// A socket ended.
    Disconnected {
        /// The namespace.
        nsp: Nsp,
        /// The socket.
        socket: SocketId,
        /// Why.
        reason: DisconnectReason,
    },
    /// The connection is over: close the Engine.IO session (if it is not closed already).
    Closed(DisconnectReason),
}

/// News for [`super::Server::handle_update`], pulled with [`ServerConn::poll_server_update`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerUpdate {
    /// A socket left its namespace.
    Left {
        /// The namespace.
        nsp: Nsp,
        /// The socket.
        socket: SocketId,
        /// Its recovery session id.
        pid: Option<String>,
        /// Why.
        reason: DisconnectReason,
    },
}

/// A message for the Engine.IO session, pulled with [`ServerConn::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The message (a packet text, or one of its attachments).
    pub message: Message,
    /// Whether the transport may compress it.
    pub compress: bool,
}

/// Why an emit was refused; the connection is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// No socket of this connection is in the namespace.
    #[error("not connected to the namespace")]
    NotConnected,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// Too many acks are pending ([`ServerConfig::max_pending_acks`]).
    #[error("too many pending acks")]
    TooManyPendingAcks,
    /// The packet could not be encoded (reserved event name, too many attachments, ...).
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

#[derive(Debug)]
struct SocketState {
    id: SocketId,
    pid: Option<String>,
}

/// Per-namespace entries of one connection, sorted by namespace (iterated in the order a
/// `BTreeMap` would give). A connection joins one or two namespaces: a `Vec` sized to them
/// holds what a B-tree node of eleven would.
#[derive(Debug)]
struct NspMap<V>(Vec<(Nsp, V)>);

impl<V> Default for NspMap<V> {
    fn default() -> Self {
        NspMap(Vec::new())
    }
}

impl<V> NspMap<V> {
    fn find(&self, nsp: &Nsp) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.cmp(nsp))
    }

    fn get(&self, nsp: &Nsp) -> Option<&V> {
        self.find(nsp).ok().map(|i| &self.0[i].1)
    }

    fn contains_key(&self, nsp: &Nsp) -> bool {
        self.find(nsp).is_ok()
    }

    fn insert(&mut self, nsp: Nsp, value: V) {
        match self.find(&nsp) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (nsp, value));
            }
        }
    }

    /// Removes `nsp`'s entry; whether there was one.
    fn remove(&mut self, nsp: &Nsp) -> Option<V> {
        let i = self.find(nsp).ok()?;
        let (_, value) = self.0.remove(i);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(value)
    }

    fn iter(&self) -> impl Iterator<Item = (&Nsp, &V)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    fn keys(&self) -> impl Iterator<Item = &Nsp> {
        self.0.iter().map(|(n, _)| n)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

/// The Socket.IO side of one Engine.IO session on the server.
///
/// Feed it the session's messages ([`ServerConn::handle_message`]), its end
/// ([`ServerConn::handle_engine_closed`]) and timeouts. After each input or command drain
/// [`ServerConn::poll_transmit`] (hand each message to the Engine.IO session, in order), then
/// [`ServerConn::poll_event`] and [`ServerConn::poll_server_update`], then read
/// [`ServerConn::poll_timeout`].
#[derive(Debug)]
pub struct ServerConn {
    id: ConnId,
    version: SocketIoVersion,
    config: Arc<ServerConfig>,
    decoder: Decoder,
    encoder: Encoder,
    sockets: NspMap<SocketState>,
    /// CONNECTs handed to the application, not decided yet.
    connecting: NspMap<()>,
    last_now: Instant,
    connect_deadline: Option<Instant>,
    acks: AckTable,
    transmits: VecDeque<Outgoing>,
    events: VecDeque<ConnEvent>,
    updates: VecDeque<ServerUpdate>,
    closed: bool,
}

impl ServerConn {
    /// The Socket.IO side of a new Engine.IO session `id` (its sid), speaking `version`.
    ///
    /// v4 clients are joined to `/` without asking: a [`ConnEvent::Connect`] for `/` is ready
    /// at once.
    pub fn new(
        now: Instant,
        id: ConnId,
        version: SocketIoVersion,
        config: Arc<ServerConfig>,
    ) -> Self {
        let mut conn = ServerConn {
            id,
            version,
            decoder: Decoder::new(
                DecoderConfig::default()
                    .with_max_attachments(config.max_attachments)
                    .with_parser(config.parser),
            ),
            encoder: Encoder::new(
                EncoderConfig::default()
                    .with_max_attachments(config.max_attachments)
                    .with_parser(config.parser),
            ),
            sockets: NspMap::default(),
            connecting: NspMap::default(),
            last_now: now,
            connect_deadline: Some(now + config.connect_timeout),
            acks: AckTable::default(),
            // Usually one message and one event at a time: `poll_transmit` and `poll_event`
            // keep room for one (an idle connection does not hold room for four).
            transmits: VecDeque::with_capacity(1),
            events: VecDeque::with_capacity(1),
            updates: VecDeque::new(),
            closed: false,
            config,
        };
        if version == SocketIoVersion::V4 {
            conn.connecting.insert(Nsp::main(), ());
            conn.events.push_back(ConnEvent::Connect(ConnectRequest {
                nsp: Nsp::main(),
                auth: serde_json::Value::Object(Default::default()),
                auth_json: ByteString::from_static(NO_AUTH),
                query: None,
            }));
        }
        conn
    }

    /// The connection id.
    pub fn id(&self) -> &ConnId {
        &self.id
    }

    /// The protocol revision.
    pub fn version(&self) -> SocketIoVersion {
        self.version
    }

    /// The socket of this connection in `nsp`, if joined.
    pub fn socket(&self, nsp: &Nsp) -> Option<&SocketId> {
        self.sockets.get(nsp).map(|s| &s.id)
    }

    /// The namespaces joined.
    pub fn namespaces(&self) -> impl Iterator<Item = (&Nsp, &SocketId)> {
        self.sockets.iter().map(|(n, s)| (n, &s.id))
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Acks waiting for the client.
    pub fn pending_acks(&self) -> usize {
        self.acks.len()
    }

    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.last_now {
            self.last_now = now;
        }
        self.last_now
    }

    /// Handles one message of the Engine.IO session.
    pub fn handle_message(&mut self, now: Instant, message: Message) {
        let now = self.advance(now);
        if self.closed {
            return;
        }
        let decoded = match message {
            Message::Text(t) => self.decoder.decode_text(t),
            Message::Binary(b) => self.decoder.decode_binary(b),
        };
        match decoded {
            Ok(crate::Decoded::Packet(packet)) => self.handle_packet(now, packet),
            Ok(_) => {}
            // socketio.md §3.3: every decoder error closes the connection.
            Err(_) => self.fatal(),
        }
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        let nsp = packet.nsp_owned();
        let joined = self.sockets.contains_key(&nsp);
        match packet.kind() {
            PacketKind::Connect => {
                if joined || self.connecting.contains_key(&nsp) {
                    // v4 clients may send `0` for `/`, which they were joined to already.
                    if self.version == SocketIoVersion::V4 && nsp.is_main() {
                        return;
                    }
                    // socketio.md §4.2: a second CONNECT closes the connection.
                    return self.fatal();
                }
                let (auth, auth_json) = match self.version {
                    // socketio.md §8: a v4 client's auth is the query in its namespace
                    // (`0/admin?token=abc,`); the reference reads nothing else for EIO3
                    // connections, a JSON payload included.
                    // A payload that is not JSON is still a decoding error, as there.
                    SocketIoVersion::V4 if packet.validate().is_err() => return self.fatal(),
                    SocketIoVersion::V4 => super::query::auth_from_query(packet.query()),
                    SocketIoVersion::V5 => match packet.data_owned::<serde_json::Value>() {
                        Ok(Some(v)) => (v, packet.payload_text().unwrap_or_default()),
                        Err(_) => return self.fatal(),
                        Ok(None) => (
                            serde_json::Value::Object(Default::default()),
                            ByteString::from_static(NO_AUTH),
                        ),
                    },
                };
                self.connecting.insert(nsp.clone(), ());
                self.events.push_back(ConnEvent::Connect(ConnectRequest {
                    nsp,
                    auth,
                    auth_json,
                    query: packet.query().map(str::to_owned),
                }));
            }
            // socketio.md §4.2: anything but CONNECT for a namespace not joined closes (v4:
            // 2.x servers ignored it).
            _ if !joined => {
                if self.version == SocketIoVersion::V5 {
                    self.fatal();
                }
            }
            PacketKind::Disconnect => {
                self.remove_socket(&nsp, DisconnectReason::ClientNamespaceDisconnect);
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                if !packet.has_payload() {
                    return; // `42`: accepted by the decoder, ignored (socketio.md §3.4)
                }
                // Arguments are parsed lazily; a syntax error must still be fatal.
                if packet.validate().is_err() {
                    return self.fatal();
                }
                let Some(socket) = self.sockets.get(&nsp).map(|s| s.id.clone()) else {
                    return;
                };
                self.events.push_back(ConnEvent::Event {
                    nsp,
                    socket,
                    packet,
                });
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                if packet.validate().is_err() {
                    return self.fatal();
                }
                let Some(id) = packet.ack_id() else { return };
                // Unknown ids are ignored (socketio.md §4.2).
                if self.acks.remove(&nsp, id) {
                    let Some(socket) = self.sockets.get(&nsp).map(|s| s.id.clone()) else {
                        return;
                    };
                    self.events.push_back(ConnEvent::Ack {
                        nsp,
                        socket,
                        id,
                        packet,
                    });
                }
            }
            // A CONNECT_ERROR from a client closes the connection.
            PacketKind::ConnectError => self.fatal(),
        }
        let _ = now;
    }

    /// A protocol violation: every socket ends with `parse error` and the connection closes.
    fn fatal(&mut self) {
        self.close_all(DisconnectReason::ParseError);
    }

    fn close_all(&mut self, reason: DisconnectReason) {
        if self.closed {
            return;
        }
        let nsps: Vec<Nsp> = self.sockets.keys().cloned().collect();
        for nsp in nsps {
            self.remove_socket(&nsp, reason);
        }
        self.connecting.clear();
        self.closed = true;
        self.connect_deadline = None;
        self.events.push_back(ConnEvent::Closed(reason));
    }

    fn remove_socket(&mut self, nsp: &Nsp, reason: DisconnectReason) {
        let Some(state) = self.sockets.remove(nsp) else {
            return;
        };
        // Its pending acks fail now.
        for id in self.acks.remove_nsp(nsp) {
            self.events.push_back(ConnEvent::AckFailed {
                nsp: nsp.clone(),
                socket: state.id.clone(),
                id,
                reason: AckFailure::Disconnected,
            });
        }
        self.events.push_back(ConnEvent::Disconnected {
            nsp: nsp.clone(),
            socket: state.id.clone(),
            reason,
        });
        self.updates.push_back(ServerUpdate::Left {
            nsp: nsp.clone(),
            socket: state.id,
            pid: state.pid,
            reason,
        });
    }

    /// Handles the end of the Engine.IO session: every socket disconnects with its reason.
    pub fn handle_engine_closed(&mut self, now: Instant, reason: CloseReason) {
        self.advance(now);
        self.close_all(DisconnectReason::Transport(reason));
    }

    /// Handles expired timers (ack timeouts, the connect timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.closed {
            return;
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            // socketio.md §4.2: no namespace joined in time.
            self.connect_deadline = None;
            if self.sockets.is_empty() {
                self.transmits.clear();
                return self.close_all(DisconnectReason::Transport(CloseReason::ForcedClose));
            }
        }
        while let Some((nsp, id)) = self.acks.pop_expired(now) {
            if let Some(socket) = self.sockets.get(&nsp).map(|s| s.id.clone()) {
                self.events.push_back(ConnEvent::AckFailed {
                    nsp,
                    socket,
                    id,
                    reason: AckFailure::Timeout,
                });
            }
        }
    }

    /// When to call [`ServerConn::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.acks.next_deadline(), self.connect_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next message for the Engine.IO session, or `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        let out = self.transmits.pop_front();
        if out.is_none() && self.transmits.capacity() > 1 {
            self.transmits.shrink_to(1);
        }
        out
    }

    /// The next event, or `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > 1 {
            // A burst made room for many: an idle connection keeps room for one.
            self.events.shrink_to(1);
        }
        event
    }

    /// The next update for [`super::Server::handle_update`], or `None`.
    #[must_use]
    pub fn poll_server_update(&mut self) -> Option<ServerUpdate> {
        self.updates.pop_front()
    }

    /// Queues a packet written for this connection (moved: no share of its text).
    fn queue(&mut self, packet: Encoded, compress: bool) {
        self.queue_packets(packet.into_engineio_packets(), compress);
    }

    /// Queues a packet shared with other connections (a broadcast's).
    fn queue_shared(&mut self, packet: &Encoded, compress: bool) {
        self.queue_packets(packet.engineio_packets(), compress);
    }

    fn queue_packets(
        &mut self,
        packets: impl Iterator<Item = engineio_proto::Packet>,
        compress: bool,
    ) {
        for message in packets.filter_map(Message::from_packet) {
            self.transmits.push_back(Outgoing { message, compress });
        }
    }

    /// Called by [`super::Server::accept`]: replays what the socket missed, then replies.
    pub(super) fn accepted(
        &mut self,
        now: Instant,
        req: ConnectRequest,
        socket: SocketId,
        pid: Option<String>,
        replay: Vec<Encoded>,
    ) {
        let now = self.advance(now);
        let _ = now;
        if self.closed || self.connecting.remove(&req.nsp).is_none() {
            return;
        }
        self.connect_deadline = None;
        for packet in replay {
            self.queue(packet, false);
        }
        let reply = match self.version {
            // v4: `0` / `0/admin,` without payload.
            SocketIoVersion::V4 => self.encoder.connect::<()>(&req.nsp, None),
            SocketIoVersion::V5 => {
                #[derive(Serialize)]
                struct Ack<'a> {
                    sid: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pid: Option<&'a str>,
                }
                self.encoder.connect(
                    &req.nsp,
                    Some(&Ack {
                        sid: socket.as_str(),
                        pid: pid.as_deref(),
                    }),
                )
            }
        };
        if let Ok(reply) = reply {
            self.queue(reply, false);
        }
        self.sockets
            .insert(req.nsp, SocketState { id: socket, pid });
    }

    /// Refuses a CONNECT: CONNECT_ERROR with `message` and optional `data` (v5:
    /// `{"message":…,"data":…}`; v4: `data`, or `message` when there is none, as the current
    /// reference answers EIO3 clients). The Engine.IO session stays open.
    pub fn reject(&mut self, req: ConnectRequest, message: &str, data: Option<serde_json::Value>) {
        if self.connecting.remove(&req.nsp).is_none() || self.closed {
            return;
        }
        let packet = match (self.version, data) {
            (SocketIoVersion::V4, Some(data)) => self.encoder.connect_error(&req.nsp, &data),
            (SocketIoVersion::V4, None) => self.encoder.connect_error(&req.nsp, message),
            (SocketIoVersion::V5, data) => self.encoder.connect_error(
                &req.nsp,
                &Refusal {
                    message,
                    data: data.as_ref(),
                },
            ),
        };
        if let Ok(packet) = packet {
            self.queue(packet, false);
        }
    }

    /// Refuses a CONNECT for a namespace that does not exist: `{"message":"Invalid namespace"}`,
    /// an object even for v4 clients (as the current reference answers).
    pub fn reject_invalid_namespace(&mut self, req: ConnectRequest) {
        if self.connecting.remove(&req.nsp).is_none() || self.closed {
            return;
        }
        let payload = Refusal {
            message: "Invalid namespace",
            data: None,
        };
        if let Ok(packet) = self.encoder.connect_error(&req.nsp, &payload) {
            self.queue(packet, false);
        }
    }

    fn check_nsp(&self, nsp: &Nsp) -> Result<(), EmitError> {
        if self.closed {
            Err(EmitError::Closed)
        } else if !self.sockets.contains_key(nsp) {
            Err(EmitError::NotConnected)
        } else {
            Ok(())
        }
    }

    /// Emits `event` with `args` to this connection's socket in `nsp` (arguments read as in
    /// [`Encoder::event`]). Reserved event names are refused.
    pub fn emit<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.check_nsp(nsp)?;
        let packet = self.encoder.event(nsp, event, args, None)?;
        self.queue(packet, false);
        Ok(())
    }

    /// Emits `event` asking for an ack `id` (from [`super::Server::next_ack_id`]) within
    /// `timeout`; the answer arrives as [`ConnEvent::Ack`], or [`ConnEvent::AckFailed`].
    pub fn emit_with_ack<T: ?Sized + Serialize>(
        &mut self,
        now: Instant,
        nsp: &Nsp,
        event: &str,
        args: &T,
        id: AckId,
        timeout: Duration,
    ) -> Result<(), EmitError> {
        let now = self.advance(now);
        self.check_nsp(nsp)?;
        if self.acks.len() >= self.config.max_pending_acks {
            return Err(EmitError::TooManyPendingAcks);
        }
        let packet = self.encoder.event(nsp, event, args, Some(id))?;
        self.queue(packet, false);
        self.acks.insert(now + timeout, nsp, id);
        Ok(())
    }

    /// Sends a packet encoded elsewhere to the socket in `nsp` (one encoded once for many
    /// connections is given as clones: reference counts, no copies).
    pub fn emit_encoded(&mut self, nsp: &Nsp, packet: Encoded) -> Result<(), EmitError> {
        self.check_nsp(nsp)?;
        self.queue(packet, false);
        Ok(())
    }

    /// Hands this connection its part of a broadcast ([`super::Server::plan`]). `writable`
    /// says whether the Engine.IO session can take it now; a volatile broadcast is dropped
    /// when it cannot. Returns whether it was queued.
    pub fn deliver(&mut self, now: Instant, delivery: &Delivery, writable: bool) -> bool {
        let now = self.advance(now);
        if self.check_nsp(&delivery.nsp).is_err() || (delivery.flags.volatile && !writable) {
            return false;
        }
        if let Some(BroadcastAck { id, timeout_ms }) = delivery.ack {
            if self.acks.len() >= self.config.max_pending_acks {
                return false;
            }
            self.acks
                .insert(now + Duration::from_millis(timeout_ms), &delivery.nsp, id);
        }
        self.queue_shared(&delivery.packet, delivery.flags.compress);
        true
    }

    /// Answers the client's ack request `id` in `nsp` (BINARY_ACK when `args` carry binary).
    pub fn ack<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        id: AckId,
        args: &T,
    ) -> Result<(), EmitError> {
        self.check_nsp(nsp)?;
        let packet = self.encoder.ack(nsp, id, args)?;
        self.queue(packet, false);
        Ok(())
    }

    /// Answers ack request `id` with arguments passed on unparsed.
    pub fn ack_raw(&mut self, nsp: &Nsp, id: AckId, args: &RawArgs) -> Result<(), EmitError> {
        self.check_nsp(nsp)?;
        let packet = self.encoder.ack_raw(nsp, id, args);
        self.queue(packet, false);
        Ok(())
    }

    /// Disconnects the socket in `nsp`: DISCONNECT goes out; the Engine.IO session stays.
    pub fn disconnect(&mut self, nsp: &Nsp) -> Result<(), EmitError> {
        self.check_nsp(nsp)?;
        let packet = self.encoder.disconnect(nsp);
        self.queue(packet, false);
        self.remove_socket(nsp, DisconnectReason::ServerNamespaceDisconnect);
        Ok(())
    }

    /// Ends every socket as the reference's `io.close()` does: no DISCONNECT packets (the
    /// sockets end with [`CloseReason::ServerShutdown`], which connection state recovery
    /// keeps), then the Engine.IO connection closes, so that clients reconnect (to this
    /// server restarted, or another one).
    pub fn shutdown(&mut self) {
        self.close_all(DisconnectReason::Transport(CloseReason::ServerShutdown));
    }

    /// Disconnects every socket (DISCONNECT for each namespace) and ends the connection:
    /// [`ConnEvent::Closed`] follows, for the adapter to close the Engine.IO session after
    /// sending what is queued.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        let nsps: Vec<Nsp> = self.sockets.keys().cloned().collect();
        for nsp in &nsps {
            let packet = self.encoder.disconnect(nsp);
            self.queue(packet, false);
        }
        self.close_all(DisconnectReason::ServerNamespaceDisconnect);
    }
}
