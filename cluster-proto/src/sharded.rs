//! The sharded adapter (`@socket.io/redis-adapter` 8.x `createShardedAdapter()`, Redis 7
//! `SPUBLISH`/`SSUBSCRIBE`): socket.io-adapter's ClusterAdapter messages
//! `{type, data, uid, nsp}`, JSON unless the data holds binary (then notepack msgpack), on one
//! channel per namespace (`socket.io#/#`), one per node for answers (`socket.io#/#<uid>#`) and,
//! in the dynamic modes, one per public room (`socket.io#/#<room>#`)
//! (`../shared/protocol/redis-adapter.md` §1.2, §3.5, §5.2).
//!
//! [`ShardedNode`] is the node machine; its messages are read into the classic protocol's
//! values ([`Broadcast`], [`Request`], [`Response`]) so that a server applies both the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use rmpv::Value;
use serde_json::Value as Json;

use crate::message::{
    Broadcast, BroadcastOpts, BroadcastPacket, ClusterError, RemoteSocket, Request, Response,
    RoomsOpts,
};
use crate::msgpack::{self, get};
use crate::node::{
    request_timeout, Answers, Completed, FleetNode, NodeConfig, Operation, Publish, RandomSource,
    Received, RequestFailure, Requests, Started, Subscription,
};

/// ClusterAdapter message types (socket.io-adapter 2.5).
mod kind {
    pub(super) const BROADCAST: u64 = 3;
    pub(super) const SOCKETS_JOIN: u64 = 4;
    pub(super) const SOCKETS_LEAVE: u64 = 5;
    pub(super) const DISCONNECT_SOCKETS: u64 = 6;
    pub(super) const FETCH_SOCKETS: u64 = 7;
    pub(super) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub(super) const SERVER_SIDE_EMIT: u64 = 9;
    pub(super) const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub(super) const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub(super) const BROADCAST_ACK: u64 = 12;
}

/// Which rooms get a channel of their own (`subscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// Only the namespace's channel and the node's own.
    Static,
    /// Public rooms too (not socket ids), Node's default.
    #[default]
    Dynamic,
    /// Every room, socket ids included.
    DynamicPrivate,
}

/// Node's heuristic for a socket id: a 20-character room (a dynamic-mode publisher sends a
/// broadcast to one such room on the namespace's channel).
fn looks_like_socket_id(room: &str) -> bool {
    room.chars().count() == 20
}

/// An envelope as JSON text with its maps in their order, or `None` when it holds binary (or
/// a value JSON cannot carry).
fn json_text(v: &Value, out: &mut String) -> Option<()> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(_) | Value::F32(_) | Value::F64(_) => {
            out.push_str(&msgpack::to_json(v)?.to_string());
        }
        Value::String(s) => out.push_str(&Json::String(s.as_str()?.to_owned()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(item, out)?;
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(k.as_str()?.to_owned()).to_string());
                out.push(':');
                json_text(item, out)?;
            }
            out.push('}');
        }
        Value::Binary(_) | Value::Ext(..) => return None,
    }
    Some(())
}

/// `{type, data, uid, nsp}`: JSON, or msgpack when the data holds binary.
fn encode(kind: u64, data: Value, uid: &str, nsp: &str) -> Vec<u8> {
    let envelope = Value::Map(vec![
        (Value::from("type"), Value::from(kind)),
        (Value::from("data"), data),
        (Value::from("uid"), Value::from(uid)),
        (Value::from("nsp"), Value::from(nsp)),
    ]);
    let mut text = String::new();
    match json_text(&envelope, &mut text) {
        Some(()) => text.into_bytes(),
        None => msgpack::encode(&envelope),
    }
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn opts_value(rooms: &[String], except: &[String], flags: &[(String, Value)]) -> Value {
    map(vec![
        ("rooms", strings(rooms)),
        ("except", strings(except)),
        (
            "flags",
            Value::Map(
                flags
                    .iter()
                    .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                    .collect(),
            ),
        ),
    ])
}

/// The packet as ClusterAdapter publishes it: `{type, data}` (no `nsp`, no `id`).
fn packet_value(p: &BroadcastPacket) -> Value {
    map(vec![
        ("type", Value::from(p.kind)),
        ("data", Value::Array(p.data.clone())),
    ])
}

fn text_list(v: Option<&Value>, what: &'static str) -> Result<Vec<String>, ClusterError> {
    match v {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s
                    .as_str()
                    .map(str::to_owned)
                    .ok_or(ClusterError::Shape(what)),
                Value::Integer(n) => Ok(n.to_string()),
                _ => Err(ClusterError::Shape(what)),
            })
            .collect(),
        Some(_) => Err(ClusterError::Shape(what)),
    }
}

