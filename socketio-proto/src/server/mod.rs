//! The server side: a [`Server`] holding what spans connections (namespaces, rooms, ack ids,
//! socket ids, connection state recovery) and one [`ServerConn`] per Engine.IO session.
//!
//! A `ServerConn` decodes the session's messages, keeps the namespace sockets of that session,
//! their pending acks and the connect timeout. Operations that need both sides take both:
//! [`Server::accept`] gives a CONNECT its socket, [`Server::plan`] turns a [`Broadcast`] into a
//! [`Delivery`] and the connections it goes to ([`ServerConn::deliver`]). A connection reports
//! sockets that leave through [`ServerConn::poll_server_update`], for
//! [`Server::handle_update`].

mod conn;
mod query;
mod recovery;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};

pub use conn::{
    AckFailure, ConnEvent, ConnectRequest, DisconnectReason, EmitError, Outgoing, ServerConn,
    ServerUpdate,
};
pub use recovery::RecoveryConfig;

use crate::rooms::{Room, RoomEvent, Rooms, SocketId};
use crate::{AckId, Encoded, Nsp, SocketIoVersion};
use recovery::RecoveryStore;

/// Names one connection (the Engine.IO session id is a good choice).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnId(ByteString);

impl ConnId {
    /// A connection id from text.
    pub fn new(id: impl Into<ByteString>) -> Self {
        ConnId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ConnId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Server settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// How long a connection may stay without any namespace joined before it is closed
    /// (default 45 s, as the reference).
    pub connect_timeout: Duration,
    /// Acks one connection may wait for at once; `emit_with_ack` refuses more (default 4096).
    pub max_pending_acks: usize,
    /// Binary attachments per packet (default 10, the reference's `maxAttachments`).
    pub max_attachments: usize,
    /// Connection state recovery; `None` (the default) disables it.
    pub recovery: Option<RecoveryConfig>,
    /// The wire format of every connection (the default parser unless set).
    pub parser: crate::Parser,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            connect_timeout: Duration::from_secs(45),
            max_pending_acks: 4096,
            max_attachments: 10,
            recovery: None,
            parser: crate::Parser::default(),
        }
    }
}

/// A rule for dynamic namespaces: a name matching it creates the namespace on first connect.
pub enum NspPattern {
    /// A glob: `*` matches any run of characters (`/room-*`).
    Glob(String),
    /// Any predicate over the name.
    Predicate(Box<dyn Fn(&str) -> bool + Send + Sync>),
}

impl fmt::Debug for NspPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NspPattern::Glob(g) => f.debug_tuple("Glob").field(g).finish(),
            NspPattern::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

impl NspPattern {
    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NspPattern::Glob(g) => glob_match(g.as_bytes(), name.as_bytes()),
            NspPattern::Predicate(p) => p(name),
        }
    }
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative with one backtrack point: linear in practice, no recursion on hostile names.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Flags of a broadcast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Dropped for a recipient that cannot take it now (its buffer is full, or it is
    /// upgrading); never stored for recovery.
    pub volatile: bool,
    /// This node only: a multi-node broadcast backend must not forward it.
    pub local: bool,
    /// Whether the transport may compress it.
    pub compress: bool,
}

/// The ack a broadcast asks every recipient for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastAck {
    /// The ack id (from [`Server::next_ack_id`]); the same for every recipient.
    pub id: AckId,
    /// How long each recipient has to answer, in milliseconds.
    pub timeout_ms: u64,
}

/// A broadcast: a packet encoded once, and who gets it.
///
/// A plain value that serializes with serde, so a multi-node broadcast backend (a Redis
/// adapter) can carry it to other servers and [`Server::plan`] it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broadcast {
    /// The namespace.
    pub nsp: String,
    /// Members of any of these rooms get it (every socket of the namespace when empty).
    pub rooms: Vec<Room>,
    /// Members of any of these rooms do not.
    pub except: Vec<Room>,
    /// Flags.
    pub flags: BroadcastFlags,
    /// The ack asked for, if any.
    pub ack: Option<BroadcastAck>,
    /// The packet, encoded once.
    pub packet: Encoded,
}

impl Broadcast {
    /// A broadcast of `packet` to every socket of `nsp`.
    pub fn new(nsp: &Nsp, packet: &Encoded) -> Self {
        Broadcast {
            nsp: nsp.as_str().to_owned(),
            rooms: Vec::new(),
            except: Vec::new(),
            flags: BroadcastFlags::default(),
            ack: None,
            packet: packet.clone(),
        }
    }

