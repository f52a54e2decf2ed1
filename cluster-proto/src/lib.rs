//! The messages Socket.IO servers exchange through Redis, as values: the classic
//! `@socket.io/redis-adapter` 8.x protocol (the one `@socket.io/redis-emitter` speaks), encoded
//! and decoded byte for byte as Node's notepack.io and `JSON.stringify` write them
//! (`../shared/protocol/redis-adapter.md` §2–§3).
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
