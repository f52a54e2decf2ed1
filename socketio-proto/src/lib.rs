//! Sans-IO Socket.IO, protocol revisions 5 and 4, on top of Engine.IO messages.
//!
//! This crate consumes and produces Engine.IO message packets ([`engineio_proto::Packet`]); it
//! never sees HTTP or WebSocket, a clock or a socket.
//!
//! # Embedding it: bytes in, events out, frames back
//!
//! A server connection fed the WebSocket frames of an Engine.IO v4 session (decoded with
//! [`engineio_proto`]'s codec; in a real driver an [`engineio_proto::server::Session`] does
//! that and runs the heartbeat), its events read, and the frames to send back encoded:
//!
//! ```
//! use std::time::Instant;
//! use engineio_proto::{decode_ws_frame, encode_ws_frame, BytesMut, EngineIoVersion, Message, WsFrame};
//! use socketio_proto::server::{ConnEvent, ConnId, Server, ServerConfig, ServerConn};
//! use socketio_proto::SocketIoVersion;
//!
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::default(), Box::new(|b: &mut [u8]| b.fill(1)));
//! server.add_namespace("/");
//! // One ServerConn per Engine.IO session (here a v4 session over WebSocket).
//! let mut conn = ServerConn::new(now, ConnId::new("eio-sid"), SocketIoVersion::V5, server.config().clone());
//!
//! // In: the WebSocket frames a client sent; Engine.IO decodes them into messages.
//! let feed = |conn: &mut ServerConn, frame: &str| -> Result<(), Box<dyn std::error::Error>> {
//!     let packet = decode_ws_frame(EngineIoVersion::V4, WsFrame::Text(frame.into()), 1_000_000)?;
//!     // Pings and the like are the Engine.IO session's business; messages are Socket.IO's.
//!     conn.handle_message(now, Message::from_packet(packet).expect("a message"));
//!     Ok(())
//! };
//! // Out: Socket.IO messages become Engine.IO packets, then frames.
//! let frames = |conn: &mut ServerConn| {
//!     let mut buf = BytesMut::new();
//!     std::iter::from_fn(|| conn.poll_transmit())
//!         .map(|out| {
//!             encode_ws_frame(EngineIoVersion::V4, out.message.into_packet(), true, &mut buf).joined()
//!         })
//!         .collect::<Vec<_>>()
//! };
//!
//! // A CONNECT to `/` with an auth payload: the application decides.
//! feed(&mut conn, r#"40{"token":"abc"}"#)?;
//! let Some(ConnEvent::Connect(request)) = conn.poll_event() else { panic!() };
//! assert_eq!(request.auth()["token"], "abc");
//! let request = server.resolve(&mut conn, request).expect("`/` exists");
//! let accepted = server.accept(now, &mut conn, request);
//! let out = frames(&mut conn);
//! let WsFrame::Text(connect) = &out[0] else { panic!() };
//! assert_eq!(&connect[..], format!(r#"40{{"sid":"{}"}}"#, accepted.socket.as_str()));
//!
//! // An event asking for an ack: the application reads its arguments and answers.
//! feed(&mut conn, r#"421["hello","world"]"#)?;
//! let Some(ConnEvent::Event { nsp, packet, .. }) = conn.poll_event() else { panic!() };
//! let (word,): (String,) = packet.args()?;
//! conn.ack(&nsp, packet.ack_id().expect("asked"), &(word.len(),))?;
//! assert_eq!(frames(&mut conn), [WsFrame::Text("431[5]".into())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [socketio-tokio](https://docs.rs/socketio-tokio) and [socketio-smol](https://docs.rs/socketio-smol)
//! run this loop for you behind an async API of handlers;
//! [socketio-embedded](https://docs.rs/socketio-embedded) runs it on blocking threads and is
//! short enough to read as a guide; [socketio-cluster-proto](https://docs.rs/socketio-cluster-proto)
//! carries these packets between servers through Redis.
//!
//! # Features
//!
//! - `msgpack`: `Parser::Msgpack` and the `msgpack` module, the packets of
//!   socket.io-msgpack-parser 3.x byte for byte (one binary message per packet, binary values
//!   inline). No extra dependency; adds code only.
//! - `sim`: the `sim` module, whole conversations of servers and clients over
//!   engineio-proto's simulation, on a virtual clock (enables `engineio-proto/sim`). Costs
//!   nothing when off.
//! - `arbitrary`: `arbitrary::Arbitrary` for the simulation's operations, for fuzz targets.
//!   Adds the `arbitrary` dependency.
//!
//! No feature is on by default.
//!
//! # The machines
//!
//! - Server: a [`server::Server`] holds what spans connections (namespaces, static and
//!   dynamic; [`rooms`]; ack id counters; socket ids; connection state recovery) and a
//!   [`server::ServerConn`] per Engine.IO session holds that session's namespace sockets, their
//!   pending acks and the connect timeout. A CONNECT is a decision token
//!   ([`server::ConnectRequest`]) the application accepts ([`server::Server::accept`]) or
//!   rejects ([`server::ServerConn::reject`]). Broadcasts are plain values
//!   ([`server::Broadcast`]) planned once ([`server::Server::plan`]): the packet is encoded
//!   once and the same bytes go to every recipient.
//! - Client: a [`client::ClientConn`] multiplexes namespaces over one Engine.IO connection at a
//!   time, buffers emits while offline, answers the server's ack requests, plans
//!   reconnections ([`client::ReconnectPolicy`]) and recovers sessions.
//!
//! The drain rule is Engine.IO's: after each input or command, drain `poll_transmit` (hand
//! each message to the Engine.IO session or client, in order; when its buffer is full, keep
//! the message and retry later: that is back-pressure), then `poll_event` (on the server also
//! `poll_server_update`, for [`server::Server::handle_update`]), then read `poll_timeout`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use socketio_proto::client::{ClientConfig, ClientConn, ClientEvent};
//! use socketio_proto::server::{ConnEvent, ConnId, Server, ServerConfig, ServerConn};
//! use socketio_proto::{Nsp, SocketIoVersion};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::default(), Box::new(|b: &mut [u8]| b.fill(1)));
//! server.add_namespace("/");
//! let eio_sid = "eio-session-id";
//! let mut conn = ServerConn::new(now, ConnId::new(eio_sid), SocketIoVersion::V5, server.config().clone());
//! let mut client = ClientConn::new(now, ClientConfig::default());
//!
//! // The client joins `/` with an auth payload once its Engine.IO connection is open.
//! client.connect("/", Some(serde_json::json!({"token": "abc"})));
//! client.handle_engine_open(now, eio_sid);
//! while let Some(m) = client.poll_transmit() {
//!     conn.handle_message(now, m);
//! }
//! let Some(ConnEvent::Connect(req)) = conn.poll_event() else { panic!() };
//! assert_eq!(req.auth()["token"], "abc");
//! let req = server.resolve(&mut conn, req).expect("`/` exists");
//! let accepted = server.accept(now, &mut conn, req);
//! while let Some(out) = conn.poll_transmit() {
//!     client.handle_message(now, out.message);
//! }
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Connected { .. })));
//!
//! // An emit with an ack, answered by the server application.
//! let root = Nsp::main();
//! let id = client.emit_with_ack(now, &root, "hello", &("world",), Duration::from_secs(5))?;
//! while let Some(m) = client.poll_transmit() {
//!     conn.handle_message(now, m);
//! }
//! let Some(ConnEvent::Event { packet, socket, .. }) = conn.poll_event() else { panic!() };
//! assert_eq!((packet.event_name(), &socket), (Some("hello"), &accepted.socket));
//! let (word,): (String,) = packet.args()?;
//! conn.ack(&root, packet.ack_id().unwrap(), &(word.len(),))?;
//! while let Some(out) = conn.poll_transmit() {
//!     client.handle_message(now, out.message);
//! }
//! let Some(ClientEvent::Ack { id: got, packet, .. }) = client.poll_event() else { panic!() };
//! assert_eq!((got, packet.args::<(u32,)>()?), (id, (5,)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Whole conversations over the Engine.IO machines, on a virtual clock and a faulty network,
//! run in the `sim` module (feature `sim`).
//!
//! # The codec
//!
//! - [`Decoder`] turns the messages of one Engine.IO connection into [`Packet`]s, collecting
//!   the binary attachments of BINARY_EVENT / BINARY_ACK packets, with limits (at most
//!   [`DecoderConfig::max_attachments`] per packet; placeholders must name an attachment).
//! - A decoded [`Packet`] exposes its namespace, ack id and event name without parsing the
//!   arguments; [`Packet::args`] deserializes them straight into your types,
//!   [`Packet::args_value`] into `serde_json::Value`, [`Packet::raw_args`] passes them on
//!   unparsed.
//! - Arguments are shaped as a JavaScript peer means them. A tuple is the argument list
//!   (`&("a", 1)` is `emit(ev, "a", 1)`; fixed-size arrays count as tuples), `()` is none,
//!   and any other value is one argument: `&vec![1, 2, 3]` is `emit(ev, [1, 2, 3])`, `&None::<T>`
//!   is `emit(ev, null)`. A handler's type reads them back the same way (a tuple in order, any
//!   other type the first argument). [`Args`] is the list of any length, both ways.
//! - [`Encoder`] writes packets from serde values into one reusable buffer, as compact JSON that
//!   equals JavaScript's `JSON.stringify` output; [`Binary`] values travel as attachments without
//!   being copied. The result, [`Encoded`], is cheap to clone for broadcasts.
//! - Object keys are written in the order the value serializes them. This crate does not
//!   turn on serde_json's `preserve_order` (Cargo would turn it on for your own
//!   `serde_json::Value`s too), so a `Value` object writes its keys sorted unless your build
//!   turns it on. What the protocol orders (CONNECT and CONNECT_ERROR payloads) is written
//!   from structs, and a CONNECT's auth is also kept as the client wrote it
//!   ([`server::ConnectRequest::auth_json`]) to be passed on with the client's key order.
//!
//! ```
//! use socketio_proto::{AckId, Binary, Decoded, Decoder, Encoder, Nsp};
//!
//! let mut enc = Encoder::default();
//! let file = Binary::from(vec![1u8, 2, 3]);
//! let packet = enc.event(&Nsp::from("/admin"), "upload", &("a.bin", &file), Some(AckId(7)))?;
//! assert_eq!(
//!     &packet.text()[..],
//!     r#"51-/admin,7["upload","a.bin",{"_placeholder":true,"num":0}]"#
//! );
//!
//! // The receiving side: the header, then the attachment.
//! let mut dec = Decoder::default();
//! assert_eq!(dec.decode_text(packet.text().clone())?, Decoded::Incomplete);
//! let Decoded::Packet(got) = dec.decode_binary(packet.attachments()[0].clone())? else {
//!     panic!("complete after its one attachment")
//! };
//! assert_eq!(got.event_name(), Some("upload"));
//! assert_eq!(got.ack_id(), Some(AckId(7)));
//! let (name, data): (String, Binary) = got.args()?;
//! assert_eq!((name.as_str(), &data[..]), ("a.bin", &[1u8, 2, 3][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod acks;
mod args;
mod binary;
pub mod client;
pub mod custom;
mod decode;
mod encode;
mod error;
mod json;
#[cfg(feature = "msgpack")]
#[cfg_attr(docsrs, doc(cfg(feature = "msgpack")))]
pub mod msgpack;
mod packet;
pub mod rooms;
pub mod server;
mod shape;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;

