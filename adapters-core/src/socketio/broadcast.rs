//! Broadcasts built the reference's way: `io.of(nsp).to(room).except(room).volatile()
//! .timeout(..).emit(..)`, with ack collection, and the operations on the sockets they reach.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_channel::oneshot;
use serde::Serialize;
use socketio_proto::rooms::{Room, SocketId};
use socketio_proto::server::Broadcast;
use socketio_proto::{Encoded, Nsp, Packet, RawArgs};

use socketio_cluster_proto::convert;
use socketio_cluster_proto::node::{Answers, Operation};
use socketio_cluster_proto::{BroadcastPacket, RoomsOpts};

use super::fleet::{cluster_opts, AckResponses, FetchedSockets, FleetError};
use super::{with_encoder, Command, SioSocket, SocketIoServer, TrySendError};
use crate::socketio::socket::{AckError, EmitError};

/// Who a broadcast goes to and how: made by [`SocketIoServer::of`], [`SocketIoServer::to`] or
/// [`SioSocket::to`]/[`SioSocket::broadcast`]; every method returns the narrowed operator.
#[derive(Clone)]
pub struct BroadcastOperator {
    server: SocketIoServer,
    nsp: Nsp,
    /// Rooms and flags, kept by the machines' own [`Broadcast`] (its packet is filled in by
    /// each emit).
    target: Broadcast,
    timeout: Option<Duration>,
}