fn text(v: Option<&Value>, what: &'static str) -> Result<String, ClusterError> {
    v.and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(ClusterError::Shape(what))
}

fn json_of(v: &Value) -> Json {
    msgpack::to_json(v).unwrap_or(Json::Null)
}

/// A decoded envelope.
#[derive(Debug, Clone, PartialEq)]
struct Envelope {
    kind: u64,
    data: Value,
    uid: Option<String>,
    nsp: Option<String>,
}

fn decode(bytes: &[u8]) -> Result<Envelope, ClusterError> {
    let v = if bytes.first() == Some(&b'{') {
        let json: Json = serde_json::from_slice(bytes).map_err(|_| ClusterError::Json)?;
        msgpack::from_json(&json)
    } else {
        msgpack::decode(bytes)?
    };
    Ok(Envelope {
        kind: get(&v, "type")
            .and_then(Value::as_u64)
            .ok_or(ClusterError::Shape("type"))?,
        data: get(&v, "data").cloned().unwrap_or(Value::Nil),
        uid: get(&v, "uid").and_then(Value::as_str).map(str::to_owned),
        nsp: get(&v, "nsp").and_then(Value::as_str).map(str::to_owned),
    })
}

/// What an envelope means, in the classic protocol's values.
enum Meaning {
    Broadcast(Broadcast),
    Request(Request),
    Response(Response),
    Nothing,
}

fn rooms_opts(v: Option<&Value>) -> Result<RoomsOpts, ClusterError> {
    Ok(RoomsOpts {
        rooms: text_list(v.and_then(|o| get(o, "rooms")), "opts rooms")?,
        except: text_list(v.and_then(|o| get(o, "except")), "opts except")?,
    })
}

