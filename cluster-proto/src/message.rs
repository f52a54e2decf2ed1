//! The classic adapter's messages: broadcasts (msgpack arrays), requests and responses (JSON,
//! except the broadcast-with-ack pair, msgpack maps).

use rmpv::Value;
use serde_json::Value as Json;

use crate::msgpack::{self, get};

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// Not MessagePack (or bytes after the value).
    #[error("malformed MessagePack")]
    Msgpack,
    /// Not JSON.
    #[error("malformed JSON")]
    Json,
    /// Well-formed, but not a message of the protocol (a field missing or of the wrong type,
    /// an unknown request type).
    #[error("not an adapter message: {0}")]
    Shape(&'static str),
}

/// The channels of namespace `nsp` for the adapter prefix `key` (`socket.io` by default).
pub mod channels {
    /// Broadcasts to no room, or to two rooms or more: `socket.io#/#`.
    pub fn broadcast(key: &str, nsp: &str) -> String {
        format!("{key}#{nsp}#")
    }

    /// A broadcast to exactly one room: `socket.io#/#room#`.
    pub fn room(key: &str, nsp: &str, room: &str) -> String {
        format!("{key}#{nsp}#{room}#")
    }

    /// The pattern a node subscribes to for broadcasts: `socket.io#/#*`.
    pub fn broadcast_pattern(key: &str, nsp: &str) -> String {
        format!("{key}#{nsp}#*")
    }

    /// Requests: `socket.io-request#/#`.
    pub fn request(key: &str, nsp: &str) -> String {
        format!("{key}-request#{nsp}#")
    }

    /// Responses, shared by every node: `socket.io-response#/#`.
    pub fn response(key: &str, nsp: &str) -> String {
        format!("{key}-response#{nsp}#")
    }

    /// Responses for node `uid` only: `socket.io-response#/#uid#`.
    pub fn response_for(key: &str, nsp: &str, uid: &str) -> String {
        format!("{key}-response#{nsp}#{uid}#")
    }

    /// The room a pattern message names (`socket.io#/#room1#` → `room1`; the broadcast channel
    /// itself → `""`), or `None` for another channel.
    pub fn room_of<'a>(key: &str, nsp: &str, channel: &'a str) -> Option<&'a str> {
        let rest = channel.strip_prefix(key)?.strip_prefix('#')?;
        let rest = rest.strip_prefix(nsp)?.strip_prefix('#')?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_suffix('#')
    }
}

/// The socket.io-parser packet a broadcast carries (before encoding for clients): always an
/// EVENT (type 2), binary inline.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastPacket {
    /// The packet type (2, EVENT).
    pub kind: u8,
    /// `[event, ...args]`.
    pub data: Vec<Value>,
    /// The namespace (absent means `/`).
    pub nsp: Option<String>,
    /// Only on a packet that asks for an ack.
    pub id: Option<u64>,
}

impl BroadcastPacket {
    /// An EVENT for `nsp` with `data` = `[event, ...args]`.
    pub fn event(nsp: &str, data: Vec<Value>) -> Self {
        BroadcastPacket {
            kind: 2,
            data,
            nsp: Some(nsp.to_owned()),
            id: None,
        }
    }

    fn to_value(&self) -> Value {
        let mut map = vec![
            (Value::from("type"), Value::from(self.kind)),
            (Value::from("data"), Value::Array(self.data.clone())),
        ];
        if let Some(nsp) = &self.nsp {
            map.push((Value::from("nsp"), Value::from(nsp.as_str())));
        }
        if let Some(id) = self.id {
            map.push((Value::from("id"), Value::from(id)));
        }
        Value::Map(map)
    }

    fn from_value(v: &Value) -> Result<Self, ClusterError> {
        let kind = get(v, "type")
            .and_then(Value::as_u64)
            .and_then(|k| u8::try_from(k).ok())
            .ok_or(ClusterError::Shape("packet type"))?;
        let data = match get(v, "data") {
            Some(Value::Array(items)) => items.clone(),
            _ => return Err(ClusterError::Shape("packet data")),
        };
        let nsp = match get(v, "nsp") {
            None | Some(Value::Nil) => None,
            Some(n) => Some(
                n.as_str()
                    .ok_or(ClusterError::Shape("packet nsp"))?
                    .to_owned(),
            ),
        };
        let id = match get(v, "id") {
            None | Some(Value::Nil) => None,
            Some(id) => Some(id.as_u64().ok_or(ClusterError::Shape("packet id"))?),
        };
        Ok(BroadcastPacket {
            kind,
            data,
            nsp,
            id,
        })
    }

