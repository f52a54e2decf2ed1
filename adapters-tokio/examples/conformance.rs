//! The server the official conformance suites run against.
//!
//! `PORT=3000 ALLOW_EIO3=0|1 cargo run --release -p socketio-tokio --example conformance`
//!
//! On 127.0.0.1:$PORT: a raw Engine.IO echo server at `/engine.io/` (every message sent back
//! unchanged), pingInterval 300 ms, pingTimeout 200 ms, max payload 1e6, CORS `*`; EIO3 only
//! when ALLOW_EIO3=1. (The Socket.IO part at `/socket.io/` comes with the Socket.IO layer of
//! the runtime adapters.)

use std::sync::Arc;
use std::time::Duration;

use socketio_tokio::engineio::{CorsConfig, ServerConfig};
use socketio_tokio::{serve_engineio, EngineIoServer, TokioRuntime};
use tokio::net::TcpListener;

/// The Engine.IO settings of the conformance suites.
pub(crate) fn engineio_config(allow_eio3: bool) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.ping_interval = Duration::from_millis(300);
    config.ping_timeout = Duration::from_millis(200);
    config.max_payload = 1_000_000;
    config.cors = Some(CorsConfig::any());
    config.allow_eio3 = allow_eio3;
    config
}

/// The echo server: every message goes back to its sender unchanged.
pub(crate) fn echo_server(allow_eio3: bool) -> EngineIoServer {
    EngineIoServer::new(
        engineio_config(allow_eio3),
        Arc::new(TokioRuntime),
        |mut socket| {
            tokio::spawn(async move {
                while let Some(message) = socket.recv().await {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            });
        },
    )
}

/// Serves the conformance server on `listener`.
pub(crate) async fn serve(listener: TcpListener, allow_eio3: bool) -> std::io::Result<()> {
    serve_engineio(listener, echo_server(allow_eio3)).await
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let allow_eio3 = std::env::var("ALLOW_EIO3").is_ok_and(|v| v == "1");
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("conformance server on http://127.0.0.1:{port} (EIO3 allowed: {allow_eio3})");
    serve(listener, allow_eio3).await
}
