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

use super::{with_encoder, Command, SioSocket, SocketIoServer, TrySendError};
use crate::socketio::socket::{AckError, EmitError};

/// The answers to a broadcast that asked for acks: one entry per socket it reached, in socket
/// id order.
pub type AckResponses = Vec<(SocketId, Result<Packet, AckError>)>;

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

    /// Only this server's sockets (a multi-node backend does not forward it).
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

    /// Emits `event` with `args` (read as in [`super::SioSocket::emit`]: a tuple is the
    /// argument list, any other value one argument) to every socket it reaches: encoded once,
    /// the same bytes handed to each.
    pub async fn emit<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = with_encoder(|e| e.event(&self.nsp, event, args, None))?;
        self.server.broadcast(&self.broadcast(&packet)).await;
        Ok(())
    }

    /// Emits `event` with arguments passed on unparsed.
    pub async fn emit_raw(&self, event: &str, args: &RawArgs) -> Result<(), EmitError> {
        let packet = with_encoder(|e| e.event_raw(&self.nsp, event, args, None))?;
        self.server.broadcast(&self.broadcast(&packet)).await;
        Ok(())
    }

    /// Emits `event` asking every socket it reaches for an ack, and waits until each has
    /// answered, timed out ([`BroadcastOperator::timeout`]) or disconnected.
    pub async fn emit_with_ack<T: ?Sized + Serialize>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<AckResponses, EmitError> {
        let id = self.server.lock().next_ack_id(&self.nsp);
        let packet = with_encoder(|e| e.event(&self.nsp, event, args, Some(id)))?;
        let timeout = self.timeout.unwrap_or(self.server.inner.ack_timeout);
        let broadcast = self.broadcast(&packet).with_ack(id, timeout);
        let waiting = self.server.deliver(&broadcast, true).await;
        let mut answers = Vec::with_capacity(waiting.len());
        for (socket, rx) in waiting {
            let answer = match rx {
                Ok(rx) => rx.await.unwrap_or(Err(AckError::Disconnected)),
                Err(e) => Err(e),
            };
            answers.push((socket, answer));
        }
        Ok(answers)
    }

    /// The sockets it reaches on this server (the reference's `fetchSockets`).
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

    /// Makes the sockets it reaches join `room` (the reference's `socketsJoin`).
    pub fn join(&self, room: impl Into<Room>) {
        let room = room.into();
        let mut server = self.server.lock();
        for (_, s) in server.sockets(&self.nsp, &self.target.rooms, &self.target.except) {
            server.join(&self.nsp, &s, room.clone());
        }
    }

    /// Makes the sockets it reaches leave `room` (the reference's `socketsLeave`).
    pub fn leave(&self, room: impl Into<Room>) {
        let room = room.into();
        let mut server = self.server.lock();
        for (_, s) in server.sockets(&self.nsp, &self.target.rooms, &self.target.except) {
            server.leave(&self.nsp, &s, &room);
        }
    }

    /// Disconnects the sockets it reaches (the reference's `disconnectSockets`).
    pub async fn disconnect(&self) {
        for socket in self.sockets() {
            socket.disconnect().await;
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