    /// The namespace, `/` when absent.
    pub fn nsp(&self) -> &str {
        self.nsp.as_deref().unwrap_or("/")
    }
}

/// A broadcast's targets and flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BroadcastOpts {
    /// Rooms (none: every socket).
    pub rooms: Vec<String>,
    /// Rooms left out (the sender's own id for `socket.broadcast`).
    pub except: Vec<String>,
    /// The BroadcastOperator flags that were set, in the order they were set (`volatile`,
    /// `compress`, `timeout`, `local`).
    pub flags: Vec<(String, Value)>,
}

impl BroadcastOpts {
    fn to_value(&self) -> Value {
        Value::Map(vec![
            (Value::from("rooms"), strings(&self.rooms)),
            (Value::from("except"), strings(&self.except)),
            (
                Value::from("flags"),
                Value::Map(
                    self.flags
                        .iter()
                        .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                        .collect(),
                ),
            ),
        ])
    }

    fn from_value(v: &Value) -> Result<Self, ClusterError> {
        let flags = match get(v, "flags") {
            None | Some(Value::Nil) => Vec::new(),
            Some(Value::Map(pairs)) => pairs
                .iter()
                .map(|(k, v)| {
                    k.as_str()
                        .map(|k| (k.to_owned(), v.clone()))
                        .ok_or(ClusterError::Shape("flag name"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ClusterError::Shape("flags")),
        };
        Ok(BroadcastOpts {
            rooms: string_list(get(v, "rooms"))?,
            except: string_list(get(v, "except"))?,
            flags,
        })
    }

    /// A flag's value (`timeout`, `volatile`, ...).
    pub fn flag(&self, name: &str) -> Option<&Value> {
        self.flags.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn string_list(v: Option<&Value>) -> Result<Vec<String>, ClusterError> {
    match v {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s
                    .as_str()
                    .map(str::to_owned)
                    .ok_or(ClusterError::Shape("room")),
                // Node rooms may be numbers.
                Value::Integer(n) => Ok(n.to_string()),
                _ => Err(ClusterError::Shape("room")),
            })
            .collect(),
        Some(_) => Err(ClusterError::Shape("rooms")),
    }
}

/// A broadcast published to the namespace's broadcast channel (or its one room's):
/// `[uid, packet, opts]`. The emitter publishes with uid `emitter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The publishing node (a receiver drops its own).
    pub uid: String,
    /// The packet.
    pub packet: BroadcastPacket,
    /// Targets and flags.
    pub opts: BroadcastOpts,
}

impl Broadcast {
    /// The message bytes.
    pub fn encode(&self) -> Vec<u8> {
        msgpack::encode(&Value::Array(vec![
            Value::from(self.uid.as_str()),
            self.packet.to_value(),
            self.opts.to_value(),
        ]))
    }

    /// Reads a broadcast message.
    pub fn decode(bytes: &[u8]) -> Result<Self, ClusterError> {
        let v = msgpack::decode(bytes)?;
        let Value::Array(items) = v else {
            return Err(ClusterError::Shape("broadcast is not an array"));
        };
        let [uid, packet, opts] = &items[..] else {
            return Err(ClusterError::Shape("broadcast is not [uid, packet, opts]"));
        };
        Ok(Broadcast {
            uid: uid
                .as_str()
                .ok_or(ClusterError::Shape("broadcast uid"))?
                .to_owned(),
            packet: BroadcastPacket::from_value(packet)?,
            opts: BroadcastOpts::from_value(opts)?,
        })
    }

    /// The channel it is published on with adapter prefix `key`: its room's when it names
    /// exactly one room, else the namespace's.
    pub fn channel(&self, key: &str) -> String {
        match &self.opts.rooms[..] {
            [room] => channels::room(key, self.packet.nsp(), room),
            _ => channels::broadcast(key, self.packet.nsp()),
        }
    }
}

/// `opts` of the remote operations: which sockets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomsOpts {
    /// Rooms (none: every socket).
    pub rooms: Vec<String>,
    /// Rooms left out.
    pub except: Vec<String>,
}

impl RoomsOpts {
    fn to_json(&self) -> String {
        format!(
            "{{\"rooms\":{},\"except\":{}}}",
            json_text(&self.rooms),
            json_text(&self.except)
        )
    }