impl fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("nsp", &self.nsp)
            .field("rooms", &self.target.rooms)
            .field("except", &self.target.except)
            .field("flags", &self.target.flags)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BroadcastOperator {
    pub(super) fn new(server: SocketIoServer, nsp: Nsp) -> Self {
        let empty = Encoded::from_parts(Default::default(), Vec::new());
        BroadcastOperator {
            server,
            target: Broadcast::new(&nsp, &empty),
            nsp,
            timeout: None,
        }
    }

    /// Only members of `room` (several calls: members of any of them).
    #[must_use]
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        self.target = self.target.to(room);
        self
    }

    /// Not the members of `room` (a socket id leaves out that socket).
    #[must_use]
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        self.target = self.target.except(room);
        self
    }

    /// Dropped for a socket whose transport cannot take it at once (and never stored for
    /// recovery).
    #[must_use]
    pub fn volatile(mut self) -> Self {
        self.target = self.target.volatile();
        self
    }

    /// Only this server's sockets (a fleet's adapter does not forward it).
    #[must_use]
    pub fn local(mut self) -> Self {
        self.target = self.target.local();
        self
    }

    /// How long each socket has to answer [`BroadcastOperator::emit_with_ack`] (default: the
    /// server's ack timeout).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn broadcast(&self, packet: &Encoded) -> Broadcast {
        Broadcast {
            packet: packet.clone(),
            ..self.target.clone()
        }
    }

    /// The fleet's adapter when this broadcast goes to the other nodes too.
    fn fleet(&self) -> Option<&Arc<dyn super::Adapter>> {
        self.server.adapter().filter(|_| !self.target.flags.local)
    }

    /// Hands `packet` to this node's recipients and, in a fleet, publishes it.
    async fn send(&self, packet: &socketio_proto::Encoded) -> Result<(), EmitError> {
        let b = self.broadcast(packet);
        self.server.broadcast(&b).await;
        if let Some(adapter) = self.fleet() {
            let data = convert::event_data(packet).map_err(|_| EmitError::Closed)?;
            adapter.broadcast(
                self.nsp.as_str(),
                BroadcastPacket::event(self.nsp.as_str(), data),
                cluster_opts(&b, None),
            );
        }
        Ok(())
    }

    /// Emits `event` with `args` (read as in [`super::SioSocket::emit`]: a tuple is the
    /// argument list, any other value one argument) to every socket it reaches: encoded once,
    /// the same bytes handed to each; in a fleet, published for the other nodes' sockets
    /// (unless [`BroadcastOperator::local`]).
    pub async fn emit<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = with_encoder(self.server.inner.parser, |e| {
            e.event(&self.nsp, event, args, None)
        })?;
        self.send(&packet).await
    }

    /// Emits `event` with arguments passed on unparsed.
    pub async fn emit_raw(&self, event: &str, args: &RawArgs) -> Result<(), EmitError> {
        let packet = with_encoder(self.server.inner.parser, |e| {
            e.event_raw(&self.nsp, event, args, None)
        })?;
        self.send(&packet).await
    }

    /// Emits `event` asking every socket it reaches for an ack, and waits until each has
    /// answered, timed out ([`BroadcastOperator::timeout`]) or disconnected; in a fleet, the
    /// other nodes' sockets too (each node reports how many sockets it reached, then their
    /// acks; the wait ends when all came or at the timeout).
    pub async fn emit_with_ack<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<AckResponses, EmitError> {
        let id = self.server.lock().next_ack_id(&self.nsp);
        let packet = with_encoder(self.server.inner.parser, |e| {
            e.event(&self.nsp, event, args, Some(id))
        })?;
        self.send_with_ack(id, packet).await
    }

    /// [`BroadcastOperator::emit_with_ack`] with arguments passed on unparsed.
    pub async fn emit_with_ack_raw(
        &self,
        event: &str,
        args: &RawArgs,
    ) -> Result<AckResponses, EmitError> {
        let id = self.server.lock().next_ack_id(&self.nsp);
        let packet = with_encoder(self.server.inner.parser, |e| {
            e.event_raw(&self.nsp, event, args, Some(id))
        })?;
        self.send_with_ack(id, packet).await
    }

    async fn send_with_ack(
        &self,
        id: socketio_proto::AckId,
        packet: socketio_proto::Encoded,
    ) -> Result<AckResponses, EmitError> {
        let timeout = self.timeout.unwrap_or(self.server.inner.ack_timeout);
        let broadcast = self.broadcast(&packet).with_ack(id, timeout);
        // The request goes out first (as the reference's), so that the other nodes' clocks
        // start with ours.
        let remote = match self.fleet() {
            Some(adapter) => {
                let data = convert::event_data(&packet).map_err(|_| EmitError::Closed)?;
                adapter.request(
                    self.nsp.as_str(),
                    Operation::BroadcastWithAck {
                        packet: BroadcastPacket::event(self.nsp.as_str(), data),
                        opts: cluster_opts(&broadcast, Some(timeout)),
                    },
                    None,
                )
            }
            None => None,
        };
        let waiting = self.server.deliver(&broadcast, true).await;
        let mut local = Vec::with_capacity(waiting.len());
        for (socket, rx) in waiting {
            let answer = match rx {
                Ok(rx) => rx.await.unwrap_or(Err(AckError::Disconnected)),
                Err(e) => Err(e),
            };
            local.push((socket, answer));
        }
        let mut responses = AckResponses {
            local,
            remote: Vec::new(),
            result: Ok(()),
        };
        if let Some(remote) = remote {
            let got = remote.await;
            if let Answers::BroadcastAcks { acks, .. } = &got.answers {
                responses.remote = acks
                    .iter()
                    .filter_map(|v| convert::ack_packet(&self.nsp, v).ok())
                    .collect();
            }
            responses.result = got.result;
        }
        if responses
            .local
            .iter()
            .any(|(_, r)| matches!(r, Err(AckError::Timeout)))
            && responses.result.is_ok()
        {
            responses.result = Err(FleetError::Request(
                socketio_cluster_proto::node::RequestFailure::Timeout {
                    received: responses.answers().count() as u64,
                    expected: (responses.local.len() + responses.remote.len()) as u64,
                },
            ));
        }
        Ok(responses)
    }

    fn rooms_opts(&self) -> RoomsOpts {
        RoomsOpts {
            rooms: self
                .target
                .rooms
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            except: self
                .target
                .except
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        }
    }

    /// The sockets it reaches on every node of the fleet (the reference's `fetchSockets`):
    /// this node's as handles, the others' as descriptions; waits for every other node (at
    /// most [`BroadcastOperator::timeout`], by default the adapter's request timeout).
    pub async fn fetch_sockets(&self) -> FetchedSockets {
        let local = self.sockets();
        let mut fetched = FetchedSockets {
            local,
            remote: Vec::new(),
            result: Ok(()),
        };
        if self.fleet().is_some() {
            let op = Operation::FetchSockets(self.rooms_opts());
            let asked = self.server.ask(self.nsp.as_str(), op, self.timeout).await;
            if let Some((answers, result)) = asked {
                if let Answers::Sockets(remote) = answers {
                    fetched.remote = remote;
                }
                fetched.result = result;
            }
        }
        fetched
    }

    /// The sockets it reaches on this server only.
    pub fn sockets(&self) -> Vec<SioSocket> {
        let ids = self
            .server
            .lock()
            .sockets(&self.nsp, &self.target.rooms, &self.target.except);
        let registry = self.server.registry();
        ids.into_iter()
            .filter_map(|(_, s)| registry.get(&(self.nsp.clone(), s)).cloned())
            .collect()
    }

    /// Makes the sockets it reaches join `room` (the reference's `socketsJoin`): this node's
    /// at once, then, in a fleet, the other nodes' (published, not waited for).
    pub fn join(&self, room: impl Into<Room>) {
        self.join_leave(true, room.into());
    }

    /// Makes the sockets it reaches leave `room` (the reference's `socketsLeave`).
    pub fn leave(&self, room: impl Into<Room>) {
        self.join_leave(false, room.into());
    }

    fn join_leave(&self, join: bool, room: Room) {
        let opts = self.rooms_opts();
        let rooms = vec![room.as_str().to_owned()];
        self.server.join_leave_local(&self.nsp, &opts, join, &rooms);
        if let Some(adapter) = self.fleet() {
            let op = Operation::JoinLeave { join, opts, rooms };
            let _ = adapter.request(self.nsp.as_str(), op, None);
        }
    }

    /// Disconnects the sockets it reaches (the reference's `disconnectSockets()`): this
    /// node's, then in a fleet the other nodes' (published, not waited for).
    pub async fn disconnect(&self) {
        self.disconnect_sockets(false).await;
    }

    /// Disconnects the sockets it reaches; `close`: their connections too (the reference's
    /// `disconnectSockets(true)`).
    pub async fn disconnect_sockets(&self, close: bool) {
        for socket in self.sockets() {
            if close {
                socket.close_connection().await;
            } else {
                socket.disconnect().await;
            }
        }
        if let Some(adapter) = self.fleet() {
            let opts = self.rooms_opts();
            let op = Operation::Disconnect { opts, close };
            let _ = adapter.request(self.nsp.as_str(), op, None);
        }
    }
}