    /// Restricts it to members of `room` (several calls add rooms).
    #[must_use]
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        self.rooms.push(room.into());
        self
    }

    /// Leaves out members of `room`.
    #[must_use]
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        self.except.push(room.into());
        self
    }

    /// Marks it volatile.
    #[must_use]
    pub fn volatile(mut self) -> Self {
        self.flags.volatile = true;
        self
    }

    /// Marks it local.
    #[must_use]
    pub fn local(mut self) -> Self {
        self.flags.local = true;
        self
    }

    /// Sets the compress flag.
    #[must_use]
    pub fn compress(mut self, on: bool) -> Self {
        self.flags.compress = on;
        self
    }

    /// Asks every recipient for an ack within `timeout`.
    #[must_use]
    pub fn with_ack(mut self, id: AckId, timeout: Duration) -> Self {
        self.ack = Some(BroadcastAck {
            id,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        });
        self
    }
}

/// What each recipient connection is handed (the same packet bytes for all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The namespace.
    pub nsp: Nsp,
    /// The packet, encoded once (with its recovery offset when stored).
    pub packet: Encoded,
    /// Flags.
    pub flags: BroadcastFlags,
    /// The ack asked for.
    pub ack: Option<BroadcastAck>,
}

/// A planned broadcast: the delivery and the sockets (with their connections) it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What to hand each connection.
    pub delivery: Delivery,
    /// The recipients, sorted by socket id.
    pub targets: Vec<(ConnId, SocketId)>,
}

/// Collects the answers to a broadcast that asked every recipient for an ack (the
/// reference's `timeout(..).emit(.., callback)`): feed it the connections' events; it is
/// complete when every recipient answered or failed (timed out, disconnected).
#[derive(Debug, Clone)]
pub struct AckCollector {
    nsp: Nsp,
    id: AckId,
    waiting: BTreeSet<SocketId>,
    responses: Vec<(SocketId, crate::Packet)>,
    failures: Vec<(SocketId, AckFailure)>,
}

impl AckCollector {
    /// A collector for `plan`'s recipients; `None` when the broadcast asked for no ack.
    /// Recipients that did not take the delivery (volatile, full) should be passed to
    /// [`AckCollector::skip`].
    pub fn new(plan: &Plan) -> Option<Self> {
        let ack = plan.delivery.ack?;
        Some(AckCollector {
            nsp: plan.delivery.nsp.clone(),
            id: ack.id,
            waiting: plan.targets.iter().map(|(_, s)| s.clone()).collect(),
            responses: Vec::new(),
            failures: Vec::new(),
        })
    }

    /// Stops waiting for `socket` (it was not handed the broadcast).
    pub fn skip(&mut self, socket: &SocketId) {
        self.waiting.remove(socket);
    }

    /// Takes the event if it answers this broadcast; returns whether it did.
    pub fn handle(&mut self, event: &ConnEvent) -> bool {
        match event {
            ConnEvent::Ack {
                nsp,
                socket,
                id,
                packet,
            } if *nsp == self.nsp && *id == self.id && self.waiting.remove(socket) => {
                self.responses.push((socket.clone(), packet.clone()));
                true
            }
            ConnEvent::AckFailed {
                nsp,
                socket,
                id,
                reason,
            } if *nsp == self.nsp && *id == self.id && self.waiting.remove(socket) => {
                self.failures.push((socket.clone(), *reason));
                true
            }
            _ => false,
        }
    }

    /// Whether every recipient answered or failed.
    pub fn is_complete(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The answers so far, in arrival order.
    pub fn responses(&self) -> &[(SocketId, crate::Packet)] {
        &self.responses
    }

    /// The recipients that will not answer, and why.
    pub fn failures(&self) -> &[(SocketId, AckFailure)] {
        &self.failures
    }
}

/// Why a CONNECT was accepted the way it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The socket's id.
    pub socket: SocketId,
    /// Whether the socket recovered an earlier session (same id, rooms, and the packets it
    /// missed were replayed before the CONNECT reply).
    pub recovered: bool,
}

#[derive(Debug, Default)]
struct NamespaceState {
    rooms: Rooms,
    /// Socket -> its connection (the same sockets as `rooms` holds: added and removed together).
    conns: BTreeMap<SocketId, ConnId>,
    /// The reference counts ack ids per namespace, shared by its sockets, from 0.
    next_ack: u64,
}

/// The injected source of randomness for socket ids and recovery session ids.
pub type RandomSource = Box<dyn FnMut(&mut [u8]) + Send>;

