//! The application the official conformance suites expect, written once for every runtime's
//! `conformance` example and for the tests that run the suites.
//!
//! A raw Engine.IO echo server at `/engine.io/` (every message sent back unchanged) and
//! Socket.IO at `/socket.io/`, both with pingInterval 300 ms, pingTimeout 200 ms, max payload
//! 1e6, CORS `*`, EIO3 only when asked. Socket.IO: connectTimeout 1000 ms, namespaces `/` and
//! `/custom` only; on connect each emits `auth` with the CONNECT auth payload (or `{}`), after
//! [`AUTH_DELAY`]; on
//! `/`, `message` is answered by emitting `message-back` with the same arguments (binary
//! preserved) and `message-with-ack` is acked with the same arguments.

use std::sync::Arc;
use std::time::Duration;

use engineio_proto::server::{CorsConfig, ServerConfig};
use socketio_proto::server::ServerConfig as SioConfig;
use socketio_proto::RawArgs;

use crate::{ConnectError, EngineIoServer, Middleware, Runtime, SioSocket, SocketIoServer};

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

/// How long after a connection the suites' `auth` event is emitted.
///
/// The suites' Node client (`ws` 8.5) emits the messages of one TCP read synchronously, before
/// the case awaiting the CONNECT reply listens again, so a message that arrives in the same
/// read as the one before it is lost (socketio/socket.io-protocol#32, open upstream; the
/// reference server loses it too when its client is slow). The reference usually passes
/// because Node writes the CONNECT reply and the handler's first emit in separate event-loop
/// turns; this server writes both in one flush. The application waits this long, so `auth`
/// leaves in a write of its own after the client read the reply.
pub const AUTH_DELAY: Duration = Duration::from_millis(20);

/// The Socket.IO server at `/socket.io/`.
pub fn socketio(runtime: Arc<dyn Runtime>, allow_eio3: bool) -> SocketIoServer {
    socketio_with(
        runtime,
        allow_eio3,
        "/socket.io/",
        socketio_proto::Parser::Default,
    )
}

/// The same server for clients using socket.io-msgpack-parser, at `/socket.io-msgpack/`.
#[cfg(feature = "msgpack")]
pub fn socketio_msgpack(runtime: Arc<dyn Runtime>) -> SocketIoServer {
    socketio_with(
        runtime,
        false,
        "/socket.io-msgpack/",
        socketio_proto::Parser::Msgpack,
    )
}

/// The same server with a custom parser ([`Angle`]), at `/socket.io-angle/`.
pub fn socketio_angle(runtime: Arc<dyn Runtime>) -> SocketIoServer {
    static ANGLE: Angle = Angle;
    socketio_with(
        runtime,
        false,
        "/socket.io-angle/",
        socketio_proto::Parser::custom(&ANGLE),
    )
}

/// A custom parser for the interop tests (`interop/angle-parser.js` is its JavaScript side):
/// the default parser's packets with every text message wrapped in `<` and `>`.
#[derive(Debug)]
pub struct Angle;

impl socketio_proto::custom::CustomParser for Angle {
    fn name(&self) -> &str {
        "angle"
    }

    fn encode(
        &self,
        packet: socketio_proto::custom::PacketParts,
    ) -> Result<Vec<engineio_proto::Message>, socketio_proto::EncodeError> {
        let mut messages = packet.to_default_messages();
        if let Some(engineio_proto::Message::Text(text)) = messages.first_mut() {
            *text = format!("<{text}>").into();
        }
        Ok(messages)
    }

    fn decoder(&self) -> Box<dyn socketio_proto::custom::CustomDecoder> {
        Box::new(AngleDecoder::default())
    }
}

/// [`Angle`]'s reading side: the default decoder behind the unwrapping.
#[derive(Debug, Default)]
struct AngleDecoder(socketio_proto::Decoder);

impl socketio_proto::custom::CustomDecoder for AngleDecoder {
    fn decode(
        &mut self,
        message: engineio_proto::Message,
    ) -> Result<Option<socketio_proto::custom::PacketParts>, socketio_proto::ParseError> {
        let packet = match message {
            engineio_proto::Message::Text(text) => {
                let inner = text.strip_prefix('<').and_then(|t| t.strip_suffix('>'));
                let inner = inner.ok_or(socketio_proto::ParseError::InvalidPayload)?;
                self.0.decode_text(text.slice_ref(inner))?
            }
            engineio_proto::Message::Binary(data) => self.0.decode_binary(data)?,
        };
        Ok(packet
            .into_packet()
            .map(|p| socketio_proto::custom::PacketParts::from_packet(&p)))
    }
}

fn socketio_with(
    runtime: Arc<dyn Runtime>,
    allow_eio3: bool,
    path: &str,
    parser: socketio_proto::Parser,
) -> SocketIoServer {
    let mut config = SioConfig::default();
    config.connect_timeout = Duration::from_millis(1000);
    config.parser = parser;
    let io = SocketIoServer::new(engineio_config(path, allow_eio3), config, runtime.clone());
    for (nsp, echo) in [("/", true), ("/custom", false)] {
        let runtime = runtime.clone();
        io.namespace(nsp, move |socket: SioSocket| {
            let delay = runtime.sleep_until(runtime.now() + AUTH_DELAY);
            async move {
                if echo {
                    socket.on_packet("message", |socket, packet, _| async move {
                        if let Some(args) = packet.raw_args() {
                            let _ = socket.emit_raw("message-back", &args).await;
                        }
                    });
                    socket.on_packet("message-with-ack", |_, packet, ack| async move {
                        if let (Some(args), Some(ack)) = (packet.raw_args(), ack) {
                            let _ = ack.send_raw(&args).await;
                        }
                    });
                }
                delay.await;
                // The payload as the client wrote it, keys in its order, as the reference
                // echoes `socket.handshake.auth`.
                let auth = format!("[{}]", socket.auth_json());
                if let Ok(auth) = RawArgs::from_array(&auth, Vec::new()) {
                    let _ = socket.emit_raw("auth", &auth).await;
                }
            }
        });
    }
    io
}