    fn from_json(v: Option<&Json>) -> Result<Self, ClusterError> {
        Ok(RoomsOpts {
            rooms: json_strings(v.and_then(|v| v.get("rooms")), "opts rooms")?,
            except: json_strings(v.and_then(|v| v.get("except")), "opts except")?,
        })
    }
}

/// A JSON list of rooms or ids (numbers, which Node rooms may be, as their text); absent or
/// null is empty.
fn json_strings(v: Option<&Json>, what: &'static str) -> Result<Vec<String>, ClusterError> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => Ok(s.clone()),
                Json::Number(n) => Ok(n.to_string()),
                _ => Err(ClusterError::Shape(what)),
            })
            .collect(),
        Some(_) => Err(ClusterError::Shape(what)),
    }
}

/// A msgpack message that must be a map of type `kind` (the broadcast-with-ack pair).
fn msgpack_of_type(bytes: &[u8], kind: u64, what: &'static str) -> Result<Value, ClusterError> {
    let v = msgpack::decode(bytes)?;
    if get(&v, "type").and_then(Value::as_u64) != Some(kind) {
        return Err(ClusterError::Shape(what));
    }
    Ok(v)
}

fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// A request published to `socket.io-request#<nsp>#` (`../shared/protocol/redis-adapter.md`
/// §3.1). The uid is absent in some of the emitter's requests.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// 0: the ids of the sockets in `rooms` (no longer sent by Node 8.x, still answered).
    Sockets {
        /// The requester.
        uid: Option<String>,
        /// Names the answers.
        request_id: String,
        /// Rooms.
        rooms: Vec<String>,
    },
    /// 1: every room of every node.
    AllRooms {
        /// The requester.
        uid: Option<String>,
        /// Names the answers.
        request_id: String,
    },
    /// 2 (`join`) / 3 (leave): the matching sockets join or leave `rooms`; no answer.
    RemoteJoinLeave {
        /// Join (2) or leave (3).
        join: bool,
        /// The requester.
        uid: Option<String>,
        /// Which sockets.
        opts: RoomsOpts,
        /// The rooms to join or leave.
        rooms: Vec<String>,
    },
    /// 4: the matching sockets are disconnected (`close`: their connections too); no answer.
    RemoteDisconnect {
        /// The requester.
        uid: Option<String>,
        /// Which sockets.
        opts: RoomsOpts,
        /// Close the underlying connections too.
        close: bool,
    },
    /// 2, 3, 4 in their 7.x form (one socket by id); answered with [`Response::Done`].
    Legacy {
        /// 2, 3 or 4.
        kind: u8,
        /// The requester.
        uid: Option<String>,
        /// Names the answer.
        request_id: String,
        /// The socket.
        sid: String,
        /// The room (join, leave).
        room: Option<String>,
        /// Close (disconnect).
        close: bool,
    },
    /// 5: `fetchSockets()`.
    RemoteFetch {
        /// The requester.
        uid: Option<String>,
        /// Names the answers.
        request_id: String,
        /// Which sockets.
        opts: RoomsOpts,
    },
    /// 6: `serverSideEmit(event, ...args)`, with a `request_id` only when an ack is wanted.
    ServerSideEmit {
        /// The requester.
        uid: Option<String>,
        /// Present when the requester waits for answers.
        request_id: Option<String>,
        /// `[event, ...args]`.
        data: Vec<Json>,
    },
    /// 7: a broadcast whose clients' acks are collected (msgpack).
    BroadcastWithAck {
        /// The requester.
        uid: String,
        /// Names the answers.
        request_id: String,
        /// The packet (no `id`: each node gives its own).
        packet: BroadcastPacket,
        /// Targets and flags (`timeout`).
        opts: BroadcastOpts,
    },
}

/// `{"uid":…,` or nothing.
fn uid_field(uid: &Option<String>) -> String {
    uid.as_ref()
        .map(|u| format!("\"uid\":{},", json_text(u)))
        .unwrap_or_default()
}

