//! The tower layer on an axum `Router`: the conformance servers mounted beside the
//! application's own routes, served by `axum::serve` (tokio only: axum's server is tokio's),
//! and the real npm `socket.io-client` (4 and 2) talking to it over polling, WebSocket and
//! upgrade.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use socketio_tokio::{conformance, EngineIoLayer, TokioRuntime};
use support::{get as http_get, run_client};

async fn start() -> SocketAddr {
    let servers = conformance::servers(Arc::new(TokioRuntime), true);
    let app = Router::new()
        .route("/hello", get(|| async { "hello from axum" }))
        .layer(EngineIoLayer::new(servers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn the_routers_own_routes_still_answer() {
    let addr = start().await;
    assert_eq!(
        http_get(addr, "/hello").await,
        (200, "hello from axum".to_owned())
    );
    assert_eq!(http_get(addr, "/elsewhere").await.0, 404);
    // A handshake through the layer.
    let (status, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
    support::check_v4_handshake(&body, serde_json::json!(["websocket"]));
}

async fn npm(mode: &str, major: &str) {
    let addr = start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/client.js");
    run_client("node", &[script], addr, mode, &[major]).await;
}

#[tokio::test]
async fn npm_client_4_through_axum_over_polling() {
    npm("polling", "4").await;
}

#[tokio::test]
async fn npm_client_4_through_axum_over_websocket() {
    npm("websocket", "4").await;
}

#[tokio::test]
async fn npm_client_4_through_axum_with_upgrade() {
    npm("upgrade", "4").await;
}

#[tokio::test]
async fn npm_client_2_eio3_through_axum_with_upgrade() {
    npm("upgrade", "2").await;
}
