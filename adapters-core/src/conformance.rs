//! The application the official conformance suites expect, written once for every runtime's
//! `conformance` example and for the tests that run the suites.
//!
//! A raw Engine.IO echo server at `/engine.io/` (every message sent back unchanged) and
//! Socket.IO at `/socket.io/`, both with pingInterval 300 ms, pingTimeout 200 ms, max payload
//! 1e6, CORS `*`, EIO3 only when asked. Socket.IO: connectTimeout 1000 ms, namespaces `/` and
//! `/custom` only; on connect each emits `auth` with the CONNECT auth payload (or `{}`); on
//! `/`, `message` is answered by emitting `message-back` with the same arguments (binary
//! preserved) and `message-with-ack` is acked with the same arguments.

use std::sync::Arc;
use std::time::Duration;

use engineio_proto::server::{CorsConfig, ServerConfig};
use socketio_proto::server::ServerConfig as SioConfig;

use socketio_proto::server::Broadcast;
use socketio_proto::Encoder;

use crate::{ConnectError, EngineIoServer, Runtime, SioSocket, SocketEvent, SocketIoServer};

/// The Engine.IO settings of the suites, at `path`.
pub fn engineio_config(path: &str, allow_eio3: bool) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.path = path.to_owned();
    config.ping_interval = Duration::from_millis(300);
    config.ping_timeout = Duration::from_millis(200);
    config.max_payload = 1_000_000;
    config.cors = Some(CorsConfig::any());
    config.allow_eio3 = allow_eio3;
    config
}

/// The Engine.IO echo server at `/engine.io/`. The echo runs inside each session's task, so
/// the replies to one POST are queued before the next long-poll is looked at and go out in one
/// response, as the suites expect (`4test1\x1e4test2\x1e4test3`).
pub fn engineio_echo(runtime: Arc<dyn Runtime>, allow_eio3: bool) -> EngineIoServer {
    EngineIoServer::with_inline_handler(
        engineio_config("/engine.io/", allow_eio3),
        runtime,
        |_sid| Box::new(|message, send| send(message)),
    )
}

/// The Socket.IO server at `/socket.io/`.
pub fn socketio(runtime: Arc<dyn Runtime>, allow_eio3: bool) -> SocketIoServer {
    let mut config = SioConfig::default();
    config.connect_timeout = Duration::from_millis(1000);
    let io = SocketIoServer::new(
        engineio_config("/socket.io/", allow_eio3),
        config,
        runtime.clone(),
    );
    for (nsp, echo) in [("/", true), ("/custom", false)] {
        let rt = runtime.clone();
        io.namespace(nsp, move |socket| {
            rt.spawn(Box::pin(handle_socket(socket, echo)))
        });
    }
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

/// Both servers, for a runtime adapter's `serve`.
pub fn servers(runtime: Arc<dyn Runtime>, allow_eio3: bool) -> Vec<EngineIoServer> {
    vec![
        engineio_echo(runtime.clone(), allow_eio3),
        socketio(runtime, allow_eio3).engine().clone(),
    ]
}

/// The interop tests' extra server at `/interop/` (beside the suites' contract), with
/// connection state recovery: namespace `/` with a connect middleware refusing
/// `{"token":"bad"}` (CONNECT_ERROR `not authorized` with data `{"content":"retry later"}`)
/// unless the socket recovers; event `join` (room) joins and acks the room; event `to-room`
/// (room, text) broadcasts `news` (text) to the room except the sender and acks `sent`.
pub fn interop(runtime: Arc<dyn Runtime>) -> SocketIoServer {
    let mut config = SioConfig::default();
    config.recovery = Some(socketio_proto::server::RecoveryConfig::default());
    let io = SocketIoServer::new(engineio_config("/interop/", true), config, runtime.clone());
    let middleware = Arc::new(|req: &socketio_proto::server::ConnectRequest| {
        if req.auth().get("token").and_then(|t| t.as_str()) == Some("bad") {
            Err(ConnectError {
                message: "not authorized".to_owned(),
                data: Some(serde_json::json!({"content": "retry later"})),
            })
        } else {
            Ok(())
        }
    });
    io.namespace_with("/", Some(middleware), move |socket| {
        runtime.spawn(Box::pin(rooms_socket(socket)))
    });
    io
}

async fn rooms_socket(mut socket: SioSocket) {
    while let Some(SocketEvent::Event { name, packet, ack }) = socket.recv().await {
        match name.as_str() {
            "join" => {
                if let Ok((room,)) = packet.args::<(String,)>() {
                    socket.join(room.as_str());
                    if let Some(ack) = ack {
                        let _ = ack.send(&(room,)).await;
                    }
                }
            }
            "to-room" => {
                let Ok((room, text)) = packet.args::<(String, String)>() else {
                    continue;
                };
                if let Ok(news) = Encoder::default().event(socket.nsp(), "news", &(text,), None) {
                    let broadcast = Broadcast::new(socket.nsp(), &news)
                        .to(room.as_str())
                        .except(socket.id());
                    socket.server().broadcast(&broadcast).await;
                }
                if let Some(ack) = ack {
                    let _ = ack.send(&("sent",)).await;
                }
            }
            _ => {}
        }
    }
}

/// The end-to-end benchmark server's application (issue 8's contract): Socket.IO v5 at
/// `/socket.io/`; event `echo` is acked with its first argument; event `bcast` is re-emitted
/// with its first argument to every socket of `/` (encoded once, one broadcast).
pub fn bench(runtime: Arc<dyn Runtime>) -> SocketIoServer {
    let mut engine = ServerConfig::default();
    engine.path = "/socket.io/".to_owned();
    let io = SocketIoServer::new(engine, SioConfig::default(), runtime.clone());
    io.namespace("/", move |socket| {
        runtime.spawn(Box::pin(bench_socket(socket)))
    });
    io
}

async fn bench_socket(mut socket: SioSocket) {
    while let Some(SocketEvent::Event { name, packet, ack }) = socket.recv().await {
        let Ok(first) = packet.args::<(Option<serde_json::Value>,)>() else {
            continue;
        };
        match (name.as_str(), ack) {
            ("echo", Some(ack)) => {
                let _ = ack.send(&first).await;
            }
            ("bcast", _) => {
                if let Ok(p) = Encoder::default().event(socket.nsp(), "bcast", &first, None) {
                    socket
                        .server()
                        .broadcast(&Broadcast::new(socket.nsp(), &p))
                        .await;
                }
            }
            _ => {}
        }
    }
}