impl Request {
    /// The message bytes: JSON with Node's key order, msgpack for a broadcast with ack.
    pub fn encode(&self) -> Vec<u8> {
        let text = match self {
            Request::Sockets {
                uid,
                request_id,
                rooms,
            } => format!(
                "{{{}\"requestId\":{},\"type\":0,\"rooms\":{}}}",
                uid_field(uid),
                json_text(request_id),
                json_text(rooms)
            ),
            Request::AllRooms { uid, request_id } => format!(
                "{{{}\"requestId\":{},\"type\":1}}",
                uid_field(uid),
                json_text(request_id)
            ),
            Request::RemoteJoinLeave {
                join,
                uid,
                opts,
                rooms,
            } => format!(
                "{{{}\"type\":{},\"opts\":{},\"rooms\":{}}}",
                uid_field(uid),
                if *join { 2 } else { 3 },
                opts.to_json(),
                json_text(rooms)
            ),
            Request::RemoteDisconnect { uid, opts, close } => format!(
                "{{{}\"type\":4,\"opts\":{},\"close\":{close}}}",
                uid_field(uid),
                opts.to_json()
            ),
            Request::Legacy {
                kind,
                uid,
                request_id,
                sid,
                room,
                close,
            } => {
                let tail = match kind {
                    4 => format!(",\"close\":{close}"),
                    _ => format!(",\"room\":{}", json_text(room.as_deref().unwrap_or(""))),
                };
                format!(
                    "{{{}\"requestId\":{},\"type\":{kind},\"sid\":{}{tail}}}",
                    uid_field(uid),
                    json_text(request_id),
                    json_text(sid)
                )
            }
            Request::RemoteFetch {
                uid,
                request_id,
                opts,
            } => format!(
                "{{{}\"requestId\":{},\"type\":5,\"opts\":{}}}",
                uid_field(uid),
                json_text(request_id),
                opts.to_json()
            ),
            Request::ServerSideEmit {
                uid,
                request_id,
                data,
            } => format!(
                "{{{}{}\"type\":6,\"data\":{}}}",
                uid_field(uid),
                request_id
                    .as_ref()
                    .map(|r| format!("\"requestId\":{},", json_text(r)))
                    .unwrap_or_default(),
                json_text(data)
            ),
            Request::BroadcastWithAck {
                uid,
                request_id,
                packet,
                opts,
            } => {
                return msgpack::encode(&Value::Map(vec![
                    (Value::from("uid"), Value::from(uid.as_str())),
                    (Value::from("requestId"), Value::from(request_id.as_str())),
                    (Value::from("type"), Value::from(7)),
                    (Value::from("packet"), packet.to_value()),
                    (Value::from("opts"), opts.to_value()),
                ]))
            }
        };
        text.into_bytes()
    }

