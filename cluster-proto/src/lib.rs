//! The messages Socket.IO servers exchange through Redis, as values: the classic
//! `@socket.io/redis-adapter` 8.x protocol (the one `@socket.io/redis-emitter` speaks), encoded
//! and decoded byte for byte as Node's notepack.io and `JSON.stringify` write them
//! (`../shared/protocol/redis-adapter.md` §2–§3).
//!
//! ```
//! use socketio_cluster_proto::msgpack::from_json;
//! use socketio_cluster_proto::{channels, Broadcast, BroadcastOpts, BroadcastPacket};
//!
//! // `io.to("room1").emit("news", "hello")` on a node of a Node fleet publishes this:
//! let broadcast = Broadcast {
//!     uid: "node-a".into(),
//!     packet: BroadcastPacket::event("/", vec![from_json(&"news".into()), from_json(&"hello".into())]),
//!     opts: BroadcastOpts { rooms: vec!["room1".into()], ..BroadcastOpts::default() },
//! };
//! // On the room's channel, as msgpack (what a Redis client publishes).
//! assert_eq!(broadcast.channel("socket.io"), channels::room("socket.io", "/", "room1"));
//! let bytes = broadcast.encode();
//!
//! // Every other node reads it back from its pattern subscription.
//! assert_eq!(Broadcast::decode(&bytes)?, broadcast);
//! # Ok::<(), socketio_cluster_proto::ClusterError>(())
//! ```
//!
//! [socketio-redis](https://docs.rs/socketio-redis) moves these messages over a Redis
//! connection for the servers of [socketio-tokio](https://docs.rs/socketio-tokio) and
//! [socketio-smol](https://docs.rs/socketio-smol); the packets inside are
//! [socketio-proto](https://docs.rs/socketio-proto)'s. This crate has no optional features.
//!
//! Pure: no Redis client, no runtime, no clock. A node publishes what [`Broadcast::encode`],
//! [`Request::encode`] and [`Response::encode`] give, on the channels [`channels`] names, and
//! feeds what it receives to the decoders.
//!
//! [`node::ClassicNode`] is one node of such a fleet as a machine: its subscriptions, what it
//! publishes, what it receives means, and the requests it waits on, driven by `now`.
//!
//! Binary travels inline (msgpack `bin`); a message's optional fields are left out when absent,
//! never written as nil (Node tells `requestId: undefined` from a nil one, and a nil `id` turns a
//! broadcast into an ack request).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod convert;
mod message;
pub mod msgpack;
pub mod node;
pub mod sharded;

pub use message::{
    channels, Broadcast, BroadcastOpts, BroadcastPacket, ClusterError, RemoteSocket, Request,
    Response, RoomsOpts,
};
pub use rmpv::Value as MsgValue;
