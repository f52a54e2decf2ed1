//! The runtime-neutral part of the runtime adapters: what tokio and smol both need to drive the
//! sans-IO machines with real sockets, written once.
//!
//! Most applications use it through [socketio-tokio](https://docs.rs/socketio-tokio) or
//! [socketio-smol](https://docs.rs/socketio-smol), which re-export this API with their
//! [`Runtime`] plugged in. The server is the same whatever the runtime:
//!
//! ```
//! use std::sync::Arc;
//! use socketio_adapters_core::{Runtime, SioSocket, SocketIoServer};
//!
//! fn chat(runtime: Arc<dyn Runtime>) -> SocketIoServer {
//!     let io = SocketIoServer::builder().build(runtime);
//!     io.namespace("/", |socket: SioSocket| async move {
//!         socket.on("say", |socket, text: String, _| async move {
//!             // Everyone else in the namespace.
//!             let _ = socket.broadcast().emit("said", &(socket.id().as_str(), text)).await;
//!         });
//!     });
//!     io
//! }
//! ```
//!
//! What is here:
//!
//! - [`Runtime`]: the little a runtime must provide (spawn, a timer, the clock, OS randomness).
//! - [`EngineIoServer`]: routes HTTP requests through [`engineio_proto::server::Engine`], runs
//!   one driver task per session, and hands the application an [`EioSocket`] per session.
//! - [`SocketIoServer`]: Socket.IO on top, run inside each Engine.IO session's task (its
//!   [`socketio_proto::server::ServerConn`], the application's handlers); namespaces hand the
//!   application a [`SioSocket`] per joined socket. One task per session in all: it also reads
//!   and writes the session's WebSocket.
//! - [`EngineIoLayer`]: the servers as a tower layer in front of an axum `Router` or any
//!   tower service.
//!
//! A runtime adapter converts its HTTP library's requests into
//! [`engineio_proto::http::HttpRequest`], calls [`EngineIoServer::handle_http`], and either
//! writes the response or completes the WebSocket upgrade and gives the socket to
//! [`WsAttach::attach`]. No protocol rule lives here: every decision is the machines'.
//!
//! # Features
//!
//! - `msgpack`: [`Parser::Msgpack`](socketio_proto::Parser) for servers and clients
//!   (socket.io-msgpack-parser 3.x; enables `socketio-proto/msgpack`). No extra dependency.
//!
//! No feature is on by default.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod conformance;
mod engine;
mod handler;
mod http;
mod inbox;
mod runtime;
pub mod sio_cli;
mod socketio;
mod tower;
mod vec_map;
mod ws;

pub use engine::{
    EioSocket, EngineIoServer, HttpOutcome, InlineHandler, SendError, WeakEngineIoServer, WsAttach,
    WsIn, WsOut,
};
pub use http::{
    handle, serve_connection, serve_connection_with, upgraded_socket, upgraded_via_hyper, Fallback,
    FuturesIo,
};
/// hyper's upgraded connection, as [`Runtime::upgraded_io`] receives it.
pub use hyper::upgrade::Upgraded;
pub use runtime::{AsyncIo, BoxFuture, BoxIo, ConnectFuture, Runtime};
pub use socketio::{
    AckError, AckResponses, AckSender, Adapter, BroadcastOperator, ConnectError, EmitError,
    FetchedSockets, FleetAck, FleetAnswers, FleetError, FleetFuture, Middleware, Responder,
    ServerSideAcks, ServerSideHandler, SioSocket, SocketIoBuilder, SocketIoServer,
    WeakSocketIoServer,
};
/// The messages of a fleet's adapter and the node machine (for [`Adapter`] implementations).
pub use socketio_cluster_proto;
pub use socketio_proto;
/// Argument types: a variable argument list, and binary data carried as an attachment.
pub use socketio_proto::{Args, Binary, Parser};
pub use tower::{EngineIoBody, EngineIoLayer, EngineIoService};
