//! One node of a classic-adapter fleet as a machine: which channels it subscribes to, what it
//! publishes, what the messages it receives mean for it, and the requests it waits on (ids,
//! expected answers from the node count, deadlines, partial results).
//!
//! Driven by its caller: messages in ([`ClassicNode::receive`]), `now` in
//! ([`ClassicNode::poll_timeouts`] at [`ClassicNode::next_deadline`]), publishes out. It reads
//! no clock and draws its ids from the random source it is given. The caller publishes, asks
//! Redis how many nodes listen (`PUBSUB NUMSUB` of [`channels::request`]), and applies
//! broadcasts and requests to its own sockets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use rmpv::Value;
use serde_json::Value as Json;

use crate::message::{
    channels, Broadcast, BroadcastOpts, BroadcastPacket, ClusterError, RemoteSocket, Request,
    Response, RoomsOpts,
};

/// Draws random bytes (the node's uid, request ids).
pub type RandomSource = Box<dyn FnMut(&mut [u8]) + Send>;

/// A node's settings, with `@socket.io/redis-adapter`'s defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The channel prefix (`key`, default `socket.io`).
    pub key: String,
    /// How long a request waits for the other nodes' answers (`requestsTimeout`, 5 s); a
    /// broadcast with acks waits its own timeout instead.
    pub requests_timeout: Duration,
    /// Publish answers on the requester's own channel instead of the shared one
    /// (`publishOnSpecificResponseChannel`, off by default). Answers arrive on both either way.
    pub specific_response_channel: bool,
    /// Requests waiting for answers at once; past it a new request fails at once.
    pub max_pending: usize,
    /// Answers one request keeps (sockets, rooms, acks); the rest are dropped and the request
    /// ends as [`RequestFailure::TooManyAnswers`].
    pub max_answers: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            specific_response_channel: false,
            max_pending: 4096,
            max_answers: 100_000,
        }
    }
}

/// A channel or pattern to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subscription {
    /// `PSUBSCRIBE` this pattern.
    Pattern(String),
    /// `SUBSCRIBE` this channel.
    Channel(String),
    /// `SSUBSCRIBE` this shard channel (the sharded adapter).
    Shard(String),
}

/// A message to `PUBLISH`.
#[derive(Clone, PartialEq, Eq)]
pub struct Publish {
    /// The channel.
    pub channel: String,
    /// The message bytes.
    pub payload: Vec<u8>,
    /// `SPUBLISH` (the sharded adapter) rather than `PUBLISH`.
    pub sharded: bool,
}

impl fmt::Debug for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publish")
            .field("channel", &self.channel)
            .field("bytes", &self.payload.len())
            .field("sharded", &self.sharded)
            .finish()
    }
}

/// A request id (chosen by the node that asks).
pub type RequestId = String;

/// What a node asks the others.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `fetchSockets()`: the matching sockets of every node.
    FetchSockets(RoomsOpts),
    /// `allRooms()`: every room of every node.
    AllRooms,
    /// `serverSideEmit(event, ...args)`; `ack`: wait for one answer per other node.
    ServerSideEmit {
        /// `[event, ...args]`.
        data: Vec<Json>,
        /// Whether answers are wanted.
        ack: bool,
    },
    /// A broadcast whose clients' acks come back (type 7).
    BroadcastWithAck {
        /// The packet (its `nsp` is the namespace's).
        packet: BroadcastPacket,
        /// Targets and flags (the `timeout` flag is how long it waits).
        opts: BroadcastOpts,
    },
    /// `socketsJoin` (`join`) / `socketsLeave`: no answer.
    JoinLeave {
        /// Join or leave.
        join: bool,
        /// Which sockets.
        opts: RoomsOpts,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// `disconnectSockets(close)`: no answer.
    Disconnect {
        /// Which sockets.
        opts: RoomsOpts,
        /// Close their connections too.
        close: bool,
    },
}

