//! The server's seam to the other nodes of a fleet: an [`Adapter`] (the Redis one in
//! `socketio-redis`) carries broadcasts and requests to the other servers and hands theirs to
//! this one ([`SocketIoServer::apply_broadcast`], [`SocketIoServer::apply_request`]). Without
//! one the server is alone: every operation is local (the reference's in-memory adapter).

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_channel::oneshot;
use serde_json::Value as Json;
use socketio_cluster_proto::convert;
use socketio_cluster_proto::node::{Answers, Operation, RequestFailure};
use socketio_cluster_proto::{
    Broadcast as ClusterBroadcast, BroadcastOpts, BroadcastPacket, MsgValue, RemoteSocket, Request,
    Response, RoomsOpts,
};
use socketio_proto::rooms::{Room, SocketId};
use socketio_proto::server::Broadcast;
use socketio_proto::{Nsp, Packet};

use super::{lock, SioSocket, SocketIoServer};
use crate::socketio::socket::AckError;

/// What a request to the other nodes gives back.
pub type FleetFuture = Pin<Box<dyn Future<Output = FleetAnswers> + Send>>;

/// The other nodes' answers to a request, and whether every expected answer came.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetAnswers {
    /// What came.
    pub answers: Answers,
    /// `Ok` when every node answered in time.
    pub result: Result<(), FleetError>,
}

/// Why the fleet's part of an operation is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The request ended without every answer (timeout, limits).
    #[error(transparent)]
    Request(#[from] RequestFailure),
    /// The adapter could not reach the other nodes (the message broker is down).
    #[error("the fleet is unreachable: {0}")]
    Unavailable(String),
}

/// A link to the other nodes of a fleet, installed with
/// [`super::SocketIoBuilder::adapter`]. Implementations publish what the server hands them and
/// feed what the other nodes send to [`SocketIoServer::apply_broadcast`] and
/// [`SocketIoServer::apply_request`], in the order it arrived.
///
/// Its methods are called with the server's operations in order and must not block: what
/// they publish is queued in call order (a join published before a fetch reaches every node
/// before it).
pub trait Adapter: Send + Sync + fmt::Debug + 'static {
    /// The server it serves, once, when the server is built.
    fn attach(&self, server: super::WeakSocketIoServer);
    /// Namespace `nsp` exists on this node (declared, or a dynamic one's first socket):
    /// listen to the fleet's messages for it. Called again for known namespaces.
    fn add_namespace(&self, nsp: &str);
    /// Publishes a broadcast this node already delivered to its own sockets.
    fn broadcast(&self, nsp: &str, packet: BroadcastPacket, opts: BroadcastOpts);
    /// Asks the other nodes: queued before it returns; the future (for operations with
    /// answers) ends when they answered or the request timed out (after `timeout`, or the
    /// adapter's default; a broadcast with acks carries its own in its `timeout` flag).
    fn request(&self, nsp: &str, op: Operation, timeout: Option<Duration>) -> Option<FleetFuture>;
    /// Whether it follows rooms being created and deleted (the sharded adapter's dynamic
    /// channels). Off by default: the server records no room changes.
    fn wants_room_events(&self) -> bool {
        false
    }
    /// Room `room` of `nsp` got its first member on this node (`is_socket`: a socket's own
    /// room). Called outside the server's locks.
    fn room_created(&self, _nsp: &str, _room: &str, _is_socket: bool) {}
    /// Room `room` of `nsp` lost its last member on this node.
    fn room_deleted(&self, _nsp: &str, _room: &str) {}
}

/// The sockets of a fleet that match a [`super::BroadcastOperator`]
/// ([`super::BroadcastOperator::fetch_sockets`]).
#[derive(Debug, Clone)]
pub struct FetchedSockets {
    /// This node's.
    pub local: Vec<SioSocket>,
    /// The other nodes' (as the reference's `RemoteSocket`: id, handshake, rooms, data).
    pub remote: Vec<RemoteSocket>,
    /// `Ok` when every node answered.
    pub result: Result<(), FleetError>,
}

impl FetchedSockets {
    /// Every socket as the fleet describes it (this node's in the same form), by id.
    pub fn all(&self) -> Vec<RemoteSocket> {
        let mut all: Vec<RemoteSocket> = self.local.iter().map(SioSocket::describe).collect();
        all.extend(self.remote.iter().cloned());
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }
}

/// The answers to a broadcast that asked for acks, from every node's sockets
/// ([`super::BroadcastOperator::emit_with_ack`]).
#[derive(Debug, Clone)]
pub struct AckResponses {
    /// This node's sockets: one entry per socket reached, in socket id order.
    pub local: Vec<(SocketId, Result<Packet, AckError>)>,
    /// The other nodes' sockets' acks (each an ACK packet with the client's first argument,
    /// as the reference forwards them), in arrival order.
    pub remote: Vec<Packet>,
    /// `Ok` when every node reported and every socket it reached answered in time.
    pub result: Result<(), FleetError>,
}

