//! Socket.IO and Engine.IO on tokio: servers (standalone on hyper 1, or as a tower layer in an
//! axum app) and a client. A Socket.IO server with typed handlers, acks, rooms and broadcasts:
//!
//! ```no_run
//! use std::sync::Arc;
//! use socketio_tokio::{serve, SioSocket, SocketIoServer, TokioRuntime};
//!
//! #[derive(serde::Deserialize)]
//! struct Say {
//!     room: String,
//!     text: String,
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIoServer::builder().build(Arc::new(TokioRuntime));
//! io.namespace("/", |socket: SioSocket| async move {
//!     socket.on("join", |socket, room: String, ack| async move {
//!         socket.join(room.as_str());
//!         if let Some(ack) = ack {
//!             let _ = ack.send(&("joined",)).await;
//!         }
//!     });
//!     // A struct reads the first argument; a tuple reads them in order.
//!     socket.on("say", |socket, say: Say, _| async move {
//!         let _ = socket.to(say.room.as_str()).emit("said", &(socket.id().as_str(), say.text)).await;
//!     });
//!     socket.on_disconnect(|socket, reason| async move {
//!         tracing::info!(id = socket.id().as_str(), reason = reason.as_str(), "gone");
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! serve(listener, vec![io.engine().clone()]).await
//! # }
//! ```
//!
//! Only runtime glue lives here: [`TokioRuntime`] and the accept loop. The API (re-exported
//! from [socketio-adapters-core](https://docs.rs/socketio-adapters-core)), request conversion,
//! the WebSocket upgrade and every protocol decision are shared with
//! [socketio-smol](https://docs.rs/socketio-smol); the protocol lives in
//! [engineio-proto](https://docs.rs/engineio-proto) and
//! [socketio-proto](https://docs.rs/socketio-proto); a fleet of servers shares broadcasts
//! through [socketio-redis](https://docs.rs/socketio-redis).
//!
//! A raw Engine.IO server (no Socket.IO on top):
//!
//! ```no_run
//! use std::sync::Arc;
//! use socketio_tokio::{engineio::ServerConfig, serve_engineio, EngineIoServer, TokioRuntime};
//!
//! # async fn run() -> std::io::Result<()> {
//! // An Engine.IO echo server.
//! let server = EngineIoServer::new(ServerConfig::default(), Arc::new(TokioRuntime), |mut socket| {
//!     tokio::spawn(async move {
//!         while let Some(message) = socket.recv().await {
//!             let _ = socket.send(message).await;
//!         }
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! serve_engineio(listener, server).await
//! # }
//! ```
//!
//! # Features
//!
//! - `msgpack`: `Parser::Msgpack` for servers and clients (socket.io-msgpack-parser 3.x, for
//!   the npm client with `parser: require("socket.io-msgpack-parser")` and python-socketio
//!   with `serializer="msgpack"`). No extra dependency.
//!
//! No feature is on by default.

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Everything runtime-neutral: servers, handles, the hyper glue, the conformance application.
pub use socketio_adapters_core::*;

/// The Engine.IO machines and settings.
pub use engineio_proto::server as engineio;

/// tokio's services for the drivers.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRuntime;

impl Runtime for TokioRuntime {
    fn spawn(&self, future: socketio_adapters_core::BoxFuture) {
        tokio::spawn(future);
    }

    fn sleep_until(&self, deadline: Instant) -> socketio_adapters_core::BoxFuture {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn upgraded_io(
        &self,
        upgraded: socketio_adapters_core::Upgraded,
    ) -> socketio_adapters_core::BoxIo {
        use tokio_util::compat::TokioAsyncReadCompatExt;
        // The connections `serve` (and `axum::serve`) hand hyper: their socket, without
        // hyper's layers in between.
        socketio_adapters_core::upgraded_socket(upgraded, |io: TokioIo<tokio::net::TcpStream>| {
            io.into_inner().compat()
        })
    }

    fn connect_tcp(&self, host: &str, port: u16) -> socketio_adapters_core::ConnectFuture {
        use tokio_util::compat::TokioAsyncReadCompatExt;
        let host = host.to_owned();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream.compat()) as socketio_adapters_core::BoxIo)
        })
    }
}

/// Serves `server` on `listener` until the listener fails.
pub async fn serve_engineio(listener: TcpListener, server: EngineIoServer) -> std::io::Result<()> {
    serve(listener, vec![server]).await
}

/// Serves several Engine.IO (or Socket.IO) servers on one listener, each under its own path
/// (for example `/engine.io/` and `/socket.io/`); other paths get 404. One task per
/// connection.
pub async fn serve(listener: TcpListener, servers: Vec<EngineIoServer>) -> std::io::Result<()> {
    accept(listener, servers, None).await
}

/// Like [`serve`], with `fallback` answering the paths under no server's (an application's
/// pages and static files).
pub async fn serve_with_fallback(
    listener: TcpListener,
    servers: Vec<EngineIoServer>,
    fallback: Fallback,
) -> std::io::Result<()> {
    accept(listener, servers, Some(fallback)).await
}

async fn accept(
    listener: TcpListener,
    servers: Vec<EngineIoServer>,
    fallback: Option<Fallback>,
) -> std::io::Result<()> {
    let servers = Arc::new(servers);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(socketio_adapters_core::serve_connection_with(
            TokioIo::new(stream),
            servers.clone(),
            fallback.clone(),
        ));
    }
}