impl Operation {
    pub(crate) fn kind(&self) -> Option<Kind> {
        match self {
            Operation::FetchSockets(_) => Some(Kind::Fetch),
            Operation::AllRooms => Some(Kind::Rooms),
            Operation::ServerSideEmit { ack: true, .. } => Some(Kind::Emit),
            Operation::BroadcastWithAck { .. } => Some(Kind::BroadcastAck),
            _ => None,
        }
    }
}

/// What a request collected from the other nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Answers {
    /// To [`Operation::FetchSockets`].
    Sockets(Vec<RemoteSocket>),
    /// To [`Operation::AllRooms`]: the union, sorted.
    Rooms(Vec<String>),
    /// To [`Operation::ServerSideEmit`]: one value per node, in arrival order.
    ServerSideEmit(Vec<Json>),
    /// To [`Operation::BroadcastWithAck`]: the other nodes' client counts, summed, and each
    /// client's ack (its first argument), in arrival order.
    BroadcastAcks {
        /// Clients the broadcast reached on the other nodes.
        clients: u64,
        /// Their acks.
        acks: Vec<Value>,
    },
}

/// Why a request ended without every answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestFailure {
    /// The deadline passed (the answers are what came before it).
    #[error("timeout reached: only {received} responses received out of {expected}")]
    Timeout {
        /// Answers (node answers; for a broadcast with acks, node counts plus acks) received.
        received: u64,
        /// Answers expected (as far as known when it ended).
        expected: u64,
    },
    /// More answers came than [`NodeConfig::max_answers`] keeps.
    #[error("too many answers")]
    TooManyAnswers,
    /// [`NodeConfig::max_pending`] requests were already waiting.
    #[error("too many requests waiting")]
    TooManyPending,
    /// The fleet's protocol has no such request (`allRooms` in the sharded adapter).
    #[error("not supported by this adapter")]
    Unsupported,
}

/// A request that ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    /// Its id.
    pub request_id: RequestId,
    /// Its namespace.
    pub nsp: String,
    /// What came.
    pub answers: Answers,
    /// `Ok` when every expected answer came.
    pub outcome: Result<(), RequestFailure>,
}

/// What [`ClassicNode::request`] gives: what to publish (if anything), the id answers will
/// name (for requests that wait), and the request's end when it needs no other node.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Publish this (`None`: nothing to ask, the request ended at once).
    pub publish: Option<Publish>,
    /// The request's id while it waits.
    pub request_id: Option<RequestId>,
    /// Set when it ended at once (no other node, or too many requests waiting).
    pub completed: Option<Completed>,
}

/// What a received message means for this node.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Another node's (or the emitter's) broadcast: deliver it to the local sockets.
    Broadcast(Broadcast),
    /// Another node's request: apply it locally and, when it has an id, answer it with
    /// [`ClassicNode::respond`] (a broadcast with acks: one
    /// [`Response::BroadcastClientCount`], then one [`Response::BroadcastAck`] per ack).
    Request {
        /// The namespace.
        nsp: String,
        /// The request.
        request: Request,
    },
    /// One of this node's requests ended with this answer.
    Completed(Completed),
    /// Nothing to do: its own message, another namespace's, an answer to another node or to
    /// a request that already ended, or an answer that did not complete its request yet.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Fetch,
    Rooms,
    Emit,
    BroadcastAck,
}

#[derive(Debug)]
pub(crate) struct Pending {
    nsp: String,
    kind: Kind,
    deadline: Instant,
    /// Other nodes expected to answer; `None` until known (a broadcast with acks learns it
    /// after publishing).
    others: Option<u64>,
    /// Node answers received (for a broadcast with acks: client counts).
    nodes: u64,
    sockets: Vec<RemoteSocket>,
    rooms: BTreeSet<String>,
    values: Vec<Json>,
    clients: u64,
    acks: Vec<Value>,
    overflow: bool,
}