    /// Reads a request: JSON when it starts with `{`, msgpack otherwise (§3.2).
    pub fn decode(bytes: &[u8]) -> Result<Self, ClusterError> {
        if bytes.first() != Some(&b'{') {
            let v = msgpack_of_type(bytes, 7, "msgpack request of another type than 7")?;
            let text = |key: &'static str| {
                get(&v, key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or(ClusterError::Shape(key))
            };
            return Ok(Request::BroadcastWithAck {
                uid: text("uid")?,
                request_id: text("requestId")?,
                packet: BroadcastPacket::from_value(
                    get(&v, "packet").ok_or(ClusterError::Shape("packet"))?,
                )?,
                opts: BroadcastOpts::from_value(
                    get(&v, "opts").ok_or(ClusterError::Shape("opts"))?,
                )?,
            });
        }
        let v: Json = serde_json::from_slice(bytes).map_err(|_| ClusterError::Json)?;
        let uid = v.get("uid").and_then(Json::as_str).map(str::to_owned);
        let request_id = v.get("requestId").and_then(Json::as_str).map(str::to_owned);
        let need_id = || request_id.clone().ok_or(ClusterError::Shape("requestId"));
        let strings = |key: &'static str| json_strings(v.get(key), key);
        let kind = v
            .get("type")
            .and_then(Json::as_u64)
            .ok_or(ClusterError::Shape("type"))?;
        Ok(match kind {
            0 => Request::Sockets {
                uid,
                request_id: need_id()?,
                rooms: strings("rooms")?,
            },
            1 => Request::AllRooms {
                uid,
                request_id: need_id()?,
            },
            2..=4 if v.get("sid").is_some() => Request::Legacy {
                kind: kind as u8,
                uid,
                request_id: need_id()?,
                sid: v
                    .get("sid")
                    .and_then(Json::as_str)
                    .ok_or(ClusterError::Shape("sid"))?
                    .to_owned(),
                room: v.get("room").and_then(Json::as_str).map(str::to_owned),
                close: v.get("close").and_then(Json::as_bool).unwrap_or(false),
            },
            2 | 3 => Request::RemoteJoinLeave {
                join: kind == 2,
                uid,
                opts: RoomsOpts::from_json(v.get("opts"))?,
                rooms: strings("rooms")?,
            },
            4 => Request::RemoteDisconnect {
                uid,
                opts: RoomsOpts::from_json(v.get("opts"))?,
                close: v.get("close").and_then(Json::as_bool).unwrap_or(false),
            },
            5 => Request::RemoteFetch {
                uid,
                request_id: need_id()?,
                opts: RoomsOpts::from_json(v.get("opts"))?,
            },
            6 => Request::ServerSideEmit {
                uid,
                request_id,
                data: match v.get("data") {
                    Some(Json::Array(items)) => items.clone(),
                    _ => return Err(ClusterError::Shape("data")),
                },
            },
            _ => return Err(ClusterError::Shape("unknown request type")),
        })
    }

    /// The request id, when the requester waits for answers.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Request::Sockets { request_id, .. }
            | Request::AllRooms { request_id, .. }
            | Request::Legacy { request_id, .. }
            | Request::RemoteFetch { request_id, .. }
            | Request::BroadcastWithAck { request_id, .. } => Some(request_id),
            Request::ServerSideEmit { request_id, .. } => request_id.as_deref(),
            Request::RemoteJoinLeave { .. } | Request::RemoteDisconnect { .. } => None,
        }
    }
}

/// One socket in an answer to [`Request::RemoteFetch`]: what Node builds its `RemoteSocket`
/// from.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSocket {
    /// The socket id.
    pub id: String,
    /// The handshake (`headers`, `time`, `address`, `xdomain`, `secure`, `issued`, `url`,
    /// `query`, `auth`).
    pub handshake: Json,
    /// Its rooms, its own id room included.
    pub rooms: Vec<String>,
    /// The socket's `data`.
    pub data: Json,
}

/// A response published to `socket.io-response#<nsp>#` (no uid: the request id names it).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Response {
    /// To 0: socket ids.
    SocketIds {
        /// The request.
        request_id: String,
        /// Ids.
        sockets: Vec<String>,
    },
    /// To 1: rooms.
    Rooms {
        /// The request.
        request_id: String,
        /// Every local room.
        rooms: Vec<String>,
    },
    /// To 5: sockets.
    Sockets {
        /// The request.
        request_id: String,
        /// The matching local sockets.
        sockets: Vec<RemoteSocket>,
    },
    /// To 6: the first argument of one node's ack.
    ServerSideEmit {
        /// The request.
        request_id: String,
        /// The answer.
        data: Json,
    },
    /// 8, to 7: how many local clients the broadcast reached (0 included).
    BroadcastClientCount {
        /// The request.
        request_id: String,
        /// Clients.
        client_count: u64,
    },
    /// 9, to 7: one client's ack (its first argument; msgpack, binary kept).
    BroadcastAck {
        /// The request.
        request_id: String,
        /// The answer.
        packet: Value,
    },
    /// To a legacy join, leave or disconnect: done.
    Done {
        /// The request.
        request_id: String,
    },
}