pub use args::Args;
pub use binary::Binary;
pub use decode::{ArgsError, Decoded, Decoder, DecoderConfig, Packet, Parser, RawArgs};
pub use encode::{EncodeError, Encoded, Encoder, EncoderConfig};
pub use error::ParseError;
pub use packet::{is_reserved_event, AckId, EventName, Nsp, PacketKind, RESERVED_EVENTS};

/// The Socket.IO protocol revision of a connection, tied to the Engine.IO revision below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketIoVersion {
    /// Socket.IO protocol v4 (Socket.IO 1.x/2.x) over Engine.IO v3.
    V4,
    /// Socket.IO protocol v5 (Socket.IO 3.x and later) over Engine.IO v4.
    V5,
}

impl From<SocketIoVersion> for engineio_proto::EngineIoVersion {
    fn from(v: SocketIoVersion) -> Self {
        match v {
            SocketIoVersion::V4 => engineio_proto::EngineIoVersion::V3,
            SocketIoVersion::V5 => engineio_proto::EngineIoVersion::V4,
        }
    }
}

impl From<engineio_proto::EngineIoVersion> for SocketIoVersion {
    fn from(v: engineio_proto::EngineIoVersion) -> Self {
        match v {
            engineio_proto::EngineIoVersion::V3 => SocketIoVersion::V4,
            engineio_proto::EngineIoVersion::V4 => SocketIoVersion::V5,
        }
    }
}