/// What spans connections: namespaces, rooms, ack ids, socket ids, recovery.
pub struct Server {
    config: Arc<ServerConfig>,
    random: RandomSource,
    static_nsps: BTreeSet<Nsp>,
    patterns: Vec<NspPattern>,
    namespaces: BTreeMap<Nsp, NamespaceState>,
    recovery: Option<RecoveryStore>,
    record_room_events: bool,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("static_nsps", &self.static_nsps)
            .field("patterns", &self.patterns)
            .field("namespaces", &self.namespaces.len())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with `config`, drawing ids from `random`. No namespace exists yet: add `/`
    /// (and others) with [`Server::add_namespace`].
    pub fn new(config: ServerConfig, random: RandomSource) -> Self {
        let recovery = config.recovery.clone().map(RecoveryStore::new);
        Server {
            config: Arc::new(config),
            random,
            static_nsps: BTreeSet::new(),
            patterns: Vec::new(),
            namespaces: BTreeMap::new(),
            recovery,
            record_room_events: false,
        }
    }

    /// The settings (shared with every [`ServerConn`]).
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Declares a namespace.
    pub fn add_namespace(&mut self, nsp: impl Into<Nsp>) {
        let nsp = nsp.into();
        let record = self.record_room_events;
        self.namespaces.entry(nsp.clone()).or_insert_with(|| {
            let mut ns = NamespaceState::default();
            ns.rooms.record_events(record);
            ns
        });
        self.static_nsps.insert(nsp);
    }

    /// Declares dynamic namespaces: any name matching `pattern` is created on first connect.
    pub fn add_dynamic_namespace(&mut self, pattern: NspPattern) {
        self.patterns.push(pattern);
    }

    /// Records room changes ([`Server::poll_room_event`]) from now on.
    pub fn record_room_events(&mut self, on: bool) {
        self.record_room_events = on;
        for ns in self.namespaces.values_mut() {
            ns.rooms.record_events(on);
        }
    }

    /// The next room change of any namespace, or `None`.
    #[must_use]
    pub fn poll_room_event(&mut self) -> Option<(Nsp, RoomEvent)> {
        self.namespaces
            .iter_mut()
            .find_map(|(nsp, ns)| ns.rooms.poll_event().map(|e| (nsp.clone(), e)))
    }

    /// Whether `nsp` exists or matches a dynamic pattern.
    pub fn has_namespace(&self, nsp: &str) -> bool {
        self.namespaces.contains_key(nsp) || self.patterns.iter().any(|p| p.matches(nsp))
    }

    /// The namespaces in use (static, and dynamic ones created by a connect).
    pub fn namespaces(&self) -> impl Iterator<Item = &Nsp> {
        self.namespaces.keys()
    }

    /// Checks a CONNECT against the namespaces: an unknown one is refused on the spot
    /// (CONNECT_ERROR `{"message":"Invalid namespace"}`) and `None` returned; otherwise the
    /// request comes back for the application (middlewares) to accept or reject.
    pub fn resolve(
        &mut self,
        conn: &mut ServerConn,
        req: ConnectRequest,
    ) -> Option<ConnectRequest> {
        if self.has_namespace(req.nsp().as_str()) {
            Some(req)
        } else {
            conn.reject_invalid_namespace(req);
            None
        }
    }

    /// Whether accepting `req` now would recover an earlier session (the application may skip
    /// its middlewares then, as the reference does by default).
    pub fn can_recover(&self, now: Instant, req: &ConnectRequest) -> bool {
        match (&self.recovery, req.recovery_claim()) {
            (Some(store), Some((pid, offset))) => store.can_restore(now, req.nsp(), pid, offset),
            _ => false,
        }
    }

    /// Accepts a CONNECT: the socket gets its id (or its old one, with its rooms, when it
    /// recovers), the packets it missed are replayed and the CONNECT reply goes out.
    pub fn accept(&mut self, now: Instant, conn: &mut ServerConn, req: ConnectRequest) -> Accepted {
        let nsp = req.nsp().clone();
        let record = self.record_room_events;
        let restored = match (&mut self.recovery, req.recovery_claim()) {
            (Some(store), Some((pid, offset))) => store.restore(now, &nsp, pid, offset),
            _ => None,
        };
        let (socket, pid, recovered) = match restored {
            Some(r) => (r.socket, Some(r.pid), Some((r.rooms, r.replay))),
            None => {
                let socket = match conn.version() {
                    // v4: the ids both sides derive: the Engine.IO sid, `/nsp#sid` elsewhere.
                    SocketIoVersion::V4 if nsp.is_main() => SocketId::new(conn.id().as_str()),
                    SocketIoVersion::V4 => {
                        SocketId::new(format!("{}#{}", nsp.as_str(), conn.id().as_str()))
                    }
                    SocketIoVersion::V5 => SocketId::new(self.random_id()),
                };
                let pid = self.recovery.is_some().then(|| self.random_id());
                (socket, pid, None)
            }
        };
        let ns = self.namespaces.entry(nsp.clone()).or_insert_with(|| {
            let mut ns = NamespaceState::default();
            ns.rooms.record_events(record);
            ns
        });
        ns.rooms.add_socket(&socket);
        ns.conns.insert(socket.clone(), conn.id().clone());
        let (replay, was_recovered) = match recovered {
            Some((rooms, replay)) => {
                for room in rooms {
                    ns.rooms.join(&socket, room);
                }
                (replay, true)
            }
            None => (Vec::new(), false),
        };
        conn.accepted(now, req, socket.clone(), pid, replay);
        Accepted {
            socket,
            recovered: was_recovered,
        }
    }