impl Response {
    /// The message bytes (JSON, msgpack for a broadcast ack).
    pub fn encode(&self) -> Vec<u8> {
        let text = match self {
            Response::SocketIds {
                request_id,
                sockets,
            } => format!(
                "{{\"requestId\":{},\"sockets\":{}}}",
                json_text(request_id),
                json_text(sockets)
            ),
            Response::Rooms { request_id, rooms } => format!(
                "{{\"requestId\":{},\"rooms\":{}}}",
                json_text(request_id),
                json_text(rooms)
            ),
            Response::Sockets {
                request_id,
                sockets,
            } => {
                let items: Vec<String> = sockets
                    .iter()
                    .map(|s| {
                        format!(
                            "{{\"id\":{},\"handshake\":{},\"rooms\":{},\"data\":{}}}",
                            json_text(&s.id),
                            json_text(&s.handshake),
                            json_text(&s.rooms),
                            json_text(&s.data)
                        )
                    })
                    .collect();
                format!(
                    "{{\"requestId\":{},\"sockets\":[{}]}}",
                    json_text(request_id),
                    items.join(",")
                )
            }
            Response::ServerSideEmit { request_id, data } => format!(
                "{{\"type\":6,\"requestId\":{},\"data\":{}}}",
                json_text(request_id),
                json_text(data)
            ),
            Response::BroadcastClientCount {
                request_id,
                client_count,
            } => format!(
                "{{\"type\":8,\"requestId\":{},\"clientCount\":{client_count}}}",
                json_text(request_id)
            ),
            Response::BroadcastAck { request_id, packet } => {
                return msgpack::encode(&Value::Map(vec![
                    (Value::from("type"), Value::from(9)),
                    (Value::from("requestId"), Value::from(request_id.as_str())),
                    (Value::from("packet"), packet.clone()),
                ]))
            }
            Response::Done { request_id } => {
                format!("{{\"requestId\":{}}}", json_text(request_id))
            }
        };
        text.into_bytes()
    }

    /// Reads a response. Without a `type`, the shape decides: `sockets` of strings are ids
    /// (to 0), of objects sockets (to 5); `rooms`; nothing else is a legacy done.
    pub fn decode(bytes: &[u8]) -> Result<Self, ClusterError> {
        if bytes.first() != Some(&b'{') {
            let v = msgpack_of_type(bytes, 9, "msgpack response of another type than 9")?;
            return Ok(Response::BroadcastAck {
                request_id: get(&v, "requestId")
                    .and_then(Value::as_str)
                    .ok_or(ClusterError::Shape("requestId"))?
                    .to_owned(),
                packet: get(&v, "packet").cloned().unwrap_or(Value::Nil),
            });
        }
        let v: Json = serde_json::from_slice(bytes).map_err(|_| ClusterError::Json)?;
        let request_id = v
            .get("requestId")
            .and_then(Json::as_str)
            .ok_or(ClusterError::Shape("requestId"))?
            .to_owned();
        let strings = |items: &Vec<Json>| -> Result<Vec<String>, ClusterError> {
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or(ClusterError::Shape("string list"))
                })
                .collect()
        };
        Ok(match v.get("type").and_then(Json::as_u64) {
            Some(6) => Response::ServerSideEmit {
                request_id,
                data: v.get("data").cloned().unwrap_or(Json::Null),
            },
            Some(8) => Response::BroadcastClientCount {
                request_id,
                client_count: v
                    .get("clientCount")
                    .and_then(Json::as_u64)
                    .ok_or(ClusterError::Shape("clientCount"))?,
            },
            Some(_) => return Err(ClusterError::Shape("unknown response type")),
            None => match (v.get("sockets"), v.get("rooms")) {
                (Some(Json::Array(items)), _) if items.iter().all(Json::is_string) => {
                    Response::SocketIds {
                        request_id,
                        sockets: strings(items)?,
                    }
                }
                (Some(Json::Array(items)), _) => Response::Sockets {
                    request_id,
                    sockets: items
                        .iter()
                        .map(|s| {
                            Ok(RemoteSocket {
                                id: s
                                    .get("id")
                                    .and_then(Json::as_str)
                                    .ok_or(ClusterError::Shape("socket id"))?
                                    .to_owned(),
                                handshake: s.get("handshake").cloned().unwrap_or(Json::Null),
                                rooms: match s.get("rooms") {
                                    Some(Json::Array(r)) => strings(r)?,
                                    _ => Vec::new(),
                                },
                                data: s.get("data").cloned().unwrap_or(Json::Null),
                            })
                        })
                        .collect::<Result<_, ClusterError>>()?,
                },
                (_, Some(Json::Array(items))) => Response::Rooms {
                    request_id,
                    rooms: strings(items)?,
                },
                _ => Response::Done { request_id },
            },
        })
    }
}