impl Pending {
    fn answers(&mut self) -> Answers {
        match self.kind {
            Kind::Fetch => Answers::Sockets(std::mem::take(&mut self.sockets)),
            Kind::Rooms => Answers::Rooms(std::mem::take(&mut self.rooms).into_iter().collect()),
            Kind::Emit => Answers::ServerSideEmit(std::mem::take(&mut self.values)),
            Kind::BroadcastAck => Answers::BroadcastAcks {
                clients: self.clients,
                acks: std::mem::take(&mut self.acks),
            },
        }
    }

    fn kept(&self) -> usize {
        self.sockets.len() + self.rooms.len() + self.values.len() + self.acks.len()
    }

    fn complete(&self) -> bool {
        self.others.is_some_and(|n| {
            self.nodes >= n
                && (self.kind != Kind::BroadcastAck || self.acks.len() as u64 >= self.clients)
        })
    }

    fn received(&self) -> u64 {
        self.nodes + self.acks.len() as u64
    }

    fn expected(&self) -> u64 {
        self.others.unwrap_or(0)
            + if self.kind == Kind::BroadcastAck {
                self.clients
            } else {
                0
            }
    }
}

/// A node of a fleet, whichever its protocol ([`ClassicNode`],
/// [`crate::sharded::ShardedNode`]): what a runtime drives. See [`ClassicNode`]'s methods of
/// the same names for each one's contract.
pub trait FleetNode: Send + fmt::Debug {
    /// The node's uid.
    fn uid(&self) -> &str;
    /// Joins namespace `nsp`: what to subscribe to (nothing when already joined).
    fn add_namespace(&mut self, nsp: &str) -> Result<Vec<Subscription>, ClusterError>;
    /// Everything to subscribe to again after a reconnection.
    fn subscriptions(&self) -> Vec<Subscription>;
    /// How to count the fleet's nodes of `nsp`: `PUBSUB <command> <channel>`.
    fn count(&self, nsp: &str) -> (&'static str, String);
    /// A broadcast of this node to publish (not a `local` one).
    fn broadcast(&self, packet: BroadcastPacket, opts: BroadcastOpts) -> Publish;
    /// Starts `op` (see [`ClassicNode::request`]).
    fn request(
        &mut self,
        now: Instant,
        nsp: &str,
        op: Operation,
        others: Option<u64>,
        timeout: Option<Duration>,
    ) -> Started;
    /// The number of other nodes, learnt after publishing.
    fn set_others(&mut self, request_id: &str, others: u64) -> Option<Completed>;
    /// Forgets a request: what it had collected.
    fn cancel(&mut self, request_id: &str) -> Option<Answers>;
    /// Requests waiting.
    fn pending(&self) -> usize;
    /// The earliest deadline.
    fn next_deadline(&self) -> Option<Instant>;
    /// Ends the requests whose deadline passed.
    fn poll_timeouts(&mut self, now: Instant) -> Vec<Completed>;
    /// What a received message means.
    fn receive(&mut self, channel: &str, payload: &[u8]) -> Result<Received, ClusterError>;
    /// The answer to another node's request, to publish (`None`: this protocol has no such
    /// answer).
    fn respond(&self, nsp: &str, requester: Option<&str>, response: &Response) -> Option<Publish>;
    /// Whether rooms created and deleted change its subscriptions.
    fn wants_room_events(&self) -> bool {
        false
    }
    /// Room `room` of `nsp` got its first member (`is_socket`: it is a socket's own room):
    /// what to subscribe to.
    fn room_created(&mut self, _nsp: &str, _room: &str, _is_socket: bool) -> Option<Subscription> {
        None
    }
    /// Room `room` lost its last member: what to unsubscribe from.
    fn room_deleted(&mut self, _nsp: &str, _room: &str) -> Option<Subscription> {
        None
    }
}

impl FleetNode for ClassicNode {
    fn uid(&self) -> &str {
        ClassicNode::uid(self)
    }
    fn add_namespace(&mut self, nsp: &str) -> Result<Vec<Subscription>, ClusterError> {
        ClassicNode::add_namespace(self, nsp)
    }
    fn subscriptions(&self) -> Vec<Subscription> {
        ClassicNode::subscriptions(self)
    }
    fn count(&self, nsp: &str) -> (&'static str, String) {
        ("NUMSUB", self.count_channel(nsp))
    }
    fn broadcast(&self, packet: BroadcastPacket, opts: BroadcastOpts) -> Publish {
        ClassicNode::broadcast(self, packet, opts)
    }
    fn request(
        &mut self,
        now: Instant,
        nsp: &str,
        op: Operation,
        others: Option<u64>,
        timeout: Option<Duration>,
    ) -> Started {
        ClassicNode::request(self, now, nsp, op, others, timeout)
    }
    fn set_others(&mut self, request_id: &str, others: u64) -> Option<Completed> {
        ClassicNode::set_others(self, request_id, others)
    }
    fn cancel(&mut self, request_id: &str) -> Option<Answers> {
        ClassicNode::cancel(self, request_id)
    }
    fn pending(&self) -> usize {
        ClassicNode::pending(self)
    }
    fn next_deadline(&self) -> Option<Instant> {
        ClassicNode::next_deadline(self)
    }
    fn poll_timeouts(&mut self, now: Instant) -> Vec<Completed> {
        ClassicNode::poll_timeouts(self, now)
    }
    fn receive(&mut self, channel: &str, payload: &[u8]) -> Result<Received, ClusterError> {
        ClassicNode::receive(self, channel, payload)
    }
    fn respond(&self, nsp: &str, requester: Option<&str>, response: &Response) -> Option<Publish> {
        Some(ClassicNode::respond(self, nsp, requester, response))
    }
}

/// One node of a classic `@socket.io/redis-adapter` fleet (see the module docs).
pub struct ClassicNode {
    config: NodeConfig,
    uid: String,
    namespaces: BTreeSet<String>,
    requests: Requests,
}

impl fmt::Debug for ClassicNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassicNode")
            .field("uid", &self.uid)
            .field("namespaces", &self.namespaces)
            .field("pending", &self.requests.pending.len())
            .finish_non_exhaustive()
    }
}