    /// A fresh id: 15 random bytes as 20 characters of base64url.
    fn random_id(&mut self) -> String {
        let mut bytes = [0u8; 15];
        (self.random)(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The next ack id of `nsp` (one counter per namespace, shared by its sockets, as the
    /// reference counts).
    pub fn next_ack_id(&mut self, nsp: &Nsp) -> AckId {
        let ns = self.namespaces.entry(nsp.clone()).or_default();
        let id = AckId(ns.next_ack);
        ns.next_ack += 1;
        id
    }

    /// Joins `socket` of `nsp` to `room`.
    pub fn join(&mut self, nsp: &Nsp, socket: &SocketId, room: impl Into<Room>) {
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            if ns.rooms.contains_socket(socket) {
                ns.rooms.join(socket, room.into());
            }
        }
    }

    /// Removes `socket` of `nsp` from `room`.
    pub fn leave(&mut self, nsp: &Nsp, socket: &SocketId, room: &Room) {
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            ns.rooms.leave(socket, room);
        }
    }

    /// The rooms index of `nsp`.
    pub fn rooms(&self, nsp: &Nsp) -> Option<&Rooms> {
        self.namespaces.get(nsp).map(|ns| &ns.rooms)
    }

    /// The sockets of `nsp` a broadcast to `rooms` except `except` reaches, with their
    /// connections (the reference's `fetchSockets`).
    pub fn sockets(&self, nsp: &Nsp, rooms: &[Room], except: &[Room]) -> Vec<(ConnId, SocketId)> {
        let Some(ns) = self.namespaces.get(nsp) else {
            return Vec::new();
        };
        if rooms.is_empty() {
            // Every socket of the namespace: its connection table holds them all, in the
            // order of the room index, and no socket needs looking up.
            return ns
                .conns
                .iter()
                .filter(|(s, _)| !ns.rooms.in_any(s, except))
                .map(|(s, c)| (c.clone(), s.clone()))
                .collect();
        }
        ns.rooms
            .targets(rooms, except)
            .into_iter()
            .filter_map(|s| Some((ns.conns.get(&s)?.clone(), s)))
            .collect()
    }

    /// Plans a broadcast: the delivery to hand each recipient connection
    /// ([`ServerConn::deliver`]) and the recipients. With recovery enabled, an event without
    /// ack that is not volatile gets its offset as last argument and is stored for replay.
    pub fn plan(&mut self, now: Instant, broadcast: &Broadcast) -> Plan {
        let nsp = Nsp::from(broadcast.nsp.as_str());
        let mut packet = broadcast.packet.clone();
        let storable = broadcast.ack.is_none() && !broadcast.flags.volatile && packet.is_event();
        if let (Some(store), true) = (&mut self.recovery, storable) {
            let offset = store.next_offset();
            if let Some(with) = packet.with_last_arg(&offset) {
                packet = with;
                store.push(
                    now,
                    &nsp,
                    offset,
                    &broadcast.rooms,
                    &broadcast.except,
                    &packet,
                );
            }
        }
        let targets = self.sockets(&nsp, &broadcast.rooms, &broadcast.except);
        Plan {
            delivery: Delivery {
                nsp,
                packet,
                flags: broadcast.flags,
                ack: broadcast.ack,
            },
            targets,
        }
    }

    /// Applies a connection's news (from [`ServerConn::poll_server_update`]): a socket that
    /// left is removed from its rooms, and its session kept for recovery when the reason
    /// allows it.
    pub fn handle_update(&mut self, now: Instant, update: ServerUpdate) {
        let ServerUpdate::Left {
            nsp,
            socket,
            pid,
            reason,
        } = update;
        let Some(ns) = self.namespaces.get_mut(&nsp) else {
            return;
        };
        let rooms = ns.rooms.remove_socket(&socket);
        ns.conns.remove(&socket);
        if let (Some(store), Some(pid)) = (&mut self.recovery, pid) {
            if reason.keeps_session() {
                store.save(now, &nsp, pid, socket, rooms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob_match(b"/room-*", b"/room-42"));
        assert!(glob_match(b"/room-*", b"/room-"));
        assert!(!glob_match(b"/room-*", b"/roo"));
        assert!(glob_match(b"/*/x*", b"/a/b/xyz"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"/a", b"/ab"));
        assert!(glob_match(&[b'*'; 64], &[b'a'; 4096]));
    }
}
