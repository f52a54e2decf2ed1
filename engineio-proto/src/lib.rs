//! Sans-IO Engine.IO, protocol revisions 4 and 3: codecs and the protocol state machines.
//!
//! Nothing here touches a socket, reads a clock or draws OS randomness: every input carries the
//! time (`now`), randomness comes from the caller, and the same inputs give byte-identical
//! outputs on any runtime, in a test, or under a fuzzer.
//!
//! # Embedding it: bytes in, events out, frames back
//!
//! A server session over WebSocket, driven by hand as your event loop would drive it:
//!
//! ```
//! use std::time::Instant;
//! use engineio_proto::http::HttpRequest;
//! use engineio_proto::server::{Engine, Route, ServerConfig, SessionEvent, Transmit};
//! use engineio_proto::{ByteString, Bytes, PacketType, WsFrame};
//!
//! let now = Instant::now();
//! // Session ids come from your random source.
//! let mut engine = Engine::new(ServerConfig::default(), Box::new(|b: &mut [u8]| b.fill(7)));
//!
//! // In: a WebSocket upgrade request without a session, as your HTTP server parsed it.
//! let request = HttpRequest::websocket("/engine.io/?EIO=4&transport=websocket");
//! let Route::Handshake(incoming) = engine.handle_request(request).route else { panic!() };
//! let mut session = engine.accept(now, incoming); // your application agreed to it
//!
//! // Out: complete the upgrade (101), then send the open packet on the WebSocket.
//! let Some(Transmit::AcceptWebSocket { .. }) = session.poll_transmit() else { panic!() };
//! // Text packets come as their type and data: write both behind the frame header (or take
//! // `frame.joined()` for a WebSocket library that wants one buffer).
//! let Some(Transmit::WsFrame(WsFrame::TextPacket { kind, data })) = session.poll_transmit()
//! else {
//!     panic!()
//! };
//! assert_eq!(kind, PacketType::Open);
//! assert!(data.starts_with(r#"{"sid":""#));
//!
//! // In: the bytes of a text frame your WebSocket library read.
//! let text = ByteString::try_from(Bytes::from_static(b"4hello"))?;
//! session.handle_ws_frame(now, WsFrame::Text(text));
//! // Out: the application's event.
//! assert_eq!(session.poll_event(), Some(SessionEvent::Message("hello".into())));
//!
//! // The application answers; the frame to write comes back.
//! session.send("hi")?;
//! let Some(Transmit::WsFrame(frame)) = session.poll_transmit() else { panic!() };
//! assert_eq!(frame, WsFrame::Text("4hi".into()));
//!
//! // Time: when `poll_timeout` is reached, call `handle_timeout`: here the heartbeat's ping.
//! let due = session.poll_timeout().expect("a ping is scheduled");
//! session.handle_timeout(due);
//! let Some(Transmit::WsFrame(ping)) = session.poll_transmit() else { panic!() };
//! assert_eq!(ping, WsFrame::Text("2".into()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same loop runs anywhere: [socketio-tokio](https://docs.rs/socketio-tokio) and
//! [socketio-smol](https://docs.rs/socketio-smol) drive these machines with async sockets,
//! [socketio-embedded](https://docs.rs/socketio-embedded) with plain blocking threads, and
//! [socketio-proto](https://docs.rs/socketio-proto) puts Socket.IO on top of their messages.
//!
//! # Features
//!
//! - `sim`: the `sim` module, a deterministic simulation of an engine, its
//!   sessions and clients on a virtual clock and a seeded, faulty network (for property tests
//!   of your own driver or application). Costs nothing when off.
//! - `arbitrary`: `arbitrary::Arbitrary` for [`Packet`] and [`EngineIoVersion`], for fuzz
//!   targets. Adds the `arbitrary` dependency.
//!
//! No feature is on by default.
//!
//! # The machines
//!
//! - Server: an [`server::Engine`] validates each HTTP request and routes it: answer at once,
//!   open a session once the application agrees ([`server::Incoming`], the reference's
//!   `allowRequest`), or hand it to the [`server::Session`] it names. Sessions are separate
//!   values, so a runtime adapter can drive each on its own task; a session reports upgrades and
//!   closes back to the engine with [`server::Session::poll_engine_update`].
//! - Client: a [`client::Client`] asks for HTTP requests and a WebSocket and is told how they
//!   went.
//! - HTTP is modelled minimally in [`http`]; adapters convert from hyper or async-h1.
//!
//! ## The drain rule
//!
//! After each input (`handle_request`, `handle_ws_frame`, `handle_ws_closed`,
//! `handle_request_aborted`, `handle_timeout`, `handle_response`, ...) or command (`send`,
//! `close`), drain the machine: first `poll_transmit` until `None` (what goes on the wire),
//! then `poll_event` until `None` (what the application sees; on the server also
//! `poll_engine_update`), then read `poll_timeout` and call `handle_timeout` when it is
//! reached. Transmits that belong to a close come out before the `Closed` event. A `now`
//! earlier than one already seen is treated as the latest one seen.
//!
//! ## An in-memory handshake
//!
//! ```
//! use std::time::{Duration, Instant};
//! use engineio_proto::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
//! use engineio_proto::server::{Engine, Route, ServerConfig, SessionEvent, Transmit};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let mut engine = Engine::new(ServerConfig::default(), Box::new(|b: &mut [u8]| b.fill(7)));
//! let mut config = ClientConfig::default();
//! config.upgrade = false;
//! let mut client = Client::new(now, config);
//!
//! // The client asks for the handshake GET; the engine routes it; the app accepts.
//! let Some(ClientTransmit::Request { id: cid, request }) = client.poll_transmit() else { panic!() };
//! let Route::Handshake(incoming) = engine.handle_request(request).route else { panic!() };
//! let mut session = engine.accept(now, incoming);
//! let Some(Transmit::Response { response, .. }) = session.poll_transmit() else { panic!() };
//! client.handle_response(now, cid, response);
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Open(_))));
//!
//! // The client sends a message. It asks for its long-poll GET and a POST; the adapter keeps
//! // the pairs (client request id, server request id) to hand each response back.
//! client.send("hello")?;
//! let mut pairs = Vec::new();
//! while let Some(t) = client.poll_transmit() {
//!     let ClientTransmit::Request { id, request } = t else { panic!() };
//!     let routed = engine.handle_request(request);
//!     let Route::Session(_, req) = routed.route else { panic!() };
//!     pairs.push((id, routed.id));
//!     session.handle_request(now, req);
//! }
//! // The session answers the POST with `ok` and holds the GET: it has nothing to send yet.
//! let Some(Transmit::Response { request, response }) = session.poll_transmit() else { panic!() };
//! assert_eq!(response.body_text(), Some("ok"));
//! let (cid, _) = pairs.iter().find(|(_, sid)| *sid == request).unwrap();
//! client.handle_response(now, *cid, response);
//! assert!(session.poll_transmit().is_none());
//! assert_eq!(session.poll_event(), Some(SessionEvent::Message("hello".into())));
//!
//! // The first ping is due one pingInterval after the handshake.
//! assert_eq!(session.poll_timeout(), Some(now + Duration::from_secs(25)));
//! # Ok::<(), engineio_proto::UsageError>(())
//! ```
//!
//! For whole conversations on a virtual clock and a faulty network, see the `sim` module
//! (feature `sim`).
//!
//! # The codec
//!
//! - [`Packet`]: the seven packet types, text messages as [`ByteString`] and binary messages as
//!   [`Bytes`]. Decoding slices the input buffer; only base64 data is copied out.
//! - Single packets: [`decode_text_packet`], [`decode_binary_packet`], [`decode_ws_frame`],
//!   [`encode_text_packet`], [`encode_ws_frame`].
//! - Polling bodies: [`payload::decode_payload`] and [`payload::encode_payload`] pick the format
//!   of the session's protocol revision; [`payload::v4`] and [`payload::v3`] hold each format.
//!   `decode_payload` is all or nothing (a `Vec` when every packet is valid, the reference's
//!   rule); [`payload::v4::PayloadIter`] streams a v4 body without collecting it (see
//!   [`payload`] on which to use).
//! - The handshake JSON: [`OpenPacket`].
//!
//! Every malformed input is a [`DecodeError`]; none panics. Decoders take the maximum payload
//! size and refuse longer input before looking at it, and no length read from the input sizes
//! an allocation.
//!
//! Encoders append to a caller-owned [`BytesMut`], so one buffer serves many packets:
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use engineio_proto::payload::{decode_payload, encode_payload, PayloadFormat};
//! use engineio_proto::{Packet, EngineIoVersion};
//!
//! // A v4 polling POST body: a text message, a ping, and a base64 binary message.
//! let body = Bytes::from_static(b"4hello\x1e2\x1ebAQIDBA==");
//! let packets = decode_payload(EngineIoVersion::V4, PayloadFormat::Text, body, 1_000_000)?;
//! assert_eq!(packets[0], Packet::message_static("hello"));
//! assert_eq!(packets[2], Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])));
//!
//! // The same packets for a v3 client that asked for `b64=1`.
//! let mut buf = BytesMut::new();
//! let format = encode_payload(EngineIoVersion::V3, &packets, false, &mut buf);
//! assert_eq!(format, PayloadFormat::Text);
//! assert_eq!(&buf.split().freeze()[..], b"6:4hello1:210:b4AQIDBA==");
//! # Ok::<(), engineio_proto::DecodeError>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
mod error;
pub mod http;
mod message;
mod open;
mod packet;
pub mod payload;
pub mod rng;
pub mod server;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;
mod timer;
mod version;
pub mod websocket;

pub use bytes::{Bytes, BytesMut};
pub use bytestring::ByteString;

pub use error::DecodeError;
pub use message::{CloseReason, Message, UsageError};
pub use open::OpenPacket;
pub use packet::{
    decode_binary_packet, decode_text_packet, decode_ws_frame, encode_text_packet, encode_ws_frame,
    Packet, PacketType, WsFrame,
};
pub use version::EngineIoVersion;

/// Gives back the room an empty queue kept from a burst, but for one item: an idle connection
/// holds no room for the largest burst it had, and a busy one does not allocate per item.
fn keep_room_for_one<T>(queue: &mut std::collections::VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > 1 {
        queue.shrink_to(1);
    }
}