const ID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub(crate) fn random_id(random: &mut RandomSource, len: usize) -> String {
    let mut bytes = vec![0u8; len];
    random(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ID_ALPHABET[usize::from(b & 63)]))
        .collect()
}

impl ClassicNode {
    /// A node with a fresh uid (6 URL-safe characters, as Node's `uid2(6)`).
    pub fn new(config: NodeConfig, mut random: RandomSource) -> Self {
        let uid = random_id(&mut random, 6);
        ClassicNode {
            requests: Requests::new(&config, random),
            config,
            uid,
            namespaces: BTreeSet::new(),
        }
    }

    /// The node's uid (broadcasts it publishes carry it; it drops messages that do).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Its settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Joins namespace `nsp`'s channels: what to subscribe to (nothing when already joined).
    /// A namespace whose name holds a glob character (`*?[]\`) would make the broadcast
    /// pattern match other namespaces' channels: refused.
    pub fn add_namespace(&mut self, nsp: &str) -> Result<Vec<Subscription>, ClusterError> {
        if nsp.contains(['*', '?', '[', ']', '\\']) {
            return Err(ClusterError::Shape("namespace with a glob character"));
        }
        if !self.namespaces.insert(nsp.to_owned()) {
            return Ok(Vec::new());
        }
        Ok(self.subscriptions_of(nsp))
    }

    fn subscriptions_of(&self, nsp: &str) -> Vec<Subscription> {
        let key = &self.config.key;
        vec![
            Subscription::Pattern(channels::broadcast_pattern(key, nsp)),
            Subscription::Channel(channels::request(key, nsp)),
            Subscription::Channel(channels::response(key, nsp)),
            Subscription::Channel(channels::response_for(key, nsp, &self.uid)),
        ]
    }