/// Each recipient's ack waiter, or why it was not handed the packet.
pub(super) type Waiting = Vec<(
    SocketId,
    Result<oneshot::Receiver<Result<Packet, AckError>>, AckError>,
)>;

impl SocketIoServer {
    /// A broadcast to every socket of namespace `nsp` (the reference's `io.of(nsp)`).
    pub fn of(&self, nsp: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone(), Nsp::from(nsp))
    }

    /// A broadcast to the members of `room` in namespace `/` (the reference's `io.to(room)`).
    pub fn to(&self, room: impl Into<Room>) -> BroadcastOperator {
        self.of("/").to(room)
    }

    /// Hands `broadcast` to the connections of its recipients; with `acks`, one waiter per
    /// recipient. A volatile broadcast never waits for a busy connection.
    pub(super) async fn deliver(&self, broadcast: &Broadcast, acks: bool) -> Waiting {
        let now = self.inner.runtime.now();
        let plan = self.lock().plan(now, broadcast);
        // One delivery shared by every recipient (a reference count each, no copy).
        let delivery = Arc::new(plan.delivery);
        let mut waiting: Waiting = Vec::with_capacity(if acks { plan.targets.len() } else { 0 });
        // Connections whose queue is full, to wait for outside the lock (not for a volatile
        // broadcast): their place in `waiting`, their sender, the command and its waiter.
        let mut full = Vec::new();
        {
            let map = self.conns();
            for (c, socket) in plan.targets {
                let Some(conn) = map.get(&c) else {
                    if acks {
                        waiting.push((socket, Err(AckError::Disconnected)));
                    }
                    continue;
                };
                let (tx, rx) = if acks {
                    let (tx, rx) = oneshot::channel();
                    (Some(tx), Some(rx))
                } else {
                    (None, None)
                };
                let result = match conn.try_send(Command::Deliver(delivery.clone(), tx)) {
                    Ok(()) => Ok(()),
                    Err(TrySendError::Full(command)) if !broadcast.flags.volatile => {
                        full.push((waiting.len(), conn.clone(), command));
                        Ok(())
                    }
                    Err(TrySendError::Full(_)) => Err(AckError::NotSent),
                    Err(TrySendError::Closed) => Err(AckError::Disconnected),
                };
                if let Some(rx) = rx {
                    waiting.push((socket, result.map(|()| rx)));
                }
            }
        }
        for (at, conn, command) in full {
            let sent = conn.send(command).await;
            if let (Err(_), Some(entry)) = (sent, waiting.get_mut(at).filter(|_| acks)) {
                entry.1 = Err(AckError::Disconnected);
            }
        }
        waiting
    }
}