impl AckResponses {
    /// Every answer that came, local ones first.
    pub fn answers(&self) -> impl Iterator<Item = &Packet> {
        self.local
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .chain(self.remote.iter())
    }
}

/// The answers to a server-side emit with acks: one per other node.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSideAcks {
    /// Each node's answer (the first argument of its ack), in arrival order.
    pub answers: Vec<Json>,
    /// `Ok` when every other node answered in time.
    pub result: Result<(), FleetError>,
}

/// Answers another node's server-side emit: the first call sends its first argument, as in
/// the reference; later calls and a dropped sender send nothing.
pub struct FleetAck {
    tx: Option<oneshot::Sender<Json>>,
}

impl fmt::Debug for FleetAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetAck").finish_non_exhaustive()
    }
}

impl FleetAck {
    /// Sends the answer.
    pub fn send(mut self, answer: Json) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(answer);
        }
    }
}

/// A handler of server-side emits from the other nodes: the arguments after the event name,
/// and the ack when the sender waits for one.
pub type ServerSideHandler = Arc<
    dyn Fn(Vec<Json>, Option<FleetAck>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// Sends one answer to a request of another node.
pub type Responder = Arc<dyn Fn(Response) + Send + Sync>;

fn strings(rooms: &[Room]) -> Vec<String> {
    rooms.iter().map(|r| r.as_str().to_owned()).collect()
}

fn rooms_of(names: &[String]) -> Vec<Room> {
    names.iter().map(|r| Room::from(r.as_str())).collect()
}

/// The flags the reference publishes for a broadcast: only those set.
pub(super) fn cluster_opts(target: &Broadcast, timeout: Option<Duration>) -> BroadcastOpts {
    let mut flags = Vec::new();
    if target.flags.volatile {
        flags.push(("volatile".to_owned(), MsgValue::Boolean(true)));
    }
    if let Some(t) = timeout {
        let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
        flags.push(("timeout".to_owned(), MsgValue::from(ms)));
    }
    BroadcastOpts {
        rooms: strings(&target.rooms),
        except: strings(&target.except),
        flags,
    }
}

fn fleet_answers(result: Option<FleetAnswers>) -> (Answers, Result<(), FleetError>) {
    match result {
        Some(a) => (a.answers, a.result),
        None => (
            Answers::Sockets(Vec::new()),
            Err(FleetError::Unavailable(
                "the adapter dropped the request".into(),
            )),
        ),
    }
}

impl SocketIoServer {
    /// The fleet adapter, if one is installed.
    pub fn adapter(&self) -> Option<&Arc<dyn Adapter>> {
        self.inner.adapter.as_ref()
    }

    pub(super) async fn ask(
        &self,
        nsp: &str,
        op: Operation,
        timeout: Option<Duration>,
    ) -> Option<(Answers, Result<(), FleetError>)> {
        let fut = self.adapter()?.request(nsp, op, timeout)?;
        Some(fleet_answers(Some(fut.await)))
    }

    /// Every room of namespace `nsp` on every node (the reference's `allRooms()`), sorted;
    /// with whether every node answered.
    pub async fn all_rooms(&self, nsp: &str) -> (BTreeSet<String>, Result<(), FleetError>) {
        let mut rooms: BTreeSet<String> = self
            .lock()
            .rooms(&Nsp::from(nsp))
            .map(|r| r.room_names().map(|r| r.as_str().to_owned()).collect())
            .unwrap_or_default();
        let mut result = Ok(());
        if let Some((answers, r)) = self.ask(nsp, Operation::AllRooms, None).await {
            if let Answers::Rooms(more) = answers {
                rooms.extend(more);
            }
            result = r;
        }
        (rooms, result)
    }

    /// Sends `event` with `args` to the other nodes' server-side handlers
    /// ([`SocketIoServer::on_server_side_emit`]) of namespace `nsp`; this node's are not
    /// called (as in the reference).
    pub fn server_side_emit(&self, nsp: &str, event: &str, args: Vec<Json>) {
        if let Some(adapter) = self.adapter() {
            let mut data = vec![Json::String(event.to_owned())];
            data.extend(args);
            let _ = adapter.request(nsp, Operation::ServerSideEmit { data, ack: false }, None);
        }
    }

    /// Like [`SocketIoServer::server_side_emit`], waiting for each other node's answer (at
    /// most `timeout`, by default the adapter's request timeout).
    pub async fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<Json>,
        timeout: Option<Duration>,
    ) -> ServerSideAcks {
        let mut data = vec![Json::String(event.to_owned())];
        data.extend(args);
        let op = Operation::ServerSideEmit { data, ack: true };
        match self.ask(nsp, op, timeout).await {
            Some((Answers::ServerSideEmit(answers), result)) => ServerSideAcks { answers, result },
            Some((_, result)) => ServerSideAcks {
                answers: Vec::new(),
                result,
            },
            None => ServerSideAcks {
                answers: Vec::new(),
                result: Ok(()),
            },
        }
    }

    /// Handles server-side emits of `event` from the other nodes on namespace `nsp` (the
    /// reference's `io.of(nsp).on(event, ...)` for `serverSideEmit`). Replaces an earlier
    /// handler of the same event.
    pub fn on_server_side_emit<F, Fut>(&self, nsp: &str, event: &str, handler: F)
    where
        F: Fn(Vec<Json>, Option<FleetAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ServerSideHandler = Arc::new(move |args, ack| Box::pin(handler(args, ack)));
        lock(&self.inner.server_side).insert((nsp.to_owned(), event.to_owned()), handler);
    }

    /// Delivers another node's broadcast to this node's sockets.
    pub async fn apply_broadcast(&self, broadcast: &ClusterBroadcast) {
        let nsp = Nsp::from(broadcast.packet.nsp());
        let packet = match convert::encode_event(&nsp, &broadcast.packet.data, None)
            .map_err(|e| e.to_string())
            .and_then(|p| p.transcode(self.inner.parser).map_err(|e| e.to_string()))
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "a fleet broadcast that is no event: dropped");
                return;
            }
        };
        let mut target = Broadcast::new(&nsp, &packet).local();
        target.rooms = rooms_of(&broadcast.opts.rooms);
        target.except = rooms_of(&broadcast.opts.except);
        target.flags.volatile = broadcast.opts.flag("volatile") == Some(&MsgValue::Boolean(true));
        self.deliver(&target, false).await;
    }

    /// This node's sockets of `nsp` that match `opts`.
    fn matching(&self, nsp: &Nsp, opts: &RoomsOpts) -> Vec<SioSocket> {
        let ids = self
            .lock()
            .sockets(nsp, &rooms_of(&opts.rooms), &rooms_of(&opts.except));
        let registry = self.registry();
        ids.into_iter()
            .filter_map(|(_, s)| registry.get(&(nsp.clone(), s)).cloned())
            .collect()
    }

    /// Applies another node's request to this node's sockets and answers it through
    /// `respond` when it has an id (a broadcast with acks: its client count, then each ack as
    /// it comes, from a task of its own). Returns once the local part is applied.
    pub async fn apply_request(&self, nsp: &str, request: Request, respond: Responder) {
        let ns = Nsp::from(nsp);
        match request {
            Request::Sockets {
                request_id, rooms, ..
            } => {
                let opts = RoomsOpts {
                    rooms,
                    except: Vec::new(),
                };
                let sockets = self
                    .matching(&ns, &opts)
                    .iter()
                    .map(|s| s.id().as_str().to_owned())
                    .collect();
                respond(Response::SocketIds {
                    request_id,
                    sockets,
                });
            }
            Request::AllRooms { request_id, .. } => {
                let rooms = self
                    .lock()
                    .rooms(&ns)
                    .map(|r| r.room_names().map(|r| r.as_str().to_owned()).collect())
                    .unwrap_or_default();
                respond(Response::Rooms { request_id, rooms });
            }
            Request::RemoteJoinLeave {
                join, opts, rooms, ..
            } => self.join_leave_local(&ns, &opts, join, &rooms),
            Request::RemoteDisconnect { opts, close, .. } => {
                for s in self.matching(&ns, &opts) {
                    if close {
                        s.close_connection().await;
                    } else {
                        s.disconnect().await;
                    }
                }
            }
            Request::Legacy {
                kind,
                request_id,
                sid,
                room,
                close,
                ..
            } => {
                let socket = self
                    .registry()
                    .get(&(ns.clone(), SocketId::new(sid)))
                    .cloned();
                if let Some(s) = socket {
                    match (kind, room) {
                        (2, Some(r)) => s.join(r.as_str()),
                        (3, Some(r)) => s.leave(r.as_str()),
                        (4, _) if close => s.close_connection().await,
                        (4, _) => s.disconnect().await,
                        _ => {}
                    }
                }
                respond(Response::Done { request_id });
            }
            Request::RemoteFetch {
                request_id, opts, ..
            } => {
                let sockets = self
                    .matching(&ns, &opts)
                    .iter()
                    .map(SioSocket::describe)
                    .collect();
                respond(Response::Sockets {
                    request_id,
                    sockets,
                });
            }
            Request::ServerSideEmit {
                request_id, data, ..
            } => self.server_side_local(nsp, request_id, data, respond),
            Request::BroadcastWithAck {
                request_id,
                packet,
                opts,
                ..
            } => {
                self.broadcast_with_ack_local(&ns, request_id, &packet, &opts, respond)
                    .await
            }
            _ => {}
        }
    }

    pub(super) fn join_leave_local(
        &self,
        nsp: &Nsp,
        opts: &RoomsOpts,
        join: bool,
        rooms: &[String],
    ) {
        let ids = self
            .lock()
            .sockets(nsp, &rooms_of(&opts.rooms), &rooms_of(&opts.except));
        let mut server = self.lock();
        for (_, s) in ids {
            for room in rooms {
                if join {
                    server.join(nsp, &s, Room::from(room.as_str()));
                } else {
                    server.leave(nsp, &s, &Room::from(room.as_str()));
                }
            }
        }
    }

    fn server_side_local(
        &self,
        nsp: &str,
        request_id: Option<String>,
        data: Vec<Json>,
        respond: Responder,
    ) {
        let mut data = data.into_iter();
        let Some(Json::String(event)) = data.next() else {
            return;
        };
        let handler = lock(&self.inner.server_side)
            .get(&(nsp.to_owned(), event))
            .cloned();
        let Some(handler) = handler else {
            return;
        };
        let args: Vec<Json> = data.collect();
        let Some(request_id) = request_id else {
            self.inner.runtime.spawn(handler(args, None));
            return;
        };
        let (tx, rx) = oneshot::channel();
        let run = handler(args, Some(FleetAck { tx: Some(tx) }));
        self.inner.runtime.spawn(Box::pin(async move {
            run.await;
        }));
        self.inner.runtime.spawn(Box::pin(async move {
            if let Ok(answer) = rx.await {
                respond(Response::ServerSideEmit {
                    request_id,
                    data: answer,
                });
            }
        }));
    }

    async fn broadcast_with_ack_local(
        &self,
        nsp: &Nsp,
        request_id: String,
        packet: &BroadcastPacket,
        opts: &BroadcastOpts,
        respond: Responder,
    ) {
        let timeout = opts
            .flag("timeout")
            .and_then(MsgValue::as_u64)
            .map_or(self.inner.ack_timeout, Duration::from_millis);
        let id = self.lock().next_ack_id(nsp);
        let encoded = convert::encode_event(nsp, &packet.data, Some(id))
            .ok()
            .and_then(|p| p.transcode(self.inner.parser).ok());
        let Some(encoded) = encoded else {
            respond(Response::BroadcastClientCount {
                request_id,
                client_count: 0,
            });
            return;
        };
        let mut target = Broadcast::new(nsp, &encoded).local().with_ack(id, timeout);
        target.rooms = rooms_of(&opts.rooms);
        target.except = rooms_of(&opts.except);
        target.flags.volatile = opts.flag("volatile") == Some(&MsgValue::Boolean(true));
        let waiting = self.deliver(&target, true).await;
        let reached: Vec<_> = waiting.into_iter().filter_map(|(_, r)| r.ok()).collect();
        respond(Response::BroadcastClientCount {
            request_id: request_id.clone(),
            client_count: reached.len() as u64,
        });
        for rx in reached {
            let respond = respond.clone();
            let request_id = request_id.clone();
            self.inner.runtime.spawn(Box::pin(async move {
                if let Ok(Ok(packet)) = rx.await {
                    respond(Response::BroadcastAck {
                        request_id,
                        packet: convert::ack_value(&packet),
                    });
                }
            }));
        }
    }
}

