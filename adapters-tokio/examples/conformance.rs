//! The server the official conformance suites run against.
//!
//! `PORT=3000 ALLOW_EIO3=0|1 cargo run --release -p socketio-tokio --example conformance`
//!
//! On 127.0.0.1:$PORT: a raw Engine.IO echo server at `/engine.io/` (every message sent back
//! unchanged) and Socket.IO at `/socket.io/`, both with pingInterval 300 ms, pingTimeout
//! 200 ms, max payload 1e6, CORS `*`; EIO3 only when ALLOW_EIO3=1. Socket.IO: connectTimeout
//! 1000 ms, namespaces `/` and `/custom` only; on connect each emits `auth` with the CONNECT
//! auth payload (or `{}`); on `/`, `message` is answered by emitting `message-back` with the
//! same arguments (binary preserved) and `message-with-ack` is acked with the same arguments.

use std::sync::Arc;
use std::time::Duration;

use socketio_tokio::engineio::{CorsConfig, ServerConfig};
use socketio_tokio::socketio_proto::server::ServerConfig as SioConfig;
use socketio_tokio::{EngineIoServer, SioSocket, SocketEvent, SocketIoServer, TokioRuntime};
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

/// The Socket.IO server of the conformance suite.
pub(crate) fn socketio_server(allow_eio3: bool) -> SocketIoServer {
    let mut engine = engineio_config(allow_eio3);
    engine.path = "/socket.io/".to_owned();
    let mut config = SioConfig::default();
    config.connect_timeout = Duration::from_millis(1000);
    let io = SocketIoServer::new(engine, config, Arc::new(TokioRuntime));
    io.namespace("/", |socket| {
        tokio::spawn(handle_socket(socket, true));
    });
    io.namespace("/custom", |socket| {
        tokio::spawn(handle_socket(socket, false));
    });
    io
}

async fn handle_socket(mut socket: SioSocket, echo: bool) {
    let auth = socket.auth().clone();
    if socket.emit("auth", &(auth,)).await.is_err() {
        return;
    }
    while let Some(event) = socket.recv().await {
        let SocketEvent::Event { name, packet, ack } = event else {
            break;
        };
        let Some(args) = packet.raw_args() else {
            continue;
        };
        match (echo, name.as_str(), ack) {
            (true, "message", _) => {
                let _ = socket.emit_raw("message-back", &args).await;
            }
            (true, "message-with-ack", Some(ack)) => {
                let _ = ack.send_raw(&args).await;
            }
            _ => {}
        }
    }
}

/// Serves the conformance servers on `listener`.
pub(crate) async fn serve(listener: TcpListener, allow_eio3: bool) -> std::io::Result<()> {
    let io = socketio_server(allow_eio3);
    socketio_tokio::serve(listener, vec![echo_server(allow_eio3), io.engine().clone()]).await
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