    /// Every subscription of every joined namespace (to subscribe again after a reconnect).
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.namespaces
            .iter()
            .flat_map(|n| self.subscriptions_of(n))
            .collect()
    }

    /// The namespaces joined.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespaces.iter().map(String::as_str)
    }

    /// The channel whose subscriber count is the fleet's size for `nsp` (`PUBSUB NUMSUB`).
    pub fn count_channel(&self, nsp: &str) -> String {
        channels::request(&self.config.key, nsp)
    }

    /// A broadcast of this node to publish: its uid and namespace set, on its room's channel
    /// when it names one room. A `local` one must not be published (the caller's to check).
    pub fn broadcast(&self, mut packet: BroadcastPacket, opts: BroadcastOpts) -> Publish {
        packet.id = None;
        let b = Broadcast {
            uid: self.uid.clone(),
            packet,
            opts,
        };
        Publish {
            channel: b.channel(&self.config.key),
            payload: b.encode(),
            sharded: false,
        }
    }

    /// Starts `op` on namespace `nsp` at `now`. `others`: how many other nodes listen (the
    /// fleet's `PUBSUB NUMSUB` minus one), when the caller knows it before publishing; a
    /// broadcast with acks may learn it later ([`ClassicNode::set_others`]). A request that
    /// waits for answers and has no other node to ask ends at once, nothing published.
    /// `timeout`: how long it waits (default: [`NodeConfig::requests_timeout`]; a broadcast
    /// with acks: its `timeout` flag).
    pub fn request(
        &mut self,
        now: Instant,
        nsp: &str,
        op: Operation,
        others: Option<u64>,
        timeout: Option<Duration>,
    ) -> Started {
        let kind = op.kind();
        let uid = Some(self.uid.clone());
        let Some(kind) = kind else {
            let request = match op {
                Operation::ServerSideEmit { data, .. } => Request::ServerSideEmit {
                    uid,
                    request_id: None,
                    data,
                },
                Operation::JoinLeave { join, opts, rooms } => Request::RemoteJoinLeave {
                    join,
                    uid,
                    opts,
                    rooms,
                },
                Operation::Disconnect { opts, close } => {
                    Request::RemoteDisconnect { uid, opts, close }
                }
                _ => unreachable!("operations without answers"),
            };
            return Started {
                publish: Some(self.publish_request(nsp, &request)),
                request_id: None,
                completed: None,
            };
        };
        let timeout = request_timeout(&op, timeout, self.config.requests_timeout);
        let request_id = match self.requests.start(now, nsp, kind, others, timeout) {
            Ok(id) => id,
            Err(completed) => {
                return Started {
                    publish: None,
                    request_id: None,
                    completed: Some(completed),
                }
            }
        };
        let request = match op {
            Operation::FetchSockets(opts) => Request::RemoteFetch {
                uid,
                request_id: request_id.clone(),
                opts,
            },
            Operation::AllRooms => Request::AllRooms {
                uid,
                request_id: request_id.clone(),
            },
            Operation::ServerSideEmit { data, .. } => Request::ServerSideEmit {
                uid,
                request_id: Some(request_id.clone()),
                data,
            },
            Operation::BroadcastWithAck { mut packet, opts } => {
                packet.id = None;
                packet.nsp = Some(nsp.to_owned());
                Request::BroadcastWithAck {
                    uid: self.uid.clone(),
                    request_id: request_id.clone(),
                    packet,
                    opts,
                }
            }
            _ => unreachable!("operations with answers"),
        };
        Started {
            publish: Some(self.publish_request(nsp, &request)),
            request_id: Some(request_id),
            completed: None,
        }
    }

    fn publish_request(&self, nsp: &str, request: &Request) -> Publish {
        Publish {
            channel: channels::request(&self.config.key, nsp),
            payload: request.encode(),
            sharded: false,
        }
    }

    /// The number of other nodes, learnt after a request was published (a broadcast with
    /// acks); its end when that completes it.
    pub fn set_others(&mut self, request_id: &str, others: u64) -> Option<Completed> {
        self.requests.set_others(request_id, others)
    }

    /// Forgets a request (its caller gave up on it, or it could not be sent): what it had
    /// collected. Later answers are ignored.
    pub fn cancel(&mut self, request_id: &str) -> Option<Answers> {
        self.requests.cancel(request_id)
    }

    /// Requests waiting for answers.
    pub fn pending(&self) -> usize {
        self.requests.pending.len()
    }

    /// The earliest deadline of a waiting request.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.requests.next_deadline()
    }

    /// Ends the requests whose deadline is at or before `now`, with what they collected.
    pub fn poll_timeouts(&mut self, now: Instant) -> Vec<Completed> {
        self.requests.poll_timeouts(now)
    }

    /// What a message received on `channel` means for this node. Malformed messages are
    /// errors (the caller logs and drops them); nothing received can make it panic or keep
    /// more than its limits.
    pub fn receive(&mut self, channel: &str, payload: &[u8]) -> Result<Received, ClusterError> {
        let key = &self.config.key;
        // The longest matching namespace wins (`/a#b` before `/a`), then the channel kind.
        let Some((nsp, kind)) = self
            .namespaces
            .iter()
            .rev()
            .find_map(|n| classify(key, n, &self.uid, channel).map(|k| (n.clone(), k)))
        else {
            return Ok(Received::Nothing);
        };
        match kind {
            ChannelKind::Broadcast => {
                let b = Broadcast::decode(payload)?;
                if b.uid == self.uid || b.packet.nsp() != nsp {
                    return Ok(Received::Nothing);
                }
                Ok(Received::Broadcast(b))
            }
            ChannelKind::Request => {
                let request = Request::decode(payload)?;
                if self.is_own(&request) {
                    return Ok(Received::Nothing);
                }
                if let Request::BroadcastWithAck { packet, .. } = &request {
                    if packet.nsp() != nsp {
                        return Ok(Received::Nothing);
                    }
                }
                Ok(Received::Request { nsp, request })
            }
            ChannelKind::Response => {
                let response = Response::decode(payload)?;
                Ok(self
                    .requests
                    .take_response(response)
                    .map_or(Received::Nothing, Received::Completed))
            }
        }
    }

    /// Whether `request` is this node's own, echoed back by Redis: requests with answers by
    /// their pending id, the rest by uid (this node applies its join, leave and disconnect
    /// locally before publishing them, so their echo is dropped too).
    fn is_own(&self, request: &Request) -> bool {
        match request {
            Request::Sockets { request_id, .. }
            | Request::AllRooms { request_id, .. }
            | Request::RemoteFetch { request_id, .. }
            | Request::BroadcastWithAck { request_id, .. }
                if self.requests.pending.contains_key(request_id) =>
            {
                true
            }
            Request::ServerSideEmit { uid, .. }
            | Request::RemoteJoinLeave { uid, .. }
            | Request::RemoteDisconnect { uid, .. }
            | Request::Legacy { uid, .. }
            | Request::Sockets { uid, .. }
            | Request::AllRooms { uid, .. }
            | Request::RemoteFetch { uid, .. } => uid.as_deref() == Some(self.uid.as_str()),
            Request::BroadcastWithAck { uid, .. } => *uid == self.uid,
        }
    }

    /// The answer to another node's request `request_id` on namespace `nsp`, to publish.
    pub fn respond(&self, nsp: &str, requester: Option<&str>, response: &Response) -> Publish {
        let key = &self.config.key;
        let channel = match requester {
            Some(uid) if self.config.specific_response_channel => {
                channels::response_for(key, nsp, uid)
            }
            _ => channels::response(key, nsp),
        };
        Publish {
            channel,
            payload: response.encode(),
            sharded: false,
        }
    }
}