impl SioSocket {
    /// This socket as the fleet describes it (the reference's `RemoteSocket`): id, handshake,
    /// rooms (its own id's included, sorted), data.
    pub fn describe(&self) -> RemoteSocket {
        let mut rooms: Vec<String> = self.rooms().iter().map(|r| r.as_str().to_owned()).collect();
        rooms.sort();
        RemoteSocket {
            id: self.id().as_str().to_owned(),
            handshake: self.handshake_json(),
            rooms,
            data: self.data(),
        }
    }

    /// The handshake as the reference describes it: `headers` (lower-case names), `url`,
    /// `query`, `auth`, `xdomain` (an `Origin` header came), `secure` (false: TLS is ended
    /// before the server sees the request, or not known).
    pub fn handshake_json(&self) -> Json {
        let h = self.handshake();
        let mut headers = serde_json::Map::new();
        for (k, v) in h.headers() {
            headers.insert(k.to_ascii_lowercase(), Json::String(v.to_owned()));
        }
        let mut query = serde_json::Map::new();
        if let Some((_, q)) = h.uri().split_once('?') {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let k = engineio_proto::http::percent_decode(k).into_owned();
                let v = engineio_proto::http::percent_decode(v).into_owned();
                query.insert(k, Json::String(v));
            }
        }
        serde_json::json!({
            "headers": headers,
            "xdomain": headers.contains_key("origin"),
            "secure": false,
            "url": h.uri(),
            "query": query,
            "auth": self.auth(),
        })
    }
}