fn broadcast_opts(v: Option<&Value>) -> Result<BroadcastOpts, ClusterError> {
    let o = rooms_opts(v)?;
    let flags = match v.and_then(|o| get(o, "flags")) {
        Some(Value::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
            .collect(),
        _ => Vec::new(),
    };
    Ok(BroadcastOpts {
        rooms: o.rooms,
        except: o.except,
        flags,
    })
}

fn meaning(e: Envelope, nsp: &str) -> Result<Meaning, ClusterError> {
    let d = &e.data;
    let request_id = get(d, "requestId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let need_id = || request_id.clone().ok_or(ClusterError::Shape("requestId"));
    Ok(match e.kind {
        kind::BROADCAST => {
            let p = get(d, "packet").ok_or(ClusterError::Shape("packet"))?;
            let packet = BroadcastPacket {
                kind: get(p, "type")
                    .and_then(Value::as_u64)
                    .and_then(|k| u8::try_from(k).ok())
                    .ok_or(ClusterError::Shape("packet type"))?,
                data: match get(p, "data") {
                    Some(Value::Array(items)) => items.clone(),
                    _ => return Err(ClusterError::Shape("packet data")),
                },
                nsp: Some(nsp.to_owned()),
                id: None,
            };
            let opts = broadcast_opts(get(d, "opts"))?;
            let uid = e.uid.unwrap_or_default();
            match request_id {
                Some(request_id) => Meaning::Request(Request::BroadcastWithAck {
                    uid,
                    request_id,
                    packet,
                    opts,
                }),
                None => Meaning::Broadcast(Broadcast { uid, packet, opts }),
            }
        }
        kind::SOCKETS_JOIN | kind::SOCKETS_LEAVE => Meaning::Request(Request::RemoteJoinLeave {
            join: e.kind == kind::SOCKETS_JOIN,
            uid: e.uid,
            opts: rooms_opts(get(d, "opts"))?,
            rooms: text_list(get(d, "rooms"), "rooms")?,
        }),
        kind::DISCONNECT_SOCKETS => Meaning::Request(Request::RemoteDisconnect {
            uid: e.uid,
            opts: rooms_opts(get(d, "opts"))?,
            close: get(d, "close").and_then(Value::as_bool).unwrap_or(false),
        }),
        kind::FETCH_SOCKETS => Meaning::Request(Request::RemoteFetch {
            uid: e.uid,
            request_id: need_id()?,
            opts: rooms_opts(get(d, "opts"))?,
        }),
        kind::SERVER_SIDE_EMIT => Meaning::Request(Request::ServerSideEmit {
            uid: e.uid,
            request_id,
            data: match get(d, "packet") {
                Some(Value::Array(items)) => items.iter().map(json_of).collect(),
                _ => return Err(ClusterError::Shape("packet")),
            },
        }),
        kind::FETCH_SOCKETS_RESPONSE => Meaning::Response(Response::Sockets {
            request_id: need_id()?,
            sockets: match get(d, "sockets") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|s| {
                        Ok(RemoteSocket {
                            id: text(get(s, "id"), "socket id")?,
                            handshake: get(s, "handshake").map_or(Json::Null, json_of),
                            rooms: text_list(get(s, "rooms"), "socket rooms")?,
                            data: get(s, "data").map_or(Json::Null, json_of),
                        })
                    })
                    .collect::<Result<_, ClusterError>>()?,
                _ => Vec::new(),
            },
        }),
        kind::SERVER_SIDE_EMIT_RESPONSE => Meaning::Response(Response::ServerSideEmit {
            request_id: need_id()?,
            data: get(d, "packet").map_or(Json::Null, json_of),
        }),
        kind::BROADCAST_CLIENT_COUNT => Meaning::Response(Response::BroadcastClientCount {
            request_id: need_id()?,
            client_count: get(d, "clientCount")
                .and_then(Value::as_u64)
                .ok_or(ClusterError::Shape("clientCount"))?,
        }),
        kind::BROADCAST_ACK => Meaning::Response(Response::BroadcastAck {
            request_id: need_id()?,
            packet: get(d, "packet").cloned().unwrap_or(Value::Nil),
        }),
        // Heartbeats and the close notice of the heartbeat variant: nothing for this node.
        _ => Meaning::Nothing,
    })
}

/// One node of a sharded `@socket.io/redis-adapter` fleet (see the module docs): its uid is
/// 16 hex digits, as Node's.
pub struct ShardedNode {
    key: String,
    mode: SubscriptionMode,
    uid: String,
    requests_timeout: Duration,
    namespaces: BTreeSet<String>,
    /// Room channels subscribed, per namespace (dynamic modes).
    rooms: BTreeMap<String, BTreeSet<String>>,
    requests: Requests,
}

impl fmt::Debug for ShardedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedNode")
            .field("uid", &self.uid)
            .field("mode", &self.mode)
            .field("namespaces", &self.namespaces)
            .field("pending", &self.requests.pending.len())
            .finish_non_exhaustive()
    }
}

impl ShardedNode {
    /// A node with a fresh uid; `config.key` is the channel prefix (`channelPrefix`).
    pub fn new(config: NodeConfig, mode: SubscriptionMode, mut random: RandomSource) -> Self {
        let mut bytes = [0u8; 8];
        random(&mut bytes);
        let uid = bytes.iter().map(|b| format!("{b:02x}")).collect();
        ShardedNode {
            key: config.key.clone(),
            mode,
            uid,
            requests_timeout: config.requests_timeout,
            namespaces: BTreeSet::new(),
            rooms: BTreeMap::new(),
            requests: Requests::new(&config, random),
        }
    }

    fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.key)
    }

    fn room_channel(&self, nsp: &str, room: &str) -> String {
        format!("{}#{nsp}#{room}#", self.key)
    }

    fn publish(&self, channel: String, kind: u64, data: Value, nsp: &str) -> Publish {
        Publish {
            channel,
            payload: encode(kind, data, &self.uid, nsp),
            sharded: true,
        }
    }

    /// Whether `room` gets a channel of its own in this mode (`is_socket`: it is a socket's
    /// own room).
    fn separate(&self, is_socket: bool) -> bool {
        match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !is_socket,
            SubscriptionMode::DynamicPrivate => true,
        }
    }
}

impl FleetNode for ShardedNode {
    fn uid(&self) -> &str {
        &self.uid
    }

    fn add_namespace(&mut self, nsp: &str) -> Result<Vec<Subscription>, ClusterError> {
        if !self.namespaces.insert(nsp.to_owned()) {
            return Ok(Vec::new());
        }
        Ok(vec![
            Subscription::Shard(self.channel(nsp)),
            Subscription::Shard(format!("{}#{nsp}#{}#", self.key, self.uid)),
        ])
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        let mut subs = Vec::new();
        for nsp in &self.namespaces {
            subs.push(Subscription::Shard(self.channel(nsp)));
            subs.push(Subscription::Shard(format!(
                "{}#{nsp}#{}#",
                self.key, self.uid
            )));
            for room in self.rooms.get(nsp).into_iter().flatten() {
                subs.push(Subscription::Shard(self.room_channel(nsp, room)));
            }
        }
        subs
    }

    fn count(&self, nsp: &str) -> (&'static str, String) {
        ("SHARDNUMSUB", self.channel(nsp))
    }

    fn broadcast(&self, packet: BroadcastPacket, opts: BroadcastOpts) -> Publish {
        let nsp = packet.nsp().to_owned();
        let channel = match &opts.rooms[..] {
            [room]
                if self.mode == SubscriptionMode::DynamicPrivate
                    || (self.mode == SubscriptionMode::Dynamic && !looks_like_socket_id(room)) =>
            {
                self.room_channel(&nsp, room)
            }
            _ => self.channel(&nsp),
        };
        let data = map(vec![
            ("packet", packet_value(&packet)),
            ("opts", opts_value(&opts.rooms, &opts.except, &opts.flags)),
        ]);
        self.publish(channel, kind::BROADCAST, data, &nsp)
    }

    fn request(
        &mut self,
        now: Instant,
        nsp: &str,
        op: Operation,
        others: Option<u64>,
        timeout: Option<Duration>,
    ) -> Started {
        let channel = self.channel(nsp);
        let (kind, data) = match &op {
            Operation::JoinLeave { join, opts, rooms } => (
                if *join {
                    kind::SOCKETS_JOIN
                } else {
                    kind::SOCKETS_LEAVE
                },
                map(vec![
                    ("opts", opts_value(&opts.rooms, &opts.except, &[])),
                    ("rooms", strings(rooms)),
                ]),
            ),
            Operation::Disconnect { opts, close } => (
                kind::DISCONNECT_SOCKETS,
                map(vec![
                    ("opts", opts_value(&opts.rooms, &opts.except, &[])),
                    ("close", Value::Boolean(*close)),
                ]),
            ),
            Operation::ServerSideEmit { data, ack: false } => (
                kind::SERVER_SIDE_EMIT,
                map(vec![(
                    "packet",
                    Value::Array(data.iter().map(msgpack::from_json).collect()),
                )]),
            ),
            _ => (0, Value::Nil),
        };
        if kind != 0 {
            return Started {
                publish: Some(self.publish(channel, kind, data, nsp)),
                request_id: None,
                completed: None,
            };
        }
        let Some(waiting) = op.kind() else {
            unreachable!("operations with answers");
        };
        if matches!(op, Operation::AllRooms) {
            // ClusterAdapter has no such message (`allRooms is not a function` in Node).
            let completed = self
                .requests
                .start(now, nsp, waiting, Some(0), Duration::ZERO)
                .err()
                .map(|mut c| {
                    c.outcome = Err(RequestFailure::Unsupported);
                    c
                });
            return Started {
                publish: None,
                request_id: None,
                completed,
            };
        }
        let timeout = request_timeout(&op, timeout, self.requests_timeout);
        let request_id = match self.requests.start(now, nsp, waiting, others, timeout) {
            Ok(id) => id,
            Err(completed) => {
                return Started {
                    publish: None,
                    request_id: None,
                    completed: Some(completed),
                }
            }
        };
        let id = Value::from(request_id.as_str());
        let (kind, data) = match op {
            Operation::FetchSockets(opts) => (
                kind::FETCH_SOCKETS,
                map(vec![
                    ("opts", opts_value(&opts.rooms, &opts.except, &[])),
                    ("requestId", id),
                ]),
            ),
            Operation::ServerSideEmit { data, .. } => (
                kind::SERVER_SIDE_EMIT,
                map(vec![
                    ("requestId", id),
                    (
                        "packet",
                        Value::Array(data.iter().map(msgpack::from_json).collect()),
                    ),
                ]),
            ),
            Operation::BroadcastWithAck { packet, opts } => (
                kind::BROADCAST,
                map(vec![
                    ("packet", packet_value(&packet)),
                    ("requestId", id),
                    ("opts", opts_value(&opts.rooms, &opts.except, &opts.flags)),
                ]),
            ),
            _ => unreachable!("operations with answers"),
        };
        Started {
            publish: Some(self.publish(channel, kind, data, nsp)),
            request_id: Some(request_id),
            completed: None,
        }
    }