/// The requests a node waits on: ids, expected answers, deadlines, what came, limits. Shared
/// by the classic and the sharded node.
pub(crate) struct Requests {
    random: RandomSource,
    pub(crate) pending: BTreeMap<RequestId, Pending>,
    /// Request ids that clashed so far.
    clashes: u64,
    max_pending: usize,
    max_answers: usize,
}

/// How long a request waits: `timeout` when given, a broadcast with acks its `timeout` flag,
/// else the node's default.
pub(crate) fn request_timeout(
    op: &Operation,
    timeout: Option<Duration>,
    default: Duration,
) -> Duration {
    match (timeout, op) {
        (Some(t), _) => t,
        (None, Operation::BroadcastWithAck { opts, .. }) => opts
            .flag("timeout")
            .and_then(Value::as_u64)
            .map_or(default, Duration::from_millis),
        (None, _) => default,
    }
}

impl Requests {
    pub(crate) fn new(config: &NodeConfig, random: RandomSource) -> Self {
        Requests {
            random,
            pending: BTreeMap::new(),
            clashes: 0,
            max_pending: config.max_pending,
            max_answers: config.max_answers,
        }
    }

    /// A fresh id for a request of `kind` that waits for answers until `now + timeout`, or
    /// its end at once (no other node to ask, too many waiting).
    pub(crate) fn start(
        &mut self,
        now: Instant,
        nsp: &str,
        kind: Kind,
        others: Option<u64>,
        timeout: Duration,
    ) -> Result<RequestId, Completed> {
        // 96 random bits; on a clash with a waiting request (a poor random source), a
        // sequence number makes it unique.
        let mut request_id = random_id(&mut self.random, 16);
        if self.pending.contains_key(&request_id) {
            self.clashes += 1;
            request_id = format!("{request_id}-{}", self.clashes);
        }
        let mut pending = Pending {
            nsp: nsp.to_owned(),
            kind,
            deadline: now + timeout,
            others,
            nodes: 0,
            sockets: Vec::new(),
            rooms: BTreeSet::new(),
            values: Vec::new(),
            clients: 0,
            acks: Vec::new(),
            overflow: false,
        };
        let outcome = if self.pending.len() >= self.max_pending {
            Err(RequestFailure::TooManyPending)
        } else if others == Some(0) {
            Ok(())
        } else {
            self.pending.insert(request_id.clone(), pending);
            return Ok(request_id);
        };
        Err(Completed {
            request_id,
            nsp: nsp.to_owned(),
            answers: pending.answers(),
            outcome,
        })
    }