/// Both servers, for a runtime adapter's `serve`.
pub fn servers(runtime: Arc<dyn Runtime>, allow_eio3: bool) -> Vec<EngineIoServer> {
    vec![
        engineio_echo(runtime.clone(), allow_eio3),
        #[cfg(feature = "msgpack")]
        socketio_msgpack(runtime.clone()).engine().clone(),
        socketio_angle(runtime.clone()).engine().clone(),
        socketio(runtime, allow_eio3).engine().clone(),
    ]
}

/// The interop tests' extra server at `/interop/` (beside the suites' contract), with
/// connection state recovery: namespace `/` with a connect middleware refusing the token
/// `bad` in the auth payload or the handshake's query (CONNECT_ERROR `not authorized` with
/// data `{"content":"retry later"}`) unless the socket recovers; event `join` (room) joins and acks the room; event `to-room`
/// (room, text) broadcasts `news` (text) to the room except the sender and acks `sent`.
///
/// Namespaces `/auth`, `/auth-2`, `/auth-3` and `/auth-4` show the auth a socket gets (a
/// socket.io-client 2.x sends it as its namespace's query): a connect middleware refuses an
/// auth without a string `token` (`no token`) and the token `refuse` (`refused`, with the auth
/// it saw as data); a socket that joins emits `auth` with its auth.
pub fn interop(runtime: Arc<dyn Runtime>) -> SocketIoServer {
    let mut config = SioConfig::default();
    config.recovery = Some(socketio_proto::server::RecoveryConfig::default());
    let io = SocketIoServer::new(engineio_config("/interop/", true), config, runtime);
    // The token is in the auth payload (v5 clients) or the handshake's query (v4 clients).
    let middleware: Middleware = Arc::new(|req, handshake| {
        let token = req.auth().get("token").and_then(|t| t.as_str());
        if token == Some("bad") || handshake.query_param("token").as_deref() == Some("bad") {
            Err(ConnectError::new("not authorized")
                .with_data(serde_json::json!({"content": "retry later"})))
        } else {
            Ok(())
        }
    });
    io.namespace_with("/", Some(middleware), |socket: SioSocket| async move {
        socket.on("join", |socket, (room,): (String,), ack| async move {
            socket.join(room.as_str());
            if let Some(ack) = ack {
                let _ = ack.send(&(room,)).await;
            }
        });
        socket.on("ask-me", |socket, (n,): (i64,), ack| async move {
            // The server asks the client in turn, and acks with the client's answer.
            let answer = socket
                .emit_with_ack_timeout("question", &(n,), Duration::from_secs(5))
                .await
                .ok()
                .and_then(Result::ok)
                .and_then(|p| p.args::<i64>().ok());
            if let Some(ack) = ack {
                let _ = ack.send(&(answer,)).await;
            }
        });
        socket.on(
            "to-room",
            |socket, (room, text): (String, String), ack| async move {
                let _ = socket.to(room.as_str()).emit("news", &(text,)).await;
                if let Some(ack) = ack {
                    let _ = ack.send(&("sent",)).await;
                }
            },
        );
    });
    let auth_middleware: Middleware =
        Arc::new(
            |req, _| match req.auth().get("token").and_then(|t| t.as_str()) {
                None => Err(ConnectError::new("no token")),
                Some("refuse") => Err(ConnectError::new("refused").with_data(req.auth().clone())),
                Some(_) => Ok(()),
            },
        );
    for nsp in ["/auth", "/auth-2", "/auth-3", "/auth-4"] {
        io.namespace_with(
            nsp,
            Some(auth_middleware.clone()),
            |socket: SioSocket| async move {
                // As the client wrote it (v4: its query, keys in JavaScript's order).
                let auth = format!("[{}]", socket.auth_json());
                if let Ok(auth) = RawArgs::from_array(&auth, Vec::new()) {
                    let _ = socket.emit_raw("auth", &auth).await;
                }
            },
        );
    }
    io
}

/// The end-to-end benchmark server's application (issue 8's contract): Socket.IO v5 at
/// `/socket.io/`; event `echo` is acked with its first argument; event `bcast` is re-emitted
/// with its first argument to every socket of `/` (encoded once, one broadcast).
pub fn bench(runtime: Arc<dyn Runtime>) -> SocketIoServer {
    let mut engine = ServerConfig::default();
    engine.path = "/socket.io/".to_owned();
    let io = SocketIoServer::new(engine, SioConfig::default(), runtime);
    io.namespace("/", |socket: SioSocket| async move {
        socket.on(
            "echo",
            |_, first: (Option<serde_json::Value>,), ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(&first).await;
                }
            },
        );
        socket.on(
            "bcast",
            |socket, first: (Option<serde_json::Value>,), _| async move {
                let _ = socket.server().of("/").emit("bcast", &first).await;
            },
        );
    });
    io
}