    fn set_others(&mut self, request_id: &str, others: u64) -> Option<Completed> {
        self.requests.set_others(request_id, others)
    }

    fn cancel(&mut self, request_id: &str) -> Option<Answers> {
        self.requests.cancel(request_id)
    }

    fn pending(&self) -> usize {
        self.requests.pending.len()
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.requests.next_deadline()
    }

    fn poll_timeouts(&mut self, now: Instant) -> Vec<Completed> {
        self.requests.poll_timeouts(now)
    }

    fn receive(&mut self, channel: &str, payload: &[u8]) -> Result<Received, ClusterError> {
        // The longest namespace whose channels this one starts with.
        let prefix = format!("{}#", self.key);
        let Some(nsp) = self
            .namespaces
            .iter()
            .rev()
            .find(|n| {
                channel
                    .strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.strip_prefix(n.as_str()))
                    .is_some_and(|rest| rest.starts_with('#'))
            })
            .cloned()
        else {
            return Ok(Received::Nothing);
        };
        let envelope = decode(payload)?;
        if envelope.uid.as_deref() == Some(self.uid.as_str())
            || envelope.nsp.as_deref() != Some(nsp.as_str())
        {
            return Ok(Received::Nothing);
        }
        Ok(match meaning(envelope, &nsp)? {
            Meaning::Broadcast(b) => Received::Broadcast(b),
            Meaning::Request(request) => Received::Request { nsp, request },
            Meaning::Response(r) => self
                .requests
                .take_response(r)
                .map_or(Received::Nothing, Received::Completed),
            Meaning::Nothing => Received::Nothing,
        })
    }

    fn respond(&self, nsp: &str, requester: Option<&str>, response: &Response) -> Option<Publish> {
        let requester = requester?;
        let channel = format!("{}#{nsp}#{requester}#", self.key);
        let (kind, data) = match response {
            Response::Sockets {
                request_id,
                sockets,
            } => (
                kind::FETCH_SOCKETS_RESPONSE,
                map(vec![
                    ("requestId", Value::from(request_id.as_str())),
                    (
                        "sockets",
                        Value::Array(
                            sockets
                                .iter()
                                .map(|s| {
                                    map(vec![
                                        ("id", Value::from(s.id.as_str())),
                                        ("handshake", msgpack::from_json(&s.handshake)),
                                        ("rooms", strings(&s.rooms)),
                                        ("data", msgpack::from_json(&s.data)),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                ]),
            ),
            Response::ServerSideEmit { request_id, data } => (
                kind::SERVER_SIDE_EMIT_RESPONSE,
                map(vec![
                    ("requestId", Value::from(request_id.as_str())),
                    ("packet", msgpack::from_json(data)),
                ]),
            ),
            Response::BroadcastClientCount {
                request_id,
                client_count,
            } => (
                kind::BROADCAST_CLIENT_COUNT,
                map(vec![
                    ("requestId", Value::from(request_id.as_str())),
                    ("clientCount", Value::from(*client_count)),
                ]),
            ),
            Response::BroadcastAck { request_id, packet } => (
                kind::BROADCAST_ACK,
                map(vec![
                    ("requestId", Value::from(request_id.as_str())),
                    ("packet", packet.clone()),
                ]),
            ),
            // The classic protocol's answers to requests this one does not have.
            _ => return None,
        };
        Some(self.publish(channel, kind, data, nsp))
    }

    fn wants_room_events(&self) -> bool {
        self.mode != SubscriptionMode::Static
    }

    fn room_created(&mut self, nsp: &str, room: &str, is_socket: bool) -> Option<Subscription> {
        if !self.separate(is_socket) || !self.namespaces.contains(nsp) {
            return None;
        }
        let rooms = self.rooms.entry(nsp.to_owned()).or_default();
        rooms
            .insert(room.to_owned())
            .then(|| Subscription::Shard(self.room_channel(nsp, room)))
    }

    fn room_deleted(&mut self, nsp: &str, room: &str) -> Option<Subscription> {
        let removed = self.rooms.get_mut(nsp)?.remove(room);
        removed.then(|| Subscription::Shard(self.room_channel(nsp, room)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::FleetNode;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn captured_json_broadcast_is_written_byte_for_byte() {
        let data = map(vec![
            (
                "packet",
                packet_value(&BroadcastPacket::event(
                    "/",
                    vec![
                        Value::from("plain"),
                        Value::from("hello"),
                        Value::from(1),
                        Value::F64(2.5),
                        Value::Boolean(true),
                        Value::Nil,
                        map(vec![("k", Value::from("v"))]),
                    ],
                )),
            ),
            ("opts", opts_value(&[], &[], &[])),
        ]);
        assert_eq!(
            String::from_utf8(encode(kind::BROADCAST, data, "15d40bb3533bb014", "/")).unwrap(),
            r#"{"type":3,"data":{"packet":{"type":2,"data":["plain","hello",1,2.5,true,null,{"k":"v"}]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"15d40bb3533bb014","nsp":"/"}"#
        );
    }

    #[test]
    fn captured_binary_broadcast_is_msgpack_byte_for_byte() {
        let bytes = hex("84a47479706503a46461746182a67061636b657482a47479706502a46461746193a362696ec40301020381a66e6573746564c4020405a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b031356434306262333533336262303134a36e7370a12f");
        let data = map(vec![
            (
                "packet",
                packet_value(&BroadcastPacket::event(
                    "/",
                    vec![
                        Value::from("bin"),
                        Value::Binary(vec![1, 2, 3]),
                        map(vec![("nested", Value::Binary(vec![4, 5]))]),
                    ],
                )),
            ),
            ("opts", opts_value(&[], &[], &[])),
        ]);
        assert_eq!(
            encode(kind::BROADCAST, data, "15d40bb3533bb014", "/"),
            bytes
        );
        let e = decode(&bytes).unwrap();
        let Ok(Meaning::Broadcast(b)) = meaning(e, "/") else {
            panic!()
        };
        assert_eq!(b.uid, "15d40bb3533bb014");
        assert_eq!(b.packet.data[1], Value::Binary(vec![1, 2, 3]));
    }

    fn node() -> ShardedNode {
        let mut n = 0u8;
        let mut node = ShardedNode::new(
            NodeConfig::default(),
            SubscriptionMode::Dynamic,
            Box::new(move |b: &mut [u8]| {
                for x in b {
                    n = n.wrapping_add(37);
                    *x = n;
                }
            }),
        );
        node.add_namespace("/").unwrap();
        node
    }

    /// Our message with the capture's uid and request id put in place of ours.
    fn as_captured(p: &Publish, uid: &str, request_id: Option<&str>, captured_id: &str) -> String {
        let mut text = String::from_utf8(p.payload.clone())
            .unwrap()
            .replace(uid, "15d40bb3533bb014");
        if let Some(id) = request_id {
            text = text.replace(id, captured_id);
        }
        text
    }

    #[test]
    fn requests_are_written_as_the_captured_ones() {
        let now = Instant::now();
        let mut n = node();
        let uid = n.uid().to_owned();
        let fetch = n.request(
            now,
            "/",
            Operation::FetchSockets(RoomsOpts {
                rooms: vec!["room1".into()],
                except: vec![],
            }),
            None,
            None,
        );
        assert_eq!(
            as_captured(
                fetch.publish.as_ref().unwrap(),
                &uid,
                fetch.request_id.as_deref(),
                "b62830dc1f9f9be4"
            ),
            r#"{"type":7,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"requestId":"b62830dc1f9f9be4"},"uid":"15d40bb3533bb014","nsp":"/"}"#
        );
        let sse = n.request(
            now,
            "/",
            Operation::ServerSideEmit {
                data: vec![Json::from("ping-servers"), Json::from(42)],
                ack: true,
            },
            None,
            None,
        );
        assert_eq!(
            as_captured(
                sse.publish.as_ref().unwrap(),
                &uid,
                sse.request_id.as_deref(),
                "66247a6afe59441c"
            ),
            r#"{"type":9,"data":{"requestId":"66247a6afe59441c","packet":["ping-servers",42]},"uid":"15d40bb3533bb014","nsp":"/"}"#
        );
        let no_ack = n.request(
            now,
            "/",
            Operation::ServerSideEmit {
                data: vec![Json::from("hello-servers"), Json::from("no ack")],
                ack: false,
            },
            None,
            None,
        );
        assert_eq!(
            as_captured(no_ack.publish.as_ref().unwrap(), &uid, None, ""),
            r#"{"type":9,"data":{"packet":["hello-servers","no ack"]},"uid":"15d40bb3533bb014","nsp":"/"}"#
        );
        let join = n.request(
            now,
            "/",
            Operation::JoinLeave {
                join: true,
                opts: RoomsOpts {
                    rooms: vec!["rqsGxtSgXUm4VnYHAAAA".into()],
                    except: vec![],
                },
                rooms: vec!["room3".into()],
            },
            None,
            None,
        );
        assert_eq!(
            as_captured(join.publish.as_ref().unwrap(), &uid, None, ""),
            r#"{"type":4,"data":{"opts":{"rooms":["rqsGxtSgXUm4VnYHAAAA"],"except":[],"flags":{}},"rooms":["room3"]},"uid":"15d40bb3533bb014","nsp":"/"}"#
        );
        let kick = n.request(
            now,
            "/",
            Operation::Disconnect {
                opts: RoomsOpts {
                    rooms: vec!["rqsGxtSgXUm4VnYHAAAA".into()],
                    except: vec![],
                },
                close: true,
            },
            None,
            None,
        );
        assert_eq!(
            as_captured(kick.publish.as_ref().unwrap(), &uid, None, ""),
            r#"{"type":6,"data":{"opts":{"rooms":["rqsGxtSgXUm4VnYHAAAA"],"except":[],"flags":{}},"close":true},"uid":"15d40bb3533bb014","nsp":"/"}"#
        );
    }

    #[test]
    fn answers_are_written_as_the_captured_ones_on_the_requesters_channel() {
        let n = node();
        let uid = n.uid().to_owned();
        let count = n
            .respond(
                "/",
                Some("15d40bb3533bb014"),
                &Response::BroadcastClientCount {
                    request_id: "8501851bd186dcf5".into(),
                    client_count: 1,
                },
            )
            .unwrap();
        assert_eq!(count.channel, "socket.io#/#15d40bb3533bb014#");
        assert_eq!(
            String::from_utf8(count.payload)
                .unwrap()
                .replace(&uid, "00514ee802e55c35"),
            r#"{"type":11,"data":{"requestId":"8501851bd186dcf5","clientCount":1},"uid":"00514ee802e55c35","nsp":"/"}"#
        );
        let ack = n
            .respond(
                "/",
                Some("15d40bb3533bb014"),
                &Response::BroadcastAck {
                    request_id: "8501851bd186dcf5".into(),
                    packet: map(vec![("answer", Value::from("from cB"))]),
                },
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(ack.payload)
                .unwrap()
                .replace(&uid, "00514ee802e55c35"),
            r#"{"type":12,"data":{"requestId":"8501851bd186dcf5","packet":{"answer":"from cB"}},"uid":"00514ee802e55c35","nsp":"/"}"#
        );
        let sse = n
            .respond(
                "/",
                Some("15d40bb3533bb014"),
                &Response::ServerSideEmit {
                    request_id: "66247a6afe59441c".into(),
                    data: serde_json::json!({"from": "B", "got": [42]}),
                },
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(sse.payload)
                .unwrap()
                .replace(&uid, "00514ee802e55c35"),
            r#"{"type":10,"data":{"requestId":"66247a6afe59441c","packet":{"from":"B","got":[42]}},"uid":"00514ee802e55c35","nsp":"/"}"#
        );
        // Binary in an answer: msgpack.
        let bin = n
            .respond(
                "/",
                Some("x"),
                &Response::BroadcastAck {
                    request_id: "r".into(),
                    packet: Value::Binary(vec![1]),
                },
            )
            .unwrap();
        assert_eq!(bin.payload[0], 0x84);
    }

    #[test]
    fn captured_requests_and_responses_read_as_the_classic_values() {
        let cases: [(&str, &str); 5] = [
            (
                r#"{"type":7,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"requestId":"b62830dc1f9f9be4"},"uid":"15d40bb3533bb014","nsp":"/"}"#,
                "fetch",
            ),
            (
                r#"{"type":9,"data":{"requestId":"66247a6afe59441c","packet":["ping-servers",42]},"uid":"15d40bb3533bb014","nsp":"/"}"#,
                "sse",
            ),
            (
                r#"{"type":4,"data":{"opts":{"rooms":["rqsGxtSgXUm4VnYHAAAA"],"except":[],"flags":{}},"rooms":["room3"]},"uid":"15d40bb3533bb014","nsp":"/"}"#,
                "join",
            ),
            (
                r#"{"type":11,"data":{"requestId":"8501851bd186dcf5","clientCount":1},"uid":"00514ee802e55c35","nsp":"/"}"#,
                "count",
            ),
            (
                r#"{"type":6,"data":{"opts":{"rooms":["rqsGxtSgXUm4VnYHAAAA"],"except":[],"flags":{}},"close":true},"uid":"15d40bb3533bb014","nsp":"/"}"#,
                "disconnect",
            ),
        ];
        for (text, what) in cases {
            let m = meaning(decode(text.as_bytes()).unwrap(), "/").unwrap();
            match (what, m) {
                (
                    "fetch",
                    Meaning::Request(Request::RemoteFetch {
                        request_id, opts, ..
                    }),
                ) => {
                    assert_eq!(request_id, "b62830dc1f9f9be4");
                    assert_eq!(opts.rooms, ["room1"]);
                }
                (
                    "sse",
                    Meaning::Request(Request::ServerSideEmit {
                        request_id, data, ..
                    }),
                ) => {
                    assert_eq!(request_id.as_deref(), Some("66247a6afe59441c"));
                    assert_eq!(data, [Json::from("ping-servers"), Json::from(42)]);
                }
                ("join", Meaning::Request(Request::RemoteJoinLeave { join, rooms, .. })) => {
                    assert!(join);
                    assert_eq!(rooms, ["room3"]);
                }
                (
                    "count",
                    Meaning::Response(Response::BroadcastClientCount { client_count, .. }),
                ) => {
                    assert_eq!(client_count, 1);
                }
                ("disconnect", Meaning::Request(Request::RemoteDisconnect { close, .. })) => {
                    assert!(close);
                }
                _ => panic!("{what}"),
            }
        }
    }
}