    /// The number of other nodes, learnt after a request was published (a broadcast with
    /// acks); its end when that completes it.
    pub(crate) fn set_others(&mut self, request_id: &str, others: u64) -> Option<Completed> {
        let p = self.pending.get_mut(request_id)?;
        p.others = Some(others);
        self.finish_if_complete(request_id)
    }

    /// Forgets a request (its caller gave up on it, or it could not be sent): what it had
    /// collected. Later answers are ignored.
    pub(crate) fn cancel(&mut self, request_id: &str) -> Option<Answers> {
        self.pending.remove(request_id).map(|mut p| p.answers())
    }

    fn finish_if_complete(&mut self, request_id: &str) -> Option<Completed> {
        let p = self.pending.get(request_id)?;
        if !p.complete() && !p.overflow {
            return None;
        }
        let mut p = self.pending.remove(request_id)?;
        Some(Completed {
            request_id: request_id.to_owned(),
            nsp: p.nsp.clone(),
            answers: p.answers(),
            outcome: if p.overflow {
                Err(RequestFailure::TooManyAnswers)
            } else {
                Ok(())
            },
        })
    }

    /// The earliest deadline of a waiting request.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// Ends the requests whose deadline is at or before `now`, with what they collected.
    pub(crate) fn poll_timeouts(&mut self, now: Instant) -> Vec<Completed> {
        let expired: Vec<RequestId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|id| {
                let mut p = self.pending.remove(&id)?;
                let outcome = Err(RequestFailure::Timeout {
                    received: p.received(),
                    expected: p.expected(),
                });
                Some(Completed {
                    request_id: id,
                    nsp: p.nsp.clone(),
                    answers: p.answers(),
                    outcome,
                })
            })
            .collect()
    }

    pub(crate) fn take_response(&mut self, response: Response) -> Option<Completed> {
        let max = self.max_answers;
        let id = response_id(&response).to_owned();
        let p = self.pending.get_mut(&id)?;
        let room_for = |p: &Pending, n: usize| p.kept().saturating_add(n) <= max;
        match (p.kind, response) {
            (Kind::Fetch, Response::Sockets { sockets, .. }) => {
                p.nodes += 1;
                if room_for(p, sockets.len()) {
                    p.sockets.extend(sockets);
                } else {
                    p.overflow = true;
                }
            }
            // An empty list of sockets reads as a list of ids.
            (Kind::Fetch, Response::SocketIds { sockets, .. }) if sockets.is_empty() => {
                p.nodes += 1;
            }
            (Kind::Rooms, Response::Rooms { rooms, .. }) => {
                p.nodes += 1;
                if room_for(p, rooms.len()) {
                    p.rooms.extend(rooms);
                } else {
                    p.overflow = true;
                }
            }
            (Kind::Emit, Response::ServerSideEmit { data, .. }) => {
                p.nodes += 1;
                if room_for(p, 1) {
                    p.values.push(data);
                } else {
                    p.overflow = true;
                }
            }
            (Kind::BroadcastAck, Response::BroadcastClientCount { client_count, .. }) => {
                p.nodes += 1;
                p.clients = p.clients.saturating_add(client_count);
            }
            (Kind::BroadcastAck, Response::BroadcastAck { packet, .. }) => {
                if room_for(p, 1) {
                    p.acks.push(packet);
                } else {
                    p.overflow = true;
                }
            }
            // An answer of another shape for this id: not ours to count.
            _ => return None,
        }
        self.finish_if_complete(&id)
    }
}

