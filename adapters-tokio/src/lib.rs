//! The tokio runtime adapter: a hyper 1 server with WebSocket (tokio-tungstenite) driving the
//! sans-IO machines through `socketio-adapters-core`.
//!
//! Only runtime glue lives here: the [`TokioRuntime`] services, converting hyper requests to
//! the machines' HTTP model and back, and the WebSocket upgrade. Every protocol decision is
//! made by `engineio-proto`.
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

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

pub use socketio_adapters_core::{
    socketio_proto, AckError, AckSender, ConnectError, EioSocket, EmitError, EngineIoServer,
    HttpOutcome, Runtime, SendError, SioSocket, SocketEvent, SocketIoServer, WsOut,
};

/// The Engine.IO machines and settings.
pub use engineio_proto::server as engineio;

use engineio_proto::http::{HttpRequest, HttpResponse, Method};
use engineio_proto::WsFrame;

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

    fn fill_random(&self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            // No OS randomness at all: refuse to hand out guessable session ids.
            panic!("the operating system's random source is unavailable");
        }
    }
}

/// Serves `server` on `listener` until the listener fails: one task per connection, HTTP/1.1
/// with upgrades.
pub async fn serve_engineio(listener: TcpListener, server: EngineIoServer) -> std::io::Result<()> {
    serve(listener, vec![server]).await
}

/// Serves several Engine.IO (or Socket.IO) servers on one listener, each under its own path
/// (for example `/engine.io/` and `/socket.io/`); other paths get 404.
pub async fn serve(listener: TcpListener, servers: Vec<EngineIoServer>) -> std::io::Result<()> {
    let servers = std::sync::Arc::new(servers);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let servers = servers.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let servers = servers.clone();
                async move {
                    let path = req.uri().path();
                    let server = servers.iter().find(|s| path.starts_with(s.path()));
                    Ok::<_, Infallible>(match server {
                        Some(server) => handle(server, req).await,
                        None => plain(StatusCode::NOT_FOUND),
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Handles one hyper request with `server`: converts it, lets the machines decide, writes the
/// answer or completes the WebSocket upgrade. Usable from any hyper-based service.
pub async fn handle(server: &EngineIoServer, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let max_payload = server.max_payload();
    let websocket = is_websocket_upgrade(&req);
    let key = req.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let uri = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let method = Method::from_name(req.method().as_str());
    let upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
    // Read at most max_payload + 1 bytes: a longer body is refused (413) without being kept.
    let body = if websocket {
        Bytes::new()
    } else {
        match Limited::new(req.into_body(), max_payload.saturating_add(1))
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                // Over the limit: hand over a body one byte too long, the machines answer 413.
                Bytes::from(vec![0u8; max_payload.saturating_add(1)])
            }
            Err(_) => return plain(StatusCode::BAD_REQUEST),
        }
    };
    let request = HttpRequest {
        method,
        uri,
        headers,
        body,
        websocket,
    };
    match server.handle_http(request).await {
        HttpOutcome::Response(r) => to_hyper(r),
        HttpOutcome::Upgrade { headers, attach } => {
            let (Some(key), Some(upgrade)) = (key, upgrade) else {
                return plain(StatusCode::BAD_REQUEST);
            };
            tokio::spawn(async move {
                let Ok(upgraded) = upgrade.await else {
                    attach.attach(futures_util::stream::empty(), futures_util::sink::drain());
                    return;
                };
                let mut config = WebSocketConfig::default();
                config.max_message_size = Some(max_payload);
                config.max_frame_size = Some(max_payload);
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                let (sink, stream) = ws.split();
                let incoming = stream
                    .take_while(|m| futures_util::future::ready(m.is_ok()))
                    .filter_map(|m| {
                        futures_util::future::ready(match m {
                            Ok(WsMessage::Text(t)) => Some(WsFrame::Text(t.as_str().into())),
                            Ok(WsMessage::Binary(b)) => Some(WsFrame::Binary(b)),
                            _ => None,
                        })
                    });
                let outgoing = sink.with(|out: WsOut| {
                    futures_util::future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(
                        match out {
                            WsOut::Frame(WsFrame::Text(t)) => WsMessage::Text(t.to_string().into()),
                            WsOut::Frame(WsFrame::Binary(b)) => WsMessage::Binary(b),
                            WsOut::Close(Some(code)) => WsMessage::Close(Some(CloseFrame {
                                code: CloseCode::from(code),
                                reason: "".into(),
                            })),
                            WsOut::Close(None) => WsMessage::Close(None),
                        },
                    ))
                });
                attach.attach(incoming, outgoing);
            });
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = res.headers_mut();
            h.insert(UPGRADE, HeaderValue::from_static("websocket"));
            h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
                h.insert(SEC_WEBSOCKET_ACCEPT, v);
            }
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.append(name, v);
                }
            }
            res
        }
    }
}

fn is_websocket_upgrade(req: &Request<Incoming>) -> bool {
    let has = |name, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(UPGRADE, "websocket")
        && has(CONNECTION, "upgrade")
        && req.headers().contains_key(SEC_WEBSOCKET_KEY)
}

fn plain(status: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}

fn to_hyper(r: HttpResponse) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(r.body));
    *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(name, v);
        }
    }
    res
}
