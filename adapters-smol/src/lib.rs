//! Socket.IO and Engine.IO on smol, with the API of socketio-tokio: an Engine.IO echo server in
//! a few lines (only runtime glue lives here: [`SmolRuntime`] and the accept loop):
//!
//! ```no_run
//! use std::sync::Arc;
//! use socketio_smol::{engineio::ServerConfig, serve_engineio, EngineIoServer, SmolRuntime};
//!
//! smol::block_on(async {
//!     // An Engine.IO echo server.
//!     let server = EngineIoServer::new(ServerConfig::default(), Arc::new(SmolRuntime), |mut socket| {
//!         smol::spawn(async move {
//!             while let Some(message) = socket.recv().await {
//!                 let _ = socket.send(message).await;
//!             }
//!         })
//!         .detach();
//!     });
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     serve_engineio(listener, server).await
//! })
//! # .unwrap();
//! ```
//!
//! Handlers, acks, rooms, broadcasts and the client are those of
//! [socketio-tokio](https://docs.rs/socketio-tokio)'s documentation (both re-export
//! [socketio-adapters-core](https://docs.rs/socketio-adapters-core)); a fleet of servers shares
//! broadcasts through [socketio-redis](https://docs.rs/socketio-redis).
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

use smol::net::TcpListener;

/// Everything runtime-neutral: servers, handles, the hyper glue, the conformance application.
pub use socketio_adapters_core::*;

/// The Engine.IO machines and settings.
pub use engineio_proto::server as engineio;

/// smol's services for the drivers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmolRuntime;

impl Runtime for SmolRuntime {
    fn spawn(&self, future: socketio_adapters_core::BoxFuture) {
        smol::spawn(future).detach();
    }

    fn sleep_until(&self, deadline: Instant) -> socketio_adapters_core::BoxFuture {
        Box::pin(async move {
            smol::Timer::at(deadline).await;
        })
    }

    fn now(&self) -> Instant {
        // The adapter is where the clock is read (the proto crates never do).
        Instant::now()
    }

    fn upgraded_io(
        &self,
        upgraded: socketio_adapters_core::Upgraded,
    ) -> socketio_adapters_core::BoxIo {
        // The connections `serve` accepts: their socket, without hyper's layers (and the
        // copy through `FuturesIo`'s buffer) in between.
        socketio_adapters_core::upgraded_socket(
            upgraded,
            |io: socketio_adapters_core::FuturesIo<smol::net::TcpStream>| io.0,
        )
    }

    fn connect_tcp(&self, host: &str, port: u16) -> socketio_adapters_core::ConnectFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as socketio_adapters_core::BoxIo)
        })
    }
}

/// Serves `server` on `listener` until the listener fails.
pub async fn serve_engineio(listener: TcpListener, server: EngineIoServer) -> std::io::Result<()> {
    serve(listener, vec![server]).await
}

/// Serves several Engine.IO (or Socket.IO) servers on one listener, each under its own path;
/// other paths get 404. One task per connection.
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
        smol::spawn(socketio_adapters_core::serve_connection_with(
            socketio_adapters_core::FuturesIo(stream),
            servers.clone(),
            fallback.clone(),
        ))
        .detach();
    }
}