fn response_id(r: &Response) -> &str {
    match r {
        Response::SocketIds { request_id, .. }
        | Response::Rooms { request_id, .. }
        | Response::Sockets { request_id, .. }
        | Response::ServerSideEmit { request_id, .. }
        | Response::BroadcastClientCount { request_id, .. }
        | Response::BroadcastAck { request_id, .. }
        | Response::Done { request_id } => request_id,
    }
}

enum ChannelKind {
    Broadcast,
    Request,
    Response,
}

fn classify(key: &str, nsp: &str, uid: &str, channel: &str) -> Option<ChannelKind> {
    if channel == channels::request(key, nsp) {
        Some(ChannelKind::Request)
    } else if channel == channels::response(key, nsp)
        || channel == channels::response_for(key, nsp, uid)
    {
        Some(ChannelKind::Response)
    } else if channels::room_of(key, nsp, channel).is_some() {
        Some(ChannelKind::Broadcast)
    } else {
        None
    }
}

/// The requester of a request (its uid), to answer on its own channel.
pub fn requester(request: &Request) -> Option<&str> {
    match request {
        Request::Sockets { uid, .. }
        | Request::AllRooms { uid, .. }
        | Request::RemoteJoinLeave { uid, .. }
        | Request::RemoteDisconnect { uid, .. }
        | Request::Legacy { uid, .. }
        | Request::RemoteFetch { uid, .. }
        | Request::ServerSideEmit { uid, .. } => uid.as_deref(),
        Request::BroadcastWithAck { uid, .. } => Some(uid),
    }
}
